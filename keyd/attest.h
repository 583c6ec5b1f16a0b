/* keyd/attest.h: attestation backends, run by keyd (which alone owns
 * the TDX device; netd only relays).
 *
 *   tdx   /dev/tdx_guest exists: TDREPORT through TDX_CMD_GET_REPORT0,
 *         quotes through configfs-tsm (keyd/tsm_report.h), RTMR3
 *         extended through the tdx_guest measurements attribute
 *         (.../measurements/rtmr3:sha384, Linux >= 6.16).
 *   sim   no /dev/tdx_guest and the manifest allows it: a quote v4 of the
 *         real layout (crypto/sim_quote.h) whose MRTD/RTMR0-2 are those the
 *         launcher handed over (crypto/launch_meas.h, zeros when absent),
 *         whose RTMR3 is the replay of the runtime event log, signed by a
 *         P-256 key generated at boot. It proves nothing about hardware.
 *   none  neither: quotes fail, and attest->why says why.
 *
 * Both real backends keep the runtime event log (crypto/rtmr3.h) in
 * memory: attest_extend() appends an event and, on tdx, extends the
 * hardware RTMR3; on sim the log's replay is the emulated RTMR3.
 *
 * Error convention: 0 or a length on success, a negative errno on failure
 * with a one-line reason in the caller's err buffer.
 */
#ifndef DSHIELD_KEYD_ATTEST_H
#define DSHIELD_KEYD_ATTEST_H

#include <bearssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/launch_meas.h"
#include "crypto/rtmr3.h"
#include "keyd/tsm_report.h"

#define ATTEST_TDX_DEV     "/dev/tdx_guest"
#define ATTEST_RTMR3_PATH  "/sys/devices/virtual/misc/tdx_guest/measurements/rtmr3:sha384"
#define ATTEST_FWCFG_MEAS  "/sys/firmware/qemu_fw_cfg/by_name/opt/dshield/measurements/raw"
#define ATTEST_ERR_LEN     512
#define ATTEST_TDREPORT_LEN 1024
/* RTMR3 inside a TDREPORT: TDINFO starts at 512 (after REPORTMACSTRUCT
 * 256, TEE_TCB_INFO 239, reserved 17); its RTMRs at 8+8+4*48 = 208. */
#define ATTEST_TDREPORT_RTMR_OFF 720

enum attest_backend { ATTEST_NONE = 0, ATTEST_TDX = 1, ATTEST_SIM = 2 };

struct attest_paths {
	const char *tdx_dev;        /* ATTEST_TDX_DEV */
	const char *tsm_root;       /* TSM_REPORT_ROOT */
	const char *rtmr3;          /* ATTEST_RTMR3_PATH */
	const char *fwcfg_meas;     /* ATTEST_FWCFG_MEAS */
};

struct attest {
	enum attest_backend backend;
	char why[ATTEST_ERR_LEN];      /* none: why; sim: where MRTD/RTMRs came from */
	struct attest_paths paths;
	struct rtmr3_log log;
	unsigned tsm_seq;              /* names configfs-tsm requests */
	/* sim */
	struct launch_meas meas;
	uint8_t sim_priv[32];
	br_ec_private_key sim_sk;
};

const char *attest_backend_name(enum attest_backend b);

/* The production paths. */
void attest_default_paths(struct attest_paths *p);

/* Chooses the backend: tdx when paths->tdx_dev exists; else sim when
 * allow_sim (generating the sim key from getrandom and reading the
 * launcher's measurements); else none. Returns the backend. */
enum attest_backend attest_init(struct attest *a, const struct attest_paths *paths,
				bool allow_sim);

/* Appends a runtime event (crypto/rtmr3.h rules) and, on tdx, extends the
 * hardware RTMR3 with its digest (the log entry is dropped again when that
 * fails). Returns the event index, or a negative errno. */
int attest_extend(struct attest *a, const char *name, const void *payload, size_t len,
		  char err[ATTEST_ERR_LEN]);

/* A quote over report_data into out. Returns its length, or a negative
 * errno (-ENODEV: backend none). */
long attest_quote(struct attest *a, const uint8_t report_data[64], uint8_t *out, size_t cap,
		  char err[ATTEST_ERR_LEN]);

/* TDREPORT through TDX_CMD_GET_REPORT0 on dev. 0 or a negative errno. */
int attest_tdreport(const char *dev, const uint8_t report_data[64],
		    uint8_t report[ATTEST_TDREPORT_LEN], char err[ATTEST_ERR_LEN]);

/* The sim TD report body (584 bytes): launcher measurements, RTMR3 of the
 * log, report_data; every other field zero. */
void attest_sim_body(const struct attest *a, const uint8_t report_data[64], uint8_t *body);

#endif
