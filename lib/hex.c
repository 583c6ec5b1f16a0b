/* lib/hex.c: see hex.h. */
#include "lib/hex.h"

static const char hex_digits[] = "0123456789abcdef";

void hex_encode(char *out, const void *in, size_t len)
{
	const unsigned char *p = in;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex_digits[p[i] >> 4];
		out[2 * i + 1] = hex_digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t hex_decode(void *out, size_t cap, const char *in, size_t inlen)
{
	unsigned char *o = out;
	if (inlen % 2 != 0 || inlen / 2 > cap)
		return -1;
	for (size_t i = 0; i < inlen / 2; i++) {
		int hi = hex_digit_value(in[2 * i]), lo = hex_digit_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		o[i] = (unsigned char)(hi << 4 | lo);
	}
	return (ssize_t)(inlen / 2);
}
