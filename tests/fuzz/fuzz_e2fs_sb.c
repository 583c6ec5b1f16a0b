/* tests/fuzz/fuzz_e2fs_sb.c: libFuzzer target for what init reads of a
 * store's ext4 superblock before repairing it (init/e2fs.h): bytes behind
 * dm-crypt, so any bytes. Beyond "no crash": a backup location is group
 * 1's first block for a block size of 1 to 64 KiB; a superblock found
 * torn is fixed in its last 4 bytes only, and the fixed one then holds. */
#include "init/e2fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sb[1024] = { 0 }, fixed[1024], again[1024];
	uint64_t block;
	uint32_t bs;

	memcpy(sb, data, size < sizeof sb ? size : sizeof sb);
	int r = e2fs_backup_sb(sb, &block, &bs);
	if (r == 0) {
		if (bs < 1024 || bs > 65536 || (bs & (bs - 1)) != 0 || block < 8 ||
		    block > 8ull * bs + 1)
			abort();
	} else if (r != -EINVAL) {
		abort();
	}
	r = e2fs_sb_torn(sb, fixed);
	if (r == 1) {
		if (memcmp(sb, fixed, 0x3fc) != 0 || memcmp(sb + 0x3fc, fixed + 0x3fc, 4) == 0 ||
		    e2fs_sb_torn(fixed, again) != 0)
			abort();
	} else if (r != 0 && r != -EINVAL) {
		abort();
	}
	return 0;
}
