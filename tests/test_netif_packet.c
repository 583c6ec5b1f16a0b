/* tests/test_netif_packet.c: the AF_PACKET netif driver.
 *
 * A SOCK_DGRAM socketpair stands in for the packet socket (both keep
 * datagram boundaries, which is all the driver relies on besides the
 * optional sockaddr_ll and auxdata). lwIP's own checksum code is the
 * oracle for the checksums netif_packet_split writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "net/netif_packet.h"
#include "tests/csum_check.h"
#include "tests/tap.h"

#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

/* --- frames -------------------------------------------------------------------- */

static size_t make_ipv4(uint8_t *f, uint8_t proto, const uint8_t *l4, size_t l4len)
{
	static const uint8_t eth[14] = {
		0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,
	};
	memcpy(f, eth, sizeof eth);
	uint8_t *ip = f + 14;
	size_t tot = 20 + l4len;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = 0x40;                       /* DF */
	ip[8] = 64;
	ip[9] = proto;
	ip[12] = 198; ip[13] = 18; ip[14] = 3; ip[15] = 1;
	ip[16] = 198; ip[17] = 18; ip[18] = 3; ip[19] = 17;
	memcpy(ip + 20, l4, l4len);
	return 14 + tot;
}

/* lwIP's verdict on the L4 checksum of frame f (an IPv4 header of 20
 * bytes): 0 when it is right. */
static u16_t lwip_verify(const uint8_t *f, size_t len)
{
	(void)len;
	return l4_verify(f + 14, 20, (((size_t)f[16] << 8) | f[17]) - 20);
}

static void test_vouched(void)
{
	uint8_t f[1600], seg[1480];
	size_t len;

	/* TCP: a segment with 3 bytes of payload, its checksum holding only a
	 * pseudo-header sum as CHECKSUM_PARTIAL leaves it: lwIP's check would
	 * fail it, so only the kernel's word lets it in. */
	memset(seg, 0, 20);
	seg[0] = 0x1f; seg[1] = 0x90;                      /* 8080 */
	seg[2] = 0xc3; seg[3] = 0x50;
	seg[12] = 0x50; seg[13] = 0x18;                    /* PSH|ACK */
	seg[14] = 0xff; seg[15] = 0xff;
	seg[16] = 0x12; seg[17] = 0x34;
	memcpy(seg + 20, "GET", 3);
	len = make_ipv4(f, 6, seg, 23);
	ok(lwip_verify(f, len) != 0, "tcp: the partial checksum does not verify");
	is_int(netif_packet_csum_vouched(f, len), 1, "tcp: the kernel's word suffices");

	/* Padding after the IP datagram (short frames on a real wire). */
	uint8_t padded[80];
	memset(padded, 0xee, sizeof padded);
	make_ipv4(padded, 6, seg, 23);
	is_int(netif_packet_csum_vouched(padded, sizeof padded), 1, "tcp with Ethernet padding");

	/* UDP (DNS-sized). */
	memset(seg, 0xa5, 200);
	len = make_ipv4(f, 17, seg, 200);
	is_int(netif_packet_csum_vouched(f, len), 1, "udp");

	/* lwIP checks the rest: not IPv4, ICMP, fragments. */
	len = make_ipv4(f, 6, seg, 20);
	f[12] = 0x86; f[13] = 0xdd;
	is_int(netif_packet_csum_vouched(f, len), 0, "IPv6 ethertype");
	len = make_ipv4(f, 1, seg, 20);
	is_int(netif_packet_csum_vouched(f, len), 0, "ICMP");
	len = make_ipv4(f, 17, seg, 20);
	f[14 + 6] = 0x20;                       /* MF */
	is_int(netif_packet_csum_vouched(f, len), 0, "a first fragment (MF)");
	len = make_ipv4(f, 6, seg, 20);
	f[14 + 6] = 0x00; f[14 + 7] = 0x10;     /* offset 128 bytes */
	is_int(netif_packet_csum_vouched(f, len), 0, "a later fragment (an offset)");

	/* Malformed headers. */
	len = make_ipv4(f, 6, seg, 20);
	f[14] = 0x44;
	is_int(netif_packet_csum_vouched(f, len), 0, "IHL below 5");
	len = make_ipv4(f, 6, seg, 20);
	is_int(netif_packet_csum_vouched(f, len - 1), 0, "total length beyond the frame");
	len = make_ipv4(f, 6, seg, 20);
	f[14 + 2] = 0; f[14 + 3] = 16;
	is_int(netif_packet_csum_vouched(f, len), 0, "total length below the header's");
	len = make_ipv4(f, 6, seg, 12);
	is_int(netif_packet_csum_vouched(f, len), 0, "TCP segment shorter than its header");
	len = make_ipv4(f, 17, seg, 7);
	is_int(netif_packet_csum_vouched(f, len), 0, "UDP shorter than its header");
	is_int(netif_packet_csum_vouched(f, 20), 0, "frame shorter than Ethernet + IPv4");
	len = make_ipv4(f, 6, seg, 20);
	f[14] = 0x65;
	is_int(netif_packet_csum_vouched(f, len), 0, "IP version 6 in an IPv4 frame");
}

