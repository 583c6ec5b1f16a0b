/* init/kms_phase.c: see kms_phase.h. */
#include "init/kms_phase.h"
#include "init/supervisor.h"
#include "lib/clock.h"
#include "lib/errbuf.h"
#include "lib/log.h"
#include "proto/init_keyd.h"
#include "proto/init_netd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(KW_KEY_LEN == STORE_KEY_LEN, "the KMS's key is the disk key");

#define WHY "key provider kms: "

/* Settled: the store's state is final (open, formatted or refused). */
static void settle(struct kms_phase *k)
{
	k->st = KP_OFF;
	kms_exchange_wipe(&k->x);
	if (k->body_fd >= 0)
		close(k->body_fd);
	k->body_fd = -1;
	supervisor_set_tick(0);
	k->settled(k->ctx);
}

static void refuse(struct kms_phase *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct kms_phase *k, const char *fmt, ...)
{
	char why[ERRBUF_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	datastore_refuse(k->store, why);
	settle(k);
}

bool kms_phase_retryable(const struct netd_kms_reply_msg *rep)
{
	return rep->error != 0 && (rep->http_status == 0 || rep->http_status >= 500);
}

uint32_t kms_phase_delay(unsigned attempts)
{
	uint32_t d = KMS_PHASE_RETRY_MIN_MS;

	for (unsigned i = 1; i < attempts && d < KMS_PHASE_RETRY_MAX_MS; i++)
		d *= 2;
	return d < KMS_PHASE_RETRY_MAX_MS ? d : KMS_PHASE_RETRY_MAX_MS;
}

void kms_phase_begin(struct kms_phase *k, const struct policy *p, struct datastore_status *st,
		     void (*settled)(void *ctx), void *ctx)
{
	char err[ERRBUF_LEN];

	memset(k, 0, sizeof *k);
	k->body_fd = -1;
	k->child_fd = -1;
	k->child_pidfd = -1;
	k->policy = p;
	k->store = st;
	k->settled = settled;
	k->ctx = ctx;
	if (st->state != STORE_INFO_PENDING)
		return;
	if (kms_exchange_begin(&k->x, &p->store, &k->kreq, &k->nreq, err, sizeof err) < 0) {
		refuse(k, WHY "%s", err);
		return;
	}
	k->st = KP_WAITING;
	dlog("store: key provider kms: asking http://%s:%u%s for the key once keyd and netd run",
	     k->nreq.host, (unsigned)k->nreq.port, k->nreq.path);
}

/* keyd writes the request body (once a boot: its key-provider event). */
static void ask_keyd(struct kms_phase *k)
{
	int sock = supervisor_role_sock(ROLE_KEYD);
	int r = sock < 0 ? -ENOTCONN :
		imsg_send(sock, IMSG_KEYD_KMS_REQ, 0, &k->kreq, sizeof k->kreq, NULL, 0);

	if (r < 0) {
		dlog("store: key provider kms: cannot ask keyd: %s (again when it serves)",
		     strerror(-r));
		k->st = KP_WAITING;
		return;
	}
	k->st = KP_KEYD;
	k->t_keyd = mono_ms();
}

/* An attempt without an answer worth keeping: another after the delay,
 * or the give-up once that would start past KMS_PHASE_GIVE_UP_MS. */
static void attempt_failed(struct kms_phase *k, const char *why)
{
	uint64_t now = mono_ms();
	uint32_t delay = kms_phase_delay(k->attempts);

	if (now - k->t_first + delay > KMS_PHASE_GIVE_UP_MS) {
		refuse(k, WHY "no key after %u attempts in %llu s, giving up: %s", k->attempts,
		       (unsigned long long)((now - k->t_first) / 1000), why);
		return;
	}
	dlog("store: key provider kms: attempt %u failed: %s; retrying in %u s", k->attempts, why,
	     delay / 1000);
	k->st = KP_BACKOFF;
	k->due = now + delay;
	supervisor_set_tick(k->due);
}

/* One attempt: netd carries the body. */
static void ask_netd(struct kms_phase *k)
{
	int sock = supervisor_role_sock(ROLE_NETD);
	int r;

	if (!k->netd_up || sock < 0) {
		k->st = KP_BACKOFF;   /* again when netd is ready */
		k->due = 0;
		return;
	}
	k->t_attempt = mono_ms();
	if (k->attempts == 0)
		k->t_first = k->t_attempt;
	k->attempts++;
	r = imsg_send(sock, IMSG_NETD_KMS_REQ, ++k->req_id, &k->nreq, sizeof k->nreq, &k->body_fd, 1);
	if (r < 0) {
		char why[96];
		snprintf(why, sizeof why, "init: cannot hand netd the request: %s", strerror(-r));
		attempt_failed(k, why);
		return;
	}
	k->st = KP_NETD;
}

static void maybe_start(struct kms_phase *k)
{
	if (k->st == KP_WAITING && k->keyd_up && k->netd_up)
		ask_keyd(k);
	else if (k->st == KP_BACKOFF && k->due == 0 && k->netd_up)
		ask_netd(k);
}

void kms_phase_keyd(struct kms_phase *k, bool up)
{
	k->keyd_up = up;
	if (k->st == KP_KEYD && !up)
		k->st = KP_WAITING;   /* its answer will not come: ask the next keyd */
	maybe_start(k);
}

void kms_phase_netd(struct kms_phase *k, bool up)
{
	k->netd_up = up;
	if (k->st == KP_NETD && !up) {
		k->st = KP_BACKOFF;   /* its answer will not come: ask the next netd */
		k->due = 0;
	}
	maybe_start(k);
}

int kms_phase_keyd_reply(struct kms_phase *k, const struct imsg *m)
{
	struct keyd_kms_reply_msg rep;

	memcpy(&rep, m->payload, sizeof rep);
	if ((rep.error == 0) != (m->nfds == 1) || rep.body_len > KEYD_KMS_BODY_MAX)
		return -EBADMSG;
	if (k->st != KP_KEYD)
		return 0;
	if (rep.error != 0) {
		refuse(k, WHY "keyd: %.*s", (int)strnlen(rep.detail, sizeof rep.detail), rep.detail);
		return 0;
	}
	k->body_fd = fcntl(m->fds[0], F_DUPFD_CLOEXEC, 3);
	if (k->body_fd < 0) {
		refuse(k, WHY "keeping keyd's request: %s", strerror(errno));
		return 0;
	}
	dlog("store: key provider kms: keyd wrote the request (%u bytes, key-provider event "
	     "recorded, %llu ms)", rep.body_len, (unsigned long long)(mono_ms() - k->t_keyd));
	ask_netd(k);
	return 0;
}

/* The child's side: the wrap opened, the store formatted or opened; only
 * the status goes back. */
static _Noreturn void child(struct kms_phase *k, const struct netd_kms_reply_msg *rep, int out)
{
	struct datastore_status st = *k->store;
	uint8_t key[KW_KEY_LEN];
	char err[ERRBUF_LEN - (sizeof WHY - 1)];

	signal(SIGCHLD, SIG_DFL);
	if (kms_exchange_open(&k->x, rep, key, err, sizeof err) < 0) {
		st.state = STORE_INFO_REFUSED;
		snprintf(st.reason, sizeof st.reason, WHY "%s", err);
	} else {
		datastore_finish(k->policy, key, &st);
	}
	explicit_bzero(key, sizeof key);
	kms_exchange_wipe(&k->x);
	ssize_t n = write(out, &st, sizeof st);
	explicit_bzero(&st, sizeof st);
	_exit(n == (ssize_t)sizeof st ? 0 : 1);
}

static int pidfd_open_(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

static void kill_child(struct kms_phase *k)
{
	if (k->child_pidfd >= 0)
		syscall(SYS_pidfd_send_signal, k->child_pidfd, SIGKILL, NULL, 0);
}

/* The child's status is in (or it failed: r < 0): settle. The supervisor
 * reaps the child like any orphan. */
static void child_done(struct kms_phase *k, int r)
{
	struct datastore_status *st = &k->child_st;

	supervisor_unwatch(k->child_fd);
	close(k->child_fd);
	k->child_fd = -1;
	if (r < 0)
		kill_child(k);   /* timed out or broke the pipe: it must not go on */
	if (k->child_pidfd >= 0)
		close(k->child_pidfd);
	k->child_pidfd = -1;
	datastore_forget();
	if (r < 0 || (st->state != STORE_INFO_OPEN && st->state != STORE_INFO_FORMATTED &&
		      st->state != STORE_INFO_REFUSED)) {
		explicit_bzero(st, sizeof *st);
		k->fresh_len = 0;
		refuse(k, WHY "the child opening the store gave no status (%s)",
		       strerror(r < 0 ? -r : EBADMSG));
		return;
	}
	st->reason[sizeof st->reason - 1] = '\0';
	st->disk[sizeof st->disk - 1] = '\0';
	if (st->state == STORE_INFO_REFUSED)
		k->fresh_len = 0;
	*k->store = *st;
	explicit_bzero(st, sizeof *st);
	settle(k);
}

void kms_phase_child_ready(struct kms_phase *k, int fd)
{
	if (k->st != KP_CHILD || fd != k->child_fd)
		return;
	while (k->child_got < sizeof k->child_st) {
		ssize_t n = read(fd, (char *)&k->child_st + k->child_got,
				 sizeof k->child_st - k->child_got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;   /* the rest comes later */
		if (n <= 0) {
			child_done(k, n < 0 ? -errno : -EPIPE);
			return;
		}
		k->child_got += (size_t)n;
	}
	child_done(k, 0);
}

/* Step 7: a child opens the wrap and formats or opens the store (mke2fs's
 * time); init's loop goes on and collects its status from the pipe. */
static void open_in_child(struct kms_phase *k, const struct netd_kms_reply_msg *rep)
{
	int pfd[2], r;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		refuse(k, WHY "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		refuse(k, WHY "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(pfd[0]);
		child(k, rep, pfd[1]);
	}
	close(pfd[1]);
	kms_exchange_wipe(&k->x);   /* the parent never opens the wrap */
	/* before the loop can reap it: the pidfd names this child only */
	k->child_pidfd = pidfd_open_(pid);
	k->child_fd = pfd[0];
	k->child_got = 0;
	k->child_due = mono_ms() + KMS_PHASE_CHILD_MS;
	if (rep->has_freshness && rep->freshness_len <= NETD_KMS_FRESH_MAX) {
		/* kept only if the child's key_wrap_open, which binds it, succeeds */
		k->fresh_len = rep->freshness_len;
		memcpy(k->fresh, rep->freshness, rep->freshness_len);
		k->fresh[k->fresh_len] = '\0';
	}
	k->st = KP_CHILD;
	if (k->child_pidfd < 0) {
		r = -errno;
		kill(pid, SIGKILL);   /* not reaped yet: the pid is still this child */
		child_done(k, r);
		return;
	}
	r = fcntl(k->child_fd, F_SETFL, O_NONBLOCK) != 0 ? -errno : supervisor_watch(k->child_fd);
	if (r < 0) {
		child_done(k, r);
		return;
	}
	supervisor_set_tick(k->child_due);
}

int kms_phase_netd_reply(struct kms_phase *k, const struct imsg *m)
{
	static struct netd_kms_reply_msg rep;   /* 1.5 KiB; PID 1's stack stays small */
	uint64_t now = mono_ms();

	memcpy(&rep, m->payload, sizeof rep);
	rep.reason[sizeof rep.reason - 1] = '\0';
	if (k->st != KP_NETD || m->hdr.id != k->req_id)
		return 0;   /* an answer to an attempt given up */
	if (rep.error == 0) {
		dlog("store: key provider kms: a wrapped key from the KMS (attempt %u, %llu ms)",
		     k->attempts, (unsigned long long)(now - k->t_attempt));
		k->released = true;
		open_in_child(k, &rep);
		return 0;
	}
	if (!kms_phase_retryable(&rep))
		refuse(k, WHY "%s", rep.reason);
	else
		attempt_failed(k, rep.reason);
	return 0;
}

void kms_phase_tick(struct kms_phase *k)
{
	if (k->st == KP_CHILD) {
		if (mono_ms() >= k->child_due)
			child_done(k, -ETIMEDOUT);
		else
			supervisor_set_tick(k->child_due);
		return;
	}
	if (k->st != KP_BACKOFF || k->due == 0)
		return;
	if (mono_ms() < k->due) {
		supervisor_set_tick(k->due);
		return;
	}
	k->due = 0;
	ask_netd(k);
}
