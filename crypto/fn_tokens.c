/* crypto/fn_tokens.c: see fn_tokens.h and docs/API.md. */
#include "crypto/fn_tokens.h"

#include <bearssl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/utc_time.h"
#include "lib/hex.h"
#include "lib/json_walk.h"

#define MAX_TIME 253402300799ull   /* 9999-12-31T23:59:59Z */

/* --- scopes -------------------------------------------------------------------- */

static const char *const scope_names[FN_SCOPE_N] = {
	[FN_SCOPE_FUNCTIONS_READ] = "functions:read",
	[FN_SCOPE_FUNCTIONS_WRITE] = "functions:write",
	[FN_SCOPE_FUNCTIONS_INVOKE] = "functions:invoke",
	[FN_SCOPE_SECRETS_READ] = "secrets:read",
	[FN_SCOPE_SECRETS_WRITE] = "secrets:write",
	[FN_SCOPE_LOGS_READ] = "logs:read",
	[FN_SCOPE_ADMIN] = "admin",
};
#define INVOKE_ONE "functions:invoke:"

const char *fn_scope_name(enum fn_scope s)
{
	return (unsigned)s < FN_SCOPE_N ? scope_names[s] : "?";
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

int fn_scope_add(struct fn_scopes *sc, const char *s, size_t n)
{
	size_t pl = sizeof INVOKE_ONE - 1;

	for (unsigned k = 0; k < FN_SCOPE_N; k++) {
		if (strlen(scope_names[k]) != n || memcmp(s, scope_names[k], n) != 0)
			continue;
		if (sc->bits & 1u << k)
			return -EEXIST;
		sc->bits |= 1u << k;
		return 0;
	}
	if (n <= pl || memcmp(s, INVOKE_ONE, pl) != 0 || !fn_id_valid(s + pl, n - pl))
		return -EINVAL;
	for (unsigned k = 0; k < sc->ninvoke; k++)
		if (strlen(sc->invoke[k]) == n - pl && memcmp(sc->invoke[k], s + pl, n - pl) == 0)
			return -EEXIST;
	if (sc->ninvoke == FN_TOKEN_MAX_INVOKE)
		return -E2BIG;
	memcpy(sc->invoke[sc->ninvoke], s + pl, n - pl);
	sc->invoke[sc->ninvoke][n - pl] = '\0';
	sc->ninvoke++;
	qsort(sc->invoke, sc->ninvoke, sizeof sc->invoke[0], cmp_id);
	return 0;
}

bool fn_scopes_allow(const struct fn_scopes *sc, enum fn_scope need, const char *fn_id)
{
	if ((unsigned)need >= FN_SCOPE_N)
		return false;
	if (sc->bits & (1u << FN_SCOPE_ADMIN | 1u << need))
		return true;
	if (need != FN_SCOPE_FUNCTIONS_INVOKE || fn_id == NULL)
		return false;
	for (unsigned k = 0; k < sc->ninvoke; k++)
		if (strcmp(sc->invoke[k], fn_id) == 0)
			return true;
	return false;
}

void fn_scopes_write(const struct fn_scopes *sc, struct jsonw *w)
{
	char s[sizeof INVOKE_ONE + FN_ID_MAX];

	jw_array_begin(w);
	for (unsigned k = 0; k < FN_SCOPE_N; k++)
		if (sc->bits & 1u << k)
			jw_string(w, scope_names[k]);
	for (unsigned k = 0; k < sc->ninvoke; k++) {
		memcpy(s, INVOKE_ONE, sizeof INVOKE_ONE - 1);
		strcpy(s + sizeof INVOKE_ONE - 1, sc->invoke[k]);
		jw_string(w, s);
	}
	jw_array_end(w);
}

/* --- tokens ------------------------------------------------------------------------ */

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	br_sha256_context h;
	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, out);
}

void fn_token_make(const uint8_t rnd[FN_TOKEN_RANDOM], char out[FN_TOKEN_LEN + 1], uint8_t sha[32])
{
	memcpy(out, FN_TOKEN_PREFIX, FN_TOKEN_PREFIX_LEN);
	hex_encode(out + FN_TOKEN_PREFIX_LEN, rnd, FN_TOKEN_RANDOM);
	sha256(out, FN_TOKEN_LEN, sha);
}

