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
 *   qe_report.identity               the QE is Intel's TD Quoting Enclave:
 *                                    MRSIGNER, ISVPRODID, MISCSELECT and
 *                                    ATTRIBUTES (masked) equal the
 *                                    compiled-in tdx_intel_td_qe, with or
 *                                    without collateral
 *   qe_report.binds_attestation_key  QE report data = SHA-256(attestation
 *                                    key ‖ QE auth data) ‖ 32 zero bytes
 *   quote.signature                  header ‖ body signed by the
 *                                    attestation key
 *   quote.qe_vendor                  the header's QE vendor ID is Intel's
 *   td_attributes.debug              the TD is not a DEBUG TD
 * For a dshield `sim` quote instead: quote.sim (fails unless allow_sim),
 * sim.key (the key in the certification data is the attestation key),
 * sim.qe_vendor (the header names the sim "QE"), quote.signature and
 * td_attributes.debug; a sim quote proves nothing about hardware, and an
 * allowed one puts CHECK_CAVEAT_SIM on the verdict.
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
	/* Tests only: a second root (DER) trusted beside the compiled-in
	 * Intel root, to build chains Intel would sign. NULL in `dshield
	 * verify`, which has no way to set it. */
	const uint8_t *test_root;
	size_t test_root_len;
};

#define TDX_VERIFY_ROOTS 2

/* What later steps (collateral, TCB evaluation) need from the quote
 * verification: the roots decoded once for the quote and its collateral,
 * the PCK chain and what its leaf says. */
struct tdx_verify_state {
	bool pck_trusted;           /* pck.chain passed */
	bool have_pck_ext;          /* pck.sgx_extension passed */
	bool quote_authentic;       /* every signature and identity check passed */
	struct pck_ext pck;
	uint8_t pck_pub[65];
	struct x509_chain chain;
	struct x509_anchor roots[TDX_VERIFY_ROOTS]; /* [0]: the Intel root */
	size_t n_roots;
	size_t pck_root;            /* the root pck.chain ended in */
};

/* An SGX enclave identity as Intel's QE identity documents give it. */
struct tdx_qe_identity {
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	uint32_t miscselect;
	uint32_t miscselect_mask;
	uint8_t attributes[16];
	uint8_t attributes_mask[16];
};

/* Intel's TD Quoting Enclave (values and source in tdx_verify.c). */
extern const struct tdx_qe_identity tdx_intel_td_qe;
/* Intel's QE vendor ID, the quote header's qe_vendor_id. */
extern const uint8_t tdx_intel_qe_vendor_id[16];

/* Compares a 384-byte QE report with an identity. NULL when it matches,
 * else which field differs (a constant string). */
const char *tdx_qe_identity_mismatch(const uint8_t *qe_report,
				     const struct tdx_qe_identity *id);

/* Appends the checks above to `out`. Returns 0 when all passed, -EACCES
 * otherwise (-EINVAL when the Intel root does not decode). */
int tdx_verify_quote(const struct tdx_quote *q, const struct tdx_verify_opts *o,
		     struct tdx_verify_state *st, struct check_list *out);

#endif
