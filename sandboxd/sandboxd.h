/* sandboxd/sandboxd.h: the function role (docs/SANDBOXD.md).
 *
 * sandboxd owns the function store (sandboxd/store.h), makes each
 * function's network namespace and cgroup, spawns its workers in their
 * sandboxes (sandboxd/sandbox.h) and serves proto/netd_sandboxd.h: every
 * management request is authorised here (policy admin hash, stored
 * tokens), every change of a function is recorded first as an RTMR3
 * `function` event by keyd (proto/sandboxd_keyd.h) and then as a log
 * entry by logd (proto/logd.h) before it becomes visible, and a refusal of
 * either leaves nothing changed (fail closed).
 *
 * The core is a caller-owned struct sandboxd with its own epoll set (the
 * channels, each worker's pidfd, log pipe, protocol socket and timer), so
 * that a test drives it over socketpairs one round at a time:
 *
 *   sandboxd_open()       the policy, the store, the cgroup root, the layers
 *   sandboxd_set_peer()   a fresh channel to netd, keyd or logd (or none)
 *   sandboxd_round(ms)    waits up to ms for events and handles them
 *   sandboxd_close()      kills every worker, closes everything
 *
 * Confinement (its row in bin/dshield-init.c): uid 0 with a small kept set
 * of capabilities (docs/SANDBOXD.md says why each), an empty network
 * namespace, a mount view of /store (what it keeps: the encrypted store
 * when there is one), /state (tmpfs: what it runs), the layers, the policy, five /dev
 * nodes and the delegated cgroup subtree, seccomp set
 * sandboxd_seccomp_rules. One thread: sandbox_spawn needs it.
 */
#ifndef DSHIELD_SANDBOXD_SANDBOXD_H
#define DSHIELD_SANDBOXD_SANDBOXD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/capability.h>

#include "crypto/fn_decl.h"
#include "crypto/fn_tokens.h"
#include "crypto/policy.h"
#include "lib/errbuf.h"
#include "lib/frame.h"
#include "lib/imsg.h"
#include "lib/seccomp.h"
#include "proto/init_sandboxd.h"
#include "proto/netd_sandboxd.h"
#include "sandboxd/cgroup.h"
#include "sandboxd/fndata.h"
#include "sandboxd/store.h"

/* What sandboxd keeps of root (docs/SANDBOXD.md, "Confinement"):
 *   SYS_ADMIN   namespaces (unshare, setns, clone3 with CLONE_NEW*), the
 *               sandbox's mounts, pivot_root, sethostname
 *   NET_ADMIN   bring lo up in a function's new network namespace
 *   NET_BIND_SERVICE  bind the DNS listener (port 53) and the policy's
 *               ports below 1024 in a function's namespace, for netd
 *   SETUID, SETGID  the worker's setresuid/setresgid/setgroups
 *   SETPCAP     the worker's securebits and bounding-set drop
 *   SYS_CHROOT  the sandbox's chroot where pivot_root cannot (rootfs)
 *   KILL        kill workers, which run as other uids
 *   CHOWN       hand a function's data directory to its uid (sandboxd/fndata.h)
 * Nothing else: no DAC_OVERRIDE (its files are its own), no SYS_PTRACE,
 * SYS_MODULE, SYS_RAWIO, SYS_BOOT, MKNOD, NET_RAW, BPF... */
#define SANDBOXD_CAP(n) (1ull << (n))
#define SANDBOXD_CAPS (SANDBOXD_CAP(CAP_SYS_ADMIN) | SANDBOXD_CAP(CAP_NET_ADMIN) | \
		       SANDBOXD_CAP(CAP_NET_BIND_SERVICE) | SANDBOXD_CAP(CAP_NET_RAW) | \
		       SANDBOXD_CAP(CAP_SETUID) | SANDBOXD_CAP(CAP_SETGID) | SANDBOXD_CAP(CAP_SETPCAP) | \
		       SANDBOXD_CAP(CAP_SYS_CHROOT) | SANDBOXD_CAP(CAP_KILL) | SANDBOXD_CAP(CAP_CHOWN))

