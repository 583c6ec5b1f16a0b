/* keyd/attest.c: see attest.h. */
#include "keyd/attest.h"
#include "crypto/p256.h"
#include "crypto/sim_quote.h"
#include "crypto/tdx_quote.h"
#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/tdx-guest.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *attest_backend_name(enum attest_backend b)
{
	switch (b) {
	case ATTEST_TDX: return "tdx";
	case ATTEST_SIM: return "sim";
	default: return "none";
	}
}

void attest_default_paths(struct attest_paths *p)
{
	p->tdx_dev = ATTEST_TDX_DEV;
	p->tsm_root = TSM_REPORT_ROOT;
	p->rtmr3 = ATTEST_RTMR3_PATH;
	p->fwcfg_meas = ATTEST_FWCFG_MEAS;
}

/* A fresh P-256 key for the sim backend. */
static int sim_keygen(struct attest *a)
{
	return p256_keygen(a->sim_priv, &a->sim_sk);
}

/* The launcher's measurements: a missing blob is normal (zeros), an
 * unreadable or malformed one is reported and also gives zeros. */
static void sim_read_measurements(struct attest *a)
{
	char buf[LAUNCH_MEAS_MAX_BYTES + 1];   /* 16 KiB: keyd's stack has room */
	char err[ERRBUF_LEN];
	long got = file_read(a->paths.fwcfg_meas, buf, LAUNCH_MEAS_MAX_BYTES);

	memset(&a->meas, 0, sizeof a->meas);
	if (got == -EFBIG) {
		snprintf(a->why, sizeof a->why, "launcher measurements %s refused (more than "
			 "%d bytes): MRTD and RTMR0-2 are zeros", a->paths.fwcfg_meas,
			 LAUNCH_MEAS_MAX_BYTES);
		return;
	}
	if (got < 0) {
		snprintf(a->why, sizeof a->why, "no launcher measurements (%s: %s): "
			 "MRTD and RTMR0-2 are zeros", a->paths.fwcfg_meas, strerror((int)-got));
		return;
	}
	if (launch_meas_parse(buf, (size_t)got, &a->meas, err) < 0) {
		snprintf(a->why, sizeof a->why, "launcher measurements %s refused (%s): "
			 "MRTD and RTMR0-2 are zeros", a->paths.fwcfg_meas, err);
		return;
	}
	snprintf(a->why, sizeof a->why, "launcher measurements from %s: mrtd %s, rtmr0 %s, "
		 "rtmr1 %s, rtmr2 %s", a->paths.fwcfg_meas,
		 a->meas.have[LM_MRTD] ? "given" : "zeros", a->meas.have[LM_RTMR0] ? "given" : "zeros",
		 a->meas.have[LM_RTMR1] ? "given" : "zeros", a->meas.have[LM_RTMR2] ? "given" : "zeros");
}

enum attest_backend attest_init(struct attest *a, const struct attest_paths *paths,
				bool allow_sim)
{
	int r;

	memset(a, 0, sizeof *a);
	a->paths = *paths;
	rtmr3_log_init(&a->log);
	if (access(paths->tdx_dev, F_OK) == 0) {
		a->backend = ATTEST_TDX;
		snprintf(a->why, sizeof a->why, "%s present", paths->tdx_dev);
		return a->backend;
	}
	if (!allow_sim) {
		snprintf(a->why, sizeof a->why, "no TDX device (%s) and the image manifest does "
			 "not allow the sim backend (attestation.allow_sim)", paths->tdx_dev);
		return ATTEST_NONE;
	}
	r = sim_keygen(a);
	if (r < 0) {
		snprintf(a->why, sizeof a->why, "sim: cannot generate the simulation key: %s",
			 strerror(-r));
		return ATTEST_NONE;
	}
	a->backend = ATTEST_SIM;
	sim_read_measurements(a);
	return a->backend;
}

