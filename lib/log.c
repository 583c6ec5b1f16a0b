/* lib/log.c: see log.h. */
#include "lib/log.h"

#include "lib/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *log_role = "dshield";
static int log_fd = 2;

void log_set_role(const char *role) { log_role = role; }
void log_set_fd(int fd) { log_fd = fd; }

void dlog(const char *fmt, ...)
{
	char line[512];
	int saved = errno;
	uint64_t us = boot_us();
	int n = snprintf(line, sizeof line, "[%5llu.%06llu] dshield: %s: ",
			 (unsigned long long)(us / 1000000u),
			 (unsigned long long)(us % 1000000u), log_role);
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
