/* lib/json_tok.c: jsmn's code (its one copy) and helpers over its tokens;
 * see json_tok.h. */
#define JSON_TOK_IMPLEMENTATION
#include "lib/json_tok.h"

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
	d->err_at = 0;
	if (len > (size_t)0x7fffffff)
		return -E2BIG;
	jsmn_init(&p);
	r = jsmn_parse(&p, js, len, toks, ntoks);
	d->err_at = p.pos;
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
	d->err_at = 0;
	return 0;
}

/* --- json_validate ------------------------------------------------------------ */

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static bool string_ok(const struct json_doc *d, int i)
{
	size_t n;
	const char *p = json_text(d, i, &n);
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)p[k] < 0x20)
			return false;
	return true;
}

/* true, false, null, or an RFC 8259 number. */
static bool primitive_ok(const struct json_doc *d, int i)
{
	size_t n, k = 0;
	const char *p = json_text(d, i, &n);
	if ((n == 4 && memcmp(p, "true", 4) == 0) ||
	    (n == 5 && memcmp(p, "false", 5) == 0) ||
	    (n == 4 && memcmp(p, "null", 4) == 0))
		return true;
	if (k < n && p[k] == '-')
		k++;
	if (k >= n || !is_digit(p[k]))
		return false;
	if (p[k] == '0')
		k++;
	else
		while (k < n && is_digit(p[k]))
			k++;
	if (k < n && p[k] == '.') {
		k++;
		if (k >= n || !is_digit(p[k]))
			return false;
		while (k < n && is_digit(p[k]))
			k++;
	}
	if (k < n && (p[k] == 'e' || p[k] == 'E')) {
		k++;
		if (k < n && (p[k] == '+' || p[k] == '-'))
			k++;
		if (k >= n || !is_digit(p[k]))
			return false;
		while (k < n && is_digit(p[k]))
			k++;
	}
	return k == n;
}

/* Bytes of token i in the text, quotes included for strings. */
static size_t raw_start(const struct json_doc *d, int i)
{
	return (size_t)d->t[i].start - (d->t[i].type == JSMN_STRING);
}

static size_t raw_end(const struct json_doc *d, int i)
{
	return (size_t)d->t[i].end + (d->t[i].type == JSMN_STRING);
}

/* js[from..to) is whitespace around exactly one sep (none when sep is 0). */
static bool gap_ok(const struct json_doc *d, size_t from, size_t to, char sep)
{
	bool seen = sep == 0;
	if (from > to)
		return false;
	for (size_t k = from; k < to; k++) {
		char ch = d->js[k];
		if (is_ws(ch))
			continue;
		if (!seen && ch == sep) {
			seen = true;
			continue;
		}
		return false;
	}
	return seen;
}

/* Validates the subtree at i; *next gets the index after it. */
static int check_tree(struct json_doc *d, int i, unsigned depth, unsigned max_depth, int *next)
{
	if (i >= d->n)
		return -EINVAL;
	d->err_at = raw_start(d, i);
	if (depth > max_depth)
		return -E2BIG;
	const jsmntok_t *t = &d->t[i];
	int j = i + 1, r;
	size_t pos = (size_t)t->start + 1;
	switch (t->type) {
	case JSMN_OBJECT:
		for (int k = 0; k < t->size; k++) {
			if (j < d->n)
				d->err_at = raw_start(d, j);
			if (j + 1 >= d->n || d->t[j].type != JSMN_STRING ||
			    d->t[j].size != 1 || !string_ok(d, j) ||
			    !gap_ok(d, pos, raw_start(d, j), k ? ',' : 0) ||
			    !gap_ok(d, raw_end(d, j), raw_start(d, j + 1), ':'))
				return -EINVAL;
			pos = raw_end(d, j + 1);
			if ((r = check_tree(d, j + 1, depth + 1, max_depth, &j)) != 0)
				return r;
		}
		break;
	case JSMN_ARRAY:
		for (int k = 0; k < t->size; k++) {
			if (j < d->n)
				d->err_at = raw_start(d, j);
			if (j >= d->n || !gap_ok(d, pos, raw_start(d, j), k ? ',' : 0))
				return -EINVAL;
			pos = raw_end(d, j);
			if ((r = check_tree(d, j, depth + 1, max_depth, &j)) != 0)
				return r;
		}
		break;
	case JSMN_STRING:
		return t->size == 0 && string_ok(d, i) ? (*next = j, 0) : -EINVAL;
	case JSMN_PRIMITIVE:
		return t->size == 0 && primitive_ok(d, i) ? (*next = j, 0) : -EINVAL;
	default:
		return -EINVAL;
	}
	d->err_at = pos;
	if (!gap_ok(d, pos, (size_t)t->end - 1, 0))
		return -EINVAL;
	*next = j;
	return 0;
}

