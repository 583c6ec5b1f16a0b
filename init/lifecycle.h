/* init/lifecycle.h: what init says to each role and accepts from it.
 *
 * The supervisor (init/supervisor.h) is generic; this is init's side of
 * the lifecycle protocols (proto/init_netd.h, proto/init_keyd.h,
 * proto/init_logd.h): the start
 * messages of each role, and a table of the messages a role may send init,
 * each a fixed-size struct of one exact size, with no descriptors but
 * keyd's KMS request body (one sealed memfd, handed to netd unread). Anything
 * else is a protocol violation. init parses nothing beyond that table.
 */
#ifndef DSHIELD_INIT_LIFECYCLE_H
#define DSHIELD_INIT_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "init/kms_phase.h"
#include "init/role.h"
#include "lib/imsg.h"
#include "lib/tbucket.h"
#include "proto/init_keyd.h"
#include "proto/init_logd.h"
#include "proto/init_netd.h"
#include "proto/init_sandboxd.h"

struct lifecycle {
	/* netd */
	struct netd_config_msg net;    /* sent with every (re)start */
	struct boot_info_msg boot;     /* t_netd_up_ms is filled at each start */
	struct layers_info_msg layers; /* sent with every (re)start, after boot */
	struct store_info_msg store;   /* sent with every (re)start, after layers */
	int packet_fd;                 /* AF_PACKET socket; init keeps it */
	int packet_tx_fd;              /* the one netd sends through; -1: none */
	/* the trust anchors file for netd (IMSG_NETD_ANCHORS), -1: none;
	 * init keeps it open (netd seeks to 0 before reading) */
	int anchors_fd;
	char anchors_why[160];         /* anchors_fd -1: why */
	int ifindex;                   /* for kaddr_query() */
	bool announced;                /* "ready" printed for this netd */
	/* keyd */
	struct keyd_config_msg keyd;
	/* the key provider kms's deferred phase (KP_OFF unless the store
	 * waits for the KMS's key) */
	struct kms_phase kms;
	/* logd: the state it last reported (enum logd_state; 0 before), and
	 * how often it was started in this boot */
	uint32_t logd_state;
	uint32_t logd_starts;
	/* the key provider kms: logd compares the KMS's freshness record
	 * (kms.fresh) with its log; until it said, await_fresh, and then
	 * fresh_verdict (init.c) starts sandboxd or refuses the store */
	bool await_fresh;
	void (*fresh_verdict)(void *ctx, const struct logd_status_msg *st);
	void *fresh_ctx;
	/* sandboxd: its configuration (the policy's hash, whether limits are
	 * required), sent with every (re)start */
	struct sandboxd_config_msg sbx;
	/* what init logs because a role said something (the "ready" line
	 * excepted: harnesses wait for it, and it comes once a netd) */
	struct tbucket log_rate;
	uint64_t log_dropped;
};

/* logd signs a checkpoint at least this often while entries arrive */
#define LIFECYCLE_LOGD_CHECKPOINT_MS 1000u

#define LIFECYCLE_LOG_BURST     32
#define LIFECYCLE_LOG_PERIOD_MS 200

/* One message a role may send init. */
struct lifecycle_msg {
	enum role_id role;
	uint32_t type;
	uint32_t size;                 /* exact payload size */
	uint32_t max_fds;              /* descriptors it may carry (0 for most) */
	int (*handle)(struct lifecycle *lc, int sock, const struct imsg *m);
};

/* The table behind lifecycle_on_message (for tests and docs). */
const struct lifecycle_msg *lifecycle_accepted(size_t *n);

/* struct lifecycle_ops callbacks (ctx: struct lifecycle). */
int lifecycle_start(void *ctx, const struct role_spec *r, int sock);
int lifecycle_on_message(void *ctx, const struct role_spec *r, int sock,
			 const struct imsg *m);
void lifecycle_tick(void *ctx);
void lifecycle_fd_ready(void *ctx, int fd);

#endif
