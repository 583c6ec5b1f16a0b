/* tests/fuzz/fuzz_netif_gso.c: libFuzzer target for the GSO merging of
 * lwIP's frames (net/netif_gso.h), driven as net/netif_packet.c drives
 * it. The input is a list of operations: a raw frame (any bytes, for the
 * parser), or the flow's next segment built from a few bytes (length,
 * flags, a header field changed), so that merges happen. Beyond "no
 * crash or out-of-bounds access", for every frame finished:
 *   - it stands for exactly the frames added since the last one;
 *   - a merged frame's data is theirs, in order, its IPv4 header
 *     checksum verifies, its vnet header's offsets lie within it, and
 *     a GSO frame holds more data than one segment;
 *   - a frame left to the device for its checksum, completed as a device
 *     does, verifies with lwIP's own checksum code. */
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "lib/bytes.h"
#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "net/netif_gso.h"
#include "tests/csum_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct netif_gso G;
static uint8_t expect[NETIF_GSO_FRAME];   /* the data of the TCP frames added */
static size_t expect_len;
static unsigned added;
static bool all_tcp;

static size_t tcp_data(const uint8_t *f, size_t len, size_t *off)
{
	if (len < 54 || f[12] != 8 || f[13] != 0 || f[14] >> 4 != 4)
		return 0;
	size_t ihl = (size_t)(f[14] & 15) * 4, tot = be16(f + 16);
	if (ihl < 20 || f[23] != 6 || tot > len - 14 || tot < ihl + 20 || (be16(f + 20) & 0x3fff))
		return 0;
	size_t thl = (size_t)(f[14 + ihl + 12] >> 4) * 4;
	if (thl < 20 || ihl + thl > tot)
		return 0;
	*off = 14 + ihl + thl;
	return tot - ihl - thl;
}

static void check_finished(void)
{
	static uint8_t out[NETIF_GSO_FRAME];
	const uint8_t *o;
	unsigned segs;
	size_t n = netif_gso_finish(&G, &o, &segs);

	if (n == 0) {
		if (added != 0)
			abort();
		return;
	}
	if (n < NETIF_GSO_VNET || segs != added || segs == 0)
		abort();
	size_t len = n - NETIF_GSO_VNET;
	memcpy(out, o + NETIF_GSO_VNET, len);
	uint8_t flags = o[0], type = o[1];
	size_t hdr_len = le16(o + 2), gso_size = le16(o + 4), start = le16(o + 6), coff = le16(o + 8);
	if (segs > 1) {
		size_t off, d = tcp_data(out, len, &off);
		if (!all_tcp || type != VIRTIO_NET_HDR_GSO_TCPV4 || d != expect_len ||
		    memcmp(out + off, expect, d) != 0 || gso_size == 0 || d <= gso_size ||
		    hdr_len != off || inet_chksum(out + 14, (u16_t)(start - 14)) != 0)
			abort();
	} else if (type != VIRTIO_NET_HDR_GSO_NONE) {
		abort();
	}
	if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (coff != 16 || start < 34 || start + 20 > len || hdr_len > len)
			abort();
		device_csum(out, len, start, coff);
		if (l4_verify(out + 14, start - 14, len - start) != 0)
			abort();
	} else if (flags != 0 || hdr_len != 0 || start != 0) {
		abort();
	}
	added = 0;
	expect_len = 0;
	all_tcp = true;
}

/* One frame through the engine, as netif_packet_linkoutput does. */
static void send_frame(const uint8_t *f, size_t len)
{
	/* an exact-size heap copy, so ASan sees any overread */
	uint8_t *c = malloc(len ? len : 1);
	if (c == NULL)
		return;
	memcpy(c, f, len);
	if (!netif_gso_add(&G, c, len)) {
		check_finished();
		if (!netif_gso_add(&G, c, len)) {
			free(c);
			return;
		}
	}
	added++;
	size_t off = 0, d = tcp_data(c, len, &off);
	if (d == 0)
		all_tcp = false;   /* no TCP data: must not be part of a merged frame */
	if (expect_len + d <= sizeof expect) {
		memcpy(expect + expect_len, c + off, d);
		expect_len += d;
	}
	free(c);
	if (netif_gso_ready(&G))
		check_finished();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	static uint8_t f[1600];
	uint32_t seq = 1000;

	if (!inited) {
		lwip_init();
		inited = 1;
	}
	netif_gso_init(&G);
	added = 0;
	expect_len = 0;
	all_tcp = true;
	while (size >= 4) {
		uint8_t op = data[0];
		size_t n = be16(data + 1) % 1600;
		if (op & 1) {
			/* a raw frame of n bytes */
			data += 3;
			size -= 3;
			n = n < size ? n : size;
			send_frame(data, n);
			data += n;
			size -= n;
			continue;
		}
		/* the flow's next segment: n bytes of data, flags from data[3],
		 * and (op bit 1) one header byte replaced */
		size_t dl = n % 1461;
		memset(f, 0, 54);
		f[0] = 0x52;
		f[12] = 8;
		f[14] = 0x45;
		put_be16(f + 16, (uint16_t)(40 + dl));
		f[22] = 255;
		f[23] = 6;
		memcpy(f + 26, "\x0a\x4d\x00\x02\x0a\x4d\x00\x01", 8);
		put_be16(f + 34, 40000);
		put_be16(f + 36, 8443);
		put_be32(f + 38, seq);
		put_be32(f + 42, 777);
		f[46] = 0x50;
		f[47] = (uint8_t)(0x10 | (data[3] & 0x09 ? data[3] & 0x0b : 0));
		put_be16(f + 48, 4000);
		if ((op & 2) && size >= 6) {
			f[data[4] % 54] = data[5];
			data += 2;
			size -= 2;
		}
		uint16_t c = inet_chksum(f + 14, 20);
		memcpy(f + 24, &c, 2);
		for (size_t i = 0; i < dl; i++)
			f[54 + i] = (uint8_t)(seq + i);
		seq += (uint32_t)dl;
		send_frame(f, 54 + dl);
		data += 4;
		size -= 4;
	}
	check_finished();
	return 0;
}
