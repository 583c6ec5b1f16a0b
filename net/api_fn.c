/* net/api_fn.c: the function, secret and token routes and invocations;
 * see api_fn.h and docs/API.md ("Functions").
 *
 * A management call is one request to sandboxd (an operation of the
 * connection, matched by its sequence number) and one answer, inline or
 * a sealed memfd that is mapped read-only and streamed out. An invocation
 * is a small state machine on the worker's descriptors:
 *
 *   ASKED      SBX_INVOKE sent; the reply brings the descriptors
 *   RUNNING    the request is written (EPOLLOUT), the answer read (EPOLLIN)
 *              into one mapping bounded by the function's output limit
 *   ENDING     EOF (or a native program's stdout done): waiting for
 *              WORKER_END to say how it ended
 *   STREAMING  answered, DONE sent; a large body is still going out
 *
 * Nothing the worker or sandboxd sends is trusted: frames are bounded
 * before their payload is read (lib/frame.h), results checked by
 * lib/fn_result.h, reply lengths by netd.c and the memfd's size and seals
 * here.
 */

#include "net/api_fn.h"
#include "net/api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bearssl_hash.h>

#include "lib/clock.h"
#include "lib/fn_result.h"
#include "lib/jsonw.h"
#include "lib/log.h"
#include "lib/random.h"
#include "lib/utf8.h"
#include "proto/fn_frame.h"

#define RETRY "Retry-After: 1\r\n"

/* --- small helpers ------------------------------------------------------------ */

static struct http_conn *conn_find(struct api_state *st, uint32_t id)
{
	return st->find_conn ? st->find_conn(st->ctx, id) : NULL;
}

static void kick(struct api_state *st, struct http_conn *c)
{
	if (st->kick && c)
		st->kick(st->ctx, c);
}

static bool pending(const struct http_conn *c)
{
	return c != NULL && http_conn_state(c) == HTTP_CONN_PENDING;
}

static struct api_fn_op *op_of(struct api_state *st, uint32_t conn_id)
{
	for (size_t i = 0; i < API_FN_OPS; i++)
		if (st->fn.ops[i].kind != FNOP_FREE && st->fn.ops[i].conn_id == conn_id)
			return &st->fn.ops[i];
	return NULL;
}

static void inv_release(struct api_state *st, struct api_fn_inv *inv);

static void op_free(struct api_state *st, struct api_fn_op *op)
{
	if (op->map != NULL)
		munmap(op->map, op->map_len);
	if (op->inv >= 0 && st->fn.invs[op->inv].state == INV_STREAMING)
		inv_release(st, &st->fn.invs[op->inv]);
	memset(op, 0, sizeof *op);
	op->inv = -1;
}

/* A slot for c's operation (one per connection: an older one of c's is
 * replaced); NULL when every slot is taken by a live connection. */
static struct api_fn_op *op_new(struct api_state *st, uint32_t conn_id, uint8_t kind)
{
	struct api_fn_op *free_op = NULL;

	for (size_t i = 0; i < API_FN_OPS; i++) {
		struct api_fn_op *op = &st->fn.ops[i];
		if (op->kind != FNOP_FREE &&
		    (op->conn_id == conn_id ||
		     (st->find_conn != NULL && conn_find(st, op->conn_id) == NULL)))
			op_free(st, op);
		if (op->kind == FNOP_FREE && free_op == NULL)
			free_op = op;
	}
	if (free_op != NULL) {
		free_op->kind = kind;
		free_op->conn_id = conn_id;
		free_op->inv = -1;
	}
	return free_op;
}

/* A 4xx/5xx from sandboxd's reply or our own. */
static void answer_error(struct http_conn *c, int status, const char *code, const char *msg)
{
	http_respond_error_hdr(c, status, code, msg, status == 503 ? RETRY : NULL);
}

static const char *why_unasked(int rc)
{
	return rc == -ENOTCONN ? "sandboxd is not running (it is being restarted)" :
	       rc == -EBUSY ? "too many requests in flight" : strerror(-rc);
}

void api_fn_init(struct api_state *st)
{
	memset(st->fn.ops, 0, sizeof st->fn.ops);
	for (size_t i = 0; i < API_FN_OPS; i++)
		st->fn.ops[i].inv = -1;
	memset(st->fn.invs, 0, sizeof st->fn.invs);
	for (size_t i = 0; i < API_FN_INVOKES; i++)
		st->fn.invs[i].fd_io = st->fn.invs[i].fd_out = -1;
	st->fn.have_policy = false;
	st->fn.policy_seq = 0;
	st->fn.uploads = 0;
	st->start_ms = mono_ms();
}

/* --- the bearer token ---------------------------------------------------------- */

static void sha256_of(const void *p, size_t n, uint8_t out[32])
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, out);
}

uint8_t api_fn_token_hash(const struct http_request *req, uint8_t sha[32])
{
	const char *a = http_header(req, "authorization");
	size_t n;

	memset(sha, 0, 32);
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	while (*a == ' ')
		a++;
	n = strlen(a);
	if (n == 0 || strpbrk(a, " \t") != NULL)
		return 0;
	sha256_of(a, n, sha);
	return 1;
}

/* --- asking sandboxd --------------------------------------------------------- */

static struct sbx_req_msg *req_begin(struct api_state *st, const struct http_request *r,
				     uint16_t op, uint8_t shape)
{
	struct sbx_req_msg *m = (struct sbx_req_msg *)st->fn.msg;

	memset(m, 0, sizeof *m);
	m->op = op;
	m->shape = shape;
	if (r != NULL)
		m->has_token = api_fn_token_hash(r, m->token_sha256);
	return m;
}

static uint8_t *req_inline(struct api_state *st)
{
	return st->fn.msg + sizeof(struct sbx_req_msg);
}

/* Sends the request in st->fn.msg (inline_len set) with fd (or -1); on
 * success *seq is its number. Failure: 503 answered. */
static bool req_send(struct api_state *st, struct http_conn *c, int fd, uint32_t *seq)
{
	struct sbx_req_msg *m = (struct sbx_req_msg *)st->fn.msg;
	char msg[128];
	int rc = -ENOSYS;

	if (st->request_sbx)
		rc = st->request_sbx(st->ctx, c ? c->id : 0, m, sizeof *m + m->inline_len, fd, seq);
	if (rc == 0)
		return true;
	if (c != NULL) {
		snprintf(msg, sizeof msg, "cannot ask sandboxd: %s", why_unasked(rc));
		answer_error(c, 503, "unavailable", msg);
	}
	return false;
}

/* A management request for c: sent, and c waits for the reply. */
static void ask(struct api_state *st, struct http_conn *c, int fd)
{
	struct sbx_req_msg *m = (struct sbx_req_msg *)st->fn.msg;
	struct api_fn_op *op = op_new(st, c->id, FNOP_REQ);
	uint32_t seq;

	if (op == NULL) {
		answer_error(c, 503, "busy", "too many requests in flight");
		return;
	}
	if (!req_send(st, c, fd, &seq)) {
		op_free(st, op);
		return;
	}
	op->seq = seq;
	op->sbx_op = m->op;
}

void api_fn_channel_up(struct api_state *st)
{
	uint32_t seq;

	st->fn.have_policy = false;
	req_begin(st, NULL, SBX_POLICY, SBX_SHAPE_V1);
	st->fn.policy_seq = req_send(st, NULL, -1, &seq) ? seq : 0;
}

/* --- path pieces --------------------------------------------------------------- */

static bool id_ok(struct http_conn *c, const char *id)
{
	if (fn_id_valid(id, strlen(id)))
		return true;
	http_respond_error(c, 400, "invalid_field", "id: must match [a-z0-9][a-z0-9_-]{0,62}");
	return false;
}

static bool secret_name_ok(struct http_conn *c, const char *name)
{
	if (policy_secret_name_valid(name, strlen(name)))
		return true;
	http_respond_error(c, 400, "invalid_field",
			   "name: must match ^[A-Z_][A-Z0-9_]*$ (1 to 64 bytes)");
	return false;
}

static bool token_id_ok(struct http_conn *c, const char *id)
{
	size_t n = strlen(id);

	if (n == FN_TOKEN_ID_LEN && strspn(id, "0123456789abcdef") == n)
		return true;
	http_respond_error(c, 400, "invalid_field", "id: a token id is 16 lowercase hex digits");
	return false;
}

