/* tests/test_supervisor.c: restart policy, and the supervisor loop for real.
 *
 * The integration part (root only) runs supervisor_run() in host mode in a
 * child process, over a role table of two rows shaped like the real ones.
 * The supervisor execs /proc/self/exe as "... netd" and "... keyd", which is
 * this test binary again: it plays scripted roles inside the real
 * confinement (netd: chroot, uid 100, empty netns; keyd: uid 0 without
 * capabilities, a private mount view holding only /state). Instead of an
 * AF_PACKET socket the test hands the lifecycle one end of a socketpair as
 * "packet fd": the fake netd receives it with its config, reports through
 * it, and takes commands from it (crash, protocol violation). The fake keyd
 * reports through the channel init brokers between it and netd, which
 * netd forwards. The test reads the supervisor's log from a pipe.
 * Timeouts only guard against hangs; nothing asserts on time.
 */
#include "init/lifecycle.h"
#include "init/supervisor.h"
#include "lib/clock.h"
#include "lib/imsg.h"
#include "lib/log.h"
#include "proto/init_keyd.h"
#include "proto/init_netd.h"
#include "tests/tap.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUARD_MS 15000
#define RESTART_MIN_MS 100u     /* the bounds of the rows below */
#define RESTART_MAX_MS 10000u
#define IMSG_TEST_KEYD_REPORT 999   /* fake keyd -> fake netd, on their channel */

struct report {
	char tag[8];              /* "hello", "kaddr" or "keyd" */
	int pid;
	unsigned uid;
	int cfg_ok;               /* config as sent, with exactly one fd */
	int boot_ok;              /* boot info received, host_mode set */
	int kaddr_id;
	int kaddr_error;
	unsigned kaddr_count;
	/* keyd */
	unsigned gen;             /* channel generation */
	int view_ok;              /* its root holds exactly "state" */
	int state_rw;             /* it can write in /state */
	int securebits_ok;
	int nocaps;
};

static struct imsg msg;

/* --- the scripted roles (run after exec, confined) ------------------------------- */

static int caps_empty(void)
{
	char line[256];
	int empty = 1;
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;   /* no /proc in the view: checked by the kernel below */
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "CapEff:", 7) == 0 && strstr(line, "0000000000000000") == NULL)
			empty = 0;
	fclose(f);
	return empty;
}

static int fake_keyd(void)
{
	struct keyd_config_msg cfg;
	struct report rep;

	if (imsg_recv(ROLE_INIT_FD, &msg) != 0 ||
	    imsg_get(&msg, IMSG_KEYD_CONFIG, &cfg, sizeof cfg) != 0)
		return 20;
	struct keyd_status_msg st = { .backend = KEYD_BACKEND_NONE };
	imsg_send(ROLE_INIT_FD, IMSG_KEYD_STATUS, 0, &st, sizeof st, NULL, 0);
	for (;;) {
		struct peer_channel_msg pc;
		if (imsg_recv(ROLE_INIT_FD, &msg) != 0)
			return 21;
		if (imsg_get(&msg, IMSG_PEER_CHANNEL, &pc, sizeof pc) != 0 || msg.nfds != 1)
			return 22;
		int ch = imsg_take_fd(&msg, 0);
		memset(&rep, 0, sizeof rep);
		strcpy(rep.tag, "keyd");
		rep.pid = getpid();
		rep.uid = getuid();
		rep.gen = pc.generation;
		DIR *d = opendir("/");
		struct dirent *e;
		int n = 0, state = 0;
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			n++;
			state |= strcmp(e->d_name, "state") == 0;
		}
		if (d != NULL)
			closedir(d);
		rep.view_ok = n == 1 && state;
		int fd = open("/state/probe", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		rep.state_rw = fd >= 0 && write(fd, "x", 1) == 1;
		if (fd >= 0)
			close(fd);
		rep.securebits_ok = (prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & 1) == 1; /* NOROOT */
		rep.nocaps = caps_empty() != 0 && prctl(PR_CAPBSET_READ, 0 /* CAP_CHOWN */, 0, 0, 0) == 0;
		imsg_send(ch, IMSG_TEST_KEYD_REPORT, 0, &rep, sizeof rep, NULL, 0);
		/* the channel stays open until the next one replaces it */
	}
}

