/* fs/integrity.c: see integrity.h. */
#include "fs/integrity.h"
#include "lib/bytes.h"
#include "lib/errbuf.h"
#include "lib/hex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SECTOR 512u
#define SB_AREA 4096u   /* what is zeroed and read of the superblock: one page */

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

/* A page-aligned buffer of zeros, as O_DIRECT wants: anonymous pages,
 * neither in the binary nor on the stack. NULL on failure (errno). */
static uint8_t *zero_pages(size_t n, int prot)
{
	void *p = mmap(NULL, n, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int integrity_sb_read(const char *disk_node, const struct integrity_area *a,
		      struct integrity_sb *sb, char *err, size_t errlen)
{
	uint8_t *buf = zero_pages(SB_AREA, PROT_READ | PROT_WRITE);
	int fd, r, e;
	ssize_t n;

	if (buf == NULL)
		return errbuf_set(err, errlen, -errno, "superblock buffer: %s", strerror(errno));
	fd = dm_open_node(disk_node, a->disk, O_RDONLY | O_DIRECT, err, errlen);
	if (fd < 0) {
		munmap(buf, SB_AREA);
		return fd;
	}
	n = pread(fd, buf, SB_AREA, (off_t)(a->offset * SECTOR));
	e = errno;
	close(fd);
	if (n != (ssize_t)SB_AREA)
		r = errbuf_set(err, errlen, -EIO, "reading dm-integrity's superblock: %s",
			       n < 0 ? strerror(e) : "short read");
	else if ((r = integrity_sb_parse(buf, sb)) != 0)
		r = errbuf_set(err, errlen, r, "dm-integrity superblock: %s",
			       r == -ENODATA ? "all zero (never formatted)" : "bad magic");
	munmap(buf, SB_AREA);
	return r;
}

int integrity_format(struct dm_ctl *c, const char *name, const struct integrity_area *a,
		     const char *disk_node, struct integrity_sb *sb, char *err, size_t errlen)
{
	struct integrity_area one = *a;
	uint8_t *zero = zero_pages(SB_AREA, PROT_READ);
	dev_t dev;
	int fd, r = 0;

	if (zero == NULL)
		return errbuf_set(err, errlen, -errno, "superblock buffer: %s", strerror(errno));
	fd = dm_open_node(disk_node, a->disk, O_WRONLY | O_DIRECT, err, errlen);
	if (fd >= 0) {
		if (pwrite(fd, zero, SB_AREA, (off_t)(a->offset * SECTOR)) != (ssize_t)SB_AREA ||
		    fdatasync(fd) != 0)
			r = errbuf_set(err, errlen, -EIO, "zeroing dm-integrity's superblock: %s",
				       strerror(errno));
		close(fd);
	} else {
		r = fd;
	}
	munmap(zero, SB_AREA);
	if (r != 0)
		return r;
	one.sectors = 1;
	one.mode = 'J';
	if ((r = integrity_open(c, name, &one, &dev, err, errlen)) != 0 ||
	    (r = dm_remove(c, name, err, errlen)) != 0)
		return r;
	return integrity_sb_read(disk_node, a, sb, err, errlen);
}

int integrity_wipe(const char *node, dev_t dev, uint64_t bytes, char *err, size_t errlen)
{
	uint8_t *zero = zero_pages(INTEGRITY_WIPE_CHUNK, PROT_READ);
	uint64_t at = 0;
	int fd, r = 0;

	if (zero == NULL)
		return errbuf_set(err, errlen, -errno, "wipe buffer: %s", strerror(errno));
	fd = dm_open_node(node, dev, O_WRONLY | O_DIRECT, err, errlen);
	if (fd < 0) {
		munmap(zero, INTEGRITY_WIPE_CHUNK);
		return fd;
	}
	while (at < bytes) {
		size_t n = bytes - at < INTEGRITY_WIPE_CHUNK ? (size_t)(bytes - at) : INTEGRITY_WIPE_CHUNK;
		ssize_t w = pwrite(fd, zero, n, (off_t)at);
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			r = errbuf_set(err, errlen, -e, "wiping %s at %llu: %s", node,
				       (unsigned long long)at, strerror(e));
			break;
		}
		at += (uint64_t)w;
	}
	if (r == 0 && fdatasync(fd) != 0)
		r = errbuf_set(err, errlen, -errno, "wiping %s: fdatasync: %s", node, strerror(errno));
	close(fd);
	munmap(zero, INTEGRITY_WIPE_CHUNK);
	return r;
}
