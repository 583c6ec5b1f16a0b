/* tls/cert.c: see cert.h; the encodings, byte by byte, are in docs/TLS.md.
 *
 * Every structure is written with tls/der_w.h, backwards: the last field
 * first. The TBSCertificate is written at the end of the output buffer,
 * hashed and signed, then moved once to the front behind the outer
 * SEQUENCE header, with the signature algorithm and value after it. */
#include "tls/cert.h"

#include "lib/base64.h"
#include "lib/random.h"
#include "tls/der_w.h"

#include <errno.h>
#include <string.h>

/* Object identifiers, encoded contents. */
static const uint8_t OID_ECDSA_SHA256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const uint8_t OID_EC_PUBKEY[]    = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[]         = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t OID_CN[]           = { 0x55, 0x04, 0x03 };
static const uint8_t OID_SKI[]          = { 0x55, 0x1d, 0x0e };
static const uint8_t OID_KEY_USAGE[]    = { 0x55, 0x1d, 0x0f };
static const uint8_t OID_SAN[]          = { 0x55, 0x1d, 0x11 };
static const uint8_t OID_BASIC[]        = { 0x55, 0x1d, 0x13 };
static const uint8_t OID_AKI[]          = { 0x55, 0x1d, 0x23 };
static const uint8_t OID_EKU[]          = { 0x55, 0x1d, 0x25 };
static const uint8_t OID_SERVER_AUTH[]  = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };

/* keyUsage bits (RFC 5280 §4.2.1.3) */
#define KU_DIGITAL_SIGNATURE (1u << 0)
#define KU_KEY_CERT_SIGN     (1u << 5)
#define KU_CRL_SIGN          (1u << 6)

#define CA_CN_PREFIX "dshield local CA "
/* the CA is valid from an hour before its creation: clocks that differ a
 * little (the sandbox's, a client's) still accept it */
#define CA_BACKDATE 3600
#define SERIAL_LEN 16
/* ECDSA-Sig-Value for P-256: two INTEGERs of up to 33 bytes */
#define SIG_DER_MAX 72
/* AlgorithmIdentifier (12) and the BIT STRING of the signature (3 + 72) */
#define SIG_TAIL_MAX 96

int cert_drbg_seed(br_hmac_drbg_context *rng)
{
	uint8_t seed[48];
	int r = random_fill(seed, sizeof seed);

	if (r < 0)
		return r;
	br_hmac_drbg_init(rng, &br_sha256_vtable, seed, sizeof seed);
	memset(seed, 0, sizeof seed);
	return 0;
}

int cert_keygen(struct cert_key *k, br_hmac_drbg_context *rng)
{
	const br_ec_impl *ec = br_ec_get_default();
	uint8_t priv[BR_EC_KBUF_PRIV_MAX_SIZE], pub[BR_EC_KBUF_PUB_MAX_SIZE];
	br_ec_private_key sk;
	br_ec_public_key pk;
	int r = -EIO;

	if (br_ec_keygen(&rng->vtable, ec, &sk, priv, BR_EC_secp256r1) == sizeof k->priv &&
	    br_ec_compute_pub(ec, &pk, pub, &sk) == sizeof k->pub) {
		memcpy(k->priv, sk.x, sizeof k->priv);
		memcpy(k->pub, pk.q, sizeof k->pub);
		r = 0;
	}
	memset(priv, 0, sizeof priv);
	return r;
}

static void sha256(uint8_t out[32], const void *p, size_t n)
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, out);
}

static void keyid(uint8_t out[CERT_KEYID_LEN], const struct cert_key *k)
{
	uint8_t h[32];

	sha256(h, k->pub, sizeof k->pub);
	memcpy(out, h, CERT_KEYID_LEN);
}

/* True when every byte of s[0..n) is a-z, 0-9 or one of set (NUL never). */
static int name_chars_ok(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr(set, c))))
			return 0;
	}
	return 1;
}

