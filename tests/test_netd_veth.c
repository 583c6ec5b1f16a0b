/* tests/test_netd_veth.c: netd end to end over a veth pair, with this
 * program playing init.
 *
 * Topology (all created here; it vanishes with this process, however it
 * ends: both namespaces are anonymous, held only by this process, and every
 * child gets SIGKILL when we die):
 *
 *   this process, own netns          peer netns (anonymous)
 *   vn0 (no address, IPv6 off,  <->  vp0 198.18.3.1/24, dnsmasq (DHCP),
 *        NOARP; AF_PACKET)                the HTTP clients of this test
 *
 * netd runs as a forked child on fd 3 of a SEQPACKET socketpair, with its
 * real seccomp filter (except under sanitizers), exactly as init starts it
 * minus chroot and uid change. The test checks the status messages, serves
 * IMSG_KADDR_REQ itself, and drives HTTP from the peer namespace: keep-
 * alive, pipelining, backpressure with thousands of unread responses,
 * large bodies, timeouts, a full connection pool, stale init answers, a
 * channel to a fake logd (the attestation entry first, a bundle of 512 KB
 * streamed to a slow reader with chunks asked for only as room frees,
 * logd dying mid-stream), a channel to a fake sandboxd (its policy in a
 * memfd, a 3 MiB deployment streamed to a memfd and passed on sealed, an
 * invocation answered by this program playing the worker, sandboxd going
 * away), init's KMS request carried to a fake KMS in the peer namespace
 * (a key, a refusal, busy, an answer cut short, a closed port), all
 * under netd's real seccomp filter, and netd's exit when init
 * goes away; then the
 * same over a DHCP lease.
 *
 * Needs root, `ip`, and for the DHCP part `dnsmasq`; skips otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>

#include "cli/kms.h"
#include "init/netif.h"
#include "cli/tls_pin.h"
#include "crypto/policy.h"
#include "keyd/apikey.h"
#include "lib/base64.h"
#include "lib/file.h"
#include "lib/frame.h"
#include "lib/imsg.h"
#include "proto/fn_frame.h"
#include "proto/init_netd.h"
#include "proto/netd_keyd.h"
#include "proto/netd_sandboxd.h"
#include "crypto/log_entry.h"
#include "proto/logd.h"
#include "proto/role.h"
#include "lib/log.h"
#include "net/http_lwip.h"
#include "net/http_tls.h"
#include "net/netd.h"
#include "proto/netd_keyd.h"
#include "tls/anchors.h"
#include "tls/engine.h"
#include "tests/tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

#define PEER_ADDR  "198.18.3.1"
#define STATIC_IP  "198.18.3.2"
#define HTTP_PORT  8080
/* The pool tests hold 132 half requests open, each under this timeout
 * from its first byte: at 1.5 s a loaded machine timed the oldest out
 * (a 408, not an eviction) before the pool filled, and they failed */
#define HEADER_TIMEOUT_MS 6000
#define IDLE_TIMEOUT_MS   3000

static int ns_self = -1, ns_peer = -1;
static pid_t netd_pid = -1, dnsmasq_pid = -1;
static int init_sock = -1;          /* our end of netd's imsg channel */
static struct imsg im;

/* --- plumbing -------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs argv in network namespace ns (-1: ours); its exit status or -1. */
static int run_in(int ns, const char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (ns >= 0 && setns(ns, CLONE_NEWNET) != 0)
			_exit(126);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN(...) run_in(-1, (const char *const[]){ __VA_ARGS__, NULL })
#define RUN_PEER(...) run_in(ns_peer, (const char *const[]){ __VA_ARGS__, NULL })

static void stop_child(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			return;
		}
		usleep(20000);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = -1;
}

static void cleanup(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	stop_child(&netd_pid);
	stop_child(&dnsmasq_pid);
	/* The namespaces, and with them the veth pair, go when we exit. */
}

static void on_alarm(int sig)
{
	static const char m[] = "Bail out! test_netd_veth timed out or was interrupted\n";
	(void)sig;
	ssize_t w = write(1, m, sizeof m - 1);
	(void)w;
	cleanup();
	_exit(1);
}

static int enter_peer(void) { return setns(ns_peer, CLONE_NEWNET); }
static int enter_self(void) { return setns(ns_self, CLONE_NEWNET); }

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* Legacy ethtool toggles; fine for veth. */
static int ethtool_set(const char *ifname, uint32_t cmd, uint32_t value)
{
	struct ethtool_value ev = { .cmd = cmd, .data = value };
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	ifr.ifr_data = (char *)&ev;
	r = ioctl(s, SIOCETHTOOL, &ifr) == 0 ? 0 : -errno;
	close(s);
	return r;
}

static int setup_topology(void)
{
	char self_pid[16];

	/* The peer namespace: unshare once more, keep an fd, come back. */
	if (unshare(CLONE_NEWNET) != 0)
		return -1;
	ns_peer = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_peer < 0 || enter_self() != 0)
		return -1;
	/* Created from the peer side, its other end sent to our namespace. */
	snprintf(self_pid, sizeof self_pid, "%d", (int)getpid());
	if (RUN_PEER("ip", "link", "add", "vp0", "type", "veth", "peer", "name", "vn0",
		     "netns", self_pid) != 0)
		return -1;
	/* The netd side, as init leaves eth0: up, no address, no IPv6, no ARP. */
	if (write_file("/proc/sys/net/ipv6/conf/vn0/disable_ipv6", "1") < 0)
		diag("cannot disable IPv6 on vn0 (continuing)");
	if (RUN("ip", "link", "set", "vn0", "arp", "off", "up") != 0)
		return -1;
	if (RUN_PEER("ip", "link", "set", "lo", "up") != 0 ||
	    RUN_PEER("ip", "addr", "add", PEER_ADDR "/24", "dev", "vp0") != 0 ||
	    RUN_PEER("ip", "link", "set", "vp0", "up") != 0)
		return -1;
	/* The peer's kernel would hand veth 64 KiB TSO super-frames, which
	 * no wire carries (test_super_frames turns them back on); checksum
	 * offload stays on, so netd sees CHECKSUM_PARTIAL frames and must
	 * complete them. */
	if (enter_peer() != 0)
		return -1;
	int r1 = ethtool_set("vp0", ETHTOOL_STSO, 0);
	int r2 = ethtool_set("vp0", ETHTOOL_SGSO, 0);
	enter_self();
	if (r1 < 0 || r2 < 0)
		diag("could not turn off TSO/GSO on vp0: %s", strerror(-(r1 < 0 ? r1 : r2)));
	ethtool_set("vn0", ETHTOOL_SGRO, 0);
	return 0;
}

/* An AF_PACKET socket on vn0 set up as init does it. */
static int open_packet(uint8_t mac[6])
{
	struct sockaddr_ll sll;
	struct ifreq ifr;
	int on = 1;
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (s < 0)
		return -1;
	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex("vn0");
	/* As init does: a burst must not overflow the default ~200 KiB. */
	int rcvbuf = 4 << 20;
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
	if (bind(s, (struct sockaddr *)&sll, sizeof sll) != 0 ||
	    setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) != 0) {
		close(s);
		return -1;
	}
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "vn0");
	if (ioctl(s, SIOCGIFHWADDR, &ifr) != 0) {
		close(s);
		return -1;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return s;
}

/* Forks netd with its channel on fd 3; returns our end. */
static int start_netd(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	fflush(stdout);
	netd_pid = fork();
	if (netd_pid < 0)
		return -1;
	if (netd_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(sv[1], ROLE_INIT_FD) < 0)
			_exit(126);
		close(sv[0]);
#ifdef UNDER_SANITIZER
		setenv("DSHIELD_NO_SECCOMP", "1", 1);
#endif
		/* What role_enter does for the exec'd netd: its seccomp set,
		 * then its main. */
		if (seccomp_enter_role(netd_seccomp_rules, netd_seccomp_nrules) < 0)
			_exit(125);
		_exit(netd_main());
	}
	close(sv[1]);
	return sv[0];
}

/* dshield.dns= for the next scenario (0: none). */
static uint32_t dns_override;

static int send_config(int sock, int pkt, int pkt_tx, const uint8_t mac[6], bool dhcp)
{
	struct netd_config_msg c;
	struct boot_info_msg b;

	memset(&c, 0, sizeof c);
	snprintf(c.ifname, sizeof c.ifname, "vn0");
	memcpy(c.mac, mac, 6);
	if (!dhcp) {
		inet_pton(AF_INET, STATIC_IP, &c.ipv4_addr);
		inet_pton(AF_INET, "255.255.255.0", &c.ipv4_netmask);
		inet_pton(AF_INET, PEER_ADDR, &c.ipv4_gw);
		inet_pton(AF_INET, PEER_ADDR, &c.dns[0]);
	}
	if (dns_override != 0)
		c.dns[0] = dns_override;
	c.http_port = HTTP_PORT;
	c.http_header_timeout_ms = HEADER_TIMEOUT_MS;
	c.http_idle_timeout_ms = IDLE_TIMEOUT_MS;
	snprintf(c.hostname, sizeof c.hostname, "dshield-test");
	memset(&b, 0, sizeof b);
	b.host_mode = 1;
	b.t_init_start_ms = 1;
	int fds[2] = { pkt, pkt_tx };
	if (imsg_send(sock, IMSG_NETD_CONFIG, 0, &c, sizeof c, fds, 2) < 0)
		return -1;
	return imsg_send(sock, IMSG_BOOT_INFO, 0, &b, sizeof b, NULL, 0) < 0 ? -1 : 0;
}

/* Next message from netd within timeout_ms; 0 or -ETIMEDOUT/-errno. */
static int recv_msg(int timeout_ms)
{
	struct pollfd p = { .fd = init_sock, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	return imsg_recv(init_sock, &im);
}

static int wait_status(uint32_t state, struct netd_status_msg *out, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (now_ms() < end) {
		int r = recv_msg((int)(end - now_ms()));
		if (r < 0)
			return r;
		if (im.hdr.type != IMSG_NETD_STATUS)
			continue;
		if (imsg_get(&im, IMSG_NETD_STATUS, out, sizeof *out) < 0)
			return -EBADMSG;
		if (out->state == state)
			return 0;
	}
	return -ETIMEDOUT;
}

/* --- HTTP client in the peer namespace ---------------------------------------------------- */

struct client {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static uint32_t server_addr;        /* network order */

static int peer_socket(void)
{
	if (enter_peer() != 0)
		return -1;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	enter_self();
	return s;
}

/* The local ports of the run's connections to netd's API, so that a
 * connect that fails can say whether its port was used before (lwIP may
 * still hold that connection in TIME_WAIT). */
static uint16_t used_port[4096];
static unsigned used_ports;

/* A connect to netd's API that failed: what the kernel knows of it (a
 * SYN never answered, or answered by something else), said once. */
static void connect_failed(int fd, int err)
{
	struct tcp_info ti;
	socklen_t tl = sizeof ti;
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	unsigned before = 0;

	memset(&ti, 0, sizeof ti);
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0)
		me.sin_port = 0;
	for (unsigned i = 0; i < used_ports && i < 4096; i++)
		before += used_port[i] == ntohs(me.sin_port);
	diag("connect to netd's API from port %u failed: %s; TCP state %u, %u SYNs resent, "
	     "%u ms since the last packet in; the port was used %u times before in this run (of %u)",
	     ntohs(me.sin_port), strerror(err), ti.tcpi_state, ti.tcpi_total_retrans,
	     ti.tcpi_last_data_recv, before, used_ports);
}

static bool client_open(struct client *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(HTTP_PORT) };
	struct timeval tv = { .tv_sec = 5 };

	c->len = 0;
	c->fd = peer_socket();
	if (c->fd < 0)
		return false;
	sin.sin_addr.s_addr = server_addr;
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		int e = errno;
		connect_failed(c->fd, e);
		close(c->fd);
		c->fd = -1;
		errno = e;
		return false;
	}
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	if (getsockname(c->fd, (struct sockaddr *)&me, &ml) == 0)
		used_port[used_ports++ % 4096] = ntohs(me.sin_port);
	return true;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static bool send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Waits up to timeout_ms until the peer acknowledged every byte sent on
 * fd (SIOCOUTQ 0): lwIP acknowledges what it received, and hands it to
 * the HTTP core as it receives it, so netd then holds it. */
