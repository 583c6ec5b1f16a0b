/* crypto/collateral.h: Intel DCAP collateral for offline TCB evaluation.
 *
 * Input is the JSON shape of dcap-qvl's QuoteCollateralV3 (and of its
 * sample files): an object with string members
 *   tcb_info               the signed TCB Info JSON, as a string
 *   tcb_info_signature     hex of the raw ECDSA P-256 signature (r ‖ s)
 *   tcb_info_issuer_chain  PEM: "Intel SGX TCB Signing" leaf, Intel root
 *   qe_identity, qe_identity_signature, qe_identity_issuer_chain: the same
 *                          for the QE identity
 *   root_ca_crl, pck_crl   hex of DER CRLs: the root CA's (revoked
 *                          intermediates) and the PCK CA's (revoked PCK
 *                          certificates); a missing one fails its check
 *
 * The signed documents are kept byte for byte as decoded from the JSON
 * strings: the signature covers exactly those bytes.
 *
 * Checks appended by collateral_check():
 *   collateral.tcb_info.signature     chain to the Intel root + signature
 *   collateral.qe_identity.signature  idem for the QE identity
 *   collateral.tcb_info.window        issueDate <= at < nextUpdate
 *   collateral.qe_identity.window     idem
 *   tcb.fmspc                         TCB info is for the PCK's FMSPC/PCE-ID
 *   tcb.status                        the platform's TCB level (PCK SVNs +
 *                                     the quote's TEE TCB SVN), with the
 *                                     TDX module's own status folded in
 *   tcb.tdx_module                    MRSIGNERSEAM/SEAM attributes match the
 *                                     TDX module identity of the TCB info
 *   qe_identity                       the QE report matches the QE identity
 *                                     (MRSIGNER, ISVPRODID, masked
 *                                     MISCSELECT/attributes, ISVSVN level)
 *   collateral.root_ca_crl            signed by the Intel root, in its
 *                                     window, lists neither the quote's PCK
 *                                     CA nor the TCB signing certificate
 *   collateral.pck_crl                signed by the quote's PCK CA, in its
 *                                     window, does not list the PCK leaf
 * (each fails when the collateral has no such CRL: revocation is part of
 * what collateral is given for). Checks that cannot be evaluated (a
 * document whose signature failed, a sim quote) are skipped with no
 * caveat, so they fail the verdict too.
 *
 * Each certificate chain is decoded once into the caller's struct
 * collateral_ctx and serves both its signature check and the root CA CRL;
 * the roots are those tdx_verify_quote decoded into the state.
 * A check passes only for the status "UpToDate"; every other status
 * (SWHardeningNeeded, ConfigurationNeeded, OutOfDate, Revoked, ...) fails
 * with the status, TCB date and advisory IDs in its detail.
 */
#ifndef DSHIELD_CRYPTO_COLLATERAL_H
#define DSHIELD_CRYPTO_COLLATERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/checks.h"
#include "crypto/tcb_eval.h"
#include "crypto/tdx_quote.h"
#include "crypto/tdx_verify.h"
#include "crypto/x509_chain.h"

#define COLLATERAL_ARENA (96 * 1024)

struct collateral {
	const char *tcb_info;
	size_t tcb_info_len;
	uint8_t tcb_info_sig[64];
	const char *tcb_chain;
	size_t tcb_chain_len;
	const char *qe_identity;
	size_t qe_identity_len;
	uint8_t qe_identity_sig[64];
	const char *qe_chain;
	size_t qe_chain_len;
	const uint8_t *root_crl;      /* DER, or NULL */
	size_t root_crl_len;
	const uint8_t *pck_crl;       /* DER, or NULL */
	size_t pck_crl_len;
	size_t used;
	char arena[COLLATERAL_ARENA];
};

/* Reads the collateral JSON. Returns 0 or -EINVAL / -E2BIG with a reason. */
int collateral_parse(struct collateral *c, const char *json, size_t len,
		     char *err, size_t errlen);

/* collateral_check's working memory, owned by the caller (about 280 KiB:
 * keep it off small stacks). */
struct collateral_ctx {
	struct x509_chain tcb_chain;   /* tcb_info_issuer_chain, decoded */
	struct x509_chain qe_chain;    /* qe_identity_issuer_chain, decoded */
	struct tcb_eval_ctx ev;
};

/* Appends the checks listed above, evaluated at unix time `at`, after
 * tdx_verify_quote filled `st`. */
void collateral_check(struct collateral_ctx *cx, const struct collateral *c,
		      const struct tdx_quote *q, const struct tdx_verify_state *st,
		      int64_t at, struct check_list *out);

/* Appends one skipped "collateral" check naming why there is none, with
 * the caveat that may cover it: what `dshield verify` reports without
 * --collateral. */
void collateral_skip(struct check_list *out, unsigned caveat, const char *why);

#endif