/* Name: one RDN holding CN=cn[0..n) as a UTF8String; n 0: the empty Name. */
static long put_name(struct derw *w, const char *cn, size_t n)
{
	size_t m = derw_mark(w);

	if (n) {
		derw_string(w, DER_UTF8_STRING, cn, n);
		derw_oid(w, OID_CN, sizeof OID_CN);
		derw_wrap(w, DER_SEQUENCE, m);
		derw_wrap(w, DER_SET, m);
	}
	return derw_wrap(w, DER_SEQUENCE, m);
}

/* AlgorithmIdentifier ecdsa-with-SHA256: parameters absent (RFC 5758 §3.2). */
static long put_sig_alg(struct derw *w)
{
	size_t m = derw_mark(w);

	derw_oid(w, OID_ECDSA_SHA256, sizeof OID_ECDSA_SHA256);
	return derw_wrap(w, DER_SEQUENCE, m);
}

/* Extension { extnID, critical (DEFAULT FALSE: absent unless true),
 * extnValue OCTET STRING } around the value written since mark. */
static long put_ext(struct derw *w, size_t mark, const uint8_t *oid, size_t oid_len, bool critical)
{
	derw_wrap(w, DER_OCTET_STRING, mark);
	if (critical)
		derw_bool(w, true);
	derw_oid(w, oid, oid_len);
	return derw_wrap(w, DER_SEQUENCE, mark);
}

/* keyUsage, critical. */
static void ext_key_usage(struct derw *w, uint16_t bits)
{
	size_t m = derw_mark(w);

	derw_named_bits(w, bits);
	put_ext(w, m, OID_KEY_USAGE, sizeof OID_KEY_USAGE, true);
}

/* The TBSCertificate's fields from the version to subjectPublicKeyInfo,
 * in front of the [3] extensions already written since mark, and the
 * SEQUENCE around them all. */
static long put_tbs(struct derw *w, size_t mark, const uint8_t serial[SERIAL_LEN],
		    const uint8_t *issuer, size_t issuer_len, const struct cert_validity *v,
		    const char *cn, size_t cn_len, const uint8_t pub[65])
{
	size_t m;

	derw_wrap(w, DER_CTX_CONS(3), mark);
	/* subjectPublicKeyInfo: id-ecPublicKey, namedCurve P-256, the point */
	m = derw_mark(w);
	derw_bits(w, pub, 65, 0);
	{
		size_t a = derw_mark(w);
		derw_oid(w, OID_P256, sizeof OID_P256);
		derw_oid(w, OID_EC_PUBKEY, sizeof OID_EC_PUBKEY);
		derw_wrap(w, DER_SEQUENCE, a);
	}
	derw_wrap(w, DER_SEQUENCE, m);
	put_name(w, cn, cn_len);
	m = derw_mark(w);
	derw_time(w, v->not_after);
	derw_time(w, v->not_before);
	derw_wrap(w, DER_SEQUENCE, m);
	derw_raw(w, issuer, issuer_len);
	put_sig_alg(w);
	derw_uint_be(w, serial, SERIAL_LEN);
	/* version [0] EXPLICIT v3 (2) */
	m = derw_mark(w);
	derw_uint(w, 2);
	derw_wrap(w, DER_CTX_CONS(0), m);
	return derw_wrap(w, DER_SEQUENCE, 0);
}

/* Signs the TBSCertificate w holds (at the end of out) with signer and
 * lays out the Certificate at out[0..): header, TBS (moved once),
 * signatureAlgorithm, signatureValue. Returns its length or -errno. */
