/* tests/fuzz/fuzz_collateral.c: libFuzzer target for the collateral JSON
 * reader and for the TCB info / QE identity evaluation of arbitrary
 * (unsigned) documents against a fixed synthetic quote, and for the CRL
 * parser. The first input byte picks the entry point. */
#include "crypto/collateral.h"
#include "crypto/crl.h"
#include "crypto/tcb_eval.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct collateral c;
	static struct tcb_eval_ctx ev;
	static struct tdx_verify_state st;
	static struct check_list cl;
	static uint8_t body[TDX_BODY_V10_LEN], qe_report[TDX_QE_REPORT_LEN];
	struct tdx_quote q;
	char err[256];
	const char *js;

	if (size < 1)
		return 0;
	js = (const char *)data + 1;
	size--;
	/* A synthetic quote: TEE TCB SVN and QE report from the input's first
	 * bytes, so the matching logic is reachable. */
	memset(&q, 0, sizeof(q));
	memset(body, 0, sizeof(body));
	memset(qe_report, 0, sizeof(qe_report));
	memcpy(body, js, size < 16 ? size : 16);
	q.tee_tcb_svn = body;
	q.mrsignerseam = body + TDX_OFF_MRSIGNERSEAM;
	q.seam_attributes = body + TDX_OFF_SEAM_ATTRIBUTES;
	q.qe_report = qe_report;
	q.cert_type = TDX_CERT_TYPE_QE_REPORT;
	st.have_pck_ext = true;
	memset(&st.pck, 0x05, sizeof(st.pck));
	checks_init(&cl);
	switch (data[0] % 4) {
	case 0:
		if (collateral_parse(&c, js, size, err, sizeof(err)) != 0) {
			if (err[0] == '\0')
				abort();
			break;
		}
		if (c.used > sizeof(c.arena))
			abort();
		break;
	case 1:
		tcb_eval_tcb_info(&ev, js, size, &q, &st, 1751328000, &cl);
		break;
	case 2:
		tcb_eval_qe_identity(&ev, js, size, &q, 1751328000, &cl);
		break;
	default: {
		struct crl crl;
		static const uint8_t serial[] = { 0x01, 0x02 };
		if (crl_parse(&crl, (const uint8_t *)js, size, err, sizeof(err)) == 0) {
			if (crl.tbs < (const uint8_t *)js || crl.tbs_len > size)
				abort();
			(void)crl_lists(&crl, serial, sizeof(serial));
		}
		break;
	}
	}
	if (cl.n > CHECKS_MAX)
		abort();
	return 0;
}
