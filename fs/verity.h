/* fs/verity.h: open one runtime layer of the layer disk as a dm-verity
 * device (docs/LAYERS.md).
 *
 * dm-verity counts data blocks from the start of its data device, and a
 * layer starts somewhere inside the disk, so a layer is two devices:
 *   NAME-data  linear   the layer's data range of the disk
 *   NAME       verity   1 <NAME-data> <disk> 4096 4096 <data_blocks>
 *                       <hash_offset/4096> sha256 <root> <salt>
 * The hash tree is read straight from the disk at its offset. Both tables
 * are read-only. dm-verity checks every block it returns against the root
 * hash (a mismatch is EIO, the default mode: no restart, no panic); it
 * does not look at anything when the table is loaded, so the caller reads
 * a block to learn whether the root hash is the right one.
 *
 * Error convention: 0 or a negative errno, reason in err (ERRBUF_LEN).
 */
#ifndef DSHIELD_FS_VERITY_H
#define DSHIELD_FS_VERITY_H

#include "fs/dm.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VERITY_PARAMS_MAX 512	/* the target line (salt up to 32 bytes) */

struct verity_layer {
	dev_t disk;		/* the layer disk (whole device) */
	uint64_t data_offset;	/* bytes, a multiple of 4096 */
	uint64_t data_blocks;	/* 4096-byte blocks */
	uint64_t hash_offset;	/* bytes, a multiple of 4096 */
	uint8_t root[32];
	uint8_t salt[32];
	size_t salt_len;	/* 0..32 */
};

/* The verity target's parameter line (format version 1, SHA-256, 4096-byte
 * data and hash blocks, no optional arguments). Returns its length or a
 * negative errno (-EINVAL: unaligned offset or no blocks, -ENOSPC). */
int verity_params(char *out, size_t cap, dev_t data, dev_t hash, uint64_t data_blocks,
		  uint64_t hash_offset, const uint8_t root[32], const uint8_t *salt,
		  size_t salt_len);

/* The linear target's line for the layer's data range of the disk. */
int verity_linear_params(char *out, size_t cap, dev_t disk, uint64_t data_offset);

/* Creates NAME-data and NAME (see above) and returns the verity device's
 * number. On failure nothing is left behind. name: at most 100 bytes. */
int verity_open(struct dm_ctl *c, const char *name, const struct verity_layer *l,
		dev_t *dev, char *err, size_t errlen);

/* Removes NAME and NAME-data (the first error is returned, both tried). */
int verity_close(struct dm_ctl *c, const char *name, char *err, size_t errlen);

#endif
