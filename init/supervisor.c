/* init/supervisor.c: see supervisor.h.
 *
 * init never parses anything netd says beyond fixed-size structs checked by
 * imsg_get(); a message that is not exactly one of those is a protocol
 * violation and netd is killed (and restarted like after a crash).
 */
#include "init/supervisor.h"
#include "crypto/attest.h"
#include "crypto/reportdata.h"
#include "init/kaddr.h"
#include "init/privdrop.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "net/netd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum ev_tag { EV_SIGNAL = 1, EV_TIMER, EV_NETD };

#define CHANNEL_CLOSED_GRACE_MS 1000u

struct sup {
	const struct supervisor_config *cfg;
	struct boot_info_msg boot;
	int ep, sigfd, timerfd;
	pid_t netd_pid;           /* 0 when not running */
	int netd_sock;            /* -1 when closed */
	uint64_t netd_started;    /* mono_ms() of the last start */
	uint32_t delay_ms;        /* last restart delay */
	unsigned starts;
	bool stopping;
	bool announced;           /* "ready" printed for this incarnation */
	unsigned quote_tokens;    /* rate limit of quote requests */
	uint64_t quote_refill_at; /* mono_ms() of the last refill */
	uint64_t quotes, quotes_refused;
};

static struct sup S = { .ep = -1, .sigfd = -1, .timerfd = -1, .netd_sock = -1 };
static bool fatal_pid1;
static struct imsg msg;       /* 16 KiB, not on the stack */

/* --- fatal and poweroff ------------------------------------------------------ */

void fatal_set_pid1(bool pid1) { fatal_pid1 = pid1; }

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Reaps whatever has exited; returns 1 when no child is left. */
static int reap_all_nohang(void)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		;
	return p < 0 && errno == ECHILD;
}

_Noreturn void poweroff_now(void)
{
	dlog("stopping all processes");
	kill(-1, SIGTERM);
	for (unsigned waited = 0; waited < STOP_GRACE_MS; waited += 50) {
		if (reap_all_nohang())
			break;
		sleep_ms(50);
	}
	kill(-1, SIGKILL);
	reap_all_nohang();
	dlog("syncing and powering off");
	sync();
	reboot(RB_POWER_OFF);
	/* Only reached if the kernel refused: PID 1 must still not exit. */
	dlog("reboot(RB_POWER_OFF) failed: %s; halting here", strerror(errno));
	for (;;)
		pause();
}

_Noreturn void fatal(const char *fmt, ...)
{
	char reason[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	dlog("FATAL: %s", reason);
	if (fatal_pid1) {
		dlog("FATAL: powering off");
		poweroff_now();
	}
	if (S.netd_pid > 0) {
		kill(S.netd_pid, SIGKILL);
		waitpid(S.netd_pid, NULL, 0);
	}
	exit(1);
}

/* --- restart policy ------------------------------------------------------------ */

uint32_t restart_delay(uint32_t last_delay_ms, uint64_t ran_ms)
{
	if (last_delay_ms == 0 || ran_ms >= RESTART_RESET_MS)
		return RESTART_MIN_MS;
	if (last_delay_ms >= RESTART_MAX_MS / 2)
		return RESTART_MAX_MS;
	return last_delay_ms * 2;
}

/* --- small helpers ---------------------------------------------------------------- */

static void arm_timer(uint32_t ms)
{
	struct itimerspec it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ms == 0)
		it.it_value.tv_nsec = 1;   /* zero would disarm */
	if (timerfd_settime(S.timerfd, 0, &it, NULL) != 0)
		fatal("timerfd_settime: %s", strerror(errno));
}

static void ep_add(int fd, enum ev_tag tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };
	if (epoll_ctl(S.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		fatal("epoll_ctl: %s", strerror(errno));
}

static const char *ip_str(uint32_t be, char buf[INET_ADDRSTRLEN])
{
	struct in_addr a = { .s_addr = be };
	if (inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) == NULL)
		snprintf(buf, INET_ADDRSTRLEN, "?");
	return buf;
}