/* --- request bodies ---------------------------------------------------------- */

/* What body limit a route takes; 0: the core's default (in memory). */
static size_t body_limit_of(llhttp_method_t m, const char *path)
{
	static const char *const fn[] = { "/api/functions", "/v1/functions" };

	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(fn[i]);
		if (strncmp(path, fn[i], n) != 0)
			continue;
		if (m == HTTP_POST && path[n] == '\0')
			return FN_BODY_MAX;
		if (m == HTTP_PUT && path[n] == '/' && strchr(path + n + 1, '/') == NULL)
			return FN_BODY_MAX;
	}
	if (m == HTTP_POST && (strcmp(path, "/api/secrets") == 0 || strcmp(path, "/v1/secrets") == 0))
		return FN_SECRET_BODY_MAX;
	if (m == HTTP_PUT && strncmp(path, "/v1/secrets/", 12) == 0 && strchr(path + 12, '/') == NULL)
		return FN_SECRET_BODY_MAX;
	return 0;
}

long api_fn_body_open(void *state, struct http_conn *c, llhttp_method_t method, const char *url,
		      int *fd)
{
	struct api_state *st = state;
	char path[HTTP_MAX_URL + 1];
	size_t lim;

	(void)c;
	snprintf(path, sizeof path, "%s", url);
	path[strcspn(path, "?#")] = '\0';
	lim = body_limit_of(method, path);
	if (lim == 0)
		return 0;
	if (st->fn.uploads >= API_FN_UPLOADS)
		return -EBUSY;
	*fd = memfd_create("dshield-body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0)
		return -errno;
	st->fn.uploads++;
	return (long)lim;
}

void api_fn_body_close(void *state, struct http_conn *c, int fd)
{
	struct api_state *st = state;

	(void)c;
	close(fd);
	if (st->fn.uploads > 0)
		st->fn.uploads--;
}

/* The body's bytes: in memory, or the streamed memfd mapped read-only
 * (*map set: the caller unmaps). */
static const char *body_bytes(const struct http_request *req, void **map)
{
	*map = NULL;
	if (req->body_fd < 0)
		return (const char *)req->body;
	if (req->body_len == 0)
		return "";
	*map = mmap(NULL, req->body_len, PROT_READ, MAP_PRIVATE, req->body_fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return NULL;
	}
	return *map;
}

static void parse_refused(struct http_conn *c, const struct fn_error *e)
{
	bool big = strcmp(e->code, "code_too_large") == 0 || strcmp(e->code, "body_too_large") == 0;

	http_respond_error(c, big ? 413 : 400, e->code, e->msg);
}

/* Seals a memfd we wrote (no shrink, grow, write or further seals) and
 * rewinds it. 0 or -errno. */
static int seal(int fd)
{
	int r = fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);

	if (r < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return 0;
}

/* POST/PUT of a function: the declaration is parsed against sandboxd's
 * policy, the code decoded into a sealed memfd, and sandboxd gets the
 * canonical declaration with it. */
static void route_deploy(struct api_state *st, struct http_conn *c, const struct http_request *req,
			 bool seed, const char *path_id)
{
	struct fn_decl *d = &st->fn.decl;
	struct fn_error e;
	struct sbx_req_msg *m;
	void *map;
	const char *json;
	long n;
	int fd, r;

	if (!st->fn.have_policy) {
		answer_error(c, 503, "unavailable",
			     "sandboxd has not told netd its policy yet (it is starting)");
		return;
	}
	json = body_bytes(req, &map);
	if (json == NULL) {
		http_respond_error(c, 500, "internal", "cannot map the request body");
		return;
	}
	r = fn_decl_parse(json, req->body_len, seed ? FN_SHAPE_SEED : FN_SHAPE_V1, &st->fn.policy,
			  &st->fn.dtoks, d, &e);
	if (r < 0) {
		parse_refused(c, &e);
		goto out;
	}
	if (path_id != NULL && strcmp(d->id, path_id) != 0) {
		http_respond_error(c, 400, "invalid_field", "id: must be the id in the path");
		goto out;
	}
	fd = memfd_create("dshield-code", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		http_respond_error(c, 503, "busy", "no memory for the code");
		goto out;
	}
	n = fn_code_write(fd, json, d, st->fn.chunk, sizeof st->fn.chunk);
	if (n < 0 || seal(fd) < 0) {
		http_respond_error(c, 500, "internal", "cannot decode the code into memory");
		close(fd);
		goto out;
	}
	m = req_begin(st, req, path_id ? SBX_FN_UPDATE : SBX_FN_CREATE,
		      seed ? SBX_SHAPE_SEED : SBX_SHAPE_V1);
	snprintf(m->id, sizeof m->id, "%s", d->id);
	n = fn_decl_write(d, (char *)req_inline(st), SBX_INLINE_MAX);
	if (n < 0) {
		http_respond_error(c, 500, "internal", "the declaration does not fit one request");
		close(fd);
		goto out;
	}
	m->inline_len = (uint32_t)n;
	ask(st, c, fd);
	close(fd);   /* sandboxd has its own reference now */
out:
	if (map != NULL)
		munmap(map, req->body_len);
}

/* A secret: {"name","value"}; the value goes inline or in a sealed memfd,
 * and netd's copy is wiped. */
static void route_secret_put(struct api_state *st, struct http_conn *c,
			     const struct http_request *req, bool seed, const char *path_name)
{
	struct fn_secret_req s;
	struct fn_error e;
	struct sbx_req_msg *m;
	void *map;
	const char *json = body_bytes(req, &map);
	int fd = -1;

	if (json == NULL) {
		http_respond_error(c, 500, "internal", "cannot map the request body");
		return;
	}
	if (fn_secret_req_parse(json, req->body_len, &st->fn.btoks, &s, st->fn.secret,
				sizeof st->fn.secret, &e) < 0) {
		parse_refused(c, &e);
		goto out;
	}
	if (path_name != NULL && strcmp(s.name, path_name) != 0) {
		http_respond_error(c, 400, "invalid_field", "name: must be the name in the path");
		goto out;
	}
	m = req_begin(st, req, SBX_SECRET_PUT, seed ? SBX_SHAPE_SEED : SBX_SHAPE_V1);
	snprintf(m->name, sizeof m->name, "%s", s.name);
	if (s.value_len <= SBX_INLINE_MAX) {
		memcpy(req_inline(st), st->fn.secret, s.value_len);
		m->inline_len = (uint32_t)s.value_len;
	} else {
		fd = memfd_create("dshield-secret", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || write(fd, st->fn.secret, s.value_len) != (ssize_t)s.value_len ||
		    seal(fd) < 0) {
			http_respond_error(c, 503, "busy", "no memory for the secret");
			goto out;
		}
	}
	ask(st, c, fd);
out:
	if (fd >= 0)
		close(fd);
	memset(st->fn.secret, 0, sizeof st->fn.secret);
	memset(req_inline(st), 0, SBX_INLINE_MAX);
	if (map != NULL)
		munmap(map, req->body_len);
}

static void route_token_create(struct api_state *st, struct http_conn *c,
			       const struct http_request *req, bool seed)
{
	struct fn_token_req t;
	struct fn_error e;
	struct sbx_req_msg *m;
	struct jsonw w;
	long n;

	if (fn_token_req_parse((const char *)req->body, req->body_len,
			       seed ? FN_TOKEN_SEED : FN_TOKEN_V1, &st->fn.btoks, &t, &e) < 0) {
		parse_refused(c, &e);
		return;
	}
	m = req_begin(st, req, SBX_TOKEN_CREATE, seed ? SBX_SHAPE_SEED : SBX_SHAPE_V1);
	jw_init(&w, (char *)req_inline(st), SBX_INLINE_MAX);
	jw_object_begin(&w);
	jw_key(&w, "name");
	jw_string(&w, t.name);
	jw_key(&w, "appName");
	jw_string(&w, t.app_name);
	jw_key(&w, "permissions");
	fn_scopes_write(&t.scopes, &w);
	jw_object_end(&w);
	n = jw_finish(&w);
	if (n < 0) {
		http_respond_error(c, 500, "internal", "the token request does not fit");
		return;
	}
	m->inline_len = (uint32_t)n;
	ask(st, c, -1);
}

/* A request with no body: op, id or name. */
static void simple(struct api_state *st, struct http_conn *c, const struct http_request *req,
		   uint16_t op, bool seed, const char *id, const char *name, uint64_t arg)
{
	struct sbx_req_msg *m = req_begin(st, req, op, seed ? SBX_SHAPE_SEED : SBX_SHAPE_V1);

	if (id != NULL)
		snprintf(m->id, sizeof m->id, "%s", id);
	if (name != NULL)
		snprintf(m->name, sizeof m->name, "%s", name);
	m->arg = arg;
	ask(st, c, -1);
}

static void route_logs(struct api_state *st, struct http_conn *c, const struct http_request *req,
		       bool seed, const char *id)
{
	static const char *const names[1] = { "from" };
	static const bool required[1] = { false };
	uint64_t from = 0;
	bool have;
	char why[96];

	if (!id_ok(c, id))
		return;
	if (api_log_query(req->query, names, required, 1, &from, &have, why, sizeof why) < 0) {
		http_respond_error(c, 400, "bad_parameter", why);
		return;
	}
	simple(st, c, req, SBX_FN_LOGS, seed, id, NULL, from);
}

static void route_health(struct api_state *st, struct http_conn *c)
{
	char buf[96];
	int n = snprintf(buf, sizeof buf, "{\"status\":\"healthy\",\"uptime\":%llu}",
			 (unsigned long long)((mono_ms() - st->start_ms) / 1000));

	http_respond_json(c, 200, buf, (size_t)n);
}

/* --- invocation: the request -------------------------------------------------- */

static bool utf8_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n)
		if (utf8_next((const unsigned char *)s, n, &i) < 0)
			return false;
	return true;
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
	       ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* Form decoding of a query piece ('+' is a space, %XX a byte; a bad
 * escape stays as it is). */
