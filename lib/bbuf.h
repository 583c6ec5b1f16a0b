/* lib/bbuf.h: a bounded appender into a caller-owned buffer.
 *
 * The one way text is built in a fixed buffer (HTTP responses, JSON via
 * lib/jsonw, hand-assembled documents): appends never write past cap, and
 * the first one that does not fit sets `overflow`, after which every append
 * is a no-op. Callers append without checking each step and look once, at
 * bbuf_finish(). Nothing is ever cut in the middle of an append: the buffer
 * holds whole appends only.
 */
#ifndef DSHIELD_LIB_BBUF_H
#define DSHIELD_LIB_BBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bbuf {
	char *p;
	size_t cap, len;
	bool overflow;
};

void bbuf_init(struct bbuf *b, void *p, size_t cap);
/* n bytes as they are. */
void bbuf_put(struct bbuf *b, const void *s, size_t n);
/* A NUL terminated string, without its NUL. */
void bbuf_str(struct bbuf *b, const char *s);
/* Decimal, no sign, no padding. */
void bbuf_u64(struct bbuf *b, uint64_t v);
/* printf into the buffer. vsnprintf needs a byte for its NUL behind the
 * output, so this takes one byte more room than it appends; output that
 * does not fit whole with that byte is an overflow. */
__attribute__((format(printf, 2, 3)))
void bbuf_printf(struct bbuf *b, const char *fmt, ...);
/* Lowercase hex of n bytes. */
void bbuf_hex(struct bbuf *b, const void *d, size_t n);
/* Base64 (lib/base64.h) of n bytes, with padding. */
void bbuf_base64(struct bbuf *b, const void *d, size_t n);

/* Returns the length, NUL terminating the buffer when there is room for
 * it (the NUL is not counted), or -ENOSPC after an overflow. */
long bbuf_finish(struct bbuf *b);

#endif
