/* init/privdrop.h: turn a freshly forked child of init into a confined worker.
 *
 * Steps, in this order (each one failing is fatal for the child):
 *   1. signal dispositions to default, signal mask empty (exec keeps both)
 *   2. the imsg socket moved to a fixed fd, every other fd above 2 closed,
 *      stdin pointed at /dev/null
 *   3. the executable opened through /proc/self/exe (it must stay reachable
 *      after the chroot: it is exec'd by fd with execveat)
 *   4. unshare(CLONE_NEWNET): an empty network namespace (lo only, down)
 *   4b. with binds: a private mount namespace; a small tmpfs mounted on the
 *      root directory holds each bind (a file or directory of init's view,
 *      at the same or another path), with nosuid, noexec, and nodev and
 *      read-only unless the bind asks otherwise; the tmpfs is then made
 *      read-only
 *   5. chroot into that root-owned 0555 directory (empty, or the view),
 *      chdir("/")
 *   6. capability bounding set emptied, ambient set cleared
 *   7. setgroups(0), setresgid, setresuid to the worker's ids; permitted,
 *      effective and inheritable capabilities cleared explicitly. A worker
 *      with uid0_nocaps keeps uid 0 (file ownership only: configfs-tsm's
 *      report entries are created root-owned and writing their inblob is an
 *      owner permission) but has every capability set empty and the
 *      securebits NOROOT, NO_SETUID_FIXUP and KEEP_CAPS off, all locked, so
 *      exec cannot give capabilities back
 *   8. PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0, RLIMIT_CORE 0
 *   9. everything verified (privdrop_verify), then execveat(fd, "", ...)
 *
 * Error convention: 0 on success, negative errno on failure; every failure
 * is also logged with the step that failed.
 */
#ifndef DSHIELD_INIT_PRIVDROP_H
#define DSHIELD_INIT_PRIVDROP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PRIVDROP_NETD_UID 100
#define PRIVDROP_NETD_GID 100

/* A file or directory of init's view made visible in the worker's root. */
#define PRIVDROP_BIND_RW       1u   /* writable (default read-only) */
#define PRIVDROP_BIND_DEV      2u   /* device nodes work (default nodev) */
#define PRIVDROP_BIND_OPTIONAL 4u   /* a missing source is skipped */
/* The mounts below the source come too (MS_REC): a directory of mount
 * points (the VM's /run/layers/NAME) is otherwise seen as empty
 * directories. The read-only, nosuid, nodev, noexec remount is the top
 * mount's only: each submount keeps its own flags (the layers are
 * read-only erofs, nodev, nosuid). */
#define PRIVDROP_BIND_REC      8u
#define PRIVDROP_BINDS_MAX     12
struct privdrop_bind {
	const char *src;        /* absolute path in init's view */
	const char *dst;        /* absolute path inside the worker's root */
	unsigned flags;
};

struct privdrop_spec {
	const char *root_dir;   /* empty directory to chroot into */
	uid_t uid;              /* 0 only with uid0_nocaps or caps_keep */
	gid_t gid;              /* 0 only with uid0_nocaps or caps_keep */
	bool uid0_nocaps;       /* see step 7 */
	/* uid 0 keeping exactly these capabilities (bit n: capability n),
	 * for a role whose job needs them (sandboxd): the bounding set is cut
	 * down to them before the exec, they stay permitted and effective (so
	 * that exec as root, under no_new_privs, gives them back and nothing
	 * more), nothing inheritable or ambient, and the securebits
	 * KEEP_CAPS and NO_CAP_AMBIENT_RAISE set off/on and locked. Exclusive
	 * with uid0_nocaps. */
	uint64_t caps_keep;
	const struct privdrop_bind *binds;  /* step 4b when nbinds > 0 */
	size_t nbinds;          /* at most PRIVDROP_BINDS_MAX */
	int keep_fd;            /* moved to keep_fd_to; -1 for none */
	int keep_fd_to;         /* e.g. ROLE_INIT_FD (3); must be >= 3 */
	bool new_netns;         /* unshare(CLONE_NEWNET) */
	char *const *argv;      /* NULL: return 0 after the drop (tests) */
	char *const *envp;      /* environment of the worker (argv != NULL) */
};

/* Creates `dir` (mode 0555, owner root) or checks an existing one: it must be
 * a directory owned by root, is made 0555, and must be empty. */
int privdrop_prepare_root(const char *dir);

/* Runs steps 1-9 in the calling (forked, single-threaded) child. With argv
 * set it only returns on failure. */
int privdrop_worker(const struct privdrop_spec *s);

/* Checks the current process: all uids/gids equal to uid/gid, no
 * supplementary groups, no capability in any set (incl. bounding and
 * ambient), no_new_privs set, and setresuid(0) refused (uid != 0) or the
 * securebits of step 7 set and locked (uid 0). */
int privdrop_verify(uid_t uid, gid_t gid);

/* The same for a uid-0 worker that keeps caps_keep: permitted, effective
 * and bounding sets exactly caps_keep, nothing inheritable or ambient,
 * no_new_privs, the KEEP_CAPS and ambient-raise securebits locked. */
int privdrop_verify_keep(uint64_t caps_keep);

#endif