static size_t query_decode(const char *s, size_t n, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[k++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			out[k++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	return k;
}

/* query: {name: value}, the first of a repeated name; pieces that are not
 * UTF-8 once decoded are left out. */
static void jw_query(struct jsonw *w, const char *q)
{
	char key[HTTP_MAX_URL], val[HTTP_MAX_URL], seen[HTTP_MAX_URL + 2];
	size_t seen_len = 0;

	jw_object_begin(w);
	seen[0] = '\0';
	while (*q != '\0') {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		size_t kl = eq ? (size_t)(eq - q) : len;
		size_t kn = query_decode(q, kl, key);
		size_t vn = eq ? query_decode(eq + 1, len - kl - 1, val) : 0;
		bool dup = false;

		/* the names so far, NUL separated */
		for (size_t off = 0; off < seen_len; off += strlen(seen + off) + 1)
			if (strlen(seen + off) == kn && memcmp(seen + off, key, kn) == 0)
				dup = true;
		if (kn > 0 && !dup && memchr(key, '\0', kn) == NULL && utf8_ok(key, kn) &&
		    utf8_ok(val, vn) && seen_len + kn + 1 <= sizeof seen) {
			memcpy(seen + seen_len, key, kn);
			seen[seen_len + kn] = '\0';
			seen_len += kn + 1;
			key[kn] = '\0';
			jw_key(w, key);
			jw_string_n(w, val, vn);
		}
		q += len;
		if (*q == '&')
			q++;
	}
	jw_object_end(w);
}

/* headers: lower-case names, repeated ones joined with ", " (as Node
 * did), never authorization; values that are not UTF-8 left out. */
static void jw_headers(struct jsonw *w, const struct http_request *req)
{
	char name[HTTP_MAX_HEAD], val[HTTP_MAX_HEAD];
	const char *n, *v, *n2, *v2;

	jw_object_begin(w);
	for (unsigned i = 0; http_header_at(req, i, &n, &v); i++) {
		bool earlier = false;
		size_t vl = 0, nl = strlen(n);
		for (unsigned j = 0; j < i && http_header_at(req, j, &n2, &v2); j++)
			if (strcasecmp(n, n2) == 0)
				earlier = true;
		if (earlier || strcasecmp(n, "authorization") == 0 || nl >= sizeof name)
			continue;
		for (size_t k = 0; k <= nl; k++)
			name[k] = (char)((n[k] >= 'A' && n[k] <= 'Z') ? n[k] + 32 : n[k]);
		for (unsigned j = i; http_header_at(req, j, &n2, &v2); j++) {
			size_t l = strlen(v2);
			if (strcasecmp(n, n2) != 0 || vl + l + 2 > sizeof val)
				continue;
			if (vl > 0) {
				memcpy(val + vl, ", ", 2);
				vl += 2;
			}
			memcpy(val + vl, v2, l);
			vl += l;
		}
		if (!utf8_ok(val, vl))
			continue;
		jw_key(w, name);
		jw_string_n(w, val, vl);
	}
	jw_object_end(w);
}

long api_fn_invoke_json(const struct http_request *req, const char *inv_id, const char *fn_id,
			jsmntok_t *toks, unsigned ntoks, char *out, size_t cap)
{
	struct jsonw w;
	struct json_doc doc;
	const char *body = (const char *)req->body;
	long n;

	jw_init(&w, out, cap);
	jw_object_begin(&w);
	jw_key(&w, "id");
	jw_string(&w, inv_id);
	jw_key(&w, "functionId");
	jw_string(&w, fn_id);
	jw_key(&w, "method");
	jw_string(&w, llhttp_method_name(req->method));
	jw_key(&w, "path");
	jw_string(&w, req->path);
	jw_key(&w, "headers");
	jw_headers(&w, req);
	if (req->body_len > 0 && body != NULL) {
		jw_key(&w, "body");
		if (memchr(body, '\0', req->body_len) == NULL &&
		    json_parse(&doc, body, req->body_len, toks, ntoks) == 0 &&
		    json_validate(&doc, FN_RESULT_MAX_DEPTH) == 0 && utf8_ok(body, req->body_len))
			jw_raw(&w, body, req->body_len);
		else if (utf8_ok(body, req->body_len))
			jw_string_n(&w, body, req->body_len);
		else
			return -EILSEQ;
	}
	jw_key(&w, "query");
	jw_query(&w, req->query);
	jw_object_end(&w);
	n = jw_finish(&w);
	return n < 0 ? -ENOSPC : n;
}

static void make_uuid(char out[37])
{
	static const char hexd[] = "0123456789abcdef";
	uint8_t b[16];
	size_t k = 0;

	if (random_fill(b, sizeof b) < 0)
		memset(b, 0, sizeof b);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hexd[b[i] >> 4];
		out[k++] = hexd[b[i] & 15];
	}
	out[k] = '\0';
}

static void route_invoke(struct api_state *st, struct http_conn *c, const struct http_request *req,
			 bool seed, const char *id)
{
	struct api_fn_inv *inv = NULL;
	struct sbx_req_msg *m;
	uint32_t seq;

	if (!id_ok(c, id))
		return;
	/* an earlier invocation of c's still waiting for its receipt is over:
	 * c went on to this request (it was answered 504 meanwhile) */
	for (size_t i = 0; i < API_FN_INVOKES; i++)
		if (st->fn.invs[i].state == INV_RECEIPT && st->fn.invs[i].conn_id == c->id)
			inv_release(st, &st->fn.invs[i]);
	for (size_t i = 0; i < API_FN_INVOKES && inv == NULL; i++)
		if (st->fn.invs[i].state == INV_FREE)
			inv = &st->fn.invs[i];
	if (inv == NULL) {
		answer_error(c, 503, "busy", "too many invocations in progress");
		return;
	}
	m = req_begin(st, req, SBX_INVOKE, seed ? SBX_SHAPE_SEED : SBX_SHAPE_V1);
	snprintf(m->id, sizeof m->id, "%s", id);
	if (!req_send(st, c, -1, &seq))
		return;
	memset(inv, 0, sizeof *inv);
	inv->fd_io = inv->fd_out = -1;
	inv->state = INV_ASKED;
	inv->conn_id = c->id;
	inv->seq = seq;
	inv->asked_us = mono_us();
	snprintf(inv->fn_id, sizeof inv->fn_id, "%s", id);
}

/* --- the route table ---------------------------------------------------------- */

enum { M_GET = 1, M_POST = 2, M_PUT = 4, M_DELETE = 8, M_INVOKE = 16 };

static unsigned method_bit(llhttp_method_t m)
{
	switch (m) {
	case HTTP_GET: case HTTP_HEAD: return M_GET;
	case HTTP_POST: return M_POST;
	case HTTP_PUT: return M_PUT;
	case HTTP_DELETE: return M_DELETE;
	default: return 0;
	}
}

/* 405 unless the method is one of allowed; true when it is. */
static bool allow(struct http_conn *c, llhttp_method_t m, unsigned allowed)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ M_GET, "GET, HEAD" }, { M_POST, "POST" }, { M_PUT, "PUT" }, { M_DELETE, "DELETE" },
	};
	char hdr[64] = "Allow: ";

	if (allowed & M_INVOKE) {
		if (m == HTTP_GET || m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH ||
		    m == HTTP_DELETE)
			return true;
		http_respond_error_hdr(c, 405, "method_not_allowed",
				       "a function is invoked with GET, POST, PUT, PATCH or DELETE",
				       "Allow: GET, POST, PUT, PATCH, DELETE\r\n");
		return false;
	}
	if (method_bit(m) & allowed)
		return true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(allowed & names[i].bit))
			continue;
		if (hdr[7] != '\0')
			strcat(hdr, ", ");
		strcat(hdr, names[i].name);
	}
	strcat(hdr, "\r\n");
	http_respond_error_hdr(c, 405, "method_not_allowed", "this method is not served on this path",
			       hdr);
	return false;
}

