/* crypto/der.h: a bounded DER element reader (single-byte tags, definite
 * lengths of up to 4 bytes, contents always inside the parent), shared by
 * the PCK extension and CRL parsers. */
#ifndef DSHIELD_CRYPTO_DER_H
#define DSHIELD_CRYPTO_DER_H

#include <stddef.h>
#include <stdint.h>

struct der_tlv {
	uint8_t tag;
	const uint8_t *hdr;    /* first byte of the element (its tag) */
	const uint8_t *p;      /* contents */
	size_t len;
};

/* Reads one element from [*pp, end) and advances *pp past it. 0 or
 * -EINVAL. */
int der_next(const uint8_t **pp, const uint8_t *end, struct der_tlv *t);
/* The same, requiring the tag. */
int der_expect(const uint8_t **pp, const uint8_t *end, uint8_t tag, struct der_tlv *t);
/* The whole element (header and contents) as a span. */
static inline size_t der_full_len(const struct der_tlv *t)
{
	return (size_t)(t->p - t->hdr) + t->len;
}
/* UTCTime (tag 0x17) or GeneralizedTime (0x18) in "...Z" form to unix
 * seconds. 0 or -EINVAL. */
int der_time(const struct der_tlv *t, int64_t *out);

#endif
