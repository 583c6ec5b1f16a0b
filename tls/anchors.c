/* tls/anchors.c: see anchors.h; the format is documented there and in
 * docs/TLS.md. */
#include "tls/anchors.h"

#include "lib/errbuf.h"
#include "lib/file.h"

#include <errno.h>
#include <string.h>

void anchors_init(struct anchors *a, br_x509_trust_anchor *ta, size_t cap)
{
	a->ta = ta;
	a->n = 0;
	a->cap = cap;
	a->n_extra = 0;
}

/* The uncompressed point's length for the curves an anchor may use, or 0. */
static size_t ec_point_len(int curve)
{
	switch (curve) {
	case BR_EC_secp256r1: return 65;
	case BR_EC_secp384r1: return 97;
	case BR_EC_secp521r1: return 133;
	default: return 0;
	}
}

/* A bounded reader over the file image. */
struct rd {
	const uint8_t *p;
	size_t len, off;
};

static int rd_u8(struct rd *r, unsigned *v)
{
	if (r->len - r->off < 1)
		return -1;
	*v = r->p[r->off++];
	return 0;
}

static int rd_u16(struct rd *r, unsigned *v)
{
	if (r->len - r->off < 2)
		return -1;
	*v = (unsigned)r->p[r->off] << 8 | r->p[r->off + 1];
	r->off += 2;
	return 0;
}

/* A u16 length, then that many bytes, length in [min, max]. */
static int rd_blob(struct rd *r, size_t min, size_t max, const uint8_t **b, size_t *n)
{
	unsigned l;

	if (rd_u16(r, &l) < 0 || l < min || l > max || r->len - r->off < l)
		return -1;
	*b = r->p + r->off;
	*n = l;
	r->off += l;
	return 0;
}

/* One record into *ta (pointing into r's buffer); a reason on error. */
static const char *rd_record(struct rd *r, br_x509_trust_anchor *ta)
{
	unsigned flags, type, curve;
	const uint8_t *b, *e;
	size_t n, en;

	if (rd_u8(r, &flags) < 0 || rd_u8(r, &type) < 0)
		return "truncated record";
	if (flags & ~(unsigned)ANCHOR_FLAG_CA)
		return "unknown flags";
	if (rd_blob(r, 2, ANCHORS_DN_MAX, &b, &n) < 0)
		return "bad or truncated Name";
	if (b[0] != 0x30)
		return "Name is not a SEQUENCE";
	memset(ta, 0, sizeof *ta);
	ta->dn.data = (unsigned char *)(uintptr_t)b;
	ta->dn.len = n;
	ta->flags = (flags & ANCHOR_FLAG_CA) ? BR_X509_TA_CA : 0;
	switch (type) {
	case ANCHOR_KEY_RSA:
		if (rd_blob(r, 1, ANCHORS_RSA_N_MAX, &b, &n) < 0 || b[0] == 0)
			return "bad RSA modulus";
		if (rd_blob(r, 1, ANCHORS_RSA_E_MAX, &e, &en) < 0 || e[0] == 0)
			return "bad RSA exponent";
		ta->pkey.key_type = BR_KEYTYPE_RSA;
		ta->pkey.key.rsa.n = (unsigned char *)(uintptr_t)b;
		ta->pkey.key.rsa.nlen = n;
		ta->pkey.key.rsa.e = (unsigned char *)(uintptr_t)e;
		ta->pkey.key.rsa.elen = en;
		return NULL;
	case ANCHOR_KEY_EC:
		if (rd_u8(r, &curve) < 0 || !ec_point_len((int)curve))
			return "unknown curve";
		if (rd_blob(r, 1, 133, &b, &n) < 0 || n != ec_point_len((int)curve) || b[0] != 0x04)
			return "bad EC point";
		ta->pkey.key_type = BR_KEYTYPE_EC;
		ta->pkey.key.ec.curve = (int)curve;
		ta->pkey.key.ec.q = (unsigned char *)(uintptr_t)b;
		ta->pkey.key.ec.qlen = n;
		return NULL;
	default:
		return "unknown key type";
	}
}

long anchors_parse(struct anchors *a, const uint8_t *buf, size_t len, int extra,
		   char *err, size_t errcap)
{
	struct rd r = { buf, len, 0 };
	unsigned count;

	if (len < ANCHORS_HEADER_LEN || memcmp(buf, ANCHORS_MAGIC, 4) != 0)
		return errbuf_set(err, errcap, -EBADMSG, "anchors: not an anchors file");
	if (buf[4] != ANCHORS_VERSION || buf[5] != 0)
		return errbuf_set(err, errcap, -EBADMSG, "anchors: version %u unknown", buf[4]);
	r.off = 6;
	rd_u16(&r, &count);
	if (count > a->cap - a->n)
		return errbuf_set(err, errcap, -ENOSPC, "anchors: %u anchors, room for %zu",
				  count, a->cap - a->n);
	/* Written into the free entries; n moves only once all are good. */
	for (unsigned i = 0; i < count; i++) {
		const char *why = rd_record(&r, &a->ta[a->n + i]);
		if (why)
			return errbuf_set(err, errcap, -EBADMSG, "anchors: record %u at %zu: %s",
					  i, r.off, why);
	}
	if (r.off != len)
		return errbuf_set(err, errcap, -EBADMSG, "anchors: %zu bytes after the last record",
				  len - r.off);
	a->n += count;
	if (extra)
		a->n_extra += count;
	return count;
}

