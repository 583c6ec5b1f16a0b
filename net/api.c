/* net/api.c: the management API routes; see api.h and docs/API.md.
 *
 * Routes are a fixed table: path, the methods it answers, and a handler.
 * HEAD is answered wherever GET is (the core drops the body). Query strings
 * are ignored by these routes, except /v1/attestation's nonce.
 */
#include "net/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/bbuf.h"
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

/* The quote is made by init (which owns the TDX device): ask it and leave
 * the connection PENDING until api_quote_reply(). */
static void route_attestation(struct api_state *st, struct http_conn *c,
			      const struct http_request *req)
{
	uint8_t nonce[QUOTE_NONCE_MAX];
	const char *why = NULL;
	char msg[128];
	int n = api_parse_nonce(req->query, nonce, &why), rc = -ENOSYS;

	if (n < 0) {
		http_respond_error(c, 400, "bad_nonce", why);
		return;
	}
	if (st->request_quote)
		rc = st->request_quote(st->ctx, c->id, nonce, (size_t)n);
	if (rc < 0) {
		snprintf(msg, sizeof msg, "cannot ask init for a quote: %s", strerror(-rc));
		http_respond_error(c, 503, "unavailable", msg);
	}
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
	http_respond_error(c, 404, "not_found", "no such path");
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
	jw_object_end(&w);
	return jw_finish(&w);
}

void api_kaddr_reply(struct api_state *st, struct http_conn *c,
		     const struct kaddr_reply_msg *reply)
{
	char buf[2048];
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

/* jsonw cannot embed the event log, which init already rendered as JSON,
 * so this document is written by hand with lib/bbuf. Every value is hex,
 * base64, a fixed word or that log. */
static long attestation_json(const struct quote_reply_msg *rep, const uint8_t *quote,
			     const char *log, char *buf, size_t cap)
{
	struct bbuf b;
	bool sim = rep->backend == QUOTE_BACKEND_SIM;

	bbuf_init(&b, buf, cap);
	bbuf_str(&b, "{\"backend\":\"");
	bbuf_str(&b, sim ? "sim" : "tdx");
	if (sim)
		bbuf_str(&b, "\",\"warning\":\"sim: a simulated quote, signed by a key the VM "
			 "generated at boot; it proves nothing about hardware");
	bbuf_str(&b, "\",\"quote\":\"");
	bbuf_base64(&b, quote, rep->quote_len);
	bbuf_str(&b, "\",\"event_log\":");
	bbuf_put(&b, log, rep->log_len);
	bbuf_str(&b, ",\"report_data\":\"");
	bbuf_hex(&b, rep->report_data, sizeof rep->report_data);
	bbuf_str(&b, "\",\"report_data_preimage\":{\"nonce\":\"");
	bbuf_hex(&b, rep->nonce, rep->nonce_len);
	bbuf_str(&b, "\",\"manifest_sha256\":");
	if (rep->has_manifest) {
		bbuf_str(&b, "\"");
		bbuf_hex(&b, rep->manifest_sha256, sizeof rep->manifest_sha256);
		bbuf_str(&b, "\"");
	} else {
		bbuf_str(&b, "null");
	}
	bbuf_str(&b, ",\"api_tls_spki_sha256\":null,\"log_key_sha256\":null,"
		 "\"checkpoint\":null}}");
	return bbuf_finish(&b);
}

void api_quote_reply(struct api_state *st, struct http_conn *c,
		     const struct quote_reply_msg *rep, const uint8_t *quote,
		     const char *log)
{
	static char buf[HTTP_OUT_CAP];
	char detail[sizeof rep->detail + 64];
	long n;

	(void)st;
	if (http_conn_state(c) != HTTP_CONN_PENDING)
		return;   /* timed out or closed meanwhile */
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
		http_respond_error(c, 500, "quote_failed", "init answered with an unknown backend");
		return;
	}
	n = attestation_json(rep, quote, log, buf, sizeof buf);
	if (n < 0) {
		http_respond_error(c, 500, "internal", "the attestation document does not fit");
		return;
	}
	http_respond_json(c, 200, buf, (size_t)n);
}
