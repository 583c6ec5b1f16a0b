/* tests/fuzz/fuzz_tcp_refusal.c: libFuzzer target for the reading of the
 * kernel's resets (net/tcp_refusal.h), what netd reads off a function's
 * lo. Beyond "no crash or out-of-bounds read": a packet it accepts is at
 * least the headers it read, from the fake network, RST|ACK with
 * sequence 0, and what it gives back is that packet's own fields. */
#include "lib/bytes.h"
#include "net/tcp_refusal.h"
#include "proto/netd_sandboxd.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcp_refusal r;

	if (size > SBX_RESETS_SNAP)
		size = SBX_RESETS_SNAP;   /* what the socket's filter keeps */
	/* a copy of exactly size bytes: a read past it is ASan's to see */
	uint8_t *p = malloc(size > 0 ? size : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	if (tcp_refusal_parse(p, size, &r) == 0) {
		size_t ihl = (size_t)(p[0] & 15) * 4;
		const uint8_t *t = p + ihl;
		uint32_t src = be32(p + 12);
		if (ihl < 20 || size < ihl + 14 || p[0] >> 4 != 4 || p[9] != 6 ||
		    (src & SBX_FAKE_MASK) != SBX_FAKE_NET || r.addr != src ||
		    r.port != be16(t) ||
		    r.port == 0 || be16(t + 2) == 0 || (t[13] & 0x17) != 0x14 ||
		    be32(t + 4) != 0)
			abort();
	}
	free(p);
	return 0;
}
