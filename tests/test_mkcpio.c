/* tests/test_mkcpio.c: the deterministic cpio writer (image/cpio.c).
 *
 * Exact bytes of a small archive; a tree archived, listed with GNU
 * `cpio -itv` and extracted with `cpio -idm`, contents and modes compared;
 * the same spec twice gives the same bytes; bad specs are refused with a
 * message naming the problem. Needs GNU cpio on PATH.
 */
#include "image/cpio.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXE 64

static char tmp[200];

static void put_file(const char *name, const void *data, size_t len)
{
	char p[512];
	int fd;

	snprintf(p, sizeof p, "%s/%s", tmp, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		printf("Bail out! cannot write %s\n", p);
		exit(1);
	}
	close(fd);
}

static long slurp(const char *path, unsigned char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	long n = 0;
	ssize_t got;

	if (fd < 0)
		return -1;
	while ((got = read(fd, buf + n, cap - (size_t)n)) > 0)
		n += got;
	close(fd);
	return n;
}

/* Parses, checks and writes spec (a string) to out; returns the byte
 * count or the first negative error, err->msg filled. */
static long long build(const char *spec, const char *out, uint32_t mtime, struct cpio_err *err)
{
	static struct cpio_entry e[MAXE];
	char buf[8192];
	size_t len = strlen(spec);
	long n;
	long long total;
	int fd;

	if (len >= sizeof buf)
		return -E2BIG;
	memcpy(buf, spec, len + 1);
	err->msg[0] = '\0';
	n = cpio_parse_spec(buf, len, e, MAXE, err);
	if (n < 0)
		return n;
	if (cpio_check(e, (size_t)n, err) < 0)
		return -EINVAL;
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	total = cpio_write(fd, e, (size_t)n, mtime, err);
	close(fd);
	return total;
}

static void test_exact_bytes(void)
{
	static const char want_head[] =
		"070701" "00000001" "000041ED" "00000000" "00000000" "00000002"
		"6553F100" "00000000" "00000000" "00000000" "00000000" "00000000"
		"00000002" "00000000" "d\0"
		"070701" "00000000" "00000000" "00000000" "00000000" "00000001"
		"00000000" "00000000" "00000000" "00000000" "00000000" "00000000"
		"0000000B" "00000000" "TRAILER!!!\0" "\0\0\0";
	unsigned char got[2048];
	char out[512];
	struct cpio_err err;
	long long n;
	long len, i;
	int zeros = 1;

	snprintf(out, sizeof out, "%s/one.cpio", tmp);
	n = build("dir d 755\n", out, 1700000000u, &err);
	is_int(n, 512, "one dir: archive padded to 512 bytes");
	len = slurp(out, got, sizeof got);
	is_int(len, 512, "one dir: file is 512 bytes");
	is_int(sizeof want_head - 1, 236, "expected header+trailer is 236 bytes");
	ok(len >= 236 && memcmp(got, want_head, 236) == 0,
	   "one dir: exact newc header (ino 1, mode 040755, nlink 2, mtime) and trailer");
	for (i = 236; i < len; i++)
		zeros &= got[i] == 0;
	ok(zeros, "one dir: padding is zeros");
}

static int run(const char *cmd)
{
	int r = system(cmd);
	return r == -1 ? -1 : WEXITSTATUS(r);
}

static void check_extracted(const char *root, const char *path, mode_t mode,
			    const char *data, long len)
{
	char p[512];
	struct stat st;
	unsigned char got[8192];

	snprintf(p, sizeof p, "%s/%s", root, path);
	if (!ok(lstat(p, &st) == 0, "extracted %s exists", path))
		return;
	is_int(st.st_mode, mode, "extracted %s has mode 0%o", path, (unsigned)mode);
	if (data && S_ISREG(mode)) {
		long n = slurp(p, got, sizeof got);
		ok(n == len && memcmp(got, data, (size_t)len) == 0, "extracted %s has the same bytes", path);
	}
	if (data && S_ISLNK(mode)) {
		ssize_t n = readlink(p, (char *)got, sizeof got);
		ok(n == len && memcmp(got, data, (size_t)len) == 0, "extracted %s points to %s", path, data);
	}
}

