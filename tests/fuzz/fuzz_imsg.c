/* tests/fuzz/fuzz_imsg.c: libFuzzer target for imsg_recv/imsg_get.
 *
 * Input: byte 0 picks how many descriptors ride along (0..7, more than
 * IMSG_MAX_FDS included), the rest is one raw datagram sent over a
 * SOCK_SEQPACKET pair, exactly as a hostile peer could. Beyond "no crash":
 * an accepted message must agree with the bytes sent, and a refused one must
 * not leave a single descriptor open.
 */
#include "lib/imsg.h"
#include "proto/init_netd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define FD_SCAN 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct imsg msg;

static int open_fd_count(void)
{
	int n = 0;
	for (int fd = 0; fd < FD_SCAN; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static int send_raw(int sock, const uint8_t *buf, size_t len, const int *fds, unsigned nfds)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	return imsg_send_raw(sock, &iov, 1, fds, nfds) == (ssize_t)len ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], fds[8];
	unsigned nfds;

	if (size < 1 || size > 1 + sizeof(struct imsg_hdr) + IMSG_MAX_PAYLOAD + 64)
		return 0;
	nfds = data[0] & 7;
	data++;
	size--;
	/* An empty datagram reads as end of stream; covered by the unit test. */
	if (size == 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	for (unsigned i = 0; i < nfds; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			abort();
	}
	if (send_raw(sv[0], data, size, fds, nfds) != 0)
		abort();
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);

	int before = open_fd_count();
	int r = imsg_recv(sv[1], &msg);
	if (r == 0) {
		if (size < sizeof msg.hdr || msg.hdr.len != size - sizeof msg.hdr ||
		    memcmp(&msg.hdr, data, sizeof msg.hdr) != 0 ||
		    memcmp(msg.payload, data + sizeof msg.hdr, msg.hdr.len) != 0)
			abort();
		if (msg.nfds != nfds || msg.nfds > IMSG_MAX_FDS)
			abort();
		if (open_fd_count() != before + (int)nfds)
			abort();
		struct netd_status_msg st;
		int g = imsg_get(&msg, IMSG_NETD_STATUS, &st, sizeof st);
		if ((g == 0) != (msg.hdr.type == IMSG_NETD_STATUS && msg.hdr.len == sizeof st))
			abort();
		imsg_close_fds(&msg);
	} else {
		if (r != -EBADMSG && r != -EMSGSIZE)
			abort();
		if (msg.nfds != 0)
			abort();
	}
	if (open_fd_count() != before)
		abort();
	close(sv[0]);
	close(sv[1]);
	return 0;
}
