/* crypto/checks.c: named verification results (see checks.h). */
#include "crypto/checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void checks_init(struct check_list *l)
{
	l->n = 0;
	l->dropped = 0;
}

void checks_add(struct check_list *l, const char *name, enum check_result r,
		const char *fmt, ...)
{
	struct check *c;
	va_list ap;

	if (l->n == CHECKS_MAX) {
		l->dropped++;
		return;
	}
	c = &l->c[l->n++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->result = r;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

bool checks_ok(const struct check_list *l)
{
	if (l->dropped)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (l->c[i].result == CHECK_FAIL)
			return false;
	return true;
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
