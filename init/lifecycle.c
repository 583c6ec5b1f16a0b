/* init/lifecycle.c: see lifecycle.h. */
#include "init/lifecycle.h"
#include "init/kaddr.h"
#include "crypto/policy.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *ip_str(uint32_t be, char buf[INET_ADDRSTRLEN])
{
	struct in_addr a = { .s_addr = be };
	if (inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) == NULL)
		snprintf(buf, INET_ADDRSTRLEN, "?");
	return buf;
}

/* May init log a line that a role's message caused? A role that floods
 * init with (valid) messages must not flood the console through it. */
static bool may_log(struct lifecycle *lc)
{
	if (lc->log_rate.burst == 0)
		tbucket_init(&lc->log_rate, LIFECYCLE_LOG_BURST, LIFECYCLE_LOG_PERIOD_MS, mono_ms());
	if (tbucket_take(&lc->log_rate, mono_ms())) {
		if (lc->log_dropped > 0) {
			dlog("(%llu lines about role messages dropped: rate limit)",
			     (unsigned long long)lc->log_dropped);
			lc->log_dropped = 0;
		}
		return true;
	}
	lc->log_dropped++;
	return false;
}

static int send_boot_info(struct lifecycle *lc, int sock)
{
	return imsg_send(sock, IMSG_BOOT_INFO, 0, &lc->boot, sizeof lc->boot, NULL, 0);
}

/* --- netd ------------------------------------------------------------------------ */

/* The trust anchors file, as a descriptor: netd cannot open files. */
static int send_anchors(struct lifecycle *lc, int sock)
{
	struct netd_anchors_msg m;

	memset(&m, 0, sizeof m);
	if (lc->anchors_fd >= 0)
		m.has_anchors = 1;
	else
		snprintf(m.why, sizeof m.why, "%s", lc->anchors_why);
	return imsg_send(sock, IMSG_NETD_ANCHORS, 0, &m, sizeof m,
			 m.has_anchors ? &lc->anchors_fd : NULL, m.has_anchors);
}

static int netd_start(struct lifecycle *lc, int sock)
{
	int r;

	lc->announced = false;
	lc->boot.t_netd_up_ms = 0;   /* known once netd reports STARTED */
	kms_phase_netd(&lc->kms, false);
	int pfds[2] = { lc->packet_fd, lc->packet_tx_fd };
	r = imsg_send(sock, IMSG_NETD_CONFIG, 0, &lc->net, sizeof lc->net, pfds,
		      lc->packet_tx_fd >= 0 ? 2 : 1);
	if (r < 0)
		return r;
	r = send_boot_info(lc, sock);
	if (r < 0)
		return r;
	r = imsg_send(sock, IMSG_LAYERS_INFO, 0, &lc->layers, sizeof lc->layers, NULL, 0);
	if (r < 0)
		return r;
	r = imsg_send(sock, IMSG_STORE_INFO, 0, &lc->store, sizeof lc->store, NULL, 0);
	if (r < 0)
		return r;
	/* a netd restarted after the key request still posts keyd's
	 * freshness records (its predecessor learnt where with the request) */
	if (lc->kms.released) {
		r = imsg_send(sock, IMSG_NETD_KMS_TARGET, 0, &lc->kms.nreq, sizeof lc->kms.nreq, NULL, 0);
		if (r < 0)
			return r;
	}
	return send_anchors(lc, sock);
}

static int on_netd_status(struct lifecycle *lc, int sock, const struct imsg *m)
{
	struct netd_status_msg st;
	char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];

	memcpy(&st, m->payload, sizeof st);
	switch (st.state) {
	case NETD_STATE_STARTED:
		if (!lc->boot.host_mode) {
			lc->boot.t_netd_up_ms = boot_ms();
			int r = send_boot_info(lc, sock);
			if (r < 0)
				dlog("cannot send boot info to netd: %s", strerror(-r));
		}
		if (may_log(lc))
			dlog("netd: event loop running");
		return 0;
	case NETD_STATE_BOUND:
		if (may_log(lc))
			dlog("netd: bound %s/%d via %s, gateway %s", ip_str(st.ipv4_addr, ip),
			     __builtin_popcount(ntohl(st.ipv4_netmask)), st.dhcp ? "dhcp" : "static",
			     st.ipv4_gw ? ip_str(st.ipv4_gw, gw) : "none");
		return 0;
	case NETD_STATE_READY:
		if (!lc->announced) {
			lc->announced = true;
			dlog("ready http://%s:%u/", ip_str(st.ipv4_addr, ip),
			     (unsigned)lc->net.http_port);
		}
		kms_phase_netd(&lc->kms, true);
		return 0;
	default:
		return -EBADMSG;
	}
}

