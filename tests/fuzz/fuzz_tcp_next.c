/* tests/fuzz/fuzz_tcp_next.c: libFuzzer target for dshield_lwip_tcp_next
 * (net/lwip_port.c), the question the packet driver asks before it hands
 * lwIP a super-frame whole. The input is an IPv4 datagram as the driver
 * read it (its last byte picks the connection's state and moves its
 * rcv_nxt around the segment's sequence number); one pcb with the
 * datagram's 4-tuple (read where a 20-byte header puts it) waits in
 * lwIP's active list. Beyond "no crash or out-of-bounds read": the
 * answer is yes exactly for a whole, unfragmented IPv4 TCP segment with
 * ACK and without SYN or RST, at the pcb's rcv_nxt, in a state that
 * takes data. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "net/lwip_hooks.h"

#include "lwip/init.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;

	if (!inited) {
		lwip_init();
		inited = 1;
	}
	if (size < 41 || size > 4096)
		return 0;
	uint8_t knob = data[size - 1];
	size_t len = size - 1;

	struct tcp_pcb *pcb = tcp_new();
	if (pcb == NULL)
		abort();
	memcpy(&ip_2_ip4(&pcb->remote_ip)->addr, data + 12, 4);
	memcpy(&ip_2_ip4(&pcb->local_ip)->addr, data + 16, 4);
	pcb->remote_port = be16(data + 20);
	pcb->local_port = be16(data + 22);
	u32_t seq = be32(data + 24);
	/* half the time exactly at the segment, else near it */
	pcb->rcv_nxt = (knob & 1) ? seq : seq + (u32_t)(int32_t)((int8_t)knob >> 1);
	pcb->state = (enum tcp_state)((knob >> 4) % (TIME_WAIT + 1));
	TCP_REG_ACTIVE(pcb);

	int got = dshield_lwip_tcp_next(data, len);

	size_t tot = be16(data + 2);
	bool want = data[0] == 0x45 && data[9] == 6 && (be16(data + 6) & 0x3fff) == 0 &&
		    tot >= 40 && tot <= len && (data[33] & 0x16) == 0x10 &&
		    seq == pcb->rcv_nxt && pcb->state >= ESTABLISHED && pcb->state <= FIN_WAIT_2;
	/* a header with options moves the TCP header: then only a yes is
	 * checked, against the fields where that header puts them */
	size_t ihl = (size_t)(data[0] & 0x0f) * 4;
	if (data[0] == 0x45 && got != want)
		abort();
	if (got && (ihl < 20 || (data[0] >> 4) != 4 || ihl + 20 > len || data[9] != 6 ||
		    (data[ihl + 13] & 0x16) != 0x10 || be32(data + ihl + 4) != pcb->rcv_nxt))
		abort();
	pcb->state = CLOSED;
	TCP_RMV_ACTIVE(pcb);
	tcp_free(pcb);
	if (tcp_active_pcbs != NULL)
		abort();
	return 0;
}
