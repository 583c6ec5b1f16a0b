/* tests/test_lwip_port.c: netd's lwIP platform functions: clock, random
 * numbers, the RFC 6528 TCP ISN hook (also that lwIP really uses it), the
 * IPv4 input hook that ends a TIME_WAIT for a new SYN, and the question
 * the packet driver asks before it hands lwIP a super-frame whole (and
 * that lwIP does take a segment longer than its MSS in one piece). */
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "tests/tap.h"

#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip_hooks.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static u32_t isn(uint32_t lip, u16_t lport, uint32_t rip, u16_t rport)
{
	ip_addr_t l, r;
	ip_addr_set_ip4_u32_val(l, lip);
	ip_addr_set_ip4_u32_val(r, rip);
	return dshield_lwip_tcp_isn(&l, lport, &r, rport);
}

/* A SYN (or what flags says) from 198.18.1.1:40000 to 198.18.1.2:8080,
 * its checksums right, into b; the datagram's length. */
static size_t segment(uint8_t b[40], u32_t seq, uint8_t flags)
{
	static const uint8_t ip[20] = { 0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0,
					198, 18, 1, 1, 198, 18, 1, 2 };
	memcpy(b, ip, 20);
	memset(b + 20, 0, 20);
	put_be16(b + 20, 40000);
	put_be16(b + 22, 8080);
	put_be32(b + 24, seq);
	b[32] = 5 << 4, b[33] = flags;
	put_be16(b + 34, 64240);          /* window */
	u16_t c = inet_chksum(b, 20);
	memcpy(b + 10, &c, 2);
	ip4_addr_t src, dst;
	memcpy(&src.addr, b + 12, 4);
	memcpy(&dst.addr, b + 16, 4);
	struct pbuf *q = pbuf_alloc(PBUF_RAW, 20, PBUF_RAM);
	pbuf_take(q, b + 20, 20);
	c = ip_chksum_pseudo(q, IP_PROTO_TCP, 20, &src, &dst);
	pbuf_free(q);
	memcpy(b + 36, &c, 2);
	return 40;
}

/* netd's IPv4 input hook: a SYN past a TIME_WAIT's rcv_nxt ends it, and
 * nothing else does. One TIME_WAIT pcb for the 4-tuple each time. */
static void test_timewait_reopen(void)
{
	struct netif nif;
	uint8_t b[40];
	struct {
		const char *what;
		u32_t seq;
		uint8_t flags;
		int tweak;        /* 1: bad TCP checksum, 2: a fragment */
		bool checked, ends;
	} c[] = {
		{ "a SYN past rcv_nxt ends the TIME_WAIT", 5000, 0x02, 0, true, true },
		{ "  and with ECE and CWR set (Linux's ECN SYN)", 5000, 0xc2, 0, true, true },
		{ "  and with its checksum wrong but vouched for by the kernel", 5000, 0x02, 1, false, true },
		{ "a SYN at rcv_nxt (an old duplicate) does not", 1000, 0x02, 0, true, false },
		{ "a SYN before rcv_nxt does not", 999, 0x02, 0, true, false },
		{ "a SYN with its checksum wrong does not", 5000, 0x02, 1, true, false },
		{ "a SYN-ACK does not", 5000, 0x12, 0, true, false },
		{ "a SYN with RST does not", 5000, 0x06, 0, true, false },
		{ "a SYN in a fragment does not", 5000, 0x02, 2, true, false },
	};

	memset(&nif, 0, sizeof nif);
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct tcp_pcb *pcb = tcp_new();
		if (pcb == NULL) {
			ok(0, "tcp_new");
			return;
		}
		ip_addr_set_ip4_u32_val(pcb->local_ip, PP_HTONL(0xc6120102));
		ip_addr_set_ip4_u32_val(pcb->remote_ip, PP_HTONL(0xc6120101));
		pcb->local_port = 8080;
		pcb->remote_port = 40000;
		pcb->rcv_nxt = 1000;
		pcb->state = TIME_WAIT;
		TCP_REG(&tcp_tw_pcbs, pcb);
		size_t n = segment(b, c[i].seq, c[i].flags);
		if (c[i].tweak == 1)
			b[37] ^= 1;
		if (c[i].tweak == 2)
			b[6] |= 0x20;        /* more fragments */
		NETIF_SET_CHECKSUM_CTRL(&nif, c[i].checked ? NETIF_CHECKSUM_ENABLE_ALL : NETIF_CHECKSUM_DISABLE_ALL);
		struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
		pbuf_take(p, b, (u16_t)n);
		int taken = dshield_lwip_ip4_input(p, &nif);
		pbuf_free(p);
		ok(taken == 0 && (tcp_tw_pcbs == NULL) == c[i].ends, "%s", c[i].what);
		if (tcp_tw_pcbs != NULL)
			tcp_abort(tcp_tw_pcbs);
	}
}

