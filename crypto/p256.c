/* keyd/p256.c: see p256.h. */
#include "crypto/p256.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static int fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int p256_keygen(uint8_t priv[32], br_ec_private_key *sk)
{
	br_hmac_drbg_context drbg;
	uint8_t seed[48];
	int r = fill_random(seed, sizeof seed);

	if (r < 0)
		return r;
	br_hmac_drbg_init(&drbg, &br_sha256_vtable, seed, sizeof seed);
	memset(seed, 0, sizeof seed);
	r = br_ec_keygen(&drbg.vtable, br_ec_get_default(), sk, priv, BR_EC_secp256r1) == 32 ?
	    0 : -EIO;
	memset(&drbg, 0, sizeof drbg);
	return r;
}
