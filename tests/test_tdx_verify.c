/* tests/test_tdx_verify.c: offline verification of real quotes to the
 * Intel root, flipped bits in each region failing the right check, and
 * quotes certified by a TEST PKI (tests/forged_pki.h, trusted through
 * tdx_verify_opts.test_root) whose QE is not Intel's TD QE: the compiled-in
 * QE identity refuses them with and without collateral. */
#include "crypto/collateral.h"
#include "crypto/intel_root_ca.h"
#include "crypto/tdx_verify.h"
#include "crypto/x509_chain.h"
#include "cli/quote_input.h"
#include "tests/forged_pki.h"
#include "tests/tap.h"
#include "tests/tdx_testdata.h"

#include <bearssl.h>
#include <errno.h>

#include "lib/json_tok.h"
#include "lib/bytes.h"
#include "lib/hex.h"

static uint8_t buf[1 << 16], work[1 << 16];
static char text[1 << 17], err[256];
static struct tdx_verify_state st;
static struct check_list cl;
static struct quote_input qi;

static const char *const quotes[] = {
	"dcap-qvl_tdx_quote_v4.bin", "dcap-qvl_tdx_quote_v5_outdated.bin",
	"go-tdx-guest_cos-113-tdx-quote.bin", "go-tdx-guest_quote_v5_sample.bin",
};

static enum check_result result_of(const char *name)
{
	const struct check *c = checks_find(&cl, name);
	return c ? c->result : (enum check_result)-1;
}

static int verify(const uint8_t *q8, size_t n, int64_t now, bool allow_sim, struct tdx_quote *q)
{
	struct tdx_verify_opts o = { .now = now, .allow_sim = allow_sim };
	checks_init(&cl);
	if (tdx_quote_parse(q, q8, n, err, sizeof(err)))
		return -1000;
	return tdx_verify_quote(q, &o, &st, &cl);
}

static void dump_checks(void)
{
	for (size_t i = 0; i < cl.n; i++)
		diag("%s %s: %s", check_result_name(cl.c[i].result), cl.c[i].name, cl.c[i].detail);
}

static void test_genuine(void)
{
	static const char *const names[] = {
		"pck.chain", "pck.sgx_extension", "qe_report.signature", "qe_report.identity",
		"qe_report.binds_attestation_key", "quote.signature", "quote.qe_vendor",
		"td_attributes.debug",
	};
	struct tdx_quote q;

	for (size_t k = 0; k < sizeof(quotes) / sizeof(quotes[0]); k++) {
		long n = td_load(quotes[k], buf, sizeof(buf));
		int r = verify(buf, (size_t)n, T_2026_06_01, false, &q);
		int all = 1;
		if (!ok(r == 0 && checks_ok(&cl), "%s verifies to the Intel root", quotes[k]))
			dump_checks();
		for (size_t i = 0; i < 8; i++)
			all &= result_of(names[i]) == CHECK_PASS;
		ok(all && cl.n == 8 && st.quote_authentic && st.have_pck_ext,
		   "%s: all eight checks ran and passed", quotes[k]);
		ok(strstr(checks_find(&cl, "qe_report.identity")->detail, "Intel's TD Quoting Enclave") != NULL,
		   "%s: its QE is Intel's TD QE (compiled-in identity)", quotes[k]);
	}
	/* The dstack fixtures (hex inside JSON) verify too. */
	for (int k = 0; k < 2; k++) {
		const char *f = k ? "dstack_verifier_tdx-lite-getquote.json" : "dstack_verifier_quote-report.json";
		long n = td_load(f, text, sizeof(text));
		ok(n > 0 && quote_input_read(&qi, text, (size_t)n, err, sizeof(err)) == 0 &&
		   verify(qi.quote, qi.quote_len, T_2026_06_01, false, &q) == 0 &&
		   result_of("qe_report.identity") == CHECK_PASS, "%s verifies, Intel's TD QE", f);
	}
	/* Before the PCK leaf existed, the chain is not valid. */
	{
		long n = td_load(quotes[0], buf, sizeof(buf));
		verify(buf, (size_t)n, T_2020_01_01, false, &q);
		ok(result_of("pck.chain") == CHECK_FAIL && strstr(checks_find(&cl, "pck.chain")->detail, "expired or not yet valid"),
		   "chain validity is checked at the given time");
		ok(result_of("qe_report.signature") == CHECK_SKIPPED && !checks_ok(&cl),
		   "QE report not trusted without a valid chain");
	}
}

