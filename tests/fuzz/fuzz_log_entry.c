/* tests/fuzz/fuzz_log_entry.c: libFuzzer target for crypto/log_entry.
 *
 * Whatever the decoder accepts must encode back to exactly the input (one
 * encoding per entry) and render as JSON into a buffer big enough for the
 * largest entry. */
#include "crypto/log_entry.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[LOG_ENTRY_MAX];
	/* every byte escaped as \u00XX at worst, plus the names */
	static char json[6 * LOG_ENTRY_MAX + 4096];
	char err[ERRBUF_LEN];
	struct log_entry e;

	if (log_entry_decode(data, size, &e, err, sizeof err) != 0)
		return 0;
	long n = log_entry_encode(out, sizeof out, &e);
	if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
		abort();
	if (log_entry_json(&e, json, sizeof json) < 0)
		abort();
	return 0;
}
