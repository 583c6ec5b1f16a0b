/* tests/bench/bench_logstore.c: logd/store's appends per second with
 * group commit (batches of 1000, one write + one fdatasync each), against
 * plain write() + fdatasync() per entry in the same directory (which
 * grows the file at every sync), against the store syncing every entry
 * (which overwrites the zeros it keeps ahead), and with one sync at the
 * very end; the time to reopen (rebuild the tree from the
 * data file); resident memory per million entries. Entries are 200 bytes.
 *
 *   build/bench/bench_logstore [DIR] [N]     (default build/bench/logstore.tmp, 1000000)
 *
 * The two per-entry fdatasync runs use min(N, 5000) entries (at a few
 * ms each, 10^6 would take most of an hour) and their rates are what is
 * compared. Prints one JSON object. `make bench` runs it as its `log` part
 * (tests/bench/run-bench). */
#include "logd/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ENTRY_LEN 200
#define BATCH     1000
#define PERSYNC   5000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void fill(uint8_t *e, uint64_t i)
{
	memset(e, 'a' + (int)(i % 26), ENTRY_LEN);
	memcpy(e, &i, sizeof i);
}

static void clear(const char *dir)
{
	char p[512];
	snprintf(p, sizeof p, "%s/data", dir);
	unlink(p);
	rmdir(dir);
}

/* Appends n entries, syncing every batch entries (and at the end). */
static double run_store(const char *dir, uint64_t n, uint64_t batch, struct logstore *s)
{
	char err[ERRBUF_LEN];
	uint8_t e[ENTRY_LEN];
	uint64_t idx;

	clear(dir);
	if (logstore_open(s, dir, err) != 0) {
		fprintf(stderr, "bench_logstore: %s\n", err);
		exit(1);
	}
	double t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		fill(e, i);
		if (logstore_append(s, e, sizeof e, &idx) != 0 ||
		    ((i + 1) % batch == 0 && logstore_sync(s) != 0)) {
			fprintf(stderr, "bench_logstore: append %llu: %s\n", (unsigned long long)i,
				logstore_why(s));
			exit(1);
		}
	}
	if (logstore_sync(s) != 0)
		exit(1);
	return now_s() - t0;
}

/* The baseline: one write() and one fdatasync() per entry. */
static double run_persync(const char *dir, uint64_t n)
{
	char p[512];
	uint8_t e[ENTRY_LEN];

	clear(dir);
	mkdir(dir, 0700);
	snprintf(p, sizeof p, "%s/data", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd < 0)
		exit(1);
	double t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		fill(e, i);
		if (write(fd, e, sizeof e) != (ssize_t)sizeof e || fdatasync(fd) != 0)
			exit(1);
	}
	double t = now_s() - t0;
	close(fd);
	return t;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "build/bench/logstore.tmp";
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	uint64_t np = n < PERSYNC ? n : PERSYNC;
	struct logstore s;
	char err[ERRBUF_LEN];
	uint8_t root[MERKLE_HASH_LEN], root2[MERKLE_HASH_LEN];

	long rss0 = rss_kb();
	double t_group = run_store(dir, n, BATCH, &s);
	long rss1 = rss_kb();
	if (logstore_root(&s, n, root) != 0)
		return 1;
	logstore_close(&s);
	double t0 = now_s();
	if (logstore_open(&s, dir, err) != 0 || logstore_committed(&s) != n ||
	    logstore_root(&s, n, root2) != 0 || memcmp(root, root2, sizeof root) != 0) {
		fprintf(stderr, "bench_logstore: reopen: %s\n", err);
		return 1;
	}
	double t_open = now_s() - t0;
	logstore_close(&s);
	double t_persync = run_persync(dir, np);
	double t_store1 = run_store(dir, np, 1, &s);
	logstore_close(&s);
	double t_nosync = run_store(dir, n, n, &s);
	logstore_close(&s);
	clear(dir);

	double group = (double)n / t_group, persync = (double)np / t_persync;
	double store1 = (double)np / t_store1;
	printf("{\"entries\":%llu,\"entry_bytes\":%d,\"batch\":%d,"
	       "\"group_commit_appends_per_s\":%.0f,\"persync_entries\":%llu,"
	       "\"persync_appends_per_s\":%.0f,\"group_vs_persync\":%.1f,"
	       "\"store_persync_appends_per_s\":%.0f,\"store_persync_vs_persync\":%.2f,"
	       "\"one_sync_appends_per_s\":%.0f,\"reopen_s\":%.3f,"
	       "\"rss_kb_per_million\":%.0f}\n",
	       (unsigned long long)n, ENTRY_LEN, BATCH, group, (unsigned long long)np, persync,
	       group / persync, store1, store1 / persync, (double)n / t_nosync, t_open,
	       (double)(rss1 - rss0) * 1e6 / (double)n);
	return 0;
}
