/* tests/fuzz/fuzz_ccel.c: libFuzzer target for the CCEL reader and replay.
 * Beyond "no crash": every event's data span lies inside the input, offsets
 * only grow, and the reader and ccel_replay agree on success. */
#include "crypto/eventlog.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ccel_reader r;
	struct el_event ev;
	struct el_replay rp;
	size_t last = 0;
	int rc;

	int replay = ccel_replay(data, size, &rp);
	if (ccel_open(&r, data, size) < 0) {
		if (replay == 0)
			abort();
		return 0;
	}
	unsigned n = 0;
	while ((rc = ccel_next(&r, &ev)) > 0) {
		if (ev.data < data || ev.data_len > size ||
		    (size_t)(ev.data - data) > size - ev.data_len)
			abort();
		if (n > 0 && ev.offset < last)
			abort();
		last = ev.offset;
		if (ev.rtmr >= EL_NUM_RTMR)
			abort();
		n++;
	}
	/* A clean read can still fail replay (an index naming no RTMR), but a
	 * failed read must fail replay. */
	if (rc < 0 && replay == 0)
		abort();
	if (replay == 0 && rp.n_events != n)
		abort();
	return 0;
}
