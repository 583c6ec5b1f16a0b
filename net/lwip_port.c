/* net/lwip_port.c: the platform functions lwIP needs in netd.
 *
 * NO_SYS=1: lwIP asks only for a millisecond clock, random numbers and a
 * way to report. Everything else (timers, locking) is netd's event loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <bearssl.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lwip/arch.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"
#include "lwip/sys.h"
#include "lwip_hooks.h"
#include "net/ip4_whole.h"

u32_t sys_now(void)
{
	/* CLOCK_MONOTONIC never jumps; lwIP only takes differences, so the
	 * 32-bit wrap after 49 days is harmless. */
	return (u32_t)mono_ms();
}

/* Fills buf from the kernel's CSPRNG or aborts: predictable ports, ids
 * or ISN keys would let an off-path attacker spoof or inject, so there is
 * no fallback. Early in boot getrandom() waits until the kernel's pool is
 * seeded (on TDX, RDSEED makes that immediate; under QEMU TCG without a
 * virtio-rng it can take a second), which is logged. */
static void fill_random(void *buf, size_t len)
{
	uint64_t t0 = mono_ms();
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom((uint8_t *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			dlog("getrandom failed: %s", strerror(n < 0 ? errno : EIO));
			abort();
		}
		got += (size_t)n;
	}
	uint64_t waited = mono_ms() - t0;
	if (waited >= 100)
		dlog("getrandom waited %llu ms for the kernel's random pool",
		     (unsigned long long)waited);
}

/* lwIP draws a value for every ephemeral port, DHCP xid and DNS query id
 * and source port; one getrandom call per 64 values keeps syscalls off
 * the connection path. */
static uint32_t rand_buf[64];
static size_t rand_left;

uint32_t dshield_lwip_rand(void)
{
	if (rand_left == 0) {
		fill_random(rand_buf, sizeof rand_buf);
		rand_left = sizeof rand_buf / sizeof rand_buf[0];
	}
	uint32_t v = rand_buf[--rand_left];
	rand_buf[rand_left] = 0;
	return v;
}

/* RFC 6528: ISN = M + F(local address and port, remote address and port,
 * secret), M a 4 µs clock, F the first 32 bits of SHA-256 over a 256-bit
 * key drawn once per netd process and the 4-tuple. Sequence numbers of
 * one 4-tuple still advance with time (no reuse within a TIME_WAIT), but
 * cannot be guessed from another connection's. */
u32_t dshield_lwip_tcp_isn(const ip_addr_t *local_ip, u16_t local_port,
			   const ip_addr_t *remote_ip, u16_t remote_port)
{
	static uint8_t key[32];
	static int have_key;
	br_sha256_context h;
	uint8_t tuple[12], d[32];
	uint32_t la = ip4_addr_get_u32(ip_2_ip4(local_ip));
	uint32_t ra = ip4_addr_get_u32(ip_2_ip4(remote_ip));

	if (!have_key) {
		fill_random(key, sizeof key);
		have_key = 1;
	}
	memcpy(tuple, &la, 4);               /* network order, as on the wire */
	tuple[4] = (uint8_t)(local_port >> 8);
	tuple[5] = (uint8_t)local_port;
	memcpy(tuple + 6, &ra, 4);
	tuple[10] = (uint8_t)(remote_port >> 8);
	tuple[11] = (uint8_t)remote_port;
	br_sha256_init(&h);
	br_sha256_update(&h, key, sizeof key);
	br_sha256_update(&h, tuple, sizeof tuple);
	br_sha256_out(&h, d);

	uint64_t m = mono_us() / 4u;
	uint32_t f = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	return (u32_t)(m + f);
}

/* The pcb in list whose 4-tuple is that of the TCP segment in the IPv4
 * datagram at ip (its header ihl bytes, ip4_whole checked), or NULL. */
static struct tcp_pcb *pcb_of(struct tcp_pcb *list, const uint8_t *ip, size_t ihl)
{
	const uint8_t *t = ip + ihl;
	u16_t sport = be16(t), dport = be16(t + 2);
	ip4_addr_t src, dst;

