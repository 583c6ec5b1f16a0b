/* crypto/measure.h: predicting RTMR1 and RTMR2 of a TDX guest booted by
 * TDVF/OVMF with QEMU's direct kernel boot (-kernel/-initrd/-append).
 *
 * RTMR1 receives, in order (each an RTMR extension with the digest shown):
 *   EV_EFI_BOOT_SERVICES_APPLICATION  Authenticode SHA-384 of the kernel as
 *                                     the firmware loads it (QEMU patches the
 *                                     boot-protocol header first, see below)
 *   EV_EFI_ACTION  SHA-384("Calling EFI Application from Boot Option")
 *   EV_SEPARATOR   SHA-384(00 00 00 00)
 *   EV_EFI_ACTION  SHA-384("Exit Boot Services Invocation")
 *   EV_EFI_ACTION  SHA-384("Exit Boot Services Returned with Success")
 * RTMR2 receives what the kernel's EFI stub measures:
 *   EV_EVENT_TAG "LOADED_IMAGE::LoadOptions"  SHA-384 of the command line as
 *                 UTF-16LE with a UTF-16 NUL, where the command line is the
 *                 user's followed by " initrd=initrd" (OVMF's QEMU loader
 *                 appends it when an initrd is given)
 *   EV_EVENT_TAG "Linux initrd"  SHA-384 of the initrd file
 * The order and contents are those of real TDX event logs (dstack's
 * verifier fixtures list each event with its digest and payload).
 *
 * QEMU's header patch (hw/i386/x86.c, x86_load_linux) writes into the setup
 * header, which the Authenticode hash covers: type_of_loader, CAN_USE_HEAP,
 * heap_end_ptr, cmd_line_ptr, and the initrd address and size; the initrd
 * address depends on the guest's memory below 4 GiB. So the kernel digest
 * depends on the initrd size and the memory size; measure_qemu_patch_kernel
 * reproduces the patch.
 */
#ifndef DSHIELD_CRYPTO_MEASURE_H
#define DSHIELD_CRYPTO_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/errbuf.h"

#define MEASURE_SHA384_LEN 48
#define MEASURE_INITRD_SUFFIX " initrd=initrd"
/* QEMU's ACPI_DATA_SIZE for current pc/q35 machine types. */
#define MEASURE_QEMU_ACPI_DATA_SIZE 0x28000u
#define MEASURE_RTMR1_EVENTS 5
#define MEASURE_RTMR2_EVENTS 2

/* Applies QEMU's setup-header patch to a bzImage in place. 0, or -EINVAL
 * with a message (image too short or too old, initrd too large). */
int measure_qemu_patch_kernel(uint8_t *kernel, size_t len, uint32_t initrd_size,
			      uint64_t mem_size, uint32_t acpi_data_size,
			      char err[ERRBUF_LEN]);

/* SHA-384 of the UTF-16LE form of a UTF-8 command line plus a UTF-16 NUL
 * (the caller appends MEASURE_INITRD_SUFFIX when there is an initrd).
 * 0, or -EINVAL when cmdline is not valid UTF-8. */
int measure_cmdline_sha384(const char *cmdline, size_t len,
			   uint8_t out[MEASURE_SHA384_LEN]);

/* The RTMR1 event digests for a kernel digest, and their replay. */
void measure_rtmr1_log(const uint8_t kernel_authenticode[MEASURE_SHA384_LEN],
		       uint8_t log[MEASURE_RTMR1_EVENTS][MEASURE_SHA384_LEN]);
void measure_rtmr1(const uint8_t kernel_authenticode[MEASURE_SHA384_LEN],
		   uint8_t rtmr1[MEASURE_SHA384_LEN]);
void measure_rtmr2(const uint8_t cmdline_sha384[MEASURE_SHA384_LEN],
		   const uint8_t initrd_sha384[MEASURE_SHA384_LEN],
		   uint8_t rtmr2[MEASURE_SHA384_LEN]);

#endif
