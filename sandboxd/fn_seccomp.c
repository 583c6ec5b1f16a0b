/* sandboxd/fn_seccomp.c: the function worker's allow-list (see fn_seccomp.h).
 *
 * Order matters twice: a refusal with an argument test falls through to the
 * rules after it, so it comes before the allow of the same call; and the
 * most frequent calls come first, because the filter is a linear scan
 * (kernels since 5.11 skip it for calls allowed whatever their arguments).
 *
 * Every refusal below is listed with its errno in docs/SANDBOX.md, and
 * tests/escape/probe.c asserts each one from inside a real sandbox.
 */
#include "sandboxd/fn_seccomp.h"

#include <asm/unistd.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

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
#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node __NR_set_mempolicy_home_node
#endif

#define ALLOW(name)                 SECCOMP_ALLOW(name)
#define ALLOW_IF_EQ(name, a, v)     SECCOMP_ALLOW_IF_EQ(name, a, v)
#define REFUSE(name, e)             SECCOMP_REFUSE(name, e)
#define REFUSE_IF_EQ(name, a, v, e) SECCOMP_REFUSE_IF_EQ(name, a, v, e)
#define REFUSE_IF_ANY(name, a, m, e) SECCOMP_REFUSE_IF_ANY(name, a, m, e)

#ifndef TIOCSTI
#define TIOCSTI 0x5412
#endif
#define TIOCLINUX_ 0x541C

