/* crypto/rtmr3.h: the runtime event log of RTMR3 (guest side).
 *
 * Each runtime event is (name, payload). Its digest follows dstack's
 * convention so that dstack's verifiers can replay dshield's log:
 *
 *   digest = SHA-384( le32(0x08000001) || ":" || name || ":" || payload )
 *
 * and RTMR3 = SHA-384(RTMR3 || digest) for each event in order. Names are
 * 1..RTMR3_NAME_MAX printable ASCII bytes without ':' (a ':' in the name
 * would make two different (name, payload) pairs hash alike) nor '"' or
 * '\\' (so that the JSON form needs no escapes).
 *
 * The log keeps events in memory (no allocation: the caller owns the
 * struct) together with the RTMR3 value they replay to, and renders them as
 * dshield's JSON log form, one object per event:
 *
 *   {"imr":3,"event_type":134217729,"name":"manifest","payload":"<hex>",
 *    "digest":"<hex>"}
 *
 * crypto/eventlog.h replays that form as well as dstack's (whose keys are
 * "event" and "event_payload"). Extending the hardware register is the
 * caller's job (the device belongs to keyd); this module only computes.
 *
 * The binary record form (keyd's saved log, and the events keyd sends
 * netd with a quote) is, per event and with nothing between events:
 *
 *   u8 name_len (1..RTMR3_NAME_MAX) | name | le16 payload_len
 *   (0..RTMR3_PAYLOAD_MAX) | payload
 *
 * Digests are not carried: a reader recomputes them from name and payload,
 * so a record cannot claim a digest its contents do not have.
 */
#ifndef DSHIELD_CRYPTO_RTMR3_H
#define DSHIELD_CRYPTO_RTMR3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTMR3_DIGEST_LEN 48
#define RTMR3_NAME_MAX 64
#define RTMR3_PAYLOAD_MAX 512
/* The log's bounds, enforced when an event is appended (and so when a
 * saved log is reloaded): at most RTMR3_LOG_MAX events whose records
 * (below) take at most RTMR3_LOG_BYTES_MAX bytes in all. A function event
 * is a 163-byte record, so a full log holds 4096 of them. keyd refuses to
 * record beyond either bound (-ENOSPC), and callers fail closed. */
#define RTMR3_LOG_MAX 4096
#define RTMR3_LOG_BYTES_MAX (1u << 20)
#define RTMR3_EVENT_TYPE 0x08000001u

/* Is name acceptable as an event name (see above)? */
bool rtmr3_name_valid(const char *name, size_t len);

/* The event digest. The name is taken as given (len bytes): validation is
 * rtmr3_name_valid()'s job, so that a verifier can recompute the digest of
 * any name a foreign log holds. */
void rtmr3_event_digest_n(const char *name, size_t name_len,
			  const void *payload, size_t len,
			  uint8_t out[RTMR3_DIGEST_LEN]);
void rtmr3_event_digest(const char *name, const void *payload, size_t len,
			uint8_t out[RTMR3_DIGEST_LEN]);

struct rtmr3_event {
	char name[RTMR3_NAME_MAX + 1];
	uint16_t payload_len;
	uint8_t payload[RTMR3_PAYLOAD_MAX];
	uint8_t digest[RTMR3_DIGEST_LEN];
};

struct rtmr3_log {
	unsigned n;
	size_t rec_bytes;                  /* the records of ev[0..n), encoded */
	uint8_t rtmr3[RTMR3_DIGEST_LEN];   /* the replay of ev[0..n) */
	struct rtmr3_event ev[RTMR3_LOG_MAX];
};

void rtmr3_log_init(struct rtmr3_log *log);
/* Would an event with this name length and payload length fit the log's
 * bounds (RTMR3_LOG_MAX events, RTMR3_LOG_BYTES_MAX bytes of records)? */
bool rtmr3_log_room(const struct rtmr3_log *log, size_t name_len, size_t payload_len);
/* Appends an event and extends log->rtmr3. Returns the event's index, or
 * -EINVAL (bad name), -EMSGSIZE (payload too long), -ENOSPC (log full:
 * rtmr3_log_room() false).
 * On success the digest to extend the hardware RTMR3 with is
 * log->ev[index].digest. */
int rtmr3_log_append(struct rtmr3_log *log, const char *name,
		     const void *payload, size_t len);
/* Drops the last event and recomputes log->rtmr3: for when extending the
 * hardware register failed after the append. */
void rtmr3_log_drop_last(struct rtmr3_log *log);
/* Writes the log as a JSON array into buf. Returns the length, or a
 * negative errno (-ENOSPC). Needs at most RTMR3_JSON_MAX(n) bytes. */
long rtmr3_log_json(const struct rtmr3_log *log, char *buf, size_t cap);

/* One record of the binary form into buf; its length, -EINVAL (bad name or
 * payload) or -ENOSPC. */
long rtmr3_rec_encode(const char *name, const void *payload, size_t len, uint8_t *buf,
		      size_t cap);
/* Every event of the log as records; the length, or -ENOSPC. */
long rtmr3_log_encode(const struct rtmr3_log *log, uint8_t *buf, size_t cap);
#define RTMR3_REC_MAX (1 + RTMR3_NAME_MAX + 2 + RTMR3_PAYLOAD_MAX)

/* A record read in place from buf (name and payload point into it). */
struct rtmr3_rec {
	const char *name;
	size_t name_len;
	const uint8_t *payload;
	size_t payload_len;
};
/* Reads the record at *off and moves *off past it: 1; 0 at the end of
 * buf; -EBADMSG for a record that overruns buf or whose name is invalid. */
int rtmr3_rec_next(const uint8_t *buf, size_t len, size_t *off, struct rtmr3_rec *rec);
/* Replays records into a fresh log: 0, -EBADMSG, or rtmr3_log_append's
 * errors (-ENOSPC when there are more than RTMR3_LOG_MAX). */
int rtmr3_log_decode(struct rtmr3_log *log, const uint8_t *buf, size_t len);
/* The records as the JSON array above, written into an open jsonw (digests
 * recomputed). 0, or -EBADMSG (the array then ends at the bad record). */
struct jsonw;
int rtmr3_records_json(struct jsonw *w, const uint8_t *buf, size_t len);
/* One record as one event object of that array (its digest recomputed),
 * for a writer that renders the array a piece at a time (netd streams the
 * attestation document). */
void rtmr3_rec_json(struct jsonw *w, const struct rtmr3_rec *rec);
/* The exact length of rtmr3_rec_json's object: names need no escapes
 * (rtmr3_name_valid), payload and digest are hex. */
#define RTMR3_JSON_EVENT_FIXED (67 + 2 * RTMR3_DIGEST_LEN)
size_t rtmr3_rec_json_len(const struct rtmr3_rec *rec);

#define RTMR3_JSON_EVENT_MAX (96 + RTMR3_NAME_MAX + 2 * RTMR3_PAYLOAD_MAX + 2 * RTMR3_DIGEST_LEN)
#define RTMR3_JSON_MAX(n) (3 + (size_t)(n) * RTMR3_JSON_EVENT_MAX)
/* The JSON array of any log within the bounds: an event's object is
 * RTMR3_JSON_EVENT_FIXED + name + 2 * payload bytes, at most twice its
 * record plus RTMR3_JSON_EVENT_FIXED, and a comma between events. About
 * 2.8 MiB: what a verifier must be ready to read. */
#define RTMR3_LOG_JSON_MAX \
	(2 + 2 * (size_t)RTMR3_LOG_BYTES_MAX + (size_t)RTMR3_LOG_MAX * (RTMR3_JSON_EVENT_FIXED + 1))

#endif
