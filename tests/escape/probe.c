/* tests/escape/probe.c: run as a function inside a sandbox, tries to get
 * out and prints TAP. Every refusal has a positive control next to it (the
 * same kind of call that must work), so that a probe that cannot run at all
 * fails instead of passing. The errnos are docs/SANDBOX.md's table.
 *
 *   probe [--uid N] [--tmp-bytes N] [--other PATH] [--other-pid N] [--secret NAME=VALUE]
 *   probe --pause | --alloc BYTES | --forks N
 *
 * --uid: the uid the sandbox must run it as; --tmp-bytes: /tmp's size;
 * --other: a file of another function's code, by its path outside, that
 * must be unreachable; --secret: the one extra variable the environment
 * must hold; --other-pid: the pid (outside) of another function's running
 * worker, which must be invisible. Static musl: it also runs as a deployed native function.
 *
 * The other forms are loads for the cgroup limits: --pause waits for a
 * signal; --alloc touches BYTES of fresh memory then exits 0 (under a
 * smaller memory.max it is OOM-killed instead); --forks tries N children
 * and exits 0 only if a fork was refused with EAGAIN (pids.max).
 */
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif
#define X32_BIT 0x40000000

extern char **environ;

/* A raw call must fail with want. */
static void refused(long r, int want, const char *what)
{
	int e = errno;
	if (!ok(r == -1 && e == want, "%s refused with %s", what, strerror(want)))
		diag("got %ld, errno %d (%s)", r, r == -1 ? e : 0, r == -1 ? strerror(e) : "-");
	if (r >= 0 && r < 1024 && strncmp(what, "socket", 6) == 0)
		close((int)r);
}

static void works(long r, const char *what)
{
	int e = errno;
	if (!ok(r >= 0, "%s works (positive control)", what))
		diag("errno %d (%s)", e, strerror(e));
}

static void sockets(void)
{
	static const struct { int fam; const char *name; } bad[] = {
		{ AF_PACKET, "AF_PACKET" }, { AF_NETLINK, "AF_NETLINK" },
		{ AF_VSOCK, "AF_VSOCK" }, { AF_ALG, "AF_ALG" }, { AF_KEY, "AF_KEY" },
		{ AF_XDP, "AF_XDP" }, { AF_BLUETOOTH, "AF_BLUETOOTH" }, { AF_CAN, "AF_CAN" },
	};
	char name[64];
	long s;

	s = socket(AF_UNIX, SOCK_STREAM, 0);
	works(s, "socket(AF_UNIX)");
	if (s >= 0) close((int)s);
	s = socket(AF_INET, SOCK_STREAM, 0);
	works(s, "socket(AF_INET)");
	if (s >= 0) close((int)s);
	s = socket(AF_INET6, SOCK_DGRAM, 0);
	works(s, "socket(AF_INET6)");
	if (s >= 0) close((int)s);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(name, sizeof name, "socket(%s)", bad[i].name);
		refused(socket(bad[i].fam, SOCK_RAW, 0), EAFNOSUPPORT, name);
	}
	int sv[2];
	works(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair(AF_UNIX)");
	refused(socketpair(AF_NETLINK, SOCK_RAW, 0, sv), EAFNOSUPPORT, "socketpair(AF_NETLINK)");
	refused(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM, "socket(AF_INET, SOCK_RAW) (no CAP_NET_RAW)");
}

static int connect_to(const char *addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r, e;

	inet_pton(AF_INET, addr, &sin.sin_addr);
	r = connect(s, (struct sockaddr *)&sin, sizeof sin);
	e = errno;
	close(s);
	errno = e;
	return r;
}

