/* tests/test_measure.c: RTMR1/RTMR2 composition reproduces a real quote
 * from its component digests; Authenticode over a synthetic PE and over
 * Debian's signed kernel (checked against the digest its signature holds);
 * QEMU's header patch; TDVF metadata and MRTD over a synthetic image and,
 * when present, Debian's OVMF. */
#include <bearssl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/measure.h"
#include "crypto/authenticode.h"
#include "crypto/eventlog.h"
#include "crypto/measure.h"
#include "crypto/tdvf.h"
#include "lib/base64.h"
#include "lib/hex.h"
#include "lib/json_tok.h"
#include "tests/tap.h"
#include "tests/tdx_testdata.h"

#define QUOTE_MRTD(q) ((q) + 48 + 136)
#define QUOTE_RTMR(q, i) ((q) + 48 + 328 + 48 * (i))

static unsigned char *read_path(const char *path, size_t *len)
{
	unsigned char *buf;
	return file_read_alloc(path, 1u << 30, &buf, len) == 0 ? buf : NULL;
}

static void sha384(const void *p, size_t n, uint8_t out[48])
{
	br_sha384_context h;
	br_sha384_init(&h);
	br_sha384_update(&h, p, n);
	br_sha384_out(&h, out);
}

/* ---- the tdx-lite fixture: component digests -> the quote's RTMRs ---- */

/* A 48-byte CBOR byte string that follows the CBOR text key `key`. */
static const uint8_t *cbor_bytes48(const uint8_t *c, size_t n, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i + 1 + kl + 2 + 48 <= n; i++) {
		if (c[i] == 0x60 + kl && memcmp(c + i + 1, key, kl) == 0 &&
		    c[i + 1 + kl] == 0x58 && c[i + 2 + kl] == 0x30)
			return c + i + 3 + kl;
	}
	return NULL;
}

static void test_tdx_lite(void)
{
	size_t len;
	unsigned char *raw = td_read("dstack_verifier_tdx-lite-getquote.json", &len);
	if (!raw) {
		ok(1, "# skip dstack_verifier_tdx-lite-getquote.json not found");
		return;
	}
	static jsmntok_t t[2048];
	static uint8_t quote[8192];
	static char vm[8192];
	struct json_doc d;
	long qlen = -1, vlen = -1;
	if (json_parse(&d, (const char *)raw, len, t, 2048) == 0) {
		int q = json_get(&d, 0, "quote"), vc = json_get(&d, 0, "vm_config");
		size_t n;
		const char *text;
		if (json_is(&d, q, JSMN_STRING)) {
			text = json_text(&d, q, &n);
			qlen = hex_decode(quote, sizeof(quote), text, n);
		}
		if (json_is(&d, vc, JSMN_STRING)) {
			text = json_text(&d, vc, &n);
			vlen = json_unescape(text, n, vm, sizeof(vm));
		}
	}
	ok(qlen >= 632 && vlen > 0, "tdx-lite fixture: quote and vm_config found");
	const char *m = vlen > 0 ? strstr(vm, "\"measurement\":\"") : NULL;
	uint8_t cbor[1024];
	long clen = -1;
	if (m) {
		m += strlen("\"measurement\":\"");
		const char *e = strchr(m, '"');
		clen = e ? base64_decode(cbor, sizeof(cbor), m, (size_t)(e - m)) : -1;
	}
	const uint8_t *kern = clen > 0 ? cbor_bytes48(cbor, (size_t)clen, "kernel_authenticode") : NULL;
	const uint8_t *cmd = clen > 0 ? cbor_bytes48(cbor, (size_t)clen, "cmdline_sha384") : NULL;
	const uint8_t *ird = clen > 0 ? cbor_bytes48(cbor, (size_t)clen, "initrd_sha384") : NULL;
	const uint8_t *two = clen > 0 ? cbor_bytes48(cbor, (size_t)clen, "two_pass") : NULL;
	ok(kern && cmd && ird, "tdx-lite: component digests decoded from vm_config's CBOR");
	if (kern && cmd && ird && qlen >= 632) {
		uint8_t r1[48], r2[48];
		char a[97], b[97];
		measure_rtmr1(kern, r1);
		measure_rtmr2(cmd, ird, r2);
		hex_encode(a, r1, 48);
		hex_encode(b, QUOTE_RTMR(quote, 1), 48);
		is_str(a, b, "RTMR1 from the kernel Authenticode digest + fixed events = the quote's");
		hex_encode(a, r2, 48);
		hex_encode(b, QUOTE_RTMR(quote, 2), 48);
		is_str(a, b, "RTMR2 from cmdline + initrd digests = the quote's");
		uint8_t wrong[48];
		memcpy(wrong, cmd, 48);
		wrong[0] ^= 1;
		measure_rtmr2(wrong, ird, r2);
		ok(memcmp(r2, QUOTE_RTMR(quote, 2), 48) != 0, "a different cmdline digest gives another RTMR2");
		measure_rtmr2(ird, cmd, r2);
		ok(memcmp(r2, QUOTE_RTMR(quote, 2), 48) != 0, "order matters: initrd before cmdline is wrong");
		/* qemu 8.2.2 in this vm_config: two-pass page adds. */
		if (two)
			ok(memcmp(two, QUOTE_MRTD(quote), 48) == 0,
			   "fixture sanity: its two-pass MRTD candidate is the quote's MRTD");
	}
	free(raw);
}

