/* tests/fuzz/fuzz_api_log.c: the log's routes (net/api_log.c) under
 * libFuzzer: a request to one of them with a fuzzed tail (query, tile
 * path, function id), then a sequence of fuzzed answers from "logd",
 * each delivered for the question the route is waiting on, with the
 * output drained in small pieces so that streamed bodies ask for more.
 * The answers are what a compromised logd could send: every length,
 * count, offset and total is checked by api_log.c before use.
 *
 * Input: byte 0 picks the route (the receipt hook through a route of the
 * fuzzer's, /fake-invoke/<invocation id>, as the invocation route calls
 * it); then the tail up to a '\n' (at most 256 bytes); then answers,
 * each: 1 byte type (mod 6: APPENDED, CHECKPOINT, READ, PROOF, FOUND from
 * logd, RECEIPT_SIGN_REPLY from keyd), 2 bytes length (big-endian), that
 * many payload bytes (or what is left).
 *
 * Invariants: the connection's buffers and stream room stay in bounds
 * (http_stream_write refuses a body beyond its Content-Length), every
 * run ends CLOSED, and the sanitizers see no bad access.
 */
#include "lib/imsg.h"
#include "net/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static struct http_conn conn;
static struct http_server srv;
static struct api_state st;
static uint32_t seq;
static bool asked;

static int fake_request_log(void *ctx, uint32_t conn_id, uint32_t type, const void *p,
			    size_t len, uint32_t *out_seq)
{
	(void)ctx;
	(void)type;
	(void)p;
	CHECK(conn_id == conn.id);
	CHECK(len <= LOG_APPEND_MAX);
	*out_seq = ++seq;
	asked = true;
	return 0;
}

static int fake_request_keyd(void *ctx, uint32_t conn_id, uint32_t type, const void *p,
			     size_t len, uint32_t *out_seq)
{
	(void)ctx;
	(void)p;
	CHECK(conn_id == conn.id);
	CHECK(type == IMSG_RECEIPT_SIGN_REQ && len == sizeof(struct receipt_sign_req_msg));
	*out_seq = ++seq;
	asked = true;
	return 0;
}

/* The hook's outcome, as the invocation route answers it: called once. */
static unsigned done_calls;
static void fake_done(struct api_state *s, struct http_conn *c, void *arg,
		      const struct api_receipt_out *o)
{
	(void)s;
	(void)arg;
	done_calls++;
	CHECK(http_conn_state(c) == HTTP_CONN_PENDING);
	if (o->error < 0) {
		api_receipt_refuse(c, o);
		return;
	}
	CHECK(o->headers != NULL && o->receipt != NULL);
	http_respond_hdr(c, 200, "text/plain", o->headers, "result", 6);
}

static void handler(void *state, struct http_conn *c, const struct http_request *req)
{
	struct api_receipt_in in = { .function = "fn", .status = 200 };

	if (strncmp(req->path, "/fake-invoke/", 13) != 0) {
		api_handle(state, c, req);
		return;
	}
	in.invocation = req->path + 13;
	api_receipt_begin(state, c, &in, fake_done, NULL);
}

static int fake_request_quote(void *ctx, uint32_t id, const uint8_t *nonce, size_t len)
{
	(void)ctx;
	(void)id;
	(void)nonce;
	CHECK(len >= 1 && len <= QUOTE_NONCE_MAX);
	return -ENOTCONN;
}

static void check_invariants(void)
{
	CHECK(http_conn_state(&conn) <= HTTP_CONN_CLOSED);
	CHECK(conn.out_sent <= conn.out_len && conn.out_len <= sizeof conn.out);
	CHECK(http_stream_room(&conn) <= sizeof conn.out);
}

/* Sends the output 997 bytes at a time (streamed bodies ask for more as
 * room frees). */
static void drain(uint64_t now)
{
	const uint8_t *p;
	size_t n;

	for (int guard = 0; guard < 100000; guard++) {
		p = http_conn_output(&conn, &n);
		if (n == 0)
			return;
		(void)p;
		http_conn_sent(&conn, n < 997 ? n : 997, now);
		check_invariants();
	}
	CHECK(0);
}

static const char *const routes[] = {
	"/v1/log/checkpoint?", "/tile/", "/v1/log/tile/entries/", "/v1/log/entries?",
	"/v1/log/proof/inclusion?", "/v1/log/proof/consistency?", "/logs/",
	"/v1/attestation?nonce=", "/v1/receipts/", "/fake-invoke/",
};
static const uint32_t answer_types[6] = {
	IMSG_LOG_APPENDED, IMSG_LOG_CHECKPOINT, IMSG_LOG_READ, IMSG_LOG_PROOF, IMSG_LOG_FOUND,
	IMSG_RECEIPT_SIGN_REPLY,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char req[512];
	static uint8_t payload[IMSG_MAX_PAYLOAD];
	size_t pos = 1, n;
	uint64_t now = 1000;

	if (size < 1)
		return 0;
	n = (size_t)snprintf(req, sizeof req, "GET %s", routes[data[0] % (sizeof routes / sizeof routes[0])]);
	while (pos < size && data[pos] != '\n' && n < 256 + 40)
		req[n++] = (char)data[pos++];
	pos++;
	n += (size_t)snprintf(req + n, sizeof req - n, " HTTP/1.1\r\nHost: x\r\n\r\n");

	memset(&st, 0, sizeof st);
	st.request_log = fake_request_log;
	st.request_quote = fake_request_quote;
	st.log.request_keyd = fake_request_keyd;
	done_calls = 0;
	srv.handler = handler;
	srv.ctx = &st;
	srv.stream_ready = api_log_stream_ready;
	srv.header_timeout_ms = 500;
	srv.idle_timeout_ms = 2000;
	asked = false;
	http_conn_init(&conn, &srv, 5, now);
	http_conn_feed(&conn, (const uint8_t *)req, n, now);
	check_invariants();
	drain(now);

	while (pos + 3 <= size && http_conn_state(&conn) != HTTP_CONN_CLOSED) {
		uint32_t type = answer_types[data[pos] % 6];
		size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
		pos += 3;
		if (len > size - pos)
			len = size - pos;
		if (len > sizeof payload)
			len = sizeof payload;
		memcpy(payload, data + pos, len);
		pos += len;
		/* the answer to the question asked last (a stray one otherwise) */
		uint32_t s = asked ? seq : seq + 1;
		asked = false;
		if (type == IMSG_RECEIPT_SIGN_REPLY)
			api_log_keyd_reply(&st, &conn, s, type, payload, len);
		else
			api_log_reply(&st, &conn, s, type, payload, len);
		check_invariants();
		drain(now);
		now += 10;
		if (http_conn_state(&conn) == HTTP_CONN_READING)
			break;   /* answered whole */
	}
	/* logd and keyd go away: whatever waits is answered or cut */
	if (asked) {
		api_log_lost(&st, &conn, seq);
		api_log_keyd_lost(&st, &conn, seq);
	}
	CHECK(done_calls <= 1);
	for (int i = 0; i < 100 && http_conn_state(&conn) != HTTP_CONN_CLOSED; i++) {
		drain(now);
		now += 100000;
		http_conn_tick(&conn, now);
		check_invariants();
	}
	CHECK(http_conn_state(&conn) == HTTP_CONN_CLOSED);
	return 0;
}
