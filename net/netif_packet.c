/* net/netif_packet.c: see netif_packet.h.
 *
 * Receive path: recvmsg() straight into a PBUF_POOL pbuf (one pool buffer
 * holds a whole frame), so a frame is copied once, by the kernel. With
 * PACKET_AUXDATA the kernel also tells us the frame's real length and
 * whether its checksum was left for "hardware" to finish (on veth and
 * virtio links: lwIP's check would drop every TCP segment from a local
 * peer) or verified already; lwIP leaves the TCP/UDP checksum of either
 * unchecked (input, netif_packet_csum_vouched). A frame longer than the
 * MTU (the kernel's receive offloads make them) is read whole into
 * np->big; a TCP one goes to lwIP whole or cut to wire size
 * (rx_oversized says when which).
 *
 * Transmit path: with init's second socket (PACKET_VNET_HDR), frames go
 * through net/netif_gso.h, a window of one connection's segments as one
 * GSO frame; without it, one sendto() per frame on the receiving socket.
 * Either way without an address (chains are flattened) and never blocking
 * (MSG_DONTWAIT): a full queue drops the frame and TCP retransmits, as it
 * would on a real wire.
 */
#include "net/netif_packet.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/if_packet.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/prot/tcp.h"
#include "lwip/snmp.h"
#include "lwip/stats.h"
#include "net/inet_csum.h"
#include "net/ip4_whole.h"
#include "lwip_hooks.h"


/* Logs a drop the first time and then at most every 10 s, with the count,
 * so a flood of bad frames cannot flood the console. */
static uint64_t next_drop_log_ms;

static bool drop_log_due(uint64_t count)
{
	uint64_t now = mono_ms();

	if (count != 1 && now < next_drop_log_ms)
		return false;
	next_drop_log_ms = now + 10000;
	return true;
}

static void drop_log(const char *what, uint64_t count, size_t len)
{
	if (drop_log_due(count))
		dlog("dropped %s frame of %zu bytes (%llu so far)", what, len,
		     (unsigned long long)count);
}

void netif_packet_setup(struct netif_packet *np, int fd, int tx_fd, const uint8_t mac[6])
{
	int on = 1;

	memset(np, 0, sizeof *np);
	np->fd = fd;
	np->tx_fd = tx_fd;
	netif_gso_init(&np->gso);
	memcpy(np->mac, mac, 6);
	/* May be refused by the seccomp filter; init can set it instead, and
	 * the receive path uses the control message whenever it is there. */
	np->auxdata = setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) == 0;
}

/* Errors by which the kernel says it will not take what the vnet socket
 * carries (a device path that refuses GSO frames or partial checksums),
 * as against a full buffer or a link down, which drop a frame as a wire
 * would. */
static bool tx_refusal(int e)
{
	return e != EAGAIN && e != EWOULDBLOCK && e != ENOBUFS && e != ENETDOWN && e != ENXIO;
}

/* One sendto() without an address: the kernel sends on the interface the
 * socket is bound to. netd's seccomp filter allows sendto() only without
 * one (and sendmsg() not on a packet socket), because the kernel would
 * honour any other interface index given here. A full socket buffer or
 * another error drops the frame, as a congested wire would; TCP
 * recovers. frames: the lwIP frames it carries. 0 or -errno; a refusal
 * of the vnet socket's (tx_refusal) is not counted: the caller sends the
 * frame another way. */
static int tx_send(struct netif_packet *np, int fd, const void *buf, size_t len, unsigned frames)
{
	ssize_t n;

	do
		n = sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;
		if (fd == np->tx_fd && tx_refusal(e))
			return -e;
		np->st.tx_drop += frames;
		if (drop_log_due(np->st.tx_drop))
			dlog("packet send: %s (%llu frames dropped so far)", strerror(e),
			     (unsigned long long)np->st.tx_drop);
		return -e;
	}
	np->st.tx_frames += frames;
	np->st.tx_bytes += (uint64_t)n - (fd == np->tx_fd ? NETIF_GSO_VNET : 0);
	np->st.tx_gso += frames > 1;
	return 0;
}

