/* tests/test_eventlog.c: CCEL and JSON event logs replay to real quotes'
 * RTMRs; malformed logs are refused without crashing; the RTMR3 runtime log
 * renders a JSON form that replays to its own RTMR3; its binary record form
 * has known bytes and refuses every malformed record. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/eventlog.h"
#include "crypto/rtmr3.h"
#include "lib/bytes.h"
#include "lib/hex.h"
#include "lib/json_tok.h"
#include "lib/jsonw.h"
#include "tests/tap.h"
#include "tests/tdx_testdata.h"

/* TD report body starts after the 48-byte v4 header; RTMRs at 328 + 48*i. */
#define QUOTE_RTMR(q, i) ((q) + 48 + 328 + 48 * (i))

static void hexs(char *out, const void *p, size_t n)
{
	hex_encode(out, p, n);
}

/* ---- CCEL ---- */

static void test_ccel_cos113(void)
{
	size_t llen, qlen;
	unsigned char *log = td_read("go-tdx-guest_ccel_data.bin", &llen);
	unsigned char *q = td_read("go-tdx-guest_cos-113-tdx-quote.bin", &qlen);
	if (!log || !q) {
		ok(1, "# skip go-tdx-guest CCEL data not found");
		free(log);
		free(q);
		return;
	}
	struct el_replay rp;
	int rc = ccel_replay(log, llen, &rp);
	is_int(rc, 0, "cos-113 CCEL parses (%s)", rp.err);
	for (int i = 0; i < 3; i++) {
		char a[97], b[97];
		hexs(a, rp.rtmr[i], 48);
		hexs(b, QUOTE_RTMR(q, i), 48);
		is_str(a, b, "cos-113 CCEL replay reproduces the quote's RTMR%d", i);
	}
	is_int(rp.n_measured[3], 0, "cos-113 CCEL has no RTMR3 events");
	diag("cos-113: %u records, RTMR0..2 events %u/%u/%u", rp.n_events,
	     rp.n_measured[0], rp.n_measured[1], rp.n_measured[2]);

	/* Record boundaries: a log cut exactly there is a valid, shorter log;
	 * a cut anywhere else must be refused. */
	struct ccel_reader r;
	struct el_event ev;
	size_t *bounds = calloc(4096, sizeof(*bounds));
	size_t nb = 0, end = 0;
	ccel_open(&r, log, llen);
	while (ccel_next(&r, &ev) > 0 && nb < 4096) {
		end = (size_t)(ev.data + ev.data_len - log);
		bounds[nb++] = end;
	}
	int bad = 0;
	size_t bi = 0;
	for (size_t n = 0; n <= end + 16 && n <= llen; n++) {
		while (bi < nb && bounds[bi] < n)
			bi++;
		bool boundary = (bi < nb && bounds[bi] == n) || n >= end;
		rc = ccel_replay(log, n, &rp);
		if ((rc == 0) != boundary) {
			if (bad++ < 5)
				diag("truncated to %zu: rc %d (%s), boundary %d", n, rc, rp.err, boundary);
		}
	}
	is_int(bad, 0, "CCEL cut at each of %zu lengths: refused unless at a record boundary", end + 17);

	/* A flipped bit anywhere in the used part must never crash. */
	unsigned char *copy = malloc(end);
	for (size_t i = 0; i < end; i++) {
		memcpy(copy, log, end);
		copy[i] ^= 0x80;
		(void)ccel_replay(copy, end, &rp);
	}
	ok(1, "CCEL with a flipped bit at each of %zu offsets: no crash", end);
	/* A flip in a replayed record's index, digest count, algorithm id,
	 * SHA-384 digest or data size is refused or changes an RTMR (event
	 * data and event type are not covered by the replay, by design of
	 * the format: verifiers interpret data only after checking it). */
	int missed = 0, tried = 0;
	ccel_open(&r, log, llen);
	ccel_next(&r, &ev);
	while (ccel_next(&r, &ev) > 0) {
		if (ev.type == EV_NO_ACTION)
			continue;
		size_t o = ev.offset, fields[] = { o, o + 1, o + 3, o + 8, o + 11, o + 12, o + 13,
						   o + 14, o + 14 + 20, o + 14 + 47, o + 62, o + 65 };
		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			memcpy(copy, log, end);
			copy[fields[k]] ^= 0x80;
			tried++;
			rc = ccel_replay(copy, end, &rp);
			if (rc == 0 && memcmp(rp.rtmr[0], QUOTE_RTMR(q, 0), 48) == 0 &&
			    memcmp(rp.rtmr[1], QUOTE_RTMR(q, 1), 48) == 0 &&
			    memcmp(rp.rtmr[2], QUOTE_RTMR(q, 2), 48) == 0 && missed++ < 5)
				diag("flip at %zu went unnoticed", fields[k]);
		}
	}
	is_int(missed, 0, "each of %d structural bit flips is refused or changes an RTMR", tried);
	free(copy);
	free(bounds);
	free(log);
	free(q);
}

