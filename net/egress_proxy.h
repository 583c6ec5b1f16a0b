/* net/egress_proxy.h: netd's egress proxy: "passthrough" rules
 * (docs/EGRESS.md, "The passthrough proxy") and TLS origination ("TLS
 * origination").
 *
 * A function's TCP connection arrives on one of its listeners
 * (net/fn_egress.h): on a port listener, its destination is a fake
 * address that names the host (net/fakeaddr.h); on the explicit proxy
 * (127.0.0.1:3128) a `CONNECT host:port` request names it, or an
 * `http://` URL (plain HTTP for an originate rule: netd makes the TLS).
 * Either way:
 *
 *   1. the policy check (crypto/egress.h egress_match, or
 *      egress_match_literal for an IP literal), before any resolution;
 *      an "originate" rule then terminates the function's TLS (a
 *      tls/engine.h server with a leaf for the name behind the fake
 *      address, or the CONNECT's name once the proxy said 200; SNI must
 *      be that name) and reads the first request before step 2;
 *   2. the name resolved by lwIP's DNS, the answer classified against
 *      the rule (egress_addr_allowed);
 *   3. an `egress` record (decision allow, the resolved address) appended
 *      to the signed log, and logd's APPENDED awaited: no answer, or an
 *      error, refuses the connection (fail closed) — before any packet
 *      goes to the upstream;
 *   4. an lwIP TCP connection to exactly the address checked in 2 (for
 *      originate, a tls/engine.h client on it, validating the upstream's
 *      chain against the anchors for that name; plaintext is relayed
 *      between the two engines, with the same backpressure), then
 *      the bytes relayed both ways with backpressure (the kernel socket is
 *      read only while lwIP has send room; lwIP's window reopens only for
 *      bytes the kernel socket took), half-closes carried both ways, an
 *      idle timeout;
 *      passthrough: a first TLS record must be a ClientHello naming the
 *      host (net/egress_sni.h) before any byte goes upstream;
 *      originate: every request checked, rewritten and recorded (durably)
 *      before it goes, every answer parsed (status, framing) and recorded,
 *      one request at a time;
 *   5. at the end an `egress` completion record (bytes each way, connect
 *      and total durations, originate: the upstream certificate's SPKI
 *      SHA-256), best effort.
 *
 * Every refusal resets the function's connection (the proxy's: answers
 * 403, 502 or 501 with one line first) and is recorded as
 * `egress_refused` with a distinct reason code.
 *
 * Caller-owned state, a fixed pool of EGP_CONN_MAX connections with their
 * buffers, no allocation. The decision step and the CONNECT parser are
 * pure functions (egp_decide_*, egp_request_parse), tested alone.
 */
#ifndef DSHIELD_NET_EGRESS_PROXY_H
#define DSHIELD_NET_EGRESS_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/egress.h"
#include "crypto/log_entry.h"
#include "crypto/policy.h"
#include "net/fakeaddr.h"
#include "net/egress_http.h"
#include "net/fn_egress.h"
#include "lib/tbucket.h"
#include "tls/anchors.h"
#include "tls/cert.h"
#include "tls/cert_cache.h"
#include "tls/engine.h"
#include "tls/client_sessions.h"
#include "tls/sessions.h"

/* Open proxied connections, all functions: a function may hold 1000 at
 * once (issue 11), and a few are left for the others. The pool is
 * static, but a slot's pages are touched only once it is used, so
 * netd's memory follows the most connections open at once, up to
 * EGP_CONN_MAX x sizeof(struct egp_conn) (docs/EGRESS.md, "Capacity"). */
#define EGP_CONN_MAX     1024
/* open proxied connections of one function, at most (its
 * limits.egress_conns, which the policy bounds by this): EGP_CONN_MAX less
 * 24, so one function cannot take the whole pool from the others */
#define EGP_FN_CONN_MAX  1000
/* a connection's id: a counter above the slot's index (never 0, never
 * the id of a request still in flight for an older connection) */
