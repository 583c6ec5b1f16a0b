/* tests/test_imsg.c: imsg framing, descriptor passing and refusal paths. */
#include "lib/imsg.h"
#include "proto/init_netd.h"
#include "tests/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define FD_SCAN 512

static struct imsg msg;   /* 16 KiB: keep it off the stack */

static void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		perror("socketpair");
		exit(2);
	}
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

/* Which descriptor numbers are open right now (fcntl F_GETFD probe). */
static void fd_snapshot(unsigned char open_[FD_SCAN])
{
	for (int fd = 0; fd < FD_SCAN; fd++)
		open_[fd] = fcntl(fd, F_GETFD) != -1;
}

static int fd_snapshot_same(const unsigned char a[FD_SCAN],
			    const unsigned char b[FD_SCAN])
{
	for (int fd = 0; fd < FD_SCAN; fd++) {
		if (a[fd] != b[fd]) {
			diag("fd %d was %s, is %s", fd, a[fd] ? "open" : "closed",
			     b[fd] ? "open" : "closed");
			return 0;
		}
	}
	return 1;
}

/* Sends arbitrary bytes and descriptors, bypassing imsg_send's checks, the
 * way a buggy or hostile peer would. */
static ssize_t raw_send(int sock, const void *buf, size_t len,
			const int *fds, unsigned nfds)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	return imsg_send_raw(sock, &iov, 1, fds, nfds);
}

static void test_round_trip(void)
{
	int sv[2], p[2];
	struct netd_status_msg st = { .state = NETD_STATE_READY, .ipv4_addr = 0x01020304,
				      .t_ms = 123456789, .dhcp = 1 };
	struct netd_status_msg got;
	char buf[8];

	pair(sv);
	if (pipe2(p, O_CLOEXEC) != 0)
		exit(2);
	is_int(imsg_send(sv[0], IMSG_NETD_STATUS, 77, &st, sizeof st, &p[0], 1), 0,
	       "send status with one fd");
	is_int(imsg_recv(sv[1], &msg), 0, "recv status with one fd");
	is_int(msg.hdr.type, IMSG_NETD_STATUS, "type kept");
	is_int(msg.hdr.id, 77, "id kept");
	is_int(msg.hdr.len, sizeof st, "len kept");
	is_int(msg.nfds, 1, "one fd received");
	is_int(imsg_get(&msg, IMSG_NETD_STATUS, &got, sizeof got), 0, "imsg_get ok");
	is_mem(&got, &st, sizeof st, "payload identical");
	ok(msg.fds[0] >= 0 && msg.fds[0] != p[0], "received fd is a new descriptor");
	ok(fcntl(msg.fds[0], F_GETFD) & FD_CLOEXEC, "received fd is close-on-exec");

	int rfd = imsg_take_fd(&msg, 0);
	ok(rfd >= 0, "take fd 0");
	is_int(imsg_take_fd(&msg, 0), -1, "fd 0 taken only once");
	is_int(imsg_take_fd(&msg, 1), -1, "fd 1 absent");
	is_int(write(p[1], "hello", 5), 5, "write into pipe");
	is_int(read(rfd, buf, sizeof buf), 5, "read through the passed fd");
	is_mem(buf, "hello", 5, "passed fd is the pipe");
	close(rfd);
	close(p[0]);
	close(p[1]);
	close_pair(sv);
}

