/* tests/test_store_hdr.c: the encrypted store's disk header
 * (fs/store_hdr.h) and dm-crypt parameter line (fs/crypt.h): a round trip,
 * the subkeys against known answers computed with Python's hmac module
 * (qemu-test/store_hdr.py writes the header a second time; its golden MAC
 * is pinned here), every refusal with its own error, every single-bit
 * change refused, and the crypt target line. */
#include "fs/crypt.h"
#include "fs/integrity.h"
#include "fs/store_hdr.h"
#include "init/datastore.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "tests/tap.h"

#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

static uint8_t key[STORE_KEY_LEN], inst[STORE_INSTANCE_LEN], salt[32];
static char err[ERRBUF_LEN];

static void setup(void)
{
	for (unsigned i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)i;
	memset(inst, 0x11, sizeof inst);
	memset(salt, 0xa5, sizeof salt);
}

static void unhex(uint8_t *out, size_t n, const char *hex)
{
	if (hex_decode(out, n, hex, strlen(hex)) != (ssize_t)n)
		memset(out, 0, n);
}

/* A header for a 1 GiB disk, written with the right key. */
static void make(uint8_t out[STORE_HDR_SIZE], struct store_hdr *h)
{
	struct store_keys k;
	store_hdr_init(h, 2u << 20, inst, salt, "dev");
	store_derive(key, h, &k);
	store_hdr_encode(h, k.mac, out);
	store_keys_wipe(&k);
}

static struct store_expect expect(void)
{
	return (struct store_expect){ .cipher = STORE_CIPHER, .key_bits = STORE_KEY_BITS,
				      .instance = inst, .disk_sectors = 2u << 20 };
}

static void test_kdf(void)
{
	static const char CRYPT[] =
		"2811537d7e8a1dce20a148b2d41e0275fa9ff16cf69be1087b267bb0faf6cf2c"
		"89e3f92c3dc47f2232e3c806f095c4f350fac649486267e6834c170449c35bd6";
	static const char MAC[] = "1338468719937d0d9f45179faaebbd86bd17f78cd91ed7055369623694449a37";
	static const char SEAL[] = "955c4b8d9538ecfae51d832d9bb4df5c7ae0d8b0ea22d1ed1558e0c26c764c34";
	static const char INTEG[] = "6d680ae1666cdf32dbf5fb08091c4196e0311391b2c975158eb115d68e2451bc";
	static const char JMAC[] = "7fb620ce307e900255b0c7e03b1003989f85b2e10bc9489c265e48303b5f81fd";
	struct store_hdr h;
	struct store_keys k, k2;
	uint8_t want[64];

	store_hdr_init(&h, 2u << 20, inst, salt, "dev");
	store_derive(key, &h, &k);
	unhex(want, 64, CRYPT);
	is_mem(k.crypt, want, 64, "dm-crypt subkey: HKDF-SHA256 known answer");
	unhex(want, 32, MAC);
	is_mem(k.mac, want, 32, "header MAC subkey: known answer");
	unhex(want, 32, SEAL);
	is_mem(k.seal, want, 32, "seal subkey: known answer");
	unhex(want, 32, INTEG);
	is_mem(k.integ, want, 32, "dm-integrity internal_hash subkey: known answer");
	unhex(want, 32, JMAC);
	is_mem(k.jmac, want, 32, "dm-integrity journal_mac subkey: known answer");

	h.instance[0] ^= 1;
	store_derive(key, &h, &k2);
	ok(memcmp(k.crypt, k2.crypt, 64) != 0 && memcmp(k.mac, k2.mac, 32) != 0,
	   "another instance, same provider key: other subkeys");
	h.instance[0] ^= 1;
	h.kdf_salt[31] ^= 1;
	store_derive(key, &h, &k2);
	ok(memcmp(k.crypt, k2.crypt, 64) != 0, "another salt: another dm-crypt key");
	store_keys_wipe(&k);
	uint8_t zero[sizeof k] = { 0 };
	ok(memcmp(&k, zero, sizeof k) == 0, "store_keys_wipe clears every subkey");
}

