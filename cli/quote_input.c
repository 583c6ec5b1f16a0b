/* cli/quote_input.c: decode the QUOTE argument of `dshield verify`. */
#include "cli/quote_input.h"

#include <errno.h>
#include <string.h>

#include "lib/json_tok.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "crypto/rtmr3.h"

_Static_assert(QI_EVENTLOG_MAX >= RTMR3_LOG_JSON_MAX + 1, "a full runtime log fits");
_Static_assert(QI_JSON_TOKENS >= 11 * RTMR3_LOG_MAX + 64, "and its tokens");

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Hex with optional 0x and whitespace anywhere. Returns length or -1. */
static long hex_loose(uint8_t *out, size_t cap, const char *s, size_t len)
{
	size_t o = 0, i = 0;
	int hi = -1;

	while (i < len && is_ws(s[i]))
		i++;
	if (len - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
		i += 2;
	for (; i < len; i++) {
		char c = s[i];
		int v;
		if (is_ws(c))
			continue;
		v = hex_digit_value(c);
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (o == cap)
			return -1;
		out[o++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 && o > 0 ? (long)o : -1;
}

/* One hex field of the preimage: absent or null leaves the slot absent;
 * anything else must be hex of 1..cap bytes (exactly cap when exact). */
static int pre_field(struct quote_input *in, struct json_doc *d, int obj, const char *key,
		     unsigned slot, uint8_t *buf, size_t cap, bool exact, char *err, size_t errlen)
{
	int t = json_get(d, obj, key);
	const char *s;
	size_t n;
	long r;

	if (t < 0)
		return 0;
	s = json_text(d, t, &n);
	if (json_is(d, t, JSMN_PRIMITIVE) && n == 4 && memcmp(s, "null", 4) == 0)
		return 0;   /* null: the slot is absent */
	if (!json_is(d, t, JSMN_STRING))
		return errbuf_set(err, errlen, -EINVAL, "report_data_preimage.%s is not a hex string", key);
	r = hex_loose(buf, cap, s, n);
	if (r <= 0 || (exact && (size_t)r != cap))
		return errbuf_set(err, errlen, -EINVAL, "report_data_preimage.%s is not %s%zu bytes of hex",
				  key, exact ? "" : "1 to ", cap);
	in->preimage.f[slot - 1] = (struct rd_value){ true, buf, (size_t)r };
	return 0;
}

/* "report_data_preimage", "checkpoint" and "log_key" of a /v1/attestation
 * answer. */
static int read_preimage(struct quote_input *in, struct json_doc *d, char *err, size_t errlen)
{
	int p = json_get(d, 0, "report_data_preimage"), lk, ck, r;

	if (json_is(d, p, JSMN_OBJECT)) {
		memset(&in->preimage, 0, sizeof in->preimage);
		if ((r = pre_field(in, d, p, "nonce", RD_NONCE, in->pre_nonce, RD_NONCE_MAX, false,
				   err, errlen)) < 0 ||
		    (r = pre_field(in, d, p, "manifest_sha256", RD_MANIFEST_SHA256, in->pre_manifest,
				   32, true, err, errlen)) < 0 ||
		    (r = pre_field(in, d, p, "api_tls_spki_sha256", RD_API_TLS_SPKI_SHA256,
				   in->pre_tls, 32, true, err, errlen)) < 0 ||
		    (r = pre_field(in, d, p, "log_key_sha256", RD_LOG_KEY_SHA256, in->pre_logkey, 32,
				   true, err, errlen)) < 0 ||
		    (r = pre_field(in, d, p, "checkpoint", RD_CHECKPOINT, in->pre_checkpoint,
				   RD_CHECKPOINT_MAX, false, err, errlen)) < 0 ||
		    (r = pre_field(in, d, p, "kms_request_sha256", RD_KMS_REQUEST_SHA256,
				   in->pre_kms, 32, true, err, errlen)) < 0)
			return r;
		in->has_preimage = true;
	}
	ck = json_get(d, 0, "checkpoint");
	if (json_is(d, ck, JSMN_STRING)) {
		long n = json_str(d, ck, in->checkpoint, sizeof in->checkpoint);
		if (n < 0)
			return errbuf_set(err, errlen, -EINVAL, "\"checkpoint\" is not a string of at "
					  "most %d bytes", RD_CHECKPOINT_MAX);
		in->checkpoint_len = (size_t)n;
		in->has_checkpoint = true;
	}
	lk = json_get(d, 0, "log_key");
	if (json_is(d, lk, JSMN_STRING) && json_str(d, lk, in->log_key, sizeof in->log_key) < 0)
		return errbuf_set(err, errlen, -EINVAL, "\"log_key\" is not a string of at most %d bytes",
				  QI_LOG_KEY_MAX - 1);
	return 0;
}

static int read_json(struct quote_input *in, const char *data, size_t len,
		     char *err, size_t errlen)
{
	struct json_doc d;
	const char *s;
	size_t n;
	long r;
	int q, el, rd, be;

	if (json_parse(&d, data, len, in->toks, QI_JSON_TOKENS) || !json_is(&d, 0, JSMN_OBJECT))
		return errbuf_set(err, errlen, -EINVAL,
				  "input looks like JSON but is not a JSON object");
	q = json_get(&d, 0, "quote");
	if (!json_is(&d, q, JSMN_STRING))
		return errbuf_set(err, errlen, -EINVAL, "JSON input has no \"quote\" string");
	s = json_text(&d, q, &n);
	r = hex_loose(in->quote, sizeof(in->quote), s, n);
	if (r < 0)
		r = base64_decode(in->quote, sizeof(in->quote), s, n);
	if (r <= 0)
		return errbuf_set(err, errlen, -EINVAL,
				  "JSON \"quote\" is neither hex nor base64 (or exceeds %d bytes)",
				  QI_QUOTE_MAX);
	in->quote_len = (size_t)r;

	el = json_get(&d, 0, "event_log");
	if (json_is(&d, el, JSMN_STRING)) {
		r = json_str(&d, el, in->event_log, sizeof(in->event_log));
		if (r < 0)
			return errbuf_set(err, errlen, -EINVAL,
					  "JSON \"event_log\" string is invalid or too large");
		in->event_log_len = (size_t)r;
		in->has_event_log = r > 0;
	} else if (json_is(&d, el, JSMN_ARRAY)) {
		s = json_text(&d, el, &n);
		if (n + 1 > sizeof(in->event_log))
			return errbuf_set(err, errlen, -E2BIG, "JSON \"event_log\" exceeds %d bytes",
					  QI_EVENTLOG_MAX);
		memcpy(in->event_log, s, n);
		in->event_log[n] = '\0';
		in->event_log_len = n;
		in->has_event_log = true;
	}

	rd = json_get(&d, 0, "report_data");
	if (json_is(&d, rd, JSMN_STRING)) {
		s = json_text(&d, rd, &n);
		if (hex_loose(in->report_data, 64, s, n) != 64)
			return errbuf_set(err, errlen, -EINVAL,
					  "JSON \"report_data\" is not 64 bytes of hex");
		in->has_report_data = true;
	}
	if ((r = read_preimage(in, &d, err, errlen)) < 0)
		return (int)r;
	be = json_get(&d, 0, "backend");
	if (json_is(&d, be, JSMN_STRING) &&
	    json_str(&d, be, in->backend, sizeof(in->backend)) < 0)
		in->backend[0] = '\0';
	in->form = "json";
	return 0;
}

int quote_input_read(struct quote_input *in, const char *data, size_t len,
		     char *err, size_t errlen)
{
	size_t i = 0;
	long r;

	in->form = "binary";
	in->quote_len = 0;
	in->has_event_log = false;
	in->event_log_len = 0;
	in->event_log[0] = '\0';
	in->has_report_data = false;
	in->has_preimage = false;
	in->log_key[0] = '\0';
	in->has_checkpoint = false;
	in->checkpoint_len = 0;
	in->backend[0] = '\0';
	while (i < len && is_ws(data[i]))
		i++;
	if (i < len && data[i] == '{')
		return read_json(in, data, len, err, errlen);
	r = hex_loose(in->quote, sizeof(in->quote), data, len);
	if (r > 0) {
		in->form = "hex";
		in->quote_len = (size_t)r;
		return 0;
	}
	if (len > sizeof(in->quote))
		return errbuf_set(err, errlen, -E2BIG, "binary quote of %zu bytes exceeds %d bytes",
				  len, QI_QUOTE_MAX);
	memcpy(in->quote, data, len);
	in->quote_len = len;
	return 0;
}
