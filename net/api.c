/* net/api.c: the management API routes; see api.h and docs/API.md.
 *
 * Routes are a fixed table: path, the methods it answers, and a handler.
 * HEAD is answered wherever GET is (the core drops the body). Query strings
 * are ignored by these routes, except /v1/attestation's nonce. The log's
 * routes are in api_log.c.
 */
#include "net/api.h"
#include "crypto/rtmr3.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/file.h"
#include "net/egress_proxy.h"
#include "net/http_tls.h"
#include "net/netif_packet.h"
#include "net/refusal_budget.h"
#include "lib/hex.h"
#include "lib/jsonw.h"

#ifndef DSHIELD_VERSION
#define DSHIELD_VERSION "0.0.0"
#endif

static void route_healthz(struct api_state *st, struct http_conn *c,
			  const struct http_request *req)
{
	static const char body[] = "{\"status\":\"ok\"}";

	(void)st;
	(void)req;
	http_respond_json(c, 200, body, sizeof body - 1);
}

/* /v1/info needs the kernel's view of eth0, which only init can see: ask
 * it and leave the connection PENDING until api_kaddr_reply(). */
static void route_info(struct api_state *st, struct http_conn *c,
		       const struct http_request *req)
{
	char msg[128];
	int rc = -ENOSYS;

	(void)req;
	if (st->request_kaddr)
		rc = st->request_kaddr(st->ctx, c->id);
	if (rc < 0) {
		snprintf(msg, sizeof msg, "cannot ask init for eth0's kernel addresses: %s",
			 strerror(-rc));
		http_respond_error(c, 503, "unavailable", msg);
	}
}

/* --- /v1/attestation ------------------------------------------------------ */

int api_parse_nonce(const char *query, uint8_t out[QUOTE_NONCE_MAX], const char **why)
{
	static const char key[] = "nonce=";
	size_t len;
	ssize_t n;

	if (query[0] == '\0') {
		*why = "the nonce is required: /v1/attestation?nonce=<hex, 1 to 32 bytes>";
		return -EINVAL;
	}
	if (strncmp(query, key, sizeof key - 1) != 0 || strchr(query, '&') != NULL) {
		*why = "the query must be exactly nonce=<hex, 1 to 32 bytes>";
		return -EINVAL;
	}
	query += sizeof key - 1;
	len = strlen(query);
	if (len == 0) {
		*why = "the nonce is empty: give 1 to 32 bytes as hex";
		return -EINVAL;
	}
	if (len > 2 * QUOTE_NONCE_MAX) {
		*why = "the nonce is longer than 32 bytes (64 hex digits)";
		return -EINVAL;
	}
	n = hex_decode(out, QUOTE_NONCE_MAX, query, len);
	if (n <= 0) {
		*why = len % 2 ? "the nonce has an odd number of hex digits" :
			"the nonce is not hex";
		return -EINVAL;
	}
	return (int)n;
}

/* The quote is made by keyd (which owns the TDX device): ask it and leave
 * the connection PENDING until api_quote_reply(). */
void api_quote_ask(struct api_state *st, struct http_conn *c, const uint8_t *nonce, size_t len)
{
	char msg[128];
	int rc = -ENOSYS;

	if (st->request_quote)
		rc = st->request_quote(st->ctx, c->id, nonce, len);
	if (rc < 0) {
		snprintf(msg, sizeof msg, "cannot ask keyd for a quote: %s",
			 rc == -ENOTCONN ? "keyd is not running (it is being restarted)" :
			 rc == -EBUSY ? "too many requests in flight" : strerror(-rc));
		http_respond_error(c, 503, "unavailable", msg);
	}
}

/* Every quote served is recorded in the log first: api_log_attest()
 * appends the attestation entry and calls api_quote_ask() once it is
 * durable (fail closed: no log, no quote). */
static void route_attestation(struct api_state *st, struct http_conn *c,
			      const struct http_request *req)
{
	uint8_t nonce[QUOTE_NONCE_MAX];
	const char *why = NULL;
	int n = api_parse_nonce(req->query, nonce, &why);

	if (n < 0) {
		http_respond_error(c, 400, "bad_nonce", why);
		return;
	}
	api_log_attest(st, c, nonce, (size_t)n);
}

struct route {
	const char *path;
	void (*fn)(struct api_state *st, struct http_conn *c,
		   const struct http_request *req);
};

