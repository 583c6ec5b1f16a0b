/* logd/logd.c: see logd.h. */
#include "logd/logd.h"
#include "crypto/kms_fresh.h"
#include "crypto/log_entry.h"
#include "crypto/merkle.h"
#include "crypto/tlog_tiles.h"
#include "lib/clock.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "proto/init_keyd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* An owed reply that goes to nobody (logd's own boot entry). */
#define CHAN_NONE LOGD_CHAN_COUNT

static const char *const chan_name[LOGD_CHAN_COUNT] = { "init", "netd", "keyd", "sandboxd" };

/* Counted, and logged once per thousand: a peer that floods logd with
 * garbage must not flood the console through it. */
static void malformed(struct logd *d, enum logd_chan chan, const char *what)
{
	if (d->malformed++ % 1000 == 0)
		dlog("refused %s from %s (%llu refused so far)", what, chan_name[chan],
		     (unsigned long long)d->malformed);
}

static void send_to(struct logd *d, enum logd_chan chan, uint32_t type, uint32_t id,
		    const void *p, size_t len)
{
	int r;

	if (d->fd[chan] < 0)
		return;
	r = imsg_send(d->fd[chan], type, id, p, len, NULL, 0);
	if (r < 0 && d->refused++ % 1000 == 0)
		dlog("cannot answer %s (message type %u): %s", chan_name[chan], type, strerror(-r));
}

/* --- the find index ------------------------------------------------------------------ */

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h;
}

/* The slot of id (n bytes) in a table of cap (a power of two) slots: its
 * own, or the free one where it would go. */
