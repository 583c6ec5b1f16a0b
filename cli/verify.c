/* cli/verify.c: `dshield verify`, offline verification of a TDX quote.
 *
 * dshield verify [--json] [--allow-sim] [--collateral FILE | --no-collateral]
 *                [--at TIME] [--event-log FILE] [--measurements FILE]
 *                [--report-data HEX] [--tls-cert FILE | --tls-url URL] QUOTE
 *
 * Every step is a named check (crypto/checks.h). The exit status is 0 only
 * when every check passed and nothing the verdict depends on was left out
 * unless a flag accepted it: without --collateral, TCB status and
 * revocation are not evaluated, and only --no-collateral accepts that (the
 * output then names the caveat). 1 when a check failed or was not
 * evaluated, 2 on usage errors or unreadable files. docs/VERIFY.md
 * explains each check.
 */
#include "cli/verify.h"
#include "crypto/checkpoint.h"
#include "crypto/note.h"
#include "crypto/reportdata.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/quote_input.h"
#include "cli/tls_pin.h"
#include "crypto/checks.h"
#include "crypto/collateral.h"
#include "crypto/eventlog.h"
#include "lib/json_tok.h"
#include "crypto/tdx_quote.h"
#include "crypto/tdx_verify.h"
#include "crypto/utc_time.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/jsonw.h"

#define FILE_MAX (4u << 20)
/* an attestation document with a full runtime log and the largest quote */
_Static_assert(FILE_MAX >= QI_EVENTLOG_MAX + 2 * QI_QUOTE_MAX, "a whole document fits");


/* Large state lives in static storage: this is a one-shot host command. */
static struct quote_input g_in;
static struct collateral g_coll;
static struct collateral_ctx g_cx;
static struct tdx_verify_state g_st;
static struct check_list g_checks;
static char g_file[FILE_MAX + 1];
static char g_collfile[FILE_MAX + 1];
static uint8_t g_log[FILE_MAX];
/* Where the text report goes: stdout, or stderr under `dshield log verify`. */
static FILE *g_out;

static int verify_usage(FILE *f)
{
	fprintf(f,
		"usage: dshield verify [--json] [--allow-sim] [--collateral FILE | --no-collateral]\n"
		"                      [--at TIME] [--event-log FILE] [--measurements FILE]\n"
		"                      [--report-data HEX] [--tls-cert FILE | --tls-url URL] QUOTE\n"
		"\n"
		"QUOTE: a binary or hex TDX quote, or the JSON of GET /v1/attestation\n"
		"(or a dstack verifier fixture). TIME: RFC 3339 (2025-07-01T00:00:00Z)\n"
		"or unix seconds; default now. Without --collateral the verdict fails\n"
		"(TCB status and revocation not evaluated) unless --no-collateral\n"
		"accepts that. --tls-cert FILE (PEM or DER) or --tls-url https://HOST:PORT\n"
		"(the certificate the server presents) must carry the API TLS key the\n"
		"quote vouches for (REPORTDATA slot 3). See docs/VERIFY.md.\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char **slot = NULL;
		if (strcmp(s, "--json") == 0) {
			a->json = true;
		} else if (strcmp(s, "--allow-sim") == 0) {
			a->allow_sim = true;
		} else if (strcmp(s, "--no-collateral") == 0) {
			a->no_collateral = true;
		} else if (strcmp(s, "--collateral") == 0) {
			slot = &a->collateral;
		} else if (strcmp(s, "--at") == 0) {
			slot = &a->at;
		} else if (strcmp(s, "--event-log") == 0) {
			slot = &a->event_log;
		} else if (strcmp(s, "--measurements") == 0) {
			slot = &a->measurements;
		} else if (strcmp(s, "--report-data") == 0) {
			slot = &a->report_data;
		} else if (strcmp(s, "--tls-cert") == 0) {
			slot = &a->tls_cert;
		} else if (strcmp(s, "--tls-url") == 0) {
			slot = &a->tls_url;
		} else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			verify_usage(stdout);
			return 1;
		} else if (s[0] == '-' && s[1] != '\0') {
			fprintf(stderr, "dshield verify: unknown option '%s'\n", s);
			return -1;
		} else if (!a->quote) {
			a->quote = s;
		} else {
			fprintf(stderr, "dshield verify: more than one QUOTE given\n");
			return -1;
		}
		if (slot) {
			if (i + 1 >= argc) {
				fprintf(stderr, "dshield verify: %s needs a value\n", s);
				return -1;
			}
			*slot = argv[++i];
		}
	}
	if (!a->quote) {
		fprintf(stderr, "dshield verify: no QUOTE given\n");
		return -1;
	}
	if (a->collateral && a->no_collateral) {
		fprintf(stderr, "dshield verify: --collateral and --no-collateral exclude each other\n");
		return -1;
	}
	if (a->tls_cert && a->tls_url) {
		fprintf(stderr, "dshield verify: --tls-cert and --tls-url exclude each other\n");
		return -1;
	}
	return 0;
}

