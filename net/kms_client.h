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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "proto/init_netd.h"

#define KMS_REPLY_MAX    (16 * 1024)
#define KMS_REPLY_TOKENS 64

/* Fills out from the HTTP status and body of a reply. Returns out->error:
 * 0 (a key), -EACCES (the KMS refused: 403), -EPROTO (another status, a
 * refusal without the error shape) or -EBADMSG (a 200 that is not a key
 * reply). out->reason says it in one line in every case but 0. */
int kms_reply_parse(struct netd_kms_reply_msg *out, unsigned status, const char *body,
		    size_t len);

/* The request head for a body of body_len bytes: POST path, Host, a JSON
 * content type, the length and Connection: close (one request per
 * connection: a boot asks once). Returns its length, or -EINVAL (a host or
 * path with bytes that cannot go in a head) / -ENOSPC. */
long kms_http_head(char *out, size_t cap, const struct netd_kms_req_msg *req, size_t body_len);

/* The answer as it arrives, parsed by llhttp (HTTP_RESPONSE): interim 1xx
 * answers skipped, the body kept up to KMS_REPLY_MAX (more is an error,
 * not a truncation). */
struct kms_http {
	llhttp_t parser;
	unsigned status;
	bool done;
	bool too_big;
	size_t len;
	char body[KMS_REPLY_MAX];
};

void kms_http_init(struct kms_http *h);
/* Feeds bytes as they come. Returns 1 once the answer is complete (bytes
 * after it are ignored), 0 for more, -EBADMSG (not HTTP, or a body over
 * the bound) with a reason in err. */
int kms_http_feed(struct kms_http *h, const char *data, size_t len, char *err, size_t errlen);
/* The peer closed: 1 if that completes the answer (a body delimited by
 * the close), else -EPIPE with a reason. */
int kms_http_eof(struct kms_http *h, char *err, size_t errlen);

#endif
