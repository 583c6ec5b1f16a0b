/* proto/init_sandboxd.h: the lifecycle protocol between init and sandboxd.
 *
 * Fixed-size payloads only. init tells sandboxd where the policy and the
 * runtime layers are (inside sandboxd's view) and the policy's hash, which
 * sandboxd checks against the bytes it reads; sandboxd reports which
 * runtimes it can serve.
 */
#ifndef DSHIELD_PROTO_INIT_SANDBOXD_H
#define DSHIELD_PROTO_INIT_SANDBOXD_H

#include <stdint.h>

#include "proto/role.h"

/* Where init keeps what sandboxd's view binds (in the VM; host mode
 * rebinds the sources, init/supervisor.h), and where they are in the view. */
#define SANDBOXD_POLICY_SRC  "/run/policy.json"
#define SANDBOXD_LAYERS_SRC  "/run/layers"
#define SANDBOXD_CGROUP_SRC  "/sys/fs/cgroup/dshield-fn"
#define SANDBOXD_POLICY_PATH "/policy.json"
#define SANDBOXD_LAYERS_DIR  "/layers"       /* one tree per runtime: /layers/<name>/ */
#define SANDBOXD_CGROUP_DIR  "/cgroup"
#define SANDBOXD_STATE_DIR   "/state"       /* tmpfs: code copies, the sandbox root */
#define SANDBOXD_STORE_DIR   "/store"       /* functions, secrets, tokens: the encrypted
                                             * store when there is one (docs/STORE.md) */

enum init_sandboxd_imsg_type {
	IMSG_SANDBOXD_CONFIG = IMSG_RANGE_INIT_SANDBOXD, /* init -> sandboxd: struct sandboxd_config_msg */
	IMSG_SANDBOXD_STATUS,  /* sandboxd -> init: struct sandboxd_status_msg */
};

/* How sandboxd keeps secret values at rest (docs/STORE.md, "Sealed secrets"). */
enum sandboxd_sealing {
	SBXD_SEALING_TMPFS = 0,    /* no data disk: unsealed, on tmpfs, lost at poweroff */
	SBXD_SEALING_HOST,         /* host mode: unsealed, in the host's state directory */
	SBXD_SEALING_AES_GCM,      /* the encrypted store: AES-256-GCM with seal_key */
	SBXD_SEALING_N,
};

struct sandboxd_config_msg {
	uint8_t policy_sha256[32]; /* of the canonical policy at /policy.json in its view */
	/* SBXD_SEALING_AES_GCM: HKDF-SHA256(IKM = the store's seal subkey, no
	 * salt, info "dshield-store/v1 secrets", 32 bytes) (init/datastore.h);
	 * zero otherwise. Only ever in this message: never on a disk. */
	uint8_t seal_key[32];
	uint8_t has_policy;        /* 0: no policy (host mode without one): functions refused */
	uint8_t limits_required;   /* 1: refuse to run functions if cgroup limits cannot be enforced (the VM) */
	uint8_t sealing;           /* enum sandboxd_sealing */
	uint8_t reserved[5];
};

/* Sent when sandboxd serves requests, and when a runtime's state changes. */
struct sandboxd_status_msg {
	uint32_t runtimes_available;  /* bit set of enum policy_runtime */
	uint32_t functions;           /* deployed */
	uint8_t limits_enforced;      /* cgroup v2 limits in force */
	uint8_t reserved[7];
};

#endif
