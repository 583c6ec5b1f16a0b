/* tests/test_verity_tree.c: the dm-verity hash tree (crypto/verity_tree.c).
 * Known answers from veritysetup (cryptsetup 2.6.1, `veritysetup format
 * --no-superblock --salt ...`); tests/host/07-layers.t compares it with
 * veritysetup on random data too. */
#include "crypto/verity_tree.h"
#include "lib/hex.h"
#include "tests/tap.h"

#include <bearssl.h>
#include <errno.h>
#include <stdlib.h>

static void sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	br_sha256_context h;
	br_sha256_init(&h);
	br_sha256_update(&h, a, alen);
	br_sha256_update(&h, b, blen);
	br_sha256_out(&h, out);
}

static void test_plan(void)
{
	static const struct { uint64_t n; unsigned levels; uint64_t hash; } want[] = {
		{ 1, 0, 0 }, { 2, 1, 1 }, { 127, 1, 1 }, { 128, 1, 1 }, { 129, 2, 3 },
		{ 300, 2, 4 }, { 16384, 2, 129 }, { 16385, 3, 132 },
		{ 1ull << 38, 6, 2164392969ull },
	};
	struct verity_plan p;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		is_int(verity_plan(want[i].n, &p), 0, "plan for %llu blocks", (unsigned long long)want[i].n);
		is_int(p.levels, want[i].levels, "  %u levels", want[i].levels);
		is_int(p.hash_blocks, want[i].hash, "  %llu hash blocks", (unsigned long long)want[i].hash);
	}
	verity_plan(16385, &p);
	ok(p.level_start[2] == 0 && p.level_blocks[2] == 1 && p.level_start[1] == 1 &&
	   p.level_blocks[1] == 2 && p.level_start[0] == 3 && p.level_blocks[0] == 129,
	   "levels stored top first: 1 + 2 + 129 blocks");
	is_int(verity_plan(0, &p), -EINVAL, "no data blocks: refused");
}

static void test_known_answers(void)
{
	static const char kat_root[] = "2299011e6a6c446684d7ea1e40a1821fe424691cce24fb66d73a0e00c9d53642";
	static const char kat_hash_sha[] = "93172e3513306015d7a81251bb7583406e244996dcb122422c672a645daaffba";
	static const char one_root[] = "f302957da5220938a7e3e51a8718c79b9e00dc13ab2119e8cfc978f041720382";
	struct verity_plan p;
	uint8_t salt[32], root[32], sum[32];
	char hex[65];

	uint8_t *data = malloc(130 * 4096);
	uint8_t *hash = malloc(3 * 4096);
	if (!data || !hash)
		exit(2);
	for (unsigned i = 0; i < 130; i++)
		memset(data + i * 4096, (int)((i * 7 + 1) & 0xff), 4096);
	for (unsigned i = 0; i < 32; i++)
		salt[i] = (uint8_t)i;
	verity_plan(130, &p);
	is_int(verity_build(&p, data, salt, sizeof salt, hash, root), 0, "130 blocks hash");
	hex_encode(hex, root, 32);
	is_str(hex, kat_root, "root hash as veritysetup's");
	sha256(hash, 3 * 4096, "", 0, sum);
	hex_encode(hex, sum, 32);
	is_str(hex, kat_hash_sha, "hash area as veritysetup's (its SHA-256)");

	/* the rule itself: the root is the digest of the top block, whose
	 * first two digests are those of the two level-0 blocks */
	uint8_t d[32];
	sha256(salt, sizeof salt, hash, 4096, d);
	is_mem(d, root, 32, "root = SHA-256(salt || top block)");
	sha256(salt, sizeof salt, hash + 4096, 4096, d);
	is_mem(d, hash, 32, "top block holds SHA-256(salt || level-0 block 0)");
	sha256(salt, sizeof salt, data, 4096, d);
	is_mem(d, hash + 4096, 32, "level 0 holds SHA-256(salt || data block 0)");
	static const uint8_t zeros[4096 - 2 * 32];
	is_mem(hash + 2 * 32, zeros, sizeof zeros, "the rest of the top block is zeros");

	memset(data, 0x5a, 4096);
	verity_plan(1, &p);
	is_int(verity_build(&p, data, NULL, 0, hash, root), 0, "one block, no salt");
	hex_encode(hex, root, 32);
	is_str(hex, one_root, "one block: root is the block's digest, as veritysetup's");

	uint8_t big[VERITY_SALT_MAX + 1] = { 0 };
	is_int(verity_build(&p, data, big, sizeof big, hash, root), -EINVAL, "salt over 256 bytes refused");
	free(data);
	free(hash);
}

int main(void)
{
	test_plan();
	test_known_answers();
	return tap_done();
}