#define EGP_SLOT_BITS    11
_Static_assert(EGP_CONN_MAX <= 1u << EGP_SLOT_BITS, "a slot's index fits its bits of an id");
#define EGP_UP_BUF       8192        /* function -> upstream bytes not yet in lwIP */
#define EGP_REQ_MAX      EH_HEAD_MAX /* a CONNECT request's head; originate: each request's */
#define EGP_RW_MAX       (EH_HEAD_MAX + 4096) /* originate: a head as it goes upstream */
#define EGP_PATH_LOG     256         /* a request's path in its records (longer: cut) */
#define EGP_SETUP_MS     30000       /* accept to relaying: request, DNS, log, connect */
#define EGP_DNS_RETRY_MS 20          /* lwIP's lookups all in use: ask again after */
#define EGP_IDLE_MS      300000      /* relaying with no byte either way */
#define EGP_TOTAL_MS     3600000     /* accept to end, however busy (long polls, streams) */
/* Pooling (docs/EGRESS.md, "Upstream pooling"): an upstream connection
 * whose function let go of it between requests is kept this long for the
 * function's next connection to the same rule, host and port; at most
 * EGP_PARK_PER_KEY of them for each such key, and a full pool takes
 * them back (the oldest first) before it refuses a connection. Shorter
 * than servers' own idle timeouts (Node's 5 s, nginx's 75 s), so that
 * netd lets go first rather than reuse a connection the server is
 * closing at that moment. */
#define EGP_PARK_MS      4000
#define EGP_PARK_PER_KEY 16          /* a client's pool to one host; 4 lost half of wrk's 16 */
#define EGP_FD_PARKED    (-2)        /* fd_of[] of a parked slot (-1: free) */
#define EGP_REASON_MAX   320
/* A function's bandwidth cap (limits.egress_kbps, 1 kbit/s = 125 bytes/s):
 * the bytes on its proxied sockets, each way, all its connections
 * together, through two token buckets. The burst is 1/8 s of the rate,
 * at least a TLS record; a connection held by an empty bucket is woken
 * when EGP_BW_WAKE bytes are there again. */
#define EGP_BW_BURST_DIV 8
#define EGP_BW_BURST_MIN 16384
#define EGP_BW_WAKE      4096

/* --- TLS origination's keys ------------------------------------------------------ */

/* The local CA's lifetime: one boot, bounded (a VM that runs longer gets
 * a new CA when netd restarts). Leaves live a week at most (and never
 * past the CA); the cache mints a new one when one expires. */
#define EGP_CA_DAYS      365
#define EGP_LEAF_DAYS    7

/* What origination needs for the life of netd (docs/TLS.md, "The local
 * CA"): the DRBG, the per-boot local CA and its PEM for the sandboxes'
 * trust stores, the leaf cache, the sessions functions may resume. Large (the cache): the caller's static. */
struct egress_tls {
	br_hmac_drbg_context rng;
	struct cert_ca ca;
	char ca_pem[CERT_PEM_LEN(CERT_DER_MAX) + 1];
	size_t ca_pem_len;
	bool ready;                       /* the CA exists */
	struct tls_server_cfg srv;        /* the terminating engines' configuration */
	/* the trust anchors (egress_tls_anchors); none: originate refused */
	struct anchors anchors;
	char anchors_why[EGP_REASON_MAX]; /* anchors.n == 0: why */
	br_x509_trust_anchor ta[ANCHORS_MAX];
	struct cert_cache cache;
	struct tls_sessions sessions;     /* the functions' resumable sessions */
	struct tls_client_sessions up;    /* netd's, with the upstreams (cleared with the anchors) */
	/* what the anchors are made of, kept so that either source can
	 * change alone: the file init sent (its bytes) and the policy's
	 * extra_anchors as anchor records. A source that failed (rc < 0, why
	 * says why) leaves no anchor trusted. */
	bool have_a;
	size_t alen, plen;
	int files_rc, policy_rc;
	char files_why[EGP_REASON_MAX], policy_why[EGP_REASON_MAX];
	uint8_t abuf[ANCHORS_FILE_MAX + 1];
	uint8_t pbuf[ANCHORS_HEADER_LEN + POLICY_MAX_ANCHORS * ANCHORS_RECORD_MAX];
};

/* Seeds the DRBG from getrandom, makes the CA ("dshield local CA <8 hex
 * digits>", valid from an hour before now to EGP_CA_DAYS after) and its
 * PEM, empties the cache. 0, or -errno with the step in err. */
int egress_tls_init(struct egress_tls *x, int64_t now, char *err, size_t errlen);

/* The anchors, from the file init opened (IMSG_NETD_ANCHORS): fd (-1:
 * none, why says why); the policy's extra_anchors held join them.
 * Replaces the file's anchors loaded before. Returns the anchors' number,
 * or -errno with the reason in err and in x->anchors_why (then none is
 * trusted: originate is refused). */
