/* crypto/tlog_tiles.c: see tlog_tiles.h. */
#include "crypto/tlog_tiles.h"

#include <errno.h>
#include <string.h>

#include "lib/bytes.h"

static bool tile_valid(const struct tlog_tile *t)
{
	return t->level <= TLOG_TILE_MAX_LEVEL && !(t->entries && t->level != 0) &&
	       t->width >= 1 && t->width <= TLOG_TILE_WIDTH;
}

/* N in 3-digit groups, 'x' before all but the last. */
static void put_index(struct bbuf *b, uint64_t n)
{
	unsigned group[7], g = 0;

	do {
		group[g++] = (unsigned)(n % 1000);
		n /= 1000;
	} while (n);
	while (g-- > 0)
		bbuf_printf(b, g ? "x%03u/" : "%03u", group[g]);
}

long tlog_tile_path(char *out, size_t cap, const struct tlog_tile *t)
{
	struct bbuf b;

	if (!tile_valid(t))
		return -EINVAL;
	bbuf_init(&b, out, cap);
	if (t->entries) {
		bbuf_str(&b, "tile/entries/");
	} else {
		bbuf_str(&b, "tile/");
		bbuf_u64(&b, t->level);
		bbuf_put(&b, "/", 1);
	}
	put_index(&b, t->index);
	if (t->width < TLOG_TILE_WIDTH) {
		bbuf_str(&b, ".p/");
		bbuf_u64(&b, t->width);
	}
	return bbuf_finish(&b);
}

/* A decimal in [p, end) with no leading zero, at most max. Advances *pp
 * to the first non-digit. */
static int parse_small(const char **pp, const char *end, unsigned max, unsigned *out)
{
	const char *p = *pp;
	unsigned v = 0;

	if (p == end || *p < '0' || *p > '9')
		return -EINVAL;
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return -EINVAL;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return -EINVAL;
	}
	*pp = p;
	*out = v;
	return 0;
}

