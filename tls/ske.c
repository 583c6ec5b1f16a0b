/* tls/ske.c: see ske.h. */
#include "tls/ske.h"

#include <bearssl.h>
#include <errno.h>
#include <string.h>

/* The point length of each curve keyd signs for; 0: refused. */
static size_t point_len(unsigned curve)
{
	switch (curve) {
	case BR_EC_secp256r1: return 65;
	case BR_EC_secp384r1: return 97;
	case BR_EC_secp521r1: return 133;
	case BR_EC_curve25519: return 32;
	default: return 0;
	}
}

static const br_hash_class *hash_of(unsigned id)
{
	switch (id) {
	case br_sha256_ID: return &br_sha256_vtable;
	case br_sha384_ID: return &br_sha384_vtable;
	case br_sha512_ID: return &br_sha512_vtable;
	default: return NULL;
	}
}

/* A NIST point must decode (uncompressed, on the curve): multiplying it
 * by one does that check. Every 32 bytes are an X25519 point. */
static int point_ok(unsigned curve, const uint8_t *p, size_t n)
{
	static const uint8_t one = 1;
	uint8_t tmp[TLS_SKE_POINT_MAX];

	if (curve == BR_EC_curve25519)
		return 1;
	if (p[0] != 0x04)
		return 0;
	memcpy(tmp, p, n);
	return br_ec_get_default()->mul(tmp, n, &one, 1, (int)curve) == 1;
}

int tls_ske_check(const struct tls_ske *q)
{
	static const uint8_t zero4[4];
	size_t n = point_len(q->curve);

	if (hash_of(q->hash_id) == NULL || n == 0 || q->point_len != n ||
	    memcmp(q->server_random, zero4, sizeof zero4) != 0 || !point_ok(q->curve, q->point, n))
		return -EBADMSG;
	return 0;
}

long tls_ske_hash(const struct tls_ske *q, uint8_t out[64])
{
	const br_hash_class *h;
	br_hash_compat_context hc;
	uint8_t params[4];

	if (tls_ske_check(q) < 0)
		return -EBADMSG;
	h = hash_of(q->hash_id);
	params[0] = 0x03;   /* named_curve */
	params[1] = (uint8_t)(q->curve >> 8);
	params[2] = (uint8_t)q->curve;
	params[3] = q->point_len;
	h->init(&hc.vtable);
	h->update(&hc.vtable, q->client_random, 32);
	h->update(&hc.vtable, q->server_random, 32);
	h->update(&hc.vtable, params, sizeof params);
	h->update(&hc.vtable, q->point, q->point_len);
	h->out(&hc.vtable, out);
	return (long)(h->desc >> BR_HASHDESC_OUT_OFF & BR_HASHDESC_OUT_MASK);
}

long tls_ske_sign_p256(const uint8_t priv[32], const struct tls_ske *q,
		       uint8_t sig[TLS_SKE_SIG_MAX])
{
	br_ec_private_key sk = { BR_EC_secp256r1, (unsigned char *)(uintptr_t)priv, 32 };
	uint8_t hv[64];
	long hl = tls_ske_hash(q, hv);
	size_t n;

	if (hl < 0)
		return hl;
	/* tls_ske_hash accepted q: hash_of knows its hash */
	n = br_ecdsa_sign_asn1_get_default()(br_ec_get_default(), hash_of(q->hash_id), hv, &sk, sig);
	return n == 0 ? -EIO : (long)n;
}
