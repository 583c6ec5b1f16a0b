/* tests/test_cert.c: tls/der_w (known answers for every type and length
 * form), tls/cert (the CA and leaves read back by BearSSL's decoder and
 * validated by br_x509_minimal; by `openssl verify` and `openssl x509`
 * when /usr/bin/openssl exists) and tls/cert_cache (hit, miss, LRU order,
 * expiry, names too long). */
#include "crypto/der.h"
#include "lib/base64.h"
#include "tap.h"
#include "tls/cert.h"
#include "tls/cert_cache.h"
#include "tls/der_w.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW 1767225600LL            /* 2026-01-01T00:00:00Z */
#define DAY 86400LL
#define OPENSSL "/usr/bin/openssl"

static uint8_t big[70000];

/* Runs one writer call into a fresh buffer and compares with want. */
#define KAT(call, want_hex, name) do { \
	struct derw w_; static uint8_t b_[256]; uint8_t x_[128]; size_t n_ = hexb(x_, want_hex); \
	derw_init(&w_, b_, sizeof b_); \
	long r_ = call; \
	ok(r_ == (long)n_ && derw_len(&w_) == n_ && memcmp(derw_data(&w_), x_, n_) == 0, "%s", name); \
} while (0)

/* Decodes space-separated hex pairs. */
static size_t hexb(uint8_t *out, const char *s)
{
	size_t n = 0;
	unsigned v;
	for (int k; sscanf(s, "%2x%n", &v, &k) == 1; s += k) {
		out[n++] = (uint8_t)v;
		while (*(s + k) == ' ')
			s++;
	}
	return n;
}

