/* lib/random.h: bytes from the kernel's random pool (getrandom(2)), for
 * secrets made in the guest: API tokens. */
#ifndef DSHIELD_LIB_RANDOM_H
#define DSHIELD_LIB_RANDOM_H

#include <stddef.h>

/* Fills buf[0..n) from getrandom(2), blocking until the pool is ready
 * (never the non-blocking or the insecure flag: a token made from an
 * unseeded pool would be guessable). Returns 0 or -errno. */
int random_fill(void *buf, size_t n);

#endif
