/* tests/fuzz/fuzz_cpio_spec.c: libFuzzer target for the mkcpio spec parser
 * and checks (image/cpio.c). Beyond "no crash": every accepted entry must
 * have a path the archive may hold, a mode whose type matches its kind, and
 * after cpio_check the paths must be strictly ascending with every parent a
 * listed directory. Archives without file entries are written to /dev/null
 * (file entries would read arbitrary host files). */
#include "image/cpio.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXE 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct cpio_entry *e, const char *buf, size_t len)
{
	size_t n = strlen(e->path);

	if (e->path < buf || e->path >= buf + len || n == 0 || n >= CPIO_PATH_MAX)
		abort();
	if (e->path[0] == '/' || e->path[n - 1] == '/' || strstr(e->path, "//"))
		abort();
	if (!strcmp(e->path, ".") || !strcmp(e->path, "..") || !strncmp(e->path, "../", 3) ||
	    !strncmp(e->path, "./", 2) || strstr(e->path, "/../") || strstr(e->path, "/./"))
		abort();
	if ((n >= 2 && !strcmp(e->path + n - 2, "/.")) || (n >= 3 && !strcmp(e->path + n - 3, "/..")))
		abort();
	if ((e->mode & 07777) != (e->mode & ~(uint32_t)S_IFMT))
		abort();
	switch (e->type) {
	case CPIO_DIR: if (!S_ISDIR(e->mode) || e->source) abort(); break;
	case CPIO_FILE: if (!S_ISREG(e->mode) || !e->source) abort(); break;
	case CPIO_SLINK: if (!S_ISLNK(e->mode) || !e->source || strlen(e->source) >= CPIO_PATH_MAX) abort(); break;
	case CPIO_NOD: if (!(S_ISCHR(e->mode) || S_ISBLK(e->mode)) || e->rmajor > 4095 || e->rminor > 1048575) abort(); break;
	default: abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cpio_entry e[MAXE];
	struct cpio_err err;
	char *buf;
	long n;
	int files = 0;

	if (size > 1 << 16)
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	n = cpio_parse_spec(buf, size, e, MAXE, &err);
	if (n < 0) {
		if (err.msg[0] == '\0')
			abort();	/* every refusal says why */
		free(buf);
		return 0;
	}
	if (n > MAXE)
		abort();
	for (long i = 0; i < n; i++) {
		check_entry(&e[i], buf, size);
		files += e[i].type == CPIO_FILE;
	}
	if (cpio_check(e, (size_t)n, &err) == 0) {
		for (long i = 1; i < n; i++)
			if (strcmp(e[i - 1].path, e[i].path) >= 0)
				abort();
		if (!files) {
			int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				long long w = cpio_write(fd, e, (size_t)n, 0, &err);
				if (w < 0 || w % 512 != 0)
					abort();
				close(fd);
			}
		}
	}
	free(buf);
	return 0;
}
