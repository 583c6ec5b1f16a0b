/* tests/test_fn_egress.c: net/fn_egress, the table of functions'
 * listeners, over real sockets on loopback (the test's own namespace
 * stands in for a function's):
 *   - NEW, MORE, RULES, GONE; each listener watched, then unwatched and
 *     closed; a new NEW for the same id replaces the old listeners;
 *   - malformed messages refused with their descriptors closed;
 *   - DNS on the UDP listener: an allowed name gets a stable fake address
 *     from the function's table, another name REFUSED and reported, an
 *     oversized datagram FORMERR;
 *   - a port connection goes to the conn hook, or is reset (the refused
 *     hook names where it was going and on which listener kind) when
 *     there is none;
 *   - DNS over TCP: queries split anywhere and pipelined, answered as
 *     over UDP (the same fake address), each framed; the idle deadline;
 *     a function's share of the pool; a bad length; a client that does
 *     not read its answers stops being read and loses none;
 *   - the kernel's resets: told to the refused hook unless netd listens
 *     on the port, anything else dropped, a budget a wake-up;
 *   - clear closes everything. */
#include "net/fn_egress.h"
#include "tests/reset_pkt.h"
#include "tests/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define NOW 1000000ULL   /* the tests' clock, in ms */

static struct fn_egress T;
static int watched[1024], nwatched, unwatched;
static int last_watch_fd = -1;
static uint32_t last_watch_events;
static char last_fn[SBX_ID_MAX];
static uint8_t last_kind;
static uint32_t last_addr;
static uint16_t last_port;
static int refused_calls, dns_calls;

static int watch(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	last_watch_fd = fd;
	last_watch_events = events;
	if (events == 0) {
		unwatched++;
		return 0;
	}
	if (nwatched < 1024)
		watched[nwatched++] = fd;
	return 0;
}

static char refused_name[256];
static int refused_res;

/* Names under .ok.test are allowed, for functions whose rule bit 1 is set. */
static bool name_allowed(void *ctx, const struct fn_egress_fn *f, const char *name, size_t len)
{
	(void)ctx;
	dns_calls++;
	snprintf(last_fn, sizeof last_fn, "%s", f->id);
	return (f->rules & 2) && len > 8 && memcmp(name + len - 8, ".ok.test", 8) == 0;
}

static void dns_refused(void *ctx, const struct fn_egress_fn *f, const struct dns_query *q,
			enum dns_result res)
{
	(void)ctx;
	(void)f;
	snprintf(refused_name, sizeof refused_name, "%s", q->name);
	refused_res = (int)res;
}

/* A query for name of type qtype into b; its length. */
static size_t query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype)
{
	size_t n = 12;
	const char *p = name;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8), b[1] = (uint8_t)id, b[2] = 0x01, b[5] = 1;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		b[n++] = (uint8_t)l;
		memcpy(b + n, p, l);
		n += l;
		p += l + (dot != NULL);
	}
	b[n++] = 0;
	b[n++] = (uint8_t)(qtype >> 8), b[n++] = (uint8_t)qtype;
	b[n++] = 0, b[n++] = 1;
	return n;
}

/* Sends a query for name on c to port, lets the table serve udp; the
 * reply's RCODE, and in *addr the A record's address (0: none). -1: no
 * reply. */
static int ask(int c, int udp, uint16_t port, const char *name, uint16_t qtype, uint32_t *addr)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t b[600];
	size_t n = query(b, 0x1234, name, qtype);

	*addr = 0;
	sendto(c, b, n, 0, (struct sockaddr *)&to, sizeof to);
	struct pollfd p = { .fd = udp, .events = POLLIN };
	if (poll(&p, 1, 2000) != 1 || !fn_egress_io(&T, udp, EPOLLIN, NOW))
		return -1;
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	ssize_t r = poll(&p, 1, 2000) == 1 ? recv(c, b, sizeof b, 0) : -1;
	if (r < 12 || b[0] != 0x12 || b[1] != 0x34 || !(b[2] & 0x80))
		return -1;
	if (b[7] == 1 && r >= 16)   /* one answer: the A record's data ends the reply */
		*addr = (uint32_t)b[r - 4] << 24 | (uint32_t)b[r - 3] << 16 |
			(uint32_t)b[r - 2] << 8 | b[r - 1];
	return b[3] & 0x0f;
}

