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
 * bounded too: past HOLD_MAX_PBUFS the held chain is copied into one
 * buffer from lwIP's heap, so a client sending tiny segments cannot drain
 * the shared pool; those copies are bounded for all connections together
 * (HTTP_LWIP_HELD_HEAP_MAX). Past either limit we return ERR_MEM: lwIP
 * keeps the segment and offers it again from its 250 ms timer, while the
 * sender waits or retransmits.
 *
 * Output: at most HTTP_LWIP_SND_MAX bytes per connection sit in lwIP. A
 * client that does not read keeps them there, so the core's output stays
 * unsent, the core stops parsing the client's pipeline, we stop taking its
 * input, and its window closes: it costs a bounded amount until the idle
 * timeout closes it, and then a RST rather than a FIN_WAIT that would keep
 * the unsent data for minutes.
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
#include "net/http_tls.h"
#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"

#define HOLD_MAX_PBUFS 8         /* pool buffers held per connection before copying */
#define HOLD_MAX_BYTES 0xffff    /* a pbuf chain's tot_len is 16 bits */
#define PUMP_ROUNDS    64        /* bound on one pump; the rest waits for the next event */
/* New connections are refused while lwIP's free memory is under these, so
 * ARP, DHCP and the handshakes of connections already accepted (and the
 * RSTs of refused ones) still find some. */
#define POOL_RESERVE   256       /* pool buffers */
#define HEAP_RESERVE   (512u * 1024)
#define REFUSE_LOG_MS  10000

/* http_lwip.c is lwIP's only user of per-pcb extension arguments
 * (LWIP_TCP_PCB_NUM_EXT_ARGS is 1): the listener's SYN hook. */
#define HL_EXT_ARG_ID  0

/* What became of a connection after we drove it. A callback returns
 * ERR_ABRT exactly when the result is HL_ABORTED. */
enum hl_result {
	HL_ALIVE,                  /* still ours */
	HL_CLOSED,                 /* tcp_close()d: the pcb is lwIP's now */
	HL_ABORTED,                /* tcp_abort()ed */
};

/* How cheaply a connection can be given up for a new one, cheapest
 * first. */
enum hl_class {
	HC_LINGERING,              /* HTTP done */
	HC_IDLE,                   /* no request in progress */
	HC_STALLED,                /* output waits for the client to read */
	HC_BUSY,                   /* a request arriving */
	HC_KEEP,                   /* waiting for init: never evicted */
};

static err_t cb_result(enum hl_result r)
{
	return r == HL_ABORTED ? ERR_ABRT : ERR_OK;
}

static unsigned slot_of(const struct http_lwip_conn *hc)
{
	return (unsigned)(hc - hc->hl->conns);
}

static uint32_t conn_id(const struct http_lwip_conn *hc)
{
	return (uint32_t)hc->gen << 16 | hc->hl->id_tag | slot_of(hc);
}

/* The connection's TLS engine, or NULL on the plain pool. */
static struct tls_conn *tls_of(const struct http_lwip_conn *hc)
{
	return hc->hl->tls != NULL ? &hc->hl->tls->conns[slot_of(hc)] : NULL;
}

static uint64_t header_timeout(const struct http_lwip *hl)
{
	return hl->srv->header_timeout_ms ? hl->srv->header_timeout_ms :
	       HTTP_DEFAULT_HEADER_TIMEOUT_MS;
}

static struct http_lwip_conn *conn_of(struct http_conn *c)
{
	return (struct http_lwip_conn *)(void *)((char *)c -
						 offsetof(struct http_lwip_conn, http));
}

/* Bytes of this connection lwIP holds (unsent or unacknowledged). From
 * snd_buf itself: tcp_sndbuf() caps it at 65535 (with window scaling),
 * so with a TCP_SND_BUF above that an idle connection looked as if it
 * still held bytes, and the API never finished an answer. */