static bool wait_acked(int fd, int timeout_ms)
{
	for (int waited = 0;; waited += 5) {
		int unacked = -1;
		if (ioctl(fd, SIOCOUTQ, &unacked) != 0 || unacked == 0)
			return unacked == 0;
		if (waited >= timeout_ms)
			return false;
		usleep(5000);
	}
}

/* Reads more into c->buf within timeout_ms. >0 bytes, 0 EOF, -ETIMEDOUT, -errno. */
static int client_fill(struct client *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (c->len == sizeof c->buf)
		return -ENOBUFS;
	int r = poll(&p, 1, timeout_ms);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
	if (n < 0)
		return -errno;
	c->len += (size_t)n;
	return (int)n;
}

struct response {
	int status;
	char body[4096];
	size_t body_len;
	bool close;
};

/* Takes one whole response (Content-Length framed) from c. 0 or -errno. */
static int read_response(struct client *c, struct response *rsp, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		char *hend = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (hend != NULL) {
			size_t hlen = (size_t)(hend - c->buf) + 4;
			char head[4096];
			size_t cl = 0;
			if (hlen >= sizeof head)
				return -EMSGSIZE;
			memcpy(head, c->buf, hlen);
			head[hlen] = '\0';
			if (sscanf(head, "HTTP/1.1 %d", &rsp->status) != 1)
				return -EBADMSG;
			char *p = strcasestr(head, "\r\ncontent-length:");
			if (p != NULL)
				cl = strtoul(p + 17, NULL, 10);
			rsp->close = strcasestr(head, "\r\nconnection: close") != NULL;
			if (c->len >= hlen + cl) {
				rsp->body_len = cl < sizeof rsp->body - 1 ? cl : sizeof rsp->body - 1;
				memcpy(rsp->body, c->buf + hlen, rsp->body_len);
				rsp->body[rsp->body_len] = '\0';
				memmove(c->buf, c->buf + hlen + cl, c->len - hlen - cl);
				c->len -= hlen + cl;
				return 0;
			}
		}
		uint64_t now = now_ms();
		if (now >= end)
			return -ETIMEDOUT;
		int r = client_fill(c, (int)(end - now));
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return r;
	}
}

/* Waits for EOF (or RST) from the server: 0 on EOF, -ECONNRESET, -ETIMEDOUT. */
static int wait_closed(struct client *c, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= end)
			return -ETIMEDOUT;
		c->len = 0;
		int r = client_fill(c, (int)(end - now));
		if (r == 0)
			return 0;
		if (r < 0)
			return r;
	}
}

static int get(struct client *c, const char *path, struct response *rsp)
{
	char req[512];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: dut\r\n\r\n", path);
	if (!send_all(c->fd, req, (size_t)n))
		return -EPIPE;
	/* a bound for a loaded machine (ASan, CI's other stages), not a
	 * measure: "still serving" once failed at 3 s */
	return read_response(c, rsp, 10000);
}

/* --- /v1/info: we are init ------------------------------------------------------------- */

static int expect_kaddr_req(uint32_t *id)
{
	int r = recv_msg(3000);
	if (r < 0)
		return r;
	if (im.hdr.type != IMSG_KADDR_REQ || im.hdr.len != 0)
		return -EBADMSG;
	*id = im.hdr.id;
	return 0;
}

static int send_kaddr_reply(uint32_t id)
{
	struct kaddr_reply_msg rep;

	memset(&rep, 0, sizeof rep);
	rep.count = 0;   /* the kernel holds no address on the NIC */
	return imsg_send(init_sock, IMSG_KADDR_REPLY, id, &rep, sizeof rep, NULL, 0);
}

/* --- the log: we broker a channel to a fake logd ------------------------------------------ */

#define BIG_ENTRY 1998              /* each entry of the fake bundle */
static int logd_fd = -1;            /* the fake logd's end */

/* Hands netd a fresh channel to a role (peer), as init does when that
 * role starts; our end goes to *fd. */
static bool give_channel(uint32_t peer, uint32_t gen, int *fd)
{
	struct peer_channel_msg pc = { .peer = peer, .generation = gen };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return false;
	int r = imsg_send(init_sock, IMSG_PEER_CHANNEL, 0, &pc, sizeof pc, &sv[1], 1);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return false;
	}
	*fd = sv[0];
	return true;
}

/* Byte i of the fake bundle: 256 entries of BIG_ENTRY bytes. */
static uint8_t bundle_byte(uint64_t i)
{
	uint64_t e = i % (2 + BIG_ENTRY);
	if (e == 0)
		return BIG_ENTRY >> 8;
	if (e == 1)
		return BIG_ENTRY & 0xff;
	return (uint8_t)(i * 131 + i / 7);
}

#define BUNDLE_TOTAL ((uint64_t)256 * (2 + BIG_ENTRY))   /* 512,000 */

/* Answers one question of netd's, if one arrives within timeout_ms:
 * READ_REQ with the fake bundle, APPEND (and APPEND_LAZY) with success. Returns the type
 * answered, 0 for none, -1 on a channel error. */
static int logd_serve(int timeout_ms)
{
	static uint8_t out[IMSG_MAX_PAYLOAD];
	struct pollfd p = { .fd = logd_fd, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	if (imsg_recv(logd_fd, &im) < 0)
		return -1;
	if (im.hdr.type == IMSG_LOG_READ_REQ && im.hdr.len == sizeof(struct log_read_req_msg)) {
		struct log_read_req_msg q;
		struct log_read_msg *m = (struct log_read_msg *)out;
		memcpy(&q, im.payload, sizeof q);
		memset(m, 0, sizeof *m);
		m->total = BUNDLE_TOTAL;
		m->offset = q.offset;
		m->len = (uint32_t)(BUNDLE_TOTAL - q.offset < LOG_READ_CHUNK ? BUNDLE_TOTAL - q.offset
									      : LOG_READ_CHUNK);
		for (uint32_t i = 0; i < m->len; i++)
			out[sizeof *m + i] = bundle_byte(q.offset + i);
		imsg_send(logd_fd, IMSG_LOG_READ, im.hdr.id, out, sizeof *m + m->len, NULL, 0);
	} else if (im.hdr.type == IMSG_LOG_APPEND || im.hdr.type == IMSG_LOG_APPEND_LAZY) {
		struct log_appended_msg a = { .error = 0, .index = 1 };
		imsg_send(logd_fd, IMSG_LOG_APPENDED, im.hdr.id, &a, sizeof a, NULL, 0);
	} else if (im.hdr.type == IMSG_LOG_FIND_REQ) {
		/* a receipt's records: the invocation entry (index 1) alone */
		static struct log_found_msg f;
		memset(&f, 0, sizeof f);
		f.count = 1;
		f.index[0] = 1;
		f.entry = 1;
		f.next = 2;
		imsg_send(logd_fd, IMSG_LOG_FOUND, im.hdr.id, &f, sizeof f, NULL, 0);
	}
	return (int)im.hdr.type;
}

/* One attestation request in flight on c: serves what netd asks logd
 * while waiting up to 20 s for the reply. *appended is set once netd asked
 * for the append. Returns read_response's result. */
static int attest_exchange(struct client *c, struct response *r, bool *appended)
{
	uint64_t end = now_ms() + 20000;

	while (now_ms() < end) {
		int t = logd_serve(0);
		if (t == IMSG_LOG_APPEND)
			*appended = true;
		if (t > 0)
			continue;
		int rr = read_response(c, r, 50);
		if (rr != -ETIMEDOUT)
			return rr;
	}
	return -ETIMEDOUT;
}

static long link_count(const char *section, const char *name);

/* Reads the fake bundle's answer on c (its request sent), serving logd as
 * netd asks (*asked counts the questions), and checks its head and every
 * byte; what names it in the test's lines. */
static void read_bundle(struct client *c, unsigned *asked, const char *what)
{
	static uint8_t body[BUNDLE_TOTAL];
	size_t got = 0, hlen = 0;
	bool same = true;
	uint64_t end = now_ms() + 20000;

	while (now_ms() < end) {
		struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = logd_fd, .events = POLLIN } };
		if (poll(p, 2, 1000) <= 0)
			continue;
		if (p[1].revents & POLLIN) {
			if (logd_serve(0) == IMSG_LOG_READ_REQ)
				(*asked)++;
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			c->len = 0;
			int n = client_fill(c, 0);
			if (n <= 0)
				break;
			size_t off = 0;
			if (hlen == 0) {
				char *h = memmem(c->buf, c->len, "\r\n\r\n", 4);
				if (h == NULL)
					break;   /* the head comes in one piece here */
				hlen = (size_t)(h - c->buf) + 4;
				off = hlen;
				char head[1024], cl[64];
				snprintf(head, sizeof head, "%.*s", (int)hlen, c->buf);
				snprintf(cl, sizeof cl, "Content-Length: %llu\r\n",
					 (unsigned long long)BUNDLE_TOTAL);
				ok(strncmp(head, "HTTP/1.1 200 ", 13) == 0 && strstr(head, cl) != NULL &&
				   strstr(head, "immutable") != NULL, "%s: 200, its whole length, immutable",
				   what);
			}
			for (size_t i = off; i < c->len && got < BUNDLE_TOTAL; i++)
				body[got++] = (uint8_t)c->buf[i];
			if (got == BUNDLE_TOTAL)
				break;
		}
	}
	is_int(got, BUNDLE_TOTAL, "%s: every byte arrived", what);
	for (size_t i = 0; same && i < got; i++)
		same = body[i] == bundle_byte(i);
	ok(same, "%s: the bytes logd sent, in order", what);
}

/* The bundle again, to a client reading at once with a large receive
 * buffer, so lwIP sends windows of full segments: netd merges them into
 * GSO frames (net/netif_gso.h). First as veth passes them (whole, the
 * checksum left partial: the peer's TCP trusts it), then with vn0's TSO
 * and transmit checksum off and vp0's receive checksum off: the kernel
 * cuts each GSO frame and computes every checksum from the pseudo-header
 * sum netd wrote, and the peer's TCP verifies them, so a wrong sum loses
 * every segment. */