static void test_round_trip(void)
{
	static const char GOLDEN_MAC[] =
		"54f8ad8c1c49ca217d08a1d545a340c218bc3910785a1628f896e6b3cde509c9";
	uint8_t b[STORE_HDR_SIZE], want[32];
	struct store_hdr h, got;
	struct store_keys k;
	struct store_expect e = expect();

	make(b, &h);
	is_int(h.data_offset, STORE_DATA_OFFSET, "data area starts at 1 MiB");
	is_int(h.data_sectors, (2u << 20) - STORE_DATA_OFFSET, "the rest of the disk is data");
	is_int(store_hdr_open(b, key, &e, &got, &k, err, sizeof err), 0, "a fresh header opens");
	ok(memcmp(&h, &got, sizeof h) == 0, "every field reads back");
	store_keys_wipe(&k);
	is_mem(b, "DSHSTORE", 8, "magic at offset 0");

	/* The Python writer's header: data 2^20 sectors, generation 7. */
	h.data_sectors = 1u << 20;
	h.generation = 7;
	store_derive(key, &h, &k);
	is_int(store_hdr_encode(&h, k.mac, b), 0, "encode the golden header");
	unhex(want, 32, GOLDEN_MAC);
	is_mem(b + STORE_HDR_MAC_OFF, want, 32, "its MAC equals qemu-test/store_hdr.py golden");
	store_keys_wipe(&k);

	e.instance = NULL;
	make(b, &h);
	is_int(store_hdr_open(b, key, &e, &got, &k, err, sizeof err), 0,
	       "no expected instance: any instance opens");
	store_keys_wipe(&k);

	uint8_t small_salt[32] = { 0 };
	is_int(store_hdr_init(&h, STORE_DATA_OFFSET + 7, inst, small_salt, "dev"), -ERANGE,
	       "a disk without one 4 KiB data block is refused");
	is_int(store_hdr_init(&h, STORE_DATA_OFFSET + 8 + 5, inst, small_salt, "dev"), 0,
	       "a disk with one block and a few sectors");
	is_int(h.data_sectors, 8, "the data area is whole 4 KiB blocks");
	is_int(store_hdr_init(&h, 1u << 30, inst, small_salt, "a-provider-name-too-long"), -EINVAL,
	       "a provider id over 15 bytes is refused");
}

/* Opens b with the test's key and the default expectations. */
static int open_b(const uint8_t *b)
{
	struct store_hdr h;
	struct store_keys k;
	struct store_expect e = expect();
	err[0] = '\0';
	int r = store_hdr_open(b, key, &e, &h, &k, err, sizeof err);
	store_keys_wipe(&k);
	return r;
}

/* Changes the header through the struct and seals it with the right key:
 * what a holder of the (dev) key could write. */
static void reseal(uint8_t b[STORE_HDR_SIZE], void (*edit)(struct store_hdr *))
{
	struct store_hdr h;
	struct store_keys k;
	make(b, &h);
	edit(&h);
	store_derive(key, &h, &k);
	if (store_hdr_encode(&h, k.mac, b) != 0)
		memset(b, 0xee, STORE_HDR_SIZE);
	store_keys_wipe(&k);
}

static void cipher_null(struct store_hdr *h) { memset(h->cipher, 0, sizeof h->cipher); strcpy(h->cipher, "cipher_null"); }
static void key_256(struct store_hdr *h) { h->key_bits = 256; }
static void other_instance(struct store_hdr *h) { h->instance[5] ^= 0x40; }
static void too_big(struct store_hdr *h) { h->data_sectors += 8; }
static void hmac_on(struct store_hdr *h)
{
	h->integrity = STORE_INTEGRITY_HMAC_SHA256;
	h->integ_sectors = h->data_sectors - 4096;
}

/* Integrity mode 1: it round-trips, opens only under a policy that wants
 * it, and a header saying none is refused under one that does (a host
 * with the key must not be able to turn authentication off). */
