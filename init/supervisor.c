/* init/supervisor.c: see supervisor.h.
 *
 * The supervisor knows roles only as rows of the table: what it reads from
 * a role's channel goes to the lifecycle (init/lifecycle.c), which accepts
 * fixed-size structs only; anything else is a protocol violation and the
 * role is killed (and restarted like after a crash).
 */
#include "init/supervisor.h"
#include "init/rolelog.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* epoll tags: a role's channel is its id, its log pipe EV_LOG + id. */
enum { EV_LOG = 500, EV_SIGNAL = 1000, EV_TIMER = 1001, EV_WATCH = 1002 };

#define CHANNEL_CLOSED_GRACE_MS 1000u
#define MSG_BUDGET 64   /* messages per role per wakeup */

struct sup_role {
	const struct role_spec *spec;
	pid_t pid;                /* 0 when not running */
	int sock;                 /* lifecycle channel; -1 when closed */
	uint64_t started;         /* mono_ms() of the last start */
	uint64_t due;             /* mono_ms() of the pending timer action; 0: none */
	uint32_t delay_ms;        /* last restart delay */
	unsigned starts;
	uint32_t peer_gen[ROLE_COUNT];
	int log_fd;               /* read end of its stdout/stderr; -1 when closed */
	struct rolelog log;
};

struct sup {
	const struct supervisor_config *cfg;
	int ep, sigfd, timerfd;
	bool stopping;
	bool held[ROLE_COUNT];     /* cfg->held, until supervisor_release */
	uint64_t tick_due;         /* supervisor_set_tick; 0: none */
	int watch_fd;              /* supervisor_watch; -1: none */
	struct sup_role role[ROLE_COUNT];
};

/* init's loop is one per process (PID 1): its state is this file's.
 * fatal() needs it to stop the roles from anywhere. */
static struct sup S = { .ep = -1, .sigfd = -1, .timerfd = -1, .watch_fd = -1 };
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
	for (size_t i = 0; i < ROLE_COUNT; i++) {
		if (S.role[i].pid > 0) {
			kill(S.role[i].pid, SIGKILL);
			waitpid(S.role[i].pid, NULL, 0);
		}
	}
	exit(1);
}

/* --- restart policy ------------------------------------------------------------ */

uint32_t restart_delay(uint32_t min_ms, uint32_t max_ms, uint32_t last_delay_ms,
		       uint64_t ran_ms)
{
	if (last_delay_ms == 0 || ran_ms >= RESTART_RESET_MS)
		return min_ms;
	if (last_delay_ms >= max_ms / 2)
		return max_ms;
	return last_delay_ms * 2;
}

pid_t supervisor_role_pid(enum role_id id)
{
	return (unsigned)id < ROLE_COUNT ? S.role[id].pid : 0;
}

int supervisor_role_sock(enum role_id id)
{
	return (unsigned)id < ROLE_COUNT && S.role[id].pid > 0 ? S.role[id].sock : -1;
}

/* --- small helpers ---------------------------------------------------------------- */

/* Arms the timerfd for the earliest pending role action. */
static void arm_timer(void)
{
	struct itimerspec it;
	uint64_t now = mono_ms(), next = 0;

	for (size_t i = 0; i < S.cfg->nroles; i++)
		if (S.role[i].due != 0 && (next == 0 || S.role[i].due < next))
			next = S.role[i].due;
	if (S.tick_due != 0 && !S.stopping && (next == 0 || S.tick_due < next))
		next = S.tick_due;
	memset(&it, 0, sizeof it);
	if (next != 0) {
		uint64_t ms = next > now ? next - now : 0;
		it.it_value.tv_sec = (time_t)(ms / 1000);
		it.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
		if (ms == 0)
			it.it_value.tv_nsec = 1;   /* zero would disarm */
	}
	if (timerfd_settime(S.timerfd, 0, &it, NULL) != 0)
		fatal("timerfd_settime: %s", strerror(errno));
}

