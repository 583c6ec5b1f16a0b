/* tests/test_seccomp.c: netd's and keyd's filters, exercised in forked children.
 *
 * Each child installs the filter, tries calls, and reports one record per
 * check through a pipe (write is on the allow-list); the parent turns the
 * records into TAP lines. Arch violations kill, so those run in their own
 * children and the parent checks the signal.
 */
#include "keyd/keyd.h"
#include "logd/logd.h"
#include "lib/imsg.h"
#include "lib/seccomp.h"
#include "proto/role.h"
#include "net/netd.h"
#include "sandboxd/fn_seccomp.h"
#include "tests/child_report.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* r is a raw syscall result (-1 + errno) */
static void expect_ok(long r, const char *name)
{
	child_report(r >= 0, r >= 0 ? 0 : errno, name);
}

static void expect_errno(long r, int e, const char *name)
{
	child_report(r == -1 && errno == e, r == -1 ? errno : 0, name);
}

static void expect_eperm(long r, const char *name)
{
	expect_errno(r, EPERM, name);
}

/* A program just built (len or -errno) installed; reports both steps. */
static int install_built(int len, const struct seccomp_prog *prog, const char *what)
{
	char name[72];
	snprintf(name, sizeof name, "%s builds within SECCOMP_PROG_MAX", what);
	child_report(len > 0 && len < SECCOMP_PROG_MAX, len < 0 ? -len : 0, name);
	int r = len > 0 ? seccomp_install(prog) : len;
	snprintf(name, sizeof name, "%s installed", what);
	child_report(r == 0, -r, name);
	return r;
}

/* The packet socket sends wherever a destination address points (the
 * kernel takes sll_ifindex from the call, bound or not): the filter lets
 * netd send only without an address, sendmsg (descriptors to sandboxd)
 * and sendmmsg (records to logd) nowhere near the packet sockets once
 * netd_seccomp_pin_packet() stacked its filter, and never duplicate a descriptor. Datagram socketpairs
 * stand in for the packet sockets (receiving, and the vnet one for
 * sending). */
