/* cli/kms.c: `dshield kms`, the encrypted store's key provider (docs/KMS.md).
 *
 * dshield kms --state DIR --measurements FILE [--measurements FILE]...
 *             [--listen ADDR:PORT] [--allow-sim] [--collateral FILE] [--at TIME]
 *             [--tls-cert FILE --tls-key FILE]
 *
 * An HTTP server (lib/http.c over kernel sockets, lib/http_sock.c; over
 * TLS with --tls-cert and --tls-key, cli/kms_tls.c) with
 * two routes: POST /v1/keys releases the disk key of (application,
 * instance) wrapped to the requester's ephemeral key once its quote,
 * event log and REPORTDATA pass; POST /v1/freshness keeps the latest
 * signed store head of an instance and refuses one that goes back. One
 * request at a time (a single thread): the state directory is read and
 * written under a per-instance lock, so replicas sharing it stay right.
 */
#include "cli/kms.h"
#include "cli/kms_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/kms_proto.h"
#include "cli/verify.h"
#include "crypto/key_wrap.h"
#include "crypto/receipt.h"
#include "crypto/reportdata.h"
#include "crypto/tdx_quote.h"
#include "crypto/utc_time.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/jsonw.h"
#include "lib/random.h"
#include "lib/http_sock.h"

#define KMS_ALLOW_MAX   64
#define KMS_FILE_MAX    (1u << 20)    /* a measurements or collateral file */
#define KMS_REPLY_MAX   4096
#define KMS_STATE_MAX   4096          /* an instance record */

struct kms {
	char dir[512];
	uint8_t root[KMS_ROOT_KEY_LEN];
	uint8_t wrap_priv[KW_PRIV_LEN];
	uint8_t wrap_pub[KW_PUB_LEN];
	struct kms_allow allow[KMS_ALLOW_MAX];
	size_t n_allow;
	bool allow_sim;
	char *collateral;                 /* --collateral's contents, or NULL */
	size_t collateral_len;
	bool have_at;
	int64_t at;
};

_Static_assert(KMS_LOG_KEY_MAX >= QI_LOG_KEY_MAX, "a request's log key fits the record");
_Static_assert(KMS_ID_MAX == RECEIPT_ID_MAX, "ids are checked by receipt_id_ok");

/* One host command, one thread: its state lives here. */
static struct kms g_kms;
static jsmntok_t g_toks[KMS_TOKENS];
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int kms_usage(FILE *f)
{
	fprintf(f,
		"usage: dshield kms --state DIR --measurements FILE [--measurements FILE]...\n"
		"                   [--listen ADDR:PORT] [--allow-sim] [--collateral FILE] [--at TIME]\n"
		"                   [--tls-cert FILE --tls-key FILE]\n"
		"\n"
		"Serves POST /v1/keys and POST /v1/freshness (docs/KMS.md). DIR holds the\n"
		"root key, the wrapping key and one record per instance; it is made on\n"
		"first start. Default --listen 127.0.0.1:8547 (port 0: any free port;\n"
		"the address is printed). --at: the validation time of quotes and\n"
		"collateral (RFC 3339 or unix seconds; default now). --tls-cert and\n"
		"--tls-key: serve HTTPS (TLS 1.2) with this certificate (PEM or DER, sent\n"
		"alone) and its ECDSA P-256 key (PEM); the key's pin for a policy's\n"
		"store.kms.tls_spki_sha256 is printed. Default: plain HTTP.\n");
	return f == stderr ? 2 : 0;
}

/* A new P-256 scalar: 32 random bytes, drawn again in the (2^-32) case
 * that they are not below the group order (key_wrap_pub checks). */
static int new_scalar(uint8_t priv[KW_PRIV_LEN])
{
	uint8_t pub[KW_PUB_LEN];

	for (int i = 0; i < 16; i++) {
		int r = random_fill(priv, KW_PRIV_LEN);
		if (r < 0)
			return r;
		if (key_wrap_pub(pub, priv) == 0)
			return 0;
	}
	return -EIO;
}

/* ---- state directory ---------------------------------------------------------------- */

