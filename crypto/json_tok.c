/* crypto/json_tok.c: helpers over jsmn tokens (see json_tok.h). */
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "crypto/json_tok.h"

#include <errno.h>
#include <string.h>

#include "lib/hex.h"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int json_parse(struct json_doc *d, const char *js, size_t len,
	       jsmntok_t *toks, unsigned ntoks)
{
	jsmn_parser p;
	int r;
	size_t end;

	d->js = js;
	d->len = len;
	d->t = toks;
	d->n = 0;
	if (len > (size_t)0x7fffffff)
		return -E2BIG;
	jsmn_init(&p);
	r = jsmn_parse(&p, js, len, toks, ntoks);
	if (r == JSMN_ERROR_NOMEM)
		return -E2BIG;
	if (r <= 0)
		return -EINVAL;
	d->n = r;
	/* One value only: the first token's subtree must be every token, and
	 * only whitespace may follow it. */
	if (json_skip(d, 0) != r)
		return -EINVAL;
	end = (size_t)toks[0].end;
	if (toks[0].type == JSMN_STRING)
		end++;  /* jsmn's end excludes the closing quote */
	for (; end < len; end++)
		if (!is_ws(js[end]))
			return -EINVAL;
	return 0;
}

int json_skip(const struct json_doc *d, int i)
{
	int pending = 1;
	while (pending > 0 && i < d->n) {
		pending += d->t[i].size - 1;
		i++;
	}
	return pending > 0 ? d->n : i;
}

bool json_is(const struct json_doc *d, int i, jsmntype_t type)
{
	return i >= 0 && i < d->n && d->t[i].type == type;
}

bool json_str_eq(const struct json_doc *d, int i, const char *s)
{
	size_t n = strlen(s);
	return json_is(d, i, JSMN_STRING) &&
	       (size_t)(d->t[i].end - d->t[i].start) == n &&
	       memcmp(d->js + d->t[i].start, s, n) == 0;
}

int json_get(const struct json_doc *d, int obj, const char *key)
{
	int i, k, n;
	if (!json_is(d, obj, JSMN_OBJECT))
		return -1;
	n = d->t[obj].size;
	i = obj + 1;
	for (k = 0; k < n && i + 1 < d->n; k++) {
		if (json_str_eq(d, i, key))
			return i + 1;
		i = json_skip(d, i + 1);
	}
	return -1;
}

int json_elem(const struct json_doc *d, int arr, int k)
{
	int i;
	if (!json_is(d, arr, JSMN_ARRAY) || k < 0 || k >= d->t[arr].size)
		return -1;
	i = arr + 1;
	while (k-- > 0 && i < d->n)
		i = json_skip(d, i);
	return i < d->n ? i : -1;
}

static long u4(const char *s, size_t left)
{
	long v = 0;
	if (left < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		int h = hex_digit_value(s[k]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Appends code point cp as UTF-8; returns bytes written or -1. */
static int put_utf8(char *out, size_t room, long cp)
{
	if (cp < 0x80 && room >= 1) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800 && room >= 2) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000 && room >= 3) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp < 0x110000 && room >= 4) {
		out[0] = (char)(0xf0 | cp >> 18);
		out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		return 4;
	}
	return -1;
}

long json_str(const struct json_doc *d, int i, char *out, size_t cap)
{
	const char *s, *e;
	size_t o = 0;

	if (!json_is(d, i, JSMN_STRING) || cap == 0)
		return -1;
	s = d->js + d->t[i].start;
	e = d->js + d->t[i].end;
	while (s < e) {
		char c = *s++;
		long cp;
		int w;
		if (c != '\\') {
			if (o + 1 >= cap)
				return -1;
			out[o++] = c;
			continue;
		}
		if (s >= e)
			return -1;
		c = *s++;
		switch (c) {
		case '"': case '\\': case '/': cp = c; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			cp = u4(s, (size_t)(e - s));
			if (cp < 0)
				return -1;
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				long lo;
				if (e - s < 6 || s[0] != '\\' || s[1] != 'u')
					return -1;
				lo = u4(s + 2, (size_t)(e - s - 2));
				if (lo < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s += 6;
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				return -1;
			}
			break;
		default:
			return -1;
		}
		w = put_utf8(out + o, cap - 1 - o, cp);
		if (w < 0)
			return -1;
		o += (size_t)w;
	}
	out[o] = '\0';
	return (long)o;
}

int json_uint(const struct json_doc *d, int i, uint64_t max, uint64_t *v)
{
	const char *s, *e;
	uint64_t x = 0;
	if (!json_is(d, i, JSMN_PRIMITIVE))
		return -1;
	s = d->js + d->t[i].start;
	e = d->js + d->t[i].end;
	if (s == e || (e - s > 1 && *s == '0'))
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (x > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}