static int fake_netd(void)
{
	struct netd_config_msg cfg;
	struct boot_info_msg boot;
	struct report rep;
	int ctl = -1;

	memset(&rep, 0, sizeof rep);
	strcpy(rep.tag, "hello");
	rep.pid = getpid();
	rep.uid = getuid();
	if (imsg_recv(ROLE_INIT_FD, &msg) == 0 &&
	    imsg_get(&msg, IMSG_NETD_CONFIG, &cfg, sizeof cfg) == 0 && msg.nfds == 1) {
		ctl = imsg_take_fd(&msg, 0);
		rep.cfg_ok = strcmp(cfg.ifname, "lo") == 0 && cfg.http_port == 8080 &&
			     cfg.ipv4_addr == htonl(0xc6120002) && strcmp(cfg.hostname, "dshield-test") == 0;
	}
	if (ctl < 0)
		return 10;
	if (imsg_recv(ROLE_INIT_FD, &msg) == 0 &&
	    imsg_get(&msg, IMSG_BOOT_INFO, &boot, sizeof boot) == 0)
		rep.boot_ok = boot.host_mode == 1 && boot.t_netd_up_ms == 0;
	/* Then the runtime layers: none in host mode (no layers are opened). */
	static struct layers_info_msg li;
	if (imsg_recv(ROLE_INIT_FD, &msg) != 0 ||
	    imsg_get(&msg, IMSG_LAYERS_INFO, &li, sizeof li) != 0 || li.n != 0)
		rep.boot_ok = 0;
	/* Then the encrypted store: none in host mode. */
	static struct store_info_msg si;
	if (imsg_recv(ROLE_INIT_FD, &msg) != 0 ||
	    imsg_get(&msg, IMSG_STORE_INFO, &si, sizeof si) != 0 || si.state != STORE_INFO_NONE)
		rep.boot_ok = 0;
	/* Then the trust anchors: none given here, so no descriptor and a reason. */
	static struct netd_anchors_msg am;
	if (imsg_recv(ROLE_INIT_FD, &msg) != 0 ||
	    imsg_get(&msg, IMSG_NETD_ANCHORS, &am, sizeof am) != 0 || am.has_anchors || msg.nfds != 0)
		rep.boot_ok = 0;
	imsg_close_fds(&msg);
	if (send(ctl, &rep, sizeof rep, MSG_NOSIGNAL) < 0)
		return 11;

	struct netd_status_msg st = { .state = NETD_STATE_STARTED };
	imsg_send(ROLE_INIT_FD, IMSG_NETD_STATUS, 0, &st, sizeof st, NULL, 0);
	st.state = NETD_STATE_BOUND;
	st.ipv4_addr = cfg.ipv4_addr;
	st.ipv4_netmask = cfg.ipv4_netmask;
	st.dhcp = 0;
	imsg_send(ROLE_INIT_FD, IMSG_NETD_STATUS, 0, &st, sizeof st, NULL, 0);
	st.state = NETD_STATE_READY;
	imsg_send(ROLE_INIT_FD, IMSG_NETD_STATUS, 0, &st, sizeof st, NULL, 0);
	imsg_send(ROLE_INIT_FD, IMSG_NETD_STATUS, 0, &st, sizeof st, NULL, 0);   /* twice */

	imsg_send(ROLE_INIT_FD, IMSG_KADDR_REQ, 42, NULL, 0, NULL, 0);
	memset(&rep, 0, sizeof rep);
	strcpy(rep.tag, "kaddr");
	static struct kaddr_reply_msg kr;
	int keyd_ch = -1;
	/* The keyd channel may come before or after the answer. */
	for (int got = 0; got < 2;) {
		if (imsg_recv(ROLE_INIT_FD, &msg) != 0)
			return 14;
		if (imsg_get(&msg, IMSG_KADDR_REPLY, &kr, sizeof kr) == 0) {
			rep.kaddr_id = (int)msg.hdr.id;
			rep.kaddr_error = kr.error;
			rep.kaddr_count = kr.count;
			got++;
		} else if (msg.hdr.type == IMSG_PEER_CHANNEL && msg.nfds == 1) {
			keyd_ch = imsg_take_fd(&msg, 0);
			got++;
		} else {
			rep.kaddr_id = -1;
			got++;
		}
		imsg_close_fds(&msg);
	}
	if (send(ctl, &rep, sizeof rep, MSG_NOSIGNAL) < 0)
		return 12;
	/* Forward keyd's report from its channel. */
	if (keyd_ch >= 0 && imsg_recv(keyd_ch, &msg) == 0 &&
	    imsg_get(&msg, IMSG_TEST_KEYD_REPORT, &rep, sizeof rep) == 0)
		send(ctl, &rep, sizeof rep, MSG_NOSIGNAL);

	for (;;) {
		char cmd[16] = { 0 };
		ssize_t n = recv(ctl, cmd, sizeof cmd - 1, 0);
		if (n <= 0)
			return 13;
		if (strcmp(cmd, "crash") == 0) {
			kill(getpid(), SIGSEGV);
		} else if (strcmp(cmd, "garbage") == 0) {
			imsg_send(ROLE_INIT_FD, 999, 0, "x", 1, NULL, 0);
			for (;;)
				pause();   /* init kills us */
		} else if (strcmp(cmd, "longstatus") == 0) {
			/* a known type one byte too long: fixed sizes only */
			uint8_t big[sizeof(struct netd_status_msg) + 1] = { 0 };
			imsg_send(ROLE_INIT_FD, IMSG_NETD_STATUS, 0, big, sizeof big, NULL, 0);
			for (;;)
				pause();
		} else if (strcmp(cmd, "wait") == 0) {
			for (;;)
				pause();   /* until SIGTERM */
		}
	}
}

