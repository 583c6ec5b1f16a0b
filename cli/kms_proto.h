/* cli/kms_proto.h: the formats of `dshield kms` (docs/KMS.md), pure: the
 * parts of a key request that are the KMS's own (the quote, event log,
 * preimage and log key are read by cli/quote_input.c, the form `dshield
 * verify` takes), freshness records, a per-instance state record, and the
 * disk key derivation. Every parser is bounded and takes untrusted bytes.
 */
#ifndef DSHIELD_CLI_KMS_PROTO_H
#define DSHIELD_CLI_KMS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/checkpoint.h"
#include "crypto/key_wrap.h"
#include "crypto/kms_fresh.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "lib/json_tok.h"

#define KMS_VERSION     1
#define KMS_ROOT_KEY_LEN 32
#define KMS_DISK_SALT   "dshield-kms-disk-key-v1"
#define KMS_TOKENS      512
#define KMS_LOG_KEY_MAX 400           /* a vkey as a request may carry it, NUL included */

/* One allowlisted measurements.json (docs/MEASURE.md): MRTD, RTMR1 and
 * RTMR2 must be given; RTMR0 is compared when the file has it (a value
 * `dshield measure` does not predict: add it by hand to pin the VM's
 * firmware configuration). */
struct kms_allow {
	uint8_t mrtd[48], rtmr0[48], rtmr1[48], rtmr2[48];
	bool has_rtmr0;
};

/* What a key request says beyond the `dshield verify` evidence. */
struct kms_key_req {
	uint8_t eph_pub[KW_PUB_LEN];      /* "ephemeral_key": hex, uncompressed */
	uint8_t nonce[KW_NONCE_LEN];      /* "nonce": hex */
	char app_id[KMS_ID_MAX + 1];
	char instance_id[KMS_ID_MAX + 1];
	const char *collateral;           /* "collateral": its JSON text in the body, or NULL */
	size_t collateral_len;
};

/* The KMS's record of one instance (state/instances/<id>.json). */
struct kms_instance {
	char app_id[KMS_ID_MAX + 1];
	char instance_id[KMS_ID_MAX + 1];
	char log_key[KMS_LOG_KEY_MAX];    /* vkey, "" when none was bound yet */
	char record[KMS_RECORD_MAX + 1];  /* the latest freshness note, "" when none */
	size_t record_len;
	uint64_t releases;                /* key releases so far */
};


/* Parses a measurements.json for the allowlist. 0 or -EINVAL with a
 * reason (a null or missing MRTD is refused: it would allow any firmware). */
int kms_allow_parse(struct kms_allow *a, const char *js, size_t len,
		    jsmntok_t *toks, unsigned ntoks, char *err, size_t errlen);
/* Does a quote's MRTD, RTMR1, RTMR2 (and RTMR0 when given) match? */
bool kms_allow_match(const struct kms_allow *a, const uint8_t *mrtd,
		     const uint8_t *const rtmr[4]);

/* Parses the KMS part of a key request body (JSON). toks: scratch of
 * ntoks tokens. 0 or -EINVAL with a reason. */
int kms_key_req_parse(struct kms_key_req *r, const char *body, size_t len,
		      jsmntok_t *toks, unsigned ntoks, char *err, size_t errlen);

/* The RTMR3 events of the request's JSON event log (already replayed to
 * the quote's RTMR3) that name what it asks for: the first "instance-id"
 * event's payload, in lowercase hex, must be instance_id and the first
 * "app-id" event's payload must be app_id, so a VM gets only the key of
 * the instance and application it measured. 0, or -EACCES with *code
 * "instance_id" or "app_id" and a reason (-EINVAL, *code "event_log":
 * the log does not parse). */
int kms_log_binds(const char *json, size_t len, const struct kms_key_req *r,
		  const char **code, char *err, size_t errlen);

/* A POST /v1/freshness body, {"version": 1, "record": "<note>"}: the
 * note (unescaped) into rec[0..KMS_RECORD_MAX]. Returns its length or
 * -EINVAL with a reason. */
long kms_fresh_req_parse(char rec[KMS_RECORD_MAX + 1], const char *body, size_t len,
			 jsmntok_t *toks, unsigned ntoks, char *err, size_t errlen);

/* kms_fresh_peek, kms_fresh_open, kms_fresh_compare: crypto/kms_fresh.h. */

/* The disk key of (app, instance): HKDF-SHA256(salt KMS_DISK_SALT, ikm
 * root, info = len8 app || app || len8 instance || instance), 64 bytes. */
void kms_disk_key(uint8_t key[KW_KEY_LEN], const uint8_t root[KMS_ROOT_KEY_LEN],
		  const char *app_id, const char *instance_id);

/* kms_reply_ctx: crypto/key_wrap.h (the guest computes it too). */

/* Writes an instance record as JSON. Its length, or -ENOSPC. */
long kms_instance_format(char *out, size_t cap, const struct kms_instance *in);
/* Parses one. 0 or -EINVAL with a reason. */
int kms_instance_parse(struct kms_instance *in, const char *js, size_t len,
		       jsmntok_t *toks, unsigned ntoks, char *err, size_t errlen);

#endif
