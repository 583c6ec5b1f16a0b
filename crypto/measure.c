/* crypto/measure.c: see measure.h. */
#include "crypto/measure.h"

#include <bearssl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "crypto/eventlog.h"
#include "lib/bytes.h"
#include "lib/errbuf.h"
#include "lib/utf8.h"

/* Every parse error of this file: the message and -EINVAL. */
#define fail(err, ...) errbuf_set(err, ERRBUF_LEN, -EINVAL, __VA_ARGS__)

/* Boot protocol offsets (Documentation/arch/x86/boot.rst). */
#define HDR_PROTOCOL      0x206
#define HDR_TYPE_LOADER   0x210
#define HDR_LOADFLAGS     0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE  0x21c
#define HDR_HEAP_END      0x224
#define HDR_CMDLINE_PTR   0x228
#define HDR_INITRD_MAX    0x22c
#define HDR_XLOADFLAGS    0x236
#define LOADED_HIGH       0x01
#define CAN_USE_HEAP      0x80
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02

/* QEMU's q35/pc split of guest RAM: with 0xb0000000 bytes or more, low
 * memory ends at 2 GiB (the rest goes above 4 GiB); below that, all of it
 * is low unless it exceeds 0xb0000000. */
static uint32_t below_4g_mem(uint64_t mem_size)
{
	uint64_t lowmem = mem_size >= 0xb0000000u ? 0x80000000u : 0xb0000000u;
	return (uint32_t)(mem_size >= lowmem ? lowmem : mem_size);
}

int measure_qemu_patch_kernel(uint8_t *k, size_t len, uint32_t initrd_size,
			      uint64_t mem_size, uint32_t acpi_data_size,
			      char err[ERRBUF_LEN])
{
	if (len < 0x1000)
		return fail(err, "kernel image of %zu bytes is too short", len);
	if (memcmp(k + 0x202, "HdrS", 4) != 0)
		return fail(err, "kernel image has no Linux boot protocol header (HdrS)");
	uint16_t protocol = (uint16_t)(k[HDR_PROTOCOL] | k[HDR_PROTOCOL + 1] << 8);
	/* A bzImage (loaded high, protocol 2.02 or later): QEMU puts the real
	 * mode part at 0x10000 and the command line at 0x20000. Older forms
	 * are refused rather than predicted. */
	if (protocol < 0x202 || !(k[HDR_LOADFLAGS] & LOADED_HIGH))
		return fail(err, "boot protocol %x.%02x without LOADED_HIGH is not supported (need a bzImage, 2.02+)",
			    protocol >> 8, protocol & 0xff);
	const uint32_t real_addr = 0x10000, cmdline_addr = 0x20000;
	k[HDR_TYPE_LOADER] = 0xb0;              /* QEMU */
	k[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	put_le32(k + HDR_HEAP_END, cmdline_addr - real_addr - 0x200);
	put_le32(k + HDR_CMDLINE_PTR, cmdline_addr);
	if (initrd_size == 0)
		return 0;

	uint32_t initrd_max;
	if (protocol >= 0x20c &&
	    ((k[HDR_XLOADFLAGS] | k[HDR_XLOADFLAGS + 1] << 8) & XLF_CAN_BE_LOADED_ABOVE_4G))
		initrd_max = UINT32_MAX;
	else if (protocol >= 0x203 && le32(k + HDR_INITRD_MAX) != 0)
		initrd_max = le32(k + HDR_INITRD_MAX);
	else
		initrd_max = 0x37ffffff;
	uint32_t low = below_4g_mem(mem_size);
	if (low <= acpi_data_size)
		return fail(err, "memory size %llu leaves no room below 4 GiB",
			    (unsigned long long)mem_size);
	if (initrd_max >= low - acpi_data_size)
		initrd_max = low - acpi_data_size - 1;
	if (initrd_size >= initrd_max)
		return fail(err, "initrd of %u bytes does not fit below 0x%x", initrd_size, initrd_max);
	put_le32(k + HDR_RAMDISK_IMAGE, (initrd_max - initrd_size) & ~4095u);
	put_le32(k + HDR_RAMDISK_SIZE, initrd_size);
	return 0;
}

static void put_u16(br_sha384_context *h, unsigned v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	br_sha384_update(h, b, 2);
}

int measure_cmdline_sha384(const char *cmdline, size_t len,
			   uint8_t out[MEASURE_SHA384_LEN])
{
	const unsigned char *s = (const unsigned char *)cmdline;
	br_sha384_context h;
	size_t i = 0;

	br_sha384_init(&h);
	while (i < len) {
		long cp = utf8_next(s, len, &i);
		if (cp <= 0)            /* invalid, or a NUL inside */
			return -EINVAL;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put_u16(&h, 0xd800 | (unsigned)(cp >> 10));
			put_u16(&h, 0xdc00 | (unsigned)(cp & 0x3ff));
		} else {
			put_u16(&h, (unsigned)cp);
		}
	}
	put_u16(&h, 0);
	br_sha384_out(&h, out);
	return 0;
}

static void sha384(const void *p, size_t n, uint8_t out[MEASURE_SHA384_LEN])
{
	br_sha384_context h;

	br_sha384_init(&h);
	br_sha384_update(&h, p, n);
	br_sha384_out(&h, out);
}

void measure_rtmr1_log(const uint8_t kernel_authenticode[MEASURE_SHA384_LEN],
		       uint8_t log[MEASURE_RTMR1_EVENTS][MEASURE_SHA384_LEN])
{
	static const char calling[] = "Calling EFI Application from Boot Option";
	static const char exit_inv[] = "Exit Boot Services Invocation";
	static const char exit_ret[] = "Exit Boot Services Returned with Success";
	static const uint8_t separator[4];

	memcpy(log[0], kernel_authenticode, MEASURE_SHA384_LEN);
	sha384(calling, sizeof(calling) - 1, log[1]);
	sha384(separator, sizeof(separator), log[2]);
	sha384(exit_inv, sizeof(exit_inv) - 1, log[3]);
	sha384(exit_ret, sizeof(exit_ret) - 1, log[4]);
}

void measure_rtmr1(const uint8_t kernel_authenticode[MEASURE_SHA384_LEN],
		   uint8_t rtmr1[MEASURE_SHA384_LEN])
{
	uint8_t log[MEASURE_RTMR1_EVENTS][MEASURE_SHA384_LEN];

	measure_rtmr1_log(kernel_authenticode, log);
	memset(rtmr1, 0, MEASURE_SHA384_LEN);
	for (int i = 0; i < MEASURE_RTMR1_EVENTS; i++)
		el_extend(rtmr1, log[i]);
}

void measure_rtmr2(const uint8_t cmdline_sha384[MEASURE_SHA384_LEN],
		   const uint8_t initrd_sha384[MEASURE_SHA384_LEN],
		   uint8_t rtmr2[MEASURE_SHA384_LEN])
{
	memset(rtmr2, 0, MEASURE_SHA384_LEN);
	el_extend(rtmr2, cmdline_sha384);
	el_extend(rtmr2, initrd_sha384);
}
