/* image/cpio.c: deterministic cpio "newc" writer (see cpio.h). */
#include "image/cpio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEWC_MAGIC   "070701"
#define NEWC_HDR_LEN 110
#define TRAILER      "TRAILER!!!"

__attribute__((format(printf, 3, 4)))
static int fail(struct cpio_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

/* --- spec parsing ---------------------------------------------------------- */

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Splits line into at most max whitespace-separated tokens; returns the
 * count, or max + 1 when there are more. */
static int tokenize(char *line, char **tok, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			return n;
		if (n == max)
			return max + 1;
		tok[n++] = p;
		while (*p != '\0' && !is_blank(*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

/* Octal permission bits, 1 to 5 digits, at most 07777. */
static int parse_mode(const char *s, uint32_t *mode)
{
	uint32_t v = 0;
	size_t i, len = strlen(s);

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7')
			return -1;
		v = v * 8 + (uint32_t)(s[i] - '0');
	}
	if (v > 07777)
		return -1;
	*mode = v;
	return 0;
}

/* Decimal, no sign, no leading zeros beyond "0", at most max. */
static int parse_dec(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i, len = strlen(s);

	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* NULL if path is acceptable inside the archive, else the reason. */
static const char *bad_path(const char *path)
{
	const char *c = path, *p;
	size_t len = strlen(path);

	if (len == 0)
		return "empty path";
	if (len >= CPIO_PATH_MAX)
		return "path too long";
	if (path[0] == '/')
		return "path starts with '/' (archive paths are relative)";
	if (path[len - 1] == '/')
		return "path ends with '/'";
	if (strstr(path, "//"))
		return "path contains '//'";
	for (p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "path contains a control character";
	/* Each component: not "." and not "..". */
	while (*c) {
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "path has a '.' or '..' component";
		c += n;
		if (*c == '/')
			c++;
	}
	return NULL;
}

static int parse_line(char *line, unsigned lineno, struct cpio_entry *e,
		      struct cpio_err *err)
{
	char *tok[7];
	int n = tokenize(line, tok, 6);
	const char *why;
	uint32_t perm;

	if (n == 0 || tok[0][0] == '#')
		return 0;
	if (n < 3)
		return fail(err, -EINVAL, "line %u: expected TYPE PATH MODE ...", lineno);
	memset(e, 0, sizeof *e);
	e->line = lineno;
	e->path = tok[1];
	if ((why = bad_path(tok[1])) != NULL)
		return fail(err, -EINVAL, "line %u: '%s': %s", lineno, tok[1], why);
	if (parse_mode(tok[2], &perm) < 0)
		return fail(err, -EINVAL, "line %u: '%s': bad mode '%s' (octal, at most 07777)",
			    lineno, tok[1], tok[2]);

	if (strcmp(tok[0], "dir") == 0) {
		if (n != 3)
			return fail(err, -EINVAL, "line %u: dir takes PATH MODE only", lineno);
		e->type = CPIO_DIR;
		e->mode = S_IFDIR | perm;
	} else if (strcmp(tok[0], "file") == 0) {
		if (n != 4)
			return fail(err, -EINVAL, "line %u: file takes PATH MODE SOURCE", lineno);
		if (strlen(tok[3]) >= CPIO_LINE_MAX)
			return fail(err, -EINVAL, "line %u: source path too long", lineno);
		e->type = CPIO_FILE;
		e->mode = S_IFREG | perm;
		e->source = tok[3];
	} else if (strcmp(tok[0], "slink") == 0) {
		if (n != 4)
			return fail(err, -EINVAL, "line %u: slink takes PATH MODE TARGET", lineno);
		if (strlen(tok[3]) >= CPIO_PATH_MAX)
			return fail(err, -EINVAL, "line %u: symlink target too long", lineno);
		e->type = CPIO_SLINK;
		e->mode = S_IFLNK | perm;
		e->source = tok[3];
	} else if (strcmp(tok[0], "nod") == 0) {
		if (n != 6)
			return fail(err, -EINVAL, "line %u: nod takes PATH MODE c|b MAJOR MINOR", lineno);
		if (strcmp(tok[3], "c") == 0)
			e->mode = S_IFCHR | perm;
		else if (strcmp(tok[3], "b") == 0)
			e->mode = S_IFBLK | perm;
		else
			return fail(err, -EINVAL, "line %u: nod type '%s' is not c or b", lineno, tok[3]);
		/* Linux dev_t: 12-bit major, 20-bit minor. */
		if (parse_dec(tok[4], 4095, &e->rmajor) < 0 ||
		    parse_dec(tok[5], 1048575, &e->rminor) < 0)
			return fail(err, -EINVAL, "line %u: bad device number '%s %s'",
				    lineno, tok[4], tok[5]);
		e->type = CPIO_NOD;
	} else {
		return fail(err, -EINVAL, "line %u: unknown type '%s' (dir, file, slink, nod)",
			    lineno, tok[0]);
	}
	return 1;
}

long cpio_parse_spec(char *buf, size_t len, struct cpio_entry *e, size_t max,
		     struct cpio_err *err)
{
	size_t off = 0, count = 0;
	unsigned lineno = 0;

	while (off < len) {
		char *line = buf + off;
		size_t rest = len - off;
		char *nl = memchr(line, '\n', rest);
		size_t llen = nl ? (size_t)(nl - line) : rest;
		int r;

		lineno++;
		if (llen > CPIO_LINE_MAX)
			return fail(err, -E2BIG, "line %u: longer than %d bytes", lineno, CPIO_LINE_MAX);
		if (memchr(line, '\0', llen))
			return fail(err, -EINVAL, "line %u: contains a NUL byte", lineno);
		if (nl)
			*nl = '\0';
		else if (off + llen == len) {
			/* The last line has no newline and no room for a NUL:
			 * the caller's buffer ends here, so refuse rather than
			 * read past it. */
			return fail(err, -EINVAL, "line %u: no newline at end of spec", lineno);
		}
		off += llen + 1;
		if (count == max) {
			/* Blank and comment lines still fit. */
			struct cpio_entry scratch;
			r = parse_line(line, lineno, &scratch, err);
			if (r > 0)
				return fail(err, -E2BIG, "line %u: more than %zu entries", lineno, max);
		} else {
			r = parse_line(line, lineno, &e[count], err);
		}
		if (r < 0)
			return r;
		count += (size_t)r;
	}
	return (long)count;
}

/* --- checks ------------------------------------------------------------------ */

static int by_path(const void *a, const void *b)
{
	const struct cpio_entry *x = a, *y = b;
	return strcmp(x->path, y->path);
}

/* Finds the entry whose path is the first len bytes of want. */
static const struct cpio_entry *find(const struct cpio_entry *e, size_t n,
				     const char *want, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(e[mid].path, want, len);
		if (c == 0 && e[mid].path[len] != '\0')
			c = 1;
		if (c == 0)
			return &e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int cpio_check(struct cpio_entry *e, size_t n, struct cpio_err *err)
{
	size_t i;

	qsort(e, n, sizeof *e, by_path);
	for (i = 0; i < n; i++) {
		const char *slash = strrchr(e[i].path, '/');

		if (i > 0 && strcmp(e[i - 1].path, e[i].path) == 0)
			return fail(err, -EEXIST, "line %u: '%s' already listed on line %u",
				    e[i].line > e[i - 1].line ? e[i].line : e[i - 1].line,
				    e[i].path,
				    e[i].line > e[i - 1].line ? e[i - 1].line : e[i].line);
		if (slash) {
			size_t plen = (size_t)(slash - e[i].path);
			const struct cpio_entry *p = find(e, n, e[i].path, plen);
			if (!p)
				return fail(err, -ENOENT, "line %u: parent directory '%.*s' of '%s' is not in the spec",
					    e[i].line, (int)plen, e[i].path, e[i].path);
			if (p->type != CPIO_DIR)
				return fail(err, -ENOTDIR, "line %u: parent '%s' of '%s' is not a dir (line %u)",
					    e[i].line, p->path, e[i].path, p->line);
		}
		if (e[i].type == CPIO_FILE) {
			struct stat st;
			if (stat(e[i].source, &st) < 0)
				return fail(err, -errno, "line %u: source '%s' of '%s': %s",
					    e[i].line, e[i].source, e[i].path, strerror(errno));
			if (!S_ISREG(st.st_mode))
				return fail(err, -EINVAL, "line %u: source '%s' is not a regular file",
					    e[i].line, e[i].source);
			if ((unsigned long long)st.st_size > CPIO_FILE_MAX)
				return fail(err, -EFBIG, "line %u: source '%s' is larger than 4 GiB",
					    e[i].line, e[i].source);
		}
	}
	return 0;
}

/* --- writing ------------------------------------------------------------------ */

struct out {
	int fd;
	unsigned long long total;
	size_t used;
	unsigned char buf[65536];
};

static int flush_out(struct out *o, struct cpio_err *err)
{
	size_t off = 0;

	while (off < o->used) {
		ssize_t w = write(o->fd, o->buf + off, o->used - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fail(err, w < 0 ? -errno : -EIO, "write: %s",
				    w < 0 ? strerror(errno) : "short write");
		off += (size_t)w;
	}
	o->used = 0;
	return 0;
}

static int put(struct out *o, const void *data, size_t len, struct cpio_err *err)
{
	const unsigned char *p = data;

	while (len > 0) {
		size_t room = sizeof o->buf - o->used, k = len < room ? len : room;
		memcpy(o->buf + o->used, p, k);
		o->used += k;
		o->total += k;
		p += k;
		len -= k;
		if (o->used == sizeof o->buf) {
			int r = flush_out(o, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Zeros up to the next multiple of align. */
static int pad(struct out *o, unsigned align, struct cpio_err *err)
{
	static const unsigned char zeros[512];
	size_t k = (size_t)((align - o->total % align) % align);
	return put(o, zeros, k, err);
}

static int header(struct out *o, uint32_t ino, uint32_t mode, uint32_t nlink,
		  uint32_t mtime, uint32_t size, uint32_t rmajor, uint32_t rminor,
		  const char *name, struct cpio_err *err)
{
	char h[NEWC_HDR_LEN + 1];
	size_t namesize = strlen(name) + 1;
	int r;

	/* magic ino mode uid gid nlink mtime filesize devmajor devminor
	 * rdevmajor rdevminor namesize check */
	snprintf(h, sizeof h, NEWC_MAGIC "%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, mode, 0u, 0u, nlink, mtime, size, 0u, 0u, rmajor, rminor,
		 (uint32_t)namesize, 0u);
	if ((r = put(o, h, NEWC_HDR_LEN, err)) < 0 ||
	    (r = put(o, name, namesize, err)) < 0)
		return r;
	return pad(o, 4, err);
}

/* Copies exactly size bytes of the source; a file that changed size since
 * it was checked is an error, not a silently different archive. */
static int copy_file(struct out *o, const struct cpio_entry *e, uint32_t size,
		     struct cpio_err *err)
{
	unsigned long long left = size;
	int fd = open(e->source, O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return fail(err, -errno, "line %u: open '%s': %s", e->line, e->source, strerror(errno));
	while (left > 0) {
		size_t room = sizeof o->buf - o->used;
		ssize_t got;

		if (room == 0) {
			if ((r = flush_out(o, err)) < 0)
				goto out;
			room = sizeof o->buf;
		}
		if (room > left)
			room = (size_t)left;
		got = read(fd, o->buf + o->used, room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = fail(err, -errno, "line %u: read '%s': %s", e->line, e->source, strerror(errno));
			goto out;
		}
		if (got == 0) {
			r = fail(err, -EIO, "line %u: '%s' shrank while being archived", e->line, e->source);
			goto out;
		}
		o->used += (size_t)got;
		o->total += (unsigned long long)got;
		left -= (unsigned long long)got;
	}
	{
		char extra;
		ssize_t got = read(fd, &extra, 1);
		if (got != 0)
			r = fail(err, -EIO, "line %u: '%s' grew while being archived", e->line, e->source);
	}
out:
	close(fd);
	return r;
}

long long cpio_write(int fd, const struct cpio_entry *e, size_t n,
		     uint32_t mtime, struct cpio_err *err)
{
	static struct out o;	/* 64 KiB: keep it off the stack */
	size_t i;
	int r;

	if (n >= 0xffffffffu)
		return fail(err, -E2BIG, "too many entries");
	o.fd = fd;
	o.total = 0;
	o.used = 0;
	for (i = 0; i < n; i++) {
		uint32_t ino = (uint32_t)i + 1, size = 0, nlink = 1;

		switch (e[i].type) {
		case CPIO_DIR:
			nlink = 2;
			break;
		case CPIO_FILE: {
			struct stat st;
			if (stat(e[i].source, &st) < 0)
				return fail(err, -errno, "line %u: source '%s': %s",
					    e[i].line, e[i].source, strerror(errno));
			if (!S_ISREG(st.st_mode) || (unsigned long long)st.st_size > CPIO_FILE_MAX)
				return fail(err, -EINVAL, "line %u: source '%s' changed since it was checked",
					    e[i].line, e[i].source);
			size = (uint32_t)st.st_size;
			break;
		}
		case CPIO_SLINK:
			size = (uint32_t)strlen(e[i].source);
			break;
		case CPIO_NOD:
			break;
		}
		r = header(&o, ino, e[i].mode, nlink, mtime, size, e[i].rmajor, e[i].rminor,
			   e[i].path, err);
		if (r == 0 && e[i].type == CPIO_FILE)
			r = copy_file(&o, &e[i], size, err);
		else if (r == 0 && e[i].type == CPIO_SLINK)
			r = put(&o, e[i].source, size, err);
		if (r == 0)
			r = pad(&o, 4, err);
		if (r < 0)
			return r;
	}
	if ((r = header(&o, 0, 0, 1, 0, 0, 0, 0, TRAILER, err)) < 0 ||
	    (r = pad(&o, 512, err)) < 0 ||
	    (r = flush_out(&o, err)) < 0)
		return r;
	return (long long)o.total;
}
