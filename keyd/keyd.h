/* keyd/keyd.h: the key-holding role.
 *
 * keyd alone owns the TDX interface (/dev/tdx_guest, configfs-tsm, the
 * RTMR3 measurement attribute), the runtime event log of RTMR3 and, as
 * later issues add them, every private key. It answers typed requests
 * (proto/netd_keyd.h) from netd; a slow quoting service stalls keyd only,
 * never init or netd (netd waits for the answer asynchronously).
 *
 * Confinement (its row in bin/dshield-init.c): uid 0 with every capability
 * set empty and the securebits locked (configfs-tsm entries are root-owned;
 * see init/privdrop.h), an empty network namespace, a private mount view
 * holding only its devices and its state directory (/state), seccomp set
 * keyd_seccomp_rules (no kill of any kind, no sockets, no exec).
 *
 * logd asks it (proto/logd_keyd.h) for the boot's facts and to sign
 * checkpoints: keyd formats the checkpoint text itself, with its own
 * origin, refuses a tree head that goes back from the last one it signed,
 * and keeps that one (/state/log.checkpoint) for REPORTDATA slot 5.
 *
 * The event log survives a keyd restart: every event is appended to
 * /state/rtmr3.events (crypto/rtmr3.h binary records) and synced before the
 * hardware register is extended; a restarted keyd reloads it and, on tdx,
 * checks its replay against the RTMR3 of a fresh TDREPORT. A log that
 * cannot be trusted makes attestation unavailable (quotes are refused with
 * the reason), never silently different.
 */
#ifndef DSHIELD_KEYD_KEYD_H
#define DSHIELD_KEYD_KEYD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyd/apikey.h"
#include "keyd/attest.h"
#include "keyd/logkey.h"
#include "lib/imsg.h"
#include "lib/seccomp.h"
#include "lib/tbucket.h"
#include "proto/init_keyd.h"
#include "proto/logd_keyd.h"
#include "proto/netd_keyd.h"
#include "proto/sandboxd_keyd.h"

#define KEYD_STATE_DIR   "/state"
#define KEYD_EVENTS_FILE "rtmr3.events"
#define KEYD_LOGKEY_FILE "log.key"
#define KEYD_CHECKPOINT_FILE "log.checkpoint"
#define KEYD_APIKEY_FILE "api-tls.key"

/* Quote requests: a token bucket of KEYD_QUOTE_BURST, refilled one token
 * per KEYD_QUOTE_REFILL_MS; requests beyond it are answered -EBUSY at once. */
#define KEYD_QUOTE_BURST      8u
#define KEYD_QUOTE_REFILL_MS  100u
/* Receipt signatures (one per invocation, and per GET /v1/receipts) are
 * not rate-limited: refusing one would refuse a result that ran and was
 * logged. netd holds a bounded number of requests in flight (its pending
 * table), so keyd's pace is netd's backpressure, and the per-channel
 * message budget of each loop round keeps logd's checkpoints and init's
 * messages served while netd asks. A rate cap would protect nothing: a
 * netd that could ask can ask for a receipt it chose either way. */

/* Function events (proto/sandboxd_keyd.h): a bucket of KEYD_FN_BURST,
 * one more per KEYD_FN_REFILL_MS; beyond it -EBUSY (the change is then
 * refused by sandboxd, fail closed). The log itself holds RTMR3_LOG_MAX
 * events and RTMR3_LOG_BYTES_MAX bytes of records in all; a full log
 * refuses with -ENOSPC. */
#define KEYD_FN_BURST         32u
#define KEYD_FN_REFILL_MS     250u

/* TLS handshake signatures for netd (IMSG_TLS_SIGN_REQ): a bucket of
 * KEYD_TLS_BURST, one more per KEYD_TLS_REFILL_MS (1,000 handshakes a
 * second at most); beyond it -EBUSY, and netd fails that handshake. This
 * bounds what netd can make keyd spend, so quotes, receipts, checkpoints
 * and function events stay served under a handshake flood (each is
 * drained with its own per-round budget as well). */
#define KEYD_TLS_BURST        64u
#define KEYD_TLS_REFILL_MS    1u

