/* cli/http_client.h: a small HTTP/1.1 client for the host tool (`dshield
 * log verify URL`): plain http:// only, GET only, one request at a time
 * over one keep-alive connection, responses parsed by llhttp.
 *
 * Everything is bounded: the response head (HC_HEAD_MAX), the body (the
 * caller's buffer: a larger one is -EFBIG, not truncated), and the time
 * of each request (connect, send and receive together). The transport is
 * not what is trusted: whatever it fetches is verified afterwards, so
 * there is no TLS here (a man in the middle can only make verification
 * fail, not pass).
 */
#ifndef DSHIELD_CLI_HTTP_CLIENT_H
#define DSHIELD_CLI_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#define HC_HOST_MAX   256
#define HC_PREFIX_MAX 1024
#define HC_HEAD_MAX   (64 * 1024)     /* status line and headers of a response */
#define HC_TIMEOUT_MS 30000           /* per request, unless the caller sets one */

/* http://HOST[:PORT][/PREFIX]: HOST a name, an IPv4 address or [IPv6]. */
struct hc_url {
	char host[HC_HOST_MAX];      /* without brackets */
	char port[6];
	bool v6;                     /* HOST was bracketed */
	char prefix[HC_PREFIX_MAX];  /* "" or "/a/b", no trailing '/' */
};

/* Parses url strictly (no user info, query or fragment). 0, or -EINVAL
 * with the reason in err. */
int hc_url_parse(const char *url, struct hc_url *u, char *err, size_t errcap);

/* The same for https://HOST[:PORT] (default port 443), for the callers
 * that speak TLS themselves (`dshield verify --tls-url`); hc_get() is
 * plain HTTP and must not be given such a URL. */
int hc_url_parse_https(const char *url, struct hc_url *u, char *err, size_t errcap);

/* One connection's state; fields private to cli/http_client.c. */
struct hc {
	const struct hc_url *url;
	unsigned timeout_ms;
	int fd;                      /* -1 while not connected */
	llhttp_t parser;
	/* the response being read */
	uint8_t *body;
	size_t cap, len;
	size_t head_bytes;
	bool too_big, head_too_big, done;
	/* totals */
	uint64_t requests, bytes, connects;
};

void hc_init(struct hc *h, const struct hc_url *u, unsigned timeout_ms);

/* Connects h->fd (non-blocking) to the URL's host and port by the
 * deadline (mono_ms). 0, or a negative errno with the reason in err. */
int hc_connect(struct hc *h, uint64_t deadline, char *err, size_t errcap);

/* Waits for events on h->fd until the deadline. 0, -ETIMEDOUT or -errno. */
int hc_wait(struct hc *h, short events, uint64_t deadline);
void hc_close(struct hc *h);

/* GET <prefix>/<rel> (rel without a leading '/'). The body goes to
 * buf[0..cap). Returns its length when the status is 200; otherwise a
 * negative errno with the reason in err: -ENOENT (404), -EREMOTEIO
 * (another status), -EFBIG (body larger than cap), -EPROTO (a malformed
 * or oversized response), -ETIMEDOUT, or the socket's error. */
long hc_get(struct hc *h, const char *rel, void *buf, size_t cap, char *err, size_t errcap);

#endif
