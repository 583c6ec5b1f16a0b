/* tests/test_kms.c: the formats of `dshield kms` (cli/kms_proto.c): key
 * requests, freshness records and their order, instance records, the
 * measurements allowlist, the RTMR3 events a request must measure, and
 * the disk key derivation against a known answer computed with python3's
 * `cryptography` (its own HKDF):
 *
 *   info = bytes([4]) + b"shop" + bytes([32]) + b"00112233445566778899aabbccddeeff"
 *   HKDF(hashes.SHA256(), 64, b"dshield-kms-disk-key-v1", info).derive(bytes(range(32)))
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bearssl.h>

#include "cli/kms_proto.h"
#include "crypto/rtmr3.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "tests/tap.h"

static const char disk_kat[] =
	"4990361688b1f7fd2144a3dc8249d63dfd466e15bbcbfd3b4c13736f956b60fc"
	"061e2e6eb1196f61c3baa222e417f158e93f65f6e6a0d54248ec3fb2bfb4f4e9";
static const char inst_id[] = "00112233445566778899aabbccddeeff";
/* a valid P-256 point: the public key of the scalar 1 (the generator) */
static const char gen_hex[] =
	"046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
	"4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";

static jsmntok_t toks[KMS_TOKENS];
static char buf[8192];
static struct rtmr3_log rlog;

/* A key request with one member replaced (or left out when val is NULL). */
static const char *req(const char *skip, const char *key, const char *val)
{
	static const char *const keys[] = { "version", "ephemeral_key", "nonce", "app_id",
					    "instance_id", NULL };
	const char *vals[] = { "1", NULL, NULL, "\"shop\"", NULL };
	static char eph[140], nonce[70], inst[40];
	size_t o = 0;

	snprintf(eph, sizeof eph, "\"%s\"", gen_hex);
	snprintf(nonce, sizeof nonce, "\"%064d\"", 7);
	snprintf(inst, sizeof inst, "\"%s\"", inst_id);
	vals[1] = eph;
	vals[2] = nonce;
	vals[4] = inst;
	o += (size_t)snprintf(buf + o, sizeof buf - o, "{");
	for (int i = 0; keys[i]; i++) {
		const char *v = key && strcmp(keys[i], key) == 0 ? val : vals[i];
		if ((skip && strcmp(keys[i], skip) == 0) || v == NULL)
			continue;
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s\"%s\":%s", o > 1 ? "," : "",
				      keys[i], v);
	}
	if (key && strcmp(key, "collateral") == 0)
		o += (size_t)snprintf(buf + o, sizeof buf - o, ",\"collateral\":%s", val);
	snprintf(buf + o, sizeof buf - o, "}");
	return buf;
}

static int parse_req(struct kms_key_req *r, const char *s, char *err)
{
	return kms_key_req_parse(r, s, strlen(s), toks, KMS_TOKENS, err, ERRBUF_LEN);
}

