/* logd/store.c: the egress log's append-only store (logd/store.h). */
#include "logd/store.h"
#include "lib/bytes.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The window through which open reads the data file: one record always
 * fits (4 + 65535 + 8 bytes). */
#define SCAN_WINDOW (1u << 20)

/* Grows *p (elements of size elem, *cap of them) to hold need, doubling.
 * need is bounded by LOGSTORE_MAX_ENTRIES + 1, so nothing overflows. */
static int grow(void *pp, uint64_t *cap, uint64_t need, size_t elem)
{
	void **p = pp;
	uint64_t n = *cap ? *cap : 1024;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, (size_t)(n * elem));
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Reserves room for one more leaf in every level it can reach, so that
 * push_leaf() cannot fail half way. */
static int reserve_leaf(struct logstore *s)
{
	uint64_t n = s->size + 1;

	if (grow(&s->off, &s->off_cap, s->size + 2, sizeof *s->off) < 0)
		return -ENOMEM;
	for (unsigned l = 0; l < LOGSTORE_LEVELS && n; l++, n >>= TLOG_TILE_HEIGHT)
		if (grow(&s->level[l].hash, &s->level[l].cap, n, MERKLE_HASH_LEN) < 0)
			return -ENOMEM;
	return 0;
}

/* Adds the leaf whose record starts at off and ends at end; a tile that
 * fills becomes one hash of the level above (tlog_tile_root). */
static void push_leaf(struct logstore *s, const uint8_t leaf[MERKLE_HASH_LEN], uint64_t off,
		      uint64_t end)
{
	s->off[s->size] = off;
	s->off[s->size + 1] = end;
	s->size++;
	memcpy(s->level[0].hash[s->level[0].len++], leaf, MERKLE_HASH_LEN);
	for (unsigned l = 0; l + 1 < LOGSTORE_LEVELS; l++) {
		struct logstore_level *lv = &s->level[l];
		if (lv->len % TLOG_TILE_WIDTH != 0)
			break;
		struct logstore_level *up = &s->level[l + 1];
		tlog_tile_root(lv->hash[lv->len - TLOG_TILE_WIDTH], up->hash[up->len++]);
	}
}

static int fail(struct logstore *s, int code, const char *what)
{
	if (!s->failed) {
		s->failed = code;
		errbuf_set(s->why, sizeof s->why, code, "%s: %s", what, strerror(-code));
	}
	return code;
}

/* Reads (out: writes) exactly n bytes at off, continuing after short
 * transfers and EINTR: 0, -errno, or -EIO when a read finds the end of
 * the file (it shrank under us) or a write makes no progress. */
