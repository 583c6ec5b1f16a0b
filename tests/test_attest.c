/* tests/test_attest.c: the attestation backends without hardware.
 *
 *   - configfs-tsm against an ordinary directory tree whose kernel part the
 *     hooks play: success, generation races (retried, then given up), wrong
 *     provider, empty and oversized outblob, bad generation text, no root;
 *   - the tdx backend against fake paths: RTMR3 extension writes the event
 *     digest, a failed extension drops the event, quotes go to configfs;
 *   - the sim backend: its quote passes tdx_verify_quote with allow_sim and
 *     fails without (quote.sim), carries the launcher's measurements and
 *     the log's RTMR3, and the log replays to it;
 *   - none: no device and sim not allowed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyd/attest.h"
#include "crypto/eventlog.h"
#include "crypto/tdx_quote.h"
#include "crypto/tdx_verify.h"
#include "keyd/tsm_report.h"
#include "tests/tap.h"

static char tmp[256];

/* --- a fake configfs-tsm ----------------------------------------------------- */

struct fake {
	const char *provider;
	unsigned gen;
	int races;          /* attempts whose generation jumps by 2 */
	size_t out_len;     /* outblob bytes (0: empty) */
	const char *gen_text; /* overrides the generation file when set */
	int mkdirs, rmdirs;
	unsigned seq;       /* the caller's request counter */
};

static void put_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static void put_gen(const char *dir, unsigned g)
{
	char t[32];
	int n = snprintf(t, sizeof t, "%u\n", g);
	put_file(dir, "generation", t, (size_t)n);
}

static void fk_mkdir(void *ctx, const char *dir)
{
	struct fake *f = ctx;
	f->mkdirs++;
	put_file(dir, "provider", f->provider, strlen(f->provider));
	if (f->gen_text)
		put_file(dir, "generation", f->gen_text, strlen(f->gen_text));
	else
		put_gen(dir, f->gen);
	put_file(dir, "inblob", "", 0);
	put_file(dir, "outblob", "", 0);
}

/* The kernel's part: the quote is "Q" repeated, then the inblob. */
static void fk_inblob(void *ctx, const char *dir)
{
	static uint8_t out[TSM_OUTBLOB_MAX + 64];
	struct fake *f = ctx;
	char path[512];
	uint8_t in[64];
	int fd;

	snprintf(path, sizeof path, "%s/inblob", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, in, 64) != 64)
		abort();
	close(fd);
	memset(out, 'Q', sizeof out);
	if (f->out_len >= 64)
		memcpy(out + f->out_len - 64, in, 64);
	put_file(dir, "outblob", out, f->out_len);
	if (!f->gen_text)
		put_gen(dir, f->gen + (f->races-- > 0 ? 2 : 1));
}

static void fk_rmdir(void *ctx, const char *dir)
{
	static const char *const names[] = { "provider", "generation", "inblob", "outblob" };
	struct fake *f = ctx;
	char path[512];
	f->rmdirs++;
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
}

static long run_tsm(struct fake *f, const char *root, uint8_t *out, size_t cap, char *err)
{
	struct tsm_hooks h = { fk_mkdir, fk_inblob, fk_rmdir, f };
	uint8_t in[64];
	for (int i = 0; i < 64; i++)
		in[i] = (uint8_t)(0xa0 + i);
	return tsm_report_quote(root, &f->seq, in, out, cap, &h, err);
}

