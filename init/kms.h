/* init/kms.h: init's half of the key provider kms (docs/STORE.md "Key
 * provider kms"): the ephemeral key pair and nonce of one exchange, the
 * requests for keyd and netd, and the opening of netd's answer into the
 * disk key. Pure but for getrandom; no I/O.
 *
 * The private half never leaves struct kms_exchange, which the caller
 * wipes (kms_exchange_wipe) on every path. kms_exchange_open is meant to
 * run in a forked child of PID 1 (docs/STORE.md step 7), so the disk key
 * never exists in PID 1's memory.
 */
#ifndef DSHIELD_INIT_KMS_H
#define DSHIELD_INIT_KMS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/key_wrap.h"
#include "crypto/policy.h"
#include "proto/init_keyd.h"
#include "proto/init_netd.h"

struct kms_exchange {
	uint8_t eph_priv[KW_PRIV_LEN];
	uint8_t eph_pub[KW_PUB_LEN];
	uint8_t kms_pub[KW_PUB_LEN];
	uint8_t nonce[KW_NONCE_LEN];
};

/* A fresh ephemeral key pair and nonce for the policy's KMS, and the two
 * requests: keyd's (R, S, N) and netd's (where to post). 0, or a negative
 * errno with a reason (not a kms policy, getrandom failed). */
int kms_exchange_begin(struct kms_exchange *x, const struct policy_store *ps,
		       struct keyd_kms_req_msg *kreq, struct netd_kms_req_msg *nreq,
		       char *err, size_t errlen);

/* netd's answer opened with x: the disk key into key. 0, or a negative
 * errno with the reason (the KMS's refusal or netd's transport error as
 * netd gave it, a freshness length out of bounds, or key_wrap_open's
 * reason: not the pinned KMS, not this request); key is zeroed then. */
int kms_exchange_open(const struct kms_exchange *x, const struct netd_kms_reply_msg *rep,
		      uint8_t key[KW_KEY_LEN], char *err, size_t errlen);

void kms_exchange_wipe(struct kms_exchange *x);

#endif
