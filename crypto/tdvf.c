/* crypto/tdvf.c: see tdvf.h. */
#include "crypto/tdvf.h"

#include <bearssl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/errbuf.h"

#define PAGE 4096u
#define CHUNK 256u

/* GUIDs in their in-memory (mixed-endian) byte order. */
static const uint8_t footer_guid[16] = {
	0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
	0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d,
};
static const uint8_t tdx_metadata_guid[16] = {
	0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
	0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2,
};

/* Every parse error of this file: the message and -EBADMSG. */
#define fail(err, ...) errbuf_set(err, ERRBUF_LEN, -EBADMSG, __VA_ARGS__)

const char *tdvf_section_name(uint32_t type)
{
	switch (type) {
	case TDVF_SECTION_BFV: return "BFV";
	case TDVF_SECTION_CFV: return "CFV";
	case TDVF_SECTION_TD_HOB: return "TD_HOB";
	case TDVF_SECTION_TEMP_MEM: return "TempMem";
	case TDVF_SECTION_PERM_MEM: return "PermMem";
	case TDVF_SECTION_PAYLOAD: return "Payload";
	case TDVF_SECTION_PAYLOAD_PARAM: return "PayloadParam";
	default: return "unknown";
	}
}

/* Offset of the descriptor from the GUID table, or a negative errno. */
static long find_descriptor(const uint8_t *fw, size_t len, char *err)
{
	if (len < 32 + 18)
		return fail(err, "firmware of %zu bytes is too small", len);
	size_t foot = len - 32;           /* end of the footer entry */
	if (memcmp(fw + foot - 16, footer_guid, 16) != 0)
		return fail(err, "no OVMF GUID table footer 32 bytes before the end (not an OVMF/TDVF image)");
	size_t table_len = le16(fw + foot - 18);
	if (table_len < 18 || table_len > foot)
		return fail(err, "GUID table length %zu out of range", table_len);
	size_t start = foot - table_len;  /* first byte of the table */
	size_t end = foot - 18;           /* entries end where the footer's data begins */
	while (end - start >= 18) {
		size_t elen = le16(fw + end - 18);
		const uint8_t *guid = fw + end - 16;
		if (elen < 18 || elen > end - start)
			return fail(err, "GUID table entry at 0x%zx has bad length %zu", end - 18, elen);
		if (memcmp(guid, tdx_metadata_guid, 16) == 0) {
			if (elen < 18 + 4)
				return fail(err, "TDX metadata GUID entry too short");
			uint32_t dist = le32(fw + end - 18 - 4);
			if (dist > len || dist < 16)
				return fail(err, "TDX metadata offset 0x%x out of range", dist);
			return (long)(len - dist);
		}
		end -= elen;
	}
	return fail(err, "no TDX metadata in the GUID table: this OVMF build does not support TDX");
}

