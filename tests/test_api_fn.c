/* tests/test_api_fn.c: the function, secret and token routes and
 * invocations (net/api_fn.c) against a fake sandboxd on a socketpair
 * (tests/fake_sandboxd.h): each route's request (op, id, name, shape,
 * token hash, inline bytes, memfd), sandboxd's verdicts passed through,
 * the seed service's quick start as its README writes it, a deployment
 * of tens of MiB streamed into a memfd (never into the connection's
 * buffers), 413 past the limit, refusals naming the field, invocations
 * over a real socketpair "worker" speaking frames (RESULT, ERROR,
 * garbage, EOF, oversized) and a native one over pipes, WORKER_END's
 * causes, a client leaving mid-invocation, and sandboxd going away.
 * Every invocation that ran is answered only with its receipt: a fake
 * logd (tests/fake_logd.h) takes the invocation entry and a fake keyd
 * (tests/fake_keyd.h) signs it; the receipt tests check the entry, the
 * headers and the receipt's facts, and that nothing of the result goes
 * out when logd or keyd refuses. */
#include "crypto/policy.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/frame.h"
#include "proto/fn_frame.h"
#include "tests/tlog_gen.h"      /* before api_conn.h: its out */
#include "tests/fake_sandboxd.h"
#include "tests/fake_logd.h"
#include "tests/fake_keyd.h"
#include "tests/tap.h"

#include <bearssl_hash.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#define ROOT_KEY "dshield_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char reqbuf[1 << 20];

static struct tg_key K;             /* the log key the fake keyd signs with */
static uint64_t log_index = 100;    /* the next invocation entry's index */

/* logd and keyd answer what the invocation route asked them (its entry
 * appended at the next index, its receipt signed), then the connection's
 * output: for every route, since only an invocation asks them. */
static const char *answer_take(void)
{
	while (logd_next() == IMSG_LOG_APPEND) {
		struct log_appended_msg a = { .error = 0, .index = log_index++ };
		logd_answer(IMSG_LOG_APPENDED, &a, sizeof a);
		logd_deliver();
		logd_found_alone(a.index);   /* the receipt's records: the entry alone */
	}
	keyd_answer();
	return take();
}

static void sha256_of(const void *p, size_t n, uint8_t digest[32])
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, digest);
}

/* A fresh connection, the server wired as netd wires it. */
static void open_conn(void)
{
	api_conn_open(conn.id + 1);
	srv.stream_ready = api_stream_ready;
	srv.body_open = api_fn_body_open;
	srv.body_close = api_fn_body_close;
	srv.conn_gone = api_conn_gone;
	sbx_conn_gone = false;
}

/* Sends one request; hdrs are extra header lines ("Name: v\r\n"). */
static void send_req(const char *method, const char *path, const char *hdrs, const char *body)
{
	size_t blen = body ? strlen(body) : 0;
	int n = snprintf(reqbuf, sizeof reqbuf, "%s %s HTTP/1.1\r\nHost: t\r\n%s"
			 "Content-Length: %zu\r\n\r\n", method, path, hdrs ? hdrs : "", blen);
	http_conn_feed(&conn, (const uint8_t *)reqbuf, (size_t)n, 1);
	if (blen)
		http_conn_feed(&conn, (const uint8_t *)body, blen, 1);
}

static int status_of(const char *r)
{
	int s = 0;

	sscanf(r, "HTTP/1.1 %d", &s);
	return s;
}

static const char *auth = "Authorization: Bearer " ROOT_KEY "\r\n";

/* The canonical example policy, given to the API as sandboxd would. */
static void give_policy(bool in_fd)
{
	static struct policy_tokens pt;
	static struct policy p;
	static char canon[POLICY_CANON_MAX + 1];
	unsigned char *buf;
	size_t len;
	char err[128];

	if (file_read_alloc("examples/policy.json", POLICY_MAX_BYTES, &buf, &len) != 0 ||
	    policy_parse((char *)buf, len, &pt, &p, err, sizeof err) != 0)
		abort();
	free(buf);
	long n = policy_write(&p, canon, sizeof canon);
	api_fn_channel_up(&st);
	is_int(sbx_next(), SBX_POLICY, "a fresh channel: netd asks sandboxd for its policy");
	if (in_fd)
		sbx_answer_fd(200, canon, (size_t)n, true);
	else
		sbx_answer(200, NULL, NULL, canon);
	ok(st.fn.have_policy, "the policy (%s) is netd's", in_fd ? "memfd" : "inline");
}

/* --- routes: what sandboxd is asked ------------------------------------------------ */

struct rcase {
	const char *method, *path, *body;
	unsigned op;
	uint8_t shape;
	const char *id, *name;
	uint64_t arg;
	bool token;
};

