/* tests/fuzz/fuzz_fn_tokens.c: libFuzzer target for crypto/fn_tokens.
 *
 * The first byte picks the parser: the /api/keys body, the /v1/tokens
 * body, the secret body, the stored token record, or a presented token.
 * Beyond "no crash": a refusal names a code; an accepted secret is
 * non-empty, bounded and NUL-free; an accepted record writes back to
 * bytes that parse to the same record and write again identically; the
 * scopes of an accepted body are within their bounds. */
#include "crypto/fn_tokens.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fn_body_tokens toks;
static struct fn_token_req req;
static struct fn_secret_req sec;
static struct fn_token_rec rec, rec2;
static struct fn_error e;
static char val[FN_SECRET_VALUE_MAX + 1];
static char out[FN_TOKEN_REC_MAX + 1], out2[FN_TOKEN_REC_MAX + 1];

static void check_scopes(const struct fn_scopes *sc)
{
	if (sc->bits >> FN_SCOPE_N || sc->ninvoke > FN_TOKEN_MAX_INVOKE || (sc->bits == 0 && sc->ninvoke == 0))
		abort();
	for (unsigned k = 0; k < sc->ninvoke; k++)
		if (!fn_id_valid(sc->invoke[k], strlen(sc->invoke[k])) ||
		    (k > 0 && strcmp(sc->invoke[k - 1], sc->invoke[k]) >= 0))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	uint8_t sha[32];
	size_t n;
	long w;

	if (size < 1 || size > (32u << 10))
		return 0;
	n = size - 1;
	switch (data[0] % 5) {
	case 0:
	case 1:
		if (fn_token_req_parse(s, n, data[0] % 5 ? FN_TOKEN_V1 : FN_TOKEN_SEED, &toks, &req, &e) != 0) {
			if (e.code == NULL || req.name[0] != '\0')
				abort();
			return 0;
		}
		if (req.name[0] == '\0')
			abort();
		check_scopes(&req.scopes);
		break;
	case 2:
		if (fn_secret_req_parse(s, n, &toks, &sec, val, sizeof val, &e) != 0) {
			if (e.code == NULL)
				abort();
			return 0;
		}
		if (sec.value_len == 0 || sec.value_len > FN_SECRET_VALUE_MAX || memchr(val, '\0', sec.value_len) ||
		    !policy_secret_name_valid(sec.name, strlen(sec.name)))
			abort();
		break;
	case 3:
		if (fn_token_rec_parse(s, n, &toks, &rec, &e) != 0) {
			if (e.code == NULL)
				abort();
			return 0;
		}
		check_scopes(&rec.scopes);
		w = fn_token_rec_write(&rec, out, sizeof out);
		if (w <= 0 || fn_token_rec_parse(out, (size_t)w, &toks, &rec2, &e) != 0 ||
		    memcmp(&rec, &rec2, sizeof rec) != 0 ||
		    fn_token_rec_write(&rec2, out2, sizeof out2) != w || memcmp(out, out2, (size_t)w) != 0)
			abort();
		break;
	default:
		if (fn_token_hash(s, n, sha) == 0 && (n != FN_TOKEN_LEN || fn_token_find(sha, &sha, 1, NULL) != 0))
			abort();
		break;
	}
	return 0;
}
