/* lib/json_walk.c: see json_walk.h. */
#include "lib/json_walk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/errbuf.h"

size_t jwalk_push(struct jwalk *c, const char *fmt, ...)
{
	size_t saved = c->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + c->plen, sizeof c->path - c->plen, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->plen += (size_t)n < sizeof c->path - c->plen ? (size_t)n : sizeof c->path - 1 - c->plen;
	return saved;
}

size_t jwalk_key(struct jwalk *c, const char *key)
{
	return jwalk_push(c, "%s%s", c->plen ? "." : "", key);
}

void jwalk_pop(struct jwalk *c, size_t saved)
{
	c->plen = saved;
	c->path[saved] = '\0';
}

__attribute__((format(printf, 4, 0)))
static int vfail(struct jwalk *c, const char *kind, int code, const char *fmt, va_list ap)
{
	char why[ERRBUF_LEN];

	vsnprintf(why, sizeof why, fmt, ap);
	c->kind = kind;
	return errbuf_set(c->err, c->errlen, code, "%s: %s", c->plen ? c->path : "(top level)", why);
}

int jwalk_fail(struct jwalk *c, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(c, "invalid_field", code, fmt, ap);
	va_end(ap);
	return r;
}

int jwalk_fail_as(struct jwalk *c, const char *kind, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(c, kind, code, fmt, ap);
	va_end(ap);
	return r;
}

int jwalk_want(struct jwalk *c, int i, jsmntype_t type)
{
	static const char *const names[] = { "?", "an object", "an array", "a string", "?" };
	if (json_is(c->d, i, type))
		return 0;
	return jwalk_fail(c, -EINVAL, "must be %s", names[type]);
}

int jwalk_uint(struct jwalk *c, int i, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	if (json_uint(c->d, i, max, &v) != 0 || v < min)
		return jwalk_fail(c, -EINVAL, "must be an integer %u..%u", min, max);
	*out = (uint32_t)v;
	return 0;
}

int jwalk_bool(struct jwalk *c, int i, bool *out)
{
	if (json_is(c->d, i, JSMN_PRIMITIVE) && json_text_eq(c->d, i, "true"))
		*out = true;
	else if (json_is(c->d, i, JSMN_PRIMITIVE) && json_text_eq(c->d, i, "false"))
		*out = false;
	else
		return jwalk_fail(c, -EINVAL, "must be true or false");
	return 0;
}

long jwalk_str_any(struct jwalk *c, int i, char *out, size_t cap)
{
	size_t n;
	const char *s;
	long r;

	if (jwalk_want(c, i, JSMN_STRING) != 0)
		return -EINVAL;
	s = json_text(c->d, i, &n);
	r = json_unescape(s, n, out, cap);
	if (r == -ENOSPC)
		return jwalk_fail(c, -EINVAL, "longer than %zu bytes", cap - 1);
	if (r < 0)
		return jwalk_fail(c, -EINVAL, "bad string escape");
	return r;
}

long jwalk_str(struct jwalk *c, int i, char *out, size_t cap)
{
	long r = jwalk_str_any(c, i, out, cap);

	if (r == 0)
		return jwalk_fail(c, -EINVAL, "must not be empty");
	return r;
}

int jwalk_count(struct jwalk *c, int i, int max, const char *what)
{
	if (c->d->t[i].size > max)
		return jwalk_fail_as(c, "too_many_items", -E2BIG, "%d %s, at most %d",
				     c->d->t[i].size, what, max);
	return 0;
}

int jwalk_items_open(struct jwalk *c, int arr, int max, const char *what,
		     const char *empty_msg, struct jwalk_items *it)
{
	int r;

	if ((r = jwalk_want(c, arr, JSMN_ARRAY)) != 0 ||
	    (max >= 0 && (r = jwalk_count(c, arr, max, what)) != 0))
		return r;
	if (empty_msg != NULL && c->d->t[arr].size == 0)
		return jwalk_fail(c, -EINVAL, "%s", empty_msg);
	*it = (struct jwalk_items){ .arr = arr, .j = arr + 1, .k = -1 };
	return 0;
}

bool jwalk_items_next(struct jwalk *c, struct jwalk_items *it)
{
	if (it->k >= 0) {
		jwalk_pop(c, it->saved);
		it->j = json_skip(c->d, it->j);
	}
	if (++it->k >= c->d->t[it->arr].size)
		return false;
	it->saved = jwalk_push(c, "[%d]", it->k);
	return true;
}

/* A key as it can be shown in a message: printable, short, no quotes. */
static void key_for_msg(const struct json_doc *d, int i, char out[40])
{
	size_t n, k;
	const char *s = json_text(d, i, &n);
	for (k = 0; k < n && k < 39; k++)
		out[k] = s[k] >= 0x20 && s[k] < 0x7f && s[k] != '"' ? s[k] : '?';
	out[k] = '\0';
}

int jwalk_fields(struct jwalk *c, int obj, struct jwalk_field *f, size_t nf)
{
	const struct json_doc *d = c->d;
	int j = obj + 1;
	char shown[40];

	if (jwalk_want(c, obj, JSMN_OBJECT) != 0)
		return -EINVAL;
	for (size_t k = 0; k < nf; k++)
		f[k].tok = -1;
	for (int m = 0; m < d->t[obj].size; m++) {
		size_t k;
		for (k = 0; k < nf; k++)
			if (json_str_eq(d, j, f[k].key))
				break;
		if (k == nf) {
			key_for_msg(d, j, shown);
			jwalk_key(c, shown);
			return jwalk_fail_as(c, "unknown_field", -EINVAL, "unknown field");
		}
		if (f[k].tok >= 0) {
			size_t saved = jwalk_key(c, f[k].key);
			int r = jwalk_fail(c, -EINVAL, "key given twice");
			jwalk_pop(c, saved);
			return r;
		}
		f[k].tok = j + 1;
		j = json_skip(d, j + 1);
	}
	return 0;
}

int jwalk_need(struct jwalk *c, const struct jwalk_field *f)
{
	if (f->tok >= 0)
		return 0;
	size_t saved = jwalk_key(c, f->key);
	int r = jwalk_fail_as(c, "missing_field", -EINVAL, "required");
	jwalk_pop(c, saved);
	return r;
}
