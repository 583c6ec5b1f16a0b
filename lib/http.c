/* lib/http.c: the HTTP/1.1 server core; see http.h.
 *
 * llhttp parses in strict mode straight from the caller's bytes; its
 * callbacks copy what we keep (URL, header fields, body) into the
 * connection's fixed buffers and refuse what does not fit. on_message_complete
 * returns HPE_PAUSED, so llhttp_execute() stops right behind a complete
 * request: the handler runs, and the bytes behind it (a pipelined request)
 * wait in c->in until the response was sent.
 *
 * The head limit is enforced by handing llhttp at most the bytes that would
 * still fit in HTTP_MAX_HEAD while the head is incomplete: if it consumed
 * all of them and the head is still not done, the head is too large.
 */
#include "lib/http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/bbuf.h"
#include "lib/jsonw.h"

static int on_message_begin(llhttp_t *p);
static int on_url(llhttp_t *p, const char *at, size_t n);
static int on_url_complete(llhttp_t *p);
static int on_header_field(llhttp_t *p, const char *at, size_t n);
static int on_header_field_complete(llhttp_t *p);
static int on_header_value(llhttp_t *p, const char *at, size_t n);
static int on_header_value_complete(llhttp_t *p);
static int on_headers_complete(llhttp_t *p);
static int on_body(llhttp_t *p, const char *at, size_t n);
static int on_message_complete(llhttp_t *p);

/* llhttp keeps a pointer to its settings: one shared constant table. */
static const llhttp_settings_t http_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_url_complete = on_url_complete,
	.on_header_field = on_header_field,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static uint32_t header_timeout(const struct http_conn *c)
{
	return c->srv->header_timeout_ms ? c->srv->header_timeout_ms
					 : HTTP_DEFAULT_HEADER_TIMEOUT_MS;
}

static uint32_t idle_timeout(const struct http_conn *c)
{
	return c->srv->idle_timeout_ms ? c->srv->idle_timeout_ms
				       : HTTP_DEFAULT_IDLE_TIMEOUT_MS;
}

/* Every entry point that gets a time calls this first. A response written
 * asynchronously (no time known) arms its write deadline here. */
static void set_now(struct http_conn *c, uint64_t now_ms)
{
	c->now_ms = now_ms;
	if (c->deadline_lazy) {
		c->deadline_ms = now_ms + idle_timeout(c);
		c->deadline_lazy = false;
	}
}

/* --- parser callbacks ---------------------------------------------------- */

static struct http_conn *conn_of(llhttp_t *p)
{
	return p->data;
}

/* Records why a callback refused the request; the llhttp error that
 * follows is answered with this status instead of a generic 400. */
static int refuse(struct http_conn *c, int status, const char *code, const char *msg)
{
	if (!c->error_status) {
		c->error_status = status;
		c->error_code = code;
		c->error_msg = msg;
	}
	return HPE_USER;
}

static int refuse_head(struct http_conn *c)
{
	return refuse(c, 431, "header_too_large",
		      "the request head is larger than 8192 bytes or has more than 64 fields");
}

static int refuse_body(struct http_conn *c)
{
	return refuse(c, 413, "payload_too_large", "the body is larger than 65536 bytes");
}

/* A streamed body's descriptor goes back to the route that gave it. */
static void body_release(struct http_conn *c)
{
	int fd = c->body_fd;

	if (fd < 0)
		return;
	c->body_fd = -1;
	if (c->srv->body_close)
		c->srv->body_close(c->srv->ctx, c, fd);
}

static int refuse_stream_body(struct http_conn *c)
{
	snprintf(c->error_buf, sizeof c->error_buf, "the body is larger than %llu bytes",
		 (unsigned long long)c->body_limit);
	return refuse(c, 413, "body_too_large", c->error_buf);
}

/* Asks the route whether this request's body is streamed to a descriptor. */
static int body_mode(struct http_conn *c, llhttp_t *p)
{
	int fd = -1;
	long lim;

	if (c->srv->body_open == NULL)
		return 0;
	lim = c->srv->body_open(c->srv->ctx, c, (llhttp_method_t)p->method, c->hbuf, &fd);
	if (lim < 0)
		return refuse(c, 503, "busy", "too many large request bodies in progress; retry");
	if (lim == 0 || fd < 0)
		return 0;
	c->body_fd = fd;
	c->body_limit = (uint64_t)lim;
	c->body_deadline0 = c->deadline_ms;
	return 0;
}

/* Appends body bytes to the streamed body's descriptor (a memfd: a write
 * takes everything unless memory is short). */
