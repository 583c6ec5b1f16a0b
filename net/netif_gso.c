/* net/netif_gso.c: see netif_gso.h. */
#include "net/netif_gso.h"

#include <string.h>

#include <linux/virtio_net.h>

#include "lib/bytes.h"
#include "lwip/prot/tcp.h"
#include "net/inet_csum.h"
#include "net/ip4_whole.h"

#define ETH_LEN 14

/* Where an IPv4 TCP frame's parts are. */
struct tcp_view {
	size_t l4;        /* TCP header offset */
	size_t payload;   /* data offset */
	size_t data;      /* data bytes */
	size_t end;       /* the datagram's end (Ethernet padding after it) */
	uint32_t seq;
	uint8_t flags;
};

/* Whether f[0..len) is an IPv4 TCP frame whose headers hold together
 * (eth_tcp4): true with v. */
static bool tcp_frame(const uint8_t *f, size_t len, struct tcp_view *v)
{
	size_t ihl, thl, tot = eth_tcp4(f, len, &ihl, &thl);

	if (tot == 0)
		return false;
	v->l4 = ETH_LEN + ihl;
	v->payload = v->l4 + thl;
	v->data = tot - ihl - thl;
	v->end = ETH_LEN + tot;
	v->seq = be32(f + v->l4 + 4);
	v->flags = f[v->l4 + 13];
	return true;
}

void netif_gso_init(struct netif_gso *g)
{
	g->len = 0;
	g->segs = 0;
	g->open = false;
}

/* Whether the segment v of frame f continues the staged frame: the next
 * sequence number, its data at most the staged segments' size, only ACK
 * (PSH, FIN may end it), and every other header field the same as the
 * staged one's (the kernel copies the first segment's headers to all). */
static bool joins(const struct netif_gso *g, const uint8_t *f, const struct tcp_view *v)
{
	const uint8_t *s = g->buf + NETIF_GSO_VNET;
	const uint8_t *sip = s + ETH_LEN, *fip = f + ETH_LEN;
	const uint8_t *st = s + g->l4, *ft = f + v->l4;

	if (!g->open || v->data == 0 || v->data > g->mss || v->l4 != g->l4 ||
	    v->payload != g->payload || g->len + v->data > NETIF_GSO_FRAME ||
	    (v->flags & ~(TCP_PSH | TCP_FIN)) != TCP_ACK || v->seq != g->next_seq)
		return false;
	return memcmp(s, f, ETH_LEN) == 0 &&                       /* addresses, type */
	       sip[0] == fip[0] && sip[1] == fip[1] &&             /* header length, TOS */
	       memcmp(sip + 6, fip + 6, 4) == 0 &&                 /* fragment bits, TTL, protocol */
	       memcmp(sip + 12, fip + 12, g->l4 - ETH_LEN - 12) == 0 &&   /* addresses, options */
	       memcmp(st, ft, 4) == 0 &&                           /* ports */
	       memcmp(st + 8, ft + 8, 5) == 0 &&                   /* acknowledgment, header length */
	       memcmp(st + 14, ft + 14, 2) == 0 &&                 /* window */
	       memcmp(st + 18, ft + 18, g->payload - g->l4 - 18) == 0;    /* urgent pointer, options */
}

bool netif_gso_add(struct netif_gso *g, const uint8_t *frame, size_t len)
{
	struct tcp_view v;
	bool tcp = tcp_frame(frame, len, &v);
	uint8_t *s = g->buf + NETIF_GSO_VNET;

	if (g->len > 0) {
		if (!tcp || !joins(g, frame, &v))
			return false;
		memcpy(s + g->len, frame + v.payload, v.data);
		g->len += v.data;
		g->segs++;
		g->next_seq += (uint32_t)v.data;
		s[g->l4 + 13] = v.flags;          /* PSH, FIN: the last segment's */
		if (v.data < g->mss || v.flags != TCP_ACK)
			g->open = false;
		return true;
	}
	if (len < ETH_LEN || len > NETIF_GSO_FRAME)
		return false;
	size_t n = tcp ? v.end : len;         /* TCP: without Ethernet padding */
	memcpy(s, frame, n);
	g->len = n;
	g->segs = 1;
	g->tcp = tcp;
	g->open = false;
	if (tcp) {
		g->l4 = v.l4;
		g->payload = v.payload;
		g->next_seq = v.seq + (uint32_t)v.data;
		g->mss = (uint16_t)v.data;
		g->open = v.data > 0 && v.flags == TCP_ACK;
	}
	return true;
}

bool netif_gso_ready(const struct netif_gso *g)
{
	return g->len > 0 && (!g->open || g->len + g->mss > NETIF_GSO_FRAME);
}

size_t netif_gso_finish(struct netif_gso *g, const uint8_t **out, unsigned *segs)
{
	uint8_t *h = g->buf, *f = g->buf + NETIF_GSO_VNET;

	if (g->len == 0)
		return 0;
	memset(h, 0, NETIF_GSO_VNET);
	if (g->tcp) {
		uint8_t *ip = f + ETH_LEN;
		size_t tot = g->len - ETH_LEN, ihl = g->l4 - ETH_LEN;
		put_be16(ip + 2, (uint16_t)tot);
		csum_ip4_header(ip, ihl);
		/* the device (or the kernel) sums from csum_start over the
		 * segment, this field included, and writes the complement */
		put_be16(f + g->l4 + 16, csum_fold(csum_pseudo4(ip, 6, tot - ihl)));
		h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h[1] = g->segs > 1 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_NONE;
		put_le16(h + 2, (uint16_t)g->payload);           /* hdr_len */
		put_le16(h + 4, g->segs > 1 ? g->mss : 0);       /* gso_size */
		put_le16(h + 6, (uint16_t)g->l4);                /* csum_start */
		put_le16(h + 8, 16);                             /* csum_offset */
	}
	*out = g->buf;
	*segs = g->segs;
	size_t n = NETIF_GSO_VNET + g->len;
	netif_gso_init(g);
	return n;
}