static void test_ccel_dstack(void)
{
	size_t len;
	unsigned char *log = td_read("dstack_ccel.bin", &len);
	if (!log) {
		ok(1, "# skip dstack_ccel.bin not found");
		return;
	}
	struct ccel_reader r;
	struct el_event ev;
	int rc = ccel_open(&r, log, len);
	is_int(rc, 0, "dstack CCEL header parses (%s)", r.err);
	unsigned n = 0, noact = 0;
	while ((rc = ccel_next(&r, &ev)) > 0) {
		n++;
		noact += ev.type == EV_NO_ACTION;
	}
	is_int(rc, 0, "dstack CCEL parses to the end (%s)", r.err);
	is_int(n, 19, "dstack CCEL has the Spec ID header and 18 events");
	struct el_replay rp;
	rc = ccel_replay(log, len, &rp);
	is_int(rc, 0, "dstack CCEL replays");
	ok(rp.n_measured[0] > 0 && rp.n_measured[1] > 0, "dstack CCEL measures RTMR0 and RTMR1 (%u, %u)",
	   rp.n_measured[0], rp.n_measured[1]);
	is_int(rp.n_measured[0] + rp.n_measured[1] + rp.n_measured[2] + rp.n_measured[3] + noact, 19,
	       "every dstack CCEL event is replayed or EV_NO_ACTION");
	free(log);
}

/* Handcrafted logs exercise each error path. */
static size_t put32(unsigned char *p, uint32_t v)
{
	put_le32(p, v);
	return 4;
}

static size_t put16(unsigned char *p, uint16_t v)
{
	put_le16(p, v);
	return 2;
}

static size_t make_header(unsigned char *b, uint16_t alg, uint16_t size)
{
	size_t n = 0;
	n += put32(b + n, 1);
	n += put32(b + n, EV_NO_ACTION);
	memset(b + n, 0, 20); n += 20;
	n += put32(b + n, 16 + 4 + 4 + 4 + 4 + 1);
	memcpy(b + n, "Spec ID Event03", 16); n += 16;
	n += put32(b + n, 0);          /* platform class */
	b[n++] = 0; b[n++] = 2; b[n++] = 0; b[n++] = 2;
	n += put32(b + n, 1);
	n += put16(b + n, alg);
	n += put16(b + n, size);
	b[n++] = 0;                     /* vendor info size */
	return n;
}

static size_t make_event(unsigned char *b, uint32_t idx, uint32_t type,
			 unsigned char fill, const char *data)
{
	size_t n = 0;
	n += put32(b + n, idx);
	n += put32(b + n, type);
	n += put32(b + n, 1);
	n += put16(b + n, TPM_ALG_SHA384);
	memset(b + n, fill, 48); n += 48;
	n += put32(b + n, (uint32_t)strlen(data));
	memcpy(b + n, data, strlen(data)); n += strlen(data);
	return n;
}

