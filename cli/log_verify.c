/* cli/log_verify.c: `dshield log verify`, offline verification of a saved
 * egress log directory in the C2SP tlog-tiles layout (docs/LOG.md).
 *
 * dshield log verify DIR|URL (--key VKEY | --key-file FILE)
 *                    [--trusted-checkpoint FILE] [--json] [--save DIR] [--timeout S]
 *
 * A URL (http://) is fetched first into a directory of the same layout
 * (cli/log_fetch.c: --save DIR keeps it, else a temporary one is removed
 * after) and that directory is verified as a saved one would be.
 *
 * The entries are the ground truth: every leaf hash is computed from the
 * entry bundles, every tile is compared with the hashes computed from the
 * level below, and the root computed from the leaves must be the signed
 * checkpoint's. A bundle that cannot be read whole is replaced by its
 * level-0 tile's hashes so that one damaged file gives one failure, not a
 * cascade; its failure is reported all the same.
 *
 * The directory is untrusted: every file is opened below DIR one path
 * component at a time with O_NOFOLLOW (no symlink is followed, no "..":
 * the paths are the ones tlog_tile_path() writes), must be a regular file,
 * and its size is checked against the most its kind can hold before
 * anything is allocated. Exit 0 when every check passed, 1 when one
 * failed (a missing file included), 2 on usage errors.
 */
#include "cli/log_verify.h"
#include "cli/log_fetch.h"
#include "cli/verify.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/checkpoint.h"
#include "crypto/log_entry.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "crypto/tlog_tiles.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/jsonw.h"
#include "lib/utf8.h"

/* A bundle holds at most 256 entries of a u16 length and 65,535 bytes. */
#define BUNDLE_MAX      ((size_t)TLOG_TILE_WIDTH * (2 + TLOG_ENTRY_MAX))
/* Failures kept for the output; the walk stops after LV_FAIL_STOP. */
#define LV_FAIL_SHOWN   100
#define LV_FAIL_STOP    1000
#define LV_MSG          320
#define LV_LEVELS       (TLOG_TILE_MAX_LEVEL + 1)
/* open_beneath()'s code for "not a regular file" (a FIFO would block a
 * read, a device would never end) */
#define E_NOTREG        EMEDIUMTYPE
/* The JSON of one entry: a path of 4096 bytes escapes to at most 6 bytes
 * a byte, the rest is small. */
#define ENTRY_JSON_MAX  ((size_t)7 << 16)

/* One aggregated line of the summary, keyed by a string. */
struct tally_item {
	char *key;
	size_t key_len;
	uint64_t n[6];
};

/* Open addressing over a power-of-two table of item indices + 1. */
struct tally {
	struct tally_item *items;
	size_t count, cap;
	uint32_t *slots;
	size_t nslots;
};

struct lv_args {
	const char *dir;
	const char *vkey;
	const char *key_file;
	const char *attestation;      /* the key comes from a verified quote */
	struct verify_args quote;     /* how to verify it (dshield verify's flags) */
	const char *trusted;
	bool json;
	const char *url;              /* fetch the log from here first */
	const char *save;             /* into this directory (kept) */
	unsigned timeout_ms;          /* per HTTP request */
};

/* The state of one run. Large, so it is static: this is a one-shot host
 * command (tests call it repeatedly; lv_reset() clears it each time). */
struct lv {
	struct lv_args a;
	int dirfd;
	struct note_key key;
	char note[NOTE_MAX_LEN + 1];
	struct checkpoint cp;
	bool cp_ok;
	char tnote[NOTE_MAX_LEN + 1];
	struct checkpoint tcp;
	bool have_trusted, trusted_ok;
	bool consistent;

	uint64_t fails;
	char failmsg[LV_FAIL_SHOWN][LV_MSG];

	/* the walk: per level, the hashes computed so far of the tile being
	 * filled, and that tile's index */
	uint8_t pending[LV_LEVELS][TLOG_TILE_WIDTH][MERKLE_HASH_LEN];
	unsigned npending[LV_LEVELS];
	uint64_t tile_index[LV_LEVELS];
	struct merkle_range range;
	uint8_t old_root[MERKLE_HASH_LEN];
	bool walk_done;
	uint64_t tiles_checked, bundles_checked;

	uint8_t tile[TLOG_TILE_FULL_LEN + 1];
	uint8_t *buf;              /* bundles */
	size_t buf_cap;

	/* summary */
	uint64_t entries, by_type[8], undecoded;
	uint64_t first_ns, last_ns;
	struct tally hosts, refusals, functions;
	bool json_first;
	char *ejson;
	char tmpdir[4096];         /* the fetched log's temporary directory */
};

static struct lv g;

static void tally_free(struct tally *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->items[i].key);
	free(t->items);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static int tally_rehash(struct tally *t, size_t nslots)
{
	uint32_t *s = calloc(nslots, sizeof *s);

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->count; i++) {
		size_t j = fnv1a(t->items[i].key, t->items[i].key_len) & (nslots - 1);
		while (s[j])
			j = (j + 1) & (nslots - 1);
		s[j] = (uint32_t)(i + 1);
	}
	free(t->slots);
	t->slots = s;
	t->nslots = nslots;
	return 0;
}

/* The item for key, created with zero counts. NULL when out of memory. */
static struct tally_item *tally_get(struct tally *t, const char *key, size_t len)
{
	size_t j;