static void child_send_paths(void)
{
	int sv[2], im[2], tx[2];
	char b = 'x';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct sockaddr_un to = { .sun_family = AF_UNIX };

	/* fd 3 is about to become the imsg socket: move the report pipe. */
	if (child_report_fd == ROLE_INIT_FD)
		child_report_fd = fcntl(child_report_fd, F_DUPFD_CLOEXEC, 10);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, im) != 0 || dup2(im[0], ROLE_INIT_FD) != ROLE_INIT_FD ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, tx) != 0) {
		child_report(0, errno, "socketpairs");
		return;
	}
	int r = seccomp_enter_role(netd_seccomp_rules, netd_seccomp_nrules);
	child_report(r == 0, -r, "install netd filter");
	if (r != 0)
		return;
	expect_ok(sendto(sv[0], &b, 1, MSG_DONTWAIT, NULL, 0), "sendto without an address allowed");
	expect_eperm(sendto(sv[0], &b, 1, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to),
		     "sendto with an address denied");
	expect_ok(write(sv[0], &b, 1), "write allowed");
	r = netd_seccomp_pin_packet(sv[0], tx[0]);
	child_report(r == 0, -r, "the packet sockets pinned (a second filter stacked)");
	expect_eperm(sendmsg(sv[0], &mh, MSG_DONTWAIT), "sendmsg on the packet socket denied");
	expect_eperm(sendmsg(tx[0], &mh, MSG_DONTWAIT), "sendmsg on the sending packet socket denied");
	expect_ok(sendto(tx[0], &b, 1, MSG_DONTWAIT, NULL, 0),
		  "sendto without an address on the sending packet socket allowed");
	expect_eperm(sendto(tx[0], &b, 1, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to),
		     "sendto with an address on the sending packet socket denied");
	expect_ok(sendmsg(ROLE_INIT_FD, &mh, MSG_DONTWAIT), "sendmsg on an imsg socket allowed");
	int mfd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	child_report(mfd >= 0, errno, "memfd_create allowed");
	expect_ok(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), "fcntl F_ADD_SEALS allowed");
	expect_ok(fcntl(mfd, F_GET_SEALS), "fcntl F_GET_SEALS allowed");
	r = imsg_send(ROLE_INIT_FD, 1, 0, "x", 1, &mfd, 1);
	child_report(r == 0, -r, "imsg_send with a descriptor (sendmsg) works");
	expect_eperm(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, mfd, 0) == MAP_FAILED ? -1 : 0,
		     "mmap of a memfd with PROT_EXEC denied");
	expect_ok(imsg_send(ROLE_INIT_FD, 1, 0, "x", 1, NULL, 0), "imsg_send without fds works (send)");
	struct mmsghdr mm = { .msg_hdr = mh };
	expect_eperm(sendmmsg(sv[0], &mm, 1, MSG_DONTWAIT), "sendmmsg on the packet socket denied");
	expect_eperm(sendmmsg(tx[0], &mm, 1, MSG_DONTWAIT), "sendmmsg on the sending packet socket denied");
	expect_ok(sendmmsg(ROLE_INIT_FD, &mm, 1, MSG_DONTWAIT), "sendmmsg on an imsg socket allowed");
	struct imsg_out two[2] = { { 1, 7, { "ab", NULL }, { 2, 0 } }, { 2, 8, { "c", "de" }, { 1, 2 } } };
	r = imsg_send_many(ROLE_INIT_FD, two, 2);
	child_report(r == 2, r < 0 ? -r : 0, "imsg_send_many (sendmmsg) works");
	expect_eperm(fcntl(sv[0], F_DUPFD, 0), "fcntl F_DUPFD denied");
	expect_eperm(fcntl(sv[0], F_DUPFD_CLOEXEC, 0), "fcntl F_DUPFD_CLOEXEC denied");
	expect_eperm(syscall(SYS_dup2, sv[0], ROLE_INIT_FD), "dup2 onto the imsg socket denied");
	expect_eperm(syscall(SYS_dup3, sv[0], ROLE_INIT_FD, 0), "dup3 onto the imsg socket denied");
	expect_ok(fcntl(sv[0], F_SETFL, O_NONBLOCK), "fcntl F_SETFL allowed");
	expect_ok(fcntl(sv[0], F_GETFD), "fcntl F_GETFD allowed");
}