/* --- cutting super-frames ------------------------------------------------------------ */

struct pieces {
	unsigned n;
	size_t len[64];
	uint8_t data[64][1514];
};

static void collect(void *arg, const uint8_t *frame, size_t len)
{
	struct pieces *pc = arg;
	if (pc->n < 64 && len <= sizeof pc->data[0]) {
		memcpy(pc->data[pc->n], frame, len);
		pc->len[pc->n] = len;
	}
	pc->n++;
}

/* A TCP super-frame: 12 bytes of options (timestamps), payload bytes i%251. */
static size_t make_super(uint8_t *f, size_t payload, uint8_t flags)
{
	static uint8_t seg[65536];
	memset(seg, 0, 32);
	seg[0] = 0xc3; seg[1] = 0x50; seg[2] = 0x1f; seg[3] = 0x90;
	seg[4] = 0xff; seg[5] = 0xff; seg[6] = 0xfa; seg[7] = 0x00;   /* seq wraps */
	seg[8] = 0; seg[9] = 0; seg[10] = 0x10; seg[11] = 0;
	seg[12] = 0x80;                                             /* doff 8 */
	seg[13] = flags;
	seg[14] = 0x01; seg[15] = 0xf5;
	seg[20] = 1; seg[21] = 1; seg[22] = 8; seg[23] = 10;        /* NOP NOP TS */
	for (size_t i = 0; i < payload; i++)
		seg[32 + i] = (uint8_t)(i % 251);
	size_t len = make_ipv4(f, 6, seg, 32 + payload);
	f[14 + 4] = 0xab; f[14 + 5] = 0xff;                          /* IP id wraps */
	return len;
}