long anchors_load_file(struct anchors *a, const char *path, uint8_t *buf, size_t cap,
		       char *err, size_t errcap)
{
	long n = file_read(path, buf, cap);

	if (n < 0)
		return errbuf_set(err, errcap, (int)n, "anchors: reading %s: %s", path,
				  n == -EFBIG ? "larger than its buffer" : "cannot read");
	return anchors_parse(a, buf, (size_t)n, 0, err, errcap);
}

long anchors_header(uint8_t *out, size_t cap, size_t count)
{
	if (cap < ANCHORS_HEADER_LEN)
		return -ENOSPC;
	if (count > 0xffff)
		return -EINVAL;
	memcpy(out, ANCHORS_MAGIC, 4);
	out[4] = ANCHORS_VERSION;
	out[5] = 0;
	out[6] = (uint8_t)(count >> 8);
	out[7] = (uint8_t)count;
	return ANCHORS_HEADER_LEN;
}

/* A bounded writer; the first overflow is sticky. */
struct wr {
	uint8_t *p;
	size_t cap, off;
	int overflow;
};

static void wr_bytes(struct wr *w, const void *b, size_t n)
{
	if (w->overflow || w->cap - w->off < n) {
		w->overflow = 1;
		return;
	}
	memcpy(w->p + w->off, b, n);
	w->off += n;
}

static void wr_u8(struct wr *w, unsigned v)
{
	uint8_t b = (uint8_t)v;

	wr_bytes(w, &b, 1);
}

/* A u16 length and the bytes, leading zero bytes dropped (integers). */
static void wr_int(struct wr *w, const uint8_t *b, size_t n)
{
	while (n > 1 && b[0] == 0) {
		b++;
		n--;
	}
	wr_u8(w, (unsigned)(n >> 8));
	wr_u8(w, (unsigned)n);
	wr_bytes(w, b, n);
}

/* The decoder's Name callback: the DN is collected into a bounded buffer. */
struct dn_buf {
	uint8_t b[ANCHORS_DN_MAX];
	size_t n;
	int overflow;
};

static void dn_append(void *ctx, const void *buf, size_t len)
{
	struct dn_buf *d = ctx;

	if (d->overflow || sizeof d->b - d->n < len) {
		d->overflow = 1;
		return;
	}
	memcpy(d->b + d->n, buf, len);
	d->n += len;
}

long anchors_record(uint8_t *out, size_t cap, const uint8_t *der, size_t len, unsigned flags,
		    char *err, size_t errcap)
{
	br_x509_decoder_context dc;
	struct dn_buf dn = { .n = 0 };
	struct wr w = { out, cap, 0, 0 };
	const br_x509_pkey *pk;
	int e;

	br_x509_decoder_init(&dc, dn_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (!pk) {
		e = br_x509_decoder_last_error(&dc);
		return errbuf_set(err, errcap, -EBADMSG, "anchors: certificate not decoded (BearSSL error %d)", e);
	}
	if (dn.overflow || dn.n < 2)
		return errbuf_set(err, errcap, -EBADMSG, "anchors: subject Name over %d bytes", ANCHORS_DN_MAX);
	if (br_x509_decoder_isCA(&dc))
		flags |= ANCHOR_FLAG_CA;
	wr_u8(&w, flags & ANCHOR_FLAG_CA);
	wr_u8(&w, pk->key_type == BR_KEYTYPE_RSA ? ANCHOR_KEY_RSA : ANCHOR_KEY_EC);
	wr_u8(&w, (unsigned)(dn.n >> 8));
	wr_u8(&w, (unsigned)dn.n);
	wr_bytes(&w, dn.b, dn.n);
	if (pk->key_type == BR_KEYTYPE_RSA) {
		if (pk->key.rsa.nlen > ANCHORS_RSA_N_MAX || pk->key.rsa.elen > ANCHORS_RSA_E_MAX)
			return errbuf_set(err, errcap, -EBADMSG, "anchors: RSA key over %d bits",
					  ANCHORS_RSA_N_MAX * 8);
		wr_int(&w, pk->key.rsa.n, pk->key.rsa.nlen);
		wr_int(&w, pk->key.rsa.e, pk->key.rsa.elen);
	} else if (pk->key_type == BR_KEYTYPE_EC) {
		if (ec_point_len(pk->key.ec.curve) != pk->key.ec.qlen || pk->key.ec.q[0] != 0x04)
			return errbuf_set(err, errcap, -EBADMSG, "anchors: EC key on curve %d not supported",
					  pk->key.ec.curve);
		wr_u8(&w, (unsigned)pk->key.ec.curve);
		wr_u8(&w, 0);
		wr_u8(&w, (unsigned)pk->key.ec.qlen);
		wr_bytes(&w, pk->key.ec.q, pk->key.ec.qlen);
	} else {
		return errbuf_set(err, errcap, -EBADMSG, "anchors: key type %u", pk->key_type);
	}
	if (w.overflow)
		return -ENOSPC;
	return (long)w.off;
}
