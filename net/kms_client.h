/* net/kms_client.h: netd's side of the key provider kms (docs/STORE.md
 * "Key provider kms"): what a `dshield kms` reply (docs/KMS.md "POST
 * /v1/keys") says, reduced to the fixed-size struct init takes.
 *
 * The reply comes from the network: everything is bounded (the body by
 * KMS_REPLY_MAX, the JSON by KMS_REPLY_TOKENS), a 200 must carry exactly
 * one 151-byte wrapped key and a freshness string of at most 1024 bytes or
 * null, and a refusal's code and message are copied as printable ASCII
 * only. Nothing here is trusted: init opens the blob with its ephemeral
 * key and the pinned KMS key, which authenticates the key and the
 * freshness record together.
 */
#ifndef DSHIELD_NET_KMS_CLIENT_H
#define DSHIELD_NET_KMS_CLIENT_H

#include <stddef.h>

#include "proto/init_netd.h"

#define KMS_REPLY_MAX    (16 * 1024)
#define KMS_REPLY_TOKENS 64

/* Fills out from the HTTP status and body of a reply. Returns out->error:
 * 0 (a key), -EACCES (the KMS refused: 403), -EPROTO (another status, a
 * refusal without the error shape) or -EBADMSG (a 200 that is not a key
 * reply). out->reason says it in one line in every case but 0. */
int kms_reply_parse(struct netd_kms_reply_msg *out, unsigned status, const char *body,
		    size_t len);

#endif
