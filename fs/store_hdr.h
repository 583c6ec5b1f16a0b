/* fs/store_hdr.h: the header of the encrypted store's data disk
 * (docs/STORE.md).
 *
 * The data disk is: one 512-byte header in sector 0, the rest of the first
 * MiB unused, then the dm-crypt area (data_offset .. data_offset +
 * data_sectors). The header is not secret; it is authenticated with an
 * HMAC-SHA256 under a key derived from the key provider's 64-byte disk
 * key, so a host that edits any byte of it (the cipher, the sizes, the
 * instance) without that key is refused.
 *
 * Layout (integers little-endian, strings ASCII padded with NUL bytes and
 * holding at least one NUL):
 *
 *   offset size  field
 *        0    8  magic "DSHSTORE"
 *        8    4  version, 1
 *       12    4  header length, 512
 *       16   32  instance id (docs/STORE.md: where it comes from)
 *       48   32  cipher, "aes-xts-plain64"
 *       80    4  key size in bits, 512
 *       84    4  encryption sector size in bytes, 512
 *       88    8  data offset in 512-byte sectors (>= 8, a multiple of 8)
 *       96    8  data size in 512-byte sectors (> 0)
 *      104    4  KDF, 1 = HKDF-SHA256 (below)
 *      108    4  integrity mode, 0 = none, 1 = hmac-sha256 (dm-integrity
 *                under dm-crypt, docs/STORE.md "Integrity")
 *      112   32  KDF salt (random, chosen when the disk is formatted)
 *      144   16  key provider id, "dev" or "kms"
 *      160    8  generation (0 when formatted; kept for rollback work)
 *      168    8  integrity data size in sectors: what dm-integrity provides
 *                of the data area (the dm-crypt size); 0 with mode 0
 *      176  304  reserved, zero
 *      480   32  HMAC-SHA256 over bytes 0..479 with the MAC subkey
 *
 * Key derivation (HKDF-SHA256, RFC 5869), from the provider's 64-byte key
 * K, the header's KDF salt S and instance id I:
 *   PRK   = HKDF-Extract(salt = S || I, IKM = K)
 *   crypt = HKDF-Expand(PRK, "dshield-store/v1 dm-crypt key", 64)
 *   mac   = HKDF-Expand(PRK, "dshield-store/v1 header mac key", 32)
 *   seal  = HKDF-Expand(PRK, "dshield-store/v1 seal key", 32)
 *   integ = HKDF-Expand(PRK, "dshield-store/v1 dm-integrity key", 32)
 *   jmac  = HKDF-Expand(PRK, "dshield-store/v1 dm-integrity journal mac key", 32)
 * The instance is in the salt, so two instances given the same provider
 * key (the dev provider) still get unrelated disk keys.
 *
 * Checks, in order, each with its own error:
 *   -ENODATA          all 512 bytes zero: a blank disk
 *   -EILSEQ           another magic: not a dshield store
 *   -EPROTONOSUPPORT  another version
 *   -EINVAL           a field out of its bounds (length, strings, sizes,
 *                     KDF, integrity mode, sector size, reserved bytes)
 *   -EBADMSG          the MAC does not verify: the wrong key or a header
 *                     changed by someone without the key
 *   -EPERM            a cipher, key size or integrity mode other than the
 *                     policy's (even under a valid MAC: whoever holds a dev
 *                     key could write one that says "cipher_null", or
 *                     integrity none)
 *   -EXDEV            another instance's disk
 *   -ERANGE           the disk is smaller than the header says
 * The MAC is checked before the fields it covers are believed; the
 * structural checks before it only decide whether there is a MAC to check.
 *
 * Pure code but for the HMAC and HKDF of BearSSL: no I/O, no allocation.
 * Key material lives in the caller's buffers; store_keys_wipe() clears it.
 */
#ifndef DSHIELD_FS_STORE_HDR_H
#define DSHIELD_FS_STORE_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_HDR_SIZE        512
#define STORE_HDR_MAC_OFF     480
#define STORE_HDR_MAGIC       "DSHSTORE"
#define STORE_HDR_VERSION     1
#define STORE_KEY_LEN         64	/* the key provider's disk key */
#define STORE_INSTANCE_LEN    32
#define STORE_CIPHER_MAX      32	/* field size, NUL included */
#define STORE_PROVIDER_MAX    16	/* field size, NUL included */
#define STORE_KDF_HKDF_SHA256 1
#define STORE_INTEGRITY_NONE        0	/* the integrity mode field */
#define STORE_INTEGRITY_HMAC_SHA256 1
#define STORE_SECTOR          512u
#define STORE_DATA_OFFSET     2048u	/* sectors: the dm-crypt area starts at 1 MiB */
#define STORE_MAX_SECTORS     (1ull << 40)	/* 512 TiB: bounds every sum */