static void test_tsm(void)
{
	static uint8_t out[TSM_OUTBLOB_MAX];
	char err[TSM_ERR_LEN], missing[300];
	struct fake f;
	long n;

	f = (struct fake){ .provider = "tdx_guest\n", .gen = 7, .out_len = 5000 };
	n = run_tsm(&f, tmp, out, sizeof out, err);
	is_int(n, 5000, "tsm: quote read (%s)", err);
	ok(out[0] == 'Q' && out[5000 - 64] == 0xa0 && out[4999] == 0xa0 + 63,
	   "tsm: outblob as the kernel wrote it, REPORTDATA in place");
	ok(f.mkdirs == 1 && f.rmdirs == 1, "tsm: one directory made and removed");

	f = (struct fake){ .provider = "tdx_guest\n", .gen = 0, .races = 2, .out_len = 100 };
	n = run_tsm(&f, tmp, out, sizeof out, err);
	is_int(n, 100, "tsm: two generation races, third attempt succeeds");
	is_int(f.mkdirs, 3, "tsm: a fresh directory per attempt");

	f = (struct fake){ .provider = "tdx_guest\n", .gen = 3, .races = 100, .out_len = 100 };
	n = run_tsm(&f, tmp, out, sizeof out, err);
	is_int(n, -EAGAIN, "tsm: racing on every attempt gives up");
	ok(strstr(err, "generation went from 3 to 5") != NULL, "tsm: the race is named (%s)", err);
	is_int(f.mkdirs, TSM_RETRIES, "tsm: bounded attempts");

	f = (struct fake){ .provider = "sev_guest\n", .out_len = 100 };
	n = run_tsm(&f, tmp, out, sizeof out, err);
	is_int(n, -EPROTO, "tsm: another provider is refused");
	ok(strstr(err, "provider is \"sev_guest\"") != NULL, "tsm: provider named (%s)", err);

	f = (struct fake){ .provider = "tdx_guest", .out_len = 0 };
	n = run_tsm(&f, tmp, out, sizeof out, err);
	is_int(n, -ENODATA, "tsm: empty outblob");
	ok(strstr(err, "outblob is empty") != NULL, "tsm: empty outblob named (%s)", err);

	f = (struct fake){ .provider = "tdx_guest", .out_len = 2049 };
	n = run_tsm(&f, tmp, out, 2048, err);
	is_int(n, -EFBIG, "tsm: outblob larger than the buffer");
	ok(strstr(err, "more than 2048 bytes") != NULL, "tsm: size named (%s)", err);
	f = (struct fake){ .provider = "tdx_guest", .out_len = 2048 };
	is_int(run_tsm(&f, tmp, out, 2048, err), 2048, "tsm: outblob exactly the buffer");

	f = (struct fake){ .provider = "tdx_guest", .gen_text = "12x\n", .out_len = 100 };
	n = run_tsm(&f, tmp, out, sizeof out, err);
	is_int(n, -EPROTO, "tsm: generation not a number");
	f = (struct fake){ .provider = "tdx_guest", .gen_text = "", .out_len = 100 };
	is_int(run_tsm(&f, tmp, out, sizeof out, err), -EPROTO, "tsm: empty generation");
	is_int(f.rmdirs, 1, "tsm: directory removed after a failure too");

	snprintf(missing, sizeof missing, "%s/no-such-root", tmp);
	f = (struct fake){ .provider = "tdx_guest", .out_len = 100 };
	n = run_tsm(&f, missing, out, sizeof out, err);
	is_int(n, -ENODEV, "tsm: no configfs root");
	ok(strstr(err, "tsm_report not loaded") != NULL, "tsm: says why (%s)", err);
}

/* --- backends ---------------------------------------------------------------- */

static struct attest A;

static void paths_in(struct attest_paths *p, char bufs[4][300], const char *dev)
{
	snprintf(bufs[0], 300, "%s/%s", tmp, dev);
	snprintf(bufs[1], 300, "%s", tmp);
	snprintf(bufs[2], 300, "%s/rtmr3", tmp);
	snprintf(bufs[3], 300, "%s/measurements.json", tmp);
	p->tdx_dev = bufs[0];
	p->tsm_root = bufs[1];
	p->rtmr3 = bufs[2];
	p->fwcfg_meas = bufs[3];
}

static void test_none(void)
{
	struct attest_paths p;
	char b[4][300], err[ATTEST_ERR_LEN];
	uint8_t rd[64] = { 0 }, out[2048];

	paths_in(&p, b, "absent-dev");
	is_int(attest_init(&A, &p, false), ATTEST_NONE, "none: no device, sim not allowed");
	ok(strstr(A.why, "attestation.allow_sim") != NULL, "none: says why (%s)", A.why);
	is_int(attest_quote(&A, rd, out, sizeof out, err), -ENODEV, "none: no quote");
	ok(strstr(err, "unavailable") != NULL, "none: quote error says why");
	is_int(attest_extend(&A, "manifest", "x", 1, err), -ENODEV, "none: no events");
	is_str(attest_backend_name(ATTEST_NONE), "none", "backend name none");
}

static void test_tdx_fake(void)
{
	struct attest_paths p;
	char b[4][300], err[ATTEST_ERR_LEN];
	uint8_t got[64];
	int fd;

	paths_in(&p, b, "tdx_guest");
	put_file(tmp, "tdx_guest", "", 0);
	put_file(tmp, "rtmr3", "", 0);
	is_int(attest_init(&A, &p, true), ATTEST_TDX, "tdx: chosen when the device exists, "
	       "even when sim is allowed");
	is_int(attest_extend(&A, "manifest", "abc", 3, err), 0, "tdx: event appended (%s)", err);
	fd = open(b[2], O_RDONLY);
	ok(fd >= 0 && read(fd, got, sizeof got) == 48 && memcmp(got, A.log.ev[0].digest, 48) == 0,
	   "tdx: RTMR3 extended with exactly the 48-byte event digest");
	if (fd >= 0)
		close(fd);
	unlink(b[2]);
	snprintf(b[2], 300, "%s/no-dir/rtmr3", tmp);
	is_int(attest_extend(&A, "instance-id", "d", 1, err), -ENOENT, "tdx: extension failure");
	is_int(A.log.n, 1, "tdx: the event is dropped again");
	ok(strstr(err, "no-dir/rtmr3") != NULL, "tdx: names the attribute (%s)", err);
	unlink(b[0]);
}

