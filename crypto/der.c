/* crypto/der.c: bounded DER element reader (see der.h). */
#include "crypto/der.h"

#include <errno.h>
#include <stdio.h>

#include "crypto/utc_time.h"

int der_next(const uint8_t **pp, const uint8_t *end, struct der_tlv *t)
{
	const uint8_t *p = *pp;
	size_t n;

	if (p > end || end - p < 2)
		return -EINVAL;
	t->hdr = p;
	t->tag = *p++;
	if ((t->tag & 0x1f) == 0x1f)
		return -EINVAL;
	n = *p++;
	if (n & 0x80) {
		size_t k = n & 0x7f;
		if (k == 0 || k > 4 || (size_t)(end - p) < k)
			return -EINVAL;
		n = 0;
		while (k--)
			n = n << 8 | *p++;
	}
	if (n > (size_t)(end - p))
		return -EINVAL;
	t->p = p;
	t->len = n;
	*pp = p + n;
	return 0;
}

int der_expect(const uint8_t **pp, const uint8_t *end, uint8_t tag, struct der_tlv *t)
{
	if (der_next(pp, end, t) || t->tag != tag)
		return -EINVAL;
	return 0;
}

int der_time(const struct der_tlv *t, int64_t *out)
{
	char s[32];
	const uint8_t *d = t->p;
	size_t year_len;

	if (t->tag == 0x17 && t->len == 13)
		year_len = 2;
	else if (t->tag == 0x18 && t->len == 15)
		year_len = 4;
	else
		return -EINVAL;
	for (size_t i = 0; i + 1 < t->len; i++)
		if (d[i] < '0' || d[i] > '9')
			return -EINVAL;
	if (d[t->len - 1] != 'Z')
		return -EINVAL;
	if (year_len == 2) {
		/* RFC 5280: YY >= 50 means 19YY, else 20YY. */
		int yy = (d[0] - '0') * 10 + (d[1] - '0');
		snprintf(s, sizeof(s), "%d", yy >= 50 ? 19 : 20);
		s[2] = (char)d[0];
		s[3] = (char)d[1];
	} else {
		for (int i = 0; i < 4; i++)
			s[i] = (char)d[i];
	}
	d += year_len;
	snprintf(s + 4, sizeof(s) - 4, "-%c%c-%c%cT%c%c:%c%c:%c%cZ", d[0], d[1], d[2], d[3],
		 d[4], d[5], d[6], d[7], d[8], d[9]);
	return utc_parse(s, 20, 0, out);
}
