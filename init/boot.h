/* init/boot.h: PID 1's first steps in the VM: console, mounts, sysctls.
 *
 * Order in init (see init/init.c):
 *   boot_console(); boot_mount_all(); boot_apply_sysctls();
 *   manifest_load(); modules_load(); boot_mount_configfs();
 *   boot_lock_modules(); layers_open_all() (init/layers.h, may fail);
 * None of these runs in host mode (tests, `dshield-init --host`).
 *
 * Error convention: 0 or a negative errno; every step and every failure is
 * logged with dlog() naming what failed. init powers off on an error.
 */
#ifndef DSHIELD_INIT_BOOT_H
#define DSHIELD_INIT_BOOT_H

/* Opens /dev/console (O_WRONLY|O_NOCTTY) onto fds 1 and 2 and /dev/null
 * onto fd 0 (an empty pipe when the initrd has no /dev/null yet: reads see
 * end of file), then logs to fd 2. Cannot fail: without a console, the fds
 * the kernel gave us stay as they are. */
void boot_console(void);

/* Mounts, in order (directories created as needed):
 *   proc     /proc            nosuid,nodev,noexec  hidepid=2 (processes of
 *                             other users invisible; init, as root, and every
 *                             process's /proc/self still work)
 *   sysfs    /sys             nosuid,nodev,noexec
 *   devtmpfs /dev             nosuid,noexec        mode=0755
 *   tmpfs    /run             nosuid,nodev,noexec  mode=0755
 *   cgroup2  /sys/fs/cgroup   nosuid,nodev,noexec  nsdelegate
 * Stops at the first failure. */
int boot_mount_all(void);

/* configfs on /sys/kernel/config (nosuid,nodev,noexec). configfs is a
 * module in the image kernel: call this after modules_load(). */
int boot_mount_configfs(void);

/* Writes the hardening sysctls through /proc/sys and reads each back.
 * Must-have entries (see the table in boot.c) fail the boot when missing or
 * not taking the value; optional ones are logged and skipped. Every entry is
 * tried, so one run logs every problem; the first must-have error is
 * returned. */
int boot_apply_sysctls(void);
/* The same against another directory than /proc/sys (tests). */
int boot_apply_sysctls_in(const char *dir);

/* kernel.modules_disabled=1: no module can be loaded any more, neither by
 * init_module nor by the kernel's own request_module(). Call after
 * modules_load() and boot_mount_configfs(). One-way until reboot. */
int boot_lock_modules(void);

#endif