static void test_mapping(void)
{
	static const struct rcase cases[] = {
		{ "GET", "/v1/functions", NULL, SBX_FN_LIST, SBX_SHAPE_V1, "", "", 0, true },
		{ "GET", "/api/functions", NULL, SBX_FN_LIST, SBX_SHAPE_SEED, "", "", 0, true },
		{ "GET", "/functions", NULL, SBX_FN_LIST, SBX_SHAPE_SEED, "", "", 1, false },
		{ "GET", "/v1/functions/fn-a", NULL, SBX_FN_GET, SBX_SHAPE_V1, "fn-a", "", 0, true },
		{ "GET", "/api/functions/fn-a", NULL, SBX_FN_GET, SBX_SHAPE_SEED, "fn-a", "", 0, true },
		{ "DELETE", "/v1/functions/fn-a", NULL, SBX_FN_DELETE, SBX_SHAPE_V1, "fn-a", "", 0, true },
		{ "DELETE", "/api/functions/fn_b", NULL, SBX_FN_DELETE, SBX_SHAPE_SEED, "fn_b", "", 0, true },
		{ "GET", "/v1/functions/fn-a/logs", NULL, SBX_FN_LOGS, SBX_SHAPE_V1, "fn-a", "", 0, true },
		{ "GET", "/v1/functions/fn-a/logs?from=77", NULL, SBX_FN_LOGS, SBX_SHAPE_V1, "fn-a", "", 77, true },
		{ "GET", "/api/logs/my-func", NULL, SBX_FN_LOGS, SBX_SHAPE_SEED, "my-func", "", 0, true },
		{ "GET", "/v1/secrets", NULL, SBX_SECRET_LIST, SBX_SHAPE_V1, "", "", 0, true },
		{ "GET", "/api/secrets", NULL, SBX_SECRET_LIST, SBX_SHAPE_SEED, "", "", 0, true },
		{ "DELETE", "/v1/secrets/API_KEY", NULL, SBX_SECRET_DELETE, SBX_SHAPE_V1, "", "API_KEY", 0, true },
		{ "DELETE", "/api/secrets/API_KEY", NULL, SBX_SECRET_DELETE, SBX_SHAPE_SEED, "", "API_KEY", 0, true },
		{ "GET", "/v1/tokens", NULL, SBX_TOKEN_LIST, SBX_SHAPE_V1, "", "", 0, true },
		{ "GET", "/api/keys", NULL, SBX_TOKEN_LIST, SBX_SHAPE_SEED, "", "", 0, true },
		{ "DELETE", "/v1/tokens/0011223344556677", NULL, SBX_TOKEN_DELETE, SBX_SHAPE_V1, "0011223344556677", "", 0, true },
		{ "DELETE", "/api/keys/0011223344556677", NULL, SBX_TOKEN_DELETE, SBX_SHAPE_SEED, "0011223344556677", "", 0, true },
		{ "POST", "/invoke/my-func", "{}", SBX_INVOKE, SBX_SHAPE_SEED, "my-func", "", 0, true },
		{ "POST", "/v1/functions/my-func/invoke", "{}", SBX_INVOKE, SBX_SHAPE_V1, "my-func", "", 0, true },
		{ "POST", "/api/secrets", "{\"name\":\"API_KEY\",\"value\":\"sk-1\"}", SBX_SECRET_PUT, SBX_SHAPE_SEED, "", "API_KEY", 0, true },
		{ "POST", "/v1/secrets", "{\"name\":\"API_KEY\",\"value\":\"sk-1\"}", SBX_SECRET_PUT, SBX_SHAPE_V1, "", "API_KEY", 0, true },
		{ "PUT", "/v1/secrets/API_KEY", "{\"name\":\"API_KEY\",\"value\":\"sk-1\"}", SBX_SECRET_PUT, SBX_SHAPE_V1, "", "API_KEY", 0, true },
		{ "POST", "/v1/tokens", "{\"name\":\"ci\",\"scopes\":[\"functions:read\"]}", SBX_TOKEN_CREATE, SBX_SHAPE_V1, "", "", 0, true },
		{ "POST", "/api/keys", "{\"name\":\"ci\",\"appName\":\"a\",\"permissions\":[\"logs:read\"]}", SBX_TOKEN_CREATE, SBX_SHAPE_SEED, "", "", 0, true },
	};
	uint8_t want[32];

	sha256_of(ROOT_KEY, strlen(ROOT_KEY), want);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct rcase *k = &cases[i];
		open_conn();
		send_req(k->method, k->path, auth, k->body);
		unsigned op = sbx_next();
		ok(op == k->op && sbx_req.shape == k->shape && strcmp(sbx_req.id, k->id) == 0 &&
		   strcmp(sbx_req.name, k->name) == 0 && sbx_req.arg == k->arg,
		   "%s %s -> op %u shape %u id '%s' name '%s' arg %llu", k->method, k->path, op,
		   sbx_req.shape, sbx_req.id, sbx_req.name, (unsigned long long)sbx_req.arg);
		ok(sbx_req.has_token == k->token &&
		   (!k->token || memcmp(sbx_req.token_sha256, want, 32) == 0),
		   "%s %s: %s", k->method, k->path,
		   k->token ? "the token's SHA-256 travels" : "public: no token");
		if (k->op == SBX_INVOKE) {
			sbx_answer(404, "not_found", "no function my-func", NULL);
			const char *r = answer_take();
			ok(status_of(r) == 404 && strstr(r, "\"code\":\"not_found\"") != NULL,
			   "%s %s: an unknown function is 404", k->method, k->path);
			continue;
		}
		sbx_answer(k->op == SBX_TOKEN_CREATE ? 201 : 200, NULL, NULL, "{\"ok\":true}");
		const char *r = answer_take();
		ok(status_of(r) == (k->op == SBX_TOKEN_CREATE ? 201 : 200) &&
		   strcmp(body_of(r), "{\"ok\":true}") == 0, "%s %s: sandboxd's answer passed on",
		   k->method, k->path);
	}
	/* the token request travels in its canonical form */
	open_conn();
	send_req("POST", "/v1/tokens", auth,
		 "{\"scopes\":[\"logs:read\",\"functions:invoke:fn-a\"],\"name\":\"ci\"}");
	size_t il;
	const char *in;
	is_int(sbx_next(), SBX_TOKEN_CREATE, "POST /v1/tokens");
	in = sbx_inline(&il);
	ok(il > 0 && strncmp(in, "{\"name\":\"ci\",\"appName\":\"\",\"permissions\":[", 41) == 0 &&
	   memmem(in, il, "functions:invoke:fn-a", 21) != NULL,
	   "the token request is canonical: %.*s", (int)il, in);
	sbx_answer(201, NULL, NULL, "{}");
	answer_take();
	/* a secret's value travels inline; netd's copy is wiped */
	open_conn();
	send_req("POST", "/api/secrets", auth, "{\"name\":\"API_KEY\",\"value\":\"sk-\\u0041\"}");
	is_int(sbx_next(), SBX_SECRET_PUT, "POST /api/secrets");
	in = sbx_inline(&il);
	ok(il == 4 && memcmp(in, "sk-A", 4) == 0, "the secret's value, decoded, inline");
	ok(st.fn.secret[0] == 0, "netd's copy of the value is wiped");
	sbx_answer(200, NULL, NULL, "{}");
	answer_take();
}