long egress_tls_anchors(struct egress_tls *x, int fd, const char *why, char *err, size_t errlen);

/* The policy's extra_anchors (p->anchors, none when p is NULL), counted
 * in anchors.n_extra as test anchors: they join the file's (and replace
 * the policy's before). Returns the anchors' number, or -errno as
 * egress_tls_anchors (a certificate the policy parser took and
 * anchors_record() refuses: -EBADMSG, and none is trusted). */
long egress_tls_policy_anchors(struct egress_tls *x, const struct policy *p, char *err,
			       size_t errlen);

/* --- the decision step (pure) ------------------------------------------------- */

/* Where a connection goes, once the policy allowed it. */
struct egp_target {
	char host[EGRESS_NAME_MAX + 1];   /* canonical name, or a literal's text */
	bool literal;
	bool originate;                   /* the rule's TLS mode is originate */
	bool absolute;                    /* the proxy's http:// requests (absolute-form) */
	struct egress_addr addr;          /* literal: the address */
	uint16_t port;
	int rule;                         /* index into the policy's rules */
};

/* A connection to fake address addr (host order) on port, by a function
 * that declared `declared`, whose names are in fakes (NULL: it resolved
 * none). 0 and *t (t->originate for an originate rule), or -EACCES with
 * "code: text" in err (codes: unknown_address, no_policy, egress_match's). */
int egp_decide_fake(const struct policy *p, uint32_t declared, const struct fakeaddr_table *fakes,
		    uint32_t addr, uint16_t port, struct egp_target *t, char *err, size_t errlen);

/* A CONNECT authority a[0..n) ("host:port", "[v6]:port"): a name through
 * egress_match, an IP literal only through egress_match_literal. The same
 * returns (t->originate for an originate rule), but an originate rule
 * reached by an IP literal is refused (tls_originate: netd's leaf names
 * a host); a missing port or a malformed authority is bad_request or the
 * parser's code. */
int egp_decide_authority(const struct policy *p, uint32_t declared, const char *a, size_t n,
			 struct egp_target *t, char *err, size_t errlen);

/* The port of an http:// URL that names none: the one netd's TLS goes
 * to (an originate rule: the function speaks plain HTTP to the proxy,
 * netd speaks TLS to the host; docs/POLICY.md). */
#define EGP_ABSOLUTE_PORT 443

/* "http://authority[/path]" (scheme in any case) in u[0..n): the
 * authority is u[7..7 + *auth_len), the path begins at u[*path] (the
 * authority ends at '/', '?', '#' or the end). 0, or -1 for anything
 * else (https:// too). */
int egp_absolute_split(const char *u, size_t n, size_t *auth_len, size_t *path);

/* An absolute-form request to the explicit proxy, its target u[0..n):
 * an http:// URL whose authority (port: EGP_ABSOLUTE_PORT when none) is
 * decided as a CONNECT's; its rule must be originate (netd makes the TLS
 * to the host). 0 and *t (t->absolute), or -EACCES with "code: text"
 * (absolute_form for another scheme, tls_passthrough, tls_originate for
 * a literal, egp_decide_authority's). */
int egp_decide_absolute(const struct policy *p, uint32_t declared, const char *u, size_t n,
			struct egp_target *t, char *err, size_t errlen);

/* May the connection of t go to the resolved address a? 0, or -EACCES
 * with "address_class: ..." in err. */
int egp_check_addr(const struct policy *p, const struct egp_target *t, const struct egress_addr *a,
		   char *err, size_t errlen);

/* --- the explicit proxy's request head ------------------------------------------ */

enum egp_req_kind {
	EGP_REQ_CONNECT,       /* CONNECT authority HTTP/1.x */
	EGP_REQ_ABSOLUTE,      /* any method with an absolute-form http(s):// target */
	EGP_REQ_ORIGIN,        /* any method with an origin-form target ("/...") */
};

struct egp_request {
	enum egp_req_kind kind;
	const char *target;    /* into the buffer */
	size_t target_len;
	size_t head_len;       /* bytes up to and including the empty line */
	const char *host;      /* the (last) Host header's value, without OWS; NULL: none */
	size_t host_len;
	unsigned nhost;        /* Host header lines */
};

