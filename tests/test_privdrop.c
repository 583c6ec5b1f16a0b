/* tests/test_privdrop.c: the worker privilege drop, for real (needs root).
 *
 * Two children: one drops and checks itself without exec; the other drops
 * and execs this very binary by fd (execveat) inside the empty chroot, and
 * the new image checks itself. Both report one record per check through
 * the socket they keep on fd 3, as netd will.
 */
#include "init/privdrop.h"
#include "tests/child_report.h"
#include "tests/tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPORT_FD 3

extern char **environ;

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}

static void checks(int after_exec)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct cap[2];
	struct stat st;

	child_report_fd = REPORT_FD;
	child_report(getresuid(&ru, &eu, &su) == 0 && ru == 100 && eu == 100 && su == 100, 0,
			     "uids are 100");
	child_report(getresgid(&rg, &eg, &sg) == 0 && rg == 100 && eg == 100 && sg == 100, 0,
			     "gids are 100");
	child_report(getgroups(0, NULL) == 0, 0, "no supplementary groups");
	memset(cap, 0xff, sizeof cap);
	child_report(syscall(SYS_capget, &hdr, cap) == 0 &&
			     !cap[0].effective && !cap[0].permitted && !cap[0].inheritable &&
			     !cap[1].effective && !cap[1].permitted && !cap[1].inheritable, 0,
			     "no effective/permitted/inheritable capabilities");
	child_report(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0 &&
			     prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) == 0 &&
			     prctl(PR_CAPBSET_READ, 0, 0, 0, 0) == 0, 0, "bounding set empty");
	child_report(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_ADMIN, 0, 0) == 0, 0,
			     "no ambient capability");
	child_report(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, 0, "no_new_privs set");
	if (!after_exec)
		child_report(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, 0, "not dumpable");
	child_report(dir_is_empty("/"), 0, "/ is the empty chroot");
	child_report(stat("/proc", &st) != 0 && errno == ENOENT, errno, "/proc unreachable");
	child_report(stat("/tmp", &st) != 0 && errno == ENOENT, errno, "/tmp unreachable");
	child_report(mkdir("/x", 0700) != 0 && errno == EACCES, errno, "chroot not writable");
	child_report(setuid(0) != 0 && errno == EPERM, errno, "setuid(0) refused");
	int s = socket(AF_INET, SOCK_RAW, 1);
	child_report(s < 0 && errno == EPERM, s < 0 ? errno : 0, "raw socket refused");

	struct if_nameindex *ifs = if_nameindex();
	int only_lo = ifs != NULL && ifs[0].if_name != NULL &&
		      strcmp(ifs[0].if_name, "lo") == 0 && ifs[1].if_name == NULL;
	child_report(only_lo, ifs == NULL ? errno : 0, "network namespace has only lo");
	if (ifs != NULL)
		if_freenameindex(ifs);

	int extra = 0;
	for (int fd = 4; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			extra++;
	child_report(extra == 0, extra, "no fd open above 3");
	child_report(fcntl(REPORT_FD, F_GETFD) == 0, 0, "fd 3 open, not close-on-exec");

	if (after_exec) {
		int n = 0;
		for (char **e = environ; *e != NULL; e++)
			n++;
		const char *v = getenv("PRIVDROP_TEST");
		child_report(n == 1 && v != NULL && strcmp(v, "1") == 0, n,
			     "exec'd with exactly the given environment");
	}
}

#define KEEP ((1ull << CAP_KILL) | (1ull << CAP_NET_ADMIN))

static int collect(int sock, pid_t pid, const char *who)
{
	int st, n = child_collect(sock, who);

	if (waitpid(pid, &st, 0) != pid)
		exit(2);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child exited 0 (status 0x%x)", who, st);
	return n;
}

static void keep_checks(int after_exec);