/* The rest of path after prefix ("" when equal), or NULL. */
static const char *under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 ? path + n : NULL;
}

/* One path segment: copies rest up to '/' into out; returns what follows
 * the segment ("" at the end), or NULL when the segment is empty or long. */
static const char *segment(const char *rest, char *out, size_t cap)
{
	size_t n = strcspn(rest, "/");

	if (n == 0 || n >= cap)
		return NULL;
	memcpy(out, rest, n);
	out[n] = '\0';
	return rest + n;
}

static bool functions_routes(struct api_state *st, struct http_conn *c,
			     const struct http_request *req, const char *rest, bool seed)
{
	char id[SBX_ID_MAX + 1];
	const char *tail;
	llhttp_method_t m = req->method;

	if (*rest == '\0') {
		if (!allow(c, m, M_GET | M_POST))
			return true;
		if (m == HTTP_POST)
			route_deploy(st, c, req, seed, NULL);
		else
			simple(st, c, req, SBX_FN_LIST, seed, NULL, NULL, 0);
		return true;
	}
	if (*rest != '/')
		return false;
	tail = segment(rest + 1, id, sizeof id);
	if (tail == NULL) {
		http_respond_error(c, 400, "invalid_field", "id: must match [a-z0-9][a-z0-9_-]{0,62}");
		return true;
	}
	if (*tail == '\0') {
		if (!allow(c, m, M_GET | M_PUT | M_DELETE) || !id_ok(c, id))
			return true;
		if (m == HTTP_PUT)
			route_deploy(st, c, req, seed, id);
		else
			simple(st, c, req, m == HTTP_DELETE ? SBX_FN_DELETE : SBX_FN_GET, seed, id, NULL,
			       0);
		return true;
	}
	if (!seed && strcmp(tail, "/invoke") == 0) {
		if (allow(c, m, M_INVOKE))
			route_invoke(st, c, req, false, id);
		return true;
	}
	if (!seed && strcmp(tail, "/logs") == 0) {
		if (allow(c, m, M_GET))
			route_logs(st, c, req, false, id);
		return true;
	}
	return false;
}

static bool secrets_routes(struct api_state *st, struct http_conn *c, const struct http_request *req,
			   const char *rest, bool seed)
{
	char name[SBX_NAME_MAX + 1];
	const char *tail;
	llhttp_method_t m = req->method;

	if (*rest == '\0') {
		if (!allow(c, m, M_GET | M_POST))
			return true;
		if (m == HTTP_POST)
			route_secret_put(st, c, req, seed, NULL);
		else
			simple(st, c, req, SBX_SECRET_LIST, seed, NULL, NULL, 0);
		return true;
	}
	if (*rest != '/')
		return false;
	tail = segment(rest + 1, name, sizeof name);
	if (tail == NULL || *tail != '\0') {
		if (tail == NULL)
			secret_name_ok(c, "");
		return tail == NULL;
	}
	if (!allow(c, m, seed ? M_DELETE : M_PUT | M_DELETE) || !secret_name_ok(c, name))
		return true;
	if (m == HTTP_PUT)
		route_secret_put(st, c, req, seed, name);
	else
		simple(st, c, req, SBX_SECRET_DELETE, seed, NULL, name, 0);
	return true;
}

static bool tokens_routes(struct api_state *st, struct http_conn *c, const struct http_request *req,
			  const char *rest, bool seed)
{
	char id[SBX_ID_MAX + 1];
	const char *tail;
	llhttp_method_t m = req->method;

	if (*rest == '\0') {
		if (!allow(c, m, M_GET | M_POST))
			return true;
		if (m == HTTP_POST)
			route_token_create(st, c, req, seed);
		else
			simple(st, c, req, SBX_TOKEN_LIST, seed, NULL, NULL, 0);
		return true;
	}
	if (*rest != '/')
		return false;
	tail = segment(rest + 1, id, sizeof id);
	if (tail != NULL && *tail != '\0')
		return false;
	if (!allow(c, m, M_DELETE))
		return true;
	if (tail == NULL || !token_id_ok(c, id)) {
		if (tail == NULL)
			token_id_ok(c, "");
		return true;
	}
	simple(st, c, req, SBX_TOKEN_DELETE, seed, id, NULL, 0);
	return true;
}

/* A path of one id segment under prefix: the id (into id), or false. */
static bool one_id(const char *path, const char *prefix, char *id, size_t cap)
{
	const char *rest = under(path, prefix);
	const char *tail = rest ? segment(rest, id, cap) : NULL;

	if (rest != NULL && tail == NULL)
		id[0] = '\0';    /* empty or too long: id_ok refuses it */
	return rest != NULL && (tail == NULL || *tail == '\0');
}

bool api_fn_route(struct api_state *st, struct http_conn *c, const struct http_request *req)
{
	const char *p = req->path, *rest;
	char id[SBX_ID_MAX + 1];

	if ((rest = under(p, "/v1/functions")) != NULL)
		return functions_routes(st, c, req, rest, false);
	if ((rest = under(p, "/api/functions")) != NULL)
		return functions_routes(st, c, req, rest, true);
	if ((rest = under(p, "/v1/secrets")) != NULL)
		return secrets_routes(st, c, req, rest, false);
	if ((rest = under(p, "/api/secrets")) != NULL)
		return secrets_routes(st, c, req, rest, true);
	if ((rest = under(p, "/v1/tokens")) != NULL)
		return tokens_routes(st, c, req, rest, false);
	if ((rest = under(p, "/api/keys")) != NULL)
		return tokens_routes(st, c, req, rest, true);
	if (one_id(p, "/invoke/", id, sizeof id)) {
		if (allow(c, req->method, M_INVOKE))
			route_invoke(st, c, req, true, id);
		return true;
	}
	if (one_id(p, "/api/logs/", id, sizeof id)) {
		if (allow(c, req->method, M_GET))
			route_logs(st, c, req, true, id);
		return true;
	}
	if (strcmp(p, "/functions") == 0) {
		if (allow(c, req->method, M_GET))
			simple(st, c, NULL, SBX_FN_LIST, true, NULL, NULL, 1);
		return true;
	}
	if (strcmp(p, "/health") == 0) {
		if (allow(c, req->method, M_GET))
			route_health(st, c);
		return true;
	}
	return false;
}

/* --- streaming a body from memory ------------------------------------------------- */

static void stream_push(struct api_state *st, struct http_conn *c, struct api_fn_op *op)
{
	for (;;) {
		uint64_t left = http_stream_left(c);
		size_t k = http_stream_room(c);
		if (left == 0) {
			op_free(st, op);   /* all written (or HEAD) */
			return;
		}
		if (k == 0 && !http_stream_want(c, left < 4096 ? (size_t)left : 4096))
			return;
		k = http_stream_room(c);
		if (http_stream_write(c, op->s.p + (op->s.total - left), k) < 0) {
			http_stream_abort(c);
			op_free(st, op);
			return;
		}
	}
}

/* Answers c with p[0..len): at once when it fits the output buffer, else
 * streamed (op keeps the memory; map/inv say how to free it). */
