/* net/lwip_port.c: the platform functions lwIP needs in netd.
 *
 * NO_SYS=1: lwIP asks only for a millisecond clock, random numbers and a
 * way to report. Everything else (timers, locking) is netd's event loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/log.h"
#include "lwip/arch.h"
#include "lwip/sys.h"

u32_t sys_now(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC never jumps; lwIP only takes differences, so the
	 * 32-bit wrap after 49 days is harmless. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (u32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* lwIP draws a value for every TCP ISN, ephemeral port, DHCP xid and DNS
 * query id; one getrandom call per 64 values keeps syscalls off the
 * connection path. */
static uint32_t rand_buf[64];
static size_t rand_left;

uint32_t dshield_lwip_rand(void)
{
	if (rand_left == 0) {
		size_t got = 0;
		while (got < sizeof rand_buf) {
			ssize_t n = getrandom((uint8_t *)rand_buf + got,
					      sizeof rand_buf - got, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* Predictable ISNs and ports would let an off-path
				 * attacker inject into connections: better to stop. */
				dlog("getrandom failed: %s", strerror(n < 0 ? errno : EIO));
				abort();
			}
			got += (size_t)n;
		}
		rand_left = sizeof rand_buf / sizeof rand_buf[0];
	}
	uint32_t v = rand_buf[--rand_left];
	rand_buf[rand_left] = 0;
	return v;
}

void dshield_lwip_diag(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* lwIP's messages carry their own newline; dlog adds one. */
	size_t len = strnlen(msg, sizeof msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	if (len > 0)
		dlog("lwip: %s", msg);
}

void dshield_lwip_assert(const char *msg, const char *file, int line)
{
	dlog("lwip assertion failed: %s (%s:%d)", msg, file, line);
	abort();
}
