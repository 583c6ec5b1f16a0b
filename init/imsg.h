/* init/imsg.h: typed messages between init and its workers.
 *
 * OpenBSD imsg style over SOCK_SEQPACKET socketpairs: every message is one
 * datagram carrying a fixed header {type, len, id}, then exactly `len`
 * payload bytes, and up to IMSG_MAX_FDS file descriptors (SCM_RIGHTS).
 * SEQPACKET keeps message boundaries, so a reader never resynchronises.
 *
 * Error convention (whole module): 0 or a positive count on success, a
 * negative errno on failure. A message that is truncated, oversized or whose
 * header disagrees with its length is refused whole, and any descriptors it
 * carried are closed, so a confused or hostile peer cannot leak fds into us.
 *
 * Payloads are fixed-size structs defined below; a receiver checks the
 * length with imsg_get() before it looks at a byte.
 */
#ifndef DSHIELD_INIT_IMSG_H
#define DSHIELD_INIT_IMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IMSG_MAX_PAYLOAD 16384
#define IMSG_MAX_FDS     4

struct imsg_hdr {
	uint32_t type;
	uint32_t len;   /* payload bytes after the header */
	uint32_t id;    /* request id, echoed in the reply; 0 when unused */
};

struct imsg {
	struct imsg_hdr hdr;
	uint8_t payload[IMSG_MAX_PAYLOAD];
	int fds[IMSG_MAX_FDS];
	unsigned nfds;
};

/* Sends one message. -EMSGSIZE if len > IMSG_MAX_PAYLOAD or nfds too many;
 * -EAGAIN on a full non-blocking socket; -EPIPE when the peer is gone. */
int imsg_send(int sock, uint32_t type, uint32_t id, const void *payload,
	      size_t len, const int *fds, unsigned nfds);

/* Sends iov[0..iovcnt) as one datagram with nfds descriptors (at most
 * IMSG_RAW_MAX_FDS) in one SCM_RIGHTS control message, MSG_NOSIGNAL, and
 * checks nothing else: imsg_send's transport, and how the tests and the
 * fuzzer send what a buggy or hostile peer would (more fds than
 * IMSG_MAX_FDS, a header that lies). Returns what sendmsg returns (-1 with
 * errno EINVAL when nfds is too many). */
#define IMSG_RAW_MAX_FDS 16
struct iovec;
ssize_t imsg_send_raw(int sock, const struct iovec *iov, size_t iovcnt,
		      const int *fds, unsigned nfds);

/* Receives one message into *msg (received fds are owned by msg).
 * Returns 0; -EAGAIN (nothing to read, non-blocking); -EPIPE (peer closed);
 * -EMSGSIZE (datagram or control data larger than allowed, dropped);
 * -EBADMSG (shorter than a header, or hdr.len != bytes received). */
int imsg_recv(int sock, struct imsg *msg);

/* Copies the payload of msg into out when msg has the given type and
 * exactly `size` payload bytes. Returns 0 or -EBADMSG. */
int imsg_get(const struct imsg *msg, uint32_t type, void *out, size_t size);

/* Takes fd i out of msg (the caller owns it now); -1 if absent. */
int imsg_take_fd(struct imsg *msg, unsigned i);
/* Closes every fd still owned by msg. */
void imsg_close_fds(struct imsg *msg);

/* --- message types and their payloads ------------------------------------ */

enum imsg_type {
	IMSG_NETD_CONFIG = 1,  /* init -> netd: struct netd_config_msg, fds[0] = AF_PACKET socket */
	IMSG_BOOT_INFO,        /* init -> netd: struct boot_info_msg */
	IMSG_NETD_STATUS,      /* netd -> init: struct netd_status_msg */
	IMSG_KADDR_REQ,        /* netd -> init: no payload; id chosen by netd */
	IMSG_KADDR_REPLY,      /* init -> netd: struct kaddr_reply_msg; id echoed */
	IMSG_QUOTE_REQ,        /* netd -> init: struct quote_req_msg; id chosen by netd */
	IMSG_QUOTE_REPLY,      /* init -> netd: struct quote_reply_msg + data; id echoed */
	IMSG_TYPE_MAX
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

/* An attestation request: the API caller's nonce (1..32 bytes). */
#define QUOTE_NONCE_MAX 32
struct quote_req_msg {
	uint8_t nonce[QUOTE_NONCE_MAX];
	uint8_t nonce_len;
};

/* The answer: this fixed part, then quote_len bytes of quote, then log_len
 * bytes of the runtime event log as JSON (crypto/rtmr3.h), all in one
 * payload of exactly sizeof(struct quote_reply_msg) + quote_len + log_len
 * bytes (at most IMSG_MAX_PAYLOAD). init fills report_data, the preimage
 * fields it used (nonce echoed, manifest hash) and the backend, so netd
 * reports exactly what was quoted. */
#define QUOTE_REPLY_QUOTE_MAX 8192
#define QUOTE_REPLY_LOG_MAX   6144
enum quote_backend { QUOTE_BACKEND_NONE = 0, QUOTE_BACKEND_TDX = 1, QUOTE_BACKEND_SIM = 2 };
struct quote_reply_msg {
	int32_t error;            /* 0, or a negative errno: no quote, see detail */
	uint8_t backend;          /* enum quote_backend */
	uint8_t has_manifest;
	uint8_t nonce_len;
	uint8_t reserved;
	uint32_t quote_len;
	uint32_t log_len;
	uint8_t nonce[QUOTE_NONCE_MAX];
	uint8_t manifest_sha256[32];
	uint8_t report_data[64];
	char detail[256];         /* NUL terminated; why, when error != 0 */
};

#endif
