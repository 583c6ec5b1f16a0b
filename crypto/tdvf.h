/* crypto/tdvf.h: MRTD prediction from a TDVF (TDX-capable OVMF) binary.
 *
 * The firmware carries a metadata descriptor ("TDVF", version 1) that tells
 * the VMM which parts of the image to load where. It is found through the
 * OVMF GUID table at the end of the image: the table's footer GUID
 * 96b582de-1fb2-45f7-baea-a366c55a082d sits 32 bytes before the end, with
 * the table length (u16) before it; entries are walked from the end, each
 * {data, u16 length, GUID}; the entry with GUID
 * e47a6535-984a-4798-865e-4685a7bf8ec2 holds (in its last 4 bytes) the
 * distance of the descriptor from the end of the image.
 *
 * Descriptor: "TDVF", u32 length, u32 version, u32 section count, then per
 * section {u32 data offset, u32 raw size, u64 GPA, u64 memory size, u32
 * type, u32 attributes}.
 *
 * MRTD is the SHA-384 the TDX module keeps over the build of the TD:
 *   TDH.MEM.PAGE.ADD of a page (unless the section has the PAGE.AUG
 *     attribute): a 128-byte block "MEM.PAGE.ADD" ‖ zeros, GPA (le64) at 16;
 *   TDH.MR.EXTEND of each 256-byte chunk of a page (sections with the
 *     MR.EXTEND attribute): a 128-byte block "MR.EXTEND", GPA at 16, then
 *     the 256 bytes of the chunk (the section's raw data, zeros past it).
 * QEMU 9 and later add and extend page by page ("single pass"); the TDX
 * patches for QEMU 8 added every page of a section before extending them
 * ("two pass").
 */
#ifndef DSHIELD_CRYPTO_TDVF_H
#define DSHIELD_CRYPTO_TDVF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/errbuf.h"

#define TDVF_MAX_SECTIONS 32

#define TDVF_SECTION_BFV           0
#define TDVF_SECTION_CFV           1
#define TDVF_SECTION_TD_HOB        2
#define TDVF_SECTION_TEMP_MEM      3
#define TDVF_SECTION_PERM_MEM      4
#define TDVF_SECTION_PAYLOAD       5
#define TDVF_SECTION_PAYLOAD_PARAM 6
#define TDVF_ATTR_MR_EXTEND 0x1u
#define TDVF_ATTR_PAGE_AUG  0x2u

struct tdvf_section {
	uint32_t data_offset, raw_size;
	uint64_t gpa, mem_size;
	uint32_t type, attributes;
};

struct tdvf {
	unsigned n;
	size_t descriptor_offset;
	struct tdvf_section s[TDVF_MAX_SECTIONS];
};

enum tdvf_order { TDVF_SINGLE_PASS, TDVF_TWO_PASS };

/* Returns a static name for a section type ("BFV", ...) or "unknown". */
const char *tdvf_section_name(uint32_t type);

/* 0, or -EBADMSG / -ENOTSUP with a message. Every section is checked to
 * lie inside the image and to be page aligned. */
int tdvf_parse(const uint8_t *fw, size_t len, struct tdvf *t, char err[ERRBUF_LEN]);

/* MRTD of the TD built from fw (parsed into t). */
void tdvf_mrtd(const uint8_t *fw, size_t len, const struct tdvf *t,
	       enum tdvf_order order, uint8_t out[48]);

#endif
