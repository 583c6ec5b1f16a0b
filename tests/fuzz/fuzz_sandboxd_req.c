/* tests/fuzz/fuzz_sandboxd_req.c: sandboxd reads whatever netd (or a
 * compromised netd), keyd and logd send. The input is a sequence of
 * datagrams, each
 *
 *   u8 channel (0: netd, 1: keyd, 2: logd; bit 2: the header lies about
 *      the length; bit 3: a netd request carries the admin's token hash,
 *      so that the fuzzer reaches past authorisation)
 *   u8 type (an offset into the channel's range, so the fuzzer hits the
 *      real handlers), u16 length, then that many payload bytes,
 *
 * sent raw. The core runs with a real policy (an admin hash the fuzzer can
 * only match by chance, public_invoke on) and a real store in a temporary
 * directory, and no runtime layer, so no worker is ever spawned. Whatever
 * arrives, sandboxd must not crash, must send netd only replies and
 * worker ends of the protocol's sizes, and must never answer more
 * requests than it was sent. */
#include "sandboxd/sandboxd.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sandboxd D;
static struct imsg M;
static char base[64], cmd[128];
static int end[SBXD_CHAN_COUNT] = { -1, -1, -1, -1 };
static bool ready;
static uint64_t requests, replies;

static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"0101010101010101010101010101010101010101010101010101"
	"010101010101\",\"functions\":{\"runtimes\":[\"native\",\"python\"],\"max\":4,"
	"\"public_invoke\":true}}";

static void cleanup(void)
{
	sandboxd_close(&D);
	snprintf(cmd, sizeof cmd, "rm -rf %s", base);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", base);
}

static void setup(void)
{
	static struct policy_tokens toks;
	static struct policy pol;
	static char canon[POLICY_CANON_MAX + 1];
	struct sandboxd_config_msg cfg = { .has_policy = 1 };
	static char pp[96], sp[96], wp[96], lp[96];
	char err[256];
	br_sha256_context c;
	long n;
	int fd;

	snprintf(base, sizeof base, "/tmp/fuzz_sandboxd_req.XXXXXX");
	if (mkdtemp(base) == NULL)
		abort();
	snprintf(pp, sizeof pp, "%s/policy.json", base);
	snprintf(sp, sizeof sp, "%s/store", base);
	snprintf(wp, sizeof wp, "%s/work", base);
	snprintf(lp, sizeof lp, "%s/no-layers", base);
	if (policy_parse(POLICY, sizeof POLICY - 1, &toks, &pol, err, sizeof err) != 0 ||
	    (n = policy_write(&pol, canon, sizeof canon)) < 0)
		abort();
	fd = open(pp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, canon, (size_t)n) != n)
		abort();
	close(fd);
	br_sha256_init(&c);
	br_sha256_update(&c, canon, (size_t)n);
	br_sha256_out(&c, cfg.policy_sha256);
	struct sbxd_paths paths = { pp, sp, wp, lp, NULL };
	if (sandboxd_open(&D, &cfg, &paths) != 0)
		abort();
	for (unsigned ch = SBXD_CHAN_NETD; ch < SBXD_CHAN_COUNT; ch++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
			abort();
		sandboxd_set_peer(&D, (enum sbxd_chan)ch, sv[0]);
		end[ch] = sv[1];
	}
	ready = true;
	atexit(cleanup);
}

static void drain(void)
{
	while (imsg_recv(end[SBXD_CHAN_NETD], &M) == 0) {
		imsg_close_fds(&M);
		if (M.hdr.type == IMSG_SBX_REPLY) {
			struct sbx_reply_msg r;
			if (M.hdr.len < sizeof r)
				abort();
			memcpy(&r, M.payload, sizeof r);
			if (!r.body_in_fd && M.hdr.len != sizeof r + r.body_len)
				abort();
			if (r.body_in_fd && (M.hdr.len != sizeof r || M.nfds != 1))
				abort();
			if (++replies > requests)
				abort();   /* an answer nobody asked for */
		} else if (M.hdr.type != IMSG_SBX_WORKER_END ||
			   M.hdr.len != sizeof(struct sbx_worker_end_msg)) {
			abort();
		}
	}
	for (unsigned ch = SBXD_CHAN_KEYD; ch < SBXD_CHAN_COUNT; ch++)
		while (imsg_recv(end[ch], &M) == 0)
			imsg_close_fds(&M);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t range[SBXD_CHAN_COUNT] = {
		0, IMSG_RANGE_NETD_SANDBOXD, IMSG_RANGE_SANDBOXD_KEYD, IMSG_RANGE_LOGD,
	};
	static _Alignas(16) uint8_t buf[65536];
	size_t off = 0;

	if (!ready)
		setup();
	while (size - off >= 4) {
		uint8_t flags = data[off], t = data[off + 1];
		size_t len = (size_t)data[off + 2] | (size_t)data[off + 3] << 8;
		unsigned ch = SBXD_CHAN_NETD + (flags & 3) % 3;
		struct imsg_hdr h;
		struct iovec iov[2];

		off += 4;
		if (len > size - off)
			len = size - off;
		h.type = range[ch] + (t % 12);
		h.len = flags & 4 ? (uint32_t)len + t : (uint32_t)len;
		h.id = t;
		memcpy(buf, data + off, len);
		if ((flags & 8) && ch == SBXD_CHAN_NETD && len >= sizeof(struct sbx_req_msg)) {
			struct sbx_req_msg *q = (struct sbx_req_msg *)buf;
			q->has_token = 1;
			memset(q->token_sha256, 1, sizeof q->token_sha256);
		}
		iov[0] = (struct iovec){ &h, sizeof h };
		iov[1] = (struct iovec){ buf, len };
		off += len;
		if (imsg_send_raw(end[ch], iov, 2, NULL, 0) < 0)
			break;
		/* a request sandboxd can read is answered, once */
		if (ch == SBXD_CHAN_NETD && h.type == IMSG_SBX_REQ && h.len == len)
			requests++;
		sandboxd_round(&D, 0);
		drain();
	}
	sandboxd_round(&D, 0);
	drain();
	return 0;
}