/* --- the test side ---------------------------------------------------------------- */

static char logbuf[65536];
static size_t loglen, logpos;
static int log_fd = -1;

/* Reads the supervisor's log until `needle` appears after the cursor; the
 * cursor then moves past it. */
static int wait_log(const char *needle)
{
	for (int waited = 0; waited < GUARD_MS; waited += 100) {
		logbuf[loglen] = 0;
		char *hit = strstr(logbuf + logpos, needle);
		if (hit != NULL) {
			logpos = (size_t)(hit - logbuf) + strlen(needle);
			return 1;
		}
		struct pollfd p = { .fd = log_fd, .events = POLLIN };
		if (poll(&p, 1, 100) > 0) {
			ssize_t n = read(log_fd, logbuf + loglen, sizeof logbuf - 1 - loglen);
			if (n > 0)
				loglen += (size_t)n;
			else if (n == 0)
				waited += 100;   /* EOF: keep looking at what we have */
		}
	}
	diag("'%s' not found in the log", needle);
	return 0;
}

static int read_report(int ctl, struct report *rep, const char *tag)
{
	struct pollfd p = { .fd = ctl, .events = POLLIN };
	memset(rep, 0, sizeof *rep);
	if (poll(&p, 1, GUARD_MS) <= 0)
		return 0;
	return recv(ctl, rep, sizeof *rep, 0) == (ssize_t)sizeof *rep &&
	       strcmp(rep->tag, tag) == 0;
}

