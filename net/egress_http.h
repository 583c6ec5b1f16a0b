/* net/egress_http.h: the HTTP/1.1 request heads and bodies the egress
 * proxy reads from a function (docs/EGRESS.md, "HTTP requests: checks,
 * strip and inject").
 *
 * Strict RFC 9112, and bounded: a head of at most EH_HEAD_MAX bytes and
 * EH_HDR_MAX header lines; CRLF only (a bare LF or CR is refused), no
 * obs-fold, no control byte but HT in a value, a token header name;
 * Content-Length (one, decimal) or Transfer-Encoding: chunked (one, and
 * nothing else), never both; an Upgrade only as a WebSocket handshake
 * (below, eh_head.upgrade). Whatever a server behind the
 * proxy could read differently from us is refused, never repaired: the
 * proxy checks and rewrites what it parsed, so the upstream must parse
 * the same request.
 *
 * The body's framing is followed byte for byte (eh_body_feed) so that
 * the proxy knows where the next request's head starts on a keep-alive
 * connection: Content-Length bodies, chunk sizes and data, and the last
 * chunk; a trailer section with any field is refused (a header the proxy
 * strips or injects must not come back as a trailer).
 *
 * The rewrite (eh_rewrite) writes the head the upstream gets: the
 * request line with the normalised target, the function's headers minus
 * those the rule strips and those it injects (whatever their case, every
 * occurrence) and a close_hop request's Connection lines, then the
 * injected headers with netd's values.
 *
 * No I/O, no allocation, no hidden state.
 */
#ifndef DSHIELD_NET_EGRESS_HTTP_H
#define DSHIELD_NET_EGRESS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/policy.h"

#define EH_HEAD_MAX    16384      /* a request head, request line to the empty line */
#define EH_HDR_MAX     64         /* header lines in a head */
#define EH_METHOD_MAX  16
#define EH_CHUNK_EXT_MAX 256      /* a chunk line's extension */
#define EH_CL_MAX      ((uint64_t)1 << 53)

enum eh_kind {
	EH_T_ORIGIN,        /* "/path?query" */
	EH_T_ABSOLUTE,      /* "http://..." or "https://..." */
	EH_T_AUTHORITY,     /* CONNECT's "host:port" */
};

/* A WebSocket handshake (RFC 6455 4.1, 4.2.2): a request's asked, a
 * response's switched. Any other Upgrade is refused. */
enum eh_upgrade {
	EH_UP_NONE,
	EH_UP_WEBSOCKET,
};

enum eh_framing {
	EH_BODY_NONE,
	EH_BODY_LENGTH,
	EH_BODY_CHUNKED,
	EH_BODY_CLOSE,      /* a response's body up to the connection's end */
};

/* spans are offsets into the buffer the head was parsed from */
struct eh_header {
	uint16_t line, line_len;     /* the whole line, CRLF included */
	uint16_t name, name_len;
	uint16_t value, value_len;   /* without leading and trailing OWS */
};

struct eh_head {
	char method[EH_METHOD_MAX + 1];   /* a request's */
	size_t method_len;
	unsigned status;                   /* a response's (100..999); 0: a request */
	enum eh_kind kind;
	uint16_t target, target_len;
	bool http10;
	bool persist;                /* the connection may carry another message after
				      * this one (RFC 9112 9.3: no "close" token in
				      * Connection; HTTP/1.0: "keep-alive" in it) */
	bool close_hop;              /* a request's: HTTP/1.1 whose Connection lines
				      * name "close" and nothing but "keep-alive"
				      * besides. That is about the client's connection
				      * alone (hop-by-hop, RFC 9110 7.6.1): eh_rewrite
				      * leaves those lines out, so that the connection
				      * upstream persists, and the proxy closes the
				      * client's once the answer is whole */
	unsigned nhdr;
	struct eh_header h[EH_HDR_MAX];
	int host;                    /* index of the (last) Host line, -1: none */
	unsigned nhost;
	enum eh_framing framing;
	uint64_t length;             /* EH_BODY_LENGTH */
	enum eh_upgrade upgrade;
	size_t head_len;             /* up to and including the empty line */
};

