/* proto/init_netd.h: the lifecycle protocol between init and netd.
 *
 * Every payload is a fixed-size struct: init checks sizes with imsg_get()
 * and parses nothing else netd says.
 */
#ifndef DSHIELD_PROTO_INIT_NETD_H
#define DSHIELD_PROTO_INIT_NETD_H

#include <stdint.h>

#include "proto/role.h"

enum init_netd_imsg_type {
	IMSG_NETD_CONFIG = IMSG_RANGE_INIT_NETD, /* init -> netd: struct netd_config_msg, fds[0] = AF_PACKET socket */
	IMSG_BOOT_INFO,        /* init -> netd: struct boot_info_msg */
	IMSG_NETD_STATUS,      /* netd -> init: struct netd_status_msg */
	IMSG_KADDR_REQ,        /* netd -> init: no payload; id chosen by netd */
	IMSG_KADDR_REPLY,      /* init -> netd: struct kaddr_reply_msg; id echoed */
	IMSG_LAYERS_INFO,      /* init -> netd: struct layers_info_msg, after IMSG_BOOT_INFO */
	IMSG_STORE_INFO,       /* init -> netd: struct store_info_msg, after IMSG_LAYERS_INFO */
	IMSG_NETD_ANCHORS,     /* init -> netd: struct netd_anchors_msg, fds: the files it names */
	IMSG_NETD_KMS_REQ,     /* init -> netd: struct netd_kms_req_msg, fds[0] = the body's memfd */
	IMSG_NETD_KMS_REPLY,   /* netd -> init: struct netd_kms_reply_msg; id echoed */
	IMSG_NETD_KMS_TARGET,  /* init -> netd: struct netd_kms_req_msg: where keyd's freshness
				* records go (a netd started after the KMS released the key) */
};

/* Network configuration for netd. Addresses in network byte order; an
 * ipv4_addr of 0 means DHCP. */
struct netd_config_msg {
	char ifname[16];
	uint8_t mac[6];
	uint8_t reserved0[2];
	uint32_t ipv4_addr;
	uint32_t ipv4_netmask;
	uint32_t ipv4_gw;
	uint32_t dns[2];
	uint16_t http_port;
	uint16_t reserved1;
	uint32_t http_header_timeout_ms;  /* whole request head must arrive within */
	uint32_t http_idle_timeout_ms;    /* keep-alive connection with no request */
	char hostname[64];
};

/* What init knows of the boot; times are CLOCK_BOOTTIME milliseconds
 * (0 = not reached, or not measurable in host mode). */
struct boot_info_msg {
	uint8_t manifest_sha256[32];
	uint8_t has_manifest;
	uint8_t host_mode;
	uint8_t reserved[6];
	uint64_t t_init_start_ms;
	uint64_t t_modules_loaded_ms;
	uint64_t t_netd_up_ms;
};

enum netd_state {
	NETD_STATE_STARTED = 1,   /* event loop running, waiting for an address */
	NETD_STATE_BOUND,         /* address configured (DHCP lease or static) */
	NETD_STATE_READY,         /* bound and the HTTP server listens */
};

struct netd_status_msg {
	uint32_t state;           /* enum netd_state */
	uint32_t ipv4_addr;       /* network byte order */
	uint32_t ipv4_netmask;
	uint32_t ipv4_gw;
	uint32_t dns[2];
	uint64_t t_ms;            /* CLOCK_BOOTTIME ms when the state was reached */
	uint8_t dhcp;             /* 1 if the address came from DHCP */
	uint8_t reserved[7];
};

/* Each runtime layer as init's boot phase left it (init/layers.h,
 * docs/LAYERS.md), for /v1/info. Sent once per netd start, after the
 * boot info; never changes while the VM runs. Strings are NUL-terminated
 * within their arrays (netd renders at most the array either way). */
#define LAYERS_INFO_MAX    8      /* = MANIFEST_MAX_LAYERS */
#define LAYERS_INFO_NAME   32
#define LAYERS_INFO_REASON 160    /* = LAYER_REASON_MAX */
struct layer_info {
	char name[LAYERS_INFO_NAME];
	uint8_t available;        /* 1: mounted on /run/layers/NAME, entry checked */
	uint8_t reserved[7];
	char reason[LAYERS_INFO_REASON];  /* why not, when unavailable; else "" */
};
struct layers_info_msg {
	uint32_t n;               /* layers in the manifest, <= LAYERS_INFO_MAX */
	uint32_t available;
	struct layer_info l[LAYERS_INFO_MAX];
};

