/* lib/log.h: console and stderr logging for every role.
 *
 * Lines look like the kernel's: "[    1.234567] dshield: netd: message",
 * stamped with CLOCK_BOOTTIME, so boot phases line up with kernel messages
 * on the serial console. Logging never allocates and never fails loudly:
 * a line that does not fit is cut.
 */
#ifndef DSHIELD_LIB_LOG_H
#define DSHIELD_LIB_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define LOG_LINE_MAX 512

/* Name printed after "dshield: " (a role such as "init" or "netd"). */
void log_set_role(const char *role);
/* Where lines go; default 2 (stderr). init points it at /dev/console. */
void log_set_fd(int fd);

/* Plain lines ("message\n", no stamp or role): a role's output goes to a
 * pipe that init reads, and init stamps and tags each line with the role
 * it started (init/rolelog.h), so no role can print a line that looks
 * like another's. */
void log_set_plain(bool plain);

void dlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line of len bytes (no newline) stamped and tagged as role: how init
 * relays a role's lines. */
void dlog_as(const char *role, const char *msg, size_t len);

#endif
