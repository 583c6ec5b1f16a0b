/* cli/kms_proto.c: see kms_proto.h. */
#include "cli/kms_proto.h"
#include "proto/init_netd.h"

/* the guest carries a freshness record of this size (proto/init_netd.h) */
_Static_assert(NETD_KMS_FRESH_MAX == KMS_RECORD_MAX, "one freshness bound");

#include <bearssl.h>
#include <errno.h>
#include <string.h>

#include "crypto/eventlog.h"
#include "crypto/receipt.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "lib/jsonw.h"

/* The charset of function and invocation ids (crypto/receipt.h), and
 * never '.' first: an id names a file in the state directory. */
/* A top-level JSON object with "version": 1. */
static int open_doc(struct json_doc *d, const char *js, size_t len, jsmntok_t *toks,
		    unsigned ntoks, const char *what, char *err, size_t errlen)
{
	uint64_t v;

	if (json_parse(d, js, len, toks, ntoks) || json_validate(d, 16) ||
	    !json_is(d, 0, JSMN_OBJECT))
		return errbuf_set(err, errlen, -EINVAL, "%s is not a JSON object", what);
	if (json_uint(d, json_get(d, 0, "version"), 1000, &v) || v != KMS_VERSION)
		return errbuf_set(err, errlen, -EINVAL, "%s: \"version\" is not %d", what, KMS_VERSION);
	return 0;
}

/* Exactly n bytes of hex from the string member key. */
static int hex_member(const struct json_doc *d, const char *key, uint8_t *out, size_t n,
		      char *err, size_t errlen)
{
	int t = json_get(d, 0, key);
	const char *s;
	size_t sl;

	if (!json_is(d, t, JSMN_STRING))
		return errbuf_set(err, errlen, -EINVAL, "\"%s\" is missing or not a string", key);
	s = json_text(d, t, &sl);
	if (sl != 2 * n || hex_decode(out, n, s, sl) != (ssize_t)n)
		return errbuf_set(err, errlen, -EINVAL, "\"%s\" is not %zu bytes of hex", key, n);
	return 0;
}

static int id_member(const struct json_doc *d, int obj, const char *key, char out[KMS_ID_MAX + 1],
		     char *err, size_t errlen)
{
	int t = json_get(d, obj, key);
	long n = json_is(d, t, JSMN_STRING) ? json_str(d, t, out, KMS_ID_MAX + 1) : -1;

	if (n < 0 || !kms_id_valid(out, (size_t)n))
		return errbuf_set(err, errlen, -EINVAL,
				  "\"%s\" is not 1 to %d characters of [A-Za-z0-9._-] (not '.' first)",
				  key, KMS_ID_MAX);
	return 0;
}

/* A 48-byte hex member; 1 when absent or null and optional. */
static int reg_member(const struct json_doc *d, const char *key, uint8_t out[48], bool optional,
		      char *err, size_t errlen)
{
	int t = json_get(d, 0, key);
	const char *s;
	size_t n;

	if (optional && (t < 0 || (json_is(d, t, JSMN_PRIMITIVE) && json_text_eq(d, t, "null"))))
		return 1;
	if (!json_is(d, t, JSMN_STRING))
		return errbuf_set(err, errlen, -EINVAL, "measurements: \"%s\" is not a hex string", key);
	s = json_text(d, t, &n);
	if (n != 96 || hex_decode(out, 48, s, n) != 48)
		return errbuf_set(err, errlen, -EINVAL, "measurements: \"%s\" is not 48 bytes of hex", key);
	return 0;
}

int kms_allow_parse(struct kms_allow *a, const char *js, size_t len,
		    jsmntok_t *toks, unsigned ntoks, char *err, size_t errlen)
{
	struct json_doc d;
	int rc;

	memset(a, 0, sizeof *a);
	if (json_parse(&d, js, len, toks, ntoks) || json_validate(&d, 16) ||
	    !json_is(&d, 0, JSMN_OBJECT))
		return errbuf_set(err, errlen, -EINVAL, "measurements: not a JSON object");
	if ((rc = reg_member(&d, "mrtd", a->mrtd, false, err, errlen)) < 0 ||
	    (rc = reg_member(&d, "rtmr1", a->rtmr1, false, err, errlen)) < 0 ||
	    (rc = reg_member(&d, "rtmr2", a->rtmr2, false, err, errlen)) < 0 ||
	    (rc = reg_member(&d, "rtmr0", a->rtmr0, true, err, errlen)) < 0)
		return rc;
	a->has_rtmr0 = rc == 0;
	return 0;
}

