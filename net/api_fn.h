/* net/api_fn.h: the function, secret and token routes (docs/API.md,
 * "Functions"), served by netd from sandboxd's answers
 * (proto/netd_sandboxd.h), and invocations, whose data flows between
 * netd and the worker directly.
 *
 * netd parses every byte a client sends: a deployment's body (up to
 * FN_BODY_MAX, streamed by the HTTP core into a memfd, never into netd's
 * buffers) is checked with crypto/fn_decl.h against the policy sandboxd
 * enforces (asked with SBX_POLICY whenever a channel opens), its code
 * decoded into a second, sealed memfd, and sandboxd gets a fixed request
 * with the canonical declaration. The bearer token is hashed and only the
 * hash travels; authorisation is sandboxd's, netd passes its verdict on.
 *
 * An invocation asks sandboxd for a worker (SBX_INVOKE) and gets its
 * descriptors back; netd writes the request and reads the answer in its
 * own event loop (api_state.watch_fd, non-blocking both ways), bounded by
 * the function's output limit, then hands the worker back (IMSG_SBX_DONE)
 * with the outcome. sandboxd's IMSG_SBX_WORKER_END says why a worker
 * ended (timeout, memory, pids, signal, exit): after EOF on a worker netd
 * waits for it (at most API_FN_END_GRACE_MS) to answer with the cause.
 */
#ifndef DSHIELD_NET_API_FN_H
#define DSHIELD_NET_API_FN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/fn_decl.h"
#include "crypto/fn_tokens.h"
#include "crypto/policy.h"
#include "lib/frame.h"
#include "lib/http.h"
#include "net/http_lwip.h"
#include "proto/netd_sandboxd.h"

struct api_state;

/* One management operation per connection at most. */
#define API_FN_OPS          HTTP_LWIP_MAX_CONNS
/* Invocations in progress at a time; more are 503 busy. */
#define API_FN_INVOKES      16
/* Streamed request bodies (deployments, secrets) at a time: each may
 * grow a memfd to its limit, so few; more are 503 busy. */
#define API_FN_UPLOADS      2
/* The output limits (each invocation maps about twice its own) of the
 * invocations running at once; past it a new one is 503 busy. */
#define API_FN_OUTPUT_BUDGET (32u << 20)
/* After a worker's EOF (or its native program's stdout EOF), how long
 * netd waits for sandboxd's WORKER_END to say why. */
#define API_FN_END_GRACE_MS 2000
/* Past the function's own timeout, how long netd waits before it gives
 * up itself (sandboxd kills at the timeout and says so). */
#define API_FN_TIMEOUT_GRACE_MS 1000
/* How long an answered invocation waits for its log entry and receipt
 * (logd's append, then keyd's signature) before it is 503 instead. */
#define API_FN_RECEIPT_MS   5000
/* The largest error body of an invocation (http_error_body's). */
#define API_FN_EBODY_MAX    512
/* JSON values of a worker's RESULT netd parses (lib/fn_result.h). */
#define API_FN_RESULT_TOKENS 65536
/* An ERROR's message, cut to this many bytes for the client. */
#define API_FN_MESSAGE_MAX  300

enum api_fn_kind {
	FNOP_FREE = 0,
	FNOP_REQ,          /* waiting for sandboxd's reply */
	FNOP_STREAM,       /* sending a reply body from memory */
};

/* A body sent from memory (a memfd's mapping, or an invocation's result). */
struct api_fn_stream {
	const uint8_t *p;
	uint64_t total;
	uint64_t sent;
};

struct api_fn_op {
	uint8_t kind;            /* enum api_fn_kind */
	uint16_t sbx_op;         /* enum sbx_op of the request */
	uint32_t conn_id;
	uint32_t seq;            /* the request's sequence number */
	/* FNOP_STREAM from a memfd's mapping */
	void *map;
	size_t map_len;
	struct api_fn_stream s;
	int inv;                 /* the invocation streaming its result, or -1 */
};

enum api_inv_state {
	INV_FREE = 0,
	INV_ASKED,         /* SBX_INVOKE sent */
	INV_RUNNING,       /* writing the request, reading the answer */
	INV_ENDING,        /* EOF seen or output complete: waiting for WORKER_END */
	INV_RECEIPT,       /* answered: waiting for the log entry and receipt */
	INV_STREAMING,     /* answered; the body is still being sent */
};

struct api_fn_inv {
	uint8_t state;           /* enum api_inv_state */
	uint8_t kind;            /* enum sbx_worker_kind */
	uint32_t conn_id;
	uint32_t seq;
	uint64_t worker;
	int fd_io;               /* frames: the worker's socket; native: its stdin */
	int fd_out;              /* native: its stdout; else -1 */
	uint32_t ev_io, ev_out;  /* events being watched on each */
	uint32_t timeout_ms, output_max;
	uint64_t start_ms, deadline_ms;
	uint64_t asked_us, start_us; /* SBX_INVOKE sent, the worker came (mono_us) */
	uint8_t code_sha256[32]; /* the function's code (sandboxd's reply) */
	uint8_t input_sha256[32];/* the request body */
	/* INV_RECEIPT: the answer held until the receipt comes */
	int status;
	const char *ctype;
	const uint8_t *body;     /* in mem, or ebody */
	size_t body_len;
	char ebody[API_FN_EBODY_MAX]; /* an error answer's body */
	bool eof;                /* the worker's output ended */
	bool have_end;           /* WORKER_END arrived */
	uint8_t end_reason;
	int32_t end_status;
	char id[37];             /* the invocation's UUID */
	char fn_id[SBX_ID_MAX];
	/* one mapping: the request frame, the answer, the reply's parts */
	uint8_t *mem;
	size_t mem_len;
	uint8_t *req;            /* the frame or stdin bytes to write */
	size_t req_len, req_off;
	uint8_t *in;             /* the payload (frames) or stdout (native) */
	size_t in_cap, in_len;
	char *reply;             /* fn_result_parse()'s buffer */
	size_t reply_cap;
	char *hdrs;              /* the reply's extra header lines */
	size_t hdrs_cap;
	jsmntok_t *toks;
	unsigned ntoks;
	struct frame_reader rd;
};