/* A pcb for 198.18.1.2:8080 <- 198.18.1.1:40000 (segment()'s 4-tuple)
 * in lwIP's active list, expecting sequence number 1000 next. */
static struct tcp_pcb *active_pcb(enum tcp_state st)
{
	struct tcp_pcb *pcb = tcp_new();

	if (pcb == NULL)
		return NULL;
	ip_addr_set_ip4_u32_val(pcb->local_ip, PP_HTONL(0xc6120102));
	ip_addr_set_ip4_u32_val(pcb->remote_ip, PP_HTONL(0xc6120101));
	pcb->local_port = 8080;
	pcb->remote_port = 40000;
	pcb->rcv_nxt = 1000;
	pcb->snd_nxt = pcb->lastack = pcb->snd_lbb = 5000;
	pcb->snd_wnd = 65535;
	pcb->state = st;
	TCP_REG_ACTIVE(pcb);
	return pcb;
}

/* dshield_lwip_tcp_next: yes only for the next data of a connection that
 * takes data and holds nothing out of order or refused. */
static void test_tcp_next(void)
{
	uint8_t b[40];
	struct {
		const char *what;
		enum tcp_state st;
		u32_t seq;
		uint8_t flags;
		int tweak;      /* 1: ooseq, 2: refused data, 3: other port, 4: fragment, 5: other address */
		int want;
	} c[] = {
		{ "the next data (ACK) of an established connection: whole", ESTABLISHED, 1000, 0x10, 0, 1 },
		{ "  and with PSH and FIN", ESTABLISHED, 1000, 0x19, 0, 1 },
		{ "  and in FIN_WAIT_1", FIN_WAIT_1, 1000, 0x18, 0, 1 },
		{ "  and in FIN_WAIT_2", FIN_WAIT_2, 1000, 0x18, 0, 1 },
		{ "a segment past rcv_nxt (a hole before it): cut", ESTABLISHED, 2460, 0x10, 0, 0 },
		{ "a segment before rcv_nxt (a retransmission): cut", ESTABLISHED, 999, 0x10, 0, 0 },
		{ "with segments queued out of order: cut", ESTABLISHED, 1000, 0x10, 1, 0 },
		{ "with data the application refused: cut", ESTABLISHED, 1000, 0x10, 2, 0 },
		{ "without ACK: cut", ESTABLISHED, 1000, 0x08, 0, 0 },
		{ "with SYN: cut", ESTABLISHED, 1000, 0x12, 0, 0 },
		{ "with RST: cut", ESTABLISHED, 1000, 0x14, 0, 0 },
		{ "in CLOSE_WAIT (no more data after the peer's FIN): cut", CLOSE_WAIT, 1000, 0x10, 0, 0 },
		{ "in SYN_RCVD: cut", SYN_RCVD, 1000, 0x10, 0, 0 },
		{ "for another port: cut", ESTABLISHED, 1000, 0x10, 3, 0 },
		{ "from another address: cut", ESTABLISHED, 1000, 0x10, 5, 0 },
		{ "a fragment: cut", ESTABLISHED, 1000, 0x10, 4, 0 },
	};

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct tcp_pcb *pcb = active_pcb(c[i].st);
		if (pcb == NULL) {
			ok(0, "tcp_new");
			return;
		}
		size_t n = segment(b, c[i].seq, c[i].flags);
		if (c[i].tweak == 1)
			pcb->ooseq = (struct tcp_seg *)b;      /* only compared with NULL */
		if (c[i].tweak == 2)
			pcb->refused_data = (struct pbuf *)b;
		if (c[i].tweak == 3)
			put_be16(b + 20, 40001);
		if (c[i].tweak == 4)
			b[6] |= 0x20;
		if (c[i].tweak == 5)
			b[15] = 9;
		is_int(dshield_lwip_tcp_next(b, n), c[i].want, "%s", c[i].what);
		is_int(dshield_lwip_tcp_next(b, 39), 0, "  (and not when the datagram is not all there)");
		pcb->ooseq = NULL;
		pcb->refused_data = NULL;
		pcb->state = CLOSED;    /* removed without a reset */
		TCP_RMV_ACTIVE(pcb);
		tcp_free(pcb);
	}
	is_int(dshield_lwip_tcp_next(b, sizeof b), 0, "no connection at all: cut");
}

