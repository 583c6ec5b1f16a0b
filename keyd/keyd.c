/* keyd/keyd.c: see keyd.h. */
#include "keyd/keyd.h"
#include "crypto/checkpoint.h"
#include "crypto/fn_decl.h"
#include "crypto/receipt.h"
#include "crypto/reportdata.h"
#include "crypto/key_wrap.h"
#include "crypto/rtmr3.h"
#include "keyd/kms_req.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "proto/netd_keyd.h"
#include "proto/role.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSG_BUDGET 32

/* --- the event log ------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3)))
static void unavailable(struct keyd *k, const char *fmt, ...)
{
	va_list ap;

	k->at.backend = ATTEST_NONE;
	va_start(ap, fmt);
	vsnprintf(k->at.why, sizeof k->at.why, fmt, ap);
	va_end(ap);
	dlog("attestation: unavailable: %s", k->at.why);
}

/* Appends the record to the saved log and syncs it, then appends the
 * event (attest_extend: on tdx the hardware register too). The file comes
 * first so that a crash in between leaves a log that disagrees with the
 * hardware, which the next keyd detects, rather than an extension nobody
 * can replay. A failure takes the record back out. */
static int record_event(struct keyd *k, const char *name, const void *payload, size_t len)
{
	uint8_t rec[RTMR3_REC_MAX];
	char err[ATTEST_ERR_LEN], ph[2 * 32 + 1], dh[2 * RTMR3_DIGEST_LEN + 1];
	struct stat st;
	long n = rtmr3_rec_encode(name, payload, len, rec, sizeof rec);
	int fd, idx;

	if (n < 0)
		return (int)n;
	if (!rtmr3_log_room(&k->at.log, strlen(name), len))
		return -ENOSPC;   /* the log's bound: nothing is written */
	fd = open(k->events_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;
		dlog("attestation: %s: %s", k->events_path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	errno = 0;
	if (write(fd, rec, (size_t)n) != n || fdatasync(fd) != 0) {
		int e = errno ? errno : EIO;
		if (ftruncate(fd, st.st_size) != 0)
			dlog("attestation: cannot take back a torn record: %s", strerror(errno));
		close(fd);
		dlog("attestation: saving event %s: %s", name, strerror(e));
		return -e;
	}
	idx = attest_extend(&k->at, name, payload, len, err);
	if (idx < 0) {
		if (ftruncate(fd, st.st_size) != 0 || fdatasync(fd) != 0)
			dlog("attestation: cannot take back the saved event: %s", strerror(errno));
		close(fd);
		dlog("attestation: %s: cannot record event %s: %s",
		     attest_backend_name(k->at.backend), name, err);
		return idx;
	}
	close(fd);
	hex_encode(ph, payload, len < 32 ? len : 32);
	hex_encode(dh, k->at.log.ev[idx].digest, RTMR3_DIGEST_LEN);
	dlog("attestation: %s: event %s payload %s digest %s (RTMR3 %s)",
	     attest_backend_name(k->at.backend), name, ph, dh,
	     k->at.backend == ATTEST_TDX ? "extended" : "emulated");
	return idx;
}

/* On tdx the hardware RTMR3 (from a TDREPORT) must equal the log's replay,
 * else something else extended it and quotes would not verify. */
static bool tdreport_matches(struct keyd *k)
{
	uint8_t report[ATTEST_TDREPORT_LEN], zero[64] = { 0 };
	char err[ATTEST_ERR_LEN], hw[97], want[97];
	const uint8_t *rtmr3 = report + ATTEST_TDREPORT_RTMR_OFF + 3 * 48;

	if (attest_tdreport(k->at.paths.tdx_dev, zero, report, err) < 0) {
		dlog("attestation: tdx: %s", err);
		return false;
	}
	hex_encode(hw, rtmr3, 48);
	hex_encode(want, k->at.log.rtmr3, 48);
	if (memcmp(rtmr3, k->at.log.rtmr3, 48) == 0) {
		dlog("attestation: tdx: TDREPORT RTMR3 %s matches the event log", hw);
		return true;
	}
	dlog("attestation: tdx: TDREPORT RTMR3 %s differs from the event log's %s", hw, want);
	return false;
}

static const struct rtmr3_event *find_event(const struct rtmr3_log *log, const char *name)
{
	for (unsigned i = 0; i < log->n; i++)
		if (strcmp(log->ev[i].name, name) == 0)
			return &log->ev[i];
	return NULL;
}

static bool has_event(const struct rtmr3_log *log, const char *name)
{
	return find_event(log, name) != NULL;
}

/* The boot events "manifest" (when the config has one) and "instance-id",
 * each unless the log has it already: a keyd that died between its first
 * two events, or whose first append was taken back, completes the log
 * rather than serving quotes without them. */
static void record_boot_events(struct keyd *k)
{
	uint8_t id[16];

	if (k->cfg.has_manifest && !has_event(&k->at.log, "manifest") &&
	    record_event(k, "manifest", k->cfg.manifest_sha256, 32) < 0) {
		unavailable(k, "%s", "the manifest event could not be recorded");
		return;
	}
	if (!has_event(&k->at.log, "instance-id")) {
		_Static_assert(sizeof id == KEYD_INSTANCE_LEN, "one instance id size");
		if (k->cfg.has_instance_id) {
			memcpy(id, k->cfg.instance_id, sizeof id);
		} else if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id) {
			unavailable(k, "getrandom for the instance id: %s", strerror(errno));
			return;
		}
		if (record_event(k, "instance-id", id, sizeof id) < 0) {
			unavailable(k, "%s", "the instance-id event could not be recorded");
			return;
		}
	}
	/* app-id after instance-id: a log reloaded from before this event
	 * existed still gets it */
	if (k->cfg.app_id[0] && !has_event(&k->at.log, "app-id") &&
	    record_event(k, "app-id", k->cfg.app_id, strlen(k->cfg.app_id)) < 0)
		unavailable(k, "%s", "the app-id event could not be recorded");
}

/* A config's app id: NUL terminated in its array, a receipt-style id not
 * starting with '.' (what the KMS accepts, docs/KMS.md), or empty. */
static bool app_id_ok(const char *a)
{
	size_t n = strnlen(a, KEYD_APP_ID_MAX);

	return n == 0 || (n < KEYD_APP_ID_MAX && a[0] != '.' && receipt_id_ok(a, n));
}

static void reload_events(struct keyd *k, size_t len)
{
	int r = rtmr3_log_decode(&k->at.log, k->saved, len);

	if (r < 0) {
		rtmr3_log_init(&k->at.log);   /* nothing half-read is reported */
		unavailable(k, "the saved event log is unreadable (%s)", strerror(-r));
		return;
	}
	k->resumed = true;
	dlog("attestation: %s: reloaded %u events after a restart",
	     attest_backend_name(k->at.backend), k->at.log.n);
}

/* The log signing key: without it quotes still work, and say so (their
 * log_key slot is absent). */
static void setup_logkey(struct keyd *k)
{
	int r = logkey_load_or_create(&k->logkey, k->logkey_path, k->logkey_why);

	k->have_logkey = r == 0;
	if (r < 0)
		dlog("log key: unavailable: %s", k->logkey_why);
	else
		dlog("log key: %s %s (SPKI SHA-256 %02x%02x%02x%02x...)",
		     k->logkey.created ? "made" : "reloaded", k->logkey.vkey,
		     k->logkey.spki_sha256[0], k->logkey.spki_sha256[1],
		     k->logkey.spki_sha256[2], k->logkey.spki_sha256[3]);
}

/* The API's TLS key: without it quotes still work (slot 3 absent) and
 * netd serves no TLS. */
static void setup_apikey(struct keyd *k)
{
	int r = apikey_load_or_create(&k->apikey, k->apikey_path, k->apikey_why);

	k->have_apikey = r == 0;
	if (r < 0)
		dlog("API TLS key: unavailable: %s", k->apikey_why);
	else
		dlog("API TLS key: %s (SPKI SHA-256 %02x%02x%02x%02x..., certificate %zu bytes)",
		     k->apikey.created ? "made" : "reloaded", k->apikey.spki_sha256[0],
		     k->apikey.spki_sha256[1], k->apikey.spki_sha256[2], k->apikey.spki_sha256[3],
		     k->apikey.der_len);
}

/* The last checkpoint signed, reloaded after a restart so that the
 * going-back refusal and REPORTDATA slot 5 survive it. A file that does
 * not open with our key (damaged, or another key's) is never replaced:
 * signing is refused for the rest of the boot, as a log whose last signed
 * head is unknown cannot be continued without risking a fork. */
static void load_checkpoint(struct keyd *k)
{
	struct checkpoint c;
	char why[ERRBUF_LEN];
	long got = file_read(k->checkpoint_path, k->ckpt, sizeof k->ckpt - 1);
	int r;

	k->ckpt_len = 0;
	if (got == -ENOENT)
		return;
	if (got <= 0) {
		k->ckpt_failed = got < 0 ? (int)got : -EBADMSG;
		dlog("log checkpoint: %s cannot be read (%s): signing refused", k->checkpoint_path,
		     got < 0 ? strerror((int)-got) : "empty");
		return;
	}
	r = k->have_logkey ? checkpoint_open(k->ckpt, (size_t)got, &k->logkey.pub, &c, why,
					     sizeof why) : -ENOKEY;
	if (r < 0) {
		k->ckpt_failed = -EBADMSG;
		dlog("log checkpoint: %s does not open with the log key (%s): signing refused",
		     k->checkpoint_path, r == -ENOKEY && !k->have_logkey ? "no log key" : why);
		return;
	}
	k->ckpt_len = (uint32_t)got;
	k->ckpt_size = c.size;
	memcpy(k->ckpt_root, c.root, sizeof k->ckpt_root);
	dlog("log checkpoint: reloaded, size %llu", (unsigned long long)c.size);
}

void keyd_setup(struct keyd *k, const struct keyd_config_msg *cfg,
		const struct attest_paths *paths, const char *state_dir)
{
	long got;

	k->cfg = *cfg;
	if (!app_id_ok(k->cfg.app_id)) {
		dlog("the app id from init is not an id: no app-id event (KMS requests refused)");
		memset(k->cfg.app_id, 0, sizeof k->cfg.app_id);
	}
	snprintf(k->events_path, sizeof k->events_path, "%s/%s", state_dir, KEYD_EVENTS_FILE);
	snprintf(k->logkey_path, sizeof k->logkey_path, "%s/%s", state_dir, KEYD_LOGKEY_FILE);
	snprintf(k->checkpoint_path, sizeof k->checkpoint_path, "%s/%s", state_dir,
		 KEYD_CHECKPOINT_FILE);
	snprintf(k->apikey_path, sizeof k->apikey_path, "%s/%s", state_dir, KEYD_APIKEY_FILE);
	setup_logkey(k);
	setup_apikey(k);
	tbucket_init(&k->tls_rate, KEYD_TLS_BURST, KEYD_TLS_REFILL_MS, mono_ms());
	load_checkpoint(k);
	tbucket_init(&k->quote_rate, KEYD_QUOTE_BURST, KEYD_QUOTE_REFILL_MS, mono_ms());
	tbucket_init(&k->fn_rate, KEYD_FN_BURST, KEYD_FN_REFILL_MS, mono_ms());
	k->resumed = false;
	attest_init(&k->at, paths, cfg->allow_sim != 0);
	if (k->at.backend == ATTEST_NONE) {
		dlog("attestation: unavailable: %s", k->at.why);
		return;
	}
	if (k->at.backend == ATTEST_SIM)
		dlog("attestation: sim: SIMULATED backend (no TDX device; the manifest allows it): "
		     "quotes prove nothing about hardware; %s", k->at.why);
	else
		dlog("attestation: tdx: %s", k->at.why);
	got = file_read(k->events_path, k->saved, sizeof k->saved - 1);
	if (got > 0) {
		reload_events(k, (size_t)got);
		if (k->at.backend == ATTEST_NONE)
			return;
	} else if (got < 0 && got != -ENOENT) {
		unavailable(k, "the saved event log cannot be read (%s)", strerror((int)-got));
		return;
	}
	/* Fresh (no file, or an empty one whose first append was taken
	 * back), or resumed: either way every boot event must be there. */
	record_boot_events(k);
	if (k->at.backend == ATTEST_TDX && !tdreport_matches(k))
		unavailable(k, "%s", "RTMR3 does not match the event log");
}

/* --- quotes ---------------------------------------------------------------------------- */

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static size_t refuse(struct quote_reply_msg *rep, int err, const char *detail)
{
	rep->error = err;
	snprintf(rep->detail, sizeof rep->detail, "%.255s", detail);
	return sizeof *rep;
}

/* The whole event log as records in a sealed memfd, for the reply: it is
 * as long as the log (up to RTMR3_LOG_BYTES_MAX), far more than one imsg
 * holds. Returns the fd (its length in *len), or -errno. */
static int events_memfd(struct keyd *k, uint32_t *len)
{
	long n = rtmr3_log_encode(&k->at.log, k->saved, RTMR3_LOG_BYTES_MAX);
	int fd;

	if (n <= 0)
		return n < 0 ? (int)n : -ENODATA;
	fd = file_memfd_sealed("keyd-rtmr3-events", k->saved, (size_t)n);
	if (fd >= 0)
		*len = (uint32_t)n;
	return fd;
}

/* Fills rep and the quote behind it, and *events_fd with the event log's
 * memfd on success (-1 otherwise); returns the payload length. */
static size_t make_quote(struct keyd *k, const struct quote_req_msg *req,
			 struct quote_reply_msg *rep, int *events_fd)
{
	uint8_t *data = (uint8_t *)(rep + 1);
	struct reportdata_in in;
	char err[ATTEST_ERR_LEN], detail[128];
	long n;
	int fd;

	memcpy(rep->nonce, req->nonce, req->nonce_len);
	rep->nonce_len = req->nonce_len;
	rep->has_manifest = k->cfg.has_manifest;
	memcpy(rep->manifest_sha256, k->cfg.manifest_sha256, 32);
	if (k->at.backend == ATTEST_NONE)
		return refuse(rep, -ENODEV, k->at.why);
	rep->backend = k->at.backend == ATTEST_TDX ? QUOTE_BACKEND_TDX : QUOTE_BACKEND_SIM;
	if (!tbucket_take(&k->quote_rate, mono_ms())) {
		if (k->busy++ % 1000 == 0)
			dlog("attestation: quote requests refused by the rate limit (%llu so far)",
			     (unsigned long long)k->busy);
		snprintf(detail, sizeof detail, "too many quote requests (at most %u, then one "
			 "per %u ms): retry later", KEYD_QUOTE_BURST, KEYD_QUOTE_REFILL_MS);
		return refuse(rep, -EBUSY, detail);
	}
	if (k->have_logkey) {
		rep->has_log_key = 1;
		memcpy(rep->log_key_sha256, k->logkey.spki_sha256, 32);
		snprintf(rep->log_vkey, sizeof rep->log_vkey, "%s", k->logkey.vkey);
	}
	if (k->have_apikey) {
		rep->has_api_tls = 1;
		memcpy(rep->api_tls_spki_sha256, k->apikey.spki_sha256, 32);
	}
	memset(&in, 0, sizeof in);
	in.f[RD_NONCE - 1] = (struct rd_value){ true, rep->nonce, rep->nonce_len };
	in.f[RD_API_TLS_SPKI_SHA256 - 1] = (struct rd_value){ rep->has_api_tls != 0,
							     rep->api_tls_spki_sha256, 32 };
	in.f[RD_MANIFEST_SHA256 - 1] = (struct rd_value){ rep->has_manifest != 0,
							 rep->manifest_sha256, 32 };
	in.f[RD_LOG_KEY_SHA256 - 1] = (struct rd_value){ rep->has_log_key != 0,
							rep->log_key_sha256, 32 };
	if (k->ckpt_len > 0) {
		rep->has_checkpoint = 1;
		rep->checkpoint_len = k->ckpt_len;
		memcpy(rep->checkpoint, k->ckpt, k->ckpt_len + 1);
	}
	in.f[RD_CHECKPOINT - 1] = (struct rd_value){ rep->has_checkpoint != 0,
						    (const uint8_t *)rep->checkpoint,
						    rep->checkpoint_len };
	if (reportdata_compute(&in, rep->report_data) < 0)
		return refuse(rep, -EINVAL, "REPORTDATA preimage refused");
	if (k->quote_delay_ms)
		sleep_ms(k->quote_delay_ms);
	n = attest_quote(&k->at, rep->report_data, data, QUOTE_REPLY_QUOTE_MAX, err);
	if (n < 0) {
		dlog("attestation: %s: quote failed: %s", attest_backend_name(k->at.backend), err);
		return refuse(rep, (int)n, err);
	}
	fd = events_memfd(k, &rep->events_len);
	if (fd < 0) {
		snprintf(detail, sizeof detail, "the event log (%u events) cannot be handed over: "
			 "memfd: %s", k->at.log.n, strerror(-fd));
		dlog("attestation: %s", detail);
		rep->events_len = 0;
		return refuse(rep, fd, detail);
	}
	*events_fd = fd;
	rep->quote_len = (uint32_t)n;
	k->quotes++;
	dlog("attestation: %s: quote #%llu, %ld bytes, %u events%s",
	     attest_backend_name(k->at.backend), (unsigned long long)k->quotes, n, k->at.log.n,
	     k->at.backend == ATTEST_SIM ? " (simulated: proves nothing about hardware)" : "");
	return sizeof *rep + (size_t)n;
}

_Static_assert(NOTE_VKEY_MAX <= QUOTE_LOG_VKEY_MAX, "a verifier key fits the reply");
_Static_assert(sizeof(struct quote_reply_msg) + QUOTE_REPLY_QUOTE_MAX <= IMSG_MAX_PAYLOAD,
	       "a quote reply fits one imsg");
_Static_assert(QUOTE_REPLY_EVENTS_MAX >= RTMR3_LOG_BYTES_MAX, "the whole log fits a reply");
_Static_assert(LOG_SIGNED_CHECKPOINT_MAX <= RD_CHECKPOINT_MAX, "a note fits REPORTDATA slot 5");
_Static_assert(QUOTE_CHECKPOINT_MAX <= LOG_SIGNED_CHECKPOINT_MAX,
	       "a quote's note fits a sign reply");

/* A request keyd cannot read is answered (so netd's caller is not left
 * waiting) and counted; keyd carries on. */
static void on_quote_req(struct keyd *k, const struct imsg *m)
{
	struct quote_reply_msg *rep = (struct quote_reply_msg *)k->reply;
	struct quote_req_msg req;
	size_t len;
	int r, events_fd = -1;

	memset(rep, 0, sizeof *rep);
	if (m->nfds != 0 || imsg_get(m, IMSG_QUOTE_REQ, &req, sizeof req) < 0 ||
	    req.nonce_len == 0 || req.nonce_len > QUOTE_NONCE_MAX) {
		char detail[96];
		if (k->malformed++ % 1000 == 0)
			dlog("refused a malformed quote request (%u bytes, %u fds; %llu so far)",
			     m->hdr.len, m->nfds, (unsigned long long)k->malformed);
		snprintf(detail, sizeof detail, "malformed quote request (%u bytes)", m->hdr.len);
		len = refuse(rep, -EBADMSG, detail);
	} else {
		len = make_quote(k, &req, rep, &events_fd);
	}
	r = imsg_send(k->netd_fd, IMSG_QUOTE_REPLY, m->hdr.id, k->reply, len, &events_fd,
		      events_fd >= 0 ? 1 : 0);
	if (r < 0)
		dlog("cannot answer netd's quote request: %s", strerror(-r));
	if (events_fd >= 0)
		close(events_fd);   /* netd holds its own copy */
}

/* --- KMS key requests (init) ------------------------------------------------------------ */

static int kms_refuse(struct keyd_kms_reply_msg *rep, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int kms_refuse(struct keyd_kms_reply_msg *rep, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep->detail, sizeof rep->detail, fmt, ap);
	va_end(ap);
	rep->error = err;
	dlog("kms request refused: %s", rep->detail);
	return err;
}

/* The pinned KMS key as the RTMR3 event "key-provider", once a boot: the
 * same key again is already measured; another one is refused, so a quote
 * never vouches for two KMSs. */
static int measure_kms_key(struct keyd *k, const uint8_t kms_pub[KW_PUB_LEN],
			   struct keyd_kms_reply_msg *rep)
{
	const struct rtmr3_event *ev = find_event(&k->at.log, "key-provider");
	int r;

	if (ev)
		return ev->payload_len == KW_PUB_LEN && memcmp(ev->payload, kms_pub, KW_PUB_LEN) == 0
		       ? 0 : kms_refuse(rep, -EEXIST, "another KMS key is measured already this boot");
	r = record_event(k, "key-provider", kms_pub, KW_PUB_LEN);
	return r < 0 ? kms_refuse(rep, r, "the key-provider event could not be recorded (%s)",
				  strerror(-r)) : 0;
}

int keyd_kms_request(struct keyd *k, const struct keyd_kms_req_msg *req,
		     struct keyd_kms_reply_msg *rep)
{
	static const uint8_t zero[sizeof req->reserved];
	const struct rtmr3_event *inst = find_event(&k->at.log, "instance-id");
	uint8_t kr[32], rd[RD_LEN], quote[QUOTE_REPLY_QUOTE_MAX];
	char err[ATTEST_ERR_LEN];
	struct reportdata_in in;
	struct kms_req_parts p;
	long n;
	int r;

	memset(rep, 0, sizeof *rep);
	if (!key_wrap_point_ok(req->eph_pub) || !key_wrap_point_ok(req->kms_pub) ||
	    memcmp(req->reserved, zero, sizeof zero) != 0)
		return kms_refuse(rep, -EINVAL, "the ephemeral or the KMS key is not a P-256 point");
	if (k->at.backend == ATTEST_NONE)
		return kms_refuse(rep, -ENODEV, "no attestation: %s", k->at.why);
	if (!k->cfg.app_id[0] || !has_event(&k->at.log, "app-id") || !inst)
		return kms_refuse(rep, -ENOKEY, "no app-id or instance-id event: the KMS would refuse");
	if ((r = measure_kms_key(k, req->kms_pub, rep)) < 0)
		return r;
	reportdata_kms_request(kr, req->eph_pub, req->nonce);
	memset(&in, 0, sizeof in);
	in.f[RD_MANIFEST_SHA256 - 1] = (struct rd_value){ k->cfg.has_manifest != 0,
							 k->cfg.manifest_sha256, 32 };
	in.f[RD_LOG_KEY_SHA256 - 1] = (struct rd_value){ k->have_logkey, k->logkey.spki_sha256, 32 };
	in.f[RD_CHECKPOINT - 1] = (struct rd_value){ k->ckpt_len > 0, (const uint8_t *)k->ckpt,
						    k->ckpt_len };
	in.f[RD_KMS_REQUEST_SHA256 - 1] = (struct rd_value){ true, kr, sizeof kr };
	if (reportdata_compute(&in, rd) < 0)
		return kms_refuse(rep, -EINVAL, "REPORTDATA preimage refused");
	n = attest_quote(&k->at, rd, quote, sizeof quote, err);
	if (n < 0)
		return kms_refuse(rep, (int)n, "%s: quote failed: %s",
				  attest_backend_name(k->at.backend), err);
	k->quotes++;
	p = (struct kms_req_parts){
		.quote = quote, .quote_len = (size_t)n, .log = &k->at.log, .pre = &in,
		.log_vkey = k->have_logkey ? k->logkey.vkey : NULL,
		.eph_pub = req->eph_pub, .nonce = req->nonce, .app_id = k->cfg.app_id,
		.instance = inst->payload, .instance_len = inst->payload_len,
	};
	n = kms_req_json(k->kms_body, sizeof k->kms_body, (char *)k->saved, sizeof k->saved, &p);
	if (n < 0)
		return kms_refuse(rep, (int)n, "the request does not fit %u bytes (%u events)",
				  KEYD_KMS_BODY_MAX, k->at.log.n);
	r = file_memfd_sealed("keyd-kms-request", k->kms_body, (size_t)n);
	if (r < 0)
		return kms_refuse(rep, r, "memfd: %s", strerror(-r));
	rep->body_len = (uint32_t)n;
	dlog("kms request: %ld bytes, %s quote, %u events", n, attest_backend_name(k->at.backend),
	     k->at.log.n);
	return r;
}

/* init's IMSG_KEYD_KMS_REQ: answered on init's channel, with the body's
 * memfd on success. */
static void on_kms_req(struct keyd *k, const struct imsg *m)
{
	struct keyd_kms_reply_msg rep;
	struct keyd_kms_req_msg req;
	int fd = -1, r;

	if (m->nfds != 0 || imsg_get(m, IMSG_KEYD_KMS_REQ, &req, sizeof req) < 0) {
		memset(&rep, 0, sizeof rep);
		kms_refuse(&rep, -EBADMSG, "malformed KMS request (%u bytes)", m->hdr.len);
	} else {
		fd = keyd_kms_request(k, &req, &rep);
	}
	r = imsg_send(ROLE_INIT_FD, IMSG_KEYD_KMS_REPLY, m->hdr.id, &rep, sizeof rep, &fd,
		      fd >= 0 ? 1 : 0);
	if (r < 0)
		dlog("cannot answer init's KMS request: %s", strerror(-r));
	if (fd >= 0)
		close(fd);
}

/* --- receipts ------------------------------------------------------------------------ */

_Static_assert(RECEIPT_NOTE_MAX <= RECEIPT_SIGNED_MAX, "a signed receipt fits the reply");
_Static_assert(RECEIPT_REQ_ID_MAX == RECEIPT_ID_MAX + 1, "one id size");
_Static_assert(RECEIPT_REQ_RECORDS_MAX == RECEIPT_RECORDS_MAX, "one record count");
_Static_assert(sizeof(struct receipt_sign_reply_msg) <= IMSG_MAX_PAYLOAD, "a reply fits one imsg");

/* The receipt text is keyd's own: written here from the fixed struct,
 * with keyd's origin, so the log key signs no text netd wrote. */
static int sign_receipt(struct keyd *k, const struct receipt_sign_req_msg *q,
			struct receipt_sign_reply_msg *rep)
{
	struct receipt r;
	size_t fn = strnlen(q->function, sizeof q->function);
	size_t in = strnlen(q->invocation, sizeof q->invocation);
	long n;

	if (fn == sizeof q->function || in == sizeof q->invocation ||
	    q->nrecords == 0 || q->nrecords > RECEIPT_RECORDS_MAX)
		return -EBADMSG;
	if (!k->have_logkey)
		return -ENOKEY;
	memset(&r, 0, sizeof r);
	memcpy(r.origin, k->logkey.pub.name, k->logkey.pub.name_len);
	memcpy(r.function, q->function, fn);
	memcpy(r.invocation, q->invocation, in);
	memcpy(r.code, q->code_sha256, 32);
	memcpy(r.input, q->input_sha256, 32);
	memcpy(r.output, q->output_sha256, 32);
	r.status = q->status;
	r.time_ns = q->time_ns;
	r.nrecords = q->nrecords;
	memcpy(r.record, q->record, q->nrecords * sizeof r.record[0]);
	r.omitted = q->omitted;
	n = receipt_sign(rep->note, sizeof rep->note - 1, &r, &k->logkey.pub, &k->logkey.sk);
	if (n < 0)
		return n == -ENOSPC ? -EINVAL : (int)n;
	rep->note[n] = '\0';
	rep->note_len = (uint32_t)n;
	k->receipts++;
	return 0;
}

static void on_receipt_req(struct keyd *k, const struct imsg *m)
{
	struct receipt_sign_reply_msg *rep = (struct receipt_sign_reply_msg *)k->reply;
	struct receipt_sign_req_msg q;
	int r;

	memset(rep, 0, sizeof *rep);
	if (m->nfds != 0 || imsg_get(m, IMSG_RECEIPT_SIGN_REQ, &q, sizeof q) < 0)
		rep->error = -EBADMSG;
	else
		rep->error = sign_receipt(k, &q, rep);
	if (rep->error == -EBADMSG && k->malformed++ % 1000 == 0)
		dlog("refused a malformed receipt request (%u bytes; %llu so far)", m->hdr.len,
		     (unsigned long long)k->malformed);
	if (rep->error != 0) {
		rep->note_len = 0;
		rep->note[0] = '\0';
	}
	r = imsg_send(k->netd_fd, IMSG_RECEIPT_SIGN_REPLY, m->hdr.id, rep,
		      offsetof(struct receipt_sign_reply_msg, note) + rep->note_len + 1, NULL, 0);
	if (r < 0)
		dlog("cannot answer netd's receipt request: %s", strerror(-r));
}

/* --- the API's TLS handshakes ----------------------------------------------------- */

_Static_assert(sizeof(struct tls_cert_msg) <= IMSG_MAX_PAYLOAD, "a certificate fits one imsg");

static int tls_sign(struct keyd *k, const struct imsg *m, struct tls_sign_reply_msg *rep)
{
	struct tls_sign_req_msg q;
	struct tls_ske p;
	long n;

	if (m->nfds != 0 || imsg_get(m, IMSG_TLS_SIGN_REQ, &q, sizeof q) < 0)
		return -EBADMSG;
	if (!k->have_apikey)
		return -ENOKEY;
	/* checked before the bucket: a malformed request costs no token */
	if (apikey_req(&q, &p) < 0)
		return -EBADMSG;
	if (!tbucket_take(&k->tls_rate, mono_ms())) {
		if (k->tls_refused++ % 1000 == 0)
			dlog("API TLS: handshake signatures refused by the rate limit (%llu so far)",
			     (unsigned long long)k->tls_refused);
		return -EBUSY;
	}
	n = apikey_sign(&k->apikey, &p, rep->sig);
	if (n < 0)
		return (int)n;
	rep->sig_len = (uint32_t)n;
	k->tls_signed++;
	return 0;
}

static void on_tls_sign_req(struct keyd *k, const struct imsg *m)
{
	struct tls_sign_reply_msg rep;
	int r;

	memset(&rep, 0, sizeof rep);
	rep.error = tls_sign(k, m, &rep);
	if (rep.error == -EBADMSG && k->malformed++ % 1000 == 0)
		dlog("refused a malformed TLS signature request (%u bytes; %llu so far)", m->hdr.len,
		     (unsigned long long)k->malformed);
	if (rep.error != 0) {
		rep.sig_len = 0;
		memset(rep.sig, 0, sizeof rep.sig);
	}
	r = imsg_send(k->netd_fd, IMSG_TLS_SIGN_REPLY, m->hdr.id, &rep, sizeof rep, NULL, 0);
	if (r < 0)
		dlog("cannot answer netd's TLS signature request: %s", strerror(-r));
}

int keyd_send_tls_cert(struct keyd *k)
{
	struct tls_cert_msg c;

	if (!k->have_apikey || k->netd_fd < 0)
		return -ENOKEY;
	memset(&c, 0, sizeof c);
	c.der_len = (uint32_t)k->apikey.der_len;
	memcpy(c.spki_sha256, k->apikey.spki_sha256, sizeof c.spki_sha256);
	memcpy(c.der, k->apikey.der, k->apikey.der_len);
	return imsg_send(k->netd_fd, IMSG_TLS_CERT, 0, &c, sizeof c, NULL, 0);
}

struct keyd_reader {
	struct keyd *k;
	const char *who;
	bool (*on)(struct keyd *k, const struct imsg *m);
};

static void read_msg(void *ctx, struct imsg *msg)
{
	struct keyd_reader *rd = ctx;
	struct keyd *k = rd->k;

	if (!rd->on(k, msg) && k->malformed++ % 1000 == 0)
		dlog("refused message type %u from %s (%llu refused so far)",
		     msg->hdr.type, rd->who, (unsigned long long)k->malformed);
}

static void read_bad(void *ctx, int err)
{
	struct keyd_reader *rd = ctx;

	if (rd->k->malformed++ % 1000 == 0)
		dlog("refused an unreadable message from %s: %s", rd->who, strerror(-err));
}

/* Reads and answers what one peer sent on *fd (a budget of messages):
 * each message of a type `on` knows is handed to it, any other is
 * counted and dropped. Returns 0, or -EPIPE when the peer closed. */
static int serve(struct keyd *k, const int *fd, const char *who,
		 bool (*on)(struct keyd *k, const struct imsg *m))
{
	struct keyd_reader rd = { k, who, on };
	const struct imsg_sink sink = { read_msg, read_bad, &rd };

	return imsg_drain(fd, &k->msg, MSG_BUDGET, &sink);
}

static bool on_netd(struct keyd *k, const struct imsg *m)
{
	if (m->hdr.type == IMSG_QUOTE_REQ)
		on_quote_req(k, m);
	else if (m->hdr.type == IMSG_RECEIPT_SIGN_REQ)
		on_receipt_req(k, m);
	else if (m->hdr.type == IMSG_TLS_SIGN_REQ)
		on_tls_sign_req(k, m);
	else
		return false;
	return true;
}

int keyd_serve_netd(struct keyd *k)
{
	return serve(k, &k->netd_fd, "netd", on_netd);
}

/* --- logd: the boot's facts and checkpoint signatures ------------------------------------- */

static void on_boot_req(struct keyd *k, const struct imsg *m)
{
	struct log_boot_reply_msg rep;
	const struct rtmr3_event *ev = find_event(&k->at.log, "instance-id");

	memset(&rep, 0, sizeof rep);
	if (m->nfds != 0 || m->hdr.len != 0) {
		rep.error = -EBADMSG;
	} else if (k->at.backend == ATTEST_NONE || ev == NULL ||
		   ev->payload_len != sizeof rep.instance_id) {
		rep.error = -ENODEV;   /* nothing measured this boot: nothing to vouch for */
	} else {
		rep.backend = k->at.backend == ATTEST_TDX ? KEYD_BACKEND_TDX : KEYD_BACKEND_SIM;
		rep.has_manifest = k->cfg.has_manifest;
		memcpy(rep.manifest_sha256, k->cfg.manifest_sha256, sizeof rep.manifest_sha256);
		memcpy(rep.instance_id, ev->payload, sizeof rep.instance_id);
	}
	int r = imsg_send(k->logd_fd, IMSG_LOG_BOOT_REPLY, m->hdr.id, &rep, sizeof rep, NULL, 0);
	if (r < 0)
		dlog("cannot answer logd's boot request: %s", strerror(-r));
}

/* Signs the head req names, unless it goes back from the last one signed;
 * the new note is saved before it is handed out. */
static int sign_head(struct keyd *k, const struct log_sign_req_msg *req,
		     struct log_sign_reply_msg *rep)
{
	struct checkpoint c = {
		.origin = k->logkey.pub.name, .origin_len = k->logkey.pub.name_len,
		.size = req->size,
	};
	char why[ERRBUF_LEN];
	long n;
	int r;

	if (!k->have_logkey)
		return -ENOKEY;
	if (k->ckpt_failed)
		return -EIO;
	if (req->size >= MERKLE_SIZE_LIMIT)
		return -EINVAL;
	if (k->ckpt_len > 0 && (req->size < k->ckpt_size ||
	    (req->size == k->ckpt_size && memcmp(req->root, k->ckpt_root, 32) != 0))) {
		dlog("log checkpoint: refused a head that goes back (size %llu after %llu%s)",
		     (unsigned long long)req->size, (unsigned long long)k->ckpt_size,
		     req->size == k->ckpt_size ? ", another root" : "");
		return -EINVAL;
	}
	memcpy(c.root, req->root, sizeof c.root);
	/* quotes carry the note, and netd renders at most this much of it */
	n = checkpoint_sign(rep->note, QUOTE_CHECKPOINT_MAX - 1, &c, &k->logkey.pub, &k->logkey.sk);
	if (n < 0)
		return (int)n;
	rep->note[n] = '\0';
	rep->note_len = (uint32_t)n;
	if (k->ckpt_len == 0 || req->size != k->ckpt_size) {
		/* the same head signs to the same bytes (RFC 6979): saved once */
		r = file_replace(k->checkpoint_path, rep->note, (size_t)n, why, sizeof why);
		if (r < 0) {
			dlog("log checkpoint: not signed: %s", why);
			return r;
		}
	}
	memcpy(k->ckpt, rep->note, (size_t)n + 1);
	k->ckpt_len = (uint32_t)n;
	k->ckpt_size = req->size;
	memcpy(k->ckpt_root, req->root, sizeof k->ckpt_root);
	k->signed_count++;
	return 0;
}

/* The key provider kms: the head just signed, signed again as a freshness
 * record for netd to post (proto/netd_keyd.h). Best effort: the log never
 * waits for it, and a record that cannot be made is only logged. */
static void send_freshness(struct keyd *k, uint64_t size, const uint8_t root[32])
{
	struct keyd_freshness_msg *m = (struct keyd_freshness_msg *)k->reply;
	char ext[96], inst[2 * KEYD_INSTANCE_LEN + 1];
	long n;
	int r;

	_Static_assert(sizeof *m <= sizeof k->reply, "the record fits the reply buffer");
	if (!k->cfg.has_instance_id || k->netd_fd < 0 || !has_event(&k->at.log, "key-provider"))
		return;
	hex_encode(inst, k->cfg.instance_id, sizeof k->cfg.instance_id);
	snprintf(ext, sizeof ext, "dshield-freshness-v1 %s %u\n", inst,
		 (unsigned)k->cfg.store_generation);
	struct checkpoint c = {
		.origin = k->logkey.pub.name, .origin_len = k->logkey.pub.name_len,
		.size = size, .ext = ext, .ext_len = strlen(ext),
	};
	memcpy(c.root, root, sizeof c.root);
	memset(m, 0, sizeof *m);
	n = checkpoint_sign(m->note, FRESHNESS_NOTE_MAX, &c, &k->logkey.pub, &k->logkey.sk);
	if (n <= 0) {
		dlog("freshness record of size %llu: not signed (%s)", (unsigned long long)size,
		     strerror(n < 0 ? (int)-n : EINVAL));
		return;
	}
	m->note_len = (uint32_t)n;
	m->size = size;
	r = imsg_send(k->netd_fd, IMSG_KEYD_FRESHNESS, 0, m, sizeof *m, NULL, 0);
	if (r < 0)
		dlog("freshness record of size %llu: not handed to netd (%s)",
		     (unsigned long long)size, strerror(-r));
}

static void on_sign_req(struct keyd *k, const struct imsg *m)
{
	struct log_sign_reply_msg *rep = (struct log_sign_reply_msg *)k->reply;
	struct log_sign_req_msg req;
	int r;

	memset(rep, 0, sizeof *rep);
	if (m->nfds != 0 || imsg_get(m, IMSG_LOG_SIGN_REQ, &req, sizeof req) < 0) {
		rep->error = -EBADMSG;
	} else {
		rep->size = req.size;
		memcpy(rep->root, req.root, sizeof rep->root);
		rep->error = sign_head(k, &req, rep);
		if (rep->error != 0) {
			rep->note_len = 0;
			memset(rep->note, 0, sizeof rep->note);
		}
	}
	r = imsg_send(k->logd_fd, IMSG_LOG_SIGN_REPLY, m->hdr.id, rep, sizeof *rep, NULL, 0);
	if (r < 0)
		dlog("cannot answer logd's sign request: %s", strerror(-r));
	if (rep->error == 0)
		send_freshness(k, req.size, req.root);   /* rep's buffer is reused */
}

static bool on_logd(struct keyd *k, const struct imsg *m)
{
	if (m->hdr.type == IMSG_LOG_BOOT_REQ)
		on_boot_req(k, m);
	else if (m->hdr.type == IMSG_LOG_SIGN_REQ)
		on_sign_req(k, m);
	else
		return false;
	return true;
}

int keyd_serve_logd(struct keyd *k)
{
	return serve(k, &k->logd_fd, "logd", on_logd);
}

/* --- sandboxd: function events ---------------------------------------------------------- */

_Static_assert(sizeof(struct fn_event_msg) == 152, "the function event's payload is 152 bytes");
_Static_assert(sizeof(struct fn_event_msg) <= RTMR3_PAYLOAD_MAX, "it fits an event");

/* A NUL-padded field holding a string of 1..cap-1 bytes. */
static size_t padded_len(const char *f, size_t cap)
{
	size_t n = strnlen(f, cap);

	if (n == 0 || n == cap)
		return 0;
	for (size_t i = n; i < cap; i++)
		if (f[i] != '\0')
			return 0;
	return n;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* The payload is checked whole: what keyd measures is what it vouches
 * for, so nothing it cannot read goes into RTMR3. */
static bool fn_event_valid(const struct fn_event_msg *ev)
{
	size_t idn = padded_len(ev->id, sizeof ev->id), rtn = padded_len(ev->runtime, sizeof ev->runtime);
	bool del = ev->op == FN_EVENT_DELETE;

	if (ev->version != 1 || ev->op < FN_EVENT_DEPLOY || ev->op > FN_EVENT_DELETE ||
	    !all_zero(ev->reserved, sizeof ev->reserved) || idn == 0 || rtn == 0 ||
	    !fn_id_valid(ev->id, idn))
		return false;
	if (strcmp(ev->runtime, "native") != 0 && strcmp(ev->runtime, "node") != 0 &&
	    strcmp(ev->runtime, "python") != 0)
		return false;
	/* a delete names no code; a deploy or update always does */
	return del == (all_zero(ev->code_sha256, 32) && all_zero(ev->decl_sha256, 32));
}

static void on_fn_event(struct keyd *k, const struct imsg *m)
{
	struct fn_event_reply_msg rep = { 0 };
	struct fn_event_msg ev;
	int r;

	if (m->nfds != 0 || imsg_get(m, IMSG_FN_EVENT_REQ, &ev, sizeof ev) < 0 || !fn_event_valid(&ev)) {
		if (k->malformed++ % 1000 == 0)
			dlog("refused a malformed function event (%u bytes; %llu refused so far)",
			     m->hdr.len, (unsigned long long)k->malformed);
		rep.error = -EBADMSG;
	} else if (k->at.backend == ATTEST_NONE) {
		rep.error = -ENODEV;   /* nothing is measured: nothing may run unmeasured */
	} else if (!rtmr3_log_room(&k->at.log, strlen("function"), sizeof ev)) {
		if (k->fn_full++ % 1000 == 0)
			dlog("attestation: the event log is full (%u events, %zu bytes of records; at "
			     "most %u and %u): function changes are refused", k->at.log.n,
			     k->at.log.rec_bytes, RTMR3_LOG_MAX, RTMR3_LOG_BYTES_MAX);
		rep.error = -ENOSPC;
	} else if (!tbucket_take(&k->fn_rate, mono_ms())) {
		rep.error = -EBUSY;
	} else if ((r = record_event(k, "function", &ev, sizeof ev)) < 0) {
		rep.error = r;
	} else {
		k->fn_events++;
	}
	rep.events = k->at.log.n;
	r = imsg_send(k->sandboxd_fd, IMSG_FN_EVENT_REPLY, m->hdr.id, &rep, sizeof rep, NULL, 0);
	if (r < 0)
		dlog("cannot answer sandboxd's function event: %s", strerror(-r));
}

static bool on_sandboxd(struct keyd *k, const struct imsg *m)
{
	if (m->hdr.type != IMSG_FN_EVENT_REQ)
		return false;
	on_fn_event(k, m);
	return true;
}

int keyd_serve_sandboxd(struct keyd *k)
{
	return serve(k, &k->sandboxd_fd, "sandboxd", on_sandboxd);
}

/* --- the role --------------------------------------------------------------------------- */

/* ~3.6 MiB (the log and its scratch, touched only as far as the log
 * goes): not on the stack, and zero-initialised (in .bss, not in the
 * binary): netd_fd and logd_fd are set to -1 first thing in keyd_main. */
static struct keyd K;

static int read_config(struct keyd_config_msg *cfg)
{
	for (;;) {
		int r = imsg_recv(ROLE_INIT_FD, &K.msg);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		r = imsg_get(&K.msg, IMSG_KEYD_CONFIG, cfg, sizeof *cfg);
		imsg_close_fds(&K.msg);
		return r;
	}
}

/* IMSG_PEER_CHANNEL from init: a fresh channel to netd or logd. */
static int on_init_message(int ep)
{
	struct peer_channel_msg pc;
	int fd, *slot;

	if (K.msg.hdr.type == IMSG_KEYD_KMS_REQ) {
		on_kms_req(&K, &K.msg);
		return 0;
	}
	if (imsg_get(&K.msg, IMSG_PEER_CHANNEL, &pc, sizeof pc) < 0 || K.msg.nfds != 1 ||
	    (pc.peer != ROLE_NETD && pc.peer != ROLE_LOGD && pc.peer != ROLE_SANDBOXD)) {
		dlog("unexpected message type %u from init", K.msg.hdr.type);
		return 0;
	}
	slot = pc.peer == ROLE_NETD ? &K.netd_fd : pc.peer == ROLE_LOGD ? &K.logd_fd : &K.sandboxd_fd;
	fd = imsg_take_fd(&K.msg, 0);
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -errno;
	if (pc.peer == ROLE_NETD && K.have_apikey) {
		int r = keyd_send_tls_cert(&K);
		if (r < 0)
			dlog("cannot send netd the API certificate: %s", strerror(-r));
	}
	return 0;
}

static int loop(int ep)
{
	struct epoll_event evs[4];

	for (;;) {
		int n = epoll_wait(ep, evs, 4, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == ROLE_INIT_FD) {
				int r = imsg_recv(ROLE_INIT_FD, &K.msg);
				if (r == -EPIPE) {
					dlog("init closed the channel, exiting");
					return 0;
				}
				if (r == 0) {
					r = on_init_message(ep);
					imsg_close_fds(&K.msg);
					if (r < 0)
						return r;
				}
			} else if (evs[i].data.fd == K.netd_fd) {
				if (keyd_serve_netd(&K) == -EPIPE) {
					close(K.netd_fd);   /* leaves the epoll set */
					K.netd_fd = -1;
				}
			} else if (evs[i].data.fd == K.logd_fd) {
				if (keyd_serve_logd(&K) == -EPIPE) {
					close(K.logd_fd);
					K.logd_fd = -1;
				}
			} else if (evs[i].data.fd == K.sandboxd_fd) {
				if (keyd_serve_sandboxd(&K) == -EPIPE) {
					close(K.sandboxd_fd);
					K.sandboxd_fd = -1;
				}
			}
		}
	}
}

int keyd_main(void)
{
	struct keyd_config_msg cfg;
	struct attest_paths paths;
	const char *delay = getenv("DSHIELD_KEYD_QUOTE_DELAY_MS");
	int ep, r;

	K.netd_fd = -1;
	K.logd_fd = -1;
	K.sandboxd_fd = -1;
	r = read_config(&cfg);
	if (r < 0) {
		dlog("reading the configuration from init: %s", strerror(-r));
		return 1;
	}
	if (delay != NULL) {
		K.quote_delay_ms = (uint32_t)strtoul(delay, NULL, 10);
		dlog("WARNING: test knob: every quote waits %u ms (host mode only)",
		     K.quote_delay_ms);
	}
	attest_default_paths(&paths);
	keyd_setup(&K, &cfg, &paths, KEYD_STATE_DIR);

	struct keyd_status_msg st = {
		.backend = K.at.backend == ATTEST_TDX ? KEYD_BACKEND_TDX :
			   K.at.backend == ATTEST_SIM ? KEYD_BACKEND_SIM : KEYD_BACKEND_NONE,
		.resumed = K.resumed,
		.events = (uint16_t)K.at.log.n,
	};
	r = imsg_send(ROLE_INIT_FD, IMSG_KEYD_STATUS, 0, &st, sizeof st, NULL, 0);
	if (r < 0)
		dlog("cannot report to init: %s", strerror(-r));

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || fcntl(ROLE_INIT_FD, F_SETFL, O_NONBLOCK) != 0) {
		dlog("event loop: %s", strerror(errno));
		return 1;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = ROLE_INIT_FD };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ROLE_INIT_FD, &ev) != 0) {
		dlog("epoll_ctl: %s", strerror(errno));
		return 1;
	}
	r = loop(ep);
	if (r < 0)
		dlog("event loop: %s", strerror(-r));
	return r < 0 ? 1 : 0;
}
