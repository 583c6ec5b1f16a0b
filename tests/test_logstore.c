/* tests/test_logstore.c: logd/store against crypto/merkle and
 * crypto/tlog_tiles computed independently from the same entries; reopen,
 * torn tails at every byte of the last record, a crash's unwritten sectors
 * in any order, corruption in the middle, the zeros ahead, and real write
 * failures (RLIMIT_FSIZE: EFBIG from the kernel). */
#include "logd/store.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Past 256^2, so that level-2 tiles exist. */
#define NMAX (65536 + 300)

static uint8_t leaves[NMAX][MERKLE_HASH_LEN];
static uint8_t tilebuf[TLOG_TILE_FULL_LEN];
static uint8_t want_tile[TLOG_TILE_WIDTH][MERKLE_HASH_LEN];
static uint8_t bundle[TLOG_TILE_WIDTH * (2 + 400)], want_bundle[sizeof bundle];
static char base[64];

/* Entry i: its length varies from 0 to 399 bytes. */
static size_t entry(uint64_t i, uint8_t *p)
{
	size_t n = (size_t)(i * 7919 % 400);
	for (size_t j = 0; j < n; j++)
		p[j] = (uint8_t)(i * 31 + j);
	return n;
}

static void ref_root(uint64_t n, uint8_t out[MERKLE_HASH_LEN])
{
	struct merkle_range r;
	merkle_range_init(&r);
	for (uint64_t i = 0; i < n; i++)
		merkle_range_append(&r, leaves[i]);
	merkle_range_root(&r, out);
}

static int append_upto(struct logstore *s, uint64_t n)
{
	uint8_t e[400];
	uint64_t idx;
	while (s->size < n) {
		size_t len = entry(s->size, e);
		if (logstore_append(s, e, len, &idx) < 0 || idx != s->size - 1)
			return -1;
	}
	return logstore_sync(s);
}

static void path(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s%s%s", base, dir, name ? "/" : "", name ? name : "");
}

/* Root, every tile and every bundle of the committed tree. */
static void check_tree(struct logstore *s, const char *what)
{
	uint64_t n = logstore_committed(s), full;
	uint8_t root[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];
	int bad = 0, tiles = 0;

	ref_root(n, want);
	ok(logstore_root(s, n, root) == 0 && memcmp(root, want, sizeof root) == 0,
	   "%s: root of %llu", what, (unsigned long long)n);
	for (int l = 0; l <= tlog_tiles_top_level(n); l++) {
		unsigned pw = tlog_tiles_at_level(n, (unsigned)l, &full);
		for (uint64_t k = 0; k <= full; k++) {
			struct tlog_tile t = { false, (uint8_t)l, k, (uint16_t)(k < full ? 256 : pw) };
			if (t.width == 0)
				break;
			tiles++;
			long got = logstore_tile(s, (unsigned)l, k, t.width, tilebuf, sizeof tilebuf);
			if (tlog_tile_from_leaves(leaves, n, &t, want_tile) != 0 ||
			    got != (long)t.width * 32 || memcmp(tilebuf, want_tile, (size_t)got) != 0)
				bad++;
			if (l != 0)
				continue;
			struct bbuf b;
			uint8_t e[400];
			bbuf_init(&b, want_bundle, sizeof want_bundle);
			for (uint64_t i = k * 256; i < k * 256 + t.width; i++)
				tlog_bundle_append(&b, e, entry(i, e));
			long wl = bbuf_finish(&b);
			got = logstore_bundle(s, k, t.width, bundle, sizeof bundle);
			if (wl < 0 || got != wl || memcmp(bundle, want_bundle, (size_t)wl) != 0)
				bad++;
		}
	}
	ok(bad == 0, "%s: %d tiles and their bundles match tlog_tiles", what, tiles);
}

