/* tests/fuzz/fuzz_logd_req.c: logd reads whatever netd (or a compromised
 * netd) and keyd send. The input is a sequence of datagrams, each
 *
 *   u8 channel (bit 0: netd or keyd; bit 1: end the round after it)
 *   u8 type (an offset into logd's and keyd's ranges, so the fuzzer hits
 *      the real handlers), u16 length, then that many payload bytes,
 *
 * sent raw with a header that tells the truth or (bit 2) lies about the
 * length. Whatever arrives, logd must not crash, answer within the reply
 * sizes, acknowledge an append only with an index below the committed
 * size, and never let the committed size shrink. */
#include "logd/logd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct logd D;
static struct imsg M;
static char base[64], cmd[128];
static int netd_end = -1, keyd_end = -1;
static uint64_t now = 1;

static void cleanup(void)
{
	logd_close(&D);
	snprintf(cmd, sizeof cmd, "rm -rf %s", base);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", base);
}

static int channel(enum logd_chan chan)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	logd_set_peer(&D, chan, sv[0]);
	return sv[1];
}

static void setup(void)
{
	static const struct logd_config_msg cfg = { .checkpoint_interval_ms = 1000, .sync = 1 };
	char dir[96], err[ERRBUF_LEN];

	snprintf(base, sizeof base, "/tmp/fuzz_logd_req.XXXXXX");
	if (mkdtemp(base) == NULL)
		abort();
	snprintf(dir, sizeof dir, "%s/log", base);
	if (logd_open(&D, &cfg, dir, err) < 0)
		abort();
	netd_end = channel(LOGD_CHAN_NETD);
	keyd_end = channel(LOGD_CHAN_KEYD);
	atexit(cleanup);
}

/* Reads every reply; checks what the contract promises. */
static void drain(void)
{
	uint64_t committed = logstore_committed(&D.store);

	while (imsg_recv(netd_end, &M) == 0) {
		imsg_close_fds(&M);
		if (M.nfds != 0)
			abort();
		if (M.hdr.type == IMSG_LOG_APPENDED) {
			struct log_appended_msg a;
			if (imsg_get(&M, IMSG_LOG_APPENDED, &a, sizeof a) < 0)
				abort();
			if (a.error == 0 && a.index >= committed)
				abort();   /* acknowledged but not durable */
		} else if (M.hdr.type == IMSG_LOG_APPENDED_MANY) {
			struct log_appended_one a;
			size_t n = log_appended_many_count(M.hdr.len);
			if (M.hdr.id != 0 || n == 0)
				abort();   /* proto/logd.h's form */
			for (size_t i = 0; i < n; i++) {
				memcpy(&a, M.payload + i * sizeof a, sizeof a);
				if (a.error == 0 && a.index >= committed)
					abort();
			}
		} else if (M.hdr.type == IMSG_LOG_READ) {
			struct log_read_msg r;
			if (M.hdr.len < sizeof r)
				abort();
			memcpy(&r, M.payload, sizeof r);
			if (r.len > LOG_READ_CHUNK || M.hdr.len != sizeof r + r.len ||
			    (r.error == 0 && r.offset + r.len > r.total))
				abort();
		} else if (M.hdr.type != IMSG_LOG_CHECKPOINT && M.hdr.type != IMSG_LOG_PROOF &&
			   M.hdr.type != IMSG_LOG_FOUND) {
			abort();   /* logd sends netd nothing else */
		}
	}
	while (imsg_recv(keyd_end, &M) == 0)
		imsg_close_fds(&M);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	uint64_t before;

	if (D.obj == NULL)
		setup();
	before = logstore_committed(&D.store);
	while (size - off >= 4) {
		uint8_t flags = data[off], t = data[off + 1];
		size_t len = (size_t)data[off + 2] | (size_t)data[off + 3] << 8;
		struct imsg_hdr h;
		struct iovec iov[2];
		int fd = flags & 1 ? keyd_end : netd_end;

		off += 4;
		if (len > size - off)
			len = size - off;
		h.type = (flags & 1 ? IMSG_RANGE_LOGD_KEYD : IMSG_RANGE_LOGD) + (t % 12);
		h.len = flags & 4 ? (uint32_t)len + t : (uint32_t)len;
		h.id = t;
		iov[0] = (struct iovec){ &h, sizeof h };
		iov[1] = (struct iovec){ (void *)(data + off), len };
		off += len;
		if (imsg_send_raw(fd, iov, 2, NULL, 0) < 0)
			break;   /* a full socket: the round below empties it */
		if (flags & 2) {
			logd_readable(&D, LOGD_CHAN_NETD);
			logd_readable(&D, LOGD_CHAN_KEYD);
			logd_end_round(&D, now += 700);
			drain();
		}
	}
	logd_readable(&D, LOGD_CHAN_NETD);
	logd_readable(&D, LOGD_CHAN_KEYD);
	logd_end_round(&D, now += 700);
	drain();
	if (logstore_committed(&D.store) < before)
		abort();
	return 0;
}
