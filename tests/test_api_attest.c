/* tests/test_api_attest.c: GET /v1/attestation in memory: nonce parsing,
 * the request handed to keyd, and the answer rendered from an
 * IMSG_QUOTE_REPLY (a real sim quote, the event log in a sealed memfd),
 * streamed as the client reads, read back with the same reader `dshield
 * verify` uses and passed by `dshield verify` itself; error replies map
 * to 503/500; the memfd is checked; the largest documents at the log's
 * bounds. */
#include "cli/quote_input.h"
#include "cli/verify.h"
#include "crypto/reportdata.h"
#include "keyd/attest.h"
#include "lib/file.h"
#include "crypto/rtmr3.h"
#include "crypto/sim_quote.h"
#include "lib/hex.h"
#include "lib/imsg.h"
#include "net/api.h"
#include "lib/base64.h"
#include "tests/run_capture.h"   /* before api_conn.h: its parameter `out` */
#include "tests/api_conn.h"
#include "tests/fake_logd.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crypto/eventlog.h"
#include "lib/jsonw.h"

static int quote_calls;
static uint8_t got_nonce[64];
static size_t got_len;
static uint32_t got_id;

static int fake_request_quote(void *ctx, uint32_t id, const uint8_t *nonce, size_t len)
{
	(void)ctx;
	quote_calls++;
	got_id = id;
	got_len = len;
	memcpy(got_nonce, nonce, len);
	return 0;
}

static void reset(void)
{
	memset(&st, 0, sizeof st);
	st.request_quote = fake_request_quote;
	st.request_log = fake_request_log;
	logd_open();
	quote_calls = 0;
	api_conn_open(77);
	srv.stream_ready = api_stream_ready;   /* the document is streamed */
	srv.conn_gone = api_conn_gone;
}

static void test_parse_nonce(void)
{
	static const struct { const char *q; int want; } cases[] = {
		{ "nonce=00", 1 }, { "nonce=0aFf", 2 },
		{ "nonce=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 32 },
		{ "", -EINVAL }, { "nonce=", -EINVAL }, { "nonce=abc", -EINVAL },
		{ "nonce=zz", -EINVAL }, { "nonce=0g", -EINVAL }, { "Nonce=00", -EINVAL },
		{ "nonce=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", -EINVAL },
		{ "nonce=00&nonce=11", -EINVAL }, { "x=1&nonce=00", -EINVAL }, { "nonce", -EINVAL },
		{ "nonce=%30%30", -EINVAL }, { "nonce=00 ", -EINVAL },
	};
	uint8_t n[QUOTE_NONCE_MAX];
	const char *why;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		why = NULL;
		int r = api_parse_nonce(cases[i].q, n, &why);
		is_int(r, cases[i].want, "nonce query '%s'", cases[i].q);
		if (r < 0)
			ok(why != NULL && why[0] != '\0', "  with a reason (%s)", why ? why : "");
	}
	api_parse_nonce("nonce=0aFf", n, &why);
	ok(n[0] == 0x0a && n[1] == 0xff, "nonce bytes decoded");
}

