/* init/e2fs.h: Debian's e2fsprogs run by init for the store (docs/STORE.md).
 *
 * mke2fs formats a blank store; e2fsck repairs one whose ext4 the kernel
 * refuses on a checksum or a corruption (EBADMSG, EUCLEAN) after the
 * header's MAC verified: the key is right, the file system is damaged.
 * The case it exists for is a power cut that kept only one 512-byte sector
 * of a write of ext4's 1024-byte primary superblock ("Power cuts"): its
 * checksum (the last 4 bytes, in the second sector) then fails, and
 * e2fsck's preen mode neither repairs that nor tries a backup superblock
 * by itself (it exits 8). Both halves are a valid superblock's: the second
 * sector holds fields that stay as mke2fs wrote them (quota and orphan
 * inodes, checksum seed, mount options) and the checksum. So the repair
 * restores the checksum over the sectors as they are and runs e2fsck -p
 * again (journal replay, preen); a backup superblock comes last: its group
 * descriptors are mke2fs's, and on dm-crypt the blocks mke2fs left to lazy
 * initialisation read as random bytes, which those descriptors may not
 * mark unused (preen then stops, "UNEXPECTED INCONSISTENCY").
 */
#ifndef DSHIELD_INIT_E2FS_H
#define DSHIELD_INIT_E2FS_H

#include <stddef.h>
#include <stdint.h>

#define E2FS_E2FSCK	"/sbin/e2fsck"
#define E2FS_E2FSCK_TIMEOUT_MS 600000u

/* Runs path with argv (environment PATH=/sbin, stdin /dev/null) and
 * relays its stdout and stderr to the console line by line as
 * "store: ARGV0: line", control bytes shown as '?'. The last line that
 * starts with "ARGV0: " or "TARGET: " (TARGET: the last argument) is
 * kept in last (may be NULL) for a refusal's reason. Returns the
 * exit status (0..255), or a negative errno with err: it could not start
 * (126, 127: not there, or its libraries), was killed, or did not finish
 * in timeout_ms (then killed). */
int e2fs_run(const char *path, char *const argv[], uint32_t timeout_ms, char *last,
	     size_t lastlen, char *err, size_t errlen);

/* The first backup superblock of the ext4 whose primary superblock (1024
 * bytes from byte 1024) is sb: group 1's first block, s_first_data_block
 * + s_blocks_per_group, in blocks of *block_size. Read from the first 512
 * bytes only (a torn superblock keeps those whole). 0, or -EINVAL: not
 * ext4's magic, a block size other than 1 to 64 KiB, a group geometry no
 * mke2fs makes. Fixed offsets, bounded: the bytes are untrusted. */
int e2fs_backup_sb(const uint8_t sb[1024], uint64_t *block, uint32_t *block_size);

enum e2fs_fsck_verdict {
	E2FS_FSCK_CLEAN,	/* 0: nothing to fix */
	E2FS_FSCK_FIXED,	/* 1: errors fixed, the file system is usable */
	E2FS_FSCK_REBOOT,	/* 2 (or 3): fixed, but e2fsck asks for a reboot */
	E2FS_FSCK_FAILED,	/* 4 and above: left uncorrected, or e2fsck failed */
};

/* What e2fsck's exit status (its bits: 1 fixed, 2 reboot, 4 uncorrected,
 * 8 operational error, 16 usage, 32 cancelled, 128 library error) means
 * for mounting. */
enum e2fs_fsck_verdict e2fs_fsck_verdict(int status);

/* ext4's superblock checksum: CRC32C (Castagnoli, reflected), from crc,
 * without the final inversion (ext4 seeds it with ~0 and stores it so). */
uint32_t e2fs_crc32c(uint32_t crc, const uint8_t *p, size_t n);

/* Does the superblock sb (1024 bytes) fail its checksum? 1: yes, fixed
 * is sb with the checksum recomputed over its bytes as they are (whether
 * the rest is sound is e2fsck's to say); 0: the checksum holds; -EINVAL:
 * not ext4's magic, or no CRC32C superblock checksum (metadata_csum).
 * Fixed offsets: the bytes are untrusted. */
int e2fs_sb_torn(const uint8_t sb[1024], uint8_t fixed[1024]);

/* Repairs the ext4 on node, whose primary superblock's first bytes are sb
 * (as read before the failed mount): e2fsck -p; when that cannot open the
 * file system (status 8) and the primary superblock fails its checksum,
 * the checksum restored (e2fs_sb_torn) and e2fsck -p again; when it still
 * cannot, e2fsck -p -b BACKUP -B BLOCKSIZE. Its output on the console, then one line
 * saying what was done. 0: fixed or clean, mount again; negative errno and
 * err: a reboot asked for, left uncorrected (e2fsck's last line), or
 * e2fsck could not run. */
int e2fs_repair(const char *node, const uint8_t sb[1024], char *err, size_t errlen);

#endif