static void test_auth_and_errors(void)
{
	const char *r;

	/* sandboxd's verdicts */
	open_conn();
	send_req("GET", "/v1/secrets", NULL, NULL);
	sbx_next();
	ok(sbx_req.has_token == 0, "no Authorization: has_token 0");
	sbx_answer(401, "unauthorized", "a bearer token is required", NULL);
	r = answer_take();
	ok(status_of(r) == 401 && strstr(r, "\"code\":\"unauthorized\"") != NULL, "401 passed on: %s",
	   body_of(r));
	open_conn();
	send_req("GET", "/v1/secrets", "Authorization: Basic abc\r\n", NULL);
	sbx_next();
	ok(sbx_req.has_token == 0, "a malformed Authorization: has_token 0");
	sbx_answer(403, "forbidden", "the token lacks secrets:read", NULL);
	r = answer_take();
	ok(status_of(r) == 403 && strstr(r, "secrets:read") != NULL, "403 passed on");
	/* netd's own refusals name the field */
	static const struct { const char *m, *p, *body; int status; const char *needle; } bad[] = {
		{ "POST", "/api/functions", "{\"id\":\"f\",", 400, "invalid_json" },
		{ "POST", "/api/functions", "{\"runtime\":\"python\",\"code\":\"YQ==\"}", 400, "\"id" },
		{ "POST", "/v1/functions", "{\"id\":\"f\",\"runtime\":\"cobol\",\"code\":\"YQ==\"}", 400, "unknown_runtime" },
		{ "POST", "/v1/functions", "{\"id\":\"f\",\"runtime\":\"python\",\"code\":\"YQ==\",\"envVars\":[]}", 400, "envVars" },
		{ "PUT", "/v1/functions/g", "{\"id\":\"f\",\"runtime\":\"python\",\"code\":\"YQ==\"}", 400, "id: must be the id in the path" },
		{ "POST", "/api/secrets", "{\"name\":\"lower\",\"value\":\"x\"}", 400, "name" },
		{ "PUT", "/v1/secrets/OTHER", "{\"name\":\"API_KEY\",\"value\":\"x\"}", 400, "name: must be the name" },
		{ "POST", "/api/keys", "{\"name\":\"k\",\"permissions\":[\"root\"]}", 400, "permissions[0]" },
		{ "GET", "/api/functions/Bad!", NULL, 400, "id: must match" },
		{ "DELETE", "/api/secrets/lower", NULL, 400, "name: must match" },
		{ "DELETE", "/v1/tokens/xyz", NULL, 400, "id: a token id" },
		{ "GET", "/v1/functions/fn-a/logs?from=x", NULL, 400, "from: not a decimal" },
		{ "PATCH", "/v1/functions", NULL, 405, "method_not_allowed" },
		{ "POST", "/functions", NULL, 405, "Allow: GET, HEAD" },
		{ "OPTIONS", "/invoke/f", NULL, 405, "Allow: GET, POST" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		open_conn();
		send_req(bad[i].m, bad[i].p, auth, bad[i].body);
		r = answer_take();
		ok(status_of(r) == bad[i].status && strstr(r, bad[i].needle) != NULL &&
		   sbx_next() == 0, "%s %s: %d naming '%s', sandboxd not asked: %s", bad[i].m,
		   bad[i].p, bad[i].status, bad[i].needle, body_of(r));
	}
	/* GET /health is netd's own */
	open_conn();
	send_req("GET", "/health", NULL, NULL);
	r = answer_take();
	ok(status_of(r) == 200 && strncmp(body_of(r), "{\"status\":\"healthy\",\"uptime\":", 29) == 0,
	   "GET /health: %s", body_of(r));
}

/* --- deployments ------------------------------------------------------------------ */

/* The seed service's README quick start, as written (curl -d: form type). */
static void test_quick_start(void)
{
	static const char form[] = "Content-Type: application/x-www-form-urlencoded\r\n";
	char hdrs[256];
	const char *r;
	size_t il;

	snprintf(hdrs, sizeof hdrs, "%s%s", auth, form);
	open_conn();
	send_req("POST", "/api/secrets", hdrs, "{\"name\": \"API_KEY\", \"value\": \"sk-...\"}");
	is_int(sbx_next(), SBX_SECRET_PUT, "quick start 1: POST /api/secrets");
	ok(strcmp(sbx_req.name, "API_KEY") == 0 && sbx_req.shape == SBX_SHAPE_SEED, "name API_KEY, seed shape");
	sbx_answer(200, NULL, NULL, "{\"name\":\"API_KEY\",\"encryptedValue\":\"[ENCRYPTED]\","
		   "\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\"}");
	r = answer_take();
	ok(status_of(r) == 200 && strstr(r, "[ENCRYPTED]") != NULL, "200 with the seed's shape");

	/* def handler(event): return {"ok": True} */
	open_conn();
	send_req("POST", "/api/functions", hdrs,
		 "{\"id\": \"my-func\", \"runtime\": \"python\", \"code\": "
		 "\"ZGVmIGhhbmRsZXIoZXZlbnQpOiByZXR1cm4geyJvayI6IFRydWV9Cg==\", \"handler\": \"handler\"}");
	is_int(sbx_next(), SBX_FN_CREATE, "quick start 2: POST /api/functions");
	const char *in = sbx_inline(&il);
	ok(strcmp(sbx_req.id, "my-func") == 0 && il > 0 &&
	   strncmp(in, "{\"format\":1,\"id\":\"my-func\"", 26) == 0,
	   "the canonical declaration inline: %.*s", (int)(il > 120 ? 120 : il), in);
	ok(sbx_q.nfds == 1, "the code in a memfd");
	if (sbx_q.nfds == 1) {
		char code[128];
		int seals = fcntl(sbx_q.fds[0], F_GET_SEALS);
		ssize_t n = pread(sbx_q.fds[0], code, sizeof code, 0);
		static const char src[] = "def handler(event): return {\"ok\": True}\n";
		ok(n == (ssize_t)strlen(src) && memcmp(code, src, strlen(src)) == 0,
		   "the memfd holds the decoded code (%zd bytes)", n);
		ok(seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SHRINK) &&
		   (seals & F_SEAL_GROW), "the code memfd is sealed");
	}
	sbx_answer(201, NULL, NULL, "{\"id\":\"my-func\"}");
	r = answer_take();
	ok(status_of(r) == 201, "201 Created");

	open_conn();
	send_req("POST", "/invoke/my-func", form, "{\"input\": \"data\"}");
	is_int(sbx_next(), SBX_INVOKE, "quick start 3: POST /invoke/my-func (no token)");
	ok(sbx_req.has_token == 0 && strcmp(sbx_req.id, "my-func") == 0, "public invoke: sandboxd decides");
	sbx_answer(404, "not_found", "no function my-func", NULL);
	answer_take();

	open_conn();
	send_req("GET", "/api/logs/my-func", auth, NULL);
	is_int(sbx_next(), SBX_FN_LOGS, "quick start 4: GET /api/logs/my-func");
	sbx_answer(200, NULL, NULL, "line 1\nline 2\n");
	r = answer_take();
	ok(status_of(r) == 200 && strstr(r, "text/plain") != NULL &&
	   strcmp(body_of(r), "line 1\nline 2\n") == 0, "the function's log stream");
	ok(strstr(r, "X-DShield-Log-Offset: 0\r\n") && strstr(r, "X-DShield-Log-Next: 14\r\n"),
	   "  where it starts in the stream and where to go on");

	/* older bytes were dropped: sandboxd says where the body starts */
	open_conn();
	send_req("GET", "/api/logs/my-func?from=5", auth, NULL);
	is_int(sbx_next(), SBX_FN_LOGS, "GET /api/logs/my-func?from=5");
	{
		struct sbx_reply_msg m;
		memset(&m, 0, sizeof m);
		m.status = 200;
		m.worker = 70000;   /* SBX_FN_LOGS: the stream offset of the body's first byte */
		m.body_len = 3;
		sbx_send(&m, "abc", 3, NULL, 0);
		sbx_deliver();
	}
	r = answer_take();
	ok(status_of(r) == 200 && strstr(r, "X-DShield-Log-Offset: 70000\r\n") &&
	   strstr(r, "X-DShield-Log-Next: 70003\r\n") && strcmp(body_of(r), "abc") == 0,
	   "  a later start than asked is said (X-DShield-Log-Offset 70000, Next 70003)");
}

