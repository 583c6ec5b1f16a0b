/* tests/csum_check.h: checksum helpers of the packet driver's tests and
 * fuzz targets (test_netif_gso, fuzz_netif_gso, fuzz_netif_csum): a
 * transport checksum verified with lwIP's own code, independent of
 * net/inet_csum.h, and the completion a device does for a frame sent
 * with VIRTIO_NET_HDR_F_NEEDS_CSUM. */
#ifndef DSHIELD_TESTS_CSUM_CHECK_H
#define DSHIELD_TESTS_CSUM_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"

/* The TCP or UDP checksum of the l4len bytes after the IPv4 header at ip
 * (ihl bytes, its protocol and addresses used) by lwIP's code: 0 when
 * the checksum field is right. */
static inline u16_t l4_verify(const uint8_t *ip, size_t ihl, size_t l4len)
{
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)l4len, PBUF_RAM);
	ip4_addr_t src, dst;

	if (p == NULL)
		abort();
	pbuf_take(p, ip + ihl, (u16_t)l4len);
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	u16_t r = inet_chksum_pseudo(p, ip[9], (u16_t)l4len, &src, &dst);
	pbuf_free(p);
	return r;
}

/* What a device does with VIRTIO_NET_HDR_F_NEEDS_CSUM: sums f from start
 * to len, the field as it is, and writes the complement at start + off. */
static inline void device_csum(uint8_t *f, size_t len, size_t start, size_t off)
{
	uint32_t sum = 0;

	for (size_t i = start; i + 1 < len; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	if ((len - start) & 1)
		sum += (uint32_t)f[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[start + off] = (uint8_t)(~sum >> 8);
	f[start + off + 1] = (uint8_t)~sum;
}

#endif
