/* tests/escape/vminit.c: PID 1 of the sandbox test VM (tests/vm/sandbox.t).
 *
 * Mounts what a sandboxd host has (proc, sysfs, devtmpfs, a tmpfs /tmp and
 * cgroup2 on /sys/fs/cgroup with its controllers), runs /t/tests/test_sandbox
 * on the console, prints its exit status, and powers off. Static musl, so
 * that the initramfs holds nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void mnt(const char *src, const char *dst, const char *type)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, MS_NOSUID, NULL) != 0)
		printf("vminit: mount %s on %s: %s\n", type, dst, strerror(errno));
}

int main(void)
{
	char *argv[] = { "/t/tests/test_sandbox", NULL };
	char *envp[] = { "PATH=/", NULL };
	int st = -1;

	mnt("proc", "/proc", "proc");
	mnt("sysfs", "/sys", "sysfs");
	mnt("dev", "/dev", "devtmpfs");
	mnt("tmp", "/tmp", "tmpfs");
	mnt("cgroup2", "/sys/fs/cgroup", "cgroup2");
	setvbuf(stdout, NULL, _IONBF, 0);
	pid_t pid = fork();
	if (pid == 0) {
		execve(argv[0], argv, envp);
		printf("vminit: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	printf("vminit: test_sandbox status %d\n", st);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
