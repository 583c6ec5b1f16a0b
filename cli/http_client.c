/* cli/http_client.c: see http_client.h.
 *
 * Each request has one deadline (timeout_ms from its start) that bounds
 * the connect, the send and every wait for response bytes, so a server
 * that trickles one byte a second cannot hold the tool forever. A request
 * on a reused keep-alive connection that fails before any response byte
 * arrived (the server closed it meanwhile) is retried once on a new one.
 */
#include "cli/http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/bbuf.h"
#include "lib/clock.h"
#include "lib/errbuf.h"

#ifndef DSHIELD_VERSION
#define DSHIELD_VERSION "0.0.0"
#endif

/* --- URL ------------------------------------------------------------------ */

static bool host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.';
}

static int url_parse(const char *url, const char *scheme, const char *dflt_port, struct hc_url *u,
		     char *err, size_t errcap)
{
	const char *p = url, *h, *e, *after;
	size_t n;

	memset(u, 0, sizeof *u);
	if (strncmp(p, scheme, strlen(scheme)) != 0)
		return errbuf_set(err, errcap, -EINVAL, "%s: only %s URLs are fetched here%s", url,
				  scheme, strcmp(scheme, "http://") == 0 ?
				  " (what is fetched is verified, not the transport)" : "");
	p += strlen(scheme);
	if (*p == '[') {
		h = ++p;
		e = strchr(p, ']');
		if (e == NULL)
			return errbuf_set(err, errcap, -EINVAL, "%s: an unclosed [", url);
		for (const char *q = h; q < e; q++)
			if (!(host_char(*q) || *q == ':'))
				return errbuf_set(err, errcap, -EINVAL, "%s: a bad IPv6 address", url);
		u->v6 = true;
		after = e + 1;
	} else {
		h = p;
		while (host_char(*p))
			p++;
		e = after = p;
	}
	n = (size_t)(e - h);
	if (n == 0 || n >= sizeof u->host)
		return errbuf_set(err, errcap, -EINVAL, "%s: %s host", url, n ? "too long a" : "no");
	memcpy(u->host, h, n);
	p = after;
	if (*p == ':') {
		unsigned long port = 0;
		size_t digits = 0;
		for (p++; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
			port = port * 10 + (unsigned long)(*p - '0');
		if (digits == 0 || digits > 5 || port == 0 || port > 65535)
			return errbuf_set(err, errcap, -EINVAL, "%s: a bad port", url);
		snprintf(u->port, sizeof u->port, "%lu", port);
	} else {
		snprintf(u->port, sizeof u->port, "%s", dflt_port);
	}
	if (*p != '\0' && *p != '/')
		return errbuf_set(err, errcap, -EINVAL,
				  "%s: unexpected '%c' after the host (no user info)", url, *p);
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n >= sizeof u->prefix)
		return errbuf_set(err, errcap, -EINVAL, "%s: the path is too long", url);
	for (size_t i = 0; i < n; i++) {
		if (p[i] <= ' ' || p[i] >= 0x7f || p[i] == '?' || p[i] == '#')
			return errbuf_set(err, errcap, -EINVAL,
					  "%s: the path may hold no query, fragment, space or "
					  "control character", url);
	}
	memcpy(u->prefix, p, n);
	return 0;
}

int hc_url_parse(const char *url, struct hc_url *u, char *err, size_t errcap)
{
	return url_parse(url, "http://", "80", u, err, errcap);
}

int hc_url_parse_https(const char *url, struct hc_url *u, char *err, size_t errcap)
{
	return url_parse(url, "https://", "443", u, err, errcap);
}

/* --- response parsing ----------------------------------------------------- */

static int on_message_begin(llhttp_t *p)
{
	struct hc *h = p->data;

	h->len = 0;
	h->too_big = false;
	h->done = false;
	return 0;
}

static int on_head_bytes(llhttp_t *p, const char *at, size_t n)
{
	struct hc *h = p->data;

	(void)at;
	h->head_bytes += n;
	if (h->head_bytes > HC_HEAD_MAX) {
		h->head_too_big = true;
		return HPE_USER;
	}
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
	struct hc *h = p->data;

	/* an error page is read (to keep the connection) but not kept; it
	 * is bounded like a head */
	if (p->status_code != 200) {
		h->head_bytes += n;
		if (h->head_bytes > HC_HEAD_MAX) {
			h->head_too_big = true;
			return HPE_USER;
		}
		return 0;
	}
	if (n > h->cap - h->len) {
		h->too_big = true;
		return HPE_USER;
	}
	memcpy(h->body + h->len, at, n);
	h->len += n;
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	struct hc *h = p->data;

	/* an interim 1xx is not the answer: read on */
	if (p->status_code >= 200)
		h->done = true;
	return HPE_PAUSED;
}