#define SBXD_FN_MAX       256        /* functions held (the policy's functions.max, capped) */
/* sandboxd's RLIMIT_NOFILE, set by init before the exec (init/role.h
 * nofile): each function's namespace, cgroup and egress listeners, each
 * worker's seven, a change in flight, the channels and the files it
 * opens (sandboxd.c checks the sum). The kernel's default of 1024 held
 * about 50 functions under a policy naming 13 ports (19 descriptors
 * each). Workers get their own limit (sandbox.h nofile). */
#define SANDBOXD_NOFILE   8192
#define SBXD_WORKERS_MAX  128        /* live workers, all functions together */
#define SBXD_LOG_RING     (64u << 10) /* each function's log stream: the newest bytes */
#define SBXD_HELLO_MS     30000u     /* a worker's time to load and say HELLO (and an
                                         * interpreter's to run once at start): node
                                         * under QEMU without KVM needs about 10 s */
#define SBXD_UID_BASE     61000u     /* function slot i runs as uid/gid BASE + i */
#define SBXD_MSG_BUDGET   32         /* messages per channel per round */
#define SBXD_HELLO_MAX    4096       /* HELLO and LOAD_ERROR payloads read */

enum sbxd_chan { SBXD_CHAN_INIT = 0, SBXD_CHAN_NETD, SBXD_CHAN_KEYD, SBXD_CHAN_LOGD, SBXD_CHAN_COUNT };

struct sbxd_paths {
	const char *policy;        /* the canonical policy file; NULL: none */
	const char *store;         /* the store's directory */
	const char *work;          /* code copies and the sandbox root: sandboxd's own */
	const char *layers;        /* runtime layers: layers/<runtime>/ */
	const char *cgroup;        /* the delegated cgroup root; NULL: none */
};

/* A function's bounded log stream: the newest SBXD_LOG_RING bytes of what
 * its workers wrote; end counts every byte ever written, so readers ask by
 * stream offset and learn what was dropped. */
struct sbxd_ring {
	uint8_t *buf;
	uint64_t end;
};

struct sbxd_fn {
	bool used;
	struct fn_decl d;
	int64_t created, updated;
	uint8_t decl_sha256[32];
	int netns;                 /* -1: none yet */
	int lfd[SBX_LISTENERS_MAX]; /* its egress listeners (sd->want), for netd; -1 */
	int cg;                    /* its cgroup fn-<id>; -1: none */
	unsigned workers;          /* live workers (all states) */
	struct sbxd_ring log;
};

enum sbxd_wstate {
	SBXD_W_FREE = 0,
	SBXD_W_STARTING,           /* spawned, waiting for HELLO; an invoke waits on it */
	SBXD_W_IDLE,               /* warm, not handed out */
	SBXD_W_BUSY,               /* handed to netd */
	SBXD_W_DYING,              /* killed; waiting for its pidfd */
};

struct sbxd_worker {
	enum sbxd_wstate state;
	uint64_t id;               /* sandboxd's worker number (never 0) */
	unsigned fn;               /* index into fns */
	uint32_t fn_gen;           /* the function's generation it was spawned for */
	bool native;
	pid_t pid;
	int pidfd, sock, logfd, timer, cg;
	int in_w, out_r;           /* native: its stdin (write) and stdout (read) */
	char cg_name[24];
	bool timed_out;
	bool out;                  /* netd holds it: its end is reported (WORKER_END) */
	bool done;                 /* netd gave it back (DONE) */
	/* the invoke waiting for HELLO (STARTING) */
	bool waiting;
	uint32_t wait_id, wait_gen;
	struct frame_reader fr;
	uint8_t frame[SBXD_HELLO_MAX];
};

/* A function change waiting for keyd and then logd. */
struct sbxd_pending {
	bool active;
	uint16_t op;               /* SBX_FN_CREATE, UPDATE, DELETE */
	uint8_t shape;
	uint32_t req_id, gen;      /* netd's request and channel generation */
	uint32_t keyd_req, logd_req;
	bool at_logd;              /* keyd answered, logd asked */
	struct fn_decl d;
	uint8_t decl_sha256[32];
	int code;                  /* our copy of the code (memfd); -1 */
	int netns, cg;             /* made for a create; closed on refusal */
	int lfd[SBX_LISTENERS_MAX]; /* the same, its egress listeners */
};

