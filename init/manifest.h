/* init/manifest.h: the image manifest (/etc/dshield/manifest.json).
 *
 * The image builder writes the manifest into the initrd; the format is
 * specified in docs/IMAGE-MANIFEST.md. init hashes the exact bytes (the hash
 * goes into boot info and, later, into an RTMR event) and takes from it what
 * PID 1 needs: the kernel release, the modules to load in order with their
 * SHA-256, and the attestation switches. Keys init does not know are
 * ignored; keys it knows must have the documented type, must not repeat, and
 * the required ones must be present.
 *
 * Error convention: 0, or a negative errno, every error logged with dlog()
 * naming the key (e.g. "modules[2].sha256"):
 *   -EINVAL  not JSON, wrong type, bad value, missing or repeated key; a
 *            policy that does not validate, is not in its canonical form
 *            or does not match policy_sha256
 *   -E2BIG   more than MANIFEST_MAX_MODULES modules, MANIFEST_MAX_LAYERS
 *            layers or MANIFEST_MAX_TOKENS
 *            JSON tokens, or nesting deeper than MANIFEST_MAX_DEPTH
 *   -EFBIG   more than MANIFEST_MAX_BYTES bytes
 *   -ENOMEM, or the errno of open/read for manifest_load
 */
#ifndef DSHIELD_INIT_MANIFEST_H
#define DSHIELD_INIT_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/policy.h"

#define MANIFEST_PATH        "/etc/dshield/manifest.json"
#define MANIFEST_FORMAT      1
#define MANIFEST_MAX_BYTES   (1u << 20)
#define MANIFEST_MAX_MODULES 64
#define MANIFEST_MAX_TOKENS  65536
#define MANIFEST_MAX_DEPTH   16
#define MANIFEST_MAX_LAYERS  8
#define LAYER_BLOCK          4096u
/* Offsets and sizes of layers stay far below overflow: 2^50 bytes. */
#define LAYER_MAX_BYTES      (1ull << 50)

struct manifest_module {
	char name[64];      /* module name, [A-Za-z0-9_-], for logs */
	char path[256];     /* absolute, under /lib/modules/<release>/, ends ".ko" */
	uint8_t sha256[32]; /* SHA-256 of the uncompressed .ko file */
	bool optional;      /* absent device (ENODEV/ENXIO) is not an error */
};

/* One runtime layer of the layer disk (docs/LAYERS.md): an EROFS image at
 * data_offset, its dm-verity hash tree (SHA-256, 4096-byte blocks, format
 * 1, salt first) at hash_offset. Both ranges are block aligned, inside
 * LAYER_MAX_BYTES and disjoint from each other and from every other
 * layer's; hash_blocks is what the tree of data_blocks takes. */
struct manifest_layer {
	char name[32];             /* [a-z0-9][a-z0-9_-]*: /run/layers/<name> */
	uint64_t data_offset;      /* bytes */
	uint64_t data_blocks;
	uint64_t hash_offset;      /* bytes */
	uint64_t hash_blocks;
	uint8_t root_hash[32];
	uint8_t salt[32];
	bool has_entry;
	char entry_path[256];      /* relative to the layer's root */
	uint8_t entry_sha256[32];
};

struct manifest {
	uint8_t sha256[32];        /* SHA-256 of the exact manifest bytes */
	char dshield_version[32];  /* "dshield_version", e.g. "0.1.0" */
	char release[64];          /* kernel.release, `uname -r` of the image kernel */
	struct manifest_module modules[MANIFEST_MAX_MODULES]; /* in load order */
	unsigned nmodules;         /* entries used in modules[] */
	struct manifest_layer layers[MANIFEST_MAX_LAYERS];
	unsigned nlayers;          /* entries used in layers[]; 0: no "layers" */
	/* The policy's attestation.allow_sim; in a manifest without a policy
	 * (hand-written ones: host mode, tests), attestation.allow_sim. */
	bool allow_sim;
	bool has_policy;           /* "policy" and "policy_sha256" are present */
	uint8_t policy_sha256[32]; /* SHA-256 of the policy's canonical bytes */
	struct policy policy;      /* the parsed policy (~97 KiB) */
};

/* Parses json[0..len) into *m (zeroed first) and stores the SHA-256 of
 * those bytes in m->sha256. len may exceed the text by nothing: the bytes
 * must be exactly one JSON object, surrounding whitespace allowed. */
int manifest_parse(const char *json, size_t len, struct manifest *m);

/* Reads the regular file at path (at most MANIFEST_MAX_BYTES) and parses
 * it with manifest_parse(). */
int manifest_load(const char *path, struct manifest *m);

#endif
