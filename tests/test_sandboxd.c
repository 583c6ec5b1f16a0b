/* tests/test_sandboxd.c: sandboxd's core over socketpairs (needs root).
 *
 * The test plays netd, keyd and logd on socketpairs and drives the core one
 * round at a time. The store is real (a temp directory); the python layer
 * is the host's /usr with the repository's worker added by a read-only
 * overlay (in this test's private mount namespace), so real Python
 * workers run in real sandboxes; the native function is a static test
 * program (tests/escape/fn_echo.c); DSHIELD_TEST_LAYERS=DIR takes the
 * layer trees of DIR instead (make layer-trees: build/layers). No cgroup
 * root is given: workers are
 * killed through their pidfd and limits are reported as not enforced.
 *
 * After the setup the test takes on sandboxd's own limits (its row in the
 * role table): uid 0 with only SANDBOXD_CAPS in the bounding, permitted
 * and effective sets, not dumpable, no_new_privs and sandboxd_seccomp_rules, so every
 * spawn below proves the role can do it with what it keeps.
 */
#include "sandboxd/sandboxd.h"
#include "crypto/log_entry.h"
#include "lib/base64.h"
#include "lib/file.h"
#include "lib/frame.h"
#include "net/tcp_refusal.h"
#include "proto/fn_frame.h"
#include "proto/logd.h"
#include "proto/sandboxd_keyd.h"
#include "tests/tap.h"

#include <bearssl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netpacket/packet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* LeakSanitizer's exit check stops the world with ptrace, which the
 * role's filter refuses: under ASan the filter is left out (said so). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

#define ADMIN "dshield_0000000000000000000000000000000000000000000000000000000000000001"
#define ROUNDS 1500   /* 20 ms each: a bound so that a bug fails, never hangs */

static struct sandboxd SD;
static struct policy pol;
static struct policy_tokens ptoks;
static struct fn_decl_tokens dtoks;
static char base[] = "/tmp/sandboxd.XXXXXX";
static char p_layers[128], p_store[128], p_work[128], p_policy[128], self_dir[512];
static int netd = -1, keyd = -1, logd = -1;
static int keyd_answer, logd_answer;   /* 0: accept; < 0: refuse with it */
/* logd answers as IMSG_LOG_APPENDED_MANY: a stale id's answer, then the
 * append's (proto/logd.h: a change that timed out at logd, then the next) */
static bool logd_many;
static char seen[64];                  /* 'k' keyd asked, 'l' logd asked, 'r' netd got a reply */
static struct fn_event_msg last_ev;
static uint8_t last_entry[512];
static size_t last_entry_len;
static uint32_t seq = 100;
static uint64_t next_arg;              /* the next request's arg */
static uint8_t next_shape;             /* the next request's shape */
static struct imsg in;
static struct sbx_worker_end_msg ends[16];
static unsigned nends;
static uint8_t admin_sha[32];
static bool have_python, have_node;

static void die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(2);
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	br_sha256_context c;
	br_sha256_init(&c);
	br_sha256_update(&c, p, n);
	br_sha256_out(&c, out);
}

static void note(char c)
{
	size_t n = strlen(seen);
	if (n + 1 < sizeof seen) {
		seen[n] = c;
		seen[n + 1] = '\0';
	}
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	unlink(path);   /* a 0444 file is not writable without DAC_OVERRIDE */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || file_write_all(fd, p, n) < 0)
		die(path);
	close(fd);
}

/* --- the fake peers ------------------------------------------------------------- */

static void pump_peers(void)
{
	while (imsg_recv(keyd, &in) == 0) {
		struct fn_event_reply_msg rep = { .error = keyd_answer, .events = 3 };
		if (in.hdr.type == IMSG_FN_EVENT_REQ && in.hdr.len == sizeof last_ev)
			memcpy(&last_ev, in.payload, sizeof last_ev);
		note('k');
		imsg_send(keyd, IMSG_FN_EVENT_REPLY, in.hdr.id, &rep, sizeof rep, NULL, 0);
		imsg_close_fds(&in);
	}
	while (imsg_recv(logd, &in) == 0) {
		struct log_appended_msg rep = { .error = logd_answer, .index = 7 };
		if (in.hdr.type == IMSG_LOG_APPEND && in.hdr.len <= sizeof last_entry) {
			memcpy(last_entry, in.payload, in.hdr.len);
			last_entry_len = in.hdr.len;
		}
		note('l');
		if (logd_many) {
			struct log_appended_one two[2] = { { in.hdr.id - 1000, 0, 6 },
							   { in.hdr.id, logd_answer, 7 } };
			imsg_send(logd, IMSG_LOG_APPENDED_MANY, 0, two, sizeof two, NULL, 0);
		} else {
			imsg_send(logd, IMSG_LOG_APPENDED, in.hdr.id, &rep, sizeof rep, NULL, 0);
		}
		imsg_close_fds(&in);
	}
}

/* The egress messages sandboxd sent netd (proto/netd_sandboxd.h), kept
 * aside with their listeners' descriptors, in order. */
struct egress_seen {
	struct sbx_egress_msg m;
	int fds[SBX_EGRESS_FDS];
	unsigned nfds;
};
static struct egress_seen eg[64];
static unsigned neg;

static void egress_forget(void)
{
	for (unsigned i = 0; i < neg; i++)
		for (unsigned k = 0; k < eg[i].nfds; k++)
			close(eg[i].fds[k]);
	neg = 0;
}

/* The last IMSG_SBX_INJECT (header injection's values) and their count. */
static uint8_t inj[IMSG_MAX_PAYLOAD];
static size_t inj_len;
static unsigned ninj;

/* One message from sandboxd to netd; WORKER_END, EGRESS and INJECT
 * messages are kept aside. */
static int netd_recv(void)
{
	for (;;) {
		int r = imsg_recv(netd, &in);
		if (r < 0)
			return r;
		if (in.hdr.type == IMSG_SBX_EGRESS) {
			if (in.hdr.len != sizeof eg[0].m || neg == 64) {
				imsg_close_fds(&in);
				continue;
			}
			struct egress_seen *e = &eg[neg++];
			memcpy(&e->m, in.payload, sizeof e->m);
			e->nfds = in.nfds;
			for (unsigned k = 0; k < in.nfds; k++)
				e->fds[k] = imsg_take_fd(&in, k);
			continue;
		}
		if (in.hdr.type == IMSG_SBX_INJECT) {
			if (in.hdr.len <= sizeof inj) {
				memcpy(inj, in.payload, in.hdr.len);
				inj_len = in.hdr.len;
				ninj++;
			}
			imsg_close_fds(&in);
			continue;
		}
		if (in.hdr.type != IMSG_SBX_WORKER_END)
			return 0;
		if (nends < 16 && in.hdr.len == sizeof ends[0])
			memcpy(&ends[nends++], in.payload, sizeof ends[0]);
		imsg_close_fds(&in);
	}
}

/* Drains what sandboxd sent netd unasked (EGRESS, WORKER_END). */
static void netd_drain(void)
{
	for (int i = 0; i < 5; i++) {
		sandboxd_round(&SD, 10);
		if (netd_recv() == 0)
			imsg_close_fds(&in);
	}
}

/* The socket's network namespace is not this process's: it was made in
 * the function's. */
static bool other_netns(int fd)
{
	struct stat a, b;
	int ns = ioctl(fd, SIOCGSKNS);
	bool other = ns >= 0 && fstat(ns, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 &&
		     a.st_ino != b.st_ino;
	if (ns >= 0)
		close(ns);
	return other;
}

/* Listener k of a NEW/MORE run is what its descriptor says: kind, port,
 * type, listening, bound where the kind says, in the function's netns. */
static bool listener_is(int fd, const struct sbx_listener *l)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int type = 0, acc = 0;
	socklen_t tl = sizeof type, ol = sizeof acc;

	if (l->kind == SBX_L_RESETS) {
		/* a packet socket on lo for IPv4, with a filter no one can change */
		struct sockaddr_ll ll;
		socklen_t ll_len = sizeof ll;
		struct sock_fprog none = { 0 };
		return getsockname(fd, (struct sockaddr *)&ll, &ll_len) == 0 &&
		       ll.sll_family == AF_PACKET && ll.sll_protocol == htons(ETH_P_IP) &&
		       ll.sll_ifindex == 1 && l->port == 0 &&
		       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM &&
		       setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &none, sizeof none) != 0 &&
		       errno == EPERM && other_netns(fd);
	}
	if (getsockname(fd, (struct sockaddr *)&a, &al) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &ol) != 0)
		return false;
	bool udp = l->kind == SBX_L_DNS_UDP;
	uint32_t want = l->kind == SBX_L_PORT ? INADDR_ANY : INADDR_LOOPBACK;
	int nodelay = 0;
	socklen_t nl = sizeof nodelay;
	if (!udp && (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &nl) != 0 || !nodelay))
		return false;   /* netd's accepted connections inherit it */
	return a.sin_family == AF_INET && ntohs(a.sin_port) == l->port &&
	       ntohl(a.sin_addr.s_addr) == want && type == (udp ? SOCK_DGRAM : SOCK_STREAM) &&
	       acc == !udp && other_netns(fd);
}

/* The listeners of function id from the egress messages seen: NEW then
 * MORE messages; the kinds and ports in order, each checked. */