static const llhttp_settings_t hc_settings = {
	.on_message_begin = on_message_begin,
	.on_status = on_head_bytes,
	.on_header_field = on_head_bytes,
	.on_header_value = on_head_bytes,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* --- transport -------------------------------------------------------------- */

void hc_init(struct hc *h, const struct hc_url *u, unsigned timeout_ms)
{
	memset(h, 0, sizeof *h);
	h->url = u;
	h->timeout_ms = timeout_ms ? timeout_ms : HC_TIMEOUT_MS;
	h->fd = -1;
}

void hc_close(struct hc *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

int hc_wait(struct hc *h, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = h->fd, .events = events };
		int r = poll(&pfd, 1, (int)(deadline - now < 60000 ? deadline - now : 60000));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int hc_connect(struct hc *h, uint64_t deadline, char *err, size_t errcap)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	int r, last = -ECONNREFUSED;

	r = getaddrinfo(h->url->host, h->url->port, &hints, &res);
	if (r != 0)
		return errbuf_set(err, errcap, -EHOSTUNREACH, "%s: %s", h->url->host, gai_strerror(r));
	for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
		h->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			       a->ai_protocol);
		if (h->fd < 0) {
			last = -errno;
			continue;
		}
		if (connect(h->fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
			int so = 0;
			socklen_t sl = sizeof so;
			r = hc_wait(h, POLLOUT, deadline);
			if (r == 0 && getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so == 0)
				break;
			last = r < 0 ? r : -so;
		} else {
			last = -errno;
		}
		hc_close(h);
	}
	freeaddrinfo(res);
	if (h->fd < 0)
		return errbuf_set(err, errcap, last, "connecting to %s port %s: %s", h->url->host,
				  h->url->port, strerror(-last));
	h->connects++;
	return 0;
}

static int send_all(struct hc *h, const char *p, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t k = send(h->fd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		int r = hc_wait(h, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One attempt on the current connection. *got: response bytes arrived. */
static long attempt(struct hc *h, const char *req, size_t reqlen, uint64_t deadline,
		    bool *got, char *err, size_t errcap)
{
	char in[16384];
	int r;

	*got = false;
	llhttp_init(&h->parser, HTTP_RESPONSE, &hc_settings);
	h->parser.data = h;
	h->head_bytes = 0;
	h->head_too_big = h->too_big = h->done = false;
	h->len = 0;
	r = send_all(h, req, reqlen, deadline);
	if (r < 0)
		return errbuf_set(err, errcap, r, "sending the request: %s", strerror(-r));
	while (!h->done) {
		ssize_t k = recv(h->fd, in, sizeof in, 0);
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			r = hc_wait(h, POLLIN, deadline);
			if (r == -ETIMEDOUT)
				return errbuf_set(err, errcap, r, "no whole answer within %u ms",
						  h->timeout_ms);
			if (r < 0)
				return errbuf_set(err, errcap, r, "waiting: %s", strerror(-r));
			continue;
		}
		if (k < 0)
			return errbuf_set(err, errcap, -errno, "receiving: %s", strerror(errno));
		if (k == 0) {
			if (llhttp_finish(&h->parser) == HPE_OK && h->done)
				break;
			return errbuf_set(err, errcap, -EPROTO, "the server closed the connection %s",
					  *got ? "in the middle of the answer" : "without answering");
		}
		*got = true;
		h->bytes += (uint64_t)k;
		llhttp_errno_t e = llhttp_execute(&h->parser, in, (size_t)k);
		if (e == HPE_PAUSED) {
			const char *pos = llhttp_get_error_pos(&h->parser);
			llhttp_resume(&h->parser);
			/* bytes after the answer: nothing was asked for them */
			if (h->done && pos != in + k)
				hc_close(h);
			if (!h->done && pos != in + k) {
				e = llhttp_execute(&h->parser, pos, (size_t)(in + k - pos));
				if (e == HPE_PAUSED)
					llhttp_resume(&h->parser);
			}
		}
		if (e != HPE_OK && e != HPE_PAUSED) {
			if (h->too_big)
				return errbuf_set(err, errcap, -EFBIG, "the answer is larger than %zu bytes",
						  h->cap);
			if (h->head_too_big)
				return errbuf_set(err, errcap, -EPROTO, "the answer's head is larger than %d "
						  "bytes", HC_HEAD_MAX);
			return errbuf_set(err, errcap, -EPROTO, "a malformed answer: %s",
					  llhttp_get_error_reason(&h->parser));
		}
	}
	if (h->fd >= 0 && !llhttp_should_keep_alive(&h->parser))
		hc_close(h);
	int status = h->parser.status_code;
	if (status == 404)
		return errbuf_set(err, errcap, -ENOENT, "HTTP 404 (not found)");
	if (status != 200)
		return errbuf_set(err, errcap, -EREMOTEIO, "HTTP %d", status);
	return (long)h->len;
}

long hc_get(struct hc *h, const char *rel, void *buf, size_t cap, char *err, size_t errcap)
{
	char req[HC_PREFIX_MAX + HC_HOST_MAX + 256];
	struct bbuf b;
	uint64_t deadline = mono_ms() + h->timeout_ms;
	long r = -EIO;

	bbuf_init(&b, req, sizeof req);
	bbuf_printf(&b, "GET %s/%s HTTP/1.1\r\nHost: %s%s%s", h->url->prefix, rel,
		    h->url->v6 ? "[" : "", h->url->host, h->url->v6 ? "]" : "");
	if (strcmp(h->url->port, "80") != 0)
		bbuf_printf(&b, ":%s", h->url->port);
	bbuf_str(&b, "\r\nUser-Agent: dshield/" DSHIELD_VERSION "\r\nAccept: */*\r\n\r\n");
	if (bbuf_finish(&b) < 0)
		return errbuf_set(err, errcap, -ENAMETOOLONG, "the request is too long");
	h->body = buf;
	h->cap = cap;
	h->requests++;
	for (int tries = 0; tries < 2; tries++) {
		bool reused = h->fd >= 0, got;
		if (!reused && (r = hc_connect(h, deadline, err, errcap)) < 0)
			return r;
		r = attempt(h, req, b.len, deadline, &got, err, errcap);
		if (r < 0 && r != -ENOENT && r != -EREMOTEIO)
			hc_close(h);
		/* a kept-alive connection the server closed meanwhile: once more */
		if (r < 0 && reused && !got && r != -ETIMEDOUT)
			continue;
		return r;
	}
	return r;
}