/* Flips one bit at each of `count` offsets spread over [from, to) and
 * expects the named check to fail (and the whole verification). */
static void flip_region(const char *file, const uint8_t *orig, size_t n, const char *region,
			size_t from, size_t to, const char *check, int count, bool pem)
{
	int bad = 0, tried = 0;
	struct tdx_quote q;

	for (int i = 0; i < count; i++) {
		size_t off = from + (to - from - 1) * (size_t)i / (size_t)(count - 1);
		uint8_t bit = (uint8_t)(1u << (i % 8));
		int r;
		if (pem) {
			/* Only base64 payload characters: a flip in a line break or
			 * next to the padding may not change the decoded DER. Move to
			 * the nearest payload character, and flip only into another
			 * base64 letter or digit so the change is in the data. */
			while (off < to && !((orig[off] >= 'A' && orig[off] <= 'Z') ||
					     (orig[off] >= 'a' && orig[off] <= 'z')))
				off++;
			if (off + 2 >= to || orig[off + 1] == '=' || orig[off + 2] == '=' ||
			    orig[off + 1] == '\n' || orig[off - 1] == '\n')
				continue;
			{
				/* not in a "-----BEGIN/END CERTIFICATE-----" line */
				size_t ls = off;
				while (ls > from && orig[ls - 1] != '\n')
					ls--;
				if (orig[ls] == '-')
					continue;
			}
			bit = 0x20;  /* toggles letter case: another valid base64 digit */
		}
		memcpy(work, orig, n);
		work[off] ^= bit;
		tried++;
		r = verify(work, n, T_2026_06_01, false, &q);
		if (r == -1000 || result_of(check) != CHECK_FAIL || checks_ok(&cl)) {
			bad++;
			diag("%s: flip %s[%zu] bit 0x%02x: %s", file, region, off - from, bit,
			     r == -1000 ? err : "named check did not fail");
			dump_checks();
		}
	}
	ok(bad == 0 && tried >= count / 2, "%s: %d flips in %s each fail %s", file, tried, region, check);
}

static void test_flips(void)
{
	for (size_t k = 0; k < sizeof(quotes) / sizeof(quotes[0]); k++) {
		long n = td_load(quotes[k], buf, sizeof(buf));
		struct tdx_quote q;
		size_t hdr_end, body_at, sig, key, qer, qes, auth, pem;

		if (n < 0 || tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err)))
			continue;
		body_at = tdx_quote_off(&q, q.body);
		hdr_end = 48;
		sig = tdx_quote_off(&q, q.signature);
		key = tdx_quote_off(&q, q.attest_key);
		qer = tdx_quote_off(&q, q.qe_report);
		qes = tdx_quote_off(&q, q.qe_report_sig);
		auth = tdx_quote_off(&q, q.qe_auth);
		pem = tdx_quote_off(&q, q.inner_cert);
		/* Header: the fields after version, key type and TEE type (those
		 * are refused by the parser, tested in test_tdx_quote). */
		flip_region(quotes[k], buf, (size_t)n, "header", 8, hdr_end, "quote.signature", 16, false);
		flip_region(quotes[k], buf, (size_t)n, "body", body_at, body_at + q.body_len, "quote.signature", 40, false);
		flip_region(quotes[k], buf, (size_t)n, "signature", sig, sig + 64, "quote.signature", 16, false);
		flip_region(quotes[k], buf, (size_t)n, "attestation key", key, key + 64,
			    "qe_report.binds_attestation_key", 16, false);
		flip_region(quotes[k], buf, (size_t)n, "QE report", qer, qer + 384, "qe_report.signature", 24, false);
		flip_region(quotes[k], buf, (size_t)n, "QE report signature", qes, qes + 64, "qe_report.signature", 16, false);
		flip_region(quotes[k], buf, (size_t)n, "QE auth data", auth, auth + q.qe_auth_len,
			    "qe_report.binds_attestation_key", 16, false);
		flip_region(quotes[k], buf, (size_t)n, "PCK chain", pem, pem + q.inner_cert_len, "pck.chain", 40, true);
	}
}

