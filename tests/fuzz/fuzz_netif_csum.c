/* tests/fuzz/fuzz_netif_csum.c: libFuzzer target for netif_packet_fix_csum.
 * Beyond "no crash or out-of-bounds access": when it claims to have
 * written a checksum, lwIP's own checksum code must accept it, and it
 * must never touch a byte outside the L4 checksum field. */
#include <stdlib.h>
#include <string.h>

#include "net/netif_packet.h"

#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/pbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	uint8_t *f;

	if (!inited) {
		lwip_init();
		inited = 1;
	}
	if (size > 2048)
		return 0;
	/* An exact-size heap copy, so ASan sees any overread. */
	f = malloc(size ? size : 1);
	if (f == NULL)
		return 0;
	memcpy(f, data, size);
	int r = netif_packet_fix_csum(f, size);
	if (r < 0 || r == 0) {
		if (memcmp(f, data, size) != 0 && r == 0)
			abort();             /* "nothing to do" must change nothing */
		free(f);
		return 0;
	}
	if (r != 1)
		abort();
	const uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	size_t tot = (size_t)ip[2] << 8 | ip[3];
	size_t l4len = tot - ihl;
	size_t csum_at = 14 + ihl + (ip[9] == 6 ? 16 : 6);
	for (size_t i = 0; i < size; i++)
		if (f[i] != data[i] && i != csum_at && i != csum_at + 1)
			abort();
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)l4len, PBUF_RAM);
	if (p == NULL)
		abort();
	pbuf_take(p, ip + ihl, (u16_t)l4len);
	ip4_addr_t src, dst;
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	if (inet_chksum_pseudo(p, ip[9], (u16_t)l4len, &src, &dst) != 0)
		abort();
	pbuf_free(p);
	free(f);
	return 0;
}