static void schedule(struct sup_role *r, uint32_t ms)
{
	r->due = mono_ms() + ms;
	if (r->due == 0)
		r->due = 1;
	arm_timer();
}

static void ep_add(int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };
	if (epoll_ctl(S.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		fatal("epoll_ctl: %s", strerror(errno));
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

static void close_channel(struct sup_role *r)
{
	if (r->sock >= 0) {
		close(r->sock);   /* also leaves the epoll set */
		r->sock = -1;
	}
}

static void kill_role(struct sup_role *r, const char *why)
{
	if (r->pid > 0) {
		dlog("killing %s (pid %d): %s", r->spec->name, (int)r->pid, why);
		kill(r->pid, SIGKILL);
	}
	close_channel(r);
}

/* --- the roles' console lines ---------------------------------------------------------- */

/* Relays what the role wrote (a bounded amount per wakeup); at the end of
 * the pipe, the last line and the pipe are closed. */
static void log_readable(struct sup_role *r)
{
	char buf[4096];

	for (int i = 0; i < 8 && r->log_fd >= 0; i++) {
		ssize_t n = read(r->log_fd, buf, sizeof buf);
		if (n > 0) {
			rolelog_feed(&r->log, buf, (size_t)n, mono_ms());
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		rolelog_end(&r->log, mono_ms());
		close(r->log_fd);   /* also leaves the epoll set */
		r->log_fd = -1;
	}
}

/* A new pipe for a role about to start: what the previous one still holds
 * is relayed first. Returns the write end, or -1 (the role then writes to
 * init's own stderr, untagged). */
static int log_pipe(struct sup_role *r)
{
	int p[2];

	/* Bounded: a write end kept open elsewhere must not hang init. */
	for (int i = 0; i < 16 && r->log_fd >= 0; i++)
		log_readable(r);
	if (r->log_fd >= 0) {
		rolelog_end(&r->log, mono_ms());
		close(r->log_fd);
		r->log_fd = -1;
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		dlog("pipe for %s's log: %s", r->spec->name, strerror(errno));
		return -1;
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	r->log_fd = p[0];
	rolelog_init(&r->log, r->spec->name, mono_ms());
	ep_add(r->log_fd, EV_LOG + (uint32_t)r->spec->id);
	return p[1];
}

/* --- spawning -------------------------------------------------------------------- */

static _Noreturn void role_child(const struct sup_role *r, int sock, int logw)
{
	const struct supervisor_config *c = S.cfg;
	const struct role_spec *rs = r->spec;
	char *argv[] = { "dshield-init", (char *)rs->name, NULL };
	/* Built here, never inherited: the kernel command line can put
	 * variables in PID 1's environment. */
	char *envp[4] = { NULL, NULL, NULL, NULL };
	size_t ne = 0;
	struct privdrop_bind binds[PRIVDROP_BINDS_MAX];
	size_t nb = 0;

	if (logw >= 0)
		envp[ne++] = "DSHIELD_LOG_PLAIN=1";
	if (c->no_seccomp && !c->pid1)
		envp[ne++] = "DSHIELD_NO_SECCOMP=1";
	if (!c->pid1 && c->extra_env[rs->id] != NULL)
		envp[ne++] = (char *)c->extra_env[rs->id];
	for (size_t i = 0; i < rs->nbinds && nb < PRIVDROP_BINDS_MAX; i++) {
		binds[nb] = rs->binds[i];
		for (size_t k = 0; k < sizeof c->rebind / sizeof c->rebind[0]; k++)
			if (c->rebind[k].dst != NULL && strcmp(c->rebind[k].dst, binds[nb].dst) == 0)
				binds[nb].src = c->rebind[k].src;
		nb++;
	}
	if (rs->has_state && nb < PRIVDROP_BINDS_MAX)
		binds[nb++] = (struct privdrop_bind){ c->state_dir[rs->id], "/state",
						      PRIVDROP_BIND_RW };
	if (rs->store_dir && nb < PRIVDROP_BINDS_MAX)
		binds[nb++] = (struct privdrop_bind){ c->store_dir[rs->id], "/store",
						      PRIVDROP_BIND_RW };
	struct privdrop_spec spec = {
		.root_dir = c->root_dir[rs->id],
		.uid = rs->uid,
		.gid = rs->gid,
		.uid0_nocaps = rs->uid0_nocaps,
		.caps_keep = rs->caps_keep,
		.keep_fd = sock,
		.keep_fd_to = ROLE_INIT_FD,
		.new_netns = rs->new_netns,
		.binds = binds,
		.nbinds = (rs->nbinds > 0 || rs->has_state || rs->store_dir) ? nb : 0,
		.argv = argv,
		.envp = envp,
	};
	if (logw >= 0 && (dup2(logw, 1) < 0 || dup2(logw, 2) < 0))
		_exit(126);
	/* init tags every line of this pipe with the role's name */
	log_set_plain(logw >= 0);
	log_set_fd(2);   /* privdrop closes every fd above the imsg socket */
	/* while init's privileges are still ours (raising the hard limit
	 * needs them); a failure leaves the inherited limit, said here */
	struct rlimit nofile = { rs->nofile, rs->nofile };
	if (rs->nofile != 0 && setrlimit(RLIMIT_NOFILE, &nofile) != 0)
		dlog("%s: cannot set RLIMIT_NOFILE to %u: %s", rs->name, rs->nofile, strerror(errno));
	int e = privdrop_worker(&spec);
	dlog("cannot start %s: %s", rs->name, strerror(-e));
	_exit(127);
}

static void schedule_restart(struct sup_role *r)
{
	uint64_t ran = mono_ms() - r->started;
	r->delay_ms = restart_delay(r->spec->restart_min_ms, r->spec->restart_max_ms,
				    r->delay_ms, ran);
	dlog("restarting %s in %u ms", r->spec->name, r->delay_ms);
	schedule(r, r->delay_ms);
}

/* A fresh channel between two running roles, one end to each. */
static void broker(struct sup_role *a, struct sup_role *b)
{
	int sv[2], r;

	if (a->sock < 0 || b->sock < 0)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		dlog("socketpair for %s-%s: %s", a->spec->name, b->spec->name, strerror(errno));
		return;
	}
	uint32_t gen = ++a->peer_gen[b->spec->id];
	b->peer_gen[a->spec->id] = gen;
	struct peer_channel_msg to_a = { .peer = b->spec->id, .generation = gen };
	struct peer_channel_msg to_b = { .peer = a->spec->id, .generation = gen };
	r = imsg_send(a->sock, IMSG_PEER_CHANNEL, 0, &to_a, sizeof to_a, &sv[0], 1);
	if (r >= 0)
		r = imsg_send(b->sock, IMSG_PEER_CHANNEL, 0, &to_b, sizeof to_b, &sv[1], 1);
	if (r < 0)
		dlog("cannot hand the %s-%s channel over: %s", a->spec->name, b->spec->name,
		     strerror(-r));
	close(sv[0]);
	close(sv[1]);
}

static void broker_peers(struct sup_role *r)
{
	for (size_t i = 0; i < S.cfg->nroles; i++)
		if (i != (size_t)r->spec->id && (r->spec->peers & (1u << i)))
			broker(r, &S.role[i]);
}

static void spawn(struct sup_role *r)
{
	int sv[2], e, logw;
	pid_t pid;

	r->due = 0;
	logw = log_pipe(r);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		dlog("socketpair for %s: %s", r->spec->name, strerror(errno));
		if (logw >= 0)
			close(logw);
		r->started = mono_ms();
		schedule_restart(r);
		return;
	}
	pid = fork();
	if (pid < 0) {
		dlog("fork for %s: %s", r->spec->name, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		if (logw >= 0)
			close(logw);
		r->started = mono_ms();
		schedule_restart(r);
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		role_child(r, sv[1], logw);
	}
	close(sv[1]);
	if (logw >= 0)
		close(logw);
	r->pid = pid;
	r->sock = sv[0];
	r->started = mono_ms();
	r->starts++;
	if (fcntl(r->sock, F_SETFL, O_NONBLOCK) != 0)
		fatal("fcntl O_NONBLOCK: %s", strerror(errno));
	ep_add(r->sock, (uint32_t)r->spec->id);
	dlog("%s started (pid %d%s)", r->spec->name, (int)pid, r->starts > 1 ? ", restart" : "");
	/* Start messages wait in the socket buffer of the fresh pair until
	 * the role, exec'd and confined, reads them. */
	e = S.cfg->ops.start(S.cfg->ops.ctx, r->spec, r->sock);
	if (e < 0)
		dlog("cannot send %s its start messages: %s", r->spec->name, strerror(-e));
	broker_peers(r);
}

static void role_exited(struct sup_role *r, int st)
{
	char how[96];
	uint64_t ran = mono_ms() - r->started;
	describe_status(st, how, sizeof how);
	dlog("%s (pid %d) %s after %llu ms", r->spec->name, (int)r->pid, how,
	     (unsigned long long)ran);
	r->pid = 0;
	close_channel(r);
	if (S.held[r->spec->id])
		dlog("%s held: not restarted", r->spec->name);
	else if (!S.stopping)
		schedule_restart(r);
}

/* --- messages from roles -------------------------------------------------------------- */

static void role_readable(struct sup_role *r)
{
	char why[96];

	/* Bounded: a flood from a role must not starve signal handling. */
	for (int i = 0; i < MSG_BUDGET && r->sock >= 0; i++) {
		int e = imsg_recv(r->sock, &msg);
		if (e == -EAGAIN)
			return;
		if (e == -EPIPE) {
			/* Usually the role is exiting (its fds close just before
			 * it becomes a zombie): give SIGCHLD a moment to arrive
			 * before calling it a hang. */
			close_channel(r);
			if (r->pid > 0 && !S.stopping)
				schedule(r, CHANNEL_CLOSED_GRACE_MS);
			return;
		}
		if (e < 0) {
			snprintf(why, sizeof why, "unreadable message: %s", strerror(-e));
			kill_role(r, why);
			return;
		}
		uint32_t type = msg.hdr.type, len = msg.hdr.len;
		e = S.cfg->ops.on_message(S.cfg->ops.ctx, r->spec, r->sock, &msg);
		imsg_close_fds(&msg);
		if (e < 0) {
			snprintf(why, sizeof why, "protocol violation (message type %u, %u bytes)",
				 type, len);
			kill_role(r, why);
			return;
		}
	}
}

/* --- signals and timer ------------------------------------------------------------------- */

static bool any_running(void)
{
	for (size_t i = 0; i < S.cfg->nroles; i++)
		if (S.role[i].pid != 0)
			return true;
	return false;
}

static int finish_if_stopped(void)
{
	if (!S.stopping || any_running())
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
	for (size_t i = 0; i < S.cfg->nroles; i++) {
		struct sup_role *r = &S.role[i];
		r->due = 0;
		if (r->pid > 0) {
			kill(r->pid, SIGTERM);
			r->due = mono_ms() + STOP_GRACE_MS;
		}
	}
	arm_timer();
}

static void reap(void)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		struct sup_role *r = NULL;
		for (size_t i = 0; i < S.cfg->nroles; i++)
			if (S.role[i].pid == p)
				r = &S.role[i];
		if (r != NULL) {
			role_exited(r, st);
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

static void role_due(struct sup_role *r)
{
	r->due = 0;
	if (S.stopping) {
		if (r->pid > 0)
			kill_role(r, "it did not stop within the grace period");
		return;
	}
	if (r->pid == 0) {
		if (!S.held[r->spec->id])
			spawn(r);
	} else if (S.held[r->spec->id]) {
		kill_role(r, "held, and it did not stop within the grace period");
	} else if (r->sock < 0) {
		kill_role(r, "it closed its channel to init but did not exit");
	}
}

static void on_timer(void)
{
	uint64_t expirations, now = mono_ms();
	if (read(S.timerfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
		return;
	for (size_t i = 0; i < S.cfg->nroles; i++)
		if (S.role[i].due != 0 && S.role[i].due <= now)
			role_due(&S.role[i]);
	if (S.tick_due != 0 && S.tick_due <= now && !S.stopping) {
		S.tick_due = 0;
		if (S.cfg->ops.tick != NULL)
			S.cfg->ops.tick(S.cfg->ops.ctx);
	}
	arm_timer();
}

void supervisor_set_tick(uint64_t due)
{
	S.tick_due = due;
	if (S.timerfd >= 0)
		arm_timer();
}

int supervisor_watch(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EV_WATCH };

	if (S.watch_fd >= 0)
		return -EBUSY;
	if (S.ep < 0 || fd < 0)
		return -EINVAL;
	if (epoll_ctl(S.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -errno;
	S.watch_fd = fd;
	return 0;
}

void supervisor_unwatch(int fd)
{
	if (fd < 0 || fd != S.watch_fd)
		return;
	epoll_ctl(S.ep, EPOLL_CTL_DEL, fd, NULL);
	S.watch_fd = -1;
}

static void watch_ready(void)
{
	if (S.watch_fd < 0 || S.cfg->ops.fd_ready == NULL)
		return;
	S.cfg->ops.fd_ready(S.cfg->ops.ctx, S.watch_fd);
}

void supervisor_hold(enum role_id id, const char *why)
{
	if ((unsigned)id >= S.cfg->nroles || S.held[id])
		return;
	S.held[id] = true;
	struct sup_role *r = &S.role[id];
	r->due = 0;
	if (r->pid > 0) {
		dlog("stopping %s (pid %d) and holding it: %s", r->spec->name, (int)r->pid, why);
		kill(r->pid, SIGTERM);
		r->due = mono_ms() + STOP_GRACE_MS;   /* then SIGKILL (role_due) */
		arm_timer();
	}
}

void supervisor_release(enum role_id id)
{
	if ((unsigned)id >= S.cfg->nroles || !S.held[id] || S.stopping)
		return;
	S.held[id] = false;
	spawn(&S.role[id]);
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

	if (cfg->nroles > ROLE_COUNT)
		fatal("role table: %zu roles, at most %d", cfg->nroles, ROLE_COUNT);
	S.cfg = cfg;
	for (size_t i = 0; i < cfg->nroles; i++) {
		if (cfg->roles[i].id != (enum role_id)i)
			fatal("role table: row %zu (%s) has id %d", i, cfg->roles[i].name,
			      (int)cfg->roles[i].id);
		S.role[i] = (struct sup_role){ .spec = &cfg->roles[i], .sock = -1, .log_fd = -1 };
		S.held[i] = cfg->held[i];
	}
	setup();
	arm_timer();   /* a tick set before the loop */
	/* Children that died before the loop existed (none expected). */
	reap();
	for (size_t i = 0; i < cfg->nroles; i++) {
		if (cfg->held[i]) {
			dlog("%s not started: %s", cfg->roles[i].name,
			     cfg->held_why ? cfg->held_why : "held");
			continue;
		}
		spawn(&S.role[i]);
	}

	for (;;) {
		int n = epoll_wait(S.ep, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			uint32_t tag = evs[i].data.u32;
			if (tag == EV_SIGNAL)
				on_signals();
			else if (tag == EV_TIMER)
				on_timer();
			else if (tag == EV_WATCH)
				watch_ready();
			else if (tag < cfg->nroles)
				role_readable(&S.role[tag]);
			else if (tag >= EV_LOG && tag < EV_LOG + cfg->nroles)
				log_readable(&S.role[tag - EV_LOG]);
		}
		if (finish_if_stopped())
			return 0;
	}
}
