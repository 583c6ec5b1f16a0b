/* crypto/verity_tree.c: see verity_tree.h. */
#include "crypto/verity_tree.h"

#include <bearssl.h>
#include <errno.h>
#include <string.h>

int verity_plan(uint64_t data_blocks, struct verity_plan *p)
{
	unsigned levels = 0;

	memset(p, 0, sizeof *p);
	if (data_blocks == 0)
		return -EINVAL;
	/* The kernel's rule: the fewest levels whose top holds one block. */
	while (levels * 7 < 64 && ((data_blocks - 1) >> (7 * levels)) != 0)
		levels++;
	if (levels > VERITY_MAX_LEVELS)
		return -EFBIG;
	p->data_blocks = data_blocks;
	p->levels = levels;
	uint64_t pos = 0, count = data_blocks;
	uint64_t blocks[VERITY_MAX_LEVELS];
	for (unsigned i = 0; i < levels; i++) {
		count = (count + VERITY_PER_BLOCK - 1) / VERITY_PER_BLOCK;
		blocks[i] = count;
	}
	for (unsigned i = levels; i-- > 0;) {
		p->level_start[i] = pos;
		p->level_blocks[i] = blocks[i];
		pos += blocks[i];
	}
	p->hash_blocks = pos;
	return 0;
}

static void digest(const uint8_t *salt, size_t salt_len, const uint8_t *block, uint8_t out[32])
{
	br_sha256_context h;
	br_sha256_init(&h);
	br_sha256_update(&h, salt, salt_len);
	br_sha256_update(&h, block, VERITY_BLOCK);
	br_sha256_out(&h, out);
}

int verity_build(const struct verity_plan *p, const uint8_t *data,
		 const uint8_t *salt, size_t salt_len, uint8_t *hash,
		 uint8_t root[VERITY_DIGEST])
{
	if (p->data_blocks == 0 || salt_len > VERITY_SALT_MAX)
		return -EINVAL;
	memset(hash, 0, (size_t)(p->hash_blocks * VERITY_BLOCK));
	if (p->levels == 0) {
		digest(salt, salt_len, data, root);
		return 0;
	}
	/* Each level from the blocks below it: data for level 0. */
	const uint8_t *below = data;
	uint64_t nbelow = p->data_blocks;
	for (unsigned i = 0; i < p->levels; i++) {
		uint8_t *level = hash + p->level_start[i] * VERITY_BLOCK;
		for (uint64_t j = 0; j < nbelow; j++)
			digest(salt, salt_len, below + j * VERITY_BLOCK, level + j * VERITY_DIGEST);
		below = level;
		nbelow = p->level_blocks[i];
	}
	digest(salt, salt_len, hash + p->level_start[p->levels - 1] * VERITY_BLOCK, root);
	return 0;
}
