/* proto/fn_frame.h: the function protocol between the host side (netd,
 * sandboxd) and a warm worker (runtimes/python, runtimes/node), on the
 * worker's fd 3 (a SOCK_STREAM socket; docs/PROTOCOL-FN.md).
 *
 * A frame is a 4-byte big-endian payload length, one type byte, then the
 * payload: length counts the payload only, 0 is valid, more than
 * FN_FRAME_MAX is a protocol error. lib/frame.h reads and writes frames;
 * this header says which types exist and who may send them. Every payload
 * that is not empty is one UTF-8 JSON value.
 *
 * The conversation: the worker sends HELLO once its handler is loaded, or
 * LOAD_ERROR and exits. Then, one at a time, the host sends INVOKE and the
 * worker answers RESULT or ERROR; the host may send PING between
 * invocations and gets PONG. Any other frame, a frame from the wrong side,
 * a length over the bound or EOF in the middle of a frame ends the worker:
 * the host kills it and answers the invocation with a 502.
 */
#ifndef DSHIELD_PROTO_FN_FRAME_H
#define DSHIELD_PROTO_FN_FRAME_H

/* 4-byte length + 1-byte type. */
#define FN_FRAME_HDR 5

/* Largest payload either side sends or accepts: 8 MiB, room for a 6 MiB
 * body even when JSON escaping grows it by a third. Readers refuse a
 * larger length before reading any of its payload. */
#define FN_FRAME_MAX (8u << 20)

enum fn_frame_type {
	/* worker -> host: {"runtime": "python"|"node", "version": "<the
	 * interpreter's>", "protocol": 1}, once, after the import */
	FN_FRAME_HELLO = 1,
	/* worker -> host: {"message": "..."} the import failed or the
	 * handler is missing; the worker exits after it */
	FN_FRAME_LOAD_ERROR = 2,
	/* host -> worker: the request {id, functionId, method, path,
	 * headers, query[, body]} (body absent when the request had none) */
	FN_FRAME_INVOKE = 3,
	/* worker -> host: {"statusCode": 100..599, "headers": {name:
	 * string}[, "body": any JSON]} (lib/fn_result.h checks it) */
	FN_FRAME_RESULT = 4,
	/* worker -> host: {"message": "..."} the handler raised, or its
	 * result could not be encoded; the traceback went to stderr */
	FN_FRAME_ERROR = 5,
	/* host -> worker: empty payload; the worker answers PONG (empty) */
	FN_FRAME_PING = 6,
	FN_FRAME_PONG = 7,
};

/* The protocol version HELLO carries. */
#define FN_PROTOCOL_VERSION 1

/* Bit masks of the types each side may receive, for frame_reader_init(). */
#define FN_FRAME_BIT(t) (1u << (t))
#define FN_FRAMES_TO_HOST                                                     \
	(FN_FRAME_BIT(FN_FRAME_HELLO) | FN_FRAME_BIT(FN_FRAME_LOAD_ERROR) |   \
	 FN_FRAME_BIT(FN_FRAME_RESULT) | FN_FRAME_BIT(FN_FRAME_ERROR) |       \
	 FN_FRAME_BIT(FN_FRAME_PONG))
#define FN_FRAMES_TO_WORKER \
	(FN_FRAME_BIT(FN_FRAME_INVOKE) | FN_FRAME_BIT(FN_FRAME_PING))

#endif