struct sandboxd {
	int ep;
	int fd[SBXD_CHAN_COUNT];
	uint32_t gen[SBXD_CHAN_COUNT];
	struct sbxd_paths paths;
	char work_root[STORE_PATH_MAX + 16];
	bool has_policy, limits_required;
	uint8_t sealing;           /* enum sandboxd_sealing, from init */
	struct policy policy;
	/* the listeners made in every function's netns (proto/netd_sandboxd.h):
	 * DNS, the proxy, one per distinct port of the policy's rules */
	struct sbx_listener want[SBX_LISTENERS_MAX];
	unsigned nwant;
	struct store st;
	bool store_open;
	struct fndata data;        /* the functions' data directories (sandboxd/fndata.h) */
	char data_why[ERRBUF_LEN]; /* why there are none ("" when there are) */
	char why[ERRBUF_LEN];      /* why functions are refused ("" when they are not) */
	struct cg_root cgr;
	bool have_cg;
	unsigned runtimes_ok;      /* bit set of enum policy_runtime: layer present and runs */
	struct seccomp_prog filter;
	/* netd's local CA (IMSG_SBX_CA), every new worker's only trusted CA;
	 * "" until netd sent it */
	char ca_pem[SBX_CA_PEM_MAX + 1];
	struct sbxd_fn *fns;       /* SBXD_FN_MAX */
	uint32_t fn_gen[SBXD_FN_MAX];
	struct sbxd_worker *w;     /* SBXD_WORKERS_MAX */
	uint64_t next_worker;
	/* tokens, for constant-time lookup */
	struct fn_token_rec *tok;  /* STORE_MAX_TOKENS */
	uint8_t (*tok_hash)[32];
	unsigned ntok;
	struct sbxd_pending pend;
	uint64_t pend_ms;          /* when the pending change last asked keyd or logd */
	uint32_t seq;
	/* counters (tests and logs) */
	uint64_t malformed, spawned, ended, refused_busy;
	struct imsg msg;
	struct fn_decl_tokens dtoks;
	struct fn_body_tokens btoks;
	_Alignas(16) uint8_t reply[IMSG_MAX_PAYLOAD];
	char body[FN_DECL_CANON_MAX + 1];
	char secret[FN_SECRET_VALUE_MAX + 1];
	char names[SBXD_FN_MAX][STORE_NAME_MAX + 1];   /* listings */
};

/* Opens everything; never fails as a whole: what cannot be had (no
 * policy, a policy whose hash is not cfg's, a store that does not open)
 * is in sd->why and every function request is refused with it; INFO is
 * always served. Returns 0 or -ENOMEM. */
int sandboxd_open(struct sandboxd *sd, const struct sandboxd_config_msg *cfg,
		  const struct sbxd_paths *paths);
void sandboxd_close(struct sandboxd *sd);

/* The channel chan is now fd (-1: gone); the old one is closed. A change
 * waiting on keyd or logd whose channel goes is refused. */
void sandboxd_set_peer(struct sandboxd *sd, enum sbxd_chan chan, int fd);

/* One loop round: waits up to timeout_ms (-1: forever) for events and
 * handles them. Returns 0, or -EPIPE when init closed its channel. */
int sandboxd_round(struct sandboxd *sd, int timeout_ms);

/* How secrets are kept at rest, as every view says it: "aes-256-gcm,
 * store key", "none (no data disk: tmpfs)", "none (host mode)". */
const char *sandboxd_sealing_text(uint8_t sealing);

/* What init hears (IMSG_SANDBOXD_STATUS). */
void sandboxd_status(const struct sandboxd *sd, struct sandboxd_status_msg *st);

/* RLIMIT_NPROC of a function's workers (counted per uid: every worker of
 * the function together). Where the cgroup's pids.max is enforced, the
 * rlimit is only a backstop above what all the function's cgroups allow
 * (pids x concurrency): the kernel checks RLIMIT_NPROC before pids.max,
 * so an equal rlimit would refuse the fork first, pids.events would not
 * count it and the bomb's death would not be reported as pids_exhausted.
 * Without enforced cgroups it is the only bound: pids. */
uint64_t sandboxd_worker_nproc(const struct fn_decl *d, bool cgroup_enforced);

/* The role's entry point (after its seccomp set is installed). */
int sandboxd_main(void);

extern const struct seccomp_rule sandboxd_seccomp_rules[];
extern const size_t sandboxd_seccomp_nrules;

#endif