static int on_kaddr_req(struct lifecycle *lc, int sock, const struct imsg *m)
{
	struct kaddr_reply_msg reply;
	int r;

	memset(&reply, 0, sizeof reply);
	/* On -E2BIG the first KADDR_MAX addresses are kept: netd shows
	 * them along with the error. */
	r = kaddr_query(lc->ifindex, &reply);
	if (r < 0)
		reply.error = r;
	r = imsg_send(sock, IMSG_KADDR_REPLY, m->hdr.id, &reply, sizeof reply, NULL, 0);
	if (r < 0)
		dlog("cannot answer netd's address query: %s", strerror(-r));
	return 0;
}

/* --- keyd ------------------------------------------------------------------------ */

static int keyd_start(struct lifecycle *lc, int sock)
{
	kms_phase_keyd(&lc->kms, false);   /* until it says it serves */
	return imsg_send(sock, IMSG_KEYD_CONFIG, 0, &lc->keyd, sizeof lc->keyd, NULL, 0);
}

static int on_keyd_status(struct lifecycle *lc, int sock, const struct imsg *m)
{
	struct keyd_status_msg st;
	static const char *const names[] = { "none", "tdx", "sim" };

	(void)sock;
	memcpy(&st, m->payload, sizeof st);
	if (st.backend > KEYD_BACKEND_SIM)
		return -EBADMSG;
	if (may_log(lc))
		dlog("keyd: serving (backend %s, %u runtime events%s)", names[st.backend],
		     (unsigned)st.events, st.resumed ? ", event log reloaded after a restart" : "");
	kms_phase_keyd(&lc->kms, true);
	return 0;
}

static int on_keyd_kms_reply(struct lifecycle *lc, int sock, const struct imsg *m)
{
	(void)sock;
	return kms_phase_keyd_reply(&lc->kms, m);
}

static int on_netd_kms_reply(struct lifecycle *lc, int sock, const struct imsg *m)
{
	(void)sock;
	return kms_phase_netd_reply(&lc->kms, m);
}

/* --- logd ------------------------------------------------------------------------ */

static int logd_start(struct lifecycle *lc, int sock)
{
	struct logd_config_msg cfg = {
		.checkpoint_interval_ms = LIFECYCLE_LOGD_CHECKPOINT_MS,
		.sync = 1,
	};

	_Static_assert(sizeof cfg.store == sizeof lc->store.summary, "the store's line fits");
	memcpy(cfg.store, lc->store.summary, sizeof cfg.store);
	cfg.store[sizeof cfg.store - 1] = '\0';
	lc->logd_state = 0;   /* a new logd says again how it is */
	cfg.restarted = lc->logd_starts++ > 0;
	_Static_assert(sizeof cfg.fresh == sizeof lc->kms.fresh, "one record size");
	if (lc->kms.fresh_len > 0) {
		cfg.fresh_len = lc->kms.fresh_len;
		memcpy(cfg.fresh, lc->kms.fresh, sizeof cfg.fresh);
		cfg.fresh_flag = lc->kms.policy != NULL && lc->kms.policy->store.kms_rollback_flag;
	}
	return imsg_send(sock, IMSG_LOGD_CONFIG, 0, &cfg, sizeof cfg, NULL, 0);
}

/* init logs a state change only: logd reports its size with each status,
 * and a status that changes nothing is not worth a console line. */
static int on_logd_status(struct lifecycle *lc, int sock, const struct imsg *m)
{
	struct logd_status_msg st;

	(void)sock;
	memcpy(&st, m->payload, sizeof st);
	if ((st.state != LOGD_STATE_READY && st.state != LOGD_STATE_FAILED) ||
	    st.fresh >= LOGD_FRESH_N)
		return -EBADMSG;
	if (lc->await_fresh && st.fresh != LOGD_FRESH_NONE) {
		lc->await_fresh = false;
		lc->fresh_verdict(lc->fresh_ctx, &st);
	}
	if (st.fresh != LOGD_FRESH_NONE && st.fresh != LOGD_FRESH_OK &&
	    !(lc->kms.policy != NULL && lc->kms.policy->store.kms_rollback_flag))
		return 0;   /* said by fresh_verdict (or a refusal already given) */
	if (st.state == lc->logd_state)
		return 0;
	lc->logd_state = st.state;
	if (!may_log(lc))
		return 0;
	if (st.state == LOGD_STATE_FAILED)
		dlog("logd: FAILED: the log's store failed closed, every append is refused "
		     "(%llu entries committed)", (unsigned long long)st.size);
	else if (st.torn_bytes != 0)
		dlog("logd: serving (%llu entries; a torn tail of %llu bytes was dropped)",
		     (unsigned long long)st.size, (unsigned long long)st.torn_bytes);
	else
		dlog("logd: serving (%llu entries)", (unsigned long long)st.size);
	return 0;
}

