/* lib/imsg.c: see imsg.h.
 *
 * One message is one SOCK_SEQPACKET datagram: header, payload, and the
 * descriptors in a single SCM_RIGHTS control message. The receive buffer is
 * exactly one maximal message large, so anything bigger shows up as MSG_TRUNC
 * (payload) or MSG_CTRUNC (descriptors) and is refused whole.
 */
#include "lib/imsg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Control buffer for IMSG_MAX_FDS descriptors, aligned for struct cmsghdr.
 * Its size is what bounds the number of fds the kernel installs in us: with
 * more in flight it installs what fits, closes the rest, sets MSG_CTRUNC. */
union imsg_cmsgbuf {
	struct cmsghdr align;
	char buf[CMSG_SPACE(IMSG_MAX_FDS * sizeof(int))];
};

static int send_errno(int e)
{
	switch (e) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		return -EAGAIN;
	case EPIPE:
	case ECONNRESET:
	case ENOTCONN:
		return -EPIPE;
	default:
		return -e;
	}
}

ssize_t imsg_send_raw(int sock, const struct iovec *iov, size_t iovcnt,
		      const int *fds, unsigned nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(IMSG_RAW_MAX_FDS * sizeof(int))];
	} cbuf;
	struct msghdr mh;

	if (nfds > IMSG_RAW_MAX_FDS || (nfds > 0 && fds == NULL)) {
		errno = EINVAL;
		return -1;
	}
	if (nfds == 0) {
		/* Without descriptors a message is one send() (sendto with no
		 * address) of a contiguous copy: a role whose seccomp set
		 * allows no sendmsg (netd: sendmsg could aim its packet socket
		 * at any interface) still speaks imsg. */
		uint8_t flat[sizeof(struct imsg_hdr) + IMSG_MAX_PAYLOAD];
		size_t len = 0;
		for (size_t i = 0; i < iovcnt; i++) {
			if (iov[i].iov_len > sizeof flat - len)
				goto gathered;   /* larger than any imsg: tests only */
			memcpy(flat + len, iov[i].iov_base, iov[i].iov_len);
			len += iov[i].iov_len;
		}
		return send(sock, flat, len, MSG_NOSIGNAL);
	}
gathered:
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = (struct iovec *)iov;
	mh.msg_iovlen = iovcnt;
	if (nfds > 0) {
		struct cmsghdr *c;
		memset(&cbuf, 0, sizeof cbuf);
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	/* MSG_NOSIGNAL: a dead peer is an error code, not a SIGPIPE that
	 * would kill a worker (or be ignored by PID 1 anyway). */
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

int imsg_send(int sock, uint32_t type, uint32_t id, const void *payload,
	      size_t len, const int *fds, unsigned nfds)
{
	struct imsg_hdr hdr = { .type = type, .len = (uint32_t)len, .id = id };
	struct iovec iov[2];

	if (len > IMSG_MAX_PAYLOAD || nfds > IMSG_MAX_FDS)
		return -EMSGSIZE;
	if ((len > 0 && payload == NULL) || (nfds > 0 && fds == NULL))
		return -EINVAL;

	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof hdr;
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	for (;;) {
		ssize_t n = imsg_send_raw(sock, iov, len > 0 ? 2 : 1, fds, nfds);
		if (n >= 0)
			return (size_t)n == sizeof hdr + len ? 0 : -EMSGSIZE;
		if (errno != EINTR)
			return send_errno(errno);
	}
}

int imsg_send_many(int sock, const struct imsg_out *out, unsigned n)
{
	struct imsg_hdr hdr[IMSG_SEND_MANY_MAX];
	struct iovec iov[IMSG_SEND_MANY_MAX][3];
	struct mmsghdr mm[IMSG_SEND_MANY_MAX];

	if (n == 0 || n > IMSG_SEND_MANY_MAX || out == NULL)
		return -EINVAL;
	memset(mm, 0, n * sizeof mm[0]);
	for (unsigned i = 0; i < n; i++) {
		size_t len = out[i].n[0] + out[i].n[1];
		if (len > IMSG_MAX_PAYLOAD)
			return -EMSGSIZE;
		if ((out[i].n[0] > 0 && out[i].p[0] == NULL) || (out[i].n[1] > 0 && out[i].p[1] == NULL))
			return -EINVAL;
		hdr[i] = (struct imsg_hdr){ .type = out[i].type, .len = (uint32_t)len, .id = out[i].id };
		unsigned k = 0;
		iov[i][k++] = (struct iovec){ &hdr[i], sizeof hdr[i] };
		for (unsigned j = 0; j < 2; j++)
			if (out[i].n[j] > 0)
				iov[i][k++] = (struct iovec){ (void *)out[i].p[j], out[i].n[j] };
		mm[i].msg_hdr.msg_iov = iov[i];
		mm[i].msg_hdr.msg_iovlen = k;
	}
	for (;;) {
		int r = sendmmsg(sock, mm, n, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return send_errno(errno);
		/* SEQPACKET sends a datagram whole or not at all */
		unsigned whole = 0;
		while (whole < (unsigned)r &&
		       mm[whole].msg_len == sizeof hdr[whole] + hdr[whole].len)
			whole++;
		return whole > 0 ? (int)whole : -EMSGSIZE;
	}
}

static void close_cmsg_fds(struct msghdr *mh)
{
	struct cmsghdr *c;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (fd >= 0)
				close(fd);
		}
	}
}

