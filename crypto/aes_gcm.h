/* crypto/aes_gcm.h: one AES-GCM pass with BearSSL, for the places that
 * seal a small value under a key of their own (the KMS's key wrapping,
 * crypto/key_wrap.c; sandboxd's sealed secrets, sandboxd/store.c). */
#ifndef DSHIELD_CRYPTO_AES_GCM_H
#define DSHIELD_CRYPTO_AES_GCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AES_GCM_NONCE_LEN 12
#define AES_GCM_TAG_LEN   16

/* AES-GCM (key_len 16, 24 or 32) over data[0..len) in place, with the
 * nonce and the AAD aad1[0..aad1_len) then aad2[0..aad2_len) (either may
 * be empty): encrypt writes the tag, decrypt checks it. AES-NI and PCLMUL
 * when the CPU has them, else BearSSL's constant-time ct64 and ctmul64.
 * The key schedule is wiped before returning. Returns true when
 * encrypting, or when the tag matches (on a mismatch data holds the
 * unauthenticated plaintext: the caller wipes it). */
bool aes_gcm(bool encrypt, const uint8_t *key, size_t key_len,
	     const uint8_t nonce[AES_GCM_NONCE_LEN], const void *aad1, size_t aad1_len,
	     const void *aad2, size_t aad2_len, void *data, size_t len,
	     uint8_t tag[AES_GCM_TAG_LEN]);

#endif
