/* proto/logd_keyd.h: logd asks keyd to sign the log's checkpoints and
 * learns the boot facts of its boot entry.
 *
 * keyd holds the log key (keyd/logkey.c) and never hands it out: logd
 * sends a tree size and root, keyd formats the checkpoint text itself
 * (its own origin line, crypto/checkpoint.h) and signs that, so logd can
 * make keyd sign nothing but checkpoints of its own origin. keyd refuses
 * a tree head that goes back: a size below the last one it signed, or the
 * same size with another root (-EINVAL), so even a compromised logd
 * cannot get two signed views of the log from one keyd. The last signed
 * head fills REPORTDATA's checkpoint slot of every later quote.
 *
 * Requests carry logd's sequence number in hdr.id, echoed by keyd.
 */
#ifndef DSHIELD_PROTO_LOGD_KEYD_H
#define DSHIELD_PROTO_LOGD_KEYD_H

#include <stdint.h>

#include "proto/role.h"

enum logd_keyd_imsg_type {
	IMSG_LOG_BOOT_REQ = IMSG_RANGE_LOGD_KEYD, /* logd -> keyd: no payload */
	IMSG_LOG_BOOT_REPLY,   /* keyd -> logd: struct log_boot_reply_msg */
	IMSG_LOG_SIGN_REQ,     /* logd -> keyd: struct log_sign_req_msg */
	IMSG_LOG_SIGN_REPLY,   /* keyd -> logd: struct log_sign_reply_msg */
};

/* What the boot entry (crypto/log_entry.h LOG_BOOT) records. */
struct log_boot_reply_msg {
	int32_t error;            /* 0, or negative errno: keyd is unavailable */
	uint8_t backend;          /* enum keyd_backend (proto/init_keyd.h) */
	uint8_t has_manifest;
	uint8_t reserved[2];
	uint8_t manifest_sha256[32];
	uint8_t instance_id[16];  /* the "instance-id" RTMR3 event's payload */
};

struct log_sign_req_msg {
	uint64_t size;
	uint8_t root[32];
};

/* The signed note: the checkpoint text, a blank line, keyd's signature
 * line (C2SP signed-note), NUL terminated. */
#define LOG_SIGNED_CHECKPOINT_MAX 1024
struct log_sign_reply_msg {
	int32_t error;            /* 0, or negative errno (-EINVAL: the head goes back) */
	uint32_t note_len;        /* bytes of note before its NUL */
	uint64_t size;            /* echoed */
	uint8_t root[32];         /* echoed */
	char note[LOG_SIGNED_CHECKPOINT_MAX];
};

#endif
