/* net/api.h: the management API routes served by netd.
 *
 * api_handle() is the http_handler_fn for the server; its ctx is a struct
 * api_state that netd keeps current. Routes that need init (the kernel's
 * addresses for /v1/info) leave the connection PENDING, ask init through
 * request_kaddr(), and are completed by api_kaddr_reply() when netd gets
 * IMSG_KADDR_REPLY. GET /v1/attestation?nonce=HEX likewise asks keyd for a
 * quote through request_quote() (IMSG_QUOTE_REQ) and is completed by
 * api_quote_reply() (IMSG_QUOTE_REPLY), or api_quote_lost() when keyd went
 * away before answering.
 */
#ifndef DSHIELD_NET_API_H
#define DSHIELD_NET_API_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/init_netd.h"
#include "proto/netd_keyd.h"
#include "lib/http.h"
#include "net/http_lwip.h"
#include "net/api_log.h"
#include "net/api_fn.h"

/* An attestation document being streamed (docs/API.md, docs/NETWORK.md
 * "Streamed bodies"): its head (up to the event log's "[") goes out at
 * once, then one event at a time from keyd's records, mapped read-only
 * from the sealed memfd of its reply, as the connection's output drains,
 * then the tail kept here. A slow client holds one slot, never a copy of
 * the log. */
#define API_ATTEST_STREAMS  16
#define API_ATTEST_TAIL_MAX 4096   /* the longest tail is ~2.9 KiB (tests/test_api_attest.c) */
struct api_attest_stream {
	bool busy;
	bool first;                /* no event written yet (no comma before the next) */
	uint32_t conn_id;
	const uint8_t *map;        /* the records (file_map_sealed), len bytes */
	size_t len, off;           /* off: the next record */
	size_t tail_len;
	char tail[API_ATTEST_TAIL_MAX];   /* "]" and the rest of the document */
};

struct egress_proxy_stats;
struct refusal_budget_stats;
struct netif_packet_stats;

struct api_state {
	struct boot_info_msg boot;     /* from init (IMSG_BOOT_INFO) */
	bool have_boot;
	struct layers_info_msg layers; /* from init (IMSG_LAYERS_INFO) */
	struct store_info_msg store;   /* from init (IMSG_STORE_INFO) */
	bool have_layers;
	bool have_store;
	/* TLS origination, for /v1/info's "tls_origination" (netd fills it) */
	struct {
		bool local_ca;             /* the per-boot CA exists */
		uint32_t anchors, test_anchors;
		char why[160];             /* anchors 0: why ("" else) */
	} tls;
	uint64_t t_bound_ms;           /* address configured (CLOCK_BOOTTIME ms) */
	uint64_t t_ready_ms;           /* HTTP server listening */
	uint32_t ipv4_addr;            /* lwIP's address, network byte order */
	bool dhcp;
	/* The API server over lwIP, for its counters in /v1/info (NULL: none,
	 * the kernel-socket reference server). */
	const struct http_lwip *http;
	const struct http_lwip *https;       /* the API over TLS (8443); NULL: not listening */
	/* The egress proxy's counters, for /v1/info's "egress" (NULL: none) */
	const struct egress_proxy_stats *egress;
	const struct refusal_budget_stats *refusals;   /* net/refusal_budget.h */
	/* The packet driver's counters, for /v1/info's "link" (NULL: none) */
	const struct netif_packet_stats *link;
	/* Sends IMSG_KADDR_REQ for connection id conn_id; 0 or -errno. */
	int (*request_kaddr)(void *ctx, uint32_t conn_id);
	/* Sends IMSG_QUOTE_REQ with the nonce for conn_id; 0 or -errno. */
	int (*request_quote)(void *ctx, uint32_t conn_id, const uint8_t *nonce, size_t len);
	/* Sends a question to logd (proto/logd.h) for conn_id; *seq gets the
	 * sequence number its answer will carry. 0 or -errno (-ENOTCONN: no
	 * logd). */
	int (*request_log)(void *ctx, uint32_t conn_id, uint32_t type, const void *payload,
			   size_t len, uint32_t *seq);
	/* The open connection with this id, or NULL (a log operation of a
	 * connection that is gone is taken back). NULL: every id is open. */
	struct http_conn *(*find_conn)(void *ctx, uint32_t conn_id);
	/* Sends IMSG_SBX_REQ (msg[0..len): struct sbx_req_msg and its inline
	 * bytes) with fd (or -1) to sandboxd for conn_id (0: netd's own);
	 * *seq gets the number its reply carries. 0 or -errno (-ENOTCONN). */
	int (*request_sbx)(void *ctx, uint32_t conn_id, const void *msg, size_t len, int fd,
			   uint32_t *seq);
	/* Sends IMSG_SBX_DONE. 0 or -errno. */
	int (*sbx_done)(void *ctx, const struct sbx_done_msg *m);
	/* Watches fd in netd's loop for events (EPOLLIN, EPOLLOUT); 0 stops
	 * watching it. 0 or -errno. */
	int (*watch_fd)(void *ctx, int fd, uint32_t events);
	/* Sends what c has to send (an answer made outside a request handler:
	 * a worker's result, a timeout). NULL: nothing to do (tests). */
	void (*kick)(void *ctx, struct http_conn *c);
	void *ctx;
	uint64_t start_ms;             /* mono_ms() at api_fn_init: GET /health's uptime */
	struct api_fn fn;              /* the function routes' state (api_fn.h) */
	char out[HTTP_OUT_CAP];        /* the attestation document's head and tail, rendered */
	struct api_attest_stream attest[API_ATTEST_STREAMS];
	struct api_log log;            /* the log routes' operations (api_log.h) */
};

void api_handle(void *state, struct http_conn *c, const struct http_request *req);

/* http_server.stream_ready: the attestation documents, the log's streams
 * and the function routes'. */
void api_stream_ready(void *state, struct http_conn *c);

/* http_server.conn_gone. */
void api_conn_gone(void *state, struct http_conn *c);

/* Completes a PENDING /v1/info on c with init's answer. */
void api_kaddr_reply(struct api_state *st, struct http_conn *c,
		     const struct kaddr_reply_msg *reply);

/* The nonce of an /v1/attestation query string: exactly one parameter,
 * "nonce=" followed by 2..64 hex digits (1..32 bytes). Returns the byte
 * count, or -EINVAL with a reason for the 400 answer in why. */
int api_parse_nonce(const char *query, uint8_t out[QUOTE_NONCE_MAX], const char **why);

/* Asks keyd for the quote of a PENDING /v1/attestation (after its log
 * entry is durable); answers 503 when keyd cannot be asked. */
void api_quote_ask(struct api_state *st, struct http_conn *c, const uint8_t *nonce, size_t len);

/* Completes a PENDING /v1/attestation on c with keyd's answer: rep, the
 * quote behind it (its length already checked by the caller against the
 * message size) and events_fd, the sealed memfd of rep->events_len bytes
 * of event records (-1: none; always taken: closed here). netd renders
 * the event log from the records itself (crypto/rtmr3.h), streamed: the
 * document is as long as the log, not bounded by HTTP_OUT_CAP. A memfd
 * that is not sealed or not of its length, or a record that does not
 * read, is a 500 before anything is sent. */
void api_quote_reply(struct api_state *st, struct http_conn *c,
		     const struct quote_reply_msg *rep, const uint8_t *quote, int events_fd);

/* Completes a PENDING /v1/attestation with 503: keyd went away (it is
 * being restarted) before it answered. */
void api_quote_lost(struct api_state *st, struct http_conn *c);

#endif
