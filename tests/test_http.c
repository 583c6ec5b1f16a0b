/* tests/test_http.c: the HTTP/1.1 core, fed from memory. */
#include "lib/http.h"
#include "tests/http_drain.h"
#include "tests/tap.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>

#define HDR_TIMEOUT  1000
#define IDLE_TIMEOUT 5000

static struct http_conn conn;
static struct http_server srv;
static char out[200000];
static size_t out_len;

/* What the handler saw last. */
static struct {
	int calls;
	char path[HTTP_MAX_URL + 1];
	char query[HTTP_MAX_URL + 1];
	char xtest[256];
	int method;
	size_t body_len;
	uint8_t body[HTTP_MAX_BODY];
	bool keep_alive;
} seen;

static void handler(void *ctx, struct http_conn *c, const struct http_request *req)
{
	const char *x = http_header(req, "x-test");
	static char big[HTTP_OUT_CAP];

	(void)ctx;
	seen.calls++;
	snprintf(seen.path, sizeof seen.path, "%s", req->path);
	snprintf(seen.query, sizeof seen.query, "%s", req->query);
	snprintf(seen.xtest, sizeof seen.xtest, "%s", x ? x : "(none)");
	seen.method = req->method;
	seen.body_len = req->body_len;
	memcpy(seen.body, req->body, req->body_len);
	seen.keep_alive = req->keep_alive;

	if (strcmp(req->path, "/hello") == 0) {
		if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
			http_respond_error_hdr(c, 405, "method_not_allowed", "GET only",
					       "Allow: GET, HEAD\r\n");
			return;
		}
		http_respond(c, 200, "text/plain", "hello\n", 6);
	} else if (strcmp(req->path, "/echo") == 0) {
		http_respond(c, 200, "application/octet-stream", req->body, req->body_len);
	} else if (strcmp(req->path, "/pending") == 0) {
		/* answered later by the test */
	} else if (strcmp(req->path, "/big") == 0) {
		memset(big, 'x', sizeof big);
		http_respond(c, 200, "text/plain", big, sizeof big);
	} else if (strcmp(req->path, "/nocontent") == 0) {
		http_respond(c, 204, NULL, NULL, 0);
	} else {
		http_respond_error(c, 404, "not_found", "no such path");
	}
}

static void reset(uint64_t now)
{
	memset(&seen, 0, sizeof seen);
	out_len = 0;
	srv.handler = handler;
	srv.ctx = NULL;
	srv.header_timeout_ms = HDR_TIMEOUT;
	srv.idle_timeout_ms = IDLE_TIMEOUT;
	http_conn_init(&conn, &srv, 7, now);
}

static size_t feed(const char *s, uint64_t now)
{
	return http_conn_feed(&conn, (const uint8_t *)s, strlen(s), now);
}

static size_t feedn(const void *s, size_t n, uint64_t now)
{
	return http_conn_feed(&conn, s, n, now);
}

/* Sends everything the connection has, pipelined answers included. */
static const char *drain(uint64_t now)
{
	out_len = http_drain(&conn, out, sizeof out, out_len, now);
	return out;
}

static const char *take(uint64_t now)
{
	out_len = 0;
	return drain(now);
}