static int body_write(struct http_conn *c, const char *at, size_t n)
{
	if (n > c->body_limit - c->body_len)
		return refuse_stream_body(c);
	while (n > 0) {
		ssize_t w = write(c->body_fd, at, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return refuse(c, 500, "internal", "cannot store the request body");
		at += w;
		n -= (size_t)w;
		c->body_len += (size_t)w;
	}
	/* 1 ms more per 64 bytes: a large body may take its time, not forever */
	c->deadline_ms = c->body_deadline0 + c->body_len / 64;
	return 0;
}

static int hbuf_put(struct http_conn *c, const char *s, size_t n)
{
	if (n > sizeof c->hbuf - c->hlen)
		return refuse_head(c);
	memcpy(c->hbuf + c->hlen, s, n);
	c->hlen += n;
	return 0;
}

static int on_message_begin(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);

	c->hlen = 0;
	c->url_len = 0;
	c->nhdr = 0;
	c->body_len = 0;
	c->head_done = false;
	c->message_done = false;
	c->field_open = false;
	c->value_open = false;
	c->head_method = false;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = conn_of(p);

	if (n > HTTP_MAX_URL - c->url_len)
		return refuse(c, 414, "uri_too_long",
			      "the request target is longer than 2048 bytes");
	c->url_len += n;
	return hbuf_put(c, at, n);
}

static int on_url_complete(llhttp_t *p)
{
	return hbuf_put(conn_of(p), "", 1);
}

/* Header nhdr's name starts at the current end of hbuf. */
static int field_start(struct http_conn *c)
{
	if (c->nhdr >= HTTP_MAX_HEADERS)
		return refuse_head(c);
	c->hdr[c->nhdr][0] = (uint16_t)c->hlen;
	c->field_open = true;
	return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = conn_of(p);

	if (!c->field_open && field_start(c))
		return HPE_USER;
	return hbuf_put(c, at, n);
}

static int on_header_field_complete(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);

	/* !field_open cannot happen: llhttp refuses empty names. */
	if (!c->field_open && field_start(c))
		return HPE_USER;
	c->field_open = false;
	return hbuf_put(c, "", 1);
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = conn_of(p);

	if (!c->value_open) {
		c->hdr[c->nhdr][1] = (uint16_t)c->hlen;
		c->value_open = true;
	}
	return hbuf_put(c, at, n);
}

static int on_header_value_complete(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);

	if (!c->value_open)     /* empty value: no on_header_value */
		c->hdr[c->nhdr][1] = (uint16_t)c->hlen;
	c->value_open = false;
	/* llhttp skips leading whitespace; trailing whitespace is ours. */
	while (c->hlen > c->hdr[c->nhdr][1] &&
	       (c->hbuf[c->hlen - 1] == ' ' || c->hbuf[c->hlen - 1] == '\t'))
		c->hlen--;
	if (hbuf_put(c, "", 1))
		return HPE_USER;
	c->nhdr++;
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);

	c->head_done = true;
	c->head_method = p->method == HTTP_HEAD;
	if (p->http_major != 1) {
		refuse(c, 505, "http_version_not_supported", "only HTTP/1.x is served");
		return -1;
	}
	if (body_mode(c, p))
		return -1;
	if (c->body_fd >= 0) {
		if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->body_limit) {
			refuse_stream_body(c);
			return -1;
		}
		return 0;
	}
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > HTTP_MAX_BODY) {
		refuse_body(c);
		return -1;
	}
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = conn_of(p);

	if (c->body_fd >= 0)
		return body_write(c, at, n);
	if (n > HTTP_MAX_BODY - c->body_len)
		return refuse_body(c);
	memcpy(c->body + c->body_len, at, n);
	c->body_len += n;
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	conn_of(p)->message_done = true;
	return HPE_PAUSED;
}

/* --- request flow ---------------------------------------------------------- */

/* Answers a request the core refused itself; the connection closes after. */
static void fail(struct http_conn *c, int status, const char *code, const char *msg)
{
	body_release(c);
	c->keep_alive = false;
	c->in_len = 0;
	c->state = HTTP_CONN_PENDING;
	http_respond_error(c, status, code, msg);
}

static void fail_parse(struct http_conn *c)
{
	const char *reason;

	if (c->error_status) {
		fail(c, c->error_status, c->error_code, c->error_msg);
		return;
	}
	reason = llhttp_get_error_reason(&c->parser);
	fail(c, 400, "bad_request", reason && *reason ? reason : "malformed request");
}

