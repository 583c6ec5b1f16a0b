/* net/kms_client.c: see kms_client.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/key_wrap.h"
#include "lib/base64.h"
#include "lib/json_tok.h"
#include "net/kms_client.h"

_Static_assert(NETD_KMS_BLOB_LEN == KW_BLOB_LEN, "one blob size");

__attribute__((format(printf, 3, 4)))
static int fail(struct netd_kms_reply_msg *out, int err, const char *fmt, ...)
{
	va_list ap;

	memset(out->wrapped_key, 0, sizeof out->wrapped_key);
	memset(out->freshness, 0, sizeof out->freshness);
	out->has_freshness = 0;
	out->freshness_len = 0;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
	out->error = err;
	return err;
}

/* A string member's raw text as printable ASCII (anything else becomes
 * '?'), cut to cap - 1 bytes; "" when absent or not a string. Escapes
 * stay as written: this is a reason line for the console, not a value. */
static void printable(const struct json_doc *d, int obj, const char *key, char *out, size_t cap)
{
	int t = json_get(d, obj, key);
	size_t n = 0;
	const char *s = json_is(d, t, JSMN_STRING) ? json_text(d, t, &n) : NULL;

	if (!s)
		n = 0;
	if (n > cap - 1)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
	out[n] = '\0';
}

static int refusal(struct netd_kms_reply_msg *out, unsigned status, const struct json_doc *d,
		   bool parsed)
{
	int e = parsed ? json_get(d, 0, "error") : -1;
	char code[32], msg[200];

	if (!json_is(d, e, JSMN_OBJECT))
		return fail(out, -EPROTO, "KMS answered HTTP %u without an error object", status);
	printable(d, e, "code", code, sizeof code);
	printable(d, e, "message", msg, sizeof msg);
	return fail(out, status == 403 ? -EACCES : -EPROTO, "KMS refused (HTTP %u, %s): %s",
		    status, code[0] ? code : "no code", msg);
}

int kms_reply_parse(struct netd_kms_reply_msg *out, unsigned status, const char *body,
		    size_t len)
{
	jsmntok_t toks[KMS_REPLY_TOKENS];
	struct json_doc d;
	uint64_t v;
	size_t sl;
	const char *s;
	bool parsed;
	int t;
	long n;

	memset(out, 0, sizeof *out);
	out->http_status = (uint16_t)(status <= 999 ? status : 0);
	if (len > KMS_REPLY_MAX)
		return fail(out, -EBADMSG, "KMS reply: more than %u bytes", KMS_REPLY_MAX);
	parsed = json_parse(&d, body, len, toks, KMS_REPLY_TOKENS) == 0 && json_validate(&d, 4) == 0 &&
		 json_is(&d, 0, JSMN_OBJECT);
	if (status != 200)
		return refusal(out, status, &d, parsed);
	if (!parsed)
		return fail(out, -EBADMSG, "KMS reply: not a JSON object");
	t = json_get(&d, 0, "version");
	if (t < 0 || json_uint(&d, t, 1, &v) < 0 || v != 1)
		return fail(out, -EBADMSG, "KMS reply: not version 1");
	t = json_get(&d, 0, "wrapped_key");
	s = json_is(&d, t, JSMN_STRING) ? json_text(&d, t, &sl) : NULL;
	n = s && sl <= 4 * ((KW_BLOB_LEN + 2) / 3)
	    ? base64_decode(out->wrapped_key, sizeof out->wrapped_key, s, sl) : -1;
	if (n != KW_BLOB_LEN)
		return fail(out, -EBADMSG, "KMS reply: wrapped_key is not %u bytes of base64",
			    KW_BLOB_LEN);
	t = json_get(&d, 0, "freshness");
	if (json_is(&d, t, JSMN_STRING)) {
		n = json_str(&d, t, out->freshness, sizeof out->freshness);
		if (n < 0)
			return fail(out, -EBADMSG, "KMS reply: freshness is not a string of at most "
				    "%u bytes", NETD_KMS_FRESH_MAX);
		out->has_freshness = 1;
		out->freshness_len = (uint32_t)n;
	} else if (!json_is(&d, t, JSMN_PRIMITIVE) || !json_text_eq(&d, t, "null")) {
		return fail(out, -EBADMSG, "KMS reply: freshness is neither a string nor null");
	}
	return 0;
}
