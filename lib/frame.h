/* lib/frame.h: length-prefixed frames on a byte stream.
 *
 * A frame is a 4-byte big-endian payload length, one type byte, then that
 * many payload bytes (the length does not count the type byte). The
 * function protocol (proto/fn_frame.h) runs on it; this file knows no
 * type, only the rules a caller gives: the largest length and the set of
 * types it accepts.
 *
 * The reader is a caller-owned state machine (lib/http.c style): the
 * caller feeds whatever byte ranges it received, in any split, and the
 * reader copies payload into the caller's buffer, never allocating. It
 * checks the header the moment its fifth byte arrives, so an oversized
 * or unknown frame is refused before a byte of its payload is read. An
 * error is sticky: a stream that lost its framing cannot be resynchronised,
 * and the caller drops the peer.
 */
#ifndef DSHIELD_LIB_FRAME_H
#define DSHIELD_LIB_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR 5

struct frame_reader {
	uint8_t *buf;        /* caller's payload buffer */
	uint32_t max;        /* largest payload accepted (at most the buffer) */
	uint32_t types;      /* bit t: type t accepted (types 0..31) */
	uint8_t hdr[FRAME_HDR];
	uint8_t hdr_len;     /* header bytes received */
	uint8_t type;        /* valid once hdr_len == FRAME_HDR */
	uint32_t len;        /* payload length, same */
	uint32_t got;        /* payload bytes received */
	bool ready;          /* a whole frame waits in buf */
	int err;             /* 0 or the sticky negative errno */
};

/* buf holds cap bytes; payloads longer than min(max, cap) are refused. */
void frame_reader_init(struct frame_reader *r, void *buf, size_t cap,
		       uint32_t max, uint32_t types);

/* Takes bytes from data[0..len). Stops right behind a complete frame, so
 * *used may be less than len: the rest belongs to the next frame, fed
 * after the caller handled this one. Returns 1 when a frame is complete
 * (r->type, r->buf[0..r->len)), 0 when every byte was taken and the frame
 * is not, or a negative errno, from then on for every call: -EMSGSIZE (a
 * length over the maximum), -EPROTO (a type not accepted). The frame
 * stays in buf until the next call. */
int frame_feed(struct frame_reader *r, const uint8_t *data, size_t len,
	       size_t *used);

/* A frame has begun and is not complete: EOF now means a truncated frame. */
bool frame_partial(const struct frame_reader *r);

/* The header of a frame of `len` payload bytes. */
void frame_header(uint8_t hdr[FRAME_HDR], uint8_t type, uint32_t len);

/* Writes one whole frame to a blocking descriptor (a short write, EINTR
 * resumed; MSG_NOSIGNAL on sockets, so a closed peer is -EPIPE, not a
 * signal). Returns 0 or a negative errno (-EMSGSIZE past UINT32_MAX). */
int frame_write(int fd, uint8_t type, const void *payload, size_t len);

#endif
