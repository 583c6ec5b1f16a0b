/* tests/fuzz/fuzz_tile.c: libFuzzer target for crypto/tlog_tiles' parsers.
 *
 * The input is tried as a tile path (anything accepted must print back to
 * the same bytes: one spelling per tile) and as an entry bundle (the
 * iterator must stay inside the input and account for every byte). */
#include "crypto/tlog_tiles.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[TLOG_TILE_PATH_MAX];
	struct tlog_tile t;
	struct tlog_bundle_iter it;
	const uint8_t *e;
	size_t n, seen = 0;
	int rc;

	if (tlog_tile_parse((const char *)data, size, &t) == 0) {
		long len = tlog_tile_path(path, sizeof path, &t);
		if (len < 0 || (size_t)len != size || memcmp(path, data, size) != 0)
			abort();
	}

	tlog_bundle_iter_init(&it, data, size);
	while ((rc = tlog_bundle_next(&it, &e, &n)) == 1) {
		if (e < data + 2 || e + n > data + size)
			abort();
		seen += 2 + n;
	}
	if (rc == 0 && seen != size)
		abort();
	if (rc != 0 && rc != -EBADMSG)
		abort();
	return 0;
}
