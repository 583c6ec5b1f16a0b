/* crypto/log_entry.h: the canonical binary encoding of the egress log's
 * entries (the bytes each Merkle leaf hashes; docs/LOG.md has them byte
 * by byte).
 *
 *   entry = version (1) | type (1) | time_ns (u64) | the type's fields
 *
 * Integers are big-endian; a string is a u16 length and that many bytes
 * of UTF-8 with no control characters (each field has its own maximum);
 * an optional hash is 0x00, or 0x01 and 32 bytes; an address is a family
 * byte (0 none, 4, 6) and 0, 4 or 16 bytes. There are no optional fields
 * otherwise and no padding: one entry has exactly one encoding, and the
 * decoder refuses anything else (unknown version or type, a field out of
 * its bounds, trailing bytes).
 *
 * One table per type lists its fields; encoding, decoding and the JSON
 * rendering all walk it, so the three cannot disagree.
 */
#ifndef DSHIELD_CRYPTO_LOG_ENTRY_H
#define DSHIELD_CRYPTO_LOG_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_ENTRY_VERSION 1
/* Version 2 changes one type: an invocation also records its function's
 * code hash (after its invocation id), which its receipt covers. Version 3
 * changes one other: a boot entry also names the encrypted store (its
 * one-line summary, docs/STORE.md). Every other type exists in version 1
 * only. */
#define LOG_ENTRY_VERSION_MAX 3
/* An entry fits an entry bundle (crypto/tlog_tiles.h). */
#define LOG_ENTRY_MAX     65535
#define LOG_HASH_LEN      32

enum log_entry_type {
	LOG_BOOT = 1,
	LOG_FUNCTION = 2,
	LOG_INVOCATION = 3,
	LOG_EGRESS = 4,
	LOG_EGRESS_REFUSED = 5,
	LOG_DNS_REFUSED = 6,
	LOG_ATTESTATION = 7,
};

enum log_function_op { LOG_OP_DEPLOY = 1, LOG_OP_UPDATE = 2, LOG_OP_DELETE = 3 };
enum log_decision { LOG_ALLOW = 1, LOG_DENY = 2 };

/* A string field; after decoding it points into the decoded bytes. */
struct log_str {
	const char *p;
	size_t len;
};

struct log_opt_hash {
	bool present;
	uint8_t h[LOG_HASH_LEN];
};

struct log_addr {
	uint8_t family;       /* 0 (none), 4 or 6 */
	uint8_t a[16];
};

/* egress and egress_refused share one layout */
struct log_egress {
	struct log_str function, invocation, method, scheme, host;
	uint16_t port;
	struct log_str path;              /* empty when the policy logs its hash */
	struct log_opt_hash path_hash;    /* SHA-256 of the path, when logged so */
	uint16_t status;                  /* upstream HTTP status, 0 if none */
	uint64_t bytes_up, bytes_down;
	uint64_t connect_ns, total_ns;
	struct log_addr addr;             /* the resolved upstream address */
	struct log_opt_hash spki;         /* SHA-256 of the upstream cert's SPKI */
	struct log_str rule;
	uint8_t decision;                 /* enum log_decision */
	struct log_str reason;
};

struct log_entry {
	uint8_t version;                  /* 0 (encodes as 1), 1, 2 (invocations only) or 3 (boot only) */
	uint8_t type;                     /* enum log_entry_type */
	uint64_t time_ns;                 /* unix time, nanoseconds */
	union {
		struct {
			uint8_t manifest[LOG_HASH_LEN];
			struct log_str backend, instance;
			struct log_str store;     /* version 3 only (empty in 1) */
		} boot;
		struct {
			uint8_t op;               /* enum log_function_op */
			struct log_str id, runtime;
			uint8_t code[LOG_HASH_LEN], decl[LOG_HASH_LEN];
		} function;
		struct {
			struct log_str function, invocation;
			uint8_t code[LOG_HASH_LEN];   /* version 2 only (zero in 1) */
			uint8_t input[LOG_HASH_LEN], output[LOG_HASH_LEN];
			uint32_t status;
			uint64_t queue_ns, run_ns;
		} invocation;
		struct log_egress egress;         /* LOG_EGRESS, LOG_EGRESS_REFUSED */
		struct log_dns_refused {
			struct log_str function, invocation, qname;
			uint16_t qtype;
			struct log_str rule, reason;
		} dns_refused;
		struct {
			uint8_t nonce[LOG_HASH_LEN];  /* SHA-256 of the quote's nonce */
		} attestation;
	} u;
};

/* The type's name ("boot", "egress_refused", ...), or NULL. */
const char *log_entry_type_name(unsigned type);

/* Encodes e into out, in e->version (0: version 1). Returns the length,
 * -EINVAL (unknown type or a type the version does not have, a field out
 * of bounds) or -ENOSPC. */
long log_entry_encode(uint8_t *out, size_t cap, const struct log_entry *e);
/* Decodes in[0..len) strictly into e (strings point into in; e->version
 * is the entry's, so encoding e again gives the same bytes). 0, or
 * -EBADMSG with a reason in err. */
int log_entry_decode(const uint8_t *in, size_t len, struct log_entry *e, char *err, size_t errcap);
/* Renders e as one JSON object for humans. Its length or a negative
 * errno (lib/jsonw). */
long log_entry_json(const struct log_entry *e, char *out, size_t cap);

#endif