/* The chain must end in the compiled-in root itself. */
static void test_root_rule(void)
{
	static struct x509_chain ch;
	static struct x509_anchor roots[2];
	static uint8_t fake_root[1024];
	uint8_t pub[65];
	struct tdx_quote q;
	long n = td_load(quotes[0], buf, sizeof(buf));

	if (n < 0 || tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err)))
		return;
	ok(x509_anchor_init(&roots[0], intel_sgx_root_ca_der, intel_sgx_root_ca_der_len, err, sizeof(err)) == 0 &&
	   x509_anchor_init(&roots[1], forged_root_der, sizeof(forged_root_der), err, sizeof(err)) == 0,
	   "the Intel root and the TEST root decode as anchors");
	is_int(x509_chain_from_pem(&ch, (const char *)q.inner_cert, q.inner_cert_len, err, sizeof(err)), 3,
	       "PCK chain has 3 certificates");
	ok(x509_chain_verify(&ch, roots, 1, T_2026_06_01, pub, err, sizeof(err)) == 0 && pub[0] == 4, "chain verifies");
	ok(ch.cert[2].len == intel_sgx_root_ca_der_len &&
	   memcmp(ch.cert[2].der, intel_sgx_root_ca_der, intel_sgx_root_ca_der_len) == 0,
	   "its root is byte for byte the compiled-in root");

	/* Same DN and key, different bytes (a flipped signature bit): BearSSL
	 * alone would accept it, since it stops at the intermediate. */
	memcpy(fake_root, ch.cert[2].der, ch.cert[2].len);
	fake_root[ch.cert[2].len - 3] ^= 1;
	ch.cert[2].der = fake_root;
	ok(x509_chain_verify(&ch, roots, 1, T_2026_06_01, pub, err, sizeof(err)) == -EACCES &&
	   strstr(err, "not the compiled-in Intel SGX Root CA"), "a different root is refused: %s", err);
	ch.n = 2;
	ok(x509_chain_verify(&ch, roots, 1, T_2026_06_01, pub, err, sizeof(err)) == -EACCES,
	   "a chain without the root is refused: %s", err);
	ch.n = 1;
	ok(x509_chain_verify(&ch, roots, 1, T_2026_06_01, pub, err, sizeof(err)) == -EINVAL, "a lone leaf is refused");
	ok(x509_chain_from_pem(&ch, "no pem here", 11, err, sizeof(err)) == -EINVAL, "text without PEM refused");

	/* The TEST chain validates to its own root only when that is given,
	 * and the index says which root it ended in. */
	ok(x509_chain_from_pem(&ch, forged_pck_chain_pem, sizeof(forged_pck_chain_pem) - 1, err, sizeof(err)) == 3,
	   "TEST PCK chain decodes");
	ok(x509_chain_verify(&ch, roots, 1, T_2026_06_01, pub, err, sizeof(err)) == -EACCES,
	   "with the Intel root alone it is refused: %s", err);
	is_int(x509_chain_verify(&ch, roots, 2, T_2026_06_01, pub, err, sizeof(err)), 1,
	       "with both roots it validates to root 1, the TEST root");
}

/* A quote as a platform certified by the TEST PKI would make it: header and
 * TD report of the real v4 quote, a fresh attestation key (the sim test
 * key), the real QE report edited by `edit` and bound to that key, signed
 * by the TEST PCK leaf, which carries the real leaf's SGX extension. With
 * edit = NULL the QE is Intel's TD QE; an edit of MRSIGNER is a host's own
 * enclave that got a PCK-signed report. vendor, when not NULL, replaces
 * the header's QE vendor ID. Returns the length, 0 on error. */
