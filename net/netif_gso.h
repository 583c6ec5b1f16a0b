/* net/netif_gso.h: lwIP's frames on their way to a PACKET_VNET_HDR packet
 * socket, consecutive TCP segments of one connection merged into one GSO
 * frame (docs/NETWORK.md, "Transmit").
 *
 * lwIP sends a window of data as segments of one MSS each, and each was
 * a sendto() of 1,514 bytes: in a proxied upload 42 % of netd's time was
 * those calls, most of it the upstream's kernel receiving each segment
 * (softirq work done within netd's call, on a veth). A socket with
 * PACKET_VNET_HDR takes a virtio_net_hdr before each frame: with
 * gso_type TCPV4 and gso_size the segment size, one frame of up to 64 KiB
 * stands for the segments, and the kernel passes it whole where the
 * device takes it (a veth: the peer's TCP receives it as one; a NIC with
 * TSO) or cuts it into exactly those segments itself (software GSO:
 * headers copied, sequence numbers advanced, PSH and FIN on the last
 * only, each checksum computed).
 *
 * Every TCP frame leaves with VIRTIO_NET_HDR_F_NEEDS_CSUM: its checksum
 * field holds the pseudo-header's sum and the device or the kernel adds
 * the segment's (lwIP does not compute TCP checksums on such a socket:
 * netif_packet_init). Other frames (ARP, UDP, ICMP) go as lwIP made them.
 *
 * The engine stages one frame. A frame continues the staged one when it
 * is the same connection's next segment with the same headers otherwise
 * (addresses, ports, acknowledgment, window, options, TTL, TOS), the
 * staged segments are all full (the first one's size) and only ACK is set
 * on them; PSH or FIN may come with the last. No I/O: the caller sends
 * what netif_gso_finish gives (net/netif_packet.c), and finishes the
 * staged frame whenever netif_gso_add refuses a frame, netif_gso_ready
 * says so, and before its loop waits (netif_packet_flush): a staged
 * frame never waits for an event.
 */
#ifndef DSHIELD_NET_NETIF_GSO_H
#define DSHIELD_NET_NETIF_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETIF_GSO_VNET   10                        /* struct virtio_net_hdr */
#define NETIF_GSO_FRAME  (14 + 65535)              /* Ethernet + a whole IPv4 datagram */

struct netif_gso {
	size_t len;          /* frame bytes staged after the vnet header; 0: none */
	bool tcp;            /* the staged frame is IPv4 TCP (its IPv4 header at 14) */
	size_t l4;           /* its TCP header offset */
	size_t payload;      /* its TCP header's end: where the data starts */
	uint32_t next_seq;   /* the sequence number a joining segment must have */
	uint16_t mss;        /* the first segment's data: the GSO size */
	uint16_t segs;       /* segments staged */
	bool open;           /* more segments may join */
	uint8_t buf[NETIF_GSO_VNET + NETIF_GSO_FRAME];
};

void netif_gso_init(struct netif_gso *g);

/* Stages frame[0..len), or appends its data to the staged frame when it
 * continues it: true. false: something else is staged, and the caller
 * must finish it first, then add frame again. A frame shorter than an
 * Ethernet header or longer than NETIF_GSO_FRAME is refused with false on
 * an empty stage too (no frame of lwIP's is either: the caller drops it). */
bool netif_gso_add(struct netif_gso *g, const uint8_t *frame, size_t len);

/* Whether the staged frame should go now: nothing can join it (not TCP
 * data with only ACK, a short or PSH/FIN segment last, or no room for
 * another full segment). */
bool netif_gso_ready(const struct netif_gso *g);

/* Completes the staged frame (IPv4 length and header checksum, the TCP
 * pseudo-header sum, the vnet header) and empties the stage. Its bytes,
 * vnet header first, at *out (valid until the next add), their count
 * returned (0: nothing staged); *segs: the segments it stands for. */
size_t netif_gso_finish(struct netif_gso *g, const uint8_t **out, unsigned *segs);

#endif