static void test_cmdline(void)
{
	uint8_t got[48], want[48];
	ok(measure_cmdline_sha384("a b", 3, got) == 0, "ASCII cmdline");
	sha384("a\0 \0b\0\0\0", 8, want);
	is_mem(got, want, 48, "UTF-16LE with a NUL terminator");
	/* U+00E9 (2 bytes), U+20AC (3 bytes), U+1F600 (surrogate pair) */
	ok(measure_cmdline_sha384("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, got) == 0, "non-ASCII cmdline");
	sha384("\xe9\x00\xac\x20\x3d\xd8\x00\xde\x00\x00", 10, want);
	is_mem(got, want, 48, "BMP and surrogate pair encoding");
	is_int(measure_cmdline_sha384("\xc3", 1, got), -EINVAL, "truncated UTF-8 refused");
	is_int(measure_cmdline_sha384("\xc0\x80", 2, got), -EINVAL, "overlong UTF-8 refused");
	is_int(measure_cmdline_sha384("\xed\xa0\x80", 3, got), -EINVAL, "UTF-8 surrogate refused");
	is_int(measure_cmdline_sha384("a\0b", 3, got), -EINVAL, "embedded NUL refused");

	uint8_t log[5][48];
	uint8_t k[48] = { 0 };
	measure_rtmr1_log(k, log);
	sha384("Exit Boot Services Invocation", 29, want);
	is_mem(log[3], want, 48, "RTMR1 event 3 is Exit Boot Services Invocation");
	char h[97];
	hex_encode(h, log[2], 48);
	is_str(h, "394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae41019f5818b4b971c9effc60e1ad9f1289f0",
	       "separator digest as in real logs");
	hex_encode(h, log[1], 48);
	is_str(h, "77a0dab2312b4e1e57a84d865a21e5b2ee8d677a21012ada819d0a98988078d3d740f6346bfe0abaa938ca20439a8d71",
	       "'Calling EFI Application' digest as in real logs");
}

/* ---- Authenticode ---- */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

/* A PE32+ image: headers (0x200), sections B (table entry 0, file offset
 * 0x400) and A (entry 1, offset 0x200), 0x10 bytes of trailing data, then a
 * 0x20-byte certificate table. */
#define SPE_LEN (0x600 + 0x10 + 0x20)
#define SPE_PE 0x80
#define SPE_OPT (SPE_PE + 24)
#define SPE_CHECKSUM (SPE_OPT + 64)
#define SPE_CERTDIR (SPE_OPT + 112 + 4 * 8)
static void make_pe(uint8_t *img)
{
	memset(img, 0, SPE_LEN);
	for (size_t i = 0; i < SPE_LEN; i++)
		img[i] = (uint8_t)(i * 7 + 3);
	img[0] = 'M'; img[1] = 'Z';
	put32(img + 0x3c, SPE_PE);
	memcpy(img + SPE_PE, "PE\0\0", 4);
	put16(img + SPE_PE + 4 + 2, 2);                 /* sections */
	put16(img + SPE_PE + 4 + 16, 112 + 16 * 8);     /* optional header size */
	put16(img + SPE_OPT, 0x20b);
	put32(img + SPE_OPT + 60, 0x200);               /* SizeOfHeaders */
	put32(img + SPE_OPT + 108, 16);                 /* NumberOfRvaAndSizes */
	put32(img + SPE_CERTDIR, 0x610);
	put32(img + SPE_CERTDIR + 4, 0x20);
	size_t st = SPE_OPT + 112 + 16 * 8;
	memcpy(img + st, ".b\0\0\0\0\0\0", 8);
	put32(img + st + 16, 0x200);
	put32(img + st + 20, 0x400);
	memcpy(img + st + 40, ".a\0\0\0\0\0\0", 8);
	put32(img + st + 40 + 16, 0x200);
	put32(img + st + 40 + 20, 0x200);
}

static void test_authenticode_synthetic(void)
{
	static uint8_t img[SPE_LEN], copy[SPE_LEN];
	uint8_t got[48], want[48];
	char err[ERRBUF_LEN] = "";
	make_pe(img);

	/* The ranges, spelled out independently of the implementation. */
	br_sha384_context h;
	br_sha384_init(&h);
	br_sha384_update(&h, img, SPE_CHECKSUM);
	br_sha384_update(&h, img + SPE_CHECKSUM + 4, SPE_CERTDIR - SPE_CHECKSUM - 4);
	br_sha384_update(&h, img + SPE_CERTDIR + 8, 0x200 - SPE_CERTDIR - 8);
	br_sha384_update(&h, img + 0x200, 0x200);      /* .a first: lower offset */
	br_sha384_update(&h, img + 0x400, 0x200);
	br_sha384_update(&h, img + 0x600, 0x10);       /* trailing, less the cert table */
	br_sha384_out(&h, want);
	is_int(authenticode_sha384(img, SPE_LEN, got, err), 0, "synthetic PE hashes");
	is_mem(got, want, 48, "synthetic PE: headers minus checksum/cert entry, sections by offset, trailer");

	memcpy(copy, img, SPE_LEN);
	copy[SPE_CHECKSUM] ^= 0xff;
	copy[SPE_LEN - 1] ^= 0xff;                     /* inside the certificate table */
	authenticode_sha384(copy, SPE_LEN, got, err);
	is_mem(got, want, 48, "checksum and certificate contents are not hashed");
	static const size_t covered[] = { 0x10, 0x1ff, 0x200, 0x5ff, 0x605 };
	for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++) {
		memcpy(copy, img, SPE_LEN);
		copy[covered[i]] ^= 1;
		authenticode_sha384(copy, SPE_LEN, got, err);
		ok(memcmp(got, want, 48) != 0, "a change at 0x%zx changes the hash", covered[i]);
	}

	/* Unaligned length: padded with zeros to 8. */
	memcpy(copy, img, SPE_LEN);
	put32(copy + SPE_CERTDIR + 4, 0x1b);
	br_sha384_init(&h);
	br_sha384_update(&h, img, SPE_CHECKSUM);
	br_sha384_update(&h, img + SPE_CHECKSUM + 4, SPE_CERTDIR - SPE_CHECKSUM - 4);
	br_sha384_update(&h, img + SPE_CERTDIR + 8, 0x200 - SPE_CERTDIR - 8);
	br_sha384_update(&h, img + 0x200, 0x400);
	br_sha384_update(&h, img + 0x600, 0x10);
	br_sha384_update(&h, "\0\0\0\0\0", 5);
	br_sha384_out(&h, want);
	authenticode_sha384(copy, SPE_LEN - 5, got, err);
	is_mem(got, want, 48, "length not a multiple of 8: zero padded");

	/* Refusals, and every truncation without a crash. */
	memcpy(copy, img, SPE_LEN);
	copy[SPE_PE] = 'X';
	ok(authenticode_sha384(copy, SPE_LEN, got, err) < 0 && strstr(err, "PE signature"), "bad PE signature: %s", err);
	memcpy(copy, img, SPE_LEN);
	put32(copy + SPE_CERTDIR + 4, 0x100);
	ok(authenticode_sha384(copy, SPE_LEN, got, err) < 0 && strstr(err, "certificate"), "oversized cert table: %s", err);
	memcpy(copy, img, SPE_LEN);
	put32(copy + SPE_OPT + 112 + 16 * 8 + 20, 0x500);
	ok(authenticode_sha384(copy, SPE_LEN, got, err) < 0 && strstr(err, "runs past"), "section past the end: %s", err);
	int accepted = 0;
	for (size_t n = 0; n < SPE_LEN; n++)
		accepted += authenticode_sha384(img, n, got, err) == 0;
	diag("%d of %d truncations still hash (the trailer just gets shorter)", accepted, SPE_LEN);
	ok(accepted <= 0x30, "truncations into the sections or headers are refused");
}

/* The Debian kernel is signed: its PKCS#7 SignedData holds the Authenticode
 * SHA-256 (in SpcIndirectDataContent's DigestInfo). Computing the same
 * over our code path and finding it there cross-checks the implementation
 * against Debian's signing tool. */
static unsigned char *find_kernel(size_t *len)
{
	DIR *d = opendir("build/deps/kernel/boot");
	struct dirent *e;
	unsigned char *k = NULL;
	if (!d)
		return NULL;
	while (!k && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "vmlinuz-", 8) == 0) {
			char path[512];
			snprintf(path, sizeof(path), "build/deps/kernel/boot/%s", e->d_name);
			k = read_path(path, len);
		}
	}
	closedir(d);
	return k;
}

