/* crypto/authenticode.c: see authenticode.h. */
#include "crypto/authenticode.h"

#include <bearssl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "lib/bytes.h"
#include "lib/errbuf.h"

/* Every parse error of this file: the message and -EBADMSG. */
#define fail(err, ...) errbuf_set(err, ERRBUF_LEN, -EBADMSG, __VA_ARGS__)

/* Is [off, off+n) inside a buffer of len bytes? */
static bool in_bounds(size_t len, size_t off, size_t n)
{
	return off <= len && n <= len - off;
}

struct section {
	uint32_t off, size;
};

int authenticode_hash(const br_hash_class *vt, const uint8_t *img, size_t len,
		      void *out, char err[ERRBUF_LEN])
{
	if (len < 0x40 || img[0] != 'M' || img[1] != 'Z')
		return fail(err, "not a PE image: no MZ header");
	size_t pe = le32(img + 0x3c);
	if (!in_bounds(len, pe, 24) || le32(img + pe) != 0x00004550)
		return fail(err, "not a PE image: no PE signature at offset 0x%zx", pe);
	size_t coff = pe + 4;
	unsigned nsec = le16(img + coff + 2);
	size_t opt_size = le16(img + coff + 16);
	size_t opt = coff + 20;
	if (!in_bounds(len, opt, opt_size) || opt_size < 2)
		return fail(err, "optional header (%zu bytes) runs past the end", opt_size);
	uint16_t magic = le16(img + opt);
	size_t dd;                      /* data directories */
	if (magic == 0x10b)
		dd = 96;
	else if (magic == 0x20b)
		dd = 112;
	else
		return fail(err, "unknown optional header magic 0x%x", magic);
	if (opt_size < dd)
		return fail(err, "optional header too short (%zu bytes)", opt_size);
	uint32_t nrva = le32(img + opt + dd - 4);
	if (nrva > (opt_size - dd) / 8)
		return fail(err, "NumberOfRvaAndSizes %u exceeds the optional header", nrva);
	size_t checksum = opt + 64;
	size_t size_of_headers = le32(img + opt + 60);
	if (size_of_headers > len || size_of_headers < opt + opt_size)
		return fail(err, "SizeOfHeaders 0x%zx out of range", size_of_headers);
	if (nsec > AUTHENTICODE_MAX_SECTIONS)
		return fail(err, "%u sections (at most %d supported)", nsec, AUTHENTICODE_MAX_SECTIONS);
	size_t sec_table = opt + opt_size;
	if (!in_bounds(len, sec_table, (size_t)nsec * 40))
		return fail(err, "section table runs past the end");

	br_hash_compat_context hc;
	const br_hash_class **h = &hc.vtable;
	vt->init(h);
	vt->update(h, img, checksum);
	uint32_t cert_size = 0;
	if (nrva > 4) {
		/* Entry 4 is the certificate table (IMAGE_DIRECTORY_ENTRY_SECURITY). */
		size_t cert_dir = opt + dd + 4 * 8;
		cert_size = le32(img + cert_dir + 4);
		vt->update(h, img + checksum + 4, cert_dir - (checksum + 4));
		vt->update(h, img + cert_dir + 8, size_of_headers - (cert_dir + 8));
	} else {
		vt->update(h, img + checksum + 4, size_of_headers - (checksum + 4));
	}

	/* Sections by file offset: insertion sort of at most 96 entries. */
	struct section s[AUTHENTICODE_MAX_SECTIONS];
	unsigned n = 0;
	for (unsigned i = 0; i < nsec; i++) {
		const uint8_t *e = img + sec_table + 40 * (size_t)i;
		struct section cur = { le32(e + 20), le32(e + 16) };
		if (cur.size == 0)
			continue;
		if (!in_bounds(len, cur.off, cur.size))
			return fail(err, "section %u (0x%x bytes at 0x%x) runs past the end of the file",
				    i, cur.size, cur.off);
		unsigned j = n++;
		while (j > 0 && s[j - 1].off > cur.off) {
			s[j] = s[j - 1];
			j--;
		}
		s[j] = cur;
	}
	size_t hashed = size_of_headers;
	for (unsigned i = 0; i < n; i++) {
		vt->update(h, img + s[i].off, s[i].size);
		hashed += s[i].size;
	}
	/* Trailing data: what follows, less the certificate table. Like
	 * edk2, the position is the count of bytes hashed so far. */
	if (len > hashed) {
		if (cert_size > len - hashed)
			return fail(err, "certificate table (%u bytes) larger than the trailing data (%zu)",
				    cert_size, len - hashed);
		vt->update(h, img + hashed, len - hashed - cert_size);
	}
	if (len % 8) {
		static const uint8_t zero[8];
		vt->update(h, zero, 8 - len % 8);
	}
	vt->out(h, out);
	return 0;
}

int authenticode_sha384(const uint8_t *img, size_t len, uint8_t out[48],
			char err[ERRBUF_LEN])
{
	return authenticode_hash(&br_sha384_vtable, img, len, out, err);
}