/* --- lwIP takes a segment longer than its MSS whole ---------------------------------- */

static struct pbuf *recvd;
static unsigned nrecv;

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (p == NULL)
		return ERR_OK;
	nrecv++;
	tcp_recved(pcb, p->tot_len);
	if (recvd == NULL)
		recvd = p;
	else
		pbuf_cat(recvd, p);
	return ERR_OK;
}

static err_t drop_output(struct netif *nif, struct pbuf *p, const ip4_addr_t *to)
{
	(void)nif;
	(void)p;
	(void)to;
	return ERR_OK;
}

static err_t nif_init(struct netif *nif)
{
	nif->output = drop_output;
	nif->mtu = 1500;
	return ERR_OK;
}

/* An IPv4 datagram from segment()'s peer with len bytes of payload
 * (byte i is i % 251) at sequence number seq, ACK|PSH, checksums right:
 * flat in dg (as the packet driver reads a super-frame), and copied into
 * a chain of pool buffers (as it hands one to lwIP). */
static uint8_t dg[40 + 20000];

static struct pbuf *super_segment(u32_t seq, size_t len)
{
	segment(dg, seq, 0x18);
	put_be16(dg + 2, (u16_t)(40 + len));
	put_be32(dg + 28, 5000);                  /* acknowledges what was sent */
	memset(dg + 10, 0, 2);
	u16_t sum = inet_chksum(dg, 20);
	memcpy(dg + 10, &sum, 2);
	for (size_t i = 0; i < len; i++)
		dg[40 + i] = (uint8_t)(i % 251);
	memset(dg + 36, 0, 2);
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(20 + len), PBUF_RAM);
	ip4_addr_t src, dst;
	memcpy(&src.addr, dg + 12, 4);
	memcpy(&dst.addr, dg + 16, 4);
	pbuf_take(p, dg + 20, (u16_t)(20 + len));
	sum = ip_chksum_pseudo(p, IP_PROTO_TCP, p->tot_len, &src, &dst);
	pbuf_free(p);
	memcpy(dg + 36, &sum, 2);
	p = pbuf_alloc(PBUF_RAW, (u16_t)(40 + len), PBUF_POOL);
	if (p != NULL)
		pbuf_take(p, dg, (u16_t)(40 + len));
	return p;
}