static void test_gso_bundle(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(HTTP_PORT),
				   .sin_addr.s_addr = server_addr };
	int rcv = 1 << 20;

	for (int soft = 0; soft < 2; soft++) {
		struct client c;
		unsigned asked = 0;
		const char *what = soft ? "bundle, GSO cut by the kernel" : "bundle, GSO whole";
		if (soft) {
			int r1 = ethtool_set("vn0", ETHTOOL_STSO, 0);
			int r2 = ethtool_set("vn0", ETHTOOL_STXCSUM, 0);
			int r3 = enter_peer() == 0 ? ethtool_set("vp0", ETHTOOL_SRXCSUM, 0) : -1;
			enter_self();
			ok(r1 == 0 && r2 == 0 && r3 == 0, "vn0: TSO and tx checksum off, vp0: rx checksum off");
		}
		long gso0 = link_count("\"link\":", "tx_gso_frames");
		c.len = 0;
		c.fd = peer_socket();
		setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
		ok(connect(c.fd, (struct sockaddr *)&sin, sizeof sin) == 0, "%s: connect", what);
		send_all(c.fd, "GET /tile/entries/000 HTTP/1.1\r\nHost: a\r\n\r\n", 43);
		read_bundle(&c, &asked, what);
		client_close(&c);
		long gso1 = link_count("\"link\":", "tx_gso_frames");
		ok(gso0 >= 0 && gso1 > gso0, "%s: netd sent GSO frames (%ld)", what, gso1 - gso0);
	}
	ethtool_set("vn0", ETHTOOL_STXCSUM, 1);
	ethtool_set("vn0", ETHTOOL_STSO, 1);
	if (enter_peer() == 0)
		ethtool_set("vp0", ETHTOOL_SRXCSUM, 1);
	enter_self();
}

static void test_logd(void)
{
	struct client c;
	struct response r;
	unsigned asked = 0, asked_paused = 0;

	/* no logd yet: the log's routes and attestation are 503 */
	ok(client_open(&c) && get(&c, "/v1/log/checkpoint", &r) == 0 && r.status == 503 &&
	   strstr(r.body, "logd) is not running") != NULL, "no logd: /v1/log/checkpoint 503");
	ok(get(&c, "/v1/attestation?nonce=00", &r) == 0 && r.status == 503 &&
	   strstr(r.body, "log_refused") != NULL, "no logd: /v1/attestation 503 log_refused");
	client_close(&c);

	ok(give_channel(ROLE_LOGD, 1, &logd_fd), "a channel to logd handed over (IMSG_PEER_CHANNEL)");

	/* The attestation entry goes to logd first; keyd is not there. netd
	 * takes the channel from init's socket in its own time: until it has,
	 * an attestation is 503 log_refused at once. So each try serves logd
	 * and waits for the reply together (a slow netd under a loaded
	 * machine may ask logd late), and a try is repeated only when the
	 * reply came without logd having been asked. */
	bool appended = false;
	int st = -1;
	int refused = 0;
	for (int try = 0; try < 60 && !appended; try++) {
		if (!client_open(&c)) {
			/* seen in a full run (no clue was printed then): a few
			 * tries, each saying why, then the failure below */
			diag("try %d: connect: %s", try, strerror(errno));
			if (++refused == 3)
				break;
			usleep(200 * 1000);
			continue;
		}
		send_all(c.fd, "GET /v1/attestation?nonce=c0ffee HTTP/1.1\r\nHost: a\r\n\r\n", 55);
		st = attest_exchange(&c, &r, &appended);
		if (!appended) {
			diag("try %d: reply %d before logd was asked (%.60s)", try, st,
			     st == 0 ? r.body : "");
			client_close(&c);
			usleep(200 * 1000);
		}
	}
	ok(appended, "  logd is asked to append first");
	ok(st == 0 && r.status == 503 && strstr(r.body, "keyd is not running") != NULL,
	   "  then keyd is asked (it is not running here: 503)");
	if (st != 0 || r.status != 503)
		diag("reply %d, status %d: %.80s", st, st == 0 ? r.status : 0, st == 0 ? r.body : "");
	client_close(&c);

	/* A bundle of 512,000 bytes to a client with a small receive buffer
	 * that does not read at first: netd asks for a chunk only when it has
	 * room, so few are asked for until the client reads. */
	int rcv = 8192;
	c.fd = -1;
	c.len = 0;
	c.fd = peer_socket();
	setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(HTTP_PORT),
				   .sin_addr.s_addr = server_addr };
	ok(connect(c.fd, (struct sockaddr *)&sin, sizeof sin) == 0, "connect (8 KiB receive buffer)");
	send_all(c.fd, "GET /tile/entries/000 HTTP/1.1\r\nHost: a\r\n\r\n", 43);
	while (logd_serve(500) == IMSG_LOG_READ_REQ)
		asked_paused++;
	ok(asked_paused >= 1 && asked_paused <= 10,
	   "a client not reading: %u chunks asked for of %llu (netd waits for room)", asked_paused,
	   (unsigned long long)((BUNDLE_TOTAL + LOG_READ_CHUNK - 1) / LOG_READ_CHUNK));
	asked = asked_paused;
	/* now read, serving logd as netd asks */
	read_bundle(&c, &asked, "bundle");
	is_int(asked, (BUNDLE_TOTAL + LOG_READ_CHUNK - 1) / LOG_READ_CHUNK,
	       "bundle: one question per chunk");
	c.len = 0;
	ok(get(&c, "/healthz", &r) == 0 && r.status == 200, "keep-alive after the stream");
	test_gso_bundle();

	/* logd dies in the middle of a stream: netd closes the connection */
	send_all(c.fd, "GET /tile/entries/000 HTTP/1.1\r\nHost: a\r\n\r\n", 43);
	is_int(logd_serve(3000), IMSG_LOG_READ_REQ, "a second bundle: the first chunk");
	close(logd_fd);
	logd_fd = -1;
	int w = wait_closed(&c, 5000);
	ok(w == 0 || w == -ECONNRESET, "logd gone mid-stream: the connection closes (%d)", w);
	client_close(&c);
	ok(client_open(&c) && get(&c, "/v1/log/checkpoint", &r) == 0 && r.status == 503,
	   "logd gone: the log is 503 until the next channel");
	client_close(&c);
}

/* --- functions: we broker a channel to a fake sandboxd -------------------------------------- */

static int sbx_fd = -1;
static struct imsg sq;


static unsigned sbx_ca_seen;   /* IMSG_SBX_CA messages netd sent (its local CA) */

/* sandboxd reads netd's next message: its type (0: none in time). The
 * local CA's certificate (IMSG_SBX_CA, first on every channel) is counted
 * and passed over. */
static uint32_t sbx_recv(int timeout_ms, struct sbx_req_msg *req)
{
	struct pollfd p = { .fd = sbx_fd, .events = POLLIN };

	imsg_close_fds(&sq);
	do {
		if (poll(&p, 1, timeout_ms) <= 0 || imsg_recv(sbx_fd, &sq) < 0)
			return 0;
		if (sq.hdr.type == IMSG_SBX_CA)
			sbx_ca_seen++;
	} while (sq.hdr.type == IMSG_SBX_CA);
	if (sq.hdr.type == IMSG_SBX_REQ && sq.hdr.len >= sizeof *req)
		memcpy(req, sq.payload, sizeof *req);
	return sq.hdr.type;
}

static void sbx_reply(const struct sbx_reply_msg *r, const void *body, size_t len, const int *fds,
		      unsigned nfds)
{
	static uint8_t buf[IMSG_MAX_PAYLOAD];

	memcpy(buf, r, sizeof *r);
	if (len)
		memcpy(buf + sizeof *r, body, len);
	imsg_send(sbx_fd, IMSG_SBX_REPLY, sq.hdr.id, buf, sizeof *r + len, fds, nfds);
}

static void test_sandboxd(void)
{
	static struct policy_tokens pt;
	static struct policy pol;
	static char canon[POLICY_CANON_MAX + 1];
	struct sbx_req_msg q;
	struct sbx_reply_msg rep;
	struct client c;
	struct response r;
	unsigned char *pbuf;
	size_t plen;
	char err[128];

	ok(client_open(&c) && get(&c, "/api/functions", &r) == 0 && r.status == 503 &&
	   strstr(r.body, "sandboxd is not running") != NULL, "no sandboxd: /api/functions 503");
	client_close(&c);
	ok(give_channel(ROLE_SANDBOXD, 1, &sbx_fd), "a channel to sandboxd handed over");
	is_int(sbx_recv(3000, &q), IMSG_SBX_REQ, "netd asks at once...");
	ok(sbx_ca_seen == 1, "  after giving sandboxd its local CA (IMSG_SBX_CA, %u)", sbx_ca_seen);
	is_int(q.op, SBX_POLICY, "  ... for the policy");
	if (file_read_alloc("examples/policy.json", POLICY_MAX_BYTES, &pbuf, &plen) != 0 ||
	    policy_parse((char *)pbuf, plen, &pt, &pol, err, sizeof err) != 0) {
		ok(0, "examples/policy.json parses (run from the repository root)");
		return;
	}
	free(pbuf);
	long cn = policy_write(&pol, canon, sizeof canon);
	int pfd = memfd_create("policy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (cn < 0 || pfd < 0 || write(pfd, canon, (size_t)cn) != cn ||
	    fcntl(pfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
		abort();
	memset(&rep, 0, sizeof rep);
	rep.status = 200;
	rep.body_in_fd = 1;
	rep.body_len = (uint64_t)cn;
	sbx_reply(&rep, NULL, 0, &pfd, 1);
	close(pfd);

	/* a 3 MiB deployment: streamed into netd's memfd, the code passed on */
	const size_t code_len = 3u << 20;
	static uint8_t code[3u << 20];
	static char body[(3u << 20) / 3 * 4 + 256];
	for (size_t i = 0; i < code_len; i++)
		code[i] = (uint8_t)(i * 13 + (i >> 9));
	int bn = snprintf(body, sizeof body, "{\"id\":\"big\",\"runtime\":\"python\",\"code\":\"");
	bn += (int)base64_encode(body + bn, code, code_len);
	bn += snprintf(body + bn, sizeof body - (size_t)bn, "\"}");
	char head[256];
	int hn = snprintf(head, sizeof head, "POST /api/functions HTTP/1.1\r\nHost: a\r\n"
			  "Content-Type: application/x-www-form-urlencoded\r\n"
			  "Content-Length: %d\r\n\r\n", bn);
	uint32_t t = 0;
	for (int tries = 0; tries < 20 && t == 0; tries++) {
		/* the policy reply may still be on its way: retry on 503 */
		ok(client_open(&c), "connect for a deployment");
		send_all(c.fd, head, (size_t)hn);
		send_all(c.fd, body, (size_t)bn);
		t = sbx_recv(3000, &q);
		if (t == 0) {
			read_response(&c, &r, 3000);
			client_close(&c);
			usleep(100000);
		}
	}
	ok(t == IMSG_SBX_REQ && q.op == SBX_FN_CREATE && strcmp(q.id, "big") == 0 &&
	   q.shape == SBX_SHAPE_SEED, "POST /api/functions: SBX_FN_CREATE for big");
	ok(sq.nfds == 1, "with the code's memfd");
	if (sq.nfds == 1) {
		struct stat sb;
		int seals = fcntl(sq.fds[0], F_GET_SEALS);
		void *m = fstat(sq.fds[0], &sb) == 0 && (size_t)sb.st_size == code_len ?
			  mmap(NULL, code_len, PROT_READ, MAP_PRIVATE, sq.fds[0], 0) : MAP_FAILED;
		ok(m != MAP_FAILED && memcmp(m, code, code_len) == 0,
		   "  holding the decoded 3 MiB of code");
		ok(seals >= 0 && (seals & F_SEAL_WRITE), "  sealed");
		if (m != MAP_FAILED)
			munmap(m, code_len);
	}
	memset(&rep, 0, sizeof rep);
	rep.status = 201;
	rep.body_len = 13;
	sbx_reply(&rep, "{\"id\":\"big\"}", 13, NULL, 0);
	ok(read_response(&c, &r, 3000) == 0 && r.status == 201, "201 passed on");

	/* an invocation: this program is the worker. Its RESULT is delivered
	 * only with its receipt (docs/LOG.md): here logd is gone (test_logd
	 * closed it), then back but keyd is not running: fail closed both
	 * times, the worker handed back OK. */
	for (int round = 0; round < 2; round++) {
		int wk[2];
		if (round == 1 && !give_channel(ROLE_LOGD, 2, &logd_fd))
			abort();
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wk) != 0)
			abort();
		static const char inv[] = "POST /invoke/big HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
		send_all(c.fd, inv, sizeof inv - 1);
		ok(sbx_recv(3000, &q) == IMSG_SBX_REQ && q.op == SBX_INVOKE, "POST /invoke/big: SBX_INVOKE");
		memset(&rep, 0, sizeof rep);
		rep.status = 200;
		rep.worker_kind = SBX_WORKER_FRAMES;
		rep.worker = 9;
		rep.timeout_ms = 5000;
		rep.output_max = 65536;
		memset(rep.code_sha256, 0x11, 32);
		sbx_reply(&rep, NULL, 0, &wk[0], 1);
		close(wk[0]);
		static uint8_t fb[65536];
		struct frame_reader fr;
		frame_reader_init(&fr, fb, sizeof fb, sizeof fb, FN_FRAMES_TO_WORKER);
		int got = 0;
		struct pollfd wp = { .fd = wk[1], .events = POLLIN };
		while (got == 0 && poll(&wp, 1, 3000) > 0) {
			uint8_t b[4096];
			ssize_t n = read(wk[1], b, sizeof b);
			size_t used;
			if (n <= 0)
				break;
			got = frame_feed(&fr, b, (size_t)n, &used);
		}
		ok(got == 1 && fr.type == FN_FRAME_INVOKE && memmem(fb, fr.len, "\"functionId\":\"big\"", 18),
		   "the worker gets the INVOKE frame straight from netd");
		frame_write(wk[1], FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{},\"body\":{\"ok\":1}}", 47);
		if (round == 1) {
			struct log_entry e;
			char why[64];
			ok(logd_serve(3000) == IMSG_LOG_APPEND &&
			   log_entry_decode(im.payload, im.hdr.len, &e, why, sizeof why) == 0 &&
			   e.type == LOG_INVOCATION && e.version == 2 &&
			   e.u.invocation.function.len == 3 && memcmp(e.u.invocation.function.p, "big", 3) == 0 &&
			   e.u.invocation.code[0] == 0x11 && e.u.invocation.status == 200,
			   "logd is asked to append the invocation entry (v2, big, its code hash, 200)");
			ok(logd_serve(3000) == IMSG_LOG_FIND_REQ,
			   "then for the invocation's records, for its receipt");
		}
		ok(read_response(&c, &r, 3000) == 0 && r.status == 503 &&
		   strstr(r.body, round == 0 ? "log_refused" : "receipt_unavailable") != NULL &&
		   strstr(r.body, "\"ok\":1") == NULL,
		   "%s: 503 %s, the RESULT not delivered", round == 0 ? "no logd" : "logged but no keyd",
		   round == 0 ? "log_refused" : "receipt_unavailable");
		struct sbx_done_msg d;
		ok(sbx_recv(3000, &q) == IMSG_SBX_DONE && sq.hdr.len == sizeof d &&
		   (memcpy(&d, sq.payload, sizeof d), d.worker == 9 && d.outcome == SBX_DONE_OK),
		   "and the worker goes back: IMSG_SBX_DONE OK");
		close(wk[1]);
	}

	/* sandboxd goes away with a request of ours */
	static const char list[] = "GET /v1/functions HTTP/1.1\r\nHost: a\r\n\r\n";
	send_all(c.fd, list, sizeof list - 1);
	ok(sbx_recv(3000, &q) == IMSG_SBX_REQ && q.op == SBX_FN_LIST, "GET /v1/functions asked");
	close(sbx_fd);
	sbx_fd = -1;
	ok(read_response(&c, &r, 3000) == 0 && r.status == 503 && strstr(r.body, "unavailable"),
	   "sandboxd gone before answering: 503");
	client_close(&c);
}

