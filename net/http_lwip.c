/* net/http_lwip.c: see http_lwip.h.
 *
 * Every event on a connection (data, ACK, timer, an answer from init) ends
 * in pump(), which repeats until nothing moves: hand the core's output to
 * lwIP, feed the core the bytes we hold, tell it about EOF; then close if
 * the core says so. Keeping one place that drives a connection makes the
 * callbacks trivially small.
 *
 * Ownership of received data: lwIP gives us a pbuf chain per segment
 * batch. Bytes the core cannot take yet stay in that chain (hc->rx), not
 * acknowledged with tcp_recved, so the advertised window shrinks and the
 * sender waits: the window bounds what we hold. Its pool buffers are
 * bounded too: past HOLD_MAX_PBUFS (a full window of full-sized segments
 * fits) the held chain is copied into one buffer from lwIP's heap, so a
 * client sending tiny segments cannot drain the shared pool. Only when the
 * heap is short too do we return ERR_MEM: lwIP then keeps the segment and
 * offers it again from its 250 ms timer, while the sender retransmits.
 *
 * lwIP rules honoured here: a callback that called tcp_abort() returns
 * ERR_ABRT; tcp_abort() runs the error callback synchronously, so the slot
 * is detached before aborting; after tcp_close() succeeds the pcb is not
 * ours any more.
 */
#include "net/http_lwip.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#define HOLD_MAX_PBUFS (TCP_WND / TCP_MSS + 8)
#define HOLD_MAX_BYTES 0xffff    /* a pbuf chain's tot_len is 16 bits */
#define PUMP_ROUNDS    64        /* bound on one pump; the rest waits for the next event */

/* What became of a connection after we drove it. A callback returns
 * ERR_ABRT exactly when the result is HL_ABORTED. */
enum hl_result {
	HL_ALIVE,                  /* still ours */
	HL_CLOSED,                 /* tcp_close()d: the pcb is lwIP's now */
	HL_ABORTED,                /* tcp_abort()ed */
};

struct hl_conn {
	struct http_conn http;
	struct tcp_pcb *pcb;
	struct pbuf *rx;           /* received, not yet taken by the core */
	uint64_t linger_until;     /* lingering: close then at the latest */
	uint16_t gen;
	bool in_use;
	bool lingering;            /* HTTP finished; draining the peer's data */
	bool peer_eof;
	bool eof_given;            /* http_conn_eof() called */
};

static struct hl_conn conns[HTTP_LWIP_MAX_CONNS];
static const struct http_server *server;
static struct tcp_pcb *listener;
static struct http_lwip_stats stats;

static err_t cb_result(enum hl_result r)
{
	return r == HL_ABORTED ? ERR_ABRT : ERR_OK;
}

static uint32_t conn_id(const struct hl_conn *hc)
{
	return (uint32_t)hc->gen << 16 | (uint32_t)(hc - conns);
}

static struct hl_conn *conn_of(struct http_conn *c)
{
	return (struct hl_conn *)(void *)((char *)c - offsetof(struct hl_conn, http));
}

static void detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
}

static void release(struct hl_conn *hc)
{
	if (hc->rx != NULL)
		pbuf_free(hc->rx);
	hc->rx = NULL;
	hc->pcb = NULL;
	hc->in_use = false;
	hc->lingering = false;
	/* A new generation makes ids of the old connection stale; 0 is never
	 * used, so no live connection has id 0 ("no id" in imsg). */
	if (++hc->gen == 0)
		hc->gen = 1;
	stats.active--;
}

/* tcp_recved takes 16 bits at a time. */
static void ack_bytes(struct tcp_pcb *pcb, size_t n)
{
	while (n > 0) {
		u16_t chunk = n > 0xffff ? 0xffff : (u16_t)n;
		tcp_recved(pcb, chunk);
		n -= chunk;
	}
}

/* Drops what we hold, acknowledged first: lwIP answers a close with
 * unread data by a RST, which could destroy a response still in flight. */
static void drop_input(struct hl_conn *hc)
{
	if (hc->rx == NULL)
		return;
	ack_bytes(hc->pcb, hc->rx->tot_len);
	pbuf_free(hc->rx);
	hc->rx = NULL;
}

static enum hl_result abort_conn(struct hl_conn *hc)
{
	struct tcp_pcb *pcb = hc->pcb;

	detach(pcb);
	release(hc);
	stats.aborted++;
	tcp_abort(pcb);
	return HL_ABORTED;
}

/* Closes for good; lwIP finishes the TCP close on its own. */
static enum hl_result close_conn(struct hl_conn *hc)
{
	struct tcp_pcb *pcb = hc->pcb;

	drop_input(hc);
	/* Detach first: a successful tcp_close() may free the pcb at once. */
	detach(pcb);
	if (tcp_close(pcb) != ERR_OK)
		return abort_conn(hc);  /* out of memory for the FIN */
	release(hc);
	return HL_CLOSED;
}

/* The HTTP side is done. Send FIN but keep reading (and discarding) until
 * the peer closes too, or the linger time passes. */