static void test_split(void)
{
	static uint8_t f[70000];
	static struct pieces pc;
	uint8_t flags = 0x80 | 0x10 | 0x08 | 0x01;   /* CWR ACK PSH FIN */
	size_t len = make_super(f, 5000, flags);

	memset(&pc, 0, sizeof pc);
	is_int(netif_packet_split(f, len, 1500, collect, &pc), 4, "5000 bytes in 1448-byte pieces: 4");
	is_int(pc.n, 4, "four frames emitted");
	int lens_ok = 1, csum_ok = 1, seq_ok = 1, id_ok = 1, data_ok = 1;
	size_t off = 0;
	for (unsigned i = 0; i < pc.n && i < 64; i++) {
		const uint8_t *ip = pc.data[i] + 14, *tcp = ip + 20;
		size_t tot = (size_t)ip[2] << 8 | ip[3];
		size_t chunk = tot - 20 - 32;
		lens_ok &= pc.len[i] == 14 + tot && tot <= 1500 && (i == 3 || tot == 1500);
		csum_ok &= inet_chksum(ip, 20) == 0 && lwip_verify(pc.data[i], pc.len[i]) == 0;
		seq_ok &= be32(tcp + 4) == 0xfffffa00u + (uint32_t)off;
		id_ok &= (uint16_t)(ip[4] << 8 | ip[5]) == (uint16_t)(0xabff + i);
		for (size_t k = 0; k < chunk; k++)
			data_ok &= tcp[32 + k] == (uint8_t)((off + k) % 251);
		data_ok &= memcmp(tcp + 20, f + 14 + 20 + 20, 12) == 0;   /* options kept */
		off += chunk;
	}
	ok(lens_ok, "full-MTU pieces, the last one shorter");
	ok(csum_ok, "IP header and TCP checksums verify with lwIP");
	ok(seq_ok, "sequence numbers advance by the bytes before (across the wrap)");
	ok(id_ok, "IP id increments per piece");
	ok(data_ok && off == 5000, "payload and options reassemble exactly");
	ok(pc.data[0][14 + 20 + 13] == (0x80 | 0x10), "first piece: CWR ACK, no PSH/FIN");
	ok(pc.data[1][14 + 20 + 13] == 0x10, "middle piece: ACK only");
	ok(pc.data[3][14 + 20 + 13] == (0x10 | 0x08 | 0x01), "last piece: ACK PSH FIN");

	memset(&pc, 0, sizeof pc);
	len = make_super(f, 2 * 1448, 0x18);
	is_int(netif_packet_split(f, len, 1500, collect, &pc), 2, "exact multiple: 2 pieces");
	len = make_super(f, 65535 - 20 - 32, 0x18);
	memset(&pc, 0, sizeof pc);
	is_int(netif_packet_split(f, len, 1500, collect, &pc), 46, "a 64 KiB datagram: 46 pieces");
	memset(&pc, 0, sizeof pc);
	len = make_super(f, 0, 0x11);
	is_int(netif_packet_split(f, len, 1500, collect, &pc), 1, "no payload: one piece");

	len = make_super(f, 3000, 0x18);
	f[14 + 9] = 17;
	is_int(netif_packet_split(f, len, 1500, collect, &pc), -EINVAL, "UDP: refused");
	len = make_super(f, 3000, 0x18);
	f[14 + 7] = 1;
	is_int(netif_packet_split(f, len, 1500, collect, &pc), -EINVAL, "fragment: refused");
	len = make_super(f, 3000, 0x18);
	is_int(netif_packet_split(f, len - 1, 1500, collect, &pc), -EINVAL, "IP length beyond the frame");
	len = make_super(f, 3000, 0x18);
	f[14 + 20 + 12] = 0x40;
	is_int(netif_packet_split(f, len, 1500, collect, &pc), -EINVAL, "TCP header below 20 bytes");
	len = make_super(f, 3000, 0x18);
	f[14 + 20 + 12] = 0xf0;
	f[14 + 2] = 0; f[14 + 3] = 70;
	is_int(netif_packet_split(f, len, 1500, collect, &pc), -EINVAL, "TCP header beyond the datagram");
	len = make_super(f, 3000, 0x18);
	is_int(netif_packet_split(f, len, 52, collect, &pc), -EINVAL, "MTU with no room for payload");
	is_int(netif_packet_split(f, len, 9000, collect, &pc), -EINVAL, "MTU above the driver's");
	f[12] = 0x86;
	is_int(netif_packet_split(f, len, 1500, collect, &pc), -EINVAL, "not IPv4");
}

/* --- the driver over a socketpair ---------------------------------------------------- */

static struct pbuf *got[16];
static unsigned ngot;

static u16_t flags_at_input;   /* the netif's checksum flags lwIP saw */

static err_t capture_input(struct pbuf *p, struct netif *netif)
{
	flags_at_input = netif->chksum_flags;
	if (ngot == 16)
		return ERR_MEM;   /* the driver frees it */
	got[ngot++] = p;
	return ERR_OK;
}

