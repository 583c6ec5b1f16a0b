/* crypto/merkle.h: the RFC 6962 / RFC 9162 Merkle tree over SHA-256 that
 * the egress log (docs/LOG.md) commits to.
 *
 *   leaf hash  = SHA-256(0x00 || entry)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256("")
 *
 * Everything is bounded: tree sizes are below 2^63 (MERKLE_SIZE_LIMIT), so
 * a compact range holds at most 63 hashes and a proof at most 63 hashes
 * (MERKLE_MAX_PROOF). Nothing here allocates.
 *
 * Proof generation reads the tree through a caller's callback for the
 * hashes of complete subtrees ("node (level, index)": the root of leaves
 * [index * 2^level, (index + 1) * 2^level)), so the log can serve proofs
 * from its tiles (crypto/tlog_tiles.h) without holding the tree.
 */
#ifndef DSHIELD_CRYPTO_MERKLE_H
#define DSHIELD_CRYPTO_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN   32
/* Tree sizes are < MERKLE_SIZE_LIMIT. */
#define MERKLE_SIZE_LIMIT ((uint64_t)1 << 63)
#define MERKLE_MAX_PROOF  63

/* SHA-256(0x00 || data). */
void merkle_leaf_hash(uint8_t out[MERKLE_HASH_LEN], const void *data, size_t len);
/* SHA-256(0x01 || left || right). out may alias left or right. */
void merkle_node_hash(uint8_t out[MERKLE_HASH_LEN], const uint8_t left[MERKLE_HASH_LEN],
		      const uint8_t right[MERKLE_HASH_LEN]);
/* MTH of the empty tree, SHA-256 of nothing. */
void merkle_empty_root(uint8_t out[MERKLE_HASH_LEN]);

/* The compact range [0, size): one complete subtree root per set bit of
 * size, the largest (leftmost) first. Appending is O(1) amortised and the
 * root O(log n); the items may be leaf hashes or the hashes of equal-height
 * subtrees (a tile level, crypto/tlog_tiles.h): the arithmetic is the same. */
struct merkle_range {
	uint64_t size;
	unsigned count;                               /* popcount(size) */
	uint8_t hash[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
};

void merkle_range_init(struct merkle_range *r);
/* Appends one item. 0, or -EOVERFLOW when size would reach the limit. */
int merkle_range_append(struct merkle_range *r, const uint8_t item[MERKLE_HASH_LEN]);
/* The MTH of the items so far (merkle_empty_root() for none). */
void merkle_range_root(const struct merkle_range *r, uint8_t out[MERKLE_HASH_LEN]);

/* The caller's view of a tree: writes the root of the complete subtree
 * (level, index) into out. Asked only for subtrees inside the tree size
 * the generator was given. Returns 0 or a negative errno, which the
 * generator returns as it is. */
typedef int (*merkle_node_fn)(void *ctx, unsigned level, uint64_t index,
			      uint8_t out[MERKLE_HASH_LEN]);

/* MTH(D[0:size]) through the callback (O(log size) lookups). 0 or an
 * errno: -EINVAL for size >= the limit, or the callback's. */
int merkle_root(uint64_t size, merkle_node_fn fn, void *ctx, uint8_t out[MERKLE_HASH_LEN]);

/* PATH(index, D[0:size]) (RFC 9162 2.1.3.1), bottom-up, into
 * proof[MERKLE_MAX_PROOF]. Returns the hash count, or -EINVAL (index >=
 * size, size >= the limit) or the callback's errno. */
int merkle_inclusion_proof(uint64_t index, uint64_t size, merkle_node_fn fn, void *ctx,
			   uint8_t proof[][MERKLE_HASH_LEN]);

/* PROOF(old_size, D[0:new_size]) (RFC 9162 2.1.4.1) into
 * proof[MERKLE_MAX_PROOF]; empty when old_size is 0 or new_size. Returns
 * the hash count, or -EINVAL (old_size > new_size, new_size >= the limit)
 * or the callback's errno. */
int merkle_consistency_proof(uint64_t old_size, uint64_t new_size, merkle_node_fn fn,
			     void *ctx, uint8_t proof[][MERKLE_HASH_LEN]);

/* RFC 9162 2.1.3.2: true when proof (n hashes) shows leaf_hash at index in
 * the tree of size whose root is root. The proof binds the index and the
 * root, not the size: a proof for size s may also pass for another size
 * with the same path shape and s's root, so size and root must come
 * together from one verified checkpoint (the same holds below). */
bool merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_LEN],
			     const uint8_t proof[][MERKLE_HASH_LEN], size_t n,
			     const uint8_t root[MERKLE_HASH_LEN]);

/* RFC 9162 2.1.4.2: true when proof (n hashes) shows the tree of old_size
 * with old_root is a prefix of the tree of new_size with new_root. Equal
 * sizes need an empty proof and equal roots; old_size 0 needs an empty
 * proof and old_root = MTH({}) (the only root a size-0 tree has). */
bool merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
			       const uint8_t old_root[MERKLE_HASH_LEN],
			       const uint8_t new_root[MERKLE_HASH_LEN],
			       const uint8_t proof[][MERKLE_HASH_LEN], size_t n);

#endif
