/* keyd/tsm_report.c: see tsm_report.h. */
#include "keyd/tsm_report.h"
#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_LEN 256

static int attr_path(char out[PATH_LEN], const char *dir, const char *attr)
{
	int n = snprintf(out, PATH_LEN, "%s/%s", dir, attr);
	return n < 0 || n >= PATH_LEN ? -ENAMETOOLONG : 0;
}

/* Reads a whole attribute into buf[0..cap). Returns its length, -EFBIG
 * when it does not fit, or -errno. */
static long read_attr(const char *path, void *buf, size_t cap)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		uint8_t probe;
		ssize_t n = got < cap ? read(fd, (uint8_t *)buf + got, cap - got) : read(fd, &probe, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		if (got >= cap) {
			close(fd);
			return -EFBIG;
		}
		got += (size_t)n;
	}
	close(fd);
	return (long)got;
}

/* Reads the text attribute dir/name (its path left in path) into text,
 * cap bytes with the NUL, less a trailing newline. Returns its length, or
 * a negative errno with err set (-ENAMETOOLONG without). */
static long read_text_attr(const char *dir, const char *name, char path[PATH_LEN],
			   char *text, size_t cap, char err[TSM_ERR_LEN])
{
	long n;

	if (attr_path(path, dir, name) < 0)
		return -ENAMETOOLONG;
	n = read_attr(path, text, cap - 1);
	if (n < 0) {
		snprintf(err, TSM_ERR_LEN, "reading %s: %s", path, strerror((int)-n));
		return n;
	}
	text[n] = '\0';
	if (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	return n;
}

/* The generation counter: decimal digits and an optional newline. */
static int read_generation(const char *dir, unsigned long *gen, char err[TSM_ERR_LEN])
{
	char path[PATH_LEN], text[32];
	char *end;
	long n;

	n = read_text_attr(dir, "generation", path, text, sizeof text, err);
	if (n < 0)
		return (int)n;
	errno = 0;
	*gen = strtoul(text, &end, 10);
	if (n == 0 || *end != '\0' || errno != 0 || text[0] < '0' || text[0] > '9') {
		snprintf(err, TSM_ERR_LEN, "%s is not a number: \"%.20s\"", path, text);
		return -EPROTO;
	}
	return 0;
}

static int check_provider(const char *dir, char err[TSM_ERR_LEN])
{
	char path[PATH_LEN], text[64];
	long n;

	n = read_text_attr(dir, "provider", path, text, sizeof text, err);
	if (n < 0)
		return (int)n;
	if (strcmp(text, TSM_PROVIDER_TDX) != 0) {
		snprintf(err, TSM_ERR_LEN, "%s is \"%.40s\", not \"" TSM_PROVIDER_TDX "\"",
			 path, text);
		return -EPROTO;
	}
	return 0;
}

static int write_inblob(const char *dir, const uint8_t inblob[TSM_INBLOB_LEN],
			char err[TSM_ERR_LEN])
{
	char path[PATH_LEN];
	const char *step;
	int r;

	if (attr_path(path, dir, "inblob") < 0)
		return -ENAMETOOLONG;
	/* One write of all 64 bytes: the kernel takes the blob per write. */
	r = file_write_once(path, inblob, TSM_INBLOB_LEN, &step);
	if (r < 0)
		snprintf(err, TSM_ERR_LEN, "%s %s (64 bytes): %s", step, path, strerror(-r));
	return r;
}

static long read_outblob(const char *dir, uint8_t *out, size_t cap, char err[TSM_ERR_LEN])
{
	char path[PATH_LEN];
	long n;

	if (attr_path(path, dir, "outblob") < 0)
		return -ENAMETOOLONG;
	n = read_attr(path, out, cap);
	if (n == -EFBIG)
		snprintf(err, TSM_ERR_LEN, "%s holds more than %zu bytes", path, cap);
	else if (n < 0)
		snprintf(err, TSM_ERR_LEN, "reading %s: %s", path, strerror((int)-n));
	else if (n == 0) {
		snprintf(err, TSM_ERR_LEN, "%s is empty: no quote", path);
		n = -ENODATA;
	}
	return n;
}

/* One request in an existing directory. -EAGAIN when generation raced. */
static long one_attempt(const char *dir, const uint8_t inblob[TSM_INBLOB_LEN], uint8_t *out,
			size_t cap, const struct tsm_hooks *hooks, char err[TSM_ERR_LEN])
{
	unsigned long g0, g1;
	long n;
	int r;

	if ((r = check_provider(dir, err)) < 0 || (r = read_generation(dir, &g0, err)) < 0 ||
	    (r = write_inblob(dir, inblob, err)) < 0)
		return r;
	if (hooks && hooks->after_inblob)
		hooks->after_inblob(hooks->ctx, dir);
	n = read_outblob(dir, out, cap, err);
	if (n < 0)
		return n;
	if ((r = read_generation(dir, &g1, err)) < 0)
		return r;
	if (g1 != g0 + 1) {
		snprintf(err, TSM_ERR_LEN, "%s/generation went from %lu to %lu: another writer "
			 "raced this request", dir, g0, g1);
		return -EAGAIN;
	}
	return n;
}

long tsm_report_quote(const char *root, unsigned *seq, const uint8_t inblob[TSM_INBLOB_LEN],
		      uint8_t *out, size_t cap, const struct tsm_hooks *hooks,
		      char err[TSM_ERR_LEN])
{
	char dir[PATH_LEN];
	long n = -EAGAIN;
	int e;

	err[0] = '\0';
	if (cap > TSM_OUTBLOB_MAX)
		cap = TSM_OUTBLOB_MAX;
	for (int attempt = 0; attempt < TSM_RETRIES && n == -EAGAIN; attempt++) {
		/* A fresh directory each time: its generation starts over and
		 * no one else knows its name. */
		int k = snprintf(dir, sizeof dir, "%s/dshield-%ld-%u", root, (long)getpid(), (*seq)++);
		if (k < 0 || (size_t)k >= sizeof dir) {
			snprintf(err, TSM_ERR_LEN, "configfs-tsm path too long");
			return -ENAMETOOLONG;
		}
		if (mkdir(dir, 0700) != 0) {
			e = errno;
			if (e == EEXIST) {
				n = -EAGAIN;
				snprintf(err, TSM_ERR_LEN, "mkdir %s: %s", dir, strerror(e));
				continue;
			}
			if (e == ENOENT)
				snprintf(err, TSM_ERR_LEN, "mkdir %s: %s (configfs not mounted, or "
					 "tsm_report not loaded)", dir, strerror(e));
			else
				snprintf(err, TSM_ERR_LEN, "mkdir %s: %s", dir, strerror(e));
			return e == ENOENT ? -ENODEV : -e;
		}
		if (hooks && hooks->after_mkdir)
			hooks->after_mkdir(hooks->ctx, dir);
		n = one_attempt(dir, inblob, out, cap, hooks, err);
		if (hooks && hooks->before_rmdir)
			hooks->before_rmdir(hooks->ctx, dir);
		if (rmdir(dir) != 0 && n >= 0) {
			e = errno;
			snprintf(err, TSM_ERR_LEN, "rmdir %s: %s", dir, strerror(e));
			return -e;
		}
	}
	return n;
}
