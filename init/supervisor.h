/* init/supervisor.h: init's main loop once the machine is up.
 *
 * One epoll loop over a signalfd (SIGCHLD, SIGTERM, SIGINT, SIGPWR), a
 * timerfd (restart backoff, shutdown grace) and netd's imsg socket:
 *   - spawns netd (fork, privdrop_worker, execveat) and hands it
 *     IMSG_NETD_CONFIG (fds[0] = the AF_PACKET socket, which init keeps so it
 *     can hand it again) and IMSG_BOOT_INFO;
 *   - serves netd: IMSG_NETD_STATUS is logged (READY prints the console line
 *     "ready http://IP:PORT/" that harnesses wait for), IMSG_KADDR_REQ is
 *     answered with kaddr_query(), IMSG_QUOTE_REQ with a quote from
 *     crypto/attest.h over REPORTDATA(nonce, manifest hash) (rate-limited);
 *   - reaps every child (as PID 1 also orphans) and restarts netd with
 *     exponential backoff;
 *   - SIGTERM/SIGINT/SIGPWR: stop netd; then power off (PID 1) or return 0.
 * A protocol violation by netd (malformed or unexpected message) kills it;
 * it is restarted like after a crash.
 */
#ifndef DSHIELD_INIT_SUPERVISOR_H
#define DSHIELD_INIT_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include "init/imsg.h"

struct attest;

#define RESTART_MIN_MS     100u
#define RESTART_MAX_MS     10000u
#define RESTART_RESET_MS   60000u  /* a run this long resets the backoff */
#define STOP_GRACE_MS      3000u   /* SIGTERM -> SIGKILL */

struct supervisor_config {
	bool pid1;                     /* power off at the end instead of returning */
	bool no_seccomp;               /* host mode only: DSHIELD_NO_SECCOMP=1 for netd */
	const char *netd_root;         /* empty chroot directory for netd */
	int packet_fd;                 /* AF_PACKET socket bound to the interface */
	int ifindex;                   /* for kaddr_query() */
	struct netd_config_msg net;    /* sent with every (re)start */
	struct boot_info_msg boot;     /* t_netd_up_ms is filled at each start */
	struct attest *attest;         /* answers IMSG_QUOTE_REQ; NULL: unavailable */
};

/* Quote requests: a token bucket of QUOTE_BURST, refilled one token per
 * QUOTE_REFILL_MS. init makes each quote synchronously (one in flight);
 * requests beyond the bucket are answered -EBUSY at once, so an API flood
 * cannot keep init from its other work. */
#define QUOTE_BURST      8u
#define QUOTE_REFILL_MS  100u

/* Runs the loop. In PID-1 mode it never returns (poweroff, or fatal());
 * in host mode it returns the process exit status. */
int supervisor_run(const struct supervisor_config *cfg);

/* Restart policy: the delay before the next start of a worker that ran for
 * ran_ms, given the delay used last time (0 before the first restart).
 * 100 ms doubling up to 10 s; a run of 60 s or more starts over at 100 ms. */
uint32_t restart_delay(uint32_t last_delay_ms, uint64_t ran_ms);

/* Whether fatal() powers the machine off (PID 1) or exits 1 (host mode). */
void fatal_set_pid1(bool pid1);

/* Logs the reason, stops children, then sync + reboot(RB_POWER_OFF) as PID 1
 * (and pauses forever should that return), or exit(1) in host mode. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Controlled poweroff for PID 1: SIGTERM to every process, a grace period,
 * SIGKILL, reap, sync, reboot(RB_POWER_OFF). Never returns. */
_Noreturn void poweroff_now(void);

#endif