static enum hl_result finish(struct hl_conn *hc, uint64_t now)
{
	if (hc->peer_eof)
		return close_conn(hc);
	drop_input(hc);
	if (tcp_shutdown(hc->pcb, 0, 1) != ERR_OK)
		return close_conn(hc);
	hc->lingering = true;
	hc->linger_until = now + HTTP_LWIP_LINGER_MS;
	return HL_ALIVE;
}

/* Hands lwIP as much output as it accepts. Returns true if it took some;
 * *r turns HL_ABORTED if the connection had to be dropped. */
static bool push_output(struct hl_conn *hc, uint64_t now, enum hl_result *r)
{
	size_t len;
	const uint8_t *out = http_conn_output(&hc->http, &len);

	if (len == 0)
		return false;
	size_t room = tcp_sndbuf(hc->pcb);
	if (tcp_sndqueuelen(hc->pcb) >= TCP_SND_QUEUELEN)
		room = 0;
	size_t n = len < room ? len : room;
	if (n == 0)
		return false;            /* the sent callback brings us back */
	u8_t flags = TCP_WRITE_FLAG_COPY | (n < len ? TCP_WRITE_FLAG_MORE : 0);
	err_t err = tcp_write(hc->pcb, out, (u16_t)n, flags);
	if (err == ERR_MEM)
		return false;            /* lwIP's heap is short: retried on ACK or tick */
	if (err != ERR_OK) {
		dlog("http conn %08x: tcp_write: error %d", conn_id(hc), (int)err);
		*r = abort_conn(hc);
		return false;
	}
	/* TCP_WRITE_FLAG_COPY: the bytes are lwIP's now, our buffer is free. */
	http_conn_sent(&hc->http, n, now);
	return true;
}

/* Feeds held bytes to the core; returns true if it took any. */
static bool feed_input(struct hl_conn *hc, uint64_t now)
{
	size_t taken = 0;

	while (hc->rx != NULL) {
		struct pbuf *q = hc->rx;
		if (q->len == 0) {
			hc->rx = q->next;
			q->next = NULL;
			pbuf_free(q);
			continue;
		}
		size_t n = http_conn_feed(&hc->http, q->payload, q->len, now);
		if (n == 0)
			break;
		taken += n;
		hc->rx = pbuf_free_header(q, (u16_t)n);
	}
	if (taken > 0)
		ack_bytes(hc->pcb, taken);
	return taken > 0;
}

/* Moves a connection forward as far as it goes now. */
static enum hl_result pump(struct hl_conn *hc, uint64_t now)
{
	enum hl_result r = HL_ALIVE;
	bool wrote = false;

	if (hc->lingering)
		return HL_ALIVE;
	for (unsigned round = 0; round < PUMP_ROUNDS; round++) {
		bool moved = false;

		if (push_output(hc, now, &r))
			moved = wrote = true;
		if (r != HL_ALIVE)
			return r;
		if (feed_input(hc, now))
			moved = true;
		if (hc->rx == NULL && hc->peer_eof && !hc->eof_given) {
			http_conn_eof(&hc->http);
			hc->eof_given = true;
			moved = true;
		}
		if (!moved)
			break;
	}
	if (wrote)
		tcp_output(hc->pcb);
	if (http_conn_state(&hc->http) == HTTP_CONN_CLOSED)
		return finish(hc, now);
	return HL_ALIVE;
}

/* Appends p to the held input (see the top of the file). ERR_OK: p is
 * ours; ERR_MEM: p was not taken. */
static err_t hold_input(struct hl_conn *hc, struct pbuf *p)
{
	if (hc->rx == NULL) {
		hc->rx = p;
		return ERR_OK;
	}
	if ((size_t)hc->rx->tot_len + p->tot_len > HOLD_MAX_BYTES)
		return ERR_MEM;
	if (pbuf_clen(hc->rx) + pbuf_clen(p) > HOLD_MAX_PBUFS) {
		struct pbuf *flat = pbuf_clone(PBUF_RAW, PBUF_RAM, hc->rx);
		if (flat == NULL)
			return ERR_MEM;
		pbuf_free(hc->rx);
		hc->rx = flat;
		stats.coalesced++;
	}
	pbuf_cat(hc->rx, p);
	return ERR_OK;
}

