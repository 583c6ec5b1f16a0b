/* net/api_log.c: the egress log's routes and the attestation entry; see
 * api_log.h and docs/API.md ("The log").
 *
 * Each operation is a small state machine driven by logd's answers:
 *
 *   ATTEST      APPEND -> APPENDED(0) -> keyd's quote (api_quote_ask)
 *   CHECKPOINT  CHECKPOINT_REQ -> the signed note
 *   OBJECT      READ_REQ(offset 0) -> head + first chunk; then one READ_REQ
 *               per chunk, each only when the output has room for it
 *   PROOF       PROOF_REQ -> JSON
 *   ENTRIES     CHECKPOINT_REQ (the size) -> READ_REQ of each bundle, in
 *               chunks, entries assembled and rendered -> JSON
 *   FIND        CHECKPOINT_REQ -> FIND_REQ -> per index: PROOF_REQ, then
 *               its bundle read up to the entry -> JSON
 *   RECEIPT     a FIND by invocation id (every page, the last
 *               API_LOG_FIND_MAX records kept) -> keyd signs the receipt
 *               rebuilt from the invocation entry -> JSON
 *   RECEIPT_HOOK APPEND (the invocation entry) -> APPENDED(0) -> keyd
 *               signs the receipt -> the caller's done()
 *
 * Nothing logd sends is trusted beyond its fixed struct: lengths, counts,
 * offsets and totals are checked against what was asked, and a bundle
 * whose entries do not add up ends the view with 502.
 */
#include "net/api_log.h"
#include "net/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bearssl_hash.h>

#include "crypto/tlog_tiles.h"
#include "lib/base64.h"
#include "lib/clock.h"
#include "lib/errbuf.h"

#define CACHE_IMMUTABLE "public, max-age=31536000, immutable"
#define CACHE_PARTIAL   "public, max-age=60"
#define CACHE_NONE      "no-cache"
#define RETRY           "Retry-After: 1\r\n"
/* A bundle as logd may serve it (C2SP: 256 entries of u16 + bytes). */
#define BUNDLE_MAX      ((uint64_t)TLOG_TILE_WIDTH * (2 + TLOG_ENTRY_MAX))

enum { STEP_CHECKPOINT = 0, STEP_FIND, STEP_PROOF, STEP_READ, STEP_SIGN };

static void view_push(struct http_conn *c, struct api_log_op *op);
static void receipt_ask(struct api_state *st, struct http_conn *c, struct api_log_op *op);
static void find_next(struct api_state *st, struct http_conn *c, struct api_log_op *op);
static void hook_find(struct api_state *st, struct http_conn *c, struct api_log_op *op,
		      uint64_t from);

/* --- operations ----------------------------------------------------------- */

static void op_free(struct api_log_op *op)
{
	if (op->work != NULL)
		op->work->used = false;
	memset(op, 0, sizeof *op);
}

/* A slot for c's new request. An operation of c's earlier request (it
 * timed out, or was cut) is replaced; slots of connections that are gone
 * are taken back. NULL when every slot is in use by a live connection. */
static struct api_log_op *op_new(struct api_state *st, struct http_conn *c, uint8_t kind)
{
	struct api_log *lg = &st->log;
	struct api_log_op *free_op = NULL;

	for (size_t i = 0; i < API_LOG_OPS; i++) {
		struct api_log_op *op = &lg->ops[i];
		if (op->kind != LOGOP_FREE &&
		    (op->conn_id == c->id ||
		     (st->find_conn != NULL && st->find_conn(st->ctx, op->conn_id) == NULL)))
			op_free(op);
		if (op->kind == LOGOP_FREE && free_op == NULL)
			free_op = op;
	}
	if (free_op == NULL)
		return NULL;
	free_op->kind = kind;
	free_op->conn_id = c->id;
	return free_op;
}

static struct api_log_work *work_new(struct api_state *st)
{
	for (size_t i = 0; i < API_LOG_WORKS; i++) {
		struct api_log_work *w = &st->log.works[i];
		if (!w->used) {
			/* the big buffers need no clearing: lengths say what is valid */
			memset(w, 0, offsetof(struct api_log_work, ent));
			w->used = true;
			return w;
		}
	}
	return NULL;
}

static struct api_log_op *op_of(struct api_state *st, const struct http_conn *c)
{
	for (size_t i = 0; i < API_LOG_OPS; i++)
		if (st->log.ops[i].kind != LOGOP_FREE && st->log.ops[i].conn_id == c->id)
			return &st->log.ops[i];
	return NULL;
}

static const char *why_unasked(int rc)
{
	return rc == -ENOTCONN ? "the log (logd) is not running" :
	       rc == -EBUSY ? "too many requests in flight" : strerror(-rc);
}

/* Asks logd; on failure answers 503 and frees the operation. */
static bool ask(struct api_state *st, struct http_conn *c, struct api_log_op *op,
		uint32_t type, const void *p, size_t len)
{
	char msg[128];
	int rc = -ENOSYS;

	if (st->request_log)
		rc = st->request_log(st->ctx, op->conn_id, type, p, len, &op->seq);
	if (rc == 0) {
		op->waiting = true;
		return true;
	}
	snprintf(msg, sizeof msg, "cannot ask the log: %s", why_unasked(rc));
	if (op->started)
		http_stream_abort(c);
	else
		http_respond_error_hdr(c, 503, "unavailable", msg, RETRY);
	op_free(op);
	return false;
}

static void fail(struct http_conn *c, struct api_log_op *op, int status, const char *code,
		 const char *msg)
{
	if (op->started)
		http_stream_abort(c);
	else
		http_respond_error(c, status, code, msg);
	op_free(op);
}

/* logd's error code as an HTTP answer (before anything was sent). */
static void fail_errno(struct http_conn *c, struct api_log_op *op, int32_t e, const char *what)
{
	char msg[160];
	/* logd's word only: any value, INT32_MIN included, must not overflow */
	int en = e < 0 && e >= -4095 ? -e : e > 0 && e <= 4095 ? e : EIO;

	snprintf(msg, sizeof msg, "%s: %s", what, strerror(en));
	if (en == ENOENT)
		fail(c, op, 404, "not_found", msg);
	else if (en == EINVAL)
		fail(c, op, 400, "bad_range", msg);
	else if (en == EAGAIN && !op->started) {
		http_respond_error_hdr(c, 503, "unavailable", msg, RETRY);
		op_free(op);
	} else
		fail(c, op, 502, "log_failed", msg);
}

static void bad_reply(struct http_conn *c, struct api_log_op *op)
{
	fail(c, op, 502, "log_failed", "the log (logd) sent a malformed answer");
}

