/* crypto/note.c: see note.h. */
#include "crypto/note.h"

#include <errno.h>
#include <string.h>

#include "crypto/ecdsa.h"
#include "lib/base64.h"
#include "lib/bbuf.h"
#include "lib/bytes.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "lib/utf8.h"

/* U+2014 EM DASH, then a space: how every signature line starts. */
static const char SIG_PREFIX[] = "\xe2\x80\x94 ";
#define SIG_PREFIX_LEN 4

/* SubjectPublicKeyInfo { AlgorithmIdentifier { id-ecPublicKey,
 * prime256v1 }, BIT STRING (0 unused bits) } up to the point. */
static const uint8_t P256_SPKI_PREFIX[26] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};

/* Unicode White_Space code points (what "Unicode spaces" means for key
 * names), and the controls the note text may not hold. */
static bool is_space(long cp)
{
	return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* UTF-8 with no control character other than newline (and no DEL). */
static bool text_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		long cp = utf8_next((const unsigned char *)s, n, &i);
		if (cp < 0 || (cp < 0x20 && cp != '\n') || cp == 0x7f)
			return false;
	}
	return true;
}

static bool name_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > NOTE_NAME_MAX)
		return false;
	while (i < n) {
		long cp = utf8_next((const unsigned char *)s, n, &i);
		if (cp < 0x20 || cp == 0x7f || cp == '+' || is_space(cp))
			return false;
	}
	return true;
}

bool note_text_valid(const char *text, size_t len)
{
	return len > 0 && len < NOTE_MAX_LEN && text[len - 1] == '\n' && text_ok(text, len);
}

static void sha256(uint8_t out[32], const void *p, size_t n)
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, out);
}

int note_key_init(struct note_key *k, const char *name, size_t name_len, const uint8_t pub[65])
{
	static const uint8_t one = 1;
	const br_ec_impl *ec = br_ec_get_default();
	uint8_t pt[65], h[32];

	memset(k, 0, sizeof(*k));
	if (!name_ok(name, name_len) || pub[0] != 0x04)
		return -EINVAL;
	/* 1 * Q fails unless Q is a point of the curve */
	memcpy(pt, pub, sizeof pt);
	if (ec->mul(pt, sizeof pt, &one, 1, BR_EC_secp256r1) != 1)
		return -EINVAL;
	memcpy(k->name, name, name_len);
	k->name_len = name_len;
	memcpy(k->pub, pub, 65);
	memcpy(k->spki, P256_SPKI_PREFIX, sizeof P256_SPKI_PREFIX);
	memcpy(k->spki + sizeof P256_SPKI_PREFIX, pub, 65);
	sha256(h, k->spki, sizeof k->spki);
	k->id = be32(h);
	return 0;
}

int note_key_from_vkey(struct note_key *k, const char *vkey, size_t len, char *err, size_t errcap)
{
	const char *p1 = memchr(vkey, '+', len), *p2;
	uint8_t raw[1 + NOTE_P256_SPKI_LEN + 1], id[4];
	long n;

	if (!p1 || !(p2 = memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - vkey))))
		return errbuf_set(err, errcap, -EINVAL, "vkey: want <name>+<key id>+<key>");
	if (p2 - p1 - 1 != 8 || hex_decode(id, sizeof id, p1 + 1, 8) != 4)
		return errbuf_set(err, errcap, -EINVAL, "vkey: the key id is not 8 hex digits");
	for (const char *c = p1 + 1; c < p2; c++)
		if (*c >= 'A' && *c <= 'F')
			return errbuf_set(err, errcap, -EINVAL, "vkey: the key id is not lowercase");
	n = base64_decode(raw, sizeof raw, p2 + 1, len - (size_t)(p2 + 1 - vkey));
	if (n < 0)
		return errbuf_set(err, errcap, -EINVAL, "vkey: the key is not base64");
	if (n != 1 + NOTE_P256_SPKI_LEN || raw[0] != NOTE_TYPE_ECDSA ||
	    memcmp(raw + 1, P256_SPKI_PREFIX, sizeof P256_SPKI_PREFIX) != 0)
		return errbuf_set(err, errcap, -EINVAL,
				  "vkey: not an ECDSA P-256 key (type 0x02, DER SubjectPublicKeyInfo)");
	if (note_key_init(k, vkey, (size_t)(p1 - vkey), raw + 1 + sizeof P256_SPKI_PREFIX) < 0)
		return errbuf_set(err, errcap, -EINVAL, "vkey: bad key name or a point off the curve");
	if (k->id != be32(id))
		return errbuf_set(err, errcap, -EINVAL,
				  "vkey: key id %08x is not SHA-256(SPKI)[:4] = %08x", be32(id), k->id);
	return 0;
}

long note_key_vkey(const struct note_key *k, char *out, size_t cap)
{
	uint8_t raw[1 + NOTE_P256_SPKI_LEN];
	struct bbuf b;

	raw[0] = NOTE_TYPE_ECDSA;
	memcpy(raw + 1, k->spki, NOTE_P256_SPKI_LEN);
	bbuf_init(&b, out, cap);
	bbuf_put(&b, k->name, k->name_len);
	bbuf_printf(&b, "+%08x+", k->id);
	bbuf_base64(&b, raw, sizeof raw);
	return bbuf_finish(&b);
}

