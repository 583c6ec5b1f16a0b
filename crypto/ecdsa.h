/* crypto/ecdsa.h: the one raw ECDSA P-256 verification every signature of
 * the TDX attestation formats uses (quote, QE report, TCB info, QE
 * identity: r ‖ s as two 32-byte big-endian integers), and its DER form
 * for X.509 CRLs. */
#ifndef DSHIELD_CRYPTO_ECDSA_H
#define DSHIELD_CRYPTO_ECDSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ECDSA P-256 over SHA-256(msg): sig is r ‖ s (64 bytes), pub the
 * uncompressed point 0x04 ‖ X ‖ Y (65 bytes). True when valid. */
bool ecdsa_p256_verify_raw(const uint8_t pub[65], const void *msg, size_t len,
			   const uint8_t sig[64]);
/* The same with a DER ECDSA-Sig-Value of sig_len bytes. */
bool ecdsa_p256_verify_asn1(const uint8_t pub[65], const void *msg, size_t len,
			    const uint8_t *sig, size_t sig_len);

#endif