/* --- queries -------------------------------------------------------------- */

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int api_log_query(const char *query, const char *const *names, const bool *required,
		  unsigned n, uint64_t *out, bool *have, char *why, size_t why_cap)
{
	const char *p = query;

	for (unsigned i = 0; i < n; i++)
		have[i] = false;
	while (*p != '\0') {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		unsigned i;

		for (i = 0; i < n; i++)
			if (strlen(names[i]) == klen && memcmp(p, names[i], klen) == 0)
				break;
		if (i == n) {
			snprintf(why, why_cap, "unknown parameter '%.*s'", (int)(klen > 32 ? 32 : klen), p);
			return -EINVAL;
		}
		if (have[i]) {
			snprintf(why, why_cap, "%s: given twice", names[i]);
			return -EINVAL;
		}
		int r = eq ? parse_u64(eq + 1, len - klen - 1, &out[i]) : -EINVAL;
		if (r == -ERANGE) {
			snprintf(why, why_cap, "%s: out of range (at most 2^63-1)", names[i]);
			return -EINVAL;
		}
		if (r < 0) {
			snprintf(why, why_cap, "%s: not a decimal number", names[i]);
			return -EINVAL;
		}
		have[i] = true;
		p += len;
		if (*p == '&') {
			p++;
			if (*p == '\0') {
				snprintf(why, why_cap, "the query ends with '&'");
				return -EINVAL;
			}
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (required[i] && !have[i]) {
			snprintf(why, why_cap, "%s: missing", names[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Two numbers, both required; 400 naming the parameter otherwise. */
static bool query2(struct http_conn *c, const char *query, const char *a, const char *b,
		   uint64_t *va, uint64_t *vb)
{
	const char *names[2] = { a, b };
	const bool req[2] = { true, true };
	uint64_t v[2];
	bool have[2];
	char why[96];

	if (api_log_query(query, names, req, 2, v, have, why, sizeof why) < 0) {
		http_respond_error(c, 400, "bad_parameter", why);
		return false;
	}
	*va = v[0];
	*vb = v[1];
	return true;
}

/* --- GET /v1/attestation: the attestation entry ----------------------------- */

void api_log_attest(struct api_state *st, struct http_conn *c, const uint8_t *nonce, size_t len)
{
	struct log_entry e;
	uint8_t enc[64];
	struct timespec ts;
	br_sha256_context h;
	struct api_log_op *op;

	if (st->log.attest_rate.burst == 0)
		tbucket_init(&st->log.attest_rate, API_LOG_ATTEST_BURST, API_LOG_ATTEST_PERIOD_MS,
			     mono_ms());
	if (!tbucket_take(&st->log.attest_rate, mono_ms())) {
		http_respond_error_hdr(c, 503, "busy",
				       "too many attestation requests (each is logged): a burst of 8, "
				       "then 10 per second", RETRY);
		return;
	}
	op = op_new(st, c, LOGOP_ATTEST);
	if (op == NULL) {
		http_respond_error_hdr(c, 503, "log_refused",
				       "the log refused the attestation entry: too many requests",
				       RETRY);
		return;
	}
	memset(&e, 0, sizeof e);
	e.type = LOG_ATTESTATION;
	clock_gettime(CLOCK_REALTIME, &ts);
	e.time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	br_sha256_init(&h);
	br_sha256_update(&h, nonce, len);
	br_sha256_out(&h, e.u.attestation.nonce);
	long n = log_entry_encode(enc, sizeof enc, &e);
	if (n < 0 || len > sizeof op->nonce) {
		fail(c, op, 500, "internal", "cannot encode the attestation entry");
		return;
	}
	memcpy(op->nonce, nonce, len);
	op->nonce_len = (uint8_t)len;
	if (st->request_log == NULL ||
	    st->request_log(st->ctx, op->conn_id, IMSG_LOG_APPEND, enc, (size_t)n, &op->seq) < 0) {
		/* fail closed: no quote is served that the log did not record */
		http_respond_error_hdr(c, 503, "log_refused",
				       "the log refused the attestation entry: the log (logd) "
				       "cannot be asked; no quote without its log entry", RETRY);
		op_free(op);
		return;
	}
	op->waiting = true;
}

static void attest_reply(struct api_state *st, struct http_conn *c, struct api_log_op *op,
			 uint32_t type, const void *p, size_t len)
{
	struct log_appended_msg a;
	uint8_t nonce[QUOTE_NONCE_MAX];
	size_t nlen = op->nonce_len;
	char msg[160];

	if (type != IMSG_LOG_APPENDED || len != sizeof a) {
		bad_reply(c, op);
		return;
	}
	memcpy(&a, p, sizeof a);
	if (a.error != 0) {
		int en = a.error < 0 ? -a.error : a.error;
		snprintf(msg, sizeof msg, "the log refused the attestation entry: %s",
			 strerror(en > 4095 ? EIO : en));
		http_respond_error_hdr(c, 503, "log_refused", msg, RETRY);
		op_free(op);
		return;
	}
	memcpy(nonce, op->nonce, nlen);
	op_free(op);
	api_quote_ask(st, c, nonce, nlen);
}

/* --- checkpoint ----------------------------------------------------------------- */

/* Checks an IMSG_LOG_CHECKPOINT: 0 with the note's length, or -EBADMSG;
 * a logd error is returned as it is (negative, not -EBADMSG). */
static int checkpoint_msg(uint32_t type, const void *p, size_t len, struct log_checkpoint_msg *m)
{
	if (type != IMSG_LOG_CHECKPOINT || len != sizeof *m)
		return -EBADMSG;
	memcpy(m, p, sizeof *m);
	if (m->error != 0)
		return m->error < 0 ? m->error : -m->error;
	if (m->note_len == 0 || m->note_len >= sizeof m->note || m->note[m->note_len] != '\0' ||
	    memchr(m->note, '\0', m->note_len) != NULL || m->size > INT64_MAX)
		return -EBADMSG;
	return 0;
}

static void checkpoint_fail(struct http_conn *c, struct api_log_op *op, int r)
{
	if (r == -EBADMSG)
		bad_reply(c, op);
	else if (r == -ENOENT)
		fail(c, op, 404, "no_checkpoint", "the log has not signed a checkpoint yet");
	else if (r == -EAGAIN) {
		http_respond_error_hdr(c, 503, "unavailable",
				       "the log cannot sign a checkpoint now (keyd unavailable)", RETRY);
		op_free(op);
	} else
		fail_errno(c, op, r, "the log could not give its checkpoint");
}

static void route_checkpoint(struct api_state *st, struct http_conn *c, const char *query)
{
	static const char *const names[1] = { "fresh" };
	static const bool req[1] = { false };
	struct log_checkpoint_req_msg m;
	uint64_t fresh = 0;
	bool have;
	char why[96];

	if (api_log_query(query, names, req, 1, &fresh, &have, why, sizeof why) < 0 || fresh > 1) {
		http_respond_error(c, 400, "bad_parameter",
				   fresh > 1 ? "fresh: 0 or 1" : why);
		return;
	}
	struct api_log_op *op = op_new(st, c, LOGOP_CHECKPOINT);
	if (op == NULL) {
		http_respond_error_hdr(c, 503, "busy", "too many log requests", RETRY);
		return;
	}
	memset(&m, 0, sizeof m);
	m.fresh = (uint8_t)fresh;
	ask(st, c, op, IMSG_LOG_CHECKPOINT_REQ, &m, sizeof m);
}

static void checkpoint_reply(struct http_conn *c, struct api_log_op *op, uint32_t type,
			     const void *p, size_t len)
{
	struct log_checkpoint_msg m;
	int r = checkpoint_msg(type, p, len, &m);

	if (r < 0) {
		checkpoint_fail(c, op, r);
		return;
	}
	http_respond_cache(c, 200, "text/plain; charset=utf-8", CACHE_NONE, NULL, m.note,
			   m.note_len);
	op_free(op);
}

/* --- tiles and entry bundles (streamed) ------------------------------------------ */

static void object_next(struct api_state *st, struct http_conn *c, struct api_log_op *op)
{
	uint64_t left = http_stream_left(c);

	if (left == 0) {
		op_free(op);   /* all written (or HEAD) */
		return;
	}
	if (op->waiting)
		return;
	if (!http_stream_want(c, left < LOG_READ_CHUNK ? (size_t)left : LOG_READ_CHUNK))
		return;   /* api_log_stream_ready() when there is room */
	op->rd.offset = op->total - left;
	ask(st, c, op, IMSG_LOG_READ_REQ, &op->rd, sizeof op->rd);
}

static void route_object(struct api_state *st, struct http_conn *c, const char *rel)
{
	struct tlog_tile t;
	struct api_log_op *op;

	if (tlog_tile_parse(rel, strlen(rel), &t) < 0) {
		http_respond_error(c, 404, "not_found",
				   "not a tile path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])");
		return;
	}
	op = op_new(st, c, LOGOP_OBJECT);
	if (op == NULL) {
		http_respond_error_hdr(c, 503, "busy", "too many log requests", RETRY);
		return;
	}
	op->rd.kind = t.entries ? LOG_READ_BUNDLE : LOG_READ_TILE;
	op->rd.level = t.level;
	op->rd.width = t.width;
	op->rd.index = t.index;
	op->rd.offset = 0;
	ask(st, c, op, IMSG_LOG_READ_REQ, &op->rd, sizeof op->rd);
}

/* Checks an IMSG_LOG_READ against the question rd: 0 (*data and m set), a
 * logd error (negative, not -EBADMSG) or -EBADMSG. */
static int read_msg(uint32_t type, const void *p, size_t len, const struct log_read_req_msg *rd,
		    struct log_read_msg *m, const uint8_t **data)
{
	if (type != IMSG_LOG_READ || len < sizeof *m)
		return -EBADMSG;
	memcpy(m, p, sizeof *m);
	if (m->error != 0)
		return m->error < 0 ? (m->error == -EBADMSG ? -EIO : m->error) : -EIO;
	uint64_t max = rd->kind == LOG_READ_TILE ? (uint64_t)rd->width * MERKLE_HASH_LEN : BUNDLE_MAX;
	if (m->len != len - sizeof *m || m->len > LOG_READ_CHUNK || m->offset != rd->offset ||
	    m->total > max || (rd->kind == LOG_READ_TILE && m->total != max) ||
	    m->offset > m->total || m->len > m->total - m->offset ||
	    (m->len == 0 && m->offset < m->total))
		return -EBADMSG;
	*data = (const uint8_t *)p + sizeof *m;
	return 0;
}

static void object_reply(struct api_state *st, struct http_conn *c, struct api_log_op *op,
			 uint32_t type, const void *p, size_t len)
{
	struct log_read_msg m;
	const uint8_t *data;
	int r = read_msg(type, p, len, &op->rd, &m, &data);

	if (r == -EBADMSG) {
		bad_reply(c, op);
		return;
	}
	if (r < 0) {
		fail_errno(c, op, r, op->rd.kind == LOG_READ_TILE ? "no such tile in the log"
								  : "no such entry bundle in the log");
		return;
	}
	if (!op->started) {
		const char *cache = op->rd.width == TLOG_TILE_WIDTH ? CACHE_IMMUTABLE : CACHE_PARTIAL;
		op->total = m.total;
		op->started = true;
		http_respond_stream(c, 200, "application/octet-stream", cache, NULL, m.total);
		if (http_conn_state(c) != HTTP_CONN_WRITING && http_conn_state(c) != HTTP_CONN_CLOSING) {
			op_free(op);
			return;
		}
	} else if (m.total != op->total) {
		bad_reply(c, op);   /* the object changed under us */
		return;
	}
	if (http_stream_left(c) > 0 && http_stream_write(c, data, m.len) < 0) {
		bad_reply(c, op);
		return;
	}
	object_next(st, c, op);
}

void api_log_stream_ready(void *state, struct http_conn *c)
{
	struct api_state *st = state;
	struct api_log_op *op = op_of(st, c);

	if (op == NULL || !op->started)
		return;
	if (op->kind == LOGOP_OBJECT)
		object_next(st, c, op);
	else if (op->work != NULL)
		view_push(c, op);
}

/* --- proofs ------------------------------------------------------------------------ */

static void route_proof(struct api_state *st, struct http_conn *c, const char *query,
			bool inclusion)
{
	uint64_t a, b;
	struct api_log_op *op;

	if (!query2(c, query, inclusion ? "index" : "from", inclusion ? "size" : "to", &a, &b))
		return;
	if (inclusion ? a >= b : a > b) {
		http_respond_error(c, 400, "bad_range", inclusion ? "index must be below size"
								  : "from must not be above to");
		return;
	}
	op = op_new(st, c, LOGOP_PROOF);
	if (op == NULL) {
		http_respond_error_hdr(c, 503, "busy", "too many log requests", RETRY);
		return;
	}
	op->pr.kind = inclusion ? LOG_PROOF_INCLUSION : LOG_PROOF_CONSISTENCY;
	op->pr.a = a;
	op->pr.b = b;
	ask(st, c, op, IMSG_LOG_PROOF_REQ, &op->pr, sizeof op->pr);
}

/* Checks an IMSG_LOG_PROOF: 0, a logd error, or -EBADMSG. */
static int proof_msg(uint32_t type, const void *p, size_t len, struct log_proof_msg *m)
{
	if (type != IMSG_LOG_PROOF || len != sizeof *m)
		return -EBADMSG;
	memcpy(m, p, sizeof *m);
	if (m->error != 0)
		return m->error < 0 && m->error != -EBADMSG ? m->error : -EIO;
	return m->count <= LOG_PROOF_MAX ? 0 : -EBADMSG;
}

static void jw_hashes(struct jsonw *w, const uint8_t (*h)[32], uint32_t n)
{
	jw_array_begin(w);
	for (uint32_t i = 0; i < n; i++)
		jw_base64(w, h[i], 32);
	jw_array_end(w);
}

static void proof_reply(struct http_conn *c, struct api_log_op *op, uint32_t type,
			const void *p, size_t len)
{
	struct log_proof_msg m;
	char buf[4096];
	struct jsonw w;
	bool inc = op->pr.kind == LOG_PROOF_INCLUSION;
	int r = proof_msg(type, p, len, &m);

	if (r == -EBADMSG) {
		bad_reply(c, op);
		return;
	}
	if (r < 0) {
		fail_errno(c, op, r, "no such proof");
		return;
	}
	jw_init(&w, buf, sizeof buf);
	jw_object_begin(&w);
	jw_key(&w, inc ? "index" : "from");
	jw_u64(&w, op->pr.a);
	jw_key(&w, inc ? "size" : "to");
	jw_u64(&w, op->pr.b);
	jw_key(&w, "root");
	jw_base64(&w, m.root, sizeof m.root);
	jw_key(&w, "proof");
	jw_hashes(&w, (const uint8_t (*)[32])m.hash, m.count);
	jw_object_end(&w);
	long n = jw_finish(&w);
	if (n < 0) {
		fail(c, op, 500, "internal", "the proof does not fit");
		return;
	}
	http_respond_json(c, 200, buf, (size_t)n);
	op_free(op);
}

/* --- JSON views: entries and /logs/{id} ----------------------------------------- */

/* The width of bundle t in a tree of size leaves (0: beyond it). */
static unsigned bundle_width(uint64_t t, uint64_t size)
{
	uint64_t full = size / TLOG_TILE_WIDTH;

	if (t < full)
		return TLOG_TILE_WIDTH;
	return t == full ? (unsigned)(size % TLOG_TILE_WIDTH) : 0;
}

/* Starts reading the bundle that holds entry index. */
static bool bundle_start(struct api_state *st, struct http_conn *c, struct api_log_op *op,
			 uint64_t index)
{
	struct api_log_work *w = op->work;

	w->bundle = index / TLOG_TILE_WIDTH;
	w->width = bundle_width(w->bundle, w->size);
	w->boff = 0;
	w->btotal = 0;
	w->bidx = 0;
	w->have = 0;
	op->step = STEP_READ;
	memset(&op->rd, 0, sizeof op->rd);
	op->rd.kind = LOG_READ_BUNDLE;
	op->rd.width = (uint16_t)w->width;
	op->rd.index = w->bundle;
	op->rd.offset = 0;
	return ask(st, c, op, IMSG_LOG_READ_REQ, &op->rd, sizeof op->rd);
}

/* One entry's JSON into w->w: {"index":i,"entry":{...}|null[,"note"]}
 * opened but not closed (the caller may add fields). false when the body
 * is full (nothing of it written). */
static bool render_entry(struct api_log_work *w, uint64_t index, const uint8_t *e, size_t len)
{
	struct log_entry d;
	char err[96];
	long n = -EBADMSG;

	if (log_entry_decode(e, len, &d, err, sizeof err) == 0)
		n = log_entry_json(&d, w->scratch, sizeof w->scratch);
	jw_object_begin(&w->w);
	jw_key(&w->w, "index");
	jw_u64(&w->w, index);
	jw_key(&w->w, "entry");
	if (n >= 0) {
		jw_raw(&w->w, w->scratch, (size_t)n);
	} else {
		jw_null(&w->w);
		jw_key(&w->w, "note");
		jw_string(&w->w, n == -EBADMSG ? "the entry does not decode; its bytes are in its bundle"
					       : "too large to show here; its bytes are in its bundle");
	}
	return !w->w.out.overflow;
}

/* An invocation's record for /v1/receipts/{id}: its bytes (base64, what
 * the proof is over) and its JSON; the invocation entry's facts are kept
 * for the receipt. Opened but not closed, like render_entry(). */
static bool render_record(struct api_log_work *w, uint64_t index, const uint8_t *e, size_t len)
{
	struct log_entry d;
	char err[96];
	long n = -EBADMSG;

	if (log_entry_decode(e, len, &d, err, sizeof err) == 0) {
		n = log_entry_json(&d, w->scratch, sizeof w->scratch);
		if (d.type == LOG_INVOCATION && !w->have_inv && w->have_entry && index == w->inv_index &&
		    d.u.invocation.invocation.len == strlen(w->function) &&
		    memcmp(d.u.invocation.invocation.p, w->function, d.u.invocation.invocation.len) == 0 &&
		    d.u.invocation.function.len < sizeof w->rq.function) {
			if (d.version < 2) {
				w->inv_v1 = true;   /* no code hash: no receipt */
			} else {
				/* the facts; the records were listed as they were found */
				struct receipt_sign_req_msg *q = &w->rq;
				memset(q->function, 0, sizeof q->function);
				memset(q->invocation, 0, sizeof q->invocation);
				memcpy(q->function, d.u.invocation.function.p, d.u.invocation.function.len);
				memcpy(q->invocation, w->function, strlen(w->function));
				memcpy(q->code_sha256, d.u.invocation.code, 32);
				memcpy(q->input_sha256, d.u.invocation.input, 32);
				memcpy(q->output_sha256, d.u.invocation.output, 32);
				q->status = d.u.invocation.status;
				q->time_ns = d.time_ns;
				w->have_inv = true;
			}
		}
	}
	jw_object_begin(&w->w);
	jw_key(&w->w, "index");
	jw_u64(&w->w, index);
	jw_key(&w->w, "entry");
	jw_base64(&w->w, e, len);
	jw_key(&w->w, "decoded");
	if (n >= 0)
		jw_raw(&w->w, w->scratch, (size_t)n);
	else
		jw_null(&w->w);
	return !w->w.out.overflow;
}

/* Adds the current entry (index, bytes) to the view, if it is wanted.
 * Returns false when the view is finished. */
static bool view_entry(struct api_log_op *op, uint64_t index, const uint8_t *e, size_t len)
{
	struct api_log_work *w = op->work;
	struct jsonw save = w->w;

	if (op->kind == LOGOP_ENTRIES) {
		if (index < w->start)
			return true;
		if (render_entry(w, index, e, len)) {
			jw_object_end(&w->w);
			/* room for the closing of the view */
			if (w->w.out.len + 64 <= w->w.out.cap && !w->w.out.overflow) {
				w->next = index + 1;
				w->rendered++;
				return w->next < w->end;
			}
		}
		w->w = save;
		w->stopped = true;
		return false;
	}
	/* FIND and RECEIPT: only entry idx[pos], with its proof */
	if (index != w->idx[w->pos])
		return true;
	if (op->kind == LOGOP_RECEIPT ? render_record(w, index, e, len) :
	    render_entry(w, index, e, len)) {
		jw_key(&w->w, "proof");
		jw_hashes(&w->w, (const uint8_t (*)[32])w->proof, w->proof_count);
		jw_object_end(&w->w);
		size_t tail = 64 + LOG_CHECKPOINT_NOTE_MAX * 2 +
			      (op->kind == LOGOP_RECEIPT ? API_RECEIPT_B64_MAX : 0);
		if (w->w.out.len + tail <= w->w.out.cap && !w->w.out.overflow) {
			w->rendered++;
			w->pos++;
			return false;   /* this bundle read is done */
		}
	}
	w->w = save;
	w->stopped = true;
	return false;
}

/* Feeds a bundle chunk to the entry assembler. Returns 1 to read on, 0
 * when the view needs no more of this bundle, -EBADMSG when the bundle
 * is malformed. */
static int bundle_feed(struct api_log_op *op, const uint8_t *p, size_t n)
{
	struct api_log_work *w = op->work;

	while (n > 0) {
		if (w->bidx >= w->width)
			return -EBADMSG;   /* more entries than the bundle's width */
		size_t need = w->have < 2 ? 2 : 2 + ((size_t)w->ent[0] << 8 | w->ent[1]);
		size_t k = need - w->have < n ? need - w->have : n;
		memcpy(w->ent + w->have, p, k);
		w->have += k;
		p += k;
		n -= k;
		if (w->have < 2 || w->have < 2 + ((size_t)w->ent[0] << 8 | w->ent[1]))
			continue;
		uint64_t index = w->bundle * TLOG_TILE_WIDTH + w->bidx;
		bool more = view_entry(op, index, w->ent + 2, w->have - 2);
		w->bidx++;
		w->have = 0;
		if (!more)
			return 0;
	}
	return 1;
}

/* Writes as much of a finished view's body as the output takes; the
 * rest when api_log_stream_ready() says there is room. */
static void view_push(struct http_conn *c, struct api_log_op *op)
{
	for (;;) {
		uint64_t left = http_stream_left(c);
		size_t k = http_stream_room(c);
		if (left == 0) {
			op_free(op);   /* all written (or HEAD) */
			return;
		}
		if (k == 0 && !http_stream_want(c, left < 4096 ? (size_t)left : 4096))
			return;
		k = http_stream_room(c);
		if (http_stream_write(c, op->work->body + (op->total - left), k) < 0) {
			http_stream_abort(c);
			op_free(op);
			return;
		}
	}
}

static void view_finish(struct http_conn *c, struct api_log_op *op)
{
	struct api_log_work *w = op->work;
	bool more;

	jw_array_end(&w->w);
	if (op->kind == LOGOP_ENTRIES) {
		more = w->next < w->end;
		jw_key(&w->w, "end");
		jw_u64(&w->w, w->next);
	} else {
		jw_key(&w->w, "count");
		jw_u64(&w->w, w->rendered);
		jw_key(&w->w, "checkpoint");
		jw_string(&w->w, w->note);
		if (op->kind == LOGOP_RECEIPT) {
			/* no paging here: the older records a full body left out
			 * are counted with those before the window */
			jw_key(&w->w, "earlier");
			jw_u64(&w->w, w->earlier + (w->nidx - w->pos));
			w->pos = w->nidx;
			jw_key(&w->w, "receipt");
			jw_string(&w->w, w->receipt);
		}
		more = w->pos < w->nidx || w->find_next != UINT64_MAX;
		if (w->pos < w->nidx)
			w->next = w->idx[w->pos];
		else
			w->next = w->find_next;
	}
	jw_key(&w->w, "next");
	if (more)
		jw_u64(&w->w, w->next);
	else
		jw_null(&w->w);
	jw_object_end(&w->w);
	long n = jw_finish(&w->w);
	if (n < 0) {
		fail(c, op, 500, "internal", "the answer does not fit");
		return;
	}
	/* larger than one output buffer: streamed from the workspace */
	op->total = (uint64_t)n;
	op->started = true;
	http_respond_stream(c, 200, "application/json", NULL, NULL, op->total);
	view_push(c, op);
}

/* The next step of a FIND view: the proof of the next index, or done. */
static void find_next(struct api_state *st, struct http_conn *c, struct api_log_op *op)
{
	struct api_log_work *w = op->work;

	if (w->stopped || w->pos >= w->nidx || w->rendered >= API_LOG_FIND_MAX) {
		if (op->kind == LOGOP_RECEIPT)
			receipt_ask(st, c, op);
		else
			view_finish(c, op);
		return;
	}
	op->step = STEP_PROOF;
	memset(&op->pr, 0, sizeof op->pr);
	op->pr.kind = LOG_PROOF_INCLUSION;
	op->pr.a = w->idx[w->pos];
	op->pr.b = w->size;
	ask(st, c, op, IMSG_LOG_PROOF_REQ, &op->pr, sizeof op->pr);
}

static void view_read_reply(struct api_state *st, struct http_conn *c, struct api_log_op *op,
			    uint32_t type, const void *p, size_t len)
{
	struct api_log_work *w = op->work;
	struct log_read_msg m;
	const uint8_t *data;
	int r = read_msg(type, p, len, &op->rd, &m, &data);

	if (r == -EBADMSG) {
		bad_reply(c, op);
		return;
	}
	if (r < 0) {
		fail_errno(c, op, r, "an entry bundle could not be read");
		return;
	}
	if (w->boff > 0 && m.total != w->btotal) {
		bad_reply(c, op);
		return;
	}
	w->btotal = m.total;
	w->boff = m.offset + m.len;
	r = bundle_feed(op, data, m.len);
	if (r == 1 && w->boff == w->btotal)
		r = w->bidx == w->width && w->have == 0 ? 2 : -EBADMSG;
	if (r < 0) {
		fail(c, op, 502, "log_failed", "the log (logd) sent a malformed entry bundle");
		return;
	}
	if (r == 1) {
		op->rd.offset = w->boff;
		ask(st, c, op, IMSG_LOG_READ_REQ, &op->rd, sizeof op->rd);
		return;
	}
	/* this bundle is done (r 0: the view has what it wanted from it) */
	if (op->kind == LOGOP_FIND || op->kind == LOGOP_RECEIPT) {
		if (r == 2 && !w->stopped) {
			bad_reply(c, op);   /* the entry was not in its bundle */
			return;
		}
		find_next(st, c, op);
		return;
	}
	if (!w->stopped && w->next < w->end && r == 2 && w->next == (w->bundle + 1) * TLOG_TILE_WIDTH) {
		bundle_start(st, c, op, w->next);
		return;
	}
	view_finish(c, op);
}

/* A JSON view's operation and workspace; NULL when none is free (503
 * answered). The caller fills the workspace, then view_ask(). */
static struct api_log_op *view_begin(struct api_state *st, struct http_conn *c, uint8_t kind)
{
	struct api_log_op *op = op_new(st, c, kind);

	if (op == NULL || (op->work = work_new(st)) == NULL) {
		if (op != NULL)
			op_free(op);
		http_respond_error_hdr(c, 503, "busy", "too many log views in progress", RETRY);
		return NULL;
	}
	jw_init(&op->work->w, op->work->body, sizeof op->work->body);
	return op;
}

/* A view starts with the current checkpoint: its size bounds the view. */
static void view_ask(struct api_state *st, struct http_conn *c, struct api_log_op *op)
{
	struct log_checkpoint_req_msg m;

	op->step = STEP_CHECKPOINT;
	memset(&m, 0, sizeof m);
	ask(st, c, op, IMSG_LOG_CHECKPOINT_REQ, &m, sizeof m);
}

static void route_entries(struct api_state *st, struct http_conn *c, const char *query)
{
	struct api_log_op *op;
	uint64_t start, end;
	char msg[96];

	if (!query2(c, query, "start", "end", &start, &end))
		return;
	if (end <= start || end - start > API_LOG_ENTRIES_MAX) {
		snprintf(msg, sizeof msg, "end must be above start, by at most %u",
			 API_LOG_ENTRIES_MAX);
		http_respond_error(c, 400, "bad_range", msg);
		return;
	}
	if ((op = view_begin(st, c, LOGOP_ENTRIES)) == NULL)
		return;
	op->work->start = start;
	op->work->end = end;
	view_ask(st, c, op);
}

static void route_find(struct api_state *st, struct http_conn *c, const char *id,
		       const char *query)
{
	static const char *const names[1] = { "from" };
	static const bool req[1] = { false };
	struct api_log_op *op;
	uint64_t from = 0;
	bool have;
	char why[96];

	/* a function id as the API takes it: 1..63 of [A-Za-z0-9._-] */
	if (!receipt_id_ok(id, strlen(id))) {
		http_respond_error(c, 400, "bad_function_id",
				   "a function id is 1 to 63 of A-Z a-z 0-9 . _ -");
		return;
	}
	if (api_log_query(query, names, req, 1, &from, &have, why, sizeof why) < 0) {
		http_respond_error(c, 400, "bad_parameter", why);
		return;
	}
	if ((op = view_begin(st, c, LOGOP_FIND)) == NULL)
		return;
	snprintf(op->work->function, sizeof op->work->function, "%s", id);
	op->work->start = from;
	view_ask(st, c, op);
}

static void route_receipt(struct api_state *st, struct http_conn *c, const char *id,
			  const char *query)
{
	struct api_log_op *op;

	if (!receipt_id_ok(id, strlen(id))) {
		http_respond_error(c, 400, "bad_invocation_id",
				   "an invocation id is 1 to 63 of A-Z a-z 0-9 . _ -");
		return;
	}
	if (*query != '\0') {
		http_respond_error(c, 400, "bad_parameter", "this path takes no parameters");
		return;
	}
	if ((op = view_begin(st, c, LOGOP_RECEIPT)) == NULL)
		return;
	snprintf(op->work->function, sizeof op->work->function, "%s", id);
	op->work->nidx = 0;   /* the window of records fills across pages */
	view_ask(st, c, op);
}

static bool ask_find(struct api_state *st, struct http_conn *c, struct api_log_op *op,
		     uint64_t from)
{
	struct log_find_req_msg f;

	memset(&f, 0, sizeof f);
	memcpy(f.function, op->work->function, sizeof f.function);
	f.from = from;
	f.by = op->kind == LOGOP_RECEIPT ? LOG_FIND_INVOCATION : LOG_FIND_FUNCTION;
	op->work->start = from;
	op->step = STEP_FIND;
	return ask(st, c, op, IMSG_LOG_FIND_REQ, &f, sizeof f);
}

static void view_checkpoint_reply(struct api_state *st, struct http_conn *c,
				  struct api_log_op *op, uint32_t type, const void *p, size_t len)
{
	struct api_log_work *w = op->work;
	struct log_checkpoint_msg m;
	int r = checkpoint_msg(type, p, len, &m);

	if (r < 0) {
		checkpoint_fail(c, op, r);
		return;
	}
	w->size = m.size;
	memcpy(w->note, m.note, m.note_len + 1);
	jw_object_begin(&w->w);
	if (op->kind == LOGOP_ENTRIES) {
		char msg[96];
		if (w->start >= w->size) {
			snprintf(msg, sizeof msg, "start is beyond the log's signed size %llu",
				 (unsigned long long)w->size);
			fail(c, op, 404, "not_found", msg);
			return;
		}
		if (w->end > w->size)
			w->end = w->size;
		w->next = w->start;
		jw_key(&w->w, "size");
		jw_u64(&w->w, w->size);
		jw_key(&w->w, "start");
		jw_u64(&w->w, w->start);
		jw_key(&w->w, "entries");
		jw_array_begin(&w->w);
		bundle_start(st, c, op, w->start);
		return;
	}
	jw_key(&w->w, op->kind == LOGOP_RECEIPT ? "invocation" : "functionId");
	jw_string(&w->w, w->function);
	jw_key(&w->w, "size");
	jw_u64(&w->w, w->size);
	jw_key(&w->w, "entries");
	jw_array_begin(&w->w);
	ask_find(st, c, op, w->start);
}

/* A page of an invocation's records (indices increasing) into q: of
 * those below its invocation entry's index, the oldest
 * RECEIPT_RECORDS_MAX - 1 are listed and the others counted as omitted
 * (docs/LOG.md, "Receipts"). The hook and GET /v1/receipts/{id} list
 * them alike, so both sign the same receipt. True when the page reached
 * the entry: no later page adds to q. */
static bool receipt_records(struct receipt_sign_req_msg *q, uint64_t entry, const uint64_t *idx,
			    uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (idx[i] >= entry)
			return true;
		if (q->nrecords < RECEIPT_RECORDS_MAX - 1)
			q->record[q->nrecords++] = idx[i];
		else
			q->omitted++;
	}
	return false;
}

/* GET /v1/receipts/{id}, one found index: listed by the receipt (shown
 * with its entry), or one of the others, of which the newest are shown. */
static void receipt_found(struct api_log_work *w, uint64_t index)
{
	enum { OTHERS = API_LOG_FIND_MAX - RECEIPT_RECORDS_MAX };
	unsigned listed = w->rq.nrecords;

	if (!receipt_records(&w->rq, w->inv_index, &index, 1) && w->rq.nrecords > listed)
		return;
	if (index == w->inv_index)
		return;
	if (w->nidx == OTHERS) {
		memmove(w->idx, w->idx + 1, (OTHERS - 1) * sizeof w->idx[0]);
		w->nidx--;
		w->earlier++;
	}
	w->idx[w->nidx++] = index;
}

/* GET /v1/receipts/{id}, every page found: the receipt's records end with
 * the entry's, and the view shows the entry first (its facts make the
 * receipt, so a body that fills up still has it), then the receipt's
 * other records and the others kept, newest first. */
static void receipt_view_start(struct api_state *st, struct http_conn *c, struct api_log_op *op)
{
	struct api_log_work *w = op->work;

	w->rq.record[w->rq.nrecords++] = w->inv_index;
	for (unsigned i = 0; i + 1 < w->rq.nrecords; i++)
		w->idx[w->nidx++] = w->rq.record[i];
	w->idx[w->nidx++] = w->inv_index;
	/* the entry to the front, the others sorted descending after it: at most 32 */
	w->idx[w->nidx - 1] = w->idx[0];
	w->idx[0] = w->inv_index;
	for (unsigned i = 2; i < w->nidx; i++)
		for (unsigned j = i; j > 1 && w->idx[j - 1] < w->idx[j]; j--) {
			uint64_t t = w->idx[j];
			w->idx[j] = w->idx[j - 1];
			w->idx[j - 1] = t;
		}
	w->find_next = UINT64_MAX;
	w->pos = 0;
	find_next(st, c, op);
}

static void view_found_reply(struct api_state *st, struct http_conn *c, struct api_log_op *op,
			     uint32_t type, const void *p, size_t len)
{
	struct log_found_msg m;
	struct api_log_work *w = op->work;

	if (type != IMSG_LOG_FOUND || len != sizeof m) {
		bad_reply(c, op);
		return;
	}
	memcpy(&m, p, sizeof m);
	if (m.error != 0) {
		fail_errno(c, op, m.error, "the log could not search its entries");
		return;
	}
	if (m.count > LOG_FIND_MAX) {
		bad_reply(c, op);
		return;
	}
	if (op->kind == LOGOP_RECEIPT && !w->have_entry) {
		/* the invocation entry, within the signed size, or nothing to show */
		if (m.entry == LOG_FIND_NO_ENTRY || m.entry >= w->size) {
			fail(c, op, 404, "not_found", "no invocation entry with this id in the signed "
			     "log (a new one is covered by the next checkpoint, within a second)");
			return;
		}
		w->have_entry = true;
		w->inv_index = m.entry;
	}
	if (op->kind != LOGOP_RECEIPT)
		w->nidx = 0;
	for (uint32_t i = 0; i < m.count; i++) {
		if ((i > 0 && m.index[i] <= m.index[i - 1]) || m.index[i] < w->start ||
		    (op->kind == LOGOP_RECEIPT && m.entry != w->inv_index)) {
			bad_reply(c, op);
			return;
		}
		/* entries past the signed size cannot be proven against it */
		if (m.index[i] >= w->size)
			continue;
		if (op->kind == LOGOP_RECEIPT)
			receipt_found(w, m.index[i]);
		else if (w->nidx < LOG_FIND_MAX)
			w->idx[w->nidx++] = m.index[i];
	}
	if (op->kind == LOGOP_RECEIPT) {
		if (m.count == LOG_FIND_MAX && m.next < w->size && m.next > w->start) {
			ask_find(st, c, op, m.next);   /* the next page */
			return;
		}
		receipt_view_start(st, c, op);
		return;
	}
	/* more to find beyond these, within the signed size? */
	w->find_next = m.count == LOG_FIND_MAX && m.next < w->size && m.next > w->start ?
		       m.next : UINT64_MAX;
	w->pos = 0;
	find_next(st, c, op);
}

static void view_proof_reply(struct api_state *st, struct http_conn *c, struct api_log_op *op,
			     uint32_t type, const void *p, size_t len)
{
	struct log_proof_msg m;
	struct api_log_work *w = op->work;
	int r = proof_msg(type, p, len, &m);

	if (r == -EBADMSG) {
		bad_reply(c, op);
		return;
	}
	if (r < 0) {
		fail_errno(c, op, r, "the log could not prove an entry");
		return;
	}
	w->proof_count = m.count;
	memcpy(w->proof, m.hash, sizeof w->proof);
	bundle_start(st, c, op, w->idx[w->pos]);
}

static void view_reply(struct api_state *st, struct http_conn *c, struct api_log_op *op,
		       uint32_t type, const void *p, size_t len)
{
	switch (op->step) {
	case STEP_CHECKPOINT:
		view_checkpoint_reply(st, c, op, type, p, len);
		break;
	case STEP_FIND:
		view_found_reply(st, c, op, type, p, len);
		break;
	case STEP_PROOF:
		view_proof_reply(st, c, op, type, p, len);
		break;
	default:
		view_read_reply(st, c, op, type, p, len);
		break;
	}
}

/* --- receipts: keyd's signature ----------------------------------------------------- */

_Static_assert(RECEIPT_NOTE_MAX <= RECEIPT_SIGNED_MAX, "a signed receipt fits keyd's reply");
_Static_assert(RECEIPT_REQ_ID_MAX == LOG_FIND_ID_MAX, "an invocation id is a find key");

static bool ask_keyd(struct api_state *st, struct api_log_op *op, const void *p, size_t len,
		     int *rc)
{
	*rc = st->log.request_keyd ?
	      st->log.request_keyd(st->ctx, op->conn_id, IMSG_RECEIPT_SIGN_REQ, p, len, &op->seq) :
	      -ENOTCONN;
	op->waiting = *rc == 0;
	op->step = STEP_SIGN;
	return *rc == 0;
}

/* Checks keyd's IMSG_RECEIPT_SIGN_REPLY against the request q and puts
 * the note's base64 in b64 (cap bytes). 0, keyd's error (negative), or
 * -EBADMSG: a reply of the wrong shape, or a receipt that is not the
 * one asked for. */
static int sign_reply(uint32_t type, const void *p, size_t len,
		      const struct receipt_sign_req_msg *q, char *b64, size_t cap)
{
	const size_t head = offsetof(struct receipt_sign_reply_msg, note);
	struct receipt_sign_reply_msg m;
	struct note_reader rd;
	struct receipt r;
	char err[ERRBUF_LEN];
	size_t tlen;

	if (type != IMSG_RECEIPT_SIGN_REPLY || len < head + 1 || len > sizeof m)
		return -EBADMSG;
	memcpy(&m, p, len);
	if (m.error != 0)
		return m.error < 0 && m.error != -EBADMSG ? m.error : -EIO;
	if (m.note_len == 0 || len != head + m.note_len + 1 || m.note[m.note_len] != '\0' ||
	    BASE64_ENCODED_LEN(m.note_len) >= cap ||
	    note_open(m.note, m.note_len, &tlen, &rd, err, sizeof err) < 0 ||
	    receipt_parse(m.note, tlen, &r, err, sizeof err) < 0)
		return -EBADMSG;
	if (strcmp(r.function, q->function) != 0 || strcmp(r.invocation, q->invocation) != 0 ||
	    memcmp(r.code, q->code_sha256, 32) != 0 || memcmp(r.input, q->input_sha256, 32) != 0 ||
	    memcmp(r.output, q->output_sha256, 32) != 0 || r.status != q->status ||
	    r.time_ns != q->time_ns || r.nrecords != q->nrecords || r.omitted != q->omitted ||
	    memcmp(r.record, q->record, q->nrecords * sizeof r.record[0]) != 0)
		return -EBADMSG;
	b64[base64_encode(b64, m.note, m.note_len)] = '\0';
	return 0;
}

static const char *sign_why(int e)
{
	return e == -ENOTCONN ? "keyd is not running (it is being restarted)" :
	       e == -EBUSY ? "too many receipts asked for at once" :
	       e == -ENOKEY ? "keyd has no log key" :
	       e == -EBADMSG ? "keyd sent a malformed answer" : strerror(e < 0 ? -e : EIO);
}

/* GET /v1/receipts/{id}: the records are read; keyd signs the receipt
 * rebuilt from the invocation entry (the same bytes as the reply's
 * header: the text is the same and the signature deterministic). */
static void receipt_ask(struct api_state *st, struct http_conn *c, struct api_log_op *op)
{
	struct api_log_work *w = op->work;
	char msg[192];
	int rc;

	if (!w->have_inv) {
		snprintf(msg, sizeof msg, "%s", w->inv_v1 ?
			 "this invocation's entry predates receipts (entry version 1, no code hash)" :
			 "no invocation entry with this id in the signed log (a new one is covered "
			 "by the next checkpoint, within a second)");
		fail(c, op, 404, "not_found", msg);
		return;
	}
	if (!ask_keyd(st, op, &w->rq, sizeof w->rq, &rc)) {
		snprintf(msg, sizeof msg, "cannot sign the receipt: %s", sign_why(rc));
		http_respond_error_hdr(c, 503, "receipt_unavailable", msg, RETRY);
		op_free(op);
	}
}

static void receipt_view_signed(struct http_conn *c, struct api_log_op *op, uint32_t type,
				const void *p, size_t len)
{
	struct api_log_work *w = op->work;
	char msg[192];
	int r = sign_reply(type, p, len, &w->rq, w->receipt, sizeof w->receipt);

	if (r < 0) {
		snprintf(msg, sizeof msg, "cannot sign the receipt: %s", sign_why(r));
		http_respond_error_hdr(c, 503, "receipt_unavailable", msg, RETRY);
		op_free(op);
		return;
	}
	view_finish(c, op);
}

/* --- receipts: the invocation route's hook --------------------------------------------- */

static void hook_done(struct api_state *st, struct http_conn *c, struct api_log_op *op,
		      int error, const char *code, const char *message, const char *b64)
{
	char *headers = st->log.receipt_hdr;
	struct api_receipt_out out = { .error = error, .index = op->inv_index, .code = code,
				       .message = message };
	api_receipt_done_fn done = op->done;
	void *arg = op->done_arg;

	if (error == 0) {
		snprintf(headers, sizeof st->log.receipt_hdr,
			 "X-DShield-Receipt: %s\r\nX-DShield-Log-Index: %llu\r\n",
			 b64, (unsigned long long)op->inv_index);
		out.receipt = b64;
		out.headers = headers;
	}
	op_free(op);
	done(st, c, arg, &out);
}

__attribute__((format(printf, 6, 7)))
static void hook_fail(struct api_state *st, struct http_conn *c, struct api_log_op *op,
		      int error, const char *code, const char *fmt, ...)
{
	va_list ap;

	char msg[192];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	hook_done(st, c, op, error, code, msg, NULL);
}

/* The hook asks logd; on failure done() gets code and "<why><the
 * reason><after>". */
static void hook_ask(struct api_state *st, struct http_conn *c, struct api_log_op *op,
		     uint32_t type, const void *p, size_t len, const char *code, const char *why,
		     const char *after)
{
	int rc = st->request_log ? st->request_log(st->ctx, op->conn_id, type, p, len, &op->seq) :
		 -ENOTCONN;

	if (rc < 0) {
		hook_fail(st, c, op, rc, code, "%s%s%s", why, why_unasked(rc), after);
		return;
	}
	op->waiting = true;
}

void api_receipt_refuse(struct http_conn *c, const struct api_receipt_out *out)
{
	http_respond_error_hdr(c, 503, out->code ? out->code : "log_refused",
			       out->message ? out->message : "no receipt", RETRY);
}

void api_receipt_begin(struct api_state *st, struct http_conn *c, const struct api_receipt_in *in,
		       api_receipt_done_fn done, void *arg)
{
	struct api_receipt_out out = { .error = -EINVAL, .code = "log_refused" };
	uint8_t enc[512];
	struct log_entry e;
	struct timespec ts;
	struct api_log_op *op;
	long n;

	if (!receipt_id_ok(in->function, strlen(in->function)) ||
	    !receipt_id_ok(in->invocation, strlen(in->invocation))) {
		out.message = "the invocation entry was refused: a malformed function or invocation id";
		done(st, c, arg, &out);
		return;
	}
	if ((op = op_new(st, c, LOGOP_RECEIPT_HOOK)) == NULL) {
		out.error = -EBUSY;
		out.message = "the log refused the invocation entry: too many requests";
		done(st, c, arg, &out);
		return;
	}
	op->done = done;
	op->done_arg = arg;
	memset(&e, 0, sizeof e);
	e.version = 2;
	e.type = LOG_INVOCATION;
	clock_gettime(CLOCK_REALTIME, &ts);
	e.time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	e.u.invocation.function = (struct log_str){ in->function, strlen(in->function) };
	e.u.invocation.invocation = (struct log_str){ in->invocation, strlen(in->invocation) };
	memcpy(e.u.invocation.code, in->code_sha256, 32);
	memcpy(e.u.invocation.input, in->input_sha256, 32);
	memcpy(e.u.invocation.output, in->output_sha256, 32);
	e.u.invocation.status = in->status;
	e.u.invocation.queue_ns = in->queue_ns;
	e.u.invocation.run_ns = in->run_ns;
	/* what the receipt will say, but for the index logd assigns */
	memcpy(op->rq.function, in->function, strlen(in->function));
	memcpy(op->rq.invocation, in->invocation, strlen(in->invocation));
	memcpy(op->rq.code_sha256, in->code_sha256, 32);
	memcpy(op->rq.input_sha256, in->input_sha256, 32);
	memcpy(op->rq.output_sha256, in->output_sha256, 32);
	op->rq.status = in->status;
	op->rq.time_ns = e.time_ns;
	n = log_entry_encode(enc, sizeof enc, &e);
	if (n < 0) {
		hook_fail(st, c, op, -EINVAL, "log_refused", "%s", "cannot encode the invocation entry");
		return;
	}
	/* fail closed: no result is delivered that the log did not record */
	hook_ask(st, c, op, IMSG_LOG_APPEND, enc, (size_t)n, "log_refused",
		 "the log refused the invocation entry: ", "; no result without it");
}

static void hook_appended(struct api_state *st, struct http_conn *c, struct api_log_op *op,
			  uint32_t type, const void *p, size_t len)
{
	struct log_appended_msg a;

	if (type != IMSG_LOG_APPENDED || len != sizeof a) {
		hook_fail(st, c, op, -EBADMSG, "log_refused", "%s",
			  "the log (logd) sent a malformed answer; no result without the entry");
		return;
	}
	memcpy(&a, p, sizeof a);
	if (a.error != 0 || a.index > INT64_MAX) {
		int en = a.error < 0 ? -a.error : a.error ? a.error : EBADMSG;
		hook_fail(st, c, op, -(en > 4095 ? EIO : en), "log_refused",
			  "the log refused the invocation entry: %s; no result without it",
			  strerror(en > 4095 ? EIO : en));
		return;
	}
	op->inv_index = a.index;
	op->rq.nrecords = 0;
	op->rq.omitted = 0;
	hook_find(st, c, op, 0);
}

/* The hook's next page of the invocation's records, from from on. */
static void hook_find(struct api_state *st, struct http_conn *c, struct api_log_op *op,
		      uint64_t from)
{
	struct log_find_req_msg f;

	memset(&f, 0, sizeof f);
	memcpy(f.function, op->rq.invocation, sizeof f.function);
	f.from = from;
	f.by = LOG_FIND_INVOCATION;
	op->find_from = from;
	op->step = STEP_FIND;
	hook_ask(st, c, op, IMSG_LOG_FIND_REQ, &f, sizeof f, "receipt_unavailable",
		 "the invocation is logged but its records cannot be listed for its receipt: ", "");
}

/* logd's page of the invocation's records: listed (receipt_records),
 * then the next page, or keyd signs. */
static void hook_found(struct api_state *st, struct http_conn *c, struct api_log_op *op,
		       uint32_t type, const void *p, size_t len)
{
	struct log_found_msg *m = &st->log.found;
	bool sorted = type == IMSG_LOG_FOUND && len == sizeof *m;
	int rc;

	if (sorted) {
		memcpy(m, p, sizeof *m);
		if (m->error != 0) {
			int en = m->error < 0 && m->error > -4096 ? -m->error : EIO;
			hook_fail(st, c, op, -en, "receipt_unavailable", "the invocation is logged but "
				  "the log cannot list its records: %s", strerror(en));
			return;
		}
		sorted = m->count <= LOG_FIND_MAX && m->entry == op->inv_index;
	}
	for (uint32_t i = 0; sorted && i < m->count; i++)
		sorted = m->index[i] >= op->find_from && (i == 0 || m->index[i] > m->index[i - 1]);
	if (!sorted) {
		hook_fail(st, c, op, -EBADMSG, "receipt_unavailable", "%s", "the invocation is logged "
			  "but the log (logd) sent a malformed list of its records");
		return;
	}
	if (!receipt_records(&op->rq, op->inv_index, m->index, m->count) &&
	    m->count == LOG_FIND_MAX && m->next > op->find_from && m->next <= op->inv_index) {
		hook_find(st, c, op, m->next);
		return;
	}
	op->rq.record[op->rq.nrecords++] = op->inv_index;
	if (!ask_keyd(st, op, &op->rq, sizeof op->rq, &rc))
		hook_fail(st, c, op, rc, "receipt_unavailable",
			  "the invocation is logged but its receipt cannot be signed: %s",
			  sign_why(rc));
}

static void hook_signed(struct api_state *st, struct http_conn *c, struct api_log_op *op,
			uint32_t type, const void *p, size_t len)
{
	char *b64 = st->log.receipt_b64;
	int r = sign_reply(type, p, len, &op->rq, b64, sizeof st->log.receipt_b64);

	if (r < 0) {
		hook_fail(st, c, op, r, "receipt_unavailable",
			  "the invocation is logged but its receipt cannot be signed: %s", sign_why(r));
		return;
	}
	hook_done(st, c, op, 0, NULL, NULL, b64);
}

void api_log_keyd_reply(struct api_state *st, struct http_conn *c, uint32_t seq, uint32_t type,
			const void *payload, size_t len)
{
	struct api_log_op *op = op_of(st, c);

	if (op == NULL || !op->waiting || op->seq != seq || op->step != STEP_SIGN)
		return;
	op->waiting = false;
	if (http_conn_state(c) != HTTP_CONN_PENDING) {
		op_free(op);
		return;
	}
	if (op->kind == LOGOP_RECEIPT_HOOK)
		hook_signed(st, c, op, type, payload, len);
	else if (op->kind == LOGOP_RECEIPT)
		receipt_view_signed(c, op, type, payload, len);
}

void api_log_keyd_lost(struct api_state *st, struct http_conn *c, uint32_t seq)
{
	struct api_log_op *op = op_of(st, c);

	if (op == NULL || !op->waiting || op->seq != seq || op->step != STEP_SIGN)
		return;
	if (op->kind == LOGOP_RECEIPT_HOOK) {
		hook_fail(st, c, op, -EPIPE, "receipt_unavailable",
			  "the invocation is logged but keyd stopped before it signed its "
			  "receipt; retry");
		return;
	}
	http_respond_error_hdr(c, 503, "receipt_unavailable",
			       "keyd stopped before it signed the receipt; it is being restarted",
			       RETRY);
	op_free(op);
}

/* --- dispatch ------------------------------------------------------------------------ */

void api_log_reply(struct api_state *st, struct http_conn *c, uint32_t seq, uint32_t type,
		   const void *payload, size_t len)
{
	struct api_log_op *op = op_of(st, c);

	if (op == NULL || !op->waiting || op->seq != seq)
		return;   /* replaced, or answered already */
	op->waiting = false;
	/* A request that timed out (504) or whose stream was cut is over. */
	if (http_conn_state(c) != HTTP_CONN_PENDING && !op->started) {
		op_free(op);
		return;
	}
	switch (op->kind) {
	case LOGOP_ATTEST:
		attest_reply(st, c, op, type, payload, len);
		break;
	case LOGOP_CHECKPOINT:
		checkpoint_reply(c, op, type, payload, len);
		break;
	case LOGOP_OBJECT:
		object_reply(st, c, op, type, payload, len);
		break;
	case LOGOP_PROOF:
		proof_reply(c, op, type, payload, len);
		break;
	case LOGOP_RECEIPT_HOOK:
		if (op->step == STEP_FIND)
			hook_found(st, c, op, type, payload, len);
		else
			hook_appended(st, c, op, type, payload, len);
		break;
	default:
		view_reply(st, c, op, type, payload, len);
		break;
	}
}

void api_log_lost(struct api_state *st, struct http_conn *c, uint32_t seq)
{
	struct api_log_op *op = op_of(st, c);

	if (op == NULL || !op->waiting || op->seq != seq)
		return;
	if (op->kind == LOGOP_RECEIPT_HOOK && op->step == STEP_FIND) {
		hook_fail(st, c, op, -EPIPE, "receipt_unavailable", "%s",
			  "the invocation is logged but the log (logd) stopped before it listed "
			  "its records for the receipt; retry");
		return;
	}
	if (op->kind == LOGOP_RECEIPT_HOOK) {
		hook_fail(st, c, op, -EPIPE, "log_refused", "%s",
			  "the log (logd) stopped before it recorded the invocation entry; no "
			  "result without it");
		return;
	}
	if (op->started) {
		http_stream_abort(c);
	} else if (op->kind == LOGOP_ATTEST) {
		http_respond_error_hdr(c, 503, "log_refused",
				       "the log (logd) stopped before it recorded the attestation "
				       "entry; no quote without it", RETRY);
	} else {
		http_respond_error_hdr(c, 503, "unavailable",
				       "the log (logd) stopped before it answered; it is being restarted",
				       RETRY);
	}
	op_free(op);
}

/* The path below a log prefix: "/v1/log/..." or "/..." for the tile and
 * checkpoint paths (a tlog-tiles prefix at the root too). */
static const char *log_rel(const char *path)
{
	static const char v1[] = "/v1/log/";

	if (strncmp(path, v1, sizeof v1 - 1) == 0)
		return path + sizeof v1 - 1;
	if (strncmp(path, "/tile/", 6) == 0 || strcmp(path, "/checkpoint") == 0)
		return path + 1;
	return NULL;
}

bool api_log_route(struct api_state *st, struct http_conn *c, const struct http_request *req)
{
	const char *rel = log_rel(req->path);
	const char *id = NULL;

	const char *inv = NULL;

	if (rel == NULL && strncmp(req->path, "/logs/", 6) == 0)
		id = req->path + 6;
	if (rel == NULL && strncmp(req->path, "/v1/receipts/", 13) == 0)
		inv = req->path + 13;
	if (rel == NULL && id == NULL && inv == NULL)
		return false;
	if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		http_respond_error_hdr(c, 405, "method_not_allowed",
				       "this path answers GET and HEAD only", "Allow: GET, HEAD\r\n");
		return true;
	}
	if (inv != NULL)
		route_receipt(st, c, inv, req->query);
	else if (id != NULL)
		route_find(st, c, id, req->query);
	else if (strcmp(rel, "checkpoint") == 0)
		route_checkpoint(st, c, req->query);
	else if (strncmp(rel, "tile/", 5) == 0)
		route_object(st, c, rel);
	else if (strcmp(rel, "entries") == 0)
		route_entries(st, c, req->query);
	else if (strcmp(rel, "proof/inclusion") == 0)
		route_proof(st, c, req->query, true);
	else if (strcmp(rel, "proof/consistency") == 0)
		route_proof(st, c, req->query, false);
	else
		http_respond_error(c, 404, "not_found", "no such path");
	return true;
}
