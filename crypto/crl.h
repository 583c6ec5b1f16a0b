/* crypto/crl.h: X.509 certificate revocation lists (RFC 5280 §5), as Intel
 * publishes them for the SGX/TDX PKI: the root CA CRL (issued by the Intel
 * SGX Root CA, lists revoked intermediates) and the PCK CRL (issued by the
 * PCK Platform or Processor CA, lists revoked PCK certificates). ECDSA
 * P-256 with SHA-256 only. Bounded DER walk, spans into the caller's
 * buffer, no allocation. */
#ifndef DSHIELD_CRYPTO_CRL_H
#define DSHIELD_CRYPTO_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct crl {
	const uint8_t *tbs;        /* the signed TBSCertList element */
	size_t tbs_len;
	const uint8_t *issuer;     /* the issuer Name element */
	size_t issuer_len;
	int64_t this_update;
	int64_t next_update;       /* INT64_MAX when absent */
	const uint8_t *revoked;    /* contents of revokedCertificates, or NULL */
	size_t revoked_len;
	size_t n_revoked;
	const uint8_t *sig;        /* DER ECDSA-Sig-Value */
	size_t sig_len;
};

/* Parses a DER CRL. 0, -EINVAL (malformed) or -ENOTSUP (a signature
 * algorithm other than ecdsa-with-SHA256), with a reason. */
int crl_parse(struct crl *c, const uint8_t *der, size_t len, char *err, size_t errlen);

/* Does the CRL list this serial number (INTEGER contents)? */
bool crl_lists(const struct crl *c, const uint8_t *serial, size_t serial_len);

/* Is the CRL signed by this uncompressed P-256 key? */
bool crl_signed_by(const struct crl *c, const uint8_t pub[65]);

/* A certificate's serial number (INTEGER contents), issuer and subject
 * Name elements. 0 or -EINVAL. */
int x509_cert_ids(const uint8_t *der, size_t len,
		  const uint8_t **serial, size_t *serial_len,
		  const uint8_t **issuer, size_t *issuer_len,
		  const uint8_t **subject, size_t *subject_len);

#endif
