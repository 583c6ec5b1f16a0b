/* tests/fuzz/fuzz_api_fn.c: the function routes (net/api_fn.c) under
 * libFuzzer: a request to one of them with a fuzzed path tail, headers
 * and body (deployments and secrets through the streamed-body memfd),
 * then sandboxd's reply as a compromised sandboxd could send it (any
 * status, code, lengths, worker kind and limits; an inline body), and
 * for an invocation the worker's bytes (frames or native stdout) and
 * sandboxd's WORKER_END, then the deadlines. logd takes every invocation
 * entry and never answers (an odd input size) or is not there (even): an
 * answer waits for its receipt (INV_RECEIPT) or is refused at once.
 *
 * Input: byte 0 picks the route; the path tail up to '\n' (at most 200
 * bytes); one header line up to '\n' (at most 200); 2 bytes body length
 * (big-endian) and the body; then sizeof(struct sbx_reply_msg) bytes of
 * reply, 2 bytes of inline length and those bytes; then the worker's
 * bytes (the rest, at most 64 KiB), the last byte choosing WORKER_END.
 *
 * Invariants: the connection's buffers stay in bounds, every run ends
 * with no invocation in progress, no descriptor watched and no
 * descriptor leaked, and the sanitizers see no bad access.
 */
#include "lib/imsg.h"
#include "net/api.h"
#include "proto/netd_sandboxd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static struct http_conn conn;
static struct http_server srv;
static struct api_state st;
static uint32_t seq;
static bool asked;
static struct sbx_req_msg last;
static int watched[8];
static unsigned nwatched;
static bool gone;

static int fake_request_sbx(void *ctx, uint32_t conn_id, const void *m, size_t len, int fd,
			    uint32_t *out_seq)
{
	(void)ctx;
	(void)fd;
	CHECK(conn_id == conn.id || conn_id == 0);
	CHECK(len >= sizeof last && len <= sizeof last + SBX_INLINE_MAX);
	memcpy(&last, m, sizeof last);
	CHECK(last.id[SBX_ID_MAX - 1] == '\0' && last.name[SBX_NAME_MAX - 1] == '\0');
	*out_seq = ++seq;
	asked = true;
	return 0;
}

static int fake_sbx_done(void *ctx, const struct sbx_done_msg *m)
{
	(void)ctx;
	CHECK(m->outcome >= SBX_DONE_OK && m->outcome <= SBX_DONE_CLIENT_GONE);
	return 0;
}

static int fake_request_log(void *ctx, uint32_t conn_id, uint32_t type, const void *p,
			    size_t len, uint32_t *out_seq)
{
	(void)ctx;
	(void)p;
	CHECK(conn_id == conn.id && type == IMSG_LOG_APPEND && len > 0);
	*out_seq = ++seq;
	return 0;
}

static int fake_watch_fd(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	for (unsigned i = 0; i < nwatched; i++) {
		if (watched[i] != fd)
			continue;
		if (events == 0)
			watched[i] = watched[--nwatched];
		return 0;
	}
	CHECK(events != 0 && nwatched < 8);
	watched[nwatched++] = fd;
	return 0;
}

static struct http_conn *fake_find_conn(void *ctx, uint32_t id)
{
	(void)ctx;
	return !gone && id == conn.id ? &conn : NULL;
}

static void check_invariants(void)
{
	CHECK(http_conn_state(&conn) <= HTTP_CONN_CLOSED);
	CHECK(conn.out_sent <= conn.out_len && conn.out_len <= sizeof conn.out);
	CHECK(http_stream_room(&conn) <= sizeof conn.out);
}

static void drain(uint64_t now)
{
	size_t n;

	for (int guard = 0; guard < 100000; guard++) {
		http_conn_output(&conn, &n);
		if (n == 0)
			return;
		http_conn_sent(&conn, n < 997 ? n : 997, now);
		check_invariants();
	}
	CHECK(0);
}