static void test_der_kat(void)
{
	KAT(derw_uint(&w_, 0), "02 01 00", "INTEGER 0");
	KAT(derw_uint(&w_, 127), "02 01 7f", "INTEGER 127");
	KAT(derw_uint(&w_, 128), "02 02 00 80", "INTEGER 128 gets the 0x00 pad");
	KAT(derw_uint(&w_, 256), "02 02 01 00", "INTEGER 256");
	KAT(derw_uint(&w_, 0xffffffffffffffffULL), "02 09 00 ff ff ff ff ff ff ff ff", "INTEGER 2^64-1");
	KAT(derw_uint_be(&w_, (const uint8_t *)"\0\0\xff", 3), "02 02 00 ff", "INTEGER: leading zeros dropped, pad put back");
	KAT(derw_uint_be(&w_, (const uint8_t *)"\0\0", 2), "02 01 00", "INTEGER from all zeros");
	KAT(derw_uint_be(&w_, NULL, 0), "02 01 00", "INTEGER from no bytes");
	KAT(derw_oid(&w_, (const uint8_t *)"\x2a\x86\x48\xce\x3d\x04\x03\x02", 8),
	    "06 08 2a 86 48 ce 3d 04 03 02", "OID ecdsa-with-SHA256");
	KAT(derw_null(&w_), "05 00", "NULL");
	KAT(derw_bool(&w_, true), "01 01 ff", "BOOLEAN TRUE is 0xff");
	KAT(derw_bool(&w_, false), "01 01 00", "BOOLEAN FALSE");
	KAT(derw_octets(&w_, "abc", 3), "04 03 61 62 63", "OCTET STRING");
	KAT(derw_bits(&w_, (const uint8_t *)"\x04\x41", 2, 0), "03 03 00 04 41", "BIT STRING");
	KAT(derw_bits(&w_, NULL, 0, 0), "03 01 00", "empty BIT STRING");
	KAT(derw_named_bits(&w_, 1u << 0), "03 02 07 80", "keyUsage digitalSignature: 7 unused bits");
	KAT(derw_named_bits(&w_, 1u << 5 | 1u << 6), "03 02 01 06", "keyUsage keyCertSign|cRLSign: 1 unused bit");
	KAT(derw_named_bits(&w_, 1u << 8), "03 03 07 00 80", "keyUsage decipherOnly: two bytes");
	KAT(derw_named_bits(&w_, 0), "03 01 00", "no named bits");
	KAT(derw_string(&w_, DER_UTF8_STRING, "dshield", 7), "0c 07 64 73 68 69 65 6c 64", "UTF8String");
	KAT(derw_string(&w_, DER_PRINTABLE_STRING, "CA 1", 4), "13 04 43 41 20 31", "PrintableString");
	KAT(derw_time(&w_, 0), "17 0d 37 30 30 31 30 31 30 30 30 30 30 30 5a", "UTCTime 700101000000Z");
	KAT(derw_time(&w_, 2524607999LL), "17 0d 34 39 31 32 33 31 32 33 35 39 35 39 5a",
	    "UTCTime through 2049 (491231235959Z)");
	KAT(derw_time(&w_, 2524608000LL), "18 0f 32 30 35 30 30 31 30 31 30 30 30 30 30 30 5a",
	    "GeneralizedTime from 2050 (20500101000000Z)");
	KAT(derw_time(&w_, -631152000LL), "17 0d 35 30 30 31 30 31 30 30 30 30 30 30 5a", "UTCTime from 1950");
	KAT(derw_time(&w_, -631152001LL), "18 0f 31 39 34 39 31 32 33 31 32 33 35 39 35 39 5a",
	    "GeneralizedTime before 1950");
	KAT(derw_time(&w_, 253402300799LL), "18 0f 39 39 39 39 31 32 33 31 32 33 35 39 35 39 5a",
	    "GeneralizedTime 99991231235959Z");
	{
		struct derw w;
		uint8_t b[64];
		derw_init(&w, b, sizeof b);
		ok(derw_time(&w, 253402300800LL) == -EINVAL && derw_result(&w) == -EINVAL, "year 10000 refused");
		derw_init(&w, b, sizeof b);
		ok(derw_oid(&w, (const uint8_t *)"\x2a\x86", 2) == -EINVAL, "OID ending inside an arc refused");
		derw_init(&w, b, sizeof b);
		ok(derw_bits(&w, (const uint8_t *)"\x81", 1, 7) == -EINVAL, "BIT STRING with set padding bits refused");
		derw_init(&w, b, sizeof b);
		ok(derw_bits(&w, (const uint8_t *)"\x80", 1, 8) == -EINVAL, "BIT STRING with 8 unused bits refused");
	}
	/* constructed: written last child first */
	{
		struct derw w;
		uint8_t b[32];
		size_t m, n;
		uint8_t x[32];

		derw_init(&w, b, sizeof b);
		m = derw_mark(&w);
		derw_null(&w);
		derw_uint(&w, 1);
		n = hexb(x, "30 05 02 01 01 05 00");
		ok(derw_wrap(&w, DER_SEQUENCE, m) == (long)n && derw_len(&w) == n && !memcmp(derw_data(&w), x, n),
		   "SEQUENCE { INTEGER 1, NULL }");
		derw_init(&w, b, sizeof b);
		derw_bool(&w, true);
		derw_wrap(&w, DER_SET, 0);
		n = hexb(x, "31 03 01 01 ff");
		ok(derw_result(&w) == (long)n && !memcmp(derw_data(&w), x, n), "SET { TRUE }");
		derw_init(&w, b, sizeof b);
		derw_uint(&w, 2);
		derw_wrap(&w, DER_CTX_CONS(0), 0);
		n = hexb(x, "a0 03 02 01 02");
		ok(derw_result(&w) == (long)n && !memcmp(derw_data(&w), x, n), "[0] EXPLICIT INTEGER 2 (version v3)");
		derw_init(&w, b, sizeof b);
		derw_prim(&w, DER_CTX(2), "a.b", 3);
		n = hexb(x, "82 03 61 2e 62");
		ok(derw_result(&w) == (long)n && !memcmp(derw_data(&w), x, n), "[2] IMPLICIT IA5String (dNSName)");
	}
	/* the length forms */
	{
		static const struct { size_t len; const char *hdr; } f[] = {
			{ 0, "04 00" }, { 127, "04 7f" }, { 128, "04 81 80" }, { 255, "04 81 ff" },
			{ 256, "04 82 01 00" }, { 65535, "04 82 ff ff" }, { 65536, "04 83 01 00 00" },
		};
		static uint8_t content[65536];
		memset(content, 0x5a, sizeof content);
		for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
			struct derw w;
			uint8_t h[8];
			size_t hn = hexb(h, f[i].hdr);
			derw_init(&w, big, sizeof big);
			long r = derw_octets(&w, content, f[i].len);
			ok(r == (long)(hn + f[i].len) && !memcmp(derw_data(&w), h, hn) &&
			   !memcmp(derw_data(&w) + hn, content, f[i].len) && der_hdr_len(f[i].len) == hn,
			   "length %zu: header %s", f[i].len, f[i].hdr);
		}
		/* and the reader agrees */
		struct derw w;
		struct der_tlv t;
		derw_init(&w, big, sizeof big);
		derw_octets(&w, content, 300);
		const uint8_t *p = derw_data(&w);
		ok(der_next(&p, p + derw_len(&w), &t) == 0 && t.tag == DER_OCTET_STRING && t.len == 300 &&
		   p == big + sizeof big, "crypto/der reads the long form back");
	}
	/* bounds */
	{
		struct derw w;
		uint8_t b[8];
		derw_init(&w, b, 4);
		ok(derw_octets(&w, "xy", 2) == 4 && derw_len(&w) == 4, "an exact fit is written");
		derw_init(&w, b, 3);
		ok(derw_octets(&w, "xy", 2) == -ENOSPC, "one byte short: -ENOSPC");
		ok(derw_null(&w) == -ENOSPC && derw_result(&w) == -ENOSPC, "the error is sticky");
		derw_init(&w, b, 3);
		ok(derw_raw(&w, "xyz", 3) == 3 && derw_wrap(&w, DER_SEQUENCE, 0) == -ENOSPC,
		   "a header that does not fit: -ENOSPC");
		derw_init(&w, b, 8);
		ok(derw_uint(&w, 0x80) == 4 && derw_uint(&w, 0x8000) == -ENOSPC,
		   "a pad byte that does not fit: -ENOSPC");
		derw_init(&w, b, 8);
		ok(derw_wrap(&w, DER_SEQUENCE, 3) == -EINVAL, "a mark beyond the output is refused");
	}
}