static bool egress_new_ok(const char *id, uint32_t rules, char *got, size_t cap)
{
	size_t n = 0;
	bool ok = false, in_run = false;

	got[0] = '\0';
	for (unsigned i = 0; i < neg; i++) {
		const struct egress_seen *e = &eg[i];
		if (strcmp(e->m.function, id) != 0)
			continue;
		if (e->m.op == SBX_EGRESS_NEW) {
			in_run = true;
			n = 0;
			got[0] = '\0';
			ok = e->m.egress_rules == rules;
		} else if (e->m.op != SBX_EGRESS_MORE || !in_run) {
			in_run = false;
			continue;
		}
		if (e->nfds != e->m.nlisteners)
			ok = false;
		for (unsigned k = 0; k < e->nfds && n + 16 < cap; k++) {
			static const char *kn[] = { "?", "dns/udp", "dns/tcp", "proxy", "port",
						    "resets" };
			const struct sbx_listener *l = &e->m.l[k];
			n += (size_t)snprintf(got + n, cap - n, "%s%s:%u", n ? " " : "",
					      kn[l->kind <= SBX_L_RESETS ? l->kind : 0], l->port);
			if (!listener_is(e->fds[k], l))
				ok = false;
		}
	}
	return ok;
}

/* The descriptor of function id's listener of kind in the egress messages
 * seen, or -1. */
static int egress_fd_of(const char *id, uint8_t kind)
{
	for (unsigned i = 0; i < neg; i++)
		for (unsigned k = 0; strcmp(eg[i].m.function, id) == 0 && k < eg[i].nfds; k++)
			if (eg[i].m.l[k].kind == kind)
				return eg[i].fds[k];
	return -1;
}

/* TCP to addr:port (host order) from the calling process: 0 or errno. */
static int tcp_dial(uint32_t addr, uint16_t port, int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(addr) };
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int e = c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0 ? errno : 0;

	if (fd != NULL && e == 0)
		*fd = c;
	else if (c >= 0)
		close(c);
	return e;
}

/* In the function's namespace (entered through the resets socket's), what
 * a function may do: dial a fake address on a port nothing listens on
 * (the kernel's reset: the one the socket must keep), 127.0.0.1 on such a
 * port (not a fake address), a fake address on a port netd listens on
 * (accepted into the listener's queue: no reset), and its own server on
 * a fake address, which it then aborts (a reset, but of a connection).
 * The child's exit status: 0 when each went as the kernel does it. */
static int resets_traffic(int ns)
{
	int srv = -1, c = -1, one = 1;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(9000) };

	if (setns(ns, CLONE_NEWNET) != 0)
		return 10;
	if (tcp_dial(0x7f400001u, 9, NULL) != ECONNREFUSED)
		return 11;
	if (tcp_dial(0x7f000001u, 9, NULL) != ECONNREFUSED)
		return 12;
	if (tcp_dial(0x7f400003u, 443, &c) != 0)
		return 13;
	close(c);
	srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv < 0 || setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(srv, (struct sockaddr *)&any, sizeof any) != 0 || listen(srv, 4) != 0)
		return 14;
	if (tcp_dial(0x7f400002u, 9000, &c) != 0)
		return 15;
	int a = accept(srv, NULL, NULL);
	if (a < 0 || setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
		return 16;
	close(a);                  /* RST|ACK, its sequence the connection's */
	char b;
	if (recv(c, &b, 1, 0) >= 0 || errno != ECONNRESET)
		return 17;
	return 0;
}

/* The resets socket against the real kernel: of all that traffic, it
 * keeps exactly the one reset of the refused connection to a fake
 * address, which net/tcp_refusal.h reads as such. */
static void resets_kernel_check(const char *id)
{
	int rs = egress_fd_of(id, SBX_L_RESETS);
	int ns = rs >= 0 ? ioctl(rs, SIOCGSKNS) : -1;
	if (!ok(ns >= 0, "the resets socket's namespace"))
		return;
	pid_t pid = fork();
	if (pid == 0)
		_exit(resets_traffic(ns));
	int st = -1;
	waitpid(pid, &st, 0);
	close(ns);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "  in it: a refused dial of a fake address and of 127.0.0.1, an accepted one, a reset "
	   "connection (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	uint8_t p[256];
	struct tcp_refusal r = { 0 };
	unsigned kept = 0, read_ok = 0;
	struct pollfd pf = { .fd = rs, .events = POLLIN };
	/* the packets are queued before the child's calls return; the poll
	 * only bounds a kernel that would be slower */
	while (poll(&pf, 1, kept == 0 ? 2000 : 200) == 1) {
		ssize_t n = recv(rs, p, sizeof p, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			break;
		kept++;
		read_ok += n <= SBX_RESETS_SNAP && tcp_refusal_parse(p, (size_t)n, &r) == 0;
	}
	ok(kept == 1 && read_ok == 1 && r.addr == 0x7f400001u && r.port == 9,
	   "  the socket kept one packet, the reset from 127.64.0.1:9 (%u kept, %u read)", kept,
	   read_ok);
}

static bool egress_op_seen(const char *id, uint8_t op, uint32_t rules)
{
	for (unsigned i = 0; i < neg; i++)
		if (strcmp(eg[i].m.function, id) == 0 && eg[i].m.op == op &&
		    eg[i].m.egress_rules == rules && eg[i].nfds == 0)
			return true;
	return false;
}

/* The egress cap (or, conns, the connection limit) of id's last message
 * of op (0: none seen). */
static uint32_t egress_limit_of(const char *id, uint8_t op, bool conns)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < neg; i++)
		if (strcmp(eg[i].m.function, id) == 0 && eg[i].m.op == op)
			v = conns ? eg[i].m.egress_conns : eg[i].m.egress_kbps;
	return v;
}

static uint32_t egress_kbps_of(const char *id, uint8_t op)
{
	return egress_limit_of(id, op, false);
}

/* Sends a request and runs rounds until its reply; the reply stays in
 * `in` (its fds too: the caller closes them). */
static int call(uint16_t op, const uint8_t *tok_sha, const char *id, const char *name,
		const void *inl, size_t len, int fd, struct sbx_reply_msg *rep)
{
	uint8_t buf[IMSG_MAX_PAYLOAD];
	struct sbx_req_msg q;
	uint32_t my = ++seq;

	memset(&q, 0, sizeof q);
	q.op = op;
	if (tok_sha != NULL) {
		q.has_token = 1;
		memcpy(q.token_sha256, tok_sha, 32);
	}
	snprintf(q.id, sizeof q.id, "%s", id ? id : "");
	snprintf(q.name, sizeof q.name, "%s", name ? name : "");
	q.inline_len = (uint32_t)len;
	q.arg = next_arg;
	next_arg = 0;
	q.shape = next_shape;
	next_shape = SBX_SHAPE_V1;
	memcpy(buf, &q, sizeof q);
	if (len)
		memcpy(buf + sizeof q, inl, len);
	if (imsg_send(netd, IMSG_SBX_REQ, my, buf, sizeof q + len, fd >= 0 ? &fd : NULL,
		      fd >= 0 ? 1 : 0) < 0)
		return -EIO;
	for (int i = 0; i < ROUNDS; i++) {
		sandboxd_round(&SD, 20);
		pump_peers();
		if (netd_recv() == 0) {
			if (in.hdr.type != IMSG_SBX_REPLY || in.hdr.id != my || in.hdr.len < sizeof *rep) {
				imsg_close_fds(&in);
				return -EPROTO;
			}
			memcpy(rep, in.payload, sizeof *rep);
			note('r');
			return 0;
		}
	}
	return -ETIMEDOUT;
}

static const char *body_of(const struct sbx_reply_msg *rep)
{
	static char b[IMSG_MAX_PAYLOAD + 1];
	size_t n = rep->body_in_fd ? 0 : (size_t)rep->body_len;
	memcpy(b, in.payload + sizeof *rep, n);
	b[n] = '\0';
	return b;
}

/* Runs rounds until WORKER_END of worker w (or the bound). */
static const struct sbx_worker_end_msg *wait_end(uint64_t w)
{
	for (int i = 0; i < ROUNDS; i++) {
		for (unsigned k = 0; k < nends; k++)
			if (ends[k].worker == w)
				return &ends[k];
		sandboxd_round(&SD, 20);
		pump_peers();
		if (netd_recv() == 0)
			imsg_close_fds(&in);
	}
	return NULL;
}

/* --- deployments ------------------------------------------------------------------ */

/* The canonical declaration (into canon) and a memfd holding the code,
 * as netd makes them from a v1 body with these extra fields. */
static int make_decl(const char *id, const char *rt, const void *code, size_t n,
		     const char *extra, char *canon, size_t cap, int *fd)
{
	static char b64[BASE64_ENCODED_LEN(1u << 20) + 1], body[(1u << 21)];
	static struct fn_decl d;
	struct fn_error e;
	uint8_t chunk[4096];
	int len;

	base64_encode(b64, code, n);
	len = snprintf(body, sizeof body, "{\"id\":\"%s\",\"runtime\":\"%s\",\"code\":\"%s\"%s%s}",
		       id, rt, b64, extra ? "," : "", extra ? extra : "");
	if (fn_decl_parse(body, (size_t)len, FN_SHAPE_V1, &pol, &dtoks, &d, &e) != 0) {
		diag("decl: %s", e.msg);
		return -1;
	}
	*fd = memfd_create("code", MFD_CLOEXEC);
	if (*fd < 0 || fn_code_write(*fd, body, &d, chunk, sizeof chunk) < 0)
		return -1;
	return (int)fn_decl_write(&d, canon, cap);
}

static int deploy(uint16_t op, const char *id, const char *rt, const char *code, size_t n,
		  const char *extra, struct sbx_reply_msg *rep)
{
	char canon[FN_DECL_CANON_MAX + 1];
	int fd, len = make_decl(id, rt, code, n, extra, canon, sizeof canon, &fd), r;

	if (len < 0)
		return -1;
	r = call(op, admin_sha, id, NULL, canon, (size_t)len, fd, rep);
	close(fd);
	imsg_close_fds(&in);
	return r;
}

/* --- setup ------------------------------------------------------------------------ */

