/* lib/base64.h: RFC 4648 base64, standard alphabet, with padding.
 *
 * Decoding is strict, because it reads untrusted input (a verifier's
 * QUOTE argument, fixtures): the length must be a multiple of 4, only the
 * alphabet and one or two final '=' are accepted, and the bits a final
 * group does not use must be zero, so every byte string has exactly one
 * accepted spelling. No whitespace, no URL-safe alphabet.
 */
#ifndef DSHIELD_LIB_BASE64_H
#define DSHIELD_LIB_BASE64_H

#include <stddef.h>

/* Characters base64_encode() writes for n bytes (without the NUL). */
#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)
/* The most bytes base64_decode() can produce from n characters. */
#define BASE64_DECODED_MAX(n) ((n) / 4 * 3)

/* Writes BASE64_ENCODED_LEN(len) characters and a NUL into out. Returns
 * the character count. */
size_t base64_encode(char *out, const void *in, size_t len);

/* Decodes in[0..len) into out (cap bytes). Returns the byte count, or
 * -EINVAL (a length that is not a multiple of 4, a character outside the
 * alphabet, misplaced or excess padding, non-zero unused bits) or -ENOSPC
 * (more than cap bytes). out is written only within cap. */
long base64_decode(void *out, size_t cap, const char *in, size_t len);

#endif
