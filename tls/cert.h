/* tls/cert.h: the certificates of netd's TLS-terminating egress proxy
 * (docs/TLS.md): a per-boot local CA, and leaf certificates for one DNS
 * name each, signed by it. X.509 v3, ECDSA P-256 with SHA-256 throughout,
 * written by tls/der_w.h; keys are BearSSL EC keys made with br_ec_keygen
 * from the caller's HMAC-DRBG (cert_drbg_seed() seeds one from getrandom).
 *
 * Every leaf of a CA carries the same key (struct cert_ca's leaf_key, made
 * once with the CA): minting a leaf is then one ECDSA signature, with no
 * key generation, and the TLS server side needs only one private key. The
 * key never leaves netd, and the CA that vouches for it lives exactly as
 * long (one boot), so a per-leaf key would protect nothing more.
 */
#ifndef DSHIELD_TLS_CERT_H
#define DSHIELD_TLS_CERT_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>

/* A DNS name: RFC 1035's 253 characters (no trailing dot). */
#define CERT_NAME_MAX 253
/* The instance tag in the CA's name ("dshield local CA <tag>"). */
#define CERT_TAG_MAX 32
/* CN's upper bound (RFC 5280 ub-common-name): a longer leaf name is only
 * in the subjectAltName, under an empty subject. */
#define CERT_CN_MAX 64
/* A CA or leaf certificate in DER: a leaf for a 253-character name takes
 * 653 bytes. */
#define CERT_DER_MAX 1024
/* A Name (the CA's subject, the leaves' issuer) in DER. */
#define CERT_DN_MAX 128
/* subjectKeyIdentifier: the leftmost 160 bits of SHA-256 of the public
 * key (RFC 7093 §2, method 1). */
#define CERT_KEYID_LEN 20
/* Characters cert_pem() writes for a certificate of n DER bytes (without
 * the NUL): the two marker lines and base64 in lines of 64. */
#define CERT_PEM_LEN(n) (28 + ((n) + 2) / 3 * 4 + ((n) + 47) / 48 + 26)

/* A P-256 key pair: the scalar and the uncompressed point 0x04 ‖ X ‖ Y. */
struct cert_key {
	uint8_t priv[32];
	uint8_t pub[65];
};

struct cert_validity {
	int64_t not_before, not_after;   /* unix seconds, inclusive */
};

struct cert_ca {
	struct cert_key key;          /* signs the leaves */
	struct cert_key leaf_key;     /* the key of every leaf (see above) */
	uint8_t keyid[CERT_KEYID_LEN];   /* the CA's SKI, the leaves' AKI */
	uint8_t dn[CERT_DN_MAX];      /* the CA's Name, DER */
	size_t dn_len;
	uint8_t der[CERT_DER_MAX];    /* the CA certificate */
	size_t der_len;
};

/* Seeds rng (HMAC-DRBG over SHA-256) with 48 bytes of getrandom(2).
 * 0 or -errno. */
int cert_drbg_seed(br_hmac_drbg_context *rng);

/* A fresh P-256 key pair from rng. 0 or -EIO. */
int cert_keygen(struct cert_key *k, br_hmac_drbg_context *rng);

/* Makes the CA: its key and the leaf key from rng, and its self-signed
 * certificate "CN=dshield local CA <tag>" (tag: 1 to CERT_TAG_MAX bytes of
 * [A-Za-z0-9._-]) valid from now - 1 hour to not_after. basicConstraints
 * CA:TRUE pathLen 0 and keyUsage keyCertSign|cRLSign, both critical;
 * subjectKeyIdentifier. 0, -EINVAL (tag, times) or -EIO (BearSSL). */
int cert_ca_init(struct cert_ca *ca, br_hmac_drbg_context *rng, const char *tag, size_t tag_len,
		 int64_t now, int64_t not_after);

/* Writes a leaf certificate for name[0..len) (a canonical DNS name: 1 to
 * CERT_NAME_MAX bytes of [a-z0-9._-]) into out: subject CN=name (empty
 * when name is longer than CERT_CN_MAX), subjectAltName dNSName (critical
 * only under an empty subject, RFC 5280 §4.2.1.6), extendedKeyUsage
 * serverAuth, keyUsage digitalSignature (critical), basicConstraints
 * CA:FALSE, authorityKeyIdentifier = the CA's SKI, a random positive
 * 16-byte serial from rng, validity v. Returns the DER length, or
 * -EINVAL (name, times), -ENAMETOOLONG, -ENOSPC (cap) or -EIO. */
long cert_leaf(const struct cert_ca *ca, br_hmac_drbg_context *rng, const char *name, size_t len,
	       const struct cert_validity *v, uint8_t *out, size_t cap);

/* A certificate for name[0..len) (1 to CERT_CN_MAX bytes of
 * [a-z0-9._-]) whose key is k and which k signs itself: cert_leaf's
 * profile (CA:FALSE, serverAuth, digitalSignature) with issuer = subject
 * = CN=name and authorityKeyIdentifier = its own key id. The serial comes
 * from rng (a DRBG seeded from the key makes the certificate a function
 * of the key). Returns the DER length or cert_leaf's errors. */
long cert_self(const struct cert_key *k, br_hmac_drbg_context *rng, const char *name, size_t len,
	       const struct cert_validity *v, uint8_t *out, size_t cap);

/* The PEM form of a certificate ("-----BEGIN CERTIFICATE-----", base64 in
 * lines of 64, "-----END CERTIFICATE-----", each line ending in "\n"),
 * NUL-terminated. Returns CERT_PEM_LEN(len) or -ENOSPC (cap must hold
 * that and the NUL). */
long cert_pem(char *out, size_t cap, const uint8_t *der, size_t len);

#endif