static void test_integrity(void)
{
	uint8_t b[STORE_HDR_SIZE];
	struct store_hdr h, got;
	struct store_keys k;
	struct store_expect e = expect();

	reseal(b, hmac_on);
	e.integrity = STORE_INTEGRITY_HMAC_SHA256;
	is_int(store_hdr_open(b, key, &e, &got, &k, err, sizeof err), 0,
	       "integrity hmac-sha256 under a policy wanting it opens (%s)", err);
	is_int(got.integrity, STORE_INTEGRITY_HMAC_SHA256, "mode 1 read back");
	is_int(got.integ_sectors, got.data_sectors - 4096, "its data size read back");
	is_int(b[108], 1, "mode at offset 108");
	is_int(b[168] | b[169] << 8 | b[170] << 16, (int)(got.integ_sectors & 0xffffff),
	       "its data size at offset 168, little-endian");
	store_keys_wipe(&k);
	is_int(open_b(b), -EPERM, "mode 1 under a policy wanting none: %s", err);
	is_str(err, "store header: integrity hmac-sha256, the policy wants none", "its reason");

	make(b, &h);
	is_int(store_hdr_open(b, key, &e, &got, &k, err, sizeof err), -EPERM,
	       "a valid header saying none under a policy wanting hmac-sha256: %s", err);
	is_str(err, "store header: integrity none, the policy wants hmac-sha256",
	       "its reason names both");

	static const uint64_t bad[] = { 0, 4, 12 };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		store_hdr_init(&h, 2u << 20, inst, salt, "dev");
		h.integrity = STORE_INTEGRITY_HMAC_SHA256;
		h.integ_sectors = bad[i];
		is_int(store_hdr_encode(&h, k.mac, b), -EINVAL,
		       "mode 1 with an integrity data size of %llu sectors is refused",
		       (unsigned long long)bad[i]);
	}
	h.integ_sectors = h.data_sectors + 8;
	is_int(store_hdr_encode(&h, k.mac, b), -EINVAL,
	       "an integrity data size beyond the data area is refused");
	is_str(store_integrity_name(STORE_INTEGRITY_NONE), "none", "mode 0's name");
	is_str(store_integrity_name(2), "?", "mode 2 has none here");
}