static void test_round_trips(void)
{
	static const uint64_t sizes[] = { 0, 1, 255, 256, 257, 1000 };
	struct logstore s;
	char err[ERRBUF_LEN], dir[128];
	uint8_t root[MERKLE_HASH_LEN], e[400];
	uint64_t idx;

	path(dir, sizeof dir, "rt", NULL);
	is_int(logstore_open(&s, dir, err), 0, "open creates %s", dir);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char what[32];
		is_int(append_upto(&s, sizes[i]), 0, "append and sync up to %llu",
		       (unsigned long long)sizes[i]);
		snprintf(what, sizeof what, "size %llu", (unsigned long long)sizes[i]);
		check_tree(&s, what);
	}
	/* Buffered is not committed, and nothing past committed is served. */
	logstore_append(&s, e, entry(1000, e), &idx);
	is_int(logstore_committed(&s), 1000, "an append alone commits nothing");
	is_int(logstore_root(&s, 1001, root), -ENOENT, "no root past committed");
	is_int(logstore_tile(&s, 0, 3, 233, tilebuf, sizeof tilebuf), -ENOENT, "no tile past committed");
	is_int(logstore_tile(&s, 0, 3, 232, tilebuf, sizeof tilebuf), 232 * 32, "the committed partial tile");
	is_int(logstore_tile(&s, 0, 0, 0, tilebuf, sizeof tilebuf), -EINVAL, "width 0");
	is_int(logstore_tile(&s, 0, 0, 257, tilebuf, sizeof tilebuf), -EINVAL, "width 257");
	is_int(logstore_tile(&s, 0, 0, 256, tilebuf, 100), -ENOSPC, "small buffer");
	is_int(logstore_bundle(&s, 3, 233, bundle, sizeof bundle), -ENOENT, "no bundle past committed");
	is_int(logstore_bundle(&s, 0, 256, bundle, 10), -ENOSPC, "bundle: small buffer");
	is_int(logstore_tile(&s, 1, 0, 3, tilebuf, sizeof tilebuf), 96, "level-1 tile of width 3");
	is_int(logstore_tile(&s, 1, 0, 4, tilebuf, sizeof tilebuf), -ENOENT, "level-1 width 4 does not exist");
	/* Closed without a sync: entry 1000 was never acknowledged. */
	logstore_close(&s);

	is_int(logstore_open(&s, dir, err), 0, "reopen");
	is_str(err, "", "a clean reopen reports nothing");
	is_int(logstore_committed(&s), 1000, "reopened with 1000 entries");
	check_tree(&s, "reopened");
	{
		static uint8_t big[TLOG_ENTRY_MAX + 1];
		is_int(logstore_append(&s, big, sizeof big, &idx), -EMSGSIZE, "65536 bytes: -EMSGSIZE");
		is_int(logstore_append(&s, big, TLOG_ENTRY_MAX, &idx), 0, "65535 bytes: appended");
		is_int(idx, 1000, "as index 1000");
		is_int(logstore_sync(&s), 0, "synced");
		is_int(logstore_sync(&s), 0, "an empty sync is fine");
	}
	struct logstore s2;
	ok(logstore_open(&s2, dir, err) == -EWOULDBLOCK && strstr(err, "another store"),
	   "a second open of the same store is refused: %s", err);
	logstore_close(&s);
	is_int(logstore_open(&s, dir, err), 0, "reopen with the 65535-byte entry");
	is_int(logstore_committed(&s), 1001, "1001 entries");
	logstore_close(&s);
}

