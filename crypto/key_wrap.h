/* crypto/key_wrap.h: a disk key encrypted to a requester's ephemeral P-256
 * key by the KMS (docs/KMS.md, "Key wrapping"). Pure: no I/O, no
 * randomness (the KMS's ephemeral scalar is the caller's), BearSSL only.
 *
 * Suite 1: P-256 ECDH, HKDF-SHA256, AES-256-GCM. Names:
 *   R  the requester's ephemeral public key (65 bytes, 0x04 || X || Y)
 *   E  the KMS's ephemeral public key, made for this one reply
 *   S  the KMS's static public key (pinned in the guest's policy)
 *   N  the request nonce (32 bytes)
 *   X  a 32-byte context digest the reply also vouches for (the KMS puts
 *      SHA-256 of the freshness record it returns there)
 *
 *   hdr  = "DSKW" || version 0x01 || suite 0x01               (6 bytes)
 *   ikm  = x(e·R) || x(s·R)     (= x(r·E) || x(r·S) on the requester's side)
 *   prk  = HKDF-Extract(salt = "dshield-key-wrap-v1", ikm)
 *   okm  = HKDF-Expand(prk, info = "dshield-key-wrap-v1 key+iv" || hdr ||
 *                      R || E || S || N || X, 44)
 *   key  = okm[0..32), iv = okm[32..44)
 *   C||T = AES-256-GCM(key, iv, aad = hdr || R || E || S || N || X, disk key)
 *   blob = hdr || E || C (64) || T (16)                        (151 bytes)
 *
 * The static term x(s·R) is what makes the blob the KMS's: whoever lacks
 * s (a host posing as the KMS) cannot make a blob that opens with S, so
 * a guest never accepts a disk key, or the freshness record behind X,
 * from anyone but the KMS its policy names. E is fresh per reply, so key
 * and iv never repeat.
 */
#ifndef DSHIELD_CRYPTO_KEY_WRAP_H
#define DSHIELD_CRYPTO_KEY_WRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KW_MAGIC      "DSKW"
#define KW_VERSION    1
#define KW_SUITE      1        /* P-256, HKDF-SHA256, AES-256-GCM */
#define KW_HDR_LEN    6
#define KW_PUB_LEN    65       /* uncompressed P-256 point */
#define KW_PRIV_LEN   32
#define KW_KEY_LEN    64       /* the disk key: aes-xts-plain64, 512 bits */
#define KW_NONCE_LEN  32
#define KW_CTX_LEN    32
#define KW_TAG_LEN    16
#define KW_BLOB_LEN   (KW_HDR_LEN + KW_PUB_LEN + KW_KEY_LEN + KW_TAG_LEN)
#define KW_SALT       "dshield-key-wrap-v1"
#define KW_INFO       "dshield-key-wrap-v1 key+iv"

/* A decoded blob: the fields, not yet authenticated. */
struct kw_blob {
	uint8_t version;
	uint8_t suite;
	uint8_t eph_pub[KW_PUB_LEN];
	uint8_t ct[KW_KEY_LEN];
	uint8_t tag[KW_TAG_LEN];
};

/* What both sides bind: R, S, N and X (E is the blob's). */
struct kw_binding {
	const uint8_t *req_pub;   /* R, KW_PUB_LEN */
	const uint8_t *kms_pub;   /* S, KW_PUB_LEN */
	const uint8_t *nonce;     /* N, KW_NONCE_LEN */
	const uint8_t *ctx;       /* X, KW_CTX_LEN */
};

/* The public key of a P-256 scalar into pub. 0, or -EINVAL (not a valid
 * scalar). */
int key_wrap_pub(uint8_t pub[KW_PUB_LEN], const uint8_t priv[KW_PRIV_LEN]);

/* Is pub an uncompressed point of P-256 (not the point at infinity)? */
bool key_wrap_point_ok(const uint8_t pub[KW_PUB_LEN]);

/* Writes the blob's bytes. Always KW_BLOB_LEN. */
size_t key_wrap_encode(uint8_t out[KW_BLOB_LEN], const struct kw_blob *b);
/* Parses exactly KW_BLOB_LEN bytes: magic, version and suite known, E an
 * uncompressed point. 0 or -EINVAL (-EPROTONOSUPPORT: another version or
 * suite) with a reason in err. */
int key_wrap_decode(struct kw_blob *b, const uint8_t *in, size_t len, char *err, size_t errlen);

/* KMS side: wraps key with the ephemeral scalar eph_priv and the static
 * scalar kms_priv (whose public key must be bind->kms_pub). Returns
 * KW_BLOB_LEN, or -EINVAL (a scalar or R that is not a valid P-256
 * value, or kms_priv not matching S). */
long key_wrap_seal(uint8_t out[KW_BLOB_LEN], const uint8_t key[KW_KEY_LEN],
		   const struct kw_binding *bind, const uint8_t eph_priv[KW_PRIV_LEN],
		   const uint8_t kms_priv[KW_PRIV_LEN]);

/* Requester side: opens a blob with its ephemeral scalar req_priv (whose
 * public key must be bind->req_pub). Returns 0 with the disk key in key,
 * -EINVAL / -EPROTONOSUPPORT (malformed blob or keys) or -EBADMSG (the
 * tag does not verify: tampered, another KMS, another request); key is
 * zeroed on every failure. */
int key_wrap_open(uint8_t key[KW_KEY_LEN], const uint8_t *blob, size_t len,
		  const struct kw_binding *bind, const uint8_t req_priv[KW_PRIV_LEN],
		  char *err, size_t errlen);

/* The context digest a KMS key reply binds into the wrapped key
 * (docs/KMS.md): SHA-256(the freshness note's bytes), of nothing when
 * there is none. Shared by `dshield kms` and the guest that opens it. */
void kms_reply_ctx(uint8_t ctx[KW_CTX_LEN], const char *record, size_t len);

#endif