int fn_token_hash(const char *tok, size_t n, uint8_t sha[32])
{
	if (n != FN_TOKEN_LEN || (memcmp(tok, FN_TOKEN_PREFIX, FN_TOKEN_PREFIX_LEN) != 0 &&
				  memcmp(tok, FN_TOKEN_LEGACY_PREFIX, FN_TOKEN_PREFIX_LEN) != 0))
		return -EINVAL;
	for (size_t k = FN_TOKEN_PREFIX_LEN; k < n; k++)
		if (!((tok[k] >= '0' && tok[k] <= '9') || (tok[k] >= 'a' && tok[k] <= 'f')))
			return -EINVAL;
	sha256(tok, n, sha);
	return 0;
}

void fn_token_id(const uint8_t sha[32], char out[FN_TOKEN_ID_LEN + 1])
{
	hex_encode(out, sha, FN_TOKEN_ID_LEN / 2);
}

bool fn_hash_equal(const uint8_t a[32], const uint8_t b[32])
{
	unsigned diff = 0;
	for (size_t k = 0; k < 32; k++)
		diff |= (unsigned)(a[k] ^ b[k]);
	return diff == 0;
}

int fn_token_find(const uint8_t want[32], const uint8_t (*hashes)[32], unsigned n, unsigned *compared)
{
	int found = -1;
	unsigned count = 0;

	for (unsigned k = 0; k < n; k++) {
		/* mask: all ones when entry k matches, without a branch on it */
		unsigned eq = (unsigned)fn_hash_equal(want, hashes[k]);
		unsigned mask = 0u - eq;
		found = (int)(((unsigned)found & ~mask) | (k & mask));
		count++;
	}
	if (compared)
		*compared = count;
	return found;
}

/* --- bodies -------------------------------------------------------------------- */

static int open_body(struct json_doc *doc, const char *json, size_t len, size_t max,
		     struct fn_body_tokens *scratch, struct fn_error *e)
{
	return fn_doc_open(doc, json, len, max, scratch->t, FN_TOKEN_MAX_TOKENS, 4, e);
}

static int finish(struct jwalk *c, int r, struct fn_error *e, void *out, size_t size)
{
	if (r != 0) {
		e->code = c->kind ? c->kind : "invalid_field";
		memset(out, 0, size);
	}
	return r;
}

/* A list of scopes (permissions, scopes): at least one, each once. */
static int get_scopes(struct jwalk *c, int arr, struct fn_scopes *sc)
{
	char s[64];
	struct jwalk_items it;
	int r;

	if ((r = jwalk_items_open(c, arr, FN_SCOPE_N + FN_TOKEN_MAX_INVOKE, "scopes",
				  "must list at least one scope", &it)) != 0)
		return r;
	while (jwalk_items_next(c, &it)) {
		long n = jwalk_str(c, it.j, s, sizeof s);
		if (n < 0)
			return (int)n;
		r = fn_scope_add(sc, s, (size_t)n);
		if (r == -EEXIST)
			return jwalk_fail(c, -EINVAL, "\"%s\" is listed twice", s);
		if (r == -E2BIG)
			return jwalk_fail_as(c, "too_many_items", -E2BIG, "more than %d functions:invoke:<id> scopes",
					     FN_TOKEN_MAX_INVOKE);
		if (r != 0)
			return jwalk_fail(c, -EINVAL, "must be one of functions:read functions:write "
					  "functions:invoke functions:invoke:<id> secrets:read secrets:write "
					  "logs:read admin");
	}
	return 0;
}

int fn_token_req_parse(const char *json, size_t len, enum fn_token_shape shape,
		       struct fn_body_tokens *scratch, struct fn_token_req *out, struct fn_error *e)
{
	struct json_doc doc;
	struct jwalk c = { .d = &doc, .err = e->msg, .errlen = sizeof e->msg };
	struct jwalk_field f[3] = {
		{ "name", -1 }, { shape == FN_TOKEN_SEED ? "permissions" : "scopes", -1 }, { "appName", -1 },
	};
	size_t saved;
	int r;

