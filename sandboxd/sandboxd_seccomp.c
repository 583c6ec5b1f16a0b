/* sandboxd/sandboxd_seccomp.c: sandboxd's system call allow-list
 * (lib/seccomp.h).
 *
 * A filter is inherited across fork and exec, and the worker's own filter
 * (sandboxd/fn_seccomp.c) is stacked on top of this one: every call a
 * worker may make (Python, Node, static binaries) must pass this filter
 * too, so the list below starts with exactly the worker's allow-list
 * (the most restrictive filter decides; the worker's refusals, with their
 * errnos, still apply to the worker). Then what sandboxd itself needs to
 * build a sandbox and that the worker's filter refuses: clone3 (into a
 * cgroup, with a pidfd), unshare/setns of any namespace, mount, umount2,
 * pivot_root, chroot, sethostname, setgroups and capset (the drop), and
 * quotactl_fd (the data directories' project quotas).
 *
 * What neither needs is refused here, for sandboxd and every worker
 * alike: bpf, ptrace, process_vm_readv/writev, kexec and module loading,
 * perf_event_open, io_uring, keyctl/add_key/request_key, userfaultfd,
 * open_by_handle_at, the new mount API (fsopen, fsmount, move_mount,
 * open_tree), reboot, swapon/off, acct, quotactl (the path form), clock and time setting,
 * iopl/ioperm, syslog, socket families other than unix, inet, inet6 and
 * packet (the worker's filter refuses packet too).
 */
#include "sandboxd/fn_seccomp.h"
#include "sandboxd/sandboxd.h"

#include <sys/socket.h>

#define ALLOW(name)             SECCOMP_ALLOW(name)
#define ALLOW_IF_EQ(name, a, v) SECCOMP_ALLOW_IF_EQ(name, a, v)

