/* image/erofs.c: deterministic EROFS writer (see erofs.h, docs/LAYERS.md).
 *
 * Three steps: load the tree (names sorted bytewise, the children of a
 * directory contiguous in one node array, the root first), lay it out
 * (inode positions and data blocks follow from sizes alone, so nids are
 * known before any directory is written), then write: the metadata area is
 * assembled in memory and written once; whole data blocks go straight to
 * their place with pwrite; the file is truncated to the image size, so
 * every byte not written is a zero.
 */
#include "image/erofs.h"
#include "lib/bytes.h"
#include "lib/errbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BS            EROFS_BLOCK
#define SB_SIZE       128u
#define SLOT          32u	/* nid unit: inodes start on 32-byte boundaries */
#define COMPACT_SIZE  32u
#define EXTENDED_SIZE 64u
#define DIRENT_SIZE   12u

enum { LAYOUT_PLAIN = 0, LAYOUT_INLINE = 2 };
enum { FT_REG = 1, FT_DIR = 2, FT_SYMLINK = 7 };

struct node {
	char *name;		/* component; the root's is "" */
	char *path;		/* host path, for reading */
	char *target;		/* symlink target */
	uint32_t parent;	/* index; the root is its own parent */
	uint32_t first_kid, nkids;	/* directories: kids are contiguous */
	uint32_t mode;		/* S_IFxxx | permission bits */
	uint32_t nlink;
	uint64_t size;		/* file bytes, target length, directory bytes */
	uint64_t pos;		/* byte offset of the inode in the image */
	uint32_t blkaddr;	/* first data block (plain blocks) */
	uint8_t layout;
	uint8_t extended;
};

struct tree {
	struct node *n;
	uint32_t count, cap;
	uint8_t *meta;		/* the metadata area being written */
	uint64_t meta_len;
	uint64_t blocks;
	int fd;
	char *err;
	size_t errlen;
};

static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* --- loading ------------------------------------------------------------------ */

