/* tls/ske.h: the one message the API's TLS key signs.
 *
 * In a TLS 1.2 ECDHE_ECDSA handshake the server signs (RFC 8422 §5.4)
 *
 *   client_random(32) ‖ server_random(32) ‖ ServerECDHParams
 *   ServerECDHParams = 03 (named_curve) ‖ curve(2) ‖ len(1) ‖ point
 *
 * netd's engine sends keyd these parameters (struct tls_ske, carried by
 * IMSG_TLS_SIGN_REQ in proto/netd_keyd.h), never a hash: keyd checks them
 * (tls_ske_check), writes the bytes above itself and hashes them
 * (tls_ske_hash). So the key signs nothing but such a structure, whose
 * point is a valid point of a named curve (docs/TLS.md, "What keyd
 * signs, and why that is safe"). The engine hashes its own parameters
 * the same way and compares with the hash BearSSL asked to sign, so what
 * keyd signs is exactly what goes on the wire.
 */
#ifndef DSHIELD_TLS_SKE_H
#define DSHIELD_TLS_SKE_H

#include <stddef.h>
#include <stdint.h>

#define TLS_SKE_POINT_MAX 133    /* a P-521 point, uncompressed */
#define TLS_SKE_SIG_MAX   72     /* an ECDSA P-256 signature, ASN.1 DER */

struct tls_ske {
	uint8_t hash_id;             /* BearSSL's: br_sha256_ID (4), 384 (5), 512 (6) */
	uint8_t point_len;
	uint16_t curve;              /* TLS NamedCurve = BearSSL's curve id */
	uint8_t client_random[32];
	uint8_t server_random[32];
	uint8_t point[TLS_SKE_POINT_MAX];
};

/* 0 when p is a ServerKeyExchange keyd may sign: SHA-256/384/512; curve
 * secp256r1, secp384r1, secp521r1 or x25519 with a point of exactly its
 * length (a NIST point uncompressed and on its curve); a server random
 * whose first 4 bytes are zero (BearSSL's form). Else -EBADMSG. */
int tls_ske_check(const struct tls_ske *p);

/* The hash of the signed bytes with p's hash into out (64 bytes of room);
 * returns its length, or -EBADMSG (tls_ske_check refuses p). */
long tls_ske_hash(const struct tls_ske *p, uint8_t out[64]);

/* Signs p with the P-256 private scalar priv (ECDSA, ASN.1 DER into sig,
 * TLS_SKE_SIG_MAX bytes of room): what keyd does for the API's key and
 * `dshield kms` for its TLS key. The signature's length, or -EBADMSG
 * (tls_ske_check refuses p), -EIO. */
long tls_ske_sign_p256(const uint8_t priv[32], const struct tls_ske *p,
		       uint8_t sig[TLS_SKE_SIG_MAX]);

#endif
