/* tests/test_tdx_verify.c: offline verification of real quotes to the
 * Intel root, and flipped bits in each region failing the right check. */
#include "crypto/intel_root_ca.h"
#include "crypto/tdx_verify.h"
#include "crypto/x509_chain.h"
#include "cli/quote_input.h"
#include "tests/tap.h"
#include "tests/tdx_testdata.h"

#include <bearssl.h>
#include <errno.h>

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
		"pck.chain", "pck.sgx_extension", "qe_report.signature",
		"qe_report.binds_attestation_key", "quote.signature", "td_attributes.debug",
	};
	struct tdx_quote q;

	for (size_t k = 0; k < sizeof(quotes) / sizeof(quotes[0]); k++) {
		long n = td_load(quotes[k], buf, sizeof(buf));
		int r = verify(buf, (size_t)n, T_2026_06_01, false, &q);
		int all = 1;
		if (!ok(r == 0 && checks_ok(&cl), "%s verifies to the Intel root", quotes[k]))
			dump_checks();
		for (size_t i = 0; i < 6; i++)
			all &= result_of(names[i]) == CHECK_PASS;
		ok(all && cl.n == 6 && st.quote_authentic && st.have_pck_ext,
		   "%s: all six checks ran and passed", quotes[k]);
	}
	/* The dstack fixtures (hex inside JSON) verify too. */
	for (int k = 0; k < 2; k++) {
		const char *f = k ? "dstack_verifier_tdx-lite-getquote.json" : "dstack_verifier_quote-report.json";
		long n = td_load(f, text, sizeof(text));
		ok(n > 0 && quote_input_read(&qi, text, (size_t)n, err, sizeof(err)) == 0 &&
		   verify(qi.quote, qi.quote_len, T_2026_06_01, false, &q) == 0, "%s verifies", f);
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
	static uint8_t fake_root[1024];
	uint8_t pub[65];
	struct tdx_quote q;
	long n = td_load(quotes[0], buf, sizeof(buf));

	if (n < 0 || tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err)))
		return;
	is_int(x509_chain_from_pem(&ch, (const char *)q.inner_cert, q.inner_cert_len, err, sizeof(err)), 3,
	       "PCK chain has 3 certificates");
	ok(x509_chain_verify(&ch, T_2026_06_01, pub, err, sizeof(err)) == 0 && pub[0] == 4, "chain verifies");
	ok(ch.cert[2].len == intel_sgx_root_ca_der_len &&
	   memcmp(ch.cert[2].der, intel_sgx_root_ca_der, intel_sgx_root_ca_der_len) == 0,
	   "its root is byte for byte the compiled-in root");

	/* Same DN and key, different bytes (a flipped signature bit): BearSSL
	 * alone would accept it, since it stops at the intermediate. */
	memcpy(fake_root, ch.cert[2].der, ch.cert[2].len);
	fake_root[ch.cert[2].len - 3] ^= 1;
	ch.cert[2].der = fake_root;
	ok(x509_chain_verify(&ch, T_2026_06_01, pub, err, sizeof(err)) == -EACCES &&
	   strstr(err, "not the compiled-in Intel SGX Root CA"), "a different root is refused: %s", err);
	ch.n = 2;
	ok(x509_chain_verify(&ch, T_2026_06_01, pub, err, sizeof(err)) == -EACCES,
	   "a chain without the root is refused: %s", err);
	ch.n = 1;
	ok(x509_chain_verify(&ch, T_2026_06_01, pub, err, sizeof(err)) == -EINVAL, "a lone leaf is refused");
	ok(x509_chain_from_pem(&ch, "no pem here", 11, err, sizeof(err)) == -EINVAL, "text without PEM refused");
}

static void test_sim(void)
{
	uint8_t rd[64] = { 0xaa, 0xbb };
	struct tdx_quote q;
	size_t n = td_build_sim_quote(buf, sizeof(buf), rd);

	ok(verify(buf, n, T_2026_06_01, false, &q) == -EACCES && result_of("quote.sim") == CHECK_FAIL &&
	   result_of("quote.signature") == CHECK_PASS && !checks_ok(&cl), "sim quote refused without --allow-sim");
	ok(verify(buf, n, T_2026_06_01, true, &q) == 0 && result_of("quote.sim") == CHECK_PASS &&
	   result_of("sim.key") == CHECK_PASS && checks_ok(&cl) && !checks_find(&cl, "pck.chain"),
	   "sim quote accepted with --allow-sim, no PCK checks claimed");
	ok(strstr(checks_find(&cl, "quote.sim")->detail, "proves nothing") != NULL, "and says it proves nothing");
	memcpy(work, buf, n);
	work[48 + 520] ^= 1;
	ok(verify(work, n, T_2026_06_01, true, &q) == -EACCES && result_of("quote.signature") == CHECK_FAIL,
	   "a modified sim quote fails its signature");
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
	return tap_done();
}
