/* net/egress_http.c: strict HTTP/1.1 request heads, body framing and the
 * header rewrite of the egress proxy (net/egress_http.h). */
#include "net/egress_http.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "lib/errbuf.h"
#include "lib/hex.h"

static bool tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* buf[0..n) equals the lowercase name s in any case? */
static bool name_eq(const char *buf, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n && s[i] != '\0'; i++)
		if (lower(buf[i]) != s[i])
			return false;
	return i == n && s[i] == '\0';
}

bool eh_header_is(const char *buf, const struct eh_header *x, const char *name)
{
	return name_eq(buf + x->name, x->name_len, name);
}

/* The request line buf[0..n) (no CRLF). */
static int request_line(const char *buf, size_t n, struct eh_head *h, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < n && i < EH_METHOD_MAX && buf[i] >= 'A' && buf[i] <= 'Z')
		i++;
	if (i == 0 || i >= n || buf[i] != ' ')
		return errbuf_set(err, errlen, -EINVAL, "bad request line: a method, then one space");
	memcpy(h->method, buf, i);
	h->method[i] = '\0';
	h->method_len = i;
	size_t ts = ++i;
	while (i < n && (unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f)
		i++;
	if (i == ts || i >= n || buf[i] != ' ')
		return errbuf_set(err, errlen, -EINVAL, "bad request line: a target, then one space");
	size_t te = i++;
	if (n - i != 8 || (memcmp(buf + i, "HTTP/1.1", 8) != 0 && memcmp(buf + i, "HTTP/1.0", 8) != 0))
		return errbuf_set(err, errlen, -EINVAL, "bad request line: HTTP/1.1 or HTTP/1.0 at its end");
	h->http10 = buf[i + 7] == '0';
	h->target = (uint16_t)ts;
	h->target_len = (uint16_t)(te - ts);
	const char *t = buf + ts;
	size_t tn = te - ts;
	if (h->method_len == 7 && memcmp(buf, "CONNECT", 7) == 0)
		h->kind = EH_T_AUTHORITY;
	else if ((tn > 7 && strncasecmp(t, "http://", 7) == 0) ||
		 (tn > 8 && strncasecmp(t, "https://", 8) == 0))
		h->kind = EH_T_ABSOLUTE;
	else if (t[0] == '/')
		h->kind = EH_T_ORIGIN;
	else
		return errbuf_set(err, errlen, -EINVAL,
				  "bad target: an authority (CONNECT), an absolute-form URL or a path");
	return 0;
}

/* Content-Length's value: 1DIGIT..., at most EH_CL_MAX. */
static int content_length(const char *v, size_t n, uint64_t *out, char *err, size_t errlen)
{
	uint64_t x = 0;

	if (n == 0 || n > 16)
		return errbuf_set(err, errlen, -EINVAL, "a Content-Length that is not one decimal number");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return errbuf_set(err, errlen, -EINVAL,
					  "a Content-Length that is not one decimal number");
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > EH_CL_MAX)
		return errbuf_set(err, errlen, -EINVAL, "a Content-Length over 2^53");
	*out = x;
	return 0;
}

/* A response's status line buf[0..n) (no CRLF): HTTP/1.x, one space,
 * three digits, one space and a reason of visible bytes, SP and HT (the
 * space may be missing when the reason is empty). */
