/* net/kms_carrier.c: see kms_carrier.h.
 *
 * lwIP's rules shape this file: a callback that aborted its pcb returns
 * ERR_ABRT; the error callback gets a pcb lwIP already freed; timers are
 * lwIP's own (sys_timeout), so netd's loop wakes for the deadline like
 * for any other lwIP timer and nothing here blocks.
 */
#include "net/kms_carrier.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/errbuf.h"
#include "lib/jsonw.h"
#include "lwip/dns.h"
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "net/tls_lwip.h"

void kms_carrier_init(struct kms_carrier *k,
		      void (*done)(void *ctx, uint32_t id, const struct netd_kms_reply_msg *rep),
		      void *ctx)
{
	memset(k, 0, sizeof *k);
	k->done = done;
	k->ctx = ctx;
}

void kms_carrier_set_tls(struct kms_carrier *k, const struct anchors *anchors,
			 br_hmac_drbg_context *rng)
{
	k->anchors = anchors;
	k->rng = rng;
}

/* Detaches and closes the pcb (and frees the ciphertext held for it);
 * returns true when that was an abort (a callback must then return
 * ERR_ABRT). */
static bool drop_pcb(struct kms_carrier *k)
{
	struct tcp_pcb *pcb = k->pcb;

	if (k->down != NULL) {
		pbuf_free(k->down);
		k->down = NULL;
	}
	if (pcb == NULL)
		return false;
	k->pcb = NULL;
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (tcp_close(pcb) == ERR_OK)
		return false;
	tcp_abort(pcb);
	return true;
}

static void on_timeout(void *arg);

/* The end of the request: the connection dropped, the timer gone, init
 * answered. Returns drop_pcb's verdict. */
static bool finish(struct kms_carrier *k)
{
	bool aborted = drop_pcb(k);

	sys_untimeout(on_timeout, k);
	k->st = KC_IDLE;
	k->done(k->ctx, k->id, &k->rep);
	return aborted;
}

/* An ending without a KMS answer: error, no HTTP status, the reason
 * "netd: what: detail". */
