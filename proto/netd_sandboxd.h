/* proto/netd_sandboxd.h: netd asks sandboxd to manage and run functions.
 *
 * netd parses every byte a client sends; sandboxd never sees HTTP or a
 * client's JSON. netd turns each management call into one typed request:
 * a fixed struct, plus for a deployment the canonical declaration that
 * netd's parser wrote (crypto/fn_decl.h fn_decl_write) and the decoded
 * code in a memfd. sandboxd re-parses the declaration strictly (shape
 * FN_SHAPE_STORED, against its own copy of the policy) and re-hashes the
 * code: a compromised netd can ask for what any caller could, no more.
 *
 * Authorisation is sandboxd's: every request carries the SHA-256 of the
 * bearer token the client presented (netd hashes it and forgets it), and
 * sandboxd checks it against the policy's admin hash and its token store
 * (crypto/fn_tokens.h) for the scope the operation needs. netd learns only
 * the verdict (401 / 403 in the reply).
 *
 * Requests carry netd's sequence number in hdr.id (never reused while
 * netd runs); sandboxd echoes it. Every request gets exactly one
 * IMSG_SBX_REPLY. Bodies of replies (JSON views, lists, a function's log
 * stream) travel inline when short, else in a sealed memfd (fds[0]) that
 * netd streams to its client.
 *
 * Invocation: IMSG_SBX_REQ with op SBX_INVOKE returns, in the reply, the
 * descriptors to talk to one worker directly: for python and node the
 * worker's fd-3 protocol socket (proto/fn_frame.h); for native the write
 * end of the process's stdin and the read end of its stdout. Invocation
 * data flows netd <-> worker, never through sandboxd or init. netd hands
 * the worker back with IMSG_SBX_DONE; sandboxd tells netd when a worker
 * ended on its own or was killed (IMSG_SBX_WORKER_END: timeout, memory,
 * pids, crash), so netd can answer its client with the right error.
 *
 * Egress (docs/EGRESS.md): a function's network namespace has only lo.
 * sandboxd makes, inside it, the listeners netd serves: DNS on
 * 127.0.0.1:53 (UDP and TCP), the explicit proxy on 127.0.0.1:3128 and
 * 0.0.0.0:<port> for each port the policy's rules name. It hands them to
 * netd with IMSG_SBX_EGRESS (unasked, hdr.id 0) when a function is made
 * (deploy, or sandboxd's start), and to every new netd for every function;
 * the listener a connection arrives on is what names the function. The
 * same message carries the rules the function declared (a bit set of the
 * policy's rules) and its egress bandwidth cap (limits.egress_kbps),
 * again on each update, and says when it is gone.
 *
 * TLS origination (docs/TLS.md, "The local CA"): netd makes a local CA at
 * each start and sends its certificate (PEM) with IMSG_SBX_CA whenever a
 * channel to sandboxd opens, before any request. sandboxd writes it as
 * each new worker's only trusted CA (/etc/ssl/certs/ca-certificates.crt,
 * SSL_CERT_FILE, NODE_EXTRA_CA_CERTS) and retires warm workers that hold
 * an older one.
 * Header injection (docs/EGRESS.md, "HTTP requests: checks, strip and
 * inject"): netd holds no secrets but the values its proxy writes into
 * requests. After each IMSG_SBX_EGRESS NEW or RULES, sandboxd sends
 * IMSG_SBX_INJECT with the values of the secrets named by the
 * inject_headers of the rules the function declared (those that exist
 * and fit), again for every function when a secret is put or deleted,
 * and with none when the function is gone. Each message replaces what
 * netd had for the function. The values never reach the function.
 */
#ifndef DSHIELD_PROTO_NETD_SANDBOXD_H
#define DSHIELD_PROTO_NETD_SANDBOXD_H

#include <stdint.h>

#include "proto/role.h"

