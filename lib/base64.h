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

/* Checks in[0..len) by the same rules without decoding it. Returns the
 * byte count base64_decode() would produce, or -EINVAL. */
long base64_check(const char *in, size_t len);

/* Decodes in[0..len) by the same rules, in chunks through the caller's
 * buf[0..cap) (cap >= 3; a few hundred KiB is plenty), writing each chunk
 * to fd in full (lib/file.h: file_write_all) after handing it to tap(arg,
 * chunk, n) when tap is set (a hash of the decoded bytes, in the same
 * pass). For inputs far larger than any buffer (a function's code in a
 * deployment body): the only copy of the bytes is the one in buf.
 * Returns the byte count, -EINVAL (a spelling base64_decode refuses; the
 * chunks before it were already written, so the caller discards fd's
 * contents) or a write error (-errno). */
long base64_decode_fd(int fd, const char *in, size_t len, void *buf, size_t cap,
		      void (*tap)(void *arg, const void *chunk, size_t n), void *arg);

#endif