static void network(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	char buf[4096];
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	int up = l >= 0 && bind(l, (struct sockaddr *)&sin, sizeof sin) == 0 && listen(l, 4) == 0 &&
		 getsockname(l, (struct sockaddr *)&sin, &len) == 0;
	ok(up, "listen on 127.0.0.1 (lo is up)");
	works(up ? connect_to("127.0.0.1", ntohs(sin.sin_port)) : -1, "connect to 127.0.0.1");
	close(l);
	refused(connect_to("10.0.0.1", 80), ENETUNREACH, "connect to 10.0.0.1");
	refused(connect_to("198.18.0.1", 8080), ENETUNREACH, "connect to 198.18.0.1");
	refused(connect_to("1.1.1.1", 443), ENETUNREACH, "connect to 1.1.1.1");

	/* /proc/net/dev lists the namespace's interfaces (no netlink here) */
	int fd = open("/proc/net/dev", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0) close(fd);
	int ifaces = 0, lo = 0;
	if (n > 0) {
		buf[n] = '\0';
		for (char *p = buf; (p = strchr(p, ':')) != NULL; p++) {
			char *b = p;
			while (b > buf && b[-1] != '\n' && b[-1] != ' ') b--;
			ifaces++;
			if (p - b == 2 && memcmp(b, "lo", 2) == 0) lo = 1;
		}
	}
	ok(n > 0 && ifaces == 1 && lo, "the network namespace has only lo (%d interfaces)", ifaces);
}

static void other_worker(long pid)
{
	char p[64];
	struct stat st;

	works(kill(1, 0), "kill(1, 0) on itself");
	refused(kill((pid_t)pid, 0), ESRCH, "kill(0) another function's worker");
	snprintf(p, sizeof p, "/proc/%ld/root/code", pid);
	refused(stat(p, &st), ENOENT, "reach its /code through /proc/PID/root");
	refused(syscall(SYS_pidfd_open, pid, 0), ESRCH, "pidfd_open another function's worker");
}

/* self: the probe's own path (argv[0]): /code/probe in the sandbox
 * tests, /code/function as a deployed native function. */
