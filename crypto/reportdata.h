/* crypto/reportdata.h: the 64-byte REPORTDATA of a dshield quote.
 *
 * REPORTDATA binds a quote to the caller's nonce and to the keys and state
 * the VM vouches for. It is SHA-512 over a domain-separated, length-prefixed
 * encoding of a fixed list of fields (docs/VERIFY.md, "REPORTDATA"):
 *
 *   "dshield-reportdata-v1"                       21 bytes, no NUL
 *   for each field, in this order:
 *     tag u8 | present u8 (0 or 1) | length u32le | bytes
 *   1 nonce                 0..32 bytes (the API caller's)
 *   2 manifest_sha256       32 bytes: SHA-256 of the image manifest
 *   3 api_tls_spki_sha256   32 bytes (absent until the API serves TLS)
 *   4 log_key_sha256        32 bytes (absent until there is a log key)
 *   5 checkpoint            0..RD_CHECKPOINT_MAX bytes (absent until then)
 *   6 kms_request_sha256    32 bytes: SHA-256(RD_KMS_DOMAIN || the ephemeral
 *                           P-256 key (65) || the nonce (32)) of a key
 *                           request to the KMS (docs/KMS.md); absent in
 *                           every other quote
 *
 * An absent field is encoded as tag | 0 | 0 (length 0, no bytes), so absent
 * and present-but-empty differ (present is 1 with length 0). Every field is
 * always encoded, so adding a value to a slot never shifts another.
 */
#ifndef DSHIELD_CRYPTO_REPORTDATA_H
#define DSHIELD_CRYPTO_REPORTDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RD_LEN            64
#define RD_DOMAIN         "dshield-reportdata-v1"
#define RD_NONCE_MAX      32
#define RD_CHECKPOINT_MAX 4096
#define RD_KMS_DOMAIN     "dshield-kms-request-v1"

enum rd_field {
	RD_NONCE = 1,
	RD_MANIFEST_SHA256,
	RD_API_TLS_SPKI_SHA256,
	RD_LOG_KEY_SHA256,
	RD_CHECKPOINT,
	RD_KMS_REQUEST_SHA256,
	RD_NFIELDS = RD_KMS_REQUEST_SHA256
};

struct rd_value {
	bool present;
	const uint8_t *data;
	size_t len;
};

/* The preimage: f[i] is the field with tag i + 1. */
struct reportdata_in {
	struct rd_value f[RD_NFIELDS];
};

/* The field's JSON name ("nonce", ...), or NULL for an unknown tag. */
const char *reportdata_field_name(enum rd_field tag);

/* Computes REPORTDATA. Returns 0, or -EINVAL when a present field has a
 * length its slot does not allow (nonce > 32, a hash not 32 bytes,
 * checkpoint > RD_CHECKPOINT_MAX) or data is NULL with a length. */
int reportdata_compute(const struct reportdata_in *in, uint8_t out[RD_LEN]);

/* Slot 6's value for a KMS key request: SHA-256(RD_KMS_DOMAIN || eph_pub
 * || nonce), so the quote vouches that this VM made that key for that
 * request. */
void reportdata_kms_request(uint8_t out[32], const uint8_t eph_pub[65], const uint8_t nonce[32]);

#endif