static void test_tree(void)
{
	char spec[4096], a1[300], a2[300], cmd[2048], x[300], list[300];
	unsigned char b1[32768], b2[32768], lbuf[8192];
	static char big[5001];
	struct cpio_err err;
	long long n1, n2;
	long l1, l2, ll;
	size_t i;

	for (i = 0; i < sizeof big - 1; i++)
		big[i] = (char)('a' + i % 26);
	put_file("src-hello", "hello\n", 6);
	put_file("src-big", big, sizeof big - 1);
	put_file("src-empty", "", 0);
	put_file("src-odd", "abc", 3);
	/* Unsorted on purpose, with comments, blanks and tabs. */
	snprintf(spec, sizeof spec,
		 "# a test tree\n"
		 "file\tbin/init 0755 %s/src-hello\n"
		 "dir bin 0755\n"
		 "\n"
		 "dir etc 755\n"
		 "file etc/big 0644 %s/src-big\n"
		 "file etc/empty 0600 %s/src-empty\n"
		 "file etc/odd-size 0444 %s/src-odd\n"
		 "dir etc/private 0700\n"
		 "slink etc/link 0777 big\n"
		 "dir tmp 1777\n"
		 "   # indented comment\n"
		 "dir var 0755\n"
		 "dir var/empty 0755\n",
		 tmp, tmp, tmp, tmp);
	snprintf(a1, sizeof a1, "%s/a1.cpio", tmp);
	snprintf(a2, sizeof a2, "%s/a2.cpio", tmp);
	n1 = build(spec, a1, 0, &err);
	ok(n1 > 0 && n1 % 512 == 0, "tree archive written, size multiple of 512 (%lld)", n1);
	if (n1 < 0)
		diag("error: %s", err.msg);
	n2 = build(spec, a2, 0, &err);
	l1 = slurp(a1, b1, sizeof b1);
	l2 = slurp(a2, b2, sizeof b2);
	ok(n1 == n2 && l1 == l2 && l1 > 0 && memcmp(b1, b2, (size_t)l1) == 0,
	   "same spec twice: identical bytes");

	snprintf(list, sizeof list, "%s/list.txt", tmp);
	snprintf(cmd, sizeof cmd, "LC_ALL=C TZ=UTC cpio -itv --quiet < %s > %s 2>&1", a1, list);
	is_int(run(cmd), 0, "GNU cpio -itv lists the archive without error");
	ll = slurp(list, lbuf, sizeof lbuf - 1);
	lbuf[ll > 0 ? ll : 0] = '\0';
	{
		/* Listing order is the archive order: bytewise sorted paths. */
		static const char *const order[] = {
			" bin\n", " bin/init\n", " etc\n", " etc/big\n", " etc/empty\n",
			" etc/link -> big\n", " etc/odd-size\n", " etc/private\n",
			" tmp\n", " var\n", " var/empty\n",
		};
		const char *at = (const char *)lbuf;
		int inorder = 1, lines = 0;
		for (i = 0; i < sizeof order / sizeof order[0]; i++) {
			const char *f = strstr(at, order[i]);
			if (!f) {
				inorder = 0;
				diag("missing or out of order: '%.*s'", (int)strlen(order[i]) - 1, order[i]);
				break;
			}
			at = f + 1;
		}
		for (i = 0; lbuf[i]; i++)
			lines += lbuf[i] == '\n';
		ok(inorder, "listing has every path, in bytewise order");
		is_int(lines, 11, "listing has 11 entries");
		ok(strstr((char *)lbuf, "drwxrwxrwt") != NULL, "sticky tmp listed as drwxrwxrwt");
		ok(strstr((char *)lbuf, "root     root") != NULL, "owner root root");
		ok(strstr((char *)lbuf, "1970") != NULL, "mtime 0 listed as 1970");
		if (!inorder || lines != 11)
			diag("listing:\n%s", lbuf);
	}

	snprintf(x, sizeof x, "%s/x", tmp);
	mkdir(x, 0755);
	snprintf(cmd, sizeof cmd, "cd %s && cpio -idm --quiet --no-absolute-filenames < %s", x, a1);
	umask(022);
	is_int(run(cmd), 0, "GNU cpio -idm extracts the archive");
	check_extracted(x, "bin", S_IFDIR | 0755, NULL, 0);
	check_extracted(x, "bin/init", S_IFREG | 0755, "hello\n", 6);
	check_extracted(x, "etc/big", S_IFREG | 0644, big, (long)sizeof big - 1);
	check_extracted(x, "etc/empty", S_IFREG | 0600, "", 0);
	check_extracted(x, "etc/odd-size", S_IFREG | 0444, "abc", 3);
	check_extracted(x, "etc/private", S_IFDIR | 0700, NULL, 0);
	check_extracted(x, "etc/link", S_IFLNK | 0777, "big", 3);
	check_extracted(x, "var/empty", S_IFDIR | 0755, NULL, 0);
	check_extracted(x, "tmp", S_IFDIR | 01777, NULL, 0);
	{
		char p[512];
		struct stat st;
		snprintf(p, sizeof p, "%s/etc/big", x);
		ok(stat(p, &st) == 0 && st.st_mtime == 0, "cpio -m restores mtime 0");
	}

	/* A different mtime changes the bytes; the same one does not. */
	n2 = build(spec, a2, 1234567890u, &err);
	l2 = slurp(a2, b2, sizeof b2);
	ok(n2 == n1 && l2 == l1 && memcmp(b1, b2, (size_t)l1) != 0,
	   "another SOURCE_DATE_EPOCH gives other bytes of the same size");

	snprintf(cmd, sizeof cmd, "rm -rf %s", x);
	run(cmd);
}

