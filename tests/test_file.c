/* tests/test_file.c: lib/file reads whole files: exact fits, one byte too
 * many, files larger than the first allocation, and missing files. */
#include "lib/file.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	return tap_done();
}