static int prefix_len(uint32_t mask_be)
{
	return __builtin_popcount(ntohl(mask_be));
}

static void describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "ended (wait status %#x)", (unsigned)st);
}

static void close_netd_channel(void)
{
	if (S.netd_sock >= 0) {
		close(S.netd_sock);   /* also leaves the epoll set */
		S.netd_sock = -1;
	}
}

static void kill_netd(const char *why)
{
	if (S.netd_pid > 0) {
		dlog("killing netd (pid %d): %s", (int)S.netd_pid, why);
		kill(S.netd_pid, SIGKILL);
	}
	close_netd_channel();
}

/* --- netd lifecycle --------------------------------------------------------------- */

static _Noreturn void netd_child(int sock)
{
	static char *const argv[] = { "dshield-init", "netd", NULL };
	static char *const env_default[] = { NULL };
	static char *const env_no_seccomp[] = { "DSHIELD_NO_SECCOMP=1", NULL };
	const struct supervisor_config *c = S.cfg;
	struct privdrop_spec spec = {
		.root_dir = c->netd_root,
		.uid = PRIVDROP_NETD_UID,
		.gid = PRIVDROP_NETD_GID,
		.keep_fd = sock,
		.keep_fd_to = NETD_IMSG_FD,
		.new_netns = true,
		.argv = argv,
		/* Built here, never inherited: the kernel command line can
		 * put variables in PID 1's environment. */
		.envp = (c->no_seccomp && !c->pid1) ? env_no_seccomp : env_default,
	};
	log_set_role("netd-spawn");
	log_set_fd(2);   /* privdrop closes every fd above the imsg socket */
	int r = privdrop_worker(&spec);
	dlog("cannot start netd: %s", strerror(-r));
	_exit(127);
}

static void send_boot_info(void)
{
	int r = imsg_send(S.netd_sock, IMSG_BOOT_INFO, 0, &S.boot, sizeof S.boot, NULL, 0);
	if (r < 0)
		dlog("cannot send boot info to netd: %s", strerror(-r));
}

static void schedule_restart(void)
{
	uint64_t ran = mono_ms() - S.netd_started;
	S.delay_ms = restart_delay(S.delay_ms, ran);
	dlog("restarting netd in %u ms", S.delay_ms);
	arm_timer(S.delay_ms);
}

static void spawn_netd(void)
{
	int sv[2], r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		dlog("socketpair for netd: %s", strerror(errno));
		S.netd_started = mono_ms();
		schedule_restart();
		return;
	}
	pid = fork();
	if (pid < 0) {
		dlog("fork for netd: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		S.netd_started = mono_ms();
		schedule_restart();
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		netd_child(sv[1]);
	}
	close(sv[1]);
	S.netd_pid = pid;
	S.netd_sock = sv[0];
	S.netd_started = mono_ms();
	S.announced = false;
	S.starts++;
	S.boot.t_netd_up_ms = 0;   /* known once netd reports STARTED */
	if (fcntl(S.netd_sock, F_SETFL, O_NONBLOCK) != 0)
		fatal("fcntl O_NONBLOCK: %s", strerror(errno));
	ep_add(S.netd_sock, EV_NETD);
	dlog("netd started (pid %d%s)", (int)pid, S.starts > 1 ? ", restart" : "");

	/* Both fit in the socket buffer of a fresh pair: they wait there
	 * until netd, exec'd and confined, reads them. */
	r = imsg_send(S.netd_sock, IMSG_NETD_CONFIG, 0, &S.cfg->net, sizeof S.cfg->net,
		      &S.cfg->packet_fd, 1);
	if (r < 0)
		dlog("cannot send config to netd: %s", strerror(-r));
	send_boot_info();
}

static void netd_exited(int st)
{
	char how[96];
	uint64_t ran = mono_ms() - S.netd_started;
	describe_status(st, how, sizeof how);
	dlog("netd (pid %d) %s after %llu ms", (int)S.netd_pid, how, (unsigned long long)ran);
	S.netd_pid = 0;
	close_netd_channel();
	if (!S.stopping)
		schedule_restart();
}