/* --- certificates --------------------------------------------------------- */

struct dn_buf {
	uint8_t b[CERT_DN_MAX];
	size_t n;
	int over;
};

static void dn_append(void *ctx, const void *buf, size_t len)
{
	struct dn_buf *d = ctx;
	if (len > sizeof d->b - d->n) {
		d->over = 1;
		return;
	}
	memcpy(d->b + d->n, buf, len);
	d->n += len;
}

struct decoded {
	int err;
	bool is_ca;
	uint8_t pub[65];
	size_t pub_len;
	int sig_type;
	struct dn_buf dn;
};

static void decode(const uint8_t *der, size_t len, struct decoded *d)
{
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;

	memset(d, 0, sizeof *d);
	br_x509_decoder_init(&dc, dn_append, &d->dn);
	br_x509_decoder_push(&dc, der, len);
	d->err = br_x509_decoder_last_error(&dc);
	pk = br_x509_decoder_get_pkey(&dc);
	if (d->err || !pk || pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
	    pk->key.ec.qlen != 65) {
		if (!d->err)
			d->err = -1;
		return;
	}
	memcpy(d->pub, pk->key.ec.q, 65);
	d->pub_len = pk->key.ec.qlen;
	d->is_ca = br_x509_decoder_isCA(&dc);
	d->sig_type = br_x509_decoder_get_signer_key_type(&dc);
}

/* Validates chain[0..n) for name at time `at` with the anchor (DN, key). */
static int validate(const struct decoded *anchor, const uint8_t *const *chain, const size_t *lens,
		    int n, const char *name, int64_t at)
{
	br_x509_minimal_context xc;
	br_x509_trust_anchor ta = {
		.dn = { (unsigned char *)anchor->dn.b, anchor->dn.n },
		.flags = BR_X509_TA_CA,
		.pkey = { .key_type = BR_KEYTYPE_EC,
			  .key.ec = { BR_EC_secp256r1, (unsigned char *)anchor->pub, 65 } },
	};

	br_x509_minimal_init(&xc, &br_sha256_vtable, &ta, 1);
	br_x509_minimal_set_hash(&xc, br_sha256_ID, &br_sha256_vtable);
	br_x509_minimal_set_ecdsa(&xc, br_ec_get_default(), br_ecdsa_i31_vrfy_asn1);
	br_x509_minimal_set_time(&xc, (uint32_t)(at / DAY + 719528), (uint32_t)(at % DAY));
	xc.vtable->start_chain(&xc.vtable, name);
	for (int i = 0; i < n; i++) {
		xc.vtable->start_cert(&xc.vtable, (uint32_t)lens[i]);
		xc.vtable->append(&xc.vtable, chain[i], lens[i]);
		xc.vtable->end_cert(&xc.vtable);
	}
	return (int)xc.vtable->end_chain(&xc.vtable);
}

static int validate1(const struct decoded *anchor, const uint8_t *der, size_t len, const char *name,
		     int64_t at)
{
	return validate(anchor, &der, &len, 1, name, at);
}

static bool has(const uint8_t *hay, size_t n, const uint8_t *x, size_t k)
{
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(hay + i, x, k))
			return true;
	return false;
}

static bool contains(const uint8_t *hay, size_t n, const char *hex)
{
	uint8_t x[128];
	size_t k = hexb(x, hex);
	return has(hay, n, x, k);
}

/* The serial's contents: Certificate, TBSCertificate, [0], INTEGER. */
static bool serial_of(const uint8_t *der, size_t len, struct der_tlv *s)
{
	struct der_tlv c, tbs, v;
	const uint8_t *p = der, *q;
	if (der_expect(&p, der + len, 0x30, &c) != 0)
		return false;
	q = c.p;
	if (der_expect(&q, c.p + c.len, 0x30, &tbs) != 0)
		return false;
	q = tbs.p;
	return der_expect(&q, tbs.p + tbs.len, 0xa0, &v) == 0 &&
	       der_expect(&q, tbs.p + tbs.len, 0x02, s) == 0;
}

static struct cert_ca ca, ca2;
static struct decoded dca;   /* the CA as br_x509_decoder read it */
static br_hmac_drbg_context rng;
static uint8_t leaf[CERT_DER_MAX], leaf2[CERT_DER_MAX], leaf_long[CERT_DER_MAX];
static long leaf_len, leaf2_len, leaf_long_len;
static char long_name[CERT_NAME_MAX + 2];

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

