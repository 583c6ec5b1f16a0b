/* tests/fuzz/fuzz_cert.c: libFuzzer target for tls/cert's cert_leaf().
 *
 * The leaf's name reaches cert_leaf() from the proxy after
 * canonicalisation, so it is not untrusted bytes; this checks anyway that
 * whatever name it accepts (up to 253 bytes, arbitrary contents) gives a
 * certificate BearSSL's decoder reads, with the CA's leaf key, that
 * br_x509_minimal accepts for exactly that name under the CA; and that
 * whatever it refuses is refused with -EINVAL or -ENAMETOOLONG. Bytes it
 * refuses are then mapped into the accepted alphabet, so that every input
 * mints (a signature under ASan: a few dozen inputs a second). The validity's end comes from the first byte (UTCTime, and
 * GeneralizedTime from 2050). */
#include "tls/cert.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1767225600LL   /* 2026-01-01 */

static struct cert_ca ca;
static br_hmac_drbg_context rng;
static int ready;

static void dn_append(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
}

static void check(const uint8_t *der, size_t len, const char *name, size_t name_len)
{
	br_x509_decoder_context dc;
	br_x509_minimal_context xc;
	const br_x509_pkey *pk;
	char host[CERT_NAME_MAX + 1];
	br_x509_trust_anchor ta = {
		.dn = { ca.dn, ca.dn_len },
		.flags = BR_X509_TA_CA,
		.pkey = { .key_type = BR_KEYTYPE_EC, .key.ec = { BR_EC_secp256r1, ca.key.pub, 65 } },
	};

	br_x509_decoder_init(&dc, dn_append, NULL);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (br_x509_decoder_last_error(&dc) != 0 || !pk || br_x509_decoder_isCA(&dc) ||
	    pk->key_type != BR_KEYTYPE_EC || pk->key.ec.qlen != 65 ||
	    memcmp(pk->key.ec.q, ca.leaf_key.pub, 65) != 0)
		abort();
	memcpy(host, name, name_len);
	host[name_len] = 0;
	br_x509_minimal_init(&xc, &br_sha256_vtable, &ta, 1);
	br_x509_minimal_set_hash(&xc, br_sha256_ID, &br_sha256_vtable);
	br_x509_minimal_set_ecdsa(&xc, br_ec_get_default(), br_ecdsa_i31_vrfy_asn1);
	br_x509_minimal_set_time(&xc, (uint32_t)(NOW / 86400 + 719528), 0);
	xc.vtable->start_chain(&xc.vtable, host);
	xc.vtable->start_cert(&xc.vtable, (uint32_t)len);
	xc.vtable->append(&xc.vtable, der, len);
	xc.vtable->end_cert(&xc.vtable);
	if (xc.vtable->end_chain(&xc.vtable) != BR_ERR_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789.-_";
	static uint8_t der[CERT_DER_MAX];
	char name[CERT_NAME_MAX + 8];
	struct cert_validity v = { NOW - 3600, NOW + 3600 };
	long n;

	if (!ready) {
		br_hmac_drbg_init(&rng, &br_sha256_vtable, "fuzz_cert", 9);
		if (cert_ca_init(&ca, &rng, "fuzz", 4, NOW, NOW + 86400LL * 365 * 50) != 0)
			abort();
		ready = 1;
	}
	if (size > sizeof name)
		return 0;
	if (size > 0)
		v.not_after += (int64_t)data[0] << 24;   /* up to 2150 */
	memcpy(name, data, size);
	n = cert_leaf(&ca, &rng, name, size, &v, der, sizeof der);
	if (n > 0) {
		check(der, (size_t)n, name, size);
		return 0;   /* already in the alphabet: the mapping below would repeat it */
	}
	if ((n != -EINVAL && n != -ENAMETOOLONG) || (n == -ENAMETOOLONG && size <= CERT_NAME_MAX))
		abort();

	for (size_t i = 0; i < size; i++)
		name[i] = alphabet[data[i] % (sizeof alphabet - 1)];
	n = cert_leaf(&ca, &rng, name, size, &v, der, sizeof der);
	if ((size == 0 || size > CERT_NAME_MAX) != (n < 0))
		abort();
	if (n > 0)
		check(der, (size_t)n, name, size);
	return 0;
}