static void setup_layers(void)
{
	char p[512], extra[256], opts[600];
	const char *real = getenv("DSHIELD_TEST_LAYERS");

	/* the image's own trees (make layer-trees: build/layers) instead */
	if (real != NULL) {
		snprintf(p_layers, sizeof p_layers, "%s", real);
		snprintf(p, sizeof p, "%s/python/usr/bin/python3", real);
		have_python = access(p, X_OK) == 0;
		snprintf(p, sizeof p, "%s/node/usr/bin/node", real);
		have_node = access(p, X_OK) == 0;
		diag("layers: %s (python %s, node %s)", real, have_python ? "yes" : "no",
		     have_node ? "yes" : "no");
		return;
	}

	snprintf(p_layers, sizeof p_layers, "%s/layers", base);
	snprintf(p, sizeof p, "%s/native", p_layers);
	if (mkdir(p_layers, 0755) != 0 || mkdir(p, 0755) != 0)
		die("mkdir layers");
	/* python: the host's /usr plus /usr/lib/dshield/dshield_worker.py */
	have_python = access("/usr/bin/python3", X_OK) == 0;
	if (!have_python)
		return;   /* (and no node layer either) */
	snprintf(extra, sizeof extra, "%s/extra", base);
	snprintf(p, sizeof p, "%s/lib", extra);
	if (mkdir(extra, 0755) != 0 || mkdir(p, 0755) != 0)
		die("mkdir extra");
	snprintf(p, sizeof p, "%s/lib/dshield", extra);
	if (mkdir(p, 0755) != 0)
		die("mkdir extra/lib/dshield");
	static const char *const workers[][2] = {
		{ "python/dshield_worker.py", "dshield_worker.py" },
		{ "node/dshield_worker.mjs", "dshield_worker.mjs" },
	};
	for (size_t i = 0; i < 2; i++) {
		unsigned char *src;
		size_t n;
		char from[600];
		/* build/tests or build/san/tests: the repository is above build/ */
		snprintf(from, sizeof from, "%s/../../runtimes/%s", self_dir, workers[i][0]);
		if (access(from, R_OK) != 0)
			snprintf(from, sizeof from, "%s/../../../runtimes/%s", self_dir, workers[i][0]);
		if (file_read_alloc(from, 1u << 20, &src, &n) < 0)
			die(from);
		snprintf(p, sizeof p, "%s/lib/dshield/%s", extra, workers[i][1]);
		write_file(p, src, n, 0644);
		free(src);
	}
	snprintf(p, sizeof p, "%s/python", p_layers);
	if (mkdir(p, 0755) != 0)
		die("mkdir python layer");
	snprintf(p, sizeof p, "%s/python/usr", p_layers);
	snprintf(opts, sizeof opts, "lowerdir=%s:/usr", extra);
	if (mkdir(p, 0755) != 0 || mount("overlay", p, "overlay", MS_RDONLY, opts) != 0)
		die("overlay of /usr and the worker");
	static const char *const links[][2] = {
		{ "bin", "usr/bin" }, { "lib", "usr/lib" }, { "lib64", "usr/lib64" },
	};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/python/%s", p_layers, links[i][0]);
		if (symlink(links[i][1], p) != 0)
			die("symlink");
	}
	/* node: the same tree (the host's /usr holds both interpreters) */
	snprintf(p, sizeof p, "%s/node", p_layers);
	if (symlink("python", p) != 0)
		die("symlink node");
	have_node = access("/usr/bin/node", X_OK) == 0;
}

static void write_policy(bool public_invoke)
{
	char json[1536], hex[65];
	uint8_t h[32];
	int n;

	sha256(ADMIN, strlen(ADMIN), admin_sha);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", admin_sha[i]);
	n = snprintf(json, sizeof json,
		     "{\"format\":1,\"admin_token_sha256\":\"%s\",\"functions\":{\"runtimes\":"
		     "[\"native\",\"node\",\"python\"],\"max\":8,\"public_invoke\":%s,\"default_limits\":"
		     "{\"memory_mb\":128,\"pids\":32,\"cpu_millicores\":1000,\"timeout_ms\":10000,"
		     "\"tmp_mb\":16,\"output_kb\":64}},\"egress\":[{\"host\":\"api.example.com\","
		     "\"ports\":[443,8443],\"purpose\":\"t\",\"inject_headers\":{\"authorization\":"
		     "{\"secret\":\"API_KEY\"}}},{\"host\":\"*.example.org\",\"ports\":[80,443],"
		     "\"purpose\":\"t\"},{\"host\":\"dns.example.net\",\"ports\":[53],\"purpose\":\"t\"}]}",
		     hex, public_invoke ? "true" : "false");
	char why[256];
	if (policy_parse(json, (size_t)n, &ptoks, &pol, why, sizeof why) != 0) {
		printf("# %s\n", why);
		die("policy");
	}
	/* sandboxd reads the canonical bytes, as init writes them */
	{
		static char canon[POLICY_CANON_MAX + 1];
		long c = policy_write(&pol, canon, sizeof canon);
		write_file(p_policy, canon, (size_t)c, 0444);
		sha256(canon, (size_t)c, h);
	}
	(void)h;
}

static void open_core(bool public_invoke)
{
	struct sandboxd_config_msg cfg = { .has_policy = 1 };
	struct sbxd_paths paths = { p_policy, p_store, p_work, p_layers, NULL };
	int a[2], b[2], c[2];
	unsigned char *buf;
	size_t n;

	write_policy(public_invoke);
	if (file_read_alloc(p_policy, POLICY_MAX_BYTES, &buf, &n) < 0)
		die("read policy");
	sha256(buf, n, cfg.policy_sha256);
	free(buf);
	if (sandboxd_open(&SD, &cfg, &paths) != 0)
		die("sandboxd_open");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c) != 0)
		die("socketpair");
	sandboxd_set_peer(&SD, SBXD_CHAN_NETD, a[0]);
	sandboxd_set_peer(&SD, SBXD_CHAN_KEYD, b[0]);
	sandboxd_set_peer(&SD, SBXD_CHAN_LOGD, c[0]);
	netd = a[1];
	keyd = b[1];
	logd = c[1];
	fcntl(netd, F_SETFL, O_NONBLOCK);
	fcntl(keyd, F_SETFL, O_NONBLOCK);
	fcntl(logd, F_SETFL, O_NONBLOCK);
}

static void close_core(void)
{
	sandboxd_close(&SD);
	close(netd);
	close(keyd);
	close(logd);
}

/* --- tests ------------------------------------------------------------------------- */

static void test_info_auth(void)
{
	struct sbx_reply_msg r;
	uint8_t other[32];

	is_int(call(SBX_INFO, NULL, NULL, NULL, NULL, 0, -1, &r), 0, "info: answered");
	is_int(r.status, 200, "info: 200 without a token");
	ok(strstr(body_of(&r), "\"limits_enforced\":false") != NULL,
	   "info: says limits are not enforced here (%s)", body_of(&r));
	ok(strstr(body_of(&r), "{\"name\":\"native\",\"enabled\":true,\"available\":true}") != NULL,
	   "info: native is available (its layer exists)");
	ok(strstr(body_of(&r), "{\"name\":\"python\",\"enabled\":true,\"available\":") != NULL &&
	   (strstr(body_of(&r), "{\"name\":\"python\",\"enabled\":true,\"available\":true}") != NULL) ==
	   have_python, "info: python is available exactly when its interpreter and worker are there");
	call(SBX_FN_LIST, NULL, NULL, NULL, NULL, 0, -1, &r);
	ok(r.status == 401 && strcmp(r.code, "unauthorized") == 0, "list without a token: 401 unauthorized");
	memset(other, 7, sizeof other);
	call(SBX_FN_LIST, other, NULL, NULL, NULL, 0, -1, &r);
	ok(r.status == 401, "list with an unknown token: 401");
	call(SBX_FN_LIST, admin_sha, NULL, NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strcmp(body_of(&r), "{\"functions\":[]}") == 0,
	   "list as admin: 200, empty (%s)", body_of(&r));
	call(SBX_INVOKE, NULL, "nope", NULL, NULL, 0, -1, &r);
	is_int(r.status, 401, "invoke without a token and no public_invoke: 401");
}

/* RLIMIT_NPROC: a backstop above pids.max where cgroups enforce, the bound
 * itself where they do not. */
static void test_nproc(void)
{
	struct fn_decl d;

	memset(&d, 0, sizeof d);
	d.limits.pids = 32;
	d.concurrency = 2;
	is_int((int)sandboxd_worker_nproc(&d, false), 32, "nproc without cgroups: pids (32)");
	ok(sandboxd_worker_nproc(&d, true) > 64,
	   "nproc with pids.max enforced: above pids x concurrency (%d), so pids.max refuses first",
	   (int)sandboxd_worker_nproc(&d, true));
}

/* SBX_POLICY and the public list need no token (netd asks for the policy
 * before any client; GET /functions is public). */
static void test_policy_public_list(void)
{
	struct sbx_reply_msg r;
	static char canon[POLICY_MAX_BYTES];
	long n = policy_write(&pol, canon, sizeof canon);

	is_int(call(SBX_POLICY, NULL, NULL, NULL, NULL, 0, -1, &r), 0, "policy: answered");
	ok(r.status == 200 && n > 0 && !r.body_in_fd && r.body_len == (uint64_t)n &&
	   memcmp(body_of(&r), canon, (size_t)n) == 0,
	   "policy: 200 without a token, the canonical policy it enforces (%ld bytes)", n);
	next_arg = 1;
	call(SBX_FN_LIST, NULL, NULL, NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strcmp(body_of(&r), "{\"functions\":[]}") == 0,
	   "public list (arg 1): 200 without a token (%s)", body_of(&r));
}