/* A child dropped to uid 100, or (keep) to uid 0 keeping KEEP. */
static pid_t spawn(const char *root, char *const *argv, char *const *envp, int *sock, bool keep)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		exit(2);
	pid_t pid = child_fork();
	if (pid == 0) {
		struct privdrop_spec spec = {
			.root_dir = root, .uid = keep ? 0 : 100, .gid = keep ? 0 : 100,
			.caps_keep = keep ? KEEP : 0,
			.keep_fd = sv[1], .keep_fd_to = REPORT_FD, .new_netns = true,
			.argv = argv, .envp = envp,
		};
		int r = privdrop_worker(&spec);
		if (r < 0)
			_exit(10);
		if (keep)
			keep_checks(0);
		else
			checks(0);
		_exit(0);
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

static void test_prepare_root(const char *base)
{
	char path[256], file[300];
	struct stat st;

	snprintf(path, sizeof path, "%s/r1", base);
	is_int(privdrop_prepare_root(path), 0, "prepare_root creates a directory");
	memset(&st, 0, sizeof st);
	int sr = stat(path, &st);
	ok(sr == 0 && (st.st_mode & 07777) == 0555 && st.st_uid == 0,
	   "created 0555 root-owned (mode %o)", st.st_mode & 07777);
	if (chmod(path, 0755) != 0)
		exit(2);
	is_int(privdrop_prepare_root(path), 0, "prepare_root accepts an existing empty dir");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0555, "and makes it 0555");
	if (chmod(path, 0755) != 0)
		exit(2);
	snprintf(file, sizeof file, "%s/leftover", path);
	int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	is_int(privdrop_prepare_root(path), -ENOTEMPTY, "non-empty directory refused");
	unlink(file);
	if (chown(path, 1, 1) != 0)
		exit(2);
	is_int(privdrop_prepare_root(path), -EPERM, "directory not owned by root refused");
	rmdir(path);

	struct privdrop_spec bad = { .root_dir = path, .uid = 0, .gid = 100, .keep_fd = -1 };
	is_int(privdrop_worker(&bad), -EINVAL, "uid 0 refused");
}

/* uid 0 keeping CAP_KILL and CAP_NET_ADMIN (as sandboxd keeps its set):
 * exactly those, before and (static build) after the exec. */

static void keep_checks(int after_exec)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	child_report_fd = REPORT_FD;
	child_report(privdrop_verify_keep(KEEP) == 0, 0, after_exec ?
		     "after the exec, exactly the kept capabilities" :
		     "exactly the kept capabilities (verify_keep)");
	memset(data, 0, sizeof data);
	child_report(syscall(SYS_capget, &hdr, data) == 0 && data[0].effective == (uint32_t)KEEP &&
		     data[0].inheritable == 0 && data[1].effective == 0, 0,
		     "capget effective = the kept set");
	child_report(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0, 0,
		     "CAP_SYS_ADMIN is out of the bounding set");
	child_report(umount2("/", MNT_DETACH) != 0 && errno == EPERM, errno,
		     "a mount operation is refused (EPERM)");
	child_report(privdrop_verify(0, 0) < 0, 0, "privdrop_verify (no capabilities) fails");
	child_report(getuid() == 0 && geteuid() == 0, 0, "still uid 0");
}

/* A view's bind of a directory whose subdirectory is a mount of its own
 * (the VM's /run/layers/NAME): without PRIVDROP_BIND_REC the child sees an
 * empty directory there, with it the submount's file (sandboxd found no
 * runtime in the VM so). */