static void check_incarnation(int ctl, const char *name, int *pid)
{
	struct report rep;
	ok(read_report(ctl, &rep, "hello"), "%s: fake netd says hello", name);
	ok(rep.cfg_ok, "%s: IMSG_NETD_CONFIG as configured, packet fd passed", name);
	ok(rep.boot_ok, "%s: IMSG_BOOT_INFO, IMSG_LAYERS_INFO, IMSG_STORE_INFO, IMSG_NETD_ANCHORS "
	   "received (host mode)", name);
	is_int(rep.uid, 100, "%s: netd runs as uid 100", name);
	*pid = rep.pid;
	ok(read_report(ctl, &rep, "kaddr"), "%s: kaddr answer", name);
	is_int(rep.kaddr_id, 42, "%s: reply echoes the request id", name);
	is_int(rep.kaddr_error, 0, "%s: kaddr_query succeeded", name);
	ok(rep.kaddr_count >= 1, "%s: lo has an address (%u)", name, rep.kaddr_count);
	ok(read_report(ctl, &rep, "keyd"), "%s: keyd reports through the brokered channel", name);
	is_int(rep.uid, 0, "%s: keyd runs as uid 0", name);
	ok(rep.nocaps, "%s: keyd has no capability", name);
	ok(rep.securebits_ok, "%s: keyd's securebits say NOROOT", name);
	ok(rep.view_ok, "%s: keyd's root holds only /state", name);
	ok(rep.state_rw, "%s: keyd can write its state directory", name);
	ok(wait_log("netd: bound 198.18.0.2/24 via static"), "%s: bound logged", name);
	ok(wait_log("ready http://198.18.0.2:8080/\n"), "%s: ready line printed", name);
}

static int fake_main(void) { return 0; }   /* never run: the roles are exec'd */

