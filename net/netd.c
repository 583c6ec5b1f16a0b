/* net/netd.c: the network worker's main loop (see netd.h).
 *
 * Order of events: seccomp first (before a single byte from anyone is
 * read), then init's configuration, then lwIP and the interface. The loop
 * waits in epoll on three descriptors:
 *
 *   packet socket  frames for lwIP (at most RX_BUDGET per wakeup)
 *   init channel   lifecycle (proto/init_netd.h); a hangup means init is gone
 *   keyd channel   quotes and receipt signatures (proto/netd_keyd.h),
 *                  handed over by init and replaced whenever keyd restarts
 *   logd channel   the egress log (proto/logd.h): attestation entries and
 *                  the log routes' reads, handed over and replaced the same way
 *   sandboxd channel  functions, secrets, tokens (proto/netd_sandboxd.h),
 *                  the same way; its invocation replies bring workers'
 *   worker fds     descriptors, which join the loop (non-blocking) while
 *                  netd writes the request and reads the answer
 *   timerfd        lwIP's next timeout, HTTP deadlines
 *
 * and never polls: when nothing happens it sleeps until lwIP's next timer
 * (ARP, DHCP, TCP), at most a second.
 */
#include "net/netd.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/errbuf.h"
#include "lib/imsg.h"
#include "lib/log.h"
#include "lib/tbucket.h"
#include "proto/init_netd.h"
#include "proto/logd.h"
#include "proto/netd_keyd.h"
#include "proto/netd_sandboxd.h"
#include "proto/role.h"
#include "crypto/egress.h"
#include "crypto/log_entry.h"
#include "net/api.h"
#include "net/egress_proxy.h"
#include "net/egress_secrets.h"
#include "net/fn_egress.h"
#include "net/kms_carrier.h"
#include "net/refusal_budget.h"
#include "lib/http.h"
#include "net/http_lwip.h"
#include "net/http_tls.h"
#include "net/netif_packet.h"

#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

/* init raises netd's descriptor limit to NETD_NOFILE before the exec:
 * every function's listeners and the proxy's connections, and a few
 * channels and timers besides */
_Static_assert(NETD_NOFILE >= FN_EGRESS_FN_MAX * SBX_LISTENERS_MAX + EGP_CONN_MAX + 64,
	       "netd's descriptor limit holds its listeners and connections");

#define RX_BUDGET        256    /* frames per wakeup before the others get a turn */
#define IMSG_BUDGET      32
#define MAX_SLEEP_MS     1000
#define BUSY_SLEEP_MS    250    /* while connections are open (retries, ticks) */

/* A request to init, keyd or logd waiting for its answer: matched by netd's
 * sequence number (hdr.id, never reused) and by kind, never by connection
 * id alone. */
#define PENDING_MAX     256
/* Appends to logd not yet answered, at most: logd drops an answer its
 * channel to netd cannot take (logd/logd.c send_to), and an allow record
 * whose APPENDED is lost holds its connection until the setup timeout.
 * Records past these wait in netd's queue (LOGQ_CAP bytes, in order). */
#define LOG_INFLIGHT_MAX 64
#define LOGQ_CAP         (1u << 20)
/* What a record nothing waits for (PENDING_LOG) must leave free of the
 * queue: the rest is for records a request waits for, so that however
 * many refusals and completions queue up, an allowed request's record
 * finds room (docs/EGRESS.md, "Refusals over a function's budget"). */
#define LOGQ_RESERVE     (LOGQ_CAP / 4)
/* Console lines for best-effort records not in the log: a burst, then
 * one a second; the ones not said are counted into the next. */
#define UNLOGGED_SAY_BURST     8
#define UNLOGGED_SAY_PERIOD_MS 1000
#define PENDING_STALE_MS 120000   /* reclaimed when the table is full */
enum pending_kind { PENDING_FREE = 0, PENDING_KADDR, PENDING_QUOTE, PENDING_LOG, PENDING_SBX,
		    PENDING_RECEIPT, PENDING_EGRESS, PENDING_TLS_SIGN };
struct pending {
	uint32_t seq;
	uint32_t conn_id;
	enum pending_kind kind;
	uint64_t since_ms;
};

struct netd {
	int imsg_fd;
	int keyd_fd;               /* -1 while keyd is not there */
	int logd_fd;               /* -1 while logd is not there */
	int sbx_fd;                /* -1 while sandboxd is not there */
	int pkt_fd;
	int pkt_tx_fd;             /* the vnet socket for sending; -1: none (net/netif_packet.h) */
	int ep;
	int tfd;
	struct netd_config_msg cfg;
	bool have_cfg;
	char hostname[sizeof(((struct netd_config_msg *)0)->hostname) + 1];
	struct netif netif;
	struct netif_packet np;
	struct http_server srv;
	struct api_state api;
	struct http_lwip http;     /* the API server's connection pool */
	struct http_lwip https;    /* the same API over TLS (API_TLS_PORT) */
	bool tls_listening;
	uint32_t reported_addr;    /* address last announced as BOUND */
	bool listening;
	int fatal;                 /* set by a callback; the loop returns it */
	uint32_t seq;              /* last request sequence number */
	struct pending pending[PENDING_MAX];
	unsigned log_inflight;     /* of them, appends to logd (pending_free) */
	uint64_t timer_at;         /* when tfd fires (mono ms), 0 once it did */
	/* records for logd waiting for room (LOG_INFLIGHT_MAX): a ring of
	 * struct logq_hdr and the encoded entry */
	uint8_t logq[LOGQ_CAP];
	size_t logq_head, logq_len;
	struct refusal_budget refusals;   /* each function's refusal records */
	struct tbucket unlogged_say;      /* console lines of records not in the log */
	uint64_t unlogged_unsaid;         /* of those, not said since the last one */
	uint64_t stray_replies;    /* answers matching no request */
	struct fn_egress egress;   /* the listeners in functions' namespaces */
	uint32_t anchors_policy_gen;  /* the policy whose extra_anchors the TLS anchors hold */
	struct egress_proxy px;    /* their connections, carried upstream */
	struct egress_tls tls;     /* the local CA, leaves, anchors of TLS origination */
	struct kms_carrier kms;    /* init's KMS key request (docs/STORE.md) */
	struct netd_kms_req_msg kms_target; /* where init's last request went */
	bool kms_known;
	struct keyd_freshness_msg fresh;    /* keyd's latest freshness record */
	bool fresh_waiting;        /* not posted yet */
	int fresh_error;           /* the last post's outcome: logged on a change */
};

static struct netd nd;
static struct imsg msg;        /* 16 KiB: not on the stack */
static struct egress_secrets esec; /* the values the proxy injects (IMSG_SBX_INJECT) */
static struct http_tls htls;   /* the TLS pool's engines (0.46 MiB) and keyd's certificate */

/* The connection an id names, in either pool (HTTP_LWIP_ID_TLS). */
static struct http_conn *conn_find(uint32_t id)
{
	return http_lwip_find(id & HTTP_LWIP_ID_TLS ? &nd.https : &nd.http, id);
}

static void send_status(enum netd_state state)
{
	struct netd_status_msg st;
	const struct netif *n = &nd.netif;

	memset(&st, 0, sizeof st);
	st.state = state;
	st.ipv4_addr = ip4_addr_get_u32(netif_ip4_addr(n));
	st.ipv4_netmask = ip4_addr_get_u32(netif_ip4_netmask(n));
	st.ipv4_gw = ip4_addr_get_u32(netif_ip4_gw(n));
	for (u8_t i = 0; i < 2 && i < DNS_MAX_SERVERS; i++) {
		const ip_addr_t *d = dns_getserver(i);
		st.dns[i] = d != NULL ? ip4_addr_get_u32(ip_2_ip4(d)) : 0;
	}
	st.t_ms = boot_ms();
	st.dhcp = nd.cfg.ipv4_addr == 0;
	int r = imsg_send(nd.imsg_fd, IMSG_NETD_STATUS, 0, &st, sizeof st, NULL, 0);
	if (r < 0)
		dlog("cannot send status %d to init: %s", (int)state, strerror(-r));
}

static const char *ip4_str(uint32_t be, char *buf, size_t len)
{
	ip4_addr_t a;

	ip4_addr_set_u32(&a, be);
	return ip4addr_ntoa_r(&a, buf, (int)len) != NULL ? buf : "?";
}

/* dshield.dns= replaces the resolvers, with a static address and over a
 * DHCP lease alike. lwIP's DHCP client writes the lease's resolvers into
 * the DNS table on every ACK (the first and each renewal), so the
 * configured ones are put back after anything that may have processed one:
 * at start, when an address is bound, and after each batch of frames. */
static void dns_apply_override(void)
{
	for (u8_t i = 0; i < 2 && i < DNS_MAX_SERVERS; i++) {
		const ip_addr_t *cur = dns_getserver(i);
		ip_addr_t d;
		if (nd.cfg.dns[i] == 0)
			continue;
		if (cur != NULL && ip4_addr_get_u32(ip_2_ip4(cur)) == nd.cfg.dns[i])
			continue;
		ip_addr_set_ip4_u32_val(d, nd.cfg.dns[i]);
		dns_setserver(i, &d);
	}
}

/* The API over TLS: once there is an address and keyd's certificate. A
 * failure leaves the plain API serving. */
static void start_tls_listening(void)
{
	int r;

	if (nd.tls_listening || !nd.listening || !htls.have_cert)
		return;
	r = http_lwip_listen_tls(&nd.https, &nd.srv, API_TLS_PORT, &htls);
	if (r < 0) {
		dlog("cannot listen on port %u (TLS): %s", API_TLS_PORT, strerror(-r));
		return;
	}
	nd.tls_listening = true;
	nd.api.https = &nd.https;
	dlog("API listening on port %u (TLS, key SPKI SHA-256 %02x%02x%02x%02x...)", API_TLS_PORT,
	     htls.spki_sha256[0], htls.spki_sha256[1], htls.spki_sha256[2], htls.spki_sha256[3]);
}

