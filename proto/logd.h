/* proto/logd.h: logd's service to the roles that log (netd now; sandboxd
 * will speak the same messages on its own channel): append entries, and
 * read the committed log for the API.
 *
 * Requests carry the caller's sequence number in hdr.id (never reused
 * while the caller runs); logd echoes it. logd answers every request it
 * can read, a malformed one with error = -EBADMSG, and trusts nothing in
 * it beyond the fixed struct: an appended entry is decoded strictly
 * (crypto/log_entry.h) before it is stored.
 *
 * The append contract (fail closed, docs/LOG.md): IMSG_LOG_APPENDED with
 * error 0 is sent only after the entry is durable (group commit: appends
 * that arrive while a sync runs share the next one). Any other answer, or
 * no answer because logd died, means the entry may not be in the log, and
 * the caller must refuse the action that wanted the record.
 *
 * Reads see only committed entries. Tiles and entry bundles can be larger
 * than one message (a bundle of 256 entries of up to 64 KiB each), so they
 * are read in chunks: the caller asks for an offset and gets up to
 * LOG_READ_CHUNK bytes and the object's total length, and may stream each
 * chunk to its client before asking for the next.
 */
#ifndef DSHIELD_PROTO_LOGD_H
#define DSHIELD_PROTO_LOGD_H

#include <stddef.h>
#include <stdint.h>

#include "proto/role.h"

enum logd_imsg_type {
	IMSG_LOG_APPEND = IMSG_RANGE_LOGD, /* -> logd: the encoded entry (payload = its bytes) */
	IMSG_LOG_APPENDED,       /* logd ->: struct log_appended_msg */
	IMSG_LOG_CHECKPOINT_REQ, /* -> logd: struct log_checkpoint_req_msg */
	IMSG_LOG_CHECKPOINT,     /* logd ->: struct log_checkpoint_msg */
	IMSG_LOG_READ_REQ,       /* -> logd: struct log_read_req_msg */
	IMSG_LOG_READ,           /* logd ->: struct log_read_msg + len bytes */
	IMSG_LOG_PROOF_REQ,      /* -> logd: struct log_proof_req_msg */
	IMSG_LOG_PROOF,          /* logd ->: struct log_proof_msg */
	IMSG_LOG_FIND_REQ,       /* -> logd: struct log_find_req_msg */
	IMSG_LOG_FOUND,          /* logd ->: struct log_found_msg */
	/* -> logd: as IMSG_LOG_APPEND, for an entry nothing waits for (a
	 * refusal, a response, a completion): logd may hold its sync up to
	 * LOG_APPEND_LAZY_MS for the company of an append something waits
	 * for. Its place in the log is taken at once; its IMSG_LOG_APPENDED
	 * still comes only once it is durable. */
	IMSG_LOG_APPEND_LAZY,
	/* logd ->: the answers to two or more appends of one channel that
	 * one sync made durable (or one failure refused), in the order the
	 * appends came: an array of struct log_appended_one, hdr.id 0. One
	 * message and one wake-up for the caller instead of one per append
	 * (docs/LOG.md, "Answers"). An answer that is alone in its round
	 * still comes as IMSG_LOG_APPENDED; a caller with one append in
	 * flight at a time (sandboxd) gets this only when a late answer to
	 * one it gave up on shares the round, and takes both forms. */
	IMSG_LOG_APPENDED_MANY,
};

#define LOG_APPEND_LAZY_MS 2

/* IMSG_LOG_APPEND's payload is one entry, at most this long (an imsg
 * payload); longer entries are refused by the caller's encoder. */
#define LOG_APPEND_MAX 16384

struct log_appended_msg {
	int32_t error;            /* 0: durable. -EBADMSG, -EMSGSIZE, -EIO, -ENOSPC...;
				     -EPERM: a boot entry (logd appends those itself) */
	uint32_t reserved;
	uint64_t index;           /* the entry's index when error == 0 */
};

/* One answer of an IMSG_LOG_APPENDED_MANY: the append's hdr.id, then as
 * struct log_appended_msg. */
struct log_appended_one {
	uint32_t id;
	int32_t error;
	uint64_t index;
};

