/* tests/fuzz/fuzz_quote.c: libFuzzer target for tdx_quote_parse and, for
 * inputs that parse, the whole signature chain (PEM decoding, X.509, the
 * PCK SGX extension, ECDSA) and the QUOTE input forms of `dshield verify`.
 * Beyond "no crash": a parsed quote's spans must lie inside the input. */
#include "cli/quote_input.h"
#include "crypto/tdx_quote.h"
#include "crypto/tdx_verify.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const struct tdx_quote *q, const uint8_t *p, size_t n)
{
	if (p && (p < q->buf || n > q->len || (size_t)(p - q->buf) > q->len - n))
		abort();
}

static void check_quote(const uint8_t *data, size_t size)
{
	static struct tdx_verify_state st;
	static struct check_list cl;
	struct tdx_verify_opts o = { .now = 1780272000, .allow_sim = (size & 1) != 0 };
	struct tdx_quote q;
	char err[256];

	if (tdx_quote_parse(&q, data, size, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();  /* every refusal says why */
		return;
	}
	if (q.used > size || q.signed_len > q.used)
		abort();
	inside(&q, q.signed_region, q.signed_len);
	inside(&q, q.body, q.body_len);
	inside(&q, q.signature, 64);
	inside(&q, q.attest_key, 64);
	inside(&q, q.cert_data, q.cert_len);
	inside(&q, q.qe_report, 384);
	inside(&q, q.qe_auth, q.qe_auth_len);
	inside(&q, q.inner_cert, q.inner_cert_len);
	checks_init(&cl);
	tdx_verify_quote(&q, &o, &st, &cl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct quote_input in;
	char err[256];

	check_quote(data, size);
	if (quote_input_read(&in, (const char *)data, size, err, sizeof(err)) == 0 &&
	    (in.form[0] != 'b'))
		check_quote(in.quote, in.quote_len);
	return 0;
}
