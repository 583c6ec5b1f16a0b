/* tests/test_netif.c: netif_prepare, netif_open_packet and kaddr_query in a
 * network namespace of their own (root only; otherwise every test skips).
 *
 * The namespace holds a veth pair dsh0 <-> dsh1; dsh0 plays eth0. Addresses
 * come from 198.18.0.0/15 (benchmarking range) and never leave the
 * namespace, which is deleted at exit whatever happens.
 */
#include "init/kaddr.h"
#include "init/netif.h"
#include "lib/seccomp.h"
#include "net/netd.h"
#include "lib/log.h"
#include "tests/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char ns[32];

static void cleanup(void)
{
	char cmd[96];
	snprintf(cmd, sizeof cmd, "ip netns del %s 2>/dev/null", ns);
	if (system(cmd) != 0) {
		/* already gone */
	}
}

__attribute__((format(printf, 1, 2)))
static int sh(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int read_sysctl_char(const char *path)
{
	char c = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c;
}

static short if_flags(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	short f = (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) ? ifr.ifr_flags : 0;
	if (s >= 0)
		close(s);
	return f;
}

/* A raw socket on the peer end, to send frames to dsh0 and see its frames. */
static int peer_socket_on(const char *ifname)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(ifname) };
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits up to 1 s for a frame with ethertype 0x88b5 (local experimental)
 * carrying tag; returns 1 if seen. */
static int saw_frame(int fd, uint8_t tag)
{
	uint8_t buf[2048];
	for (int tries = 0; tries < 20; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n >= 15 && buf[12] == 0x88 && buf[13] == 0xb5 && buf[14] == tag)
			return 1;
	}
	return 0;
}

static int peer_socket(void)
{
	return peer_socket_on("dsh1");
}

static void make_frame(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint8_t tag)
{
	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88, f[13] = 0xb5, f[14] = tag;
}

/* A second veth pair, dsh2 <-> dsh3: the kernel sends a bound packet
 * socket's frame wherever the call's address points, so netd's seccomp
 * filter must (and does) refuse any send with an address. */
static void test_send_elsewhere(int fd, const uint8_t mac[6])
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t frame[60];

	if (sh("ip link add dsh2 type veth peer name dsh3") != 0 ||
	    sh("ip link set dsh2 up") != 0 || sh("ip link set dsh3 up") != 0) {
		ok(0, "second veth pair");
		return;
	}
	int other = peer_socket_on("dsh3"), peer = peer_socket();
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(0x88b5),
				  .sll_ifindex = (int)if_nametoindex("dsh2"), .sll_halen = 6 };
	memcpy(to.sll_addr, bcast, 6);
	make_frame(frame, bcast, mac, 0x33);
	ok(sendto(fd, frame, sizeof frame, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)sizeof frame &&
	   saw_frame(other, 0x33), "the kernel sends a bound socket's frame on another interface if asked");

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* Under netd's filter: with an address EPERM, without one fine. */
		if (seccomp_enter_role(netd_seccomp_rules, netd_seccomp_nrules) != 0)
			_exit(2);
		make_frame(frame, bcast, mac, 0x44);
		if (sendto(fd, frame, sizeof frame, 0, (struct sockaddr *)&to, sizeof to) != -1 ||
		    errno != EPERM)
			_exit(3);
		make_frame(frame, bcast, mac, 0x55);
		_exit(sendto(fd, frame, sizeof frame, 0, NULL, 0) == (ssize_t)sizeof frame ? 0 : 4);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	ok(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "under netd's filter a send with an address is EPERM, without one it works (0x%x)", st);
	ok(!saw_frame(other, 0x44), "nothing went out on the other interface");
	ok(saw_frame(peer, 0x55), "the addressless frame went out on the bound interface");
	close(other);
	close(peer);
}

