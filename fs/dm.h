/* fs/dm.h: device-mapper through its ioctls on /dev/mapper/control, with no
 * libdevmapper, dmsetup or veritysetup in the guest.
 *
 * One generic operation, "create a device with this table", serves every
 * user: the runtime layers (linear + verity, fs/verity.h) and, later, the
 * encrypted store (crypt). A table is a list of targets, each a sector
 * range of the new device, a target type and its parameter line, exactly
 * as `dmsetup table` would show it.
 *
 * The ioctl buffer lives in the caller's struct dm_ctl (no hidden state).
 * A table that carries a secret (a dm-crypt key) is loaded with
 * DM_SECURE_DATA_FLAG, so the kernel wipes its copies, and the buffer is
 * wiped here after the call.
 *
 * Error convention: 0 or a negative errno, with a one-line reason in the
 * caller's err buffer (ERRBUF_LEN bytes) naming the step that failed.
 */
#ifndef DSHIELD_FS_DM_H
#define DSHIELD_FS_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DM_CONTROL_PATH  "/dev/mapper/control"
#define DM_CTL_BUF       16384	/* struct dm_ioctl + targets + parameters */
#define DM_MAX_TARGETS   8

struct dm_target {
	uint64_t start;		/* first sector of the new device */
	uint64_t length;	/* sectors */
	const char *type;	/* "linear", "verity", "crypt", ... */
	const char *params;	/* the target's parameter line */
};

struct dm_ctl {
	int fd;			/* /dev/mapper/control */
	uint32_t version[3];	/* the kernel's ioctl interface version */
	_Alignas(8) unsigned char buf[DM_CTL_BUF];
};

struct dm_info {
	dev_t dev;		/* the mapped device's number */
	int32_t open_count;
	uint32_t target_count;
	bool active;		/* a live table is present */
	bool suspended;
	bool readonly;
};

/* Opens /dev/mapper/control (path: NULL for the default) and asks for the
 * interface version; major 4 is required. */
int dm_open(struct dm_ctl *c, const char *path, char *err, size_t errlen);
void dm_close(struct dm_ctl *c);

/* Creates device `name` (and uuid, may be NULL), loads the table, resumes
 * it and returns its number in *dev. readonly: the table opens its devices
 * read-only (required by verity). secure: the table holds a secret. A
 * failure after the device exists removes it again. */
int dm_create(struct dm_ctl *c, const char *name, const char *uuid,
	      const struct dm_target *t, unsigned n, bool readonly, bool secure,
	      dev_t *dev, char *err, size_t errlen);

/* A keyed parameter line's end: n, snprintf's result for out (cap
 * bytes), when it fit; else out wiped and -ENOSPC (or -EINVAL when n is
 * already that: a refused input). */
int dm_params_end(char *out, size_t cap, int n);

/* One target of `type` over sectors 0..sectors-1 whose parameter line
 * holds a key: dm_create with secure set, then params (cap bytes) wiped
 * whatever the outcome. */
int dm_create_keyed(struct dm_ctl *c, const char *name, const char *type, uint64_t sectors,
		    char *params, size_t cap, dev_t *dev, char *err, size_t errlen);

/* Removes device `name` (it must not be open or mounted). */
int dm_remove(struct dm_ctl *c, const char *name, char *err, size_t errlen);

/* Opens node with flags (O_CLOEXEC added) only if it is block device dev
 * (a node the host or a race put there under that name is refused):
 * the descriptor, or a negative errno with why in err. */
int dm_open_node(const char *node, dev_t dev, int flags, char *err, size_t errlen);

/* DM_DEV_STATUS of device `name`. */
int dm_status(struct dm_ctl *c, const char *name, struct dm_info *info,
	      char *err, size_t errlen);

/* Pure part, for tests: fills c->buf with the DM_TABLE_LOAD request for
 * `name` and the targets. Returns the request size or a negative errno
 * (-EINVAL: bad name, type or range; -E2BIG: does not fit). */
long dm_pack_table(struct dm_ctl *c, const char *name, const struct dm_target *t,
		   unsigned n, uint32_t flags, char *err, size_t errlen);

#endif
