/* tests/bench/store_io.c: see store_io.h. */
#include "tests/bench/store_io.h"
#include "lib/bytes.h"
#include "lib/clock.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SIO_STAMP_LEN 16	/* offset, seed: little-endian u64 each */

void sio_defaults(struct sio_spec *s)
{
	*s = (struct sio_spec){ .mib = 64, .reps = 3, .rand_ops = 4096, .rand_ms = 5000,
				.seed = 1 };
}

/* --- the command line ------------------------------------------------------------ */

struct sio_word {
	const char *key;	/* after "storeio." */
	uint64_t min, max;
	size_t off;		/* in struct sio_spec */
	int wide;		/* uint64_t (else uint32_t) */
};

static const struct sio_word words[] = {
	{ "mib", 1, SIO_MAX_MIB, offsetof(struct sio_spec, mib), 0 },
	{ "reps", 1, SIO_MAX_REPS, offsetof(struct sio_spec, reps), 0 },
	{ "rand_ops", 1, 10000000, offsetof(struct sio_spec, rand_ops), 0 },
	{ "rand_ms", 1, 600000, offsetof(struct sio_spec, rand_ms), 0 },
	{ "seed", 1, UINT64_MAX, offsetof(struct sio_spec, seed), 1 },
};

/* Plain decimal, no sign, no leading zero, no overflow. */
static int parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static int parse_word(const char *w, size_t n, struct sio_spec *spec, char *err, size_t errlen)
{
	static const char pfx[] = "storeio.";
	const size_t pl = sizeof pfx - 1;
	const char *eq = memchr(w, '=', n);
	uint64_t v;

	if (n < pl || memcmp(w, pfx, pl) != 0)
		return 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		size_t kl = strlen(words[i].key);
		if (eq == NULL || (size_t)(eq - w) != pl + kl || memcmp(w + pl, words[i].key, kl) != 0)
			continue;
		if (parse_u64(eq + 1, n - pl - kl - 1, &v) != 0 || v < words[i].min ||
		    v > words[i].max)
			return errbuf_set(err, errlen, -EINVAL, "%.*s: not a number in %llu..%llu",
					  (int)n, w, (unsigned long long)words[i].min,
					  (unsigned long long)words[i].max);
		unsigned char *p = (unsigned char *)spec + words[i].off;
		if (words[i].wide) {
			memcpy(p, &v, sizeof v);
		} else {
			uint32_t v32 = (uint32_t)v;
			memcpy(p, &v32, sizeof v32);
		}
		return 0;
	}
	return errbuf_set(err, errlen, -EINVAL, "%.*s: unknown storeio setting", (int)n, w);
}

int sio_parse_cmdline(const char *s, size_t len, struct sio_spec *spec, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t'))
			i++;
		size_t j = i;
		while (j < len && s[j] != ' ' && s[j] != '\n' && s[j] != '\t' && s[j] != '\0')
			j++;
		if (j > i) {
			int r = parse_word(s + i, j - i, spec, err, errlen);
			if (r != 0)
				return r;
		}
		if (j < len && s[j] == '\0')
			break;
		i = j;
	}
	return 0;
}

/* --- the loops ------------------------------------------------------------------- */

/* xorshift64*: offsets and filler, reproducible from the seed. */
static uint64_t next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

static void stamp(unsigned char *blk, uint64_t off, uint64_t seed)
{
	put_le64(blk, off);
	put_le64(blk + 8, seed);
}

static int stamp_ok(const unsigned char *blk, uint64_t off, uint64_t seed)
{
	return le64(blk) == off && le64(blk + 8) == seed;
}

static int io_full(int fd, unsigned char *buf, size_t n, off_t at, int wr, char *err,
		   size_t errlen)
{
	ssize_t k = wr ? pwrite(fd, buf, n, at) : pread(fd, buf, n, at);

	if (k < 0)
		return errbuf_set(err, errlen, -errno, "%s at %lld: %s", wr ? "write" : "read",
				  (long long)at, strerror(errno));
	if ((size_t)k != n)
		return errbuf_set(err, errlen, -EIO, "short %s at %lld: %zd of %zu",
				  wr ? "write" : "read", (long long)at, k, n);
	return 0;
}