static void send_body(struct api_state *st, struct http_conn *c, int status, const char *ctype,
		      const char *extra, const uint8_t *p, uint64_t len, void *map, size_t map_len,
		      int inv)
{
	struct api_fn_op *op;
	size_t head = 256 + (extra ? strlen(extra) : 0);

	if (len + head <= HTTP_OUT_CAP) {
		http_respond_hdr(c, status, ctype, extra, p, (size_t)len);
		if (map != NULL)
			munmap(map, map_len);
		if (inv >= 0)
			inv_release(st, &st->fn.invs[inv]);
		return;
	}
	op = op_new(st, c->id, FNOP_STREAM);
	if (op == NULL) {
		http_respond_error(c, 503, "busy", "too many answers in progress");
		if (map != NULL)
			munmap(map, map_len);
		if (inv >= 0)
			inv_release(st, &st->fn.invs[inv]);
		return;
	}
	op->map = map;
	op->map_len = map_len;
	op->inv = inv;
	op->s.p = p;
	op->s.total = len;
	http_respond_stream(c, status, ctype, NULL, extra, len);
	stream_push(st, c, op);
}

bool api_fn_stream_ready(struct api_state *st, struct http_conn *c)
{
	struct api_fn_op *op = op_of(st, c->id);

	if (op == NULL || op->kind != FNOP_STREAM)
		return false;
	stream_push(st, c, op);
	return true;
}

