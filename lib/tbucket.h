/* lib/tbucket.h: a token bucket, the one rate limiter of the tree.
 *
 * burst tokens at most; `per` more every period. Two uses: one token
 * every period_ms (requests, log lines: tbucket_init/tbucket_take), and
 * bytes at a rate per second (netd's egress caps: tbucket_init_rate,
 * tbucket_avail, tbucket_spend, tbucket_wait_ns). Times are the caller's
 * (monotonic), so tests drive it without sleeping. The state is the
 * caller's; nothing sleeps: a caller that finds too few tokens waits for
 * tbucket_wait_ns in its own loop.
 *
 * The refill keeps what it has not turned into tokens yet (a partial
 * token's time), so the tokens given over any interval T are at most
 * burst + T * per / period, however the calls fall.
 */
#ifndef DSHIELD_LIB_TBUCKET_H
#define DSHIELD_LIB_TBUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct tbucket {
	uint64_t tokens;
	uint64_t burst;
	uint64_t per;             /* tokens added every period_ns */
	uint64_t period_ns;
	uint64_t refill_ns;       /* the time `tokens` stands for */
};

/* A full bucket at now_ms, one token every period_ms (0 is taken as 1). */
void tbucket_init(struct tbucket *b, unsigned burst, uint32_t period_ms, uint64_t now_ms);
/* Takes a token if there is one (refilling first); false when empty. */
bool tbucket_take(struct tbucket *b, uint64_t now_ms);

/* A full bucket at now_ns, per_s tokens a second (1..2^32), burst at
 * least 1 and at most 2^32. */
void tbucket_init_rate(struct tbucket *b, uint64_t per_s, uint64_t burst, uint64_t now_ns);
/* A new rate and burst (same bounds) from now_ns, keeping the tokens
 * (at most the new burst). */
void tbucket_set_rate(struct tbucket *b, uint64_t per_s, uint64_t burst, uint64_t now_ns);
/* The tokens there are at now_ns (refilling first). */
uint64_t tbucket_avail(struct tbucket *b, uint64_t now_ns);
/* Spends n of the tokens tbucket_avail gave (n is cut to what there is). */
void tbucket_spend(struct tbucket *b, uint64_t n);
/* How long from now_ns until want tokens (at most burst) are there: 0
 * when they are. Call tbucket_avail at now_ns first. */
uint64_t tbucket_wait_ns(const struct tbucket *b, uint64_t want, uint64_t now_ns);

#endif
