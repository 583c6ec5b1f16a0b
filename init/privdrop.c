/* init/privdrop.c: see privdrop.h. */
#include "init/privdrop.h"
#include "lib/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Capabilities are numbered below 64 in every kernel we can meet; asking the
 * kernel about each number (EINVAL = does not exist) copes with a kernel
 * newer than our headers. */
#define CAP_NUM_MAX 64

#define FAIL(step, err) fail_at((step), (err))

static int fail_at(const char *step, int err)
{
	dlog("privdrop: %s failed: %s", step, strerror(err));
	return -err;
}

int privdrop_prepare_root(const char *dir)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int fd;

	if (mkdir(dir, 0555) != 0 && errno != EEXIST)
		return FAIL("mkdir chroot directory", errno);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return FAIL("open chroot directory", errno);
	if (fstat(fd, &st) != 0) {
		int e0 = errno;
		close(fd);
		return FAIL("stat chroot directory", e0);
	}
	/* Owned by root, so the worker's uid can never chmod it writable. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || st.st_gid != 0) {
		close(fd);
		dlog("privdrop: %s must be a directory owned by root:root", dir);
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0555 && fchmod(fd, 0555) != 0) {
		int e0 = errno;
		close(fd);
		return FAIL("chmod 0555 chroot directory", e0);
	}
	d = fdopendir(fd);
	if (d == NULL) {
		int e0 = errno;
		close(fd);
		return FAIL("read chroot directory", e0);
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			dlog("privdrop: %s is not empty (found '%s')", dir, e->d_name);
			closedir(d);
			return -ENOTEMPTY;
		}
	}
	closedir(d);
	return 0;
}

static int reset_signals(void)
{
	sigset_t none;
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* EINVAL for the signals libc reserves for itself: harmless */
		sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		return FAIL("sigprocmask", errno);
	return 0;
}

/* Closes every fd in [lo, hi]. */
static int close_fds(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return 0;
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return FAIL("close_range", errno);
	/* Kernels before 5.9: close what the limit lets us have. */
	struct rlimit rl;
	unsigned max = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 1048576)
		max = (unsigned)rl.rlim_cur;
	for (unsigned fd = lo; fd <= hi && fd < max; fd++)
		close((int)fd);
	return 0;
}

/* Step 2. */
static int arrange_fds(const struct privdrop_spec *s)
{
	int devnull;

	if (s->keep_fd >= 0) {
		if (s->keep_fd_to < 3)
			return FAIL("fd layout (target below 3)", EINVAL);
		if (s->keep_fd != s->keep_fd_to) {
			if (dup2(s->keep_fd, s->keep_fd_to) < 0)
				return FAIL("dup2 imsg socket", errno);
		} else if (fcntl(s->keep_fd, F_SETFD, 0) != 0) {
			return FAIL("clear FD_CLOEXEC on imsg socket", errno);
		}
		if (close_fds(3, (unsigned)s->keep_fd_to - 1) < 0 ||
		    close_fds((unsigned)s->keep_fd_to + 1, ~0u) < 0)
			return -EBADF;
	} else if (close_fds(3, ~0u) < 0) {
		return -EBADF;
	}
	/* Workers never read stdin; on the console it is the host's keyboard. */
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull >= 0) {
		if (devnull != 0) {
			dup2(devnull, 0);
			close(devnull);
		} else {
			fcntl(0, F_SETFD, 0);
		}
	}
	return 0;
}

static int capset_zero(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &hdr, data) != 0)
		return FAIL("capset", errno);
	return 0;
}

/* Step 6: needs CAP_SETPCAP, so it comes before the uid change. */
static int drop_bounding_and_ambient(uint64_t keep)
{
	for (int cap = 0; cap < CAP_NUM_MAX; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
			return FAIL("PR_CAPBSET_DROP", errno);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		return FAIL("PR_CAP_AMBIENT_CLEAR_ALL", errno);
	return 0;
}

static int capset_to(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof data);
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		data[i].effective = data[i].permitted = (uint32_t)(keep >> (32 * i));
	if (syscall(SYS_capset, &hdr, data) != 0)
		return FAIL("capset", errno);
	return 0;
}

static int drop_ids(uid_t uid, gid_t gid, uint64_t keep)
{
	if (setgroups(0, NULL) != 0)
		return FAIL("setgroups", errno);
	if (setresgid(gid, gid, gid) != 0)
		return FAIL("setresgid", errno);
	if (setresuid(uid, uid, uid) != 0)
		return FAIL("setresuid", errno);
	return keep ? capset_to(keep) : capset_zero();
}

/* The securebits of a uid-0 worker: root gets no capabilities at exec,
 * none may be kept or raised ambient, and none of it can be undone. */
#define UID0_SECUREBITS (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | \
			 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | \
			 SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/* The securebits of a uid-0 worker that keeps capabilities: root still
 * gets its (bounded) capabilities at exec, but none can be kept across a
 * uid change or raised ambient, and that cannot be undone. */