static void test_authenticode_kernel(void)
{
	size_t len;
	unsigned char *k = find_kernel(&len);
	if (!k) {
		ok(1, "# skip build/deps/kernel/boot/vmlinuz-* not found");
		return;
	}
	uint8_t d256[32], d384[48];
	char err[ERRBUF_LEN] = "";
	is_int(authenticode_hash(&br_sha256_vtable, k, len, d256, err), 0, "kernel Authenticode SHA-256 (%s)", err);
	/* DigestInfo { AlgorithmIdentifier sha256 NULL, OCTET STRING(32) } */
	static const uint8_t pat[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
				       0x01, 0x05, 0x00, 0x04, 0x20 };
	int found = 0;
	for (size_t i = len > 8192 ? len - 8192 : 0; i + sizeof(pat) + 32 <= len; i++)
		if (memcmp(k + i, pat, sizeof(pat)) == 0 && memcmp(k + i + sizeof(pat), d256, 32) == 0)
			found = 1;
	ok(found, "the kernel's signature holds our Authenticode SHA-256");
	is_int(authenticode_sha384(k, len, d384, err), 0, "kernel Authenticode SHA-384");

	/* QEMU's header patch, as for a 2 GiB guest. */
	uint32_t initrd = 0x1234567;
	is_int(measure_qemu_patch_kernel(k, len, initrd, 2ull << 30, MEASURE_QEMU_ACPI_DATA_SIZE, err), 0,
	       "QEMU patch applies (%s)", err);
	is_int(k[0x210], 0xb0, "type_of_loader = QEMU");
	ok(k[0x211] & 0x80, "CAN_USE_HEAP set");
	is_int(k[0x224] | k[0x225] << 8, 0xfe00, "heap_end_ptr");
	is_int(k[0x228] | k[0x229] << 8 | k[0x22a] << 16, 0x20000, "cmd_line_ptr");
	uint32_t addr = (uint32_t)(k[0x218] | k[0x219] << 8 | k[0x21a] << 16 | (uint32_t)k[0x21b] << 24);
	is_int(addr, (0x80000000u - 0x28000u - 1 - initrd) & ~4095u, "initrd address below 2 GiB minus ACPI data");
	uint8_t p384[48];
	authenticode_sha384(k, len, p384, err);
	ok(memcmp(p384, d384, 48) != 0, "the patch changes the Authenticode digest");
	/* 2 GiB and >= 0xb0000000 place the initrd alike; 2.5 GiB does not. */
	uint8_t q384[48];
	measure_qemu_patch_kernel(k, len, initrd, 8ull << 30, MEASURE_QEMU_ACPI_DATA_SIZE, err);
	authenticode_sha384(k, len, q384, err);
	is_mem(q384, p384, 48, "8 GiB guest: same digest as 2 GiB");
	measure_qemu_patch_kernel(k, len, initrd, 0xa0000000ull, MEASURE_QEMU_ACPI_DATA_SIZE, err);
	authenticode_sha384(k, len, q384, err);
	ok(memcmp(q384, p384, 48) != 0, "2.5 GiB guest: another digest");
	free(k);
}

