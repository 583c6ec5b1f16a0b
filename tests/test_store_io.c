/* tests/test_store_io.c: the store throughput bench's loops and lines
 * (tests/bench/store_io.h): its command line words, the loops on a file
 * (counts, stamps verified, a changed block caught), medians and the
 * console lines run-bench parses. No assertion on time. */
#include "tests/bench/store_io.h"
#include "lib/errbuf.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Alignas(4096) unsigned char buf[SIO_SEQ_BLOCK];

static int parse(const char *s, struct sio_spec *sp, char *err)
{
	sio_defaults(sp);
	return sio_parse_cmdline(s, strlen(s), sp, err, ERRBUF_LEN);
}

static void test_cmdline(void)
{
	struct sio_spec s;
	char err[ERRBUF_LEN];

	is_int(parse("console=ttyS0 panic=-1\n", &s, err), 0, "kernel words are ignored");
	ok(s.mib == 64 && s.reps == 3 && s.rand_ops == 4096 && s.rand_ms == 5000 && s.seed == 1,
	   "defaults kept");
	is_int(parse("console=ttyS0 storeio.mib=8 storeio.reps=1 storeio.rand_ops=100 "
		     "storeio.rand_ms=20 storeio.seed=18446744073709551615\n", &s, err),
	       0, "every setting");
	ok(s.mib == 8 && s.reps == 1 && s.rand_ops == 100 && s.rand_ms == 20 &&
	   s.seed == UINT64_MAX, "values read");
	is_int(parse("storeio.mib=0", &s, err), -EINVAL, "mib 0 refused");
	ok(strstr(err, "storeio.mib=0") != NULL, "the reason names the word: %s", err);
	is_int(parse("storeio.mib=4097", &s, err), -EINVAL, "mib over the cap refused");
	is_int(parse("storeio.reps=10", &s, err), -EINVAL, "reps over SIO_MAX_REPS refused");
	is_int(parse("storeio.mib=08", &s, err), -EINVAL, "leading zero refused");
	is_int(parse("storeio.mib=-1", &s, err), -EINVAL, "sign refused");
	is_int(parse("storeio.mib=", &s, err), -EINVAL, "empty value refused");
	is_int(parse("storeio.seed=18446744073709551616", &s, err), -EINVAL, "overflow refused");
	is_int(parse("storeio.mibs=8", &s, err), -EINVAL, "unknown storeio word refused");
	ok(strstr(err, "unknown") != NULL, "and said so: %s", err);
	is_int(parse("storeio.mib", &s, err), -EINVAL, "a storeio word without a value refused");
	is_int(parse("xstoreio.mib=0 storeio_mib=0", &s, err), 0, "other prefixes are not ours");
	{
		const char cl[] = "storeio.mib=2\0storeio.mib=0";
		sio_defaults(&s);
		is_int(sio_parse_cmdline(cl, sizeof cl - 1, &s, err, sizeof err), 0,
		       "a NUL ends the line");
		is_int(s.mib, 2, "words before the NUL read");
	}
}

static void test_loops(const char *dir)
{
	char path[512], err[ERRBUF_LEN];
	struct sio_spec s;
	struct sio_run r;

	snprintf(path, sizeof path, "%s/io", dir);
	sio_defaults(&s);
	s.mib = 4;
	s.rand_ops = 200;
	s.rand_ms = 600000; /* the ops cap ends the loop, never the clock here */
	s.seed = 7;
	/* O_DIRECT where the file system has it (the bench opens with it),
	 * plain I/O otherwise: the loops are the same */
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (fd < 0)
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!ok(fd >= 0, "open %s", path))
		return;
	const off_t base = 8192;

	is_int(sio_loop(fd, base, &s, SIO_SEQ_WRITE, buf, &r, err, sizeof err), 0,
	       "seq write: %s", err);
	ok(r.ops == 4 && r.bytes == 4u << 20 && r.bad == 0, "seq write: 4 x 1 MiB");
	is_int(lseek(fd, 0, SEEK_END), base + (4 << 20), "the region starts at base");
	is_int(sio_loop(fd, base, &s, SIO_SEQ_READ, buf, &r, err, sizeof err), 0, "seq read");
	ok(r.ops == 4 && r.bad == 0, "seq read: every stamp verified (bad %llu)",
	   (unsigned long long)r.bad);
	is_int(sio_loop(fd, base, &s, SIO_RAND_WRITE, buf, &r, err, sizeof err), 0,
	       "rand write");
	ok(r.ops == 200 && r.bytes == 200u * 4096, "rand write: the ops cap");
	is_int(sio_loop(fd, base, &s, SIO_RAND_READ, buf, &r, err, sizeof err), 0, "rand read");
	ok(r.ops == 200 && r.bad == 0, "rand read: stamps verified");

	/* bytes that are not what was written: one 4 KiB block overwritten
	 * through a second, plain descriptor */
	int fd2 = open(path, O_RDWR);
	unsigned char junk[4096];
	memset(junk, 0xa5, sizeof junk);
	ok(fd2 >= 0 && pwrite(fd2, junk, sizeof junk, base + 3 * 4096) == (ssize_t)sizeof junk &&
	   fsync(fd2) == 0, "one block changed behind the loops");
	if (fd2 >= 0)
		close(fd2);
	is_int(sio_loop(fd, base, &s, SIO_SEQ_READ, buf, &r, err, sizeof err), 0, "seq read again");
	is_int(r.bad, 1, "the changed block is counted as bad");

	/* a different seed: every stamp is someone else's */
	s.seed = 8;
	is_int(sio_loop(fd, base, &s, SIO_SEQ_READ, buf, &r, err, sizeof err), 0,
	       "seq read, other seed");
	is_int(r.bad, 4 * 256, "every block bad");

	/* a region past the file's end: a short read is an error */
	s.mib = 8;
	is_int(sio_loop(fd, base, &s, SIO_SEQ_READ, buf, &r, err, sizeof err), -EIO,
	       "short read refused");
	ok(strstr(err, "short read") != NULL, "reason: %s", err);
	s.seed = 0;
	is_int(sio_loop(fd, base, &s, SIO_SEQ_READ, buf, &r, err, sizeof err), -EINVAL,
	       "seed 0 refused");
	close(fd);
	unlink(path);

	/* a descriptor that cannot write */
	sio_defaults(&s);
	s.mib = 1;
	fd = open("/dev/null", O_RDONLY);
	is_int(sio_loop(fd, 0, &s, SIO_SEQ_WRITE, buf, &r, err, sizeof err), -EBADF,
	       "write error passed up");
	close(fd);
}

