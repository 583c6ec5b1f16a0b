/* tests/test_api_attest.c: GET /v1/attestation in memory: nonce parsing,
 * the request handed to keyd, and the answer rendered from an
 * IMSG_QUOTE_REPLY (a real sim quote and event log), read back with the
 * same reader `dshield verify` uses; error replies map to 503/500. */
#include "cli/quote_input.h"
#include "keyd/attest.h"
#include "crypto/rtmr3.h"
#include "crypto/sim_quote.h"
#include "lib/hex.h"
#include "lib/imsg.h"
#include "net/api.h"
#include "lib/base64.h"
#include "tests/api_conn.h"
#include "tests/fake_logd.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* A reply as init builds it: fixed part, sim quote, event log. */
static uint8_t payload[IMSG_MAX_PAYLOAD];
static struct attest A;

static struct quote_reply_msg *make_reply(const uint8_t **quote, const uint8_t **log)
{
	struct quote_reply_msg *rep = (struct quote_reply_msg *)payload;
	uint8_t body[TDX_BODY_V10_LEN] = { 0 }, priv[32];
	br_ec_private_key sk = { BR_EC_secp256r1, priv, 32 };
	long n, ln;

	memset(payload, 0, sizeof payload);
	for (int i = 0; i < 32; i++)
		priv[i] = (uint8_t)(i + 1);
	rtmr3_log_init(&A.log);
	rtmr3_log_append(&A.log, "manifest", "0123456789abcdef0123456789abcdef", 32);
	for (int i = 0; i < 64; i++)
		rep->report_data[i] = (uint8_t)(0x40 + i);
	memcpy(body + TDX_OFF_REPORT_DATA, rep->report_data, 64);
	memcpy(body + TDX_OFF_RTMR0 + 3 * 48, A.log.rtmr3, 48);
	n = tdx_sim_quote_build(payload + sizeof *rep, QUOTE_REPLY_QUOTE_MAX, body, &sk);
	ln = rtmr3_log_encode(&A.log, payload + sizeof *rep + n, QUOTE_REPLY_EVENTS_MAX);
	rep->backend = QUOTE_BACKEND_SIM;
	rep->quote_len = (uint32_t)n;
	rep->events_len = (uint32_t)ln;
	rep->nonce_len = 3;
	memcpy(rep->nonce, "\xc0\xff\xee", 3);
	rep->has_manifest = 1;
	memset(rep->manifest_sha256, 0x5a, 32);
	*quote = payload + sizeof *rep;
	*log = payload + sizeof *rep + n;
	return rep;
}

/* The longest checkpoint keyd may hand over, and the worst to render: a
 * newline escapes to two bytes in JSON, and its hex in the preimage. */
static void longest_checkpoint(struct quote_reply_msg *rep)
{
	rep->has_checkpoint = 1;
	rep->checkpoint_len = QUOTE_CHECKPOINT_MAX - 1;
	memset(rep->checkpoint, '\n', rep->checkpoint_len);
	rep->checkpoint[rep->checkpoint_len] = '\0';
}