	if (t->count >= UINT32_MAX - 1)
		return NULL;
	if ((t->count + 1) * 2 > t->nslots && tally_rehash(t, t->nslots ? t->nslots * 2 : 64))
		return NULL;
	j = fnv1a(key, len) & (t->nslots - 1);
	while (t->slots[j]) {
		struct tally_item *it = &t->items[t->slots[j] - 1];
		if (it->key_len == len && memcmp(it->key, key, len) == 0)
			return it;
		j = (j + 1) & (t->nslots - 1);
	}
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		struct tally_item *ni = realloc(t->items, cap * sizeof *ni);
		if (!ni)
			return NULL;
		t->items = ni;
		t->cap = cap;
	}
	struct tally_item *it = &t->items[t->count];
	memset(it, 0, sizeof *it);
	it->key = malloc(len + 1);
	if (!it->key)
		return NULL;
	memcpy(it->key, key, len);
	it->key[len] = '\0';
	it->key_len = len;
	t->slots[j] = (uint32_t)++t->count;
	return it;
}

static int tally_cmp(const void *a, const void *b)
{
	const struct tally_item *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static void tally_sort(struct tally *t)
{
	if (t->count)
		qsort(t->items, t->count, sizeof *t->items, tally_cmp);
}

/* Records one failure: printed at once as text, kept for --json. */
__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	char msg[LV_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* a cut message ends on a whole UTF-8 sequence (the JSON stays valid) */
	for (size_t i = 0, len = strlen(msg); i < len;) {
		size_t at = i;
		if (utf8_next((const unsigned char *)msg, len, &i) < 0) {
			msg[at] = '\0';
			break;
		}
	}
	if (g.fails < LV_FAIL_SHOWN) {
		memcpy(g.failmsg[g.fails], msg, sizeof msg);
		if (!g.a.json)
			printf("FAIL: %s\n", msg);
	} else if (g.fails == LV_FAIL_SHOWN && !g.a.json) {
		printf("FAIL: (more failures, not shown)\n");
	}
	g.fails++;
}

static const char *errstr(int e)
{
	switch (e) {
	case -ENOENT:
		return "missing";
	case -ELOOP:
		return "a symbolic link (not followed)";
	case -ENOTDIR:
		return "a path component is not a directory";
	case -E_NOTREG:
		return "not a regular file";
	default:
		return strerror(-e);
	}
}

/* Opens rel (components separated by '/', none "." or "..") below dirfd
 * without following any symlink, and only a regular file. fd or -errno. */
static int open_beneath(int dirfd, const char *rel)
{
	char comp[TLOG_TILE_PATH_MAX];
	int fd = dirfd;
	struct stat st;

	for (;;) {
		const char *slash = strchr(rel, '/');
		size_t n = slash ? (size_t)(slash - rel) : strlen(rel);
		int nfd;

		if (n == 0 || n >= sizeof comp) {
			nfd = -EINVAL;
		} else {
			memcpy(comp, rel, n);
			comp[n] = '\0';
			nfd = openat(fd, comp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
				     (slash ? O_DIRECTORY : O_NONBLOCK));
			if (nfd < 0)
				nfd = -errno;
			/* O_DIRECTORY says ENOTDIR for a symlink: name it */
			if (nfd == -ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				nfd = -ELOOP;
		}
		if (fd != dirfd)
			close(fd);
		if (nfd < 0)
			return nfd;
		fd = nfd;
		if (!slash)
			break;
		rel = slash + 1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -E_NOTREG;
	}
	return fd;
}

/* Opens rel below DIR and checks its size against max before anything is
 * read or allocated. fd, or -errno (-EFBIG above max, *size then set). */
static int open_sized(const char *rel, size_t max, uint64_t *size)
{
	struct stat st;
	int fd = open_beneath(g.dirfd, rel);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*size = (uint64_t)st.st_size;
	if (*size > max) {
		close(fd);
		return -EFBIG;
	}
	return fd;
}

static void tile_path(char *p, bool entries, unsigned level, uint64_t index, unsigned width)
{
	struct tlog_tile t = { entries, (uint8_t)level, index, (uint16_t)width };

	if (tlog_tile_path(p, TLOG_TILE_PATH_MAX, &t) < 0)
		snprintf(p, TLOG_TILE_PATH_MAX, "(tile %u/%llu out of range)", level,
			 (unsigned long long)index);
}

/* Reads the tile at path, of width hashes, whole into g.tile. */
static bool read_tile(const char *path, unsigned width)
{
	size_t want = (size_t)width * MERKLE_HASH_LEN;
	uint64_t size = 0;
	int fd = open_sized(path, want, &size);
	long n;

	if (fd == -EFBIG) {
		fail("%s: %llu bytes, a tile of width %u has %zu: trailing bytes from byte offset %zu",
		     path, (unsigned long long)size, width, want, want);
		return false;
	}
	if (fd < 0) {
		fail("%s: %s", path, errstr(fd));
		return false;
	}
	n = file_read_fd(fd, g.tile, want);
	close(fd);
	if (n < 0) {
		fail("%s: %s", path, n == -EFBIG ? "grew while being read" : strerror((int)-n));
		return false;
	}
	if ((size_t)n != want) {
		fail("%s: %ld bytes, a tile of width %u has %zu: truncated at byte offset %ld",
		     path, n, width, want, n);
		return false;
	}
	return true;
}

/* Compares the tile just read (g.tile) with the hashes computed from the
 * level below, naming each differing hash (up to a few per tile). */
static void compare_tile(const char *path, unsigned level, uint64_t index, unsigned width,
			 const uint8_t (*want)[MERKLE_HASH_LEN], const size_t *entry_off,
			 const char *bundle_path)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < width; i++) {
		char child[TLOG_TILE_PATH_MAX];

		if (memcmp(g.tile + (size_t)i * MERKLE_HASH_LEN, want[i], MERKLE_HASH_LEN) == 0)
			continue;
		if (++bad > 4)
			continue;
		if (level == 0) {
			fail("%s: hash %u (byte offset %zu) is not the leaf hash of entry %llu "
			     "(%s, byte offset %zu)", path, i, (size_t)i * MERKLE_HASH_LEN,
			     (unsigned long long)(index * TLOG_TILE_WIDTH + i), bundle_path,
			     entry_off[i]);
		} else {
			tile_path(child, false, level - 1, index * TLOG_TILE_WIDTH + i,
				  TLOG_TILE_WIDTH);
			fail("%s: hash %u (byte offset %zu) is not the root of %s as computed "
			     "from the entries", path, i, (size_t)i * MERKLE_HASH_LEN, child);
		}
	}
	if (bad > 4)
		fail("%s: %u more hashes differ", path, bad - 4);
}

