/* keyd/keyd_seccomp.c: keyd's system call allow-list (lib/seccomp.h).
 *
 * keyd runs as uid 0 without capabilities (see keyd.h), so what a uid
 * alone would stop is stopped here: no kill, tkill, tgkill or pidfd calls
 * (it could otherwise signal init and every role), no ptrace, no socket
 * creation, no exec, no mount, no new memory that is executable. Files:
 * its state directory and devices, through open/openat, mkdir/rmdir for
 * configfs-tsm request directories, and rename/unlink for the log key's
 * atomic write.
 */
#include "keyd/keyd.h"

#include <sys/mman.h>
#include <sys/socket.h>

#define ALLOW(name)              SECCOMP_ALLOW(name)
#define ALLOW_UNLESS(name, a, b) SECCOMP_ALLOW_UNLESS(name, a, b)
#define ALLOW_IF_EQ(name, a, v)  SECCOMP_ALLOW_IF_EQ(name, a, v)

const struct seccomp_rule keyd_seccomp_rules[] = {
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(recvmsg),
	ALLOW(sendto),          /* imsg without descriptors (lib/imsg.c) */
	/* A quote reply hands netd the event log in a sealed memfd: imsg with
	 * a descriptor is sendmsg (lib/imsg.c, always MSG_NOSIGNAL), and the
	 * memfd is made with exactly these flags (lib/file.c). keyd makes no
	 * socket (no socket syscall), so sendmsg reaches only the channels
	 * init handed it. */
	ALLOW_IF_EQ(sendmsg, 2, MSG_NOSIGNAL),
	ALLOW_IF_EQ(memfd_create, 1, MFD_CLOEXEC | MFD_ALLOW_SEALING),
	ALLOW(read),
	ALLOW(write),
	ALLOW(readv),
	ALLOW(writev),
	ALLOW(pread64),
	ALLOW(pwrite64),
	ALLOW(clock_gettime),
	ALLOW(getrandom),
	ALLOW(epoll_ctl),
	ALLOW(epoll_create1),
	ALLOW(close),
	ALLOW(fcntl),
	ALLOW(fstat),
	ALLOW(newfstatat),
	ALLOW(lseek),
	/* files: the saved event log, configfs-tsm, the TDX device */
	ALLOW(open),
	ALLOW(openat),
	ALLOW(access),
	ALLOW(faccessat),
	ALLOW(faccessat2),
	ALLOW(mkdir),
	ALLOW(mkdirat),
	ALLOW(rmdir),
	ALLOW(rename),            /* the log key, written atomically */
	ALLOW(renameat),
	ALLOW(renameat2),
	ALLOW(unlink),
	ALLOW(unlinkat),
	ALLOW(ftruncate),
	ALLOW(fsync),
	ALLOW(fdatasync),
	ALLOW(ioctl),             /* TDX_CMD_GET_REPORT0 on the device fd */
	SECCOMP_RULES_COMMON,
};

const size_t keyd_seccomp_nrules = sizeof keyd_seccomp_rules / sizeof keyd_seccomp_rules[0];