/* --- sandboxd ---------------------------------------------------------------------- */

static int sandboxd_start(struct lifecycle *lc, int sock)
{
	return imsg_send(sock, IMSG_SANDBOXD_CONFIG, 0, &lc->sbx, sizeof lc->sbx, NULL, 0);
}

static int on_sandboxd_status(struct lifecycle *lc, int sock, const struct imsg *m)
{
	struct sandboxd_status_msg st;
	char rts[32] = "";

	(void)sock;
	memcpy(&st, m->payload, sizeof st);
	if (st.runtimes_available >= 1u << POLICY_RT_N || st.limits_enforced > 1)
		return -EBADMSG;
	for (unsigned rt = 0; rt < POLICY_RT_N; rt++)
		if (st.runtimes_available & (1u << rt))
			snprintf(rts + strlen(rts), sizeof rts - strlen(rts), " %s",
				 policy_runtime_name(rt));
	if (may_log(lc))
		dlog("sandboxd: serving (%u functions; runtimes available:%s; limits %s)",
		     (unsigned)st.functions, rts[0] ? rts : " none",
		     st.limits_enforced ? "enforced" : "NOT enforced");
	return 0;
}

/* --- the table ------------------------------------------------------------------- */

static const struct lifecycle_msg accepted[] = {
	{ ROLE_NETD, IMSG_NETD_STATUS, sizeof(struct netd_status_msg), 0, on_netd_status },
	{ ROLE_NETD, IMSG_KADDR_REQ, 0, 0, on_kaddr_req },
	{ ROLE_NETD, IMSG_NETD_KMS_REPLY, sizeof(struct netd_kms_reply_msg), 0, on_netd_kms_reply },
	{ ROLE_KEYD, IMSG_KEYD_STATUS, sizeof(struct keyd_status_msg), 0, on_keyd_status },
	{ ROLE_KEYD, IMSG_KEYD_KMS_REPLY, sizeof(struct keyd_kms_reply_msg), 1, on_keyd_kms_reply },
	{ ROLE_LOGD, IMSG_LOGD_STATUS, sizeof(struct logd_status_msg), 0, on_logd_status },
	{ ROLE_SANDBOXD, IMSG_SANDBOXD_STATUS, sizeof(struct sandboxd_status_msg), 0,
	  on_sandboxd_status },
};

const struct lifecycle_msg *lifecycle_accepted(size_t *n)
{
	*n = sizeof accepted / sizeof accepted[0];
	return accepted;
}

int lifecycle_start(void *ctx, const struct role_spec *r, int sock)
{
	struct lifecycle *lc = ctx;

	switch (r->id) {
	case ROLE_NETD:
		return netd_start(lc, sock);
	case ROLE_KEYD:
		return keyd_start(lc, sock);
	case ROLE_LOGD:
		return logd_start(lc, sock);
	case ROLE_SANDBOXD:
		return sandboxd_start(lc, sock);
	default:
		return 0;
	}
}

void lifecycle_tick(void *ctx)
{
	struct lifecycle *lc = ctx;

	kms_phase_tick(&lc->kms);
}

void lifecycle_fd_ready(void *ctx, int fd)
{
	struct lifecycle *lc = ctx;

	kms_phase_child_ready(&lc->kms, fd);
}

int lifecycle_on_message(void *ctx, const struct role_spec *r, int sock,
			 const struct imsg *m)
{
	for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
		const struct lifecycle_msg *a = &accepted[i];
		if (a->role != r->id || a->type != m->hdr.type)
			continue;
		if (m->hdr.len != a->size || m->nfds > a->max_fds)
			return -EBADMSG;
		return a->handle(ctx, sock, m);
	}
	return -EBADMSG;
}
