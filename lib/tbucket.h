/* lib/tbucket.h: a token bucket, the one rate limiter of the tree.
 *
 * burst tokens at most; one more every period_ms. Times are the caller's
 * (monotonic milliseconds), so tests drive it without sleeping. The state
 * is the caller's.
 */
#ifndef DSHIELD_LIB_TBUCKET_H
#define DSHIELD_LIB_TBUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct tbucket {
	unsigned tokens;
	unsigned burst;
	uint32_t period_ms;
	uint64_t refill_ms;       /* when the last token was added */
};

/* A full bucket at now_ms. period_ms must not be 0. */
void tbucket_init(struct tbucket *b, unsigned burst, uint32_t period_ms, uint64_t now_ms);
/* Takes a token if there is one (refilling first); false when empty. */
bool tbucket_take(struct tbucket *b, uint64_t now_ms);

#endif
