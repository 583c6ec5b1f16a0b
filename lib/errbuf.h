/* lib/errbuf.h: the one way parsers fill a caller's error message.
 *
 * A parser that explains its refusals takes `char err[ERRBUF_LEN]` (or a
 * pointer and a capacity) from its caller and writes one line into it with
 * errbuf_set(), returning the negative errno that errbuf_set() passes
 * through. One size for every such buffer, so that a message can be handed
 * from one layer to the next without being cut or re-sized.
 */
#ifndef DSHIELD_LIB_ERRBUF_H
#define DSHIELD_LIB_ERRBUF_H

#include <stddef.h>

/* Bytes of every parser's error message buffer, NUL included. */
#define ERRBUF_LEN 160

/* Formats fmt into err (cap bytes, always NUL terminated when cap > 0);
 * err may be NULL for callers that want no message. Returns code, so that
 * a parser can write `return errbuf_set(err, cap, -EBADMSG, "...")`. */
__attribute__((format(printf, 4, 5)))
int errbuf_set(char *err, size_t cap, int code, const char *fmt, ...);

#endif