/* --- the tests ---------------------------------------------------------------------------- */

/* --- the API over TLS: the test plays keyd ------------------------------------- */

static int keyd_fd = -1;
static struct apikey akey;
static struct tls_conn tcli;
static br_hmac_drbg_context trng;
static uint8_t tafile[ANCHORS_HEADER_LEN + ANCHORS_RECORD_MAX];
static br_x509_trust_anchor tta[1];
static struct anchors tanchors;
enum keyd_act { KEYD_SIGN, KEYD_BUSY, KEYD_DIE };
static unsigned keyd_signed;


/* One request from netd on the keyd channel, answered as act says:
 * signed as keyd does (checked first), refused -EBUSY, or the channel
 * closed (keyd died). false when none was a well-formed request. */
static bool keyd_sign_one(enum keyd_act act)
{
	static struct imsg m;
	struct tls_sign_req_msg q;
	struct tls_sign_reply_msg rep;
	struct tls_ske p;
	long n;

	if (imsg_recv(keyd_fd, &m) < 0 || imsg_get(&m, IMSG_TLS_SIGN_REQ, &q, sizeof q) < 0 ||
	    apikey_req(&q, &p) < 0)
		return false;
	if (act == KEYD_DIE) {
		close(keyd_fd);
		keyd_fd = -1;
		return true;
	}
	memset(&rep, 0, sizeof rep);
	rep.error = -EBUSY;
	if (act == KEYD_SIGN && (n = apikey_sign(&akey, &p, rep.sig)) > 0) {
		rep.error = 0;
		rep.sig_len = (uint32_t)n;
		keyd_signed++;
	}
	return imsg_send(keyd_fd, IMSG_TLS_SIGN_REPLY, m.hdr.id, &rep, sizeof rep, NULL, 0) == 0;
}

/* Drives a BearSSL client over c (connected to 8443) and the keyd
 * channel until the client is open, failed, or the server closed; keyd
 * answers as act says. Returns the client's status. */
static enum tls_status tls_drive(struct client *c, enum keyd_act act)
{
	uint64_t end = now_ms() + 5000;

	while (now_ms() < end && tls_status(&tcli) == TLS_HANDSHAKE) {
		struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = keyd_fd, .events = POLLIN } };
		size_t n;
		const uint8_t *o = tls_out(&tcli, &n);

		if (n > 0) {
			if (!send_all(c->fd, o, n))
				break;
			tls_out_done(&tcli, n);
			continue;
		}
		if (poll(p, keyd_fd >= 0 ? 2 : 1, 200) <= 0)
			continue;
		if (keyd_fd >= 0 && (p[1].revents & POLLIN))
			keyd_sign_one(act);
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			uint8_t buf[4096];
			ssize_t k = recv(c->fd, buf, sizeof buf, 0);
			if (k <= 0) {
				tls_eof(&tcli);
				break;
			}
			for (size_t off = 0; off < (size_t)k;) {
				long t = tls_feed(&tcli, buf + off, (size_t)k - off);
				if (t <= 0)
					break;
				off += (size_t)t;
			}
		}
	}
	return tls_status(&tcli);
}

static bool tls_client_open(struct client *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(API_TLS_PORT) };
	static const char name[] = APIKEY_NAME;

	c->len = 0;
	c->fd = peer_socket();
	if (c->fd < 0)
		return false;
	sin.sin_addr.s_addr = server_addr;
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		client_close(c);
		return false;
	}
	return tls_client_init(&tcli, &tanchors, name, sizeof name - 1, APIKEY_NOT_BEFORE + 86400,
			       &trng) == 0;
}

static void test_api_tls(void)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char dir[] = "/tmp/test_netd_veth.XXXXXX", path[64], err[ERRBUF_LEN], got[4096];
	struct tls_cert_msg cm;
	struct client c;
	size_t have = 0;
	long r;

	err[0] = '\0';
	if (!mkdtemp(dir)) {
		ok(false, "api tls: a temporary directory");
		return;
	}
	snprintf(path, sizeof path, "%s/api.key", dir);
	ok(apikey_load_or_create(&akey, path, err) == 0, "api tls: the test's keyd has a key (%s)", err);
	unlink(path);
	rmdir(dir);
	br_hmac_drbg_init(&trng, &br_sha256_vtable, "veth", 4);
	r = anchors_record(tafile + ANCHORS_HEADER_LEN, sizeof tafile - ANCHORS_HEADER_LEN, akey.der,
			   akey.der_len, 0, NULL, 0);
	anchors_header(tafile, sizeof tafile, 1);
	anchors_init(&tanchors, tta, 1);
	anchors_parse(&tanchors, tafile, ANCHORS_HEADER_LEN + (size_t)(r > 0 ? r : 0), 0, NULL, 0);

	ok(give_channel(ROLE_KEYD, 1, &keyd_fd), "api tls: a channel to keyd handed over");
	memset(&cm, 0, sizeof cm);
	cm.der_len = (uint32_t)akey.der_len;
	memcpy(cm.der, akey.der, akey.der_len);
	memcpy(cm.spki_sha256, akey.spki_sha256, 32);
	ok(imsg_send(keyd_fd, IMSG_TLS_CERT, 0, &cm, sizeof cm, NULL, 0) == 0,
	   "api tls: keyd sends its certificate (IMSG_TLS_CERT)");
	usleep(100000);   /* netd opens 8443 when it has read it */

	ok(tls_client_open(&c) && tls_drive(&c, KEYD_SIGN) == TLS_OPEN && keyd_signed == 1,
	   "api tls: a handshake on 8443 completes with keyd's one signature; the client "
	   "validated the certificate and the signature");
	ok(tls_write(&tcli, req, sizeof req - 1) == (long)(sizeof req - 1), "api tls: a request");
	for (uint64_t end = now_ms() + 3000; now_ms() < end && tls_status(&tcli) != TLS_FAILED;) {
		size_t n;
		const uint8_t *o = tls_out(&tcli, &n), *in;
		if (n > 0 && send_all(c.fd, o, n))
			tls_out_done(&tcli, n);
		while ((in = tls_in(&tcli, &n)) != NULL && n > 0 && have + n < sizeof got) {
			memcpy(got + have, in, n);
			have += n;
			tls_in_done(&tcli, n);
		}
		if (tls_status(&tcli) == TLS_CLOSED)
			break;
		int f = client_fill(&c, 200);
		if (f > 0) {
			tls_feed(&tcli, c.buf, c.len);
			c.len = 0;
		} else if (f != -ETIMEDOUT) {
			tls_eof(&tcli);
			break;
		}
	}
	got[have] = 0;
	ok(strncmp(got, "HTTP/1.1 200", 12) == 0 && strstr(got, "{\"status\":\"ok\"}") != NULL,
	   "api tls: GET /healthz over TLS is answered by the same API (%.12s)", got);
	client_close(&c);

	ok(tls_client_open(&c) && tls_drive(&c, KEYD_BUSY) != TLS_OPEN,
	   "api tls: keyd refusing the signature (-EBUSY): the handshake fails, netd closes");
	client_close(&c);
	ok(tls_client_open(&c) && tls_drive(&c, KEYD_DIE) != TLS_OPEN && keyd_fd < 0,
	   "api tls: keyd gone while it signs: the handshake fails");
	client_close(&c);
	{
		struct client h;
		struct response rsp;
		bool in = client_open(&h);
		int g = in ? get(&h, "/healthz", &rsp) : -1;
		if (!ok(in && g == 0 && rsp.status == 200, "api tls: the plain API is unaffected"))
			fprintf(stderr, "# api tls: plain: connect %s, answer %d, status %d\n",
				in ? "ok" : strerror(errno), g, g == 0 ? rsp.status : 0);
		client_close(&h);
	}
}