static int state_path(char *out, size_t cap, const char *a, const char *b)
{
	int n = b ? snprintf(out, cap, "%s/%s/%s", g_kms.dir, a, b)
		  : snprintf(out, cap, "%s/%s", g_kms.dir, a);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Makes DIR/name holding buf[0..len) unless it exists, without ever
 * replacing one: written to a private temporary name, fsync'ed, then
 * link()ed to its name, which fails if a replica sharing the directory
 * made it first (its file stays), and the directory fsync'ed. 0 or -errno. */
static int create_once(const char *name, const void *buf, size_t len)
{
	char path[600], tmp[640];
	int fd, r;

	if (state_path(path, sizeof path, name, NULL) < 0)
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof tmp, "%s.new.%ld", path, (long)getpid());
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = file_write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && link(tmp, path) < 0 && errno != EEXIST)
		r = -errno;
	unlink(tmp);
	if (r == 0)
		r = fsync_dir(g_kms.dir);
	if (r < 0)
		fprintf(stderr, "dshield kms: making %s: %s\n", path, strerror(-r));
	return r;
}

/* A key file of exactly len bytes: read it, or make it (create_once) when
 * there is none and read what won. */
static int state_key(const char *name, uint8_t *key, size_t len, bool p256)
{
	char path[600];
	uint8_t fresh[64];
	long n;
	int r;

	if (state_path(path, sizeof path, name, NULL) < 0)
		return -ENAMETOOLONG;
	for (int tries = 0; tries < 2; tries++) {
		n = file_read(path, (char *)fresh, sizeof fresh - 1);
		if (n >= 0) {
			if ((size_t)n != len) {
				fprintf(stderr, "dshield kms: %s: %ld bytes, not %zu\n", path, n, len);
				return -EINVAL;
			}
			memcpy(key, fresh, len);
			memset(fresh, 0, sizeof fresh);
			return 0;
		}
		if (n != -ENOENT) {
			fprintf(stderr, "dshield kms: %s: %s\n", path, strerror((int)-n));
			return (int)n;
		}
		r = p256 ? new_scalar(fresh) : random_fill(fresh, len);
		if (r == 0)
			r = create_once(name, fresh, len);
		memset(fresh, 0, sizeof fresh);
		if (r < 0)
			return r;
	}
	return -EIO;
}

