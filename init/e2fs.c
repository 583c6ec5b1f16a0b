/* init/e2fs.c: see e2fs.h and docs/STORE.md. */
#include "init/e2fs.h"
#include "lib/clock.h"
#include "lib/errbuf.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- running a tool ---------------------------------------------------------------------- */

/* Does line (n bytes) start with "NAME: " or "TARGET: ", and say more? */
static bool said(const char *line, size_t n, const char *name, const char *target)
{
	for (int i = 0; i < 2; i++) {
		const char *p = i == 0 ? name : target;
		size_t k = strlen(p);
		if (n > k + 2 && memcmp(line, p, k) == 0 && line[k] == ':' && line[k + 1] == ' ')
			return true;
	}
	return false;
}

/* Relays whole lines of buf ("store: NAME: ..."), a partial one when flush
 * or when it fills the buffer; keeps in last the last one the tool said
 * in its own name or its target's ("e2fsck: Bad magic number ...",
 * "/dev/dm-6: UNEXPECTED INCONSISTENCY ..."): its verdict, not the
 * advice lines after it. */
static void relay(const char *name, const char *target, char *buf, size_t cap, size_t *used,
		  bool flush, char *last, size_t lastlen)
{
	char *nl;
	while ((nl = memchr(buf, '\n', *used)) != NULL || (flush && *used > 0) ||
	       *used == cap - 1) {
		size_t n = nl ? (size_t)(nl - buf) : *used;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
				buf[i] = '?';
		if (n > 0) {
			dlog("store: %s: %.*s", name, (int)n, buf);
			if (last && lastlen > 0 && said(buf, n, name, target))
				snprintf(last, lastlen, "%.*s", (int)n, buf);
		}
		size_t skip = nl ? n + 1 : n;
		memmove(buf, buf + skip, *used - skip);
		*used -= skip;
	}
}