static int write_pem(const char *dir, const char *name, const uint8_t *der, size_t len)
{
	static char pem[CERT_PEM_LEN(CERT_DER_MAX) + 1];
	long n = cert_pem(pem, sizeof pem, der, len);
	return n < 0 ? -1 : write_file(dir, name, pem, (size_t)n);
}

/* Runs a shell command in dir; its exit status (output into dir/out). */
static int run(const char *dir, const char *what)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cd '%s' && %s > out 2>&1", dir, what);
	int r = system(cmd);
	return r == -1 ? -1 : WEXITSTATUS(r);
}

/* openssl verify -x509_strict at NOW with ca as the only CA, for name. */
static int verify(const char *dir, const char *ca_file, const char *name, const char *leaf_file)
{
	char cmd[768];
	snprintf(cmd, sizeof cmd, OPENSSL " verify -x509_strict -attime %lld -CAfile %s -verify_hostname %s %s",
		 NOW, ca_file, name, leaf_file);
	return run(dir, cmd);
}

static bool out_clean(const char *dir)
{
	char path[512], line[512];
	bool clean = true;
	snprintf(path, sizeof path, "%s/out", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof line, f))
		if (strstr(line, "rror") || strstr(line, "nable to"))
			clean = false;
	fclose(f);
	return clean;
}

static void test_openssl(void)
{
	char dir[] = "/tmp/test_cert.XXXXXX";
	const char *skip = NULL;

	if (access(OPENSSL, X_OK) != 0)
		skip = "no " OPENSSL;
	else if (!mkdtemp(dir))
		skip = "no temporary directory";
	if (skip) {
		for (int i = 0; i < 7; i++)
			ok(1, "openssl check # SKIP %s", skip);
		return;
	}
	ok(write_pem(dir, "ca.pem", ca.der, ca.der_len) == 0 && write_pem(dir, "ca2.pem", ca2.der, ca2.der_len) == 0 &&
	   write_pem(dir, "leaf.pem", leaf, (size_t)leaf_len) == 0 &&
	   write_pem(dir, "long.pem", leaf_long, (size_t)leaf_long_len) == 0, "PEM files written to %s", dir);
	ok(verify(dir, "ca.pem", "www.example.com", "leaf.pem") == 0,
	   "openssl verify -x509_strict: the leaf for www.example.com");
	ok(verify(dir, "ca.pem", "www.example.org", "leaf.pem") != 0, "openssl verify refuses it for www.example.org");
	ok(verify(dir, "ca2.pem", "www.example.com", "leaf.pem") != 0, "openssl verify refuses it under another CA");
	ok(verify(dir, "ca.pem", long_name, "long.pem") == 0,
	   "openssl verify: the leaf for a 253-character name (empty subject)");
	ok(run(dir, OPENSSL " x509 -noout -text -in ca.pem") == 0 && out_clean(dir),
	   "openssl x509 -text parses the CA with no error");
	ok(run(dir, OPENSSL " x509 -noout -text -in leaf.pem") == 0 && out_clean(dir),
	   "openssl x509 -text parses the leaf with no error");
	run(dir, "rm -f ca.pem ca2.pem leaf.pem long.pem");
	run(dir, "rm -f out");
	rmdir(dir);
}

