/* logd/logd.h: the log role (docs/LOG.md, "logd").
 *
 * logd owns the egress log's store (logd/store.h, in /state/log) and is
 * the only process that appends to it. It serves proto/logd.h to the
 * roles that log (netd, sandboxd), asks keyd (proto/logd_keyd.h) for the boot's
 * facts, which become one boot entry per boot, and for signatures over
 * its checkpoints, and tells init its state (proto/init_logd.h).
 *
 * The core is a caller-owned struct logd driven one loop round at a time,
 * so tests run it over socketpairs without the role around it:
 *
 *   logd_open()             opens the store, rebuilds the find index
 *   logd_set_peer()         a fresh channel to netd or keyd (or none)
 *   logd_readable(fd)       reads what one channel holds (a budget);
 *                           appends are only buffered
 *   logd_end_round(now)     group commit: ONE logstore_sync for every
 *                           append buffered, then every reply; then asks
 *                           keyd to sign when a checkpoint is due. Lazy
 *                           appends alone (IMSG_LOG_APPEND_LAZY) wait up
 *                           to LOG_APPEND_LAZY_MS for company (the loop
 *                           sleeps logd_wait_ms)
 *
 * The append contract (proto/logd.h): IMSG_LOG_APPENDED with error 0 goes
 * out only after the sync covering the entry returned 0. A failed store
 * refuses every later append with its error and reports
 * LOGD_STATE_FAILED to init; only a restart (a reopen) clears it.
 *
 * Confinement (its row in bin/dshield-init.c): uid/gid 101, no
 * capabilities, an empty network namespace, a mount view holding only
 * /state, seccomp set logd_seccomp_rules.
 */
#ifndef DSHIELD_LOGD_LOGD_H
#define DSHIELD_LOGD_LOGD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errbuf.h"
#include "lib/imsg.h"
#include "lib/seccomp.h"
#include "logd/store.h"
#include "proto/init_logd.h"
#include "proto/logd.h"
#include "proto/logd_keyd.h"

#define LOGD_STATE_DIR   "/state"
#define LOGD_STORE_DIR   "/state/log"

#define LOGD_BATCH_MAX   256   /* appends per sync; a fuller round syncs early */
#define LOGD_WAITERS_MAX 64    /* fresh checkpoint requests waiting for keyd */
#define LOGD_MSG_BUDGET  256   /* messages per channel per round (= a full group commit) */
/* The largest object a read serves: a bundle of 256 entries, each at most
 * an IMSG_LOG_APPEND payload (boot entries are far smaller). */
#define LOGD_OBJ_MAX     (256u * (2u + LOG_APPEND_MAX))

/* The channels logd has: init's, and one per peer role. */
enum logd_chan { LOGD_CHAN_INIT = 0, LOGD_CHAN_NETD, LOGD_CHAN_KEYD, LOGD_CHAN_SANDBOXD,
		LOGD_CHAN_COUNT };

/* One reply owed, kept until its round's sync: the channel it came on (and
 * that channel's generation, so a reply to a channel that closed or was
 * replaced meanwhile is dropped). */
struct logd_owed {
	uint8_t chan;
	uint32_t gen;
	uint32_t id;
	int32_t error;
	uint64_t index;
};

/* Which ids appear in which entries (for IMSG_LOG_FIND_REQ): an
 * open-addressing table of ids, each with its indices in increasing
 * order; one table of function ids, one of invocation ids. */
struct logd_fn {
	char *id;                 /* NUL terminated, malloc'd; NULL: free slot */
	uint64_t *idx;
	uint64_t len, cap;
	/* by invocation: the index of its invocation entry, if one is logged */
	uint64_t entry;
	bool has_entry;
};
struct logd_index {
	struct logd_fn *t;
	size_t cap, used;
	uint64_t first_cap;       /* indices allocated for a new id */
};

