/* lib/jsonw.c: see jsonw.h. */
#include "lib/jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void jw_init(struct jsonw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof *w);
	w->buf = buf;
	w->cap = cap;
}

static void jw_put(struct jsonw *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->len || w->cap == 0) {
		w->err = -ENOSPC;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static bool jw_in_object(const struct jsonw *w)
{
	return w->depth > 0 && (w->is_object >> w->depth & 1u);
}

/* Called before every value: writes the separating comma and checks that a
 * value inside an object follows its key. */
static void jw_before_value(struct jsonw *w)
{
	if (jw_in_object(w)) {
		if (!w->after_key && !w->err)
			w->err = -EINVAL;
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (w->has_items >> w->depth & 1u)
			jw_put(w, ",", 1);
		w->has_items |= 1u << w->depth;
	} else if (w->len > 0 && !w->err) {
		w->err = -EINVAL; /* a second top-level value */
	}
}

static void jw_open(struct jsonw *w, char c, bool object)
{
	jw_before_value(w);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	jw_put(w, &c, 1);
	w->depth++;
	w->has_items &= ~(1u << w->depth);
	if (object)
		w->is_object |= 1u << w->depth;
	else
		w->is_object &= ~(1u << w->depth);
}

static void jw_close(struct jsonw *w, char c, bool object)
{
	if (w->depth == 0 || jw_in_object(w) != object || w->after_key) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	jw_put(w, &c, 1);
	w->depth--;
}

void jw_object_begin(struct jsonw *w) { jw_open(w, '{', true); }
void jw_object_end(struct jsonw *w) { jw_close(w, '}', true); }
void jw_array_begin(struct jsonw *w) { jw_open(w, '[', false); }
void jw_array_end(struct jsonw *w) { jw_close(w, ']', false); }

static void jw_escaped(struct jsonw *w, const char *s, size_t n)
{
	jw_put(w, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char ubuf[8];
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
				esc = ubuf;
			}
		}
		if (esc) {
			jw_put(w, s + i - run, run);
			run = 0;
			jw_put(w, esc, strlen(esc));
		} else {
			run++;
		}
	}
	jw_put(w, s + n - run, run);
	jw_put(w, "\"", 1);
}

void jw_key(struct jsonw *w, const char *key)
{
	if (!jw_in_object(w) || w->after_key) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	if (w->has_items >> w->depth & 1u)
		jw_put(w, ",", 1);
	w->has_items |= 1u << w->depth;
	jw_escaped(w, key, strlen(key));
	jw_put(w, ":", 1);
	w->after_key = true;
}

void jw_string_n(struct jsonw *w, const char *s, size_t n)
{
	jw_before_value(w);
	jw_escaped(w, s, n);
}

void jw_string(struct jsonw *w, const char *s) { jw_string_n(w, s, strlen(s)); }

void jw_hex(struct jsonw *w, const void *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = bytes;
	jw_before_value(w);
	jw_put(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char two[2] = { digits[p[i] >> 4], digits[p[i] & 15] };
		jw_put(w, two, 2);
	}
	jw_put(w, "\"", 1);
}

void jw_base64(struct jsonw *w, const void *bytes, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *d = bytes;
	jw_before_value(w);
	jw_put(w, "\"", 1);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		char q[4] = { tab[(v >> 18) & 63], tab[(v >> 12) & 63],
			      i + 1 < n ? tab[(v >> 6) & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
		jw_put(w, q, 4);
	}
	jw_put(w, "\"", 1);
}

void jw_u64(struct jsonw *w, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%llu", (unsigned long long)v);
	jw_before_value(w);
	jw_put(w, num, (size_t)n);
}

void jw_i64(struct jsonw *w, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%lld", (long long)v);
	jw_before_value(w);
	jw_put(w, num, (size_t)n);
}

void jw_bool(struct jsonw *w, bool v)
{
	jw_before_value(w);
	jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jsonw *w)
{
	jw_before_value(w);
	jw_put(w, "null", 4);
}

long jw_finish(struct jsonw *w)
{
	if (!w->err && (w->depth != 0 || w->after_key))
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	if (w->len < w->cap)
		w->buf[w->len] = '\0';
	return (long)w->len;
}
