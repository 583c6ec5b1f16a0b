/* tests/test_lwip_port.c: netd's lwIP platform functions: clock, random
 * numbers, and the RFC 6528 TCP ISN hook (also that lwIP really uses it). */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/tap.h"

#include "lwip/init.h"
#include "lwip/ip_addr.h"
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
	return tap_done();
}
