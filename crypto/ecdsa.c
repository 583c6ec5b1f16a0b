/* crypto/ecdsa.c: ECDSA P-256 verification (ecdsa.h), BearSSL. */
#include "crypto/ecdsa.h"

#include <bearssl.h>

static void sha256(uint8_t out[32], const void *msg, size_t len)
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, msg, len);
	br_sha256_out(&h, out);
}

bool ecdsa_p256_verify_raw(const uint8_t pub[65], const void *msg, size_t len,
			   const uint8_t sig[64])
{
	uint8_t digest[32];
	br_ec_public_key pk = {
		.curve = BR_EC_secp256r1, .q = (unsigned char *)pub, .qlen = 65,
	};

	sha256(digest, msg, len);
	return br_ecdsa_i31_vrfy_raw(br_ec_get_default(), digest, sizeof(digest),
				     &pk, sig, 64) == 1;
}

bool ecdsa_p256_verify_asn1(const uint8_t pub[65], const void *msg, size_t len,
			    const uint8_t *sig, size_t sig_len)
{
	uint8_t digest[32];
	br_ec_public_key pk = {
		.curve = BR_EC_secp256r1, .q = (unsigned char *)pub, .qlen = 65,
	};

	sha256(digest, msg, len);
	return br_ecdsa_i31_vrfy_asn1(br_ec_get_default(), digest, sizeof(digest),
				      &pk, sig, sig_len) == 1;
}