static void free_got(void)
{
	for (unsigned i = 0; i < ngot; i++)
		pbuf_free(got[i]);
	ngot = 0;
}

static void test_driver(void)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	static struct netif_packet np;
	struct netif nif;
	int sv[2];
	uint8_t buf[2000];

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) {
		ok(0, "socketpair: %s", strerror(errno));
		return;
	}
	netif_packet_setup(&np, sv[0], -1, mac);
	ok(!np.auxdata, "PACKET_AUXDATA is refused on a non-packet socket");
	ok(netif_add(&nif, NULL, NULL, NULL, &np, netif_packet_init, capture_input) != NULL,
	   "netif_add with the packet driver");
	is_mem(nif.hwaddr, mac, 6, "hwaddr comes from the configured MAC");
	is_int(nif.mtu, 1500, "mtu 1500");
	ok((nif.flags & (NETIF_FLAG_ETHARP | NETIF_FLAG_BROADCAST | NETIF_FLAG_LINK_UP)) ==
	   (NETIF_FLAG_ETHARP | NETIF_FLAG_BROADCAST | NETIF_FLAG_LINK_UP), "flags");

	is_int(netif_packet_poll(&nif, 8), 0, "nothing to read: 0 frames");

	/* runt, oversized, then three good frames */
	memset(buf, 0x5a, sizeof buf);
	ok(write(sv[1], buf, 10) == 10, "send a runt");
	ok(write(sv[1], buf, 1600) == 1600, "send an oversized frame");
	for (int i = 0; i < 3; i++) {
		buf[0] = (uint8_t)i;
		ok(write(sv[1], buf, 60 + (size_t)i) == 60 + i, "send frame %d", i);
	}
	is_int(netif_packet_poll(&nif, 3), 3, "budget 3: three datagrams read");
	is_int(np.st.rx_runt, 1, "runt counted");
	is_int(np.st.rx_oversize, 1, "oversized non-TCP frame dropped and counted");
	is_int(ngot, 1, "one frame delivered so far");
	is_int(netif_packet_poll(&nif, 100), 2, "the rest: two frames, then EAGAIN");
	is_int(ngot, 3, "three frames delivered in all");
	int sizes_ok = ngot == 3;
	for (unsigned i = 0; i < ngot && sizes_ok; i++)
		sizes_ok = got[i]->tot_len == 60 + i && ((uint8_t *)got[i]->payload)[0] == i &&
			   got[i]->next == NULL;
	ok(sizes_ok, "frames arrive whole, in order, in one pbuf each");
	is_int(np.st.rx_frames, 3, "rx_frames");
	is_int(np.st.rx_bytes, 60 + 61 + 62, "rx_bytes");
	/* no auxdata, so no word from the kernel: lwIP checks every checksum */
	is_int(flags_at_input, NETIF_CHECKSUM_ENABLE_ALL, "without the kernel's word lwIP checks all");
	is_int(np.st.rx_csum_vouched, 0, "none vouched");
	free_got();

	/* lwIP refusing a frame: the driver frees it and counts. */
	for (unsigned i = 0; i < 16; i++)
		got[i] = pbuf_alloc(PBUF_RAW, 1, PBUF_RAM);
	ngot = 16;
	ok(write(sv[1], buf, 60) == 60, "send a frame lwIP will refuse");
	is_int(netif_packet_poll(&nif, 4), 1, "refused frame read");
	is_int(np.st.rx_input_err, 1, "input error counted");
	free_got();

	/* A TCP super-frame is cut, each piece handed to lwIP. */
	static uint8_t sf[4200];
	size_t sflen = make_super(sf, 4000, 0x18);
	ok(write(sv[1], sf, sflen) == (ssize_t)sflen, "send a %zu-byte TCP super-frame", sflen);
	is_int(netif_packet_poll(&nif, 4), 1, "super-frame read");
	is_int(np.st.rx_split, 1, "rx_split counted");
	is_int(ngot, 3, "three wire-sized frames delivered");
	int pieces_ok = ngot == 3;
	for (unsigned i = 0; i < ngot && pieces_ok; i++)
		pieces_ok = got[i]->tot_len <= 1514 && got[i]->next == NULL;
	ok(pieces_ok, "each in one pbuf, at most 1514 bytes");
	free_got();

	/* Pool exhausted: the frame is still read (no busy loop), and dropped. */
	static struct pbuf *hog[8192];
	unsigned nhog = 0;
	while (nhog < 8192 && (hog[nhog] = pbuf_alloc(PBUF_RAW, 1500, PBUF_POOL)) != NULL)
		nhog++;
	ok(nhog > 0 && nhog < 8192, "drained the pbuf pool (%u buffers)", nhog);
	ok(write(sv[1], buf, 60) == 60, "send a frame with no pbuf to take it");
	is_int(netif_packet_poll(&nif, 4), 1, "frame consumed without a pbuf");
	is_int(np.st.rx_nomem, 1, "rx_nomem counted");
	ok(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN,
	   "socket left empty");
	while (nhog > 0)
		pbuf_free(hog[--nhog]);

	/* Transmit: a three-pbuf chain goes out as one frame. */
	struct pbuf *a = pbuf_alloc(PBUF_RAW, 14, PBUF_RAM);
	struct pbuf *b = pbuf_alloc(PBUF_RAW, 20, PBUF_RAM);
	struct pbuf *c = pbuf_alloc(PBUF_RAW, 26, PBUF_RAM);
	uint8_t want[60];
	for (int i = 0; i < 60; i++)
		want[i] = (uint8_t)(i * 7);
	pbuf_take(a, want, 14);
	pbuf_take(b, want + 14, 20);
	pbuf_take(c, want + 34, 26);
	pbuf_cat(a, b);
	pbuf_cat(a, c);
	is_int(nif.linkoutput(&nif, a), ERR_OK, "linkoutput of a chain");
	ssize_t n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	is_int(n, 60, "one 60-byte frame on the wire");
	is_mem(buf, want, 60, "bytes in order");
	pbuf_free(a);

	/* A chain longer than the iovec: flattened. */
	struct pbuf *head = NULL;
	for (int i = 0; i < 20; i++) {
		struct pbuf *q = pbuf_alloc(PBUF_RAW, 3, PBUF_RAM);
		uint8_t v[3] = { (uint8_t)i, (uint8_t)i, (uint8_t)i };
		pbuf_take(q, v, 3);
		if (head == NULL)
			head = q;
		else
			pbuf_cat(head, q);
	}
	is_int(nif.linkoutput(&nif, head), ERR_OK, "linkoutput of a 20-pbuf chain");
	n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	is_int(n, 60, "flattened into one 60-byte frame");
	ok(buf[0] == 0 && buf[3] == 1 && buf[57] == 19 && buf[59] == 19, "flattened bytes in order");
	pbuf_free(head);
	is_int(np.st.tx_frames, 2, "tx_frames");
	is_int(np.st.tx_bytes, 120, "tx_bytes");

	/* Peer gone: the frame is dropped and counted, not an error for lwIP. */
	close(sv[1]);
	a = pbuf_alloc(PBUF_RAW, 60, PBUF_RAM);
	pbuf_take(a, want, 60);
	is_int(nif.linkoutput(&nif, a), ERR_OK, "send to a closed peer: dropped quietly");
	is_int(np.st.tx_drop, 1, "tx_drop counted");
	pbuf_free(a);

	netif_remove(&nif);
	close(sv[0]);
}

