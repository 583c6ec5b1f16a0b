/* net/refusal_budget.h: how many refusal records one function puts in the
 * signed log.
 *
 * Each function has a token bucket (REFUSAL_BURST at once, one more every
 * REFUSAL_PERIOD_MS, about 32 a second). A refusal (a DNS query answered
 * REFUSED, a connection refused) within it is recorded as before: its
 * own `dns_refused` or `egress_refused` record and a line in the
 * function's log stream. One over it is still refused, but counted
 * instead of recorded, and the count goes into the log as one summary
 * record, at most one a second a function (refusal_budget_due), so no
 * refusal is unaccounted for.
 *
 * Why: a refusal costs a function one datagram, and each was a record,
 * kept for good, and a line for sandboxd. One function asking in a loop
 * put about 40,000 records a second into the log (1.4 MB/s of it) and
 * filled netd's queue to logd, so that other functions' allowed requests,
 * whose records must be durable before their bytes go, were refused
 * (docs/EGRESS.md, "Refusals over a function's budget").
 *
 * The table is the caller's; times are the caller's monotonic
 * milliseconds, so tests drive it without sleeping. Functions are found
 * by id: a function netd no longer knows keeps its entry until its
 * summary went and its bucket would be full again, when the entry is as
 * good as new and is reused.
 */
#ifndef DSHIELD_NET_REFUSAL_BUDGET_H
#define DSHIELD_NET_REFUSAL_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/tbucket.h"
#include "net/fn_egress.h"
#include "proto/netd_sandboxd.h"

#define REFUSAL_BURST      64
#define REFUSAL_PERIOD_MS  31                       /* about 32 a second */
#define REFUSAL_SUMMARY_MS 1000                     /* a function's summaries, at most */
#define REFUSAL_TABLE      (2 * FN_EGRESS_FN_MAX)   /* known functions and lately gone ones */

struct refusal_fn {
	char id[SBX_ID_MAX];       /* "": free */
	uint32_t hash;             /* of id: the lookup compares these first */
	struct tbucket b;
	uint64_t unrecorded;       /* over the budget, not yet in a summary */
	uint64_t since_ms;         /* when the first of those came */
	uint64_t due_ms;           /* their summary's time: a second after, or after a put back */
	uint64_t last_ms;          /* the function's last refusal, recorded or not */
};

struct refusal_budget_stats {
	uint64_t recorded;         /* refusals within their function's budget */
	uint64_t unrecorded;       /* over it: counted in a summary instead */
	uint64_t summaries;        /* summaries handed out (refusal_budget_due) */
	uint64_t untracked;        /* no entry free (recorded, as before the budget) */
};

struct refusal_budget {
	struct refusal_fn f[REFUSAL_TABLE];
	unsigned last;             /* the entry found last: a flood repeats one function */
	unsigned pending;          /* entries with unrecorded refusals */
	uint64_t next_ms;          /* no summary is due before this (netd asks every loop
				    * turn: the table is scanned only once it passed) */
	struct refusal_budget_stats st;
};

/* A summary of one function's unrecorded refusals. */
struct refusal_summary {
	char id[SBX_ID_MAX];
	uint64_t count;
	uint64_t since_ms;             /* the first of them */
};

void refusal_budget_init(struct refusal_budget *t);

/* A refusal of function id at now_ms: true when its record may go (a
 * token taken), false when it is counted for a summary instead. An id
 * longer than the table takes is cut (ids are at most SBX_ID_MAX - 1). */
bool refusal_budget_take(struct refusal_budget *t, const char *id, uint64_t now_ms);

/* A summary due at now_ms (its first unrecorded refusal came
 * REFUSAL_SUMMARY_MS ago or more): true, *s filled and the count taken
 * from the table; false when none is due. Called until false. */
bool refusal_budget_due(struct refusal_budget *t, uint64_t now_ms, struct refusal_summary *s);

/* A summary refusal_budget_due gave that could not be recorded: its
 * count back in its function's entry (made again if it went), to be
 * said in the next one, REFUSAL_SUMMARY_MS from now_ms (not at once: a
 * log that cannot take it now is not asked every loop turn); nothing
 * is dropped. */
void refusal_budget_putback(struct refusal_budget *t, const struct refusal_summary *s,
			    uint64_t now_ms);

/* When the next summary is due (monotonic ms), or UINT64_MAX. */
uint64_t refusal_budget_next_deadline(const struct refusal_budget *t);

#endif
