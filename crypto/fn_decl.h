/* crypto/fn_decl.h: a function's deployment, parsed strictly against the
 * policy, and its canonical declaration (docs/API.md, "Functions, secrets
 * and tokens: request bodies").
 *
 * Three shapes of one document:
 *   FN_SHAPE_SEED   the seed service's POST /api/functions body
 *                   {id, runtime, code, handler?, name?, description?,
 *                    envVars?, timeout?, appName?}
 *   FN_SHAPE_V1     POST /v1/functions {id, runtime, code, handler?, name?,
 *                   description?, secrets?, egress?, limits?}
 *   FN_SHAPE_STORED the canonical declaration (fn_decl_write) read back
 *                   from the store: every key present, no code.
 * Unknown fields, repeated keys, wrong types and values out of bounds are
 * refused with the JSON path of the field and an API error code.
 *
 * The code (base64, up to FN_CODE_MAX bytes once decoded, so a body of
 * about 43 MiB) is never copied by the parser: it is checked in place and
 * its span in the input recorded; fn_code_write() then decodes it in
 * chunks into a descriptor (a memfd) and hashes it in the same pass.
 *
 * The canonical declaration is everything but the code: the code enters
 * it by its SHA-256 and size. Its SHA-256 is what the RTMR3 `function`
 * event and the log entry carry, so that a quote's event log names every
 * function's runtime, limits, secrets and egress rules.
 *
 * Pure parsing and formatting; fn_code_write() writes to the descriptor it
 * is given and opens nothing.
 */
#ifndef DSHIELD_CRYPTO_FN_DECL_H
#define DSHIELD_CRYPTO_FN_DECL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/policy.h"
#include "lib/errbuf.h"
#include "lib/json_tok.h"
#include "lib/jsonw.h"

#define FN_DECL_FORMAT      1
#define FN_CODE_MAX         (32u << 20)  /* decoded code bytes */
#define FN_BODY_MAX         (44u << 20)  /* a deployment body: the code's base64 and the rest */
#define FN_DECL_MAX_TOKENS  512          /* JSON tokens of a body */
#define FN_DECL_MAX_DEPTH   4
#define FN_ID_MAX           63           /* [a-z0-9][a-z0-9_-]{0,62} */
#define FN_NAME_MAX         64           /* name, appName: UTF-8 text */
#define FN_DESC_MAX         512          /* description: UTF-8 text */
#define FN_HANDLER_MAX      64           /* [A-Za-z_][A-Za-z0-9_]* */
#define FN_MAX_SECRETS      32
#define FN_MAX_EGRESS       POLICY_MAX_RULES
#define FN_CONCURRENCY_MAX  64           /* warm workers of one function */
#define FN_DECL_CANON_MAX   (24u << 10)  /* canonical declaration, NUL excluded */
#define FN_TIMEOUT_SEED_DEFAULT 30000    /* the seed's default timeout, ms */

enum fn_shape { FN_SHAPE_SEED, FN_SHAPE_V1, FN_SHAPE_STORED };

/* A refusal for an API answer: code is a short constant string
 * ("invalid_field", "unknown_field", "missing_field", "too_many_items",
 * "limit_exceeded", "unknown_runtime", "unknown_egress_rule",
 * "code_too_large", "body_too_large", "invalid_json"), msg says
 * "path: reason". Every one is a 4xx: the caller's document is at fault. */
struct fn_error {
	const char *code;
	char msg[ERRBUF_LEN];
};

struct fn_decl {
	char id[FN_ID_MAX + 1];
	char name[FN_NAME_MAX + 1];          /* the id when not given */
	char description[FN_DESC_MAX + 1];   /* may be empty */
	char app_name[FN_NAME_MAX + 1];      /* the seed's appName; may be empty */
	enum policy_runtime runtime;
	char handler[FN_HANDLER_MAX + 1];    /* "handler" when not given */
	struct policy_limits limits;         /* defaults from the policy */
	uint32_t concurrency;                /* 1 when not given */
	char secrets[FN_MAX_SECRETS][POLICY_SECRET_MAX + 1];  /* sorted */
	unsigned nsecrets;
	char egress[FN_MAX_EGRESS][POLICY_HOST_MAX + 1];      /* sorted rule hosts */
	unsigned negress;
	uint32_t egress_rules;   /* bit k: policy rule k is granted (not canonical) */
	/* The code: its base64 text in the input (seed and v1 shapes) ... */
	size_t code_off, code_len;
	/* ... its decoded size, known from the text, and its SHA-256, known
	 * once fn_code_write() decoded it (or read from a stored declaration). */
	uint64_t code_bytes;
	uint8_t code_sha256[32];
	bool code_hashed;
};

