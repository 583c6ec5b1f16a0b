/* crypto/tcb_eval.h: evaluation of Intel's signed TCB Info (TDX, v3) and
 * QE Identity (TD_QE, v2) JSON against a quote, after their signatures were
 * checked (collateral.c). Follows Intel's QVL: the first TCB level whose
 * SGX components and PCESVN are at or below the PCK certificate's and
 * whose TDX components are at or below the quote's TEE_TCB_SVN (skipping
 * components 0 and 1, the TDX module's, when the module major version in
 * byte 1 is not 0: the module identity grades those) gives the status. */
#ifndef DSHIELD_CRYPTO_TCB_EVAL_H
#define DSHIELD_CRYPTO_TCB_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/checks.h"
#include "lib/json_tok.h"
#include "crypto/tdx_quote.h"
#include "crypto/tdx_verify.h"

enum tcb_status {
	TCB_UP_TO_DATE,
	TCB_SW_HARDENING_NEEDED,
	TCB_CONFIGURATION_NEEDED,
	TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	TCB_OUT_OF_DATE,
	TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	TCB_REVOKED,
	TCB_UNKNOWN,
};

const char *tcb_status_name(enum tcb_status s);

/* Enough for Intel's TDX TCB info (a few hundred tokens per level). */
#define TCB_EVAL_TOKENS 16384

/* The evaluation's working memory, owned by the caller (256 KiB: keep it
 * off small stacks). One context serves both documents in turn. */
struct tcb_eval_ctx {
	jsmntok_t toks[TCB_EVAL_TOKENS];
};

/* Appends collateral.tcb_info.window, tcb.fmspc, tcb.status and
 * tcb.tdx_module. */
void tcb_eval_tcb_info(struct tcb_eval_ctx *cx, const char *json, size_t len,
		       const struct tdx_quote *q, const struct tdx_verify_state *st,
		       int64_t at, struct check_list *out);

/* Appends collateral.qe_identity.window and qe_identity. */
void tcb_eval_qe_identity(struct tcb_eval_ctx *cx, const char *json, size_t len,
			  const struct tdx_quote *q, int64_t at, struct check_list *out);

#endif
