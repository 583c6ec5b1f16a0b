/* tests/test_egress_http.c: the egress proxy's request heads, body
 * framing and header rewrite (net/egress_http.h), and one originate
 * request's checks and rewrite (egp_request_rewrite, net/egress_proxy.h):
 * the rule's methods and paths, strip, inject, and the ways a function
 * could smuggle its own value of an injected header. */
#include "net/egress_http.h"
#include "net/egress_proxy.h"
#include "net/egress_secrets.h"
#include "lib/errbuf.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\",\"egress\":["
	"{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"p\","
	"\"methods\":[\"GET\",\"POST\"],\"path_prefixes\":[\"/v1\"],\"strip_headers\":[\"cookie\"],"
	"\"inject_headers\":{\"authorization\":{\"secret\":\"UPSTREAM_KEY\"}}},"
	"{\"host\":\"other.example.com\",\"ports\":[443],\"purpose\":\"p\","
	"\"inject_headers\":{\"x-key\":{\"secret\":\"NOT_THERE\"}}},"
	"{\"host\":\"ws.example.com\",\"ports\":[443],\"purpose\":\"p\",\"websocket\":true,"
	"\"strip_headers\":[\"cookie\"],\"inject_headers\":{\"authorization\":{\"secret\":\"UPSTREAM_KEY\"}}}]}";

static struct policy pol;
static struct policy_tokens toks;
static char err[ERRBUF_LEN];

static long parse(const char *s, struct eh_head *h)
{
	err[0] = '\0';
	return eh_head_parse(s, strlen(s), h, err, sizeof err);
}

static void refused(const char *s, const char *why)
{
	struct eh_head h;
	long n = parse(s, &h);
	ok(n == -EINVAL && strstr(err, why) != NULL, "refused (%s): %s", why, err);
}

