/* crypto/x509_chain.h: PEM certificate chains validated to a trust anchor
 * (the Intel SGX Root CA) with BearSSL's "minimal" X.509 engine.
 *
 * Used for the PCK chain in a quote (leaf, PCK platform/processor CA,
 * root) and for the TCB signing chains of the collateral (leaf, root).
 * The chain is decoded into the struct's own buffer (no allocation).
 *
 * Validation is BearSSL's path validation (signatures, validity at the
 * given time, basic constraints, key usage of CAs, critical extensions)
 * ending at the root, plus one rule of our own: the chain's last
 * certificate must equal the root certificate byte for byte, because
 * BearSSL stops at the first certificate signed by a trust anchor and would
 * otherwise ignore whatever the chain claims as its root.
 *
 * A root is decoded once into a struct x509_anchor (its name, its key in
 * BearSSL's form) and then serves every chain and CRL of one verification.
 * `dshield verify` has exactly one: the compiled-in Intel root.
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

#define X509_DN_MAX     512

/* A root certificate as a trust anchor, decoded by x509_anchor_init. */
struct x509_anchor {
	const uint8_t *der;          /* the certificate a chain must end in */
	size_t len;
	uint8_t dn[X509_DN_MAX];     /* its subject Name (DER): what a CRL it */
	size_t dn_len;               /* issues names as issuer */
	uint8_t pub[65];             /* its P-256 key, uncompressed */
};

/* Decodes a root certificate (kept by reference: der must outlive a).
 * 0, or -EINVAL with a reason when it is not a P-256 certificate. */
int x509_anchor_init(struct x509_anchor *a, const uint8_t *der, size_t len,
		     char *err, size_t errlen);

/* Decodes every "CERTIFICATE" object of a PEM text (leaf first). Returns
 * the certificate count (>= 1) or -EINVAL / -E2BIG, with a reason in err. */
int x509_chain_from_pem(struct x509_chain *ch, const char *pem, size_t len,
			char *err, size_t errlen);

/* Validates the chain at unix time `now` to the one of the n roots that
 * its last certificate is. On success returns that root's index (>= 0) and
 * writes the leaf's uncompressed P-256 public key (0x04 ‖ X ‖ Y) to
 * leaf_pub[65]. Returns a negative errno with a reason in err otherwise. */
int x509_chain_verify(const struct x509_chain *ch, const struct x509_anchor *roots,
		      size_t n, int64_t now, uint8_t leaf_pub[65], char *err, size_t errlen);

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