static int status_line(const char *buf, size_t n, struct eh_head *h, char *err, size_t errlen)
{
	if (n < 12 || (memcmp(buf, "HTTP/1.1 ", 9) != 0 && memcmp(buf, "HTTP/1.0 ", 9) != 0))
		return errbuf_set(err, errlen, -EINVAL, "bad status line: HTTP/1.1 or HTTP/1.0, one space");
	h->http10 = buf[7] == '0';
	for (size_t i = 9; i < 12; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return errbuf_set(err, errlen, -EINVAL, "bad status line: a three-digit status");
	h->status = (unsigned)((buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0'));
	if (h->status < 100)
		return errbuf_set(err, errlen, -EINVAL, "bad status line: a status below 100");
	if (n > 12 && buf[12] != ' ')
		return errbuf_set(err, errlen, -EINVAL, "bad status line: one space before the reason");
	for (size_t i = 13; i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return errbuf_set(err, errlen, -EINVAL, "a control byte in the reason phrase");
	}
	return 0;
}

/* The framing headers, once per head: Content-Length xor chunked. */
static int framing(const char *buf, struct eh_head *h, char *err, size_t errlen)
{
	unsigned ncl = 0, nte = 0;

	for (unsigned k = 0; k < h->nhdr; k++) {
		const struct eh_header *x = &h->h[k];
		const char *v = buf + x->value;
		if (eh_header_is(buf, x, "content-length")) {
			if (++ncl > 1)
				return errbuf_set(err, errlen, -EINVAL, "two Content-Length headers");
			if (content_length(v, x->value_len, &h->length, err, errlen) < 0)
				return -EINVAL;
		} else if (eh_header_is(buf, x, "transfer-encoding")) {
			if (++nte > 1)
				return errbuf_set(err, errlen, -EINVAL, "two Transfer-Encoding headers");
			if (!name_eq(v, x->value_len, "chunked"))
				return errbuf_set(err, errlen, -EINVAL,
						  "a Transfer-Encoding other than chunked");
		}
	}
	if (ncl > 0 && nte > 0)
		return errbuf_set(err, errlen, -EINVAL, "both Content-Length and Transfer-Encoding");
	if (nte > 0 && h->http10)
		return errbuf_set(err, errlen, -EINVAL, "Transfer-Encoding in an HTTP/1.0 message");
	/* a response with neither runs to the connection's end (RFC 9112 6.3) */
	h->framing = nte > 0 ? EH_BODY_CHUNKED : ncl > 0 ? EH_BODY_LENGTH :
		     h->status != 0 ? EH_BODY_CLOSE : EH_BODY_NONE;
	return 0;
}

/* The next of the comma-separated tokens of v[0..n) from *i, OWS
 * around it trimmed, into t[0..*tn): false past the last. */
static bool list_next(const char *v, size_t n, size_t *i, const char **t, size_t *tn)
{
	if (*i > n)
		return false;
	size_t e = *i;
	while (e < n && v[e] != ',')
		e++;
	size_t a = *i, b = e;
	while (a < b && (v[a] == ' ' || v[a] == '\t'))
		a++;
	while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
		b--;
	*t = v + a;
	*tn = b - a;
	*i = e + 1;
	return true;
}

/* Is tok (lowercase) one of the comma-separated tokens of v[0..n), in
 * any case? */
static bool list_has(const char *v, size_t n, const char *tok)
{
	size_t i = 0, tn;
	const char *t;

	while (list_next(v, n, &i, &t, &tn))
		if (name_eq(t, tn, tok))
			return true;
	return false;
}

/* Is x a Connection line whose tokens are only "close" and
 * "keep-alive" (empty ones aside)? */
static bool close_only(const char *buf, const struct eh_header *x)
{
	size_t i = 0, tn;
	const char *t;
	const char *v = buf + x->value;

	if (!eh_header_is(buf, x, "connection"))
		return false;
	while (list_next(v, x->value_len, &i, &t, &tn))
		if (tn > 0 && !name_eq(t, tn, "close") && !name_eq(t, tn, "keep-alive"))
			return false;
	return true;
}

/* h->close_hop of a request: HTTP/1.1, "close" in Connection, and every
 * Connection line close_only. */
static bool close_hop(const char *buf, const struct eh_head *h)
{
	bool any = false;

	if (h->http10 || h->status != 0)
		return false;
	for (unsigned k = 0; k < h->nhdr; k++) {
		if (!eh_header_is(buf, &h->h[k], "connection"))
			continue;
		if (!close_only(buf, &h->h[k]))
			return false;
		any |= list_has(buf + h->h[k].value, h->h[k].value_len, "close");
	}
	return any;
}

/* The one header of h named name: its index, -1 when none, -2 when more
 * than one. */
static int only(const char *buf, const struct eh_head *h, const char *name)
{
	int at = -1;

	for (unsigned k = 0; k < h->nhdr; k++)
		if (eh_header_is(buf, &h->h[k], name)) {
			if (at >= 0)
				return -2;
			at = (int)k;
		}
	return at;
}

/* Do the Connection headers (one or more) name tok (lowercase)? */
static bool connection_has(const char *buf, const struct eh_head *h, const char *tok)
{
	for (unsigned k = 0; k < h->nhdr; k++)
		if (eh_header_is(buf, &h->h[k], "connection") &&
		    list_has(buf + h->h[k].value, h->h[k].value_len, tok))
			return true;
	return false;
}

/* A Sec-WebSocket-Key: base64 of 16 bytes, 24 characters, "==" last. */
static bool ws_key(const char *v, size_t n)
{
	if (n != 24 || v[22] != '=' || v[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++)
		if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
		      (v[i] >= '0' && v[i] <= '9') || v[i] == '+' || v[i] == '/'))
			return false;
	return true;
}

/* A request's Upgrade header, if any: the one WebSocket handshake,
 * whole, else refused; a 101's: its acceptance, else refused. */
static int upgrade(const char *buf, struct eh_head *h, char *err, size_t errlen)
{
	int u = only(buf, h, "upgrade");

	if (u == -1 && h->status == 0)
		return 0;
	if (u == -2)
		return errbuf_set(err, errlen, -EINVAL, "two Upgrade headers");
	if (u < 0 || !name_eq(buf + h->h[u].value, h->h[u].value_len, "websocket"))
		return errbuf_set(err, errlen, -EINVAL,
				  "an Upgrade other than websocket (the only one relayed)");
	if (!connection_has(buf, h, "upgrade"))
		return errbuf_set(err, errlen, -EINVAL, "Upgrade without \"upgrade\" in Connection");
	if (h->http10)
		return errbuf_set(err, errlen, -EINVAL, "Upgrade in HTTP/1.0");
	if (h->status == 0) {
		int key = only(buf, h, "sec-websocket-key");
		int ver = only(buf, h, "sec-websocket-version");
		if (h->method_len != 3 || memcmp(h->method, "GET", 3) != 0)
			return errbuf_set(err, errlen, -EINVAL, "a WebSocket handshake that is not a GET");
		if (h->framing != EH_BODY_NONE)
			return errbuf_set(err, errlen, -EINVAL, "a WebSocket handshake with a body");
		if (key < 0 || !ws_key(buf + h->h[key].value, h->h[key].value_len))
			return errbuf_set(err, errlen, -EINVAL,
					  "a WebSocket handshake without one Sec-WebSocket-Key of 16 bytes");
		if (ver < 0 || !name_eq(buf + h->h[ver].value, h->h[ver].value_len, "13"))
			return errbuf_set(err, errlen, -EINVAL,
					  "a WebSocket handshake without one Sec-WebSocket-Version: 13");
	}
	h->upgrade = EH_UP_WEBSOCKET;
	return 0;
}

/* A header line buf[start..start+n) (no CRLF) into h. */
static int header_line(const char *buf, size_t start, size_t n, struct eh_head *h, char *err,
		       size_t errlen)
{
	const char *l = buf + start;
	size_t i = 0;

	if (h->nhdr == EH_HDR_MAX)
		return errbuf_set(err, errlen, -EINVAL, "more than %d header lines", EH_HDR_MAX);
	if (l[0] == ' ' || l[0] == '\t')
		return errbuf_set(err, errlen, -EINVAL, "a folded header line");
	while (i < n && tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ':')
		return errbuf_set(err, errlen, -EINVAL, "bad header line: a token name, then ':'");
	size_t a = i + 1, b = n;
	for (size_t j = a; j < n; j++) {
		unsigned char ch = (unsigned char)l[j];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return errbuf_set(err, errlen, -EINVAL, "a control byte in a header value");
	}
	while (a < b && (l[a] == ' ' || l[a] == '\t'))
		a++;
	while (b > a && (l[b - 1] == ' ' || l[b - 1] == '\t'))
		b--;
	struct eh_header *x = &h->h[h->nhdr];
	x->line = (uint16_t)start;
	x->line_len = (uint16_t)(n + 2);
	x->name = (uint16_t)start;
	x->name_len = (uint16_t)i;
	x->value = (uint16_t)(start + a);
	x->value_len = (uint16_t)(b - a);
	if (eh_header_is(buf, x, "host")) {
		h->host = (int)h->nhdr;
		h->nhost++;
	}
	h->nhdr++;
	return 0;
}

/* A head: a request's (response false) or a response's. */
static long head_parse(const char *buf, size_t len, bool response, struct eh_head *h, char *err,
		       size_t errlen)
{
	size_t start = 0;
	unsigned line = 0;

	memset(h, 0, sizeof *h);
	h->host = -1;
	if (len > EH_HEAD_MAX)
		len = EH_HEAD_MAX;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			return errbuf_set(err, errlen, -EINVAL, "a bare LF: lines end in CRLF");
		if (buf[i] != '\r')
			continue;
		if (i + 1 == len)
			return 0;                       /* the LF may come */
		if (buf[i + 1] != '\n')
			return errbuf_set(err, errlen, -EINVAL, "a bare CR");
		size_t n = i - start;
		int rc;
		if (line == 0)
			rc = response ? status_line(buf, n, h, err, errlen) :
				   request_line(buf, n, h, err, errlen);
		else if (n == 0) {
			h->head_len = i + 2;
			/* RFC 9112 9.3: HTTP/1.1 persists unless "close";
			 * HTTP/1.0 only with "keep-alive" */
			h->persist = !connection_has(buf, h, "close") &&
				     (!h->http10 || connection_has(buf, h, "keep-alive"));
			h->close_hop = close_hop(buf, h);
			if (framing(buf, h, err, errlen) < 0 ||
			    (!response && upgrade(buf, h, err, errlen) < 0))
				return -EINVAL;
			return (long)h->head_len;
		} else
			rc = header_line(buf, start, n, h, err, errlen);
		if (rc < 0)
			return rc;
		line++;
		start = i + 2;
		i++;
	}
	return 0;
}

long eh_head_parse(const char *buf, size_t len, struct eh_head *h, char *err, size_t errlen)
{
	return head_parse(buf, len, false, h, err, errlen);
}

long eh_resp_parse(const char *buf, size_t len, unsigned flags, struct eh_head *h, char *err,
		   size_t errlen)
{
	long n = head_parse(buf, len, true, h, err, errlen);

	/* no body: an interim answer, 204, 304, any answer to HEAD */
	if (n > 0 && (h->status < 200 || h->status == 204 || h->status == 304 ||
		      (flags & EH_RESP_HEAD)))
		h->framing = EH_BODY_NONE;
	if (n > 0 && h->status == 101 && !(flags & EH_RESP_UPGRADE))
		return errbuf_set(err, errlen, -EINVAL, "101 Switching Protocols (no upgrade was asked)");
	/* an Upgrade on another status is an advertisement (426, 200): kept */
	if (n > 0 && h->status == 101 && upgrade(buf, h, err, errlen) < 0)
		return -EINVAL;
	return n;
}

/* --- bodies --------------------------------------------------------------------- */

void eh_body_begin(struct eh_body *b, const struct eh_head *h)
{
	memset(b, 0, sizeof *b);
	if (h->framing == EH_BODY_CHUNKED)
		b->st = EH_B_SIZE;
	else if (h->framing == EH_BODY_LENGTH && h->length > 0) {
		b->st = EH_B_LENGTH;
		b->left = h->length;
	}
}

/* One byte of chunk framing (not data). 0, or -EINVAL. */
static int chunk_byte(struct eh_body *b, uint8_t ch, char *err, size_t errlen)
{
	int v;

	switch (b->st) {
	case EH_B_SIZE:
		if ((v = hex_digit_value((char)ch)) >= 0) {
			if (++b->count > 15)
				return errbuf_set(err, errlen, -EINVAL, "a chunk size over 15 hex digits");
			b->left = b->left * 16 + (uint64_t)v;
			return 0;
		}
		if (b->count == 0)
			return errbuf_set(err, errlen, -EINVAL, "a chunk line without a size");
		b->last = b->left == 0;
		b->count = 0;
		if (ch == ';') {
			b->st = EH_B_EXT;
			return 0;
		}
		if (ch == '\r') {
			b->st = EH_B_SIZE_LF;
			return 0;
		}
		return errbuf_set(err, errlen, -EINVAL, "a chunk size followed by neither ';' nor CRLF");
	case EH_B_EXT:
		if (ch == '\r') {
			b->st = EH_B_SIZE_LF;
			return 0;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f || ++b->count > EH_CHUNK_EXT_MAX)
			return errbuf_set(err, errlen, -EINVAL,
					  "a chunk extension with a control byte or over %d bytes",
					  EH_CHUNK_EXT_MAX);
		return 0;
	case EH_B_SIZE_LF:
		if (ch != '\n')
			return errbuf_set(err, errlen, -EINVAL, "a bare CR in a chunk line");
		b->st = b->last ? EH_B_TRAILER_CR : EH_B_DATA;
		return 0;
	case EH_B_DATA_CR:
		if (ch != '\r')
			return errbuf_set(err, errlen, -EINVAL, "chunk data longer than its size");
		b->st = EH_B_DATA_LF;
		return 0;
	case EH_B_DATA_LF:
		if (ch != '\n')
			return errbuf_set(err, errlen, -EINVAL, "a bare CR after chunk data");
		b->st = EH_B_SIZE;
		b->left = 0;
		return 0;
	case EH_B_TRAILER_CR:
		if (ch != '\r')
			return errbuf_set(err, errlen, -EINVAL,
					  "a trailer field after the last chunk (trailers are refused)");
		b->st = EH_B_TRAILER_LF;
		return 0;
	case EH_B_TRAILER_LF:
		if (ch != '\n')
			return errbuf_set(err, errlen, -EINVAL, "a bare CR after the last chunk");
		b->st = EH_B_DONE;
		return 0;
	default:
		return errbuf_set(err, errlen, -EINVAL, "no body");
	}
}

long eh_body_feed(struct eh_body *b, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < n && b->st != EH_B_DONE) {
		if (b->st == EH_B_LENGTH || b->st == EH_B_DATA) {
			size_t k = n - i;
			if ((uint64_t)k > b->left)
				k = (size_t)b->left;
			i += k;
			b->left -= k;
			if (b->left == 0)
				b->st = b->st == EH_B_LENGTH ? EH_B_DONE : EH_B_DATA_CR;
			continue;
		}
		if (chunk_byte(b, p[i], err, errlen) < 0)
			return -EINVAL;
		i++;
	}
	return (long)i;
}