/* --- the key provider kms: netd carries init's request (net/kms_carrier.h) --- */

#define KMS_PORT 8547

static int kms_listener(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(KMS_PORT) };
	int one = 1, s = peer_socket();

	if (s < 0)
		return -1;
	inet_pton(AF_INET, PEER_ADDR, &sin.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(s, 4) != 0) {
		close(s);
		return -1;
	}
	return s;
}

/* init's request: to PEER_ADDR:port, the body in a sealed memfd. */
static int kms_ask(uint32_t id, uint16_t port, const char *body)
{
	struct netd_kms_req_msg q;
	int fd = file_memfd_sealed("kms-body", body, strlen(body));

	if (fd < 0)
		return fd;
	memset(&q, 0, sizeof q);
	snprintf(q.host, sizeof q.host, "%s", PEER_ADDR);
	snprintf(q.path, sizeof q.path, "/v1/keys");
	q.port = port;
	int r = imsg_send(init_sock, IMSG_NETD_KMS_REQ, id, &q, sizeof q, &fd, 1);
	close(fd);
	return r;
}

/* netd's answer to init: 0 with *rep, or -ETIMEDOUT. */
static int kms_answer(int timeout_ms, uint32_t *id, struct netd_kms_reply_msg *rep)
{
	uint64_t until = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		uint64_t now = now_ms();
		if (now >= until)
			return -ETIMEDOUT;
		int r = recv_msg((int)(until - now));
		if (r < 0)
			return r;
		if (im.hdr.type == IMSG_NETD_KMS_REPLY) {
			*id = im.hdr.id;
			return imsg_get(&im, IMSG_NETD_KMS_REPLY, rep, sizeof *rep);
		}
	}
}

/* Accepts netd's connection and reads its request whole (head and
 * Content-Length body) into c. */
static bool kms_accept(int ls, struct client *c)
{
	struct pollfd p = { .fd = ls, .events = POLLIN };
	char *end, *cl;

	c->len = 0;
	c->fd = -1;
	if (poll(&p, 1, 5000) != 1 || (c->fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return false;
	for (;;) {
		c->buf[c->len] = '\0';
		if ((end = strstr(c->buf, "\r\n\r\n")) != NULL &&
		    (cl = strstr(c->buf, "Content-Length: ")) != NULL &&
		    c->len >= (size_t)(end + 4 - c->buf) + strtoul(cl + 16, NULL, 10))
			return true;
		if (c->len + 1 >= sizeof c->buf || client_fill(c, 5000) <= 0)
			return false;
	}
}

static void test_kms(void)
{
	static const char body[] = "{\"version\":1,\"quote\":\"the body keyd wrote\"}";
	static struct netd_kms_reply_msg rep;
	static char reply[2048];
	uint8_t blob[NETD_KMS_BLOB_LEN];
	char b64[256];
	struct client c;
	uint32_t id = 0;
	int ls = kms_listener();

	ok(ls >= 0, "kms: a fake KMS listens in the peer namespace");
	if (ls < 0)
		return;
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)i;
	base64_encode(b64, blob, sizeof blob);

	/* a key */
	is_int(kms_ask(101, KMS_PORT, body), 0, "kms: init hands netd a request and its memfd");
	ok(kms_accept(ls, &c), "kms: netd connects and sends the whole request");
	ok(strncmp(c.buf, "POST /v1/keys HTTP/1.1\r\n", 24) == 0 &&
	   strstr(c.buf, "\r\nHost: " PEER_ADDR ":8547\r\n") != NULL &&
	   strstr(c.buf, "\r\nConnection: close\r\n") != NULL,
	   "kms: POST /v1/keys with its Host and Connection: close");
	ok(c.len >= sizeof body - 1 && memcmp(c.buf + c.len - (sizeof body - 1), body, sizeof body - 1) == 0,
	   "kms: the body is the memfd's, unchanged");
	int n = snprintf(reply, sizeof reply, "{\"version\":1,\"wrapped_key\":\"%s\",\"kms_key\":\"04\","
			 "\"freshness\":\"a record\"}", b64);
	char head[128];
	int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			  "Content-Length: %d\r\n\r\n", n);
	ok(send_all(c.fd, head, (size_t)hn) && send_all(c.fd, reply, (size_t)n), "kms: the KMS answers 200");
	is_int(kms_answer(5000, &id, &rep), 0, "kms: netd answers init");
	ok(id == 101 && rep.error == 0 && rep.http_status == 200 &&
	   memcmp(rep.wrapped_key, blob, sizeof blob) == 0, "kms: the wrapped key, id echoed");
	ok(rep.has_freshness && rep.freshness_len == 8 && strcmp(rep.freshness, "a record") == 0,
	   "kms: and the freshness record");
	client_close(&c);

	/* a refusal */
	is_int(kms_ask(102, KMS_PORT, body), 0, "kms: a second request");
	ok(kms_accept(ls, &c), "kms: netd connects again");
	static const char no[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 66\r\n\r\n"
		"{\"error\":{\"code\":\"measurements\",\"message\":\"MRTD 00 matches none\"}}";
	ok(send_all(c.fd, no, sizeof no - 1), "kms: the KMS answers 403");
	is_int(kms_answer(5000, &id, &rep), 0, "kms: netd answers init");
	ok(id == 102 && rep.error == -EACCES && rep.http_status == 403 &&
	   strstr(rep.reason, "measurements") != NULL && strstr(rep.reason, "MRTD 00 matches none") != NULL,
	   "kms: the refusal's code and message (%s)", rep.reason);
	client_close(&c);

	/* one in flight: another is answered busy at once */
	is_int(kms_ask(103, KMS_PORT, body), 0, "kms: a third request");
	ok(kms_accept(ls, &c), "kms: netd connects");
	is_int(kms_ask(104, KMS_PORT, body), 0, "kms: a fourth while the third is in flight");
	ok(kms_answer(3000, &id, &rep) == 0 && id == 104 && rep.error == -EBUSY,
	   "kms: the fourth answered busy (%s)", rep.reason);
	/* the third: the KMS closes mid-head */
	static const char cut[] = "HTTP/1.1 200 OK\r\nContent-Le";
	ok(send_all(c.fd, cut, sizeof cut - 1), "kms: the KMS sends half a head and closes");
	client_close(&c);
	ok(kms_answer(5000, &id, &rep) == 0 && id == 103 && rep.error != 0 && rep.http_status == 0 &&
	   strncmp(rep.reason, "netd: bad_answer: ", 18) == 0,
	   "kms: the third: an answer cut short (%s)", rep.reason);

	/* keyd's freshness records: posted to the sibling path, latest first */
	{
		struct peer_channel_msg pc = { .peer = ROLE_KEYD, .generation = 1 };
		static struct keyd_freshness_msg fm;
		int kv[2];
		ok(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, kv) == 0 &&
		   imsg_send(init_sock, IMSG_PEER_CHANNEL, 0, &pc, sizeof pc, &kv[1], 1) == 0,
		   "kms: a channel to keyd handed over");
		close(kv[1]);
		fm.note_len = 0;
		ok(imsg_send(kv[0], IMSG_KEYD_FRESHNESS, 0, &fm, sizeof fm, NULL, 0) == 0,
		   "kms: an empty freshness record from keyd");
		struct pollfd lp = { .fd = ls, .events = POLLIN };
		is_int(poll(&lp, 1, 500), 0, "kms:   not posted");
		snprintf(fm.note, sizeof fm.note, "dshield-log/x\n5\nroot\n\n\xe2\x80\x94 sig\n");
		fm.note_len = (uint32_t)strlen(fm.note);
		fm.size = 5;
		ok(imsg_send(kv[0], IMSG_KEYD_FRESHNESS, 0, &fm, sizeof fm, NULL, 0) == 0,
		   "kms: a freshness record from keyd");
		ok(kms_accept(ls, &c), "kms:   netd posts it");
		ok(strncmp(c.buf, "POST /v1/freshness HTTP/1.1\r\n", 29) == 0 &&
		   strstr(c.buf, "\r\n\r\n{\"version\":1,\"record\":\"dshield-log/x\\n5\\nroot\\n\\n\xe2\x80\x94 sig\\n\"}") != NULL,
		   "kms:   to /v1/freshness, the note as a JSON string");
		static const char kept[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
		ok(send_all(c.fd, kept, sizeof kept - 1), "kms:   the KMS keeps it (200)");
		client_close(&c);
		is_int(kms_answer(500, &id, &rep), -ETIMEDOUT, "kms:   init hears nothing of it");
		/* a netd started after the key request learns where from init */
		struct netd_kms_req_msg t = { .port = KMS_PORT };
		snprintf(t.host, sizeof t.host, "%s", PEER_ADDR);
		snprintf(t.path, sizeof t.path, "/v2/keys");
		ok(imsg_send(init_sock, IMSG_NETD_KMS_TARGET, 0, &t, sizeof t, NULL, 0) == 0,
		   "kms: init names the KMS (IMSG_NETD_KMS_TARGET, as to a restarted netd)");
		fm.size = 6;
		ok(imsg_send(kv[0], IMSG_KEYD_FRESHNESS, 0, &fm, sizeof fm, NULL, 0) == 0 &&
		   kms_accept(ls, &c) && strncmp(c.buf, "POST /v2/freshness HTTP/1.1\r\n", 29) == 0,
		   "kms:   keyd's next record goes to that KMS's /v2/freshness");
		ok(send_all(c.fd, kept, sizeof kept - 1), "kms:   kept");
		client_close(&c);
		t.path[0] = 'x';
		ok(imsg_send(init_sock, IMSG_NETD_KMS_TARGET, 0, &t, sizeof t, NULL, 0) == 0,
		   "kms: a target whose path does not start with / (dropped)");
		close(kv[0]);
	}

	/* nobody listening */
	close(ls);
	is_int(kms_ask(105, KMS_PORT, body), 0, "kms: a request to a closed port");
	ok(kms_answer(5000, &id, &rep) == 0 && id == 105 && rep.error == -ECONNREFUSED &&
	   rep.http_status == 0 && strstr(rep.reason, "netd: connect_failed: " PEER_ADDR ":8547: refused") != NULL,
	   "kms: connect_failed, refused (%s)", rep.reason);

	/* a request without its memfd: dropped, netd carries on */
	struct netd_kms_req_msg q = { .port = KMS_PORT };
	snprintf(q.host, sizeof q.host, "%s", PEER_ADDR);
	is_int(imsg_send(init_sock, IMSG_NETD_KMS_REQ, 106, &q, sizeof q, NULL, 0), 0,
	       "kms: a request without its memfd");
	is_int(kms_answer(500, &id, &rep), -ETIMEDOUT, "kms: not carried");
	struct response r;
	ok(client_open(&c) && get(&c, "/healthz", &r) == 0 && r.status == 200, "kms: netd still serves");
	client_close(&c);
}

/* --- the key provider kms over https: netd's carrier against `dshield kms
 * --tls-cert` (cli/kms_tls.c) in the peer namespace --- */

static pid_t kms_tls_pid[3] = { -1, -1, -1 };
static char ktdir[] = "/tmp/test_netd_veth_kms.XXXXXX";

/* Runs `openssl ARGS...` quietly in ktdir; true when it exited 0. */
#define OPENSSL(...) (run_in(-1, (const char *const[]){ "sh", "-c", "cd \"$0\" && exec openssl \"$@\"", \
					       ktdir, __VA_ARGS__, NULL }) == 0)