static void paths(const char *self, const char *other)
{
	struct stat st;
	struct statfs sf;

	works(stat("/dev/null", &st), "stat /dev/null");
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	works(fd >= 0 && write(fd, "x", 1) == 1 ? 0 : -1, "write to /dev/null");
	if (fd >= 0) close(fd);
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	char b[8];
	works(fd >= 0 && read(fd, b, sizeof b) == (ssize_t)sizeof b ? 0 : -1, "read /dev/urandom");
	if (fd >= 0) close(fd);
	refused(stat("/dev/tdx_guest", &st), ENOENT, "stat /dev/tdx_guest");
	refused(stat("/dev/console", &st), ENOENT, "stat /dev/console");
	refused(stat("/dev/tty", &st), ENOENT, "stat /dev/tty");
	refused(stat("/dev/kmsg", &st), ENOENT, "stat /dev/kmsg");
	refused(stat("/dev/mem", &st), ENOENT, "stat /dev/mem");
	refused(stat("/sys", &st), ENOENT, "stat /sys");
	refused(stat("/sys/kernel/config", &st), ENOENT, "stat /sys/kernel/config (configfs)");
	refused(stat("/sys/kernel/debug", &st), ENOENT, "stat /sys/kernel/debug");
	refused(mknod("/tmp/null2", S_IFCHR | 0666, makedev(1, 3)), EPERM, "mknod a device in /tmp");

	works(statfs("/", &sf), "statfs /");
	ok(sf.f_type == TMPFS_MAGIC, "/ is a tmpfs (magic %#lx)", (unsigned long)sf.f_type);
	refused(mkdir("/x", 0700), EROFS, "mkdir /x (read-only root)");
	char what[128];
	snprintf(what, sizeof what, "open %.64s (its own code) for reading", self);
	works(strncmp(self, "/code/", 6) == 0 ? open(self, O_RDONLY | O_CLOEXEC) : -1, what);
	refused(open("/code/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0600), EROFS, "create in /code");
	if (stat("/usr", &st) == 0)
		refused(open("/usr/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0600), EROFS, "create in /usr (the layer)");
	else
		ok(1, "# skip the layer is empty here (no /usr)");
	fd = open("/tmp/w", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	works(fd, "create in /tmp");
	if (fd >= 0) { close(fd); unlink("/tmp/w"); }
	works(stat("/etc/resolv.conf", &st), "stat /etc/resolv.conf");
	refused(open("/etc/resolv.conf", O_WRONLY | O_CLOEXEC), EROFS, "write /etc/resolv.conf");

	if (other != NULL) {
		refused(open(other, O_RDONLY | O_CLOEXEC), ENOENT, "open another function's code by its outside path");
		char p[600];
		snprintf(p, sizeof p, "/proc/1/root%s", other);
		refused(open(p, O_RDONLY | O_CLOEXEC), ENOENT, "open it through /proc/1/root");
	}
	/* /proc: ours, fresh, /proc/sys read-only */
	works(open("/proc/self/status", O_RDONLY | O_CLOEXEC), "open /proc/self/status");
	works(open("/proc/sys/kernel/hostname", O_RDONLY | O_CLOEXEC), "read /proc/sys/kernel/hostname");
	fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
	ok(fd < 0 && (errno == EROFS || errno == EACCES), "write /proc/sys/kernel/hostname refused (%s)",
	   fd < 0 ? strerror(errno) : "opened");
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	ok(fd < 0 && (errno == EROFS || errno == EACCES), "write /proc/sys/vm/drop_caches refused (%s)",
	   fd < 0 ? strerror(errno) : "opened");
	fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
	ok(fd < 0, "write /proc/sysrq-trigger refused (%s)", fd < 0 ? strerror(errno) : "opened");
	/* absent without CONFIG_PROC_KCORE; else masked: opens, reads nothing */
	fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	char kb[16];
	ssize_t kn = fd >= 0 ? read(fd, kb, sizeof kb) : -1;
	int ke = errno;
	if (fd >= 0) close(fd);
	ok(kn <= 0, "read /proc/kcore gives nothing (%s)", fd < 0 ? strerror(ke) : "masked, empty");
	static const char *const masked[] = { "/proc/kallsyms", "/proc/timer_list", "/proc/keys",
					     "/proc/modules", "/proc/iomem" };
	for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
		char mb[64];
		fd = open(masked[i], O_RDONLY | O_CLOEXEC);
		ssize_t got = fd >= 0 ? read(fd, mb, sizeof mb) : -1;
		if (fd >= 0) close(fd);
		ok(got <= 0, "%s shows nothing (%zd bytes)", masked[i], got);
	}
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	char sb[16];
	works(fd >= 0 && read(fd, sb, sizeof sb) > 0 ? 0 : -1, "read /proc/self/status");
	if (fd >= 0) close(fd);
	struct statvfs sv;
	ok(statvfs("/proc/sysrq-trigger", &sv) != 0 || (sv.f_flag & ST_RDONLY),
	   "/proc/sysrq-trigger absent or read-only");
	ok(statvfs("/proc/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY), "/proc/sys is mounted read-only");
	ok(statvfs("/proc", &sv) == 0 && !(sv.f_flag & ST_RDONLY), "/proc itself is not (positive control)");
	ok(getpid() == 1, "its own pid namespace (pid %d)", (int)getpid());
	char host[64] = "";
	gethostname(host, sizeof host);
	ok(strcmp(host, "fn") == 0, "its own uts namespace (hostname '%s')", host);
	char cg[256] = "";
	fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, cg, sizeof cg - 1) : -1;
	if (fd >= 0) close(fd);
	if (n > 0) cg[n] = '\0';
	ok(n > 0 && strstr(cg, "0::/\n") != NULL, "its own cgroup namespace (0::/)");
}

/* /proc/self/status: field's hexadecimal value */
static int status_field(const char *name, unsigned long long *v)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0) close(fd);
	if (n <= 0) return -1;
	buf[n] = '\0';
	char *p = strstr(buf, name);
	if (p == NULL) return -1;
	*v = strtoull(p + strlen(name), NULL, strcmp(name, "Seccomp:") == 0 ||
					    strcmp(name, "NoNewPrivs:") == 0 ? 10 : 16);
	return 0;
}

static void creds(long want_uid)
{
	static const char *const sets[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
	unsigned long long v;

	for (size_t i = 0; i < 5; i++) {
		v = 1;
		ok(status_field(sets[i], &v) == 0 && v == 0, "%s empty (%llx)", sets[i], v);
	}
	ok(status_field("NoNewPrivs:", &v) == 0 && v == 1, "no_new_privs set");
	ok(status_field("Seccomp:", &v) == 0 && v == 2, "seccomp filter mode");
	ok(getuid() != 0 && geteuid() != 0 && getgid() != 0, "not root (uid %d)", (int)getuid());
	if (want_uid >= 0)
		ok(getuid() == (uid_t)want_uid && geteuid() == (uid_t)want_uid, "uid is %ld", want_uid);
	ok(getgroups(0, NULL) == 0, "no supplementary groups");
	refused(setuid(0), EPERM, "setuid(0)");
	int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	/* NOROOT, NO_CAP_AMBIENT_RAISE set; NO_SETUID_FIXUP, KEEP_CAPS clear; all locked */
	ok(bits >= 0 && (bits & 0xff) == 0xeb, "securebits set and locked (%#x)", bits);
}

static void environment(const char *secret)
{
	int n = 0, path = 0, home = 0, lang = 0, sec = 0, ca = 0, other = 0;

	for (char **e = environ; *e != NULL; e++) {
		n++;
		if (strncmp(*e, "PATH=", 5) == 0) path++;
		else if (strcmp(*e, "HOME=/tmp") == 0) home++;
		else if (strcmp(*e, "LANG=C.UTF-8") == 0) lang++;
		else if (secret != NULL && strcmp(*e, secret) == 0) sec++;
		/* a deployed function's worker: the local CA bundle, for the
		 * egress proxy's TLS (docs/EGRESS.md) */
		else if (strcmp(*e, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") == 0 ||
			 strcmp(*e, "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt") == 0) ca++;
		else { other++; diag("unexpected variable %.40s", *e); }
	}
	ok(path == 1 && home == 1 && lang == 1 && (ca == 0 || ca == 2) && other == 0,
	   "environment is PATH, HOME, LANG, secrets and the CA bundle's two (%d)", n);
	if (secret != NULL)
		ok(sec == 1, "the declared secret is there");
	ok(getenv("DSHIELD_PARENT_MARK") == NULL, "the parent's environment is absent");
	/* inside the sandbox's root: the library's default (/) or the HOME
	 * sandboxd gives every worker (/tmp); getcwd fails (or says
	 * "(unreachable)") for a directory outside the root */
	char cwd[64] = "";
	ok(getcwd(cwd, sizeof cwd) != NULL && (strcmp(cwd, "/") == 0 || strcmp(cwd, "/tmp") == 0),
	   "cwd is / or /tmp, inside the sandbox (%s)", cwd);
}

static void descriptors(void)
{
	int open_fds = 0, hi = -1;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1) {
			open_fds++;
			hi = fd;
		}
	ok(hi <= 3 && open_fds >= 3, "only descriptors 0-3 open (%d open, highest %d)", open_fds, hi);
}

static void tmp_limit(long long bytes)
{
	static char chunk[65536];
	long long written = 0;
	int fd = open("/tmp/fill", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n = 0;
	int e = 0;

	signal(SIGXFSZ, SIG_IGN);   /* RLIMIT_FSIZE: EFBIG instead of death */
	memset(chunk, 'x', sizeof chunk);
	while (fd >= 0 && written <= 2 * bytes && (n = write(fd, chunk, sizeof chunk)) > 0)
		written += n;
	e = errno;
	if (fd >= 0) close(fd);
	unlink("/tmp/fill");
	ok(fd >= 0 && n < 0 && (e == ENOSPC || e == EFBIG) && written <= bytes && written > bytes / 2,
	   "/tmp holds at most its size (%lld of %lld bytes, then %s)", written, bytes, strerror(e));
}

/* clone with a namespace flag; a child that should not exist leaves at once. */
static long clone_ns(unsigned long flag)
{
	long r = syscall(SYS_clone, flag | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}

/* clone3 with an all-zero argument (a plain fork if it ran). */
static long clone3_bad(void)
{
	uint64_t args[8] = { 0 };
	args[4] = SIGCHLD;   /* exit_signal */
	long r = syscall(SYS_clone3, args, sizeof args);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}

static void syscalls(void)
{
	char buf[64];

	memset(buf, 0, sizeof buf);
	struct iovec l = { buf, 8 }, r = { buf + 8, 8 };
	pid_t kid;
	int st;

	refused(syscall(SYS_io_uring_setup, 1, buf), ENOSYS, "io_uring_setup");
	refused(syscall(SYS_io_uring_enter, 0, 0, 0, 0, NULL, 0), ENOSYS, "io_uring_enter");
	refused(syscall(SYS_bpf, 0, buf, 16), EPERM, "bpf");
	refused(syscall(SYS_perf_event_open, buf, 0, -1, -1, 0), EPERM, "perf_event_open");
	refused(syscall(SYS_userfaultfd, 0), EPERM, "userfaultfd");
	refused(syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM, "keyctl");
	refused(syscall(SYS_add_key, "user", "k", "v", 1, -2), EPERM, "add_key");
	refused(syscall(SYS_request_key, "user", "k", NULL, 0), EPERM, "request_key");

	kid = fork();
	if (kid == 0) {
		pause();
		_exit(0);
	}
	works(kid, "fork");
	refused(syscall(SYS_ptrace, PTRACE_ATTACH, kid, 0, 0), EPERM, "ptrace(PTRACE_ATTACH, another pid)");
	refused(syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0), EPERM, "ptrace(PTRACE_TRACEME)");
	refused(syscall(SYS_process_vm_readv, kid, &l, 1, &r, 1, 0), EPERM, "process_vm_readv");
	refused(syscall(SYS_process_vm_writev, kid, &l, 1, &r, 1, 0), EPERM, "process_vm_writev");
	works(kid > 0 ? kill(kid, SIGKILL) : -1, "kill its own child");   /* never kill(-1) */
	if (kid > 0)
		waitpid(kid, &st, 0);

	refused(mount("none", "/nonexistent", "tmpfs", 0, NULL), EPERM, "mount");
	refused(umount2("/nonexistent", MNT_DETACH), EPERM, "umount2");
	refused(syscall(SYS_pivot_root, "/nonexistent", "/nonexistent"), EPERM, "pivot_root");
	refused(chroot("/nonexistent"), EPERM, "chroot");
	refused(syscall(SYS_fsopen, "tmpfs", 0), EPERM, "fsopen");
	refused(syscall(SYS_open_tree, AT_FDCWD, "/tmp", 0), EPERM, "open_tree");
	refused(syscall(SYS_move_mount, -1, "", -1, "", 0), EPERM, "move_mount");
	refused(unshare(CLONE_NEWUSER), EPERM, "unshare(CLONE_NEWUSER)");
	refused(unshare(CLONE_NEWNET), EPERM, "unshare(CLONE_NEWNET)");
	refused(unshare(CLONE_NEWNS), EPERM, "unshare(CLONE_NEWNS)");
	refused(unshare(CLONE_NEWTIME), EPERM, "unshare(CLONE_NEWTIME)");
	works(unshare(CLONE_FS), "unshare(CLONE_FS)");
	refused(setns(-1, 0), EPERM, "setns");
	refused(clone_ns(CLONE_NEWUSER), EPERM, "clone(CLONE_NEWUSER)");
	refused(clone_ns(CLONE_NEWNET), EPERM, "clone(CLONE_NEWNET)");
	refused(clone3_bad(), ENOSYS, "clone3");
	refused(syscall(SYS_init_module, buf, 8, ""), EPERM, "init_module");
	refused(syscall(SYS_finit_module, -1, "", 0), EPERM, "finit_module");
	refused(syscall(SYS_delete_module, "dshield-no-such-module", 0), EPERM, "delete_module");
	refused(syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000ul), EPERM, "kexec_load");
	refused(syscall(SYS_kexec_file_load, -1, -1, 0, "", 0), EPERM, "kexec_file_load");
	refused(syscall(SYS_reboot, 0, 0, 0, NULL), EPERM, "reboot");   /* bad magic */
	refused(syscall(SYS_swapon, "/nonexistent", 0), EPERM, "swapon");
	refused(syscall(SYS_acct, "/nonexistent"), EPERM, "acct");
	struct timespec ts = { 0, 0 };
	works(clock_gettime(CLOCK_REALTIME, &ts), "clock_gettime");
	refused(syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts), EPERM, "clock_settime");   /* not settable anyway */
	refused(syscall(SYS_settimeofday, NULL, NULL), EPERM, "settimeofday");
	refused(syscall(SYS_syslog, 3, buf, 16), EPERM, "syslog");
	refused(syscall(SYS_sethostname, "x", 100000), EPERM, "sethostname");   /* too long anyway */
	refused(syscall(SYS_personality, ADDR_NO_RANDOMIZE), EPERM, "personality(ADDR_NO_RANDOMIZE)");
	works(syscall(SYS_personality, 0xffffffff), "personality(query)");
	refused(syscall(SYS_ioctl, -1, 0x5412 /* TIOCSTI */, "x"), EPERM, "ioctl(TIOCSTI)");
	refused(syscall(SYS_open_by_handle_at, -1, buf, 0), EPERM, "open_by_handle_at");
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	works(m == MAP_FAILED ? -1 : 0, "mmap PROT_EXEC (a JIT needs it)");
}

static void x32(void)
{
	int st;
	pid_t kid = fork();
	if (kid == 0) {
		syscall(X32_BIT | SYS_getpid);
		_exit(0);
	}
	ok(kid > 0 && waitpid(kid, &st, 0) == kid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	   "an x32 system call kills with SIGSYS");
}

static int alloc_bytes(long long n)
{
	char *p = mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	for (long long i = 0; i < n; i += 4096)
		p[i] = 1;
	printf("allocated %lld bytes\n", n);
	return 0;
}

static int fork_many(int n)
{
	pid_t kids[256];
	int made = 0, e = 0;

	for (; made < n && made < 256; made++) {
		kids[made] = fork();
		if (kids[made] == 0) {
			pause();
			_exit(0);
		}
		if (kids[made] < 0) {
			e = errno;
			break;
		}
	}
	for (int i = 0; i < made; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	printf("forked %d of %d, then %s\n", made, n, e ? strerror(e) : "nothing refused");
	return e == EAGAIN ? 0 : 1;
}

int main(int argc, char **argv)
{
	long uid = -1;
	long long tmp = 0;

	if (argc == 2 && strcmp(argv[1], "--pause") == 0) {
		pause();
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--alloc") == 0)
		return alloc_bytes(atoll(argv[2]));
	if (argc == 3 && strcmp(argv[1], "--forks") == 0)
		return fork_many(atoi(argv[2]));
	const char *other = NULL, *secret = NULL;
	long other_pid = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--uid") == 0) uid = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--tmp-bytes") == 0) tmp = atoll(argv[i + 1]);
		else if (strcmp(argv[i], "--other") == 0) other = argv[i + 1];
		else if (strcmp(argv[i], "--secret") == 0) secret = argv[i + 1];
		else if (strcmp(argv[i], "--other-pid") == 0) other_pid = atol(argv[i + 1]);
	}
	/* Many checks below would do real harm where they are not refused
	 * (as root on a host: mount, reboot, clock_settime...). Their
	 * arguments are chosen to fail harmlessly anyway; this is the
	 * first line: no run outside a sandbox at all. */
	unsigned long long mode = 0;
	if (status_field("Seccomp:", &mode) != 0 || mode != 2 || getuid() == 0 || getpid() != 1) {
		printf("Bail out! not inside a sandbox (seccomp filter, a uid other than 0, pid 1 of its "
		       "namespace): no escape is tried here\n");
		return 2;
	}
	environment(secret);
	descriptors();
	creds(uid);
	sockets();
	network();
	paths(argv[0], other);
	if (other_pid > 0)
		other_worker(other_pid);
	syscalls();
	x32();
	if (tmp > 0)
		tmp_limit(tmp);
	return tap_done();
}
