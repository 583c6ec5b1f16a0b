/* crypto/tlog_tiles.h: the C2SP tlog-tiles layout of the egress log's
 * Merkle tree (docs/LOG.md).
 *
 * A tile at level L, index N holds up to 256 consecutive hashes of the
 * tree at height 8L: hash i is MTH of leaves
 * [(N*256 + i) * 256^L, (N*256 + i + 1) * 256^L). A full tile has 256
 * (8192 bytes); the rightmost tile of a level may be partial (width
 * 1..255). Paths, relative to the log's prefix:
 *
 *   tile/<L>/<N>[.p/<W>]       L in 0..63, W in 1..255, no leading zeros
 *   tile/entries/<N>[.p/<W>]   the entry bundle matching level-0 tile N
 *
 * N is written in 3-digit groups, all but the last prefixed with 'x':
 * 1234067 is x001/x234/067, 5 is 005. An entry bundle is the entries in
 * order, each as a big-endian uint16 length and the bytes.
 */
#ifndef DSHIELD_CRYPTO_TLOG_TILES_H
#define DSHIELD_CRYPTO_TLOG_TILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/merkle.h"
#include "lib/bbuf.h"

#define TLOG_TILE_HEIGHT    8
#define TLOG_TILE_WIDTH     256
#define TLOG_TILE_MAX_LEVEL 63
#define TLOG_TILE_FULL_LEN  (TLOG_TILE_WIDTH * MERKLE_HASH_LEN)
/* The longest path tlog_tile_path() writes, NUL included:
 * "tile/entries/" + 7 groups of 3 digits + 6 '/' and 'x' pairs + ".p/255". */
#define TLOG_TILE_PATH_MAX  64
/* The longest entry a bundle can carry. */
#define TLOG_ENTRY_MAX      65535

struct tlog_tile {
	bool entries;          /* an entry bundle (level is then 0) */
	uint8_t level;         /* 0..63 */
	uint64_t index;
	uint16_t width;        /* 1..256; 256 is a full tile (no .p/ suffix) */
};

/* Writes t's path (NUL terminated). Returns its length, -EINVAL for a
 * tile outside the ranges above, -ENOSPC when cap is too small. */
long tlog_tile_path(char *out, size_t cap, const struct tlog_tile *t);
/* Parses path[0..len) (no prefix, no query) strictly: only the one
 * spelling tlog_tile_path() writes is accepted. 0 or -EINVAL. */
int tlog_tile_parse(const char *path, size_t len, struct tlog_tile *t);

/* The tiles of level `level` for a tree of `size` leaves: *full full
 * tiles (indices 0..*full-1), then returns the width of the partial tile
 * at index *full, or 0 when there is none. Entry bundles follow level 0. */
unsigned tlog_tiles_at_level(uint64_t size, unsigned level, uint64_t *full);
/* The highest level with any tile for size, or -1 for an empty tree. */
int tlog_tiles_top_level(uint64_t size);
/* 0 when t exists for a tree of size: a full tile inside it, or exactly
 * its partial tile at that level. -ENOENT otherwise (a log serves older
 * partial tiles only for sizes it has signed: the caller asks for those). */
int tlog_tile_check(const struct tlog_tile *t, uint64_t size);

/* Where the tree node (level, index) lives: the tile t (width = the
 * smallest that holds the node) and the node's hashes in it, *count
 * hashes from *first (count = 2^(level % 8)). Levels up to 63. */
void tlog_tile_for_node(unsigned level, uint64_t index, struct tlog_tile *t, unsigned *first,
			unsigned *count);
/* The hash of node (level, index) from the data of the tile that holds it
 * (tile_len bytes, tlog_tile_for_node()'s tile or a wider one). 0, or
 * -EINVAL when the tile is too short or not whole hashes. */
int tlog_tile_node_hash(const uint8_t *tile, size_t tile_len, unsigned level, uint64_t index,
			uint8_t out[MERKLE_HASH_LEN]);
/* MTH of one full tile's 256 hashes (TLOG_TILE_FULL_LEN bytes): that
 * tile's hash in the level above. */
void tlog_tile_root(const uint8_t *tile, uint8_t out[MERKLE_HASH_LEN]);
/* The contents of tile t (not an entry bundle) computed from the leaf
 * hashes of D[0:nleaves], into out (t->width hashes). 0, or -EINVAL when
 * the tile needs leaves beyond nleaves. For tests, the verifier and small
 * logs; the log builds level L+1 from level L with tlog_tile_root(). */
int tlog_tile_from_leaves(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t nleaves,
			  const struct tlog_tile *t, uint8_t (*out)[MERKLE_HASH_LEN]);

/* Appends one entry (uint16 length, bytes) to a bundle being built.
 * -EMSGSIZE above TLOG_ENTRY_MAX; a full buffer shows at bbuf_finish(). */
int tlog_bundle_append(struct bbuf *b, const void *entry, size_t len);

struct tlog_bundle_iter {
	const uint8_t *p, *end;
};
void tlog_bundle_iter_init(struct tlog_bundle_iter *it, const void *bundle, size_t len);
/* The next entry: 1 (entry, len set), 0 at the end, -EBADMSG when the
 * bytes left are not a whole entry. */
int tlog_bundle_next(struct tlog_bundle_iter *it, const uint8_t **entry, size_t *len);
/* Checks a whole bundle against its level-0 tile: exactly width entries,
 * no trailing bytes, entry i's leaf hash = tile hash i. 0 or -EBADMSG. */
int tlog_bundle_verify(const void *bundle, size_t len, const uint8_t *tile0, unsigned width);

#endif