static void child_filtered(void)
{
	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);   /* before the filter */
	int r = seccomp_enter_role(netd_seccomp_rules, netd_seccomp_nrules);
	child_report(r == 0, -r, "install netd filter");
	if (r != 0)
		return;

	/* of the TCP options only TCP_NODELAY (the proxy's uncork) and
	 * TCP_QUICKACK (its ack_now): level and name are both checked, so no
	 * ULP, no TCP_CORK, and the same number at another level is not it */
	int one = 1;
	child_report(tcp >= 0, tcp < 0 ? errno : 0, "a TCP socket made before the filter");
	expect_ok(setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one),
		  "setsockopt(IPPROTO_TCP, TCP_NODELAY) allowed");
	expect_ok(setsockopt(tcp, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one),
		  "setsockopt(IPPROTO_TCP, TCP_QUICKACK) allowed");
	expect_eperm(setsockopt(tcp, IPPROTO_TCP, TCP_ULP, "tls", 3),
		     "setsockopt(IPPROTO_TCP, TCP_ULP) denied");
	expect_eperm(setsockopt(tcp, IPPROTO_TCP, TCP_CORK, &one, sizeof one),
		     "setsockopt(IPPROTO_TCP, TCP_CORK) denied");
	expect_eperm(setsockopt(tcp, IPPROTO_IP, TCP_NODELAY, &one, sizeof one),
		     "setsockopt(IPPROTO_IP, the number of TCP_NODELAY) denied");
	expect_ok(setsockopt(tcp, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one),
		  "setsockopt(SOL_SOCKET, ...) still allowed");
	close(tcp);

	int p[2] = { -1, -1 };
	struct timespec ts;
	char buf[4];
	expect_eperm(syscall(SYS_pipe2, p, O_CLOEXEC), "pipe2 denied (not on the list)");
	expect_ok(syscall(SYS_getpid), "getpid allowed");
	expect_ok(syscall(SYS_gettid), "gettid allowed");
	expect_ok(clock_gettime(CLOCK_MONOTONIC, &ts), "clock_gettime allowed");
	expect_ok(syscall(SYS_getrandom, buf, sizeof buf, 0), "getrandom allowed");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	expect_ok(ep, "epoll_create1 allowed");
	int tf = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	expect_ok(tf, "timerfd_create allowed");
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = tf };
	expect_ok(epoll_ctl(ep, EPOLL_CTL_ADD, tf, &ev), "epoll_ctl allowed");
	expect_ok(epoll_wait(ep, &ev, 1, 0), "epoll_wait allowed");
	expect_ok(fcntl(tf, F_GETFL), "fcntl allowed");
	expect_ok(close(tf), "close allowed");
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	child_report(m != MAP_FAILED, m == MAP_FAILED ? errno : 0, "mmap rw allowed");
	/* raw syscall: musl's mmap() reports EPERM for anonymous maps as ENOMEM */
	expect_eperm(syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), "mmap PROT_EXEC denied");
	expect_eperm(syscall(SYS_mmap, NULL, 4096, PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), "mmap PROT_EXEC alone denied");
	if (m != MAP_FAILED) {
		expect_eperm(mprotect(m, 4096, PROT_READ | PROT_EXEC), "mprotect PROT_EXEC denied");
		expect_ok(mprotect(m, 4096, PROT_READ), "mprotect PROT_READ allowed");
		expect_ok(munmap(m, 4096), "munmap allowed");
	}
	void *h = malloc(1 << 20);   /* musl: mmap for large blocks */
	child_report(h != NULL, 0, "malloc 1 MiB works");
	free(h);

	expect_eperm(socket(AF_INET, SOCK_STREAM, 0), "socket(AF_INET) denied");
	expect_eperm(socket(AF_VSOCK, SOCK_STREAM, 0), "socket(AF_VSOCK) denied");
	expect_eperm(socket(AF_UNIX, SOCK_SEQPACKET, 0), "socket(AF_UNIX) denied");
	expect_eperm(syscall(SYS_open, "/etc/passwd", O_RDONLY), "open(/etc/passwd) denied");
	expect_eperm(syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY), "openat(/etc/passwd) denied");
	char *argv[] = { "/bin/true", NULL };
	expect_eperm(syscall(SYS_execve, "/bin/true", argv, argv + 1), "execve denied");
	expect_eperm(syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, argv + 1, 0), "execveat denied");
	expect_eperm(syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0), "ptrace denied");
	expect_eperm(mount("none", "/mnt", "tmpfs", 0, NULL), "mount denied");
	expect_eperm(syscall(SYS_io_uring_setup, 1, NULL), "io_uring_setup denied");
	expect_eperm(syscall(SYS_fork), "fork denied");
	expect_eperm(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0), "clone denied");
	expect_eperm(syscall(SYS_kill, 1, 0), "kill denied");
	expect_eperm(syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl denied");
	expect_eperm(syscall(SYS_setuid, 0), "setuid denied");
	expect_eperm(syscall(SYS_unshare, 0), "unshare denied");
	expect_eperm(syscall(SYS_ioctl, 1, 0x5401 /* TCGETS */, buf), "ioctl denied");
}

/* keyd runs as uid 0 without capabilities: its filter is what keeps it
 * from signalling init or any role, opening sockets or exec'ing. */
