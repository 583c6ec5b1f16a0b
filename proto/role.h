/* proto/role.h: what every role and init agree on, whatever the role.
 *
 * Every role is the same binary exec'd as `dshield-init ROLE`, with its
 * lifecycle channel to init on fd ROLE_INIT_FD (a SOCK_SEQPACKET imsg
 * socket, lib/imsg.h). Channels between two roles are brokered by init:
 * whenever both ends run, init makes a socketpair and hands one end to
 * each with IMSG_PEER_CHANNEL, so a restarted role gets fresh channels and
 * its peers notice the old one closing (EPIPE).
 *
 * Message type numbers are unique across all protocols (each proto/
 * header owns a range), so a message that arrives on the wrong channel is
 * never mistaken for another kind.
 */
#ifndef DSHIELD_PROTO_ROLE_H
#define DSHIELD_PROTO_ROLE_H

#include <stdint.h>

#define ROLE_INIT_FD 3

/* Roles that have channels to each other. */
enum role_id {
	ROLE_NETD = 0,
	ROLE_KEYD = 1,
	ROLE_LOGD = 2,
	ROLE_SANDBOXD = 3,
	ROLE_COUNT
};

/* Type ranges of the protocols. */
enum {
	IMSG_RANGE_ROLE      = 1,    /* proto/role.h */
	IMSG_RANGE_INIT_NETD = 16,   /* proto/init_netd.h */
	IMSG_RANGE_INIT_KEYD = 32,   /* proto/init_keyd.h */
	IMSG_RANGE_NETD_KEYD = 48,   /* proto/netd_keyd.h */
	IMSG_RANGE_INIT_LOGD = 64,   /* proto/init_logd.h */
	IMSG_RANGE_LOGD_KEYD = 80,   /* proto/logd_keyd.h */
	IMSG_RANGE_LOGD      = 96,   /* proto/logd.h (netd, sandboxd) */
	IMSG_RANGE_NETD_SANDBOXD = 112, /* proto/netd_sandboxd.h */
	IMSG_RANGE_SANDBOXD_KEYD = 128, /* proto/sandboxd_keyd.h */
	IMSG_RANGE_INIT_SANDBOXD = 144, /* proto/init_sandboxd.h */
};

enum role_imsg_type {
	/* init -> role: struct peer_channel_msg, fds[0] = this role's end of
	 * a fresh channel to that peer */
	IMSG_PEER_CHANNEL = IMSG_RANGE_ROLE,
};

struct peer_channel_msg {
	uint32_t peer;            /* enum role_id */
	uint32_t generation;      /* counts the channels made for this pair */
};

#endif
