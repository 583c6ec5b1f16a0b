/* init/layers.c: see layers.h and docs/LAYERS.md. */
#include "init/layers.h"
#include "fs/dm.h"
#include "fs/verity.h"
#include "lib/clock.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/log.h"

#include <bearssl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* --- the disk ------------------------------------------------------------------ */

/* Reads sys_block/name/attr, without its trailing newline, into buf. */
static int read_attr(const char *sys_block, const char *name, const char *attr,
		     char *buf, size_t cap)
{
	char path[512];
	if ((size_t)snprintf(path, sizeof path, "%s/%s/%s", sys_block, name, attr) >= sizeof path)
		return -ENAMETOOLONG;
	long n = file_read(path, buf, cap - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Decimal, no sign, at most max. */
static int parse_dec(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		uint64_t dgt = (uint64_t)(*s - '0');
		if (dgt > max || v > (max - dgt) / 10)
			return -EINVAL;
		v = v * 10 + dgt;
	}
	*out = v;
	return 0;
}

/* "MAJOR:MINOR" as sysfs writes it. */
static int parse_devnum(char *s, dev_t *dev)
{
	char *colon = strchr(s, ':');
	uint64_t maj, min;
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (parse_dec(s, 0xfff, &maj) != 0 || parse_dec(colon + 1, 0xfffff, &min) != 0)
		return -EINVAL;
	*dev = makedev((unsigned)maj, (unsigned)min);
	return 0;
}

static int disk_facts(const char *sys_block, const char *name, struct layers_disk *d,
		      char *err, size_t errlen)
{
	char buf[64];
	uint64_t sectors, ro;
	int r;

	memset(d, 0, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", name);
	if ((r = read_attr(sys_block, name, "dev", buf, sizeof buf)) != 0 ||
	    (r = parse_devnum(buf, &d->dev)) != 0)
		return errbuf_set(err, errlen, r, "%s/%s/dev: unreadable or not MAJOR:MINOR",
				  sys_block, name);
	if ((r = read_attr(sys_block, name, "size", buf, sizeof buf)) != 0 ||
	    (r = parse_dec(buf, UINT64_MAX / 512, &sectors)) != 0)
		return errbuf_set(err, errlen, r, "%s/%s/size: unreadable or not a number",
				  sys_block, name);
	if ((r = read_attr(sys_block, name, "ro", buf, sizeof buf)) != 0 ||
	    (r = parse_dec(buf, 1, &ro)) != 0)
		return errbuf_set(err, errlen, r, "%s/%s/ro: unreadable or not 0/1", sys_block, name);
	d->bytes = sectors * 512;
	d->readonly = ro == 1;
	return 0;
}

int layers_find_disk(const char *sys_block, const char *serial, struct layers_disk *d,
		     char *err, size_t errlen)
{
	DIR *dir = opendir(sys_block);
	struct dirent *de;
	char found[32] = "", buf[64];
	int r = 0;

	if (!dir)
		return errbuf_set(err, errlen, -errno, "%s: %s", sys_block, strerror(errno));
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof found)
			continue;
		if (read_attr(sys_block, de->d_name, "serial", buf, sizeof buf) != 0 ||
		    strcmp(buf, serial) != 0)
			continue;
		if (found[0]) {
			r = errbuf_set(err, errlen, -EEXIST, "two disks with serial %s: %s and %s",
				       serial, found, de->d_name);
			break;
		}
		/* the name's length was checked above */
		memcpy(found, de->d_name, strlen(de->d_name) + 1);
	}
	closedir(dir);
	if (r != 0)
		return r;
	if (!found[0])
		return errbuf_set(err, errlen, -ENOENT, "no disk with serial %s", serial);
	return disk_facts(sys_block, found, d, err, errlen);
}

int layers_check_fit(const struct manifest_layer *l, uint64_t disk_bytes, char *err,
		     size_t errlen)
{
	/* The manifest parser bounds every field by LAYER_MAX_BYTES: no
	 * overflow here. */
	uint64_t dend = l->data_offset + l->data_blocks * LAYER_BLOCK;
	uint64_t hend = l->hash_offset + l->hash_blocks * LAYER_BLOCK;
	if (dend > disk_bytes || hend > disk_bytes)
		return errbuf_set(err, errlen, -ERANGE,
				  "layer needs bytes up to %llu, the disk has %llu",
				  (unsigned long long)(dend > hend ? dend : hend),
				  (unsigned long long)disk_bytes);
	return 0;
}

/* --- one layer ---------------------------------------------------------------- */

struct opened {
	char dm_name[48];
	char node[64];
	char mnt[64];
	bool dm, mounted;
};