static size_t queued(const struct tcp_pcb *pcb)
{
	return (size_t)(TCP_SND_BUF - pcb->snd_buf);
}

static bool all_acked(const struct tcp_pcb *pcb)
{
	return pcb->unsent == NULL && pcb->unacked == NULL;
}

static void detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
}

/* The heap copy at the head of rx is gone. */
static void rx_heap_freed(struct http_lwip_conn *hc)
{
	hc->hl->st.held_heap -= hc->rx_heap;
	hc->rx_heap = 0;
}

static void free_rx(struct http_lwip_conn *hc)
{
	if (hc->rx != NULL)
		pbuf_free(hc->rx);
	hc->rx = NULL;
	rx_heap_freed(hc);
}

static void release(struct http_lwip_conn *hc)
{
	http_conn_release(&hc->http);
	free_rx(hc);
	hc->pcb = NULL;
	hc->in_use = false;
	hc->lingering = false;
	/* A new generation makes ids of the old connection stale; 0 is never
	 * used, so no live connection has id 0 ("no id" in imsg). */
	if (++hc->gen == 0)
		hc->gen = 1;
	hc->hl->st.active--;
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
static void drop_input(struct http_lwip_conn *hc)
{
	if (hc->rx == NULL)
		return;
	ack_bytes(hc->pcb, hc->rx->tot_len);
	free_rx(hc);
}

/* RST. counter: which kind of abort this is (NULL: counted by the caller). */
static enum hl_result abort_conn(struct http_lwip_conn *hc, uint64_t *counter)
{
	struct tcp_pcb *pcb = hc->pcb;

	detach(pcb);
	release(hc);
	if (counter != NULL)
		(*counter)++;
	tcp_abort(pcb);
	return HL_ABORTED;
}

/* Closes for good; lwIP finishes the TCP close on its own. Data the peer
 * never took would keep the pcb (and its buffers) in FIN_WAIT for minutes
 * of retransmissions and window probes: that is a RST instead. */
static enum hl_result close_conn(struct http_lwip_conn *hc)
{
	struct tcp_pcb *pcb = hc->pcb;

	drop_input(hc);
	if (pcb->unsent != NULL)
		return abort_conn(hc, &hc->hl->st.aborted_unsent);
	/* Detach first: a successful tcp_close() may free the pcb at once. */
	detach(pcb);
	if (tcp_close(pcb) != ERR_OK)
		return abort_conn(hc, &hc->hl->st.aborted_error);  /* no memory for the FIN */
	release(hc);
	return HL_CLOSED;
}

/* The end of lingering: all our data (and FIN) acknowledged, or time up
 * with some still unacknowledged (the client stopped reading): RST. */
static enum hl_result end_linger(struct http_lwip_conn *hc)
{
	if (!all_acked(hc->pcb))
		return abort_conn(hc, &hc->hl->st.aborted_unsent);
	return close_conn(hc);
}

/* The HTTP side is done. Send FIN but keep reading (and discarding) until
 * the peer closed too and took everything, or the linger time passes. */
static enum hl_result finish(struct http_lwip_conn *hc, uint64_t now)
{
	drop_input(hc);
	if (tcp_shutdown(hc->pcb, 0, 1) != ERR_OK)
		return close_conn(hc);
	hc->lingering = true;
	hc->linger_until = now + HTTP_LWIP_LINGER_MS;
	if (hc->peer_eof && all_acked(hc->pcb))
		return close_conn(hc);
	return HL_ALIVE;
}

/* Hands lwIP as much of out[0..len) as it accepts, at most
 * HTTP_LWIP_SND_MAX queued. Returns the bytes it took (copied: the
 * caller's buffer is free again); *r turns HL_ABORTED if the connection
 * had to be dropped. */
static size_t send_bytes(struct http_lwip_conn *hc, const uint8_t *out, size_t len,
			 enum hl_result *r)
{
	if (len == 0)
		return 0;
	size_t q = queued(hc->pcb);
	size_t room = q < HTTP_LWIP_SND_MAX ? HTTP_LWIP_SND_MAX - q : 0;
	if (tcp_sndbuf(hc->pcb) < room)
		room = tcp_sndbuf(hc->pcb);
	if (tcp_sndqueuelen(hc->pcb) >= HTTP_LWIP_SND_QUEUE_MAX)
		room = 0;
	size_t n = len < room ? len : room;
	if (n == 0)
		return 0;                /* the sent callback brings us back */
	u8_t flags = TCP_WRITE_FLAG_COPY | (n < len ? TCP_WRITE_FLAG_MORE : 0);
	err_t err = tcp_write(hc->pcb, out, (u16_t)n, flags);
	if (err == ERR_MEM)
		return 0;                /* lwIP's heap is short: retried on ACK or tick */
	if (err != ERR_OK) {
		dlog("http conn %08x: tcp_write: error %d", conn_id(hc), (int)err);
		*r = abort_conn(hc, &hc->hl->st.aborted_error);
		return 0;
	}
	return n;
}

/* The core's output to lwIP (through the TLS engine on the TLS pool:
 * plaintext into records, then whatever ciphertext waits, handshake
 * messages and alerts included). Returns true if anything moved. */
static bool push_output(struct http_lwip_conn *hc, uint64_t now, enum hl_result *r)
{
	struct tls_conn *tc = tls_of(hc);
	bool moved = false;
	size_t len, n;
	const uint8_t *out = http_conn_output(&hc->http, &len);

	if (tc == NULL) {
		n = send_bytes(hc, out, len, r);
		if (n > 0)
			http_conn_sent(&hc->http, n, now);
		return n > 0;
	}
	if (len > 0 && tc->open) {
		long w = tls_write(tc, out, len);
		if (w > 0) {
			http_conn_sent(&hc->http, (size_t)w, now);
			moved = true;
		}
	}
	out = tls_out(tc, &len);
	n = send_bytes(hc, out, len, r);
	if (n > 0) {
		tls_out_done(tc, n);
		moved = true;
	}
	return moved;
}

/* Received bytes to the core, or to the TLS engine on the TLS pool: how
 * many it took (0 also when the engine failed: the pump then closes). */
static size_t take_input(struct http_lwip_conn *hc, const uint8_t *p, size_t n, uint64_t now)
{
	long r;

	if (hc->hl->tls == NULL)
		return http_conn_feed(&hc->http, p, n, now);
	r = http_tls_feed(hc->hl->tls, slot_of(hc), conn_id(hc), p, n);
	return r > 0 ? (size_t)r : 0;
}

/* Plaintext the TLS engine has to the core; true if it took any. */
static bool feed_plain(struct http_lwip_conn *hc, uint64_t now)
{
	struct tls_conn *tc = tls_of(hc);
	size_t n, k;
	const uint8_t *p;

	if (tc == NULL)
		return false;
	p = tls_in(tc, &n);
	if (n == 0)
		return false;
	k = http_conn_feed(&hc->http, p, n, now);
	if (k > 0) {
		tls_in_done(tc, k);
		hc->progress_ms = now;
	}
	return k > 0;
}

/* Feeds held bytes to the core; returns true if it took any. */
static bool feed_input(struct http_lwip_conn *hc, uint64_t now)
{
	size_t taken = 0;

	while (hc->rx != NULL) {
		struct pbuf *q = hc->rx;
		if (q->len == 0) {
			hc->rx = q->next;
			q->next = NULL;
			pbuf_free(q);
			rx_heap_freed(hc);   /* only the head can be the heap copy */
			continue;
		}
		size_t n = take_input(hc, q->payload, q->len, now);
		if (n == 0)
			break;
		taken += n;
		if (n >= q->len)
			rx_heap_freed(hc);
		hc->rx = pbuf_free_header(q, (u16_t)n);
	}
	if (taken > 0) {
		ack_bytes(hc->pcb, taken);
		hc->progress_ms = now;
	}
	return taken > 0;
}

/* No more plaintext will come: the peer's EOF reached the core (after
 * the engine's last plaintext, on the TLS pool). */
static bool input_ended(struct http_lwip_conn *hc)
{
	struct tls_conn *tc = tls_of(hc);
	size_t n = 0;

	if (hc->rx != NULL || !hc->peer_eof || hc->eof_given)
		return false;
	if (tc != NULL) {
		tls_in(tc, &n);
		if (n > 0)
			return false;
		tls_eof(tc);
	}
	return true;
}

/* TLS pool: the connection ends: a close_notify (or the alert of a
 * failure) goes out before the FIN. */
static bool tls_ending(struct http_lwip_conn *hc, enum hl_result *r)
{
	struct tls_conn *tc = tls_of(hc);
	enum tls_status ts;
	size_t len, n;
	const uint8_t *out;

	if (tc == NULL)
		return http_conn_state(&hc->http) == HTTP_CONN_CLOSED;
	ts = tls_status(tc);
	if (ts == TLS_FAILED || ts == TLS_CLOSED) {
		if (ts == TLS_FAILED && !tc->closing && !hc->eof_given)
			hc->hl->tls->st.failed++;
		tc->closing = 1;   /* counted once */
	} else if (http_conn_state(&hc->http) == HTTP_CONN_CLOSED) {
		if (!tc->closing)
			tls_close(tc);
	} else {
		return false;
	}
	out = tls_out(tc, &len);
	n = send_bytes(hc, out, len, r);
	if (n > 0) {
		tls_out_done(tc, n);
		tcp_output(hc->pcb);
	}
	return true;
}

/* Moves a connection forward as far as it goes now. */
static enum hl_result pump(struct http_lwip_conn *hc, uint64_t now)
{
	enum hl_result r = HL_ALIVE;
	struct tls_conn *tc = tls_of(hc);
	bool wrote = false, was_open = tc != NULL && tc->open;

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
		if (feed_plain(hc, now))
			moved = true;
		if (input_ended(hc)) {
			http_conn_eof(&hc->http);
			hc->eof_given = true;
			moved = true;
		}
		if (!moved)
			break;
	}
	if (wrote)
		tcp_output(hc->pcb);
	if (tc != NULL && !was_open && tc->open)
		hc->hl->tls->st.handshakes++;
	if (tls_ending(hc, &r)) {
		if (r != HL_ALIVE)
			return r;
		return finish(hc, now);
	}
	return HL_ALIVE;
}

