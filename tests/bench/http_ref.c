/* tests/bench/http_ref.c: the reference server for benchmarks.
 *
 *   http_ref [--addr A.B.C.D] [--port P] [--header-timeout-ms N] [--idle-timeout-ms N]
 *
 * Serves the very same HTTP core and API routes as netd (lib/http.c,
 * net/api.c), but over the kernel's TCP stack (lib/http_sock.c), so a
 * benchmark can compare netd's lwIP path against the kernel with
 * everything else equal. Runs until SIGINT or SIGTERM.
 *
 * Benchmark stand-in: there is no init here, so /v1/info's question for
 * eth0's kernel addresses is answered at once, in the handler, with an
 * empty list; boot times are null. Never use it as a source of truth.
 */
#include "net/api.h"
#include "lib/http_sock.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static struct api_state st;
static bool kaddr_asked;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int ask_kaddr(void *ctx, uint32_t conn_id)
{
	(void)ctx;
	(void)conn_id;
	kaddr_asked = true;
	return 0;
}

/* api_handle, with /v1/info's PENDING answered before returning. */
static void ref_handle(void *ctx, struct http_conn *c, const struct http_request *req)
{
	static const struct kaddr_reply_msg none = { .error = 0, .count = 0 };

	kaddr_asked = false;
	api_handle(ctx, c, req);
	if (kaddr_asked)
		api_kaddr_reply(&st, c, &none);
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: http_ref [--addr A.B.C.D] [--port P] "
			"[--header-timeout-ms N] [--idle-timeout-ms N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct http_server srv = { .handler = ref_handle, .ctx = &st };
	struct sigaction sa = { .sa_handler = on_signal };
	uint32_t port = 8081;
	int fd, one = 1, rc;

	log_set_role("http_ref");
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		if (strcmp(argv[i], "--addr") == 0) {
			if (inet_pton(AF_INET, v, &a.sin_addr) != 1)
				usage();
		} else if (strcmp(argv[i], "--port") == 0) {
			if (parse_u32(v, 65535, &port) < 0)
				usage();
		} else if (strcmp(argv[i], "--header-timeout-ms") == 0) {
			if (parse_u32(v, UINT32_MAX, &srv.header_timeout_ms) < 0)
				usage();
		} else if (strcmp(argv[i], "--idle-timeout-ms") == 0) {
			if (parse_u32(v, UINT32_MAX, &srv.idle_timeout_ms) < 0)
				usage();
		} else {
			usage();
		}
		i++;
	}
	a.sin_port = htons((uint16_t)port);

	st.request_kaddr = ask_kaddr;
	st.ipv4_addr = a.sin_addr.s_addr;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0) {
		dlog("cannot listen on %s:%u: %s", inet_ntoa(a.sin_addr), (unsigned)port,
		     strerror(errno));
		return 1;
	}
	dlog("listening on %s:%u (kernel TCP, benchmark reference)",
	     inet_ntoa(a.sin_addr), (unsigned)port);
	rc = http_sock_serve(fd, &srv, &stop);
	close(fd);
	if (rc < 0) {
		dlog("serve: %s", strerror(-rc));
		return 1;
	}
	return 0;
}
