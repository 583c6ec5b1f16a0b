/* lib/http_sock.h: the HTTP core (lib/http.h) over kernel TCP sockets.
 *
 * One thread, epoll, non-blocking sockets, a fixed pool of connections
 * allocated once at start. netd serves the API over lwIP instead; this
 * transport exists for tests and for the benchmark reference server
 * (tests/bench/http_ref.c), so both exercise the very same core.
 */
#ifndef DSHIELD_NET_HTTP_SOCK_H
#define DSHIELD_NET_HTTP_SOCK_H

#include <signal.h>

#include "lib/http.h"

#define HTTP_SOCK_MAX_CONNS 256

/* Serves connections accepted on listen_fd (a listening TCP socket; it is
 * made non-blocking) until *stop becomes non-zero, checked at least every
 * 100 ms. Connection ids passed to the core are unique per accept.
 * Returns 0 when stopped, or a negative errno on a fatal error (the pool
 * cannot be allocated, epoll fails). Connections still open are closed. */
int http_sock_serve(int listen_fd, const struct http_server *srv,
		    volatile sig_atomic_t *stop);

#endif
