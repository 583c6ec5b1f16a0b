/* image/mkcpio.c: build-time tool, writes a deterministic cpio "newc"
 * archive from a spec (format in image/cpio.h).
 *
 *   mkcpio [-o FILE] [SPEC|-]
 *
 * SPEC defaults to standard input, the archive to standard output.
 * mtime of every entry = $SOURCE_DATE_EPOCH (decimal seconds, default 0).
 * With -o, a failed run leaves no FILE behind.
 */
#include "image/cpio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPEC_MAX  (16u << 20)	/* bytes of spec */
#define ENTRY_MAX 65536u

static void usage(void)
{
	fprintf(stderr, "usage: mkcpio [-o FILE] [SPEC|-]\n"
		"  SPEC lines: dir PATH MODE | file PATH MODE SOURCE |\n"
		"              slink PATH MODE TARGET | nod PATH MODE c|b MAJOR MINOR\n"
		"  mtime: $SOURCE_DATE_EPOCH (default 0)\n");
	exit(2);
}

/* Reads all of fd into a fresh buffer with one spare byte for a final
 * newline. Returns the length or -1. */
static long read_all(int fd, char **out)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -1;
	for (;;) {
		ssize_t got;
		if (cap - len < 2) {
			char *nb;
			if (cap >= SPEC_MAX) {
				errno = EFBIG;
				free(buf);
				return -1;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return -1;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	/* A spec whose last line lacks its newline is still a spec. */
	if (len > 0 && buf[len - 1] != '\n')
		buf[len++] = '\n';
	*out = buf;
	return (long)len;
}

static int parse_epoch(uint32_t *out)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	unsigned long long v;

	*out = 0;
	if (!s || !*s)
		return 0;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > 0xffffffffull)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *outpath = NULL, *specpath = "-";
	struct cpio_err err = { .msg = "" };
	struct cpio_entry *ents;
	uint32_t mtime;
	char *spec;
	long len, n;
	long long total;
	int opt, fd, out = STDOUT_FILENO;

	while ((opt = getopt(argc, argv, "o:h")) != -1) {
		if (opt == 'o')
			outpath = optarg;
		else
			usage();
	}
	if (argc - optind > 1)
		usage();
	if (argc - optind == 1)
		specpath = argv[optind];
	if (parse_epoch(&mtime) < 0) {
		fprintf(stderr, "mkcpio: SOURCE_DATE_EPOCH must be decimal seconds below 2^32\n");
		return 1;
	}

	fd = strcmp(specpath, "-") == 0 ? STDIN_FILENO : open(specpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "mkcpio: %s: %s\n", specpath, strerror(errno));
		return 1;
	}
	len = read_all(fd, &spec);
	if (len < 0) {
		fprintf(stderr, "mkcpio: reading %s: %s\n", specpath, strerror(errno));
		return 1;
	}
	if (fd != STDIN_FILENO)
		close(fd);

	ents = calloc(ENTRY_MAX, sizeof *ents);
	if (!ents) {
		fprintf(stderr, "mkcpio: out of memory\n");
		return 1;
	}
	n = cpio_parse_spec(spec, (size_t)len, ents, ENTRY_MAX, &err);
	if (n >= 0 && cpio_check(ents, (size_t)n, &err) < 0)
		n = -1;
	if (n < 0) {
		fprintf(stderr, "mkcpio: %s: %s\n", specpath, err.msg);
		return 1;
	}

	if (outpath) {
		out = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0) {
			fprintf(stderr, "mkcpio: %s: %s\n", outpath, strerror(errno));
			return 1;
		}
	}
	total = cpio_write(out, ents, (size_t)n, mtime, &err);
	if (total >= 0 && outpath && close(out) < 0) {
		snprintf(err.msg, sizeof err.msg, "close: %s", strerror(errno));
		total = -1;
	}
	if (total < 0) {
		fprintf(stderr, "mkcpio: %s\n", err.msg);
		if (outpath)
			unlink(outpath);
		return 1;
	}
	free(ents);
	free(spec);
	return 0;
}
