/* cli/log_fetch.h: fetches a log served over HTTP in the C2SP tlog-tiles
 * layout (<URL>/checkpoint, <URL>/tile/...) into a directory of the same
 * layout, which `dshield log verify` then checks as it checks a saved one
 * (docs/LOG.md, docs/VERIFY.md). Nothing fetched is trusted here: sizes
 * are bounded by what each file may hold, and the verifier does the rest.
 */
#ifndef DSHIELD_CLI_LOG_FETCH_H
#define DSHIELD_CLI_LOG_FETCH_H

#include <stdint.h>

#include "cli/http_client.h"

struct log_fetch_stats {
	uint64_t size;               /* the checkpoint's tree size */
	uint64_t files, bytes;       /* fetched and written */
	char failed[64];             /* the path of the fetch that failed, or "" */
};

/* Fetches the checkpoint from u, then every tile (all levels, the size's
 * partial ones included) and entry bundle its tree size needs, writing
 * each to dir/<the same path>; dir must exist and be empty. Stops at the
 * first fetch that fails (the verifier then reports what is missing).
 * 0, or a negative errno with the reason in err (st->failed names the
 * path). */
int log_fetch(const struct hc_url *u, const char *dir, unsigned timeout_ms,
	      struct log_fetch_stats *st, char *err, size_t errcap);

#endif
