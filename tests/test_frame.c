/* tests/test_frame.c: the frame reader and writer (lib/frame) with the
 * function protocol's rules (proto/fn_frame.h): every split of a stream,
 * several frames in one range, zero-length payloads, the maximum and one
 * byte over it, refused types before any payload is read, sticky errors,
 * and frame_write over a socketpair (large frames, a closed peer). */
#include "lib/frame.h"
#include "proto/fn_frame.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

_Static_assert(FN_FRAME_HDR == FRAME_HDR, "one header size");

static uint8_t payload[256];

/* A stream of three frames: PONG (empty), RESULT "{}", ERROR of 100 bytes. */
static size_t make_stream(uint8_t *s)
{
	size_t n = 0;
	frame_header(s + n, FN_FRAME_PONG, 0);
	n += FRAME_HDR;
	frame_header(s + n, FN_FRAME_RESULT, 2);
	n += FRAME_HDR;
	memcpy(s + n, "{}", 2);
	n += 2;
	frame_header(s + n, FN_FRAME_ERROR, 100);
	n += FRAME_HDR;
	for (int k = 0; k < 100; k++)
		s[n++] = (uint8_t)('a' + k % 26);
	return n;
}

/* Feeds s[0..n) in pieces of `step` bytes; records each frame's type and
 * length. Returns how many frames came out, or the error. */
