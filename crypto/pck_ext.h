/* crypto/pck_ext.h: the Intel SGX extension of a PCK leaf certificate.
 *
 * OID 1.2.840.113741.1.13.1 holds, among others, the platform's TCB (16
 * SGX TCB component SVNs, PCESVN, CPUSVN), the PCE-ID and the FMSPC, which
 * TCB evaluation matches against the collateral. The DER walk is bounded
 * by the certificate length and refuses indefinite or overlong lengths.
 */
#ifndef DSHIELD_CRYPTO_PCK_EXT_H
#define DSHIELD_CRYPTO_PCK_EXT_H

#include <stddef.h>
#include <stdint.h>

struct pck_ext {
	uint8_t comp_svn[16];   /* SGX TCB components 1..16 */
	uint16_t pcesvn;
	uint8_t cpusvn[16];
	uint8_t pceid[2];
	uint8_t fmspc[6];
};

/* Parses the SGX extension of a DER certificate. Returns 0, or -EINVAL /
 * -ENOENT (no SGX extension, or a required field missing) with a reason. */
int pck_ext_parse(struct pck_ext *x, const uint8_t *der, size_t len,
		  char *err, size_t errlen);

#endif