/* Splits the URL in hbuf into path and query and runs the handler. */
static void dispatch(struct http_conn *c)
{
	struct http_request *r = &c->req;
	char *url = c->hbuf;
	char *q;

	c->keep_alive = llhttp_should_keep_alive(&c->parser) &&
			!c->parser.upgrade && !c->peer_eof;
	memset(r, 0, sizeof *r);
	r->method = (llhttp_method_t)c->parser.method;
	r->keep_alive = c->keep_alive;
	r->body = c->body_fd >= 0 ? NULL : c->body;
	r->body_len = c->body_len;
	r->body_fd = c->body_fd;
	r->header_count = c->nhdr;
	r->conn_ = c;

	/* A fragment is never sent by conforming clients; drop it if one is. */
	q = strchr(url, '#');
	if (q)
		*q = '\0';
	q = strchr(url, '?');
	if (q) {
		*q = '\0';
		r->query = q + 1;
	} else {
		r->query = "";
	}
	r->path = url;

	c->state = HTTP_CONN_PENDING;
	c->deadline_ms = c->now_ms + idle_timeout(c);
	c->deadline_lazy = false;
	c->srv->handler(c->srv->ctx, c, r);
	/* the handler read what it needed of a streamed body */
	body_release(c);
}

/* Parses bytes while READING; returns how many were consumed. Stops right
 * behind a complete request (after running its handler) or on an error. */
static size_t parse(struct http_conn *c, const uint8_t *data, size_t len)
{
	size_t off = 0;

	while (off < len && c->state == HTTP_CONN_READING) {
		const char *at = (const char *)data + off;
		size_t n = len - off, used = n;
		llhttp_errno_t e;

		if (!c->head_done && n > HTTP_MAX_HEAD - c->req_bytes)
			n = HTTP_MAX_HEAD - c->req_bytes;
		e = llhttp_execute(&c->parser, at, n);
		used = n;
		if (e == HPE_PAUSED) {
			used = (size_t)(llhttp_get_error_pos(&c->parser) - at);
			llhttp_resume(&c->parser);
		} else if (e != HPE_OK) {
			fail_parse(c);
			return len;
		}
		off += used;
		c->req_bytes += used;
		if (c->message_done) {
			dispatch(c);
			break;
		}
		if (!c->head_done && c->req_bytes >= HTTP_MAX_HEAD) {
			refuse_head(c);
			fail_parse(c);
			return len;
		}
		if (c->req_bytes > (c->body_fd >= 0 ? HTTP_MAX_HEAD + 2 * c->body_limit
						      : HTTP_MAX_WIRE)) {
			fail(c, 413, "payload_too_large",
			     "the request is larger than its body limit allows");
			return len;
		}
	}
	return off;
}

static void start_request(struct http_conn *c)
{
	c->in_request = true;
	c->deadline_ms = c->now_ms + header_timeout(c);
	c->deadline_lazy = false;
}

/* Back to READING after a response; then the buffered bytes, if any. */
static void next_request(struct http_conn *c)
{
	size_t used;

	c->state = HTTP_CONN_READING;
	c->in_request = false;
	c->head_done = false;
	c->message_done = false;
	c->error_status = 0;
	c->req_bytes = 0;
	c->deadline_ms = c->now_ms + idle_timeout(c);
	c->deadline_lazy = false;
	if (c->in_len == 0) {
		if (c->peer_eof)
			c->state = HTTP_CONN_CLOSED;
		return;
	}
	start_request(c);
	used = parse(c, c->in, c->in_len);
	if (c->state == HTTP_CONN_CLOSING || c->state == HTTP_CONN_CLOSED) {
		c->in_len = 0;
		return;
	}
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	if (c->state == HTTP_CONN_READING && c->peer_eof)
		c->state = HTTP_CONN_CLOSED;   /* the rest can never complete */
}

/* --- public ----------------------------------------------------------------- */

void http_conn_init(struct http_conn *c, const struct http_server *srv,
		    uint32_t id, uint64_t now_ms)
{
	/* The big buffers need no clearing: lengths say what is valid. */
	memset(c, 0, offsetof(struct http_conn, hbuf));
	c->hlen = c->url_len = 0;
	c->nhdr = 0;
	c->body_len = 0;
	c->in_len = 0;
	c->out_len = c->out_sent = 0;
	c->streaming = false;
	c->stream_left = 0;
	c->stream_want = 0;
	memset(&c->req, 0, sizeof c->req);
	c->body_fd = -1;
	c->req.body_fd = -1;
	c->srv = srv;
	c->id = id;
	c->now_ms = now_ms;
	llhttp_init(&c->parser, HTTP_REQUEST, &http_settings);
	c->parser.data = c;
	c->state = HTTP_CONN_READING;
	/* A fresh connection gets the short timeout: nothing to answer yet. */
	c->deadline_ms = now_ms + header_timeout(c);
}

