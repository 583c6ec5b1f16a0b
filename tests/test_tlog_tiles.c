/* tests/test_tlog_tiles.c: crypto/tlog_tiles: paths both ways (and the
 * spellings refused), the tiles a tree size has (the C2SP spec's
 * examples), tile contents and node lookups against a naive MTH, proofs
 * served from tiles, entry bundles. */
#include "crypto/tlog_tiles.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define H MERKLE_HASH_LEN
#define NLEAVES 70000

static uint8_t (*leaf)[H];

/* MTH(D[lo:hi]) by RFC 9162's recursion. */
static void mth(uint64_t lo, uint64_t hi, uint8_t out[H])
{
	uint8_t a[H], b[H];
	uint64_t k = 1;

	if (hi - lo == 1) {
		memcpy(out, leaf[lo], H);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	mth(lo, lo + k, a);
	mth(lo + k, hi, b);
	merkle_node_hash(out, a, b);
}

static void test_paths(void)
{
	static const struct {
		struct tlog_tile t;
		const char *path;
	} known[] = {
		{ { false, 0, 1234067, 256 }, "tile/0/x001/x234/067" },
		{ { false, 0, 0, 256 }, "tile/0/000" },
		{ { false, 1, 5, 17 }, "tile/1/005.p/17" },
		{ { true, 0, 5, 1 }, "tile/entries/005.p/1" },
		{ { true, 0, 1000, 256 }, "tile/entries/x001/000" },
		{ { false, 63, 999, 255 }, "tile/63/999.p/255" },
		{ { false, 2, UINT64_MAX, 256 }, "tile/2/x018/x446/x744/x073/x709/x551/615" },
	};
	static const char *bad[] = {
		"", "tile", "tile/", "tile/0", "tile/0/", "tile/0/1", "tile/0/01", "tile/0/0001",
		"tile/00/000", "tile/01/000", "tile/64/000", "tile/-1/000", "tile/+1/000",
		"tile/0/x000/001", "tile/0/001/", "tile/0/x001", "tile/0/x001/", "tile/0/x001/02",
		"tile/0/X001/000", "tile/0/x01/000", "tile/0/000.p/0", "tile/0/000.p/256",
		"tile/0/000.p/01", "tile/0/000.p/", "tile/0/000.p", "tile/0/000.p/1/", "tile/0/000.p/1x",
		"tile/0/000.q/1", "tile/0/000/", "tile/0/000?a", "tile/0//000", "tile//0/000",
		"tile/ 0/000", "tiles/0/000", "/tile/0/000", "tile/entries", "tile/entries/",
		"tile/entries/x1/000", "tile/entries/000.p/256", "tile/entries/0/000",
		"tile/0/x018/x446/x744/x073/x709/x551/616", "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
		"tile/0/0a0", "tile/0/x001/002/003", "tile/1/000.p/1\n", "TILE/0/000",
	};
	char buf[TLOG_TILE_PATH_MAX];
	struct tlog_tile t;
	int bad_rt = 0;

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		long n = tlog_tile_path(buf, sizeof buf, &known[i].t);
		if (!ok(n == (long)strlen(known[i].path) && strcmp(buf, known[i].path) == 0,
			"path of %s", known[i].path))
			diag("got %ld '%s'", n, n > 0 ? buf : "");
		ok(tlog_tile_parse(known[i].path, strlen(known[i].path), &t) == 0 &&
		   t.entries == known[i].t.entries && t.level == known[i].t.level &&
		   t.index == known[i].t.index && t.width == known[i].t.width,
		   "%s parses back", known[i].path);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char shown[64];
		snprintf(shown, sizeof shown, "%s", bad[i]);
		for (char *c = shown; *c; c++)
			*c = *c < 0x20 ? '?' : *c;     /* keep TAP on one line */
		is_int(tlog_tile_parse(bad[i], strlen(bad[i]), &t), -EINVAL, "refused: \"%s\"", shown);
	}

	/* round trips over indices around every group boundary, all levels */
	for (int e = 0; e < 2; e++)
		for (unsigned level = 0; level <= (e ? 0 : 63); level++)
			for (uint64_t p = 1; p && p <= UINT64_MAX / 10; p *= 10)
				for (int d = -1; d <= 1; d++)
					for (unsigned w = 1; w <= 256; w += 127) {
						struct tlog_tile a = { e, (uint8_t)level, p + (uint64_t)d, (uint16_t)w }, b;
						long n = tlog_tile_path(buf, sizeof buf, &a);
						if (n <= 0 || tlog_tile_parse(buf, (size_t)n, &b) != 0 ||
						    memcmp(&a, &b, sizeof a) != 0)
							bad_rt++;
					}
	is_int(bad_rt, 0, "path round trips: every level, indices 10^k - 1..10^k + 1, widths 1, 128, 255, 256");

	struct tlog_tile w0 = { false, 0, 0, 0 }, l64 = { false, 64, 0, 256 }, e1 = { true, 1, 0, 256 };
	is_int(tlog_tile_path(buf, sizeof buf, &w0), -EINVAL, "width 0 refused");
	is_int(tlog_tile_path(buf, sizeof buf, &l64), -EINVAL, "level 64 refused");
	is_int(tlog_tile_path(buf, sizeof buf, &e1), -EINVAL, "an entry bundle has no level");
	is_int(tlog_tile_path(buf, 10, &known[0].t), -ENOSPC, "short buffer: -ENOSPC");
}