/* The encrypted store as init left it (docs/STORE.md), for /v1/info's
 * "store". */
enum store_info_state {
	STORE_INFO_NONE,       /* no data disk (or no store in the policy): tmpfs */
	STORE_INFO_OPEN,       /* header verified, dm-crypt, ext4 mounted */
	STORE_INFO_FORMATTED,  /* first boot of this instance: formatted, mounted */
	STORE_INFO_REFUSED,    /* refused: the roles whose state is there do not run */
	STORE_INFO_PENDING,    /* key provider kms: waiting for the key (those roles held) */
	STORE_INFO_N
};
#define STORE_INFO_TEXT 192
struct store_info_msg {
	uint8_t state;            /* enum store_info_state */
	uint8_t provider;         /* enum policy_key_provider: 0 none, 1 dev, 2 kms */
	uint8_t insecure;         /* 1: the dev provider's key (in the image) */
	uint8_t has_instance;     /* instance is the disk's */
	uint8_t data_quota;       /* 1: mounted prjquota (functions' /data quotas enforced) */
	uint8_t rollback;         /* 1: open under kms.on_rollback "flag" with a rollback detected */
	uint8_t integrity;        /* the header's integrity mode: 0 none, 1 hmac-sha256 (dm-integrity) */
	uint8_t reserved[1];
	uint64_t data_bytes;      /* the encrypted area, when open */
	uint8_t instance[32];
	char summary[STORE_INFO_TEXT];  /* the console's one line, e.g. "store: none (tmpfs, lost at poweroff)" */
	char rollback_why[STORE_INFO_TEXT]; /* rollback: what logd found, NUL-terminated */
};

/* The trust anchors file for TLS origination (tls/anchors.h format),
 * sent after IMSG_STORE_INFO at every netd start: netd, chrooted into an
 * empty directory and unable to open(), reads it from the descriptor,
 * fds[0] when has_anchors (the image's /etc/dshield/tls-anchors; in host
 * mode --anchors). The policy's extra_anchors join them in netd (it has
 * the policy from sandboxd). No anchors at all: every originate
 * connection is refused. */
struct netd_anchors_msg {
	uint8_t has_anchors;
	uint8_t reserved[7];
	char why[160];            /* has_anchors 0: why (the open's error), or "" */
};

#define KADDR_MAX 16
struct kaddr_entry {
	uint8_t family;           /* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	uint8_t reserved[2];
	uint8_t addr[16];
};
struct kaddr_reply_msg {
	int32_t error;            /* 0, or negative errno when the query failed */
	uint32_t count;
	struct kaddr_entry addr[KADDR_MAX];
};

/* The key provider kms (docs/STORE.md "Key provider kms"): init hands
 * netd the POST /v1/keys body keyd wrote (a sealed memfd, passed on
 * unread) and where to send it; netd answers with what init needs and
 * nothing it would have to parse: fixed-size fields only. */
#define NETD_KMS_HOST_MAX  256   /* NUL included */
#define NETD_KMS_PATH_MAX  256
#define NETD_KMS_BLOB_LEN  151   /* crypto/key_wrap.h KW_BLOB_LEN */
#define NETD_KMS_FRESH_MAX 1024  /* cli/kms_proto.h KMS_RECORD_MAX */
struct netd_kms_req_msg {
	char host[NETD_KMS_HOST_MAX];   /* NUL terminated */
	char path[NETD_KMS_PATH_MAX];   /* NUL terminated, starts with '/' */
	uint16_t port;
	uint8_t tls;                    /* 1: https (the policy's kms_tls) */
	uint8_t has_pin;                /* 1: spki_sha256 is the pin (tls only) */
	uint8_t reserved[4];
	uint8_t spki_sha256[32];        /* the policy's kms.tls_spki_sha256 */
};

struct netd_kms_reply_msg {
	int32_t error;            /* 0: wrapped_key (and freshness) valid; else why in reason */
	uint16_t http_status;     /* 0 when no answer came */
	uint8_t has_freshness;
	uint8_t reserved;
	uint32_t freshness_len;   /* <= NETD_KMS_FRESH_MAX */
	uint8_t wrapped_key[NETD_KMS_BLOB_LEN];
	uint8_t reserved2[1];
	char freshness[NETD_KMS_FRESH_MAX + 1]; /* freshness_len bytes, a NUL: only hashed by init */
	char reason[256];         /* NUL terminated, printable ASCII */
};

#endif
