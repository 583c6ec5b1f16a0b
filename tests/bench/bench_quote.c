/* tests/bench/bench_quote.c: quote parse + full offline verification (PCK
 * chain to the Intel root, QE report signature, identity and binding,
 * quote signature) against one raw ECDSA P-256 verification, on the same
 * machine and in the same run; and the collateral evaluation (parse, two
 * signed documents with their chains, TCB and QE identity evaluation, two
 * CRLs) of the same quote. Prints one JSON object:
 *   {"quote_verify_us":…, "ecdsa_verify_us":…, "ratio":…,
 *    "collateral_us":…, "collateral_ratio":…, "iterations":…}
 * The quote and its collateral are dcap-qvl's v4 sample from
 * ../shared/testdata/tdx (or $DSHIELD_TESTDATA); without them, prints null
 * and exits 0. */
#include "crypto/collateral.h"
#include "crypto/ecdsa.h"
#include "crypto/tdx_quote.h"
#include "crypto/tdx_verify.h"
#include "tests/tdx_testdata.h"

#include <time.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16];
	static char js[1 << 17];
	static struct tdx_verify_state st;
	static struct check_list cl;
	static struct collateral coll;
	static struct collateral_ctx cx;
	struct tdx_verify_opts o = { .now = T_2026_06_01 };
	struct tdx_quote q;
	uint8_t pub[65];
	char err[256];
	int iters = argc > 1 ? atoi(argv[1]) : 200;
	long n = td_load("dcap-qvl_tdx_quote_v4.bin", buf, sizeof(buf));
	long cn = td_load("dcap-qvl_tdx_quote_v4_collateral.json", js, sizeof(js));
	double t0, t_quote, t_ecdsa, t_coll;
	volatile int sink = 0;

	if (n < 0 || cn < 0 || iters <= 0) {
		printf("null\n");
		return 0;
	}
	/* Warm up, and make sure what is measured actually succeeds. */
	checks_init(&cl);
	if (tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err)) ||
	    tdx_verify_quote(&q, &o, &st, &cl) != 0) {
		fprintf(stderr, "bench_quote: the sample quote does not verify\n");
		return 1;
	}
	t0 = now_us();
	for (int i = 0; i < iters; i++) {
		checks_init(&cl);
		sink += tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err));
		sink += tdx_verify_quote(&q, &o, &st, &cl);
	}
	t_quote = (now_us() - t0) / iters;

	pub[0] = 4;
	memcpy(pub + 1, q.attest_key, 64);
	t0 = now_us();
	for (int i = 0; i < iters; i++)
		sink += ecdsa_p256_verify_raw(pub, q.signed_region, q.signed_len, q.signature) ? 0 : 1;
	t_ecdsa = (now_us() - t0) / iters;

	/* The collateral at a time inside its window (the quote verified
	 * above at another time: the state only carries what it found). */
	o.now = T_2025_07_01;
	checks_init(&cl);
	tdx_verify_quote(&q, &o, &st, &cl);
	t0 = now_us();
	for (int i = 0; i < iters; i++) {
		checks_init(&cl);
		sink += collateral_parse(&coll, js, (size_t)cn, err, sizeof(err));
		collateral_check(&cx, &coll, &q, &st, T_2025_07_01, &cl);
		sink += checks_ok(&cl) ? 0 : 1;
	}
	t_coll = (now_us() - t0) / iters;
	if (sink != 0) {
		fprintf(stderr, "bench_quote: a verification failed during the run\n");
		return 1;
	}
	printf("{\"quote_verify_us\":%.1f,\"ecdsa_verify_us\":%.1f,\"ratio\":%.2f,"
	       "\"collateral_us\":%.1f,\"collateral_ratio\":%.2f,\"iterations\":%d,"
	       "\"what\":\"parse + PCK chain (3 certs) + QE report sig + identity + binding + quote sig; "
	       "collateral: parse + 2 signed documents with their chains + TCB/QE identity evaluation + 2 CRLs; "
	       "ratios against one raw ECDSA P-256 verify (BearSSL, default EC code)\"}\n",
	       t_quote, t_ecdsa, t_quote / t_ecdsa, t_coll, t_coll / t_ecdsa, iters);
	return 0;
}
