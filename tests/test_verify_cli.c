/* tests/test_verify_cli.c: `dshield verify` as a user runs it: exit
 * statuses (0 all passed, 1 a check failed or was not evaluated, 2
 * usage/unreadable), no verdict without collateral unless --no-collateral
 * accepts it (and then a caveat in the output), sim quotes refused unless
 * --allow-sim, and --json printing exactly one object of the documented
 * shape. Output is captured in a temporary file. */
#include "cli/quote_input.h"
#include "cli/verify.h"
#include "lib/json_tok.h"
#include "crypto/tdx_quote.h"
#include "lib/hex.h"
#include "tests/run_capture.h"
#include "tests/tap.h"
#include "tests/tdx_testdata.h"

#include <fcntl.h>

static char out[1 << 18];
static char path_tmp[] = "/tmp/dshield-test-verify-XXXXXX";
static char sim_path[4096], meas_path[4096];
static struct quote_input g_qi;

/* Runs cmd_verify with stdout (and stderr) sent to a file; the output is
 * left in out[]. Returns the exit status. */
static int run(int argc, const char **argv)
{
	return run_captured(cmd_verify, argc, argv, path_tmp, out, sizeof out);
}

static const char *tdpath(const char *name)
{
	static char p[16][4352];
	static int k;
	k = (k + 1) % 16;
	snprintf(p[k], sizeof(p[k]), "%s/%s", td_dir(), name);
	return p[k];
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

static void test_sim(void)
{
	static uint8_t q[4096];
	uint8_t rd[64] = { 0x12, 0x34 };
	size_t n = td_build_sim_quote(q, sizeof(q), rd);
	const char *a1[] = { "verify", sim_path };
	const char *a2[] = { "verify", "--allow-sim", "--no-collateral", "--report-data", "1234", sim_path };
	const char *a3[] = { "verify", "--allow-sim", "--no-collateral", "--report-data", "1235", sim_path };
	const char *a4[] = { "verify", "--json", sim_path };
	const char *a5[] = { "verify", "--allow-sim", "--report-data", "1234", sim_path };
	const char *a6[] = { "verify", "--json", "--allow-sim", "--no-collateral", sim_path };

	write_file(sim_path, q, n);
	is_int(run(2, a1), 1, "sim quote: exit 1 without --allow-sim");
	ok(strstr(out, "fail    quote.sim") != NULL, "and quote.sim is the failed check");
	is_int(run(6, a2), 0, "sim quote with --allow-sim --no-collateral and the right report data: exit 0");
	ok(strstr(out, "SIMULATED") != NULL, "the summary marks it SIMULATED");
	ok(strstr(out, "caveat: sim quote") && strstr(out, "caveat: no collateral"),
	   "and names both caveats it accepted");
	is_int(run(6, a3), 1, "wrong --report-data: exit 1");
	is_int(run(5, a5), 1, "--allow-sim alone: exit 1, a sim quote has no collateral either");
	ok(strstr(out, "collateral: no collateral: TCB status and revocation not evaluated; give --collateral FILE, or --no-collateral") != NULL,
	   "  saying what was not evaluated and which flag accepts it");
	is_int(run(5, a6), 0, "--json --allow-sim --no-collateral: exit 0");
	{
		jsmntok_t t[512];
		struct json_doc d;
		int cav;
		ok(json_parse(&d, out, strlen(out), t, 512) == 0 &&
		   json_is(&d, (cav = json_get(&d, 0, "caveats")), JSMN_ARRAY) && d.t[cav].size == 2 &&
		   json_str_eq(&d, json_elem(&d, cav, 0), "no collateral: TCB status and revocation not evaluated") &&
		   json_str_eq(&d, json_elem(&d, cav, 1),
			       "sim quote: signed by a simulation key, proves nothing about TDX hardware"),
		   "  \"caveats\" lists no collateral and sim");
	}
	is_int(run(3, a4), 1, "--json sim quote: exit 1");
	{
		jsmntok_t t[512];
		struct json_doc d;
		int chk;
		ok(json_parse(&d, out, strlen(out), t, 512) == 0 && json_is(&d, 0, JSMN_OBJECT),
		   "--json prints exactly one JSON object");
		ok(json_is(&d, json_get(&d, 0, "ok"), JSMN_PRIMITIVE) &&
		   memcmp(out + d.t[json_get(&d, 0, "ok")].start, "false", 5) == 0, "\"ok\": false");
		ok(json_str_eq(&d, json_get(&d, json_get(&d, 0, "quote"), "backend"), "sim"),
		   "\"quote\".\"backend\": \"sim\"");
		chk = json_get(&d, 0, "checks");
		ok(json_is(&d, chk, JSMN_ARRAY) && d.t[chk].size >= 3 &&
		   json_str_eq(&d, json_get(&d, json_elem(&d, chk, 1), "name"), "quote.sim") &&
		   json_str_eq(&d, json_get(&d, json_elem(&d, chk, 1), "result"), "fail"),
		   "checks[1] is quote.sim: fail");
	}
}

/* A real quote: without collateral no verdict unless --no-collateral. */
static void test_no_collateral(void)
{
	static const char *const quotes[] = {
		"dcap-qvl_tdx_quote_v4.bin", "dcap-qvl_tdx_quote_v5_outdated.bin",
		"go-tdx-guest_cos-113-tdx-quote.bin", "go-tdx-guest_quote_v5_sample.bin",
	};
	const char *both[] = { "verify", "--no-collateral", "--collateral",
			       tdpath("dcap-qvl_tdx_quote_v4_collateral.json"), tdpath(quotes[0]) };

	for (size_t k = 0; k < sizeof(quotes) / sizeof(quotes[0]); k++) {
		const char *plain[] = { "verify", "--at", "1780272000", tdpath(quotes[k]) };
		const char *nocoll[] = { "verify", "--at", "1780272000", "--no-collateral", tdpath(quotes[k]) };
		const char *js[] = { "verify", "--json", "--at", "1780272000", "--no-collateral", tdpath(quotes[k]) };
		jsmntok_t t[512];
		struct json_doc d;
		int cav, ok_at;

		is_int(run(4, plain), 1, "%s without --collateral: exit 1", quotes[k]);
		ok(strstr(out, "result: FAILED, 0 check(s) failed, 1 not evaluated") &&
		   strstr(out, "TCB status and revocation not evaluated"),
		   "  no check failed, but TCB status and revocation were not evaluated");
		is_int(run(5, nocoll), 0, "  with --no-collateral: exit 0");
		ok(strstr(out, "caveat: no collateral: TCB status and revocation not evaluated (accepted by --no-collateral)") &&
		   strstr(out, "[accepted]"), "  the summary names the caveat");
		is_int(run(6, js), 0, "  --json --no-collateral: exit 0");
		ok(json_parse(&d, out, strlen(out), t, 512) == 0 &&
		   (ok_at = json_get(&d, 0, "ok")) > 0 && memcmp(out + d.t[ok_at].start, "true", 4) == 0 &&
		   json_is(&d, (cav = json_get(&d, 0, "caveats")), JSMN_ARRAY) && d.t[cav].size == 1 &&
		   json_str_eq(&d, json_elem(&d, cav, 0), "no collateral: TCB status and revocation not evaluated"),
		   "  \"ok\": true and \"caveats\": [\"no collateral: TCB status and revocation not evaluated\"]");
	}
	is_int(run(5, both), 2, "--collateral with --no-collateral: usage error, exit 2");
}

/* measurements.json given with a null value: nothing to compare, so the
 * verdict fails; with every value present it passes. */
static void test_measurements_null(const char **argv)
{
	static char js[1 << 16], m[1024];
	struct quote_input *in = &g_qi;
	struct tdx_quote q;
	char h[3][97], err[256];
	long n = td_load("dstack_verifier_tdx-lite-getquote.json", js, sizeof(js));

	if (n < 0 || quote_input_read(in, js, (size_t)n, err, sizeof(err)) ||
	    tdx_quote_parse(&q, in->quote, in->quote_len, err, sizeof(err))) {
		ok(0, "tdx-lite fixture parses: %s", err);
		return;
	}
	hex_encode(h[0], q.mrtd, 48);
	hex_encode(h[1], q.rtmr[1], 48);
	hex_encode(h[2], q.rtmr[2], 48);
	snprintf(m, sizeof(m), "{\"version\":1,\"mrtd\":\"%s\",\"rtmr1\":\"%s\",\"rtmr2\":\"%s\"}",
		 h[0], h[1], h[2]);
	write_file(meas_path, m, strlen(m));
	is_int(run(7, argv), 0, "--measurements equal to the quote's MRTD, RTMR1, RTMR2: exit 0");
	snprintf(m, sizeof(m), "{\"version\":1,\"mrtd\":\"%s\",\"rtmr1\":null,\"rtmr2\":\"%s\"}", h[0], h[2]);
	write_file(meas_path, m, strlen(m));
	is_int(run(7, argv), 1, "the same with \"rtmr1\": null: exit 1 (given, and not comparable)");
	ok(strstr(out, "skipped measurements.rtmr1") && strstr(out, "measurements.rtmr1: not evaluated"),
	   "  measurements.rtmr1 is skipped and named as not evaluated");
}

static void test_real(void)
{
	const char *a1[] = { "verify", "--at", "2025-07-01T00:00:00Z", "--collateral",
			     tdpath("dcap-qvl_tdx_quote_v4_collateral.json"), tdpath("dcap-qvl_tdx_quote_v4.bin") };
	const char *a2[] = { "verify", "--at", "2025-09-01T00:00:00Z", "--collateral",
			     tdpath("dcap-qvl_tdx_quote_v4_collateral.json"), tdpath("dcap-qvl_tdx_quote_v4.bin") };
	const char *a3[] = { "verify", "--json", tdpath("dcap-qvl_sgx_quote_v3.bin") };
	const char *a4[] = { "verify", "--at", "1780272000", "--no-collateral", "--event-log",
			     tdpath("go-tdx-guest_ccel_data.bin"), tdpath("go-tdx-guest_cos-113-tdx-quote.bin") };
	const char *a5[] = { "verify", "--at", "1780272000", "--no-collateral", tdpath("dstack_verifier_quote-report.json") };
	const char *a6[] = { "verify", "--at", "1780272000", "--no-collateral", "--measurements", meas_path,
			     tdpath("dstack_verifier_tdx-lite-getquote.json") };
	const char *a7[] = { "verify", "/nonexistent/quote" };
	const char *a8[] = { "verify", "--bogus", "x" };
	const char *a9[] = { "verify", "--at", "yesterday", "x" };

	is_int(run(6, a1), 0, "v4 quote + collateral inside its window: exit 0");
	ok(strstr(out, "pass    tcb.status") && strstr(out, "UpToDate"), "summary says UpToDate");
	is_int(run(6, a2), 1, "the same after nextUpdate: exit 1");
	is_int(run(3, a3), 1, "SGX quote: exit 1");
	ok(strstr(out, "\"quote\":null") && strstr(out, "is SGX"), "--json: quote null and the reason");
	is_int(run(7, a4), 0, "go-tdx-guest quote + its CCEL log, --no-collateral: exit 0");
	ok(strstr(out, "pass    event_log.rtmr0") && strstr(out, "pass    event_log.rtmr2"),
	   "CCEL replay matches RTMR0..2");
	ok(!strstr(out, "event_log.rtmr3") && strstr(out, "no event for RTMR3 (not covered by this log)"),
	   "RTMR3, which the log has no event for, gets no check; the parse detail says so");
	is_int(run(5, a5), 0, "dstack fixture (quote, event log, report data in JSON), --no-collateral: exit 0");
	ok(strstr(out, "pass    event_log.rtmr3") && strstr(out, "pass    report_data.input"),
	   "its runtime events replay to RTMR3 and its report data matches");
	{
		/* measurements.json from the dstack tdx-lite fixture's own values:
		 * MRTD and RTMR1 right, RTMR2 wrong. */
		static const char m[] =
			"{\"version\":1,"
			"\"mrtd\":\"fd685522ce791dfef67414614eb07d03fc07a32c5a66f36288b329dab92b724b1564c73d436ffb9ea84488c51ac5a1c5\","
			"\"rtmr1\":null,"
			"\"rtmr2\":\"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\"}";
		write_file(meas_path, m, sizeof(m) - 1);
		is_int(run(7, a6), 1, "--measurements with a wrong RTMR2: exit 1");
		ok(strstr(out, "pass    measurements.mrtd") && strstr(out, "skipped measurements.rtmr1") &&
		   strstr(out, "fail    measurements.rtmr2"), "MRTD pass, null skipped, RTMR2 fail");
	}
	test_measurements_null(a6);
	test_no_collateral();
	is_int(run(2, a7), 2, "unreadable QUOTE: exit 2");
	is_int(run(3, a8), 2, "unknown option: exit 2");
	is_int(run(4, a9), 2, "bad --at: exit 2");
}

int main(void)
{
	int fd = mkstemp(path_tmp);
	if (fd < 0)
		return 1;
	close(fd);
	snprintf(sim_path, sizeof(sim_path), "%s.sim", path_tmp);
	snprintf(meas_path, sizeof(meas_path), "%s.json", path_tmp);
	test_sim();
	if (!td_skip_if_absent(&tap_count))
		test_real();
	unlink(path_tmp);
	unlink(sim_path);
	unlink(meas_path);
	return tap_done();
}
