/* fs/dm.c: see dm.h. The request layout is the kernel's (linux/dm-ioctl.h):
 * struct dm_ioctl, then at data_start the targets, each a struct
 * dm_target_spec followed by its NUL-terminated parameter line, padded so
 * that the next spec (at spec + next) is 8-byte aligned.
 */
#include "fs/dm.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

_Static_assert(DM_CTL_BUF >= sizeof(struct dm_ioctl) + 4096, "room for a table");
_Static_assert(sizeof(struct dm_ioctl) % 8 == 0, "targets start aligned");

static struct dm_ioctl *header(struct dm_ctl *c, const char *name, uint32_t flags)
{
	struct dm_ioctl *io = (struct dm_ioctl *)c->buf;
	memset(io, 0, sizeof *io);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = sizeof *io;
	io->data_start = sizeof *io;
	io->flags = flags;
	if (name)
		snprintf(io->name, sizeof io->name, "%s", name);
	return io;
}

/* A device name: 1..DM_NAME_LEN-1 bytes of [A-Za-z0-9._-]. */
static int check_name(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);
	if (n == 0 || n >= DM_NAME_LEN)
		return errbuf_set(err, errlen, -EINVAL, "dm: name length %zu not in 1..%d", n,
				  DM_NAME_LEN - 1);
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return errbuf_set(err, errlen, -EINVAL, "dm: bad character in name '%s'", name);
	}
	return 0;
}

/* The kernel's encoding of dm_ioctl.dev (huge_encode_dev). */
static dev_t decode_dev(uint64_t d)
{
	unsigned maj = (unsigned)((d >> 8) & 0xfff);
	unsigned min = (unsigned)((d & 0xff) | ((d >> 12) & 0xfff00));
	return makedev(maj, min);
}

static int call(struct dm_ctl *c, unsigned long req, const char *what, const char *name,
		char *err, size_t errlen)
{
	int r;
	do
		r = ioctl(c->fd, req, c->buf);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errbuf_set(err, errlen, -errno, "dm: %s %s: %s", what, name ? name : "",
				  strerror(errno));
	return 0;
}