static int state_open(const char *dir)
{
	char path[600], hex[2 * KW_PUB_LEN + 2];
	int r;

	if (strlen(dir) >= sizeof g_kms.dir)
		return -ENAMETOOLONG;
	strcpy(g_kms.dir, dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (state_path(path, sizeof path, "instances", NULL) < 0)
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((r = state_key("root.key", g_kms.root, KMS_ROOT_KEY_LEN, false)) < 0 ||
	    (r = state_key("wrap.key", g_kms.wrap_priv, KW_PRIV_LEN, true)) < 0)
		return r;
	if (key_wrap_pub(g_kms.wrap_pub, g_kms.wrap_priv) < 0) {
		fprintf(stderr, "dshield kms: wrap.key is not a P-256 scalar\n");
		return -EINVAL;
	}
	/* The public half, for the guests' policies to pin (informational:
	 * the KMS never reads it back). Made once like the keys: replicas
	 * starting together write the same bytes, and never over each other. */
	hex_encode(hex, g_kms.wrap_pub, KW_PUB_LEN);
	strcat(hex, "\n");
	return create_once("wrap.pub", hex, strlen(hex));
}

/* The instance's lock (instances/<id>.lock, flock): held across one
 * read-modify-write of its record. Returns the fd or -errno. */
static int instance_lock(const char *id)
{
	char name[KMS_ID_MAX + 8], path[700];
	int fd;

	snprintf(name, sizeof name, "%s.lock", id);
	if (state_path(path, sizeof path, "instances", name) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* Loads instances/<id>.json: 1 (loaded), 0 (none yet), or -errno. */
static int instance_load(const char *id, struct kms_instance *in, char *err, size_t errlen)
{
	static char buf[KMS_STATE_MAX + 1];
	char name[KMS_ID_MAX + 8], path[700];
	long n;
	int r;

	snprintf(name, sizeof name, "%s.json", id);
	if (state_path(path, sizeof path, "instances", name) < 0)
		return errbuf_set(err, errlen, -ENAMETOOLONG, "the state directory's path is too long");
	n = file_read(path, buf, KMS_STATE_MAX);
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return errbuf_set(err, errlen, (int)n, "%s: %s", path, strerror((int)-n));
	r = kms_instance_parse(in, buf, (size_t)n, g_toks, KMS_TOKENS, err, errlen);
	if (r < 0)
		return r;
	if (strcmp(in->instance_id, id) != 0)
		return errbuf_set(err, errlen, -EINVAL, "%s names another instance", path);
	return 1;
}

static int instance_save(const struct kms_instance *in, char *err, size_t errlen)
{
	static char buf[KMS_STATE_MAX + 1];
	char name[KMS_ID_MAX + 8], path[700];
	long n = kms_instance_format(buf, sizeof buf, in);

	if (n < 0)
		return errbuf_set(err, errlen, (int)n, "the instance record does not fit");
	snprintf(name, sizeof name, "%s.json", in->instance_id);
	if (state_path(path, sizeof path, "instances", name) < 0)
		return errbuf_set(err, errlen, -ENAMETOOLONG, "the state directory's path is too long");
	return file_replace(path, buf, (size_t)n, err, errlen);
}

/* ---- replies ------------------------------------------------------------------------ */

static void refuse(struct http_conn *c, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void refuse(struct http_conn *c, int status, const char *code, const char *fmt, ...)
{
	char msg[CHECK_DETAIL_MAX + CHECK_NAME_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "dshield kms: refused %d %s: %s\n", status, code, msg);
	http_respond_error(c, status, code, msg);
}

/* The refusal code of a failed `dshield verify` check. */
static const char *check_code(const char *name)
{
	if (strcmp(name, "quote.sim") == 0)
		return "sim_not_allowed";
	if (strncmp(name, "event_log", 9) == 0)
		return "event_log";
	if (strncmp(name, "report_data", 11) == 0 || strcmp(name, "log_key.binding") == 0 ||
	    strcmp(name, "checkpoint.binding") == 0)
		return "report_data";
	if (strncmp(name, "collateral", 10) == 0 || strncmp(name, "tcb.", 4) == 0 ||
	    strcmp(name, "qe_identity") == 0)
		return "collateral";
	return "quote";
}

/* The first check of this class (code) that fails the verdict, or NULL. */
static const struct check *first_bad(const struct check_list *l, const char *code)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct check *k = &l->c[i];
		bool bad = k->result == CHECK_FAIL ||
			   (k->result == CHECK_SKIPPED && !check_accepted(l, k));
		if (bad && strcmp(check_code(k->name), code) == 0)
			return k;
	}
	return NULL;
}

/* Refuses on the verifier's checks, class by class in the order the KMS
 * reports them. True when it refused. */
static bool refuse_checks(struct http_conn *c, const struct check_list *l, const char *const *codes)
{
	for (const char *const *code = codes; *code; code++) {
		const struct check *k = first_bad(l, *code);
		if (k) {
			refuse(c, 403, *code, "%s %s: %s", k->name,
			       k->result == CHECK_FAIL ? "failed" : "not evaluated", k->detail);
			return true;
		}
	}
	if (l->dropped) {
		refuse(c, 403, "quote", "%zu checks did not fit the list", l->dropped);
		return true;
	}
	return false;
}

/* Records the key release in the instance's record (its app on the first
 * release, the log key, the count), under the instance's lock. 0 with the
 * record (its latest freshness record too) in *inst, or -1 once refused. */
static int record_release(struct http_conn *c, const struct kms_key_req *r, const char *log_key,
			  struct kms_instance *inst)
{
	char err[ERRBUF_LEN] = "";
	int lk = instance_lock(r->instance_id), got;

	if (lk < 0) {
		refuse(c, 500, "state", "locking the instance record: %s", strerror(-lk));
		return -1;
	}
	got = instance_load(r->instance_id, inst, err, sizeof err);
	if (got < 0) {
		close(lk);
		refuse(c, 500, "state", "%s", err);
		return -1;
	}
	if (got == 0) {
		memset(inst, 0, sizeof *inst);
		strcpy(inst->instance_id, r->instance_id);
		strcpy(inst->app_id, r->app_id);
	} else if (strcmp(inst->app_id, r->app_id) != 0) {
		close(lk);
		refuse(c, 403, "app_id", "instance %s belongs to application %s, not %s",
		       r->instance_id, inst->app_id, r->app_id);
		return -1;
	}
	/* The log key this boot's quote binds is the one its freshness
	 * records will be signed with; a quote that binds none clears it. */
	memcpy(inst->log_key, log_key, strlen(log_key) + 1);
	inst->releases++;
	if (instance_save(inst, err, sizeof err) < 0) {
		close(lk);
		refuse(c, 500, "state", "%s", err);
		return -1;
	}
	close(lk);
	return 0;
}

static void reply_key(struct http_conn *c, const struct kms_key_req *r,
		      const struct kms_instance *inst)
{
	static char out[KMS_REPLY_MAX];
	uint8_t key[KW_KEY_LEN], ctx[KW_CTX_LEN], eph[KW_PRIV_LEN], blob[KW_BLOB_LEN];
	struct kw_binding bind = { r->eph_pub, g_kms.wrap_pub, r->nonce, ctx };
	struct jsonw w;
	long n;

	kms_disk_key(key, g_kms.root, r->app_id, r->instance_id);
	kms_reply_ctx(ctx, inst->record, inst->record_len);
	if (new_scalar(eph) < 0) {
		memset(key, 0, sizeof key);
		refuse(c, 500, "internal", "no randomness for the ephemeral key");
		return;
	}
	n = key_wrap_seal(blob, key, &bind, eph, g_kms.wrap_priv);
	memset(key, 0, sizeof key);
	memset(eph, 0, sizeof eph);
	if (n < 0) {
		refuse(c, 500, "internal", "wrapping the key failed");
		return;
	}
	jw_init(&w, out, sizeof out);
	jw_object_begin(&w);
	jw_key(&w, "version"); jw_u64(&w, KMS_VERSION);
	jw_key(&w, "wrapped_key"); jw_base64(&w, blob, sizeof blob);
	jw_key(&w, "kms_key"); jw_hex(&w, g_kms.wrap_pub, KW_PUB_LEN);
	jw_key(&w, "freshness");
	if (inst->record_len)
		jw_string_n(&w, inst->record, inst->record_len);
	else
		jw_null(&w);
	jw_object_end(&w);
	n = jw_finish(&w);
	if (n < 0) {
		refuse(c, 500, "internal", "the reply does not fit");
		return;
	}
	fprintf(stderr, "dshield kms: released the key of %s/%s (release %llu)\n", r->app_id,
		r->instance_id, (unsigned long long)inst->releases);
	http_respond_json(c, 200, out, (size_t)n);
}

/* ---- POST /v1/keys ------------------------------------------------------------------ */

static void handle_keys(struct http_conn *c, const struct http_request *req)
{
	static const char *const quote_codes[] = { "sim_not_allowed", "quote", "collateral", NULL };
	static const char *const log_codes[] = { "event_log", NULL };
	static const char *const rd_codes[] = { "report_data", NULL };
	static struct kms_key_req r;
	static struct kms_instance inst;
	struct verify_evidence ev = { 0 };
	const struct check_list *checks;
	const struct quote_input *in;
	const struct check *k3;
	const struct rd_value *slot;
	struct tdx_quote q;
	uint8_t want[32];
	const char *code;
	char err[ERRBUF_LEN] = "";
	bool have_q, allowed = false;

	if (kms_key_req_parse(&r, (const char *)req->body, req->body_len, g_toks, KMS_TOKENS,
			      err, sizeof err) < 0) {
		refuse(c, 400, "bad_request", "%s", err);
		return;
	}
	ev.quote = (const char *)req->body;
	ev.quote_len = req->body_len;
	ev.collateral = r.collateral ? r.collateral : g_kms.collateral;
	ev.collateral_len = r.collateral ? r.collateral_len : g_kms.collateral_len;
	ev.allow_sim = g_kms.allow_sim;
	ev.sim_no_collateral = true;
	ev.now = g_kms.have_at ? g_kms.at : (int64_t)time(NULL);
	verify_evidence(&ev, &q, &have_q, &checks, &in);
	if (!have_q) {
		refuse(c, 400, "bad_request", "%s: %s", checks->c[0].name, checks->c[0].detail);
		return;
	}
	/* 1. the quote is authentic (and its platform current) */
	if (refuse_checks(c, checks, quote_codes))
		return;
	/* 2. it comes from an image on the allowlist */
	for (size_t i = 0; i < g_kms.n_allow && !allowed; i++)
		allowed = kms_allow_match(&g_kms.allow[i], q.mrtd, q.rtmr);
	if (!allowed) {
		char mrtd[97];
		hex_encode(mrtd, q.mrtd, 48);
		refuse(c, 403, "measurements",
		       "MRTD %s with its RTMR0-2 matches none of the %zu allowlisted measurements files",
		       mrtd, g_kms.n_allow);
		return;
	}
	/* 3. its event log replays to RTMR3 and names what it asks for */
	if (refuse_checks(c, checks, log_codes))
		return;
	k3 = checks_find(checks, "event_log.rtmr3");
	if (!in->has_event_log || k3 == NULL) {
		refuse(c, 403, "event_log", "%s",
		       in->has_event_log ? "the event log has no RTMR3 event"
					 : "the request has no \"event_log\"");
		return;
	}
	if (kms_log_binds(in->event_log, in->event_log_len, &r, &code, err, sizeof err) < 0) {
		refuse(c, 403, code, "%s", err);
		return;
	}
	/* 4. REPORTDATA binds this request's ephemeral key and nonce */
	if (refuse_checks(c, checks, rd_codes))
		return;
	slot = &in->preimage.f[RD_KMS_REQUEST_SHA256 - 1];
	reportdata_kms_request(want, r.eph_pub, r.nonce);
	if (!in->has_preimage) {
		refuse(c, 403, "report_data",
		       "the request has no \"report_data_preimage\": REPORTDATA binds nothing");
		return;
	}
	if (!slot->present || slot->len != 32 || memcmp(slot->data, want, 32) != 0) {
		refuse(c, 403, "report_data",
		       "report_data_preimage.kms_request_sha256 is not SHA-256 of this request's "
		       "ephemeral key and nonce");
		return;
	}
	if (record_release(c, &r, checks_find(checks, "log_key.binding") ? in->log_key : "",
			   &inst) < 0)
		return;
	reply_key(c, &r, &inst);
}

/* ---- POST /v1/freshness ------------------------------------------------------------- */

static void handle_freshness(struct http_conn *c, const struct http_request *req)
{
	static char rec[KMS_RECORD_MAX + 1];
	static struct kms_instance inst;
	struct kms_fresh next, kept;
	struct note_key k;
	char err[ERRBUF_LEN] = "";
	long n = kms_fresh_req_parse(rec, (const char *)req->body, req->body_len, g_toks,
				     KMS_TOKENS, err, sizeof err);
	int lk, got, r;

	if (n < 0) {
		refuse(c, 400, "bad_request", "%s", err);
		return;
	}
	/* The instance id comes from the record's text; its signature is
	 * checked below with the key recorded for that instance. */
	if (kms_fresh_peek(&next, rec, (size_t)n, err, sizeof err) < 0) {
		refuse(c, 400, "bad_request", "%s", err);
		return;
	}
	lk = instance_lock(next.instance_id);
	if (lk < 0) {
		refuse(c, 500, "state", "locking the instance record: %s", strerror(-lk));
		return;
	}
	got = instance_load(next.instance_id, &inst, err, sizeof err);
	if (got <= 0) {
		close(lk);
		if (got == 0)
			refuse(c, 404, "unknown_instance",
			       "no key was released to instance %s: no log key to check its record with",
			       next.instance_id);
		else
			refuse(c, 500, "state", "%s", err);
		return;
	}
	if (inst.log_key[0] == '\0' ||
	    note_key_from_vkey(&k, inst.log_key, strlen(inst.log_key), err, sizeof err) < 0) {
		close(lk);
		refuse(c, 403, "no_log_key",
		       "the last key release of instance %s bound no log key", next.instance_id);
		return;
	}
	if ((r = kms_fresh_open(&next, rec, (size_t)n, &k, err, sizeof err)) < 0) {
		close(lk);
		refuse(c, 403, "signature", "%s", err);
		return;
	}
	if (inst.record_len) {
		/* our own record, which opened with the log key of its time:
		 * only its fields matter now */
		if (kms_fresh_peek(&kept, inst.record, inst.record_len, err, sizeof err) < 0) {
			close(lk);
			refuse(c, 500, "state", "the kept freshness record: %s", err);
			return;
		}
		if ((r = kms_fresh_compare(&kept, &next, err, sizeof err)) < 0) {
			close(lk);
			refuse(c, 409, r == -EEXIST ? "freshness_fork" : "freshness_rollback", "%s", err);
			return;
		}
	}
	memcpy(inst.record, rec, (size_t)n + 1);
	inst.record_len = (size_t)n;
	r = instance_save(&inst, err, sizeof err);
	close(lk);
	if (r < 0) {
		refuse(c, 500, "state", "%s", err);
		return;
	}
	fprintf(stderr, "dshield kms: freshness of %s: tree size %llu, generation %llu\n",
		next.instance_id, (unsigned long long)next.size, (unsigned long long)next.generation);
	{
		static char out[256];
		int m = snprintf(out, sizeof out,
				 "{\"version\":1,\"instance_id\":\"%s\",\"size\":%llu,\"generation\":%llu}",
				 next.instance_id, (unsigned long long)next.size,
				 (unsigned long long)next.generation);
		http_respond_json(c, 200, out, (size_t)m);
	}
}

static void kms_handle(void *ctx, struct http_conn *c, const struct http_request *req)
{
	bool keys = strcmp(req->path, "/v1/keys") == 0;
	bool fresh = strcmp(req->path, "/v1/freshness") == 0;

	(void)ctx;
	if (!keys && !fresh) {
		refuse(c, 404, "not_found", "no such route: %s", req->path);
		return;
	}
	if (req->method != HTTP_POST) {
		refuse(c, 405, "method_not_allowed", "%s takes POST", req->path);
		return;
	}
	if (req->body == NULL) {
		refuse(c, 400, "bad_request", "no body");
		return;
	}
	if (keys)
		handle_keys(c, req);
	else
		handle_freshness(c, req);
}

/* ---- start -------------------------------------------------------------------------- */

static int load_allow(const char *path)
{
	static char buf[KMS_FILE_MAX + 1];
	char err[ERRBUF_LEN] = "";
	long n;

	if (g_kms.n_allow == KMS_ALLOW_MAX) {
		fprintf(stderr, "dshield kms: more than %d --measurements files\n", KMS_ALLOW_MAX);
		return -E2BIG;
	}
	n = file_read(path, buf, KMS_FILE_MAX);
	if (n < 0) {
		fprintf(stderr, "dshield kms: %s: %s\n", path, strerror((int)-n));
		return (int)n;
	}
	if (kms_allow_parse(&g_kms.allow[g_kms.n_allow], buf, (size_t)n, g_toks, KMS_TOKENS,
			    err, sizeof err) < 0) {
		fprintf(stderr, "dshield kms: %s: %s\n", path, err);
		return -EINVAL;
	}
	g_kms.n_allow++;
	return 0;
}

/* ADDR:PORT (IPv4) into a listening socket; the bound address into out. */
static int listen_on(const char *spec, char *out, size_t cap)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	char host[64];
	const char *colon = strrchr(spec, ':');
	char *end;
	unsigned long port;
	int fd, one = 1;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof host)
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -EINVAL;
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(a.sin_port));
	return fd;
}

