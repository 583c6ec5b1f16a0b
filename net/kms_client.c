/* net/kms_client.c: see kms_client.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/key_wrap.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
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

/* --- HTTP ------------------------------------------------------------------------------- */

/* A head field's bytes: printable ASCII without spaces (host, path). */
static bool head_safe(const char *s)
{
	for (; *s; s++)
		if (*s <= 0x20 || *s > 0x7e)
			return false;
	return true;
}

long kms_http_head(char *out, size_t cap, const struct netd_kms_req_msg *req, size_t body_len)
{
	int n;

	if (!memchr(req->host, '\0', sizeof req->host) || !memchr(req->path, '\0', sizeof req->path) ||
	    !req->host[0] || req->path[0] != '/' || !head_safe(req->host) || !head_safe(req->path))
		return -EINVAL;
	n = snprintf(out, cap, "POST %s HTTP/1.1\r\nHost: %s:%u\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n", req->path, req->host, req->port, body_len);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

static int kh_body(llhttp_t *p, const char *at, size_t n)
{
	struct kms_http *h = p->data;

	if (n > sizeof h->body - h->len) {
		h->too_big = true;
		return HPE_USER;
	}
	memcpy(h->body + h->len, at, n);
	h->len += n;
	return 0;
}

static int kh_begin(llhttp_t *p)
{
	((struct kms_http *)p->data)->len = 0;   /* a 1xx's body is none of the answer */
	return 0;
}

static int kh_complete(llhttp_t *p)
{
	struct kms_http *h = p->data;

	if (p->status_code < 200)
		return 0;
	h->status = p->status_code;
	h->done = true;
	return HPE_PAUSED;
}

static const llhttp_settings_t kh_settings = {
	.on_message_begin = kh_begin,
	.on_body = kh_body,
	.on_message_complete = kh_complete,
};

void kms_http_init(struct kms_http *h)
{
	h->status = 0;
	h->done = h->too_big = false;
	h->len = 0;
	llhttp_init(&h->parser, HTTP_RESPONSE, &kh_settings);
	h->parser.data = h;
}

int kms_http_feed(struct kms_http *h, const char *data, size_t len, char *err, size_t errlen)
{
	llhttp_errno_t e;

	if (h->done)
		return 1;
	e = llhttp_execute(&h->parser, data, len);
	if (h->done)
		return 1;
	if (h->too_big)
		return errbuf_set(err, errlen, -EBADMSG, "the KMS's answer is over %u bytes",
				  KMS_REPLY_MAX);
	if (e != HPE_OK)
		return errbuf_set(err, errlen, -EBADMSG, "the KMS's answer is not HTTP (%s)",
				  llhttp_errno_name(e));
	return 0;
}

int kms_http_eof(struct kms_http *h, char *err, size_t errlen)
{
	if (h->done)
		return 1;
	(void)llhttp_finish(&h->parser);   /* completes a body delimited by the close */
	if (h->done)
		return 1;
	if (h->too_big)
		return errbuf_set(err, errlen, -EBADMSG, "the KMS's answer is over %u bytes",
				  KMS_REPLY_MAX);
	return errbuf_set(err, errlen, -EPIPE, "the KMS closed the connection before a whole answer");
}
