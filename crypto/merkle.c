/* crypto/merkle.c: see merkle.h. The algorithms are RFC 9162's, section
 * 2.1: MTH, PATH and PROOF walked top-down without recursion, and the two
 * verification procedures step by step. */
#include "crypto/merkle.h"

#include <bearssl.h>
#include <errno.h>
#include <string.h>

void merkle_leaf_hash(uint8_t out[MERKLE_HASH_LEN], const void *data, size_t len)
{
	static const uint8_t prefix = 0x00;
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, &prefix, 1);
	br_sha256_update(&h, data, len);
	br_sha256_out(&h, out);
}

void merkle_node_hash(uint8_t out[MERKLE_HASH_LEN], const uint8_t left[MERKLE_HASH_LEN],
		      const uint8_t right[MERKLE_HASH_LEN])
{
	static const uint8_t prefix = 0x01;
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, &prefix, 1);
	br_sha256_update(&h, left, MERKLE_HASH_LEN);
	br_sha256_update(&h, right, MERKLE_HASH_LEN);
	br_sha256_out(&h, out);
}

void merkle_empty_root(uint8_t out[MERKLE_HASH_LEN])
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_out(&h, out);
}

void merkle_range_init(struct merkle_range *r)
{
	r->size = 0;
	r->count = 0;
}

int merkle_range_append(struct merkle_range *r, const uint8_t item[MERKLE_HASH_LEN])
{
	uint64_t s = r->size;

	if (s + 1 >= MERKLE_SIZE_LIMIT)
		return -EOVERFLOW;
	memcpy(r->hash[r->count], item, MERKLE_HASH_LEN);
	r->count++;
	/* Each trailing one bit of the old size is a subtree of the new
	 * item's height that now has its right sibling: merge them. */
	for (; s & 1; s >>= 1) {
		merkle_node_hash(r->hash[r->count - 2], r->hash[r->count - 2],
				 r->hash[r->count - 1]);
		r->count--;
	}
	r->size++;
	return 0;
}

void merkle_range_root(const struct merkle_range *r, uint8_t out[MERKLE_HASH_LEN])
{
	if (r->count == 0) {
		merkle_empty_root(out);
		return;
	}
	memcpy(out, r->hash[r->count - 1], MERKLE_HASH_LEN);
	for (unsigned i = r->count - 1; i-- > 0;)
		merkle_node_hash(out, r->hash[i], out);
}

/* MTH(D[lo:hi]) for a range the RFC's recursion produces: lo is a multiple
 * of a power of two >= hi - lo, so the range is the complete subtrees of
 * the set bits of hi - lo, largest first, folded right to left. */
