/* tests/fuzz/fuzz_base64.c: libFuzzer target for lib/base64.
 *
 * The input is decoded as text (bounded output, whatever it holds), and
 * encoded then decoded as bytes: the round trip must give them back, and
 * anything the decoder accepts must re-encode to the same text (one
 * spelling per byte string). */
#include "lib/base64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t dec[BASE64_DECODED_MAX(BASE64_ENCODED_LEN(FUZZ_MAX))];
	static char enc[BASE64_ENCODED_LEN(FUZZ_MAX) + 1];
	long n;

	if (size > FUZZ_MAX)
		return 0;
	/* Arbitrary text, into a buffer that is sometimes too small: the
	 * decoder must stay inside cap (ASan watches the heap copy). */
	uint8_t *small = malloc(size / 2 ? size / 2 : 1);
	if (!small)
		return 0;
	n = base64_decode(small, size / 2, (const char *)data, size);
	if (n > (long)(size / 2))
		abort();
	free(small);

	n = base64_decode(dec, sizeof dec, (const char *)data, size);
	if (n >= 0) {
		if ((size_t)n != size / 4 * 3 - (size && data[size - 1] == '=') -
				 (size > 1 && data[size - 2] == '='))
			abort();
		if (base64_encode(enc, dec, (size_t)n) != size || memcmp(enc, data, size) != 0)
			abort();
	} else if (n != -EINVAL && n != -ENOSPC) {
		abort();
	}

	size_t e = base64_encode(enc, data, size);
	if (e != BASE64_ENCODED_LEN(size) || enc[e] != '\0')
		abort();
	n = base64_decode(dec, sizeof dec, enc, e);
	if (n != (long)size || memcmp(dec, data, size) != 0)
		abort();
	return 0;
}
