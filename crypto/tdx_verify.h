/* crypto/tdx_verify.h: offline verification of a parsed TDX quote to the
 * Intel SGX Root CA compiled into dshield.
 *
 * Checks, each recorded by name in a check_list:
 *   pck.chain                        PCK chain (PEM in the quote) validates
 *                                    to the Intel root at `now`, and its
 *                                    last certificate IS that root
 *   pck.sgx_extension                the PCK leaf's SGX extension parses
 *                                    (FMSPC, PCE-ID, TCB: used by tcb.*)
 *   qe_report.signature              QE report signed by the PCK leaf key
 *   qe_report.binds_attestation_key  QE report data = SHA-256(attestation
 *                                    key ‖ QE auth data) ‖ 32 zero bytes
 *   quote.signature                  header ‖ body signed by the
 *                                    attestation key
 *   td_attributes.debug              the TD is not a DEBUG TD
 * For a dshield `sim` quote instead: quote.sim (fails unless allow_sim),
 * sim.key (the key in the certification data is the attestation key),
 * quote.signature and td_attributes.debug; a sim quote proves nothing
 * about hardware.
 */
#ifndef DSHIELD_CRYPTO_TDX_VERIFY_H
#define DSHIELD_CRYPTO_TDX_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/checks.h"
#include "crypto/pck_ext.h"
#include "crypto/tdx_quote.h"
#include "crypto/x509_chain.h"

struct tdx_verify_opts {
	int64_t now;        /* validation time, unix seconds */
	bool allow_sim;
};

/* What later steps (TCB evaluation) need from the quote verification. */
struct tdx_verify_state {
	bool pck_trusted;           /* pck.chain passed */
	bool have_pck_ext;          /* pck.sgx_extension passed */
	bool quote_authentic;       /* every signature check passed */
	struct pck_ext pck;
	uint8_t pck_pub[65];
	struct x509_chain chain;
};

/* Appends the checks above to `out`. Returns 0 when all passed, -EACCES
 * otherwise. */
int tdx_verify_quote(const struct tdx_quote *q, const struct tdx_verify_opts *o,
		     struct tdx_verify_state *st, struct check_list *out);

/* Raw ECDSA P-256 over SHA-256(msg): sig is r ‖ s (64 bytes), pub is the
 * uncompressed point (65 bytes). Returns true when valid. */
bool tdx_ecdsa_p256_verify(const uint8_t pub[65], const void *msg, size_t len,
			   const uint8_t sig[64]);

#endif