static int sync_fd(int fd, char *err, size_t errlen)
{
	if (fdatasync(fd) != 0)
		return errbuf_set(err, errlen, -errno, "fdatasync: %s", strerror(errno));
	return 0;
}

static int seq(int fd, off_t base, const struct sio_spec *spec, int wr, unsigned char *buf,
	       struct sio_run *o, char *err, size_t errlen)
{
	uint64_t region = (uint64_t)spec->mib << 20;
	uint64_t t0 = mono_us();
	int r;

	for (uint64_t off = 0; off < region; off += SIO_SEQ_BLOCK) {
		if (wr)
			for (size_t b = 0; b < SIO_SEQ_BLOCK; b += SIO_RAND_BLOCK)
				stamp(buf + b, off + b, spec->seed);
		if ((r = io_full(fd, buf, SIO_SEQ_BLOCK, base + (off_t)off, wr, err, errlen)) != 0)
			return r;
		if (!wr)
			for (size_t b = 0; b < SIO_SEQ_BLOCK; b += SIO_RAND_BLOCK)
				o->bad += !stamp_ok(buf + b, off + b, spec->seed);
		o->ops++;
		o->bytes += SIO_SEQ_BLOCK;
	}
	if (wr && (r = sync_fd(fd, err, errlen)) != 0)
		return r;
	o->us = mono_us() - t0;
	return 0;
}

static int rnd(int fd, off_t base, const struct sio_spec *spec, int wr, unsigned char *buf,
	       struct sio_run *o, char *err, size_t errlen)
{
	uint64_t nblk = ((uint64_t)spec->mib << 20) / SIO_RAND_BLOCK;
	uint64_t x = spec->seed, cap_us = (uint64_t)spec->rand_ms * 1000;
	uint64_t t0 = mono_us();
	int r;

	while (o->ops < spec->rand_ops && mono_us() - t0 < cap_us) {
		uint64_t off = (next(&x) % nblk) * SIO_RAND_BLOCK;
		if (wr)
			stamp(buf, off, spec->seed);
		if ((r = io_full(fd, buf, SIO_RAND_BLOCK, base + (off_t)off, wr, err, errlen)) != 0)
			return r;
		if (!wr)
			o->bad += !stamp_ok(buf, off, spec->seed);
		o->ops++;
		o->bytes += SIO_RAND_BLOCK;
	}
	if (wr && (r = sync_fd(fd, err, errlen)) != 0)
		return r;
	o->us = mono_us() - t0;
	return 0;
}

int sio_loop(int fd, off_t base, const struct sio_spec *spec, enum sio_loop which,
	     unsigned char *buf, struct sio_run *out, char *err, size_t errlen)
{
	*out = (struct sio_run){ 0 };
	if (spec->mib == 0 || spec->mib > SIO_MAX_MIB || spec->seed == 0)
		return errbuf_set(err, errlen, -EINVAL, "storeio: bad spec");
	/* The bytes after each stamp: not zeros, so that no layer below can
	 * take a shortcut for them; filled before the clock starts. */
	if (which == SIO_SEQ_WRITE || which == SIO_RAND_WRITE) {
		uint64_t x = spec->seed ^ 0x5eedf111ull;
		for (size_t i = 0; i < SIO_SEQ_BLOCK; i += 8)
			put_le64(buf + i, next(&x));
	}
	switch (which) {
	case SIO_SEQ_WRITE: return seq(fd, base, spec, 1, buf, out, err, errlen);
	case SIO_SEQ_READ: return seq(fd, base, spec, 0, buf, out, err, errlen);
	case SIO_RAND_WRITE: return rnd(fd, base, spec, 1, buf, out, err, errlen);
	case SIO_RAND_READ: return rnd(fd, base, spec, 0, buf, out, err, errlen);
	default: return errbuf_set(err, errlen, -EINVAL, "storeio: no loop %d", (int)which);
	}
}

/* --- the kernel's cipher driver ------------------------------------------------- */

/* The value of a "key : value" line, or NULL when the line is not key's. */
static const char *field(const char *line, size_t n, const char *key, size_t *vlen)
{
	size_t kl = strlen(key), i = kl;

	if (n <= kl || memcmp(line, key, kl) != 0 || (line[kl] != ' ' && line[kl] != ':'))
		return NULL;
	while (i < n && line[i] == ' ')
		i++;
	if (i >= n || line[i] != ':')
		return NULL;
	for (i++; i < n && line[i] == ' '; i++)
		;
	*vlen = n - i;
	return line + i;
}

