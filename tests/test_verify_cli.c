/* tests/test_verify_cli.c: `dshield verify` as a user runs it: exit
 * statuses (0 all passed, 1 a check failed, 2 usage/unreadable), sim
 * quotes refused unless --allow-sim, and --json printing exactly one
 * object of the documented shape. Output is captured in a temporary file. */
#include "cli/verify.h"
#include "lib/json_tok.h"
#include "tests/tap.h"
#include "tests/tdx_testdata.h"

#include <fcntl.h>

static char out[1 << 18];
static char path_tmp[] = "/tmp/dshield-test-verify-XXXXXX";
static char sim_path[4096], meas_path[4096];

/* Runs cmd_verify with stdout (and stderr) sent to a file; the output is
 * left in out[]. Returns the exit status. */
static int run(int argc, const char **argv)
{
	int fd, saved_out, saved_err, r;
	ssize_t n;

	fflush(stdout);
	fd = open(path_tmp, O_RDWR | O_TRUNC | O_CLOEXEC);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	r = cmd_verify(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return r;
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
	const char *a2[] = { "verify", "--allow-sim", "--report-data", "1234", sim_path };
	const char *a3[] = { "verify", "--allow-sim", "--report-data", "1235", sim_path };
	const char *a4[] = { "verify", "--json", sim_path };

	write_file(sim_path, q, n);
	is_int(run(2, a1), 1, "sim quote: exit 1 without --allow-sim");
	ok(strstr(out, "fail    quote.sim") != NULL, "and quote.sim is the failed check");
	is_int(run(5, a2), 0, "sim quote with --allow-sim and the right report data: exit 0");
	ok(strstr(out, "SIMULATED") != NULL, "the summary marks it SIMULATED");
	is_int(run(5, a3), 1, "wrong --report-data: exit 1");
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

static void test_real(void)
{
	const char *a1[] = { "verify", "--at", "2025-07-01T00:00:00Z", "--collateral",
			     tdpath("dcap-qvl_tdx_quote_v4_collateral.json"), tdpath("dcap-qvl_tdx_quote_v4.bin") };
	const char *a2[] = { "verify", "--at", "2025-09-01T00:00:00Z", "--collateral",
			     tdpath("dcap-qvl_tdx_quote_v4_collateral.json"), tdpath("dcap-qvl_tdx_quote_v4.bin") };
	const char *a3[] = { "verify", "--json", tdpath("dcap-qvl_sgx_quote_v3.bin") };
	const char *a4[] = { "verify", "--at", "1780272000", "--event-log", tdpath("go-tdx-guest_ccel_data.bin"),
			     tdpath("go-tdx-guest_cos-113-tdx-quote.bin") };
	const char *a5[] = { "verify", "--at", "1780272000", tdpath("dstack_verifier_quote-report.json") };
	const char *a6[] = { "verify", "--at", "1780272000", "--measurements", meas_path,
			     tdpath("dstack_verifier_tdx-lite-getquote.json") };
	const char *a7[] = { "verify", "/nonexistent/quote" };
	const char *a8[] = { "verify", "--bogus", "x" };
	const char *a9[] = { "verify", "--at", "yesterday", "x" };

	is_int(run(6, a1), 0, "v4 quote + collateral inside its window: exit 0");
	ok(strstr(out, "pass    tcb.status") && strstr(out, "UpToDate"), "summary says UpToDate");
	is_int(run(6, a2), 1, "the same after nextUpdate: exit 1");
	is_int(run(3, a3), 1, "SGX quote: exit 1");
	ok(strstr(out, "\"quote\":null") && strstr(out, "is SGX"), "--json: quote null and the reason");
	is_int(run(6, a4), 0, "go-tdx-guest quote + its CCEL log: exit 0");
	ok(strstr(out, "pass    event_log.rtmr0") && strstr(out, "pass    event_log.rtmr2"),
	   "CCEL replay matches RTMR0..2");
	is_int(run(4, a5), 0, "dstack fixture (quote, event log, report data in JSON): exit 0");
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
		is_int(run(6, a6), 1, "--measurements with a wrong RTMR2: exit 1");
		ok(strstr(out, "pass    measurements.mrtd") && strstr(out, "skipped measurements.rtmr1") &&
		   strstr(out, "fail    measurements.rtmr2"), "MRTD pass, null skipped, RTMR2 fail");
	}
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
