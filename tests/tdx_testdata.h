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

#include "crypto/sim_quote.h"
#include "crypto/tdx_quote.h"
#include "lib/bytes.h"
#include "lib/file.h"

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

/* Loads testdata file `name` into a malloc'd buffer (NUL after its *len
 * bytes; the caller frees it). Returns NULL when it cannot be read. */
__attribute__((unused))
static unsigned char *td_read(const char *name, size_t *len)
{
	char path[4352];
	const char *dir = td_dir();
	unsigned char *buf;

	if (!dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return file_read_alloc(path, 1u << 30, &buf, len) == 0 ? buf : NULL;
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

/* A fixed P-256 test key (a valid scalar; not secret, tests only). */
static const uint8_t td_sim_priv[32] = {
	0x1d, 0x3e, 0x5a, 0x77, 0x02, 0x91, 0xc4, 0x4b, 0x6e, 0x80, 0x13, 0xa5, 0x37, 0xf2, 0x0c, 0x9d,
	0x48, 0x61, 0xbb, 0x25, 0xe9, 0x7a, 0x03, 0x56, 0xd1, 0x8f, 0x2c, 0x64, 0x19, 0xa0, 0x7e, 0x42,
};

/* Builds a v4 sim quote into out (cap >= TDX_SIM_QUOTE_LEN) with the
 * library builder: a patterned body with report_data and td_attributes
 * byte 0 (bit 0 = DEBUG), signed by the test key. Returns its length. */
__attribute__((unused))
static size_t td_build_sim_quote_attr(uint8_t *out, size_t cap, const uint8_t report_data[64],
				      uint8_t td_attr0)
{
	br_ec_private_key sk = { BR_EC_secp256r1, (unsigned char *)td_sim_priv, 32 };
	uint8_t body[TDX_BODY_V10_LEN];
	long n;

	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)((i + 48) * 7);
	memcpy(body + TDX_OFF_REPORT_DATA, report_data, 64);
	body[TDX_OFF_TD_ATTRIBUTES] = td_attr0;
	n = tdx_sim_quote_build(out, cap, body, &sk);
	return n < 0 ? 0 : (size_t)n;
}

__attribute__((unused))
static size_t td_build_sim_quote(uint8_t *out, size_t cap, const uint8_t report_data[64])
{
	return td_build_sim_quote_attr(out, cap, report_data, 0);
}

#endif