static void test_malformed(void)
{
	struct sbx_req_msg q;
	struct sbx_reply_msg r;
	uint8_t buf[sizeof q + 8];

	imsg_send(netd, IMSG_SBX_REQ, 9001, "xx", 2, NULL, 0);
	for (int i = 0; i < 20 && netd_recv() != 0; i++)
		sandboxd_round(&SD, 20);
	memcpy(&r, in.payload, sizeof r);
	ok(in.hdr.id == 9001 && r.status == 400 && strcmp(r.code, "bad_request") == 0,
	   "a short request: 400 bad_request");
	memset(&q, 0, sizeof q);
	q.op = SBX_FN_LIST;
	q.inline_len = 100;   /* says more than it carries */
	memcpy(buf, &q, sizeof q);
	imsg_send(netd, IMSG_SBX_REQ, 9002, buf, sizeof q + 8, NULL, 0);
	for (int i = 0; i < 20 && netd_recv() != 0; i++)
		sandboxd_round(&SD, 20);
	memcpy(&r, in.payload, sizeof r);
	ok(in.hdr.id == 9002 && r.status == 400, "inline_len that lies: 400");
	q.op = 99;
	q.inline_len = 0;
	imsg_send(netd, IMSG_SBX_REQ, 9003, &q, sizeof q, NULL, 0);
	for (int i = 0; i < 20 && netd_recv() != 0; i++)
		sandboxd_round(&SD, 20);
	memcpy(&r, in.payload, sizeof r);
	ok(in.hdr.id == 9003 && r.status == 400, "an unknown op: 400");
	q.op = SBX_FN_GET;
	memset(q.id, 'a', sizeof q.id);   /* no NUL */
	imsg_send(netd, IMSG_SBX_REQ, 9004, &q, sizeof q, NULL, 0);
	for (int i = 0; i < 20 && netd_recv() != 0; i++)
		sandboxd_round(&SD, 20);
	memcpy(&r, in.payload, sizeof r);
	ok(in.hdr.id == 9004 && r.status == 400, "an id without NUL: 400");
	imsg_send(netd, IMSG_SBX_DONE, 0, "x", 1, NULL, 0);   /* garbage DONE: no reply, no crash */
	sandboxd_round(&SD, 20);
	ok(SD.malformed >= 5, "every malformed message is counted (%llu)",
	   (unsigned long long)SD.malformed);
	is_int(call(SBX_FN_CREATE, admin_sha, "x", NULL, "{}", 2, -1, &r), 0, "create without code: answered");
	ok(r.status == 400, "create without a code memfd: 400");
}

static const char PY_HELLO[] =
	"import os\n"
	"def handler(req):\n"
	"    q = req.get('query', {})\n"
	"    if q.get('crash'):\n"
	"        os._exit(3)\n"
	"    if q.get('sleep'):\n"
	"        import time; time.sleep(30)\n"
	"    print('hello was called', flush=True)\n"
	"    return {'statusCode': 200, 'headers': {}, 'body': {'pid': os.getpid(), 'uid': os.getuid(),\n"
	"            'key': os.environ.get('API_KEY'), 'env': sorted(os.environ)}}\n";