static void integration(void)
{
	char base[] = "/tmp/supervisor.XXXXXX", root[2][64], state[64];
	int ctl[2], lp[2], pid;
	static struct supervisor_config cfg;
	static struct lifecycle lc;
	static const size_t none = 0;
	static const struct role_spec roles[ROLE_COUNT] = {
		[ROLE_NETD] = { .name = "netd", .id = ROLE_NETD, .uid = 100, .gid = 100,
				.new_netns = true, .seccomp = NULL, .nseccomp = &none,
				.peers = 1u << ROLE_KEYD, .restart_min_ms = RESTART_MIN_MS,
				.restart_max_ms = RESTART_MAX_MS, .main = fake_main },
		[ROLE_KEYD] = { .name = "keyd", .id = ROLE_KEYD, .uid = 0, .gid = 0,
				.uid0_nocaps = true, .new_netns = true, .has_state = true,
				.seccomp = NULL, .nseccomp = &none,
				.peers = 1u << ROLE_NETD, .restart_min_ms = RESTART_MIN_MS,
				.restart_max_ms = RESTART_MAX_MS, .main = fake_main },
	};

	if (mkdtemp(base) == NULL)
		exit(2);
	snprintf(root[0], sizeof root[0], "%s/netd-root", base);
	snprintf(root[1], sizeof root[1], "%s/keyd-root", base);
	snprintf(state, sizeof state, "%s/keyd-state", base);
	if (mkdir(state, 0700) != 0)
		exit(2);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0 ||
	    pipe2(lp, O_CLOEXEC) != 0)
		exit(2);

	cfg.pid1 = false;
	cfg.roles = roles;
	cfg.nroles = ROLE_KEYD + 1;   /* two fake rows: no logd here */
	cfg.root_dir[ROLE_NETD] = root[0];
	cfg.root_dir[ROLE_KEYD] = root[1];
	cfg.state_dir[ROLE_KEYD] = state;
	cfg.ops = (struct lifecycle_ops){ lifecycle_start, lifecycle_on_message, &lc, lifecycle_tick,
					  lifecycle_fd_ready };
	lc.packet_fd = ctl[1];
	lc.packet_tx_fd = -1;
	lc.anchors_fd = -1;
	lc.ifindex = 1;   /* lo */
	snprintf(lc.net.ifname, sizeof lc.net.ifname, "lo");
	lc.net.ipv4_addr = htonl(0xc6120002);      /* 198.18.0.2 */
	lc.net.ipv4_netmask = htonl(0xffffff00);
	lc.net.http_port = 8080;
	snprintf(lc.net.hostname, sizeof lc.net.hostname, "dshield-test");
	lc.boot.host_mode = 1;
	ok(privdrop_prepare_root(root[0]) == 0 && privdrop_prepare_root(root[1]) == 0,
	   "setup: the roles' chroot directories");

	fflush(stdout);
	pid_t sup = fork();
	if (sup < 0)
		exit(2);
	if (sup == 0) {
		dup2(lp[1], 2);
		log_set_role("init");
		exit(supervisor_run(&cfg));
	}
	close(lp[1]);
	close(ctl[1]);
	log_fd = lp[0];

	check_incarnation(ctl[0], "first", &pid);

	if (send(ctl[0], "crash", 5, 0) != 5)
		exit(2);
	ok(wait_log("killed by signal 11"), "crash: death logged with the signal");
	ok(wait_log("restarting netd in 100 ms"), "crash: restart after 100 ms");
	check_incarnation(ctl[0], "second", &pid);

	if (send(ctl[0], "garbage", 7, 0) != 7)
		exit(2);
	ok(wait_log("protocol violation (message type 999"), "garbage: violation detected");
	ok(wait_log("killed by signal 9"), "garbage: netd killed");
	ok(wait_log("restarting netd in 200 ms"), "garbage: backoff doubled to 200 ms");
	check_incarnation(ctl[0], "third", &pid);

	/* PID 1 accepts fixed-size messages only: a known type one byte
	 * longer is a protocol violation like any other. */
	if (send(ctl[0], "longstatus", 10, 0) != 10)
		exit(2);
	char want[96];
	snprintf(want, sizeof want, "protocol violation (message type %d, %zu bytes)",
		 IMSG_NETD_STATUS, sizeof(struct netd_status_msg) + 1);
	ok(wait_log(want),
	   "a status one byte too long: violation detected");
	ok(wait_log("restarting netd in 400 ms"), "  netd restarted (backoff 400 ms)");
	check_incarnation(ctl[0], "fourth", &pid);

	if (send(ctl[0], "wait", 4, 0) != 4)
		exit(2);
	{
		int keyd_starts = 0;
		logbuf[loglen] = 0;
		for (const char *q = logbuf; (q = strstr(q, "keyd started")) != NULL; q++)
			keyd_starts++;
		is_int(keyd_starts, 1, "keyd ran through all of netd's restarts");
	}
	kill(sup, SIGTERM);
	int st = 0;
	pid_t w = -1;
	for (int waited = 0; waited < GUARD_MS; waited += 50) {
		w = waitpid(sup, &st, WNOHANG);
		if (w != 0)
			break;
		usleep(50000);
	}
	if (w == 0) {
		kill(sup, SIGKILL);
		waitpid(sup, &st, 0);
	}
	ok(w == sup && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "SIGTERM: supervisor exits 0 in host mode (status 0x%x)", st);
	ok(wait_log("killed by signal 15"), "SIGTERM: netd terminated");
	ok(wait_log("stopped"), "SIGTERM: stop logged");
	ok(kill(pid, 0) != 0 && errno == ESRCH, "netd process is gone");
	int readies = 0;
	for (const char *q = logbuf; (q = strstr(q, "ready http://")) != NULL; q++)
		readies++;
	is_int(readies, 4, "one ready line per incarnation (READY was sent twice each)");
	if (!ok(strstr(logbuf, "FATAL") == NULL, "no fatal error in the log") ||
	    getenv("TEST_VERBOSE") != NULL)
		diag("log:\n%s", logbuf);

	close(ctl[0]);
	close(lp[0]);
	rmdir(root[0]);
	rmdir(root[1]);
	unlink(state);
	char probe[80];
	snprintf(probe, sizeof probe, "%s/probe", state);
	unlink(probe);
	rmdir(state);
	rmdir(base);
}