const struct seccomp_rule sandboxd_seccomp_rules[] = {
	/* sandboxd's own (the worker's filter refuses them) */
	ALLOW(clone3), ALLOW(setns), ALLOW(mount), ALLOW(umount2), ALLOW(pivot_root),
	ALLOW(chroot), ALLOW(sethostname), ALLOW(setgroups), ALLOW(capset),
	/* the data directories' project quotas (sandboxd/fndata.h); the
	 * worker's filter refuses it */
	ALLOW(quotactl_fd),
	/* socket families: unix (channels, the worker's fd 3), inet (lo up in
	 * a function's namespace; the workers), inet6 (the workers) */
	ALLOW_IF_EQ(socket, 0, AF_UNIX),
	ALLOW_IF_EQ(socket, 0, AF_INET),
	ALLOW_IF_EQ(socket, 0, AF_INET6),
	/* packet: the resets socket on a function's lo (SBX_L_RESETS), made
	 * in the function's new namespace, which has no other device */
	ALLOW_IF_EQ(socket, 0, AF_PACKET),
	ALLOW_IF_EQ(socketpair, 0, AF_UNIX),
	/* personality: the values the worker's filter allows */
	ALLOW_IF_EQ(personality, 0, 0x0u),
	ALLOW_IF_EQ(personality, 0, 0x8u),
	ALLOW_IF_EQ(personality, 0, 0x20000u),
	ALLOW_IF_EQ(personality, 0, 0x20008u),
	ALLOW_IF_EQ(personality, 0, 0xffffffffu),
	/* every call the worker's filter allows (sandboxd/fn_seccomp.c) */
	ALLOW(accept), ALLOW(accept4), ALLOW(access), ALLOW(alarm), ALLOW(arch_prctl),
	ALLOW(bind), ALLOW(brk), ALLOW(capget), ALLOW(chdir), ALLOW(chmod), ALLOW(chown),
	ALLOW(clock_getres), ALLOW(clock_gettime), ALLOW(clock_nanosleep), ALLOW(clone),
	ALLOW(close), ALLOW(close_range), ALLOW(connect), ALLOW(copy_file_range), ALLOW(creat),
	ALLOW(dup), ALLOW(dup2), ALLOW(dup3), ALLOW(epoll_create), ALLOW(epoll_create1),
	ALLOW(epoll_ctl), ALLOW(epoll_pwait), ALLOW(epoll_pwait2), ALLOW(epoll_wait),
	ALLOW(eventfd), ALLOW(eventfd2), ALLOW(execve), ALLOW(execveat), ALLOW(exit),
	ALLOW(exit_group), ALLOW(faccessat), ALLOW(faccessat2), ALLOW(fadvise64),
	ALLOW(fallocate), ALLOW(fchdir), ALLOW(fchmod), ALLOW(fchmodat), ALLOW(fchmodat2),
	ALLOW(fchown), ALLOW(fchownat), ALLOW(fcntl), ALLOW(fdatasync), ALLOW(fgetxattr),
	ALLOW(flistxattr), ALLOW(flock), ALLOW(fork), ALLOW(fremovexattr), ALLOW(fsetxattr),
	ALLOW(fstat), ALLOW(fstatfs), ALLOW(fsync), ALLOW(ftruncate), ALLOW(futex),
	ALLOW(futex_waitv), ALLOW(futimesat), ALLOW(get_mempolicy), ALLOW(get_robust_list),
	ALLOW(getcpu), ALLOW(getcwd), ALLOW(getdents), ALLOW(getdents64), ALLOW(getegid),
	ALLOW(geteuid), ALLOW(getgid), ALLOW(getgroups), ALLOW(getitimer), ALLOW(getpeername),
	ALLOW(getpgid), ALLOW(getpgrp), ALLOW(getpid), ALLOW(getppid), ALLOW(getpriority),
	ALLOW(getrandom), ALLOW(getresgid), ALLOW(getresuid), ALLOW(getrlimit), ALLOW(getrusage),
	ALLOW(getsid), ALLOW(getsockname), ALLOW(getsockopt), ALLOW(gettid), ALLOW(gettimeofday),
	ALLOW(getuid), ALLOW(getxattr), ALLOW(inotify_add_watch), ALLOW(inotify_init),
	ALLOW(inotify_init1), ALLOW(inotify_rm_watch), ALLOW(ioctl), ALLOW(kill),
	ALLOW(landlock_add_rule), ALLOW(landlock_create_ruleset), ALLOW(landlock_restrict_self),
	ALLOW(lchown), ALLOW(lgetxattr), ALLOW(link), ALLOW(linkat), ALLOW(listen),
	ALLOW(listxattr), ALLOW(llistxattr), ALLOW(lremovexattr), ALLOW(lseek), ALLOW(lsetxattr),
	ALLOW(lstat), ALLOW(madvise), ALLOW(map_shadow_stack), ALLOW(mbind), ALLOW(membarrier),
	ALLOW(memfd_create), ALLOW(mincore), ALLOW(mkdir), ALLOW(mkdirat), ALLOW(mknod),
	ALLOW(mknodat), ALLOW(mlock), ALLOW(mlock2), ALLOW(mlockall), ALLOW(mmap),
	ALLOW(mprotect), ALLOW(mq_getsetattr), ALLOW(mq_notify), ALLOW(mq_open),
	ALLOW(mq_timedreceive), ALLOW(mq_timedsend), ALLOW(mq_unlink), ALLOW(mremap),
	ALLOW(msgctl), ALLOW(msgget), ALLOW(msgrcv), ALLOW(msgsnd), ALLOW(msync), ALLOW(munlock),
	ALLOW(munlockall), ALLOW(munmap), ALLOW(nanosleep), ALLOW(newfstatat), ALLOW(open),
	ALLOW(openat), ALLOW(openat2), ALLOW(pause), ALLOW(pidfd_open), ALLOW(pidfd_send_signal),
	ALLOW(pipe), ALLOW(pipe2), ALLOW(pkey_alloc), ALLOW(pkey_free), ALLOW(pkey_mprotect),
	ALLOW(poll), ALLOW(ppoll), ALLOW(prctl), ALLOW(pread64), ALLOW(preadv), ALLOW(preadv2),
	ALLOW(prlimit64), ALLOW(pselect6), ALLOW(pwrite64), ALLOW(pwritev), ALLOW(pwritev2),
	ALLOW(read), ALLOW(readahead), ALLOW(readlink), ALLOW(readlinkat), ALLOW(readv),
	ALLOW(recvfrom), ALLOW(recvmmsg), ALLOW(recvmsg), ALLOW(removexattr), ALLOW(rename),
	ALLOW(renameat), ALLOW(renameat2), ALLOW(restart_syscall), ALLOW(rmdir), ALLOW(rseq),
	ALLOW(rt_sigaction), ALLOW(rt_sigpending), ALLOW(rt_sigprocmask), ALLOW(rt_sigqueueinfo),
	ALLOW(rt_sigreturn), ALLOW(rt_sigsuspend), ALLOW(rt_sigtimedwait),
	ALLOW(rt_tgsigqueueinfo), ALLOW(sched_get_priority_max), ALLOW(sched_get_priority_min),
	ALLOW(sched_getaffinity), ALLOW(sched_getattr), ALLOW(sched_getparam),
	ALLOW(sched_getscheduler), ALLOW(sched_rr_get_interval), ALLOW(sched_setaffinity),
	ALLOW(sched_setattr), ALLOW(sched_setparam), ALLOW(sched_setscheduler),
	ALLOW(sched_yield), ALLOW(seccomp), ALLOW(select), ALLOW(semctl), ALLOW(semget),
	ALLOW(semop), ALLOW(semtimedop), ALLOW(sendfile), ALLOW(sendmmsg), ALLOW(sendmsg),
	ALLOW(sendto), ALLOW(set_mempolicy), ALLOW(set_mempolicy_home_node),
	ALLOW(set_robust_list), ALLOW(set_tid_address), ALLOW(setfsgid), ALLOW(setfsuid),
	ALLOW(setgid), ALLOW(setitimer), ALLOW(setpgid), ALLOW(setpriority), ALLOW(setregid),
	ALLOW(setresgid), ALLOW(setresuid), ALLOW(setreuid), ALLOW(setrlimit), ALLOW(setsid),
	ALLOW(setsockopt), ALLOW(setuid), ALLOW(setxattr), ALLOW(shmat), ALLOW(shmctl),
	ALLOW(shmdt), ALLOW(shmget), ALLOW(shutdown), ALLOW(sigaltstack), ALLOW(signalfd),
	ALLOW(signalfd4), ALLOW(splice), ALLOW(stat), ALLOW(statfs), ALLOW(statx), ALLOW(symlink),
	ALLOW(symlinkat), ALLOW(sync), ALLOW(sync_file_range), ALLOW(syncfs), ALLOW(sysinfo),
	ALLOW(tee), ALLOW(tgkill), ALLOW(time), ALLOW(timer_create), ALLOW(timer_delete),
	ALLOW(timer_getoverrun), ALLOW(timer_gettime), ALLOW(timer_settime),
	ALLOW(timerfd_create), ALLOW(timerfd_gettime), ALLOW(timerfd_settime), ALLOW(times),
	ALLOW(tkill), ALLOW(truncate), ALLOW(umask), ALLOW(uname), ALLOW(unlink), ALLOW(unlinkat),
	ALLOW(unshare), ALLOW(utime), ALLOW(utimensat), ALLOW(utimes), ALLOW(vfork),
	ALLOW(vmsplice), ALLOW(wait4), ALLOW(waitid), ALLOW(write), ALLOW(writev),
};
const size_t sandboxd_seccomp_nrules = sizeof sandboxd_seccomp_rules / sizeof sandboxd_seccomp_rules[0];