/* --- lwIP callbacks ------------------------------------------------------------ */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct hl_conn *hc = arg;

	if (hc == NULL || err != ERR_OK) {
		/* Not ours any more, or an error lwIP never reports here today. */
		if (p != NULL) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (p == NULL) {
		hc->peer_eof = true;
		if (hc->lingering)
			return cb_result(close_conn(hc));
		return cb_result(pump(hc, mono_ms()));
	}
	if (hc->lingering) {
		/* Nobody will read it: acknowledge and drop. */
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	if (hold_input(hc, p) != ERR_OK)
		return ERR_MEM;  /* lwIP keeps p and offers it again later */
	return cb_result(pump(hc, mono_ms()));
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct hl_conn *hc = arg;

	(void)pcb;
	(void)len;
	if (hc == NULL)
		return ERR_OK;
	return cb_result(pump(hc, mono_ms()));
}

static void on_err(void *arg, err_t err)
{
	struct hl_conn *hc = arg;

	/* lwIP already freed the pcb (RST from the peer, retransmissions
	 * exhausted, or out of memory). */
	if (hc == NULL)
		return;
	(void)err;
	stats.reset++;
	hc->pcb = NULL;
	release(hc);
}

/* The oldest-deadline lingering slot, to make room when the pool is full:
 * its HTTP work is done, so closing it early costs nothing but grace. */
static struct hl_conn *evict_candidate(void)
{
	struct hl_conn *best = NULL;

	for (size_t i = 0; i < HTTP_LWIP_MAX_CONNS; i++) {
		struct hl_conn *hc = &conns[i];
		if (hc->in_use && hc->lingering &&
		    (best == NULL || hc->linger_until < best->linger_until))
			best = hc;
	}
	return best;
}

static struct hl_conn *free_slot(void)
{
	for (size_t i = 0; i < HTTP_LWIP_MAX_CONNS; i++)
		if (!conns[i].in_use)
			return &conns[i];
	struct hl_conn *victim = evict_candidate();
	if (victim == NULL)
		return NULL;
	stats.evicted++;
	close_conn(victim);
	return victim;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;

	struct hl_conn *hc = free_slot();
	if (hc == NULL) {
		/* Overload: a RST now is kinder than a connection that hangs. */
		static uint64_t next_log_ms;
		uint64_t now = mono_ms();
		if (++stats.refused == 1 || now >= next_log_ms) {
			next_log_ms = now + 10000;
			dlog("http: connection pool full (%d), refusing (%llu so far)",
			     HTTP_LWIP_MAX_CONNS, (unsigned long long)stats.refused);
		}
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	if (hc->gen == 0)
		hc->gen = 1;
	hc->in_use = true;
	hc->pcb = pcb;
	hc->rx = NULL;
	hc->lingering = hc->peer_eof = hc->eof_given = false;
	hc->linger_until = 0;
	stats.active++;
	stats.accepted++;
	http_conn_init(&hc->http, server, conn_id(hc), mono_ms());

	/* Responses go out whole; waiting for an ACK before the last small
	 * segment would only add latency. */
	tcp_nagle_disable(pcb);
	tcp_arg(pcb, hc);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	return ERR_OK;
}

/* --- netd's side --------------------------------------------------------------- */

int http_lwip_listen(const struct http_server *srv, uint16_t port)
{
	struct tcp_pcb *pcb;

	if (listener != NULL)
		return -EALREADY;
	pcb = tcp_new();
	if (pcb == NULL)
		return -ENOMEM;
	/* A restarted netd must not wait for old TIME_WAIT pcbs: SO_REUSE is
	 * compiled in for that. */
	ip_set_option(pcb, SOF_REUSEADDR);
	if (tcp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
		tcp_close(pcb);
		return -EADDRINUSE;
	}
	struct tcp_pcb *lpcb = tcp_listen_with_backlog(pcb, TCP_DEFAULT_LISTEN_BACKLOG);
	if (lpcb == NULL) {
		tcp_close(pcb);
		return -ENOMEM;
	}
	server = srv;
	listener = lpcb;
	tcp_accept(lpcb, on_accept);
	return 0;
}

struct http_conn *http_lwip_find(uint32_t id)
{
	uint32_t slot = id & 0xffff;

	if (slot >= HTTP_LWIP_MAX_CONNS)
		return NULL;
	struct hl_conn *hc = &conns[slot];
	if (!hc->in_use || hc->lingering || conn_id(hc) != id)
		return NULL;
	return &hc->http;
}

void http_lwip_kick(struct http_conn *c)
{
	struct hl_conn *hc = conn_of(c);

	if (hc->in_use)
		pump(hc, mono_ms());
}

void http_lwip_tick(uint64_t now_ms)
{
	for (size_t i = 0; i < HTTP_LWIP_MAX_CONNS; i++) {
		struct hl_conn *hc = &conns[i];

		if (!hc->in_use)
			continue;
		if (hc->lingering) {
			if (now_ms >= hc->linger_until)
				close_conn(hc);
			continue;
		}
		/* Timeouts may queue a 408/504 or turn the connection CLOSED;
		 * the pump also retries output that lwIP's heap refused. */
		http_conn_tick(&hc->http, now_ms);
		pump(hc, now_ms);
	}
}

uint64_t http_lwip_next_deadline(void)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < HTTP_LWIP_MAX_CONNS; i++) {
		const struct hl_conn *hc = &conns[i];
		uint64_t d;

		if (!hc->in_use)
			continue;
		d = hc->lingering ? hc->linger_until : http_conn_deadline(&hc->http);
		if (d < next)
			next = d;
	}
	return next;
}

void http_lwip_stats(struct http_lwip_stats *out)
{
	*out = stats;
}
