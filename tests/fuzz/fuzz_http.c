/* tests/fuzz/fuzz_http.c: the HTTP core and the API routes under libFuzzer.
 *
 * Input layout: byte 0 = number of split sizes k (mod 16), then k bytes of
 * split sizes (each + 1), then one flags byte, then the byte stream a
 * client sends. The stream is fed in pieces of the split sizes (cycling),
 * output is taken in pieces too, time advances, PENDING requests are
 * answered (or left to time out), and the core's invariants are checked
 * after every step.
 *
 * flags: bit 0 request_kaddr fails; bit 1 init's reply is an error;
 *        bit 2 let PENDING time out instead of answering; bit 3 EOF at end;
 *        bit 4 send output one byte at a time; bits 5-7 kernel address count.
 */
#include "net/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_conn conn;
static struct http_server srv;
static struct api_state st;
static uint8_t flags;
static int kaddr_asked;

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static int fake_request_kaddr(void *ctx, uint32_t id)
{
	(void)ctx;
	CHECK(id == 1);
	kaddr_asked++;
	return (flags & 1) ? -EPIPE : 0;
}

static void handler(void *ctx, struct http_conn *c, const struct http_request *req)
{
	const char *h = http_header(req, "host");

	CHECK(req->path && req->query);
	CHECK(req->body_len <= HTTP_MAX_BODY);
	CHECK(!h || strlen(h) < HTTP_MAX_HEAD);
	CHECK(req->header_count <= HTTP_MAX_HEADERS);
	if (strcmp(req->path, "/echo") == 0) {
		http_respond(c, 200, "application/octet-stream", req->body, req->body_len);
		return;
	}
	api_handle(ctx, c, req);
}

static void answer_pending(void)
{
	struct kaddr_reply_msg r;
	unsigned n = flags >> 5;

	memset(&r, 0, sizeof r);
	r.error = (flags & 2) ? -EIO : 0;
	r.count = n * 3;   /* sometimes more than KADDR_MAX */
	for (unsigned i = 0; i < KADDR_MAX; i++) {
		r.addr[i].family = (i & 1) ? AF_INET6 : AF_INET;
		r.addr[i].prefixlen = (uint8_t)(i * 9);
		memset(r.addr[i].addr, (int)(i * 37), sizeof r.addr[i].addr);
	}
	r.addr[3].family = 99;
	api_kaddr_reply(&st, &conn, &r);
}

static void check_invariants(void)
{
	enum http_conn_state s = http_conn_state(&conn);
	size_t n;

	CHECK(s <= HTTP_CONN_CLOSED);
	CHECK(conn.in_len <= sizeof conn.in);
	CHECK(conn.out_sent <= conn.out_len && conn.out_len <= sizeof conn.out);
	CHECK(conn.hlen <= sizeof conn.hbuf && conn.body_len <= HTTP_MAX_BODY);
	CHECK(http_conn_room(&conn) <= HTTP_MAX_HEAD);
	http_conn_output(&conn, &n);
	if (n)
		CHECK(s == HTTP_CONN_WRITING || s == HTTP_CONN_CLOSING);
	if (s == HTTP_CONN_READING)
		CHECK(conn.in_len == 0);
}

/* Sends the output; each complete response must start with a status line. */
static void drain(uint64_t now)
{
	const uint8_t *p;
	size_t n;

	for (int guard = 0; guard < 100000; guard++) {
		p = http_conn_output(&conn, &n);
		if (n == 0)
			return;
		if (conn.out_sent == 0)
			CHECK(n >= 12 && memcmp(p, "HTTP/1.1 ", 9) == 0);
		http_conn_sent(&conn, (flags & 16) ? 1 : n, now);
		check_invariants();
	}
	CHECK(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t splits[16], nsplits, pos = 0, si = 0;
	uint64_t now = 1000;

	if (size < 2)
		return 0;
	nsplits = data[pos++] % 16;
	if (size < pos + nsplits + 1)
		return 0;
	for (size_t i = 0; i < nsplits; i++)
		splits[i] = (size_t)data[pos++] + 1;
	flags = data[pos++];

	memset(&st, 0, sizeof st);
	st.request_kaddr = fake_request_kaddr;
	st.have_boot = true;
	st.boot.has_manifest = 1;
	st.ipv4_addr = 0x0200a8c0;
	kaddr_asked = 0;
	srv.handler = handler;
	srv.ctx = &st;
	srv.header_timeout_ms = 500;
	srv.idle_timeout_ms = 2000;
	http_conn_init(&conn, &srv, 1, now);

	while (pos < size && http_conn_state(&conn) != HTTP_CONN_CLOSED) {
		size_t want = nsplits ? splits[si++ % nsplits] : size - pos;
		size_t len = want < size - pos ? want : size - pos;
		size_t taken = http_conn_feed(&conn, data + pos, len, now);

		CHECK(taken <= len);
		check_invariants();
		pos += taken;
		now += 37;
		if (http_conn_state(&conn) == HTTP_CONN_PENDING) {
			if (flags & 4)
				now += srv.idle_timeout_ms;   /* let it time out: 504 */
			else
				answer_pending();
		}
		http_conn_tick(&conn, now);
		check_invariants();
		drain(now);
		if (taken == 0 && http_conn_room(&conn) == 0 &&
		    http_conn_state(&conn) != HTTP_CONN_CLOSED)
			CHECK(http_conn_state(&conn) != HTTP_CONN_READING);
	}
	if (flags & 8)
		http_conn_eof(&conn);
	for (int i = 0; i < 2000 && http_conn_state(&conn) != HTTP_CONN_CLOSED; i++) {
		if (http_conn_state(&conn) == HTTP_CONN_PENDING)
			answer_pending();
		drain(now);
		now += 100000;
		http_conn_tick(&conn, now);
		check_invariants();
		drain(now);
		now += 100000;
		http_conn_tick(&conn, now);
	}
	/* Every connection ends: idle, request and write timeouts all fire. */
	CHECK(http_conn_state(&conn) == HTTP_CONN_CLOSED);
	return 0;
}
