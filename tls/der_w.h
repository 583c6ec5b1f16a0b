/* tls/der_w.h: a minimal, bounded DER writer (the reader is crypto/der.h),
 * for the certificates of tls/cert.h.
 *
 * It writes BACKWARDS, from the end of the caller's buffer towards its
 * start. DER puts every length before its contents, and a constructed
 * element's length is only known once its contents exist; written from
 * the end, the contents are already in place when the header goes in front
 * of them, so every byte is written once, where it stays (no size pass, no
 * moving of nested contents: linear in the output, whatever the depth).
 * The price is that a SEQUENCE is written last child first:
 *
 *	size_t m = derw_mark(w);
 *	derw_null(w);                         // second child
 *	derw_oid(w, oid, sizeof oid);         // first child
 *	derw_wrap(w, DER_SEQUENCE, m);        // header of both
 *
 * Every function returns the bytes it added (the whole element, header
 * included) or -ENOSPC when they do not fit (-EINVAL for a value DER cannot
 * carry). An error is sticky: the writer refuses everything after it, so a
 * caller may write a whole structure and check derw_result() once. The
 * output is the last derw_len() bytes of the buffer, from derw_data().
 */
#ifndef DSHIELD_TLS_DER_W_H
#define DSHIELD_TLS_DER_W_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Universal tags (single byte, class and constructed bit included). */
#define DER_BOOLEAN          0x01
#define DER_INTEGER          0x02
#define DER_BIT_STRING       0x03
#define DER_OCTET_STRING     0x04
#define DER_NULL             0x05
#define DER_OID              0x06
#define DER_UTF8_STRING      0x0c
#define DER_PRINTABLE_STRING 0x13
#define DER_IA5_STRING       0x16
#define DER_UTC_TIME         0x17
#define DER_GENERALIZED_TIME 0x18
#define DER_SEQUENCE         0x30
#define DER_SET              0x31
/* Context-specific tag n: primitive (IMPLICIT over a primitive type) or
 * constructed (EXPLICIT, or IMPLICIT over a SEQUENCE). n < 31. */
#define DER_CTX(n)           (0x80 | (n))
#define DER_CTX_CONS(n)      (0xa0 | (n))

struct derw {
	uint8_t *buf;  /* the caller's buffer */
	size_t pos;    /* the output is buf[pos..cap) */
	size_t cap;
	int err;       /* 0, or the first error (-ENOSPC, -EINVAL) */
};

void derw_init(struct derw *w, uint8_t *buf, size_t cap);

/* The bytes written so far: the output, and a mark for derw_wrap(). */
static inline size_t derw_len(const struct derw *w) { return w->cap - w->pos; }
static inline size_t derw_mark(const struct derw *w) { return derw_len(w); }
static inline const uint8_t *derw_data(const struct derw *w) { return w->buf + w->pos; }
/* derw_len(), or the sticky error. */
static inline long derw_result(const struct derw *w)
{
	return w->err ? w->err : (long)derw_len(w);
}

/* Bytes DER needs for a header of tag with a content length of len. */
size_t der_hdr_len(size_t len);
/* Writes that header forwards at p (der_hdr_len(len) bytes): for the one
 * place that assembles pieces itself (tls/cert.c, around a signature).
 * Returns its length. */
size_t der_hdr_put(uint8_t *p, uint8_t tag, size_t len);

/* Raw bytes, put in front of what is written (already-encoded DER). */
long derw_raw(struct derw *w, const void *p, size_t n);
/* Tag and length in front of everything written since mark: makes the
 * elements written since then the contents of one element. */
long derw_wrap(struct derw *w, uint8_t tag, size_t mark);
/* A primitive element: tag, length, contents p[0..n). */
long derw_prim(struct derw *w, uint8_t tag, const void *p, size_t n);

/* INTEGER from a non-negative big-endian magnitude be[0..n): leading zero
 * bytes dropped, one 0x00 put back when the top bit would read as a sign
 * (n 0 or all zeros: the integer 0). */
long derw_uint_be(struct derw *w, const uint8_t *be, size_t n);
/* INTEGER of a small non-negative value. */
long derw_uint(struct derw *w, uint64_t v);
/* OBJECT IDENTIFIER from its encoded contents (e.g. 2a 86 48 ce 3d 04 03 02
 * for ecdsa-with-SHA256). */
long derw_oid(struct derw *w, const uint8_t *oid, size_t n);
long derw_null(struct derw *w);
long derw_bool(struct derw *w, bool v);
long derw_octets(struct derw *w, const void *p, size_t n);
/* BIT STRING of p[0..n) whose last `unused` (0..7) bits are padding (zero
 * in DER; -EINVAL when they are not, or when n is 0 and unused is not). */
long derw_bits(struct derw *w, const uint8_t *p, size_t n, unsigned unused);
/* BIT STRING of a named bit list (keyUsage): bit 0 is the first named bit
 * (the 0x80 of the first byte). DER drops the trailing zero bits, so the
 * encoding is as short as the highest set bit allows. */
long derw_named_bits(struct derw *w, uint16_t bits);
/* A character string of tag (DER_UTF8_STRING, DER_PRINTABLE_STRING,
 * DER_IA5_STRING): the bytes are the caller's to choose from the type's
 * alphabet. */
long derw_string(struct derw *w, uint8_t tag, const char *s, size_t n);
/* The times derw_time() writes: 0000-01-01T00:00:00Z to
 * 9999-12-31T23:59:59Z, in unix seconds. */
#define DER_TIME_MIN (-62167219200LL)
#define DER_TIME_MAX 253402300799LL
/* A Time of RFC 5280 §4.1.2.5: UTCTime YYMMDDHHMMSSZ for 1950 to 2049,
 * GeneralizedTime YYYYMMDDHHMMSSZ otherwise, from unix seconds (years 0 to
 * 9999, DER_TIME_MIN to DER_TIME_MAX; -EINVAL outside). */
long derw_time(struct derw *w, int64_t t);

#endif
