/* tests/fake_sandboxd.h: a fake sandboxd for the function routes' tests,
 * over a real SEQPACKET socketpair and the wire format of
 * proto/netd_sandboxd.h: netd's side (api_state.request_sbx, sbx_done)
 * sends each request with its own sequence number and descriptors; the
 * test, playing sandboxd, reads it (sbx_next) and answers (sbx_answer,
 * sbx_answer_fd, sbx_worker); sbx_deliver() then hands every reply that
 * arrived to api_fn_reply() as netd's loop does (descriptors included).
 * Worker descriptors the API watches are recorded in sbx_watch[], and
 * sbx_pump() plays the event loop for them with poll(). Uses
 * tests/api_conn.h's st and conn. */
#ifndef DSHIELD_TESTS_FAKE_SANDBOXD_H
#define DSHIELD_TESTS_FAKE_SANDBOXD_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/imsg.h"
#include "net/api.h"
#include "proto/netd_sandboxd.h"
#include "tests/api_conn.h"

static int sbx_sv[2] = { -1, -1 };   /* [0] netd's end, [1] sandboxd's */
static uint32_t sbx_seq;
static struct imsg sbx_q;             /* the request sandboxd read last */
static struct sbx_req_msg sbx_req;    /* its fixed part */
static struct imsg sbx_a;
static struct sbx_done_msg sbx_last_done;
static unsigned sbx_dones;
static bool sbx_conn_gone;            /* find_conn says the client left */

#define SBX_WATCH_MAX 16
static struct { int fd; uint32_t ev; } sbx_watch[SBX_WATCH_MAX];

__attribute__((unused))
static int fake_request_sbx(void *ctx, uint32_t conn_id, const void *m, size_t len, int fd,
			    uint32_t *seq)
{
	(void)ctx;
	(void)conn_id;
	if (sbx_sv[0] < 0)
		return -ENOTCONN;
	if (++sbx_seq == 0)
		sbx_seq = 1;
	int r = imsg_send(sbx_sv[0], IMSG_SBX_REQ, sbx_seq, m, len, fd >= 0 ? &fd : NULL,
			  fd >= 0 ? 1 : 0);
	if (r < 0)
		return r;
	*seq = sbx_seq;
	return 0;
}

__attribute__((unused))
static int fake_sbx_done(void *ctx, const struct sbx_done_msg *m)
{
	(void)ctx;
	sbx_last_done = *m;
	sbx_dones++;
	return 0;
}

__attribute__((unused))
static int fake_watch_fd(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	for (int i = 0; i < SBX_WATCH_MAX; i++)
		if (sbx_watch[i].fd == fd && sbx_watch[i].ev != 0) {
			sbx_watch[i].ev = events;
			return 0;
		}
	if (events == 0)
		return -ENOENT;
	for (int i = 0; i < SBX_WATCH_MAX; i++)
		if (sbx_watch[i].ev == 0) {
			sbx_watch[i].fd = fd;
			sbx_watch[i].ev = events;
			return 0;
		}
	abort();
}

__attribute__((unused))
static struct http_conn *fake_find_conn(void *ctx, uint32_t id)
{
	(void)ctx;
	return !sbx_conn_gone && id == conn.id ? &conn : NULL;
}

/* How many descriptors the API still watches. */
__attribute__((unused))
static unsigned sbx_watched(void)
{
	unsigned n = 0;

	for (int i = 0; i < SBX_WATCH_MAX; i++)
		n += sbx_watch[i].ev != 0;
	return n;
}

/* The event loop over the watched descriptors until nothing is ready
 * (timeout_ms for each wait). Returns how many events were handled. */
__attribute__((unused))
static unsigned sbx_pump(int timeout_ms)
{
	unsigned handled = 0;

	for (int round = 0; round < 100000; round++) {
		struct pollfd p[SBX_WATCH_MAX];
		int idx[SBX_WATCH_MAX], n = 0;
		for (int i = 0; i < SBX_WATCH_MAX; i++) {
			if (sbx_watch[i].ev == 0)
				continue;
			p[n].fd = sbx_watch[i].fd;
			p[n].events = (short)((sbx_watch[i].ev & EPOLLIN ? POLLIN : 0) |
					      (sbx_watch[i].ev & EPOLLOUT ? POLLOUT : 0));
			p[n].revents = 0;
			idx[n++] = i;
		}
		if (n == 0 || poll(p, (nfds_t)n, timeout_ms) <= 0)
			return handled;
		for (int k = 0; k < n; k++) {
			uint32_t ev = 0;
			if (p[k].revents == 0 || sbx_watch[idx[k]].fd != p[k].fd ||
			    sbx_watch[idx[k]].ev == 0)
				continue;
			ev |= p[k].revents & POLLIN ? EPOLLIN : 0;
			ev |= p[k].revents & POLLOUT ? EPOLLOUT : 0;
			ev |= p[k].revents & POLLHUP ? EPOLLHUP : 0;
			ev |= p[k].revents & POLLERR ? EPOLLERR : 0;
			api_fn_io(&st, p[k].fd, ev);
			handled++;
		}
	}
	return handled;
}

__attribute__((unused))
static void sbx_close(void)
{
	for (int i = 0; i < 2; i++) {
		if (sbx_sv[i] >= 0)
			close(sbx_sv[i]);
		sbx_sv[i] = -1;
	}
}