long note_sign(char *out, size_t cap, const char *text, size_t text_len,
	       const struct note_key *k, const br_ec_private_key *sk)
{
	const br_ec_impl *ec = br_ec_get_default();
	uint8_t pub[BR_EC_KBUF_PUB_MAX_SIZE], hash[32], sig[4 + NOTE_ECDSA_SIG_MAX];
	br_ec_public_key pk;
	size_t n;
	struct bbuf b;

	if (!note_text_valid(text, text_len))
		return -EINVAL;
	if (sk->curve != BR_EC_secp256r1 || br_ec_compute_pub(ec, &pk, pub, sk) != 65 ||
	    memcmp(pub, k->pub, 65) != 0)
		return -EINVAL;
	sha256(hash, text, text_len);
	put_be32(sig, k->id);
	/* RFC 6979: BearSSL derives k from the key and the hash */
	n = br_ecdsa_i31_sign_asn1(ec, &br_sha256_vtable, hash, sk, sig + 4);
	if (n == 0)
		return -EINVAL;
	bbuf_init(&b, out, cap);
	bbuf_put(&b, text, text_len);
	bbuf_put(&b, "\n", 1);
	bbuf_put(&b, SIG_PREFIX, SIG_PREFIX_LEN);
	bbuf_put(&b, k->name, k->name_len);
	bbuf_put(&b, " ", 1);
	bbuf_base64(&b, sig, 4 + n);
	bbuf_put(&b, "\n", 1);
	return bbuf_finish(&b);
}

int note_open(const char *note, size_t len, size_t *text_len, struct note_reader *r,
	      char *err, size_t errcap)
{
	size_t i;

	if (len > NOTE_MAX_LEN)
		return errbuf_set(err, errcap, -EBADMSG, "note: longer than %d bytes", NOTE_MAX_LEN);
	if (len == 0 || note[len - 1] != '\n')
		return errbuf_set(err, errcap, -EBADMSG, "note: does not end in a newline");
	if (!text_ok(note, len))
		return errbuf_set(err, errcap, -EBADMSG,
				  "note: not UTF-8, or a control character other than newline");
	/* the text ends at the last empty line: the last "\n\n" */
	for (i = len - 1; i > 0; i--)
		if (note[i] == '\n' && note[i - 1] == '\n')
			break;
	if (i == 0)
		return errbuf_set(err, errcap, -EBADMSG, "note: no blank line before the signatures");
	*text_len = i;
	r->p = note + i + 1;
	r->end = note + len;
	r->count = 0;
	if (r->p == r->end)
		return errbuf_set(err, errcap, -EBADMSG, "note: no signature line");
	return 0;
}

int note_next_sig(struct note_reader *r, struct note_sig *s, char *err, size_t errcap)
{
	const char *eol, *sp, *p = r->p;
	uint8_t raw[NOTE_SIG_MAX];
	long n;

	if (p == r->end)
		return 0;
	if (++r->count > NOTE_MAX_SIGS)
		return errbuf_set(err, errcap, -EBADMSG, "note: more than %d signatures", NOTE_MAX_SIGS);
	eol = memchr(p, '\n', (size_t)(r->end - p));   /* note_open: the note ends in one */
	if (eol - p < SIG_PREFIX_LEN || memcmp(p, SIG_PREFIX, SIG_PREFIX_LEN) != 0)
		return errbuf_set(err, errcap, -EBADMSG, "note: signature line %u does not start with \"— \"",
				  r->count);
	p += SIG_PREFIX_LEN;
	sp = memchr(p, ' ', (size_t)(eol - p));
	if (!sp || !name_ok(p, (size_t)(sp - p)))
		return errbuf_set(err, errcap, -EBADMSG, "note: signature line %u: bad key name", r->count);
	n = base64_decode(raw, sizeof raw, sp + 1, (size_t)(eol - sp - 1));
	if (n < 5)
		return errbuf_set(err, errcap, -EBADMSG,
				  "note: signature line %u: not base64 of a key id and a signature",
				  r->count);
	s->name = p;
	s->name_len = (size_t)(sp - p);
	s->id = be32(raw);
	s->sig_len = (size_t)n - 4;
	memcpy(s->sig, raw + 4, s->sig_len);
	r->p = eol + 1;
	return 1;
}

int note_verify(const char *note, size_t len, const struct note_key *k, size_t *text_len,
		char *err, size_t errcap)
{
	struct note_reader r;
	struct note_sig s;
	unsigned good = 0;
	int rc;

	rc = note_open(note, len, text_len, &r, err, errcap);
	if (rc < 0)
		return rc;
	while ((rc = note_next_sig(&r, &s, err, errcap)) == 1) {
		/* a key is its name and its ID together; others are skipped */
		if (s.name_len != k->name_len || memcmp(s.name, k->name, k->name_len) != 0 ||
		    s.id != k->id)
			continue;
		if (!ecdsa_p256_verify_asn1(k->pub, note, *text_len, s.sig, s.sig_len))
			return errbuf_set(err, errcap, -EBADMSG,
					  "note: the signature by %s (%08x) does not verify", k->name, k->id);
		good++;
	}
	if (rc < 0)
		return rc;
	if (good == 0)
		return errbuf_set(err, errcap, -ENOKEY, "note: no signature by %s (%08x)", k->name, k->id);
	return 0;
}
