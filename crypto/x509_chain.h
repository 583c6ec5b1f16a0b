/* crypto/x509_chain.h: PEM certificate chains validated to the Intel SGX
 * Root CA with BearSSL's "minimal" X.509 engine.
 *
 * Used for the PCK chain in a quote (leaf, PCK platform/processor CA,
 * root) and for the TCB signing chains of the collateral (leaf, root).
 * The chain is decoded into the struct's own buffer (no allocation).
 *
 * Validation is BearSSL's path validation (signatures, validity at the
 * given time, basic constraints, key usage of CAs, critical extensions)
 * ending at the compiled-in root, plus one rule of our own: the chain's
 * last certificate must equal the compiled-in root byte for byte, because
 * BearSSL stops at the first certificate signed by a trust anchor and would
 * otherwise ignore whatever the chain claims as its root.
 */
#ifndef DSHIELD_CRYPTO_X509_CHAIN_H
#define DSHIELD_CRYPTO_X509_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define X509_CHAIN_MAX  4
#define X509_CHAIN_BUF  8192

struct x509_chain {
	size_t n;
	struct {
		const uint8_t *der;
		size_t len;
	} cert[X509_CHAIN_MAX];
	size_t used;
	uint8_t buf[X509_CHAIN_BUF];
};

/* Decodes every "CERTIFICATE" object of a PEM text (leaf first). Returns
 * the certificate count (>= 1) or -EINVAL / -E2BIG, with a reason in err. */
int x509_chain_from_pem(struct x509_chain *ch, const char *pem, size_t len,
			char *err, size_t errlen);

/* Validates the chain at unix time `now`. On success returns 0 and writes
 * the leaf's uncompressed P-256 public key (0x04 ‖ X ‖ Y) to leaf_pub[65].
 * Returns a negative errno with a reason in err otherwise. */
int x509_chain_verify(const struct x509_chain *ch, int64_t now,
		      uint8_t leaf_pub[65], char *err, size_t errlen);

/* Does the certificate's subject DN contain `needle` (e.g. the CN "Intel
 * SGX TCB Signing")? False when the certificate does not decode. */
int x509_subject_has(const uint8_t *der, size_t len, const char *needle);

/* The uncompressed P-256 public key of a certificate (no validation: use
 * on certificates of a chain that x509_chain_verify accepted). 0 or
 * -EINVAL. */
int x509_cert_pubkey(const uint8_t *der, size_t len, uint8_t pub[65]);

/* The validation time BearSSL wants: days since 0000-01-01 and seconds. */
void x509_time_from_unix(int64_t t, uint32_t *days, uint32_t *secs);

/* A short name for a BearSSL X.509 error code. */
const char *x509_err_name(int code);

#endif
