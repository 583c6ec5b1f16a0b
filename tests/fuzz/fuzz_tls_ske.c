/* tests/fuzz/fuzz_tls_ske.c: libFuzzer target for tls/ske, keyd's reading
 * of netd's TLS signature requests (IMSG_TLS_SIGN_REQ).
 *
 * The input is the request's bytes (shorter ones zero-padded, longer ones
 * cut, as keyd only ever reads the fixed struct). Whatever tls_ske_check
 * accepts must hash (tls_ske_hash) to the length of the hash it names,
 * and must be a structure keyd may sign: version 1, a named curve with a
 * point of exactly its length, a server random in BearSSL's form. What it
 * refuses must not hash. */
#include "tls/ske.h"

#include <bearssl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_sign_req_msg q;
	uint8_t hv[64];
	long n;

	memset(&q, 0, sizeof q);
	memcpy(&q, data, size < sizeof q ? size : sizeof q);
	n = tls_ske_hash(&q, hv);
	if (tls_ske_check(&q) != 0) {
		if (n >= 0)
			abort();
		return 0;
	}
	if (n != (q.hash_id == br_sha256_ID ? 32 : q.hash_id == br_sha384_ID ? 48 :
		  q.hash_id == br_sha512_ID ? 64 : -1))
		abort();
	if (q.version != 1 || q.server_random[0] || q.server_random[1] || q.server_random[2] ||
	    q.server_random[3])
		abort();
	if (!((q.curve == BR_EC_secp256r1 && q.point_len == 65) ||
	      (q.curve == BR_EC_secp384r1 && q.point_len == 97) ||
	      (q.curve == BR_EC_secp521r1 && q.point_len == 133) ||
	      (q.curve == BR_EC_curve25519 && q.point_len == 32)))
		abort();
	return 0;
}