static void test_refusals(void)
{
	uint8_t b[STORE_HDR_SIZE];
	struct store_hdr h;

	memset(b, 0, sizeof b);
	is_int(open_b(b), -ENODATA, "all zero: blank (%s)", err);
	is_str(store_hdr_error_name(-ENODATA), "blank", "its name");

	make(b, &h);
	b[0] = 'X';
	is_int(open_b(b), -EILSEQ, "another magic: %s", err);
	memset(b, 0, sizeof b);
	b[511] = 1;
	is_int(open_b(b), -EILSEQ, "not blank, no magic (one byte at the end)");

	make(b, &h);
	b[8] = 2;
	is_int(open_b(b), -EPROTONOSUPPORT, "version 2: %s", err);

	make(b, &h);
	b[13] = 1;
	is_int(open_b(b), -EINVAL, "header length not 512: %s", err);
	make(b, &h);
	memset(b + 48, 'a', 32);
	is_int(open_b(b), -EINVAL, "a cipher without a NUL: %s", err);
	make(b, &h);
	b[48 + 20] = 'x';
	is_int(open_b(b), -EINVAL, "bytes after the cipher's NUL: %s", err);
	make(b, &h);
	b[48] = ' ';
	is_int(open_b(b), -EINVAL, "a blank in the cipher: %s", err);
	make(b, &h);
	b[200] = 1;
	is_int(open_b(b), -EINVAL, "a reserved byte set: %s", err);
	make(b, &h);
	b[88] = 7;
	is_int(open_b(b), -EINVAL, "an unaligned data offset: %s", err);
	make(b, &h);
	memset(b + 96, 0, 8);
	is_int(open_b(b), -EINVAL, "no data sectors: %s", err);
	make(b, &h);
	b[96 + 7] = 0x80;
	is_int(open_b(b), -EINVAL, "a data size beyond 2^40 sectors: %s", err);
	make(b, &h);
	b[104] = 2;
	is_int(open_b(b), -EINVAL, "unknown KDF: %s", err);
	make(b, &h);
	b[108] = 2;
	is_int(open_b(b), -EINVAL, "integrity mode 2 (aes-gcm, not built): %s", err);
	make(b, &h);
	b[168] = 8;
	is_int(open_b(b), -EINVAL, "an integrity data size with mode none: %s", err);
	make(b, &h);
	memset(b + 144, 0, 16);
	is_int(open_b(b), -EINVAL, "no key provider id: %s", err);

	make(b, &h);
	b[STORE_HDR_MAC_OFF + 3] ^= 0x10;
	is_int(open_b(b), -EBADMSG, "a changed MAC: %s", err);
	make(b, &h);
	b[100] ^= 0x01;	/* data size still aligned and in bounds */
	is_int(open_b(b), -EBADMSG, "a changed size without the key: bad MAC");
	make(b, &h);
	key[0] ^= 1;
	is_int(open_b(b), -EBADMSG, "the wrong key: %s", err);
	key[0] ^= 1;

	/* A host swapping the cipher cannot recompute the MAC... */
	make(b, &h);
	memset(b + 48, 0, 32);
	memcpy(b + 48, "cipher_null", 11);
	is_int(open_b(b), -EBADMSG, "cipher_null without the key: bad MAC");
	/* ...a holder of the key can, and the policy still refuses. */
	reseal(b, cipher_null);
	is_int(open_b(b), -EPERM, "cipher_null under a valid MAC: %s", err);
	reseal(b, key_256);
	is_int(open_b(b), -EPERM, "a 256-bit key under a valid MAC: %s", err);
	reseal(b, other_instance);
	is_int(open_b(b), -EXDEV, "another instance's disk: %s", err);
	reseal(b, too_big);
	is_int(open_b(b), -ERANGE, "a disk smaller than the header says: %s", err);

	/* Every single-bit change of a good header is refused. */
	unsigned accepted = 0;
	for (unsigned i = 0; i < STORE_HDR_SIZE * 8; i++) {
		make(b, &h);
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (open_b(b) == 0)
			accepted++;
	}
	is_int(accepted, 0, "none of the 4096 single-bit changes opens");

	static const int codes[] = { -ENODATA, -EILSEQ, -EPROTONOSUPPORT, -EINVAL, -EBADMSG,
				     -EPERM, -EXDEV, -ERANGE };
	int distinct = 1;
	for (unsigned i = 0; i < 8; i++)
		for (unsigned j = i + 1; j < 8; j++)
			if (strcmp(store_hdr_error_name(codes[i]), store_hdr_error_name(codes[j])) == 0)
				distinct = 0;
	ok(distinct, "each refusal has its own name");
	is_str(store_hdr_error_name(-EIO), "error", "any other error: \"error\"");
}

static void test_encode_bounds(void)
{
	uint8_t b[STORE_HDR_SIZE], mk[32] = { 0 };
	struct store_hdr h;

	store_hdr_init(&h, 1u << 20, inst, salt, "dev");
	h.data_offset = 3;
	is_int(store_hdr_encode(&h, mk, b), -EINVAL, "encode refuses a header parse would refuse");
	store_hdr_init(&h, 1u << 20, inst, salt, "dev");
	memset(h.cipher, 'a', sizeof h.cipher);
	is_int(store_hdr_encode(&h, mk, b), -EINVAL, "encode refuses a cipher without a NUL");
	store_hdr_init(&h, 1u << 20, inst, salt, "dev");
	strcpy(h.provider, "d v");
	is_int(store_hdr_encode(&h, mk, b), -EINVAL, "encode refuses a blank in the provider id");
}

