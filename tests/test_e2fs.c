/* tests/test_e2fs.c: init's e2fsprogs runner and repair (init/e2fs.h):
 * the backup superblock's location from a superblock's geometry (and its
 * refusals), what e2fsck's exit status means for mounting, the runner's
 * relay (status, last line, control bytes, a missing program, a timeout)
 * and, with the host's /sbin/mke2fs and /sbin/e2fsck, a torn primary
 * superblock repaired from its backup and a non-ext4 image refused. */
#include "init/e2fs.h"
#include "lib/errbuf.h"
#include "lib/log.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[ERRBUF_LEN], last[ERRBUF_LEN];

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* A superblock with the geometry fields only (offsets of ext4's). */
static void sb_make(uint8_t sb[1024], uint32_t first, uint32_t log_bs, uint32_t per_group)
{
	memset(sb, 0, 1024);
	put32(sb + 0x14, first);
	put32(sb + 0x18, log_bs);
	put32(sb + 0x20, per_group);
	sb[0x38] = 0x53, sb[0x39] = 0xef;
}

static void test_backup_sb(void)
{
	uint8_t sb[1024];
	uint64_t b = 0;
	uint32_t bs = 0;

	sb_make(sb, 1, 0, 8192);
	is_int(e2fs_backup_sb(sb, &b, &bs), 0, "1 KiB blocks (a store under 512 MiB)");
	is_int(b, 8193, "the backup is block 8193");
	is_int(bs, 1024, "of 1024 bytes");
	sb_make(sb, 0, 2, 32768);
	is_int(e2fs_backup_sb(sb, &b, &bs), 0, "4 KiB blocks");
	is_int(b, 32768, "the backup is block 32768");
	is_int(bs, 4096, "of 4096 bytes");
	sb_make(sb, 0, 6, 8 * 65536);
	is_int(e2fs_backup_sb(sb, &b, &bs), 0, "64 KiB blocks, the largest");
	is_int(b, 524288, "the backup is block 524288");
	sb_make(sb, 1, 0, 8192);
	memset(sb + 512, 0xff, 512);
	is_int(e2fs_backup_sb(sb, &b, &bs), 0, "the second sector (torn away) is not read");
	is_int(b, 8193, "same backup");

	sb_make(sb, 1, 0, 8192);
	sb[0x38] = 0;
	is_int(e2fs_backup_sb(sb, &b, &bs), -EINVAL, "not ext4's magic: refused");
	sb_make(sb, 0, 7, 8 * 131072);
	is_int(e2fs_backup_sb(sb, &b, &bs), -EINVAL, "128 KiB blocks: refused");
	sb_make(sb, 1, 0xffffffffu, 8192);
	is_int(e2fs_backup_sb(sb, &b, &bs), -EINVAL, "a huge block size shift: refused");
	sb_make(sb, 0, 0, 8192);
	is_int(e2fs_backup_sb(sb, &b, &bs), -EINVAL, "1 KiB blocks with the superblock in block 0: refused");
	sb_make(sb, 1, 2, 32768);
	is_int(e2fs_backup_sb(sb, &b, &bs), -EINVAL, "4 KiB blocks with first data block 1: refused");
	sb_make(sb, 1, 0, 0);
	is_int(e2fs_backup_sb(sb, &b, &bs), -EINVAL, "no blocks per group: refused");
	sb_make(sb, 1, 0, 8200);
	is_int(e2fs_backup_sb(sb, &b, &bs), -EINVAL, "more blocks per group than a bitmap block holds: refused");
	sb_make(sb, 1, 0, 8191);
	is_int(e2fs_backup_sb(sb, &b, &bs), -EINVAL, "blocks per group not a multiple of 8: refused");
}

static void test_crc32c(void)
{
	/* the CRC-32C check value of "123456789" is 0xe3069283, after the
	 * final inversion ext4 leaves out */
	is_int(e2fs_crc32c(0xffffffffu, (const uint8_t *)"123456789", 9), 0x1cf96d7cu,
	       "CRC32C of the check string, without the final inversion");
	is_int(e2fs_crc32c(0xffffffffu, (const uint8_t *)"", 0), 0xffffffffu, "nothing: the seed");
}

static void test_sb_torn(void)
{
	uint8_t sb[1024], fixed[1024], again[1024];

	sb_make(sb, 1, 0, 8192);
	is_int(e2fs_sb_torn(sb, fixed), -EINVAL, "no metadata_csum: not this repair");
	sb[0x65] |= 0x04;	/* ro_compat metadata_csum (0x400) */
	is_int(e2fs_sb_torn(sb, fixed), -EINVAL, "metadata_csum but checksum type 0: refused");
	sb[0x175] = 1;
	is_int(e2fs_sb_torn(sb, fixed), 1, "checksum 0 over these bytes: torn");
	is_mem(fixed, sb, 0x3fc, "fixed: the same bytes but the checksum");
	is_int(e2fs_sb_torn(fixed, again), 0, "fixed: its checksum holds");
	fixed[0x100] ^= 1;
	is_int(e2fs_sb_torn(fixed, again), 1, "one bit changed: torn again");
	sb[0x38] = 0;
	is_int(e2fs_sb_torn(sb, fixed), -EINVAL, "not ext4's magic: refused");
}

static void test_verdict(void)
{
	is_int(e2fs_fsck_verdict(0), E2FS_FSCK_CLEAN, "status 0: clean");
	is_int(e2fs_fsck_verdict(1), E2FS_FSCK_FIXED, "status 1: fixed, mount");
	is_int(e2fs_fsck_verdict(2), E2FS_FSCK_REBOOT, "status 2: reboot asked for");
	is_int(e2fs_fsck_verdict(3), E2FS_FSCK_REBOOT, "status 3 (1|2): reboot asked for");
	is_int(e2fs_fsck_verdict(4), E2FS_FSCK_FAILED, "status 4: left uncorrected");
	is_int(e2fs_fsck_verdict(5), E2FS_FSCK_FAILED, "status 5 (1|4): left uncorrected");
	is_int(e2fs_fsck_verdict(8), E2FS_FSCK_FAILED, "status 8: operational error");
	is_int(e2fs_fsck_verdict(128), E2FS_FSCK_FAILED, "status 128: library error");
	is_int(e2fs_fsck_verdict(-EIO), E2FS_FSCK_FAILED, "could not run: failed");
}

static int sh(const char *script, uint32_t ms)
{
	char *const argv[] = { "sh", "-c", (char *)script, "tgt", NULL };	/* $0: tgt */
	return e2fs_run("/bin/sh", argv, ms, last, sizeof last, err, sizeof err);
}

static void test_run(void)
{
	is_int(sh("echo sh: one; echo sh: two >&2; echo advice; printf 'sh: three'; exit 3", 60000), 3,
	       "the exit status");
	is_str(last, "sh: three", "the last line in the tool's name, an unterminated one too");
	is_int(sh("echo 'sh: one'; echo \"$0: target's\"; echo \"$0: \"; echo advice", 60000), 0, "status 0");
	is_str(last, "tgt: target's", "or in its target's name (the last argument), not advice or an empty one after it");
	is_int(sh("printf 'sh: a\\001b\\n\\n\\n'", 60000), 0, "status 0");
	is_str(last, "sh: a?b", "control bytes shown as '?', empty lines skipped");
	is_int(sh("head -c 600 /dev/zero | tr '\\0' x; echo; echo sh: end", 60000), 0,
	       "a line longer than the buffer");
	is_str(last, "sh: end", "relayed in pieces, then the rest");
	is_int(sh("exit 127", 60000), -ENOEXEC, "status 127: could not run it");
	ok(strstr(err, "libraries") != NULL, "and says why: %s", err);
	char *const argv[] = { "none", NULL };
	is_int(e2fs_run("/nonexistent/none", argv, 1000, NULL, 0, err, sizeof err), -ENOENT,
	       "a program not there: -ENOENT");
	is_int(sh("exec /bin/sleep 30", 300), -ETIMEDOUT, "past its time: killed, -ETIMEDOUT");
	is_int(sh("kill -9 $$", 60000), -EIO, "killed by a signal: -EIO");
}

/* e2fs_repair with its console lines caught in out. */
static int repair_logged(const char *img, const uint8_t sb[1024], char *out, size_t cap)
{
	FILE *f = tmpfile();
	int r;

	if (!f)
		return -errno;
	log_set_fd(fileno(f));
	r = e2fs_repair(img, sb, err, sizeof err);
	log_set_fd(2);
	size_t n = (size_t)pread(fileno(f), out, cap - 1, 0);
	out[n < cap ? n : 0] = '\0';
	fclose(f);
	return r;
}

/* A 32 MiB ext4 as the store formats it, its primary superblock torn: the
 * first sector rewritten (a changed mount count), the second kept, so its
 * checksum fails. */
static void test_repair(void)
{
	char dir[] = "/tmp/test_e2fs.XXXXXX", img[64];
	uint8_t sb[1024], good[1024];
	char said[8192];
	int fd;

	if (access(E2FS_E2FSCK, X_OK) != 0 || access("/sbin/mke2fs", X_OK) != 0) {
		ok(1, "# skip no /sbin/e2fsck or /sbin/mke2fs on this host");
		return;
	}
	if (!ok(mkdtemp(dir) != NULL, "a work directory"))
		return;
	snprintf(img, sizeof img, "%s/a.img", dir);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(fd >= 0 && ftruncate(fd, 32 << 20) == 0, "a 32 MiB image");
	char *const mk[] = { "mke2fs", "-t", "ext4", "-q", "-F", "-m", "0", "-O", "quota,project",
			     "-E", "nodiscard,quotatype=prjquota", img, NULL };
	is_int(e2fs_run("/sbin/mke2fs", mk, 600000, last, sizeof last, err, sizeof err), 0,
	       "mke2fs as the store runs it");
	char *const fsck_n[] = { "e2fsck", "-fn", img, NULL };
	is_int(e2fs_run(E2FS_E2FSCK, fsck_n, 600000, last, sizeof last, err, sizeof err), 0,
	       "e2fsck -fn: clean");
	ok(pread(fd, sb, sizeof sb, 1024) == (ssize_t)sizeof sb, "the superblock read");
	is_int(e2fs_sb_torn(sb, good), 0, "mke2fs's superblock checksum is the one computed here");
	memcpy(good, sb, sizeof good);
	is_int(e2fs_repair(img, sb, err, sizeof err), 0, "a clean file system: nothing to repair");
	sb[0x34] ^= 0x05;	/* s_mnt_count: the first sector changed, the checksum not */
	ok(pwrite(fd, sb, 512, 1024) == 512, "the superblock torn: its first sector only");
	char *const fsck_p[] = { "e2fsck", "-p", img, NULL };
	is_int(e2fs_run(E2FS_E2FSCK, fsck_p, 600000, last, sizeof last, err, sizeof err), 8,
	       "e2fsck -p cannot open it (status 8): preen neither fixes it nor tries a backup");
	diag("%s", last);
	err[0] = '\0';
	is_int(repair_logged(img, sb, said, sizeof said), 0, "repaired");
	if (err[0])
		diag("%s", err);
	if (!ok(strstr(said, "checksum restored") != NULL && strstr(said, "e2fsck -p -b") == NULL,
	   "by restoring the primary superblock's checksum, no backup superblock"))
		diag("%s", said);
	ok(strstr(said, "e2fsck repaired ext4 on") != NULL &&
	   strstr(said, "after restoring its primary superblock's checksum") != NULL,
	   "and the console says so");
	is_int(e2fs_run(E2FS_E2FSCK, fsck_n, 600000, last, sizeof last, err, sizeof err), 0,
	       "then e2fsck -fn: clean");

	/* a primary superblock whose checksum holds but which no e2fsck opens
	 * (an impossible block size): the backup superblock */
	memcpy(sb, good, sizeof sb);
	sb[0x18] = 20;
	uint8_t fixed[1024];
	ok(e2fs_sb_torn(sb, fixed) == 1 && pwrite(fd, fixed, sizeof fixed, 1024) == (ssize_t)sizeof fixed,
	   "a primary superblock with a bad block size and a right checksum");
	is_int(repair_logged(img, good, said, sizeof said), 0, "repaired");
	ok(strstr(said, "e2fsck -p -b 8193 -B 1024") != NULL &&
	   strstr(said, "from the backup superblock 8193 (1024-byte blocks)") != NULL,
	   "from the backup superblock at 8193, the location the superblock read before gives");
	is_int(e2fs_run(E2FS_E2FSCK, fsck_n, 600000, last, sizeof last, err, sizeof err), 0,
	       "then e2fsck -fn: clean");

	memset(sb, 0, sizeof sb);
	ok(pwrite(fd, sb, sizeof sb, 1024) == (ssize_t)sizeof sb &&
	   pwrite(fd, sb, sizeof sb, 8193 * 1024) == (ssize_t)sizeof sb,
	   "both superblocks zeroed");
	is_int(e2fs_repair(img, sb, err, sizeof err), -EUCLEAN, "no superblock to repair from: refused");
	ok(strstr(err, "did not repair it (status 8): e2fsck: Bad magic number") != NULL, "with e2fsck's status and words: %s", err);
	if (fd >= 0)
		close(fd);
	unlink(img);
	rmdir(dir);
}

int main(void)
{
	test_backup_sb();
	test_crc32c();
	test_sb_torn();
	test_verdict();
	test_run();
	test_repair();
	return tap_done();
}
