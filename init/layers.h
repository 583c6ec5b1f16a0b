/* init/layers.h: open the runtime layers of the manifest (docs/LAYERS.md).
 *
 * A boot phase that may fail: a missing disk or a bad layer makes that
 * runtime unavailable, with a reason on the console and in the status,
 * and the boot goes on. For each layer of the manifest, in order:
 *
 *   1. the layer disk is the virtio disk whose serial is "dshield-layers"
 *      (found once, under /sys/block); every range of the layer must lie
 *      inside it;
 *   2. device-mapper: "layer-NAME-data" (linear, the layer's data range)
 *      and "layer-NAME" (verity, root hash and salt from the manifest),
 *      both read-only (fs/verity.h); DM_DEV_STATUS confirms a live,
 *      read-only table;
 *   3. block 0 is read through the verity device: a wrong root hash or a
 *      corrupted first block is an I/O error here, named as such;
 *   4. the EROFS image is mounted read-only, nodev, nosuid on
 *      /run/layers/NAME and its root directory is read;
 *   5. with an "entry" in the manifest, that file is read through the
 *      mount and its SHA-256 compared (the runtime's interpreter is there
 *      and reads back as built).
 * A failure at any step undoes the earlier ones for that layer.
 */
#ifndef DSHIELD_INIT_LAYERS_H
#define DSHIELD_INIT_LAYERS_H

#include "init/manifest.h"
#include "proto/init_netd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LAYERS_DISK_SERIAL "dshield-layers"
#define LAYERS_SYS_BLOCK   "/sys/block"
#define LAYERS_MOUNT_DIR   "/run/layers"
#define LAYER_REASON_MAX   160	/* = ERRBUF_LEN */

/* What /v1/info reports per runtime (through layers_info()): fixed size,
 * no pointers. */
struct layer_status {
	char name[32];
	bool available;
	char reason[LAYER_REASON_MAX];	/* why not, when unavailable */
};

struct layers_status {
	unsigned n;			/* = manifest nlayers */
	unsigned available;
	struct layer_status l[MANIFEST_MAX_LAYERS];
};

struct layers_disk {
	char name[32];		/* e.g. "vda" */
	dev_t dev;
	uint64_t bytes;
	bool readonly;
};

/* st as netd gets it for /v1/info (IMSG_LAYERS_INFO). */
void layers_info(const struct layers_status *st, struct layers_info_msg *out);

/* Opens every layer of m; fills st. Never fails as a whole. */
void layers_open_all(const struct manifest *m, struct layers_status *st);

/* Finds the block device under sys_block (LAYERS_SYS_BLOCK, or a test
 * tree) whose "serial" is serial: its name, number ("dev"), size ("size",
 * in 512-byte sectors) and "ro". Returns 0, -ENOENT when none matches,
 * -EEXIST when two do, or another negative errno; reason in err. */
int layers_find_disk(const char *sys_block, const char *serial, struct layers_disk *d,
		     char *err, size_t errlen);

/* Checks that the layer's data and hash ranges lie inside a disk of
 * disk_bytes bytes. 0 or -ERANGE with the reason in err. */
int layers_check_fit(const struct manifest_layer *l, uint64_t disk_bytes, char *err,
		     size_t errlen);

#endif