	memcpy(&src.addr, ip + 12, 4);
	memcpy(&dst.addr, ip + 16, 4);
	for (struct tcp_pcb *pcb = list; pcb != NULL; pcb = pcb->next)
		if (pcb->local_port == dport && pcb->remote_port == sport &&
		    ip4_addr_eq(ip_2_ip4(&pcb->remote_ip), &src) &&
		    ip4_addr_eq(ip_2_ip4(&pcb->local_ip), &dst))
			return pcb;
	return NULL;
}

/* RFC 1122 4.2.2.13 (and RFC 6191): a SYN for a connection lwIP holds in
 * TIME_WAIT, with a sequence number past the old connection's, opens a
 * new connection. lwIP answers such a SYN with an ACK of the old one, the
 * client resets that and resends its SYN, and so on until the TIME_WAIT
 * ends (2 MSL, 2 minutes): a client whose port came round again (Linux
 * picks a port of a connection it closed passively at once; a NAT may)
 * could not reach netd's API for that long. Seen in test_netd_veth: a
 * connect from a port used before in the run timed out. So the hook
 * drops that TIME_WAIT pcb and lets the SYN go on to the listener, as
 * Linux does. Called by ip4_input before it checked anything: every
 * bound here is ours. The checksum is checked unless the kernel vouched
 * for it (netif_packet.c), so that only the peer's own SYN can end it. */
int dshield_lwip_ip4_input(struct pbuf *p, struct netif *inp)
{
	const uint8_t *b = p->payload;
	size_t ihl;
	size_t tot = ip4_whole(b, p->len, IP_PROTO_TCP, TCP_HLEN, &ihl);

	if (tot == 0)
		return 0;                               /* not TCP, a fragment, or not whole here */
	const uint8_t *t = b + ihl;
	if ((t[13] & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN)
		return 0;
	struct tcp_pcb *pcb = pcb_of(tcp_tw_pcbs, b, ihl);
	if (pcb == NULL || !TCP_SEQ_GT(be32(t + 4), pcb->rcv_nxt))
		return 0;                               /* none, or an old duplicate: lwIP's answer */
	IF__NETIF_CHECKSUM_ENABLED(inp, NETIF_CHECKSUM_CHECK_TCP) {
		struct pbuf seg = *p;                   /* the TCP segment, for the sum */
		ip4_addr_t src, dst;
		memcpy(&src.addr, b + 12, 4);
		memcpy(&dst.addr, b + 16, 4);
		seg.next = NULL;
		seg.payload = (uint8_t *)p->payload + ihl;
		seg.len = seg.tot_len = (u16_t)(tot - ihl);
		if (ip_chksum_pseudo(&seg, IP_PROTO_TCP, seg.tot_len, &src, &dst) != 0)
			return 0;
	}
	tcp_abort(pcb);                                 /* TIME_WAIT: removed, no reset */
	return 0;
}

/* Whether a super-frame may go to lwIP whole (lwip_hooks.h). lwIP moves
 * the connection a segment finds to the front of its list, so for a
 * download's next segment the walk ends at the first pcb. The states
 * are those in which lwIP still takes data (ESTABLISHED, FIN_WAIT_1,
 * FIN_WAIT_2): a segment for any other goes the usual way. */
int dshield_lwip_tcp_next(const uint8_t *ip, size_t len)
{
	size_t ihl;

	if (ip4_whole(ip, len, IP_PROTO_TCP, TCP_HLEN, &ihl) == 0)
		return 0;
	const uint8_t *t = ip + ihl;
	if ((t[13] & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_ACK)
		return 0;
	const struct tcp_pcb *pcb = pcb_of(tcp_active_pcbs, ip, ihl);
	return pcb != NULL && pcb->state >= ESTABLISHED && pcb->state <= FIN_WAIT_2 &&
	       be32(t + 4) == pcb->rcv_nxt && pcb->ooseq == NULL && pcb->refused_data == NULL;
}

void dshield_lwip_diag(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* lwIP's messages carry their own newline; dlog adds one. */
	size_t len = strnlen(msg, sizeof msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	if (len > 0)
		dlog("lwip: %s", msg);
}

void dshield_lwip_assert(const char *msg, const char *file, int line)
{
	dlog("lwip assertion failed: %s (%s:%d)", msg, file, line);
	abort();
}
