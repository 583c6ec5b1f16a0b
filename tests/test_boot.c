/* tests/test_boot.c: PID 1's boot steps that can run outside the VM.
 *
 *   boot_console        in a child whose fds 0..2 were closed
 *   boot_mount_all      (root) in a child with its own mount and cgroup
 *                       namespaces, chrooted into a fresh tmpfs: the
 *                       host's mounts are never touched
 *   boot_apply_sysctls  against a fake /proc/sys tree (never the host's)
 *   modules             the verified read, hash mismatches, the kernel
 *                       refusing a module that is not one
 */
#include "init/boot.h"
#include "init/manifest.h"
#include "init/modules.h"
#include "lib/log.h"
#include "tests/tap.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC 0x62656570  /* fs/configfs/mount.c */
#endif

static char tmp[64];

/* --- console -------------------------------------------------------------------- */

static void test_console(void)
{
	int p[2];
	if (pipe(p) != 0) {
		ok(0, "pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char res[4] = { 0 };
		struct stat st;
		char c;
		uint64_t before = 0, after = 0;
		close(p[0]);
		close(0);
		close(1);
		close(2);
		for (int fd = 3; fd < 64; fd++)
			before |= (uint64_t)(fcntl(fd, F_GETFD) >= 0) << fd;
		boot_console();
		for (int fd = 3; fd < 64; fd++)
			after |= (uint64_t)(fcntl(fd, F_GETFD) >= 0) << fd;
		res[0] = fcntl(0, F_GETFD) == 0 && read(0, &c, 1) == 0;        /* EOF, inheritable */
		res[1] = fcntl(1, F_GETFD) == 0 && fstat(1, &st) == 0 &&
			 (S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 1);
		res[2] = fcntl(2, F_GETFD) == 0 && fstat(2, &st) == 0 &&
			 (S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 1);
		res[3] = before == after;                                      /* nothing leaked */
		_exit(write(p[1], res, sizeof res) == sizeof res ? 0 : 1);
	}
	close(p[1]);
	char res[4] = { 0 };
	ssize_t n = read(p[0], res, sizeof res);
	close(p[0]);
	waitpid(pid, NULL, 0);
	if (access("/dev/console", W_OK) != 0) {
		ok(1, "# skip /dev/console not writable here");
		return;
	}
	ok(n == 4 && res[0], "boot_console: fd 0 reads end of file");
	ok(n == 4 && res[1], "boot_console: fd 1 is /dev/console");
	ok(n == 4 && res[2], "boot_console: fd 2 is /dev/console");
	ok(n == 4 && res[3], "boot_console: no extra fd left open");
}

/* --- mounts --------------------------------------------------------------------- */

enum { M_RET, M_PROC, M_SELF, M_PROC_FLAGS, M_SYS, M_DEV, M_DEVNULL, M_RUN, M_RUN_FLAGS,
       M_CGROUP, M_CONFIGFS, M_N };

static bool fs_is(const char *path, unsigned long magic)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == magic;
}

static bool flags_are(const char *path, unsigned long want)
{
	struct statvfs sv;
	return statvfs(path, &sv) == 0 && (sv.f_flag & want) == want;
}

static void mount_child(int out)
{
	char res[M_N] = { 0 };
	char link[32];
	if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", tmp, "tmpfs", 0, "mode=0755") != 0 ||
	    chroot(tmp) != 0 || chdir("/") != 0)
		_exit(2);
	res[M_RET] = boot_mount_all() == 0;
	res[M_PROC] = fs_is("/proc", PROC_SUPER_MAGIC);
	res[M_SELF] = readlink("/proc/self", link, sizeof link) > 0;
	res[M_PROC_FLAGS] = flags_are("/proc", ST_NOSUID | ST_NODEV | ST_NOEXEC);
	res[M_SYS] = fs_is("/sys", SYSFS_MAGIC) && flags_are("/sys", ST_NOSUID | ST_NODEV | ST_NOEXEC);
	res[M_DEV] = fs_is("/dev", TMPFS_MAGIC) && flags_are("/dev", ST_NOSUID | ST_NOEXEC);
	res[M_DEVNULL] = access("/dev/null", F_OK) == 0;
	res[M_RUN] = fs_is("/run", TMPFS_MAGIC);
	res[M_RUN_FLAGS] = flags_are("/run", ST_NOSUID | ST_NODEV | ST_NOEXEC);
	res[M_CGROUP] = fs_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC);
	/* configfs exists on this host only if its module is loaded */
	res[M_CONFIGFS] = access("/sys/kernel/config", F_OK) != 0 ? 2 :
			  boot_mount_configfs() == 0 && fs_is("/sys/kernel/config", CONFIGFS_MAGIC);
	_exit(write(out, res, sizeof res) == sizeof res ? 0 : 1);
}

