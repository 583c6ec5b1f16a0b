/* crypto/x509_chain.c: PEM chains validated to the Intel root (BearSSL). */
#include "crypto/x509_chain.h"

#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>


struct pem_sink {
	struct x509_chain *ch;
	int overflow;
};

static void pem_append(void *ctx, const void *src, size_t len)
{
	struct pem_sink *s = ctx;
	struct x509_chain *ch = s->ch;
	if (len > sizeof(ch->buf) - ch->used) {
		s->overflow = 1;
		return;
	}
	memcpy(ch->buf + ch->used, src, len);
	ch->used += len;
}

/* Feeds bytes to the PEM decoder, handling one event at a time. */
static int pem_feed(br_pem_decoder_context *pc, struct pem_sink *sink,
		    const char *p, size_t len, int *in_cert, char *err, size_t errlen)
{
	struct x509_chain *ch = sink->ch;
	while (len > 0) {
		size_t k = br_pem_decoder_push(pc, p, len);
		p += k;
		len -= k;
		switch (br_pem_decoder_event(pc)) {
		case BR_PEM_BEGIN_OBJ:
			*in_cert = strcmp(br_pem_decoder_name(pc), "CERTIFICATE") == 0;
			if (*in_cert && ch->n == X509_CHAIN_MAX) {
				snprintf(err, errlen, "chain has more than %d certificates", X509_CHAIN_MAX);
				return -E2BIG;
			}
			if (*in_cert)
				ch->cert[ch->n].der = ch->buf + ch->used;
			br_pem_decoder_setdest(pc, *in_cert ? pem_append : NULL, sink);
			break;
		case BR_PEM_END_OBJ:
			if (*in_cert) {
				ch->cert[ch->n].len = (size_t)(ch->buf + ch->used - ch->cert[ch->n].der);
				ch->n++;
			}
			*in_cert = 0;
			break;
		case BR_PEM_ERROR:
			snprintf(err, errlen, "PEM decoding error in certificate %zu", ch->n + 1);
			return -EINVAL;
		default:
			break;
		}
		if (sink->overflow) {
			snprintf(err, errlen, "chain exceeds %d bytes of DER", X509_CHAIN_BUF);
			return -E2BIG;
		}
	}
	return 0;
}

int x509_chain_from_pem(struct x509_chain *ch, const char *pem, size_t len,
			char *err, size_t errlen)
{
	br_pem_decoder_context pc;
	struct pem_sink sink = { .ch = ch };
	int in_cert = 0, r;

	ch->n = 0;
	ch->used = 0;
	br_pem_decoder_init(&pc);
	r = pem_feed(&pc, &sink, pem, len, &in_cert, err, errlen);
	/* BearSSL needs an end of line after the last "-----END" marker. */
	if (r == 0)
		r = pem_feed(&pc, &sink, "\n", 1, &in_cert, err, errlen);
	if (r)
		return r;
	if (in_cert) {
		snprintf(err, errlen, "PEM certificate %zu is not terminated", ch->n + 1);
		return -EINVAL;
	}
	if (ch->n == 0) {
		snprintf(err, errlen, "no PEM certificate found");
		return -EINVAL;
	}
	return (int)ch->n;
}

void x509_time_from_unix(int64_t t, uint32_t *days, uint32_t *secs)
{
	/* 719528 days from 0000-01-01 (proleptic Gregorian) to 1970-01-01. */
	int64_t d = t / 86400, s = t % 86400;
	if (s < 0) {
		s += 86400;
		d--;
	}
	*days = (uint32_t)(d + 719528);
	*secs = (uint32_t)s;
}

const char *x509_err_name(int code)
{
	switch (code) {
	case BR_ERR_X509_INVALID_VALUE: return "invalid value";
	case BR_ERR_X509_TRUNCATED: return "truncated certificate";
	case BR_ERR_X509_EMPTY_CHAIN: return "empty chain";
	case BR_ERR_X509_INNER_TRUNC: return "inner element overflows its container";
	case BR_ERR_X509_BAD_TAG_CLASS:
	case BR_ERR_X509_BAD_TAG_VALUE: return "unexpected DER tag";
	case BR_ERR_X509_INDEFINITE_LENGTH: return "indefinite length";
	case BR_ERR_X509_EXTRA_ELEMENT: return "extra element";
	case BR_ERR_X509_UNEXPECTED: return "unexpected element";
	case BR_ERR_X509_NOT_CONSTRUCTED:
	case BR_ERR_X509_NOT_PRIMITIVE: return "bad DER encoding";
	case BR_ERR_X509_PARTIAL_BYTE: return "BIT STRING with partial byte";
	case BR_ERR_X509_BAD_BOOLEAN: return "bad BOOLEAN";
	case BR_ERR_X509_OVERFLOW: return "value overflow";
	case BR_ERR_X509_BAD_DN: return "bad distinguished name";
	case BR_ERR_X509_BAD_TIME: return "bad time";
	case BR_ERR_X509_UNSUPPORTED: return "unsupported algorithm or feature";
	case BR_ERR_X509_LIMIT_EXCEEDED: return "internal limit exceeded";
	case BR_ERR_X509_WRONG_KEY_TYPE: return "wrong key type";
	case BR_ERR_X509_BAD_SIGNATURE: return "bad certificate signature";
	case BR_ERR_X509_TIME_UNKNOWN: return "validation time unknown";
	case BR_ERR_X509_EXPIRED: return "certificate expired or not yet valid";
	case BR_ERR_X509_DN_MISMATCH: return "issuer/subject name mismatch";
	case BR_ERR_X509_BAD_SERVER_NAME: return "bad server name";
	case BR_ERR_X509_CRITICAL_EXTENSION: return "unsupported critical extension";
	case BR_ERR_X509_NOT_CA: return "issuer is not a CA";
	case BR_ERR_X509_FORBIDDEN_KEY_USAGE: return "forbidden key usage";
	case BR_ERR_X509_WEAK_PUBLIC_KEY: return "weak public key";
	case BR_ERR_X509_NOT_TRUSTED: return "not signed by the Intel SGX Root CA";
	default: return "X.509 error";
	}
}

