/* tests/test_cgroup.c: sandboxd's cgroup v2 file logic against a fake tree
 * of plain files (the real hierarchy: test_sandbox). What is checked is
 * what the code writes and how it reads: the controllers line, the limit
 * files' exact contents, the keyed event files (good, missing, malformed),
 * cgroup.kill, names, and that a tree which is not cgroup2 never claims to
 * enforce.
 */
#include "sandboxd/cgroup.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[] = "/tmp/cgroup.XXXXXX";

static void put(const char *dir, const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		printf("Bail out! %s: %s\n", p, strerror(errno));
		exit(2);
	}
	close(fd);
}

static const char *get(const char *dir, const char *name)
{
	static char buf[256];
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (file_read(p, buf, sizeof buf - 1) < 0)
		return "(unreadable)";
	return buf;
}

static void rm(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	unlink(p);
}

static const char *const limit_files[] = {
	"memory.max", "memory.swap.max", "pids.max", "cpu.max", "cgroup.subtree_control",
	"cgroup.kill", "memory.events", "pids.events", "cgroup.events",
};

static void test_keyed(void)
{
	uint64_t v = 7;
	const char *t = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";

	is_int(cg_keyed_get(t, "oom", &v), 0, "keyed: oom found");
	is_int(v, 3, "keyed: oom is 3, not oom_kill's or oom_group_kill's value");
	is_int(cg_keyed_get(t, "oom_kill", &v), 0, "keyed: oom_kill found");
	is_int(v, 2, "keyed: oom_kill is 2");
	is_int(cg_keyed_get(t, "max", &v), 0, "keyed: max found");
	is_int(v, 12, "keyed: max is 12");
	is_int(cg_keyed_get(t, "oom_", &v), -ENOENT, "keyed: a prefix of a key is not a key");
	is_int(cg_keyed_get("populated 1", "populated", &v), 0, "keyed: last line without newline");
	is_int(v, 1, "keyed: populated is 1");
	is_int(cg_keyed_get("max \n", "max", &v), -EINVAL, "keyed: empty value refused");
	is_int(cg_keyed_get("max 1x\n", "max", &v), -EINVAL, "keyed: non-digit refused");
	is_int(cg_keyed_get("max -1\n", "max", &v), -EINVAL, "keyed: sign refused");
	is_int(cg_keyed_get("max 18446744073709551615\n", "max", &v), 0, "keyed: UINT64_MAX read");
	ok(v == UINT64_MAX, "keyed: value UINT64_MAX");
	is_int(cg_keyed_get("max 18446744073709551616\n", "max", &v), -EINVAL, "keyed: overflow refused");
	is_int(cg_keyed_get("", "max", &v), -ENOENT, "keyed: empty text");
}

