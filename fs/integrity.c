/* fs/integrity.c: see integrity.h. */
#include "fs/integrity.h"
#include "lib/bytes.h"
#include "lib/errbuf.h"
#include "lib/hex.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

int integrity_params(char *out, size_t cap, const struct integrity_area *a)
{
	char hk[2 * INTEGRITY_KEY_LEN + 1], jk[2 * INTEGRITY_KEY_LEN + 1];

	if (!a->hash_key || !a->journal_key || a->sectors == 0 || (a->mode != 'J' && a->mode != 'D'))
		return dm_params_end(out, cap, -EINVAL);
	hex_encode(hk, a->hash_key, INTEGRITY_KEY_LEN);
	hex_encode(jk, a->journal_key, INTEGRITY_KEY_LEN);
	int n = snprintf(out, cap,
			 "%u:%u %llu %u %c 4 internal_hash:hmac(sha256):%s "
			 "journal_mac:hmac(sha256):%s fix_hmac fix_padding",
			 major(a->disk), minor(a->disk), (unsigned long long)a->offset,
			 INTEGRITY_TAG_SIZE, a->mode, hk, jk);
	explicit_bzero(hk, sizeof hk);
	explicit_bzero(jk, sizeof jk);
	return dm_params_end(out, cap, n);
}

int integrity_sb_parse(const uint8_t in[INTEGRITY_SB_LEN], struct integrity_sb *sb)
{
	uint8_t acc = 0;

	memset(sb, 0, sizeof *sb);
	for (size_t i = 0; i < INTEGRITY_SB_LEN; i++)
		acc |= in[i];
	if (acc == 0)
		return -ENODATA;
	if (memcmp(in, INTEGRITY_SB_MAGIC, sizeof INTEGRITY_SB_MAGIC) != 0)
		return -EINVAL;
	sb->version = in[8];
	sb->tag_size = le16(in + 10);
	sb->journal_sections = le32(in + 12);
	sb->provided_sectors = le64(in + 16);
	sb->flags = le32(in + 24);
	return 0;
}

int integrity_sb_check(const struct integrity_sb *sb, uint64_t sectors, char *err,
		       size_t errlen)
{
	const uint32_t want = INTEGRITY_SB_HAVE_JOURNAL_MAC | INTEGRITY_SB_FIXED_HMAC;

	if (sb->tag_size != INTEGRITY_TAG_SIZE || (sb->flags & want) != want)
		return errbuf_set(err, errlen, -EPERM,
				  "dm-integrity superblock: tag size %u, flags 0x%x (want %u, "
				  "journal mac and fix_hmac 0x%x)",
				  sb->tag_size, sb->flags, INTEGRITY_TAG_SIZE, want);
	if (sb->provided_sectors < sectors)
		return errbuf_set(err, errlen, -EPERM,
				  "dm-integrity superblock: provides %llu sectors, the header says %llu",
				  (unsigned long long)sb->provided_sectors,
				  (unsigned long long)sectors);
	return 0;
}

int integrity_open(struct dm_ctl *c, const char *name, const struct integrity_area *a,
		   dev_t *dev, char *err, size_t errlen)
{
	char params[INTEGRITY_PARAMS_MAX];
	int r;

	if ((r = integrity_params(params, sizeof params, a)) < 0)
		return errbuf_set(err, errlen, r, "integrity: %s: no key or size", name);
	return dm_create_keyed(c, name, "integrity", a->sectors, params, sizeof params, dev, err,
			       errlen);
}
