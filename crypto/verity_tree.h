/* crypto/verity_tree.h: the dm-verity hash tree of a data area: built by
 * the image tools (mklayers, mkverity), its size planned by init too.
 *
 * Format version 1 without a superblock, as the kernel's dm-verity target
 * reads it (Documentation/admin-guide/device-mapper/verity.rst):
 *   - data and hash blocks of 4096 bytes, SHA-256, 128 digests per hash
 *     block (the rest of a hash block is zeros);
 *   - each digest is SHA-256(salt || block) (version 1: salt first);
 *   - level 0 holds the digests of the data blocks, level i+1 those of the
 *     blocks of level i, up to a level of one block; the levels are stored
 *     top first, so the hash area starts with the single top block;
 *   - the root hash is SHA-256(salt || top block); with a single data block
 *     there are no hash blocks and the root is the digest of that block.
 *
 * Error convention: 0 or a negative errno.
 */
#ifndef DSHIELD_IMAGE_VERITY_TREE_H
#define DSHIELD_IMAGE_VERITY_TREE_H

#include <stddef.h>
#include <stdint.h>

#define VERITY_BLOCK      4096u
#define VERITY_DIGEST     32u
#define VERITY_PER_BLOCK  (VERITY_BLOCK / VERITY_DIGEST)
#define VERITY_MAX_LEVELS 10u
#define VERITY_SALT_MAX   256u	/* the kernel's limit */

struct verity_plan {
	uint64_t data_blocks;
	unsigned levels;
	/* level i (0 = the digests of data blocks): its first block in the
	 * hash area and its block count */
	uint64_t level_start[VERITY_MAX_LEVELS];
	uint64_t level_blocks[VERITY_MAX_LEVELS];
	uint64_t hash_blocks;	/* size of the hash area in blocks */
};

/* Levels and sizes for data_blocks blocks (at least 1). */
int verity_plan(uint64_t data_blocks, struct verity_plan *p);

/* Hashes data[0 .. p->data_blocks * 4096) into hash[0 .. p->hash_blocks *
 * 4096) (overwritten in full) and writes the root hash. */
int verity_build(const struct verity_plan *p, const uint8_t *data,
		 const uint8_t *salt, size_t salt_len, uint8_t *hash,
		 uint8_t root[VERITY_DIGEST]);

#endif
