/* crypto/key_wrap.c: see key_wrap.h. */
#include "crypto/key_wrap.h"
#include "crypto/aes_gcm.h"

#include <bearssl.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lib/errbuf.h"

#define OKM_LEN (32 + 12)

static void hdr_bytes(uint8_t hdr[KW_HDR_LEN], uint8_t version, uint8_t suite)
{
	memcpy(hdr, KW_MAGIC, 4);
	hdr[4] = version;
	hdr[5] = suite;
}

/* 1 <= k < n, the order of P-256 (br_ec_compute_pub does not check it).
 * Without branches on k's bytes: it is a private key. */
static bool scalar_ok(const uint8_t k[KW_PRIV_LEN])
{
	static const uint8_t n[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	uint32_t borrow = 0, nz = 0;

	for (int i = 31; i >= 0; i--) {   /* k - n: borrows out when k < n */
		uint32_t d = (uint32_t)k[i] - n[i] - borrow;
		borrow = (d >> 31) & 1;
		nz |= k[i];
	}
	return borrow == 1 && nz != 0;
}

int key_wrap_pub(uint8_t pub[KW_PUB_LEN], const uint8_t priv[KW_PRIV_LEN])
{
	br_ec_private_key sk = { BR_EC_secp256r1, (unsigned char *)priv, KW_PRIV_LEN };
	br_ec_public_key pk;

	if (!scalar_ok(priv) ||
	    br_ec_compute_pub(br_ec_get_default(), &pk, pub, &sk) != KW_PUB_LEN)
		return -EINVAL;
	return 0;
}

/* x(priv · peer) into out. 0, or -EINVAL when peer is not a point of the
 * curve (BearSSL decodes and checks it) or priv is not a valid scalar. */
static int ecdh_x(uint8_t out[32], const uint8_t peer[KW_PUB_LEN], const uint8_t priv[KW_PRIV_LEN])
{
	const br_ec_impl *ec = br_ec_get_default();
	uint8_t pt[KW_PUB_LEN];
	uint32_t ok;

	if (peer[0] != 0x04 || !scalar_ok(priv))
		return -EINVAL;
	memcpy(pt, peer, KW_PUB_LEN);
	ok = ec->mul(pt, KW_PUB_LEN, priv, KW_PRIV_LEN, BR_EC_secp256r1);
	memcpy(out, pt + 1, 32);
	memset(pt, 0, sizeof pt);
	return ok == 1 ? 0 : -EINVAL;
}

bool key_wrap_point_ok(const uint8_t pub[KW_PUB_LEN])
{
	static const uint8_t one[1] = { 1 };
	uint8_t pt[KW_PUB_LEN];

	/* BearSSL decodes and checks the point before multiplying it */
	memcpy(pt, pub, KW_PUB_LEN);
	return pub[0] == 0x04 &&
	       br_ec_get_default()->mul(pt, KW_PUB_LEN, one, 1, BR_EC_secp256r1) == 1;
}

/* The transcript both HKDF's info and GCM's AAD end with. */
static void transcript(void (*put)(void *ctx, const void *p, size_t n), void *ctx,
		       const uint8_t hdr[KW_HDR_LEN], const uint8_t *eph_pub,
		       const struct kw_binding *bind)
{
	put(ctx, hdr, KW_HDR_LEN);
	put(ctx, bind->req_pub, KW_PUB_LEN);
	put(ctx, eph_pub, KW_PUB_LEN);
	put(ctx, bind->kms_pub, KW_PUB_LEN);
	put(ctx, bind->nonce, KW_NONCE_LEN);
	put(ctx, bind->ctx, KW_CTX_LEN);
}

struct info_buf {
	uint8_t b[sizeof KW_INFO - 1 + KW_HDR_LEN + 3 * KW_PUB_LEN + KW_NONCE_LEN + KW_CTX_LEN];
	size_t n;
};

static void put_info(void *ctx, const void *p, size_t n)
{
	struct info_buf *ib = ctx;
	memcpy(ib->b + ib->n, p, n);
	ib->n += n;
}

/* okm = HKDF-SHA256(salt, dh1 || dh2, info) */
static void derive(uint8_t okm[OKM_LEN], const uint8_t dh1[32], const uint8_t dh2[32],
		   const uint8_t hdr[KW_HDR_LEN], const uint8_t *eph_pub,
		   const struct kw_binding *bind)
{
	br_hkdf_context h;
	struct info_buf ib = { .n = 0 };

	put_info(&ib, KW_INFO, sizeof KW_INFO - 1);
	transcript(put_info, &ib, hdr, eph_pub, bind);
	br_hkdf_init(&h, &br_sha256_vtable, KW_SALT, sizeof KW_SALT - 1);
	br_hkdf_inject(&h, dh1, 32);
	br_hkdf_inject(&h, dh2, 32);
	br_hkdf_flip(&h);
	br_hkdf_produce(&h, ib.b, ib.n, okm, OKM_LEN);
	memset(&h, 0, sizeof h);
}

/* AES-256-GCM over data in place, the AAD the transcript; the tag into
 * tag (encrypt) or checked against it (decrypt). Returns true when
 * encrypting or the tag matches. */
static bool gcm(bool encrypt, const uint8_t okm[OKM_LEN], const uint8_t hdr[KW_HDR_LEN],
		const uint8_t *eph_pub, const struct kw_binding *bind, uint8_t *data, size_t len,
		uint8_t tag[KW_TAG_LEN])
{
	struct info_buf aad = { .n = 0 };

	transcript(put_info, &aad, hdr, eph_pub, bind);
	return aes_gcm(encrypt, okm, 32, okm + 32, aad.b, aad.n, NULL, 0, data, len, tag);
}

size_t key_wrap_encode(uint8_t out[KW_BLOB_LEN], const struct kw_blob *b)
{
	hdr_bytes(out, b->version, b->suite);
	memcpy(out + KW_HDR_LEN, b->eph_pub, KW_PUB_LEN);
	memcpy(out + KW_HDR_LEN + KW_PUB_LEN, b->ct, KW_KEY_LEN);
	memcpy(out + KW_HDR_LEN + KW_PUB_LEN + KW_KEY_LEN, b->tag, KW_TAG_LEN);
	return KW_BLOB_LEN;
}

int key_wrap_decode(struct kw_blob *b, const uint8_t *in, size_t len, char *err, size_t errlen)
{
	if (len != KW_BLOB_LEN)
		return errbuf_set(err, errlen, -EINVAL, "wrapped key: %zu bytes, not %d", len,
				  KW_BLOB_LEN);
	if (memcmp(in, KW_MAGIC, 4) != 0)
		return errbuf_set(err, errlen, -EINVAL, "wrapped key: bad magic");
	if (in[4] != KW_VERSION || in[5] != KW_SUITE)
		return errbuf_set(err, errlen, -EPROTONOSUPPORT,
				  "wrapped key: version %u suite %u (this code knows %u/%u)",
				  in[4], in[5], KW_VERSION, KW_SUITE);
	if (in[KW_HDR_LEN] != 0x04)
		return errbuf_set(err, errlen, -EINVAL,
				  "wrapped key: the KMS key is not an uncompressed point");
	b->version = in[4];
	b->suite = in[5];
	memcpy(b->eph_pub, in + KW_HDR_LEN, KW_PUB_LEN);
	memcpy(b->ct, in + KW_HDR_LEN + KW_PUB_LEN, KW_KEY_LEN);
	memcpy(b->tag, in + KW_HDR_LEN + KW_PUB_LEN + KW_KEY_LEN, KW_TAG_LEN);
	return 0;
}

long key_wrap_seal(uint8_t out[KW_BLOB_LEN], const uint8_t key[KW_KEY_LEN],
		   const struct kw_binding *bind, const uint8_t eph_priv[KW_PRIV_LEN],
		   const uint8_t kms_priv[KW_PRIV_LEN])
{
	struct kw_blob b = { .version = KW_VERSION, .suite = KW_SUITE };
	uint8_t hdr[KW_HDR_LEN], dh[64], okm[OKM_LEN], s_pub[KW_PUB_LEN];
	int r;

	hdr_bytes(hdr, KW_VERSION, KW_SUITE);
	if (key_wrap_pub(b.eph_pub, eph_priv) < 0 || key_wrap_pub(s_pub, kms_priv) < 0 ||
	    memcmp(s_pub, bind->kms_pub, KW_PUB_LEN) != 0)
		return -EINVAL;
	r = ecdh_x(dh, bind->req_pub, eph_priv);
	if (r == 0)
		r = ecdh_x(dh + 32, bind->req_pub, kms_priv);
	if (r < 0) {
		memset(dh, 0, sizeof dh);
		return r;
	}
	derive(okm, dh, dh + 32, hdr, b.eph_pub, bind);
	memcpy(b.ct, key, KW_KEY_LEN);
	gcm(true, okm, hdr, b.eph_pub, bind, b.ct, KW_KEY_LEN, b.tag);
	memset(dh, 0, sizeof dh);
	memset(okm, 0, sizeof okm);
	return (long)key_wrap_encode(out, &b);
}

int key_wrap_open(uint8_t key[KW_KEY_LEN], const uint8_t *blob, size_t len,
		  const struct kw_binding *bind, const uint8_t req_priv[KW_PRIV_LEN],
		  char *err, size_t errlen)
{
	struct kw_blob b;
	uint8_t hdr[KW_HDR_LEN], dh[64], okm[OKM_LEN], r_pub[KW_PUB_LEN];
	bool ok;
	int r;

	memset(key, 0, KW_KEY_LEN);
	r = key_wrap_decode(&b, blob, len, err, errlen);
	if (r < 0)
		return r;
	if (key_wrap_pub(r_pub, req_priv) < 0 || memcmp(r_pub, bind->req_pub, KW_PUB_LEN) != 0)
		return errbuf_set(err, errlen, -EINVAL,
				  "wrapped key: the private key is not the request's");
	hdr_bytes(hdr, b.version, b.suite);
	if (ecdh_x(dh, b.eph_pub, req_priv) < 0 || ecdh_x(dh + 32, bind->kms_pub, req_priv) < 0) {
		memset(dh, 0, sizeof dh);
		return errbuf_set(err, errlen, -EINVAL,
				  "wrapped key: a KMS key is not a point of P-256");
	}
	derive(okm, dh, dh + 32, hdr, b.eph_pub, bind);
	memcpy(key, b.ct, KW_KEY_LEN);
	ok = gcm(false, okm, hdr, b.eph_pub, bind, key, KW_KEY_LEN, b.tag);
	memset(dh, 0, sizeof dh);
	memset(okm, 0, sizeof okm);
	if (!ok) {
		memset(key, 0, KW_KEY_LEN);
		return errbuf_set(err, errlen, -EBADMSG,
				  "wrapped key: authentication failed (tampered, another KMS key or another request)");
	}
	return 0;
}

void kms_reply_ctx(uint8_t ctx[KW_CTX_LEN], const char *record, size_t len)
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, record, len);
	br_sha256_out(&h, ctx);
}