	memset(out, 0, sizeof *out);
	if ((r = open_body(&doc, json, len, FN_TOKEN_BODY_MAX, scratch, e)) != 0)
		return r;
	if ((r = jwalk_fields(&c, 0, f, shape == FN_TOKEN_SEED ? 3 : 2)) != 0 ||
	    (r = jwalk_need(&c, &f[0])) != 0 || (r = jwalk_need(&c, &f[1])) != 0)
		return finish(&c, r, e, out, sizeof *out);
	saved = jwalk_key(&c, "name");
	if ((r = fn_text_field(&c, f[0].tok, out->name, sizeof out->name, false)) != 0)
		return finish(&c, r, e, out, sizeof *out);
	jwalk_pop(&c, saved);
	saved = jwalk_key(&c, f[1].key);
	if ((r = get_scopes(&c, f[1].tok, &out->scopes)) != 0)
		return finish(&c, r, e, out, sizeof *out);
	jwalk_pop(&c, saved);
	if (shape == FN_TOKEN_SEED && f[2].tok >= 0) {
		saved = jwalk_key(&c, "appName");
		if ((r = fn_text_field(&c, f[2].tok, out->app_name, sizeof out->app_name, true)) != 0)
			return finish(&c, r, e, out, sizeof *out);
		jwalk_pop(&c, saved);
	}
	return 0;
}

int fn_secret_req_parse(const char *json, size_t len, struct fn_body_tokens *scratch,
			struct fn_secret_req *out, char *val, size_t cap, struct fn_error *e)
{
	struct json_doc doc;
	struct jwalk c = { .d = &doc, .err = e->msg, .errlen = sizeof e->msg };
	struct jwalk_field f[2] = { { "name", -1 }, { "value", -1 } };
	size_t n;
	const char *s;
	long r;

	memset(out, 0, sizeof *out);
	if (cap <= FN_SECRET_VALUE_MAX) {
		e->code = "invalid_field";
		return errbuf_set(e->msg, sizeof e->msg, -EINVAL, "value buffer too small");
	}
	if ((r = open_body(&doc, json, len, FN_SECRET_BODY_MAX, scratch, e)) != 0)
		return (int)r;
	if ((r = jwalk_fields(&c, 0, f, 2)) != 0 || (r = jwalk_need(&c, &f[0])) != 0 ||
	    (r = jwalk_need(&c, &f[1])) != 0)
		return finish(&c, (int)r, e, out, sizeof *out);
	jwalk_key(&c, "name");
	r = jwalk_str(&c, f[0].tok, out->name, sizeof out->name);
	if (r < 0)
		return finish(&c, (int)r, e, out, sizeof *out);
	if (!policy_secret_name_valid(out->name, (size_t)r))
		return finish(&c, jwalk_fail(&c, -EINVAL, "must match ^[A-Z_][A-Z0-9_]*$"), e, out, sizeof *out);
	jwalk_pop(&c, 0);
	jwalk_key(&c, "value");
	if ((r = jwalk_want(&c, f[1].tok, JSMN_STRING)) != 0)
		return finish(&c, (int)r, e, out, sizeof *out);
	s = json_text(&doc, f[1].tok, &n);
	r = json_unescape(s, n, val, FN_SECRET_VALUE_MAX + 1);
	if (r == -ENOSPC)
		r = jwalk_fail_as(&c, "limit_exceeded", -EFBIG, "longer than %u bytes", FN_SECRET_VALUE_MAX);
	else if (r < 0)
		r = jwalk_fail(&c, -EINVAL, "bad string escape");
	else if (r == 0)
		r = jwalk_fail(&c, -EINVAL, "must not be empty");
	else if (memchr(val, '\0', (size_t)r))
		r = jwalk_fail(&c, -EINVAL, "must not contain a NUL character (it becomes an environment variable)");
	else {
		out->value_len = (size_t)r;
		return 0;
	}
	memset(val, 0, cap);
	return finish(&c, (int)r, e, out, sizeof *out);
}

/* --- the stored record ------------------------------------------------------------ */

long fn_token_rec_write(const struct fn_token_rec *r, char *out, size_t cap)
{
	struct jsonw w;

	jw_init(&w, out, cap);
	jw_object_begin(&w);
	jw_key(&w, "format");
	jw_u64(&w, 1);
	jw_key(&w, "id");
	jw_string(&w, r->id);
	jw_key(&w, "name");
	jw_string(&w, r->name);
	jw_key(&w, "app_name");
	jw_string(&w, r->app_name);
	jw_key(&w, "scopes");
	fn_scopes_write(&r->scopes, &w);
	jw_key(&w, "sha256");
	jw_hex(&w, r->sha256, sizeof r->sha256);
	jw_key(&w, "created");
	jw_i64(&w, r->created);
	jw_object_end(&w);
	return jw_finish(&w);
}

