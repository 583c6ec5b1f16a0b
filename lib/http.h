/* lib/http.h: the HTTP/1.1 server core, independent of the transport.
 *
 * BearSSL style: the caller owns a struct http_conn (fixed buffers, no
 * allocation), feeds it the bytes it received, and sends the bytes it gets
 * from http_conn_output(). The same core runs over lwIP TCP (netd), over
 * kernel sockets (lib/http_sock.c: tests and the benchmark reference
 * server) and under libFuzzer. Time is whatever the caller passes as now_ms
 * (any monotonic millisecond clock), so tests and fuzzers are deterministic.
 *
 * Parsing is llhttp in strict mode (no lenient flag): a malformed request,
 * one with both Content-Length and Transfer-Encoding, two Content-Lengths,
 * bad chunking or bare LF line ends get 400; a URL longer than HTTP_MAX_URL
 * gets 414; a head (request line + headers) larger than HTTP_MAX_HEAD, or
 * more than HTTP_MAX_HEADERS header fields, gets 431; a body larger than
 * HTTP_MAX_BODY gets 413; an HTTP major version other than 1 gets 505.
 * After any of these the connection closes once the response is sent.
 * Errors are JSON {"error":{"code":"...","message":"..."}}.
 *
 * One request at a time: after a complete request the core stops parsing,
 * runs the handler, and parses the bytes behind it (pipelining) only after
 * the response was sent, so responses stay in order and a PENDING request
 * stops further reading. Bytes that arrive meanwhile wait in the
 * connection's input buffer (HTTP_MAX_HEAD bytes); http_conn_feed() takes
 * no more than fits, and http_conn_room() tells how much that is.
 *
 * Timeouts: header_timeout_ms runs from the first byte of a request until
 * the request is complete (head and body: slowloris, slow bodies, endless
 * chunk extensions) and answers 408; idle_timeout_ms bounds the wait for
 * the next request on a keep-alive connection (silent close), a WRITING
 * connection whose peer stops reading (close), and a PENDING request whose
 * answer does not come (504). A timeout of 0 takes the default below.
 *
 * Handlers may answer at once or later (an answer that needs init): a
 * handler that does not respond leaves the connection PENDING, and the
 * transport calls a respond function when the answer arrives. Respond
 * functions do nothing unless the connection is PENDING, so a late answer
 * for a connection that already timed out is harmless.
 *
 * Streamed bodies: a response larger than HTTP_OUT_CAP (an entry bundle)
 * starts with http_respond_stream(), which writes the head with the
 * body's total length; the producer then appends the body in pieces with
 * http_stream_write(), each at most http_stream_room() bytes (the free
 * part of the output buffer), and asks with http_stream_want(c, n) to be
 * called back (srv->stream_ready) once n bytes of room are free: the
 * transport sends, the buffer drains, the callback asks its source for
 * the next piece. Memory stays the one output buffer per connection and
 * nothing is queued: the producer fetches only what fits. A source that
 * fails half way calls http_stream_abort(): the head promised a length,
 * so the only honest end is to close the connection after what was sent.
 *
 * Streamed request bodies: a route that takes bodies larger than
 * HTTP_MAX_BODY (a function's deployment, up to 44 MiB) says so through
 * srv->body_open, asked once a request's head is complete: it gives a
 * limit and a descriptor (a memfd), and the core appends each decoded
 * body byte to that descriptor as it arrives, never to its own buffers.
 * A body over the limit (declared or received) is 413 body_too_large.
 * The handler gets the descriptor in req->body_fd; the core hands it
 * back through srv->body_close after the handler returned, or when the
 * request failed or its connection went away (http_conn_release). Such
 * a body must keep coming: the header timeout is extended by 1 ms per
 * 64 body bytes received (a client slower than 64 KB/s is cut off).
 */
#ifndef DSHIELD_NET_HTTP_H
#define DSHIELD_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#define HTTP_MAX_HEAD      8192     /* request line + headers, on the wire */
#define HTTP_MAX_HEADERS   64       /* header fields per request */
#define HTTP_MAX_BODY      65536    /* decoded body */
#define HTTP_MAX_URL       2048     /* request target */
/* One response (head + body). The largest is GET /v1/attestation: a quote
 * of up to 8 KiB as base64 (10924) plus a 6 KiB event log and ~1 KiB of
 * other fields. */
#define HTTP_OUT_CAP       24576
/* Wire bytes of one request past its head (body with chunk framing,
 * extensions and trailers); more is refused with 413. */
#define HTTP_MAX_WIRE      (HTTP_MAX_HEAD + 2 * HTTP_MAX_BODY)

#define HTTP_DEFAULT_HEADER_TIMEOUT_MS 10000
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS   60000

