/* init/privdrop.h: turn a freshly forked child of init into a confined worker.
 *
 * Steps, in this order (each one failing is fatal for the child):
 *   1. signal dispositions to default, signal mask empty (exec keeps both)
 *   2. the imsg socket moved to a fixed fd, every other fd above 2 closed,
 *      stdin pointed at /dev/null
 *   3. the executable opened through /proc/self/exe (it must stay reachable
 *      after the chroot: it is exec'd by fd with execveat)
 *   4. unshare(CLONE_NEWNET): an empty network namespace (lo only, down)
 *   5. chroot into an empty, root-owned, 0555 directory, chdir("/")
 *   6. capability bounding set emptied, ambient set cleared
 *   7. setgroups(0), setresgid, setresuid to the worker's ids; permitted,
 *      effective and inheritable capabilities cleared explicitly
 *   8. PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0, RLIMIT_CORE 0
 *   9. everything verified (privdrop_verify), then execveat(fd, "", ...)
 *
 * Error convention: 0 on success, negative errno on failure; every failure
 * is also logged with the step that failed.
 */
#ifndef DSHIELD_INIT_PRIVDROP_H
#define DSHIELD_INIT_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

#define PRIVDROP_NETD_UID 100
#define PRIVDROP_NETD_GID 100

struct privdrop_spec {
	const char *root_dir;   /* empty directory to chroot into */
	uid_t uid;              /* must not be 0 */
	gid_t gid;              /* must not be 0 */
	int keep_fd;            /* moved to keep_fd_to; -1 for none */
	int keep_fd_to;         /* e.g. NETD_IMSG_FD (3); must be >= 3 */
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
 * ambient), no_new_privs set, and setresuid(0) refused. */
int privdrop_verify(uid_t uid, gid_t gid);

#endif