static int run(const uint8_t *s, size_t n, size_t step, uint8_t *types, uint32_t *lens,
	       uint8_t *last_payload)
{
	struct frame_reader r;
	int frames = 0;

	frame_reader_init(&r, payload, sizeof payload, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
	for (size_t off = 0; off < n;) {
		size_t len = n - off < step ? n - off : step, used;
		while (len) {
			int rc = frame_feed(&r, s + off, len, &used);
			if (rc < 0)
				return rc;
			off += used;
			len -= used;
			if (rc == 1) {
				types[frames] = r.type;
				lens[frames] = r.len;
				memcpy(last_payload, r.buf, r.len);
				frames++;
			}
		}
	}
	return frame_partial(&r) ? -EPIPE : frames;
}

static void test_splits(void)
{
	uint8_t s[200], types[8], last[256];
	uint32_t lens[8];
	size_t n = make_stream(s);
	int all = 1;

	for (size_t step = 1; step <= n; step++) {
		memset(types, 0, sizeof types);
		int f = run(s, n, step, types, lens, last);
		if (f != 3 || types[0] != FN_FRAME_PONG || lens[0] != 0 ||
		    types[1] != FN_FRAME_RESULT || lens[1] != 2 ||
		    types[2] != FN_FRAME_ERROR || lens[2] != 100 ||
		    last[0] != 'a' || last[99] != (uint8_t)('a' + 99 % 26)) {
			all = 0;
			diag("step %zu: %d frames", step, f);
		}
	}
	ok(all, "three frames come out whole for every split of the stream (1..%zu bytes)", n);
	is_int(run(s, n - 1, 7, types, lens, last), -EPIPE,
	       "a stream cut inside a frame leaves it partial (EOF then is truncation)");
	is_int(run(s, 3, 7, types, lens, last), -EPIPE, "cut inside a header, too");
	is_int(run(s, 0, 1, types, lens, last), 0, "no bytes: no frame, nothing partial");
}

static void test_stops_behind_frame(void)
{
	uint8_t s[200];
	size_t n = make_stream(s), used;
	struct frame_reader r;

	frame_reader_init(&r, payload, sizeof payload, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
	is_int(frame_feed(&r, s, n, &used), 1, "a range of three frames: the first completes");
	is_int(used, FRAME_HDR, "and the reader took only its bytes");
	is_int(frame_feed(&r, s + used, n - used, &used), 1, "the second");
	is_int(used, FRAME_HDR + 2, "its bytes only");
	ok(memcmp(r.buf, "{}", 2) == 0, "its payload in the caller's buffer");
}

static void test_limits(void)
{
	uint8_t h[FRAME_HDR + 4], small[16];
	struct frame_reader r;
	size_t used;

	frame_reader_init(&r, payload, sizeof payload, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
	/* The buffer is smaller than FN_FRAME_MAX: the bound is the buffer. */
	frame_header(h, FN_FRAME_RESULT, sizeof payload);
	is_int(frame_feed(&r, h, FRAME_HDR, &used), 0, "a length equal to the buffer is taken");
	frame_reader_init(&r, payload, sizeof payload, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
	frame_header(h, FN_FRAME_RESULT, sizeof payload + 1);
	is_int(frame_feed(&r, h, FRAME_HDR, &used), -EMSGSIZE, "one byte over the buffer: -EMSGSIZE");

	frame_reader_init(&r, small, sizeof small, 8, FN_FRAMES_TO_HOST);
	frame_header(h, FN_FRAME_RESULT, 8);
	is_int(frame_feed(&r, h, FRAME_HDR, &used), 0, "max 8 in a 16-byte buffer: 8 is taken");
	frame_reader_init(&r, small, sizeof small, 8, FN_FRAMES_TO_HOST);
	frame_header(h, FN_FRAME_RESULT, 9);
	memcpy(h + FRAME_HDR, "abcd", 4);
	is_int(frame_feed(&r, h, sizeof h, &used), -EMSGSIZE, "9: -EMSGSIZE");
	is_int(used, FRAME_HDR, "refused at the header: not a payload byte taken");
	is_int(frame_feed(&r, h, sizeof h, &used), -EMSGSIZE, "the error sticks");
	is_int(used, 0, "and takes nothing more");

	frame_reader_init(&r, small, sizeof small, 8, FN_FRAMES_TO_HOST);
	memset(h, 0xff, FRAME_HDR);
	is_int(frame_feed(&r, h, FRAME_HDR, &used), -EMSGSIZE, "length 0xffffffff: -EMSGSIZE");
}

static void test_types(void)
{
	uint8_t h[FRAME_HDR];
	struct frame_reader r;
	size_t used;
	int all = 1;

	for (unsigned t = 0; t < 256; t++) {
		int want = t < 32 && (FN_FRAMES_TO_HOST & 1u << t) ? 1 : -EPROTO;
		frame_reader_init(&r, payload, sizeof payload, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
		frame_header(h, (uint8_t)t, 0);
		if (frame_feed(&r, h, sizeof h, &used) != want) {
			all = 0;
			diag("type %u", t);
		}
	}
	ok(all, "the host takes HELLO, LOAD_ERROR, RESULT, ERROR, PONG and refuses the other 251 types");
	frame_reader_init(&r, payload, sizeof payload, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
	frame_header(h, FN_FRAME_INVOKE, 0);
	is_int(frame_feed(&r, h, sizeof h, &used), -EPROTO, "INVOKE from a worker: -EPROTO");
	frame_reader_init(&r, payload, sizeof payload, FN_FRAME_MAX, FN_FRAMES_TO_WORKER);
	is_int(frame_feed(&r, h, sizeof h, &used), 1, "INVOKE to a worker: taken");
	frame_header(h, FN_FRAME_RESULT, 0);
	is_int(frame_feed(&r, h, sizeof h, &used), -EPROTO, "RESULT to a worker: -EPROTO");
}

static void test_write(void)
{
	int sv[2];
	uint8_t *big = malloc(FN_FRAME_MAX), *got = malloc(FN_FRAME_MAX);
	struct frame_reader r;
	pid_t pid;
	int status = -1, rc = 0, frames = 0;

	if (!ok(big && got && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair"))
		return;
	for (size_t k = 0; k < FN_FRAME_MAX; k++)
		big[k] = (uint8_t)(k * 7 + k / 251);
	/* A child writes while we read: the socket buffer is far smaller. */
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		_exit(frame_write(sv[1], FN_FRAME_RESULT, big, FN_FRAME_MAX) == 0 &&
		      frame_write(sv[1], FN_FRAME_PONG, NULL, 0) == 0 ? 0 : 1);
	}
	close(sv[1]);
	frame_reader_init(&r, got, FN_FRAME_MAX, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
	for (;;) {
		uint8_t chunk[65536];
		ssize_t n = read(sv[0], chunk, sizeof chunk);
		if (n <= 0)
			break;
		for (size_t off = 0; off < (size_t)n;) {
			size_t used;
			rc = frame_feed(&r, chunk + off, (size_t)n - off, &used);
			off += used;
			if (rc < 0)
				break;
			if (rc == 1 && frames++ == 0)
				ok(r.type == FN_FRAME_RESULT && r.len == FN_FRAME_MAX &&
				   memcmp(got, big, FN_FRAME_MAX) == 0,
				   "an FN_FRAME_MAX frame arrives whole and equal");
			if (rc == 1 && frames == 2)
				ok(r.type == FN_FRAME_PONG && r.len == 0, "then the empty PONG");
		}
		if (rc < 0)
			break;
	}
	waitpid(pid, &status, 0);
	is_int(frames, 2, "two frames");
	ok(!frame_partial(&r), "nothing left partial at EOF");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the writer succeeded");

	/* A closed peer: -EPIPE, not SIGPIPE. */
	close(sv[0]);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
		close(sv[0]);
		is_int(frame_write(sv[1], FN_FRAME_PING, NULL, 0), -EPIPE,
		       "writing to a closed peer: -EPIPE (and we are alive)");
		close(sv[1]);
	}
	int p[2];
	if (pipe(p) == 0) {
		is_int(frame_write(p[1], FN_FRAME_PING, "x", 1), 0, "a pipe (not a socket) works too");
		uint8_t b[8];
		ok(read(p[0], b, sizeof b) == 6 && b[3] == 1 && b[4] == FN_FRAME_PING && b[5] == 'x',
		   "its bytes: length 1, type, payload");
		close(p[0]);
		close(p[1]);
	}
	free(big);
	free(got);
}

int main(void)
{
	test_splits();
	test_stops_behind_frame();
	test_limits();
	test_types();
	test_write();
	return tap_done();
}
