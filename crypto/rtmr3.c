/* crypto/rtmr3.c: see rtmr3.h. */
#include "crypto/rtmr3.h"

#include <bearssl.h>
#include <errno.h>
#include <string.h>

#include "lib/bytes.h"
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
	log->rec_bytes = 0;
	memset(log->rtmr3, 0, sizeof(log->rtmr3));
}

/* The length of one record (rtmr3_rec_encode). */
static size_t rec_len(size_t name_len, size_t payload_len)
{
	return 1 + name_len + 2 + payload_len;
}

bool rtmr3_log_room(const struct rtmr3_log *log, size_t name_len, size_t payload_len)
{
	return log->n < RTMR3_LOG_MAX &&
	       log->rec_bytes + rec_len(name_len, payload_len) <= RTMR3_LOG_BYTES_MAX;
}

int rtmr3_log_append(struct rtmr3_log *log, const char *name,
		     const void *payload, size_t len)
{
	size_t nlen = strnlen(name, RTMR3_NAME_MAX + 1);

	if (!rtmr3_name_valid(name, nlen))
		return -EINVAL;
	if (len > RTMR3_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (!rtmr3_log_room(log, nlen, len))
		return -ENOSPC;

	struct rtmr3_event *ev = &log->ev[log->n];
	memcpy(ev->name, name, nlen);
	ev->name[nlen] = '\0';
	if (len)
		memcpy(ev->payload, payload, len);
	ev->payload_len = (uint16_t)len;
	rtmr3_event_digest_n(name, nlen, payload, len, ev->digest);
	extend(log->rtmr3, ev->digest);
	log->rec_bytes += rec_len(nlen, len);
	return (int)log->n++;
}

void rtmr3_log_drop_last(struct rtmr3_log *log)
{
	if (log->n == 0)
		return;
	log->n--;
	log->rec_bytes -= rec_len(strlen(log->ev[log->n].name), log->ev[log->n].payload_len);
	memset(log->rtmr3, 0, sizeof(log->rtmr3));
	for (unsigned i = 0; i < log->n; i++)
		extend(log->rtmr3, log->ev[i].digest);
}

/* One event of the JSON form into an open array. */
static void jw_event(struct jsonw *w, const char *name, size_t name_len,
		     const uint8_t *payload, size_t payload_len,
		     const uint8_t digest[RTMR3_DIGEST_LEN])
{
	jw_object_begin(w);
	jw_key(w, "imr");
	jw_u64(w, 3);
	jw_key(w, "event_type");
	jw_u64(w, RTMR3_EVENT_TYPE);
	jw_key(w, "name");
	jw_string_n(w, name, name_len);
	jw_key(w, "payload");
	jw_hex(w, payload, payload_len);
	jw_key(w, "digest");
	jw_hex(w, digest, RTMR3_DIGEST_LEN);
	jw_object_end(w);
}

long rtmr3_log_json(const struct rtmr3_log *log, char *buf, size_t cap)
{
	struct jsonw w;

	jw_init(&w, buf, cap);
	jw_array_begin(&w);
	for (unsigned i = 0; i < log->n; i++) {
		const struct rtmr3_event *ev = &log->ev[i];
		jw_event(&w, ev->name, strlen(ev->name), ev->payload, ev->payload_len, ev->digest);
	}
	jw_array_end(&w);
	return jw_finish(&w);
}

/* --- binary records --------------------------------------------------------------- */

long rtmr3_rec_encode(const char *name, const void *payload, size_t len, uint8_t *buf,
		      size_t cap)
{
	size_t nl = strlen(name), need = 1 + nl + 2 + len;

	if (!rtmr3_name_valid(name, nl) || len > RTMR3_PAYLOAD_MAX)
		return -EINVAL;
	if (need > cap)
		return -ENOSPC;
	buf[0] = (uint8_t)nl;
	memcpy(buf + 1, name, nl);
	put_le16(buf + 1 + nl, (uint16_t)len);
	if (len)
		memcpy(buf + 3 + nl, payload, len);
	return (long)need;
}

long rtmr3_log_encode(const struct rtmr3_log *log, uint8_t *buf, size_t cap)
{
	size_t off = 0;

	for (unsigned i = 0; i < log->n; i++) {
		const struct rtmr3_event *ev = &log->ev[i];
		long n = rtmr3_rec_encode(ev->name, ev->payload, ev->payload_len, buf + off,
					  cap - off);
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	return (long)off;
}

int rtmr3_rec_next(const uint8_t *buf, size_t len, size_t *off, struct rtmr3_rec *rec)
{
	size_t o = *off, nl, pl;

	if (o == len)
		return 0;
	if (o > len || len - o < 1)
		return -EBADMSG;
	nl = buf[o];
	if (len - o < 1 + nl + 2 || !rtmr3_name_valid((const char *)buf + o + 1, nl))
		return -EBADMSG;
	pl = le16(buf + o + 1 + nl);
	if (pl > RTMR3_PAYLOAD_MAX || len - o - 1 - nl - 2 < pl)
		return -EBADMSG;
	rec->name = (const char *)buf + o + 1;
	rec->name_len = nl;
	rec->payload = buf + o + 3 + nl;
	rec->payload_len = pl;
	*off = o + 3 + nl + pl;
	return 1;
}

void rtmr3_rec_json(struct jsonw *w, const struct rtmr3_rec *rec)
{
	uint8_t digest[RTMR3_DIGEST_LEN];

	rtmr3_event_digest_n(rec->name, rec->name_len, rec->payload, rec->payload_len, digest);
	jw_event(w, rec->name, rec->name_len, rec->payload, rec->payload_len, digest);
}

size_t rtmr3_rec_json_len(const struct rtmr3_rec *rec)
{
	return RTMR3_JSON_EVENT_FIXED + rec->name_len + 2 * rec->payload_len;
}

int rtmr3_records_json(struct jsonw *w, const uint8_t *buf, size_t len)
{
	struct rtmr3_rec rec;
	size_t off = 0;
	int r;

	jw_array_begin(w);
	while ((r = rtmr3_rec_next(buf, len, &off, &rec)) > 0)
		rtmr3_rec_json(w, &rec);
	jw_array_end(w);
	return r;
}

int rtmr3_log_decode(struct rtmr3_log *log, const uint8_t *buf, size_t len)
{
	struct rtmr3_rec rec;
	char name[RTMR3_NAME_MAX + 1];
	size_t off = 0;
	int r;

	rtmr3_log_init(log);
	while ((r = rtmr3_rec_next(buf, len, &off, &rec)) > 0) {
		memcpy(name, rec.name, rec.name_len);
		name[rec.name_len] = '\0';
		r = rtmr3_log_append(log, name, rec.payload, rec.payload_len);
		if (r < 0)
			return r;
	}
	return r;
}
