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
};

/* What keyd needs to know of the boot. Everything else (devices, its
 * state directory) it finds at fixed paths inside its own view. */
struct keyd_config_msg {
	uint8_t manifest_sha256[32];
	uint8_t has_manifest;
	uint8_t allow_sim;        /* the manifest (or --allow-sim) allows sim */
	uint8_t reserved[6];
};

enum keyd_backend { KEYD_BACKEND_NONE = 0, KEYD_BACKEND_TDX = 1, KEYD_BACKEND_SIM = 2 };

/* Sent once keyd serves requests. */
struct keyd_status_msg {
	uint8_t backend;          /* enum keyd_backend */
	uint8_t resumed;          /* 1: the event log was reloaded (keyd restarted) */
	uint16_t events;          /* runtime events in the log */
	uint32_t reserved;
};

#endif
