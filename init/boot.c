/* init/boot.c: see boot.h. */
#include "init/boot.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Moves fd above 2 so that dup2() onto 0..2 cannot clobber it (the kernel
 * may start us with 0..2 closed, and open() then returns one of them). */
static int above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return high;
}

void boot_console(void)
{
	int con = above_stdio(open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC));
	int con_errno = errno;
	int nul = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	if (nul < 0) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) == 0) {
			close(p[1]);
			nul = above_stdio(p[0]);
		}
	}
	/* dup2 gives 0..2 without close-on-exec; the originals go. */
	if (nul >= 0) {
		dup2(nul, 0);
		close(nul);
	}
	if (con >= 0) {
		dup2(con, 1);
		dup2(con, 2);
		close(con);
	}
	log_set_fd(2);
	if (con < 0)
		dlog("boot: no /dev/console (%s): logging to the inherited fd 2",
		     strerror(con_errno));
}

/* --- mounts ------------------------------------------------------------------ */

struct mnt {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
};

#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static const struct mnt mounts[] = {
	{ "proc", "/proc", "proc", NOSUID_NODEV_NOEXEC, "hidepid=2" },
	{ "sysfs", "/sys", "sysfs", NOSUID_NODEV_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755" },
	{ "tmpfs", "/run", "tmpfs", NOSUID_NODEV_NOEXEC, "mode=0755" },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", NOSUID_NODEV_NOEXEC, "nsdelegate" },
};

static const struct mnt configfs_mount =
	{ "configfs", "/sys/kernel/config", "configfs", NOSUID_NODEV_NOEXEC, NULL };

static int do_mount(const struct mnt *m)
{
	uint64_t t0 = mono_ms();
	if (mkdir(m->target, 0755) != 0 && errno != EEXIST) {
		int e = errno;
		dlog("boot: mkdir %s: %s", m->target, strerror(e));
		return -e;
	}
	if (mount(m->source, m->target, m->type, m->flags, m->data) != 0) {
		int e = errno;
		dlog("boot: mount %s on %s: %s", m->type, m->target, strerror(e));
		return -e;
	}
	dlog("boot: mounted %s on %s%s%s (%llu ms)", m->type, m->target,
	     m->data ? " " : "", m->data ? m->data : "",
	     (unsigned long long)(mono_ms() - t0));
	return 0;
}

int boot_mount_all(void)
{
	for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++) {
		int r = do_mount(&mounts[i]);
		if (r != 0)
			return r;
	}
	return 0;
}

int boot_mount_configfs(void)
{
	return do_mount(&configfs_mount);
}

/* --- sysctls ------------------------------------------------------------------ */

enum sysctl_need {
	MUST,        /* missing or refused: the boot fails */
	MUST_IPV6,   /* as MUST, but fine when the kernel runs without IPv6 */
	OPTIONAL,    /* logged when missing or refused, the boot goes on */
};

struct sysctl {
	const char *name;     /* dotted, as in sysctl(8); path is derived */
	const char *value;
	enum sysctl_need need;
};

/* Why each value:
 *   kptr_restrict=2, dmesg_restrict=1   no kernel pointers or log for anyone
 *                                       but init (KASLR, info leaks)
 *   unprivileged_bpf_disabled=1         no unprivileged BPF, permanently
 *   io_uring_disabled=2                 no io_uring at all (invisible to
 *                                       seccomp)
 *   unprivileged_userfaultfd=0          a classic exploit helper
 *   perf_event_paranoid=3               no perf_event_open without CAP_PERFMON
 *   sysrq=0                             the host owns the serial console
 *   suid_dumpable=0, protected_*        classic file-system hardening
 *   kexec_load_disabled=1               nothing replaces the measured kernel
 *   ip_forward=0, ipv6 forwarding=0     the kernel routes nothing
 *   ipv6 default disable_ipv6=1         interfaces made later start without
 *                                       IPv6 (no link-local, no DAD/RS)
 *   exception-trace=0                   a function's crash does not write
 *                                       to the (host-readable) console
 *   yama.ptrace_scope=3                 no ptrace at all (seccomp refuses it
 *                                       to functions anyway: optional)
 * kexec_load_disabled is optional only because a kernel built without
 * kexec has no such file (and then nothing to disable). */
