/* tests/test_file.c: lib/file reads whole files: exact fits, one byte too
 * many, files larger than the first allocation, and missing files. */
#include "lib/file.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char dir[] = "/tmp/test_file.XXXXXX";

/* Writes n patterned bytes to dir/name; returns the path. */
static const char *make(const char *name, size_t n)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		exit(2);
	for (size_t i = 0; i < n; i++)
		fputc((int)(i % 251), f);
	if (fclose(f) != 0)
		exit(2);
	return path;
}

static int patterned(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != i % 251)
			return 0;
	return 1;
}

static void test_read(void)
{
	unsigned char buf[101];
	const char *p = make("hundred", 100);

	is_int(file_read(p, buf, 100), 100, "exactly cap bytes: read");
	ok(patterned(buf, 100) && buf[100] == '\0', "bytes as written, NUL after them");
	is_int(file_read(p, buf, 99), -EFBIG, "one byte more than cap: -EFBIG");
	p = make("empty", 0);
	is_int(file_read(p, buf, 100), 0, "empty file: 0");
	is_int(file_read("/nonexistent/x", buf, 100), -ENOENT, "missing file: -ENOENT");
}

static void test_read_alloc(void)
{
	unsigned char *b = NULL;
	size_t len = 0;
	size_t big = 3 * 65536 + 17;     /* past two doublings of the buffer */
	const char *p = make("big", big);

	is_int(file_read_alloc(p, big, &b, &len), 0, "max == size: read");
	ok(b && len == big && patterned(b, big) && b[big] == '\0', "all %zu bytes, NUL after them", big);
	free(b);
	b = NULL;
	is_int(file_read_alloc(p, big - 1, &b, &len), -EFBIG, "max one short: -EFBIG");
	ok(b == NULL, "no buffer handed out on error");
	is_int(file_read_alloc(p, 100, &b, &len), -EFBIG, "max below the first allocation: -EFBIG");
	p = make("empty", 0);
	is_int(file_read_alloc(p, 100, &b, &len), 0, "empty file: read");
	ok(b && len == 0 && b[0] == '\0', "empty buffer, NUL terminated");
	free(b);
	b = NULL;
	is_int(file_read_alloc("/nonexistent/x", 100, &b, &len), -ENOENT, "missing file: -ENOENT");
}

/* A sealed memfd holds exactly its bytes and refuses every change; a
 * mapping is given only for the seals asked and the exact length. */
static void test_sealed(void)
{
	static const char text[] = "records";
	const int all = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
	int fd = file_memfd_sealed("test", text, sizeof text - 1), plain;
	const void *p;
	char back[16] = "";

	ok(fd >= 0 && (fcntl(fd, F_GET_SEALS) & all) == all, "memfd: sealed four ways");
	ok(pread(fd, back, sizeof back, 0) == (ssize_t)sizeof text - 1 &&
	   memcmp(back, text, sizeof text - 1) == 0, "memfd: exactly its bytes");
	ok(write(fd, "x", 1) < 0 && ftruncate(fd, 1) < 0 && ftruncate(fd, 100) < 0,
	   "memfd: no write, no shrinking, no growing");
	p = file_map_sealed(fd, sizeof text - 1, F_SEAL_WRITE | F_SEAL_GROW);
	ok(p != NULL && memcmp(p, text, sizeof text - 1) == 0, "map: the bytes, read-only");
	if (p != NULL)
		munmap((void *)p, sizeof text - 1);
	ok(file_map_sealed(fd, sizeof text, 0) == NULL, "map: another length refused");
	ok(file_map_sealed(fd, 0, 0) == NULL, "map: length 0 refused");
	close(fd);
	plain = memfd_create("plain", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ok(plain >= 0 && write(plain, text, 3) == 3, "an unsealed memfd");
	ok(file_map_sealed(plain, 3, 0) == NULL, "map: refused without F_SEAL_SHRINK");
	fcntl(plain, F_ADD_SEALS, F_SEAL_SHRINK);
	p = file_map_sealed(plain, 3, 0);
	ok(p != NULL, "map: shrink-sealed is enough when nothing more is asked");
	if (p != NULL)
		munmap((void *)p, 3);
	ok(file_map_sealed(plain, 3, F_SEAL_WRITE) == NULL, "map: a missing seal asked for refused");
	close(plain);
}

int main(void)
{
	char path[64];

	if (!mkdtemp(dir))
		return 2;
	test_read();
	test_read_alloc();
	for (const char *const *n = (const char *const[]){ "hundred", "empty", "big", NULL }; *n; n++) {
		snprintf(path, sizeof path, "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
	test_sealed();
	return tap_done();
}
