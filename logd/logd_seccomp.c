/* logd/logd_seccomp.c: logd's system call allow-list (lib/seccomp.h).
 *
 * logd runs as its own uid (101) in an empty network namespace with a view
 * holding only /state. What it needs: an epoll loop over its channels and
 * a timerfd, and the store's files under /state/log (open, mkdir at
 * creation, pread/pwrite, one fdatasync per batch, fsync of a new
 * directory, ftruncate of a torn tail, flock). Not on it: socket, sendmsg
 * (imsg sends without descriptors through sendto; logd passes none), exec,
 * fork/clone, kill and its kin, ptrace, mount, setuid, ioctl, rename,
 * unlink (the store never removes or renames a file), no executable memory.
 */
#include "logd/logd.h"

#include <fcntl.h>
#include <sys/mman.h>

#define ALLOW(name)              SECCOMP_ALLOW(name)
#define ALLOW_UNLESS(name, a, b) SECCOMP_ALLOW_UNLESS(name, a, b)
#define ALLOW_IF_EQ(name, a, v)  SECCOMP_ALLOW_IF_EQ(name, a, v)

const struct seccomp_rule logd_seccomp_rules[] = {
	/* the hot path first: the filter is a linear scan */
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(recvmsg),
	ALLOW_UNLESS(sendto, 5, 0xffffffffu),  /* imsg without descriptors, no address */
	ALLOW(read),
	ALLOW(write),
	ALLOW(pread64),
	ALLOW(pwrite64),
	ALLOW(fdatasync),
	ALLOW(clock_gettime),
	ALLOW(timerfd_settime),
	ALLOW(timerfd_create),
	ALLOW(epoll_ctl),
	ALLOW(epoll_create1),
	ALLOW(close),
	/* no F_DUPFD: nothing duplicates a descriptor */
	ALLOW_IF_EQ(fcntl, 1, F_GETFL),
	ALLOW_IF_EQ(fcntl, 1, F_SETFL),
	ALLOW_IF_EQ(fcntl, 1, F_GETFD),
	ALLOW_IF_EQ(fcntl, 1, F_SETFD),
	ALLOW(fstat),
	ALLOW(newfstatat),
	ALLOW(lseek),
	/* the store: /state/log/data */
	ALLOW(open),
	ALLOW(openat),
	ALLOW(mkdir),
	ALLOW(mkdirat),
	ALLOW(flock),
	ALLOW(fsync),
	ALLOW(ftruncate),
	SECCOMP_RULES_COMMON,
};

const size_t logd_seccomp_nrules = sizeof logd_seccomp_rules / sizeof logd_seccomp_rules[0];