/* A deployment of tens of MiB, fed in pieces: streamed into a memfd, the
 * connection's own body buffer untouched. */
static void test_large(void)
{
	const size_t code_len = 30u << 20;
	size_t b64 = (code_len + 2) / 3 * 4;
	static const char pre[] = "{\"id\":\"big\",\"runtime\":\"node\",\"code\":\"";
	static const char post[] = "\"}";
	size_t total = sizeof pre - 1 + b64 + sizeof post - 1;
	char *body = malloc(total);
	uint8_t *code = malloc(code_len);
	uint8_t want[32], got[32];
	char head[256];

	for (size_t i = 0; i < code_len; i++)
		code[i] = (uint8_t)(i * 7 + (i >> 13));
	memcpy(body, pre, sizeof pre - 1);
	base64_encode(body + sizeof pre - 1, code, code_len);
	memcpy(body + sizeof pre - 1 + b64, post, sizeof post - 1);
	sha256_of(code, code_len, want);

	open_conn();
	memset(conn.body, 0xa5, sizeof conn.body);
	int n = snprintf(head, sizeof head, "PUT /v1/functions/big HTTP/1.1\r\nHost: t\r\n%s"
			 "Content-Length: %zu\r\n\r\n", auth, total);
	http_conn_feed(&conn, (const uint8_t *)head, (size_t)n, 1);
	unsigned uploads = st.fn.uploads;
	uint64_t t0 = mono_ms();
	for (size_t off = 0; off < total;) {
		size_t k = total - off < 65000 ? total - off : 65000;
		off += http_conn_feed(&conn, (const uint8_t *)body + off, k, 1);
	}
	diag("%zu body bytes fed, parsed, decoded and passed on in %llu ms", total,
	     (unsigned long long)(mono_ms() - t0));
	is_int(uploads, 1, "the body is streamed (one upload open while it arrives)");
	is_int(st.fn.uploads, 0, "and its memfd is closed once handled");
	bool untouched = true;
	for (size_t i = 0; i < sizeof conn.body; i++)
		untouched &= conn.body[i] == 0xa5;
	ok(untouched, "the connection's body buffer never held a byte of it");
	is_int(sbx_next(), SBX_FN_UPDATE, "PUT /v1/functions/big: SBX_FN_UPDATE");
	if (sbx_q.nfds == 1) {
		void *m = mmap(NULL, code_len, PROT_READ, MAP_PRIVATE, sbx_q.fds[0], 0);
		struct stat sb;
		fstat(sbx_q.fds[0], &sb);
		ok(m != MAP_FAILED && (size_t)sb.st_size == code_len, "a %zu-byte code memfd", code_len);
		if (m != MAP_FAILED) {
			sha256_of(m, code_len, got);
			ok(memcmp(got, want, 32) == 0, "its bytes are the decoded code");
			munmap(m, code_len);
		}
	} else {
		ok(0, "the code memfd came");
	}
	sbx_answer(200, NULL, NULL, "{}");
	ok(status_of(answer_take()) == 200, "200");

	/* past FN_BODY_MAX: 413 from the declared length, nothing asked */
	open_conn();
	n = snprintf(head, sizeof head, "POST /api/functions HTTP/1.1\r\nHost: t\r\n"
		     "Content-Length: %u\r\n\r\n", FN_BODY_MAX + 1);
	http_conn_feed(&conn, (const uint8_t *)head, (size_t)n, 1);
	const char *r = answer_take();
	ok(status_of(r) == 413 && strstr(r, "body_too_large") != NULL && sbx_next() == 0,
	   "a declared body over 44 MiB: 413 body_too_large");
	is_int(st.fn.uploads, 0, "its memfd is closed");
	/* and a chunked one that keeps coming */
	open_conn();
	n = snprintf(head, sizeof head, "POST /v1/functions HTTP/1.1\r\nHost: t\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n");
	http_conn_feed(&conn, (const uint8_t *)head, (size_t)n, 1);
	char chunk_head[32];
	size_t sent = 0;
	while (http_conn_state(&conn) == HTTP_CONN_READING && sent <= FN_BODY_MAX) {
		int h = snprintf(chunk_head, sizeof chunk_head, "%x\r\n", 1 << 20);
		http_conn_feed(&conn, (const uint8_t *)chunk_head, (size_t)h, 1);
		http_conn_feed(&conn, (const uint8_t *)body, 1 << 20, 1);
		http_conn_feed(&conn, (const uint8_t *)"\r\n", 2, 1);
		sent += 1 << 20;
	}
	r = answer_take();
	ok(status_of(r) == 413 && strstr(r, "body_too_large") != NULL,
	   "a chunked body past 44 MiB: 413 once it gets there (%zu MiB sent)", sent >> 20);
	is_int(st.fn.uploads, 0, "its memfd is closed");
	/* other routes keep their small limit */
	open_conn();
	n = snprintf(head, sizeof head, "POST /api/keys HTTP/1.1\r\nHost: t\r\n"
		     "Content-Length: 70000\r\n\r\n");
	http_conn_feed(&conn, (const uint8_t *)head, (size_t)n, 1);
	r = answer_take();
	ok(status_of(r) == 413 && strstr(r, "65536") != NULL, "POST /api/keys keeps the 64 KiB limit");
	free(body);
	free(code);
}

static void test_no_policy(void)
{
	api_fn_sandboxd_gone(&st);
	open_conn();
	send_req("POST", "/api/functions", auth, "{\"id\":\"f\",\"runtime\":\"python\",\"code\":\"YQ==\"}");
	const char *r = answer_take();
	ok(status_of(r) == 503 && strstr(r, "Retry-After: 1") != NULL && sbx_next() == 0,
	   "no policy yet: deployments are 503 with Retry-After");
}