enum http_conn_state {
	HTTP_CONN_READING,     /* waiting for (more of) a request */
	HTTP_CONN_PENDING,     /* a handler answers later */
	HTTP_CONN_WRITING,     /* output waits to be sent, then keep-alive */
	HTTP_CONN_CLOSING,     /* send what is left, then close */
	HTTP_CONN_CLOSED,      /* close now */
};

struct http_conn;

struct http_request {
	llhttp_method_t method;
	const char *path;          /* NUL terminated, without query or fragment */
	const char *query;         /* NUL terminated, "" when absent */
	const uint8_t *body;       /* NULL when the body was streamed to body_fd */
	size_t body_len;
	int body_fd;               /* -1, or where a streamed body is (body_len bytes) */
	bool keep_alive;
	unsigned header_count;
	const struct http_conn *conn_;  /* private: for http_header() */
};

typedef void (*http_handler_fn)(void *ctx, struct http_conn *c,
				const struct http_request *req);

/* A streaming producer's callback: the room asked for with
 * http_stream_want() is free now. Called from http_conn_sent(). */
typedef void (*http_stream_fn)(void *ctx, struct http_conn *c);

struct http_server {
	http_handler_fn handler;
	void *ctx;
	http_stream_fn stream_ready; /* NULL: the server never streams */
	uint32_t header_timeout_ms;  /* first byte of a request to its end; 0: default */
	uint32_t idle_timeout_ms;    /* keep-alive wait, stalled writes, PENDING; 0: default */
	/* Streamed request bodies (see the top; NULL: every body in memory).
	 * url is the request target, NUL terminated. Returns 0 (this body is
	 * kept in memory), a limit > 0 with *fd set (the body is streamed to
	 * *fd), or a negative errno: the request is answered 503 busy. */
	long (*body_open)(void *ctx, struct http_conn *c, llhttp_method_t method,
			  const char *url, int *fd);
	void (*body_close)(void *ctx, struct http_conn *c, int fd);
	/* The transport releases c (closed, reset, evicted): work done on
	 * its behalf can stop. May be NULL. */
	void (*conn_gone)(void *ctx, struct http_conn *c);
};

/* Fields are private to lib/http.c; the struct is public so callers can
 * hold connections in a fixed pool (about 104 KiB each). */
struct http_conn {
	const struct http_server *srv;
	llhttp_t parser;
	enum http_conn_state state;
	uint32_t id;                 /* caller's connection id, for async answers */
	uint64_t now_ms;             /* latest time the caller passed in */
	uint64_t deadline_ms;
	bool deadline_lazy;          /* arm deadline at the next call with a time */

	/* the request being parsed or answered */
	bool in_request;             /* a byte of it arrived */
	bool head_done;
	bool message_done;
	bool keep_alive;
	bool head_method;            /* HEAD: answer without body */
	bool peer_eof;
	bool field_open, value_open; /* a header name/value is being appended */
	bool released;               /* http_conn_release() ran */
	int body_fd;                 /* a streamed body's descriptor, or -1 */
	uint64_t body_limit;         /* its limit */
	uint64_t body_deadline0;     /* the deadline when its head completed */
	char error_buf[96];          /* a refusal's message that names a number */
	int error_status;            /* set by a callback that refused the request */
	const char *error_code;
	const char *error_msg;
	size_t req_bytes;            /* wire bytes of this request parsed so far */

	/* URL, then header names and values, each NUL terminated */
	char hbuf[HTTP_MAX_HEAD];
	size_t hlen;
	size_t url_len;
	uint16_t hdr[HTTP_MAX_HEADERS][2]; /* offsets of name, value in hbuf */
	unsigned nhdr;
	uint8_t body[HTTP_MAX_BODY];
	size_t body_len;
	struct http_request req;

	uint8_t in[HTTP_MAX_HEAD];   /* bytes received but not yet parsed */
	size_t in_len;
	uint8_t out[HTTP_OUT_CAP];
	size_t out_len;
	size_t out_sent;
	/* a streamed body (http_respond_stream) */
	bool streaming;
	uint64_t stream_left;        /* body bytes the producer still owes */
	size_t stream_want;          /* call stream_ready at this much room (0: not asked) */
};

void http_conn_init(struct http_conn *c, const struct http_server *srv,
		    uint32_t id, uint64_t now_ms);

/* Feeds received bytes. Returns how many were taken: fewer than len when
 * the connection is PENDING/WRITING and its input buffer is full (feed the
 * rest after the output was sent). In CLOSING/CLOSED every byte is taken
 * and dropped. Runs the handler for a complete request. */
size_t http_conn_feed(struct http_conn *c, const uint8_t *data, size_t len,
		      uint64_t now_ms);

