/* keyd/apikey.c: see apikey.h. */
#include "keyd/apikey.h"
#include "keyd/logkey.h"
#include "tls/engine.h"

#include <bearssl.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

_Static_assert(TLS_CERT_DER_MAX == CERT_DER_MAX, "one certificate size");
_Static_assert(TLS_SIG_MAX == TLS_SKE_SIG_MAX, "one signature size");
TLS_SKE_LAYOUT_CHECK;

int apikey_req(const struct tls_sign_req_msg *q, struct tls_ske *p)
{
	if (q->version != 1 || q->reserved[0] || q->reserved[1] || q->reserved[2])
		return -EBADMSG;
	TLS_SKE_FROM_REQ(p, q);
	return tls_ske_check(p);
}

int apikey_load_or_create(struct apikey *k, const char *path, char err[ERRBUF_LEN])
{
	static const char serial_domain[] = "dshield-api-tls-serial";
	const struct cert_validity v = { APIKEY_NOT_BEFORE, APIKEY_NOT_AFTER };
	br_ec_private_key sk;
	br_ec_public_key pk;
	br_x509_pkey xp;
	br_hmac_drbg_context rng;
	long n;
	int r;

	memset(k, 0, sizeof *k);
	r = keyfile_load_or_create(k->key.priv, path, "API TLS key", &k->created, err);
	if (r < 0)
		return r;
	sk = (br_ec_private_key){ BR_EC_secp256r1, k->key.priv, sizeof k->key.priv };
	if (br_ec_compute_pub(br_ec_get_default(), &pk, k->key.pub, &sk) != sizeof k->key.pub)
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "the API TLS key is not a P-256 scalar");
	xp.key_type = BR_KEYTYPE_EC;
	xp.key.ec = (br_ec_public_key){ BR_EC_secp256r1, k->key.pub, sizeof k->key.pub };
	if ((r = tls_pkey_spki_sha256(&xp, k->spki_sha256)) < 0)
		return errbuf_set(err, ERRBUF_LEN, r, "cannot hash the API TLS key");
	/* the serial from the key: the same certificate after a restart */
	br_hmac_drbg_init(&rng, &br_sha256_vtable, k->spki_sha256, sizeof k->spki_sha256);
	br_hmac_drbg_update(&rng, serial_domain, sizeof serial_domain - 1);
	n = cert_self(&k->key, &rng, APIKEY_NAME, sizeof APIKEY_NAME - 1, &v, k->der, sizeof k->der);
	if (n < 0)
		return errbuf_set(err, ERRBUF_LEN, (int)n, "cannot write the API certificate: %s",
				  strerror((int)-n));
	k->der_len = (size_t)n;
	return 0;
}

long apikey_sign(const struct apikey *k, const struct tls_ske *q, uint8_t sig[TLS_SIG_MAX])
{
	_Static_assert(TLS_SIG_MAX == TLS_SKE_SIG_MAX, "one signature bound");
	return tls_ske_sign_p256(k->key.priv, q, sig);
}
