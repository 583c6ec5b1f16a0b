/* tests/bench/samples.h: latency samples of the fn bench (bench_fn,
 * fn_load): a monotonic clock in ns and the p50/p99 of a sample array. */
#ifndef DSHIELD_TESTS_BENCH_SAMPLES_H
#define DSHIELD_TESTS_BENCH_SAMPLES_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline int samples_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct pct { double p50, p99; };   /* microseconds */

/* p50 and p99 of s[0..n) (ns) in microseconds; sorts s. n 0: zeros. */
static inline struct pct samples_pct(uint64_t *s, size_t n)
{
	if (n == 0)
		return (struct pct){ 0, 0 };
	qsort(s, n, sizeof *s, samples_cmp);
	return (struct pct){ s[n / 2] / 1000.0, s[n * 99 / 100] / 1000.0 };
}

#endif