/* A tree with level-2 tiles, and proofs through logstore_node. */
static void test_big(void)
{
	static uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	static const uint64_t olds[] = { 1, 255, 256, 1000, 65535, 65536, 65537 };
	struct logstore s;
	char err[ERRBUF_LEN], dir[128];
	uint8_t root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN];
	int bad = 0;

	path(dir, sizeof dir, "big", NULL);
	if (!ok(logstore_open(&s, dir, err) == 0 && append_upto(&s, NMAX) == 0, "big: %d entries", NMAX))
		return;
	check_tree(&s, "big");
	ok(logstore_tile(&s, 2, 0, 1, tilebuf, sizeof tilebuf) == 32, "big: the level-2 tile of width 1");
	ref_root(NMAX, root);
	for (uint64_t i = 0; i < NMAX; i += 997) {
		int n = merkle_inclusion_proof(i, NMAX, logstore_node, &s, proof);
		if (n < 0 || !merkle_verify_inclusion(i, NMAX, leaves[i], (const uint8_t (*)[32])proof,
						      (size_t)n, root))
			bad++;
	}
	ok(bad == 0, "big: inclusion proofs from the store verify");
	bad = 0;
	for (size_t i = 0; i < sizeof olds / sizeof olds[0]; i++) {
		ref_root(olds[i], old_root);
		int n = merkle_consistency_proof(olds[i], NMAX, logstore_node, &s, proof);
		if (n < 0 || !merkle_verify_consistency(olds[i], NMAX, old_root, root,
							(const uint8_t (*)[32])proof, (size_t)n))
			bad++;
	}
	ok(bad == 0, "big: consistency proofs from the store verify");
	ref_root(65536, old_root);
	ok(logstore_node(&s, 16, 0, root) == 0 && memcmp(root, old_root, sizeof root) == 0,
	   "big: node (16, 0) is the root of the first 65536");
	is_int(logstore_node(&s, 0, NMAX, root), -ENOENT, "big: no leaf node past committed");
	is_int(logstore_node(&s, 17, 0, root), -ENOENT, "big: no incomplete subtree node");
	is_int(logstore_node(&s, 8, 257, root), -ENOENT, "big: node (8, 257) is not complete");
	logstore_close(&s);
	is_int(logstore_open(&s, dir, err), 0, "big: reopen");
	check_tree(&s, "big: reopened");
	logstore_close(&s);
}

