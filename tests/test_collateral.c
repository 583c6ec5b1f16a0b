/* tests/test_collateral.c: collateral reading, signatures, validity
 * windows and TCB / QE identity evaluation with dcap-qvl's sample
 * collateral; RFC 3339 times and JSON string decoding. */
#include "crypto/collateral.h"
#include "crypto/crl.h"
#include "crypto/der.h"
#include "lib/hex.h"
#include "lib/json_tok.h"
#include "crypto/tcb_eval.h"
#include "crypto/utc_time.h"
#include "tests/tap.h"
#include "tests/tdx_testdata.h"

#include <errno.h>

static uint8_t qbuf[1 << 16];
static char js[1 << 17], js2[1 << 17], err[256];
static struct collateral coll;
static struct collateral_ctx cx;
static struct tcb_eval_ctx ev;
static struct tdx_verify_state st;
static struct check_list cl;

static enum check_result result_of(const char *name)
{
	const struct check *c = checks_find(&cl, name);
	return c ? c->result : (enum check_result)-1;
}

static const char *detail_of(const char *name)
{
	const struct check *c = checks_find(&cl, name);
	return c ? c->detail : "";
}

static void dump_checks(void)
{
	for (size_t i = 0; i < cl.n; i++)
		diag("%s %s: %s", check_result_name(cl.c[i].result), cl.c[i].name, cl.c[i].detail);
}

/* Parses quote `qf`, verifies it and evaluates the collateral JSON in
 * `json` at time `at`. Returns 0 when everything ran. */
static int run(const char *qf, const char *json, size_t len, int64_t at, struct tdx_quote *q)
{
	struct tdx_verify_opts o = { .now = at };
	long n = td_load(qf, qbuf, sizeof(qbuf));
	checks_init(&cl);
	if (n < 0 || tdx_quote_parse(q, qbuf, (size_t)n, err, sizeof(err)))
		return -1;
	tdx_verify_quote(q, &o, &st, &cl);
	if (collateral_parse(&coll, json, len, err, sizeof(err)))
		return -2;
	collateral_check(&cx, &coll, q, &st, at, &cl);
	return 0;
}

static void test_v4(void)
{
	struct tdx_quote q;
	long n = td_load("dcap-qvl_tdx_quote_v4_collateral.json", js, sizeof(js));

	ok(run("dcap-qvl_tdx_quote_v4.bin", js, (size_t)n, T_2025_07_01, &q) == 0, "v4 collateral read");
	if (!ok(checks_ok(&cl), "v4 quote + collateral at 2025-07-01: every check passes"))
		dump_checks();
	ok(result_of("collateral.tcb_info.signature") == CHECK_PASS, "TCB info signature");
	ok(result_of("collateral.qe_identity.signature") == CHECK_PASS, "QE identity signature");
	ok(result_of("tcb.status") == CHECK_PASS && strncmp(detail_of("tcb.status"), "UpToDate", 8) == 0,
	   "TCB status UpToDate: %s", detail_of("tcb.status"));
	ok(result_of("tcb.fmspc") == CHECK_PASS && strstr(detail_of("tcb.fmspc"), "b0c06f000000") != NULL,
	   "FMSPC b0c06f000000 matches the PCK certificate");
	ok(result_of("tcb.tdx_module") == CHECK_PASS && strstr(detail_of("tcb.tdx_module"), "TDX_01") != NULL,
	   "TDX module identity TDX_01");
	ok(result_of("qe_identity") == CHECK_PASS, "QE identity matches: %s", detail_of("qe_identity"));
	ok(result_of("collateral.root_ca_crl") == CHECK_PASS, "root CA CRL: %s", detail_of("collateral.root_ca_crl"));
	ok(result_of("collateral.pck_crl") == CHECK_PASS && strstr(detail_of("collateral.pck_crl"), "44 entries") != NULL,
	   "PCK CRL: %s", detail_of("collateral.pck_crl"));
	ok(result_of("qe_report.identity") == CHECK_PASS, "the compiled-in QE identity agrees with Intel's signed one");

	run("dcap-qvl_tdx_quote_v4.bin", js, (size_t)n, T_2025_08_01, &q);
	ok(result_of("collateral.tcb_info.window") == CHECK_FAIL &&
	   strstr(detail_of("collateral.tcb_info.window"), "expired") != NULL,
	   "after nextUpdate: TCB info expired: %s", detail_of("collateral.tcb_info.window"));
	ok(result_of("collateral.qe_identity.window") == CHECK_FAIL && !checks_ok(&cl),
	   "after nextUpdate: QE identity expired, verification fails");
	ok(result_of("collateral.pck_crl") == CHECK_FAIL && strstr(detail_of("collateral.pck_crl"), "not at") != NULL,
	   "after its nextUpdate: PCK CRL expired");

	run("dcap-qvl_tdx_quote_v4.bin", js, (size_t)n, T_2025_06_01, &q);
	ok(result_of("collateral.tcb_info.window") == CHECK_FAIL &&
	   strstr(detail_of("collateral.tcb_info.window"), "not yet issued") != NULL,
	   "before issueDate: refused");

	/* Exact edges: issueDate is inside, nextUpdate is outside. */
	{
		int64_t issue, next;
		utc_parse("2025-06-19T10:16:03Z", 20, 0, &issue);
		utc_parse("2025-07-19T10:16:03Z", 20, 0, &next);
		run("dcap-qvl_tdx_quote_v4.bin", js, (size_t)n, issue, &q);
		ok(result_of("collateral.tcb_info.window") == CHECK_PASS, "at issueDate: valid");
		run("dcap-qvl_tdx_quote_v4.bin", js, (size_t)n, next, &q);
		ok(result_of("collateral.tcb_info.window") == CHECK_FAIL, "at nextUpdate: expired");
		run("dcap-qvl_tdx_quote_v4.bin", js, (size_t)n, next - 1, &q);
		ok(result_of("collateral.tcb_info.window") == CHECK_PASS, "one second before nextUpdate: valid");
	}

	/* The collateral of another platform does not apply. */
	n = td_load("dcap-qvl_tdx_quote_v5_outdated_collateral.json", js2, sizeof(js2));
	run("dcap-qvl_tdx_quote_v4.bin", js2, (size_t)n, T_2026_03_01, &q);
	ok(result_of("tcb.fmspc") == CHECK_FAIL && !checks_ok(&cl),
	   "v4 quote with the v5 platform's collateral: FMSPC mismatch: %s", detail_of("tcb.fmspc"));
}

