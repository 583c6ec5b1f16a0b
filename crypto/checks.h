/* crypto/checks.h: named verification results ("quote.signature": pass,
 * fail or skipped, with a one-line detail), shared by the quote verifier,
 * the collateral evaluation, event log replay and `dshield verify`.
 * A fixed array in a caller-owned struct: no allocation. */
#ifndef DSHIELD_CRYPTO_CHECKS_H
#define DSHIELD_CRYPTO_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

enum check_result { CHECK_PASS, CHECK_FAIL, CHECK_SKIPPED };

#define CHECK_NAME_MAX   48
#define CHECK_DETAIL_MAX 400
#define CHECKS_MAX       48

struct check {
	char name[CHECK_NAME_MAX];
	enum check_result result;
	char detail[CHECK_DETAIL_MAX];
};

struct check_list {
	size_t n;
	size_t dropped;      /* checks that did not fit: counted as failures */
	struct check c[CHECKS_MAX];
};

void checks_init(struct check_list *l);
/* Appends a check; the detail is printf-formatted and truncated to fit. */
__attribute__((format(printf, 4, 5)))
void checks_add(struct check_list *l, const char *name, enum check_result r,
		const char *fmt, ...);
/* True when no check failed (skipped checks do not fail). */
bool checks_ok(const struct check_list *l);
/* The first check with that name, or NULL. */
const struct check *checks_find(const struct check_list *l, const char *name);
const char *check_result_name(enum check_result r);

#endif
