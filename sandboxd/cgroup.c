/* sandboxd/cgroup.c: see cgroup.h. */
#include "sandboxd/cgroup.h"
#include "lib/errbuf.h"
#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* Every cgroup file this code reads is a few lines. */
#define CG_FILE_MAX 1024

/* One value per write(): cgroupfs parses each write as a whole value. */
static int cg_write(int dirfd, const char *file, const char *val, char *err, size_t cap)
{
	size_t len = strlen(val);
	int fd = openat(dirfd, file, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errbuf_set(err, cap, -errno, "cgroup: open %s: %s", file, strerror(errno));
	ssize_t n = write(fd, val, len);
	int e = errno;
	close(fd);
	if (n < 0)
		return errbuf_set(err, cap, -e, "cgroup: write '%s' to %s: %s", val, file, strerror(e));
	if ((size_t)n != len)
		return errbuf_set(err, cap, -EIO, "cgroup: short write to %s", file);
	return 0;
}

static long cg_read(int dirfd, const char *file, char *buf, size_t bufsz)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	long n = file_read_fd(fd, buf, bufsz - 1);
	close(fd);
	return n;
}

/* cgroup.controllers: space-separated names on one line. */
static unsigned parse_controllers(const char *s)
{
	unsigned m = 0;

	while (*s != '\0') {
		size_t n;
		while (*s == ' ' || *s == '\n')
			s++;
		n = strcspn(s, " \n");
		if (n == 3 && memcmp(s, "cpu", 3) == 0)
			m |= CG_CTRL_CPU;
		else if (n == 6 && memcmp(s, "memory", 6) == 0)
			m |= CG_CTRL_MEMORY;
		else if (n == 4 && memcmp(s, "pids", 4) == 0)
			m |= CG_CTRL_PIDS;
		s += n;
	}
	return m;
}

int cg_root_open(struct cg_root *r, const char *path, char *err, size_t cap)
{
	char buf[CG_FILE_MAX];
	struct statfs sf;
	long n;

	memset(r, 0, sizeof *r);
	r->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return errbuf_set(err, cap, -errno, "cgroup root %s: %s", path, strerror(errno));
	r->cgroup2 = fstatfs(r->fd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
	n = cg_read(r->fd, "cgroup.controllers", buf, sizeof buf);
	if (n >= 0)
		r->controllers = parse_controllers(buf);
	if (!r->cgroup2 || (r->controllers & CG_CTRL_NEEDED) != CG_CTRL_NEEDED) {
		errbuf_set(err, cap, 0, "cgroup root %s: %s; limits are not enforced", path,
			   !r->cgroup2 ? "not a cgroup2 filesystem" :
			   "cpu, memory or pids controller missing");
		return 0;
	}
	/* Fails while a process sits in the root itself ("no internal
	 * processes"): the delegated root holds none, only function cgroups. */
	if (cg_write(r->fd, "cgroup.subtree_control", "+cpu +memory +pids", err, cap) < 0)
		return 0;   /* not enforcing; err says why */
	r->enforced = true;
	return 0;
}

void cg_root_close(struct cg_root *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->enforced = false;
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789_.-") == n;
}

int cg_create(int parent_fd, const char *name, bool enable, int *fd, char *err, size_t cap)
{
	int r;

	*fd = -1;
	if (!name_ok(name))
		return errbuf_set(err, cap, -EINVAL, "cgroup: bad name");
	if (mkdirat(parent_fd, name, 0755) != 0 && errno != EEXIST)
		return errbuf_set(err, cap, -errno, "cgroup: mkdir %s: %s", name, strerror(errno));
	*fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return errbuf_set(err, cap, -errno, "cgroup: open %s: %s", name, strerror(errno));
	if (enable && (r = cg_write(*fd, "cgroup.subtree_control", "+cpu +memory +pids",
				    err, cap)) < 0) {
		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

static void fmt_max(char *buf, size_t n, uint64_t v)
{
	if (v == 0)
		snprintf(buf, n, "max");
	else
		snprintf(buf, n, "%" PRIu64, v);
}

int cg_set_limits(int fd, const struct cg_limits *l, char *err, size_t cap)
{
	char v[48];
	int r;

	fmt_max(v, sizeof v, l->memory_max);
	if ((r = cg_write(fd, "memory.max", v, err, cap)) < 0)
		return r;
	/* No swap, so memory.max is the whole budget. A kernel built
	 * without swap has no such file and nothing to limit. */
	r = cg_write(fd, "memory.swap.max", "0", err, cap);
	if (r < 0 && r != -ENOENT)
		return r;
	fmt_max(v, sizeof v, l->pids_max);
	if ((r = cg_write(fd, "pids.max", v, err, cap)) < 0)
		return r;
	uint32_t period = l->cpu_period_us ? l->cpu_period_us : 100000;
	if (l->cpu_quota_us == 0)
		snprintf(v, sizeof v, "max %" PRIu32, period);
	else
		snprintf(v, sizeof v, "%" PRIu32 " %" PRIu32, l->cpu_quota_us, period);
	return cg_write(fd, "cpu.max", v, err, cap);
}

int cg_keyed_get(const char *text, const char *key, uint64_t *val)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == ' ') {
			uint64_t v = 0;
			size_t i = klen + 1;
			if (i == len)
				return -EINVAL;
			for (; i < len; i++) {
				uint64_t d = (uint64_t)(p[i] - '0');
				if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - d) / 10)
					return -EINVAL;
				v = v * 10 + d;
			}
			*val = v;
			return 0;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return -ENOENT;
}

int cg_read_events(int fd, struct cg_events *ev, char *err, size_t cap)
{
	char buf[CG_FILE_MAX];
	long n;
	int r;

	memset(ev, 0, sizeof *ev);
	if ((n = cg_read(fd, "memory.events", buf, sizeof buf)) < 0)
		return errbuf_set(err, cap, (int)n, "cgroup: read memory.events: %s", strerror((int)-n));
	if ((r = cg_keyed_get(buf, "oom", &ev->oom)) < 0 ||
	    (r = cg_keyed_get(buf, "oom_kill", &ev->oom_kill)) < 0 ||
	    (r = cg_keyed_get(buf, "max", &ev->memory_max)) < 0)
		return errbuf_set(err, cap, r, "cgroup: memory.events: oom, oom_kill or max %s",
				  r == -ENOENT ? "missing" : "malformed");
	if ((n = cg_read(fd, "pids.events", buf, sizeof buf)) < 0)
		return errbuf_set(err, cap, (int)n, "cgroup: read pids.events: %s", strerror((int)-n));
	if ((r = cg_keyed_get(buf, "max", &ev->pids_max)) < 0)
		return errbuf_set(err, cap, r, "cgroup: pids.events: max %s",
				  r == -ENOENT ? "missing" : "malformed");
	return 0;
}

int cg_populated(int fd)
{
	char buf[CG_FILE_MAX];
	uint64_t v;
	long n = cg_read(fd, "cgroup.events", buf, sizeof buf);
	int r;

	if (n < 0)
		return (int)n;
	if ((r = cg_keyed_get(buf, "populated", &v)) < 0)
		return r;
	return v != 0;
}

int cg_kill(int fd, char *err, size_t cap)
{
	return cg_write(fd, "cgroup.kill", "1", err, cap);
}

int cg_remove(int parent_fd, const char *name, char *err, size_t cap)
{
	if (!name_ok(name))
		return errbuf_set(err, cap, -EINVAL, "cgroup: bad name");
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) != 0)
		return errbuf_set(err, cap, -errno, "cgroup: rmdir %s: %s", name, strerror(errno));
	return 0;
}