/* --- invocations: a frames worker ------------------------------------------------ */

static int wk[2];   /* [0] netd's end (given away), [1] the worker's */
static struct frame_reader wr;
static uint8_t wbuf[1 << 20];

static void start_invoke(const char *path, const char *hdrs, const char *body, uint32_t out_max)
{
	open_conn();
	send_req("POST", path, hdrs, body);
	if (sbx_next() != SBX_INVOKE)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wk) != 0)
		abort();
	sbx_worker(SBX_WORKER_FRAMES, 42, &wk[0], 1, 5000, out_max);
	close(wk[0]);
	frame_reader_init(&wr, wbuf, sizeof wbuf, FN_FRAME_MAX, FN_FRAMES_TO_WORKER);
	sbx_pump(0);
}

/* The worker reads the INVOKE frame. */
static bool worker_read_invoke(void)
{
	uint8_t b[4096];

	for (int i = 0; i < 1000; i++) {
		ssize_t n = recv(wk[1], b, sizeof b, MSG_DONTWAIT);
		if (n > 0) {
			size_t used = 0;
			if (frame_feed(&wr, b, (size_t)n, &used) == 1)
				return wr.type == FN_FRAME_INVOKE;
		}
		sbx_pump(1);
	}
	return false;
}

static void worker_send(uint8_t type, const char *payload)
{
	uint8_t h[FRAME_HDR];

	frame_header(h, type, (uint32_t)strlen(payload));
	if (write(wk[1], h, sizeof h) != (ssize_t)sizeof h ||
	    write(wk[1], payload, strlen(payload)) != (ssize_t)strlen(payload))
		abort();
	sbx_pump(1);
}