/* Lets the invocation read what the worker wrote. */
static void pump(void)
{
	for (int round = 0; round < 64 && nwatched > 0; round++) {
		int fds[8];
		unsigned n = nwatched;
		memcpy(fds, watched, sizeof fds);
		for (unsigned i = 0; i < n; i++)
			api_fn_io(&st, fds[i], EPOLLIN | EPOLLOUT | EPOLLHUP);
	}
}

/* The policy deployments are parsed against (sandboxd's, in netd). */
static const char policy_json[] =
	"{\"format\":1,\"admin_token_sha256\":"
	"\"7fc096284db884c8173772258adf63eebbd217cc34843cffb9a4cfe70a8a4eab\","
	"\"attestation\":{\"allow_sim\":true},"
	"\"functions\":{\"runtimes\":[\"native\",\"python\",\"node\"],\"max\":8,"
	"\"public_invoke\":true,"
	"\"default_limits\":{\"memory_mb\":128,\"pids\":32,\"cpu_millicores\":1000,"
	"\"timeout_ms\":10000,\"tmp_mb\":16,\"output_kb\":1024},"
	"\"max_limits\":{\"memory_mb\":512,\"pids\":128,\"cpu_millicores\":2000,"
	"\"timeout_ms\":60000,\"tmp_mb\":64,\"output_kb\":8192}},"
	"\"egress\":[{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"x\"}]}";

static const char *const routes[] = {
	"POST /api/functions", "PUT /v1/functions/", "POST /v1/functions", "GET /v1/functions/",
	"POST /invoke/", "POST /v1/functions/f/invoke", "GET /invoke/", "POST /api/secrets",
	"PUT /v1/secrets/", "POST /api/keys", "POST /v1/tokens", "DELETE /api/keys/",
	"GET /api/logs/", "GET /functions", "GET /health", "DELETE /v1/secrets/",
};