/* At most this many answers in one IMSG_LOG_APPENDED_MANY (4 KiB). */
#define LOG_APPENDED_MANY_MAX 256

/* The answers an IMSG_LOG_APPENDED_MANY of len payload bytes holds, or 0
 * when it is not 2 to LOG_APPENDED_MANY_MAX whole ones (malformed). */
static inline size_t log_appended_many_count(size_t len)
{
	size_t n = len / sizeof(struct log_appended_one);

	return len % sizeof(struct log_appended_one) == 0 && n >= 2 && n <= LOG_APPENDED_MANY_MAX ?
	       n : 0;
}

struct log_checkpoint_req_msg {
	uint8_t fresh;            /* 1: sign a checkpoint covering every committed entry first */
	uint8_t reserved[7];
};

#define LOG_CHECKPOINT_NOTE_MAX 1024   /* = LOG_SIGNED_CHECKPOINT_MAX */
struct log_checkpoint_msg {
	int32_t error;            /* -ENOENT: nothing signed yet; -EAGAIN: keyd unavailable;
				     keyd's refusal (-EINVAL); -EBUSY: too many fresh
				     requests waiting; a failed store's error */
	uint32_t note_len;
	uint64_t size;            /* the tree size the note signs */
	char note[LOG_CHECKPOINT_NOTE_MAX];  /* the signed note, NUL terminated */
};

enum log_read_kind {
	LOG_READ_TILE = 1,        /* hash tile (level, index, width) */
	LOG_READ_BUNDLE = 2,      /* entry bundle (index, width); level ignored */
};

struct log_read_req_msg {
	uint8_t kind;             /* enum log_read_kind */
	uint8_t level;
	uint16_t width;           /* 1..256; 256 = full */
	uint32_t reserved;
	uint64_t index;
	uint64_t offset;          /* first byte of the object wanted */
};

#define LOG_READ_CHUNK 16000
struct log_read_msg {
	int32_t error;            /* -ENOENT: beyond the committed tree; -EINVAL; -EIO: the
				     store failed; -EFBIG: larger than logd serves */
	uint32_t len;             /* bytes following this struct, <= LOG_READ_CHUNK */
	uint64_t total;           /* the whole object's length */
	uint64_t offset;          /* echoed */
};

enum log_proof_kind { LOG_PROOF_INCLUSION = 1, LOG_PROOF_CONSISTENCY = 2 };

struct log_proof_req_msg {
	uint8_t kind;             /* enum log_proof_kind */
	uint8_t reserved[7];
	uint64_t a;               /* inclusion: leaf index; consistency: old size */
	uint64_t b;               /* tree size (inclusion) or new size (consistency) */
};

#define LOG_PROOF_MAX 64
struct log_proof_msg {
	int32_t error;            /* -EINVAL: bad range; -ENOENT: b beyond the committed tree */
	uint32_t count;
	uint8_t root[32];         /* root of the tree of size b */
	uint8_t hash[LOG_PROOF_MAX][32];
};

/* The entries that name a function (function, invocation, egress,
 * egress_refused, dns_refused), for GET /logs/{id}, or an invocation
 * (invocation, egress, egress_refused, dns_refused), for GET
 * /v1/receipts/{id}: indices in increasing order, from `from` on. */
#define LOG_FIND_ID_MAX 64
#define LOG_FIND_MAX    256
enum log_find_by {
	LOG_FIND_FUNCTION = 0,    /* `function` names a function id */
	LOG_FIND_INVOCATION = 1,  /* `function` names an invocation id */
};
struct log_find_req_msg {
	char function[LOG_FIND_ID_MAX];   /* the id, NUL terminated */
	uint64_t from;
	uint8_t by;               /* enum log_find_by */
	uint8_t reserved[7];
};

#define LOG_FIND_NO_ENTRY UINT64_MAX
struct log_found_msg {
	int32_t error;
	uint32_t count;
	uint64_t next;            /* where to continue (== committed size when done) */
	uint64_t entry;           /* by invocation: the index of its invocation entry
				     (committed), else LOG_FIND_NO_ENTRY */
	uint64_t index[LOG_FIND_MAX];
};

#endif