static void test_ccel_synthetic(void)
{
	unsigned char b[1024];
	struct el_replay rp;
	size_t n = make_header(b, TPM_ALG_SHA384, 48);
	size_t h = n;
	n += make_event(b + n, 2, EV_EFI_ACTION, 0x11, "abc");
	n += make_event(b + n, 4, EV_NO_ACTION, 0x22, "x");
	memset(b + n, 0xff, 64);
	is_int(ccel_replay(b, n + 64, &rp), 0, "synthetic log with 0xFF tail parses");
	unsigned char want[48] = { 0 }, d[48];
	memset(d, 0x11, 48);
	el_extend(want, d);
	is_mem(rp.rtmr[1], want, 48, "index 2 extends RTMR1");
	unsigned char zero[48] = { 0 };
	is_mem(rp.rtmr[3], zero, 48, "EV_NO_ACTION is not replayed");
	is_int(rp.n_events, 3, "header + 2 records");

	memset(b + n, 0x00, 64);
	is_int(ccel_replay(b, n + 64, &rp), 0, "zero tail ends the log too");

	unsigned char c[1024];
	memcpy(c, b, n);
	c[32] = 'X';
	ok(ccel_replay(c, n, &rp) == -EBADMSG && strstr(rp.err, "Spec ID"), "wrong signature refused: %s", rp.err);

	memcpy(c, b, n);
	put16(c + h + 12, TPM_ALG_SHA256);
	ok(ccel_replay(c, n, &rp) < 0 && strstr(rp.err, "not listed"), "unlisted digest algorithm refused: %s", rp.err);

	memcpy(c, b, n);
	put32(c + h + 8, 0);
	ok(ccel_replay(c, n, &rp) < 0 && strstr(rp.err, "0 digests"), "zero digest count refused: %s", rp.err);

	memcpy(c, b, n);
	put32(c + h + 14 + 48, 0xfffffff0u);
	ok(ccel_replay(c, n, &rp) < 0 && strstr(rp.err, "runs past"), "oversized event data refused: %s", rp.err);

	memcpy(c, b, n);
	put32(c + h, 0);
	ok(ccel_replay(c, n, &rp) < 0 && strstr(rp.err, "no RTMR"), "MRTD index refused in replay: %s", rp.err);

	memcpy(c, b, n);
	put32(c + h, 5);
	ok(ccel_replay(c, n, &rp) < 0 && strstr(rp.err, "index 5"), "index 5 refused: %s", rp.err);

	size_t m = make_header(c, TPM_ALG_SHA256, 32);
	ok(ccel_replay(c, m, &rp) < 0 && strstr(rp.err, "SHA-384"), "log without SHA-384 refused: %s", rp.err);
	m = make_header(c, TPM_ALG_SHA384, 32);
	ok(ccel_replay(c, m, &rp) < 0 && strstr(rp.err, "digest size"), "wrong SHA-384 size refused: %s", rp.err);
}

/* ---- JSON ---- */

struct fixture {
	unsigned char *raw;
	char *log;           /* unescaped event_log */
	size_t log_len;
	unsigned char quote[8192];
	size_t quote_len;
};

static int load_fixture(const char *name, struct fixture *fx)
{
	size_t len;
	memset(fx, 0, sizeof(*fx));
	fx->raw = td_read(name, &len);
	if (!fx->raw)
		return -1;
	static jsmntok_t t[2048];
	struct json_doc d;
	if (json_parse(&d, (const char *)fx->raw, len, t, 2048) != 0 ||
	    !json_is(&d, 0, JSMN_OBJECT))
		return -1;
	int q = json_get(&d, 0, "quote"), el = json_get(&d, 0, "event_log");
	if (!json_is(&d, q, JSMN_STRING) || !json_is(&d, el, JSMN_STRING))
		return -1;
	size_t n;
	const char *text = json_text(&d, q, &n);
	ssize_t ql = hex_decode(fx->quote, sizeof(fx->quote), text, n);
	if (ql < 0)
		return -1;
	fx->quote_len = (size_t)ql;
	text = json_text(&d, el, &n);
	fx->log = malloc(n + 1);
	long l = fx->log ? json_unescape(text, n, fx->log, n + 1) : -1;
	if (l < 0)
		return -1;
	fx->log_len = (size_t)l;
	return fx->quote_len >= 632 ? 0 : -1;
}

static void free_fixture(struct fixture *fx)
{
	free(fx->raw);
	free(fx->log);
}

