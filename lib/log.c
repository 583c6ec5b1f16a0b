/* lib/log.c: see log.h. */
#include "lib/log.h"

#include "lib/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <stdbool.h>
#include <string.h>

/* A process logs as one role: its logging state is this file's. */
static const char *log_role = "dshield";
static int log_fd = 2;
static bool log_plain;

void log_set_role(const char *role) { log_role = role; }
void log_set_fd(int fd) { log_fd = fd; }
void log_set_plain(bool plain) { log_plain = plain; }

/* "[seconds.micros] dshield: ROLE: " into line; its length. */
static int prefix(char *line, size_t cap, const char *role)
{
	uint64_t us = boot_us();
	int n = snprintf(line, cap, "[%5llu.%06llu] dshield: %s: ",
			 (unsigned long long)(us / 1000000u),
			 (unsigned long long)(us % 1000000u), role);
	return n < 0 ? 0 : n;
}

static void emit(char *line, int n, size_t cap)
{
	if ((size_t)n >= cap - 1)
		n = (int)cap - 2;
	line[n++] = '\n';
	/* One write per line so concurrent writers do not interleave mid-line. */
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
}

void dlog_as(const char *role, const char *msg, size_t len)
{
	char line[LOG_LINE_MAX];
	int saved = errno;
	int n = prefix(line, sizeof line, role);
	size_t room = sizeof line - 2 - (size_t)n;

	if (len > room)
		len = room;
	memcpy(line + n, msg, len);
	emit(line, n + (int)len, sizeof line);
	errno = saved;
}

void dlog(const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	int saved = errno;
	int n = log_plain ? 0 : prefix(line, sizeof line, log_role);
	if ((size_t)n < sizeof line) {
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	emit(line, n, sizeof line);
	errno = saved;
}