static void test_patch_errors(void)
{
	static uint8_t k[0x1000];
	char err[ERRBUF_LEN] = "";
	memset(k, 0, sizeof(k));
	ok(measure_qemu_patch_kernel(k, 0x800, 0, 1u << 30, 0x28000, err) == -EINVAL, "short image refused: %s", err);
	ok(measure_qemu_patch_kernel(k, sizeof(k), 0, 1u << 30, 0x28000, err) == -EINVAL && strstr(err, "HdrS"),
	   "no HdrS refused: %s", err);
	memcpy(k + 0x202, "HdrS", 4);
	k[0x206] = 0x01; k[0x207] = 0x02;
	ok(measure_qemu_patch_kernel(k, sizeof(k), 0, 1u << 30, 0x28000, err) == -EINVAL, "old protocol refused: %s", err);
	k[0x206] = 0x0f; k[0x211] = 0x01;
	is_int(measure_qemu_patch_kernel(k, sizeof(k), 0, 1u << 30, 0x28000, err), 0, "no initrd: patch applies");
	is_int(k[0x218] | k[0x21c], 0, "no initrd: ramdisk fields untouched");
	ok(measure_qemu_patch_kernel(k, sizeof(k), 0x7fff0000u, 1u << 30, 0x28000, err) == -EINVAL,
	   "oversized initrd refused: %s", err);
	/* Without XLF_CAN_BE_LOADED_ABOVE_4G the header's initrd_addr_max rules. */
	put32(k + 0x22c, 0x37ffffff);
	is_int(measure_qemu_patch_kernel(k, sizeof(k), 0x1000, 4ull << 30, 0x28000, err), 0, "initrd_addr_max case");
	is_int(k[0x218] | k[0x219] << 8 | k[0x21a] << 16 | k[0x21b] << 24, 0x37ffe000, "initrd below initrd_addr_max");
}