int json_validate(struct json_doc *d, unsigned max_depth)
{
	int next = 0, r;

	d->err_at = 0;
	if (d->n <= 0)
		return -EINVAL;
	if ((r = check_tree(d, 0, 0, max_depth, &next)) != 0)
		return r;
	if (next != d->n) {
		d->err_at = next < d->n ? raw_start(d, next) : d->len;
		return -EINVAL;
	}
	if (!gap_ok(d, 0, raw_start(d, 0), 0)) {
		d->err_at = 0;
		return -EINVAL;
	}
	if (!gap_ok(d, raw_end(d, 0), d->len, 0)) {
		d->err_at = raw_end(d, 0);
		return -EINVAL;
	}
	d->err_at = 0;
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

const char *json_text(const struct json_doc *d, int i, size_t *len)
{
	*len = (size_t)(d->t[i].end - d->t[i].start);
	return d->js + d->t[i].start;
}

bool json_text_eq(const struct json_doc *d, int i, const char *s)
{
	size_t n = strlen(s), len;
	const char *p;

	if (i < 0 || i >= d->n)
		return false;
	p = json_text(d, i, &len);
	return len == n && memcmp(p, s, n) == 0;
}

bool json_str_eq(const struct json_doc *d, int i, const char *s)
{
	return json_is(d, i, JSMN_STRING) && json_text_eq(d, i, s);
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

long json_str(const struct json_doc *d, int i, char *out, size_t cap)
{
	size_t n;
	const char *p;
	long r;

	if (!json_is(d, i, JSMN_STRING))
		return -1;
	p = json_text(d, i, &n);
	r = json_unescape(p, n, out, cap);
	return r < 0 ? -1 : r;
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

/* Four hex digits at s (either case): the value, or -1. */
static long hex4(const char *s)
{
	long v = 0;

	for (int k = 0; k < 4; k++) {
		int h = hex_digit_value(s[k]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Code point cp (at most 0x10ffff) as UTF-8 into o; returns its length. */
static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The code point of the \u escape at s[i] == 'u' (a surrogate pair takes
 * two escapes); *i moves to its last digit. -1 when malformed. */
static long unicode_escape(const char *s, size_t n, size_t *i)
{
	long cp, lo;

	if (n - *i - 1 < 4 || (cp = hex4(s + *i + 1)) < 0)
		return -1;
	*i += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (n - *i - 1 < 6 || s[*i + 1] != '\\' || s[*i + 2] != 'u' ||
		    (lo = hex4(s + *i + 3)) < 0xdc00 || lo > 0xdfff)
			return -1;
		*i += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return cp;
}

long json_unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char tmp[4];
		size_t k = 1;
		unsigned char c = (unsigned char)s[i];
		long cp;

		if (c < 0x20)
			return -EBADMSG;
		tmp[0] = (char)c;
		if (c == '\\') {
			if (++i >= n)
				return -EBADMSG;
			switch (s[i]) {
			case '"': tmp[0] = '"'; break;
			case '\\': tmp[0] = '\\'; break;
			case '/': tmp[0] = '/'; break;
			case 'b': tmp[0] = '\b'; break;
			case 'f': tmp[0] = '\f'; break;
			case 'n': tmp[0] = '\n'; break;
			case 'r': tmp[0] = '\r'; break;
			case 't': tmp[0] = '\t'; break;
			case 'u':
				if ((cp = unicode_escape(s, n, &i)) < 0)
					return -EBADMSG;
				k = put_utf8(tmp, (uint32_t)cp);
				break;
			default:
				return -EBADMSG;
			}
		}
		if (cap - o <= k)
			return -ENOSPC;
		memcpy(out + o, tmp, k);
		o += k;
	}
	if (o >= cap)
		return -ENOSPC;
	out[o] = '\0';
	return (long)o;
}