static void child_keyd(void)
{
	int r = seccomp_enter_role(keyd_seccomp_rules, keyd_seccomp_nrules);
	child_report(r == 0, -r, "keyd filter installed");
	expect_eperm(syscall(SYS_kill, 1, 0), "keyd: kill denied");
	expect_eperm(syscall(SYS_tkill, 1, 0), "keyd: tkill denied");
	expect_eperm(syscall(SYS_tgkill, 1, 1, 0), "keyd: tgkill denied");
	expect_eperm(syscall(SYS_pidfd_open, 1, 0), "keyd: pidfd_open denied");
	expect_eperm(syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0), "keyd: ptrace denied");
	expect_eperm(syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0), "keyd: socket denied");
	expect_eperm(syscall(SYS_execve, "/bin/sh", NULL, NULL), "keyd: execve denied");
	expect_eperm(syscall(SYS_fork), "keyd: fork denied");
	expect_eperm(syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL), "keyd: mount denied");
	expect_eperm(syscall(SYS_setuid, 0), "keyd: setuid denied");
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	child_report(fd >= 0, fd < 0 ? errno : 0, "keyd: open allowed (its state and devices)");
	if (fd >= 0)
		close(fd);
	/* the log key's atomic write: a temporary file renamed into place */
	char a[64], b[64];
	snprintf(a, sizeof a, "/tmp/test_seccomp.%d.tmp", (int)getpid());
	snprintf(b, sizeof b, "/tmp/test_seccomp.%d", (int)getpid());
	fd = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	child_report(rename(a, b) == 0, errno, "keyd: rename allowed");
	child_report(unlink(b) == 0, errno, "keyd: unlink allowed");
	/* a quote's event log: a sealed memfd sent over a channel, and no more */
	fd = (int)syscall(SYS_memfd_create, "x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	child_report(fd >= 0, fd < 0 ? errno : 0, "keyd: memfd_create(CLOEXEC|ALLOW_SEALING) allowed");
	if (fd >= 0)
		close(fd);
	expect_eperm(syscall(SYS_memfd_create, "x", 0), "keyd: memfd_create with other flags denied");
	struct msghdr mh = { 0 };
	expect_errno(syscall(SYS_sendmsg, -1, &mh, MSG_NOSIGNAL), EBADF,
		     "keyd: sendmsg with MSG_NOSIGNAL allowed (EBADF on no socket)");
	expect_eperm(syscall(SYS_sendmsg, -1, &mh, 0), "keyd: sendmsg with other flags denied");
}

/* logd: the store works under its filter (create, append, sync, reopen
 * over a torn tail), imsg without descriptors works, and the rest is
 * refused. The directory is made before the filter (it is /state). */
static char logd_dir[64];