static long finish(struct derw *w, uint8_t *out, size_t cap, const struct cert_key *signer)
{
	long tbs_len = derw_result(w);
	br_ec_private_key sk = {
		.curve = BR_EC_secp256r1, .x = (unsigned char *)signer->priv, .xlen = 32,
	};
	uint8_t hash[32], sig[SIG_DER_MAX], tail_buf[SIG_TAIL_MAX];
	struct derw t;
	size_t sig_len, body, hl;
	long tail_len;

	if (tbs_len < 0)
		return tbs_len;
	sha256(hash, derw_data(w), (size_t)tbs_len);
	sig_len = br_ecdsa_i31_sign_asn1(br_ec_get_default(), &br_sha256_vtable, hash, &sk, sig);
	if (sig_len == 0)
		return -EIO;
	derw_init(&t, tail_buf, sizeof tail_buf);
	derw_bits(&t, sig, sig_len, 0);
	put_sig_alg(&t);
	tail_len = derw_result(&t);
	if (tail_len < 0)
		return tail_len;
	body = (size_t)tbs_len + (size_t)tail_len;
	hl = der_hdr_len(body);
	if (hl + body > cap)
		return -ENOSPC;
	memmove(out + hl, derw_data(w), (size_t)tbs_len);
	memcpy(out + hl + tbs_len, derw_data(&t), (size_t)tail_len);
	der_hdr_put(out, DER_SEQUENCE, body);
	return (long)(hl + body);
}

/* A random positive serial of exactly SERIAL_LEN bytes: top bit clear (no
 * sign pad), the next one set (no leading zero byte to drop). */
static void serial_new(uint8_t s[SERIAL_LEN], br_hmac_drbg_context *rng)
{
	br_hmac_drbg_generate(rng, s, SERIAL_LEN);
	s[0] = (uint8_t)((s[0] & 0x7f) | 0x40);
}

static int validity_ok(const struct cert_validity *v)
{
	/* UTCTime or GeneralizedTime is der_w's choice, by year */
	return v->not_before <= v->not_after && v->not_before >= DER_TIME_MIN && v->not_after <= DER_TIME_MAX;
}

