/* net/inet_csum.h: the Internet checksum (RFC 1071) over byte buffers, for
 * the packet driver's frames: the pieces it cuts from super-frames
 * (net/netif_packet.c) and the frames it merges for GSO (net/netif_gso.c).
 * Big-endian 16-bit words read byte by byte, so alignment does not matter.
 * lwIP's own inet_chksum works on pbufs and writes host order; these work
 * on the frame as it goes on the wire. */
#ifndef DSHIELD_NET_INET_CSUM_H
#define DSHIELD_NET_INET_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* sum plus p[0..len) as big-endian 16-bit words (an odd last byte padded
 * with zero), not folded. */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* sum folded to 16 bits (ones' complement addition). */
static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The IPv4 pseudo-header of a TCP or UDP datagram at ip (addresses at
 * 12..19) carrying l4len bytes of protocol proto, not folded. */
static inline uint32_t csum_pseudo4(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	return csum_add(0, ip + 12, 8) + proto + (uint32_t)l4len;
}

/* Writes the checksum of sum (its folded complement), big-endian, at at. */
static inline void csum_put(uint8_t *at, uint32_t sum)
{
	uint16_t c = (uint16_t)~csum_fold(sum);

	at[0] = (uint8_t)(c >> 8);
	at[1] = (uint8_t)c;
}

/* Writes the header checksum of the IPv4 header at ip (ihl bytes). */
static inline void csum_ip4_header(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	csum_put(ip + 10, csum_add(0, ip, ihl));
}

#endif