struct dn_buf {
	uint8_t *b;
	size_t cap;
	size_t n;
	int overflow;
};

static void dn_append(void *ctx, const void *src, size_t len)
{
	struct dn_buf *d = ctx;
	if (len > d->cap - d->n) {
		d->overflow = 1;
		return;
	}
	memcpy(d->b + d->n, src, len);
	d->n += len;
}

int x509_anchor_init(struct x509_anchor *a, const uint8_t *der, size_t len,
		     char *err, size_t errlen)
{
	br_x509_decoder_context dc;
	struct dn_buf dn = { .b = a->dn, .cap = sizeof(a->dn) };
	const br_x509_pkey *pk;

	memset(a, 0, sizeof(*a));
	br_x509_decoder_init(&dc, dn_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || dn.overflow || pk->key_type != BR_KEYTYPE_EC ||
	    pk->key.ec.curve != BR_EC_secp256r1 || pk->key.ec.qlen != sizeof(a->pub)) {
		snprintf(err, errlen, "root certificate (%zu bytes) does not decode to a P-256 CA", len);
		return -EINVAL;
	}
	a->der = der;
	a->len = len;
	a->dn_len = dn.n;
	memcpy(a->pub, pk->key.ec.q, sizeof(a->pub));
	return 0;
}

/* Our own rule first: the chain must end in exactly one of the roots. */
static int root_of(const struct x509_chain *ch, const struct x509_anchor *roots, size_t n)
{
	const uint8_t *last = ch->cert[ch->n - 1].der;
	size_t len = ch->cert[ch->n - 1].len;

	for (size_t i = 0; i < n; i++)
		if (roots[i].len == len && memcmp(roots[i].der, last, len) == 0)
			return (int)i;
	return -1;
}

int x509_chain_verify(const struct x509_chain *ch, const struct x509_anchor *roots,
		      size_t n, int64_t now, uint8_t leaf_pub[65], char *err, size_t errlen)
{
	br_x509_minimal_context xc;
	br_x509_trust_anchor ta = { .flags = BR_X509_TA_CA };
	const br_x509_class **vt = &xc.vtable;
	const br_x509_pkey *pk;
	uint32_t days, secs;
	unsigned usages;
	int root, r;

	if (ch->n < 2) {
		snprintf(err, errlen, "chain has %zu certificate(s), needs at least leaf and root", ch->n);
		return -EINVAL;
	}
	root = root_of(ch, roots, n);
	if (root < 0) {
		snprintf(err, errlen, "last certificate of the chain (%zu bytes) is not the compiled-in Intel SGX Root CA",
			 ch->cert[ch->n - 1].len);
		return -EACCES;
	}

	/* Only the root the chain names: it cannot borrow another's trust. */
	ta.dn.data = (unsigned char *)roots[root].dn;
	ta.dn.len = roots[root].dn_len;
	ta.pkey.key_type = BR_KEYTYPE_EC;
	ta.pkey.key.ec.curve = BR_EC_secp256r1;
	ta.pkey.key.ec.q = (unsigned char *)roots[root].pub;
	ta.pkey.key.ec.qlen = sizeof(roots[root].pub);
	br_x509_minimal_init(&xc, &br_sha256_vtable, &ta, 1);
	br_x509_minimal_set_hash(&xc, br_sha256_ID, &br_sha256_vtable);
	br_x509_minimal_set_hash(&xc, br_sha384_ID, &br_sha384_vtable);
	br_x509_minimal_set_ecdsa(&xc, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default());
	x509_time_from_unix(now, &days, &secs);
	br_x509_minimal_set_time(&xc, days, secs);

	(*vt)->start_chain(vt, NULL);
	for (size_t i = 0; i < ch->n; i++) {
		(*vt)->start_cert(vt, (uint32_t)ch->cert[i].len);
		(*vt)->append(vt, ch->cert[i].der, ch->cert[i].len);
		(*vt)->end_cert(vt);
	}
	r = (int)(*vt)->end_chain(vt);
	if (r != 0) {
		snprintf(err, errlen, "BearSSL X.509 validation failed: %s (error %d)",
			 x509_err_name(r), r);
		return -EACCES;
	}
	pk = (*vt)->get_pkey(vt, &usages);
	if (!pk || pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
	    pk->key.ec.qlen != 65 || pk->key.ec.q[0] != 0x04) {
		snprintf(err, errlen, "leaf key is not an uncompressed P-256 point");
		return -EINVAL;
	}
	memcpy(leaf_pub, pk->key.ec.q, 65);
	return root;
}

int x509_subject_has(const uint8_t *der, size_t len, const char *needle)
{
	br_x509_decoder_context dc;
	uint8_t b[X509_DN_MAX];
	struct dn_buf dn = { .b = b, .cap = sizeof(b) };
	size_t k = strlen(needle);

	br_x509_decoder_init(&dc, dn_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	if (br_x509_decoder_last_error(&dc) != 0 || dn.overflow || k == 0)
		return 0;
	for (size_t i = 0; i + k <= dn.n; i++)
		if (memcmp(dn.b + i, needle, k) == 0)
			return 1;
	return 0;
}

int x509_cert_pubkey(const uint8_t *der, size_t len, uint8_t pub[65])
{
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;

	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
	    pk->key.ec.qlen != 65)
		return -EINVAL;
	memcpy(pub, pk->key.ec.q, 65);
	return 0;
}