static void child_logd(void)
{
	static struct logstore s;
	char err[ERRBUF_LEN], path[96];
	uint64_t idx;
	int sv[2], fd;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		_exit(4);
	int r = seccomp_enter_role(logd_seccomp_rules, logd_seccomp_nrules);
	child_report(r == 0, -r, "logd filter installed");
	snprintf(path, sizeof path, "%s/log", logd_dir);
	r = logstore_open(&s, path, err);
	child_report(r == 0, -r, "logd: the store is created");
	r = r == 0 ? logstore_append(&s, "entry", 5, &idx) : r;
	r = r == 0 ? logstore_sync(&s) : r;
	child_report(r == 0 && logstore_committed(&s) == 1, -r, "logd: append and sync");
	logstore_close(&s);
	snprintf(path, sizeof path, "%s/log/data", logd_dir);
	/* After the one record (8 + 4 + 5 + 8 bytes): a write cut short, a
	 * 7-byte entry's length and 2 of its bytes, over the zeros ahead. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	child_report(fd >= 0 && pwrite(fd, "\0\0\0\7ab", 6, 25) == 6, errno, "logd: a torn tail written");
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof path, "%s/log", logd_dir);
	r = logstore_open(&s, path, err);
	child_report(r == 0 && s.torn_bytes > 6 && s.file_len == 25 && logstore_committed(&s) == 1, -r,
		     "logd: reopened, the torn tail truncated");
	logstore_close(&s);
	r = imsg_send(sv[0], 99, 1, "x", 1, NULL, 0);
	child_report(r == 0, -r, "logd: imsg without descriptors");
	r = imsg_send(sv[0], 99, 1, "x", 1, &sv[1], 1);
	child_report(r == -EPERM, -r, "logd: imsg with a descriptor (sendmsg) denied");
	expect_eperm(syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0), "logd: socket denied");
	expect_eperm(syscall(SYS_execve, "/bin/sh", NULL, NULL), "logd: execve denied");
	expect_eperm(syscall(SYS_fork), "logd: fork denied");
	expect_eperm(syscall(SYS_kill, 1, 0), "logd: kill denied");
	expect_eperm(syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0), "logd: ptrace denied");
	expect_eperm(syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL), "logd: mount denied");
	expect_eperm(syscall(SYS_setuid, 0), "logd: setuid denied");
	expect_eperm(syscall(SYS_ioctl, 1, 0x5401 /* TCGETS */, err), "logd: ioctl denied");
	expect_eperm(syscall(SYS_unlink, path), "logd: unlink denied");
	expect_eperm(syscall(SYS_rename, path, path), "logd: rename denied");
	expect_eperm(syscall(SYS_fcntl, 0, F_DUPFD, 10), "logd: fcntl(F_DUPFD) denied");
}

/* Refusal rules: a chosen errno, always or on an argument (equal, or
 * any bit of a mask); a refusal that does not match falls through to the
 * rules after it. */
static const struct seccomp_rule refusal_rules[] = {
	SECCOMP_ALLOW_IF_EQ(socket, 0, AF_UNIX),
	SECCOMP_REFUSE(socket, EAFNOSUPPORT),
	SECCOMP_REFUSE_IF_ANY(unshare, 0, CLONE_NEWNET | CLONE_NEWUSER, EINVAL),
	SECCOMP_REFUSE_IF_EQ(unshare, 0, CLONE_FILES, EBUSY),
	SECCOMP_ALLOW(unshare),
	SECCOMP_REFUSE(io_uring_setup, ENOSYS),
	/* two arguments: a mismatch of either goes on to the refusal */
	SECCOMP_ALLOW_IF_EQ2(fcntl, 1, F_SETFD, 2, FD_CLOEXEC),
	SECCOMP_REFUSE(fcntl, EDOM),
	SECCOMP_ALLOW(write),
	SECCOMP_ALLOW(close),
	SECCOMP_RULES_COMMON,
};

static void child_refusals(void)
{
	struct seccomp_prog prog;
	if (install_built(seccomp_build(refusal_rules, sizeof refusal_rules / sizeof refusal_rules[0],
					&prog), &prog, "refusal filter") != 0)
		return;
	long s = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	expect_ok(s, "socket(AF_UNIX) allowed by equality");
	if (s >= 0)
		close((int)s);
	s = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	expect_errno(s, EAFNOSUPPORT, "socket(AF_INET): EAFNOSUPPORT (refusal after the equality)");
	s = syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0);
	expect_errno(s, EAFNOSUPPORT, "socket(AF_VSOCK): EAFNOSUPPORT");
	s = syscall(SYS_unshare, CLONE_NEWUSER);
	expect_errno(s, EINVAL, "unshare(CLONE_NEWUSER): masked refusal's errno");
	s = syscall(SYS_unshare, CLONE_NEWNET | CLONE_FS);
	expect_errno(s, EINVAL, "unshare(NEWNET|FS): any bit of the mask");
	s = syscall(SYS_unshare, CLONE_FILES);
	expect_errno(s, EBUSY, "unshare(CLONE_FILES): equality refusal's errno");
	expect_ok(syscall(SYS_unshare, CLONE_FS), "unshare(CLONE_FS): falls through both refusals to the allow");
	s = syscall(SYS_io_uring_setup, 1, NULL);
	expect_errno(s, ENOSYS, "io_uring_setup: ENOSYS");
	expect_ok(syscall(SYS_fcntl, 1, F_SETFD, FD_CLOEXEC), "fcntl(F_SETFD, FD_CLOEXEC): both arguments match");
	expect_errno(syscall(SYS_fcntl, 1, F_SETFD, 0), EDOM, "fcntl(F_SETFD, 0): the second differs, on to the refusal");
	expect_errno(syscall(SYS_fcntl, 1, F_GETFD, FD_CLOEXEC), EDOM, "fcntl(F_GETFD, 1): the first differs, on to the refusal");
	expect_eperm(syscall(SYS_getppid), "getppid: not listed, EPERM");
}