static void test_crypt_line(void)
{
	uint8_t k[64];
	char line[CRYPT_PARAMS_MAX], want[CRYPT_PARAMS_MAX], khex[129];
	struct crypt_area a = { makedev(253, 16), 2048, 1000, "aes-xts-plain64", k, sizeof k };

	for (unsigned i = 0; i < sizeof k; i++)
		k[i] = (uint8_t)(0xf0 ^ i);
	hex_encode(khex, k, sizeof k);
	snprintf(want, sizeof want, "aes-xts-plain64 %s 0 253:16 2048", khex);
	int n = crypt_params(line, sizeof line, &a);
	ok(n > 0 && strcmp(line, want) == 0, "crypt line: cipher, hex key, IV offset 0, MAJ:MIN, offset");
	is_int(n, (int)strlen(want), "its length");

	a.cipher = "aes-xts-plain64 1 allow_discards";
	is_int(crypt_params(line, sizeof line, &a), -EINVAL, "a cipher with blanks is refused");
	a.cipher = "aes-xts-plain64";
	a.key_len = 65;
	is_int(crypt_params(line, sizeof line, &a), -EINVAL, "a key over 64 bytes is refused");
	a.key_len = 64;
	a.sectors = 0;
	is_int(crypt_params(line, sizeof line, &a), -EINVAL, "an empty area is refused");
	a.sectors = 1000;
	memset(line, 'x', sizeof line);
	is_int(crypt_params(line, 100, &a), -ENOSPC, "a short buffer: -ENOSPC");
	char zero[100] = { 0 };
	is_mem(line, zero, 100, "and nothing of the key is left in it");
}

static void test_datastore(void)
{
	struct policy_store ps;
	struct datastore_status st;
	uint8_t k[STORE_KEY_LEN], id[STORE_INSTANCE_LEN];
	char line[STORE_INFO_TEXT], hex[2 * STORE_INSTANCE_LEN + 2];

	memset(&ps, 0, sizeof ps);
	ps.provider = POLICY_KP_DEV;
	memset(ps.dev_key, 0x5a, sizeof ps.dev_key);
	is_int(datastore_key_get(&ps, inst, k, err, sizeof err), 0, "dev provider: the policy's key");
	is_mem(k, ps.dev_key, sizeof k, "the 64 bytes as they are");
	ps.provider = POLICY_KP_KMS;
	strcpy(ps.kms_host, "kms.example.com");
	is_int(datastore_key_get(&ps, inst, k, err, sizeof err), -EINPROGRESS,
	       "kms provider: no key at hand (it comes through keyd and netd)");
	is_str(err, "key provider kms (kms.example.com): the key comes from the KMS once keyd and netd run",
	       "with its reason");
	ps.provider = POLICY_KP_NONE;
	is_int(datastore_key_get(&ps, inst, k, err, sizeof err), -EINVAL, "no provider: refused");

	/* sandboxd's secrets key from the seal subkey; the answer of Python's
	 * cryptography: HKDF(SHA256(), 32, None, b"dshield-store/v1 secrets")
	 * .derive(bytes(range(0x40, 0x60))) */
	uint8_t seal[32], sk[32], want[32];
	for (int i = 0; i < 32; i++)
		seal[i] = (uint8_t)(0x40 + i);
	hex_decode(want, sizeof want, "5f566cf3f9bc9d969655cc7ada024dc5ba45d8ac2363e37c7f19893d24a8dc11", 64);
	datastore_secrets_key(seal, sk);
	is_mem(sk, want, sizeof sk, "the secrets key: HKDF(seal, \"%s\"), Python's answer", STORE_SECRETS_INFO);

	memset(hex, 'a', 64);
	is_int(datastore_parse_instance(hex, 64, id), 0, "fw_cfg instance: 64 hex digits");
	ok(id[0] == 0xaa && id[31] == 0xaa, "decoded");
	hex[64] = '\n';
	is_int(datastore_parse_instance(hex, 65, id), 0, "one trailing newline allowed");
	hex[64] = 'a';
	is_int(datastore_parse_instance(hex, 65, id), -EINVAL, "65 digits refused");
	is_int(datastore_parse_instance(hex, 62, id), -EINVAL, "62 digits refused");
	hex[3] = 'g';
	is_int(datastore_parse_instance(hex, 64, id), -EINVAL, "a non-hex digit refused");

	memset(&st, 0, sizeof st);
	datastore_summary(&st, line, sizeof line);
	is_str(line, "store: none (tmpfs, lost at poweroff)", "summary: no store");
	st.state = STORE_INFO_REFUSED;
	st.provider = POLICY_KP_DEV;
	strcpy(st.reason, "store header: MAC does not verify");
	datastore_summary(&st, line, sizeof line);
	is_str(line, "store: REFUSED (insecure dev key): store header: MAC does not verify",
	       "summary: refused, dev key named insecure");
	st.state = STORE_INFO_OPEN;
	strcpy(st.disk, "vdb");
	st.data_bytes = 1023ull << 20;
	memset(st.instance, 0x11, sizeof st.instance);
	datastore_summary(&st, line, sizeof line);
	is_str(line, "store: vdb, 1023 MiB aes-xts-plain64, key provider dev (insecure dev key), "
		     "instance 1111111111111111, ext4 on /run/store (nodev,nosuid,noexec)",
	       "summary: open, dev key named insecure");
	st.provider = POLICY_KP_KMS;
	st.state = STORE_INFO_FORMATTED;
	datastore_summary(&st, line, sizeof line);
	ok(strncmp(line, "store: formatted vdb, ", 22) == 0 && strstr(line, "insecure") == NULL,
	   "summary: formatted with kms, nothing said insecure (%s)", line);

	st.state = STORE_INFO_PENDING;
	datastore_summary(&st, line, sizeof line);
	is_str(line, "store: vdb, key provider kms, instance 1111111111111111: waiting for the KMS's key",
	       "summary: kms, pending");
	st.state = STORE_INFO_FORMATTED;
	datastore_summary(&st, line, sizeof line);

	struct store_info_msg m;
	st.has_instance = true;
	datastore_info(&st, &m);
	ok(m.state == STORE_INFO_FORMATTED && m.provider == POLICY_KP_KMS && m.insecure == 0 &&
	   m.has_instance == 1 && m.data_bytes == 1023ull << 20 && strcmp(m.summary, line) == 0,
	   "the message for netd carries the same facts");
	st.provider = POLICY_KP_DEV;
	datastore_info(&st, &m);
	is_int(m.insecure, 1, "dev: the message says insecure");
	is_int(m.data_quota, 0, "no project quotas: the message says so");
	st.prjquota = true;
	datastore_info(&st, &m);
	is_int(m.data_quota, 1, "mounted prjquota: the message says so");
	is_int(m.integrity, 0, "integrity none: the message says so");
	st.integrity = STORE_INTEGRITY_HMAC_SHA256;
	st.state = STORE_INFO_OPEN;
	datastore_info(&st, &m);
	is_int(m.integrity, 1, "integrity hmac-sha256: the message says so");
	is_str(m.summary, "store: vdb, 1023 MiB aes-xts-plain64 + dm-integrity hmac-sha256, key "
			  "provider dev (insecure dev key), instance 1111111111111111, ext4 on "
			  "/run/store (nodev,nosuid,noexec)", "summary: the integrity mode named");
}

