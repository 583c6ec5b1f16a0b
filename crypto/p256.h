/* crypto/p256.h: fresh P-256 keys (keyd: the sim quoting key, the log
 * signing key): HMAC-DRBG (SHA-256) seeded with 48 bytes of getrandom. */
#ifndef DSHIELD_CRYPTO_P256_H
#define DSHIELD_CRYPTO_P256_H

#include <bearssl.h>
#include <stdint.h>

/* A new key: priv holds the scalar, *sk points at it. 0 or -errno. */
int p256_keygen(uint8_t priv[32], br_ec_private_key *sk);

#endif
