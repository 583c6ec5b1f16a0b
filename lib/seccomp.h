/* lib/seccomp.h: classic-BPF syscall allow-lists.
 *
 * A filter is built from a list of rules, each naming one x86_64 syscall
 * that is allowed, optionally unless one argument has forbidden bits set
 * (mmap/mprotect with PROT_EXEC). The generated program:
 *
 *   1. arch != AUDIT_ARCH_X86_64           -> kill the process
 *   2. nr >= SECCOMP_X32_BIT (x32 ABI)     -> kill the process
 *   3. nr == rule.nr                       -> allow (or deny on forbidden bits;
 *                                             or, for an equality rule, allow
 *                                             when arg == value (and, with
 *                                             also_eq, arg2 == value2), else
 *                                             go on)
 *                                             or, for a refusal rule (err set),
 *                                             fail with that errno (always, or
 *                                             when arg == value, or when arg
 *                                             has a bit of mask; else go on)
 *   4. anything else                       -> deny
 *
 * "deny" is SECCOMP_RET_ERRNO(EPERM), see seccomp.c for why. Rules are
 * tried in order: a refusal rule that does not match falls through to the
 * rules after it (e.g. clone refused with namespace flags, then allowed).
 *
 * Error convention: 0 (or a count) on success, negative errno on failure.
 */
#ifndef DSHIELD_LIB_SECCOMP_H
#define DSHIELD_LIB_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#define SECCOMP_NO_ARG  (-1)
/* x86_64 __X32_SYSCALL_BIT: x32 ABI calls arrive with this bit set. */
#define SECCOMP_X32_BIT 0x40000000

struct seccomp_rule {
	int nr;               /* syscall number (SYS_xxx) */
	int arg;              /* argument index 0..5 to check, or SECCOMP_NO_ARG */
	uint32_t forbid;      /* denied when (low 32 bits of arg) & forbid != 0 */
	/* Instead of forbid: allowed only when the low 32 bits of arg equal
	 * value; several such rules for one syscall allow a set of values
	 * (an int argument: fd, fcntl command). */
	int only_eq;
	uint32_t value;
	/* A refusal rule when nonzero: the call fails with this errno instead
	 * of being allowed. With SECCOMP_NO_ARG it always fails; with only_eq
	 * when arg == value; otherwise when arg has a bit of forbid. A
	 * refusal that does not match goes on to the next rule. */
	int err;
	/* With only_eq on an allow rule: a second argument, arg2, must equal
	 * value2 as well (setsockopt's level and option name together). */
	int also_eq;
	int arg2;
	uint32_t value2;
};

/* Enough for an allow-list the size of a language runtime's (about 200
 * syscalls at two instructions each, plus argument blocks); the kernel's
 * own limit is 4096 (BPF_MAXINSNS). */
#define SECCOMP_PROG_MAX 1024

struct seccomp_prog {
	struct sock_filter insn[SECCOMP_PROG_MAX];
	unsigned short len;
};

/* Builds the filter for `rules` into *out. Returns the instruction count,
 * -E2BIG when it does not fit, -EINVAL for a malformed rule. */
int seccomp_build(const struct seccomp_rule *rules, size_t n,
		  struct seccomp_prog *out);

/* Sets PR_SET_NO_NEW_PRIVS (required to install a filter unprivileged, and
 * what makes setuid binaries and file caps inert for good). */
int seccomp_set_no_new_privs(void);

/* no_new_privs, then installs the program for this thread and every thread
 * created after (call it single-threaded). */
int seccomp_install(const struct seccomp_prog *p);

/* Helpers for the rule tables of each role (net/netd_seccomp.c,
 * keyd/keyd_seccomp.c). */
#include <sys/syscall.h>
#define SECCOMP_ALLOW(name)              { SYS_##name, SECCOMP_NO_ARG, 0, 0, 0, 0, 0, 0, 0 }
#define SECCOMP_ALLOW_UNLESS(name, a, b) { SYS_##name, (a), (b), 0, 0, 0, 0, 0, 0 }
#define SECCOMP_ALLOW_IF_EQ(name, a, v)  { SYS_##name, (a), 0, 1, (v), 0, 0, 0, 0 }
/* Allowed only when args[a] == v and args[b] == w. */
#define SECCOMP_ALLOW_IF_EQ2(name, a, v, b, w) { SYS_##name, (a), 0, 1, (v), 0, 1, (b), (w) }
/* Refusals with a chosen errno (sandboxd/fn_seccomp.c). */
#define SECCOMP_REFUSE(name, e)                { SYS_##name, SECCOMP_NO_ARG, 0, 0, 0, (e), 0, 0, 0 }
#define SECCOMP_REFUSE_IF_EQ(name, a, v, e)    { SYS_##name, (a), 0, 1, (v), (e), 0, 0, 0 }
#define SECCOMP_REFUSE_IF_ANY(name, a, m, e)   { SYS_##name, (a), (m), 0, 0, (e), 0, 0, 0 }

/* What every role needs whatever it does: musl's malloc (never executable
 * memory), sleeping and time, signal handling (restart_syscall: an
 * interrupted sleep resumes; sigaltstack: sanitizer runtimes), its own
 * ids. Needs <sys/mman.h> for PROT_EXEC. */
#define SECCOMP_RULES_COMMON \
	SECCOMP_ALLOW_UNLESS(mmap, 2, PROT_EXEC), \
	SECCOMP_ALLOW_UNLESS(mprotect, 2, PROT_EXEC), \
	SECCOMP_ALLOW(munmap), \
	SECCOMP_ALLOW(mremap), \
	SECCOMP_ALLOW(brk), \
	SECCOMP_ALLOW(madvise), \
	SECCOMP_ALLOW(clock_nanosleep), \
	SECCOMP_ALLOW(nanosleep), \
	SECCOMP_ALLOW(gettimeofday), \
	SECCOMP_ALLOW(sched_yield), \
	SECCOMP_ALLOW(futex), \
	SECCOMP_ALLOW(rt_sigreturn), \
	SECCOMP_ALLOW(rt_sigprocmask), \
	SECCOMP_ALLOW(rt_sigaction), \
	SECCOMP_ALLOW(sigaltstack), \
	SECCOMP_ALLOW(restart_syscall), \
	SECCOMP_ALLOW(getpid), \
	SECCOMP_ALLOW(gettid), \
	SECCOMP_ALLOW(exit), \
	SECCOMP_ALLOW(exit_group)

/* A role's first act after exec: PR_SET_DUMPABLE 0 again (execve resets
 * it), then no_new_privs and the filter built from rules. Honours
 * DSHIELD_NO_SECCOMP=1 (skips the filter with a loud warning, for valgrind
 * in host mode): init puts that variable in a role's environment only in
 * host mode with --no-seccomp; a role's environment is built by init from
 * scratch, never inherited. */
int seccomp_enter_role(const struct seccomp_rule *rules, size_t n);

#endif