static struct logd_fn *fn_slot(struct logd_fn *t, size_t cap, const char *id, size_t n)
{
	for (size_t i = (size_t)fnv1a(id, n) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (t[i].id == NULL || (strlen(t[i].id) == n && memcmp(t[i].id, id, n) == 0))
			return &t[i];
}

/* Keeps the table at most half full, so that a probe always ends. */
static int fn_grow(struct logd_index *x)
{
	size_t cap = x->cap ? x->cap * 2 : 64;
	struct logd_fn *t;

	if (2 * (x->used + 1) <= x->cap)
		return 0;
	t = calloc(cap, sizeof *t);
	if (t == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < x->cap; i++)
		if (x->t[i].id != NULL)
			*fn_slot(t, cap, x->t[i].id, strlen(x->t[i].id)) = x->t[i];
	free(x->t);
	x->t = t;
	x->cap = cap;
	return 0;
}

static int fn_add(struct logd_index *x, const struct log_str *id, uint64_t index)
{
	struct logd_fn *f;

	if (id->len == 0)
		return 0;
	if (fn_grow(x) < 0)
		return -ENOMEM;
	f = fn_slot(x->t, x->cap, id->p, id->len);
	if (f->id == NULL) {
		if ((f->id = malloc(id->len + 1)) == NULL)
			return -ENOMEM;
		memcpy(f->id, id->p, id->len);
		f->id[id->len] = '\0';
		x->used++;
	}
	if (f->len == f->cap) {
		uint64_t cap = f->cap ? f->cap * 2 : x->first_cap;
		uint64_t *p = realloc(f->idx, (size_t)cap * sizeof *p);
		if (p == NULL)
			return -ENOMEM;
		f->idx = p;
		f->cap = cap;
	}
	f->idx[f->len++] = index;
	return 0;
}

static void fn_free(struct logd_index *x)
{
	for (size_t i = 0; i < x->cap; i++) {
		free(x->t[i].id);
		free(x->t[i].idx);
	}
	free(x->t);
	memset(x, 0, sizeof *x);
}

/* The function an entry names, or NULL (boot, attestation). */
static const struct log_str *entry_function(const struct log_entry *e)
{
	switch (e->type) {
	case LOG_FUNCTION:
		return &e->u.function.id;
	case LOG_INVOCATION:
		return &e->u.invocation.function;
	case LOG_EGRESS:
	case LOG_EGRESS_REFUSED:
		return &e->u.egress.function;
	case LOG_DNS_REFUSED:
		return &e->u.dns_refused.function;
	default:
		return NULL;
	}
}

/* The invocation an entry belongs to, or NULL. */
static const struct log_str *entry_invocation(const struct log_entry *e)
{
	switch (e->type) {
	case LOG_INVOCATION:
		return &e->u.invocation.invocation;
	case LOG_EGRESS:
	case LOG_EGRESS_REFUSED:
		return &e->u.egress.invocation;
	case LOG_DNS_REFUSED:
		return &e->u.dns_refused.invocation;
	default:
		return NULL;
	}
}

/* What the index and the boot check learn from one entry of the store. */
static int learn(struct logd *d, const struct log_entry *e, uint64_t index)
{
	const struct log_str *fn = entry_function(e), *inv = entry_invocation(e);

	if (e->type == LOG_BOOT) {
		size_t n = e->u.boot.instance.len;
		if (n >= sizeof d->last_instance)
			n = sizeof d->last_instance - 1;
		memcpy(d->last_instance, e->u.boot.instance.p, n);
		d->last_instance[n] = '\0';
	}
	if (fn != NULL && fn_add(&d->by_fn, fn, index) < 0)
		return -ENOMEM;
	if (inv == NULL || inv->len == 0)
		return 0;
	if (fn_add(&d->by_inv, inv, index) < 0)
		return -ENOMEM;
	if (e->type == LOG_INVOCATION) {
		struct logd_fn *f = fn_slot(d->by_inv.t, d->by_inv.cap, inv->p, inv->len);
		if (!f->has_entry) {   /* the first: ids are UUIDs, never reused */
			f->entry = index;
			f->has_entry = true;
		}
	}
	return 0;
}

/* --- open and close ----------------------------------------------------------------- */

/* Reads every committed entry once (bundle by bundle, through the object
 * buffer) for the find index and the last boot entry. */
static int rebuild(struct logd *d, char err[ERRBUF_LEN])
{
	uint64_t size = logstore_committed(&d->store);
	char why[128];

	for (uint64_t t = 0; t * TLOG_TILE_WIDTH < size; t++) {
		uint64_t left = size - t * TLOG_TILE_WIDTH;
		unsigned w = left < TLOG_TILE_WIDTH ? (unsigned)left : TLOG_TILE_WIDTH;
		long n = logstore_bundle(&d->store, t, w, d->obj, LOGD_OBJ_MAX);
		struct tlog_bundle_iter it;
		const uint8_t *p;
		size_t len;

		if (n < 0)
			return errbuf_set(err, ERRBUF_LEN, (int)n, "reading entry bundle %llu: %s",
					  (unsigned long long)t, strerror((int)-n));
		tlog_bundle_iter_init(&it, d->obj, (size_t)n);
		for (uint64_t i = t * TLOG_TILE_WIDTH; tlog_bundle_next(&it, &p, &len) > 0; i++) {
			struct log_entry e;
			if (log_entry_decode(p, len, &e, why, sizeof why) < 0)
				continue;   /* served as it is; it names no function */
			if (learn(d, &e, i) < 0)
				return errbuf_set(err, ERRBUF_LEN, -ENOMEM, "the find index: out of memory");
		}
	}
	return 0;
}

enum logd_fresh logd_fresh_check(struct logstore *s, const char *note, size_t len,
				uint64_t *size, char err[ERRBUF_LEN])
{
	struct kms_fresh f;
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t n = logstore_committed(s);
	char why[ERRBUF_LEN];

	*size = 0;
	if (kms_fresh_peek(&f, note, len, why, sizeof why) < 0) {
		errbuf_set(err, ERRBUF_LEN, -EBADMSG, "the KMS's record is unreadable: %s", why);
		return LOGD_FRESH_UNREADABLE;
	}
	*size = f.size;
	if (n < f.size) {
		errbuf_set(err, ERRBUF_LEN, -ESTALE, "rollback: the log has %llu entries, the KMS's "
			   "record %llu", (unsigned long long)n, (unsigned long long)f.size);
		return LOGD_FRESH_ROLLBACK;
	}
	if (f.size > 0 && (logstore_root(s, f.size, root) < 0 ||
			   memcmp(root, f.root, sizeof root) != 0)) {
		errbuf_set(err, ERRBUF_LEN, -ESTALE, "fork: the log's root at size %llu is not the "
			   "KMS's record's", (unsigned long long)f.size);
		return LOGD_FRESH_FORK;
	}
	errbuf_set(err, ERRBUF_LEN, 0, "the log (%llu entries) holds the KMS's record of size %llu",
		   (unsigned long long)n, (unsigned long long)f.size);
	return LOGD_FRESH_OK;
}

int logd_open(struct logd *d, const struct logd_config_msg *cfg, const char *dir,
	      char err[ERRBUF_LEN])
{
	int r;

	memset(d, 0, sizeof *d);
	for (unsigned c = 0; c < LOGD_CHAN_COUNT; c++)
		d->fd[c] = -1;
	d->cfg = *cfg;
	d->obj_len = -1;
	d->by_fn.first_cap = 16;
	d->by_inv.first_cap = 2;
	err[0] = '\0';
	d->obj = malloc(LOGD_OBJ_MAX);
	if (d->obj == NULL) {
		r = errbuf_set(err, ERRBUF_LEN, -ENOMEM, "no memory for the read buffer");
		goto fail;
	}
	r = logstore_open(&d->store, dir, err);
	if (r < 0)
		goto fail;
	d->store_open = true;
	if (err[0] != '\0')
		dlog("store: %s", err);   /* a torn tail, dropped */
	r = rebuild(d, err);
	if (r < 0)
		goto fail;
	if (cfg->fresh_len > 0 && cfg->fresh_len <= LOGD_FRESH_MAX) {
		d->fresh = logd_fresh_check(&d->store, cfg->fresh, cfg->fresh_len, &d->fresh_size,
					    err);
		dlog("freshness: %s", err);
		if (d->fresh != LOGD_FRESH_OK && cfg->fresh_flag) {
			/* the policy's on_rollback "flag": said, and the log goes on */
			snprintf(d->flagged, sizeof d->flagged, "ROLLBACK DETECTED: %s", err);
			dlog("%s (the policy's kms.on_rollback is \"flag\": appending on)", d->flagged);
		} else if (d->fresh != LOGD_FRESH_OK) {
			/* not the latest log: nothing is appended to it */
			r = -ESTALE;
			goto fail;
		}
		err[0] = '\0';
	}
	return 0;
fail:
	d->failed = r;
	snprintf(d->why, sizeof d->why, "%s", err);
	return r;
}

void logd_close(struct logd *d)
{
	for (unsigned c = 0; c < LOGD_CHAN_COUNT; c++)
		if (c != LOGD_CHAN_INIT && d->fd[c] >= 0)
			close(d->fd[c]);
	if (d->store_open)
		logstore_close(&d->store);
	fn_free(&d->by_fn);
	fn_free(&d->by_inv);
	free(d->obj);
	d->obj = NULL;
	d->store_open = false;
}

/* --- the store's state --------------------------------------------------------------- */

static void fail_store(struct logd *d, int err)
{
	if (d->failed != 0)
		return;
	d->failed = err;
	snprintf(d->why, sizeof d->why, "%s", logstore_why(&d->store));
	dlog("store FAILED (%s): every append is refused from now on", d->why);
}

static void report(struct logd *d)
{
	uint32_t state = d->failed ? LOGD_STATE_FAILED : LOGD_STATE_READY;
	struct logd_status_msg st = {
		.state = state,
		.fresh = d->fresh,
		.size = d->store_open ? logstore_committed(&d->store) : 0,
		.torn_bytes = d->store_open ? d->store.torn_bytes : 0,
		.fresh_size = d->fresh_size,
	};

	if (state == d->reported || d->fd[LOGD_CHAN_INIT] < 0)
		return;
	d->reported = state;
	send_to(d, LOGD_CHAN_INIT, IMSG_LOGD_STATUS, 0, &st, sizeof st);
}

static uint64_t committed(const struct logd *d)
{
	return d->store_open && d->failed == 0 ? logstore_committed(&d->store) : 0;
}

/* --- appends ----------------------------------------------------------------------- */

/* The answers gathered for chan: a lone one as IMSG_LOG_APPENDED, more
 * as one IMSG_LOG_APPENDED_MANY (proto/logd.h). */
static void flush_answers(struct logd *d, enum logd_chan chan)
{
	const struct log_appended_one *a = d->answers[chan];
	unsigned n = d->nanswers[chan];

	d->nanswers[chan] = 0;
	if (n == 1) {
		struct log_appended_msg rep = { .error = a[0].error, .index = a[0].index };
		send_to(d, chan, IMSG_LOG_APPENDED, a[0].id, &rep, sizeof rep);
	} else if (n > 1) {
		send_to(d, chan, IMSG_LOG_APPENDED_MANY, 0, a, n * sizeof *a);
	}
}

/* o's answer, gathered with its channel's others of the round (a
 * channel that closed or was replaced meanwhile gets none). */
static void send_owed(struct logd *d, const struct logd_owed *o)
{
	if (o->chan >= LOGD_CHAN_COUNT || o->gen != d->gen[o->chan])
		return;
	d->answers[o->chan][d->nanswers[o->chan]++] = (struct log_appended_one){
		.id = o->id, .error = o->error, .index = o->error ? 0 : o->index };
	if (d->nanswers[o->chan] == LOG_APPENDED_MANY_MAX)
		flush_answers(d, (enum logd_chan)o->chan);
}

/* The group commit: one sync for everything this round appended, then
 * the replies, in the order the requests came, one message per channel
 * (flush_answers). */
static void commit(struct logd *d)
{
	int r = 0;

	if (d->nowed == 0)
		return;
	if (d->store_open && d->store.pend_len > 0) {
		r = logstore_sync(&d->store);
		d->syncs++;
		if (r < 0)
			fail_store(d, r);
	}
	for (unsigned i = 0; i < d->nowed; i++) {
		struct logd_owed *o = &d->owed[i];
		if (r < 0 && o->error == 0)
			o->error = r;
		if (o->error == 0)
			d->appended++;
		send_owed(d, o);
	}
	for (unsigned c = 0; c < LOGD_CHAN_COUNT; c++)
		flush_answers(d, (enum logd_chan)c);
	d->nowed = d->nowed_awaited = 0;
	d->lazy_until = 0;
}

/* Buffers one entry; its reply is owed until the round's sync. lazy: its
 * caller does not wait for it (IMSG_LOG_APPEND_LAZY). */
static void append(struct logd *d, enum logd_chan chan, uint32_t id, const uint8_t *entry,
		   size_t len, const struct log_entry *e, bool lazy)
{
	struct logd_owed *o;
	int r = d->failed;

	if (d->nowed == LOGD_BATCH_MAX)
		commit(d);   /* a full batch syncs early: replies stay in order */
	d->nowed_awaited += !lazy;
	o = &d->owed[d->nowed++];
	*o = (struct logd_owed){ .chan = (uint8_t)chan, .gen = chan < LOGD_CHAN_COUNT ?
				 d->gen[chan] : 0, .id = id };
#ifdef DSHIELD_BENCH_LOG_DISCARD
	/* tests/bench/egress-bench's "logging off" build only (make
	 * BENCH_DEFS=-DDSHIELD_BENCH_LOG_DISCARD, never the image's): the
	 * proxy's records are acknowledged in this round and dropped, nothing
	 * is written or synced, so a client pays only the message round trip.
	 * Every other entry is stored: an invocation's receipt needs its entry
	 * found (the bench invokes its function once, at start). */
	if (e->type == LOG_EGRESS || e->type == LOG_EGRESS_REFUSED) {
		o->error = r;
		return;
	}
#endif
	if (r == 0) {
		r = logstore_append(&d->store, entry, len, &o->index);
		if (r < 0 && d->store.failed)
			fail_store(d, r);
	}
	if (r == 0 && learn(d, e, o->index) < 0) {
		/* the entry is in the batch; only find will miss it */
		dlog("the find index: out of memory (entry %llu)", (unsigned long long)o->index);
	}
	o->error = r;
}

static void on_append(struct logd *d, enum logd_chan chan, bool lazy)
{
	struct log_entry e;
	char why[128];
	int r;

	if (d->msg.nfds != 0 || d->msg.hdr.len == 0 ||
	    (r = log_entry_decode(d->msg.payload, d->msg.hdr.len, &e, why, sizeof why)) < 0) {
		struct log_appended_msg rep = { .error = -EBADMSG };
		malformed(d, chan, "an entry that does not decode");
		send_to(d, chan, IMSG_LOG_APPENDED, d->msg.hdr.id, &rep, sizeof rep);
		return;
	}
	if (e.type == LOG_BOOT) {
		/* boot entries are logd's own, from keyd's facts */
		struct log_appended_msg rep = { .error = -EPERM };
		malformed(d, chan, "a boot entry");
		send_to(d, chan, IMSG_LOG_APPENDED, d->msg.hdr.id, &rep, sizeof rep);
		return;
	}
	append(d, chan, d->msg.hdr.id, d->msg.payload, d->msg.hdr.len, &e, lazy);
}

/* --- the boot entry ---------------------------------------------------------------- */

static void ask_boot(struct logd *d)
{
	int r;

	if (d->boot_done || d->fd[LOGD_CHAN_KEYD] < 0 || d->failed)
		return;
	d->boot_req = ++d->seq;
	r = imsg_send(d->fd[LOGD_CHAN_KEYD], IMSG_LOG_BOOT_REQ, d->boot_req, NULL, 0, NULL, 0);
	d->boot_asked = r >= 0;
	if (r < 0)
		dlog("cannot ask keyd for the boot's facts: %s", strerror(-r));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* keyd's facts: one boot entry, unless the store's last boot entry is this
 * boot's already (logd restarted, the boot did not: init says which). */
static void on_boot_reply(struct logd *d)
{
	static const char *const backend[] = { "none", "tdx", "sim" };
	struct log_boot_reply_msg b;
	struct log_entry e;
	uint8_t buf[512];
	char inst[2 * sizeof b.instance_id + 1];
	long n;

	if (imsg_get(&d->msg, IMSG_LOG_BOOT_REPLY, &b, sizeof b) < 0 || d->msg.nfds != 0 ||
	    !d->boot_asked || d->msg.hdr.id != d->boot_req || b.backend > KEYD_BACKEND_SIM) {
		malformed(d, LOGD_CHAN_KEYD, "a boot reply");
		return;
	}
	d->boot_asked = false;
	if (b.error != 0) {
		dlog("no boot entry yet: keyd cannot say what booted (%s); asking again when "
		     "keyd restarts", strerror(-b.error));
		return;
	}
	hex_encode(inst, b.instance_id, sizeof b.instance_id);
	d->boot_done = true;
	if (d->cfg.restarted && strcmp(inst, d->last_instance) == 0) {
		dlog("boot %s is in the log already (logd restarted)", inst);
		return;
	}
	memset(&e, 0, sizeof e);
	e.type = LOG_BOOT;
	e.time_ns = now_ns();
	if (b.has_manifest)
		memcpy(e.u.boot.manifest, b.manifest_sha256, sizeof e.u.boot.manifest);
	e.u.boot.backend = (struct log_str){ backend[b.backend], strlen(backend[b.backend]) };
	e.u.boot.instance = (struct log_str){ inst, strlen(inst) };
	/* version 3 names the encrypted store (init's line, e.g. "store: none
	 * (tmpfs, lost at poweroff)" or "... (insecure dev key) ..."); a
	 * configuration without one keeps version 1 */
	char store[LOGD_STORE_TEXT + ERRBUF_LEN + 2];
	size_t sl = strnlen(d->cfg.store, sizeof d->cfg.store);
	if (sl > 0 && sl < sizeof d->cfg.store) {
		/* a flagged rollback is part of the store's line (on_rollback "flag") */
		int k = snprintf(store, sizeof store, "%.*s%s%s", (int)sl, d->cfg.store,
				 d->flagged[0] ? "; " : "", d->flagged);
		e.version = 3;
		e.u.boot.store = (struct log_str){ store, (size_t)k < sizeof store ? (size_t)k : sizeof store - 1 };
	}
	n = log_entry_encode(buf, sizeof buf, &e);
	if (n < 0 && e.version == 3) {
		/* a line the entry cannot hold (a control character): the boot
		 * is still logged, without it */
		dlog("the store's line does not fit the boot entry: logged without it");
		e.version = 0;
		e.u.boot.store = (struct log_str){ NULL, 0 };
		n = log_entry_encode(buf, sizeof buf, &e);
	}
	if (n < 0) {
		dlog("cannot encode the boot entry: %s", strerror((int)-n));
		return;
	}
	append(d, CHAN_NONE, 0, buf, (size_t)n, &e, false);
	dlog("boot %s (%s): its entry is appended", inst, backend[b.backend]);
}

/* --- checkpoints ------------------------------------------------------------------- */

static void send_checkpoint(struct logd *d, enum logd_chan chan, uint32_t id, int error)
{
	struct log_checkpoint_msg *m = (struct log_checkpoint_msg *)d->reply;

	memset(m, 0, sizeof *m);
	if (error == 0 && d->note_len == 0)
		error = -ENOENT;
	m->error = error;
	if (error == 0) {
		m->note_len = d->note_len;
		m->size = d->note_size;
		memcpy(m->note, d->note, d->note_len);
	}
	send_to(d, chan, IMSG_LOG_CHECKPOINT, id, m, sizeof *m);
}

/* Answers the waiters the latest note covers; with error != 0, every
 * waiter (keyd refused, or is gone). */
static void answer_waiters(struct logd *d, int error)
{
	unsigned k = 0;

	for (unsigned i = 0; i < d->nwaiters; i++) {
		struct logd_owed *w = &d->waiter[i];
		bool covered = d->note_len > 0 && d->note_size >= w->index;
		if (w->gen != d->gen[w->chan])
			continue;   /* its channel is gone */
		if (error != 0 || covered)
			send_checkpoint(d, w->chan, w->id, covered ? 0 : error);
		else
			d->waiter[k++] = *w;
	}
	d->nwaiters = k;
}

static void on_checkpoint_req(struct logd *d, enum logd_chan chan)
{
	struct log_checkpoint_req_msg req;

	if (d->msg.nfds != 0 ||
	    imsg_get(&d->msg, IMSG_LOG_CHECKPOINT_REQ, &req, sizeof req) < 0 || req.fresh > 1) {
		malformed(d, chan, "a checkpoint request");
		send_checkpoint(d, chan, d->msg.hdr.id, -EBADMSG);
		return;
	}
	/* fresh: covering every entry appended before the request, the lazy
	 * ones waiting for their sync included */
	if (req.fresh)
		commit(d);
	uint64_t need = committed(d);
	if (!req.fresh || (d->note_len > 0 && d->note_size >= need)) {
		send_checkpoint(d, chan, d->msg.hdr.id, 0);
		return;
	}
	if (d->fd[LOGD_CHAN_KEYD] < 0 || d->failed) {
		send_checkpoint(d, chan, d->msg.hdr.id, d->failed ? d->failed : -EAGAIN);
		return;
	}
	if (d->nwaiters == LOGD_WAITERS_MAX) {
		send_checkpoint(d, chan, d->msg.hdr.id, -EBUSY);
		return;
	}
	/* answered when keyd has signed (logd_end_round asks it) */
	d->waiter[d->nwaiters++] = (struct logd_owed){ .chan = (uint8_t)chan, .gen = d->gen[chan],
						       .id = d->msg.hdr.id, .index = need };
}

static void ask_sign(struct logd *d, uint64_t now_ms)
{
	struct log_sign_req_msg req = { .size = committed(d) };
	int r;

	if (logstore_root(&d->store, req.size, req.root) < 0)
		return;
	d->sign_req = ++d->seq;
	d->sign_at_ms = now_ms;
	r = imsg_send(d->fd[LOGD_CHAN_KEYD], IMSG_LOG_SIGN_REQ, d->sign_req, &req, sizeof req,
		      NULL, 0);
	if (r < 0) {
		dlog("cannot ask keyd to sign: %s", strerror(-r));
		return;
	}
	d->signing = true;
	d->sign_size = req.size;
	memcpy(d->sign_root, req.root, sizeof req.root);
}

/* Due when something committed is not signed yet and either the interval
 * has passed since the last request or a fresh request waits. The empty
 * tree is signed only when asked: the boot entry comes first. */
static void maybe_sign(struct logd *d, uint64_t now_ms)
{
	uint64_t size = committed(d);
	bool unsigned_entries = d->note_len == 0 ? size > 0 || d->nwaiters > 0 : size > d->note_size;

	if (d->signing || d->failed || d->fd[LOGD_CHAN_KEYD] < 0 || !unsigned_entries)
		return;
	if (d->nwaiters > 0 || d->sign_at_ms == 0 ||
	    now_ms - d->sign_at_ms >= d->cfg.checkpoint_interval_ms)
		ask_sign(d, now_ms);
}

static void on_sign_reply(struct logd *d)
{
	struct log_sign_reply_msg rep, *r = &rep;

	if (d->msg.nfds != 0 || imsg_get(&d->msg, IMSG_LOG_SIGN_REPLY, r, sizeof *r) < 0 || !d->signing ||
	    d->msg.hdr.id != d->sign_req || r->size != d->sign_size ||
	    memcmp(r->root, d->sign_root, sizeof r->root) != 0 ||
	    (r->error == 0 && (r->note_len == 0 || r->note_len >= sizeof r->note ||
			       memchr(r->note, '\0', r->note_len) != NULL ||
			       r->note[r->note_len] != '\0'))) {
		malformed(d, LOGD_CHAN_KEYD, "a sign reply");
		return;
	}
	d->signing = false;
	if (r->error != 0) {
		dlog("keyd refused to sign the head of size %llu: %s",
		     (unsigned long long)r->size, strerror(-r->error));
		answer_waiters(d, r->error);
		return;
	}
	memcpy(d->note, r->note, r->note_len + 1);
	d->note_len = r->note_len;
	d->note_size = r->size;
	d->signed_count++;
	answer_waiters(d, 0);
}

/* --- reads ------------------------------------------------------------------------- */

/* The object a read asks for, built into d->obj unless it is there
 * already: committed tiles and bundles never change, so the cache needs
 * no invalidation. */
static long build(struct logd *d, const struct log_read_req_msg *q)
{
	uint16_t w = q->width;
	uint8_t level = q->kind == LOG_READ_TILE ? q->level : 0;
	long n;

	if (d->obj_len >= 0 && d->obj_kind == q->kind && d->obj_level == level &&
	    d->obj_width == w && d->obj_index == q->index)
		return d->obj_len;
	d->obj_len = -1;
	d->builds++;
	if (q->kind == LOG_READ_TILE)
		n = logstore_tile(&d->store, level, q->index, w, d->obj, LOGD_OBJ_MAX);
	else
		n = logstore_bundle(&d->store, q->index, w, d->obj, LOGD_OBJ_MAX);
	if (n < 0)
		return n == -ENOSPC ? -EFBIG : n;
	d->obj_len = n;
	d->obj_kind = q->kind;
	d->obj_level = level;
	d->obj_width = w;
	d->obj_index = q->index;
	return n;
}

static void on_read_req(struct logd *d, enum logd_chan chan)
{
	struct log_read_msg *m = (struct log_read_msg *)d->reply;
	struct log_read_req_msg q;
	long n = -EBADMSG;

	memset(m, 0, sizeof *m);
	if (d->msg.nfds != 0 || imsg_get(&d->msg, IMSG_LOG_READ_REQ, &q, sizeof q) < 0 ||
	    (q.kind != LOG_READ_TILE && q.kind != LOG_READ_BUNDLE)) {
		malformed(d, chan, "a read request");
	} else if (q.width == 0 || q.width > TLOG_TILE_WIDTH) {
		n = -EINVAL;
	} else if (!d->store_open || d->failed) {
		n = -EIO;
	} else {
		n = build(d, &q);
	}
	m->offset = n >= 0 ? q.offset : 0;
	if (n >= 0 && q.offset > (uint64_t)n)
		n = -EINVAL;
	if (n < 0) {
		m->error = (int32_t)n;
	} else {
		uint64_t left = (uint64_t)n - q.offset;
		m->total = (uint64_t)n;
		m->len = left < LOG_READ_CHUNK ? (uint32_t)left : LOG_READ_CHUNK;
		memcpy(d->reply + sizeof *m, d->obj + q.offset, m->len);
	}
	send_to(d, chan, IMSG_LOG_READ, d->msg.hdr.id, d->reply, sizeof *m + m->len);
}

_Static_assert(sizeof(struct log_read_msg) + LOG_READ_CHUNK <= IMSG_MAX_PAYLOAD,
	       "a read chunk fits one imsg");
_Static_assert(sizeof(struct log_proof_msg) <= IMSG_MAX_PAYLOAD, "a proof fits one imsg");
_Static_assert(sizeof(struct log_found_msg) <= IMSG_MAX_PAYLOAD, "a find answer fits one imsg");
_Static_assert(MERKLE_MAX_PROOF <= LOG_PROOF_MAX, "every proof fits");
_Static_assert(LOG_CHECKPOINT_NOTE_MAX == LOG_SIGNED_CHECKPOINT_MAX, "one note size");

static void on_proof_req(struct logd *d, enum logd_chan chan)
{
	struct log_proof_msg *m = (struct log_proof_msg *)d->reply;
	struct log_proof_req_msg q;
	int n = -EBADMSG;

	memset(m, 0, sizeof *m);
	if (d->msg.nfds != 0 || imsg_get(&d->msg, IMSG_LOG_PROOF_REQ, &q, sizeof q) < 0 ||
	    (q.kind != LOG_PROOF_INCLUSION && q.kind != LOG_PROOF_CONSISTENCY)) {
		malformed(d, chan, "a proof request");
	} else if (!d->store_open || d->failed) {
		n = -EIO;
	} else if (q.b > committed(d)) {
		n = -ENOENT;
	} else if (q.kind == LOG_PROOF_INCLUSION ? q.a >= q.b : q.a > q.b) {
		n = -EINVAL;
	} else if ((n = logstore_root(&d->store, q.b, m->root)) == 0) {
		n = q.kind == LOG_PROOF_INCLUSION ?
		    merkle_inclusion_proof(q.a, q.b, logstore_node, &d->store, m->hash) :
		    merkle_consistency_proof(q.a, q.b, logstore_node, &d->store, m->hash);
	}
	if (n < 0) {
		memset(m, 0, sizeof *m);
		m->error = n;
	} else {
		m->count = (uint32_t)n;
	}
	send_to(d, chan, IMSG_LOG_PROOF, d->msg.hdr.id, m, sizeof *m);
}

static void on_find_req(struct logd *d, enum logd_chan chan)
{
	struct log_found_msg *m = (struct log_found_msg *)d->reply;
	struct log_find_req_msg q;
	uint64_t size = committed(d);
	size_t n;

	memset(m, 0, sizeof *m);
	if (d->msg.nfds != 0 || imsg_get(&d->msg, IMSG_LOG_FIND_REQ, &q, sizeof q) < 0 ||
	    (n = strnlen(q.function, sizeof q.function)) == 0 || n == sizeof q.function ||
	    (q.by != LOG_FIND_FUNCTION && q.by != LOG_FIND_INVOCATION)) {
		malformed(d, chan, "a find request");
		m->error = -EBADMSG;
	} else if (!d->store_open || d->failed) {
		m->error = -EIO;
	} else {
		const struct logd_index *x = q.by == LOG_FIND_INVOCATION ? &d->by_inv : &d->by_fn;
		const struct logd_fn *f = x->cap ? fn_slot(x->t, x->cap, q.function, n) : NULL;
		uint64_t lo = 0, hi = f && f->id ? f->len : 0;
		/* the first of the function's indices at or after from */
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;
			if (f->idx[mid] < q.from)
				lo = mid + 1;
			else
				hi = mid;
		}
		m->next = size;
		m->entry = f && f->id && f->has_entry && f->entry < size && q.by == LOG_FIND_INVOCATION ?
			   f->entry : LOG_FIND_NO_ENTRY;
		for (; f && f->id && lo < f->len && f->idx[lo] < size; lo++) {
			if (m->count == LOG_FIND_MAX) {
				m->next = f->idx[lo];
				break;
			}
			m->index[m->count++] = f->idx[lo];
		}
	}
	send_to(d, chan, IMSG_LOG_FOUND, d->msg.hdr.id, m, sizeof *m);
}

/* --- channels ---------------------------------------------------------------------- */

void logd_set_peer(struct logd *d, enum logd_chan chan, int fd)
{
	if (d->fd[chan] >= 0 && chan != LOGD_CHAN_INIT)
		close(d->fd[chan]);
	d->fd[chan] = fd;
	d->gen[chan]++;   /* replies owed on the old channel are dropped */
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			dlog("channel to %s: %s", chan_name[chan], strerror(errno));
	}
	if (chan != LOGD_CHAN_KEYD)
		return;
	/* a new keyd knows nothing of the old one's requests */
	d->boot_asked = false;
	if (d->signing) {
		d->signing = false;
		d->sign_at_ms = 0;
	}
	if (fd < 0)
		answer_waiters(d, -EAGAIN);
	else
		ask_boot(d);
}