static void test_route(void)
{
	const char *r;

	reset();
	feed("GET /v1/attestation?nonce=zz HTTP/1.1\r\nHost: x\r\n\r\n");
	r = take();
	ok(strstr(r, "HTTP/1.1 400 ") != NULL, "bad nonce: 400");
	ok(strstr(body_of(r), "\"code\":\"bad_nonce\"") != NULL, "bad nonce: JSON error");
	is_int(quote_calls, 0, "bad nonce: init not asked");

	feed("GET /v1/attestation?nonce=c0ffee HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	is_int(quote_calls, 1, "good nonce: init asked");
	ok(got_id == 77 && got_len == 3 && got_nonce[0] == 0xc0 && got_nonce[2] == 0xee,
	   "  with the connection id and the nonce bytes");
	is_int(http_conn_state(&conn), HTTP_CONN_PENDING, "  connection PENDING");

	st.request_quote = NULL;
	reset();
	st.request_quote = NULL;
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	ok(strstr(take(), "HTTP/1.1 503 ") != NULL, "no way to ask init: 503");
}

/* A reply as keyd builds it: fixed part and sim quote in the message, the
 * event log's records in a sealed memfd (events_fd()). */
static uint8_t payload[IMSG_MAX_PAYLOAD];
static struct attest A;
static uint8_t recs[RTMR3_LOG_BYTES_MAX + RTMR3_REC_MAX];
static size_t recs_len;

/* The records as keyd hands them over: a sealed memfd of their length. */
static int events_fd(void)
{
	int fd = file_memfd_sealed("test-events", recs, recs_len);
	if (fd < 0)
		abort();
	return fd;
}

/* A function event's payload, as sandboxd sends it (152 bytes). */
static void fn_payload(uint8_t pl[152], unsigned i)
{
	memset(pl, 0, 152);
	pl[0] = 1;
	pl[1] = 1;
	snprintf((char *)pl + 8, 64, "fn-%u", i);
	memcpy(pl + 72, "python", 6);
	memset(pl + 88, (int)(i & 0xff) | 1, 64);
}

/* The log: the boot events, then `functions` function events; a sim quote
 * over its RTMR3 and the REPORTDATA of the preimage the reply shows. */
static struct quote_reply_msg *make_reply_n(const uint8_t **quote, unsigned functions)
{
	struct quote_reply_msg *rep = (struct quote_reply_msg *)payload;
	uint8_t body[TDX_BODY_V10_LEN] = { 0 }, priv[32], pl[152];
	br_ec_private_key sk = { BR_EC_secp256r1, priv, 32 };
	struct reportdata_in in;
	long n, ln;

	memset(payload, 0, sizeof payload);
	for (int i = 0; i < 32; i++)
		priv[i] = (uint8_t)(i + 1);
	rtmr3_log_init(&A.log);
	rtmr3_log_append(&A.log, "manifest", "0123456789abcdef0123456789abcdef", 32);
	rtmr3_log_append(&A.log, "instance-id", "0123456789abcdef", 16);
	for (unsigned i = 0; i < functions; i++) {
		fn_payload(pl, i);
		if (rtmr3_log_append(&A.log, "function", pl, sizeof pl) < 0)
			abort();
	}
	rep->nonce_len = 3;
	memcpy(rep->nonce, "\xc0\xff\xee", 3);
	rep->has_manifest = 1;
	memset(rep->manifest_sha256, 0x5a, 32);
	memset(&in, 0, sizeof in);
	in.f[RD_NONCE - 1] = (struct rd_value){ true, rep->nonce, rep->nonce_len };
	in.f[RD_MANIFEST_SHA256 - 1] = (struct rd_value){ true, rep->manifest_sha256, 32 };
	if (reportdata_compute(&in, rep->report_data) < 0)
		abort();
	memcpy(body + TDX_OFF_REPORT_DATA, rep->report_data, 64);
	memcpy(body + TDX_OFF_RTMR0 + 3 * 48, A.log.rtmr3, 48);
	n = tdx_sim_quote_build(payload + sizeof *rep, QUOTE_REPLY_QUOTE_MAX, body, &sk);
	ln = rtmr3_log_encode(&A.log, recs, sizeof recs);
	if (n < 0 || ln < 0)
		abort();
	recs_len = (size_t)ln;
	rep->backend = QUOTE_BACKEND_SIM;
	rep->quote_len = (uint32_t)n;
	rep->events_len = (uint32_t)ln;
	*quote = payload + sizeof *rep;
	return rep;
}

static struct quote_reply_msg *make_reply(const uint8_t **quote)
{
	return make_reply_n(quote, 0);
}

/* The longest checkpoint keyd may hand over, and the worst to render: a
 * control byte escapes to six bytes in JSON (\u0001), and its hex in the
 * preimage. */
static void longest_checkpoint(struct quote_reply_msg *rep)
{
	rep->has_checkpoint = 1;
	rep->checkpoint_len = QUOTE_CHECKPOINT_MAX - 1;
	memset(rep->checkpoint, '\1', rep->checkpoint_len);
	rep->checkpoint[rep->checkpoint_len] = '\0';
}

/* Everything the connection sends, drained `step` bytes at a time as a
 * slow client would (each drain lets the stream produce more), into a
 * buffer of cap bytes; NUL terminated. */
static size_t drain_slowly(char *buf, size_t cap, size_t step)
{
	const uint8_t *p;
	size_t n, len = 0;

	while ((p = http_conn_output(&conn, &n), n > 0)) {
		if (n > step)
			n = step;
		if (n > cap - 1 - len)
			abort();
		memcpy(buf + len, p, n);
		len += n;
		http_conn_sent(&conn, n, 2);
	}
	buf[len] = '\0';
	return len;
}

/* The declared Content-Length of response r, or -1. */
static long content_length(const char *r)
{
	const char *h = strstr(r, "Content-Length: ");
	return h ? strtol(h + 16, NULL, 10) : -1;
}

/* The lowest free descriptor: a memfd netd failed to close would take it. */
static int lowest_fd(void)
{
	int fd = dup(0);
	if (fd >= 0)
		close(fd);
	return fd;
}

static bool no_stream_left(void)
{
	for (size_t i = 0; i < API_ATTEST_STREAMS; i++)
		if (st.attest[i].busy || st.attest[i].map != NULL)
			return false;
	return true;
}

static void test_reply(void)
{
	static struct quote_input qi;
	struct quote_reply_msg *rep;
	const uint8_t *quote;
	const char *r, *b;
	char err[200] = "";

	reset();
	feed("GET /v1/attestation?nonce=c0ffee HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply(&quote);
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	r = take();
	b = body_of(r);
	ok(strstr(r, "HTTP/1.1 200 ") != NULL, "reply: 200");
	ok(strncmp(b, "{\"backend\":\"sim\",\"warning\":\"sim: ", 33) == 0, "reply: backend sim, warned");
	ok(strstr(b, "\"report_data_preimage\":{\"nonce\":\"c0ffee\",\"manifest_sha256\":\"5a5a") != NULL,
	   "reply: preimage nonce and manifest hash");
	ok(strstr(b, "\"api_tls_spki_sha256\":null,\"log_key_sha256\":null,\"checkpoint\":null}}") != NULL,
	   "reply: later slots null");
	is_int(quote_input_read(&qi, b, strlen(b), err, sizeof err), 0, "reply: dshield verify's reader takes it (%s)", err);
	ok(qi.quote_len == rep->quote_len && memcmp(qi.quote, quote, qi.quote_len) == 0,
	   "reply: base64 quote round-trips");
	ok(qi.has_report_data && memcmp(qi.report_data, rep->report_data, 64) == 0, "reply: report_data");
	ok(qi.has_event_log && strstr(qi.event_log, "\"name\":\"manifest\"") != NULL, "reply: event log");
	{
		char want[2 * RTMR3_DIGEST_LEN + 1];
		hex_encode(want, A.log.ev[0].digest, RTMR3_DIGEST_LEN);
		ok(strstr(b, want) != NULL, "reply: netd recomputed the event digest");
	}

	/* The last signed checkpoint: shown as text and, for REPORTDATA, as
	 * the preimage's slot 5 in hex; dshield verify reads both back. */
	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	rep = make_reply(&quote);
	rep->has_checkpoint = 1;
	rep->checkpoint_len = 6;
	memcpy(rep->checkpoint, "o\n1\nr\n", 7);
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	b = body_of(take());
	ok(strstr(b, "\"checkpoint\":\"o\\n1\\nr\\n\"") != NULL, "checkpoint: the note's text");
	ok(strstr(b, "\"checkpoint\":\"6f0a310a720a\"}}") != NULL, "checkpoint: its bytes in the preimage");
	ok(quote_input_read(&qi, b, strlen(b), err, sizeof err) == 0 &&
	   qi.preimage.f[RD_CHECKPOINT - 1].present && qi.preimage.f[RD_CHECKPOINT - 1].len == 6,
	   "checkpoint: dshield verify reads slot 5 back");
	rep->checkpoint_len = QUOTE_CHECKPOINT_MAX;   /* longer than keyd signs: not shown */
	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	b = body_of(take());
	ok(strstr(b, "\"checkpoint\":null") != NULL, "checkpoint: a length past its buffer is not shown");

	/* A malformed event record from keyd: 500, never a half document. */
	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply(&quote);
	recs[0] = 200;   /* a name length past the record */
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	r = take();
	ok(strstr(r, "HTTP/1.1 500 ") && strstr(r, "malformed event log"),
	   "a malformed event record: 500 quote_failed");

	/* keyd went away before answering: 503 with Retry-After. */
	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	api_quote_lost(&st, &conn);
	r = take();
	ok(strstr(r, "HTTP/1.1 503 ") && strstr(r, "Retry-After: 1\r\n") &&
	   strstr(r, "\"code\":\"attestation_unavailable\""), "keyd lost: 503 with Retry-After");
	is_str(qi.backend, "sim", "reply: backend read back");

	/* 850, 849 and 848 bytes: base64 with "==", none and "=". */
	for (int k = 0; k <= 2; k++) {
		static uint8_t dec[QUOTE_REPLY_QUOTE_MAX];
		static const char *const pad[3] = { "==\"", "\"", "=\"" };
		const char *q0, *q1;
		long dn;

		reset();
		feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
		logd_appended(0);
		rep = make_reply(&quote);
		rep->quote_len -= (uint32_t)k;
		api_quote_reply(&st, &conn, rep, quote, events_fd());
		b = body_of(take());
		q0 = strstr(b, "\"quote\":\"");
		q1 = q0 ? strchr(q0 + 9, '"') : NULL;
		ok(q0 && q1 && strncmp(q1 - strlen(pad[k]) + 1, pad[k], strlen(pad[k])) == 0 &&
		   (k == 1 ? q1[-1] != '=' : 1), "base64 of %u bytes ends with %s", rep->quote_len, pad[k]);
		dn = q0 && q1 ? base64_decode(dec, sizeof dec, q0 + 9, (size_t)(q1 - q0 - 9)) : -1;
		ok(dn == (long)rep->quote_len && memcmp(dec, quote, (size_t)dn) == 0,
		   "base64 of %u bytes decodes back", rep->quote_len);
	}

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply(&quote);
	rep->error = -ENODEV;
	snprintf(rep->detail, sizeof rep->detail, "no TDX device");
	api_quote_reply(&st, &conn, rep, quote, -1);
	r = take();
	ok(strstr(r, "HTTP/1.1 503 ") && strstr(r, "\"code\":\"attestation_unavailable\",\"message\":\"no TDX device\""),
	   "ENODEV: 503 attestation_unavailable with init's reason");

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep->error = -EBUSY;
	api_quote_reply(&st, &conn, rep, quote, -1);
	r = take();
	ok(strstr(r, "HTTP/1.1 503 ") && strstr(r, "Retry-After: 1\r\n") && strstr(r, "\"code\":\"busy\""),
	   "EBUSY: 503 busy with Retry-After");

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep->error = -EIO;
	api_quote_reply(&st, &conn, rep, quote, -1);
	ok(strstr(take(), "HTTP/1.1 500 ") != NULL, "other errors: 500 quote_failed");

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep->error = 0;
	rep->backend = 9;
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	ok(strstr(take(), "HTTP/1.1 500 ") != NULL, "unknown backend: 500");
	ok(no_stream_left(), "  its event log unmapped");

	reset();
	rep->backend = QUOTE_BACKEND_SIM;
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	is_str(take(), "", "a reply for a connection not PENDING is dropped");
	ok(no_stream_left(), "  nothing kept");
}

/* The event log's memfd is checked before a byte of it is read: sealed
 * against shrinking, growing and writing, and exactly events_len long. */
static void test_memfd(void)
{
	struct quote_reply_msg *rep;
	const uint8_t *quote;
	int fd, fd0 = lowest_fd();

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply(&quote);
	api_quote_reply(&st, &conn, rep, quote, -1);
	ok(strstr(take(), "HTTP/1.1 500 ") && strstr(out, "not a sealed memfd"),
	   "a success without the log's memfd: 500 quote_failed");

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	fd = memfd_create("unsealed", MFD_CLOEXEC);
	ok(fd >= 0 && file_write_all(fd, recs, recs_len) == 0, "an unsealed memfd of the records");
	api_quote_reply(&st, &conn, rep, quote, fd);
	ok(strstr(take(), "HTTP/1.1 500 ") && strstr(out, "not a sealed memfd"),
	   "  refused: 500 quote_failed");

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep->events_len++;
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	ok(strstr(take(), "HTTP/1.1 500 ") && strstr(out, "not a sealed memfd"),
	   "a memfd shorter than events_len: 500 quote_failed");
	rep->events_len--;
	ok(no_stream_left(), "  nothing kept");
	is_int(lowest_fd(), fd0, "  and no descriptor left open");
}

/* A document of hundreds of events is streamed: its Content-Length is
 * exactly its body, it is byte for byte what one jsonw writes for the
 * whole document, `dshield verify`'s reader takes it, and `dshield
 * verify` itself replays every event to the quote's RTMR3. */
static void test_streamed(void)
{
	static char big[4u << 20], whole[RTMR3_LOG_JSON_MAX + 64];
	static struct quote_input qi;
	struct quote_reply_msg *rep;
	const uint8_t *quote;
	char err[200] = "", path[] = "/tmp/test_api_attest-XXXXXX";
	const char *b;
	size_t len;
	unsigned nfn = 600;

	reset();
	feed("GET /v1/attestation?nonce=c0ffee HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply_n(&quote, nfn);
	ok(A.log.n == nfn + 2 && recs_len > 90000, "a log of %u events, %zu bytes of records",
	   A.log.n, recs_len);
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	ok(!no_stream_left(), "  streamed: one slot while the client reads");
	len = drain_slowly(big, sizeof big, 1000);
	b = body_of(big);
	ok(strstr(big, "HTTP/1.1 200 ") != NULL, "  200");
	is_int(content_length(big), (long)strlen(b), "  Content-Length is the body's length (%zu)",
	       strlen(b));
	ok(len > (size_t)nfn * 400, "  %zu bytes in all, far beyond HTTP_OUT_CAP", len);
	ok(no_stream_left(), "  the slot released and the log unmapped at the end");
	{
		/* the same document rendered in one piece, as before streaming */
		struct jsonw w;
		const char *ev = strstr(b, "\"event_log\":[");
		const char *lk = strstr(b, "],\"log_key\":");
		jw_init(&w, whole, sizeof whole);
		is_int(rtmr3_records_json(&w, recs, recs_len), 0, "  the records render in one piece");
		long wn = jw_finish(&w);
		ok(ev && lk && wn > 0 && (size_t)(lk + 1 - (ev + 12)) == (size_t)wn &&
		   memcmp(ev + 12, whole, (size_t)wn) == 0,
		   "  its event_log is byte for byte rtmr3_records_json's array");
	}
	is_int(quote_input_read(&qi, b, strlen(b), err, sizeof err), 0,
	       "  dshield verify's reader takes it (%s)", err);
	{
		struct el_replay rp;
		ok(el_json_replay(qi.event_log, qi.event_log_len, &rp) == 0 &&
		   rp.n_events == A.log.n && memcmp(rp.rtmr[3], A.log.rtmr3, 48) == 0,
		   "  all %u events replay to the log's RTMR3", A.log.n);
	}
	{
		int fd = mkstemp(path);
		const char *argv[] = { "verify", "--allow-sim", "--no-collateral", path };
		static char vout[1 << 16];
		int rc;
		ok(fd >= 0 && file_write_all(fd, b, strlen(b)) == 0, "  saved for dshield verify");
		if (fd >= 0)
			close(fd);
		char cap[sizeof path + 4];
		snprintf(cap, sizeof cap, "%s.out", path);
		rc = run_captured(cmd_verify, 4, argv, cap, vout, sizeof vout);
		unlink(cap);
		char want[64];
		snprintf(want, sizeof want, "%u events", A.log.n);
		ok(strstr(vout, want) != NULL, "  dshield verify parses %s", want);
		ok(strstr(vout, "event_log.rtmr3") != NULL && strstr(vout, "FAIL") == NULL,
		   "  and its checks pass, RTMR3 replayed (exit %d)", rc);
		is_int(rc, 0, "  dshield verify exits 0");
		unlink(path);
	}

	/* HEAD: the head alone, with the length a GET would have. */
	reset();
	feed("HEAD /v1/attestation?nonce=c0ffee HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply_n(&quote, 50);
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	take();
	ok(strstr(out, "HTTP/1.1 200 ") && content_length(out) > 50 * 400 &&
	   strcmp(body_of(out), "") == 0, "HEAD: the head alone, Content-Length %ld",
	   content_length(out));
	ok(no_stream_left(), "  nothing kept");

	/* The client goes away half way: the slot is released. */
	reset();
	feed("GET /v1/attestation?nonce=c0ffee HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply_n(&quote, 300);
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	ok(!no_stream_left(), "a client that stops reading holds its slot");
	http_conn_release(&conn);
	ok(no_stream_left(), "  released when the connection goes");

	/* Every slot busy: 503 busy, the log unmapped. */
	reset();
	feed("GET /v1/attestation?nonce=c0ffee HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	for (size_t i = 0; i < API_ATTEST_STREAMS; i++) {
		st.attest[i].busy = true;
		st.attest[i].conn_id = 1000 + (uint32_t)i;
	}
	rep = make_reply(&quote);
	api_quote_reply(&st, &conn, rep, quote, events_fd());
	ok(strstr(take(), "HTTP/1.1 503 ") && strstr(out, "Retry-After: 1\r\n") &&
	   strstr(out, "\"code\":\"busy\""), "every slot busy: 503 busy with Retry-After");
}

/* The largest documents: the longest quote, verifier key and checkpoint
 * (the longest tail), with the log at its byte bound in the largest
 * records, and at both bounds in the records that render longest per
 * byte (RTMR3_LOG_MAX events sharing RTMR3_LOG_BYTES_MAX). More records
 * than RTMR3_LOG_MAX is a malformed reply. */
static void test_largest(void)
{
	static char big[4u << 20];
	static struct quote_input qi;
	static uint8_t pl[RTMR3_PAYLOAD_MAX];
	struct quote_reply_msg *rep;
	const uint8_t *quote;
	char err[200] = "", name[RTMR3_NAME_MAX + 1];
	const char *b;

	for (int shape = 0; shape < 3; shape++) {
		size_t per = shape == 0 ? RTMR3_REC_MAX : RTMR3_LOG_BYTES_MAX / RTMR3_LOG_MAX;
		unsigned count = shape == 0 ? RTMR3_LOG_BYTES_MAX / RTMR3_REC_MAX : RTMR3_LOG_MAX;
		reset();
		feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
		logd_appended(0);
		rep = make_reply(&quote);
		rep->nonce_len = 32;
		rep->has_log_key = 1;
		memset(rep->log_vkey, 'k', sizeof rep->log_vkey - 1);
		rep->log_vkey[sizeof rep->log_vkey - 1] = '\0';
		longest_checkpoint(rep);
		rep->quote_len = QUOTE_REPLY_QUOTE_MAX;   /* the quote's bytes do not matter here */
		memset(pl, 0xee, sizeof pl);
		memset(name, 'a', RTMR3_NAME_MAX);
		name[shape == 0 ? RTMR3_NAME_MAX : 1] = '\0';
		recs_len = 0;
		if (shape == 2) {
			/* one empty record more than RTMR3_LOG_MAX */
			for (unsigned i = 0; i <= RTMR3_LOG_MAX; i++)
				recs_len += (size_t)rtmr3_rec_encode("e", NULL, 0, recs + recs_len,
								     sizeof recs - recs_len);
			rep->events_len = (uint32_t)recs_len;
			api_quote_reply(&st, &conn, rep, quote, events_fd());
			ok(strstr(take(), "HTTP/1.1 500 ") && strstr(out, "malformed event log"),
			   "%u records: refused as malformed", RTMR3_LOG_MAX + 1);
			ok(no_stream_left(), "  nothing kept");
			continue;
		}
		for (unsigned i = 0; i < count; i++) {
			long n = rtmr3_rec_encode(name, pl, per - 3 - strlen(name), recs + recs_len,
						  sizeof recs - recs_len);
			if (n < 0)
				abort();
			recs_len += (size_t)n;
		}
		rep->events_len = (uint32_t)recs_len;
		ok(recs_len <= RTMR3_LOG_BYTES_MAX && recs_len > RTMR3_LOG_BYTES_MAX - RTMR3_REC_MAX,
		   "%u records of %zu bytes: %zu bytes, at the bound", count, per, recs_len);
		api_quote_reply(&st, &conn, rep, quote, events_fd());
		drain_slowly(big, sizeof big, 7000);
		b = body_of(big);
		ok(strstr(big, "HTTP/1.1 200 ") != NULL && content_length(big) == (long)strlen(b),
		   "  200, %zu bytes, as long as announced", strlen(b));
		is_int(quote_input_read(&qi, b, strlen(b), err, sizeof err), 0,
		       "  dshield verify's reader takes it (%s)", err);
		ok(qi.event_log_len <= RTMR3_LOG_JSON_MAX, "  its event log (%zu bytes) within "
		   "RTMR3_LOG_JSON_MAX (%zu)", qi.event_log_len, (size_t)RTMR3_LOG_JSON_MAX);
		ok(strlen(qi.checkpoint) == QUOTE_CHECKPOINT_MAX - 1 && strlen(qi.log_key) ==
		   QUOTE_LOG_VKEY_MAX - 1, "  with the longest checkpoint and verifier key");
		{
			struct el_replay rp;
			ok(el_json_replay(qi.event_log, qi.event_log_len, &rp) == 0 && rp.n_events == count,
			   "  its %u events replay (%s)", count, rp.err);
		}
	}
}

int main(void)
{
	test_parse_nonce();
	test_route();
	test_reply();
	test_memfd();
	test_streamed();
	test_largest();
	return tap_done();
}
