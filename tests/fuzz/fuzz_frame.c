/* tests/fuzz/fuzz_frame.c: libFuzzer target for what a worker sends the
 * host: the frame reader (lib/frame) under the host's rules, and every
 * RESULT, ERROR and LOAD_ERROR payload through lib/fn_result.
 *
 * Input: byte 0 is the split step (1..256) in which the rest is fed.
 * Beyond "no crash": feeding the same bytes whole and in steps must give
 * the same frames and the same verdict, and an accepted result must obey
 * its promises (status in range, header lines free of CR/LF inside a
 * line, the body inside its buffer). */
#include "lib/errbuf.h"
#include "lib/fn_result.h"
#include "lib/frame.h"
#include "lib/utf8.h"
#include "proto/fn_frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 65536
#define MAX_FRAMES 64

struct seen {
	int n, rc;
	uint8_t type[MAX_FRAMES];
	uint32_t len[MAX_FRAMES];
	uint32_t sum[MAX_FRAMES];
};

static uint8_t payload[FUZZ_MAX];
static jsmntok_t toks[1024];
static char out[FN_REPLY_BUF(FUZZ_MAX)];

static void check_result(const uint8_t *p, size_t n)
{
	struct fn_reply rep;
	char err[ERRBUF_LEN];

	if (fn_result_parse((const char *)p, n, toks, 1024, out, sizeof out, &rep, err, sizeof err))
		return;
	if (rep.status < 100 || rep.status > 599)
		abort();
	/* whole "name: value" lines: CR and LF only as each line's end */
	for (size_t k = 0, start = 0; k < rep.headers_len; k++) {
		char ch = rep.headers[k];
		if (ch == '\n' && (k == start || rep.headers[k - 1] != '\r'))
			abort();
		if (ch == '\r' && (k + 1 >= rep.headers_len || rep.headers[k + 1] != '\n'))
			abort();
		if (ch == '\n') {
			if (!memchr(rep.headers + start, ':', k - start))
				abort();
			start = k + 1;
		}
		if (k + 1 == rep.headers_len && ch != '\n')
			abort();
	}
	if (rep.body_len && !((rep.body >= out && rep.body + rep.body_len <= out + sizeof out) ||
			      (rep.body >= (const char *)p && rep.body + rep.body_len <= (const char *)p + n)))
		abort();
}

/* An ERROR or LOAD_ERROR message: whole UTF-8 within its bound. */
static void check_message(const uint8_t *p, size_t n)
{
	char err[ERRBUF_LEN];
	long m = fn_message_parse((const char *)p, n, toks, 1024, out, sizeof out, 100, err, sizeof err);
	size_t i = 0;

	if (m < 0)
		return;
	if (m > 100 || out[m] != '\0')
		abort();
	while (i < (size_t)m)
		if (utf8_next((const unsigned char *)out, (size_t)m, &i) < 0)
			abort();
}

static void run(const uint8_t *s, size_t n, size_t step, struct seen *sn)
{
	struct frame_reader r;

	memset(sn, 0, sizeof *sn);
	frame_reader_init(&r, payload, sizeof payload, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
	for (size_t off = 0; off < n && sn->rc >= 0;) {
		size_t len = n - off < step ? n - off : step, used;
		while (len && sn->rc >= 0) {
			int rc = frame_feed(&r, s + off, len, &used);
			if (used > len)
				abort();
			off += used;
			len -= used;
			if (rc < 0)
				sn->rc = rc;
			if (rc == 1 && sn->n < MAX_FRAMES) {
				uint32_t h = 0;
				for (uint32_t k = 0; k < r.len; k++)
					h = h * 31 + r.buf[k];
				sn->type[sn->n] = r.type;
				sn->len[sn->n] = r.len;
				sn->sum[sn->n] = h;
				sn->n++;
				if (r.type == FN_FRAME_RESULT && step == n)
					check_result(r.buf, r.len);
				if ((r.type == FN_FRAME_ERROR || r.type == FN_FRAME_LOAD_ERROR) && step == n)
					check_message(r.buf, r.len);
			}
		}
	}
	if (sn->rc == 0 && frame_partial(&r))
		sn->rc = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen whole, split;

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	size_t step = (size_t)data[0] + 1;
	run(data + 1, size - 1, size - 1 ? size - 1 : 1, &whole);
	run(data + 1, size - 1, step, &split);
	if (memcmp(&whole, &split, sizeof whole) != 0)
		abort();
	return 0;
}