static void test_bind_rec(const char *base, const char *root)
{
	char src[128], sub[128], file[128];
	bool rec_seen[2] = { false, false };

	snprintf(src, sizeof src, "%s/layers", base);
	snprintf(sub, sizeof sub, "%s/layers/python", base);
	snprintf(file, sizeof file, "%s/layers/python/marker", base);
	if (mkdir(src, 0755) != 0 || mkdir(sub, 0755) != 0 ||
	    mount("t", sub, "tmpfs", 0, "size=64k") != 0) {
		ok(0, "bind: setup (a tmpfs below a directory): %s", strerror(errno));
		return;
	}
	int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	for (int rec = 0; rec < 2; rec++) {
		struct privdrop_bind b = { src, "/layers", rec ? PRIVDROP_BIND_REC : 0 };
		int st = 0;
		pid_t pid = fork();
		if (pid == 0) {
			struct privdrop_spec spec = {
				.root_dir = root, .uid = 100, .gid = 100, .keep_fd = -1,
				.binds = &b, .nbinds = 1,
			};
			struct stat sb;
			if (privdrop_worker(&spec) < 0)
				_exit(10);
			_exit(stat("/layers/python/marker", &sb) == 0 ? 0 : 1);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) > 1) {
			ok(0, "bind: the child ran (status 0x%x)", st);
			continue;
		}
		rec_seen[rec] = WEXITSTATUS(st) == 0;
	}
	ok(!rec_seen[0], "bind without PRIVDROP_BIND_REC: the submount is not in the view");
	ok(rec_seen[1], "bind with PRIVDROP_BIND_REC: the submount's file is in the view");
	umount2(sub, MNT_DETACH);
	unlink(file);
	rmdir(sub);
	rmdir(src);
}

int main(int argc, char **argv)
{
	char base[] = "/tmp/privdrop.XXXXXX", root[64];
	int sock, n;
	pid_t pid;

	if (argc == 2 && strcmp(argv[1], "--child") == 0) {
		checks(1);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--child-keep") == 0) {
		keep_checks(1);
		return 0;
	}
	if (geteuid() != 0) {
		ok(1, "# skip privilege drop tests need root");
		return tap_done();
	}
	if (mkdtemp(base) == NULL)
		exit(2);
	snprintf(root, sizeof root, "%s/root", base);

	test_prepare_root(base);

	pid = spawn(root, NULL, NULL, &sock, false);
	n = collect(sock, pid, "drop");
	close(sock);
	ok(n >= 15, "drop: %d checks reported", n);

	/* A dynamically linked build (the sanitizer variant) cannot run in
	 * an empty chroot: its loader is not there. dshield-init is static. */
	if (getauxval(AT_BASE) != 0) {
		ok(1, "# skip exec inside the chroot: this test binary is dynamically linked");
	} else {
		char *cargv[] = { "test_privdrop", "--child", NULL };
		char *cenv[] = { "PRIVDROP_TEST=1", NULL };
		pid = spawn(root, cargv, cenv, &sock, false);
		n = collect(sock, pid, "exec");
		close(sock);
		ok(n >= 15, "exec: %d checks reported (0: the exec failed)", n);
	}

	{
		struct privdrop_spec both = { .root_dir = root, .uid = 0, .gid = 0, .uid0_nocaps = true,
					      .caps_keep = KEEP, .keep_fd = -1 };
		struct privdrop_spec other = { .root_dir = root, .uid = 100, .gid = 100,
					       .caps_keep = KEEP, .keep_fd = -1 };
		is_int(privdrop_worker(&both), -EINVAL, "keep: with uid0_nocaps refused");
		is_int(privdrop_worker(&other), -EINVAL, "keep: with a uid other than 0 refused");
	}
	pid = spawn(root, NULL, NULL, &sock, true);
	n = collect(sock, pid, "keep");
	close(sock);
	ok(n == 6, "keep: %d checks reported", n);
	if (getauxval(AT_BASE) == 0) {
		char *cargv[] = { "test_privdrop", "--child-keep", NULL };
		char *cenv[] = { NULL };
		pid = spawn(root, cargv, cenv, &sock, true);
		n = collect(sock, pid, "keep+exec");
		close(sock);
		ok(n == 6, "keep+exec: %d checks reported (0: the exec failed)", n);
	}

	test_bind_rec(base, root);

	rmdir(root);
	rmdir(base);
	return tap_done();
}
