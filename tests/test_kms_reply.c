/* tests/test_kms_reply.c: net/kms_client.c. kms_reply_parse, the
 * reduction of a `dshield kms` reply to the fixed struct netd hands init:
 * a key (with and without a freshness record), every refusal shape, and
 * every malformed 200 refused with -EBADMSG and nothing left in the
 * struct. The HTTP layer: the request head (and what cannot go in one),
 * answers whole, byte by byte, after a 100, chunked, delimited by the
 * close, over the bound, cut short, not HTTP. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/key_wrap.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "net/kms_client.h"
#include "tests/tap.h"

static struct netd_kms_reply_msg R;
static char body[KMS_REPLY_MAX + 64];

/* A 200 body: version, a wrapped_key of blen bytes (each its index), and
 * freshness as given (raw JSON). */
static size_t reply(unsigned version, size_t blen, const char *freshness)
{
	uint8_t blob[KW_BLOB_LEN + 8];
	char b64[512];

	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)i;
	base64_encode(b64, blob, blen);
	return (size_t)snprintf(body, sizeof body,
				"{\"version\":%u,\"wrapped_key\":\"%s\",\"kms_key\":\"04\","
				"\"freshness\":%s}", version, b64, freshness);
}

static bool empty(void)
{
	static const struct netd_kms_reply_msg z;

	return memcmp(R.wrapped_key, z.wrapped_key, sizeof z.wrapped_key) == 0 &&
	       R.has_freshness == 0 && R.freshness_len == 0 && R.freshness[0] == '\0';
}

static struct kms_http H;

/* Feeds s in pieces of step bytes; the last result. */
static int feed(const char *s, size_t step, char *err, size_t errlen)
{
	size_t n = strlen(s);
	int r = 0;

	kms_http_init(&H);
	for (size_t off = 0; off < n && r == 0; off += step)
		r = kms_http_feed(&H, s + off, n - off < step ? n - off : step, err, errlen);
	return r;
}

static void test_http(void)
{
	static const char ok200[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				    "Content-Length: 13\r\n\r\n{\"version\":1}";
	struct netd_kms_req_msg q;
	char head[1024], err[ERRBUF_LEN] = "";
	static char big[KMS_REPLY_MAX + 200];
	long n;

	memset(&q, 0, sizeof q);
	snprintf(q.host, sizeof q.host, "kms.example");
	snprintf(q.path, sizeof q.path, "/v1/keys");
	q.port = 8547;
	n = kms_http_head(head, sizeof head, &q, 2607);
	is_str(head, "POST /v1/keys HTTP/1.1\r\nHost: kms.example:8547\r\nContent-Type: "
	       "application/json\r\nContent-Length: 2607\r\nConnection: close\r\n\r\n",
	       "http: the request head");
	ok(n == (long)strlen(head), "http:   its length");
	is_int(kms_http_head(head, 20, &q, 1), -ENOSPC, "http: no room: -ENOSPC");
	snprintf(q.path, sizeof q.path, "/v1/keys HTTP/1.0\r\nX: y");
	is_int(kms_http_head(head, sizeof head, &q, 1), -EINVAL, "http: a path with a space or CRLF: -EINVAL");
	snprintf(q.path, sizeof q.path, "v1/keys");
	is_int(kms_http_head(head, sizeof head, &q, 1), -EINVAL, "http: a path without '/': -EINVAL");
	snprintf(q.path, sizeof q.path, "/");
	memset(q.host, 'a', sizeof q.host);
	is_int(kms_http_head(head, sizeof head, &q, 1), -EINVAL, "http: a host without a NUL: -EINVAL");

	ok(feed(ok200, 4096, err, sizeof err) == 1 && H.status == 200 && H.len == 13 &&
	   memcmp(H.body, "{\"version\":1}", 13) == 0, "http: a whole answer: status and body");
	ok(feed(ok200, 1, err, sizeof err) == 1 && H.status == 200 && H.len == 13,
	   "http: the same byte by byte");
	ok(kms_http_feed(&H, "junk", 4, err, sizeof err) == 1 && H.len == 13,
	   "http: bytes after the answer are ignored");
	ok(feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}",
		7, err, sizeof err) == 1 && H.status == 403 && H.len == 2,
	   "http: a 100 first, then the answer");
	ok(feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n"
		"4\r\n\":1}\r\n0\r\n\r\n", 5, err, sizeof err) == 1 && H.len == 7 &&
	   memcmp(H.body, "{\"a\":1}", 7) == 0, "http: a chunked body");
	ok(feed("HTTP/1.1 200 OK\r\n\r\n{\"v\":1}", 3, err, sizeof err) == 0 &&
	   kms_http_eof(&H, err, sizeof err) == 1 && H.status == 200 && H.len == 7,
	   "http: a body delimited by the close (%s)", err);
	ok(feed("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"v\"", 3, err, sizeof err) == 0 &&
	   kms_http_eof(&H, err, sizeof err) == -EPIPE, "http: closed mid-body: -EPIPE (%s)", err);
	is_int(feed("SSH-2.0-OpenSSH\r\n", 64, err, sizeof err), -EBADMSG,
	       "http: not HTTP: -EBADMSG (%s)", err);
	n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
		     KMS_REPLY_MAX + 1);
	memset(big + n, 'x', KMS_REPLY_MAX + 1);
	big[n + KMS_REPLY_MAX + 1] = '\0';
	is_int(feed(big, 1000, err, sizeof err), -EBADMSG, "http: a body over %u bytes: -EBADMSG (%s)",
	       KMS_REPLY_MAX, err);
	n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", KMS_REPLY_MAX);
	memset(big + n, 'x', KMS_REPLY_MAX);
	big[n + KMS_REPLY_MAX] = '\0';
	ok(feed(big, 1000, err, sizeof err) == 1 && H.len == KMS_REPLY_MAX,
	   "http: a body of exactly %u bytes is whole", KMS_REPLY_MAX);
}