/* ---- TDVF ---- */

static void mrtd_block(br_sha384_context *h, const char *op, uint64_t gpa)
{
	uint8_t b[128] = { 0 };
	memcpy(b, op, strlen(op));
	for (int i = 0; i < 8; i++)
		b[16 + i] = (uint8_t)(gpa >> (8 * i));
	br_sha384_update(h, b, 128);
}

/* 64 KiB image: descriptor at 0x100, BFV data at 0x1000 (0x2000 bytes, MR
 * extend, 0x1800 of raw data), a TD_HOB section (page add only), a PAGE.AUG
 * TempMem section (not measured), then the GUID table at the end. */
#define FW_LEN 0x10000
static void make_fw(uint8_t *fw)
{
	static const uint8_t footer[16] = { 0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
					    0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d };
	static const uint8_t meta[16] = { 0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
					  0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2 };
	memset(fw, 0, FW_LEN);
	for (size_t i = 0x1000; i < 0x3000; i++)
		fw[i] = (uint8_t)(i * 13 + 1);
	uint8_t *d = fw + 0x100;
	memcpy(d, "TDVF", 4);
	put32(d + 4, 16 + 32 * 3);
	put32(d + 8, 1);
	put32(d + 12, 3);
	uint8_t *s = d + 16;
	put32(s, 0x1000); put32(s + 4, 0x1800); put32(s + 8, 0xffc00000u); put32(s + 16, 0x2000);
	put32(s + 24, TDVF_SECTION_BFV); put32(s + 28, TDVF_ATTR_MR_EXTEND);
	s += 32;
	put32(s + 8, 0x809000); put32(s + 16, 0x1000); put32(s + 24, TDVF_SECTION_TD_HOB);
	s += 32;
	put32(s + 8, 0x80a000); put32(s + 16, 0x2000); put32(s + 24, TDVF_SECTION_TEMP_MEM);
	put32(s + 28, TDVF_ATTR_PAGE_AUG);
	/* GUID table: [other entry][metadata entry][footer entry] 32 bytes. */
	size_t end = FW_LEN - 32;
	memcpy(fw + end - 16, footer, 16);
	size_t table = 18 + (18 + 4) + (18 + 6);
	put16(fw + end - 18, (uint16_t)table);
	size_t e = end - 18;                        /* end of the metadata entry */
	memcpy(fw + e - 16, meta, 16);
	put16(fw + e - 18, 18 + 4);
	put32(fw + e - 22, FW_LEN - 0x100);
	e -= 22;                                     /* an unrelated entry before it */
	memset(fw + e - 16, 0x77, 16);
	put16(fw + e - 18, 18 + 6);
}

