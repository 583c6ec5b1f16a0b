/* tests/test_tcp_refusal.c: the strict reading of the kernel's reset of a
 * refused connection (net/tcp_refusal.h): the reset a SYN gets, every
 * field that makes a packet something else, and every truncation. The
 * kernel's own resets, read off a function's lo through sandboxd's
 * filter, are checked in tests/test_sandboxd.c and tests/host/11-egress.t. */
#include "net/tcp_refusal.h"
#include "proto/netd_sandboxd.h"
#include "tap.h"
#include "tests/reset_pkt.h"

#include <errno.h>
#include <string.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static int parse(const uint8_t *b, size_t n)
{
	struct tcp_refusal r;

	return tcp_refusal_parse(b, n, &r);
}

static void test_good(void)
{
	uint8_t b[SBX_RESETS_SNAP];
	struct tcp_refusal r;
	size_t n = reset_pkt(b, IP(127, 64, 0, 1), 9, 40000, 20, 20);

	memset(&r, 0, sizeof r);
	ok(tcp_refusal_parse(b, n, &r) == 0 && r.addr == IP(127, 64, 0, 1) && r.port == 9, "the kernel's reset of a SYN to 127.64.0.1:9");
	n = reset_pkt(b, IP(127, 127, 255, 254), 65535, 1, 60, 60);
	ok(tcp_refusal_parse(b, n, &r) == 0 && r.addr == IP(127, 127, 255, 254) &&
	   r.port == 65535, "the longest headers, the last address of the /10");
	ok(parse(b, 60 + 14) == 0, "  cut after the TCP flags: still read");
	ok(parse(b, 60 + 13) == -EINVAL, "  one byte less: refused");
	n = reset_pkt(b, IP(127, 64, 0, 1), 443, 5000, 20, 20);
	b[20 + 13] |= 0x08 | 0x20 | 0x80;   /* PSH, URG, CWR */
	is_int(parse(b, n), 0, "PSH, URG and CWR do not matter");
}

static void test_truncated(void)
{
	uint8_t b[SBX_RESETS_SNAP];
	size_t n = reset_pkt(b, IP(127, 64, 1, 1), 80, 33000, 24, 20);
	int bad = 0;

	for (size_t k = 0; k < 24 + 14; k++)
		bad += parse(b, k) != -EINVAL;
	is_int(bad, 0, "every cut before the TCP flags: refused");
	is_int(parse(b, n), 0, "  and the whole: read");
	is_int(parse(NULL, 0), -EINVAL, "nothing: refused");
}

/* b with one change, parsed */
static int mutated(size_t off, uint8_t and_mask, uint8_t or_bits)
{
	uint8_t b[SBX_RESETS_SNAP];
	size_t n = reset_pkt(b, IP(127, 64, 0, 7), 443, 50000, 20, 20);

	b[off] = (uint8_t)((b[off] & and_mask) | or_bits);
	return parse(b, n);
}

static void test_other_packets(void)
{
	is_int(mutated(0, 0x0f, 0x60), -EINVAL, "IPv6's version: refused");
	is_int(mutated(0, 0xf0, 0x04), -EINVAL, "a header length of 16: refused");
	is_int(mutated(9, 0, 17), -EINVAL, "UDP: refused");
	is_int(mutated(6, 0xff, 0x20), -EINVAL, "more fragments: refused");
	is_int(mutated(7, 0, 1), -EINVAL, "a fragment's offset: refused");
	is_int(mutated(3, 0, 39), -EINVAL, "a total length short of the TCP header: refused");
	is_int(mutated(12, 0, 10), -EINVAL, "from 10.64.0.7: refused");
	is_int(mutated(13, 0, 63), -EINVAL, "from 127.63.0.7: refused");
	is_int(mutated(13, 0, 128), -EINVAL, "from 127.128.0.7: refused");
	is_int(mutated(20 + 12, 0, 0x40), -EINVAL, "a TCP header length of 16: refused");
	is_int(mutated(20 + 13, 0, 0x04), -EINVAL, "RST without ACK (an abort, not an answer): refused");
	is_int(mutated(20 + 13, 0, 0x12), -EINVAL, "SYN|ACK: refused");
	is_int(mutated(20 + 13, 0, 0x10), -EINVAL, "a bare ACK: refused");
	is_int(mutated(20 + 13, 0, 0x15), -EINVAL, "RST|ACK|FIN: refused");
	is_int(mutated(20 + 13, 0, 0x16), -EINVAL, "RST|ACK|SYN: refused");
	is_int(mutated(20 + 7, 0, 1), -EINVAL, "a sequence number other than 0 (a connection's reset): refused");
	is_int(mutated(20 + 4, 0, 0x80), -EINVAL, "  in its top byte too");
	uint8_t b[SBX_RESETS_SNAP];
	size_t n = reset_pkt(b, IP(127, 64, 0, 7), 0, 50000, 20, 20);
	is_int(parse(b, n), -EINVAL, "from port 0: refused");
	n = reset_pkt(b, IP(127, 64, 0, 7), 443, 0, 20, 20);
	is_int(parse(b, n), -EINVAL, "to port 0: refused");
}

int main(void)
{
	test_good();
	test_truncated();
	test_other_packets();
	return tap_done();
}
