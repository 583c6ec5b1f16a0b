/* init/netif.c: see netif.h. */
#include "init/netif.h"
#include "init/kaddr.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static bool ifname_ok(const char *name)
{
	size_t n = strnlen(name, IFNAMSIZ);
	if (n == 0 || n >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' || name[i] >= 0x7f)
			return false;
	return true;
}

static void ifr_init(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof *ifr);
	memcpy(ifr->ifr_name, name, strlen(name) + 1);
}

static int do_ioctl(int s, unsigned long req, struct ifreq *ifr, const char *what)
{
	if (ioctl(s, req, ifr) == 0)
		return 0;
	int e = errno;
	dlog("netif: %s: %s: %s", ifr->ifr_name, what, strerror(e));
	return -e;
}

/* Writes "1" to /proc/sys/net/ipv6/conf/<name>/disable_ipv6 and reads it
 * back. A kernel without IPv6 (no /proc/sys/net/ipv6) is fine. */
static int disable_ipv6(const char *name)
{
	char path[96], got[4] = { 0 };
	snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && access("/proc/sys/net/ipv6", F_OK) != 0) {
			dlog("netif: %s: kernel has no IPv6", name);
			return 0;
		}
		dlog("netif: open %s: %s", path, strerror(e));
		return -e;
	}
	int r = 0;
	if (write(fd, "1\n", 2) != 2 || pread(fd, got, sizeof got - 1, 0) < 1)
		r = -errno;
	else if (got[0] != '1')
		r = -EIO;
	close(fd);
	if (r != 0)
		dlog("netif: %s: cannot disable IPv6: %s", name, strerror(-r));
	return r;
}

/* --- receive offloads (best effort, see netif.h) -------------------------------- */

#define FEAT_MAX 256  /* feature bits we can name; kernels have ~70 */

/* The host's offloads; the kernel's own GRO (rx-gro) stays on (netif.h
 * says why). */
static const char *const unwanted[] = { "rx-gro-hw", "rx-lro", "rx-checksum" };
#define NUNWANTED (sizeof unwanted / sizeof unwanted[0])

static int ethtool(int s, const char *name, void *data)
{
	struct ifreq ifr;
	ifr_init(&ifr, name);
	ifr.ifr_data = data;
	/* ETHTOOL_SFEATURES answers a positive flag mask on partial success. */
	int r = ioctl(s, SIOCETHTOOL, &ifr);
	return r >= 0 ? r : -errno;
}

/* Finds the bit numbers of the unwanted features; -1 when unnamed.
 * The ethtool structs end in flexible arrays, so they live in heap
 * buffers sized for their data (boot path only). */
static int feature_bits(int s, const char *name, int bits[NUNWANTED], unsigned *nfeat)
{
	struct ethtool_sset_info *info = calloc(1, sizeof *info + sizeof(uint32_t));
	struct ethtool_gstrings *strs = calloc(1, sizeof *strs + FEAT_MAX * ETH_GSTRING_LEN);
	int r = -ENOMEM;

	if (!info || !strs)
		goto out;
	info->cmd = ETHTOOL_GSSET_INFO;
	info->sset_mask = 1ull << ETH_SS_FEATURES;
	if ((r = ethtool(s, name, info)) != 0)
		goto out;
	unsigned n = info->data[0];
	r = -EOPNOTSUPP;
	if (!(info->sset_mask & (1ull << ETH_SS_FEATURES)) || n == 0 || n > FEAT_MAX)
		goto out;
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_FEATURES;
	strs->len = n;
	if ((r = ethtool(s, name, strs)) != 0)
		goto out;
	*nfeat = n;
	for (size_t k = 0; k < NUNWANTED; k++) {
		bits[k] = -1;
		for (unsigned i = 0; i < n; i++) {
			const char *str = (const char *)strs->data + (size_t)i * ETH_GSTRING_LEN;
			if (strncmp(str, unwanted[k], ETH_GSTRING_LEN) == 0)
				bits[k] = (int)i;
		}
	}
out:
	free(info);
	free(strs);
	return r;
}