const struct seccomp_rule fn_seccomp_rules[] = {
	/* --- the hot path ----------------------------------------------- */
	ALLOW(read),
	ALLOW(write),
	ALLOW(futex),
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(epoll_pwait2),
	ALLOW(epoll_ctl),
	ALLOW(clock_gettime),
	ALLOW(gettimeofday),
	ALLOW(mmap),           /* PROT_EXEC too: a loader, a JIT (V8) */
	ALLOW(mprotect),
	ALLOW(munmap),
	ALLOW(brk),
	ALLOW(madvise),
	ALLOW(mremap),
	ALLOW(close),
	ALLOW(openat),
	ALLOW(open),
	ALLOW(fstat),
	ALLOW(newfstatat),
	ALLOW(stat),
	ALLOW(lstat),
	ALLOW(statx),
	ALLOW(lseek),
	ALLOW(pread64),
	ALLOW(pwrite64),
	ALLOW(readv),
	ALLOW(writev),
	ALLOW(preadv),
	ALLOW(pwritev),
	ALLOW(preadv2),
	ALLOW(pwritev2),
	ALLOW(recvfrom),
	ALLOW(sendto),
	ALLOW(recvmsg),
	ALLOW(sendmsg),
	ALLOW(recvmmsg),
	ALLOW(sendmmsg),
	ALLOW(poll),
	ALLOW(ppoll),
	ALLOW(select),
	ALLOW(pselect6),
	ALLOW(rt_sigaction),
	ALLOW(rt_sigprocmask),
	ALLOW(rt_sigreturn),
	ALLOW(getpid),
	ALLOW(gettid),
	ALLOW(getrandom),
	ALLOW(sched_yield),
	ALLOW(nanosleep),
	ALLOW(clock_nanosleep),

	/* --- sockets: the function's netns has only lo; these families only.
	 * Anything else (AF_NETLINK, AF_PACKET, AF_VSOCK, AF_ALG, ...) looks
	 * like a kernel built without it: EAFNOSUPPORT. */
	ALLOW_IF_EQ(socket, 0, AF_UNIX),
	ALLOW_IF_EQ(socket, 0, AF_INET),
	ALLOW_IF_EQ(socket, 0, AF_INET6),
	REFUSE(socket, EAFNOSUPPORT),
	ALLOW_IF_EQ(socketpair, 0, AF_UNIX),
	REFUSE(socketpair, EAFNOSUPPORT),
	ALLOW(connect),
	ALLOW(accept),
	ALLOW(accept4),
	ALLOW(bind),
	ALLOW(listen),
	ALLOW(shutdown),
	ALLOW(getsockname),
	ALLOW(getpeername),
	ALLOW(setsockopt),
	ALLOW(getsockopt),

	/* --- processes and threads: new namespaces refused (EPERM); clone3
	 * is ENOSYS because seccomp cannot read its flags (they are behind a
	 * pointer) and ENOSYS is what makes glibc, musl and Go fall back to
	 * clone, whose flags it can read. */
	REFUSE_IF_ANY(clone, 0, FN_CLONE_NS_FLAGS, EPERM),
	ALLOW(clone),
	REFUSE(clone3, ENOSYS),
	ALLOW(fork),
	ALLOW(vfork),
	ALLOW(execve),
	ALLOW(execveat),
	ALLOW(exit),
	ALLOW(exit_group),
	ALLOW(wait4),
	ALLOW(waitid),
	ALLOW(kill),           /* its own pid namespace: nobody else to reach */
	ALLOW(tkill),
	ALLOW(tgkill),
	ALLOW(rt_sigqueueinfo),
	ALLOW(rt_tgsigqueueinfo),
	ALLOW(rt_sigpending),
	ALLOW(rt_sigtimedwait),
	ALLOW(rt_sigsuspend),
	ALLOW(sigaltstack),
	ALLOW(pause),
	ALLOW(restart_syscall),
	ALLOW(set_tid_address),
	ALLOW(set_robust_list),
	ALLOW(get_robust_list),
	ALLOW(rseq),
	ALLOW(arch_prctl),
	ALLOW(prctl),          /* no capability to gain with it: no_new_privs, locked securebits */
	ALLOW(seccomp),        /* a filter of its own can only take more away */
	ALLOW(landlock_create_ruleset),
	ALLOW(landlock_add_rule),
	ALLOW(landlock_restrict_self),
	ALLOW(membarrier),
	ALLOW(pidfd_open),
	ALLOW(pidfd_send_signal),
	ALLOW(getppid),
	ALLOW(getpgrp),
	ALLOW(getpgid),
	ALLOW(setpgid),
	ALLOW(getsid),
	ALLOW(setsid),
	ALLOW(getuid),
	ALLOW(geteuid),
	ALLOW(getgid),
	ALLOW(getegid),
	ALLOW(getresuid),
	ALLOW(getresgid),
	ALLOW(getgroups),
	ALLOW(capget),
	ALLOW(uname),
	ALLOW(sysinfo),
	ALLOW(times),
	ALLOW(getrusage),
	ALLOW(getrlimit),
	ALLOW(setrlimit),      /* lowering only: raising needs CAP_SYS_RESOURCE */
	ALLOW(prlimit64),
	ALLOW(getpriority),
	ALLOW(setpriority),
	ALLOW(sched_getaffinity),
	ALLOW(sched_setaffinity),
	ALLOW(sched_getparam),
	ALLOW(sched_setparam),
	ALLOW(sched_getscheduler),
	ALLOW(sched_setscheduler),
	ALLOW(sched_getattr),
	ALLOW(sched_setattr),
	ALLOW(sched_get_priority_max),
	ALLOW(sched_get_priority_min),
	ALLOW(sched_rr_get_interval),
	ALLOW(getcpu),
	/* personality: only the values container runtimes let through (query,
	 * PER_LINUX, PER_LINUX32, UNAME26); not ADDR_NO_RANDOMIZE or
	 * READ_IMPLIES_EXEC. */
	ALLOW_IF_EQ(personality, 0, 0x0u),
	ALLOW_IF_EQ(personality, 0, 0x8u),
	ALLOW_IF_EQ(personality, 0, 0x20000u),
	ALLOW_IF_EQ(personality, 0, 0x20008u),
	ALLOW_IF_EQ(personality, 0, 0xffffffffu),

	/* --- ids: without capabilities only among its own ids --------- */
	ALLOW(setuid),
	ALLOW(setgid),
	ALLOW(setreuid),
	ALLOW(setregid),
	ALLOW(setresuid),
	ALLOW(setresgid),
	ALLOW(setfsuid),
	ALLOW(setfsgid),

	/* --- time ------------------------------------------------------ */
	ALLOW(clock_getres),
	ALLOW(time),
	ALLOW(alarm),
	ALLOW(getitimer),
	ALLOW(setitimer),
	ALLOW(timer_create),
	ALLOW(timer_settime),
	ALLOW(timer_gettime),
	ALLOW(timer_getoverrun),
	ALLOW(timer_delete),
	ALLOW(timerfd_create),
	ALLOW(timerfd_settime),
	ALLOW(timerfd_gettime),

	/* --- descriptors ----------------------------------------------- */
	REFUSE_IF_EQ(ioctl, 1, TIOCSTI, EPERM),     /* typing into a terminal */
	REFUSE_IF_EQ(ioctl, 1, TIOCLINUX_, EPERM),
	ALLOW(ioctl),
	ALLOW(fcntl),
	ALLOW(dup),
	ALLOW(dup2),
	ALLOW(dup3),
	ALLOW(pipe),
	ALLOW(pipe2),
	ALLOW(eventfd),
	ALLOW(eventfd2),
	ALLOW(signalfd),
	ALLOW(signalfd4),
	ALLOW(epoll_create),
	ALLOW(epoll_create1),
	ALLOW(inotify_init),
	ALLOW(inotify_init1),
	ALLOW(inotify_add_watch),
	ALLOW(inotify_rm_watch),
	ALLOW(close_range),
	ALLOW(flock),
	ALLOW(sendfile),
	ALLOW(splice),
	ALLOW(tee),
	ALLOW(vmsplice),
	ALLOW(copy_file_range),
	ALLOW(memfd_create),

	/* --- files ----------------------------------------------------- */
	ALLOW(openat2),
	ALLOW(creat),
	ALLOW(access),
	ALLOW(faccessat),
	ALLOW(faccessat2),
	ALLOW(getdents),
	ALLOW(getdents64),
	ALLOW(getcwd),
	ALLOW(chdir),
	ALLOW(fchdir),
	ALLOW(readlink),
	ALLOW(readlinkat),
	ALLOW(mkdir),
	ALLOW(mkdirat),
	ALLOW(rmdir),
	ALLOW(rename),
	ALLOW(renameat),
	ALLOW(renameat2),
	ALLOW(link),
	ALLOW(linkat),
	ALLOW(symlink),
	ALLOW(symlinkat),
	ALLOW(unlink),
	ALLOW(unlinkat),
	ALLOW(mknod),          /* FIFOs; a device node needs CAP_MKNOD */
	ALLOW(mknodat),
	ALLOW(chmod),
	ALLOW(fchmod),
	ALLOW(fchmodat),
	ALLOW(fchmodat2),
	ALLOW(chown),
	ALLOW(fchown),
	ALLOW(lchown),
	ALLOW(fchownat),
	ALLOW(umask),
	ALLOW(truncate),
	ALLOW(ftruncate),
	ALLOW(fallocate),
	ALLOW(fsync),
	ALLOW(fdatasync),
	ALLOW(sync),
	ALLOW(syncfs),
	ALLOW(sync_file_range),
	ALLOW(fadvise64),
	ALLOW(readahead),
	ALLOW(statfs),
	ALLOW(fstatfs),
	ALLOW(utime),
	ALLOW(utimes),
	ALLOW(utimensat),
	ALLOW(futimesat),
	ALLOW(getxattr),
	ALLOW(lgetxattr),
	ALLOW(fgetxattr),
	ALLOW(listxattr),
	ALLOW(llistxattr),
	ALLOW(flistxattr),
	ALLOW(setxattr),
	ALLOW(lsetxattr),
	ALLOW(fsetxattr),
	ALLOW(removexattr),
	ALLOW(lremovexattr),
	ALLOW(fremovexattr),

	/* --- memory ---------------------------------------------------- */
	ALLOW(msync),
	ALLOW(mincore),
	ALLOW(mlock),
	ALLOW(mlock2),
	ALLOW(munlock),
	ALLOW(mlockall),
	ALLOW(munlockall),
	ALLOW(mbind),
	ALLOW(get_mempolicy),
	ALLOW(set_mempolicy),
	ALLOW(set_mempolicy_home_node),
	ALLOW(pkey_alloc),
	ALLOW(pkey_free),
	ALLOW(pkey_mprotect),
	ALLOW(map_shadow_stack),
	ALLOW(futex_waitv),

	/* --- System V and POSIX IPC: its own IPC namespace ------------- */
	ALLOW(shmget),
	ALLOW(shmat),
	ALLOW(shmdt),
	ALLOW(shmctl),
	ALLOW(semget),
	ALLOW(semop),
	ALLOW(semtimedop),
	ALLOW(semctl),
	ALLOW(msgget),
	ALLOW(msgsnd),
	ALLOW(msgrcv),
	ALLOW(msgctl),
	ALLOW(mq_open),
	ALLOW(mq_unlink),
	ALLOW(mq_timedsend),
	ALLOW(mq_timedreceive),
	ALLOW(mq_notify),
	ALLOW(mq_getsetattr),

	/* --- refused, each with its errno (docs/SANDBOX.md) -------------
	 * ENOSYS where a library should take it for "this kernel has no
	 * such thing" and fall back (io_uring: libuv, tokio); EPERM for the
	 * rest. These are listed although the default is EPERM too, so that
	 * the table says what is refused on purpose and a change of the
	 * default cannot silently let one through. */
	REFUSE(io_uring_setup, ENOSYS),
	REFUSE(io_uring_enter, ENOSYS),
	REFUSE(io_uring_register, ENOSYS),
	REFUSE(bpf, EPERM),
	REFUSE(perf_event_open, EPERM),
	REFUSE(userfaultfd, EPERM),
	REFUSE(keyctl, EPERM),
	REFUSE(add_key, EPERM),
	REFUSE(request_key, EPERM),
	REFUSE(ptrace, EPERM),
	REFUSE(process_vm_readv, EPERM),
	REFUSE(process_vm_writev, EPERM),
	REFUSE(process_madvise, EPERM),
	REFUSE(pidfd_getfd, EPERM),
	REFUSE(kcmp, EPERM),
	REFUSE(mount, EPERM),
	REFUSE(umount2, EPERM),
	REFUSE(pivot_root, EPERM),
	REFUSE(chroot, EPERM),
	REFUSE(fsopen, EPERM),
	REFUSE(fsconfig, EPERM),
	REFUSE(fsmount, EPERM),
	REFUSE(fspick, EPERM),
	REFUSE(move_mount, EPERM),
	REFUSE(open_tree, EPERM),
	REFUSE(mount_setattr, EPERM),
	REFUSE(name_to_handle_at, EPERM),
	REFUSE(open_by_handle_at, EPERM),
	REFUSE_IF_ANY(unshare, 0, FN_UNSHARE_NS_FLAGS, EPERM),
	ALLOW(unshare),        /* CLONE_FILES, CLONE_FS, CLONE_SYSVSEM only */
	REFUSE(setns, EPERM),
	REFUSE(kexec_load, EPERM),
	REFUSE(kexec_file_load, EPERM),
	REFUSE(init_module, EPERM),
	REFUSE(finit_module, EPERM),
	REFUSE(delete_module, EPERM),
	REFUSE(reboot, EPERM),
	REFUSE(swapon, EPERM),
	REFUSE(swapoff, EPERM),
	REFUSE(acct, EPERM),
	REFUSE(settimeofday, EPERM),
	REFUSE(clock_settime, EPERM),
	REFUSE(clock_adjtime, EPERM),
	REFUSE(adjtimex, EPERM),
	REFUSE(syslog, EPERM),
	REFUSE(sethostname, EPERM),
	REFUSE(setdomainname, EPERM),
	REFUSE(iopl, EPERM),
	REFUSE(ioperm, EPERM),
	REFUSE(modify_ldt, EPERM),
	REFUSE(quotactl, EPERM),
	REFUSE(vhangup, EPERM),
	REFUSE(uselib, EPERM),
	REFUSE(fanotify_init, EPERM),
	REFUSE(lookup_dcookie, EPERM),
	REFUSE(move_pages, EPERM),
	REFUSE(migrate_pages, EPERM),
	REFUSE(setgroups, EPERM),
	REFUSE(capset, EPERM),
	REFUSE(personality, EPERM),
};

const size_t fn_seccomp_nrules = sizeof fn_seccomp_rules / sizeof fn_seccomp_rules[0];

int fn_seccomp_build(struct seccomp_prog *out)
{
	return seccomp_build(fn_seccomp_rules, fn_seccomp_nrules, out);
}