/* Replaces the held chain plus p by one heap buffer. */
static err_t coalesce(struct http_lwip_conn *hc, struct pbuf *p, size_t total)
{
	struct http_lwip *hl = hc->hl;

	if (hl->st.held_heap - hc->rx_heap + total > HTTP_LWIP_HELD_HEAP_MAX)
		return ERR_MEM;
	struct pbuf *flat = pbuf_alloc(PBUF_RAW, (u16_t)total, PBUF_RAM);
	if (flat == NULL)
		return ERR_MEM;
	pbuf_copy_partial(hc->rx, flat->payload, hc->rx->tot_len, 0);
	pbuf_copy_partial(p, (uint8_t *)flat->payload + hc->rx->tot_len, p->tot_len, 0);
	free_rx(hc);
	pbuf_free(p);
	hc->rx = flat;
	hc->rx_heap = (uint32_t)total;
	hl->st.held_heap += (uint32_t)total;
	hl->st.coalesced++;
	return ERR_OK;
}

/* Appends p to the held input (see the top of the file). ERR_OK: p is
 * ours; ERR_MEM: p was not taken. */
static err_t hold_input(struct http_lwip_conn *hc, struct pbuf *p)
{
	if (hc->rx == NULL) {
		hc->rx = p;
		return ERR_OK;
	}
	size_t total = (size_t)hc->rx->tot_len + p->tot_len;
	if (total > HOLD_MAX_BYTES)
		return ERR_MEM;
	if (pbuf_clen(hc->rx) + pbuf_clen(p) > HOLD_MAX_PBUFS)
		return coalesce(hc, p, total);
	pbuf_cat(hc->rx, p);
	return ERR_OK;
}