#define KEEP_SECUREBITS (SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | \
			 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/* Step 7 for uid0_nocaps; needs CAP_SETPCAP, so before step 6. */
static int lock_securebits(unsigned long bits)
{
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0)
		return FAIL("PR_SET_SECUREBITS", errno);
	return 0;
}

/* Creates path (and its parents) inside the view; the last component is a
 * directory when dir, else an empty file (a bind's mount point). */
static int make_mountpoint(char *path, bool dir)
{
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0555);
		*p = '/';
		if (r != 0 && errno != EEXIST)
			return -errno;
	}
	if (dir)
		return mkdir(path, 0555) == 0 || errno == EEXIST ? 0 : -errno;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	return 0;
}

static int bind_one(const char *root, const struct privdrop_bind *b)
{
	char dst[4096];
	struct stat st;
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC;
	int r;

	if (b->src == NULL || b->dst == NULL || b->dst[0] != '/')
		return FAIL("bind (no source or relative target)", EINVAL);
	if (stat(b->src, &st) != 0) {
		if (errno == ENOENT && (b->flags & PRIVDROP_BIND_OPTIONAL))
			return 0;
		dlog("privdrop: bind source %s: %s", b->src, strerror(errno));
		return -errno;
	}
	if ((size_t)snprintf(dst, sizeof dst, "%s%s", root, b->dst) >= sizeof dst)
		return FAIL("bind target path", ENAMETOOLONG);
	if ((r = make_mountpoint(dst, S_ISDIR(st.st_mode))) < 0) {
		dlog("privdrop: mount point %s: %s", dst, strerror(-r));
		return r;
	}
	if (mount(b->src, dst, NULL, MS_BIND | (b->flags & PRIVDROP_BIND_REC ? MS_REC : 0),
		  NULL) != 0) {
		dlog("privdrop: bind %s on %s: %s", b->src, dst, strerror(errno));
		return -errno;
	}
	if (!(b->flags & PRIVDROP_BIND_RW))
		fl |= MS_RDONLY;
	if (!(b->flags & PRIVDROP_BIND_DEV))
		fl |= MS_NODEV;
	if (mount(NULL, dst, NULL, fl, NULL) != 0) {
		dlog("privdrop: remount %s: %s", dst, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Step 4b: the worker's root becomes a read-only tmpfs holding the binds,
 * in a mount namespace of its own (nothing propagates back to init). */
static int make_view(const struct privdrop_spec *s)
{
	int r;

	if (s->nbinds > PRIVDROP_BINDS_MAX)
		return FAIL("view (too many binds)", E2BIG);
	if (unshare(CLONE_NEWNS) != 0)
		return FAIL("unshare(CLONE_NEWNS)", errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return FAIL("make / private", errno);
	if (mount("view", s->root_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0555,size=64k,nr_inodes=128") != 0)
		return FAIL("mount the view's tmpfs", errno);
	for (size_t i = 0; i < s->nbinds; i++)
		if ((r = bind_one(s->root_dir, &s->binds[i])) < 0)
			return r;
	if (mount(NULL, s->root_dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
		  MS_NOEXEC, NULL) != 0)
		return FAIL("remount the view read-only", errno);
	return 0;
}

/* The kept capabilities of the calling process, and whether any set
 * other than permitted/effective/bounding holds one. */
int privdrop_verify_keep(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	uid_t ru, eu, su;
	uint64_t eff = 0, perm = 0, inh = 0;
	int bits;

	if (getresuid(&ru, &eu, &su) != 0 || ru || eu || su || getgroups(0, NULL) != 0) {
		dlog("privdrop: verify: a keeping worker must be uid 0 without groups");
		return -EPERM;
	}
	memset(data, 0xff, sizeof data);
	if (syscall(SYS_capget, &hdr, data) != 0)
		return FAIL("verify: capget", errno);
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		eff |= (uint64_t)data[i].effective << (32 * i);
		perm |= (uint64_t)data[i].permitted << (32 * i);
		inh |= (uint64_t)data[i].inheritable << (32 * i);
	}
	if (eff != keep || perm != keep || inh != 0) {
		dlog("privdrop: verify: capabilities eff %#llx perm %#llx inh %#llx, want %#llx",
		     (unsigned long long)eff, (unsigned long long)perm, (unsigned long long)inh,
		     (unsigned long long)keep);
		return -EPERM;
	}
	for (int cap = 0; cap < CAP_NUM_MAX; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if ((in == 1) != ((keep >> cap) & 1) && !(in < 0 && !((keep >> cap) & 1))) {
			dlog("privdrop: verify: capability %d %s the bounding set", cap,
			     in == 1 ? "still in" : "missing from");
			return -EPERM;
		}
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1) {
			dlog("privdrop: verify: capability %d ambient", cap);
			return -EPERM;
		}
	}
	bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	if (bits < 0 || ((unsigned)bits & KEEP_SECUREBITS) != KEEP_SECUREBITS ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		dlog("privdrop: verify: securebits %#x or no_new_privs not set", bits);
		return -EPERM;
	}
	return 0;
}

int privdrop_verify(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (getresuid(&ru, &eu, &su) != 0 || ru != uid || eu != uid || su != uid) {
		dlog("privdrop: verify: uids are %u/%u/%u, want %u", ru, eu, su, uid);
		return -EPERM;
	}
	if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid) {
		dlog("privdrop: verify: gids are %u/%u/%u, want %u", rg, eg, sg, gid);
		return -EPERM;
	}
	if (getgroups(0, NULL) != 0) {
		dlog("privdrop: verify: supplementary groups remain");
		return -EPERM;
	}
	memset(data, 0xff, sizeof data);
	if (syscall(SYS_capget, &hdr, data) != 0)
		return FAIL("verify: capget", errno);
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		if (data[i].effective || data[i].permitted || data[i].inheritable) {
			dlog("privdrop: verify: capabilities remain (word %d: eff %#x perm %#x inh %#x)",
			     i, data[i].effective, data[i].permitted, data[i].inheritable);
			return -EPERM;
		}
	}
	for (int cap = 0; cap < CAP_NUM_MAX; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (r == 1) {
			dlog("privdrop: verify: capability %d still in the bounding set", cap);
			return -EPERM;
		}
		r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);
		if (r == 1) {
			dlog("privdrop: verify: capability %d still ambient", cap);
			return -EPERM;
		}
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		dlog("privdrop: verify: no_new_privs is not set");
		return -EPERM;
	}
	if (uid == 0) {
		int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
		if (bits < 0 || ((unsigned)bits & UID0_SECUREBITS) != UID0_SECUREBITS) {
			dlog("privdrop: verify: uid 0 without locked securebits (%#x)", bits);
			return -EPERM;
		}
		return 0;
	}
	if (setresuid(0, 0, 0) == 0 || errno != EPERM) {
		dlog("privdrop: verify: setresuid(0) was not refused");
		return -EPERM;
	}
	return 0;
}

int privdrop_worker(const struct privdrop_spec *s)
{
	struct stat root_st, now_st;
	struct rlimit no_core = { 0, 0 };
	int exe = -1, r;

	bool uid0 = (s->uid0_nocaps || s->caps_keep) && s->uid == 0 && s->gid == 0;

	if (((s->uid == 0 || s->gid == 0) && !uid0) || (s->uid0_nocaps && s->caps_keep) ||
	    (s->caps_keep && (s->uid != 0 || s->gid != 0)) || s->root_dir == NULL)
		return FAIL("spec (root uid/gid or no chroot directory)", EINVAL);
	if ((r = reset_signals()) < 0)
		return r;
	if ((r = arrange_fds(s)) < 0)
		return r;
	if (s->argv != NULL) {
		/* O_RDONLY, not O_PATH: execveat needs an fd it can read. */
		exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
		if (exe < 0)
			return FAIL("open /proc/self/exe", errno);
	}
	if ((r = privdrop_prepare_root(s->root_dir)) < 0)
		return r;
	if (stat(s->root_dir, &root_st) != 0)
		return FAIL("stat chroot directory", errno);
	if (s->new_netns && unshare(CLONE_NEWNET) != 0)
		return FAIL("unshare(CLONE_NEWNET)", errno);
	if (s->nbinds > 0) {
		if ((r = make_view(s)) < 0)
			return r;
		if (stat(s->root_dir, &root_st) != 0)
			return FAIL("stat the view", errno);
	}
	if (chroot(s->root_dir) != 0)
		return FAIL("chroot", errno);
	if (chdir("/") != 0)
		return FAIL("chdir /", errno);
	if (stat("/", &now_st) != 0 || now_st.st_dev != root_st.st_dev ||
	    now_st.st_ino != root_st.st_ino)
		return FAIL("chroot check (/ is not the chroot directory)", EPERM);
	if (s->uid0_nocaps && (r = lock_securebits(UID0_SECUREBITS)) < 0)
		return r;
	if (s->caps_keep && (r = lock_securebits(KEEP_SECUREBITS)) < 0)
		return r;
	if ((r = drop_bounding_and_ambient(s->caps_keep)) < 0)
		return r;
	if ((r = drop_ids(s->uid, s->gid, s->caps_keep)) < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return FAIL("PR_SET_NO_NEW_PRIVS", errno);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return FAIL("PR_SET_DUMPABLE", errno);
	if (setrlimit(RLIMIT_CORE, &no_core) != 0)
		return FAIL("setrlimit(RLIMIT_CORE)", errno);
	if ((r = s->caps_keep ? privdrop_verify_keep(s->caps_keep) : privdrop_verify(s->uid, s->gid)) < 0)
		return r;
	if (s->argv == NULL)
		return 0;
	syscall(SYS_execveat, exe, "", s->argv, s->envp, AT_EMPTY_PATH);
	return FAIL("execveat", errno);
}