static void test_sim(void)
{
	static const char meas[] =
		"{\"version\":1,\"mrtd\":\"111111111111111111111111111111111111111111111111"
		"111111111111111111111111111111111111111111111111\",\"rtmr1\":\""
		"222222222222222222222222222222222222222222222222222222222222222222222222"
		"222222222222222222222222\",\"rtmr2\":null}";
	static uint8_t q8[4096];
	struct attest_paths p;
	struct tdx_quote q;
	struct tdx_verify_opts o = { .now = 1780272000LL, .allow_sim = true };
	static struct tdx_verify_state st;
	static struct check_list cl;
	static char json[RTMR3_JSON_MAX(4)];
	static struct el_replay rp;
	char b[4][300], err[ATTEST_ERR_LEN], perr[160];
	uint8_t rd[64], id[16] = { 1, 2, 3 };
	long n, jn;

	paths_in(&p, b, "absent-dev");
	put_file(tmp, "measurements.json", meas, sizeof meas - 1);
	is_int(attest_init(&A, &p, true), ATTEST_SIM, "sim: no device, allowed");
	ok(strstr(A.why, "mrtd given") && strstr(A.why, "rtmr2 zeros"), "sim: says what it got (%s)",
	   A.why);
	is_str(attest_backend_name(A.backend), "sim", "backend name sim");
	is_int(attest_extend(&A, "manifest", "0123456789abcdef0123456789abcdef", 32, err), 0,
	       "sim: manifest event");
	is_int(attest_extend(&A, "instance-id", id, sizeof id, err), 1, "sim: instance-id event");
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(255 - i);
	n = attest_quote(&A, rd, q8, sizeof q8, err);
	ok(n > 0, "sim: quote built (%ld bytes) %s", n, err);
	ok(n > 0 && tdx_quote_parse(&q, q8, (size_t)n, perr, sizeof perr) == 0, "sim: quote parses");
	ok(tdx_quote_is_sim(&q) && q.version == 4 && q.tee_type == TDX_TEE_TYPE_TDX,
	   "sim: v4 TDX layout with the sim certification data");
	ok(memcmp(q.report_data, rd, 64) == 0, "sim: REPORTDATA in place");
	ok(q.mrtd[0] == 0x11 && q.mrtd[47] == 0x11 && q.rtmr[1][0] == 0x22, "sim: launcher MRTD, RTMR1");
	ok(q.rtmr[0][0] == 0 && q.rtmr[2][47] == 0, "sim: absent RTMR0, null RTMR2 are zeros");
	ok(memcmp(q.rtmr[3], A.log.rtmr3, 48) == 0, "sim: RTMR3 is the log's replay");

	checks_init(&cl);
	is_int(tdx_verify_quote(&q, &o, &st, &cl), 0, "sim: verifies with allow_sim");
	o.allow_sim = false;
	checks_init(&cl);
	is_int(tdx_verify_quote(&q, &o, &st, &cl), -EACCES, "sim: refused without allow_sim");
	ok(checks_find(&cl, "quote.sim") && checks_find(&cl, "quote.sim")->result == CHECK_FAIL,
	   "sim: the failing check is quote.sim");

	jn = rtmr3_log_json(&A.log, json, sizeof json);
	ok(jn > 0 && el_json_replay(json, (size_t)jn, &rp) == 0 && memcmp(rp.rtmr[3], q.rtmr[3], 48) == 0,
	   "sim: the JSON event log replays to the quote's RTMR3");

	q8[48 + TDX_OFF_RTMR0 + 3 * 48] ^= 1;
	o.allow_sim = true;
	checks_init(&cl);
	ok(tdx_quote_parse(&q, q8, (size_t)n, perr, sizeof perr) == 0 &&
	   tdx_verify_quote(&q, &o, &st, &cl) != 0, "sim: a flipped RTMR3 bit breaks the signature");

	unlink(b[3]);
	is_int(attest_init(&A, &p, true), ATTEST_SIM, "sim: without measurements");
	ok(strstr(A.why, "zeros") != NULL, "sim: says the registers are zeros (%s)", A.why);
	put_file(tmp, "measurements.json", "{\"version\":1,\"mrtd\":\"12\"}", 25);
	attest_init(&A, &p, true);
	ok(strstr(A.why, "refused") != NULL && !A.meas.have[LM_MRTD], "sim: malformed measurements "
	   "refused (%s)", A.why);
	unlink(b[3]);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/test_attest.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	test_tsm();
	test_none();
	test_tdx_fake();
	test_sim();
	rmdir(tmp);
	ok(access(tmp, F_OK) != 0, "temporary tree removed (nothing left behind)");
	return tap_done();
}
