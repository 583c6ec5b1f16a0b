/* tests/test_netif_gso.c: merging lwIP's TCP segments into GSO frames
 * (net/netif_gso.h). Frames are built here as lwIP sends them (checksum
 * field 0, consecutive IP ids); each merged frame is checked field by
 * field, its checksum completed as a device would (from csum_start, the
 * field holding the pseudo-header sum) and then verified with lwIP's own
 * checksum code, and cut again the way the kernel's GSO does, piece by
 * piece equal to the frames that went in. */
#include <string.h>

#include <linux/virtio_net.h>

#include "lib/bytes.h"
#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "net/netif_gso.h"
#include "tests/csum_check.h"
#include "tests/tap.h"

#define ACK 0x10
#define PSH 0x08
#define FIN 0x01
#define SYN 0x02
#define HDRS 54

static struct netif_gso G;

struct tcp_spec {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window, id, sport;
	uint8_t mac0;
	size_t data;
	uint8_t fill;
};

static struct tcp_spec base(uint32_t seq, size_t data)
{
	return (struct tcp_spec){ .seq = seq, .ack = 777, .flags = ACK, .window = 4000, .id = 100,
				  .sport = 40000, .mac0 = 0x52, .data = data, .fill = (uint8_t)seq };
}

/* An Ethernet + IPv4 + TCP frame as lwIP makes it (TCP checksum 0). */
static size_t tcp_frame(uint8_t *f, const struct tcp_spec *s)
{
	memset(f, 0, HDRS);
	f[0] = s->mac0;
	f[5] = 1;
	f[6] = 0x02;
	f[11] = 2;
	f[12] = 0x08;
	uint8_t *ip = f + 14, *tcp = ip + 20;
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(40 + s->data));
	put_be16(ip + 4, s->id);
	ip[8] = 255;
	ip[9] = 6;
	memcpy(ip + 12, "\x0a\x4d\x00\x02\x0a\x4d\x00\x01", 8);
	ip[10] = ip[11] = 0;
	uint16_t c = inet_chksum(ip, 20);
	memcpy(ip + 10, &c, 2);
	put_be16(tcp, s->sport);
	put_be16(tcp + 2, 8443);
	put_be32(tcp + 4, s->seq);
	put_be32(tcp + 8, s->ack);
	tcp[12] = 0x50;
	tcp[13] = s->flags;
	put_be16(tcp + 14, s->window);
	for (size_t i = 0; i < s->data; i++)
		f[HDRS + i] = (uint8_t)(s->fill + i * 7);
	return HDRS + s->data;
}

/* The TCP checksum of the frame's segment by lwIP's code: 0 when the
 * checksum field is right. */
static uint16_t tcp_verify(const uint8_t *f, size_t len)
{
	return l4_verify(f + 14, 20, len - 34);
}

/* The vnet header's fields. */
struct vnet {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
};

static struct vnet vnet_of(const uint8_t *h)
{
	return (struct vnet){ h[0], h[1], le16(h + 2), le16(h + 4), le16(h + 6), le16(h + 8) };
}

/* Finishes the staged frame into out (its frame, vnet header off). */
static size_t finish(uint8_t *out, struct vnet *v, unsigned *segs)
{
	const uint8_t *o;
	size_t n = netif_gso_finish(&G, &o, segs);

	if (n < NETIF_GSO_VNET)
		return 0;
	*v = vnet_of(o);
	memcpy(out, o + NETIF_GSO_VNET, n - NETIF_GSO_VNET);
	return n - NETIF_GSO_VNET;
}

/* Piece k of a GSO frame, as the kernel's software GSO cuts it:
 * headers copied, sequence number and IP id advanced, PSH and FIN on
 * the last piece only, lengths and both checksums computed. */
static size_t kernel_piece(const uint8_t *g, size_t glen, unsigned mss, unsigned k, uint8_t *out)
{
	size_t payload = glen - HDRS, off = (size_t)k * mss;
	if (off >= payload)
		return 0;
	size_t n = payload - off < mss ? payload - off : mss;
	bool last = off + n == payload;
	memcpy(out, g, HDRS);
	memcpy(out + HDRS, g + HDRS + off, n);
	uint8_t *ip = out + 14, *tcp = ip + 20;
	put_be16(ip + 2, (uint16_t)(40 + n));
	put_be16(ip + 4, (uint16_t)(be16(g + 18) + k));
	ip[10] = ip[11] = 0;
	uint16_t c = inet_chksum(ip, 20);
	memcpy(ip + 10, &c, 2);
	put_be32(tcp + 4, be32(g + 38) + (uint32_t)off);
	if (!last)
		tcp[13] &= (uint8_t)~(PSH | FIN);
	tcp[16] = tcp[17] = 0;
	return HDRS + n;
}

