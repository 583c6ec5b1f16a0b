/* tests/test_checkpoint.c: crypto/note (C2SP signed-note, ECDSA P-256
 * type 0x02) and crypto/checkpoint (C2SP tlog-checkpoint).
 *
 * External vectors: the examples of the C2SP signed-note and
 * tlog-checkpoint specs (their shape: both are Ed25519-signed, a key this
 * code skips as unknown), and two published ECDSA checkpoints with their
 * vkeys, Sigstore Rekor's and the Pixel 6 transparency log's, as
 * transparency-dev/formats' note tests carry them.
 */
#include "crypto/checkpoint.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/base64.h"
#include "lib/bbuf.h"
#include "lib/errbuf.h"

static const char REKOR_VKEY[] =
	"rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBc"
	"K5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=";
static const char REKOR_NOTE[] =
	"Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n\n"
	"\xe2\x80\x94 rekor.sigstore.dev wNI9ajBEAiARInWIWyCdyG27CO6LPnPekyw20qO0YJfoaPaowGp/XgIgc+qEHS3+"
	"GKVClgqq20uDLet7MCoTURUCRdxwWBHHufk=\n";
static const char PIXEL_VKEY[] =
	"pixel6_transparency_log+91c16e30+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABN+4x0Jk1yTwvLFI9A4NDdGZc"
	"X0aiWVdWM5XJVy0M4VWD3AvyW5Q6Hs9A0mcDkpUoYgn+KKPNzFC0H3nN3q6JQ8=";
static const char PIXEL_NOTE[] =
	"DEFAULT\n10\nbsWRucJU5xJPHb5eBdOm6+DM+VelCZBuvtI3sHERJ9Y=\n\n"
	"\xe2\x80\x94 pixel6_transparency_log kcFuMDBFAiEAhqMAP8P6qf6QxtUJhzMhbN+MbZ9dwfUHzGQJmffJHtoCIGD0"
	"cNe47dHWBoPwYdgBCepB06/+g5O1FmYjXl06owL4\n";

/* c2sp.org/tlog-checkpoint's example */
static const char C2SP_CKPT_TEXT[] =
	"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
static const char C2SP_CKPT_SIG[] =
	"\xe2\x80\x94 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
	"/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
/* c2sp.org/signed-note's example: a text with an empty line inside */
static const char C2SP_NOTE_TEXT[] =
	"Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \xc3\xa8 subito sera.\n";
static const char C2SP_NOTE_SIG[] =
	"\xe2\x80\x94 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONr"
	"MouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";

static uint8_t sk_x[32];
static br_ec_private_key sk = { BR_EC_secp256r1, sk_x, sizeof sk_x };
static struct note_key key;

static void make_key(const char *name, struct note_key *k, br_ec_private_key *s, uint8_t x[32],
		     const char *seed)
{
	uint8_t pub[BR_EC_KBUF_PUB_MAX_SIZE];
	br_ec_public_key pk;
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, seed, strlen(seed));
	br_sha256_out(&h, x);
	br_ec_compute_pub(br_ec_get_default(), &pk, pub, s);
	note_key_init(k, name, strlen(name), pub);
}

/* text "\n" sigline: a signed note from its parts */
static const char *signed_note(const char *text, const char *sigline)
{
	static char buf[1024];
	size_t a = strlen(text), b = strlen(sigline);

	memcpy(buf, text, a);
	buf[a] = '\n';
	memcpy(buf + a + 1, sigline, b + 1);
	return buf;
}