/* How many bytes the next http_conn_feed() is sure to take (0 when the
 * connection wants no more input now): transports read at most this. */
size_t http_conn_room(const struct http_conn *c);

/* The transport is done with c (before it reuses or frees the slot):
 * a streamed body's descriptor goes back (srv->body_close) and
 * srv->conn_gone is told. Idempotent. */
void http_conn_release(struct http_conn *c);

/* A PENDING answer that may take longer than the idle timeout (a
 * function's invocation): its deadline (504) is at ms instead. */
void http_conn_pending_until(struct http_conn *c, uint64_t ms);

/* The peer closed its side (EOF). A request already complete is still
 * answered; a partial one is dropped and the connection closes. */
void http_conn_eof(struct http_conn *c);

/* Bytes to send now (may be 0). */
const uint8_t *http_conn_output(const struct http_conn *c, size_t *len);
/* n bytes of the output were sent; when all are, the connection reads the
 * next request (keep-alive) or turns CLOSED. Buffered pipelined requests
 * are parsed right here, so check the output and state again after. */
void http_conn_sent(struct http_conn *c, size_t n, uint64_t now_ms);

/* Checks the deadline; a timed-out connection turns CLOSED, or CLOSING
 * with a 408 (request cut off) or 504 (PENDING answer never came) to send.
 * Returns the current state. */
enum http_conn_state http_conn_tick(struct http_conn *c, uint64_t now_ms);

/* The time at which http_conn_tick() has something to do (UINT64_MAX when
 * nothing is armed: CLOSED). */
uint64_t http_conn_deadline(const struct http_conn *c);

enum http_conn_state http_conn_state(const struct http_conn *c);

/* Waiting for a request of which no byte has arrived (a fresh or
 * keep-alive connection): a transport may close it at no loss. */
bool http_conn_idle(const struct http_conn *c);

/* The value of a request header (name compared case-insensitively; the
 * first one when repeated), or NULL. Valid while the request is. */
const char *http_header(const struct http_request *req, const char *name);

/* Header i (0 .. req->header_count-1) of the request: its name and
 * value as received. false past the last. */
bool http_header_at(const struct http_request *req, unsigned i, const char **name,
		    const char **value);

/* Responses, from a handler or later for a PENDING connection. A body that
 * does not fit HTTP_OUT_CAP is replaced by a 500 error. extra_headers, when
 * not NULL, is inserted verbatim and must be whole "Name: value\r\n" lines. */
void http_respond(struct http_conn *c, int status, const char *content_type,
		  const void *body, size_t len);
void http_respond_hdr(struct http_conn *c, int status, const char *content_type,
		      const char *extra_headers, const void *body, size_t len);
void http_respond_json(struct http_conn *c, int status, const char *json, size_t len);
void http_respond_error(struct http_conn *c, int status, const char *code,
			const char *message);
void http_respond_error_hdr(struct http_conn *c, int status, const char *code,
			    const char *message, const char *extra_headers);
/* The body http_respond_error_hdr() sends, {"error":{"code","message"}},
 * into buf[0..cap) (the code alone when the message does not fit; 512
 * bytes always hold that). Returns its length. */
size_t http_error_body(char *buf, size_t cap, const char *code, const char *message);

/* Like http_respond_hdr, with a Cache-Control value instead of the
 * default "no-store" (NULL keeps the default). */
void http_respond_cache(struct http_conn *c, int status, const char *content_type,
			const char *cache_control, const char *extra_headers,
			const void *body, size_t len);

/* Starts a streamed response of total body bytes (see the top): the head
 * is written, the body follows through http_stream_write(). A HEAD
 * request gets the head alone (http_stream_left() is then 0). Does
 * nothing unless PENDING. */
void http_respond_stream(struct http_conn *c, int status, const char *content_type,
			 const char *cache_control, const char *extra_headers, uint64_t total);
/* Body bytes the producer still owes (0: none, or not streaming). */
uint64_t http_stream_left(const struct http_conn *c);
/* How many body bytes http_stream_write() takes now. */
size_t http_stream_room(const struct http_conn *c);
/* Appends len body bytes: 0, -ENOSPC (more than the room), -EMSGSIZE
 * (more than the body has left), -EINVAL (not streaming). */
int http_stream_write(struct http_conn *c, const void *data, size_t len);
/* Asks for srv->stream_ready once n (1..HTTP_OUT_CAP) bytes of room are
 * free; if they are already, the answer is true and nothing is armed. */
bool http_stream_want(struct http_conn *c, size_t n);
/* The body cannot be completed: the connection closes once what was
 * written is sent (the client sees a short body). */
void http_stream_abort(struct http_conn *c);

/* The reason phrase for a status code ("Unknown" for codes we never send). */
const char *http_reason(int status);

#endif