static void test_certs(void)
{
	struct cert_validity v = { NOW - 3600, NOW + 7 * DAY };
	struct decoded dca2, dleaf, dlong;
	struct der_tlv s1, s2;

	br_hmac_drbg_init(&rng, &br_sha256_vtable, "test_cert fixed seed", 20);
	{
		br_hmac_drbg_context r;
		ok(cert_drbg_seed(&r) == 0, "cert_drbg_seed from getrandom");
	}
	is_int(cert_ca_init(&ca, &rng, "t0123", 5, NOW, NOW + 30 * DAY), 0, "CA made");
	is_int(cert_ca_init(&ca2, &rng, "other", 5, NOW, NOW + 30 * DAY), 0, "a second CA made");
	ok(cert_ca_init(&ca2, &rng, "", 0, NOW, NOW + DAY) == -EINVAL, "empty tag refused");
	ok(cert_ca_init(&ca2, &rng, "a b", 3, NOW, NOW + DAY) == -EINVAL, "tag with a space refused");
	ok(cert_ca_init(&ca2, &rng, "012345678901234567890123456789012", 33, NOW, NOW + DAY) == -EINVAL,
	   "33-byte tag refused");
	ok(cert_ca_init(&ca2, &rng, "x", 1, NOW, NOW - 2 * 3600) == -EINVAL, "end before start refused");
	ok(cert_ca_init(&ca2, &rng, "x", 1, INT64_MIN, NOW) == -EINVAL &&
	   cert_ca_init(&ca2, &rng, "x", 1, NOW, DER_TIME_MAX + 1) == -EINVAL, "times DER cannot write refused");
	is_int(cert_ca_init(&ca2, &rng, "other", 5, NOW, NOW + 30 * DAY), 0, "the second CA still usable");
	decode(ca.der, ca.der_len, &dca);
	decode(ca2.der, ca2.der_len, &dca2);
	ok(dca.err == 0 && dca.is_ca, "br_x509_decoder reads the CA: a CA");
	ok(dca.pub_len == 65 && !memcmp(dca.pub, ca.key.pub, 65), "its key is the CA key");
	ok(dca.sig_type == BR_KEYTYPE_EC, "signed with ECDSA");
	ok(dca.dn.n == ca.dn_len && !memcmp(dca.dn.b, ca.dn, ca.dn_len), "its subject is ca.dn");
	ok(contains(ca.dn, ca.dn_len, "30 21 31 1f 30 1d 06 03 55 04 03 0c 16") &&
	   contains(ca.dn, ca.dn_len, "64 73 68 69 65 6c 64 20 6c 6f 63 61 6c 20 43 41 20 74 30 31 32 33"),
	   "subject CN=dshield local CA t0123 (UTF8String)");
	ok(contains(ca.der, ca.der_len, "30 12 06 03 55 1d 13 01 01 ff 04 08 30 06 01 01 ff 02 01 00"),
	   "basicConstraints critical CA:TRUE pathLen 0");
	ok(contains(ca.der, ca.der_len, "30 0e 06 03 55 1d 0f 01 01 ff 04 04 03 02 01 06"),
	   "keyUsage critical keyCertSign|cRLSign");
	ok(contains(ca.der, ca.der_len, "30 1d 06 03 55 1d 0e 04 16 04 14"), "subjectKeyIdentifier, 20 bytes");
	ok(contains(ca.der, ca.der_len, "a0 03 02 01 02"), "version v3");
	ok(contains(ca.der, ca.der_len, "30 0a 06 08 2a 86 48 ce 3d 04 03 02"), "ecdsa-with-SHA256, no parameters");
	ok(contains(ca.der, ca.der_len, "30 1e 17 0d 32 35 31 32 33 31 32 33 30 30 30 30 5a"
					" 17 0d 32 36 30 31 33 31 30 30 30 30 30 30 5a"),
	   "validity: now - 1 hour to the given end");
	ok(serial_of(ca.der, ca.der_len, &s1) && s1.len == 16 && (s1.p[0] & 0xc0) == 0x40,
	   "CA serial: 16 bytes, positive");

	leaf_len = cert_leaf(&ca, &rng, "www.example.com", 15, &v, leaf, sizeof leaf);
	ok(leaf_len > 0, "leaf minted (%ld bytes)", leaf_len);
	leaf2_len = cert_leaf(&ca, &rng, "www.example.com", 15, &v, leaf2, sizeof leaf2);
	decode(leaf, (size_t)leaf_len, &dleaf);
	ok(dleaf.err == 0 && !dleaf.is_ca, "br_x509_decoder reads the leaf: not a CA");
	ok(!memcmp(dleaf.pub, ca.leaf_key.pub, 65), "its key is the CA's leaf key");
	ok(contains(leaf, (size_t)leaf_len, "30 1a 06 03 55 1d 11 04 13 30 11 82 0f 77 77 77 2e 65 78 61 6d 70 6c 65 2e 63 6f 6d"),
	   "subjectAltName dNSName www.example.com, not critical");
	ok(contains(leaf, (size_t)leaf_len, "30 1a 31 18 30 16 06 03 55 04 03 0c 0f 77 77 77"), "subject CN=www.example.com");
	ok(contains(leaf, (size_t)leaf_len, "30 0e 06 03 55 1d 0f 01 01 ff 04 04 03 02 07 80"),
	   "keyUsage critical digitalSignature");
	ok(contains(leaf, (size_t)leaf_len, "30 13 06 03 55 1d 25 04 0c 30 0a 06 08 2b 06 01 05 05 07 03 01"),
	   "extendedKeyUsage serverAuth");
	ok(contains(leaf, (size_t)leaf_len, "30 09 06 03 55 1d 13 04 02 30 00"), "basicConstraints CA:FALSE");
	{
		uint8_t aki[64];
		memcpy(aki, "\x30\x1f\x06\x03\x55\x1d\x23\x04\x18\x30\x16\x80\x14", 13);
		memcpy(aki + 13, ca.keyid, 20);
		ok(has(leaf, (size_t)leaf_len, aki, 33), "authorityKeyIdentifier = the CA's SKI");
		memcpy(aki, "\x04\x16\x04\x14", 4);
		memcpy(aki + 4, ca.keyid, 20);
		ok(has(ca.der, ca.der_len, aki, 24), "the same key id is the CA's SKI");
	}
	ok(serial_of(leaf, (size_t)leaf_len, &s1) && serial_of(leaf2, (size_t)leaf2_len, &s2) && s1.len == 16 &&
	   s2.len == 16 && (s1.p[0] & 0xc0) == 0x40 && memcmp(s1.p, s2.p, 16) != 0,
	   "leaf serials: 16 bytes, positive, different each time");

	/* validated by br_x509_minimal with the CA (as decoded) the only anchor */
	is_int(validate1(&dca, leaf, (size_t)leaf_len, "www.example.com", NOW), BR_ERR_OK,
	       "br_x509_minimal accepts the leaf for www.example.com");
	is_int(validate1(&dca, leaf, (size_t)leaf_len, "WWW.Example.COM", NOW), BR_ERR_OK,
	       "names compare without case (BearSSL's rule)");
	is_int(validate1(&dca, leaf, (size_t)leaf_len, "www.example.org", NOW), BR_ERR_X509_BAD_SERVER_NAME,
	       "refused for another name");
	is_int(validate1(&dca, leaf, (size_t)leaf_len, "example.com", NOW), BR_ERR_X509_BAD_SERVER_NAME,
	       "refused for the parent name");
	is_int(validate1(&dca2, leaf, (size_t)leaf_len, "www.example.com", NOW), BR_ERR_X509_NOT_TRUSTED,
	       "refused under another CA");
	is_int(validate1(&dca, leaf, (size_t)leaf_len, "www.example.com", NOW + 8 * DAY), BR_ERR_X509_EXPIRED,
	       "refused after not_after");
	is_int(validate1(&dca, leaf, (size_t)leaf_len, "www.example.com", NOW - 2 * 3600), BR_ERR_X509_EXPIRED,
	       "refused before not_before");
	{
		const uint8_t *chain[2] = { leaf, ca.der };
		size_t lens[2] = { (size_t)leaf_len, ca.der_len };
		is_int(validate(&dca, chain, lens, 2, "www.example.com", NOW), BR_ERR_OK,
		       "the chain leaf, CA validates too");
	}

	/* a name at the limit: no CN (ub-common-name 64), SAN critical */
	memset(long_name, 'a', CERT_NAME_MAX);
	for (int i = 63; i < CERT_NAME_MAX; i += 64)
		long_name[i] = '.';
	long_name[CERT_NAME_MAX] = 0;
	leaf_long_len = cert_leaf(&ca, &rng, long_name, CERT_NAME_MAX, &v, leaf_long, sizeof leaf_long);
	ok(leaf_long_len > 0 && leaf_long_len < CERT_DER_MAX, "a 253-character name fits (%ld bytes)", leaf_long_len);
	decode(leaf_long, (size_t)leaf_long_len, &dlong);
	ok(dlong.err == 0, "it decodes");
	ok(contains(leaf_long, (size_t)leaf_long_len, "30 82 01 10 06 03 55 1d 11 01 01 ff 04 82 01 04 30 82 01 00 82 81 fd"),
	   "its subjectAltName is critical");
	is_int(validate1(&dca, leaf_long, (size_t)leaf_long_len, long_name, NOW), BR_ERR_OK,
	       "br_x509_minimal accepts it for that name");
	{
		uint8_t l64[CERT_DER_MAX];
		struct decoded d;
		long n = cert_leaf(&ca, &rng, long_name, 64, &v, l64, sizeof l64);
		decode(l64, n > 0 ? (size_t)n : 0, &d);
		ok(n > 0 && d.err == 0 && contains(l64, (size_t)n, "06 03 55 04 03 0c 40"), "64 characters still in the CN");
	}
	ok(cert_leaf(&ca, &rng, long_name, CERT_NAME_MAX + 1, &v, leaf2, sizeof leaf2) == -ENAMETOOLONG,
	   "254 characters: -ENAMETOOLONG");
	ok(cert_leaf(&ca, &rng, "", 0, &v, leaf2, sizeof leaf2) == -EINVAL, "empty name refused");
	ok(cert_leaf(&ca, &rng, "Www.example.com", 15, &v, leaf2, sizeof leaf2) == -EINVAL,
	   "upper case refused (not canonical)");
	ok(cert_leaf(&ca, &rng, "a\0b", 3, &v, leaf2, sizeof leaf2) == -EINVAL, "NUL refused");
	ok(cert_leaf(&ca, &rng, "*.example.com", 13, &v, leaf2, sizeof leaf2) == -EINVAL, "no wildcards");
	{
		struct cert_validity bad = { NOW, NOW - 1 };
		ok(cert_leaf(&ca, &rng, "a.b", 3, &bad, leaf2, sizeof leaf2) == -EINVAL, "reversed validity refused");
	}
	{
		/* the signature's length varies (70 to 72 bytes), so does the
		 * leaf's: each buffer is exactly cap bytes on the heap (ASan
		 * sees a write past it), and the result fits or is -ENOSPC */
		bool fits = true;
		size_t first = 0;
		for (size_t cap = 0; cap < (size_t)leaf_len + 8; cap += cap < 400 ? 25 : 1) {
			uint8_t *b = malloc(cap ? cap : 1);
			long n = b ? cert_leaf(&ca, &rng, "www.example.com", 15, &v, b, cap) : -ENOMEM;
			fits &= n == -ENOSPC || (n > 0 && (size_t)n <= cap);
			if (n > 0 && !first)
				first = cap;
			free(b);
		}
		ok(fits && first > 0 && first <= (size_t)leaf_len + 4,
		   "short buffers: -ENOSPC, never past the end; written from %zu bytes", first);
	}
	{
		struct cert_validity far = { 2524607999LL, 2524608000LL + DAY };
		long n = cert_leaf(&ca, &rng, "a.b", 3, &far, leaf2, sizeof leaf2);
		struct decoded d;
		decode(leaf2, n > 0 ? (size_t)n : 0, &d);
		ok(n > 0 && d.err == 0 &&
		   contains(leaf2, (size_t)n, "30 20 17 0d 34 39 31 32 33 31 32 33 35 39 35 39 5a 18 0f 32 30 35 30"),
		   "validity across 2050: UTCTime then GeneralizedTime, decoded");
	}
}

