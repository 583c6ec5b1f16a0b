/* net/tcp_refusal.c: see tcp_refusal.h. */
#include "net/tcp_refusal.h"

#include "lib/bytes.h"
#include "net/fakeaddr.h"

#include <errno.h>

#define IPPROTO_TCP_NUM 6
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

int tcp_refusal_parse(const uint8_t *pkt, size_t len, struct tcp_refusal *r)
{
	if (len < 20 || pkt[0] >> 4 != 4)
		return -EINVAL;
	size_t ihl = (size_t)(pkt[0] & 15) * 4;
	/* the TCP header's first 14 bytes (ports, sequence, flags) must be
	 * there, and the packet must say it carries a whole TCP header */
	if (ihl < 20 || len < ihl + 14 || be16(pkt + 2) < ihl + 20)
		return -EINVAL;
	/* TCP; no fragment (MF clear, offset 0) */
	if (pkt[9] != IPPROTO_TCP_NUM || (be16(pkt + 6) & 0x3fff) != 0)
		return -EINVAL;
	uint32_t src = be32(pkt + 12);
	if (!fakeaddr_in_range(src))
		return -EINVAL;
	const uint8_t *t = pkt + ihl;
	unsigned doff = (unsigned)(t[12] >> 4) * 4;
	uint8_t flags = t[13] & (TCP_FIN | TCP_SYN | TCP_RST | TCP_ACK);
	if (doff < 20 || flags != (TCP_RST | TCP_ACK) || be32(t + 4) != 0)
		return -EINVAL;
	if (be16(t) == 0 || be16(t + 2) == 0)
		return -EINVAL;
	r->addr = src;
	r->port = be16(t);
	return 0;
}
