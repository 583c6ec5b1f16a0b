/* lib/http_sock.c: the HTTP core over kernel sockets; see http_sock.h.
 *
 * Level-triggered epoll. A connection is watched for input only while the
 * core has room for it (http_conn_room), and for output only while a send
 * would not complete, so a PENDING or slow-reading peer never spins the
 * loop. Deadlines are the core's: epoll_wait sleeps until the earliest one
 * (at most 100 ms, to notice *stop), then the pool is ticked.
 */
#include "lib/http_sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include "lib/clock.h"
#include "lib/log.h"

#define POLL_MAX_MS  100
#define SERVICE_ROUNDS 16   /* read/write rounds per wake-up, for fairness */
/* After the last response we shut our side and drain what the peer still
 * sends, this long at most: closing with unread input makes the kernel send
 * a RST, which can destroy the response in flight (a 413 the client is
 * still uploading over). */
#define LINGER_MS 2000

struct sock_conn {
	int fd;                  /* -1: free slot */
	bool eof;                /* the peer closed its side */
	bool answered_close;     /* the core sent its last response */
	uint64_t linger_until;   /* 0, or lingering until then */
	uint32_t events;         /* what epoll watches now */
	struct http_conn http;
};

struct sock_server {
	const struct http_server *srv;
	int ep;
	int lfd;
	bool listening;          /* lfd is watched (not while the pool is full) */
	unsigned used;
	uint32_t next_id;
	uint64_t next_tick;
	struct sock_conn *pool;
};

static void watch_listener(struct sock_server *s, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.u64 = 0 };

	if (s->listening != on && epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &ev) == 0)
		s->listening = on;
}

static void conn_close(struct sock_server *s, struct sock_conn *sc)
{
	http_conn_release(&sc->http);
	close(sc->fd);          /* also drops it from the epoll set */
	sc->fd = -1;
	s->used--;
	watch_listener(s, true);
}

/* Sends what the core has; false on a fatal socket error. */
static bool conn_flush(struct sock_conn *sc, bool *blocked)
{
	size_t len;
	const uint8_t *out;

	*blocked = false;
	while ((out = http_conn_output(&sc->http, &len), len > 0)) {
		if (http_conn_state(&sc->http) == HTTP_CONN_CLOSING)
			sc->answered_close = true;
		ssize_t n = send(sc->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				*blocked = true;
				return true;
			}
			return false;
		}
		http_conn_sent(&sc->http, (size_t)n, mono_ms());
	}
	return true;
}

/* Reads once into the core; false on a fatal socket error. *progress tells
 * whether anything happened (bytes or EOF). */
static bool conn_read(struct sock_conn *sc, bool *progress)
{
	uint8_t buf[HTTP_MAX_HEAD];
	size_t room = http_conn_room(&sc->http);
	ssize_t n;

	*progress = false;
	if (room == 0 || sc->eof)
		return true;
	if (room > sizeof buf)
		room = sizeof buf;
	n = recv(sc->fd, buf, room, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	*progress = true;
	if (n == 0) {
		sc->eof = true;
		http_conn_eof(&sc->http);
		return true;
	}
	/* room bytes always fit, so the core takes them all. */
	http_conn_feed(&sc->http, buf, (size_t)n, mono_ms());
	return true;
}

/* Has epoll watch events on sc (when they changed). Returns false when
 * that failed and sc is closed. */
static bool conn_watch(struct sock_server *s, struct sock_conn *sc, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	if (events == sc->events)
		return true;
	ev.data.u64 = (uint64_t)(sc - s->pool) + 1;
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, sc->fd, &ev) < 0) {
		conn_close(s, sc);
		return false;
	}
	sc->events = events;
	return true;
}

/* Makes epoll watch what the connection waits for, or closes it. */
static void conn_settle(struct sock_server *s, struct sock_conn *sc, bool blocked)
{
	enum http_conn_state st = http_conn_state(&sc->http);
	uint32_t events = 0;
	uint64_t dl;

	if (st == HTTP_CONN_CLOSED && sc->linger_until == 0) {
		if (!sc->answered_close || sc->eof || shutdown(sc->fd, SHUT_WR) < 0) {
			conn_close(s, sc);
			return;
		}
		sc->linger_until = mono_ms() + LINGER_MS;
	}
	if (sc->linger_until) {
		if (!conn_watch(s, sc, EPOLLIN))
			return;
		if (sc->linger_until < s->next_tick)
			s->next_tick = sc->linger_until;
		return;
	}
	if (!sc->eof && http_conn_room(&sc->http) > 0)
		events |= EPOLLIN;
	if (blocked)
		events |= EPOLLOUT;
	if (!conn_watch(s, sc, events))
		return;
	dl = http_conn_deadline(&sc->http);
	if (dl < s->next_tick)
		s->next_tick = dl;
}

