/* sandboxd/store.h: the one store of deployed functions, secrets and API
 * tokens, kept by sandboxd in its /store directory (docs/API.md, "The
 * function store"): on the encrypted store when the VM has a data disk
 * (docs/STORE.md), else tmpfs; host mode, the host's state directory.
 *
 * Layout under the directory (every file 0600, every folder 0700):
 *
 *   functions/<id>.json   {"created":s,"updated":s,"declaration":<canonical
 *                          declaration, crypto/fn_decl.h>}
 *   code/<sha256 hex>     a function's code, addressed by its SHA-256;
 *                          shared by functions with the same code, removed
 *                          with the last function that names it
 *   secrets/<NAME>.json   {"format":1,"name":..,"created":s,"updated":s,
 *                          "sealing":"aes-256-gcm"|"none","value":base64}
 *   tokens/<id>.json      the token record of crypto/fn_tokens.h
 *
 * Every write is atomic: the bytes go to ".tmp-<name>" in the same folder,
 * are fsync'd, renamed over the name, and the folder is fsync'd, so after
 * a crash a name holds its old bytes or its new ones, never a mix. Temp
 * files left by a crash are removed (and reported) at open.
 *
 * Nothing read back is trusted: a record that does not parse, whose name
 * does not match its content, whose declaration is not in canonical form
 * or no longer fits the policy, or a file that is not the store's, is
 * reported with its path (-EBADMSG, or through a report callback when
 * listing); the store never crashes on one and never guesses.
 *
 * Secrets are sealed when the store is opened with a seal key (the
 * encrypted store: init derives it from the disk key, docs/STORE.md):
 * "sealing":"aes-256-gcm", value = base64(nonce (12 random bytes) ||
 * AES-256-GCM ciphertext || tag (16)), the AAD "dshield-store/v1 secret "
 * followed by the secret's name, so a value moved to another name, or
 * copied to another store, does not open. Without a key (no data disk:
 * tmpfs; host mode) they are stored as they are ("sealing":"none"). A
 * store with a key refuses a "none" record and one without a key refuses
 * a sealed one: neither is ever mistaken for the other. A sealed value
 * whose tag fails is -EBADMSG with its path: unreadable, never empty.
 *
 * Caller-owned context; no hidden state; one thread.
 */
#ifndef DSHIELD_SANDBOXD_STORE_H
#define DSHIELD_SANDBOXD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/fn_decl.h"
#include "crypto/fn_tokens.h"
#include "crypto/policy.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "lib/json_tok.h"

#define STORE_MAX_SECRETS  256
#define STORE_MAX_TOKENS   256
#define STORE_NAME_MAX     64           /* a listed name, without ".json" */
#define STORE_PATH_MAX     256          /* the directory's path */
#define STORE_SEAL_KEY_LEN 32
#define STORE_SEAL_NONCE   12
#define STORE_SEAL_TAG     16
#define STORE_SEAL_OVERHEAD (STORE_SEAL_NONCE + STORE_SEAL_TAG)
#define STORE_SEAL_AAD     "dshield-store/v1 secret "   /* then the name */
/* The largest record: a secret's sealed base64 value and its frame. */
#define STORE_REC_MAX      (BASE64_ENCODED_LEN(FN_SECRET_VALUE_MAX + STORE_SEAL_OVERHEAD) + 512)

enum store_kind { STORE_FUNCTIONS, STORE_SECRETS, STORE_TOKENS, STORE_KIND_N };

struct store {
	int dirfd;
	int kfd[STORE_KIND_N];     /* functions/, secrets/, tokens/ */
	int codefd;                /* code/ */
	const struct policy *policy;
	bool sealed;               /* secrets sealed with seal_key */
	uint8_t seal_key[STORE_SEAL_KEY_LEN];
	char root[STORE_PATH_MAX];
	/* scratch for one record at a time */
	char rec[STORE_REC_MAX + 1];
	char canon[FN_DECL_CANON_MAX + 1];
	jsmntok_t toks[FN_DECL_MAX_TOKENS];
	struct fn_body_tokens btoks;
	struct fn_decl tmp_decl;
	char names[STORE_MAX_SECRETS][STORE_NAME_MAX + 1];   /* listings inside the store */
	unsigned char copy[FN_SECRET_VALUE_MAX];             /* code copy chunks; an old secret */
	uint8_t box[FN_SECRET_VALUE_MAX + STORE_SEAL_OVERHEAD]; /* a sealed value */
};

