/* tests/fuzz/fuzz_store_hdr.c: libFuzzer target for the store header
 * parser (fs/store_hdr.h), the bytes a host controls on the data disk.
 * Beyond "no crash": a header the parser accepts re-encodes to the same
 * 480 bytes, and store_hdr_open accepts only a header whose MAC is the
 * one the key gives, whose cipher is the policy's and that fits the disk.
 * The same bytes as an ext4 superblock: datastore_ext4_prjquota answers
 * only -EINVAL, 0 or 1; as dm-integrity's superblock: parsed only with its
 * magic, and passing integrity_sb_check only with 32-byte tags, both
 * MAC flags and the size asked for. */
#include "fs/integrity.h"
#include "fs/store_hdr.h"
#include "init/datastore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[STORE_KEY_LEN] = { 1, 2, 3 };
	uint8_t in[STORE_HDR_SIZE] = { 0 }, out[STORE_HDR_SIZE];
	struct store_hdr h, h2;
	struct store_keys k;
	char err[160];

	/* a first byte chooses the disk's size; the rest is the header */
	if (size < 1)
		return 0;
	uint64_t disk = (uint64_t)data[0] << 16;
	data++, size--;
	memcpy(in, data, size < sizeof in ? size : sizeof in);

	int r = store_hdr_parse(in, &h, err, sizeof err);
	if (r == 0) {
		store_derive(key, &h, &k);
		if (store_hdr_encode(&h, k.mac, out) != 0 || memcmp(in, out, STORE_HDR_MAC_OFF) != 0)
			abort();
		if (store_hdr_parse(out, &h2, err, sizeof err) != 0 || memcmp(&h, &h2, sizeof h) != 0)
			abort();
		store_keys_wipe(&k);
	} else if (r != -ENODATA && r != -EILSEQ && r != -EPROTONOSUPPORT && r != -EINVAL) {
		abort();
	}
	struct store_expect e = { STORE_CIPHER, STORE_KEY_BITS, NULL, disk,
				  in[108] & 1 ? STORE_INTEGRITY_HMAC_SHA256 : STORE_INTEGRITY_NONE };
	r = store_hdr_open(in, key, &e, &h, &k, err, sizeof err);
	if (r == 0) {
		if (store_hdr_verify_mac(in, k.mac) != 0 || strcmp(h.cipher, STORE_CIPHER) != 0 ||
		    h.data_offset + h.data_sectors > disk)
			abort();
		store_keys_wipe(&k);
	}
	uint8_t sb[STORE_EXT4_SB_LEN] = { 0 };
	memcpy(sb, data, size < sizeof sb ? size : sizeof sb);
	r = datastore_ext4_prjquota(sb);
	if (r != -EINVAL && r != 0 && r != 1)
		abort();
	uint8_t isb[INTEGRITY_SB_LEN] = { 0 };
	struct integrity_sb s;
	memcpy(isb, data, size < sizeof isb ? size : sizeof isb);
	r = integrity_sb_parse(isb, &s);
	if (r == 0) {
		if (memcmp(isb, INTEGRITY_SB_MAGIC, sizeof INTEGRITY_SB_MAGIC) != 0)
			abort();
		if (integrity_sb_check(&s, disk, err, sizeof err) == 0 &&
		    (s.tag_size != INTEGRITY_TAG_SIZE || (s.flags & 0x11u) != 0x11u ||
		     s.provided_sectors < disk))
			abort();
	} else if (r != -ENODATA && r != -EINVAL) {
		abort();
	}
	return 0;
}
