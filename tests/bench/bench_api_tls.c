/* tests/bench/bench_api_tls.c: what delegating the API's handshake
 * signature to keyd costs (docs/TLS.md, "The attested API"). In one run,
 * in alternating rounds, N in-memory TLS 1.2 handshakes of a BearSSL
 * client (our engine, the certificate as its anchor) with
 *
 *   keyd    netd's TLS layer (net/http_tls: the engine copied aside, the
 *           parameters sent to keyd, the replay) and keyd's own code
 *           (keyd_serve_netd: the checks, SHA-256 over the rebuilt
 *           parameters, the signature) in a child process, over a
 *           SEQPACKET socketpair as in the VM;
 *   inproc  the same server engine (tls_server_init_ident) signing in
 *           process with the same key and implementation;
 *
 * both ends counted, as a client and netd share this machine. keyd's
 * rate limit (KEYD_TLS_BURST, one per KEYD_TLS_REFILL_MS) is lifted in
 * the child: this measures the cost, not the cap. Prints one JSON object:
 *   {"handshakes":N,"keyd_per_s":…,"inproc_per_s":…,"ratio_keyd_over_inproc":…,
 *    "keyd_us":…,"inproc_us":…}
 * Usage: bench_api_tls [N] */
#include "keyd/keyd.h"
#include "lib/clock.h"
#include "net/http_tls.h"
#include "tls/anchors.h"
#include "tls/engine.h"

#include "samples.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 10

static struct keyd K;              /* the child's keyd state */
static struct http_tls T;
static struct apikey key;
static struct tls_conn cli, srv;
static int netd_end = -1;
static struct tls_sign_reply_msg answer;   /* keyd's, delivered after the feed that asked */
static bool answered;

/* netd's ask hook, made synchronous for the bench: the request and
 * keyd's answer (a round trip to the child), delivered to the slot by
 * pump() once the feed that asked has returned, as netd's loop does. */
static int ask(void *ctx, uint32_t conn_id, const struct tls_sign_req_msg *q)
{
	static struct imsg m;

	(void)ctx;
	if (imsg_send(netd_end, IMSG_TLS_SIGN_REQ, conn_id, q, sizeof *q, NULL, 0) < 0 ||
	    imsg_recv(netd_end, &m) < 0 || imsg_get(&m, IMSG_TLS_SIGN_REPLY, &answer, sizeof answer) < 0)
		return -EIO;
	answered = true;
	return 0;
}

static size_t sign_inproc(void *ctx, struct tls_conn *c, const struct tls_ske *q, uint8_t *sig,
			  size_t cap)
{
	long n;

	(void)ctx;
	(void)c;
	if (cap < TLS_SIG_MAX)
		return 0;
	n = apikey_sign(&key, q, sig);
	return n > 0 ? (size_t)n : 0;
}

/* Moves bytes until nothing moves; the server is http_tls slot 0 (keyd)
 * or srv (in process). */
static void pump(bool via_keyd)
{
	struct tls_conn *s = via_keyd ? &T.conns[0] : &srv;

	for (int moved = 1; moved;) {
		size_t n;
		const uint8_t *p;
		long k;

		moved = 0;
		p = tls_out(&cli, &n);
		if (n) {
			k = via_keyd ? http_tls_feed(&T, 0, 1, p, n) : tls_feed(s, p, n);
			if (k > 0) {
				tls_out_done(&cli, (size_t)k);
				moved = 1;
			} else if (via_keyd && answered) {
				answered = false;
				http_tls_signed(&T, 0, &answer);
				moved = 1;
			}
		}
		p = tls_out(s, &n);
		k = n ? tls_feed(&cli, p, n) : 0;
		if (k > 0) {
			tls_out_done(s, (size_t)k);
			moved = 1;
		}
	}
}

static void keyd_child(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	K.netd_fd = fd;
	K.apikey = key;
	K.have_apikey = true;
	tbucket_init(&K.tls_rate, 1u << 30, 1, mono_ms());
	while (poll(&p, 1, -1) >= 0)
		if (keyd_serve_netd(&K) == -EPIPE)
			_exit(0);
	_exit(1);
}