struct keyd {
	int netd_fd;                   /* -1 until init hands a channel */
	int logd_fd;                   /* the same, for logd */
	int sandboxd_fd;               /* the same, for sandboxd */
	struct keyd_config_msg cfg;
	char events_path[4096];
	char logkey_path[4096];
	struct attest at;
	struct logkey logkey;
	bool have_logkey;              /* false: quotes carry no log key (see logkey_why) */
	char logkey_why[ERRBUF_LEN];
	/* the API's TLS identity (REPORTDATA slot 3) */
	char apikey_path[4096];
	struct apikey apikey;
	bool have_apikey;              /* false: no TLS on the API (see apikey_why) */
	char apikey_why[ERRBUF_LEN];
	struct tbucket tls_rate;
	uint64_t tls_signed, tls_refused;
	/* the last checkpoint signed (the signed note, NUL terminated), saved
	 * in KEYD_CHECKPOINT_FILE: a head that goes back from it is refused,
	 * and it fills REPORTDATA slot 5 of every later quote */
	char checkpoint_path[4096];
	char ckpt[LOG_SIGNED_CHECKPOINT_MAX];
	uint32_t ckpt_len;             /* 0: nothing signed yet */
	uint64_t ckpt_size;
	uint8_t ckpt_root[32];
	int ckpt_failed;               /* the saved one is unreadable: signing refused */
	uint64_t signed_count;
	bool resumed;                  /* the log was reloaded */
	struct tbucket quote_rate;
	struct tbucket fn_rate;
	uint64_t fn_events;            /* function events recorded this run */
	uint64_t receipts;
	uint64_t fn_full;              /* function events refused: the log is full */
	uint32_t quote_delay_ms;       /* host-mode test knob: a slow quoting service */
	uint64_t quotes, busy, malformed;
	struct imsg msg;
	_Alignas(16) uint8_t reply[IMSG_MAX_PAYLOAD];   /* cast to the reply structs */
	/* the saved log, and one byte more: file_read() reads one byte past
	 * its cap to tell a full log from an oversized one; afterwards the
	 * scratch where each quote's records are encoded before they go into
	 * the reply's memfd. In .bss: only what a log uses is ever touched. */
	uint8_t saved[RTMR3_LOG_BYTES_MAX + 1];
	char kms_body[KEYD_KMS_BODY_MAX];   /* a KMS request being written */
};

/* Loads (or makes) the log signing key, chooses the backend and brings
 * the event log up, all in state_dir: the log reloaded from
 * KEYD_EVENTS_FILE when it exists, else the boot events "manifest" (when
 * the config has one) and "instance-id" are recorded. Never fails:
 * whatever goes wrong leaves the backend none with the reason in k->at.why
 * (or no log key, with the reason in k->logkey_why). */
void keyd_setup(struct keyd *k, const struct keyd_config_msg *cfg,
		const struct attest_paths *paths, const char *state_dir);

/* Reads and answers what netd sent on k->netd_fd (at most a budget of
 * messages): quotes, receipt signatures (keyd writes the receipt text
 * from the request's fixed struct, crypto/receipt.h, and signs it with
 * the log key), and TLS handshake signatures (keyd writes the signed
 * ServerKeyExchange bytes from the request's parameters, tls/ske.h, and
 * signs them with the API key). Returns 0, or -EPIPE when netd closed
 * the channel. */
int keyd_serve_netd(struct keyd *k);

/* The API certificate, to a new netd channel (IMSG_TLS_CERT): sent first
 * on every channel, so a restarted netd (or keyd) serves TLS at once.
 * Nothing is sent without a key. 0 or a negative errno. */
int keyd_send_tls_cert(struct keyd *k);

/* The same for logd's requests on k->logd_fd (proto/logd_keyd.h): the
 * boot's facts, and checkpoint signatures. */
int keyd_serve_logd(struct keyd *k);

/* The same for sandboxd's function events on k->sandboxd_fd: each
 * valid request is recorded as an RTMR3 event "function" whose payload is
 * the request's 152 bytes, then answered. */
int keyd_serve_sandboxd(struct keyd *k);

/* A KMS key request (proto/init_keyd.h): measures req->kms_pub as the
 * "key-provider" event (once), quotes with REPORTDATA slot 6 binding
 * req's ephemeral key and nonce, and writes the POST /v1/keys body into a
 * sealed memfd. Returns that fd (rep->body_len its length), or a negative
 * errno with rep->detail saying why. */
int keyd_kms_request(struct keyd *k, const struct keyd_kms_req_msg *req,
		     struct keyd_kms_reply_msg *rep);

/* The role's entry point (after its seccomp set is installed). */
int keyd_main(void);

extern const struct seccomp_rule keyd_seccomp_rules[];
extern const size_t keyd_seccomp_nrules;

#endif