static void refused(void *ctx, const struct fn_egress_fn *f, uint8_t kind, uint32_t addr,
		    uint16_t port)
{
	(void)ctx;
	refused_calls++;
	snprintf(last_fn, sizeof last_fn, "%s", f->id);
	last_kind = kind;
	last_addr = addr;
	last_port = port;
}

/* A socket bound to 127.0.0.1:0 (TCP listening); its port in *port. */
static int bound(int type, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	/* blocking, as sandboxd makes them: the table must not sleep in accept() */
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    (type == SOCK_STREAM && listen(s, 8) != 0) ||
	    getsockname(s, (struct sockaddr *)&a, &al) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return s;
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static struct sbx_egress_msg msg(const char *id, uint8_t op, uint32_t rules)
{
	struct sbx_egress_msg m;

	memset(&m, 0, sizeof m);
	snprintf(m.function, sizeof m.function, "%s", id);
	m.op = op;
	m.egress_rules = rules;
	return m;
}

/* Waits for fd to be readable, then lets the table serve listener l. */
static bool serve(int l, int fd_ready)
{
	struct pollfd p = { .fd = fd_ready, .events = POLLIN };
	if (poll(&p, 1, 2000) != 1)
		return false;
	return fn_egress_io(&T, l, EPOLLIN, NOW);
}

static void test_messages(void)
{
	struct fn_egress_hooks h = { .watch = watch, .name_allowed = name_allowed,
				     .dns_refused = dns_refused, .refused = refused };
	uint16_t pu, pt, pp;
	int udp = bound(SOCK_DGRAM, &pu), tcp = bound(SOCK_STREAM, &pt), tcp2 = bound(SOCK_STREAM, &pp);

	fn_egress_init(&T, &h);
	ok(udp >= 0 && tcp >= 0 && tcp2 >= 0, "three loopback listeners");

	struct sbx_egress_msg m = msg("fn-a", SBX_EGRESS_NEW, 0x5);
	m.egress_kbps = 4096;
	m.nlisteners = 2;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_DNS_UDP, .port = pu };
	m.l[1] = (struct sbx_listener){ .kind = SBX_L_PORT, .port = pt };
	int fds[4] = { udp, tcp };
	is_int(fn_egress_take(&T, &m, sizeof m, fds, 2), 0, "NEW with two listeners: taken");
	is_int(nwatched, 2, "  both watched");
	ok(fn_egress_by_fd(&T, tcp) != NULL && fn_egress_by_fd(&T, tcp)->rules == 0x5 &&
	   strcmp(fn_egress_by_fd(&T, udp)->id, "fn-a") == 0, "  found by descriptor, with its rules");
	is_int(fn_egress_by_fd(&T, tcp)->egress_kbps, 4096, "  and its egress cap");
	ok(!fn_egress_io(&T, 12345, EPOLLIN, NOW), "a descriptor not in the table: not served");

	m = msg("fn-a", SBX_EGRESS_MORE, 0);
	m.nlisteners = 1;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_PROXY, .port = pp };
	fds[0] = tcp2;
	is_int(fn_egress_take(&T, &m, sizeof m, fds, 1), 0, "MORE: a third listener");
	is_int((int)T.st.listeners, 3, "  three listeners held");

	m = msg("fn-a", SBX_EGRESS_RULES, 0x2);
	m.egress_kbps = 64;
	is_int(fn_egress_take(&T, &m, sizeof m, NULL, 0), 0, "RULES: taken");
	ok(fn_egress_by_fd(&T, tcp)->rules == 0x2, "  the rules changed, the listeners stay");
	is_int(fn_egress_by_fd(&T, tcp)->egress_kbps, 64, "  and the cap with them");

	/* DNS: fn-a's rules (0x2) allow *.ok.test */
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint32_t a1 = 0, a2 = 0, a3 = 0;
	int rc = ask(c, udp, pu, "one.ok.test", 1, &a1);
	ok(rc == 0 && a1 == 0x7f400001, "DNS: an allowed name gets 127.64.0.1 (%08x)", a1);
	rc = ask(c, udp, pu, "Two.OK.test", 1, &a2);
	ok(rc == 0 && a2 == 0x7f400002, "  another gets 127.64.0.2, whatever its case (%08x)", a2);
	ok(ask(c, udp, pu, "one.ok.test", 1, &a3) == 0 && a3 == a1, "  the first again: the same");
	ok(ask(c, udp, pu, "one.ok.test", 28, &a3) == 0 && a3 == 0, "  AAAA: NOERROR, no record");
	ok(strcmp(last_fn, "fn-a") == 0, "  decided for fn-a");
	ok(ask(c, udp, pu, "evil.example", 1, &a3) == 5 && strcmp(refused_name, "evil.example") == 0 &&
	   refused_res == DNS_RES_REFUSED, "a name no rule allows: REFUSED, reported");
	refused_name[0] = '\0';
	ok(ask(c, udp, pu, "bad_name.ok.test", 1, &a3) == 5 && refused_name[0] == '\0',
	   "a name no rule can allow (an underscore): REFUSED by its form, not reported");
	ok(T.fn[0].fakes != NULL && fakeaddr_count(T.fn[0].fakes) == 2, "  fn-a's table holds 2 names");
	/* a datagram longer than any query: FORMERR, the hook not asked */
	static uint8_t big[2000];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(pu),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[1024];
	int calls = dns_calls;
	query(big, 0x1234, "x.ok.test", 1);
	sendto(c, big, sizeof big, 0, (struct sockaddr *)&to, sizeof to);
	ok(serve(udp, udp) && dns_calls == calls, "a 2000-byte datagram: not decided on");
	struct pollfd p = { .fd = c, .events = POLLIN };
	ssize_t n = poll(&p, 1, 2000) == 1 ? recv(c, buf, sizeof buf, 0) : -1;
	ok(n >= 12 && (buf[3] & 0x0f) == 1, "  answered FORMERR");
	close(c);

	/* a TCP connection: reset, reported */
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	to.sin_port = htons(pt);
	ok(connect(c, (struct sockaddr *)&to, sizeof to) == 0, "a connection to the port listener");
	ok(serve(tcp, tcp), "  served");
	ok(refused_calls == 1 && last_kind == SBX_L_PORT && last_addr == INADDR_LOOPBACK &&
	   last_port == pt && strcmp(last_fn, "fn-a") == 0,
	   "  reported refused: fn-a, a port listener, 127.0.0.1 and the port dialled");
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	poll(&p, 1, 2000);
	n = recv(c, buf, sizeof buf, 0);
	ok(n < 0 && errno == ECONNRESET, "  the function sees a reset (%s)", n < 0 ? strerror(errno) : "data");
	close(c);

	/* a second NEW for the same id replaces the listeners */
	uint16_t pn;
	int fresh = bound(SOCK_STREAM, &pn);
	m = msg("fn-a", SBX_EGRESS_NEW, 0x1);
	m.nlisteners = 1;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_PORT, .port = pn };
	fds[0] = fresh;
	unwatched = 0;
	is_int(fn_egress_take(&T, &m, sizeof m, fds, 1), 0, "NEW again for fn-a: taken");
	ok(unwatched == 3 && !is_open(udp) && !is_open(tcp) && !is_open(tcp2) && is_open(fresh),
	   "  the old three unwatched and closed, the new one kept");
	is_int((int)T.st.functions_known, 1, "  one function known");

	/* GONE */
	m = msg("fn-a", SBX_EGRESS_GONE, 0);
	is_int(fn_egress_take(&T, &m, sizeof m, NULL, 0), 0, "GONE: taken");
	ok(!is_open(fresh) && fn_egress_by_fd(&T, fresh) == NULL && T.st.listeners == 0,
	   "  its listener closed and forgotten");
	m = msg("fn-a", SBX_EGRESS_RULES, 0);
	is_int(fn_egress_take(&T, &m, sizeof m, NULL, 0), -ENOENT, "RULES of an unknown function: -ENOENT");
}