size_t http_conn_room(const struct http_conn *c)
{
	switch (c->state) {
	case HTTP_CONN_READING:
	case HTTP_CONN_PENDING:
	case HTTP_CONN_WRITING:
		return sizeof c->in - c->in_len;
	default:
		return 0;
	}
}

size_t http_conn_feed(struct http_conn *c, const uint8_t *data, size_t len,
		      uint64_t now_ms)
{
	size_t used, k;

	set_now(c, now_ms);
	if (len == 0)
		return 0;
	switch (c->state) {
	case HTTP_CONN_CLOSING:
	case HTTP_CONN_CLOSED:
		return len;
	case HTTP_CONN_PENDING:
	case HTTP_CONN_WRITING:
		k = len < sizeof c->in - c->in_len ? len : sizeof c->in - c->in_len;
		memcpy(c->in + c->in_len, data, k);
		c->in_len += k;
		return k;
	case HTTP_CONN_READING:
		break;
	}
	/* READING: c->in is empty (it is drained whenever READING resumes). */
	if (!c->in_request)
		start_request(c);
	used = parse(c, data, len);
	if (c->state == HTTP_CONN_READING)
		return used;
	if (c->state == HTTP_CONN_CLOSING || c->state == HTTP_CONN_CLOSED)
		return len;
	k = len - used;
	if (k > sizeof c->in - c->in_len)
		k = sizeof c->in - c->in_len;
	memcpy(c->in + c->in_len, data + used, k);
	c->in_len += k;
	return used + k;
}

void http_conn_release(struct http_conn *c)
{
	if (c->released)
		return;
	c->released = true;
	body_release(c);
	if (c->srv != NULL && c->srv->conn_gone)
		c->srv->conn_gone(c->srv->ctx, c);
}

void http_conn_pending_until(struct http_conn *c, uint64_t ms)
{
	if (c->state == HTTP_CONN_PENDING) {
		c->deadline_ms = ms;
		c->deadline_lazy = false;
	}
}

void http_conn_eof(struct http_conn *c)
{
	c->peer_eof = true;
	if (c->state == HTTP_CONN_READING)
		c->state = HTTP_CONN_CLOSED;
}

const uint8_t *http_conn_output(const struct http_conn *c, size_t *len)
{
	if (c->state != HTTP_CONN_WRITING && c->state != HTTP_CONN_CLOSING) {
		*len = 0;
		return c->out;
	}
	*len = c->out_len - c->out_sent;
	return c->out + c->out_sent;
}

/* Calls the producer back if the room it asked for is free. */
static void stream_notify(struct http_conn *c)
{
	if (!c->streaming || c->stream_want == 0 || http_stream_room(c) < c->stream_want)
		return;
	c->stream_want = 0;
	if (c->srv->stream_ready)
		c->srv->stream_ready(c->srv->ctx, c);
}

void http_conn_sent(struct http_conn *c, size_t n, uint64_t now_ms)
{
	set_now(c, now_ms);
	if (c->state != HTTP_CONN_WRITING && c->state != HTTP_CONN_CLOSING)
		return;
	if (n > c->out_len - c->out_sent)
		n = c->out_len - c->out_sent;
	if (n > 0) {
		c->out_sent += n;
		c->deadline_ms = now_ms + idle_timeout(c);
	}
	if (c->out_sent == c->out_len) {
		c->out_len = c->out_sent = 0;
		if (!c->streaming) {
			if (c->state == HTTP_CONN_CLOSING)
				c->state = HTTP_CONN_CLOSED;
			else
				next_request(c);
			return;
		}
	}
	/* A streamed body: more comes from the producer, when it fits. */
	stream_notify(c);
}

enum http_conn_state http_conn_tick(struct http_conn *c, uint64_t now_ms)
{
	set_now(c, now_ms);
	if (c->state == HTTP_CONN_CLOSED || now_ms < c->deadline_ms)
		return c->state;
	switch (c->state) {
	case HTTP_CONN_READING:
		if (c->in_request)
			fail(c, 408, "request_timeout",
			     "the request did not arrive in time");
		else
			c->state = HTTP_CONN_CLOSED;
		break;
	case HTTP_CONN_PENDING:
		fail(c, 504, "gateway_timeout", "the answer did not come in time");
		break;
	default:
		c->state = HTTP_CONN_CLOSED;
		break;
	}
	return c->state;
}

