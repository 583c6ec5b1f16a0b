/* init/supervisor.h: init's main loop once the machine is up.
 *
 * One epoll loop over a signalfd (SIGCHLD, SIGTERM, SIGINT, SIGPWR), a
 * timerfd (restart backoff, shutdown grace) and each role's lifecycle
 * channel:
 *   - spawns every role of the table (fork, privdrop_worker with the row's
 *     confinement, execveat `dshield-init NAME`) and lets the lifecycle
 *     (init/lifecycle.h) send its start messages;
 *   - brokers the channels between roles: whenever both ends of a pair
 *     run, a fresh socketpair, one end to each (IMSG_PEER_CHANNEL);
 *   - passes each message a role sends to the lifecycle, which accepts only
 *     fixed-size structs of the types that role may send;
 *   - reaps every child (as PID 1 also orphans) and restarts a role with
 *     exponential backoff between the row's bounds;
 *   - SIGTERM/SIGINT/SIGPWR: stop every role; then power off (PID 1) or
 *     return 0.
 * A protocol violation (malformed or unexpected message) kills the role;
 * it is restarted like after a crash.
 */
#ifndef DSHIELD_INIT_SUPERVISOR_H
#define DSHIELD_INIT_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include "init/role.h"
#include "lib/imsg.h"

#define RESTART_RESET_MS   60000u  /* a run this long resets the backoff */
#define STOP_GRACE_MS      3000u   /* SIGTERM -> SIGKILL */

/* What init does with a role's channel (init/lifecycle.c in the binary,
 * a script in tests). Return values: 0, or a negative errno, which for
 * on_message means a protocol violation (the role is killed). */
struct lifecycle_ops {
	/* The role was just spawned; send its start messages on sock. */
	int (*start)(void *ctx, const struct role_spec *r, int sock);
	/* One message from the role (fds still owned by m). */
	int (*on_message)(void *ctx, const struct role_spec *r, int sock, const struct imsg *m);
	void *ctx;
	/* Optional: the deadline set with supervisor_set_tick was reached. */
	void (*tick)(void *ctx);
	/* Optional: the descriptor given to supervisor_watch is readable or
	 * hung up. */
	void (*fd_ready)(void *ctx, int fd);
};

struct supervisor_config {
	bool pid1;                     /* power off at the end instead of returning */
	bool no_seccomp;               /* host mode only: DSHIELD_NO_SECCOMP=1 for roles */
	const struct role_spec *roles; /* roles[i].id == i */
	size_t nroles;
	/* Per role: an empty root-owned directory to chroot into, (for
	 * rows with has_state) its state directory, bound at /state, and
	 * (rows with store_dir) its store directory, bound at /store. */
	const char *root_dir[ROLE_COUNT];
	const char *state_dir[ROLE_COUNT];
	const char *store_dir[ROLE_COUNT];
	/* Host mode: a row's bind whose target is dst takes its source from
	 * src instead (sandboxd's layers, policy file, cgroup root live
	 * elsewhere outside the VM). */
	struct { const char *dst, *src; } rebind[4];
	/* A held row is never started (PID 1: the encrypted store it needs
	 * was refused; held_why says so on the console). */
	bool held[ROLE_COUNT];
	const char *held_why;
	/* Extra environment word for a role (host mode test knobs), or NULL. */
	const char *extra_env[ROLE_COUNT];
	struct lifecycle_ops ops;
};

/* Runs the loop. In PID-1 mode it never returns (poweroff, or fatal());
 * in host mode it returns the process exit status. */
int supervisor_run(const struct supervisor_config *cfg);

/* Restart policy: the delay before the next start of a role that ran for
 * ran_ms, given the delay used last time (0 before the first restart):
 * min doubling up to max; a run of RESTART_RESET_MS or more starts over. */
uint32_t restart_delay(uint32_t min_ms, uint32_t max_ms, uint32_t last_delay_ms,
		       uint64_t ran_ms);

/* The pid of a running role, 0 when it is not running (for lifecycle
 * handlers and tests). */
pid_t supervisor_role_pid(enum role_id id);

/* A running role's lifecycle channel, -1 when it has none (for
 * lifecycle code that sends one role something another role caused). */
int supervisor_role_sock(enum role_id id);

/* ops.tick runs once mono_ms() reaches due (0: no deadline); one deadline,
 * a later call replaces it. */
void supervisor_set_tick(uint64_t due);

/* One descriptor besides the roles' channels, watched for input until
 * supervisor_unwatch (ops.fd_ready then runs in the loop): a child of
 * init's own that reports through a pipe, so PID 1 never blocks on it.
 * At most one at a time; 0 or -errno (-EBUSY: one is watched). */
int supervisor_watch(int fd);
void supervisor_unwatch(int fd);

/* Starts a row that was held (its reason gone: the store opened late).
 * Nothing for a row that is not held. */
void supervisor_release(enum role_id id);

/* Stops a running row for good (SIGTERM; not restarted) and holds it:
 * its reason came late (the store turned out to be a rolled-back disk).
 * why goes on the console. */
void supervisor_hold(enum role_id id, const char *why);

/* Whether fatal() powers the machine off (PID 1) or exits 1 (host mode). */
void fatal_set_pid1(bool pid1);

/* Logs the reason, stops children, then sync + reboot(RB_POWER_OFF) as PID 1
 * (and pauses forever should that return), or exit(1) in host mode. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Controlled poweroff for PID 1: SIGTERM to every process, a grace period,
 * SIGKILL, reap, sync, reboot(RB_POWER_OFF). Never returns. */
_Noreturn void poweroff_now(void);

#endif