/* m (len bytes, one descriptor) is refused with -EBADMSG and the
 * descriptor closed. */
static void refused_msg(const char *what, const struct sbx_egress_msg *m, size_t len, bool with_l)
{
	uint16_t port;
	int fd = bound(SOCK_STREAM, &port);
	struct sbx_egress_msg c = *m;

	if (with_l && c.nlisteners == 0) {
		c.nlisteners = 1;
		c.l[0] = (struct sbx_listener){ .kind = SBX_L_PORT, .port = 443 };
	}
	int r = fn_egress_take(&T, &c, len, &fd, 1);
	ok(r == -EBADMSG && !is_open(fd), "%s: -EBADMSG, its descriptor closed (%d)", what, r);
}

static void test_malformed(void)
{
	const size_t full = sizeof(struct sbx_egress_msg);
	struct sbx_egress_msg m;
	uint64_t before = T.st.malformed;

	m = msg("f", SBX_EGRESS_NEW, 0);
	refused_msg("a short message", &m, 10, true);
	m = msg("", SBX_EGRESS_NEW, 0);
	refused_msg("an empty id", &m, full, true);
	m = msg("f", SBX_EGRESS_NEW, 0);
	memset(m.function, 'a', sizeof m.function);
	refused_msg("an id without its NUL", &m, full, true);
	m = msg("f", SBX_EGRESS_NEW, 0);
	m.nlisteners = 1;
	m.l[0] = (struct sbx_listener){ .kind = 9, .port = 443 };
	refused_msg("an unknown listener kind", &m, full, true);
	m = msg("f", SBX_EGRESS_NEW, 0);
	refused_msg("more descriptors than listeners", &m, full, false);
	m = msg("f", SBX_EGRESS_RULES, 0);
	refused_msg("RULES with a descriptor", &m, full, true);
	m = msg("f", 9, 0);
	refused_msg("an unknown op", &m, full, true);
	m = msg("f", SBX_EGRESS_NEW, 0);
	m.nlisteners = 1;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_PORT, .port = 0 };
	refused_msg("port 0", &m, full, true);
	m = msg("f", SBX_EGRESS_NEW, 0);
	m.nlisteners = 1;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_RESETS, .port = 443 };
	refused_msg("a resets socket with a port", &m, full, true);
	is_int((int)(T.st.malformed - before), 9, "each counted");
}