int cert_ca_init(struct cert_ca *ca, br_hmac_drbg_context *rng, const char *tag, size_t tag_len,
		 int64_t now, int64_t not_after)
{
	char cn[sizeof CA_CN_PREFIX - 1 + CERT_TAG_MAX];
	const size_t cn_len = sizeof CA_CN_PREFIX - 1 + tag_len;
	struct cert_validity v = { 0, not_after };
	uint8_t serial[SERIAL_LEN];
	struct derw w;
	size_t m, e;
	long n;

	if (tag_len == 0 || tag_len > CERT_TAG_MAX || !name_chars_ok(tag, tag_len, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-_") ||
	    now < DER_TIME_MIN + CA_BACKDATE)
		return -EINVAL;
	v.not_before = now - CA_BACKDATE;
	if (!validity_ok(&v))
		return -EINVAL;
	memcpy(cn, CA_CN_PREFIX, sizeof CA_CN_PREFIX - 1);
	memcpy(cn + sizeof CA_CN_PREFIX - 1, tag, tag_len);
	if (cert_keygen(&ca->key, rng) < 0 || cert_keygen(&ca->leaf_key, rng) < 0)
		return -EIO;
	keyid(ca->keyid, &ca->key);
	derw_init(&w, ca->dn, sizeof ca->dn);
	n = put_name(&w, cn, cn_len);
	if (n < 0)
		return (int)n;
	memmove(ca->dn, derw_data(&w), (size_t)n);
	ca->dn_len = (size_t)n;
	serial_new(serial, rng);

	derw_init(&w, ca->der, sizeof ca->der);
	m = derw_mark(&w);
	e = derw_mark(&w);
	/* subjectKeyIdentifier */
	derw_octets(&w, ca->keyid, sizeof ca->keyid);
	put_ext(&w, e, OID_SKI, sizeof OID_SKI, false);
	ext_key_usage(&w, KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	/* basicConstraints { cA TRUE, pathLenConstraint 0 }, critical */
	e = derw_mark(&w);
	{
		size_t s = derw_mark(&w);
		derw_uint(&w, 0);
		derw_bool(&w, true);
		derw_wrap(&w, DER_SEQUENCE, s);
	}
	put_ext(&w, e, OID_BASIC, sizeof OID_BASIC, true);
	derw_wrap(&w, DER_SEQUENCE, m);
	put_tbs(&w, m, serial, ca->dn, ca->dn_len, &v, cn, cn_len, ca->key.pub);
	n = finish(&w, ca->der, sizeof ca->der, &ca->key);
	if (n < 0)
		return (int)n;
	ca->der_len = (size_t)n;
	return 0;
}

long cert_leaf(const struct cert_ca *ca, br_hmac_drbg_context *rng, const char *name, size_t len,
	       const struct cert_validity *v, uint8_t *out, size_t cap)
{
	uint8_t serial[SERIAL_LEN];
	bool has_cn = len <= CERT_CN_MAX;
	struct derw w;
	size_t m, e;

	if (len > CERT_NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 0 || !name_chars_ok(name, len, ".-_") || !validity_ok(v))
		return -EINVAL;
	serial_new(serial, rng);

	derw_init(&w, out, cap);
	m = derw_mark(&w);
	/* authorityKeyIdentifier { [0] keyIdentifier } */
	e = derw_mark(&w);
	derw_prim(&w, DER_CTX(0), ca->keyid, sizeof ca->keyid);
	derw_wrap(&w, DER_SEQUENCE, e);
	put_ext(&w, e, OID_AKI, sizeof OID_AKI, false);
	/* basicConstraints {} (cA DEFAULT FALSE) */
	e = derw_mark(&w);
	derw_wrap(&w, DER_SEQUENCE, e);
	put_ext(&w, e, OID_BASIC, sizeof OID_BASIC, false);
	/* extendedKeyUsage { serverAuth } */
	e = derw_mark(&w);
	derw_oid(&w, OID_SERVER_AUTH, sizeof OID_SERVER_AUTH);
	derw_wrap(&w, DER_SEQUENCE, e);
	put_ext(&w, e, OID_EKU, sizeof OID_EKU, false);
	ext_key_usage(&w, KU_DIGITAL_SIGNATURE);
	/* subjectAltName { [2] dNSName }: critical when the subject is empty */
	e = derw_mark(&w);
	derw_string(&w, DER_CTX(2), name, len);
	derw_wrap(&w, DER_SEQUENCE, e);
	put_ext(&w, e, OID_SAN, sizeof OID_SAN, !has_cn);
	derw_wrap(&w, DER_SEQUENCE, m);
	put_tbs(&w, m, serial, ca->dn, ca->dn_len, v, name, has_cn ? len : 0, ca->leaf_key.pub);
	return finish(&w, out, cap, &ca->key);
}

long cert_self(const struct cert_key *k, br_hmac_drbg_context *rng, const char *name, size_t len,
	       const struct cert_validity *v, uint8_t *out, size_t cap)
{
	struct cert_ca self;
	struct derw w;
	long n;

	if (len == 0 || len > CERT_CN_MAX || !name_chars_ok(name, len, ".-_"))
		return -EINVAL;
	/* a leaf whose issuer is itself: the key signs its own certificate,
	 * and its authorityKeyIdentifier is its own key id */
	memset(&self, 0, sizeof self);
	self.key = *k;
	self.leaf_key = *k;
	keyid(self.keyid, k);
	derw_init(&w, self.dn, sizeof self.dn);
	n = put_name(&w, name, len);
	if (n < 0)
		return n;
	memmove(self.dn, derw_data(&w), (size_t)n);
	self.dn_len = (size_t)n;
	n = cert_leaf(&self, rng, name, len, v, out, cap);
	memset(&self.key, 0, sizeof self.key);
	memset(&self.leaf_key, 0, sizeof self.leaf_key);
	return n;
}

long cert_pem(char *out, size_t cap, const uint8_t *der, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end[] = "-----END CERTIFICATE-----\n";
	size_t need = CERT_PEM_LEN(len), o;

	if (need >= cap)
		return -ENOSPC;
	memcpy(out, begin, sizeof begin - 1);
	o = sizeof begin - 1;
	for (size_t i = 0; i < len; i += 48) {
		size_t n = len - i < 48 ? len - i : 48;
		o += base64_encode(out + o, der + i, n);
		out[o++] = '\n';
	}
	memcpy(out + o, end, sizeof end);   /* and the NUL */
	return (long)(o + sizeof end - 1);
}