static void test_c2sp_examples(void)
{
	char err[ERRBUF_LEN], out[256];
	struct checkpoint c;
	struct note_reader r;
	struct note_sig s;
	size_t tl;
	const char *note;

	is_int(checkpoint_parse(C2SP_CKPT_TEXT, strlen(C2SP_CKPT_TEXT), &c, err, sizeof err), 0,
	       "tlog-checkpoint example parses");
	ok(c.origin_len == 27 && memcmp(c.origin, "example.com/behind-the-sofa", 27) == 0 &&
	   c.size == 20852163 && c.ext_len == 0 && c.root[0] == 0x0a && c.root[31] == 0x62,
	   "origin example.com/behind-the-sofa, size 20852163, root 0ac518...62");
	long n = checkpoint_format(out, sizeof out, &c);
	ok(n == (long)strlen(C2SP_CKPT_TEXT) && memcmp(out, C2SP_CKPT_TEXT, (size_t)n) == 0,
	   "tlog-checkpoint example: formatted back byte for byte");

	note = signed_note(C2SP_CKPT_TEXT, C2SP_CKPT_SIG);
	ok(note_open(note, strlen(note), &tl, &r, err, sizeof err) == 0 && tl == strlen(C2SP_CKPT_TEXT),
	   "tlog-checkpoint example note: text found");
	ok(note_next_sig(&r, &s, err, sizeof err) == 1 && s.name_len == 27 && s.id == 0x033de0ae &&
	   s.sig_len == 64 && note_next_sig(&r, &s, err, sizeof err) == 0,
	   "its one signature line: name, key id 033de0ae, a 64-byte (Ed25519) signature");
	is_int(checkpoint_open(note, strlen(note), &key, &c, err, sizeof err), -ENOKEY,
	       "its Ed25519 line is not ours: skipped, and no line of ours is an error");

	note = signed_note(C2SP_NOTE_TEXT, C2SP_NOTE_SIG);
	ok(note_open(note, strlen(note), &tl, &r, err, sizeof err) == 0 && tl == strlen(C2SP_NOTE_TEXT),
	   "signed-note example: the text runs to the LAST blank line (it holds one)");
	ok(note_next_sig(&r, &s, err, sizeof err) == 1 && s.name_len == 27 &&
	   memcmp(s.name, "quasimodo.example/salvatore", 27) == 0 && s.id == 0x367ba04b && s.sig_len == 64,
	   "signed-note example: quasimodo.example/salvatore, key id 367ba04b, 64-byte signature");
}

