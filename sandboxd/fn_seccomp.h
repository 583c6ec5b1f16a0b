/* sandboxd/fn_seccomp.h: the system call filter of every function worker.
 *
 * An allow-list (lib/seccomp.h) for what Python 3, Node 20 and static musl
 * or Go binaries need, with explicit refusals whose errno a test asserts
 * (the table is docs/SANDBOX.md, "Seccomp"). x86-64 only: another arch or
 * the x32 ABI kills the process. Anything not listed fails with EPERM.
 */
#ifndef DSHIELD_SANDBOXD_FN_SECCOMP_H
#define DSHIELD_SANDBOXD_FN_SECCOMP_H

#include "lib/seccomp.h"

#include <asm/unistd.h>

#include <stddef.h>

/* Calls newer than musl's header: numbers from the pinned kernel headers. */
#ifndef SYS_futex_waitv
#define SYS_futex_waitv __NR_futex_waitv
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 __NR_fchmodat2
#endif
#ifndef SYS_map_shadow_stack
#define SYS_map_shadow_stack __NR_map_shadow_stack
#endif
#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd __NR_quotactl_fd
#endif
#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node __NR_set_mempolicy_home_node
#endif

extern const struct seccomp_rule fn_seccomp_rules[];
extern const size_t fn_seccomp_nrules;

/* The namespace flags clone and unshare may not carry (CLONE_NEWNS,
 * NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET; CLONE_NEWTIME is
 * 0x80, which clone() reads as part of the exit signal and unshare takes
 * as a namespace: refused for unshare only). */
#define FN_CLONE_NS_FLAGS 0x7e020000u
#define FN_UNSHARE_NS_FLAGS (FN_CLONE_NS_FLAGS | 0x80u)

/* Builds the worker filter into *out (instruction count or -errno). */
int fn_seccomp_build(struct seccomp_prog *out);

#endif
