/* crypto/eventlog.c: see eventlog.h. */
#include "crypto/eventlog.h"

#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/rtmr3.h"
#include "lib/bytes.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "lib/json_tok.h"

/* Every parse error of this file: the message and -EBADMSG. */
#define fail(err, ...) errbuf_set(err, ERRBUF_LEN, -EBADMSG, __VA_ARGS__)

const char *el_event_type_name(uint32_t type)
{
	switch (type) {
	case EV_POST_CODE: return "EV_POST_CODE";
	case EV_NO_ACTION: return "EV_NO_ACTION";
	case EV_SEPARATOR: return "EV_SEPARATOR";
	case EV_ACTION: return "EV_ACTION";
	case EV_EVENT_TAG: return "EV_EVENT_TAG";
	case EV_PLATFORM_CONFIG_FLAGS: return "EV_PLATFORM_CONFIG_FLAGS";
	case EV_EFI_VARIABLE_DRIVER_CONFIG: return "EV_EFI_VARIABLE_DRIVER_CONFIG";
	case EV_EFI_VARIABLE_BOOT: return "EV_EFI_VARIABLE_BOOT";
	case EV_EFI_BOOT_SERVICES_APPLICATION: return "EV_EFI_BOOT_SERVICES_APPLICATION";
	case EV_EFI_ACTION: return "EV_EFI_ACTION";
	case EV_EFI_PLATFORM_FIRMWARE_BLOB2: return "EV_EFI_PLATFORM_FIRMWARE_BLOB2";
	case EV_EFI_HANDOFF_TABLES2: return "EV_EFI_HANDOFF_TABLES2";
	case EV_EFI_VARIABLE_BOOT2: return "EV_EFI_VARIABLE_BOOT2";
	case EV_DSTACK_RUNTIME: return "DSTACK_RUNTIME_EVENT";
	default: return NULL;
	}
}

void el_extend(uint8_t rtmr[EL_SHA384_LEN], const uint8_t digest[EL_SHA384_LEN])
{
	br_sha384_context h;

	br_sha384_init(&h);
	br_sha384_update(&h, rtmr, EL_SHA384_LEN);
	br_sha384_update(&h, digest, EL_SHA384_LEN);
	br_sha384_out(&h, rtmr);
}

/* ---- CCEL ---- */

/* Size of the SHA-1 format header record before its event data. */
#define CCEL_HDR_FIXED (4 + 4 + 20 + 4)
static const char spec_id_sig[16] = "Spec ID Event03";

static int known_alg_size(uint16_t alg)
{
	switch (alg) {
	case TPM_ALG_SHA1: return 20;
	case TPM_ALG_SHA256: return 32;
	case TPM_ALG_SHA384: return 48;
	case TPM_ALG_SHA512: return 64;
	default: return -1;
	}
}

/* The TCG_EfiSpecIDEvent structure inside the header record. */
static int parse_spec_id(struct ccel_reader *r, const uint8_t *d, size_t n,
			 size_t base)
{
	if (n < 16 + 4 + 4 + 4)
		return fail(r->err, "CCEL offset %zu: Spec ID event data is %zu bytes, too short", base, n);
	if (memcmp(d, spec_id_sig, sizeof(spec_id_sig)) != 0)
		return fail(r->err, "CCEL offset %zu: header event is not \"Spec ID Event03\" (not a crypto-agile log)", base);
	uint8_t uintn = d[23];
	if (uintn != 1 && uintn != 2)
		return fail(r->err, "CCEL offset %zu: Spec ID uintnSize %u is neither 1 nor 2", base + 23, uintn);
	uint32_t nalg = le32(d + 24);
	if (nalg == 0 || nalg > CCEL_MAX_ALGS)
		return fail(r->err, "CCEL offset %zu: Spec ID lists %u algorithms (1..%d supported)",
			    base + 24, nalg, CCEL_MAX_ALGS);
	size_t p = 28;
	if (n - p < (size_t)nalg * 4 + 1)
		return fail(r->err, "CCEL offset %zu: Spec ID algorithm list truncated", base + p);
	bool have384 = false;
	for (uint32_t i = 0; i < nalg; i++, p += 4) {
		uint16_t id = le16(d + p), sz = le16(d + p + 2);
		int want = known_alg_size(id);
		if (sz == 0 || sz > 64 || (want >= 0 && sz != want))
			return fail(r->err, "CCEL offset %zu: algorithm 0x%04x has digest size %u",
				    base + p, id, sz);
		for (uint32_t j = 0; j < i; j++)
			if (r->alg_id[j] == id)
				return fail(r->err, "CCEL offset %zu: algorithm 0x%04x listed twice", base + p, id);
		r->alg_id[i] = id;
		r->alg_size[i] = sz;
		have384 |= id == TPM_ALG_SHA384;
	}
	r->n_algs = nalg;
	uint8_t vendor = d[p];
	if (n - p - 1 < vendor)
		return fail(r->err, "CCEL offset %zu: Spec ID vendor info (%u bytes) truncated", base + p, vendor);
	if (!have384)
		return fail(r->err, "CCEL: the log has no SHA-384 digests, which TDX RTMRs need");
	return 0;
}

