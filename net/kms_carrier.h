/* net/kms_carrier.h: netd carries one KMS key request (docs/STORE.md "Key
 * provider kms", step 6) over lwIP: resolve the host with netd's DNS
 * (lwIP's resolver, the servers from DHCP or the command line), connect,
 * POST the body keyd wrote (read once from init's memfd), read a bounded
 * answer (net/kms_client.h) and reduce it to the fixed-size struct init
 * takes. One request at a time, with a deadline; every ending, good or
 * bad, is one call of the done hook with the struct filled in.
 *
 * HTTP, or HTTPS when the policy's URL says so (docs/STORE.md
 * "Transport"): TLS 1.2 with the egress proxy's client engine over the
 * same lwIP connection (net/tls_lwip.h), the certificate checked for the
 * URL's host against netd's trust anchors, or against the policy's pin of
 * the KMS's key (kms.tls_spki_sha256). Either way netd sees the public
 * quote and ciphertext only; init authenticates what comes back with the
 * pinned KMS key.
 */
#ifndef DSHIELD_NET_KMS_CARRIER_H
#define DSHIELD_NET_KMS_CARRIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/kms_client.h"
#include "proto/init_keyd.h"
#include "proto/init_netd.h"
#include "tls/engine.h"

#define KMS_CARRIER_TIMEOUT_MS 15000u   /* resolve, connect, send, answer */
#define KMS_CARRIER_HEAD_MAX   (NETD_KMS_HOST_MAX + NETD_KMS_PATH_MAX + 256)

struct tcp_pcb;
struct pbuf;

enum kms_carrier_state { KC_IDLE, KC_RESOLVING, KC_CONNECTING, KC_EXCHANGING };

struct kms_carrier {
	enum kms_carrier_state st;
	uint32_t id;                       /* init's request id, echoed; 0: a freshness post */
	bool fresh;                        /* POST /v1/freshness: 200 is all it says */
	struct netd_kms_req_msg req;
	struct tcp_pcb *pcb;
	size_t out_len, out_off;           /* head then body, in out */
	char out[KMS_CARRIER_HEAD_MAX + KEYD_KMS_BODY_MAX];
	struct kms_http http;
	struct netd_kms_reply_msg rep;
	/* https (req.tls): the client engine and what lwIP delivered for it */
	struct tls_conn tls;
	struct pbuf *down;                 /* ciphertext not yet fed */
	bool peer_eof, eof_told;
	uint8_t first[5];                  /* the first bytes the server sent */
	size_t first_len;
	const struct anchors *anchors;     /* netd's (kms_carrier_set_tls) */
	br_hmac_drbg_context *rng;
	/* called once per request, from start or from an lwIP callback */
	void (*done)(void *ctx, uint32_t id, const struct netd_kms_reply_msg *rep);
	void *ctx;
};

void kms_carrier_init(struct kms_carrier *k,
		      void (*done)(void *ctx, uint32_t id, const struct netd_kms_reply_msg *rep),
		      void *ctx);

/* For https requests: netd's trust anchors (filled in place when init
 * sends them) and its DRBG, both outliving k. Without anchors only a
 * request whose policy pins the KMS's key (has_pin) can succeed. */
void kms_carrier_set_tls(struct kms_carrier *k, const struct anchors *anchors,
			 br_hmac_drbg_context *rng);

/* Starts request id: the body is body_fd's bytes (at most
 * KEYD_KMS_BODY_MAX; read now, the descriptor stays the caller's). A
 * request while another is in flight, a host or path that is not
 * NUL-terminated, an unreadable body: answered at once (done with error
 * set). Never fails otherwise: the answer comes through done. */
void kms_carrier_start(struct kms_carrier *k, uint32_t id, const struct netd_kms_req_msg *req,
		       int body_fd);

/* Posts a freshness record (a signed note of at most 1024 bytes) as
 * {"version":1,"record":NOTE} to the sibling of the key request's path
 * named "freshness" (/v1/keys -> /v1/freshness, docs/KMS.md) at target's
 * host and port. -EBUSY while a request is in flight (nothing started),
 * -EINVAL for a note out of bounds; else 0, and done comes with id 0:
 * error 0 for a 200, else the KMS's refusal or netd's reason. */
int kms_carrier_post_freshness(struct kms_carrier *k, const struct netd_kms_req_msg *target,
			       const char *note, size_t len);

/* Ends a request in flight (netd stopping): no done call. */
void kms_carrier_cancel(struct kms_carrier *k);

#endif