static void test_nod(void)
{
	char out[300], cmd[2048], list[300];
	unsigned char lbuf[1024];
	struct cpio_err err;
	long ll;

	snprintf(out, sizeof out, "%s/nod.cpio", tmp);
	snprintf(list, sizeof list, "%s/nod.txt", tmp);
	ok(build("dir dev 0755\nnod dev/console 0600 c 5 1\nnod dev/sda 0660 b 8 0\n",
		 out, 0, &err) > 0, "device nodes written");
	snprintf(cmd, sizeof cmd, "LC_ALL=C cpio -itv --quiet < %s > %s 2>&1", out, list);
	is_int(run(cmd), 0, "cpio -itv lists device nodes");
	ll = slurp(list, lbuf, sizeof lbuf - 1);
	lbuf[ll > 0 ? ll : 0] = '\0';
	ok(strstr((char *)lbuf, "crw-------") && strstr((char *)lbuf, "5,   1 ") &&
	   strstr((char *)lbuf, "dev/console"), "dev/console is c 5 1 mode 0600");
	ok(strstr((char *)lbuf, "brw-rw----") && strstr((char *)lbuf, "8,   0 "),
	   "dev/sda is b 8 0 mode 0660");
	if (!strstr((char *)lbuf, "5,   1 "))
		diag("listing:\n%s", lbuf);
}

static void refused(const char *spec, int want, const char *needle, const char *name)
{
	char out[512];
	struct cpio_err err;
	long long r;

	snprintf(out, sizeof out, "%s/bad.cpio", tmp);
	r = build(spec, out, 0, &err);
	if (!ok(r < 0 && (want == 0 || r == want) && strstr(err.msg, needle) != NULL,
		"refused: %s", name))
		diag("got %lld, message '%s', wanted '%s'", r, err.msg, needle);
}

