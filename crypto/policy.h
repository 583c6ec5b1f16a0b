/* crypto/policy.h: the operator's policy (docs/POLICY.md).
 *
 * One JSON document given to the image build (`make image POLICY=...`):
 * the admin token's hash, whether the simulated attestation backend is
 * allowed, what functions may run and within which limits, and the egress
 * rules. The image build validates it with this parser (build/tools/
 * mkpolicy) and puts its canonical form into the image manifest, so the
 * measurement covers it; init reads it back from the manifest with the
 * same parser and the roles get it from there.
 *
 * Strict and bounded: unknown fields, repeated keys, wrong types, values
 * out of bounds and non-canonical spellings (an uppercase host, a header
 * name in capitals) are refused with the JSON path of the field, e.g.
 * "functions.max_limits.memory_mb: must be an integer 16..65536". Every
 * count and string has a fixed maximum (POLICY_MAX_*); the parser writes
 * only into the caller's struct policy and token array.
 *
 * Canonical form (policy_write): the policy re-emitted in a fixed key
 * order, every default filled in, set-like lists sorted, no whitespace.
 * Two policies that mean the same have the same bytes and SHA-256, and
 * parsing the canonical form gives back the same struct (policy_equal).
 *
 * Pure code: no I/O, no allocation, no hidden state.
 */
#ifndef DSHIELD_CRYPTO_POLICY_H
#define DSHIELD_CRYPTO_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/json_tok.h"

#define POLICY_FORMAT          1
#define POLICY_MAX_BYTES       (256u << 10) /* input document */
#define POLICY_MAX_TOKENS      4096         /* input JSON tokens */
#define POLICY_MAX_DEPTH       8            /* input nesting */
#define POLICY_CANON_MAX       (128u << 10) /* canonical form, NUL excluded */

#define POLICY_MAX_FUNCTIONS   256   /* bound of functions.max */
#define POLICY_MAX_RULES       32    /* egress rules */
#define POLICY_HOST_MAX        253   /* host pattern, "*." included */
#define POLICY_MAX_PORTS       8     /* per rule */
#define POLICY_PURPOSE_MAX     128   /* printable ASCII */
#define POLICY_MAX_ADDRESSES   8     /* per rule */
#define POLICY_MAX_PATHS       8     /* path_prefixes per rule */
#define POLICY_PATH_MAX        128
#define POLICY_MAX_STRIP       8     /* strip_headers per rule */
#define POLICY_MAX_INJECT      8     /* inject_headers per rule */
#define POLICY_HEADER_MAX      64    /* header name */
#define POLICY_SECRET_MAX      64    /* secret name */
#define POLICY_STORE_KEY_LEN   64    /* store.insecure_dev_key: the disk key */
#define POLICY_KMS_KEY_LEN     65    /* store.kms.public_key: P-256, 04 || X || Y */
#define POLICY_KMS_APP_ID_MAX  63    /* store.kms.app_id: [A-Za-z0-9._-], not '.' first */
#define POLICY_STORE_CIPHER    "aes-xts-plain64" /* the only store.cipher */
#define POLICY_MAX_ANCHORS     4     /* extra_anchors */
#define POLICY_ANCHOR_DER_MAX  2048  /* one of them, DER */

/* functions.runtimes: a set, bit (1 << enum policy_runtime). */
enum policy_runtime { POLICY_RT_NATIVE, POLICY_RT_NODE, POLICY_RT_PYTHON, POLICY_RT_N };
/* egress[].methods: a set, bit (1 << enum policy_method); alphabetical. */
enum policy_method {
	POLICY_M_DELETE, POLICY_M_GET, POLICY_M_HEAD, POLICY_M_OPTIONS,
	POLICY_M_PATCH, POLICY_M_POST, POLICY_M_PUT, POLICY_M_N
};
#define POLICY_METHODS_ALL ((1u << POLICY_M_N) - 1)

enum policy_tls {
	POLICY_TLS_ORIGINATE,   /* the proxy speaks TLS to the host (default) */
	POLICY_TLS_PASSTHROUGH, /* the function's own TLS, bytes relayed */
};

/* store.key_provider: who gives the encrypted store's disk key
 * (docs/STORE.md). NONE: the policy has no "store" section, and state
 * stays on tmpfs. */