static int count_fn(void *ctx, const struct el_event *ev, const char *name)
{
	unsigned *n = ctx;
	(void)name;
	n[0]++;
	if (ev->type == EV_DSTACK_RUNTIME)
		n[1]++;
	return 0;
}

static void test_json_fixture(const char *name)
{
	struct fixture fx;
	if (load_fixture(name, &fx) < 0) {
		ok(1, "# skip %s not found or unreadable", name);
		free_fixture(&fx);
		return;
	}
	struct el_replay rp;
	int rc = el_json_replay(fx.log, fx.log_len, &rp);
	is_int(rc, 0, "%s: JSON event log replays (%s)", name, rp.err);
	for (int i = 0; i < 4; i++) {
		char a[97], b[97];
		hexs(a, rp.rtmr[i], 48);
		hexs(b, QUOTE_RTMR(fx.quote, i), 48);
		is_str(a, b, "%s: replay reproduces the quote's RTMR%d", name, i);
	}
	unsigned cnt[2] = { 0, 0 };
	char err[ERRBUF_LEN];
	rc = el_json_each(fx.log, fx.log_len, count_fn, cnt, err);
	ok(rc == 0 && cnt[1] >= 7, "%s: %u events, %u runtime events with recomputed digests", name, cnt[0], cnt[1]);

	/* Change one runtime payload byte: a listed digest no longer matches;
	 * where the digest is not listed, RTMR3 changes instead. */
	char *copy = malloc(fx.log_len + 1);
	memcpy(copy, fx.log, fx.log_len + 1);
	char *pl = strstr(copy, "\"app-id\"");
	char *hexp = pl ? strstr(pl, "\"event_payload\":\"") : NULL;
	if (!hexp) {
		/* dstack writes "event_payload" after "event"; search the object. */
		char *obj = pl;
		while (obj && obj > copy && *obj != '{')
			obj--;
		hexp = obj ? strstr(obj, "\"event_payload\":\"") : NULL;
	}
	ok(hexp != NULL, "%s: found the app-id payload", name);
	if (hexp) {
		char *h = hexp + strlen("\"event_payload\":\"");
		*h = *h == '0' ? '1' : '0';
		struct el_replay rp2;
		rc = el_json_replay(copy, fx.log_len, &rp2);
		if (rc == 0)
			ok(memcmp(rp2.rtmr[3], rp.rtmr[3], 48) != 0,
			   "%s: changed runtime payload (no listed digest) changes RTMR3", name);
		else
			ok(strstr(rp2.err, "does not match") != NULL,
			   "%s: changed runtime payload refused: %s", name, rp2.err);
	}
	/* Truncation at every length: refused, never a crash. */
	int bad = 0;
	for (size_t n = 0; n < fx.log_len; n++) {
		struct el_replay rp3;
		if (el_json_replay(fx.log, n, &rp3) == 0)
			bad++;
	}
	is_int(bad, 0, "%s: JSON log cut at each of %zu lengths is refused", name, fx.log_len);
	free(copy);
	free_fixture(&fx);
}