/* Adds one decoded entry to the summary. */
static void summarize(const struct log_entry *e)
{
	struct tally_item *it = NULL, *fn = NULL;
	const struct log_str *func = NULL;
	char key[8 + 253];

	g.by_type[e->type]++;
	if (g.entries == 0 || e->time_ns < g.first_ns)
		g.first_ns = e->time_ns;
	if (e->time_ns > g.last_ns)
		g.last_ns = e->time_ns;
	switch (e->type) {
	case LOG_FUNCTION:
		func = &e->u.function.id;
		break;
	case LOG_INVOCATION:
		func = &e->u.invocation.function;
		break;
	case LOG_EGRESS:
		func = &e->u.egress.function;
		it = tally_get(&g.hosts, e->u.egress.host.p, e->u.egress.host.len);
		if (it) {
			it->n[0]++;
			it->n[1] += e->u.egress.bytes_up;
			it->n[2] += e->u.egress.bytes_down;
		}
		break;
	case LOG_EGRESS_REFUSED:
		func = &e->u.egress.function;
		memcpy(key, "egress ", 7);
		memcpy(key + 7, e->u.egress.host.p, e->u.egress.host.len);
		it = tally_get(&g.refusals, key, 7 + e->u.egress.host.len);
		break;
	case LOG_DNS_REFUSED:
		func = &e->u.dns_refused.function;
		memcpy(key, "dns ", 4);
		memcpy(key + 4, e->u.dns_refused.qname.p, e->u.dns_refused.qname.len);
		it = tally_get(&g.refusals, key, 4 + e->u.dns_refused.qname.len);
		break;
	default:
		break;
	}
	if (it && (e->type == LOG_EGRESS_REFUSED || e->type == LOG_DNS_REFUSED))
		it->n[0]++;
	if (func && func->len)
		fn = tally_get(&g.functions, func->p, func->len);
	if (fn) {
		if (e->type == LOG_FUNCTION)
			fn->n[e->u.function.op - 1]++;
		else if (e->type == LOG_INVOCATION)
			fn->n[3]++;
		else if (e->type == LOG_EGRESS)
			fn->n[4]++;
		else
			fn->n[5]++;
	}
	g.entries++;
}

static void json_entry(const char *json, size_t n)
{
	if (!g.a.json)
		return;
	if (!g.json_first)
		fputc(',', stdout);
	g.json_first = false;
	fwrite(json, 1, n, stdout);
}

/* Decodes entry index (at byte offset off of bundle path). */
static void decode_entry(uint64_t index, const uint8_t *p, size_t len, const char *path,
			 size_t off)
{
	struct log_entry e;
	char err[ERRBUF_LEN];
	long n;

	if (log_entry_decode(p, len, &e, err, sizeof err) < 0) {
		fail("entry %llu (%s, byte offset %zu): %s", (unsigned long long)index, path, off,
		     err);
		g.undecoded++;
		json_entry("null", 4);
		return;
	}
	summarize(&e);
	if (!g.a.json)
		return;
	n = log_entry_json(&e, g.ejson, ENTRY_JSON_MAX);
	if (n < 0) {
		fail("entry %llu: JSON rendering: %s", (unsigned long long)index,
		     strerror((int)-n));
		json_entry("null", 4);
		return;
	}
	json_entry(g.ejson, (size_t)n);
}

/* Reads level-0 tile t's bundle (width entries), computing each entry's
 * leaf hash into h and its byte offset into off, and decoding it. True
 * when all width leaf hashes were computed. */
static bool read_bundle(const char *path, uint64_t t, unsigned width,
			uint8_t (*h)[MERKLE_HASH_LEN], size_t *off)
{
	struct tlog_bundle_iter it;
	uint64_t size = 0, base = t * TLOG_TILE_WIDTH;
	unsigned i = 0;
	int fd = open_sized(path, BUNDLE_MAX, &size);
	long n = 0;

	if (fd == -EFBIG)
		fail("%s: %llu bytes, more than a bundle can hold (%zu)", path,
		     (unsigned long long)size, BUNDLE_MAX);
	else if (fd < 0)
		fail("%s: %s", path, errstr(fd));
	if (fd >= 0 && size + 1 > g.buf_cap) {
		uint8_t *nb = realloc(g.buf, (size_t)size + 1);
		if (!nb) {
			fail("%s: %llu bytes: out of memory", path, (unsigned long long)size);
			close(fd);
			fd = -ENOMEM;
		} else {
			g.buf = nb;
			g.buf_cap = (size_t)size + 1;
		}
	}
	if (fd >= 0) {
		n = file_read_fd(fd, g.buf, (size_t)size);
		close(fd);
		if (n < 0)
			fail("%s: %s", path, n == -EFBIG ? "grew while being read" : strerror((int)-n));
	}
	if (fd >= 0 && n >= 0) {
		g.bundles_checked++;
		tlog_bundle_iter_init(&it, g.buf, (size_t)n);
		while (i < width) {
			const uint8_t *e;
			size_t len;
			int rc;

			off[i] = (size_t)(it.p - g.buf);
			rc = tlog_bundle_next(&it, &e, &len);
			if (rc == 0) {
				fail("%s: %u entries, the tree size needs %u here (entry %llu is missing)",
				     path, i, width, (unsigned long long)(base + i));
				break;
			}
			if (rc < 0) {
				fail("%s: entry %llu (byte offset %zu) is truncated: %zu bytes left",
				     path, (unsigned long long)(base + i), off[i],
				     (size_t)(it.end - it.p));
				break;
			}
			merkle_leaf_hash(h[i], e, len);
			decode_entry(base + i, e, len, path, off[i]);
			i++;
		}
		if (i == width && it.p != it.end)
			fail("%s: %zu bytes after its %u entries, from byte offset %zu", path,
			     (size_t)(it.end - it.p), width, (size_t)(it.p - g.buf));
	}
	/* keep the JSON array's positions the entry indices */
	for (unsigned k = i; k < width; k++)
		json_entry("null", 4);
	return i == width;
}

