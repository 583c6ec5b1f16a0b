/* tests/test_fn_egress.c: net/fn_egress, the table of functions'
 * listeners, over real sockets on loopback (the test's own namespace
 * stands in for a function's):
 *   - NEW, MORE, RULES, GONE; each listener watched, then unwatched and
 *     closed; a new NEW for the same id replaces the old listeners;
 *   - malformed messages refused with their descriptors closed;
 *   - DNS on the UDP listener: an allowed name gets a stable fake address
 *     from the function's table, another name REFUSED and reported, an
 *     oversized datagram FORMERR;
 *   - a TCP connection is reset, and the refused hook names where it was
 *     going and on which listener kind;
 *   - clear closes everything. */
#include "net/fn_egress.h"
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

static struct fn_egress T;
static int watched[64], nwatched, unwatched;
static char last_fn[SBX_ID_MAX];
static uint8_t last_kind;
static uint32_t last_addr;
static uint16_t last_port;
static int refused_calls, dns_calls;

static int watch(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	if (events == 0) {
		unwatched++;
		return 0;
	}
	if (nwatched < 64)
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
	if (poll(&p, 1, 2000) != 1 || !fn_egress_io(&T, udp, EPOLLIN))
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
	return fn_egress_io(&T, l, EPOLLIN);
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
	ok(!fn_egress_io(&T, 12345, EPOLLIN), "a descriptor not in the table: not served");

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
	is_int((int)(T.st.malformed - before), 8, "each counted");
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
 * hook owns them); DNS over TCP is still reset. */
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
	   refused_calls == r0 + 1 && last_kind == SBX_L_DNS_TCP, "DNS over TCP: still refused");
	close(c);
	fn_egress_clear(&T);
}

int main(void)
{
	test_messages();
	test_malformed();
	test_full_and_clear();
	test_conn_hook();
	return tap_done();
}