/* Caller-owned scratch: the body's JSON tokens. */
struct fn_decl_tokens {
	jsmntok_t t[FN_DECL_MAX_TOKENS];
};

/* Parses json[0..len) of the given shape against policy p into *d (zeroed
 * first, and again on failure). Returns 0, -EINVAL, -E2BIG or -EFBIG with
 * *e filled. */
int fn_decl_parse(const char *json, size_t len, enum fn_shape shape,
		  const struct policy *p, struct fn_decl_tokens *scratch,
		  struct fn_decl *d, struct fn_error *e);

/* The same for the object at token obj of a document the caller already
 * validated (json_validate): a store record holding a declaration. */
int fn_decl_from_json(const struct json_doc *doc, int obj, enum fn_shape shape,
		      const struct policy *p, struct fn_decl *d, struct fn_error *e);

/* Decodes the code of d (parsed from json, seed or v1 shape) into fd in
 * chunks through buf[0..cap) and sets d->code_sha256 and d->code_hashed.
 * Returns the byte count or a negative errno (-EIO when the count is not
 * d->code_bytes: the input changed under us). */
long fn_code_write(int fd, const char *json, struct fn_decl *d, void *buf, size_t cap);

/* The canonical declaration of d (needs d->code_hashed):
 *   {"format":1,"id":..,"name":..,"description":..,"app_name":..,
 *    "runtime":..,"handler":..,"code_sha256":hex,"code_bytes":n,
 *    "secrets":[sorted],"egress":[sorted],
 *    "limits":{"memory_mb","pids","cpu_millicores","timeout_ms","tmp_mb",
 *              "output_kb","data_mb","concurrency"}}
 * keys in this order, no whitespace, strings escaped by lib/jsonw. Returns
 * its length (NUL terminated when there is room), -EINVAL (code not
 * hashed) or -ENOSPC; FN_DECL_CANON_MAX + 1 bytes always do. */
long fn_decl_write(const struct fn_decl *d, char *out, size_t cap);

/* SHA-256 of the canonical declaration, written through buf[0..cap). */
int fn_decl_sha256(const struct fn_decl *d, char *buf, size_t cap, uint8_t out[32]);

/* The function as readers see it (never its code), seed-compatible keys
 * first: {id, name, description, runtime, handler, timeout, envVars,
 * appName?, egress, limits, code_sha256, code_bytes, createdAt, updatedAt}
 * (times: unix seconds, written RFC 3339). */
void fn_decl_view(const struct fn_decl *d, int64_t created, int64_t updated, struct jsonw *w);
/* The same members without the braces, for a caller that adds its own
 * (sandboxd: the data directory's quota, docs/SANDBOXD.md). */
void fn_decl_view_members(const struct fn_decl *d, int64_t created, int64_t updated,
			  struct jsonw *w);

bool fn_id_valid(const char *s, size_t n);

/* A text field (name, description, appName) at token i of c's document:
 * a string of UTF-8 without control characters (C0, DEL, C1), decoded
 * into out[0..cap); empty only when empty_ok. For the token and secret
 * bodies' walks (lib/json_walk.h). */
struct jwalk;
int fn_text_field(struct jwalk *c, int i, char *out, size_t cap, bool empty_ok);

/* Tokenises and validates a client document of at most max bytes: no NUL,
 * one JSON value, nesting <= depth. Shared by the token and secret bodies. */
int fn_doc_open(struct json_doc *doc, const char *json, size_t len, size_t max,
		jsmntok_t *toks, unsigned ntoks, unsigned depth, struct fn_error *e);

#endif
