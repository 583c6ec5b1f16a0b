/* net/ip4_whole.h: the one check netd's packet path makes before it reads
 * a transport header out of an IPv4 datagram: the packet driver (which
 * frames the kernel's checksum word covers, cutting super-frames) and the
 * IPv4 input hook (net/lwip_port.c) read headers lwIP has not checked. */
#ifndef DSHIELD_NET_IP4_WHOLE_H
#define DSHIELD_NET_IP4_WHOLE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"

/* The length of the IPv4 datagram at ip (len bytes readable there) when
 * it is whole within them, not a fragment (neither MF nor an offset), of
 * protocol proto, and carries at least min_l4 bytes after its header
 * (whose length goes to *ihl); 0 for anything else. */
static inline size_t ip4_whole(const uint8_t *ip, size_t len, uint8_t proto, size_t min_l4,
			       size_t *ihl)
{
	if (len < 20)
		return 0;
	size_t h = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = be16(ip + 2);
	if ((ip[0] >> 4) != 4 || h < 20 || ip[9] != proto || tot > len || tot < h + min_l4 ||
	    (be16(ip + 6) & 0x3fff) != 0)
		return 0;
	*ihl = h;
	return tot;
}

/* The IPv4 TCP segment of Ethernet frame f (len bytes readable): the
 * datagram's length when it is whole (ip4_whole) and its TCP header, at
 * least 20 bytes, lies within it; the two header lengths to *ihl and
 * *thl. 0 for anything else. The packet driver's super-frame cutting and
 * GSO merging read TCP headers through it. */
static inline size_t eth_tcp4(const uint8_t *f, size_t len, size_t *ihl, size_t *thl)
{
	if (len < 14 + 40 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	size_t tot = ip4_whole(f + 14, len - 14, 6, 20, ihl);
	if (tot == 0)
		return 0;
	*thl = (size_t)(f[14 + *ihl + 12] >> 4) * 4;
	return *thl >= 20 && *ihl + *thl <= tot ? tot : 0;
}

#endif