enum netd_sandboxd_imsg_type {
	IMSG_SBX_REQ = IMSG_RANGE_NETD_SANDBOXD, /* netd -> sandboxd: struct sbx_req_msg [+ inline bytes] [fds[0]: memfd] */
	IMSG_SBX_REPLY,        /* sandboxd -> netd: struct sbx_reply_msg [+ inline body] [fds] */
	IMSG_SBX_DONE,         /* netd -> sandboxd: struct sbx_done_msg (no reply) */
	IMSG_SBX_WORKER_END,   /* sandboxd -> netd: struct sbx_worker_end_msg (hdr.id 0) */
	IMSG_SBX_EGRESS,       /* sandboxd -> netd: struct sbx_egress_msg [fds: listeners] (hdr.id 0) */
	IMSG_SBX_CA,           /* netd -> sandboxd: struct sbx_ca_msg + the PEM inline (hdr.id 0) */
	IMSG_SBX_INJECT,       /* sandboxd -> netd: struct sbx_inject_msg + items (hdr.id 0) */
	IMSG_SBX_NOTE,         /* netd -> sandboxd: struct sbx_note_msg (hdr.id 0, no reply) */
};

enum sbx_op {
	SBX_FN_CREATE = 1,     /* inline: canonical declaration; fds[0]: code memfd. 201, 409 exists */
	SBX_FN_UPDATE,         /* the same; replaces the whole function (PUT). 200, 404 */
	SBX_FN_DELETE,         /* id. 200, 404 */
	SBX_FN_GET,            /* id. 200 view (never the code), 404 */
	SBX_FN_LIST,           /* 200 {functions:[views]}; arg 1: the public list, no auth
	                        * needed: {functions:[{id,name,runtime}]} (GET /functions) */
	SBX_FN_LOGS,           /* id, arg = first byte wanted of its log stream. 200 text */
	SBX_INVOKE,            /* id. 200 with the worker's descriptors, or an error */
	SBX_SECRET_PUT,        /* name; inline: the value, or (a value longer than
	                        * SBX_INLINE_MAX) inline_len 0 and fds[0] a sealed memfd
	                        * holding it. 200 */
	SBX_SECRET_DELETE,     /* name. 200, 404 */
	SBX_SECRET_LIST,       /* 200 names and dates only */
	SBX_TOKEN_CREATE,      /* inline: the canonical token request (crypto/fn_tokens.h):
	                        * {"name":..,"appName":..,"permissions":[fn_scopes_write]},
	                        * which fn_token_req_parse(FN_TOKEN_SEED) reads back, whatever
	                        * the client's shape (shape says which view to answer with).
	                        * 201 with the token, once */
	SBX_TOKEN_LIST,        /* 200 without hashes */
	SBX_TOKEN_DELETE,      /* name = the token's id. 200, 404 */
	SBX_INFO,              /* no auth needed: runtimes and their availability, counts */
	SBX_POLICY,            /* no auth needed: 200, the canonical policy sandboxd enforces
	                        * (crypto/policy.h policy_write; in a memfd when long). netd
	                        * asks whenever a channel opens, and parses deployments
	                        * against it (503 until it has it) */
	SBX_OP_MAX
};

/* Which shape the client used, so views answer in it (the seed routes
 * keep the seed service's keys and statuses). */
enum sbx_shape { SBX_SHAPE_V1 = 0, SBX_SHAPE_SEED = 1 };

#define SBX_ID_MAX     64      /* function id (63 + NUL), token id */
#define SBX_NAME_MAX   65      /* secret name (64 + NUL) */
#define SBX_INLINE_MAX 15360   /* inline bytes in one request or reply */

struct sbx_req_msg {
	uint16_t op;               /* enum sbx_op */
	uint8_t shape;             /* enum sbx_shape */
	uint8_t has_token;         /* 0: the client presented no bearer token */
	uint8_t token_sha256[32];  /* SHA-256 of the presented token's bytes */
	char id[SBX_ID_MAX];       /* function or token id, NUL terminated, or "" */
	char name[SBX_NAME_MAX];   /* secret name, NUL terminated, or "" */
	uint8_t reserved[3];
	uint64_t arg;              /* op-specific (SBX_FN_LOGS: offset) */
	uint32_t inline_len;       /* bytes after this struct */
	uint32_t reserved2;
};

