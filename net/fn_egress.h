/* net/fn_egress.h: the listeners netd serves inside each function's
 * network namespace (docs/EGRESS.md).
 *
 * sandboxd makes them and hands them over (proto/netd_sandboxd.h,
 * IMSG_SBX_EGRESS); this table keeps them by function, with the rules
 * the function declared, and answers what arrives on them. The listener
 * a packet or connection arrives on is what names the function: never
 * an address, a port or a header the function wrote.
 *
 * What is served so far:
 *   DNS over UDP (127.0.0.1:53)   net/dns.h: a name the caller's
 *                                 name_allowed hook allows for the
 *                                 function gets its fake address from the
 *                                 function's own table (net/fakeaddr.h,
 *                                 made at its first query), anything else
 *                                 REFUSED and reported (dns_refused hook)
 *   TCP: the proxy and the ports  accepted and handed to the caller's
 *                                 conn hook (netd's egress proxy,
 *                                 net/egress_proxy.h), which owns them
 *   TCP: DNS over TCP             the same answers, each behind its
 *                                 two-byte length (RFC 7766): connections
 *                                 from a fixed pool (FN_DNS_TCP_MAX, of
 *                                 them FN_DNS_TCP_PER_FN a function; one
 *                                 more is reset and reported through the
 *                                 refused hook), closed after
 *                                 FN_DNS_TCP_IDLE_MS without a whole query
 *                                 or at a framing error. A query is read
 *                                 only once the answer before it is sent:
 *                                 a client that does not read its answers
 *                                 stops being read (its kernel buffers
 *                                 fill), until the idle time closes it.
 *   lo: the kernel's resets       a connection to a fake address on a port
 *                                 with no listener is refused by the
 *                                 function's own kernel; its reset, read
 *                                 off the SBX_L_RESETS socket
 *                                 (net/tcp_refusal.h), goes to the refused
 *                                 hook with the address and port dialled
 *
 * Caller-owned state: the table is a fixed array, every descriptor it
 * holds is registered with the caller's watch hook; a function's name
 * table is the one allocation, once, at its first DNS query. Time comes
 * from the caller (now_ms, a monotonic clock in milliseconds).
 */
#ifndef DSHIELD_NET_FN_EGRESS_H
#define DSHIELD_NET_FN_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/dns.h"
#include "net/fakeaddr.h"
#include "proto/netd_sandboxd.h"

#define FN_EGRESS_FN_MAX 256     /* functions (sandboxd's SBXD_FN_MAX) */
#define FN_DNS_TCP_MAX     64    /* DNS-over-TCP connections open, all functions */
#define FN_DNS_TCP_PER_FN  4     /* of them, one function's */
#define FN_DNS_TCP_IDLE_MS 10000 /* since the accept or the last whole query */
#define FN_DNS_TCP_BUDGET  16    /* queries answered on one connection a wake-up */

struct fn_egress_fn {
	bool used;
	char id[SBX_ID_MAX];
	uint32_t rules;                     /* bit k: the policy's rule k declared */
	uint32_t egress_kbps;               /* limits.egress_kbps (0: no cap) */
	uint32_t egress_conns;              /* limits.egress_conns (0: EGP_FN_CONN_MAX) */
	int fd[SBX_LISTENERS_MAX];
	struct sbx_listener l[SBX_LISTENERS_MAX];
	unsigned n;
	struct fakeaddr_table *fakes;       /* its names' fake addresses; NULL until asked */
};

struct fn_egress_stats {
	uint64_t functions_known, listeners;
	uint64_t tcp_refused;               /* connections reset (refused hook) */
	uint64_t tcp_handed;                /* connections given to the conn hook */
	uint64_t dns_queries, dns_answered, dns_refused;   /* UDP and TCP */
	uint64_t dns_tcp_accepted;          /* DNS-over-TCP connections served */
	uint64_t dns_tcp_busy;              /* reset: the pool or the function's share full */
	uint64_t dns_tcp_idle;              /* closed after FN_DNS_TCP_IDLE_MS */
	uint64_t dns_tcp_bad;               /* closed: a length of 0 or over DNS_MSG_MAX */
	uint64_t port_refused;              /* the kernel's resets: a port with no listener */
	uint64_t resets_other;              /* packets on the resets socket that were not one */
	uint64_t malformed;                 /* egress messages refused */
};