/* --- lwIP callbacks ------------------------------------------------------------ */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct http_lwip_conn *hc = arg;

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
		/* Lingering: close once the peer took everything (on_sent), or
		 * reset at the deadline if it never does. */
		if (hc->lingering)
			return all_acked(pcb) ? cb_result(close_conn(hc)) : ERR_OK;
		return cb_result(pump(hc, mono_ms()));
	}
	if (hc->lingering) {
		/* Nobody will read it: acknowledge and drop. */
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	if (hold_input(hc, p) != ERR_OK) {
		hc->hl->st.input_deferred++;
		return ERR_MEM;  /* lwIP keeps p and offers it again later */
	}
	return cb_result(pump(hc, mono_ms()));
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct http_lwip_conn *hc = arg;

	(void)len;
	if (hc == NULL)
		return ERR_OK;
	hc->progress_ms = mono_ms();
	if (hc->lingering)
		return hc->peer_eof && all_acked(pcb) ? cb_result(close_conn(hc)) : ERR_OK;
	return cb_result(pump(hc, hc->progress_ms));
}

static void on_err(void *arg, err_t err)
{
	struct http_lwip_conn *hc = arg;

	/* lwIP already freed the pcb (RST from the peer, retransmissions
	 * exhausted, or out of memory). */
	if (hc == NULL)
		return;
	(void)err;
	hc->hl->st.reset++;
	hc->pcb = NULL;
	release(hc);
}

