/* crypto/tdx_verify.c: the signature chain of a TDX quote (tdx_verify.h). */
#include "crypto/tdx_verify.h"

#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/utc_time.h"
#include "lib/hex.h"

bool tdx_ecdsa_p256_verify(const uint8_t pub[65], const void *msg, size_t len,
			   const uint8_t sig[64])
{
	br_sha256_context h;
	uint8_t digest[32];
	br_ec_public_key pk = {
		.curve = BR_EC_secp256r1, .q = (unsigned char *)pub, .qlen = 65,
	};

	br_sha256_init(&h);
	br_sha256_update(&h, msg, len);
	br_sha256_out(&h, digest);
	return br_ecdsa_i31_vrfy_raw(br_ec_get_default(), digest, sizeof(digest),
				     &pk, sig, 64) == 1;
}

static void check_pck(const struct tdx_quote *q, const struct tdx_verify_opts *o,
		      struct tdx_verify_state *st, struct check_list *out)
{
	char err[256], when[32];
	int r;

	r = x509_chain_from_pem(&st->chain, (const char *)q->inner_cert,
				q->inner_cert_len, err, sizeof(err));
	if (r < 0) {
		checks_add(out, "pck.chain", CHECK_FAIL, "PCK chain in the quote: %s", err);
		return;
	}
	utc_format(when, sizeof(when), o->now);
	r = x509_chain_verify(&st->chain, o->now, st->pck_pub, err, sizeof(err));
	if (r) {
		checks_add(out, "pck.chain", CHECK_FAIL, "PCK chain (%zu certificates) at %s: %s",
			   st->chain.n, when, err);
		return;
	}
	st->pck_trusted = true;
	checks_add(out, "pck.chain", CHECK_PASS,
		   "%zu certificates, valid at %s, ending in the compiled-in Intel SGX Root CA",
		   st->chain.n, when);

	r = pck_ext_parse(&st->pck, st->chain.cert[0].der, st->chain.cert[0].len,
			  err, sizeof(err));
	if (r) {
		checks_add(out, "pck.sgx_extension", CHECK_FAIL, "%s", err);
		return;
	}
	st->have_pck_ext = true;
	{
		char fmspc[13], pceid[5], cpusvn[33];
		hex_encode(fmspc, st->pck.fmspc, 6);
		hex_encode(pceid, st->pck.pceid, 2);
		hex_encode(cpusvn, st->pck.comp_svn, 16);
		checks_add(out, "pck.sgx_extension", CHECK_PASS,
			   "FMSPC %s, PCE-ID %s, PCESVN %u, TCB components %s",
			   fmspc, pceid, st->pck.pcesvn, cpusvn);
	}
}

static void check_qe_report(const struct tdx_quote *q, struct tdx_verify_state *st,
			    struct check_list *out, bool *all)
{
	br_sha256_context h;
	uint8_t digest[32];
	const uint8_t *rd = q->qe_report + SGX_REPORT_OFF_REPORT_DATA;
	static const uint8_t zero[32];

	if (!st->pck_trusted) {
		checks_add(out, "qe_report.signature", CHECK_SKIPPED,
			   "no trusted PCK key (pck.chain failed)");
		*all = false;
	} else if (tdx_ecdsa_p256_verify(st->pck_pub, q->qe_report, TDX_QE_REPORT_LEN,
					 q->qe_report_sig)) {
		checks_add(out, "qe_report.signature", CHECK_PASS,
			   "QE report (%d bytes at offset %zu) signed by the PCK leaf key",
			   TDX_QE_REPORT_LEN, tdx_quote_off(q, q->qe_report));
	} else {
		checks_add(out, "qe_report.signature", CHECK_FAIL,
			   "QE report signature at offset %zu does not verify with the PCK leaf key",
			   tdx_quote_off(q, q->qe_report_sig));
		*all = false;
	}

	br_sha256_init(&h);
	br_sha256_update(&h, q->attest_key, TDX_ECDSA_KEY_LEN);
	br_sha256_update(&h, q->qe_auth, q->qe_auth_len);
	br_sha256_out(&h, digest);
	if (memcmp(rd, digest, 32) == 0 && memcmp(rd + 32, zero, 32) == 0) {
		checks_add(out, "qe_report.binds_attestation_key", CHECK_PASS,
			   "QE report data = SHA-256(attestation key ‖ %u bytes of QE auth data) ‖ zeros",
			   q->qe_auth_len);
	} else {
		checks_add(out, "qe_report.binds_attestation_key", CHECK_FAIL,
			   "QE report data is not SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes");
		*all = false;
	}
}

static void check_quote_sig(const struct tdx_quote *q, struct check_list *out, bool *all)
{
	uint8_t pub[65];

	pub[0] = 0x04;
	memcpy(pub + 1, q->attest_key, TDX_ECDSA_KEY_LEN);
	if (tdx_ecdsa_p256_verify(pub, q->signed_region, q->signed_len, q->signature)) {
		checks_add(out, "quote.signature", CHECK_PASS,
			   "header and TD report (%zu bytes) signed by the attestation key",
			   q->signed_len);
	} else {
		checks_add(out, "quote.signature", CHECK_FAIL,
			   "signature over header and TD report (%zu bytes) does not verify with the attestation key",
			   q->signed_len);
		*all = false;
	}
}

/* TD attributes bit 0 is DEBUG: the host can then read and write the
 * TD's memory and registers, so nothing the TD says can be trusted. */
static void check_debug(const struct tdx_quote *q, struct check_list *out, bool *all)
{
	if (q->td_attributes[0] & 0x01) {
		checks_add(out, "td_attributes.debug", CHECK_FAIL,
			   "the TD is a DEBUG TD (td_attributes bit 0): its host can read and change its memory");
		*all = false;
	} else {
		checks_add(out, "td_attributes.debug", CHECK_PASS, "not a debug TD (td_attributes bit 0 clear)");
	}
}

static int verify_sim(const struct tdx_quote *q, const struct tdx_verify_opts *o,
		      struct check_list *out)
{
	bool all = true;

	if (o->allow_sim)
		checks_add(out, "quote.sim", CHECK_PASS,
			   "dshield sim backend (allowed by --allow-sim): signed by a simulation key, proves nothing about TDX hardware");
	else
		checks_add(out, "quote.sim", CHECK_FAIL,
			   "dshield sim backend quote (certification data type 0x%04x): not produced by TDX hardware; refused without --allow-sim",
			   q->cert_type);
	if (memcmp(q->sim_key, q->attest_key, TDX_ECDSA_KEY_LEN) == 0) {
		checks_add(out, "sim.key", CHECK_PASS,
			   "simulation key in the certification data is the attestation key");
	} else {
		checks_add(out, "sim.key", CHECK_FAIL,
			   "simulation key in the certification data differs from the attestation key");
		all = false;
	}
	check_quote_sig(q, out, &all);
	check_debug(q, out, &all);
	return all && o->allow_sim ? 0 : -EACCES;
}

int tdx_verify_quote(const struct tdx_quote *q, const struct tdx_verify_opts *o,
		     struct tdx_verify_state *st, struct check_list *out)
{
	bool all = true;

	memset(st, 0, sizeof(*st));
	if (tdx_quote_is_sim(q))
		return verify_sim(q, o, out);

	check_pck(q, o, st, out);
	if (!st->pck_trusted)
		all = false;
	check_qe_report(q, st, out, &all);
	check_quote_sig(q, out, &all);
	st->quote_authentic = all;
	check_debug(q, out, &all);
	return all ? 0 : -EACCES;
}
