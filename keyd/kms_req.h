/* keyd/kms_req.h: the body of a POST /v1/keys request to `dshield kms`
 * (docs/KMS.md), written from what keyd quoted. Pure: no I/O.
 */
#ifndef DSHIELD_KEYD_KMS_REQ_H
#define DSHIELD_KEYD_KMS_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/reportdata.h"
#include "crypto/rtmr3.h"

struct kms_req_parts {
	const uint8_t *quote;
	size_t quote_len;
	const struct rtmr3_log *log;          /* the log the quote's RTMR3 replays */
	const struct reportdata_in *pre;      /* the preimage of the quote's REPORTDATA */
	const char *log_vkey;                 /* the log key (slot 4's), or NULL */
	const uint8_t *eph_pub;               /* 65 bytes */
	const uint8_t *nonce;                 /* 32 bytes */
	const char *app_id;                   /* the app-id event's payload */
	const uint8_t *instance;              /* the instance-id event's payload, */
	size_t instance_len;                  /* sent as lowercase hex */
};

/* Writes the JSON object into out (NUL terminated). Returns its length, or
 * -ENOSPC (cap too small) / -EINVAL (the log does not render). */
long kms_req_json(char *out, size_t cap, char *scratch, size_t scratch_cap,
		  const struct kms_req_parts *p);

#endif
