/* tests/fuzz/fuzz_api_attest.c: netd's streamed attestation document
 * (net/api.c api_quote_reply) under libFuzzer, over the event records a
 * compromised or buggy keyd could put in its reply's memfd.
 *
 * Input: byte 0 flags (bit 0 tdx rather than sim, bit 1 a log key, bit 2
 * a checkpoint of control bytes, bit 3 HEAD), byte 1 how many bytes the
 * client reads at a time (1..256, times 7), bytes 2-3 the quote's length
 * (big-endian, mod QUOTE_REPLY_QUOTE_MAX + 1); the rest is the records,
 * handed over in a sealed memfd as keyd does.
 *
 * Invariants: records that all read (and are at most RTMR3_LOG_MAX) give
 * 200 with a body exactly as long as its Content-Length whose event_log
 * is byte for byte rtmr3_records_json's array (for HEAD: the head alone,
 * with that length); anything else gives 500 and sends no part of a
 * document; either way the stream slot and the mapping are released and
 * the memfd is closed.
 */
#include "crypto/rtmr3.h"
#include "lib/file.h"
#include "lib/jsonw.h"
#include "net/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static struct http_conn conn;
static struct http_server srv;
static struct api_state st;

/* The route itself is not under test: the request just waits for keyd. */
static void pending(void *state, struct http_conn *c, const struct http_request *req)
{
	(void)state;
	(void)c;
	(void)req;
}

/* What the records should render to, and whether netd should take them. */
static long expected(const uint8_t *rec, size_t len, char *buf, size_t cap)
{
	struct rtmr3_rec r;
	struct jsonw w;
	size_t off = 0;
	unsigned n = 0;
	int e;

	while ((e = rtmr3_rec_next(rec, len, &off, &r)) > 0)
		n++;
	if (e < 0 || n > RTMR3_LOG_MAX || len == 0)
		return -1;
	jw_init(&w, buf, cap);
	CHECK(rtmr3_records_json(&w, rec, len) == 0);
	return jw_finish(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t payload[sizeof(struct quote_reply_msg) + QUOTE_REPLY_QUOTE_MAX];
	static char want[1u << 22], got[1u << 22];
	struct quote_reply_msg *rep = (struct quote_reply_msg *)payload;
	const uint8_t *p, *rec;
	size_t n, len = 0, step, rlen;
	long wn;
	int fd, fd0;

	if (size < 4 || size - 4 > RTMR3_LOG_BYTES_MAX)
		return 0;
	rec = data + 4;
	rlen = size - 4;
	wn = expected(rec, rlen, want, sizeof want);
	step = 7u * ((size_t)data[1] + 1);

	memset(&st, 0, sizeof st);
	memset(payload, 0, sizeof payload);
	srv.handler = pending;
	srv.ctx = &st;
	srv.stream_ready = api_stream_ready;
	srv.conn_gone = api_conn_gone;
	http_conn_init(&conn, &srv, 5, 0);
	static const char get[] = "GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char head[] = "HEAD /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n";
	bool is_head = data[0] & 8;
	if (is_head)
		http_conn_feed(&conn, (const uint8_t *)head, sizeof head - 1, 1);
	else
		http_conn_feed(&conn, (const uint8_t *)get, sizeof get - 1, 1);
	CHECK(http_conn_state(&conn) == HTTP_CONN_PENDING);

	rep->backend = data[0] & 1 ? QUOTE_BACKEND_TDX : QUOTE_BACKEND_SIM;
	rep->quote_len = (((uint32_t)data[2] << 8) | data[3]) % (QUOTE_REPLY_QUOTE_MAX + 1);
	memset(payload + sizeof *rep, 0xa5, rep->quote_len);
	rep->nonce_len = 1;
	rep->has_log_key = (data[0] & 2) != 0;
	memset(rep->log_vkey, 'k', sizeof rep->log_vkey - 1);
	if (data[0] & 4) {
		rep->has_checkpoint = 1;
		rep->checkpoint_len = QUOTE_CHECKPOINT_MAX - 1;
		memset(rep->checkpoint, 1, rep->checkpoint_len);
	}
	rep->events_len = (uint32_t)rlen;
	fd0 = dup(0);
	CHECK(fd0 >= 0);
	close(fd0);
	fd = rlen > 0 ? file_memfd_sealed("fuzz-events", rec, rlen) : -1;
	CHECK(rlen == 0 || fd >= 0);
	api_quote_reply(&st, &conn, rep, payload + sizeof *rep, fd);

	for (int guard = 0; (p = http_conn_output(&conn, &n), n > 0); guard++) {
		CHECK(guard < 10000000);
		if (n > step)
			n = step;
		CHECK(len + n < sizeof got);
		memcpy(got + len, p, n);
		len += n;
		http_conn_sent(&conn, n, 2);
	}
	got[len] = '\0';
	for (size_t i = 0; i < API_ATTEST_STREAMS; i++)
		CHECK(!st.attest[i].busy && st.attest[i].map == NULL);
	fd = dup(0);
	CHECK(fd == fd0);   /* the memfd was closed */
	close(fd);

	const char *body = strstr(got, "\r\n\r\n");
	const char *cl = strstr(got, "Content-Length: ");
	CHECK(body != NULL && cl != NULL);
	body += 4;
	if (wn < 0) {
		CHECK(strncmp(got, "HTTP/1.1 500 ", 13) == 0);
	} else {
		CHECK(wn > 0 && strncmp(got, "HTTP/1.1 200 ", 13) == 0);
		long announced = strtol(cl + 16, NULL, 10);
		if (is_head) {
			CHECK(*body == '\0' && announced > wn);
		} else {
			const char *ev = strstr(body, "\"event_log\":[");
			CHECK(announced == (long)strlen(body));
			CHECK(ev != NULL && memcmp(ev + 12, want, (size_t)wn) == 0);
			CHECK(strncmp(ev + 12 + wn, ",\"log_key\":", 11) == 0);
		}
	}
	http_conn_release(&conn);
	return 0;
}