static void push(unsigned level, const uint8_t h[MERKLE_HASH_LEN]);

/* Checks a tile of level >= 1 against the hashes computed below it. */
static void check_upper_tile(unsigned level, uint64_t index, unsigned width)
{
	char p[TLOG_TILE_PATH_MAX];

	tile_path(p, false, level, index, width);
	if (read_tile(p, width)) {
		g.tiles_checked++;
		compare_tile(p, level, index, width,
			     (const uint8_t (*)[MERKLE_HASH_LEN])g.pending[level], NULL, NULL);
	}
}

/* Adds one computed hash to level `level`; a full tile is checked and its
 * root goes up a level. */
static void push(unsigned level, const uint8_t h[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];

	if (level >= LV_LEVELS)
		return;
	memcpy(g.pending[level][g.npending[level]++], h, MERKLE_HASH_LEN);
	if (g.npending[level] < TLOG_TILE_WIDTH)
		return;
	check_upper_tile(level, g.tile_index[level], TLOG_TILE_WIDTH);
	tlog_tile_root(g.pending[level][0], r);
	g.tile_index[level]++;
	g.npending[level] = 0;
	push(level + 1, r);
}

/* Level-0 tile t of width hashes and its bundle. -1 when neither gives
 * the leaf hashes and the walk cannot go on. */
static int walk_level0(uint64_t t, unsigned width)
{
	char tp[TLOG_TILE_PATH_MAX], bp[TLOG_TILE_PATH_MAX];
	static size_t off[TLOG_TILE_WIDTH];
	uint8_t (*h)[MERKLE_HASH_LEN] = g.pending[0];
	bool tile_ok, bundle_ok;

	tile_path(tp, false, 0, t, width);
	tile_path(bp, true, 0, t, width);
	tile_ok = read_tile(tp, width);
	if (tile_ok)
		g.tiles_checked++;
	bundle_ok = read_bundle(bp, t, width, h, off);
	if (bundle_ok && tile_ok)
		compare_tile(tp, 0, t, width, (const uint8_t (*)[MERKLE_HASH_LEN])h, off, bp);
	if (!bundle_ok) {
		if (!tile_ok) {
			fail("stopped at %s: neither it nor %s gives the leaf hashes", bp, tp);
			return -1;
		}
		/* the failure is recorded; go on with the tile's hashes so that
		 * the levels above and the root are still checked */
		memcpy(h, g.tile, (size_t)width * MERKLE_HASH_LEN);
	}
	for (unsigned i = 0; i < width; i++) {
		merkle_range_append(&g.range, h[i]);
		if (g.have_trusted && g.range.size == g.tcp.size)
			merkle_range_root(&g.range, g.old_root);
	}
	if (width == TLOG_TILE_WIDTH) {
		uint8_t r[MERKLE_HASH_LEN];
		tlog_tile_root(h[0], r);
		push(1, r);
	}
	return 0;
}

/* The whole tree of the checkpoint's size. */
static void walk(void)
{
	uint64_t n = g.cp.size, full;
	unsigned w = tlog_tiles_at_level(n, 0, &full);
	uint8_t root[MERKLE_HASH_LEN];
	char a[2 * MERKLE_HASH_LEN + 1], b[2 * MERKLE_HASH_LEN + 1];
	int top = tlog_tiles_top_level(n);

	merkle_range_init(&g.range);
	if (g.have_trusted && g.tcp.size == 0)
		merkle_empty_root(g.old_root);
	for (uint64_t t = 0; t < full + (w ? 1 : 0); t++) {
		if (walk_level0(t, t < full ? TLOG_TILE_WIDTH : w) < 0)
			return;
		if (g.fails >= LV_FAIL_STOP) {
			fail("stopped after %llu failures", (unsigned long long)g.fails);
			return;
		}
	}
	/* the right edge: each level's partial tile */
	for (int level = 1; level <= top; level++) {
		unsigned pw = tlog_tiles_at_level(n, (unsigned)level, &full);
		if (pw && pw == g.npending[level] && full == g.tile_index[level])
			check_upper_tile((unsigned)level, full, pw);
	}
	g.walk_done = true;
	merkle_range_root(&g.range, root);
	if (memcmp(root, g.cp.root, MERKLE_HASH_LEN) != 0) {
		hex_encode(a, root, MERKLE_HASH_LEN);
		hex_encode(b, g.cp.root, MERKLE_HASH_LEN);
		fail("root: the %llu entries give root %s, the checkpoint says %s",
		     (unsigned long long)n, a, b);
	}
}

/* merkle_node_fn over the directory's tiles for the checkpoint's size:
 * the full tile holding the node, or the size's partial tile. */
static int tile_node(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	struct tlog_tile t;
	unsigned first, count, pw;
	uint64_t full;
	char p[TLOG_TILE_PATH_MAX];

	(void)ctx;
	tlog_tile_for_node(level, index, &t, &first, &count);
	pw = tlog_tiles_at_level(g.cp.size, t.level, &full);
	if (t.index > full || (t.index == full && pw < first + count))
		return -EINVAL;
	t.width = (uint16_t)(t.index < full ? TLOG_TILE_WIDTH : pw);
	tile_path(p, false, t.level, t.index, t.width);
	if (!read_tile(p, t.width))
		return -EBADMSG;
	return tlog_tile_node_hash(g.tile, (size_t)t.width * MERKLE_HASH_LEN, level, index, out);
}

