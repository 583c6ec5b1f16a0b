/* tests/fuzz/fuzz_tls_ske.c: libFuzzer target for keyd's reading of
 * netd's TLS signature requests (IMSG_TLS_SIGN_REQ): keyd/apikey.c
 * apikey_req, then tls/ske.c tls_ske_check and tls_ske_hash.
 *
 * The input is the request's bytes (shorter ones zero-padded, longer ones
 * cut, as keyd only ever reads the fixed struct). Whatever apikey_req
 * accepts must hash to the length of the hash it names and be a
 * structure keyd may sign: version 1, reserved bytes zero, a named curve
 * with a point of exactly its length, a server random in BearSSL's form.
 * What it refuses is never signed. */
#include "keyd/apikey.h"
#include "tls/ske.h"

#include <bearssl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_sign_req_msg q;
	struct tls_ske p;
	uint8_t hv[64];
	long n;

	memset(&q, 0, sizeof q);
	memcpy(&q, data, size < sizeof q ? size : sizeof q);
	if (apikey_req(&q, &p) != 0)
		return 0;
	n = tls_ske_hash(&p, hv);
	if (tls_ske_check(&p) != 0 ||
	    n != (p.hash_id == br_sha256_ID ? 32 : p.hash_id == br_sha384_ID ? 48 :
		  p.hash_id == br_sha512_ID ? 64 : -1))
		abort();
	if (q.version != 1 || q.reserved[0] || q.reserved[1] || q.reserved[2] ||
	    p.server_random[0] || p.server_random[1] || p.server_random[2] || p.server_random[3])
		abort();
	if (!((p.curve == BR_EC_secp256r1 && p.point_len == 65) ||
	      (p.curve == BR_EC_secp384r1 && p.point_len == 97) ||
	      (p.curve == BR_EC_secp521r1 && p.point_len == 133) ||
	      (p.curve == BR_EC_curve25519 && p.point_len == 32)))
		abort();
	return 0;
}
