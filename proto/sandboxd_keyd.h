/* proto/sandboxd_keyd.h: sandboxd has keyd record each function change as
 * an RTMR3 event, so a quote's event log shows what runs.
 *
 * The event is named "function"; its payload is the fixed struct below
 * (docs/KEYD.md gives it byte by byte). keyd extends RTMR3 and appends to
 * its event log before it answers; sandboxd makes the change visible
 * (stores, serves) only after error 0 (fail closed: a function that is not
 * in the measured log does not run).
 */
#ifndef DSHIELD_PROTO_SANDBOXD_KEYD_H
#define DSHIELD_PROTO_SANDBOXD_KEYD_H

#include <stdint.h>

#include "proto/role.h"

enum sandboxd_keyd_imsg_type {
	IMSG_FN_EVENT_REQ = IMSG_RANGE_SANDBOXD_KEYD, /* sandboxd -> keyd: struct fn_event_msg */
	IMSG_FN_EVENT_REPLY,   /* keyd -> sandboxd: struct fn_event_reply_msg */
};

enum fn_event_op { FN_EVENT_DEPLOY = 1, FN_EVENT_UPDATE = 2, FN_EVENT_DELETE = 3 };

/* The event's payload, exactly these 152 bytes. */
struct fn_event_msg {
	uint8_t version;           /* 1 */
	uint8_t op;                /* enum fn_event_op */
	uint8_t reserved[6];       /* 0 */
	char id[64];               /* NUL padded */
	char runtime[16];          /* NUL padded */
	uint8_t code_sha256[32];   /* zero for a delete */
	uint8_t decl_sha256[32];   /* SHA-256 of the canonical declaration; zero for a delete */
};

struct fn_event_reply_msg {
	int32_t error;             /* 0: extended and logged; else a negative errno */
	uint32_t events;           /* runtime events in keyd's log after this one */
};

#endif
