/* tests/test_merkle.c: crypto/merkle against RFC 9162's definitions.
 *
 * The reference here is a naive recursive MTH, PATH and PROOF written
 * straight from RFC 9162 section 2.1 (memoised MTH, nothing else shared
 * with crypto/merkle.c). Every tree size 0..MAXN, every leaf index and
 * every old size is checked: generation equals the reference, verification
 * accepts it and refuses every corruption tried. Then the published
 * vectors of transparency-dev/merkle's proof tests (the 8-leaf tree of
 * RFC 6962's reference data).
 */
#include "crypto/merkle.h"
#include "tests/tap.h"

#include <bearssl.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define MAXN 300
#define H MERKLE_HASH_LEN

static uint8_t leaf[MAXN][H];
/* memo[lo][hi]: MTH(D[lo:hi]), valid when have[lo][hi]. */
static uint8_t memo[MAXN + 1][MAXN + 1][H];
static uint8_t have[MAXN + 1][MAXN + 1];

static void sha(uint8_t out[H], const void *a, size_t alen, const void *b, size_t blen,
		const void *c, size_t clen)
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, a, alen);
	br_sha256_update(&h, b, blen);
	br_sha256_update(&h, c, clen);
	br_sha256_out(&h, out);
}

static uint64_t k_of(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

/* MTH(D[lo:hi]) by the definition. */
static const uint8_t *mth(unsigned lo, unsigned hi)
{
	static const uint8_t one = 0x01;

	if (!have[lo][hi]) {
		if (hi - lo == 0) {
			sha(memo[lo][hi], "", 0, "", 0, "", 0);
		} else if (hi - lo == 1) {
			memcpy(memo[lo][hi], leaf[lo], H);
		} else {
			unsigned k = (unsigned)k_of(hi - lo);
			sha(memo[lo][hi], &one, 1, mth(lo, lo + k), H, mth(lo + k, hi), H);
		}
		have[lo][hi] = 1;
	}
	return memo[lo][hi];
}

/* PATH(m, D[lo:hi]), appended to out in the RFC's order. */
static void path(unsigned m, unsigned lo, unsigned hi, uint8_t out[][H], int *n)
{
	if (hi - lo <= 1)
		return;
	unsigned k = (unsigned)k_of(hi - lo);
	if (m < k) {
		path(m, lo, lo + k, out, n);
		memcpy(out[(*n)++], mth(lo + k, hi), H);
	} else {
		path(m - k, lo + k, hi, out, n);
		memcpy(out[(*n)++], mth(lo, lo + k), H);
	}
}

/* SUBPROOF(m, D[lo:hi], b). */
static void subproof(unsigned m, unsigned lo, unsigned hi, int b, uint8_t out[][H], int *n)
{
	if (m == hi - lo) {
		if (!b)
			memcpy(out[(*n)++], mth(lo, hi), H);
		return;
	}
	unsigned k = (unsigned)k_of(hi - lo);
	if (m <= k) {
		subproof(m, lo, lo + k, b, out, n);
		memcpy(out[(*n)++], mth(lo + k, hi), H);
	} else {
		subproof(m - k, lo + k, hi, 0, out, n);
		memcpy(out[(*n)++], mth(lo, lo + k), H);
	}
}

struct view {
	uint64_t size;
	int outside;          /* asked for a node beyond size */
	int fail_after;       /* >= 0: the call after this many fails */
	int calls;
};

static int node(void *ctx, unsigned level, uint64_t index, uint8_t out[H])
{
	struct view *v = ctx;
	uint64_t lo = index << level, hi = (index + 1) << level;

	if (v->fail_after >= 0 && v->calls++ >= v->fail_after)
		return -EIO;
	if (level > 16 || hi > v->size) {
		v->outside++;
		return -ERANGE;
	}
	memcpy(out, mth((unsigned)lo, (unsigned)hi), H);
	return 0;
}

static void test_exhaustive(void)
{
	static uint8_t proof[MERKLE_MAX_PROOF + 1][H], ref[MERKLE_MAX_PROOF][H];
	struct merkle_range r;
	uint8_t root[H];
	int range_bad = 0, root_bad = 0;

	merkle_range_init(&r);
	for (unsigned n = 0; n <= MAXN; n++) {
		struct view v = { .size = n, .fail_after = -1 };
		int gen_bad = 0, vfy_bad = 0, forged = 0;

		merkle_range_root(&r, root);
		range_bad += memcmp(root, mth(0, n), H) != 0;
		if (merkle_root(n, node, &v, root) != 0 || memcmp(root, mth(0, n), H) != 0)
			root_bad++;

		for (unsigned m = 0; m < n; m++) {
			int rn = 0, got = merkle_inclusion_proof(m, n, node, &v, proof);

			path(m, 0, n, ref, &rn);
			if (got != rn || memcmp(proof, ref, (size_t)rn * H) != 0) {
				gen_bad++;
				continue;
			}
			const uint8_t *lh = leaf[m], *rt = mth(0, n);
			if (!merkle_verify_inclusion(m, n, lh, (const uint8_t (*)[H])proof, (size_t)rn, rt))
				vfy_bad++;
			/* corruptions: none may verify */
			forged += merkle_verify_inclusion(m + 1, n, lh, (const uint8_t (*)[H])proof, (size_t)rn, rt);
			if (m > 0)
				forged += merkle_verify_inclusion(m - 1, n, lh, (const uint8_t (*)[H])proof, (size_t)rn, rt);
			/* (m, n + 1, MTH(D[0:n])) may verify: a size is bound to
			 * its root by the checkpoint, not by the proof. With the
			 * root of n + 1 it must not. */
			if (n < MAXN)
				forged += merkle_verify_inclusion(m, n + 1, lh, (const uint8_t (*)[H])proof, (size_t)rn, mth(0, n + 1));
			forged += merkle_verify_inclusion(m, n * 2, lh, (const uint8_t (*)[H])proof, (size_t)rn, rt);
			forged += merkle_verify_inclusion(m, n, leaf[(m + 1) % n], (const uint8_t (*)[H])proof, (size_t)rn, rt) && n > 1;
			forged += merkle_verify_inclusion(m, n, lh, (const uint8_t (*)[H])proof, (size_t)rn, mth(0, n - 1)) && n > 1;
			if (rn > 0)
				forged += merkle_verify_inclusion(m, n, lh, (const uint8_t (*)[H])proof, (size_t)rn - 1, rt);
			memcpy(proof[rn], rt, H);
			forged += merkle_verify_inclusion(m, n, lh, (const uint8_t (*)[H])proof, (size_t)rn + 1, rt);
			for (int i = 0; i < rn; i++) {
				proof[i][i % H] ^= 0x10;
				forged += merkle_verify_inclusion(m, n, lh, (const uint8_t (*)[H])proof, (size_t)rn, rt);
				proof[i][i % H] ^= 0x10;
			}
		}
		for (unsigned m = 0; m <= n; m++) {
			int rn = 0, got = merkle_consistency_proof(m, n, node, &v, proof);

			if (m > 0 && m < n)
				subproof(m, 0, n, 1, ref, &rn);
			if (got != rn || memcmp(proof, ref, (size_t)rn * H) != 0) {
				gen_bad++;
				continue;
			}
			const uint8_t *r1 = mth(0, m), *r2 = mth(0, n);
			if (!merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[H])proof, (size_t)rn))
				vfy_bad++;
			if (m == n && m > 0)
				forged += merkle_verify_consistency(m, n, r1, mth(0, n - 1), (const uint8_t (*)[H])proof, 0);
			if (m == 0 || m == n)
				continue;
			forged += merkle_verify_consistency(m - 1, n, r1, r2, (const uint8_t (*)[H])proof, (size_t)rn);
			forged += merkle_verify_consistency(m + 1, n, r1, r2, (const uint8_t (*)[H])proof, (size_t)rn);
			if (n < MAXN)
				forged += merkle_verify_consistency(m, n + 1, r1, mth(0, n + 1), (const uint8_t (*)[H])proof, (size_t)rn);
			forged += merkle_verify_consistency(m, n, r2, r2, (const uint8_t (*)[H])proof, (size_t)rn);
			forged += merkle_verify_consistency(m, n, r1, r1, (const uint8_t (*)[H])proof, (size_t)rn);
			forged += merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[H])proof, 0);
			forged += merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[H])proof, (size_t)rn - 1);
			memcpy(proof[rn], r2, H);
			forged += merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[H])proof, (size_t)rn + 1);
			for (int i = 0; i < rn; i++) {
				proof[i][(i * 7) % H] ^= 0x01;
				forged += merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[H])proof, (size_t)rn);
				proof[i][(i * 7) % H] ^= 0x01;
			}
		}
		if (gen_bad || vfy_bad || forged || v.outside)
			ok(0, "size %u: %d generated proofs differ from RFC 9162's, %d do not verify, "
			   "%d corruptions verify, %d lookups outside the tree", n, gen_bad, vfy_bad,
			   forged, v.outside);
		else if (n % 50 == 0 || n < 3)
			ok(1, "size %u: every inclusion and consistency proof equals RFC 9162's and "
			   "verifies; corruptions refused", n);
		if (n < MAXN)
			merkle_range_append(&r, leaf[n]);
	}
	is_int(range_bad, 0, "compact range root equals MTH for sizes 0..%d", MAXN);
	is_int(root_bad, 0, "merkle_root through the callback equals MTH for sizes 0..%d", MAXN);
}

