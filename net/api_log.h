/* net/api_log.h: the egress log's routes (docs/API.md, "The log") and the
 * attestation entry, served by netd from logd's answers (proto/logd.h).
 *
 * Every route is read-only and public. A request becomes an operation
 * (struct api_log_op) that asks logd one question at a time through
 * api_state.request_log() and moves on with each answer
 * (api_log_reply()). The sequence number each question carries is kept
 * in the operation, so a late answer for an operation that was replaced
 * finds nothing. Tiles and entry bundles are streamed: the head goes out
 * with the object's total length from logd's first chunk, and the next
 * chunk is asked for only when the connection's output buffer has room
 * for it (http_stream_want()), so a slow client costs one buffer.
 *
 * The JSON views (entries, /logs/{id}) read entry bundles in chunks and
 * assemble each entry in a workspace (struct api_log_work, a small pool:
 * when all are busy the answer is 503 busy); their answers are bounded
 * (API_LOG_BODY_MAX) and say where to continue ("next").
 *
 * GET /v1/attestation appends an attestation entry first (SHA-256 of the
 * nonce) and asks keyd for the quote only once logd answered that the
 * entry is durable: no logd, or any refusal, is 503 (fail closed).
 *
 * Receipts (docs/LOG.md, "Receipts"): api_receipt_begin() is the
 * invocation route's hook (append the invocation entry, have keyd sign
 * the receipt, hand back the headers), and GET /v1/receipts/{id}
 * rebuilds an invocation's receipt from its entry, with the entries'
 * inclusion proofs and the checkpoint they verify against.
 */
#ifndef DSHIELD_NET_API_LOG_H
#define DSHIELD_NET_API_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/log_entry.h"
#include "crypto/receipt.h"
#include "lib/base64.h"
#include "lib/jsonw.h"
#include "lib/tbucket.h"
#include "lib/http.h"
#include "net/http_lwip.h"
#include "proto/logd.h"
#include "proto/netd_keyd.h"

struct api_state;

/* One operation per connection at most: the pool has a slot for each. */
#define API_LOG_OPS         HTTP_LWIP_MAX_CONNS
/* Workspaces for the JSON views: concurrent entries or /logs/{id}. */
#define API_LOG_WORKS       4
/* The largest JSON view answer; past it the view stops and says "next". */
#define API_LOG_BODY_MAX    (96 * 1024)
/* One entry's JSON in a view; a larger one is shown as null with a note
 * (its bytes are in the entry bundle). */
#define API_LOG_ENTRY_JSON  (32 * 1024)
/* Entries per GET /v1/log/entries and per GET /logs/{id} answer. */
#define API_LOG_ENTRIES_MAX 256
#define API_LOG_FIND_MAX    32
/* Attestation entries: every /v1/attestation appends one before keyd's
 * own rate limit is reached, so netd limits them first (the same rate as
 * keyd's quotes): an unauthenticated client cannot grow the log faster. */
#define API_LOG_ATTEST_BURST     8
#define API_LOG_ATTEST_PERIOD_MS 100

/* The base64 of a signed receipt, NUL included. */
#define API_RECEIPT_B64_MAX (BASE64_ENCODED_LEN(RECEIPT_SIGNED_MAX) + 1)
/* Both receipt headers of an invocation's reply, NUL included. */
#define API_RECEIPT_HDR_MAX (API_RECEIPT_B64_MAX + 64)

