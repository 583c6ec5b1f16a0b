/* net/lwip_hooks.h: lwIP hooks implemented by netd (LWIP_HOOK_FILENAME).
 *
 * lwIP's own TCP initial sequence numbers are a counter (6510 plus the
 * ticks): predictable, so an off-path attacker could inject into or spoof
 * connections. netd replaces them with RFC 6528's: a 4 µs clock plus a
 * keyed hash of the connection's addresses and ports.
 *
 * A SYN that reuses the 4-tuple of a connection in TIME_WAIT opens a new
 * connection (RFC 1122 4.2.2.13), where lwIP alone would hold the client
 * off for 2 MSL.
 *
 * Beside the hooks, the one question the packet driver asks of lwIP's TCP
 * state (net/lwip_port.c reaches into it, so the driver does not).
 */
#ifndef DSHIELD_LWIP_HOOKS_H
#define DSHIELD_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

u32_t dshield_lwip_tcp_isn(const ip_addr_t *local_ip, u16_t local_port,
			   const ip_addr_t *remote_ip, u16_t remote_port);

#define LWIP_HOOK_TCP_ISN(lip, lport, rip, rport) \
	dshield_lwip_tcp_isn((lip), (lport), (rip), (rport))

/* A new SYN for a 4-tuple lwIP holds in TIME_WAIT ends that TIME_WAIT, so
 * the listener takes it (net/lwip_port.c says why). */
struct pbuf;
struct netif;
int dshield_lwip_ip4_input(struct pbuf *p, struct netif *inp);
#define LWIP_HOOK_IP4_INPUT(p, inp) dshield_lwip_ip4_input((p), (inp))

/* 1 when the IPv4 datagram at ip (len bytes readable) is a whole,
 * unfragmented TCP segment with ACK and without SYN or RST whose sequence
 * number is exactly what an established lwIP connection (one that still
 * takes data) expects next, with nothing queued out of order or refused
 * by its application; 0 otherwise. The packet driver hands such a
 * segment to lwIP whole however long it is (net/netif_packet.c, "Super-
 * frames"); lwIP takes it in order, so its out-of-order limits, which
 * count buffers, never see it. */
int dshield_lwip_tcp_next(const uint8_t *ip, size_t len);

#endif