int main(void)
{
	uint8_t want[KW_BLOB_LEN];
	char big[NETD_KMS_FRESH_MAX + 16];
	size_t n;

	for (size_t i = 0; i < sizeof want; i++)
		want[i] = (uint8_t)i;
	n = reply(1, KW_BLOB_LEN, "null");
	is_int(kms_reply_parse(&R, 200, body, n), 0, "a key reply: 0 (%s)", R.reason);
	ok(memcmp(R.wrapped_key, want, sizeof want) == 0, "  the blob, all 151 bytes");
	ok(R.http_status == 200 && !R.has_freshness && R.freshness_len == 0, "  no freshness record");

	n = reply(1, KW_BLOB_LEN, "\"dshield-log/x\\n12\\nAAAA\\n\"");
	is_int(kms_reply_parse(&R, 200, body, n), 0, "with a freshness record: 0");
	ok(R.has_freshness && R.freshness_len == 22 &&
	   memcmp(R.freshness, "dshield-log/x\n12\nAAAA\n", 22) == 0,
	   "  the record's decoded bytes, escapes resolved (%u)", R.freshness_len);

	big[0] = '"';   /* a JSON string of NETD_KMS_FRESH_MAX 'a's */
	memset(big + 1, 'a', NETD_KMS_FRESH_MAX);
	snprintf(big + 1 + NETD_KMS_FRESH_MAX, 2, "\"");
	n = reply(1, KW_BLOB_LEN, big);
	is_int(kms_reply_parse(&R, 200, body, n), 0, "a record of exactly %u bytes: 0",
	       NETD_KMS_FRESH_MAX);
	is_int(R.freshness_len, NETD_KMS_FRESH_MAX, "  all of it");
	big[1 + NETD_KMS_FRESH_MAX] = 'a';
	snprintf(big + 2 + NETD_KMS_FRESH_MAX, 2, "\"");
	n = reply(1, KW_BLOB_LEN, big);
	is_int(kms_reply_parse(&R, 200, body, n), -EBADMSG, "one byte more: -EBADMSG (%s)", R.reason);
	ok(empty(), "  nothing left in the struct");

	n = reply(1, KW_BLOB_LEN - 1, "null");
	is_int(kms_reply_parse(&R, 200, body, n), -EBADMSG, "a 150-byte blob: -EBADMSG (%s)", R.reason);
	ok(empty(), "  nothing left in the struct");
	n = reply(1, KW_BLOB_LEN + 1, "null");
	is_int(kms_reply_parse(&R, 200, body, n), -EBADMSG, "a 152-byte blob: -EBADMSG");
	n = reply(2, KW_BLOB_LEN, "null");
	is_int(kms_reply_parse(&R, 200, body, n), -EBADMSG, "version 2: -EBADMSG (%s)", R.reason);
	n = reply(1, KW_BLOB_LEN, "12");
	is_int(kms_reply_parse(&R, 200, body, n), -EBADMSG, "freshness a number: -EBADMSG (%s)",
	       R.reason);
	n = reply(1, KW_BLOB_LEN, "null");
	body[n - 1] = ',';
	is_int(kms_reply_parse(&R, 200, body, n), -EBADMSG, "not JSON: -EBADMSG (%s)", R.reason);
	is_int(kms_reply_parse(&R, 200, "[]", 2), -EBADMSG, "an array: -EBADMSG");
	is_int(kms_reply_parse(&R, 200, "{\"version\":1}", 13), -EBADMSG, "no wrapped_key: -EBADMSG");
	n = reply(1, KW_BLOB_LEN, "null");
	is_int(kms_reply_parse(&R, 200, body, KMS_REPLY_MAX + 1), -EBADMSG,
	       "more than %u bytes: -EBADMSG", KMS_REPLY_MAX);

	n = (size_t)snprintf(body, sizeof body, "{\"error\":{\"code\":\"measurements\",\"message\":"
			     "\"measurements: MRTD/RTMR0-2 match no allowlisted file\\u0007\xc3\xa9\"}}");
	is_int(kms_reply_parse(&R, 403, body, n), -EACCES, "a 403 refusal: -EACCES");
	is_str(R.reason, "KMS refused (HTTP 403, measurements): measurements: MRTD/RTMR0-2 match "
	       "no allowlisted file\\u0007??", "  its code and message, printable only");
	ok(R.http_status == 403 && empty(), "  the status, and no key");
	is_int(kms_reply_parse(&R, 500, "{\"error\":{\"code\":\"state\"}}", 26), -EPROTO,
	       "a 500 refusal: -EPROTO (%s)", R.reason);
	is_int(kms_reply_parse(&R, 502, "<html>", 6), -EPROTO, "a 502 from a proxy: -EPROTO");
	is_str(R.reason, "KMS answered HTTP 502 without an error object", "  says so");
	n = reply(1, KW_BLOB_LEN, "null");
	is_int(kms_reply_parse(&R, 404, body, n), -EPROTO, "a key body under another status: -EPROTO");
	ok(empty(), "  no key taken from it");
	test_http();
	return tap_done();
}
