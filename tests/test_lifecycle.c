/* tests/test_lifecycle.c: what PID 1 accepts from a role: fixed-size
 * structs of the types in one table, nothing else; and what it logs
 * because of them is rate-limited. Also the token bucket (lib/tbucket). */
#include "init/lifecycle.h"
#include "lib/log.h"
#include "lib/tbucket.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct imsg m;

static void make(uint32_t type, const void *payload, size_t len, unsigned nfds)
{
	memset(&m, 0, sizeof m);
	m.hdr.type = type;
	m.hdr.len = (uint32_t)len;
	if (len)
		memcpy(m.payload, payload, len);
	m.nfds = nfds;
	for (unsigned i = 0; i < nfds; i++)
		m.fds[i] = -1;
}

static void test_tbucket(void)
{
	struct tbucket b;
	int n = 0;

	tbucket_init(&b, 3, 100, 1000);
	while (tbucket_take(&b, 1000))
		n++;
	is_int(n, 3, "tbucket: a burst of 3");
	ok(!tbucket_take(&b, 1099), "tbucket: nothing before a period");
	ok(tbucket_take(&b, 1100), "tbucket: one token a period later");
	ok(!tbucket_take(&b, 1150), "tbucket: and only one");
	n = 0;
	while (tbucket_take(&b, 99999))
		n++;
	is_int(n, 3, "tbucket: a long pause refills to the burst, not beyond");
	ok(!tbucket_take(&b, 99999 + 99), "tbucket: the next token a whole period after the refill");
}

/* The byte-rate mode (netd's egress caps), on a fake clock: a burst,
 * then never more than the rate, partial tokens kept across calls. */
static void test_tbucket_rate(void)
{
	struct tbucket b;
	uint64_t t = 5000000000u, given = 0, seed = 1;

	tbucket_init_rate(&b, 1000, 500, t);
	is_int(tbucket_avail(&b, t), 500, "rate: a full burst at first");
	tbucket_spend(&b, 500);
	is_int(tbucket_avail(&b, t), 0, "rate: spent");
	is_int(tbucket_wait_ns(&b, 100, t), 100000000, "rate: 100 bytes at 1000/s: 100 ms away");
	is_int(tbucket_avail(&b, t + 99999999), 99, "rate: 99 of them a nanosecond early");
	is_int(tbucket_avail(&b, t + 100000000), 100, "rate: 100 on time");
	is_int(tbucket_wait_ns(&b, 100, t + 100000000), 0, "rate: nothing to wait for then");
	is_int(tbucket_wait_ns(&b, 9999, t + 100000000), 400000000, "rate: a wait for more than the burst is for the burst");
	tbucket_spend(&b, 1000);
	is_int(tbucket_avail(&b, t + 100000000), 0, "rate: spending more than there is empties it");

	/* 1.5 tokens per call for a second: the halves add up */
	t += 100000000;
	for (int i = 0; i < 1000; i++) {
		t += 1500000;
		given += tbucket_avail(&b, t);
		tbucket_spend(&b, tbucket_avail(&b, t));
	}
	is_int(given, 1500, "rate: 1000 calls 1.5 ms apart give 1500 bytes, no rounding lost or gained");

	/* calls at odd times, everything spent: what it gives over T is the
	 * rate's T, to the byte (the burst was spent before) */
	uint64_t t0 = t;
	given = 0;
	for (int i = 0; i < 20000; i++) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		t += seed >> 44;                /* 0 .. ~1 ms */
		uint64_t a = tbucket_avail(&b, t);
		uint64_t n = (seed >> 20 & 1) ? a : a / 3;
		given += n;
		tbucket_spend(&b, n);
		if (given > (t - t0) / 1000000 + 500)
			break;
	}
	ok(given <= (t - t0) / 1000000 + 500, "rate: over %.3f s at odd times, %llu bytes: never more than "
	   "the rate's plus the burst", (double)(t - t0) / 1e9, (unsigned long long)given);
	tbucket_avail(&b, t);
	uint64_t left = b.tokens;
	ok(given + left >= (t - t0) / 1000000 - 1, "rate: ... and what was not spent is still there "
	   "(%llu given + %llu left)", (unsigned long long)given, (unsigned long long)left);

	/* a long pause fills it to the burst, not beyond */
	is_int(tbucket_avail(&b, t + 3600000000000u), 500, "rate: an hour later: the burst");
	/* a new rate keeps the tokens, cut to the new burst */
	tbucket_set_rate(&b, 2000, 300, t + 3600000000000u);
	is_int(tbucket_avail(&b, t + 3600000000000u), 300, "rate: a smaller burst cuts the tokens");
	tbucket_spend(&b, 300);
	is_int(tbucket_avail(&b, t + 3600000000000u + 50000000), 100, "rate: the new rate from then on");

	/* 10 Gbit/s (1.25e9 bytes/s) with a 125 ms burst: no overflow */
	tbucket_init_rate(&b, 1250000000u, 156250000u, 0);
	tbucket_spend(&b, tbucket_avail(&b, 0));
	is_int(tbucket_avail(&b, 1000000), 1250000, "rate: 10 Gbit/s: 1 ms gives 1.25 MB");
	is_int(tbucket_avail(&b, 86400000000000u), 156250000, "rate: and a day the burst");
}

