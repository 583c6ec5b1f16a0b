/* init/netif.h: the interface netd drives, made safe for a userspace stack.
 *
 * The kernel must never speak IP on it: lwIP in netd is the only IP stack
 * there. netif_prepare() leaves the interface up with
 *   - IPv6 disabled on it (before it comes up: no link-local address, no
 *     DAD or router solicitation),
 *   - IFF_NOARP (the kernel neither asks nor answers ARP),
 *   - the host's receive offloads switched off where the driver allows
 *     (rx-gro-hw, rx-lro: frames the host merged; rx-checksum: frames
 *     whose checksum the host vouched for or left to us; virtio-net
 *     keeps it on). The kernel's own GRO (rx-gro) stays on: it merges
 *     only segments whose checksums were verified, and netd takes such a
 *     super-frame whole (docs/NETWORK.md, "Super-frames"). A feature the
 *     driver cannot change is logged as a warning, not an error: netd
 *     copes with such frames through PACKET_AUXDATA
 *     (TP_STATUS_CSUMNOTREADY, tp_len > MTU),
 *   - and no IPv4 or IPv6 address. If it holds one, netif_prepare refuses
 *     (-EADDRINUSE, the address logged) rather than deleting it: nothing in
 *     a dshield image configures kernel addresses, so one means the image
 *     or command line is not what it should be (e.g. a kernel "ip=").
 *
 * Error convention: 0 or a file descriptor on success, a negative errno on
 * failure, logged with dlog().
 */
#ifndef DSHIELD_INIT_NETIF_H
#define DSHIELD_INIT_NETIF_H

#include <stdint.h>

struct netif_info {
	char name[16];     /* interface name, NUL-terminated */
	int ifindex;       /* kernel interface index */
	uint8_t mac[6];    /* Ethernet address (lwIP uses it as its own) */
	unsigned mtu;      /* bytes of IP payload per frame (e.g. 1500) */
};

/* Prepares ifname as described above and fills *out. Returns 0;
 * -EINVAL (bad name, not Ethernet), -ENODEV (no such interface),
 * -EADDRINUSE (the kernel holds an address on it), -EIO (flags did not
 * stick), or the errno of a failed ioctl, sysctl write or netlink query. */
int netif_prepare(const char *ifname, struct netif_info *out);

/* Opens the raw frame socket netd reads and writes: AF_PACKET, SOCK_RAW,
 * all protocols (ETH_P_ALL), bound to ni->ifindex, non-blocking,
 * close-on-exec, PACKET_IGNORE_OUTGOING (our own transmitted frames are not
 * read back), PACKET_AUXDATA on (recvmsg gets struct tpacket_auxdata), and a
 * NETIF_RCVBUF receive buffer. Returns the fd or a negative errno. */
int netif_open_packet(const struct netif_info *ni);

/* Opens the socket netd sends through: AF_PACKET, SOCK_RAW, protocol 0
 * (it receives nothing), bound to ni->ifindex, non-blocking,
 * close-on-exec, PACKET_VNET_HDR on (each frame starts with a struct
 * virtio_net_hdr: netd merges lwIP's TCP segments into GSO frames and
 * leaves their checksums to the kernel, net/netif_gso.h), and a
 * NETIF_SNDBUF send buffer. Returns the fd or a negative errno; without
 * it netd sends each frame on the first socket. */
int netif_open_packet_tx(const struct netif_info *ni);

#define NETIF_RCVBUF (4 << 20)
#define NETIF_SNDBUF (4 << 20)

#endif