int sio_crypto_driver(const char *text, size_t len, const char *name, char *out, size_t cap)
{
	const char *drv = NULL, *best = NULL;
	size_t drvlen = 0, bestlen = 0, vl;
	uint64_t prio = 0, bestprio = 0;
	int match = 0, any = 0;
	size_t i = 0;

	/* entries are blocks of lines separated by an empty line; the end
	 * of the text closes the last one */
	for (;;) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		const char *line = text + i, *v;
		size_t n = j - i;
		if ((v = field(line, n, "name", &vl)) != NULL)
			match = vl == strlen(name) && memcmp(v, name, vl) == 0;
		else if ((v = field(line, n, "driver", &vl)) != NULL)
			drv = v, drvlen = vl;
		else if ((v = field(line, n, "priority", &vl)) != NULL && parse_u64(v, vl, &prio) != 0)
			prio = 0;
		if (n == 0 || j >= len) {
			if (match && drv != NULL && (!any || prio > bestprio))
				best = drv, bestlen = drvlen, bestprio = prio, any = 1;
			match = 0, drv = NULL, prio = 0;
		}
		if (j >= len)
			break;
		i = j + 1;
	}
	if (!any)
		return -ENOENT;
	if (bestlen >= cap)
		return -ENOSPC;
	memcpy(out, best, bestlen);
	out[bestlen] = '\0';
	return (int)bestlen;
}

/* --- figures --------------------------------------------------------------------- */

static double rate(const struct sio_run *r, enum sio_loop which)
{
	if (r->us == 0)
		return 0;
	double s = (double)r->us / 1e6;
	if (which == SIO_SEQ_WRITE || which == SIO_SEQ_READ)
		return (double)r->bytes / (1024.0 * 1024.0) / s;
	return (double)r->ops / s;
}

double sio_median_rate(const struct sio_row *row, enum sio_loop which)
{
	double v[SIO_MAX_REPS];
	uint32_t n = row->nreps > SIO_MAX_REPS ? SIO_MAX_REPS : row->nreps;

	if (n == 0)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		double x = rate(&row->run[i][which], which);
		uint32_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

uint64_t sio_bad(const struct sio_row *row)
{
	uint64_t bad = 0;
	for (uint32_t i = 0; i < row->nreps && i < SIO_MAX_REPS; i++)
		for (int l = 0; l < SIO_NLOOPS; l++)
			bad += row->run[i][l].bad;
	return bad;
}

static int fits(int n, size_t cap)
{
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int sio_row_line(char *out, size_t cap, const struct sio_row *row, const struct sio_spec *spec)
{
	int n = snprintf(out, cap,
			 "storeio: row=%s seq_write_mibs=%.1f seq_read_mibs=%.1f "
			 "rand_write_iops=%.0f rand_read_iops=%.0f mib=%u reps=%u bad=%llu",
			 row->name, sio_median_rate(row, SIO_SEQ_WRITE),
			 sio_median_rate(row, SIO_SEQ_READ), sio_median_rate(row, SIO_RAND_WRITE),
			 sio_median_rate(row, SIO_RAND_READ), spec->mib, row->nreps,
			 (unsigned long long)sio_bad(row));
	return fits(n, cap);
}

/* "R" or "null" into a small buffer. */
static void ratio(char out[16], double a, double b)
{
	if (b > 0)
		snprintf(out, 16, "%.3f", a / b);
	else
		snprintf(out, 16, "null");
}

int sio_ratio_line(char *out, size_t cap, const struct sio_row *row, const struct sio_row *base)
{
	char r[SIO_NLOOPS][16];

	for (int l = 0; l < SIO_NLOOPS; l++)
		ratio(r[l], sio_median_rate(row, (enum sio_loop)l),
		      sio_median_rate(base, (enum sio_loop)l));
	int n = snprintf(out, cap,
			 "storeio: ratio row=%s base=%s seq_write=%s seq_read=%s rand_write=%s "
			 "rand_read=%s",
			 row->name, base->name, r[SIO_SEQ_WRITE], r[SIO_SEQ_READ],
			 r[SIO_RAND_WRITE], r[SIO_RAND_READ]);
	return fits(n, cap);
}