int e2fs_run(const char *path, char *const argv[], uint32_t timeout_ms, char *last,
	     size_t lastlen, char *err, size_t errlen)
{
	char *const envp[] = { "PATH=/sbin", NULL };	/* /etc/mke2fs.conf: Debian's */
	const char *name = argv[0], *target = argv[0];
	char buf[256];
	size_t used = 0;
	int pfd[2], status;
	uint64_t deadline = mono_ms() + timeout_ms;

	for (size_t i = 1; argv[i]; i++)
		target = argv[i];
	if (last && lastlen > 0)
		last[0] = '\0';
	if (access(path, X_OK) != 0)
		return errbuf_set(err, errlen, -ENOENT, "%s is not in the image", path);
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return errbuf_set(err, errlen, -errno, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return errbuf_set(err, errlen, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(126);
		execve(path, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline) {
			kill(pid, SIGKILL);
			break;
		}
		struct pollfd p = { pfd[0], POLLIN, 0 };
		int pr = poll(&p, 1, (int)(deadline - now > 1000 ? 1000 : deadline - now));
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		ssize_t n = read(pfd[0], buf + used, sizeof buf - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		relay(name, target, buf, sizeof buf, &used, false, last, lastlen);
	}
	relay(name, target, buf, sizeof buf, &used, true, last, lastlen);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errbuf_set(err, errlen, -errno, "waitpid %s: %s", name, strerror(errno));
	if (mono_ms() >= deadline)
		return errbuf_set(err, errlen, -ETIMEDOUT, "%s did not finish in %u s", name,
				  timeout_ms / 1000);
	if (WIFSIGNALED(status))
		return errbuf_set(err, errlen, -EIO, "%s killed by signal %d", name,
				  WTERMSIG(status));
	if (WEXITSTATUS(status) == 126 || WEXITSTATUS(status) == 127)
		return errbuf_set(err, errlen, -ENOEXEC, "%s exited with status %d (cannot run it: "
				  "its libraries?)", name, WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

/* --- e2fsck -------------------------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int e2fs_backup_sb(const uint8_t sb[1024], uint64_t *block, uint32_t *block_size)
{
	uint32_t first = le32(sb + 0x14), log_bs = le32(sb + 0x18), per_group = le32(sb + 0x20);

	if (sb[0x38] != 0x53 || sb[0x39] != 0xef || log_bs > 6)
		return -EINVAL;
	uint32_t bs = 1024u << log_bs;
	/* the superblock sits in block 1 of 1 KiB blocks, block 0 otherwise;
	 * a group's block bitmap is one block: at most 8 bits a byte of it */
	if (first != (bs == 1024 ? 1u : 0u) || per_group < 8 || per_group > 8 * bs ||
	    per_group % 8 != 0)
		return -EINVAL;
	*block = (uint64_t)first + per_group;
	*block_size = bs;
	return 0;
}

enum e2fs_fsck_verdict e2fs_fsck_verdict(int status)
{
	if (status < 0 || status >= 4)
		return E2FS_FSCK_FAILED;
	if (status & 2)
		return E2FS_FSCK_REBOOT;
	return status & 1 ? E2FS_FSCK_FIXED : E2FS_FSCK_CLEAN;
}

uint32_t e2fs_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	/* bitwise, no table: a superblock's 1020 bytes once a boot at most */
	while (n-- > 0) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return crc;
}

int e2fs_sb_torn(const uint8_t sb[1024], uint8_t fixed[1024])
{
	uint32_t ro_compat = le32(sb + 0x64), crc;

	if (sb[0x38] != 0x53 || sb[0x39] != 0xef || !(ro_compat & 0x400) || sb[0x175] != 1)
		return -EINVAL;
	crc = e2fs_crc32c(0xffffffffu, sb, 0x3fc);
	if (le32(sb + 0x3fc) == crc)
		return 0;
	memcpy(fixed, sb, 1024);
	fixed[0x3fc] = (uint8_t)crc;
	fixed[0x3fd] = (uint8_t)(crc >> 8);
	fixed[0x3fe] = (uint8_t)(crc >> 16);
	fixed[0x3ff] = (uint8_t)(crc >> 24);
	return 1;
}

/* Writes the primary superblock back with its checksum recomputed, when
 * that fails (the caller's e2fsck then checks the rest). 1 done, 0
 * nothing to do, negative errno. */
static int restore_sb_csum(const char *node, char *err, size_t errlen)
{
	uint8_t sb[1024], fixed[1024];
	int fd = open(node, O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return errbuf_set(err, errlen, -errno, "open %s: %s", node, strerror(errno));
	if (pread(fd, sb, sizeof sb, 1024) != (ssize_t)sizeof sb)
		r = errbuf_set(err, errlen, -EIO, "reading the superblock of %s", node);
	else if ((r = e2fs_sb_torn(sb, fixed)) < 0)
		r = 0;	/* not ext4, or no superblock checksum: not this repair */
	else if (r == 1 &&
		 (pwrite(fd, fixed, sizeof fixed, 1024) != (ssize_t)sizeof fixed || fsync(fd) != 0))
		r = errbuf_set(err, errlen, -EIO, "writing the superblock of %s: %s", node,
			       strerror(errno));
	close(fd);
	return r;
}

int e2fs_repair(const char *node, const uint8_t sb[1024], char *err, size_t errlen)
{
	char last[ERRBUF_LEN], blk[24], bsz[12], how[80] = "";
	char *const preen[] = { "e2fsck", "-p", (char *)node, NULL };
	char *const backup[] = { "e2fsck", "-p", "-b", blk, "-B", bsz, (char *)node, NULL };
	uint64_t b, t0 = mono_ms();
	uint32_t bs;
	int st, r;

	dlog("store: e2fsck -p %s (repairing: the key is right, the file system is damaged)",
	     node);
	st = e2fs_run(E2FS_E2FSCK, preen, E2FS_E2FSCK_TIMEOUT_MS, last, sizeof last, err, errlen);
	if (st == 8 && (r = restore_sb_csum(node, err, errlen)) != 0) {
		if (r < 0)
			return r;
		snprintf(how, sizeof how, " after restoring its primary superblock's checksum");
		dlog("store: the primary superblock fails its checksum (torn by a power cut "
		     "between its two sectors?): checksum restored, e2fsck -p %s again", node);
		st = e2fs_run(E2FS_E2FSCK, preen, E2FS_E2FSCK_TIMEOUT_MS, last, sizeof last, err,
			      errlen);
	}
	if (st == 8 && e2fs_backup_sb(sb, &b, &bs) == 0) {
		snprintf(blk, sizeof blk, "%llu", (unsigned long long)b);
		snprintf(bsz, sizeof bsz, "%u", bs);
		snprintf(how, sizeof how, " from the backup superblock %s (%s-byte blocks)", blk,
			 bsz);
		dlog("store: e2fsck cannot open the primary superblock: e2fsck -p -b %s -B %s %s",
		     blk, bsz, node);
		st = e2fs_run(E2FS_E2FSCK, backup, E2FS_E2FSCK_TIMEOUT_MS, last, sizeof last, err,
			      errlen);
	}
	if (st < 0)
		return st;
	switch (e2fs_fsck_verdict(st)) {
	case E2FS_FSCK_CLEAN:
	case E2FS_FSCK_FIXED:
		dlog("store: e2fsck %s ext4 on %s%s (status %d, %llu ms)",
		     st == 0 && !how[0] ? "found nothing to fix on" : "repaired", node, how, st,
		     (unsigned long long)(mono_ms() - t0));
		return 0;
	case E2FS_FSCK_REBOOT:
		return errbuf_set(err, errlen, -EAGAIN, "ext4 on %s is damaged: e2fsck repaired it%s "
				  "and asks for a reboot (status %d)", node, how, st);
	default:
		return errbuf_set(err, errlen, -EUCLEAN, "ext4 on %s is damaged and e2fsck%s did not "
				  "repair it (status %d): %s", node, how, st,
				  last[0] ? last : "no output");
	}
}