static void offloads_off(int s, const char *name)
{
	int bits[NUNWANTED];
	unsigned nfeat = 0;
	struct ethtool_sfeatures *set = NULL;
	struct ethtool_gfeatures *get = NULL;

	int r = feature_bits(s, name, bits, &nfeat);
	if (r != 0) {
		dlog("netif: %s: warning: cannot list offload features: %s", name, strerror(-r));
		return;
	}
	unsigned nblocks = (nfeat + 31) / 32;
	set = calloc(1, sizeof *set + nblocks * sizeof set->features[0]);
	get = calloc(1, sizeof *get + nblocks * sizeof get->features[0]);
	if (!set || !get)
		goto out;
	set->cmd = ETHTOOL_SFEATURES;
	set->size = nblocks;
	for (size_t k = 0; k < NUNWANTED; k++)
		if (bits[k] >= 0)
			set->features[bits[k] / 32].valid |= 1u << (bits[k] % 32);  /* requested: 0 */
	/* A positive result only flags features the driver kept: checked below. */
	r = ethtool(s, name, set);
	if (r < 0)
		dlog("netif: %s: warning: cannot change offloads: %s", name, strerror(-r));
	get->cmd = ETHTOOL_GFEATURES;
	get->size = nblocks;
	if ((r = ethtool(s, name, get)) != 0) {
		dlog("netif: %s: warning: cannot read offloads: %s", name, strerror(-r));
		goto out;
	}
	for (size_t k = 0; k < NUNWANTED; k++) {
		if (bits[k] < 0)
			dlog("netif: %s: warning: the kernel names no feature %s", name, unwanted[k]);
		else if (get->features[bits[k] / 32].active & (1u << (bits[k] % 32)))
			dlog("netif: %s: warning: %s stays on (fixed by the driver)", name, unwanted[k]);
	}
out:
	free(set);
	free(get);
}

/* --- up, NOARP, identity ------------------------------------------------------- */