static void test_sizes(void)
{
	uint64_t full;
	unsigned w;
	struct tlog_tile t;

	/* C2SP tlog-tiles: "a tree of size 70,000 will be represented by 273
	 * full level 0 tiles, one partial level 0 tile of width 112, one full
	 * level 1 tile, one partial level 1 tile of width 17, and one partial
	 * level 2 tile of width 1" */
	w = tlog_tiles_at_level(70000, 0, &full);
	ok(full == 273 && w == 112, "size 70000, level 0: 273 full, partial width 112");
	w = tlog_tiles_at_level(70000, 1, &full);
	ok(full == 1 && w == 17, "size 70000, level 1: 1 full, partial width 17");
	w = tlog_tiles_at_level(70000, 2, &full);
	ok(full == 0 && w == 1, "size 70000, level 2: partial width 1");
	is_int(tlog_tiles_top_level(70000), 2, "size 70000: top level 2");
	/* "a tree of size 256 will be represented by a full level 0 tile and
	 * a partial level 1 tile of width 1" */
	w = tlog_tiles_at_level(256, 0, &full);
	ok(full == 1 && w == 0, "size 256, level 0: one full tile, no partial");
	w = tlog_tiles_at_level(256, 1, &full);
	ok(full == 0 && w == 1, "size 256, level 1: partial width 1");
	is_int(tlog_tiles_top_level(256), 1, "size 256: top level 1");
	is_int(tlog_tiles_top_level(0), -1, "size 0: no tiles");
	is_int(tlog_tiles_top_level(MERKLE_SIZE_LIMIT - 1), 7, "size 2^63 - 1: top level 7");

	t = (struct tlog_tile){ false, 0, 272, 256 };
	is_int(tlog_tile_check(&t, 70000), 0, "size 70000 has tile/0/272");
	t.index = 273;
	is_int(tlog_tile_check(&t, 70000), -ENOENT, "size 70000 has no full tile/0/273");
	t.width = 112;
	is_int(tlog_tile_check(&t, 70000), 0, "size 70000 has tile/0/273.p/112");
	t.width = 111;
	is_int(tlog_tile_check(&t, 70000), -ENOENT, "size 70000: tile/0/273.p/111 is not its partial");
	t = (struct tlog_tile){ true, 0, 273, 112 };
	is_int(tlog_tile_check(&t, 70000), 0, "size 70000 has tile/entries/273.p/112");
	t = (struct tlog_tile){ false, 2, 0, 1 };
	is_int(tlog_tile_check(&t, 70000), 0, "size 70000 has tile/2/000.p/1");
	t = (struct tlog_tile){ false, 3, 0, 1 };
	is_int(tlog_tile_check(&t, 70000), -ENOENT, "size 70000 has no level 3");
}

static int naive_node(void *ctx, unsigned level, uint64_t index, uint8_t out[H])
{
	(void)ctx;
	mth(index << level, (index + 1) << level, out);
	return 0;
}

/* The log's view: every lookup answered from tiles alone. */
struct tiles {
	uint8_t (*level0)[H];    /* NLEAVES hashes */
	uint8_t level1[274][H];
	uint8_t level2[2][H];
	uint64_t size;
};

static int tile_node(void *ctx, unsigned level, uint64_t index, uint8_t out[H])
{
	struct tiles *ts = ctx;
	struct tlog_tile t;
	unsigned first, count;
	const uint8_t *data;

	tlog_tile_for_node(level, index, &t, &first, &count);
	if (tlog_tile_check(&t, ts->size) != 0) {
		/* the node is in a full tile or in the size's partial one */
		uint64_t full;
		unsigned pw = tlog_tiles_at_level(ts->size, t.level, &full);
		if (t.index < full)
			t.width = 256;
		else if (t.index == full && t.width <= pw)
			t.width = (uint16_t)pw;
		else
			return -ENOENT;
	}
	data = t.level == 0 ? ts->level0[t.index * 256] :
	       t.level == 1 ? ts->level1[t.index * 256] : ts->level2[0];
	return tlog_tile_node_hash(data, (size_t)t.width * H, level, index, out);
}

