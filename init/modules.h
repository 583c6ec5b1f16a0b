/* init/modules.h: load the manifest's kernel modules, each one verified.
 *
 * For each module, in manifest order: read the whole .ko (uncompressed,
 * at most MODULES_MAX_BYTES), compare its SHA-256 with the manifest, and
 * hand the kernel exactly the bytes that were hashed (init_module from
 * memory rather than finit_module on the path: nothing can change the file
 * between the check and the load). A hash mismatch is fatal even for an
 * optional module: the image is then not what was measured.
 *
 * Outcomes per module: loaded; EEXIST (already loaded / built in) is fine;
 * for an optional module ENODEV or ENXIO (its device is absent, e.g.
 * tdx_guest on a VM without TDX) is logged and skipped; anything else stops.
 * Each module's name, size and load time are logged.
 *
 * Error convention: 0 or a negative errno. -EBADMSG for a hash mismatch,
 * -EFBIG for a file over MODULES_MAX_BYTES, -EINVAL for a file that is not
 * regular, otherwise the errno of open/read or of the kernel's init_module.
 */
#ifndef DSHIELD_INIT_MODULES_H
#define DSHIELD_INIT_MODULES_H

#include "init/manifest.h"

#define MODULES_MAX_BYTES (64u << 20)

int modules_load(const struct manifest *m);

/* The checked read alone: reads mod->path into a new buffer (*buf, *len;
 * free() it) and verifies its SHA-256. For tests and for modules_load. */
int modules_read_verified(const struct manifest_module *mod, void **buf, size_t *len);

#endif
