/* tests/bench/store_io.h: the I/O loops of the store throughput bench
 * (docs/STORE.md, "Throughput against the raw disk").
 *
 * Bench-only code: linked into build/bench/store_io_init (the PID 1 of
 * the bench image) and into its unit test, never into dshield-init.
 *
 * One "row" is a target the same loops run on: the raw scratch disk, the
 * same disk through dm-crypt with the store's table, and ext4 on each.
 * Per row and repetition, over a fixed region of spec.mib MiB:
 *
 *   seq write   1 MiB blocks, front to back, fdatasync at the end
 *   seq read    the same, verifying each 4 KiB block's stamp
 *   rand write  4 KiB blocks at offsets from a fixed-seed generator,
 *               at most spec.rand_ops or spec.rand_ms, fdatasync at the end
 *   rand read   the same offsets' sequence, verified
 *
 * Every 4 KiB block written carries a stamp (its offset in the region,
 * then the seed), so a read that returns other bytes than were written
 * (a mapping with a wrong key, a short device) counts as "bad" instead of
 * passing as fast. The sequential write fills the whole region first, so
 * every later read finds a stamp.
 *
 * Caller-owned buffers (one of SIO_SEQ_BLOCK bytes, 4 KiB aligned for
 * O_DIRECT); no allocation, no hidden state.
 *
 * Error convention: 0 or a negative errno, reason in err (ERRBUF_LEN).
 */
#ifndef DSHIELD_TESTS_BENCH_STORE_IO_H
#define DSHIELD_TESTS_BENCH_STORE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SIO_SEQ_BLOCK  (1u << 20)
#define SIO_RAND_BLOCK 4096u
#define SIO_MAX_REPS   9
#define SIO_MAX_MIB    4096u
#define SIO_LINE_MAX   320

enum sio_loop { SIO_SEQ_WRITE, SIO_SEQ_READ, SIO_RAND_WRITE, SIO_RAND_READ, SIO_NLOOPS };

struct sio_spec {
	uint32_t mib;		/* region size, MiB (1..SIO_MAX_MIB) */
	uint32_t reps;		/* repetitions, median reported (1..SIO_MAX_REPS) */
	uint32_t rand_ops;	/* cap on 4 KiB operations per random loop */
	uint32_t rand_ms;	/* time cap per random loop */
	uint64_t seed;		/* random offsets and stamps; never 0 */
};

/* One loop's outcome. */
struct sio_run {
	uint64_t ops;
	uint64_t bytes;
	uint64_t us;		/* elapsed, fdatasync included for writes */
	uint64_t bad;		/* blocks read back with a wrong stamp */
};

/* A row's loops over its repetitions. */
struct sio_row {
	const char *name;	/* "raw", "crypt", "ext4-raw", ... */
	int base;		/* index of the row it is compared with, -1: none */
	uint32_t nreps;
	struct sio_run run[SIO_MAX_REPS][SIO_NLOOPS];
};

/* Defaults: 64 MiB, 3 repetitions, 4096 random ops or 5000 ms, seed 1. */
void sio_defaults(struct sio_spec *s);

/* Reads storeio.mib=N, storeio.reps=N, storeio.rand_ops=N,
 * storeio.rand_ms=N and storeio.seed=N from a kernel command line
 * s[0..len) into *spec (defaults kept for absent words); other words are
 * ignored. An unknown storeio.* word, a value out of range or not plain
 * decimal is refused: -EINVAL with the word in err. */
int sio_parse_cmdline(const char *s, size_t len, struct sio_spec *spec, char *err,
		      size_t errlen);

/* Runs one loop on fd (opened O_RDWR, O_DIRECT where the target has it)
 * over [base, base + spec->mib MiB). buf: SIO_SEQ_BLOCK bytes, aligned
 * to 4 KiB. 0, or a negative errno (a failed or short read or write,
 * fdatasync) with err. */
int sio_loop(int fd, off_t base, const struct sio_spec *spec, enum sio_loop which,
	     unsigned char *buf, struct sio_run *out, char *err, size_t errlen);

/* The median over row->nreps of a loop's rate: MiB/s for the sequential
 * loops, operations/s for the random ones. 0 when nothing ran. */
double sio_median_rate(const struct sio_row *row, enum sio_loop which);

/* Sum of "bad" over every loop and repetition of row. */
uint64_t sio_bad(const struct sio_row *row);

/* The driver the kernel picks for algorithm `name` (e.g. "xts(aes)"):
 * from /proc/crypto's text, the "driver" of the entry with that "name"
 * and the highest "priority". Returns its length, -ENOENT (no such entry)
 * or -ENOSPC. Bounded by len: the text need not end with a NUL. */
int sio_crypto_driver(const char *text, size_t len, const char *name, char *out, size_t cap);

/* The console line of a row:
 *   storeio: row=NAME seq_write_mibs=X seq_read_mibs=X rand_write_iops=X
 *     rand_read_iops=X mib=N reps=N bad=N
 * and, with a base row, a second line
 *   storeio: ratio row=NAME base=BASE seq_write=R seq_read=R rand_write=R
 *     rand_read=R
 * (R: this row's median over the base's, 3 decimals; "null" when the
 * base's is 0). Returns the length written or -ENOSPC. */
int sio_row_line(char *out, size_t cap, const struct sio_row *row, const struct sio_spec *spec);
int sio_ratio_line(char *out, size_t cap, const struct sio_row *row, const struct sio_row *base);

#endif