bool kms_allow_match(const struct kms_allow *a, const uint8_t *mrtd, const uint8_t *const rtmr[4])
{
	return memcmp(a->mrtd, mrtd, 48) == 0 && memcmp(a->rtmr1, rtmr[1], 48) == 0 &&
	       memcmp(a->rtmr2, rtmr[2], 48) == 0 &&
	       (!a->has_rtmr0 || memcmp(a->rtmr0, rtmr[0], 48) == 0);
}

int kms_key_req_parse(struct kms_key_req *r, const char *body, size_t len,
		      jsmntok_t *toks, unsigned ntoks, char *err, size_t errlen)
{
	struct json_doc d;
	int rc, c;

	memset(r, 0, sizeof *r);
	if ((rc = open_doc(&d, body, len, toks, ntoks, "the key request", err, errlen)) < 0 ||
	    (rc = hex_member(&d, "ephemeral_key", r->eph_pub, KW_PUB_LEN, err, errlen)) < 0 ||
	    (rc = hex_member(&d, "nonce", r->nonce, KW_NONCE_LEN, err, errlen)) < 0 ||
	    (rc = id_member(&d, 0, "app_id", r->app_id, err, errlen)) < 0 ||
	    (rc = id_member(&d, 0, "instance_id", r->instance_id, err, errlen)) < 0)
		return rc;
	if (!key_wrap_point_ok(r->eph_pub))
		return errbuf_set(err, errlen, -EINVAL,
				  "\"ephemeral_key\" is not an uncompressed point of P-256 (04 || X || Y)");
	c = json_get(&d, 0, "collateral");
	if (c >= 0 && !(json_is(&d, c, JSMN_PRIMITIVE) && json_text_eq(&d, c, "null"))) {
		if (!json_is(&d, c, JSMN_OBJECT))
			return errbuf_set(err, errlen, -EINVAL, "\"collateral\" is not an object or null");
		r->collateral = json_text(&d, c, &r->collateral_len);
	}
	return 0;
}

struct binds {
	bool have_inst, have_app;
	char inst[2 * KMS_ID_MAX + 1];
	char app[KMS_ID_MAX + 1];
	size_t app_len;
	bool inst_fits, app_fits;
};

static int on_event(void *ctx, const struct el_event *ev, const char *name)
{
	struct binds *b = ctx;

	if (ev->rtmr != 3)
		return 0;
	if (!b->have_inst && strcmp(name, "instance-id") == 0) {
		b->have_inst = true;
		b->inst_fits = ev->data_len * 2 <= 2 * KMS_ID_MAX;
		if (b->inst_fits)
			hex_encode(b->inst, ev->data, ev->data_len);
	} else if (!b->have_app && strcmp(name, "app-id") == 0) {
		b->have_app = true;
		b->app_fits = ev->data_len <= KMS_ID_MAX;
		if (b->app_fits) {
			memcpy(b->app, ev->data, ev->data_len);
			b->app_len = ev->data_len;
		}
	}
	return 0;
}

int kms_log_binds(const char *json, size_t len, const struct kms_key_req *r,
		  const char **code, char *err, size_t errlen)
{
	static char elerr[ERRBUF_LEN];
	struct binds b = { 0 };

	if (el_json_each(json, len, on_event, &b, elerr) < 0) {
		*code = "event_log";
		return errbuf_set(err, errlen, -EINVAL, "event log: %s", elerr);
	}
	*code = "instance_id";
	if (!b.have_inst)
		return errbuf_set(err, errlen, -EACCES, "the event log has no RTMR3 \"instance-id\" event");
	if (!b.inst_fits || strcmp(b.inst, r->instance_id) != 0)
		return errbuf_set(err, errlen, -EACCES,
				  "instance_id \"%s\" is not the measured \"instance-id\" event's payload",
				  r->instance_id);
	*code = "app_id";
	if (!b.have_app)
		return errbuf_set(err, errlen, -EACCES, "the event log has no RTMR3 \"app-id\" event");
	if (!b.app_fits || b.app_len != strlen(r->app_id) || memcmp(b.app, r->app_id, b.app_len) != 0)
		return errbuf_set(err, errlen, -EACCES,
				  "app_id \"%s\" is not the measured \"app-id\" event's payload", r->app_id);
	*code = NULL;
	return 0;
}