uint64_t http_conn_deadline(const struct http_conn *c)
{
	if (c->state == HTTP_CONN_CLOSED)
		return UINT64_MAX;
	if (c->deadline_lazy)
		return c->now_ms + idle_timeout(c);
	return c->deadline_ms;
}

enum http_conn_state http_conn_state(const struct http_conn *c)
{
	return c->state;
}

bool http_conn_idle(const struct http_conn *c)
{
	return c->state == HTTP_CONN_READING && !c->in_request && c->in_len == 0;
}

const char *http_header(const struct http_request *req, const char *name)
{
	const struct http_conn *c = req->conn_;

	if (!c)
		return NULL;
	for (unsigned i = 0; i < c->nhdr; i++)
		if (strcasecmp(c->hbuf + c->hdr[i][0], name) == 0)
			return c->hbuf + c->hdr[i][1];
	return NULL;
}

bool http_header_at(const struct http_request *req, unsigned i, const char **name,
		    const char **value)
{
	const struct http_conn *c = req->conn_;

	if (!c || i >= c->nhdr)
		return false;
	*name = c->hbuf + c->hdr[i][0];
	*value = c->hbuf + c->hdr[i][1];
	return true;
}

/* --- responses --------------------------------------------------------------- */

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default:  return "Unknown";
	}
}

/* The status line and headers into o. */
static void write_head(struct http_conn *c, struct bbuf *o, int status, const char *ctype,
		       const char *cache, const char *extra, uint64_t len, bool no_body)
{
	bbuf_str(o, "HTTP/1.1 ");
	bbuf_u64(o, (uint64_t)status);
	bbuf_str(o, " ");
	bbuf_str(o, http_reason(status));
	bbuf_str(o, "\r\n");
	if (ctype && !no_body) {
		bbuf_str(o, "Content-Type: ");
		bbuf_str(o, ctype);
		bbuf_str(o, "\r\n");
	}
	if (!no_body) {
		bbuf_str(o, "Content-Length: ");
		bbuf_u64(o, len);
		bbuf_str(o, "\r\n");
	}
	bbuf_str(o, "Cache-Control: ");
	bbuf_str(o, cache ? cache : "no-store");
	bbuf_str(o, "\r\nConnection: ");
	bbuf_str(o, c->keep_alive ? "keep-alive\r\n" : "close\r\n");
	if (extra)
		bbuf_str(o, extra);
	bbuf_str(o, "\r\n");
}

/* Writes the whole response into c->out; false when it does not fit. */
static bool write_response(struct http_conn *c, int status, const char *ctype,
			   const char *cache, const char *extra, const void *body, size_t len)
{
	struct bbuf o;
	/* 1xx, 204 and 304 carry no body and no Content-Length (RFC 9110). */
	bool no_body = status < 200 || status == 204 || status == 304;

	bbuf_init(&o, c->out, sizeof c->out);
	write_head(c, &o, status, ctype, cache, extra, len, no_body);
	if (!no_body && !c->head_method && len)
		bbuf_put(&o, body, len);
	if (o.overflow)
		return false;
	c->out_len = o.len;
	c->out_sent = 0;
	return true;
}

static const char too_big[] =
	"{\"error\":{\"code\":\"internal\",\"message\":\"the response is too large\"}}";

/* The response is in c->out: send it, then keep-alive or close. */
static void responded(struct http_conn *c)
{
	c->state = c->keep_alive ? HTTP_CONN_WRITING : HTTP_CONN_CLOSING;
	/* The caller may answer long after the last time we were told. */
	c->deadline_lazy = true;
}

void http_respond_cache(struct http_conn *c, int status, const char *content_type,
			const char *cache_control, const char *extra_headers,
			const void *body, size_t len)
{
	if (c->state != HTTP_CONN_PENDING)
		return;
	if (status < 100 || status > 999)
		status = 500;
	if (!write_response(c, status, content_type, cache_control, extra_headers, body, len) &&
	    !write_response(c, 500, "application/json", NULL, NULL, too_big, sizeof too_big - 1)) {
		/* Cannot happen with HTTP_OUT_CAP >= a few hundred bytes. */
		c->state = HTTP_CONN_CLOSED;
		return;
	}
	responded(c);
}