enum policy_key_provider { POLICY_KP_NONE, POLICY_KP_DEV, POLICY_KP_KMS };

/* store.integrity: dm-integrity under dm-crypt (docs/STORE.md,
 * "Integrity"). The values are the store header's integrity mode field;
 * AES_GCM is named so that a policy asking for it is refused as not built
 * rather than read as something else. */
enum policy_integrity {
	POLICY_INTEGRITY_NONE = 0,
	POLICY_INTEGRITY_HMAC_SHA256 = 1,
	POLICY_INTEGRITY_AES_GCM = 2,
};

struct policy_store {
	enum policy_key_provider provider;
	/* dev: the 64-byte disk key itself, in the policy and so in the
	 * image, which the host can read: for development only, and every
	 * report says "insecure dev key". */
	uint8_t dev_key[POLICY_STORE_KEY_LEN];
	/* kms: http[s]://kms_host:kms_port kms_path (the request and answer
	 * are bound end to end either way; TLS adds the channel's
	 * confidentiality and the server's authentication, docs/STORE.md
	 * "Transport"), the KMS's P-256 public key, pinned (the key-wrapping
	 * answer is checked with it), and the application id the KMS derives
	 * the key for */
	char kms_host[POLICY_HOST_MAX + 1];
	uint16_t kms_port;
	char kms_path[POLICY_PATH_MAX + 1];
	bool kms_tls;                   /* https:// */
	/* kms.tls_spki_sha256 (https only): the KMS's TLS key, pinned by the
	 * SHA-256 of its certificate's SubjectPublicKeyInfo; without it the
	 * certificate must chain to the image's trust anchors */
	bool kms_has_tls_pin;
	uint8_t kms_tls_spki_sha256[32];
	uint8_t kms_public_key[POLICY_KMS_KEY_LEN];
	char kms_app_id[POLICY_KMS_APP_ID_MAX + 1];
	/* kms.on_rollback: false "refuse" (the default: a store whose log the
	 * KMS's freshness record says is old or forked does not start), true
	 * "flag" (it starts, and /v1/info, the console and the boot entry say
	 * "ROLLBACK DETECTED") */
	bool kms_rollback_flag;
	/* store.integrity: NONE (the default) or HMAC_SHA256 */
	enum policy_integrity integrity;
};

/* Every limit a function runs under (docs/POLICY.md: bounds). */
struct policy_limits {
	uint32_t memory_mb;
	uint32_t pids;
	uint32_t cpu_millicores;
	uint32_t timeout_ms;
	uint32_t tmp_mb;
	uint32_t output_kb;
	uint32_t data_mb;          /* its /data on the store (a project quota); 0: none */
	uint32_t egress_kbps;      /* its proxied connections' bytes, each way, summed
				    * (kbit/s; net/egress_proxy.c's token buckets) */
	uint32_t egress_conns;     /* its proxied connections open at once, at most
				    * POLICY_EGRESS_CONNS_MAX (netd's share for one) */
};
/* The most proxied connections one function may hold: netd's pool is 1024
 * (net/egress_proxy.h EGP_FN_CONN_MAX is this). */
#define POLICY_EGRESS_CONNS_MAX 1000

/* The limits as a table, in the canonical order: key, absolute bounds,
 * the default of default_limits and of max_limits (docs/POLICY.md). */
#define POLICY_NLIMITS 9
struct policy_limit_def {
	const char *key;
	size_t off;
	uint32_t min, max, def_default, def_max;
};
extern const struct policy_limit_def policy_limit_defs[POLICY_NLIMITS];
/* Field k (0 <= k < POLICY_NLIMITS) of l, by the table's order. */
uint32_t *policy_limit_at(struct policy_limits *l, unsigned k);
uint32_t policy_limit_get(const struct policy_limits *l, unsigned k);

struct policy_cidr {
	uint32_t addr;     /* IPv4, host byte order, host bits zero */
	uint8_t prefix;    /* 8..32 */
};

struct policy_inject {
	char header[POLICY_HEADER_MAX + 1];  /* lowercase header name */
	char secret[POLICY_SECRET_MAX + 1];  /* ^[A-Z_][A-Z0-9_]*$ */
};