static void on_peer_channel(struct logd *d)
{
	struct peer_channel_msg pc;
	int fd;

	if (imsg_get(&d->msg, IMSG_PEER_CHANNEL, &pc, sizeof pc) < 0 || d->msg.nfds != 1 ||
	    (pc.peer != ROLE_NETD && pc.peer != ROLE_KEYD && pc.peer != ROLE_SANDBOXD)) {
		dlog("unexpected message type %u from init", d->msg.hdr.type);
		return;
	}
	enum logd_chan chan = pc.peer == ROLE_NETD ? LOGD_CHAN_NETD :
			      pc.peer == ROLE_KEYD ? LOGD_CHAN_KEYD : LOGD_CHAN_SANDBOXD;
	fd = imsg_take_fd(&d->msg, 0);
	dlog("channel to %s #%u", chan_name[chan], pc.generation);
	logd_set_peer(d, chan, fd);
}

static void dispatch(struct logd *d, enum logd_chan chan)
{
	uint32_t type = d->msg.hdr.type;

	if (chan == LOGD_CHAN_INIT) {
		if (type == IMSG_PEER_CHANNEL)
			on_peer_channel(d);
		else
			malformed(d, chan, "a message");
	} else if (chan == LOGD_CHAN_KEYD) {
		if (type == IMSG_LOG_BOOT_REPLY)
			on_boot_reply(d);
		else if (type == IMSG_LOG_SIGN_REPLY)
			on_sign_reply(d);
		else
			malformed(d, chan, "a message");
	} else if (type == IMSG_LOG_APPEND || type == IMSG_LOG_APPEND_LAZY) {
		on_append(d, chan, type == IMSG_LOG_APPEND_LAZY);
	} else if (type == IMSG_LOG_CHECKPOINT_REQ) {
		on_checkpoint_req(d, chan);
	} else if (type == IMSG_LOG_READ_REQ) {
		on_read_req(d, chan);
	} else if (type == IMSG_LOG_PROOF_REQ) {
		on_proof_req(d, chan);
	} else if (type == IMSG_LOG_FIND_REQ) {
		on_find_req(d, chan);
	} else {
		malformed(d, chan, "a message of an unknown type");
	}
}