int main(int argc, char **argv)
{
	static uint8_t afile[ANCHORS_HEADER_LEN + ANCHORS_RECORD_MAX];
	static br_x509_trust_anchor ta[1];
	static const char name[] = APIKEY_NAME;
	char dir[] = "/tmp/bench_api_tls.XXXXXX", path[64], err[ERRBUF_LEN];
	br_hmac_drbg_context rng;
	struct tls_ident_cfg icfg;
	struct tls_cert_msg cm;
	struct anchors a;
	int n = argc > 1 ? atoi(argv[1]) : 300, sv[2];
	uint64_t t0, t_keyd = 0, t_in = 0;
	pid_t pid;
	long r;

	if (n <= 0 || !mkdtemp(dir))
		return 2;
	snprintf(path, sizeof path, "%s/api.key", dir);
	r = apikey_load_or_create(&key, path, err);
	unlink(path);
	rmdir(dir);
	if (r < 0 || cert_drbg_seed(&rng) < 0) {
		fprintf(stderr, "bench_api_tls: %s\n", err);
		return 2;
	}
	r = anchors_record(afile + ANCHORS_HEADER_LEN, sizeof afile - ANCHORS_HEADER_LEN, key.der,
			   key.der_len, 0, NULL, 0);
	anchors_header(afile, sizeof afile, 1);
	anchors_init(&a, ta, 1);
	if (r < 0 || anchors_parse(&a, afile, ANCHORS_HEADER_LEN + (size_t)r, 0, NULL, 0) != 1)
		return 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		keyd_child(sv[1]);
	}
	close(sv[1]);
	netd_end = sv[0];
	if (http_tls_init(&T, ask, NULL) < 0)
		return 1;
	memset(&cm, 0, sizeof cm);
	cm.der_len = (uint32_t)key.der_len;
	memcpy(cm.der, key.der, key.der_len);
	memcpy(cm.spki_sha256, key.spki_sha256, 32);
	if (http_tls_set_cert(&T, &cm) < 0)
		return 1;
	icfg = (struct tls_ident_cfg){ key.der, key.der_len, sign_inproc, NULL, &rng };

	for (int k = 0, i = 0, j = 0; k < ROUNDS; k++) {
		int end = (int)((long long)n * (k + 1) / ROUNDS);
		t0 = now_ns();
		for (; i < end; i++) {
			if (http_tls_open(&T, 0, 0) < 0 ||
			    tls_client_init(&cli, &a, name, sizeof name - 1, APIKEY_NOT_BEFORE + 86400, &rng))
				return 1;
			pump(true);
			if (tls_status(&cli) != TLS_OPEN || tls_status(&T.conns[0]) != TLS_OPEN) {
				fprintf(stderr, "bench_api_tls: handshake %d through keyd failed\n", i);
				return 1;
			}
		}
		t_keyd += now_ns() - t0;
		t0 = now_ns();
		for (; j < end; j++) {
			if (tls_server_init_ident(&srv, &icfg, 0) < 0 ||
			    tls_client_init(&cli, &a, name, sizeof name - 1, APIKEY_NOT_BEFORE + 86400, &rng))
				return 1;
			pump(false);
			if (tls_status(&cli) != TLS_OPEN || tls_status(&srv) != TLS_OPEN) {
				fprintf(stderr, "bench_api_tls: handshake %d in process failed\n", j);
				return 1;
			}
		}
		t_in += now_ns() - t0;
	}
	close(netd_end);
	waitpid(pid, NULL, 0);
	printf("{\"handshakes\":%d,\"keyd_per_s\":%.0f,\"inproc_per_s\":%.0f,"
	       "\"ratio_keyd_over_inproc\":%.3f,\"keyd_us\":%.0f,\"inproc_us\":%.0f}\n",
	       n, n / (t_keyd / 1e9), n / (t_in / 1e9), (double)t_in / (double)t_keyd,
	       t_keyd / 1e3 / n, t_in / 1e3 / n);
	return 0;
}