static void test_tdvf_synthetic(void)
{
	static uint8_t fw[FW_LEN];
	struct tdvf t;
	char err[ERRBUF_LEN] = "";
	make_fw(fw);
	is_int(tdvf_parse(fw, FW_LEN, &t, err), 0, "synthetic TDVF parses (%s)", err);
	is_int(t.n, 3, "three sections");
	is_str(tdvf_section_name(t.s[1].type), "TD_HOB", "section 1 is TD_HOB");

	uint8_t got[48], want[48];
	static const uint8_t zero[256];
	br_sha384_context h;
	br_sha384_init(&h);
	for (unsigned pg = 0; pg < 2; pg++) {
		mrtd_block(&h, "MEM.PAGE.ADD", 0xffc00000u + pg * 4096);
		for (unsigned c = 0; c < 16; c++) {
			uint32_t rel = pg * 4096 + c * 256;
			mrtd_block(&h, "MR.EXTEND", 0xffc00000u + rel);
			br_sha384_update(&h, rel < 0x1800 ? fw + 0x1000 + rel : zero, 256);
		}
	}
	mrtd_block(&h, "MEM.PAGE.ADD", 0x809000);
	br_sha384_out(&h, want);
	tdvf_mrtd(fw, FW_LEN, &t, TDVF_SINGLE_PASS, got);
	is_mem(got, want, 48, "single-pass MRTD: page add then 16 extends per page; raw data then zeros");

	br_sha384_init(&h);
	mrtd_block(&h, "MEM.PAGE.ADD", 0xffc00000u);
	mrtd_block(&h, "MEM.PAGE.ADD", 0xffc01000u);
	for (unsigned c = 0; c < 32; c++) {
		mrtd_block(&h, "MR.EXTEND", 0xffc00000u + c * 256);
		br_sha384_update(&h, c * 256 < 0x1800 ? fw + 0x1000 + c * 256 : zero, 256);
	}
	mrtd_block(&h, "MEM.PAGE.ADD", 0x809000);
	br_sha384_out(&h, want);
	tdvf_mrtd(fw, FW_LEN, &t, TDVF_TWO_PASS, got);
	is_mem(got, want, 48, "two-pass MRTD: all page adds of a section, then its extends");

	static uint8_t c[FW_LEN];
	memcpy(c, fw, FW_LEN);
	c[FW_LEN - 40] ^= 1;
	ok(tdvf_parse(c, FW_LEN, &t, err) < 0 && strstr(err, "footer"), "bad footer GUID: %s", err);
	memcpy(c, fw, FW_LEN);
	c[0x100] = 'X';
	ok(tdvf_parse(c, FW_LEN, &t, err) < 0 && strstr(err, "descriptor"), "bad descriptor: %s", err);
	memcpy(c, fw, FW_LEN);
	put32(c + 0x110 + 8, 0xffc00800u);
	ok(tdvf_parse(c, FW_LEN, &t, err) < 0 && strstr(err, "aligned"), "unaligned GPA: %s", err);
	memcpy(c, fw, FW_LEN);
	put32(c + 0x110 + 4, 0x3000);
	ok(tdvf_parse(c, FW_LEN, &t, err) < 0 && strstr(err, "exceeds"), "raw larger than memory: %s", err);
	memcpy(c, fw, FW_LEN);
	put32(c + 0x110, 0xf000);
	ok(tdvf_parse(c, FW_LEN, &t, err) < 0 && strstr(err, "outside"), "data outside the image: %s", err);
	memcpy(c, fw, FW_LEN);
	put32(c + 0x100 + 8, 2);
	ok(tdvf_parse(c, FW_LEN, &t, err) == -ENOTSUP, "descriptor version 2 unsupported: %s", err);
	int accepted = 0;
	for (size_t n = 0; n < FW_LEN; n += 7)
		accepted += tdvf_parse(fw, n, &t, err) == 0;
	is_int(accepted, 0, "truncated TDVF images refused");
}