static bool has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static const char RESP_HELLO[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Length: 6\r\n"
	"Cache-Control: no-store\r\n"
	"Connection: keep-alive\r\n"
	"\r\n"
	"hello\n";

static const char RESP_404[] =
	"HTTP/1.1 404 Not Found\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: 55\r\n"
	"Cache-Control: no-store\r\n"
	"Connection: keep-alive\r\n"
	"\r\n"
	"{\"error\":{\"code\":\"not_found\",\"message\":\"no such path\"}}";

static void test_simple(void)
{
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

	reset(0);
	is_int(feed(req, 1), strlen(req), "simple GET: all bytes taken");
	is_int(http_conn_state(&conn), HTTP_CONN_WRITING, "simple GET: WRITING");
	is_str(take(2), RESP_HELLO, "simple GET: exact response bytes");
	is_int(http_conn_state(&conn), HTTP_CONN_READING, "simple GET: READING again (keep-alive)");
	is_str(seen.path, "/hello", "path");
	is_str(seen.query, "", "no query");
	is_int(seen.method, HTTP_GET, "method GET");
	ok(seen.keep_alive, "request keep-alive");
}

static void test_pipelined(void)
{
	static const char req[] =
		"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t n;
	char want[1024];

	reset(0);
	is_int(feed(req, 1), strlen(req), "pipelined: all bytes taken (buffered)");
	is_int(seen.calls, 1, "pipelined: one handler call before the first answer is sent");
	http_conn_output(&conn, &n);
	is_int(n, strlen(RESP_HELLO), "pipelined: only the first response is out");
	snprintf(want, sizeof want, "%s%s%s", RESP_HELLO, RESP_404, RESP_HELLO);
	is_str(take(2), want, "pipelined: three responses in order");
	is_int(seen.calls, 3, "pipelined: three handler calls");
	is_int(http_conn_state(&conn), HTTP_CONN_READING, "pipelined: READING at the end");
}

static void test_bytewise(void)
{
	static const char req[] =
		"POST /echo?x=1&y=2 HTTP/1.1\r\n"
		"Host: x\r\n"
		"X-Test:   v1 \t \r\n"
		"Content-Length: 5\r\n"
		"\r\n"
		"abcde";
	bool all_one = true;

	reset(0);
	for (size_t i = 0; i < strlen(req); i++) {
		if (http_conn_feed(&conn, (const uint8_t *)req + i, 1, 1) != 1)
			all_one = false;
		if (i + 1 < strlen(req) && seen.calls)
			all_one = false;
	}
	ok(all_one, "byte at a time: each byte taken, handler only at the end");
	is_int(seen.calls, 1, "byte at a time: one request");
	is_str(seen.path, "/echo", "byte at a time: path");
	is_str(seen.query, "x=1&y=2", "byte at a time: query");
	is_str(seen.xtest, "v1", "byte at a time: header value, whitespace trimmed");
	is_int(seen.body_len, 5, "byte at a time: body length");
	is_mem(seen.body, "abcde", 5, "byte at a time: body");
	ok(has(take(2), "\r\n\r\nabcde"), "byte at a time: echoed");
}

static void test_chunked(void)
{
	static const char req[] =
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n";

	reset(0);
	is_int(feed(req, 1), strlen(req), "chunked: taken");
	is_int(seen.body_len, 7, "chunked: decoded length");
	is_mem(seen.body, "abcdefg", 7, "chunked: decoded body");
	ok(has(take(2), "Content-Length: 7\r\n"), "chunked: answered");
}

static void test_404_405_head(void)
{
	const char *r;

	reset(0);
	feed("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	is_str(take(2), RESP_404, "404: exact JSON error");

	feed("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 3);
	r = take(4);
	ok(has(r, "HTTP/1.1 405 Method Not Allowed\r\n"), "405 status line");
	ok(has(r, "\r\nAllow: GET, HEAD\r\n"), "405 has Allow");
	ok(has(r, "\"code\":\"method_not_allowed\""), "405 JSON code");
	is_int(http_conn_state(&conn), HTTP_CONN_READING, "405 keeps the connection");

	feed("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n", 5);
	r = take(6);
	ok(has(r, "HTTP/1.1 200 OK\r\n") && has(r, "Content-Length: 6\r\n"),
	   "HEAD: status and the GET length");
	ok(strlen(r) >= 4 && strcmp(r + strlen(r) - 4, "\r\n\r\n") == 0, "HEAD: no body");

	feed("GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n", 7);
	r = take(8);
	ok(has(r, "HTTP/1.1 204 No Content\r\n") && !has(r, "Content-Length"),
	   "204: no Content-Length");
}

/* Feeds req on a fresh connection; expects status and a close. */
static void expect_refused(const char *name, const void *req, size_t len, int status,
			   const char *code)
{
	char line[64], jcode[64];
	const char *r;

	reset(0);
	is_int(feedn(req, len, 1), len, "%s: every byte taken", name);
	is_int(seen.calls, 0, "%s: handler not called", name);
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSING, "%s: CLOSING", name);
	r = take(2);
	snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
	ok(strncmp(r, line, strlen(line)) == 0, "%s: status %d", name, status);
	if (strncmp(r, line, strlen(line)) != 0)
		diag("got: %.80s", r);
	ok(has(r, "\r\nConnection: close\r\n"), "%s: Connection: close", name);
	snprintf(jcode, sizeof jcode, "{\"error\":{\"code\":\"%s\"", code);
	ok(has(r, jcode), "%s: JSON code %s", name, code);
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "%s: CLOSED after sending", name);
}

static void expect_refused_str(const char *name, const char *req, int status, const char *code)
{
	expect_refused(name, req, strlen(req), status, code);
}

static void test_refusals(void)
{
	static char big[HTTP_MAX_HEAD * 2];
	size_t n;

	expect_refused_str("malformed request line", "GARBAGE\r\n\r\n", 400, "bad_request");
	expect_refused_str("bad method", "FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request");
	expect_refused_str("CL + TE",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
		"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400, "bad_request");
	expect_refused_str("two Content-Lengths",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		400, "bad_request");
	expect_refused_str("bare LF", "GET /hello HTTP/1.1\nHost: x\n\n", 400, "bad_request");
	expect_refused_str("bad chunk size",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		400, "bad_request");
	expect_refused_str("obs-fold",
		"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400, "bad_request");
	expect_refused_str("HTTP/2.0", "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n",
			   505, "http_version_not_supported");
	expect_refused_str("Content-Length too large",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n",
		413, "payload_too_large");

	/* A 9000-byte header block. */
	n = (size_t)snprintf(big, sizeof big, "GET /hello HTTP/1.1\r\nX-Big: ");
	memset(big + n, 'a', 9000 - n - 4);
	memcpy(big + 9000 - 4, "\r\n\r\n", 4);
	expect_refused("9000-byte head", big, 9000, 431, "header_too_large");

	/* The same head fed in 100-byte pieces. */
	reset(0);
	for (size_t off = 0; off < 9000; off += 100)
		feedn(big + off, 100, 1);
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSING, "9000-byte head in pieces: CLOSING");
	ok(has(take(2), "HTTP/1.1 431 "), "9000-byte head in pieces: 431");

	/* Exactly HTTP_MAX_HEAD bytes of head is allowed; one more is not. */
	for (int extra = 0; extra <= 1; extra++) {
		size_t total = HTTP_MAX_HEAD + (size_t)extra;
		n = (size_t)snprintf(big, sizeof big, "GET /hello HTTP/1.1\r\nX-Big: ");
		memset(big + n, 'a', total - n - 4);
		memcpy(big + total - 4, "\r\n\r\n", 4);
		reset(0);
		feedn(big, total, 1);
		if (extra == 0)
			ok(has(take(2), "HTTP/1.1 200 "), "head of exactly %d bytes: 200", HTTP_MAX_HEAD);
		else
			ok(has(take(2), "HTTP/1.1 431 "), "head of %d bytes: 431", HTTP_MAX_HEAD + 1);
	}

	/* 65 header fields. */
	n = (size_t)snprintf(big, sizeof big, "GET /hello HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "X-%d: v\r\n", i);
	n += (size_t)snprintf(big + n, sizeof big - n, "\r\n");
	expect_refused("65 header fields", big, n, 431, "header_too_large");

	/* A 3000-byte URL. */
	n = (size_t)snprintf(big, sizeof big, "GET /");
	memset(big + n, 'u', 3000);
	n += 3000;
	n += (size_t)snprintf(big + n, sizeof big - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_refused("3000-byte URL", big, n, 414, "uri_too_long");

	/* A chunked body that grows past the limit. */
	reset(0);
	feed("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 1);
	memset(big, 'b', 8192);
	for (int i = 0; i < 10 && http_conn_state(&conn) == HTTP_CONN_READING; i++) {
		feed("2000\r\n", 1);
		feedn(big, 8192, 1);
		feed("\r\n", 1);
	}
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSING, "chunked body over the limit: CLOSING");
	ok(has(take(2), "HTTP/1.1 413 "), "chunked body over the limit: 413");
	is_int(seen.calls, 0, "chunked body over the limit: handler not called");

	/* A body of exactly HTTP_MAX_BODY bytes is served. */
	reset(0);
	n = (size_t)snprintf(big, sizeof big,
			     "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
			     HTTP_MAX_BODY);
	feedn(big, n, 1);
	memset(big, 'c', sizeof big);
	for (size_t off = 0; off < HTTP_MAX_BODY; off += sizeof big)
		feedn(big, sizeof big, 1);
	is_int(seen.body_len, HTTP_MAX_BODY, "body of exactly the limit: received whole");
	ok(has(take(2), "HTTP/1.1 405 "), "body of exactly the limit: handler answered");
}

static void test_timeouts(void)
{
	const char *r;

	/* Header timeout: a request that never completes. */
	reset(0);
	feed("GET /hello HTTP/1.1\r\nHo", 100);
	is_int(http_conn_tick(&conn, 100 + HDR_TIMEOUT - 1), HTTP_CONN_READING,
	       "header timeout: still READING just before");
	feed("st: x\r\n", 500);
	is_int(http_conn_tick(&conn, 100 + HDR_TIMEOUT), HTTP_CONN_CLOSING,
	       "header timeout: CLOSING at the deadline (counted from the first byte)");
	r = take(100 + HDR_TIMEOUT);
	ok(has(r, "HTTP/1.1 408 Request Timeout\r\n") && has(r, "\"request_timeout\""),
	   "header timeout: 408 JSON");
	ok(has(r, "Connection: close"), "header timeout: Connection: close");
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "header timeout: CLOSED after 408");

	/* A silent new connection is closed without an answer. */
	reset(0);
	is_int(http_conn_tick(&conn, HDR_TIMEOUT), HTTP_CONN_CLOSED,
	       "silent new connection: CLOSED after the header timeout");

	/* Idle timeout between keep-alive requests. */
	reset(0);
	feed("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 10);
	take(20);
	is_int(http_conn_tick(&conn, 20 + IDLE_TIMEOUT - 1), HTTP_CONN_READING,
	       "idle: still READING before the deadline");
	is_int(http_conn_tick(&conn, 20 + IDLE_TIMEOUT), HTTP_CONN_CLOSED,
	       "idle timeout: CLOSED");
	http_conn_output(&conn, &out_len);
	is_int(out_len, 0, "idle timeout: nothing to send");

	/* A peer that does not read what we write. */
	reset(0);
	feed("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 10);
	http_conn_sent(&conn, 3, 50);
	is_int(http_conn_tick(&conn, 50 + IDLE_TIMEOUT - 1), HTTP_CONN_WRITING,
	       "stalled write: WRITING before the deadline");
	is_int(http_conn_tick(&conn, 50 + IDLE_TIMEOUT), HTTP_CONN_CLOSED,
	       "stalled write: CLOSED after idle timeout without progress");

	/* A PENDING answer that never comes. */
	reset(0);
	feed("GET /pending HTTP/1.1\r\nHost: x\r\n\r\n", 10);
	is_int(http_conn_tick(&conn, 10 + IDLE_TIMEOUT), HTTP_CONN_CLOSING,
	       "PENDING too long: CLOSING");
	ok(has(take(10 + IDLE_TIMEOUT), "HTTP/1.1 504 "), "PENDING too long: 504");
	http_respond_json(&conn, 200, "{}", 2);
	http_conn_output(&conn, &out_len);
	is_int(out_len, 0, "late answer after the timeout is ignored");
}

static void test_pending(void)
{
	static const char next[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	static char filler[HTTP_MAX_HEAD * 2];
	const char *r;
	size_t n;

	reset(0);
	feed("GET /pending HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	is_int(http_conn_state(&conn), HTTP_CONN_PENDING, "PENDING after a handler that did not answer");
	http_conn_output(&conn, &n);
	is_int(n, 0, "PENDING: nothing to send");
	is_int(feed(next, 2), strlen(next), "PENDING: a pipelined request is buffered");
	is_int(seen.calls, 1, "PENDING: the next request waits");
	http_respond_json(&conn, 200, "{\"late\":true}", 13);
	is_int(http_conn_state(&conn), HTTP_CONN_WRITING, "answered later: WRITING");
	r = take(3);
	ok(has(r, "Content-Length: 13\r\n") && has(r, "{\"late\":true}"), "answered later: the JSON");
	ok(has(r, "{\"late\":true}HTTP/1.1 200 OK"), "then the buffered request's answer");
	is_int(seen.calls, 2, "the buffered request ran after the answer was sent");

	/* While PENDING, input is bounded by the buffer. */
	reset(0);
	feed("GET /pending HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	memset(filler, 'z', sizeof filler);
	is_int(http_conn_room(&conn), HTTP_MAX_HEAD, "room: the whole buffer");
	is_int(feedn(filler, sizeof filler, 2), HTTP_MAX_HEAD, "PENDING: takes only what fits");
	is_int(http_conn_room(&conn), 0, "room: none left");
	is_int(feedn(filler, 10, 2), 0, "PENDING: takes nothing more");
}

static void test_close_rules(void)
{
	const char *r;

	reset(0);
	feed("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1);
	r = take(2);
	ok(has(r, "HTTP/1.1 200 OK\r\n") && has(r, "Connection: close\r\n"),
	   "Connection: close: answered with close");
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "Connection: close: CLOSED");

	reset(0);
	feed("GET /hello HTTP/1.0\r\n\r\n", 1);
	r = take(2);
	ok(has(r, "Connection: close\r\n"), "HTTP/1.0: Connection: close");
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "HTTP/1.0 without keep-alive: CLOSED");

	reset(0);
	feed("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1);
	r = take(2);
	ok(has(r, "Connection: keep-alive\r\n"), "HTTP/1.0 keep-alive: kept");
	is_int(http_conn_state(&conn), HTTP_CONN_READING, "HTTP/1.0 keep-alive: READING");

	/* EOF after a complete request: answer, then close. */
	reset(0);
	feed("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	http_conn_eof(&conn);
	r = take(2);
	ok(has(r, "HTTP/1.1 200 OK\r\n"), "EOF after a request: still answered");
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "EOF after a request: then CLOSED");

	/* EOF mid-request. */
	reset(0);
	feed("GET /hello HTTP/1.1\r\nHo", 1);
	http_conn_eof(&conn);
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "EOF mid-request: CLOSED");

	/* Bytes after Connection: close are dropped. */
	reset(0);
	feed("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\nGET /nope HTTP/1.1\r\n\r\n", 1);
	r = take(2);
	ok(!has(r, "404"), "after Connection: close nothing else is answered");
	is_int(seen.calls, 1, "after Connection: close one handler call");

	/* CONNECT/Upgrade are answered, never tunnelled. */
	reset(0);
	feed("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nxyz", 1);
	r = take(2);
	ok(has(r, "HTTP/1.1 200 OK\r\n") && has(r, "Connection: close\r\n"),
	   "Upgrade: answered and closed");
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "Upgrade: CLOSED");
}

static const char *hdr_a, *hdr_b, *hdr_none;
static char hdr_copy[3][64];

static void header_handler(void *ctx, struct http_conn *c, const struct http_request *req)
{
	(void)ctx;
	hdr_a = http_header(req, "X-A");
	hdr_b = http_header(req, "x-b");
	hdr_none = http_header(req, "x-none");
	snprintf(hdr_copy[0], sizeof hdr_copy[0], "%s", hdr_a ? hdr_a : "(null)");
	snprintf(hdr_copy[1], sizeof hdr_copy[1], "%s", hdr_b ? hdr_b : "(null)");
	snprintf(hdr_copy[2], sizeof hdr_copy[2], "%s|%s|%u", req->path, req->query,
		 req->header_count);
	http_respond(c, 200, "text/plain", "", 0);
}

static void test_headers(void)
{
	reset(0);
	srv.handler = header_handler;
	feed("GET /p?q=1#frag HTTP/1.1\r\nx-a: first\r\nX-B:\r\nX-A: second\r\n\r\n", 1);
	is_str(hdr_copy[0], "first", "header: case-insensitive, first of repeated");
	is_str(hdr_copy[1], "", "header: empty value is \"\"");
	ok(hdr_none == NULL, "header: missing is NULL");
	is_str(hdr_copy[2], "/p|q=1|3", "path, query without fragment, header count");
	srv.handler = handler;
}

static void test_room(void)
{
	static char buf[HTTP_MAX_HEAD * 2];
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t n;

	/* A complete request followed by more than the buffer holds. */
	reset(0);
	is_int(http_conn_room(&conn), HTTP_MAX_HEAD, "room while READING");
	memcpy(buf, req, sizeof req - 1);
	memset(buf + sizeof req - 1, 'G', sizeof buf - (sizeof req - 1));
	n = feedn(buf, sizeof buf, 1);
	is_int(n, sizeof req - 1 + HTTP_MAX_HEAD, "READING: the request plus a full buffer taken");
	is_int(http_conn_room(&conn), 0, "room: none while the rest waits");
	ok(has(take(2), "HTTP/1.1 200 "), "the request is answered");
	/* The buffered 'GGG...' is a method no one knows: 400. */
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "buffered garbage: refused and closed");
	is_int(http_conn_room(&conn), 0, "room: none once closed");
}

static void test_partial_send_and_big(void)
{
	const char *p;
	size_t n, total = 0;

	reset(0);
	feed("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	out_len = 0;
	while ((p = (const char *)http_conn_output(&conn, &n), n > 0)) {
		memcpy(out + out_len, p, 1);
		out_len++;
		total++;
		http_conn_sent(&conn, 1, 2);
	}
	out[out_len] = '\0';
	is_str(out, RESP_HELLO, "sent one byte at a time: same bytes");
	is_int(http_conn_state(&conn), HTTP_CONN_READING, "sent one byte at a time: READING");

	reset(0);
	feed("GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	ok(has(take(2), "HTTP/1.1 500 "), "a response too large for the buffer becomes 500");
}

/* --- streamed bodies ------------------------------------------------------ */

#define SRC_TOTAL 100000
#define SRC_CHUNK 16000

/* A fake asynchronous source (logd): the producer asks for a chunk only
 * when the connection has room for it; the test delivers it later. */
static struct {
	struct http_conn *c;
	uint64_t off;
	bool asked;            /* a chunk was requested and not delivered */
	unsigned requests;
	unsigned asked_without_room;
	size_t max_unsent;     /* the most output ever waiting in the conn */
} src;

static uint8_t src_byte(uint64_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static size_t src_next_len(void)
{
	return SRC_TOTAL - src.off < SRC_CHUNK ? SRC_TOTAL - src.off : SRC_CHUNK;
}

/* Requests the next chunk if there is room for it, else waits for the
 * callback. */
static void src_pump(struct http_conn *c)
{
	if (src.asked || http_stream_left(c) == 0)
		return;
	if (!http_stream_want(c, src_next_len()))
		return;
	if (http_stream_room(c) < src_next_len())
		src.asked_without_room++;
	src.asked = true;
	src.requests++;
}

static void src_ready(void *ctx, struct http_conn *c)
{
	(void)ctx;
	src_pump(c);
}

/* The source's answer arrives. */
static int src_deliver(void)
{
	uint8_t buf[SRC_CHUNK];
	size_t n = src_next_len();

	for (size_t i = 0; i < n; i++)
		buf[i] = src_byte(src.off + i);
	src.asked = false;
	int r = http_stream_write(src.c, buf, n);
	if (r == 0)
		src.off += n;
	src_pump(src.c);
	return r;
}

static void stream_handler(void *ctx, struct http_conn *c, const struct http_request *req)
{
	(void)ctx;
	if (strcmp(req->path, "/stream") == 0) {
		memset(&src, 0, sizeof src);
		src.c = c;
		http_respond_stream(c, 200, "application/octet-stream",
				    "public, max-age=31536000, immutable", NULL, SRC_TOTAL);
		src_pump(c);
		return;
	}
	handler(ctx, c, req);
}

/* A client reading at most `step` bytes each time it is scheduled; the
 * source answers whenever asked. Returns the bytes read into out. */
static size_t read_slowly(size_t step, uint64_t now)
{
	const uint8_t *p;
	size_t n;

	out_len = 0;
	for (unsigned guard = 0; guard < 100000; guard++) {
		size_t unsent;
		http_conn_output(&conn, &unsent);
		if (unsent > src.max_unsent)
			src.max_unsent = unsent;
		p = http_conn_output(&conn, &n);
		if (n == 0) {
			if (!src.asked)
				break;
			src_deliver();
			continue;
		}
		if (n > step)
			n = step;
		memcpy(out + out_len, p, n);
		out_len += n;
		http_conn_sent(&conn, n, now);
	}
	out[out_len] = '\0';
	return out_len;
}

static void test_stream(void)
{
	static const char req[] = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *body;
	bool same = true;
	size_t len, head;

	reset(0);
	srv.handler = stream_handler;
	srv.stream_ready = src_ready;
	feed(req, 1);
	is_int(http_conn_state(&conn), HTTP_CONN_WRITING, "stream: WRITING after the head");
	ok(src.asked && src.requests == 1, "stream: the first chunk is asked for at once");
	/* the producer may also write without being asked (this byte then
	 * stands for the source's first) */
	is_int(http_stream_write(&conn, "x", 1), 0, "stream: a byte can be written");
	src.off = 1;
	len = read_slowly(1000, 2);
	body = strstr(out, "\r\n\r\n");
	head = body ? (size_t)(body + 4 - out) : 0;
	ok(has(out, "Content-Length: 100000\r\n"), "stream: Content-Length is the total");
	ok(has(out, "Cache-Control: public, max-age=31536000, immutable\r\n"),
	   "stream: the Cache-Control given");
	is_int(len - head, SRC_TOTAL, "stream: the whole body arrived");
	same = out[head] == 'x';
	for (size_t i = 1; same && i < SRC_TOTAL; i++)
		same = (uint8_t)out[head + i] == src_byte(i);
	ok(same, "stream: body bytes in order");
	is_int(src.requests, 7, "stream: one request per chunk (100000 = 6 x 16000 + 4000)");
	is_int(src.asked_without_room, 0, "stream: never asked for a chunk without room for it");
	ok(src.max_unsent <= HTTP_OUT_CAP, "stream: at most one buffer waits (%zu bytes)",
	   src.max_unsent);
	is_int(http_conn_state(&conn), HTTP_CONN_READING, "stream: READING again (keep-alive)");

	/* A pipelined request behind a stream is answered after it. */
	reset(0);
	srv.handler = stream_handler;
	feed("GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	read_slowly(5000, 2);
	ok(out_len > SRC_TOTAL && has(out + out_len - strlen(RESP_HELLO), RESP_HELLO),
	   "stream: a pipelined request is answered after the body");

	/* Write bounds. */
	reset(0);
	srv.handler = stream_handler;
	feed(req, 1);
	static uint8_t big[HTTP_OUT_CAP + 1];
	is_int(http_stream_write(&conn, big, sizeof big), -ENOSPC, "stream: more than the room: -ENOSPC");
	ok(http_stream_room(&conn) < HTTP_OUT_CAP, "stream: the head takes room");
	src.asked = false;
	http_stream_abort(&conn);
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSING, "abort: CLOSING while the head is unsent");
	take(2);
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "abort: CLOSED once sent");
	is_int(http_stream_write(&conn, "x", 1), -EINVAL, "abort: no more writes");

	/* Overrun, and a source that stops answering. */
	reset(0);
	srv.handler = stream_handler;
	feed(req, 1);
	take(2);
	is_int(http_stream_left(&conn), SRC_TOTAL, "stream: the whole body owed");
	while (http_stream_left(&conn) > SRC_CHUNK) {
		http_stream_write(&conn, big, SRC_CHUNK);
		take(2);
	}
	is_int(http_stream_write(&conn, big, (size_t)http_stream_left(&conn) + 1), -EMSGSIZE,
	       "stream: beyond the total: -EMSGSIZE");
	is_int(http_conn_tick(&conn, 2 + IDLE_TIMEOUT - 1), HTTP_CONN_WRITING,
	       "stuck: still WRITING before the idle timeout");
	is_int(http_conn_tick(&conn, 2 + IDLE_TIMEOUT), HTTP_CONN_CLOSED,
	       "stuck: the idle timeout closes a stream whose source is silent");

	/* HEAD: the head alone. */
	reset(0);
	srv.handler = stream_handler;
	feed("HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	is_int(http_stream_left(&conn), 0, "HEAD: no body owed");
	ok(!src.asked, "HEAD: the source is not asked");
	ok(has(take(2), "Content-Length: 100000\r\n") && has(out, "\r\n\r\n") &&
	   strstr(out, "\r\n\r\n")[4] == '\0', "HEAD: the head with the length, no body");
	is_int(http_conn_state(&conn), HTTP_CONN_READING, "HEAD: READING again");

	/* Connection: close ends the stream with a close. */
	reset(0);
	srv.handler = stream_handler;
	feed("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1);
	read_slowly(20000, 2);
	ok(has(out, "Connection: close\r\n"), "close: the head says close");
	is_int(http_conn_state(&conn), HTTP_CONN_CLOSED, "close: CLOSED after the whole body");
	srv.stream_ready = NULL;
}

/* --- streamed request bodies ------------------------------------------------------- */

#define SINK_LIMIT 200000
static int sink_opened, sink_closed, sink_gone, sink_fd_seen;
static size_t sink_len;
static uint8_t sink_copy[SINK_LIMIT];

static long sink_open(void *ctx, struct http_conn *c, llhttp_method_t m, const char *url, int *fd)
{
	(void)ctx;
	(void)c;
	if (strncmp(url, "/upload", 7) != 0 || m != HTTP_POST)
		return 0;
	if (strcmp(url, "/upload?busy") == 0)
		return -EBUSY;
	*fd = memfd_create("sink", MFD_CLOEXEC);
	sink_opened++;
	return SINK_LIMIT;
}

static void sink_close(void *ctx, struct http_conn *c, int fd)
{
	(void)ctx;
	(void)c;
	close(fd);
	sink_closed++;
}

static void sink_conn_gone(void *ctx, struct http_conn *c)
{
	(void)ctx;
	(void)c;
	sink_gone++;
}

static void sink_handler(void *ctx, struct http_conn *c, const struct http_request *req)
{
	(void)ctx;
	sink_fd_seen = req->body_fd;
	sink_len = req->body_len;
	if (req->body_fd >= 0 && pread(req->body_fd, sink_copy, req->body_len, 0) != (ssize_t)req->body_len)
		sink_len = (size_t)-1;
	http_respond(c, 200, "text/plain", "ok", 2);
}

static void sink_reset(uint64_t now)
{
	reset(now);
	srv.handler = sink_handler;
	srv.body_open = sink_open;
	srv.body_close = sink_close;
	srv.conn_gone = sink_conn_gone;
	sink_opened = sink_closed = sink_gone = 0;
	sink_fd_seen = -2;
	sink_len = 0;
	http_conn_init(&conn, &srv, 7, now);
}

static void test_streamed_body(void)
{
	static uint8_t body[SINK_LIMIT + 10];
	char head[160];
	const char *r;
	int n;

	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)(i * 31 + 7);
	/* a body three times HTTP_MAX_BODY, fed in odd pieces */
	sink_reset(0);
	memset(conn.body, 0x5a, sizeof conn.body);
	n = snprintf(head, sizeof head, "POST /upload HTTP/1.1\r\nContent-Length: %d\r\n\r\n", 3 * HTTP_MAX_BODY);
	feedn(head, (size_t)n, 1);
	for (size_t off = 0; off < 3 * HTTP_MAX_BODY;)
		off += feedn(body + off, 3 * HTTP_MAX_BODY - off < 7777 ? 3 * HTTP_MAX_BODY - off : 7777, 1);
	r = take(1);
	ok(has(r, "HTTP/1.1 200") && sink_len == 3 * HTTP_MAX_BODY && sink_fd_seen >= 0 &&
	   memcmp(sink_copy, body, sink_len) == 0, "a %d-byte body streamed to the route's descriptor",
	   3 * HTTP_MAX_BODY);
	bool untouched = true;
	for (size_t i = 0; i < sizeof conn.body; i++)
		untouched &= conn.body[i] == 0x5a;
	ok(untouched, "the connection's body buffer never held it");
	ok(sink_opened == 1 && sink_closed == 1, "the descriptor went back after the handler");
	/* the deadline grows with the body: 1 ms per 64 bytes */
	sink_reset(0);
	feed("POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0);
	uint64_t d0 = http_conn_deadline(&conn);
	n = snprintf(head, sizeof head, "%x\r\n", 64000);
	feedn(head, (size_t)n, 5);
	feedn(body, 64000, 5);
	feed("\r\n", 5);
	is_int((long)(http_conn_deadline(&conn) - d0), 1000, "64000 body bytes extend the deadline by 1000 ms");
	ok(http_conn_tick(&conn, d0 + 500) == HTTP_CONN_READING, "still reading past the header timeout");
	feed("0\r\n\r\n", d0 + 600);
	r = take(d0 + 600);
	ok(has(r, "HTTP/1.1 200") && sink_len == 64000, "a chunked streamed body");
	/* over the limit: declared, then received */
	sink_reset(0);
	n = snprintf(head, sizeof head, "POST /upload HTTP/1.1\r\nContent-Length: %d\r\n\r\n", SINK_LIMIT + 1);
	feedn(head, (size_t)n, 1);
	r = take(1);
	ok(has(r, "HTTP/1.1 413") && has(r, "body_too_large") && has(r, "200000 bytes") &&
	   has(r, "Connection: close"), "a declared length over the route's limit: 413, closes");
	ok(sink_opened == 1 && sink_closed == 1, "  the descriptor went back");
	sink_reset(0);
	feed("POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 1);
	for (int i = 0; i < 5 && http_conn_state(&conn) == HTTP_CONN_READING; i++) {
		n = snprintf(head, sizeof head, "%x\r\n", 60000);
		feedn(head, (size_t)n, 1);
		feedn(body, 60000, 1);
		feed("\r\n", 1);
	}
	r = take(1);
	ok(has(r, "HTTP/1.1 413") && sink_closed == 1 && sink_fd_seen == -2,
	   "a chunked body past the limit: 413, descriptor back, no handler");
	/* the route is busy: 503 */
	sink_reset(0);
	feed("POST /upload?busy HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 1);
	r = take(1);
	ok(has(r, "HTTP/1.1 503") && has(r, "busy"), "body_open refusing: 503 busy");
	/* other paths keep the in-memory limit */
	sink_reset(0);
	n = snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n", HTTP_MAX_BODY + 1);
	feedn(head, (size_t)n, 1);
	r = take(1);
	ok(has(r, "HTTP/1.1 413") && has(r, "payload_too_large") && sink_opened == 0,
	   "another path: the 64 KiB limit, no descriptor");
	/* the connection goes away mid-body */
	sink_reset(0);
	feed("POST /upload HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc", 1);
	http_conn_eof(&conn);
	http_conn_release(&conn);
	http_conn_release(&conn);
	ok(sink_opened == 1 && sink_closed == 1 && sink_gone == 1,
	   "released mid-body: the descriptor goes back, conn_gone once");
	srv.body_open = NULL;
	srv.body_close = NULL;
	srv.conn_gone = NULL;
}

int main(void)
{
	test_simple();
	test_pipelined();
	test_bytewise();
	test_chunked();
	test_404_405_head();
	test_refusals();
	test_timeouts();
	test_pending();
	test_close_rules();
	test_partial_send_and_big();
	test_headers();
	test_room();
	test_stream();
	test_streamed_body();
	diag("sizeof(struct http_conn) = %zu", sizeof(struct http_conn));
	return tap_done();
}
