/* lib/tbucket.c: see tbucket.h. */
#include "lib/tbucket.h"

#define NS_PER_MS 1000000u
#define NS_PER_S  1000000000u

/* Adds the tokens the time since refill_ns makes, moving refill_ns on by
 * exactly their time (rounded up: never more tokens than the rate) so a
 * partial token's time is kept for the next call. A bucket that would
 * overflow is full, and its next token a whole period from now. */
static void refill(struct tbucket *b, uint64_t now_ns)
{
	if (now_ns <= b->refill_ns)
		return;
	uint64_t dt = now_ns - b->refill_ns, need = b->burst - b->tokens;
	/* the bounds keep need * period_ns and dt * per (dt < fill) in 64 bits */
	uint64_t fill = (need * b->period_ns + b->per - 1) / b->per;
	if (dt >= fill) {
		b->tokens = b->burst;
		b->refill_ns = now_ns;
		return;
	}
	uint64_t add = dt * b->per / b->period_ns;
	b->tokens += add;
	b->refill_ns += (add * b->period_ns + b->per - 1) / b->per;
}

void tbucket_init(struct tbucket *b, unsigned burst, uint32_t period_ms, uint64_t now_ms)
{
	b->tokens = burst;
	b->burst = burst;
	b->per = 1;
	b->period_ns = (uint64_t)(period_ms ? period_ms : 1) * NS_PER_MS;
	b->refill_ns = now_ms * NS_PER_MS;
}

bool tbucket_take(struct tbucket *b, uint64_t now_ms)
{
	refill(b, now_ms * NS_PER_MS);
	if (b->tokens == 0)
		return false;
	b->tokens--;
	return true;
}

void tbucket_init_rate(struct tbucket *b, uint64_t per_s, uint64_t burst, uint64_t now_ns)
{
	b->tokens = burst;
	b->burst = burst;
	b->per = per_s ? per_s : 1;
	b->period_ns = NS_PER_S;
	b->refill_ns = now_ns;
}

void tbucket_set_rate(struct tbucket *b, uint64_t per_s, uint64_t burst, uint64_t now_ns)
{
	refill(b, now_ns);
	b->burst = burst;
	b->per = per_s ? per_s : 1;
	b->period_ns = NS_PER_S;
	b->refill_ns = now_ns;
	if (b->tokens > burst)
		b->tokens = burst;
}

uint64_t tbucket_avail(struct tbucket *b, uint64_t now_ns)
{
	refill(b, now_ns);
	return b->tokens;
}

void tbucket_spend(struct tbucket *b, uint64_t n)
{
	b->tokens -= n < b->tokens ? n : b->tokens;
}

uint64_t tbucket_wait_ns(const struct tbucket *b, uint64_t want, uint64_t now_ns)
{
	if (want > b->burst)
		want = b->burst;
	if (b->tokens >= want)
		return 0;
	uint64_t at = b->refill_ns + ((want - b->tokens) * b->period_ns + b->per - 1) / b->per;
	return at > now_ns ? at - now_ns : 0;
}