/* Extends the hardware RTMR3: one write of the 48-byte digest. */
static int extend_rtmr3(const char *path, const uint8_t digest[RTMR3_DIGEST_LEN],
			char err[ATTEST_ERR_LEN])
{
	const char *step;
	int r = file_write_once(path, digest, RTMR3_DIGEST_LEN, &step);

	if (r < 0)
		snprintf(err, ATTEST_ERR_LEN, "extending RTMR3 through %s: %s: %s", path, step,
			 strerror(-r));
	return r;
}

int attest_extend(struct attest *a, const char *name, const void *payload, size_t len,
		  char err[ATTEST_ERR_LEN])
{
	int idx, r;

	err[0] = '\0';
	if (a->backend == ATTEST_NONE) {
		snprintf(err, ATTEST_ERR_LEN, "attestation unavailable: %.400s", a->why);
		return -ENODEV;
	}
	idx = rtmr3_log_append(&a->log, name, payload, len);
	if (idx < 0) {
		snprintf(err, ATTEST_ERR_LEN, "event \"%s\" refused by the log: %s", name,
			 strerror(-idx));
		return idx;
	}
	if (a->backend == ATTEST_TDX) {
		r = extend_rtmr3(a->paths.rtmr3, a->log.ev[idx].digest, err);
		if (r < 0) {
			rtmr3_log_drop_last(&a->log);
			return r;
		}
	}
	return idx;
}

int attest_tdreport(const char *dev, const uint8_t report_data[64],
		    uint8_t report[ATTEST_TDREPORT_LEN], char err[ATTEST_ERR_LEN])
{
	struct tdx_report_req req;
	int fd = open(dev, O_RDWR | O_CLOEXEC), e, r;

	if (fd < 0) {
		e = errno;
		snprintf(err, ATTEST_ERR_LEN, "opening %s: %s", dev, strerror(e));
		return -e;
	}
	memset(&req, 0, sizeof req);
	memcpy(req.reportdata, report_data, TDX_REPORTDATA_LEN);
	r = ioctl(fd, TDX_CMD_GET_REPORT0, &req);
	e = errno;
	close(fd);
	if (r != 0) {
		snprintf(err, ATTEST_ERR_LEN, "TDX_CMD_GET_REPORT0 on %s: %s", dev, strerror(e));
		return -e;
	}
	memcpy(report, req.tdreport, ATTEST_TDREPORT_LEN);
	return 0;
}

void attest_sim_body(const struct attest *a, const uint8_t report_data[64], uint8_t *body)
{
	memset(body, 0, TDX_BODY_V10_LEN);
	memcpy(body + TDX_OFF_MRTD, a->meas.reg[LM_MRTD], 48);
	for (int i = 0; i < 3; i++)
		memcpy(body + TDX_OFF_RTMR0 + 48 * i, a->meas.reg[LM_RTMR0 + i], 48);
	memcpy(body + TDX_OFF_RTMR0 + 48 * 3, a->log.rtmr3, 48);
	memcpy(body + TDX_OFF_REPORT_DATA, report_data, 64);
}

long attest_quote(struct attest *a, const uint8_t report_data[64], uint8_t *out, size_t cap,
		  char err[ATTEST_ERR_LEN])
{
	uint8_t body[TDX_BODY_V10_LEN];
	char terr[TSM_ERR_LEN];
	long n;

	err[0] = '\0';
	switch (a->backend) {
	case ATTEST_TDX:
		n = tsm_report_quote(a->paths.tsm_root, &a->tsm_seq, report_data, out, cap, NULL, terr);
		if (n < 0)
			snprintf(err, ATTEST_ERR_LEN, "tdx: configfs-tsm: %.480s", terr);
		return n;
	case ATTEST_SIM:
		attest_sim_body(a, report_data, body);
		n = tdx_sim_quote_build(out, cap, body, &a->sim_sk);
		if (n < 0)
			snprintf(err, ATTEST_ERR_LEN, "sim: building the quote: %s", strerror((int)-n));
		return n;
	default:
		snprintf(err, ATTEST_ERR_LEN, "attestation unavailable: %.400s", a->why);
		return -ENODEV;
	}
}