static void test_reply(void)
{
	static struct quote_input qi;
	struct quote_reply_msg *rep;
	const uint8_t *quote, *log;
	const char *r, *b;
	char err[200] = "";

	reset();
	feed("GET /v1/attestation?nonce=c0ffee HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply(&quote, &log);
	api_quote_reply(&st, &conn, rep, quote, log);
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
	rep = make_reply(&quote, &log);
	rep->has_checkpoint = 1;
	rep->checkpoint_len = 6;
	memcpy(rep->checkpoint, "o\n1\nr\n", 7);
	api_quote_reply(&st, &conn, rep, quote, log);
	b = body_of(take());
	ok(strstr(b, "\"checkpoint\":\"o\\n1\\nr\\n\"") != NULL, "checkpoint: the note's text");
	ok(strstr(b, "\"checkpoint\":\"6f0a310a720a\"}}") != NULL, "checkpoint: its bytes in the preimage");
	ok(quote_input_read(&qi, b, strlen(b), err, sizeof err) == 0 &&
	   qi.preimage.f[RD_CHECKPOINT - 1].present && qi.preimage.f[RD_CHECKPOINT - 1].len == 6,
	   "checkpoint: dshield verify reads slot 5 back");
	rep->checkpoint_len = QUOTE_CHECKPOINT_MAX;   /* longer than keyd signs: not shown */
	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	api_quote_reply(&st, &conn, rep, quote, log);
	b = body_of(take());
	ok(strstr(b, "\"checkpoint\":null") != NULL, "checkpoint: a length past its buffer is not shown");

	/* A malformed event record from keyd: 500, never a half document. */
	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply(&quote, &log);
	payload[sizeof *rep + rep->quote_len] = 200;   /* name length past the record */
	api_quote_reply(&st, &conn, rep, quote, log);
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
		rep = make_reply(&quote, &log);
		rep->quote_len -= (uint32_t)k;
		api_quote_reply(&st, &conn, rep, quote, log);
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
	rep = make_reply(&quote, &log);
	rep->error = -ENODEV;
	snprintf(rep->detail, sizeof rep->detail, "no TDX device");
	api_quote_reply(&st, &conn, rep, quote, log);
	r = take();
	ok(strstr(r, "HTTP/1.1 503 ") && strstr(r, "\"code\":\"attestation_unavailable\",\"message\":\"no TDX device\""),
	   "ENODEV: 503 attestation_unavailable with init's reason");

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep->error = -EBUSY;
	api_quote_reply(&st, &conn, rep, quote, log);
	r = take();
	ok(strstr(r, "HTTP/1.1 503 ") && strstr(r, "Retry-After: 1\r\n") && strstr(r, "\"code\":\"busy\""),
	   "EBUSY: 503 busy with Retry-After");

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep->error = -EIO;
	api_quote_reply(&st, &conn, rep, quote, log);
	ok(strstr(take(), "HTTP/1.1 500 ") != NULL, "other errors: 500 quote_failed");

	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep->error = 0;
	rep->backend = 9;
	api_quote_reply(&st, &conn, rep, quote, log);
	ok(strstr(take(), "HTTP/1.1 500 ") != NULL, "unknown backend: 500");

	reset();
	api_quote_reply(&st, &conn, rep, quote, log);
	is_str(take(), "", "a reply for a connection not PENDING is dropped");

	/* The largest reply keyd may send fits the output buffer: the
	 * longest quote and as many of the largest events as fit. */
	reset();
	feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
	logd_appended(0);
	rep = make_reply(&quote, &log);
	rep->quote_len = QUOTE_REPLY_QUOTE_MAX;
	rep->nonce_len = 32;
	rep->has_log_key = 1;   /* and the longest verifier key */
	memset(rep->log_vkey, 'k', sizeof rep->log_vkey - 1);
	rep->log_vkey[sizeof rep->log_vkey - 1] = '\0';
	longest_checkpoint(rep);
	{
		static uint8_t bigq[QUOTE_REPLY_QUOTE_MAX], bige[QUOTE_REPLY_EVENTS_MAX];
		static uint8_t pl[RTMR3_PAYLOAD_MAX];
		char name[RTMR3_NAME_MAX + 1];
		size_t off = 0;
		long n;
		memset(bigq, 0xff, sizeof bigq);
		memset(pl, 0xff, sizeof pl);
		memset(name, 'a', RTMR3_NAME_MAX);
		name[RTMR3_NAME_MAX] = '\0';
		while ((n = rtmr3_rec_encode(name, pl, sizeof pl, bige + off, sizeof bige - off)) > 0)
			off += (size_t)n;
		rep->events_len = (uint32_t)off;
		api_quote_reply(&st, &conn, rep, bigq, bige);
		ok(off > QUOTE_REPLY_EVENTS_MAX - RTMR3_REC_MAX, "largest reply: %zu bytes of events", off);
	}
	ok(strstr(take(), "HTTP/1.1 200 ") != NULL, "the largest possible reply fits HTTP_OUT_CAP");

	/* Many small events render longest per byte: the count bound keeps
	 * the largest quote and QUOTE_REPLY_EVENTS_COUNT of the worst ones
	 * inside the buffer, and one more is refused. */
	for (unsigned count = QUOTE_REPLY_EVENTS_COUNT; count <= QUOTE_REPLY_EVENTS_COUNT + 1; count++) {
		static uint8_t bigq[QUOTE_REPLY_QUOTE_MAX], ev[QUOTE_REPLY_EVENTS_MAX];
		static uint8_t pl[RTMR3_PAYLOAD_MAX];
		size_t off = 0, per;
		reset();
		feed("GET /v1/attestation?nonce=00 HTTP/1.1\r\nHost: x\r\n\r\n");
		logd_appended(0);
		rep = make_reply(&quote, &log);
		rep->quote_len = QUOTE_REPLY_QUOTE_MAX;
		rep->nonce_len = 32;
		rep->has_log_key = 1;
		memset(rep->log_vkey, 'k', sizeof rep->log_vkey - 1);
		rep->log_vkey[sizeof rep->log_vkey - 1] = '\0';
		longest_checkpoint(rep);
		memset(pl, 0xee, sizeof pl);
		/* spread the byte budget evenly: every event as long as it can be */
		per = QUOTE_REPLY_EVENTS_MAX / count - 3 - 1;
		for (unsigned i = 0; i < count; i++) {
			long n = rtmr3_rec_encode("e", pl, per < sizeof pl ? per : sizeof pl,
						  ev + off, sizeof ev - off);
			if (n > 0)
				off += (size_t)n;
		}
		rep->events_len = (uint32_t)off;
		api_quote_reply(&st, &conn, rep, bigq, ev);
		r = take();
		if (count == QUOTE_REPLY_EVENTS_COUNT)
			ok(strstr(r, "HTTP/1.1 200 ") != NULL,
			   "%u events of %zu bytes and the largest quote fit HTTP_OUT_CAP", count, off);
		else
			ok(strstr(r, "HTTP/1.1 500 ") && strstr(r, "malformed event log"),
			   "%u events: refused as malformed", count);
	}
}

int main(void)
{
	test_parse_nonce();
	test_route();
	test_reply();
	return tap_done();
}