/* The frame as it should arrive: f with its TCP checksum computed. */
static void with_csum(uint8_t *f, size_t len)
{
	f[50] = f[51] = 0;
	uint16_t c = l4_verify(f + 14, 20, len - 34);   /* over a zero field: the checksum */
	memcpy(f + 50, &c, 2);
}

static void test_merge(void)
{
	static uint8_t in[4][1600], out[70000], piece[1600];
	size_t inlen[4];
	struct vnet v;
	unsigned segs;

	netif_gso_init(&G);
	for (int i = 0; i < 4; i++) {
		struct tcp_spec s = base(1000 + (uint32_t)i * 1460, i < 3 ? 1460 : 500);
		s.id = (uint16_t)(100 + i);
		s.flags = i < 3 ? ACK : ACK | PSH;
		inlen[i] = tcp_frame(in[i], &s);
		ok(netif_gso_add(&G, in[i], inlen[i]), "segment %d joins", i);
		ok(netif_gso_ready(&G) == (i == 3), "  ready only after the PSH segment (%d)", i);
	}
	size_t n = finish(out, &v, &segs);
	is_int(segs, 4, "four segments in one frame");
	is_int(n, HDRS + 3 * 1460 + 500, "its length: headers once, all the data");
	is_int(v.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM, "vnet: NEEDS_CSUM");
	is_int(v.gso_type, VIRTIO_NET_HDR_GSO_TCPV4, "vnet: GSO TCPv4");
	is_int(v.gso_size, 1460, "vnet: gso_size the first segment's data");
	is_int(v.hdr_len, HDRS, "vnet: hdr_len the headers");
	is_int(v.csum_start, 34, "vnet: csum_start the TCP header");
	is_int(v.csum_offset, 16, "vnet: csum_offset TCP's checksum field");
	is_int(be16(out + 16), 40 + 3 * 1460 + 500, "IPv4 total length of the whole");
	is_int(inet_chksum(out + 14, 20), 0, "IPv4 header checksum right");
	is_int(out[47], ACK | PSH, "TCP flags: the last segment's");
	bool same = true;
	for (int i = 0; i < 4; i++)
		same &= memcmp(out + HDRS + (size_t)i * 1460, in[i] + HDRS, inlen[i] - HDRS) == 0;
	ok(same, "the data of the four, in order");
	device_csum(out, n, v.csum_start, v.csum_offset);
	is_int(tcp_verify(out, n), 0, "completed as a device would, the checksum verifies");

	/* cut as the kernel's GSO would: the frames lwIP made, with checksums */
	finish(out, &v, &segs);   /* nothing staged now */
	netif_gso_init(&G);
	for (int i = 0; i < 4; i++)
		netif_gso_add(&G, in[i], inlen[i]);
	n = finish(out, &v, &segs);
	for (unsigned k = 0; k < 4; k++) {
		size_t pl = kernel_piece(out, n, v.gso_size, k, piece);
		with_csum(piece, pl);
		with_csum(in[k], inlen[k]);
		ok(pl == inlen[k] && memcmp(piece, in[k], pl) == 0,
		   "kernel piece %u is lwIP's frame %u, byte for byte", k, k);
	}
	is_int(kernel_piece(out, n, v.gso_size, 4, piece), 0, "and there are four");
}

/* Each way a frame must not join a staged one: it is refused, and the
 * staged frame goes alone (no GSO, its checksum still left to the device). */
static void test_refusals(void)
{
	static uint8_t a[1600], b[1600], out[70000];
	struct vnet v;
	unsigned segs;
	struct {
		const char *what;
		struct tcp_spec s;
	} cases[] = {
		{ "a gap in the sequence", base(1000 + 1461, 1460) },
		{ "another acknowledgment", base(2460, 1460) },
		{ "another window", base(2460, 1460) },
		{ "another port", base(2460, 1460) },
		{ "another destination MAC", base(2460, 1460) },
		{ "SYN set", base(2460, 1460) },
		{ "no data", base(2460, 0) },
		{ "more data than the first", base(2460, 1461) },
	};
	cases[1].s.ack = 778;
	cases[2].s.window = 4001;
	cases[3].s.sport = 40001;
	cases[4].s.mac0 = 0x54;
	cases[5].s.flags = ACK | SYN;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tcp_spec first = base(1000, 1460);
		size_t la = tcp_frame(a, &first), lb = tcp_frame(b, &cases[i].s);
		netif_gso_init(&G);
		ok(netif_gso_add(&G, a, la) && !netif_gso_ready(&G), "%s: the first staged, open",
		   cases[i].what);
		ok(!netif_gso_add(&G, b, lb), "  %s: refused", cases[i].what);
		size_t n = finish(out, &v, &segs);
		ok(n == la && segs == 1 && v.gso_type == VIRTIO_NET_HDR_GSO_NONE && v.gso_size == 0 &&
		   v.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM, "  the first goes alone, checksum left to the device");
		device_csum(out, n, v.csum_start, v.csum_offset);
		is_int(tcp_verify(out, n), 0, "  and it verifies once completed");
	}

	/* a short segment ends the frame: the next full one is refused */
	struct tcp_spec s1 = base(1000, 1460), s2 = base(2460, 700), s3 = base(3160, 1460);
	size_t l1 = tcp_frame(a, &s1);
	netif_gso_init(&G);
	netif_gso_add(&G, a, l1);
	size_t l2 = tcp_frame(b, &s2);
	ok(netif_gso_add(&G, b, l2), "a shorter segment joins");
	ok(netif_gso_ready(&G), "  and closes the frame");
	size_t l3 = tcp_frame(b, &s3);
	ok(!netif_gso_add(&G, b, l3), "  the next segment does not join");
	size_t n = finish(out, &v, &segs);
	ok(n == HDRS + 2160 && segs == 2 && v.gso_size == 1460, "  two segments, 1460 then 700");
	device_csum(out, n, v.csum_start, v.csum_offset);
	is_int(tcp_verify(out, n), 0, "  checksum verifies");
}

