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
#include "crypto/tlog_tiles.h"

/* A bundle holds at most 256 entries of a u16 length and 65,535 bytes. */
#define LOG_BUNDLE_MAX ((size_t)TLOG_TILE_WIDTH * (2 + TLOG_ENTRY_MAX))

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

/* Where log_copy_tiles() reads a log's files from: get(ctx, rel, buf,
 * cap, why, whycap) puts the file at rel (a tlog-tiles path, at most cap
 * bytes) into buf and returns its length, or a negative errno with the
 * reason in why. log_fetch's is HTTP (hc_get); a test's may be a store. */
struct log_source {
	long (*get)(void *ctx, const char *rel, void *buf, size_t cap, char *why, size_t whycap);
	void *ctx;
};

/* Copies every tile (all levels, the size's partial ones included) and
 * entry bundle a tree of size needs from src to dir/<the same path>
 * (directories created, files new). buf holds LOG_BUNDLE_MAX bytes.
 * 0, or the first failure (st->failed names its path). */
int log_copy_tiles(const struct log_source *src, const char *dir, uint64_t size, uint8_t *buf,
		   struct log_fetch_stats *st, char *err, size_t errcap);

#endif