static void check_report_data(const struct tdx_quote *q, const char *hex)
{
	uint8_t want[64] = { 0 };
	char got[129];
	size_t n = strlen(hex);
	ssize_t k;

	if (n >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
		hex += 2;
		n -= 2;
	}
	k = hex_decode(want, sizeof(want), hex, n);
	hex_encode(got, q->report_data, 64);
	if (k <= 0) {
		checks_add(&g_checks, "report_data", CHECK_FAIL,
			   "--report-data is not 1 to 64 bytes of hex");
	} else if (memcmp(want, q->report_data, 64) == 0) {
		checks_add(&g_checks, "report_data", CHECK_PASS,
			   "REPORTDATA equals the expected value%s",
			   k < 64 ? " (given value zero-padded to 64 bytes)" : "");
	} else {
		checks_add(&g_checks, "report_data", CHECK_FAIL,
			   "REPORTDATA %s differs from the expected value%s", got,
			   k < 64 ? " (given value zero-padded to 64 bytes)" : "");
	}
}

/* Replays an event log and compares each RTMR it measures with the quote.
 * An RTMR the log has no event for gets no check: the log claims nothing
 * about it (a dshield runtime log only covers RTMR3), and the parse
 * check's detail lists it as not covered. */
static void check_event_log(const struct tdx_quote *q, const void *log, size_t len,
			    bool json, const char *origin)
{
	static struct el_replay rp;
	int r = json ? el_json_replay(log, len, &rp) : ccel_replay(log, len, &rp);
	char none[64] = "";
	size_t o = 0;

	if (r) {
		checks_add(&g_checks, "event_log.parse", CHECK_FAIL, "%s event log (%s): %s",
			   json ? "JSON" : "CCEL", origin, rp.err);
		return;
	}
	for (int i = 0; i < EL_NUM_RTMR; i++)
		if (rp.n_measured[i] == 0)
			o += (size_t)snprintf(none + o, sizeof(none) - o, "%sRTMR%d", o ? ", " : "", i);
	checks_add(&g_checks, "event_log.parse", CHECK_PASS, "%s event log (%s): %u events%s%s%s",
		   json ? "JSON" : "CCEL", origin, rp.n_events, o ? "; no event for " : "", none,
		   o ? " (not covered by this log)" : "");
	for (int i = 0; i < EL_NUM_RTMR; i++) {
		char name[24], got[97], want[97];
		snprintf(name, sizeof(name), "event_log.rtmr%d", i);
		hex_encode(got, rp.rtmr[i], 48);
		hex_encode(want, q->rtmr[i], 48);
		if (rp.n_measured[i] == 0)
			continue;
		if (memcmp(rp.rtmr[i], q->rtmr[i], 48) == 0)
			checks_add(&g_checks, name, CHECK_PASS, "%u events replay to the quote's RTMR%d",
				   rp.n_measured[i], i);
		else
			checks_add(&g_checks, name, CHECK_FAIL,
				   "%u events replay to %s, the quote has %s", rp.n_measured[i], got, want);
	}
}