static void test_frames(void)
{
	const char *r;

	start_invoke("/invoke/fn-a?x=1&y=a%20b&x=2",
		     "Authorization: Bearer secret\r\nX-Trace: t1\r\nx-trace: t2\r\n"
		     "Content-Type: application/json\r\n", "{\"input\": [1,2]}", 65536);
	ok(worker_read_invoke(), "the worker got an INVOKE frame");
	wbuf[wr.len] = 0;
	const char *j = (const char *)wbuf;
	ok(strncmp(j, "{\"id\":\"", 7) == 0 && j[7 + 8] == '-' && j[7 + 14] == '4',
	   "a fresh UUID v4 id");
	ok(strstr(j, "\"functionId\":\"fn-a\",\"method\":\"POST\",\"path\":\"/invoke/fn-a\"") != NULL,
	   "functionId, method, path");
	ok(strstr(j, "\"x-trace\":\"t1, t2\"") != NULL && strstr(j, "\"content-type\":\"application/json\"") != NULL,
	   "headers: lower-case names, repeated ones joined");
	ok(strstr(j, "uthorization") == NULL && strstr(j, "secret") == NULL, "never the caller's authorization");
	ok(strstr(j, "\"body\":{\"input\": [1,2]}") != NULL, "a JSON body, parsed (as JSON)");
	ok(strstr(j, "\"query\":{\"x\":\"1\",\"y\":\"a b\"}") != NULL, "the query, decoded, first of a name");
	diag("INVOKE %s", j);
	worker_send(FN_FRAME_RESULT, "{\"statusCode\":201,\"headers\":{\"X-A\":\"1\"},\"body\":{\"ok\":true}}");
	r = answer_take();
	ok(status_of(r) == 201 && strstr(r, "X-A: 1\r\n") && strstr(r, "X-DShield-Invocation-Id: ") &&
	   strstr(r, "X-DShield-Duration-Ms: ") && strcmp(body_of(r), "{\"ok\":true}") == 0,
	   "RESULT: the function's status, headers and body, with dshield's headers");
	ok(sbx_dones == 1 && sbx_last_done.worker == 42 && sbx_last_done.outcome == SBX_DONE_OK,
	   "DONE OK for worker 42");
	is_int(sbx_watched(), 0, "the worker's descriptor left the loop");
	close(wk[1]);

	/* a raw body and no body */
	start_invoke("/v1/functions/fn-a/invoke", NULL, "plain text", 65536);
	ok(worker_read_invoke() && memmem(wbuf, wr.len, "\"body\":\"plain text\"", 19) != NULL,
	   "a body that is not JSON: the raw string");
	worker_send(FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{},\"body\":\"hi\"}");
	r = answer_take();
	ok(status_of(r) == 200 && strstr(r, "text/html; charset=utf-8") && strcmp(body_of(r), "hi") == 0,
	   "a string body as Express sent it");
	close(wk[1]);
	start_invoke("/invoke/fn-a", NULL, NULL, 65536);
	ok(worker_read_invoke() && memmem(wbuf, wr.len, "\"body\"", 6) == NULL, "no body: absent");

	/* ERROR */
	worker_send(FN_FRAME_ERROR, "{\"message\":\"boom\"}");
	r = answer_take();
	ok(status_of(r) == 500 && strstr(r, "\"code\":\"function_error\",\"message\":\"boom\""),
	   "ERROR: 500 function_error with the message");
	ok(sbx_last_done.outcome == SBX_DONE_OK, "the worker lives on (DONE OK)");
	close(wk[1]);

	/* garbage */
	start_invoke("/invoke/fn-a", NULL, "{}", 65536);
	worker_read_invoke();
	if (write(wk[1], "\0\0\0\2\x63{}", 7) != 7)
		abort();
	sbx_pump(1);
	r = answer_take();
	ok(status_of(r) == 502 && strstr(r, "worker_crashed"), "garbage: 502 worker_crashed");
	ok(sbx_last_done.outcome == SBX_DONE_BROKEN, "DONE BROKEN");
	close(wk[1]);

	/* EOF mid-frame, then without WORKER_END (the grace runs out) */
	start_invoke("/invoke/fn-a", NULL, "{}", 65536);
	worker_read_invoke();
	if (write(wk[1], "\0\0\0\x10\x04{", 6) != 6)
		abort();
	close(wk[1]);
	sbx_pump(1);
	r = answer_take();
	ok(status_of(r) == 502 && strstr(r, "cut short"), "EOF inside a frame: 502 worker_crashed");
	start_invoke("/invoke/fn-a", NULL, "{}", 65536);
	worker_read_invoke();
	close(wk[1]);
	sbx_pump(1);
	ok(http_conn_state(&conn) == HTTP_CONN_PENDING, "EOF between frames: netd waits for WORKER_END");
	api_fn_tick(&st, mono_ms() + API_FN_END_GRACE_MS + 1);
	r = answer_take();
	ok(status_of(r) == 502 && strstr(r, "closed its connection") &&
	   sbx_last_done.outcome == SBX_DONE_BROKEN, "no WORKER_END: 502 worker_crashed, DONE BROKEN");

	/* oversized */
	start_invoke("/invoke/fn-a", NULL, "{}", 100);
	worker_read_invoke();
	worker_send(FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{},\"body\":\""
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
	r = answer_take();
	ok(status_of(r) == 502 && strstr(r, "output_too_large") && sbx_last_done.outcome == SBX_DONE_BROKEN,
	   "a result over output_max: 502 output_too_large, DONE BROKEN");
	close(wk[1]);

	/* an invalid result */
	start_invoke("/invoke/fn-a", NULL, "{}", 65536);
	worker_read_invoke();
	worker_send(FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{\"X\":\"a\\r\\nB: c\"}}");
	r = answer_take();
	ok(status_of(r) == 502 && strstr(r, "bad_result"), "a header with CR LF: 502 bad_result");
	close(wk[1]);

	/* a result larger than the output buffer: streamed */
	static char big[60000 + 128];
	int bn = snprintf(big, sizeof big, "{\"statusCode\":200,\"headers\":{},\"body\":\"");
	memset(big + bn, 'z', 50000);
	strcpy(big + bn + 50000, "\"}");
	start_invoke("/invoke/fn-a", NULL, "{}", 1 << 20);
	worker_read_invoke();
	worker_send(FN_FRAME_RESULT, big);
	r = answer_take();
	ok(status_of(r) == 200 && strlen(body_of(r)) == 50000 && strstr(r, "Content-Length: 50000") &&
	   strstr(r, "X-DShield-Receipt: ") != NULL,
	   "a 50000-byte body: streamed past the 24 KiB output buffer, with its receipt");
	ok(st.fn.invs[0].state == INV_FREE, "and the invocation's memory is released");
	close(wk[1]);

	/* the output budget: a slot holding 32 MiB of it leaves no room */
	static uint8_t dummy;
	struct api_fn_inv *hog = &st.fn.invs[API_FN_INVOKES - 1];
	hog->state = INV_STREAMING;
	hog->conn_id = 999;
	hog->mem = &dummy;
	hog->in_cap = API_FN_OUTPUT_BUDGET;
	unsigned dones = sbx_dones;
	start_invoke("/invoke/fn-a", NULL, "{}", 65536);
	r = answer_take();
	ok(status_of(r) == 503 && strstr(r, "busy") && sbx_dones == dones + 1 &&
	   sbx_last_done.outcome == SBX_DONE_OK, "past the output budget: 503 busy, the worker back OK");
	memset(hog, 0, sizeof *hog);
	hog->fd_io = hog->fd_out = -1;
	close(wk[1]);
}

static void test_worker_end(void)
{
	static const struct { uint8_t reason; int32_t status; int http; const char *needle; } ends[] = {
		{ SBX_END_TIMEOUT, 0, 504, "Function timed out after 5000ms" },
		{ SBX_END_OOM, 0, 500, "out_of_memory" },
		{ SBX_END_PIDS, 0, 500, "pids_exhausted" },
		{ SBX_END_SIGNAL, 11, 502, "signal 11 (SIGSEGV)" },
		{ SBX_END_EXIT, 70, 502, "exited with status 70" },
	};
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		start_invoke("/invoke/fn-a", NULL, "{}", 65536);
		worker_read_invoke();
		sbx_worker_end(42, ends[i].reason, ends[i].status);
		const char *r = answer_take();
		ok(status_of(r) == ends[i].http && strstr(r, ends[i].needle),
		   "WORKER_END %u: %d naming '%s'", ends[i].reason, ends[i].http, ends[i].needle);
		close(wk[1]);
	}
	/* netd's own timeout */
	start_invoke("/invoke/fn-a", NULL, "{}", 65536);
	worker_read_invoke();
	api_fn_tick(&st, mono_ms() + 5000 + API_FN_TIMEOUT_GRACE_MS + 1);
	const char *r = answer_take();
	ok(status_of(r) == 504 && strstr(r, "\"code\":\"timeout\"") &&
	   sbx_last_done.outcome == SBX_DONE_TIMEOUT, "no answer in time: 504 timeout, DONE TIMEOUT");
	close(wk[1]);
	/* the client leaves */
	start_invoke("/invoke/fn-a", NULL, "{}", 65536);
	worker_read_invoke();
	sbx_conn_gone = true;
	http_conn_release(&conn);
	ok(sbx_last_done.outcome == SBX_DONE_CLIENT_GONE && sbx_watched() == 0,
	   "the client left: DONE CLIENT_GONE, descriptors out of the loop");
	close(wk[1]);
	/* ... before sandboxd answered */
	open_conn();
	send_req("POST", "/invoke/fn-a", NULL, "{}");
	sbx_next();
	sbx_conn_gone = true;
	http_conn_release(&conn);
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
		abort();
	sbx_worker(SBX_WORKER_FRAMES, 43, &pair[0], 1, 5000, 65536);
	ok(sbx_last_done.worker == 43 && sbx_last_done.outcome == SBX_DONE_CLIENT_GONE,
	   "a worker that arrives for a client gone goes back at once");
	close(pair[0]);
	close(pair[1]);
}

/* --- a native worker over pipes ------------------------------------------------------ */

static void test_native(void)
{
	static const struct { int32_t reason, status; const char *out; int http; const char *needle; } runs[] = {
		{ SBX_END_EXIT, 0, "hello from stdout", 200, "hello from stdout" },
		{ SBX_END_EXIT, 3, "x", 502, "exited with status 3" },
		{ SBX_END_SIGNAL, 9, "", 502, "signal 9 (SIGKILL)" },
	};
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		int in[2], outp[2], fds[2];
		char got[64];
		if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0)
			abort();
		open_conn();
		send_req("POST", "/invoke/nat", NULL, "stdin bytes");
		sbx_next();
		fds[0] = in[1];
		fds[1] = outp[0];
		sbx_worker(SBX_WORKER_NATIVE, 50 + i, fds, 2, 5000, 4096);
		close(in[1]);
		close(outp[0]);
		sbx_pump(1);
		ssize_t n = read(in[0], got, sizeof got);
		ok(n == 11 && memcmp(got, "stdin bytes", 11) == 0 && read(in[0], got, 1) == 0,
		   "native: the body on stdin, then EOF");
		if (write(outp[1], runs[i].out, strlen(runs[i].out)) < 0)
			abort();
		close(outp[1]);
		sbx_pump(1);
		ok(http_conn_state(&conn) == HTTP_CONN_PENDING, "stdout EOF: waiting for how it ended");
		sbx_worker_end(50 + i, (uint8_t)runs[i].reason, runs[i].status);
		const char *r = answer_take();
		ok(status_of(r) == runs[i].http && strstr(r, runs[i].needle) &&
		   strstr(r, "X-DShield-Receipt: ") != NULL,
		   "native end %d/%d: %d naming '%s', with its receipt", runs[i].reason, runs[i].status, runs[i].http,
		   runs[i].needle);
		close(in[0]);
	}
	/* stdout over the limit */
	int in[2], outp[2], fds[2];
	static char lots[8192];
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0)
		abort();
	open_conn();
	send_req("POST", "/invoke/nat", NULL, NULL);
	sbx_next();
	fds[0] = in[1];
	fds[1] = outp[0];
	sbx_worker(SBX_WORKER_NATIVE, 60, fds, 2, 5000, 4096);
	close(in[1]);
	close(outp[0]);
	memset(lots, 'o', sizeof lots);
	if (write(outp[1], lots, sizeof lots) < 0)
		abort();
	sbx_pump(1);
	const char *r = answer_take();
	ok(status_of(r) == 502 && strstr(r, "output_too_large") && sbx_last_done.outcome == SBX_DONE_BROKEN,
	   "native stdout over output_max: 502 output_too_large, DONE BROKEN");
	close(outp[1]);
	close(in[0]);
}

