/* proto/netd_keyd.h: netd asks keyd for quotes and for receipts.
 *
 * Requests carry netd's sequence number in hdr.id (never reused while
 * netd runs); keyd echoes it, and netd matches a reply by number and kind.
 * keyd answers every request it can read, a malformed one with
 * error = -EBADMSG, and never trusts a byte of it beyond the fixed struct.
 */
#ifndef DSHIELD_PROTO_NETD_KEYD_H
#define DSHIELD_PROTO_NETD_KEYD_H

#include <stdint.h>

#include "proto/logd_keyd.h"
#include "proto/role.h"

enum netd_keyd_imsg_type {
	IMSG_QUOTE_REQ = IMSG_RANGE_NETD_KEYD, /* netd -> keyd: struct quote_req_msg */
	IMSG_QUOTE_REPLY,      /* keyd -> netd: struct quote_reply_msg + data */
	IMSG_RECEIPT_SIGN_REQ, /* netd -> keyd: struct receipt_sign_req_msg */
	IMSG_RECEIPT_SIGN_REPLY, /* keyd -> netd: struct receipt_sign_reply_msg */
	IMSG_TLS_CERT,         /* keyd -> netd: struct tls_cert_msg, first on every channel */
	IMSG_TLS_SIGN_REQ,     /* netd -> keyd: struct tls_sign_req_msg */
	IMSG_TLS_SIGN_REPLY,   /* keyd -> netd: struct tls_sign_reply_msg */
	IMSG_KEYD_FRESHNESS,   /* keyd -> netd: struct keyd_freshness_msg; id 0 */
};

/* The key provider kms's freshness record (docs/KMS.md "POST
 * /v1/freshness"): each log head keyd signs, signed again as a checkpoint
 * with the one extension line "dshield-freshness-v1 <instance> <store
 * generation>", for netd to post to the KMS. Sent only after a KMS key
 * request this boot (the KMS then holds this boot's log key); no answer:
 * netd posts the latest it has, and a failure is only logged. */
#define FRESHNESS_NOTE_MAX 1024          /* cli/kms_proto.h KMS_RECORD_MAX */
struct keyd_freshness_msg {
	uint32_t note_len;                   /* 1..FRESHNESS_NOTE_MAX */
	uint32_t reserved;
	uint64_t size;                       /* the head's tree size (for the log line) */
	char note[FRESHNESS_NOTE_MAX + 1];   /* note_len bytes, a NUL */
};

/* An attestation request: the API caller's nonce (1..32 bytes). */
#define QUOTE_NONCE_MAX 32
struct quote_req_msg {
	uint8_t nonce[QUOTE_NONCE_MAX];
	uint8_t nonce_len;
};

/* The answer: this fixed part, then quote_len bytes of quote, in one
 * payload of exactly sizeof(struct quote_reply_msg) + quote_len bytes. A
 * successful answer (error 0) carries one descriptor: a sealed memfd
 * (F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_SEAL) of exactly
 * events_len bytes holding the whole runtime event log in the binary
 * record form of crypto/rtmr3.h (rtmr3_rec_next); an error answer carries
 * none. The log is bounded by crypto/rtmr3.h (RTMR3_LOG_MAX events,
 * RTMR3_LOG_BYTES_MAX bytes of records, enforced when keyd records an
 * event), not by the imsg size: netd streams the attestation document
 * from the memfd. keyd fills report_data and the preimage fields it used
 * (nonce echoed, manifest hash) and the backend, so netd reports exactly
 * what was quoted and renders the event log itself. */
#define QUOTE_REPLY_QUOTE_MAX  8192
/* The most event bytes netd accepts in one reply's memfd: the log's own
 * bound (crypto/rtmr3.h RTMR3_LOG_BYTES_MAX, 1 MiB). */
