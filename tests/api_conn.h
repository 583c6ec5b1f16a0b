/* tests/api_conn.h: one in-memory HTTP connection served by api_handle,
 * shared by the API tests: feed it request bytes, take what it answers. */
#ifndef DSHIELD_TESTS_API_CONN_H
#define DSHIELD_TESTS_API_CONN_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/api.h"
#include "tests/http_drain.h"

static struct http_conn conn;
static struct http_server srv;
static struct api_state st;
static char out[65536];

/* A fresh connection (id) to the API over st; srv's timeouts are the
 * caller's to set first. */
__attribute__((unused))
static void api_conn_open(uint32_t id)
{
	srv.handler = api_handle;
	srv.ctx = &st;
	http_conn_init(&conn, &srv, id, 0);
}

__attribute__((unused))
static void feed(const char *s)
{
	http_conn_feed(&conn, (const uint8_t *)s, strlen(s), 1);
}

/* Everything the connection has to send, as a string in out. */
__attribute__((unused))
static const char *take(void)
{
	http_drain(&conn, out, sizeof out, 0, 2);
	return out;
}

/* The body of the response r. */
__attribute__((unused))
static const char *body_of(const char *r)
{
	const char *b = strstr(r, "\r\n\r\n");
	return b ? b + 4 : "";
}

#endif
