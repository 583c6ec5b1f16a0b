/* fs/integrity.h: the encrypted store's dm-integrity device, under its
 * dm-crypt device when the policy's store.integrity is "hmac-sha256"
 * (docs/STORE.md, "Integrity").
 *
 * One target over the data disk from the header's data offset to its end:
 *   0 <sectors> integrity <MAJ:MIN> <data_offset> 32 <J|D> 4
 *     internal_hash:hmac(sha256):<key as hex>
 *     journal_mac:hmac(sha256):<key as hex> fix_hmac fix_padding
 * (kernel Documentation/admin-guide/device-mapper/dm-integrity.rst): the
 * data offset as reserved sectors (dm-integrity never touches the header's
 * MiB), 32-byte tags, journaled writes (J: a data sector and its tag land
 * together, or neither: a power cut leaves no sector that fails its check;
 * D, direct, only for the format's wipe, which a power cut restarts anyway),
 * an HMAC-SHA256 tag per 512-byte sector computed by the kernel over the
 * sector number and the ciphertext dm-crypt wrote, the journal's sector
 * numbers under a second HMAC, and fix_hmac: a random salt in the
 * superblock mixed into both, and the superblock itself under journal_mac.
 *
 * dm-integrity formats its area itself when its superblock is all zero
 * (integrity_format_probe: a one-sector device, then the superblock read
 * back for the size it provides); the tags of a fresh area match nothing,
 * so every sector must be written once before it is read
 * (integrity_wipe). The keys pass through the caller's buffers, this
 * file's parameter line and dm_ctl's buffer, each wiped after use; the
 * table is loaded with DM_SECURE_DATA_FLAG.
 *
 * Error convention: 0 or a negative errno, reason in err (ERRBUF_LEN).
 */
#ifndef DSHIELD_FS_INTEGRITY_H
#define DSHIELD_FS_INTEGRITY_H

#include "fs/dm.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define INTEGRITY_KEY_LEN    32	/* each of the two HMAC-SHA256 keys */
#define INTEGRITY_TAG_SIZE   32	/* bytes per 512-byte sector */
#define INTEGRITY_PARAMS_MAX 320	/* device, offset, two keys as hex, flags */
#define INTEGRITY_SB_LEN     512	/* what integrity_sb_parse reads */

/* dm-integrity's superblock, the fields this file reads (little-endian):
 * 0 magic "integrt\0", 8 version (u8), 10 tag size (u16), 12 journal
 * sections (u32), 16 provided data sectors (u64), 24 flags (u32). */
#define INTEGRITY_SB_MAGIC          "integrt"
#define INTEGRITY_SB_HAVE_JOURNAL_MAC 0x1u
#define INTEGRITY_SB_FIXED_HMAC     0x10u

struct integrity_area {
	dev_t disk;		/* the data disk (whole device) */
	uint64_t offset;	/* sectors reserved before the area: the header's data offset */
	uint64_t sectors;	/* the device's size: what the area provides */
	const uint8_t *hash_key;	/* internal_hash, INTEGRITY_KEY_LEN bytes */
	const uint8_t *journal_key;	/* journal_mac, INTEGRITY_KEY_LEN bytes */
	char mode;		/* 'J' journaled (always in use), 'D' direct (the wipe) */
};

struct integrity_sb {
	uint8_t version;
	uint16_t tag_size;
	uint32_t journal_sections;
	uint64_t provided_sectors;
	uint32_t flags;
};

/* The integrity target's parameter line. Returns its length or a negative
 * errno (-EINVAL: no key, no sectors or another mode, -ENOSPC). On failure out is wiped. */
int integrity_params(char *out, size_t cap, const struct integrity_area *a);

/* Parses the superblock's first INTEGRITY_SB_LEN bytes: 0, -ENODATA (all
 * zero: not formatted) or -EINVAL (not dm-integrity's). Not authenticated
 * here: the kernel checks it with journal_mac (fix_hmac). */
int integrity_sb_parse(const uint8_t in[INTEGRITY_SB_LEN], struct integrity_sb *sb);

/* What this store wants of a superblock before loading it: 32-byte tags,
 * a journal MAC and fix_hmac (a host that clears the fix_hmac flag on the
 * disk must not get the weaker MAC without it: older kernels accept the
 * flag's absence), a size of at least `sectors`. 0 or -EPERM with why. */
int integrity_sb_check(const struct integrity_sb *sb, uint64_t sectors, char *err,
		       size_t errlen);

/* Creates device `name` with the integrity table and returns its number. */
int integrity_open(struct dm_ctl *c, const char *name, const struct integrity_area *a,
		   dev_t *dev, char *err, size_t errlen);

/* The superblock at sector a->offset of disk node disk_node (block device
 * a->disk), read past the page cache (what dm-integrity wrote below it is
 * on the disk, not in the cache) and parsed: integrity_sb_parse's
 * returns, or -EIO with why. */
int integrity_sb_read(const char *disk_node, const struct integrity_area *a,
		      struct integrity_sb *sb, char *err, size_t errlen);

/* The documented first load on a blank area: the superblock's 4 KiB
 * zeroed (a format cut short before must not leave one under keys no
 * longer anyone's), device `name` loaded over one sector in mode J so
 * that the kernel formats the area, removed, and the superblock read
 * back into *sb (its provided_sectors: what the area holds). a->sectors
 * and a->mode are ignored. */
int integrity_format(struct dm_ctl *c, const char *name, const struct integrity_area *a,
		     const char *disk_node, struct integrity_sb *sb, char *err, size_t errlen);

/* Writes zeros over the first `bytes` of integrity device node (block
 * device dev): a fresh area's tags match nothing, and a sector read
 * before it was ever written fails its check. Direct I/O, in
 * INTEGRITY_WIPE_CHUNK writes, then fdatasync. */
#define INTEGRITY_WIPE_CHUNK (256u << 10)
int integrity_wipe(const char *node, dev_t dev, uint64_t bytes, char *err, size_t errlen);

#endif
