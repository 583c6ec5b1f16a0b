/* net/tcp_refusal.h: the kernel's refusal of a connection, read off a
 * function's lo (docs/EGRESS.md, "Ports no rule names").
 *
 * A function that connects to a fake address on a port nothing listens
 * on is refused by its own namespace's kernel: the SYN is answered with a
 * reset, RST|ACK with sequence number 0, from the address and port it
 * dialled. netd sees those resets on the function's SBX_L_RESETS socket
 * (proto/netd_sandboxd.h; the socket's filter keeps them and little
 * else) and records each one, so a port no rule names is refused *and
 * logged* like one another rule names. This is the strict reading of one
 * such packet, checked again here whatever the filter kept: the filter
 * is sandboxd's, the packet the kernel's, and neither is trusted to be
 * what the other says.
 *
 * Input: an IPv4 packet from its first header byte (AF_PACKET,
 * SOCK_DGRAM), at most SBX_RESETS_SNAP bytes of it. Nothing is
 * allocated; the packet is only read. */
#ifndef DSHIELD_NET_TCP_REFUSAL_H
#define DSHIELD_NET_TCP_REFUSAL_H

#include <stddef.h>
#include <stdint.h>

struct tcp_refusal {
	uint32_t addr;     /* the fake address dialled (host order) */
	uint16_t port;     /* the port dialled */
};

/* 0 and *r when pkt (len bytes) is a reset answering a SYN, sent from an
 * address in SBX_FAKE_NET: IPv4, a header of 20..60 bytes that fits,
 * TCP, not a fragment, a TCP header of 20..60 bytes whose first 14 bytes
 * are there, FIN, SYN, RST and ACK exactly RST|ACK, sequence 0, neither
 * port 0. -EINVAL for anything else. */
int tcp_refusal_parse(const uint8_t *pkt, size_t len, struct tcp_refusal *r);

#endif