/* dm-integrity's target line and the superblock fields read before a load. */
static void test_integrity_dev(void)
{
	uint8_t hk[32], jk[32], sbb[INTEGRITY_SB_LEN];
	char line[INTEGRITY_PARAMS_MAX], want[INTEGRITY_PARAMS_MAX], h1[65], h2[65];
	struct integrity_area a = { makedev(253, 16), 2048, 1000, hk, jk, 'J' };
	struct integrity_sb sb;

	memset(hk, 0x3c, sizeof hk);
	memset(jk, 0xc3, sizeof jk);
	hex_encode(h1, hk, 32);
	hex_encode(h2, jk, 32);
	snprintf(want, sizeof want, "253:16 2048 32 J 4 internal_hash:hmac(sha256):%s "
		 "journal_mac:hmac(sha256):%s fix_hmac fix_padding", h1, h2);
	int n = integrity_params(line, sizeof line, &a);
	ok(n > 0 && strcmp(line, want) == 0,
	   "integrity line: device, reserved sectors, 32-byte tags, journal, both keys, fix_hmac");
	memset(line, 'x', sizeof line);
	is_int(integrity_params(line, 100, &a), -ENOSPC, "a short buffer: -ENOSPC");
	char zero[100] = { 0 };
	is_mem(line, zero, 100, "and nothing of the keys is left in it");
	a.mode = 'D';
	ok(integrity_params(line, sizeof line, &a) > 0 && strstr(line, " 32 D 4 ") != NULL,
	   "mode D for the wipe");
	a.mode = 'B';
	is_int(integrity_params(line, sizeof line, &a), -EINVAL, "mode B (bitmap) refused");
	a.mode = 'J';
	a.journal_key = NULL;
	is_int(integrity_params(line, sizeof line, &a), -EINVAL, "no journal key: refused");

	memset(sbb, 0, sizeof sbb);
	is_int(integrity_sb_parse(sbb, &sb), -ENODATA, "an all-zero superblock: not formatted");
	memcpy(sbb, "integrt", 8);
	sbb[8] = 5;
	sbb[10] = 32;
	sbb[16] = 0x00;
	sbb[17] = 0x10;	/* 4096 sectors */
	sbb[24] = 0x11;	/* journal mac, fixed hmac */
	is_int(integrity_sb_parse(sbb, &sb), 0, "dm-integrity's superblock parses");
	ok(sb.version == 5 && sb.tag_size == 32 && sb.provided_sectors == 4096 && sb.flags == 0x11,
	   "version, tag size, provided sectors, flags at their offsets");
	is_int(integrity_sb_check(&sb, 4096, err, sizeof err), 0, "what this store wants");
	is_int(integrity_sb_check(&sb, 4104, err, sizeof err), -EPERM,
	       "providing less than the header says: %s", err);
	sb.flags = 0x01;
	is_int(integrity_sb_check(&sb, 4096, err, sizeof err), -EPERM,
	       "without fix_hmac (a host clearing the flag): %s", err);
	sb.flags = 0x11;
	sb.tag_size = 4;
	is_int(integrity_sb_check(&sb, 4096, err, sizeof err), -EPERM, "another tag size: %s", err);
	sbb[0] = 'X';
	is_int(integrity_sb_parse(sbb, &sb), -EINVAL, "another magic: refused");
}

