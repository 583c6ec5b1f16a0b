/* lib/tbucket.c: see tbucket.h. */
#include "lib/tbucket.h"

void tbucket_init(struct tbucket *b, unsigned burst, uint32_t period_ms, uint64_t now_ms)
{
	b->tokens = burst;
	b->burst = burst;
	b->period_ms = period_ms ? period_ms : 1;
	b->refill_ms = now_ms;
}

bool tbucket_take(struct tbucket *b, uint64_t now_ms)
{
	if (now_ms > b->refill_ms) {
		uint64_t add = (now_ms - b->refill_ms) / b->period_ms;
		if (add >= (uint64_t)(b->burst - b->tokens)) {
			/* Full: the next token is a whole period from now. */
			b->tokens = b->burst;
			b->refill_ms = now_ms;
		} else if (add > 0) {
			b->tokens += (unsigned)add;
			b->refill_ms += add * b->period_ms;
		}
	}
	if (b->tokens == 0)
		return false;
	b->tokens--;
	return true;
}