/* --- admission ----------------------------------------------------------------- */

static enum hl_class classify(const struct http_lwip_conn *hc)
{
	if (hc->lingering)
		return HC_LINGERING;
	switch (http_conn_state(&hc->http)) {
	case HTTP_CONN_PENDING:
		return HC_KEEP;
	case HTTP_CONN_READING:
		return hc->rx == NULL && http_conn_idle(&hc->http) ? HC_IDLE : HC_BUSY;
	default:
		return HC_STALLED;
	}
}

static unsigned count_addr(const struct http_lwip *hl, uint32_t remote_ip)
{
	unsigned n = 0;

	for (size_t i = 0; i < hl->max_conns; i++)
		n += hl->conns[i].in_use && hl->conns[i].remote_ip == remote_ip;
	return n;
}

/* Whose connections pick_victim() may take. */
enum hl_among {
	AMONG_ADDR,                /* this address's */
	AMONG_HOGS,                /* of addresses over the pool's per-address share */
	AMONG_ALL,
};

static bool candidate(const struct http_lwip *hl, const struct http_lwip_conn *hc,
		      enum hl_among among, uint32_t remote_ip)
{
	if (!hc->in_use)
		return false;
	switch (among) {
	case AMONG_ADDR:
		return hc->remote_ip == remote_ip;
	case AMONG_HOGS:
		return count_addr(hl, hc->remote_ip) > hl->max_per_addr;
	default:
		return true;
	}
}

/* The connection that costs least to give up: the cheapest class, and in
 * it the one that moved least recently (lingering: the nearest deadline).
 * NULL if every candidate waits for init. */
static struct http_lwip_conn *pick_victim(struct http_lwip *hl, enum hl_among among,
					  uint32_t remote_ip, enum hl_class *cls)
{
	struct http_lwip_conn *best = NULL;
	enum hl_class best_cls = HC_KEEP;
	uint64_t best_key = 0;

	for (size_t i = 0; i < hl->max_conns; i++) {
		struct http_lwip_conn *hc = &hl->conns[i];
		if (!candidate(hl, hc, among, remote_ip))
			continue;
		enum hl_class c = classify(hc);
		uint64_t key = c == HC_LINGERING ? hc->linger_until : hc->progress_ms;
		if (c == HC_KEEP || c > best_cls || (c == best_cls && best != NULL && key >= best_key))
			continue;
		best = hc;
		best_cls = c;
		best_key = key;
	}
	*cls = best_cls;
	return best;
}