static void tx_piece(void *arg, const uint8_t *frame, size_t len)
{
	struct netif_packet *np = arg;

	tx_send(np, np->fd, frame, len, 1);
}

/* A frame lwIP made for the vnet socket (its TCP checksum not computed,
 * or several segments merged) on the first socket: cut to wire size, its
 * checksums computed; a frame that is not TCP as it is. */
static void tx_cut(struct netif_packet *np, const uint8_t *frame, size_t len)
{
	if (netif_packet_split(frame, len, NETIF_PACKET_MTU, tx_piece, np) < 0)
		(void)tx_send(np, np->fd, frame, len, 1);
}

/* The vnet socket refused frame (its bytes after the vnet header): from
 * now on netd sends as without that socket, frame by frame on the first
 * one with lwIP's TCP checksums on, and frame goes that way too
 * (tx_cut). Slower, nothing lost; logged once. */
static void tx_fall_back(struct netif_packet *np, const uint8_t *frame, size_t len, int e)
{
	dlog("the vnet packet socket refused a frame of %zu bytes (%s): sending frame by frame "
	     "from now on", len, strerror(-e));
	np->tx_fd = -1;
	np->csum_base = NETIF_CHECKSUM_ENABLE_ALL;
	NETIF_SET_CHECKSUM_CTRL(np->netif, np->csum_base);
	tx_cut(np, frame, len);
}

/* The staged frame (net/netif_gso.h) goes out on the vnet socket. */
static void tx_staged(struct netif_packet *np)
{
	const uint8_t *out;
	unsigned segs;
	size_t n = netif_gso_finish(&np->gso, &out, &segs);
	int r = n > 0 ? tx_send(np, np->tx_fd, out, n, segs) : 0;

	if (r < 0 && tx_refusal(-r))
		tx_fall_back(np, out + NETIF_GSO_VNET, n - NETIF_GSO_VNET, r);
}

void netif_packet_flush(struct netif *netif)
{
	if (netif->state != NULL)
		tx_staged(netif->state);
}

static err_t netif_packet_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct netif_packet *np = netif->state;
	uint8_t frame[NETIF_PACKET_MAX_FRAME];
	const void *buf = p->payload;
	size_t len = p->len;

	if (p->next != NULL) {
		/* A chain (rare: TX_SINGLE_PBUF is on): flatten it. */
		if (p->tot_len > sizeof frame) {
			np->st.tx_drop++;
			return ERR_BUF;
		}
		len = pbuf_copy_partial(p, frame, p->tot_len, 0);
		buf = frame;
	}
	if (np->tx_fd < 0) {
		(void)tx_send(np, np->fd, buf, len, 1);
		return ERR_OK;
	}
	if (!netif_gso_add(&np->gso, buf, len)) {
		tx_staged(np);
		if (np->tx_fd < 0) {
			/* it fell back: lwIP made this one for the vnet socket */
			tx_cut(np, buf, len);
			return ERR_OK;
		}
		if (!netif_gso_add(&np->gso, buf, len)) {
			np->st.tx_drop++;
			return ERR_BUF;
		}
	}
	if (netif_gso_ready(&np->gso))
		tx_staged(np);
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
	/* On the vnet socket every TCP frame leaves with its checksum for the
	 * device or the kernel to finish (net/netif_gso.h): lwIP's would be
	 * computed for nothing. */
	np->netif = netif;
	np->csum_base = NETIF_CHECKSUM_ENABLE_ALL;
	if (np->tx_fd >= 0)
		np->csum_base &= (u16_t)~NETIF_CHECKSUM_GEN_TCP;
	NETIF_SET_CHECKSUM_CTRL(netif, np->csum_base);
	return ERR_OK;
}

