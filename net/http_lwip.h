/* net/http_lwip.h: the HTTP core (net/http.h) over lwIP raw TCP.
 *
 * A fixed pool of connections, each a struct http_conn plus its tcp_pcb.
 * Flow control is TCP's own: received bytes are acknowledged to lwIP
 * (tcp_recved, which reopens the window) only once the HTTP core took
 * them, so a connection whose request is being answered stops its sender
 * instead of buffering without bound. A full pool refuses new connections
 * with a RST.
 *
 * Connection ids are slot index + generation: an answer from init for a
 * connection that closed (or whose slot was reused) finds nothing.
 *
 * Single-threaded, called from netd's event loop and from lwIP callbacks.
 * Error convention: 0 or a count, negative errno on failure.
 */
#ifndef DSHIELD_NET_HTTP_LWIP_H
#define DSHIELD_NET_HTTP_LWIP_H

#include <stdint.h>

#include "net/http.h"

/* 128 connections of about 92 KiB each: 12 MiB of netd's ~32 MiB. */
#define HTTP_LWIP_MAX_CONNS 128
/* After our last response on a connection we stop sending (FIN) but keep
 * reading, so data the client already sent does not make lwIP answer
 * with a RST that could destroy the response in flight; this long. */
#define HTTP_LWIP_LINGER_MS 2000

struct http_lwip_stats {
	uint64_t accepted;
	uint64_t refused;          /* pool full: RST */
	uint64_t evicted;          /* lingering connection closed early for a new one */
	uint64_t aborted;          /* lwIP could not close or write: RST */
	uint64_t coalesced;        /* held input copied out of pool buffers */
	uint64_t reset;            /* the peer or lwIP dropped the connection */
	unsigned active;           /* slots in use (lingering ones included) */
};

/* Listens on port (all addresses) and serves srv. srv must outlive the
 * listener. Returns 0, -EADDRINUSE or -ENOMEM. */
int http_lwip_listen(const struct http_server *srv, uint16_t port);

/* The connection with this id, if it is still open and serving; or NULL. */
struct http_conn *http_lwip_find(uint32_t id);

/* After answering a PENDING connection from outside lwIP (an imsg reply):
 * sends the output and resumes reading. */
void http_lwip_kick(struct http_conn *c);

/* Runs deadlines (HTTP timeouts, linger) for every connection. */
void http_lwip_tick(uint64_t now_ms);

/* Earliest time http_lwip_tick() has work (UINT64_MAX: none). */
uint64_t http_lwip_next_deadline(void);

void http_lwip_stats(struct http_lwip_stats *out);

#endif
