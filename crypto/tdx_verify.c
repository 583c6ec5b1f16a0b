/* crypto/tdx_verify.c: the signature chain of a TDX quote (tdx_verify.h). */
#include "crypto/tdx_verify.h"

#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/ecdsa.h"
#include "crypto/intel_root_ca.h"
#include "crypto/sim_quote.h"
#include "crypto/utc_time.h"
#include "lib/bytes.h"
#include "lib/hex.h"

/* Intel's TD Quoting Enclave, from Intel's signed QE identity "TD_QE"
 * (version 2, as served by Intel PCS /tdx/certification/v4/qe/identity):
 *   mrsigner       DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5
 *   isvprodid      2
 *   miscselect     00000000, miscselectMask FFFFFFFF
 *   attributes     11000000000000000000000000000000
 *   attributesMask FBFFFFFFFFFFFFFF0000000000000000
 * identical in the two issues in ../shared/testdata/tdx (dcap-qvl's
 * collateral: tcbEvaluationDataNumber 17 of 2025-06-19 and 18 of
 * 2026-02-18), and every real quote there matches it. Only this enclave
 * may vouch for an attestation key: a host with an SGX platform of its own
 * and flexible launch control can get a PCK-signed report for an enclave
 * of its own signer, which would then sign any TD report. The collateral's
 * QE identity says the same (and grades the QE's SVN), but must not be the
 * only guard, since a verdict may be given without collateral. */