/* What the policy allows (crypto/policy.h, store.cipher). */
#define STORE_CIPHER          "aes-xts-plain64"
#define STORE_KEY_BITS        512

struct store_hdr {
	uint32_t version;
	uint8_t instance[STORE_INSTANCE_LEN];
	char cipher[STORE_CIPHER_MAX];
	uint32_t key_bits;
	uint32_t sector_size;
	uint64_t data_offset;		/* sectors */
	uint64_t data_sectors;
	uint32_t kdf;
	uint32_t integrity;
	uint8_t kdf_salt[32];
	char provider[STORE_PROVIDER_MAX];
	uint64_t generation;
	uint64_t integ_sectors;		/* what dm-integrity provides; 0: none */
};

/* The subkeys of one disk (see above). */
struct store_keys {
	uint8_t crypt[64];
	uint8_t mac[32];
	uint8_t seal[32];
	uint8_t integ[32];		/* dm-integrity's internal_hash hmac(sha256) */
	uint8_t jmac[32];		/* dm-integrity's journal_mac hmac(sha256) */
};

/* What this boot expects of the header. */
struct store_expect {
	const char *cipher;		/* the policy's */
	uint32_t key_bits;
	const uint8_t *instance;	/* STORE_INSTANCE_LEN bytes, or NULL: any */
	uint64_t disk_sectors;		/* the whole data disk */
	uint32_t integrity;		/* the policy's mode, STORE_INTEGRITY_* */
};

/* A fresh header for a disk of disk_sectors: the default data offset, the
 * rest of the disk as data, generation 0. Returns 0 or -ERANGE (a disk too
 * small for the header and one 4 KiB block, or too large). */
int store_hdr_init(struct store_hdr *h, uint64_t disk_sectors,
		   const uint8_t instance[STORE_INSTANCE_LEN], const uint8_t salt[32],
		   const char *provider);

/* The subkeys from the provider's key and the header's salt and
 * instance. */
void store_derive(const uint8_t key[STORE_KEY_LEN], const struct store_hdr *h,
		  struct store_keys *k);
void store_keys_wipe(struct store_keys *k);

/* Writes h with its MAC into out. Returns 0 or -EINVAL when a field is out
 * of the bounds the parser enforces (a header it would refuse). */
int store_hdr_encode(const struct store_hdr *h, const uint8_t mac_key[32],
		     uint8_t out[STORE_HDR_SIZE]);

/* The structural part: blank, magic, version, bounds (errors above, up to
 * -EINVAL). Fills *h; the MAC is not checked. */
int store_hdr_parse(const uint8_t in[STORE_HDR_SIZE], struct store_hdr *h, char *err,
		    size_t errlen);

/* 0 when in's MAC verifies under mac_key, else -EBADMSG (constant time). */
int store_hdr_verify_mac(const uint8_t in[STORE_HDR_SIZE], const uint8_t mac_key[32]);

/* The policy's checks on a header whose MAC verified: -EPERM, -EXDEV,
 * -ERANGE (see above). */
int store_hdr_check(const struct store_hdr *h, const struct store_expect *e, char *err,
		    size_t errlen);

/* All of it: parse, derive the subkeys, verify the MAC, check. On success
 * *k holds the subkeys (the caller wipes them); on failure *k is wiped. */
int store_hdr_open(const uint8_t in[STORE_HDR_SIZE], const uint8_t key[STORE_KEY_LEN],
		   const struct store_expect *e, struct store_hdr *h, struct store_keys *k,
		   char *err, size_t errlen);

/* "none", "hmac-sha256" (the policy's spelling), "?" for another. */
const char *store_integrity_name(uint32_t mode);

/* A short name of an error above ("blank", "bad magic", "unknown version",
 * "malformed", "bad MAC", "cipher or integrity refused", "other instance", "disk too
 * small"), "error" for any other. */
const char *store_hdr_error_name(int code);

#endif
