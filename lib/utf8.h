/* lib/utf8.h: strict UTF-8 decoding, one code point at a time. */
#ifndef DSHIELD_LIB_UTF8_H
#define DSHIELD_LIB_UTF8_H

#include <stddef.h>

/* Decodes the sequence at s[*i] (i < n) and advances *i past it. Returns
 * the code point, or -1 for anything but the shortest form of a scalar
 * value (overlong forms, surrogates, above U+10FFFF, truncated). */
long utf8_next(const unsigned char *s, size_t n, size_t *i);

#endif