/* --- checksums ---------------------------------------------------------------- */

int netif_packet_csum_vouched(const uint8_t *frame, size_t len)
{
	if (len < NETIF_PACKET_HDR + 20 || frame[12] != 0x08 || frame[13] != 0x00)
		return 0;                       /* not IPv4 */
	const uint8_t *ip = frame + NETIF_PACKET_HDR;
	size_t ihl;
	return ip4_whole(ip, len - NETIF_PACKET_HDR, 6, 20, &ihl) != 0 ||
	       ip4_whole(ip, len - NETIF_PACKET_HDR, 17, 8, &ihl) != 0;
}

/* Writes the TCP checksum of the segment after IPv4 header ip (ihl bytes,
 * tot the datagram's length, both checked by the caller). */
static void tcp_csum_write(uint8_t *ip, size_t ihl, size_t tot)
{
	uint8_t *tcp = ip + ihl;
	size_t l4len = tot - ihl;

	tcp[16] = tcp[17] = 0;
	csum_put(tcp + 16, csum_add(csum_pseudo4(ip, 6, l4len), tcp, l4len));
}

/* --- cutting super-frames ------------------------------------------------------ */


int netif_packet_split(const uint8_t *frame, size_t len, size_t mtu,
		       netif_packet_emit_fn emit, void *arg)
{
	uint8_t seg[NETIF_PACKET_MAX_FRAME];

	size_t ihl, thl, tot = eth_tcp4(frame, len, &ihl, &thl);
	if (tot == 0 || mtu > NETIF_PACKET_MTU || ihl + thl >= mtu)
		return -EINVAL;
	const uint8_t *ip = frame + NETIF_PACKET_HDR, *tcp = ip + ihl;

	size_t hdrs = NETIF_PACKET_HDR + ihl + thl;
	size_t payload = tot - ihl - thl, mss = mtu - ihl - thl;
	uint32_t seq0 = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 |
			(uint32_t)tcp[6] << 8 | tcp[7];
	uint16_t id0 = (uint16_t)(ip[4] << 8 | ip[5]);
	uint8_t flags = tcp[13];
	int count = 0;
	size_t off = 0;

	do {
		size_t chunk = payload - off < mss ? payload - off : mss;
		bool first = off == 0, last = off + chunk == payload;
		uint8_t *sip = seg + NETIF_PACKET_HDR, *stcp = sip + ihl;
		size_t stot = ihl + thl + chunk;
		uint32_t seq = seq0 + (uint32_t)off;
		uint16_t id = (uint16_t)(id0 + count);

		memcpy(seg, frame, hdrs);
		memcpy(seg + hdrs, frame + hdrs + off, chunk);
		sip[2] = (uint8_t)(stot >> 8);
		sip[3] = (uint8_t)stot;
		sip[4] = (uint8_t)(id >> 8);
		sip[5] = (uint8_t)id;
		csum_ip4_header(sip, ihl);
		stcp[4] = (uint8_t)(seq >> 24);
		stcp[5] = (uint8_t)(seq >> 16);
		stcp[6] = (uint8_t)(seq >> 8);
		stcp[7] = (uint8_t)seq;
		stcp[13] = (uint8_t)(flags & ~((last ? 0 : TCP_FIN | TCP_PSH) |
					       (first ? 0 : TCP_CWR)));
		tcp_csum_write(sip, ihl, stot);
		emit(arg, seg, NETIF_PACKET_HDR + stot);
		count++;
		off += chunk;
	} while (off < payload);
	return count;
}

/* --- receive ------------------------------------------------------------------ */

struct rx_info {
	size_t got;          /* bytes placed in the buffer */
	size_t wire_len;     /* the frame's real length */
	int outgoing;
	int csum_partial;    /* CHECKSUM_PARTIAL: left for "hardware" to finish */
	int csum_valid;      /* the kernel (or the virtio host) verified it */
	int has_aux;         /* a PACKET_AUXDATA control message came along */
};