static void test_key_req(void)
{
	struct kms_key_req r;
	char err[ERRBUF_LEN], offcurve[140];

	is_int(parse_req(&r, req(NULL, NULL, NULL), err), 0, "a key request parses");
	ok(strcmp(r.app_id, "shop") == 0 && strcmp(r.instance_id, inst_id) == 0 &&
	   r.eph_pub[0] == 4 && r.nonce[31] == 7 && r.collateral == NULL, "  its fields");
	is_int(parse_req(&r, req(NULL, "collateral", "{\"a\":1}"), err), 0, "with collateral");
	ok(r.collateral && r.collateral_len == 7 && memcmp(r.collateral, "{\"a\":1}", 7) == 0,
	   "  collateral is the object's text");
	is_int(parse_req(&r, req(NULL, "collateral", "null"), err), 0, "collateral null");
	ok(r.collateral == NULL, "  is none");
	is_int(parse_req(&r, req(NULL, "collateral", "\"x\""), err), -EINVAL,
	       "collateral a string: refused (%s)", err);
	static const char *const need[] = { "version", "ephemeral_key", "nonce", "app_id",
					    "instance_id" };
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		is_int(parse_req(&r, req(need[i], NULL, NULL), err), -EINVAL,
		       "without %s: refused (%s)", need[i], err);
	is_int(parse_req(&r, req(NULL, "version", "2"), err), -EINVAL, "version 2 refused");
	is_int(parse_req(&r, req(NULL, "nonce", "\"00\""), err), -EINVAL, "a 1-byte nonce refused");
	is_int(parse_req(&r, req(NULL, "app_id", "\"../x\""), err), -EINVAL, "app_id ../x refused");
	is_int(parse_req(&r, req(NULL, "instance_id", "\".hidden\""), err), -EINVAL,
	       "instance_id .hidden refused");
	is_int(parse_req(&r, req(NULL, "instance_id", "\"a/b\""), err), -EINVAL,
	       "instance_id a/b refused");
	is_int(parse_req(&r, req(NULL, "app_id",
				"\"0123456789012345678901234567890123456789012345678901234567890123\""),
			 err),
	       -EINVAL, "a 64-character app_id refused");
	snprintf(offcurve, sizeof offcurve, "\"%s\"", gen_hex);
	offcurve[130] = offcurve[130] == '5' ? '4' : '5';
	is_int(parse_req(&r, req(NULL, "ephemeral_key", offcurve), err), -EINVAL,
	       "a key off the curve refused (%s)", err);
	offcurve[2] = '2';
	is_int(parse_req(&r, req(NULL, "ephemeral_key", offcurve), err), -EINVAL,
	       "a non-uncompressed key refused");
	is_int(parse_req(&r, "{\"version\":1,}", err), -EINVAL, "malformed JSON refused");
	is_int(parse_req(&r, "[1]", err), -EINVAL, "an array refused");
}

/* A freshness note signed with the scalar priv[0] = seed. */
static long fresh_note(char *out, size_t cap, uint8_t seed, uint64_t size, uint8_t rootb,
		       const char *ext, struct note_key *k)
{
	uint8_t priv[32] = { 0 }, pub[65];
	br_ec_private_key sk = { BR_EC_secp256r1, priv, 32 };
	struct checkpoint c = { .origin = "test-log", .origin_len = 8, .size = size };

	priv[31] = seed;
	if (key_wrap_pub(pub, priv) < 0 || note_key_init(k, "test-log", 8, pub) < 0)
		return -1;
	memset(c.root, rootb, sizeof c.root);
	c.ext = ext;
	c.ext_len = strlen(ext);
	return checkpoint_sign(out, cap, &c, k, &sk);
}

