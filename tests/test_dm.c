/* tests/test_dm.c: the device-mapper request layout (fs/dm.c) and the
 * verity and linear target lines (fs/verity.c). The ioctls themselves run
 * in the guest: qemu-test/t/04-layers.t. */
#include "fs/dm.h"
#include "fs/verity.h"
#include "lib/errbuf.h"
#include "tests/tap.h"

#include <errno.h>
#include <linux/dm-ioctl.h>
#include <stdlib.h>
#include <sys/sysmacros.h>

static struct dm_ctl c;

static void test_pack(void)
{
	char err[ERRBUF_LEN];
	struct dm_target t[2] = {
		{ 0, 8, "linear", "254:0 16" },
		{ 8, 16, "verity", "1 254:1 254:0 4096 4096 3 7 sha256 aa bb" },
	};
	long n = dm_pack_table(&c, "layer-x", t, 2, DM_READONLY_FLAG, err, sizeof err);
	const struct dm_ioctl *io = (const struct dm_ioctl *)c.buf;
	ok(n > 0, "two targets pack");
	is_int(io->version[0], DM_VERSION_MAJOR, "interface major");
	is_int(io->data_start, sizeof(struct dm_ioctl), "targets right after the header");
	is_int(io->data_size, n, "data_size is the whole request");
	is_int(io->target_count, 2, "target_count");
	is_int(io->flags, DM_READONLY_FLAG, "flags as given");
	is_str(io->name, "layer-x", "name");

	const struct dm_target_spec *s = (const struct dm_target_spec *)(c.buf + io->data_start);
	is_int(s->sector_start, 0, "target 0 start");
	is_int(s->length, 8, "target 0 length");
	is_str(s->target_type, "linear", "target 0 type");
	is_str((const char *)(s + 1), "254:0 16", "target 0 parameters follow the spec");
	is_int(s->next % 8, 0, "next spec 8-byte aligned");
	is_int(s->next, sizeof *s + 16, "next = spec + parameters padded to 8 (9 -> 16)");
	const struct dm_target_spec *s2 = (const struct dm_target_spec *)((const char *)s + s->next);
	is_int(s2->sector_start, 8, "target 1 start");
	is_str(s2->target_type, "verity", "target 1 type");
	is_str((const char *)(s2 + 1), t[1].params, "target 1 parameters");
	is_int((const char *)s2 + s2->next - (const char *)c.buf, n, "the last spec ends the request");

	struct dm_target gap[2] = { t[0], { 9, 8, "linear", "1:2 0" } };
	is_int(dm_pack_table(&c, "x", gap, 2, 0, err, sizeof err), -EINVAL, "a gap between targets");
	struct dm_target late = { 1, 8, "linear", "1:2 0" };
	is_int(dm_pack_table(&c, "x", &late, 1, 0, err, sizeof err), -EINVAL, "a table not from sector 0");
	struct dm_target empty = { 0, 0, "linear", "1:2 0" };
	is_int(dm_pack_table(&c, "x", &empty, 1, 0, err, sizeof err), -EINVAL, "an empty target");
	struct dm_target longtype = { 0, 8, "averyveryverylongtype", "" };
	is_int(dm_pack_table(&c, "x", &longtype, 1, 0, err, sizeof err), -EINVAL, "a type over 15 bytes");
	is_int(dm_pack_table(&c, "", t, 1, 0, err, sizeof err), -EINVAL, "an empty name");
	is_int(dm_pack_table(&c, "a b", t, 1, 0, err, sizeof err), -EINVAL, "a name with a space");
	is_int(dm_pack_table(&c, "../x", t, 1, 0, err, sizeof err), -EINVAL, "a name with '/'");
	char longname[DM_NAME_LEN + 1];
	memset(longname, 'a', DM_NAME_LEN);
	longname[DM_NAME_LEN] = '\0';
	is_int(dm_pack_table(&c, longname, t, 1, 0, err, sizeof err), -EINVAL, "a name of %d bytes",
	       DM_NAME_LEN);
	is_int(dm_pack_table(&c, "x", t, 0, 0, err, sizeof err), -EINVAL, "no target");
	char *huge = malloc(DM_CTL_BUF);
	if (!huge)
		exit(2);
	memset(huge, 'p', DM_CTL_BUF - 1);
	huge[DM_CTL_BUF - 1] = '\0';
	struct dm_target big = { 0, 8, "crypt", huge };
	is_int(dm_pack_table(&c, "x", &big, 1, 0, err, sizeof err), -E2BIG, "a table over the buffer");
	ok(strstr(err, "over") != NULL, "with a reason (%s)", err);
	free(huge);
}

static void test_verity_lines(void)
{
	uint8_t root[32], salt[32];
	char out[VERITY_PARAMS_MAX];
	for (int i = 0; i < 32; i++) {
		root[i] = (uint8_t)i;
		salt[i] = (uint8_t)(0xff - i);
	}
	int n = verity_params(out, sizeof out, makedev(253, 1), makedev(254, 0), 28, 118784, root,
			      salt, sizeof salt);
	is_str(out, "1 253:1 254:0 4096 4096 28 29 sha256 "
		    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
		    "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0",
	       "verity line: version 1, data, hash, block sizes, blocks, hash start block, sha256, root, salt");
	is_int(n, strlen(out), "returns its length");
	verity_params(out, sizeof out, makedev(8, 0), makedev(8, 0), 1, 0, root, NULL, 0);
	ok(strstr(out, " sha256 000102") && strcmp(out + strlen(out) - 2, " -") == 0,
	   "no salt is '-' (%s)", out);
	is_int(verity_params(out, sizeof out, 1, 1, 0, 0, root, salt, 32), -EINVAL, "no data blocks");
	is_int(verity_params(out, sizeof out, 1, 1, 1, 100, root, salt, 32), -EINVAL,
	       "a hash offset not block aligned");
	is_int(verity_params(out, 20, 1, 1, 1, 0, root, salt, 32), -ENOSPC, "a short buffer");

	verity_linear_params(out, sizeof out, makedev(254, 16), 4096 * 3);
	is_str(out, "254:16 24", "linear line: device and start sector");
	is_int(verity_linear_params(out, sizeof out, 1, 1000), -EINVAL, "an unaligned data offset");
}

int main(void)
{
	test_pack();
	test_verity_lines();
	return tap_done();
}