static bool kt_write(const char *name, const char *text)
{
	char path[96];
	snprintf(path, sizeof path, "%s/%s", ktdir, name);
	return file_replace(path, text, strlen(text), NULL, 0) == 0;
}

/* A CA, a leaf for PEER_ADDR (as a DNS name: the carrier checks the URL's
 * host as a name; the policy only takes names), the same key for another
 * name, and a second CA that signed neither. */
static bool kt_pki(void)
{
	return OPENSSL("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		       "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=kms test CA") &&
	       OPENSSL("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		       "-keyout", "ca2.key", "-out", "ca2.pem", "-days", "2", "-subj", "/CN=another CA") &&
	       OPENSSL("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		       "-keyout", "kms.key", "-out", "kms.csr", "-subj", "/CN=kms") &&
	       kt_write("kms.ext", "subjectAltName=DNS:" PEER_ADDR "\n") &&
	       kt_write("other.ext", "subjectAltName=DNS:other.test\n") &&
	       OPENSSL("x509", "-req", "-in", "kms.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
		       "-CAcreateserial", "-days", "2", "-extfile", "kms.ext", "-out", "kms.pem") &&
	       OPENSSL("x509", "-req", "-in", "kms.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
		       "-CAcreateserial", "-days", "2", "-extfile", "other.ext", "-out", "other.pem") &&
	       kt_write("m.json", "{\"version\":1,\"mrtd\":\"" "abababababababababababababababababababababababab"
			"abababababababababababababababababababababababab\",\"rtmr1\":\""
			"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
			"\",\"rtmr2\":\"abababababababababababababababababababababababab"
			"abababababababababababababababababababababababab\"}\n");
}

/* `dshield kms` in the peer namespace on PEER_ADDR:port, with the
 * certificate cert (NULL: plain HTTP); true once it listens. */
static bool kt_kms(int i, unsigned port, const char *cert)
{
	char listen[32], state[96], m[96], c[96], k[96], out[96];

	snprintf(listen, sizeof listen, PEER_ADDR ":%u", port);
	snprintf(state, sizeof state, "%s/state%d", ktdir, i);
	snprintf(m, sizeof m, "%s/m.json", ktdir);
	snprintf(c, sizeof c, "%s/%s", ktdir, cert != NULL ? cert : "");
	snprintf(k, sizeof k, "%s/kms.key", ktdir);
	snprintf(out, sizeof out, "%s/kms%d.out", ktdir, i);
	kms_tls_pid[i] = fork();
	if (kms_tls_pid[i] < 0)
		return false;
	if (kms_tls_pid[i] == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (setns(ns_peer, CLONE_NEWNET) != 0 || fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		char *argv[] = { "kms", "--state", state, "--measurements", m, "--listen", listen,
				 "--tls-cert", c, "--tls-key", k, NULL };
		if (cert == NULL)
			argv[7] = NULL;
		_exit(cmd_kms(cert != NULL ? 11 : 7, argv));
	}
	for (int t = 0; t < 100; t++) {
		char buf[1024];
		long n = file_read(out, buf, sizeof buf - 1);
		if (n > 0 && (buf[n] = '\0', strstr(buf, "dshield kms: key ") != NULL))
			return true;
		usleep(50000);
	}
	return false;
}

/* init's https request to PEER_ADDR:port (pin: NULL for none); netd's
 * answer in *rep. */
static int kt_ask(uint32_t id, unsigned port, const uint8_t *pin, struct netd_kms_reply_msg *rep)
{
	static const char body[] = "{\"version\":7}";
	struct netd_kms_req_msg q = { .port = (uint16_t)port, .tls = 1 };
	int fd = file_memfd_sealed("kms-body", body, sizeof body - 1);
	uint32_t got = 0;

	if (fd < 0)
		return fd;
	snprintf(q.host, sizeof q.host, "%s", PEER_ADDR);
	snprintf(q.path, sizeof q.path, "/v1/keys");
	if (pin != NULL) {
		q.has_pin = 1;
		memcpy(q.spki_sha256, pin, 32);
	}
	int r = imsg_send(init_sock, IMSG_NETD_KMS_REQ, id, &q, sizeof q, &fd, 1);
	close(fd);
	if (r < 0)
		return r;
	r = kms_answer(20000, &got, rep);
	return r < 0 ? r : got == id ? 0 : -EPROTO;
}

/* netd's trust anchors: the one certificate in ktdir/name. */
static bool kt_anchor(const char *name)
{
	static uint8_t file[4096];
	char path[96], text[8192], err[ERRBUF_LEN];
	uint8_t der[2048];
	struct netd_anchors_msg m = { .has_anchors = 1 };
	long n, d, r;

	snprintf(path, sizeof path, "%s/%s", ktdir, name);
	n = file_read(path, text, sizeof text - 1);
	d = n > 0 ? tls_pem_object(text, (size_t)n, (const char *const[]){ "CERTIFICATE", NULL }, der,
				   sizeof der) : -EIO;
	r = d > 0 ? anchors_record(file + ANCHORS_HEADER_LEN, sizeof file - ANCHORS_HEADER_LEN, der,
				   (size_t)d, 0, err, sizeof err) : -EIO;
	if (r < 0 || anchors_header(file, sizeof file, 1) < 0)
		return false;
	int fd = file_memfd_sealed("anchors", file, ANCHORS_HEADER_LEN + (size_t)r);
	if (fd < 0)
		return false;
	r = imsg_send(init_sock, IMSG_NETD_ANCHORS, 0, &m, sizeof m, &fd, 1);
	close(fd);
	usleep(100000);    /* netd reads them before the next request */
	return r == 0;
}

static void test_kms_tls(void)
{
	static struct netd_kms_reply_msg rep;
	uint8_t pin[32], wrong[32];
	char err[ERRBUF_LEN] = "";

	if (RUN("openssl", "version") != 0 || !mkdtemp(ktdir)) {
		diag("no openssl: the KMS over https skipped");
		return;
	}
	ok(kt_pki(), "kms https: a test CA, a KMS certificate for " PEER_ADDR ", one for another name");
	ok(tls_pin_file(strcat(strcpy((char[128]){ 0 }, ktdir), "/kms.pem"), pin, err, sizeof err) == 0,
	   "kms https: the KMS key's pin%s", err);
	memcpy(wrong, pin, sizeof wrong);
	wrong[0] ^= 1;
	ok(kt_kms(0, 8548, "kms.pem") && kt_kms(1, 8549, "other.pem") && kt_kms(2, 8550, NULL),
	   "kms https: dshield kms --tls-cert on 8548, another name's on 8549, plain HTTP on 8550");

	/* the KMS's 400 to a body that is not a key request shows the
	 * channel works both ways: netd reads the KMS's own refusal */
	ok(kt_ask(201, 8548, pin, &rep) == 0 && rep.http_status == 400 &&
	   strstr(rep.reason, "bad_request") != NULL && strstr(rep.reason, "version") != NULL,
	   "kms https: pinned key: the request and the KMS's answer over TLS (%s)", rep.reason);
	ok(kt_ask(202, 8548, NULL, &rep) == 0 && rep.http_status == 0 && rep.error == -EPROTO &&
	   strstr(rep.reason, "netd: tls_failed: ") != NULL && strstr(rep.reason, "no trust anchors") != NULL,
	   "kms https: no pin and no anchors: refused, said (%s)", rep.reason);
	ok(kt_anchor("ca.pem") && kt_ask(203, 8548, NULL, &rep) == 0 && rep.http_status == 400,
	   "kms https: no pin, netd's anchors hold the KMS's CA: answered over TLS (%s)", rep.reason);
	ok(kt_ask(204, 8548, wrong, &rep) == 0 && rep.http_status == 0 &&
	   strstr(rep.reason, "netd: tls_failed: " PEER_ADDR ":8548: certificate key of " PEER_ADDR
		  " is not the pinned one") != NULL,
	   "kms https: another pin: refused even with the CA trusted (%s)", rep.reason);
	ok(kt_anchor("ca2.pem") && kt_ask(205, 8548, NULL, &rep) == 0 && rep.http_status == 0 &&
	   strstr(rep.reason, "does not chain to a trust anchor") != NULL,
	   "kms https: anchors without the KMS's CA: unknown CA, refused (%s)", rep.reason);
	ok(kt_ask(206, 8549, pin, &rep) == 0 && rep.http_status == 0 &&
	   strstr(rep.reason, "not valid for this name") != NULL,
	   "kms https: a certificate for another name, its key pinned: refused (%s)", rep.reason);
	ok(kt_ask(207, 8550, pin, &rep) == 0 && rep.http_status == 0 &&
	   strstr(rep.reason, "answered in plain HTTP, not TLS") != NULL,
	   "kms https: a plain HTTP KMS behind an https URL: refused (%s)", rep.reason);
	for (int i = 0; i < 3; i++)
		stop_child(&kms_tls_pid[i]);
	ok(run_in(-1, (const char *const[]){ "sh", "-c", "! grep -qE 'runtime error|AddressSanitizer' \"$0\"/kms*.out",
					     ktdir, NULL }) == 0,
	   "kms https: no sanitizer report from the KMSes (when built with one)");
	RUN("rm", "-rf", ktdir);
}

static void test_basic(void)
{
	struct client c;
	struct response r;

	ok(client_open(&c), "connect to netd from the peer namespace");
	if (c.fd < 0)
		return;
	is_int(get(&c, "/healthz", &r), 0, "GET /healthz answered");
	is_int(r.status, 200, "/healthz status");
	is_str(r.body, "{\"status\":\"ok\"}", "/healthz body");
	for (int i = 0; i < 3; i++) {
		int rc = get(&c, "/healthz", &r);
		ok(rc == 0 && r.status == 200, "keep-alive request %d on the same connection", i + 2);
	}
	is_int(get(&c, "/nope", &r), 0, "unknown path answered");
	is_int(r.status, 404, "unknown path: 404");

	/* Three requests in one segment, answered in order. */
	static const char three[] =
		"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
		"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
		"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
	ok(send_all(c.fd, three, sizeof three - 1), "send three pipelined requests");
	int s1 = read_response(&c, &r, 3000) == 0 ? r.status : -1;
	int s2 = read_response(&c, &r, 3000) == 0 ? r.status : -1;
	int s3 = read_response(&c, &r, 3000) == 0 ? r.status : -1;
	ok(s1 == 200 && s2 == 404 && s3 == 200, "pipelined answers in order (%d %d %d)", s1, s2, s3);

	/* Connection: close ends with FIN after the response. */
	static const char closing[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	ok(send_all(c.fd, closing, sizeof closing - 1), "send a Connection: close request");
	is_int(read_response(&c, &r, 3000), 0, "answered");
	ok(r.close, "response says Connection: close");
	is_int(wait_closed(&c, 3000), 0, "server closes (FIN, not RST)");
	client_close(&c);

	/* Half-close right after the request: the answer still comes. */
	ok(client_open(&c), "connect again");
	static const char one[] = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
	ok(send_all(c.fd, one, sizeof one - 1) && shutdown(c.fd, SHUT_WR) == 0,
	   "request, then shutdown(SHUT_WR)");
	ok(read_response(&c, &r, 3000) == 0 && r.status == 200, "answered after our FIN");
	is_int(wait_closed(&c, 3000), 0, "then closed");
	client_close(&c);
}

static void test_info(void)
{
	struct client c;
	struct response r;
	uint32_t id = 0, id2 = 0;
	static const char req[] = "GET /v1/info HTTP/1.1\r\nHost: a\r\n\r\n";

	ok(client_open(&c), "connect for /v1/info");
	ok(send_all(c.fd, req, sizeof req - 1), "send GET /v1/info");
	is_int(expect_kaddr_req(&id), 0, "netd asks init for the kernel addresses");
	ok(id != 0, "request id is not 0 (%08x)", id);
	/* Answers are matched by netd's sequence number and kind, never by
	 * connection: another number does not answer the request. */
	is_int(send_kaddr_reply(id ^ 0x10000), 0, "send a reply with another sequence number");
	is_int(read_response(&c, &r, 300), -ETIMEDOUT, "a stray reply does not answer the request");
	is_int(send_kaddr_reply(id), 0, "send the right reply");
	is_int(read_response(&c, &r, 3000), 0, "/v1/info answered");
	is_int(r.status, 200, "/v1/info status");
	ok(strstr(r.body, "\"kernel_eth0_addresses\":[]") != NULL, "kernel addresses from our reply");
	ok(strstr(r.body, "\"dhcp_bound\":") != NULL && strstr(r.body, "\"ready\":") != NULL,
	   "boot times present");
	diag("%s", r.body);

	/* The client leaves before init answers: the late answer is dropped. */
	ok(send_all(c.fd, req, sizeof req - 1), "another /v1/info");
	is_int(expect_kaddr_req(&id2), 0, "second request reaches init");
	ok(id2 != id, "same connection, a new sequence number (%08x, %08x)", id, id2);
	is_int(send_kaddr_reply(id), 0, "send the answer of the earlier request again");
	is_int(read_response(&c, &r, 300), -ETIMEDOUT, "an old answer does not answer the new request");
	client_close(&c);
	usleep(200000);
	is_int(send_kaddr_reply(id2), 0, "answer after the client left");
	ok(client_open(&c), "netd still accepts connections");
	ok(get(&c, "/healthz", &r) == 0 && r.status == 200, "and serves them");
	client_close(&c);
}

static void test_bodies(void)
{
	struct client c;
	struct response r;
	static char big[70000 + 256];

	ok(client_open(&c), "connect for request bodies");
	int h = snprintf(big, sizeof big, "POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 60000\r\n\r\n");
	memset(big + h, 'x', 60000);
	ok(send_all(c.fd, big, (size_t)h + 60000), "send a 60000-byte body");
	r.status = 0;
	int rc = read_response(&c, &r, 3000);
	ok(rc == 0 && r.status == 404, "whole body read, then 404 (%d)", r.status);
	ok(get(&c, "/healthz", &r) == 0 && r.status == 200, "connection usable after a big body");
	client_close(&c);

	ok(client_open(&c), "connect for an oversized body");
	h = snprintf(big, sizeof big, "POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n");
	memset(big + h, 'y', 70000);
	/* The server may close while we still send: ignore send errors. */
	send_all(c.fd, big, (size_t)h + 70000);
	r.status = 0;
	rc = read_response(&c, &r, 3000);
	ok(rc == 0 && r.status == 413, "70000-byte body: 413 (%d)", r.status);
	client_close(&c);
}

/* Thousands of pipelined requests written as fast as the window allows,
 * responses read concurrently: netd must stop reading while its output is
 * stuck, and answer every request exactly once, in order. */
static void test_backpressure(void)
{
	enum { N = 3000 };
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
	struct client *c = malloc(sizeof *c);
	struct response r;
	size_t sent = 0, total = N * (sizeof req - 1);
	int answered = 0, bad = 0;
	uint64_t start = now_ms(), end = start + 60000;

	if (!ok(c != NULL && client_open(c), "connect for the pipelining flood"))
		return;
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	/* Fill our side first, so netd sees a deep pipeline before we read. */
	while (sent < total) {
		size_t off = sent % (sizeof req - 1);
		ssize_t n = send(c->fd, req + off, sizeof req - 1 - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	diag("wrote %zu of %zu bytes before the first read", sent, total);
	while (answered < N && now_ms() < end) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN | (sent < total ? POLLOUT : 0) };
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if ((p.revents & POLLOUT) && sent < total) {
			size_t off = sent % (sizeof req - 1);
			ssize_t n = send(c->fd, req + off, sizeof req - 1 - off, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				break;
			if (n > 0)
				c->len += (size_t)n;
			while (read_response(c, &r, 0) == 0) {
				answered++;
				if (r.status != 200)
					bad++;
			}
		}
	}
	diag("%d answers in %llu ms", answered, (unsigned long long)(now_ms() - start));
	is_int(answered, N, "every pipelined request answered");
	is_int(bad, 0, "all of them 200");
	client_close(c);
	free(c);
}

static void test_timeouts(void)
{
	struct client c;
	struct response r;
	static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: a\r\n";

	ok(client_open(&c), "connect for the header timeout");
	ok(send_all(c.fd, partial, sizeof partial - 1), "send half a request head");
	uint64_t t0 = now_ms();
	is_int(read_response(&c, &r, HEADER_TIMEOUT_MS + 2000), 0, "answered after the header timeout");
	uint64_t dt = now_ms() - t0;
	is_int(r.status, 408, "408 Request Timeout");
	ok(dt >= HEADER_TIMEOUT_MS - 100 && dt < HEADER_TIMEOUT_MS + 1000,
	   "after about %d ms (%llu)", HEADER_TIMEOUT_MS, (unsigned long long)dt);
	is_int(wait_closed(&c, 3000), 0, "then closed");
	client_close(&c);

	ok(client_open(&c), "connect for the idle timeout");
	ok(get(&c, "/healthz", &r) == 0 && r.status == 200, "one request");
	t0 = now_ms();
	is_int(wait_closed(&c, IDLE_TIMEOUT_MS + 2000), 0, "idle keep-alive connection closed");
	dt = now_ms() - t0;
	ok(dt >= IDLE_TIMEOUT_MS - 100 && dt < IDLE_TIMEOUT_MS + 1000,
	   "after about %d ms (%llu)", IDLE_TIMEOUT_MS, (unsigned long long)dt);
	client_close(&c);
}

/* A pool full of connections from one address, each with a half-sent
 * request: that address holds more than its share, so each new connection
 * from it replaces (resets) its oldest, and the new ones are served. */
static void test_pool_full(void)
{
	enum { BUSY = HTTP_LWIP_MAX_CONNS, EXTRA = 4 };
	static struct client cs[BUSY + EXTRA];
	static const char partial[] = "GET /healthz HTTP/1.1\r\n";
	static const char rest[] = "Host: x\r\n\r\n";
	int opened = 0, reset = 0, served = 0;
	struct response r;

	/* Earlier tests' connections from this address are gone by then. */
	usleep((HTTP_LWIP_LINGER_MS + 500) * 1000);
	uint64_t t0 = now_ms();
	for (int i = 0; i < BUSY + EXTRA; i++) {
		bool in = client_open(&cs[i]);
		if (!in && errno != ECONNREFUSED && errno != ECONNRESET) {
			/* a connect that timed out (5 s) on a loaded machine is
			 * not netd's refusal, which is a RST: once more */
			fprintf(stderr, "# pool_full: connection %d: connect: %s; again\n", i, strerror(errno));
			in = client_open(&cs[i]);
		}
		if (!in) {
			fprintf(stderr, "# pool_full: connection %d: connect: %s\n", i, strerror(errno));
			break;
		}
		if (!send_all(cs[i].fd, partial, sizeof partial - 1)) {
			fprintf(stderr, "# pool_full: connection %d: send: %s\n", i, strerror(errno));
			break;
		}
		opened++;
		/* the pool is full from here on; each new connection then takes
		 * an old one's slot, and one whose half request netd has not
		 * received yet (a frame dropped on a loaded machine, resent after
		 * the client's RTO) counts as idle, cheaper than the oldest half
		 * request (net/http_lwip.c classify): before each connection past
		 * the pool's size, every half request so far is acknowledged */
		if (i < BUSY - 1)
			continue;
		for (int k = i == BUSY - 1 ? 0 : i; k <= i; k++)
			if (!wait_acked(cs[k].fd, 5000))
				fprintf(stderr, "# pool_full: connection %d: half request not "
					"acknowledged within 5 s\n", k);
	}
	is_int(opened, BUSY + EXTRA, "%d connections opened, each with half a request",
	       BUSY + EXTRA);
	for (int i = 0; i < EXTRA; i++)
		reset += wait_closed(&cs[i], 3000) == -ECONNRESET;
	is_int(reset, EXTRA, "the oldest %d were reset", EXTRA);
	if (reset != EXTRA || opened != BUSY + EXTRA) {
		fprintf(stderr, "# pool_full: the first half request is %llu ms old (header "
			"timeout %d ms)\n", (unsigned long long)(now_ms() - t0), HEADER_TIMEOUT_MS);
		for (int i = 0; i < BUSY + EXTRA; i++)
			if (cs[i].fd >= 0 && wait_closed(&cs[i], 1) == -ECONNRESET)
				fprintf(stderr, "# pool_full: connection %d was reset\n", i);
	}
	for (int i = BUSY; i < BUSY + EXTRA; i++)
		served += send_all(cs[i].fd, rest, sizeof rest - 1) &&
			  read_response(&cs[i], &r, 10000) == 0 && r.status == 200;
	ok(send_all(cs[EXTRA].fd, rest, sizeof rest - 1) &&
	   read_response(&cs[EXTRA], &r, 10000) == 0 && r.status == 200,
	   "the oldest survivor finishes its request and is answered");
	is_int(served, EXTRA, "the %d newest finish their requests and are answered", EXTRA);
	for (int i = 0; i < BUSY + EXTRA; i++)
		client_close(&cs[i]);
}

/* Slots whose HTTP work is done but which still linger (we sent FIN, the
 * client has not closed) make room for new connections. */
static void test_evict_lingering(void)
{
	enum { N = 128 };
	static struct client cs[N];
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	struct response r;
	int done = 0;

	for (int i = 0; i < N; i++) {
		/* generous bounds: a loaded shared machine is slow, not wrong
		 * (CI failed here once, with no clue; now it says which step) */
		bool in = client_open(&cs[i]) || client_open(&cs[i]);
		if (!in || !send_all(cs[i].fd, req, sizeof req - 1)) {
			fprintf(stderr, "# evict_lingering: connection %d: %s: %s\n", i, in ? "send" : "connect",
				strerror(errno));
			break;
		}
		int rr = read_response(&cs[i], &r, 10000);
		if (rr != 0 || r.status != 200) {
			fprintf(stderr, "# evict_lingering: connection %d: answer %d, status %d\n", i, rr,
				rr == 0 ? r.status : 0);
			break;
		}
		done++;
	}
	is_int(done, N, "%d Connection: close requests answered, clients keep their end open", N);
	struct client c;
	ok(client_open(&c) && get(&c, "/healthz", &r) == 0 && r.status == 200,
	   "a new connection is served by evicting a lingering one");
	client_close(&c);
	for (int i = 0; i < N; i++)
		client_close(&cs[i]);
}

/* A client's port comes round again while netd still holds its old
 * connection in TIME_WAIT (netd closed first: Connection: close): the new
 * SYN, past the old connection's sequence numbers, must open a new
 * connection at once (RFC 1122 4.2.2.13), not wait out lwIP's 2 MSL. */
static void test_timewait_reuse(void)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	struct client c;
	struct response r;
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	char got[512];

	bool first = client_open(&c) && getsockname(c.fd, (struct sockaddr *)&me, &ml) == 0 &&
		     send_all(c.fd, req, sizeof req - 1) && read_response(&c, &r, 10000) == 0 &&
		     r.status == 200;
	/* netd's FIN: its end is closed first, so lwIP keeps the TIME_WAIT */
	struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
	while (first && poll(&pfd, 1, 10000) == 1 && recv(c.fd, got, sizeof got, 0) > 0)
		;
	client_close(&c);
	ok(first, "a Connection: close request from port %u answered, netd closed first", ntohs(me.sin_port));

	/* the same port again, once our side of the old one is gone */
	struct sockaddr_in dut = { .sin_family = AF_INET, .sin_port = htons(HTTP_PORT),
				   .sin_addr.s_addr = server_addr };
	struct timeval tv = { .tv_sec = 5 };
	int one = 1, fd = -1, bound = -1;
	for (int i = 0; i < 100 && bound != 0; i++) {
		if (fd >= 0)
			close(fd);
		fd = peer_socket();
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		bound = bind(fd, (struct sockaddr *)&me, sizeof me);
		if (bound != 0)
			usleep(20 * 1000);
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int rc = bound == 0 ? connect(fd, (struct sockaddr *)&dut, sizeof dut) : -1;
	int e = errno;
	if (rc != 0)
		connect_failed(fd, e);
	ok(bound == 0 && rc == 0, "  a new connection from the same port is accepted (%s)",
	   rc == 0 ? "connected" : strerror(e));
	c.fd = rc == 0 ? fd : -1;
	c.len = 0;
	if (rc != 0)
		close(fd);
	ok(rc == 0 && get(&c, "/healthz", &r) == 0 && r.status == 200, "  and served");
	client_close(&c);
}

/* A PENDING request whose answer never comes gets 504 at the idle timeout. */
static void test_pending_timeout(void)
{
	struct client c;
	struct response r;
	uint32_t id;
	static const char req[] = "GET /v1/info HTTP/1.1\r\nHost: a\r\n\r\n";

	ok(client_open(&c) && send_all(c.fd, req, sizeof req - 1), "/v1/info that init will not answer");
	is_int(expect_kaddr_req(&id), 0, "request reaches init");
	r.status = 0;
	int rc = read_response(&c, &r, IDLE_TIMEOUT_MS + 2000);
	ok(rc == 0 && r.status == 504, "504 after the idle timeout (%d)", r.status);
	is_int(send_kaddr_reply(id), 0, "the late answer");
	client_close(&c);
	ok(client_open(&c) && get(&c, "/healthz", &r) == 0 && r.status == 200, "still serving");
	client_close(&c);
}

/* /v1/info's link.super_frames.NAME ("whole" or "cut"), or -1. */
/* A counter of /v1/info's link object: name within the object that
 * section (a key with its colon, "\"link\":" or deeper) begins; -1 when
 * not there. */
static long link_count(const char *section, const char *name)
{
	static const char req[] = "GET /v1/info HTTP/1.1\r\nHost: a\r\n\r\n";
	struct client c;
	struct response r;
	uint32_t id = 0;
	char key[32];
	long v = -1;

	if (!client_open(&c))
		return -1;
	r.status = 0;
	if (send_all(c.fd, req, sizeof req - 1) && expect_kaddr_req(&id) == 0 &&
	    send_kaddr_reply(id) == 0 && read_response(&c, &r, 3000) == 0 && r.status == 200) {
		const char *sf = strstr(r.body, section);
		snprintf(key, sizeof key, "\"%s\":", name);
		const char *k = sf != NULL ? strstr(sf, key) : NULL;
		if (k != NULL)
			v = strtol(k + strlen(key), NULL, 10);
	}
	client_close(&c);
	return v;
}

static long super_frames(const char *name)
{
	return link_count("\"super_frames\":", name);
}

/* With the peer's TSO/GSO back on, its kernel sends 64 KiB TCP super-
 * frames over the veth; netd hands those that are the next data of
 * their connection to lwIP whole (a 60000-byte body written at once on
 * a fresh connection comes in order), and would cut the others to wire
 * size (tests/test_netif_packet.c, tests/test_lwip_port.c). */
static void test_super_frames(void)
{
	static char big[60000 + 256];
	struct client c;
	struct response r;

	if (enter_peer() != 0)
		return;
	int r1 = ethtool_set("vp0", ETHTOOL_STSO, 1);
	int r2 = ethtool_set("vp0", ETHTOOL_SGSO, 1);
	enter_self();
	if (r1 < 0 || r2 < 0) {
		diag("cannot turn TSO/GSO back on: super-frame test skipped");
		return;
	}
	long whole0 = super_frames("whole");
	ok(whole0 >= 0, "/v1/info counts super-frames (%ld taken whole so far)", whole0);
	ok(client_open(&c), "connect with the peer's TSO on");
	int h = snprintf(big, sizeof big, "POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 60000\r\n\r\n");
	memset(big + h, 'z', 60000);
	ok(send_all(c.fd, big, (size_t)h + 60000), "send a 60000-byte body in one write");
	r.status = 0;
	int rc = read_response(&c, &r, 5000);
	ok(rc == 0 && r.status == 404, "the whole body arrived (404 after it: %d)", r.status);
	client_close(&c);
	long whole1 = super_frames("whole");
	ok(whole1 > whole0, "super-frames went to lwIP whole (%ld, cut: %ld)", whole1 - whole0,
	   super_frames("cut"));
}

static void test_init_gone(void)
{
	int st = 0;
	pid_t w = 0;

	close(init_sock);
	init_sock = -1;
	for (int i = 0; i < 100 && w == 0; i++) {
		w = waitpid(netd_pid, &st, WNOHANG);
		if (w == 0)
			usleep(20000);
	}
	ok(w == netd_pid, "netd exits when init closes the channel");
	if (w == netd_pid) {
		netd_pid = -1;
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 1, "with status 1 (init restarts it)");
	}
}

static bool start_scenario(bool dhcp, struct netd_status_msg *bound)
{
	uint8_t mac[6];
	struct netd_status_msg st;
	int pkt = open_packet(mac);
	struct netif_info ni = { .name = "vn0", .ifindex = (int)if_nametoindex("vn0") };
	int pkt_tx = netif_open_packet_tx(&ni);

	if (!ok(pkt >= 0, "AF_PACKET socket on vn0 (%s)", dhcp ? "dhcp" : "static"))
		return false;
	if (!ok(pkt_tx >= 0, "the sending (vnet) AF_PACKET socket on vn0, as init opens it"))
		return false;
	init_sock = start_netd();
	if (!ok(init_sock >= 0, "netd forked"))
		return false;
	ok(send_config(init_sock, pkt, pkt_tx, mac, dhcp) == 0, "config and boot info sent");
	close(pkt);
	close(pkt_tx);
	is_int(wait_status(NETD_STATE_STARTED, &st, 3000), 0, "STARTED");
	is_int(wait_status(NETD_STATE_BOUND, bound, dhcp ? 15000 : 3000), 0, "BOUND");
	is_int(wait_status(NETD_STATE_READY, &st, 3000), 0, "READY");
	server_addr = bound->ipv4_addr;
	return bound->ipv4_addr != 0;
}

static bool start_dnsmasq(void)
{
	fflush(stdout);
	dnsmasq_pid = fork();
	if (dnsmasq_pid < 0)
		return false;
	if (dnsmasq_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (enter_peer() != 0)
			_exit(126);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("dnsmasq", "dnsmasq", "--keep-in-foreground", "--no-daemon",
		       "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0",
		       "--interface=vp0", "--bind-interfaces", "--pid-file=",
		       /* no 3 s ping probe before each offer */
		       "--no-ping",
		       "--dhcp-range=198.18.3.10,198.18.3.50,255.255.255.0,1h",
		       "--dhcp-option=option:dns-server," PEER_ADDR,
		       "--dhcp-leasefile=/dev/null", (char *)NULL);
		_exit(127);
	}
	return true;
}

int main(void)
{
	struct netd_status_msg bound;
	char a[INET_ADDRSTRLEN];

	log_set_role("test");
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root for network namespaces\n");
		return 0;
	}
	if (RUN("ip", "-V") != 0) {
		printf("1..0 # SKIP no ip(8)\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("1..0 # SKIP cannot unshare a network namespace: %s\n", strerror(errno));
		return 0;
	}
	ns_self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	atexit(cleanup);
	signal(SIGALRM, on_alarm);
	signal(SIGTERM, on_alarm);
	signal(SIGINT, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm(150);
	if (setup_topology() != 0) {
		printf("Bail out! cannot build the veth topology\n");
		return 1;
	}

	if (start_scenario(false, &bound)) {
		is_str(inet_ntop(AF_INET, &bound.ipv4_addr, a, sizeof a), STATIC_IP, "static address");
		is_str(inet_ntop(AF_INET, &bound.ipv4_gw, a, sizeof a), PEER_ADDR, "static gateway");
		is_str(inet_ntop(AF_INET, &bound.dns[0], a, sizeof a), PEER_ADDR, "static DNS");
		is_int(bound.dhcp, 0, "not DHCP");
		ok(bound.t_ms > 0, "bound time set");
		test_basic();
		test_info();
		test_bodies();
		test_backpressure();
		test_timeouts();
		test_pool_full();
		test_evict_lingering();
		test_timewait_reuse();
		test_pending_timeout();
		test_logd();
		test_sandboxd();
		test_api_tls();
		test_kms();
		test_kms_tls();
	}
	test_init_gone();
	stop_child(&netd_pid);

	if (RUN("dnsmasq", "--version") != 0) {
		diag("no dnsmasq: DHCP part skipped");
		cleanup();
		return tap_done();
	}
	ok(start_dnsmasq(), "dnsmasq started in the peer namespace");
	if (start_scenario(true, &bound)) {
		uint32_t h = ntohl(bound.ipv4_addr);
		ok(h >= 0xc612030a && h <= 0xc6120332, "leased address %s in the DHCP range",
		   inet_ntop(AF_INET, &bound.ipv4_addr, a, sizeof a));
		is_str(inet_ntop(AF_INET, &bound.ipv4_gw, a, sizeof a), PEER_ADDR, "router from the lease");
		is_str(inet_ntop(AF_INET, &bound.dns[0], a, sizeof a), PEER_ADDR, "DNS from the lease");
		is_int(bound.dhcp, 1, "dhcp flag");
		struct client c;
		struct response r;
		ok(client_open(&c) && get(&c, "/healthz", &r) == 0 && r.status == 200,
		   "/healthz over the leased address");
		client_close(&c);
		test_super_frames();
	}
	test_init_gone();
	stop_child(&netd_pid);

	/* dshield.dns= replaces the lease's resolvers. */
	inet_pton(AF_INET, "198.18.3.99", &dns_override);
	if (start_scenario(true, &bound)) {
		is_str(inet_ntop(AF_INET, &bound.dns[0], a, sizeof a), "198.18.3.99",
		       "dshield.dns= replaces the DNS server of the lease");
		is_int(bound.dhcp, 1, "  with a DHCP lease");
	}
	test_init_gone();
	cleanup();
	return tap_done();
}
