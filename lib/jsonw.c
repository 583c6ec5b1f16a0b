/* lib/jsonw.c: see jsonw.h. */
#include "lib/jsonw.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void jw_init(struct jsonw *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof *w);
	bbuf_init(&w->out, buf, cap);
}

/* Writing goes on after an -EINVAL: harmless, jw_finish() refuses. */
static void jw_put(struct jsonw *w, const char *s, size_t n)
{
	bbuf_put(&w->out, s, n);
}

/* The first error sticks: a misuse after a full buffer stays -ENOSPC. */
static void jw_fail(struct jsonw *w)
{
	if (!w->err && !w->out.overflow)
		w->err = -EINVAL;
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
		if (!w->after_key)
			jw_fail(w);
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (w->has_items >> w->depth & 1u)
			jw_put(w, ",", 1);
		w->has_items |= 1u << w->depth;
	} else if (w->out.len > 0) {
		jw_fail(w);   /* a second top-level value */
	}
}

static void jw_open(struct jsonw *w, char c, bool object)
{
	jw_before_value(w);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		jw_fail(w);
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
		jw_fail(w);
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
		jw_fail(w);
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

/* Hex and base64 digits need no escaping: straight into the buffer. */
void jw_hex(struct jsonw *w, const void *bytes, size_t n)
{
	jw_before_value(w);
	jw_put(w, "\"", 1);
	bbuf_hex(&w->out, bytes, n);
	jw_put(w, "\"", 1);
}

void jw_base64(struct jsonw *w, const void *bytes, size_t n)
{
	jw_before_value(w);
	jw_put(w, "\"", 1);
	bbuf_base64(&w->out, bytes, n);
	jw_put(w, "\"", 1);
}

void jw_u64(struct jsonw *w, uint64_t v)
{
	jw_before_value(w);
	bbuf_u64(&w->out, v);
}

void jw_i64(struct jsonw *w, int64_t v)
{
	jw_before_value(w);
	if (v < 0) {
		jw_put(w, "-", 1);
		/* -(v + 1) + 1: INT64_MIN has no positive int64_t. */
		bbuf_u64(&w->out, (uint64_t)-(v + 1) + 1u);
		return;
	}
	bbuf_u64(&w->out, (uint64_t)v);
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

void jw_raw(struct jsonw *w, const char *json, size_t n)
{
	jw_before_value(w);
	jw_put(w, json, n);
}

long jw_finish(struct jsonw *w)
{
	if (w->depth != 0 || w->after_key)
		jw_fail(w);
	if (w->err)
		return w->err;
	return bbuf_finish(&w->out);
}
