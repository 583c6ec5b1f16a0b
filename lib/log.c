/* lib/log.c: see log.h. */
#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *log_role = "dshield";
static int log_fd = 2;

void log_set_role(const char *role) { log_role = role; }
void log_set_fd(int fd) { log_fd = fd; }

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t boot_ms(void) { return clock_ms(CLOCK_BOOTTIME); }
uint64_t mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

void dlog(const char *fmt, ...)
{
	char line[512];
	struct timespec ts;
	int saved = errno;
	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		ts.tv_sec = ts.tv_nsec = 0;
	int n = snprintf(line, sizeof line, "[%5lld.%06ld] dshield: %s: ",
			 (long long)ts.tv_sec, ts.tv_nsec / 1000, log_role);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof line) {
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	if ((size_t)n >= sizeof line - 1)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	/* One write per line so concurrent roles do not interleave mid-line. */
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
	errno = saved;
}