#define QUOTE_REPLY_EVENTS_MAX (1u << 20)
/* The longest checkpoint note a quote reply carries, NUL included: keyd's
 * own form (origin "dshield-log/" + 16 hex digits, a size of at most 19
 * digits, one ECDSA signature line) is at most 233 bytes, and netd's
 * attestation document has room for this much (tests/test_api_attest.c). */
#define QUOTE_CHECKPOINT_MAX 256
#define QUOTE_LOG_VKEY_MAX 392   /* >= crypto/note.h NOTE_VKEY_MAX (390, NUL included) */
enum quote_backend { QUOTE_BACKEND_NONE = 0, QUOTE_BACKEND_TDX = 1, QUOTE_BACKEND_SIM = 2 };
struct quote_reply_msg {
	int32_t error;            /* 0, or a negative errno: no quote, see detail */
	uint8_t backend;          /* enum quote_backend */
	uint8_t has_manifest;
	uint8_t nonce_len;
	uint8_t reserved;
	uint32_t quote_len;
	uint32_t events_len;
	uint8_t nonce[QUOTE_NONCE_MAX];
	uint8_t manifest_sha256[32];
	uint8_t report_data[64];
	char detail[256];         /* NUL terminated; why, when error != 0 */
	/* the log signing key the quote vouches for (REPORTDATA slot 4) */
	uint8_t has_log_key;
	uint8_t reserved2[7];
	uint8_t log_key_sha256[32];       /* SHA-256 of its DER SPKI */
	char log_vkey[QUOTE_LOG_VKEY_MAX]; /* its signed-note verifier key, NUL terminated */
	/* the last checkpoint keyd signed (REPORTDATA slot 5): the signed
	 * note, checkpoint_len (< QUOTE_CHECKPOINT_MAX) bytes then a NUL */
	uint8_t has_checkpoint;
	uint8_t reserved3[3];
	uint32_t checkpoint_len;
	char checkpoint[LOG_SIGNED_CHECKPOINT_MAX];
	/* the API TLS key the quote vouches for (REPORTDATA slot 3) */
	uint8_t has_api_tls;
	uint8_t reserved4[7];
	uint8_t api_tls_spki_sha256[32];  /* SHA-256 of its DER SPKI */
};

/* An invocation's receipt (crypto/receipt.h, docs/LOG.md "Receipts"):
 * netd sends the facts, keyd writes the receipt text itself (its own
 * origin, the strict format) and signs it with the log key, so netd can
 * make keyd sign nothing but receipts. Ids are NUL terminated, 1..63 of
 * [A-Za-z0-9._-]; records 1..16 log indices, increasing, the invocation
 * entry's last; omitted, how many of the invocation's earlier records are
 * not listed (0 unless records is 16). Not rate-limited:
 * every well-formed request is signed, in order (keyd/keyd.h). */
#define RECEIPT_REQ_ID_MAX      64
#define RECEIPT_REQ_RECORDS_MAX 16
struct receipt_sign_req_msg {
	char function[RECEIPT_REQ_ID_MAX];
	char invocation[RECEIPT_REQ_ID_MAX];
	uint8_t code_sha256[32];
	uint8_t input_sha256[32];
	uint8_t output_sha256[32];
	uint32_t status;
	uint32_t nrecords;
	uint64_t time_ns;
	uint64_t record[RECEIPT_REQ_RECORDS_MAX];
	uint64_t omitted;
};

/* The signed receipt note (>= crypto/receipt.h RECEIPT_NOTE_MAX). The
 * reply is sent short: error, note_len, then note_len bytes and a NUL,
 * exactly offsetof(note) + note_len + 1 bytes (note_len 0 on error). */
#define RECEIPT_SIGNED_MAX 1664
struct receipt_sign_reply_msg {
	int32_t error;            /* 0; -EBADMSG (malformed), -EINVAL (a field out of
				     the format), -ENOKEY (no log key), -EBUSY (rate) */
	uint32_t note_len;        /* bytes before the NUL */
	char note[RECEIPT_SIGNED_MAX];
};