static bool fail(struct kms_carrier *k, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool fail(struct kms_carrier *k, int error, const char *fmt, ...)
{
	va_list ap;
	int n;

	memset(&k->rep, 0, sizeof k->rep);
	k->rep.error = error;
	n = snprintf(k->rep.reason, sizeof k->rep.reason, "netd: ");
	va_start(ap, fmt);
	vsnprintf(k->rep.reason + n, sizeof k->rep.reason - (size_t)n, fmt, ap);
	va_end(ap);
	return finish(k);
}

static void on_timeout(void *arg)
{
	struct kms_carrier *k = arg;
	static const char *const stage[] = {
		[KC_RESOLVING] = "resolving", [KC_CONNECTING] = "connecting",
		[KC_EXCHANGING] = "waiting for the answer",
	};
	const char *step;

	if (k->st == KC_IDLE)
		return;
	step = stage[k->st];
	if (k->st == KC_EXCHANGING && k->req.tls && !k->tls.open)
		step = "in the TLS handshake";
	fail(k, -ETIMEDOUT, "timeout: no answer from %s:%u within %u s (%s)", k->req.host,
	     (unsigned)k->req.port, KMS_CARRIER_TIMEOUT_MS / 1000, step);
}

/* The answer is whole: what it says, for init (a key or a refusal), or
 * for a freshness post (kept, or the refusal). */
static bool answered(struct kms_carrier *k)
{
	if (k->fresh && k->http.status == 200) {
		memset(&k->rep, 0, sizeof k->rep);
		k->rep.http_status = 200;
		snprintf(k->rep.reason, sizeof k->rep.reason, "kept");
		return finish(k);
	}
	kms_reply_parse(&k->rep, k->http.status, k->http.body, k->http.len);
	return finish(k);
}

/* Writes what lwIP has room for. */
static err_t push(struct kms_carrier *k)
{
	while (k->out_off < k->out_len) {
		size_t room = tcp_sndbuf(k->pcb), w = k->out_len - k->out_off;
		if (w > room)
			w = room;
		if (w > 0xffff)
			w = 0xffff;
		if (w == 0)
			break;
		err_t e = tcp_write(k->pcb, k->out + k->out_off, (u16_t)w, TCP_WRITE_FLAG_COPY);
		if (e == ERR_MEM)
			break;     /* the queue is full: on_sent comes back */
		if (e != ERR_OK)
			return fail(k, -EIO, "send_failed: lwIP error %d", (int)e) ? ERR_ABRT : ERR_OK;
		k->out_off += w;
	}
	tcp_output(k->pcb);
	return ERR_OK;
}

/* --- https: the request and answer through the client engine ----------------- */

/* The engine failed: its reason, and a hint when the server spoke plain
 * HTTP to our ClientHello (an http:// KMS behind an https:// URL). */
static bool fail_tls(struct kms_carrier *k)
{
	char why[160];

	tls_reason(&k->tls, why, sizeof why);
	if (!k->tls.open && k->first_len == sizeof k->first && memcmp(k->first, "HTTP/", 5) == 0)
		return fail(k, -EPROTO, "tls_failed: %s:%u answered in plain HTTP, not TLS (%s)",
			    k->req.host, (unsigned)k->req.port, why);
	return fail(k, -EPROTO, "tls_failed: %s:%u: %s", k->req.host, (unsigned)k->req.port, why);
}

/* Plaintext both ways once the handshake is done: the request out, the
 * answer into the HTTP parser. 1: the carrier ended (*aborted set), else 0;
 * *moved when anything moved. */
static int plain_side(struct kms_carrier *k, bool *moved, bool *aborted)
{
	char why[ERRBUF_LEN] = "";
	const uint8_t *p;
	size_t n;
	int r;

	while (k->out_off < k->out_len) {
		long w = tls_write(&k->tls, k->out + k->out_off, k->out_len - k->out_off);
		if (w <= 0)
			break;            /* the output is full, or the engine failed */
		k->out_off += (size_t)w;
		*moved = true;
	}
	while ((p = tls_in(&k->tls, &n)) != NULL && n > 0) {
		r = kms_http_feed(&k->http, (const char *)p, n, why, sizeof why);
		tls_in_done(&k->tls, n);
		*moved = true;
		if (r == 1) {
			*aborted = answered(k);
			return 1;
		}
		if (r < 0) {
			*aborted = fail(k, r, "bad_answer: %s", why);
			return 1;
		}
	}
	return 0;
}

/* Moves everything that can move; ERR_ABRT when the pcb was aborted. */
static err_t drive_tls(struct kms_carrier *k)
{
	char why[ERRBUF_LEN] = "";
	bool moved, aborted = false;

	do {
		moved = tls_lwip_pump(&k->tls, k->pcb, &k->down, k->peer_eof, &k->eof_told);
		enum tls_status st = tls_status(&k->tls);
		if (st == TLS_OPEN && plain_side(k, &moved, &aborted))
			return aborted ? ERR_ABRT : ERR_OK;
		if (st == TLS_FAILED)
			return fail_tls(k) ? ERR_ABRT : ERR_OK;
		if (st == TLS_CLOSED) {    /* close_notify: a body delimited by the close */
			if (plain_side(k, &moved, &aborted))
				return aborted ? ERR_ABRT : ERR_OK;
			if (kms_http_eof(&k->http, why, sizeof why) == 1)
				return answered(k) ? ERR_ABRT : ERR_OK;
			return fail(k, -EPIPE, "bad_answer: %s", why) ? ERR_ABRT : ERR_OK;
		}
	} while (moved);
	if (k->pcb != NULL)
		tcp_output(k->pcb);
	return ERR_OK;
}

/* The client engine for k's host, with its trust: the policy's pin, or
 * netd's anchors. 0, or fail()'s ending (*aborted set). */
static int start_tls(struct kms_carrier *k, bool *aborted)
{
	static const struct anchors none;
	const struct anchors *an = k->anchors != NULL ? k->anchors : &none;
	char why[160];

	if (!k->req.has_pin && an->n == 0) {
		*aborted = fail(k, -EPROTO, "tls_failed: netd has no trust anchors to check %s's "
				"certificate with (and the policy pins no tls_spki_sha256)", k->req.host);
		return -1;
	}
	if (k->rng == NULL ||
	    tls_client_init(&k->tls, an, k->req.host, strlen(k->req.host), (int64_t)time(NULL),
			    k->rng) < 0 ||
	    (k->req.has_pin && tls_client_pin(&k->tls, k->req.spki_sha256) < 0)) {
		*aborted = fail(k, -EPROTO, "tls_failed: no TLS client for %s: %s", k->req.host,
				tls_reason(&k->tls, why, sizeof why));
		return -1;
	}
	return 0;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct kms_carrier *k = arg;

	(void)pcb;
	(void)len;
	if (k == NULL || k->st != KC_EXCHANGING)
		return ERR_OK;
	return k->req.tls ? drive_tls(k) : push(k);
}

/* https: ciphertext is held until the engine takes it (tls_lwip_pump
 * opens the window for what it fed). */
static err_t recv_tls(struct kms_carrier *k, struct pbuf *p, err_t err)
{
	if (p == NULL || err != ERR_OK) {
		if (p != NULL)
			pbuf_free(p);
		k->peer_eof = true;
		return drive_tls(k);
	}
	if (k->first_len < sizeof k->first)
		k->first_len += pbuf_copy_partial(p, k->first + k->first_len,
						  (u16_t)(sizeof k->first - k->first_len), 0);
	if (k->down == NULL)
		k->down = p;
	else
		pbuf_cat(k->down, p);
	return drive_tls(k);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct kms_carrier *k = arg;
	char why[ERRBUF_LEN] = "";
	int r = 0;

	if (k == NULL || k->st != KC_EXCHANGING) {
		if (p != NULL) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (k->req.tls)
		return recv_tls(k, p, err);
	if (p == NULL || err != ERR_OK) {
		if (p != NULL)
			pbuf_free(p);
		r = kms_http_eof(&k->http, why, sizeof why);
		if (r == 1)
			return answered(k) ? ERR_ABRT : ERR_OK;
		return fail(k, -EPIPE, "bad_answer: %s", why) ? ERR_ABRT : ERR_OK;
	}
	for (struct pbuf *q = p; q != NULL && r == 0; q = q->next)
		r = kms_http_feed(&k->http, q->payload, q->len, why, sizeof why);
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	if (r == 1)
		return answered(k) ? ERR_ABRT : ERR_OK;
	if (r < 0)
		return fail(k, r, "bad_answer: %s", why) ? ERR_ABRT : ERR_OK;
	return ERR_OK;
}

/* lwIP freed the pcb already. */
static void on_err(void *arg, err_t err)
{
	struct kms_carrier *k = arg;

	if (k == NULL || k->st == KC_IDLE)
		return;
	k->pcb = NULL;
	if (k->st == KC_CONNECTING)
		fail(k, -ECONNREFUSED, "connect_failed: %s:%u: %s (lwIP error %d)", k->req.host,
		     (unsigned)k->req.port, err == ERR_RST ? "refused" : "no connection", (int)err);
	else
		fail(k, -ECONNRESET, "connection_lost: lwIP error %d", (int)err);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct kms_carrier *k = arg;

	(void)pcb;
	if (k == NULL || k->st != KC_CONNECTING)
		return ERR_OK;
	if (err != ERR_OK)
		return fail(k, -ECONNREFUSED, "connect_failed: lwIP error %d", (int)err) ? ERR_ABRT :
											 ERR_OK;
	k->st = KC_EXCHANGING;
	if (k->req.tls) {
		bool aborted = false;
		if (start_tls(k, &aborted) < 0)
			return aborted ? ERR_ABRT : ERR_OK;
		return drive_tls(k);
	}
	return push(k);
}

static void connect_to(struct kms_carrier *k, const ip_addr_t *ip)
{
	k->pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (k->pcb == NULL) {
		fail(k, -ENOMEM, "connect_failed: lwIP has no connection to spare");
		return;
	}
	tcp_arg(k->pcb, k);
	tcp_err(k->pcb, on_err);
	tcp_recv(k->pcb, on_recv);
	tcp_sent(k->pcb, on_sent);
	k->st = KC_CONNECTING;
	err_t e = tcp_connect(k->pcb, ip, k->req.port, on_connected);
	if (e != ERR_OK)
		fail(k, -ECONNREFUSED, "connect_failed: lwIP error %d", (int)e);
}

static void on_dns(const char *name, const ip_addr_t *ip, void *arg)
{
	struct kms_carrier *k = arg;

	if (k->st != KC_RESOLVING || strcmp(name, k->req.host) != 0)
		return;        /* an answer for a request that ended */
	if (ip == NULL || !IP_IS_V4(ip)) {
		fail(k, -EHOSTUNREACH, "dns_failed: %s did not resolve to an IPv4 address",
		     k->req.host);
		return;
	}
	connect_to(k, ip);
}

/* The body from init's memfd: its size, bounded, then every byte. */
static long read_body(int fd, char *out, size_t cap)
{
	struct stat st;
	size_t got = 0;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (st.st_size <= 0 || (uint64_t)st.st_size > cap)
		return -EMSGSIZE;
	if (lseek(fd, 0, SEEK_SET) != 0)
		return -errno;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, out + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return (long)got;
}

/* The request in k->out (head then body) on its way: resolve, connect. */
static void go(struct kms_carrier *k)
{
	ip_addr_t ip;

	k->st = KC_RESOLVING;
	sys_timeout(KMS_CARRIER_TIMEOUT_MS, on_timeout, k);
	if (ipaddr_aton(k->req.host, &ip) && IP_IS_V4(&ip)) {
		connect_to(k, &ip);
		return;
	}
	err_t e = dns_gethostbyname(k->req.host, &ip, on_dns, k);
	if (e == ERR_OK)
		connect_to(k, &ip);
	else if (e != ERR_INPROGRESS)
		fail(k, -EHOSTUNREACH, "dns_failed: cannot ask for %s (lwIP error %d)", k->req.host,
		     (int)e);
}

/* The head for the body_len bytes at KMS_CARRIER_HEAD_MAX, moved right
 * before the body: one buffer to send. 0, or fail()'s ending. */
static int frame(struct kms_carrier *k, size_t body_len)
{
	long head = kms_http_head(k->out, KMS_CARRIER_HEAD_MAX, &k->req, body_len);

	if (head < 0) {
		fail(k, (int)head, "bad_request: no request head for %s and %s", k->req.host,
		     k->req.path);
		return (int)head;
	}
	memmove(k->out + head, k->out + KMS_CARRIER_HEAD_MAX, body_len);
	k->out_len = (size_t)head + body_len;
	return 0;
}

static void reset(struct kms_carrier *k, uint32_t id, const struct netd_kms_req_msg *req, bool fresh)
{
	k->id = id;
	k->fresh = fresh;
	memcpy(&k->req, req, sizeof k->req);
	kms_http_init(&k->http);
	k->out_len = k->out_off = 0;
	k->peer_eof = k->eof_told = false;
	k->first_len = 0;
	k->req.tls = k->req.tls != 0;
	k->req.has_pin = k->req.tls && k->req.has_pin;
}

void kms_carrier_start(struct kms_carrier *k, uint32_t id, const struct netd_kms_req_msg *req,
		       int body_fd)
{
	long body;

	if (k->st != KC_IDLE) {
		/* one in flight: this one is answered, that one goes on */
		struct netd_kms_reply_msg busy;
		memset(&busy, 0, sizeof busy);
		busy.error = -EBUSY;
		snprintf(busy.reason, sizeof busy.reason, "netd: busy: a KMS request is in flight");
		k->done(k->ctx, id, &busy);
		return;
	}
	reset(k, id, req, false);
	if (!memchr(k->req.host, '\0', sizeof k->req.host) ||
	    !memchr(k->req.path, '\0', sizeof k->req.path) || k->req.port == 0) {
		k->req.host[0] = '\0';
		fail(k, -EINVAL, "bad_request: a host or path without its NUL, or port 0");
		return;
	}
	body = read_body(body_fd, k->out + KMS_CARRIER_HEAD_MAX, KEYD_KMS_BODY_MAX);
	if (body < 0) {
		fail(k, (int)body, "bad_request: the request body: %s", strerror((int)-body));
		return;
	}
	if (frame(k, (size_t)body) == 0)
		go(k);
}

int kms_carrier_post_freshness(struct kms_carrier *k, const struct netd_kms_req_msg *target,
			       const char *note, size_t len)
{
	struct netd_kms_req_msg req;
	struct jsonw w;
	char *slash;
	long n;

	if (k->st != KC_IDLE)
		return -EBUSY;
	if (len == 0 || len > NETD_KMS_FRESH_MAX || !memchr(target->path, '\0', sizeof target->path) ||
	    !memchr(target->host, '\0', sizeof target->host) || target->port == 0)
		return -EINVAL;
	memcpy(&req, target, sizeof req);
	slash = strrchr(req.path, '/');
	if (slash == NULL || (size_t)(slash - req.path) + sizeof "/freshness" > sizeof req.path)
		return -EINVAL;
	memcpy(slash, "/freshness", sizeof "/freshness");
	reset(k, 0, &req, true);
	jw_init(&w, k->out + KMS_CARRIER_HEAD_MAX, KEYD_KMS_BODY_MAX);
	jw_object_begin(&w);
	jw_key(&w, "version");
	jw_u64(&w, 1);
	jw_key(&w, "record");
	jw_string_n(&w, note, len);
	jw_object_end(&w);
	n = jw_finish(&w);
	if (n < 0)
		return (int)n;
	if (frame(k, (size_t)n) == 0)
		go(k);
	return 0;
}

void kms_carrier_cancel(struct kms_carrier *k)
{
	if (k->st == KC_IDLE)
		return;
	drop_pcb(k);
	sys_untimeout(on_timeout, k);
	k->st = KC_IDLE;
}
