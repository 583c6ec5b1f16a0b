/* net/http_lwip.h: the HTTP core (lib/http.h) over lwIP raw TCP.
 *
 * A fixed pool of connections, each a struct http_conn plus its tcp_pcb,
 * in a caller-owned struct http_lwip (no hidden state: two servers can
 * coexist, tests make their own). Flow control is TCP's own: received
 * bytes are acknowledged to lwIP (tcp_recved, which reopens the window)
 * only once the HTTP core took them, so a connection whose request is
 * being answered stops its sender instead of buffering without bound.
 *
 * Hostile clients degrade service fairly instead of taking it (see
 * docs/NETWORK.md, "Overload"):
 *   - a full pool evicts (RST) a connection for each new one: of the new
 *     client's own address if that holds its share (HTTP_LWIP_MAX_PER_ADDR,
 *     HTTP_TLS_MAX_PER_ADDR on the TLS pool) already,
 *     else of an address holding more, else anyone's; among those the
 *     one that costs least to lose: lingering, then idle, then stalled
 *     writers, then slow requests; only requests waiting for init are
 *     never evicted;
 *   - each connection may have at most HTTP_LWIP_SND_MAX bytes queued in
 *     lwIP: a client that does not read its responses stops being read
 *     (the core stops parsing its pipeline) and is reset, not left in
 *     FIN_WAIT with unsent data, when it closes or times out;
 *   - held input is bounded per connection (pool buffers) and globally
 *     (heap), so ARP, DHCP and new handshakes always find memory;
 *   - at most HTTP_LWIP_MAX_SYN_RCVD half-open connections: a SYN past
 *     that drops the oldest one (lwIP has no SYN cookies).
 * Every refusal, eviction and abort is counted (struct http_lwip_stats).
 *
 * Connection ids are slot index + generation (+ HTTP_LWIP_ID_TLS on the
 * TLS pool): an answer from init for a connection that closed (or whose
 * slot was reused) finds nothing.
 *
 * Single-threaded, called from netd's event loop and from lwIP callbacks.
 * Error convention: 0 or a count, negative errno on failure.
 */
#ifndef DSHIELD_NET_HTTP_LWIP_H
#define DSHIELD_NET_HTTP_LWIP_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/http.h"

/* 128 connections of about 105 KiB each: 13 MiB (see docs/NETWORK.md).
 * The TLS pool uses the first HTTP_TLS_MAX_CONNS of them (http_tls.h). */
#define HTTP_LWIP_MAX_CONNS     128
/* A client address's share of a full pool (HTTP_TLS_MAX_PER_ADDR on TLS). */
#define HTTP_LWIP_MAX_PER_ADDR  32
/* Half-open (SYN_RCVD) connections on the listener. */
#define HTTP_LWIP_MAX_SYN_RCVD  64
/* Bytes of one connection queued in lwIP (sent but unacknowledged, or
 * not sent because the peer's window is closed). */
#define HTTP_LWIP_SND_MAX       16384
#define HTTP_LWIP_SND_QUEUE_MAX 32     /* pbufs of it */
/* Held input (received, not yet taken by the core) copied to lwIP's heap,
 * all connections together. */
#define HTTP_LWIP_HELD_HEAP_MAX (2u * 1024 * 1024)
/* After our last response on a connection we stop sending (FIN) but keep
 * reading, so data the client already sent does not make lwIP answer
 * with a RST that could destroy the response in flight; this long. */
#define HTTP_LWIP_LINGER_MS 2000

struct tcp_pcb;
struct pbuf;
struct http_lwip;
struct http_tls;
struct tls_sign_reply_msg;

struct http_lwip_stats {
	uint64_t accepted;
	uint64_t refused_full;      /* pool full of requests waiting for init: RST */
	uint64_t refused_per_addr;  /* address at its cap, none of its own evictable */
	uint64_t refused_memory;    /* pbuf pool or heap under their reserve */
	uint64_t evicted_lingering; /* HTTP done, closed early for a new client */
	uint64_t evicted_idle;      /* no request in progress */
	uint64_t evicted_stalled;   /* responses not read by the client */
	uint64_t evicted_busy;      /* a request arriving (slowly) */
	uint64_t evicted_per_addr;  /* of the above: the new client's own address */
	uint64_t aborted_unsent;    /* closed with data the peer never took: RST */
	uint64_t aborted_error;     /* lwIP could not write or close: RST */
	uint64_t syn_dropped;       /* oldest half-open connection dropped */
	uint64_t input_deferred;    /* input refused for now (held-input limits) */
	uint64_t coalesced;         /* held input copied out of pool buffers */
	uint64_t reset;             /* the peer or lwIP dropped the connection */
	unsigned active;            /* slots in use (lingering ones included) */
	uint32_t held_heap;         /* bytes of held input in lwIP's heap */
};