static void test_in_netns(void)
{
	struct netif_info ni;
	struct kaddr_reply_msg rep;
	char a[64];

	is_int(netif_prepare("dsh0", &ni), 0, "netif_prepare dsh0");
	is_str(ni.name, "dsh0", "name");
	is_int(ni.ifindex, (int)if_nametoindex("dsh0"), "ifindex");
	is_int(ni.mtu, 1500, "mtu");
	is_mem(ni.mac, "\x02\x00\x00\x00\x05\x02", 6, "mac");
	short f = if_flags("dsh0");
	ok(f & IFF_UP, "dsh0 is up");
	ok(f & IFF_NOARP, "dsh0 has IFF_NOARP");
	is_int(read_sysctl_char("/proc/sys/net/ipv6/conf/dsh0/disable_ipv6"), '1',
	       "IPv6 disabled on dsh0");
	is_int(kaddr_query(ni.ifindex, &rep), 0, "kaddr_query dsh0");
	is_int(rep.count, 0, "the kernel holds no address on dsh0");
	is_int(rep.error, 0, "error mirrors the result");
	is_int(netif_prepare("dsh0", &ni), 0, "netif_prepare is idempotent");

	/* both families, on lo */
	is_int(sh("ip link set lo up"), 0, "lo up");
	is_int(kaddr_query((int)if_nametoindex("lo"), &rep), 0, "kaddr_query lo");
	int v4 = 0, v6 = 0;
	for (uint32_t i = 0; i < rep.count; i++) {
		kaddr_format(&rep.addr[i], a, sizeof a);
		v4 |= strcmp(a, "127.0.0.1/8") == 0;
		v6 |= strcmp(a, "::1/128") == 0;
	}
	ok(v4, "lo holds 127.0.0.1/8");
	ok(v6, "lo holds ::1/128");
	is_int(kaddr_query(999999, &rep), 0, "kaddr_query of an unknown ifindex");
	is_int(rep.count, 0, "... finds nothing");

	/* frames both ways through the packet socket */
	int fd = netif_open_packet(&ni);
	ok(fd >= 0, "netif_open_packet");
	int peer = peer_socket();
	ok(peer >= 0, "peer socket on dsh1");
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	ok(fl >= 0 && (fl & O_NONBLOCK), "packet socket is non-blocking");
	ok(fdfl >= 0 && (fdfl & FD_CLOEXEC), "packet socket is close-on-exec");
	int rcv = 0;
	socklen_t sl = sizeof rcv;
	ok(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &sl) == 0, "SO_RCVBUF");
	ok(rcv >= NETIF_RCVBUF, "receive buffer %d >= NETIF_RCVBUF", rcv);
	uint8_t frame[60], bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t peer_mac[6] = { 2, 0, 0, 0, 5, 3 };
	make_frame(frame, ni.mac, peer_mac, 0x11);
	ok(send(peer, frame, sizeof frame, 0) == (ssize_t)sizeof frame, "peer sends a frame");
	ok(saw_frame(fd, 0x11), "dsh0's packet socket receives it");
	make_frame(frame, bcast, ni.mac, 0x22);
	ok(send(fd, frame, sizeof frame, 0) == (ssize_t)sizeof frame, "send a frame on dsh0");
	ok(saw_frame(peer, 0x22), "the peer receives it");
	ok(!saw_frame(fd, 0x22), "our own frame is not read back");
	test_send_elsewhere(fd, ni.mac);
	close(fd);
	close(peer);

	/* an address on the interface is reported and refused */
	is_int(sh("ip addr add 198.18.5.1/24 dev dsh0"), 0, "add 198.18.5.1/24 to dsh0");
	is_int(kaddr_query(ni.ifindex, &rep), 0, "kaddr_query dsh0 again");
	is_int(rep.count, 1, "one address");
	is_str(kaddr_format(&rep.addr[0], a, sizeof a), "198.18.5.1/24", "it is 198.18.5.1/24");
	is_int(rep.addr[0].family, AF_INET, "family AF_INET");
	is_int(netif_prepare("dsh0", &ni), -EADDRINUSE, "netif_prepare refuses an interface with an address");

	/* more than KADDR_MAX */
	char cmd[96];
	for (int i = 2; i < KADDR_MAX + 3; i++) {
		snprintf(cmd, sizeof cmd, "ip addr add 198.18.5.%d/24 dev dsh0", i);
		if (system(cmd) != 0)
			break;
	}
	is_int(kaddr_query(ni.ifindex, &rep), -E2BIG, "more than KADDR_MAX addresses");
	is_int(rep.count, KADDR_MAX, "... the first KADDR_MAX are returned");
	is_int(rep.error, -E2BIG, "... and error says so");

	is_int(netif_prepare("nosuch0", &ni), -ENODEV, "missing interface");
	is_int(netif_prepare("../x", &ni), -EINVAL, "name with a slash");
	is_int(netif_prepare("", &ni), -EINVAL, "empty name");
	is_int(netif_prepare("abcdefghijklmnop", &ni), -EINVAL, "name too long");
	is_int(netif_prepare("lo", &ni), -EINVAL, "lo is not Ethernet");
}

int main(void)
{
	if (getuid() != 0 || system("ip -V >/dev/null 2>&1") != 0) {
		ok(1, "# skip needs root and iproute2");
		return tap_done();
	}
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (getenv("TEST_VERBOSE") == NULL && devnull >= 0)
		log_set_fd(devnull);

	snprintf(ns, sizeof ns, "dshield-t%d", (int)getpid());
	atexit(cleanup);
	if (sh("ip netns add %s", ns) != 0 ||
	    sh("ip -n %s link add dsh0 address 02:00:00:00:05:02 type veth peer name dsh1 address 02:00:00:00:05:03", ns) != 0 ||
	    sh("ip -n %s link set dsh1 up", ns) != 0) {
		printf("Bail out! cannot create netns %s with a veth pair\n", ns);
		return 1;
	}
	char path[64];
	snprintf(path, sizeof path, "/var/run/netns/%s", ns);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || self < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
		printf("Bail out! cannot enter netns %s\n", ns);
		return 1;
	}
	test_in_netns();
	ok(setns(self, CLONE_NEWNET) == 0, "back to the original netns");
	close(nsfd);
	close(self);
	return tap_done();
}
