/* tests/frame_driver.c: the host side of the function protocol, for
 * tests/runtimes.t: spawns a worker with a socketpair as its fd 3, runs a
 * list of steps against it and prints what came back, one line per event.
 *
 *   frame_driver -o DIR [-t SECONDS] STEP... -- COMMAND [ARG...]
 *
 * Steps: `expect` reads one frame; `invoke FILE` sends FILE as an INVOKE
 * and reads the answer; `ping` sends PING and reads the answer; `garbage
 * HEX` sends raw bytes and reads. Each frame read prints
 *   N TYPE LEN            (TYPE: HELLO, LOAD_ERROR, RESULT, ERROR, PONG)
 * and leaves its payload in DIR/N.json. A RESULT also goes through
 * lib/fn_result as netd would take it: the line ends with
 * "status=S headers=H" (body in DIR/N.body, header lines in DIR/N.headers)
 * or "refused=REASON"; an ERROR or LOAD_ERROR goes through
 * fn_message_parse: "message=BYTES" or "refused=REASON". A read that ends
 * otherwise prints one of
 *   EOF                   the worker closed fd 3 between frames
 *   TRUNCATED             ... inside a frame
 *   BAD <errno>           a frame out of protocol (lib/frame refused it)
 *   TIMEOUT               nothing for SECONDS (the worker is killed)
 * and the remaining steps are skipped. Then the driver closes its end,
 * waits for the worker (SECONDS again, then SIGKILL) and prints
 * "EXIT <status>" or "SIGNAL <n>". The worker's stdout and stderr go to
 * DIR/stdout and DIR/stderr. The exit status is 0 unless the driver
 * itself failed (usage, I/O on DIR).
 */
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/fn_result.h"
#include "lib/frame.h"
#include "lib/hex.h"
#include "proto/fn_frame.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RESULT_TOKS 4096

struct driver {
	const char *dir;
	int timeout_s;
	int sock;
	pid_t pid;
	unsigned n;              /* frames read so far */
	struct frame_reader r;
	uint8_t *payload;        /* FN_FRAME_MAX bytes */
	uint8_t in[65536];       /* bytes read, not yet fed */
	size_t in_off, in_len;
};

static const char *type_name(uint8_t t)
{
	switch (t) {
	case FN_FRAME_HELLO: return "HELLO";
	case FN_FRAME_LOAD_ERROR: return "LOAD_ERROR";
	case FN_FRAME_RESULT: return "RESULT";
	case FN_FRAME_ERROR: return "ERROR";
	case FN_FRAME_PONG: return "PONG";
	default: return "?";
	}
}

static int write_file(const char *dir, unsigned n, const char *ext, const void *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%u.%s", dir, n, ext);
	if (!(f = fopen(path, "wb")))
		return -errno;
	size_t w = len ? fwrite(p, 1, len, f) : 0;
	return fclose(f) == 0 && w == len ? 0 : -EIO;
}

/* The RESULT as netd takes it. */
static int show_result(struct driver *d)
{
	static jsmntok_t toks[RESULT_TOKS];
	char err[ERRBUF_LEN];
	struct fn_reply rep;
	char *buf = malloc(FN_REPLY_BUF(d->r.len));
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = fn_result_parse((const char *)d->r.buf, d->r.len, toks, RESULT_TOKS, buf,
			     FN_REPLY_BUF(d->r.len), &rep, err, sizeof err);
	if (rc) {
		printf(" refused=%s\n", rc == -EBADMSG || rc == -E2BIG ? err : strerror(-rc));
		free(buf);
		return 0;
	}
	printf(" status=%d headers=%u ctype=%s\n", rep.status, rep.nheaders,
	       rep.content_type ? rep.content_type : "-");
	rc = write_file(d->dir, d->n, "body", rep.body, rep.body_len);
	if (!rc)
		rc = write_file(d->dir, d->n, "headers", rep.headers, rep.headers_len);
	free(buf);
	return rc;
}

/* An ERROR's or LOAD_ERROR's message as netd takes it (bounded at 1 KiB). */
static int show_message(struct driver *d)
{
	static jsmntok_t toks[8];
	char err[ERRBUF_LEN];
	char *buf = malloc(FN_REPLY_BUF(d->r.len));
	long n;

	if (!buf)
		return -ENOMEM;
	n = fn_message_parse((const char *)d->r.buf, d->r.len, toks, 8, buf,
			     FN_REPLY_BUF(d->r.len), 1024, err, sizeof err);
	if (n < 0)
		printf(" refused=%s\n", n == -EBADMSG || n == -E2BIG ? err : strerror((int)-n));
	else
		printf(" message=%ld\n", n);
	free(buf);
	return 0;
}

/* Reads until one frame is complete or the read ends. Returns 1 for a
 * frame, 0 for an ending (printed), negative for the driver's own error. */
