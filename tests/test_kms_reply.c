/* tests/test_kms_reply.c: net/kms_client.c kms_reply_parse, the reduction
 * of a `dshield kms` reply to the fixed struct netd hands init: a key
 * (with and without a freshness record), every refusal shape, and every
 * malformed 200 refused with -EBADMSG and nothing left in the struct. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/key_wrap.h"
#include "lib/base64.h"
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
	return tap_done();
}