/* The trusted (older) checkpoint against this one. */
static void check_trusted(void)
{
	uint64_t m = g.tcp.size, n = g.cp.size;
	uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	char a[2 * MERKLE_HASH_LEN + 1], b[2 * MERKLE_HASH_LEN + 1];
	bool ok = true;
	int k;

	hex_encode(a, g.tcp.root, MERKLE_HASH_LEN);
	hex_encode(b, g.cp.root, MERKLE_HASH_LEN);
	if (g.tcp.origin_len != g.cp.origin_len ||
	    memcmp(g.tcp.origin, g.cp.origin, g.cp.origin_len) != 0) {
		fail("trusted checkpoint: origin \"%.*s\" differs from the log's \"%.*s\"",
		     (int)g.tcp.origin_len, g.tcp.origin, (int)g.cp.origin_len, g.cp.origin);
		ok = false;
	}
	if (m > n) {
		fail("trusted checkpoint: size %llu is larger than the log's %llu: the log went "
		     "backwards", (unsigned long long)m, (unsigned long long)n);
		return;
	}
	if (m == n) {
		if (memcmp(g.tcp.root, g.cp.root, MERKLE_HASH_LEN) != 0) {
			fail("fork: the trusted checkpoint and the log's both have size %llu, with "
			     "different roots (%s, %s), both signed by the key",
			     (unsigned long long)n, a, b);
			return;
		}
		g.consistent = ok;
		return;
	}
	/* m < n: the old root from the same leaves, then a proof from the tiles */
	if (g.walk_done && memcmp(g.old_root, g.tcp.root, MERKLE_HASH_LEN) != 0) {
		char c[2 * MERKLE_HASH_LEN + 1];
		hex_encode(c, g.old_root, MERKLE_HASH_LEN);
		fail("fork: the trusted checkpoint (size %llu, root %s) is not a prefix of the log: "
		     "its first %llu entries give root %s", (unsigned long long)m, a,
		     (unsigned long long)m, c);
		ok = false;
	} else if (!g.walk_done) {
		ok = false;
	}
	k = merkle_consistency_proof(m, n, tile_node, NULL, proof);
	if (k < 0) {
		fail("consistency proof %llu -> %llu: could not be built from the tiles (%s)",
		     (unsigned long long)m, (unsigned long long)n, strerror(-k));
		ok = false;
	} else if (!merkle_verify_consistency(m, n, g.tcp.root, g.cp.root, proof, (size_t)k)) {
		fail("consistency proof %llu -> %llu from the tiles does not verify between the "
		     "trusted root %s and the log's %s", (unsigned long long)m,
		     (unsigned long long)n, a, b);
		ok = false;
	}
	g.consistent = ok;
}

static int usage(FILE *f)
{
	fprintf(f,
		"usage: dshield log verify DIR|URL (--key VKEY | --key-file FILE |\n"
		"                               --attestation FILE [--allow-sim]\n"
		"                               [--no-collateral | --collateral FILE] [--at T])\n"
		"                          [--trusted-checkpoint FILE] [--json]\n"
		"                          [--save DIR] [--timeout S]\n"
		"\n"
		"Verifies a saved egress log directory (C2SP tlog-tiles: DIR/checkpoint,\n"
		"DIR/tile/...): the checkpoint's signature by VKEY (a signed-note verifier\n"
		"key, name+id+base64), every entry bundle and tile the tree size needs, the\n"
		"root; with --trusted-checkpoint, that the log extends that older checkpoint.\n"
		"Prints a summary of the entries (--json: all of them).\n"
		"--attestation FILE: the key is the log_key of a /v1/attestation answer,\n"
		"trusted only after FILE verifies as `dshield verify` with the same flags\n"
		"would and its REPORTDATA binds the key (checks report_data.preimage and\n"
		"log_key.binding); otherwise nothing else is checked and the exit is 1.\n"
		"URL (http://HOST[:PORT][/PREFIX]): the log is fetched first (PREFIX/checkpoint,\n"
		"PREFIX/tile/...) into a temporary directory, or into --save DIR (created,\n"
		"kept), which is then verified the same way; --timeout S bounds each request\n"
		"(default 30).\n"
		"Exit status: 0 every check passed, 1 a check failed, 2 usage.\n");
	return f == stderr ? 2 : 0;
}