/* Moves the SCM_RIGHTS descriptors into msg. Returns 0, or -EMSGSIZE (and
 * closes everything) when they do not fit or arrive in a shape we never
 * send (several control messages, or credentials we did not ask for). */
static int collect_fds(struct msghdr *mh, struct imsg *msg)
{
	struct cmsghdr *c;
	unsigned total = 0;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			goto refuse;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > IMSG_MAX_FDS - total)
			goto refuse;
		memcpy(&msg->fds[total], CMSG_DATA(c), n * sizeof(int));
		total += (unsigned)n;
	}
	msg->nfds = total;
	return 0;
refuse:
	for (unsigned i = 0; i < IMSG_MAX_FDS; i++)
		msg->fds[i] = -1;
	msg->nfds = 0;
	close_cmsg_fds(mh);
	return -EMSGSIZE;
}

int imsg_recv(int sock, struct imsg *msg)
{
	union imsg_cmsgbuf cbuf;
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t n;
	int r;

	for (unsigned i = 0; i < IMSG_MAX_FDS; i++)
		msg->fds[i] = -1;
	msg->nfds = 0;

	memset(&mh, 0, sizeof mh);
	iov[0].iov_base = &msg->hdr;
	iov[0].iov_len = sizeof msg->hdr;
	iov[1].iov_base = msg->payload;
	iov[1].iov_len = sizeof msg->payload;
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof cbuf.buf;

	/* MSG_CMSG_CLOEXEC: a received fd must never slip into a child we
	 * fork before the caller decided what to do with it. */
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		if (errno == ECONNRESET || errno == ENOTCONN)
			return -EPIPE;
		return -errno;
	}
	/* Every message has a 12-byte header, so an empty read is the end of
	 * the stream (SEQPACKET reports a closed peer as 0). */
	if (n == 0) {
		close_cmsg_fds(&mh);
		return -EPIPE;
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		close_cmsg_fds(&mh);
		return -EMSGSIZE;
	}
	r = collect_fds(&mh, msg);
	if (r < 0)
		return r;
	if ((size_t)n < sizeof msg->hdr ||
	    msg->hdr.len != (size_t)n - sizeof msg->hdr) {
		imsg_close_fds(msg);
		return -EBADMSG;
	}
	return 0;
}

int imsg_get(const struct imsg *msg, uint32_t type, void *out, size_t size)
{
	if (msg->hdr.type != type || msg->hdr.len != size ||
	    size > IMSG_MAX_PAYLOAD)
		return -EBADMSG;
	if (size > 0)
		memcpy(out, msg->payload, size);
	return 0;
}

int imsg_take_fd(struct imsg *msg, unsigned i)
{
	int fd;
	if (i >= msg->nfds || i >= IMSG_MAX_FDS)
		return -1;
	fd = msg->fds[i];
	msg->fds[i] = -1;
	return fd;
}

void imsg_close_fds(struct imsg *msg)
{
	for (unsigned i = 0; i < msg->nfds && i < IMSG_MAX_FDS; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->nfds = 0;
}

int imsg_drain(const int *sock, struct imsg *msg, unsigned budget, const struct imsg_sink *s)
{
	for (unsigned i = 0; i < budget && *sock >= 0; i++) {
		int r = imsg_recv(*sock, msg);
		if (r == -EAGAIN)
			return 0;
		if (r == -EPIPE)
			return r;
		if (r == -EINTR)
			continue;
		if (r < 0) {
			s->on_bad(s->ctx, r);
			continue;
		}
		s->on_msg(s->ctx, msg);
		imsg_close_fds(msg);
	}
	return 0;
}
