/* lib/bbuf.c: see bbuf.h. */
#include "lib/bbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/hex.h"

void bbuf_init(struct bbuf *b, void *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->overflow = false;
}

/* Room for n more bytes? Sets overflow when not. */
static bool bbuf_room(struct bbuf *b, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return false;
	}
	return true;
}

void bbuf_put(struct bbuf *b, const void *s, size_t n)
{
	if (!bbuf_room(b, n) || n == 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void bbuf_str(struct bbuf *b, const char *s)
{
	bbuf_put(b, s, strlen(s));
}

void bbuf_u64(struct bbuf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	bbuf_put(b, tmp + i, sizeof tmp - i);
}

void bbuf_printf(struct bbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	/* vsnprintf writes at most the room left, its NUL included; the
	 * length it returns says whether the whole output fit before it. */
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->overflow = true;
		return;
	}
	b->len += (size_t)n;
}

/* Both encoders below go through a small stack chunk, so that a caller's
 * buffer never holds half of an encoding that did not fit. */
void bbuf_hex(struct bbuf *b, const void *d, size_t n)
{
	const uint8_t *p = d;
	char chunk[2 * 64 + 1];

	if (!bbuf_room(b, n > SIZE_MAX / 2 ? SIZE_MAX : 2 * n))
		return;
	while (n) {
		size_t k = n < 64 ? n : 64;
		hex_encode(chunk, p, k);
		bbuf_put(b, chunk, 2 * k);
		p += k;
		n -= k;
	}
}

void bbuf_base64(struct bbuf *b, const void *d, size_t n)
{
	const uint8_t *p = d;
	char chunk[BASE64_ENCODED_LEN(48) + 1];

	if (!bbuf_room(b, n > SIZE_MAX / 2 ? SIZE_MAX : BASE64_ENCODED_LEN(n)))
		return;
	while (n) {
		size_t k = n < 48 ? n : 48;   /* a multiple of 3: no padding mid-way */
		bbuf_put(b, chunk, base64_encode(chunk, p, k));
		p += k;
		n -= k;
	}
}

long bbuf_finish(struct bbuf *b)
{
	if (b->overflow)
		return -ENOSPC;
	if (b->len < b->cap)
		b->p[b->len] = '\0';
	return (long)b->len;
}
