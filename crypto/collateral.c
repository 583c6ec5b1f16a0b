/* crypto/collateral.c: read the collateral JSON, check the signatures of
 * the TCB info and QE identity (see collateral.h). The evaluation of the
 * signed documents against the quote is in tcb_eval.c. */
#include "crypto/collateral.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crl.h"
#include "crypto/ecdsa.h"
#include "lib/json_tok.h"
#include "crypto/utc_time.h"
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

/* An optional hex DER member (a CRL) into the arena. */
static int arena_hex(struct collateral *c, const struct json_doc *d, const char *key,
		     const uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	int i = json_get(d, 0, key);
	ssize_t n;

	*out = NULL;
	*outlen = 0;
	if (i < 0 || json_is(d, i, JSMN_PRIMITIVE))  /* absent or null */
		return 0;
	n = json_is(d, i, JSMN_STRING)
		? hex_decode(c->arena + c->used, sizeof(c->arena) - c->used, d->js + d->t[i].start,
			     (size_t)(d->t[i].end - d->t[i].start))
		: -1;
	if (n <= 0) {
		snprintf(err, errlen, "collateral: \"%s\" is not hex (DER) or does not fit", key);
		return -EINVAL;
	}
	*out = (const uint8_t *)c->arena + c->used;
	*outlen = (size_t)n;
	c->used += (size_t)n;
	return 0;
}

int collateral_parse(struct collateral *c, const char *json, size_t len,
		     char *err, size_t errlen)
{
	jsmntok_t toks[64];
	struct json_doc d;
	int r;

	c->used = 0;
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
	    sig_hex(&d, "qe_identity_signature", c->qe_identity_sig, err, errlen) ||
	    arena_hex(c, &d, "root_ca_crl", &c->root_crl, &c->root_crl_len, err, errlen) ||
	    arena_hex(c, &d, "pck_crl", &c->pck_crl, &c->pck_crl_len, err, errlen))
		return -EINVAL;
	return 0;
}

/* Decodes the signing certificate's chain into ch (kept for the root CA
 * CRL), validates it to a root at `at`, then checks the signature over the
 * exact document bytes. */
static bool check_signed(const char *name, const char *what, struct x509_chain *ch,
			 const char *chain_pem, size_t chain_len, const char *doc, size_t doc_len,
			 const uint8_t sig[64], const struct tdx_verify_state *st, int64_t at,
			 struct check_list *out)
{
	uint8_t pub[65];
	char err[256];
	int root;

	if (x509_chain_from_pem(ch, chain_pem, chain_len, err, sizeof(err)) < 0) {
		ch->n = 0;
		checks_add(out, name, CHECK_FAIL, "%s issuer chain: %s", what, err);
		return false;
	}
	root = x509_chain_verify(ch, st->roots, st->n_roots, at, pub, err, sizeof(err));
	if (root < 0) {
		checks_add(out, name, CHECK_FAIL, "%s issuer chain: %s", what, err);
		return false;
	}
	if (!x509_subject_has(ch->cert[0].der, ch->cert[0].len, "Intel SGX TCB Signing")) {
		checks_add(out, name, CHECK_FAIL,
			   "%s is signed by a certificate that is not \"Intel SGX TCB Signing\"", what);
		return false;
	}
	if (!ecdsa_p256_verify_raw(pub, doc, doc_len, sig)) {
		checks_add(out, name, CHECK_FAIL,
			   "%s signature does not verify with the Intel SGX TCB Signing key", what);
		return false;
	}
	checks_add(out, name, CHECK_PASS, "%s (%zu bytes) signed by Intel SGX TCB Signing, chained to %s",
		   what, doc_len, root == 0 ? "the Intel SGX Root CA" : "the TEST root (not Intel's)");
	return true;
}

/* Parses a CRL, checks its issuer, signature and window. Returns true when
 * it may be used; appends a failed check otherwise. */