int main(void)
{
	char err[ERRBUF_LEN], root[64], fn[96], w[128];
	struct cg_root cr;
	struct cg_events ev;
	int fnfd, wfd;

	test_keyed();
	if (mkdtemp(base) == NULL)
		return 2;
	snprintf(root, sizeof root, "%s/root", base);

	err[0] = '\0';
	ok(cg_root_open(&cr, root, err, sizeof err) == -ENOENT && strstr(err, root) != NULL,
	   "a missing root is an error, named (%s)", err);
	if (mkdir(root, 0755) != 0)
		return 2;
	put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put(root, "cgroup.subtree_control", "");
	is_int(cg_root_open(&cr, root, err, sizeof err), 0, "a fake root opens");
	is_int(cr.controllers, CG_CTRL_NEEDED, "cpu, memory and pids found among other controllers");
	ok(!cr.cgroup2, "a tmpfs directory is not cgroup2");
	ok(!cr.enforced && strstr(err, "not enforced") != NULL,
	   "so it does not claim to enforce, and says so (%s)", err);
	is_str(get(root, "cgroup.subtree_control"), "", "and writes no controller into it");
	cg_root_close(&cr);
	put(root, "cgroup.controllers", "cpuset io pids\n");
	cg_root_open(&cr, root, err, sizeof err);
	is_int(cr.controllers, CG_CTRL_PIDS, "controllers: only pids");
	cg_root_close(&cr);
	put(root, "cgroup.controllers", "");
	cg_root_open(&cr, root, err, sizeof err);
	is_int(cr.controllers, 0, "controllers: none (the host's cgroup2)");

	/* function and worker cgroups */
	is_int(cg_create(cr.fd, "..", false, &fnfd, err, sizeof err), -EINVAL, "name '..' refused");
	is_int(cg_create(cr.fd, "a/b", false, &fnfd, err, sizeof err), -EINVAL, "name with '/' refused");
	is_int(cg_create(cr.fd, "", false, &fnfd, err, sizeof err), -EINVAL, "empty name refused");
	is_int(cg_create(cr.fd, "x\n", false, &fnfd, err, sizeof err), -EINVAL, "name with newline refused");
	is_int(cg_create(cr.fd, "fn-a", true, &fnfd, err, sizeof err), -ENOENT,
	       "enable on a fake cgroup without subtree_control fails, named (%s)", err);
	is_int(cg_create(cr.fd, "fn-a", false, &fnfd, err, sizeof err), 0, "function cgroup made");
	snprintf(fn, sizeof fn, "%s/fn-a", root);
	put(fn, "cgroup.subtree_control", "");
	close(fnfd);
	is_int(cg_create(cr.fd, "fn-a", true, &fnfd, err, sizeof err), 0, "an existing one is reused, enabled");
	is_str(get(fn, "cgroup.subtree_control"), "+cpu +memory +pids", "subtree_control written whole");
	is_int(cg_create(fnfd, "w-1", false, &wfd, err, sizeof err), 0, "worker cgroup made");
	snprintf(w, sizeof w, "%s/w-1", fn);
	struct cg_limits lim = { .memory_max = 64u << 20, .pids_max = 32, .cpu_quota_us = 50000 };
	is_int(cg_set_limits(wfd, &lim, err, sizeof err), -ENOENT,
	       "limits on a cgroup without memory.max fail (%s)", err);
	for (size_t i = 0; i < sizeof limit_files / sizeof limit_files[0]; i++)
		put(w, limit_files[i], "stale content that is longer than any value\n");
	is_int(cg_set_limits(wfd, &lim, err, sizeof err), 0, "limits written");
	is_str(get(w, "memory.max"), "67108864", "memory.max in bytes");
	is_str(get(w, "memory.swap.max"), "0", "memory.swap.max 0");
	is_str(get(w, "pids.max"), "32", "pids.max");
	is_str(get(w, "cpu.max"), "50000 100000", "cpu.max quota and default period");
	struct cg_limits none = { .cpu_period_us = 250000 };
	is_int(cg_set_limits(wfd, &none, err, sizeof err), 0, "no limits written");
	is_str(get(w, "memory.max"), "max", "memory.max max");
	is_str(get(w, "pids.max"), "max", "pids.max max");
	is_str(get(w, "cpu.max"), "max 250000", "cpu.max max with its period");
	rm(w, "memory.swap.max");
	is_int(cg_set_limits(wfd, &lim, err, sizeof err), 0, "no memory.swap.max (a kernel without swap) is fine");
	rm(w, "pids.max");
	is_int(cg_set_limits(wfd, &lim, err, sizeof err), -ENOENT, "no pids.max is an error");
	put(w, "pids.max", "");

	/* events */
	put(w, "memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n");
	put(w, "pids.events", "max 3\n");
	is_int(cg_read_events(wfd, &ev, err, sizeof err), 0, "events read");
	ok(ev.oom == 2 && ev.oom_kill == 1 && ev.memory_max == 5 && ev.pids_max == 3,
	   "events: oom 2, oom_kill 1, max 5, pids max 3");
	put(w, "memory.events", "low 0\nhigh 0\nmax 5\noom 2\n");
	ok(cg_read_events(wfd, &ev, err, sizeof err) == -ENOENT && strstr(err, "missing") != NULL,
	   "events: oom_kill missing is an error (%s)", err);
	put(w, "memory.events", "max 5\noom 2\noom_kill x\n");
	ok(cg_read_events(wfd, &ev, err, sizeof err) == -EINVAL && strstr(err, "malformed") != NULL,
	   "events: malformed is an error (%s)", err);
	put(w, "memory.events", "max 5\noom 2\noom_kill 1\n");
	put(w, "pids.events", "");
	is_int(cg_read_events(wfd, &ev, err, sizeof err), -ENOENT, "events: pids max missing is an error");
	char big[1500];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	put(w, "pids.events", big);
	is_int(cg_read_events(wfd, &ev, err, sizeof err), -EFBIG, "events: an oversized file is refused");

	put(w, "cgroup.events", "populated 1\nfrozen 0\n");
	is_int(cg_populated(wfd), 1, "populated 1");
	put(w, "cgroup.events", "populated 0\nfrozen 0\n");
	is_int(cg_populated(wfd), 0, "populated 0");
	put(w, "cgroup.kill", "");
	is_int(cg_kill(wfd, err, sizeof err), 0, "kill written");
	is_str(get(w, "cgroup.kill"), "1", "cgroup.kill holds 1");

	close(wfd);
	is_int(cg_remove(fnfd, "w-1", err, sizeof err), -ENOTEMPTY, "remove of a fake cgroup with files fails, named");
	for (size_t i = 0; i < sizeof limit_files / sizeof limit_files[0]; i++)
		rm(w, limit_files[i]);
	is_int(cg_remove(fnfd, "w-1", err, sizeof err), 0, "worker cgroup removed");
	is_int(cg_remove(fnfd, "../x", err, sizeof err), -EINVAL, "remove: bad name refused");
	close(fnfd);
	rm(fn, "cgroup.subtree_control");
	is_int(cg_remove(cr.fd, "fn-a", err, sizeof err), 0, "function cgroup removed");
	cg_root_close(&cr);
	rm(root, "cgroup.controllers");
	rm(root, "cgroup.subtree_control");
	rmdir(root);
	ok(rmdir(base) == 0, "fake tree removed");
	return tap_done();
}