static long read_all(const char *p, uint8_t **out)
{
	struct stat st;
	int fd = open(p, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	if (!(*out = malloc((size_t)st.st_size))) {
		close(fd);
		return -1;
	}
	long n = read(fd, *out, (size_t)st.st_size);
	close(fd);
	return n;
}

static int write_file(const char *p, const uint8_t *d, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	long w = write(fd, d, n);
	close(fd);
	return w == (long)n ? 0 : -1;
}

/* Opens a store whose data file is d[0..n) and returns open's result;
 * *committed and root (of the committed size) are filled on success. */
static int open_copy(const uint8_t *d, size_t n, uint64_t *committed, int *root_ok,
		     uint64_t *torn, char err[ERRBUF_LEN])
{
	struct logstore s;
	char dir[128], file[160];
	uint8_t root[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];

	path(dir, sizeof dir, "copy", NULL);
	path(file, sizeof file, "copy", "data");
	mkdir(dir, 0700);
	if (write_file(file, d, n) < 0)
		return -999;
	int r = logstore_open(&s, dir, err);
	if (r < 0)
		return r;
	*committed = logstore_committed(&s);
	*torn = s.torn_bytes;
	ref_root(*committed, want);
	*root_ok = logstore_root(&s, *committed, root) == 0 && memcmp(root, want, sizeof root) == 0;
	/* What a torn tail left behind must take appends again. */
	*root_ok = *root_ok && append_upto(&s, *committed + 2) == 0;
	logstore_close(&s);
	return r;
}

/* A store in base/name with n entries, synced once at first (when not 0)
 * and once at n: its record offsets into off[0..n], its data file into
 * *d (freed by the caller), the last sync's fdatasyncs into *syncs.
 * Returns the file's length, or -1 after a failed check saying why. */
static long make_store(const char *name, uint64_t first, uint64_t n, uint64_t *off, uint8_t **d,
		       uint64_t *syncs)
{
	struct logstore s;
	char err[ERRBUF_LEN], dir[128], file[160];

	path(dir, sizeof dir, name, NULL);
	path(file, sizeof file, name, "data");
	if (logstore_open(&s, dir, err) != 0 || (first && append_upto(&s, first) != 0)) {
		ok(0, "%s: setup: %s", name, err);
		return -1;
	}
	uint64_t before = s.syncs;
	if (append_upto(&s, n) != 0) {
		ok(0, "%s: setup: %s", name, logstore_why(&s));
		logstore_close(&s);
		return -1;
	}
	*syncs = s.syncs - before;
	memcpy(off, s.off, (n + 1) * sizeof *off);
	logstore_close(&s);
	long len = read_all(file, d);
	if (len <= 0)
		ok(0, "%s: read %s", name, file);
	return len;
}

static void test_crash(void)
{
	char err[ERRBUF_LEN];
	uint64_t off[21], committed, torn, syncs;
	uint8_t *d = NULL;
	int root_ok, bad = 0;

	long n = make_store("crash", 0, 20, off, &d, &syncs);
	if (n < 0)
		return;
	if (!ok(n > 0 && d && (uint64_t)n % LOGSTORE_PREALLOC == 0 &&
		(uint64_t)n - off[20] >= LOGSTORE_PREALLOC,
		"crash: data file of %ld bytes: %llu of records, then zeros ahead", n,
		(unsigned long long)off[20]))
		return;

	for (uint64_t cut = off[19]; cut < off[20]; cut++) {
		/* A cut into the length's high bytes, which are zero, leaves zeros. */
		uint64_t left = cut - off[19];
		for (uint64_t i = off[19]; i < cut && !d[i]; i++)
			left--;
		int r = open_copy(d, (size_t)cut, &committed, &root_ok, &torn, err);
		if (r != 0 || committed != 19 || !root_ok || torn != (left ? cut - off[19] : 0) ||
		    (left && !strstr(err, "torn tail"))) {
			bad++;
			diag("cut at %llu: r %d committed %llu torn %llu: %s", (unsigned long long)cut, r,
			     (unsigned long long)committed, (unsigned long long)torn, err);
		}
	}
	ok(bad == 0, "crash: every cut inside the last record (%llu bytes) keeps 19 entries, right root",
	   (unsigned long long)(off[20] - off[19]));
	static const int mid[] = { 3, 7, 12 };
	for (size_t i = 0; i < 3; i++) {
		uint64_t cut = off[mid[i]] + 5;
		int r = open_copy(d, (size_t)cut, &committed, &root_ok, &torn, err);
		ok(r == 0 && committed == (uint64_t)mid[i] && root_ok && torn == 5,
		   "crash: cut at %llu keeps %d entries: %s", (unsigned long long)cut, mid[i], err);
	}
	int r = open_copy(d, 3, &committed, &root_ok, &torn, err);
	ok(r == 0 && committed == 0 && root_ok, "crash: a magic cut short is a new store");

	/* Zeros after the last record are the zeros ahead (or a size that
	 * reached the disk before its data): kept, and nothing to say. */
	r = open_copy(d, (size_t)n, &committed, &root_ok, &torn, err);
	ok(r == 0 && committed == 20 && torn == 0 && root_ok && !err[0],
	   "crash: the zeros ahead are kept, nothing said: %s", err);
	r = open_copy(d, (size_t)off[20] + 300, &committed, &root_ok, &torn, err);
	ok(r == 0 && committed == 20 && torn == 0 && root_ok && !err[0],
	   "crash: 300 zeros after the records are no torn tail: %s", err);

	/* Damage before the tail is corruption, named by record and offset. */
	struct { int rec; uint64_t at; const char *what; } flips[] = {
		{ 7, off[7] + 4 + 1, "an entry byte" },
		{ 12, off[13] - 1, "a check byte" },
		{ 3, off[3], "a length byte" },
		{ 19, off[19] + 6, "an entry byte of the last, whole record" },
	};
	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		char want[96];
		d[flips[i].at] ^= 0x40;
		r = open_copy(d, (size_t)n, &committed, &root_ok, &torn, err);
		d[flips[i].at] ^= 0x40;
		snprintf(want, sizeof want, "record %d at offset %llu", flips[i].rec,
			 (unsigned long long)off[flips[i].rec]);
		ok(r == -EBADMSG && strstr(err, want), "corrupt: %s: %s", flips[i].what, err);
	}
	memcpy(d, "XXXX", 4);
	r = open_copy(d, (size_t)n, &committed, &root_ok, &torn, err);
	ok(r == -EBADMSG && strstr(err, "magic"), "corrupt: bad magic: %s", err);
	free(d);
}

