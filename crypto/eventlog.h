/* crypto/eventlog.h: TDX measurement event logs, parsed and replayed.
 *
 * Two forms of log reach a verifier:
 *
 *  - the CCEL boot log the firmware writes (ACPI "CCEL" table area): TCG2
 *    crypto-agile format, a TCG_PCClientPCREvent header (SHA-1 layout,
 *    EV_NO_ACTION, "Spec ID Event03" naming the digest algorithms and their
 *    sizes) followed by TCG_PCR_EVENT2 records. Their index is a CC
 *    measurement register: 0 = MRTD, 1..4 = RTMR0..RTMR3.
 *  - a JSON log, an array of objects: dstack's form
 *      {"imr":N,"event_type":T,"digest":hex,"event":name,"event_payload":hex}
 *    (which carries the boot events of RTMR0-2 and the runtime events of
 *    RTMR3) and dshield's own runtime form
 *      {"imr":3,"event_type":134217729,"name":s,"payload":hex,"digest":hex}
 *    (see crypto/rtmr3.h; both spellings of each key are accepted).
 *
 * Replay: RTMR[i] starts as 48 zero bytes; each event (except EV_NO_ACTION)
 * sets RTMR[i] = SHA-384(RTMR[i] || digest). That is what TDG.MR.RTMR.EXTEND
 * does, so a replayed log must equal the RTMRs of a quote taken after it.
 *
 * All parsers are bounded and allocate nothing; data spans point into the
 * caller's buffer. Errors are negative errnos (-EBADMSG malformed, -ERANGE
 * a value out of range, -ENOTSUP an unsupported form) with a message that
 * names the byte offset (CCEL) or the event number (JSON).
 */
#ifndef DSHIELD_CRYPTO_EVENTLOG_H
#define DSHIELD_CRYPTO_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errbuf.h"

#define EL_SHA384_LEN 48
#define EL_NUM_RTMR 4

/* TCG PC Client event types (the ones a reader names). */
#define EV_POST_CODE                 0x00000001u
#define EV_NO_ACTION                 0x00000003u
#define EV_SEPARATOR                 0x00000004u
#define EV_ACTION                    0x00000005u
#define EV_EVENT_TAG                 0x00000006u
#define EV_PLATFORM_CONFIG_FLAGS     0x0000000Au
#define EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001u
#define EV_EFI_VARIABLE_BOOT         0x80000002u
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define EV_EFI_ACTION                0x80000007u
#define EV_EFI_PLATFORM_FIRMWARE_BLOB2 0x8000000Au
#define EV_EFI_HANDOFF_TABLES2       0x8000000Bu
#define EV_EFI_VARIABLE_BOOT2        0x8000000Cu
/* dstack's runtime event type (RTMR3), also the prefix of its digest. */
#define EV_DSTACK_RUNTIME            0x08000001u

/* TCG algorithm ids. */
#define TPM_ALG_SHA1   0x0004u
#define TPM_ALG_SHA256 0x000Bu
#define TPM_ALG_SHA384 0x000Cu
#define TPM_ALG_SHA512 0x000Du

#define CCEL_MAX_ALGS 8

/* One event as a reader sees it. */
struct el_event {
	uint32_t mr_index;     /* CCEL: CC MR index (1..4 = RTMR0..3); JSON: imr */
	int rtmr;              /* 0..3, or -1 when the index names no RTMR */
	uint32_t type;
	bool has_sha384;
	uint8_t sha384[EL_SHA384_LEN];
	const uint8_t *data;   /* CCEL: event data, in the caller's buffer */
	size_t data_len;
	size_t offset;         /* CCEL: offset of the record in the log */
};

/* Returns a static name for a TCG event type, or NULL when unknown. */
const char *el_event_type_name(uint32_t type);

/* Extends one register: rtmr = SHA-384(rtmr || digest). */
void el_extend(uint8_t rtmr[EL_SHA384_LEN], const uint8_t digest[EL_SHA384_LEN]);

/* ---- CCEL (TCG2 crypto-agile binary log) ---- */

struct ccel_reader {
	const uint8_t *buf;
	size_t len;
	size_t off;            /* next record */
	unsigned n_algs;
	uint16_t alg_id[CCEL_MAX_ALGS];
	uint16_t alg_size[CCEL_MAX_ALGS];
	unsigned count;        /* records returned so far (header included) */
	bool done;
	char err[ERRBUF_LEN];
};

/* Parses the Spec ID header event. 0 or a negative errno (message in
 * r->err). The header itself is returned by the first ccel_next() as an
 * EV_NO_ACTION event without SHA-384 digest (its index is whatever the
 * firmware wrote: TCG says 0, TDVF writes 1). */
int ccel_open(struct ccel_reader *r, const void *buf, size_t len);
/* 1 and *ev filled, 0 at the end of the log (end of buffer, or a record
 * header of all 0xFF or all 0x00 bytes: the unused tail of the CCEL area),
 * or a negative errno. */
int ccel_next(struct ccel_reader *r, struct el_event *ev);

struct el_replay {
	uint8_t rtmr[EL_NUM_RTMR][EL_SHA384_LEN];
	unsigned n_events;           /* every record, the header included */
	unsigned n_measured[EL_NUM_RTMR];
	char err[ERRBUF_LEN];
};

/* Parses a whole CCEL log and replays it into rp (zeroed first). 0 or a
 * negative errno (message in rp->err). */
int ccel_replay(const void *buf, size_t len, struct el_replay *rp);

/* ---- JSON logs (dstack's form and dshield's runtime form) ---- */

/* Replays a JSON array of events into rp (zeroed first). Each event with
 * event_type EV_DSTACK_RUNTIME has its digest recomputed from name and
 * payload (crypto/rtmr3.h); a listed digest must equal it, an empty or
 * missing one is taken as computed. Other events must list a 48-byte
 * digest. JSON escapes are refused in event names (no real log uses them,
 * and the digest is over the raw bytes). 0 or a negative errno. */
int el_json_replay(const char *json, size_t len, struct el_replay *rp);

/* Calls fn for each event of a JSON log, in order, after checking it as
 * el_json_replay does; ev->data is the decoded payload in a buffer owned by
 * the call (valid during fn only), name the event name (NUL terminated).
 * fn returns 0 to go on or a negative errno to stop with it. */
typedef int (*el_json_fn)(void *ctx, const struct el_event *ev, const char *name);
int el_json_each(const char *json, size_t len, el_json_fn fn, void *ctx,
		 char err[ERRBUF_LEN]);

#endif