long kms_fresh_req_parse(char rec[KMS_RECORD_MAX + 1], const char *body, size_t len,
			 jsmntok_t *toks, unsigned ntoks, char *err, size_t errlen)
{
	struct json_doc d;
	int rc = open_doc(&d, body, len, toks, ntoks, "the freshness request", err, errlen);
	int t;
	long n;

	if (rc < 0)
		return rc;
	t = json_get(&d, 0, "record");
	n = json_is(&d, t, JSMN_STRING) ? json_str(&d, t, rec, KMS_RECORD_MAX + 1) : -1;
	if (n <= 0)
		return errbuf_set(err, errlen, -EINVAL,
				  "\"record\" is not a signed note of 1 to %d bytes", KMS_RECORD_MAX);
	return n;
}

/* A decimal below 2^63 without leading zeros: s[0..n). */
void kms_disk_key(uint8_t key[KW_KEY_LEN], const uint8_t root[KMS_ROOT_KEY_LEN],
		  const char *app_id, const char *instance_id)
{
	br_hkdf_context h;
	uint8_t info[2 + 2 * KMS_ID_MAX];
	size_t al = strlen(app_id), il = strlen(instance_id), n = 0;

	/* ids are checked to be at most KMS_ID_MAX long before they get here */
	info[n++] = (uint8_t)al;
	memcpy(info + n, app_id, al);
	n += al;
	info[n++] = (uint8_t)il;
	memcpy(info + n, instance_id, il);
	n += il;
	br_hkdf_init(&h, &br_sha256_vtable, KMS_DISK_SALT, sizeof KMS_DISK_SALT - 1);
	br_hkdf_inject(&h, root, KMS_ROOT_KEY_LEN);
	br_hkdf_flip(&h);
	br_hkdf_produce(&h, info, n, key, KW_KEY_LEN);
	memset(&h, 0, sizeof h);
}

long kms_instance_format(char *out, size_t cap, const struct kms_instance *in)
{
	struct jsonw w;

	jw_init(&w, out, cap);
	jw_object_begin(&w);
	jw_key(&w, "version"); jw_u64(&w, KMS_VERSION);
	jw_key(&w, "app_id"); jw_string(&w, in->app_id);
	jw_key(&w, "instance_id"); jw_string(&w, in->instance_id);
	jw_key(&w, "log_key");
	if (in->log_key[0])
		jw_string(&w, in->log_key);
	else
		jw_null(&w);
	jw_key(&w, "freshness");
	if (in->record_len)
		jw_string_n(&w, in->record, in->record_len);
	else
		jw_null(&w);
	jw_key(&w, "releases"); jw_u64(&w, in->releases);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* A string member or null into out (cap with its NUL); its length, 0 for
 * null, -1 otherwise. */
static long str_or_null(const struct json_doc *d, const char *key, char *out, size_t cap)
{
	int t = json_get(d, 0, key);

	out[0] = '\0';
	if (json_is(d, t, JSMN_PRIMITIVE) && json_text_eq(d, t, "null"))
		return 0;
	if (!json_is(d, t, JSMN_STRING))
		return -1;
	return json_str(d, t, out, cap);
}

int kms_instance_parse(struct kms_instance *in, const char *js, size_t len,
		       jsmntok_t *toks, unsigned ntoks, char *err, size_t errlen)
{
	struct json_doc d;
	int rc;
	long n;

	memset(in, 0, sizeof *in);
	if ((rc = open_doc(&d, js, len, toks, ntoks, "instance record", err, errlen)) < 0 ||
	    (rc = id_member(&d, 0, "app_id", in->app_id, err, errlen)) < 0 ||
	    (rc = id_member(&d, 0, "instance_id", in->instance_id, err, errlen)) < 0)
		return rc;
	if (str_or_null(&d, "log_key", in->log_key, sizeof in->log_key) < 0)
		return errbuf_set(err, errlen, -EINVAL, "instance record: bad \"log_key\"");
	n = str_or_null(&d, "freshness", in->record, sizeof in->record);
	if (n < 0)
		return errbuf_set(err, errlen, -EINVAL, "instance record: bad \"freshness\"");
	in->record_len = (size_t)n;
	if (json_uint(&d, json_get(&d, 0, "releases"), UINT64_MAX, &in->releases))
		return errbuf_set(err, errlen, -EINVAL, "instance record: bad \"releases\"");
	return 0;
}