/* Discards what a lingering peer sends; closes on EOF or error. */
static void conn_drain(struct sock_server *s, struct sock_conn *sc)
{
	uint8_t buf[4096];

	for (int round = 0; round < SERVICE_ROUNDS; round++) {
		ssize_t n = recv(sc->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			conn_close(s, sc);
			return;
		}
	}
}

static void conn_service(struct sock_server *s, struct sock_conn *sc)
{
	bool blocked = false, progress;

	if (sc->linger_until) {
		conn_drain(s, sc);
		return;
	}

	for (int round = 0; round < SERVICE_ROUNDS; round++) {
		if (!conn_flush(sc, &blocked) || !conn_read(sc, &progress)) {
			conn_close(s, sc);
			return;
		}
		if (!progress || http_conn_state(&sc->http) == HTTP_CONN_CLOSED)
			break;
	}
	if (!conn_flush(sc, &blocked)) {
		conn_close(s, sc);
		return;
	}
	conn_settle(s, sc, blocked);
}

static void accept_all(struct sock_server *s)
{
	for (;;) {
		struct sock_conn *sc = NULL;
		struct epoll_event ev;
		int fd, one = 1;

		for (unsigned i = 0; i < HTTP_SOCK_MAX_CONNS; i++) {
			if (s->pool[i].fd < 0) {
				sc = &s->pool[i];
				break;
			}
		}
		if (!sc) {
			/* Leave the rest in the backlog until a slot frees. */
			watch_listener(s, false);
			return;
		}
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				dlog("http: accept: %d", errno);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		sc->fd = fd;
		sc->eof = false;
		sc->answered_close = false;
		sc->linger_until = 0;
		sc->events = EPOLLIN;
		if (++s->next_id == 0)
			s->next_id = 1;
		http_conn_init(&sc->http, s->srv, s->next_id, mono_ms());
		ev.events = EPOLLIN;
		ev.data.u64 = (uint64_t)(sc - s->pool) + 1;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			sc->fd = -1;
			continue;
		}
		s->used++;
		conn_settle(s, sc, false);
	}
}

/* Ticks every connection; a timeout may leave a 408/504 to send. */
static void tick_all(struct sock_server *s, uint64_t now)
{
	s->next_tick = UINT64_MAX;
	for (unsigned i = 0; i < HTTP_SOCK_MAX_CONNS; i++) {
		struct sock_conn *sc = &s->pool[i];
		bool blocked;

		if (sc->fd < 0)
			continue;
		if (sc->linger_until) {
			if (now >= sc->linger_until)
				conn_close(s, sc);
			else if (sc->linger_until < s->next_tick)
				s->next_tick = sc->linger_until;
			continue;
		}
		http_conn_tick(&sc->http, now);
		if (!conn_flush(sc, &blocked)) {
			conn_close(s, sc);
			continue;
		}
		conn_settle(s, sc, blocked);
	}
}

static int serve_loop(struct sock_server *s, volatile sig_atomic_t *stop)
{
	struct epoll_event evs[64];

	while (!*stop) {
		uint64_t now = mono_ms();
		int timeout = POLL_MAX_MS, n;

		if (s->next_tick <= now)
			tick_all(s, now);
		if (s->next_tick - now < (uint64_t)timeout && s->next_tick > now)
			timeout = (int)(s->next_tick - now);
		n = epoll_wait(s->ep, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			uint64_t slot = evs[i].data.u64;
			if (slot == 0) {
				accept_all(s);
				continue;
			}
			struct sock_conn *sc = &s->pool[slot - 1];
			if (sc->fd < 0)
				continue;
			/* HUP: both directions are gone, nothing can be sent. */
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				conn_close(s, sc);
			else
				conn_service(s, sc);
		}
	}
	return 0;
}

int http_sock_serve(int listen_fd, const struct http_server *srv,
		    volatile sig_atomic_t *stop)
{
	struct sock_server s = { .srv = srv, .lfd = listen_fd, .next_tick = UINT64_MAX };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	int flags, rc;

	flags = fcntl(listen_fd, F_GETFL);
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	s.pool = calloc(HTTP_SOCK_MAX_CONNS, sizeof *s.pool);
	if (!s.pool)
		return -ENOMEM;
	for (unsigned i = 0; i < HTTP_SOCK_MAX_CONNS; i++)
		s.pool[i].fd = -1;
	s.ep = epoll_create1(EPOLL_CLOEXEC);
	if (s.ep < 0) {
		rc = -errno;
		free(s.pool);
		return rc;
	}
	if (epoll_ctl(s.ep, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
		rc = -errno;
		close(s.ep);
		free(s.pool);
		return rc;
	}
	s.listening = true;
	rc = serve_loop(&s, stop);
	for (unsigned i = 0; i < HTTP_SOCK_MAX_CONNS; i++)
		if (s.pool[i].fd >= 0)
			close(s.pool[i].fd);
	close(s.ep);
	free(s.pool);
	return rc;
}
