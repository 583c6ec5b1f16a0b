/* net/netd_seccomp.c: netd's system call allow-list (lib/seccomp.h). */
#include "net/netd.h"
#include "lib/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALLOW(name)              SECCOMP_ALLOW(name)
#define ALLOW_UNLESS(name, a, b) SECCOMP_ALLOW_UNLESS(name, a, b)
#define ALLOW_IF_EQ(name, a, v)  SECCOMP_ALLOW_IF_EQ(name, a, v)
#define ALLOW_IF_EQ2(name, a, v, b, w) SECCOMP_ALLOW_IF_EQ2(name, a, v, b, w)

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
	/* records to logd, a loop turn's in one call (lib/imsg.h
	 * imsg_send_many); like sendmsg, never on the packet sockets
	 * (netd_seccomp_pin_packet) */
	ALLOW(sendmmsg),
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
	/* descriptors to sandboxd (a deployment's code, a long secret) go with
	 * SCM_RIGHTS: sendmsg, except on the packet socket, which a second
	 * filter refuses once its number is known (netd_seccomp_pin_packet) */
	ALLOW(sendmsg),
	/* the listeners sandboxd made in functions' namespaces: connections
	 * accepted, their destination read back (net/fn_egress.c), refused
	 * ones reset with SO_LINGER 0, relayed ones half-closed when the
	 * upstream's FIN comes (net/egress_proxy.c). Of the IPPROTO_TCP
	 * options only TCP_NODELAY and TCP_QUICKACK, level and name both
	 * checked (the level alone would also let netd attach a ULP):
	 * TCP_NODELAY comes set from the listener (sandboxd/sandbox.c), and
	 * setting it again pushes out what sends with MSG_MORE left corked
	 * (egress_proxy.c, uncork); TCP_QUICKACK acknowledges at once a
	 * resumed handshake's last flight (egress_proxy.c, ack_now) */
	ALLOW(accept4),
	ALLOW(getsockname),
	ALLOW_IF_EQ(setsockopt, 1, SOL_SOCKET),
	ALLOW_IF_EQ2(setsockopt, 1, IPPROTO_TCP, 2, TCP_NODELAY),
	ALLOW_IF_EQ2(setsockopt, 1, IPPROTO_TCP, 2, TCP_QUICKACK),
	ALLOW(shutdown),
	/* request bodies and code in memfds, sealed before they are passed;
	 * sandboxd's memfds must be sealed before netd maps them */
	ALLOW(memfd_create),
	ALLOW_IF_EQ(fcntl, 1, F_ADD_SEALS),
	ALLOW_IF_EQ(fcntl, 1, F_GET_SEALS),
	/* netd_seccomp_pin_packet() stacks its filter (it can only narrow) */
	ALLOW_IF_EQ(seccomp, 0, SECCOMP_SET_MODE_FILTER),
	ALLOW_IF_EQ(prctl, 0, PR_SET_NO_NEW_PRIVS),
	ALLOW_IF_EQ(prctl, 0, PR_GET_NO_NEW_PRIVS),
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

/* The second filter: sendmsg and sendmmsg on the packet sockets
 * (receiving, and the vnet one for sending, -1 if none) are refused
 * (EPERM), so that no destination address can aim them at another
 * interface; every other call goes on to the first filter. Stacked
 * filters both run and the stricter verdict wins, so this only narrows. */
int netd_seccomp_pin_packet(int pkt_fd, int tx_fd)
{
	uint32_t tx = (uint32_t)(tx_fd >= 0 ? tx_fd : pkt_fd);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sendmsg, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sendmmsg, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)pkt_fd, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, tx, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct seccomp_prog p;

	if (pkt_fd < 0)
		return -EBADF;
	memcpy(p.insn, f, sizeof f);
	p.len = sizeof f / sizeof f[0];
	const char *off = getenv("DSHIELD_NO_SECCOMP");
	if (off != NULL && strcmp(off, "1") == 0)
		return 0;   /* as seccomp_enter_role: host-mode debugging, no filter at all */
	return seccomp_install(&p);
}