/* One recvmsg; returns 0, -EAGAIN or another negative errno. */
/* One recvmsg into buf, continuing into more (when not NULL) for frames
 * longer than cap; returns 0, -EAGAIN or another negative errno. */
static int rx_one(struct netif_packet *np, void *buf, size_t cap, void *more,
		  size_t more_cap, struct rx_info *ri)
{
	struct sockaddr_ll sll;
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	struct iovec iov[2] = {
		{ .iov_base = buf, .iov_len = cap },
		{ .iov_base = more, .iov_len = more_cap },
	};
	struct msghdr msg = {
		.msg_name = &sll, .msg_namelen = sizeof sll,
		.msg_iov = iov, .msg_iovlen = more != NULL ? 2 : 1,
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
	if (more == NULL)
		more_cap = 0;
	ri->got = (size_t)n < cap + more_cap ? (size_t)n : cap + more_cap;
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
		ri->csum_valid = (aux.tp_status & TP_STATUS_CSUM_VALID) != 0;
		ri->has_aux = 1;
	}
	return 0;
}


/* Hands p to lwIP; vouched (netif_packet_csum_vouched): without lwIP's
 * TCP and UDP checksum checks, for this frame only. NO_SYS: the frame is
 * processed within the call, so the netif's flags are back before the
 * next one. Summing every byte again found nothing the kernel does not
 * vouch for, and cost netd 4 % of its time in a bulk download, with as
 * much again for completing the partial frames' checksums first, as
 * netd did until 2026-12. */
static err_t input(struct netif *netif, struct pbuf *p, bool vouched)
{
	struct netif_packet *np = netif->state;

	if (!vouched)
		return netif->input(p, netif);
	NETIF_SET_CHECKSUM_CTRL(netif, np->csum_base &
				(u16_t)~(NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP));
	err_t r = netif->input(p, netif);
	NETIF_SET_CHECKSUM_CTRL(netif, np->csum_base);
	return r;
}

/* Hands one frame from a buffer of ours to lwIP (a copy in a pool pbuf). */
static void rx_copy_input(void *arg, const uint8_t *frame, size_t len)
{
	struct netif *netif = arg;
	struct netif_packet *np = netif->state;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);

	if (p == NULL) {
		drop_log("(no pbuf)", ++np->st.rx_nomem, len);
		return;
	}
	pbuf_take(p, frame, (u16_t)len);
	np->st.rx_frames++;
	np->st.rx_bytes += len;
	if (netif->input(p, netif) != ERR_OK) {
		np->st.rx_input_err++;
		pbuf_free(p);
	}
}

/* A whole super-frame is a chain of up to 43 pool buffers that a
 * connection's consumer takes at once (net/egress_proxy.c and
 * net/http_lwip.c hold 8 of them per connection before they refuse or
 * copy, a first chain whatever its length). Chains are made only while
 * at most half the pool is in use, so their buffers stay within that
 * half; past it frames are cut, and every consumer's limits, and the
 * reserves they keep, see wire-sized pieces as before. */
#define WHOLE_POOL_MAX (PBUF_POOL_SIZE / 2)

/* Hands the super-frame in np->big (len bytes) to lwIP whole, in a chain
 * of pool buffers; false when the pool is too full for one (the caller
 * cuts it). */
static bool rx_whole(struct netif *netif, size_t len)
{
	struct netif_packet *np = netif->state;
	size_t need = (len + PBUF_POOL_BUFSIZE - 1) / PBUF_POOL_BUFSIZE;

	if (lwip_stats.memp[MEMP_PBUF_POOL]->used + need > WHOLE_POOL_MAX)
		return false;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	if (p == NULL)
		return false;
	pbuf_take(p, np->big, (u16_t)len);
	if (np->st.rx_whole++ == 0)
		dlog("taking TCP super-frames (%zu bytes) whole: a receive offload "
		     "(GRO/LRO, or the peer's TSO) is on", len);
	np->st.rx_frames++;
	np->st.rx_bytes += len;
	if (input(netif, p, true) != ERR_OK) {
		np->st.rx_input_err++;
		pbuf_free(p);
	}
	return true;
}