static int parse_index(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	bool first = true;

	for (;;) {
		bool more = p < end && *p == 'x';
		unsigned d = 0;

		p += more;
		if (end - p < 3)
			return -EINVAL;
		for (int i = 0; i < 3; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -EINVAL;
			d = d * 10 + (unsigned)(p[i] - '0');
		}
		p += 3;
		/* one spelling: no all-zero leading group (x000/005 is 005) */
		if (first && more && d == 0)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 1000)
			return -EINVAL;
		v = v * 1000 + d;
		first = false;
		if (!more)
			break;
		if (p == end || *p != '/')
			return -EINVAL;
		p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

int tlog_tile_parse(const char *path, size_t len, struct tlog_tile *t)
{
	const char *p = path, *end = path + len;
	unsigned v;

	memset(t, 0, sizeof(*t));
	if (len < 5 || memcmp(p, "tile/", 5) != 0)
		return -EINVAL;
	p += 5;
	if ((size_t)(end - p) >= 8 && memcmp(p, "entries/", 8) == 0) {
		t->entries = true;
		p += 8;
	} else {
		if (parse_small(&p, end, TLOG_TILE_MAX_LEVEL, &v) < 0 || p == end || *p != '/')
			return -EINVAL;
		t->level = (uint8_t)v;
		p++;
	}
	if (parse_index(&p, end, &t->index) < 0)
		return -EINVAL;
	t->width = TLOG_TILE_WIDTH;
	if (p == end)
		return 0;
	if (end - p < 3 || memcmp(p, ".p/", 3) != 0)
		return -EINVAL;
	p += 3;
	if (parse_small(&p, end, TLOG_TILE_WIDTH - 1, &v) < 0 || v == 0 || p != end)
		return -EINVAL;
	t->width = (uint16_t)v;
	return 0;
}

unsigned tlog_tiles_at_level(uint64_t size, unsigned level, uint64_t *full)
{
	uint64_t n = level * TLOG_TILE_HEIGHT >= 64 ? 0 : size >> (level * TLOG_TILE_HEIGHT);

	*full = n / TLOG_TILE_WIDTH;
	return (unsigned)(n % TLOG_TILE_WIDTH);
}

int tlog_tiles_top_level(uint64_t size)
{
	int top = -1;
	uint64_t full;

	for (unsigned l = 0; l <= TLOG_TILE_MAX_LEVEL; l++) {
		if (tlog_tiles_at_level(size, l, &full) == 0 && full == 0)
			break;
		top = (int)l;
	}
	return top;
}

int tlog_tile_check(const struct tlog_tile *t, uint64_t size)
{
	uint64_t full;
	unsigned partial;

	if (!tile_valid(t))
		return -ENOENT;
	partial = tlog_tiles_at_level(size, t->level, &full);
	if (t->width == TLOG_TILE_WIDTH)
		return t->index < full ? 0 : -ENOENT;
	return t->index == full && t->width == partial ? 0 : -ENOENT;
}

void tlog_tile_for_node(unsigned level, uint64_t index, struct tlog_tile *t, unsigned *first,
			unsigned *count)
{
	unsigned r = level % TLOG_TILE_HEIGHT;

	memset(t, 0, sizeof(*t));
	t->level = (uint8_t)(level / TLOG_TILE_HEIGHT);
	t->index = index >> (TLOG_TILE_HEIGHT - r);
	*first = (unsigned)((index << r) % TLOG_TILE_WIDTH);
	*count = 1u << r;
	t->width = (uint16_t)(*first + *count);
}

/* MTH of n (a power of two) consecutive equal-height hashes. */
static void subtree_root(const uint8_t *hashes, unsigned n, uint8_t out[MERKLE_HASH_LEN])
{
	struct merkle_range r;

	merkle_range_init(&r);
	for (unsigned i = 0; i < n; i++)
		merkle_range_append(&r, hashes + (size_t)i * MERKLE_HASH_LEN);
	merkle_range_root(&r, out);
}

int tlog_tile_node_hash(const uint8_t *tile, size_t tile_len, unsigned level, uint64_t index,
			uint8_t out[MERKLE_HASH_LEN])
{
	struct tlog_tile t;
	unsigned first, count;

	if (level > TLOG_TILE_MAX_LEVEL || tile_len % MERKLE_HASH_LEN != 0)
		return -EINVAL;
	tlog_tile_for_node(level, index, &t, &first, &count);
	if (tile_len / MERKLE_HASH_LEN < t.width || tile_len > TLOG_TILE_FULL_LEN)
		return -EINVAL;
	subtree_root(tile + (size_t)first * MERKLE_HASH_LEN, count, out);
	return 0;
}

void tlog_tile_root(const uint8_t *tile, uint8_t out[MERKLE_HASH_LEN])
{
	subtree_root(tile, TLOG_TILE_WIDTH, out);
}

int tlog_tile_from_leaves(const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t nleaves,
			  const struct tlog_tile *t, uint8_t (*out)[MERKLE_HASH_LEN])
{
	unsigned shift = (unsigned)t->level * TLOG_TILE_HEIGHT;
	uint64_t span, start;

	if (!tile_valid(t) || t->entries || shift >= 63)
		return -EINVAL;
	span = (uint64_t)1 << shift;
	/* the tile's last hash must end inside the leaves we have */
	if (t->index > (nleaves >> shift) / TLOG_TILE_WIDTH ||
	    (t->index * TLOG_TILE_WIDTH + t->width) > (nleaves >> shift))
		return -EINVAL;
	start = t->index * TLOG_TILE_WIDTH * span;
	for (unsigned i = 0; i < t->width; i++) {
		struct merkle_range r;

		merkle_range_init(&r);
		for (uint64_t j = 0; j < span; j++)
			merkle_range_append(&r, leaves[start + i * span + j]);
		merkle_range_root(&r, out[i]);
	}
	return 0;
}

int tlog_bundle_append(struct bbuf *b, const void *entry, size_t len)
{
	uint8_t n[2];

	if (len > TLOG_ENTRY_MAX)
		return -EMSGSIZE;
	put_be16(n, (uint16_t)len);
	/* one append, so a full buffer never holds half an entry */
	if (b->overflow || b->cap - b->len < 2 + len) {
		b->overflow = true;
		return 0;
	}
	bbuf_put(b, n, 2);
	bbuf_put(b, entry, len);
	return 0;
}

void tlog_bundle_iter_init(struct tlog_bundle_iter *it, const void *bundle, size_t len)
{
	it->p = bundle;
	it->end = it->p + len;
}

int tlog_bundle_next(struct tlog_bundle_iter *it, const uint8_t **entry, size_t *len)
{
	size_t n;

	if (it->p == it->end)
		return 0;
	if (it->end - it->p < 2)
		return -EBADMSG;
	n = be16(it->p);
	if ((size_t)(it->end - it->p - 2) < n)
		return -EBADMSG;
	*entry = it->p + 2;
	*len = n;
	it->p += 2 + n;
	return 1;
}

int tlog_bundle_verify(const void *bundle, size_t len, const uint8_t *tile0, unsigned width)
{
	struct tlog_bundle_iter it;
	const uint8_t *e;
	uint8_t h[MERKLE_HASH_LEN];
	size_t n;
	unsigned i = 0;
	int rc;

	tlog_bundle_iter_init(&it, bundle, len);
	while ((rc = tlog_bundle_next(&it, &e, &n)) == 1) {
		if (i == width)
			return -EBADMSG;
		merkle_leaf_hash(h, e, n);
		if (memcmp(h, tile0 + (size_t)i * MERKLE_HASH_LEN, MERKLE_HASH_LEN) != 0)
			return -EBADMSG;
		i++;
	}
	return rc == 0 && i == width ? 0 : -EBADMSG;
}