static void test_bounds(void)
{
	uint8_t proof[MERKLE_MAX_PROOF][H], h[H] = { 0 };
	struct view v = { .size = 10, .fail_after = -1 };
	struct merkle_range r;

	is_int(merkle_inclusion_proof(10, 10, node, &v, proof), -EINVAL, "inclusion: index = size refused");
	is_int(merkle_inclusion_proof(0, 0, node, &v, proof), -EINVAL, "inclusion: empty tree refused");
	is_int(merkle_inclusion_proof(0, MERKLE_SIZE_LIMIT, node, &v, proof), -EINVAL,
	       "inclusion: size 2^63 refused");
	is_int(merkle_consistency_proof(11, 10, node, &v, proof), -EINVAL, "consistency: old > new refused");
	is_int(merkle_root(MERKLE_SIZE_LIMIT, node, &v, h), -EINVAL, "root: size 2^63 refused");
	ok(!merkle_verify_inclusion(0, MERKLE_SIZE_LIMIT, h, (const uint8_t (*)[H])proof, 0, h),
	   "verify inclusion: size 2^63 refused");
	ok(!merkle_verify_inclusion(0, 1, h, (const uint8_t (*)[H])proof, MERKLE_MAX_PROOF + 1, h),
	   "verify inclusion: 64 hashes refused");
	ok(merkle_verify_inclusion(0, 1, h, (const uint8_t (*)[H])proof, 0, h),
	   "verify inclusion: size 1, empty proof, root = leaf");
	ok(!merkle_verify_consistency(2, 1, h, h, (const uint8_t (*)[H])proof, 0),
	   "verify consistency: old > new refused");
	ok(!merkle_verify_consistency(0, 5, h, h, (const uint8_t (*)[H])proof, 0),
	   "verify consistency: size 0 with a root other than MTH({}) refused");

	/* the callback's error comes back as it is, at every step */
	int passed = 1;
	for (int i = 0; i < 12; i++) {
		struct view f = { .size = 300, .fail_after = i };
		int rc = merkle_inclusion_proof(137, 300, node, &f, proof);
		if (f.calls > i && rc != -EIO)
			passed = 0;
		f.calls = 0;
		rc = merkle_consistency_proof(137, 300, node, &f, proof);
		if (f.calls > i && rc != -EIO)
			passed = 0;
	}
	ok(passed, "a failing lookup fails the proof with its errno");

	/* the biggest tree: 63 hashes in the range, the 2^63 - 1 limit */
	r.size = MERKLE_SIZE_LIMIT - 2;
	r.count = 62;
	is_int(merkle_range_append(&r, h), 0, "range: append up to 2^63 - 1 leaves");
	is_int(r.count, 63, "range: 2^63 - 1 leaves are 63 subtrees");
	is_int(merkle_range_append(&r, h), -EOVERFLOW, "range: leaf 2^63 refused");
}