/* 0, 1 (help printed) or 2 (usage error, message printed). */
static int parse_args(int argc, char **argv, struct lv_args *a)
{
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		const char **val = NULL;

		if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)
			return 1;
		if (strcmp(s, "--json") == 0) {
			a->json = true;
			continue;
		}
		if (strcmp(s, "--allow-sim") == 0 || strcmp(s, "--no-collateral") == 0) {
			if (s[2] == 'a')
				a->quote.allow_sim = true;
			else
				a->quote.no_collateral = true;
			continue;
		}
		if (strcmp(s, "--key") == 0)
			val = &a->vkey;
		else if (strcmp(s, "--key-file") == 0)
			val = &a->key_file;
		else if (strcmp(s, "--trusted-checkpoint") == 0)
			val = &a->trusted;
		else if (strcmp(s, "--attestation") == 0)
			val = &a->attestation;
		else if (strcmp(s, "--collateral") == 0)
			val = &a->quote.collateral;
		else if (strcmp(s, "--at") == 0)
			val = &a->quote.at;
		else if (strcmp(s, "--save") == 0)
			val = &a->save;
		else if (strcmp(s, "--timeout") == 0) {
			char *end;
			unsigned long t = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
			if (i + 1 >= argc || *end != '\0' || t == 0 || t > 3600 || !isdigit((unsigned char)argv[i + 1][0])) {
				fprintf(stderr, "dshield log verify: --timeout takes 1 to 3600 (seconds)\n");
				return 2;
			}
			a->timeout_ms = (unsigned)t * 1000;
			i++;
			continue;
		}
		if (val) {
			if (i + 1 >= argc || *val) {
				fprintf(stderr, "dshield log verify: %s %s\n", s,
					*val ? "given twice" : "needs a value");
				return 2;
			}
			*val = argv[++i];
			continue;
		}
		if (s[0] == '-' && s[1]) {
			fprintf(stderr, "dshield log verify: unknown option '%s'\n", s);
			return 2;
		}
		if (a->dir) {
			fprintf(stderr, "dshield log verify: more than one DIR given\n");
			return 2;
		}
		a->dir = s;
	}
	if (a->dir && strstr(a->dir, "://") != NULL) {
		a->url = a->dir;
		a->dir = NULL;
	}
	if (a->url == NULL && a->dir != NULL && (a->save || a->timeout_ms)) {
		fprintf(stderr, "dshield log verify: --save and --timeout go with a URL\n");
		return 2;
	}
	if (a->url != NULL)
		a->dir = a->save ? a->save : "";
	if (!a->dir || (a->vkey != NULL) + (a->key_file != NULL) + (a->attestation != NULL) != 1) {
		fprintf(stderr, "dshield log verify: %s\n", !a->dir ? "no DIR given" :
			"give exactly one of --key, --key-file and --attestation");
		return 2;
	}
	if (!a->attestation && (a->quote.allow_sim || a->quote.no_collateral ||
				a->quote.collateral || a->quote.at)) {
		fprintf(stderr, "dshield log verify: --allow-sim, --no-collateral, --collateral "
			"and --at go with --attestation\n");
		return 2;
	}
	if (a->quote.collateral && a->quote.no_collateral) {
		fprintf(stderr, "dshield log verify: --collateral and --no-collateral exclude "
			"each other\n");
		return 2;
	}
	a->quote.quote = a->attestation;
	return 0;
}

int lv_load_key(const char *cmd, const struct lv_key_src *src, struct note_key *k, bool quiet)
{
	char buf[NOTE_VKEY_MAX + 2], err[ERRBUF_LEN];
	const char *v = src->vkey;
	size_t len;

	if (src->attestation) {
		int r = verify_attestation_log_key(&src->quote, buf, sizeof buf);
		if (r == 1)
			fprintf(stderr, "%s: %s does not verify or binds no log key (report above): "
				"its key is not trusted, nothing else is checked\n", cmd,
				src->attestation);
		if (r != 0)
			return r;
		if (!quiet)
			printf("attestation: %s verified; it binds the log key %s\n", src->attestation,
			       buf);
		v = buf;
	} else if (src->key_file) {
		long n = file_read(src->key_file, buf, sizeof buf - 1);
		if (n < 0) {
			fprintf(stderr, "%s: --key-file %s: %s\n", cmd, src->key_file,
				n == -EFBIG ? "too large for a verifier key" : strerror((int)-n));
			return 2;
		}
		/* one trailing newline, as `echo` and editors leave it */
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		v = buf;
	}
	if (v == NULL) {
		fprintf(stderr, "%s: no verifier key given\n", cmd);
		return 2;
	}
	len = strlen(v);
	if (note_key_from_vkey(k, v, len, err, sizeof err) < 0) {
		fprintf(stderr, "%s: the verifier key: %s\n", cmd, err);
		return 2;
	}
	return 0;
}

/* The verifier key from --key, --key-file or a verified --attestation.
 * 0; 1 when the attestation does not verify (its report printed); 2 on
 * usage errors (message printed). */
static int load_key(void)
{
	struct lv_key_src src = { g.a.vkey, g.a.key_file, g.a.attestation, g.a.quote };

	return lv_load_key("dshield log verify", &src, &g.key, g.a.json);
}

/* Reads and verifies DIR/checkpoint. */
static bool load_checkpoint(void)
{
	char err[ERRBUF_LEN];
	uint64_t size = 0;
	int fd = open_sized("checkpoint", NOTE_MAX_LEN, &size);
	long n;

	if (fd == -EFBIG) {
		fail("checkpoint: %llu bytes, more than a signed note may have (%d)",
		     (unsigned long long)size, NOTE_MAX_LEN);
		return false;
	}
	if (fd < 0) {
		fail("checkpoint: %s", errstr(fd));
		return false;
	}
	n = file_read_fd(fd, g.note, NOTE_MAX_LEN);
	close(fd);
	if (n < 0) {
		fail("checkpoint: %s", strerror((int)-n));
		return false;
	}
	if (checkpoint_open(g.note, (size_t)n, &g.key, &g.cp, err, sizeof err) < 0) {
		fail("checkpoint: %s", err);
		return false;
	}
	return true;
}

/* Reads and verifies --trusted-checkpoint. 0, or 2 when unreadable. */
static int load_trusted(void)
{
	char err[ERRBUF_LEN];
	long n = file_read(g.a.trusted, g.tnote, NOTE_MAX_LEN);

	if (n < 0) {
		fprintf(stderr, "dshield log verify: --trusted-checkpoint %s: %s\n", g.a.trusted,
			n == -EFBIG ? "larger than a signed note may be" : strerror((int)-n));
		return 2;
	}
	if (checkpoint_open(g.tnote, (size_t)n, &g.key, &g.tcp, err, sizeof err) < 0)
		fail("trusted checkpoint %s: %s", g.a.trusted, err);
	else
		g.trusted_ok = true;
	return 0;
}

/* Without --trusted-checkpoint, the checkpoint a verified --attestation
 * vouches for is the trusted one: the log must extend what the VM stood
 * by when it was quoted. */
static void attested_trusted(void)
{
	char err[ERRBUF_LEN];
	size_t len;
	const char *note = verify_attested_checkpoint(&len);

	if (note == NULL || len > NOTE_MAX_LEN)
		return;
	memcpy(g.tnote, note, len);
	g.tnote[len] = '\0';
	if (checkpoint_open(g.tnote, len, &g.key, &g.tcp, err, sizeof err) < 0) {
		fail("the attested checkpoint: %s", err);
		return;
	}
	g.trusted_ok = true;
	if (!g.a.json)
		printf("attestation: it vouches for the checkpoint of size %llu, trusted below\n",
		       (unsigned long long)g.tcp.size);
}