static void test_zero_and_max(void)
{
	int sv[2];
	static uint8_t big[IMSG_MAX_PAYLOAD + 1];

	pair(sv);
	is_int(imsg_send(sv[0], IMSG_KADDR_REQ, 5, NULL, 0, NULL, 0), 0,
	       "send zero-length payload");
	is_int(imsg_recv(sv[1], &msg), 0, "recv zero-length payload");
	is_int(msg.hdr.len, 0, "len 0");
	is_int(msg.hdr.id, 5, "id 5");
	is_int(msg.nfds, 0, "no fds");
	is_int(imsg_get(&msg, IMSG_KADDR_REQ, NULL, 0), 0, "imsg_get of empty payload");

	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	is_int(imsg_send(sv[0], 9, 0, big, IMSG_MAX_PAYLOAD, NULL, 0), 0,
	       "send max payload");
	is_int(imsg_recv(sv[1], &msg), 0, "recv max payload");
	is_int(msg.hdr.len, IMSG_MAX_PAYLOAD, "max len");
	is_mem(msg.payload, big, IMSG_MAX_PAYLOAD, "max payload intact");

	is_int(imsg_send(sv[0], 9, 0, big, IMSG_MAX_PAYLOAD + 1, NULL, 0), -EMSGSIZE,
	       "oversized payload refused by sender");
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		exit(2);
	int fds[IMSG_MAX_FDS + 1] = { p[0], p[1], p[0], p[1], p[0] };
	is_int(imsg_send(sv[0], 9, 0, NULL, 0, fds, IMSG_MAX_FDS + 1), -EMSGSIZE,
	       "too many fds refused by sender");
	is_int(imsg_send(sv[0], 9, 0, NULL, 0, fds, IMSG_MAX_FDS), 0,
	       "IMSG_MAX_FDS fds accepted");
	is_int(imsg_recv(sv[1], &msg), 0, "recv IMSG_MAX_FDS fds");
	is_int(msg.nfds, IMSG_MAX_FDS, "all fds arrived");
	imsg_close_fds(&msg);
	is_int(msg.nfds, 0, "imsg_close_fds empties msg");
	close(p[0]);
	close(p[1]);
	close_pair(sv);
}

static void test_malformed(void)
{
	int sv[2], p[2];
	unsigned char before[FD_SCAN], after[FD_SCAN];
	static uint8_t big[sizeof(struct imsg_hdr) + IMSG_MAX_PAYLOAD + 1];
	struct imsg_hdr h;

	pair(sv);
	if (pipe2(p, O_CLOEXEC) != 0)
		exit(2);
	int fds6[6] = { p[0], p[1], p[0], p[1], p[0], p[1] };

	/* shorter than a header */
	fd_snapshot(before);
	is_int(raw_send(sv[0], "abcde", 5, fds6, 2), 5, "raw 5-byte datagram sent");
	is_int(imsg_recv(sv[1], &msg), -EBADMSG, "short datagram: -EBADMSG");
	fd_snapshot(after);
	ok(fd_snapshot_same(before, after), "short datagram: its fds were closed");
	is_int(msg.nfds, 0, "short datagram: msg owns no fds");

	/* header says 10 bytes, 4 follow */
	uint8_t buf[sizeof h + 4];
	h = (struct imsg_hdr){ .type = 1, .len = 10, .id = 0 };
	memcpy(buf, &h, sizeof h);
	memset(buf + sizeof h, 'x', 4);
	is_int(raw_send(sv[0], buf, sizeof buf, fds6, 3), (ssize_t)sizeof buf,
	       "raw datagram with lying header sent");
	is_int(imsg_recv(sv[1], &msg), -EBADMSG, "len disagreeing with bytes: -EBADMSG");
	fd_snapshot(after);
	ok(fd_snapshot_same(before, after), "lying header: its fds were closed");

	/* header says 0 bytes, 4 follow (longer than announced) */
	h.len = 0;
	memcpy(buf, &h, sizeof h);
	is_int(raw_send(sv[0], buf, sizeof buf, NULL, 0), (ssize_t)sizeof buf,
	       "raw datagram with trailing bytes sent");
	is_int(imsg_recv(sv[1], &msg), -EBADMSG, "trailing bytes: -EBADMSG");

	/* one byte more than a maximal message, with fds: truncated, refused */
	h = (struct imsg_hdr){ .type = 1, .len = IMSG_MAX_PAYLOAD + 1, .id = 0 };
	memcpy(big, &h, sizeof h);
	is_int(raw_send(sv[0], big, sizeof big, fds6, 2), (ssize_t)sizeof big,
	       "oversized raw datagram sent");
	is_int(imsg_recv(sv[1], &msg), -EMSGSIZE, "oversized datagram: -EMSGSIZE");
	fd_snapshot(after);
	ok(fd_snapshot_same(before, after), "oversized datagram: its fds were closed");
	is_int(msg.nfds, 0, "oversized datagram: msg owns no fds");

	/* more descriptors than IMSG_MAX_FDS: control data truncated */
	h = (struct imsg_hdr){ .type = 1, .len = 0, .id = 0 };
	is_int(raw_send(sv[0], &h, sizeof h, fds6, 6), (ssize_t)sizeof h,
	       "datagram with 6 fds sent");
	is_int(imsg_recv(sv[1], &msg), -EMSGSIZE, "too many fds: -EMSGSIZE");
	fd_snapshot(after);
	ok(fd_snapshot_same(before, after), "too many fds: none left open");

	/* the stream is still in sync after refusals */
	is_int(imsg_send(sv[0], 42, 1, "ok", 2, NULL, 0), 0, "good message after bad ones");
	is_int(imsg_recv(sv[1], &msg), 0, "good message received");
	is_int(msg.hdr.type, 42, "good message type");
	is_mem(msg.payload, "ok", 2, "good message payload");

	close(p[0]);
	close(p[1]);
	close_pair(sv);
}