/* Compares one register with a hex member of measurements.json. */
static void check_measurement(const struct json_doc *d, const char *key, const char *name,
			      const uint8_t *reg)
{
	int i = json_get(d, 0, key);
	uint8_t want[48];
	char got[97], exp[97];

	if (i < 0) {
		checks_add(&g_checks, name, CHECK_FAIL, "measurements file has no \"%s\"", key);
		return;
	}
	if (json_is(d, i, JSMN_PRIMITIVE) && d->t[i].end - d->t[i].start == 4 &&
	    memcmp(d->js + d->t[i].start, "null", 4) == 0) {
		/* Given to be compared, and not comparable: no caveat covers it. */
		checks_add(&g_checks, name, CHECK_SKIPPED,
			   "measurements file has \"%s\": null, nothing to compare (for MRTD: predict it with dshield measure --firmware)",
			   key);
		return;
	}
	if (!json_is(d, i, JSMN_STRING) ||
	    hex_decode(want, sizeof(want), d->js + d->t[i].start,
		       (size_t)(d->t[i].end - d->t[i].start)) != 48) {
		checks_add(&g_checks, name, CHECK_FAIL, "measurements file: \"%s\" is not 48 bytes of hex", key);
		return;
	}
	hex_encode(got, reg, 48);
	hex_encode(exp, want, 48);
	if (memcmp(want, reg, 48) == 0)
		checks_add(&g_checks, name, CHECK_PASS, "%s equals the predicted value", key);
	else
		checks_add(&g_checks, name, CHECK_FAIL, "quote %s %s, predicted %s", key, got, exp);
}

/* --measurements: measurements.json as `dshield measure --json` writes it
 * (docs/MEASURE.md): MRTD (or null), RTMR1 and RTMR2 are compared. */
static int run_measurements(const struct tdx_quote *q, const char *path)
{
	static jsmntok_t toks[4096];
	struct json_doc d;
	long n = file_read(path, g_file, FILE_MAX);

	if (n < 0) {
		fprintf(stderr, "dshield verify: %s: %s\n", path, strerror((int)-n));
		return 2;
	}
	if (json_parse(&d, g_file, (size_t)n, toks, 4096) || !json_is(&d, 0, JSMN_OBJECT)) {
		checks_add(&g_checks, "measurements.parse", CHECK_FAIL,
			   "%s is not a measurements.json object", path);
		return 0;
	}
	check_measurement(&d, "mrtd", "measurements.mrtd", q->mrtd);
	check_measurement(&d, "rtmr1", "measurements.rtmr1", q->rtmr[1]);
	check_measurement(&d, "rtmr2", "measurements.rtmr2", q->rtmr[2]);
	return 0;
}

static bool looks_json(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
			continue;
		return s[i] == '[' || s[i] == '{';
	}
	return false;
}