static void test_bad_specs(void)
{
	char spec[CPIO_LINE_MAX + 64];

	refused("file init 0755 /nonexistent/dshield-test\n", -EINVAL, "No such file", "missing source");
	refused("file init 0755 /\n", -EINVAL, "not a regular file", "directory as file source");
	refused("dir a 0789\n", -EINVAL, "bad mode", "mode with digit 8");
	refused("dir a 17777\n", -EINVAL, "bad mode", "mode above 07777");
	refused("dir a 0x755\n", -EINVAL, "bad mode", "hex mode");
	refused("dir a 755\ndir a 700\n", -EINVAL, "already listed on line 1", "duplicate path");
	refused("dir a 755\ndir a/../b 755\n", -EINVAL, "'..'", "path with ..");
	refused("dir a 755\ndir a/./b 755\n", -EINVAL, "'.'", "path with .");
	refused("dir a 755\ndir a//b 755\n", -EINVAL, "'//'", "path with //");
	refused("dir /a 755\n", -EINVAL, "starts with '/'", "absolute path");
	refused("dir a/ 755\n", -EINVAL, "ends with '/'", "trailing slash");
	refused("dir a/b 755\n", -EINVAL, "parent directory 'a' of 'a/b' is not in the spec", "missing parent");
	refused("slink a 777 x\ndir a/b 755\n", -EINVAL, "is not a dir", "parent is a symlink");
	refused("pipe a 644\n", -EINVAL, "unknown type 'pipe'", "unknown type");
	refused("dir a 755 extra\n", -EINVAL, "dir takes PATH MODE only", "extra field");
	refused("file a 644\n", -EINVAL, "file takes PATH MODE SOURCE", "file without source");
	refused("dir\n", -EINVAL, "expected TYPE PATH MODE", "too few fields");
	refused("nod c 600 x 5 1\n", -EINVAL, "not c or b", "bad node type");
	refused("nod c 600 c 4096 1\n", -EINVAL, "bad device number", "major too large");
	refused("nod c 600 c 05 1\n", -EINVAL, "bad device number", "major with leading zero");
	refused("dir a\001b 755\n", -EINVAL, "control character", "control character in path");
	refused("dir a 755\n\n# end", -EINVAL, "no newline", "last line without newline in a bare buffer");

	memset(spec, 'a', sizeof spec);
	memcpy(spec, "dir ", 4);
	spec[CPIO_LINE_MAX + 10] = '\n';
	spec[CPIO_LINE_MAX + 11] = '\0';
	refused(spec, -E2BIG, "longer than", "over-long line");
	memset(spec, 'a', CPIO_PATH_MAX + 20);
	memcpy(spec, "dir ", 4);
	memcpy(spec + CPIO_PATH_MAX + 10, " 755\n", 6);
	refused(spec, -EINVAL, "path too long", "over-long path");

	{
		/* An embedded NUL byte: parse the buffer directly. */
		char buf[] = "dir a 755\ndir b\0c 755\n";
		struct cpio_entry e[4];
		struct cpio_err err;
		long r = cpio_parse_spec(buf, sizeof buf - 1, e, 4, &err);
		ok(r == -EINVAL && strstr(err.msg, "line 2: contains a NUL") != NULL,
		   "refused: NUL byte in a line");
	}
	{
		char buf[] = "dir a 755\n# c\ndir b 755\n\n";
		struct cpio_entry e[1];
		struct cpio_err err;
		long r = cpio_parse_spec(buf, sizeof buf - 1, e, 1, &err);
		ok(r == -E2BIG && strstr(err.msg, "more than 1 entries") != NULL,
		   "refused: more entries than the caller's array");
	}
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	char cmd[512];

	snprintf(tmp, sizeof tmp, "%s/test_mkcpio.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (run("cpio --version >/dev/null 2>&1") != 0) {
		printf("Bail out! GNU cpio is needed (apt-get install cpio)\n");
		return 1;
	}
	test_exact_bytes();
	test_tree();
	test_nod();
	test_bad_specs();
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	run(cmd);
	return tap_done();
}