static int add_node(struct tree *t, uint32_t *idx)
{
	if (t->count == EROFS_MAX_NODES)
		return errbuf_set(t->err, t->errlen, -E2BIG, "more than %u entries in the tree",
				  EROFS_MAX_NODES);
	if (t->count == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 256;
		struct node *nn = realloc(t->n, (size_t)cap * sizeof *nn);
		if (!nn)
			return errbuf_set(t->err, t->errlen, -ENOMEM, "out of memory");
		t->n = nn;
		t->cap = cap;
	}
	memset(&t->n[t->count], 0, sizeof t->n[0]);
	*idx = t->count++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory path except "." and "..", sorted bytewise. */
static int list_dir(struct tree *t, const char *path, char ***names, uint32_t *count)
{
	DIR *d = opendir(path);
	char **v = NULL;
	uint32_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	if (!d)
		return errbuf_set(t->err, t->errlen, -errno, "%s: %s", path, strerror(errno));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strlen(de->d_name) > EROFS_NAME_MAX) {
			r = errbuf_set(t->err, t->errlen, -ENAMETOOLONG, "%s/%s: name longer than %u bytes",
				       path, de->d_name, EROFS_NAME_MAX);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, (size_t)cap * sizeof *nv);
			if (!nv) {
				r = errbuf_set(t->err, t->errlen, -ENOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		if (!(v[n] = strdup(de->d_name))) {
			r = errbuf_set(t->err, t->errlen, -ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	if (r == 0 && errno != 0)
		r = errbuf_set(t->err, t->errlen, -errno, "%s: readdir: %s", path, strerror(errno));
	closedir(d);
	if (r != 0) {
		for (uint32_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return r;
	}
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_str);
	*names = v;
	*count = n;
	return 0;
}

/* Fills node i (path already set) from lstat. */
static int stat_node(struct tree *t, uint32_t i)
{
	struct node *nd = &t->n[i];
	struct stat st;

	if (lstat(nd->path, &st) != 0)
		return errbuf_set(t->err, t->errlen, -errno, "%s: %s", nd->path, strerror(errno));
	nd->mode = (uint32_t)(st.st_mode & (S_IFMT | 07777));
	nd->nlink = 1;
	if (S_ISREG(st.st_mode)) {
		nd->size = (uint64_t)st.st_size;
	} else if (S_ISLNK(st.st_mode)) {
		char buf[4097];
		ssize_t k = readlink(nd->path, buf, sizeof buf);
		if (k < 0)
			return errbuf_set(t->err, t->errlen, -errno, "%s: readlink: %s", nd->path,
					  strerror(errno));
		if (k == 0 || (size_t)k >= sizeof buf)
			return errbuf_set(t->err, t->errlen, -ENAMETOOLONG,
					  "%s: symlink target empty or over 4096 bytes", nd->path);
		if (!(nd->target = strndup(buf, (size_t)k)))
			return errbuf_set(t->err, t->errlen, -ENOMEM, "out of memory");
		nd->size = (uint64_t)k;
	} else if (S_ISDIR(st.st_mode)) {
		nd->nlink = 2;
	} else {
		return errbuf_set(t->err, t->errlen, -EINVAL,
				  "%s: not a regular file, directory or symlink", nd->path);
	}
	return 0;
}

static int load_dir(struct tree *t, uint32_t di, unsigned depth)
{
	char **names = NULL;
	uint32_t count = 0, first;
	int r;

	if (depth > EROFS_MAX_DEPTH)
		return errbuf_set(t->err, t->errlen, -ELOOP, "%s: nested deeper than %u",
				  t->n[di].path, EROFS_MAX_DEPTH);
	if ((r = list_dir(t, t->n[di].path, &names, &count)) != 0)
		return r;
	first = t->count;
	for (uint32_t k = 0; k < count && r == 0; k++) {
		uint32_t i;
		if ((r = add_node(t, &i)) != 0)
			break;
		struct node *nd = &t->n[i];
		nd->name = names[k];
		names[k] = NULL;
		nd->parent = di;
		size_t plen = strlen(t->n[di].path) + 1 + strlen(nd->name) + 1;
		if (!(nd->path = malloc(plen))) {
			r = errbuf_set(t->err, t->errlen, -ENOMEM, "out of memory");
			break;
		}
		snprintf(nd->path, plen, "%s/%s", t->n[di].path, nd->name);
		r = stat_node(t, i);
	}
	for (uint32_t k = 0; k < count; k++)
		free(names[k]);
	free(names);
	if (r != 0)
		return r;
	t->n[di].first_kid = first;
	t->n[di].nkids = count;
	for (uint32_t k = first; k < first + count && r == 0; k++) {
		if (!S_ISDIR(t->n[k].mode))
			continue;
		t->n[di].nlink++;
		r = load_dir(t, k, depth + 1);
	}
	return r;
}

/* --- directories ---------------------------------------------------------------- */

struct dent {
	const char *name;
	uint32_t len;
	uint32_t node;
};

static int cmp_dent(const void *a, const void *b)
{
	const struct dent *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* The entries of directory d with "." and "..", sorted; *out is malloc'd. */
static int dir_entries(struct tree *t, uint32_t d, struct dent **out, uint32_t *count)
{
	const struct node *nd = &t->n[d];
	uint32_t n = nd->nkids + 2;
	struct dent *e = malloc((size_t)n * sizeof *e);

	if (!e)
		return errbuf_set(t->err, t->errlen, -ENOMEM, "out of memory");
	e[0] = (struct dent){ ".", 1, d };
	e[1] = (struct dent){ "..", 2, nd->parent };
	for (uint32_t k = 0; k < nd->nkids; k++) {
		const struct node *kid = &t->n[nd->first_kid + k];
		e[k + 2] = (struct dent){ kid->name, (uint32_t)strlen(kid->name), nd->first_kid + k };
	}
	qsort(e, n, sizeof *e, cmp_dent);
	*out = e;
	*count = n;
	return 0;
}

/* Entries are packed into blocks in order; an entry never straddles two. */
static uint64_t dir_size(const struct dent *e, uint32_t n)
{
	uint64_t full = 0, used = 0;
	for (uint32_t k = 0; k < n; k++) {
		uint64_t need = DIRENT_SIZE + e[k].len;
		if (used + need > BS) {
			full++;
			used = 0;
		}
		used += need;
	}
	return full * BS + used;
}

static int size_dirs(struct tree *t)
{
	for (uint32_t i = 0; i < t->count; i++) {
		struct dent *e;
		uint32_t n;
		int r;
		if (!S_ISDIR(t->n[i].mode))
			continue;
		if ((r = dir_entries(t, i, &e, &n)) != 0)
			return r;
		t->n[i].size = dir_size(e, n);
		free(e);
	}
	return 0;
}

/* Writes directory d's contents into buf (its size, zero-filled). */
static void fill_dir(const struct tree *t, const struct dent *e, uint32_t n, uint8_t *buf)
{
	uint32_t k = 0;
	uint64_t blk = 0;

	while (k < n) {
		uint32_t first = k, used = 0;
		while (k < n && used + DIRENT_SIZE + e[k].len <= BS) {
			used += DIRENT_SIZE + e[k].len;
			k++;
		}
		uint8_t *b = buf + blk * BS;
		uint32_t nameoff = (k - first) * DIRENT_SIZE;
		for (uint32_t j = first; j < k; j++) {
			uint8_t *de = b + (j - first) * DIRENT_SIZE;
			const struct node *target = &t->n[e[j].node];
			uint8_t ft = S_ISDIR(target->mode) ? FT_DIR :
				     S_ISLNK(target->mode) ? FT_SYMLINK : FT_REG;
			put_le64(de, target->pos / SLOT);
			put_le16(de + 8, (uint16_t)nameoff);
			de[10] = ft;
			de[11] = 0;
			memcpy(b + nameoff, e[j].name, e[j].len);
			nameoff += e[j].len;
		}
		blk++;
	}
}

/* --- layout ---------------------------------------------------------------------- */

/* Places every inode (and inline tail) in the metadata area, then gives the
 * whole blocks of every inode their place in the data area, in node order. */
static int lay_out(struct tree *t)
{
	uint64_t pos = EROFS_SB_OFFSET + SB_SIZE;

	for (uint32_t i = 0; i < t->count; i++) {
		struct node *nd = &t->n[i];
		nd->extended = nd->size > UINT32_MAX || nd->nlink > UINT16_MAX;
		uint64_t isize = nd->extended ? EXTENDED_SIZE : COMPACT_SIZE;
		uint64_t tail = nd->size % BS;
		uint64_t avail = BS - pos % BS;

		nd->layout = LAYOUT_PLAIN;
		if (tail > 0 && isize + tail <= avail) {
			nd->layout = LAYOUT_INLINE;
		} else if (tail > 0 && isize + tail <= BS && avail <= BS - tail) {
			/* Padding to a new block wastes no more than a plain
			 * tail block would. */
			nd->layout = LAYOUT_INLINE;
			pos = round_up(pos, BS);
		} else if (isize > avail) {
			pos = round_up(pos, BS);
		}
		nd->pos = pos;
		pos = round_up(pos + isize + (nd->layout == LAYOUT_INLINE ? tail : 0), SLOT);
	}
	if (t->n[0].pos / SLOT > UINT16_MAX)
		return errbuf_set(t->err, t->errlen, -EFBIG, "root inode beyond nid 65535");
	t->meta_len = round_up(pos, BS);
	uint64_t blk = t->meta_len / BS;
	for (uint32_t i = 0; i < t->count; i++) {
		struct node *nd = &t->n[i];
		uint64_t nblk = nd->layout == LAYOUT_INLINE ? nd->size / BS :
				(nd->size + BS - 1) / BS;
		nd->blkaddr = nblk ? (uint32_t)blk : 0;
		blk += nblk;
		if (blk > UINT32_MAX)
			return errbuf_set(t->err, t->errlen, -EFBIG, "image larger than 2^32 blocks");
	}
	t->blocks = blk;
	return 0;
}

/* --- writing ------------------------------------------------------------------------ */

static void put_inode(struct tree *t, const struct node *nd, uint32_t ino, uint64_t mtime)
{
	uint8_t *p = t->meta + nd->pos;
	uint16_t format = (uint16_t)(nd->extended | nd->layout << 1);

	put_le16(p, format);
	put_le16(p + 2, 0);			/* no xattrs */
	put_le16(p + 4, (uint16_t)nd->mode);
	put_le32(p + 16, nd->blkaddr);		/* i_u.raw_blkaddr */
	put_le32(p + 20, ino);
	if (!nd->extended) {
		put_le16(p + 6, (uint16_t)nd->nlink);
		put_le32(p + 8, (uint32_t)nd->size);
		/* 12: reserved, 24/26: uid/gid 0, 28: reserved */
		return;
	}
	put_le64(p + 8, nd->size);
	/* 24/28: uid/gid 0 */
	put_le64(p + 32, mtime);
	put_le32(p + 40, 0);
	put_le32(p + 44, nd->nlink);
}

static int pwrite_all(struct tree *t, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t w = pwrite(t->fd, p, len, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return errbuf_set(t->err, t->errlen, w < 0 ? -errno : -EIO, "write: %s",
					  w < 0 ? strerror(errno) : "short write");
		p += w;
		off += (uint64_t)w;
		len -= (size_t)w;
	}
	return 0;
}

/* Places content[0..size) of node nd: whole blocks in the data area, the
 * tail inline or in its own plain block. */
static int place_chunk(struct tree *t, const struct node *nd, uint64_t at,
		       const uint8_t *chunk, size_t len)
{
	uint64_t inline_from = nd->layout == LAYOUT_INLINE ? nd->size / BS * BS : UINT64_MAX;

	if (at + len <= inline_from)
		return pwrite_all(t, chunk, len, (uint64_t)nd->blkaddr * BS + at);
	if (at < inline_from) {
		size_t head = (size_t)(inline_from - at);
		int r = pwrite_all(t, chunk, head, (uint64_t)nd->blkaddr * BS + at);
		if (r != 0)
			return r;
		chunk += head;
		len -= head;
		at = inline_from;
	}
	memcpy(t->meta + nd->pos + (nd->extended ? EXTENDED_SIZE : COMPACT_SIZE) +
	       (at - inline_from), chunk, len);
	return 0;
}

static int write_file(struct tree *t, const struct node *nd, uint8_t *buf, size_t cap)
{
	int fd = open(nd->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	uint64_t at = 0;
	int r = 0;

	if (fd < 0)
		return errbuf_set(t->err, t->errlen, -errno, "%s: %s", nd->path, strerror(errno));
	while (r == 0) {
		ssize_t got = read(fd, buf, cap);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = errbuf_set(t->err, t->errlen, -errno, "%s: read: %s", nd->path,
				       strerror(errno));
			break;
		}
		if (got == 0)
			break;
		if (at + (uint64_t)got > nd->size) {
			r = errbuf_set(t->err, t->errlen, -EIO, "%s: grew while being read", nd->path);
			break;
		}
		r = place_chunk(t, nd, at, buf, (size_t)got);
		at += (uint64_t)got;
	}
	close(fd);
	if (r == 0 && at != nd->size)
		r = errbuf_set(t->err, t->errlen, -EIO, "%s: shrank while being read", nd->path);
	return r;
}

static int write_dir(struct tree *t, uint32_t i)
{
	const struct node *nd = &t->n[i];
	struct dent *e;
	uint32_t n;
	int r;

	if ((r = dir_entries(t, i, &e, &n)) != 0)
		return r;
	uint8_t *buf = calloc(1, round_up(nd->size, BS));
	if (!buf) {
		free(e);
		return errbuf_set(t->err, t->errlen, -ENOMEM, "out of memory");
	}
	fill_dir(t, e, n, buf);
	r = place_chunk(t, nd, 0, buf, (size_t)nd->size);
	free(buf);
	free(e);
	return r;
}

static void put_super(struct tree *t, uint64_t mtime)
{
	uint8_t *sb = t->meta + EROFS_SB_OFFSET;

	put_le32(sb + 0, EROFS_MAGIC);
	/* 4: checksum, 8: feature_compat: none */
	sb[12] = 12;				/* blkszbits: 4096 */
	sb[13] = 0;				/* sb_extslots */
	put_le16(sb + 14, (uint16_t)(t->n[0].pos / SLOT));	/* root_nid */
	put_le64(sb + 16, t->count);		/* inos */
	put_le64(sb + 24, mtime);		/* build_time */
	put_le32(sb + 32, 0);			/* build_time_nsec */
	put_le32(sb + 36, (uint32_t)t->blocks);
	put_le32(sb + 40, 0);			/* meta_blkaddr */
	put_le32(sb + 44, 0);			/* xattr_blkaddr */
	/* 48: uuid, 64: volume name, 80: feature_incompat: all zero */
}

static int write_all(struct tree *t, uint64_t mtime)
{
	size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap);
	int r = 0;

	if (!(t->meta = calloc(1, t->meta_len)) || !buf) {
		free(buf);
		return errbuf_set(t->err, t->errlen, -ENOMEM, "out of memory");
	}
	if (ftruncate(t->fd, 0) != 0 || ftruncate(t->fd, (off_t)(t->blocks * BS)) != 0) {
		free(buf);
		return errbuf_set(t->err, t->errlen, -errno, "truncate: %s", strerror(errno));
	}
	put_super(t, mtime);
	for (uint32_t i = 0; i < t->count && r == 0; i++) {
		const struct node *nd = &t->n[i];
		put_inode(t, nd, i + 1, mtime);
		if (S_ISDIR(nd->mode))
			r = write_dir(t, i);
		else if (S_ISLNK(nd->mode))
			r = place_chunk(t, nd, 0, (const uint8_t *)nd->target, (size_t)nd->size);
		else if (nd->size > 0)
			r = write_file(t, nd, buf, cap);
	}
	free(buf);
	if (r == 0)
		r = pwrite_all(t, t->meta, (size_t)t->meta_len, 0);
	return r;
}

static void free_tree(struct tree *t)
{
	for (uint32_t i = 0; i < t->count; i++) {
		free(t->n[i].name);
		free(t->n[i].path);
		free(t->n[i].target);
	}
	free(t->n);
	free(t->meta);
}

int erofs_write_tree(const char *dir, int out_fd, uint64_t mtime,
		     struct erofs_result *res, char *err, size_t errlen)
{
	struct tree t = { .fd = out_fd, .err = err, .errlen = errlen };
	uint32_t root;
	int r;

	memset(res, 0, sizeof *res);
	if ((r = add_node(&t, &root)) == 0) {
		t.n[root].name = strdup("");
		t.n[root].path = strdup(dir);
		if (!t.n[root].name || !t.n[root].path)
			r = errbuf_set(err, errlen, -ENOMEM, "out of memory");
	}
	if (r == 0 && (r = stat_node(&t, root)) == 0 && !S_ISDIR(t.n[root].mode))
		r = errbuf_set(err, errlen, -ENOTDIR, "%s: not a directory", dir);
	/* The top directory's mode says where the tree was staged (a
	 * mktemp -d is 0700), not what the layer needs: its root is 0755. */
	if (r == 0)
		t.n[root].mode = S_IFDIR | 0755;
	if (r == 0)
		r = load_dir(&t, root, 1);
	if (r == 0)
		r = size_dirs(&t);
	if (r == 0)
		r = lay_out(&t);
	if (r == 0)
		r = write_all(&t, mtime);
	if (r == 0) {
		res->blocks = t.blocks;
		res->meta_blocks = t.meta_len / BS;
		res->nodes = t.count;
		res->root_nid = t.n[0].pos / SLOT;
	}
	free_tree(&t);
	return r;
}
