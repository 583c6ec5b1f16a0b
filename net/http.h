/* net/http.h: the HTTP/1.1 server core, independent of the transport.
 *
 * BearSSL style: the caller owns a struct http_conn (fixed buffers, no
 * allocation), feeds it the bytes it received, and sends the bytes it gets
 * from http_conn_output(). The same core runs over lwIP TCP (netd), over
 * kernel sockets (the reference server for benchmarks and tests) and under
 * libFuzzer.
 *
 * Parsing is llhttp in strict mode: a malformed request, or one with both
 * Content-Length and Transfer-Encoding, or two differing Content-Lengths,
 * gets 400 and the connection closes; a head larger than HTTP_MAX_HEAD gets
 * 431; a body larger than HTTP_MAX_BODY gets 413. Errors are JSON
 * {"error":{"code","message"}}. Keep-alive follows HTTP/1.1 rules; requests
 * pipelined behind one another are answered in order.
 *
 * Handlers may answer at once or later (an answer that needs init): a
 * handler that does not respond leaves the connection PENDING, and the
 * transport calls the matching respond function when the answer arrives.
 */
#ifndef DSHIELD_NET_HTTP_H
#define DSHIELD_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#define HTTP_MAX_HEAD      8192     /* request line + headers */
#define HTTP_MAX_BODY      65536
#define HTTP_MAX_URL       2048
#define HTTP_OUT_CAP       16384    /* one response (head + body) */

enum http_conn_state {
	HTTP_CONN_READING,     /* waiting for (more of) a request */
	HTTP_CONN_PENDING,     /* a handler answers later */
	HTTP_CONN_WRITING,     /* output waits to be sent */
	HTTP_CONN_CLOSING,     /* send what is left, then close */
	HTTP_CONN_CLOSED,      /* close now */
};

struct http_request {
	llhttp_method_t method;
	const char *path;          /* NUL terminated, without the query */
	const char *query;         /* NUL terminated, "" when absent */
	const uint8_t *body;
	size_t body_len;
	bool keep_alive;
};

struct http_conn;
typedef void (*http_handler_fn)(void *ctx, struct http_conn *c,
				const struct http_request *req);

struct http_server {
	http_handler_fn handler;
	void *ctx;
	uint32_t header_timeout_ms;  /* from the first byte of a request to its end */
	uint32_t idle_timeout_ms;    /* keep-alive wait between requests */
};

/* Fields are private to net/http.c; the struct is public so callers can
 * hold connections in a fixed pool. */
struct http_conn {
	const struct http_server *srv;
	llhttp_t parser;
	llhttp_settings_t settings;
	enum http_conn_state state;
	uint64_t deadline_ms;
	uint32_t id;                 /* caller's connection id, for async answers */
	bool keep_alive;
	bool head_done;
	bool message_done;
	int error_status;            /* status to answer with when parsing failed */
	const char *error_code;
	size_t head_bytes;
	char url[HTTP_MAX_URL + 1];
	size_t url_len;
	size_t query_off;
	uint8_t body[HTTP_MAX_BODY];
	size_t body_len;
	uint8_t in[HTTP_MAX_HEAD];   /* bytes received but not yet parsed */
	size_t in_len;
	uint8_t out[HTTP_OUT_CAP];
	size_t out_len;
	size_t out_sent;
};

void http_conn_init(struct http_conn *c, const struct http_server *srv,
		    uint32_t id, uint64_t now_ms);

/* Feeds received bytes. Returns how many were taken: fewer than len when
 * the connection is PENDING/WRITING (feed the rest after the output was
 * sent) or closing. Runs the handler for each complete request. */
size_t http_conn_feed(struct http_conn *c, const uint8_t *data, size_t len,
		      uint64_t now_ms);

/* The peer closed its side (EOF). */
void http_conn_eof(struct http_conn *c);

/* Bytes to send now (may be 0). */
const uint8_t *http_conn_output(const struct http_conn *c, size_t *len);
/* n bytes of the output were sent; when all are, the connection reads the
 * next request (keep-alive) or turns CLOSED. */
void http_conn_sent(struct http_conn *c, size_t n, uint64_t now_ms);

/* Checks the deadline; a timed-out connection turns CLOSED (a request cut
 * off mid-head gets 408 first). Returns the current state. */
enum http_conn_state http_conn_tick(struct http_conn *c, uint64_t now_ms);

enum http_conn_state http_conn_state(const struct http_conn *c);

/* Responses, from a handler or later for a PENDING connection. */
void http_respond(struct http_conn *c, int status, const char *content_type,
		  const void *body, size_t len);
void http_respond_json(struct http_conn *c, int status, const char *json, size_t len);
void http_respond_error(struct http_conn *c, int status, const char *code,
			const char *message);

#endif