static void test_v5(void)
{
	struct tdx_quote q;
	long n = td_load("dcap-qvl_tdx_quote_v5_outdated_collateral.json", js, sizeof(js));

	ok(run("dcap-qvl_tdx_quote_v5_outdated.bin", js, (size_t)n, T_2026_03_01, &q) == 0, "v5 collateral read");
	ok(result_of("quote.signature") == CHECK_PASS && result_of("pck.chain") == CHECK_PASS,
	   "v5 quote itself verifies at 2026-03-01");
	ok(result_of("collateral.tcb_info.signature") == CHECK_PASS &&
	   result_of("collateral.qe_identity.signature") == CHECK_PASS &&
	   result_of("collateral.tcb_info.window") == CHECK_PASS, "v5 collateral signed and in its window");
	ok(result_of("tcb.fmspc") == CHECK_PASS, "v5 FMSPC matches");
	/* Its PCK's SGX TCB component 8 (SEAMLDR ACM) is 3, every level asks
	 * for 5: Intel's rule finds no level, i.e. not an UpToDate platform. */
	ok(result_of("tcb.status") == CHECK_FAIL && !checks_ok(&cl),
	   "the \"outdated\" v5 platform is not accepted: %s", detail_of("tcb.status"));
	ok(result_of("qe_identity") == CHECK_PASS, "its QE identity is fine");
}

/* A changed byte in a signed document or its signature fails that check,
 * and the evaluation of the untrusted document is skipped. */