/* Called for each file a listing or open finds wrong (path, reason). */
struct store_report {
	void (*fn)(void *arg, const char *path, const char *why);
	void *arg;
};

/* Opens (creating, 0700) the store in dir; p must outlive it (its
 * functions.max bounds the functions, and declarations are re-checked
 * against it). seal_key: secrets are sealed with it (copied, wiped at
 * close); NULL: unsealed. Stale temp files are removed and reported.
 * Returns 0 or -errno with err set. */
int store_open(struct store *st, const char *dir, const struct policy *p,
	       const uint8_t *seal_key, const struct store_report *rep, char err[ERRBUF_LEN]);
void store_close(struct store *st);

/* What the store says of its secrets: "aes-256-gcm" or "none". */
const char *store_sealing(const struct store *st);

/* The sealing itself, pure (exposed for known-answer tests): out =
 * nonce || AES-256-GCM(key, nonce, aad = STORE_SEAL_AAD || name, in) ||
 * tag, len + STORE_SEAL_OVERHEAD bytes. store_unseal: the reverse into
 * out (len - STORE_SEAL_OVERHEAD bytes); -EBADMSG when the tag does not
 * verify (another key, another name, a changed byte), out zeroed; -EINVAL
 * when len is shorter than the overhead. */
void store_seal(const uint8_t key[STORE_SEAL_KEY_LEN], const uint8_t nonce[STORE_SEAL_NONCE],
		const char *name, const void *in, size_t len, uint8_t *out);
long store_unseal(const uint8_t key[STORE_SEAL_KEY_LEN], const char *name, const uint8_t *in,
		  size_t len, void *out);

/* The names of kind k in ascending order into names[0..cap); files that
 * are not the store's are reported and skipped. Returns the count, or
 * -ENOSPC (more than cap) or -errno. */
long store_list(struct store *st, enum store_kind k, char (*names)[STORE_NAME_MAX + 1], size_t cap,
		const struct store_report *rep, char err[ERRBUF_LEN]);

/* --- functions ------------------------------------------------------------------ */

/* Stores d (code hashed: fn_code_write) and its code, read from code_fd
 * (from offset 0; a memfd) and checked against d->code_sha256 and
 * d->code_bytes. create: -EEXIST when the id is taken; else (an update)
 * -ENOENT when it is not, and the created time is kept. -ENOSPC when a
 * new function would pass the policy's functions.max. */
int store_fn_put(struct store *st, const struct fn_decl *d, int code_fd, bool create, int64_t now,
		 char err[ERRBUF_LEN]);
/* Reads function id into *d (stored shape, checked against the policy).
 * -ENOENT, -EBADMSG (corrupt, with the path in err). */
int store_fn_get(struct store *st, const char *id, struct fn_decl *d, int64_t *created,
		 int64_t *updated, char err[ERRBUF_LEN]);
/* Opens d's code read-only (O_CLOEXEC); returns the fd or -errno. */
int store_fn_code_open(struct store *st, const struct fn_decl *d, char err[ERRBUF_LEN]);
/* Removes function id, and its code when no other function names it. */
int store_fn_del(struct store *st, const char *id, char err[ERRBUF_LEN]);

/* --- secrets -------------------------------------------------------------------- */

int store_secret_put(struct store *st, const char *name, const char *value, size_t len, int64_t now,
		     char err[ERRBUF_LEN]);
/* The value into val[0..cap) (cap > FN_SECRET_VALUE_MAX does), *len its
 * length; created/updated may be NULL. */
int store_secret_get(struct store *st, const char *name, char *val, size_t cap, size_t *len,
		     int64_t *created, int64_t *updated, char err[ERRBUF_LEN]);
int store_secret_del(struct store *st, const char *name, char err[ERRBUF_LEN]);

/* --- tokens --------------------------------------------------------------------- */

/* Stores a new token record (-EEXIST when its id is taken). */
int store_token_put(struct store *st, const struct fn_token_rec *r, char err[ERRBUF_LEN]);
int store_token_get(struct store *st, const char *id, struct fn_token_rec *r, char err[ERRBUF_LEN]);
int store_token_del(struct store *st, const char *id, char err[ERRBUF_LEN]);

/* --- the two halves of every write ----------------------------------------------
 * Exposed so that a test can stop between them, as a crash would. */

/* Writes buf to ".tmp-<name>" in dirfd and fsyncs it. */
int store_tmp_write(int dirfd, const char *name, const void *buf, size_t len);
/* Renames ".tmp-<name>" over name and fsyncs the folder. */
int store_tmp_commit(int dirfd, const char *name);

#endif
