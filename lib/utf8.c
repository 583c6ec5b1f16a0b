/* lib/utf8.c: see utf8.h (moved here from crypto/measure.c, which uses it
 * for the kernel command line, to serve signed notes too). */
#include "lib/utf8.h"

long utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	size_t k;
	long cp, min;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; min = 0x80; }
	else if ((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; min = 0x800; }
	else if ((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; min = 0x10000; }
	else return -1;
	if (n - *i - 1 < k)
		return -1;
	for (size_t j = 1; j <= k; j++) {
		if ((s[*i + j] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[*i + j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += k + 1;
	return cp;
}