static void test_mounts(void)
{
	if (getuid() != 0) {
		ok(1, "# skip mounts need root");
		return;
	}
	snprintf(tmp, sizeof tmp, "/tmp/dshield-boot-XXXXXX");
	if (!mkdtemp(tmp)) {
		ok(0, "mkdtemp");
		return;
	}
	int p[2];
	if (pipe(p) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		mount_child(p[1]);
	}
	close(p[1]);
	char res[M_N] = { 0 };
	int st = 0;
	ssize_t n = read(p[0], res, sizeof res);
	close(p[0]);
	waitpid(pid, &st, 0);
	rmdir(tmp);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2) {
		ok(1, "# skip cannot make a private mount namespace here");
		return;
	}
	ok(n == M_N, "mount child reported");
	ok(res[M_RET], "boot_mount_all returns 0");
	ok(res[M_PROC], "proc on /proc");
	ok(res[M_SELF], "/proc/self works (hidepid=2)");
	ok(res[M_PROC_FLAGS], "/proc nosuid,nodev,noexec");
	ok(res[M_SYS], "sysfs on /sys nosuid,nodev,noexec");
	ok(res[M_DEV], "devtmpfs on /dev nosuid,noexec");
	ok(res[M_DEVNULL], "/dev/null exists");
	ok(res[M_RUN], "tmpfs on /run");
	ok(res[M_RUN_FLAGS], "/run nosuid,nodev,noexec");
	ok(res[M_CGROUP], "cgroup2 on /sys/fs/cgroup");
	if (res[M_CONFIGFS] == 2)
		ok(1, "# skip configfs not loaded on this host");
	else
		ok(res[M_CONFIGFS], "configfs on /sys/kernel/config");
}

/* --- sysctls -------------------------------------------------------------------- */

static const char *const table[][2] = {
	{ "kernel/kptr_restrict", "2" }, { "kernel/dmesg_restrict", "1" },
	{ "kernel/unprivileged_bpf_disabled", "1" }, { "kernel/io_uring_disabled", "2" },
	{ "vm/unprivileged_userfaultfd", "0" }, { "kernel/perf_event_paranoid", "3" },
	{ "kernel/sysrq", "0" }, { "fs/suid_dumpable", "0" },
	{ "fs/protected_symlinks", "1" }, { "fs/protected_hardlinks", "1" },
	{ "fs/protected_fifos", "2" }, { "fs/protected_regular", "2" },
	{ "net/ipv4/ip_forward", "0" }, { "net/ipv6/conf/all/forwarding", "0" },
	{ "net/ipv6/conf/default/disable_ipv6", "1" }, { "kernel/kexec_load_disabled", "1" },
	{ "debug/exception-trace", "0" }, { "kernel/yama/ptrace_scope", "3" },
};
#define NTABLE (sizeof table / sizeof table[0])

static int run(const char *fmt, const char *arg)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "%s %s", fmt, arg);
	return system(cmd);
}

/* A fake /proc/sys with every file holding "7\n". */
static void fake_tree(const char *dir)
{
	run("rm -rf", dir);
	for (size_t i = 0; i < NTABLE; i++) {
		char path[128], cmd[320];
		snprintf(path, sizeof path, "%s/%s", dir, table[i][0]);
		snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname %s)\" && echo 7 > %s", path, path);
		if (system(cmd) != 0)
			printf("Bail out! cannot build %s\n", path);
	}
}

static bool holds(const char *dir, const char *name, const char *want)
{
	char path[256], got[16] = { 0 };
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, got, sizeof got - 1);
	close(fd);
	return n > 0 && strncmp(got, want, strlen(want)) == 0 && got[strlen(want)] == '\n';
}

static void rm(const char *dir, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	run("rm -rf", path);
}

