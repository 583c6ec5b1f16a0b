/* sandboxd/sandboxd.c: see sandboxd.h; the protocol as served is
 * docs/SANDBOXD.md. */
#include "sandboxd/sandboxd.h"
#include "crypto/log_entry.h"
#include "crypto/utc_time.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/jsonw.h"
#include "lib/log.h"
#include "lib/random.h"
#include "proto/fn_frame.h"
#include "proto/logd.h"
#include "proto/sandboxd_keyd.h"
#include "sandboxd/fn_seccomp.h"
#include "sandboxd/sandbox.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* epoll tags: kind in the high 32 bits, the channel or worker slot below */
enum { TAG_CHAN = 1, TAG_PID, TAG_SOCK, TAG_LOG, TAG_TIMER };
#define TAG(k, i) ((uint64_t)(k) << 32 | (uint32_t)(i))

#define PEND_MAX_MS 10000u         /* keyd and logd answer within this, or the change is refused */
#define WORKER_PY   "/usr/lib/dshield/dshield_worker.py"
#define WORKER_JS   "/usr/lib/dshield/dshield_worker.mjs"


_Static_assert(SANDBOXD_NOFILE >= SBXD_FN_MAX * (SBX_LISTENERS_MAX + 2) + SBXD_WORKERS_MAX * 7 +
		       (SBX_LISTENERS_MAX + 3) + 256,
	       "SANDBOXD_NOFILE holds every function's and worker's descriptors");
static const char *const chan_name[SBXD_CHAN_COUNT] = { "init", "netd", "keyd", "logd" };

static void malformed(struct sandboxd *sd, enum sbxd_chan chan, const char *what)
{
	if (sd->malformed++ % 1000 == 0)
		dlog("refused %s from %s (%llu refused so far)", what, chan_name[chan],
		     (unsigned long long)sd->malformed);
}