/* One DNS-over-TCP connection (private to fn_egress.c). */
struct fn_dns_conn {
	int fd;                             /* -1: the slot is free */
	uint16_t fn;                        /* its function, an index into fn[] */
	uint16_t out_off, out_len;          /* an answer not yet sent whole */
	uint64_t deadline_ms;
	struct dns_tcp rd;
	uint8_t out[2 + DNS_REPLY_MAX];
};

struct fn_egress;

/* The caller's hooks. watch: add or change (events != 0) or remove (0)
 * fd in the caller's loop. name_allowed: may function f reach the
 * canonical name (a rule it declared names it); NULL: no name is.
 * dns_refused: a query of f answered REFUSED (q parsed; res
 * DNS_RES_REFUSED: not allowed, DNS_RES_FULL: f's table is full).
 * refused: a TCP connection of f, on a listener of that kind, to the
 * address and port it dialled (host order), was reset: DNS over TCP with
 * the pool or f's share of it full, a port or proxy connection with no
 * conn hook, or (kind SBX_L_RESETS) one to a fake address on a port with
 * no listener, which f's kernel refused. conn: a connection accepted on a port or proxy listener of
 * f (kind SBX_L_PORT or SBX_L_PROXY), the hook owns fd; NULL: those are
 * reset. */
struct fn_egress_hooks {
	void *ctx;
	int (*watch)(void *ctx, int fd, uint32_t events);
	bool (*name_allowed)(void *ctx, const struct fn_egress_fn *f, const char *name,
			     size_t len);
	void (*dns_refused)(void *ctx, const struct fn_egress_fn *f, const struct dns_query *q,
			    enum dns_result res);
	void (*refused)(void *ctx, const struct fn_egress_fn *f, uint8_t kind, uint32_t addr,
			uint16_t port);
	void (*conn)(void *ctx, const struct fn_egress_fn *f, uint8_t kind, int fd);
};

struct fn_egress {
	struct fn_egress_hooks h;
	struct fn_egress_fn fn[FN_EGRESS_FN_MAX];
	struct fn_dns_conn dns[FN_DNS_TCP_MAX];
	unsigned dns_open;                  /* slots of dns[] in use */
	struct fn_egress_stats st;
};

void fn_egress_init(struct fn_egress *t, const struct fn_egress_hooks *h);

/* Takes one IMSG_SBX_EGRESS message: m (len bytes) and its descriptors,
 * which the table owns from here on (closed on any refusal). 0, or
 * -EBADMSG for a malformed message, -ENOSPC when the table is full,
 * -ENOENT for MORE/RULES of a function it does not know. */
int fn_egress_take(struct fn_egress *t, const void *m, size_t len, int *fds, unsigned nfds);

/* Serves fd if it is one of the table's (a listener or a DNS-over-TCP
 * connection): true (events handled), false when it is not. */
bool fn_egress_io(struct fn_egress *t, int fd, uint32_t events, uint64_t now_ms);

/* Closes the DNS-over-TCP connections idle since their deadline. */
void fn_egress_tick(struct fn_egress *t, uint64_t now_ms);

/* The earliest deadline of an open DNS-over-TCP connection, or
 * UINT64_MAX (none open: no scan). */
uint64_t fn_egress_next_deadline(const struct fn_egress *t);

/* The function whose listener fd is, or NULL. */
const struct fn_egress_fn *fn_egress_by_fd(const struct fn_egress *t, int fd);

/* sandboxd went: every listener and DNS-over-TCP connection is closed
 * (a new sandboxd sends the listeners again). */
void fn_egress_clear(struct fn_egress *t);

#endif
