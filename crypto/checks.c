/* crypto/checks.c: named verification results (see checks.h). */
#include "crypto/checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void checks_init(struct check_list *l)
{
	l->n = 0;
	l->dropped = 0;
	l->accepted = 0;
	l->relied = 0;
}

void checks_accept(struct check_list *l, unsigned caveats)
{
	l->accepted |= caveats & CHECK_CAVEATS_ALL;
}

__attribute__((format(printf, 5, 0)))
static void add(struct check_list *l, const char *name, enum check_result r,
		unsigned caveat, const char *fmt, va_list ap)
{
	struct check *c;

	if (l->n == CHECKS_MAX) {
		l->dropped++;
		return;
	}
	c = &l->c[l->n++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->result = r;
	c->caveat = caveat;
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
}

void checks_add(struct check_list *l, const char *name, enum check_result r,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(l, name, r, 0, fmt, ap);
	va_end(ap);
}

void checks_skip(struct check_list *l, const char *name, unsigned caveat,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(l, name, CHECK_SKIPPED, caveat & CHECK_CAVEATS_ALL, fmt, ap);
	va_end(ap);
}

void checks_rely(struct check_list *l, unsigned caveat)
{
	l->relied |= caveat & CHECK_CAVEATS_ALL;
}

bool check_accepted(const struct check_list *l, const struct check *c)
{
	return c->result == CHECK_SKIPPED && c->caveat != 0 &&
	       (c->caveat & l->accepted) == c->caveat;
}

size_t checks_failed(const struct check_list *l)
{
	size_t n = l->dropped;

	for (size_t i = 0; i < l->n; i++)
		n += l->c[i].result == CHECK_FAIL;
	return n;
}

size_t checks_unaccepted(const struct check_list *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->c[i].result == CHECK_SKIPPED && !check_accepted(l, &l->c[i]);
	return n;
}

bool checks_ok(const struct check_list *l)
{
	return checks_failed(l) == 0 && checks_unaccepted(l) == 0;
}

unsigned checks_caveats(const struct check_list *l)
{
	unsigned c = l->relied;

	for (size_t i = 0; i < l->n; i++)
		if (check_accepted(l, &l->c[i]))
			c |= l->c[i].caveat;
	return c;
}

const char *check_caveat_text(unsigned caveat)
{
	switch (caveat) {
	case CHECK_CAVEAT_NO_COLLATERAL:
		return "no collateral: TCB status and revocation not evaluated";
	case CHECK_CAVEAT_SIM:
		return "sim quote: signed by a simulation key, proves nothing about TDX hardware";
	default:
		return "unknown caveat";
	}
}

const struct check *checks_find(const struct check_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->c[i].name, name) == 0)
			return &l->c[i];
	return NULL;
}

const char *check_result_name(enum check_result r)
{
	switch (r) {
	case CHECK_PASS: return "pass";
	case CHECK_FAIL: return "fail";
	default: return "skipped";
	}
}