int cmd_kms(int argc, char **argv)
{
	static char coll[KMS_FILE_MAX + 1];
	static struct kms_tls tls;
	const char *state = NULL, *listen_spec = "127.0.0.1:8547", *cert = NULL, *key = NULL;
	struct http_server srv = { .handler = kms_handle, .ctx = &g_kms };
	struct sigaction sa = { .sa_handler = on_signal };
	char bound[96], pub[2 * KW_PUB_LEN + 1];
	int fd, r;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = strcmp(s, "--state") == 0 || strcmp(s, "--measurements") == 0 ||
			     strcmp(s, "--listen") == 0 || strcmp(s, "--collateral") == 0 ||
			     strcmp(s, "--at") == 0 || strcmp(s, "--tls-cert") == 0 ||
			     strcmp(s, "--tls-key") == 0;
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)
			return kms_usage(stdout);
		if (strcmp(s, "--allow-sim") == 0) {
			g_kms.allow_sim = true;
			continue;
		}
		if (!takes) {
			fprintf(stderr, "dshield kms: unknown argument '%s'\n", s);
			return kms_usage(stderr);
		}
		if (v == NULL) {
			fprintf(stderr, "dshield kms: %s needs a value\n", s);
			return kms_usage(stderr);
		}
		i++;
		if (strcmp(s, "--state") == 0) {
			state = v;
		} else if (strcmp(s, "--listen") == 0) {
			listen_spec = v;
		} else if (strcmp(s, "--tls-cert") == 0) {
			cert = v;
		} else if (strcmp(s, "--tls-key") == 0) {
			key = v;
		} else if (strcmp(s, "--measurements") == 0) {
			if (load_allow(v) < 0)
				return 2;
		} else if (strcmp(s, "--collateral") == 0) {
			long n = file_read(v, coll, KMS_FILE_MAX);
			if (n < 0) {
				fprintf(stderr, "dshield kms: %s: %s\n", v, strerror((int)-n));
				return 2;
			}
			g_kms.collateral = coll;
			g_kms.collateral_len = (size_t)n;
		} else if (utc_parse(v, strlen(v), 1, &g_kms.at)) {
			fprintf(stderr, "dshield kms: --at '%s' is neither RFC 3339 nor unix seconds\n", v);
			return 2;
		} else {
			g_kms.have_at = true;
		}
	}
	if (state == NULL || g_kms.n_allow == 0) {
		fprintf(stderr, "dshield kms: --state and at least one --measurements are required\n");
		return kms_usage(stderr);
	}
	if ((cert == NULL) != (key == NULL)) {
		fprintf(stderr, "dshield kms: --tls-cert and --tls-key go together\n");
		return kms_usage(stderr);
	}
	if (cert != NULL) {
		char err[ERRBUF_LEN];
		if (kms_tls_load(&tls, cert, key, err, sizeof err) < 0) {
			fprintf(stderr, "dshield kms: TLS: %s\n", err);
			return 1;
		}
	}
	r = state_open(state);
	if (r < 0) {
		fprintf(stderr, "dshield kms: state directory %s: %s\n", state, strerror(-r));
		return 1;
	}
	fd = listen_on(listen_spec, bound, sizeof bound);
	if (fd < 0) {
		fprintf(stderr, "dshield kms: --listen %s: %s\n", listen_spec,
			fd == -EINVAL ? "not an IPv4 ADDR:PORT" : strerror(-fd));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	hex_encode(pub, g_kms.wrap_pub, KW_PUB_LEN);
	if (cert != NULL) {
		char spki[65];
		hex_encode(spki, tls.spki_sha256, sizeof tls.spki_sha256);
		printf("dshield kms: https, TLS key %s (tls_spki_sha256)\n", spki);
	}
	printf("dshield kms: listening on %s\ndshield kms: key %s\n", bound, pub);
	fprintf(stderr, "dshield kms: %zu allowlisted measurements file(s)%s\n", g_kms.n_allow,
		g_kms.allow_sim ? ", SIM QUOTES ALLOWED (--allow-sim: no hardware is proven)" : "");
	fflush(stdout);
	r = cert != NULL ? kms_tls_serve(&tls, fd, &srv, &g_stop) : http_sock_serve(fd, &srv, &g_stop);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "dshield kms: serving: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
