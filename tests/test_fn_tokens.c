/* tests/test_fn_tokens.c: API tokens and scopes, the token and secret
 * bodies of both API generations, the stored token record
 * (crypto/fn_tokens.h), and lib/random. */
#include "crypto/fn_tokens.h"
#include "lib/hex.h"
#include "lib/random.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct fn_body_tokens toks;
static struct fn_token_req req;
static struct fn_secret_req sec;
static struct fn_error e;
static char val[FN_SECRET_VALUE_MAX + 1];

static void test_tokens(void)
{
	uint8_t rnd[FN_TOKEN_RANDOM], sha[32], sha2[32], zero[FN_TOKEN_RANDOM] = { 0 };
	char tok[FN_TOKEN_LEN + 1], id[FN_TOKEN_ID_LEN + 1], hex[65];

	is_int(random_fill(rnd, sizeof rnd), 0, "random_fill");
	ok(memcmp(rnd, zero, sizeof rnd) != 0, "random bytes are not all zero");
	fn_token_make(rnd, tok, sha);
	is_int(strlen(tok), 72, "token length 72");
	ok(strncmp(tok, "dshield_", 8) == 0, "dshield_ prefix");
	is_int(fn_token_hash(tok, strlen(tok), sha2), 0, "a made token is accepted");
	ok(memcmp(sha, sha2, 32) == 0, "and hashes the same");

	/* The hash is SHA-256 of the text: the policy's admin_token_sha256 rule. */
	memset(rnd, 0, sizeof rnd);
	fn_token_make(rnd, tok, sha);
	hex_encode(hex, sha, 32);
	/* printf %s dshield_0000...0000 | sha256sum */
	is_str(hex, "fca4b81d5753eb289e1610b640b4189ac37d2ff9f77cdbfdc504c3f37e6f7f11",
	       "the hash of the token's text, as sha256sum prints it");
	fn_token_id(sha, id);
	ok(strlen(id) == 16 && strncmp(id, hex, 16) == 0, "id: the hash's first 8 bytes in hex");

	char legacy[73] = "auditor_";
	memset(legacy + 8, 'a', 64);
	legacy[72] = '\0';
	is_int(fn_token_hash(legacy, 72, sha), 0, "the seed's auditor_ keys are accepted");
	static const char *const bad[] = {
		"dshield_", "Dshield_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"dshield_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"dshield_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag",
		"dshield_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"dshield_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"other___aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		is_int(fn_token_hash(bad[k], strlen(bad[k]), sha), -EINVAL, "refused token %zu", k);
}

static void test_find(void)
{
	static uint8_t hashes[100][32];
	uint8_t want[32];
	unsigned compared = 0;

	for (unsigned k = 0; k < 100; k++)
		memset(hashes[k], (int)k, 32);
	ok(fn_hash_equal(hashes[3], hashes[3]), "equal hashes");
	memcpy(want, hashes[3], 32);
	want[31] ^= 1;
	ok(!fn_hash_equal(want, hashes[3]), "the last byte differs");
	want[31] ^= 1;
	want[0] ^= 0x80;
	ok(!fn_hash_equal(want, hashes[3]), "the first byte differs");

	/* Every entry is compared wherever the match is, or if there is none. */
	memcpy(want, hashes[0], 32);
	is_int(fn_token_find(want, hashes, 100, &compared), 0, "found at 0");
	is_int(compared, 100, "... after comparing all 100");
	memcpy(want, hashes[99], 32);
	is_int(fn_token_find(want, hashes, 100, &compared), 99, "found at 99");
	is_int(compared, 100, "... after comparing all 100");
	memset(want, 0xee, 32);
	is_int(fn_token_find(want, hashes, 100, &compared), -1, "not found");
	is_int(compared, 100, "... after comparing all 100");
	is_int(fn_token_find(want, hashes, 0, &compared), -1, "empty table");
	is_int(compared, 0, "... nothing compared");
}

static void test_scopes(void)
{
	struct fn_scopes sc = { 0 };
	char out[512];
	struct jsonw w;

	is_int(fn_scope_add(&sc, "functions:read", 14), 0, "functions:read");
	is_int(fn_scope_add(&sc, "functions:read", 14), -EEXIST, "twice");
	is_int(fn_scope_add(&sc, "functions:invoke:b-fn", 21), 0, "functions:invoke:<id>");
	is_int(fn_scope_add(&sc, "functions:invoke:a", 18), 0, "another");
	is_int(fn_scope_add(&sc, "functions:invoke:", 17), -EINVAL, "functions:invoke: without an id");
	is_int(fn_scope_add(&sc, "functions:invoke:A", 18), -EINVAL, "a bad id");
	is_int(fn_scope_add(&sc, "functions:admin", 15), -EINVAL, "unknown scope");
	is_int(fn_scope_add(&sc, "admin\0", 6), -EINVAL, "a NUL inside");
	ok(fn_scopes_allow(&sc, FN_SCOPE_FUNCTIONS_READ, NULL), "read allowed");
	ok(!fn_scopes_allow(&sc, FN_SCOPE_FUNCTIONS_WRITE, NULL), "write not");
	ok(fn_scopes_allow(&sc, FN_SCOPE_FUNCTIONS_INVOKE, "a"), "invoke a");
	ok(fn_scopes_allow(&sc, FN_SCOPE_FUNCTIONS_INVOKE, "b-fn"), "invoke b-fn");
	ok(!fn_scopes_allow(&sc, FN_SCOPE_FUNCTIONS_INVOKE, "c"), "not invoke c");
	ok(!fn_scopes_allow(&sc, FN_SCOPE_FUNCTIONS_INVOKE, NULL), "not invoke of all");
	ok(!fn_scopes_allow(&sc, FN_SCOPE_SECRETS_READ, "a"), "a function's invoke scope grants nothing else");
	ok(!fn_scopes_allow(&sc, FN_SCOPE_N, NULL), "out of range");
	jw_init(&w, out, sizeof out);
	fn_scopes_write(&sc, &w);
	ok(jw_finish(&w) > 0, "written");
	is_str(out, "[\"functions:read\",\"functions:invoke:a\",\"functions:invoke:b-fn\"]", "fixed order, ids sorted");

	struct fn_scopes all = { 0 };
	fn_scope_add(&all, "functions:invoke", 16);
	ok(fn_scopes_allow(&all, FN_SCOPE_FUNCTIONS_INVOKE, "anything"), "functions:invoke: every function");
	struct fn_scopes admin = { 0 };
	fn_scope_add(&admin, "admin", 5);
	for (int k = 0; k < FN_SCOPE_N; k++)
		ok(fn_scopes_allow(&admin, (enum fn_scope)k, "x"), "admin implies %s", fn_scope_name((enum fn_scope)k));
	struct fn_scopes many = { 0 };
	char s[64];
	for (int k = 0; k < FN_TOKEN_MAX_INVOKE; k++) {
		int n = snprintf(s, sizeof s, "functions:invoke:f%d", k);
		fn_scope_add(&many, s, (size_t)n);
	}
	is_int(fn_scope_add(&many, "functions:invoke:z", 18), -E2BIG, "more than %d per-function scopes", FN_TOKEN_MAX_INVOKE);
}

struct bad {
	int shape;   /* 0, 1: token bodies; 2: secret */
	const char *body;
	const char *code, *msg;
};

static const struct bad bads[] = {
	{ 0, "{\"permissions\":[\"admin\"]}", "missing_field", "name: required" },
	{ 0, "{\"name\":\"n\"}", "missing_field", "permissions: required" },
	{ 1, "{\"name\":\"n\"}", "missing_field", "scopes: required" },
	{ 1, "{\"name\":\"n\",\"permissions\":[\"admin\"]}", "unknown_field", "permissions: unknown field" },
	{ 0, "{\"name\":\"n\",\"scopes\":[\"admin\"]}", "unknown_field", "scopes: unknown field" },
	{ 1, "{\"name\":\"n\",\"scopes\":[\"admin\"],\"appName\":\"a\"}", "unknown_field", "appName: unknown field" },
	{ 0, "{\"name\":\"\",\"permissions\":[\"admin\"]}", "invalid_field", "name: must not be empty" },
	{ 0, "{\"name\":\"a\\u0007\",\"permissions\":[\"admin\"]}", "invalid_field", "name: must be UTF-8 text" },
	{ 0, "{\"name\":\"n\",\"permissions\":[]}", "invalid_field", "permissions: must list at least one scope" },
	{ 0, "{\"name\":\"n\",\"permissions\":[\"root\"]}", "invalid_field", "permissions[0]: must be one of" },
	{ 1, "{\"name\":\"n\",\"scopes\":[\"logs:read\",\"logs:read\"]}", "invalid_field", "scopes[1]: \"logs:read\" is listed twice" },
	{ 1, "{\"name\":\"n\",\"scopes\":\"admin\"}", "invalid_field", "scopes: must be an array" },
	{ 1, "{\"name\":\"n\",\"scopes\":[\"functions:invoke:a\",\"functions:invoke:b\",\"functions:invoke:c\","
	  "\"functions:invoke:d\",\"functions:invoke:e\",\"functions:invoke:f\",\"functions:invoke:g\","
	  "\"functions:invoke:h\",\"functions:invoke:i\"]}", "too_many_items", "scopes[8]: more than 8" },
	{ 1, "[1]", "invalid_json", "(top level): must be an object" },
	{ 2, "{\"value\":\"v\"}", "missing_field", "name: required" },
	{ 2, "{\"name\":\"A\"}", "missing_field", "value: required" },
	{ 2, "{\"name\":\"api_key\",\"value\":\"v\"}", "invalid_field", "name: must match" },
	{ 2, "{\"name\":\"1A\",\"value\":\"v\"}", "invalid_field", "name: must match" },
	{ 2, "{\"name\":\"A\",\"value\":\"\"}", "invalid_field", "value: must not be empty" },
	{ 2, "{\"name\":\"A\",\"value\":\"a\\u0000b\"}", "invalid_field", "value: must not contain a NUL" },
	{ 2, "{\"name\":\"A\",\"value\":1}", "invalid_field", "value: must be a string" },
	{ 2, "{\"name\":\"A\",\"value\":\"v\",\"encryptedValue\":\"x\"}", "unknown_field", "encryptedValue: unknown field" },
};

static int parse_bad(const struct bad *b)
{
	if (b->shape == 2)
		return fn_secret_req_parse(b->body, strlen(b->body), &toks, &sec, val, sizeof val, &e);
	return fn_token_req_parse(b->body, strlen(b->body), (enum fn_token_shape)b->shape, &toks, &req, &e);
}

static void test_bodies(void)
{
	/* The seed README's quick start, verbatim. */
	static const char QS_SECRET[] = "{\"name\": \"API_KEY\", \"value\": \"sk-...\"}";
	static const char KEYS[] = "{\"name\":\"ci\",\"appName\":\"shop\",\"permissions\":[\"functions:invoke\",\"logs:read\"]}";
	static const char V1[] = "{\"scopes\":[\"functions:invoke:my-func\"],\"name\":\"one\"}";

	is_int(fn_secret_req_parse(QS_SECRET, strlen(QS_SECRET), &toks, &sec, val, sizeof val, &e), 0,
	       "the README's secret body (%s)", e.msg);
	is_str(sec.name, "API_KEY", "name");
	ok(sec.value_len == 6 && memcmp(val, "sk-...", 6) == 0, "value");
	is_int(fn_token_req_parse(KEYS, strlen(KEYS), FN_TOKEN_SEED, &toks, &req, &e), 0, "POST /api/keys body");
	is_str(req.name, "ci", "name");
	is_str(req.app_name, "shop", "appName");
	ok(req.scopes.bits == (1u << FN_SCOPE_FUNCTIONS_INVOKE | 1u << FN_SCOPE_LOGS_READ), "permissions");
	is_int(fn_token_req_parse(V1, strlen(V1), FN_TOKEN_V1, &toks, &req, &e), 0, "POST /v1/tokens body");
	ok(req.scopes.ninvoke == 1 && strcmp(req.scopes.invoke[0], "my-func") == 0, "a per-function scope");

	for (size_t k = 0; k < sizeof bads / sizeof bads[0]; k++) {
		const struct bad *b = &bads[k];
		int r = parse_bad(b);
		ok(r < 0 && e.code && strcmp(e.code, b->code) == 0 && strstr(e.msg, b->msg) == e.msg,
		   "refused %zu: %s", k, b->msg);
		if (!(r < 0 && e.code && strcmp(e.code, b->code) == 0 && strstr(e.msg, b->msg) == e.msg))
			diag("got %d %s '%s'", r, e.code ? e.code : "(null)", e.msg);
	}
	ok(req.name[0] == '\0' && sec.name[0] == '\0', "a refused body leaves nothing behind");

	/* The value's bound: FN_SECRET_VALUE_MAX decoded bytes, escapes counted once. */
	static char body[FN_SECRET_BODY_MAX + 64];
	size_t n = (size_t)snprintf(body, sizeof body, "{\"name\":\"BIG\",\"value\":\"");
	for (size_t k = 0; k < FN_SECRET_VALUE_MAX; k++) {
		memcpy(body + n, "\\u0041", 6);
		n += 6;
	}
	memcpy(body + n, "\"}", 3);
	is_int(fn_secret_req_parse(body, n + 2, &toks, &sec, val, sizeof val, &e), 0,
	       "a value of %u bytes, every one escaped (%s)", FN_SECRET_VALUE_MAX, e.msg);
	is_int(sec.value_len, FN_SECRET_VALUE_MAX, "... decoded");
	memcpy(body + n, "A\"}", 4);
	is_int(fn_secret_req_parse(body, n + 3, &toks, &sec, val, sizeof val, &e), -EFBIG, "one byte more");
	is_str(e.code, "limit_exceeded", "... limit_exceeded");
	ok(strncmp(e.msg, "value: longer than", 18) == 0, "... naming value (%s)", e.msg);
	is_int(fn_secret_req_parse(body, FN_SECRET_BODY_MAX + 1, &toks, &sec, val, sizeof val, &e), -EFBIG,
	       "a body over FN_SECRET_BODY_MAX");
	is_str(e.code, "body_too_large", "... body_too_large");
	is_int(fn_secret_req_parse(QS_SECRET, strlen(QS_SECRET), &toks, &sec, val, FN_SECRET_VALUE_MAX, &e), -EINVAL,
	       "a value buffer without room for the largest value is refused");
}

static void test_record(void)
{
	struct fn_token_rec r = { 0 }, back;
	uint8_t rnd[FN_TOKEN_RANDOM] = { 1, 2, 3 };
	char tok[FN_TOKEN_LEN + 1], rec[FN_TOKEN_REC_MAX + 1], rec2[FN_TOKEN_REC_MAX + 1], view[1024];
	struct jsonw w;
	long n;

	fn_token_make(rnd, tok, r.sha256);
	fn_token_id(r.sha256, r.id);
	strcpy(r.name, "ci \"bot\"");
	fn_scope_add(&r.scopes, "admin", 5);
	fn_scope_add(&r.scopes, "functions:invoke:x", 18);
	r.created = 1700000000;
	n = fn_token_rec_write(&r, rec, sizeof rec);
	ok(n > 0, "record written: %s", rec);
	is_int(fn_token_rec_parse(rec, (size_t)n, &toks, &back, &e), 0, "record parses back (%s)", e.msg);
	ok(memcmp(&r, &back, sizeof r) == 0, "to the same struct");
	ok(fn_token_rec_write(&back, rec2, sizeof rec2) == n && memcmp(rec, rec2, (size_t)n) == 0, "and the same bytes");

	/* A record edited by hand: its id no longer matches its hash. */
	char *p = strstr(rec, "\"id\":\"") + 6;
	*p = *p == '0' ? '1' : '0';
	is_int(fn_token_rec_parse(rec, (size_t)n, &toks, &back, &e), -EINVAL, "an id that is not the hash's");
	ok(strncmp(e.msg, "id: must be", 11) == 0, "... names id (%s)", e.msg);
	*p = *p == '0' ? '1' : '0';
	p = strstr(rec, "\"sha256\":\"") + 10;
	*p = (char)(*p >= 'a' ? *p - 32 : *p);   /* uppercase a digit a-f if it is one */
	if (*p >= 'A' && *p <= 'F') {
		is_int(fn_token_rec_parse(rec, (size_t)n, &toks, &back, &e), -EINVAL, "uppercase hash");
	} else {
		*p = 'x';
		is_int(fn_token_rec_parse(rec, (size_t)n, &toks, &back, &e), -EINVAL, "a non-hex hash");
	}
	is_int(fn_token_rec_parse("{\"format\":1}", 12, &toks, &back, &e), -EINVAL, "a record missing fields");
	is_str(e.code, "missing_field", "... missing_field");

	jw_init(&w, view, sizeof view);
	fn_token_view(&r, FN_TOKEN_SEED, tok, &w);
	ok(jw_finish(&w) > 0, "view: %s", view);
	ok(strstr(view, "sha256") == NULL, "the view holds no hash");
	ok(strstr(view, tok) != NULL, "the creating answer holds the key");
	jw_init(&w, view, sizeof view);
	fn_token_view(&r, FN_TOKEN_SEED, NULL, &w);
	jw_finish(&w);
	ok(strstr(view, "dshield_") == NULL && strstr(view, "\"key\"") == NULL, "a listing does not");
	ok(strstr(view, "\"permissions\":[\"admin\",\"functions:invoke:x\"]") != NULL, "permissions");
	jw_init(&w, view, sizeof view);
	fn_token_view(&r, FN_TOKEN_V1, tok, &w);
	ok(jw_finish(&w) > 0 && strstr(view, "\"scopes\":[\"admin\",") && strstr(view, "\"token\":\"dshield_") &&
	   !strstr(view, "permissions"), "v1's view: scopes and token (%s)", view);
}

int main(void)
{
	test_tokens();
	test_find();
	test_scopes();
	test_bodies();
	test_record();
	return tap_done();
}