/* --- messages from netd -------------------------------------------------------------- */

static int on_status(const struct imsg *m)
{
	struct netd_status_msg st;
	char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];

	if (imsg_get(m, IMSG_NETD_STATUS, &st, sizeof st) < 0)
		return -EBADMSG;
	switch (st.state) {
	case NETD_STATE_STARTED:
		if (!S.cfg->boot.host_mode) {
			S.boot.t_netd_up_ms = boot_ms();
			send_boot_info();
		}
		dlog("netd: event loop running");
		return 0;
	case NETD_STATE_BOUND:
		dlog("netd: bound %s/%d via %s, gateway %s", ip_str(st.ipv4_addr, ip),
		     prefix_len(st.ipv4_netmask), st.dhcp ? "dhcp" : "static",
		     st.ipv4_gw ? ip_str(st.ipv4_gw, gw) : "none");
		return 0;
	case NETD_STATE_READY:
		if (!S.announced) {
			S.announced = true;
			dlog("ready http://%s:%u/", ip_str(st.ipv4_addr, ip),
			     (unsigned)S.cfg->net.http_port);
		}
		return 0;
	default:
		return -EBADMSG;
	}
}

static int on_kaddr_req(const struct imsg *m)
{
	static struct kaddr_reply_msg reply;
	int r;

	if (imsg_get(m, IMSG_KADDR_REQ, NULL, 0) < 0)
		return -EBADMSG;
	memset(&reply, 0, sizeof reply);
	/* On -E2BIG the first KADDR_MAX addresses are kept: netd shows
	 * them along with the error. */
	r = kaddr_query(S.cfg->ifindex, &reply);
	if (r < 0)
		reply.error = r;
	r = imsg_send(S.netd_sock, IMSG_KADDR_REPLY, m->hdr.id, &reply, sizeof reply, NULL, 0);
	if (r < 0)
		dlog("cannot answer netd's address query: %s", strerror(-r));
	return 0;
}

_Static_assert(sizeof(struct quote_reply_msg) + QUOTE_REPLY_QUOTE_MAX + QUOTE_REPLY_LOG_MAX
	       <= IMSG_MAX_PAYLOAD, "a quote reply fits one imsg");

/* Token bucket: true when a quote may be made now. */
static bool quote_allowed(void)
{
	uint64_t now = mono_ms();
	if (S.quote_refill_at == 0) {
		S.quote_tokens = QUOTE_BURST;
		S.quote_refill_at = now;
	}
	while (S.quote_tokens < QUOTE_BURST && now - S.quote_refill_at >= QUOTE_REFILL_MS) {
		S.quote_tokens++;
		S.quote_refill_at += QUOTE_REFILL_MS;
	}
	if (S.quote_tokens == QUOTE_BURST)
		S.quote_refill_at = now;
	if (S.quote_tokens == 0)
		return false;
	S.quote_tokens--;
	return true;
}

