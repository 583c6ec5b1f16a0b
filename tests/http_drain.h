/* tests/http_drain.h: what an in-memory HTTP connection has to send,
 * collected the way a transport would (output, then sent), for the tests
 * that drive lib/http.c without sockets. */
#ifndef DSHIELD_TESTS_HTTP_DRAIN_H
#define DSHIELD_TESTS_HTTP_DRAIN_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"

/* Appends every byte c has to send (pipelined answers included) to
 * out[len..cap), NUL terminated, and returns the new length. A test whose
 * buffer is too small aborts: its expectations would be wrong. */
__attribute__((unused))
static size_t http_drain(struct http_conn *c, char *out, size_t cap, size_t len,
			 uint64_t now)
{
	size_t n;
	const uint8_t *p;

	while ((p = http_conn_output(c, &n), n > 0)) {
		if (n > cap - 1 - len)
			abort();
		memcpy(out + len, p, n);
		len += n;
		http_conn_sent(c, n, now);
	}
	out[len] = '\0';
	return len;
}

#endif