static void test_super_segment(void)
{
	struct netif nif;
	ip4_addr_t addr, mask, gw;

	IP4_ADDR(&addr, 198, 18, 1, 2);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	ip4_addr_set_zero(&gw);
	if (netif_add(&nif, &addr, &mask, &gw, NULL, nif_init, ip4_input) == NULL) {
		ok(0, "netif_add");
		return;
	}
	netif_set_up(&nif);
	netif_set_link_up(&nif);

	/* in order: one delivery of all 20000 bytes */
	struct tcp_pcb *pcb = active_pcb(ESTABLISHED);
	tcp_recv(pcb, on_recv);
	struct pbuf *p = super_segment(1000, 20000);
	ok(p != NULL && p->next != NULL, "a 20040-byte datagram in a chain of pool buffers");
	ok(dshield_lwip_tcp_next(dg, sizeof dg), "the driver would hand it over whole");
	ip4_input(p, &nif);
	is_int(nrecv, 1, "lwIP delivers it in one piece");
	int same = recvd != NULL && recvd->tot_len == 20000;
	for (u16_t i = 0; same && i < 20000; i++)
		same = pbuf_get_at(recvd, i) == i % 251;
	ok(same, "all 20000 bytes, in order");
	is_int(pcb->rcv_nxt, 21000, "rcv_nxt moved past them");
	if (recvd != NULL)
		pbuf_free(recvd);
	recvd = NULL;
	nrecv = 0;

	/* out of order, the same length: lwIP's out-of-order limits count
	 * pool buffers (8), so it would drop it whole, and the sender could
	 * not learn from SACK what came: why the driver cuts such a frame */
	p = super_segment(21000 + 1460, 20000);
	ok(p != NULL && !dshield_lwip_tcp_next(dg, sizeof dg), "one past a hole: the driver cuts it");
	ip4_input(p, &nif);
	ok(nrecv == 0 && pcb->ooseq == NULL && pcb->rcv_nxt == 21000,
	   "(whole, lwIP would keep none of it out of order)");
	tcp_abort(pcb);
	netif_remove(&nif);
}

int main(void)
{
	lwip_init();

	u32_t a = sys_now();
	sleep_ms(50);
	u32_t b = sys_now();
	ok(b - a >= 45 && b - a < 1000, "sys_now counts milliseconds (%u over a 50 ms sleep)", b - a);

	uint32_t v[256];
	int dup = 0;
	for (int i = 0; i < 256; i++) {
		v[i] = dshield_lwip_rand();
		for (int j = 0; j < i; j++)
			dup += v[i] == v[j];
	}
	ok(dup == 0, "256 random values, no repeats (%d)", dup);

	uint32_t lip = PP_HTONL(0xc6120302), rip = PP_HTONL(0xc6120301);
	u32_t i1 = isn(lip, 8080, rip, 40000);
	sleep_ms(40);
	u32_t i2 = isn(lip, 8080, rip, 40000);
	/* 40 ms at one tick per 4 us: about 10000 */
	ok(i2 - i1 >= 9000 && i2 - i1 < 100000, "same 4-tuple: ISN advances with time (%u)", i2 - i1);

	int far = 0;
	for (u16_t p = 40001; p <= 40010; p++) {
		u32_t d = isn(lip, 8080, rip, p) - isn(lip, 8080, rip, 40000);
		far += d > 1000000 && d < 0xfff00000u;
	}
	ok(far >= 9, "other remote ports: unrelated ISNs (%d of 10)", far);
	u32_t o = isn(lip, 8080, PP_HTONL(0xc6120363), 40000) - isn(lip, 8080, rip, 40000);
	ok(o > 1000000 && o < 0xfff00000u, "other remote address: unrelated ISN");

	/* lwIP calls the hook: tcp_next_iss for a pcb with this 4-tuple lands
	 * next to what the hook gives for it. */
	struct tcp_pcb *pcb = tcp_new();
	ok(pcb != NULL, "tcp_new");
	if (pcb != NULL) {
		ip_addr_set_ip4_u32_val(pcb->local_ip, lip);
		ip_addr_set_ip4_u32_val(pcb->remote_ip, rip);
		pcb->local_port = 8080;
		pcb->remote_port = 40000;
		u32_t h = isn(lip, 8080, rip, 40000);
		u32_t n = tcp_next_iss(pcb);
		ok(n - h < 100000, "lwIP's tcp_next_iss uses the hook (%u apart)", n - h);
		tcp_abort(pcb);
	}
	test_timewait_reopen();
	test_tcp_next();
	test_super_segment();
	return tap_done();
}