static void test_other_frames(void)
{
	static uint8_t f[1600], out[70000];
	struct vnet v;
	unsigned segs;

	/* UDP: as lwIP made it, a zero vnet header, ready at once */
	struct tcp_spec s = base(1, 100);
	size_t len = tcp_frame(f, &s);
	f[14 + 9] = 17;
	f[24] = f[25] = 0;
	uint16_t c = inet_chksum(f + 14, 20);
	memcpy(f + 24, &c, 2);
	netif_gso_init(&G);
	ok(netif_gso_add(&G, f, len) && netif_gso_ready(&G), "UDP: staged, ready at once");
	static uint8_t copy[1600];
	memcpy(copy, f, len);
	size_t n = finish(out, &v, &segs);
	ok(n == len && memcmp(out, copy, len) == 0, "  goes unchanged");
	ok(v.flags == 0 && v.gso_type == 0 && v.hdr_len == 0 && v.csum_start == 0,
	   "  with a zero vnet header");

	/* ARP-sized junk shorter than any TCP frame */
	memset(f, 0xab, 42);
	netif_gso_init(&G);
	ok(netif_gso_add(&G, f, 42) && netif_gso_ready(&G), "a 42-byte frame: staged, ready");
	n = finish(out, &v, &segs);
	ok(n == 42 && v.flags == 0, "  goes unchanged");

	/* a pure ACK with Ethernet padding: the padding dropped, checksum to the device */
	s = base(5, 0);
	len = tcp_frame(f, &s);
	memset(f + len, 0, 6);
	netif_gso_init(&G);
	ok(netif_gso_add(&G, f, len + 6) && netif_gso_ready(&G), "a padded pure ACK: ready at once");
	n = finish(out, &v, &segs);
	ok(n == HDRS && v.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && v.gso_type == 0,
	   "  sent without its padding, checksum left to the device");
	device_csum(out, n, v.csum_start, v.csum_offset);
	is_int(tcp_verify(out, n), 0, "  which verifies");

	/* too large for the stage */
	static uint8_t huge[NETIF_GSO_FRAME + 2];
	netif_gso_init(&G);
	ok(!netif_gso_add(&G, huge, sizeof huge), "a frame over 64 KiB is refused on an empty stage");
	const uint8_t *o;
	is_int(netif_gso_finish(&G, &o, &segs), 0, "  nothing staged");
	ok(!netif_gso_add(&G, huge, 13) && !netif_gso_add(&G, huge, 0),
	   "a frame shorter than an Ethernet header is refused");
	is_int(netif_gso_finish(&G, &o, &segs), 0, "  nothing staged");
}

static void test_capacity(void)
{
	static uint8_t f[1600], out[70000];
	struct vnet v;
	unsigned segs;
	int joined = 0;

	netif_gso_init(&G);
	for (int i = 0; i < 60; i++) {
		struct tcp_spec s = base(1u + (uint32_t)i * 1460, 1460);
		size_t len = tcp_frame(f, &s);
		if (!netif_gso_add(&G, f, len))
			break;
		joined++;
		if (netif_gso_ready(&G))
			break;
	}
	is_int(joined, 44, "44 full segments fill one frame (64 KiB)");
	size_t n = finish(out, &v, &segs);
	ok(n - 14 <= 65535 && segs == 44, "  its datagram within 65,535 bytes (%zu)", n - 14);
	device_csum(out, n, v.csum_start, v.csum_offset);
	is_int(tcp_verify(out, n), 0, "  checksum verifies");
}

int main(void)
{
	lwip_init();
	test_merge();
	test_refusals();
	test_other_frames();
	test_capacity();
	return tap_done();
}