void http_respond_hdr(struct http_conn *c, int status, const char *content_type,
		      const char *extra_headers, const void *body, size_t len)
{
	http_respond_cache(c, status, content_type, NULL, extra_headers, body, len);
}

void http_respond_stream(struct http_conn *c, int status, const char *content_type,
			 const char *cache_control, const char *extra_headers, uint64_t total)
{
	struct bbuf o;

	if (c->state != HTTP_CONN_PENDING)
		return;
	bbuf_init(&o, c->out, sizeof c->out);
	write_head(c, &o, status, content_type, cache_control, extra_headers, total, false);
	/* The head must leave room for the body to flow. */
	if (o.overflow || o.len > sizeof c->out / 2) {
		http_respond_json(c, 500, too_big, sizeof too_big - 1);
		return;
	}
	c->out_len = o.len;
	c->out_sent = 0;
	c->stream_left = c->head_method ? 0 : total;
	c->streaming = c->stream_left > 0;
	c->stream_want = 0;
	responded(c);
}

uint64_t http_stream_left(const struct http_conn *c)
{
	return c->streaming ? c->stream_left : 0;
}

size_t http_stream_room(const struct http_conn *c)
{
	size_t room;

	if (!c->streaming)
		return 0;
	room = sizeof c->out - (c->out_len - c->out_sent);
	return c->stream_left < room ? (size_t)c->stream_left : room;
}

int http_stream_write(struct http_conn *c, const void *data, size_t len)
{
	if (!c->streaming)
		return -EINVAL;
	if (len > c->stream_left)
		return -EMSGSIZE;
	if (len > http_stream_room(c))
		return -ENOSPC;
	if (len > sizeof c->out - c->out_len) {
		/* compact: what is still unsent moves to the front */
		memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
		c->out_len -= c->out_sent;
		c->out_sent = 0;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	c->stream_left -= len;
	if (c->stream_left == 0) {
		c->streaming = false;
		c->stream_want = 0;
	}
	/* The source made progress: the write deadline starts again. */
	c->deadline_lazy = true;
	return 0;
}

bool http_stream_want(struct http_conn *c, size_t n)
{
	if (!c->streaming)
		return false;
	if (n == 0)
		n = 1;
	if (n > sizeof c->out)
		n = sizeof c->out;
	if (n > c->stream_left)
		n = (size_t)c->stream_left;
	if (http_stream_room(c) >= n) {
		c->stream_want = 0;
		return true;
	}
	c->stream_want = n;
	return false;
}

void http_stream_abort(struct http_conn *c)
{
	if (!c->streaming)
		return;
	c->streaming = false;
	c->stream_left = 0;
	c->stream_want = 0;
	c->keep_alive = false;
	c->state = c->out_len > c->out_sent ? HTTP_CONN_CLOSING : HTTP_CONN_CLOSED;
}

void http_respond(struct http_conn *c, int status, const char *content_type,
		  const void *body, size_t len)
{
	http_respond_hdr(c, status, content_type, NULL, body, len);
}

void http_respond_json(struct http_conn *c, int status, const char *json, size_t len)
{
	http_respond_hdr(c, status, "application/json", NULL, json, len);
}

/* {"error":{"code":...,"message":...}} into buf; no message when NULL. */
static long error_body(char *buf, size_t cap, const char *code, const char *message)
{
	struct jsonw w;

	jw_init(&w, buf, cap);
	jw_object_begin(&w);
	jw_key(&w, "error");
	jw_object_begin(&w);
	jw_key(&w, "code");
	jw_string(&w, code);
	if (message) {
		jw_key(&w, "message");
		jw_string(&w, message);
	}
	jw_object_end(&w);
	jw_object_end(&w);
	return jw_finish(&w);
}

size_t http_error_body(char *buf, size_t cap, const char *code, const char *message)
{
	long n = error_body(buf, cap, code, message);

	/* Only a message longer than the buffer fails; then the code alone. */
	if (n < 0)
		n = error_body(buf, cap, code, NULL);
	return n < 0 ? 0 : (size_t)n;
}

void http_respond_error_hdr(struct http_conn *c, int status, const char *code,
			    const char *message, const char *extra_headers)
{
	char buf[512];
	size_t n = http_error_body(buf, sizeof buf, code, message);

	http_respond_hdr(c, status, "application/json", extra_headers, buf, n);
}

void http_respond_error(struct http_conn *c, int status, const char *code,
			const char *message)
{
	http_respond_error_hdr(c, status, code, message, NULL);
}
