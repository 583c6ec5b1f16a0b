/* sandboxd/fndata.h: each function's data directory, and its quota
 * (docs/SANDBOXD.md, "Data directories").
 *
 * A function whose limits.data_mb is not 0 gets STORE/data/<id>: owned by
 * the function's uid, mode 0700, bound at /data in its sandboxes
 * (nodev,nosuid,noexec). On the encrypted store (ext4 formatted with the
 * project quota feature and mounted prjquota, docs/STORE.md) the
 * directory carries an ext4 project id (the function's uid) inherited by
 * everything made in it (PROJINHERIT), and that project has a hard limit
 * of data_mb MiB and a proportional number of inodes: the kernel answers
 * EDQUOT past it. Where the file system has no project quotas (tmpfs, a
 * host's state directory, a store formatted before quotas) the directory
 * is made all the same and the quota is NOT enforced: fndata_open() says
 * why, and every view says so.
 *
 * Deleting a function renames its directory out of the way at once (the
 * name is free for a later function, which starts empty) and removes the
 * tree as the function's own uid in a child process (sandboxd keeps no
 * CAP_DAC_OVERRIDE, and the tree is the function's); whatever cannot be
 * removed then (a worker still writing) is removed at the next open.
 *
 * The uid is BASE + the function's slot, and the directory's owner is
 * how the slot is kept across restarts (fndata_owner). Needs CAP_CHOWN
 * (the directory is made by root, given its project id while root owns
 * it, then handed over), CAP_SETUID/SETGID (the removal) and CAP_SYS_ADMIN
 * (quotactl_fd). Caller-owned context, one thread, no hidden state.
 */
#ifndef DSHIELD_SANDBOXD_FNDATA_H
#define DSHIELD_SANDBOXD_FNDATA_H

#include "lib/errbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FNDATA_DIR      "data"          /* under the store */
#define FNDATA_GONE     ".gone-"        /* a deleted function's tree, being removed */
#define FNDATA_PATH_MAX 384
/* inodes a project may hold: one per 4 KiB of its quota, and at least this */
#define FNDATA_INODES_MIN 256u

struct fndata {
	int dirfd;                 /* STORE/data; -1: none */
	bool quota;                /* project quota limits enforced there */
	char root[FNDATA_PATH_MAX];
	char why[ERRBUF_LEN];      /* why not, when !quota */
};

/* Opens (creating, 0711) store/data and asks the kernel whether project
 * quota limits are enforced on its file system. where: how the caller
 * names that file system in fd->why ("host mode: the state directory").
 * Only a directory that cannot be made fails. */
int fndata_open(struct fndata *fd, const char *store, const char *where, char err[ERRBUF_LEN]);
void fndata_close(struct fndata *fd);

/* The owner of data/<id>: 0 and *uid, -ENOENT without one, or another
 * negative errno (not a directory). */
int fndata_owner(const struct fndata *fd, const char *id, uid_t *uid);

/* Makes (or checks) data/<id> for uid, sets its project quota to bytes,
 * and writes its path in sandboxd's view into path. A directory owned by
 * another uid is refused (-EPERM). */
int fndata_prepare(struct fndata *fd, const char *id, uid_t uid, uint64_t bytes, char *path,
		   size_t cap, char err[ERRBUF_LEN]);

/* Deletes data/<id> (nothing to do without one): see above. */
int fndata_remove(struct fndata *fd, const char *id, char err[ERRBUF_LEN]);

/* Removes what no function owns: every FNDATA_GONE tree, and every
 * data/<id> whose id keep() does not know (a crash between making a
 * directory and storing its function). Returns how many were removed. */
int fndata_sweep(struct fndata *fd, bool (*keep)(void *arg, const char *id), void *arg);

/* The bytes and inodes used by project uid (quota accounting), when on. */
int fndata_usage(const struct fndata *fd, uid_t uid, uint64_t *bytes, uint64_t *inodes);

#endif
