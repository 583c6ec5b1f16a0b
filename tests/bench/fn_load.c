/* tests/bench/fn_load.c: a closed-loop HTTP/1.1 load generator for the fn
 * bench (run-bench, BENCH=fn): CONNS keep-alive connections, each with one
 * request in flight, for SECONDS; every request's latency recorded (no
 * sampling), so p50/p99 are over all of them.
 *
 *   fn_load ADDR PORT PATH CONNS SECONDS [get]
 *
 * POST PATH with the body {} (or GET). Answers must carry Content-Length
 * (netd's do). Prints {"clients","seconds","requests","requests_per_s",
 * "p50_us","p99_us","non_2xx","errors"}. A connection the server closes
 * is counted in errors and reopened. The first answer that is not 2xx goes
 * to stderr.
 */
#include "tests/bench/samples.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX   256
#define SAMPLES_MAX (4u << 20)

struct conn {
	int fd;
	uint64_t t0;
	size_t got;
	char buf[16384];
};

static struct sockaddr_in sa;
static char req[1024];
static size_t req_len;

static int conn_open(struct conn *c)
{
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return 0;
}

static int conn_send(struct conn *c)
{
	c->got = 0;
	c->t0 = now_ns();
	return send(c->fd, req, req_len, MSG_NOSIGNAL) == (ssize_t)req_len ? 0 : -EIO;
}

/* A whole answer in c->buf: its length and status, or 0 when more is needed,
 * or -1 when it cannot be read (no Content-Length, too large). */
static long answer_len(const struct conn *c, int *status)
{
	const char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);
	long clen = -1;

	if (!end)
		return c->got == sizeof c->buf ? -1 : 0;
	*status = atoi(c->buf + 9);
	for (const char *l = strstr(c->buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
		if (strncasecmp(l + 2, "content-length:", 15) == 0)
			clen = atol(l + 17);
	if (clen < 0 || (size_t)(end + 4 - c->buf) + (size_t)clen > sizeof c->buf)
		return -1;
	size_t total = (size_t)(end + 4 - c->buf) + (size_t)clen;
	return c->got >= total ? (long)total : 0;
}

int main(int argc, char **argv)
{
	static struct conn conns[CONNS_MAX];
	static struct pollfd pf[CONNS_MAX];
	uint64_t *lat, n = 0, non2xx = 0, errors = 0, t_end, t_start;
	int nconn;

	if (argc < 6 || (nconn = atoi(argv[4])) < 1 || nconn > CONNS_MAX || atoi(argv[5]) < 1) {
		fprintf(stderr, "usage: fn_load ADDR PORT PATH CONNS(1..%d) SECONDS [get]\n", CONNS_MAX);
		return 2;
	}
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 2;
	bool get = argc > 6 && strcmp(argv[6], "get") == 0;
	req_len = (size_t)snprintf(req, sizeof req,
				   get ? "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" :
					 "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
					 "Content-Length: 2\r\n\r\n{}", argv[3], argv[1]);
	if (!(lat = malloc(SAMPLES_MAX * sizeof *lat)))
		return 1;
	for (int i = 0; i < nconn; i++) {
		if (conn_open(&conns[i]) < 0 || conn_send(&conns[i]) < 0) {
			perror("fn_load: connect");
			return 1;
		}
		pf[i] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
	}
	t_start = now_ns();
	t_end = t_start + (uint64_t)atoi(argv[5]) * 1000000000u;
	while (now_ns() < t_end) {
		if (poll(pf, (nfds_t)nconn, 1000) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < nconn; i++) {
			struct conn *c = &conns[i];
			int status = 0;
			long len;
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = recv(c->fd, c->buf + c->got, sizeof c->buf - 1 - c->got, 0);
			if (r > 0) {
				c->got += (size_t)r;
				c->buf[c->got] = '\0';
				if ((len = answer_len(c, &status)) == 0)
					continue;
				if (len > 0 && (size_t)len == c->got) {
					if (n < SAMPLES_MAX)
						lat[n] = now_ns() - c->t0;
					n++;
					if ((status < 200 || status > 299) && non2xx++ == 0)
						fprintf(stderr, "fn_load: the first answer not 2xx: %.*s\n",
							(int)c->got, c->buf);
					if (conn_send(c) == 0)
						continue;
				}
			}
			/* closed, refused, or more than one answer: start over */
			errors++;
			close(c->fd);
			if (conn_open(c) < 0 || conn_send(c) < 0) {
				perror("fn_load: reconnect");
				return 1;
			}
			pf[i].fd = c->fd;
		}
	}
	double secs = (double)(now_ns() - t_start) / 1e9;
	uint64_t m = n < SAMPLES_MAX ? n : SAMPLES_MAX;
	struct pct p = samples_pct(lat, m);
	printf("{\"clients\":%d,\"seconds\":%s,\"requests\":%llu,\"requests_per_s\":%.1f,"
	       "\"p50_us\":%.1f,\"p99_us\":%.1f,\"non_2xx\":%llu,\"errors\":%llu}\n",
	       nconn, argv[5], (unsigned long long)n, n / secs, p.p50, p.p99, (unsigned long long)non2xx,
	       (unsigned long long)errors);
	free(lat);
	return 0;
}