static int set_flags(int s, const char *name)
{
	struct ifreq ifr;
	int r;
	ifr_init(&ifr, name);
	if ((r = do_ioctl(s, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS")) != 0)
		return r;
	ifr.ifr_flags |= IFF_UP | IFF_NOARP;
	if ((r = do_ioctl(s, SIOCSIFFLAGS, &ifr, "set IFF_UP|IFF_NOARP")) != 0)
		return r;
	ifr_init(&ifr, name);
	if ((r = do_ioctl(s, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS")) != 0)
		return r;
	if ((ifr.ifr_flags & (IFF_UP | IFF_NOARP)) != (IFF_UP | IFF_NOARP)) {
		dlog("netif: %s: flags 0x%x after setting IFF_UP|IFF_NOARP", name,
		     (unsigned)ifr.ifr_flags);
		return -EIO;
	}
	return 0;
}

static int read_identity(int s, const char *name, struct netif_info *out)
{
	struct ifreq ifr;
	int r;
	ifr_init(&ifr, name);
	if ((r = do_ioctl(s, SIOCGIFHWADDR, &ifr, "SIOCGIFHWADDR")) != 0)
		return r;
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		dlog("netif: %s: not an Ethernet interface (type %u)", name,
		     (unsigned)ifr.ifr_hwaddr.sa_family);
		return -EINVAL;
	}
	memcpy(out->mac, ifr.ifr_hwaddr.sa_data, 6);
	ifr_init(&ifr, name);
	if ((r = do_ioctl(s, SIOCGIFMTU, &ifr, "SIOCGIFMTU")) != 0)
		return r;
	out->mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

static int no_kernel_address(const char *name, int ifindex)
{
	struct kaddr_reply_msg rep;
	char a[64];
	int r = kaddr_query(ifindex, &rep);
	if (r != 0 && r != -E2BIG)
		return r;
	if (rep.count == 0)
		return 0;
	for (uint32_t i = 0; i < rep.count; i++)
		dlog("netif: %s: the kernel holds address %s: refusing to hand the "
		     "interface to netd", name, kaddr_format(&rep.addr[i], a, sizeof a));
	return -EADDRINUSE;
}

static int prepare(int s, const char *name, struct netif_info *out)
{
	struct ifreq ifr;
	int r;

	ifr_init(&ifr, name);
	if (ioctl(s, SIOCGIFINDEX, &ifr) != 0) {
		int e = errno;
		dlog("netif: no interface %s: %s", name, strerror(e));
		return -e;
	}
	out->ifindex = ifr.ifr_ifindex;
	if ((r = read_identity(s, name, out)) != 0 || (r = disable_ipv6(name)) != 0)
		return r;
	offloads_off(s, name);
	if ((r = set_flags(s, name)) != 0)
		return r;
	return no_kernel_address(name, out->ifindex);
}

int netif_prepare(const char *ifname, struct netif_info *out)
{
	memset(out, 0, sizeof *out);
	if (!ifname_ok(ifname)) {
		dlog("netif: invalid interface name");
		return -EINVAL;
	}
	memcpy(out->name, ifname, strlen(ifname) + 1);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		int e = errno;
		dlog("netif: ioctl socket: %s", strerror(e));
		return -e;
	}
	int r = prepare(s, ifname, out);
	close(s);
	if (r == 0)
		dlog("netif: %s: ifindex %d, mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u: "
		     "up, NOARP, IPv6 off, no kernel address", ifname, out->ifindex,
		     out->mac[0], out->mac[1], out->mac[2], out->mac[3], out->mac[4],
		     out->mac[5], out->mtu);
	return r;
}

/* A socket option set on a packet socket before its bind; alt: a name
 * tried when name is refused (the FORCE variants need privileges). */
struct packet_opt {
	int level, name, alt, value;
	const char *what;
};

/* An AF_PACKET socket, non-blocking and close-on-exec, with opts set and
 * bound to ni's interface for protocol (network order; 0: it receives
 * nothing). Returns the fd or a negative errno. */
static int open_packet_socket(const struct netif_info *ni, uint16_t protocol,
			      const struct packet_opt *opts, size_t nopts, const char *role)
{
	/* Protocol 0: the socket receives nothing until bind() names both the
	 * protocol and the interface, so no frame of another interface can
	 * slip in between socket() and bind(). */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		dlog("netif: AF_PACKET socket: %s", strerror(e));
		return -e;
	}
	const char *what = "bind";
	for (size_t i = 0; i < nopts; i++) {
		const struct packet_opt *o = &opts[i];
		what = o->what;
		if (setsockopt(fd, o->level, o->name, &o->value, sizeof o->value) != 0 &&
		    (o->alt == 0 || setsockopt(fd, o->level, o->alt, &o->value, sizeof o->value) != 0))
			goto fail;
	}
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = protocol,
		.sll_ifindex = ni->ifindex,
	};
	what = "bind";
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	dlog("netif: %s: AF_PACKET (%s) %s: %s", ni->name, role, what, strerror(e));
	close(fd);
	return -e;
}

int netif_open_packet(const struct netif_info *ni)
{
	static const struct packet_opt opts[] = {
		{ SOL_PACKET, PACKET_IGNORE_OUTGOING, 0, 1, "PACKET_IGNORE_OUTGOING" },
		{ SOL_PACKET, PACKET_AUXDATA, 0, 1, "PACKET_AUXDATA" },
		/* SO_RCVBUFFORCE passes net.core.rmem_max (init is privileged) */
		{ SOL_SOCKET, SO_RCVBUFFORCE, SO_RCVBUF, NETIF_RCVBUF, "SO_RCVBUF" },
	};

	return open_packet_socket(ni, htons(ETH_P_ALL), opts, sizeof opts / sizeof opts[0],
				  "receiving");
}

int netif_open_packet_tx(const struct netif_info *ni)
{
	static const struct packet_opt opts[] = {
		{ SOL_PACKET, PACKET_VNET_HDR, 0, 1, "PACKET_VNET_HDR" },
		/* a GSO frame is up to 64 KiB: room for a window of them while
		 * a virtio device still holds the last ones */
		{ SOL_SOCKET, SO_SNDBUFFORCE, SO_SNDBUF, NETIF_SNDBUF, "SO_SNDBUF" },
	};

	return open_packet_socket(ni, 0, opts, sizeof opts / sizeof opts[0], "sending");
}