static const struct route routes[] = {
	{ "/healthz", route_healthz },
	{ "/v1/info", route_info },
	{ "/v1/attestation", route_attestation },
};

void api_handle(void *state, struct http_conn *c, const struct http_request *req)
{
	struct api_state *st = state;

	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(req->path, routes[i].path) != 0)
			continue;
		if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
			http_respond_error_hdr(c, 405, "method_not_allowed",
					       "this path answers GET and HEAD only",
					       "Allow: GET, HEAD\r\n");
			return;
		}
		routes[i].fn(st, c, req);
		return;
	}
	if (api_log_route(st, c, req))
		return;
	if (api_fn_route(st, c, req))
		return;
	http_respond_error(c, 404, "not_found", "no such path");
}

static bool attest_stream_ready(struct api_state *st, struct http_conn *c);
static void attest_conn_gone(struct api_state *st, const struct http_conn *c);

void api_stream_ready(void *state, struct http_conn *c)
{
	if (!attest_stream_ready(state, c) && !api_fn_stream_ready(state, c))
		api_log_stream_ready(state, c);
}

void api_conn_gone(void *state, struct http_conn *c)
{
	attest_conn_gone(state, c);
	api_fn_conn_gone(state, c);
}

/* --- /v1/info answer ------------------------------------------------------ */

static void jw_ms_or_null(struct jsonw *w, const char *key, uint64_t ms)
{
	jw_key(w, key);
	if (ms)
		jw_u64(w, ms);
	else
		jw_null(w);
}

/* One kernel address as "addr/prefixlen": any entry at all means the
 * kernel has an address on eth0, which a correct system never has. */
static void jw_kaddr(struct jsonw *w, const struct kaddr_entry *e)
{
	char text[INET6_ADDRSTRLEN + 8];
	char addr[INET6_ADDRSTRLEN];

	if ((e->family == AF_INET || e->family == AF_INET6) &&
	    inet_ntop(e->family, e->addr, addr, sizeof addr)) {
		snprintf(text, sizeof text, "%s/%u", addr, (unsigned)e->prefixlen);
	} else {
		snprintf(text, sizeof text, "family-%u", (unsigned)e->family);
	}
	jw_string(w, text);
}

struct kv {
	const char *key;
	uint64_t v;
};

/* "key":{"k1":v1,...} */
static void jw_counts(struct jsonw *w, const char *key, const struct kv *kv, size_t n)
{
	if (key != NULL) {
		jw_key(w, key);
		jw_object_begin(w);
	}
	for (size_t i = 0; i < n; i++) {
		jw_key(w, kv[i].key);
		jw_u64(w, kv[i].v);
	}
	if (key != NULL)
		jw_object_end(w);
}

#define COUNTS(w, key, ...) \
	jw_counts((w), (key), (const struct kv[]){ __VA_ARGS__ }, \
		  sizeof((const struct kv[]){ __VA_ARGS__ }) / sizeof(struct kv))

/* A connection pool's counters: how hostile clients were refused,
 * evicted and reset (docs/API.md); for the plain API's ("http") lwIP's
 * memory, for the API over TLS's ("https") its handshakes. */
static void jw_http(struct jsonw *w, const char *key, const struct http_lwip *hl)
{
	const struct http_lwip_stats *s;
	struct http_lwip_mem m;

	jw_key(w, key);
	if (hl == NULL) {
		jw_null(w);
		return;
	}
	s = http_lwip_stats(hl);
	jw_object_begin(w);
	COUNTS(w, NULL, { "active", s->active }, { "accepted", s->accepted });
	COUNTS(w, "refused", { "pool_full", s->refused_full },
	       { "per_address", s->refused_per_addr }, { "memory", s->refused_memory });
	COUNTS(w, "evicted", { "lingering", s->evicted_lingering }, { "idle", s->evicted_idle },
	       { "stalled", s->evicted_stalled }, { "busy", s->evicted_busy },
	       { "per_address", s->evicted_per_addr });
	COUNTS(w, "aborted", { "unsent", s->aborted_unsent }, { "error", s->aborted_error });
	COUNTS(w, NULL, { "syn_dropped", s->syn_dropped }, { "input_deferred", s->input_deferred },
	       { "coalesced", s->coalesced }, { "reset", s->reset });
	if (hl->tls != NULL) {
		const struct http_tls_stats *t = &hl->tls->st;
		COUNTS(w, "tls", { "handshakes", t->handshakes }, { "failed", t->failed },
		       { "timed_out", t->timed_out }, { "sign_asked", t->sign_asked },
		       { "sign_refused", t->sign_refused });
		jw_object_end(w);
		return;
	}
	http_lwip_mem(&m);
	COUNTS(w, "memory", { "pbuf_pool_used", m.pbuf_pool_used },
	       { "pbuf_pool_size", m.pbuf_pool_size }, { "heap_used", m.heap_used },
	       { "heap_size", m.heap_size }, { "held_input_heap", s->held_heap },
	       { "tcp_pcbs_used", m.tcp_pcb_used }, { "tcp_pcbs_size", m.tcp_pcb_size });
	jw_object_end(w);
}