/* Gives up hc for a new connection: lingering ones whose data is all
 * acknowledged close normally, everything else is reset. */
static void evict(struct http_lwip_conn *hc, enum hl_class cls, bool own_addr)
{
	struct http_lwip_stats *st = &hc->hl->st;

	if (own_addr)
		st->evicted_per_addr++;
	switch (cls) {
	case HC_LINGERING:
		st->evicted_lingering++;
		if (all_acked(hc->pcb)) {
			close_conn(hc);
			return;
		}
		break;
	case HC_IDLE:
		st->evicted_idle++;
		break;
	case HC_STALLED:
		st->evicted_stalled++;
		break;
	default:
		st->evicted_busy++;
		break;
	}
	abort_conn(hc, NULL);
}

static bool memory_short(void)
{
	return (size_t)lwip_stats.memp[MEMP_PBUF_POOL]->used + POOL_RESERVE > PBUF_POOL_SIZE ||
	       (size_t)lwip_stats.mem.used + HEAP_RESERVE > MEM_SIZE;
}

/* A slot for a new connection from remote_ip, or NULL with *refused set
 * to the counter of the reason. While slots are free anyone gets one. A
 * full pool gives up a connection of the new client's own address if that
 * holds its share (max_per_addr) already, else one of an address
 * over its share, else anyone's. */
static struct http_lwip_conn *admit(struct http_lwip *hl, uint32_t remote_ip,
				    uint64_t **refused, const char **why)
{
	enum hl_class cls;
	struct http_lwip_conn *victim;

	if (memory_short()) {
		*refused = &hl->st.refused_memory;
		*why = "lwIP memory under its reserve";
		return NULL;
	}
	for (size_t i = 0; i < hl->max_conns; i++)
		if (!hl->conns[i].in_use)
			return &hl->conns[i];
	if (count_addr(hl, remote_ip) >= hl->max_per_addr) {
		victim = pick_victim(hl, AMONG_ADDR, remote_ip, &cls);
		if (victim == NULL) {
			*refused = &hl->st.refused_per_addr;
			*why = "pool full and the client's address holds its share";
			return NULL;
		}
		evict(victim, cls, true);
		return victim;
	}
	victim = pick_victim(hl, AMONG_HOGS, 0, &cls);
	if (victim == NULL)
		victim = pick_victim(hl, AMONG_ALL, 0, &cls);
	if (victim == NULL) {
		*refused = &hl->st.refused_full;
		*why = "connection pool full of requests waiting for init";
		return NULL;
	}
	evict(victim, cls, false);
	return victim;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct http_lwip *hl = arg;
	uint64_t now = mono_ms();
	uint64_t *refused = NULL;
	const char *why = "";

	if (err != ERR_OK || pcb == NULL || hl == NULL)
		return ERR_VAL;
	uint32_t remote_ip = ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip));
	struct http_lwip_conn *hc = admit(hl, remote_ip, &refused, &why);
	if (hc == NULL) {
		/* A RST now is kinder than a connection that hangs. */
		if (++*refused == 1 || now >= hl->next_refuse_log_ms) {
			hl->next_refuse_log_ms = now + REFUSE_LOG_MS;
			dlog("http: refusing a connection: %s (%llu so far)", why,
			     (unsigned long long)*refused);
		}
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	if (hc->gen == 0)
		hc->gen = 1;
	hc->hl = hl;
	hc->in_use = true;
	hc->pcb = pcb;
	hc->rx = NULL;
	hc->rx_heap = 0;
	hc->remote_ip = remote_ip;
	hc->lingering = hc->peer_eof = hc->eof_given = false;
	hc->linger_until = 0;
	hc->since_ms = hc->progress_ms = now;
	hl->st.active++;
	hl->st.accepted++;
	http_conn_init(&hc->http, hl->srv, conn_id(hc), now);
	if (hl->tls != NULL && http_tls_open(hl->tls, slot_of(hc), now) < 0) {
		/* no certificate from keyd (yet): nothing to present */
		release(hc);
		tcp_abort(pcb);
		return ERR_ABRT;
	}

	/* Responses go out whole; waiting for an ACK before the last small
	 * segment would only add latency. */
	tcp_nagle_disable(pcb);
	tcp_arg(pcb, hc);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	return ERR_OK;
}