static void test_tampered(void)
{
	struct tdx_quote q;
	long n = td_load("dcap-qvl_tdx_quote_v4_collateral.json", js, sizeof(js));
	char *p;

	memcpy(js2, js, (size_t)n + 1);
	p = strstr(js2, "OutOfDate");  /* inside the escaped tcb_info string */
	ok(p != NULL, "tcb_info has an OutOfDate level");
	if (p) {
		memcpy(p, "UpToDate ", 9);
		run("dcap-qvl_tdx_quote_v4.bin", js2, (size_t)n, T_2025_07_01, &q);
		ok(result_of("collateral.tcb_info.signature") == CHECK_FAIL && !checks_ok(&cl),
		   "tampered tcb_info fails its signature: %s", detail_of("collateral.tcb_info.signature"));
		ok(result_of("tcb.status") == CHECK_SKIPPED, "tcb.status not evaluated on an unsigned document");
		ok(result_of("collateral.qe_identity.signature") == CHECK_PASS, "QE identity unaffected");
	}
	memcpy(js2, js, (size_t)n + 1);
	p = strstr(js2, "\"isvprodid\\\":2");
	ok(p != NULL, "qe_identity has isvprodid 2");
	if (p) {
		p[13] = '3';
		run("dcap-qvl_tdx_quote_v4.bin", js2, (size_t)n, T_2025_07_01, &q);
		ok(result_of("collateral.qe_identity.signature") == CHECK_FAIL &&
		   result_of("qe_identity") == CHECK_SKIPPED, "tampered qe_identity fails its signature");
	}
	memcpy(js2, js, (size_t)n + 1);
	p = strstr(js2, "\"tcb_info_signature\"");
	if (p) {
		p = strchr(p + 20, '"') + 1;
		*p = *p == '0' ? '1' : '0';
		run("dcap-qvl_tdx_quote_v4.bin", js2, (size_t)n, T_2025_07_01, &q);
		ok(result_of("collateral.tcb_info.signature") == CHECK_FAIL, "changed tcb_info_signature fails");
	}
	/* The QE identity's chain signing the TCB info is fine (same signer);
	 * a TCB info signature by the PCK chain is not. */
	memcpy(js2, js, (size_t)n + 1);
	ok(collateral_parse(&coll, js2, (size_t)n, err, sizeof(err)) == 0, "collateral parses");
	{
		struct tdx_verify_opts o = { .now = T_2025_07_01 };
		long qn = td_load("dcap-qvl_tdx_quote_v4.bin", qbuf, sizeof(qbuf));
		tdx_quote_parse(&q, qbuf, (size_t)qn, err, sizeof(err));
		checks_init(&cl);
		tdx_verify_quote(&q, &o, &st, &cl);
		coll.tcb_chain = (const char *)q.inner_cert;
		coll.tcb_chain_len = q.inner_cert_len;
		collateral_check(&cx, &coll, &q, &st, T_2025_07_01, &cl);
		ok(result_of("collateral.tcb_info.signature") == CHECK_FAIL &&
		   strstr(detail_of("collateral.tcb_info.signature"), "not \"Intel SGX TCB Signing\"") != NULL,
		   "a TCB info chain whose leaf is not the TCB signing certificate is refused");
	}
}

/* Evaluate modified (unsigned) TCB info documents directly, to reach the
 * OutOfDate paths and Intel's TDX module component rule. */