/* --- the rewrite -------------------------------------------------------------------- */

static bool dropped(const char *buf, const struct eh_header *x, const struct policy_rule *r)
{
	for (unsigned k = 0; k < r->nstrip; k++)
		if (eh_header_is(buf, x, r->strip_headers[k]))
			return true;
	for (unsigned k = 0; k < r->ninject; k++)
		if (eh_header_is(buf, x, r->inject[k].header))
			return true;
	return false;
}

/* Appends s[0..n) at out[*at]; false when it does not fit. */
static bool put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
	if (n > cap - *at)
		return false;
	memcpy(out + *at, s, n);
	*at += n;
	return true;
}

long eh_rewrite(const char *buf, const struct eh_head *h, const char *target, size_t target_len,
		const struct policy_rule *r, const char *const *value, const size_t *vlen,
		char *out, size_t cap, char *err, size_t errlen)
{
	size_t at = 0;
	bool ok;

	for (unsigned k = 0; k < r->ninject; k++)
		for (size_t i = 0; i < vlen[k]; i++) {
			unsigned char ch = (unsigned char)value[k][i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return errbuf_set(err, errlen, -EINVAL,
						  "secret_invalid: the value for %s has a control byte",
						  r->inject[k].header);
		}
	ok = put(out, cap, &at, h->method, h->method_len) && put(out, cap, &at, " ", 1) &&
	     put(out, cap, &at, target, target_len) &&
	     put(out, cap, &at, h->http10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n", 11);
	for (unsigned k = 0; ok && k < h->nhdr; k++)
		if (!dropped(buf, &h->h[k], r) && !(h->close_hop && close_only(buf, &h->h[k])))
			ok = put(out, cap, &at, buf + h->h[k].line, h->h[k].line_len);
	for (unsigned k = 0; ok && k < r->ninject; k++)
		ok = put(out, cap, &at, r->inject[k].header, strlen(r->inject[k].header)) &&
		     put(out, cap, &at, ": ", 2) && put(out, cap, &at, value[k], vlen[k]) &&
		     put(out, cap, &at, "\r\n", 2);
	if (!ok || !put(out, cap, &at, "\r\n", 2))
		return errbuf_set(err, errlen, -ENOSPC, "the rewritten head is over %zu bytes", cap);
	return (long)at;
}