/* The egress proxy's counters (docs/EGRESS.md): the functions'
 * connections, how many were refused, the bytes each way, the pool
 * of upstream connections kept for reuse, the functions' resumed TLS
 * sessions, and netd's TLS handshakes with the upstreams (full, resumed). */
static void jw_egress(struct jsonw *w, const struct egress_proxy_stats *s,
		      const struct refusal_budget_stats *rb)
{
	jw_key(w, "egress");
	if (s == NULL) {
		jw_null(w);
		return;
	}
	jw_object_begin(w);
	COUNTS(w, NULL, { "active", s->active }, { "accepted", s->accepted },
	       { "relayed", s->relayed });
	COUNTS(w, "refused", { "total", s->refused }, { "pool_full", s->pool_full },
	       { "log_refused", s->log_refused });
	COUNTS(w, "bytes", { "up", s->bytes_up }, { "down", s->bytes_down });
	COUNTS(w, "upstream_pool", { "parked", s->parked }, { "reused", s->reused });
	COUNTS(w, NULL, { "bandwidth_holds", s->bw_holds }, { "tls_resumed", s->tls_resumed });
	COUNTS(w, "upstream_tls", { "full", s->up_tls_full }, { "resumed", s->up_tls_resumed });
	COUNTS(w, NULL, { "dns_busy", s->dns_busy });
	if (rb != NULL)
		COUNTS(w, "refusal_records", { "recorded", rb->recorded },
		       { "unrecorded", rb->unrecorded }, { "summaries", rb->summaries },
		       { "untracked", rb->untracked });
	jw_object_end(w);
}

/* The packet driver's counters (net/netif_packet.h): eth0 as lwIP sees
 * it, the kernel's receive offloads' super-frames (handed to lwIP whole
 * or cut to wire size, docs/NETWORK.md) and every frame dropped. */
static void jw_link(struct jsonw *w, const struct netif_packet_stats *s)
{
	jw_key(w, "link");
	if (s == NULL) {
		jw_null(w);
		return;
	}
	jw_object_begin(w);
	COUNTS(w, NULL, { "rx_frames", s->rx_frames }, { "rx_bytes", s->rx_bytes },
	       { "tx_frames", s->tx_frames }, { "tx_bytes", s->tx_bytes },
	       { "tx_gso_frames", s->tx_gso }, { "checksum_vouched", s->rx_csum_vouched });
	COUNTS(w, "super_frames", { "whole", s->rx_whole }, { "cut", s->rx_split });
	COUNTS(w, "dropped", { "runt", s->rx_runt }, { "oversize", s->rx_oversize },
	       { "no_pbuf", s->rx_nomem }, { "input", s->rx_input_err }, { "tx", s->tx_drop });
	jw_object_end(w);
}

/* The runtime layers as init left them: null until init said, then one
 * {"name","available","reason"} per layer. Counts and strings are bounded
 * by the message's arrays, whatever it holds. */
static void jw_layers(struct jsonw *w, const struct api_state *st)
{
	const struct layers_info_msg *m = &st->layers;
	uint32_t n = m->n < LAYERS_INFO_MAX ? m->n : LAYERS_INFO_MAX;

	jw_key(w, "layers");
	if (!st->have_layers) {
		jw_null(w);
		return;
	}
	jw_array_begin(w);
	for (uint32_t i = 0; i < n; i++) {
		const struct layer_info *l = &m->l[i];
		jw_object_begin(w);
		jw_key(w, "name");
		jw_string_n(w, l->name, strnlen(l->name, sizeof l->name));
		jw_key(w, "available");
		jw_bool(w, l->available != 0);
		jw_key(w, "reason");
		if (l->available)
			jw_null(w);
		else
			jw_string_n(w, l->reason, strnlen(l->reason, sizeof l->reason));
		jw_object_end(w);
	}
	jw_array_end(w);
}

