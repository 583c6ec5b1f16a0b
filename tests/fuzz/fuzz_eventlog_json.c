/* tests/fuzz/fuzz_eventlog_json.c: libFuzzer target for the JSON event log
 * reader (dstack's form and dshield's) and the JSON string unescaper. */
#include "crypto/eventlog.h"
#include "crypto/rtmr3.h"
#include "lib/json_tok.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_fn(void *ctx, const struct el_event *ev, const char *name)
{
	unsigned *n = ctx;
	if (ev->rtmr < 0 || ev->rtmr >= EL_NUM_RTMR || !name)
		abort();
	if (ev->type != EV_NO_ACTION && !ev->has_sha384)
		abort();
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 16];
	struct el_replay rp;
	char err[ERRBUF_LEN];
	unsigned n = 0;

	int a = el_json_replay((const char *)data, size, &rp);
	int b = el_json_each((const char *)data, size, check_fn, &n, err);
	/* Replay refuses more (no index check differs), never less. */
	if (a == 0 && (b != 0 || rp.n_events != n))
		abort();
	long u = json_unescape((const char *)data, size, out, sizeof(out));
	if (u >= 0 && ((size_t)u >= sizeof(out) || out[u] != '\0'))
		abort();
	return 0;
}
