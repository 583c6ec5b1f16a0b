/* tests/escape/fn_egress.c: a native function that goes out the way a static
 * musl program does, with no proxy settings and nothing dshield-specific
 * (qemu-test/t/08-egress.t): getaddrinfo() (musl reads /etc/resolv.conf and
 * asks 127.0.0.1:53, netd's DNS in the sandbox), then a TCP connection to
 * the first IPv4 answer, the message sent, its write side shut, and
 * everything the peer sends until its end read back.
 *
 * The request body (stdin) is a JSON object with string fields "host",
 * "port" and "msg" (the test writes it; values without quotes or
 * backslashes). The answer (stdout) is one JSON object:
 *   {"addr":"A.B.C.D","sent":N,"reply":"..."}   on success (bytes outside
 *                                                 printable ASCII as '?')
 *   {"stage":"resolve|connect|send|recv","error":"..."} otherwise
 * and the exit status is 0 either way (the test reads the answer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BODY_MAX  4096
#define FIELD_MAX 256
#define REPLY_MAX 65536

/* The string value of "key" in a flat JSON object, copied to out (a value
 * with a backslash is refused: the test's values never need one). */
static int field(const char *body, const char *key, char *out, size_t outlen)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof pat, "\"%s\"", key);
	p = strstr(body, pat);
	if (p == NULL)
		return -1;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p++ != '"')
		return -1;
	end = strchr(p, '"');
	if (end == NULL || (size_t)(end - p) >= outlen || memchr(p, '\\', (size_t)(end - p)))
		return -1;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

static int fail(const char *stage, const char *why)
{
	printf("{\"stage\":\"%s\",\"error\":\"%s\"}\n", stage, why);
	return 0;
}

int main(void)
{
	static char body[BODY_MAX], reply[REPLY_MAX];
	char host[FIELD_MAX], port[16], msg[FIELD_MAX], addr[INET_ADDRSTRLEN];
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	struct timeval tv = { .tv_sec = 20 };
	size_t n = 0, got = 0;
	ssize_t r;
	int fd, e;

	while (n < sizeof body - 1 && (r = read(0, body + n, sizeof body - 1 - n)) > 0)
		n += (size_t)r;
	body[n] = '\0';
	if (field(body, "host", host, sizeof host) < 0 || field(body, "port", port, sizeof port) < 0 ||
	    field(body, "msg", msg, sizeof msg) < 0)
		return fail("input", "want {\\\"host\\\":...,\\\"port\\\":...,\\\"msg\\\":...}");

	e = getaddrinfo(host, port, &hints, &res);
	if (e != 0)
		return fail("resolve", gai_strerror(e));
	inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr, addr, sizeof addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("connect", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0)
		return fail("connect", strerror(errno));
	freeaddrinfo(res);
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg))
		return fail("send", strerror(errno));
	if (shutdown(fd, SHUT_WR) < 0)
		return fail("send", strerror(errno));
	while (got < sizeof reply - 1 && (r = recv(fd, reply + got, sizeof reply - 1 - got, 0)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return fail("recv", strerror(errno));
		}
		got += (size_t)r;
	}
	close(fd);
	for (size_t i = 0; i < got; i++)
		if (reply[i] < 0x20 || reply[i] > 0x7e || reply[i] == '"' || reply[i] == '\\')
			reply[i] = '?';
	reply[got] = '\0';
	printf("{\"addr\":\"%s\",\"sent\":%zu,\"reply\":\"%s\"}\n", addr, strlen(msg), reply);
	return 0;
}