/* --- receipts: every invocation that ran is logged and signed ------------------------ */

/* Header name's value in response r, into v (cap bytes); false when absent. */
static bool header_of(const char *r, const char *name, char *v, size_t cap)
{
	char want[64];
	const char *p, *end = strstr(r, "\r\n\r\n");
	size_t n;

	snprintf(want, sizeof want, "\r\n%s: ", name);
	p = strstr(r, want);
	if (p == NULL || end == NULL || p > end)
		return false;
	p += strlen(want);
	n = strcspn(p, "\r");
	if (n >= cap)
		return false;
	memcpy(v, p, n);
	v[n] = '\0';
	return true;
}

/* The receipt of response r (its X-DShield-Receipt), opened with K. */
static bool receipt_of(const char *r, struct receipt *rc)
{
	static char b64[API_RECEIPT_B64_MAX], note_b[RECEIPT_NOTE_MAX + 4];
	char err[ERRBUF_LEN];
	long n;

	if (!header_of(r, "X-DShield-Receipt", b64, sizeof b64))
		return false;
	n = base64_decode(note_b, sizeof note_b, b64, strlen(b64));
	return n > 0 && receipt_open(note_b, (size_t)n, &K.k, rc, err, sizeof err) == 0;
}

/* One frames invocation of fn-r with body in, up to the worker's
 * answer (RESULT with payload, or ERROR when error). */
static void run_to_answer(const char *in, uint8_t type, const char *payload)
{
	start_invoke("/v1/functions/fn-r/invoke", NULL, in, 65536);
	worker_read_invoke();
	worker_send(type, payload);
}

