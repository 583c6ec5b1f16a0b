/* tls/der_w.c: see der_w.h. */
#include "tls/der_w.h"

#include "crypto/utc_time.h"

#include <errno.h>
#include <string.h>

/* 1950-01-01T00:00:00Z and 2050-01-01T00:00:00Z: UTCTime's window. */
#define UTCTIME_FROM (-631152000LL)
#define UTCTIME_UNTIL 2524608000LL

void derw_init(struct derw *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->pos = cap;
	w->cap = cap;
	w->err = 0;
}

static long fail(struct derw *w, int err)
{
	if (!w->err)
		w->err = err;
	return w->err;
}

/* Makes room for n bytes in front of the output: the new front, or NULL
 * (the error recorded). */
static uint8_t *front(struct derw *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > w->pos) {
		fail(w, -ENOSPC);
		return NULL;
	}
	w->pos -= n;
	return w->buf + w->pos;
}

size_t der_hdr_len(size_t len)
{
	size_t k = 0;
	if (len < 128)
		return 2;
	/* the long form: 0x80|k, then the k bytes of len, big-endian */
	for (; len; len >>= 8)
		k++;
	return 2 + k;
}

long derw_raw(struct derw *w, const void *p, size_t n)
{
	uint8_t *d = front(w, n);
	if (!d)
		return w->err;
	if (n)
		memcpy(d, p, n);
	return (long)n;
}

size_t der_hdr_put(uint8_t *p, uint8_t tag, size_t len)
{
	size_t hl = der_hdr_len(len);

	p[0] = tag;
	if (len < 128) {
		p[1] = (uint8_t)len;
		return hl;
	}
	p[1] = (uint8_t)(0x80 | (hl - 2));
	for (size_t i = hl - 1; i >= 2; i--, len >>= 8)
		p[i] = (uint8_t)len;
	return hl;
}

long derw_wrap(struct derw *w, uint8_t tag, size_t mark)
{
	size_t len;
	uint8_t *d;

	if (w->err)
		return w->err;
	if (mark > derw_len(w))
		return fail(w, -EINVAL);
	len = derw_len(w) - mark;
	d = front(w, der_hdr_len(len));
	if (!d)
		return w->err;
	return (long)(der_hdr_put(d, tag, len) + len);
}

long derw_prim(struct derw *w, uint8_t tag, const void *p, size_t n)
{
	size_t m = derw_mark(w);
	if (derw_raw(w, p, n) < 0)
		return w->err;
	return derw_wrap(w, tag, m);
}

long derw_uint_be(struct derw *w, const uint8_t *be, size_t n)
{
	size_t m = derw_mark(w);

	while (n > 0 && be[0] == 0) {
		be++;
		n--;
	}
	if (derw_raw(w, be, n) < 0)
		return w->err;
	/* zero has one content byte; a set top bit would read as negative */
	if (n == 0 || be[0] & 0x80) {
		uint8_t *d = front(w, 1);
		if (!d)
			return w->err;
		*d = 0;
	}
	return derw_wrap(w, DER_INTEGER, m);
}

long derw_uint(struct derw *w, uint64_t v)
{
	uint8_t be[8];
	for (int i = 7; i >= 0; i--, v >>= 8)
		be[i] = (uint8_t)v;
	return derw_uint_be(w, be, sizeof be);
}

long derw_oid(struct derw *w, const uint8_t *oid, size_t n)
{
	/* an OID has at least two arcs (one byte), and its last byte ends
	 * an arc (top bit clear) */
	if (n == 0 || oid[n - 1] & 0x80)
		return fail(w, -EINVAL);
	return derw_prim(w, DER_OID, oid, n);
}

long derw_null(struct derw *w)
{
	return derw_prim(w, DER_NULL, NULL, 0);
}

long derw_bool(struct derw *w, bool v)
{
	/* DER: TRUE is 0xff */
	uint8_t b = v ? 0xff : 0x00;
	return derw_prim(w, DER_BOOLEAN, &b, 1);
}

long derw_octets(struct derw *w, const void *p, size_t n)
{
	return derw_prim(w, DER_OCTET_STRING, p, n);
}

long derw_bits(struct derw *w, const uint8_t *p, size_t n, unsigned unused)
{
	size_t m = derw_mark(w);
	uint8_t *d;

	if (unused > 7 || (n == 0 && unused) || (n && p[n - 1] & ((1u << unused) - 1)))
		return fail(w, -EINVAL);
	if (derw_raw(w, p, n) < 0 || !(d = front(w, 1)))
		return w->err;
	*d = (uint8_t)unused;
	return derw_wrap(w, DER_BIT_STRING, m);
}

long derw_named_bits(struct derw *w, uint16_t bits)
{
	uint8_t b[2];
	size_t n = 0;
	unsigned unused = 0;

	if (bits) {
		int last = 0;   /* the highest set bit number */
		for (int i = 0; i < 16; i++)
			if (bits & (1u << i))
				last = i;
		n = (size_t)last / 8 + 1;
		unused = 7 - (unsigned)last % 8;
	}
	/* bit i is bit 7 - i % 8 of byte i / 8 */
	b[0] = b[1] = 0;
	for (int i = 0; i < 16; i++)
		if (bits & (1u << i))
			b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	return derw_bits(w, b, n, unused);
}

long derw_string(struct derw *w, uint8_t tag, const char *s, size_t n)
{
	return derw_prim(w, tag, s, n);
}

long derw_time(struct derw *w, int64_t t)
{
	/* utc_format's "YYYY-MM-DDTHH:MM:SSZ": the digits at these offsets */
	static const uint8_t at[14] = { 0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18 };
	char iso[32], out[16];
	bool utc = t >= UTCTIME_FROM && t < UTCTIME_UNTIL;
	size_t n = 0;

	if (t < DER_TIME_MIN || t > DER_TIME_MAX)
		return fail(w, -EINVAL);
	utc_format(iso, sizeof iso, t);
	for (size_t i = utc ? 2 : 0; i < sizeof at; i++)
		out[n++] = iso[at[i]];
	out[n++] = 'Z';
	return derw_string(w, utc ? DER_UTC_TIME : DER_GENERALIZED_TIME, out, n);
}