int tdvf_parse(const uint8_t *fw, size_t len, struct tdvf *t, char err[ERRBUF_LEN])
{
	memset(t, 0, sizeof(*t));
	long d = find_descriptor(fw, len, err);
	if (d < 0)
		return (int)d;
	size_t off = (size_t)d;
	if (len - off < 16 || memcmp(fw + off, "TDVF", 4) != 0)
		return fail(err, "no TDVF descriptor at 0x%zx", off);
	uint32_t dlen = le32(fw + off + 4), version = le32(fw + off + 8), n = le32(fw + off + 12);
	if (version != 1) {
		fail(err, "TDVF descriptor version %u (only 1 is known)", version);
		return -ENOTSUP;
	}
	if (n == 0 || n > TDVF_MAX_SECTIONS)
		return fail(err, "TDVF descriptor lists %u sections (1..%d supported)", n, TDVF_MAX_SECTIONS);
	if (dlen < 16 + 32 * n || dlen > len - off)
		return fail(err, "TDVF descriptor length %u inconsistent with %u sections", dlen, n);
	t->descriptor_offset = off;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = fw + off + 16 + 32 * (size_t)i;
		struct tdvf_section *s = &t->s[i];
		s->data_offset = le32(p);
		s->raw_size = le32(p + 4);
		s->gpa = le64(p + 8);
		s->mem_size = le64(p + 16);
		s->type = le32(p + 24);
		s->attributes = le32(p + 28);
		if (s->gpa % PAGE || s->mem_size % PAGE)
			return fail(err, "TDVF section %u: GPA 0x%llx or size 0x%llx not page aligned", i,
				    (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
		if (s->raw_size > s->mem_size)
			return fail(err, "TDVF section %u: raw size 0x%x exceeds memory size 0x%llx", i,
				    s->raw_size, (unsigned long long)s->mem_size);
		if (s->data_offset > len || s->raw_size > len - s->data_offset)
			return fail(err, "TDVF section %u: data 0x%x+0x%x outside the image", i,
				    s->data_offset, s->raw_size);
		if (s->mem_size > (1ull << 40) || s->gpa > (1ull << 52))
			return fail(err, "TDVF section %u: implausible GPA or size", i);
		if (s->attributes & ~(TDVF_ATTR_MR_EXTEND | TDVF_ATTR_PAGE_AUG)) {
			fail(err, "TDVF section %u: unknown attributes 0x%x", i, s->attributes);
			return -ENOTSUP;
		}
	}
	t->n = n;
	return 0;
}

static void page_add(br_sha384_context *h, const struct tdvf_section *s, uint64_t page)
{
	uint8_t blk[128] = { 0 };
	uint64_t gpa = s->gpa + page * PAGE;

	if (s->attributes & TDVF_ATTR_PAGE_AUG)
		return;
	memcpy(blk, "MEM.PAGE.ADD", 12);
	for (int i = 0; i < 8; i++)
		blk[16 + i] = (uint8_t)(gpa >> (8 * i));
	br_sha384_update(h, blk, sizeof(blk));
}

static void mr_extend(br_sha384_context *h, const uint8_t *fw,
		      const struct tdvf_section *s, uint64_t page)
{
	static const uint8_t zero[CHUNK];

	if (!(s->attributes & TDVF_ATTR_MR_EXTEND))
		return;
	for (unsigned c = 0; c < PAGE / CHUNK; c++) {
		uint8_t blk[128] = { 0 };
		uint64_t rel = page * PAGE + c * CHUNK;
		uint64_t gpa = s->gpa + rel;
		memcpy(blk, "MR.EXTEND", 9);
		for (int i = 0; i < 8; i++)
			blk[16 + i] = (uint8_t)(gpa >> (8 * i));
		br_sha384_update(h, blk, sizeof(blk));
		/* Memory past the raw data is zero-filled by the VMM. */
		if (rel + CHUNK <= s->raw_size) {
			br_sha384_update(h, fw + s->data_offset + rel, CHUNK);
		} else if (rel >= s->raw_size) {
			br_sha384_update(h, zero, CHUNK);
		} else {
			size_t have = (size_t)(s->raw_size - rel);
			br_sha384_update(h, fw + s->data_offset + rel, have);
			br_sha384_update(h, zero, CHUNK - have);
		}
	}
}

void tdvf_mrtd(const uint8_t *fw, size_t len, const struct tdvf *t,
	       enum tdvf_order order, uint8_t out[48])
{
	br_sha384_context h;

	(void)len;  /* tdvf_parse checked every section against it */
	br_sha384_init(&h);
	for (unsigned i = 0; i < t->n; i++) {
		const struct tdvf_section *s = &t->s[i];
		uint64_t pages = s->mem_size / PAGE;
		if (order == TDVF_TWO_PASS) {
			for (uint64_t p = 0; p < pages; p++)
				page_add(&h, s, p);
			for (uint64_t p = 0; p < pages; p++)
				mr_extend(&h, fw, s, p);
		} else {
			for (uint64_t p = 0; p < pages; p++) {
				page_add(&h, s, p);
				mr_extend(&h, fw, s, p);
			}
		}
	}
	br_sha384_out(&h, out);
}
