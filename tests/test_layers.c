/* tests/test_layers.c: finding the layer disk in a sysfs tree and checking
 * a layer's ranges against it (init/layers.c). Opening layers needs the
 * kernel's device-mapper: qemu-test/t/04-layers.t. */
#include "init/layers.h"
#include "lib/errbuf.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char root[64];

static void put(const char *disk, const char *attr, const char *val)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, disk);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s", root, disk, attr);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		exit(2);
	close(fd);
}

static void disk(const char *name, const char *serial, const char *dev, const char *size,
		 const char *ro)
{
	if (serial)
		put(name, "serial", serial);
	put(name, "dev", dev);
	put(name, "size", size);
	put(name, "ro", ro);
}

static void test_find(void)
{
	struct layers_disk d;
	char err[ERRBUF_LEN];

	disk("vda", "store-disk\n", "254:0\n", "2048\n", "0\n");
	disk("loop0", NULL, "7:0\n", "0\n", "0\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), -ENOENT,
	       "no disk with the serial: ENOENT");
	ok(strstr(err, "dshield-layers") != NULL, "the reason names the serial (%s)", err);

	disk("vdb", "dshield-layers\n", "254:16\n", "245760\n", "1\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), 0, "found");
	is_str(d.name, "vdb", "its name");
	ok(d.dev == makedev(254, 16), "its number from 'dev'");
	is_int(d.bytes, 245760ull * 512, "its size from 'size' (sectors)");
	ok(d.readonly, "read-only from 'ro'");

	put("vdb", "serial", "dshield-layers-2\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), -ENOENT,
	       "a serial that only starts the same is another disk");
	put("vdb", "serial", "dshield-layers");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), 0,
	       "a serial without a newline");

	put("vdb", "dev", "254\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), -EINVAL,
	       "'dev' without a colon");
	put("vdb", "dev", "4096:0\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), -EINVAL,
	       "a major over 4095");
	put("vdb", "dev", "254:16\n");
	put("vdb", "size", "12x\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), -EINVAL, "a size that is not a number");
	put("vdb", "size", "99999999999999999999999\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), -EINVAL, "a size that overflows");
	put("vdb", "size", "8\n");
	put("vdb", "ro", "2\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), -EINVAL, "'ro' not 0 or 1");
	put("vdb", "ro", "0\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), 0, "a writable disk is found");
	ok(!d.readonly, "and said to be writable");

	disk("vdc", "dshield-layers\n", "254:32\n", "8\n", "1\n");
	is_int(layers_find_disk(root, "dshield-layers", &d, err, sizeof err), -EEXIST,
	       "two disks with the serial: refused");
	is_int(layers_find_disk("/nonexistent-sys-block", "dshield-layers", &d, err, sizeof err), -ENOENT,
	       "no sysfs directory");
}

static void test_fit(void)
{
	struct manifest_layer l = { .data_offset = 4096, .data_blocks = 28, .hash_offset = 118784,
				    .hash_blocks = 1 };
	char err[ERRBUF_LEN];

	is_int(layers_check_fit(&l, 122880, err, sizeof err), 0, "a layer that ends at the disk's end");
	is_int(layers_check_fit(&l, 122879, err, sizeof err), -ERANGE, "one byte short: refused");
	ok(strstr(err, "122880") != NULL, "the reason says how much is needed (%s)", err);
	l.hash_offset = 0;
	l.data_offset = 118784;
	is_int(layers_check_fit(&l, 118784 + 28 * 4096 - 1, err, sizeof err), -ERANGE,
	       "the data range past the end");
}

/* The status as netd gets it for /v1/info (IMSG_LAYERS_INFO). */
static void test_info(void)
{
	static struct layers_status st;
	static struct layers_info_msg m;

	memset(&st, 0, sizeof st);
	st.n = 2;
	st.available = 1;
	snprintf(st.l[0].name, sizeof st.l[0].name, "native");
	st.l[0].available = true;
	snprintf(st.l[1].name, sizeof st.l[1].name, "python");
	memset(st.l[1].reason, 'x', sizeof st.l[1].reason - 1);
	memset(&m, 0xff, sizeof m);
	layers_info(&st, &m);
	ok(m.n == 2 && m.available == 1, "info: counts");
	ok(strcmp(m.l[0].name, "native") == 0 && m.l[0].available == 1 && m.l[0].reason[0] == '\0',
	   "info: an available layer, no reason");
	ok(strcmp(m.l[1].name, "python") == 0 && m.l[1].available == 0 &&
	   strlen(m.l[1].reason) == LAYER_REASON_MAX - 1, "info: a reason of full length kept whole");
	ok(m.l[2].name[0] == '\0' && m.l[2].available == 0 && m.l[1].reserved[0] == 0,
	   "info: the rest of the message is zeros (no stale bytes to netd)");
	st.n = MANIFEST_MAX_LAYERS;
	layers_info(&st, &m);
	is_int((long)m.n, MANIFEST_MAX_LAYERS, "info: every layer of a full manifest fits");
}

int main(void)
{
	test_info();
	snprintf(root, sizeof root, "/tmp/test_layers.XXXXXX");
	if (!mkdtemp(root))
		return 2;
	test_find();
	test_fit();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		diag("could not remove %s", root);
	return tap_done();
}