static void test_pem(void)
{
	char pem[CERT_PEM_LEN(CERT_DER_MAX) + 1];
	uint8_t back[CERT_DER_MAX], in[49];
	const char *want3 = "-----BEGIN CERTIFICATE-----\nYWJj\n-----END CERTIFICATE-----\n";

	ok(cert_pem(pem, sizeof pem, (const uint8_t *)"abc", 3) == (long)strlen(want3) && !strcmp(pem, want3),
	   "PEM of 3 bytes");
	ok(cert_pem(pem, strlen(want3), (const uint8_t *)"abc", 3) == -ENOSPC, "no room for the NUL: -ENOSPC");
	memset(in, 0xff, sizeof in);
	ok(cert_pem(pem, sizeof pem, in, 48) == CERT_PEM_LEN(48) && strlen(pem) == 28 + 65 + 26, "48 bytes: one line of 64");
	ok(cert_pem(pem, sizeof pem, in, 49) == CERT_PEM_LEN(49) && strlen(pem) == 28 + 65 + 5 + 26,
	   "49 bytes: a second line");
	long n = cert_pem(pem, sizeof pem, ca.der, ca.der_len);
	ok(n == (long)CERT_PEM_LEN(ca.der_len), "PEM of the CA");
	/* the lines between the markers decode to the DER */
	{
		size_t got = 0, lines = 0, maxl = 0;
		char *p = pem + 28, *end = strstr(pem, "-----END");
		bool good = end != NULL;
		while (good && p < end) {
			char *nl = strchr(p, '\n');
			long k = base64_decode(back + got, sizeof back - got, p, (size_t)(nl - p));
			good = k > 0;
			got += k > 0 ? (size_t)k : 0;
			maxl = (size_t)(nl - p) > maxl ? (size_t)(nl - p) : maxl;
			lines++;
			p = nl + 1;
		}
		ok(good && got == ca.der_len && !memcmp(back, ca.der, got) && maxl == 64 &&
		   lines == (ca.der_len + 47) / 48, "its lines (64 characters) decode to the DER");
	}
}