static void test_lines(void)
{
	static struct sio_row raw = { .name = "raw", .base = -1, .nreps = 3 };
	static struct sio_row cr = { .name = "crypt", .base = 0, .nreps = 3 };
	struct sio_spec s;
	char line[SIO_LINE_MAX];
	/* seq: 64 MiB in 1, 2, 4 s -> 64, 32, 16 MiB/s, median 32 (unordered) */
	const uint64_t raw_us[3] = { 2000000, 1000000, 4000000 };

	sio_defaults(&s);
	for (int i = 0; i < 3; i++) {
		for (int l = 0; l < SIO_NLOOPS; l++) {
			int sq = l == SIO_SEQ_WRITE || l == SIO_SEQ_READ;
			raw.run[i][l] = (struct sio_run){ .ops = sq ? 64 : 1000,
							  .bytes = sq ? 64u << 20 : 1000u * 4096,
							  .us = raw_us[i] };
			cr.run[i][l] = raw.run[i][l];
			cr.run[i][l].us = raw_us[i] * 2;
		}
	}
	cr.run[1][SIO_RAND_READ].bad = 2;
	ok(sio_median_rate(&raw, SIO_SEQ_WRITE) == 32.0, "median MiB/s of three");
	ok(sio_median_rate(&raw, SIO_RAND_READ) == 500.0, "median ops/s of three");
	raw.nreps = 2;
	ok(sio_median_rate(&raw, SIO_SEQ_READ) == 48.0, "median of two: their mean");
	raw.nreps = 3;
	is_int(sio_bad(&cr), 2, "bad summed over loops and repetitions");
	ok(sio_row_line(line, sizeof line, &raw, &s) > 0, "row line");
	is_str(line, "storeio: row=raw seq_write_mibs=32.0 seq_read_mibs=32.0 "
		     "rand_write_iops=500 rand_read_iops=500 mib=64 reps=3 bad=0", "row line text");
	ok(sio_ratio_line(line, sizeof line, &cr, &raw) > 0, "ratio line");
	is_str(line, "storeio: ratio row=crypt base=raw seq_write=0.500 seq_read=0.500 "
		     "rand_write=0.500 rand_read=0.500", "ratio line text");
	struct sio_row none = { .name = "none", .base = -1, .nreps = 0 };
	ok(sio_ratio_line(line, sizeof line, &cr, &none) > 0 &&
	   strstr(line, "seq_write=null") != NULL, "a base with no figures: null");
	is_int(sio_row_line(line, 20, &raw, &s), -ENOSPC, "a line that does not fit");
}

static void test_crypto_driver(void)
{
	/* /proc/crypto's shape: blocks of "key : value" lines */
	static const char t[] =
		"name         : xts(aes)\n"
		"driver       : xts(ecb(aes-generic))\n"
		"module       : kernel\n"
		"priority     : 100\n"
		"\n"
		"name         : aes\n"
		"driver       : aes-aesni\n"
		"priority     : 300\n"
		"\n"
		"name         : xts(aes)\n"
		"driver       : xts-aes-aesni\n"
		"priority     : 401\n"
		"\n"
		"name         : xts(aes)\n"
		"driver       : xts-aes-slow\n"
		"priority     : 200";
	char out[64];

	is_int(sio_crypto_driver(t, sizeof t - 1, "xts(aes)", out, sizeof out), 13,
	       "xts(aes): the highest priority");
	is_str(out, "xts-aes-aesni", "its driver");
	is_int(sio_crypto_driver(t, sizeof t - 1, "aes", out, sizeof out), 9, "aes");
	is_str(out, "aes-aesni", "aes's driver");
	is_int(sio_crypto_driver(t, sizeof t - 1, "xts", out, sizeof out), -ENOENT,
	       "a name's prefix is not the name");
	is_int(sio_crypto_driver(t, 120, "xts(aes)", out, sizeof out), 21,
	       "the first block alone (text cut by len)");
	is_str(out, "xts(ecb(aes-generic))", "its driver");
	is_int(sio_crypto_driver(t, sizeof t - 1, "xts(aes)", out, 13), -ENOSPC,
	       "a driver name that does not fit");
	is_int(sio_crypto_driver("", 0, "aes", out, sizeof out), -ENOENT, "empty text");
}

int main(void)
{
	char dir[] = "/tmp/test_store_io.XXXXXX";

	test_cmdline();
	if (ok(mkdtemp(dir) != NULL, "temporary directory")) {
		test_loops(dir);
		rmdir(dir);
	}
	test_lines();
	test_crypto_driver();
	return tap_done();
}