struct policy_rule {
	char host[POLICY_HOST_MAX + 1];   /* "api.example.com" or "*.example.com" */
	bool wildcard;                    /* host starts with "*." */
	enum policy_tls tls;
	uint16_t ports[POLICY_MAX_PORTS]; /* ascending */
	unsigned nports;
	char purpose[POLICY_PURPOSE_MAX + 1];
	struct policy_cidr addresses[POLICY_MAX_ADDRESSES]; /* ascending */
	unsigned naddresses;
	/* The HTTP-level fields below apply to tls "originate" only. */
	unsigned methods;                 /* bit set; all when not given */
	char path_prefixes[POLICY_MAX_PATHS][POLICY_PATH_MAX + 1]; /* sorted; "/" when not given */
	unsigned npaths;
	char strip_headers[POLICY_MAX_STRIP][POLICY_HEADER_MAX + 1]; /* sorted */
	unsigned nstrip;
	struct policy_inject inject[POLICY_MAX_INJECT]; /* sorted by header */
	unsigned ninject;
	/* "log_path": "hash": the log's records carry SHA-256 of a request's
	 * path (path_hash), never the path (it may hold user data) */
	bool log_path_hash;
	/* a GET that asks for "Upgrade: websocket" may switch the
	 * connection to a byte relay (docs/EGRESS.md, "WebSocket") */
	bool websocket;
};

/* One of extra_anchors: a CA certificate, DER. */
struct policy_anchor {
	uint16_t len;
	uint8_t der[POLICY_ANCHOR_DER_MAX];
};

struct policy {
	uint8_t admin_token_sha256[32];
	bool allow_sim;                   /* attestation.allow_sim */
	unsigned runtimes;                /* bit set of enum policy_runtime */
	uint32_t max_functions;           /* functions.max */
	/* functions.public_invoke: invoking a function needs no token (the
	 * seed service's README quick start invokes without one); every other
	 * route still does */
	bool public_invoke;
	struct policy_limits default_limits;
	struct policy_limits max_limits;
	struct policy_rule rules[POLICY_MAX_RULES]; /* egress, in the given order */
	unsigned nrules;
	struct policy_store store;        /* the encrypted store; NONE when absent */
	/* extra_anchors: CA certificates netd trusts for upstreams besides
	 * the image's (Debian's ca-certificates), sorted by their bytes; every
	 * originate allow record and /v1/info say that some exist */
	struct policy_anchor anchors[POLICY_MAX_ANCHORS];
	unsigned nanchors;
};

/* Caller-owned scratch for policy_parse: the input's JSON tokens. */
struct policy_tokens {
	jsmntok_t t[POLICY_MAX_TOKENS];
};

/* Parses and validates json[0..len) into *p (zeroed first; zeroed again on
 * failure). Returns 0, -EINVAL (with "path: reason" in err), -E2BIG (more
 * than a POLICY_MAX_* of something) or -EFBIG (more than POLICY_MAX_BYTES). */
int policy_parse(const char *json, size_t len, struct policy_tokens *scratch,
		 struct policy *p, char *err, size_t errlen);

/* The same for the object at token obj of a document that the caller has
 * already checked with json_validate() (the image manifest holds the policy
 * as one of its values). Paths in err are relative to that object. */
int policy_from_json(const struct json_doc *d, int obj, struct policy *p,
		     char *err, size_t errlen);

/* Writes the canonical form of p into out[0..cap) (NUL terminated when
 * there is room). Returns its length, or -ENOSPC; POLICY_CANON_MAX + 1
 * bytes always do. */
long policy_write(const struct policy *p, char *out, size_t cap);

/* Do a and b hold the same policy? The parser zeroes the struct and fills
 * it in one order (sets sorted), so this is a byte comparison. */
bool policy_equal(const struct policy *a, const struct policy *b);

/* Is s[0..n) a secret name, ^[A-Z_][A-Z0-9_]*$ of 1..POLICY_SECRET_MAX
 * bytes? (The policy's inject_headers, a function's secrets, the secrets
 * API.) */
bool policy_secret_name_valid(const char *s, size_t n);

/* Names for logs and the canonical form. */
const char *policy_key_provider_name(enum policy_key_provider kp); /* "none" "dev" "kms" */
/* "none" "hmac-sha256" "aes-gcm" (store.integrity's spelling), "?" otherwise */
const char *policy_integrity_name(enum policy_integrity m);
const char *policy_runtime_name(enum policy_runtime rt);
const char *policy_method_name(enum policy_method m);

#endif
