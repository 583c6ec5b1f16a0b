/* lib/fn_result.h: a worker's RESULT payload (proto/fn_frame.h) checked
 * and turned into what the HTTP reply needs.
 *
 * The payload is untrusted: the worker runs the function's code, which
 * can write anything to the protocol socket. It must be exactly
 *   {"statusCode": 100..599, "headers": {name: string, ...}, "body": any}
 * with "body" optional and no other member, each member once, strict
 * RFC 8259 JSON (lib/json_tok.h, json_validate) nested at most
 * FN_RESULT_MAX_DEPTH deep.
 *
 * The reply follows the seed service, which answered with Express's
 * res.status(statusCode).set(headers).send(body):
 * - a string body is sent as it is (its decoded bytes), by default as
 *   text/html; charset=utf-8, as Express did;
 * - an object, array, number or boolean body is sent as its JSON text,
 *   by default as application/json; charset=utf-8 (Express took a number
 *   for a status code; dshield does not);
 * - no body, or null: an empty body and no Content-Type.
 * A Content-Type among the function's headers replaces the default.
 *
 * Header names must be RFC 9110 tokens (at most FN_HEADER_NAME_MAX
 * bytes), values at most FN_HEADER_VALUE_MAX bytes without control bytes
 * other than tab (no CR or LF: no header injection). These are dropped
 * silently, as a proxy drops them: hop-by-hop headers (Connection,
 * Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade), the
 * ones netd writes itself (Content-Length, Cache-Control) and dshield's
 * own X-DShield-* (a function cannot forge its invocation id).
 */
#ifndef DSHIELD_LIB_FN_RESULT_H
#define DSHIELD_LIB_FN_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/json_tok.h"

#define FN_RESULT_MAX_DEPTH   64
#define FN_REPLY_MAX_HEADERS  64     /* headers kept, after filtering */
#define FN_HEADER_NAME_MAX    256
#define FN_HEADER_VALUE_MAX   8192

/* Room fn_result_parse() needs in buf for a payload of len bytes: decoded
 * text is never longer than its JSON, and the header lines are shorter
 * than their members; plus two NULs. */
#define FN_REPLY_BUF(len) ((len) + 2)

struct fn_reply {
	int status;
	/* "Name: value\r\n" lines, NUL terminated, for http_respond_hdr() */
	const char *headers;
	size_t headers_len;
	unsigned nheaders;
	/* The default Content-Type for the body, or NULL: none (no body), or
	 * the function's, which is among the header lines. */
	const char *content_type;
	/* A string body's decoded bytes (in buf, NUL behind them) or another
	 * value's JSON text (in the payload): valid while both are. */
	const char *body;
	size_t body_len;
};

/* Checks js[0..len) with up to ntoks tokens and fills *out; header lines
 * and a string body go into buf[0..cap) (cap >= FN_REPLY_BUF(len)).
 * Returns 0, or -EBADMSG (not a valid result: the reason in err), -E2BIG
 * (more JSON values than ntoks), -ENOSPC (buf too small). */
int fn_result_parse(const char *js, size_t len, jsmntok_t *toks, unsigned ntoks,
		    char *buf, size_t cap, struct fn_reply *out,
		    char *err, size_t errcap);

/* The message of an ERROR or LOAD_ERROR payload, which must be exactly
 * {"message": string} (strict JSON): decoded into buf[0..cap) (cap >=
 * FN_REPLY_BUF(len)), valid UTF-8, cut to at most `max` bytes at a code
 * point boundary (an exception's message can be long; the reply needs a
 * bounded one), NUL terminated. Returns its length, or -EBADMSG (reason
 * in err), -E2BIG (more JSON values than ntoks), -ENOSPC (buf too small). */
long fn_message_parse(const char *js, size_t len, jsmntok_t *toks, unsigned ntoks,
		      char *buf, size_t cap, size_t max, char *err, size_t errcap);

#endif
