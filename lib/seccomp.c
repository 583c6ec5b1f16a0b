/* lib/seccomp.c: see seccomp.h.
 *
 * Why the default is SECCOMP_RET_ERRNO(EPERM) and not a kill: libc and
 * library code probe the system in harmless ways (musl's stdio asks for the
 * terminal size with ioctl, a future lwIP port may try setsockopt); with
 * EPERM those probes fail softly and netd keeps serving, while nothing is
 * gained by the caller: the call did not happen. A kill would turn every such
 * probe into a crash-restart loop that a remote peer could trigger by steering
 * netd into a rarely used path. What is never a harmless probe (a syscall
 * through the i386 or x32 entry points, which have other numbers and so
 * would bypass a list of x86_64 numbers) kills the process outright.
 */
#include "lib/seccomp.h"
#include "lib/log.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DENY_ACTION  (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define KILL_ACTION  SECCOMP_RET_KILL_PROCESS

#define STMT(c, k)        ((struct sock_filter)BPF_STMT((c), (k)))
#define JUMP(c, k, t, f)  ((struct sock_filter)BPF_JUMP((c), (k), (t), (f)))
#define LD_ABS(off)       STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(k)            STMT(BPF_RET | BPF_K, (k))
#define JEQ(k, t, f)      JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGE(k, t, f)      JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f))
#define JSET(k, t, f)     JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (t), (f))

/* The low 32 bits of args[i] (x86_64 is little endian). */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8u * (unsigned)(i))

static int emit(struct seccomp_prog *p, struct sock_filter insn)
{
	if (p->len >= SECCOMP_PROG_MAX)
		return -E2BIG;
	p->insn[p->len++] = insn;
	return 0;
}

/* An allow rule (err == 0): allow; allow when arg == value (and arg2 ==
 * value2), else go on; or deny when arg has a forbidden bit, else allow. */
static int emit_allow(struct seccomp_prog *out, const struct seccomp_rule *ru)
{
	int r = 0;

	if (ru->also_eq && (!ru->only_eq || ru->arg == SECCOMP_NO_ARG))
		return -EINVAL;
	if (ru->arg == SECCOMP_NO_ARG) {
		r |= emit(out, JEQ((uint32_t)ru->nr, 0, 1));
		r |= emit(out, RET(SECCOMP_RET_ALLOW));
	} else if (ru->only_eq && ru->also_eq) {
		/* Both arguments must match; either mismatch reloads nr
		 * and goes on, as below. */
		if (ru->arg < 0 || ru->arg > 5 || ru->arg2 < 0 || ru->arg2 > 5)
			return -EINVAL;
		r |= emit(out, JEQ((uint32_t)ru->nr, 0, 6));
		r |= emit(out, LD_ABS(ARG_LO(ru->arg)));
		r |= emit(out, JEQ(ru->value, 0, 3));
		r |= emit(out, LD_ABS(ARG_LO(ru->arg2)));
		r |= emit(out, JEQ(ru->value2, 0, 1));
		r |= emit(out, RET(SECCOMP_RET_ALLOW));
		r |= emit(out, LD_ABS(offsetof(struct seccomp_data, nr)));
	} else if (ru->only_eq) {
		/* No match reloads nr and goes on: later rules may
		 * allow other values; none does: denied at the end. */
		if (ru->arg < 0 || ru->arg > 5)
			return -EINVAL;
		r |= emit(out, JEQ((uint32_t)ru->nr, 0, 4));
		r |= emit(out, LD_ABS(ARG_LO(ru->arg)));
		r |= emit(out, JEQ(ru->value, 0, 1));
		r |= emit(out, RET(SECCOMP_RET_ALLOW));
		r |= emit(out, LD_ABS(offsetof(struct seccomp_data, nr)));
	} else {
		if (ru->arg < 0 || ru->arg > 5 || ru->forbid == 0)
			return -EINVAL;
		r |= emit(out, JEQ((uint32_t)ru->nr, 0, 4));
		r |= emit(out, LD_ABS(ARG_LO(ru->arg)));
		r |= emit(out, JSET(ru->forbid, 0, 1));
		r |= emit(out, RET(DENY_ACTION));
		r |= emit(out, RET(SECCOMP_RET_ALLOW));
	}
	return r < 0 ? -E2BIG : 0;
}