static void test_full_and_clear(void)
{
	struct sbx_egress_msg m;
	char id[16];
	uint16_t port;
	int last = -1, over;

	for (unsigned i = 0; i < FN_EGRESS_FN_MAX; i++) {
		snprintf(id, sizeof id, "f%u", i);
		m = msg(id, SBX_EGRESS_NEW, 0);
		m.nlisteners = 1;
		m.l[0] = (struct sbx_listener){ .kind = SBX_L_PROXY, .port = 3128 };
		last = bound(SOCK_STREAM, &port);
		if (fn_egress_take(&T, &m, sizeof m, &last, 1) != 0)
			break;
	}
	is_int((int)T.st.functions_known, FN_EGRESS_FN_MAX, "%d functions held", FN_EGRESS_FN_MAX);
	m = msg("one-more", SBX_EGRESS_NEW, 0);
	m.nlisteners = 1;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_PROXY, .port = 3128 };
	over = bound(SOCK_STREAM, &port);
	ok(fn_egress_take(&T, &m, sizeof m, &over, 1) == -ENOSPC && !is_open(over),
	   "one more: -ENOSPC, its descriptor closed");
	fn_egress_clear(&T);
	ok(T.st.listeners == 0 && T.st.functions_known == 0 && !is_open(last),
	   "clear: every listener closed");
}

/* With a conn hook, port and proxy connections are handed over (the
 * hook owns them); DNS over TCP stays the table's; with none, a port
 * connection is reset. */
static int handed_fd = -1, handed_calls;
static uint8_t handed_kind;

static void conn(void *ctx, const struct fn_egress_fn *f, uint8_t kind, int fd)
{
	(void)ctx;
	(void)f;
	handed_calls++;
	handed_kind = kind;
	handed_fd = fd;
}