/* Sends frame f through nif's linkoutput (a pbuf copy of it). */
static err_t link_out(struct netif *nif, const uint8_t *f, size_t len)
{
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
	pbuf_take(p, f, (u16_t)len);
	err_t r = nif->linkoutput(nif, p);
	pbuf_free(p);
	return r;
}

/* With a sending (vnet) socket: a refusal other than a full buffer or a
 * link down makes the driver send as without it, the refused frame cut
 * to wire size with its checksums; a full buffer only drops the frame. */
static void test_tx_fallback(void)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x66 };
	static struct netif_packet np;
	static uint8_t a[1600], b[1600], buf[2000];
	struct netif nif;
	int sv[2], tx[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, tx) != 0) {
		ok(0, "socketpairs: %s", strerror(errno));
		return;
	}
	close(tx[1]);                       /* its sends: ECONNREFUSED, a refusal */
	netif_packet_setup(&np, sv[0], tx[0], mac);
	ok(netif_add(&nif, NULL, NULL, NULL, &np, netif_packet_init, capture_input) != NULL,
	   "netif_add with a sending socket");
	is_int(nif.chksum_flags, NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_GEN_TCP,
	       "  lwIP computes no TCP checksums for it");
	/* two segments of one connection, 1000 bytes each, the second with PSH */
	size_t la = make_super(a, 1000, 0x10), lb = make_super(b, 1000, 0x18);
	b[14 + 20 + 6] = 0xfd;              /* its seq: 0xfffffa00 + 1000 */
	b[14 + 20 + 7] = 0xe8;
	is_int(link_out(&nif, a, la), ERR_OK, "first segment staged");
	is_int(link_out(&nif, b, lb), ERR_OK, "second joins, the frame goes: refused");
	is_int(np.tx_fd, -1, "  the driver stops using the sending socket");
	is_int(nif.chksum_flags, NETIF_CHECKSUM_ENABLE_ALL, "  lwIP computes TCP checksums again");
	size_t data = 0;
	int pieces = 0, good = 1;
	ssize_t n;
	while ((n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)) > 0) {
		pieces++;
		good &= n <= 1514 && lwip_verify(buf, (size_t)n) == 0;
		data += (size_t)n - 14 - 20 - 32;
	}
	ok(pieces == 2 && good && data == 2000,
	   "  the refused frame went on the first socket cut to wire size, checksums right "
	   "(%d pieces, %zu bytes of data)", pieces, data);
	is_int(np.st.tx_drop, 0, "  nothing dropped");
	is_int(link_out(&nif, a, la), ERR_OK, "a frame after it");
	n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
	ok(n == (ssize_t)la && memcmp(buf, a, la) == 0, "  goes as lwIP made it on the first socket");
	netif_remove(&nif);
	close(sv[0]);
	close(sv[1]);
	close(tx[0]);

	/* a full buffer: dropped, counted, the sending socket kept */
	static struct netif_packet np2;
	struct netif nif2;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, tx) != 0) {
		ok(0, "socketpairs: %s", strerror(errno));
		return;
	}
	fcntl(tx[0], F_SETFL, O_NONBLOCK);
	while (send(tx[0], buf, 1000, MSG_DONTWAIT) > 0)
		;
	netif_packet_setup(&np2, sv[0], tx[0], mac);
	netif_add(&nif2, NULL, NULL, NULL, &np2, netif_packet_init, capture_input);
	uint8_t ack[66];
	memcpy(ack, a, sizeof ack);
	ack[16] = 0;
	ack[17] = 52;                       /* IPv4 20 + TCP 32: no data */
	is_int(link_out(&nif2, ack, sizeof ack), ERR_OK, "a pure ACK to a full sending socket");
	ok(np2.st.tx_drop == 1 && np2.tx_fd == tx[0], "  dropped and counted, the socket kept");
	netif_remove(&nif2);
	close(sv[0]);
	close(sv[1]);
	close(tx[0]);
	close(tx[1]);
}

int main(void)
{
	lwip_init();
	test_vouched();
	test_split();
	test_driver();
	test_tx_fallback();
	return tap_done();
}
