/* lib/clock.h: the process's clocks, in one place.
 *
 * CLOCK_MONOTONIC for timers and timeouts (never jumps, stops in
 * suspend); CLOCK_BOOTTIME for boot phase stamps, so they line up with the
 * kernel's own message stamps. A clock that fails (it cannot, on Linux)
 * reads 0.
 */
#ifndef DSHIELD_LIB_CLOCK_H
#define DSHIELD_LIB_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds (CLOCK_MONOTONIC), for timers. */
uint64_t mono_ms(void);
/* Monotonic microseconds (CLOCK_MONOTONIC). */
uint64_t mono_us(void);
/* Milliseconds since the kernel started (CLOCK_BOOTTIME). */
uint64_t boot_ms(void);
/* Microseconds since the kernel started (CLOCK_BOOTTIME). */
uint64_t boot_us(void);

#endif
