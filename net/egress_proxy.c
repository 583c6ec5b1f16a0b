/* net/egress_proxy.c: see egress_proxy.h.
 *
 * One connection's life: accepted -> (the proxy: EGP_HEAD, the CONNECT
 * request) -> the decision -> EGP_RESOLVING -> EGP_LOGGING -> EGP_CONNECTING
 * -> EGP_RELAY -> closed. Any step may refuse: refuse() answers the
 * function (a reset, or the proxy's status line), records egress_refused
 * and frees the slot. After the allow record, the end is end_conn(), which
 * records the completion.
 *
 * Relaying, function -> upstream: the socket is read (into c->up) only
 * when c->up is empty and lwIP has send room, so a fast function waits on
 * its own socket buffer, never in ours. Upstream -> function: lwIP's pbufs
 * are held on c->down and written to the socket as it takes them; only
 * then tcp_recved() reopens lwIP's window, so a slow function closes the
 * upstream's window. At most EGP_HOLD_PBUFS pool buffers are held per
 * connection; past them lwIP keeps the segment as refused data.
 *
 * A function's cap (limits.egress_kbps): the bytes read from and written
 * to its sockets go through its two token buckets (struct egp_bw). An
 * empty bucket holds the connection that way: nothing is read from the
 * function (its socket buffer fills, it waits) or written to it (lwIP's
 * pbufs stay on c->down, tcp_recved() is not called, the upstream's
 * window closes), the socket is not watched that way, and
 * egress_proxy_tick drives it again once the bucket refilled. Nothing
 * sleeps.
 *
 * lwIP rules honoured here (as in http_lwip.c): callbacks are detached
 * before tcp_abort() (which calls the error callback), a callback that
 * aborted returns ERR_ABRT, the DNS callback finds its connection by id
 * (a slot may have been reused when the answer comes).
 */
#include "net/egress_proxy.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include <bearssl_hash.h>
#include "lib/bbuf.h"
#include "lib/clock.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lwip/dns.h"
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "net/egress_sni.h"
#include "net/tls_lwip.h"

#define IO_ROUNDS 16            /* reads or writes per event before the others get a turn */
#define EGP_HOLD_PBUFS 8        /* upstream pbufs held per connection (as http_lwip.c) */
/* ... and by a connection its function's cap holds: a window's worth, so
 * the upstream, paced by the window tcp_recved() reopens at the cap's
 * rate, never sends what lwIP would refuse (refused data waits for a
 * 250 ms timer, later segments are dropped and resent). The pool
 * (net/lwipopts.h) cannot give that to all EGP_CONN_MAX connections at
 * once, so a capped connection gets it only while a quarter of the pool
 * stays free for everyone else (hold_limit); past that it holds
 * EGP_HOLD_PBUFS like the others and its upstream retransmits. */
#define EGP_HOLD_CAPPED (TCP_WND / TCP_MSS + 2)
#define EGP_POOL_KEEP   (PBUF_POOL_SIZE / 4)
_Static_assert(EGP_HOLD_CAPPED < EGP_POOL_KEEP, "one capped connection's window fits the pool's spare");
#define DOWN_IOV  16

/* --- TLS origination's keys ------------------------------------------------------- */

int egress_tls_init(struct egress_tls *x, int64_t now, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[4];
	char tag[8];
	int r;

	memset(x, 0, offsetof(struct egress_tls, cache));
	cert_cache_init(&x->cache);
	if ((r = cert_drbg_seed(&x->rng)) < 0)
		return errbuf_set(err, errlen, r, "local CA: no randomness: %s", strerror(-r));
	/* the tag tells one boot's CA from another's in a client's error */
	br_hmac_drbg_generate(&x->rng, rnd, sizeof rnd);
	for (size_t i = 0; i < sizeof rnd; i++) {
		tag[2 * i] = hex[rnd[i] >> 4];
		tag[2 * i + 1] = hex[rnd[i] & 15];
	}
	r = cert_ca_init(&x->ca, &x->rng, tag, sizeof tag, now, now + (int64_t)EGP_CA_DAYS * 86400);
	if (r < 0)
		return errbuf_set(err, errlen, r, "local CA: cannot make it: %s", strerror(-r));
	long n = cert_pem(x->ca_pem, sizeof x->ca_pem, x->ca.der, x->ca.der_len);
	if (n < 0)
		return errbuf_set(err, errlen, (int)n, "local CA: no room for its PEM");
	x->ca_pem_len = (size_t)n;
	tls_sessions_init(&x->sessions);
	memset(&x->up, 0, sizeof x->up);
	x->srv = (struct tls_server_cfg){ .ca = &x->ca, .cache = &x->cache, .rng = &x->rng,
					  .sessions = &x->sessions };
	anchors_init(&x->anchors, x->ta, ANCHORS_MAX);
	snprintf(x->anchors_why, sizeof x->anchors_why, "no trust anchors yet (init sends them)");
	x->ready = true;
	return 0;
}

_Static_assert(EGP_FN_CONN_MAX == POLICY_EGRESS_CONNS_MAX,
	       "the policy bounds limits.egress_conns by a function's share of the pool");

/* Reads the file behind fd (from its start: init keeps it open across
 * netd's restarts) into buf: its length, or -errno with what in err. */
static long read_fd(int fd, uint8_t *buf, size_t cap, const char *what, char *err, size_t errlen)
{
	if (lseek(fd, 0, SEEK_SET) != 0)
		return errbuf_set(err, errlen, -errno, "%s: cannot seek: %s", what, strerror(errno));
	long n = file_read_fd(fd, buf, cap);
	if (n < 0)
		return errbuf_set(err, errlen, (int)n, "%s: cannot read: %s", what, strerror((int)-n));
	return n;
}

/* Appends the anchors of buf[0..len): their number, or -errno. */
static long parse_into(struct anchors *a, const uint8_t *buf, size_t len, int extra,
		       const char *what, char *err, size_t errlen)
{
	char why[ERRBUF_LEN];
	long k = anchors_parse(a, buf, len, extra, why, sizeof why);

	if (k < 0)
		return errbuf_set(err, errlen, (int)k, "%s: %s", what,
				  k == -ENOSPC ? "more anchors than netd has room for" : why);
	return k;
}

/* Makes x->anchors again from what is held: the image's file (host
 * mode's --anchors) and the policy's extra_anchors. Any error leaves
 * none: every originate connection is refused, with the reason. */
static long anchors_rebuild(struct egress_tls *x, char *err, size_t errlen)
{
	long r = x->files_rc;

	/* sessions whose chains the anchors being replaced checked */
	tls_client_sessions_clear(&x->up);
	anchors_init(&x->anchors, x->ta, ANCHORS_MAX);
	if (r < 0)
		r = errbuf_set(err, errlen, (int)r, "%s", x->files_why);
	else if (x->policy_rc < 0)
		r = errbuf_set(err, errlen, x->policy_rc, "%s", x->policy_why);
	if (r >= 0 && x->have_a)
		r = parse_into(&x->anchors, x->abuf, x->alen, 0, "the trust anchors", err, errlen);
	if (r >= 0 && x->plen > 0)
		r = parse_into(&x->anchors, x->pbuf, x->plen, 1, "the policy's extra_anchors", err,
			       errlen);
	if (r >= 0 && x->anchors.n == 0)
		r = errbuf_set(err, errlen, -ENOENT, "%s", x->files_why[0] != '\0' ? x->files_why :
			       "no trust anchors");
	if (r < 0) {
		anchors_init(&x->anchors, x->ta, ANCHORS_MAX);
		snprintf(x->anchors_why, sizeof x->anchors_why, "%s", err);
		return r;
	}
	x->anchors_why[0] = '\0';
	return (long)x->anchors.n;
}

long egress_tls_anchors(struct egress_tls *x, int fd, const char *why, char *err, size_t errlen)
{
	long n = 0;

	x->have_a = false;
	x->files_rc = 0;
	/* why there is no file, said when there are no anchors at all */
	snprintf(x->files_why, sizeof x->files_why, "%s", why != NULL ? why : "");
	if (fd >= 0 && (n = read_fd(fd, x->abuf, ANCHORS_FILE_MAX, "the trust anchors", err,
				    errlen)) >= 0) {
		x->alen = (size_t)n;
		x->have_a = true;
	}
	if (n < 0) {
		x->files_rc = (int)n;
		snprintf(x->files_why, sizeof x->files_why, "%s", err);
	}
	return anchors_rebuild(x, err, errlen);
}

long egress_tls_policy_anchors(struct egress_tls *x, const struct policy *p, char *err,
			       size_t errlen)
{
	size_t off = ANCHORS_HEADER_LEN;
	unsigned n = p != NULL ? p->nanchors : 0;

	x->plen = 0;
	x->policy_rc = 0;
	for (unsigned k = 0; k < n; k++) {
		char why[ERRBUF_LEN];
		long r = anchors_record(x->pbuf + off, sizeof x->pbuf - off, p->anchors[k].der,
					p->anchors[k].len, ANCHOR_FLAG_CA, why, sizeof why);
		if (r < 0) {
			/* fail closed: none trusted until a policy whose anchors all read */
			x->policy_rc = (int)r;
			snprintf(x->policy_why, sizeof x->policy_why,
				 "the policy's extra_anchors[%u]: %s", k, why);
			return anchors_rebuild(x, err, errlen);
		}
		off += (size_t)r;
	}
	if (n > 0 && anchors_header(x->pbuf, sizeof x->pbuf, n) == ANCHORS_HEADER_LEN)
		x->plen = off;
	return anchors_rebuild(x, err, errlen);
}

/* --- the decision step ---------------------------------------------------------- */

/* After the rule is known: its TLS mode. An originate rule needs a name:
 * netd's leaf, the SNI, Host and the upstream's certificate all name a
 * host, so a literal (CONNECT 10.1.2.3:443) reaches only passthrough. */
static int take_rule(const struct policy *p, struct egp_target *t, int rule, char *err,
		     size_t errlen)
{
	t->originate = p->rules[rule].tls != POLICY_TLS_PASSTHROUGH;
	if (t->originate && t->literal)
		return errbuf_set(err, errlen, -EACCES,
				  "tls_originate: rule %s originates TLS, which needs a name: %s is an "
				  "IP literal (connect by name)", p->rules[rule].host, t->host);
	t->rule = rule;
	return 0;
}

/* egress_match's refusal as "code: text". */
static int match_refused(enum egress_reason why, const char *text, char *err, size_t errlen)
{
	return errbuf_set(err, errlen, -EACCES, "%s: %s", egress_reason_code(why), text);
}