static void test_conn_hook(void)
{
	struct fn_egress_hooks h = { .watch = watch, .refused = refused, .conn = conn };
	uint16_t pp, pd;
	int lp = bound(SOCK_STREAM, &pp), ld = bound(SOCK_STREAM, &pd);
	int fds[2] = { lp, ld };
	struct sbx_egress_msg m = msg("hooked", SBX_EGRESS_NEW, 1);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	fn_egress_init(&T, &h);
	m.nlisteners = 2;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_PORT, .port = pp };
	m.l[1] = (struct sbx_listener){ .kind = SBX_L_DNS_TCP, .port = pd };
	ok(fn_egress_take(&T, &m, sizeof m, fds, 2) == 0, "a port and a DNS-over-TCP listener");
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_port = htons(pp);
	int r0 = refused_calls;
	ok(connect(c, (struct sockaddr *)&a, sizeof a) == 0 && serve(lp, lp) && handed_calls == 1 &&
	   handed_kind == SBX_L_PORT && is_open(handed_fd) && refused_calls == r0 &&
	   T.st.tcp_handed == 1, "a port connection: handed to the conn hook, open, not refused");
	int fl = handed_fd >= 0 ? fcntl(handed_fd, F_GETFL) : -1;
	ok(fl >= 0 && (fl & O_NONBLOCK), "  non-blocking");
	if (handed_fd >= 0)
		close(handed_fd);
	close(c);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_port = htons(pd);
	ok(connect(c, (struct sockaddr *)&a, sizeof a) == 0 && serve(ld, ld) && handed_calls == 1 &&
	   refused_calls == r0 && T.dns_open == 1, "DNS over TCP: served by the table, not handed");
	close(c);
	fn_egress_clear(&T);
	is_int((int)T.dns_open, 0, "clear closes the DNS-over-TCP connection");
	/* no conn hook: a port connection is reset, and said */
	h.conn = NULL;
	lp = bound(SOCK_STREAM, &pp);
	fds[0] = lp;
	m.nlisteners = 1;
	m.l[0].port = pp;
	fn_egress_init(&T, &h);
	ok(fn_egress_take(&T, &m, sizeof m, fds, 1) == 0, "a port listener, no conn hook");
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_port = htons(pp);
	ok(connect(c, (struct sockaddr *)&a, sizeof a) == 0 && serve(lp, lp) &&
	   refused_calls == r0 + 1 && last_kind == SBX_L_PORT && last_port == pp &&
	   last_addr == INADDR_LOOPBACK, "  its connection reset, the refused hook told where to");
	close(c);
	fn_egress_clear(&T);
}

/* --- the kernel's resets ---------------------------------------------------------- */

/* The resets socket (a datagram socketpair stands in for sandboxd's
 * packet socket; the real one is tests/test_sandboxd.c's): each reset
 * read is told to the refused hook with the address and port dialled,
 * unless netd listens on that port; anything else is counted and
 * dropped; a budget per wake-up. */
