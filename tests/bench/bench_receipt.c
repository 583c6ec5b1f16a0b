/* tests/bench/bench_receipt.c: what a receipt costs. keyd's side, in
 * process as test_keyd runs it: N IMSG_RECEIPT_SIGN_REQ over a SEQPACKET
 * socketpair, each written, signed (ECDSA P-256, RFC 6979) and answered
 * by keyd_serve_netd, and read back (the rate limit set aside); then the
 * host's side: receipt_open (signature and strict parse) of the answer N
 * times. Prints one JSON object:
 *   {"receipts":N,"keyd_signs_per_s":…,"sign_us":…,"open_us":…,
 *    "note_bytes":…,"header_bytes":…}
 * Usage: bench_receipt DIR [N]: DIR (created) holds keyd's log key. */
#include "crypto/receipt.h"
#include "keyd/keyd.h"
#include "lib/base64.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct keyd K;
static struct imsg M;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	static struct receipt_sign_reply_msg rep;
	struct receipt_sign_req_msg q;
	struct receipt r;
	char path[4096], err[ERRBUF_LEN];
	int sv[2], n = argc > 2 ? atoi(argv[2]) : 2000;
	double t0, t_sign, t_open;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: bench_receipt DIR [N]\n");
		return 2;
	}
	mkdir(argv[1], 0700);
	snprintf(path, sizeof path, "%s/%s", argv[1], KEYD_LOGKEY_FILE);
	if (logkey_load_or_create(&K.logkey, path, err) < 0) {
		fprintf(stderr, "bench_receipt: %s\n", err);
		return 1;
	}
	K.have_logkey = true;
	/* keyd's end non-blocking, as keyd_main makes it: it reads until empty */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0)
		return 1;
	K.netd_fd = sv[0];
	K.logd_fd = -1;
	memset(&q, 0, sizeof q);
	strcpy(q.function, "hello");
	strcpy(q.invocation, "inv-0123456789abcdef");
	memset(q.code_sha256, 0xc0, 32);
	memset(q.input_sha256, 0x11, 32);
	memset(q.output_sha256, 0x22, 32);
	q.status = 200;
	q.time_ns = 1700000000000000000ull;
	q.nrecords = 1;

	t0 = now_us();
	for (int i = 0; i < n; i++) {
		q.record[0] = (uint64_t)i;
		if (imsg_send(sv[1], IMSG_RECEIPT_SIGN_REQ, (uint32_t)i + 1, &q, sizeof q, NULL, 0) < 0 ||
		    keyd_serve_netd(&K) < 0 || imsg_recv(sv[1], &M) < 0 ||
		    M.hdr.len > sizeof rep) {
			fprintf(stderr, "bench_receipt: receipt %d failed\n", i);
			return 1;
		}
		memcpy(&rep, M.payload, M.hdr.len);
		if (rep.error != 0) {
			fprintf(stderr, "bench_receipt: keyd refused: %d\n", rep.error);
			return 1;
		}
	}
	t_sign = now_us() - t0;

	t0 = now_us();
	for (int i = 0; i < n; i++) {
		if (receipt_open(rep.note, rep.note_len, &K.logkey.pub, &r, err, sizeof err) != 0) {
			fprintf(stderr, "bench_receipt: %s\n", err);
			return 1;
		}
	}
	t_open = now_us() - t0;
	printf("{\"receipts\":%d,\"keyd_signs_per_s\":%.0f,\"sign_us\":%.1f,\"open_us\":%.1f,"
	       "\"note_bytes\":%u,\"header_bytes\":%zu}\n", n, n / (t_sign / 1e6), t_sign / n,
	       t_open / n, rep.note_len,
	       sizeof "X-DShield-Receipt: \r\n" - 1 + BASE64_ENCODED_LEN(rep.note_len));
	close(sv[0]);
	close(sv[1]);
	return 0;
}