static bool crl_usable(struct crl *crl, const char *name, const char *what,
		       const uint8_t *der, size_t len, const uint8_t *issuer, size_t issuer_len,
		       const uint8_t pub[65], int64_t at, struct check_list *out)
{
	char err[160], a[32], b[32], now[32];

	if (crl_parse(crl, der, len, err, sizeof(err))) {
		checks_add(out, name, CHECK_FAIL, "%s: %s", what, err);
		return false;
	}
	if (crl->issuer_len != issuer_len || memcmp(crl->issuer, issuer, issuer_len) != 0) {
		checks_add(out, name, CHECK_FAIL, "%s is issued by another CA than the one it must cover", what);
		return false;
	}
	if (!crl_signed_by(crl, pub)) {
		checks_add(out, name, CHECK_FAIL, "%s signature does not verify with its issuer's key", what);
		return false;
	}
	utc_format(a, sizeof(a), crl->this_update);
	utc_format(b, sizeof(b), crl->next_update);
	utc_format(now, sizeof(now), at);
	if (at < crl->this_update || at >= crl->next_update) {
		checks_add(out, name, CHECK_FAIL, "%s valid %s .. %s, not at %s", what, a, b, now);
		return false;
	}
	return true;
}

/* Is the certificate (issued by `issuer`) listed? -1 when it does not
 * decode or has another issuer (the CRL does not cover it). */
static int listed(const struct crl *crl, const uint8_t *der, size_t len,
		  const uint8_t *issuer, size_t issuer_len)
{
	const uint8_t *serial, *iss, *subj;
	size_t serial_len, iss_len, subj_len;

	if (x509_cert_ids(der, len, &serial, &serial_len, &iss, &iss_len, &subj, &subj_len) ||
	    iss_len != issuer_len || memcmp(iss, issuer, issuer_len) != 0)
		return -1;
	return crl_lists(crl, serial, serial_len) ? 1 : 0;
}

/* The root CA CRL is checked against the root the quote's PCK chain ended
 * in (the Intel root unless a test gave its own). */
static void check_root_crl(const struct collateral_ctx *cx, const struct collateral *c,
			   const struct tdx_verify_state *st, int64_t at, struct check_list *out)
{
	const struct x509_anchor *root = &st->roots[st->pck_trusted ? st->pck_root : 0];
	const struct x509_chain *tcb = &cx->tcb_chain;
	struct crl crl;
	int r;

	if (!c->root_crl) {
		checks_add(out, "collateral.root_ca_crl", CHECK_FAIL,
			   "no root_ca_crl in the collateral: revocation of the PCK CA not evaluated");
		return;
	}
	if (!crl_usable(&crl, "collateral.root_ca_crl", "root CA CRL", c->root_crl, c->root_crl_len,
			root->dn, root->dn_len, root->pub, at, out))
		return;
	if (st->pck_trusted && st->chain.n >= 3) {
		r = listed(&crl, st->chain.cert[1].der, st->chain.cert[1].len, root->dn, root->dn_len);
		if (r != 0) {
			checks_add(out, "collateral.root_ca_crl", CHECK_FAIL, r > 0
				   ? "the quote's PCK CA certificate is REVOKED by the root CA CRL"
				   : "the quote's PCK CA certificate is not issued by the root");
			return;
		}
	}
	if (tcb->n > 0 && listed(&crl, tcb->cert[0].der, tcb->cert[0].len, root->dn, root->dn_len) == 1) {
		checks_add(out, "collateral.root_ca_crl", CHECK_FAIL,
			   "the TCB signing certificate is REVOKED by the root CA CRL");
		return;
	}
	checks_add(out, "collateral.root_ca_crl", CHECK_PASS,
		   "signed by the Intel root, current, %zu entries; lists neither the PCK CA%s nor the TCB signing certificate",
		   crl.n_revoked, st->pck_trusted ? "" : " (not checked: no trusted PCK chain)");
}