static const char *const fn_fields[6] = { "deploy", "update", "delete", "invocations",
					  "egress", "refused" };

static void print_text(void)
{
	char h[2 * MERKLE_HASH_LEN + 1];
	bool any = false;

	printf("log: %s\n", g.a.dir);
	if (g.cp_ok) {
		hex_encode(h, g.cp.root, MERKLE_HASH_LEN);
		printf("checkpoint: origin \"%.*s\", size %llu, root %s, signed by %s+%08x\n",
		       (int)g.cp.origin_len, g.cp.origin, (unsigned long long)g.cp.size, h,
		       g.key.name, g.key.id);
	}
	if (g.trusted_ok) {
		hex_encode(h, g.tcp.root, MERKLE_HASH_LEN);
		printf("trusted checkpoint: size %llu, root %s: %s\n",
		       (unsigned long long)g.tcp.size, h,
		       g.consistent ? "the log extends it" : "NOT consistent with the log");
	}
	if (g.cp_ok)
		printf("read: %llu tiles, %llu entry bundles\n",
		       (unsigned long long)g.tiles_checked, (unsigned long long)g.bundles_checked);
	printf("entries: %llu decoded", (unsigned long long)g.entries);
	for (unsigned t = 1; t < 8; t++) {
		if (!g.by_type[t])
			continue;
		printf("%s%s %llu", any ? ", " : " (", log_entry_type_name(t),
		       (unsigned long long)g.by_type[t]);
		any = true;
	}
	printf("%s", any ? ")" : "");
	if (g.undecoded)
		printf(", %llu undecodable", (unsigned long long)g.undecoded);
	printf("\n");
	if (g.entries)
		printf("time: %llu .. %llu (unix ns)\n", (unsigned long long)g.first_ns,
		       (unsigned long long)g.last_ns);
	if (g.hosts.count)
		printf("egress by host:\n");
	for (size_t i = 0; i < g.hosts.count; i++) {
		const struct tally_item *it = &g.hosts.items[i];
		printf("  %s: %llu requests, %llu bytes up, %llu bytes down\n", it->key,
		       (unsigned long long)it->n[0], (unsigned long long)it->n[1],
		       (unsigned long long)it->n[2]);
	}
	if (g.refusals.count)
		printf("refusals:\n");
	for (size_t i = 0; i < g.refusals.count; i++)
		printf("  %s: %llu\n", g.refusals.items[i].key,
		       (unsigned long long)g.refusals.items[i].n[0]);
	if (g.functions.count)
		printf("functions:\n");
	for (size_t i = 0; i < g.functions.count; i++) {
		const struct tally_item *it = &g.functions.items[i];
		printf("  %s:", it->key);
		for (unsigned k = 0; k < 6; k++)
			printf("%s %s %llu", k ? "," : "", fn_fields[k], (unsigned long long)it->n[k]);
		printf("\n");
	}
	if (g.fails == 0)
		printf("result: OK, every check passed\n");
	else
		printf("result: FAILED, %llu failure(s)\n", (unsigned long long)g.fails);
}

/* Everything but "entries" as one JSON object (written after the entries
 * array, whose elements were streamed). */
