/* lib/json_tok.h: the one jsmn in the program, and small helpers over its
 * tokens for every JSON reader (manifest, event logs, collateral, the
 * CLI's inputs): a document is parsed once into a caller-provided token
 * array, then walked by index. Bounded: every helper stays inside the
 * token count and the text.
 *
 * jsmn is a header-only library whose token struct depends on its
 * configuration, so it is configured here, for everyone, and its code is
 * compiled in lib/json_tok.c alone: include this header, never <jsmn.h>.
 * JSMN_STRICT: RFC 8259 primitives and structure only. JSMN_PARENT_LINKS:
 * each token knows its container, so that closing brackets and commas find
 * it in O(1) instead of walking back over their siblings (quadratic time
 * on a long array).
 */
#ifndef DSHIELD_LIB_JSON_TOK_H
#define DSHIELD_LIB_JSON_TOK_H

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifndef JSON_TOK_IMPLEMENTATION
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
	size_t err_at;   /* json_parse, json_validate: byte of the first error */
};

/* Parses one JSON value filling js[0..len) (whitespace around it allowed).
 * Returns 0, -E2BIG (more tokens than ntoks) or -EINVAL. */
int json_parse(struct json_doc *d, const char *js, size_t len,
	       jsmntok_t *toks, unsigned ntoks);
/* jsmn is permissive even when strict: it does not check that object
 * members pair up with one ':' and are separated by one ',', that numbers
 * are well formed or that strings hold no raw control bytes. A reader that
 * must refuse every malformed document (one whose bytes another JSON
 * reader might take differently: the manifest, the policy) validates the
 * whole tree first. After it, an object's size counts its keys, each key
 * is a string of size 1 and every scalar has size 0. Returns 0, -E2BIG
 * (nested deeper than max_depth) or -EINVAL; d->err_at says where. */
int json_validate(struct json_doc *d, unsigned max_depth);
/* Index of the token after the value at i and everything inside it. */
int json_skip(const struct json_doc *d, int i);
/* Index of the value of `key` in the object at i, or -1. */
int json_get(const struct json_doc *d, int obj, const char *key);
/* Index of the k-th element of the array at i, or -1. */
int json_elem(const struct json_doc *d, int arr, int k);
bool json_is(const struct json_doc *d, int i, jsmntype_t type);
/* A string token's decoded value (json_unescape) into out[0..cap) plus a
 * NUL. Returns its length, or -1 (not a string, bad escape, too long). */
long json_str(const struct json_doc *d, int i, char *out, size_t cap);
/* Is the token's raw text (between the quotes for a string) exactly s? */
bool json_text_eq(const struct json_doc *d, int i, const char *s);
/* Is the token a string whose raw text equals s (no escapes involved)? */
bool json_str_eq(const struct json_doc *d, int i, const char *s);
/* The raw text of token i and its length. */
const char *json_text(const struct json_doc *d, int i, size_t *len);
/* A non-negative integer primitive no larger than max. Returns 0 or -1. */
int json_uint(const struct json_doc *d, int i, uint64_t max, uint64_t *v);

/* Decodes the body of a JSON string, s[0..n) without its quotes (escapes
 * resolved, \u as UTF-8, surrogate pairs joined), into out[0..cap) plus a
 * NUL. Returns the length, or -EBADMSG (a raw control character, a bad
 * escape, a lone surrogate) or -ENOSPC (it and its NUL do not fit). */
long json_unescape(const char *s, size_t n, char *out, size_t cap);

#endif