static void test_resets(void)
{
	struct fn_egress_hooks h = { .watch = watch, .refused = refused };
	uint16_t pp;
	int sv[2], lp = bound(SOCK_STREAM, &pp);
	uint8_t b[SBX_RESETS_SNAP];
	size_t n;

	fn_egress_init(&T, &h);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	int fds[2] = { sv[0], lp };
	struct sbx_egress_msg m = msg("resets", SBX_EGRESS_NEW, 1);
	m.nlisteners = 2;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_RESETS, .port = 0 };
	m.l[1] = (struct sbx_listener){ .kind = SBX_L_PORT, .port = pp };
	ok(fn_egress_take(&T, &m, sizeof m, fds, 2) == 0, "a resets socket and a port listener");
	int r0 = refused_calls;
	n = reset_pkt(b, 0x7f400005u, 9, 40000, 20, 20);
	ok(send(sv[1], b, n, 0) == (ssize_t)n && fn_egress_io(&T, sv[0], EPOLLIN, NOW) &&
	   refused_calls == r0 + 1 && last_kind == SBX_L_RESETS && last_addr == 0x7f400005u &&
	   last_port == 9 && strcmp(last_fn, "resets") == 0 && T.st.port_refused == 1,
	   "a reset from 127.64.0.5:9: the refused hook told (the function, the kind, where to)");
	n = reset_pkt(b, 0x7f400005u, pp, 40001, 20, 20);
	ok(send(sv[1], b, n, 0) == (ssize_t)n && fn_egress_io(&T, sv[0], EPOLLIN, NOW) &&
	   refused_calls == r0 + 1 && T.st.port_refused == 1,
	   "  one from a port netd listens on: left to the listener");
	b[9] = 17;
	ok(send(sv[1], b, n, 0) == (ssize_t)n && fn_egress_io(&T, sv[0], EPOLLIN, NOW) &&
	   refused_calls == r0 + 1 && T.st.resets_other == 1, "  a UDP packet: counted, dropped");
	for (int i = 0; i < 40; i++) {
		n = reset_pkt(b, 0x7f400006u, (uint16_t)(1000 + i), 40002, 20, 20);
		send(sv[1], b, n, 0);
	}
	ok(fn_egress_io(&T, sv[0], EPOLLIN, NOW) && refused_calls == r0 + 33,
	   "  40 at once: 32 a wake-up");
	ok(fn_egress_io(&T, sv[0], EPOLLIN, NOW) && refused_calls == r0 + 41 && last_port == 1039,
	   "  the rest at the next");
	close(sv[1]);
	fn_egress_clear(&T);
	ok(!is_open(sv[0]) && !is_open(lp), "clear closes the resets socket");
}

/* --- DNS over TCP ------------------------------------------------------------- */

/* A TCP connection to port on loopback; rcvbuf > 0 sets its receive buffer
 * before connect, so the window it offers is small from the start (set
 * later, the window already offered still lets the peer send that much). */
static int dial_rcvbuf(uint16_t port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (c < 0)
		return -1;
	if ((rcvbuf > 0 && setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) ||
	    connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
		close(c);
		return -1;
	}
	return c;
}

static int dial(uint16_t port)
{
	return dial_rcvbuf(port, 0);
}

/* A query framed for TCP (its two-byte length first) into b: its length. */
static size_t tcp_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype)
{
	size_t n = query(b + 2, id, name, qtype);

	b[0] = (uint8_t)(n >> 8), b[1] = (uint8_t)n;
	return n + 2;
}

/* Reads one framed reply from c (blocking up to 2 s): the reply's length
 * into r (cap bytes), or -1. */
static long tcp_reply(int c, uint8_t *r, size_t cap)
{
	uint8_t hdr[2];
	size_t got = 0, len = 0;

	while (got < 2 + len) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		if (poll(&p, 1, 2000) != 1)
			return -1;
		uint8_t *to = got < 2 ? hdr + got : r + (got - 2);
		size_t want = got < 2 ? 2 - got : 2 + len - got;
		ssize_t n = recv(c, to, want, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (got == 2) {
			len = (size_t)hdr[0] << 8 | hdr[1];
			if (len > cap || len < 12)
				return -1;
		}
	}
	return (long)len;
}

/* The A record's address of reply r (n bytes), 0 for none. */
static uint32_t reply_addr(const uint8_t *r, long n)
{
	if (n < 16 || r[7] != 1)
		return 0;
	return (uint32_t)r[n - 4] << 24 | (uint32_t)r[n - 3] << 16 | (uint32_t)r[n - 2] << 8 |
	       r[n - 1];
}

/* Lets the table serve the DNS connection d once its socket has bytes. */
static bool serve_conn(int d)
{
	struct pollfd p = { .fd = d, .events = POLLIN };

	return poll(&p, 1, 2000) == 1 && fn_egress_io(&T, d, EPOLLIN, NOW);
}