static void test_cache(void)
{
	static struct cert_cache c;
	struct cert_validity v = { NOW - 3600, NOW + DAY };
	const uint8_t *d1, *d2, *d;
	char name[32];
	long n1, n2;

	cert_cache_init(&c);
	ok(cert_cache_find(&c, "a.example", 9, NOW, &d) == -ENOENT, "empty cache: miss");
	n1 = cert_cache_leaf(&c, &ca, &rng, "a.example", 9, NOW, &v, &d1);
	ok(n1 > 0, "miss: minted");
	{
		struct decoded dd;
		decode(d1, (size_t)n1, &dd);
		ok(dd.err == 0 && validate1(&dca, d1, (size_t)n1, "a.example", NOW) == BR_ERR_OK,
		   "it decodes and validates");
	}
	ok(cert_cache_find(&c, "a.example", 9, NOW, &d) == n1 && d == d1, "find: hit, same bytes");
	n2 = cert_cache_leaf(&c, &ca, &rng, "a.example", 9, NOW + 10, &v, &d2);
	ok(n2 == n1 && d2 == d1, "leaf: hit, not minted again");
	ok(cert_cache_find(&c, "a.exampl", 8, NOW, &d) == -ENOENT && cert_cache_find(&c, "a.examplf", 9, NOW, &d) == -ENOENT,
	   "exact names only");
	ok(cert_cache_find(&c, "a.example", 9, NOW + DAY, &d) == -ENOENT, "expired: miss");
	n2 = cert_cache_leaf(&c, &ca, &rng, "a.example", 9, NOW + DAY,
			     &(struct cert_validity){ NOW + DAY - 3600, NOW + 2 * DAY }, &d2);
	{
		struct der_tlv s;
		ok(n2 > 0 && d2 == d1 && serial_of(d2, (size_t)n2, &s), "expired: minted again into its own slot");
	}
	ok(cert_cache_leaf(&c, &ca, &rng, long_name, CERT_NAME_MAX + 1, NOW, &v, &d) == -ENAMETOOLONG,
	   "a name longer than a slot: -ENAMETOOLONG");
	ok(cert_cache_find(&c, long_name, CERT_NAME_MAX + 1, NOW, &d) == -ENOENT, "and a miss for find");
	ok(cert_cache_leaf(&c, &ca, &rng, long_name, CERT_NAME_MAX, NOW, &v, &d) > 0, "253 characters cached");
	ok(cert_cache_leaf(&c, &ca, &rng, "Bad", 3, NOW, &v, &d) == -EINVAL &&
	   cert_cache_find(&c, "Bad", 3, NOW, &d) == -ENOENT, "a refused name leaves nothing");
	ok(cert_cache_leaf(&c, &ca, &rng, "b.example", 9, NOW + 2 * DAY, &v, &d) == -EINVAL,
	   "now outside the validity asked for: -EINVAL");

	/* LRU: fill every slot, touch n0, then two more names evict n1, n2 */
	cert_cache_init(&c);
	bool all = true;
	for (int i = 0; i < CERT_CACHE_SLOTS; i++) {
		int k = snprintf(name, sizeof name, "n%d.example", i);
		all &= cert_cache_leaf(&c, &ca, &rng, name, (size_t)k, NOW, &v, &d) > 0;
	}
	ok(all, "%d names minted", CERT_CACHE_SLOTS);
	ok(cert_cache_find(&c, "n0.example", 10, NOW, &d) > 0, "n0 found (now the most recent)");
	ok(cert_cache_leaf(&c, &ca, &rng, "x1.example", 10, NOW, &v, &d) > 0, "one more name");
	ok(cert_cache_find(&c, "n1.example", 10, NOW, &d) == -ENOENT, "evicted n1, the least recently used");
	ok(cert_cache_find(&c, "n0.example", 10, NOW, &d) > 0 && cert_cache_find(&c, "n2.example", 10, NOW, &d) > 0,
	   "n0 and n2 stay");
	ok(cert_cache_leaf(&c, &ca, &rng, "x2.example", 10, NOW, &v, &d) > 0 &&
	   cert_cache_find(&c, "n3.example", 10, NOW, &d) == -ENOENT &&
	   cert_cache_find(&c, "n2.example", 10, NOW, &d) > 0, "then n3 (n2 was just found)");
	all = true;
	for (int i = 4; i < CERT_CACHE_SLOTS; i++) {
		int k = snprintf(name, sizeof name, "n%d.example", i);
		all &= cert_cache_find(&c, name, (size_t)k, NOW, &d) > 0;
	}
	ok(all && cert_cache_find(&c, "x1.example", 10, NOW, &d) > 0, "every other name stays");
}