static void test_levels(void)
{
	struct tdx_quote q;
	static char tcb[1 << 15];
	char *p;
	long n = td_load("dcap-qvl_tdx_quote_v4_collateral.json", js, sizeof(js));
	struct json_doc d;
	static jsmntok_t toks[64];
	long tl;

	run("dcap-qvl_tdx_quote_v4.bin", js, (size_t)n, T_2025_07_01, &q);
	json_parse(&d, js, (size_t)n, toks, 64);
	tl = json_str(&d, json_get(&d, 0, "tcb_info"), tcb, sizeof(tcb));
	ok(tl > 1000 && tcb[0] == '{', "tcb_info string decodes to JSON (%ld bytes)", tl);

	/* The first level asks for PCESVN 11 (the PCK's): make it 12, so the
	 * second (OutOfDate, with advisories) is the first that matches. */
	p = strstr(tcb, "\"pcesvn\":11");
	ok(p != NULL, "first level pcesvn 11");
	if (p) {
		memcpy(p, "\"pcesvn\":12", 11);
		checks_init(&cl);
		tcb_eval_tcb_info(&ev, tcb, (size_t)tl, &q, &st, T_2025_07_01, &cl);
		ok(result_of("tcb.status") == CHECK_FAIL && strncmp(detail_of("tcb.status"), "OutOfDate", 9) == 0 &&
		   strstr(detail_of("tcb.status"), "INTEL-SA-00837") != NULL,
		   "lower platform: OutOfDate with advisories: %s", detail_of("tcb.status"));
		memcpy(p, "\"pcesvn\":11", 11);
	}

	/* TEE TCB SVN byte 0 (module SVN 6) below the level's 5 would fail,
	 * but with module major version 1 components 0 and 1 belong to the
	 * module identity: set byte 0 to 4, still UpToDate as a platform, and
	 * the TDX_01 identity grades SVN 4 UpToDate too. */
	memcpy(qbuf, q.buf, q.len);
	{
		struct tdx_quote q2;
		tdx_quote_parse(&q2, qbuf, q.len, err, sizeof(err));
		qbuf[48] = 4;
		checks_init(&cl);
		tcb_eval_tcb_info(&ev, tcb, (size_t)tl, &q2, &st, T_2025_07_01, &cl);
		ok(result_of("tcb.status") == CHECK_PASS, "module SVN graded by the identity, not the level: %s",
		   detail_of("tcb.status"));
		qbuf[48] = 3;  /* TDX_01 grades SVN 2..3 OutOfDate */
		checks_init(&cl);
		tcb_eval_tcb_info(&ev, tcb, (size_t)tl, &q2, &st, T_2025_07_01, &cl);
		ok(result_of("tcb.tdx_module") == CHECK_PASS && result_of("tcb.status") == CHECK_FAIL &&
		   strncmp(detail_of("tcb.status"), "OutOfDate", 9) == 0 &&
		   strstr(detail_of("tcb.status"), "module status folded in") != NULL,
		   "an OutOfDate module makes the platform OutOfDate: %s", detail_of("tcb.status"));
		qbuf[48] = 1;  /* below TDX_01's lowest level (isvsvn 2) */
		checks_init(&cl);
		tcb_eval_tcb_info(&ev, tcb, (size_t)tl, &q2, &st, T_2025_07_01, &cl);
		ok(result_of("tcb.tdx_module") == CHECK_FAIL && result_of("tcb.status") == CHECK_FAIL,
		   "module SVN below every identity level fails: %s", detail_of("tcb.tdx_module"));
		qbuf[48] = 6;
		qbuf[48 + 2] = 1;  /* TDX late microcode SVN below the level's 2 */
		checks_init(&cl);
		tcb_eval_tcb_info(&ev, tcb, (size_t)tl, &q2, &st, T_2025_07_01, &cl);
		ok(result_of("tcb.status") == CHECK_FAIL, "TDX component 2 below every level fails: %s",
		   detail_of("tcb.status"));
		qbuf[48 + 2] = 3;
		qbuf[48 + 64] ^= 1;  /* MRSIGNERSEAM */
		checks_init(&cl);
		tcb_eval_tcb_info(&ev, tcb, (size_t)tl, &q2, &st, T_2025_07_01, &cl);
		ok(result_of("tcb.tdx_module") == CHECK_FAIL, "MRSIGNERSEAM mismatch fails tcb.tdx_module");
	}
}


