/* tests/fuzz/fuzz_egress_http.c: libFuzzer target for the requests a
 * function sends through an originate connection (net/egress_http.h):
 * the input is a stream of heads and bodies, fed the way the proxy does.
 * Beyond "no crash":
 *   - a head's length lies within the input and ends in CRLFCRLF, its
 *     spans inside it; parsing exactly the head gives the same length;
 *     Content-Length and chunked never both;
 *   - the body parser takes at most what it is given, and feeding the
 *     same bytes one at a time from the same start gives the same count
 *     and state;
 *   - the rewrite of a parsed head parses again as a head with the
 *     same method, no line of the stripped or injected names but the
 *     injected one, once;
 *   - an input that begins with 'H' is a stream of responses (what an
 *     upstream answers): the same for their heads, a status of 100..999,
 *     no body for 1xx, 204 and 304, a body to the end only for a
 *     response (and then nothing follows). */
#include "net/egress_http.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct policy_rule rule = {
	.strip_headers = { "cookie" },
	.nstrip = 1,
	.inject = { { "authorization", "K" } },
	.ninject = 1,
};

static char out[EH_HEAD_MAX + 4096];

static void check_rewrite(const char *s, const struct eh_head *h)
{
	char err[ERRBUF_LEN];
	const char *v[1] = { "Bearer k" };
	size_t vl[1] = { 8 };
	struct eh_head again;

	long n = eh_rewrite(s, h, s + h->target, h->target_len, &rule, v, vl, out, sizeof out, err,
			    sizeof err);
	if (n < 0) {
		if (n != -ENOSPC)
			abort();
		return;
	}
	if (eh_head_parse(out, (size_t)n, &again, err, sizeof err) != n ||
	    strcmp(again.method, h->method) != 0)
		abort();
	unsigned auth = 0;
	for (unsigned k = 0; k < again.nhdr; k++) {
		if (eh_header_is(out, &again.h[k], "cookie"))
			abort();
		if (eh_header_is(out, &again.h[k], "authorization")) {
			auth++;
			if (again.h[k].value_len != 8 || memcmp(out + again.h[k].value, "Bearer k", 8) != 0)
				abort();
		}
	}
	if (auth != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRBUF_LEN];
	const char *s = (const char *)data;
	size_t at = 0;
	bool resp = size > 0 && data[0] == 'H';
	/* answers: HEAD and upgrade asked or not, from the last byte */
	unsigned fl = size > 0 ? data[size - 1] & (EH_RESP_HEAD | EH_RESP_UPGRADE) : 0;

	for (int round = 0; round < 8 && at < size; round++) {
		struct eh_head h, again;
		long n = resp ? eh_resp_parse(s + at, size - at, fl, &h, err, sizeof err) :
				eh_head_parse(s + at, size - at, &h, err, sizeof err);
		if (n < 0 && n != -EINVAL)
			abort();
		if (n <= 0)
			return 0;
		const char *p = s + at;
		if ((size_t)n > size - at || n < 4 || memcmp(p + n - 4, "\r\n\r\n", 4) != 0 ||
		    h.head_len != (size_t)n || (size_t)h.target + h.target_len > (size_t)n ||
		    h.nhdr > EH_HDR_MAX)
			abort();
		for (unsigned k = 0; k < h.nhdr; k++)
			if ((size_t)h.h[k].line + h.h[k].line_len > (size_t)n)
				abort();
		long n2 = resp ? eh_resp_parse(p, (size_t)n, fl, &again, err, sizeof err) :
				 eh_head_parse(p, (size_t)n, &again, err, sizeof err);
		if (n2 != n || again.framing != h.framing || again.status != h.status ||
		    again.upgrade != h.upgrade)
			abort();
		/* a switch only as a whole WebSocket handshake, a 101 only to one */
		if (h.upgrade == EH_UP_WEBSOCKET &&
		    (resp ? h.status != 101 || !(fl & EH_RESP_UPGRADE) :
		     strcmp(h.method, "GET") != 0 || h.framing != EH_BODY_NONE || h.http10))
			abort();
		if (resp && h.status == 101 && h.upgrade != EH_UP_WEBSOCKET)
			abort();
		if (resp != (h.status != 0) || (resp && h.status > 999) ||
		    (!resp && h.framing == EH_BODY_CLOSE) ||
		    ((h.status < 200 || h.status == 204 || h.status == 304) && resp &&
		     h.framing != EH_BODY_NONE))
			abort();
		if (!resp && h.nhdr < EH_HDR_MAX - 1)
			check_rewrite(p, &h);
		at += (size_t)n;
		if (h.framing == EH_BODY_CLOSE || (resp && h.upgrade == EH_UP_WEBSOCKET))
			return 0;                  /* the rest is its body, or the WebSocket's */

		struct eh_body b, b1;
		eh_body_begin(&b, &h);
		b1 = b;
		long k = eh_body_feed(&b, data + at, size - at, err, sizeof err);
		if (k > (long)(size - at))
			abort();
		size_t j = 0;
		long k1 = 0;
		while (j < size - at && b1.st != EH_B_DONE) {
			long r = eh_body_feed(&b1, data + at + j, 1, err, sizeof err);
			if (r < 0) {
				k1 = -1;
				break;
			}
			if (r == 0)
				break;
			j++;
		}
		if (k1 == 0)
			k1 = (long)j;
		if ((k < 0) != (k1 < 0) || (k >= 0 && (k != k1 || b.st != b1.st)))
			abort();
		if (k < 0 || b.st != EH_B_DONE)
			return 0;
		at += (size_t)k;
	}
	return 0;
}
