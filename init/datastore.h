/* init/datastore.h: the encrypted store, opened by init at boot (docs/STORE.md).
 *
 * A boot phase that may fail without stopping the boot. When the policy
 * has a "store" section:
 *
 *   1. the data disk is the virtio disk whose serial is "dshield-data"
 *      (layers_find_disk: one rule for both disks, whatever order the
 *      kernel probes them in); none → no store, state stays on tmpfs;
 *   2. the expected instance id: QEMU's fw_cfg file opt/dshield/instance
 *      (64 hex digits), when the host gives one;
 *   3. the disk key from the policy's key provider (datastore_key_get);
 *   4. sector 0 is the header (fs/store_hdr.h): blank → first boot of this
 *      instance: dm-crypt with fresh subkeys, mke2fs, then the header
 *      written and synced (a crash before that leaves a blank header, and
 *      the next boot formats again); otherwise the header must verify and
 *      pass the policy's checks, then dm-crypt; with the policy's
 *      store.integrity "hmac-sha256", dm-crypt sits on a dm-integrity
 *      device (fs/integrity.h), formatted and written once on a first boot;
 *   5. ext4 on /dev/dm-N mounted nodev,nosuid,noexec on /run/store.
 * Any refusal: a console line "store: REFUSED: reason", the same reason in
 * /v1/info, nothing left mounted or mapped, and the roles whose state is
 * on the store are held (never started); netd and keyd run, PID 1 stays.
 */
#ifndef DSHIELD_INIT_DATASTORE_H
#define DSHIELD_INIT_DATASTORE_H

#include "crypto/policy.h"
#include "fs/store_hdr.h"
#include "lib/errbuf.h"
#include "proto/init_netd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_DISK_SERIAL   "dshield-data"
#define STORE_MOUNT_DIR     "/run/store"
#define STORE_DM_NAME       "store"
#define STORE_DM_INTEGRITY_NAME "store-integrity"	/* under "store" with integrity */
#define STORE_MKE2FS        "/sbin/mke2fs"
#define STORE_INSTANCE_FWCFG "/sys/firmware/qemu_fw_cfg/by_name/opt/dshield/instance/raw"
#define STORE_MKE2FS_TIMEOUT_MS 600000u
#define STORE_EXT4_SB_OFF   1024	/* ext4's superblock: where, how long */
#define STORE_EXT4_SB_LEN   1024

struct datastore_status {
	enum store_info_state state;
	enum policy_key_provider provider;
	bool has_instance;
	uint8_t instance[STORE_INSTANCE_LEN];
	uint64_t data_bytes;		/* what ext4 has: the dm-crypt device's size */
	uint32_t integrity;		/* the header's mode, STORE_INTEGRITY_* */
	bool prjquota;			/* mounted prjquota: the data directories' quotas */
	/* pending: the header's generation as it claims (0 for a blank disk;
	 * its MAC is checked when the key comes), for keyd's freshness records */
	uint64_t generation;
	char disk[32];
	char reason[ERRBUF_LEN];	/* why, when refused */
	/* open, with the policy's kms.on_rollback "flag": the log is not the
	 * one the KMS's freshness record names (why), and every report says so */
	bool rollback;
	char rollback_why[ERRBUF_LEN];
	/* open or formatted: sandboxd's key for sealing secrets
	 * (datastore_secrets_key); the caller hands it over and wipes it */
	bool has_seal_key;
	uint8_t seal_key[32];
};

#define STORE_SECRETS_INFO "dshield-store/v1 secrets"

/* The per-purpose key sandboxd seals secret values with, from the header
 * keys' seal subkey: HKDF-SHA256(IKM = seal, no salt, info =
 * STORE_SECRETS_INFO, 32 bytes). */
void datastore_secrets_key(const uint8_t seal[32], uint8_t out[32]);

/* The key-provider seam: the provider's 64-byte disk key for this
 * instance (the host's, else the header's, else a new one for a blank
 * disk), or a refusal with its reason. dev: the policy's key. kms:
 * -EINPROGRESS (the key comes later, through the roles: datastore_open
 * stops before the key, datastore_finish takes it). The caller wipes key. */
int datastore_key_get(const struct policy_store *ps, const uint8_t instance[STORE_INSTANCE_LEN],
		  uint8_t key[STORE_KEY_LEN], char *err, size_t errlen);

/* Opens (or on a first boot, formats) the store; fills st. Never fails as
 * a whole. With the key provider kms it stops before the key: st->state
 * STORE_INFO_PENDING with the instance chosen (the host's, the header's
 * or a new one), the disk kept open for datastore_finish (in a forked
 * child: docs/STORE.md "Key provider kms") or datastore_refuse. */
void datastore_open(const struct policy *p, struct datastore_status *st);

/* A pending store with the KMS's key: the rest of datastore_open (format
 * or open, mount), st filled; 0, or the refusal's errno (st says why,
 * nothing left mapped or mounted). Everything key-derived is wiped but
 * st->seal_key. */
int datastore_finish(const struct policy *p, const uint8_t key[STORE_KEY_LEN],
		     struct datastore_status *st);

/* A pending store that gets no key: refused with why, the disk closed. */
void datastore_refuse(struct datastore_status *st, const char *why);

/* Closes what a pending store holds once a child finished it (the child's
 * mount and mapping stay: they are the system's, not the process's). */
void datastore_forget(void);

/* The one line every report uses: "store: none (tmpfs, lost at
 * poweroff)", "store: vdb, 1 GiB, aes-xts-plain64, key from dev
 * (insecure dev key), mounted on /run/store", "store: REFUSED: ...". */
void datastore_summary(const struct datastore_status *st, char *out, size_t cap);

/* st as netd gets it for /v1/info (IMSG_STORE_INFO). */
void datastore_info(const struct datastore_status *st, struct store_info_msg *out);

/* Does this ext4 superblock (STORE_EXT4_SB_LEN bytes from
 * STORE_EXT4_SB_OFF) carry project quotas: the quota and project
 * read-only-compatible features and a project quota inode? 1 yes, 0 no,
 * -EINVAL not ext4's magic. Fixed offsets only (the store is decrypted,
 * not authenticated: any bytes). */
int datastore_ext4_prjquota(const uint8_t sb[STORE_EXT4_SB_LEN]);

/* Parses the fw_cfg instance file's bytes: 64 hex digits, one trailing
 * newline allowed. 0 or -EINVAL. */
int datastore_parse_instance(const char *buf, size_t len, uint8_t out[STORE_INSTANCE_LEN]);

#endif