static void test_freshness(void)
{
	char note[1024], err[ERRBUF_LEN], ext[160], rec[KMS_RECORD_MAX + 1], body[2048];
	struct note_key k, k2;
	struct kms_fresh f, g;
	long n;

	snprintf(ext, sizeof ext, "%s%s 3\n", KMS_FRESH_EXT, inst_id);
	n = fresh_note(note, sizeof note, 5, 10, 0xaa, ext, &k);
	ok(n > 0, "a freshness note is signed");
	is_int(kms_fresh_open(&f, note, (size_t)n, &k, err, sizeof err), 0, "it opens");
	ok(f.size == 10 && f.root[0] == 0xaa && f.generation == 3 &&
	   strcmp(f.instance_id, inst_id) == 0, "  size, root, instance, generation");
	ok(fresh_note(note, sizeof note, 6, 10, 0xaa, ext, &k2) > 0, "another key's note");
	ok(kms_fresh_open(&f, note, strlen(note), &k, err, sizeof err) < 0,
	   "  does not open with the first key (%s)", err);
	is_int(kms_fresh_peek(&f, note, strlen(note), err, sizeof err), 0, "  but peeks");

	static const char *const bad_ext[] = {
		"", "dshield-freshness-v1 x\n", "dshield-freshness-v1 x 01\n",
		"dshield-freshness-v1 .x 1\n", "dshield-freshness-v1 x 1\nmore\n",
		"dshield-freshness-v2 x 1\n", "dshield-freshness-v1 x 9223372036854775808\n",
		"dshield-freshness-v1 x -1\n", "dshield-freshness-v1 x 1 2\n",
	};
	for (size_t i = 0; i < sizeof bad_ext / sizeof bad_ext[0]; i++) {
		n = fresh_note(note, sizeof note, 5, 10, 0xaa, bad_ext[i], &k);
		ok(n > 0 && kms_fresh_open(&f, note, (size_t)n, &k, err, sizeof err) == -EBADMSG,
		   "extension %zu refused (%s)", i, err);
	}
	n = fresh_note(note, sizeof note, 5, 10, 0xaa, "dshield-freshness-v1 x 9223372036854775807\n", &k);
	ok(n > 0 && kms_fresh_open(&f, note, (size_t)n, &k, err, sizeof err) == 0 &&
	   f.generation == 9223372036854775807ull, "generation 2^63-1 accepted");

	/* the order */
	memset(&f, 0, sizeof f);
	f.size = 10;
	f.generation = 3;
	memset(f.root, 0xaa, 32);
	g = f;
	is_int(kms_fresh_compare(&f, &g, err, sizeof err), 0, "the same record again: accepted");
	g.size = 11;
	memset(g.root, 0xbb, 32);
	is_int(kms_fresh_compare(&f, &g, err, sizeof err), 0, "a larger tree: accepted");
	g.size = 9;
	is_int(kms_fresh_compare(&f, &g, err, sizeof err), -ERANGE, "a smaller tree: %s", err);
	g.size = 10;
	is_int(kms_fresh_compare(&f, &g, err, sizeof err), -EEXIST, "same size, other root: %s", err);
	g = f;
	g.generation = 2;
	is_int(kms_fresh_compare(&f, &g, err, sizeof err), -ERANGE, "an older generation: %s", err);

	/* the request body */
	n = fresh_note(note, sizeof note, 5, 10, 0xaa, ext, &k);
	{
		size_t o = (size_t)snprintf(body, sizeof body, "{\"version\":1,\"record\":\"");
		for (long i = 0; i < n; i++)
			o += (size_t)(note[i] == '\n' ? snprintf(body + o, sizeof body - o, "\\n")
						      : snprintf(body + o, sizeof body - o, "%c", note[i]));
		snprintf(body + o, sizeof body - o, "\"}");
	}
	is_int(kms_fresh_req_parse(rec, body, strlen(body), toks, KMS_TOKENS, err, sizeof err), n,
	       "a freshness body parses");
	ok(memcmp(rec, note, (size_t)n) == 0, "  to the note");
	{
		static const char empty[] = "{\"version\":1,\"record\":\"\"}", none[] = "{\"version\":1}";
		is_int(kms_fresh_req_parse(rec, empty, strlen(empty), toks, KMS_TOKENS, err, sizeof err),
		       -EINVAL, "an empty record refused");
		is_int(kms_fresh_req_parse(rec, none, strlen(none), toks, KMS_TOKENS, err, sizeof err),
		       -EINVAL, "no record refused");
	}
	{
		static char big[KMS_RECORD_MAX + 64];
		int o = snprintf(big, sizeof big, "{\"version\":1,\"record\":\"");
		memset(big + o, 'a', KMS_RECORD_MAX + 1);
		memcpy(big + o + KMS_RECORD_MAX + 1, "\"}", 3);
		is_int(kms_fresh_req_parse(rec, big, strlen(big), toks, KMS_TOKENS, err, sizeof err),
		       -EINVAL, "a record over %d bytes refused", KMS_RECORD_MAX);
	}
}

