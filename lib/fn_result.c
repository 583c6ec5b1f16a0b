/* lib/fn_result.c: see fn_result.h. */
#include "lib/fn_result.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "lib/bbuf.h"
#include "lib/errbuf.h"
#include "lib/utf8.h"

static const char ctype_text[] = "text/html; charset=utf-8";
static const char ctype_json[] = "application/json; charset=utf-8";

/* Headers a function may not set: hop-by-hop (RFC 9110 7.6.1, and the
 * Proxy-Connection and Keep-Alive of old clients), the ones netd writes
 * on every reply, and, by prefix, dshield's own. */
static const char *const dropped[] = {
	"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
	"proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
	"content-length", "cache-control",
};
static const char dshield_prefix[] = "x-dshield-";

/* RFC 9110 tchar. */
static int token_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int is_dropped(const char *name, size_t n)
{
	if (n >= sizeof dshield_prefix - 1 &&
	    strncasecmp(name, dshield_prefix, sizeof dshield_prefix - 1) == 0)
		return 1;
	for (size_t k = 0; k < sizeof dropped / sizeof dropped[0]; k++)
		if (strlen(dropped[k]) == n && strncasecmp(name, dropped[k], n) == 0)
			return 1;
	return 0;
}

/* String token i decoded into out[0..room) plus a NUL: its length, or
 * -EBADMSG (a bad escape, a lone surrogate) or -ENOSPC. json_str() says
 * only -1; a decoded string is never longer than its raw text, so a raw
 * text that fits with its NUL cannot have failed for room. */
static long decode_str(const struct json_doc *d, int i, char *out, size_t room)
{
	size_t raw;
	long n = json_str(d, i, out, room);

	if (n >= 0)
		return n;
	json_text(d, i, &raw);
	return raw < room ? -EBADMSG : -ENOSPC;
}

/* js parsed into toks and checked as strict JSON; what names the payload. */
static int parse_doc(struct json_doc *d, const char *js, size_t len, jsmntok_t *toks,
		     unsigned ntoks, const char *what, char *err, size_t errcap)
{
	int r = json_parse(d, js, len, toks, ntoks);

	if (r == -E2BIG)
		return errbuf_set(err, errcap, -E2BIG,
				  "the %s has more than %u JSON values", what, ntoks);
	if (r == 0)
		r = json_validate(d, FN_RESULT_MAX_DEPTH);
	if (r == -E2BIG)
		return errbuf_set(err, errcap, -EBADMSG,
				  "the %s is nested deeper than %d", what, FN_RESULT_MAX_DEPTH);
	if (r)
		return errbuf_set(err, errcap, -EBADMSG,
				  "the %s is not valid JSON (byte %zu)", what, d->err_at);
	return 0;
}

struct rctx {
	const struct json_doc *d;
	struct bbuf *b;
	char *err;
	size_t errcap;
};

/* Decodes string token i onto the end of b (without taking it: b->len
 * stays) and checks it. Returns its length or a negative errno. */
static long decode_tail(struct rctx *c, int i, size_t max, const char *what)
{
	struct bbuf *b = c->b;
	long n = decode_str(c->d, i, b->p + b->len, b->cap - b->len);

	if (n == -EBADMSG)
		return errbuf_set(c->err, c->errcap, -EBADMSG,
				  "a header %s is not a valid string", what);
	if (n < 0)
		return n;
	if ((size_t)n > max)
		return errbuf_set(c->err, c->errcap, -EBADMSG,
				  "a header %s is longer than %zu bytes", what, max);
	return n;
}

/* One header member: name token at i, value at i + 1. Appends its line
 * unless it is dropped; *ctype notes a Content-Type. */
static int header(struct rctx *c, int i, unsigned *kept, int *ctype)
{
	struct bbuf *b = c->b;
	size_t mark = b->len;
	long n, v;

	if (!json_is(c->d, i + 1, JSMN_STRING))
		return errbuf_set(c->err, c->errcap, -EBADMSG,
				  "a header value is not a string");
	if ((n = decode_tail(c, i, FN_HEADER_NAME_MAX, "name")) < 0)
		return (int)n;
	const char *name = b->p + mark;
	if (n == 0)
		return errbuf_set(c->err, c->errcap, -EBADMSG, "a header name is empty");
	for (long k = 0; k < n; k++)
		if (!token_char((unsigned char)name[k]))
			return errbuf_set(c->err, c->errcap, -EBADMSG,
					  "a header name has a byte outside RFC 9110 tchar");
	if (is_dropped(name, (size_t)n))
		return 0;
	if ((size_t)n == 12 && strncasecmp(name, "content-type", 12) == 0)
		*ctype = 1;
	if (++*kept > FN_REPLY_MAX_HEADERS)
		return errbuf_set(c->err, c->errcap, -EBADMSG,
				  "more than %d headers", FN_REPLY_MAX_HEADERS);
	b->len += (size_t)n;
	bbuf_str(b, ": ");
	if (b->overflow)
		return -ENOSPC;
	size_t at = b->len;
	if ((v = decode_tail(c, i + 1, FN_HEADER_VALUE_MAX, "value")) < 0)
		return (int)v;
	for (long k = 0; k < v; k++) {
		unsigned char ch = (unsigned char)b->p[at + (size_t)k];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return errbuf_set(c->err, c->errcap, -EBADMSG,
					  "a header value has a control byte");
	}
	b->len += (size_t)v;
	bbuf_str(b, "\r\n");
	return b->overflow ? -ENOSPC : 0;
}

