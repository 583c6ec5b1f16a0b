/* tests/test_lwip_port.c: netd's lwIP platform functions: clock, random
 * numbers, the RFC 6528 TCP ISN hook (also that lwIP really uses it), and
 * the IPv4 input hook that ends a TIME_WAIT for a new SYN. */
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "tests/tap.h"

#include "lwip/inet_chksum.h"
#include "lwip/init.h"
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
	return tap_done();
}