static void test_instance(void)
{
	struct kms_instance a, b;
	char out[4096], err[ERRBUF_LEN];
	long n;

	memset(&a, 0, sizeof a);
	strcpy(a.app_id, "shop");
	strcpy(a.instance_id, inst_id);
	a.releases = 2;
	n = kms_instance_format(out, sizeof out, &a);
	ok(n > 0 && kms_instance_parse(&b, out, (size_t)n, toks, KMS_TOKENS, err, sizeof err) == 0,
	   "an instance record without key or freshness round trips");
	ok(b.log_key[0] == '\0' && b.record_len == 0 && b.releases == 2 &&
	   strcmp(b.app_id, "shop") == 0, "  null, null, 2");
	strcpy(a.log_key, "x+01020304+AgAB");
	strcpy(a.record, "test\n1\nAAAA\n\n\xe2\x80\x94 x AAAA\n");
	a.record_len = strlen(a.record);
	n = kms_instance_format(out, sizeof out, &a);
	ok(n > 0 && kms_instance_parse(&b, out, (size_t)n, toks, KMS_TOKENS, err, sizeof err) == 0 &&
	   strcmp(b.log_key, a.log_key) == 0 && b.record_len == a.record_len &&
	   memcmp(b.record, a.record, a.record_len) == 0, "with a key and a record: round trips");
	ok(kms_instance_format(out, 40, &a) < 0, "a record that does not fit: -ENOSPC");
	{
		static const char ok_js[] = "{\"version\":1,\"app_id\":\"a\",\"instance_id\":\"b\","
					    "\"log_key\":null,\"freshness\":null,\"releases\":0}";
		static const char num_js[] = "{\"version\":1,\"app_id\":\"a\",\"instance_id\":\"b\","
					     "\"log_key\":1,\"freshness\":null,\"releases\":0}";
		static const char norel_js[] = "{\"version\":1,\"app_id\":\"a\",\"instance_id\":\"b\","
					       "\"log_key\":null,\"freshness\":null}";
		is_int(kms_instance_parse(&b, ok_js, strlen(ok_js), toks, KMS_TOKENS, err, sizeof err),
		       0, "a minimal record parses");
		is_int(kms_instance_parse(&b, num_js, strlen(num_js), toks, KMS_TOKENS, err, sizeof err),
		       -EINVAL, "a numeric log_key refused");
		is_int(kms_instance_parse(&b, norel_js, strlen(norel_js), toks, KMS_TOKENS, err,
					  sizeof err), -EINVAL, "no releases refused");
	}
}

static void test_allow(void)
{
	static char js[1024];
	struct kms_allow a;
	char err[ERRBUF_LEN], h1[97], h2[97], h3[97];
	uint8_t m[48], r[4][48];
	const uint8_t *rp[4] = { r[0], r[1], r[2], r[3] };

	memset(m, 0x11, 48);
	memset(r, 0, sizeof r);
	memset(r[1], 0x22, 48);
	memset(r[2], 0x33, 48);
	hex_encode(h1, m, 48);
	hex_encode(h2, r[1], 48);
	hex_encode(h3, r[2], 48);
	snprintf(js, sizeof js, "{\"version\":1,\"mrtd\":\"%s\",\"rtmr1\":\"%s\",\"rtmr2\":\"%s\","
		 "\"cmdline\":\"x\"}", h1, h2, h3);
	is_int(kms_allow_parse(&a, js, strlen(js), toks, KMS_TOKENS, err, sizeof err), 0,
	       "a measurements.json parses");
	ok(!a.has_rtmr0 && kms_allow_match(&a, m, rp), "  and matches (RTMR0 not pinned)");
	r[2][47] ^= 1;
	ok(!kms_allow_match(&a, m, rp), "  RTMR2 differs: no match");
	r[2][47] ^= 1;
	m[0] ^= 1;
	ok(!kms_allow_match(&a, m, rp), "  MRTD differs: no match");
	m[0] ^= 1;
	snprintf(js, sizeof js, "{\"mrtd\":\"%s\",\"rtmr0\":\"%s\",\"rtmr1\":\"%s\",\"rtmr2\":\"%s\"}",
		 h1, h1, h2, h3);
	ok(kms_allow_parse(&a, js, strlen(js), toks, KMS_TOKENS, err, sizeof err) == 0 &&
	   a.has_rtmr0 && !kms_allow_match(&a, m, rp), "RTMR0 pinned: compared");
	snprintf(js, sizeof js, "{\"mrtd\":null,\"rtmr1\":\"%s\",\"rtmr2\":\"%s\"}", h2, h3);
	is_int(kms_allow_parse(&a, js, strlen(js), toks, KMS_TOKENS, err, sizeof err), -EINVAL,
	       "a null MRTD refused (%s)", err);
	snprintf(js, sizeof js, "{\"mrtd\":\"%s\",\"rtmr1\":\"%s\"}", h1, h2);
	is_int(kms_allow_parse(&a, js, strlen(js), toks, KMS_TOKENS, err, sizeof err), -EINVAL,
	       "no RTMR2 refused");
}

