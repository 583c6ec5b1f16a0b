/* tests/fuzz/fuzz_netif_csum.c: libFuzzer target for the frame parsers of
 * the packet driver, netif_packet_csum_vouched and netif_packet_split.
 * Beyond "no crash or out-of-bounds access": csum_vouched says yes only
 * for a whole, unfragmented IPv4 TCP or UDP datagram within the frame;
 * every piece split emits is a wire-sized IPv4 TCP frame whose checksums
 * verify, and the pieces carry exactly the original payload. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/netif_packet.h"

#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/pbuf.h"
#include "tests/csum_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct split_check {
	const uint8_t *orig;
	size_t payload_off;   /* where the original payload starts */
	size_t seen;          /* payload bytes emitted so far */
};

static void check_piece(void *arg, const uint8_t *f, size_t len)
{
	struct split_check *sc = arg;
	const uint8_t *ip = f + 14;

	if (len < 54 || len > 1514 || f[12] != 8 || f[13] != 0 || ip[9] != 6)
		abort();
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	size_t tot = (size_t)ip[2] << 8 | ip[3];
	size_t thl = (size_t)(ip[ihl + 12] >> 4) * 4;
	if (14 + tot != len || inet_chksum(ip, (u16_t)ihl) != 0 ||
	    l4_verify(ip, ihl, tot - ihl) != 0)
		abort();
	size_t chunk = tot - ihl - thl;
	if (memcmp(ip + ihl + thl, sc->orig + sc->payload_off + sc->seen, chunk) != 0)
		abort();
	sc->seen += chunk;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	uint8_t *f;

	if (!inited) {
		lwip_init();
		inited = 1;
	}
	if (size > 70000)
		return 0;
	{
		struct split_check sc = { .orig = data };
		if (size >= 54) {
			const uint8_t *ip = data + 14;
			size_t ihl = (size_t)(ip[0] & 15) * 4;
			if (size >= 14 + ihl + 13)
				sc.payload_off = 14 + ihl + (size_t)(ip[ihl + 12] >> 4) * 4;
		}
		int n = netif_packet_split(data, size, 1500, check_piece, &sc);
		if (n > 0) {
			size_t tot = (size_t)data[16] << 8 | data[17];
			if (sc.seen != 14 + tot - sc.payload_off)
				abort();
		} else if (n != -EINVAL) {
			abort();
		}
	}
	/* An exact-size heap copy, so ASan sees any overread. */
	f = malloc(size ? size : 1);
	if (f == NULL)
		return 0;
	memcpy(f, data, size);
	int r = netif_packet_csum_vouched(f, size);
	if (r != 0 && r != 1)
		abort();
	if (r == 1) {
		/* only a whole, unfragmented IPv4 TCP or UDP datagram */
		const uint8_t *ip = f + 14;
		size_t ihl = (size_t)(ip[0] & 15) * 4;
		size_t tot = (size_t)ip[2] << 8 | ip[3];
		if (size < 34 || f[12] != 8 || f[13] != 0 || ip[0] >> 4 != 4 || ihl < 20 ||
		    tot < ihl || 14 + tot > size || ((ip[6] << 8 | ip[7]) & 0x3fff) != 0 ||
		    !((ip[9] == 6 && tot - ihl >= 20) || (ip[9] == 17 && tot - ihl >= 8)))
			abort();
	}
	free(f);
	return 0;
}
