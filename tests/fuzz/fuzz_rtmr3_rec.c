/* tests/fuzz/fuzz_rtmr3_rec.c: libFuzzer target for the binary record form
 * of the RTMR3 event log (crypto/rtmr3.h): keyd's saved log and the events
 * netd receives with a quote.
 *
 * Checks that rtmr3_rec_next stays inside the input and moves forward,
 * that rtmr3_log_decode and rtmr3_records_json agree with that walk, that
 * a decoded log encodes back to exactly the input bytes, that the JSON
 * of the records is the JSON of the decoded log and replays to its RTMR3,
 * and that each record's JSON is exactly rtmr3_rec_json_len() long (netd
 * streams the attestation document with the length it computes so). */
#include "crypto/eventlog.h"
#include "crypto/rtmr3.h"
#include "lib/jsonw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks every record; returns the walk's end (0 or -EBADMSG) and the
 * number of records read. */
static int walk(const uint8_t *data, size_t size, unsigned *count)
{
	struct rtmr3_rec rec;
	size_t off = 0, prev;
	int r;

	*count = 0;
	for (;;) {
		prev = off;
		r = rtmr3_rec_next(data, size, &off, &rec);
		if (r <= 0) {
			if ((r != 0 && r != -EBADMSG) || off != prev || (r == 0) != (off == size))
				abort();
			return r;
		}
		if (r != 1 || off <= prev || off > size)
			abort();
		if (rec.name != (const char *)data + prev + 1 ||
		    !rtmr3_name_valid(rec.name, rec.name_len) ||
		    rec.payload_len > RTMR3_PAYLOAD_MAX ||
		    rec.payload != data + prev + 3 + rec.name_len ||
		    rec.payload + rec.payload_len != data + off)
			abort();
		/* netd announces a streamed document's length from this */
		char one[RTMR3_JSON_EVENT_MAX];
		struct jsonw w;
		jw_init(&w, one, sizeof one);
		rtmr3_rec_json(&w, &rec);
		if (jw_finish(&w) != (long)rtmr3_rec_json_len(&rec))
			abort();
		(*count)++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rtmr3_log log;
	static uint8_t enc[RTMR3_LOG_MAX * RTMR3_REC_MAX];
	static char js[1 << 16], js2[1 << 16];
	static struct el_replay rp;
	struct jsonw w;
	unsigned count;
	int end = walk(data, size, &count), d, j;
	long jn, jn2, en;

	d = rtmr3_log_decode(&log, data, size);
	if (count > RTMR3_LOG_MAX) {
		if (d != -ENOSPC)
			abort();
	} else if (size > RTMR3_LOG_BYTES_MAX) {
		/* the byte bound, unless a bad record comes before it */
		if (d != -ENOSPC && d != end)
			abort();
	} else if (d != end || (d == 0 && log.n != count)) {
		abort();
	}

	jw_init(&w, js, sizeof js);
	j = rtmr3_records_json(&w, data, size);
	jn = jw_finish(&w);
	if (j != end || (jn < 0 && jn != -ENOSPC))
		abort();

	if (d != 0)
		return 0;
	en = rtmr3_log_encode(&log, enc, sizeof enc);
	if (en < 0 || (size_t)en != size || memcmp(enc, data, size) != 0)
		abort();
	jn2 = rtmr3_log_json(&log, js2, sizeof js2);
	if (jn != jn2 || (jn >= 0 && memcmp(js, js2, (size_t)jn) != 0))
		abort();
	if (jn >= 0) {
		if (el_json_replay(js, (size_t)jn, &rp) != 0 ||
		    memcmp(rp.rtmr[3], log.rtmr3, RTMR3_DIGEST_LEN) != 0 ||
		    rp.n_measured[3] != log.n)
			abort();
	}
	return 0;
}