static const struct sysctl sysctls[] = {
	{ "kernel.kptr_restrict", "2", MUST },
	{ "kernel.dmesg_restrict", "1", MUST },
	{ "kernel.unprivileged_bpf_disabled", "1", MUST },
	{ "kernel.io_uring_disabled", "2", MUST },
	{ "vm.unprivileged_userfaultfd", "0", MUST },
	{ "kernel.perf_event_paranoid", "3", MUST },
	{ "kernel.sysrq", "0", MUST },
	{ "fs.suid_dumpable", "0", MUST },
	{ "fs.protected_symlinks", "1", MUST },
	{ "fs.protected_hardlinks", "1", MUST },
	{ "fs.protected_fifos", "2", MUST },
	{ "fs.protected_regular", "2", MUST },
	{ "net.ipv4.ip_forward", "0", MUST },
	{ "net.ipv6.conf.all.forwarding", "0", MUST_IPV6 },
	{ "net.ipv6.conf.default.disable_ipv6", "1", MUST_IPV6 },
	{ "kernel.kexec_load_disabled", "1", OPTIONAL },
	{ "debug.exception-trace", "0", OPTIONAL },
	{ "kernel.yama.ptrace_scope", "3", OPTIONAL },
};

/* <dir>/ + name with '.' turned into '/'. */
static void sysctl_path(const char *dir, const char *name, char *out, size_t cap)
{
	size_t skip = strlen(dir) + 1;
	int n = snprintf(out, cap, "%s/%s", dir, name);
	for (size_t i = skip; n > 0 && (size_t)n < cap && out[i]; i++)
		if (out[i] == '.')
			out[i] = '/';
}

/* Writes value and reads it back. 0 or a negative errno (-EIO when the
 * kernel reports another value). */
static int sysctl_write(const char *path, const char *value)
{
	char got[32];
	size_t len = strlen(value);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = 0;
	ssize_t w = write(fd, value, len), n;
	if (w < 0)
		r = -errno;
	else if ((size_t)w != len)
		r = -EIO;
	else if ((n = pread(fd, got, sizeof got - 1, 0)) < 0)
		r = -errno;
	else {
		got[n] = '\0';
		got[strcspn(got, "\n")] = '\0';
		if (strcmp(got, value) != 0)
			r = -EIO;
	}
	close(fd);
	return r;
}

static int apply_one(const char *dir, const struct sysctl *s)
{
	char path[256], ipv6[256];
	sysctl_path(dir, s->name, path, sizeof path);
	snprintf(ipv6, sizeof ipv6, "%s/net/ipv6", dir);
	int r = sysctl_write(path, s->value);
	if (r == 0) {
		dlog("boot: sysctl %s=%s", s->name, s->value);
		return 0;
	}
	if (s->need == MUST_IPV6 && r == -ENOENT && access(ipv6, F_OK) != 0) {
		dlog("boot: sysctl %s: kernel has no IPv6, nothing to set", s->name);
		return 0;
	}
	if (s->need == OPTIONAL) {
		dlog("boot: sysctl %s=%s not applied (optional): %s", s->name, s->value,
		     r == -EIO ? "the kernel keeps another value" : strerror(-r));
		return 0;
	}
	dlog("boot: sysctl %s=%s FAILED: %s", s->name, s->value,
	     r == -EIO ? "the kernel keeps another value" : strerror(-r));
	return r;
}

int boot_apply_sysctls_in(const char *dir)
{
	int first = 0;
	for (size_t i = 0; i < sizeof sysctls / sizeof sysctls[0]; i++) {
		int r = apply_one(dir, &sysctls[i]);
		if (r != 0 && first == 0)
			first = r;
	}
	return first;
}

int boot_apply_sysctls(void)
{
	return boot_apply_sysctls_in("/proc/sys");
}

int boot_lock_modules(void)
{
	static const struct sysctl lock = { "kernel.modules_disabled", "1", MUST };
	return apply_one("/proc/sys", &lock);
}