static int ep_set(struct sandboxd *sd, int op, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(sd->ep, op, fd, &ev) == 0 ? 0 : -errno;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- replies ------------------------------------------------------------------------- */

static struct sbx_reply_msg *reply_begin(struct sandboxd *sd)
{
	struct sbx_reply_msg *m = (struct sbx_reply_msg *)sd->reply;

	memset(m, 0, sizeof *m);
	return m;
}

static void send_netd(struct sandboxd *sd, uint32_t type, uint32_t id, const void *p, size_t len,
		      const int *fds, unsigned nfds)
{
	int r;

	if (sd->fd[SBXD_CHAN_NETD] < 0)
		return;
	r = imsg_send(sd->fd[SBXD_CHAN_NETD], type, id, p, len, fds, nfds);
	if (r < 0)
		dlog("cannot answer netd (message type %u): %s", type, strerror(-r));
}

/* Sends netd the values of the secrets that the inject_headers of
 * function fi's declared rules name (IMSG_SBX_INJECT; none when gone):
 * only those that exist and fit SBX_INJECT_VALUE_MAX; a missing one is
 * refused by netd's proxy (secret_missing). The function never gets them. */
static void inject_announce(struct sandboxd *sd, unsigned fi, bool gone)
{
	const struct sbxd_fn *f = &sd->fns[fi];
	uint8_t buf[sizeof(struct sbx_inject_msg) +
		    SBX_INJECT_MAX * (sizeof(struct sbx_inject_item) + SBX_INJECT_VALUE_MAX)];
	struct sbx_inject_msg m;
	size_t at = sizeof m;
	char err[ERRBUF_LEN];

	memset(&m, 0, sizeof m);
	snprintf(m.function, sizeof m.function, "%s", f->d.id);
	for (unsigned k = 0; !gone && k < sd->policy.nrules && k < 32; k++) {
		const struct policy_rule *r = &sd->policy.rules[k];
		if (!(f->d.egress_rules & (1u << k)))
			continue;
		for (unsigned j = 0; j < r->ninject && m.n < SBX_INJECT_MAX; j++) {
			struct sbx_inject_item it;
			size_t len, o = sizeof m;
			bool dup = false;
			for (unsigned i = 0; i < m.n && !dup; i++, o += sizeof it + it.len) {
				memcpy(&it, buf + o, sizeof it);
				dup = strcmp(it.name, r->inject[j].secret) == 0;
			}
			if (dup || store_secret_get(&sd->st, r->inject[j].secret, sd->secret,
						    sizeof sd->secret, &len, NULL, NULL, err) < 0 ||
			    len > SBX_INJECT_VALUE_MAX)
				continue;
			memset(&it, 0, sizeof it);
			snprintf(it.name, sizeof it.name, "%s", r->inject[j].secret);
			it.len = (uint32_t)len;
			memcpy(buf + at, &it, sizeof it);
			memcpy(buf + at + sizeof it, sd->secret, len);
			at += sizeof it + len;
			m.n++;
		}
	}
	explicit_bzero(sd->secret, sizeof sd->secret);
	memcpy(buf, &m, sizeof m);
	send_netd(sd, IMSG_SBX_INJECT, 0, buf, at, NULL, 0);
	explicit_bzero(buf, sizeof buf);
}

/* The same for every function (a secret was put or deleted). */
static void inject_all(struct sandboxd *sd)
{
	for (unsigned i = 0; i < SBXD_FN_MAX; i++)
		if (sd->fns[i].used)
			inject_announce(sd, i, false);
}

/* Tells netd of function fi's egress (proto/netd_sandboxd.h): NEW with
 * its listeners (and MORE messages for the rest), RULES or GONE; then
 * the values its rules inject (inject_announce). */
static void egress_announce(struct sandboxd *sd, unsigned fi, uint8_t op)
{
	const struct sbxd_fn *f = &sd->fns[fi];
	struct sbx_egress_msg m;
	unsigned i = 0;

	memset(&m, 0, sizeof m);
	snprintf(m.function, sizeof m.function, "%s", f->d.id);
	m.egress_rules = f->d.egress_rules;
	m.egress_kbps = f->d.limits.egress_kbps;
	m.egress_conns = f->d.limits.egress_conns;
	do {
		unsigned k = op != SBX_EGRESS_NEW ? 0 :
			     sd->nwant - i < SBX_EGRESS_FDS ? sd->nwant - i : SBX_EGRESS_FDS;
		m.op = op == SBX_EGRESS_NEW && i > 0 ? SBX_EGRESS_MORE : op;
		m.nlisteners = (uint8_t)k;
		memset(m.l, 0, sizeof m.l);
		memcpy(m.l, sd->want + i, k * sizeof m.l[0]);
		send_netd(sd, IMSG_SBX_EGRESS, 0, &m, sizeof m, f->lfd + i, k);
		i += k;
	} while (i < sd->nwant && op == SBX_EGRESS_NEW);
	inject_announce(sd, fi, op == SBX_EGRESS_GONE);
}

/* An error reply: status, API code, one line for the client. */
__attribute__((format(printf, 6, 7)))
static void reply_err(struct sandboxd *sd, uint32_t id, int err, uint16_t status, const char *code,
		      const char *fmt, ...)
{
	struct sbx_reply_msg *m = reply_begin(sd);
	va_list ap;

	m->error = err < 0 ? err : -EINVAL;
	m->status = status;
	snprintf(m->code, sizeof m->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(m->message, sizeof m->message, fmt, ap);
	va_end(ap);
	send_netd(sd, IMSG_SBX_REPLY, id, m, sizeof *m, NULL, 0);
}

/* A body reply: inline when it fits, else in a sealed memfd. */
static void reply_body(struct sandboxd *sd, uint32_t id, uint16_t status, const void *body,
		       size_t len, uint64_t first)
{
	struct sbx_reply_msg *m = reply_begin(sd);
	int fd;

	m->status = status;
	m->body_len = len;
	m->worker = first;
	if (len <= SBX_INLINE_MAX) {
		memcpy(sd->reply + sizeof *m, body, len);
		send_netd(sd, IMSG_SBX_REPLY, id, m, sizeof *m + len, NULL, 0);
		return;
	}
	fd = memfd_create("sbx-body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || file_write_all(fd, body, len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		reply_err(sd, id, -e, 500, "internal", "cannot hand over the body: %s", strerror(e));
		return;
	}
	m->body_in_fd = 1;
	send_netd(sd, IMSG_SBX_REPLY, id, m, sizeof *m, &fd, 1);
	close(fd);
}

/* The JSON in sd->body, or a 500 when it did not fit. */
static void reply_json(struct sandboxd *sd, uint32_t id, uint16_t status, struct jsonw *w)
{
	long n = jw_finish(w);

	if (n < 0) {
		reply_err(sd, id, (int)n, 500, "internal", "the answer does not fit (%s)",
			  strerror((int)-n));
		return;
	}
	reply_body(sd, id, status, sd->body, (size_t)n, 0);
}

/* --- functions in memory --------------------------------------------------------------- */

static int fn_find(const struct sandboxd *sd, const char *id)
{
	for (unsigned i = 0; i < SBXD_FN_MAX; i++)
		if (sd->fns[i].used && strcmp(sd->fns[i].d.id, id) == 0)
			return (int)i;
	return -1;
}

static int fn_free_slot(const struct sandboxd *sd)
{
	for (unsigned i = 0; i < SBXD_FN_MAX; i++)
		if (!sd->fns[i].used)
			return (int)i;
	return -1;
}

static void ring_append(struct sbxd_ring *r, const uint8_t *p, size_t n)
{
	if (r->buf == NULL)
		return;
	if (n > SBXD_LOG_RING) {   /* only the newest bytes can stay */
		r->end += n - SBXD_LOG_RING;
		p += n - SBXD_LOG_RING;
		n = SBXD_LOG_RING;
	}
	for (size_t done = 0; done < n;) {
		size_t at = (size_t)(r->end % SBXD_LOG_RING);
		size_t k = SBXD_LOG_RING - at < n - done ? SBXD_LOG_RING - at : n - done;
		memcpy(r->buf + at, p + done, k);
		done += k;
		r->end += k;
	}
}

/* The code directory of slot i: WORK/code/<id>, holding function.py,
 * function.js or function (native), copied from the store. */
static int code_dir(const struct sandboxd *sd, const struct fn_decl *d, char *out, size_t cap)
{
	if ((size_t)snprintf(out, cap, "%s/code/%s", sd->work_root, d->id) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

static const char *code_file(enum policy_runtime rt)
{
	return rt == POLICY_RT_PYTHON ? "function.py" : rt == POLICY_RT_NODE ? "function.js" : "function";
}

/* The code goes into the function's code directory in two steps: staged
 * (written to ".tmp" from fd, offset 0), then committed (renamed over
 * the code file) once the store holds the function, so a worker starting
 * meanwhile reads the old code or the new, never a mix, and a failed
 * stage leaves the store untouched. The directory is 0755 root's: the
 * worker (another uid) reads it through its read-only bind, and sandboxd
 * needs no DAC_OVERRIDE to write it. The bytes must be the declaration's
 * (size and SHA-256), else -EBADMSG: what is run is what was measured, even
 * when the store's copy changed under it (dm-crypt does not authenticate
 * the data disk, docs/STORE.md). */
static int code_stage(struct sandboxd *sd, const struct fn_decl *d, int fd)
{
	char dir[STORE_PATH_MAX + 96], tmp[STORE_PATH_MAX + 128];
	uint8_t buf[1 << 16], got[32];
	br_sha256_context h;
	uint64_t total = 0;
	ssize_t n;
	int out, r = 0;

	if (code_dir(sd, d, dir, sizeof dir) < 0)
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof tmp, "%s/.tmp", dir);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return -errno;
	errno = 0;
	br_sha256_init(&h);
	for (off_t off = 0; (n = pread(fd, buf, sizeof buf, off)) != 0; off += n) {
		if (n < 0 || file_write_all(out, buf, (size_t)n) < 0) {
			r = -(errno ? errno : EIO);
			break;
		}
		br_sha256_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	br_sha256_out(&h, got);
	if (r == 0 && (total != d->code_bytes || !fn_hash_equal(got, d->code_sha256)))
		r = -EBADMSG;
	if (r == 0 && fchmod(out, d->runtime == POLICY_RT_NATIVE ? 0555 : 0444) != 0)
		r = -errno;
	close(out);
	if (r < 0)
		unlink(tmp);
	return r;
}

static int code_commit(struct sandboxd *sd, const struct fn_decl *d)
{
	char dir[STORE_PATH_MAX + 96], tmp[STORE_PATH_MAX + 128], dst[STORE_PATH_MAX + 128];

	if (code_dir(sd, d, dir, sizeof dir) < 0)
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof tmp, "%s/.tmp", dir);
	snprintf(dst, sizeof dst, "%s/%s", dir, code_file(d->runtime));
	return rename(tmp, dst) == 0 ? 0 : -errno;
}

static void code_remove(struct sandboxd *sd, const struct fn_decl *d)
{
	char dir[STORE_PATH_MAX + 96], p[STORE_PATH_MAX + 128];

	if (code_dir(sd, d, dir, sizeof dir) < 0)
		return;
	snprintf(p, sizeof p, "%s/%s", dir, code_file(d->runtime));
	unlink(p);
	rmdir(dir);
}

/* The function's netns and cgroup (made when missing). */
static void lfds_none(int *lfd)
{
	for (unsigned i = 0; i < SBX_LISTENERS_MAX; i++)
		lfd[i] = -1;
}

/* A free function slot: nothing held (every descriptor -1). */
static void fn_slot_reset(struct sbxd_fn *f)
{
	memset(f, 0, sizeof *f);
	f->netns = f->cg = -1;
	lfds_none(f->lfd);
}

static int fn_make_env(struct sandboxd *sd, const char *id, int *netns, int *cg, int *lfd,
		       char err[ERRBUF_LEN])
{
	char name[FN_ID_MAX + 4];
	int r;

	*netns = -1;
	*cg = -1;
	lfds_none(lfd);
	if ((r = sandbox_netns_create(netns, sd->want, sd->nwant, lfd, err, ERRBUF_LEN)) < 0)
		return r;
	if (!sd->have_cg)
		return 0;
	snprintf(name, sizeof name, "fn-%s", id);
	r = cg_create(sd->cgr.fd, name, sd->cgr.enforced, cg, err, ERRBUF_LEN);
	if (r < 0) {
		close_fd(netns);
		for (unsigned i = 0; i < SBX_LISTENERS_MAX; i++)
			close_fd(&lfd[i]);
	}
	return r;
}

static void fn_drop_env(struct sandboxd *sd, const char *id, int *netns, int *cg, int *lfd)
{
	char name[FN_ID_MAX + 4], err[ERRBUF_LEN];

	close_fd(netns);
	for (unsigned i = 0; i < SBX_LISTENERS_MAX; i++)
		close_fd(&lfd[i]);
	if (*cg >= 0) {
		close_fd(cg);
		snprintf(name, sizeof name, "fn-%s", id);
		if (cg_remove(sd->cgr.fd, name, err, sizeof err) < 0)
			dlog("cgroup %s: %s", name, err);
	}
}

/* --- workers ------------------------------------------------------------------------- */

static struct sbxd_worker *worker_by_id(struct sandboxd *sd, uint64_t id)
{
	for (unsigned i = 0; i < SBXD_WORKERS_MAX; i++)
		if (sd->w[i].state != SBXD_W_FREE && sd->w[i].id == id)
			return &sd->w[i];
	return NULL;
}

static void worker_kill(struct sandboxd *sd, struct sbxd_worker *w)
{
	char err[ERRBUF_LEN];

	if (w->state == SBXD_W_DYING || w->state == SBXD_W_FREE)
		return;
	w->state = SBXD_W_DYING;
	/* the whole cgroup at once: whatever the worker forked dies with it */
	if (w->cg >= 0 && cg_kill(w->cg, err, sizeof err) == 0)
		return;
	if (syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0) != 0 && errno != ESRCH)
		dlog("cannot kill worker %llu: %s", (unsigned long long)w->id, strerror(errno));
	(void)sd;
}

static void arm(struct sbxd_worker *w, uint32_t ms)
{
	struct itimerspec it = { .it_value = { ms / 1000, (long)(ms % 1000) * 1000000L } };

	if (ms == 0)
		it.it_value.tv_nsec = 1;
	timerfd_settime(w->timer, 0, &it, NULL);
}

static void disarm(struct sbxd_worker *w)
{
	struct itimerspec it = { { 0, 0 }, { 0, 0 } };

	timerfd_settime(w->timer, 0, &it, NULL);
}

/* Hands a warm or native worker to netd in the reply to request id. */
static void hand_out(struct sandboxd *sd, struct sbxd_worker *w, uint32_t id)
{
	struct sbxd_fn *f = &sd->fns[w->fn];
	struct sbx_reply_msg *m = reply_begin(sd);
	int fds[2];
	unsigned nfds;

	m->status = 200;
	m->worker = w->id;
	m->worker_kind = w->native ? SBX_WORKER_NATIVE : SBX_WORKER_FRAMES;
	m->timeout_ms = f->d.limits.timeout_ms;
	m->output_max = f->d.limits.output_kb * 1024u;
	memcpy(m->code_sha256, f->d.code_sha256, sizeof m->code_sha256);
	snprintf(m->runtime, sizeof m->runtime, "%s", policy_runtime_name(f->d.runtime));
	snprintf(m->handler, sizeof m->handler, "%s", f->d.handler);
	if (w->native) {
		fds[0] = w->in_w;
		fds[1] = w->out_r;
		nfds = 2;
	} else {
		fds[0] = w->sock;
		nfds = 1;
	}
	w->state = SBXD_W_BUSY;
	w->done = false;
	w->out = true;
	arm(w, f->d.limits.timeout_ms);
	send_netd(sd, IMSG_SBX_REPLY, id, m, sizeof *m, fds, nfds);
	/* netd holds the native pipes now; ours would keep them open */
	if (w->native) {
		close_fd(&w->in_w);
		close_fd(&w->out_r);
	}
}

static void worker_free(struct sandboxd *sd, struct sbxd_worker *w)
{
	char err[ERRBUF_LEN];
	struct sbxd_fn *f = &sd->fns[w->fn];

	if (w->logfd >= 0) {   /* what it wrote last still counts */
		uint8_t buf[4096];
		ssize_t n;
		int k = 0;
		while (k++ < 16 && (n = read(w->logfd, buf, sizeof buf)) > 0)
			ring_append(&f->log, buf, (size_t)n);
	}
	close_fd(&w->pidfd);
	close_fd(&w->sock);
	close_fd(&w->logfd);
	close_fd(&w->timer);
	close_fd(&w->in_w);
	close_fd(&w->out_r);
	if (w->cg >= 0) {
		cg_kill(w->cg, err, sizeof err);   /* stragglers outside its pid namespace: none, but */
		close_fd(&w->cg);
		if (f->cg >= 0 && cg_remove(f->cg, w->cg_name, err, sizeof err) < 0)
			dlog("cgroup %s: %s", w->cg_name, err);
	}
	if (f->workers > 0)
		f->workers--;
	memset(w, 0, sizeof *w);
	w->state = SBXD_W_FREE;
	w->pidfd = w->sock = w->logfd = w->timer = w->cg = w->in_w = w->out_r = -1;
}

/* The worker's pidfd is readable: it ended. */
static void on_worker_exit(struct sandboxd *sd, struct sbxd_worker *w)
{
	struct sbx_worker_end_msg end = { .worker = w->id };
	struct cg_events ev = { 0 };
	char err[ERRBUF_LEN];
	int status = 0;
	pid_t r = waitpid(w->pid, &status, WNOHANG);

	if (r == 0)
		return;   /* spurious */
	if (r < 0 && errno != ECHILD)
		return;
	sd->ended++;
	if (WIFSIGNALED(status)) {
		end.reason = SBX_END_SIGNAL;
		end.status = WTERMSIG(status);
	} else {
		end.reason = SBX_END_EXIT;
		end.status = WEXITSTATUS(status);
	}
	if (w->cg >= 0 && cg_read_events(w->cg, &ev, err, sizeof err) == 0) {
		if (ev.oom_kill > 0)
			end.reason = SBX_END_OOM;
		else if (ev.pids_max > 0 && end.reason == SBX_END_SIGNAL)
			end.reason = SBX_END_PIDS;
	}
	if (w->timed_out)
		end.reason = SBX_END_TIMEOUT;
	if (w->waiting) {
		/* it never became ready: the invoke waiting on it fails */
		if (w->wait_gen == sd->gen[SBXD_CHAN_NETD] && w->timed_out)
			reply_err(sd, w->wait_id, -ETIMEDOUT, 500, "load_error",
				  "the worker was not ready within %u ms", SBXD_HELLO_MS);
		else if (w->wait_gen == sd->gen[SBXD_CHAN_NETD])
			reply_err(sd, w->wait_id, -ECHILD, 500, "load_error",
				  "the worker ended before it was ready (%s %d)",
				  end.reason == SBX_END_EXIT ? "exit status" : "signal", end.status);
	} else if (w->out) {
		/* handed out and not given back: netd must learn how it ended */
		send_netd(sd, IMSG_SBX_WORKER_END, 0, &end, sizeof end, NULL, 0);
	}
	worker_free(sd, w);
}

/* The argv of a runtime's worker. */
static void worker_argv(const struct fn_decl *d, char **argv)
{
	size_t n = 0;

	switch (d->runtime) {
	case POLICY_RT_PYTHON:
		argv[n++] = "/usr/bin/python3";
		argv[n++] = "-I";
		argv[n++] = WORKER_PY;
		argv[n++] = "--code";
		argv[n++] = "/code/function.py";
		break;
	case POLICY_RT_NODE:
		argv[n++] = "/usr/bin/node";
		argv[n++] = WORKER_JS;
		argv[n++] = "--code";
		argv[n++] = "/code/function.js";
		break;
	default:
		argv[n++] = "/code/function";
		argv[n] = NULL;
		return;
	}
	argv[n++] = "--handler";
	argv[n++] = (char *)d->handler;
	argv[n] = NULL;
}

/* "NAME=value" of each declared secret, in buf; a missing secret is an
 * error (the function asked for it by name). */
static int secrets_env(struct sandboxd *sd, const struct fn_decl *d, char **env, char *buf,
		       size_t cap, char err[ERRBUF_LEN])
{
	size_t used = 0;

	for (unsigned i = 0; i < d->nsecrets; i++) {
		size_t len, nl = strlen(d->secrets[i]);
		int r = store_secret_get(&sd->st, d->secrets[i], sd->secret, sizeof sd->secret, &len,
					 NULL, NULL, err);
		if (r == -ENOENT)
			return errbuf_set(err, ERRBUF_LEN, r, "secret %s is not set", d->secrets[i]);
		if (r < 0) {
			char why[ERRBUF_LEN];
			snprintf(why, sizeof why, "%s", err);
			return errbuf_set(err, ERRBUF_LEN, r, "secret %s is unreadable: %s",
					  d->secrets[i], why);
		}
		if (used + nl + 1 + len + 1 > cap)
			return errbuf_set(err, ERRBUF_LEN, -E2BIG, "the secrets do not fit the environment (%u bytes)",
					  SANDBOX_ENV_LEN);
		env[i] = buf + used;
		memcpy(buf + used, d->secrets[i], nl);
		buf[used + nl] = '=';
		memcpy(buf + used + nl + 1, sd->secret, len);
		buf[used + nl + 1 + len] = '\0';
		used += nl + 1 + len + 1;
	}
	env[d->nsecrets] = NULL;
	explicit_bzero(sd->secret, sizeof sd->secret);
	return 0;
}

static struct sbxd_worker *worker_slot(struct sandboxd *sd)
{
	for (unsigned i = 0; i < SBXD_WORKERS_MAX; i++) {
		struct sbxd_worker *w = &sd->w[i];
		if (w->state == SBXD_W_FREE) {
			memset(w, 0, sizeof *w);
			w->pidfd = w->sock = w->logfd = w->timer = w->cg = w->in_w = w->out_r = -1;
			return w;
		}
	}
	return NULL;
}

/* Spawns a worker of function fi. Frames workers wait for HELLO; native
 * ones are ready at once (their pipes in in_w/out_r). */
uint64_t sandboxd_worker_nproc(const struct fn_decl *d, bool cgroup_enforced)
{
	return cgroup_enforced ? (uint64_t)d->limits.pids * d->concurrency + 1 : d->limits.pids;
}

static int worker_spawn(struct sandboxd *sd, unsigned fi, struct sbxd_worker **out,
			char err[ERRBUF_LEN])
{
	struct sbxd_fn *f = &sd->fns[fi];
	struct sbxd_worker *w = worker_slot(sd);
	struct sandbox_spec s;
	struct sandbox_proc p;
	char layer[STORE_PATH_MAX + 32], code[STORE_PATH_MAX + 96], root[STORE_PATH_MAX + 32];
	char data[FNDATA_PATH_MAX + FN_ID_MAX + 2];
	char *argv[8], *env[FN_MAX_SECRETS + 1];
	char envbuf[SANDBOX_ENV_LEN + 1];
	int sv[2] = { -1, -1 }, logp[2] = { -1, -1 }, in[2] = { -1, -1 }, outp[2] = { -1, -1 };
	int r;

	if (w == NULL)
		return errbuf_set(err, ERRBUF_LEN, -EAGAIN, "%u workers run already", SBXD_WORKERS_MAX);
	w->fn = fi;
	w->fn_gen = sd->fn_gen[fi];
	w->native = f->d.runtime == POLICY_RT_NATIVE;
	w->id = ++sd->next_worker;
	snprintf(layer, sizeof layer, "%s/%s", sd->paths.layers, policy_runtime_name(f->d.runtime));
	snprintf(root, sizeof root, "%s/root", sd->work_root);
	if (code_dir(sd, &f->d, code, sizeof code) < 0)
		return errbuf_set(err, ERRBUF_LEN, -ENAMETOOLONG, "code path too long");
	r = secrets_env(sd, &f->d, env, envbuf, sizeof envbuf, err);
	if (r < 0)
		goto fail;
	worker_argv(&f->d, argv);
	if (pipe2(logp, O_CLOEXEC) != 0 ||
	    (w->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    (w->native ? pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0 :
	     socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)) {
		r = errbuf_set(err, ERRBUF_LEN, -errno, "pipes: %s", strerror(errno));
		goto fail;
	}
	if (f->cg >= 0) {
		snprintf(w->cg_name, sizeof w->cg_name, "w-%llu", (unsigned long long)w->id);
		if ((r = cg_create(f->cg, w->cg_name, false, &w->cg, err, ERRBUF_LEN)) < 0)
			goto fail;
		struct cg_limits lim = {
			.memory_max = (uint64_t)f->d.limits.memory_mb << 20,
			.pids_max = f->d.limits.pids,
			.cpu_quota_us = f->d.limits.cpu_millicores * 100u,
			.cpu_period_us = 100000,
		};
		if (sd->cgr.enforced && (r = cg_set_limits(w->cg, &lim, err, ERRBUF_LEN)) < 0)
			goto fail;
	}
	memset(&s, 0, sizeof s);
	s.root_dir = root;
	s.layer_dir = layer;
	s.code_dir = code;
	s.uid = s.gid = SBXD_UID_BASE + fi;
	s.netns_fd = f->netns;
	s.cgroup_fd = w->cg;
	s.cgroup_enforced = sd->cgr.enforced && w->cg >= 0;
	s.tmp_size = (uint64_t)f->d.limits.tmp_mb << 20;
	if (s.tmp_size == 0)
		s.tmp_size = 1u << 20;
	if (f->d.limits.data_mb > 0) {
		uint64_t bytes = (uint64_t)f->d.limits.data_mb << 20;
		if (sd->data.dirfd < 0) {
			r = errbuf_set(err, ERRBUF_LEN, -ENOENT, "%s", sd->data_why);
			goto fail;
		}
		if ((r = fndata_prepare(&sd->data, f->d.id, s.uid, bytes, data, sizeof data, err)) < 0)
			goto fail;
		s.data_dir = data;
		/* RLIMIT_FSIZE defaults to /tmp's size: a file in /data may be as
		 * large as its quota */
		s.fsize = bytes > s.tmp_size ? bytes : s.tmp_size;
	}
	s.nproc = sandboxd_worker_nproc(&f->d, s.cgroup_enforced);
	s.argv = argv;
	s.secrets = env;
	s.filter = &sd->filter;
	s.cwd = "/tmp";
	s.ca_pem = sd->ca_pem[0] != '\0' ? sd->ca_pem : NULL;
	s.fds[0] = w->native ? in[0] : -1;
	s.fds[1] = w->native ? outp[1] : logp[1];
	s.fds[2] = logp[1];
	s.fds[3] = w->native ? -1 : sv[1];
	r = sandbox_spawn(&s, &p, err, ERRBUF_LEN);
	explicit_bzero(envbuf, sizeof envbuf);
	if (r < 0)
		goto fail;
	sd->spawned++;
	f->workers++;
	w->pid = p.pid;
	w->pidfd = p.pidfd;
	w->logfd = logp[0];
	close(logp[1]);
	logp[0] = logp[1] = -1;
	fcntl(w->logfd, F_SETFL, O_NONBLOCK);
	if (w->native) {
		close(in[0]);
		close(outp[1]);
		w->in_w = in[1];
		w->out_r = outp[0];
		w->state = SBXD_W_IDLE;
	} else {
		close(sv[1]);
		w->sock = sv[0];
		w->state = SBXD_W_STARTING;
		frame_reader_init(&w->fr, w->frame, sizeof w->frame, SBXD_HELLO_MAX,
				  FN_FRAME_BIT(FN_FRAME_HELLO) | FN_FRAME_BIT(FN_FRAME_LOAD_ERROR));
		fcntl(w->sock, F_SETFL, O_NONBLOCK);
		ep_set(sd, EPOLL_CTL_ADD, w->sock, TAG(TAG_SOCK, w - sd->w));
		arm(w, SBXD_HELLO_MS);
	}
	ep_set(sd, EPOLL_CTL_ADD, w->pidfd, TAG(TAG_PID, w - sd->w));
	ep_set(sd, EPOLL_CTL_ADD, w->logfd, TAG(TAG_LOG, w - sd->w));
	ep_set(sd, EPOLL_CTL_ADD, w->timer, TAG(TAG_TIMER, w - sd->w));
	*out = w;
	return 0;
fail:
	explicit_bzero(envbuf, sizeof envbuf);
	for (int i = 0; i < 2; i++) {
		close_fd(&sv[i]);
		close_fd(&logp[i]);
		close_fd(&in[i]);
		close_fd(&outp[i]);
	}
	close_fd(&w->timer);
	if (w->cg >= 0) {
		char e2[ERRBUF_LEN];
		close_fd(&w->cg);
		cg_remove(f->cg, w->cg_name, e2, sizeof e2);
	}
	w->state = SBXD_W_FREE;
	return r;
}

/* The worker's fd-3 socket has bytes before it was handed out: HELLO or
 * LOAD_ERROR. */
static void on_worker_sock(struct sandboxd *sd, struct sbxd_worker *w)
{
	uint8_t buf[512];
	ssize_t n;

	if (w->state != SBXD_W_STARTING)
		return;
	while ((n = recv(w->sock, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
		size_t off = 0;
		while (off < (size_t)n) {
			size_t used = 0;
			int r = frame_feed(&w->fr, buf + off, (size_t)n - off, &used);
			off += used;
			if (r < 0) {
				worker_kill(sd, w);   /* its reply comes with its end */
				return;
			}
			if (r == 0)
				break;
			ep_set(sd, EPOLL_CTL_DEL, w->sock, 0);
			if (w->fr.type == FN_FRAME_LOAD_ERROR) {
				char msg[160];
				size_t k = w->fr.len < sizeof msg - 1 ? w->fr.len : sizeof msg - 1;
				memcpy(msg, w->fr.buf, k);
				msg[k] = '\0';
				for (size_t i = 0; i < k; i++)
					if ((unsigned char)msg[i] < 0x20)
						msg[i] = ' ';
				if (w->wait_gen == sd->gen[SBXD_CHAN_NETD])
					reply_err(sd, w->wait_id, -ENOEXEC, 500, "load_error", "%s", msg);
				w->waiting = false;
				worker_kill(sd, w);
				return;
			}
			/* HELLO: ready. Bytes after it would be out of protocol. */
			disarm(w);
			w->waiting = false;
			if (w->wait_gen == sd->gen[SBXD_CHAN_NETD] && w->fn_gen == sd->fn_gen[w->fn])
				hand_out(sd, w, w->wait_id);
			else
				w->state = SBXD_W_IDLE;
			return;
		}
	}
	if (n == 0) {
		/* EOF before HELLO: its exit tells the rest */
		ep_set(sd, EPOLL_CTL_DEL, w->sock, 0);
	}
}

static void on_worker_log(struct sandboxd *sd, struct sbxd_worker *w)
{
	uint8_t buf[16384];
	ssize_t n;

	for (int i = 0; i < 4; i++) {   /* a budget: one chatty worker cannot starve the rest */
		n = read(w->logfd, buf, sizeof buf);
		if (n > 0) {
			ring_append(&sd->fns[w->fn].log, buf, (size_t)n);
			continue;
		}
		if (n == 0)
			close_fd(&w->logfd);   /* leaves the epoll set */
		return;
	}
}

static void on_worker_timer(struct sandboxd *sd, struct sbxd_worker *w)
{
	uint64_t ticks;

	if (read(w->timer, &ticks, sizeof ticks) != (ssize_t)sizeof ticks)
		return;
	/* a native process given back (DONE) but still running is killed at
	 * the limit too: it holds one of its function's slots */
	if (w->state == SBXD_W_STARTING || (w->state == SBXD_W_BUSY && (!w->done || w->native))) {
		w->timed_out = true;
		worker_kill(sd, w);
	}
}

/* --- the policy and the store ------------------------------------------------------------ */

/* The listeners every function's netns gets (proto/netd_sandboxd.h):
 * DNS over UDP and TCP, the explicit proxy, the kernel's resets (so that
 * a connection to a port nothing listens on is recorded too), then each
 * distinct port of the policy's rules in ascending order. A rule's port 53 or 3128 on
 * 0.0.0.0 would collide with the loopback listeners of those ports: such
 * a port is not listened on (the rule still serves CONNECT through the
 * proxy) and the start says so; so are ports past SBX_EGRESS_PORTS_MAX. */
static void egress_want(struct sandboxd *sd)
{
	bool seen[65536] = { false };
	unsigned n = 0;

	sd->want[n++] = (struct sbx_listener){ .kind = SBX_L_DNS_UDP, .port = 53 };
	sd->want[n++] = (struct sbx_listener){ .kind = SBX_L_DNS_TCP, .port = 53 };
	sd->want[n++] = (struct sbx_listener){ .kind = SBX_L_PROXY, .port = 3128 };
	sd->want[n++] = (struct sbx_listener){ .kind = SBX_L_RESETS, .port = 0 };
	for (unsigned r = 0; r < sd->policy.nrules; r++)
		for (unsigned k = 0; k < sd->policy.rules[r].nports; k++)
			seen[sd->policy.rules[r].ports[k]] = true;
	for (unsigned p = 1; p < 65536; p++) {
		if (!seen[p])
			continue;
		if (p == 53 || p == 3128 || n == SBX_LISTENERS_MAX) {
			dlog("egress: port %u of the policy gets no listener in a function's "
			     "network namespace (%s)", p,
			     n == SBX_LISTENERS_MAX ? "too many distinct ports" :
						      "taken by the DNS or proxy listener");
			continue;
		}
		sd->want[n++] = (struct sbx_listener){ .kind = SBX_L_PORT, .port = (uint16_t)p };
	}
	sd->nwant = n;
}

static int load_policy(struct sandboxd *sd, const struct sandboxd_config_msg *cfg)
{
	struct policy_tokens *toks;
	unsigned char *buf = NULL;
	size_t len;
	uint8_t h[32];
	br_sha256_context c;
	int r;

	if (!cfg->has_policy || sd->paths.policy == NULL)
		return errbuf_set(sd->why, sizeof sd->why, -ENOENT, "no policy: functions are not served");
	r = file_read_alloc(sd->paths.policy, POLICY_MAX_BYTES, &buf, &len);
	if (r < 0)
		return errbuf_set(sd->why, sizeof sd->why, r, "policy %s: %s", sd->paths.policy, strerror(-r));
	br_sha256_init(&c);
	br_sha256_update(&c, buf, len);
	br_sha256_out(&c, h);
	if (memcmp(h, cfg->policy_sha256, 32) != 0) {
		free(buf);
		return errbuf_set(sd->why, sizeof sd->why, -EBADMSG,
				  "policy %s: its SHA-256 is not the one init verified", sd->paths.policy);
	}
	toks = malloc(sizeof *toks);   /* scratch of ~64 KiB, once per start */
	r = toks == NULL ? errbuf_set(sd->why, sizeof sd->why, -ENOMEM, "out of memory") :
	    policy_parse((const char *)buf, len, toks, &sd->policy, sd->why, sizeof sd->why);
	free(toks);
	free(buf);
	if (r < 0)
		return r;
	sd->has_policy = true;
	egress_want(sd);
	return 0;
}

static void store_report(void *arg, const char *path, const char *why)
{
	(void)arg;
	dlog("store: %s: %s", path, why);
}

static void load_tokens(struct sandboxd *sd)
{
	struct store_report rep = { store_report, NULL };
	char err[ERRBUF_LEN];
	char (*names)[STORE_NAME_MAX + 1] = sd->names;
	long n = store_list(&sd->st, STORE_TOKENS, names, STORE_MAX_TOKENS, &rep, err);

	sd->ntok = 0;
	if (n < 0) {
		dlog("tokens: %s", err);
		return;
	}
	for (long i = 0; i < n; i++) {
		if (store_token_get(&sd->st, names[i], &sd->tok[sd->ntok], err) < 0) {
			dlog("token %s: %s", names[i], err);
			continue;
		}
		memcpy(sd->tok_hash[sd->ntok], sd->tok[sd->ntok].sha256, 32);
		sd->ntok++;
	}
}

/* Every stored function: its netns, cgroup and code directory. One that
 * cannot be brought up is logged and left out (its record stays). */
/* Loads stored function names[i] into slot (its uid: SBXD_UID_BASE + slot). */
static void load_function(struct sandboxd *sd, const char *name, int slot)
{
	struct sbxd_fn *f = &sd->fns[slot];
	char err[ERRBUF_LEN];
	int code, r;

	if (store_fn_get(&sd->st, name, &f->d, &f->created, &f->updated, err) < 0) {
		dlog("function %s: %s", name, err);
		fn_slot_reset(f);
		return;
	}
	code = store_fn_code_open(&sd->st, &f->d, err);
	r = code < 0 ? code : code_stage(sd, &f->d, code);
	if (r == 0)
		r = code_commit(sd, &f->d);
	if (code >= 0 && r == -EBADMSG)
		errbuf_set(err, sizeof err, r, "its code in the store is not the declaration's "
			   "(size or SHA-256)");
	else if (code >= 0 && r < 0)
		errbuf_set(err, sizeof err, r, "its code: %s", strerror(-r));
	if (r < 0 || fn_make_env(sd, f->d.id, &f->netns, &f->cg, f->lfd, err) < 0) {
		dlog("function %s: cannot be served: %s", name, err);
		if (code >= 0)
			close(code);
		fn_slot_reset(f);
		return;
	}
	close(code);
	fn_decl_sha256(&f->d, sd->body, sizeof sd->body, f->decl_sha256);
	f->log.buf = calloc(1, SBXD_LOG_RING);
	f->used = true;
	sd->fn_gen[slot]++;
}

/* The slot a stored function had: its data directory's owner is its uid
 * (sandboxd/fndata.h), so its files stay its own across restarts; -1
 * without one, or when that slot is taken. */
static int kept_slot(const struct sandboxd *sd, const char *id)
{
	uid_t uid;

	if (sd->data.dirfd < 0 || fndata_owner(&sd->data, id, &uid) < 0 ||
	    uid < SBXD_UID_BASE || uid >= SBXD_UID_BASE + SBXD_FN_MAX ||
	    sd->fns[uid - SBXD_UID_BASE].used)
		return -1;
	return (int)(uid - SBXD_UID_BASE);
}

struct stored_names {
	char (*names)[STORE_NAME_MAX + 1];
	long n;
};

static bool is_stored(void *arg, const char *id)
{
	const struct stored_names *sn = arg;

	for (long i = 0; i < sn->n; i++)
		if (strcmp(sn->names[i], id) == 0)
			return true;
	return false;
}

static void load_functions(struct sandboxd *sd)
{
	struct store_report rep = { store_report, NULL };
	char (*names)[STORE_NAME_MAX + 1] = sd->names;
	char err[ERRBUF_LEN];
	long n = store_list(&sd->st, STORE_FUNCTIONS, names, SBXD_FN_MAX, &rep, err);
	bool *done;

	if (n < 0) {
		dlog("functions: %s", err);
		return;
	}
	done = calloc((size_t)n + 1, sizeof *done);
	if (done == NULL) {
		dlog("functions: out of memory");
		return;
	}
	/* first the functions whose data directory names their slot, then
	 * the others in the free slots left */
	for (long i = 0; i < n; i++) {
		int slot = kept_slot(sd, names[i]);
		if (slot >= 0) {
			load_function(sd, names[i], slot);
			done[i] = true;
		}
	}
	for (long i = 0; i < n; i++) {
		int slot = done[i] ? 0 : fn_free_slot(sd);
		if (slot < 0)
			break;
		if (!done[i])
			load_function(sd, names[i], slot);
	}
	free(done);
	/* a data directory no stored function names (a crash between
	 * making it and storing the function), and deleted trees not yet
	 * removed: never a later function's. Only with the whole list. */
	if (sd->data.dirfd >= 0 && n < SBXD_FN_MAX) {
		struct stored_names sn = { names, n };
		int k = fndata_sweep(&sd->data, is_stored, &sn);
		if (k > 0)
			dlog("data: removed %d directories no function owns", k);
	}
}

/* Runs the runtime's interpreter once in a sandbox (python3 -c pass,
 * node -e 0) as the probe uid, with SBXD_HELLO_MS to exit 0: a layer whose
 * interpreter cannot start there (a missing library, a wrong
 * architecture) is not available. */
static bool interpreter_runs(struct sandboxd *sd, unsigned rt, int netns, const char *layer)
{
	char *py[] = { "/usr/bin/python3", "-I", "-c", "pass", NULL };
	char *js[] = { "/usr/bin/node", "-e", "0", NULL };
	char root[STORE_PATH_MAX + 32], code[STORE_PATH_MAX + 32], err[ERRBUF_LEN];
	struct sandbox_spec s;
	struct sandbox_proc p;
	struct pollfd pf;
	int status = -1;

	memset(&s, 0, sizeof s);
	snprintf(root, sizeof root, "%s/root", sd->work_root);
	snprintf(code, sizeof code, "%s/code", sd->work_root);
	s.root_dir = root;
	s.layer_dir = layer;
	s.code_dir = code;
	s.uid = s.gid = SBXD_UID_BASE + SBXD_FN_MAX;   /* no function's */
	s.netns_fd = netns;
	s.cgroup_fd = -1;
	s.argv = rt == POLICY_RT_PYTHON ? py : js;
	s.filter = &sd->filter;
	s.cwd = "/tmp";
	for (int i = 0; i < SANDBOX_FDS; i++)
		s.fds[i] = -1;
	if (sandbox_spawn(&s, &p, err, sizeof err) < 0) {
		dlog("runtime %s: %s", policy_runtime_name(rt), err);
		return false;
	}
	pf = (struct pollfd){ .fd = p.pidfd, .events = POLLIN };
	if (poll(&pf, 1, SBXD_HELLO_MS) <= 0)
		syscall(SYS_pidfd_send_signal, p.pidfd, SIGKILL, NULL, 0);
	waitpid(p.pid, &status, 0);
	close(p.pidfd);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		dlog("runtime %s: its interpreter does not run in a sandbox (status %#x)",
		     policy_runtime_name(rt), (unsigned)status);
		return false;
	}
	return true;
}

/* A runtime is available when its layer holds its interpreter (and, for
 * python and node, the worker) and the interpreter runs in a sandbox. */
static void probe_runtimes(struct sandboxd *sd)
{
	static const char *const need[POLICY_RT_N][2] = {
		[POLICY_RT_NATIVE] = { NULL, NULL },
		[POLICY_RT_NODE] = { "usr/bin/node", &WORKER_JS[1] },
		[POLICY_RT_PYTHON] = { "usr/bin/python3", &WORKER_PY[1] },
	};
	char p[STORE_PATH_MAX + 96], err[ERRBUF_LEN];
	struct stat st;
	int netns = -1;

	sd->runtimes_ok = 0;
	for (unsigned rt = 0; rt < POLICY_RT_N && sd->paths.layers; rt++) {
		bool ok;
		snprintf(p, sizeof p, "%s/%s", sd->paths.layers, policy_runtime_name(rt));
		ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
		for (unsigned k = 0; ok && k < 2 && need[rt][k]; k++) {
			snprintf(p, sizeof p, "%s/%s/%s", sd->paths.layers, policy_runtime_name(rt),
				 need[rt][k]);
			/* not access(X_OK): sandboxd's view of the layers is
			 * noexec; the sandbox's own bind is not, and the
			 * interpreter's run below is the real test */
			ok = stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			     (k != 0 || (st.st_mode & 0111) != 0);
			if (!ok)   /* said, or a runtime is missing without a reason */
				dlog("runtime %s: no %s %s in its layer", policy_runtime_name(rt),
				     k == 0 ? "executable" : "file", p);
		}
		if (ok && rt != POLICY_RT_NATIVE) {
			if (netns < 0 && sandbox_netns_create(&netns, NULL, 0, NULL, err, sizeof err) < 0) {
				dlog("runtimes: %s", err);
				break;
			}
			snprintf(p, sizeof p, "%s/%s", sd->paths.layers, policy_runtime_name(rt));
			ok = interpreter_runs(sd, rt, netns, p);
		}
		if (ok)
			sd->runtimes_ok |= 1u << rt;
	}
	if (netns >= 0)
		close(netns);
}

int sandboxd_open(struct sandboxd *sd, const struct sandboxd_config_msg *cfg,
		  const struct sbxd_paths *paths)
{
	char err[ERRBUF_LEN], path[sizeof sd->work_root + 8];
	int r;

	memset(sd, 0, sizeof *sd);
	for (unsigned c = 0; c < SBXD_CHAN_COUNT; c++)
		sd->fd[c] = -1;
	sd->paths = *paths;
	sd->limits_required = cfg->limits_required != 0;
	sd->sealing = cfg->sealing < SBXD_SEALING_N ? cfg->sealing : SBXD_SEALING_TMPFS;
	sd->pend.code = sd->pend.netns = sd->pend.cg = -1;
	lfds_none(sd->pend.lfd);
	sd->cgr.fd = -1;
	sd->data.dirfd = -1;
	sd->ep = epoll_create1(EPOLL_CLOEXEC);
	sd->fns = calloc(SBXD_FN_MAX, sizeof *sd->fns);
	sd->w = calloc(SBXD_WORKERS_MAX, sizeof *sd->w);
	sd->tok = calloc(STORE_MAX_TOKENS, sizeof *sd->tok);
	sd->tok_hash = calloc(STORE_MAX_TOKENS, sizeof *sd->tok_hash);
	if (sd->ep < 0 || !sd->fns || !sd->w || !sd->tok || !sd->tok_hash)
		return -ENOMEM;
	for (unsigned i = 0; i < SBXD_WORKERS_MAX; i++) {
		struct sbxd_worker *w = &sd->w[i];
		w->pidfd = w->sock = w->logfd = w->timer = w->cg = w->in_w = w->out_r = -1;
	}
	for (unsigned i = 0; i < SBXD_FN_MAX; i++)
		fn_slot_reset(&sd->fns[i]);
	snprintf(sd->work_root, sizeof sd->work_root, "%s", paths->work);
	snprintf(path, sizeof path, "%s/code", sd->work_root);
	if ((mkdir(sd->work_root, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(path, 0700) != 0 && errno != EEXIST)) {
		errbuf_set(sd->why, sizeof sd->why, -errno, "work directory %s: %s", sd->work_root,
			   strerror(errno));
		return 0;
	}
	if (fn_seccomp_build(&sd->filter) < 0) {
		errbuf_set(sd->why, sizeof sd->why, -EINVAL, "the function seccomp filter does not build");
		return 0;
	}
	probe_runtimes(sd);
	if (paths->cgroup != NULL) {
		r = cg_root_open(&sd->cgr, paths->cgroup, err, sizeof err);
		sd->have_cg = r == 0;
		if (r < 0)
			dlog("%s: workers run without cgroups", err);
		else if (!sd->cgr.enforced)
			dlog("cgroup root %s: limits NOT enforced: %s", paths->cgroup, err);
	}
	if (load_policy(sd, cfg) < 0) {
		dlog("%s", sd->why);
		return 0;
	}
	{
		struct store_report rep = { store_report, NULL };
		bool sealed = cfg->sealing == SBXD_SEALING_AES_GCM;
		r = store_open(&sd->st, paths->store, &sd->policy, sealed ? cfg->seal_key : NULL,
			       &rep, err);
	}
	if (r < 0) {
		errbuf_set(sd->why, sizeof sd->why, r, "the store: %s", err);
		dlog("%s", sd->why);
		return 0;
	}
	sd->store_open = true;
	{
		static const char *const where[SBXD_SEALING_N] = {
			[SBXD_SEALING_AES_GCM] = "the encrypted store",
			[SBXD_SEALING_TMPFS] = "no data disk (tmpfs, lost at poweroff)",
			[SBXD_SEALING_HOST] = "host mode (the state directory)",
		};
		r = fndata_open(&sd->data, paths->store, where[sd->sealing] ? where[sd->sealing] : "?",
				err);
		if (r < 0)
			errbuf_set(sd->data_why, sizeof sd->data_why, r, "no data directories: %s", err);
		dlog("data directories: %s%s%s", sd->data.dirfd < 0 ? sd->data_why : sd->data.root,
		     sd->data.quota ? ", project quotas enforced" : ", quotas NOT enforced: ",
		     sd->data.quota ? "" : sd->data.why);
	}
	load_tokens(sd);
	load_functions(sd);
	return 0;
}

void sandboxd_close(struct sandboxd *sd)
{
	if (sd->w != NULL) {
		for (unsigned i = 0; i < SBXD_WORKERS_MAX; i++) {
			struct sbxd_worker *w = &sd->w[i];
			if (w->state == SBXD_W_FREE)
				continue;
			worker_kill(sd, w);
			waitpid(w->pid, NULL, 0);
			worker_free(sd, w);
		}
	}
	for (unsigned i = 0; sd->fns != NULL && i < SBXD_FN_MAX; i++) {
		struct sbxd_fn *f = &sd->fns[i];
		close_fd(&f->netns);
		close_fd(&f->cg);
		for (unsigned k = 0; k < SBX_LISTENERS_MAX; k++)
			close_fd(&f->lfd[k]);
		free(f->log.buf);
	}
	close_fd(&sd->pend.code);
	close_fd(&sd->pend.netns);
	close_fd(&sd->pend.cg);
	for (unsigned k = 0; k < SBX_LISTENERS_MAX; k++)
		close_fd(&sd->pend.lfd[k]);
	for (unsigned c = SBXD_CHAN_NETD; c < SBXD_CHAN_COUNT; c++)
		close_fd(&sd->fd[c]);
	if (sd->store_open)
		store_close(&sd->st);
	fndata_close(&sd->data);
	if (sd->have_cg)
		cg_root_close(&sd->cgr);
	close_fd(&sd->ep);
	free(sd->fns);
	free(sd->w);
	free(sd->tok);
	free(sd->tok_hash);
	sd->fns = NULL;
	sd->w = NULL;
	sd->tok = NULL;
	sd->tok_hash = NULL;
}

/* --- authorisation ---------------------------------------------------------------------- */

static enum fn_scope op_scope(uint16_t op)
{
	switch (op) {
	case SBX_FN_CREATE: case SBX_FN_UPDATE: case SBX_FN_DELETE: return FN_SCOPE_FUNCTIONS_WRITE;
	case SBX_FN_GET: case SBX_FN_LIST: return FN_SCOPE_FUNCTIONS_READ;
	case SBX_FN_LOGS: return FN_SCOPE_LOGS_READ;
	case SBX_INVOKE: return FN_SCOPE_FUNCTIONS_INVOKE;
	case SBX_SECRET_PUT: case SBX_SECRET_DELETE: return FN_SCOPE_SECRETS_WRITE;
	case SBX_SECRET_LIST: return FN_SCOPE_SECRETS_READ;
	default: return FN_SCOPE_ADMIN;
	}
}

/* 0 when the request may go on; else the reply is sent. The admin hash
 * and every stored token are compared, whichever matched. */
static int authorise(struct sandboxd *sd, const struct sbx_req_msg *q, uint32_t id)
{
	static const uint8_t zero[32];
	enum fn_scope need = op_scope(q->op);
	bool admin, no_admin = fn_hash_equal(sd->policy.admin_token_sha256, zero);
	int t;

	if (q->op == SBX_INVOKE && sd->policy.public_invoke)
		return 0;
	if (!q->has_token) {
		reply_err(sd, id, -EACCES, 401, "unauthorized", "a bearer token is needed");
		return -EACCES;
	}
	admin = fn_hash_equal(q->token_sha256, sd->policy.admin_token_sha256) && !no_admin;
	t = fn_token_find(q->token_sha256, (const uint8_t (*)[32])sd->tok_hash, sd->ntok, NULL);
	if (admin)
		return 0;
	if (t < 0) {
		reply_err(sd, id, -EACCES, 401, "unauthorized", "the token is not known");
		return -EACCES;
	}
	if (!fn_scopes_allow(&sd->tok[t].scopes, need, q->op == SBX_INVOKE ? q->id : NULL)) {
		reply_err(sd, id, -EPERM, 403, "forbidden", "the token lacks the scope %s",
			  fn_scope_name(need));
		return -EPERM;
	}
	return 0;
}

/* --- management requests ------------------------------------------------------------------ */

static bool str_ok(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* The declaration's view and the data directory's state: "data" is null
 * without one (data_mb 0), else where it is, its quota and whether the
 * kernel enforces it (and why not), never silently. */
static void fn_view_json(const struct sandboxd *sd, const struct sbxd_fn *f, struct jsonw *w)
{
	uint64_t used, inodes;

	jw_object_begin(w);
	fn_decl_view_members(&f->d, f->created, f->updated, w);
	jw_key(w, "data");
	if (f->d.limits.data_mb == 0) {
		jw_null(w);
		jw_object_end(w);
		return;
	}
	jw_object_begin(w);
	jw_key(w, "path");
	jw_string(w, "/data");
	jw_key(w, "quota_mb");
	jw_u64(w, f->d.limits.data_mb);
	jw_key(w, "quota_enforced");
	jw_bool(w, sd->data.quota);
	if (!sd->data.quota) {
		jw_key(w, "reason");
		jw_string(w, sd->data_why[0] ? sd->data_why : sd->data.why);
	} else if (fndata_usage(&sd->data, SBXD_UID_BASE + (unsigned)(f - sd->fns), &used,
				&inodes) == 0) {
		jw_key(w, "used_bytes");
		jw_u64(w, used);
		jw_key(w, "used_inodes");
		jw_u64(w, inodes);
	}
	jw_object_end(w);
	jw_object_end(w);
}

static void op_get(struct sandboxd *sd, const struct sbx_req_msg *q, uint32_t id)
{
	int i = fn_find(sd, q->id);
	struct jsonw w;

	if (i < 0) {
		reply_err(sd, id, -ENOENT, 404, "not_found", "no function %s", q->id);
		return;
	}
	jw_init(&w, sd->body, sizeof sd->body);
	fn_view_json(sd, &sd->fns[i], &w);
	reply_json(sd, id, 200, &w);
}

/* SBX_FN_LIST: the full views, or (public, arg 1: GET /functions, no token)
 * only each function's id, name and runtime, as the seed service listed them. */
static void op_list(struct sandboxd *sd, uint32_t id, bool public)
{
	/* up to SBXD_FN_MAX views: built in a buffer of its own */
	size_t cap = (size_t)SBXD_FN_MAX * 4096 + 64;
	char *buf = malloc(cap);
	struct jsonw w;
	long n;

	if (buf == NULL) {
		reply_err(sd, id, -ENOMEM, 500, "internal", "out of memory");
		return;
	}
	jw_init(&w, buf, cap);
	jw_object_begin(&w);
	jw_key(&w, "functions");
	jw_array_begin(&w);
	for (unsigned i = 0; i < SBXD_FN_MAX; i++) {
		const struct sbxd_fn *f = &sd->fns[i];
		if (!f->used)
			continue;
		if (!public) {
			fn_view_json(sd, f, &w);
			continue;
		}
		jw_object_begin(&w);
		jw_key(&w, "id");
		jw_string(&w, f->d.id);
		jw_key(&w, "name");
		jw_string(&w, f->d.name);
		jw_key(&w, "runtime");
		jw_string(&w, policy_runtime_name(f->d.runtime));
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	n = jw_finish(&w);
	if (n < 0)
		reply_err(sd, id, (int)n, 500, "internal", "the list does not fit");
	else
		reply_body(sd, id, 200, buf, (size_t)n, 0);
	free(buf);
}

static void op_logs(struct sandboxd *sd, const struct sbx_req_msg *q, uint32_t id)
{
	int i = fn_find(sd, q->id);
	const struct sbxd_ring *r;
	uint64_t start, from;
	uint8_t *out;
	size_t n;

	if (i < 0) {
		reply_err(sd, id, -ENOENT, 404, "not_found", "no function %s", q->id);
		return;
	}
	r = &sd->fns[i].log;
	start = r->end > SBXD_LOG_RING ? r->end - SBXD_LOG_RING : 0;
	from = q->arg < start ? start : q->arg > r->end ? r->end : q->arg;
	n = (size_t)(r->end - from);
	out = malloc(n ? n : 1);
	if (out == NULL) {
		reply_err(sd, id, -ENOMEM, 500, "internal", "out of memory");
		return;
	}
	for (size_t k = 0; k < n; k++)
		out[k] = r->buf[(from + k) % SBXD_LOG_RING];
	/* reply.worker: the stream offset of the body's first byte */
	reply_body(sd, id, 200, out, n, from);
	free(out);
}

/* The code from netd's memfd into a memfd of ours, hashed on the way:
 * netd keeps its descriptor and could change its bytes later. */
static int copy_code(int from, const struct fn_decl *d, int *out, char *msg, size_t cap)
{
	uint8_t buf[1 << 16], h[32];
	br_sha256_context c;
	uint64_t total = 0;
	ssize_t n;
	int fd = memfd_create("sbx-code", MFD_CLOEXEC);

	if (fd < 0)
		return errbuf_set(msg, cap, -errno, "memfd: %s", strerror(errno));
	br_sha256_init(&c);
	for (off_t off = 0; (n = pread(from, buf, sizeof buf, off)) != 0; off += n) {
		if (n < 0 || total + (uint64_t)n > FN_CODE_MAX || file_write_all(fd, buf, (size_t)n) < 0) {
			close(fd);
			return errbuf_set(msg, cap, n < 0 ? -errno : -EFBIG, "code: %s",
					  n < 0 ? strerror(errno) : "too large");
		}
		br_sha256_update(&c, buf, (size_t)n);
		total += (uint64_t)n;
	}
	br_sha256_out(&c, h);
	if (total != d->code_bytes || !fn_hash_equal(h, d->code_sha256)) {
		close(fd);
		return errbuf_set(msg, cap, -EBADMSG, "the code is not the one the declaration names "
				  "(%llu bytes)", (unsigned long long)total);
	}
	*out = fd;
	return 0;
}

static void pend_clear(struct sandboxd *sd)
{
	close_fd(&sd->pend.code);
	if (sd->pend.netns >= 0 || sd->pend.cg >= 0)
		fn_drop_env(sd, sd->pend.d.id, &sd->pend.netns, &sd->pend.cg, sd->pend.lfd);
	memset(&sd->pend, 0, sizeof sd->pend);
	sd->pend.code = sd->pend.netns = sd->pend.cg = -1;
	lfds_none(sd->pend.lfd);
}

/* A change not recorded: nothing of it stays. */
static void pend_refuse(struct sandboxd *sd, const char *who, int err)
{
	if (sd->pend.gen == sd->gen[SBXD_CHAN_NETD])
		reply_err(sd, sd->pend.req_id, err, 503, "unavailable",
			  "the change could not be recorded (%s: %s); nothing was changed", who,
			  strerror(err < 0 ? -err : EIO));
	dlog("function %s: %s refused to record the change (%s): not made", sd->pend.d.id, who,
	     strerror(err < 0 ? -err : EIO));
	pend_clear(sd);
}

static void ask_keyd(struct sandboxd *sd)
{
	struct fn_event_msg ev;
	int r;

	memset(&ev, 0, sizeof ev);
	ev.version = 1;
	ev.op = sd->pend.op == SBX_FN_CREATE ? FN_EVENT_DEPLOY :
		sd->pend.op == SBX_FN_UPDATE ? FN_EVENT_UPDATE : FN_EVENT_DELETE;
	memcpy(ev.id, sd->pend.d.id, strlen(sd->pend.d.id));
	snprintf(ev.runtime, sizeof ev.runtime, "%s", policy_runtime_name(sd->pend.d.runtime));
	if (ev.op != FN_EVENT_DELETE) {
		memcpy(ev.code_sha256, sd->pend.d.code_sha256, 32);
		memcpy(ev.decl_sha256, sd->pend.decl_sha256, 32);
	}
	if (sd->fd[SBXD_CHAN_KEYD] < 0) {
		pend_refuse(sd, "keyd", -EAGAIN);
		return;
	}
	sd->pend.keyd_req = ++sd->seq;
	sd->pend_ms = mono_ms();
	r = imsg_send(sd->fd[SBXD_CHAN_KEYD], IMSG_FN_EVENT_REQ, sd->pend.keyd_req, &ev, sizeof ev,
		      NULL, 0);
	if (r < 0)
		pend_refuse(sd, "keyd", r);
}

static void ask_logd(struct sandboxd *sd)
{
	struct log_entry e;
	const char *rt = policy_runtime_name(sd->pend.d.runtime);
	uint8_t buf[512];
	long n;
	int r;

	memset(&e, 0, sizeof e);
	e.type = LOG_FUNCTION;
	e.time_ns = now_ns();
	e.u.function.op = sd->pend.op == SBX_FN_CREATE ? LOG_OP_DEPLOY :
			  sd->pend.op == SBX_FN_UPDATE ? LOG_OP_UPDATE : LOG_OP_DELETE;
	e.u.function.id = (struct log_str){ sd->pend.d.id, strlen(sd->pend.d.id) };
	e.u.function.runtime = (struct log_str){ rt, strlen(rt) };
	if (sd->pend.op != SBX_FN_DELETE) {
		memcpy(e.u.function.code, sd->pend.d.code_sha256, 32);
		memcpy(e.u.function.decl, sd->pend.decl_sha256, 32);
	}
	n = log_entry_encode(buf, sizeof buf, &e);
	if (n < 0 || sd->fd[SBXD_CHAN_LOGD] < 0) {
		pend_refuse(sd, "logd", n < 0 ? (int)n : -EAGAIN);
		return;
	}
	sd->pend.logd_req = ++sd->seq;
	sd->pend.at_logd = true;
	sd->pend_ms = mono_ms();
	r = imsg_send(sd->fd[SBXD_CHAN_LOGD], IMSG_LOG_APPEND, sd->pend.logd_req, buf, (size_t)n,
		      NULL, 0);
	if (r < 0)
		pend_refuse(sd, "logd", r);
}

/* Kills the function's workers: idle and starting ones now, busy ones
 * too (netd hears WORKER_END). */
static void kill_workers(struct sandboxd *sd, unsigned fi)
{
	for (unsigned i = 0; i < SBXD_WORKERS_MAX; i++) {
		struct sbxd_worker *w = &sd->w[i];
		if (w->state != SBXD_W_FREE && w->fn == fi)
			worker_kill(sd, w);
	}
}

/* Recorded by keyd and logd: the change is made and becomes visible. */
static void pend_commit(struct sandboxd *sd)
{
	struct sbxd_pending *p = &sd->pend;
	char err[ERRBUF_LEN];
	int fi = fn_find(sd, p->d.id), r;
	int64_t now = now_s();
	bool mine = p->gen == sd->gen[SBXD_CHAN_NETD];

	if (p->op == SBX_FN_DELETE) {
		if (fi >= 0) {
			struct sbxd_fn *f = &sd->fns[fi];
			r = store_fn_del(&sd->st, p->d.id, err);
			if (r < 0 && r != -ENOENT) {
				if (mine)
					reply_err(sd, p->req_id, r, 500, "store_failed", "%s", err);
				pend_clear(sd);
				return;
			}
			egress_announce(sd, (unsigned)fi, SBX_EGRESS_GONE);
			kill_workers(sd, (unsigned)fi);
			sd->fn_gen[fi]++;
			/* its data goes with it: a later function of the same
			 * name starts with an empty /data */
			if (sd->data.dirfd >= 0 && fndata_remove(&sd->data, p->d.id, err) < 0)
				dlog("function %s: its data directory: %s (removed at the next start)",
				     p->d.id, err);
			code_remove(sd, &f->d);
			fn_drop_env(sd, f->d.id, &f->netns, &f->cg, f->lfd);
			free(f->log.buf);
			fn_slot_reset(f);
		}
		if (mine)
			reply_body(sd, p->req_id, 200, "{\"deleted\":true}", 16, 0);
		dlog("function %s deleted", p->d.id);
		pend_clear(sd);
		return;
	}
	if ((r = code_stage(sd, &p->d, p->code)) < 0)
		snprintf(err, sizeof err, "the code directory: %s", strerror(-r));
	else
		r = store_fn_put(&sd->st, &p->d, p->code, p->op == SBX_FN_CREATE, now, err);
	if (r == 0 && (r = code_commit(sd, &p->d)) < 0) {
		/* stored, not runnable: taken back out of the store (a create),
		 * or left with its old code file (an update) */
		snprintf(err, sizeof err, "the code directory: %s", strerror(-r));
		if (p->op == SBX_FN_CREATE) {
			char e2[ERRBUF_LEN];
			store_fn_del(&sd->st, p->d.id, e2);
		}
	}
	if (r < 0) {
		if (mine)
			reply_err(sd, p->req_id, r, r == -ENOSPC ? 409 : 500,
				  r == -ENOSPC ? "too_many_functions" : "store_failed", "%s", err);
		dlog("function %s: recorded but not stored: %s", p->d.id, err);
		pend_clear(sd);
		return;
	}
	if (p->op == SBX_FN_CREATE) {
		fi = fn_free_slot(sd);
		struct sbxd_fn *f = &sd->fns[fi];
		fn_slot_reset(f);
		f->netns = p->netns;
		f->cg = p->cg;
		memcpy(f->lfd, p->lfd, sizeof f->lfd);
		p->netns = p->cg = -1;
		lfds_none(p->lfd);
		f->log.buf = calloc(1, SBXD_LOG_RING);
		f->created = now;
		/* a new function starts with an empty /data whatever an
		 * earlier one of the same name left (a delete whose rename
		 * failed): never another function's data */
		if (sd->data.dirfd >= 0 && fndata_remove(&sd->data, p->d.id, err) < 0)
			dlog("function %s: an old data directory: %s", p->d.id, err);
	} else {
		kill_workers(sd, (unsigned)fi);   /* the old code's workers */
		if (sd->fns[fi].d.runtime != p->d.runtime) {
			/* another runtime's file name: the old file goes */
			char dir[STORE_PATH_MAX + 96], old[STORE_PATH_MAX + 128];
			if (code_dir(sd, &p->d, dir, sizeof dir) == 0) {
				snprintf(old, sizeof old, "%s/%s", dir, code_file(sd->fns[fi].d.runtime));
				unlink(old);
			}
		}
	}
	struct sbxd_fn *f = &sd->fns[fi];
	f->d = p->d;
	f->updated = now;
	memcpy(f->decl_sha256, p->decl_sha256, 32);
	f->used = true;
	sd->fn_gen[fi]++;
	egress_announce(sd, (unsigned)fi, p->op == SBX_FN_CREATE ? SBX_EGRESS_NEW : SBX_EGRESS_RULES);
	if (mine) {
		struct jsonw w;
		jw_init(&w, sd->body, sizeof sd->body);
		fn_view_json(sd, f, &w);
		reply_json(sd, p->req_id, p->op == SBX_FN_CREATE ? 201 : 200, &w);
	}
	dlog("function %s %s (%s)", f->d.id, p->op == SBX_FN_CREATE ? "deployed" : "updated",
	     policy_runtime_name(f->d.runtime));
	pend_clear(sd);
}

static void op_change(struct sandboxd *sd, const struct sbx_req_msg *q, const char *inl,
		      uint32_t id)
{
	struct sbxd_pending *p = &sd->pend;
	struct fn_error fe = { 0 };
	char msg[ERRBUF_LEN];
	int fi, r;

	if (p->active) {
		sd->refused_busy++;
		reply_err(sd, id, -EBUSY, 503, "busy", "another change of a function is being recorded");
		return;
	}
	pend_clear(sd);
	p->op = q->op;
	p->shape = q->shape;
	p->req_id = id;
	p->gen = sd->gen[SBXD_CHAN_NETD];
	if (q->op == SBX_FN_DELETE) {
		fi = fn_find(sd, q->id);
		if (fi < 0) {
			reply_err(sd, id, -ENOENT, 404, "not_found", "no function %s", q->id);
			return;
		}
		p->d = sd->fns[fi].d;
	} else {
		if (sd->msg.nfds != 1 || q->inline_len == 0) {
			reply_err(sd, id, -EBADMSG, 400, "bad_request", "a declaration and the code are needed");
			return;
		}
		r = fn_decl_parse(inl, q->inline_len, FN_SHAPE_STORED, &sd->policy, &sd->dtoks, &p->d, &fe);
		if (r < 0) {
			reply_err(sd, id, r, 400, fe.code ? fe.code : "invalid_field", "%s", fe.msg);
			return;
		}
		if (q->id[0] != '\0' && strcmp(q->id, p->d.id) != 0) {
			reply_err(sd, id, -EINVAL, 400, "invalid_field", "id: the declaration's id is not %s", q->id);
			return;
		}
		fi = fn_find(sd, p->d.id);
		if (q->op == SBX_FN_CREATE && fi >= 0) {
			reply_err(sd, id, -EEXIST, 409, "exists", "function %s exists", p->d.id);
			return;
		}
		if (q->op == SBX_FN_UPDATE && fi < 0) {
			reply_err(sd, id, -ENOENT, 404, "not_found", "no function %s", p->d.id);
			return;
		}
		if (q->op == SBX_FN_CREATE && fn_free_slot(sd) < 0) {
			reply_err(sd, id, -ENOSPC, 409, "too_many_functions", "%u functions are deployed",
				  SBXD_FN_MAX);
			return;
		}
		if ((r = copy_code(sd->msg.fds[0], &p->d, &p->code, msg, sizeof msg)) < 0) {
			reply_err(sd, id, r, 400, "code_mismatch", "%s", msg);
			return;
		}
		if ((r = fn_decl_sha256(&p->d, sd->body, sizeof sd->body, p->decl_sha256)) < 0) {
			reply_err(sd, id, r, 500, "internal", "the declaration's hash: %s", strerror(-r));
			pend_clear(sd);
			return;
		}
		if (q->op == SBX_FN_CREATE &&
		    (r = fn_make_env(sd, p->d.id, &p->netns, &p->cg, p->lfd, msg)) < 0) {
			reply_err(sd, id, r, 500, "sandbox_failed", "%s", msg);
			pend_clear(sd);
			return;
		}
	}
	p->active = true;
	ask_keyd(sd);
}

static void on_fn_event_reply(struct sandboxd *sd)
{
	struct fn_event_reply_msg rep;

	if (sd->msg.nfds != 0 || imsg_get(&sd->msg, IMSG_FN_EVENT_REPLY, &rep, sizeof rep) < 0 ||
	    !sd->pend.active || sd->pend.at_logd || sd->msg.hdr.id != sd->pend.keyd_req) {
		malformed(sd, SBXD_CHAN_KEYD, "an event reply");
		return;
	}
	if (rep.error != 0) {
		pend_refuse(sd, "keyd", rep.error);
		return;
	}
	ask_logd(sd);
}

/* logd's answer to append id: the pending change's, committed or
 * refused by it; any other (a change that timed out before it came) is
 * counted and dropped. */
static void log_appended(struct sandboxd *sd, uint32_t id, int32_t error)
{
	if (!sd->pend.active || !sd->pend.at_logd || id != sd->pend.logd_req) {
		malformed(sd, SBXD_CHAN_LOGD, "an append reply");
		return;
	}
	if (error != 0) {
		pend_refuse(sd, "logd", error);
		return;
	}
	pend_commit(sd);
}

static void on_log_appended(struct sandboxd *sd)
{
	struct log_appended_msg rep;

	if (sd->msg.nfds != 0 || imsg_get(&sd->msg, IMSG_LOG_APPENDED, &rep, sizeof rep) < 0) {
		malformed(sd, SBXD_CHAN_LOGD, "an append reply");
		return;
	}
	log_appended(sd, sd->msg.hdr.id, rep.error);
}

/* One change is at logd at a time, so a round's answers come alone; two
 * come together only when a change timed out at logd and the next one's
 * answer joined its late one (proto/logd.h). */
static void on_log_appended_many(struct sandboxd *sd)
{
	struct log_appended_one a;
	size_t n = log_appended_many_count(sd->msg.hdr.len);

	if (sd->msg.nfds != 0 || n == 0) {
		malformed(sd, SBXD_CHAN_LOGD, "append replies");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(&a, sd->msg.payload + i * sizeof a, sizeof a);
		log_appended(sd, a.id, a.error);
	}
}

/* --- secrets and tokens ------------------------------------------------------------------- */

/* A secret as readers see it: its name and dates, never its value (the
 * seed's answer to a write adds "encryptedValue":"[ENCRYPTED]"). */
const char *sandboxd_sealing_text(uint8_t sealing)
{
	switch (sealing) {
	case SBXD_SEALING_AES_GCM: return "aes-256-gcm, store key";
	case SBXD_SEALING_HOST:    return "none (host mode)";
	default:                   return "none (no data disk: tmpfs)";
	}
}

static void secret_view(struct jsonw *w, const struct sandboxd *sd, const char *name, bool seed,
			int64_t created, int64_t updated)
{
	char t[40];

	jw_object_begin(w);
	jw_key(w, "name");
	jw_string(w, name);
	if (seed) {
		jw_key(w, "encryptedValue");
		jw_string(w, "[ENCRYPTED]");
	} else {
		jw_key(w, "sealing");
		jw_string(w, sandboxd_sealing_text(sd->sealing));
	}
	utc_format(t, sizeof t, created);
	jw_key(w, "createdAt");
	jw_string(w, t);
	utc_format(t, sizeof t, updated);
	jw_key(w, "updatedAt");
	jw_string(w, t);
	jw_object_end(w);
}

static void op_secret_put(struct sandboxd *sd, const struct sbx_req_msg *q, const char *inl,
			  uint32_t id)
{
	char err[ERRBUF_LEN];
	size_t len = q->inline_len;
	const char *val = inl;
	int64_t created, updated;
	struct jsonw w;
	int r;

	if (!policy_secret_name_valid(q->name, strlen(q->name))) {
		reply_err(sd, id, -EINVAL, 400, "invalid_field", "name: must match ^[A-Z_][A-Z0-9_]*$");
		return;
	}
	if (sd->msg.nfds == 1 && q->inline_len == 0) {   /* a value too long to travel inline */
		long n = pread(sd->msg.fds[0], sd->secret, FN_SECRET_VALUE_MAX + 1, 0);
		if (n < 0) {
			reply_err(sd, id, -errno, 400, "bad_request", "the value's memfd cannot be read");
			return;
		}
		if (n > (long)FN_SECRET_VALUE_MAX) {
			reply_err(sd, id, -EFBIG, 400, "limit_exceeded", "value: at most %u bytes",
				  FN_SECRET_VALUE_MAX);
			return;
		}
		val = sd->secret;
		len = (size_t)n;
	} else if (sd->msg.nfds != 0) {
		reply_err(sd, id, -EBADMSG, 400, "bad_request", "a value inline or in a memfd, not both");
		return;
	}
	if (len == 0 || memchr(val, '\0', len) != NULL) {
		reply_err(sd, id, -EINVAL, 400, "invalid_field", "value: a non-empty string without NUL");
		return;
	}
	r = store_secret_put(&sd->st, q->name, val, len, now_s(), err);
	explicit_bzero(sd->secret, sizeof sd->secret);
	explicit_bzero(sd->msg.payload, sd->msg.hdr.len);   /* the inline value */
	if (r < 0) {
		reply_err(sd, id, r, 500, "store_failed", "%s", err);
		return;
	}
	/* the dates as stored (created is kept across an overwrite) */
	r = store_secret_get(&sd->st, q->name, sd->secret, sizeof sd->secret, &len, &created,
			     &updated, err);
	explicit_bzero(sd->secret, sizeof sd->secret);
	if (r < 0) {
		reply_err(sd, id, r, 500, "store_failed", "%s", err);
		return;
	}
	jw_init(&w, sd->body, sizeof sd->body);
	secret_view(&w, sd, q->name, q->shape == SBX_SHAPE_SEED, created, updated);
	reply_json(sd, id, 200, &w);
	inject_all(sd);
}

static void op_secret_del(struct sandboxd *sd, const struct sbx_req_msg *q, uint32_t id)
{
	char err[ERRBUF_LEN];
	int r;

	if (!policy_secret_name_valid(q->name, strlen(q->name))) {
		reply_err(sd, id, -EINVAL, 400, "invalid_field", "name: must match ^[A-Z_][A-Z0-9_]*$");
		return;
	}
	r = store_secret_del(&sd->st, q->name, err);
	if (r == -ENOENT)
		reply_err(sd, id, r, 404, "not_found", "no secret %s", q->name);
	else if (r < 0)
		reply_err(sd, id, r, 500, "store_failed", "%s", err);
	else {
		reply_body(sd, id, 200, "{\"deleted\":true}", 16, 0);
		inject_all(sd);
	}
}

static void op_secret_list(struct sandboxd *sd, uint32_t id)
{
	struct store_report rep = { store_report, NULL };
	char (*names)[STORE_NAME_MAX + 1] = sd->names;
	char err[ERRBUF_LEN];
	long n = store_list(&sd->st, STORE_SECRETS, names, STORE_MAX_SECRETS, &rep, err);
	struct jsonw w;

	if (n < 0) {
		reply_err(sd, id, (int)n, 500, "store_failed", "%s", err);
		return;
	}
	jw_init(&w, sd->body, sizeof sd->body);
	jw_object_begin(&w);
	jw_key(&w, "secrets");
	jw_array_begin(&w);
	for (long i = 0; i < n; i++) {
		int64_t c, u;
		size_t len;
		if (store_secret_get(&sd->st, names[i], sd->secret, sizeof sd->secret, &len, &c, &u,
				     err) < 0) {
			/* listed, said unreadable: never shown as if it were fine */
			jw_object_begin(&w);
			jw_key(&w, "name");
			jw_string(&w, names[i]);
			jw_key(&w, "unreadable");
			jw_string(&w, err);
			jw_object_end(&w);
			continue;
		}
		secret_view(&w, sd, names[i], false, c, u);
	}
	explicit_bzero(sd->secret, sizeof sd->secret);
	jw_array_end(&w);
	jw_object_end(&w);
	reply_json(sd, id, 200, &w);
}

static enum fn_token_shape token_shape(uint8_t shape)
{
	return shape == SBX_SHAPE_SEED ? FN_TOKEN_SEED : FN_TOKEN_V1;
}

static void op_token_create(struct sandboxd *sd, const struct sbx_req_msg *q, const char *inl,
			    uint32_t id)
{
	struct fn_token_req req;
	struct fn_token_rec rec;
	struct fn_error fe = { 0 };
	uint8_t rnd[FN_TOKEN_RANDOM];
	char tok[FN_TOKEN_LEN + 1], err[ERRBUF_LEN];
	struct jsonw w;
	int r;

	/* netd sends one canonical form whatever the client's shape (the seed's
	 * keys: proto/netd_sandboxd.h); q->shape selects only the answer's view */
	r = fn_token_req_parse(inl, q->inline_len, FN_TOKEN_SEED, &sd->btoks, &req, &fe);
	if (r < 0) {
		reply_err(sd, id, r, 400, fe.code ? fe.code : "invalid_field", "%s", fe.msg);
		return;
	}
	if (sd->ntok >= STORE_MAX_TOKENS) {
		reply_err(sd, id, -ENOSPC, 409, "too_many_tokens", "%u tokens exist", STORE_MAX_TOKENS);
		return;
	}
	if ((r = random_fill(rnd, sizeof rnd)) < 0) {
		reply_err(sd, id, r, 500, "internal", "no randomness: %s", strerror(-r));
		return;
	}
	memset(&rec, 0, sizeof rec);
	fn_token_make(rnd, tok, rec.sha256);
	explicit_bzero(rnd, sizeof rnd);
	fn_token_id(rec.sha256, rec.id);
	memcpy(rec.name, req.name, sizeof rec.name);
	memcpy(rec.app_name, req.app_name, sizeof rec.app_name);
	rec.scopes = req.scopes;
	rec.created = now_s();
	if ((r = store_token_put(&sd->st, &rec, err)) < 0) {
		explicit_bzero(tok, sizeof tok);
		reply_err(sd, id, r, 500, "store_failed", "%s", err);
		return;
	}
	sd->tok[sd->ntok] = rec;
	memcpy(sd->tok_hash[sd->ntok], rec.sha256, 32);
	sd->ntok++;
	jw_init(&w, sd->body, sizeof sd->body);
	fn_token_view(&rec, token_shape(q->shape), tok, &w);
	explicit_bzero(tok, sizeof tok);
	reply_json(sd, id, 201, &w);
	/* the token was in these: it is shown once, and kept nowhere */
	explicit_bzero(sd->body, sizeof sd->body);
	explicit_bzero(sd->reply, sizeof sd->reply);
}

static void op_token_list(struct sandboxd *sd, const struct sbx_req_msg *q, uint32_t id)
{
	struct jsonw w;

	jw_init(&w, sd->body, sizeof sd->body);
	jw_object_begin(&w);
	jw_key(&w, q->shape == SBX_SHAPE_SEED ? "keys" : "tokens");
	jw_array_begin(&w);
	for (unsigned i = 0; i < sd->ntok; i++)
		fn_token_view(&sd->tok[i], token_shape(q->shape), NULL, &w);
	jw_array_end(&w);
	jw_object_end(&w);
	reply_json(sd, id, 200, &w);
}

static void op_token_del(struct sandboxd *sd, const struct sbx_req_msg *q, uint32_t id)
{
	char err[ERRBUF_LEN];
	unsigned i;
	int r;

	for (i = 0; i < sd->ntok; i++)
		if (strcmp(sd->tok[i].id, q->id) == 0)
			break;
	if (i == sd->ntok) {
		reply_err(sd, id, -ENOENT, 404, "not_found", "no token %s", q->id);
		return;
	}
	if ((r = store_token_del(&sd->st, q->id, err)) < 0 && r != -ENOENT) {
		reply_err(sd, id, r, 500, "store_failed", "%s", err);
		return;
	}
	sd->ntok--;
	sd->tok[i] = sd->tok[sd->ntok];
	memcpy(sd->tok_hash[i], sd->tok_hash[sd->ntok], 32);
	reply_body(sd, id, 200, "{\"deleted\":true}", 16, 0);
}

static bool limits_enforced(const struct sandboxd *sd)
{
	return sd->have_cg && sd->cgr.enforced;
}

static void op_info(struct sandboxd *sd, uint32_t id)
{
	struct jsonw w;
	unsigned nfn = 0;

	for (unsigned i = 0; i < SBXD_FN_MAX; i++)
		nfn += sd->fns[i].used;
	jw_init(&w, sd->body, sizeof sd->body);
	jw_object_begin(&w);
	jw_key(&w, "runtimes");
	jw_array_begin(&w);
	for (unsigned rt = 0; rt < POLICY_RT_N; rt++) {
		jw_object_begin(&w);
		jw_key(&w, "name");
		jw_string(&w, policy_runtime_name(rt));
		jw_key(&w, "enabled");
		jw_bool(&w, sd->has_policy && (sd->policy.runtimes & (1u << rt)));
		jw_key(&w, "available");
		jw_bool(&w, (sd->runtimes_ok & (1u << rt)) != 0);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_key(&w, "limits_enforced");
	jw_bool(&w, limits_enforced(sd));
	jw_key(&w, "data_quota_enforced");
	jw_bool(&w, sd->data.quota);
	if (!sd->data.quota) {
		jw_key(&w, "data_quota_reason");
		jw_string(&w, sd->data_why[0] ? sd->data_why : sd->data.why);
	}
	jw_key(&w, "functions");
	jw_u64(&w, nfn);
	jw_key(&w, "serving");
	jw_bool(&w, sd->why[0] == '\0');
	if (sd->why[0] != '\0') {
		jw_key(&w, "reason");
		jw_string(&w, sd->why);
	}
	jw_object_end(&w);
	reply_json(sd, id, 200, &w);
}

/* SBX_POLICY: the canonical policy sandboxd enforces, so that netd parses
 * deployments against the same one (no secret in it: the admin token is a hash). */
static void op_policy(struct sandboxd *sd, uint32_t id)
{
	char *buf;
	long n;

	if (!sd->has_policy) {
		reply_err(sd, id, -EAGAIN, 503, "unavailable", "%s", sd->why);
		return;
	}
	buf = malloc(POLICY_MAX_BYTES);
	if (buf == NULL) {
		reply_err(sd, id, -ENOMEM, 500, "internal", "out of memory");
		return;
	}
	n = policy_write(&sd->policy, buf, POLICY_MAX_BYTES);
	if (n < 0)
		reply_err(sd, id, (int)n, 500, "internal", "the policy does not fit");
	else
		reply_body(sd, id, 200, buf, (size_t)n, 0);
	free(buf);
}

/* --- invocation ------------------------------------------------------------------------- */

static void op_invoke(struct sandboxd *sd, const struct sbx_req_msg *q, uint32_t id)
{
	char err[ERRBUF_LEN];
	struct sbxd_worker *w = NULL;
	unsigned live = 0;
	int fi = fn_find(sd, q->id), r;

	if (fi < 0) {
		reply_err(sd, id, -ENOENT, 404, "not_found", "no function %s", q->id);
		return;
	}
	struct sbxd_fn *f = &sd->fns[fi];
	if (!(sd->runtimes_ok & (1u << f->d.runtime))) {
		reply_err(sd, id, -ENOEXEC, 503, "runtime_unavailable", "the %s runtime is not available",
			  policy_runtime_name(f->d.runtime));
		return;
	}
	if (sd->limits_required && !limits_enforced(sd)) {
		reply_err(sd, id, -EPERM, 503, "limits_unavailable",
			  "cgroup limits cannot be enforced: functions do not run");
		return;
	}
	for (unsigned i = 0; i < SBXD_WORKERS_MAX; i++) {
		struct sbxd_worker *c = &sd->w[i];
		if (c->state == SBXD_W_FREE || c->fn != (unsigned)fi || c->state == SBXD_W_DYING)
			continue;
		live++;
		if (c->state == SBXD_W_IDLE && !c->native && c->fn_gen == sd->fn_gen[fi] && w == NULL)
			w = c;
	}
	if (w != NULL) {
		hand_out(sd, w, id);
		return;
	}
	if (live >= f->d.concurrency) {
		sd->refused_busy++;
		reply_err(sd, id, -EBUSY, 503, "busy", "%u invocations of %s run already",
			  f->d.concurrency, f->d.id);
		return;
	}
	r = worker_spawn(sd, (unsigned)fi, &w, err);
	if (r < 0) {
		bool secret = strncmp(err, "secret ", 7) == 0;
		reply_err(sd, id, r, r == -EAGAIN ? 503 : 500, r == -EAGAIN ? "busy" :
			  !secret ? "spawn_failed" : r == -ENOENT ? "missing_secret" :
			  "secret_unreadable", "%s", err);
		return;
	}
	if (w->native) {
		hand_out(sd, w, id);
		return;
	}
	w->waiting = true;
	w->wait_id = id;
	w->wait_gen = sd->gen[SBXD_CHAN_NETD];
}

static void on_done(struct sandboxd *sd)
{
	struct sbx_done_msg m;
	struct sbxd_worker *w;

	if (sd->msg.nfds != 0 || imsg_get(&sd->msg, IMSG_SBX_DONE, &m, sizeof m) < 0 ||
	    m.outcome < SBX_DONE_OK || m.outcome > SBX_DONE_CLIENT_GONE) {
		malformed(sd, SBXD_CHAN_NETD, "a done message");
		return;
	}
	w = worker_by_id(sd, m.worker);
	if (w == NULL || w->state != SBXD_W_BUSY)
		return;   /* ended meanwhile (WORKER_END is on its way), or not netd's */
	w->done = true;
	w->out = false;
	if (w->native) {
		/* one process per invocation: it exits, or goes now */
		if (m.outcome != SBX_DONE_OK)
			worker_kill(sd, w);
		return;
	}
	disarm(w);
	if (m.outcome == SBX_DONE_OK && w->fn_gen == sd->fn_gen[w->fn])
		w->state = SBXD_W_IDLE;
	else
		worker_kill(sd, w);
}

/* --- requests ----------------------------------------------------------------------------- */

static void on_request(struct sandboxd *sd)
{
	struct sbx_req_msg q;
	uint32_t id = sd->msg.hdr.id;
	const char *inl = (const char *)sd->msg.payload + sizeof q;

	if (sd->msg.hdr.len < sizeof q) {
		malformed(sd, SBXD_CHAN_NETD, "a short request");
		reply_err(sd, id, -EBADMSG, 400, "bad_request", "malformed request");
		return;
	}
	memcpy(&q, sd->msg.payload, sizeof q);
	if (q.inline_len != sd->msg.hdr.len - sizeof q || q.inline_len > SBX_INLINE_MAX ||
	    q.op < SBX_FN_CREATE || q.op >= SBX_OP_MAX || q.shape > SBX_SHAPE_SEED ||
	    q.has_token > 1 || !str_ok(q.id, sizeof q.id) || !str_ok(q.name, sizeof q.name) ||
	    sd->msg.nfds > 1) {
		malformed(sd, SBXD_CHAN_NETD, "a malformed request");
		reply_err(sd, id, -EBADMSG, 400, "bad_request", "malformed request");
		return;
	}
	if (q.op == SBX_INFO) {
		op_info(sd, id);
		return;
	}
	if (q.op == SBX_POLICY) {   /* no auth: it is public, and netd needs it first */
		op_policy(sd, id);
		return;
	}
	if (sd->why[0] != '\0') {
		reply_err(sd, id, -EAGAIN, 503, "unavailable", "%s", sd->why);
		return;
	}
	/* the public list (GET /functions) needs no token */
	if (!(q.op == SBX_FN_LIST && q.arg == 1) && authorise(sd, &q, id) < 0)
		return;
	switch (q.op) {
	case SBX_FN_CREATE: case SBX_FN_UPDATE: case SBX_FN_DELETE: op_change(sd, &q, inl, id); break;
	case SBX_FN_GET: op_get(sd, &q, id); break;
	case SBX_FN_LIST: op_list(sd, id, q.arg == 1); break;
	case SBX_FN_LOGS: op_logs(sd, &q, id); break;
	case SBX_INVOKE: op_invoke(sd, &q, id); break;
	case SBX_SECRET_PUT: op_secret_put(sd, &q, inl, id); break;
	case SBX_SECRET_DELETE: op_secret_del(sd, &q, id); break;
	case SBX_SECRET_LIST: op_secret_list(sd, id); break;
	case SBX_TOKEN_CREATE: op_token_create(sd, &q, inl, id); break;
	case SBX_TOKEN_LIST: op_token_list(sd, &q, id); break;
	case SBX_TOKEN_DELETE: op_token_del(sd, &q, id); break;
	default: break;
	}
}

/* --- channels ----------------------------------------------------------------------------- */

void sandboxd_set_peer(struct sandboxd *sd, enum sbxd_chan chan, int fd)
{
	if (sd->fd[chan] >= 0 && chan != SBXD_CHAN_INIT)
		close(sd->fd[chan]);
	sd->fd[chan] = fd;
	sd->gen[chan]++;
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    ep_set(sd, EPOLL_CTL_ADD, fd, TAG(TAG_CHAN, chan)) < 0)
			dlog("channel to %s: %s", chan_name[chan], strerror(errno));
	}
	/* a new netd learns every function's listeners and rules */
	for (unsigned i = 0; chan == SBXD_CHAN_NETD && fd >= 0 && i < SBXD_FN_MAX; i++)
		if (sd->fns[i].used)
			egress_announce(sd, i, SBX_EGRESS_NEW);
	/* workers the old netd held are lost with it: nobody will give them
	 * back or read their end */
	for (unsigned i = 0; chan == SBXD_CHAN_NETD && i < SBXD_WORKERS_MAX; i++) {
		struct sbxd_worker *w = &sd->w[i];
		if (w->state != SBXD_W_FREE && (w->out || w->waiting)) {
			w->out = w->waiting = false;
			worker_kill(sd, w);
		}
	}
	/* a change waiting on the peer that went is refused */
	if (sd->pend.active && ((chan == SBXD_CHAN_KEYD && !sd->pend.at_logd) ||
				(chan == SBXD_CHAN_LOGD && sd->pend.at_logd)))
		pend_refuse(sd, chan_name[chan], -EPIPE);
}

static void on_peer_channel(struct sandboxd *sd)
{
	static const int map[ROLE_COUNT] = {
		[ROLE_NETD] = SBXD_CHAN_NETD, [ROLE_KEYD] = SBXD_CHAN_KEYD,
		[ROLE_LOGD] = SBXD_CHAN_LOGD, [ROLE_SANDBOXD] = -1,
	};
	struct peer_channel_msg pc;

	if (imsg_get(&sd->msg, IMSG_PEER_CHANNEL, &pc, sizeof pc) < 0 || sd->msg.nfds != 1 ||
	    pc.peer >= ROLE_COUNT || map[pc.peer] < 0) {
		malformed(sd, SBXD_CHAN_INIT, "a message");
		return;
	}
	dlog("channel to %s #%u", chan_name[map[pc.peer]], pc.generation);
	sandboxd_set_peer(sd, (enum sbxd_chan)map[pc.peer], imsg_take_fd(&sd->msg, 0));
}

/* IMSG_SBX_CA: netd's local CA for the workers spawned from now on. A
 * new CA (netd restarted) retires the warm workers: their TLS would fail
 * against the new netd's leaves. */
static void on_ca(struct sandboxd *sd)
{
	struct sbx_ca_msg m;
	const char *pem = (const char *)sd->msg.payload + sizeof m;

	if (sd->msg.hdr.len < sizeof m || sd->msg.nfds != 0) {
		malformed(sd, SBXD_CHAN_NETD, "a CA message");
		return;
	}
	memcpy(&m, sd->msg.payload, sizeof m);
	if (m.pem_len != sd->msg.hdr.len - sizeof m || !sandbox_ca_pem_ok(pem, m.pem_len)) {
		malformed(sd, SBXD_CHAN_NETD, "a CA message");
		return;
	}
	if (strlen(sd->ca_pem) == m.pem_len && memcmp(sd->ca_pem, pem, m.pem_len) == 0)
		return;
	bool had = sd->ca_pem[0] != '\0';
	memcpy(sd->ca_pem, pem, m.pem_len);
	sd->ca_pem[m.pem_len] = '\0';
	for (unsigned i = 0; i < SBXD_WORKERS_MAX; i++)
		if (sd->w[i].state == SBXD_W_IDLE ||
		    (sd->w[i].state == SBXD_W_STARTING && !sd->w[i].waiting))
			worker_kill(sd, &sd->w[i]);
	dlog("%s local CA from netd", had ? "a new" : "the");
}

/* IMSG_SBX_NOTE: netd's line about the function's refused egress, into
 * its log stream as if the function had written it. */
static void on_note(struct sandboxd *sd)
{
	struct sbx_note_msg m;
	int fi;

	if (sd->msg.nfds != 0 || imsg_get(&sd->msg, IMSG_SBX_NOTE, &m, sizeof m) < 0 ||
	    memchr(m.function, 0, sizeof m.function) == NULL || m.len == 0 ||
	    m.len > sizeof m.line || m.line[m.len - 1] != '\n') {
		malformed(sd, SBXD_CHAN_NETD, "a note");
		return;
	}
	fi = fn_find(sd, m.function);
	if (fi >= 0)
		ring_append(&sd->fns[fi].log, (const uint8_t *)m.line, m.len);
}

static void dispatch(struct sandboxd *sd, enum sbxd_chan chan)
{
	uint32_t type = sd->msg.hdr.type;

	if (chan == SBXD_CHAN_INIT && type == IMSG_PEER_CHANNEL)
		on_peer_channel(sd);
	else if (chan == SBXD_CHAN_NETD && type == IMSG_SBX_REQ)
		on_request(sd);
	else if (chan == SBXD_CHAN_NETD && type == IMSG_SBX_DONE)
		on_done(sd);
	else if (chan == SBXD_CHAN_NETD && type == IMSG_SBX_CA)
		on_ca(sd);
	else if (chan == SBXD_CHAN_NETD && type == IMSG_SBX_NOTE)
		on_note(sd);
	else if (chan == SBXD_CHAN_KEYD && type == IMSG_FN_EVENT_REPLY)
		on_fn_event_reply(sd);
	else if (chan == SBXD_CHAN_LOGD && type == IMSG_LOG_APPENDED)
		on_log_appended(sd);
	else if (chan == SBXD_CHAN_LOGD && type == IMSG_LOG_APPENDED_MANY)
		on_log_appended_many(sd);
	else
		malformed(sd, chan, "a message of an unexpected type");
}

struct sbxd_reader {
	struct sandboxd *sd;
	enum sbxd_chan chan;
};

static void read_msg(void *ctx, struct imsg *msg)
{
	struct sbxd_reader *rd = ctx;
	(void)msg;   /* sd->msg */
	dispatch(rd->sd, rd->chan);
}

static void read_bad(void *ctx, int err)
{
	struct sbxd_reader *rd = ctx;
	(void)err;
	malformed(rd->sd, rd->chan, "an unreadable message");
}

static int chan_readable(struct sandboxd *sd, enum sbxd_chan chan)
{
	struct sbxd_reader rd = { sd, chan };
	const struct imsg_sink sink = { read_msg, read_bad, &rd };

	return imsg_drain(&sd->fd[chan], &sd->msg, SBXD_MSG_BUDGET, &sink);
}

void sandboxd_status(const struct sandboxd *sd, struct sandboxd_status_msg *st)
{
	memset(st, 0, sizeof *st);
	st->runtimes_available = sd->has_policy ? sd->runtimes_ok & sd->policy.runtimes : 0;
	for (unsigned i = 0; sd->fns && i < SBXD_FN_MAX; i++)
		st->functions += sd->fns[i].used;
	st->limits_enforced = limits_enforced(sd);
}

int sandboxd_round(struct sandboxd *sd, int timeout_ms)
{
	struct epoll_event evs[16];
	int n;

	if (sd->pend.active) {
		uint64_t left = PEND_MAX_MS - (mono_ms() - sd->pend_ms);
		if (mono_ms() - sd->pend_ms >= PEND_MAX_MS) {
			pend_refuse(sd, sd->pend.at_logd ? "logd" : "keyd", -ETIMEDOUT);
		} else if (timeout_ms < 0 || (uint64_t)timeout_ms > left) {
			timeout_ms = (int)left;
		}
	}
	n = epoll_wait(sd->ep, evs, 16, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		unsigned kind = (unsigned)(evs[i].data.u64 >> 32), idx = (uint32_t)evs[i].data.u64;
		struct sbxd_worker *w = kind != TAG_CHAN && idx < SBXD_WORKERS_MAX ? &sd->w[idx] : NULL;

		if (kind == TAG_CHAN) {
			if (idx >= SBXD_CHAN_COUNT || chan_readable(sd, (enum sbxd_chan)idx) != -EPIPE)
				continue;
			if (idx == SBXD_CHAN_INIT)
				return -EPIPE;
			dlog("%s closed its channel", chan_name[idx]);
			sandboxd_set_peer(sd, (enum sbxd_chan)idx, -1);
			continue;
		}
		if (w == NULL || w->state == SBXD_W_FREE)
			continue;
		if (kind == TAG_PID && w->pidfd >= 0)
			on_worker_exit(sd, w);
		else if (kind == TAG_SOCK && w->sock >= 0)
			on_worker_sock(sd, w);
		else if (kind == TAG_LOG && w->logfd >= 0)
			on_worker_log(sd, w);
		else if (kind == TAG_TIMER && w->timer >= 0)
			on_worker_timer(sd, w);
	}
	return 0;
}

/* --- the role ----------------------------------------------------------------------------- */

/* ~1 MiB with its buffers: not on the stack */
static struct sandboxd D;

static int read_config(struct sandboxd_config_msg *cfg)
{
	for (;;) {
		int r = imsg_recv(ROLE_INIT_FD, &D.msg);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		r = imsg_get(&D.msg, IMSG_SANDBOXD_CONFIG, cfg, sizeof *cfg);
		imsg_close_fds(&D.msg);
		explicit_bzero(D.msg.payload, sizeof D.msg.payload);   /* the seal key */
		return r;
	}
}

int sandboxd_main(void)
{
	struct sandboxd_config_msg cfg;
	struct sandboxd_status_msg st;
	struct sbxd_paths paths = {
		.policy = SANDBOXD_POLICY_PATH,
		.store = SANDBOXD_STORE_DIR,
		.work = SANDBOXD_STATE_DIR "/run",
		.layers = SANDBOXD_LAYERS_DIR,
		.cgroup = SANDBOXD_CGROUP_DIR,
	};
	int r;

	r = read_config(&cfg);
	if (r < 0) {
		dlog("reading the configuration from init: %s", strerror(-r));
		return 1;
	}
	/* a worker is our child until we reap it; a dead one must not linger */
	r = sandboxd_open(&D, &cfg, &paths);
	explicit_bzero(&cfg, sizeof cfg);   /* the store holds its copy of the key */
	if (r < 0) {
		dlog("out of memory");
		return 1;
	}
	D.fd[SBXD_CHAN_INIT] = ROLE_INIT_FD;
	if (fcntl(ROLE_INIT_FD, F_SETFL, O_NONBLOCK) != 0 ||
	    ep_set(&D, EPOLL_CTL_ADD, ROLE_INIT_FD, TAG(TAG_CHAN, SBXD_CHAN_INIT)) < 0) {
		dlog("event loop: %s", strerror(errno));
		return 1;
	}
	sandboxd_status(&D, &st);
	dlog("serving: %u functions, runtimes available %#x, limits %s, data quotas %s, "
	     "secrets sealed: %s%s%s",
	     st.functions, st.runtimes_available, st.limits_enforced ? "enforced" : "NOT enforced",
	     D.data.quota ? "enforced" : "NOT enforced", sandboxd_sealing_text(D.sealing),
	     D.why[0] ? "; refusing functions: " : "", D.why);
	r = imsg_send(ROLE_INIT_FD, IMSG_SANDBOXD_STATUS, 0, &st, sizeof st, NULL, 0);
	if (r < 0)
		dlog("cannot report to init: %s", strerror(-r));
	while ((r = sandboxd_round(&D, -1)) == 0)
		;
	if (r == -EPIPE)
		dlog("init closed the channel, exiting");
	else
		dlog("event loop: %s", strerror(-r));
	sandboxd_close(&D);
	return r == -EPIPE ? 0 : 1;
}
