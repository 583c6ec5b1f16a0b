/* net/netd_seccomp.c: netd's system call allow-list (lib/seccomp.h). */
#include "net/netd.h"
#include "lib/seccomp.h"

#include <fcntl.h>
#include <sys/mman.h>

#define ALLOW(name)              SECCOMP_ALLOW(name)
#define ALLOW_UNLESS(name, a, b) SECCOMP_ALLOW_UNLESS(name, a, b)
#define ALLOW_IF_EQ(name, a, v)  SECCOMP_ALLOW_IF_EQ(name, a, v)

/* What netd needs after its setup: an epoll loop over timerfd, the packet
 * socket and the imsg socket, musl's malloc, and getrandom for the DRBG.
 * No socket(), no open(), no exec, no new memory that is executable. */
const struct seccomp_rule netd_seccomp_rules[] = {
	/* the hot path first: the filter is a linear scan */
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(recvfrom),
	/* The packet socket sends on whatever interface index a destination
	 * address names (bind() does not restrict sending, nor does
	 * SO_BINDTODEVICE): sendto only without an address (addrlen 0), and
	 * no sendmsg at all, whose address seccomp cannot see. imsg sends a
	 * message without descriptors with send() (lib/imsg.c), and netd
	 * passes none. */
	ALLOW_UNLESS(sendto, 5, 0xffffffffu),
	ALLOW(read),
	ALLOW(write),
	ALLOW(clock_gettime),
	ALLOW(timerfd_settime),
	ALLOW(timerfd_gettime),
	ALLOW(recvmsg),
	ALLOW(readv),
	ALLOW(writev),
	ALLOW(getrandom),
	ALLOW(epoll_ctl),
	ALLOW(epoll_create1),
	ALLOW(timerfd_create),
	ALLOW(close),
	/* no F_DUPFD: nothing duplicates a descriptor */
	ALLOW_IF_EQ(fcntl, 1, F_GETFL),
	ALLOW_IF_EQ(fcntl, 1, F_SETFL),
	ALLOW_IF_EQ(fcntl, 1, F_GETFD),
	ALLOW_IF_EQ(fcntl, 1, F_SETFD),
	ALLOW(fstat),
	ALLOW(newfstatat),
	ALLOW(lseek),
	SECCOMP_RULES_COMMON,
	/* musl's abort() and raise() signal the calling thread with tkill, so an
	 * lwIP assertion ends in SIGABRT (a clear cause) rather than SIGSEGV.
	 * netd's uid is its own: it can reach no other process with it. */
	ALLOW(tkill),
};

const size_t netd_seccomp_nrules = sizeof netd_seccomp_rules / sizeof netd_seccomp_rules[0];
