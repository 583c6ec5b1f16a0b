/* sandboxd/fndata.c: see fndata.h. */
#include "sandboxd/fndata.h"
#include "lib/hex.h"
#include "lib/random.h"
#include "sandboxd/fn_seccomp.h"   /* SYS_quotactl_fd where musl's header lacks it */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <linux/quota.h>

/* How deep the removal descends before it moves a subtree up to the
 * top (a function can nest directories deeper than descriptors last). */
#define RM_DEPTH  64
#define RM_PASSES 1024

static long quotactl_fd(int fd, unsigned cmd, unsigned id, void *addr)
{
	return syscall(SYS_quotactl_fd, fd, cmd, id, addr);
}

int fndata_open(struct fndata *fd, const char *store, const char *where, char err[ERRBUF_LEN])
{
	struct fs_quota_statv qs;

	memset(fd, 0, sizeof *fd);
	fd->dirfd = -1;
	if ((size_t)snprintf(fd->root, sizeof fd->root, "%s/%s", store, FNDATA_DIR) >= sizeof fd->root)
		return errbuf_set(err, ERRBUF_LEN, -ENAMETOOLONG, "%s/%s: too long", store, FNDATA_DIR);
	/* 0711: a function's uid removes its own deleted tree through it */
	if (mkdir(fd->root, 0711) != 0 && errno != EEXIST)
		return errbuf_set(err, ERRBUF_LEN, -errno, "mkdir %s: %s", fd->root, strerror(errno));
	fd->dirfd = open(fd->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd->dirfd < 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "%s: %s", fd->root, strerror(errno));
	memset(&qs, 0, sizeof qs);
	qs.qs_version = FS_QSTATV_VERSION1;
	if (quotactl_fd(fd->dirfd, QCMD(Q_XGETQSTATV, PRJQUOTA), 0, &qs) != 0)
		snprintf(fd->why, sizeof fd->why, "%s: no quota support in its file system (%s)", where,
			 strerror(errno));
	else if (!(qs.qs_flags & FS_QUOTA_PDQ_ACCT))
		snprintf(fd->why, sizeof fd->why, "%s: its file system has no project quotas", where);
	else if (!(qs.qs_flags & FS_QUOTA_PDQ_ENFD))
		snprintf(fd->why, sizeof fd->why, "%s: project quotas counted, not enforced (no prjquota)",
			 where);
	else
		fd->quota = true;
	return 0;
}

void fndata_close(struct fndata *fd)
{
	if (fd->dirfd >= 0)
		close(fd->dirfd);
	fd->dirfd = -1;
}

/* A function id is one path component (crypto/fn_decl.c allows no '/'),
 * never "." or ".." and never a name of ours (a leading '.'). */
static bool id_ok(const char *id)
{
	return id[0] != '\0' && id[0] != '.' && strchr(id, '/') == NULL;
}