static void test_nonblocking_and_close(void)
{
	int sv[2];
	pair(sv);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0)
		exit(2);
	is_int(imsg_recv(sv[1], &msg), -EAGAIN, "empty non-blocking socket: -EAGAIN");

	static uint8_t chunk[IMSG_MAX_PAYLOAD];
	int r = 0, sent = 0;
	while (sent < 10000 && (r = imsg_send(sv[0], 1, 0, chunk, sizeof chunk, NULL, 0)) == 0)
		sent++;
	is_int(r, -EAGAIN, "full non-blocking socket: -EAGAIN (after %d messages)", sent);

	close(sv[0]);
	int drained = 0;
	while ((r = imsg_recv(sv[1], &msg)) == 0)
		drained++;
	is_int(drained, sent, "queued messages still readable after peer closed");
	is_int(r, -EPIPE, "peer closed: recv -EPIPE");
	is_int(imsg_send(sv[1], 1, 0, NULL, 0, NULL, 0), -EPIPE, "peer closed: send -EPIPE");
	close(sv[1]);
}

static void test_get(void)
{
	struct netd_status_msg st;
	struct kaddr_reply_msg kr;
	memset(&msg, 0, sizeof msg);
	msg.hdr.type = IMSG_NETD_STATUS;
	msg.hdr.len = sizeof st;
	is_int(imsg_get(&msg, IMSG_NETD_STATUS, &st, sizeof st), 0, "get: right type and size");
	is_int(imsg_get(&msg, IMSG_KADDR_REPLY, &st, sizeof st), -EBADMSG, "get: wrong type");
	is_int(imsg_get(&msg, IMSG_NETD_STATUS, &kr, sizeof kr), -EBADMSG, "get: wrong size (larger)");
	is_int(imsg_get(&msg, IMSG_NETD_STATUS, &st, sizeof st - 1), -EBADMSG, "get: wrong size (smaller)");
	msg.hdr.len = IMSG_MAX_PAYLOAD + 100;
	is_int(imsg_get(&msg, IMSG_NETD_STATUS, &st, IMSG_MAX_PAYLOAD + 100), -EBADMSG,
	       "get: size beyond the payload buffer");
}

/* imsg_drain: every message to on_msg, unreadable ones to on_bad, the
 * budget honoured, fds left in a message closed, -EPIPE at the end, and a
 * handler that closes the channel stops the loop. */
struct drain_seen {
	int msgs, bad, fd_left, close_at;
	int *sock;
};

static void drain_msg(void *ctx, struct imsg *m)
{
	struct drain_seen *s = ctx;
	if (m->nfds == 1)
		s->fd_left = m->fds[0];       /* left for imsg_drain to close */
	if (++s->msgs == s->close_at)
		*s->sock = -1;
}

static void drain_bad(void *ctx, int err)
{
	struct drain_seen *s = ctx;
	s->bad += err == -EBADMSG;
}

static void test_drain(void)
{
	struct drain_seen seen = { 0 };
	const struct imsg_sink sink = { drain_msg, drain_bad, &seen };
	static struct imsg m;
	int sv[2], p[2], rd;
	uint32_t junk = 1;   /* shorter than a header: -EBADMSG */

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) != 0 || pipe(p) != 0)
		abort();
	rd = sv[0];
	seen.sock = &rd;
	for (int i = 0; i < 5; i++)
		imsg_send(sv[1], 7, (uint32_t)i, "x", 1, NULL, 0);
	send(sv[1], &junk, sizeof junk, 0);
	imsg_send(sv[1], 7, 9, "y", 1, &p[0], 1);
	close(p[0]);
	is_int(imsg_drain(&rd, &m, 3, &sink), 0, "drain: a budget of 3 returns 0");
	is_int(seen.msgs, 3, "  and handed over 3 messages");
	is_int(imsg_drain(&rd, &m, 100, &sink), 0, "drain: the rest, then -EAGAIN is 0");
	ok(seen.msgs == 6 && seen.bad == 1, "  6 messages and 1 unreadable datagram");
	ok(seen.fd_left >= 0 && fcntl(seen.fd_left, F_GETFD) < 0 && errno == EBADF,
	   "  the descriptor the handler left was closed");
	for (int i = 0; i < 3; i++)
		imsg_send(sv[1], 7, (uint32_t)i, "z", 1, NULL, 0);
	seen.close_at = seen.msgs + 1;
	is_int(imsg_drain(&rd, &m, 100, &sink), 0, "drain: a handler closing the channel stops it");
	ok(seen.msgs == 7 && rd == -1, "  after that one message");
	rd = sv[0];
	close(sv[1]);
	while (imsg_drain(&rd, &m, 100, &sink) == 0 && seen.msgs < 100)
		;
	is_int(imsg_drain(&rd, &m, 100, &sink), -EPIPE, "drain: the peer closed is -EPIPE");
	close(sv[0]);
	close(p[1]);
}