/* A frame longer than the MTU. Only the kernel makes these: GRO merging
 * a flow's segments (only those whose checksums were verified), or a local
 * sender's TSO (their checksums left to be computed). A TCP super-frame
 * that is the next data its connection expects goes to lwIP whole: one
 * pass through lwIP, one acknowledgement, one wake-up of the proxy for
 * up to 64 KiB (in a bulk download netd spent 7 % of its time cutting
 * and summing the pieces, and a third in sending the pieces' ACKs and
 * the function's small TLS records). Anything else TCP is cut to wire
 * size, the pieces with freshly computed checksums, so that lwIP's out-
 * of-order queue (whose limits count buffers) and SACK see segments as
 * the wire carried them; anything not TCP is dropped. p holds the
 * frame's first part, np->big the rest. */
static void rx_oversized(struct netif *netif, struct pbuf *p, const struct rx_info *ri)
{
	struct netif_packet *np = netif->state;

	if (ri->got < ri->wire_len) {
		/* Longer than any IPv4 datagram: nothing sane. */
		drop_log("oversized", ++np->st.rx_oversize, ri->wire_len);
		pbuf_free(p);
		return;
	}
	memcpy(np->big, p->payload, NETIF_PACKET_MAX_FRAME);
	pbuf_free(p);
	bool vouched = (ri->csum_partial || ri->csum_valid) &&
		       netif_packet_csum_vouched(np->big, ri->got);
	if (vouched && ri->got <= 0xffff &&
	    dshield_lwip_tcp_next(np->big + NETIF_PACKET_HDR, ri->got - NETIF_PACKET_HDR) &&
	    rx_whole(netif, ri->got))
		return;
	if (netif_packet_split(np->big, ri->got, netif->mtu, rx_copy_input, netif) < 0) {
		drop_log("oversized", ++np->st.rx_oversize, ri->wire_len);
		return;
	}
	if (np->st.rx_split++ == 0)
		dlog("cutting oversized TCP frames (%zu bytes) to the MTU: a receive "
		     "offload (GRO/LRO, or the peer's TSO) is on", ri->wire_len);
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
			r = rx_one(np, np->big, sizeof np->big, NULL, 0, &ri);
			if (r < 0)
				return r == -EAGAIN ? (int)done : r;
			if (!ri.outgoing)
				drop_log("(no pbuf)", ++np->st.rx_nomem, ri.wire_len);
			continue;
		}
		/* A frame longer than a pool buffer continues into big, right
		 * after the room its first part will be copied back to. */
		r = rx_one(np, p->payload, NETIF_PACKET_MAX_FRAME,
			   np->big + NETIF_PACKET_MAX_FRAME,
			   sizeof np->big - NETIF_PACKET_MAX_FRAME, &ri);
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
			rx_oversized(netif, p, &ri);
			continue;
		}
		if (ri.got < NETIF_PACKET_HDR) {
			drop_log("runt", ++np->st.rx_runt, ri.wire_len);
			pbuf_free(p);
			continue;
		}
		bool vouched = (ri.csum_partial || ri.csum_valid) &&
			       netif_packet_csum_vouched(p->payload, ri.got);
		np->st.rx_csum_vouched += vouched;
		pbuf_realloc(p, (u16_t)ri.got);
		np->st.rx_frames++;
		np->st.rx_bytes += ri.got;
		if (input(netif, p, vouched) != ERR_OK) {
			np->st.rx_input_err++;
			pbuf_free(p);
		}
	}
	return (int)done;
}