static int range_hash(uint64_t lo, uint64_t hi, merkle_node_fn fn, void *ctx,
		      uint8_t out[MERKLE_HASH_LEN])
{
	uint64_t n = hi - lo, end = hi;
	uint8_t piece[MERKLE_HASH_LEN];
	bool first = true;
	int rc;

	for (unsigned b = 0; b < 64; b++) {
		if (!(n >> b & 1))
			continue;
		end -= (uint64_t)1 << b;
		if (first) {
			rc = fn(ctx, b, end >> b, out);
			first = false;
		} else {
			rc = fn(ctx, b, end >> b, piece);
			if (rc == 0)
				merkle_node_hash(out, piece, out);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static void reverse(uint8_t proof[][MERKLE_HASH_LEN], int n)
{
	uint8_t t[MERKLE_HASH_LEN];

	for (int i = 0, j = n - 1; i < j; i++, j--) {
		memcpy(t, proof[i], MERKLE_HASH_LEN);
		memcpy(proof[i], proof[j], MERKLE_HASH_LEN);
		memcpy(proof[j], t, MERKLE_HASH_LEN);
	}
}

int merkle_root(uint64_t size, merkle_node_fn fn, void *ctx, uint8_t out[MERKLE_HASH_LEN])
{
	if (size >= MERKLE_SIZE_LIMIT)
		return -EINVAL;
	if (size == 0) {
		merkle_empty_root(out);
		return 0;
	}
	return range_hash(0, size, fn, ctx, out);
}

int merkle_inclusion_proof(uint64_t index, uint64_t size, merkle_node_fn fn, void *ctx,
			   uint8_t proof[][MERKLE_HASH_LEN])
{
	uint64_t lo = 0, hi = size;
	int n = 0, rc;

	if (size >= MERKLE_SIZE_LIMIT || index >= size)
		return -EINVAL;
	/* PATH(m, D[lo:hi]) = PATH(m, D[lo:lo+k]) : MTH(D[lo+k:hi]) when m is
	 * on the left, PATH(m - k, D[lo+k:hi]) : MTH(D[lo:lo+k]) otherwise.
	 * Walking down collects the suffixes first: reversed at the end. */
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);

		if (index < lo + k) {
			rc = range_hash(lo + k, hi, fn, ctx, proof[n]);
			hi = lo + k;
		} else {
			rc = range_hash(lo, lo + k, fn, ctx, proof[n]);
			lo += k;
		}
		if (rc < 0)
			return rc;
		n++;
	}
	reverse(proof, n);
	return n;
}

int merkle_consistency_proof(uint64_t old_size, uint64_t new_size, merkle_node_fn fn,
			     void *ctx, uint8_t proof[][MERKLE_HASH_LEN])
{
	uint64_t lo = 0, hi = new_size, m = old_size;
	bool whole = true;     /* SUBPROOF's b: D[lo:hi] starts the old tree */
	int n = 0, rc;

	if (new_size >= MERKLE_SIZE_LIMIT || old_size > new_size)
		return -EINVAL;
	if (old_size == 0 || old_size == new_size)
		return 0;
	/* SUBPROOF(m, D[lo:hi], b): at m = hi - lo, {} when b, else the
	 * subtree's own hash; below, recurse left with the right sibling
	 * after it, or right (b false) with the left sibling after it. */
	for (;;) {
		if (m == hi - lo) {
			if (!whole) {
				rc = range_hash(lo, hi, fn, ctx, proof[n]);
				if (rc < 0)
					return rc;
				n++;
			}
			break;
		}
		uint64_t k = split_point(hi - lo);

		if (m <= k) {
			rc = range_hash(lo + k, hi, fn, ctx, proof[n]);
			hi = lo + k;
		} else {
			rc = range_hash(lo, lo + k, fn, ctx, proof[n]);
			lo += k;
			m -= k;
			whole = false;
		}
		if (rc < 0)
			return rc;
		n++;
	}
	reverse(proof, n);
	return n;
}

static bool hash_eq(const uint8_t a[MERKLE_HASH_LEN], const uint8_t b[MERKLE_HASH_LEN])
{
	uint8_t d = 0;

	for (size_t i = 0; i < MERKLE_HASH_LEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

bool merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[MERKLE_HASH_LEN],
			     const uint8_t proof[][MERKLE_HASH_LEN], size_t n,
			     const uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];
	uint64_t fn, sn;

	if (size >= MERKLE_SIZE_LIMIT || index >= size || n > MERKLE_MAX_PROOF)
		return false;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, MERKLE_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(r, proof[i], r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(r, r, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_eq(r, root);
}

bool merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
			       const uint8_t old_root[MERKLE_HASH_LEN],
			       const uint8_t new_root[MERKLE_HASH_LEN],
			       const uint8_t proof[][MERKLE_HASH_LEN], size_t n)
{
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (new_size >= MERKLE_SIZE_LIMIT || old_size > new_size || n > MERKLE_MAX_PROOF)
		return false;
	if (old_size == 0) {
		merkle_empty_root(fr);
		return n == 0 && hash_eq(fr, old_root);
	}
	if (old_size == new_size)
		return n == 0 && hash_eq(old_root, new_root);
	if (n == 0)
		return false;
	/* A power-of-two old tree is itself a node of the new one: the RFC
	 * prepends old_root to the path instead of sending it. */
	if ((old_size & (old_size - 1)) == 0) {
		memcpy(fr, old_root, MERKLE_HASH_LEN);
	} else {
		memcpy(fr, proof[0], MERKLE_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH_LEN);
	fn = old_size - 1;
	sn = new_size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(fr, proof[i], fr);
			merkle_node_hash(sr, proof[i], sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(sr, sr, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_eq(fr, old_root) && hash_eq(sr, new_root);
}