static void json_quote(struct jsonw *w, const struct tdx_quote *q)
{
	static const char *const rn[4] = { "rtmr0", "rtmr1", "rtmr2", "rtmr3" };
	jw_object_begin(w);
	jw_key(w, "version"); jw_u64(w, q->version);
	jw_key(w, "tee_type"); jw_u64(w, q->tee_type);
	jw_key(w, "backend"); jw_string(w, tdx_quote_is_sim(q) ? "sim" : "tdx");
	jw_key(w, "body_type"); jw_u64(w, q->body_type);
	jw_key(w, "qe_svn"); jw_u64(w, q->qe_svn);
	jw_key(w, "pce_svn"); jw_u64(w, q->pce_svn);
	jw_key(w, "qe_vendor_id"); jw_hex(w, q->qe_vendor_id, 16);
	jw_key(w, "tee_tcb_svn"); jw_hex(w, q->tee_tcb_svn, 16);
	jw_key(w, "mrseam"); jw_hex(w, q->mrseam, 48);
	jw_key(w, "mrsignerseam"); jw_hex(w, q->mrsignerseam, 48);
	jw_key(w, "seam_attributes"); jw_hex(w, q->seam_attributes, 8);
	jw_key(w, "td_attributes"); jw_hex(w, q->td_attributes, 8);
	jw_key(w, "xfam"); jw_hex(w, q->xfam, 8);
	jw_key(w, "mrtd"); jw_hex(w, q->mrtd, 48);
	jw_key(w, "mrconfigid"); jw_hex(w, q->mrconfigid, 48);
	jw_key(w, "mrowner"); jw_hex(w, q->mrowner, 48);
	jw_key(w, "mrownerconfig"); jw_hex(w, q->mrownerconfig, 48);
	for (int i = 0; i < 4; i++) {
		jw_key(w, rn[i]);
		jw_hex(w, q->rtmr[i], 48);
	}
	jw_key(w, "report_data"); jw_hex(w, q->report_data, 64);
	if (q->tee_tcb_svn2) {
		jw_key(w, "tee_tcb_svn2"); jw_hex(w, q->tee_tcb_svn2, 16);
		jw_key(w, "mr_servicetd"); jw_hex(w, q->mr_servicetd, 48);
	}
	jw_object_end(w);
}

