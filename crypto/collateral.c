/* crypto/collateral.c: read the collateral JSON, check the signatures of
 * the TCB info and QE identity (see collateral.h). The evaluation of the
 * signed documents against the quote is in tcb_eval.c. */
#include "crypto/collateral.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/json_tok.h"
#include "crypto/tcb_eval.h"
#include "crypto/utc_time.h"
#include "crypto/x509_chain.h"
#include "lib/hex.h"

/* Decodes the string member `key` into the arena. */
static int arena_str(struct collateral *c, const struct json_doc *d, const char *key,
		     const char **out, size_t *outlen, char *err, size_t errlen)
{
	int i = json_get(d, 0, key);
	long n;
	if (i < 0) {
		snprintf(err, errlen, "collateral: missing \"%s\"", key);
		return -EINVAL;
	}
	n = json_str(d, i, c->arena + c->used, sizeof(c->arena) - c->used);
	if (n < 0) {
		snprintf(err, errlen, "collateral: \"%s\" is not a valid string or does not fit in %zu bytes",
			 key, sizeof(c->arena) - c->used);
		return -EINVAL;
	}
	*out = c->arena + c->used;
	*outlen = (size_t)n;
	c->used += (size_t)n + 1;
	return 0;
}

static int sig_hex(const struct json_doc *d, const char *key, uint8_t sig[64],
		   char *err, size_t errlen)
{
	int i = json_get(d, 0, key);
	if (!json_is(d, i, JSMN_STRING) ||
	    hex_decode(sig, 64, d->js + d->t[i].start,
		       (size_t)(d->t[i].end - d->t[i].start)) != 64) {
		snprintf(err, errlen, "collateral: \"%s\" must be 128 hex digits (raw r ‖ s)", key);
		return -EINVAL;
	}
	return 0;
}

int collateral_parse(struct collateral *c, const char *json, size_t len,
		     char *err, size_t errlen)
{
	jsmntok_t toks[64];
	struct json_doc d;
	int r;

	c->used = 0;
	c->has_crls = false;
	r = json_parse(&d, json, len, toks, 64);
	if (r || !json_is(&d, 0, JSMN_OBJECT)) {
		snprintf(err, errlen, "collateral: not a JSON object of the dcap-qvl collateral shape");
		return -EINVAL;
	}
	if (arena_str(c, &d, "tcb_info", &c->tcb_info, &c->tcb_info_len, err, errlen) ||
	    arena_str(c, &d, "tcb_info_issuer_chain", &c->tcb_chain, &c->tcb_chain_len, err, errlen) ||
	    arena_str(c, &d, "qe_identity", &c->qe_identity, &c->qe_identity_len, err, errlen) ||
	    arena_str(c, &d, "qe_identity_issuer_chain", &c->qe_chain, &c->qe_chain_len, err, errlen) ||
	    sig_hex(&d, "tcb_info_signature", c->tcb_info_sig, err, errlen) ||
	    sig_hex(&d, "qe_identity_signature", c->qe_identity_sig, err, errlen))
		return -EINVAL;
	c->has_crls = json_get(&d, 0, "pck_crl") >= 0 || json_get(&d, 0, "root_ca_crl") >= 0;
	return 0;
}

/* Chain of the signing certificate to the Intel root at `at`, then the
 * signature over the exact document bytes. */
static bool check_signed(const char *name, const char *what, const char *chain_pem,
			 size_t chain_len, const char *doc, size_t doc_len,
			 const uint8_t sig[64], int64_t at, struct check_list *out)
{
	static struct x509_chain ch;
	uint8_t pub[65];
	char err[256];

	if (x509_chain_from_pem(&ch, chain_pem, chain_len, err, sizeof(err)) < 0 ||
	    x509_chain_verify(&ch, at, pub, err, sizeof(err)) != 0) {
		checks_add(out, name, CHECK_FAIL, "%s issuer chain: %s", what, err);
		return false;
	}
	if (!x509_subject_has(ch.cert[0].der, ch.cert[0].len, "Intel SGX TCB Signing")) {
		checks_add(out, name, CHECK_FAIL,
			   "%s is signed by a certificate that is not \"Intel SGX TCB Signing\"", what);
		return false;
	}
	if (!tdx_ecdsa_p256_verify(pub, doc, doc_len, sig)) {
		checks_add(out, name, CHECK_FAIL,
			   "%s signature does not verify with the Intel SGX TCB Signing key", what);
		return false;
	}
	checks_add(out, name, CHECK_PASS,
		   "%s (%zu bytes) signed by Intel SGX TCB Signing, chained to the Intel SGX Root CA",
		   what, doc_len);
	return true;
}

static void skip_all(struct check_list *out, const char *why)
{
	static const char *const names[] = {
		"collateral.tcb_info.window", "tcb.fmspc", "tcb.status", "tcb.tdx_module",
		"collateral.qe_identity.window", "qe_identity",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		checks_add(out, names[i], CHECK_SKIPPED, "%s", why);
}

void collateral_check(const struct collateral *c, const struct tdx_quote *q,
		      const struct tdx_verify_state *st, int64_t at,
		      struct check_list *out)
{
	bool tcb_ok, qe_ok;

	if (tdx_quote_is_sim(q)) {
		checks_add(out, "collateral.tcb_info.signature", CHECK_SKIPPED,
			   "sim quote: Intel collateral does not apply");
		checks_add(out, "collateral.qe_identity.signature", CHECK_SKIPPED,
			   "sim quote: Intel collateral does not apply");
		skip_all(out, "sim quote: Intel collateral does not apply");
		return;
	}
	tcb_ok = check_signed("collateral.tcb_info.signature", "TCB info", c->tcb_chain,
			      c->tcb_chain_len, c->tcb_info, c->tcb_info_len,
			      c->tcb_info_sig, at, out);
	qe_ok = check_signed("collateral.qe_identity.signature", "QE identity", c->qe_chain,
			     c->qe_chain_len, c->qe_identity, c->qe_identity_len,
			     c->qe_identity_sig, at, out);
	if (!tcb_ok) {
		checks_add(out, "collateral.tcb_info.window", CHECK_SKIPPED, "TCB info signature not valid");
		checks_add(out, "tcb.fmspc", CHECK_SKIPPED, "TCB info signature not valid");
		checks_add(out, "tcb.status", CHECK_SKIPPED, "TCB info signature not valid");
		checks_add(out, "tcb.tdx_module", CHECK_SKIPPED, "TCB info signature not valid");
	} else {
		tcb_eval_tcb_info(c->tcb_info, c->tcb_info_len, q, st, at, out);
	}
	if (!qe_ok) {
		checks_add(out, "collateral.qe_identity.window", CHECK_SKIPPED, "QE identity signature not valid");
		checks_add(out, "qe_identity", CHECK_SKIPPED, "QE identity signature not valid");
	} else {
		tcb_eval_qe_identity(c->qe_identity, c->qe_identity_len, q, at, out);
	}
	checks_add(out, "collateral.crl", CHECK_SKIPPED,
		   "%s: revocation lists are not evaluated by this version of dshield verify",
		   c->has_crls ? "CRLs present in the collateral" : "no CRLs in the collateral");
}