__attribute__((unused))
static void sbx_open(void)
{
	sbx_close();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sbx_sv) != 0)
		abort();
	for (int i = 0; i < 2; i++)
		fcntl(sbx_sv[i], F_SETFL, fcntl(sbx_sv[i], F_GETFL) | O_NONBLOCK);
}

/* sandboxd reads the next request: its op, or 0 when there is none. The
 * descriptors stay in sbx_q (closed at the next read). */
__attribute__((unused))
static unsigned sbx_next(void)
{
	imsg_close_fds(&sbx_q);
	if (sbx_sv[1] < 0 || imsg_recv(sbx_sv[1], &sbx_q) < 0 || sbx_q.hdr.type != IMSG_SBX_REQ ||
	    sbx_q.hdr.len < sizeof sbx_req)
		return 0;
	memcpy(&sbx_req, sbx_q.payload, sizeof sbx_req);
	return sbx_req.op;
}

/* The inline bytes of the request read last. */
__attribute__((unused))
static const char *sbx_inline(size_t *len)
{
	*len = sbx_q.hdr.len - sizeof sbx_req;
	return (const char *)sbx_q.payload + sizeof sbx_req;
}

static void sbx_send(const struct sbx_reply_msg *r, const void *body, size_t len, const int *fds,
		     unsigned nfds)
{
	static uint8_t buf[IMSG_MAX_PAYLOAD];

	memcpy(buf, r, sizeof *r);
	if (len)
		memcpy(buf + sizeof *r, body, len);
	if (imsg_send(sbx_sv[1], IMSG_SBX_REPLY, sbx_q.hdr.id, buf, sizeof *r + len, fds, nfds) < 0)
		abort();
}

/* netd's loop: every reply that arrived goes to the API (for conn). */
__attribute__((unused))
static unsigned sbx_deliver(void)
{
	unsigned n = 0;

	while (sbx_sv[0] >= 0 && imsg_recv(sbx_sv[0], &sbx_a) == 0) {
		struct sbx_reply_msg r;
		int fds[IMSG_MAX_FDS];
		unsigned nfds = sbx_a.nfds;
		if (sbx_a.hdr.type == IMSG_SBX_REPLY && sbx_a.hdr.len >= sizeof r) {
			memcpy(&r, sbx_a.payload, sizeof r);
			for (unsigned i = 0; i < nfds; i++)
				fds[i] = imsg_take_fd(&sbx_a, i);
			api_fn_reply(&st, fake_find_conn(NULL, conn.id), sbx_a.hdr.id, &r,
				     sbx_a.payload + sizeof r, sbx_a.hdr.len - sizeof r, fds, nfds);
		}
		imsg_close_fds(&sbx_a);
		n++;
	}
	return n;
}

/* sandboxd answers the request it read last with status and an inline
 * body (or, status >= 400, code and message). */
__attribute__((unused))
static void sbx_answer(int status, const char *code, const char *message, const char *body)
{
	struct sbx_reply_msg r;

	memset(&r, 0, sizeof r);
	r.status = (uint16_t)status;
	if (status >= 400) {
		r.error = -EPERM;
		snprintf(r.code, sizeof r.code, "%s", code);
		snprintf(r.message, sizeof r.message, "%s", message);
	}
	r.body_len = body ? strlen(body) : 0;
	sbx_send(&r, body, (size_t)r.body_len, NULL, 0);
	sbx_deliver();
}

/* The same with the body in a memfd (sealed unless seal is false). */
__attribute__((unused))
static void sbx_answer_fd(int status, const void *body, size_t len, bool sealed)
{
	struct sbx_reply_msg r;
	int fd = memfd_create("fake-body", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || write(fd, body, len) != (ssize_t)len)
		abort();
	if (sealed)
		fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	memset(&r, 0, sizeof r);
	r.status = (uint16_t)status;
	r.body_in_fd = 1;
	r.body_len = len;
	sbx_send(&r, NULL, 0, &fd, 1);
	close(fd);
	sbx_deliver();
}

/* The code hash sandboxd's invocation replies carry. */
static uint8_t sbx_code_sha256[32];

/* sandboxd answers an SBX_INVOKE with a worker: fds[0..nfds) and limits. */
__attribute__((unused))
static void sbx_worker(uint8_t kind, uint64_t worker, const int *fds, unsigned nfds,
		       uint32_t timeout_ms, uint32_t output_max)
{
	struct sbx_reply_msg r;

	memset(&r, 0, sizeof r);
	r.status = 200;
	r.worker_kind = kind;
	r.worker = worker;
	r.timeout_ms = timeout_ms;
	r.output_max = output_max;
	memcpy(r.code_sha256, sbx_code_sha256, 32);
	snprintf(r.runtime, sizeof r.runtime, "%s", kind == SBX_WORKER_NATIVE ? "native" : "python");
	sbx_send(&r, NULL, 0, fds, nfds);
	sbx_deliver();
}

__attribute__((unused))
static void sbx_worker_end(uint64_t worker, uint8_t reason, int32_t status)
{
	struct sbx_worker_end_msg m = { .worker = worker, .reason = reason, .status = status };

	api_fn_worker_end(&st, &m);
}

#endif
