/* tests/tdx_testdata.h: shared helpers of the TDX quote tests: locating
 * ../shared/testdata/tdx (or $DSHIELD_TESTDATA), loading its files, and
 * building dshield `sim` quotes signed with a fixed test key. */
#ifndef DSHIELD_TESTS_TDX_TESTDATA_H
#define DSHIELD_TESTS_TDX_TESTDATA_H

#include <bearssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/tdx_quote.h"

/* Unix times used by the tests. */
#define T_2020_01_01 1577836800LL   /* before every PCK leaf */
#define T_2025_07_01 1751328000LL   /* inside the v4 collateral window */
#define T_2025_08_01 1754006400LL   /* after it */
#define T_2025_06_01 1748736000LL   /* before it */
#define T_2026_03_01 1772323200LL   /* inside the v5 collateral window */
#define T_2026_06_01 1780272000LL   /* every PCK leaf valid */

__attribute__((unused))
static const char *td_dir(void)
{
	static char dir[4096];
	const char *e = getenv("DSHIELD_TESTDATA");
	if (e && *e)
		snprintf(dir, sizeof(dir), "%s", e);
	else
		snprintf(dir, sizeof(dir), "../shared/testdata/tdx");
	return access(dir, R_OK | X_OK) == 0 ? dir : NULL;
}

/* Loads testdata file `name` into buf (plus a NUL). Returns its length or
 * -1. */
__attribute__((unused))
static long td_load(const char *name, void *buf, size_t cap)
{
	char path[4352];
	const char *dir = td_dir();
	FILE *f;
	size_t n;

	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	n = fread(buf, 1, cap - 1, f);
	if (!feof(f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	((char *)buf)[n] = '\0';
	return (long)n;
}

/* Prints a TAP skip line and returns 1 when the test data is absent. */
__attribute__((unused))
static int td_skip_if_absent(int *count)
{
	if (td_dir())
		return 0;
	(*count)++;
	printf("ok %d # skip TDX test data not found (set DSHIELD_TESTDATA or put shared/ beside the repository)\n",
	       *count);
	return 1;
}

static void td_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void td_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A fixed P-256 test key (a valid scalar; not secret, tests only). */
static const uint8_t td_sim_priv[32] = {
	0x1d, 0x3e, 0x5a, 0x77, 0x02, 0x91, 0xc4, 0x4b, 0x6e, 0x80, 0x13, 0xa5, 0x37, 0xf2, 0x0c, 0x9d,
	0x48, 0x61, 0xbb, 0x25, 0xe9, 0x7a, 0x03, 0x56, 0xd1, 0x8f, 0x2c, 0x64, 0x19, 0xa0, 0x7e, 0x42,
};

/* Builds a v4 sim quote into out (cap >= 48+584+4+128+6+80): a patterned
 * body with report_data and td_attributes byte 0 (bit 0 = DEBUG), signed by
 * the test key. Returns its length. */
__attribute__((unused))
static size_t td_build_sim_quote_attr(uint8_t *out, size_t cap, const uint8_t report_data[64],
				      uint8_t td_attr0)
{
	const br_ec_impl *ec = br_ec_get_default();
	br_ec_private_key sk = { BR_EC_secp256r1, (unsigned char *)td_sim_priv, 32 };
	uint8_t pub[BR_EC_KBUF_PUB_MAX_SIZE], hash[32];
	br_ec_public_key pk;
	br_sha256_context h;
	size_t n = 48 + TDX_BODY_V10_LEN, sig_at;

	if (cap < n + 4 + 128 + 6 + TDX_SIM_CERT_LEN)
		return 0;
	memset(out, 0, n);
	td_put16(out, 4);
	td_put16(out + 2, TDX_ATT_KEY_ECDSA_P256);
	td_put32(out + 4, TDX_TEE_TYPE_TDX);
	for (size_t i = 48; i < n; i++)
		out[i] = (uint8_t)(i * 7);
	memcpy(out + 48 + TDX_OFF_REPORT_DATA, report_data, 64);
	out[48 + TDX_OFF_TD_ATTRIBUTES] = td_attr0;
	td_put32(out + n, 128 + 6 + TDX_SIM_CERT_LEN);
	sig_at = n + 4;
	if (br_ec_compute_pub(ec, &pk, pub, &sk) != 65)
		return 0;
	memcpy(out + sig_at + 64, pub + 1, 64);
	td_put16(out + sig_at + 128, TDX_CERT_TYPE_DSHIELD_SIM);
	td_put32(out + sig_at + 130, TDX_SIM_CERT_LEN);
	memcpy(out + sig_at + 134, TDX_SIM_MAGIC, TDX_SIM_MAGIC_LEN);
	memcpy(out + sig_at + 134 + TDX_SIM_MAGIC_LEN, pub + 1, 64);
	br_sha256_init(&h);
	br_sha256_update(&h, out, n);
	br_sha256_out(&h, hash);
	if (br_ecdsa_i31_sign_raw(ec, &br_sha256_vtable, hash, &sk, out + sig_at) != 64)
		return 0;
	return sig_at + 134 + TDX_SIM_CERT_LEN;
}

__attribute__((unused))
static size_t td_build_sim_quote(uint8_t *out, size_t cap, const uint8_t report_data[64])
{
	return td_build_sim_quote_attr(out, cap, report_data, 0);
}

#endif