/* CRLs: structure, entries, signature, tampering. */
static void test_crl(void)
{
	static uint8_t der[1 << 15];
	struct tdx_quote q;
	struct crl crl;
	const uint8_t *serial, *iss, *subj;
	size_t serial_len, iss_len, subj_len;
	uint8_t ca_pub[65];
	struct json_doc d;
	static jsmntok_t toks[64];
	long n = td_load("dcap-qvl_tdx_quote_v4_collateral.json", js, sizeof(js));
	ssize_t dl;
	char *p;

	run("dcap-qvl_tdx_quote_v4.bin", js, (size_t)n, T_2025_07_01, &q);
	json_parse(&d, js, (size_t)n, toks, 64);
	{
		int i = json_get(&d, 0, "pck_crl");
		dl = hex_decode(der, sizeof(der), js + d.t[i].start, (size_t)(d.t[i].end - d.t[i].start));
	}
	ok(dl > 0 && crl_parse(&crl, der, (size_t)dl, err, sizeof(err)) == 0, "PCK CRL parses");
	is_int(crl.n_revoked, 44, "PCK CRL has 44 entries (openssl agrees)");
	ok(crl.this_update == 1750327235 && crl.next_update == 1752919235, "thisUpdate/nextUpdate (UTCTime)");
	ok(x509_cert_ids(st.chain.cert[1].der, st.chain.cert[1].len, &serial, &serial_len, &iss, &iss_len,
			 &subj, &subj_len) == 0 && crl.issuer_len == subj_len &&
	   memcmp(crl.issuer, subj, subj_len) == 0, "issued by the quote's PCK Platform CA");
	ok(x509_cert_pubkey(st.chain.cert[1].der, st.chain.cert[1].len, ca_pub) == 0 && crl_signed_by(&crl, ca_pub),
	   "signed by it");
	ok(x509_cert_ids(st.chain.cert[0].der, st.chain.cert[0].len, &serial, &serial_len, &iss, &iss_len,
			 &subj, &subj_len) == 0 && !crl_lists(&crl, serial, serial_len), "the quote's PCK leaf is not listed");
	{
		/* The first listed serial is found. */
		const uint8_t *e = crl.revoked;
		struct der_tlv ent, s;
		const uint8_t *qq;
		der_expect(&e, crl.revoked + crl.revoked_len, 0x30, &ent);
		qq = ent.p;
		der_expect(&qq, ent.p + ent.len, 0x02, &s);
		ok(crl_lists(&crl, s.p, s.len), "a listed serial is found");
		ok(!crl_lists(&crl, s.p, s.len - 1), "a prefix of it is not");
	}
	der[crl.tbs - der + 40] ^= 1;
	ok(!crl_signed_by(&crl, ca_pub), "a flipped bit in the TBS breaks the CRL signature");
	ok(crl_parse(&crl, der, (size_t)dl - 1, err, sizeof(err)) == -EINVAL, "truncated CRL refused");
	{
		size_t accepted = 0;
		for (ssize_t k = 0; k < dl; k++)
			accepted += crl_parse(&crl, der, (size_t)k, err, sizeof(err)) == 0;
		is_int(accepted, 0, "every strict prefix of the CRL is refused");
	}

	/* In the collateral: a changed hex digit of pck_crl fails the check. */
	memcpy(js2, js, (size_t)n + 1);
	p = strstr(js2, "\"pck_crl\"");
	ok(p != NULL, "collateral has pck_crl");
	if (p) {
		p = strchr(p + 9, '"') + 600;
		*p = *p == '0' ? '1' : '0';
		run("dcap-qvl_tdx_quote_v4.bin", js2, (size_t)n, T_2025_07_01, &q);
		ok(result_of("collateral.pck_crl") == CHECK_FAIL && !checks_ok(&cl),
		   "tampered PCK CRL fails: %s", detail_of("collateral.pck_crl"));
	}
	{
		struct der_tlv t = { .tag = 0x17, .p = (const uint8_t *)"491231235959Z", .len = 13 };
		int64_t v;
		ok(der_time(&t, &v) == 0 && v == 2524607999, "UTCTime 49 is 2049");
		t.p = (const uint8_t *)"500101000000Z";
		ok(der_time(&t, &v) == 0 && v == -631152000, "UTCTime 50 is 1950");
		t.tag = 0x18;
		t.p = (const uint8_t *)"20250619100035Z";
		t.len = 15;
		ok(der_time(&t, &v) == 0 && v == 1750327235, "GeneralizedTime");
	}
}

/* Collateral without a CRL does not say whether a certificate was revoked:
 * that fails the verdict, it is not a skip. */
static void test_missing_crls(void)
{
	static const char *const keys[] = { "\"root_ca_crl\"", "\"pck_crl\"" };
	static const char *const names[] = { "collateral.root_ca_crl", "collateral.pck_crl" };
	struct tdx_quote q;
	long n = td_load("dcap-qvl_tdx_quote_v4_collateral.json", js, sizeof(js));

	for (int k = 0; k < 2; k++) {
		char *p;
		memcpy(js2, js, (size_t)n + 1);
		p = strstr(js2, keys[k]);
		ok(p != NULL, "collateral has %s", keys[k]);
		if (!p)
			continue;
		/* Rename the member ("root_ca_crl" -> "root_ca_xxx"): it is gone. */
		memcpy(p + strlen(keys[k]) - 4, "xxx", 3);
		run("dcap-qvl_tdx_quote_v4.bin", js2, (size_t)n, T_2025_07_01, &q);
		ok(result_of(names[k]) == CHECK_FAIL && !checks_ok(&cl) &&
		   strstr(detail_of(names[k]), "revocation") != NULL,
		   "collateral without %s: %s fails: %s", keys[k], names[k], detail_of(names[k]));
	}
}

/* Intel collateral says nothing about a sim quote: the evaluation the user
 * asked for cannot happen, and no caveat can accept that. */
static void test_sim_collateral(void)
{
	static uint8_t sq[4096];
	uint8_t rd[64] = { 0 };
	struct tdx_verify_opts o = { .now = T_2025_07_01, .allow_sim = true };
	struct tdx_quote q;
	size_t qn = td_build_sim_quote(sq, sizeof(sq), rd);
	long n = td_load("dcap-qvl_tdx_quote_v4_collateral.json", js, sizeof(js));

	checks_init(&cl);
	checks_accept(&cl, CHECK_CAVEAT_NO_COLLATERAL);
	ok(tdx_quote_parse(&q, sq, qn, err, sizeof(err)) == 0 && tdx_verify_quote(&q, &o, &st, &cl) == 0 &&
	   collateral_parse(&coll, js, (size_t)n, err, sizeof(err)) == 0, "sim quote verifies (allowed)");
	collateral_check(&cx, &coll, &q, &st, T_2025_07_01, &cl);
	ok(result_of("collateral") == CHECK_SKIPPED && !check_accepted(&cl, checks_find(&cl, "collateral")) &&
	   !checks_ok(&cl), "Intel collateral with a sim quote: not evaluated and not acceptable");
}

