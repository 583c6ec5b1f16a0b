/* net/fn_egress.c: the listeners of functions' namespaces, by function
 * (net/fn_egress.h, docs/EGRESS.md). */
#include "net/fn_egress.h"

#include "lib/random.h"
#include "net/tcp_refusal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>


void fn_egress_init(struct fn_egress *t, const struct fn_egress_hooks *h)
{
	memset(t, 0, sizeof *t);
	t->h = *h;
	for (unsigned i = 0; i < FN_EGRESS_FN_MAX; i++)
		for (unsigned k = 0; k < SBX_LISTENERS_MAX; k++)
			t->fn[i].fd[k] = -1;
	for (unsigned i = 0; i < FN_DNS_TCP_MAX; i++)
		t->dns[i].fd = -1;
}

static void dns_conn_close(struct fn_egress *t, struct fn_dns_conn *c)
{
	t->h.watch(t->h.ctx, c->fd, 0);
	close(c->fd);
	c->fd = -1;
	t->dns_open--;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void fn_forget(struct fn_egress *t, struct fn_egress_fn *f)
{
	for (unsigned i = 0; i < FN_DNS_TCP_MAX && t->dns_open > 0; i++)
		if (t->dns[i].fd >= 0 && &t->fn[t->dns[i].fn] == f)
			dns_conn_close(t, &t->dns[i]);
	for (unsigned k = 0; k < f->n; k++) {
		if (f->fd[k] < 0)
			continue;
		t->h.watch(t->h.ctx, f->fd[k], 0);
		close(f->fd[k]);
		t->st.listeners--;
	}
	free(f->fakes);
	memset(f, 0, sizeof *f);
	for (unsigned k = 0; k < SBX_LISTENERS_MAX; k++)
		f->fd[k] = -1;
}

static struct fn_egress_fn *fn_find(struct fn_egress *t, const char *id)
{
	for (unsigned i = 0; i < FN_EGRESS_FN_MAX; i++)
		if (t->fn[i].used && strcmp(t->fn[i].id, id) == 0)
			return &t->fn[i];
	return NULL;
}

static struct fn_egress_fn *fn_slot(struct fn_egress *t)
{
	for (unsigned i = 0; i < FN_EGRESS_FN_MAX; i++)
		if (!t->fn[i].used)
			return &t->fn[i];
	return NULL;
}

/* m's listener descriptions: known kinds, the count its fds say. */
static bool msg_ok(const struct sbx_egress_msg *m, unsigned nfds)
{
	size_t idlen = strnlen(m->function, sizeof m->function);

	if (idlen == 0 || idlen == sizeof m->function || m->nlisteners != nfds ||
	    nfds > SBX_EGRESS_FDS)
		return false;
	if ((m->op == SBX_EGRESS_RULES || m->op == SBX_EGRESS_GONE) && nfds != 0)
		return false;
	if (m->op < SBX_EGRESS_NEW || m->op > SBX_EGRESS_GONE)
		return false;
	for (unsigned k = 0; k < nfds; k++)
		if (m->l[k].kind < SBX_L_DNS_UDP || m->l[k].kind > SBX_L_RESETS ||
		    (m->l[k].port == 0) != (m->l[k].kind == SBX_L_RESETS))
			return false;
	return true;
}

/* Adds the message's listeners to f (owning them): -ENOSPC past the
 * bound, or the watch hook's error (the rest are closed). */
static int add_listeners(struct fn_egress *t, struct fn_egress_fn *f,
			 const struct sbx_egress_msg *m, int *fds, unsigned nfds)
{
	for (unsigned k = 0; k < nfds; k++) {
		int r;
		if (f->n == SBX_LISTENERS_MAX) {
			close_fds(fds + k, nfds - k);
			return -ENOSPC;
		}
		/* non-blocking: a loop that drains them must never sleep in
		 * accept() (the flag is the open file's, shared with sandboxd's
		 * copy, which never reads) */
		int fl = fcntl(fds[k], F_GETFL);
		if (fl < 0 || fcntl(fds[k], F_SETFL, fl | O_NONBLOCK) < 0)
			r = -errno;
		else
			r = t->h.watch(t->h.ctx, fds[k], EPOLLIN);
		if (r < 0) {
			close_fds(fds + k, nfds - k);
			return r;
		}
		f->fd[f->n] = fds[k];
		f->l[f->n] = m->l[k];
		f->n++;
		t->st.listeners++;
	}
	return 0;
}

int fn_egress_take(struct fn_egress *t, const void *p, size_t len, int *fds, unsigned nfds)
{
	struct sbx_egress_msg m;
	struct fn_egress_fn *f;

	if (len != sizeof m) {
		close_fds(fds, nfds);
		t->st.malformed++;
		return -EBADMSG;
	}
	memcpy(&m, p, sizeof m);
	if (!msg_ok(&m, nfds)) {
		close_fds(fds, nfds);
		t->st.malformed++;
		return -EBADMSG;
	}
	f = fn_find(t, m.function);
	switch (m.op) {
	case SBX_EGRESS_NEW:
		if (f != NULL) {
			fn_forget(t, f);
			t->st.functions_known--;
		}
		if ((f = fn_slot(t)) == NULL) {
			close_fds(fds, nfds);
			return -ENOSPC;
		}
		t->st.functions_known++;
		f->used = true;
		memcpy(f->id, m.function, sizeof f->id);
		f->rules = m.egress_rules;
		f->egress_kbps = m.egress_kbps;
		f->egress_conns = m.egress_conns;
		return add_listeners(t, f, &m, fds, nfds);
	case SBX_EGRESS_MORE:
		if (f == NULL) {
			close_fds(fds, nfds);
			return -ENOENT;
		}
		return add_listeners(t, f, &m, fds, nfds);
	case SBX_EGRESS_RULES:
		if (f == NULL)
			return -ENOENT;
		f->rules = m.egress_rules;
		f->egress_kbps = m.egress_kbps;
		f->egress_conns = m.egress_conns;
		return 0;
	default: /* SBX_EGRESS_GONE */
		if (f == NULL)
			return -ENOENT;
		fn_forget(t, f);
		t->st.functions_known--;
		return 0;
	}
}

static bool find_fd(const struct fn_egress *t, int fd, unsigned *fi, unsigned *li)
{
	for (unsigned i = 0; i < FN_EGRESS_FN_MAX; i++) {
		const struct fn_egress_fn *f = &t->fn[i];
		for (unsigned k = 0; f->used && k < f->n; k++) {
			if (f->fd[k] == fd) {
				*fi = i;
				*li = k;
				return true;
			}
		}
	}
	return false;
}

const struct fn_egress_fn *fn_egress_by_fd(const struct fn_egress *t, int fd)
{
	unsigned fi, li;

	return find_fd(t, fd, &fi, &li) ? &t->fn[fi] : NULL;
}

/* f's name table, made at its first query (keyed with fresh random
 * bytes: a function cannot aim names at one hash chain); NULL when memory
 * or randomness is short (the query is then answered as by a full table). */
static struct fakeaddr_table *fakes_of(struct fn_egress_fn *f)
{
	uint8_t key[FAKEADDR_KEY_LEN];

	if (f->fakes != NULL)
		return f->fakes;
	if (random_fill(key, sizeof key) < 0)
		return NULL;
	f->fakes = malloc(sizeof *f->fakes);
	if (f->fakes != NULL)
		fakeaddr_init(f->fakes, key);
	return f->fakes;
}

/* One query of f: the reply into out, its length or 0 (none). */
static long dns_one(struct fn_egress *t, struct fn_egress_fn *f, const uint8_t *msg, size_t len,
		    uint8_t *out, size_t cap)
{
	struct dns_query q;
	enum dns_result res;
	uint32_t addr;
	char why[128];
	int rc = dns_query_parse(msg, len, &q, why, sizeof why);
	bool allowed = rc == 0 && t->h.name_allowed != NULL &&
		       t->h.name_allowed(t->h.ctx, f, q.name, q.name_len);
	struct fakeaddr_table *fk = allowed ? fakes_of(f) : NULL;

	/* the table is read only for an allowed name */
	long n = dns_answer(&q, rc, allowed && fk != NULL, fk, out, cap, &res, &addr);
	if (allowed && fk == NULL)
		res = DNS_RES_FULL;
	if (res == DNS_RES_REFUSED || res == DNS_RES_FULL) {
		t->st.dns_refused++;
		if (t->h.dns_refused != NULL)
			t->h.dns_refused(t->h.ctx, f, &q, res);
	} else if (res == DNS_RES_ADDR || res == DNS_RES_NODATA) {
		t->st.dns_answered++;
	}
	return n > 0 ? n : 0;
}

/* Datagrams on a DNS listener: each answered (or dropped), a budget per
 * wake-up so one function cannot hold the loop. A datagram is received
 * into one byte more than any query may have, so a longer one is seen
 * whole and refused as such (FORMERR). */
static void dns_udp(struct fn_egress *t, struct fn_egress_fn *f, int fd)
{
	uint8_t q[DNS_MSG_MAX + 1], out[DNS_REPLY_MAX];

	for (int i = 0; i < 32; i++) {
		struct sockaddr_in from;
		struct iovec iov = { q, sizeof q };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof from,
				     .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		t->st.dns_queries++;
		long r = dns_one(t, f, q, (size_t)n, out, sizeof out);
		if (r <= 0)
			continue;
		struct iovec oiov = { out, (size_t)r };
		struct msghdr om = { .msg_name = &from, .msg_namelen = mh.msg_namelen,
				     .msg_iov = &oiov, .msg_iovlen = 1 };
		(void)sendmsg(fd, &om, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
}

/* Resets connection c (SO_LINGER 0), accepted on f's listener li, and
 * tells the refused hook where it was going. */
static void tcp_reset(struct fn_egress *t, const struct fn_egress_fn *f, unsigned li, int c)
{
	struct sockaddr_in to;
	socklen_t tl = sizeof to;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (getsockname(c, (struct sockaddr *)&to, &tl) != 0 || to.sin_family != AF_INET)
		memset(&to, 0, sizeof to);
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(c);
	t->st.tcp_refused++;
	if (t->h.refused != NULL)
		t->h.refused(t->h.ctx, f, f->l[li].kind, ntohl(to.sin_addr.s_addr), ntohs(to.sin_port));
}

/* A proxy or port listener with no conn hook: each waiting connection is
 * accepted and reset. */
static void tcp_refuse(struct fn_egress *t, const struct fn_egress_fn *f, unsigned li, int fd)
{
	for (int i = 0; i < 32; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		tcp_reset(t, f, li, c);
	}
}

/* A free slot of the DNS-over-TCP pool for function fi, or NULL (the
 * pool full, or the function holding its share). */
static struct fn_dns_conn *dns_conn_slot(struct fn_egress *t, unsigned fi)
{
	struct fn_dns_conn *free_slot = NULL;
	unsigned mine = 0;

	for (unsigned i = 0; i < FN_DNS_TCP_MAX; i++) {
		if (t->dns[i].fd < 0)
			free_slot = free_slot != NULL ? free_slot : &t->dns[i];
		else if (t->dns[i].fn == fi)
			mine++;
	}
	return mine < FN_DNS_TCP_PER_FN ? free_slot : NULL;
}

/* The DNS-over-TCP listener: each waiting connection gets a slot of the
 * pool, or is reset when there is none. */
static void dns_tcp_accept(struct fn_egress *t, unsigned fi, unsigned li, int fd, uint64_t now_ms)
{
	for (int i = 0; i < 32; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		struct fn_dns_conn *d = dns_conn_slot(t, fi);
		if (d == NULL || t->h.watch(t->h.ctx, c, EPOLLIN) < 0) {
			t->st.dns_tcp_busy++;
			tcp_reset(t, &t->fn[fi], li, c);
			continue;
		}
		d->fd = c;
		d->fn = (uint16_t)fi;
		d->out_off = d->out_len = 0;
		d->deadline_ms = now_ms + FN_DNS_TCP_IDLE_MS;
		dns_tcp_init(&d->rd);
		t->dns_open++;
		t->st.dns_tcp_accepted++;
	}
}

/* Sends what is left of d's answer: 1 when all of it went, 0 when the
 * rest waits for room (the connection then asks for EPOLLOUT, not
 * EPOLLIN), -1 when the connection failed. */
static int dns_conn_flush(struct fn_egress *t, struct fn_dns_conn *d)
{
	while (d->out_off < d->out_len) {
		ssize_t n = send(d->fd, d->out + d->out_off, d->out_len - d->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return t->h.watch(t->h.ctx, d->fd, EPOLLOUT) < 0 ? -1 : 0;
		if (n <= 0)
			return -1;
		d->out_off = (uint16_t)(d->out_off + n);
	}
	d->out_off = d->out_len = 0;
	return 1;
}

/* d's events: the answer waiting is sent first, then queries are read,
 * exactly the bytes each needs, and answered one by one. */
static void dns_conn_io(struct fn_egress *t, struct fn_dns_conn *d, uint64_t now_ms)
{
	struct fn_egress_fn *f = &t->fn[d->fn];
	uint8_t in[DNS_MSG_MAX];

	if (d->out_len > 0) {
		int r = dns_conn_flush(t, d);
		if (r <= 0 || t->h.watch(t->h.ctx, d->fd, EPOLLIN) < 0) {
			if (r != 0)
				dns_conn_close(t, d);
			return;
		}
	}
	for (unsigned answered = 0; answered < FN_DNS_TCP_BUDGET;) {
		const uint8_t *msg;
		size_t used, mlen, want = dns_tcp_want(&d->rd);
		ssize_t n = recv(d->fd, in, want, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {                   /* the client closed (or failed) */
			dns_conn_close(t, d);
			return;
		}
		int rc = dns_tcp_feed(&d->rd, in, (size_t)n, &used, &msg, &mlen);
		if (rc < 0) {
			t->st.dns_tcp_bad++;
			dns_conn_close(t, d);
			return;
		}
		if (rc == 0)
			continue;
		answered++;
		t->st.dns_queries++;
		d->deadline_ms = now_ms + FN_DNS_TCP_IDLE_MS;
		long len = dns_one(t, f, msg, mlen, d->out + 2, sizeof d->out - 2);
		if (len == 0)
			continue;               /* nothing to answer (a response, a runt) */
		d->out_len = (uint16_t)dns_tcp_frame(d->out, sizeof d->out, (size_t)len);
		d->out_off = 0;
		int r = dns_conn_flush(t, d);
		if (r < 0)
			dns_conn_close(t, d);
		if (r <= 0)
			return;
	}
}

static struct fn_dns_conn *dns_conn_by_fd(struct fn_egress *t, int fd)
{
	for (unsigned i = 0; i < FN_DNS_TCP_MAX && t->dns_open > 0; i++)
		if (t->dns[i].fd == fd)
			return &t->dns[i];
	return NULL;
}

void fn_egress_tick(struct fn_egress *t, uint64_t now_ms)
{
	for (unsigned i = 0; i < FN_DNS_TCP_MAX && t->dns_open > 0; i++) {
		if (t->dns[i].fd >= 0 && t->dns[i].deadline_ms <= now_ms) {
			t->st.dns_tcp_idle++;
			dns_conn_close(t, &t->dns[i]);
		}
	}
}

uint64_t fn_egress_next_deadline(const struct fn_egress *t)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < FN_DNS_TCP_MAX && t->dns_open > 0; i++)
		if (t->dns[i].fd >= 0 && t->dns[i].deadline_ms < next)
			next = t->dns[i].deadline_ms;
	return next;
}

/* A proxy or port listener: each waiting connection goes to the conn
 * hook (a budget per wake-up, as for DNS). */
static void tcp_hand(struct fn_egress *t, const struct fn_egress_fn *f, unsigned li, int fd)
{
	for (int i = 0; i < 32; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		t->st.tcp_handed++;
		t->h.conn(t->h.ctx, f, f->l[li].kind, c);
	}
}

/* f has a port listener on port: a connection there is netd's to serve. */
static bool has_port_listener(const struct fn_egress_fn *f, uint16_t port)
{
	for (unsigned k = 0; k < f->n; k++)
		if (f->l[k].kind == SBX_L_PORT && f->l[k].port == port)
			return true;
	return false;
}

/* The resets socket: each reset the kernel sent for a connection to a
 * fake address on a port with no listener is told to the refused hook
 * (a budget per wake-up). Anything else its filter let through is
 * counted and dropped. A port netd listens on is left to the listener
 * (its connections are netd's; a reset there is not the kernel's
 * refusal). */
static void resets_read(struct fn_egress *t, const struct fn_egress_fn *f, unsigned li, int fd)
{
	uint8_t p[SBX_RESETS_SNAP];
	struct tcp_refusal r;

	for (int i = 0; i < 32; i++) {
		ssize_t n = recv(fd, p, sizeof p, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return;
		if (tcp_refusal_parse(p, (size_t)n < sizeof p ? (size_t)n : sizeof p, &r) < 0) {
			t->st.resets_other++;
			continue;
		}
		if (has_port_listener(f, r.port))
			continue;
		t->st.port_refused++;
		if (t->h.refused != NULL)
			t->h.refused(t->h.ctx, f, f->l[li].kind, r.addr, r.port);
	}
}

bool fn_egress_io(struct fn_egress *t, int fd, uint32_t events, uint64_t now_ms)
{
	unsigned fi, li;
	struct fn_dns_conn *d;

	(void)events;   /* level-triggered: each handler reads until EAGAIN or its budget */
	if (!find_fd(t, fd, &fi, &li)) {
		if ((d = dns_conn_by_fd(t, fd)) == NULL)
			return false;
		dns_conn_io(t, d, now_ms);
		return true;
	}
	struct fn_egress_fn *f = &t->fn[fi];
	if (f->l[li].kind == SBX_L_DNS_UDP)
		dns_udp(t, f, fd);
	else if (f->l[li].kind == SBX_L_DNS_TCP)
		dns_tcp_accept(t, fi, li, fd, now_ms);
	else if (f->l[li].kind == SBX_L_RESETS)
		resets_read(t, f, li, fd);
	else if (t->h.conn != NULL)
		tcp_hand(t, f, li, fd);
	else
		tcp_refuse(t, f, li, fd);
	return true;
}

void fn_egress_clear(struct fn_egress *t)
{
	for (unsigned i = 0; i < FN_EGRESS_FN_MAX; i++)
		if (t->fn[i].used)
			fn_forget(t, &t->fn[i]);
	t->st.functions_known = 0;
}