/* A sealed memfd of exactly len bytes, mapped read-only; NULL otherwise. */
static void *map_memfd(int fd, uint64_t len)
{
	struct stat sb;
	int seals = fcntl(fd, F_GET_SEALS);
	void *p;

	/* unsealed, it could shrink under the mapping (SIGBUS in netd) */
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &sb) < 0 ||
	    (uint64_t)sb.st_size != len || len == 0 || len > (uint64_t)1 << 32)
		return NULL;
	p = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void close_fds(int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The policy sandboxd enforces, which deployments are parsed against. */
static void policy_reply(struct api_state *st, const struct sbx_reply_msg *rep,
			 const uint8_t *body, size_t body_len, int *fds, unsigned nfds)
{
	char err[ERRBUF_LEN];
	void *map = NULL;
	const char *text = (const char *)body;
	size_t len = body_len;

	st->fn.policy_seq = 0;
	if (rep->error != 0 || rep->status != 200) {
		dlog("sandboxd did not give its policy (status %u): deployments wait", rep->status);
		return;
	}
	if (rep->body_in_fd) {
		if (nfds < 1 || (map = map_memfd(fds[0], rep->body_len)) == NULL) {
			dlog("sandboxd's policy memfd is not sealed or not its size");
			return;
		}
		text = map;
		len = (size_t)rep->body_len;
	}
	if (policy_parse(text, len, &st->fn.ptoks, &st->fn.policy, err, sizeof err) == 0) {
		st->fn.have_policy = true;
		st->fn.policy_gen++;
	} else
		dlog("sandboxd's policy does not parse: %s", err);
	if (map != NULL)
		munmap(map, len);
}

static void op_reply(struct api_state *st, struct http_conn *c, struct api_fn_op *op,
		     const struct sbx_reply_msg *rep, const uint8_t *body, size_t body_len,
		     int *fds, unsigned nfds)
{
	const char *ctype = op->sbx_op == SBX_FN_LOGS ? "text/plain; charset=utf-8"
						      : "application/json";
	char code[sizeof rep->code + 1], message[sizeof rep->message + 1], extra[96] = "";
	uint16_t op_kind = op->sbx_op;
	void *map;

	op_free(st, op);
	if (rep->status < 200 || rep->status > 599) {
		http_respond_error(c, 502, "sandboxd_failed", "sandboxd answered with no valid status");
		return;
	}
	if (rep->error != 0 || rep->status >= 300) {
		snprintf(code, sizeof code, "%.*s", (int)strnlen(rep->code, sizeof rep->code),
			 rep->code);
		snprintf(message, sizeof message, "%.*s",
			 (int)strnlen(rep->message, sizeof rep->message), rep->message);
		answer_error(c, rep->status < 400 ? 502 : rep->status, code[0] ? code : "error",
			     message[0] ? message : http_reason(rep->status));
		return;
	}
	/* a function's log stream: where the body starts in it (later than
	 * ?from= asked when older bytes were dropped), and where to go on */
	if (op_kind == SBX_FN_LOGS) {
		uint64_t len = rep->body_in_fd ? rep->body_len : body_len;
		snprintf(extra, sizeof extra, "X-DShield-Log-Offset: %llu\r\n"
			 "X-DShield-Log-Next: %llu\r\n", (unsigned long long)rep->worker,
			 (unsigned long long)(rep->worker + len));
	}
	if (!rep->body_in_fd) {
		http_respond_hdr(c, rep->status, ctype, extra[0] ? extra : NULL, body, body_len);
		return;
	}
	if (nfds < 1 || (map = map_memfd(fds[0], rep->body_len)) == NULL) {
		http_respond_error(c, 502, "sandboxd_failed",
				   "sandboxd's answer is not a sealed memfd of its size");
		return;
	}
	send_body(st, c, rep->status, ctype, extra[0] ? extra : NULL, map, rep->body_len, map,
		  (size_t)rep->body_len, -1);
}

unsigned api_fn_in_flight(const struct api_state *st, const char *fn_id, char id[37])
{
	unsigned n = 0;

	id[0] = '\0';
	for (unsigned i = 0; i < API_FN_INVOKES; i++) {
		const struct api_fn_inv *inv = &st->fn.invs[i];
		if ((inv->state == INV_RUNNING || inv->state == INV_ENDING) &&
		    strcmp(inv->fn_id, fn_id) == 0 && n++ == 0)
			memcpy(id, inv->id, sizeof inv->id);
	}
	if (n != 1)
		id[0] = '\0';
	return n;
}

/* --- invocation: running ----------------------------------------------------- */

static void watch(struct api_state *st, int fd, uint32_t *have, uint32_t want)
{
	if (fd < 0 || *have == want)
		return;
	if (st->watch_fd)
		st->watch_fd(st->ctx, fd, want);
	*have = want;
}

static void inv_close_fds(struct api_state *st, struct api_fn_inv *inv)
{
	if (inv->fd_io >= 0) {
		watch(st, inv->fd_io, &inv->ev_io, 0);
		close(inv->fd_io);
	}
	if (inv->fd_out >= 0) {
		watch(st, inv->fd_out, &inv->ev_out, 0);
		close(inv->fd_out);
	}
	inv->fd_io = inv->fd_out = -1;
}

static void inv_release(struct api_state *st, struct api_fn_inv *inv)
{
	inv_close_fds(st, inv);
	if (inv->mem != NULL)
		munmap(inv->mem, inv->mem_len);
	memset(inv, 0, sizeof *inv);
	inv->fd_io = inv->fd_out = -1;
}

/* The worker goes back to sandboxd with the outcome; its descriptors are
 * closed (the mapping stays while a body is streamed from it). */
static void inv_done(struct api_state *st, struct api_fn_inv *inv, uint8_t outcome)
{
	struct sbx_done_msg m;

	memset(&m, 0, sizeof m);
	m.worker = inv->worker;
	m.outcome = outcome;
	if (st->sbx_done && st->sbx_done(st->ctx, &m) < 0)
		dlog("cannot hand worker %llu back to sandboxd", (unsigned long long)inv->worker);
	inv_close_fds(st, inv);
}

/* The reply's own headers: the function's, then dshield's. */
static const char *inv_headers(struct api_fn_inv *inv, const char *fn_headers, size_t len)
{
	int n = snprintf(inv->hdrs, inv->hdrs_cap, "%.*sX-DShield-Invocation-Id: %s\r\n"
			 "X-DShield-Duration-Ms: %llu\r\n", (int)len, fn_headers ? fn_headers : "",
			 inv->id, (unsigned long long)(mono_ms() - inv->start_ms));

	/* room for the receipt's two lines, and a head that leaves room for
	 * a streamed body (http_respond_stream) */
	if (n < 0 || (size_t)n + API_RECEIPT_HDR_MAX >= inv->hdrs_cap ||
	    (size_t)n + API_RECEIPT_HDR_MAX + 512 > HTTP_OUT_CAP / 2)
		return NULL;
	return inv->hdrs;
}

/* --- invocation: the receipt ------------------------------------------------------ */

/* api_receipt_begin()'s outcome: the held answer goes out with the
 * receipt's headers, or not at all (fail closed: 503, docs/LOG.md). */
static void inv_receipted(struct api_state *st, struct http_conn *c, void *arg,
			  const struct api_receipt_out *out)
{
	struct api_fn_inv *inv = arg;
	size_t n;

	/* a late answer for a slot that moved on (released, reused) */
	if (inv->state != INV_RECEIPT || inv->conn_id != c->id)
		return;
	if (out->error < 0) {
		api_receipt_refuse(c, out);
		inv_release(st, inv);
		kick(st, c);
		return;
	}
	n = strlen(inv->hdrs);
	snprintf(inv->hdrs + n, inv->hdrs_cap - n, "%s", out->headers);
	inv->state = INV_STREAMING;
	send_body(st, c, inv->status, inv->ctype, inv->hdrs, inv->body, inv->body_len, NULL, 0,
		  (int)(inv - st->fn.invs));
	kick(st, c);
}

/* The answer of an invocation that ran is known: status, ctype, the
 * extra header lines in inv->hdrs and body[0..len) (in inv's mapping or
 * inv->ebody, kept there). Nothing goes out before the log holds its
 * invocation entry and keyd signed its receipt (docs/LOG.md, "Receipts"):
 * the output hash is over exactly these bytes. */
static void inv_receipt(struct api_state *st, struct http_conn *c, struct api_fn_inv *inv,
			int status, const char *ctype, const uint8_t *body, size_t len)
{
	struct api_receipt_in in = { .function = inv->fn_id, .invocation = inv->id,
				     .status = (uint32_t)status };
	uint64_t now = mono_us();

	inv->state = INV_RECEIPT;
	inv->status = status;
	inv->ctype = ctype;
	inv->body = body;
	inv->body_len = len;
	inv->deadline_ms = mono_ms() + API_FN_RECEIPT_MS;
	memcpy(in.code_sha256, inv->code_sha256, 32);
	memcpy(in.input_sha256, inv->input_sha256, 32);
	sha256_of(len > 0 ? body : (const uint8_t *)"", len, in.output_sha256);
	in.queue_ns = (inv->start_us - inv->asked_us) * 1000;
	in.run_ns = (now - inv->start_us) * 1000;
	/* netd's own deadline (api_fn_tick) comes first */
	http_conn_pending_until(c, inv->deadline_ms + API_FN_END_GRACE_MS);
	api_receipt_begin(st, c, &in, inv_receipted, inv);
}

/* An error answer, the worker handed back. A function that ran (the
 * request was written to it) gets an invocation entry and a receipt over
 * the error body as any result does; one that did not (sandboxd's reply
 * unusable, no memory, a body it cannot get) is answered at once. */
static void inv_fail(struct api_state *st, struct api_fn_inv *inv, int status, const char *code,
		     const char *msg, uint8_t outcome)
{
	struct http_conn *c = conn_find(st, inv->conn_id);
	bool ran = inv->state == INV_RUNNING || inv->state == INV_ENDING;
	size_t n;

	inv_done(st, inv, outcome);
	if (!pending(c)) {
		inv_release(st, inv);
		return;
	}
	if (!ran || inv_headers(inv, NULL, 0) == NULL) {
		answer_error(c, status, code, msg);
		inv_release(st, inv);
		kick(st, c);
		return;
	}
	n = http_error_body(inv->ebody, sizeof inv->ebody, code, msg);
	inv_receipt(st, c, inv, status, "application/json", (const uint8_t *)inv->ebody, n);
}

/* The answer is complete: the worker goes back with outcome, and c gets
 * the answer once its receipt is signed. */
static void inv_answer(struct api_state *st, struct api_fn_inv *inv, int status,
		       const char *ctype, const char *fn_headers, size_t hlen, const uint8_t *body,
		       size_t len, uint8_t outcome)
{
	struct http_conn *c = conn_find(st, inv->conn_id);

	if (inv_headers(inv, fn_headers, hlen) == NULL) {
		inv_fail(st, inv, 502, "bad_result", "the function's headers are too large", outcome);
		return;
	}
	inv_done(st, inv, outcome);
	if (!pending(c)) {
		inv_release(st, inv);
		return;
	}
	inv_receipt(st, c, inv, status, ctype, body, len);
}

/* A whole frame from the worker. */
static void inv_frame(struct api_state *st, struct api_fn_inv *inv, bool trailing)
{
	struct frame_reader *r = &inv->rd;
	char err[ERRBUF_LEN], msg[API_FN_MESSAGE_MAX + 64];
	struct fn_reply rep;
	uint8_t outcome = trailing ? SBX_DONE_BROKEN : SBX_DONE_OK;
	long n;

	if (r->type == FN_FRAME_RESULT) {
		if (fn_result_parse((const char *)r->buf, r->len, inv->toks, inv->ntoks, inv->reply,
				    inv->reply_cap, &rep, err, sizeof err) < 0) {
			snprintf(msg, sizeof msg, "the function's result is invalid: %s", err);
			inv_fail(st, inv, 502, "bad_result", msg, outcome);
			return;
		}
		inv_answer(st, inv, rep.status, rep.content_type, rep.headers, rep.headers_len,
			   (const uint8_t *)rep.body, rep.body_len, outcome);
		return;
	}
	if (r->type == FN_FRAME_ERROR) {
		n = fn_message_parse((const char *)r->buf, r->len, inv->toks, inv->ntoks, inv->reply,
				     inv->reply_cap, API_FN_MESSAGE_MAX, err, sizeof err);
		inv_fail(st, inv, 500, "function_error", n < 0 ? "the function failed" : inv->reply,
			 n < 0 ? SBX_DONE_BROKEN : outcome);
		return;
	}
	snprintf(msg, sizeof msg, "the worker crashed: it sent a frame of type %u mid-invocation",
		 r->type);
	inv_fail(st, inv, 502, "worker_crashed", msg, SBX_DONE_BROKEN);
}

/* The worker's output ended: wait (briefly) for sandboxd to say why. */
static void inv_eof(struct api_state *st, struct api_fn_inv *inv);

static void frames_read(struct api_state *st, struct api_fn_inv *inv)
{
	for (;;) {
		ssize_t n = read(inv->fd_io, st->fn.chunk, sizeof st->fn.chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			inv_eof(st, inv);
			return;
		}
		size_t used = 0;
		int r = frame_feed(&inv->rd, st->fn.chunk, (size_t)n, &used);
		if (r == 1) {
			inv_frame(st, inv, used < (size_t)n);
			return;
		}
		if (r == -EMSGSIZE) {
			char msg[96];
			snprintf(msg, sizeof msg, "the function's result is larger than its limit "
				 "(%u bytes)", inv->output_max);
			inv_fail(st, inv, 502, "output_too_large", msg, SBX_DONE_BROKEN);
			return;
		}
		if (r < 0) {
			inv_fail(st, inv, 502, "worker_crashed",
				 "the worker crashed: it sent bytes outside the protocol", SBX_DONE_BROKEN);
			return;
		}
	}
}

static void native_read(struct api_state *st, struct api_fn_inv *inv)
{
	for (;;) {
		ssize_t n = read(inv->fd_out, st->fn.chunk, sizeof st->fn.chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			inv_eof(st, inv);
			return;
		}
		if ((size_t)n > inv->in_cap - inv->in_len) {
			char msg[96];
			snprintf(msg, sizeof msg, "the function's output is larger than its limit "
				 "(%u bytes)", inv->output_max);
			inv_fail(st, inv, 502, "output_too_large", msg, SBX_DONE_BROKEN);
			return;
		}
		memcpy(inv->in + inv->in_len, st->fn.chunk, (size_t)n);
		inv->in_len += (size_t)n;
	}
}

/* Writes the request (the frame, or stdin's bytes). true: all written. */
static bool inv_write(struct api_fn_inv *inv)
{
	while (inv->req_off < inv->req_len) {
		/* a worker that died is EPIPE, not a SIGPIPE for netd (a native
		 * program's stdin is a pipe: netd ignores SIGPIPE for that) */
		size_t k = inv->req_len - inv->req_off;
		ssize_t n = inv->kind == SBX_WORKER_FRAMES ?
			    send(inv->fd_io, inv->req + inv->req_off, k, MSG_NOSIGNAL) :
			    write(inv->fd_io, inv->req + inv->req_off, k);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0) {
			/* the reader is gone: what it answers (or EOF) decides */
			inv->req_off = inv->req_len;
			break;
		}
		inv->req_off += (size_t)n;
	}
	return true;
}