/* The function filter without a sandbox (the real one: test_sandbox's
 * escape probe): what runtimes need works, the refusals have their errno. */
static void child_fn(void)
{
	struct seccomp_prog prog;
	if (install_built(fn_seccomp_build(&prog), &prog, "fn filter") != 0)
		return;
	long s = syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
	expect_ok(s, "fn: socket(AF_INET6) allowed");
	if (s >= 0)
		close((int)s);
	s = syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0);
	expect_errno(s, EAFNOSUPPORT, "fn: socket(AF_NETLINK) EAFNOSUPPORT");
	s = syscall(SYS_clone3, NULL, 0);
	expect_errno(s, ENOSYS, "fn: clone3 ENOSYS");
	s = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	if (s == 0)
		_exit(0);
	expect_eperm(s, "fn: clone(CLONE_NEWPID) EPERM");
	pid_t kid = fork();
	if (kid == 0)
		_exit(0);
	expect_ok(kid, "fn: fork (clone without namespace flags) allowed");
	if (kid > 0)
		waitpid(kid, NULL, 0);
	void *m = (void *)syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	child_report(m != MAP_FAILED, m == MAP_FAILED ? errno : 0, "fn: mmap PROT_EXEC allowed (JIT)");
	s = syscall(SYS_io_uring_setup, 1, NULL);
	expect_errno(s, ENOSYS, "fn: io_uring_setup ENOSYS");
	expect_eperm(syscall(SYS_bpf, 0, NULL, 0), "fn: bpf EPERM");
	expect_eperm(syscall(SYS_unshare, CLONE_NEWUSER), "fn: unshare(CLONE_NEWUSER) EPERM");
	expect_eperm(syscall(SYS_ioctl, 0, 0x5412, "x"), "fn: ioctl(TIOCSTI) EPERM");
	/* a file's project id and PROJINHERIT: the /data quota's hold */
	expect_eperm(syscall(SYS_ioctl, 0, 0x401c5820, NULL), "fn: ioctl(FS_IOC_FSSETXATTR) EPERM");
	expect_eperm(syscall(SYS_ioctl, 0, 0x40086602, NULL), "fn: ioctl(FS_IOC_SETFLAGS) EPERM");
	expect_eperm(syscall(SYS_ioctl, 0, 0x40046602, NULL), "fn: ioctl(FS_IOC32_SETFLAGS) EPERM");
	expect_eperm(syscall(443 /* quotactl_fd */, 0, 0, 0, NULL), "fn: quotactl_fd EPERM");
	{
		char fsx[32];
		long g = syscall(SYS_ioctl, 0, 0x801c581f /* FS_IOC_FSGETXATTR */, fsx);
		child_report(g == 0 || errno != EPERM, g == 0 ? 0 : errno,
			     "fn: ioctl(FS_IOC_FSGETXATTR) passes the filter (reading is harmless)");
	}
	expect_ok(syscall(SYS_getppid), "fn: getppid allowed");
}