static void test_parse_errors(void)
{
	ok(collateral_parse(&coll, "[]", 2, err, sizeof(err)) == -EINVAL, "array refused");
	ok(collateral_parse(&coll, "{\"tcb_info\":\"{}\"}", 17, err, sizeof(err)) == -EINVAL &&
	   strstr(err, "missing") != NULL, "missing members named: %s", err);
	{
		static const char j[] = "{\"tcb_info\":\"{}\",\"tcb_info_issuer_chain\":\"\",\"qe_identity\":\"{}\","
					"\"qe_identity_issuer_chain\":\"\",\"tcb_info_signature\":\"00\","
					"\"qe_identity_signature\":\"00\"}";
		ok(collateral_parse(&coll, j, sizeof(j) - 1, err, sizeof(err)) == -EINVAL &&
		   strstr(err, "128 hex digits") != NULL, "short signature refused: %s", err);
	}
}

static void test_time(void)
{
	int64_t t;
	char s[32];
	ok(utc_parse("1970-01-01T00:00:00Z", 20, 0, &t) == 0 && t == 0, "epoch");
	ok(utc_parse("2025-07-01T00:00:00Z", 20, 0, &t) == 0 && t == T_2025_07_01, "2025-07-01");
	ok(utc_parse("2024-02-29T12:34:56.789+02:00", 29, 0, &t) == 0 && t == 1709202896, "offset and fraction");
	ok(utc_parse("2023-02-29T00:00:00Z", 20, 0, &t) == -EINVAL, "no 29 February in 2023");
	ok(utc_parse("2025-07-01 00:00:00Z", 20, 0, &t) == -EINVAL, "space instead of T refused");
	ok(utc_parse("1751328000", 10, 1, &t) == 0 && t == T_2025_07_01, "unix seconds when allowed");
	ok(utc_parse("1751328000", 10, 0, &t) == -EINVAL, "unix seconds refused when not allowed");
	utc_format(s, sizeof(s), 1709210096);
	is_str(s, "2024-02-29T12:34:56Z", "format");
	utc_format(s, sizeof(s), T_2026_06_01);
	is_str(s, "2026-06-01T00:00:00Z", "format 2026");
}

static void test_json(void)
{
	static const char j[] = "{\"a\":\"x\\\"y\\u00e9\\ud83d\\ude00\\n\",\"b\":[1,{\"c\":2}],\"d\":7}";
	jsmntok_t t[32];
	struct json_doc d;
	char out[64];
	uint64_t v;

	ok(json_parse(&d, j, sizeof(j) - 1, t, 32) == 0, "JSON parses");
	ok(json_str(&d, json_get(&d, 0, "a"), out, sizeof(out)) == 10 &&
	   memcmp(out, "x\"y\xc3\xa9\xf0\x9f\x98\x80\n", 10) == 0, "escapes decoded to UTF-8");
	ok(json_uint(&d, json_get(&d, 0, "d"), 100, &v) == 0 && v == 7, "member after an array found");
	ok(json_uint(&d, json_get(&d, json_elem(&d, json_get(&d, 0, "b"), 1), "c"), 100, &v) == 0 && v == 2,
	   "nested member");
	ok(json_parse(&d, "{} {}", 5, t, 32) == -EINVAL, "two values refused");
	ok(json_parse(&d, "{\"a\":\"\\ud800\"}", 14, t, 32) == 0 &&
	   json_str(&d, 2, out, sizeof(out)) == -1, "lone surrogate refused");
	ok(json_parse(&d, "[1,2,3]", 7, t, 2) == -E2BIG, "too many tokens reported");
}

int main(void)
{
	test_time();
	test_json();
	test_parse_errors();
	if (td_skip_if_absent(&tap_count))
		return tap_done();
	test_v4();
	test_v5();
	test_tampered();
	test_levels();
	test_crl();
	test_missing_crls();
	test_sim_collateral();
	return tap_done();
}
