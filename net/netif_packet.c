/* net/netif_packet.c: see netif_packet.h.
 *
 * Receive path: recvmsg() straight into a PBUF_POOL pbuf (one pool buffer
 * holds a whole frame), so a frame is copied once, by the kernel. With
 * PACKET_AUXDATA the kernel also tells us the frame's real length and
 * whether its checksum was left for "hardware" to finish; the latter
 * happens on veth and virtio links and would otherwise make lwIP drop
 * every TCP segment from a local peer.
 *
 * Transmit path: one sendmsg() per frame with an iovec over the pbuf
 * chain; the socket is never blocking (MSG_DONTWAIT): a full queue drops
 * the frame and TCP retransmits, as it would on a real wire.
 */
#include "net/netif_packet.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/if_packet.h>

#include "lib/log.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/snmp.h"

#define TX_IOV_MAX 16

void netif_packet_setup(struct netif_packet *np, int fd, const uint8_t mac[6])
{
	int on = 1;

	memset(np, 0, sizeof *np);
	np->fd = fd;
	memcpy(np->mac, mac, 6);
	/* May be refused by the seccomp filter; init can set it instead, and
	 * the receive path uses the control message whenever it is there. */
	np->auxdata = setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) == 0;
}

static err_t netif_packet_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct netif_packet *np = netif->state;
	struct iovec iov[TX_IOV_MAX];
	uint8_t frame[NETIF_PACKET_MAX_FRAME];
	struct msghdr msg;
	size_t niov = 0;

	memset(&msg, 0, sizeof msg);
	for (struct pbuf *q = p; q != NULL; q = q->next) {
		if (niov == TX_IOV_MAX)
			break;
		iov[niov].iov_base = q->payload;
		iov[niov].iov_len = q->len;
		niov++;
	}
	if (niov == TX_IOV_MAX && p->tot_len > 0) {
		/* A long chain (rare: TX_SINGLE_PBUF is on): flatten it. */
		size_t total = 0;
		for (size_t i = 0; i < niov; i++)
			total += iov[i].iov_len;
		if (total != p->tot_len) {
			if (p->tot_len > sizeof frame) {
				np->st.tx_drop++;
				return ERR_BUF;
			}
			iov[0].iov_base = frame;
			iov[0].iov_len = pbuf_copy_partial(p, frame, p->tot_len, 0);
			niov = 1;
		}
	}
	msg.msg_iov = iov;
	msg.msg_iovlen = niov;

	ssize_t n;
	do
		n = sendmsg(np->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		/* Dropped like on a congested wire; TCP recovers. Logged
		 * first and then every 1024th time. */
		if ((++np->st.tx_drop & 1023) == 1)
			dlog("packet send: %s (%llu frames dropped so far)", strerror(errno),
			     (unsigned long long)np->st.tx_drop);
		return ERR_OK;
	}
	np->st.tx_frames++;
	np->st.tx_bytes += (uint64_t)n;
	return ERR_OK;
}

err_t netif_packet_init(struct netif *netif)
{
	struct netif_packet *np = netif->state;

	netif->name[0] = 'e';
	netif->name[1] = 'n';
	netif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(netif->hwaddr, np->mac, ETH_HWADDR_LEN);
	netif->mtu = NETIF_PACKET_MTU;
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
		       NETIF_FLAG_LINK_UP;
	netif->output = etharp_output;
	netif->linkoutput = netif_packet_linkoutput;
	return ERR_OK;
}

/* --- checksum completion ---------------------------------------------------- */

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

int netif_packet_fix_csum(uint8_t *frame, size_t len)
{
	if (len < NETIF_PACKET_HDR + 20)
		return 0;
	if (frame[12] != 0x08 || frame[13] != 0x00)
		return 0;                       /* not IPv4 */
	uint8_t *ip = frame + NETIF_PACKET_HDR;
	size_t room = len - NETIF_PACKET_HDR;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = (size_t)ip[2] << 8 | ip[3];
	if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || tot > room)
		return -EINVAL;
	if (((ip[6] << 8 | ip[7]) & 0x3fff) != 0)
		return 0;                       /* a fragment: no L4 header here */

	uint8_t proto = ip[9];
	size_t l4len = tot - ihl, csum_off, min_len;
	if (proto == 6) {
		csum_off = 16;
		min_len = 20;
	} else if (proto == 17) {
		csum_off = 6;
		min_len = 8;
	} else {
		return 0;
	}
	if (l4len < min_len)
		return -EINVAL;

	uint8_t *l4 = ip + ihl;
	l4[csum_off] = 0;
	l4[csum_off + 1] = 0;
	uint32_t sum = sum16(0, ip + 12, 8);    /* source and destination */
	sum += proto;
	sum += (uint32_t)l4len;
	sum = sum16(sum, l4, l4len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	if (c == 0 && proto == 17)
		c = 0xffff;                     /* 0 means "no checksum" in UDP */
	l4[csum_off] = (uint8_t)(c >> 8);
	l4[csum_off + 1] = (uint8_t)c;
	return 1;
}

