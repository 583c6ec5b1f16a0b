/* crypto/launch_meas.h: the launch measurements the `sim` backend reports.
 *
 * Under QEMU without TDX there is no TDX module to measure the firmware and
 * the boot, so the launcher hands the guest what a TD's MRTD and RTMR0-2
 * would be: `build/image/measurements.json` (written by `dshield measure
 * --json`, docs/MEASURE.md) as the fw_cfg blob opt/dshield/measurements.
 *
 * fw_cfg comes from the host, so this parser treats it as hostile even
 * though a sim quote makes no security claim: it is bounded
 * (LAUNCH_MEAS_MAX_BYTES, LAUNCH_MEAS_MAX_TOKENS), takes only the members
 * "mrtd", "rtmr0", "rtmr1" and "rtmr2" of one top-level object, each null
 * or exactly 96 hex digits, refuses a repeated one, and requires "version"
 * to be 1. Other members (event lists, file names) are ignored.
 */
#ifndef DSHIELD_CRYPTO_LAUNCH_MEAS_H
#define DSHIELD_CRYPTO_LAUNCH_MEAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errbuf.h"

#define LAUNCH_MEAS_MAX_BYTES  16384
#define LAUNCH_MEAS_MAX_TOKENS 256

enum { LM_MRTD, LM_RTMR0, LM_RTMR1, LM_RTMR2, LM_NREGS };

struct launch_meas {
	uint8_t reg[LM_NREGS][48];   /* zeros where absent or null */
	bool have[LM_NREGS];
};

/* The member name of register i ("mrtd", "rtmr0", ...). */
const char *launch_meas_name(int i);

/* Parses js[0..len). Returns 0, or -EINVAL / -E2BIG with a reason in err;
 * on failure *m is all zeros. */
int launch_meas_parse(const char *js, size_t len, struct launch_meas *m,
		      char err[ERRBUF_LEN]);

#endif
