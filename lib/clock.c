/* lib/clock.c: see clock.h. */
#include "lib/clock.h"

#include <time.h>

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t mono_us(void) { return clock_us(CLOCK_MONOTONIC); }
uint64_t mono_ms(void) { return mono_us() / 1000u; }
uint64_t boot_us(void) { return clock_us(CLOCK_BOOTTIME); }
uint64_t boot_ms(void) { return boot_us() / 1000u; }