static void test_heads(void)
{
	struct eh_head h;
	const char *s = "POST /v1/x?q=1 HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 5\r\n"
			"X-A:  v  \r\n\r\nhello";

	long n = parse(s, &h);
	is_int(n, (long)strlen(s) - 5, "a head with a body: its length");
	is_str(h.method, "POST", "its method");
	ok(h.kind == EH_T_ORIGIN && h.target_len == 9 && memcmp(s + h.target, "/v1/x?q=1", 9) == 0,
	   "its origin-form target");
	ok(h.nhdr == 3 && h.nhost == 1 && h.host == 0, "three header lines, one Host");
	ok(h.framing == EH_BODY_LENGTH && h.length == 5, "Content-Length framing");
	ok(h.h[2].value_len == 1 && s[h.h[2].value] == 'v', "a value without its OWS");
	ok(h.h[2].line_len == 11 && memcmp(s + h.h[2].line, "X-A:  v  \r\n", 11) == 0,
	   "a line with its CRLF");
	for (size_t k = 0; k < (size_t)n; k++)
		if (eh_head_parse(s, k, &h, err, sizeof err) != 0) {
			ok(0, "a prefix of %zu bytes is not a head", k);
			break;
		}
	ok(1, "every prefix needs more bytes");
	n = parse("GET / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", &h);
	ok(n > 0 && h.framing == EH_BODY_CHUNKED, "chunked, in any case");
	n = parse("GET / HTTP/1.0\r\n\r\n", &h);
	ok(n > 0 && h.http10 && h.framing == EH_BODY_NONE && h.host == -1, "HTTP/1.0, no body");
	n = parse("GET http://a.example/ HTTP/1.1\r\n\r\n", &h);
	ok(n > 0 && h.kind == EH_T_ABSOLUTE, "absolute-form is told apart");

	refused("GET / HTTP/1.1\nHost: a\r\n\r\n", "bare LF");
	refused("GET / HTTP/1.1\r\nHost: a\rX\r\n\r\n", "bare CR");
	refused("GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", "folded");
	refused("GET / HTTP/1.1\r\nX-A : a\r\n\r\n", "token name");
	refused("GET / HTTP/1.1\r\nX-A: a\001\r\n\r\n", "control byte");
	refused("GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"both Content-Length");
	refused("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"two Content-Length");
	refused("GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", "decimal");
	refused("GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", "decimal");
	refused("GET / HTTP/1.1\r\nContent-Length: 99999999999999999\r\n\r\n", "decimal");
	refused("GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "other than chunked");
	refused("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		"two Transfer-Encoding");
	refused("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0");
	refused("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", "Upgrade without");
	refused("GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 or HTTP/1.0");
	refused("get / HTTP/1.1\r\n\r\n", "a method");
	refused("GET  / HTTP/1.1\r\n\r\n", "a target");
	refused("GET * HTTP/1.1\r\n\r\n", "bad target");

	/* the header count's bound */
	char big[EH_HEAD_MAX];
	size_t at = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\n");
	for (int k = 0; k <= EH_HDR_MAX; k++)
		at += (size_t)snprintf(big + at, sizeof big - at, "X-%d: v\r\n", k);
	snprintf(big + at, sizeof big - at, "\r\n");
	refused(big, "more than 64 header lines");
	/* the size bound: a head is never longer than EH_HEAD_MAX */
	memset(big, 'a', sizeof big);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	n = eh_head_parse(big, sizeof big, &h, err, sizeof err);
	is_int(n, 0, "16 KiB of one header line: still no head (the caller refuses it)");
}

/* Feeds s in pieces of step bytes; the body's length, or -1. */
static long feed(const char *head, const char *s, size_t step, enum eh_bstate *end)
{
	struct eh_head h;
	struct eh_body b;
	size_t n = strlen(s), i = 0;

	if (parse(head, &h) <= 0)
		return -2;
	eh_body_begin(&b, &h);
	while (i < n && b.st != EH_B_DONE) {
		size_t k = n - i < step ? n - i : step;
		long r = eh_body_feed(&b, (const uint8_t *)s + i, k, err, sizeof err);
		if (r < 0)
			return -1;
		i += (size_t)r;
		if ((size_t)r < k)
			break;
	}
	*end = b.st;
	return (long)i;
}

/* eh_resp_parse of s (head_req: EH_RESP_* flags): want status and
 * framing (status 0: refused). */
static void resp_case(const char *s, unsigned head_req, unsigned status, enum eh_framing fr,
		      const char *what)
{
	struct eh_head h;
	size_t n = strlen(s);
	long r = eh_resp_parse(s, n, head_req, &h, err, sizeof err);

	if (status == 0) {
		ok(r == -EINVAL && err[0] != '\0', "response refused, %s: %s", what, err);
		return;
	}
	ok(r == (long)n && h.status == status && h.framing == fr, "response, %s: %u", what, status);
	bool more = true;
	for (size_t k = 0; k < n && more; k++)
		more = eh_resp_parse(s, k, head_req, &h, err, sizeof err) == 0;
	ok(more, "  each proper prefix: more bytes needed");
}

static void test_responses(void)
{
	resp_case("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, 200, EH_BODY_LENGTH,
		  "Content-Length");
	resp_case("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 200,
		  EH_BODY_CHUNKED, "chunked");
	resp_case("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", false, 200, EH_BODY_CLOSE,
		  "neither: to the connection's end");
	resp_case("HTTP/1.0 200 OK\r\n\r\n", false, 200, EH_BODY_CLOSE, "HTTP/1.0, neither");
	resp_case("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, 200, EH_BODY_NONE,
		  "to HEAD: no body whatever it says");
	resp_case("HTTP/1.1 204 No Content\r\n\r\n", false, 204, EH_BODY_NONE, "204: no body");
	resp_case("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false, 304,
		  EH_BODY_NONE, "304: no body");
	resp_case("HTTP/1.1 100 Continue\r\n\r\n", false, 100, EH_BODY_NONE, "100: interim");
	resp_case("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false, 404, EH_BODY_LENGTH,
		  "no reason phrase");
	resp_case("HTTP/1.1 200 OK\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n", false, 200,
		  EH_BODY_LENGTH, "an Upgrade header (an advertisement) in a response");
	resp_case("HTTP/1.1 101 Switching Protocols\r\n\r\n", false, 0, EH_BODY_NONE, "101");
	resp_case("HTTP/1.1 20 OK\r\n\r\n", false, 0, EH_BODY_NONE, "a two-digit status");
	resp_case("HTTP/1.1 099 X\r\n\r\n", false, 0, EH_BODY_NONE, "a status below 100");
	resp_case("HTTP/2 200 OK\r\n\r\n", false, 0, EH_BODY_NONE, "HTTP/2");
	resp_case("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false, 0, EH_BODY_NONE, "a bare LF");
	resp_case("HTTP/1.1 200 O\x01K\r\n\r\n", false, 0, EH_BODY_NONE, "a control byte in the reason");
	resp_case("HTTP/1.1 200OK\r\n\r\n", false, 0, EH_BODY_NONE, "no space before the reason");
	resp_case("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", false, 0,
		  EH_BODY_NONE, "two Content-Length");
	resp_case("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		  false, 0, EH_BODY_NONE, "Content-Length and chunked");
	resp_case("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, 0,
		  EH_BODY_NONE, "a coding besides chunked");
	resp_case("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", false, 0, EH_BODY_NONE, "a folded line");
	resp_case("GET / HTTP/1.1\r\n\r\n", false, 0, EH_BODY_NONE, "a request");
}

#define WS_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define WS_VER "Sec-WebSocket-Version: 13\r\n"

/* A request head: GET / with the given headers. */
static const char *ws_req(const char *hdrs)
{
	static char s[1024];
	snprintf(s, sizeof s, "GET /ws HTTP/1.1\r\nHost: a.example\r\n%s\r\n", hdrs);
	return s;
}

static void test_websocket(void)
{
	struct eh_head h;
	const char *s = ws_req("Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n" WS_KEY WS_VER);
	long n = parse(s, &h);

	ok(n == (long)strlen(s) && h.upgrade == EH_UP_WEBSOCKET && h.framing == EH_BODY_NONE,
	   "a WebSocket handshake (tokens in any case, Connection a list)");
	bool more = true;
	for (size_t k = 0; k < (size_t)n && more; k++)
		more = eh_head_parse(s, k, &h, err, sizeof err) == 0;
	ok(more, "  each proper prefix: more bytes needed");
	n = parse(ws_req("Connection: upgrade\r\nUpgrade: websocket\r\nConnection: close\r\n" WS_KEY
			 WS_VER), &h);
	ok(n > 0 && h.upgrade == EH_UP_WEBSOCKET, "\"upgrade\" in one of two Connection lines");
	n = parse(ws_req("Connection: upgrade\r\n"), &h);
	ok(n > 0 && h.upgrade == EH_UP_NONE, "Connection: upgrade alone asks for nothing");
	n = parse(ws_req("X-A: b\r\n"), &h);
	ok(n > 0 && h.upgrade == EH_UP_NONE, "a plain request: no upgrade");

	refused(ws_req("Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"),
		"other than websocket");
	refused(ws_req("Upgrade: websocket, h2c\r\nConnection: upgrade\r\n" WS_KEY WS_VER),
		"other than websocket");
	refused(ws_req("Upgrade: websocket\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" WS_KEY
		       WS_VER), "two Upgrade");
	refused(ws_req("Upgrade: websocket\r\nConnection: keep-alive\r\n" WS_KEY WS_VER),
		"without \"upgrade\" in Connection");
	refused(ws_req("Upgrade: websocket\r\nConnection: upgraded\r\n" WS_KEY WS_VER),
		"without \"upgrade\" in Connection");
	refused(ws_req("Upgrade: websocket\r\nConnection: upgrade\r\n" WS_VER), "Sec-WebSocket-Key");
	refused(ws_req("Upgrade: websocket\r\nConnection: upgrade\r\n" WS_KEY WS_KEY WS_VER),
		"Sec-WebSocket-Key");
	refused(ws_req("Upgrade: websocket\r\nConnection: upgrade\r\n"
		       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n" WS_VER), "Sec-WebSocket-Key");
	refused(ws_req("Upgrade: websocket\r\nConnection: upgrade\r\n"
		       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2%jZQ==\r\n" WS_VER), "Sec-WebSocket-Key");
	refused(ws_req("Upgrade: websocket\r\nConnection: upgrade\r\n" WS_KEY), "Version: 13");
	refused(ws_req("Upgrade: websocket\r\nConnection: upgrade\r\n" WS_KEY
		       "Sec-WebSocket-Version: 8\r\n"), "Version: 13");
	refused(ws_req("Upgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 0\r\n" WS_KEY
		       WS_VER), "with a body");
	refused("POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" WS_KEY WS_VER "\r\n",
		"not a GET");
	refused("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" WS_KEY WS_VER "\r\n",
		"HTTP/1.0");

	/* the answers */
	const char *sw = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	resp_case(sw, EH_RESP_UPGRADE, 101, EH_BODY_NONE, "101 to a handshake");
	n = eh_resp_parse(sw, strlen(sw), EH_RESP_UPGRADE, &h, err, sizeof err);
	ok(n > 0 && h.upgrade == EH_UP_WEBSOCKET, "  it switches to WebSocket");
	resp_case(sw, 0, 0, EH_BODY_NONE, "101 when no upgrade was asked");
	resp_case("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n",
		  EH_RESP_UPGRADE, 0, EH_BODY_NONE, "101 to another protocol");
	resp_case("HTTP/1.1 101 Switching Protocols\r\n\r\n", EH_RESP_UPGRADE, 0, EH_BODY_NONE,
		  "101 without Upgrade");
	resp_case("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", EH_RESP_UPGRADE, 0,
		  EH_BODY_NONE, "101 without Connection: upgrade");
	resp_case("HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
		  EH_RESP_UPGRADE, 0, EH_BODY_NONE, "101 in HTTP/1.0");
	resp_case("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", EH_RESP_UPGRADE, 200, EH_BODY_LENGTH,
		  "200 to a handshake: an ordinary answer");
	n = eh_resp_parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", 38, EH_RESP_UPGRADE, &h, err,
			  sizeof err);
	ok(n == 38 && h.upgrade == EH_UP_NONE, "  that does not switch");
	resp_case("HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n",
		  EH_RESP_UPGRADE, 426, EH_BODY_LENGTH, "426 with an Upgrade (an advertisement)");
	resp_case("HTTP/1.1 100 Continue\r\n\r\n", EH_RESP_UPGRADE, 100, EH_BODY_NONE,
		  "100 to a handshake: interim");
}

static void test_bodies(void)
{
	const char *ch = "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	const char *cl = "GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
	const char *body = "5\r\nhello\r\n1a;x=\"y\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";
	enum eh_bstate st;

	for (size_t step = 1; step <= 64; step *= 2) {
		char s[256];
		snprintf(s, sizeof s, "%sGET / HTTP/1.1\r\n", body);
		long n = feed(ch, s, step, &st);
		ok(n == (long)strlen(body) && st == EH_B_DONE,
		   "chunked in pieces of %zu: the body ends at the last chunk's CRLF", step);
	}
	ok(feed(cl, "abcGET", 2, &st) == 3 && st == EH_B_DONE, "Content-Length: 3 bytes, then the next head");
	ok(feed("GET / HTTP/1.1\r\n\r\n", "GET", 1, &st) == 0 && st == EH_B_DONE, "no body: nothing");
	ok(feed(ch, "5\r\nhelloX\r\n", 64, &st) == -1 && strstr(err, "longer than its size"),
	   "chunk data past its size: %s", err);
	ok(feed(ch, "0\r\nAuthorization: x\r\n\r\n", 64, &st) == -1 && strstr(err, "trailer"),
	   "a trailer field (an Authorization smuggled as a trailer): %s", err);
	ok(feed(ch, "g\r\n", 64, &st) == -1, "a chunk line without a size");
	ok(feed(ch, "5\nhello", 64, &st) == -1, "a chunk size ended by a bare LF");
	ok(feed(ch, "1000000000000000\r\n", 64, &st) == -1 && strstr(err, "15 hex"),
	   "a chunk size of 16 digits");
	ok(feed(ch, "5\r\nhello\n", 64, &st) == -1, "chunk data ended by a bare LF");
}

static int secret_of(void *ctx, const char *fn, const char *name, const char **v, size_t *n)
{
	(void)ctx;
	if (strcmp(fn, "f") != 0 || strcmp(name, "UPSTREAM_KEY") != 0)
		return -ENOENT;
	*v = "Bearer s3cret";
	*n = 13;
	return 0;
}

static char out[EGP_RW_MAX];

/* The head for the upstream of request s to api.example.com:443 by
 * function "f", or NULL with the reason in err. */
static const char *rewrite(const char *s, const char *host)
{
	static char path[EH_HEAD_MAX];
	struct egress_proxy_hooks hk = { .secret = secret_of };
	struct egp_target t = { .port = 443 };
	struct eh_head h;

	snprintf(t.host, sizeof t.host, "%s", host);
	if (parse(s, &h) <= 0)
		return NULL;
	long n = egp_request_rewrite(&pol, 0x7, &t, "f", s, &h, &hk, path, sizeof path, out,
				     sizeof out, err, sizeof err);
	if (n < 0)
		return NULL;
	out[n] = '\0';
	return out;
}

static void rw_refused(const char *s, const char *code)
{
	const char *r = rewrite(s, "api.example.com");
	ok(r == NULL && strncmp(err, code, strlen(code)) == 0, "refused %s: %s", code, err);
}

static void test_rewrite(void)
{
	const char *r = rewrite("GET /v1/%7ex HTTP/1.1\r\nHost: api.example.com\r\nCookie: a=b\r\n"
				"Authorization: mine\r\nAccept: */*\r\n\r\n", "api.example.com");
	is_str(r, "GET /v1/~x HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n"
		  "authorization: Bearer s3cret\r\n\r\n",
	       "the cookie stripped, the function's Authorization replaced, the path normalised");
	r = rewrite("POST /v1 HTTP/1.1\r\nhost: API.example.com:443\r\nAUTHORIZATION: a\r\n"
		    "authorization: b\r\ncOOKIE: c\r\nContent-Length: 0\r\n\r\n", "api.example.com");
	is_str(r, "POST /v1 HTTP/1.1\r\nhost: API.example.com:443\r\nContent-Length: 0\r\n"
		  "authorization: Bearer s3cret\r\n\r\n",
	       "two Authorization lines in other cases: both gone, one of netd's");
	ok(r != NULL && strstr(r, "mine") == NULL && strstr(r, ": a\r") == NULL,
	   "none of the function's values is left");
	rw_refused("GET /v1 HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: x\r\n y\r\n\r\n",
		   "");
	ok(strstr(err, "folded") != NULL || strstr(err, "Host") != NULL, "an obs-folded Authorization never parses");
	rw_refused("DELETE /v1/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "method_not_allowed");
	rw_refused("GET /v2 HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "path_not_allowed");
	rw_refused("GET /v10 HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "path_not_allowed");
	rw_refused("GET /v1/../v2 HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "dot_segment");
	rw_refused("GET /v1/%2e%2e/v2 HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "encoded_byte");
	rw_refused("GET /v1 HTTP/1.1\r\nHost: other.example.com\r\n\r\n", "host_mismatch");
	rw_refused("GET /v1 HTTP/1.1\r\nHost: api.example.com\r\nHost: api.example.com\r\n\r\n",
		   "host_mismatch");
	rw_refused("GET /v1 HTTP/1.1\r\n\r\n", "host_mismatch");
	rw_refused("GET https://api.example.com/v1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
		   "bad_request");
	r = rewrite("GET /x HTTP/1.1\r\nHost: other.example.com\r\n\r\n", "other.example.com");
	ok(r == NULL && strncmp(err, "secret_missing", 14) == 0 && strstr(err, "NOT_THERE"),
	   "a secret that is not there: %s", err);

	/* WebSocket handshakes: only under a rule that has "websocket" */
	static const char ws_hs[] = "GET /v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
				    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				    "Sec-WebSocket-Version: 13\r\nCookie: c\r\nAuthorization: mine\r\n\r\n";
	char hs[512];
	snprintf(hs, sizeof hs, ws_hs, "api.example.com");
	rw_refused(hs, "websocket_not_allowed");
	ok(strstr(err, "rule api.example.com") != NULL, "  the reason names the rule: %s", err);
	snprintf(hs, sizeof hs, ws_hs, "ws.example.com");
	r = rewrite(hs, "ws.example.com");
	is_str(r, "GET /v1/ws HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Version: 13\r\nauthorization: Bearer s3cret\r\n\r\n",
	       "a handshake under a websocket rule: Upgrade and Connection kept, strip and inject applied");
	r = rewrite("GET /v1 HTTP/1.1\r\nHost: ws.example.com\r\n\r\n", "ws.example.com");
	ok(r != NULL, "a websocket rule takes plain requests too");

	/* bounds and the values' bytes */
	struct eh_head h;
	const char *s = "GET /v1 HTTP/1.1\r\nX: y\r\n\r\n";
	parse(s, &h);
	const char *v[1] = { "a\r\nX-Evil: 1" };
	size_t vl[1] = { 12 };
	char small[64];
	ok(eh_rewrite(s, &h, "/v1", 3, &pol.rules[0], v, vl, small, sizeof small, err, sizeof err) ==
	   -EINVAL, "a value with CRLF is refused: %s", err);
	v[0] = "k";
	vl[0] = 1;
	ok(eh_rewrite(s, &h, "/v1", 3, &pol.rules[0], v, vl, small, 20, err, sizeof err) == -ENOSPC,
	   "a head that does not fit: -ENOSPC");
	long n = eh_rewrite(s, &h, "/v1", 3, &pol.rules[0], v, vl, small, sizeof small, err, sizeof err);
	ok(n > 0 && (size_t)n == strlen("GET /v1 HTTP/1.1\r\nX: y\r\nauthorization: k\r\n\r\n") &&
	   memcmp(small, "GET /v1 HTTP/1.1\r\nX: y\r\nauthorization: k\r\n\r\n", (size_t)n) == 0,
	   "exactly the bytes");
}

/* An IMSG_SBX_INJECT payload for fn with one value (n 0: none). */
static size_t inject_msg(uint8_t *buf, const char *fn, unsigned n, const char *name, const char *v)
{
	struct sbx_inject_msg m = { .n = (uint8_t)n };
	struct sbx_inject_item it = { .len = (uint32_t)strlen(v) };

	snprintf(m.function, sizeof m.function, "%s", fn);
	snprintf(it.name, sizeof it.name, "%s", name);
	memcpy(buf, &m, sizeof m);
	if (n == 0)
		return sizeof m;
	memcpy(buf + sizeof m, &it, sizeof it);
	memcpy(buf + sizeof m + sizeof it, v, it.len);
	return sizeof m + sizeof it + it.len;
}

static struct egress_secrets sec;

static void test_secrets(void)
{
	uint8_t buf[2048];
	const char *v;
	size_t n;

	size_t len = inject_msg(buf, "f", 1, "UPSTREAM_KEY", "Bearer one");
	ok(esec_take(&sec, buf, len, err, sizeof err) == 0 &&
	   esec_get(&sec, "f", "UPSTREAM_KEY", &v, &n) == 0 && n == 10 && memcmp(v, "Bearer one", 10) == 0,
	   "a function's value is kept");
	ok(esec_get(&sec, "g", "UPSTREAM_KEY", &v, &n) == -ENOENT, "  only for that function");
	ok(esec_get(&sec, "f", "OTHER", &v, &n) == -ENOENT, "  only that name");
	len = inject_msg(buf, "f", 1, "UPSTREAM_KEY", "Bearer two");
	ok(esec_take(&sec, buf, len, err, sizeof err) == 0 &&
	   esec_get(&sec, "f", "UPSTREAM_KEY", &v, &n) == 0 && memcmp(v, "Bearer two", 10) == 0,
	   "a new message replaces it");
	len = inject_msg(buf, "f", 1, "UPSTREAM_KEY", "Bearer three");
	ok(esec_take(&sec, buf, len - 1, err, sizeof err) == -EINVAL &&
	   esec_get(&sec, "f", "UPSTREAM_KEY", &v, &n) == -ENOENT,
	   "a short message is refused and the old value wiped (%s)", err);
	ok(esec_take(&sec, buf, 10, err, sizeof err) == -EINVAL, "a message shorter than its header");
	len = inject_msg(buf, "f", 1, "UPSTREAM_KEY", "Bearer one");
	esec_take(&sec, buf, len, err, sizeof err);
	len = inject_msg(buf, "f", 0, "", "");
	ok(esec_take(&sec, buf, len, err, sizeof err) == 0 &&
	   esec_get(&sec, "f", "UPSTREAM_KEY", &v, &n) == -ENOENT, "none: the function's values wiped");
	unsigned took = 0;
	for (unsigned i = 0; i <= ESEC_FN_MAX; i++) {
		char fn[16];
		snprintf(fn, sizeof fn, "fn%u", i);
		len = inject_msg(buf, fn, 1, "K", "v");
		took += esec_take(&sec, buf, len, err, sizeof err) == 0;
	}
	ok(took == ESEC_FN_MAX && strstr(err, "no room"), "a full table refuses the next (%s)", err);
	esec_clear(&sec);
	ok(esec_get(&sec, "fn0", "K", &v, &n) == -ENOENT, "cleared");
}

/* Whether a connection persists after a message (RFC 9112 9.3): what
 * decides if netd may keep an upstream connection for another of the
 * function's connections. */
static void persist_case(bool response, const char *s, bool want, const char *what)
{
	struct eh_head h;
	long n = response ? eh_resp_parse(s, strlen(s), 0, &h, err, sizeof err) :
			    eh_head_parse(s, strlen(s), &h, err, sizeof err);

	ok(n > 0 && h.persist == want, "%s: %s", what, want ? "persists" : "does not persist");
}

static void test_persist(void)
{
	persist_case(true, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true, "an HTTP/1.1 answer");
	persist_case(true, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false,
		     "HTTP/1.1 with Connection: close");
	persist_case(true, "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n",
		     false, "\"close\" among other tokens, any case");
	persist_case(true, "HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", true,
		     "a token that only starts with close");
	persist_case(true, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, "an HTTP/1.0 answer");
	persist_case(true, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true,
		     "HTTP/1.0 with Connection: keep-alive");
	persist_case(false, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false,
		     "a request with Connection: close");
	persist_case(false, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, "an HTTP/1.1 request");
}

/* A request's Connection: close is about the function's connection
 * alone: not passed upstream when it names nothing else. */
static void close_case(const char *extra, bool hop, const char *kept, const char *what)
{
	static const struct policy_rule none;
	char in[512], rw[600];
	struct eh_head h;

	snprintf(in, sizeof in, "GET /x HTTP/1.1\r\nHost: a\r\n%s\r\n", extra);
	long n = eh_head_parse(in, strlen(in), &h, err, sizeof err);
	long w = n > 0 ? eh_rewrite(in, &h, "/x", 2, &none, NULL, NULL, rw, sizeof rw - 1, err, sizeof err) : -1;
	rw[w > 0 ? w : 0] = '\0';
	bool has = strstr(rw, kept) != NULL;
	ok(n > 0 && h.close_hop == hop && w > 0 && (hop ? strstr(rw, "onnection") == NULL : has),
	   "%s: %s", what, hop ? "not passed upstream" : "passed on");
}

static void test_close_hop(void)
{
	close_case("Connection: close\r\n", true, "", "Connection: close");
	close_case("connection: Keep-Alive,  CLOSE\r\nConnection: keep-alive\r\n", true, "",
		   "close and keep-alive over two lines, any case");
	close_case("Connection: close, x-private\r\n", false, "Connection: close, x-private\r\n",
		   "close with another token");
	close_case("Connection: keep-alive\r\n", false, "Connection: keep-alive\r\n", "keep-alive alone");
	struct eh_head h;
	static const char h10[] = "GET / HTTP/1.0\r\nHost: a\r\nConnection: close\r\n\r\n";
	ok(eh_head_parse(h10, strlen(h10), &h, err, sizeof err) > 0 && !h.close_hop && !h.persist,
	   "HTTP/1.0 with Connection: close: passed on (the upstream closes)");
}

int main(void)
{
	int r = policy_parse(POLICY, strlen(POLICY), &toks, &pol, err, sizeof err);
	ok(r == 0 && pol.nrules == 3, "the test policy parses");
	if (r != 0) {
		diag("%s", err);
		return 1;
	}
	test_heads();
	test_bodies();
	test_responses();
	test_websocket();
	test_persist();
	test_close_hop();
	test_rewrite();
	test_secrets();
	return tap_done();
}
