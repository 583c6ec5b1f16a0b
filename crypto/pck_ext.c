/* crypto/pck_ext.c: bounded DER walk to the SGX extension of a PCK cert. */
#include "crypto/pck_ext.h"

#include "crypto/der.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* 1.2.840.113741.1.13.1 */
static const uint8_t oid_sgx[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01 };

/* Is t an OID equal to the SGX arc followed by the given sub-arcs? */
static int oid_is(const struct der_tlv *t, const uint8_t *sub, size_t nsub)
{
	return t->tag == 0x06 && t->len == sizeof(oid_sgx) + nsub &&
	       memcmp(t->p, oid_sgx, sizeof(oid_sgx)) == 0 &&
	       (nsub == 0 || memcmp(t->p + sizeof(oid_sgx), sub, nsub) == 0);
}

/* A small non-negative INTEGER (SVNs are 0..65535). */
static int der_uint(const struct der_tlv *t, unsigned max, unsigned *v)
{
	unsigned x = 0;
	if (t->tag != 0x02 || t->len == 0 || t->len > 3 || (t->p[0] & 0x80))
		return -EINVAL;
	for (size_t i = 0; i < t->len; i++)
		x = x << 8 | t->p[i];
	if (x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

/* The next SEQUENCE { OID, value } at *p, nothing else inside it: the
 * shape of every entry of the SGX extension. Returns 0 or -EINVAL. */
static int next_oid_value(const uint8_t **p, const uint8_t *end, struct der_tlv *oid,
			  struct der_tlv *val)
{
	struct der_tlv item;
	const uint8_t *q;

	if (der_expect(p, end, 0x30, &item))
		return -EINVAL;
	q = item.p;
	if (der_expect(&q, item.p + item.len, 0x06, oid) ||
	    der_next(&q, item.p + item.len, val) || q != item.p + item.len)
		return -EINVAL;
	return 0;
}

enum { HAVE_TCB = 1, HAVE_PCEID = 2, HAVE_FMSPC = 4, HAVE_PCESVN = 8, HAVE_CPUSVN = 16 };

static int parse_tcb(struct pck_ext *x, const struct der_tlv *seq, unsigned *have)
{
	const uint8_t *p = seq->p, *end = seq->p + seq->len;
	unsigned comps = 0;

	while (p < end) {
		struct der_tlv oid, val;
		unsigned v;
		if (next_oid_value(&p, end, &oid, &val))
			return -EINVAL;
		for (uint8_t i = 1; i <= 18; i++) {
			uint8_t sub[2] = { 2, i };
			if (!oid_is(&oid, sub, 2))
				continue;
			if (i <= 16) {
				if (der_uint(&val, 255, &v))
					return -EINVAL;
				x->comp_svn[i - 1] = (uint8_t)v;
				comps |= 1u << (i - 1);
			} else if (i == 17) {
				if (der_uint(&val, 65535, &v))
					return -EINVAL;
				x->pcesvn = (uint16_t)v;
				*have |= HAVE_PCESVN;
			} else {
				if (val.tag != 0x04 || val.len != 16)
					return -EINVAL;
				memcpy(x->cpusvn, val.p, 16);
				*have |= HAVE_CPUSVN;
			}
		}
	}
	if (comps == 0xffff)
		*have |= HAVE_TCB;
	return 0;
}

static int parse_sgx_ext(struct pck_ext *x, const struct der_tlv *octets, unsigned *have)
{
	const uint8_t *p = octets->p, *end = octets->p + octets->len;
	struct der_tlv outer;

	if (der_expect(&p, end, 0x30, &outer) || p != end)
		return -EINVAL;
	p = outer.p;
	end = outer.p + outer.len;
	while (p < end) {
		struct der_tlv oid, val;
		static const uint8_t tcb[] = { 2 }, pceid[] = { 3 }, fmspc[] = { 4 };
		if (next_oid_value(&p, end, &oid, &val))
			return -EINVAL;
		if (oid_is(&oid, tcb, 1)) {
			if (val.tag != 0x30 || parse_tcb(x, &val, have))
				return -EINVAL;
		} else if (oid_is(&oid, pceid, 1)) {
			if (val.tag != 0x04 || val.len != 2)
				return -EINVAL;
			memcpy(x->pceid, val.p, 2);
			*have |= HAVE_PCEID;
		} else if (oid_is(&oid, fmspc, 1)) {
			if (val.tag != 0x04 || val.len != 6)
				return -EINVAL;
			memcpy(x->fmspc, val.p, 6);
			*have |= HAVE_FMSPC;
		}
	}
	return 0;
}

/* Certificate → tbsCertificate → [3] extensions → the SGX extension. */
static int find_sgx_ext(const uint8_t *der, size_t len, struct der_tlv *value)
{
	const uint8_t *p = der, *end = der + len;
	struct der_tlv cert, tbs, f;

	if (der_expect(&p, end, 0x30, &cert))
		return -EINVAL;
	p = cert.p;
	if (der_expect(&p, cert.p + cert.len, 0x30, &tbs))
		return -EINVAL;
	p = tbs.p;
	end = tbs.p + tbs.len;
	while (p < end) {
		if (der_next(&p, end, &f))
			return -EINVAL;
		if (f.tag == 0xa3) {
			const uint8_t *q = f.p, *qe = f.p + f.len;
			struct der_tlv exts;
			if (der_expect(&q, qe, 0x30, &exts))
				return -EINVAL;
			q = exts.p;
			qe = exts.p + exts.len;
			while (q < qe) {
				struct der_tlv ext, oid, v;
				const uint8_t *r;
				if (der_expect(&q, qe, 0x30, &ext))
					return -EINVAL;
				r = ext.p;
				if (der_expect(&r, ext.p + ext.len, 0x06, &oid) ||
				    der_next(&r, ext.p + ext.len, &v))
					return -EINVAL;
				if (v.tag == 0x01 && der_next(&r, ext.p + ext.len, &v))
					return -EINVAL;
				if (v.tag != 0x04 || r != ext.p + ext.len)
					return -EINVAL;
				if (oid_is(&oid, NULL, 0)) {
					*value = v;
					return 0;
				}
			}
		}
	}
	return -ENOENT;
}

int pck_ext_parse(struct pck_ext *x, const uint8_t *der, size_t len,
		  char *err, size_t errlen)
{
	struct der_tlv v;
	unsigned have = 0;
	int r;

	memset(x, 0, sizeof(*x));
	r = find_sgx_ext(der, len, &v);
	if (r == -ENOENT) {
		snprintf(err, errlen, "PCK certificate has no SGX extension (OID 1.2.840.113741.1.13.1)");
		return r;
	}
	if (r || parse_sgx_ext(x, &v, &have)) {
		snprintf(err, errlen, "PCK certificate: malformed DER around the SGX extension");
		return -EINVAL;
	}
	if ((have & (HAVE_TCB | HAVE_PCESVN)) != (HAVE_TCB | HAVE_PCESVN) ||
	    !(have & HAVE_PCEID) || !(have & HAVE_FMSPC)) {
		snprintf(err, errlen, "PCK certificate SGX extension lacks %s",
			 !(have & HAVE_TCB) ? "TCB component SVNs" :
			 !(have & HAVE_PCESVN) ? "PCESVN" :
			 !(have & HAVE_PCEID) ? "PCE-ID" : "FMSPC");
		return -ENOENT;
	}
	return 0;
}