static void test_receipts(void)
{
	static const char in[] = "{\"n\":7}";
	struct log_entry e;
	struct receipt rc;
	uint8_t h_in[32], h_out[32];
	char inv_id[64], idx[32], err[ERRBUF_LEN];
	const char *r;
	bool facts;

	memset(sbx_code_sha256, 0x5a, 32);
	sha256_of(in, strlen(in), h_in);
	logd_open();

	/* a result: held until logd has the entry and keyd signed */
	run_to_answer(in, FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{},\"body\":\"out!\"}");
	ok(http_conn_state(&conn) == HTTP_CONN_PENDING && sbx_last_done.outcome == SBX_DONE_OK,
	   "a result: the worker is back (DONE OK), the client waits for the receipt");
	static uint8_t appended[IMSG_MAX_PAYLOAD];   /* e points into it: logd_q is reused */
	ok(logd_next() == IMSG_LOG_APPEND && memcpy(appended, logd_q.payload, logd_q.hdr.len) &&
	   log_entry_decode(appended, logd_q.hdr.len, &e, err, sizeof err) == 0,
	   "netd appends an entry first");
	sha256_of("out!", 4, h_out);
	ok(e.version == 2 && e.type == LOG_INVOCATION && e.u.invocation.function.len == 4 &&
	   memcmp(e.u.invocation.function.p, "fn-r", 4) == 0 && e.u.invocation.status == 200 &&
	   memcmp(e.u.invocation.code, sbx_code_sha256, 32) == 0 &&
	   memcmp(e.u.invocation.input, h_in, 32) == 0 &&
	   memcmp(e.u.invocation.output, h_out, 32) == 0,
	   "the entry: v2 invocation of fn-r, status 200, the code, input and output hashes");
	ok(!keyd_has_q && take()[0] == '\0', "nothing delivered, keyd not asked before logd answered");
	struct log_appended_msg a = { .error = 0, .index = 41 };
	logd_answer(IMSG_LOG_APPENDED, &a, sizeof a);
	logd_deliver();
	ok(!keyd_has_q && logd_found_alone(41) == IMSG_LOG_FIND_REQ && keyd_has_q &&
	   keyd_q.record[0] == 41 && keyd_q.nrecords == 1,
	   "once durable, its records are found; then keyd is asked to sign over index 41");
	keyd_answer();
	r = take();
	facts = receipt_of(r, &rc) && header_of(r, "X-DShield-Invocation-Id", inv_id, sizeof inv_id) &&
		header_of(r, "X-DShield-Log-Index", idx, sizeof idx);
	ok(status_of(r) == 200 && strcmp(body_of(r), "out!") == 0 && facts && strcmp(idx, "41") == 0,
	   "200 with the body, X-DShield-Receipt (it opens with the log key) and Log-Index 41");
	ok(facts && strcmp(rc.function, "fn-r") == 0 && strcmp(rc.invocation, inv_id) == 0 &&
	   strlen(e.u.invocation.invocation.p) >= 36 &&
	   memcmp(e.u.invocation.invocation.p, inv_id, 36) == 0 &&
	   memcmp(rc.code, sbx_code_sha256, 32) == 0 && memcmp(rc.input, h_in, 32) == 0 &&
	   memcmp(rc.output, h_out, 32) == 0 && rc.status == 200 && rc.nrecords == 1 &&
	   rc.record[0] == 41 && rc.time_ns == e.time_ns,
	   "the receipt names fn-r, the invocation id, the code, input and output hashes, "
	   "status 200 and the entry");
	ok(st.fn.invs[0].state == INV_FREE, "the invocation's slot is free");
	close(wk[1]);

	/* an ERROR gets its entry and receipt too: the hash of the error body */
	run_to_answer(in, FN_FRAME_ERROR, "{\"message\":\"boom\"}");
	r = answer_take();
	sha256_of(body_of(r), strlen(body_of(r)), h_out);
	ok(status_of(r) == 500 && strstr(r, "function_error") && receipt_of(r, &rc) &&
	   rc.status == 500 && memcmp(rc.output, h_out, 32) == 0,
	   "ERROR: 500 with a receipt over exactly the error body sent");
	close(wk[1]);

	/* so does a timeout (netd's own) */
	start_invoke("/invoke/fn-r", NULL, in, 65536);
	worker_read_invoke();
	api_fn_tick(&st, mono_ms() + 5000 + API_FN_TIMEOUT_GRACE_MS + 1);
	r = answer_take();
	sha256_of(body_of(r), strlen(body_of(r)), h_out);
	ok(status_of(r) == 504 && receipt_of(r, &rc) && rc.status == 504 &&
	   memcmp(rc.output, h_out, 32) == 0, "a timeout: 504 with its receipt");
	close(wk[1]);

	/* logd refuses the entry: 503 log_refused, nothing of the result */
	run_to_answer(in, FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{},\"body\":\"secret-out\"}");
	unsigned asked = keyd_questions;
	logd_appended(-EIO);
	r = take();
	ok(status_of(r) == 503 && strstr(r, "\"code\":\"log_refused\"") && strstr(r, "Retry-After: 1") &&
	   strstr(r, "secret-out") == NULL && strstr(r, "X-DShield-Receipt") == NULL &&
	   keyd_questions == asked, "logd refuses: 503 log_refused, no output, keyd not asked");
	ok(st.fn.invs[0].state == INV_FREE, "and the slot is free");
	close(wk[1]);

	/* keyd refuses to sign: 503 receipt_unavailable, nothing of the result */
	run_to_answer(in, FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{},\"body\":\"secret-out\"}");
	keyd_mode = -ENOKEY;
	r = answer_take();
	keyd_mode = 0;
	ok(status_of(r) == 503 && strstr(r, "\"code\":\"receipt_unavailable\"") &&
	   strstr(r, "secret-out") == NULL && strstr(r, "X-DShield-Receipt") == NULL,
	   "keyd refuses: 503 receipt_unavailable, no output");
	close(wk[1]);

	/* no logd at all */
	logd_close();
	run_to_answer(in, FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{},\"body\":\"secret-out\"}");
	r = take();
	ok(status_of(r) == 503 && strstr(r, "log_refused") && strstr(r, "secret-out") == NULL,
	   "no logd: 503 log_refused, no output");
	close(wk[1]);
	logd_open();

	/* logd never answers: netd gives up before the connection's deadline */
	run_to_answer(in, FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{},\"body\":\"secret-out\"}");
	ok(logd_next() == IMSG_LOG_APPEND && api_fn_next_deadline(&st) != UINT64_MAX,
	   "an unanswered append: a deadline is set");
	api_fn_tick(&st, mono_ms() + API_FN_RECEIPT_MS + 1);
	r = take();
	ok(status_of(r) == 503 && strstr(r, "receipt_unavailable") && strstr(r, "secret-out") == NULL &&
	   st.fn.invs[0].state == INV_FREE, "past API_FN_RECEIPT_MS: 503, no output, the slot free");
	close(wk[1]);

	/* the client leaves while the receipt is under way */
	run_to_answer(in, FN_FRAME_RESULT, "{\"statusCode\":200,\"headers\":{},\"body\":\"x\"}");
	sbx_conn_gone = true;
	http_conn_release(&conn);
	ok(st.fn.invs[0].state == INV_FREE, "the client left: the held answer is freed");
	close(wk[1]);
	logd_open();
}

/* --- replies in a memfd; sandboxd gone ----------------------------------------------- */

static void test_memfd_and_gone(void)
{
	static char list[40000];
	const char *r;

	memset(list, ' ', sizeof list);
	memcpy(list, "{\"functions\":[", 14);
	memcpy(list + sizeof list - 2, "]}", 2);
	open_conn();
	send_req("GET", "/v1/functions", auth, NULL);
	sbx_next();
	sbx_answer_fd(200, list, sizeof list, true);
	r = answer_take();
	ok(status_of(r) == 200 && strlen(body_of(r)) == sizeof list &&
	   memcmp(body_of(r), list, sizeof list) == 0, "a 40000-byte answer from a memfd, streamed");
	open_conn();
	send_req("GET", "/v1/functions", auth, NULL);
	sbx_next();
	sbx_answer_fd(200, list, sizeof list, false);
	r = answer_take();
	ok(status_of(r) == 502 && strstr(r, "sealed"), "an unsealed memfd is refused (502)");

	/* sandboxd goes away with a request of ours */
	open_conn();
	send_req("GET", "/v1/functions", auth, NULL);
	sbx_next();
	api_fn_lost(&st, &conn, sbx_q.hdr.id);
	r = answer_take();
	ok(status_of(r) == 503 && strstr(r, "Retry-After: 1") && strstr(r, "unavailable"),
	   "sandboxd gone before answering: 503 unavailable with Retry-After");
	sbx_close();
	open_conn();
	send_req("GET", "/api/keys", auth, NULL);
	r = answer_take();
	ok(status_of(r) == 503 && strstr(r, "not running"), "no sandboxd: 503");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	st.request_sbx = fake_request_sbx;
	st.sbx_done = fake_sbx_done;
	st.watch_fd = fake_watch_fd;
	st.find_conn = fake_find_conn;
	st.request_log = fake_request_log;
	st.log.request_keyd = fake_request_keyd;
	tg_key_init(&K, "test.example/log", "api-fn-test");
	keyd_key = &K;
	logd_open();
	api_fn_init(&st);
	sbx_open();
	give_policy(true);
	give_policy(false);
	test_mapping();
	test_auth_and_errors();
	test_quick_start();
	test_large();
	test_frames();
	test_worker_end();
	test_native();
	test_receipts();
	test_no_policy();
	test_memfd_and_gone();
	return tap_done();
}
