/* crypto/fn_decl.c: see fn_decl.h and docs/API.md.
 *
 * The body is tokenised and validated as a whole, then walked with
 * lib/json_walk against the table of its shape's keys, so every refusal
 * names the field's JSON path. The code string is the one large value:
 * it is checked where it lies (base64_check) and never copied here.
 */
#include "crypto/fn_decl.h"

#include <bearssl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/utc_time.h"
#include "lib/base64.h"
#include "lib/hex.h"
#include "lib/json_walk.h"
#include "lib/utf8.h"

/* --- character sets ------------------------------------------------------------ */

static bool lower_or_digit(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

bool fn_id_valid(const char *s, size_t n)
{
	if (n == 0 || n > FN_ID_MAX || !lower_or_digit(s[0]))
		return false;
	for (size_t k = 1; k < n; k++)
		if (!lower_or_digit(s[k]) && s[k] != '_' && s[k] != '-')
			return false;
	return true;
}

static bool handler_valid(const char *s, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char ch = s[k];
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
		if (!alpha && (k == 0 || ch < '0' || ch > '9'))
			return false;
	}
	return n > 0;
}

/* Text shown to people (name, description): UTF-8, no control characters
 * (C0, DEL, C1), so that a log line or a terminal shows what was meant. */
static bool text_valid(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		long cp = utf8_next((const unsigned char *)s, n, &i);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return false;
	}
	return true;
}

/* The limits by their index in policy_limit_defs (the struct's order). */
enum { L_MEMORY = 0, L_TIMEOUT = 3, L_TMP = 4, L_DATA = 6, L_EGRESS = 7, L_CONNS = 8 };
_Static_assert(offsetof(struct policy_limits, timeout_ms) == L_TIMEOUT * sizeof(uint32_t) &&
	       offsetof(struct policy_limits, egress_kbps) == L_EGRESS * sizeof(uint32_t) &&
	       offsetof(struct policy_limits, egress_conns) == L_CONNS * sizeof(uint32_t) &&
	       offsetof(struct policy_limits, tmp_mb) == L_TMP * sizeof(uint32_t) &&
	       offsetof(struct policy_limits, data_mb) == L_DATA * sizeof(uint32_t) &&
	       offsetof(struct policy_limits, memory_mb) == L_MEMORY * sizeof(uint32_t),
	       "policy_limit_defs follows struct policy_limits");

/* --- fields -------------------------------------------------------------------- */

int fn_text_field(struct jwalk *c, int i, char *out, size_t cap, bool empty_ok)
{
	long r = empty_ok ? jwalk_str_any(c, i, out, cap) : jwalk_str(c, i, out, cap);

	if (r < 0)
		return (int)r;
	if (!text_valid(out, (size_t)r))
		return jwalk_fail(c, -EINVAL, "must be UTF-8 text without control characters");
	return 0;
}

static int get_id(struct jwalk *c, int i, struct fn_decl *d)
{
	long n = jwalk_str(c, i, d->id, sizeof d->id);
	if (n < 0)
		return (int)n;
	if (!fn_id_valid(d->id, (size_t)n))
		return jwalk_fail(c, -EINVAL, "must match [a-z0-9][a-z0-9_-]{0,62}");
	return 0;
}

static int get_handler(struct jwalk *c, int i, struct fn_decl *d)
{
	long n = jwalk_str(c, i, d->handler, sizeof d->handler);
	if (n < 0)
		return (int)n;
	if (!handler_valid(d->handler, (size_t)n))
		return jwalk_fail(c, -EINVAL, "must be an identifier [A-Za-z_][A-Za-z0-9_]*");
	return 0;
}

static int get_runtime(struct jwalk *c, int i, const struct policy *p, struct fn_decl *d)
{
	char name[16], enabled[32] = "";
	long n;
	unsigned rt;

	if (jwalk_want(c, i, JSMN_STRING) != 0)
		return -EINVAL;
	n = json_str(c->d, i, name, sizeof name);
	for (rt = 0; n > 0 && rt < POLICY_RT_N; rt++)
		if ((size_t)n == strlen(name) && strcmp(name, policy_runtime_name(rt)) == 0)
			break;
	if (n <= 0 || rt == POLICY_RT_N)
		return jwalk_fail_as(c, "unknown_runtime", -EINVAL, "must be one of native node python");
	if (!(p->runtimes & 1u << rt)) {
		for (unsigned k = 0; k < POLICY_RT_N; k++)
			if (p->runtimes & 1u << k) {
				strcat(enabled, enabled[0] ? " " : "");
				strcat(enabled, policy_runtime_name(k));
			}
		return jwalk_fail_as(c, "unknown_runtime", -EINVAL,
				     "\"%s\" is not enabled by the policy (runtimes: %s)", name, enabled);
	}
	d->runtime = rt;
	return 0;
}