static int print_json(const struct tdx_quote *q, bool ok)
{
	static char out[256 * 1024];
	struct jsonw w;
	long n;

	jw_init(&w, out, sizeof(out));
	jw_object_begin(&w);
	jw_key(&w, "ok"); jw_bool(&w, ok);
	jw_key(&w, "caveats");
	jw_array_begin(&w);
	for (unsigned c = 1; c <= CHECK_CAVEATS_ALL; c <<= 1)
		if (checks_caveats(&g_checks) & c)
			jw_string(&w, check_caveat_text(c));
	jw_array_end(&w);
	jw_key(&w, "quote");
	if (q)
		json_quote(&w, q);
	else
		jw_null(&w);
	jw_key(&w, "checks");
	jw_array_begin(&w);
	for (size_t i = 0; i < g_checks.n; i++) {
		jw_object_begin(&w);
		jw_key(&w, "name"); jw_string(&w, g_checks.c[i].name);
		jw_key(&w, "result"); jw_string(&w, check_result_name(g_checks.c[i].result));
		jw_key(&w, "detail"); jw_string(&w, g_checks.c[i].detail);
		if (g_checks.c[i].result == CHECK_SKIPPED) {
			jw_key(&w, "accepted");
			jw_bool(&w, check_accepted(&g_checks, &g_checks.c[i]));
		}
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	n = jw_finish(&w);
	if (n < 0) {
		fprintf(stderr, "dshield verify: JSON output: %s\n", strerror((int)-n));
		return -1;
	}
	fwrite(out, 1, (size_t)n, stdout);
	fputc('\n', stdout);
	return 0;
}

static void print_hexline(const char *label, const uint8_t *p, size_t n)
{
	char h[129];
	hex_encode(h, p, n);
	fprintf(g_out, "  %-14s %s\n", label, h);
}

/* The flag that accepts a caveat, and what else to do about it. */
static const char *caveat_flag(unsigned c)
{
	return c == CHECK_CAVEAT_NO_COLLATERAL ? "--no-collateral" : "--allow-sim";
}

static const char *caveat_hint(unsigned c)
{
	return c == CHECK_CAVEAT_NO_COLLATERAL
		? "give --collateral FILE, or --no-collateral to accept that"
		: "give --allow-sim to accept that";
}

/* The verdict's last lines: what it relies on, or why it is not OK. */
static void print_verdict(bool ok)
{
	size_t failed = checks_failed(&g_checks), open = checks_unaccepted(&g_checks);
	unsigned cav = checks_caveats(&g_checks);

	for (unsigned c = 1; c <= CHECK_CAVEATS_ALL; c <<= 1)
		if (cav & c)
			fprintf(g_out, "caveat: %s (accepted by %s)\n", check_caveat_text(c), caveat_flag(c));
	if (ok) {
		fprintf(g_out, "result: OK, every check passed%s\n",
		       cav ? " (with the caveat(s) above: what they name was not verified)" : "");
		return;
	}
	fprintf(g_out, "result: FAILED, %zu check(s) failed, %zu not evaluated\n", failed, open);
	for (size_t i = 0; i < g_checks.n; i++) {
		const struct check *c = &g_checks.c[i];
		if (c->result != CHECK_SKIPPED || check_accepted(&g_checks, c))
			continue;
		if (c->caveat)
			fprintf(g_out, "  %s: %s; %s\n", c->name, check_caveat_text(c->caveat),
			       caveat_hint(c->caveat));
		else
			fprintf(g_out, "  %s: not evaluated (%s)\n", c->name, c->detail);
	}
}

static void print_text(const struct tdx_quote *q, bool ok)
{
	if (q) {
		fprintf(g_out, "quote: TDX v%u, %s body, %s, %zu of %zu bytes used\n", q->version,
		       q->body_type == TDX_BODY_TYPE_TDX15 ? "TDX 1.5" : "TDX 1.0",
		       tdx_quote_is_sim(q) ? "SIMULATED (dshield sim backend, no hardware)" : "ECDSA P-256",
		       q->used, q->len);
		print_hexline("mrtd", q->mrtd, 48);
		for (int i = 0; i < 4; i++) {
			char l[8];
			snprintf(l, sizeof(l), "rtmr%d", i);
			print_hexline(l, q->rtmr[i], 48);
		}
		print_hexline("report_data", q->report_data, 64);
		print_hexline("td_attributes", q->td_attributes, 8);
		print_hexline("xfam", q->xfam, 8);
		print_hexline("tee_tcb_svn", q->tee_tcb_svn, 16);
		print_hexline("mrseam", q->mrseam, 48);
	}
	fprintf(g_out, "checks:\n");
	for (size_t i = 0; i < g_checks.n; i++) {
		const struct check *c = &g_checks.c[i];
		fprintf(g_out, "  %-7s %-34s %s%s\n", check_result_name(c->result), c->name, c->detail,
		       check_accepted(&g_checks, c) ? " [accepted]" : "");
	}
	print_verdict(ok);
}

/* The preimage of a /v1/attestation answer must hash to the quote's
 * REPORTDATA: then each digest it names is what the quote vouches for. */
static void check_preimage(const struct tdx_quote *q)
{
	uint8_t rd[RD_LEN];

	if (reportdata_compute(&g_in.preimage, rd) < 0) {
		checks_add(&g_checks, "report_data.preimage", CHECK_FAIL,
			   "the JSON's report_data_preimage is refused by the REPORTDATA encoding");
		return;
	}
	checks_add(&g_checks, "report_data.preimage",
		   memcmp(rd, q->report_data, RD_LEN) == 0 ? CHECK_PASS : CHECK_FAIL,
		   "REPORTDATA recomputed from the JSON's report_data_preimage %s the quote's",
		   memcmp(rd, q->report_data, RD_LEN) == 0 ? "equals" : "differs from");
}

/* The answer's log_key is the key whose SPKI hash the preimage names. */
static bool check_log_key(void)
{
	struct note_key k;
	br_sha256_context c;
	uint8_t h[32];
	char err[ERRBUF_LEN];
	const struct rd_value *v = &g_in.preimage.f[RD_LOG_KEY_SHA256 - 1];

	if (note_key_from_vkey(&k, g_in.log_key, strlen(g_in.log_key), err, sizeof err) < 0) {
		checks_add(&g_checks, "log_key.binding", CHECK_FAIL, "log_key: %s", err);
		return false;
	}
	if (!g_in.has_preimage || !v->present) {
		checks_add(&g_checks, "log_key.binding", CHECK_FAIL,
			   "the preimage names no log_key_sha256: the quote does not vouch for log_key");
		return false;
	}
	br_sha256_init(&c);
	br_sha256_update(&c, k.spki, sizeof k.spki);
	br_sha256_out(&c, h);
	bool ok = v->len == 32 && memcmp(h, v->data, 32) == 0;
	checks_add(&g_checks, "log_key.binding", ok ? CHECK_PASS : CHECK_FAIL,
		   "SHA-256 of log_key's SPKI %s the preimage's log_key_sha256", ok ? "equals" : "differs from");
	return ok;
}

/* The answer's checkpoint is the preimage's slot 5 (so the quote vouches
 * for it) and is signed by log_key: a tree head the VM stood by when it
 * was quoted. */
static void check_checkpoint(void)
{
	const struct rd_value *v = &g_in.preimage.f[RD_CHECKPOINT - 1];
	struct checkpoint cp;
	struct note_key k;
	char err[ERRBUF_LEN];

	if (!g_in.has_preimage || !v->present || v->len != g_in.checkpoint_len ||
	    memcmp(v->data, g_in.checkpoint, v->len) != 0) {
		checks_add(&g_checks, "checkpoint.binding", CHECK_FAIL,
			   "the answer's checkpoint is not the preimage's: the quote does not vouch for it");
		return;
	}
	if (note_key_from_vkey(&k, g_in.log_key, strlen(g_in.log_key), err, sizeof err) < 0 ||
	    checkpoint_open(g_in.checkpoint, g_in.checkpoint_len, &k, &cp, err, sizeof err) < 0) {
		checks_add(&g_checks, "checkpoint.binding", CHECK_FAIL,
			   "the attested checkpoint does not open with log_key: %s", err);
		return;
	}
	checks_add(&g_checks, "checkpoint.binding", CHECK_PASS,
		   "the quote vouches for a checkpoint signed by log_key: size %llu",
		   (unsigned long long)cp.size);
}

/* The API's TLS key (--tls-cert or --tls-url) is the one REPORTDATA slot
 * 3 names. Fails closed: no preimage, an absent slot, a certificate that
 * cannot be read or fetched, another key. The preimage itself is bound
 * to the quote by report_data.preimage, which the verdict needs too. */
static void check_api_tls(const struct verify_args *a)
{
	const struct rd_value *v = &g_in.preimage.f[RD_API_TLS_SPKI_SHA256 - 1];
	const char *src = a->tls_cert ? a->tls_cert : a->tls_url;
	uint8_t h[32];
	char err[ERRBUF_LEN], got[65], want[65];
	int r;

	r = a->tls_cert ? tls_pin_file(a->tls_cert, h, err, sizeof err)
			: tls_pin_url(a->tls_url, TLS_PIN_TIMEOUT_MS, h, err, sizeof err);
	if (r < 0) {
		checks_add(&g_checks, "api_tls.binding", CHECK_FAIL, "no API certificate from %s: %s",
			   src, err);
		return;
	}
	hex_encode(got, h, 32);
	if (!g_in.has_preimage) {
		checks_add(&g_checks, "api_tls.binding", CHECK_FAIL,
			   "QUOTE has no report_data_preimage (give the JSON of /v1/attestation): "
			   "nothing names the API TLS key");
		return;
	}
	if (!v->present || v->len != 32) {
		checks_add(&g_checks, "api_tls.binding", CHECK_FAIL,
			   "the quote vouches for no API TLS key (api_tls_spki_sha256 is null)");
		return;
	}
	hex_encode(want, v->data, 32);
	checks_add(&g_checks, "api_tls.binding", memcmp(h, v->data, 32) == 0 ? CHECK_PASS : CHECK_FAIL,
		   "%s key SHA-256(SPKI) %s %s the quote's api_tls_spki_sha256%s%s",
		   a->tls_url ? "the server's" : "the certificate's", got,
		   memcmp(h, v->data, 32) == 0 ? "equals" : "differs from",
		   memcmp(h, v->data, 32) == 0 ? "" : " ", memcmp(h, v->data, 32) == 0 ? "" : want);
}

static int finish(const struct verify_args *a, const struct tdx_quote *q)
{
	bool ok = checks_ok(&g_checks);
	if (a->json) {
		if (print_json(q, ok))
			return 2;
	} else {
		print_text(q, ok);
	}
	return ok ? 0 : 1;
}

/* The checks that need no file, over evidence in memory, into g_checks:
 * `dshield verify` and the KMS's key requests share them (cli/verify.h). */
static void verify_mem(const struct verify_evidence *ev, struct tdx_quote *q, bool *have_q)
{
	struct tdx_verify_opts o = { .now = ev->now, .allow_sim = ev->allow_sim };
	char err[256];

	*have_q = false;
	checks_init(&g_checks);
	if (ev->no_collateral)
		checks_accept(&g_checks, CHECK_CAVEAT_NO_COLLATERAL);
	if (quote_input_read(&g_in, ev->quote, ev->quote_len, err, sizeof(err))) {
		checks_add(&g_checks, "quote.input", CHECK_FAIL, "%s", err);
		return;
	}
	if (tdx_quote_parse(q, g_in.quote, g_in.quote_len, err, sizeof(err))) {
		checks_add(&g_checks, "quote.parse", CHECK_FAIL, "%s", err);
		return;
	}
	*have_q = true;
	checks_add(&g_checks, "quote.parse", CHECK_PASS,
		   "TDX quote v%u from %s input, %zu bytes (%zu of padding ignored)", q->version,
		   g_in.form, q->used, q->len - q->used);
	tdx_verify_quote(q, &o, &g_st, &g_checks);
	/* No Intel collateral exists for a sim quote: accepting it accepts that. */
	if (ev->sim_no_collateral && ev->allow_sim && tdx_quote_is_sim(q))
		checks_accept(&g_checks, CHECK_CAVEAT_NO_COLLATERAL);

	if (ev->collateral) {
		if (collateral_parse(&g_coll, ev->collateral, ev->collateral_len, err, sizeof(err)))
			checks_add(&g_checks, "collateral.parse", CHECK_FAIL, "%s", err);
		else
			collateral_check(&g_cx, &g_coll, q, &g_st, o.now, &g_checks);
	} else {
		collateral_skip(&g_checks, CHECK_CAVEAT_NO_COLLATERAL,
				tdx_quote_is_sim(q) ? "sim quote, no Intel collateral exists for it"
						    : "no --collateral given");
	}

	if (ev->report_data)
		check_report_data(q, ev->report_data);
	if (g_in.has_report_data)
		checks_add(&g_checks, "report_data.input",
			   memcmp(g_in.report_data, q->report_data, 64) == 0 ? CHECK_PASS : CHECK_FAIL,
			   "the QUOTE JSON's \"report_data\" %s the quote's REPORTDATA",
			   memcmp(g_in.report_data, q->report_data, 64) == 0 ? "equals" : "differs from");
	if (g_in.has_preimage)
		check_preimage(q);
	if (g_in.log_key[0] != '\0')
		check_log_key();
	if (g_in.has_checkpoint)
		check_checkpoint();
	if (ev->event_log)
		check_event_log(q, ev->event_log, ev->event_log_len,
				looks_json(ev->event_log, ev->event_log_len), ev->event_log_origin);
	else if (g_in.has_event_log)
		check_event_log(q, g_in.event_log, g_in.event_log_len, true, "from the QUOTE JSON");
}

void verify_evidence(const struct verify_evidence *ev, struct tdx_quote *q, bool *have_q,
		     const struct check_list **checks, const struct quote_input **in)
{
	verify_mem(ev, q, have_q);
	*checks = &g_checks;
	*in = &g_in;
}

/* Every check of a run into g_checks; *have_q when the quote parsed.
 * 0, or 2 when a file cannot be read (message printed). */
static int verify_core(const struct verify_args *a, struct tdx_quote *q, bool *have_q)
{
	struct verify_evidence ev = {
		.allow_sim = a->allow_sim, .no_collateral = a->no_collateral,
		.report_data = a->report_data, .event_log_origin = a->event_log,
	};
	long n;

	*have_q = false;
	ev.now = (int64_t)time(NULL);
	if (a->at && utc_parse(a->at, strlen(a->at), 1, &ev.now)) {
		fprintf(stderr, "dshield verify: --at '%s' is neither RFC 3339 nor unix seconds\n", a->at);
		return 2;
	}
	n = file_read(a->quote, g_file, FILE_MAX);
	if (n < 0) {
		fprintf(stderr, "dshield verify: %s: %s\n", a->quote, strerror((int)-n));
		return 2;
	}
	ev.quote = g_file;
	ev.quote_len = (size_t)n;
	if (a->collateral) {
		n = file_read(a->collateral, g_collfile, FILE_MAX);
		if (n < 0) {
			fprintf(stderr, "dshield verify: %s: %s\n", a->collateral, strerror((int)-n));
			return 2;
		}
		ev.collateral = g_collfile;
		ev.collateral_len = (size_t)n;
	}
	if (a->event_log) {
		n = file_read(a->event_log, (char *)g_log, sizeof(g_log) - 1);
		if (n < 0) {
			fprintf(stderr, "dshield verify: %s: %s\n", a->event_log, strerror((int)-n));
			return 2;
		}
		ev.event_log = (const char *)g_log;
		ev.event_log_len = (size_t)n;
	}
	verify_mem(&ev, q, have_q);
	if (*have_q && a->measurements && run_measurements(q, a->measurements))
		return 2;
	if (*have_q && (a->tls_cert || a->tls_url))
		check_api_tls(a);
	return 0;
}

int cmd_verify(int argc, char **argv)
{
	struct verify_args a = { 0 };
	struct tdx_quote q;
	bool have_q;
	int r;

	g_out = stdout;
	r = parse_args(argc, argv, &a);
	if (r)
		return r > 0 ? 0 : verify_usage(stderr);
	if (verify_core(&a, &q, &have_q) != 0)
		return 2;
	return finish(&a, have_q ? &q : NULL);
}

int verify_attestation_log_key(const struct verify_args *a, char *vkey, size_t cap)
{
	struct tdx_quote q;
	const struct check *b;
	bool have_q;

	if (verify_core(a, &q, &have_q) != 0)
		return 2;
	b = checks_find(&g_checks, "log_key.binding");
	if (b == NULL)
		checks_add(&g_checks, "log_key.binding", CHECK_FAIL,
			   "the attestation has no log_key: it names no log signing key");
	if (!checks_ok(&g_checks) || b == NULL || b->result != CHECK_PASS) {
		g_out = stderr;   /* stdout is the log report's */
		print_text(have_q ? &q : NULL, false);
		return 1;
	}
	if (strlen(g_in.log_key) >= cap)
		return 2;
	memcpy(vkey, g_in.log_key, strlen(g_in.log_key) + 1);
	return 0;
}

const char *verify_attested_checkpoint(size_t *len)
{
	const struct check *c = checks_find(&g_checks, "checkpoint.binding");

	if (c == NULL || c->result != CHECK_PASS)
		return NULL;
	*len = g_in.checkpoint_len;
	return g_in.checkpoint;
}
