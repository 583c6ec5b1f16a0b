/* lib/errbuf.h: the one way parsers fill a caller's error message. */
#ifndef DSHIELD_LIB_ERRBUF_H
#define DSHIELD_LIB_ERRBUF_H

#include <stddef.h>

/* Formats fmt into err (cap bytes, always NUL terminated when cap > 0);
 * err may be NULL for callers that want no message. Returns code, so that
 * a parser can write `return errbuf_set(err, cap, -EBADMSG, "...")`. */
__attribute__((format(printf, 4, 5)))
int errbuf_set(char *err, size_t cap, int code, const char *fmt, ...);

#endif