static void dh(uint8_t *out, const char *hex)
{
	for (size_t i = 0; hex[2 * i]; i++) {
		unsigned b;
		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
}

/* transparency-dev/merkle proof/verify_test.go: the leaves, roots and
 * proofs of RFC 6962's reference tree. */
static void test_vectors(void)
{
	static const char *data[8] = {
		"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
		"606162636465666768696a6b6c6d6e6f",
	};
	static const char *roots[8] = {
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	};
	static const struct {
		unsigned a, b;   /* inclusion: leaf index + 1, size; consistency: sizes */
		int n;
		const char *p[3];
	} incl[] = {
		{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
		{ 6, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
		{ 3, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
		{ 2, 5, 3, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
			     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	}, cons[] = {
		{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
		{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
		{ 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
		{ 6, 7, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
			     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	};
	uint8_t lh[8][H], root[8][H], want[3][H], proof[MERKLE_MAX_PROOF][H], e[H], buf[16];
	struct merkle_range r;

	merkle_empty_root(e);
	dh(want[0], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	is_mem(e, want[0], H, "MTH({}) = SHA-256(\"\") e3b0c442...");

	merkle_range_init(&r);
	for (int i = 0; i < 8; i++) {
		size_t len = strlen(data[i]) / 2;
		dh(buf, data[i]);
		merkle_leaf_hash(lh[i], buf, len);
		merkle_range_append(&r, lh[i]);
		merkle_range_root(&r, root[i]);
		dh(want[0], roots[i]);
		is_mem(root[i], want[0], H, "RFC 6962 reference tree: root of size %d", i + 1);
	}

	/* Serve the reference tree's nodes through the same naive MTH. */
	memcpy(leaf, lh, sizeof lh);
	memset(have, 0, sizeof have);
	for (size_t t = 0; t < sizeof incl / sizeof incl[0]; t++) {
		struct view v = { .size = incl[t].b, .fail_after = -1 };
		int n = merkle_inclusion_proof(incl[t].a - 1, incl[t].b, node, &v, proof);
		int same = n == incl[t].n;
		for (int i = 0; same && i < n; i++) {
			dh(want[i], incl[t].p[i]);
			same = memcmp(proof[i], want[i], H) == 0;
		}
		ok(same, "published inclusion proof: leaf %u of %u generated byte for byte",
		   incl[t].a - 1, incl[t].b);
		ok(merkle_verify_inclusion(incl[t].a - 1, incl[t].b, lh[incl[t].a - 1],
					   (const uint8_t (*)[H])want, (size_t)incl[t].n,
					   root[incl[t].b - 1]),
		   "published inclusion proof: leaf %u of %u verifies", incl[t].a - 1, incl[t].b);
	}
	for (size_t t = 0; t < sizeof cons / sizeof cons[0]; t++) {
		struct view v = { .size = cons[t].b, .fail_after = -1 };
		int n = merkle_consistency_proof(cons[t].a, cons[t].b, node, &v, proof);
		int same = n == cons[t].n;
		for (int i = 0; same && i < n; i++) {
			dh(want[i], cons[t].p[i]);
			same = memcmp(proof[i], want[i], H) == 0;
		}
		ok(same, "published consistency proof: %u -> %u generated byte for byte",
		   cons[t].a, cons[t].b);
		ok(merkle_verify_consistency(cons[t].a, cons[t].b, root[cons[t].a - 1],
					     root[cons[t].b - 1], (const uint8_t (*)[H])want,
					     (size_t)cons[t].n),
		   "published consistency proof: %u -> %u verifies", cons[t].a, cons[t].b);
	}
}

int main(void)
{
	for (uint32_t i = 0; i < MAXN; i++) {
		uint8_t d[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		merkle_leaf_hash(leaf[i], d, sizeof d);
	}
	test_exhaustive();
	test_bounds();
	test_vectors();
	return tap_done();
}