int egp_decide_fake(const struct policy *p, uint32_t declared, const struct fakeaddr_table *fakes,
		    uint32_t addr, uint16_t port, struct egp_target *t, char *err, size_t errlen)
{
	char why_text[EGP_REASON_MAX];
	enum egress_reason why;
	size_t len;
	const char *name = fakes != NULL ? fakeaddr_name(fakes, addr, &len) : NULL;

	memset(t, 0, sizeof *t);
	if (name == NULL)
		return errbuf_set(err, errlen, -EACCES,
				  "unknown_address: %u.%u.%u.%u is no address the function's DNS gave",
				  addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
	if (p == NULL)
		return errbuf_set(err, errlen, -EACCES, "no_policy: no policy is loaded");
	memcpy(t->host, name, len + 1);
	t->port = port;
	int r = egress_match(p, declared, t->host, port, NULL, NULL, &why, why_text, sizeof why_text);
	if (r < 0)
		return match_refused(why, why_text, err, errlen);
	return take_rule(p, t, r, err, errlen);
}

/* The rule for authority a[0..n) (CONNECT's, or an http:// URL's with
 * def_port when it names none; def_port 0: a port is required). */
static int decide_authority(const struct policy *p, uint32_t declared, const char *a, size_t n,
			    uint16_t def_port, struct egp_target *t, char *err, size_t errlen)
{
	char why_text[EGP_REASON_MAX];
	struct egress_authority au;
	struct egress_host h;
	enum egress_reason why;
	int r;

	memset(t, 0, sizeof *t);
	if (p == NULL)
		return errbuf_set(err, errlen, -EACCES, "no_policy: no policy is loaded");
	if (egress_authority_split(a, n, &au, &why, why_text, sizeof why_text) < 0 ||
	    egress_host_parse(au.host, au.host_len, au.bracketed, &h, &why, why_text,
			      sizeof why_text) < 0)
		return match_refused(why, why_text, err, errlen);
	if (au.port == 0 && def_port == 0)
		return errbuf_set(err, errlen, -EACCES, "bad_request: CONNECT needs host:port");
	if (au.port == 0)
		au.port = def_port;
	memcpy(t->host, h.name, h.name_len + 1);
	t->port = au.port;
	t->literal = h.literal;
	t->addr = h.addr;
	if (h.literal)
		r = egress_match_literal(p, declared, &h.addr, au.port, NULL, NULL, &why, why_text,
					 sizeof why_text);
	else
		r = egress_match(p, declared, t->host, au.port, NULL, NULL, &why, why_text,
				 sizeof why_text);
	if (r < 0)
		return match_refused(why, why_text, err, errlen);
	return take_rule(p, t, r, err, errlen);
}

int egp_decide_authority(const struct policy *p, uint32_t declared, const char *a, size_t n,
			 struct egp_target *t, char *err, size_t errlen)
{
	return decide_authority(p, declared, a, n, 0, t, err, errlen);
}

int egp_absolute_split(const char *u, size_t n, size_t *auth_len, size_t *path)
{
	size_t e = 7;

	if (n < 7 || strncasecmp(u, "http://", 7) != 0)
		return -1;
	while (e < n && u[e] != '/' && u[e] != '?' && u[e] != '#')
		e++;
	*auth_len = e - 7;
	*path = e;
	return 0;
}

int egp_decide_absolute(const struct policy *p, uint32_t declared, const char *u, size_t n,
			struct egp_target *t, char *err, size_t errlen)
{
	size_t al, po;

	memset(t, 0, sizeof *t);
	if (egp_absolute_split(u, n, &al, &po) < 0)
		return errbuf_set(err, errlen, -EACCES, "absolute_form: only http:// URLs are asked "
				  "of the proxy (https:// goes through CONNECT)");
	if (decide_authority(p, declared, u + 7, al, EGP_ABSOLUTE_PORT, t, err, errlen) < 0)
		return -EACCES;
	if (!t->originate)
		return errbuf_set(err, errlen, -EACCES, "tls_passthrough: rule %s is passthrough: the "
				  "function's own TLS goes through CONNECT, netd makes none for "
				  "http:// requests", p->rules[t->rule].host);
	t->absolute = true;
	return 0;
}

int egp_check_addr(const struct policy *p, const struct egp_target *t, const struct egress_addr *a,
		   char *err, size_t errlen)
{
	char why_text[EGP_REASON_MAX];
	enum egress_reason why;

	if (egress_addr_allowed(&p->rules[t->rule], a, &why, why_text, sizeof why_text) < 0)
		return match_refused(why, why_text, err, errlen);
	return 0;
}

/* --- the request head (net/egress_http.h) ------------------------------------------ */

void egp_request_of(const char *buf, const struct eh_head *h, struct egp_request *r)
{
	memset(r, 0, sizeof *r);
	r->kind = h->kind == EH_T_AUTHORITY ? EGP_REQ_CONNECT :
		  h->kind == EH_T_ABSOLUTE ? EGP_REQ_ABSOLUTE : EGP_REQ_ORIGIN;
	r->target = buf + h->target;
	r->target_len = h->target_len;
	r->head_len = h->head_len;
	r->nhost = h->nhost;
	if (h->host >= 0) {
		r->host = buf + h->h[h->host].value;
		r->host_len = h->h[h->host].value_len;
	}
}

long egp_request_parse(const char *buf, size_t len, struct egp_request *r, char *err,
		       size_t errlen)
{
	struct eh_head h;
	long n = eh_head_parse(buf, len, &h, err, errlen);

	memset(r, 0, sizeof *r);
	if (n > 0)
		egp_request_of(buf, &h, r);
	return n;
}

/* Does authority a[0..n) (canonicalised as the policy's names are) name
 * t's host, and its port (none written: def_port; 0: any)? what names
 * it in the refusal ("Host", "URL"). */
static int names_target(const struct egp_target *t, const char *a, size_t n, uint16_t def_port,
			const char *what, char *err, size_t errlen)
{
	char why_text[EGP_REASON_MAX];
	struct egress_authority au;
	struct egress_host h;
	enum egress_reason why;
	int shown = (int)(n < 80 ? n : 80);

	if (egress_authority_split(a, n, &au, &why, why_text, sizeof why_text) < 0 ||
	    egress_host_parse(au.host, au.host_len, au.bracketed, &h, &why, why_text,
			      sizeof why_text) < 0)
		return errbuf_set(err, errlen, -EACCES, "host_mismatch: %s %.*s: %s", what, shown, a,
				  why_text);
	uint16_t port = au.port != 0 ? au.port : def_port;
	if (h.literal || strcmp(h.name, t->host) != 0 || (port != 0 && port != t->port))
		return errbuf_set(err, errlen, -EACCES, "host_mismatch: %s %.*s is not %s:%u", what,
				  shown, a, t->host, t->port);
	return 0;
}

/* egp_check_host, and where the target's path begins (*path). */
static int check_host(const struct egp_target *t, const struct egp_request *r, size_t *path,
		      char *err, size_t errlen)
{
	size_t al;

	*path = 0;
	if (t->absolute) {
		if (r->kind != EGP_REQ_ABSOLUTE ||
		    egp_absolute_split(r->target, r->target_len, &al, path) < 0)
			return errbuf_set(err, errlen, -EACCES, "bad_request: a request to the "
					  "proxy is an http:// URL (absolute-form)");
		if (names_target(t, r->target + 7, al, EGP_ABSOLUTE_PORT, "URL", err, errlen) < 0)
			return -EACCES;
	} else if (r->kind != EGP_REQ_ORIGIN) {
		return errbuf_set(err, errlen, -EACCES,
				  "bad_request: the first request's target is not a path (origin-form)");
	}
	if (r->nhost != 1)
		return errbuf_set(err, errlen, -EACCES, "host_mismatch: %u Host headers (one is needed)",
				  r->nhost);
	return names_target(t, r->host, r->host_len, 0, "Host", err, errlen);
}

int egp_check_host(const struct egp_target *t, const struct egp_request *r, char *err,
		   size_t errlen)
{
	size_t path;

	return check_host(t, r, &path, err, errlen);
}

long egp_request_rewrite(const struct policy *p, uint32_t declared, const struct egp_target *t,
			 const char *fn, const char *buf, const struct eh_head *h,
			 const struct egress_proxy_hooks *hk, char *path, size_t cap, char *out,
			 size_t outcap, char *err, size_t errlen)
{
	char text[EGP_REASON_MAX - 64];
	struct egp_request r;
	enum egress_reason why;
	size_t plen;

	size_t po;
	egp_request_of(buf, h, &r);
	if (check_host(t, &r, &po, err, errlen) < 0)
		return -EACCES;
	if (p == NULL)
		return errbuf_set(err, errlen, -EACCES, "no_policy: netd has no policy");
	/* an http:// URL's path (none: "/"); upstream, the origin-form */
	const char *tp = po < h->target_len ? buf + h->target + po : "/";
	size_t tn = po < h->target_len ? h->target_len - po : 1;
	long n = egress_path_norm(tp, tn, path, cap, &plen, &why, text, sizeof text);
	if (n < 0)
		return errbuf_set(err, errlen, -EACCES, "%s: %s", egress_reason_code(why), text);
	int k = egress_match(p, declared, t->host, t->port, h->method, path, &why, text, sizeof text);
	if (k < 0)
		return errbuf_set(err, errlen, -EACCES, "%s: %s", egress_reason_code(why), text);
	const struct policy_rule *pr = &p->rules[k];
	if (h->upgrade == EH_UP_WEBSOCKET && !pr->websocket)
		return errbuf_set(err, errlen, -EACCES, "websocket_not_allowed: rule %s does not allow "
				  "WebSocket upgrades (websocket: true)", pr->host);
	const char *v[POLICY_MAX_INJECT];
	size_t vl[POLICY_MAX_INJECT];
	for (unsigned i = 0; i < pr->ninject; i++)
		if (hk == NULL || hk->secret == NULL ||
		    hk->secret(hk->ctx, fn, pr->inject[i].secret, &v[i], &vl[i]) < 0)
			return errbuf_set(err, errlen, -EACCES,
					  "secret_missing: secret %s (header %s of rule %s) is not there",
					  pr->inject[i].secret, pr->inject[i].header, pr->host);
	long w = eh_rewrite(buf, h, path, (size_t)n, pr, v, vl, out, outcap, text, sizeof text);
	if (w == -ENOSPC)
		return errbuf_set(err, errlen, -EACCES, "bad_request: %s", text);
	if (w < 0)
		return errbuf_set(err, errlen, -EACCES, "%s", text);
	return w;
}

/* --- the proxy ---------------------------------------------------------------------- */

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void egress_proxy_init(struct egress_proxy *px, const struct egress_proxy_hooks *h)
{
	/* Each slot's head only, not its buffers (free_conn's rule): the
	 * pool is EGP_CONN_MAX x 116 KiB, and a page netd never writes costs
	 * no memory, so netd's size follows the most connections ever open
	 * at once (a touched page stays). */
	px->h = *h;
	px->next_id = 0;
	memset(&px->st, 0, sizeof px->st);
	for (unsigned i = 0; i < EGP_CONN_MAX; i++) {
		memset(&px->c[i], 0, offsetof(struct egp_conn, up));
		px->c[i].fd = -1;
		px->fd_of[i] = -1;
	}
}

static struct egp_conn *by_id(struct egress_proxy *px, uint32_t id)
{
	uint32_t i = id & ((1u << EGP_SLOT_BITS) - 1);

	return id != 0 && i < EGP_CONN_MAX && px->c[i].id == id ? &px->c[i] : NULL;
}

/* An egress or egress_refused entry of function fn, without its
 * connection's details. */
static void entry_base(struct log_entry *e, uint8_t type, const char *fn, const char *inv,
		       uint8_t kind, const char *reason)
{
	memset(e, 0, sizeof *e);
	e->type = type;
	e->time_ns = real_ns();
	struct log_egress *g = &e->u.egress;
	g->function = (struct log_str){ fn, strlen(fn) };
	g->invocation = (struct log_str){ inv, strlen(inv) };
	g->method = kind == SBX_L_PROXY ? (struct log_str){ "CONNECT", 7 } : (struct log_str){ "", 0 };
	g->scheme = (struct log_str){ "tcp", 3 };
	g->decision = type == LOG_EGRESS ? LOG_ALLOW : LOG_DENY;
	g->reason = (struct log_str){ reason, strlen(reason) };
}

/* The log entry of c (egress or egress_refused). */
static void entry_of(const struct egp_conn *c, struct log_entry *e, uint8_t type, const char *reason)
{
	entry_base(e, type, c->fn, c->inv, c->kind, reason);
	struct log_egress *g = &e->u.egress;
	g->host = (struct log_str){ c->t.host, strlen(c->t.host) };
	g->port = c->t.port;
	g->rule = (struct log_str){ c->rule_host, strlen(c->rule_host) };
	if (c->t.originate)
		g->scheme = (struct log_str){ "tls", 3 };
	if (c->method[0] != '\0') {
		g->method = (struct log_str){ c->method, strlen(c->method) };
		g->path = (struct log_str){ c->path, strlen(c->path) };
		if (c->has_path_hash) {
			g->path_hash.present = true;
			memcpy(g->path_hash.h, c->path_hash, sizeof c->path_hash);
		}
	}
	if (c->has_spki) {
		g->spki.present = true;
		memcpy(g->spki.h, c->spki, sizeof c->spki);
	}
	if (c->ip != 0) {
		g->addr.family = 4;
		memcpy(g->addr.a, &c->ip, 4);
	}
}

static void set_watch(struct egress_proxy *px, struct egp_conn *c, uint32_t ev)
{
	if (c->fd < 0 || ev == c->watching)
		return;
	if (px->h.watch(px->h.ctx, c->fd, ev) == 0)
		c->watching = ev;
}

/* Drops the pcb (callbacks detached first); abort: with a RST. */
static void drop_pcb(struct egp_conn *c, bool abort)
{
	struct tcp_pcb *pcb = c->pcb;

	if (pcb == NULL)
		return;
	c->pcb = NULL;
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (abort || tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

/* --- the functions' caps ------------------------------------------------------------ */

static uint64_t bw_rate(uint32_t kbps)
{
	return (uint64_t)kbps * 125u;   /* bytes a second */
}

static uint64_t bw_burst(uint32_t kbps)
{
	uint64_t b = bw_rate(kbps) / EGP_BW_BURST_DIV;

	return b > EGP_BW_BURST_MIN ? b : EGP_BW_BURST_MIN;
}

/* c shares its function's cap of kbps (0: none): the function's slot,
 * else one no open connection uses (there always is one: a slot per
 * connection, c's own not counted yet), with full buckets. */
static void bw_attach(struct egress_proxy *px, struct egp_conn *c, uint32_t kbps)
{
	struct egp_bw *b = NULL;
	uint64_t now = mono_ns();

	if (kbps == 0)
		return;
	for (unsigned i = 0; i < EGP_CONN_MAX && b == NULL; i++)
		if (strcmp(px->bw[i].fn, c->fn) == 0)
			b = &px->bw[i];
	if (b == NULL) {
		/* a slot never used if there is one, else the first free one */
		for (unsigned i = 0; i < EGP_CONN_MAX; i++)
			if (px->bw[i].refs == 0 && (b == NULL || px->bw[i].fn[0] == '\0'))
				b = &px->bw[i];
		snprintf(b->fn, sizeof b->fn, "%s", c->fn);
		b->kbps = kbps;
		tbucket_init_rate(&b->up, bw_rate(kbps), bw_burst(kbps), now);
		tbucket_init_rate(&b->down, bw_rate(kbps), bw_burst(kbps), now);
	} else if (b->kbps != kbps) {   /* an update changed it */
		b->kbps = kbps;
		tbucket_set_rate(&b->up, bw_rate(kbps), bw_burst(kbps), now);
		tbucket_set_rate(&b->down, bw_rate(kbps), bw_burst(kbps), now);
	}
	b->refs++;
	c->bw = (uint16_t)(b - px->bw + 1);
}

static struct tbucket *bw_bucket(const struct egp_conn *c, bool down)
{
	struct egp_bw *b;

	if (c->bw == 0)
		return NULL;
	b = &c->px->bw[c->bw - 1];
	return down ? &b->down : &b->up;
}

/* How many of n bytes c may move now (down: to the function, else from
 * it); none holds c that way until egress_proxy_tick wakes it. */
static size_t bw_allow(struct egp_conn *c, bool down, size_t n)
{
	struct tbucket *t = bw_bucket(c, down);
	bool *held = down ? &c->held_down : &c->held_up;

	if (t == NULL || n == 0)
		return n;
	uint64_t a = tbucket_avail(t, mono_ns());
	if (a == 0 && !*held) {
		c->holds++;
		c->px->st.bw_holds++;
	}
	*held = a == 0;
	return a < n ? (size_t)a : n;
}

static void bw_spend(struct egp_conn *c, bool down, size_t n)
{
	struct tbucket *t = bw_bucket(c, down);

	if (t != NULL)
		tbucket_spend(t, n);
}

/* How long until c, held, may move EGP_BW_WAKE bytes (or a burst) one of
 * the ways it is held; UINT64_MAX when it is not held. */
static uint64_t bw_wait_ns(const struct egp_conn *c, uint64_t now)
{
	uint64_t w = UINT64_MAX;

	if (c->held_up)
		w = tbucket_wait_ns(bw_bucket(c, false), EGP_BW_WAKE, now);
	if (c->held_down) {
		uint64_t d = tbucket_wait_ns(bw_bucket(c, true), EGP_BW_WAKE, now);
		w = d < w ? d : w;
	}
	return w;
}

/* The function's side of c ends: its socket closed (reset: with a RST),
 * its share of the function's cap given back; no longer active. */
static void end_fn_side(struct egress_proxy *px, struct egp_conn *c, bool reset)
{
	if (c->fd >= 0) {
		if (c->watching)
			px->h.watch(px->h.ctx, c->fd, 0);
		if (reset) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		}
		close(c->fd);
	}
	if (c->bw != 0)
		px->bw[c->bw - 1].refs--;
	c->bw = 0;
	c->fd = -1;
	c->corked = false;   /* close pushed what waited */
	c->watching = 0;
	px->st.active--;
}

/* Frees the slot: the function's socket closed (reset: with a RST). */
static void free_conn(struct egress_proxy *px, struct egp_conn *c, bool reset)
{
	end_fn_side(px, c, reset);
	if (c->down != NULL)
		pbuf_free(c->down);
	px->fd_of[c - px->c] = -1;
	/* the buffers need no clearing: their lengths are zeroed */
	memset(c, 0, offsetof(struct egp_conn, up));
	c->fd = -1;
}

/* The HTTP status a refusal of the explicit proxy answers with. */
static int refusal_status(const char *reason)
{
	if (strncmp(reason, "dns_failed", 10) == 0 || strncmp(reason, "connect_failed", 14) == 0 ||
	    strncmp(reason, "log_refused", 11) == 0 || strncmp(reason, "timeout", 7) == 0 ||
	    strncmp(reason, "cert_", 5) == 0 || strncmp(reason, "tls13_only", 10) == 0 ||
	    strncmp(reason, "bad_response", 12) == 0 ||
	    strstr(reason, "the upstream's TLS") != NULL)
		return 502;
	if (strncmp(reason, "bad_request", 11) == 0)
		return 400;
	if (strncmp(reason, "absolute_form", 13) == 0)
		return 501;
	return 403;
}

/* The explicit proxy's answer before it closes: a status and one line. */
static void proxy_answer(struct egp_conn *c, int status, const char *line)
{
	char buf[512];
	const char *text = status == 400 ? "Bad Request" : status == 403 ? "Forbidden" :
			   status == 501 ? "Not Implemented" : "Bad Gateway";
	int n = snprintf(buf, sizeof buf,
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s\n", status, text, strlen(line) + 1, line);
	if (n > 0 && (size_t)n < sizeof buf)
		(void)send(c->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(c->fd, SHUT_WR);
}

/* An originate connection's refused request: the answer to the function
 * (through netd's TLS, or in plaintext for the explicit proxy's http://
 * requests), a status and one line of JSON
 * {"error":"code","reason":"..."} (quotes, backslashes and control bytes
 * of the reason shown as '?'; 403 for the policy's refusals, 400 for a
 * malformed request, 502 for the upstream's failures), then close_notify
 * and the end of the socket's sending side; best effort (what the socket
 * does not take now is lost). true: answered. */
static bool tls_answer(struct egp_conn *c, int status, const char *reason)
{
	char body[EGP_REASON_MAX + 64], buf[EGP_REASON_MAX + 256];
	size_t cl = strcspn(reason, ":"), n = 0;

	if (c->fd < 0 || (!c->plain && tls_status(&c->srv) != TLS_OPEN))
		return false;
	n = (size_t)snprintf(body, sizeof body, "{\"error\":\"%.*s\",\"reason\":\"", (int)cl, reason);
	for (const char *q = reason; *q != '\0' && n + 4 < sizeof body; q++) {
		unsigned char ch = (unsigned char)*q;
		body[n++] = ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ? '?' : (char)ch;
	}
	n += (size_t)snprintf(body + n, sizeof body - n, "\"}\n");
	int m = snprintf(buf, sizeof buf,
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s", status,
			 status == 400 ? "Bad Request" : status == 502 ? "Bad Gateway" : "Forbidden",
			 n, body);
	if (m <= 0 || (size_t)m >= sizeof buf)
		return false;
	if (c->plain) {
		(void)send(c->fd, buf, (size_t)m, MSG_DONTWAIT | MSG_NOSIGNAL);
		shutdown(c->fd, SHUT_WR);
		return true;
	}
	if (tls_write(&c->srv, buf, (size_t)m) != m)
		return false;
	tls_close(&c->srv);
	const uint8_t *p;
	size_t k;
	while ((p = tls_out(&c->srv, &k)) != NULL && k > 0) {
		ssize_t w = send(c->fd, p, k, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;
		tls_out_done(&c->srv, (size_t)w);
	}
	shutdown(c->fd, SHUT_WR);
	return true;
}

/* Refuses c before or instead of relaying: the function's connection
 * reset (the proxy's answered first; an originate connection's request
 * through its TLS), an egress_refused record. */
static void refuse(struct egress_proxy *px, struct egp_conn *c, const char *reason)
{
	struct log_entry e;
	/* the proxy's own refusals are a status line; a request's, JSON */
	bool answered = c->kind == SBX_L_PROXY && !c->said_200 && !(c->plain && c->nreq > 0) &&
			c->fd >= 0;

	drop_pcb(c, true);
	if (answered)
		proxy_answer(c, refusal_status(reason), reason);
	else if (c->t.originate && (c->nreq > 0 || c->plain))
		answered = tls_answer(c, refusal_status(reason) == 501 ? 403 : refusal_status(reason),
				      reason);
	entry_of(c, &e, LOG_EGRESS_REFUSED, reason);
	px->h.record(px->h.ctx, &e);
	px->st.refused++;
	free_conn(px, c, !answered);
}

static void response_record(struct egress_proxy *px, struct egp_conn *c, const char *how);

/* A connection's last record: what it moved each way, and how it ended. */
static void completion_record(struct egress_proxy *px, struct egp_conn *c, const char *how)
{
	struct log_entry e;
	char reason[EGP_REASON_MAX];
	struct bbuf b;

	/* whole parts only: one that does not fit is left out with the rest */
	bbuf_init(&b, reason, sizeof reason);
	bbuf_printf(&b, "completed: %s", how);
	if (c->holds > 0)   /* the transfer's pace was the cap's, not the network's */
		bbuf_printf(&b, "; held %u times by the function's egress cap (limits.egress_kbps %u)",
			    c->holds, px->bw[c->bw - 1].kbps);
	if (c->up_resumed_made != 0) {  /* no certificate came: the key is the session's */
		int64_t age = (int64_t)(real_ns() / 1000000000u) - c->up_resumed_made;
		bbuf_printf(&b, "; the upstream's TLS resumed a session whose full handshake "
			    "checked its key %lld s before", (long long)(age > 0 ? age : 0));
	}
	(void)bbuf_finish(&b);
	entry_of(c, &e, LOG_EGRESS, reason);
	e.u.egress.bytes_up = c->bytes_up;
	e.u.egress.bytes_down = c->bytes_down;
	px->st.bytes_up += c->bytes_up;   /* /v1/info: what ended connections moved */
	px->st.bytes_down += c->bytes_down;
	e.u.egress.connect_ns = c->connect_ns;
	e.u.egress.total_ns = mono_ns() - c->t0_ns;
	if (c->ws)
		e.u.egress.status = 101;       /* it ended as a WebSocket */
	px->h.record(px->h.ctx, &e);
}

/* The end of a relayed connection: its completion record (and the open
 * answer's, for an answer that ran to the end or was cut). */
static void end_conn(struct egress_proxy *px, struct egp_conn *c, const char *how, bool reset)
{
	drop_pcb(c, reset);
	if (c->rsp_open)
		response_record(px, c, how);   /* to the end, or cut */
	completion_record(px, c, how);
	free_conn(px, c, reset);
}

/* What became of a connection after an event (as in http_lwip.c): a
 * callback returns ERR_ABRT exactly when its pcb was aborted. */
enum egp_result { EGP_ALIVE, EGP_CLOSED, EGP_ABORTED };

static void start(struct egress_proxy *px, struct egp_conn *c);
static void begin_tls(struct egress_proxy *px, struct egp_conn *c);
static bool retry_fresh(struct egress_proxy *px, struct egp_conn *c);
static enum egp_result drive(struct egress_proxy *px, struct egp_conn *c);

/* A new id for slot i: the low EGP_SLOT_BITS are the slot, the rest
 * counts: never 0, never the id of a request still in flight for an
 * older connection. */
static uint32_t slot_id(struct egress_proxy *px, unsigned i)
{
	if (++px->next_id >= 1u << (32 - EGP_SLOT_BITS))
		px->next_id = 1;
	return px->next_id << EGP_SLOT_BITS | i;
}

/* A free slot for the function's socket fd. */
static struct egp_conn *new_conn(struct egress_proxy *px, int fd)
{
	for (unsigned i = 0; i < EGP_CONN_MAX; i++) {
		struct egp_conn *c = &px->c[i];
		if (px->fd_of[i] != -1)
			continue;
		px->fd_of[i] = fd;
		c->id = slot_id(px, i);
		c->px = px;
		c->t0_ms = mono_ms();
		c->t0_ns = mono_ns();
		c->last_ms = c->t0_ms;
		px->st.active++;
		return c;
	}
	return NULL;
}

/* The open connections of function fn. */
static unsigned fn_conns(const struct egress_proxy *px, const char *fn)
{
	unsigned n = 0;

	for (unsigned i = 0; i < EGP_CONN_MAX; i++)
		n += px->fd_of[i] >= 0 && strcmp(px->c[i].fn, fn) == 0;
	return n;
}

/* --- the pool of upstream connections (docs/EGRESS.md, "Upstream pooling") ---------- */

/* Does parked slot u serve connection c: the same function, rule, host
 * and port (so the same checks, the same address class, the same
 * certificate name). */
static bool same_key(const struct egp_conn *u, const struct egp_conn *c)
{
	return strcmp(u->fn, c->fn) == 0 && u->t.rule == c->t.rule && u->t.port == c->t.port &&
	       strcmp(u->t.host, c->t.host) == 0;
}

/* c's function's parked upstream connection for c's key, the one parked
 * last (NULL: none); *n: how many there are. */
static struct egp_conn *parked_for(struct egress_proxy *px, const struct egp_conn *c, unsigned *n)
{
	struct egp_conn *best = NULL;

	*n = 0;
	for (unsigned i = 0; i < EGP_CONN_MAX; i++) {
		struct egp_conn *u = &px->c[i];
		if (px->fd_of[i] != EGP_FD_PARKED || u == c || !same_key(u, c))
			continue;
		(*n)++;
		if (best == NULL || u->parked_ms >= best->parked_ms)
			best = u;
	}
	return best;
}

/* Ends parked slot u: its upstream closed (abort: reset), the slot free. */
static void unpark_free(struct egress_proxy *px, struct egp_conn *u, bool abort)
{
	if (!abort && u->pcb != NULL) {
		/* netd's close_notify, then the FIN after it (lwIP sends what
		 * is queued before a close's FIN) */
		tls_close(&u->cli);
		tls_lwip_pump(&u->cli, u->pcb, &u->down, false, &u->cli_eof);
	}
	drop_pcb(u, abort);
	if (u->down != NULL)
		pbuf_free(u->down);
	px->st.parked--;
	px->fd_of[u - px->c] = -1;
	memset(u, 0, offsetof(struct egp_conn, up));
	u->fd = -1;
}

/* A full pool: the parked connection parked first goes. false: none. */
static bool evict_parked(struct egress_proxy *px)
{
	struct egp_conn *old = NULL;

	for (unsigned i = 0; i < EGP_CONN_MAX; i++)
		if (px->fd_of[i] == EGP_FD_PARKED && (old == NULL || px->c[i].parked_ms < old->parked_ms))
			old = &px->c[i];
	if (old == NULL)
		return false;
	unpark_free(px, old, false);
	return true;
}

/* c, a new connection of its function (accepted, its target known, no
 * byte read yet), takes parked slot u's upstream connection: c's state
 * goes into u's slot, whose upstream's parts stay (the pcb, the client
 * engine, the address checked and the key it presented); c's slot is
 * free again. The slot moves, not the engine: BearSSL's contexts point
 * into themselves. Returns u. */
static struct egp_conn *adopt(struct egress_proxy *px, struct egp_conn *c, struct egp_conn *u)
{
	struct tcp_pcb *pcb = u->pcb;
	uint32_t ip = u->ip;
	uint8_t spki[32];
	int64_t resumed_made = u->up_resumed_made;
	unsigned i = (unsigned)(u - px->c);

	memcpy(spki, u->spki, sizeof spki);
	memcpy(u, c, offsetof(struct egp_conn, up));
	/* the buffers' bytes in use: the function's early bytes, a head
	 * checked and rewritten already (the explicit proxy's) */
	memcpy(u->up, c->up + c->up_off, c->up_len);
	u->up_off = 0;
	memcpy(u->req, c->req, c->req_len);
	memcpy(u->rw, c->rw, c->rw_len);
	u->id = slot_id(px, i);
	u->pcb = pcb;
	u->ip = ip;
	u->has_spki = true;
	memcpy(u->spki, spki, sizeof spki);
	u->up_resumed_made = resumed_made;
	u->reused = true;
	px->fd_of[i] = c->fd;
	px->fd_of[c - px->c] = -1;
	memset(c, 0, offsetof(struct egp_conn, up));
	c->fd = -1;
	px->st.parked--;
	px->st.reused++;
	return u;
}

/* c, or the parked slot that took it (adopt) when its key has one. */
static struct egp_conn *take_parked(struct egress_proxy *px, struct egp_conn *c)
{
	unsigned n;
	struct egp_conn *u = parked_for(px, c, &n);

	return u != NULL ? adopt(px, c, u) : c;
}

void egress_proxy_accept(struct egress_proxy *px, const struct fn_egress_fn *f, uint8_t kind,
			 int fd)
{
	static const char full[] = "pool_full: the proxy's connections are all in use";
	char why[EGP_REASON_MAX];
	unsigned limit = f->egress_conns != 0 && f->egress_conns < EGP_FN_CONN_MAX ? f->egress_conns :
			 EGP_FN_CONN_MAX;
	bool capped = fn_conns(px, f->id) >= limit;
	struct egp_conn *c = capped ? NULL : new_conn(px, fd);
	char inv[37] = "";

	if (c == NULL && !capped && evict_parked(px))
		c = new_conn(px, fd);

	px->st.accepted++;
	if (px->h.invocation != NULL)
		px->h.invocation(px->h.ctx, f->id, inv);
	if (c == NULL) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		struct log_entry e;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(fd);
		if (capped)
			snprintf(why, sizeof why, "conn_limit: the function has %u connections open "
				 "already (limits.egress_conns)", limit);
		px->st.pool_full += !capped;
		px->st.refused++;
		entry_base(&e, LOG_EGRESS_REFUSED, f->id, inv, kind, capped ? why : full);
		px->h.record(px->h.ctx, &e);
		return;
	}
	c->st = EGP_HEAD;
	c->fd = fd;
	c->fn_ready = true;
	c->kind = kind;
	c->declared = f->rules;
	snprintf(c->fn, sizeof c->fn, "%s", f->id);
	memcpy(c->inv, inv, sizeof inv);
	bw_attach(px, c, f->egress_kbps);
	if (kind == SBX_L_PROXY) {
		set_watch(px, c, EPOLLIN);
		return;
	}
	struct sockaddr_in to;
	socklen_t tl = sizeof to;
	if (getsockname(fd, (struct sockaddr *)&to, &tl) != 0 || to.sin_family != AF_INET) {
		refuse(px, c, "unknown_address: the connection's destination cannot be read");
		return;
	}
	if (egp_decide_fake(px->h.policy(px->h.ctx), f->rules, f->fakes, ntohl(to.sin_addr.s_addr),
			    ntohs(to.sin_port), &c->t, why, sizeof why) < 0) {
		c->t.port = ntohs(to.sin_port);
		if (c->t.host[0] == '\0')
			snprintf(c->t.host, sizeof c->t.host, "%u.%u.%u.%u",
				 ((uint8_t *)&to.sin_addr)[0], ((uint8_t *)&to.sin_addr)[1],
				 ((uint8_t *)&to.sin_addr)[2], ((uint8_t *)&to.sin_addr)[3]);
		refuse(px, c, why);
		return;
	}
	if (!c->t.originate) {
		start(px, c);
		return;
	}
	begin_tls(px, take_parked(px, c));
}

/* --- resolution, the record, the connection -------------------------------------- */

static void resolved(struct egress_proxy *px, struct egp_conn *c, uint32_t ip_be);

/* lwIP's answer for the name c asked. The slot may have been reused
 * since (lwIP cannot cancel a lookup): the answer is taken only by a
 * connection that is resolving that very name, for which it is right. */
static void on_dns(const char *name, const ip_addr_t *ip, void *arg)
{
	struct egp_conn *c = arg;
	struct egress_proxy *px = c->px;

	if (c->st != EGP_RESOLVING || strcmp(name, c->t.host) != 0)
		return;        /* the connection went meanwhile */
	if (ip == NULL || !IP_IS_V4(ip)) {
		char why[EGP_REASON_MAX];
		snprintf(why, sizeof why, "dns_failed: %s did not resolve to an IPv4 address", c->t.host);
		refuse(px, c, why);
		return;
	}
	resolved(px, c, ip4_addr_get_u32(ip_2_ip4(ip)));
}

static void lookup(struct egress_proxy *px, struct egp_conn *c);

static void start(struct egress_proxy *px, struct egp_conn *c)
{
	const struct policy *p = px->h.policy(px->h.ctx);
	uint32_t v4;

	snprintf(c->rule_host, sizeof c->rule_host, "%s", p->rules[c->t.rule].host);
	if (c->reused) {
		resolved(px, c, c->ip);   /* its address, checked again: no lookup */
		return;
	}
	if (c->t.literal) {
		if (c->t.addr.family == 4)
			v4 = c->t.addr.v4;
		else if (!egress_addr_v4_mapped(&c->t.addr, &v4)) {
			refuse(px, c, "address_class: IPv6 destinations are not reachable yet");
			return;
		}
		resolved(px, c, htonl(v4));
		return;
	}
	lookup(px, c);
}

/* Asks lwIP for c's name. Its lookups in flight (DNS_TABLE_SIZE, and as
 * many waiting on them) run out when many connections start at once:
 * ERR_MEM, and the connection asks again from the tick, within its
 * setup time, rather than being refused. */
static void lookup(struct egress_proxy *px, struct egp_conn *c)
{
	ip_addr_t ip;

	c->st = EGP_RESOLVING;
	c->dns_retry_ms = 0;
	err_t err = dns_gethostbyname(c->t.host, &ip, on_dns, c);
	if (err == ERR_OK) {
		resolved(px, c, ip4_addr_get_u32(ip_2_ip4(&ip)));
	} else if (err == ERR_MEM) {
		px->st.dns_busy++;
		c->dns_retry_ms = mono_ms() + EGP_DNS_RETRY_MS;
	} else if (err != ERR_INPROGRESS) {
		char why[EGP_REASON_MAX];
		snprintf(why, sizeof why, "dns_failed: cannot ask for %s (lwIP error %d)", c->t.host,
			 (int)err);
		refuse(px, c, why);
	}
}

static void resolved(struct egress_proxy *px, struct egp_conn *c, uint32_t ip_be)
{
	struct egress_addr a = { .family = 4, .v4 = ntohl(ip_be) };
	char why[EGP_REASON_MAX];
	struct log_entry e;

	c->ip = ip_be;
	if (egp_check_addr(px->h.policy(px->h.ctx), &c->t, &a, why, sizeof why) < 0) {
		refuse(px, c, why);
		return;
	}
	/* before any packet to the upstream: the allow record, durable */
	c->st = EGP_LOGGING;
	char reason[EGP_REASON_MAX];
	const struct anchors *an = px->h.tls != NULL ? &px->h.tls->anchors : NULL;
	char anchors[96] = "";
	if (c->t.originate)
		snprintf(anchors, sizeof anchors, "%zu trust anchors%s", an->n, an->n_extra > 0 ?
			 ", some of them test anchors (the policy's extra_anchors)" : "");
	if (c->retried)
		snprintf(reason, sizeof reason, "originate: a new upstream connection for request 1, the "
			 "reused one having closed before answering; the upstream's certificate is "
			 "checked against %s", anchors);
	else if (c->reused)
		snprintf(reason, sizeof reason, "originate: reuses an upstream connection kept from an "
			 "earlier connection of the function (its certificate checked then against %s)",
			 anchors);
	else if (c->t.originate)
		snprintf(reason, sizeof reason, "originate: the upstream's certificate is checked "
			 "against %s", anchors);
	else
		snprintf(reason, sizeof reason, "passthrough: the destination's identity is not verified");
	entry_of(c, &e, LOG_EGRESS, reason);
	if (px->h.append(px->h.ctx, c->id, &e) < 0) {
		px->st.log_refused++;
		refuse(px, c, "log_refused: the log cannot take the record (logd not running?)");
	}
}

/* The key of c's sessions with its upstream: its function, host and port. */
static void up_session_key(const struct egp_conn *c, uint8_t key[32])
{
	tls_client_session_key(c->fn, c->t.host, c->t.port, key);
}

/* The client engine of c's new upstream connection, offering the
 * session of c's function with its host and port if there is one
 * (docs/TLS.md, "Resumption toward upstreams"): its certificate's key,
 * checked when the session was made, is c's from the offer, as a
 * resumed handshake brings none. */
static int up_tls_start(struct egress_proxy *px, struct egp_conn *c)
{
	struct egress_tls *x = px->h.tls;
	int64_t now = (int64_t)(real_ns() / 1000000000u);
	const struct tls_client_session *s;
	uint8_t key[32];

	up_session_key(c, key);
	s = tls_client_session_find(&x->up, key, now);
	c->up_offered = s != NULL;
	if (s != NULL) {
		memcpy(c->spki, s->spki, sizeof c->spki);
		c->up_offer_made = s->made;
	}
	return tls_client_init_resume(&c->cli, &x->anchors, c->t.host, strlen(c->t.host), now,
				      &x->rng, s != NULL ? &s->p : NULL);
}

/* c's upstream handshake ended (TLS_OPEN): the key for its records,
 * counted, and the session kept when the handshake was a full one. 0, or
 * -1 when the key cannot be read. */
static int up_tls_open(struct egress_proxy *px, struct egp_conn *c)
{
	struct egress_tls *x = px->h.tls;
	br_ssl_session_parameters sp;
	uint8_t key[32];

	c->has_spki = true;
	if (tls_resumed(&c->cli)) {
		px->st.up_tls_resumed++;   /* the key: the session's, from the offer */
		c->up_resumed_made = c->up_offer_made;
		return 0;
	}
	px->st.up_tls_full++;
	if (tls_peer_spki_sha256(&c->cli, c->spki) < 0)
		return -1;
	if (tls_session(&c->cli, &sp) == 0) {
		up_session_key(c, key);
		tls_client_session_save(&x->up, key, &sp, c->spki,
					(int64_t)(real_ns() / 1000000000u));
	}
	memset(&sp, 0, sizeof sp);
	return 0;
}

/* c's upstream handshake failed: a session it offered is not offered
 * again (the server may have refused it: BR_ERR_RESUME_MISMATCH). */
static void up_tls_failed(struct egress_proxy *px, struct egp_conn *c)
{
	uint8_t key[32];

	if (!c->up_offered)
		return;
	up_session_key(c, key);
	tls_client_session_forget(&px->h.tls->up, key);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err);
static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static void on_err(void *arg, err_t err);

void egress_proxy_appended(struct egress_proxy *px, uint32_t id, int error)
{
	struct egp_conn *c = by_id(px, id);
	char why[EGP_REASON_MAX];
	ip_addr_t ip;

	if (c != NULL && c->st == EGP_RELAY && c->rw_wait) {
		/* a request's record: its head goes upstream only once durable */
		c->rw_wait = false;
		if (error != 0) {
			px->st.log_refused++;
			snprintf(why, sizeof why, "log_refused: the log did not take request %u's "
				 "record (%s)", c->nreq, strerror(-error));
			refuse(px, c, why);
			return;
		}
		c->rw_logged = true;
		drive(px, c);
		return;
	}
	if (c == NULL || c->st != EGP_LOGGING)
		return;
	if (error != 0) {
		px->st.log_refused++;
		snprintf(why, sizeof why, "log_refused: the log did not take the record (%s)",
			 strerror(-error));
		refuse(px, c, why);
		return;
	}
	/* originate: the allow record carries the first request's method and
	 * path (read and checked before it), so it is that request's record */
	c->rw_logged = c->t.originate;
	if (c->reused) {
		/* the upstream connection is open already: relaying, at once */
		c->st = EGP_RELAY;
		c->last_ms = mono_ms();
		drive(px, c);
		return;
	}
	c->pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (c->pcb == NULL) {
		refuse(px, c, "connect_failed: lwIP has no connection to spare");
		return;
	}
	tcp_arg(c->pcb, c);
	tcp_err(c->pcb, on_err);
	tcp_recv(c->pcb, on_recv);
	tcp_sent(c->pcb, on_sent);
	ip_addr_set_ip4_u32_val(ip, c->ip);
	c->st = EGP_CONNECTING;
	c->connect_ns = mono_ns();   /* the start, until on_connected makes it a duration */
	err_t err = tcp_connect(c->pcb, &ip, c->t.port, on_connected);
	if (err != ERR_OK) {
		snprintf(why, sizeof why, "connect_failed: lwIP error %d", (int)err);
		refuse(px, c, why);
	}
}

/* --- relaying ---------------------------------------------------------------------- */

/* recv from the function's socket, unless a read found it empty since
 * epoll last said it is readable (fn_ready): a drive runs after every
 * event of its connection (logd's answer, the upstream's bytes, lwIP's
 * ACKs) and a few rounds each, and reading in each found nothing six or
 * seven times a request (docs/EGRESS.md, "Benchmarks"). Epoll is
 * level-triggered and every state that reads asks for EPOLLIN, so bytes
 * that come later wake the loop. A short read drained the socket (a FIN
 * or an error behind it keeps it readable for epoll). */
static ssize_t fn_recv(struct egp_conn *c, void *buf, size_t want)
{
	if (!c->fn_ready) {
		errno = EAGAIN;
		return -1;
	}
	ssize_t n = recv(c->fd, buf, want, MSG_DONTWAIT);
	if ((n < 0 && errno == EAGAIN) || (n > 0 && (size_t)n < want))
		c->fn_ready = false;
	return n;
}

/* May c read the function's socket now: nothing of it waits in c->up,
 * and lwIP has send room and queue entries for more. */
static bool can_read(const struct egp_conn *c)
{
	if (c->held_up)                /* the function's cap */
		return false;
	if (!c->sni_done)              /* gathering the first bytes for the SNI check */
		return !c->fn_eof && c->up_len < sizeof c->up && c->pcb != NULL;
	return !c->fn_eof && c->up_len == 0 && c->pcb != NULL && tcp_sndbuf(c->pcb) > 0 &&
	       tcp_sndqueuelen(c->pcb) < TCP_SND_QUEUELEN - 4;
}

/* Passthrough: the function's first bytes in up, before any goes
 * upstream. A TLS ClientHello must name the connection's host (a
 * literal's rule names the address: any name); bytes that are no TLS
 * are relayed as they are (a passthrough rule may carry another
 * protocol). 1: done, 0: more bytes needed, -EACCES with why. */
static int check_sni(struct egp_conn *c, char *why, size_t cap)
{
	char name[ESNI_NAME_MAX + 1], perr[128], text[EGP_REASON_MAX];
	struct egress_host h;
	enum egress_reason er;
	size_t len;

	if (!esni_is_tls(c->up, c->up_len))
		return c->up_len > 0;
	long r = esni_parse(c->up, c->up_len, sizeof c->up, name, &len, perr, sizeof perr);
	if (r == 0)
		return 0;
	if (r == -E2BIG)
		return errbuf_set(why, cap, -EACCES, "sni_unreadable: a ClientHello over %d bytes",
				  EGP_UP_BUF - 5);
	if (r < 0)
		return errbuf_set(why, cap, -EACCES, "sni_unreadable: %s", perr);
	if (c->t.literal)
		return 1;
	if (len == 0)
		return errbuf_set(why, cap, -EACCES, "sni_missing: the ClientHello names no server "
				  "(it must name %s)", c->t.host);
	if (egress_host_parse(name, len, false, &h, &er, text, sizeof text) < 0 || h.literal ||
	    strcmp(h.name, c->t.host) != 0)
		return errbuf_set(why, cap, -EACCES, "sni_mismatch: SNI %.100s is not %s", name,
				  c->t.host);
	return 1;
}

/* The SNI check's step of pump_up: the function's bytes gathered in up
 * until check_sni decides. 1: done (relay), 0: wait, -1: the socket
 * failed, -EACCES with why. */
static int sni_step(struct egp_conn *c, char *why, size_t cap)
{
	if (c->up_len < sizeof c->up) {
		size_t want = bw_allow(c, false, sizeof c->up - c->up_len);
		if (want == 0)
			return 0;
		ssize_t n = fn_recv(c, c->up + c->up_len, want);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		bw_spend(c, false, n > 0 ? (size_t)n : 0);
		if (n == 0 && c->up_len == 0)
			return c->sni_done = true;   /* closed before a byte: nothing to check */
		if (n == 0)
			return errbuf_set(why, cap, -EACCES, "sni_unreadable: the function closed "
					  "before its ClientHello was whole");
		c->up_len += n > 0 ? (size_t)n : 0;
	}
	c->up_off = 0;
	int r = check_sni(c, why, cap);
	if (r > 0)
		c->sni_done = true;
	return r;
}

/* What c waits for on the function's socket (level-triggered: only what
 * pump_up and pump_down would act on, or the loop would spin). */
static uint32_t wanted(const struct egp_conn *c)
{
	uint32_t ev = 0;

	if (c->st == EGP_HEAD)
		return EPOLLIN;
	if (c->st != EGP_RELAY)
		return 0;
	if (can_read(c))
		ev |= EPOLLIN;
	if (c->down != NULL && !c->held_down)
		ev |= EPOLLOUT;
	return ev;
}

/* The connection is over when both halves are: the function's FIN passed
 * upstream, the upstream's FIN passed to the function. */
static bool finished(const struct egp_conn *c)
{
	return c->fn_eof && c->up_len == 0 && c->fn_shut;
}

/* Upstream bytes to the function's socket; lwIP's window reopens for
 * what it took. -1: the socket failed (the connection must end). */
static int pump_down(struct egp_conn *c)
{
	for (int round = 0; c->down != NULL && round < IO_ROUNDS; round++) {
		struct iovec iov[DOWN_IOV];
		int n = 0;
		size_t len = 0;
		for (struct pbuf *q = c->down; q != NULL && n < DOWN_IOV; q = q->next)
			if (q->len > 0) {
				iov[n++] = (struct iovec){ q->payload, q->len };
				len += q->len;
			}
		size_t a = bw_allow(c, true, len);
		if (n > 0 && a == 0)
			break;                  /* the function's cap: egress_proxy_tick resumes */
		while (len > a)                 /* cut to what the cap allows */
			if (len - iov[n - 1].iov_len >= a) {
				len -= iov[n - 1].iov_len;
				n--;
			} else {
				iov[n - 1].iov_len -= len - a;
				len = a;
			}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = n > 0 ? sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) : 0;
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->down = pbuf_free_header(c->down, (u16_t)w);
		c->bytes_down += (uint64_t)w;
		bw_spend(c, true, (size_t)w);
		c->last_ms = mono_ms();
		if (c->pcb != NULL)
			tcp_recved(c->pcb, (u16_t)w);
		if (n == 0) {                   /* only empty pbufs were left */
			pbuf_free(c->down);
			c->down = NULL;
		}
	}
	if (c->down == NULL && c->up_eof && !c->fn_shut) {
		shutdown(c->fd, SHUT_WR);
		c->fn_shut = true;
	}
	return 0;
}

/* Function bytes into lwIP, as far as its send room goes (the first
 * ones once the SNI check passed). -1: the socket failed, -EACCES with
 * why: refused. */
static int pump_up(struct egp_conn *c, char *why, size_t cap)
{
	if (!c->sni_done && c->pcb != NULL) {
		int r = sni_step(c, why, cap);
		if (r <= 0)
			return r;
	}
	for (int round = 0; c->pcb != NULL && round < IO_ROUNDS; round++) {
		if (c->up_len == 0) {
			if (!can_read(c))
				break;
			size_t room = tcp_sndbuf(c->pcb);
			size_t want = bw_allow(c, false, room < sizeof c->up ? room : sizeof c->up);
			if (want == 0)
				break;          /* the function's cap: egress_proxy_tick resumes */
			ssize_t n = fn_recv(c, c->up, want);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -1;
			bw_spend(c, false, (size_t)n);
			if (n == 0) {
				c->fn_eof = true;
				tcp_shutdown(c->pcb, 0, 1);   /* our FIN; the upstream may still talk */
				break;
			}
			c->up_off = 0;
			c->up_len = (size_t)n;
		}
		size_t room = tcp_sndbuf(c->pcb);
		size_t w = c->up_len < room ? c->up_len : room;
		if (w == 0 || tcp_write(c->pcb, c->up + c->up_off, (u16_t)w, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		c->up_off += w;
		c->up_len -= w;
		c->bytes_up += w;
		c->last_ms = mono_ms();
	}
	if (c->pcb != NULL)
		tcp_output(c->pcb);
	return 0;
}


static err_t cb_result(enum egp_result r)
{
	return r == EGP_ABORTED ? ERR_ABRT : ERR_OK;
}

/* The end of a relayed connection, as drive() reports it. */
static enum egp_result end_relay(struct egress_proxy *px, struct egp_conn *c, const char *how,
				 bool reset)
{
	bool had_pcb = c->pcb != NULL;

	end_conn(px, c, how, reset);
	return !had_pcb ? EGP_CLOSED : reset ? EGP_ABORTED : EGP_CLOSED;
}

static enum egp_result drive_tls(struct egress_proxy *px, struct egp_conn *c);

/* Drives c after any event. */
static enum egp_result drive(struct egress_proxy *px, struct egp_conn *c)
{
	if (c->st == EGP_TLS_ACCEPT || (c->st == EGP_RELAY && c->t.originate))
		return drive_tls(px, c);
	if (c->st != EGP_RELAY)
		return EGP_ALIVE;
	char why[EGP_REASON_MAX];
	int up = pump_down(c) < 0 ? -1 : pump_up(c, why, sizeof why);
	if (up == -EACCES) {
		refuse(px, c, why);             /* the upstream's connection aborted too */
		return EGP_ABORTED;
	}
	if (up < 0)
		return end_relay(px, c, "the function's socket failed", true);
	if (finished(c)) {
		px->st.relayed++;
		return end_relay(px, c, "closed both ways", false);
	}
	set_watch(px, c, wanted(c));
	return EGP_ALIVE;
}

/* The explicit proxy's 200 for a CONNECT: the tunnel is open from here
 * (after it, a refusal can no longer be a status line). false: the
 * socket did not take it whole (a fresh socket always has the room). */
static bool say_established(struct egp_conn *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

	c->said_200 = true;
	return send(c->fd, ok, sizeof ok - 1, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)(sizeof ok - 1);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct egp_conn *c = arg;
	struct egress_proxy *px = c->px;

	(void)pcb;
	(void)err;   /* lwIP calls this only with ERR_OK; failures come to on_err */
	c->connect_ns = mono_ns() - c->connect_ns;
	c->st = EGP_RELAY;
	c->last_ms = mono_ms();
	if (c->t.originate)
		tcp_nagle_disable(c->pcb);   /* TLS records: whole, and wanted at once */
	if (c->t.originate && up_tls_start(px, c) < 0) {
		refuse(px, c, "tls_failed: netd's TLS client cannot start");
		return ERR_ABRT;
	}
	if (c->kind == SBX_L_PROXY && !c->said_200 && !c->plain && !say_established(c))
		return cb_result(end_relay(px, c, "the function's socket failed", true));
	return cb_result(drive(px, c));
}

/* The pool buffers c may hold from its upstream (above). */
static unsigned hold_limit(const struct egp_conn *c)
{
	if (!c->held_down)
		return EGP_HOLD_PBUFS;
	return lwip_stats.memp[MEMP_PBUF_POOL]->used + EGP_POOL_KEEP < PBUF_POOL_SIZE ?
	       EGP_HOLD_CAPPED : EGP_HOLD_PBUFS;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct egp_conn *c = arg;

	(void)pcb;
	(void)err;
	if (c->st == EGP_PARKED) {
		/* the upstream's FIN, its close_notify or any byte: no request
		 * asked for it, so the connection serves no other */
		if (p != NULL)
			pbuf_free(p);
		unpark_free(c->px, c, true);
		return ERR_ABRT;
	}
	/* a function that does not read holds at most EGP_HOLD_PBUFS of the
	 * shared pool (and lwIP one refused segment): lwIP offers it again
	 * from its 250 ms timer or with the upstream's next segment */
	if (p != NULL && c->down != NULL && pbuf_clen(c->down) >= hold_limit(c))
		return ERR_MEM;
	/* a segment shorter than the MSS most likely ends what the upstream
	 * had to send: acknowledged at once (with drive's tcp_output), not
	 * by lwIP's delayed ACK (up to 250 ms), which an upstream with
	 * Nagle on waits for before its next small segment, as a server
	 * that writes an answer's head and body apart does. Measured: 50
	 * connections in turn over a pooled upstream connection took 6.3 s
	 * without it, 0.25 s with it (docs/EGRESS.md, "Upstream pooling"). */
	if (p != NULL && p->tot_len < TCP_MSS)
		tcp_set_flags(pcb, TF_ACK_NOW);
	if (p == NULL)
		c->up_eof = true;
	else if (c->down == NULL)
		c->down = p;
	else
		pbuf_cat(c->down, p);   /* bounded: tcp_recved only for what the socket took */
	return cb_result(drive(c->px, c));
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct egp_conn *c = arg;

	(void)pcb;
	(void)len;
	if (c->st == EGP_PARKED)
		return ERR_OK;
	return cb_result(drive(c->px, c));
}

/* lwIP freed the pcb: a reset, a timeout, or out of memory (our own
 * tcp_abort() calls detach this first). */
static void on_err(void *arg, err_t err)
{
	struct egp_conn *c = arg;
	char why[EGP_REASON_MAX];

	if (c == NULL)
		return;
	c->pcb = NULL;
	if (c->st == EGP_PARKED) {
		unpark_free(c->px, c, true);
		return;
	}
	if (c->st == EGP_RELAY && retry_fresh(c->px, c))
		return;
	if (c->st == EGP_RELAY && err == ERR_CLSD) {
		/* closed both ways at the TCP level (our FIN acknowledged after
		 * theirs) while the function has not taken every byte yet: those
		 * still go to it, and drive() ends the connection after them */
		drive(c->px, c);
		return;
	}
	if (c->st == EGP_CONNECTING) {
		snprintf(why, sizeof why, "connect_failed: %s:%u %s", c->t.host, c->t.port,
			 err == ERR_RST ? "refused the connection" : "did not answer");
		refuse(c->px, c, why);
	} else {
		end_conn(c->px, c, err == ERR_RST ? "the upstream reset" : "the upstream failed", true);
	}
}

/* --- TLS origination ----------------------------------------------------------------- */

/* The reason code of an engine's failure, for the records. */
static const char *tls_code(enum tls_error e)
{
	switch (e) {
	case TLS_E_SNI_MISSING: return "sni_missing";
	case TLS_E_SNI_MISMATCH: return "sni_mismatch";
	case TLS_E_TLS13_ONLY: return "tls13_only";
	case TLS_E_ALPN: return "alpn_mismatch";
	case TLS_E_CERT_UNTRUSTED: return "cert_untrusted";
	case TLS_E_CERT_EXPIRED: return "cert_expired";
	case TLS_E_CERT_NAME: return "cert_name";
	case TLS_E_CERT_INVALID: return "cert_invalid";
	default: return "tls_failed";
	}
}

/* Refuses c for engine t's failure: "code: the function's TLS: ...". */
static void refuse_tls(struct egress_proxy *px, struct egp_conn *c, struct tls_conn *t)
{
	char why[EGP_REASON_MAX], text[EGP_REASON_MAX - 64];

	snprintf(why, sizeof why, "%s: %s TLS: %s", tls_code(tls_error(t)),
		 t == &c->srv ? "the function's" : "the upstream's", tls_reason(t, text, sizeof text));
	refuse(px, c, why);
}

static bool tls_over(struct tls_conn *t)
{
	return tls_lwip_over(t);
}

static bool out_empty(struct tls_conn *t)
{
	size_t n;

	tls_out(t, &n);
	return n == 0;
}

/* Can netd originate TLS (a local CA, trust anchors)? false: c was
 * refused, with the reason. */
static bool tls_ready(struct egress_proxy *px, struct egp_conn *c)
{
	struct egress_tls *x = px->h.tls;
	char why[EGP_REASON_MAX];

	if (x == NULL || !x->ready) {
		refuse(px, c, "tls_unavailable: netd has no local CA (see its log)");
		return false;
	}
	if (x->anchors.n == 0) {
		snprintf(why, sizeof why, "no_anchors: %.280s", x->anchors_why);
		refuse(px, c, why);
		return false;
	}
	return true;
}

/* An originate connection's first step: netd's TLS server on the
 * function's socket, for the name behind the fake address. */
static void begin_tls(struct egress_proxy *px, struct egp_conn *c)
{
	struct egress_tls *x = px->h.tls;
	int64_t now = (int64_t)(real_ns() / 1000000000u);

	snprintf(c->rule_host, sizeof c->rule_host, "%s", px->h.policy(px->h.ctx)->rules[c->t.rule].host);
	if (!tls_ready(px, c))
		return;
	/* a leaf minted now lives a week, never past the CA */
	x->srv.leaf_validity.not_before = now - 3600;
	x->srv.leaf_validity.not_after = now + (int64_t)EGP_LEAF_DAYS * 86400;
	if (tls_server_init(&c->srv, &x->srv, c->t.host, strlen(c->t.host), now) < 0) {
		refuse_tls(px, c, &c->srv);
		return;
	}
	c->st = EGP_TLS_ACCEPT;
	/* (no Nagle on this socket: it inherits TCP_NODELAY from the
	 * listener sandboxd made, sandboxd/sandbox.c listener_make) */
	set_watch(px, c, EPOLLIN);
}

/* Whether more of the upstream's bytes wait to become records for the
 * function in this drive: its ciphertext held from lwIP, or plaintext
 * the client engine decrypted and down_plain has not passed yet. */
static bool more_down(struct egp_conn *c)
{
	size_t n = 0;

	if (c->st != EGP_RELAY || !c->cli.open)
		return false;
	if (c->down != NULL)
		return true;
	tls_in(&c->cli, &n);
	return n > 0;
}

/* Records to the function go with MSG_MORE while more_down says more
 * follow, so the kernel queues them and wakes the function's reader once
 * for up to 64 KiB, not once a record (in a bulk download the wake-ups
 * behind netd's sends were a third of its time: docs/EGRESS.md, "Bulk").
 * A send without MSG_MORE pushes what waited; when the last send of a
 * drive had it (more_down guessed wrong: a cap, a record cut short),
 * setting TCP_NODELAY again pushes it out (the kernel pushes pending
 * frames whenever it is set), so nothing waits past the drive. */
static void uncork(struct egp_conn *c)
{
	int one = 1;

	if (!c->corked || c->fd < 0)
		return;
	c->corked = false;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A resumed handshake ends with the client's Finished, which netd does
 * not answer, and the client's request right behind it: a client with
 * Nagle's algorithm on (Python's plain sockets) holds the request until
 * that Finished is acknowledged, and the kernel, having seen netd answer
 * at once before, delays the ACK by up to 40 ms. TCP_QUICKACK sends the
 * pending ACK now (measured: 23 resumed connections a second with Nagle
 * on, against 1,013 with it off, before this). A full handshake ends
 * with netd's Finished instead, which carries the ACK. */
static void ack_now(struct egp_conn *c)
{
	int one = 1;

	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* The function's socket <-> the server engine (ciphertext). -1: the
 * socket failed; 1: the function's first bytes are no TLS but look like
 * plain HTTP (an uppercase letter where a TLS record has 0x16). */
static int fn_side(struct egp_conn *c, bool *moved)
{
	const uint8_t *p;
	size_t n;

	if (c->plain) {
		/* plaintext: the function's bytes wait in up for up_plain */
		size_t want = c->up_len == 0 && !c->fn_eof ? bw_allow(c, false, sizeof c->up) : 0;
		if (want > 0) {
			ssize_t r = fn_recv(c, c->up, want);
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				return -1;
			bw_spend(c, false, r > 0 ? (size_t)r : 0);
			if (r >= 0) {
				c->fn_eof = r == 0;
				c->up_off = 0;
				c->up_len = (size_t)r;
				*moved = true;
			}
		}
		return 0;
	}
	while ((p = tls_out(&c->srv, &n)) != NULL && n > 0 && (n = bw_allow(c, true, n)) > 0) {
		int more = more_down(c) ? MSG_MORE : 0;
		ssize_t w = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL | more);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		c->corked = more != 0;
		bw_spend(c, true, (size_t)w);
		tls_out_done(&c->srv, (size_t)w);
		*moved = true;
	}
	size_t want = c->up_len == 0 && !c->fn_eof ? bw_allow(c, false, sizeof c->up) : 0;
	if (want > 0) {
		ssize_t r = fn_recv(c, c->up, want);
		bw_spend(c, false, r > 0 ? (size_t)r : 0);
		if (r == 0) {
			c->fn_eof = true;
			tls_eof(&c->srv);
			*moved = true;
		} else if (r < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		} else if (r > 0) {
			c->up_off = 0;
			c->up_len = (size_t)r;
			*moved = true;
			if (c->st == EGP_TLS_ACCEPT && !c->fn_seen) {
				c->fn_seen = true;
				if (c->up[0] >= 'A' && c->up[0] <= 'Z')
					return 1;
			}
		}
	}
	if (c->up_len > 0) {
		long k = tls_over(&c->srv) ? (long)c->up_len : tls_feed(&c->srv, c->up + c->up_off, c->up_len);
		if (k < 0)
			k = (long)c->up_len;        /* failed: the status says so; the bytes go */
		c->up_off += (size_t)k;
		c->up_len -= (size_t)k;
		*moved |= k > 0;
	}
	return 0;
}

/* lwIP <-> the client engine (ciphertext): net/tls_lwip.h. */
static void up_side(struct egp_conn *c, bool *moved)
{
	*moved |= tls_lwip_pump(&c->cli, c->pcb, &c->down, c->up_eof, &c->cli_eof);
}

/* The function's side of an originate connection, in plaintext: netd's
 * TLS server (c->srv), or, for the explicit proxy's http:// requests
 * (c->plain), the socket itself: the function's bytes wait in c->up,
 * netd's go straight to the socket. */
static const uint8_t *fn_in(struct egp_conn *c, size_t *n)
{
	if (!c->plain)
		return tls_in(&c->srv, n);
	*n = c->up_len;
	return c->up + c->up_off;
}

static void fn_in_done(struct egp_conn *c, size_t k)
{
	if (!c->plain) {
		tls_in_done(&c->srv, k);
		return;
	}
	c->up_off += k;
	c->up_len -= k;
}

/* Has the function's side ended (its close_notify, its FIN, a failure)? */
static bool fn_over(struct egp_conn *c)
{
	return c->plain ? c->fn_eof && c->up_len == 0 : tls_over(&c->srv);
}

/* Has all netd wrote to the function gone to its socket? */
static bool fn_out_empty(struct egp_conn *c)
{
	return c->plain || out_empty(&c->srv);
}

/* Plaintext to the function (netd's TLS server, or its socket for
 * plain): the bytes taken (0: no room now), -1: the socket failed. */
static long fn_write(struct egp_conn *c, const void *p, size_t n)
{
	if (!c->plain) {
		long w = tls_status(&c->srv) == TLS_OPEN ? tls_write(&c->srv, p, n) : 0;
		return w < 0 ? 0 : w;      /* a failed engine: its status says so */
	}
	if ((n = bw_allow(c, true, n)) == 0)
		return 0;                  /* the function's cap: egress_proxy_tick resumes */
	ssize_t k = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	bw_spend(c, true, (size_t)k);
	return (long)k;
}

/* Body bytes p[0..n) as far as framing b says (to_end: all of them) and
 * the other side takes them (up: netd's TLS to the upstream, else the
 * function): *k is what the framing allows, b follows exactly what was
 * taken. The bytes taken (0: none now), -EPROTO with perr (bad framing),
 * or -1 (the function's socket failed). */
static long body_pass(struct egp_conn *c, struct eh_body *b, bool to_end, bool up, const uint8_t *p,
		      size_t n, long *k, char *perr, size_t cap)
{
	struct eh_body save = *b;

	*k = to_end ? (long)n : eh_body_feed(b, p, n, perr, cap);
	if (*k < 0)
		return -EPROTO;
	long w = *k == 0 ? 0 : up ? tls_write(&c->cli, p, (size_t)*k) : fn_write(c, p, (size_t)*k);
	if (up && w < 0)
		w = 0;                  /* a failed engine: its status says so */
	if (w < *k && !to_end) {
		/* fewer were taken: the framing as far as they go */
		*b = save;
		if (w > 0)
			(void)eh_body_feed(b, p, (size_t)w, perr, cap);
	}
	return w;
}

/* An answer's record (best effort, like the completion's): "response N:
 * how", its status, its bytes to the function, its request's bytes
 * upstream (head and body, as far as they went by then: an answer may
 * come before the body, a 413 to Expect: 100-continue), the time since
 * its request went. */
static void response_record(struct egress_proxy *px, struct egp_conn *c, const char *how)
{
	struct log_entry e;
	char reason[128];
	struct bbuf b;

	/* bbuf, not snprintf: this runs for every answer (docs/EGRESS.md,
	 * "Keep-alive"), and musl's printf machinery was a few per cent of
	 * netd's time there */
	bbuf_init(&b, reason, sizeof reason);
	bbuf_str(&b, "response ");
	bbuf_u64(&b, c->nrsp);
	bbuf_str(&b, ": ");
	bbuf_put(&b, how, strnlen(how, sizeof reason - 32));   /* a long one cut, as before */
	(void)bbuf_finish(&b);  /* "response " and 10 digits and ": " fit in the 32 left */
	entry_of(c, &e, LOG_EGRESS, reason);
	e.u.egress.status = c->rsp_status;
	e.u.egress.bytes_down = c->rsp_bytes;
	e.u.egress.bytes_up = c->bytes_up >= c->req_up0 ? c->bytes_up - c->req_up0 : 0;
	if (c->ws)
		e.u.egress.bytes_up = c->ws_up;  /* the function's bytes since the 101 */
	e.u.egress.total_ns = mono_ns() - c->req_t0_ns;
	px->h.record(px->h.ctx, &e);
	c->rsp_open = false;
}

/* The current answer is whole: its record, and the next request may go. */
static void response_done(struct egress_proxy *px, struct egp_conn *c)
{
	response_record(px, c, "completed");
	c->rsp_wait = false;
	if (c->fn_close && !c->srv_closing) {
		/* the function asked its connection to end with this answer
		 * (its Connection: close, not passed upstream): netd's side of
		 * it ends after the answer, as the server's would have; the
		 * upstream's stays, for pooling once the function closes too */
		c->srv_closing = true;
		if (!c->plain)
			tls_close(&c->srv);
	}
}

/* The upstream's plaintext, an answer's head: gathered into rsp up to
 * its empty line, parsed (status, framing). 1: parsed, 0: more bytes
 * needed, -EPROTO with why. */
static int response_head(struct egp_conn *c, char *why, size_t cap)
{
	char perr[128];
	struct eh_head h;
	size_t n, i = 0;
	const uint8_t *p = tls_in(&c->cli, &n);

	if (!c->rsp_wait)
		return errbuf_set(why, cap, -EPROTO, "bad_response: the upstream sent bytes no "
				  "request asked for");
	while (i < n && c->rsp_hlen < sizeof c->rsp) {
		c->rsp[c->rsp_hlen++] = (char)p[i++];
		if (c->rsp_hlen >= 4 && memcmp(c->rsp + c->rsp_hlen - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	tls_in_done(&c->cli, i);
	unsigned fl = (strcmp(c->method, "HEAD") == 0 ? EH_RESP_HEAD : 0) |
		      (c->ws_asked ? EH_RESP_UPGRADE : 0);
	long r = eh_resp_parse(c->rsp, c->rsp_hlen, fl, &h, perr, sizeof perr);
	if (r == 0 && c->rsp_hlen < sizeof c->rsp)
		return 0;
	if (r <= 0)
		return errbuf_set(why, cap, -EPROTO, "bad_response: answer %u: %s", c->nrsp + 1,
				  r == 0 ? "its head is over 16 KiB" : perr);
	c->rsp_len = c->rsp_hlen;
	c->rsp_off = c->rsp_hlen = 0;
	if (h.status < 200 && h.upgrade != EH_UP_WEBSOCKET)
		return 1;                       /* interim (100 Continue): a final one follows */
	/* a 101 to the handshake: what follows is the WebSocket's, to the
	 * end both ways (its record then, with the bytes each way) */
	c->ws = h.upgrade == EH_UP_WEBSOCKET;
	c->nrsp++;
	c->rsp_status = (uint16_t)h.status;
	c->rsp_bytes = 0;
	c->rsp_open = true;
	c->rsp_close = h.framing == EH_BODY_CLOSE || c->ws;
	c->rsp_persist = h.persist;
	eh_body_begin(&c->rbody, &h);
	return 1;
}

/* The upstream's plaintext to the function, answer by answer: each head
 * parsed and passed on as it came, then its body by its framing (to the
 * end for a close-delimited one). 0, -1: the socket failed, -EPROTO with
 * why: the upstream's answer is malformed. */
static int down_plain(struct egress_proxy *px, struct egp_conn *c, bool *moved, char *why,
		      size_t cap)
{
	char perr[128];

	for (;;) {
		if (c->rsp_off < c->rsp_len) {
			long w = fn_write(c, c->rsp + c->rsp_off, c->rsp_len - c->rsp_off);
			if (w <= 0)
				return (int)w;
			c->rsp_off += (size_t)w;
			c->bytes_down += (uint64_t)w;
			c->rsp_bytes += (uint64_t)w;
			*moved = true;
			if (c->rsp_off < c->rsp_len)
				return 0;
			c->rsp_off = c->rsp_len = 0;
			if (c->rsp_open && !c->rsp_close && c->rbody.st == EH_B_DONE)
				response_done(px, c);
			continue;
		}
		size_t n;
		const uint8_t *p = tls_in(&c->cli, &n);
		if (n == 0)
			return 0;
		if (!c->rsp_open) {
			int r = response_head(c, why, cap);
			if (r <= 0)
				return r;
			*moved = true;
			continue;
		}
		/* the body: as far as its framing goes and the function takes */
		long k;
		long w = body_pass(c, &c->rbody, c->rsp_close, false, p, n, &k, perr, sizeof perr);
		if (w == -EPROTO)
			return errbuf_set(why, cap, -EPROTO, "bad_response: answer %u's body: %s",
					  c->nrsp, perr);
		if (w < 0)
			return -1;
		if (w > 0) {
			tls_in_done(&c->cli, (size_t)w);
			c->bytes_down += (uint64_t)w;
			c->rsp_bytes += (uint64_t)w;
			*moved = true;
		}
		if (!c->rsp_close && c->rbody.st == EH_B_DONE && w == k) {
			response_done(px, c);
			continue;
		}
		return 0;
	}
}

/* What an originate connection waits for on the function's socket. */
static uint32_t wanted_tls(struct egp_conn *c)
{
	uint32_t ev = 0;
	size_t n = 0;

	if (c->up_len == 0 && !c->fn_eof && !c->held_up)
		ev |= EPOLLIN;
	if (c->plain)
		tls_in(&c->cli, &n);          /* what the socket did not take */
	if ((!fn_out_empty(c) || n > 0 || c->rsp_off < c->rsp_len) && !c->held_down)
		ev |= EPOLLOUT;
	return ev;
}

/* The function's plaintext into req, up to the end of a request's head
 * (what follows stays in the engine: its body, or the next request). */
static void take_head(struct egp_conn *c, bool *moved)
{
	size_t n, i = 0;
	const uint8_t *p;

	/* a whole head waits for next_head: what follows it is its body
	 * (accept_step's rounds come back here before next_head runs) */
	if (c->req_len >= 4 && memcmp(c->req + c->req_len - 4, "\r\n\r\n", 4) == 0)
		return;
	p = fn_in(c, &n);
	while (i < n && c->req_len < sizeof c->req) {
		c->req[c->req_len++] = (char)p[i++];
		if (c->req_len >= 4 && memcmp(c->req + c->req_len - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (i > 0) {
		fn_in_done(c, i);
		*moved = true;
	}
}

/* The current request's path for its records: cut to EGP_PATH_LOG, or
 * under a rule whose log_path is "hash", only SHA-256 of all of it. */
static void record_path(struct egress_proxy *px, struct egp_conn *c, const char *p, size_t n)
{
	const struct policy *pol = px->h.policy(px->h.ctx);
	br_sha256_context h;

	c->has_path_hash = c->t.rule >= 0 && (unsigned)c->t.rule < pol->nrules &&
			   pol->rules[c->t.rule].log_path_hash;
	if (!c->has_path_hash) {
		size_t k = n < EGP_PATH_LOG ? n : EGP_PATH_LOG;
		memcpy(c->path, p, k);
		c->path[k] = '\0';
		return;
	}
	c->path[0] = '\0';
	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, c->path_hash);
}

/* A request's head in req, once whole: checked and rewritten into rw,
 * its body's framing followed from here. 1 done, 0 more bytes needed,
 * -EACCES with the refusal in why. */
static int next_head(struct egress_proxy *px, struct egp_conn *c, char *why, size_t cap)
{
	char perr[128], path[EGP_REQ_MAX];
	struct eh_head h;

	long n = eh_head_parse(c->req, c->req_len, &h, perr, sizeof perr);
	if (n == 0 && c->req_len < sizeof c->req)
		return 0;
	c->nreq++;
	c->method[0] = c->path[0] = '\0';
	c->has_path_hash = false;
	if (n <= 0)
		return errbuf_set(why, cap, -EACCES, "bad_request: request %u: %s", c->nreq,
				  n == 0 ? "its head is over 16 KiB" : perr);
	_Static_assert(sizeof c->method > EH_METHOD_MAX, "a parsed method fits whole");
	memcpy(c->method, h.method, strlen(h.method) + 1);
	record_path(px, c, c->req + h.target, h.target_len);
	long w = egp_request_rewrite(px->h.policy(px->h.ctx), c->declared, &c->t, c->fn, c->req, &h,
				     &px->h, path, sizeof path, c->rw, sizeof c->rw, why, cap);
	if (w < 0)
		return -EACCES;
	record_path(px, c, path, strlen(path));
	c->ws_asked = h.upgrade == EH_UP_WEBSOCKET;
	c->req_persist = h.persist || h.close_hop;   /* upstream, it persists */
	c->req_body = h.framing == EH_BODY_CHUNKED || (h.framing == EH_BODY_LENGTH && h.length > 0);
	c->fn_close = h.close_hop;
	c->rw_off = 0;
	c->rw_len = (size_t)w;
	c->rw_logged = false;
	c->req_len = 0;
	eh_body_begin(&c->body, &h);
	return 1;
}

/* The function's handshake, then its first request's head: done, the
 * connection goes on to the policy's steps (the name is known already:
 * SNI and Host were checked against it). */
static enum egp_result accept_step(struct egress_proxy *px, struct egp_conn *c)
{
	char why[EGP_REASON_MAX];
	bool moved = true;

	for (int round = 0; moved && round < IO_ROUNDS; round++) {
		moved = false;
		if (tls_status(&c->srv) == TLS_OPEN && c->rw_len == 0)
			take_head(c, &moved);
		int k = fn_side(c, &moved);
		if (k < 0) {
			refuse(px, c, "tls_failed: the function's socket failed during the handshake");
			return EGP_CLOSED;
		}
		if (k > 0) {
			/* rules have no plain-HTTP mode: said in HTTP, which it speaks */
			c->plain = true;
			refuse(px, c, "plain_http: plain HTTP by name is not served (an originate rule's "
			       "port takes TLS: use https://, or http:// URLs through the proxy "
			       "127.0.0.1:3128)");
			return EGP_CLOSED;
		}
	}
	enum tls_status st = tls_status(&c->srv);
	if (st == TLS_FAILED || st == TLS_CLOSED) {
		refuse_tls(px, c, &c->srv);
		return EGP_CLOSED;
	}
	if (st == TLS_OPEN && !c->srv_counted) {
		c->srv_counted = true;
		if (tls_resumed(&c->srv)) {
			px->st.tls_resumed++;
			ack_now(c);
		}
	}
	if (st == TLS_OPEN) {
		int r = c->rw_len > 0 ? 1 : next_head(px, c, why, sizeof why);
		if (r < 0) {
			refuse(px, c, why);
			return EGP_CLOSED;
		}
		if (r > 0 && out_empty(&c->srv)) {
			/* the rest of the function's bytes wait in its socket */
			set_watch(px, c, 0);
			start(px, c);
			return EGP_ALIVE;
		}
	}
	set_watch(px, c, wanted_tls(c));
	return EGP_ALIVE;
}

/* Has t failed otherwise than by its transport's end without a
 * close_notify? */
static bool broken(struct tls_conn *t)
{
	return tls_status(t) == TLS_FAILED && tls_error(t) != TLS_E_TRUNCATED;
}

/* The end of a relayed originate connection whose engine t failed (bad
 * record, an alert): both sides reset. */
static enum egp_result end_broken(struct egress_proxy *px, struct egp_conn *c, struct tls_conn *t)
{
	char how[96], text[80];

	snprintf(how, sizeof how, "%s TLS failed: %s", t == &c->srv ? "the function's" : "the upstream's",
		 tls_reason(t, text, sizeof text));
	return end_relay(px, c, how, true);
}

/* The request record: one per request, appended before its head goes
 * upstream, and awaited (egress_proxy_appended): fail closed, as the
 * connection's allow record. -1: it could not be sent (refused). */
static int request_record(struct egress_proxy *px, struct egp_conn *c)
{
	struct log_entry e;
	char reason[32];
	struct bbuf b;

	bbuf_init(&b, reason, sizeof reason);   /* every request: no printf (response_record) */
	bbuf_str(&b, "request ");
	bbuf_u64(&b, c->nreq);
	(void)bbuf_finish(&b);                  /* 8 + at most 10 digits: fits */
	entry_of(c, &e, LOG_EGRESS, reason);
	if (px->h.append(px->h.ctx, c->id, &e) < 0)
		return -1;
	c->rw_wait = true;
	return 0;
}

/* The function's plaintext upstream, request by request: each head
 * checked and rewritten (next_head), then its body byte for byte as its
 * framing says, then the next head. -EACCES with why: refused. */
static int up_plain(struct egress_proxy *px, struct egp_conn *c, bool *moved, char *why, size_t cap)
{
	char perr[128];

	while (tls_status(&c->cli) == TLS_OPEN) {
		if (c->ws) {
			/* switched: the function's bytes as they come */
			size_t n;
			long k;
			const uint8_t *p = fn_in(c, &n);
			long w = n == 0 ? 0 : body_pass(c, &c->body, true, true, p, n, &k, perr, sizeof perr);
			if (w <= 0)
				return 0;
			fn_in_done(c, (size_t)w);
			c->bytes_up += (uint64_t)w;
			c->ws_up += (uint64_t)w;
			*moved = true;
			continue;
		}
		if (c->rw_len > 0) {
			if (c->rw_wait)
				return 0;               /* its record is not durable yet */
			if (!c->rw_logged) {
				if (request_record(px, c) < 0) {
					px->st.log_refused++;
					return errbuf_set(why, cap, -EACCES, "log_refused: request %u's "
							  "record cannot be sent (logd not running?)",
							  c->nreq);
				}
				return 0;
			}
			long w = tls_write(&c->cli, c->rw + c->rw_off, c->rw_len - c->rw_off);
			if (w <= 0)
				return 0;
			if (c->rw_off == 0) {
				c->rsp_wait = true;     /* its answer is what comes next */
				c->req_t0_ns = mono_ns();
				c->req_up0 = c->bytes_up;
			}
			c->rw_off += (size_t)w;
			c->bytes_up += (uint64_t)w;
			*moved = true;
			if (c->rw_off < c->rw_len)
				return 0;
			c->rw_sent = c->rw_len;
			c->rw_off = c->rw_len = 0;
			continue;
		}
		if (c->body.st != EH_B_DONE) {
			size_t n;
			const uint8_t *p = fn_in(c, &n);
			if (n == 0)
				return 0;
			long k;
			long w = body_pass(c, &c->body, false, true, p, n, &k, perr, sizeof perr);
			if (w == -EPROTO)
				return errbuf_set(why, cap, -EACCES, "bad_request: request %u's body: %s",
						  c->nreq, perr);
			if (w <= 0)
				return 0;
			fn_in_done(c, (size_t)w);
			c->bytes_up += (uint64_t)w;
			*moved = true;
			if (w < k)
				return 0;
			continue;
		}
		if (c->rsp_wait)
			return 0;   /* one request at a time: the next once this answer is whole */
		bool took = false;
		take_head(c, &took);
		int r = next_head(px, c, why, cap);
		if (r < 0)
			return r;
		*moved |= took;
		if (r == 0)
			return 0;
	}
	return 0;
}

/* RFC 9110 9.2.2's idempotent methods: a request with one may be sent
 * again, since the server applying it twice has the effect of once. */
static bool idempotent(const char *method)
{
	static const char *const m[] = { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" };

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (strcmp(method, m[i]) == 0)
			return true;
	return false;
}

/* A reused upstream connection that ended before a byte of its first
 * answer: the server closed it as netd took it from the pool (the race
 * the short EGP_PARK_MS makes rare). A first request without a body and
 * with an idempotent method, whose head is still in rw, goes again on a
 * new connection of its own, after a new allow record (resolved: the
 * address checked again). A request with a body does not (its bytes are
 * gone), nor one with another method, even without a body (RFC 9112
 * 9.3.1: a proxy must not retry non-idempotent requests, as the server
 * may have applied it before it closed): those end as the upstream ended
 * them. true: c is on its way to the new connection. */
static bool retry_fresh(struct egress_proxy *px, struct egp_conn *c)
{
	size_t head = c->rw_len > 0 ? c->rw_len : c->rw_sent;

	if (!c->reused || c->retried || c->nreq != 1 || c->nrsp != 0 || c->rsp_hlen > 0 ||
	    c->req_body || head == 0 || !idempotent(c->method))
		return false;
	drop_pcb(c, true);
	if (c->down != NULL)
		pbuf_free(c->down);
	c->down = NULL;
	c->reused = false;
	c->retried = true;
	c->has_spki = false;
	c->up_eof = c->cli_eof = c->cli_closing = false;
	c->rsp_wait = false;
	c->bytes_up = 0;
	c->rw_off = 0;
	c->rw_len = head;
	set_watch(px, c, 0);
	resolved(px, c, c->ip);
	return true;
}

/* May c's upstream connection serve another connection of the function,
 * now that the function let go of it: TLS origination, every answer
 * whole and taken, no request begun, both sides said the connection
 * persists (eh_head.persist), the upstream has not closed, nothing
 * waits either way, and its key has fewer than EGP_PARK_PER_KEY parked. */
static bool poolable(struct egress_proxy *px, struct egp_conn *c)
{
	size_t in;
	unsigned n;

	if (!c->t.originate || c->ws || c->pcb == NULL || c->nrsp == 0 || !c->req_persist ||
	    !c->rsp_persist)
		return false;
	if (c->rsp_wait || c->rsp_open || c->rsp_hlen > 0 || c->rsp_off < c->rsp_len ||
	    c->rw_len > 0 || c->req_len > 0 || c->body.st != EH_B_DONE)
		return false;
	if (c->up_eof || c->cli_eof || c->cli_closing || c->down != NULL ||
	    tls_status(&c->cli) != TLS_OPEN || !out_empty(&c->cli))
		return false;
	tls_in(&c->cli, &in);
	if (in > 0)
		return false;
	(void)parked_for(px, c, &n);
	return n < EGP_PARK_PER_KEY;
}

/* The function let go of c, whose upstream connection is poolable: the
 * function's side ends (netd's close_notify to it, its completion
 * record, its socket closed) and the slot keeps the upstream's. */
static void park(struct egress_proxy *px, struct egp_conn *c)
{
	const uint8_t *o;
	size_t n;

	if (!c->plain) {
		if (tls_status(&c->srv) == TLS_OPEN)
			tls_close(&c->srv);
		/* once, as far as the socket takes it: the function is gone */
		if ((o = tls_out(&c->srv, &n)) != NULL && n > 0)
			(void)send(c->fd, o, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	completion_record(px, c, "closed by the function; its upstream connection kept for the "
			  "function's next one");
	end_fn_side(px, c, false);
	c->st = EGP_PARKED;
	c->parked_ms = mono_ms();
	px->fd_of[c - px->c] = EGP_FD_PARKED;
	px->st.parked++;
	px->st.relayed++;
}

/* Relaying between the two engines. The closes: the upstream's end (its
 * close_notify, or its FIN once every byte was taken) ends netd's TLS
 * to the function the same way, and the function's end closes netd's
 * TLS upstream; a broken engine resets both.
 * The connection is over once the function's socket ended and netd's
 * side of it was closed, or its close went upstream. */
static enum egp_result drive_tls_rounds(struct egress_proxy *px, struct egp_conn *c)
{
	if (c->st == EGP_TLS_ACCEPT)
		return accept_step(px, c);

	bool moved = true, any = false;
	for (int round = 0; moved && round < IO_ROUNDS; round++) {
		moved = false;
		if (fn_side(c, &moved) < 0) {
			/* a function that closes its socket with bytes unread (a
			 * close_notify) resets it: normal once the upstream is done */
			bool done = c->cli.open && tls_over(&c->cli);
			return end_relay(px, c, done ? "closed both ways (the function reset its end)" :
					 "the function's socket failed", !done);
		}
		up_side(c, &moved);
		/* (tls_status() sets cli.open: the key is read once, by its own flag) */
		if (!c->has_spki && tls_status(&c->cli) == TLS_OPEN) {
			if (up_tls_open(px, c) < 0)
				return end_relay(px, c, "the upstream's key cannot be read", true);
			moved = true;
		}
		if (!c->cli.open && tls_over(&c->cli)) {
			/* the upstream's handshake failed: nothing was relayed */
			bool had_pcb = c->pcb != NULL;
			up_tls_failed(px, c);
			refuse_tls(px, c, &c->cli);
			return had_pcb ? EGP_ABORTED : EGP_CLOSED;
		}
		char why[EGP_REASON_MAX];
		if (up_plain(px, c, &moved, why, sizeof why) < 0) {
			bool had_pcb = c->pcb != NULL;
			refuse(px, c, why);
			return had_pcb ? EGP_ABORTED : EGP_CLOSED;
		}
		int d = down_plain(px, c, &moved, why, sizeof why);
		if (d == -EPROTO && c->rsp_open && c->rsp_bytes > 0)
			return end_relay(px, c, why, true);   /* a part went: no answer fits */
		if (d == -EPROTO) {
			bool had_pcb = c->pcb != NULL;
			refuse(px, c, why);
			return had_pcb ? EGP_ABORTED : EGP_CLOSED;
		}
		if (d < 0)
			return end_relay(px, c, "the function's socket failed", true);
		size_t pending;
		tls_in(&c->cli, &pending);
		pending += c->rsp_len - c->rsp_off;   /* a head not passed on yet */
		if (c->cli.open && tls_over(&c->cli) && pending == 0 && !c->srv_closing) {
			bool had_pcb = c->pcb != NULL;
			if (retry_fresh(px, c))
				return had_pcb ? EGP_ABORTED : EGP_ALIVE;
			/* the upstream's end, passed on as it came: a close_notify
			 * as one, a cut (FIN without it) as a cut, so the function
			 * can tell a truncated answer; a broken one as a reset */
			if (broken(&c->cli))
				return end_broken(px, c, &c->cli);
			c->srv_closing = true;
			bool notified = tls_status(&c->cli) == TLS_CLOSED;
			if (notified && !c->plain)
				tls_close(&c->srv);
			if (c->rsp_open && c->rsp_close)   /* its body ran to this end */
				response_record(px, c, notified ? "completed (the upstream's close_notify)" :
						"ended by the upstream's close without close_notify "
						"(it may be cut)");
			moved = true;
		}
		if (!c->plain && broken(&c->srv))
			return end_broken(px, c, &c->srv);
		/* the function's end; after a close netd began for it (its
		 * Connection: close), once its FIN came: netd's bytes to it
		 * are all out then */
		bool fn_done = fn_over(c) && (!c->fn_close || c->fn_eof);
		if (fn_done && !c->cli_closing && poolable(px, c)) {
			park(px, c);
			return EGP_ALIVE;
		}
		if (fn_done && !c->cli_closing) {
			c->cli_closing = true;
			tls_close(&c->cli);
			moved = true;
		}
		if (c->srv_closing && fn_out_empty(c) && !c->fn_shut) {
			shutdown(c->fd, SHUT_WR);
			c->fn_shut = true;
		}
		any |= moved;
	}
	if (c->pcb != NULL)
		tcp_output(c->pcb);
	if (c->fn_eof && (c->fn_shut || (c->cli_closing && out_empty(&c->cli)))) {
		px->st.relayed++;
		return end_relay(px, c, "closed both ways", false);
	}
	if (any)
		c->last_ms = mono_ms();
	/* the rounds ran out with work left (an answer done, the next
	 * request waiting in the engine, no event to come for it): the
	 * socket's writability brings the loop back at once */
	set_watch(px, c, wanted_tls(c) | (moved && !c->held_down ? EPOLLOUT : 0));
	return EGP_ALIVE;
}

/* drive_tls_rounds, then whatever its sends left corked goes out (a
 * connection it ended was closed, which sends it). */
static enum egp_result drive_tls(struct egress_proxy *px, struct egp_conn *c)
{
	enum egp_result r = drive_tls_rounds(px, c);

	if (r == EGP_ALIVE)
		uncork(c);
	return r;
}

/* The explicit proxy's http:// request r, its head h bytes of req (tl:
 * the target's bytes that fit a host, for a refusal's record): an
 * originate connection whose function side is plaintext; its first
 * request is checked and rewritten now, the policy's steps follow. */
static void take_absolute(struct egress_proxy *px, struct egp_conn *c, const struct egp_request *r,
			  size_t h, size_t tl)
{
	char why[EGP_REASON_MAX];

	if (egp_decide_absolute(px->h.policy(px->h.ctx), c->declared, r->target, r->target_len,
				&c->t, why, sizeof why) < 0) {
		if (c->t.host[0] == '\0')
			memcpy(c->t.host, r->target, tl);
		refuse(px, c, why);
		return;
	}
	c->plain = true;
	snprintf(c->rule_host, sizeof c->rule_host, "%s", px->h.policy(px->h.ctx)->rules[c->t.rule].host);
	if (!tls_ready(px, c))
		return;
	/* what came after the head (a body, the next request) is the
	 * function's next plaintext */
	c->up_len = c->req_len - h;
	memcpy(c->up, c->req + h, c->up_len);
	c->up_off = 0;
	c->req_len = h;
	set_watch(px, c, 0);
	if (next_head(px, c, why, sizeof why) <= 0) {
		refuse(px, c, why);
		return;
	}
	start(px, take_parked(px, c));
}

/* The explicit proxy: bytes of the request head. */
static void read_head(struct egress_proxy *px, struct egp_conn *c)
{
	char why[EGP_REASON_MAX], perr[128];
	struct egp_request r;

	ssize_t n = recv(c->fd, c->req + c->req_len, sizeof c->req - c->req_len, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		free_conn(px, c, true);          /* left before asking: nothing to record */
		return;
	}
	if (n < 0)
		return;
	c->req_len += (size_t)n;
	long h = egp_request_parse(c->req, c->req_len, &r, perr, sizeof perr);
	if (h == 0 && c->req_len < sizeof c->req)
		return;
	if (h <= 0) {
		if (h == 0)
			snprintf(perr, sizeof perr, "the request head is over %d bytes", EGP_REQ_MAX);
		snprintf(why, sizeof why, "bad_request: %s", perr);
		refuse(px, c, why);
		return;
	}
	size_t tl = r.target_len < sizeof c->t.host - 1 ? r.target_len : sizeof c->t.host - 1;
	if (r.kind == EGP_REQ_ORIGIN) {
		refuse(px, c, "bad_request: not a proxy request: CONNECT host:port, or an "
			      "absolute-form URL");
		return;
	}
	if (r.kind == EGP_REQ_ABSOLUTE) {
		take_absolute(px, c, &r, (size_t)h, tl);
		return;
	}
	if (egp_decide_authority(px->h.policy(px->h.ctx), c->declared, r.target, r.target_len, &c->t,
				 why, sizeof why) < 0) {
		if (c->t.host[0] == '\0')
			memcpy(c->t.host, r.target, tl);
		refuse(px, c, why);
		return;
	}
	/* bytes sent after the head (a TLS ClientHello sent early) go
	 * upstream first (originate: into netd's TLS server) */
	c->up_len = c->req_len - (size_t)h;
	memcpy(c->up, c->req + h, c->up_len);
	c->up_off = 0;
	c->req_len = 0;
	set_watch(px, c, 0);
	if (!c->t.originate) {
		start(px, c);
		return;
	}
	/* originate: the tunnel ends in netd's own TLS server, so it is open
	 * now; the upstream comes after the first request, as by name (a
	 * parked one if its key has one) */
	c = take_parked(px, c);
	if (!say_established(c)) {
		refuse(px, c, "tls_failed: the function's socket did not take the 200");
		return;
	}
	begin_tls(px, c);
	if (c->st == EGP_TLS_ACCEPT && c->up_len > 0)
		drive(px, c);           /* its ClientHello came with the CONNECT */
}

bool egress_proxy_io(struct egress_proxy *px, int fd, uint32_t events)
{
	for (unsigned i = 0; i < EGP_CONN_MAX; i++) {
		struct egp_conn *c = &px->c[i];
		if (px->fd_of[i] != fd || c->st == EGP_FREE)
			continue;
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			c->fn_ready = true;
		if (c->st == EGP_HEAD)
			read_head(px, c);
		else
			drive(px, c);    /* outside lwIP's callbacks: the result needs no answer */
		return true;
	}
	return false;
}

void egress_proxy_tick(struct egress_proxy *px, uint64_t now)
{
	for (unsigned i = 0; i < EGP_CONN_MAX; i++) {
		struct egp_conn *c = &px->c[i];
		if (px->fd_of[i] == EGP_FD_PARKED && now - c->parked_ms >= EGP_PARK_MS)
			unpark_free(px, c, false);
		if (px->fd_of[i] < 0 || c->st == EGP_FREE)
			continue;
		if (c->st != EGP_RELAY && now - c->t0_ms >= EGP_SETUP_MS)
			refuse(px, c, "timeout: no connection within the setup time");
		else if (c->st == EGP_RESOLVING && c->dns_retry_ms != 0 && now >= c->dns_retry_ms)
			lookup(px, c);
		else if (c->st == EGP_RELAY && now - c->last_ms >= EGP_IDLE_MS)
			end_conn(px, c, "idle timeout", true);
		else if (c->st == EGP_RELAY && now - c->t0_ms >= EGP_TOTAL_MS)
			end_conn(px, c, "total timeout", true);
		else if ((c->held_up || c->held_down) && bw_wait_ns(c, mono_ns()) == 0) {
			/* its function's cap has bytes again: the ways it holds
			 * are tried anew (and held again if another of the
			 * function's connections took them first) */
			c->held_up = c->held_down = false;
			drive(px, c);
		}
	}
}

uint64_t egress_proxy_next_deadline(const struct egress_proxy *px)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < EGP_CONN_MAX; i++) {
		const struct egp_conn *c = &px->c[i];
		if (px->fd_of[i] == EGP_FD_PARKED && c->parked_ms + EGP_PARK_MS < next)
			next = c->parked_ms + EGP_PARK_MS;
		if (px->fd_of[i] < 0)
			continue;
		uint64_t idle = c->last_ms + EGP_IDLE_MS, total = c->t0_ms + EGP_TOTAL_MS;
		uint64_t d = c->st == EGP_FREE ? UINT64_MAX :
			     c->st == EGP_RELAY ? (idle < total ? idle : total) :
			     c->t0_ms + EGP_SETUP_MS;
		if (c->st != EGP_FREE && (c->held_up || c->held_down)) {
			uint64_t now = mono_ns(), w = bw_wait_ns(c, now);
			uint64_t at = now / 1000000u + (w + 999999u) / 1000000u;
			d = at < d ? at : d;
		}
		if (c->st == EGP_RESOLVING && c->dns_retry_ms != 0 && c->dns_retry_ms < d)
			d = c->dns_retry_ms;
		if (d < next)
			next = d;
	}
	return next;
}