int fndata_owner(const struct fndata *fd, const char *id, uid_t *uid)
{
	struct stat st;

	if (fd->dirfd < 0 || !id_ok(id))
		return -EINVAL;
	if (fstatat(fd->dirfd, id, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*uid = st.st_uid;
	return 0;
}

static int set_limits(const struct fndata *fd, uid_t uid, uint64_t bytes)
{
	struct if_dqblk q;
	uint64_t inodes = bytes / 4096;

	memset(&q, 0, sizeof q);
	q.dqb_bhardlimit = (bytes + QIF_DQBLKSIZE - 1) / QIF_DQBLKSIZE;
	q.dqb_ihardlimit = inodes > FNDATA_INODES_MIN ? inodes : FNDATA_INODES_MIN;
	q.dqb_valid = QIF_LIMITS;
	return quotactl_fd(fd->dirfd, QCMD(Q_SETQUOTA, PRJQUOTA), uid, &q) == 0 ? 0 : -errno;
}

/* A directory root made: its project id and PROJINHERIT while root still
 * owns it (setting them takes the owner or CAP_FOWNER, which sandboxd has
 * not), then it is handed to uid. */
static int hand_over(const struct fndata *fd, int d, uid_t uid, char err[ERRBUF_LEN])
{
	struct fsxattr fa;

	if (fd->quota) {
		if (ioctl(d, FS_IOC_FSGETXATTR, &fa) != 0)
			return errbuf_set(err, ERRBUF_LEN, -errno, "FS_IOC_FSGETXATTR: %s", strerror(errno));
		fa.fsx_projid = uid;
		fa.fsx_xflags |= FS_XFLAG_PROJINHERIT;
		if (ioctl(d, FS_IOC_FSSETXATTR, &fa) != 0)
			return errbuf_set(err, ERRBUF_LEN, -errno, "FS_IOC_FSSETXATTR: %s", strerror(errno));
	}
	/* the mode first: once it is uid's, only uid (or CAP_FOWNER) may */
	if (fchmod(d, 0700) != 0 || fchown(d, uid, uid) != 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "chmod, chown %u: %s", (unsigned)uid,
				  strerror(errno));
	return 0;
}

int fndata_prepare(struct fndata *fd, const char *id, uid_t uid, uint64_t bytes, char *path,
		   size_t cap, char err[ERRBUF_LEN])
{
	struct stat st;
	int d, r = 0;

	if (fd->dirfd < 0 || !id_ok(id) || uid == 0)
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "no data directory for %s", id);
	if ((size_t)snprintf(path, cap, "%s/%s", fd->root, id) >= cap)
		return errbuf_set(err, ERRBUF_LEN, -ENAMETOOLONG, "data directory path too long");
	if (mkdirat(fd->dirfd, id, 0700) != 0 && errno != EEXIST)
		return errbuf_set(err, ERRBUF_LEN, -errno, "mkdir %s: %s", path, strerror(errno));
	if (fstatat(fd->dirfd, id, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errbuf_set(err, ERRBUF_LEN, -ENOTDIR, "%s is not a directory", path);
	if (st.st_uid == 0) {
		/* ours still (just made, or a hand-over cut short): opened
		 * for real only now, since a directory that is uid's own
		 * (0700) does not open for sandboxd, which has no DAC_OVERRIDE */
		d = openat(fd->dirfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d < 0)
			return errbuf_set(err, ERRBUF_LEN, -errno, "%s: %s", path, strerror(errno));
		r = hand_over(fd, d, uid, err);
		close(d);
	} else if (st.st_uid != uid) {
		r = errbuf_set(err, ERRBUF_LEN, -EPERM, "%s belongs to uid %u, not %u", path,
			       (unsigned)st.st_uid, (unsigned)uid);
	}
	/* the limit every time: the declaration's data_mb may have changed */
	if (r == 0 && fd->quota && (r = set_limits(fd, uid, bytes)) < 0)
		errbuf_set(err, ERRBUF_LEN, r, "quotactl Q_SETQUOTA: %s", strerror(-r));
	return r;
}

/* Removes everything in directory dfd (a subtree of top), as its owner:
 * a directory without write or search permission is made 0700 first, and
 * one deeper than RM_DEPTH is moved up into top, which the caller passes
 * over again. Returns how many entries went or moved. */
static unsigned rm_level(int top, int dfd, unsigned depth, unsigned *moved)
{
	unsigned done = 0;
	struct dirent *e;
	int dup_fd = dup(dfd);
	DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;

	if (dir == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return 0;
	}
	while ((e = readdir(dir)) != NULL) {
		char up[32];
		int sub;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, e->d_name, 0) == 0) {
			done++;
			continue;
		}
		if (errno != EISDIR && errno != EPERM)
			continue;
		if (depth >= RM_DEPTH) {
			snprintf(up, sizeof up, ".deep-%u", (*moved)++);
			done += renameat(dfd, e->d_name, top, up) == 0;
			continue;
		}
		fchmodat(dfd, e->d_name, 0700, 0);
		sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		done += rm_level(top, sub, depth + 1, moved);
		close(sub);
		done += unlinkat(dfd, e->d_name, AT_REMOVEDIR) == 0;
	}
	closedir(dir);
	return done;
}

static void rm_tree(int t)
{
	unsigned moved = 0;

	fchmod(t, 0700);
	for (unsigned pass = 0; pass < RM_PASSES && rm_level(t, t, 0, &moved) > 0; pass++)
		;
}

/* Removes data/name, whoever's it is: the tree as its owner (a child
 * with only that uid), the directory itself here. */
static int purge(struct fndata *fd, const char *name, char err[ERRBUF_LEN])
{
	struct stat st;
	int status;
	pid_t pid;

	if (fstatat(fd->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : errbuf_set(err, ERRBUF_LEN, -errno, "%s/%s: %s", fd->root,
							name, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return unlinkat(fd->dirfd, name, 0) == 0 ? 0 :
		       errbuf_set(err, ERRBUF_LEN, -errno, "unlink %s/%s: %s", fd->root, name,
				  strerror(errno));
	pid = fork();
	if (pid < 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		int t;
		if (st.st_uid != 0 &&
		    (setgroups(0, NULL) != 0 || setresgid(st.st_gid, st.st_gid, st.st_gid) != 0 ||
		     setresuid(st.st_uid, st.st_uid, st.st_uid) != 0))
			_exit(2);
		fchmodat(fd->dirfd, name, 0700, 0);
		t = openat(fd->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (t < 0)
			_exit(3);
		rm_tree(t);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (unlinkat(fd->dirfd, name, AT_REMOVEDIR) != 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "rmdir %s/%s: %s", fd->root, name,
				  strerror(errno));
	return 0;
}

int fndata_remove(struct fndata *fd, const char *id, char err[ERRBUF_LEN])
{
	uint8_t rnd[8];
	char gone[sizeof FNDATA_GONE + 2 * sizeof rnd];
	int r;

	if (fd->dirfd < 0 || !id_ok(id))
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "no data directory for %s", id);
	if ((r = random_fill(rnd, sizeof rnd)) < 0)
		return errbuf_set(err, ERRBUF_LEN, r, "getrandom: %s", strerror(-r));
	memcpy(gone, FNDATA_GONE, sizeof FNDATA_GONE - 1);
	hex_encode(gone + sizeof FNDATA_GONE - 1, rnd, sizeof rnd);
	/* first out of the way: a later function of the same name starts
	 * empty even if the removal below does not finish */
	if (renameat(fd->dirfd, id, fd->dirfd, gone) != 0)
		return errno == ENOENT ? 0 : errbuf_set(err, ERRBUF_LEN, -errno, "rename %s/%s: %s",
							 fd->root, id, strerror(errno));
	return purge(fd, gone, err);
}

int fndata_sweep(struct fndata *fd, bool (*keep)(void *arg, const char *id), void *arg)
{
	char err[ERRBUF_LEN];
	struct dirent *e;
	int n = 0, dup_fd;
	DIR *dir;

	if (fd->dirfd < 0 || (dup_fd = dup(fd->dirfd)) < 0)
		return 0;
	if ((dir = fdopendir(dup_fd)) == NULL) {
		close(dup_fd);
		return 0;
	}
	while ((e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (strncmp(e->d_name, FNDATA_GONE, sizeof FNDATA_GONE - 1) != 0 &&
		    keep(arg, e->d_name))
			continue;
		n += purge(fd, e->d_name, err) == 0;
	}
	closedir(dir);
	return n;
}

int fndata_usage(const struct fndata *fd, uid_t uid, uint64_t *bytes, uint64_t *inodes)
{
	struct if_dqblk q;

	if (fd->dirfd < 0 || !fd->quota)
		return -EOPNOTSUPP;
	memset(&q, 0, sizeof q);
	if (quotactl_fd(fd->dirfd, QCMD(Q_GETQUOTA, PRJQUOTA), uid, &q) != 0)
		return -errno;
	*bytes = q.dqb_curspace;
	*inodes = q.dqb_curinodes;
	return 0;
}
