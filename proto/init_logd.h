/* proto/init_logd.h: the lifecycle protocol between init and logd.
 *
 * Fixed-size payloads only: init checks sizes with imsg_get() and parses
 * nothing else logd says. logd learns the boot's facts for its boot entry
 * from keyd (proto/logd_keyd.h), which measured them; init tells it only
 * how to run.
 */
#ifndef DSHIELD_PROTO_INIT_LOGD_H
#define DSHIELD_PROTO_INIT_LOGD_H

#include <stdint.h>

#include "proto/role.h"

enum init_logd_imsg_type {
	IMSG_LOGD_CONFIG = IMSG_RANGE_INIT_LOGD, /* init -> logd: struct logd_config_msg */
	IMSG_LOGD_STATUS,      /* logd -> init: struct logd_status_msg */
};

#define LOGD_STORE_TEXT 192          /* = STORE_INFO_TEXT (proto/init_netd.h) */
#define LOGD_FRESH_MAX  1024         /* = crypto/kms_fresh.h KMS_RECORD_MAX */
struct logd_config_msg {
	uint32_t checkpoint_interval_ms;  /* sign at least this often while entries arrive */
	uint8_t sync;                     /* 1: fdatasync before acknowledging (always in the VM) */
	/* 1: logd ran before in this boot (init counts its starts). Only then
	 * may a last boot entry with this boot's instance id be this boot's:
	 * with the key provider kms the instance id is the store's, the same
	 * at every boot (docs/STORE.md "Identifiers") */
	uint8_t restarted;
	/* 1: the policy's kms.on_rollback is "flag": a record the log does not
	 * hold is said (console, status, the boot entry) and appends go on */
	uint8_t fresh_flag;
	uint8_t reserved;
	/* the encrypted store's one-line summary for the boot entry
	 * (docs/STORE.md), NUL-terminated; empty: the entry does not name it */
	char store[LOGD_STORE_TEXT];
	/* the key provider kms: the freshness record the KMS returned with the
	 * disk key (authenticated by the key wrap), fresh_len bytes and a NUL;
	 * logd compares it with its log before it appends anything (0: none) */
	uint32_t fresh_len;
	char fresh[LOGD_FRESH_MAX + 1];
};

enum logd_state {
	LOGD_STATE_READY = 1,     /* store open, appends accepted */
	LOGD_STATE_FAILED,        /* store failed closed: every append is refused */
};

/* logd's comparison of the KMS's freshness record with its log. */
enum logd_fresh {
	LOGD_FRESH_NONE = 0,      /* no record to compare */
	LOGD_FRESH_OK,            /* the log has the record's size and root at it */
	LOGD_FRESH_ROLLBACK,      /* the log is shorter than the record: an old disk */
	LOGD_FRESH_FORK,          /* another root at the record's size */
	LOGD_FRESH_UNREADABLE,    /* not a freshness record */
	LOGD_FRESH_N
};

/* Sent when logd serves requests, and again when its state changes. A
 * verdict other than NONE and OK comes with state FAILED (logd refuses
 * every append to a log the KMS says is not the latest), or, when the
 * configuration's fresh_flag says so, READY: the rollback is flagged. */
struct logd_status_msg {
	uint32_t state;           /* enum logd_state */
	uint32_t fresh;           /* enum logd_fresh */
	uint64_t size;            /* committed entries */
	uint64_t torn_bytes;      /* dropped at open (a torn tail), 0 when clean */
	uint64_t fresh_size;      /* the record's tree size (fresh not NONE) */
};

#endif