/* A refusal rule (err != 0): fail with err always, or when arg == value,
 * or when arg has a bit of forbid; a non-matching call goes on. */
static int emit_refusal(struct seccomp_prog *out, const struct seccomp_rule *ru)
{
	uint32_t action = SECCOMP_RET_ERRNO | ((uint32_t)ru->err & SECCOMP_RET_DATA);
	int r = 0;

	if (ru->err < 0 || ru->err > 4095 || ru->also_eq)   /* MAX_ERRNO; one argument */
		return -EINVAL;
	if (ru->arg == SECCOMP_NO_ARG) {
		r |= emit(out, JEQ((uint32_t)ru->nr, 0, 1));
		r |= emit(out, RET(action));
		return r < 0 ? -E2BIG : 0;
	}
	if (ru->arg < 0 || ru->arg > 5 || (!ru->only_eq && ru->forbid == 0))
		return -EINVAL;
	r |= emit(out, JEQ((uint32_t)ru->nr, 0, 4));
	r |= emit(out, LD_ABS(ARG_LO(ru->arg)));
	if (ru->only_eq)
		r |= emit(out, JEQ(ru->value, 0, 1));
	else
		r |= emit(out, JSET(ru->forbid, 0, 1));
	r |= emit(out, RET(action));
	r |= emit(out, LD_ABS(offsetof(struct seccomp_data, nr)));
	return r < 0 ? -E2BIG : 0;
}

int seccomp_build(const struct seccomp_rule *rules, size_t n,
		  struct seccomp_prog *out)
{
	int r = 0;

	out->len = 0;
	/* 1. The syscall table is chosen by the arch; a number from another
	 * table means something else entirely. */
	r |= emit(out, LD_ABS(offsetof(struct seccomp_data, arch)));
	r |= emit(out, JEQ(AUDIT_ARCH_X86_64, 1, 0));
	r |= emit(out, RET(KILL_ACTION));
	/* 2. x32 calls share AUDIT_ARCH_X86_64 but set bit 30 in the number. */
	r |= emit(out, LD_ABS(offsetof(struct seccomp_data, nr)));
	r |= emit(out, JGE(SECCOMP_X32_BIT, 0, 1));
	r |= emit(out, RET(KILL_ACTION));
	if (r < 0)
		return -E2BIG;

	/* 3. One block per rule; the accumulator holds nr between blocks
	 * (an argument block ends in a return, or reloads nr before it
	 * falls through to the next rule). */
	for (size_t i = 0; i < n; i++) {
		const struct seccomp_rule *ru = &rules[i];
		if (ru->nr < 0 || ru->nr >= SECCOMP_X32_BIT)
			return -EINVAL;
		if (ru->err != 0)
			r = emit_refusal(out, ru);
		else
			r = emit_allow(out, ru);
		if (r < 0)
			return r;
	}
	/* 4. Everything not listed. */
	if (emit(out, RET(DENY_ACTION)) < 0)
		return -E2BIG;
	return out->len;
}

int seccomp_set_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return -EPERM;
	return 0;
}

int seccomp_install(const struct seccomp_prog *p)
{
	struct sock_fprog fprog = {
		.len = p->len,
		.filter = (struct sock_filter *)p->insn,
	};
	int r = seccomp_set_no_new_privs();
	if (r < 0)
		return r;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0)
		return -errno;
	return 0;
}

int seccomp_enter_role(const struct seccomp_rule *rules, size_t n)
{
	struct seccomp_prog prog;   /* 2 KiB, once per process */
	const char *off = getenv("DSHIELD_NO_SECCOMP");
	int r;

	/* execve made us dumpable again; nobody may ptrace or read our
	 * memory through /proc, even with our own uid. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -errno;
	if (off != NULL && strcmp(off, "1") == 0) {
		dlog("WARNING: seccomp filter NOT installed (DSHIELD_NO_SECCOMP=1, host mode debugging only)");
		return seccomp_set_no_new_privs();
	}
	r = seccomp_build(rules, n, &prog);
	if (r < 0)
		return r;
	return seccomp_install(&prog);
}