/* The API's TLS identity (docs/TLS.md, "The attested API"). keyd holds
 * the ECDSA P-256 key (/state/api-tls.key) and sends netd its certificate
 * first thing on every new channel: self-signed by that key, a function
 * of the key alone (same bytes after any restart). der_len bytes of der
 * are the certificate; the message is sent whole. */
#define TLS_CERT_DER_MAX 1024    /* == tls/cert.h CERT_DER_MAX */
struct tls_cert_msg {
	uint32_t der_len;
	uint8_t spki_sha256[32];      /* SHA-256 of its DER SubjectPublicKeyInfo */
	uint8_t der[TLS_CERT_DER_MAX];
};

/* netd asks keyd to sign one TLS 1.2 ECDHE ServerKeyExchange: not a hash,
 * but the parameters it signs (RFC 8422 §5.4; tls/ske.h struct tls_ske
 * after version and reserved), from which keyd writes the signed bytes
 * itself and hashes them:
 *   client_random(32) ‖ server_random(32) ‖ 03 ‖ curve(2) ‖ len(1) ‖ point
 * keyd refuses (-EBADMSG) a version other than 1, reserved bytes set, a
 * hash other than SHA-256/384/512, a curve other than secp256r1,
 * secp384r1, secp521r1 or x25519, a point of another length or not on
 * its curve, or a server random whose first 4 bytes are not zero
 * (BearSSL's form); -EBUSY past its rate; -ENOKEY without a key. */
#define TLS_SIGN_POINT_MAX 133
struct tls_sign_req_msg {
	uint8_t version;              /* 1 */
	uint8_t reserved[3];
	/* from here on, field for field, tls/ske.h struct tls_ske */
	uint8_t hash_id;              /* BearSSL's: 4 SHA-256, 5 SHA-384, 6 SHA-512 */
	uint8_t point_len;
	uint16_t curve;               /* TLS NamedCurve: 23, 24, 25, 29 */
	uint8_t client_random[32];
	uint8_t server_random[32];
	uint8_t point[TLS_SIGN_POINT_MAX];
};

/* tls/ske.h's struct tls_ske and the request's tail are the same fields
 * in the same order: the two sides (keyd reading, netd writing) copy them
 * whole, with these macros, after checking that the layouts agree
 * (TLS_SKE_LAYOUT_CHECK, where both headers are seen). */
#define TLS_SKE_FROM_REQ(p, q) memcpy((p), &(q)->hash_id, sizeof *(p))
#define TLS_SKE_TO_REQ(q, p)   memcpy(&(q)->hash_id, (p), sizeof *(p))
#define TLS_SKE_LAYOUT_CHECK                                                                    \
	_Static_assert(sizeof(struct tls_ske) <=                                               \
		       sizeof(struct tls_sign_req_msg) - offsetof(struct tls_sign_req_msg, hash_id) && \
		       offsetof(struct tls_ske, point) ==                                      \
		       offsetof(struct tls_sign_req_msg, point) -                              \
		       offsetof(struct tls_sign_req_msg, hash_id) &&                           \
		       offsetof(struct tls_ske, curve) ==                                      \
		       offsetof(struct tls_sign_req_msg, curve) -                              \
		       offsetof(struct tls_sign_req_msg, hash_id) &&                           \
		       offsetof(struct tls_ske, client_random) ==                              \
		       offsetof(struct tls_sign_req_msg, client_random) -                      \
		       offsetof(struct tls_sign_req_msg, hash_id) &&                           \
		       sizeof ((struct tls_ske *)0)->point == TLS_SIGN_POINT_MAX,               \
		       "struct tls_ske is the tail of struct tls_sign_req_msg")

#define TLS_SIG_MAX 72                /* an ECDSA P-256 signature, ASN.1 DER */
struct tls_sign_reply_msg {
	int32_t error;                /* 0, or a negative errno (above) */
	uint32_t sig_len;             /* 0 on error */
	uint8_t sig[TLS_SIG_MAX];
};

#endif