/* Parses the head at buf[0..len): the request line (method of 1..16
 * uppercase letters, one SP, a target of visible ASCII, one SP,
 * HTTP/1.1 or HTTP/1.0, CRLF) and header lines ("name: value", a token
 * name, no obs-fold, no control byte but HT in a value, CRLF) up to an
 * empty line; the Host headers are noted. Returns the head's length
 * (> 0) with *r, 0 when more bytes are needed (nothing wrong so far), or
 * -EINVAL with a line in err (a bare LF or CR, a bad byte, a target
 * that is neither an authority (CONNECT), nor absolute-form http(s)://,
 * nor origin-form "/...", or what eh_head_parse refuses besides: the
 * framing headers, an Upgrade that is not a whole WebSocket handshake,
 * more than EH_HDR_MAX lines). */
long egp_request_parse(const char *buf, size_t len, struct egp_request *r, char *err,
		       size_t errlen);

/* A request of an originate connection to t (a name) over TLS:
 * origin-form, exactly one Host, whose value (an authority, canonicalised
 * as the policy's names are) names t->host, with no port or t->port (no
 * domain fronting: Host = SNI = the fake address's name). For
 * t->absolute (the proxy's http:// requests) the target must be an
 * http:// URL whose authority names t->host and t->port (none written:
 * EGP_ABSOLUTE_PORT), and Host as above. 0, or -EACCES with
 * "host_mismatch: ..." or "bad_request: ..." in err. */
int egp_check_host(const struct egp_target *t, const struct egp_request *r, char *err,
		   size_t errlen);

/* egp_request of a head parsed by eh_head_parse from buf. */
void egp_request_of(const char *buf, const struct eh_head *h, struct egp_request *r);

struct egress_proxy_hooks;

/* One request of an originate connection to t (a name), by function fn
 * that declared `declared`, its head h parsed from buf: its Host
 * (egp_check_host), its target normalised (egress_path_norm) into
 * path[0..cap) (cap >= h->target_len + 1), egress_match with its method
 * and that path, a WebSocket handshake (h->upgrade) only when the
 * matched rule has "websocket", the values of the matched rule's inject_headers
 * secrets from hk->secret, and the head for the upstream written into
 * out[0..outcap) (eh_rewrite). Returns that head's length, or -EACCES
 * with "code: text" in err (codes: host_mismatch, bad_request,
 * egress_path_norm's and egress_match's, websocket_not_allowed,
 * secret_missing, secret_invalid). */
long egp_request_rewrite(const struct policy *p, uint32_t declared, const struct egp_target *t,
			 const char *fn, const char *buf, const struct eh_head *h,
			 const struct egress_proxy_hooks *hk, char *path, size_t cap, char *out,
			 size_t outcap, char *err, size_t errlen);

/* --- the proxy ------------------------------------------------------------------ */

struct egress_proxy_hooks {
	void *ctx;
	/* add (events != 0) or remove (0) fd in the caller's loop */
	int (*watch)(void *ctx, int fd, uint32_t events);
	/* the measured policy, or NULL while there is none */
	const struct policy *(*policy)(void *ctx);
	/* appends e (a connection's allow record, a request's record) for
	 * connection id and later calls egress_proxy_appended with logd's
	 * answer; < 0: it could not be sent (refused). One at a time per id. */
	int (*append)(void *ctx, uint32_t id, const struct log_entry *e);
	/* a record nothing waits for (refusals, completions) */
	void (*record)(void *ctx, const struct log_entry *e);
	/* TLS origination's keys and anchors; NULL: originate refused */
	struct egress_tls *tls;
	/* the value of secret `name` for function fn (a rule's
	 * inject_headers): 0 with *v[0..*n), valid until the proxy returns;
	 * -ENOENT: none, and the request is refused (secret_missing). NULL:
	 * netd has no secrets, every injecting rule is refused. */
	int (*secret)(void *ctx, const char *fn, const char *name, const char **v, size_t *n);
	/* the invocation of fn a connection accepted now belongs to: its id
	 * into id when exactly one of fn's is in flight, else "" (NULL: the
	 * records name none) */
	void (*invocation)(void *ctx, const char *fn, char id[37]);
};

enum egp_state {
	EGP_FREE = 0,
	EGP_HEAD,              /* the proxy: reading the CONNECT request */
	EGP_TLS_ACCEPT,        /* originate: the function's TLS handshake with netd */
	EGP_RESOLVING,         /* lwIP's DNS asked */
	EGP_LOGGING,           /* the allow record sent, logd's answer awaited */
	EGP_CONNECTING,        /* lwIP's SYN sent */
	EGP_RELAY,
	EGP_PARKED,            /* originate: no function side; its upstream connection
				* waits to serve another of the function's (pooling) */
};

