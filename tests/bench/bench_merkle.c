/* tests/bench/bench_merkle.c: the egress log's Merkle tree at 10^6 leaves:
 * appends per second of the streaming root (crypto/merkle's compact
 * range), and the time to generate an inclusion and a consistency proof
 * with every lookup answered from in-memory tiles (levels 0..2, as logd
 * will serve them). Prints one JSON object:
 *   {"leaves":…, "appends_per_s":…, "inclusion_us":…, "consistency_us":…}
 * Not part of `make bench`'s default parts or of any check. */
#include "crypto/merkle.h"
#include "crypto/tlog_tiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 1000000

struct tiles {
	uint8_t (*l0)[MERKLE_HASH_LEN], (*l1)[MERKLE_HASH_LEN], (*l2)[MERKLE_HASH_LEN];
	uint64_t size;
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int node(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	struct tiles *t = ctx;
	struct tlog_tile tile;
	unsigned first, count;
	uint64_t full;

	tlog_tile_for_node(level, index, &tile, &first, &count);
	unsigned pw = tlog_tiles_at_level(t->size, tile.level, &full);
	size_t width = tile.index < full ? 256 : pw;
	uint8_t (*base)[MERKLE_HASH_LEN] = tile.level == 0 ? t->l0 : tile.level == 1 ? t->l1 : t->l2;
	return tlog_tile_node_hash(base[tile.index * 256], width * MERKLE_HASH_LEN, level, index, out);
}

int main(void)
{
	static struct merkle_range r;
	static uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	struct tiles t = { malloc((size_t)N * 32), malloc((size_t)N / 256 * 32 + 32),
			   malloc((size_t)N / 65536 * 32 + 32), N };
	uint8_t root[MERKLE_HASH_LEN], root2[MERKLE_HASH_LEN];
	double t0, t1, incl = 0, cons = 0;
	const int reps = 1000;

	if (!t.l0 || !t.l1 || !t.l2)
		return 1;
	for (uint32_t i = 0; i < N; i++)
		merkle_leaf_hash(t.l0[i], &i, sizeof i);
	merkle_range_init(&r);
	t0 = now_us();
	for (uint32_t i = 0; i < N; i++)
		merkle_range_append(&r, t.l0[i]);
	merkle_range_root(&r, root);
	t1 = now_us();
	for (size_t i = 0; i < N / 256; i++)
		tlog_tile_root(t.l0[i * 256], t.l1[i]);
	for (size_t i = 0; i < N / 65536; i++)
		tlog_tile_root(t.l1[i * 256], t.l2[i]);
	if (merkle_root(N, node, &t, root2) != 0 || memcmp(root, root2, sizeof root) != 0) {
		fprintf(stderr, "bench_merkle: roots differ\n");
		return 1;
	}
	for (int i = 0; i < reps; i++) {
		uint64_t m = (uint64_t)i * 997 % N;
		double a = now_us();
		int n = merkle_inclusion_proof(m, N, node, &t, proof);
		double b = now_us();
		if (n < 0 || !merkle_verify_inclusion(m, N, t.l0[m], (const uint8_t (*)[32])proof, (size_t)n, root))
			return 1;
		int c = merkle_consistency_proof(m + 1, N, node, &t, proof);
		double d = now_us();
		if (c < 0)
			return 1;
		incl += b - a;
		cons += d - b;
	}
	printf("{\"leaves\":%d,\"appends_per_s\":%.0f,\"inclusion_us\":%.1f,\"consistency_us\":%.1f}\n",
	       N, N / ((t1 - t0) / 1e6), incl / reps, cons / reps);
	return 0;
}
