/* crypto/reportdata.c: see reportdata.h. */
#include "crypto/reportdata.h"

#include <bearssl.h>
#include <errno.h>
#include <string.h>

static const char *const names[RD_NFIELDS] = {
	"nonce", "manifest_sha256", "api_tls_spki_sha256", "log_key_sha256", "checkpoint",
	"kms_request_sha256",
};

const char *reportdata_field_name(enum rd_field tag)
{
	if (tag < RD_NONCE || tag > RD_NFIELDS)
		return NULL;
	return names[tag - 1];
}

/* Whether a present value of this length fits the slot. */
static bool len_ok(enum rd_field tag, size_t len)
{
	switch (tag) {
	case RD_NONCE:
		return len <= RD_NONCE_MAX;
	case RD_CHECKPOINT:
		return len <= RD_CHECKPOINT_MAX;
	default:
		return len == 32;   /* SHA-256 digests */
	}
}

int reportdata_compute(const struct reportdata_in *in, uint8_t out[RD_LEN])
{
	br_sha512_context h;

	for (int i = 0; i < RD_NFIELDS; i++) {
		const struct rd_value *v = &in->f[i];
		if (!v->present)
			continue;
		if (!len_ok((enum rd_field)(i + 1), v->len) || (v->len && v->data == NULL))
			return -EINVAL;
	}
	br_sha512_init(&h);
	br_sha512_update(&h, RD_DOMAIN, sizeof RD_DOMAIN - 1);
	for (int i = 0; i < RD_NFIELDS; i++) {
		const struct rd_value *v = &in->f[i];
		size_t len = v->present ? v->len : 0;
		uint8_t hdr[6] = {
			(uint8_t)(i + 1), v->present ? 1 : 0,
			(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24),
		};
		br_sha512_update(&h, hdr, sizeof hdr);
		if (len)
			br_sha512_update(&h, v->data, len);
	}
	br_sha512_out(&h, out);
	return 0;
}

void reportdata_kms_request(uint8_t out[32], const uint8_t eph_pub[65], const uint8_t nonce[32])
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, RD_KMS_DOMAIN, sizeof RD_KMS_DOMAIN - 1);
	br_sha256_update(&h, eph_pub, 65);
	br_sha256_update(&h, nonce, 32);
	br_sha256_out(&h, out);
}
