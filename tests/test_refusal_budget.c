/* tests/test_refusal_budget.c: the refusal records' budget
 * (net/refusal_budget.h): the burst, the refill, every refusal either
 * recorded or counted in exactly one summary, summaries at most one a
 * second a function, functions apart, entries of gone functions reused
 * only once nothing tells them from new ones, a full table recording. */
#include "net/refusal_budget.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

static struct refusal_budget t;

/* n refusals of id at now_ms: how many may be recorded. */
static unsigned takes(const char *id, unsigned n, uint64_t now_ms)
{
	unsigned yes = 0;

	for (unsigned i = 0; i < n; i++)
		yes += refusal_budget_take(&t, id, now_ms);
	return yes;
}

/* Every summary due at now_ms: their counts added, *n how many. */
static uint64_t summaries(uint64_t now_ms, unsigned *n)
{
	struct refusal_summary s;
	uint64_t sum = 0;

	*n = 0;
	while (refusal_budget_due(&t, now_ms, &s)) {
		sum += s.count;
		(*n)++;
	}
	return sum;
}

static void test_burst_and_refill(void)
{
	unsigned n;

	refusal_budget_init(&t);
	is_int(takes("fn-a", REFUSAL_BURST, 1000), REFUSAL_BURST, "a burst of %u recorded",
	       REFUSAL_BURST);
	is_int(takes("fn-a", 10, 1000), 0, "the next 10 at once are not");
	is_int(refusal_budget_next_deadline(&t), 1000 + REFUSAL_SUMMARY_MS,
	       "their summary is due a second after the first of them");
	is_int(summaries(1999, &n), 0, "not before");
	is_int(takes("fn-a", 1, 1000 + REFUSAL_PERIOD_MS), 1, "a period later one more is recorded");
	is_int(takes("fn-a", 1, 1000 + REFUSAL_PERIOD_MS), 0, "and only one");
	struct refusal_summary s;
	bool due = refusal_budget_due(&t, 2000, &s);
	ok(due && strcmp(s.id, "fn-a") == 0 && s.count == 11 && s.since_ms == 1000,
	   "at 2000 the summary: fn-a, 11, since 1000 (%s %llu %llu)", s.id,
	   (unsigned long long)s.count, (unsigned long long)s.since_ms);
	ok(!refusal_budget_due(&t, 2000, &s), "once");
	is_int(refusal_budget_next_deadline(&t), UINT64_MAX, "nothing else is due");
	is_int(t.st.recorded, REFUSAL_BURST + 1, "stats: recorded");
	is_int(t.st.unrecorded, 11, "stats: unrecorded");
	is_int(t.st.summaries, 1, "stats: summaries");
}

/* A flood of 10 s at 100,000 a second: what is recorded is within the
 * bucket's bound, and the rest is in the summaries, one a second. */
static void test_flood(void)
{
	unsigned rec = 0, nsum = 0, n;
	uint64_t unrec = 0, now;

	refusal_budget_init(&t);
	for (now = 0; now < 10000; now++) {
		rec += takes("flood", 100, now);
		unrec += summaries(now, &n);
		nsum += n;
	}
	unrec += summaries(now + REFUSAL_SUMMARY_MS, &n);
	nsum += n;
	unsigned bound = REFUSAL_BURST + 10000 / REFUSAL_PERIOD_MS;
	ok(rec <= bound && rec + 1 >= bound, "10 s of 100,000 a second: %u recorded (the bound %u)",
	   rec, bound);
	is_int(rec + unrec, 1000000, "each of the 1,000,000 recorded or counted once");
	ok(nsum >= 9 && nsum <= 11, "in %u summaries (one a second)", nsum);
}

static void test_functions_apart(void)
{
	char id[16];
	unsigned n;

	refusal_budget_init(&t);
	takes("noisy", 1000, 0);
	is_int(takes("quiet", 1, 0), 1, "one function's flood leaves another its budget");
	for (unsigned i = 0; i < FN_EGRESS_FN_MAX; i++) {
		snprintf(id, sizeof id, "fn-%u", i);
		if (takes(id, REFUSAL_BURST + 1, 10) != REFUSAL_BURST)
			break;
		if (i + 1 == FN_EGRESS_FN_MAX)
			ok(1, "%u functions each get their own burst", FN_EGRESS_FN_MAX);
	}
	is_int(summaries(10 + REFUSAL_SUMMARY_MS, &n), 936 + FN_EGRESS_FN_MAX,
	       "the summaries count every one over (936 and one each)");
	is_int(n, 1 + FN_EGRESS_FN_MAX, "one a function");
}

static void test_reuse(void)
{
	char id[16];
	unsigned n;

	refusal_budget_init(&t);
	/* the table full of functions, each with a summary pending */
	for (unsigned i = 0; i < REFUSAL_TABLE; i++) {
		snprintf(id, sizeof id, "f%u", i);
		takes(id, REFUSAL_BURST + 1, 0);
	}
	is_int(takes("late", 5, 0), 5, "a table with no entry free records (nothing hidden)");
	is_int(t.st.untracked, 5, "  and counts them");
	summaries(REFUSAL_SUMMARY_MS, &n);
	is_int(n, REFUSAL_TABLE, "every pending summary went");
	is_int(takes("late", 1, REFUSAL_SUMMARY_MS), 1, "summaries gone, buckets not yet full: "
	       "still no entry for a new function, still recorded");
	is_int(t.st.untracked, 6, "  (untracked)");
	uint64_t full = (uint64_t)REFUSAL_BURST * REFUSAL_PERIOD_MS;
	is_int(takes("late", REFUSAL_BURST + 1, full + 1), REFUSAL_BURST,
	       "once a bucket would be full again its entry is reused, with the burst");
	is_int(takes("f0", REFUSAL_BURST, full + 1), REFUSAL_BURST,
	       "and a gone function coming back gets a fresh entry too");
}

/* A summary the log could not take goes back, and is said in the next. */
static void test_putback(void)
{
	struct refusal_summary s;
	unsigned n;

	refusal_budget_init(&t);
	takes("fn-p", REFUSAL_BURST + 5, 0);
	ok(refusal_budget_due(&t, REFUSAL_SUMMARY_MS, &s) && s.count == 5, "a summary of 5");
	refusal_budget_putback(&t, &s, REFUSAL_SUMMARY_MS);
	is_int(refusal_budget_next_deadline(&t), 2 * REFUSAL_SUMMARY_MS,
	       "put back: due again a second later, not at once");
	ok(!refusal_budget_due(&t, 2 * REFUSAL_SUMMARY_MS - 1, &s), "  not before");
	/* a second's refill (32 tokens) and 8 over */
	is_int(takes("fn-p", REFUSAL_SUMMARY_MS / REFUSAL_PERIOD_MS + 8, REFUSAL_SUMMARY_MS),
	       REFUSAL_SUMMARY_MS / REFUSAL_PERIOD_MS, "a second later its refill is recorded");
	is_int(summaries(2 * REFUSAL_SUMMARY_MS, &n), 13, "the next says the 5 and the 8 since");
	is_int(n, 1, "  in one summary");
	is_int(t.st.summaries, 1, "  counted once");
}

int main(void)
{
	test_burst_and_refill();
	test_flood();
	test_functions_apart();
	test_reuse();
	test_putback();
	return tap_done();
}