struct logd_reader {
	struct logd *d;
	enum logd_chan chan;
};

static void read_msg(void *ctx, struct imsg *msg)
{
	struct logd_reader *rd = ctx;
	(void)msg;   /* d->msg */
	dispatch(rd->d, rd->chan);
}

static void read_bad(void *ctx, int err)
{
	struct logd_reader *rd = ctx;
	(void)err;
	malformed(rd->d, rd->chan, "an unreadable message");
}

int logd_readable(struct logd *d, enum logd_chan chan)
{
	struct logd_reader rd = { d, chan };
	const struct imsg_sink sink = { read_msg, read_bad, &rd };

	return imsg_drain(&d->fd[chan], &d->msg, LOGD_MSG_BUDGET, &sink);
}

void logd_end_round(struct logd *d, uint64_t now_ms)
{
	/* appends nothing waits for: synced LOG_APPEND_LAZY_MS after the
	 * first round that saw them, or with the first that something waits
	 * for (one sync instead of two: a proxied request's record follows
	 * the last response's within a round trip) */
	if (d->nowed > 0 && d->nowed_awaited == 0 && d->lazy_until == 0)
		d->lazy_until = now_ms + LOG_APPEND_LAZY_MS;
	if (d->nowed_awaited > 0 || now_ms >= d->lazy_until)
		commit(d);
	report(d);
	maybe_sign(d, now_ms);
}