static void test_tdvf_debian(void)
{
	const char *env = getenv("DSHIELD_OVMF");
	const char *cands[] = { env, "build/deps/ovmf/usr/share/ovmf/OVMF.fd", "/usr/share/ovmf/OVMF.fd" };
	unsigned char *fw = NULL;
	size_t len = 0;
	const char *path = NULL;
	for (size_t i = 0; i < 3 && !fw; i++)
		if (cands[i] && *cands[i] && (fw = read_path(cands[i], &len)) != NULL)
			path = cands[i];
	if (!fw) {
		ok(1, "# skip no OVMF.fd (set DSHIELD_OVMF)");
		return;
	}
	struct tdvf t;
	char err[ERRBUF_LEN] = "";
	int rc = tdvf_parse(fw, len, &t, err);
	if (rc < 0 && strstr(err, "no TDX metadata")) {
		ok(1, "# skip %s is not TDX-capable", path);
		free(fw);
		return;
	}
	is_int(rc, 0, "%s: TDVF metadata parses (%s)", path, err);
	unsigned bfv = 0, extend = 0;
	for (unsigned i = 0; i < t.n; i++) {
		diag("section %u %-8s gpa 0x%08llx mem 0x%llx raw 0x%x at 0x%x attr %u", i,
		     tdvf_section_name(t.s[i].type), (unsigned long long)t.s[i].gpa,
		     (unsigned long long)t.s[i].mem_size, t.s[i].raw_size, t.s[i].data_offset,
		     t.s[i].attributes);
		bfv += t.s[i].type == TDVF_SECTION_BFV;
		extend += (t.s[i].attributes & TDVF_ATTR_MR_EXTEND) != 0;
	}
	ok(bfv == 1 && extend >= 1, "one BFV, measured sections present");
	uint8_t a[48], b[48];
	tdvf_mrtd(fw, len, &t, TDVF_SINGLE_PASS, a);
	tdvf_mrtd(fw, len, &t, TDVF_TWO_PASS, b);
	ok(memcmp(a, b, 48) != 0, "single- and two-pass MRTDs differ");
	char h[97];
	hex_encode(h, a, 48);
	diag("MRTD (single pass) %s", h);
	free(fw);
}


/* ---- dshield measure, end to end over a synthetic image ---- */

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int rc = fwrite(p, 1, n, f) == n ? 0 : -1;
	return fclose(f) == 0 ? rc : -1;
}

