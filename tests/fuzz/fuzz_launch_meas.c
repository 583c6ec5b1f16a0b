/* tests/fuzz/fuzz_launch_meas.c: libFuzzer target for the fw_cfg
 * measurements parser of the sim backend (host-controlled input). */
#include "crypto/launch_meas.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct launch_meas m;
	char err[ERRBUF_LEN];
	int r = launch_meas_parse((const char *)data, size, &m, err);

	if (r == 0) {
		/* A register not present is all zeros. */
		for (int i = 0; i < LM_NREGS; i++)
			for (int k = 0; !m.have[i] && k < 48; k++)
				if (m.reg[i][k])
					abort();
	} else if (err[0] == '\0' || strlen(err) >= ERRBUF_LEN) {
		abort();
	}
	return 0;
}