int logd_wait_ms(const struct logd *d, uint64_t now_ms)
{
	if (d->nowed == 0)
		return -1;
	return d->lazy_until > now_ms ? (int)(d->lazy_until - now_ms) : 0;
}

void logd_sync_now(struct logd *d)
{
	commit(d);
}

/* --- the role --------------------------------------------------------------------- */

/* ~4.3 MiB with its read buffer: not on the stack */
static struct logd D;

static int read_config(struct logd_config_msg *cfg)
{
	for (;;) {
		int r = imsg_recv(ROLE_INIT_FD, &D.msg);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		r = imsg_get(&D.msg, IMSG_LOGD_CONFIG, cfg, sizeof *cfg);
		imsg_close_fds(&D.msg);
		return r;
	}
}

static int ep_add(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

#define TAG_TIMER LOGD_CHAN_COUNT

static int loop(int ep, int tfd)
{
	/* the generation of each channel in the epoll set: a new channel may
	 * reuse the number of one closed in the same round */
	uint32_t in_set[LOGD_CHAN_COUNT];
	struct epoll_event evs[8];

	memcpy(in_set, D.gen, sizeof in_set);

	for (;;) {
		int n = epoll_wait(ep, evs, 8, logd_wait_ms(&D, mono_ms()));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			uint32_t tag = evs[i].data.u32;
			uint64_t ticks;
			if (tag == TAG_TIMER) {
				/* the round's end signs, if a checkpoint is due */
				if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
					return -errno;
				continue;
			}
			if (logd_readable(&D, (enum logd_chan)tag) != -EPIPE)
				continue;
			if (tag == LOGD_CHAN_INIT) {
				dlog("init closed the channel, exiting");
				logd_sync_now(&D);   /* the lazy appends too */
				logd_end_round(&D, mono_ms());
				return 0;
			}
			dlog("%s closed its channel", chan_name[tag]);
			logd_set_peer(&D, (enum logd_chan)tag, -1);   /* closed: left the set */
		}
		logd_end_round(&D, mono_ms());
		/* channels init handed over this round join the set */
		for (unsigned c = 0; c < LOGD_CHAN_COUNT; c++) {
			if (D.gen[c] == in_set[c])
				continue;
			in_set[c] = D.gen[c];
			if (D.fd[c] >= 0 && ep_add(ep, D.fd[c], c) < 0)
				return -errno;
		}
	}
}