static size_t build_forged(uint8_t *out, size_t cap, const struct tdx_quote *real,
			   void (*edit)(uint8_t *qe_report), const uint8_t *vendor)
{
	br_ec_private_key ak = { BR_EC_secp256r1, (unsigned char *)td_sim_priv, 32 };
	br_ec_private_key pck = { BR_EC_secp256r1, (unsigned char *)forged_pck_leaf_priv, 32 };
	const br_ec_impl *ec = br_ec_get_default();
	static const uint8_t auth[32] = { 0xa5, 0x01 };
	size_t pem_len = sizeof(forged_pck_chain_pem) - 1;
	size_t cert_len = 384 + 64 + 2 + sizeof(auth) + 6 + pem_len;
	size_t sig_len = 64 + 64 + 6 + cert_len;
	size_t at = real->signed_len, qe;
	uint8_t pub[BR_EC_KBUF_PUB_MAX_SIZE], h[32];
	br_sha256_context c;

	if (at + 4 + sig_len > cap || br_ec_compute_pub(ec, NULL, pub, &ak) != 65)
		return 0;
	memcpy(out, real->signed_region, at);
	if (vendor)
		memcpy(out + 12, vendor, 16);
	put_le32(out + at, (uint32_t)sig_len);
	at += 4;
	memcpy(out + at + 64, pub + 1, 64);               /* attestation key */
	put_le16(out + at + 128, TDX_CERT_TYPE_QE_REPORT);
	put_le32(out + at + 130, (uint32_t)cert_len);
	qe = at + 134;
	memcpy(out + qe, real->qe_report, 384);
	if (edit)
		edit(out + qe);
	br_sha256_init(&c);
	br_sha256_update(&c, pub + 1, 64);
	br_sha256_update(&c, auth, sizeof(auth));
	br_sha256_out(&c, out + qe + SGX_REPORT_OFF_REPORT_DATA);
	memset(out + qe + SGX_REPORT_OFF_REPORT_DATA + 32, 0, 32);
	put_le16(out + qe + 448, sizeof(auth));
	memcpy(out + qe + 450, auth, sizeof(auth));
	put_le16(out + qe + 450 + sizeof(auth), TDX_CERT_TYPE_PCK_CHAIN);
	put_le32(out + qe + 452 + sizeof(auth), (uint32_t)pem_len);
	memcpy(out + qe + 456 + sizeof(auth), forged_pck_chain_pem, pem_len);
	/* QE report signed by the PCK leaf, quote by the attestation key. */
	br_sha256_init(&c);
	br_sha256_update(&c, out + qe, 384);
	br_sha256_out(&c, h);
	if (br_ecdsa_i31_sign_raw(ec, &br_sha256_vtable, h, &pck, out + qe + 384) != 64)
		return 0;
	br_sha256_init(&c);
	br_sha256_update(&c, out, real->signed_len);
	br_sha256_out(&c, h);
	if (br_ecdsa_i31_sign_raw(ec, &br_sha256_vtable, h, &ak, out + at) != 64)
		return 0;
	return at + sig_len;
}

static void own_signer(uint8_t *r) { r[SGX_REPORT_OFF_MRSIGNER + 5] ^= 0x40; }
static void other_product(uint8_t *r) { r[SGX_REPORT_OFF_ISVPRODID] = 1; }
static void misc_bit(uint8_t *r) { r[SGX_REPORT_OFF_MISCSELECT] |= 0x01; }
static void debug_qe(uint8_t *r) { r[SGX_REPORT_OFF_ATTRIBUTES] |= 0x02; }
/* Bit 2 of the attributes (MODE64BIT) is outside Intel's mask. */
static void unmasked_bit(uint8_t *r) { r[SGX_REPORT_OFF_ATTRIBUTES] ^= 0x04; }

/* Verifies a forged quote with the TEST root trusted; with collateral
 * `coll_json` evaluated at `at` too, when given. */
static int verify_forged(const uint8_t *q8, size_t n, int64_t at, const char *coll_json, size_t coll_len)
{
	static struct collateral coll;
	static struct collateral_ctx cx;
	struct tdx_verify_opts o = {
		.now = at, .test_root = forged_root_der, .test_root_len = sizeof(forged_root_der),
	};
	struct tdx_quote q;
	int r;

	checks_init(&cl);
	if (tdx_quote_parse(&q, q8, n, err, sizeof(err)))
		return -1000;
	r = tdx_verify_quote(&q, &o, &st, &cl);
	if (coll_json) {
		if (collateral_parse(&coll, coll_json, coll_len, err, sizeof(err)))
			return -1001;
		collateral_check(&cx, &coll, &q, &st, at, &cl);
	}
	return r;
}

/* Every check but `except` passed. */
static bool all_pass_but(const char *except)
{
	for (size_t i = 0; i < cl.n; i++)
		if (cl.c[i].result != CHECK_PASS && strcmp(cl.c[i].name, except) != 0)
			return false;
	return true;
}

