/* lib/log.h: console and stderr logging for every role.
 *
 * Lines look like the kernel's: "[    1.234567] dshield: netd: message",
 * stamped with CLOCK_BOOTTIME, so boot phases line up with kernel messages
 * on the serial console. Logging never allocates and never fails loudly:
 * a line that does not fit is cut.
 */
#ifndef DSHIELD_LIB_LOG_H
#define DSHIELD_LIB_LOG_H

/* Name printed after "dshield: " (a role such as "init" or "netd"). */
void log_set_role(const char *role);
/* Where lines go; default 2 (stderr). init points it at /dev/console. */
void log_set_fd(int fd);

void dlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
