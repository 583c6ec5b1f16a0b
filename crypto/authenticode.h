/* crypto/authenticode.h: the Authenticode SHA-384 of a PE/COFF image.
 *
 * This is the digest UEFI firmware (edk2's image verification and TCG
 * measurement, TDVF included) records for an EFI application it loads:
 * an EV_EFI_BOOT_SERVICES_APPLICATION event in RTMR1 for the EFI-stub
 * kernel of a direct boot. Hashed, in order:
 *   1. the headers up to SizeOfHeaders, leaving out the optional header's
 *      CheckSum field and the certificate-table data-directory entry;
 *   2. each section with raw data, in order of PointerToRawData;
 *   3. the data after the sections, less the certificate table's size;
 *   4. zero bytes up to a multiple of 8 when the file length is not one
 *      (the Authenticode convention; dstack's predictor does the same).
 * Bounded: every offset is checked against the buffer; no allocation.
 */
#ifndef DSHIELD_CRYPTO_AUTHENTICODE_H
#define DSHIELD_CRYPTO_AUTHENTICODE_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "lib/errbuf.h"

#define AUTHENTICODE_MAX_SECTIONS 96

/* The same over any BearSSL hash (SHA-256 is what signatures embed, which
 * lets a test check this code against a signed kernel). */
int authenticode_hash(const br_hash_class *vt, const uint8_t *img, size_t len,
		      void *out, char err[ERRBUF_LEN]);
/* 0 and out filled, or -EBADMSG with a message in err (which may be NULL). */
int authenticode_sha384(const uint8_t *img, size_t len, uint8_t out[48],
			char err[ERRBUF_LEN]);

#endif