static void test_policy(void)
{
	uint32_t d = 0;
	is_int(restart_delay(RESTART_MIN_MS, RESTART_MAX_MS, 0, 5), RESTART_MIN_MS, "first restart after 100 ms");
	d = restart_delay(RESTART_MIN_MS, RESTART_MAX_MS, 0, 5);
	d = restart_delay(RESTART_MIN_MS, RESTART_MAX_MS, d, 5);
	is_int(d, 200, "second quick crash: 200 ms");
	for (int i = 0; i < 20; i++)
		d = restart_delay(RESTART_MIN_MS, RESTART_MAX_MS, d, 5);
	is_int(d, RESTART_MAX_MS, "backoff capped at 10 s");
	is_int(restart_delay(RESTART_MIN_MS, RESTART_MAX_MS, RESTART_MAX_MS, RESTART_RESET_MS - 1), RESTART_MAX_MS,
	       "59.999 s run does not reset");
	is_int(restart_delay(RESTART_MIN_MS, RESTART_MAX_MS, RESTART_MAX_MS, RESTART_RESET_MS), RESTART_MIN_MS,
	       "60 s run resets to 100 ms");
	is_int(restart_delay(RESTART_MIN_MS, RESTART_MAX_MS, 6400, 1), RESTART_MAX_MS, "6.4 s doubles to the cap, not 12.8 s");
}

/* The tick of the release variant: the held row's reason is gone (the
 * store opened late, as with the key provider kms). */
static void release_netd(void *ctx)
{
	(void)ctx;
	supervisor_release(ROLE_NETD);
}

/* The watch variant (as the key provider kms's child): the tick forks a
 * child that answers through a pipe only once the test says go; the test
 * says it only after a role's line was relayed, which only the loop does,
 * so the loop ran while the child was outstanding. The answer releases
 * the held row. */
static int watch_go[2] = { -1, -1 }, watch_pipe[2] = { -1, -1 };

static void watch_start(void *ctx)
{
	(void)ctx;
	if (pipe2(watch_pipe, O_CLOEXEC) != 0)
		exit(2);
	pid_t c = fork();
	if (c == 0) {
		char b;
		if (read(watch_go[0], &b, 1) == 1 && write(watch_pipe[1], "w", 1) == 1)
			_exit(0);
		_exit(1);
	}
	close(watch_pipe[1]);
	fcntl(watch_pipe[0], F_SETFL, O_NONBLOCK);
	if (supervisor_watch(watch_pipe[0]) == 0 && supervisor_watch(watch_pipe[0]) == -EBUSY)
		dlog("watch: waiting for the child");
}

static void watch_ready_cb(void *ctx, int fd)
{
	char b = 0;

	(void)ctx;
	if (read(fd, &b, 1) != 1)
		return;
	supervisor_unwatch(fd);
	close(fd);
	dlog("watch: the child said %c", b);
	supervisor_release(ROLE_NETD);
}

/* A held row (PID 1: the encrypted store it needs was refused) is never
 * started, said once on the log; the others run; SIGTERM still stops.
 * release: the lifecycle's tick releases it, and then it starts. */