/* lwIP calls this for each SYN on the listener, after creating its
 * SYN_RCVD pcb and before answering. lwIP has no SYN cookies, and a
 * half-open pcb lives 20 s: a trickle of spoofed SYNs would fill any
 * backlog. Past HTTP_LWIP_MAX_SYN_RCVD the oldest half-open pcb goes
 * (silently: its peer is most likely forged), so a real client, which
 * completes its handshake within a round trip, always gets through. */
static err_t on_syn(u8_t id, struct tcp_pcb_listen *lpcb, struct tcp_pcb *npcb)
{
	struct http_lwip *hl = lpcb->callback_arg;
	struct tcp_pcb *oldest = NULL;
	unsigned n = 0;

	(void)id;
	for (struct tcp_pcb *p = tcp_active_pcbs; p != NULL; p = p->next) {
		if (p == npcb || p->state != SYN_RCVD || p->listener != lpcb)
			continue;
		n++;
		/* The list is newest first: among equal ages the later is older. */
		if (oldest == NULL || (u32_t)(tcp_ticks - p->tmr) >= (u32_t)(tcp_ticks - oldest->tmr))
			oldest = p;
	}
	if (n >= HTTP_LWIP_MAX_SYN_RCVD && oldest != NULL) {
		hl->st.syn_dropped++;
		tcp_abandon(oldest, 0);
	}
	return ERR_OK;
}

static const struct tcp_ext_arg_callbacks listener_ext = {
	.passive_open = on_syn,
};

/* --- netd's side --------------------------------------------------------------- */

int http_lwip_listen_tls(struct http_lwip *hl, const struct http_server *srv, uint16_t port,
			 struct http_tls *t)
{
	if (hl->listener != NULL)
		return -EALREADY;
	hl->tls = t;
	hl->id_tag = HTTP_LWIP_ID_TLS;
	return http_lwip_listen(hl, srv, port);
}

int http_lwip_tls_signed(struct http_lwip *hl, uint32_t id, const struct tls_sign_reply_msg *rep)
{
	struct http_conn *c = hl->tls != NULL ? http_lwip_find(hl, id) : NULL;
	struct http_lwip_conn *hc;

	if (c == NULL)
		return -ENOENT;
	hc = conn_of(c);
	if (rep != NULL ? !http_tls_signed(hl->tls, slot_of(hc), rep) : false)
		return -ENOENT;
	if (rep == NULL)
		http_tls_sign_lost(hl->tls, slot_of(hc));
	pump(hc, mono_ms());
	return 0;
}

int http_lwip_listen(struct http_lwip *hl, const struct http_server *srv, uint16_t port)
{
	struct tcp_pcb *pcb;

	if (hl->listener != NULL)
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
	/* lwIP's own backlog check drops new SYNs once full; on_syn drops the
	 * oldest instead, below this. */
	struct tcp_pcb *lpcb = tcp_listen_with_backlog(pcb, 0xff);
	if (lpcb == NULL) {
		tcp_close(pcb);
		return -ENOMEM;
	}
	/* The TLS pool is smaller (http_tls.h: its slots cost more, and
	 * netd's memory bound holds both pools full); its per-address share
	 * is the same quarter of it. Slots past max_conns are never touched. */
	hl->max_conns = hl->tls != NULL ? HTTP_TLS_MAX_CONNS : HTTP_LWIP_MAX_CONNS;
	hl->max_per_addr = hl->tls != NULL ? HTTP_TLS_MAX_PER_ADDR : HTTP_LWIP_MAX_PER_ADDR;
	for (size_t i = 0; i < hl->max_conns; i++)
		hl->conns[i].hl = hl;
	hl->srv = srv;
	hl->listener = lpcb;
	tcp_arg(lpcb, hl);
	tcp_ext_arg_set_callbacks(lpcb, HL_EXT_ARG_ID, &listener_ext);
	tcp_accept(lpcb, on_accept);
	return 0;
}

