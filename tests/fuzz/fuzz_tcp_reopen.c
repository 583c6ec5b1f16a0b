/* tests/fuzz/fuzz_tcp_reopen.c: libFuzzer target for netd's IPv4 input
 * hook, dshield_lwip_ip4_input (net/lwip_port.c), which ends a TIME_WAIT
 * for a new SYN of its 4-tuple. The input is an IPv4 datagram as lwIP
 * hands it to the hook (its last byte also picks whether the netif checks
 * TCP checksums, and moves the TIME_WAIT pcb's rcv_nxt around the SYN's
 * sequence number); one TIME_WAIT pcb with the datagram's 4-tuple (read
 * where a 20-byte header puts it) waits in lwIP's list. Beyond "no crash
 * or out-of-bounds read": the pcb goes only for a TCP segment whose flags
 * are SYN alone (ECE, CWR, PSH, URG aside) and whose sequence number is
 * past its rcv_nxt; with checksums unchecked, every whole unfragmented
 * such SYN of its 4-tuple does end it; the hook never takes the packet. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "net/lwip_hooks.h"

#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	static struct netif nif;

	if (!inited) {
		lwip_init();
		inited = 1;
	}
	if (size < 41 || size > 1600)
		return 0;
	int8_t knob = (int8_t)data[size - 1];
	NETIF_SET_CHECKSUM_CTRL(&nif, (knob & 1) ? NETIF_CHECKSUM_ENABLE_ALL : NETIF_CHECKSUM_DISABLE_ALL);

	struct tcp_pcb *pcb = tcp_new();
	if (pcb == NULL)
		abort();
	memcpy(&ip_2_ip4(&pcb->remote_ip)->addr, data + 12, 4);
	memcpy(&ip_2_ip4(&pcb->local_ip)->addr, data + 16, 4);
	pcb->remote_port = (u16_t)(data[20] << 8 | data[21]);
	pcb->local_port = (u16_t)(data[22] << 8 | data[23]);
	u32_t seq = be32(data + 24);
	u32_t rcv_nxt = seq + (u32_t)(int32_t)(knob >> 1);
	pcb->rcv_nxt = rcv_nxt;
	pcb->state = TIME_WAIT;
	TCP_REG(&tcp_tw_pcbs, pcb);

	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(size - 1), PBUF_RAM);
	if (p == NULL)
		abort();
	pbuf_take(p, data, (u16_t)(size - 1));
	if (dshield_lwip_ip4_input(p, &nif) != 0)
		abort();                      /* the packet is lwIP's to process */
	pbuf_free(p);

	/* with checksums unchecked, a whole unfragmented SYN of the pcb's
	 * 4-tuple past its rcv_nxt must end it */
	size_t tot = (size_t)data[2] << 8 | data[3];
	bool must = !(knob & 1) && data[0] == 0x45 && data[9] == 6 &&
		    (data[6] & 0x3f) == 0 && data[7] == 0 && tot >= 40 && tot <= size - 1 &&
		    (data[33] & 0x17) == 0x02 && TCP_SEQ_GT(seq, rcv_nxt);
	if (must && tcp_tw_pcbs != NULL)
		abort();
	if (tcp_tw_pcbs == NULL) {            /* removed (pcb is freed): check why it could be */
		size_t ihl = (size_t)(data[0] & 0x0f) * 4;
		const uint8_t *t = data + ihl;
		if (ihl < 20 || ihl + 20 > size - 1 || data[9] != 6 || (t[13] & 0x17) != 0x02 ||
		    !TCP_SEQ_GT(be32(t + 4), rcv_nxt))
			abort();
	} else {
		tcp_abort(tcp_tw_pcbs);       /* ours: TIME_WAIT, removed, no reset */
	}
	if (tcp_tw_pcbs != NULL)
		abort();
	return 0;
}