const struct tdx_qe_identity tdx_intel_td_qe = {
	.mrsigner = {
		0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
		0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
	},
	.isvprodid = 2,
	.miscselect = 0x00000000,
	.miscselect_mask = 0xffffffff,
	.attributes = { 0x11 },
	.attributes_mask = { 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
};

/* 939A7233-F79C-4CA9-940A-0DB3957F0607: Intel's QE vendor ID (Intel's
 * quote format specification, quote header). */
const uint8_t tdx_intel_qe_vendor_id[16] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

const char *tdx_qe_identity_mismatch(const uint8_t *r, const struct tdx_qe_identity *id)
{
	/* MISCSELECT is a u32, little endian in the report. */
	uint32_t misc = le32(r + SGX_REPORT_OFF_MISCSELECT);

	if (memcmp(r + SGX_REPORT_OFF_MRSIGNER, id->mrsigner, 32) != 0)
		return "MRSIGNER differs";
	if (le16(r + SGX_REPORT_OFF_ISVPRODID) != id->isvprodid)
		return "ISVPRODID differs";
	if ((misc & id->miscselect_mask) != (id->miscselect & id->miscselect_mask))
		return "MISCSELECT differs under the mask";
	for (int b = 0; b < 16; b++)
		if ((r[SGX_REPORT_OFF_ATTRIBUTES + b] & id->attributes_mask[b]) !=
		    (id->attributes[b] & id->attributes_mask[b]))
			return "ATTRIBUTES differ under the mask";
	return NULL;
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
	r = x509_chain_verify(&st->chain, st->roots, st->n_roots, o->now, st->pck_pub,
			      err, sizeof(err));
	if (r < 0) {
		checks_add(out, "pck.chain", CHECK_FAIL, "PCK chain (%zu certificates) at %s: %s",
			   st->chain.n, when, err);
		return;
	}
	st->pck_root = (size_t)r;
	st->pck_trusted = true;
	checks_add(out, "pck.chain", CHECK_PASS, "%zu certificates, valid at %s, ending in %s",
		   st->chain.n, when, r == 0 ? "the compiled-in Intel SGX Root CA"
		   : "the TEST root of tdx_verify_opts.test_root (not Intel's)");

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

/* The QE's own identity, from the compiled-in values: checked whether the
 * signature verified or not (its verdict fails anyway then). */
static void check_qe_identity(const struct tdx_quote *q, struct check_list *out, bool *all)
{
	const char *why = tdx_qe_identity_mismatch(q->qe_report, &tdx_intel_td_qe);
	char signer[65];

	hex_encode(signer, q->qe_report + SGX_REPORT_OFF_MRSIGNER, 32);
	if (why) {
		checks_add(out, "qe_report.identity", CHECK_FAIL,
			   "the QE is not Intel's TD Quoting Enclave: %s (MRSIGNER %s, ISVPRODID %u)",
			   why, signer, le16(q->qe_report + SGX_REPORT_OFF_ISVPRODID));
		*all = false;
		return;
	}
	checks_add(out, "qe_report.identity", CHECK_PASS,
		   "Intel's TD Quoting Enclave (compiled in): MRSIGNER %.16s…, ISVPRODID %u, MISCSELECT and ATTRIBUTES under their masks",
		   signer, tdx_intel_td_qe.isvprodid);
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
	} else if (ecdsa_p256_verify_raw(st->pck_pub, q->qe_report, TDX_QE_REPORT_LEN,
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
	check_qe_identity(q, out, all);

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
	if (ecdsa_p256_verify_raw(pub, q->signed_region, q->signed_len, q->signature)) {
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

/* The vendor ID a quote's header gives for its QE must agree with the
 * kind of quote: Intel's for a real quote, dshield's sim "QE" for a sim
 * quote, so neither kind can pass for the other. */
static void check_vendor(const struct tdx_quote *q, const char *name, const uint8_t want[16],
			 const char *who, struct check_list *out, bool *all)
{
	char got[33];

	hex_encode(got, q->qe_vendor_id, 16);
	if (memcmp(q->qe_vendor_id, want, 16) == 0) {
		checks_add(out, name, CHECK_PASS, "QE vendor ID %s: %s", got, who);
	} else {
		checks_add(out, name, CHECK_FAIL, "QE vendor ID %s is not %s%s", got, who,
			   memcmp(q->qe_vendor_id, TDX_SIM_QE_VENDOR_ID, 16) == 0
			   ? " (it is dshield's sim QE)" : "");
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

	if (o->allow_sim) {
		checks_add(out, "quote.sim", CHECK_PASS,
			   "dshield sim backend (allowed by --allow-sim): signed by a simulation key, proves nothing about TDX hardware");
		checks_rely(out, CHECK_CAVEAT_SIM);
	} else {
		checks_add(out, "quote.sim", CHECK_FAIL,
			   "dshield sim backend quote (certification data type 0x%04x): not produced by TDX hardware; refused without --allow-sim",
			   q->cert_type);
	}
	if (memcmp(q->sim_key, q->attest_key, TDX_ECDSA_KEY_LEN) == 0) {
		checks_add(out, "sim.key", CHECK_PASS,
			   "simulation key in the certification data is the attestation key");
	} else {
		checks_add(out, "sim.key", CHECK_FAIL,
			   "simulation key in the certification data differs from the attestation key");
		all = false;
	}
	check_vendor(q, "sim.qe_vendor", (const uint8_t *)TDX_SIM_QE_VENDOR_ID,
		     "dshield's sim QE (\"dshield-sim-qe\")", out, &all);
	check_quote_sig(q, out, &all);
	check_debug(q, out, &all);
	return all && o->allow_sim ? 0 : -EACCES;
}

/* The trust anchors, decoded once for the quote and its collateral. */
static int load_roots(const struct tdx_verify_opts *o, struct tdx_verify_state *st,
		      struct check_list *out)
{
	char err[160];

	if (x509_anchor_init(&st->roots[0], intel_sgx_root_ca_der, intel_sgx_root_ca_der_len,
			     err, sizeof(err)) ||
	    (o->test_root &&
	     x509_anchor_init(&st->roots[1], o->test_root, o->test_root_len, err, sizeof(err)))) {
		checks_add(out, "pck.chain", CHECK_FAIL, "trust anchor: %s", err);
		return -EINVAL;
	}
	st->n_roots = o->test_root ? 2 : 1;
	return 0;
}

int tdx_verify_quote(const struct tdx_quote *q, const struct tdx_verify_opts *o,
		     struct tdx_verify_state *st, struct check_list *out)
{
	bool all = true;
	int r;

	memset(st, 0, sizeof(*st));
	r = load_roots(o, st, out);
	if (r)
		return r;
	if (tdx_quote_is_sim(q))
		return verify_sim(q, o, out);

	check_pck(q, o, st, out);
	if (!st->pck_trusted)
		all = false;
	check_qe_report(q, st, out, &all);
	check_quote_sig(q, out, &all);
	check_vendor(q, "quote.qe_vendor", tdx_intel_qe_vendor_id, "Intel's", out, &all);
	st->quote_authentic = all;
	check_debug(q, out, &all);
	return all ? 0 : -EACCES;
}