static void child_fn_x32(void)
{
	struct seccomp_prog prog;
	if (fn_seccomp_build(&prog) <= 0 || seccomp_install(&prog) != 0)
		_exit(5);
	syscall(SECCOMP_X32_BIT | SYS_getpid);
	_exit(0);
}

static void child_env_off(void)
{
	if (setenv("DSHIELD_NO_SECCOMP", "1", 1) != 0)
		_exit(4);
	int r = seccomp_enter_role(netd_seccomp_rules, netd_seccomp_nrules);
	child_report(r == 0, -r, "DSHIELD_NO_SECCOMP=1: install returns 0");
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	child_report(s >= 0, s < 0 ? errno : 0, "DSHIELD_NO_SECCOMP=1: no filter, socket works");
	child_report(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, 0,
			     "DSHIELD_NO_SECCOMP=1: no_new_privs still set");
	child_report(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, 0,
			     "DSHIELD_NO_SECCOMP=1: not dumpable");
}

static void child_x32(void)
{
	if (seccomp_enter_role(netd_seccomp_rules, netd_seccomp_nrules) != 0)
		_exit(5);
	syscall(SECCOMP_X32_BIT | SYS_getpid);
	_exit(0);
}

static void int80_getpid(void)
{
	long ret = 20; /* i386 getpid through the 32-bit entry point */
	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	_exit(ret > 0 ? 0 : 6);
}

static void child_int80(void)
{
	if (seccomp_enter_role(netd_seccomp_rules, netd_seccomp_nrules) != 0)
		_exit(5);
	int80_getpid();
}

/* Runs fn in a child; collects its records into TAP lines; returns the
 * wait status. */
