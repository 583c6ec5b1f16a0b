/* tests/reset_pkt.h: the kernel's reset of a refused connection, built
 * for tests (net/tcp_refusal.h reads it; tests/test_tcp_refusal.c and
 * tests/test_fn_egress.c feed it). */
#ifndef DSHIELD_TESTS_RESET_PKT_H
#define DSHIELD_TESTS_RESET_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/bytes.h"

/* Into b: the reset the kernel sends from src:sport (host order) to
 * 127.0.0.1:dport for a SYN to a port nothing listens on, with IPv4 and
 * TCP headers of ihl and doff bytes. Its length, ihl + doff. */
static inline size_t reset_pkt(uint8_t *b, uint32_t src, uint16_t sport, uint16_t dport,
			       size_t ihl, size_t doff)
{
	memset(b, 0, ihl + doff);
	b[0] = (uint8_t)(0x40 | ihl / 4);
	put_be16(b + 2, (uint16_t)(ihl + doff));
	b[6] = 0x40;                       /* DF */
	b[8] = 64;
	b[9] = 6;
	put_be32(b + 12, src);
	put_be32(b + 16, 0x7f000001u);
	uint8_t *t = b + ihl;
	put_be16(t, sport);
	put_be16(t + 2, dport);
	put_be32(t + 8, 0x1234abcdu);   /* the SYN's sequence + 1 */
	t[12] = (uint8_t)(doff / 4 << 4);
	t[13] = 0x14;                      /* RST|ACK */
	return ihl + doff;
}

#endif
