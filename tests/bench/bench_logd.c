/* tests/bench/bench_logd.c: appends per second through the logd core
 * (imsg in, strict decode, find index, group commit, imsg reply) with a
 * checkpoint signed every second, against bare logd/store appends with
 * the same batches (one logstore_sync per batch). Entries are egress
 * entries of about 200 bytes; a round carries BATCH appends, as a busy
 * netd would send them between two of logd's wakeups. The bench plays
 * keyd in the same thread (it signs with a real P-256 key, so the
 * signing cost is counted against logd here; in the VM keyd pays it).
 *
 *   build/bench/bench_logd [DIR] [N] [BATCH]
 *       (defaults build/bench/logd.tmp, 200000, 64; BATCH 1..LOGD_BATCH_MAX:
 *       how many appends a round carries, i.e. how many arrive during one sync)
 *
 * Prints one JSON object; `make bench` runs it in its log part. */
#include "crypto/checkpoint.h"
#include "crypto/log_entry.h"
#include "keyd/logkey.h"
#include "lib/clock.h"
#include "logd/logd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static unsigned BATCH = 64;
#define CHUNK ((uint64_t)BATCH * 32)

static struct logd D;
static struct imsg M;
static struct logstore S;
static struct logkey K;
static char base[256], path[512];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long entry(uint8_t *out, size_t cap, uint64_t i)
{
	static const char *const fns[4] = { "fn-alpha", "fn-beta", "fn-gamma", "fn-delta" };
	static char pathbuf[64];
	struct log_entry e;

	memset(&e, 0, sizeof e);
	snprintf(pathbuf, sizeof pathbuf, "/v1/items/%llu?page=%llu", (unsigned long long)i,
		 (unsigned long long)(i % 97));
	e.type = LOG_EGRESS;
	e.time_ns = 1700000000000000000ull + i;
	e.u.egress.function = (struct log_str){ fns[i % 4], strlen(fns[i % 4]) };
	e.u.egress.invocation = (struct log_str){ "inv-0123456789abcdef", 20 };
	e.u.egress.method = (struct log_str){ "GET", 3 };
	e.u.egress.scheme = (struct log_str){ "https", 5 };
	e.u.egress.host = (struct log_str){ "api.example.com", 15 };
	e.u.egress.port = 443;
	e.u.egress.path = (struct log_str){ pathbuf, strlen(pathbuf) };
	e.u.egress.status = 200;
	e.u.egress.bytes_up = 512;
	e.u.egress.bytes_down = 4096;
	e.u.egress.addr.family = 4;
	e.u.egress.rule = (struct log_str){ "allow api.example.com", 21 };
	e.u.egress.decision = LOG_ALLOW;
	e.u.egress.reason = (struct log_str){ "rule matched", 12 };
	return log_entry_encode(out, cap, &e);
}

/* keyd's part: answer a sign request if there is one. */
static void keyd_answers(int keyd_end, uint64_t *signs)
{
	static struct log_sign_reply_msg r;
	struct log_sign_req_msg q;

	while (imsg_recv(keyd_end, &M) == 0) {
		if (imsg_get(&M, IMSG_LOG_SIGN_REQ, &q, sizeof q) < 0)
			continue;   /* the boot request: left unanswered, no boot entry */
		struct checkpoint c = { .origin = K.pub.name, .origin_len = K.pub.name_len,
					.size = q.size };
		memcpy(c.root, q.root, 32);
		memset(&r, 0, sizeof r);
		r.size = q.size;
		memcpy(r.root, q.root, 32);
		long n = checkpoint_sign(r.note, sizeof r.note - 1, &c, &K.pub, &K.sk);
		r.error = n < 0 ? (int32_t)n : 0;
		r.note_len = n < 0 ? 0 : (uint32_t)n;
		imsg_send(keyd_end, IMSG_LOG_SIGN_REPLY, M.hdr.id, &r, sizeof r, NULL, 0);
		(*signs)++;
	}
}

static int pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv);
}