/* Fills rep and the data behind it; returns the payload length. */
static size_t make_quote(const struct quote_req_msg *req, struct quote_reply_msg *rep)
{
	struct attest *a = S.cfg->attest;
	uint8_t *data = (uint8_t *)(rep + 1);
	struct reportdata_in in;
	char err[ATTEST_ERR_LEN];
	long n, ln;

	memcpy(rep->nonce, req->nonce, req->nonce_len);
	rep->nonce_len = req->nonce_len;
	rep->has_manifest = S.boot.has_manifest;
	memcpy(rep->manifest_sha256, S.boot.manifest_sha256, 32);
	if (a == NULL || a->backend == ATTEST_NONE) {
		rep->error = -ENODEV;
		snprintf(rep->detail, sizeof rep->detail, "%.255s",
			 a ? a->why : "attestation was not set up");
		return sizeof *rep;
	}
	rep->backend = a->backend == ATTEST_TDX ? QUOTE_BACKEND_TDX : QUOTE_BACKEND_SIM;
	if (!quote_allowed()) {
		rep->error = -EBUSY;
		snprintf(rep->detail, sizeof rep->detail, "too many quote requests (at most %u, "
			 "then one per %u ms): retry later", QUOTE_BURST, QUOTE_REFILL_MS);
		if (S.quotes_refused++ % 1000 == 0)
			dlog("attestation: %s: quote requests refused by the rate limit (%llu so far)",
			     attest_backend_name(a->backend), (unsigned long long)S.quotes_refused);
		return sizeof *rep;
	}
	memset(&in, 0, sizeof in);
	in.f[RD_NONCE - 1] = (struct rd_value){ true, rep->nonce, rep->nonce_len };
	in.f[RD_MANIFEST_SHA256 - 1] = (struct rd_value){ rep->has_manifest != 0,
							 rep->manifest_sha256, 32 };
	if (reportdata_compute(&in, rep->report_data) < 0) {
		rep->error = -EINVAL;
		snprintf(rep->detail, sizeof rep->detail, "REPORTDATA preimage refused");
		return sizeof *rep;
	}
	n = attest_quote(a, rep->report_data, data, QUOTE_REPLY_QUOTE_MAX, err);
	if (n < 0) {
		rep->error = (int32_t)n;
		snprintf(rep->detail, sizeof rep->detail, "%.255s", err);
		dlog("attestation: %s: quote failed: %s", attest_backend_name(a->backend), err);
		return sizeof *rep;
	}
	ln = rtmr3_log_json(&a->log, (char *)data + n, QUOTE_REPLY_LOG_MAX);
	if (ln < 0) {
		rep->error = (int32_t)ln;
		snprintf(rep->detail, sizeof rep->detail, "the event log does not fit %u bytes",
			 QUOTE_REPLY_LOG_MAX);
		return sizeof *rep;
	}
	rep->quote_len = (uint32_t)n;
	rep->log_len = (uint32_t)ln;
	S.quotes++;
	dlog("attestation: %s: quote #%llu, %ld bytes, %u events%s",
	     attest_backend_name(a->backend), (unsigned long long)S.quotes, n, a->log.n,
	     a->backend == ATTEST_SIM ? " (simulated: proves nothing about hardware)" : "");
	return sizeof *rep + (size_t)n + (size_t)ln;
}

static int on_quote_req(const struct imsg *m)
{
	static uint8_t payload[IMSG_MAX_PAYLOAD];
	struct quote_reply_msg *rep = (struct quote_reply_msg *)payload;
	struct quote_req_msg req;
	size_t len;
	int r;

	if (imsg_get(m, IMSG_QUOTE_REQ, &req, sizeof req) < 0 ||
	    req.nonce_len == 0 || req.nonce_len > QUOTE_NONCE_MAX)
		return -EBADMSG;
	memset(rep, 0, sizeof *rep);
	len = make_quote(&req, rep);
	r = imsg_send(S.netd_sock, IMSG_QUOTE_REPLY, m->hdr.id, payload, len, NULL, 0);
	if (r < 0)
		dlog("cannot answer netd's quote request: %s", strerror(-r));
	return 0;
}

static int on_message(const struct imsg *m)
{
	if (m->nfds != 0)
		return -EBADMSG;   /* netd never passes descriptors to init */
	switch (m->hdr.type) {
	case IMSG_NETD_STATUS:
		return on_status(m);
	case IMSG_KADDR_REQ:
		return on_kaddr_req(m);
	case IMSG_QUOTE_REQ:
		return on_quote_req(m);
	default:
		return -EBADMSG;
	}
}