/* cert_self: a key's certificate signed by itself (the API's, keyd). */
static void test_self(void)
{
	static uint8_t der[CERT_DER_MAX];
	static const char name[] = "dshield-api.invalid";
	const struct cert_validity v = { NOW - DAY, NOW + DAY };
	struct cert_key k;
	struct decoded d;
	const uint8_t *chain[1] = { der };
	size_t lens[1];
	long n;

	ok(cert_keygen(&k, &rng) == 0, "self: a key");
	ok(cert_self(&k, &rng, "Upper.example", 13, &v, der, sizeof der) == -EINVAL &&
	   cert_self(&k, &rng, name, 0, &v, der, sizeof der) == -EINVAL &&
	   cert_self(&k, &rng, long_name, CERT_CN_MAX + 1, &v, der, sizeof der) == -EINVAL,
	   "self: a name with capitals, an empty one, one over 64 characters: -EINVAL");
	ok(cert_self(&k, &rng, name, sizeof name - 1, &v, der, 100) == -ENOSPC, "self: -ENOSPC when short");
	n = cert_self(&k, &rng, name, sizeof name - 1, &v, der, sizeof der);
	decode(der, n > 0 ? (size_t)n : 0, &d);
	ok(n > 0 && d.err == 0 && !d.is_ca && memcmp(d.pub, k.pub, 65) == 0,
	   "self: %ld bytes, read back: not a CA, the key's own", n);
	lens[0] = n > 0 ? (size_t)n : 0;
	ok(validate(&d, chain, lens, 1, name, NOW) == 0,
	   "self: br_x509_minimal accepts it with its own name and key as anchor (it signed itself)");
	ok(validate(&d, chain, lens, 1, "other.invalid", NOW) != 0, "self: and refuses it for another name");
}

int main(void)
{
	test_der_kat();
	test_certs();
	test_pem();
	test_openssl();
	test_cache();
	test_self();
	return tap_done();
}