/* imsg_send_many: each message its own datagram, as imsg_send makes it
 * (a payload in two pieces arrives joined); refused whole before any
 * goes when one is malformed; on a full socket the count that fit, then
 * -EAGAIN; -EPIPE when the peer is gone. */
static void test_send_many(void)
{
	static uint8_t chunk[IMSG_MAX_PAYLOAD];
	int sv[2];
	pair(sv);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0)
		exit(2);

	struct imsg_out out[IMSG_SEND_MANY_MAX];
	for (unsigned i = 0; i < 3; i++)
		out[i] = (struct imsg_out){ 100 + i, 7 + i, { "abc", "defg" }, { i, i == 2 ? 4 : 0 } };
	is_int(imsg_send_many(sv[0], out, 3), 3, "three messages in one call");
	for (unsigned i = 0; i < 3; i++) {
		int r = imsg_recv(sv[1], &msg);
		is_int(r, 0, "message %u received", i);
		ok(msg.hdr.type == 100 + i && msg.hdr.id == 7 + i, "message %u: its type and id", i);
		size_t want = i == 2 ? 6 : i;
		ok(msg.hdr.len == want && memcmp(msg.payload, i == 2 ? "abdefg" : "abc", want) == 0,
		   "message %u: its payload, the two pieces joined", i);
	}
	is_int(imsg_recv(sv[1], &msg), -EAGAIN, "nothing more: each message one datagram");

	is_int(imsg_send_many(sv[0], out, 0), -EINVAL, "no message: -EINVAL");
	is_int(imsg_send_many(sv[0], out, IMSG_SEND_MANY_MAX + 1), -EINVAL, "too many: -EINVAL");
	out[1] = (struct imsg_out){ 1, 0, { chunk, "x" }, { sizeof chunk, 1 } };
	is_int(imsg_send_many(sv[0], out, 2), -EMSGSIZE, "one over IMSG_MAX_PAYLOAD: -EMSGSIZE");
	out[1] = (struct imsg_out){ 1, 0, { NULL, NULL }, { 1, 0 } };
	is_int(imsg_send_many(sv[0], out, 2), -EINVAL, "a piece without its bytes: -EINVAL");
	is_int(imsg_recv(sv[1], &msg), -EAGAIN, "a refused batch sent nothing");

	for (unsigned i = 0; i < IMSG_SEND_MANY_MAX; i++)
		out[i] = (struct imsg_out){ 5, i, { chunk, NULL }, { sizeof chunk, 0 } };
	int r, total = 0, partial = 0;
	while (total < 10000 && (r = imsg_send_many(sv[0], out, IMSG_SEND_MANY_MAX)) > 0) {
		partial += r < IMSG_SEND_MANY_MAX;
		total += r;
	}
	is_int(r, -EAGAIN, "a full socket: -EAGAIN (after %d messages)", total);
	int drained = 0;
	while (imsg_recv(sv[1], &msg) == 0)
		drained++;
	is_int(drained, total, "every message counted as sent arrived (%d batches cut short)", partial);
	close(sv[1]);
	is_int(imsg_send_many(sv[0], out, 1), -EPIPE, "peer gone: -EPIPE");
	close(sv[0]);
}

int main(void)
{
	test_round_trip();
	test_zero_and_max();
	test_malformed();
	test_nonblocking_and_close();
	test_get();
	test_drain();
	test_send_many();
	return tap_done();
}