static void test_io_error(void)
{
	struct logstore s;
	struct rlimit old, lim;
	char err[ERRBUF_LEN], dir[128];
	uint8_t e[400];
	uint64_t idx;

	path(dir, sizeof dir, "ioerr", NULL);
	if (logstore_open(&s, dir, err) != 0 || append_upto(&s, 10) != 0) {
		ok(0, "ioerr: setup: %s", err);
		return;
	}
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = s.data_len + 1000;
	ok(setrlimit(RLIMIT_FSIZE, &lim) == 0, "ioerr: RLIMIT_FSIZE at %llu bytes",
	   (unsigned long long)lim.rlim_cur);
	int r = 0;
	for (int i = 0; i < 50 && r == 0; i++)
		r = logstore_append(&s, e, entry(s.size, e), &idx);
	is_int(r, 0, "ioerr: 50 appends buffered");
	is_int(logstore_sync(&s), -EFBIG, "ioerr: the sync fails with the kernel's EFBIG");
	setrlimit(RLIMIT_FSIZE, &old);
	is_int(logstore_committed(&s), 10, "ioerr: nothing more committed");
	is_int(logstore_append(&s, e, 1, &idx), -EFBIG, "ioerr: the store refuses appends");
	is_int(logstore_sync(&s), -EFBIG, "ioerr: and syncs");
	ok(strstr(logstore_why(&s), "writing the data file") != NULL, "ioerr: why: %s", logstore_why(&s));
	logstore_close(&s);
	is_int(logstore_open(&s, dir, err), 0, "ioerr: reopen: %s", err);
	ok(s.torn_bytes > 0 && logstore_committed(&s) >= 10,
	   "ioerr: the partial write is dropped as a torn tail, %llu entries kept",
	   (unsigned long long)logstore_committed(&s));
	check_tree(&s, "ioerr: reopened");
	is_int(append_upto(&s, 70), 0, "ioerr: appends work again after the reopen");
	check_tree(&s, "ioerr: 70 entries");
	logstore_close(&s);
}

/* The record that holds byte at: off[k] <= at < off[k + 1]. */
static unsigned record_at(const uint64_t *off, unsigned n, uint64_t at)
{
	unsigned k = 0;
	while (k + 1 < n && off[k + 1] <= at)
		k++;
	return k;
}

/* A crash in the middle of a sync that overwrites the zeros ahead: the
 * window's sectors land in any order, so a written one may follow one
 * that never landed. */
static void test_torn_window(void)
{
	char err[ERRBUF_LEN], want[96];
	uint64_t off[81], committed, torn, syncs;
	uint8_t *d = NULL;
	int root_ok;

	long n = make_store("window", 20, 80, off, &d, &syncs);
	if (n < 0 || !ok((uint64_t)n > off[80] + LOGSTORE_WINDOW, "window: %ld bytes, 80 entries in two syncs", n))
		return;

	/* One sector of the second sync's window never landed; the ones after it did. */
	uint64_t sec = (off[40] / LOGSTORE_SECTOR + 1) * LOGSTORE_SECTOR;
	unsigned k = record_at(off, 81, sec);
	uint8_t *z = malloc((size_t)n);
	memcpy(z, d, (size_t)n);
	memset(z + sec, 0, LOGSTORE_SECTOR);
	int r = open_copy(z, (size_t)n, &committed, &root_ok, &torn, err);
	ok(r == 0 && committed == k && root_ok && torn == (uint64_t)n - off[k] && strstr(err, "torn tail"),
	   "window: a sector at %llu never written, later ones written: torn at record %u: %s",
	   (unsigned long long)sec, k, err);

	/* The same, and a byte written past the reach of any window from it:
	 * that was written by a later sync, so the record was acknowledged. */
	z[off[k] + LOGSTORE_WINDOW + 10] = 1;
	r = open_copy(z, (size_t)n, &committed, &root_ok, &torn, err);
	snprintf(want, sizeof want, "record %u at offset %llu", k, (unsigned long long)off[k]);
	ok(r == -EBADMSG && strstr(err, want), "window: data written past the window's reach: corrupt: %s", err);

	/* A short write (the disk full, a size limit): a record's prefix, then
	 * nothing. */
	memcpy(z, d, (size_t)n);
	memset(z + off[50] + 37, 0, (size_t)n - off[50] - 37);
	r = open_copy(z, (size_t)n, &committed, &root_ok, &torn, err);
	ok(r == 0 && committed == 50 && root_ok && torn == (uint64_t)n - off[50] && strstr(err, "torn tail"),
	   "window: a write cut 37 bytes into record 50: torn there: %s", err);

	/* Garbage (not zeros) in the last record, zeros ahead after it. */
	memcpy(z, d, (size_t)n);
	for (uint64_t i = off[79] + 4; i < off[80]; i++)
		z[i] = (uint8_t)(i * 37 + 1) | 1;
	r = open_copy(z, (size_t)n, &committed, &root_ok, &torn, err);
	snprintf(want, sizeof want, "record 79 at offset %llu", (unsigned long long)off[79]);
	ok(r == -EBADMSG && strstr(err, want), "window: garbage in the last record is corruption: %s", err);
	free(z);
	free(d);
}

