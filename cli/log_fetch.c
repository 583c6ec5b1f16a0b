/* cli/log_fetch.c: see log_fetch.h. */
#include "cli/log_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/note.h"
#include "crypto/tlog_tiles.h"
#include "lib/errbuf.h"

/* The tree size on the checkpoint's second line (the verifier checks the
 * rest, and the signature). 0, or -EBADMSG. */
static int note_size(const char *note, size_t len, uint64_t *size)
{
	const char *p = memchr(note, '\n', len);
	uint64_t v = 0;
	size_t digits = 0;

	if (p == NULL)
		return -EBADMSG;
	for (p++; p < note + len && *p >= '0' && *p <= '9'; p++, digits++) {
		if (v > (INT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (digits == 0 || p >= note + len || *p != '\n')
		return -EBADMSG;
	*size = v;
	return 0;
}

/* Writes dir/rel (its directories created), a new file. */
static int save(const char *dir, const char *rel, const void *p, size_t n, char *err,
		size_t errcap)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, rel) >= sizeof path)
		return errbuf_set(err, errcap, -ENAMETOOLONG, "%s/%s: too long", dir, rel);
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return errbuf_set(err, errcap, -errno, "%s: %s", path, strerror(errno));
		*s = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errbuf_set(err, errcap, -errno, "%s: %s", path, strerror(errno));
	for (size_t off = 0; off < n;) {
		ssize_t k = write(fd, (const char *)p + off, n - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : EIO;
			close(fd);
			return errbuf_set(err, errcap, -e, "%s: %s", path, strerror(e));
		}
		off += (size_t)k;
	}
	if (close(fd) < 0)
		return errbuf_set(err, errcap, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

/* Gets rel (at most cap bytes) from src and saves it. */
static int fetch(const struct log_source *src, const char *dir, const char *rel, void *buf,
		 size_t cap, struct log_fetch_stats *st, char *err, size_t errcap)
{
	char why[ERRBUF_LEN];
	long n = src->get(src->ctx, rel, buf, cap, why, sizeof why);

	if (n < 0) {
		snprintf(st->failed, sizeof st->failed, "%s", rel);
		return errbuf_set(err, errcap, (int)n, "%s: %s", rel, why);
	}
	int r = save(dir, rel, buf, (size_t)n, err, errcap);
	if (r < 0)
		return r;
	st->files++;
	st->bytes += (uint64_t)n;
	return 0;
}

int log_copy_tiles(const struct log_source *src, const char *dir, uint64_t size, uint8_t *buf,
		   struct log_fetch_stats *st, char *err, size_t errcap)
{
	int top = tlog_tiles_top_level(size);

	for (int level = 0; level <= top; level++) {
		uint64_t full;
		unsigned pw = tlog_tiles_at_level(size, (unsigned)level, &full);

		for (uint64_t t = 0; t < full + (pw ? 1 : 0); t++) {
			struct tlog_tile tt = { false, (uint8_t)level, t,
						(uint16_t)(t < full ? TLOG_TILE_WIDTH : pw) };
			char rel[TLOG_TILE_PATH_MAX];
			int r;

			if (tlog_tile_path(rel, sizeof rel, &tt) < 0)
				return errbuf_set(err, errcap, -EINVAL, "a tile out of range");
			r = fetch(src, dir, rel, buf, (size_t)tt.width * MERKLE_HASH_LEN, st, err, errcap);
			if (r < 0)
				return r;
			if (level != 0)
				continue;
			tt.entries = true;
			if (tlog_tile_path(rel, sizeof rel, &tt) < 0)
				return errbuf_set(err, errcap, -EINVAL, "a bundle out of range");
			r = fetch(src, dir, rel, buf, LOG_BUNDLE_MAX, st, err, errcap);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static long hc_source_get(void *ctx, const char *rel, void *buf, size_t cap, char *why,
			  size_t whycap)
{
	return hc_get(ctx, rel, buf, cap, why, whycap);
}

int log_fetch(const struct hc_url *u, const char *dir, unsigned timeout_ms,
	      struct log_fetch_stats *st, char *err, size_t errcap)
{
	struct hc h;
	uint8_t *buf = malloc(LOG_BUNDLE_MAX);
	struct log_source src = { hc_source_get, &h };
	int r;

	memset(st, 0, sizeof *st);
	if (buf == NULL)
		return errbuf_set(err, errcap, -ENOMEM, "out of memory");
	hc_init(&h, u, timeout_ms);
	r = fetch(&src, dir, "checkpoint", buf, NOTE_MAX_LEN, st, err, errcap);
	if (r == 0 && note_size((const char *)buf, (size_t)st->bytes, &st->size) < 0) {
		snprintf(st->failed, sizeof st->failed, "checkpoint");
		r = errbuf_set(err, errcap, -EBADMSG, "checkpoint: no tree size on its second line");
	}
	if (r == 0)
		r = log_copy_tiles(&src, dir, st->size, buf, st, err, errcap);
	hc_close(&h);
	free(buf);
	return r;
}
