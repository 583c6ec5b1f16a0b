/* crypto/fn_tokens.h: API tokens, their scopes, and the bodies that create
 * tokens and secrets (docs/API.md, "Functions, secrets and tokens:
 * request bodies").
 *
 * A token is "dshield_" + 64 lowercase hex digits (32 random bytes); the
 * seed service's keys, "auditor_" + 64 hex, are accepted as they are, so
 * that migrated keys keep working. Only a token's SHA-256 (of its whole
 * text, as `printf %s "$TOKEN" | sha256sum` prints it, the same rule as
 * the policy's admin_token_sha256) is ever stored; a presented token is
 * hashed and compared with every stored hash in constant time.
 *
 * Scopes: functions:read, functions:write, functions:invoke (every
 * function) or functions:invoke:<id> (one), secrets:read, secrets:write,
 * logs:read, admin (implies all). The seed calls them permissions.
 *
 * Pure code: randomness comes from the caller (lib/random.h).
 */
#ifndef DSHIELD_CRYPTO_FN_TOKENS_H
#define DSHIELD_CRYPTO_FN_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/fn_decl.h"
#include "lib/json_tok.h"
#include "lib/jsonw.h"

#define FN_TOKEN_PREFIX        "dshield_"
#define FN_TOKEN_LEGACY_PREFIX "auditor_"
#define FN_TOKEN_PREFIX_LEN    8
#define FN_TOKEN_LEN           (FN_TOKEN_PREFIX_LEN + 64)
#define FN_TOKEN_RANDOM        32            /* bytes of randomness per token */
#define FN_TOKEN_ID_LEN        16            /* hex: the first 8 bytes of the hash */
#define FN_TOKEN_NAME_MAX      64
#define FN_TOKEN_MAX_INVOKE    8             /* functions:invoke:<id> scopes per token */
#define FN_TOKEN_BODY_MAX      (16u << 10)
#define FN_TOKEN_MAX_TOKENS    128
#define FN_TOKEN_REC_MAX       2048          /* a stored token record */
#define FN_SECRET_VALUE_MAX    (64u << 10)   /* decoded value bytes */
#define FN_SECRET_BODY_MAX     (6 * FN_SECRET_VALUE_MAX + 1024) /* every byte as \uXXXX */

enum fn_scope {
	FN_SCOPE_FUNCTIONS_READ, FN_SCOPE_FUNCTIONS_WRITE, FN_SCOPE_FUNCTIONS_INVOKE,
	FN_SCOPE_SECRETS_READ, FN_SCOPE_SECRETS_WRITE, FN_SCOPE_LOGS_READ, FN_SCOPE_ADMIN,
	FN_SCOPE_N
};

struct fn_scopes {
	unsigned bits;                                 /* 1 << enum fn_scope */
	char invoke[FN_TOKEN_MAX_INVOKE][FN_ID_MAX + 1]; /* functions:invoke:<id>, sorted */
	unsigned ninvoke;
};

/* Adds the scope spelt s[0..n) to *sc. Returns 0, -EINVAL (no such
 * scope, or a bad function id), -EEXIST (already there) or -E2BIG (more
 * than FN_TOKEN_MAX_INVOKE per-function scopes). */
int fn_scope_add(struct fn_scopes *sc, const char *s, size_t n);
/* May a token with scopes sc do what needs `need`? fn_id names the
 * function for FN_SCOPE_FUNCTIONS_INVOKE (NULL otherwise). */
bool fn_scopes_allow(const struct fn_scopes *sc, enum fn_scope need, const char *fn_id);
/* The scopes as a JSON array of strings, in a fixed order. */
void fn_scopes_write(const struct fn_scopes *sc, struct jsonw *w);
const char *fn_scope_name(enum fn_scope s);

/* A new token from FN_TOKEN_RANDOM random bytes: its text (NUL
 * terminated) and SHA-256. */
void fn_token_make(const uint8_t rnd[FN_TOKEN_RANDOM], char out[FN_TOKEN_LEN + 1], uint8_t sha[32]);
/* The SHA-256 of a presented token, after checking its shape (either
 * prefix, 64 lowercase hex digits). Returns 0 or -EINVAL. */
int fn_token_hash(const char *tok, size_t n, uint8_t sha[32]);
/* The token id shown to admins: hex of the hash's first 8 bytes. */
void fn_token_id(const uint8_t sha[32], char out[FN_TOKEN_ID_LEN + 1]);
/* Constant-time equality of two hashes: every byte is looked at. */
bool fn_hash_equal(const uint8_t a[32], const uint8_t b[32]);
/* The index of want among hashes[0..n), or -1. Compares with every entry,
 * whatever matched, so that the time says nothing about which entry or
 * how much of it matched; *compared (when set) gets the count, for tests. */
int fn_token_find(const uint8_t want[32], const uint8_t (*hashes)[32], unsigned n, unsigned *compared);

/* --- bodies ------------------------------------------------------------------ */

enum fn_token_shape {
	FN_TOKEN_SEED,   /* POST /api/keys {name, appName?, permissions[]} */
	FN_TOKEN_V1,     /* POST /v1/tokens {name, scopes[]} */
};

struct fn_token_req {
	char name[FN_TOKEN_NAME_MAX + 1];
	char app_name[FN_NAME_MAX + 1];
	struct fn_scopes scopes;
};

struct fn_body_tokens {
	jsmntok_t t[FN_TOKEN_MAX_TOKENS];
};

/* Both fill *out (zeroed first and on failure) and return 0 or a negative
 * errno with *e filled (fn_decl.h). */
int fn_token_req_parse(const char *json, size_t len, enum fn_token_shape shape,
		       struct fn_body_tokens *scratch, struct fn_token_req *out, struct fn_error *e);

/* POST /api/secrets, /v1/secrets {name, value}: name ^[A-Z_][A-Z0-9_]*$
 * (1..64), value a non-empty string of at most FN_SECRET_VALUE_MAX bytes
 * once decoded, without NUL (it becomes an environment variable). The
 * value is decoded into val[0..cap) (cap > FN_SECRET_VALUE_MAX). */
struct fn_secret_req {
	char name[POLICY_SECRET_MAX + 1];
	size_t value_len;
};
int fn_secret_req_parse(const char *json, size_t len, struct fn_body_tokens *scratch,
			struct fn_secret_req *out, char *val, size_t cap, struct fn_error *e);

/* --- the stored record ----------------------------------------------------------
 * {"format":1,"id":..,"name":..,"app_name":..,"scopes":[..],"sha256":hex,
 *  "created":unix seconds} in this order, no whitespace. */
struct fn_token_rec {
	char id[FN_TOKEN_ID_LEN + 1];
	char name[FN_TOKEN_NAME_MAX + 1];
	char app_name[FN_NAME_MAX + 1];
	struct fn_scopes scopes;
	uint8_t sha256[32];
	int64_t created;
};

long fn_token_rec_write(const struct fn_token_rec *r, char *out, size_t cap);
int fn_token_rec_parse(const char *json, size_t len, struct fn_body_tokens *scratch,
		       struct fn_token_rec *r, struct fn_error *e);
/* As the admin sees it (never the hash): the seed's {id, name, appName?,
 * permissions, createdAt, key?} or v1's {id, name, scopes, createdAt,
 * token?}; key is the token itself, only in the answer that creates it. */
void fn_token_view(const struct fn_token_rec *r, enum fn_token_shape shape, const char *key,
		   struct jsonw *w);

#endif