struct tcp_pcb;
struct pbuf;

struct egress_proxy;

/* One function's cap, shared by its connections (a slot per function
 * with a connection open; kept, with its tokens, until another function
 * needs the slot, so closing and reopening does not refill it). */
struct egp_bw {
	char fn[SBX_ID_MAX];               /* "": never used */
	unsigned refs;                     /* its open connections */
	uint32_t kbps;
	struct tbucket up, down;           /* bytes from, to the function */
};

struct egp_conn {
	struct egress_proxy *px;           /* the pool it belongs to (lwIP's callbacks) */
	enum egp_state st;
	uint32_t id;                       /* unique while netd runs; 0: free */
	int fd;                            /* the function's socket (non-blocking) */
	uint32_t watching;                 /* epoll events asked for fd */
	uint8_t kind;                      /* SBX_L_PORT or SBX_L_PROXY */
	uint32_t declared;                 /* the function's rules when it connected */
	char fn[SBX_ID_MAX];
	char inv[37];             /* the invocation in flight at accept, or "" */
	struct egp_target t;
	uint32_t ip;                       /* the resolved address, network order */
	uint64_t dns_retry_ms;             /* resolving: lwIP had no room, ask again then; 0: asked */
	char rule_host[POLICY_HOST_MAX + 1];
	struct tcp_pcb *pcb;
	struct pbuf *down;                 /* upstream bytes the socket has not taken */
	size_t up_off, up_len;             /* in up */
	size_t req_len;                    /* in req */
	/* originate: the function's requests, each head checked and
	 * rewritten (net/egress_http.h) before it goes upstream */
	struct eh_body body;               /* the current request's body; EH_B_DONE: a head next */
	size_t rw_off, rw_len;             /* the rewritten head in rw, given to cli up to rw_off */
	bool rw_wait;                      /* its request record sent, logd's answer awaited */
	bool rw_logged;                    /* its request record is durable */
	unsigned nreq;                     /* requests seen */
	char method[EH_METHOD_MAX + 1];    /* the current request's, for its records */
	char path[EGP_PATH_LOG + 1];
	bool has_path_hash;                /* the rule's log_path "hash": path empty, */
	uint8_t path_hash[32];             /* SHA-256 of the whole path instead */
	/* originate: the upstream's answers, each head parsed (status,
	 * framing) and passed on, its body by its framing; one request at a
	 * time: the next head is read once the answer is whole */
	bool rsp_wait;                     /* a request went, its final answer is not whole */
	bool rsp_open;                     /* its final head was read: its record is due */
	bool rsp_close;                    /* its body runs to the upstream's end */
	struct eh_body rbody;
	unsigned nrsp;                     /* final answers read */
	uint16_t rsp_status;
	uint64_t rsp_bytes, req_t0_ns;
	uint64_t req_up0;                  /* bytes_up as the current request's head began */
	size_t rsp_hlen;                   /* a head's bytes gathered in rsp */
	size_t rsp_off, rsp_len;           /* a parsed head in rsp, passed on up to rsp_off */
	/* originate, WebSocket (docs/EGRESS.md, "WebSocket"): the current
	 * request is a handshake its rule allows; its 101 came: from there
	 * on, bytes both ways unparsed (ws_up: the function's since) */
	bool ws_asked, ws;
	uint64_t ws_up;
	bool said_200;                     /* the proxy: 200 Connection established sent */
	bool fn_seen;                      /* originate: the function's first bytes were read */
	bool sni_done;                     /* passthrough: the SNI check passed (or had nothing) */
	bool plain;                        /* originate, the proxy's http:// requests: no TLS
					    * on the function's side (fn_in, down_plain) */
	bool fn_eof;                       /* the function shut its side: FIN sent upstream */
	/* the function's socket may have bytes: epoll said so since a read
	 * found it empty (fn_recv), so drives the socket did not wake skip
	 * the read that would say EAGAIN */
	bool fn_ready;
	bool up_eof;                       /* the upstream's FIN */
	bool fn_shut;                      /* ... passed on to the function */
	bool corked;                       /* the last send to the function's socket had
					    * MSG_MORE: uncork before drive returns */
	/* the function's cap: its slot in px->bw + 1 (0: none); an empty
	 * bucket holds the connection that way until egress_proxy_tick */
	uint16_t bw;
	bool held_up, held_down;
	uint32_t holds;                    /* times it was held */
	uint64_t bytes_up, bytes_down;
	uint64_t t0_ms, t0_ns, connect_ns, last_ms;
	/* originate: the closes passed on, the upstream's key */
	bool cli_eof;                      /* tls_eof() given to the client engine */
	bool srv_closing, cli_closing;     /* tls_close() given */
	bool has_spki;
	uint8_t spki[32];                  /* set at the offer when a session is offered */
	bool up_offered;                   /* a session was offered upstream (its key in spki) */
	int64_t up_offer_made;             /* ... made then (seconds, the session's clock) */
	/* the upstream's TLS resumed the offered session: when that
	 * session's full handshake checked the key (seconds; 0: a full
	 * handshake), said in the completion record (a property of the
	 * upstream connection: it stays with it in the pool) */
	int64_t up_resumed_made;
	/* pooling: whether the last request and its answer let the
	 * connection carry another (eh_head.persist); reused: the upstream
	 * connection was parked by an earlier connection of the function */
	bool req_persist, rsp_persist, reused;
	bool srv_counted;                  /* the function's handshake's end seen (tls_resumed) */
	bool req_body;                     /* the current request has a body */
	size_t rw_sent;                    /* the length of the last head sent, still in rw */
	bool retried;                      /* went again on a new upstream connection */
	bool fn_close;                     /* the request's Connection: close (close_hop): its
					    * answer whole, netd closes the function's side */
	uint64_t parked_ms;
	/* the buffers last: a freed slot clears what comes before them */
	uint8_t up[EGP_UP_BUF];            /* function bytes lwIP (originate: srv) has not taken */
	char req[EGP_REQ_MAX];             /* the proxy's request head; originate: each request's */
	char rw[EGP_RW_MAX];               /* originate: the head for the upstream */
	char rsp[EH_HEAD_MAX];             /* originate: an answer's head */
	struct tls_conn srv;               /* originate: terminates the function's TLS */
	struct tls_conn cli;               /* originate: netd's TLS to the upstream */
};

