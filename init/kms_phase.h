/* init/kms_phase.h: the deferred boot phase of the key provider kms
 * (docs/STORE.md "Key provider kms", steps 3 to 8).
 *
 * datastore_open stopped before the key (STORE_INFO_PENDING) and the rows
 * that need the store are held. Once keyd serves and netd is ready:
 *   1. keyd gets the exchange's public values (IMSG_KEYD_KMS_REQ) and
 *      answers with the POST /v1/keys body in a sealed memfd (once a boot);
 *   2. netd carries that body to the policy's URL (IMSG_NETD_KMS_REQ) and
 *      answers with a fixed-size struct;
 *   3. a transport failure (no answer, an HTTP 5xx) is retried with a
 *      doubling delay, a console line each, until KMS_PHASE_GIVE_UP_MS
 *      after the first attempt; any other answer settles it at once;
 *   4. a key: a forked child opens the wrap and the store (the disk key
 *      never exists in PID 1), and hands back only the store's status
 *      through a pipe the supervisor watches: PID 1's loop runs on (reaps,
 *      relays, restarts) while the child formats, and a child past
 *      KMS_PHASE_CHILD_MS is killed (through its pidfd: never another
 *      process that got its pid after it was reaped).
 * Then settled() (init.c: the role directories on the store, sandboxd's
 * sealing key, /v1/info, the held rows released, or held for good with
 * the refusal's reason).
 */
#ifndef DSHIELD_INIT_KMS_PHASE_H
#define DSHIELD_INIT_KMS_PHASE_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/policy.h"
#include "init/datastore.h"
#include "init/kms.h"
#include "lib/imsg.h"

#define KMS_PHASE_RETRY_MIN_MS 1000u
#define KMS_PHASE_RETRY_MAX_MS 8000u
#define KMS_PHASE_GIVE_UP_MS   30000u
/* the child that formats or opens: mke2fs's bound and a minute more */
#define KMS_PHASE_CHILD_MS     (STORE_MKE2FS_TIMEOUT_MS + 60000u)

enum kms_phase_state {
	KP_OFF,            /* not the kms provider, or settled */
	KP_WAITING,        /* for keyd to serve and netd to be ready */
	KP_KEYD,           /* keyd asked for the body */
	KP_NETD,           /* netd asked to carry it */
	KP_BACKOFF,        /* waiting to ask netd again */
	KP_CHILD,          /* the child opens the store */
};

struct kms_phase {
	enum kms_phase_state st;
	const struct policy *policy;
	struct datastore_status *store;
	struct kms_exchange x;
	struct keyd_kms_req_msg kreq;
	struct netd_kms_req_msg nreq;
	bool keyd_up, netd_up;
	int body_fd;               /* keyd's memfd, -1 before */
	unsigned attempts;
	uint64_t t_keyd;           /* mono_ms() when keyd was asked */
	uint64_t t_first;          /* mono_ms() of the first attempt */
	uint64_t t_attempt;        /* mono_ms() of the latest attempt */
	uint64_t due;              /* KP_BACKOFF: the next attempt */
	uint32_t delay_ms;
	uint32_t req_id;           /* netd's answer must echo it */
	bool released;             /* the KMS released a key: nreq is where
				    * freshness records go (a restarted netd is told) */
	/* the KMS's freshness record, once the child opened the wrap that
	 * authenticates it (0: none); logd compares it with the log */
	uint32_t fresh_len;
	char fresh[NETD_KMS_FRESH_MAX + 1];
	/* KP_CHILD: its status pipe (watched), its pidfd, its deadline, and
	 * what it wrote so far (holds the sealing key: wiped after use) */
	int child_fd, child_pidfd;
	uint64_t child_due;
	size_t child_got;
	struct datastore_status child_st;
	/* the outcome is in *store; ctx is settled's */
	void (*settled)(void *ctx);
	void *ctx;
};

/* Starts the phase for a PENDING store (else does nothing): the exchange's
 * key pair and nonce. A failure settles it refused at once. */
void kms_phase_begin(struct kms_phase *k, const struct policy *p, struct datastore_status *st,
		     void (*settled)(void *ctx), void *ctx);

/* keyd serves / netd is ready (again), or went away. */
void kms_phase_keyd(struct kms_phase *k, bool up);
void kms_phase_netd(struct kms_phase *k, bool up);

/* The answers: 0, or -EBADMSG for one that breaks the protocol (the
 * lifecycle then kills the role). An answer nobody waits for is dropped. */
int kms_phase_keyd_reply(struct kms_phase *k, const struct imsg *m);
int kms_phase_netd_reply(struct kms_phase *k, const struct imsg *m);

/* The supervisor's tick: a retry that is due, or the child's deadline. */
void kms_phase_tick(struct kms_phase *k);

/* The supervisor's watch: the child's status pipe fd is readable. */
void kms_phase_child_ready(struct kms_phase *k, int fd);

/* Whether a netd answer (its status and error) is worth another attempt:
 * no answer at all, or an HTTP 5xx. */
bool kms_phase_retryable(const struct netd_kms_reply_msg *rep);

/* The delay after one of attempts failures (1 s, doubling, at most 8 s). */
uint32_t kms_phase_delay(unsigned attempts);

#endif