int logd_main(void)
{
	struct logd_config_msg cfg;
	char err[ERRBUF_LEN];
	int ep, tfd, r;

	r = read_config(&cfg);
	if (r < 0) {
		dlog("reading the configuration from init: %s", strerror(-r));
		return 1;
	}
	if (cfg.checkpoint_interval_ms == 0)
		cfg.checkpoint_interval_ms = 1000;
#ifdef DSHIELD_BENCH_LOG_DISCARD
	dlog("BENCH BUILD: LOGGING OFF: the proxy's records are acknowledged and dropped");
#endif
	if (logd_open(&D, &cfg, LOGD_STORE_DIR, err) < 0)
		dlog("store %s: FAILED: %s; every append is refused", LOGD_STORE_DIR, err);
	else
		dlog("store %s: %llu entries, %zu functions and %zu invocations indexed",
		     LOGD_STORE_DIR, (unsigned long long)logstore_committed(&D.store), D.by_fn.used,
		     D.by_inv.used);
	D.fd[LOGD_CHAN_INIT] = ROLE_INIT_FD;
	report(&D);

	struct itimerspec it = {
		.it_interval = { cfg.checkpoint_interval_ms / 1000,
				 (long)(cfg.checkpoint_interval_ms % 1000) * 1000000L },
	};
	it.it_value = it.it_interval;
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0 || fcntl(ROLE_INIT_FD, F_SETFL, O_NONBLOCK) != 0 ||
	    timerfd_settime(tfd, 0, &it, NULL) != 0 || ep_add(ep, ROLE_INIT_FD, LOGD_CHAN_INIT) < 0 ||
	    ep_add(ep, tfd, TAG_TIMER) < 0) {
		dlog("event loop: %s", strerror(errno));
		return 1;
	}
	r = loop(ep, tfd);
	if (r < 0)
		dlog("event loop: %s", strerror(-r));
	logd_close(&D);
	return r < 0 ? 1 : 0;
}