static int run_child(void (*fn)(void), int *nrec)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		exit(2);
	pid_t pid = child_fork();
	if (pid == 0) {
		close(p[0]);
		child_report_fd = p[1];
		fn();
		_exit(0);
	}
	close(p[1]);
	*nrec = child_collect(p[0], NULL);
	close(p[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		exit(2);
	return st;
}

/* Runs fn in a child that must report want checks and exit 0. */
static void run_checked(void (*fn)(void), int want, const char *who)
{
	int nrec, st = run_child(fn, &nrec);
	is_int(nrec, want, "%s child reported %d checks", who, want);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s child exited 0 (status 0x%x)", who, st);
}

static void test_builder(void)
{
	static struct seccomp_rule many[600];
	struct seccomp_prog prog;
	size_t n;
	const struct seccomp_rule *r = netd_seccomp_rules; n = netd_seccomp_nrules;

	ok(n > 20, "netd rule list has %zu rules", n);
	int len = seccomp_build(r, n, &prog);
	ok(len > 0 && len < SECCOMP_PROG_MAX, "netd program builds (%d instructions)", len);
	for (size_t i = 0; i < 600; i++)
		many[i] = (struct seccomp_rule){ .nr = (int)i, .arg = SECCOMP_NO_ARG };
	is_int(seccomp_build(many, 600, &prog), -E2BIG, "too many rules: -E2BIG");
	is_int(seccomp_build(many, 500, &prog), 7 + 2 * 500, "500 plain rules fit (2 instructions each)");
	struct seccomp_rule bad4 = SECCOMP_REFUSE(socket, 4096);
	is_int(seccomp_build(&bad4, 1, &prog), -EINVAL, "refusal errno above 4095: -EINVAL");
	struct seccomp_rule bad5 = { .nr = SYS_clone, .arg = 0, .err = EPERM };
	is_int(seccomp_build(&bad5, 1, &prog), -EINVAL, "masked refusal with no bits: -EINVAL");
	struct seccomp_rule bad6 = { .nr = SYS_clone, .arg = 7, .forbid = 1, .err = EPERM };
	is_int(seccomp_build(&bad6, 1, &prog), -EINVAL, "refusal on argument 7: -EINVAL");
	struct seccomp_rule bad7 = { .nr = SYS_clone, .arg = SECCOMP_NO_ARG, .err = -1 };
	is_int(seccomp_build(&bad7, 1, &prog), -EINVAL, "negative refusal errno: -EINVAL");
	struct seccomp_rule bad1 = { .nr = SYS_mmap, .arg = 6, .forbid = PROT_EXEC };
	is_int(seccomp_build(&bad1, 1, &prog), -EINVAL, "argument index 6: -EINVAL");
	struct seccomp_rule bad2 = { .nr = SYS_mmap, .arg = 2 };
	is_int(seccomp_build(&bad2, 1, &prog), -EINVAL, "argument check with no bits: -EINVAL");
	struct seccomp_rule bad8 = { .nr = SYS_fcntl, .arg = 1, .only_eq = 1, .value = 2, .err = EPERM,
				     .also_eq = 1, .arg2 = 2, .value2 = 1 };
	is_int(seccomp_build(&bad8, 1, &prog), -EINVAL, "refusal on two arguments: -EINVAL");
	struct seccomp_rule bad9 = { .nr = SYS_fcntl, .arg = 1, .forbid = 2, .also_eq = 1, .arg2 = 2 };
	is_int(seccomp_build(&bad9, 1, &prog), -EINVAL, "second argument without an equality: -EINVAL");
	struct seccomp_rule bad10 = SECCOMP_ALLOW_IF_EQ2(fcntl, 1, 2, 6, 1);
	is_int(seccomp_build(&bad10, 1, &prog), -EINVAL, "second argument index 6: -EINVAL");
	struct seccomp_rule bad11 = { .nr = SYS_fcntl, .arg = SECCOMP_NO_ARG, .also_eq = 1, .arg2 = 2 };
	is_int(seccomp_build(&bad11, 1, &prog), -EINVAL, "second argument on a rule without a first: -EINVAL");
	struct seccomp_rule two = SECCOMP_ALLOW_IF_EQ2(fcntl, 1, 2, 2, 1);
	is_int(seccomp_build(&two, 1, &prog), 7 + 7, "a two-argument rule: 7 instructions");
	struct seccomp_rule bad3 = { .nr = SECCOMP_X32_BIT | 1, .arg = SECCOMP_NO_ARG };
	is_int(seccomp_build(&bad3, 1, &prog), -EINVAL, "x32 number in a rule: -EINVAL");
}

int main(void)
{
	int nrec, st;

	test_builder();

	st = run_child(child_filtered, &nrec);
	ok(nrec > 30, "filtered child reported %d checks", nrec);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "filtered child exited 0 (status 0x%x)", st);

	run_checked(child_keyd, 18, "keyd");
	snprintf(logd_dir, sizeof logd_dir, "/tmp/test_seccomp.logd.XXXXXX");
	ok(mkdtemp(logd_dir) != NULL, "logd: a directory for its store");
	run_checked(child_logd, 18, "logd");
	{
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf %s", logd_dir);
		ok(system(cmd) == 0, "logd: its directory removed");
	}
	run_checked(child_send_paths, 26, "send-paths");

	run_checked(child_refusals, 14, "refusal");

	run_checked(child_fn, 18, "fn");
	st = run_child(child_fn_x32, &nrec);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "fn filter: x32 syscall kills with SIGSYS (status 0x%x)", st);

	run_checked(child_env_off, 4, "env-off");

	st = run_child(child_x32, &nrec);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "x32 syscall kills with SIGSYS (status 0x%x)", st);

	/* Only meaningful where the kernel runs i386 syscalls at all. */
	st = run_child(int80_getpid, &nrec);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		st = run_child(child_int80, &nrec);
		ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		   "int 0x80 syscall kills with SIGSYS (status 0x%x)", st);
	} else {
		ok(1, "# skip int 0x80: no i386 emulation in this kernel (status 0x%x)", st);
	}

	return tap_done();
}
