/* fs/verity.c: see verity.h. */
#include "fs/verity.h"
#include "lib/errbuf.h"
#include "lib/hex.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#define BLOCK     4096u
#define SECTOR    512u
#define NAME_MAX_ 100u

int verity_params(char *out, size_t cap, dev_t data, dev_t hash, uint64_t data_blocks,
		  uint64_t hash_offset, const uint8_t root[32], const uint8_t *salt,
		  size_t salt_len)
{
	char rhex[65], shex[65];

	if (data_blocks == 0 || hash_offset % BLOCK != 0 || salt_len > 32)
		return -EINVAL;
	hex_encode(rhex, root, 32);
	if (salt_len)
		hex_encode(shex, salt, salt_len);
	else
		strcpy(shex, "-");	/* the kernel's spelling of "no salt" */
	int n = snprintf(out, cap, "1 %u:%u %u:%u %u %u %llu %llu sha256 %s %s",
			 major(data), minor(data), major(hash), minor(hash), BLOCK, BLOCK,
			 (unsigned long long)data_blocks,
			 (unsigned long long)(hash_offset / BLOCK), rhex, shex);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

int verity_linear_params(char *out, size_t cap, dev_t disk, uint64_t data_offset)
{
	if (data_offset % BLOCK != 0)
		return -EINVAL;
	int n = snprintf(out, cap, "%u:%u %llu", major(disk), minor(disk),
			 (unsigned long long)(data_offset / SECTOR));
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

static int data_name(char *out, size_t cap, const char *name)
{
	if (strlen(name) > NAME_MAX_)
		return -ENAMETOOLONG;
	snprintf(out, cap, "%s-data", name);
	return 0;
}

int verity_open(struct dm_ctl *c, const char *name, const struct verity_layer *l,
		dev_t *dev, char *err, size_t errlen)
{
	char dname[NAME_MAX_ + 8], lin[64], ver[VERITY_PARAMS_MAX], ignored[ERRBUF_LEN];
	dev_t data;
	int r;

	if ((r = data_name(dname, sizeof dname, name)) != 0)
		return errbuf_set(err, errlen, r, "verity: name '%s' too long", name);
	if (l->data_blocks == 0 || l->data_blocks > UINT64_MAX / (BLOCK / SECTOR))
		return errbuf_set(err, errlen, -EINVAL, "verity: %s: bad block count", name);
	if ((r = verity_linear_params(lin, sizeof lin, l->disk, l->data_offset)) < 0)
		return errbuf_set(err, errlen, r, "verity: %s: data offset not block aligned", name);
	uint64_t sectors = l->data_blocks * (BLOCK / SECTOR);
	struct dm_target linear = { 0, sectors, "linear", lin };
	if ((r = dm_create(c, dname, NULL, &linear, 1, true, false, &data, err, errlen)) != 0)
		return r;
	if ((r = verity_params(ver, sizeof ver, data, l->disk, l->data_blocks, l->hash_offset,
			       l->root, l->salt, l->salt_len)) < 0) {
		dm_remove(c, dname, ignored, sizeof ignored);
		return errbuf_set(err, errlen, r, "verity: %s: bad hash offset or salt", name);
	}
	struct dm_target verity = { 0, sectors, "verity", ver };
	if ((r = dm_create(c, name, NULL, &verity, 1, true, false, dev, err, errlen)) != 0) {
		dm_remove(c, dname, ignored, sizeof ignored);
		return r;
	}
	return 0;
}

int verity_close(struct dm_ctl *c, const char *name, char *err, size_t errlen)
{
	char dname[NAME_MAX_ + 8], ignored[ERRBUF_LEN];
	int r, r2;

	if ((r = data_name(dname, sizeof dname, name)) != 0)
		return errbuf_set(err, errlen, r, "verity: name '%s' too long", name);
	r = dm_remove(c, name, err, errlen);
	r2 = dm_remove(c, dname, r ? ignored : err, r ? sizeof ignored : errlen);
	return r ? r : r2;
}