static void check_pck_crl(const struct collateral *c, const struct tdx_verify_state *st,
			  int64_t at, struct check_list *out)
{
	const uint8_t *serial, *iss, *ca_subj;
	size_t serial_len, iss_len, ca_subj_len;
	uint8_t ca_pub[65];
	struct crl crl;
	int r;

	if (!c->pck_crl) {
		checks_add(out, "collateral.pck_crl", CHECK_FAIL,
			   "no pck_crl in the collateral: revocation of the PCK certificate not evaluated");
		return;
	}
	if (!st->pck_trusted || st->chain.n < 3) {
		checks_add(out, "collateral.pck_crl", CHECK_SKIPPED, "no trusted PCK chain (see pck.chain)");
		return;
	}
	if (x509_cert_ids(st->chain.cert[1].der, st->chain.cert[1].len, &serial, &serial_len,
			  &iss, &iss_len, &ca_subj, &ca_subj_len) ||
	    x509_cert_pubkey(st->chain.cert[1].der, st->chain.cert[1].len, ca_pub)) {
		checks_add(out, "collateral.pck_crl", CHECK_FAIL, "PCK CA certificate does not decode");
		return;
	}
	if (!crl_usable(&crl, "collateral.pck_crl", "PCK CRL", c->pck_crl, c->pck_crl_len,
			ca_subj, ca_subj_len, ca_pub, at, out))
		return;
	r = listed(&crl, st->chain.cert[0].der, st->chain.cert[0].len, ca_subj, ca_subj_len);
	if (r != 0) {
		checks_add(out, "collateral.pck_crl", CHECK_FAIL, r > 0
			   ? "the quote's PCK certificate is REVOKED by the PCK CRL"
			   : "the quote's PCK certificate is not issued by the PCK CA of its chain");
		return;
	}
	checks_add(out, "collateral.pck_crl", CHECK_PASS,
		   "signed by the quote's PCK CA, current, %zu entries, the PCK certificate not among them",
		   crl.n_revoked);
}

void collateral_skip(struct check_list *out, unsigned caveat, const char *why)
{
	checks_skip(out, "collateral", caveat,
		    "%s: TCB status (tcb.*, qe_identity) and revocation (collateral.*_crl) not evaluated", why);
}

void collateral_check(struct collateral_ctx *cx, const struct collateral *c,
		      const struct tdx_quote *q, const struct tdx_verify_state *st,
		      int64_t at, struct check_list *out)
{
	bool tcb_ok, qe_ok;

	cx->tcb_chain.n = 0;
	cx->qe_chain.n = 0;
	if (tdx_quote_is_sim(q)) {
		/* No caveat can cover this: the user asked for an evaluation
		 * that cannot happen. */
		collateral_skip(out, 0, "sim quote: Intel collateral does not apply to it");
		return;
	}
	tcb_ok = check_signed("collateral.tcb_info.signature", "TCB info", &cx->tcb_chain,
			      c->tcb_chain, c->tcb_chain_len, c->tcb_info, c->tcb_info_len,
			      c->tcb_info_sig, st, at, out);
	qe_ok = check_signed("collateral.qe_identity.signature", "QE identity", &cx->qe_chain,
			     c->qe_chain, c->qe_chain_len, c->qe_identity, c->qe_identity_len,
			     c->qe_identity_sig, st, at, out);
	if (!tcb_ok) {
		checks_add(out, "collateral.tcb_info.window", CHECK_SKIPPED, "TCB info signature not valid");
		checks_add(out, "tcb.fmspc", CHECK_SKIPPED, "TCB info signature not valid");
		checks_add(out, "tcb.status", CHECK_SKIPPED, "TCB info signature not valid");
		checks_add(out, "tcb.tdx_module", CHECK_SKIPPED, "TCB info signature not valid");
	} else {
		tcb_eval_tcb_info(&cx->ev, c->tcb_info, c->tcb_info_len, q, st, at, out);
	}
	if (!qe_ok) {
		checks_add(out, "collateral.qe_identity.window", CHECK_SKIPPED, "QE identity signature not valid");
		checks_add(out, "qe_identity", CHECK_SKIPPED, "QE identity signature not valid");
	} else {
		tcb_eval_qe_identity(&cx->ev, c->qe_identity, c->qe_identity_len, q, at, out);
	}
	check_root_crl(cx, c, st, at, out);
	check_pck_crl(c, st, at, out);
}
