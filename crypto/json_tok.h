/* crypto/json_tok.h: small helpers over jsmn tokens for the attestation
 * readers (collateral, quote input files): a document is parsed once into
 * a caller-provided token array, then walked by index. Bounded: every
 * helper stays inside the token count and the text. */
#ifndef DSHIELD_CRYPTO_JSON_TOK_H
#define DSHIELD_CRYPTO_JSON_TOK_H

#ifndef JSMN_STATIC
#define JSMN_HEADER
#endif
#include <jsmn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_doc {
	const char *js;
	size_t len;
	jsmntok_t *t;
	int n;
};

/* Parses one JSON value filling js[0..len) (whitespace around it allowed).
 * Returns 0, -E2BIG (more tokens than ntoks) or -EINVAL. */
int json_parse(struct json_doc *d, const char *js, size_t len,
	       jsmntok_t *toks, unsigned ntoks);
/* Index of the token after the value at i and everything inside it. */
int json_skip(const struct json_doc *d, int i);
/* Index of the value of `key` in the object at i, or -1. */
int json_get(const struct json_doc *d, int obj, const char *key);
/* Index of the k-th element of the array at i, or -1. */
int json_elem(const struct json_doc *d, int arr, int k);
bool json_is(const struct json_doc *d, int i, jsmntype_t type);
/* A string token's decoded value (escapes resolved, \u as UTF-8) into
 * out[0..cap) plus a NUL. Returns its length, or -1 (not a string, bad
 * escape, too long). */
long json_str(const struct json_doc *d, int i, char *out, size_t cap);
/* Is the token a string whose raw text equals s (no escapes involved)? */
bool json_str_eq(const struct json_doc *d, int i, const char *s);
/* A non-negative integer primitive no larger than max. Returns 0 or -1. */
int json_uint(const struct json_doc *d, int i, uint64_t max, uint64_t *v);

#endif
