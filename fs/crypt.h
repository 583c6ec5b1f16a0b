/* fs/crypt.h: the encrypted store's dm-crypt device (docs/STORE.md).
 *
 * One target over the data disk's data area:
 *   0 <data_sectors> crypt aes-xts-plain64 <key as hex> 0 <MAJ:MIN> <data_offset>
 * (kernel Documentation/admin-guide/device-mapper/dm-crypt.rst: cipher,
 * key, IV offset, device, offset in sectors; no optional parameters: no
 * discards, which would show the host which blocks are free). The IV is
 * the sector number inside the data area (IV offset 0), so the area can
 * be moved without re-encryption.
 *
 * The key passes through the caller's buffers, this file's parameter line
 * and dm_ctl's ioctl buffer; each is wiped with explicit_bzero after use,
 * and the table is loaded with DM_SECURE_DATA_FLAG so that the kernel
 * wipes its copies too.
 *
 * Error convention: 0 or a negative errno, reason in err (ERRBUF_LEN).
 */
#ifndef DSHIELD_FS_CRYPT_H
#define DSHIELD_FS_CRYPT_H

#include "fs/dm.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CRYPT_KEY_MAX    64	/* bytes: aes-xts with two AES-256 keys */
#define CRYPT_PARAMS_MAX 256	/* cipher, 128 hex digits, device, offset */

struct crypt_area {
	dev_t disk;		/* the data disk (whole device) */
	uint64_t offset;	/* sectors */
	uint64_t sectors;
	const char *cipher;	/* "aes-xts-plain64" */
	const uint8_t *key;
	size_t key_len;		/* 1..CRYPT_KEY_MAX */
};

/* The crypt target's parameter line. Returns its length or a negative
 * errno (-EINVAL: a bad cipher name or key length, -ENOSPC). On failure
 * out is wiped. */
int crypt_params(char *out, size_t cap, const struct crypt_area *a);

/* Creates device `name` with the crypt table and returns its number. */
int crypt_open(struct dm_ctl *c, const char *name, const struct crypt_area *a, dev_t *dev,
	       char *err, size_t errlen);

#endif