/* The encrypted store as init left it (docs/STORE.md): null until init
 * said; every field bounded by the message whatever it holds. */
static void jw_store(struct jsonw *w, const struct api_state *st)
{
	static const char *const states[STORE_INFO_N] = { "none", "open", "formatted", "refused",
								   "pending" };
	static const char *const providers[] = { "none", "dev", "kms" };
	const struct store_info_msg *m = &st->store;

	jw_key(w, "store");
	if (!st->have_store) {
		jw_null(w);
		return;
	}
	jw_object_begin(w);
	jw_key(w, "state");
	jw_string(w, m->state < STORE_INFO_N ? states[m->state] : "unknown");
	jw_key(w, "key_provider");
	jw_string(w, m->provider < 3 ? providers[m->provider] : "unknown");
	jw_key(w, "insecure_dev_key");
	jw_bool(w, m->insecure != 0);
	jw_key(w, "instance");
	if (m->has_instance)
		jw_hex(w, m->instance, sizeof m->instance);
	else
		jw_null(w);
	jw_key(w, "data_bytes");
	jw_u64(w, m->data_bytes);
	jw_key(w, "data_quota");
	jw_bool(w, m->data_quota != 0);
	/* the policy's kms.on_rollback "flag" let a rolled-back store start */
	jw_key(w, "rollback");
	if (m->rollback)
		jw_string_n(w, m->rollback_why, strnlen(m->rollback_why, sizeof m->rollback_why));
	else
		jw_null(w);
	/* dm-integrity under dm-crypt (docs/STORE.md, "Integrity") */
	jw_key(w, "integrity");
	jw_string(w, m->integrity == 1 ? "hmac-sha256" : m->integrity == 0 ? "none" : "unknown");
	jw_key(w, "summary");
	jw_string_n(w, m->summary, strnlen(m->summary, sizeof m->summary));
	jw_object_end(w);
}

/* TLS origination's state (docs/EGRESS.md, "TLS origination"): test
 * anchors (the policy's extra_anchors) are said, never hidden. */
static void jw_tls(struct jsonw *w, const struct api_state *st)
{
	jw_key(w, "tls_origination");
	jw_object_begin(w);
	jw_key(w, "local_ca");
	jw_bool(w, st->tls.local_ca);
	jw_key(w, "anchors");
	jw_u64(w, st->tls.anchors);
	jw_key(w, "test_anchors");
	jw_u64(w, st->tls.test_anchors);
	jw_key(w, "reason");
	if (st->tls.why[0] == '\0')
		jw_null(w);
	else
		jw_string_n(w, st->tls.why, strnlen(st->tls.why, sizeof st->tls.why));
	jw_object_end(w);
}

static long info_json(const struct api_state *st, const struct kaddr_reply_msg *reply,
		      char *buf, size_t cap)
{
	const struct boot_info_msg *b = &st->boot;
	char ip[INET_ADDRSTRLEN];
	uint32_t count = reply->count < KADDR_MAX ? reply->count : KADDR_MAX;
	struct jsonw w;

	jw_init(&w, buf, cap);
	jw_object_begin(&w);
	jw_key(&w, "version");
	jw_string(&w, DSHIELD_VERSION);
	jw_key(&w, "manifest_sha256");
	if (st->have_boot && b->has_manifest)
		jw_hex(&w, b->manifest_sha256, sizeof b->manifest_sha256);
	else
		jw_null(&w);
	jw_key(&w, "host_mode");
	jw_bool(&w, st->have_boot && b->host_mode);

	jw_key(&w, "network");
	jw_object_begin(&w);
	jw_key(&w, "ipv4");
	if (st->ipv4_addr && inet_ntop(AF_INET, &st->ipv4_addr, ip, sizeof ip))
		jw_string(&w, ip);
	else
		jw_null(&w);
	jw_key(&w, "dhcp");
	jw_bool(&w, st->dhcp);
	jw_object_end(&w);

	jw_key(&w, "kernel_eth0_addresses");
	jw_array_begin(&w);
	for (uint32_t i = 0; i < count; i++)
		jw_kaddr(&w, &reply->addr[i]);
	jw_array_end(&w);

	jw_key(&w, "boot_ms");
	jw_object_begin(&w);
	jw_ms_or_null(&w, "kernel_to_init", st->have_boot ? b->t_init_start_ms : 0);
	jw_ms_or_null(&w, "modules_loaded", st->have_boot ? b->t_modules_loaded_ms : 0);
	jw_ms_or_null(&w, "netd_up", st->have_boot ? b->t_netd_up_ms : 0);
	jw_ms_or_null(&w, "dhcp_bound", st->t_bound_ms);
	jw_ms_or_null(&w, "ready", st->t_ready_ms);
	jw_object_end(&w);
	jw_layers(&w, st);
	jw_store(&w, st);
	jw_tls(&w, st);
	jw_http(&w, "http", st->http);
	jw_http(&w, "https", st->https);
	jw_egress(&w, st->egress, st->refusals);
	jw_link(&w, st->link);
	jw_object_end(&w);
	return jw_finish(&w);
}