struct logd {
	int fd[LOGD_CHAN_COUNT];  /* -1: none */
	uint32_t gen[LOGD_CHAN_COUNT];
	struct logd_config_msg cfg;
	/* the store */
	struct logstore store;
	bool store_open;
	int failed;               /* 0, or the error every append gets */
	char why[ERRBUF_LEN];
	uint32_t reported;        /* the enum logd_state init last heard */
	/* the KMS's freshness record against the store (enum logd_fresh) */
	uint32_t fresh;
	uint64_t fresh_size;
	/* a verdict other than OK under on_rollback "flag": "ROLLBACK
	 * DETECTED: why", said in this boot's entry too (else empty) */
	char flagged[ERRBUF_LEN];
	/* the boot entry: the instance of the store's last boot entry ("" if
	 * none); done once this boot's is in the store */
	char last_instance[129];
	bool boot_done, boot_asked;
	uint32_t boot_req;
	/* this round's appends and the replies they owe */
	struct logd_owed owed[LOGD_BATCH_MAX];
	/* the round's answers, gathered by channel as the sync ends (one
	 * IMSG_LOG_APPENDED_MANY each: logd.c, flush_answers) */
	struct log_appended_one answers[LOGD_CHAN_COUNT][LOG_APPENDED_MANY_MAX];
	unsigned nanswers[LOGD_CHAN_COUNT];
	unsigned nowed;
	/* ... of which some caller waits for (IMSG_LOG_APPEND); while none
	 * does, the sync waits until lazy_until (IMSG_LOG_APPEND_LAZY) */
	unsigned nowed_awaited;
	uint64_t lazy_until;
	/* checkpoints: the latest signed note, the one request in flight, and
	 * the fresh requests that wait for a note covering need */
	char note[LOG_SIGNED_CHECKPOINT_MAX];
	uint32_t note_len;
	uint64_t note_size;       /* valid when note_len > 0 */
	bool signing;
	uint32_t sign_req;
	uint64_t sign_size;
	uint8_t sign_root[MERKLE_HASH_LEN];
	uint64_t sign_at_ms;      /* when the last request went out */
	struct logd_owed waiter[LOGD_WAITERS_MAX];   /* index = the size needed */
	unsigned nwaiters;
	uint32_t seq;             /* logd's request ids to keyd */
	/* reads: the last object built, kept while a client streams it */
	uint8_t *obj;             /* LOGD_OBJ_MAX bytes */
	long obj_len;             /* < 0: nothing cached */
	uint8_t obj_kind, obj_level;
	uint16_t obj_width;
	uint64_t obj_index;
	/* the find index: by function (first_cap 16), by invocation (2: an
	 * invocation has an entry and a few egress records) */
	struct logd_index by_fn, by_inv;
	/* counters (tests and logs) */
	uint64_t syncs, appended, refused, malformed, signed_count, builds;
	struct imsg msg;
	_Alignas(16) uint8_t reply[IMSG_MAX_PAYLOAD];   /* cast to the reply structs */
};

/* The key provider kms's freshness record (note, len bytes; the key wrap
 * authenticated it, so its signature is not checked here) against the
 * store: the log must be at least the record's size and have its root at
 * that size. The verdict, the record's size in *size, and one line saying
 * it in err. */
enum logd_fresh logd_fresh_check(struct logstore *s, const char *note, size_t len,
				uint64_t *size, char err[ERRBUF_LEN]);

/* Zeroes d, allocates its read buffer, and opens (or creates) the store
 * in dir, rebuilding the find index and the last boot entry's instance
 * from what is committed. 0, or a negative errno with the reason in err:
 * -ENOMEM, the store's (logstore_open), or -ESTALE when cfg carries a
 * freshness record the store does not hold (logd_fresh_check); then d
 * serves nothing but refusals (every append gets the error, reads -EIO)
 * until closed. */
int logd_open(struct logd *d, const struct logd_config_msg *cfg, const char *dir,
	      char err[ERRBUF_LEN]);
void logd_close(struct logd *d);

/* The channel chan is now fd (-1: gone). The old one is closed, its owed
 * replies and waiters are dropped; a new keyd channel is asked for the
 * boot facts (if this boot's entry is not in the store yet). */
void logd_set_peer(struct logd *d, enum logd_chan chan, int fd);

/* Reads and handles what channel chan holds (at most LOGD_MSG_BUDGET
 * messages). Returns 0, or -EPIPE when the peer closed it (the caller
 * then calls logd_set_peer(d, chan, -1)). Messages on LOGD_CHAN_INIT
 * other than IMSG_PEER_CHANNEL are logged and dropped; peer channels are
 * taken by the caller (logd_main), not here. */
int logd_readable(struct logd *d, enum logd_chan chan);

/* Ends a loop round: syncs the buffered appends (once), sends their
 * replies, reports a state change to init, and asks keyd to sign the
 * committed head when a checkpoint is due at now_ms. Appends all lazy
 * wait until LOG_APPEND_LAZY_MS after the first round that saw them. */
void logd_end_round(struct logd *d, uint64_t now_ms);

/* How long the loop may sleep before logd_end_round must run again: -1
 * (until a message), or the ms left before lazy appends' sync is due. */
int logd_wait_ms(const struct logd *d, uint64_t now_ms);

/* Syncs every buffered append now, lazy ones included (logd's exit). */
void logd_sync_now(struct logd *d);

/* The role's entry point (after its seccomp set is installed). */
int logd_main(void);

extern const struct seccomp_rule logd_seccomp_rules[];
extern const size_t logd_seccomp_nrules;

#endif
