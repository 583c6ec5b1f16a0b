/* tests/fuzz/fuzz_key_wrap.c: libFuzzer target for crypto/key_wrap's
 * decoder and opener: any input is decoded (an accepted one must encode
 * back to the same bytes) and opened with a fixed requester key; nothing
 * but the one blob made by the KMS key may open. */
#include "crypto/key_wrap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t r[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	static const uint8_t s[32] = { 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
	static uint8_t R[65], S[65], N[32], X[32];
	static int ready;
	uint8_t out[KW_BLOB_LEN], key[KW_KEY_LEN];
	char err[ERRBUF_LEN];
	struct kw_binding bind = { R, S, N, X };
	struct kw_blob b;
	int rc;

	if (!ready && (key_wrap_pub(R, r) != 0 || key_wrap_pub(S, s) != 0))
		abort();
	ready = 1;
	rc = key_wrap_decode(&b, data, size, err, sizeof err);
	if (rc == 0) {
		if (key_wrap_encode(out, &b) != KW_BLOB_LEN || size != KW_BLOB_LEN ||
		    memcmp(out, data, size) != 0)
			abort();
	} else if (rc != -EINVAL && rc != -EPROTONOSUPPORT) {
		abort();
	}
	rc = key_wrap_open(key, data, size, &bind, r, err, sizeof err);
	if (rc != 0 && rc != -EINVAL && rc != -EPROTONOSUPPORT && rc != -EBADMSG)
		abort();
	return 0;
}