static void held(bool release, bool watch)
{
	char base[] = "/tmp/supervisor-held.XXXXXX", root[2][64], state[64];
	static struct supervisor_config cfg;
	static struct lifecycle lc;
	static const size_t none = 0;
	static const struct role_spec roles[ROLE_COUNT] = {
		[ROLE_NETD] = { .name = "netd", .id = ROLE_NETD, .uid = 100, .gid = 100,
				.new_netns = true, .nseccomp = &none, .peers = 1u << ROLE_KEYD,
				.restart_min_ms = RESTART_MIN_MS, .restart_max_ms = RESTART_MAX_MS,
				.main = fake_main },
		[ROLE_KEYD] = { .name = "keyd", .id = ROLE_KEYD, .uid = 0, .gid = 0,
				.uid0_nocaps = true, .new_netns = true, .has_state = true,
				.needs_store = true, .nseccomp = &none, .peers = 1u << ROLE_NETD,
				.restart_min_ms = RESTART_MIN_MS, .restart_max_ms = RESTART_MAX_MS,
				.main = fake_main },
	};
	int lp[2], st = 0;

	if (mkdtemp(base) == NULL || pipe2(lp, O_CLOEXEC) != 0)
		exit(2);
	snprintf(root[0], sizeof root[0], "%s/netd-root", base);
	snprintf(root[1], sizeof root[1], "%s/keyd-root", base);
	snprintf(state, sizeof state, "%s/keyd-state", base);
	ok(mkdir(state, 0700) == 0 && privdrop_prepare_root(root[0]) == 0 &&
	   privdrop_prepare_root(root[1]) == 0, "held: setup");
	cfg.pid1 = false;
	cfg.roles = roles;
	cfg.nroles = ROLE_KEYD + 1;
	cfg.root_dir[ROLE_NETD] = root[0];
	cfg.root_dir[ROLE_KEYD] = root[1];
	cfg.state_dir[ROLE_KEYD] = state;
	cfg.held[ROLE_NETD] = true;   /* netd: its fake needs no peer to start */
	cfg.held_why = "store: REFUSED: test";
	cfg.ops = (struct lifecycle_ops){ lifecycle_start, lifecycle_on_message, &lc,
					  release ? release_netd : lifecycle_tick, lifecycle_fd_ready };
	if (watch) {
		cfg.ops.tick = watch_start;
		cfg.ops.fd_ready = watch_ready_cb;
		if (pipe2(watch_go, O_CLOEXEC) != 0)
			exit(2);
	}
	lc.packet_fd = -1;
	lc.packet_tx_fd = -1;
	lc.anchors_fd = -1;
	lc.boot.host_mode = 1;
	loglen = logpos = 0;
	fflush(stdout);
	pid_t sup = fork();
	if (sup < 0)
		exit(2);
	if (sup == 0) {
		dup2(lp[1], 2);
		log_set_role("init");
		if (release || watch)
			supervisor_set_tick(mono_ms() + (watch ? 0 : 500));
		exit(supervisor_run(&cfg));
	}
	close(lp[1]);
	log_fd = lp[0];
	ok(wait_log("netd not started: store: REFUSED: test"), "held: the held row is named, with why");
	ok(wait_log("keyd: serving"), "held: the other row runs");
	if (release) {
		ok(wait_log("netd started (pid"), "held: released by the lifecycle's tick, it starts");
	}
	if (watch) {
		logpos = 0;   /* before or after keyd's line: the tick came first */
		ok(wait_log("watch: waiting for the child"), "watch: watched (a second watch: EBUSY)");
		/* keyd's line came through the loop while the child waited */
		ok(write(watch_go[1], "g", 1) == 1 && wait_log("watch: the child said w"),
		   "watch: the child's answer reached fd_ready");
		ok(wait_log("netd started (pid"), "watch: and the held row then starts");
		close(watch_go[0]);
		close(watch_go[1]);
	}
	kill(sup, SIGTERM);
	ok(wait_log("stopped"), "held: SIGTERM stops the supervisor");
	waitpid(sup, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "held: exit 0");
	logbuf[loglen] = 0;
	if (!release && !watch)
		ok(strstr(logbuf, "netd started") == NULL, "held: the held row never started");
	close(lp[0]);
	char probe[80];   /* what the keyd stand-in wrote in its state directory */
	snprintf(probe, sizeof probe, "%s/probe", state);
	unlink(probe);
	rmdir(root[0]);
	rmdir(root[1]);
	rmdir(state);
	rmdir(base);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "netd") == 0)
		return fake_netd();
	if (argc >= 2 && strcmp(argv[1], "keyd") == 0)
		return fake_keyd();
	test_policy();
	if (geteuid() != 0)
		ok(1, "# skip supervisor integration needs root");
	else if (getauxval(AT_BASE) != 0)
		/* the fake netd is exec'd in an empty chroot: static builds only */
		ok(1, "# skip supervisor integration: test binary is dynamically linked");
	else {
		integration();
		held(false, false);
		held(true, false);
		held(false, true);
	}
	return tap_done();
}