static long log_json(const char *app, const void *inst, size_t il, char *out, size_t cap)
{
	rtmr3_log_init(&rlog);
	if (app && rtmr3_log_append(&rlog, "app-id", app, strlen(app)) < 0)
		return -1;
	if (inst && rtmr3_log_append(&rlog, "instance-id", inst, il) < 0)
		return -1;
	return rtmr3_log_json(&rlog, out, cap);
}

static void test_log_binds(void)
{
	static char js[8192];
	struct kms_key_req r;
	uint8_t inst[16];
	const char *code;
	char err[ERRBUF_LEN];
	long n;

	memset(&r, 0, sizeof r);
	strcpy(r.app_id, "shop");
	strcpy(r.instance_id, inst_id);
	hex_decode(inst, 16, inst_id, 32);
	n = log_json("shop", inst, 16, js, sizeof js);
	is_int(kms_log_binds(js, (size_t)n, &r, &code, err, sizeof err), 0,
	       "the log measures this app and instance");
	n = log_json("shop", inst, 15, js, sizeof js);
	is_int(kms_log_binds(js, (size_t)n, &r, &code, err, sizeof err), -EACCES,
	       "another instance measured: refused");
	is_str(code, "instance_id", "  code instance_id");
	n = log_json("shop2", inst, 16, js, sizeof js);
	is_int(kms_log_binds(js, (size_t)n, &r, &code, err, sizeof err), -EACCES,
	       "another app measured: refused");
	is_str(code, "app_id", "  code app_id");
	n = log_json("sho", inst, 16, js, sizeof js);
	ok(kms_log_binds(js, (size_t)n, &r, &code, err, sizeof err) == -EACCES, "a prefix app: refused");
	n = log_json(NULL, inst, 16, js, sizeof js);
	ok(kms_log_binds(js, (size_t)n, &r, &code, err, sizeof err) == -EACCES &&
	   strcmp(code, "app_id") == 0, "no app-id event: refused (%s)", err);
	n = log_json("shop", NULL, 0, js, sizeof js);
	ok(kms_log_binds(js, (size_t)n, &r, &code, err, sizeof err) == -EACCES &&
	   strcmp(code, "instance_id") == 0, "no instance-id event: refused (%s)", err);
	ok(kms_log_binds("[{", 2, &r, &code, err, sizeof err) == -EINVAL &&
	   strcmp(code, "event_log") == 0, "a broken log: refused");
}

int main(void)
{
	uint8_t root[32], key[64], key2[64], ctx[32];
	char hex[129];

	ok(kms_id_valid("a", 1) && kms_id_valid("A-b_c.9", 7), "ids");
	ok(!kms_id_valid("", 0) && !kms_id_valid(".", 1) && !kms_id_valid("a b", 3) &&
	   !kms_id_valid("a/b", 3), "  refused ids");

	for (int i = 0; i < 32; i++)
		root[i] = (uint8_t)i;
	kms_disk_key(key, root, "shop", inst_id);
	hex_encode(hex, key, 64);
	is_str(hex, disk_kat, "disk key: python's known answer");
	kms_disk_key(key2, root, "shop", "00112233445566778899aabbccddeefe");
	ok(memcmp(key, key2, 64) != 0, "another instance: another key");
	kms_disk_key(key, root, "ab", "c");
	kms_disk_key(key2, root, "a", "bc");
	ok(memcmp(key, key2, 64) != 0, "(ab, c) and (a, bc) differ: lengths are bound");
	kms_reply_ctx(ctx, "", 0);
	hex_encode(hex, ctx, 32);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "no freshness: the context is SHA-256 of nothing");

	test_key_req();
	test_freshness();
	test_instance();
	test_allow();
	test_log_binds();
	return tap_done();
}