/* The API server starts once there is an address to serve on. */
static void start_listening(void)
{
	int r = http_lwip_listen(&nd.http, &nd.srv, nd.cfg.http_port);

	if (r < 0) {
		dlog("cannot listen on port %u: %s", nd.cfg.http_port, strerror(-r));
		nd.fatal = r;
		return;
	}
	nd.listening = true;
	nd.api.t_ready_ms = boot_ms();
	dlog("API listening on port %u", nd.cfg.http_port);
	start_tls_listening();
	send_status(NETD_STATE_READY);
}

/* lwIP calls this when the interface goes up or down or its address
 * changes: a DHCP lease (re)bound or lost, or the static address set. */
static void on_netif_status(struct netif *n)
{
	uint32_t addr = ip4_addr_get_u32(netif_ip4_addr(n));
	char a[16], m[16], g[16], d[16];

	if (!netif_is_up(n) || addr == 0) {
		if (nd.reported_addr != 0)
			dlog("address %s lost", ip4_str(nd.reported_addr, a, sizeof a));
		nd.reported_addr = 0;
		nd.api.ipv4_addr = 0;
		return;
	}
	if (addr == nd.reported_addr)
		return;
	nd.reported_addr = addr;
	nd.api.ipv4_addr = addr;
	nd.api.t_bound_ms = boot_ms();
	dns_apply_override();
	const ip_addr_t *dns0 = dns_getserver(0);
	dlog("bound %s/%s gw %s dns %s (%s)", ip4_str(addr, a, sizeof a),
	     ip4_str(ip4_addr_get_u32(netif_ip4_netmask(n)), m, sizeof m),
	     ip4_str(ip4_addr_get_u32(netif_ip4_gw(n)), g, sizeof g),
	     ip4_str(dns0 != NULL ? ip4_addr_get_u32(ip_2_ip4(dns0)) : 0, d, sizeof d),
	     nd.api.dhcp ? "dhcp" : "static");
	send_status(NETD_STATE_BOUND);
	if (!nd.listening)
		start_listening();
}

/* Appends to logd in flight (PENDING_EGRESS and PENDING_LOG), counted as
 * slots take and leave those kinds: asked for every record, where a scan
 * of the table showed in profiles. */
static bool pending_is_log(enum pending_kind kind)
{
	return kind == PENDING_EGRESS || kind == PENDING_LOG;
}

static void pending_free(struct pending *p)
{
	nd.log_inflight -= pending_is_log(p->kind);
	p->kind = PENDING_FREE;
}

/* A free slot for a new request (reclaiming one whose answer never came
 * when the table is full), with a fresh sequence number; NULL when full. */
static struct pending *pending_new(enum pending_kind kind, uint32_t conn_id)
{
	struct pending *stale = NULL, *p = NULL;
	uint64_t now = mono_ms();

	for (size_t i = 0; i < PENDING_MAX && p == NULL; i++) {
		if (nd.pending[i].kind == PENDING_FREE)
			p = &nd.pending[i];
		else if (stale == NULL && now - nd.pending[i].since_ms >= PENDING_STALE_MS)
			stale = &nd.pending[i];
	}
	if (p == NULL)
		p = stale;
	if (p == NULL)
		return NULL;
	if (++nd.seq == 0)
		nd.seq = 1;
	pending_free(p);
	nd.log_inflight += pending_is_log(kind);
	*p = (struct pending){ nd.seq, conn_id, kind, now };
	return p;
}

/* The connection an answer of this kind and sequence number is for: its
 * request is taken out of the table. NULL for a stray answer (counted), or
 * when the client left (or timed out) meanwhile. */
static struct http_conn *answered_conn(enum pending_kind kind, uint32_t seq)
{
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &nd.pending[i];
		if (p->kind == kind && p->seq == seq) {
			pending_free(p);
			return conn_find(p->conn_id);
		}
	}
	if (nd.stray_replies++ % 1000 == 0)
		dlog("dropped an answer that matches no request (kind %d, seq %u; %llu so far)",
		     (int)kind, seq, (unsigned long long)nd.stray_replies);
	return NULL;
}

/* Sends a request and records it as pending; *seq (when not NULL) gets
 * the sequence number its answer will carry. */
static int send_request(int fd, enum pending_kind kind, uint32_t type, uint32_t conn_id,
			const void *payload, size_t len, int pass_fd, uint32_t *seq)
{
	struct pending *p;
	int r;

	if (fd < 0)
		return -ENOTCONN;
	p = pending_new(kind, conn_id);
	if (p == NULL)
		return -EBUSY;
	r = imsg_send(fd, type, p->seq, payload, len, pass_fd >= 0 ? &pass_fd : NULL,
		      pass_fd >= 0 ? 1 : 0);
	if (r < 0) {
		pending_free(p);
		return r;
	}
	if (seq != NULL)
		*seq = p->seq;
	return 0;
}

/* api_state.request_kaddr: asks init for the kernel's addresses on
 * behalf of connection conn_id; the answer comes as IMSG_KADDR_REPLY. */
static int request_kaddr(void *ctx, uint32_t conn_id)
{
	(void)ctx;
	return send_request(nd.imsg_fd, PENDING_KADDR, IMSG_KADDR_REQ, conn_id, NULL, 0, -1, NULL);
}

/* api_state.request_quote: asks keyd for a quote over this nonce on behalf
 * of connection conn_id; the answer comes as IMSG_QUOTE_REPLY. */
static int request_quote(void *ctx, uint32_t conn_id, const uint8_t *nonce, size_t len)
{
	struct quote_req_msg req;

	(void)ctx;
	if (len == 0 || len > QUOTE_NONCE_MAX)
		return -EINVAL;
	memset(&req, 0, sizeof req);
	memcpy(req.nonce, nonce, len);
	req.nonce_len = (uint8_t)len;
	return send_request(nd.keyd_fd, PENDING_QUOTE, IMSG_QUOTE_REQ, conn_id, &req, sizeof req,
			    -1, NULL);
}

/* api_log.request_keyd: a receipt signature from keyd for conn_id; the
 * answer (IMSG_RECEIPT_SIGN_REPLY) carries *seq. */
static int request_keyd(void *ctx, uint32_t conn_id, uint32_t type, const void *payload,
			size_t len, uint32_t *seq)
{
	(void)ctx;
	return send_request(nd.keyd_fd, PENDING_RECEIPT, type, conn_id, payload, len, -1, seq);
}

/* http_tls's ask hook: keyd signs a ServerKeyExchange for conn_id; the
 * answer comes as IMSG_TLS_SIGN_REPLY. */
static int request_tls_sign(void *ctx, uint32_t conn_id, const struct tls_sign_req_msg *q)
{
	(void)ctx;
	return send_request(nd.keyd_fd, PENDING_TLS_SIGN, IMSG_TLS_SIGN_REQ, conn_id, q, sizeof *q,
			    -1, NULL);
}

/* api_state.request_log: one question to logd for conn_id; the answer
 * carries *seq. */
static int request_log(void *ctx, uint32_t conn_id, uint32_t type, const void *payload,
		       size_t len, uint32_t *seq)
{
	(void)ctx;
	return send_request(nd.logd_fd, PENDING_LOG, type, conn_id, payload, len, -1, seq);
}

/* api_state.request_sbx: one request to sandboxd, with a descriptor to
 * pass (a memfd) or -1. */
static int request_sbx(void *ctx, uint32_t conn_id, const void *m, size_t len, int fd,
		       uint32_t *seq)
{
	(void)ctx;
	return send_request(nd.sbx_fd, PENDING_SBX, IMSG_SBX_REQ, conn_id, m, len, fd, seq);
}

/* api_state.sbx_done: a worker goes back (no reply). */
static int sbx_done(void *ctx, const struct sbx_done_msg *m)
{
	(void)ctx;
	if (nd.sbx_fd < 0)
		return -ENOTCONN;
	return imsg_send(nd.sbx_fd, IMSG_SBX_DONE, 0, m, sizeof *m, NULL, 0);
}

