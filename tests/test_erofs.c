/* tests/test_erofs.c: the EROFS writer (image/erofs.c). A small reader
 * here walks the image by the on-disk format; tests/host/07-layers.t
 * checks the same writer against erofs-utils (fsck.erofs, dump.erofs)
 * and the kernel (a loop mount). */
#include "image/erofs.h"
#include "lib/bytes.h"
#include "lib/errbuf.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[64];
static uint8_t *img;
static size_t img_len;

/* --- a reader ------------------------------------------------------------- */

struct ino {
	unsigned layout, isize;
	uint32_t mode, nlink, blkaddr;
	uint64_t size, pos;
};

static struct ino get(uint64_t nid)
{
	struct ino i = { 0 };
	const uint8_t *p = img + nid * 32;
	uint16_t fmt = le16(p);
	i.pos = nid * 32;
	i.layout = (fmt >> 1) & 7;
	i.isize = (fmt & 1) ? 64 : 32;
	i.mode = le16(p + 4);
	i.blkaddr = le32(p + 16);
	i.size = (fmt & 1) ? le64(p + 8) : le32(p + 8);
	i.nlink = (fmt & 1) ? le32(p + 44) : le16(p + 6);
	return i;
}

/* The inode's bytes, malloc'd. */
static uint8_t *content(const struct ino *i)
{
	uint8_t *out = malloc(i->size + 1);
	uint64_t whole = i->layout == 2 ? i->size / 4096 * 4096 : i->size;
	if (!out)
		exit(2);
	memcpy(out, img + (uint64_t)i->blkaddr * 4096, whole);
	if (i->layout == 2)
		memcpy(out + whole, img + i->pos + i->isize, i->size - whole);
	out[i->size] = '\0';
	return out;
}

/* Looks name up in directory d; checks the bytewise order on the way. */
static int64_t lookup(const struct ino *d, const char *name, int *sorted)
{
	uint8_t *data = content(d);
	char prev[256] = "";
	int64_t found = -1;
	*sorted = 1;
	for (uint64_t blk = 0; blk * 4096 < d->size; blk++) {
		uint8_t *b = data + blk * 4096;
		uint64_t bsize = d->size - blk * 4096 < 4096 ? d->size - blk * 4096 : 4096;
		unsigned n = le16(b + 8) / 12;
		for (unsigned k = 0; k < n; k++) {
			unsigned off = le16(b + k * 12 + 8);
			unsigned end = k + 1 < n ? le16(b + (k + 1) * 12 + 8) : (unsigned)bsize;
			char nm[256];
			unsigned len = end - off;
			memcpy(nm, b + off, len);
			nm[len] = '\0';
			len = (unsigned)strlen(nm);	/* a last name ends at a NUL */
			if (strcmp(prev, nm) >= 0 && prev[0])
				*sorted = 0;
			snprintf(prev, sizeof prev, "%s", nm);
			if (strcmp(nm, name) == 0)
				found = (int64_t)le64(b + k * 12);
		}
	}
	free(data);
	return found;
}

static int64_t resolve(const char *path)
{
	int64_t nid = le16(img + 1024 + 14);
	char buf[256];
	int sorted;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *c = strtok(buf, "/"); c && nid >= 0; c = strtok(NULL, "/")) {
		struct ino d = get((uint64_t)nid);
		nid = lookup(&d, c, &sorted);
	}
	return nid;
}

/* --- the trees ---------------------------------------------------------------- */

static void write_file(const char *dir, const char *rel, size_t len, int seed)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	uint8_t *buf = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + (size_t)seed);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (!buf || fd < 0 || write(fd, buf, len) != (ssize_t)len)
		exit(2);
	close(fd);
	free(buf);
}

static void sub(const char *dir, const char *rel, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", dir, rel);
}