void http_lwip_shutdown(struct http_lwip *hl)
{
	for (size_t i = 0; i < hl->max_conns; i++)
		if (hl->conns[i].in_use)
			abort_conn(&hl->conns[i], NULL);
	if (hl->listener != NULL) {
		tcp_arg(hl->listener, NULL);
		tcp_accept(hl->listener, NULL);
		tcp_close(hl->listener);
		hl->listener = NULL;
	}
}

struct http_conn *http_lwip_find(struct http_lwip *hl, uint32_t id)
{
	uint32_t slot = id & 0xffff & ~HTTP_LWIP_ID_TLS;

	if ((id & HTTP_LWIP_ID_TLS) != hl->id_tag || slot >= hl->max_conns)
		return NULL;
	struct http_lwip_conn *hc = &hl->conns[slot];
	if (!hc->in_use || hc->lingering || conn_id(hc) != id)
		return NULL;
	return &hc->http;
}

void http_lwip_kick(struct http_conn *c)
{
	struct http_lwip_conn *hc = conn_of(c);

	if (hc->in_use)
		pump(hc, mono_ms());
}

void http_lwip_tick(struct http_lwip *hl, uint64_t now_ms)
{
	for (size_t i = 0; i < hl->max_conns; i++) {
		struct http_lwip_conn *hc = &hl->conns[i];

		if (!hc->in_use)
			continue;
		if (hc->lingering) {
			if (now_ms >= hc->linger_until)
				end_linger(hc);
			continue;
		}
		/* a TLS handshake is bounded like a request's head */
		if (hl->tls != NULL && !tls_of(hc)->open &&
		    now_ms - hc->since_ms >= header_timeout(hl)) {
			hl->tls->st.timed_out++;
			abort_conn(hc, NULL);
			continue;
		}
		/* Timeouts may queue a 408/504 or turn the connection CLOSED;
		 * the pump also retries output that lwIP's heap refused. */
		http_conn_tick(&hc->http, now_ms);
		pump(hc, now_ms);
	}
}

uint64_t http_lwip_next_deadline(const struct http_lwip *hl)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < hl->max_conns; i++) {
		const struct http_lwip_conn *hc = &hl->conns[i];
		uint64_t d;

		if (!hc->in_use)
			continue;
		d = hc->lingering ? hc->linger_until : http_conn_deadline(&hc->http);
		if (!hc->lingering && hl->tls != NULL && !tls_of(hc)->open &&
		    hc->since_ms + header_timeout(hl) < d)
			d = hc->since_ms + header_timeout(hl);
		if (d < next)
			next = d;
	}
	return next;
}

const struct http_lwip_stats *http_lwip_stats(const struct http_lwip *hl)
{
	return &hl->st;
}

void http_lwip_mem(struct http_lwip_mem *out)
{
	out->pbuf_pool_used = (uint32_t)lwip_stats.memp[MEMP_PBUF_POOL]->used;
	out->pbuf_pool_size = PBUF_POOL_SIZE;
	out->heap_used = (uint32_t)lwip_stats.mem.used;
	out->heap_size = MEM_SIZE;
	out->tcp_pcb_used = (uint32_t)lwip_stats.memp[MEMP_TCP_PCB]->used;
	out->tcp_pcb_size = MEMP_NUM_TCP_PCB;
}