/* A JSON view's state across logd's answers. */
struct api_log_work {
	bool used;
	struct jsonw w;                 /* the answer, in body */
	uint64_t size;                  /* the checkpoint's tree size */
	uint64_t start, end;            /* entries wanted: [start, end) */
	uint64_t next;                  /* first index not rendered */
	unsigned rendered;
	bool stopped;                   /* the body is full */
	/* the entry bundle being read */
	uint64_t bundle;                /* its index */
	unsigned width;
	uint64_t boff, btotal;          /* next offset asked, total length */
	unsigned bidx;                  /* entry in the bundle being assembled */
	size_t have;                    /* its bytes so far (length prefix included) */
	/* /v1/receipts/{id}: the invocation entry's index (logd's find
	 * answer), its facts once read, and the records its receipt lists */
	bool have_entry, have_inv, inv_v1;
	uint64_t inv_index;
	struct receipt_sign_req_msg rq;
	uint64_t earlier;               /* records of the invocation not shown */
	/* (the fields from here on are not cleared for a new view) */
	uint8_t ent[2 + LOG_ENTRY_MAX];
	/* /logs/{id} */
	char function[LOG_FIND_ID_MAX];
	uint64_t idx[LOG_FIND_MAX];
	unsigned nidx, pos;
	uint64_t find_next;             /* continue here, or UINT64_MAX: done */
	uint32_t proof_count;
	uint8_t proof[LOG_PROOF_MAX][32];
	char note[LOG_CHECKPOINT_NOTE_MAX];
	char receipt[API_RECEIPT_B64_MAX];   /* /v1/receipts/{id}: its base64 */
	char scratch[API_LOG_ENTRY_JSON];
	char body[API_LOG_BODY_MAX];
};

enum api_log_kind {
	LOGOP_FREE = 0,
	LOGOP_ATTEST,       /* append, then ask keyd */
	LOGOP_CHECKPOINT,
	LOGOP_OBJECT,       /* a tile or entry bundle, streamed */
	LOGOP_PROOF,
	LOGOP_ENTRIES,
	LOGOP_FIND,         /* GET /logs/{id} */
	LOGOP_RECEIPT,      /* GET /v1/receipts/{id}: a FIND by invocation, then keyd */
	LOGOP_RECEIPT_HOOK, /* an invocation's reply: append, then keyd (api_receipt_begin) */
};

struct api_receipt_out;
/* Called once with the outcome of api_receipt_begin(), while c is still
 * PENDING (never after the connection went away or timed out: then the
 * caller's state goes with its connection as usual). */
typedef void (*api_receipt_done_fn)(struct api_state *st, struct http_conn *c, void *arg,
				    const struct api_receipt_out *out);

struct api_log_op {
	uint8_t kind;                   /* enum api_log_kind */
	uint8_t step;                   /* the kind's state */
	bool waiting;                   /* a question to logd is out */
	uint32_t conn_id;
	uint32_t seq;                   /* the question's sequence number */
	/* attestation */
	uint8_t nonce[QUOTE_NONCE_MAX];
	uint8_t nonce_len;
	/* object (tile, bundle) */
	struct log_read_req_msg rd;
	uint64_t total;
	bool started;                   /* the head was sent */
	/* proofs */
	struct log_proof_req_msg pr;
	struct api_log_work *work;      /* JSON views */
	/* the receipt hook */
	struct receipt_sign_req_msg rq;
	uint64_t inv_index;             /* the invocation entry's index */
	uint64_t find_from;             /* the records' page asked for */
	api_receipt_done_fn done;
	void *done_arg;
};

struct api_log {
	/* Sends a question to keyd (proto/netd_keyd.h: receipts) for conn_id;
	 * *seq gets the sequence number its answer carries, delivered with
	 * api_log_keyd_reply(). 0 or -errno (-ENOTCONN: no keyd). */
	int (*request_keyd)(void *ctx, uint32_t conn_id, uint32_t type, const void *payload,
			    size_t len, uint32_t *seq);
	struct tbucket attest_rate;     /* set up at the first attestation */
	struct api_log_op ops[API_LOG_OPS];
	struct api_log_work works[API_LOG_WORKS];
	/* a signed receipt's base64 and headers, handed to a hook's done() */
	char receipt_b64[API_RECEIPT_B64_MAX];
	char receipt_hdr[API_RECEIPT_HDR_MAX];
	struct log_found_msg found;     /* a hook's page of records, checked here */
};

/* The routes under /v1/log/, /tile/, /checkpoint and /logs/: true when
 * req's path is one of them (answered, or PENDING on logd). */