struct egress_proxy_stats {
	uint64_t accepted, relayed, refused, pool_full, log_refused, active;
	uint64_t bytes_up, bytes_down;     /* of connections that ended (completion records) */
	uint64_t bw_holds;                 /* connections held by a function's cap, times */
	uint64_t parked;                   /* upstream connections parked now */
	uint64_t reused;                   /* connections that took a parked one */
	uint64_t tls_resumed;              /* functions' TLS that resumed a session */
	uint64_t up_tls_full, up_tls_resumed;   /* netd's upstream handshakes */
	uint64_t dns_busy;                 /* lookups lwIP had no room for, asked again */
};

struct egress_proxy {
	struct egress_proxy_hooks h;
	/* each slot's socket, -1: free, EGP_FD_PARKED: parked. The slots are 116 KiB apart, so the
	 * lookups (an event's fd, a free slot, the timers) scan this instead
	 * of touching a page of every slot. */
	int fd_of[EGP_CONN_MAX];
	struct egp_conn c[EGP_CONN_MAX];
	struct egp_bw bw[EGP_CONN_MAX];
	uint32_t next_id;
	struct egress_proxy_stats st;
};

void egress_proxy_init(struct egress_proxy *px, const struct egress_proxy_hooks *h);

/* A connection accepted on listener kind (SBX_L_PORT, SBX_L_PROXY) of
 * function f: the proxy owns fd from here (closed on every path). */
void egress_proxy_accept(struct egress_proxy *px, const struct fn_egress_fn *f, uint8_t kind,
			 int fd);

/* Serves fd if it is one of the proxy's: true, else false. */
bool egress_proxy_io(struct egress_proxy *px, int fd, uint32_t events);

/* logd's answer for connection id's allow record, or for the record of
 * the request it waits to send upstream: error 0 (durable) or negative
 * (refused, or logd went: -EPIPE; the connection is refused, the
 * request answered 502 log_refused). */
void egress_proxy_appended(struct egress_proxy *px, uint32_t id, int error);

/* Timeouts, and connections a function's cap held that may go on; the
 * next deadline (ms, mono_ms clock) or UINT64_MAX. */
void egress_proxy_tick(struct egress_proxy *px, uint64_t now_ms);
uint64_t egress_proxy_next_deadline(const struct egress_proxy *px);

#endif