static void test_json_synthetic(void)
{
	struct el_replay rp;
	const char *good =
		" [ {\"imr\":3,\"name\":\"a\",\"payload\":\"00ff\"} ,"
		"{\"imr\":1,\"event_type\":4,\"digest\":\""
		"394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae41019f5818b4b971c9effc60e1ad9f1289f0\","
		"\"extra\":{\"nested\":[1,2,{\"x\":\"}\"}]}} ] ";
	is_int(el_json_replay(good, strlen(good), &rp), 0, "ours + dstack forms mixed, nested extra field: %s", rp.err);
	uint8_t d[48], want[48] = { 0 };
	rtmr3_event_digest("a", "\x00\xff", 2, d);
	el_extend(want, d);
	is_mem(rp.rtmr[3], want, 48, "runtime digest computed when not listed");

	static const struct { const char *js, *why; } bad[] = {
		{ "{}", "not a JSON array" },
		{ "[{\"imr\":4,\"event_type\":1,\"digest\":\"\"}]", "not an RTMR" },
		{ "[{\"imr\":1,\"event_type\":1}]", "no digest" },
		{ "[{\"imr\":1,\"event_type\":1,\"digest\":\"00\"}]", "48 bytes" },
		{ "[{\"imr\":3,\"name\":\"a\",\"payload\":\"0g\"}]", "not hex" },
		{ "[{\"imr\":3,\"name\":\"a\\\"b\",\"payload\":\"\"}]", "escaped" },
		{ "[{\"imr\":-1,\"event_type\":1}]", "imr" },
		{ "[{\"imr\":1}]", "event_type" },
		{ "[{\"imr\":3,\"name\":\"a\",\"payload\":\"\"}] x", "trailing" },
		{ "[{\"imr\":3,\"name\":\"a\",\"payload\":\"\"} {}]", "expected ','" },
		{ "[{\"imr\":3,\"event\":\"a\",\"name\":\"a\"}]", "both" },
		{ "[{\"imr\":3,\"name\":\"a\",\"payload\":\"\",\"digest\":"
		  "\"f9974020ef507068183313d0ca808e0d1ca9b2d1ad0c61f5784e7157c362c06536f5ddacdad4451693f48fcc72fff624\"}]",
		  "does not match" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = el_json_replay(bad[i].js, strlen(bad[i].js), &rp);
		ok(rc < 0 && strstr(rp.err, bad[i].why), "refused (%s): %s", bad[i].why, rp.err);
	}
}

/* ---- RTMR3 runtime log ---- */

static void test_rtmr3(void)
{
	uint8_t d[48];
	char h[97];

	/* Known answers from dstack's quote-report fixture. */
	rtmr3_event_digest("system-preparing", "", 0, d);
	hexs(h, d, 48);
	is_str(h, "f9974020ef507068183313d0ca808e0d1ca9b2d1ad0c61f5784e7157c362c06536f5ddacdad4451693f48fcc72fff624",
	       "digest of dstack's system-preparing event");
	static const uint8_t app_id[20] = { 0x37, 0x63, 0xbc, 0x34, 0x55, 0x2c, 0xf3, 0xa2, 0x7f, 0xf7,
					    0x1a, 0xd5, 0xf7, 0xa9, 0x04, 0x71, 0x56, 0x2a, 0x1a, 0x2d };
	rtmr3_event_digest("app-id", app_id, sizeof(app_id), d);
	hexs(h, d, 48);
	is_str(h, "837c2dd72f8a4c740159e5e042ed79b7eaaa5ab3a151a45e27bc366bb8b27e6c3faec87aab1e95197d3e6d23308d448c",
	       "digest of dstack's app-id event");

	static struct rtmr3_log log;
	rtmr3_log_init(&log);
	uint8_t manifest[32];
	memset(manifest, 0xab, sizeof(manifest));
	is_int(rtmr3_log_append(&log, "manifest", manifest, sizeof(manifest)), 0, "append manifest");
	is_int(rtmr3_log_append(&log, "instance-id", "\x01\x02", 2), 1, "append instance-id");
	is_int(rtmr3_log_append(&log, "bad:name", "", 0), -EINVAL, "':' in a name refused");
	is_int(rtmr3_log_append(&log, "", "", 0), -EINVAL, "empty name refused");
	is_int(rtmr3_log_append(&log, "a b", "", 0), -EINVAL, "space in a name refused");
	is_int(rtmr3_log_append(&log, "q\"", "", 0), -EINVAL, "quote in a name refused");
	static uint8_t big[RTMR3_PAYLOAD_MAX + 1];
	is_int(rtmr3_log_append(&log, "big", big, sizeof(big)), -EMSGSIZE, "oversized payload refused");

	static char js[RTMR3_JSON_MAX(3)];
	long n = rtmr3_log_json(&log, js, sizeof(js));
	ok(n > 0, "runtime log renders as JSON (%ld bytes)", n);
	diag("%.200s", js);
	struct el_replay rp;
	is_int(el_json_replay(js, (size_t)n, &rp), 0, "our JSON form replays (%s)", rp.err);
	is_mem(rp.rtmr[3], log.rtmr3, 48, "replay equals the log's RTMR3");
	is_int(rp.n_measured[3], 2, "two RTMR3 events");

	uint8_t before[48];
	memcpy(before, log.rtmr3, 48);
	is_int(rtmr3_log_append(&log, "x", "", 0), 2, "append a third");
	rtmr3_log_drop_last(&log);
	is_mem(log.rtmr3, before, 48, "drop_last restores RTMR3");
	is_int(log.n, 2, "drop_last drops");
	ok(rtmr3_log_json(&log, js, 10) == -ENOSPC, "small buffer: -ENOSPC");

	for (unsigned i = log.n; i < RTMR3_LOG_MAX; i++)
		rtmr3_log_append(&log, "fill", "", 0);
	is_int(rtmr3_log_append(&log, "full", "", 0), -ENOSPC, "full log refuses");
}

/* ---- RTMR3 binary records ---- */

/* rtmr3_rec_next refuses buf[0..len) at offset 0 and leaves the offset. */
static void rec_refused(const uint8_t *buf, size_t len, const char *what)
{
	struct rtmr3_rec rec;
	size_t off = 0;
	int r = rtmr3_rec_next(buf, len, &off, &rec);

	ok(r == -EBADMSG && off == 0, "record refused: %s (%d)", what, r);
}

static void test_rtmr3_records(void)
{
	static const uint8_t want[] = {
		8, 'm', 'a', 'n', 'i', 'f', 'e', 's', 't', 3, 0, 0x01, 0x02, 0x03,
	};
	static uint8_t buf[RTMR3_LOG_MAX * RTMR3_REC_MAX + RTMR3_REC_MAX];
	static uint8_t big[RTMR3_PAYLOAD_MAX + 1];
	static struct rtmr3_log log, back;
	static char js[RTMR3_JSON_MAX(3)], js2[RTMR3_JSON_MAX(3)];
	char name64[RTMR3_NAME_MAX + 1];
	struct rtmr3_rec rec;
	struct jsonw w;
	size_t off;
	long n, jn, jn2;

	/* Known answers: u8 name_len | name | le16 payload_len | payload. */
	n = rtmr3_rec_encode("manifest", "\x01\x02\x03", 3, buf, sizeof buf);
	ok(n == (long)sizeof want && memcmp(buf, want, sizeof want) == 0,
	   "record of (manifest, 010203): the exact bytes");
	memset(big, 0xc3, sizeof big);
	n = rtmr3_rec_encode("x", big, 300, buf, sizeof buf);
	ok(n == 1 + 1 + 2 + 300 && buf[0] == 1 && buf[1] == 'x' && buf[2] == 0x2c && buf[3] == 0x01 &&
	   buf[4] == 0xc3 && buf[303] == 0xc3, "payload length 300 is little endian 2c 01");
	n = rtmr3_rec_encode("e", "", 0, buf, sizeof buf);
	ok(n == 4 && memcmp(buf, "\x01" "e\x00\x00", 4) == 0, "empty payload: 01 65 00 00");
	is_int(rtmr3_rec_encode("a:b", "", 0, buf, sizeof buf), -EINVAL, "encode: ':' refused");
	is_int(rtmr3_rec_encode("", "", 0, buf, sizeof buf), -EINVAL, "encode: empty name refused");
	is_int(rtmr3_rec_encode("a", big, sizeof big, buf, sizeof buf), -EINVAL,
	       "encode: payload of 513 refused");
	is_int(rtmr3_rec_encode("manifest", "\x01\x02\x03", 3, buf, sizeof want - 1), -ENOSPC,
	       "encode: one byte short of room: -ENOSPC");

	/* Reading the known record back. */
	off = 0;
	ok(rtmr3_rec_next(want, sizeof want, &off, &rec) == 1 && off == sizeof want &&
	   rec.name == (const char *)want + 1 && rec.name_len == 8 &&
	   rec.payload == want + 11 && rec.payload_len == 3, "read back in place");
	is_int(rtmr3_rec_next(want, sizeof want, &off, &rec), 0, "then the end");

	/* Refusals. */
	rec_refused(want, 1, "truncated in the name");
	rec_refused(want, 9, "truncated before the payload length");
	rec_refused(want, 10, "truncated inside the payload length");
	rec_refused(want, sizeof want - 1, "truncated in the payload");
	rec_refused((const uint8_t *)"\x00\x00\x00", 3, "name length 0");
	memset(buf, 'a', sizeof buf);
	buf[0] = RTMR3_NAME_MAX + 1;
	put_le16(buf + 1 + RTMR3_NAME_MAX + 1, 0);
	rec_refused(buf, 1 + RTMR3_NAME_MAX + 1 + 2, "name length 65");
	buf[0] = RTMR3_NAME_MAX;
	put_le16(buf + 1 + RTMR3_NAME_MAX, 0);
	off = 0;
	ok(rtmr3_rec_next(buf, 1 + RTMR3_NAME_MAX + 2, &off, &rec) == 1 && rec.name_len == 64,
	   "name length 64 is read");
	rec_refused((const uint8_t *)"\x03" "a:b\x00\x00", 6, "':' in the name");
	rec_refused((const uint8_t *)"\x03" "a\"b\x00\x00", 6, "'\"' in the name");
	rec_refused((const uint8_t *)"\x03" "a\\b\x00\x00", 6, "'\\' in the name");
	rec_refused((const uint8_t *)"\x03" "a b\x00\x00", 6, "a space in the name");
	rec_refused((const uint8_t *)"\x01" "a\x05\x00\x01\x02\x03\x04", 8,
		    "payload length 5 past the end (4 bytes)");
	buf[0] = 1;
	buf[1] = 'a';
	put_le16(buf + 2, RTMR3_PAYLOAD_MAX + 1);
	rec_refused(buf, 4 + RTMR3_PAYLOAD_MAX + 1, "payload length 513 (all present)");
	put_le16(buf + 2, RTMR3_PAYLOAD_MAX);
	off = 0;
	ok(rtmr3_rec_next(buf, 4 + RTMR3_PAYLOAD_MAX, &off, &rec) == 1 && rec.payload_len == 512,
	   "payload length 512 is read");
	rec_refused(buf, 4 + RTMR3_PAYLOAD_MAX - 1, "payload length 512, one byte missing");
	off = 5;
	ok(rtmr3_rec_next(want, 4, &off, &rec) == -EBADMSG && off == 5,
	   "an offset past the end is refused");

	/* The log as records: decode replays it, the JSON forms agree. */
	rtmr3_log_init(&log);
	memset(name64, 'n', RTMR3_NAME_MAX);
	name64[RTMR3_NAME_MAX] = '\0';
	rtmr3_log_append(&log, "manifest", "\x01\x02\x03", 3);
	rtmr3_log_append(&log, "instance-id", "", 0);
	rtmr3_log_append(&log, name64, big, RTMR3_PAYLOAD_MAX);
	n = rtmr3_log_encode(&log, buf, sizeof buf);
	is_int(n, sizeof want + 1 + 11 + 2 + RTMR3_REC_MAX, "log encodes to its records");
	ok(n > 0 && memcmp(buf, want, sizeof want) == 0, "the first is the known record");
	is_int(rtmr3_log_encode(&log, buf, (size_t)n - 1), -ENOSPC, "log encode: -ENOSPC");
	n = rtmr3_log_encode(&log, buf, sizeof buf);
	ok(rtmr3_log_decode(&back, buf, (size_t)n) == 0 && back.n == 3 &&
	   memcmp(back.rtmr3, log.rtmr3, 48) == 0 && strcmp(back.ev[2].name, name64) == 0,
	   "decode replays to the same RTMR3");
	ok(rtmr3_log_decode(&back, buf, (size_t)n - 1) == -EBADMSG, "decode: a cut log refused");
	ok(rtmr3_log_decode(&back, buf, 0) == 0 && back.n == 0, "decode: empty is an empty log");

	jw_init(&w, js, sizeof js);
	is_int(rtmr3_records_json(&w, buf, (size_t)n), 0, "records render as JSON");
	jn = jw_finish(&w);
	jn2 = rtmr3_log_json(&log, js2, sizeof js2);
	ok(jn > 0 && jn == jn2 && strcmp(js, js2) == 0, "records JSON equals rtmr3_log_json");
	/* A bad record ends the array at the records before it. */
	jw_init(&w, js, sizeof js);
	is_int(rtmr3_records_json(&w, buf, sizeof want + 3), -EBADMSG, "records JSON: bad record");
	jn = jw_finish(&w);
	rtmr3_log_drop_last(&log);
	rtmr3_log_drop_last(&log);
	jn2 = rtmr3_log_json(&log, js2, sizeof js2);
	ok(jn > 0 && jn == jn2 && strcmp(js, js2) == 0, "  which ends the array after the good ones");

	/* RTMR3_LOG_MAX records decode; one more is -ENOSPC. */
	off = 0;
	for (unsigned i = 0; i <= RTMR3_LOG_MAX; i++)
		off += (size_t)rtmr3_rec_encode("e", "", 0, buf + off, sizeof buf - off);
	ok(rtmr3_log_decode(&back, buf, off - 4) == 0 && back.n == RTMR3_LOG_MAX,
	   "decode: %u records", RTMR3_LOG_MAX);
	is_int(rtmr3_log_decode(&back, buf, off), -ENOSPC, "decode: one more is -ENOSPC");

	/* The byte bound: records of the largest size up to RTMR3_LOG_BYTES_MAX
	 * decode; the next one does not fit (-ENOSPC), while a smaller one
	 * that still fits is taken. */
	{
		static uint8_t pl[RTMR3_PAYLOAD_MAX];
		char name[RTMR3_NAME_MAX + 1];
		unsigned fit = RTMR3_LOG_BYTES_MAX / RTMR3_REC_MAX;
		size_t left = RTMR3_LOG_BYTES_MAX - (size_t)fit * RTMR3_REC_MAX;

		memset(name, 'n', RTMR3_NAME_MAX);
		name[RTMR3_NAME_MAX] = '\0';
		off = 0;
		for (unsigned i = 0; i <= fit; i++)
			off += (size_t)rtmr3_rec_encode(name, pl, sizeof pl, buf + off, sizeof buf - off);
		ok(rtmr3_log_decode(&back, buf, off - RTMR3_REC_MAX) == 0 && back.n == fit &&
		   back.rec_bytes == off - RTMR3_REC_MAX, "decode: %u largest records (%zu bytes)",
		   fit, back.rec_bytes);
		is_int(rtmr3_log_decode(&back, buf, off), -ENOSPC,
		       "decode: one more passes RTMR3_LOG_BYTES_MAX: -ENOSPC");
		rtmr3_log_decode(&back, buf, off - RTMR3_REC_MAX);
		ok(!rtmr3_log_room(&back, RTMR3_NAME_MAX, RTMR3_PAYLOAD_MAX) &&
		   rtmr3_log_room(&back, 1, left - 4) && !rtmr3_log_room(&back, 1, left - 3),
		   "room: exactly the %zu bytes left", left);
		is_int(rtmr3_log_append(&back, "e", pl, left - 4), (int)fit, "  a record of them is taken");
		is_int(rtmr3_log_append(&back, "e", "", 0), -ENOSPC, "  then nothing");
		rtmr3_log_drop_last(&back);
		is_int(back.rec_bytes, off - RTMR3_REC_MAX, "drop_last gives its bytes back");
	}
}

static void test_unescape(void)
{
	char out[64];
	const char *in = "a\\\"b\\\\c\\/\\n\\u00e9\\ud83d\\ude00";
	long n = json_unescape(in, strlen(in), out, sizeof(out));
	is_int(n, 13, "unescape length");
	is_str(out, "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80", "unescape content");
	ok(json_unescape("\\x", 2, out, sizeof(out)) == -EBADMSG, "bad escape refused");
	ok(json_unescape("\\ud83d", 6, out, sizeof(out)) == -EBADMSG, "lone surrogate refused");
	ok(json_unescape("abc", 3, out, 3) == -ENOSPC, "no room for NUL: -ENOSPC");
}

int main(void)
{
	test_ccel_synthetic();
	test_ccel_cos113();
	test_ccel_dstack();
	test_json_synthetic();
	test_json_fixture("dstack_verifier_quote-report.json");
	test_json_fixture("dstack_verifier_tdx-lite-getquote.json");
	test_rtmr3();
	test_rtmr3_records();
	test_unescape();
	return tap_done();
}