static void test_forged_qe(void)
{
	static const struct {
		void (*edit)(uint8_t *);
		const char *what, *why;
	} bad[] = {
		{ own_signer, "a host's own enclave (another MRSIGNER)", "MRSIGNER" },
		{ other_product, "another ISVPRODID of Intel's signer", "ISVPRODID" },
		{ misc_bit, "a MISCSELECT bit", "MISCSELECT" },
		{ debug_qe, "a DEBUG QE (attributes bit 1)", "ATTRIBUTES" },
	};
	static uint8_t forged[1 << 14];
	static char coll[1 << 17];
	struct tdx_quote real, q;
	long n = td_load(quotes[0], buf, sizeof(buf));
	long cn = td_load("dcap-qvl_tdx_quote_v4_collateral.json", coll, sizeof(coll));
	size_t fn;

	if (n < 0 || cn < 0 || tdx_quote_parse(&real, buf, (size_t)n, err, sizeof(err))) {
		ok(0, "v4 quote and collateral load");
		return;
	}
	/* The control: Intel's TD QE on the TEST platform passes every check,
	 * so what fails below fails for the QE identity alone. */
	fn = build_forged(forged, sizeof(forged), &real, NULL, NULL);
	if (!ok(fn > 0 && verify_forged(forged, fn, T_2026_06_01, NULL, 0) == 0 && checks_ok(&cl) &&
		cl.n == 8, "TEST platform, Intel's TD QE: every check passes with the TEST root trusted"))
		dump_checks();
	ok(strstr(checks_find(&cl, "pck.chain")->detail, "TEST root") != NULL,
	   "and pck.chain says it ended in the TEST root");
	ok(verify(forged, fn, T_2026_06_01, false, &q) == -EACCES && result_of("pck.chain") == CHECK_FAIL,
	   "without the TEST root (as in dshield verify) its chain is refused");
	fn = build_forged(forged, sizeof(forged), &real, unmasked_bit, NULL);
	ok(fn > 0 && verify_forged(forged, fn, T_2026_06_01, NULL, 0) == 0 &&
	   result_of("qe_report.identity") == CHECK_PASS, "an attribute bit outside the mask is ignored");
	/* A real quote's header must not name the sim QE. */
	fn = build_forged(forged, sizeof(forged), &real, NULL, (const uint8_t *)TDX_SIM_QE_VENDOR_ID);
	ok(fn > 0 && verify_forged(forged, fn, T_2026_06_01, NULL, 0) == -EACCES &&
	   result_of("quote.qe_vendor") == CHECK_FAIL && all_pass_but("quote.qe_vendor") &&
	   strstr(checks_find(&cl, "quote.qe_vendor")->detail, "sim QE") != NULL,
	   "a real quote whose header names dshield's sim QE fails quote.qe_vendor");

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		const struct check *c;
		fn = build_forged(forged, sizeof(forged), &real, bad[k].edit, NULL);
		ok(fn > 0 && verify_forged(forged, fn, T_2026_06_01, NULL, 0) == -EACCES && !checks_ok(&cl) &&
		   result_of("qe_report.identity") == CHECK_FAIL && all_pass_but("qe_report.identity"),
		   "%s, PCK-signed, no collateral: only qe_report.identity fails", bad[k].what);
		c = checks_find(&cl, "qe_report.identity");
		ok(c && strstr(c->detail, bad[k].why) != NULL, "  naming %s: %s", bad[k].why, c ? c->detail : "");
		ok(verify_forged(forged, fn, T_2025_07_01, coll, (size_t)cn) == -EACCES && !checks_ok(&cl) &&
		   result_of("qe_report.identity") == CHECK_FAIL && result_of("qe_identity") == CHECK_FAIL &&
		   result_of("collateral.qe_identity.signature") == CHECK_PASS,
		   "  with Intel's collateral: qe_report.identity and qe_identity both fail");
	}
}