static long json_tail(char *buf, size_t cap)
{
	struct jsonw w;

	jw_init(&w, buf, cap);
	jw_object_begin(&w);
	jw_key(&w, "checkpoint");
	if (g.cp_ok) {
		jw_object_begin(&w);
		jw_key(&w, "origin");
		jw_string_n(&w, g.cp.origin, g.cp.origin_len);
		jw_key(&w, "size");
		jw_u64(&w, g.cp.size);
		jw_key(&w, "root");
		jw_hex(&w, g.cp.root, MERKLE_HASH_LEN);
		jw_key(&w, "key");
		jw_string(&w, g.key.name);
		jw_object_end(&w);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "trusted");
	if (g.trusted_ok) {
		jw_object_begin(&w);
		jw_key(&w, "size");
		jw_u64(&w, g.tcp.size);
		jw_key(&w, "root");
		jw_hex(&w, g.tcp.root, MERKLE_HASH_LEN);
		jw_key(&w, "consistent");
		jw_bool(&w, g.consistent);
		jw_object_end(&w);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "tiles_read");
	jw_u64(&w, g.tiles_checked);
	jw_key(&w, "bundles_read");
	jw_u64(&w, g.bundles_checked);
	jw_key(&w, "summary");
	jw_object_begin(&w);
	jw_key(&w, "entries");
	jw_u64(&w, g.entries);
	jw_key(&w, "undecodable");
	jw_u64(&w, g.undecoded);
	jw_key(&w, "by_type");
	jw_object_begin(&w);
	for (unsigned t = 1; t < 8; t++) {
		jw_key(&w, log_entry_type_name(t));
		jw_u64(&w, g.by_type[t]);
	}
	jw_object_end(&w);
	jw_key(&w, "egress_by_host");
	jw_array_begin(&w);
	for (size_t i = 0; i < g.hosts.count; i++) {
		const struct tally_item *it = &g.hosts.items[i];
		jw_object_begin(&w);
		jw_key(&w, "host");
		jw_string_n(&w, it->key, it->key_len);
		jw_key(&w, "requests");
		jw_u64(&w, it->n[0]);
		jw_key(&w, "bytes_up");
		jw_u64(&w, it->n[1]);
		jw_key(&w, "bytes_down");
		jw_u64(&w, it->n[2]);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_key(&w, "refusals");
	jw_array_begin(&w);
	for (size_t i = 0; i < g.refusals.count; i++) {
		const struct tally_item *it = &g.refusals.items[i];
		const char *sp = memchr(it->key, ' ', it->key_len);
		size_t kl = (size_t)(sp - it->key);
		jw_object_begin(&w);
		jw_key(&w, "kind");
		jw_string_n(&w, it->key, kl);
		jw_key(&w, "name");
		jw_string_n(&w, sp + 1, it->key_len - kl - 1);
		jw_key(&w, "count");
		jw_u64(&w, it->n[0]);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_key(&w, "functions");
	jw_array_begin(&w);
	for (size_t i = 0; i < g.functions.count; i++) {
		const struct tally_item *it = &g.functions.items[i];
		jw_object_begin(&w);
		jw_key(&w, "id");
		jw_string_n(&w, it->key, it->key_len);
		for (unsigned k = 0; k < 6; k++) {
			jw_key(&w, fn_fields[k]);
			jw_u64(&w, it->n[k]);
		}
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	jw_key(&w, "failures");
	jw_array_begin(&w);
	for (uint64_t i = 0; i < g.fails && i < LV_FAIL_SHOWN; i++)
		jw_string(&w, g.failmsg[i]);
	jw_array_end(&w);
	jw_key(&w, "failures_total");
	jw_u64(&w, g.fails);
	jw_key(&w, "ok");
	jw_bool(&w, g.fails == 0);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* Closes the JSON document: the tail object's members after "entries". */
static int print_json_tail(void)
{
	size_t cap = 1 << 16;
	long n;

	for (;;) {
		char *buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		n = json_tail(buf, cap);
		if (n >= 0) {
			/* buf is "{...}": continue the open object after its '{' */
			printf("],%s\n", buf + 1);
			free(buf);
			return 0;
		}
		free(buf);
		if (n != -ENOSPC || cap >= (1u << 30))
			return (int)n;
		cap *= 2;
	}
}

/* A URL: the log is fetched into --save DIR (created: it must not exist)
 * or a temporary directory, which the walk then reads. A fetch that fails
 * is a failure; the files it did not get are reported missing after. 0,
 * or 2 when the URL or DIR is unusable. */
static int fetch_log(void)
{
	struct hc_url u;
	struct log_fetch_stats fs;
	char err[ERRBUF_LEN];

	if (hc_url_parse(g.a.url, &u, err, sizeof err) < 0) {
		fprintf(stderr, "dshield log verify: %s\n", err);
		return 2;
	}
	if (g.a.save) {
		if (mkdir(g.a.save, 0755) < 0) {
			fprintf(stderr, "dshield log verify: --save %s: %s\n", g.a.save,
				errno == EEXIST ? "exists already (give a new directory)" : strerror(errno));
			return 2;
		}
	} else {
		snprintf(g.tmpdir, sizeof g.tmpdir, "%s/dshield-log.XXXXXX",
			 getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp");
		if (mkdtemp(g.tmpdir) == NULL) {
			fprintf(stderr, "dshield log verify: a temporary directory: %s\n", strerror(errno));
			g.tmpdir[0] = '\0';
			return 2;
		}
		g.a.dir = g.tmpdir;
	}
	int r = log_fetch(&u, g.a.dir, g.a.timeout_ms, &fs, err, sizeof err);
	if (r < 0)
		fail("fetching %s: %s", g.a.url, err);
	if (!g.a.json)
		printf("fetched: %llu files, %llu bytes from %s%s%s\n", (unsigned long long)fs.files,
		       (unsigned long long)fs.bytes, g.a.url, g.a.save ? " into " : "",
		       g.a.save ? g.a.save : "");
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static int verify(void)
{
	int rc;

	if ((rc = load_key()) != 0)
		return rc;
	if (g.a.trusted && (rc = load_trusted()) != 0)
		return rc;
	if (g.a.attestation && !g.a.trusted)
		attested_trusted();
	g.have_trusted = g.trusted_ok;
	if (g.a.json) {
		g.ejson = malloc(ENTRY_JSON_MAX);
		if (!g.ejson) {
			fprintf(stderr, "dshield log verify: out of memory\n");
			return 1;
		}
		printf("{\"entries\":[");
		g.json_first = true;
	}
	if (g.a.url != NULL && (rc = fetch_log()) != 0)
		return rc;
	g.dirfd = open(g.a.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g.dirfd < 0)
		fail("%s: %s", g.a.dir, errstr(-errno));
	else if ((g.cp_ok = load_checkpoint()))
		walk();
	if (g.cp_ok && g.trusted_ok)
		check_trusted();
	tally_sort(&g.hosts);
	tally_sort(&g.refusals);
	tally_sort(&g.functions);
	if (g.a.json) {
		rc = print_json_tail();
		if (rc < 0) {
			fprintf(stderr, "dshield log verify: JSON output: %s\n", strerror(-rc));
			return 1;
		}
	} else {
		print_text();
	}
	return g.fails ? 1 : 0;
}

static void lv_reset(void)
{
	/* the temporary copy of a fetched log goes (--save keeps its DIR) */
	if (g.tmpdir[0] != '\0')
		nftw(g.tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(g.buf);
	free(g.ejson);
	tally_free(&g.hosts);
	tally_free(&g.refusals);
	tally_free(&g.functions);
	if (g.dirfd > 0)
		close(g.dirfd);
	memset(&g, 0, sizeof g);
	g.dirfd = -1;
}

int cmd_log(int argc, char **argv)
{
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return usage(argc < 2 ? stderr : stdout);
	if (strcmp(argv[1], "verify") != 0) {
		fprintf(stderr, "dshield log: unknown subcommand '%s'\n", argv[1]);
		return usage(stderr);
	}
	lv_reset();
	rc = parse_args(argc - 2, argv + 2, &g.a);
	if (rc == 0)
		rc = verify();
	else
		rc = usage(rc == 1 ? stdout : stderr);
	fflush(stdout);
	lv_reset();
	return rc;
}