static int rec_fields(struct jwalk *c, struct fn_token_rec *r)
{
	enum { F_FORMAT, F_ID, F_NAME, F_APP, F_SCOPES, F_SHA, F_CREATED, F_N };
	struct jwalk_field f[F_N] = {
		{ "format", -1 }, { "id", -1 }, { "name", -1 }, { "app_name", -1 },
		{ "scopes", -1 }, { "sha256", -1 }, { "created", -1 },
	};
	char hex[65], id[FN_TOKEN_ID_LEN + 1];
	uint64_t t;
	int e;

	if ((e = jwalk_fields(c, 0, f, F_N)) != 0)
		return e;
	for (int k = 0; k < F_N; k++)
		if ((e = jwalk_need(c, &f[k])) != 0)
			return e;
	jwalk_key(c, "format");
	if (!json_is(c->d, f[F_FORMAT].tok, JSMN_PRIMITIVE) || !json_text_eq(c->d, f[F_FORMAT].tok, "1"))
		return jwalk_fail(c, -EINVAL, "must be 1");
	jwalk_pop(c, 0);
	jwalk_key(c, "name");
	if ((e = fn_text_field(c, f[F_NAME].tok, r->name, sizeof r->name, false)) != 0)
		return e;
	jwalk_pop(c, 0);
	jwalk_key(c, "app_name");
	if ((e = fn_text_field(c, f[F_APP].tok, r->app_name, sizeof r->app_name, true)) != 0)
		return e;
	jwalk_pop(c, 0);
	jwalk_key(c, "scopes");
	if ((e = get_scopes(c, f[F_SCOPES].tok, &r->scopes)) != 0)
		return e;
	jwalk_pop(c, 0);
	jwalk_key(c, "sha256");
	if (json_str(c->d, f[F_SHA].tok, hex, sizeof hex) != 64 ||
	    hex_decode(r->sha256, 32, hex, 64) != 32)
		return jwalk_fail(c, -EINVAL, "must be 64 hex digits");
	hex_encode(hex, r->sha256, 32);
	if (!json_str_eq(c->d, f[F_SHA].tok, hex))
		return jwalk_fail(c, -EINVAL, "must be 64 lowercase hex digits");
	jwalk_pop(c, 0);
	jwalk_key(c, "id");
	fn_token_id(r->sha256, id);
	if (!json_str_eq(c->d, f[F_ID].tok, id))
		return jwalk_fail(c, -EINVAL, "must be %s (the hash's first 8 bytes)", id);
	memcpy(r->id, id, sizeof id);
	jwalk_pop(c, 0);
	jwalk_key(c, "created");
	if (json_uint(c->d, f[F_CREATED].tok, MAX_TIME, &t) != 0)
		return jwalk_fail(c, -EINVAL, "must be an integer 0..%llu", MAX_TIME);
	r->created = (int64_t)t;
	jwalk_pop(c, 0);
	return 0;
}

int fn_token_rec_parse(const char *json, size_t len, struct fn_body_tokens *scratch,
		       struct fn_token_rec *r, struct fn_error *e)
{
	struct json_doc doc;
	struct jwalk c = { .d = &doc, .err = e->msg, .errlen = sizeof e->msg };
	int rc;

	memset(r, 0, sizeof *r);
	if ((rc = open_body(&doc, json, len, FN_TOKEN_REC_MAX, scratch, e)) != 0)
		return rc;
	return finish(&c, rec_fields(&c, r), e, r, sizeof *r);
}

void fn_token_view(const struct fn_token_rec *r, enum fn_token_shape shape, const char *key,
		   struct jsonw *w)
{
	char t[32];

	jw_object_begin(w);
	jw_key(w, "id");
	jw_string(w, r->id);
	jw_key(w, "name");
	jw_string(w, r->name);
	if (r->app_name[0] && shape == FN_TOKEN_SEED) {
		jw_key(w, "appName");
		jw_string(w, r->app_name);
	}
	jw_key(w, shape == FN_TOKEN_SEED ? "permissions" : "scopes");
	fn_scopes_write(&r->scopes, w);
	utc_format(t, sizeof t, r->created);
	jw_key(w, "createdAt");
	jw_string(w, t);
	if (key) {
		jw_key(w, shape == FN_TOKEN_SEED ? "key" : "token");
		jw_string(w, key);
	}
	jw_object_end(w);
}
