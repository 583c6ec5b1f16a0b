/* lib/imsg.h: the typed-message transport between dshield's roles.
 *
 * OpenBSD imsg style over SOCK_SEQPACKET socketpairs: every message is one
 * datagram carrying a fixed header {type, len, id}, then exactly `len`
 * payload bytes, and up to IMSG_MAX_FDS file descriptors (SCM_RIGHTS).
 * SEQPACKET keeps message boundaries, so a reader never resynchronises.
 *
 * Error convention (whole module): 0 or a positive count on success, a
 * negative errno on failure. A message that is truncated, oversized or whose
 * header disagrees with its length is refused whole, and any descriptors it
 * carried are closed, so a confused or hostile peer cannot leak fds into us.
 *
 * The message types and payloads of each role-to-role protocol live in
 * one neutral header per protocol under proto/, included by both sides.
 * A receiver checks the length with imsg_get() before it looks at a byte.
 */
#ifndef DSHIELD_LIB_IMSG_H
#define DSHIELD_LIB_IMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IMSG_MAX_PAYLOAD 16384
#define IMSG_MAX_FDS     4

struct imsg_hdr {
	uint32_t type;
	uint32_t len;   /* payload bytes after the header */
	uint32_t id;    /* request id, echoed in the reply; 0 when unused */
};

struct imsg {
	struct imsg_hdr hdr;
	uint8_t payload[IMSG_MAX_PAYLOAD];
	int fds[IMSG_MAX_FDS];
	unsigned nfds;
};

/* Sends one message. -EMSGSIZE if len > IMSG_MAX_PAYLOAD or nfds too many;
 * -EAGAIN on a full non-blocking socket; -EPIPE when the peer is gone. */
int imsg_send(int sock, uint32_t type, uint32_t id, const void *payload,
	      size_t len, const int *fds, unsigned nfds);

/* One message for imsg_send_many: no descriptors, its payload in up to
 * two pieces (a ring buffer's wrap), p[1] NULL when one. */
struct imsg_out {
	uint32_t type, id;
	const void *p[2];
	size_t n[2];
};
#define IMSG_SEND_MANY_MAX 32

/* Sends out[0..n) (1 <= n <= IMSG_SEND_MANY_MAX) in one sendmmsg, each
 * its own datagram exactly as imsg_send would send it: one system call,
 * and one wake-up of the reader at most, for a batch. Returns how many
 * went, 1..n (the rest did not fit the socket: send them later), or, when
 * the first could not, imsg_send's errors (-EAGAIN, -EPIPE, -EMSGSIZE for
 * one over IMSG_MAX_PAYLOAD, -EINVAL). */
int imsg_send_many(int sock, const struct imsg_out *out, unsigned n);

/* Sends iov[0..iovcnt) as one datagram with nfds descriptors (at most
 * IMSG_RAW_MAX_FDS) in one SCM_RIGHTS control message, MSG_NOSIGNAL, and
 * checks nothing else: imsg_send's transport, and how the tests and the
 * fuzzer send what a buggy or hostile peer would (more fds than
 * IMSG_MAX_FDS, a header that lies). Returns what sendmsg returns (-1 with
 * errno EINVAL when nfds is too many). */
#define IMSG_RAW_MAX_FDS 16
struct iovec;
ssize_t imsg_send_raw(int sock, const struct iovec *iov, size_t iovcnt,
		      const int *fds, unsigned nfds);

/* Receives one message into *msg (received fds are owned by msg).
 * Returns 0; -EAGAIN (nothing to read, non-blocking); -EPIPE (peer closed);
 * -EMSGSIZE (datagram or control data larger than allowed, dropped);
 * -EBADMSG (shorter than a header, or hdr.len != bytes received). */
int imsg_recv(int sock, struct imsg *msg);

/* Copies the payload of msg into out when msg has the given type and
 * exactly `size` payload bytes. Returns 0 or -EBADMSG. */
int imsg_get(const struct imsg *msg, uint32_t type, void *out, size_t size);

/* Takes fd i out of msg (the caller owns it now); -1 if absent. */
int imsg_take_fd(struct imsg *msg, unsigned i);
/* Closes every fd still owned by msg. */
void imsg_close_fds(struct imsg *msg);

/* What imsg_drain() does with what it reads: on_msg gets each whole
 * message (the fds it leaves in msg are closed after it returns), on_bad
 * each datagram imsg_recv() refused (its negative errno). */
struct imsg_sink {
	void (*on_msg)(void *ctx, struct imsg *msg);
	void (*on_bad)(void *ctx, int err);
	void *ctx;
};

/* A role's read loop on one channel: reads from *sock into *msg until
 * nothing is left (-EAGAIN), budget messages were read (so the role's
 * other channels get their turn) or the peer closed. *sock is read again
 * before each message, so a handler may close the channel (and set it to
 * -1). Returns 0, or -EPIPE when the peer closed. */
int imsg_drain(const int *sock, struct imsg *msg, unsigned budget, const struct imsg_sink *s);

#endif