/* fds of an SBX_INVOKE reply */
enum sbx_worker_kind {
	SBX_WORKER_FRAMES = 1,     /* fds[0]: the worker's fd-3 socket */
	SBX_WORKER_NATIVE = 2,     /* fds[0]: its stdin (write), fds[1]: its stdout (read) */
};

struct sbx_reply_msg {
	int32_t error;             /* 0, or a negative errno (with status/code/message set) */
	uint16_t status;           /* the HTTP status netd answers with */
	uint8_t body_in_fd;        /* 1: the body is in a memfd (fds[0]); else inline */
	uint8_t worker_kind;       /* SBX_INVOKE: enum sbx_worker_kind */
	char code[32];             /* API error code ("not_found", "forbidden", ...), or "" */
	char message[160];         /* one line for the client, or "" */
	uint64_t body_len;         /* inline bytes after this struct, or the memfd's size */
	/* SBX_INVOKE only (worker also for SBX_FN_LOGS, below) */
	uint64_t worker;           /* sandboxd's worker number, for DONE and WORKER_END;
				      SBX_FN_LOGS: the stream offset of the body's first
				      byte (later than arg when older bytes were dropped) */
	uint32_t timeout_ms;       /* the function's wall-clock limit (sandboxd enforces it too) */
	uint32_t output_max;       /* the most result bytes netd accepts (limits.output_kb) */
	uint8_t code_sha256[32];   /* the function's code, for the invocation's log record */
	char runtime[16];          /* "python", "node", "native" */
	char handler[65];          /* the handler name (frames) */
	uint8_t reserved[7];
};

enum sbx_outcome {
	SBX_DONE_OK = 1,           /* the worker answered; it may be reused */
	SBX_DONE_BROKEN,           /* protocol error, garbage, closed socket: kill it */
	SBX_DONE_TIMEOUT,          /* netd gave up waiting: kill it */
	SBX_DONE_CLIENT_GONE,      /* the client left mid-invocation: kill it */
};

struct sbx_done_msg {
	uint64_t worker;
	uint8_t outcome;           /* enum sbx_outcome */
	uint8_t reserved[7];
};

enum sbx_end_reason {
	SBX_END_EXIT = 1,          /* exited by itself (status) */
	SBX_END_SIGNAL,            /* killed by a signal it got (signal) */
	SBX_END_TIMEOUT,           /* sandboxd killed it at the wall-clock limit */
	SBX_END_OOM,               /* its cgroup's memory.events oom_kill rose */
	SBX_END_PIDS,              /* pids.events max rose (fork refused) and it died */
};

struct sbx_worker_end_msg {
	uint64_t worker;
	uint8_t reason;            /* enum sbx_end_reason */
	uint8_t reserved[3];
	int32_t status;            /* exit status or signal number */
};

/* --- egress listeners ---------------------------------------------------------- */

enum sbx_listener_kind {
	SBX_L_DNS_UDP = 1,         /* 127.0.0.1:53, UDP */
	SBX_L_DNS_TCP,             /* 127.0.0.1:53, TCP (listening) */
	SBX_L_PROXY,               /* 127.0.0.1:3128, TCP: the explicit HTTP proxy */
	SBX_L_PORT,                /* 0.0.0.0:port, TCP: connections to fake addresses */
	/* lo, an AF_PACKET socket (port 0): the resets the kernel sends for
	 * connections to a fake address on a port nothing listens on, so that
	 * netd records them too (docs/EGRESS.md, "Ports no rule names"). Its
	 * filter keeps only packets that came in on lo (PACKET_HOST), IPv4,
	 * TCP, unfragmented, from SBX_FAKE_NET, with RST|ACK of FIN, SYN, RST
	 * and ACK, and sequence number 0: the kernel's answer to a SYN; at
	 * most SBX_RESETS_SNAP bytes of each. */
	SBX_L_RESETS,
};