bool api_log_route(struct api_state *st, struct http_conn *c, const struct http_request *req);

/* GET /v1/attestation after its nonce was checked: appends the
 * attestation entry, then asks keyd (api_quote_ask) once it is durable. */
void api_log_attest(struct api_state *st, struct http_conn *c, const uint8_t *nonce, size_t len);

/* logd's answer (type, payload[0..len)) to question seq asked for c. The
 * payload is checked here. */
void api_log_reply(struct api_state *st, struct http_conn *c, uint32_t seq, uint32_t type,
		   const void *payload, size_t len);

/* logd went away before it answered question seq for c: 503 with
 * Retry-After, or a cut stream. */
void api_log_lost(struct api_state *st, struct http_conn *c, uint32_t seq);

/* keyd's answer to question seq asked for c (a receipt signature), and
 * keyd going away before it answered. */
void api_log_keyd_reply(struct api_state *st, struct http_conn *c, uint32_t seq, uint32_t type,
			const void *payload, size_t len);
void api_log_keyd_lost(struct api_state *st, struct http_conn *c, uint32_t seq);

/* --- the invocation route's hook: an invocation's receipt ---------------------
 *
 * Once the invocation's result is known, and before a byte of it goes
 * out, the route calls api_receipt_begin() and keeps the connection
 * PENDING. netd appends the invocation entry (version 2, with the code
 * hash) to the log and, once logd says it is durable, has keyd sign the
 * receipt over it; then done() gets the two headers for the reply. Fail
 * closed: on any error (no logd, a refused append, no keyd, a refused
 * signature) done() gets out->error < 0, and the route must not deliver
 * the result: api_receipt_refuse() answers 503 with the reason.
 */
struct api_receipt_in {
	const char *function;           /* 1..63 of [A-Za-z0-9._-] */
	const char *invocation;         /* the same; unique per invocation */
	uint8_t code_sha256[32];        /* the function's code (sbx_reply_msg.code_sha256) */
	uint8_t input_sha256[32];       /* the request body as the function got it */
	uint8_t output_sha256[32];      /* the result body as the client gets it */
	uint32_t status;                /* the HTTP status of the reply */
	uint64_t queue_ns, run_ns;      /* waiting for a worker, running */
};

struct api_receipt_out {
	int error;                      /* 0, or a negative errno: deliver nothing */
	uint64_t index;                 /* the invocation entry's log index */
	/* valid during the call only, NUL terminated: */
	const char *receipt;            /* base64 of the signed receipt note */
	const char *headers;            /* "X-DShield-Receipt: <receipt>\r\n"
					   "X-DShield-Log-Index: <index>\r\n" */
	const char *code;               /* on error: "log_refused" or "receipt_unavailable" */
	const char *message;            /* on error: one line for the client */
};

/* Starts the receipt of one invocation for c (see above); done(st, c,
 * arg, out) is called exactly once, at once for an invalid request or
 * when logd cannot be asked, unless c goes away first. */
void api_receipt_begin(struct api_state *st, struct http_conn *c, const struct api_receipt_in *in,
		       api_receipt_done_fn done, void *arg);
/* The fail-closed answer for out->error < 0: 503 with out's code and
 * message, Retry-After: 1. */
void api_receipt_refuse(struct http_conn *c, const struct api_receipt_out *out);

/* http_server.stream_ready: c has room for the next chunk of its tile. */
void api_log_stream_ready(void *state, struct http_conn *c);

/* Strict query parsing for the log routes: query holds only parameters
 * named in names[0..n), each at most once, each a decimal number without
 * sign or leading zero below 2^63; those with required[i] must be there.
 * Found values go to out[i] and have[i]. 0, or -EINVAL with a message
 * naming the parameter in why (why_cap bytes). */
int api_log_query(const char *query, const char *const *names, const bool *required,
		  unsigned n, uint64_t *out, bool *have, char *why, size_t why_cap);

#endif