static void test_dns_tcp(void)
{
	struct fn_egress_hooks h = { .watch = watch, .name_allowed = name_allowed,
				     .dns_refused = dns_refused, .refused = refused };
	uint16_t pu, pt;
	int udp = bound(SOCK_DGRAM, &pu), ld = bound(SOCK_STREAM, &pt);
	int fds[2] = { udp, ld };
	struct sbx_egress_msg m = msg("dnsfn", SBX_EGRESS_NEW, 0x2);
	static uint8_t b[32768];
	uint8_t r[600];
	uint32_t udp_addr;

	fn_egress_init(&T, &h);
	m.nlisteners = 2;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_DNS_UDP, .port = pu };
	m.l[1] = (struct sbx_listener){ .kind = SBX_L_DNS_TCP, .port = pt };
	ok(fn_egress_take(&T, &m, sizeof m, fds, 2) == 0, "DNS over UDP and TCP listeners");
	int cu = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	is_int(ask(cu, udp, pu, "api.ok.test", 1, &udp_addr), 0, "  the name's address over UDP");
	close(cu);

	int c = dial(pt);
	int w0 = nwatched;
	ok(c >= 0 && serve(ld, ld) && T.dns_open == 1 && nwatched == w0 + 1 &&
	   T.st.dns_tcp_accepted == 1, "a connection: accepted into the pool, watched");
	int d = nwatched > w0 ? watched[nwatched - 1] : -1;
	is_int((int)(fn_egress_next_deadline(&T) - NOW), FN_DNS_TCP_IDLE_MS, "  its idle deadline");

	/* three queries in one stream, cut after one byte and inside the second */
	size_t n = tcp_query(b, 1, "api.ok.test", 1);
	size_t n2 = tcp_query(b + n, 2, "evil.test", 1);
	size_t n3 = tcp_query(b + n + n2, 3, "api.ok.test", 28);
	size_t all = n + n2 + n3, cut = n + 5;
	refused_name[0] = '\0';
	ok(send(c, b, 1, 0) == 1 && serve_conn(d) && T.dns_open == 1, "one byte: nothing yet");
	ok(send(c, b + 1, cut - 1, 0) == (ssize_t)(cut - 1) && serve_conn(d),
	   "the first query and part of the second");
	long rl = tcp_reply(c, r, sizeof r);
	ok(rl > 0 && r[0] == 0 && r[1] == 1 && (r[3] & 15) == 0 && reply_addr(r, rl) == udp_addr &&
	   udp_addr != 0, "  answered: the same fake address as over UDP");
	ok(send(c, b + cut, all - cut, 0) == (ssize_t)(all - cut) && serve_conn(d), "the rest");
	rl = tcp_reply(c, r, sizeof r);
	ok(rl > 0 && r[1] == 2 && (r[3] & 15) == 5 && strcmp(refused_name, "evil.test") == 0 &&
	   refused_res == DNS_RES_REFUSED, "  evil.test: REFUSED, and the hook told");
	rl = tcp_reply(c, r, sizeof r);
	ok(rl > 0 && r[1] == 3 && (r[3] & 15) == 0 && r[7] == 0, "  AAAA: NOERROR, no record");

	/* idle: closed at its deadline, not before */
	uint64_t dl = fn_egress_next_deadline(&T);
	fn_egress_tick(&T, dl - 1);
	is_int((int)T.dns_open, 1, "a tick before the deadline leaves it open");
	fn_egress_tick(&T, dl);
	ok(T.dns_open == 0 && T.st.dns_tcp_idle == 1 && !is_open(d), "at the deadline: closed");
	ok(tcp_reply(c, r, sizeof r) < 0, "  the client sees the end");
	is_int((int)(fn_egress_next_deadline(&T) == UINT64_MAX), 1, "  no deadline left");
	close(c);

	/* a function's share */
	int cs[FN_DNS_TCP_PER_FN + 1];
	for (unsigned i = 0; i <= FN_DNS_TCP_PER_FN; i++)
		cs[i] = dial(pt);
	int rc0 = refused_calls;
	struct pollfd pl = { .fd = ld, .events = POLLIN };
	ok(poll(&pl, 1, 2000) == 1 && fn_egress_io(&T, ld, EPOLLIN, NOW), "five connections at once");
	ok(T.dns_open == FN_DNS_TCP_PER_FN && T.st.dns_tcp_busy == 1 && refused_calls == rc0 + 1 &&
	   last_kind == SBX_L_DNS_TCP, "  four served, the fifth reset and said");
	int resets = 0;
	for (unsigned i = 0; i <= FN_DNS_TCP_PER_FN; i++) {
		struct pollfd p = { .fd = cs[i], .events = POLLIN };
		if (poll(&p, 1, 0) == 1 && recv(cs[i], r, 1, MSG_DONTWAIT) < 0 && errno == ECONNRESET)
			resets++;
		close(cs[i]);
	}
	is_int(resets, 1, "  one client reset");
	fn_egress_clear(&T);
	is_int((int)T.dns_open, 0, "clear closes them");

	/* a length of 0: closed */
	fds[0] = bound(SOCK_STREAM, &pt);
	m.nlisteners = 1;
	m.l[0] = (struct sbx_listener){ .kind = SBX_L_DNS_TCP, .port = pt };
	ok(fn_egress_take(&T, &m, sizeof m, fds, 1) == 0, "again, a DNS-over-TCP listener");
	ld = fds[0];
	c = dial(pt);
	ok(c >= 0 && serve(ld, ld) && T.dns_open == 1, "a connection");
	d = watched[nwatched - 1];
	static const uint8_t zero[2] = { 0, 0 };
	ok(send(c, zero, 2, 0) == 2 && serve_conn(d) && T.dns_open == 0 && T.st.dns_tcp_bad == 1,
	   "a length of 0: the connection closed");
	close(c);

	/* a client that sends 1000 queries and reads nothing for a while */
	enum { NQ = 1000 };
	/* its buffers hold far fewer than 1000 answers (~47 KB): the client's
	 * receive buffer is small before it connects, the table's send buffer
	 * is small too */
	int small = 4096;
	c = dial_rcvbuf(pt, small);
	ok(c >= 0 && serve(ld, ld) && T.dns_open == 1, "a connection that will not read");
	d = watched[nwatched - 1];
	setsockopt(d, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	size_t q = 0;
	for (unsigned i = 0; i < NQ; i++)
		q += tcp_query(b + q, (uint16_t)(i + 1), "api.ok.test", 1);
	ok(q < sizeof b && send(c, b, q, 0) == (ssize_t)q, "  its 1000 queries sent");
	/* the table runs when its socket has bytes, as under epoll: loopback
	 * may deliver the queries later than send() returns (softirq work
	 * deferred to ksoftirqd on a loaded machine), so no blind spinning */
	bool stopped = false;
	for (int i = 0; i < 1000 && !stopped; i++) {
		struct pollfd p = { .fd = d, .events = POLLIN };
		if (poll(&p, 1, 2000) != 1)
			break;
		(void)fn_egress_io(&T, d, EPOLLIN, NOW);
		stopped = last_watch_fd == d && last_watch_events == EPOLLOUT;
	}
	ok(stopped && T.dns_open == 1, "  the answers wait: the table asks for room, not bytes");
	unsigned got = 0, in_order = 0;
	while (got < NQ) {
		/* the client reads what came; the table runs when its socket is
		 * ready for what it asked (room, or bytes) */
		short want = last_watch_events == EPOLLOUT ? POLLOUT : POLLIN;
		struct pollfd p[2] = { { .fd = c, .events = POLLIN }, { .fd = d, .events = want } };
		if (poll(p, 2, 2000) < 1)
			break;
		if (p[0].revents & POLLIN) {
			rl = tcp_reply(c, r, sizeof r);
			if (rl < 0)
				break;
			got++;
			in_order += ((unsigned)r[0] << 8 | r[1]) == got && reply_addr(r, rl) == udp_addr;
		}
		if (p[1].revents)
			(void)fn_egress_io(&T, d, (uint32_t)p[1].revents, NOW);
	}
	ok(got == NQ && in_order == NQ, "  once it reads: all 1000 answers, in order");
	ok(T.dns_open == 1 && last_watch_events == EPOLLIN, "  and the table reads again");
	close(c);
	fn_egress_clear(&T);
}

int main(void)
{
	test_messages();
	test_malformed();
	test_full_and_clear();
	test_conn_hook();
	test_resets();
	test_dns_tcp();
	return tap_done();
}