int ccel_open(struct ccel_reader *r, const void *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	if (len < CCEL_HDR_FIXED)
		return fail(r->err, "CCEL: %zu bytes, too short for the header event", len);
	const uint8_t *b = r->buf;
	/* TCG puts the header in PCR 0; TDVF writes CC MR index 1. Only its
	 * type and content matter. */
	if (le32(b + 4) != EV_NO_ACTION)
		return fail(r->err, "CCEL offset 4: first event has type 0x%x, want the EV_NO_ACTION Spec ID header",
			    le32(b + 4));
	uint32_t dlen = le32(b + 28);
	if (dlen > len - CCEL_HDR_FIXED)
		return fail(r->err, "CCEL offset 28: header event data of %u bytes runs past the end (%zu)", dlen, len);
	int rc = parse_spec_id(r, b + CCEL_HDR_FIXED, dlen, CCEL_HDR_FIXED);
	if (rc < 0)
		return rc;
	return 0;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static int alg_index(const struct ccel_reader *r, uint16_t id)
{
	for (unsigned i = 0; i < r->n_algs; i++)
		if (r->alg_id[i] == id)
			return (int)i;
	return -1;
}

static int next_record(struct ccel_reader *r, struct el_event *ev)
{
	const uint8_t *b = r->buf;
	size_t off = r->off, rem = r->len - off;

	if (rem == 0)
		return 0;
	size_t probe = rem < 8 ? rem : 8;
	if (all_bytes(b + off, probe, 0xff) || all_bytes(b + off, probe, 0x00))
		return 0;
	if (rem < 12)
		return fail(r->err, "CCEL offset %zu: record header truncated (%zu bytes left)", off, rem);

	memset(ev, 0, sizeof(*ev));
	ev->offset = off;
	ev->mr_index = le32(b + off);
	ev->type = le32(b + off + 4);
	ev->rtmr = ev->mr_index >= 1 && ev->mr_index <= 4 ? (int)ev->mr_index - 1 : -1;
	uint32_t count = le32(b + off + 8);
	if (count == 0 || count > r->n_algs)
		return fail(r->err, "CCEL offset %zu: record has %u digests (the header lists %u algorithms)",
			    off + 8, count, r->n_algs);
	size_t p = off + 12;
	for (uint32_t i = 0; i < count; i++) {
		if (r->len - p < 2)
			return fail(r->err, "CCEL offset %zu: digest %u truncated", p, i);
		uint16_t id = le16(b + p);
		int ai = alg_index(r, id);
		if (ai < 0)
			return fail(r->err, "CCEL offset %zu: digest algorithm 0x%04x not listed in the header", p, id);
		size_t sz = r->alg_size[ai];
		p += 2;
		if (r->len - p < sz)
			return fail(r->err, "CCEL offset %zu: digest 0x%04x (%zu bytes) truncated", p, id, sz);
		if (id == TPM_ALG_SHA384) {
			if (ev->has_sha384)
				return fail(r->err, "CCEL offset %zu: two SHA-384 digests in one record", p);
			memcpy(ev->sha384, b + p, EL_SHA384_LEN);
			ev->has_sha384 = true;
		}
		p += sz;
	}
	if (r->len - p < 4)
		return fail(r->err, "CCEL offset %zu: event size truncated", p);
	uint32_t dlen = le32(b + p);
	p += 4;
	if (r->len - p < dlen)
		return fail(r->err, "CCEL offset %zu: event data of %u bytes runs past the end of the log (%zu)",
			    p - 4, dlen, r->len);
	ev->data = b + p;
	ev->data_len = dlen;
	r->off = p + dlen;
	return 1;
}

int ccel_next(struct ccel_reader *r, struct el_event *ev)
{
	if (r->done)
		return 0;
	if (r->count == 0) {
		const uint8_t *b = r->buf;
		memset(ev, 0, sizeof(*ev));
		ev->mr_index = le32(b);
		ev->type = EV_NO_ACTION;
		ev->rtmr = -1;
		ev->data = b + CCEL_HDR_FIXED;
		ev->data_len = le32(b + 28);
		r->off = CCEL_HDR_FIXED + ev->data_len;
		r->count = 1;
		return 1;
	}
	int rc = next_record(r, ev);
	if (rc <= 0) {
		r->done = true;
		return rc;
	}
	r->count++;
	return 1;
}

static int replay_one(struct el_replay *rp, const struct el_event *ev,
		      const char *where, unsigned long at)
{
	if (ev->type == EV_NO_ACTION)
		return 0;
	if (ev->rtmr < 0)
		return fail(rp->err, "%s %lu: event type 0x%x extends index %u, which names no RTMR",
			    where, at, ev->type, ev->mr_index);
	if (!ev->has_sha384)
		return fail(rp->err, "%s %lu: event has no SHA-384 digest", where, at);
	el_extend(rp->rtmr[ev->rtmr], ev->sha384);
	rp->n_measured[ev->rtmr]++;
	return 0;
}

int ccel_replay(const void *buf, size_t len, struct el_replay *rp)
{
	struct ccel_reader r;
	struct el_event ev;
	int rc;

	memset(rp, 0, sizeof(*rp));
	rc = ccel_open(&r, buf, len);
	if (rc < 0) {
		memcpy(rp->err, r.err, sizeof(rp->err));
		return rc;
	}
	while ((rc = ccel_next(&r, &ev)) > 0) {
		rp->n_events++;
		/* The TCG log maps CC MR index 1..4 to RTMR0..3; replay_one
		 * refuses MRTD (0) and anything else. */
		rc = replay_one(rp, &ev, "CCEL offset", (unsigned long)ev.offset);
		if (rc < 0)
			return rc;
	}
	if (rc < 0) {
		memcpy(rp->err, r.err, sizeof(rp->err));
		return rc;
	}
	return 0;
}

/* ---- JSON ---- */

#define EL_JSON_TOKENS 64
#define EL_JSON_PAYLOAD_MAX 8192
#define EL_JSON_NAME_MAX 255

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* End (one past the closing brace) of the object starting at s[i] == '{',
 * or 0 when it does not close within n. Strings are skipped so that braces
 * inside them do not count. */
static size_t object_end(const char *s, size_t i, size_t n)
{
	unsigned depth = 0;
	bool in_str = false;

	for (; i < n; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0;
			if (--depth == 0)
				return i + 1;
		}
	}
	return 0;
}