static size_t take_line(const uint8_t *data, size_t size, size_t *pos, char *out, size_t max)
{
	size_t n = 0;

	while (*pos < size && data[*pos] != '\n' && n < max)
		out[n++] = (char)data[(*pos)++];
	(*pos)++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char req[1024];
	static uint8_t reply[IMSG_MAX_PAYLOAD];
	char tail[256], hdr[256];
	size_t pos = 1, n, tn, hn, blen, ilen;
	uint64_t now = 1000;
	int wk[2] = { -1, -1 }, np[2] = { -1, -1 };
	int fds_before;

	if (size < 1)
		return 0;
	tn = take_line(data, size, &pos, tail, 200);
	hn = take_line(data, size, &pos, hdr, 200);
	for (size_t i = 0; i < tn; i++)
		if (tail[i] == ' ' || tail[i] == '\r' || tail[i] < 0x21 || tail[i] == 0x7f)
			tail[i] = '_';
	for (size_t i = 0; i < hn; i++)
		if (hdr[i] == '\r' || hdr[i] == '\0' || hdr[i] == '\n')
			hdr[i] = ' ';
	blen = pos + 2 <= size ? (size_t)data[pos] << 8 | data[pos + 1] : 0;
	pos += 2;
	if (pos > size)
		pos = size;
	if (blen > size - pos)
		blen = size - pos;

	fds_before = dup(0);
	close(fds_before);
	static bool have_policy;
	if (!have_policy) {
		signal(SIGPIPE, SIG_IGN);   /* as netd */
		char err[128];
		CHECK(policy_parse(policy_json, sizeof policy_json - 1, &st.fn.ptoks, &st.fn.policy, err,
				   sizeof err) == 0);
		have_policy = true;
	}
	api_fn_init(&st);
	st.fn.have_policy = true;
	st.request_sbx = fake_request_sbx;
	st.sbx_done = fake_sbx_done;
	st.watch_fd = fake_watch_fd;
	st.find_conn = fake_find_conn;
	st.request_log = size & 1 ? fake_request_log : NULL;
	srv.handler = api_handle;
	srv.ctx = &st;
	srv.stream_ready = api_stream_ready;
	srv.body_open = api_fn_body_open;
	srv.body_close = api_fn_body_close;
	srv.conn_gone = api_conn_gone;
	srv.header_timeout_ms = 500;
	srv.idle_timeout_ms = 2000;
	asked = gone = false;
	nwatched = 0;
	http_conn_init(&conn, &srv, 5, now);

	n = (size_t)snprintf(req, sizeof req, "%s%.*s HTTP/1.1\r\nHost: x\r\n%.*s%s"
			     "Content-Length: %zu\r\n\r\n",
			     routes[data[0] % (sizeof routes / sizeof routes[0])], (int)tn, tail,
			     (int)hn, hdr, hn ? "\r\n" : "", blen);
	http_conn_feed(&conn, (const uint8_t *)req, n, now);
	if (blen)
		http_conn_feed(&conn, data + pos, blen, now);
	pos += blen;
	check_invariants();
	drain(now);

	if (asked && pos + sizeof(struct sbx_reply_msg) + 2 <= size) {
		struct sbx_reply_msg rep;
		int fds[2] = { -1, -1 };
		unsigned nfds = 0;
		memcpy(&rep, data + pos, sizeof rep);
		pos += sizeof rep;
		ilen = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (ilen > size - pos)
			ilen = size - pos;
		if (ilen > SBX_INLINE_MAX)
			ilen = SBX_INLINE_MAX;
		memcpy(reply, data + pos, ilen);
		pos += ilen;
		/* as netd.c checks it */
		if (!rep.body_in_fd)
			rep.body_len = ilen;
		if (last.op == SBX_INVOKE && rep.worker_kind == SBX_WORKER_FRAMES &&
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wk) == 0) {
			fds[0] = wk[0];
			nfds = 1;
		} else if (last.op == SBX_INVOKE && rep.worker_kind == SBX_WORKER_NATIVE &&
			   pipe2(wk, O_CLOEXEC) == 0 && pipe2(np, O_CLOEXEC) == 0) {
			fds[0] = wk[1];    /* its stdin */
			fds[1] = np[0];    /* its stdout */
			wk[1] = np[0] = -1;
			nfds = 2;
		}
		if (rep.output_max > (1u << 20))
			rep.output_max = 1u << 20;   /* keeps each run's mapping small */
		api_fn_reply(&st, &conn, seq, &rep, reply, rep.body_in_fd ? 0 : ilen, fds, nfds);
		check_invariants();
		drain(now);
		/* the worker's side */
		int wfd = np[1] >= 0 ? np[1] : wk[1];
		size_t wl = size - pos;
		if (wl > 65536)
			wl = 65536;
		if (wfd >= 0 && wl > 1) {
			if (write(wfd, data + pos, wl - 1) < 0)
				(void)0;
			close(wfd);
			if (wfd == np[1])
				np[1] = -1;
			else
				wk[1] = -1;
			pump();
			drain(now);
			uint8_t e = data[size - 1];
			struct sbx_worker_end_msg m = { .worker = rep.worker, .reason = (uint8_t)(e % 6),
							.status = e >> 3 };
			api_fn_worker_end(&st, &m);
			pump();
			drain(now);
		}
	}
	/* the deadlines, then the client leaves */
	api_fn_tick(&st, now + 10000000);
	drain(now);
	check_invariants();
	gone = true;
	http_conn_release(&conn);
	for (size_t i = 0; i < API_FN_INVOKES; i++) {
		/* an invocation still waiting for sandboxd: it answers no one */
		if (st.fn.invs[i].state == INV_ASKED)
			api_fn_lost(&st, NULL, st.fn.invs[i].seq);
		CHECK(st.fn.invs[i].state == INV_FREE);
	}
	CHECK(nwatched == 0);
	for (int i = 0; i < 2; i++) {
		if (wk[i] >= 0)
			close(wk[i]);
		if (np[i] >= 0)
			close(np[i]);
	}
	int fds_after = dup(0);
	close(fds_after);
	CHECK(fds_after == fds_before);   /* no descriptor leaked */
	return 0;
}