/* One slot. Fields are private to net/http_lwip.c. */
struct http_lwip_conn {
	struct http_conn http;
	struct http_lwip *hl;
	struct tcp_pcb *pcb;
	struct pbuf *rx;            /* received, not yet taken by the core */
	uint32_t rx_heap;           /* bytes of rx in one heap buffer (coalesced) */
	uint32_t remote_ip;         /* network byte order */
	uint64_t since_ms;          /* accepted */
	uint64_t progress_ms;       /* the core took input or the peer acked */
	uint64_t linger_until;      /* lingering: close then at the latest */
	uint16_t gen;
	bool in_use;
	bool lingering;             /* HTTP finished; draining the peer's data */
	bool peer_eof;
	bool eof_given;             /* http_conn_eof() called */
};

/* The server: zero it (or let it be static), then http_lwip_listen().
 * With tls set (http_lwip_listen_tls), every connection speaks TLS
 * (net/http_tls.h) under the same HTTP core, pool, limits and overload
 * rules; its connection ids carry HTTP_LWIP_ID_TLS, so one id names a
 * connection of either pool. */
#define HTTP_LWIP_ID_TLS 0x8000u
struct http_lwip {
	const struct http_server *srv;
	struct http_tls *tls;       /* NULL: plain HTTP */
	uint32_t id_tag;            /* 0, or HTTP_LWIP_ID_TLS */
	struct tcp_pcb *listener;
	struct http_lwip_stats st;
	uint64_t next_refuse_log_ms;
	unsigned max_conns;         /* slots of conns[] in use: set by listen */
	unsigned max_per_addr;      /* a client address's share of a full pool */
	struct http_lwip_conn conns[HTTP_LWIP_MAX_CONNS];
};

/* Listens on port (all addresses) and serves srv. hl and srv must outlive
 * the listener. Returns 0, -EALREADY, -EADDRINUSE or -ENOMEM. */
int http_lwip_listen(struct http_lwip *hl, const struct http_server *srv, uint16_t port);

/* The same over TLS with t's identity (t must outlive the listener). */
int http_lwip_listen_tls(struct http_lwip *hl, const struct http_server *srv, uint16_t port,
			 struct http_tls *t);

/* keyd's answer to a TLS pool connection's signature request: the
 * handshake goes on (or fails) at once. Unknown or stale ids are
 * ignored; 0 when delivered, -ENOENT otherwise. rep NULL: keyd is gone,
 * the handshake fails. */
int http_lwip_tls_signed(struct http_lwip *hl, uint32_t id, const struct tls_sign_reply_msg *rep);

/* Closes the listener and resets every connection (tests; netd exits). */
void http_lwip_shutdown(struct http_lwip *hl);

/* The connection with this id, if it is still open and serving; or NULL. */
struct http_conn *http_lwip_find(struct http_lwip *hl, uint32_t id);

/* After answering a PENDING connection from outside lwIP (an imsg reply):
 * sends the output and resumes reading. c must come from http_lwip_find. */
void http_lwip_kick(struct http_conn *c);

/* Runs deadlines (HTTP timeouts, linger) for every connection. */
void http_lwip_tick(struct http_lwip *hl, uint64_t now_ms);

/* Earliest time http_lwip_tick() has work (UINT64_MAX: none). */
uint64_t http_lwip_next_deadline(const struct http_lwip *hl);

const struct http_lwip_stats *http_lwip_stats(const struct http_lwip *hl);

/* lwIP's memory, for /v1/info: pool buffers and heap bytes in use. */
struct http_lwip_mem {
	uint32_t pbuf_pool_used, pbuf_pool_size;
	uint32_t heap_used, heap_size;
	uint32_t tcp_pcb_used, tcp_pcb_size;
};
void http_lwip_mem(struct http_lwip_mem *out);

#endif