/* --- receive ------------------------------------------------------------------ */

struct rx_info {
	size_t got;          /* bytes placed in the buffer */
	size_t wire_len;     /* the frame's real length */
	int outgoing;
	int csum_partial;
	int has_aux;         /* a PACKET_AUXDATA control message came along */
};

/* One recvmsg; returns 0, -EAGAIN or another negative errno. */
static int rx_one(struct netif_packet *np, void *buf, size_t cap, struct rx_info *ri)
{
	struct sockaddr_ll sll;
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_name = &sll, .msg_namelen = sizeof sll,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf,
	};
	ssize_t n;

	do
		n = recvmsg(np->fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;

	memset(ri, 0, sizeof *ri);
	ri->wire_len = (size_t)n;           /* MSG_TRUNC: the full length */
	ri->got = (size_t)n < cap ? (size_t)n : cap;
	ri->outgoing = msg.msg_namelen >= sizeof sll && sll.sll_pkttype == PACKET_OUTGOING;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
		    c->cmsg_len < CMSG_LEN(sizeof(struct tpacket_auxdata)))
			continue;
		struct tpacket_auxdata aux;
		memcpy(&aux, CMSG_DATA(c), sizeof aux);
		if (aux.tp_len > ri->wire_len)
			ri->wire_len = aux.tp_len;
		ri->csum_partial = (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0;
		ri->has_aux = 1;
	}
	return 0;
}

static void drop_log(const char *what, uint64_t count, size_t len)
{
	/* First one and then every 1024th, so a flood cannot flood the log. */
	if ((count & 1023) == 1)
		dlog("dropped %s frame of %zu bytes (%llu so far)", what, len,
		     (unsigned long long)count);
}

int netif_packet_poll(struct netif *netif, unsigned budget)
{
	struct netif_packet *np = netif->state;
	unsigned done;

	for (done = 0; done < budget; done++) {
		struct pbuf *p = pbuf_alloc(PBUF_RAW, NETIF_PACKET_MAX_FRAME, PBUF_POOL);
		struct rx_info ri;
		int r;

		if (p != NULL && p->next != NULL) {
			/* Pool buffers smaller than a frame: configuration error. */
			pbuf_free(p);
			p = NULL;
		}
		if (p == NULL) {
			/* Still read the frame: leaving it queued would wake the
			 * level-triggered loop again at once, a busy spin. */
			r = rx_one(np, np->scratch, sizeof np->scratch, &ri);
			if (r < 0)
				return r == -EAGAIN ? (int)done : r;
			if (!ri.outgoing)
				drop_log("(no pbuf)", ++np->st.rx_nomem, ri.wire_len);
			continue;
		}
		r = rx_one(np, p->payload, NETIF_PACKET_MAX_FRAME, &ri);
		if (r < 0) {
			pbuf_free(p);
			return r == -EAGAIN ? (int)done : r;
		}
		if (!np->aux_checked) {
			np->aux_checked = 1;
			if (!ri.has_aux)
				dlog("packet socket without PACKET_AUXDATA: frames whose checksum "
				     "the kernel left to offload will fail lwIP's check");
		}
		if (ri.outgoing) {
			np->st.rx_outgoing++;
			pbuf_free(p);
			continue;
		}
		if (ri.wire_len > NETIF_PACKET_MAX_FRAME) {
			drop_log("oversized", ++np->st.rx_oversize, ri.wire_len);
			pbuf_free(p);
			continue;
		}
		if (ri.got < NETIF_PACKET_HDR) {
			drop_log("runt", ++np->st.rx_runt, ri.wire_len);
			pbuf_free(p);
			continue;
		}
		if (ri.csum_partial && netif_packet_fix_csum(p->payload, ri.got) > 0)
			np->st.rx_csum_fixed++;
		pbuf_realloc(p, (u16_t)ri.got);
		np->st.rx_frames++;
		np->st.rx_bytes += ri.got;
		if (netif->input(p, netif) != ERR_OK) {
			np->st.rx_input_err++;
			pbuf_free(p);
		}
	}
	return (int)done;
}