/* The compiled-in identity against Intel's signed one in the collateral. */
static void test_identity_values(void)
{
	static const char *const files[] = {
		"dcap-qvl_tdx_quote_v4_collateral.json", "dcap-qvl_tdx_quote_v5_outdated_collateral.json",
	};
	static char coll[1 << 17], doc[1 << 15];
	static jsmntok_t t[64], t2[256];

	for (size_t k = 0; k < 2; k++) {
		struct json_doc d, e;
		long n = td_load(files[k], coll, sizeof(coll)), dn;
		uint8_t signer[32];
		char hex[65];
		uint64_t prodid;
		int i;

		ok(n > 0 && json_parse(&d, coll, (size_t)n, t, 64) == 0 &&
		   (dn = json_str(&d, json_get(&d, 0, "qe_identity"), doc, sizeof(doc))) > 0 &&
		   json_parse(&e, doc, (size_t)dn, t2, 256) == 0, "%s: QE identity parses", files[k]);
		i = json_get(&e, 0, "mrsigner");
		hex_encode(hex, tdx_intel_td_qe.mrsigner, 32);
		ok(json_is(&e, i, JSMN_STRING) &&
		   hex_decode(signer, 32, e.js + e.t[i].start, (size_t)(e.t[i].end - e.t[i].start)) == 32 &&
		   memcmp(signer, tdx_intel_td_qe.mrsigner, 32) == 0, "  mrsigner is the compiled-in %s", hex);
		ok(json_uint(&e, json_get(&e, 0, "isvprodid"), 65535, &prodid) == 0 && prodid == 2 &&
		   json_str_eq(&e, json_get(&e, 0, "miscselect"), "00000000") &&
		   json_str_eq(&e, json_get(&e, 0, "miscselectMask"), "FFFFFFFF") &&
		   json_str_eq(&e, json_get(&e, 0, "attributes"), "11000000000000000000000000000000") &&
		   json_str_eq(&e, json_get(&e, 0, "attributesMask"), "FBFFFFFFFFFFFFFF0000000000000000"),
		   "  isvprodid, miscselect(Mask), attributes(Mask) are the compiled-in values");
	}
}

static void test_sim(void)
{
	uint8_t rd[64] = { 0xaa, 0xbb };
	struct tdx_quote q;
	size_t n = td_build_sim_quote(buf, sizeof(buf), rd);

	ok(verify(buf, n, T_2026_06_01, false, &q) == -EACCES && result_of("quote.sim") == CHECK_FAIL &&
	   result_of("quote.signature") == CHECK_PASS && !checks_ok(&cl), "sim quote refused without --allow-sim");
	ok(checks_caveats(&cl) == 0, "a refused sim quote relies on no caveat");
	ok(verify(buf, n, T_2026_06_01, true, &q) == 0 && result_of("quote.sim") == CHECK_PASS &&
	   result_of("sim.key") == CHECK_PASS && result_of("sim.qe_vendor") == CHECK_PASS &&
	   checks_ok(&cl) && !checks_find(&cl, "pck.chain") && !checks_find(&cl, "qe_report.identity"),
	   "sim quote accepted with --allow-sim, no PCK or QE checks claimed");
	ok(checks_caveats(&cl) == CHECK_CAVEAT_SIM, "and the verdict carries the sim caveat");
	ok(strstr(checks_find(&cl, "quote.sim")->detail, "proves nothing") != NULL, "and says it proves nothing");
	memcpy(work, buf, n);
	work[48 + 520] ^= 1;
	ok(verify(work, n, T_2026_06_01, true, &q) == -EACCES && result_of("quote.signature") == CHECK_FAIL,
	   "a modified sim quote fails its signature");
	memcpy(work, buf, n);
	memcpy(work + 12, tdx_intel_qe_vendor_id, 16);
	ok(verify(work, n, T_2026_06_01, true, &q) == -EACCES && result_of("sim.qe_vendor") == CHECK_FAIL,
	   "a sim quote whose header names Intel's QE vendor fails sim.qe_vendor");
	memcpy(work, buf, n);
	work[n - 1] ^= 1;
	ok(verify(work, n, T_2026_06_01, true, &q) == -EACCES && result_of("sim.key") == CHECK_FAIL,
	   "a sim key differing from the attestation key fails sim.key");
	n = td_build_sim_quote_attr(buf, sizeof(buf), rd, 0x01);
	ok(verify(buf, n, T_2026_06_01, true, &q) == -EACCES && result_of("quote.signature") == CHECK_PASS &&
	   result_of("td_attributes.debug") == CHECK_FAIL, "a (validly signed) DEBUG TD quote fails td_attributes.debug");
}

int main(void)
{
	test_sim();
	if (td_skip_if_absent(&tap_count))
		return tap_done();
	test_genuine();
	test_flips();
	test_root_rule();
	test_identity_values();
	test_forged_qe();
	return tap_done();
}