/* The superblock bits that decide the prjquota mount option, at the
 * offsets of a real one (mke2fs 1.47 -O quota,project -E quotatype=prjquota:
 * ro_compat 0x256b, project quota inode 12; without: 0x046b, 0). */
static void sb_set(uint8_t *sb, uint32_t ro_compat, uint32_t prj_inum)
{
	memset(sb, 0, STORE_EXT4_SB_LEN);
	sb[0x38] = 0x53;
	sb[0x39] = 0xef;
	for (int i = 0; i < 4; i++) {
		sb[0x64 + i] = (uint8_t)(ro_compat >> (8 * i));
		sb[0x26c + i] = (uint8_t)(prj_inum >> (8 * i));
	}
}

static void test_ext4_prjquota(void)
{
	uint8_t sb[STORE_EXT4_SB_LEN];

	sb_set(sb, 0x256b, 12);
	is_int(datastore_ext4_prjquota(sb), 1, "ext4 with quota, project and a project quota inode: prjquota");
	sb_set(sb, 0x046b, 0);
	is_int(datastore_ext4_prjquota(sb), 0, "formatted before quotas: no prjquota");
	sb_set(sb, 0x256b & ~0x2000u, 12);
	is_int(datastore_ext4_prjquota(sb), 0, "quota without project: no prjquota");
	sb_set(sb, 0x256b & ~0x0100u, 12);
	is_int(datastore_ext4_prjquota(sb), 0, "project without quota: no prjquota");
	sb_set(sb, 0x256b, 0);
	is_int(datastore_ext4_prjquota(sb), 0, "no project quota inode: no prjquota");
	sb_set(sb, 0x256b, 12);
	sb[0x39] = 0;
	is_int(datastore_ext4_prjquota(sb), -EINVAL, "not ext4's magic: -EINVAL");
	memset(sb, 0xff, sizeof sb);
	is_int(datastore_ext4_prjquota(sb), -EINVAL, "all ones: -EINVAL");
}

int main(void)
{
	setup();
	test_kdf();
	test_round_trip();
	test_refusals();
	test_integrity();
	test_integrity_dev();
	test_encode_bounds();
	test_crypt_line();
	test_datastore();
	test_ext4_prjquota();
	return tap_done();
}
