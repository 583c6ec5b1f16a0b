/* lib/hex.h: lowercase hex encoding and strict decoding. */
#ifndef DSHIELD_LIB_HEX_H
#define DSHIELD_LIB_HEX_H

#include <stddef.h>
#include <sys/types.h>

/* The value of one hex digit (either case), or -1. */
int hex_digit_value(char c);

/* Writes 2*len lowercase hex digits and a NUL: out needs 2*len+1 bytes. */
void hex_encode(char *out, const void *in, size_t len);
/* Decodes exactly 2*n hex digits (either case) from in[0..inlen) into out
 * (capacity cap). Returns the byte count, or -1 on an odd length, a non-hex
 * digit, or more bytes than cap. */
ssize_t hex_decode(void *out, size_t cap, const char *in, size_t inlen);

#endif