static int pio_all(int fd, uint8_t *p, size_t n, uint64_t off, bool out)
{
	while (n) {
		ssize_t r = out ? pwrite(fd, p, n, (off_t)off) : pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* --- open and recovery ---------------------------------------------------- */

struct scan {
	int fd;
	uint64_t fsize;
	uint8_t *buf;
	uint64_t off;           /* file offset of buf[0] */
	size_t len;
};

/* Bytes [off, off + n) of the file through the window: 1 with *p set, 0
 * when they run past the end of the file, or -errno. */
static int scan_get(struct scan *w, uint64_t off, size_t n, const uint8_t **p)
{
	if (off + n > w->fsize)
		return 0;
	if (off < w->off || off + n > w->off + w->len) {
		uint64_t want = w->fsize - off;
		if (want > SCAN_WINDOW)
			want = SCAN_WINDOW;
		int r = pio_all(w->fd, w->buf, (size_t)want, off, false);
		if (r < 0)
			return r;
		w->off = off;
		w->len = (size_t)want;
	}
	*p = w->buf + (off - w->off);
	return 1;
}

/* 1 when every byte of [from, to) is zero, 0 when one is not. */
static int scan_zero(struct scan *w, uint64_t from, uint64_t to)
{
	while (from < to) {
		uint64_t n = to - from;
		const uint8_t *p;
		if (n > SCAN_WINDOW)
			n = SCAN_WINDOW;
		int r = scan_get(w, from, (size_t)n, &p);
		if (r <= 0)
			return r < 0 ? r : -EIO;
		for (size_t i = 0; i < n; i++)
			if (p[i])
				return 0;
		from += n;
	}
	return 1;
}

/* 1 when the record's bytes in some sector, [off, end) cut at sector
 * boundaries, are all zero: a part that a torn write never put there. */
static int scan_zero_sector_part(struct scan *w, uint64_t off, uint64_t end)
{
	while (off < end) {
		uint64_t next = (off / LOGSTORE_SECTOR + 1) * LOGSTORE_SECTOR;
		if (next > end)
			next = end;
		int r = scan_zero(w, off, next);
		if (r != 0)
			return r;
		off = next;
	}
	return 0;
}

enum tail { TAIL_ZERO, TAIL_TORN, TAIL_CORRUPT };

/* What the first record that does not read back whole means: it starts at
 * off and claims rec bytes (cut, when they run past the end of the file).
 *   - Zeros from off on are the zeros ahead.
 *   - A short write (the disk full, a size limit) left a prefix of the
 *     record, then nothing: its last byte and every byte after are zero.
 *   - A crash in the middle of a sync leaves sectors of its window
 *     unwritten, in any order (the blocks were the file's already): a torn
 *     record is cut short or has an all-zero part, and its window began at
 *     or before off, so nothing was ever written LOGSTORE_WINDOW bytes
 *     past off.
 * Anything else is damage to what was acknowledged. */
static int judge_tail(struct scan *w, uint64_t off, uint64_t rec, bool cut)
{
	int r = scan_zero(w, off, w->fsize);

	if (r != 0)
		return r < 0 ? r : TAIL_ZERO;
	if (!cut && (r = scan_zero(w, off + rec - 1, w->fsize)) != 0)
		return r < 0 ? r : TAIL_TORN;
	if (!cut && (r = scan_zero_sector_part(w, off, off + rec)) <= 0)
		return r < 0 ? r : TAIL_CORRUPT;
	if (w->fsize - off > LOGSTORE_WINDOW &&
	    (r = scan_zero(w, off + LOGSTORE_WINDOW, w->fsize)) <= 0)
		return r < 0 ? r : TAIL_CORRUPT;
	return TAIL_TORN;
}

/* Reads every record into the tree and judges what follows the last:
 * *end is where the records end, *tail what lies after them. */
static int scan_records(struct logstore *s, struct scan *w, uint64_t *end, enum tail *tail,
			char err[ERRBUF_LEN])
{
	uint64_t off = LOGSTORE_MAGIC_LEN;
	uint8_t leaf[MERKLE_HASH_LEN];
	const uint8_t *p;
	int r = 0;

	*tail = TAIL_ZERO;
	while (off < w->fsize) {
		uint32_t len = 0;
		bool cut = off + 4 > w->fsize;
		if (!cut && (r = scan_get(w, off, 4, &p)) < 0)
			break;
		if (!cut && (len = be32(p)) > TLOG_ENTRY_MAX)
			return errbuf_set(err, ERRBUF_LEN, -EBADMSG,
					  "data: record %llu at offset %llu: length %u over %u",
					  (unsigned long long)s->size, (unsigned long long)off, len,
					  TLOG_ENTRY_MAX);
		size_t rec = LOGSTORE_REC_OVERHEAD + len;
		cut = cut || off + rec > w->fsize;
		if (!cut && (r = scan_get(w, off, rec, &p)) < 0)
			break;
		if (!cut)
			merkle_leaf_hash(leaf, p + 4, len);
		if (cut || memcmp(leaf, p + 4 + len, LOGSTORE_CHECK_LEN) != 0) {
			if ((r = judge_tail(w, off, rec, cut)) < 0)
				break;
			if (r == TAIL_CORRUPT)
				return errbuf_set(err, ERRBUF_LEN, -EBADMSG,
						  "data: record %llu at offset %llu: %s",
						  (unsigned long long)s->size, (unsigned long long)off,
						  cut ? "cut short, with data written after it"
						      : "check value mismatch");
			*tail = (enum tail)r;
			break;
		}
		if (s->size >= LOGSTORE_MAX_ENTRIES)
			return errbuf_set(err, ERRBUF_LEN, -EOVERFLOW, "data: more than %llu entries",
					  (unsigned long long)LOGSTORE_MAX_ENTRIES);
		if (reserve_leaf(s) < 0)
			return errbuf_set(err, ERRBUF_LEN, -ENOMEM, "out of memory at record %llu",
					  (unsigned long long)s->size);
		push_leaf(s, leaf, off, off + rec);
		off += rec;
	}
	if (r < 0)
		return errbuf_set(err, ERRBUF_LEN, r, "reading the data file at %llu: %s",
				  (unsigned long long)off, strerror(-r));
	*end = off;
	return 0;
}

/* A new (empty) data file gets its magic, durably, and the directory entry
 * too; a file shorter than the magic that begins like it is a creation
 * that was cut short, and starts again. */
static int check_magic(struct logstore *s, uint64_t fsize, char err[ERRBUF_LEN])
{
	uint8_t m[LOGSTORE_MAGIC_LEN];
	size_t n = fsize < LOGSTORE_MAGIC_LEN ? (size_t)fsize : LOGSTORE_MAGIC_LEN;
	ssize_t r;

	if (n && (r = pread(s->fd, m, n, 0)) != (ssize_t)n)
		return errbuf_set(err, ERRBUF_LEN, r < 0 ? -errno : -EIO, "reading the data file's magic");
	if (memcmp(m, LOGSTORE_MAGIC, n) != 0)
		return errbuf_set(err, ERRBUF_LEN, -EBADMSG, "data: not a dshield log store (bad magic)");
	if (n == LOGSTORE_MAGIC_LEN)
		return 0;
	r = pwrite(s->fd, LOGSTORE_MAGIC, LOGSTORE_MAGIC_LEN, 0);
	if (r != LOGSTORE_MAGIC_LEN || fdatasync(s->fd) < 0 || fsync(s->dirfd) < 0) {
		int code = r >= 0 && r != LOGSTORE_MAGIC_LEN ? -EIO : -errno;
		return errbuf_set(err, ERRBUF_LEN, code, "creating the data file: %s", strerror(-code));
	}
	return 0;
}

static int open_files(struct logstore *s, const char *dir, char err[ERRBUF_LEN])
{
	bool created = mkdir(dir, 0700) == 0;

	if (!created && errno != EEXIST)
		return errbuf_set(err, ERRBUF_LEN, -errno, "mkdir %s: %s", dir, strerror(errno));
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "open %s: %s", dir, strerror(errno));
	if (created) {
		/* A new directory's own entry must be durable too. */
		int parent = openat(s->dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int r = parent < 0 ? -errno : fsync(parent) < 0 ? -errno : 0;
		if (parent >= 0)
			close(parent);
		if (r < 0)
			return errbuf_set(err, ERRBUF_LEN, r, "fsync of %s's parent: %s", dir, strerror(-r));
	}
	s->fd = openat(s->dirfd, "data", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->fd < 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "open %s/data: %s", dir, strerror(errno));
	if (flock(s->fd, LOCK_EX | LOCK_NB) < 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "%s/data: %s (another store has it open)",
				  dir, strerror(errno));
	return 0;
}

static int recover(struct logstore *s, char err[ERRBUF_LEN])
{
	struct stat st;
	struct scan w = { .fd = s->fd };
	uint64_t end = 0;
	enum tail tail;
	int r;

	if (fstat(s->fd, &st) < 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "stat data: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "data: not a regular file");
	if ((r = check_magic(s, (uint64_t)st.st_size, err)) < 0)
		return r;
	w.fsize = st.st_size < LOGSTORE_MAGIC_LEN ? LOGSTORE_MAGIC_LEN : (uint64_t)st.st_size;
	if (!(w.buf = malloc(SCAN_WINDOW)))
		return errbuf_set(err, ERRBUF_LEN, -ENOMEM, "out of memory");
	r = scan_records(s, &w, &end, &tail, err);
	free(w.buf);
	if (r < 0)
		return r;
	s->file_len = w.fsize;
	if (tail == TAIL_TORN) {
		/* The zeros ahead go with it; the next sync writes them again. */
		if (ftruncate(s->fd, (off_t)end) < 0 || fdatasync(s->fd) < 0)
			return errbuf_set(err, ERRBUF_LEN, -errno, "truncating a torn tail: %s",
					  strerror(errno));
		s->torn_bytes = w.fsize - end;
		s->file_len = end;
		errbuf_set(err, ERRBUF_LEN, 0, "data: dropped a torn tail of %llu bytes at offset %llu (entry %llu)",
			   (unsigned long long)s->torn_bytes, (unsigned long long)end,
			   (unsigned long long)s->size);
	}
	s->data_len = end;
	s->committed = s->size;
	return 0;
}

int logstore_open(struct logstore *s, const char *dir, char err[ERRBUF_LEN])
{
	int r;

	memset(s, 0, sizeof *s);
	s->dirfd = s->fd = -1;
	s->prealloc = LOGSTORE_PREALLOC;
	err[0] = '\0';
	if ((r = open_files(s, dir, err)) < 0 || (r = recover(s, err)) < 0) {
		logstore_close(s);
		return r;
	}
	return 0;
}

void logstore_close(struct logstore *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->off);
	free(s->pend);
	for (unsigned l = 0; l < LOGSTORE_LEVELS; l++)
		free(s->level[l].hash);
	memset(s, 0, sizeof *s);
	s->dirfd = s->fd = -1;
}

/* --- appending ------------------------------------------------------------- */

int logstore_append(struct logstore *s, const void *entry, size_t len, uint64_t *index)
{
	uint8_t leaf[MERKLE_HASH_LEN];
	size_t rec = LOGSTORE_REC_OVERHEAD + len;

	if (s->failed)
		return s->failed;
	if (len > TLOG_ENTRY_MAX)
		return -EMSGSIZE;
	if (s->size >= LOGSTORE_MAX_ENTRIES)
		return -EOVERFLOW;
	uint64_t cap = s->pend_cap;
	if (grow(&s->pend, &cap, s->pend_len + rec, 1) < 0 || reserve_leaf(s) < 0)
		return -ENOMEM;
	s->pend_cap = (size_t)cap;
	merkle_leaf_hash(leaf, entry, len);
	uint8_t *p = s->pend + s->pend_len;
	put_be32(p, (uint32_t)len);
	if (len)
		memcpy(p + 4, entry, len);
	memcpy(p + 4 + len, leaf, LOGSTORE_CHECK_LEN);
	uint64_t off = s->data_len + s->pend_len;
	s->pend_len += rec;
	push_leaf(s, leaf, off, off + rec);
	*index = s->size - 1;
	return 0;
}

/* Keeps zeros ahead of the records, which end at end: when they reach
 * past the file, it grows to between one and two s->prealloc past them,
 * with zeros written (a hole or an unwritten extent would need its
 * own allocation at the next sync). The sync that follows makes them
 * durable with the records. The disk may refuse (ENOSPC, EFBIG): then the
 * store stops trying, and what it wrote is zeros, which recovery takes
 * for what they are. */
static void keep_zeros_ahead(struct logstore *s, uint64_t end)
{
	enum { CHUNK = 64 * 1024 };

	if (end <= s->file_len)
		return;
	if (s->prealloc_refused || s->prealloc == 0) {
		s->file_len = end;
		return;
	}
	uint64_t want = (end / s->prealloc + 2) * s->prealloc;
	uint8_t *zeros = calloc(1, CHUNK);
	if (!zeros)
		return;  /* next time */
	for (uint64_t off = end; off < want; off += CHUNK) {
		size_t n = want - off < CHUNK ? (size_t)(want - off) : CHUNK;
		if (pio_all(s->fd, zeros, n, off, true) < 0) {
			s->prealloc_refused = 1;
			want = end;
			break;
		}
	}
	free(zeros);
	s->file_len = want;
}

/* The end of the window of pending records that starts at record first:
 * whole records, at most LOGSTORE_WINDOW bytes, at least one record. */
static uint64_t window_end(const struct logstore *s, uint64_t *first)
{
	uint64_t start = s->off[*first], i = *first + 1;

	while (i < s->size && s->off[i + 1] - start <= LOGSTORE_WINDOW)
		i++;
	*first = i;
	return s->off[i];
}

int logstore_sync(struct logstore *s)
{
	uint64_t next = s->committed;
	int r;

	if (s->failed)
		return s->failed;
	if (s->pend_len == 0)
		return 0;
	while (next < s->size) {
		uint64_t from = s->off[next], to = window_end(s, &next);
		if ((r = pio_all(s->fd, s->pend + (from - s->data_len), (size_t)(to - from), from, true)) < 0)
			return fail(s, r, "writing the data file");
		if (next == s->size)
			keep_zeros_ahead(s, to);
		if (fdatasync(s->fd) < 0)
			return fail(s, -errno, "fdatasync of the data file");
		s->syncs++;
	}
	s->data_len += s->pend_len;
	s->pend_len = 0;
	s->committed = s->size;
	return 0;
}

uint64_t logstore_committed(const struct logstore *s)
{
	return s->committed;
}

const char *logstore_why(const struct logstore *s)
{
	return s->why;
}

/* --- serving --------------------------------------------------------------- */

int logstore_node(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	struct logstore *s = ctx;
	struct tlog_tile t;
	unsigned first, count;

	if (level >= 64 || (s->committed >> level) <= index)
		return -ENOENT;
	tlog_tile_for_node(level, index, &t, &first, &count);
	if (t.level >= LOGSTORE_LEVELS)
		return -ENOENT;
	/* The tile's hashes that exist for the committed size. */
	uint64_t have = (s->committed >> (TLOG_TILE_HEIGHT * t.level)) - t.index * TLOG_TILE_WIDTH;
	if (have > TLOG_TILE_WIDTH)
		have = TLOG_TILE_WIDTH;
	return tlog_tile_node_hash(s->level[t.level].hash[t.index * TLOG_TILE_WIDTH],
				   (size_t)have * MERKLE_HASH_LEN, level, index, out);
}

int logstore_root(struct logstore *s, uint64_t size, uint8_t out[MERKLE_HASH_LEN])
{
	if (size > s->committed)
		return -ENOENT;
	return merkle_root(size, logstore_node, s, out);
}

/* -EINVAL, -ENOENT or 0 for the tile's hashes at level l, from first. */
static int tile_range(const struct logstore *s, unsigned level, uint64_t index, unsigned width,
		      uint64_t *first)
{
	if (level >= LOGSTORE_LEVELS || width < 1 || width > TLOG_TILE_WIDTH)
		return -EINVAL;
	uint64_t have = s->committed >> (TLOG_TILE_HEIGHT * level);
	if (index >= have / TLOG_TILE_WIDTH + 1 || index * TLOG_TILE_WIDTH + width > have)
		return -ENOENT;
	*first = index * TLOG_TILE_WIDTH;
	return 0;
}

long logstore_tile(struct logstore *s, unsigned level, uint64_t index, unsigned width,
		   uint8_t *out, size_t cap)
{
	uint64_t first;
	int r = tile_range(s, level, index, width, &first);
	size_t n = (size_t)width * MERKLE_HASH_LEN;

	if (r < 0)
		return r;
	if (cap < n)
		return -ENOSPC;
	memcpy(out, s->level[level].hash[first], n);
	return (long)n;
}


long logstore_bundle(struct logstore *s, uint64_t index, unsigned width, uint8_t *out, size_t cap)
{
	uint8_t leaf[MERKLE_HASH_LEN];
	uint64_t first;
	size_t len = 0;
	int r = tile_range(s, 0, index, width, &first);

	if (r < 0)
		return r;
	for (uint64_t i = first; i < first + width; i++) {
		/* The record's length comes from the offsets, which open and
		 * append checked; the entry read back is checked again. */
		size_t n = (size_t)(s->off[i + 1] - s->off[i]) - LOGSTORE_REC_OVERHEAD;
		if (cap - len < 2 + n)
			return -ENOSPC;
		out[len] = (uint8_t)(n >> 8);
		out[len + 1] = (uint8_t)n;
		if ((r = pio_all(s->fd, out + len + 2, n, s->off[i] + 4, false)) < 0)
			return r;
		merkle_leaf_hash(leaf, out + len + 2, n);
		if (memcmp(leaf, s->level[0].hash[i], MERKLE_HASH_LEN) != 0)
			return -EIO;
		len += 2 + n;
	}
	return (long)len;
}
