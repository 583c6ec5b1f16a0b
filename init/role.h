/* init/role.h: the shape of a role-table row (OpenBSD relayd's procs[]).
 *
 * One table, in the binary's main (bin/dshield-init.c: the one file that
 * knows every role), lists each role the binary can run: its name (argv[1]
 * of the exec'd role and its log tag), its confinement, the roles it has
 * channels with, its restart policy and its entry point. init starts and
 * supervises every role from that table (init/supervisor.c); the role's
 * own first act after exec is to install the seccomp set named here
 * (role_enter). Adding a role is a row plus its code.
 */
#ifndef DSHIELD_INIT_ROLE_H
#define DSHIELD_INIT_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "init/privdrop.h"
#include "lib/seccomp.h"
#include "proto/role.h"

struct role_spec {
	const char *name;              /* "netd", "keyd" */
	enum role_id id;               /* index of the row in the table */
	/* confinement (init/privdrop.h) */
	uid_t uid;
	gid_t gid;                     /* uid 0 only with uid0_nocaps or caps_keep */
	bool uid0_nocaps;              /* uid 0, every capability set empty,
					  securebits locked (see privdrop.h) */
	uint64_t caps_keep;            /* uid 0 keeping only these capabilities
					  (bit n: CAP n; privdrop.h); the row
					  says why it needs each */
	bool new_netns;                /* empty network namespace */
	/* RLIMIT_NOFILE (soft and hard) set before the exec; 0: inherited */
	unsigned nofile;
	const struct privdrop_bind *binds; /* a private mount view holding */
	size_t nbinds;                 /* these, plus /state and /store below */
	bool has_state;                /* a state directory of its own at /state */
	/* the encrypted store (docs/STORE.md): state_on_store, its /state is
	 * on the store when there is one (else tmpfs); store_dir, a second
	 * directory of its own at /store, on the store when there is one
	 * (else tmpfs), for a row whose /state must stay off the store (the
	 * store is noexec); needs_store, the row is not started when the
	 * store is refused */
	bool state_on_store;
	bool store_dir;
	bool needs_store;
	const struct seccomp_rule *seccomp;   /* installed by role_enter() */
	const size_t *nseccomp;
	/* channels: roles this one talks to (bit i: enum role_id i);
	 * init brokers one channel per pair (proto/role.h) */
	uint32_t peers;
	/* restart policy: exponential backoff between these bounds */
	uint32_t restart_min_ms;
	uint32_t restart_max_ms;
	int (*main)(void);             /* the role's code, after role_enter */
};

/* Runs in the exec'd role: seccomp set of the row, then its main. */
int role_enter(const struct role_spec *r);

#endif