/* api_state.watch_fd: a worker's descriptor joins (or leaves) the loop. */
static int watch_fd(void *ctx, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	(void)ctx;
	if (events == 0)
		return epoll_ctl(nd.ep, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
	if (epoll_ctl(nd.ep, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	if (errno == ENOENT && epoll_ctl(nd.ep, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	return -errno;
}

static void kick(void *ctx, struct http_conn *c)
{
	(void)ctx;
	http_lwip_kick(c);
}

/* api_state.find_conn */
static struct http_conn *find_conn(void *ctx, uint32_t conn_id)
{
	(void)ctx;
	return conn_find(conn_id);
}

/* A role went away: every request of this kind it owed is answered now
 * (503, or a cut stream), and its channel is closed. */
static void peer_lost(enum pending_kind kind, int *fd)
{
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &nd.pending[i];
		if (p->kind != kind)
			continue;
		pending_free(p);
		if (kind == PENDING_TLS_SIGN) {
			http_lwip_tls_signed(&nd.https, p->conn_id, NULL);
			continue;
		}
		struct http_conn *c = conn_find(p->conn_id);
		if (kind == PENDING_SBX) {
			/* also for a client gone: an invocation's slot is freed */
			api_fn_lost(&nd.api, c, p->seq);
			if (c != NULL)
				http_lwip_kick(c);
			continue;
		}
		if (c == NULL)
			continue;
		if (kind == PENDING_QUOTE)
			api_quote_lost(&nd.api, c);
		else if (kind == PENDING_RECEIPT)
			api_log_keyd_lost(&nd.api, c, p->seq);
		else
			api_log_lost(&nd.api, c, p->seq);
		http_lwip_kick(c);
	}
	if (*fd >= 0) {
		close(*fd);   /* leaves the epoll set */
		*fd = -1;
	}
}

static void keyd_lost(void)
{
	int fd = nd.keyd_fd;

	peer_lost(PENDING_TLS_SIGN, &fd);  /* closes it */
	peer_lost(PENDING_RECEIPT, &fd);
	nd.keyd_fd = fd;
	peer_lost(PENDING_QUOTE, &nd.keyd_fd);
}

static void logq_drop(void);

static void logd_lost(void)
{
	peer_lost(PENDING_LOG, &nd.logd_fd);
	logq_drop();
	/* an allow record logd never acknowledged: its connection is refused */
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &nd.pending[i];
		if (p->kind == PENDING_EGRESS) {
			pending_free(p);
			egress_proxy_appended(&nd.px, p->conn_id, -EPIPE);
		}
	}
}

static void sandboxd_lost(void)
{
	peer_lost(PENDING_SBX, &nd.sbx_fd);
	api_fn_sandboxd_gone(&nd.api);
	fn_egress_clear(&nd.egress);   /* a new sandboxd hands them again */
	esec_clear(&esec);             /* and these */
}

/* --- functions' egress ------------------------------------------------------------ */

/* --- appends to logd, LOG_INFLIGHT_MAX at a time --------------------------------------- */

#define LOG_ENC_MAX 2048   /* an egress entry: its strings are at most ~1 KiB */

struct logq_hdr {
	uint32_t conn_id;
	uint16_t len;
	uint8_t kind;              /* PENDING_EGRESS (awaited) or PENDING_LOG */
	uint8_t pad;
};

static unsigned log_inflight(void)
{
	return nd.log_inflight;
}

/* n bytes at ring offset at (modulo LOGQ_CAP), in or out. */
static void logq_copy(size_t at, void *p, size_t n, bool in)
{
	size_t o = at % LOGQ_CAP, k = n < LOGQ_CAP - o ? n : LOGQ_CAP - o;

	if (in) {
		memcpy(nd.logq + o, p, k);
		memcpy(nd.logq, (uint8_t *)p + k, n - k);
	} else {
		memcpy(p, nd.logq + o, k);
		memcpy((uint8_t *)p + k, nd.logq, n - k);
	}
}

/* What nothing waits for (PENDING_LOG) logd may sync a little later,
 * with the next append something waits for (proto/logd.h). */
static uint32_t append_type(enum pending_kind kind)
{
	return kind == PENDING_LOG ? IMSG_LOG_APPEND_LAZY : IMSG_LOG_APPEND;
}

static int logq_push(enum pending_kind kind, uint32_t conn_id, const uint8_t *enc, size_t n)
{
	struct logq_hdr h = { conn_id, (uint16_t)n, (uint8_t)kind, 0 };
	size_t keep = kind == PENDING_LOG ? LOGQ_RESERVE : 0;

	if (n > LOG_ENC_MAX || LOGQ_CAP - nd.logq_len < sizeof h + n + keep)
		return -ENOBUFS;
	logq_copy(nd.logq_head + nd.logq_len, &h, sizeof h, true);
	logq_copy(nd.logq_head + nd.logq_len + sizeof h, (void *)enc, n, true);
	nd.logq_len += sizeof h + n;
	return 0;
}

/* The oldest queued record (its header h) dropped from the ring. */
static void logq_skip(const struct logq_hdr *h)
{
	nd.logq_head = (nd.logq_head + sizeof *h + h->len) % LOGQ_CAP;
	nd.logq_len -= sizeof *h + h->len;
}

/* Sends queued records while logd has room, up to IMSG_SEND_MANY_MAX in
 * one sendmmsg straight from the ring: a loop turn's records (run_loop
 * calls this before it sleeps) cost one system call and wake logd once,
 * and logd takes them in one round, one sync. Sent one by one, the first
 * record's send let logd preempt netd for each burst (docs/EGRESS.md,
 * "Keep-alive"). A record that cannot be sent is failed: its connection
 * refused (egress_proxy_appended) or, best effort, said on the console. */
static void logq_flush(void)
{
	struct imsg_out out[IMSG_SEND_MANY_MAX];
	struct pending *pend[IMSG_SEND_MANY_MAX];
	struct logq_hdr h[IMSG_SEND_MANY_MAX];

	while (nd.logq_len > 0 && nd.logd_fd >= 0) {
		size_t at = nd.logq_head, left = nd.logq_len;
		unsigned n = 0;

		while (n < IMSG_SEND_MANY_MAX && left > 0 && log_inflight() < LOG_INFLIGHT_MAX) {
			logq_copy(at, &h[n], sizeof h[n], false);
			pend[n] = pending_new(h[n].kind, h[n].conn_id);
			if (pend[n] == NULL)
				break;   /* the table is full: an answer makes room */
			size_t o = (at + sizeof h[n]) % LOGQ_CAP, k = LOGQ_CAP - o;
			if (k > h[n].len)
				k = h[n].len;
			out[n] = (struct imsg_out){ append_type(h[n].kind), pend[n]->seq,
						    { nd.logq + o, nd.logq }, { k, h[n].len - k } };
			at = (at + sizeof h[n] + h[n].len) % LOGQ_CAP;
			left -= sizeof h[n] + h[n].len;
			n++;
		}
		if (n == 0)
			return;
		int r = imsg_send_many(nd.logd_fd, out, n);
		unsigned sent = r > 0 ? (unsigned)r : 0;
		for (unsigned i = sent; i < n; i++)
			pending_free(pend[i]);
		for (unsigned i = 0; i < sent; i++)
			logq_skip(&h[i]);
		if (r == -EAGAIN)
			return;   /* the channel is full: the next wake-up */
		if (r < 0) {
			logq_skip(&h[0]);
			if (h[0].kind == PENDING_EGRESS)
				egress_proxy_appended(&nd.px, h[0].conn_id, r);
			else
				dlog("a record is not in the log (cannot ask logd: %s)", strerror(-r));
		}
	}
}

/* logd went: every queued record fails as an unanswered one does. */
static void logq_drop(void)
{
	struct logq_hdr h;
	unsigned lost = 0;

	while (nd.logq_len > 0) {
		logq_copy(nd.logq_head, &h, sizeof h, false);
		logq_skip(&h);
		if (h.kind == PENDING_EGRESS)
			egress_proxy_appended(&nd.px, h.conn_id, -EPIPE);
		else
			lost++;
	}
	if (lost > 0)
		dlog("%u records waiting for logd are not in the log (logd went)", lost);
}

/* An append of enc[0..n) for conn_id (kind: PENDING_EGRESS, its APPENDED
 * awaited; PENDING_LOG, best effort): queued, and sent with the others of
 * this loop turn before netd sleeps (logq_flush). 0, or -errno (no logd,
 * the queue is full). */
static int log_submit(enum pending_kind kind, uint32_t conn_id, const uint8_t *enc, size_t n)
{
	if (nd.logd_fd < 0)
		return -ENOTCONN;
	return logq_push(kind, conn_id, enc, n);
}

/* A refusal said to the function too: one line in its log stream
 * (sandboxd's ring), naming what was refused and why (the reason names
 * the rule or its absence). Best effort, like the record. */
static void note_refusal(const struct log_entry *e)
{
	struct sbx_note_msg m;
	int n;

	if (nd.sbx_fd < 0)
		return;
	memset(&m, 0, sizeof m);
	if (e->type == LOG_DNS_REFUSED) {
		const struct log_dns_refused *d = &e->u.dns_refused;
		snprintf(m.function, sizeof m.function, "%.*s", (int)d->function.len, d->function.p);
		n = snprintf(m.line, sizeof m.line, "dshield egress: refused the DNS query for %.*s "
			     "(type %u): %.*s\n", (int)d->qname.len, d->qname.p, d->qtype,
			     (int)d->reason.len, d->reason.p);
	} else if (e->type == LOG_EGRESS_REFUSED && e->u.egress.host.len == 0) {
		/* a summary of refusals over the budget: its reason says it */
		const struct log_egress *g = &e->u.egress;
		snprintf(m.function, sizeof m.function, "%.*s", (int)g->function.len, g->function.p);
		n = snprintf(m.line, sizeof m.line, "dshield egress: %.*s\n", (int)g->reason.len,
			     g->reason.p);
	} else if (e->type == LOG_EGRESS_REFUSED) {
		const struct log_egress *g = &e->u.egress;
		snprintf(m.function, sizeof m.function, "%.*s", (int)g->function.len, g->function.p);
		n = snprintf(m.line, sizeof m.line, "dshield egress: refused %.*s%s%.*s:%u%.*s: %.*s\n",
			     (int)g->method.len, g->method.p, g->method.len > 0 ? " " : "",
			     (int)g->host.len, g->host.p, g->port, (int)g->path.len, g->path.p,
			     (int)g->reason.len, g->reason.p);
	} else {
		return;
	}
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof m.line) {   /* cut: still one line */
		n = (int)sizeof m.line;
		m.line[n - 1] = '\n';
	}
	m.len = (uint32_t)n;
	if (imsg_send(nd.sbx_fd, IMSG_SBX_NOTE, 0, &m, sizeof m, NULL, 0) < 0)
		return;   /* the record is what counts */
}

/* A refusal's record (egress_refused, dns_refused) or a proxied
 * connection's completion into the signed log, best effort: a refusal
 * records what did not happen (nothing left), a completion follows the
 * allow record that was durable before the first byte, so nothing waits
 * for the append. NULL, or why the log does not have it (the caller says
 * that on the console). */
static const char *log_best_effort(struct log_entry *e)
{
	uint8_t enc[LOG_ENC_MAX];
	struct timespec ts;

	note_refusal(e);
	clock_gettime(CLOCK_REALTIME, &ts);
	e->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	long n = log_entry_encode(enc, sizeof enc, e);
	if (n < 0)
		return "cannot encode it";
	if (nd.logd_fd < 0)
		return "logd is not running";
	if (log_submit(PENDING_LOG, 0, enc, (size_t)n) < 0)
		return "cannot ask logd";
	return NULL;
}

/* A best-effort record of function fn not in the log (what it was,
 * why): said on the console, UNLOGGED_SAY_BURST lines and then one a
 * second, each saying how many went unsaid before it, so that a flood
 * of them does not become a flood of lines. */
static void say_unlogged(const char *fn, size_t fnlen, const char *what, const char *err)
{
	if (!tbucket_take(&nd.unlogged_say, mono_ms())) {
		nd.unlogged_unsaid++;
		return;
	}
	if (nd.unlogged_unsaid > 0)
		dlog("function %.*s: %s is not in the log (%s; %llu more such not said)", (int)fnlen,
		     fn, what, err, (unsigned long long)nd.unlogged_unsaid);
	else
		dlog("function %.*s: %s is not in the log (%s)", (int)fnlen, fn, what, err);
	nd.unlogged_unsaid = 0;
}

/* A refusal of function fn: its record (and its line in the function's
 * log) if the function's budget has room (net/refusal_budget.h), else
 * counted for the function's next summary. */
static void log_refusal(struct log_entry *e, const char *fn, const char *what)
{
	if (!refusal_budget_take(&nd.refusals, fn, mono_ms()))
		return;
	const char *err = log_best_effort(e);

	if (err != NULL)
		say_unlogged(fn, strlen(fn), what, err);
}

/* The summaries due (refusal_budget_due): for each, one egress_refused
 * record of the function with no host, whose reason says how many of its
 * refusals went over its budget, and when. */
static void refusal_summaries(uint64_t now_ms)
{
	struct refusal_summary sm;
	char reason[320];
	struct log_entry e;

	while (refusal_budget_due(&nd.refusals, now_ms, &sm)) {
		snprintf(reason, sizeof reason,
			 "unrecorded: %llu refusals of this function (DNS queries and connections) "
			 "in the %llu ms before this record were over its budget of %u at once and "
			 "one every %u ms; each was refused, and is counted here instead of recorded "
			 "one by one", (unsigned long long)sm.count,
			 (unsigned long long)(now_ms - sm.since_ms), REFUSAL_BURST, REFUSAL_PERIOD_MS);
		memset(&e, 0, sizeof e);
		e.type = LOG_EGRESS_REFUSED;
		e.u.egress.function = (struct log_str){ sm.id, strlen(sm.id) };
		e.u.egress.decision = LOG_DENY;
		e.u.egress.reason = (struct log_str){ reason, strlen(reason) };
		const char *err = log_best_effort(&e);
		if (err != NULL) {
			/* said in the next one, a second from now: nothing is dropped */
			refusal_budget_putback(&nd.refusals, &sm, now_ms);
			say_unlogged(sm.id, strlen(sm.id), "a summary of refusals", err);
			return;
		}
	}
}

/* fn_egress's name_allowed hook: some port of some rule lets the function
 * reach the name (crypto/egress.h egress_match: the most specific rule
 * governs a name, and the function must have declared it). */
static bool egress_name_allowed(void *ctx, const struct fn_egress_fn *f, const char *name,
				size_t len)
{
	const struct policy *p = &nd.api.fn.policy;
	char nm[DNS_NAME_MAX + 1], err[128];
	enum egress_reason why;

	(void)ctx;
	if (!nd.api.fn.have_policy || len >= sizeof nm)
		return false;
	memcpy(nm, name, len);
	nm[len] = '\0';
	for (unsigned r = 0; r < p->nrules; r++)
		for (unsigned k = 0; k < p->rules[r].nports; k++)
			if (egress_match(p, f->rules, nm, p->rules[r].ports[k], NULL, NULL, &why, err,
					 sizeof err) >= 0)
				return true;
	return false;
}

/* The proxy's invocation hook: the one invocation of fn in flight, if
 * there is exactly one (net/api_fn.h api_fn_in_flight). */
static void proxy_invocation(void *ctx, const char *fn, char id[37])
{
	(void)ctx;
	(void)api_fn_in_flight(&nd.api, fn, id);
}

/* fn_egress's dns_refused hook: the query's dns_refused record. */
static void egress_dns_refused(void *ctx, const struct fn_egress_fn *f, const struct dns_query *q,
			       enum dns_result res)
{
	static const char not_allowed[] = "no rule the function declared allows this name";
	static const char full[] = "the function's table of names is full";
	struct log_entry e;
	char inv[37];

	(void)ctx;
	memset(&e, 0, sizeof e);
	e.type = LOG_DNS_REFUSED;
	e.u.dns_refused.function = (struct log_str){ f->id, strlen(f->id) };
	(void)api_fn_in_flight(&nd.api, f->id, inv);
	e.u.dns_refused.invocation = (struct log_str){ inv, strlen(inv) };
	e.u.dns_refused.qname = (struct log_str){ q->name, q->name_len };
	e.u.dns_refused.qtype = q->qtype;
	e.u.dns_refused.reason = res == DNS_RES_FULL ? (struct log_str){ full, sizeof full - 1 } :
				 (struct log_str){ not_allowed, sizeof not_allowed - 1 };
	log_refusal(&e, f->id, "a refused DNS query");
}

/* The reason of a connection to a fake address on a port with no
 * listener, which the function's kernel refused (fn_egress's
 * SBX_L_RESETS): the proxy's own decision for that name and port, so it
 * reads as a refusal on a listened port would (not_declared,
 * port_not_allowed, unknown_address), then who refused it; a port a rule
 * allows but nothing listens on (53, 3128, or past SBX_EGRESS_PORTS_MAX)
 * says so. host gets the name, or the address when it stands for none. */
static void kernel_refusal(const struct fn_egress_fn *f, uint32_t addr, uint16_t port,
			   char *host, size_t hostlen, char *reason, size_t len)
{
	static const char kernel[] = "; the function's kernel refused the connection (nothing "
				     "listens on that port in its namespace)";
	char why[EGP_REASON_MAX - sizeof kernel];
	struct egp_target t;

	int r = egp_decide_fake(nd.api.fn.have_policy ? &nd.api.fn.policy : NULL, f->rules,
				f->fakes, addr, port, &t, why, sizeof why);
	if (t.host[0] != '\0')
		snprintf(host, hostlen, "%s", t.host);
	if (r >= 0)
		snprintf(why, sizeof why, "no_listener: rule %s allows port %u, but ports 53 and "
			 "3128 are DNS's and the proxy's, and at most %u others are listened on; "
			 "use the proxy at 127.0.0.1:3128", nd.api.fn.policy.rules[t.rule].host, port,
			 SBX_EGRESS_PORTS_MAX);
	snprintf(reason, len, "%s%s", why, kernel);
}

/* fn_egress's refused hook: its egress_refused record. A DNS-over-TCP
 * connection was reset, the pool or the function's share of it full; or
 * (SBX_L_RESETS) the function's kernel refused a connection to a fake
 * address on a port with no listener. (Connections on port and proxy
 * listeners go to the conn hook.) */
static void egress_refused(void *ctx, const struct fn_egress_fn *f, uint8_t kind, uint32_t addr,
			   uint16_t port)
{
	char reason[EGP_REASON_MAX];
	struct log_entry e;
	char host[EGRESS_NAME_MAX + 1], inv[37];

	(void)ctx;
	snprintf(host, sizeof host, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
		 addr & 255);
	if (kind == SBX_L_RESETS)
		kernel_refusal(f, addr, port, host, sizeof host, reason, sizeof reason);
	else
		snprintf(reason, sizeof reason,
			 "dns_tcp_busy: no room for another DNS-over-TCP connection (%u a function, "
			 "%u in all, each closed after %u ms without a query)",
			 FN_DNS_TCP_PER_FN, FN_DNS_TCP_MAX, FN_DNS_TCP_IDLE_MS);
	memset(&e, 0, sizeof e);
	e.type = LOG_EGRESS_REFUSED;
	(void)api_fn_in_flight(&nd.api, f->id, inv);
	e.u.egress.invocation = (struct log_str){ inv, strlen(inv) };
	e.u.egress.function = (struct log_str){ f->id, strlen(f->id) };
	e.u.egress.scheme = (struct log_str){ "tcp", 3 };
	e.u.egress.host = (struct log_str){ host, strlen(host) };
	e.u.egress.port = port;
	e.u.egress.decision = LOG_DENY;
	e.u.egress.reason = (struct log_str){ reason, strlen(reason) };
	log_refusal(&e, f->id, "a refused connection");
}

/* egress_proxy's policy hook. */
static const struct policy *proxy_policy(void *ctx)
{
	(void)ctx;
	return nd.api.fn.have_policy ? &nd.api.fn.policy : NULL;
}

/* egress_proxy's append hook: the allow record of connection id, whose
 * APPENDED (or logd's loss) goes back to the proxy (egress_appended). */
static int proxy_append(void *ctx, uint32_t id, const struct log_entry *e)
{
	uint8_t enc[LOG_ENC_MAX];

	(void)ctx;
	long n = log_entry_encode(enc, sizeof enc, e);
	if (n < 0)
		return (int)n;
	return log_submit(PENDING_EGRESS, id, enc, (size_t)n);
}

/* egress_proxy's record hook: refusals and completions, best effort. */
static void proxy_record(void *ctx, const struct log_entry *e)
{
	const struct log_str *r = &e->u.egress.reason, *fn = &e->u.egress.function;
	struct log_entry copy = *e;
	char id[SBX_ID_MAX], what[96];

	(void)ctx;
	if (e->type == LOG_EGRESS_REFUSED) {
		snprintf(id, sizeof id, "%.*s", (int)fn->len, fn->p);
		if (!refusal_budget_take(&nd.refusals, id, mono_ms()))
			return;
	}
	const char *err = log_best_effort(&copy);
	if (err == NULL)
		return;   /* the usual case, a record per answer: nothing formatted */
	const char *colon = memchr(r->p, ':', r->len);
	/* the reason's code says which, on the console */
	snprintf(what, sizeof what, "%s (%.*s)",
		 e->type == LOG_EGRESS ? "a connection's completion" : "a refused connection",
		 (int)(colon != NULL ? (size_t)(colon - r->p) : r->len), r->p);
	say_unlogged(fn->p, fn->len, what, err);
}

/* fn_egress's conn hook: a connection on a proxy or port listener. */
static void egress_conn(void *ctx, const struct fn_egress_fn *f, uint8_t kind, int fd)
{
	(void)ctx;
	egress_proxy_accept(&nd.px, f, kind, fd);
}

/* logd's answer a to append seq: the proxy's awaited record (its
 * allow or request record), or an append of the API's or a record nothing
 * waits for (PENDING_LOG). */
static void log_appended(uint32_t seq, const struct log_appended_msg *a)
{
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &nd.pending[i];
		if (p->kind != PENDING_EGRESS || p->seq != seq)
			continue;
		pending_free(p);
		egress_proxy_appended(&nd.px, p->conn_id, a->error > 0 ? -EPROTO : a->error);
		return;
	}
	struct http_conn *c = answered_conn(PENDING_LOG, seq);
	if (c == NULL)
		return;
	api_log_reply(&nd.api, c, seq, IMSG_LOG_APPENDED, a, sizeof *a);
	http_lwip_kick(c);
}

/* IMSG_LOG_APPENDED: one answer (a malformed one answers its append
 * with -EBADMSG). */
static void take_appended(void)
{
	struct log_appended_msg a;

	if (msg.nfds != 0 || imsg_get(&msg, IMSG_LOG_APPENDED, &a, sizeof a) < 0)
		a = (struct log_appended_msg){ .error = -EBADMSG };
	log_appended(msg.hdr.id, &a);
}

/* IMSG_LOG_APPENDED_MANY: a round's answers, each taken as a lone one
 * (proto/logd.h). A malformed message names no append it answers:
 * refused, its appends stay unanswered as if logd had not said. */
static void take_appended_many(void)
{
	struct log_appended_one one;
	size_t n = log_appended_many_count(msg.hdr.len);

	if (msg.nfds != 0 || n == 0) {
		dlog("refused logd's answers: %u bytes are not 2 to %d answers", msg.hdr.len,
		     LOG_APPENDED_MANY_MAX);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(&one, msg.payload + i * sizeof one, sizeof one);
		log_appended(one.id, &(struct log_appended_msg){ .error = one.error, .index = one.index });
	}
}

/* IMSG_SBX_INJECT: the values a function's rules inject. */
static void take_inject(void)
{
	char err[ERRBUF_LEN];

	if (esec_take(&esec, msg.payload, msg.hdr.len, err, sizeof err) < 0)
		dlog("sandboxd's inject message refused (its requests will be secret_missing): %s", err);
}

static int proxy_secret(void *ctx, const char *fn, const char *name, const char **v, size_t *n)
{
	(void)ctx;
	return esec_get(&esec, fn, name, v, n);
}

/* IMSG_SBX_EGRESS: the table takes the message and its descriptors. */
static void take_egress(void)
{
	int fds[IMSG_MAX_FDS];
	unsigned nfds = msg.nfds;

	for (unsigned i = 0; i < nfds; i++)
		fds[i] = imsg_take_fd(&msg, i);
	int r = fn_egress_take(&nd.egress, msg.payload, msg.hdr.len, fds, nfds);
	if (r < 0)
		dlog("sandboxd's egress message refused: %s", strerror(-r));
	else
		dlog("egress: %llu functions, %llu listeners", (unsigned long long)nd.egress.st.functions_known,
		     (unsigned long long)nd.egress.st.listeners);
}

/* --- configuration from init ----------------------------------------------------- */

static int check_config(const struct netd_config_msg *c)
{
	static const uint8_t zero[6];

	if (memcmp(c->mac, zero, 6) == 0 || (c->mac[0] & 1)) {
		dlog("config: MAC is zero or multicast");
		return -EINVAL;
	}
	if (c->http_port == 0) {
		dlog("config: HTTP port is 0");
		return -EINVAL;
	}
	if (c->ipv4_addr != 0 && c->ipv4_netmask == 0) {
		dlog("config: static address without netmask");
		return -EINVAL;
	}
	return 0;
}

static int take_config(void)
{
	int r = imsg_get(&msg, IMSG_NETD_CONFIG, &nd.cfg, sizeof nd.cfg);

	if (r < 0) {
		dlog("config: malformed IMSG_NETD_CONFIG (%u bytes)", msg.hdr.len);
		return r;
	}
	if (msg.nfds != 1 && msg.nfds != 2) {
		dlog("config: expected the packet sockets, got %u descriptors", msg.nfds);
		return -EBADMSG;
	}
	r = check_config(&nd.cfg);
	if (r < 0)
		return r;
	nd.pkt_fd = imsg_take_fd(&msg, 0);
	nd.pkt_tx_fd = msg.nfds == 2 ? imsg_take_fd(&msg, 1) : -1;
	memcpy(nd.hostname, nd.cfg.hostname, sizeof nd.cfg.hostname);
	nd.hostname[sizeof nd.hostname - 1] = '\0';
	nd.have_cfg = true;
	return 0;
}

static int take_boot_info(void)
{
	int r = imsg_get(&msg, IMSG_BOOT_INFO, &nd.api.boot, sizeof nd.api.boot);

	if (r < 0) {
		dlog("malformed IMSG_BOOT_INFO (%u bytes)", msg.hdr.len);
		return r;
	}
	nd.api.have_boot = true;
	return 0;
}

/* The runtime layers' state, for /v1/info (rendered bounded by api.c). */
static void take_layers_info(void)
{
	if (imsg_get(&msg, IMSG_LAYERS_INFO, &nd.api.layers, sizeof nd.api.layers) < 0) {
		dlog("malformed IMSG_LAYERS_INFO (%u bytes)", msg.hdr.len);
		return;
	}
	nd.api.have_layers = true;
}

/* The encrypted store's state, for /v1/info. */
static void take_store_info(void)
{
	if (imsg_get(&msg, IMSG_STORE_INFO, &nd.api.store, sizeof nd.api.store) < 0) {
		dlog("malformed IMSG_STORE_INFO (%u bytes)", msg.hdr.len);
		return;
	}
	nd.api.have_store = true;
}

/* The anchors now trusted (n of them, or the error err), said on the
 * console and in /v1/info. */
static void anchors_said(long n, const char *err)
{
	nd.api.tls.anchors = (uint32_t)nd.tls.anchors.n;
	nd.api.tls.test_anchors = (uint32_t)nd.tls.anchors.n_extra;
	snprintf(nd.api.tls.why, sizeof nd.api.tls.why, "%.159s", n < 0 ? nd.tls.anchors_why : "");
	if (n < 0)
		dlog("%s: TLS origination refuses every connection", err);
	else if (nd.tls.anchors.n_extra > 0)
		dlog("trust anchors: %zu, of which %zu TEST ANCHORS (the policy's extra_anchors): "
		     "upstreams they vouch for are trusted", nd.tls.anchors.n, nd.tls.anchors.n_extra);
	else
		dlog("trust anchors: %zu", nd.tls.anchors.n);
}

/* IMSG_NETD_ANCHORS: the trust anchors file, as a descriptor. */
static void take_anchors(void)
{
	struct netd_anchors_msg m;
	char err[EGP_REASON_MAX];
	int fd = -1;

	if (imsg_get(&msg, IMSG_NETD_ANCHORS, &m, sizeof m) < 0 || m.has_anchors > 1 ||
	    msg.nfds != m.has_anchors) {
		dlog("malformed IMSG_NETD_ANCHORS (%u bytes, %u fds)", msg.hdr.len, msg.nfds);
		return;
	}
	if (!nd.tls.ready)
		return;
	m.why[sizeof m.why - 1] = '\0';
	if (m.has_anchors)
		fd = imsg_take_fd(&msg, 0);
	anchors_said(egress_tls_anchors(&nd.tls, fd, m.why, err, sizeof err), err);
	if (fd >= 0)
		close(fd);
}

/* After the sandboxd channel's messages: a new policy's extra_anchors
 * join the trust anchors (a policy with none takes the last one's away). */
static void policy_anchors(void)
{
	char err[EGP_REASON_MAX];

	if (!nd.tls.ready || nd.api.fn.policy_gen == nd.anchors_policy_gen)
		return;
	nd.anchors_policy_gen = nd.api.fn.policy_gen;
	if (nd.api.fn.policy.nanchors == 0 && nd.tls.plen == 0)
		return;   /* nothing to add or take away */
	anchors_said(egress_tls_policy_anchors(&nd.tls, &nd.api.fn.policy, err, sizeof err), err);
}

/* Blocks until init sent both the configuration and the boot info. */
static int read_startup(void)
{
	while (!nd.have_cfg || !nd.api.have_boot) {
		int r = imsg_recv(nd.imsg_fd, &msg);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			dlog("reading configuration from init: %s", strerror(-r));
			return r;
		}
		switch (msg.hdr.type) {
		case IMSG_NETD_CONFIG:
			r = nd.have_cfg ? -EBADMSG : take_config();
			break;
		case IMSG_BOOT_INFO:
			r = take_boot_info();
			break;
		default:
			dlog("unexpected message %u before configuration", msg.hdr.type);
			r = -EBADMSG;
		}
		imsg_close_fds(&msg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- lwIP ---------------------------------------------------------------------------- */

static int start_lwip(void)
{
	ip4_addr_t addr, mask, gw;

	lwip_init();
	ip4_addr_set_u32(&addr, nd.cfg.ipv4_addr);
	ip4_addr_set_u32(&mask, nd.cfg.ipv4_netmask);
	ip4_addr_set_u32(&gw, nd.cfg.ipv4_gw);
	netif_packet_setup(&nd.np, nd.pkt_fd, nd.pkt_tx_fd, nd.cfg.mac);
	if (netif_add(&nd.netif, &addr, &mask, &gw, &nd.np, netif_packet_init,
		      ethernet_input) == NULL) {
		dlog("netif_add failed");
		return -ENODEV;
	}
	if (nd.hostname[0] != '\0')
		netif_set_hostname(&nd.netif, nd.hostname);
	netif_set_status_callback(&nd.netif, on_netif_status);
	netif_set_default(&nd.netif);

	nd.api.dhcp = nd.cfg.ipv4_addr == 0;
	dns_apply_override();
	/* Static: this reports the address through on_netif_status. */
	netif_set_up(&nd.netif);
	if (nd.api.dhcp) {
		err_t err = dhcp_start(&nd.netif);
		if (err != ERR_OK) {
			dlog("dhcp_start: error %d", (int)err);
			return -ENOMEM;
		}
		dlog("DHCP started on %.16s", nd.cfg.ifname);
	}
	return nd.fatal;
}

/* --- event loop ------------------------------------------------------------------------ */

static int ep_add(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(nd.ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static void arm_timer(void)
{
	uint64_t now = mono_ms();
	uint64_t wait = MAX_SLEEP_MS;
	u32_t lw = sys_timeouts_sleeptime();
	uint64_t next = http_lwip_next_deadline(&nd.http);
	uint64_t tls_next = http_lwip_next_deadline(&nd.https);
	uint64_t fn_next = api_fn_next_deadline(&nd.api);
	uint64_t px_next = egress_proxy_next_deadline(&nd.px);
	uint64_t rb_next = refusal_budget_next_deadline(&nd.refusals);
	uint64_t dns_next = fn_egress_next_deadline(&nd.egress);

	if (rb_next < px_next)
		px_next = rb_next;
	if (dns_next < px_next)
		px_next = dns_next;
	if (tls_next < next)
		next = tls_next;
	if (fn_next < next)
		next = fn_next;
	if (px_next < next)
		next = px_next;
	if (lw != SYS_TIMEOUTS_SLEEPTIME_INFINITE && lw < wait)
		wait = lw;
	if (next != UINT64_MAX)
		wait = next <= now ? 0 : (next - now < wait ? next - now : wait);
	if ((http_lwip_stats(&nd.http)->active > 0 || http_lwip_stats(&nd.https)->active > 0 ||
	     nd.px.st.active > 0) && wait > BUSY_SLEEP_MS)
		wait = BUSY_SLEEP_MS;
	if (wait == 0)
		wait = 1;  /* an all-zero it_value would disarm the timer */
	/* armed for the same millisecond already: a syscall saved in each of
	 * the loop's rounds under load */
	if (nd.timer_at == now + wait)
		return;

	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(wait / 1000),
			      .tv_nsec = (long)(wait % 1000) * 1000000L },
	};
	if (timerfd_settime(nd.tfd, 0, &its, NULL) != 0)
		dlog("timerfd_settime: %s", strerror(errno));
	else
		nd.timer_at = now + wait;
}

static void handle_kaddr_reply(void)
{
	struct kaddr_reply_msg rep;

	if (imsg_get(&msg, IMSG_KADDR_REPLY, &rep, sizeof rep) < 0) {
		dlog("malformed IMSG_KADDR_REPLY (%u bytes)", msg.hdr.len);
		return;
	}
	struct http_conn *c = answered_conn(PENDING_KADDR, msg.hdr.id);
	if (c == NULL)
		return;
	api_kaddr_reply(&nd.api, c, &rep);
	http_lwip_kick(c);
}

/* A quote reply is the fixed part and the quote, whose length must add
 * up to the message exactly; the event log comes in the one descriptor a
 * successful reply carries (a sealed memfd of events_len bytes, checked
 * by api_quote_reply before a byte of it is read). */
static void handle_quote_reply(void)
{
	struct quote_reply_msg rep;
	size_t len = msg.hdr.len;

	if (len < sizeof rep) {
		dlog("malformed IMSG_QUOTE_REPLY (%zu bytes)", len);
		return;
	}
	memcpy(&rep, msg.payload, sizeof rep);
	rep.detail[sizeof rep.detail - 1] = '\0';
	if (rep.quote_len > QUOTE_REPLY_QUOTE_MAX || rep.events_len > QUOTE_REPLY_EVENTS_MAX ||
	    rep.nonce_len > QUOTE_NONCE_MAX || sizeof rep + rep.quote_len != len ||
	    msg.nfds != (rep.error == 0 ? 1u : 0u)) {
		dlog("malformed IMSG_QUOTE_REPLY (%zu bytes, quote %u, events %u, %u fds)", len,
		     rep.quote_len, rep.events_len, msg.nfds);
		return;
	}
	struct http_conn *c = answered_conn(PENDING_QUOTE, msg.hdr.id);
	if (c == NULL)
		return;
	api_quote_reply(&nd.api, c, &rep, msg.payload + sizeof rep,
			rep.error == 0 ? imsg_take_fd(&msg, 0) : -1);
	http_lwip_kick(c);
}

/* keyd's certificate for the API over TLS (first on every channel). */
static void take_tls_cert(void)
{
	static struct tls_cert_msg m;   /* 1 KiB */
	int r;

	if (imsg_get(&msg, IMSG_TLS_CERT, &m, sizeof m) < 0 || msg.nfds != 0 ||
	    (r = http_tls_set_cert(&htls, &m)) < 0) {
		dlog("malformed IMSG_TLS_CERT (%u bytes): the API over TLS waits for another",
		     msg.hdr.len);
		return;
	}
	start_tls_listening();
}

/* keyd's handshake signature: to the TLS connection that asked. */
static void handle_tls_sign_reply(void)
{
	struct tls_sign_reply_msg rep;

	if (imsg_get(&msg, IMSG_TLS_SIGN_REPLY, &rep, sizeof rep) < 0 || msg.nfds != 0) {
		dlog("malformed IMSG_TLS_SIGN_REPLY (%u bytes)", msg.hdr.len);
		return;
	}
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &nd.pending[i];
		if (p->kind == PENDING_TLS_SIGN && p->seq == msg.hdr.id) {
			pending_free(p);
			http_lwip_tls_signed(&nd.https, p->conn_id, &rep);
			return;
		}
	}
	nd.stray_replies++;
}

/* The types logd answers the API's questions with (proto/logd.h; its
 * appends' answers: take_appended): CHECKPOINT, READ, PROOF, FOUND. */
static bool log_answer_type(uint32_t type)
{
	return type == IMSG_LOG_CHECKPOINT || type == IMSG_LOG_READ ||
	       type == IMSG_LOG_PROOF || type == IMSG_LOG_FOUND;
}

/* An answer from logd, or keyd's receipt signature: matched to its
 * question here, checked and used by deliver (api_log_reply(),
 * api_log_keyd_reply()). */
static void handle_answer(enum pending_kind kind,
			  void (*deliver)(struct api_state *, struct http_conn *, uint32_t, uint32_t,
					  const void *, size_t))
{
	uint32_t seq = msg.hdr.id;
	struct http_conn *c = answered_conn(kind, seq);

	if (c == NULL)
		return;
	deliver(&nd.api, c, seq, msg.hdr.type, msg.payload, msg.hdr.len);
	http_lwip_kick(c);
}

/* sandboxd's reply: the fixed part, then an inline body of exactly
 * body_len bytes, or (body_in_fd) none and the memfd. Matched to its
 * request here; the API takes the descriptors. */
static void handle_sbx_reply(void)
{
	struct sbx_reply_msg rep;
	size_t len = msg.hdr.len;
	int fds[IMSG_MAX_FDS];
	unsigned nfds = msg.nfds;

	if (len < sizeof rep) {
		dlog("malformed IMSG_SBX_REPLY (%zu bytes)", len);
		return;
	}
	memcpy(&rep, msg.payload, sizeof rep);
	if (rep.body_in_fd ? len != sizeof rep
			   : (rep.body_len > SBX_INLINE_MAX || sizeof rep + rep.body_len != len)) {
		dlog("malformed IMSG_SBX_REPLY (%zu bytes, body %llu)", len,
		     (unsigned long long)rep.body_len);
		return;
	}
	struct http_conn *c = NULL;
	bool found = false;
	for (size_t i = 0; i < PENDING_MAX && !found; i++) {
		struct pending *p = &nd.pending[i];
		if (p->kind == PENDING_SBX && p->seq == msg.hdr.id) {
			pending_free(p);
			c = p->conn_id ? conn_find(p->conn_id) : NULL;
			found = true;
		}
	}
	if (!found) {
		nd.stray_replies++;
		return;
	}
	for (unsigned i = 0; i < nfds; i++)
		fds[i] = imsg_take_fd(&msg, i);
	api_fn_reply(&nd.api, c, msg.hdr.id, &rep, msg.payload + sizeof rep,
		     rep.body_in_fd ? 0 : (size_t)rep.body_len, fds, nfds);
	if (c != NULL)
		http_lwip_kick(c);
}

static void handle_worker_end(void)
{
	struct sbx_worker_end_msg m;

	if (imsg_get(&msg, IMSG_SBX_WORKER_END, &m, sizeof m) < 0) {
		dlog("malformed IMSG_SBX_WORKER_END (%u bytes)", msg.hdr.len);
		return;
	}
	api_fn_worker_end(&nd.api, &m);
}

/* The local CA's certificate to sandboxd, first on every channel: each
 * new worker trusts it, and only it (proto/netd_sandboxd.h). */
static void send_ca(void)
{
	struct {
		struct sbx_ca_msg m;
		char pem[SBX_CA_PEM_MAX];
	} b;

	if (!nd.tls.ready || nd.tls.ca_pem_len > sizeof b.pem)
		return;
	b.m = (struct sbx_ca_msg){ .pem_len = (uint32_t)nd.tls.ca_pem_len };
	memcpy(b.pem, nd.tls.ca_pem, nd.tls.ca_pem_len);
	int r = imsg_send(nd.sbx_fd, IMSG_SBX_CA, 0, &b, sizeof b.m + nd.tls.ca_pem_len, NULL, 0);
	if (r < 0)
		dlog("cannot send the local CA to sandboxd: %s", strerror(-r));
}

/* IMSG_PEER_CHANNEL from init: a fresh channel to keyd, logd or sandboxd
 * (it started, or restarted: the old channel is gone with the old role). */
static void take_peer_channel(void)
{
	struct peer_channel_msg pc;
	int *fd;

	if (imsg_get(&msg, IMSG_PEER_CHANNEL, &pc, sizeof pc) < 0 || msg.nfds != 1 ||
	    (pc.peer != ROLE_KEYD && pc.peer != ROLE_LOGD && pc.peer != ROLE_SANDBOXD)) {
		dlog("malformed IMSG_PEER_CHANNEL (%u bytes, %u fds)", msg.hdr.len, msg.nfds);
		return;
	}
	const char *name = pc.peer == ROLE_KEYD ? "keyd" : pc.peer == ROLE_LOGD ? "logd" : "sandboxd";
	/* whatever the old channel still owed */
	if (pc.peer == ROLE_KEYD) {
		keyd_lost();
		fd = &nd.keyd_fd;
	} else if (pc.peer == ROLE_SANDBOXD) {
		sandboxd_lost();
		fd = &nd.sbx_fd;
	} else {
		logd_lost();
		fd = &nd.logd_fd;
	}
	*fd = imsg_take_fd(&msg, 0);
	int fl = fcntl(*fd, F_GETFL);
	if (fl < 0 || fcntl(*fd, F_SETFL, fl | O_NONBLOCK) < 0 || ep_add(*fd) < 0) {
		dlog("cannot use the %s channel: %s", name, strerror(errno));
		close(*fd);
		*fd = -1;
		return;
	}
	dlog("channel to %s #%u", name, pc.generation);
	if (pc.peer == ROLE_SANDBOXD) {
		send_ca();
		api_fn_channel_up(&nd.api);
	}
}

/* keyd's latest freshness record to the KMS init asked for its key, when
 * the carrier is free (docs/KMS.md "POST /v1/freshness"). */
static void post_freshness(void)
{
	if (!nd.fresh_waiting || !nd.kms_known)
		return;
	int r = kms_carrier_post_freshness(&nd.kms, &nd.kms_target, nd.fresh.note, nd.fresh.note_len);
	if (r == -EBUSY)
		return;     /* again when the carrier is done */
	nd.fresh_waiting = false;
	if (r < 0)
		dlog("kms: freshness record of size %llu not posted: %s",
		     (unsigned long long)nd.fresh.size, strerror(-r));
}

/* The KMS's answer (or why none came): init's request id, or 0 for a
 * freshness post, whose outcome is logged when it changes (a post follows
 * every signed checkpoint). */
static void kms_done(void *ctx, uint32_t id, const struct netd_kms_reply_msg *rep)
{
	(void)ctx;
	if (id == 0) {
		if (rep->error != nd.fresh_error || nd.fresh_error == 1)
			dlog("kms: freshness record of size %llu: %s", (unsigned long long)nd.fresh.size,
			     rep->error == 0 ? "kept by the KMS" : rep->reason);
		nd.fresh_error = rep->error;
		post_freshness();
		return;
	}
	dlog("kms: %s", rep->error == 0 ? "a wrapped key from the KMS" : rep->reason);
	int r = imsg_send(nd.imsg_fd, IMSG_NETD_KMS_REPLY, id, rep, sizeof *rep, NULL, 0);
	if (r < 0)
		dlog("kms: cannot answer init: %s", strerror(-r));
	post_freshness();
}

/* IMSG_KEYD_FRESHNESS: the latest record replaces one still waiting. */
static void take_freshness(void)
{
	if (imsg_get(&msg, IMSG_KEYD_FRESHNESS, &nd.fresh, sizeof nd.fresh) < 0 || msg.nfds != 0 ||
	    nd.fresh.note_len == 0 || nd.fresh.note_len > FRESHNESS_NOTE_MAX) {
		dlog("malformed IMSG_KEYD_FRESHNESS (%u bytes)", msg.hdr.len);
		nd.fresh_waiting = false;
		return;
	}
	nd.fresh.note[nd.fresh.note_len] = '\0';
	nd.fresh_waiting = true;
	post_freshness();
}

/* IMSG_NETD_KMS_REQ: where to post, and the body's memfd (read at once). */
static void take_kms_req(void)
{
	struct netd_kms_req_msg req;

	if (imsg_get(&msg, IMSG_NETD_KMS_REQ, &req, sizeof req) < 0 || msg.nfds != 1) {
		dlog("malformed IMSG_NETD_KMS_REQ (%u bytes, %u fds)", msg.hdr.len, msg.nfds);
		return;
	}
	memcpy(&nd.kms_target, &req, sizeof req);
	nd.kms_known = true;
	kms_carrier_start(&nd.kms, msg.hdr.id, &req, msg.fds[0]);
}

/* IMSG_NETD_KMS_TARGET: where keyd's freshness records go, for a netd
 * started after init's key request (its predecessor carried it). */
static void take_kms_target(void)
{
	struct netd_kms_req_msg t;

	if (imsg_get(&msg, IMSG_NETD_KMS_TARGET, &t, sizeof t) < 0 || msg.nfds != 0 ||
	    memchr(t.host, 0, sizeof t.host) == NULL || memchr(t.path, 0, sizeof t.path) == NULL ||
	    t.path[0] != '/' || t.port == 0) {
		dlog("malformed IMSG_NETD_KMS_TARGET (%u bytes)", msg.hdr.len);
		return;
	}
	memcpy(&nd.kms_target, &t, sizeof t);
	nd.kms_known = true;
	post_freshness();
}

static const char *peer_name(int fd)
{
	return fd == nd.imsg_fd ? "init" : fd == nd.keyd_fd ? "keyd" :
	       fd == nd.sbx_fd ? "sandboxd" : "logd";
}

/* Reads what init, keyd or logd sent on fd. Returns 0, or -EPIPE when the
 * peer is gone. */
static int handle_imsgs(int fd)
{
	for (unsigned i = 0; i < IMSG_BUDGET; i++) {
		int r = imsg_recv(fd, &msg);
		if (r == -EAGAIN)
			return 0;
		if (r == -EPIPE)
			return r;
		if (r == -EINTR)
			continue;
		if (r < 0) {
			dlog("refused a message from %s: %s", peer_name(fd), strerror(-r));
			continue;
		}
		uint32_t type = msg.hdr.type;
		if (fd == nd.imsg_fd && type == IMSG_KADDR_REPLY)
			handle_kaddr_reply();
		else if (fd == nd.imsg_fd && type == IMSG_BOOT_INFO)
			take_boot_info();  /* init may learn more (t_netd_up_ms) */
		else if (fd == nd.imsg_fd && type == IMSG_LAYERS_INFO)
			take_layers_info();
		else if (fd == nd.imsg_fd && type == IMSG_STORE_INFO)
			take_store_info();
		else if (fd == nd.imsg_fd && type == IMSG_NETD_ANCHORS)
			take_anchors();
		else if (fd == nd.imsg_fd && type == IMSG_PEER_CHANNEL)
			take_peer_channel();
		else if (fd == nd.imsg_fd && type == IMSG_NETD_KMS_REQ)
			take_kms_req();
		else if (fd == nd.imsg_fd && type == IMSG_NETD_KMS_TARGET)
			take_kms_target();
		else if (fd == nd.keyd_fd && type == IMSG_QUOTE_REPLY)
			handle_quote_reply();
		else if (fd == nd.keyd_fd && type == IMSG_RECEIPT_SIGN_REPLY)
			handle_answer(PENDING_RECEIPT, api_log_keyd_reply);
		else if (fd == nd.keyd_fd && type == IMSG_TLS_SIGN_REPLY)
			handle_tls_sign_reply();
		else if (fd == nd.keyd_fd && type == IMSG_TLS_CERT)
			take_tls_cert();
		else if (fd == nd.keyd_fd && type == IMSG_KEYD_FRESHNESS)
			take_freshness();
		else if (fd == nd.logd_fd && type == IMSG_LOG_APPENDED)
			take_appended();
		else if (fd == nd.logd_fd && type == IMSG_LOG_APPENDED_MANY)
			take_appended_many();
		else if (fd == nd.logd_fd && log_answer_type(type))
			handle_answer(PENDING_LOG, api_log_reply);
		else if (fd == nd.sbx_fd && type == IMSG_SBX_REPLY)
			handle_sbx_reply();
		else if (fd == nd.sbx_fd && type == IMSG_SBX_WORKER_END)
			handle_worker_end();
		else if (fd == nd.sbx_fd && type == IMSG_SBX_EGRESS)
			take_egress();
		else if (fd == nd.sbx_fd && type == IMSG_SBX_INJECT)
			take_inject();
		else
			dlog("ignoring message type %u from %s", type, peer_name(fd));
		imsg_close_fds(&msg);
	}
	return 0;
}

static void log_stats(void)
{
	const struct http_lwip_stats *hs = http_lwip_stats(&nd.http);
	const struct netif_packet_stats *ps = &nd.np.st;

	dlog("rx %llu frames (drops: runt %llu oversize %llu nomem %llu input %llu), "
	     "csum vouched %llu, split %llu, whole %llu, tx %llu frames (gso %llu, drops %llu); http accepted %llu refused %llu "
	     "evicted %llu aborted %llu syn dropped %llu reset %llu coalesced %llu",
	     (unsigned long long)ps->rx_frames, (unsigned long long)ps->rx_runt,
	     (unsigned long long)ps->rx_oversize, (unsigned long long)ps->rx_nomem,
	     (unsigned long long)ps->rx_input_err, (unsigned long long)ps->rx_csum_vouched,
	     (unsigned long long)ps->rx_split, (unsigned long long)ps->rx_whole,
	     (unsigned long long)ps->tx_frames, (unsigned long long)ps->tx_gso,
	     (unsigned long long)ps->tx_drop, (unsigned long long)hs->accepted,
	     (unsigned long long)(hs->refused_full + hs->refused_per_addr + hs->refused_memory),
	     (unsigned long long)(hs->evicted_lingering + hs->evicted_idle + hs->evicted_stalled +
				  hs->evicted_busy),
	     (unsigned long long)(hs->aborted_unsent + hs->aborted_error),
	     (unsigned long long)hs->syn_dropped, (unsigned long long)hs->reset,
	     (unsigned long long)hs->coalesced);
}

static int run_loop(void)
{
	struct epoll_event evs[8];

	for (;;) {
		logq_flush();
		netif_packet_flush(&nd.netif);   /* lwIP's merged segments wait for nothing */
		arm_timer();
		int n = epoll_wait(nd.ep, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			dlog("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == nd.pkt_fd) {
				int r = netif_packet_poll(&nd.netif, RX_BUDGET);
				if (r < 0 && r != -ENETDOWN) {
					dlog("packet socket: %s", strerror(-r));
					return r;
				}
				dns_apply_override();
			} else if (fd == nd.imsg_fd) {
				/* EPOLLHUP arrives with EPOLLIN: the read says -EPIPE. */
				if (handle_imsgs(fd) == -EPIPE) {
					dlog("init closed the channel, exiting");
					return -EPIPE;
				}
			} else if (fd == nd.keyd_fd) {
				if (handle_imsgs(fd) == -EPIPE) {
					dlog("keyd closed the channel: quotes wait for the next one");
					keyd_lost();
				}
			} else if (fd == nd.logd_fd) {
				if (handle_imsgs(fd) == -EPIPE) {
					dlog("logd closed the channel: the log is unavailable until the next one");
					logd_lost();
				}
			} else if (fd == nd.sbx_fd) {
				if (handle_imsgs(fd) == -EPIPE) {
					dlog("sandboxd closed the channel: functions wait for the next one");
					sandboxd_lost();
				}
				policy_anchors();
			} else if (fd == nd.tfd) {
				uint64_t expirations;
				ssize_t rr = read(nd.tfd, &expirations, sizeof expirations);
				(void)rr;
				nd.timer_at = 0;   /* fired: the next round arms it */
				http_lwip_tick(&nd.http, mono_ms());
				http_lwip_tick(&nd.https, mono_ms());
				api_fn_tick(&nd.api, mono_ms());
				egress_proxy_tick(&nd.px, mono_ms());
				fn_egress_tick(&nd.egress, mono_ms());
				refusal_summaries(mono_ms());
			} else if (fn_egress_io(&nd.egress, fd, evs[i].events, mono_ms())) {
				/* a function's DNS query or connection */
			} else if (egress_proxy_io(&nd.px, fd, evs[i].events)) {
				/* a proxied connection's bytes */
			} else if (!api_fn_io(&nd.api, fd, evs[i].events)) {
				/* a descriptor closed in this batch: it left the set */
				continue;
			}
		}
		sys_check_timeouts();
		if (nd.fatal < 0)
			return nd.fatal;
	}
}

static int setup(void)
{
	int r = read_startup();
	if (r < 0)
		return r;
	/* before any peer channel (and any client byte): the packet socket
	 * can never take a descriptor-passing sendmsg with an address */
	r = netd_seccomp_pin_packet(nd.pkt_fd, nd.pkt_tx_fd);
	if (r < 0) {
		dlog("cannot pin the packet socket's sendmsg: %s", strerror(-r));
		return r;
	}
	/* From here on a reply from init is read only when epoll says so, and
	 * a full channel fails a request (the API answers 503) rather than
	 * stalling every connection. */
	int fl = fcntl(nd.imsg_fd, F_GETFL);
	if (fl < 0 || fcntl(nd.imsg_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;

	/* before sandboxd's channel: every worker's trust store is this CA */
	char why[ERRBUF_LEN];
	if ((r = egress_tls_init(&nd.tls, (int64_t)time(NULL), why, sizeof why)) < 0) {
		dlog("%s: TLS origination is off", why);
		snprintf(nd.api.tls.why, sizeof nd.api.tls.why, "%s", why);
	} else {
		dlog("local CA made (%zu bytes of DER)", nd.tls.ca.der_len);
		nd.api.tls.local_ca = true;
		snprintf(nd.api.tls.why, sizeof nd.api.tls.why, "%.159s", nd.tls.anchors_why);
	}

	if ((r = http_tls_init(&htls, request_tls_sign, NULL)) < 0)
		return r;

	nd.ep = epoll_create1(EPOLL_CLOEXEC);
	if (nd.ep < 0)
		return -errno;
	nd.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (nd.tfd < 0)
		return -errno;
	if ((r = ep_add(nd.pkt_fd)) < 0 || (r = ep_add(nd.imsg_fd)) < 0 ||
	    (r = ep_add(nd.tfd)) < 0)
		return r;

	nd.srv.handler = api_handle;
	nd.srv.ctx = &nd.api;
	nd.srv.header_timeout_ms = nd.cfg.http_header_timeout_ms;
	nd.srv.idle_timeout_ms = nd.cfg.http_idle_timeout_ms;
	nd.api.request_kaddr = request_kaddr;
	nd.api.request_quote = request_quote;
	nd.api.request_log = request_log;
	nd.api.log.request_keyd = request_keyd;
	nd.api.find_conn = find_conn;
	nd.api.request_sbx = request_sbx;
	nd.api.sbx_done = sbx_done;
	nd.api.watch_fd = watch_fd;
	nd.api.kick = kick;
	api_fn_init(&nd.api);
	fn_egress_init(&nd.egress, &(struct fn_egress_hooks){
		.watch = watch_fd, .name_allowed = egress_name_allowed,
		.dns_refused = egress_dns_refused, .refused = egress_refused, .conn = egress_conn });
	egress_proxy_init(&nd.px, &(struct egress_proxy_hooks){
		.watch = watch_fd, .policy = proxy_policy, .append = proxy_append,
		.record = proxy_record, .tls = nd.tls.ready ? &nd.tls : NULL,
		.secret = proxy_secret, .invocation = proxy_invocation });
	kms_carrier_init(&nd.kms, kms_done, NULL);
	/* the DRBG is seeded unless getrandom failed (then https fails, said) */
	kms_carrier_set_tls(&nd.kms, &nd.tls.anchors, nd.tls.rng.digest_class != NULL ? &nd.tls.rng : NULL);
	nd.fresh_error = 1;   /* not a post's outcome: the first is logged */
	nd.srv.stream_ready = api_stream_ready;
	nd.srv.body_open = api_fn_body_open;
	nd.srv.body_close = api_fn_body_close;
	nd.srv.conn_gone = api_conn_gone;
	nd.api.ctx = &nd;
	nd.api.http = &nd.http;
	nd.api.egress = &nd.px.st;
	refusal_budget_init(&nd.refusals);
	tbucket_init(&nd.unlogged_say, UNLOGGED_SAY_BURST, UNLOGGED_SAY_PERIOD_MS, mono_ms());
	nd.api.refusals = &nd.refusals.st;
	nd.api.link = &nd.np.st;

	send_status(NETD_STATE_STARTED);
	return start_lwip();
}

int netd_main(void)
{
	int r;

	/* a native function's stdin is a pipe: a program that exits without
	 * reading it is EPIPE for netd's write, never a signal */
	signal(SIGPIPE, SIG_IGN);
	nd.imsg_fd = ROLE_INIT_FD;
	nd.pkt_fd = nd.pkt_tx_fd = nd.ep = nd.tfd = nd.keyd_fd = nd.logd_fd = nd.sbx_fd = -1;

	r = setup();
	if (r == 0)
		r = run_loop();
	else
		dlog("startup failed: %s", strerror(-r));
	log_stats();
	return 1;
}