static void test_contents(void)
{
	static struct tiles ts;
	static uint8_t got[256][H];
	uint8_t want[H], a[H], proof[MERKLE_MAX_PROOF][H], ref[MERKLE_MAX_PROOF][H];
	struct tlog_tile t;
	int bad = 0, nodes = 0;

	ts.size = NLEAVES;
	ts.level0 = leaf;
	/* level 1 from level 0's full tiles (the log's way), level 2 from
	 * level 1's; then every tile recomputed from the leaves */
	for (unsigned i = 0; i < 273; i++)
		tlog_tile_root(leaf[i * 256], ts.level1[i]);
	tlog_tile_root(ts.level1[0], ts.level2[0]);

	for (unsigned i = 0; i < 273; i++) {
		mth((uint64_t)i * 256, (uint64_t)(i + 1) * 256, want);
		bad += memcmp(ts.level1[i], want, H) != 0;
	}
	is_int(bad, 0, "tile roots of level 0 = MTH of each 256 leaves");
	mth(0, 65536, want);
	is_mem(ts.level2[0], want, H, "tile root of level 1 tile 0 = MTH(D[0:65536])");

	t = (struct tlog_tile){ false, 1, 0, 256 };
	ok(tlog_tile_from_leaves((const uint8_t (*)[H])leaf, NLEAVES, &t, got) == 0 &&
	   memcmp(got, ts.level1, sizeof got) == 0, "tile/1/000 from the leaves = MTH of each 256");
	t = (struct tlog_tile){ false, 1, 1, 17 };
	ok(tlog_tile_from_leaves((const uint8_t (*)[H])leaf, NLEAVES, &t, got) == 0 &&
	   memcmp(got, ts.level1[256], 17 * H) == 0, "tile/1/001.p/17 from the leaves");
	t = (struct tlog_tile){ false, 2, 0, 1 };
	ok(tlog_tile_from_leaves((const uint8_t (*)[H])leaf, NLEAVES, &t, got) == 0 &&
	   memcmp(got[0], ts.level2[0], H) == 0, "tile/2/000.p/1 from the leaves");
	t = (struct tlog_tile){ false, 0, 273, 112 };
	ok(tlog_tile_from_leaves((const uint8_t (*)[H])leaf, NLEAVES, &t, got) == 0 &&
	   memcmp(got, leaf[273 * 256], 112 * H) == 0, "tile/0/273.p/112 is the leaf hashes");
	t.width = 113;
	is_int(tlog_tile_from_leaves((const uint8_t (*)[H])leaf, NLEAVES, &t, got), -EINVAL,
	       "tile/0/273.p/113 needs a leaf beyond the tree: refused");
	t = (struct tlog_tile){ false, 1, 1, 18 };
	is_int(tlog_tile_from_leaves((const uint8_t (*)[H])leaf, NLEAVES, &t, got), -EINVAL,
	       "tile/1/001.p/18 needs leaves beyond the tree: refused");

	/* every complete node of heights 0..16, read from the tiles */
	bad = 0;
	for (unsigned level = 0; level <= 16; level++) {
		uint64_t step = level < 4 ? 97 : 1;
		for (uint64_t k = 0; (k + 1) << level <= NLEAVES; k += step) {
			if (tile_node(&ts, level, k, a) != 0) {
				bad++;
				continue;
			}
			mth(k << level, (k + 1) << level, want);
			bad += memcmp(a, want, H) != 0;
			nodes++;
		}
	}
	ok(bad == 0, "%d tree nodes of heights 0..16 read from tiles = MTH (%d wrong)", nodes, bad);
	is_int(tlog_tile_node_hash(ts.level1[0], 16 * H, 13, 0, a), -EINVAL,
	       "a node wider than the tile given: refused");
	is_int(tlog_tile_node_hash(ts.level1[0], 16 * H + 1, 8, 0, a), -EINVAL,
	       "a tile of partial hashes: refused");

	/* proofs served from tiles equal proofs from the naive tree */
	bad = 0;
	static const uint64_t sizes[] = { 256, 257, 65536, 65537, 69999, 70000 };
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		/* the tiles of a smaller tree are the same hashes, fewer of them */
		ts.size = sizes[s];
		const uint64_t ms[] = { 0, 1, sizes[s] / 3, sizes[s] - 2, sizes[s] - 1 };
		for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
			uint64_t m = ms[i];
			int n = merkle_inclusion_proof(m, sizes[s], tile_node, &ts, proof);
			int r = merkle_inclusion_proof(m, sizes[s], naive_node, NULL, ref);
			bad += n < 0 || n != r || memcmp(proof, ref, (size_t)n * H) != 0;
			n = merkle_consistency_proof(m + 1, sizes[s], tile_node, &ts, proof);
			r = merkle_consistency_proof(m + 1, sizes[s], naive_node, NULL, ref);
			bad += n < 0 || n != r || memcmp(proof, ref, (size_t)n * H) != 0;
		}
		uint8_t root_t[H], root_n[H];
		bad += merkle_root(sizes[s], tile_node, &ts, root_t) != 0;
		mth(0, sizes[s], root_n);
		bad += memcmp(root_t, root_n, H) != 0;
	}
	is_int(bad, 0, "roots, inclusion and consistency proofs served from tiles = naive tree's");
}

