/* image/mklayers.c: build-time tool, writes the runtime layer disk
 * (docs/LAYERS.md): for each layer, its EROFS image then its dm-verity hash
 * tree, one after the other, every part starting on a 4096-byte boundary.
 *
 *   mklayers -o DISK NAME=DIR[:ENTRY] ...
 *
 * NAME: [a-z0-9][a-z0-9_-]{0,30}, each once. DIR: the layer's tree. ENTRY
 * (optional): a regular file inside the tree, relative to it, that init
 * reads through the mounted layer at boot and compares with its SHA-256
 * (the runtime's interpreter, say). Every inode's time is
 * $SOURCE_DATE_EPOCH (default 0).
 *
 * The salt of each layer is SHA-256("dshield-layer-salt-v1" 0x00 NAME 0x00
 * SHA-256(erofs image)): fixed for a given layer content, so the disk is
 * reproducible, yet different for every layer and every content.
 *
 * Prints one line per layer, in order, for image/build-image:
 *   layer NAME erofs DATA_OFFSET DATA_BLOCKS HASH_OFFSET HASH_BLOCKS ROOT SALT [ENTRY SHA256]
 * (offsets in bytes, blocks of 4096 bytes, hashes and salt in hex).
 * A failed run leaves no DISK behind.
 */
#include "image/erofs.h"
#include "crypto/verity_tree.h"
#include "lib/errbuf.h"
#include "lib/hex.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LAYERS 8
#define SALT_TAG   "dshield-layer-salt-v1"

struct layer {
	char name[32];
	const char *dir;
	const char *entry;	/* NULL: none */
};

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 31)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '-' && c != '_')))
			return false;
	}
	return true;
}

/* The manifest's path characters, no empty, "." or ".." component. */
static bool entry_ok(const char *p)
{
	if (*p == '\0' || *p == '/' || strlen(p) > 200)
		return false;
	for (const char *c = p; *c; c++) {
		bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || strchr("._+~/-", *c);
		if (!ok)
			return false;
	}
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/')
			c++;
		else
			break;
	}
	return p[strlen(p) - 1] != '/';
}

static int parse_arg(char *arg, struct layer *l, char *err, size_t errlen)
{
	char *eq = strchr(arg, '=');
	if (!eq || !name_ok(arg, (size_t)(eq - arg)))
		return errbuf_set(err, errlen, -EINVAL,
				  "'%s': expected NAME=DIR[:ENTRY], NAME [a-z0-9][a-z0-9_-]{0,30}", arg);
	memcpy(l->name, arg, (size_t)(eq - arg));
	l->name[eq - arg] = '\0';
	l->dir = eq + 1;
	char *colon = strchr(eq + 1, ':');
	l->entry = NULL;
	if (colon) {
		*colon = '\0';
		l->entry = colon + 1;
		if (!entry_ok(l->entry))
			return errbuf_set(err, errlen, -EINVAL, "%s: bad entry path '%s'", l->name,
					  l->entry);
	}
	if (*l->dir == '\0')
		return errbuf_set(err, errlen, -EINVAL, "%s: empty DIR", l->name);
	return 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		off += (uint64_t)w;
		len -= (size_t)w;
	}
	return 0;
}

static void sha256(const void *p, size_t len, uint8_t out[32])
{
	br_sha256_context h;
	br_sha256_init(&h);
	br_sha256_update(&h, p, len);
	br_sha256_out(&h, out);
}

