/* tests/fuzz/fuzz_logstore.c: the log store's data file is on a disk the
 * host controls. Whatever it holds, opening it either fails with a reason
 * or yields a store whose root, tiles and bundles are served within
 * bounds, and appending and syncing after it works (with zeros ahead). */
#include "logd/store.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96];
static struct logstore S;

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[TLOG_TILE_FULL_LEN + 65536 * 2];
	char err[ERRBUF_LEN];
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t idx;
	int fd;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/fuzz_logstore.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof path, "%s/data", dir);
		atexit(cleanup);
	}
	/* Most inputs get the real header, so the fuzzer reaches the records. */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size > 0 && (data[0] & 1)) {
		if (write(fd, "DSLOGv1\n", 8) != 8)
			abort();
		data++;
		size--;
	}
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (logstore_open(&S, dir, err) < 0)
		return 0;
	S.prealloc = 4096;  /* the zeros ahead, kept small: a run per input */
	uint64_t n = logstore_committed(&S);
	if (logstore_root(&S, n, root) < 0)
		abort();
	for (uint64_t t = 0; t * 256 < n && t < 4; t++) {
		unsigned w = n - t * 256 >= 256 ? 256 : (unsigned)(n - t * 256);
		if (logstore_tile(&S, 0, t, w, buf, sizeof buf) != (long)(32 * w))
			abort();
		if (logstore_bundle(&S, t, w, buf, sizeof buf) < 0)
			abort();
	}
	if (logstore_append(&S, "x", 1, &idx) < 0 || idx != n || logstore_sync(&S) < 0 ||
	    logstore_committed(&S) != n + 1)
		abort();
	logstore_close(&S);
	return 0;
}