void api_kaddr_reply(struct api_state *st, struct http_conn *c,
		     const struct kaddr_reply_msg *reply)
{
	char buf[8192];   /* 8 layers with long reasons fit (tests/test_api.c) */
	char msg[160];
	long n;

	if (http_conn_state(c) != HTTP_CONN_PENDING)
		return;   /* timed out or closed meanwhile */
	if (reply->error != 0) {
		long e = reply->error < 0 ? -(long)reply->error : (long)reply->error;
		snprintf(msg, sizeof msg, "init could not list eth0's kernel addresses: %s (errno %ld)",
			 strerror(e > 4095 ? 0 : (int)e), e);
		http_respond_error(c, 500, "kaddr_failed", msg);
		return;
	}
	n = info_json(st, reply, buf, sizeof buf);
	if (n < 0) {
		http_respond_error(c, 500, "internal", "the info document does not fit");
		return;
	}
	http_respond_json(c, 200, buf, (size_t)n);
}

/* --- /v1/attestation answer ------------------------------------------------ */

/* Checks every record of the log and sums the length of its events' JSON
 * with the commas between them. More than RTMR3_LOG_MAX records is a
 * malformed reply too: keyd records no more, and it bounds the document
 * (RTMR3_LOG_JSON_MAX). Returns the length, or -EBADMSG. */
static long events_json_len(const uint8_t *buf, size_t len)
{
	struct rtmr3_rec rec;
	size_t off = 0, sum = 0;
	unsigned n = 0;
	int r;

	while ((r = rtmr3_rec_next(buf, len, &off, &rec)) > 0) {
		if (++n > RTMR3_LOG_MAX)
			return -EBADMSG;
		sum += (n > 1) + rtmr3_rec_json_len(&rec);
	}
	return r < 0 ? -EBADMSG : (long)sum;
}

/* The attestation document without its events: the quote as base64, an
 * empty event log, the REPORTDATA preimage as keyd used it. *split is
 * where the events go (after the log's "["): the document served is
 * buf[0..split), the events, buf[split..n). */