static void test_table(void)
{
	const struct lifecycle_msg *t;
	size_t n;

	t = lifecycle_accepted(&n);
	ok(n >= 3, "the table lists %zu messages", n);
	for (size_t i = 0; i < n; i++)
		ok(t[i].size <= IMSG_MAX_PAYLOAD && t[i].handle != NULL &&
		   t[i].max_fds == (t[i].type == IMSG_KEYD_KMS_REPLY ? 1u : 0u),
		   "type %u from role %d: exactly %u bytes, %u descriptors", t[i].type, (int)t[i].role,
		   t[i].size, t[i].max_fds);
}

int main(void)
{
	static struct lifecycle lc;
	struct role_spec netd = { .name = "netd", .id = ROLE_NETD };
	struct role_spec keyd = { .name = "keyd", .id = ROLE_KEYD };
	struct role_spec logd_role = { .name = "logd", .id = ROLE_LOGD };
	struct netd_status_msg st = { .state = NETD_STATE_BOUND, .ipv4_addr = 0x0200a8c0,
				      .ipv4_netmask = 0x00ffffff };
	struct keyd_status_msg ks = { .backend = KEYD_BACKEND_SIM, .events = 2 };
	uint8_t big[sizeof st + 1] = { 0 };
	int p[2], lines = 0;
	char buf[65536];
	ssize_t r;

	test_tbucket();
	test_tbucket_rate();
	test_table();
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
		return 2;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	log_set_fd(p[1]);

	make(IMSG_NETD_STATUS, &st, sizeof st, 0);
	is_int(lifecycle_on_message(&lc, &netd, -1, &m), 0, "netd status of the exact size: accepted");
	make(IMSG_NETD_STATUS, big, sizeof big, 0);
	is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "one byte longer: refused");
	make(IMSG_NETD_STATUS, &st, sizeof st - 1, 0);
	is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "one byte shorter: refused");
	make(IMSG_NETD_STATUS, &st, sizeof st, 1);
	is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "with a descriptor: refused");
	make(IMSG_KEYD_STATUS, &ks, sizeof ks, 0);
	is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "keyd's message from netd: refused");
	is_int(lifecycle_on_message(&lc, &keyd, -1, &m), 0, "keyd's message from keyd: accepted");
	make(IMSG_NETD_STATUS, &st, sizeof st, 0);
	is_int(lifecycle_on_message(&lc, &keyd, -1, &m), -EBADMSG, "netd's message from keyd: refused");
	make(IMSG_PEER_CHANNEL, NULL, 0, 0);
	is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "a type of another protocol: refused");
	make(999, NULL, 0, 0);
	is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "an unknown type: refused");
	st.state = 77;
	make(IMSG_NETD_STATUS, &st, sizeof st, 0);
	is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "an unknown netd state: refused");

	/* the key provider kms's answers: shapes checked even when no
	 * exchange waits for them (then they are dropped) */
	{
		static struct keyd_kms_reply_msg kr;
		static struct netd_kms_reply_msg nr;
		kr.error = 0;
		kr.body_len = 100;
		make(IMSG_KEYD_KMS_REPLY, &kr, sizeof kr, 1);
		is_int(lifecycle_on_message(&lc, &keyd, -1, &m), 0,
		       "keyd's KMS body with its memfd, nobody waiting: dropped");
		make(IMSG_KEYD_KMS_REPLY, &kr, sizeof kr, 0);
		is_int(lifecycle_on_message(&lc, &keyd, -1, &m), -EBADMSG, "a body without its memfd: refused");
		make(IMSG_KEYD_KMS_REPLY, &kr, sizeof kr, 2);
		is_int(lifecycle_on_message(&lc, &keyd, -1, &m), -EBADMSG, "with two descriptors: refused");
		kr.error = -EEXIST;
		make(IMSG_KEYD_KMS_REPLY, &kr, sizeof kr, 1);
		is_int(lifecycle_on_message(&lc, &keyd, -1, &m), -EBADMSG, "a refusal with a descriptor: refused");
		kr.error = 0;
		kr.body_len = KEYD_KMS_BODY_MAX + 1;
		make(IMSG_KEYD_KMS_REPLY, &kr, sizeof kr, 1);
		is_int(lifecycle_on_message(&lc, &keyd, -1, &m), -EBADMSG, "a body over the KMS's limit: refused");
		make(IMSG_KEYD_KMS_REPLY, &kr, sizeof kr, 1);
		is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "keyd's KMS body from netd: refused");
		make(IMSG_NETD_KMS_REPLY, &nr, sizeof nr, 0);
		is_int(lifecycle_on_message(&lc, &netd, -1, &m), 0, "netd's KMS answer, nobody waiting: dropped");
		make(IMSG_NETD_KMS_REPLY, &nr, sizeof nr, 1);
		is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "netd's KMS answer with a descriptor: refused");
		make(IMSG_NETD_KMS_REPLY, &nr, sizeof nr - 1, 0);
		is_int(lifecycle_on_message(&lc, &netd, -1, &m), -EBADMSG, "one byte short: refused");
	}
	/* which netd answers are worth another attempt, and the delays */
	{
		struct netd_kms_reply_msg nk = { .error = -ECONNREFUSED };
		ok(kms_phase_retryable(&nk), "retry: no answer (connect failed)");
		nk.http_status = 503;
		ok(kms_phase_retryable(&nk), "retry: HTTP 503");
		nk.http_status = 403;
		nk.error = -EACCES;
		ok(!kms_phase_retryable(&nk), "no retry: 403 (the KMS refused)");
		nk.http_status = 400;
		nk.error = -EPROTO;
		ok(!kms_phase_retryable(&nk), "no retry: 400");
		nk.http_status = 200;
		nk.error = -EBADMSG;
		ok(!kms_phase_retryable(&nk), "no retry: a 200 that is not a key reply");
		nk.error = 0;
		ok(!kms_phase_retryable(&nk), "no retry: a key");
		is_int(kms_phase_delay(1), 1000, "delay after the first failure: 1 s");
		is_int(kms_phase_delay(2), 2000, "then 2 s");
		is_int(kms_phase_delay(4), 8000, "then up to 8 s");
		is_int(kms_phase_delay(40), 8000, "and no more");
	}

	/* logd: its status, one line per state change only */
	{
		struct role_spec logd = { .name = "logd", .id = ROLE_LOGD };
		struct logd_status_msg ls = { .state = LOGD_STATE_READY, .size = 5 };
		char out[4096];
		ssize_t k;
		while (read(p[0], buf, sizeof buf) > 0)
			;
		make(IMSG_LOGD_STATUS, &ls, sizeof ls, 0);
		is_int(lifecycle_on_message(&lc, &logd, -1, &m), 0, "logd's status from logd: accepted");
		is_int(lifecycle_on_message(&lc, &keyd, -1, &m), -EBADMSG, "logd's status from keyd: refused");
		ls.fresh = LOGD_FRESH_N;
		make(IMSG_LOGD_STATUS, &ls, sizeof ls, 0);
		is_int(lifecycle_on_message(&lc, &logd, -1, &m), -EBADMSG,
		       "logd's status with an unknown freshness verdict: refused");
		ls.fresh = LOGD_FRESH_NONE;
		ls.size = 6;
		make(IMSG_LOGD_STATUS, &ls, sizeof ls, 0);
		lifecycle_on_message(&lc, &logd, -1, &m);
		ls.state = LOGD_STATE_FAILED;
		make(IMSG_LOGD_STATUS, &ls, sizeof ls, 0);
		is_int(lifecycle_on_message(&lc, &logd, -1, &m), 0, "FAILED: accepted");
		k = read(p[0], out, sizeof out - 1);
		out[k > 0 ? k : 0] = '\0';
		ok(strstr(out, "logd: serving (5 entries)") && !strstr(out, "serving (6 entries)") &&
		   strstr(out, "logd: FAILED"), "init logs each state change once");
		ls.state = 9;
		make(IMSG_LOGD_STATUS, &ls, sizeof ls, 0);
		is_int(lifecycle_on_message(&lc, &logd, -1, &m), -EBADMSG, "an unknown logd state: refused");
		make(IMSG_LOGD_STATUS, &ls, sizeof ls - 1, 0);
		is_int(lifecycle_on_message(&lc, &logd, -1, &m), -EBADMSG, "a short logd status: refused");
	}

	/* sandboxd: its configuration at start, its status */
	{
		struct role_spec sbx = { .name = "sandboxd", .id = ROLE_SANDBOXD };
		struct sandboxd_status_msg ss = { .runtimes_available = 5, .functions = 2 };
		struct sandboxd_config_msg cfg;
		struct imsg got;
		char out[4096];
		ssize_t k;
		int sv[2];
		while (read(p[0], buf, sizeof buf) > 0)
			;
		memset(lc.sbx.policy_sha256, 0xab, 32);
		lc.sbx.has_policy = 1;
		lc.sbx.limits_required = 1;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
			return 2;
		is_int(lifecycle_start(&lc, &sbx, sv[0]), 0, "sandboxd start: sent");
		ok(imsg_recv(sv[1], &got) == 0 && imsg_get(&got, IMSG_SANDBOXD_CONFIG, &cfg, sizeof cfg) == 0 &&
		   cfg.has_policy == 1 && cfg.limits_required == 1 && cfg.policy_sha256[31] == 0xab,
		   "  IMSG_SANDBOXD_CONFIG: the policy's hash, limits required");
		close(sv[0]);
		close(sv[1]);
		make(IMSG_SANDBOXD_STATUS, &ss, sizeof ss, 0);
		is_int(lifecycle_on_message(&lc, &sbx, -1, &m), 0, "sandboxd's status from sandboxd: accepted");
		k = read(p[0], out, sizeof out - 1);
		out[k > 0 ? k : 0] = '\0';
		ok(strstr(out, "sandboxd: serving (2 functions; runtimes available: native python; limits NOT "
			  "enforced)") != NULL, "  logged (%s)", out);
		is_int(lifecycle_on_message(&lc, &logd_role, -1, &m), -EBADMSG, "sandboxd's status from logd: refused");
		ss.runtimes_available = 8;
		make(IMSG_SANDBOXD_STATUS, &ss, sizeof ss, 0);
		is_int(lifecycle_on_message(&lc, &sbx, -1, &m), -EBADMSG, "an unknown runtime bit: refused");
		ss.runtimes_available = 1;
		ss.limits_enforced = 2;
		make(IMSG_SANDBOXD_STATUS, &ss, sizeof ss, 0);
		is_int(lifecycle_on_message(&lc, &sbx, -1, &m), -EBADMSG, "limits_enforced 2: refused");
		make(IMSG_SANDBOXD_STATUS, &ss, sizeof ss - 1, 0);
		is_int(lifecycle_on_message(&lc, &sbx, -1, &m), -EBADMSG, "a short sandboxd status: refused");
	}

	/* netd's start: once the KMS released the key, a (re)started netd is
	 * told where keyd's freshness records go */
	for (int released = 0; released <= 1; released++) {
		struct role_spec nd = { .name = "netd", .id = ROLE_NETD };
		struct netd_kms_req_msg t;
		struct imsg got;
		int sv[2], n = 0, target = 0;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
			return 2;
		lc.packet_fd = p[0];
		lc.packet_tx_fd = -1;
		lc.anchors_fd = -1;
		lc.kms.released = released;
		snprintf(lc.kms.nreq.host, sizeof lc.kms.nreq.host, "kms.example");
		snprintf(lc.kms.nreq.path, sizeof lc.kms.nreq.path, "/v1/keys");
		lc.kms.nreq.port = 8080;
		is_int(lifecycle_start(&lc, &nd, sv[0]), 0, "netd start (released %d): sent", released);
		while (imsg_recv(sv[1], &got) == 0) {
			n++;
			if (got.hdr.type == IMSG_NETD_KMS_TARGET &&
			    imsg_get(&got, IMSG_NETD_KMS_TARGET, &t, sizeof t) == 0 &&
			    strcmp(t.host, "kms.example") == 0 && strcmp(t.path, "/v1/keys") == 0 &&
			    t.port == 8080)
				target++;
			for (unsigned f = 0; f < got.nfds; f++)
				close(got.fds[f]);
		}
		is_int(target, released, released ? "  IMSG_NETD_KMS_TARGET with the KMS's host, port and path"
						   : "  no IMSG_NETD_KMS_TARGET before the KMS released a key");
		ok(n >= 5, "  and the other start messages (%d)", n);
		close(sv[0]);
		close(sv[1]);
		lc.packet_fd = -1;
		lc.kms.released = false;
	}

	/* A flood of valid messages: what init logs about them is bounded. */
	st.state = NETD_STATE_BOUND;
	while (read(p[0], buf, sizeof buf) > 0)
		;
	for (int i = 0; i < 1000; i++) {
		make(IMSG_NETD_STATUS, &st, sizeof st, 0);
		lifecycle_on_message(&lc, &netd, -1, &m);
	}
	while ((r = read(p[0], buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < r; i++)
			lines += buf[i] == '\n';
	ok(lines <= LIFECYCLE_LOG_BURST, "1000 status messages: at most %d log lines (%d)",
	   LIFECYCLE_LOG_BURST, lines);
	ok(lc.log_dropped > 0, "  the rest counted (%llu)", (unsigned long long)lc.log_dropped);
	return tap_done();
}
