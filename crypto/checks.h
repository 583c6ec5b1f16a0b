/* crypto/checks.h: named verification results ("quote.signature": pass,
 * fail or skipped, with a one-line detail), shared by the quote verifier,
 * the collateral evaluation, event log replay and `dshield verify`.
 * A fixed array in a caller-owned struct: no allocation.
 *
 * The verdict is safe by default: a check that was skipped (not evaluated)
 * counts against it like a failure, unless the skip names a caveat that
 * the caller accepted with checks_accept() (for `dshield verify`, only
 * ever from an explicit flag such as --no-collateral). Accepted caveats
 * that some skip relied on are reported (checks_caveats()), so a verdict
 * is never "OK" without saying what it did not cover. A step that is not
 * a claim the caller asked for (e.g. no event log given) adds no check
 * at all rather than a skipped one.
 */
#ifndef DSHIELD_CRYPTO_CHECKS_H
#define DSHIELD_CRYPTO_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

enum check_result { CHECK_PASS, CHECK_FAIL, CHECK_SKIPPED };

/* Caveats a caller may accept, one bit each. */
#define CHECK_CAVEAT_NO_COLLATERAL (1u << 0) /* TCB status, revocation not evaluated */
#define CHECK_CAVEAT_SIM           (1u << 1) /* a simulated quote: no hardware */
#define CHECK_CAVEATS_ALL          ((1u << 2) - 1)

#define CHECK_NAME_MAX   48
#define CHECK_DETAIL_MAX 400
#define CHECKS_MAX       48

struct check {
	char name[CHECK_NAME_MAX];
	enum check_result result;
	unsigned caveat;      /* CHECK_SKIPPED: the caveat that may cover it, or 0 */
	char detail[CHECK_DETAIL_MAX];
};

struct check_list {
	size_t n;
	size_t dropped;      /* checks that did not fit: counted as failures */
	unsigned accepted;   /* caveats the caller accepted */
	unsigned relied;     /* caveats noted by checks_rely() */
	struct check c[CHECKS_MAX];
};

void checks_init(struct check_list *l);
/* Accepts caveats (CHECK_CAVEAT_* bits): skips naming them no longer fail
 * the verdict. Call it only for what the user explicitly allowed. */
void checks_accept(struct check_list *l, unsigned caveats);
/* Appends a check; the detail is printf-formatted and truncated to fit. A
 * CHECK_SKIPPED added here has no caveat: it always fails the verdict. */
__attribute__((format(printf, 4, 5)))
void checks_add(struct check_list *l, const char *name, enum check_result r,
		const char *fmt, ...);
/* Appends a skipped check that the caveat (one CHECK_CAVEAT_* bit) covers
 * if the caller accepted it. */
__attribute__((format(printf, 4, 5)))
void checks_skip(struct check_list *l, const char *name, unsigned caveat,
		 const char *fmt, ...);
/* Records that the verdict relies on an accepted caveat although no check
 * was skipped for it (a sim quote allowed by tdx_verify_opts.allow_sim). */
void checks_rely(struct check_list *l, unsigned caveat);
/* Is this skipped check covered by an accepted caveat? */
bool check_accepted(const struct check_list *l, const struct check *c);
/* True when no check failed, none was dropped and every skipped check is
 * covered by an accepted caveat. */
bool checks_ok(const struct check_list *l);
/* Counts of failed and of skipped-and-not-accepted checks. */
size_t checks_failed(const struct check_list *l);
size_t checks_unaccepted(const struct check_list *l);
/* The caveats the verdict relies on (CHECK_CAVEAT_* bits): those of
 * accepted skips, and those noted by checks_rely(). */
unsigned checks_caveats(const struct check_list *l);
/* What a caveat (one bit) leaves out, e.g. "no collateral: TCB status and
 * revocation not evaluated". */
const char *check_caveat_text(unsigned caveat);
/* The first check with that name, or NULL. */
const struct check *checks_find(const struct check_list *l, const char *name);
const char *check_result_name(enum check_result r);

#endif
