/* proto/init_keyd.h: the lifecycle protocol between init and keyd.
 *
 * Fixed-size payloads only: init checks sizes with imsg_get() and parses
 * nothing else keyd says.
 */
#ifndef DSHIELD_PROTO_INIT_KEYD_H
#define DSHIELD_PROTO_INIT_KEYD_H

#include <stdint.h>

#include "proto/role.h"

enum init_keyd_imsg_type {
	IMSG_KEYD_CONFIG = IMSG_RANGE_INIT_KEYD, /* init -> keyd: struct keyd_config_msg */
	IMSG_KEYD_STATUS,      /* keyd -> init: struct keyd_status_msg */
	IMSG_KEYD_KMS_REQ,     /* init -> keyd: struct keyd_kms_req_msg */
	IMSG_KEYD_KMS_REPLY,   /* keyd -> init: struct keyd_kms_reply_msg (+ a memfd) */
};

#define KEYD_INSTANCE_LEN 16   /* the instance-id event's payload */
#define KEYD_APP_ID_MAX   64   /* the app-id, NUL included */

/* What keyd needs to know of the boot. Everything else (devices, its
 * state directory) it finds at fixed paths inside its own view. */
struct keyd_config_msg {
	uint8_t manifest_sha256[32];
	uint8_t has_manifest;
	uint8_t allow_sim;        /* the manifest (or --allow-sim) allows sim */
	/* 1: the boot event "instance-id" is instance_id (the store's, for
	 * the key provider kms: docs/STORE.md "Key provider kms"); 0: keyd
	 * draws 16 random bytes, as it always did */
	uint8_t has_instance_id;
	uint8_t reserved;
	/* with has_instance_id: the store header's generation, the last field
	 * of the freshness records keyd signs (proto/netd_keyd.h) */
	uint32_t store_generation;
	uint8_t instance_id[KEYD_INSTANCE_LEN];
	/* non-empty: recorded as the boot event "app-id" (1..63 characters
	 * of [A-Za-z0-9._-], not '.' first, NUL terminated) */
	char app_id[KEYD_APP_ID_MAX];
};

enum keyd_backend { KEYD_BACKEND_NONE = 0, KEYD_BACKEND_TDX = 1, KEYD_BACKEND_SIM = 2 };

/* Sent once keyd serves requests. */
struct keyd_status_msg {
	uint8_t backend;          /* enum keyd_backend */
	uint8_t resumed;          /* 1: the event log was reloaded (keyd restarted) */
	uint16_t events;          /* runtime events in the log */
	uint32_t reserved;
};

/* A KMS key request (docs/STORE.md "Key provider kms"): init made the
 * ephemeral key pair and the nonce, and keeps the private half; keyd
 * records kms_pub as the RTMR3 event "key-provider" (once a boot: another
 * key later is refused), quotes with REPORTDATA slot 6 =
 * SHA-256("dshield-kms-request-v1" || eph_pub || nonce) and writes the
 * whole POST /v1/keys body (docs/KMS.md). */
struct keyd_kms_req_msg {
	uint8_t eph_pub[65];      /* uncompressed P-256 */
	uint8_t kms_pub[65];      /* the policy's pinned KMS key */
	uint8_t reserved[2];
	uint8_t nonce[32];
};

/* The answer: error 0 with one descriptor, a sealed memfd of exactly
 * body_len bytes (the JSON request, which init hands to netd unread); or
 * a negative errno, no descriptor, and why in detail (NUL terminated). */
#define KEYD_KMS_BODY_MAX (64u * 1024u)   /* the KMS's body limit */
struct keyd_kms_reply_msg {
	int32_t error;
	uint32_t body_len;
	char detail[256];
};

#endif
