/* lib/base64.c: see base64.h. */
#include "lib/base64.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/file.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(char *out, const void *in, size_t len)
{
	const uint8_t *p = in;
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		size_t left = len - i;
		uint32_t v = (uint32_t)p[i] << 16;

		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = left > 1 ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = left > 2 ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* Each alphabet character's 6-bit value plus one; 0 for every other byte
 * (padding included). A table rather than comparisons: a deployment body
 * carries up to 43 MiB of base64, checked and decoded in netd's loop. */
static const uint8_t b64_index[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13,
	['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19,
	['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25,
	['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31,
	['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
	['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55,
	['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61,
	['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/* The 6-bit value of an alphabet character, or -1 (padding included). */
static int b64_value(char c)
{
	return (int)b64_index[(unsigned char)c] - 1;
}

/* One group of four characters into v (24 bits, high first); *pad gets
 * its '=' count, allowed only in the last group ("xx==" or "xxx="), and
 * the bits the padding hides must be zero: one spelling only. */
static int decode_group(const char *g, bool last, uint32_t *v, size_t *pad)
{
	*pad = last && g[3] == '=' ? (g[2] == '=' ? 2 : 1) : 0;
	*v = 0;
	for (size_t k = 0; k < 4 - *pad; k++) {
		int d = b64_value(g[k]);
		if (d < 0)
			return -EINVAL;
		*v |= (uint32_t)d << (18 - 6 * k);
	}
	if ((*pad == 1 && (*v & 0xff)) || (*pad == 2 && (*v & 0xffff)))
		return -EINVAL;
	return 0;
}

long base64_decode(void *out, size_t cap, const char *in, size_t len)
{
	uint8_t *o = out;
	size_t n = 0, pad;
	uint32_t v;

	if (len % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		if (decode_group(in + i, i + 4 == len, &v, &pad) != 0)
			return -EINVAL;
		if (3 - pad > cap - n)
			return -ENOSPC;
		o[n++] = (uint8_t)(v >> 16);
		if (pad < 2)
			o[n++] = (uint8_t)(v >> 8);
		if (pad < 1)
			o[n++] = (uint8_t)v;
	}
	return (long)n;
}

long base64_check(const char *in, size_t len)
{
	size_t pad = 0;
	uint32_t v;
	unsigned bad = 0;

	if (len % 4 != 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	/* Every group but the last holds alphabet characters only. */
	for (size_t i = 0; i < len - 4; i++)
		bad |= b64_index[(unsigned char)in[i]] == 0;
	if (bad || decode_group(in + len - 4, true, &v, &pad) != 0)
		return -EINVAL;
	return (long)(len / 4 * 3 - pad);
}

long base64_decode_fd(int fd, const char *in, size_t len, void *buf, size_t cap,
		      void (*tap)(void *arg, const void *chunk, size_t n), void *arg)
{
	/* Whole groups per chunk: a chunk decodes on its own. */
	size_t step = cap / 3 * 4, done = 0, total = 0;

	if (step == 0 || len % 4 != 0)
		return -EINVAL;
	while (done < len) {
		size_t n = len - done < step ? len - done : step;
		long got;
		int r;

		/* base64_decode takes padding at the end of what it is given:
		 * only the last chunk may end with it. */
		if (done + n < len && in[done + n - 1] == '=')
			return -EINVAL;
		got = base64_decode(buf, cap, in + done, n);
		if (got < 0)
			return got;
		if (tap != NULL)
			tap(arg, buf, (size_t)got);
		if ((r = file_write_all(fd, buf, (size_t)got)) != 0)
			return r;
		done += n;
		total += (size_t)got;
	}
	return (long)total;
}