static long attestation_json(const struct quote_reply_msg *rep, const uint8_t *quote,
			     char *buf, size_t cap, size_t *split)
{
	struct jsonw w;
	bool sim = rep->backend == QUOTE_BACKEND_SIM;

	jw_init(&w, buf, cap);
	jw_object_begin(&w);
	jw_key(&w, "backend");
	jw_string(&w, sim ? "sim" : "tdx");
	if (sim) {
		jw_key(&w, "warning");
		jw_string(&w, "sim: a simulated quote, signed by a key keyd generated when it started; "
			  "it proves nothing about hardware");
	}
	jw_key(&w, "quote");
	jw_base64(&w, quote, rep->quote_len);
	jw_key(&w, "event_log");
	jw_array_begin(&w);
	*split = w.out.len;
	jw_array_end(&w);
	jw_key(&w, "log_key");
	if (rep->has_log_key)
		jw_string_n(&w, rep->log_vkey, strnlen(rep->log_vkey, sizeof rep->log_vkey));
	else
		jw_null(&w);
	/* the last signed checkpoint, which the quote vouches for (slot 5);
	 * a length past what keyd signs is not shown (the quote's REPORTDATA
	 * then fails to verify: nothing is vouched for silently) */
	bool ckpt = rep->has_checkpoint && rep->checkpoint_len < QUOTE_CHECKPOINT_MAX;
	jw_key(&w, "checkpoint");
	if (ckpt)
		jw_string_n(&w, rep->checkpoint, rep->checkpoint_len);
	else
		jw_null(&w);
	jw_key(&w, "report_data");
	jw_hex(&w, rep->report_data, sizeof rep->report_data);
	jw_key(&w, "report_data_preimage");
	jw_object_begin(&w);
	jw_key(&w, "nonce");
	jw_hex(&w, rep->nonce, rep->nonce_len);
	jw_key(&w, "manifest_sha256");
	if (rep->has_manifest)
		jw_hex(&w, rep->manifest_sha256, sizeof rep->manifest_sha256);
	else
		jw_null(&w);
	jw_key(&w, "api_tls_spki_sha256");
	if (rep->has_api_tls)
		jw_hex(&w, rep->api_tls_spki_sha256, sizeof rep->api_tls_spki_sha256);
	else
		jw_null(&w);
	jw_key(&w, "log_key_sha256");
	if (rep->has_log_key)
		jw_hex(&w, rep->log_key_sha256, sizeof rep->log_key_sha256);
	else
		jw_null(&w);
	jw_key(&w, "checkpoint");
	if (ckpt)
		jw_hex(&w, rep->checkpoint, rep->checkpoint_len);
	else
		jw_null(&w);
	jw_object_end(&w);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* The head (base64 of the longest quote and the keys before it) goes out
 * whole right after the HTTP head, which http_respond_stream keeps within
 * half the buffer. */
_Static_assert(4 * (QUOTE_REPLY_QUOTE_MAX + 2) / 3 + 512 <= HTTP_OUT_CAP / 2,
	       "the document's head fits the output buffer after the HTTP head");

static struct api_attest_stream *attest_of(struct api_state *st, const struct http_conn *c)
{
	for (size_t i = 0; i < API_ATTEST_STREAMS; i++)
		if (st->attest[i].busy && st->attest[i].conn_id == c->id)
			return &st->attest[i];
	return NULL;
}

static void attest_release(struct api_attest_stream *s)
{
	if (s->map != NULL)
		munmap((void *)s->map, s->len);
	s->map = NULL;
	s->busy = false;
}

static void attest_abort(struct http_conn *c, struct api_attest_stream *s)
{
	http_stream_abort(c);
	attest_release(s);
}

/* One event, with the comma before it unless it is the first, into buf;
 * its length, which must be what events_json_len counted for it. */
static long attest_event(const struct api_attest_stream *s, const struct rtmr3_rec *rec,
			 char *buf, size_t cap)
{
	struct jsonw w;
	size_t comma = s->first ? 0 : 1;
	long n;

	buf[0] = ',';
	jw_init(&w, buf + comma, cap - comma);
	rtmr3_rec_json(&w, rec);
	n = jw_finish(&w);
	if (n < 0 || (size_t)n != rtmr3_rec_json_len(rec))
		return -EBADMSG;
	return (long)comma + n;
}

/* Writes events while the output has room for the next one, then the
 * tail; asks to be called back (attest_stream_ready) when it runs out of
 * room. The slot is released once the tail is written. */
static void attest_push(struct http_conn *c, struct api_attest_stream *s)
{
	char ev[1 + RTMR3_JSON_EVENT_MAX + 1];
	struct rtmr3_rec rec;

	for (;;) {
		size_t next = s->off, need;
		bool event = s->off < s->len;

		if (event) {
			if (rtmr3_rec_next(s->map, s->len, &next, &rec) <= 0) {
				attest_abort(c, s);   /* read once already: cannot happen */
				return;
			}
			need = !s->first + rtmr3_rec_json_len(&rec);
		} else {
			need = s->tail_len;
		}
		if (!http_stream_want(c, need))
			return;
		if (!event) {
			if (http_stream_write(c, s->tail, s->tail_len) < 0)
				http_stream_abort(c);
			attest_release(s);
			return;
		}
		long n = attest_event(s, &rec, ev, sizeof ev);
		if (n < 0 || http_stream_write(c, ev, (size_t)n) < 0) {
			attest_abort(c, s);
			return;
		}
		s->off = next;
		s->first = false;
	}
}

static bool attest_stream_ready(struct api_state *st, struct http_conn *c)
{
	struct api_attest_stream *s = attest_of(st, c);

	if (s == NULL)
		return false;
	attest_push(c, s);
	return true;
}

static void attest_conn_gone(struct api_state *st, const struct http_conn *c)
{
	struct api_attest_stream *s = attest_of(st, c);

	if (s != NULL)
		attest_release(s);
}

/* Starts the streamed document over the records map[0..len) (which the
 * stream owns from here on, or which is unmapped): everything is checked
 * and its length known before the head goes out. */
static void attest_start(struct api_state *st, struct http_conn *c,
			 const struct quote_reply_msg *rep, const uint8_t *quote,
			 const uint8_t *map, size_t len)
{
	struct api_attest_stream *s = NULL;
	long evlen = events_json_len(map, len), n;
	size_t split = 0;

	n = evlen < 0 ? -EBADMSG : attestation_json(rep, quote, st->out, sizeof st->out, &split);
	for (size_t i = 0; i < API_ATTEST_STREAMS && s == NULL; i++)
		if (!st->attest[i].busy)
			s = &st->attest[i];
	if (n < 0 || (size_t)n - split > API_ATTEST_TAIL_MAX || s == NULL) {
		munmap((void *)map, len);
		if (n == -EBADMSG)
			http_respond_error(c, 500, "quote_failed", "keyd sent a malformed event log");
		else if (n < 0 || (size_t)n - split > API_ATTEST_TAIL_MAX)
			http_respond_error(c, 500, "internal", "the attestation document does not fit");
		else
			http_respond_error_hdr(c, 503, "busy", "too many attestation documents being "
					       "sent: retry later", "Retry-After: 1\r\n");
		return;
	}
	*s = (struct api_attest_stream){ .busy = true, .first = true, .conn_id = c->id,
					 .map = map, .len = len, .tail_len = (size_t)n - split };
	memcpy(s->tail, st->out + split, s->tail_len);
	http_respond_stream(c, 200, "application/json", NULL, NULL,
			    (uint64_t)n + (uint64_t)evlen);
	if (http_stream_left(c) == 0) {   /* HEAD: the head alone */
		attest_release(s);
		return;
	}
	if (http_stream_write(c, st->out, split) < 0) {
		attest_abort(c, s);
		return;
	}
	attest_push(c, s);
}

void api_quote_lost(struct api_state *st, struct http_conn *c)
{
	(void)st;
	if (http_conn_state(c) != HTTP_CONN_PENDING)
		return;
	http_respond_error_hdr(c, 503, "attestation_unavailable",
			       "keyd stopped before it answered; it is being restarted",
			       "Retry-After: 1\r\n");
}

void api_quote_reply(struct api_state *st, struct http_conn *c,
		     const struct quote_reply_msg *rep, const uint8_t *quote, int events_fd)
{
	char detail[sizeof rep->detail + 64];
	const uint8_t *map = NULL;

	if (events_fd >= 0) {
		if (rep->error == 0 && rep->events_len > 0 &&
		    rep->events_len <= QUOTE_REPLY_EVENTS_MAX)
			map = file_map_sealed(events_fd, rep->events_len,
					      F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
		close(events_fd);   /* the mapping stays */
	}
	if (http_conn_state(c) != HTTP_CONN_PENDING) {
		if (map != NULL)
			munmap((void *)map, rep->events_len);
		return;   /* timed out or closed meanwhile */
	}
	if (rep->error != 0) {
		int e = rep->error < 0 ? -rep->error : rep->error;
		snprintf(detail, sizeof detail, "%.*s", (int)strnlen(rep->detail, sizeof rep->detail),
			 rep->detail);
		if (e == ENODEV)
			http_respond_error(c, 503, "attestation_unavailable", detail);
		else if (e == EBUSY)
			http_respond_error_hdr(c, 503, "busy", detail, "Retry-After: 1\r\n");
		else
			http_respond_error(c, 500, "quote_failed", detail);
		return;
	}
	if (rep->backend != QUOTE_BACKEND_TDX && rep->backend != QUOTE_BACKEND_SIM) {
		if (map != NULL)
			munmap((void *)map, rep->events_len);
		http_respond_error(c, 500, "quote_failed", "keyd answered with an unknown backend");
		return;
	}
	if (map == NULL) {
		http_respond_error(c, 500, "quote_failed", "keyd's event log is not a sealed memfd "
				   "of the length it announced");
		return;
	}
	attest_start(st, c, rep, quote, map, rep->events_len);
}