static void test_sysctls(void)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/tmp/dshield-sysctl-%d", (int)getpid());

	fake_tree(dir);
	is_int(boot_apply_sysctls_in(dir), 0, "sysctls: all present");
	bool all = true;
	for (size_t i = 0; i < NTABLE; i++)
		if (!holds(dir, table[i][0], table[i][1])) {
			diag("%s does not hold %s", table[i][0], table[i][1]);
			all = false;
		}
	ok(all, "sysctls: every value written");

	fake_tree(dir);
	rm(dir, "kernel/sysrq");
	is_int(boot_apply_sysctls_in(dir), -ENOENT, "sysctls: a missing must-have fails");
	ok(holds(dir, "fs/protected_regular", "2"), "sysctls: ... after trying every entry");

	fake_tree(dir);
	rm(dir, "kernel/yama");
	rm(dir, "debug");
	rm(dir, "kernel/kexec_load_disabled");
	is_int(boot_apply_sysctls_in(dir), 0, "sysctls: missing optional entries are fine");

	fake_tree(dir);
	rm(dir, "net/ipv6");
	is_int(boot_apply_sysctls_in(dir), 0, "sysctls: a kernel without IPv6 is fine");

	fake_tree(dir);
	rm(dir, "net/ipv6/conf/all");
	is_int(boot_apply_sysctls_in(dir), -ENOENT, "sysctls: with IPv6, its entries are must-have");

	run("rm -rf", dir);
}

/* --- modules -------------------------------------------------------------------- */

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	br_sha256_context h;
	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, out);
}

static void test_modules(void)
{
	static const char body[] = "\x7f" "ELF but not really a kernel module";
	static struct manifest m;
	struct manifest_module *mod = &m.modules[0];
	void *buf;
	size_t len;
	char dir[64], cmd[128];

	snprintf(dir, sizeof dir, "/tmp/dshield-mod-%d", (int)getpid());
	mkdir(dir, 0700);
	snprintf(mod->name, sizeof mod->name, "fake");
	snprintf(mod->path, sizeof mod->path, "%s/fake.ko", dir);
	int fd = open(mod->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok(fd >= 0 && write(fd, body, sizeof body - 1) == (ssize_t)(sizeof body - 1), "write fake.ko");
	if (fd >= 0)
		close(fd);
	sha256(body, sizeof body - 1, mod->sha256);

	is_int(modules_read_verified(mod, &buf, &len), 0, "verified read");
	ok(len == sizeof body - 1 && buf && memcmp(buf, body, len) == 0, "returns the file bytes");
	free(buf);

	mod->sha256[31] ^= 1;
	is_int(modules_read_verified(mod, &buf, &len), -EBADMSG, "hash mismatch is refused");
	ok(buf == NULL && len == 0, "no buffer on a refusal");
	m.nmodules = 1;
	mod->optional = true;
	is_int(modules_load(&m), -EBADMSG, "modules_load stops on a mismatch, even when optional");
	mod->sha256[31] ^= 1;

	/* The kernel gets the bytes and refuses them (ENOEXEC, or EPERM when
	 * module loading is off here): neither is "no device", so even an
	 * optional module fails. */
	int r = modules_load(&m);
	ok(r < 0 && r != -EBADMSG && r != -ENODEV && r != -ENXIO,
	   "the kernel's refusal is reported (%d)", r);

	m.nmodules = 0;
	is_int(modules_load(&m), 0, "no modules: nothing to do");

	snprintf(cmd, sizeof cmd, "%s/link.ko", dir);
	ok(symlink(mod->path, cmd) == 0, "symlink");
	snprintf(mod->path, sizeof mod->path, "%s", cmd);
	is_int(modules_read_verified(mod, &buf, &len), -ELOOP, "a symlink is refused");
	snprintf(mod->path, sizeof mod->path, "%s", dir);
	is_int(modules_read_verified(mod, &buf, &len), -EINVAL, "a directory is refused");
	snprintf(mod->path, sizeof mod->path, "%s/missing.ko", dir);
	is_int(modules_read_verified(mod, &buf, &len), -ENOENT, "a missing file is refused");
	snprintf(mod->path, sizeof mod->path, "%s/empty.ko", dir);
	fd = open(mod->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	is_int(modules_read_verified(mod, &buf, &len), -EINVAL, "an empty file is refused");

	run("rm -rf", dir);
}

int main(void)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (getenv("TEST_VERBOSE") == NULL && devnull >= 0)
		log_set_fd(devnull);
	test_console();
	test_mounts();
	test_sysctls();
	test_modules();
	return tap_done();
}