/* The same tree, made in two orders: forward or backward. */
static void make_tree(const char *dir, int backward)
{
	char p[256];
	mkdir(dir, backward ? 0700 : 0755);
	sub(dir, "a", p, sizeof p); mkdir(p, 0755);
	sub(dir, "a/b", p, sizeof p); mkdir(p, 0750);
	sub(dir, "empty", p, sizeof p); mkdir(p, 0755);
	for (int k = 0; k < 300; k++) {
		int i = backward ? 299 - k : k;
		char rel[64];
		snprintf(rel, sizeof rel, "a/b/file-with-a-longish-name-%03d", i);
		write_file(dir, rel, (size_t)i, i);
	}
	write_file(dir, "hello", 6, 1);
	write_file(dir, "exact", 8192, 2);
	write_file(dir, "big", 10000, 3);
	write_file(dir, "zero", 0, 0);
	write_file(dir, "-dash", 1, 4);
	write_file(dir, "+plus", 1, 5);
	sub(dir, "zero", p, sizeof p); chmod(p, 04755);
	sub(dir, "link", p, sizeof p);
	if (symlink("a/b/file-with-a-longish-name-007", p) != 0)
		exit(2);
}

static int build(const char *dir, uint64_t mtime, struct erofs_result *res, char *err)
{
	char path[128];
	snprintf(path, sizeof path, "%s/out.img", top);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int r = erofs_write_tree(dir, fd, mtime, res, err, ERRBUF_LEN);
	free(img);
	img = NULL;
	img_len = 0;
	if (r == 0) {
		struct stat st;
		fstat(fd, &st);
		img_len = (size_t)st.st_size;
		img = malloc(img_len);
		if (!img || pread(fd, img, img_len, 0) != (ssize_t)img_len)
			exit(2);
	}
	close(fd);
	return r;
}

static void test_image(void)
{
	struct erofs_result res;
	char err[ERRBUF_LEN], dir[128];
	snprintf(dir, sizeof dir, "%s/t1", top);
	make_tree(dir, 0);
	is_int(build(dir, 1700000000, &res, err), 0, "a tree builds");
	is_int(img_len, res.blocks * 4096, "image size = blocks * 4096");
	is_int(le32(img + 1024), 0xE0F5E1E2u, "superblock magic at byte 1024");
	is_int(img[1024 + 12], 12, "4096-byte blocks");
	is_int(le16(img + 1024 + 14), 36, "root nid 36 (right after the superblock)");
	is_int(le64(img + 1024 + 16), res.nodes, "inode count");
	is_int(res.nodes, 1 + 3 + 300 + 7, "root, 3 dirs, 300 + 7 files and links");
	is_int(le64(img + 1024 + 24), 1700000000, "build_time = mtime");
	is_int(le32(img + 1024 + 36), res.blocks, "block count");
	is_int(le32(img + 1024 + 40), 0, "metadata from block 0");
	is_int(le32(img + 1024 + 80), 0, "no incompatible features");

	struct ino root = get(36);
	is_int(root.mode, S_IFDIR | 0755, "root is a 0755 directory");
	is_int(root.nlink, 4, "root nlink = 2 + 2 subdirectories");
	int sorted;
	ok(lookup(&root, ".", &sorted) == 36 && lookup(&root, "..", &sorted) == 36,
	   "root's . and .. are itself");
	ok(sorted, "root's entries sorted bytewise ('+plus', '-dash' before '.')");

	static const struct { const char *path; size_t len; int seed; unsigned layout; } files[] = {
		{ "hello", 6, 1, 2 }, { "exact", 8192, 2, 0 }, { "big", 10000, 3, 2 },
		{ "-dash", 1, 4, 2 }, { "a/b/file-with-a-longish-name-299", 299, 299, 2 },
	};
	for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
		int64_t nid = resolve(files[k].path);
		ok(nid > 0, "%s found", files[k].path);
		if (nid <= 0)
			continue;
		struct ino i = get((uint64_t)nid);
		is_int(i.size, files[k].len, "%s: size", files[k].path);
		is_int(i.mode, S_IFREG | 0644, "%s: mode", files[k].path);
		is_int(i.layout, files[k].layout, "%s: layout %s", files[k].path,
		       files[k].layout ? "FLAT_INLINE" : "FLAT_PLAIN");
		uint8_t *c = content(&i);
		int same = 1;
		for (size_t j = 0; j < files[k].len; j++)
			same &= c[j] == (uint8_t)(j * 31 + (size_t)files[k].seed);
		ok(same, "%s: content", files[k].path);
		free(c);
	}
	int64_t nid = resolve("zero");
	struct ino z = get((uint64_t)nid);
	ok(nid > 0 && z.size == 0 && z.mode == (S_IFREG | 04755), "empty file, setuid bit kept");
	nid = resolve("link");
	struct ino l = get((uint64_t)nid);
	uint8_t *target = content(&l);
	ok(nid > 0 && S_ISLNK(l.mode) && strcmp((char *)target, "a/b/file-with-a-longish-name-007") == 0,
	   "symlink and its target");
	free(target);
	nid = resolve("a/b");
	struct ino b = get((uint64_t)nid);
	ok(nid > 0 && b.mode == (S_IFDIR | 0750) && b.size > 4096, "a/b: 0750, several blocks");
	ok(lookup(&b, "..", &sorted) == resolve("a"), "a/b/.. is a");
	ok(sorted, "a/b sorted across its blocks");
	ok(lookup(&b, "file-with-a-longish-name-150", &sorted) > 0, "a/b: a name in a later block");
	ok(resolve("empty") > 0 && resolve("nothing") < 0, "lookups that should and should not find");
}