/* A sector of zeros deep in a log longer than a window: the writes after
 * it show it was acknowledged; and one sync larger than a window. */
static void test_deep_damage(void)
{
	static uint64_t off[7001];
	struct logstore s;
	char err[ERRBUF_LEN], dir[128], want[96];
	uint64_t committed, torn, syncs;
	uint8_t *d = NULL;
	int root_ok;

	long n = make_store("deep", 0, 7000, off, &d, &syncs);
	if (n < 0)
		return;
	ok(off[7000] > LOGSTORE_WINDOW + 4096 && syncs == 2,
	   "deep: one sync of %llu bytes, more than a window: %llu fdatasyncs",
	   (unsigned long long)off[7000], (unsigned long long)syncs);
	path(dir, sizeof dir, "deep", NULL);
	is_int(logstore_open(&s, dir, err), 0, "deep: reopen: %s", err);
	is_str(err, "", "deep: a clean reopen reports nothing");
	check_tree(&s, "deep");
	logstore_close(&s);
	uint64_t sec = (off[100] / LOGSTORE_SECTOR + 1) * LOGSTORE_SECTOR;
	unsigned k = record_at(off, 7001, sec);
	memset(d + sec, 0, LOGSTORE_SECTOR);
	int r = open_copy(d, (size_t)n, &committed, &root_ok, &torn, err);
	snprintf(want, sizeof want, "record %u at offset %llu", k, (unsigned long long)off[k]);
	ok(r == -EBADMSG && strstr(err, want), "deep: a zeroed sector %llu bytes before the end is corruption: %s",
	   (unsigned long long)(off[7000] - sec), err);
	free(d);
}

/* The disk refuses the zeros ahead (here a size limit just past the
 * records): the sync still succeeds, the store stops keeping zeros, and
 * appends go on. */
static void test_zeros_refused(void)
{
	struct logstore s;
	struct rlimit old, lim;
	char err[ERRBUF_LEN], dir[128];

	path(dir, sizeof dir, "refused", NULL);
	if (logstore_open(&s, dir, err) != 0) {
		ok(0, "refused: setup: %s", err);
		return;
	}
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 20000;
	ok(setrlimit(RLIMIT_FSIZE, &lim) == 0, "refused: RLIMIT_FSIZE at 20000 bytes");
	is_int(append_upto(&s, 20), 0, "refused: 20 entries synced");
	ok(s.prealloc_refused && s.file_len == s.data_len, "refused: the zeros ahead were refused (file %llu, records %llu)",
	   (unsigned long long)s.file_len, (unsigned long long)s.data_len);
	is_int(append_upto(&s, 40), 0, "refused: 20 more synced");
	setrlimit(RLIMIT_FSIZE, &old);
	is_int(append_upto(&s, 200), 0, "refused: past the old limit");
	ok(s.file_len == s.data_len, "refused: no zeros kept until a reopen");
	logstore_close(&s);
	is_int(logstore_open(&s, dir, err), 0, "refused: reopen");
	ok(!err[0] && s.torn_bytes == 0 && logstore_committed(&s) == 200,
	   "refused: 200 entries, nothing torn: %s", err);
	check_tree(&s, "refused");
	is_int(append_upto(&s, 210), 0, "refused: after the reopen");
	ok(!s.prealloc_refused && s.file_len >= s.data_len + LOGSTORE_PREALLOC,
	   "refused: the reopened store keeps zeros ahead again");
	logstore_close(&s);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	uint8_t e[400];

	snprintf(base, sizeof base, "%s/test_logstore.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	for (uint64_t i = 0; i < NMAX; i++)
		merkle_leaf_hash(leaves[i], e, entry(i, e));
	test_round_trips();
	test_big();
	test_crash();
	test_io_error();
	test_torn_window();
	test_deep_damage();
	test_zeros_refused();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		diag("could not remove %s", base);
	return tap_done();
}