/* Parses the head at buf[0..len). Returns its length (> 0) with *h, 0
 * when more bytes are needed and none so far is wrong (len < cap is the
 * caller's to check: a head is never longer than EH_HEAD_MAX), or
 * -EINVAL with one line in err.
 *
 * A request with an Upgrade header must be a whole WebSocket handshake
 * (h->upgrade = EH_UP_WEBSOCKET): GET, HTTP/1.1, one "Upgrade:
 * websocket", "upgrade" among the Connection tokens, one
 * Sec-WebSocket-Key of 24 base64 bytes (16 bytes), one
 * "Sec-WebSocket-Version: 13", and no body. Any other Upgrade (h2c, a
 * list, a second one) is refused: its bytes after the switch would be
 * no HTTP netd could check. */
long eh_head_parse(const char *buf, size_t len, struct eh_head *h, char *err, size_t errlen);

#define EH_RESP_HEAD     1u   /* it answers a HEAD request */
#define EH_RESP_UPGRADE  2u   /* it answers a WebSocket handshake */

/* The same for a response head (what the upstream answers): a status
 * line "HTTP/1.x DDD reason" (a reason of visible bytes, SP and HT),
 * then header lines as a request's. flags: EH_RESP_*. h->status is the
 * status; h->framing: NONE for 1xx, 204, 304 and any answer to HEAD,
 * else CHUNKED, LENGTH, or CLOSE (neither header: the body runs to the
 * connection's end). A 101 is refused unless it answers a WebSocket
 * handshake (EH_RESP_UPGRADE) and is one itself (HTTP/1.1, one
 * "Upgrade: websocket", "upgrade" among the Connection tokens): then
 * h->upgrade is EH_UP_WEBSOCKET and what follows the head is the new
 * protocol's. An Upgrade header on any other status is kept (an
 * advertisement). */
long eh_resp_parse(const char *buf, size_t len, unsigned flags, struct eh_head *h, char *err,
		   size_t errlen);

/* Is header i of h named name (lowercase, NUL terminated), in any case? */
bool eh_header_is(const char *buf, const struct eh_header *x, const char *name);

/* --- bodies --------------------------------------------------------------------- */

enum eh_bstate {
	EH_B_DONE = 0,      /* no body, or its end was seen: a head comes next */
	EH_B_LENGTH,
	EH_B_SIZE,          /* a chunk size's hex digits */
	EH_B_EXT,           /* its extension, up to CR */
	EH_B_SIZE_LF,
	EH_B_DATA,
	EH_B_DATA_CR,
	EH_B_DATA_LF,
	EH_B_TRAILER_CR,    /* the empty line after the last chunk */
	EH_B_TRAILER_LF,
};

struct eh_body {
	enum eh_bstate st;
	uint64_t left;       /* LENGTH, DATA: bytes left; SIZE: the size so far */
	unsigned count;      /* SIZE: digits; EXT: bytes */
	bool last;           /* the chunk being read has size 0 */
};

/* The body that follows head h (EH_BODY_CLOSE: the caller's, to the
 * end; the state is EH_B_DONE). */
void eh_body_begin(struct eh_body *b, const struct eh_head *h);

/* Feeds p[0..n): returns how many of those bytes belong to the body (<=
 * n; fewer than n only when the body ended: b->st is EH_B_DONE and the
 * rest is the next request), or -EINVAL with a line in err (bad chunk
 * framing, a trailer field). Deterministic: feeding a prefix again from
 * a saved copy of *b gives the same state. */
long eh_body_feed(struct eh_body *b, const uint8_t *p, size_t n, char *err, size_t errlen);

/* --- the rewrite -------------------------------------------------------------------- */

/* Writes into out[0..cap) the head of h (parsed from buf) for the
 * upstream: "METHOD target HTTP/1.x" with target[0..target_len) (the
 * normalised one), every header line but those named in r's
 * strip_headers or inject_headers (any case) and, when h->close_hop,
 * its Connection lines, then one line per inject
 * header with value[k][0..vlen[k]) (k: r->inject[k]), then CRLF.
 * Returns the length, -ENOSPC when out is too small, or -EINVAL when a
 * value holds CR, LF, NUL or another control byte but HT. */
long eh_rewrite(const char *buf, const struct eh_head *h, const char *target, size_t target_len,
		const struct policy_rule *r, const char *const *value, const size_t *vlen,
		char *out, size_t cap, char *err, size_t errlen);

#endif
