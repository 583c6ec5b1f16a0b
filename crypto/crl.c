/* crypto/crl.c: X.509 CRLs for Intel's SGX/TDX PKI (see crl.h). */
#include "crypto/crl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/der.h"
#include "crypto/ecdsa.h"

/* 1.2.840.10045.4.3.2 */
static const uint8_t oid_ecdsa_sha256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

static int is_ecdsa_sha256(const struct der_tlv *alg)
{
	const uint8_t *p = alg->p;
	struct der_tlv oid;
	if (der_expect(&p, alg->p + alg->len, 0x06, &oid))
		return 0;
	return oid.len == sizeof(oid_ecdsa_sha256) &&
	       memcmp(oid.p, oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256)) == 0 &&
	       p == alg->p + alg->len;  /* no parameters */
}

static int count_entries(struct crl *c)
{
	const uint8_t *p = c->revoked, *end = c->revoked + c->revoked_len;
	c->n_revoked = 0;
	while (p < end) {
		struct der_tlv e, serial, date;
		const uint8_t *q;
		if (der_expect(&p, end, 0x30, &e))
			return -EINVAL;
		q = e.p;
		if (der_expect(&q, e.p + e.len, 0x02, &serial) || serial.len == 0 ||
		    der_next(&q, e.p + e.len, &date) || (date.tag != 0x17 && date.tag != 0x18))
			return -EINVAL;
		c->n_revoked++;
	}
	return 0;
}

int crl_parse(struct crl *c, const uint8_t *der, size_t len, char *err, size_t errlen)
{
	const uint8_t *p = der, *end = der + len, *q, *te;
	struct der_tlv outer, tbs, f, alg, sig_alg, bits;

	memset(c, 0, sizeof(*c));
	c->next_update = INT64_MAX;
	if (der_expect(&p, end, 0x30, &outer) || p != end)
		goto bad;
	p = outer.p;
	end = outer.p + outer.len;
	if (der_expect(&p, end, 0x30, &tbs))
		goto bad;
	c->tbs = tbs.hdr;
	c->tbs_len = der_full_len(&tbs);
	if (der_expect(&p, end, 0x30, &sig_alg) || der_expect(&p, end, 0x03, &bits) || p != end)
		goto bad;
	if (!is_ecdsa_sha256(&sig_alg)) {
		snprintf(err, errlen, "CRL signature algorithm is not ecdsa-with-SHA256");
		return -ENOTSUP;
	}
	if (bits.len < 2 || bits.p[0] != 0)
		goto bad;
	c->sig = bits.p + 1;
	c->sig_len = bits.len - 1;

	q = tbs.p;
	te = tbs.p + tbs.len;
	if (der_next(&q, te, &f))
		goto bad;
	if (f.tag == 0x02 && der_next(&q, te, &f))  /* version v2 */
		goto bad;
	alg = f;
	if (alg.tag != 0x30 || !is_ecdsa_sha256(&alg))
		goto bad;
	if (der_expect(&q, te, 0x30, &f))
		goto bad;
	c->issuer = f.hdr;
	c->issuer_len = der_full_len(&f);
	if (der_next(&q, te, &f) || der_time(&f, &c->this_update))
		goto bad;
	if (q < te) {
		const uint8_t *save = q;
		if (der_next(&q, te, &f))
			goto bad;
		if (f.tag == 0x17 || f.tag == 0x18) {
			if (der_time(&f, &c->next_update))
				goto bad;
		} else {
			q = save;
		}
	}
	if (q < te) {
		const uint8_t *save = q;
		if (der_next(&q, te, &f))
			goto bad;
		if (f.tag == 0x30) {
			c->revoked = f.p;
			c->revoked_len = f.len;
			if (count_entries(c))
				goto bad;
		} else {
			q = save;
		}
	}
	if (q < te) {
		if (der_next(&q, te, &f) || f.tag != 0xa0 || q != te)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "CRL is not well-formed DER of the RFC 5280 structure");
	return -EINVAL;
}

/* INTEGER contents compare as numbers only in their minimal encoding;
 * DER requires it, so byte equality is number equality. */
bool crl_lists(const struct crl *c, const uint8_t *serial, size_t serial_len)
{
	const uint8_t *p = c->revoked, *end;
	if (!p)
		return false;
	end = p + c->revoked_len;
	while (p < end) {
		struct der_tlv e, s;
		const uint8_t *q;
		if (der_expect(&p, end, 0x30, &e))
			return false;
		q = e.p;
		if (der_expect(&q, e.p + e.len, 0x02, &s))
			return false;
		if (s.len == serial_len && memcmp(s.p, serial, serial_len) == 0)
			return true;
	}
	return false;
}

bool crl_signed_by(const struct crl *c, const uint8_t pub[65])
{
	return ecdsa_p256_verify_asn1(pub, c->tbs, c->tbs_len, c->sig, c->sig_len);
}

int x509_cert_ids(const uint8_t *der, size_t len,
		  const uint8_t **serial, size_t *serial_len,
		  const uint8_t **issuer, size_t *issuer_len,
		  const uint8_t **subject, size_t *subject_len)
{
	const uint8_t *p = der, *q, *te;
	struct der_tlv cert, tbs, f;

	if (der_expect(&p, der + len, 0x30, &cert))
		return -EINVAL;
	p = cert.p;
	if (der_expect(&p, cert.p + cert.len, 0x30, &tbs))
		return -EINVAL;
	q = tbs.p;
	te = tbs.p + tbs.len;
	if (der_next(&q, te, &f))
		return -EINVAL;
	if (f.tag == 0xa0 && der_next(&q, te, &f))  /* [0] version */
		return -EINVAL;
	if (f.tag != 0x02 || f.len == 0)
		return -EINVAL;
	*serial = f.p;
	*serial_len = f.len;
	if (der_expect(&q, te, 0x30, &f) ||        /* signature algorithm */
	    der_expect(&q, te, 0x30, &f))          /* issuer */
		return -EINVAL;
	*issuer = f.hdr;
	*issuer_len = der_full_len(&f);
	if (der_expect(&q, te, 0x30, &f) ||        /* validity */
	    der_expect(&q, te, 0x30, &f))          /* subject */
		return -EINVAL;
	*subject = f.hdr;
	*subject_len = der_full_len(&f);
	return 0;
}
