/* lib/json_walk.h: the strict walk over a validated JSON document that
 * every reader of operator or client documents shares (crypto/policy.c,
 * crypto/fn_decl.c, crypto/fn_tokens.c).
 *
 * The caller tokenises and validates the document (json_parse,
 * json_validate), then walks it with these helpers: each object against a
 * table of its known keys (an unknown or repeated key is refused where it
 * stands), each array item under its own index. The JSON path of the
 * value being read is built in struct jwalk as the walk goes down and cut
 * back as it returns, so every refusal reads "path: reason", e.g.
 * "limits.memory_mb: must be an integer 16..512".
 *
 * Beside the message, a refusal records a short machine-readable kind
 * (jw->kind: "invalid_field", "unknown_field", "missing_field",
 * "too_many_items", or the caller's own through jwalk_fail_as) for APIs
 * that answer with an error code. No allocation, no hidden state.
 */
#ifndef DSHIELD_LIB_JSON_WALK_H
#define DSHIELD_LIB_JSON_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/json_tok.h"

#define JWALK_PATH_MAX 160

struct jwalk {
	const struct json_doc *d;
	char *err;               /* the caller's message buffer (ERRBUF_LEN) */
	size_t errlen;
	const char *kind;        /* the last refusal's kind; NULL before one */
	char path[JWALK_PATH_MAX];
	size_t plen;
};

/* Appends to the path; returns the length to cut back to (jwalk_pop). A
 * path that no longer fits is cut: the message would be cut anyway. */
__attribute__((format(printf, 2, 3)))
size_t jwalk_push(struct jwalk *c, const char *fmt, ...);
/* Appends ".key" (or "key" at the top). */
size_t jwalk_key(struct jwalk *c, const char *key);
void jwalk_pop(struct jwalk *c, size_t saved);

/* "path: reason" into the caller's buffer, kind "invalid_field"; returns
 * code. jwalk_fail_as() names the kind. */
__attribute__((format(printf, 3, 4)))
int jwalk_fail(struct jwalk *c, int code, const char *fmt, ...);
__attribute__((format(printf, 4, 5)))
int jwalk_fail_as(struct jwalk *c, const char *kind, int code, const char *fmt, ...);

/* Typed values; each refuses with the current path and -EINVAL. */
int jwalk_want(struct jwalk *c, int i, jsmntype_t type);
int jwalk_uint(struct jwalk *c, int i, uint32_t min, uint32_t max, uint32_t *out);
int jwalk_bool(struct jwalk *c, int i, bool *out);
/* The decoded string at token i into out[cap] (escapes resolved, NUL
 * terminated); empty and over-long strings are refused. Callers check the
 * characters: a decoded NUL is one that every character set refuses.
 * Returns the length or a negative errno. */
long jwalk_str(struct jwalk *c, int i, char *out, size_t cap);
/* The same, an empty string allowed (returns 0). */
long jwalk_str_any(struct jwalk *c, int i, char *out, size_t cap);
/* Refuses (-E2BIG, kind "too_many_items") a container of more than max
 * members; what names them in the message. */
int jwalk_count(struct jwalk *c, int i, int max, const char *what);

/* A walk over an array's items: jwalk_items_next() moves to the next one
 * and names it "[k]" in the path (the previous name is dropped first); an
 * error returned inside the walk keeps the item's path. */
struct jwalk_items {
	int arr, j, k;
	size_t saved;
};
/* Opens arr as an array of at most max items (no limit when max < 0),
 * refusing an empty one with empty_msg when that is set. */
int jwalk_items_open(struct jwalk *c, int arr, int max, const char *what,
		     const char *empty_msg, struct jwalk_items *it);
bool jwalk_items_next(struct jwalk *c, struct jwalk_items *it);

/* An object's known keys: jwalk_fields() sets each tok to its value's
 * token, or -1 when absent; a key not in the table (kind
 * "unknown_field") or given twice is refused. */
struct jwalk_field {
	const char *key;
	int tok;
};
int jwalk_fields(struct jwalk *c, int obj, struct jwalk_field *f, size_t nf);
/* Refuses an absent field (kind "missing_field", "key: required"). */
int jwalk_need(struct jwalk *c, const struct jwalk_field *f);

#endif