static void test_create_order_and_refusals(void)
{
	struct sbx_reply_msg r;
	struct log_entry e;
	char why[128];

	/* keyd refuses: nothing is stored, logd is never asked */
	seen[0] = '\0';
	keyd_answer = -ENOSPC;
	deploy(SBX_FN_CREATE, "hello", "python", PY_HELLO, strlen(PY_HELLO), NULL, &r);
	ok(r.status == 503 && strcmp(r.code, "unavailable") == 0, "keyd refuses: 503 (%s)", r.message);
	is_str(seen, "kr", "  keyd asked, logd never");
	call(SBX_FN_GET, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	is_int(r.status, 404, "  the function does not exist");
	/* logd refuses */
	keyd_answer = 0;
	logd_answer = -EIO;
	seen[0] = '\0';
	deploy(SBX_FN_CREATE, "hello", "python", PY_HELLO, strlen(PY_HELLO), NULL, &r);
	ok(r.status == 503, "logd refuses: 503 (%s)", r.message);
	is_str(seen, "klr", "  keyd, then logd, then the reply");
	call(SBX_FN_GET, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	is_int(r.status, 404, "  the function does not exist");
	/* both record it */
	logd_answer = 0;
	seen[0] = '\0';
	egress_forget();
	deploy(SBX_FN_CREATE, "hello", "python", PY_HELLO, strlen(PY_HELLO),
	       "\"secrets\":[\"API_KEY\"],\"egress\":[\"*.example.org\",\"api.example.com\"]", &r);
	is_int(r.status, 201, "deploy: 201 (%s)", r.message);
	{
		char got[256];
		/* the policy's ports 80, 443, 8443; its port 53 has no 0.0.0.0 listener */
		ok(egress_new_ok("hello", 0x3, got, sizeof got) &&
		   strcmp(got, "dns/udp:53 dns/tcp:53 proxy:3128 resets:0 port:80 port:443 port:8443") == 0,
		   "  netd is given its egress listeners, made in its netns, and rules 0 and 1 (%s)",
		   got);
		resets_kernel_check("hello");
		is_int(egress_kbps_of("hello", SBX_EGRESS_NEW), 10000000,
		       "  and its egress cap, the policy's default limits.egress_kbps");
		is_int(egress_limit_of("hello", SBX_EGRESS_NEW, true), 1000,
		       "  and its connection limit, the policy's default limits.egress_conns");
		egress_forget();
	}
	is_str(seen, "klr", "  keyd's event, then logd's entry, then the reply");
	ok(last_ev.version == 1 && last_ev.op == FN_EVENT_DEPLOY && strcmp(last_ev.id, "hello") == 0 &&
	   strcmp(last_ev.runtime, "python") == 0, "  the event: version 1, deploy, hello, python");
	ok(log_entry_decode(last_entry, last_entry_len, &e, why, sizeof why) == 0 &&
	   e.type == LOG_FUNCTION && e.u.function.op == LOG_OP_DEPLOY &&
	   memcmp(e.u.function.code, last_ev.code_sha256, 32) == 0 &&
	   memcmp(e.u.function.decl, last_ev.decl_sha256, 32) == 0,
	   "  the entry: function deploy, same code and declaration hashes as the event");
	deploy(SBX_FN_CREATE, "hello", "python", PY_HELLO, strlen(PY_HELLO), NULL, &r);
	is_int(r.status, 409, "deploy again: 409");
	/* a code memfd that is not the declaration's code */
	{
		char canon[FN_DECL_CANON_MAX + 1];
		int fd, len = make_decl("other", "python", PY_HELLO, strlen(PY_HELLO), NULL, canon,
					sizeof canon, &fd);
		if (pwrite(fd, "#", 1, 0) != 1)
			die("pwrite");
		call(SBX_FN_CREATE, admin_sha, "other", NULL, canon, (size_t)len, fd, &r);
		close(fd);
		ok(r.status == 400 && strcmp(r.code, "code_mismatch") == 0, "code that is not the declared one: 400");
	}
	call(SBX_FN_GET, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strstr(body_of(&r), "\"id\":\"hello\"") != NULL &&
	   strstr(body_of(&r), "\"envVars\":[\"API_KEY\"]") != NULL, "get: the view (%.80s...)", body_of(&r));
	call(SBX_FN_LIST, admin_sha, NULL, NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strncmp(body_of(&r), "{\"functions\":[{\"id\":\"hello\"", 27) == 0, "list: hello");
	next_arg = 1;
	call(SBX_FN_LIST, NULL, NULL, NULL, NULL, 0, -1, &r);
	is_str(body_of(&r), "{\"functions\":[{\"id\":\"hello\",\"name\":\"hello\",\"runtime\":\"python\"}]}",
	       "public list: id, name and runtime only");
}

/* SBX_SECRET_PUT: the seed's answer, a value in a memfd, names and dates only. */
static void test_secrets(void)
{
	static char big[FN_SECRET_VALUE_MAX + 2];
	struct sbx_reply_msg r;
	const char *b;
	int fd;

	next_shape = SBX_SHAPE_SEED;
	call(SBX_SECRET_PUT, admin_sha, NULL, "SEEDY", "sk-...", 6, -1, &r);
	b = body_of(&r);
	ok(r.status == 200 && strncmp(b, "{\"name\":\"SEEDY\",\"encryptedValue\":\"[ENCRYPTED]\","
				       "\"createdAt\":\"", 60) == 0 && strstr(b, "\"updatedAt\":\"") &&
	   !strstr(b, "sk-"), "secret put, seed shape: {name, encryptedValue, createdAt, updatedAt} (%s)", b);
	call(SBX_SECRET_PUT, admin_sha, NULL, "SEEDY", "sk-2", 4, -1, &r);
	b = body_of(&r);
	ok(r.status == 200 && strncmp(b, "{\"name\":\"SEEDY\",\"sealing\":\"none (no data disk: tmpfs)\","
				       "\"createdAt\":\"", 68) == 0 &&
	   !strstr(b, "encryptedValue"), "secret put, v1 shape: {name, sealing, createdAt, updatedAt} (%s)", b);
	memset(big, 'v', sizeof big);
	fd = memfd_create("v", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, big, 20000) != 20000)
		die("memfd");
	call(SBX_SECRET_PUT, admin_sha, NULL, "LONG", NULL, 0, fd, &r);
	is_int(r.status, 200, "secret put, a 20000-byte value in a memfd (inline_len 0): 200");
	close(fd);
	{
		char val[FN_SECRET_VALUE_MAX + 1];
		size_t len = 0;
		int64_t c, u;
		char err[ERRBUF_LEN];
		ok(store_secret_get(&SD.st, "LONG", val, sizeof val, &len, &c, &u, err) == 0 &&
		   len == 20000 && val[0] == 'v' && val[19999] == 'v', "  stored whole (%zu bytes)", len);
	}
	fd = memfd_create("v", MFD_CLOEXEC);
	if (fd < 0 || write(fd, big, FN_SECRET_VALUE_MAX + 1) != (ssize_t)FN_SECRET_VALUE_MAX + 1)
		die("memfd");
	call(SBX_SECRET_PUT, admin_sha, NULL, "LONG", NULL, 0, fd, &r);
	ok(r.status == 400 && strcmp(r.code, "limit_exceeded") == 0, "a memfd value over 64 KiB: 400 limit_exceeded");
	close(fd);
	call(SBX_SECRET_DELETE, admin_sha, NULL, "LONG", NULL, 0, -1, &r);
	ok(r.status == 200 && strcmp(body_of(&r), "{\"deleted\":true}") == 0, "secret delete: {\"deleted\":true}");
	call(SBX_SECRET_DELETE, admin_sha, NULL, "SEEDY", NULL, 0, -1, &r);
	call(SBX_SECRET_LIST, admin_sha, NULL, NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strncmp(body_of(&r), "{\"secrets\":[", 12) == 0 && !strstr(body_of(&r), "SEEDY"),
	   "secret list: {\"secrets\":[...]} without the deleted ones (%s)", body_of(&r));
}

/* Sends INVOKE on a frames worker's socket and reads its answer. */
static int invoke_frames(int sock, const char *query, char *out, size_t cap)
{
	static uint8_t fbuf[1 << 16];
	struct frame_reader fr;
	char req[256];
	int n = snprintf(req, sizeof req, "{\"id\":\"i1\",\"functionId\":\"hello\",\"method\":\"GET\","
			 "\"path\":\"/invoke/hello\",\"headers\":{},\"query\":%s}", query);

	if (frame_write(sock, FN_FRAME_INVOKE, req, (size_t)n) < 0)
		return -1;
	frame_reader_init(&fr, fbuf, sizeof fbuf, sizeof fbuf, FN_FRAMES_TO_HOST);
	for (int i = 0; i < ROUNDS; i++) {
		struct pollfd pf = { sock, POLLIN, 0 };
		uint8_t b[4096];
		sandboxd_round(&SD, 0);
		if (poll(&pf, 1, 20) <= 0)
			continue;
		ssize_t got = read(sock, b, sizeof b);
		if (got <= 0)
			return -1;
		size_t used;
		int r = frame_feed(&fr, b, (size_t)got, &used);
		if (r < 0)
			return -1;
		if (r == 1) {
			size_t k = fr.len < cap - 1 ? fr.len : cap - 1;
			memcpy(out, fr.buf, k);
			out[k] = '\0';
			return fr.type;
		}
	}
	return -1;
}

static bool worker_gone(uint64_t id)
{
	for (unsigned i = 0; i < SBXD_WORKERS_MAX; i++)
		if (SD.w[i].state != SBXD_W_FREE && SD.w[i].id == id)
			return false;
	return true;
}

static void done(uint64_t w, uint8_t outcome)
{
	struct sbx_done_msg m = { .worker = w, .outcome = outcome };
	imsg_send(netd, IMSG_SBX_DONE, 0, &m, sizeof m, NULL, 0);
	sandboxd_round(&SD, 20);
}

static void test_invoke_python(void)
{
	struct sbx_reply_msg r;
	char out[4096];
	uint64_t w1;
	int sock, t;

	if (!have_python) {
		ok(1, "# skip python: /usr/bin/python3 not installed");
		return;
	}
	/* the declared secret is missing: the invoke says so */
	call(SBX_INVOKE, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	ok(r.status == 500 && strcmp(r.code, "missing_secret") == 0, "invoke with its secret unset: 500 (%s)",
	   r.message);
	/* a record that does not open (here: sealed, and this store has no
	 * key): unreadable, never an empty value; the function does not start */
	{
		static const char rec[] = "{\"format\":1,\"name\":\"API_KEY\",\"created\":1,\"updated\":1,"
					  "\"sealing\":\"aes-256-gcm\",\"value\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}";
		char p[256];
		snprintf(p, sizeof p, "%s/secrets/API_KEY.json", p_store);
		write_file(p, rec, sizeof rec - 1, 0600);
	}
	call(SBX_INVOKE, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	ok(r.status == 500 && strcmp(r.code, "secret_unreadable") == 0 &&
	   strstr(r.message, "secret API_KEY is unreadable: ") && strstr(r.message, "API_KEY.json: sealing:"),
	   "invoke with its secret unreadable: 500 secret_unreadable (%s)", r.message);
	call(SBX_SECRET_LIST, admin_sha, NULL, NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strstr(body_of(&r), "{\"name\":\"API_KEY\",\"unreadable\":\""),
	   "secret list: the unreadable secret listed as such (%s)", body_of(&r));
	call(SBX_SECRET_PUT, admin_sha, NULL, "API_KEY", "s3cret", 6, -1, &r);
	is_int(r.status, 200, "secret put: 200 (replaces the unreadable one)");
	call(SBX_SECRET_PUT, admin_sha, NULL, "OTHER", "nope", 4, -1, &r);
	call(SBX_SECRET_LIST, admin_sha, NULL, NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strstr(body_of(&r), "\"name\":\"API_KEY\"") && !strstr(body_of(&r), "s3cret"),
	   "secret list: names, never values");
	{
		/* netd got the value its proxy injects for hello's rule 0 */
		struct sbx_inject_msg m;
		struct sbx_inject_item it;
		memcpy(&m, inj, sizeof m);
		memcpy(&it, inj + sizeof m, sizeof it);
		ok(ninj > 0 && inj_len == sizeof m + sizeof it + 6 && strcmp(m.function, "hello") == 0 &&
		   m.n == 1 && strcmp(it.name, "API_KEY") == 0 && it.len == 6 &&
		   memcmp(inj + sizeof m + sizeof it, "s3cret", 6) == 0,
		   "  after a put, netd is sent API_KEY's value for hello's inject_headers (%zu bytes)",
		   inj_len);
	}
	call(SBX_INVOKE, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && r.worker_kind == SBX_WORKER_FRAMES && in.nfds == 1,
	   "invoke: 200 with the worker's socket (%s)", r.message);
	ok(r.timeout_ms == 10000 && r.output_max == 64 * 1024 && strcmp(r.runtime, "python") == 0 &&
	   strcmp(r.handler, "handler") == 0, "  its limits, runtime and handler");
	w1 = r.worker;
	sock = in.nfds == 1 ? imsg_take_fd(&in, 0) : -1;
	imsg_close_fds(&in);
	t = invoke_frames(sock, "{}", out, sizeof out);
	is_int(t, FN_FRAME_RESULT, "  INVOKE over the socket: RESULT (%s)", out);
	ok(strstr(out, "\"key\": \"s3cret\"") != NULL || strstr(out, "\"key\":\"s3cret\"") != NULL,
	   "  the declared secret is in its environment");
	ok(strstr(out, "OTHER") == NULL && strstr(out, "PATH") != NULL && strstr(out, "HOME") != NULL,
	   "  an undeclared secret is not; PATH, HOME are");
	ok(strstr(out, "\"uid\": 61000") != NULL || strstr(out, "\"uid\":61000") != NULL,
	   "  runs as the function's uid");
	close(sock);
	done(w1, SBX_DONE_OK);
	call(SBX_INVOKE, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && r.worker == w1, "invoke again: the warm worker (%llu)", (unsigned long long)r.worker);
	sock = in.nfds == 1 ? imsg_take_fd(&in, 0) : -1;
	imsg_close_fds(&in);
	call(SBX_INVOKE, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	ok(r.status == 503 && strcmp(r.code, "busy") == 0, "a second invoke beyond concurrency 1: 503 busy");
	/* crash: its end is reported */
	invoke_frames(sock, "{\"crash\":\"1\"}", out, sizeof out);
	const struct sbx_worker_end_msg *e = wait_end(w1);
	ok(e != NULL && e->reason == SBX_END_EXIT && e->status == 3, "a worker that exits mid-invocation: "
	   "WORKER_END exit 3");
	close(sock);
	/* timeout: sandboxd kills it at limits.timeout_ms */
	egress_forget();
	deploy(SBX_FN_UPDATE, "hello", "python", PY_HELLO, strlen(PY_HELLO),
	       "\"secrets\":[\"API_KEY\"],\"limits\":{\"timeout_ms\":300,\"egress_kbps\":2048}", &r);
	is_int(r.status, 200, "update with timeout_ms 300: 200");
	ok(egress_op_seen("hello", SBX_EGRESS_RULES, 0), "  netd is told its rules now: none");
	is_int(egress_kbps_of("hello", SBX_EGRESS_RULES), 2048, "  and its new egress cap");
	ok(last_ev.op == FN_EVENT_UPDATE, "  recorded as an update");
	call(SBX_INVOKE, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	uint64_t w2 = r.worker;
	ok(r.status == 200 && r.timeout_ms == 300 && w2 != w1, "invoke: a new worker with the new limit (%d %s %s)", r.status, r.code, r.message);
	sock = in.nfds == 1 ? imsg_take_fd(&in, 0) : -1;
	imsg_close_fds(&in);
	invoke_frames(sock, "{\"sleep\":\"1\"}", out, sizeof out);
	e = wait_end(w2);
	ok(e != NULL && e->reason == SBX_END_TIMEOUT, "a handler that sleeps past the limit: WORKER_END timeout");
	close(sock);
	call(SBX_FN_LOGS, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strstr(body_of(&r), "hello was called") != NULL,
	   "logs: the function's stdout is in its log stream");
	/* a function that does not load */
	static const char bad[] = "def handler(:\n";
	deploy(SBX_FN_CREATE, "broken", "python", bad, strlen(bad), NULL, &r);
	call(SBX_INVOKE, admin_sha, "broken", NULL, NULL, 0, -1, &r);
	ok(r.status == 500 && strcmp(r.code, "load_error") == 0, "code that does not import: 500 load_error "
	   "(%s)", r.message);
	/* a function without the secret declared never sees it */
	deploy(SBX_FN_CREATE, "plain", "python", PY_HELLO, strlen(PY_HELLO), NULL, &r);
	call(SBX_INVOKE, admin_sha, "plain", NULL, NULL, 0, -1, &r);
	sock = in.nfds == 1 ? imsg_take_fd(&in, 0) : -1;
	imsg_close_fds(&in);
	t = invoke_frames(sock, "{}", out, sizeof out);
	ok(t == FN_FRAME_RESULT && strstr(out, "s3cret") == NULL && strstr(out, "API_KEY") == NULL,
	   "a function that does not declare API_KEY: not in its environment");
	ok(strstr(out, "61000") == NULL, "  and runs as another uid");
	close(sock);
	done(r.worker, SBX_DONE_OK);
	/* netd restarts while it holds a worker: the worker is killed */
	call(SBX_INVOKE, admin_sha, "plain", NULL, NULL, 0, -1, &r);
	uint64_t held = r.worker, ended = SD.ended;
	imsg_close_fds(&in);
	{
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
			die("socketpair");
		egress_forget();
		sandboxd_set_peer(&SD, SBXD_CHAN_NETD, sv[0]);
		close(netd);
		netd = sv[1];
		fcntl(netd, F_SETFL, O_NONBLOCK);
		netd_drain();
		char got[256];
		ok(egress_new_ok("plain", 0, got, sizeof got) &&
		   egress_new_ok("hello", 0, got, sizeof got),
		   "a new netd channel: every function's listeners and rules again (%s)", got);
		egress_forget();
	}
	for (int i = 0; i < ROUNDS && SD.ended == ended; i++)
		sandboxd_round(&SD, 20);
	ok(SD.ended == ended + 1 && worker_gone(held), "a new netd channel: the worker the old netd held is "
	   "killed and reaped");
	call(SBX_INVOKE, admin_sha, "plain", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && r.worker != held, "  the next invoke gets a new worker");
	sock = in.nfds == 1 ? imsg_take_fd(&in, 0) : -1;
	imsg_close_fds(&in);
	close(sock);
	done(r.worker, SBX_DONE_BROKEN);
}

static const char JS_HELLO[] =
	"exports.handler = async (req) => {\n"
	"  console.log('node was called');\n"
	"  return { statusCode: 200, headers: {}, body: { uid: process.getuid(),\n"
	"           key: process.env.API_KEY ?? null, env: Object.keys(process.env).sort() } };\n"
	"};\n";

static void test_invoke_node(void)
{
	struct sbx_reply_msg r;
	char out[4096];
	int sock, t;

	if (!have_node) {
		ok(1, "# skip node: /usr/bin/node not installed");
		return;
	}
	deploy(SBX_FN_CREATE, "jsfn", "node", JS_HELLO, strlen(JS_HELLO), "\"secrets\":[\"API_KEY\"]", &r);
	is_int(r.status, 201, "node deploy: 201 (%s)", r.message);
	call(SBX_INVOKE, admin_sha, "jsfn", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && r.worker_kind == SBX_WORKER_FRAMES && strcmp(r.runtime, "node") == 0,
	   "node invoke: 200 with the worker's socket (%s)", r.message);
	sock = in.nfds == 1 ? imsg_take_fd(&in, 0) : -1;
	imsg_close_fds(&in);
	t = invoke_frames(sock, "{}", out, sizeof out);
	ok(t == FN_FRAME_RESULT && strstr(out, "\"key\":\"s3cret\"") != NULL &&
	   strstr(out, "\"env\":[\"API_KEY\",\"HOME\",\"LANG\",\"PATH\"]") != NULL,
	   "  RESULT: its declared secret and nothing else in its environment (%s)", out);
	close(sock);
	done(r.worker, SBX_DONE_OK);
	call(SBX_FN_LOGS, admin_sha, "jsfn", NULL, NULL, 0, -1, &r);
	ok(strstr(body_of(&r), "node was called") != NULL, "  console.log is in its log stream");
}

static void test_native(void)
{
	static char code[1 << 20];
	char path[700], out[64];
	struct sbx_reply_msg r;
	int fd, n;
	long len;

	snprintf(path, sizeof path, "%s/../escape/fn_echo", self_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	len = fd >= 0 ? read(fd, code, sizeof code) : -1;
	if (fd >= 0)
		close(fd);
	if (len <= 0) {
		ok(0, "read %s", path);
		return;
	}
	deploy(SBX_FN_CREATE, "echo", "native", code, (size_t)len, NULL, &r);
	is_int(r.status, 201, "native deploy: 201 (%s)", r.message);
	call(SBX_INVOKE, admin_sha, "echo", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && r.worker_kind == SBX_WORKER_NATIVE && in.nfds == 2,
	   "native invoke: its stdin and stdout (%s)", r.message);
	int wr = imsg_take_fd(&in, 0), rd = imsg_take_fd(&in, 1);
	imsg_close_fds(&in);
	if (write(wr, "hi", 2) != 2)
		die("write");
	close(wr);
	n = 0;
	for (int i = 0; i < ROUNDS; i++) {
		ssize_t k = read(rd, out + n, sizeof out - 1 - (size_t)n);
		if (k <= 0)
			break;
		n += (int)k;
	}
	out[n] = '\0';
	close(rd);
	is_str(out, "echo:hi", "native: stdin in, stdout out");
	const struct sbx_worker_end_msg *e = wait_end(r.worker);
	ok(e != NULL && e->reason == SBX_END_EXIT && e->status == 0, "native: WORKER_END exit 0");
	/* its log: one line now, then 100 KiB: only the newest 64 KiB stay */
	call(SBX_FN_LOGS, admin_sha, "echo", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strcmp(body_of(&r), "fn_echo: called\n") == 0 && r.worker == 0,
	   "native: stderr is its log stream");
	call(SBX_INVOKE, admin_sha, "echo", NULL, NULL, 0, -1, &r);
	wr = imsg_take_fd(&in, 0);
	rd = imsg_take_fd(&in, 1);
	imsg_close_fds(&in);
	if (write(wr, "log:100", 7) != 7)
		die("write");
	close(wr);
	close(rd);
	wait_end(r.worker);
	call(SBX_FN_LOGS, admin_sha, "echo", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && r.body_in_fd == 1 && r.body_len == SBXD_LOG_RING,
	   "logs: bounded to %u bytes, in a memfd (%llu)", SBXD_LOG_RING, (unsigned long long)r.body_len);
	ok(r.worker == 16 + 100 * 1024 - SBXD_LOG_RING, "  starting at stream offset %llu (the oldest dropped)",
	   (unsigned long long)r.worker);
	if (in.nfds == 1) {
		int seals = fcntl(in.fds[0], F_GET_SEALS);
		ok(seals >= 0 && (seals & F_SEAL_WRITE), "  the memfd is sealed");
	}
	imsg_close_fds(&in);
	next_arg = 16 + 100 * 1024 - 10;
	call(SBX_FN_LOGS, admin_sha, "echo", NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && r.body_len == 10 && r.worker == 16 + 100 * 1024 - 10 &&
	   strcmp(body_of(&r), "xxxxxxxxx\n") == 0, "logs from an offset: the rest of the stream");
}

static void test_tokens(void)
{
	struct sbx_reply_msg r;
	char tok[128];
	uint8_t h[32];
	const char *b, *k;
	/* netd's canonical form, whatever the client's shape */
	static const char req[] = "{\"name\":\"reader\",\"appName\":\"\",\"permissions\":"
				  "[\"functions:read\",\"functions:invoke:echo\"]}";
	static const char v1req[] = "{\"name\":\"reader\",\"scopes\":[\"functions:read\"]}";

	call(SBX_TOKEN_CREATE, admin_sha, NULL, NULL, v1req, strlen(v1req), -1, &r);
	ok(r.status == 400, "token create: a body in the v1 client shape is not netd's form: 400 (%s)",
	   r.message);
	next_shape = SBX_SHAPE_SEED;
	call(SBX_TOKEN_CREATE, admin_sha, NULL, NULL, req, strlen(req), -1, &r);
	b = body_of(&r);
	ok(r.status == 201 && strstr(b, "\"key\":\"dshield_") && strstr(b, "\"permissions\":[") &&
	   !strstr(b, "\"token\""), "token create, seed shape: 201 {id, name, key, permissions} (%s)", b);
	if ((k = strstr(b, "\"id\":\"")) != NULL) {
		char id[FN_TOKEN_ID_LEN + 1];
		snprintf(id, sizeof id, "%.*s", FN_TOKEN_ID_LEN, k + 6);
		next_shape = SBX_SHAPE_SEED;
		call(SBX_TOKEN_LIST, admin_sha, NULL, NULL, NULL, 0, -1, &r);
		ok(r.status == 200 && strncmp(body_of(&r), "{\"keys\":[", 9) == 0,
		   "token list, seed shape: {\"keys\":[...]}");
		call(SBX_TOKEN_DELETE, admin_sha, id, NULL, NULL, 0, -1, &r);
		ok(r.status == 200 && strcmp(body_of(&r), "{\"deleted\":true}") == 0,
		   "token delete: 200 {\"deleted\":true}");
	}
	call(SBX_TOKEN_CREATE, admin_sha, NULL, NULL, req, strlen(req), -1, &r);
	b = body_of(&r);
	k = strstr(b, "\"token\":\"");
	ok(r.status == 201 && k != NULL, "token create: 201 with the token (%s)", r.message);
	if (k == NULL)
		return;
	snprintf(tok, sizeof tok, "%.72s", k + 9);
	sha256(tok, strlen(tok), h);
	call(SBX_FN_LIST, h, NULL, NULL, NULL, 0, -1, &r);
	is_int(r.status, 200, "the token lists (functions:read)");
	deploy(SBX_FN_CREATE, "x", "python", "y=1\n", 4, NULL, &r);   /* as admin: fine */
	{
		char canon[FN_DECL_CANON_MAX + 1];
		int fd, len = make_decl("z", "python", "y=1\n", 4, NULL, canon, sizeof canon, &fd);
		call(SBX_FN_CREATE, h, "z", NULL, canon, (size_t)len, fd, &r);
		close(fd);
		ok(r.status == 403 && strcmp(r.code, "forbidden") == 0, "the token cannot deploy: 403 forbidden");
	}
	call(SBX_INVOKE, h, "hello", NULL, NULL, 0, -1, &r);
	is_int(r.status, 403, "the token cannot invoke hello (only echo)");
	call(SBX_INVOKE, h, "echo", NULL, NULL, 0, -1, &r);
	is_int(r.status, 200, "  but invokes echo (functions:invoke:echo)");
	imsg_close_fds(&in);
	call(SBX_SECRET_LIST, h, NULL, NULL, NULL, 0, -1, &r);
	is_int(r.status, 403, "  and cannot list secrets");
	call(SBX_TOKEN_LIST, admin_sha, NULL, NULL, NULL, 0, -1, &r);
	ok(r.status == 200 && strncmp(body_of(&r), "{\"tokens\":[", 11) == 0 &&
	   strstr(body_of(&r), "reader") && !strstr(body_of(&r), tok),
	   "token list: names, never the token");
	call(SBX_TOKEN_LIST, h, NULL, NULL, NULL, 0, -1, &r);
	is_int(r.status, 403, "a non-admin token cannot list tokens");
	{
		char id[FN_TOKEN_ID_LEN + 1];
		fn_token_id(h, id);
		call(SBX_TOKEN_DELETE, admin_sha, id, NULL, NULL, 0, -1, &r);
		is_int(r.status, 200, "token delete: 200");
	}
	call(SBX_FN_LIST, h, NULL, NULL, NULL, 0, -1, &r);
	is_int(r.status, 401, "the deleted token: 401");
}

static void test_delete(void)
{
	struct sbx_reply_msg r;

	keyd_answer = -EIO;
	call(SBX_FN_DELETE, admin_sha, "plain", NULL, NULL, 0, -1, &r);
	is_int(r.status, 503, "delete refused by keyd: 503");
	call(SBX_FN_GET, admin_sha, "plain", NULL, NULL, 0, -1, &r);
	is_int(r.status, 200, "  the function stays");
	keyd_answer = 0;
	seen[0] = '\0';
	egress_forget();
	call(SBX_FN_DELETE, admin_sha, "plain", NULL, NULL, 0, -1, &r);
	is_int(r.status, 200, "delete: 200");
	ok(egress_op_seen("plain", SBX_EGRESS_GONE, 0), "  netd is told its listeners are gone");
	{
		struct sbx_inject_msg m;
		memcpy(&m, inj, sizeof m);
		ok(inj_len == sizeof m && strcmp(m.function, "plain") == 0 && m.n == 0,
		   "  and that it has no values to inject any more");
	}
	ok(last_ev.op == FN_EVENT_DELETE && strcmp(seen, "klr") == 0, "  recorded by keyd, then logd");
	call(SBX_FN_GET, admin_sha, "plain", NULL, NULL, 0, -1, &r);
	is_int(r.status, 404, "  then it is gone");
	call(SBX_FN_DELETE, admin_sha, "plain", NULL, NULL, 0, -1, &r);
	is_int(r.status, 404, "delete again: 404");
}

/* A function's /data (sandboxd/fndata.h): written, read back after a
 * restart as the same uid, gone with the function; none with data_mb 0.
 * The host's file systems here have no project quotas: the quota itself
 * is tested in QEMU (qemu-test/t/06-store.t), and here it must be said
 * NOT enforced. */
static const char PY_DATA[] =
	"import os\n"
	"def handler(req):\n"
	"    q = req.get('query', {})\n"
	"    if q.get('write'):\n"
	"        with open('/data/note.txt', 'w') as f:\n"
	"            f.write(q['write'])\n"
	"    try:\n"
	"        with open('/data/note.txt') as f:\n"
	"            got = f.read()\n"
	"    except OSError as e:\n"
	"        got = 'none:' + type(e).__name__\n"
	"    st = os.stat('/data') if os.path.isdir('/data') else None\n"
	"    return {'statusCode': 200, 'headers': {}, 'body': {'got': got, 'uid': os.getuid(),\n"
	"            'owner': st.st_uid if st else -1, 'mode': st.st_mode & 0o777 if st else -1}}\n";

/* Invokes id with query; its RESULT in out. The worker is given back. */
static int data_call(const char *id, const char *query, char *out, size_t cap)
{
	struct sbx_reply_msg r;
	int sock, t;

	call(SBX_INVOKE, admin_sha, id, NULL, NULL, 0, -1, &r);
	if (r.status != 200 || in.nfds != 1) {
		snprintf(out, cap, "invoke %d %s", r.status, r.message);
		imsg_close_fds(&in);
		return -1;
	}
	sock = imsg_take_fd(&in, 0);
	imsg_close_fds(&in);
	t = invoke_frames(sock, query, out, cap);
	close(sock);
	done(r.worker, SBX_DONE_OK);
	return t;
}

static bool has_gone_or(const char *name)
{
	char p[300];
	DIR *d;
	struct dirent *de;
	bool found = false;

	snprintf(p, sizeof p, "%s/data", p_store);
	if ((d = opendir(p)) == NULL)
		return false;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, ".gone-", 6) == 0 || strcmp(de->d_name, name) == 0)
			found = true;
	closedir(d);
	return found;
}

static void test_data(void)
{
	struct sbx_reply_msg r;
	char out[2048], uid1[32] = "", p[300];
	const char *u;

	if (!have_python) {
		ok(1, "# skip data: /usr/bin/python3 not installed");
		return;
	}
	deploy(SBX_FN_CREATE, "tmpfirst", "python", PY_DATA, strlen(PY_DATA), NULL, &r);
	deploy(SBX_FN_CREATE, "keeper", "python", PY_DATA, strlen(PY_DATA), NULL, &r);
	is_int(r.status, 201, "data: deploy (%s)", r.message);
	ok(strstr(body_of(&r), "\"data\":{\"path\":\"/data\",\"quota_mb\":16,\"quota_enforced\":false,"
			       "\"reason\":\"no data disk (tmpfs, lost at poweroff): ") != NULL,
	   "  its view: /data, 16 MiB, quota NOT enforced and why (%s)", strstr(body_of(&r), "\"data\""));
	data_call("keeper", "{\"write\":\"kept across restarts\"}", out, sizeof out);
	ok(strstr(out, "\"got\":\"kept across restarts\"") != NULL && strstr(out, "\"mode\":448") != NULL,
	   "  the function writes /data, its own and 0700 (%s)", out);
	if ((u = strstr(out, "\"uid\":")) != NULL)
		snprintf(uid1, sizeof uid1, "%.*s", (int)strcspn(u, ","), u);
	ok(u != NULL && strstr(out, "\"owner\":") != NULL &&
	   atoi(strstr(out, "\"owner\":") + 8) == atoi(u + 6), "  owned by its uid (%s)", uid1);
	/* the slot below it freed: a restart must keep keeper's uid (its
	 * data directory's owner), not hand it the lowest free slot */
	call(SBX_FN_DELETE, admin_sha, "tmpfirst", NULL, NULL, 0, -1, &r);
	is_int(r.status, 200, "  another function deleted");
	close_core();
	open_core(false);
	data_call("keeper", "{}", out, sizeof out);
	ok(strstr(out, "\"got\":\"kept across restarts\"") != NULL && uid1[0] && strstr(out, uid1) != NULL,
	   "  restarted: /data read back, as the same uid %s (%s)", uid1, out);
	/* deleted, then deployed again under the same name: empty */
	call(SBX_FN_DELETE, admin_sha, "keeper", NULL, NULL, 0, -1, &r);
	is_int(r.status, 200, "  deleted");
	ok(!has_gone_or("keeper"), "  its data directory is removed, nothing left under data/");
	/* as if that removal had failed: a directory of the same name, owned
	 * by the uid the new function will get, holding a note */
	snprintf(p, sizeof p, "%s/data/keeper", p_store);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/data/keeper/note.txt", p_store);
	write_file(p, "stale", 5, 0600);
	{
		uid_t stale = SBXD_UID_BASE;   /* the lowest free slot's: the new function's */
		while (stale < SBXD_UID_BASE + SBXD_FN_MAX && SD.fns[stale - SBXD_UID_BASE].used)
			stale++;
		snprintf(p, sizeof p, "%s/data/keeper/note.txt", p_store);
		if (chown(p, stale, stale) != 0)
			diag("chown: %s", strerror(errno));
		snprintf(p, sizeof p, "%s/data/keeper", p_store);
		if (chown(p, stale, stale) != 0)
			diag("chown: %s", strerror(errno));
	}
	deploy(SBX_FN_CREATE, "keeper", "python", PY_DATA, strlen(PY_DATA), NULL, &r);
	data_call("keeper", "{}", out, sizeof out);
	ok(strstr(out, "\"got\":\"none:FileNotFoundError\"") != NULL,
	   "  deployed again under the same name, over a stale directory of its uid: /data is empty (%s)",
	   out);
	/* leftovers of a crash: a directory no function owns, a deleted
	 * tree with files in it owned by another uid */
	snprintf(p, sizeof p, "%s/data/orphan", p_store);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/data/.gone-0011223344556677", p_store);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/data/.gone-0011223344556677/sub", p_store);
	mkdir(p, 0500);
	if (chown(p, 61234, 61234) != 0)
		diag("chown: %s", strerror(errno));
	snprintf(p, sizeof p, "%s/data/.gone-0011223344556677", p_store);
	if (chown(p, 61234, 61234) != 0)
		diag("chown: %s", strerror(errno));
	close_core();
	open_core(false);
	ok(!has_gone_or("orphan"), "restart: an orphan data directory and a deleted tree are removed");
	snprintf(p, sizeof p, "%s/data/keeper", p_store);
	ok(access(p, F_OK) == 0, "  the live function's stays");
	/* data_mb 0: no /data at all */
	deploy(SBX_FN_CREATE, "nodata", "python", PY_DATA, strlen(PY_DATA), "\"limits\":{\"data_mb\":0}", &r);
	ok(r.status == 201 && strstr(body_of(&r), "\"data\":null") != NULL, "data_mb 0: deployed, \"data\":null");
	data_call("nodata", "{}", out, sizeof out);
	ok(strstr(out, "\"owner\":-1") != NULL, "  and the function has no /data (%s)", out);
	call(SBX_FN_DELETE, admin_sha, "nodata", NULL, NULL, 0, -1, &r);
	call(SBX_FN_DELETE, admin_sha, "keeper", NULL, NULL, 0, -1, &r);
}

static void test_reload_public(void)
{
	struct sbx_reply_msg r;

	close_core();
	open_core(true);
	call(SBX_FN_GET, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	is_int(r.status, 200, "reopened: the stored function is served again");
	call(SBX_INVOKE, NULL, "echo", NULL, NULL, 0, -1, &r);
	ok(r.status == 200, "public_invoke: invoke without a token (%s)", r.message);
	if (in.nfds == 2) {
		close(imsg_take_fd(&in, 0));
		close(imsg_take_fd(&in, 1));
	}
	wait_end(r.worker);
	call(SBX_FN_LIST, NULL, NULL, NULL, NULL, 0, -1, &r);
	is_int(r.status, 401, "  every other request still needs one");
}

/* Every code file of the store one byte longer (grow) or back (shrink). */
static int code_files_resize(bool grow)
{
	char dir[160], p[160 + 256 + 2];
	DIR *d;
	struct dirent *de;
	struct stat sb;
	int n = 0;

	snprintf(dir, sizeof dir, "%s/code", p_store);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (de->d_name[0] == '.' || stat(p, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    truncate(p, grow ? sb.st_size + 1 : sb.st_size - 1) != 0)
			continue;
		n++;
	}
	closedir(d);
	return n;
}

/* Code changed in the store (the data disk is not authenticated): the
 * function is not served, since its bytes are not the measured ones. */
/* logd's answers in one IMSG_LOG_APPENDED_MANY: the change's is taken,
 * a stale one counted as malformed and dropped. */
static void test_logd_many(void)
{
	struct sbx_reply_msg r;
	uint64_t bad = SD.malformed;

	logd_many = true;
	deploy(SBX_FN_CREATE, "many", "python", PY_HELLO, strlen(PY_HELLO), NULL, &r);
	is_int(r.status, 201, "logd's answers as one message, a stale one first: deploy 201 (%s)", r.message);
	is_int((int)(SD.malformed - bad), 1, "  the stale answer counted and dropped");
	logd_answer = -EIO;
	call(SBX_FN_DELETE, admin_sha, "many", NULL, NULL, 0, -1, &r);
	is_int(r.status, 503, "  the change's own refusal in it: delete 503");
	logd_answer = 0;
	call(SBX_FN_DELETE, admin_sha, "many", NULL, NULL, 0, -1, &r);
	is_int(r.status, 200, "  then delete 200");
	logd_many = false;
}

static void test_reload_changed_code(void)
{
	struct sbx_reply_msg r;

	close_core();
	ok(code_files_resize(true) > 0, "every code file in the store changed (one byte more)");
	open_core(false);
	call(SBX_FN_GET, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	is_int(r.status, 404, "reopened: a function whose stored code is not its declaration's is not served");
	call(SBX_INVOKE, admin_sha, "echo", NULL, NULL, 0, -1, &r);
	is_int(r.status, 404, "  nor invoked (native)");
	close_core();
	ok(code_files_resize(false) > 0, "the code files as they were");
	open_core(false);
	call(SBX_FN_GET, admin_sha, "hello", NULL, NULL, 0, -1, &r);
	is_int(r.status, 200, "reopened: served again");
}

/* sandboxd's own limits (see the top). */
static void confine_like_the_role(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	static struct seccomp_prog prog;

	for (int cap = 0; cap < 64; cap++)
		if (!(SANDBOXD_CAPS & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
		    errno != EINVAL)
			die("PR_CAPBSET_DROP");
	memset(data, 0, sizeof data);
	data[0].effective = data[0].permitted = (uint32_t)SANDBOXD_CAPS;
	data[1].effective = data[1].permitted = (uint32_t)(SANDBOXD_CAPS >> 32);
	if (syscall(SYS_capset, &hdr, data) != 0)
		die("capset");
#ifdef UNDER_SANITIZER
	(void)prog;
	ok(1, "the test runs with sandboxd's capabilities (%#llx); not its seccomp filter "
	   "(a sanitizer build)", (unsigned long long)SANDBOXD_CAPS);
#else
	/* not dumpable, as every role (what made a function's netns
	 * unreachable through /proc until the helper made itself dumpable) */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("PR_SET_DUMPABLE");
	if (seccomp_build(sandboxd_seccomp_rules, sandboxd_seccomp_nrules, &prog) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || seccomp_install(&prog) < 0)
		die("sandboxd's seccomp filter");
	ok(1, "the test runs with sandboxd's capabilities (%#llx) and seccomp filter",
	   (unsigned long long)SANDBOXD_CAPS);
#endif
}

/* A layer whose python3 is not a program: python is not available. */
static void test_bad_layer(void)
{
	static struct sandboxd bad;
	struct sandboxd_config_msg cfg = { .has_policy = 1 };
	char layers[160], p[256], work[160];
	unsigned char *buf;
	size_t n;

	snprintf(layers, sizeof layers, "%s/bad-layers", base);
	snprintf(work, sizeof work, "%s/bad-work", base);
	snprintf(p, sizeof p, "%s/python/usr/bin", layers);
	for (char *q = p + strlen(base) + 1; *q; q++)
		if (*q == '/') {
			*q = '\0';
			mkdir(p, 0755);
			*q = '/';
		}
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/python/usr/bin/python3", layers);
	write_file(p, "not a program\n", 14, 0755);
	snprintf(p, sizeof p, "%s/python/usr/lib", layers);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/python/usr/lib/dshield", layers);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/python/usr/lib/dshield/dshield_worker.py", layers);
	write_file(p, "", 0, 0644);
	if (file_read_alloc(p_policy, POLICY_MAX_BYTES, &buf, &n) < 0)
		die("read policy");
	sha256(buf, n, cfg.policy_sha256);
	free(buf);
	struct sbxd_paths paths = { p_policy, p_store, work, layers, NULL };
	is_int(sandboxd_open(&bad, &cfg, &paths), 0, "a layer whose python3 is not a program: opens");
	ok(!(bad.runtimes_ok & (1u << POLICY_RT_PYTHON)), "  python is not available (it was tried, "
	   "not just found)");
	sandboxd_close(&bad);
}

/* IMSG_SBX_CA: netd's local CA, kept for new workers; a new one retires
 * the warm workers; malformed ones are refused and counted. */
static void send_ca(const char *pem, uint32_t claimed)
{
	struct {
		struct sbx_ca_msg m;
		char pem[SBX_CA_PEM_MAX + 8];
	} b;
	size_t len = strlen(pem);

	b.m = (struct sbx_ca_msg){ .pem_len = claimed };
	memcpy(b.pem, pem, len);
	imsg_send(netd, IMSG_SBX_CA, 0, &b, sizeof b.m + len, NULL, 0);
	for (int i = 0; i < 5; i++)
		sandboxd_round(&SD, 20);
}

static unsigned idle_workers(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SBXD_WORKERS_MAX; i++)
		n += SD.w[i].state == SBXD_W_IDLE;
	return n;
}

static void test_ca(void)
{
	static const char a[] = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n";
	static const char b[] = "-----BEGIN CERTIFICATE-----\nREVG\n-----END CERTIFICATE-----\n";
	uint64_t m0 = SD.malformed;
	unsigned idle = idle_workers();

	send_ca(a, (uint32_t)strlen(a));
	ok(strcmp(SD.ca_pem, a) == 0, "IMSG_SBX_CA: the CA kept for new workers");
	ok(idle_workers() == 0, "  the %u warm workers (started without it) retired", idle);
	send_ca(a, (uint32_t)strlen(a) + 1);
	static const char bad[] = "-----BEGIN CERTIFICATE-----\nQU JD\n-----END CERTIFICATE-----\n";
	send_ca(bad, (uint32_t)strlen(bad));
	ok(SD.malformed == m0 + 2 && strcmp(SD.ca_pem, a) == 0,
	   "a length that lies, a PEM with a space: refused, counted, the CA unchanged");
	send_ca(b, (uint32_t)strlen(b));
	ok(strcmp(SD.ca_pem, b) == 0, "a new CA (netd restarted) replaces it");
}

int main(void)
{
	char self[512];
	ssize_t n;

	if (geteuid() != 0) {
		printf("1..0 # skip needs root (namespaces, mounts)\n");
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		die("readlink");
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(self_dir, sizeof self_dir, "%s", self);
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die("private mount namespace");
	if (mkdtemp(base) == NULL || chmod(base, 0755) != 0)
		die("mkdtemp");
	snprintf(p_store, sizeof p_store, "%s/store", base);
	snprintf(p_work, sizeof p_work, "%s/work", base);
	snprintf(p_policy, sizeof p_policy, "%s/policy.json", base);
	setup_layers();
	confine_like_the_role();
	open_core(false);
	test_info_auth();
	test_nproc();
	test_policy_public_list();
	test_malformed();
	test_create_order_and_refusals();
	test_secrets();
	test_invoke_python();
	test_invoke_node();
	test_native();
	test_ca();
	test_tokens();
	test_delete();
	test_data();
	test_reload_public();
	test_reload_changed_code();
	test_logd_many();
	close_core();
	test_bad_layer();
	{
		char cmd[256];
		snprintf(cmd, sizeof cmd, "umount -l %s/layers/python/usr 2>/dev/null; rm -rf %s", base, base);
		if (system(cmd) != 0)
			diag("cleanup of %s failed", base);
	}
	return tap_done();
}