/* Runs cmd_measure with stdout sent to out (NUL terminated). */
static int run_measure(int argc, char **argv, char *out, size_t cap)
{
	char tmpl[] = "/tmp/test_measure_out.XXXXXX";
	int fd = mkstemp(tmpl);
	fflush(stdout);
	int saved = dup(1);
	dup2(fd, 1);
	int rc = cmd_measure(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(tmpl);
	return rc;
}

static const char *find_member(const char *js, const char *key, char *val, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = strstr(js, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= cap)
		return NULL;
	memcpy(val, p, (size_t)(e - p));
	val[e - p] = '\0';
	return val;
}

static void test_cli(void)
{
	static uint8_t k[0x2000], patched[0x2000];
	static char out[16384];
	char dir[] = "/tmp/test_measure_img.XXXXXX";
	char err[ERRBUF_LEN] = "";

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	/* A PE32+ bzImage: headers to 0x400 (the setup header inside), one
	 * section of 0x1c00 bytes. */
	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)(i * 11 + 5);
	k[0] = 'M'; k[1] = 'Z';
	put32(k + 0x3c, 0x80);
	memcpy(k + 0x80, "PE\0\0", 4);
	put16(k + 0x86, 1);
	put16(k + 0x94, 112 + 16 * 8);
	put16(k + 0x98, 0x20b);
	put32(k + 0x98 + 60, 0x400);
	put32(k + 0x98 + 108, 16);
	put32(k + 0x98 + 112 + 32, 0);
	put32(k + 0x98 + 112 + 36, 0);
	size_t st = 0x98 + 112 + 128;
	memcpy(k + st, ".text\0\0\0", 8);
	put32(k + st + 16, 0x1c00);
	put32(k + st + 20, 0x400);
	memcpy(k + 0x202, "HdrS", 4);
	put16(k + 0x206, 0x20f);
	k[0x211] = 0x01;
	put16(k + 0x236, 0x7f);
	static const char initrd[] = "hello initrd";
	int w = write_file(dir, "vmlinuz", k, sizeof(k)) | write_file(dir, "initrd", initrd, 12) |
		write_file(dir, "cmdline", "console=ttyS0\n", 14);
	ok(w == 0, "synthetic image written to %s", dir);

	char *argv[] = { "measure", "--json", "--memory", "4G", dir, NULL };
	is_int(run_measure(5, argv, out, sizeof(out)), 0, "dshield measure --json succeeds");

	uint8_t ac[48], r1[48], c384[48], i384[48], r2[48];
	memcpy(patched, k, sizeof(k));
	measure_qemu_patch_kernel(patched, sizeof(patched), 12, 4ull << 30, MEASURE_QEMU_ACPI_DATA_SIZE, err);
	authenticode_sha384(patched, sizeof(patched), ac, err);
	measure_rtmr1(ac, r1);
	const char *mc = "console=ttyS0 initrd=initrd";
	measure_cmdline_sha384(mc, strlen(mc), c384);
	sha384(initrd, 12, i384);
	measure_rtmr2(c384, i384, r2);
	char want[97], got[200];
	hex_encode(want, ac, 48);
	is_str(find_member(out, "kernel_authenticode_sha384", got, sizeof(got)), want, "JSON kernel digest (QEMU-patched)");
	hex_encode(want, r1, 48);
	is_str(find_member(out, "rtmr1", got, sizeof(got)), want, "JSON rtmr1");
	hex_encode(want, r2, 48);
	is_str(find_member(out, "rtmr2", got, sizeof(got)), want, "JSON rtmr2");
	is_str(find_member(out, "measured_cmdline", got, sizeof(got)), mc, "JSON measured_cmdline");
	ok(strstr(out, "\"mrtd\":null") && strstr(out, "\"firmware\":null"), "no firmware: mrtd and firmware null");
	ok(strstr(out, "\"memory_size\":4294967296") != NULL, "memory size recorded");

	char *argv2[] = { "measure", dir, NULL };
	is_int(run_measure(2, argv2, out, sizeof(out)), 0, "text output");
	ok(strstr(out, "RTMR1") && strstr(out, want), "text output shows RTMR2");

	char *argv3[] = { "measure", "--memory", "lots", dir, NULL };
	is_int(run_measure(4, argv3, out, sizeof(out)), 2, "bad --memory: exit 2");
	char *argv4[] = { "measure", "/nonexistent-image-dir", NULL };
	is_int(run_measure(2, argv4, out, sizeof(out)), 1, "missing image: exit 1");
	write_file(dir, "cmdline", "", 0);
	is_int(run_measure(2, argv2, out, sizeof(out)), 1, "empty cmdline: exit 1");
	write_file(dir, "cmdline", "a\n", 2);
	write_file(dir, "vmlinuz", k, 0x800);
	is_int(run_measure(2, argv2, out, sizeof(out)), 1, "short kernel: exit 1");
	char *argv5[] = { "measure", "--firmware", "/nonexistent.fd", dir, NULL };
	write_file(dir, "vmlinuz", k, sizeof(k));
	is_int(run_measure(4, argv5, out, sizeof(out)), 1, "missing firmware: exit 1");

	static const char *names[] = { "vmlinuz", "initrd", "cmdline" };
	for (int i = 0; i < 3; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	test_tdx_lite();
	test_cmdline();
	test_authenticode_synthetic();
	test_authenticode_kernel();
	test_patch_errors();
	test_tdvf_synthetic();
	test_tdvf_debian();
	test_cli();
	return tap_done();
}