static void test_bundles(void)
{
	static const char *ents[] = { "", "a", "dshield egress entry" };
	uint8_t buf[64], tile[3][H], big[TLOG_ENTRY_MAX + 1];
	struct tlog_bundle_iter it;
	const uint8_t *e;
	struct bbuf b;
	size_t n;
	long len;
	int bad = 0;

	bbuf_init(&b, buf, sizeof buf);
	for (int i = 0; i < 3; i++) {
		tlog_bundle_append(&b, ents[i], strlen(ents[i]));
		merkle_leaf_hash(tile[i], ents[i], strlen(ents[i]));
	}
	len = bbuf_finish(&b);
	is_int(len, 2 + 0 + 2 + 1 + 2 + 20, "bundle of 3: lengths and bytes");
	ok(buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == 1 && buf[4] == 'a' &&
	   buf[5] == 0 && buf[6] == 20, "uint16 big-endian lengths");
	tlog_bundle_iter_init(&it, buf, (size_t)len);
	for (int i = 0; i < 3; i++)
		bad += tlog_bundle_next(&it, &e, &n) != 1 || n != strlen(ents[i]) || memcmp(e, ents[i], n);
	bad += tlog_bundle_next(&it, &e, &n) != 0;
	is_int(bad, 0, "iterated back entry by entry, then the end");
	is_int(tlog_bundle_verify(buf, (size_t)len, tile[0], 3), 0, "bundle matches its level-0 tile");
	is_int(tlog_bundle_verify(buf, (size_t)len, tile[0], 2), -EBADMSG, "more entries than the width: refused");
	is_int(tlog_bundle_verify(buf, (size_t)len, tile[0], 4), -EBADMSG, "fewer entries than the width: refused");
	bad = 0;
	for (long cut = 0; cut < len; cut++)
		bad += tlog_bundle_verify(buf, (size_t)cut, tile[0], 3) != -EBADMSG;
	is_int(bad, 0, "every truncation refused");
	buf[len] = 0;
	is_int(tlog_bundle_verify(buf, (size_t)len + 1, tile[0], 3), -EBADMSG, "a trailing byte refused");
	buf[len - 1] ^= 1;
	is_int(tlog_bundle_verify(buf, (size_t)len, tile[0], 3), -EBADMSG, "a changed entry refused");

	memset(big, 'x', sizeof big);
	static uint8_t large[TLOG_ENTRY_MAX + 8];
	bbuf_init(&b, large, sizeof large);
	is_int(tlog_bundle_append(&b, big, TLOG_ENTRY_MAX + 1), -EMSGSIZE, "entry of 65536 bytes refused");
	is_int(tlog_bundle_append(&b, big, TLOG_ENTRY_MAX), 0, "entry of 65535 bytes taken");
	is_int(bbuf_finish(&b), TLOG_ENTRY_MAX + 2, "its bundle is 65537 bytes");
	bbuf_init(&b, buf, 4);
	tlog_bundle_append(&b, "abc", 3);
	ok(bbuf_finish(&b) == -ENOSPC && b.len == 0, "no room: overflow, no half entry written");
}

int main(void)
{
	leaf = malloc((size_t)NLEAVES * H);
	if (!leaf)
		return 1;
	for (uint32_t i = 0; i < NLEAVES; i++) {
		uint8_t d[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		merkle_leaf_hash(leaf[i], d, sizeof d);
	}
	test_paths();
	test_sizes();
	test_contents();
	test_bundles();
	free(leaf);
	return tap_done();
}