int dm_open(struct dm_ctl *c, const char *path, char *err, size_t errlen)
{
	memset(c->version, 0, sizeof c->version);
	c->fd = open(path ? path : DM_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return errbuf_set(err, errlen, -errno, "dm: open %s: %s",
				  path ? path : DM_CONTROL_PATH, strerror(errno));
	struct dm_ioctl *io = header(c, NULL, 0);
	int r = call(c, DM_VERSION, "version", NULL, err, errlen);
	if (r == 0 && io->version[0] != DM_VERSION_MAJOR)
		r = errbuf_set(err, errlen, -EPROTO, "dm: interface version %u, need %u",
			       io->version[0], DM_VERSION_MAJOR);
	if (r != 0) {
		dm_close(c);
		return r;
	}
	memcpy(c->version, io->version, sizeof c->version);
	return 0;
}

void dm_close(struct dm_ctl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

long dm_pack_table(struct dm_ctl *c, const char *name, const struct dm_target *t,
		   unsigned n, uint32_t flags, char *err, size_t errlen)
{
	int r;
	if ((r = check_name(name, err, errlen)) != 0)
		return r;
	if (n == 0 || n > DM_MAX_TARGETS)
		return errbuf_set(err, errlen, -EINVAL, "dm: %u targets (1..%d)", n, DM_MAX_TARGETS);
	memset(c->buf, 0, sizeof c->buf);
	struct dm_ioctl *io = header(c, name, flags);
	size_t off = io->data_start;
	uint64_t next_sector = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t tlen = strlen(t[i].type), plen = strlen(t[i].params);
		if (tlen == 0 || tlen >= DM_MAX_TYPE_NAME)
			return errbuf_set(err, errlen, -EINVAL, "dm: bad target type '%s'", t[i].type);
		/* Targets tile the device from sector 0 without gaps. */
		if (t[i].start != next_sector || t[i].length == 0 ||
		    t[i].length > UINT64_MAX - t[i].start)
			return errbuf_set(err, errlen, -EINVAL, "dm: target %u: bad sector range", i);
		next_sector = t[i].start + t[i].length;
		size_t need = sizeof(struct dm_target_spec) + ((plen + 1 + 7) & ~(size_t)7);
		if (need > sizeof c->buf - off)
			return errbuf_set(err, errlen, -E2BIG, "dm: table for %s over %d bytes", name,
					  DM_CTL_BUF);
		struct dm_target_spec *s = (struct dm_target_spec *)(c->buf + off);
		s->sector_start = t[i].start;
		s->length = t[i].length;
		s->status = 0;
		s->next = (uint32_t)need;
		memcpy(s->target_type, t[i].type, tlen + 1);
		memcpy(c->buf + off + sizeof *s, t[i].params, plen + 1);
		off += need;
	}
	io->target_count = n;
	io->data_size = (uint32_t)off;
	return (long)off;
}

int dm_params_end(char *out, size_t cap, int n)
{
	if (n >= 0 && (size_t)n < cap)
		return n;
	if (cap)
		explicit_bzero(out, cap);
	return n == -EINVAL ? -EINVAL : -ENOSPC;
}

int dm_create_keyed(struct dm_ctl *c, const char *name, const char *type, uint64_t sectors,
		    char *params, size_t cap, dev_t *dev, char *err, size_t errlen)
{
	struct dm_target t = { 0, sectors, type, params };
	int r = dm_create(c, name, NULL, &t, 1, false, true, dev, err, errlen);
	explicit_bzero(params, cap);
	return r;
}

int dm_remove(struct dm_ctl *c, const char *name, char *err, size_t errlen)
{
	int r;
	if ((r = check_name(name, err, errlen)) != 0)
		return r;
	header(c, name, 0);
	return call(c, DM_DEV_REMOVE, "remove", name, err, errlen);
}

int dm_status(struct dm_ctl *c, const char *name, struct dm_info *info, char *err,
	      size_t errlen)
{
	int r;
	memset(info, 0, sizeof *info);
	if ((r = check_name(name, err, errlen)) != 0)
		return r;
	struct dm_ioctl *io = header(c, name, 0);
	if ((r = call(c, DM_DEV_STATUS, "status", name, err, errlen)) != 0)
		return r;
	info->dev = decode_dev(io->dev);
	info->open_count = io->open_count;
	info->target_count = io->target_count;
	info->active = (io->flags & DM_ACTIVE_PRESENT_FLAG) != 0;
	info->suspended = (io->flags & DM_SUSPEND_FLAG) != 0;
	info->readonly = (io->flags & DM_READONLY_FLAG) != 0;
	return 0;
}

int dm_create(struct dm_ctl *c, const char *name, const char *uuid,
	      const struct dm_target *t, unsigned n, bool readonly, bool secure,
	      dev_t *dev, char *err, size_t errlen)
{
	uint32_t flags = (readonly ? DM_READONLY_FLAG : 0) | (secure ? DM_SECURE_DATA_FLAG : 0);
	char ignored[ERRBUF_LEN];
	int r;

	/* Check the table before anything exists in the kernel. */
	r = (int)dm_pack_table(c, name, t, n, flags, err, errlen);
	/* A secret table packed above must not stay in the buffer while the
	 * device is made (nor on the early returns). */
	if (secure)
		explicit_bzero(c->buf, sizeof c->buf);
	if (r < 0)
		return r;
	if (uuid && strlen(uuid) >= DM_UUID_LEN)
		return errbuf_set(err, errlen, -EINVAL, "dm: uuid too long");
	struct dm_ioctl *io = header(c, name, 0);
	if (uuid)
		snprintf(io->uuid, sizeof io->uuid, "%s", uuid);
	if ((r = call(c, DM_DEV_CREATE, "create", name, err, errlen)) != 0)
		return r;
	if ((r = (int)dm_pack_table(c, name, t, n, flags, err, errlen)) >= 0)
		r = call(c, DM_TABLE_LOAD, "table load", name, err, errlen);
	if (secure)
		explicit_bzero(c->buf, sizeof c->buf);
	if (r == 0) {
		/* DM_DEV_SUSPEND without DM_SUSPEND_FLAG resumes: the loaded
		 * table becomes the live one. */
		io = header(c, name, 0);
		r = call(c, DM_DEV_SUSPEND, "resume", name, err, errlen);
		if (r == 0)
			*dev = decode_dev(io->dev);
	}
	if (r < 0)
		dm_remove(c, name, ignored, sizeof ignored);
	return r < 0 ? r : 0;
}

int dm_open_node(const char *node, dev_t dev, int flags, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(node, flags | O_CLOEXEC);

	if (fd < 0)
		return errbuf_set(err, errlen, -errno, "open %s: %s", node, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISBLK(st.st_mode) || st.st_rdev != dev) {
		close(fd);
		return errbuf_set(err, errlen, -ENODEV, "%s is not block device %u:%u", node,
				  major(dev), minor(dev));
	}
	return fd;
}