struct api_fn {
	struct policy policy;    /* sandboxd's, from SBX_POLICY */
	bool have_policy;
	uint32_t policy_gen;     /* policies taken so far (netd's egress follows it) */
	uint32_t policy_seq;     /* the SBX_POLICY request waiting, or 0 */
	unsigned uploads;        /* streamed bodies open */
	struct api_fn_op ops[API_FN_OPS];
	struct api_fn_inv invs[API_FN_INVOKES];
	/* scratch for one request at a time (handlers run to completion) */
	struct policy_tokens ptoks;
	struct fn_decl_tokens dtoks;
	struct fn_decl decl;
	struct fn_body_tokens btoks;
	uint8_t msg[sizeof(struct sbx_req_msg) + SBX_INLINE_MAX];
	char secret[FN_SECRET_VALUE_MAX + 1];
	uint8_t chunk[64 * 1024];
};

void api_fn_init(struct api_state *st);

/* The routes of this file: true when req's path is one of them (answered,
 * or PENDING on sandboxd or a worker). */
bool api_fn_route(struct api_state *st, struct http_conn *c, const struct http_request *req);

/* http_server.body_open / body_close: deployments and secrets are
 * streamed into a memfd (FN_BODY_MAX, FN_SECRET_BODY_MAX). */
long api_fn_body_open(void *state, struct http_conn *c, llhttp_method_t method, const char *url,
		      int *fd);
void api_fn_body_close(void *state, struct http_conn *c, int fd);

/* http_server.conn_gone: an invocation of c's is abandoned (DONE
 * CLIENT_GONE), a stream of c's freed. */
void api_fn_conn_gone(struct api_state *st, struct http_conn *c);

/* A fresh channel to sandboxd: asks for its policy. */
void api_fn_channel_up(struct api_state *st);

/* sandboxd's IMSG_SBX_REPLY to request seq, for c (NULL: the client is
 * gone). The reply, its inline body[0..body_len) (checked by the caller
 * against the message), and fds[0..nfds), which this takes (closes what it
 * does not keep). */
void api_fn_reply(struct api_state *st, struct http_conn *c, uint32_t seq,
		  const struct sbx_reply_msg *rep, const uint8_t *body, size_t body_len,
		  int *fds, unsigned nfds);

/* sandboxd went away before it answered request seq for c (NULL: gone
 * too): 503 with Retry-After. The policy is forgotten until the next
 * channel's. */
void api_fn_lost(struct api_state *st, struct http_conn *c, uint32_t seq);
void api_fn_sandboxd_gone(struct api_state *st);
/* How many invocations of function fn_id have their request in a worker
 * now (running or ending); when exactly one, its id is copied into id
 * (else id is ""). The egress records' invocation field: a connection
 * or a DNS query is attributed to an invocation only when no other of
 * its function was in flight (docs/EGRESS.md, "Which invocation a record names"). */
unsigned api_fn_in_flight(const struct api_state *st, const char *fn_id, char id[37]);

/* IMSG_SBX_WORKER_END. */
void api_fn_worker_end(struct api_state *st, const struct sbx_worker_end_msg *m);

/* A worker descriptor is ready (EPOLLIN/EPOLLOUT/EPOLLHUP/EPOLLERR bits).
 * Returns true when fd is an invocation's. */
bool api_fn_io(struct api_state *st, int fd, uint32_t events);

/* Invocation deadlines. */
void api_fn_tick(struct api_state *st, uint64_t now_ms);
uint64_t api_fn_next_deadline(const struct api_state *st);

/* http_server.stream_ready for this file's streams: true when c was one. */
bool api_fn_stream_ready(struct api_state *st, struct http_conn *c);

/* The invocation request the worker gets (docs/PROTOCOL-FN.md, INVOKE):
 * {id, functionId, method, path, headers (lower-case names, without
 * authorization), body?, query} into out[0..cap). body is the parsed
 * JSON when req's body is JSON (toks: json_parse scratch), else a string
 * (it must be UTF-8: -EILSEQ otherwise). Returns the length or -ENOSPC. */
long api_fn_invoke_json(const struct http_request *req, const char *inv_id, const char *fn_id,
			jsmntok_t *toks, unsigned ntoks, char *out, size_t cap);

/* The Authorization header's bearer token as netd passes it on: its
 * SHA-256, or 0 (absent or malformed). Returns has_token. */
uint8_t api_fn_token_hash(const struct http_request *req, uint8_t sha[32]);

#endif