static void netd_readable(void)
{
	/* Bounded: a flood from netd must not starve signal handling. */
	for (int i = 0; i < 64 && S.netd_sock >= 0; i++) {
		int r = imsg_recv(S.netd_sock, &msg);
		if (r == -EAGAIN)
			return;
		if (r == -EPIPE) {
			/* Usually netd is exiting (its fds close just before it
			 * becomes a zombie): give SIGCHLD a moment to arrive
			 * before calling it a hang. */
			close_netd_channel();
			if (S.netd_pid > 0 && !S.stopping)
				arm_timer(CHANNEL_CLOSED_GRACE_MS);
			return;
		}
		if (r == 0) {
			uint32_t type = msg.hdr.type;
			r = on_message(&msg);
			imsg_close_fds(&msg);
			if (r < 0) {
				char why[80];
				snprintf(why, sizeof why, "protocol violation (message type %u, %u bytes)",
					 type, msg.hdr.len);
				kill_netd(why);
				return;
			}
		} else {
			char why[80];
			snprintf(why, sizeof why, "unreadable message: %s", strerror(-r));
			kill_netd(why);
			return;
		}
	}
}

/* --- signals and timer ------------------------------------------------------------------- */

static int finish_if_stopped(void)
{
	if (!S.stopping || S.netd_pid != 0)
		return 0;
	if (S.cfg->pid1)
		poweroff_now();
	dlog("stopped");
	return 1;
}

static void begin_stop(int sig)
{
	if (S.stopping)
		return;
	S.stopping = true;
	dlog("%s received: shutting down", sig == SIGTERM ? "SIGTERM" :
	     sig == SIGINT ? "SIGINT" : sig == SIGPWR ? "SIGPWR" : "signal");
	if (S.netd_pid > 0) {
		kill(S.netd_pid, SIGTERM);
		arm_timer(STOP_GRACE_MS);
	}
}

static void reap(void)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == S.netd_pid) {
			netd_exited(st);
		} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			char how[96];
			describe_status(st, how, sizeof how);
			dlog("reaped pid %d: %s", (int)p, how);
		}
	}
}

static void on_signals(void)
{
	struct signalfd_siginfo si;
	ssize_t n;
	while ((n = read(S.sigfd, &si, sizeof si)) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap();
			break;
		case SIGTERM:
		case SIGINT:
		case SIGPWR:
			begin_stop((int)si.ssi_signo);
			break;
		default:
			break;
		}
	}
	/* Several SIGCHLDs coalesce into one: reap once more regardless. */
	reap();
}

static void on_timer(void)
{
	uint64_t expirations;
	if (read(S.timerfd, &expirations, sizeof expirations) < 0)
		return;
	if (S.stopping) {
		if (S.netd_pid > 0)
			kill_netd("it did not stop within the grace period");
		return;
	}
	if (S.netd_pid == 0)
		spawn_netd();
	else if (S.netd_sock < 0)
		kill_netd("it closed its channel to init but did not exit");
}

/* --- the loop ---------------------------------------------------------------------------- */

static void setup(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPWR);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		fatal("sigprocmask: %s", strerror(errno));
	/* MSG_NOSIGNAL covers imsg; this covers the console going away. */
	signal(SIGPIPE, SIG_IGN);
	S.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (S.sigfd < 0)
		fatal("signalfd: %s", strerror(errno));
	S.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (S.timerfd < 0)
		fatal("timerfd_create: %s", strerror(errno));
	S.ep = epoll_create1(EPOLL_CLOEXEC);
	if (S.ep < 0)
		fatal("epoll_create1: %s", strerror(errno));
	ep_add(S.sigfd, EV_SIGNAL);
	ep_add(S.timerfd, EV_TIMER);
}

int supervisor_run(const struct supervisor_config *cfg)
{
	struct epoll_event evs[8];

	S.cfg = cfg;
	S.boot = cfg->boot;
	setup();
	/* Children that died before the loop existed (none expected). */
	reap();
	spawn_netd();

	for (;;) {
		int n = epoll_wait(S.ep, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case EV_SIGNAL:
				on_signals();
				break;
			case EV_TIMER:
				on_timer();
				break;
			case EV_NETD:
				netd_readable();
				break;
			}
		}
		if (finish_if_stopped())
			return 0;
	}
}