/* SHA-256 of the regular file dir/entry (not a symlink). */
static int entry_sha256(const struct layer *l, uint8_t out[32], char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", l->dir, l->entry) >= sizeof path)
		return errbuf_set(err, errlen, -ENAMETOOLONG, "%s: entry path too long", l->name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;
		if (fd >= 0)
			close(fd);
		return errbuf_set(err, errlen, -e, "%s: entry %s: %s", l->name, path,
				  e == EINVAL ? "not a regular file" : strerror(e));
	}
	br_sha256_context h;
	uint8_t buf[65536];
	ssize_t got;
	br_sha256_init(&h);
	while ((got = read(fd, buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR))
		if (got > 0)
			br_sha256_update(&h, buf, (size_t)got);
	int e = errno;
	close(fd);
	if (got < 0)
		return errbuf_set(err, errlen, -e, "%s: read %s: %s", l->name, path, strerror(e));
	br_sha256_out(&h, out);
	return 0;
}

/* Builds one layer at byte offset *off of disk and prints its line. */
static int build_layer(const struct layer *l, int disk, const char *tmp, uint64_t *off,
		       uint64_t mtime, char *err, size_t errlen)
{
	struct erofs_result res;
	struct verity_plan plan;
	uint8_t digest[32], salt[32], root[32];
	int r;

	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return errbuf_set(err, errlen, -errno, "%s: %s", tmp, strerror(errno));
	unlink(tmp);
	if ((r = erofs_write_tree(l->dir, fd, mtime, &res, err, errlen)) != 0) {
		close(fd);
		return r;
	}
	size_t len = (size_t)(res.blocks * EROFS_BLOCK);
	uint8_t *img = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (img == MAP_FAILED)
		return errbuf_set(err, errlen, -errno, "mmap: %s", strerror(errno));

	/* salt = SHA-256(tag 0 name 0 SHA-256(image)) */
	uint8_t pre[sizeof SALT_TAG + sizeof l->name + 1 + 32];
	size_t n = 0;
	sha256(img, len, digest);
	memcpy(pre, SALT_TAG, sizeof SALT_TAG);
	n += sizeof SALT_TAG;
	memcpy(pre + n, l->name, strlen(l->name) + 1);
	n += strlen(l->name) + 1;
	memcpy(pre + n, digest, 32);
	n += 32;
	sha256(pre, n, salt);

	uint8_t *hash = NULL;
	if ((r = verity_plan(res.blocks, &plan)) == 0 &&
	    !(hash = malloc((size_t)(plan.hash_blocks * VERITY_BLOCK) + 1)))
		r = -ENOMEM;
	if (r == 0)
		r = verity_build(&plan, img, salt, sizeof salt, hash, root);
	uint64_t data_off = *off, hash_off = data_off + len;
	if (r == 0 && (r = pwrite_all(disk, img, len, data_off)) == 0)
		r = pwrite_all(disk, hash, (size_t)(plan.hash_blocks * VERITY_BLOCK), hash_off);
	munmap(img, len);
	free(hash);
	if (r != 0)
		return errbuf_set(err, errlen, r, "%s: hashing or writing the layer: %s", l->name,
				  strerror(-r));

	char rhex[65], shex[65], ehex[65];
	uint8_t esum[32];
	if (l->entry && (r = entry_sha256(l, esum, err, errlen)) != 0)
		return r;
	hex_encode(rhex, root, 32);
	hex_encode(shex, salt, 32);
	printf("layer %s erofs %llu %llu %llu %llu %s %s", l->name,
	       (unsigned long long)data_off, (unsigned long long)res.blocks,
	       (unsigned long long)hash_off, (unsigned long long)plan.hash_blocks, rhex, shex);
	if (l->entry) {
		hex_encode(ehex, esum, 32);
		printf(" %s %s", l->entry, ehex);
	}
	printf("\n");
	*off = hash_off + plan.hash_blocks * VERITY_BLOCK;
	return 0;
}

static int parse_epoch(uint64_t *out)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;

	*out = 0;
	if (!s || !*s)
		return 0;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct layer layers[MAX_LAYERS];
	char err[ERRBUF_LEN] = "", tmp[4200];
	const char *out = NULL;
	uint64_t mtime, off = 0;
	int opt, nl = 0, r = 0;

	while ((opt = getopt(argc, argv, "o:h")) != -1) {
		if (opt != 'o')
			goto usage;
		out = optarg;
	}
	if (!out || optind == argc)
		goto usage;
	if (argc - optind > MAX_LAYERS) {
		fprintf(stderr, "mklayers: at most %d layers\n", MAX_LAYERS);
		return 1;
	}
	if (parse_epoch(&mtime) < 0) {
		fprintf(stderr, "mklayers: SOURCE_DATE_EPOCH must be decimal seconds\n");
		return 1;
	}
	for (int i = optind; i < argc && r == 0; i++, nl++) {
		r = parse_arg(argv[i], &layers[nl], err, sizeof err);
		for (int k = 0; k < nl && r == 0; k++)
			if (strcmp(layers[k].name, layers[nl].name) == 0)
				r = errbuf_set(err, sizeof err, -EEXIST, "layer %s given twice",
					       layers[nl].name);
	}
	if (r != 0) {
		fprintf(stderr, "mklayers: %s\n", err);
		return 2;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.erofs.tmp", out) >= sizeof tmp) {
		fprintf(stderr, "mklayers: output path too long\n");
		return 1;
	}
	int disk = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (disk < 0) {
		fprintf(stderr, "mklayers: %s: %s\n", out, strerror(errno));
		return 1;
	}
	for (int i = 0; i < nl && r == 0; i++)
		r = build_layer(&layers[i], disk, tmp, &off, mtime, err, sizeof err);
	if (r == 0 && (ftruncate(disk, (off_t)off) != 0 || close(disk) != 0))
		r = errbuf_set(err, sizeof err, -errno, "%s: %s", out, strerror(errno));
	if (r != 0) {
		fprintf(stderr, "mklayers: %s\n", err);
		unlink(out);
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: mklayers -o DISK NAME=DIR[:ENTRY] ...\n");
	return 2;
}