static int headers(struct rctx *c, int obj, struct fn_reply *out, int *ctype)
{
	int i = obj + 1, r;

	if (!json_is(c->d, obj, JSMN_OBJECT))
		return errbuf_set(c->err, c->errcap, -EBADMSG, "headers is not an object");
	for (int k = 0; k < c->d->t[obj].size; k++) {
		if ((r = header(c, i, &out->nheaders, ctype)) != 0)
			return r;
		i = json_skip(c->d, i + 1);
	}
	return 0;
}

/* The top object's members, each known and at most once. */
static int members(struct rctx *c, int *status, int *hdrs, int *body)
{
	const struct json_doc *d = c->d;
	int i = 1;

	*status = *hdrs = *body = -1;
	if (!json_is(d, 0, JSMN_OBJECT))
		return errbuf_set(c->err, c->errcap, -EBADMSG, "the result is not an object");
	for (int k = 0; k < d->t[0].size; k++) {
		int *slot = json_str_eq(d, i, "statusCode") ? status :
			    json_str_eq(d, i, "headers") ? hdrs :
			    json_str_eq(d, i, "body") ? body : NULL;
		if (!slot)
			return errbuf_set(c->err, c->errcap, -EBADMSG,
					  "the result has a member other than statusCode, headers, body");
		if (*slot >= 0)
			return errbuf_set(c->err, c->errcap, -EBADMSG,
					  "the result has a member twice");
		*slot = i + 1;
		i = json_skip(d, i + 1);
	}
	if (*status < 0 || *hdrs < 0)
		return errbuf_set(c->err, c->errcap, -EBADMSG,
				  "the result lacks statusCode or headers");
	return 0;
}

/* The body's bytes: a string decoded behind the header lines, anything
 * else as its JSON text. */
static int body(struct rctx *c, int i, struct fn_reply *out, int ctype)
{
	const struct json_doc *d = c->d;
	struct bbuf *b = c->b;

	out->body = "";
	out->body_len = 0;
	out->content_type = NULL;
	if (i < 0 || (json_is(d, i, JSMN_PRIMITIVE) && json_text_eq(d, i, "null")))
		return 0;
	if (json_is(d, i, JSMN_STRING)) {
		long n = decode_str(d, i, b->p + b->len, b->cap - b->len);
		if (n == -EBADMSG)
			return errbuf_set(c->err, c->errcap, -EBADMSG,
					  "the body is not a valid string");
		if (n < 0)
			return (int)n;
		out->body = b->p + b->len;
		out->body_len = (size_t)n;
		out->content_type = ctype ? NULL : ctype_text;
		return 0;
	}
	size_t start = (size_t)d->t[i].start, end = (size_t)d->t[i].end;
	out->body = d->js + start;
	out->body_len = end - start;
	out->content_type = ctype ? NULL : ctype_json;
	return 0;
}

int fn_result_parse(const char *js, size_t len, jsmntok_t *toks, unsigned ntoks,
		    char *buf, size_t cap, struct fn_reply *out,
		    char *err, size_t errcap)
{
	struct json_doc d;
	struct bbuf b;
	struct rctx c = { .d = &d, .b = &b, .err = err, .errcap = errcap };
	int r, st, hd, bd, ctype = 0;
	uint64_t code;

	memset(out, 0, sizeof *out);
	if ((r = parse_doc(&d, js, len, toks, ntoks, "result", err, errcap)) != 0)
		return r;
	if ((r = members(&c, &st, &hd, &bd)) != 0)
		return r;
	if (json_uint(&d, st, 599, &code) != 0 || code < 100)
		return errbuf_set(err, errcap, -EBADMSG,
				  "statusCode is not an integer from 100 to 599");
	out->status = (int)code;
	bbuf_init(&b, buf, cap);
	if ((r = headers(&c, hd, out, &ctype)) != 0)
		return r;
	out->headers = buf;
	out->headers_len = b.len;
	bbuf_put(&b, "", 1);
	if (b.overflow)
		return -ENOSPC;
	return body(&c, bd, out, ctype);
}

long fn_message_parse(const char *js, size_t len, jsmntok_t *toks, unsigned ntoks,
		      char *buf, size_t cap, size_t max, char *err, size_t errcap)
{
	struct json_doc d;
	size_t i = 0, keep = 0;
	long n;
	int r;

	if ((r = parse_doc(&d, js, len, toks, ntoks, "message", err, errcap)) != 0)
		return r;
	if (!json_is(&d, 0, JSMN_OBJECT) || d.t[0].size != 1 ||
	    !json_str_eq(&d, 1, "message") || !json_is(&d, 2, JSMN_STRING))
		return errbuf_set(err, errcap, -EBADMSG,
				  "the payload is not {\"message\": string}");
	if ((n = decode_str(&d, 2, buf, cap)) == -EBADMSG)
		return errbuf_set(err, errcap, -EBADMSG, "the message is not a valid string");
	if (n < 0)
		return n;
	/* keep: the end of the last whole code point within max */
	while (i < (size_t)n) {
		if (utf8_next((const unsigned char *)buf, (size_t)n, &i) < 0)
			return errbuf_set(err, errcap, -EBADMSG, "the message is not UTF-8");
		if (i <= max)
			keep = i;
	}
	buf[keep] = '\0';
	return (long)keep;
}