static int read_frame(struct driver *d)
{
	for (;;) {
		while (d->in_off < d->in_len) {
			size_t used;
			int rc = frame_feed(&d->r, d->in + d->in_off, d->in_len - d->in_off, &used);
			d->in_off += used;
			if (rc < 0) {
				printf("BAD %s\n", rc == -EMSGSIZE ? "EMSGSIZE" : rc == -EPROTO ? "EPROTO" : "?");
				return 0;
			}
			if (rc == 1) {
				printf("%u %s %u", d->n, type_name(d->r.type), d->r.len);
				int w = write_file(d->dir, d->n, "json", d->r.buf, d->r.len);
				if (!w && d->r.type == FN_FRAME_RESULT)
					w = show_result(d);
				else if (!w && (d->r.type == FN_FRAME_ERROR ||
						d->r.type == FN_FRAME_LOAD_ERROR))
					w = show_message(d);
				else
					printf("\n");
				d->n++;
				fflush(stdout);
				return w ? w : 1;
			}
		}
		struct pollfd p = { .fd = d->sock, .events = POLLIN };
		int pr = poll(&p, 1, d->timeout_s * 1000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			printf("TIMEOUT\n");
			kill(d->pid, SIGKILL);
			return 0;
		}
		ssize_t n = read(d->sock, d->in, sizeof d->in);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			printf("%s\n", frame_partial(&d->r) ? "TRUNCATED" : "EOF");
			return 0;
		}
		d->in_off = 0;
		d->in_len = (size_t)n;
	}
}

static int send_file(struct driver *d, const char *path)
{
	unsigned char *body;
	size_t len;
	int rc = file_read_alloc(path, FN_FRAME_MAX, &body, &len);

	if (rc)
		return rc;
	rc = frame_write(d->sock, FN_FRAME_INVOKE, body, len);
	free(body);
	return rc;
}

static int send_hex(struct driver *d, const char *hex)
{
	uint8_t raw[256];
	ssize_t n = hex_decode(raw, sizeof raw, hex, strlen(hex));

	if (n <= 0)
		return -EINVAL;
	return write(d->sock, raw, n) == (ssize_t)n ? 0 : -errno;
}

static pid_t spawn(char **argv, const char *dir, int fd3)
{
	char out[4096], err[4096];
	pid_t pid;

	snprintf(out, sizeof out, "%s/stdout", dir);
	snprintf(err, sizeof err, "%s/stderr", dir);
	pid = fork();
	if (pid != 0)
		return pid;
	int in = open("/dev/null", O_RDONLY);
	int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		_exit(126);
	/* dup2 onto itself keeps close-on-exec: clear it by hand then. */
	if (fd3 == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(fd3, 3) < 0)
		_exit(126);
	execvp(argv[0], argv);
	_exit(127);
}

/* Closes our end, waits for the worker, prints how it ended. */
static void finish(struct driver *d)
{
	int status;

	close(d->sock);
	for (int waited = 0;; waited++) {
		pid_t w = waitpid(d->pid, &status, WNOHANG);
		if (w == d->pid)
			break;
		if (w < 0)
			return;
		if (waited == d->timeout_s * 10) {
			printf("TIMEOUT\n");
			kill(d->pid, SIGKILL);
		}
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	}
	if (WIFEXITED(status))
		printf("EXIT %d\n", WEXITSTATUS(status));
	else
		printf("SIGNAL %d\n", WTERMSIG(status));
}

static int usage(void)
{
	fprintf(stderr, "usage: frame_driver -o DIR [-t SECONDS] STEP... -- COMMAND [ARG...]\n"
			"steps: expect | invoke FILE | ping | garbage HEX\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct driver d = { .timeout_s = 20 };
	int sv[2], i = 1, sep, rc = 0;

	for (; i + 1 < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i += 2) {
		if (!strcmp(argv[i], "-o"))
			d.dir = argv[i + 1];
		else if (!strcmp(argv[i], "-t"))
			d.timeout_s = atoi(argv[i + 1]);
		else
			return usage();
	}
	for (sep = i; sep < argc && strcmp(argv[sep], "--"); sep++)
		;
	if (!d.dir || d.timeout_s <= 0 || sep + 1 >= argc)
		return usage();
	d.payload = malloc(FN_FRAME_MAX);
	if (!d.payload || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		perror("frame_driver");
		return 1;
	}
	frame_reader_init(&d.r, d.payload, FN_FRAME_MAX, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
	d.pid = spawn(argv + sep + 1, d.dir, sv[1]);
	if (d.pid < 0) {
		perror("frame_driver: fork");
		return 1;
	}
	close(sv[1]);
	d.sock = sv[0];

	for (; i < sep && rc >= 0; i++) {
		const char *step = argv[i];
		int sent = 0;
		if (!strcmp(step, "invoke") && i + 1 < sep)
			sent = send_file(&d, argv[++i]);
		else if (!strcmp(step, "ping"))
			sent = frame_write(d.sock, FN_FRAME_PING, NULL, 0);
		else if (!strcmp(step, "garbage") && i + 1 < sep)
			sent = send_hex(&d, argv[++i]);
		else if (strcmp(step, "expect")) {
			kill(d.pid, SIGKILL);
			rc = usage();
			break;
		}
		if (sent == -EPIPE || sent == -ECONNRESET) {
			printf("SEND %s\n", strerror(-sent));
			break;
		}
		if (sent) {
			fprintf(stderr, "frame_driver: %s: %s\n", step, strerror(-sent));
			rc = 1;
			kill(d.pid, SIGKILL);
			break;
		}
		int r = read_frame(&d);
		if (r < 0) {
			fprintf(stderr, "frame_driver: writing to %s: %s\n", d.dir, strerror(-r));
			rc = 1;
		}
		if (r <= 0)
			break;
	}
	finish(&d);
	free(d.payload);
	return rc;
}