/* What each descriptor waits for now. */
static void inv_rearm(struct api_state *st, struct api_fn_inv *inv)
{
	if (inv->kind == SBX_WORKER_FRAMES) {
		watch(st, inv->fd_io, &inv->ev_io,
		      inv->eof ? 0 : EPOLLIN | (inv->req_off < inv->req_len ? EPOLLOUT : 0));
		return;
	}
	if (inv->fd_io >= 0 && inv->req_off >= inv->req_len) {
		/* stdin is complete: close it, so the program sees EOF */
		watch(st, inv->fd_io, &inv->ev_io, 0);
		close(inv->fd_io);
		inv->fd_io = -1;
	}
	watch(st, inv->fd_io, &inv->ev_io, EPOLLOUT);
	watch(st, inv->fd_out, &inv->ev_out, inv->eof ? 0 : EPOLLIN);
}

static const char *signame(int s)
{
	static const char *const names[] = {
		[1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP",
		[6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE", [9] = "SIGKILL", [11] = "SIGSEGV",
		[13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM", [31] = "SIGSYS",
	};

	return s > 0 && s < (int)(sizeof names / sizeof names[0]) && names[s] ? names[s] : "signal";
}

/* The answer for how the worker ended (WORKER_END), when it ended before
 * answering (frames) or as a native program. */
static void inv_ended(struct api_state *st, struct api_fn_inv *inv)
{
	char msg[128];

	switch (inv->end_reason) {
	case SBX_END_TIMEOUT:
		snprintf(msg, sizeof msg, "Function timed out after %ums", inv->timeout_ms);
		inv_fail(st, inv, 504, "timeout", msg, SBX_DONE_BROKEN);
		return;
	case SBX_END_OOM:
		inv_fail(st, inv, 500, "out_of_memory",
			 "the function ran out of memory (its memory limit) and was killed",
			 SBX_DONE_BROKEN);
		return;
	case SBX_END_PIDS:
		inv_fail(st, inv, 500, "pids_exhausted",
			 "the function reached its process limit and died", SBX_DONE_BROKEN);
		return;
	case SBX_END_SIGNAL:
		snprintf(msg, sizeof msg, "the worker crashed: killed by signal %d (%s)",
			 (int)inv->end_status, signame(inv->end_status));
		break;
	default:
		if (inv->kind == SBX_WORKER_NATIVE && inv->end_status == 0) {
			inv_answer(st, inv, 200, "application/octet-stream", NULL, 0, inv->in,
				   inv->in_len, SBX_DONE_OK);
			return;
		}
		snprintf(msg, sizeof msg, "the worker crashed: it exited with status %d",
			 (int)inv->end_status);
		break;
	}
	inv_fail(st, inv, 502, "worker_crashed", msg, SBX_DONE_BROKEN);
}

static void inv_eof(struct api_state *st, struct api_fn_inv *inv)
{
	inv->eof = true;
	if (inv->kind == SBX_WORKER_FRAMES && inv->rd.err == 0 && frame_partial(&inv->rd) &&
	    !inv->have_end) {
		/* a frame cut short is garbage, whatever sandboxd says next */
		inv_fail(st, inv, 502, "worker_crashed",
			 "the worker crashed: its answer was cut short", SBX_DONE_BROKEN);
		return;
	}
	if (inv->have_end) {
		inv_ended(st, inv);
		return;
	}
	inv->state = INV_ENDING;
	inv->deadline_ms = mono_ms() + API_FN_END_GRACE_MS;
	inv_rearm(st, inv);
}

static struct api_fn_inv *inv_of_fd(struct api_state *st, int fd)
{
	for (size_t i = 0; i < API_FN_INVOKES; i++) {
		struct api_fn_inv *inv = &st->fn.invs[i];
		if ((inv->state == INV_RUNNING || inv->state == INV_ENDING) &&
		    (inv->fd_io == fd || inv->fd_out == fd))
			return inv;
	}
	return NULL;
}

bool api_fn_io(struct api_state *st, int fd, uint32_t events)
{
	struct api_fn_inv *inv = inv_of_fd(st, fd);

	if (inv == NULL)
		return false;
	if (inv->kind == SBX_WORKER_FRAMES) {
		if (events & (EPOLLOUT | EPOLLERR))
			inv_write(inv);
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			frames_read(st, inv);
	} else if (fd == inv->fd_io) {
		inv_write(inv);
	} else {
		native_read(st, inv);
	}
	if (inv->state == INV_RUNNING || inv->state == INV_ENDING)
		inv_rearm(st, inv);
	return true;
}

/* Bytes the request frame may need: every byte of the head, query and
 * body escaped as \u00XX, and the fixed keys. */
static size_t invoke_cap(const struct http_conn *c)
{
	return 6 * ((size_t)HTTP_MAX_HEAD + c->req.body_len) + 1024;
}

static size_t page_up(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

/* The reply brought the worker: set up the mapping, the request, and the
 * descriptors in the loop. */
static void inv_start(struct api_state *st, struct http_conn *c, struct api_fn_inv *inv,
		      const struct sbx_reply_msg *rep, int *fds)
{
	bool frames = rep->worker_kind == SBX_WORKER_FRAMES;
	size_t out_max = rep->output_max > FN_FRAME_MAX ? FN_FRAME_MAX : rep->output_max;
	size_t req_cap = frames ? invoke_cap(c) : c->req.body_len;
	size_t ntoks = frames ? API_FN_RESULT_TOKENS : 0;
	size_t off[6], total = 0, running = 0;
	long n;

	for (size_t i = 0; i < API_FN_INVOKES; i++)
		if (st->fn.invs[i].mem != NULL)
			running += st->fn.invs[i].in_cap;

	inv->kind = rep->worker_kind;
	inv->worker = rep->worker;
	inv->fd_io = fds[0];
	inv->fd_out = frames ? -1 : fds[1];
	fds[0] = -1;
	if (!frames)
		fds[1] = -1;
	inv->timeout_ms = rep->timeout_ms;
	inv->output_max = (uint32_t)out_max;
	inv->start_ms = mono_ms();
	inv->start_us = mono_us();
	memcpy(inv->code_sha256, rep->code_sha256, 32);
	sha256_of(c->req.body_len > 0 ? c->req.body : (const uint8_t *)"", c->req.body_len,
		  inv->input_sha256);
	make_uuid(inv->id);
	if (running + out_max > API_FN_OUTPUT_BUDGET) {
		inv_fail(st, inv, 503, "busy", "too many large invocations in progress", SBX_DONE_OK);
		return;
	}
	/* one mapping: request, input, reply buffer, header lines, tokens */
	off[0] = 0;
	off[1] = off[0] + page_up(req_cap + FRAME_HDR);
	off[2] = off[1] + page_up(out_max + 1);
	off[3] = off[2] + page_up(frames ? FN_REPLY_BUF(out_max) : 1);
	off[4] = off[3] + page_up(out_max + 512 + API_RECEIPT_HDR_MAX);
	off[5] = off[4] + page_up(ntoks * sizeof(jsmntok_t) + 1);
	total = off[5];
	inv->mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (inv->mem == MAP_FAILED) {
		inv->mem = NULL;
		inv_fail(st, inv, 503, "busy", "no memory for the invocation", SBX_DONE_OK);
		return;
	}
	inv->mem_len = total;
	inv->req = inv->mem;
	inv->in = inv->mem + off[1];
	inv->in_cap = out_max;
	inv->reply = (char *)inv->mem + off[2];
	inv->reply_cap = off[3] - off[2];
	inv->hdrs = (char *)inv->mem + off[3];
	inv->hdrs_cap = off[4] - off[3];
	inv->toks = (jsmntok_t *)(void *)(inv->mem + off[4]);
	inv->ntoks = (unsigned)ntoks;
	if (frames) {
		n = api_fn_invoke_json(&c->req, inv->id, inv->fn_id, inv->toks, inv->ntoks,
				       (char *)inv->req + FRAME_HDR, req_cap);
		if (n < 0) {
			inv_fail(st, inv, n == -EILSEQ ? 400 : 500, n == -EILSEQ ? "invalid_body" : "internal",
				 n == -EILSEQ ? "body: neither JSON nor UTF-8 text" :
				 "the request does not fit", SBX_DONE_OK);
			return;
		}
		frame_header(inv->req, FN_FRAME_INVOKE, (uint32_t)n);
		inv->req_len = (size_t)n + FRAME_HDR;
		frame_reader_init(&inv->rd, inv->in, out_max, (uint32_t)out_max, FN_FRAMES_TO_HOST);
	} else {
		if (c->req.body_len > 0)
			memcpy(inv->req, c->req.body, c->req.body_len);
		inv->req_len = c->req.body_len;
	}
	for (int i = 0; i < 2; i++) {
		int fd = i == 0 ? inv->fd_io : inv->fd_out;
		int fl = fd >= 0 ? fcntl(fd, F_GETFL) : 0;
		if (fd >= 0 && (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
			inv_fail(st, inv, 502, "worker_crashed", "the worker's descriptors are unusable",
				 SBX_DONE_BROKEN);
			return;
		}
	}
	inv->state = INV_RUNNING;
	inv->deadline_ms = inv->start_ms + inv->timeout_ms + API_FN_TIMEOUT_GRACE_MS;
	http_conn_pending_until(c, inv->deadline_ms + API_FN_END_GRACE_MS);
	inv_rearm(st, inv);
}

static void inv_reply(struct api_state *st, struct http_conn *c, struct api_fn_inv *inv,
		      const struct sbx_reply_msg *rep, const uint8_t *body, size_t body_len,
		      int *fds, unsigned nfds)
{
	bool ok = rep->error == 0 && rep->status == 200;
	unsigned want = rep->worker_kind == SBX_WORKER_FRAMES ? 1 :
			rep->worker_kind == SBX_WORKER_NATIVE ? 2 : 0;

	(void)body;
	(void)body_len;
	if (ok && (want == 0 || nfds < want || rep->output_max == 0 || rep->timeout_ms == 0)) {
		/* a worker we cannot use: it goes back broken */
		inv->worker = rep->worker;
		inv_fail(st, inv, 502, "sandboxd_failed", "sandboxd's invocation reply is malformed",
			 SBX_DONE_BROKEN);
		return;
	}
	if (ok && !pending(c)) {
		inv->worker = rep->worker;
		inv_done(st, inv, SBX_DONE_CLIENT_GONE);
		inv_release(st, inv);
		return;
	}
	if (!ok) {
		/* an error (401, 403, 404, ...): answered as any other */
		struct api_fn_op op = { .kind = FNOP_REQ, .sbx_op = SBX_INVOKE, .inv = -1 };
		inv_release(st, inv);
		if (pending(c))
			op_reply(st, c, &op, rep, NULL, 0, NULL, 0);
		return;
	}
	inv_start(st, c, inv, rep, fds);
}

/* --- sandboxd's messages --------------------------------------------------------- */

void api_fn_reply(struct api_state *st, struct http_conn *c, uint32_t seq,
		  const struct sbx_reply_msg *rep, const uint8_t *body, size_t body_len,
		  int *fds, unsigned nfds)
{
	struct api_fn_op *op;

	if (seq != 0 && seq == st->fn.policy_seq) {
		policy_reply(st, rep, body, body_len, fds, nfds);
		goto out;
	}
	for (size_t i = 0; i < API_FN_INVOKES; i++) {
		struct api_fn_inv *inv = &st->fn.invs[i];
		if (inv->state == INV_ASKED && inv->seq == seq) {
			inv_reply(st, c, inv, rep, body, body_len, fds, nfds);
			goto out;
		}
	}
	if (c == NULL || (op = op_of(st, c->id)) == NULL || op->kind != FNOP_REQ || op->seq != seq)
		goto out;   /* replaced, or answered already */
	if (!pending(c)) {
		op_free(st, op);
		goto out;
	}
	op_reply(st, c, op, rep, body, body_len, fds, nfds);
out:
	close_fds(fds, nfds);
}

void api_fn_lost(struct api_state *st, struct http_conn *c, uint32_t seq)
{
	struct api_fn_op *op;

	for (size_t i = 0; i < API_FN_INVOKES; i++) {
		struct api_fn_inv *inv = &st->fn.invs[i];
		if (inv->state == INV_ASKED && inv->seq == seq) {
			memset(inv, 0, sizeof *inv);
			inv->fd_io = inv->fd_out = -1;
			break;
		}
	}
	if (c != NULL && (op = op_of(st, c->id)) != NULL && op->kind == FNOP_REQ && op->seq == seq)
		op_free(st, op);
	if (pending(c))
		answer_error(c, 503, "unavailable",
			     "sandboxd stopped before it answered; it is being restarted");
}

void api_fn_sandboxd_gone(struct api_state *st)
{
	st->fn.have_policy = false;
	st->fn.policy_seq = 0;
}

void api_fn_worker_end(struct api_state *st, const struct sbx_worker_end_msg *m)
{
	for (size_t i = 0; i < API_FN_INVOKES; i++) {
		struct api_fn_inv *inv = &st->fn.invs[i];
		if ((inv->state != INV_RUNNING && inv->state != INV_ENDING) || inv->worker != m->worker)
			continue;
		inv->have_end = true;
		inv->end_reason = m->reason;
		inv->end_status = m->status;
		/* a native program's output may still be in its pipe */
		if (inv->kind == SBX_WORKER_NATIVE && !inv->eof &&
		    (m->reason == SBX_END_EXIT || m->reason == SBX_END_SIGNAL)) {
			inv->state = INV_ENDING;
			inv->deadline_ms = mono_ms() + API_FN_END_GRACE_MS;
			return;
		}
		inv_ended(st, inv);
		return;
	}
}

void api_fn_conn_gone(struct api_state *st, struct http_conn *c)
{
	struct api_fn_op *op = op_of(st, c->id);

	if (op != NULL)
		op_free(st, op);
	for (size_t i = 0; i < API_FN_INVOKES; i++) {
		struct api_fn_inv *inv = &st->fn.invs[i];
		if (inv->conn_id != c->id)
			continue;
		if (inv->state == INV_RUNNING || inv->state == INV_ENDING) {
			inv_done(st, inv, SBX_DONE_CLIENT_GONE);
			inv_release(st, inv);
		} else if (inv->state == INV_STREAMING || inv->state == INV_RECEIPT) {
			/* a receipt under way: the entry may still be logged (and
			 * signed), but nothing is delivered */
			inv_release(st, inv);
		}
		/* INV_ASKED: the reply finds no client and hands the worker back */
	}
}

void api_fn_tick(struct api_state *st, uint64_t now_ms)
{
	char msg[96];

	for (size_t i = 0; i < API_FN_INVOKES; i++) {
		struct api_fn_inv *inv = &st->fn.invs[i];
		if (inv->state == INV_RECEIPT) {
			struct http_conn *c = conn_find(st, inv->conn_id);
			if (!pending(c)) {
				inv_release(st, inv);   /* answered by the core (504) */
			} else if (now_ms >= inv->deadline_ms) {
				answer_error(c, 503, "receipt_unavailable",
					     "the log or keyd did not answer in time; the result is "
					     "not delivered without its receipt");
				inv_release(st, inv);
				kick(st, c);
			}
			continue;
		}
		if ((inv->state != INV_RUNNING && inv->state != INV_ENDING) || now_ms < inv->deadline_ms)
			continue;
		if (inv->state == INV_RUNNING) {
			snprintf(msg, sizeof msg, "Function timed out after %ums", inv->timeout_ms);
			inv_fail(st, inv, 504, "timeout", msg, SBX_DONE_TIMEOUT);
		} else if (inv->have_end) {
			inv_ended(st, inv);    /* stdout never closed: what came is the answer */
		} else {
			inv_fail(st, inv, 502, "worker_crashed",
				 inv->kind == SBX_WORKER_FRAMES ?
				 "the worker crashed: it closed its connection" :
				 "the worker crashed: its output ended and it did not exit",
				 SBX_DONE_BROKEN);
		}
	}
}

uint64_t api_fn_next_deadline(const struct api_state *st)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < API_FN_INVOKES; i++) {
		const struct api_fn_inv *inv = &st->fn.invs[i];
		if ((inv->state == INV_RUNNING || inv->state == INV_ENDING ||
		     inv->state == INV_RECEIPT) && inv->deadline_ms < next)
			next = inv->deadline_ms;
	}
	return next;
}