static void test_determinism(void)
{
	struct erofs_result res;
	char err[ERRBUF_LEN], d1[128], d2[128];
	snprintf(d1, sizeof d1, "%s/t1", top);
	snprintf(d2, sizeof d2, "%s/t2", top);
	make_tree(d2, 1);	/* other order, other top directory mode, later mtimes */
	is_int(build(d1, 0, &res, err), 0, "tree 1");
	uint8_t *first = img;
	size_t first_len = img_len;
	img = NULL;
	is_int(build(d2, 0, &res, err), 0, "tree 2 (made backwards, top dir 0700)");
	ok(first_len == img_len && memcmp(first, img, img_len) == 0, "the same bytes");
	is_int(build(d1, 1, &res, err), 0, "tree 1 with another time");
	int only_time = first_len == img_len;
	for (size_t i = 0; only_time && i < img_len; i++)
		if (first[i] != img[i] && !(i >= 1024 + 24 && i < 1024 + 32))
			only_time = 0;
	ok(only_time && memcmp(first, img, img_len) != 0, "differs in build_time only");
	free(first);
}

static void test_refusals(void)
{
	struct erofs_result res;
	char err[ERRBUF_LEN], dir[128], p[160];
	snprintf(dir, sizeof dir, "%s/t3", top);
	mkdir(dir, 0755);
	snprintf(p, sizeof p, "%s/fifo", dir);
	mkfifo(p, 0644);
	is_int(build(dir, 0, &res, err), -EINVAL, "a FIFO is refused");
	ok(strstr(err, "fifo") != NULL, "naming it (%s)", err);
	snprintf(p, sizeof p, "%s/nonexistent", top);
	is_int(build(p, 0, &res, err), -ENOENT, "a missing tree");
	snprintf(p, sizeof p, "%s/t1/hello", top);
	is_int(build(p, 0, &res, err), -ENOTDIR, "a file as the tree");
}

int main(void)
{
	snprintf(top, sizeof top, "/tmp/test_erofs.XXXXXX");
	if (!mkdtemp(top))
		return 2;
	umask(022);
	test_image();
	test_determinism();
	test_refusals();
	free(img);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		diag("could not remove %s", top);
	return tap_done();
}