int main(int argc, char **argv)
{
	static const struct logd_config_msg cfg = { .checkpoint_interval_ms = 1000, .sync = 1 };
	const char *dir = argc > 1 ? argv[1] : "build/bench/logd.tmp";
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 200000, signs = 0, idx;

	if (argc > 3)
		BATCH = (unsigned)strtoul(argv[3], NULL, 10);
	if (BATCH < 1 || BATCH > LOGD_BATCH_MAX) {
		fprintf(stderr, "bench_logd: BATCH must be 1..%d\n", LOGD_BATCH_MAX);
		return 2;
	}
	uint8_t e[512];
	char err[ERRBUF_LEN];
	int netd[2], keyd[2];
	double t0, t_logd, t_bare;
	long len = 0;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return 1;
	snprintf(base, sizeof base, "%s", dir);
	snprintf(path, sizeof path, "%s/log.key", base);
	if (logkey_load_or_create(&K, path, err) < 0) {
		fprintf(stderr, "bench_logd: %s\n", err);
		return 1;
	}
	/* logd */
	snprintf(path, sizeof path, "%s/logd", base);
	if (logd_open(&D, &cfg, path, err) < 0 || pair(netd) != 0 || pair(keyd) != 0) {
		fprintf(stderr, "bench_logd: %s\n", err);
		return 1;
	}
	logd_set_peer(&D, LOGD_CHAN_NETD, netd[0]);
	logd_set_peer(&D, LOGD_CHAN_KEYD, keyd[0]);
	snprintf(path, sizeof path, "%s/bare", base);
	if (logstore_open(&S, path, err) < 0) {
		fprintf(stderr, "bench_logd: %s\n", err);
		return 1;
	}
	/* The disk is shared and its sync time drifts: the two run in turns
	 * of CHUNK entries, so that both see the same disk. */
	t_logd = t_bare = 0;
	for (uint64_t c = 0; c < n; c += CHUNK) {
		uint64_t end = c + CHUNK < n ? c + CHUNK : n;
		t0 = now_s();
		for (uint64_t i = c; i < end;) {
			uint64_t sent = 0;
			for (; sent < BATCH && i < end; sent++, i++) {
				len = entry(e, sizeof e, i);
				if (len < 0 || imsg_send(netd[1], IMSG_LOG_APPEND, (uint32_t)i, e,
							 (size_t)len, NULL, 0) < 0)
					return 1;
			}
			logd_readable(&D, LOGD_CHAN_NETD);
			logd_readable(&D, LOGD_CHAN_KEYD);
			logd_end_round(&D, mono_ms());
			for (uint64_t k = 0; k < sent; k++) {
				struct log_appended_msg a;
				if (imsg_recv(netd[1], &M) < 0 ||
				    imsg_get(&M, IMSG_LOG_APPENDED, &a, sizeof a) < 0 || a.error != 0)
					return 1;
			}
			keyd_answers(keyd[1], &signs);
		}
		t_logd += now_s() - t0;
		t0 = now_s();
		for (uint64_t i = c; i < end;) {
			for (uint64_t sent = 0; sent < BATCH && i < end; sent++, i++) {
				len = entry(e, sizeof e, i);
				if (len < 0 || logstore_append(&S, e, (size_t)len, &idx) < 0)
					return 1;
			}
			if (logstore_sync(&S) < 0)
				return 1;
		}
		t_bare += now_s() - t0;
	}
	uint64_t syncs = D.syncs;
	logd_close(&D);
	logstore_close(&S);

	printf("{\"entries\":%llu,\"entry_bytes\":%ld,\"batch\":%u,\"logd_appends_per_s\":%.0f,"
	       "\"logd_syncs\":%llu,\"checkpoints_signed\":%llu,\"bare_store_appends_per_s\":%.0f,"
	       "\"logd_vs_bare\":%.3f}\n", (unsigned long long)n, len, BATCH, (double)n / t_logd,
	       (unsigned long long)syncs, (unsigned long long)signs, (double)n / t_bare,
	       t_bare / t_logd);
	/* leave nothing behind */
	const char *files[] = { "logd/data", "bare/data", "log.key" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", base, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/logd", base);
	rmdir(path);
	snprintf(path, sizeof path, "%s/bare", base);
	rmdir(path);
	rmdir(base);
	return 0;
}
