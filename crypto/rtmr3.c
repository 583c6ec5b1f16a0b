/* crypto/rtmr3.c: see rtmr3.h. */
#include "crypto/rtmr3.h"

#include <bearssl.h>
#include <errno.h>
#include <string.h>

#include "lib/jsonw.h"

bool rtmr3_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > RTMR3_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x21 || c > 0x7e || c == ':' || c == '"' || c == '\\')
			return false;
	}
	return true;
}

void rtmr3_event_digest_n(const char *name, size_t name_len,
			  const void *payload, size_t len,
			  uint8_t out[RTMR3_DIGEST_LEN])
{
	/* le32 of the event type, as dstack writes it. */
	static const uint8_t type_le[4] = { 0x01, 0x00, 0x00, 0x08 };
	br_sha384_context h;

	br_sha384_init(&h);
	br_sha384_update(&h, type_le, sizeof(type_le));
	br_sha384_update(&h, ":", 1);
	br_sha384_update(&h, name, name_len);
	br_sha384_update(&h, ":", 1);
	br_sha384_update(&h, payload, len);
	br_sha384_out(&h, out);
}

void rtmr3_event_digest(const char *name, const void *payload, size_t len,
			uint8_t out[RTMR3_DIGEST_LEN])
{
	rtmr3_event_digest_n(name, strlen(name), payload, len, out);
}

static void extend(uint8_t mr[RTMR3_DIGEST_LEN], const uint8_t d[RTMR3_DIGEST_LEN])
{
	br_sha384_context h;

	br_sha384_init(&h);
	br_sha384_update(&h, mr, RTMR3_DIGEST_LEN);
	br_sha384_update(&h, d, RTMR3_DIGEST_LEN);
	br_sha384_out(&h, mr);
}

void rtmr3_log_init(struct rtmr3_log *log)
{
	log->n = 0;
	memset(log->rtmr3, 0, sizeof(log->rtmr3));
}

int rtmr3_log_append(struct rtmr3_log *log, const char *name,
		     const void *payload, size_t len)
{
	size_t nlen = strnlen(name, RTMR3_NAME_MAX + 1);

	if (!rtmr3_name_valid(name, nlen))
		return -EINVAL;
	if (len > RTMR3_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (log->n >= RTMR3_LOG_MAX)
		return -ENOSPC;

	struct rtmr3_event *ev = &log->ev[log->n];
	memcpy(ev->name, name, nlen);
	ev->name[nlen] = '\0';
	if (len)
		memcpy(ev->payload, payload, len);
	ev->payload_len = (uint16_t)len;
	rtmr3_event_digest_n(name, nlen, payload, len, ev->digest);
	extend(log->rtmr3, ev->digest);
	return (int)log->n++;
}

void rtmr3_log_drop_last(struct rtmr3_log *log)
{
	if (log->n == 0)
		return;
	log->n--;
	memset(log->rtmr3, 0, sizeof(log->rtmr3));
	for (unsigned i = 0; i < log->n; i++)
		extend(log->rtmr3, log->ev[i].digest);
}

long rtmr3_log_json(const struct rtmr3_log *log, char *buf, size_t cap)
{
	struct jsonw w;

	jw_init(&w, buf, cap);
	jw_array_begin(&w);
	for (unsigned i = 0; i < log->n; i++) {
		const struct rtmr3_event *ev = &log->ev[i];
		jw_object_begin(&w);
		jw_key(&w, "imr");
		jw_u64(&w, 3);
		jw_key(&w, "event_type");
		jw_u64(&w, RTMR3_EVENT_TYPE);
		jw_key(&w, "name");
		jw_string(&w, ev->name);
		jw_key(&w, "payload");
		jw_hex(&w, ev->payload, ev->payload_len);
		jw_key(&w, "digest");
		jw_hex(&w, ev->digest, RTMR3_DIGEST_LEN);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	return jw_finish(&w);
}