/* A 32-bit unsigned integer member value. */
static int get_u32(const struct json_doc *d, int i, uint32_t *out)
{
	uint64_t v;

	if (json_uint(d, i, UINT32_MAX, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

struct json_event {
	bool have_imr, have_type;
	uint32_t imr, type;
	const char *digest; int digest_len;
	const char *name; int name_len;
	const char *payload; int payload_len;
};

/* A string member's raw text into *p, *len. twice names the spellings of
 * a member that may be given only once (NULL: the last one counts). */
static int take_string(const struct json_doc *d, int val, const char *what,
		       const char *twice, const char **p, int *len,
		       char err[ERRBUF_LEN], unsigned idx)
{
	size_t n;

	if (!json_is(d, val, JSMN_STRING))
		return fail(err, "event %u: %s is not a string", idx, what);
	if (twice && *p)
		return fail(err, "event %u: both %s given", idx, twice);
	*p = json_text(d, val, &n);
	*len = (int)n;
	return 0;
}

static int collect_fields(const struct json_doc *d, struct json_event *je,
			  char err[ERRBUF_LEN], unsigned idx)
{
	if (!json_is(d, 0, JSMN_OBJECT))
		return fail(err, "event %u: not a JSON object", idx);
	int i = 1, rc = 0;
	for (int k = 0; k < d->t[0].size; k++) {
		if (i + 1 >= d->n || !json_is(d, i, JSMN_STRING))
			return fail(err, "event %u: malformed object", idx);
		int key = i, val = i + 1;
		if (json_str_eq(d, key, "imr")) {
			if (get_u32(d, val, &je->imr) < 0)
				return fail(err, "event %u: \"imr\" is not an unsigned integer", idx);
			je->have_imr = true;
		} else if (json_str_eq(d, key, "event_type")) {
			if (get_u32(d, val, &je->type) < 0)
				return fail(err, "event %u: \"event_type\" is not a 32-bit unsigned integer", idx);
			je->have_type = true;
		} else if (json_str_eq(d, key, "digest")) {
			rc = take_string(d, val, "\"digest\"", NULL, &je->digest,
					 &je->digest_len, err, idx);
		} else if (json_str_eq(d, key, "event") || json_str_eq(d, key, "name")) {
			rc = take_string(d, val, "event name", "\"event\" and \"name\"",
					 &je->name, &je->name_len, err, idx);
		} else if (json_str_eq(d, key, "event_payload") || json_str_eq(d, key, "payload")) {
			rc = take_string(d, val, "payload", "\"event_payload\" and \"payload\"",
					 &je->payload, &je->payload_len, err, idx);
		}
		if (rc < 0)
			return rc;
		i = json_skip(d, val);
	}
	return 0;
}

/* Checks one event and fills ev (payload decoded into pbuf) and name. */
static int check_event(const struct json_event *je, struct el_event *ev,
		       uint8_t *pbuf, char *name, char err[ERRBUF_LEN], unsigned idx)
{
	memset(ev, 0, sizeof(*ev));
	if (!je->have_imr)
		return fail(err, "event %u: no \"imr\"", idx);
	if (je->imr >= EL_NUM_RTMR)
		return fail(err, "event %u: imr %u is not an RTMR (0..3)", idx, je->imr);
	ev->mr_index = je->imr;
	ev->rtmr = (int)je->imr;
	if (je->have_type)
		ev->type = je->type;
	else if (je->imr == 3)
		ev->type = EV_DSTACK_RUNTIME;
	else
		return fail(err, "event %u: no \"event_type\"", idx);

	int nlen = je->name ? je->name_len : 0;
	if (nlen > EL_JSON_NAME_MAX)
		return fail(err, "event %u: name of %d bytes is too long", idx, nlen);
	if (nlen && memchr(je->name, '\\', (size_t)nlen))
		return fail(err, "event %u: escaped characters in the event name are not supported", idx);
	if (nlen)
		memcpy(name, je->name, (size_t)nlen);
	name[nlen] = '\0';

	if (je->payload) {
		if (je->payload_len / 2 > EL_JSON_PAYLOAD_MAX)
			return fail(err, "event %u: payload of %d bytes exceeds the %d-byte limit",
				    idx, je->payload_len / 2, EL_JSON_PAYLOAD_MAX);
		ssize_t pl = hex_decode(pbuf, EL_JSON_PAYLOAD_MAX, je->payload, (size_t)je->payload_len);
		if (pl < 0)
			return fail(err, "event %u: payload is not hex", idx);
		ev->data = pbuf;
		ev->data_len = (size_t)pl;
	}

	bool listed = je->digest && je->digest_len > 0;
	if (listed) {
		if (je->digest_len != 2 * EL_SHA384_LEN ||
		    hex_decode(ev->sha384, EL_SHA384_LEN, je->digest, (size_t)je->digest_len) != EL_SHA384_LEN)
			return fail(err, "event %u: digest is not 48 bytes of hex", idx);
		ev->has_sha384 = true;
	}
	if (ev->type == EV_DSTACK_RUNTIME) {
		uint8_t d[EL_SHA384_LEN];
		rtmr3_event_digest_n(name, (size_t)nlen, ev->data, ev->data_len, d);
		if (listed && memcmp(d, ev->sha384, EL_SHA384_LEN) != 0)
			return fail(err, "event %u (\"%s\"): listed digest does not match SHA-384(type:name:payload)",
				    idx, name);
		memcpy(ev->sha384, d, EL_SHA384_LEN);
		ev->has_sha384 = true;
	} else if (!listed && ev->type != EV_NO_ACTION) {
		return fail(err, "event %u: no digest", idx);
	}
	return 0;
}

int el_json_each(const char *json, size_t len, el_json_fn fn, void *ctx,
		 char err[ERRBUF_LEN])
{
	jsmntok_t tok[EL_JSON_TOKENS];
	uint8_t pbuf[EL_JSON_PAYLOAD_MAX];
	char name[EL_JSON_NAME_MAX + 1];
	size_t i = skip_ws(json, 0, len);
	unsigned idx = 0;

	err[0] = '\0';
	if (i >= len || json[i] != '[')
		return fail(err, "JSON event log: not a JSON array");
	i = skip_ws(json, i + 1, len);
	if (i < len && json[i] == ']') {
		i++;
		goto tail;
	}
	for (;;) {
		if (i >= len || json[i] != '{')
			return fail(err, "event %u: expected a JSON object at byte %zu", idx, i);
		size_t end = object_end(json, i, len);
		if (end == 0)
			return fail(err, "event %u: object starting at byte %zu does not close", idx, i);
		struct json_doc d;
		int rc = json_parse(&d, json + i, end - i, tok, EL_JSON_TOKENS);
		if (rc == -E2BIG)
			return fail(err, "event %u: object has too many fields", idx);
		if (rc < 0)
			return fail(err, "event %u: invalid JSON at byte %zu", idx, i);
		struct json_event je = { 0 };
		rc = collect_fields(&d, &je, err, idx);
		if (rc < 0)
			return rc;
		struct el_event ev;
		rc = check_event(&je, &ev, pbuf, name, err, idx);
		if (rc < 0)
			return rc;
		rc = fn(ctx, &ev, name);
		if (rc < 0)
			return rc;
		idx++;
		i = skip_ws(json, end, len);
		if (i < len && json[i] == ',') {
			i = skip_ws(json, i + 1, len);
			continue;
		}
		if (i < len && json[i] == ']') {
			i++;
			break;
		}
		return fail(err, "JSON event log: expected ',' or ']' at byte %zu", i);
	}
tail:
	i = skip_ws(json, i, len);
	if (i != len)
		return fail(err, "JSON event log: trailing data at byte %zu", i);
	return 0;
}

struct json_replay_ctx {
	struct el_replay *rp;
};

static int json_replay_fn(void *ctx, const struct el_event *ev, const char *name)
{
	struct json_replay_ctx *c = ctx;
	(void)name;
	c->rp->n_events++;
	return replay_one(c->rp, ev, "event", c->rp->n_events - 1);
}

int el_json_replay(const char *json, size_t len, struct el_replay *rp)
{
	struct json_replay_ctx c = { rp };
	char err[ERRBUF_LEN];

	memset(rp, 0, sizeof(*rp));
	int rc = el_json_each(json, len, json_replay_fn, &c, err);
	if (rc < 0 && err[0])
		memcpy(rp->err, err, sizeof(rp->err));
	return rc;
}