/* The code: plain base64 in the input, checked in place. */
static int get_code(struct jwalk *c, int i, struct fn_decl *d)
{
	size_t n;
	const char *s;
	long bytes;

	if (jwalk_want(c, i, JSMN_STRING) != 0)
		return -EINVAL;
	s = json_text(c->d, i, &n);
	if (n == 0)
		return jwalk_fail(c, -EINVAL, "must not be empty");
	if (n / 4 * 3 > (size_t)FN_CODE_MAX + 2)
		return jwalk_fail_as(c, "code_too_large", -EFBIG, "more than %u bytes once decoded",
				     FN_CODE_MAX);
	if (memchr(s, '\\', n))
		return jwalk_fail(c, -EINVAL, "must be plain base64 (RFC 4648, padded), without JSON escapes");
	bytes = base64_check(s, n);
	if (bytes < 0)
		return jwalk_fail(c, -EINVAL, "must be base64 (RFC 4648, standard alphabet, padded)");
	if (bytes > (long)FN_CODE_MAX)
		return jwalk_fail_as(c, "code_too_large", -EFBIG, "more than %u bytes once decoded",
				     FN_CODE_MAX);
	d->code_off = (size_t)(s - c->d->js);
	d->code_len = n;
	d->code_bytes = (uint64_t)bytes;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* secrets (v1, stored) or envVars (seed): distinct secret names. */
static int get_secrets(struct jwalk *c, int arr, struct fn_decl *d)
{
	struct jwalk_items it;
	int r;

	if ((r = jwalk_items_open(c, arr, FN_MAX_SECRETS, "secrets", NULL, &it)) != 0)
		return r;
	while (jwalk_items_next(c, &it)) {
		char *s = d->secrets[d->nsecrets];
		long n = jwalk_str(c, it.j, s, POLICY_SECRET_MAX + 1);
		if (n < 0)
			return (int)n;
		if (!policy_secret_name_valid(s, (size_t)n))
			return jwalk_fail(c, -EINVAL, "must match ^[A-Z_][A-Z0-9_]*$");
		for (unsigned m = 0; m < d->nsecrets; m++)
			if (strcmp(d->secrets[m], s) == 0)
				return jwalk_fail(c, -EINVAL, "\"%s\" is listed twice", s);
		d->nsecrets++;
	}
	qsort(d->secrets, d->nsecrets, sizeof d->secrets[0], cmp_str);
	return 0;
}

/* egress: names of the policy's rules, by host; a name grants every rule
 * with that host (a policy may give one host several rules, one per
 * port set or TLS mode). */
static int get_egress(struct jwalk *c, int arr, const struct policy *p, struct fn_decl *d)
{
	struct jwalk_items it;
	int r;

	if ((r = jwalk_items_open(c, arr, FN_MAX_EGRESS, "rules", NULL, &it)) != 0)
		return r;
	while (jwalk_items_next(c, &it)) {
		char *s = d->egress[d->negress];
		uint32_t rules = 0;
		long n = jwalk_str(c, it.j, s, POLICY_HOST_MAX + 1);
		if (n < 0)
			return (int)n;
		for (unsigned k = 0; k < p->nrules; k++)
			if (strcmp(p->rules[k].host, s) == 0)
				rules |= 1u << k;
		if (rules == 0 || strlen(s) != (size_t)n)
			return jwalk_fail_as(c, "unknown_egress_rule", -EINVAL,
					     "names no rule of the policy (a rule is named by its host)");
		for (unsigned m = 0; m < d->negress; m++)
			if (strcmp(d->egress[m], s) == 0)
				return jwalk_fail(c, -EINVAL, "\"%s\" is listed twice", s);
		d->egress_rules |= rules;
		d->negress++;
	}
	qsort(d->egress, d->negress, sizeof d->egress[0], cmp_str);
	return 0;
}

/* One limit: an integer inside the policy's absolute bounds, and at most
 * what the policy's max_limits grants. */
static int get_limit(struct jwalk *c, int i, unsigned k, const struct policy *p, uint32_t *out)
{
	const struct policy_limit_def *def = &policy_limit_defs[k];
	uint32_t max = policy_limit_get(&p->max_limits, k);
	int r;

	if ((r = jwalk_uint(c, i, def->min, def->max, out)) != 0)
		return r;
	if (*out > max)
		return jwalk_fail_as(c, "limit_exceeded", -EINVAL, "%u is above the policy's max_limits.%s (%u)",
				     *out, def->key, max);
	return 0;
}

/* limits (v1, stored): the policy's nine keys and concurrency; every one
 * is required in the stored shape, where defaults were written out, but
 * data_mb, egress_kbps and egress_conns: declarations stored before they existed still
 * load (with the policy's default, as if deployed now), so an upgrade
 * loses no function. */
static int get_limits(struct jwalk *c, int obj, const struct policy *p, bool all, struct fn_decl *d,
		      unsigned *given)
{
	struct jwalk_field f[POLICY_NLIMITS + 1];
	size_t saved;
	int r;

	for (unsigned k = 0; k < POLICY_NLIMITS; k++)
		f[k].key = policy_limit_defs[k].key;
	f[POLICY_NLIMITS].key = "concurrency";
	if ((r = jwalk_fields(c, obj, f, POLICY_NLIMITS + 1)) != 0)
		return r;
	for (unsigned k = 0; k <= POLICY_NLIMITS; k++) {
		if (all && k != L_DATA && k != L_EGRESS && k != L_CONNS &&
		    (r = jwalk_need(c, &f[k])) != 0)
			return r;
		if (f[k].tok < 0)
			continue;
		saved = jwalk_key(c, f[k].key);
		if (k < POLICY_NLIMITS)
			r = get_limit(c, f[k].tok, k, p, policy_limit_at(&d->limits, k));
		else
			r = jwalk_uint(c, f[k].tok, 1, FN_CONCURRENCY_MAX, &d->concurrency);
		if (r != 0)
			return r;
		jwalk_pop(c, saved);
		*given |= 1u << k;
	}
	return 0;
}

/* tmp_mb is charged to the memory cgroup (the policy's own rule). */
static int check_limits(struct jwalk *c, const struct fn_decl *d, unsigned given)
{
	if (d->limits.tmp_mb <= d->limits.memory_mb)
		return 0;
	jwalk_key(c, "limits");
	return jwalk_fail(c, -EINVAL, "tmp_mb %u%s is above memory_mb (%u%s): /tmp is charged to memory",
			  d->limits.tmp_mb, given >> L_TMP & 1 ? "" : " (default)",
			  d->limits.memory_mb, given >> L_MEMORY & 1 ? "" : ", default");
}

static int get_sha256(struct jwalk *c, int i, uint8_t out[32])
{
	char hex[65];
	long n;

	if (jwalk_want(c, i, JSMN_STRING) != 0)
		return -EINVAL;
	n = json_str(c->d, i, hex, sizeof hex);
	for (long k = 0; n == 64 && k < 64; k++)
		if (!lower_or_digit(hex[k]) || hex[k] > 'f')
			n = -1;
	if (n != 64 || hex_decode(out, 32, hex, 64) != 32)
		return jwalk_fail(c, -EINVAL, "must be 64 lowercase hex digits");
	return 0;
}

/* --- the document ---------------------------------------------------------------- */

enum {
	F_ID, F_RUNTIME, F_CODE, F_HANDLER, F_NAME, F_DESC,
	F_ENVVARS, F_TIMEOUT, F_APPNAME,           /* seed */
	F_SECRETS, F_EGRESS, F_LIMITS,             /* v1 */
	F_FORMAT, F_APP, F_CODE_SHA, F_CODE_BYTES, /* stored */
	F_N
};

static const char *const field_keys[F_N] = {
	[F_ID] = "id", [F_RUNTIME] = "runtime", [F_CODE] = "code", [F_HANDLER] = "handler",
	[F_NAME] = "name", [F_DESC] = "description", [F_ENVVARS] = "envVars",
	[F_TIMEOUT] = "timeout", [F_APPNAME] = "appName", [F_SECRETS] = "secrets",
	[F_EGRESS] = "egress", [F_LIMITS] = "limits", [F_FORMAT] = "format",
	[F_APP] = "app_name", [F_CODE_SHA] = "code_sha256", [F_CODE_BYTES] = "code_bytes",
};

/* Which keys each shape knows (bit per F_*), and which it requires. */
#define B(f) (1u << (f))
static const unsigned shape_keys[] = {
	[FN_SHAPE_SEED] = B(F_ID) | B(F_RUNTIME) | B(F_CODE) | B(F_HANDLER) | B(F_NAME) | B(F_DESC) |
			  B(F_ENVVARS) | B(F_TIMEOUT) | B(F_APPNAME),
	[FN_SHAPE_V1] = B(F_ID) | B(F_RUNTIME) | B(F_CODE) | B(F_HANDLER) | B(F_NAME) | B(F_DESC) |
			B(F_SECRETS) | B(F_EGRESS) | B(F_LIMITS),
	[FN_SHAPE_STORED] = B(F_FORMAT) | B(F_ID) | B(F_NAME) | B(F_DESC) | B(F_APP) | B(F_RUNTIME) |
			    B(F_HANDLER) | B(F_CODE_SHA) | B(F_CODE_BYTES) | B(F_SECRETS) |
			    B(F_EGRESS) | B(F_LIMITS),
};
static const unsigned shape_required[] = {
	[FN_SHAPE_SEED] = B(F_ID) | B(F_RUNTIME) | B(F_CODE),
	[FN_SHAPE_V1] = B(F_ID) | B(F_RUNTIME) | B(F_CODE),
	[FN_SHAPE_STORED] = B(F_FORMAT) | B(F_ID) | B(F_NAME) | B(F_DESC) | B(F_APP) | B(F_RUNTIME) |
			    B(F_HANDLER) | B(F_CODE_SHA) | B(F_CODE_BYTES) | B(F_SECRETS) |
			    B(F_EGRESS) | B(F_LIMITS),
};
#undef B

static int one_field(struct jwalk *c, int f, int tok, enum fn_shape shape,
		     const struct policy *p, struct fn_decl *d, unsigned *given)
{
	uint64_t v;

	switch (f) {
	case F_ID:        return get_id(c, tok, d);
	case F_RUNTIME:   return get_runtime(c, tok, p, d);
	case F_CODE:      return get_code(c, tok, d);
	case F_HANDLER:   return get_handler(c, tok, d);
	case F_NAME:      return fn_text_field(c, tok, d->name, sizeof d->name, false);
	case F_DESC:      return fn_text_field(c, tok, d->description, sizeof d->description, true);
	case F_APPNAME:
	case F_APP:       return fn_text_field(c, tok, d->app_name, sizeof d->app_name, true);
	case F_ENVVARS:
	case F_SECRETS:   return get_secrets(c, tok, d);
	case F_EGRESS:    return get_egress(c, tok, p, d);
	case F_TIMEOUT:
		*given |= 1u << L_TIMEOUT;
		return get_limit(c, tok, L_TIMEOUT, p, &d->limits.timeout_ms);
	case F_LIMITS:    return get_limits(c, tok, p, shape == FN_SHAPE_STORED, d, given);
	case F_FORMAT:
		if (json_is(c->d, tok, JSMN_PRIMITIVE) && json_text_eq(c->d, tok, "1"))
			return 0;
		return jwalk_fail(c, -EINVAL, "must be %d", FN_DECL_FORMAT);
	case F_CODE_SHA:
		d->code_hashed = true;
		return get_sha256(c, tok, d->code_sha256);
	case F_CODE_BYTES:
		if (json_uint(c->d, tok, FN_CODE_MAX, &v) != 0 || v == 0)
			return jwalk_fail(c, -EINVAL, "must be an integer 1..%u", FN_CODE_MAX);
		d->code_bytes = v;
		return 0;
	}
	return -EINVAL;
}

static int parse_root(struct jwalk *c, int obj, enum fn_shape shape, const struct policy *p,
		      struct fn_decl *d)
{
	struct jwalk_field f[F_N];
	int idx[F_N], nf = 0, r;
	unsigned given = 0;

	for (int k = 0; k < F_N; k++)
		if (shape_keys[shape] >> k & 1) {
			idx[nf] = k;
			f[nf++] = (struct jwalk_field){ field_keys[k], -1 };
		}
	if ((r = jwalk_fields(c, obj, f, (size_t)nf)) != 0)
		return r;
	for (int m = 0; m < nf; m++)
		if ((shape_required[shape] >> idx[m] & 1) && (r = jwalk_need(c, &f[m])) != 0)
			return r;
	d->limits = p->default_limits;
	d->concurrency = 1;
	strcpy(d->handler, "handler");
	for (int m = 0; m < nf; m++) {
		if (f[m].tok < 0)
			continue;
		size_t saved = jwalk_key(c, f[m].key);
		if ((r = one_field(c, idx[m], f[m].tok, shape, p, d, &given)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	if (d->name[0] == '\0')
		strcpy(d->name, d->id);
	return check_limits(c, d, given);
}

int fn_decl_from_json(const struct json_doc *doc, int obj, enum fn_shape shape,
		      const struct policy *p, struct fn_decl *d, struct fn_error *e)
{
	struct jwalk c = { .d = doc, .err = e->msg, .errlen = sizeof e->msg };
	int r;

	memset(d, 0, sizeof *d);
	e->code = NULL;
	e->msg[0] = '\0';
	if ((unsigned)shape > FN_SHAPE_STORED) {
		e->code = "invalid_field";
		return errbuf_set(e->msg, sizeof e->msg, -EINVAL, "unknown shape");
	}
	r = parse_root(&c, obj, shape, p, d);
	if (r != 0) {
		e->code = c.kind ? c.kind : "invalid_field";
		memset(d, 0, sizeof *d);
	}
	return r;
}

int fn_doc_open(struct json_doc *doc, const char *json, size_t len, size_t max,
		jsmntok_t *toks, unsigned ntoks, unsigned depth, struct fn_error *e)
{
	int r;

	e->code = "invalid_json";
	e->msg[0] = '\0';
	if (len > max) {
		e->code = "body_too_large";
		return errbuf_set(e->msg, sizeof e->msg, -EFBIG, "%zu bytes, at most %zu", len, max);
	}
	if (memchr(json, '\0', len))
		return errbuf_set(e->msg, sizeof e->msg, -EINVAL, "contains a NUL byte");
	r = json_parse(doc, json, len, toks, ntoks);
	if (r == -E2BIG) {
		e->code = "too_many_items";
		return errbuf_set(e->msg, sizeof e->msg, -E2BIG, "more than %u JSON tokens", ntoks);
	}
	if (r == 0)
		r = json_validate(doc, depth);
	if (r == -E2BIG)
		return errbuf_set(e->msg, sizeof e->msg, -EINVAL, "nested deeper than %u (byte %zu)",
				  depth, doc->err_at);
	if (r != 0)
		return errbuf_set(e->msg, sizeof e->msg, -EINVAL, "not valid JSON (near byte %zu)", doc->err_at);
	if (!json_is(doc, 0, JSMN_OBJECT))
		return errbuf_set(e->msg, sizeof e->msg, -EINVAL, "(top level): must be an object");
	e->code = NULL;
	return 0;
}

int fn_decl_parse(const char *json, size_t len, enum fn_shape shape,
		  const struct policy *p, struct fn_decl_tokens *scratch,
		  struct fn_decl *d, struct fn_error *e)
{
	struct json_doc doc;
	int r;

	memset(d, 0, sizeof *d);
	r = fn_doc_open(&doc, json, len, shape == FN_SHAPE_STORED ? FN_DECL_CANON_MAX : FN_BODY_MAX,
			scratch->t, FN_DECL_MAX_TOKENS, FN_DECL_MAX_DEPTH, e);
	if (r != 0)
		return r;
	return fn_decl_from_json(&doc, 0, shape, p, d, e);
}

/* --- the code ------------------------------------------------------------------- */

static void sha_tap(void *arg, const void *chunk, size_t n)
{
	br_sha256_update(arg, chunk, n);
}

long fn_code_write(int fd, const char *json, struct fn_decl *d, void *buf, size_t cap)
{
	br_sha256_context h;
	long n;

	if (d->code_len == 0)
		return -EINVAL;
	br_sha256_init(&h);
	n = base64_decode_fd(fd, json + d->code_off, d->code_len, buf, cap, sha_tap, &h);
	if (n < 0)
		return n;
	if ((uint64_t)n != d->code_bytes)
		return -EIO;
	br_sha256_out(&h, d->code_sha256);
	d->code_hashed = true;
	return n;
}

/* --- canonical declaration and view --------------------------------------------- */

static void write_list(struct jsonw *w, const char *key, const void *items, size_t stride, unsigned n)
{
	jw_key(w, key);
	jw_array_begin(w);
	for (unsigned k = 0; k < n; k++)
		jw_string(w, (const char *)items + k * stride);
	jw_array_end(w);
}

static void write_limits(struct jsonw *w, const struct fn_decl *d)
{
	jw_key(w, "limits");
	jw_object_begin(w);
	for (unsigned k = 0; k < POLICY_NLIMITS; k++) {
		jw_key(w, policy_limit_defs[k].key);
		jw_u64(w, policy_limit_get(&d->limits, k));
	}
	jw_key(w, "concurrency");
	jw_u64(w, d->concurrency);
	jw_object_end(w);
}

long fn_decl_write(const struct fn_decl *d, char *out, size_t cap)
{
	struct jsonw w;

	if (!d->code_hashed)
		return -EINVAL;
	jw_init(&w, out, cap);
	jw_object_begin(&w);
	jw_key(&w, "format");
	jw_u64(&w, FN_DECL_FORMAT);
	jw_key(&w, "id");
	jw_string(&w, d->id);
	jw_key(&w, "name");
	jw_string(&w, d->name);
	jw_key(&w, "description");
	jw_string(&w, d->description);
	jw_key(&w, "app_name");
	jw_string(&w, d->app_name);
	jw_key(&w, "runtime");
	jw_string(&w, policy_runtime_name(d->runtime));
	jw_key(&w, "handler");
	jw_string(&w, d->handler);
	jw_key(&w, "code_sha256");
	jw_hex(&w, d->code_sha256, sizeof d->code_sha256);
	jw_key(&w, "code_bytes");
	jw_u64(&w, d->code_bytes);
	write_list(&w, "secrets", d->secrets, sizeof d->secrets[0], d->nsecrets);
	write_list(&w, "egress", d->egress, sizeof d->egress[0], d->negress);
	write_limits(&w, d);
	jw_object_end(&w);
	return jw_finish(&w);
}

int fn_decl_sha256(const struct fn_decl *d, char *buf, size_t cap, uint8_t out[32])
{
	br_sha256_context h;
	long n = fn_decl_write(d, buf, cap);

	if (n < 0)
		return (int)n;
	br_sha256_init(&h);
	br_sha256_update(&h, buf, (size_t)n);
	br_sha256_out(&h, out);
	return 0;
}

void fn_decl_view(const struct fn_decl *d, int64_t created, int64_t updated, struct jsonw *w)
{
	jw_object_begin(w);
	fn_decl_view_members(d, created, updated, w);
	jw_object_end(w);
}

void fn_decl_view_members(const struct fn_decl *d, int64_t created, int64_t updated,
			  struct jsonw *w)
{
	char t[32];

	jw_key(w, "id");
	jw_string(w, d->id);
	jw_key(w, "name");
	jw_string(w, d->name);
	jw_key(w, "description");
	jw_string(w, d->description);
	jw_key(w, "runtime");
	jw_string(w, policy_runtime_name(d->runtime));
	jw_key(w, "handler");
	jw_string(w, d->handler);
	jw_key(w, "timeout");
	jw_u64(w, d->limits.timeout_ms);
	write_list(w, "envVars", d->secrets, sizeof d->secrets[0], d->nsecrets);
	if (d->app_name[0]) {
		jw_key(w, "appName");
		jw_string(w, d->app_name);
	}
	write_list(w, "egress", d->egress, sizeof d->egress[0], d->negress);
	write_limits(w, d);
	jw_key(w, "code_sha256");
	jw_hex(w, d->code_sha256, sizeof d->code_sha256);
	jw_key(w, "code_bytes");
	jw_u64(w, d->code_bytes);
	utc_format(t, sizeof t, created);
	jw_key(w, "createdAt");
	jw_string(w, t);
	utc_format(t, sizeof t, updated);
	jw_key(w, "updatedAt");
	jw_string(w, t);
}