static void undo(struct dm_ctl *c, struct opened *o)
{
	char err[ERRBUF_LEN];
	if (o->mounted && umount2(o->mnt, 0) != 0)
		dlog("layers: umount %s: %s", o->mnt, strerror(errno));
	if (o->mnt[0])
		rmdir(o->mnt);
	if (o->dm && verity_close(c, o->dm_name, err, sizeof err) != 0)
		dlog("layers: %s", err);
}

/* The verity device's node, made by devtmpfs as /dev/dm-MINOR. */
static int device_node(dev_t dev, char *node, size_t cap, char *err, size_t errlen)
{
	struct stat st;
	snprintf(node, cap, "/dev/dm-%u", minor(dev));
	if (stat(node, &st) != 0)
		return errbuf_set(err, errlen, -errno, "%s: %s", node, strerror(errno));
	if (!S_ISBLK(st.st_mode) || st.st_rdev != dev)
		return errbuf_set(err, errlen, -ENODEV, "%s is not block device %u:%u", node,
				  major(dev), minor(dev));
	return 0;
}

/* Reading block 0 through verity checks the path from it to the root
 * hash: a wrong root hash in the manifest fails here. */
static int check_first_block(const char *node, char *err, size_t errlen)
{
	static unsigned char block[LAYER_BLOCK];
	int fd = open(node, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(err, errlen, -errno, "open %s: %s", node, strerror(errno));
	ssize_t n = pread(fd, block, sizeof block, 0);
	int e = errno;
	close(fd);
	if (n == (ssize_t)sizeof block)
		return 0;
	if (n < 0 && e == EIO)
		return errbuf_set(err, errlen, -EIO,
				  "block 0 does not verify against the manifest's root hash (I/O error)");
	return errbuf_set(err, errlen, n < 0 ? -e : -EIO, "read block 0: %s",
			  n < 0 ? strerror(e) : "short read");
}

static int count_root(const char *mnt, unsigned *count, char *err, size_t errlen)
{
	DIR *d = opendir(mnt);
	struct dirent *de;
	*count = 0;
	if (!d)
		return errbuf_set(err, errlen, -errno, "open %s: %s", mnt, strerror(errno));
	while ((errno = 0, de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(*count)++;
	int e = errno;
	closedir(d);
	if (e != 0)
		return errbuf_set(err, errlen, -e, "read %s: %s", mnt, strerror(e));
	return 0;
}

static int check_entry(const char *mnt, const struct manifest_layer *l, uint64_t *size,
		       char *err, size_t errlen)
{
	static unsigned char buf[65536];
	char path[sizeof l->entry_path + 80];
	br_sha256_context h;
	uint8_t got[32];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof path, "%s/%s", mnt, l->entry_path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errbuf_set(err, errlen, -errno, "entry %s: %s", l->entry_path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errbuf_set(err, errlen, -EINVAL, "entry %s: not a regular file", l->entry_path);
	}
	br_sha256_init(&h);
	*size = 0;
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return errbuf_set(err, errlen, -e, "entry %s: read at byte %llu: %s",
					  l->entry_path, (unsigned long long)*size, strerror(e));
		}
		br_sha256_update(&h, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	close(fd);
	br_sha256_out(&h, got);
	if (memcmp(got, l->entry_sha256, sizeof got) != 0)
		return errbuf_set(err, errlen, -EBADMSG, "entry %s: SHA-256 differs from the manifest",
				  l->entry_path);
	return 0;
}

static int open_layer(struct dm_ctl *c, const struct layers_disk *disk,
		      const struct manifest_layer *ml, char *err, size_t errlen)
{
	struct opened o = { .dm = false };
	struct verity_layer vl = {
		.disk = disk->dev, .data_offset = ml->data_offset, .data_blocks = ml->data_blocks,
		.hash_offset = ml->hash_offset, .salt_len = sizeof ml->salt,
	};
	unsigned entries;
	uint64_t esize = 0;
	dev_t dev;
	int r;

	memcpy(vl.root, ml->root_hash, sizeof vl.root);
	memcpy(vl.salt, ml->salt, sizeof vl.salt);
	snprintf(o.dm_name, sizeof o.dm_name, "layer-%s", ml->name);
	if ((r = layers_check_fit(ml, disk->bytes, err, errlen)) != 0 ||
	    (r = verity_open(c, o.dm_name, &vl, &dev, err, errlen)) != 0)
		return r;
	o.dm = true;
	/* What the kernel now holds: a live, read-only table on that device. */
	struct dm_info info;
	if ((r = dm_status(c, o.dm_name, &info, err, errlen)) != 0)
		goto fail;
	if (!info.active || info.suspended || !info.readonly || info.dev != dev ||
	    info.target_count != 1) {
		r = errbuf_set(err, errlen, -EPROTO, "%s: not a live read-only table of one target",
			       o.dm_name);
		goto fail;
	}
	if ((r = device_node(dev, o.node, sizeof o.node, err, errlen)) != 0 ||
	    (r = check_first_block(o.node, err, errlen)) != 0)
		goto fail;
	snprintf(o.mnt, sizeof o.mnt, "%s/%s", LAYERS_MOUNT_DIR, ml->name);
	if (mkdir(o.mnt, 0755) != 0 && errno != EEXIST) {
		r = errbuf_set(err, errlen, -errno, "mkdir %s: %s", o.mnt, strerror(errno));
		o.mnt[0] = '\0';
		goto fail;
	}
	if (mount(o.node, o.mnt, "erofs", MS_RDONLY | MS_NODEV | MS_NOSUID, NULL) != 0) {
		r = errbuf_set(err, errlen, -errno, "mount erofs %s on %s: %s", o.node, o.mnt,
			       strerror(errno));
		goto fail;
	}
	o.mounted = true;
	if ((r = count_root(o.mnt, &entries, err, errlen)) != 0 ||
	    (ml->has_entry && (r = check_entry(o.mnt, ml, &esize, err, errlen)) != 0))
		goto fail;
	dlog("layers: %s: mounted %s on %s (erofs, ro,nodev,nosuid; %llu blocks, verity "
	     "hash tree at byte %llu), %u entries at its root%s%s%s",
	     ml->name, o.node, o.mnt, (unsigned long long)ml->data_blocks,
	     (unsigned long long)ml->hash_offset, entries,
	     ml->has_entry ? "; entry " : "", ml->has_entry ? ml->entry_path : "",
	     ml->has_entry ? " matches the manifest" : "");
	return 0;
fail:
	undo(c, &o);
	return r;
}

/* --- all layers ------------------------------------------------------------------- */

_Static_assert(LAYERS_INFO_MAX >= MANIFEST_MAX_LAYERS, "every layer fits the message");
_Static_assert(sizeof(((struct layer_info *)0)->name) >= sizeof(((struct layer_status *)0)->name),
	       "a layer's name fits the message");
_Static_assert(sizeof(((struct layer_info *)0)->reason) >= LAYER_REASON_MAX,
	       "a reason fits the message");

void layers_info(const struct layers_status *st, struct layers_info_msg *out)
{
	unsigned n = st->n < LAYERS_INFO_MAX ? st->n : LAYERS_INFO_MAX;

	memset(out, 0, sizeof *out);
	out->n = n;
	out->available = st->available;
	for (unsigned i = 0; i < n; i++) {
		snprintf(out->l[i].name, sizeof out->l[i].name, "%s", st->l[i].name);
		out->l[i].available = st->l[i].available;
		if (!st->l[i].available)
			snprintf(out->l[i].reason, sizeof out->l[i].reason, "%s", st->l[i].reason);
	}
}

static void unavailable(struct layer_status *s, const char *why)
{
	s->available = false;
	snprintf(s->reason, sizeof s->reason, "%s", why);
	dlog("layers: %s: UNAVAILABLE: %s", s->name, s->reason);
}

void layers_open_all(const struct manifest *m, struct layers_status *st)
{
	static struct dm_ctl dm;	/* 16 KiB ioctl buffer: not on the stack */
	struct layers_disk disk;
	char err[ERRBUF_LEN], why[ERRBUF_LEN];
	uint64_t t0 = mono_ms();
	int r;

	memset(st, 0, sizeof *st);
	st->n = m->nlayers;
	for (unsigned i = 0; i < m->nlayers; i++)
		snprintf(st->l[i].name, sizeof st->l[i].name, "%s", m->layers[i].name);
	if (m->nlayers == 0) {
		dlog("layers: the manifest lists none");
		return;
	}
	dm.fd = -1;
	r = layers_find_disk(LAYERS_SYS_BLOCK, LAYERS_DISK_SERIAL, &disk, err, sizeof err);
	if (r == 0) {
		dlog("layers: disk %s (%u:%u, %llu bytes%s)", disk.name, major(disk.dev),
		     minor(disk.dev), (unsigned long long)disk.bytes,
		     disk.readonly ? ", read-only" : ", WRITABLE: only read here, verity-checked");
		if (mkdir(LAYERS_MOUNT_DIR, 0755) != 0 && errno != EEXIST)
			r = errbuf_set(err, sizeof err, -errno, "mkdir %s: %s", LAYERS_MOUNT_DIR,
				       strerror(errno));
	}
	if (r == 0)
		r = dm_open(&dm, NULL, err, sizeof err);
	for (unsigned i = 0; i < m->nlayers; i++) {
		struct layer_status *s = &st->l[i];
		if (r != 0) {
			unavailable(s, err);
			continue;
		}
		if (open_layer(&dm, &disk, &m->layers[i], why, sizeof why) != 0) {
			unavailable(s, why);
			continue;
		}
		s->available = true;
		st->available++;
	}
	dm_close(&dm);
	dlog("layers: %u of %u available (%llu ms)", st->available, st->n,
	     (unsigned long long)(mono_ms() - t0));
}