static void test_published_ecdsa(void)
{
	static const struct {
		const char *vkey, *note, *origin;
		uint32_t id;
		uint64_t size;
	} v[] = {
		{ REKOR_VKEY, REKOR_NOTE, "Rekor", 0xc0d23d6a, 798034 },
		{ PIXEL_VKEY, PIXEL_NOTE, "DEFAULT", 0x91c16e30, 10 },
	};
	char err[ERRBUF_LEN], vk[NOTE_VKEY_MAX], bad[512];
	struct note_key k;
	struct checkpoint c;

	for (size_t i = 0; i < 2; i++) {
		ok(note_key_from_vkey(&k, v[i].vkey, strlen(v[i].vkey), err, sizeof err) == 0 && k.id == v[i].id,
		   "%s: vkey parsed, key id %08x = SHA-256(SPKI)[:4]", v[i].origin, v[i].id);
		long n = note_key_vkey(&k, vk, sizeof vk);
		ok(n == (long)strlen(v[i].vkey) && memcmp(vk, v[i].vkey, (size_t)n) == 0,
		   "%s: vkey written back byte for byte", v[i].origin);
		int rc = checkpoint_open(v[i].note, strlen(v[i].note), &k, &c, err, sizeof err);
		ok(rc == 0 && c.size == v[i].size && c.origin_len == strlen(v[i].origin) &&
		   memcmp(c.origin, v[i].origin, c.origin_len) == 0,
		   "%s: the published checkpoint verifies (ASN.1 ECDSA over the text)", v[i].origin);
		if (rc)
			diag("%s", err);
		/* the key under another name is another key */
		snprintf(bad, sizeof bad, "bananas%s", strchr(v[i].vkey, '+'));
		ok(note_key_from_vkey(&k, bad, strlen(bad), err, sizeof err) == 0 &&
		   checkpoint_open(v[i].note, strlen(v[i].note), &k, &c, err, sizeof err) == -ENOKEY,
		   "%s: the same key under another name: its line is skipped, -ENOKEY", v[i].origin);
	}
	note_key_from_vkey(&k, REKOR_VKEY, strlen(REKOR_VKEY), err, sizeof err);
	snprintf(bad, sizeof bad, "%s", REKOR_NOTE);
	bad[strlen(bad) - 10] ^= 0x01;    /* a base64 digit of s */
	is_int(checkpoint_open(bad, strlen(bad), &k, &c, err, sizeof err), -EBADMSG,
	       "Rekor: a changed signature of the known key fails the note");
	snprintf(bad, sizeof bad, "%s", REKOR_NOTE);
	bad[6] = '8';                     /* 798034 -> 898034 */
	is_int(checkpoint_open(bad, strlen(bad), &k, &c, err, sizeof err), -EBADMSG,
	       "Rekor: a changed tree size fails the note");

	static const char *bad_vkeys[] = {
		"rekor.sigstore.dev+00000000+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=",
		"rekor.sigstore.dev+C0D23D6A+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=",
		"rekor.sigstore.dev+c0d23d6+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=",
		"rekor.sigstore.dev+c0d23d6a+AzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=",
		"rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLd=",
		"rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc",
		"+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=",
		"rekor.sigstore.dev+c0d23d6a", "rekor.sigstore.dev",
		"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	};
	int refused = 0;
	for (size_t i = 0; i < sizeof bad_vkeys / sizeof bad_vkeys[0]; i++)
		refused += note_key_from_vkey(&k, bad_vkeys[i], strlen(bad_vkeys[i]), err, sizeof err) == -EINVAL;
	is_int(refused, (int)(sizeof bad_vkeys / sizeof bad_vkeys[0]),
	       "vkeys refused: wrong, uppercase or short id, wrong type byte, point off the curve, "
	       "cut base64, empty name, missing parts, an Ed25519 vkey");
}

static void test_sign_verify(void)
{
	char out[2048], text[256], err[ERRBUF_LEN], note2[2048];
	struct checkpoint c = { "dshield.example/log", 19, 12345, { 0 }, NULL, 0 }, got;
	long n, n2;
	int bad = 0;

	for (int i = 0; i < 32; i++)
		c.root[i] = (uint8_t)(i * 7);
	n = checkpoint_sign(out, sizeof out, &c, &key, &sk);
	ok(n > 0, "checkpoint signed (%ld bytes)", n);
	is_int(checkpoint_open(out, (size_t)n, &key, &got, err, sizeof err), 0, "and verifies");
	ok(got.size == 12345 && memcmp(got.root, c.root, 32) == 0 && got.origin_len == 19 &&
	   memcmp(got.origin, "dshield.example/log", 19) == 0, "origin, size and root round trip");
	n2 = checkpoint_sign(note2, sizeof note2, &c, &key, &sk);
	ok(n2 == n && memcmp(note2, out, (size_t)n) == 0, "signing is deterministic (RFC 6979)");
	{
		char *sl = strstr(out, "\n\n\xe2\x80\x94 dshield.example/log ");
		ok(sl && out[n - 1] == '\n' && strchr(sl + 2, '\n') == out + n - 1,
		   "text, blank line, one signature line by our key name");
	}

	/* every byte of the note, flipped three ways: never verifies */
	for (long i = 0; i < n; i++)
		for (int m = 0; m < 3; m++) {
			static const uint8_t mask[3] = { 0x01, 0x20, 0x80 };
			memcpy(note2, out, (size_t)n);
			note2[i] ^= (char)mask[m];
			bad += checkpoint_open(note2, (size_t)n, &key, &got, err, sizeof err) == 0;
		}
	is_int(bad, 0, "each of %ld bytes flipped (3 masks): none verifies", n);
	bad = 0;
	for (long i = 0; i < n; i++)
		bad += checkpoint_open(out, (size_t)i, &key, &got, err, sizeof err) == 0;
	is_int(bad, 0, "every truncation refused");

	/* other lines: a foreign key, our name with another ID, before ours */
	size_t tl = (size_t)checkpoint_format(text, sizeof text, &c);
	const char *sigline = out + tl + 1;
	snprintf(note2, sizeof note2, "%.*s\n\xe2\x80\x94 other.example/witness AAAAAQE=\n"
		 "\xe2\x80\x94 dshield.example/log %s%s", (int)tl, text,
		 "AAAAAAE=\n", sigline);
	ok(key.id != 0, "our key id is not 00000000 (the other ID used below)");
	is_int(checkpoint_open(note2, strlen(note2), &key, &got, err, sizeof err), 0,
	       "a foreign key's line and our name with another key ID are skipped");
	snprintf(note2, sizeof note2, "%.*s\n%s\xe2\x80\x94 other.example/witness AAAAAQE=\n",
		 (int)tl, text, sigline);
	is_int(checkpoint_open(note2, strlen(note2), &key, &got, err, sizeof err), 0,
	       "ours first, then a foreign line");
	/* our name and ID, a signature that does not verify */
	{
		uint8_t raw[8];
		char b64[16];
		raw[0] = (uint8_t)(key.id >> 24); raw[1] = (uint8_t)(key.id >> 16);
		raw[2] = (uint8_t)(key.id >> 8); raw[3] = (uint8_t)key.id;
		raw[4] = 0x30; raw[5] = 0x00; raw[6] = 0; raw[7] = 0;
		base64_encode(b64, raw, 6);
		snprintf(note2, sizeof note2, "%.*s\n%s\xe2\x80\x94 dshield.example/log %s\n",
			 (int)tl, text, sigline, b64);
		is_int(checkpoint_open(note2, strlen(note2), &key, &got, err, sizeof err), -EBADMSG,
		       "a second line of our key that does not verify fails the note");
		ok(strstr(err, "does not verify") != NULL, "reason: %s", err);
	}
	/* 16 foreign signatures and ours: the spec's minimum to accept */
	{
		struct bbuf b;
		bbuf_init(&b, note2, sizeof note2);
		bbuf_put(&b, text, tl);
		bbuf_put(&b, "\n", 1);
		for (int i = 0; i < 16; i++)
			bbuf_printf(&b, "\xe2\x80\x94 witness%d.example AAAAAQE=\n", i);
		bbuf_str(&b, sigline);
		long m = bbuf_finish(&b);
		is_int(checkpoint_open(note2, (size_t)m, &key, &got, err, sizeof err), 0,
		       "16 witness lines and ours: verifies");
	}

	/* extension lines */
	c.ext = "dshield: first\nsecond\n";
	c.ext_len = strlen(c.ext);
	n = checkpoint_sign(out, sizeof out, &c, &key, &sk);
	ok(n > 0 && checkpoint_open(out, (size_t)n, &key, &got, err, sizeof err) == 0 &&
	   got.ext_len == c.ext_len && memcmp(got.ext, c.ext, c.ext_len) == 0,
	   "extension lines signed and read back");
	c.ext = "one\n\ntwo\n";
	c.ext_len = strlen(c.ext);
	is_int(checkpoint_format(out, sizeof out, &c), -EINVAL, "an empty extension line refused");
	c.ext = "no newline";
	c.ext_len = strlen(c.ext);
	is_int(checkpoint_format(out, sizeof out, &c), -EINVAL, "an unterminated extension refused");
	c.ext = NULL;
	c.ext_len = 0;
	c.size = MERKLE_SIZE_LIMIT;
	is_int(checkpoint_format(out, sizeof out, &c), -EINVAL, "size 2^63 refused");
	c.size = 1;
	c.origin = "a\tb";
	c.origin_len = 3;
	is_int(checkpoint_format(out, sizeof out, &c), -EINVAL, "a control character in the origin refused");
	c.origin_len = 0;
	is_int(checkpoint_format(out, sizeof out, &c), -EINVAL, "an empty origin refused");
	c.origin = "o";
	c.origin_len = 1;
	is_int(checkpoint_format(out, 20, &c), -ENOSPC, "short buffer: -ENOSPC");

	/* the wrong private key */
	uint8_t x2[32];
	br_ec_private_key sk2 = { BR_EC_secp256r1, x2, sizeof x2 };
	struct note_key k2;
	make_key("dshield.example/log", &k2, &sk2, x2, "another key");
	is_int(checkpoint_sign(out, sizeof out, &c, &key, &sk2), -EINVAL,
	       "signing with a private key that is not the note key's: refused");
}

static void test_parse_refusals(void)
{
	static const char *bad_ckpt[] = {
		"", "o\n", "o\n1\n", "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n+1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n1 \nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n9223372036854775808\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n99999999999999999999\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
		"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",
		"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \n",
		"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
		"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx\n\n",
		"o\r\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\xc0\xaf\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n9223372036854775807\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	};
	char err[ERRBUF_LEN];
	struct checkpoint c;
	int refused = 0, n = (int)(sizeof bad_ckpt / sizeof bad_ckpt[0]) - 1;

	for (int i = 0; i < n; i++) {
		int rc = checkpoint_parse(bad_ckpt[i], strlen(bad_ckpt[i]), &c, err, sizeof err);
		refused += rc == -EBADMSG;
		if (rc != -EBADMSG)
			diag("accepted #%d", i);
	}
	is_int(refused, n, "%d malformed checkpoints refused (sizes, roots, lines, bytes)", n);
	is_int(checkpoint_parse(bad_ckpt[n], strlen(bad_ckpt[n]), &c, err, sizeof err), 0,
	       "size 2^63 - 1 accepted");

	static const char *bad_note[] = {
		"t\n",                                      /* no blank line */
		"t\n\n",                                    /* no signature */
		"t\n\n- n AAAAAQE=\n",                      /* not an em dash */
		"t\n\n\xe2\x80\x94 n AAAAAQE=",             /* no final newline */
		"t\n\n\xe2\x80\x94  AAAAAQE=\n",            /* empty name */
		"t\n\n\xe2\x80\x94 a+b AAAAAQE=\n",         /* '+' in the name */
		"t\n\n\xe2\x80\x94 a\xc2\xa0" "b AAAAAQE=\n", /* U+00A0 in the name */
		"t\n\n\xe2\x80\x94 a\xe3\x80\x80" "b AAAAAQE=\n", /* U+3000 in the name */
		"t\n\n\xe2\x80\x94 n AAAAAA==\n",           /* 4 bytes: an ID, no signature */
		"t\n\n\xe2\x80\x94 n AAAAAQE\n",            /* not base64 */
		"t\n\n\xe2\x80\x94 n AAAAAQE= x\n",         /* a third field */
		"t\n\n\xe2\x80\x94nAAAAAQE=\n",             /* no space */
		"t\x01\n\n\xe2\x80\x94 n AAAAAQE=\n",       /* a control character */
		"t\xed\xa0\x80\n\n\xe2\x80\x94 n AAAAAQE=\n", /* a surrogate */
		"t\xc0\xaf\n\n\xe2\x80\x94 n AAAAAQE=\n",   /* an overlong form */
		"t\n\n\xe2\x80\x94 n AAAAAQE=\n\n\xe2\x80\x94 n AAAAAQE=\n", /* sig after the last blank line is text */
	};
	size_t tl;
	refused = 0;
	for (size_t i = 0; i < sizeof bad_note / sizeof bad_note[0]; i++) {
		int rc = note_verify(bad_note[i], strlen(bad_note[i]), &key, &tl, err, sizeof err);
		refused += rc == -EBADMSG || rc == -ENOKEY;
		if (i < 15 && rc != -EBADMSG)
			diag("note #%zu: %d", i, rc);
	}
	is_int(refused, (int)(sizeof bad_note / sizeof bad_note[0]), "malformed notes refused");

	/* 65 signature lines: over the limit */
	static char many[8192];
	struct bbuf b;
	bbuf_init(&b, many, sizeof many);
	bbuf_str(&b, "t\n\n");
	for (int i = 0; i < NOTE_MAX_SIGS + 1; i++)
		bbuf_str(&b, "\xe2\x80\x94 n AAAAAQE=\n");
	long m = bbuf_finish(&b);
	is_int(note_verify(many, (size_t)m, &key, &tl, err, sizeof err), -EBADMSG,
	       "%d signature lines refused", NOTE_MAX_SIGS + 1);
	static char huge[NOTE_MAX_LEN + 2];
	memset(huge, 'a', sizeof huge);
	huge[sizeof huge - 1] = '\n';
	is_int(note_verify(huge, sizeof huge, &key, &tl, err, sizeof err), -EBADMSG,
	       "a note over %d bytes refused", NOTE_MAX_LEN);
}

int main(void)
{
	char vk[NOTE_VKEY_MAX], err[ERRBUF_LEN];
	struct note_key k;

	make_key("dshield.example/log", &key, &sk, sk_x, "dshield test log key");
	long n = note_key_vkey(&key, vk, sizeof vk);
	ok(n > 0 && note_key_from_vkey(&k, vk, (size_t)n, err, sizeof err) == 0 &&
	   memcmp(&k, &key, sizeof k) == 0, "our vkey round trips: %s", vk);

	test_c2sp_examples();
	test_published_ecdsa();
	test_sign_verify();
	test_parse_refusals();
	return tap_done();
}
