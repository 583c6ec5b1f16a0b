/* tests/fuzz/fuzz_pe_tdvf.c: libFuzzer target for the parsers of
 * untrusted images on the host side: PE/COFF Authenticode hashing, QEMU's
 * kernel-header patch and the TDVF metadata reader with MRTD. */
#include "crypto/authenticode.h"
#include "crypto/measure.h"
#include "crypto/tdvf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t copy[1 << 20];
	uint8_t d[48];
	char err[128];
	struct tdvf t;

	(void)authenticode_sha384(data, size, d, err);
	if (size <= sizeof(copy)) {
		memcpy(copy, data, size);
		if (measure_qemu_patch_kernel(copy, size, (uint32_t)size * 3, 2ull << 30,
					      MEASURE_QEMU_ACPI_DATA_SIZE, err) == 0)
			(void)authenticode_sha384(copy, size, d, err);
	}
	if (tdvf_parse(data, size, &t, err) == 0) {
		/* Keep each run short: MRTD over at most 64 MiB of memory. */
		uint64_t total = 0;
		for (unsigned i = 0; i < t.n; i++)
			total += t.s[i].mem_size;
		if (total <= (64u << 20))
			tdvf_mrtd(data, size, &t, TDVF_SINGLE_PASS, d);
	}
	return 0;
}
