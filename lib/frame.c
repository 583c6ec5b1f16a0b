/* lib/frame.c: see frame.h. */
#include "lib/frame.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/bytes.h"

void frame_reader_init(struct frame_reader *r, void *buf, size_t cap,
		       uint32_t max, uint32_t types)
{
	memset(r, 0, sizeof *r);
	r->buf = buf;
	r->max = cap < max ? (uint32_t)cap : max;
	r->types = types;
}

/* The header is whole: judge it before any payload is taken. */
static int header_done(struct frame_reader *r)
{
	r->len = be32(r->hdr);
	r->type = r->hdr[4];
	if (r->len > r->max)
		return -EMSGSIZE;
	if (r->type >= 32 || !(r->types & 1u << r->type))
		return -EPROTO;
	return 0;
}

int frame_feed(struct frame_reader *r, const uint8_t *data, size_t len,
	       size_t *used)
{
	size_t k = 0;

	*used = 0;
	if (r->err)
		return r->err;
	if (r->ready) {  /* the caller handled the last frame: start anew */
		r->ready = false;
		r->hdr_len = 0;
		r->got = 0;
	}
	while (r->hdr_len < FRAME_HDR && k < len) {
		r->hdr[r->hdr_len++] = data[k++];
		if (r->hdr_len == FRAME_HDR && (r->err = header_done(r)) != 0) {
			*used = k;
			return r->err;
		}
	}
	if (r->hdr_len < FRAME_HDR) {
		*used = k;
		return 0;
	}
	size_t n = len - k < r->len - r->got ? len - k : r->len - r->got;
	if (n)
		memcpy(r->buf + r->got, data + k, n);
	r->got += (uint32_t)n;
	*used = k + n;
	if (r->got < r->len)
		return 0;
	r->ready = true;
	return 1;
}

bool frame_partial(const struct frame_reader *r)
{
	return !r->ready && r->hdr_len > 0;
}

void frame_header(uint8_t hdr[FRAME_HDR], uint8_t type, uint32_t len)
{
	put_be32(hdr, len);
	hdr[4] = type;
}

/* One send: sendmsg for sockets (MSG_NOSIGNAL), writev for the rest. */
static ssize_t send_iov(int fd, struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);

	if (w < 0 && errno == ENOTSOCK)
		w = writev(fd, iov, n);
	return w;
}

int frame_write(int fd, uint8_t type, const void *payload, size_t len)
{
	uint8_t hdr[FRAME_HDR];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof hdr },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct iovec *v = iov;
	int n = len ? 2 : 1;

	if (len > UINT32_MAX)
		return -EMSGSIZE;
	frame_header(hdr, type, (uint32_t)len);
	while (n > 0) {
		ssize_t w = send_iov(fd, v, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		size_t left = (size_t)w;
		while (n > 0 && left >= v->iov_len) {
			left -= v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (uint8_t *)v->iov_base + left;
			v->iov_len -= left;
		}
	}
	return 0;
}