/* The fake addresses a function's DNS hands out: 127.64.0.0/10 (host
 * order; net/fakeaddr.h). */
#define SBX_FAKE_NET          0x7f400000u
#define SBX_FAKE_MASK         0xffc00000u
/* Bytes of a reset the SBX_L_RESETS filter keeps: the longest IPv4 and
 * TCP headers (60 each). */
#define SBX_RESETS_SNAP       120

/* Listeners of one function: DNS (2), the proxy, the resets, and one per
 * distinct port of the policy's rules (at most SBX_EGRESS_PORTS_MAX of
 * them; sandboxd listens on no more, and says so). */
#define SBX_LISTENERS_MAX     17
#define SBX_EGRESS_PORTS_MAX  (SBX_LISTENERS_MAX - 4)
#define SBX_EGRESS_FDS        4    /* listeners per message (IMSG_MAX_FDS) */

enum sbx_egress_op {
	SBX_EGRESS_NEW = 1,        /* forget what netd had for this id; rules; the first fds */
	SBX_EGRESS_MORE,           /* more listeners of the function (fds) */
	SBX_EGRESS_RULES,          /* the declared rules changed (an update); no fds */
	SBX_EGRESS_GONE,           /* the function was deleted: close its listeners */
};

struct sbx_listener {
	uint8_t kind;              /* enum sbx_listener_kind */
	uint8_t reserved;
	uint16_t port;             /* the port it is bound to (SBX_L_RESETS: 0) */
};

struct sbx_egress_msg {
	char function[SBX_ID_MAX]; /* NUL terminated */
	uint8_t op;                /* enum sbx_egress_op */
	uint8_t nlisteners;        /* = the message's fds, 0..SBX_EGRESS_FDS */
	uint8_t reserved[2];
	uint32_t egress_rules;     /* NEW, RULES: bit k, the policy's rule k is declared */
	struct sbx_listener l[SBX_EGRESS_FDS];
	/* NEW, RULES: the function's limits.egress_kbps, the cap on what the
	 * proxy carries for it each way (0: none; sandboxd always sends one) */
	uint32_t egress_kbps;
	/* NEW, RULES: its limits.egress_conns, the proxied connections it may
	 * hold open at once (0: netd's EGP_FN_CONN_MAX) */
	uint32_t egress_conns;
};

/* --- the local CA ------------------------------------------------------------- */

/* A CA certificate's PEM (tls/cert.h CERT_PEM_LEN(CERT_DER_MAX) is 1,446). */
#define SBX_CA_PEM_MAX 2048

struct sbx_ca_msg {
	uint32_t pem_len;          /* bytes after this struct: one PEM certificate */
	uint32_t reserved;
};

/* --- a line for a function's log stream ----------------------------------------- */

/* netd's refusals of a function's egress (its egress_refused and
 * dns_refused records) are also said to the function, in its log stream,
 * so its author sees which rule was missing. Best effort: a full channel
 * drops the line, never the record. */
#define SBX_NOTE_MAX 512

struct sbx_note_msg {
	char function[SBX_ID_MAX]; /* NUL terminated */
	uint32_t len;              /* 1..SBX_NOTE_MAX bytes of line, ending in '\n' */
	char line[SBX_NOTE_MAX];
};

/* --- header injection's secrets --------------------------------------------------- */

#define SBX_INJECT_MAX        8      /* secrets per function */
#define SBX_INJECT_VALUE_MAX  1024   /* a value netd can inject; longer ones are not sent */

/* followed by n items, each a struct sbx_inject_item and its len value
 * bytes; the whole at most IMSG_MAX_PAYLOAD */
struct sbx_inject_msg {
	char function[SBX_ID_MAX]; /* NUL terminated */
	uint8_t n;                 /* 0..SBX_INJECT_MAX; 0: forget the function's */
	uint8_t reserved[7];
};

struct sbx_inject_item {
	char name[SBX_NAME_MAX];   /* the secret's name, NUL terminated */
	uint8_t reserved[3];
	uint32_t len;              /* 0..SBX_INJECT_VALUE_MAX */
};

#endif
