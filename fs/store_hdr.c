/* fs/store_hdr.c: see store_hdr.h (the layout and the checks). */
#include "fs/store_hdr.h"
#include "lib/bytes.h"
#include "lib/errbuf.h"

#include <bearssl.h>
#include <errno.h>
#include <string.h>

#define OFF_MAGIC      0
#define OFF_VERSION    8
#define OFF_LEN        12
#define OFF_INSTANCE   16
#define OFF_CIPHER     48
#define OFF_KEYBITS    80
#define OFF_SECTOR     84
#define OFF_DATA_OFF   88
#define OFF_DATA_LEN   96
#define OFF_KDF        104
#define OFF_INTEGRITY  108
#define OFF_SALT       112
#define OFF_PROVIDER   144
#define OFF_GENERATION 160
#define OFF_INTEG_LEN  168
#define OFF_RESERVED   176

_Static_assert(OFF_RESERVED <= STORE_HDR_MAC_OFF, "fields before the MAC");
_Static_assert(STORE_HDR_MAC_OFF + 32 == STORE_HDR_SIZE, "the MAC ends the header");
_Static_assert(OFF_CIPHER + STORE_CIPHER_MAX == OFF_KEYBITS, "cipher field");
_Static_assert(OFF_PROVIDER + STORE_PROVIDER_MAX == OFF_GENERATION, "provider field");

/* The smallest data area: one 4 KiB block. The header area is the first 8
 * sectors at least, and the data area starts 4 KiB aligned. */
#define MIN_DATA_SECTORS 8u

static const char INFO_CRYPT[] = "dshield-store/v1 dm-crypt key";
static const char INFO_MAC[] = "dshield-store/v1 header mac key";
static const char INFO_SEAL[] = "dshield-store/v1 seal key";
static const char INFO_INTEG[] = "dshield-store/v1 dm-integrity key";
static const char INFO_JMAC[] = "dshield-store/v1 dm-integrity journal mac key";

int store_hdr_init(struct store_hdr *h, uint64_t disk_sectors,
		   const uint8_t instance[STORE_INSTANCE_LEN], const uint8_t salt[32],
		   const char *provider)
{
	memset(h, 0, sizeof *h);
	if (disk_sectors > STORE_MAX_SECTORS ||
	    disk_sectors < STORE_DATA_OFFSET + MIN_DATA_SECTORS)
		return -ERANGE;
	if (strlen(provider) >= STORE_PROVIDER_MAX)
		return -EINVAL;
	h->version = STORE_HDR_VERSION;
	memcpy(h->instance, instance, STORE_INSTANCE_LEN);
	memcpy(h->cipher, STORE_CIPHER, sizeof STORE_CIPHER);
	h->key_bits = STORE_KEY_BITS;
	h->sector_size = STORE_SECTOR;
	h->data_offset = STORE_DATA_OFFSET;
	/* whole 4 KiB blocks: ext4's block size */
	h->data_sectors = (disk_sectors - STORE_DATA_OFFSET) & ~(uint64_t)7;
	h->kdf = STORE_KDF_HKDF_SHA256;
	memcpy(h->kdf_salt, salt, sizeof h->kdf_salt);
	memcpy(h->provider, provider, strlen(provider) + 1);
	return 0;
}

void store_derive(const uint8_t key[STORE_KEY_LEN], const struct store_hdr *h,
		  struct store_keys *k)
{
	br_hkdf_context prk, hc;
	uint8_t salt[32 + STORE_INSTANCE_LEN];

	memcpy(salt, h->kdf_salt, 32);
	memcpy(salt + 32, h->instance, STORE_INSTANCE_LEN);
	br_hkdf_init(&prk, &br_sha256_vtable, salt, sizeof salt);
	br_hkdf_inject(&prk, key, STORE_KEY_LEN);
	br_hkdf_flip(&prk);
	/* One Expand per subkey: each from a copy of the extracted state. */
	hc = prk;
	br_hkdf_produce(&hc, INFO_CRYPT, sizeof INFO_CRYPT - 1, k->crypt, sizeof k->crypt);
	hc = prk;
	br_hkdf_produce(&hc, INFO_MAC, sizeof INFO_MAC - 1, k->mac, sizeof k->mac);
	hc = prk;
	br_hkdf_produce(&hc, INFO_SEAL, sizeof INFO_SEAL - 1, k->seal, sizeof k->seal);
	hc = prk;
	br_hkdf_produce(&hc, INFO_INTEG, sizeof INFO_INTEG - 1, k->integ, sizeof k->integ);
	hc = prk;
	br_hkdf_produce(&hc, INFO_JMAC, sizeof INFO_JMAC - 1, k->jmac, sizeof k->jmac);
	explicit_bzero(&hc, sizeof hc);
	explicit_bzero(&prk, sizeof prk);
}

void store_keys_wipe(struct store_keys *k)
{
	explicit_bzero(k, sizeof *k);
}

static void mac_of(const uint8_t in[STORE_HDR_SIZE], const uint8_t key[32], uint8_t out[32])
{
	br_hmac_key_context kc;
	br_hmac_context c;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, 32);
	br_hmac_init(&c, &kc, 0);
	br_hmac_update(&c, in, STORE_HDR_MAC_OFF);
	br_hmac_out(&c, out);
	explicit_bzero(&kc, sizeof kc);
	explicit_bzero(&c, sizeof c);
}

/* A NUL-padded string field: at least one NUL, printable ASCII before it,
 * only NULs after it. Returns its length or -1. */
static int field_str(const uint8_t *p, size_t cap)
{
	size_t n = 0;
	while (n < cap && p[n] != 0) {
		if (p[n] < 0x21 || p[n] > 0x7e)
			return -1;
		n++;
	}
	if (n == 0 || n == cap)
		return -1;
	for (size_t i = n; i < cap; i++)
		if (p[i] != 0)
			return -1;
	return (int)n;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* The bounds a header must keep, whichever side wrote it. */
static int check_fields(const struct store_hdr *h, char *err, size_t errlen)
{
	if (h->key_bits == 0 || h->key_bits > 8 * sizeof(((struct store_keys *)0)->crypt) ||
	    h->key_bits % 8 != 0)
		return errbuf_set(err, errlen, -EINVAL, "store header: key size %u bits",
				  h->key_bits);
	if (h->sector_size != STORE_SECTOR)
		return errbuf_set(err, errlen, -EINVAL, "store header: sector size %u, not 512",
				  h->sector_size);
	if (h->data_offset < 8 || h->data_offset % 8 != 0 || h->data_offset > STORE_MAX_SECTORS)
		return errbuf_set(err, errlen, -EINVAL,
				  "store header: data offset %llu sectors (>= 8, 4 KiB aligned)",
				  (unsigned long long)h->data_offset);
	if (h->data_sectors < MIN_DATA_SECTORS || h->data_sectors % 8 != 0 ||
	    h->data_sectors > STORE_MAX_SECTORS)
		return errbuf_set(err, errlen, -EINVAL,
				  "store header: data size %llu sectors (whole 4 KiB blocks)",
				  (unsigned long long)h->data_sectors);
	if (h->kdf != STORE_KDF_HKDF_SHA256)
		return errbuf_set(err, errlen, -EINVAL, "store header: unknown KDF %u", h->kdf);
	if (h->integrity != STORE_INTEGRITY_NONE && h->integrity != STORE_INTEGRITY_HMAC_SHA256)
		return errbuf_set(err, errlen, -EINVAL, "store header: integrity mode %u not built",
				  h->integrity);
	/* none: no dm-integrity, the field is zero; hmac-sha256: what
	 * dm-integrity provides of the area, whole 4 KiB blocks */
	if (h->integrity == STORE_INTEGRITY_NONE ? h->integ_sectors != 0 :
	    h->integ_sectors < MIN_DATA_SECTORS || h->integ_sectors % 8 != 0 ||
	    h->integ_sectors > h->data_sectors)
		return errbuf_set(err, errlen, -EINVAL,
				  "store header: integrity data size %llu sectors for mode %u",
				  (unsigned long long)h->integ_sectors, h->integrity);
	return 0;
}

int store_hdr_encode(const struct store_hdr *h, const uint8_t mac_key[32],
		     uint8_t out[STORE_HDR_SIZE])
{
	size_t cl = strnlen(h->cipher, sizeof h->cipher), pl = strnlen(h->provider, sizeof h->provider);

	if (h->version != STORE_HDR_VERSION || cl == 0 || cl == sizeof h->cipher || pl == 0 ||
	    pl == sizeof h->provider || check_fields(h, NULL, 0) != 0)
		return -EINVAL;
	memset(out, 0, STORE_HDR_SIZE);
	memcpy(out + OFF_MAGIC, STORE_HDR_MAGIC, 8);
	put_le32(out + OFF_VERSION, h->version);
	put_le32(out + OFF_LEN, STORE_HDR_SIZE);
	memcpy(out + OFF_INSTANCE, h->instance, STORE_INSTANCE_LEN);
	memcpy(out + OFF_CIPHER, h->cipher, cl);
	put_le32(out + OFF_KEYBITS, h->key_bits);
	put_le32(out + OFF_SECTOR, h->sector_size);
	put_le64(out + OFF_DATA_OFF, h->data_offset);
	put_le64(out + OFF_DATA_LEN, h->data_sectors);
	put_le32(out + OFF_KDF, h->kdf);
	put_le32(out + OFF_INTEGRITY, h->integrity);
	memcpy(out + OFF_SALT, h->kdf_salt, sizeof h->kdf_salt);
	memcpy(out + OFF_PROVIDER, h->provider, pl);
	put_le64(out + OFF_GENERATION, h->generation);
	put_le64(out + OFF_INTEG_LEN, h->integ_sectors);
	/* printable ASCII only, as the parser wants */
	if (field_str(out + OFF_CIPHER, STORE_CIPHER_MAX) < 0 ||
	    field_str(out + OFF_PROVIDER, STORE_PROVIDER_MAX) < 0) {
		memset(out, 0, STORE_HDR_SIZE);
		return -EINVAL;
	}
	mac_of(out, mac_key, out + STORE_HDR_MAC_OFF);
	return 0;
}

int store_hdr_parse(const uint8_t in[STORE_HDR_SIZE], struct store_hdr *h, char *err,
		    size_t errlen)
{
	memset(h, 0, sizeof *h);
	if (all_zero(in, STORE_HDR_SIZE))
		return errbuf_set(err, errlen, -ENODATA, "store header: blank (all zero)");
	if (memcmp(in + OFF_MAGIC, STORE_HDR_MAGIC, 8) != 0)
		return errbuf_set(err, errlen, -EILSEQ,
				  "store header: bad magic (not a dshield store)");
	h->version = le32(in + OFF_VERSION);
	if (h->version != STORE_HDR_VERSION)
		return errbuf_set(err, errlen, -EPROTONOSUPPORT,
				  "store header: unknown version %u (this build reads %u)",
				  h->version, STORE_HDR_VERSION);
	if (le32(in + OFF_LEN) != STORE_HDR_SIZE)
		return errbuf_set(err, errlen, -EINVAL, "store header: length %u, not %u",
				  le32(in + OFF_LEN), STORE_HDR_SIZE);
	if (field_str(in + OFF_CIPHER, STORE_CIPHER_MAX) < 0)
		return errbuf_set(err, errlen, -EINVAL, "store header: cipher field malformed");
	if (field_str(in + OFF_PROVIDER, STORE_PROVIDER_MAX) < 0)
		return errbuf_set(err, errlen, -EINVAL, "store header: key provider field malformed");
	if (!all_zero(in + OFF_RESERVED, STORE_HDR_MAC_OFF - OFF_RESERVED))
		return errbuf_set(err, errlen, -EINVAL, "store header: reserved bytes not zero");
	memcpy(h->instance, in + OFF_INSTANCE, STORE_INSTANCE_LEN);
	memcpy(h->cipher, in + OFF_CIPHER, STORE_CIPHER_MAX);
	h->key_bits = le32(in + OFF_KEYBITS);
	h->sector_size = le32(in + OFF_SECTOR);
	h->data_offset = le64(in + OFF_DATA_OFF);
	h->data_sectors = le64(in + OFF_DATA_LEN);
	h->kdf = le32(in + OFF_KDF);
	h->integrity = le32(in + OFF_INTEGRITY);
	memcpy(h->kdf_salt, in + OFF_SALT, sizeof h->kdf_salt);
	memcpy(h->provider, in + OFF_PROVIDER, STORE_PROVIDER_MAX);
	h->generation = le64(in + OFF_GENERATION);
	h->integ_sectors = le64(in + OFF_INTEG_LEN);
	return check_fields(h, err, errlen);
}

int store_hdr_verify_mac(const uint8_t in[STORE_HDR_SIZE], const uint8_t mac_key[32])
{
	uint8_t want[32], diff = 0;

	mac_of(in, mac_key, want);
	for (size_t i = 0; i < sizeof want; i++)
		diff |= (uint8_t)(want[i] ^ in[STORE_HDR_MAC_OFF + i]);
	explicit_bzero(want, sizeof want);
	return diff == 0 ? 0 : -EBADMSG;
}

int store_hdr_check(const struct store_hdr *h, const struct store_expect *e, char *err,
		    size_t errlen)
{
	if (strcmp(h->cipher, e->cipher) != 0 || h->key_bits != e->key_bits)
		return errbuf_set(err, errlen, -EPERM,
				  "store header: cipher %s (%u bits), the policy wants %s (%u bits)",
				  h->cipher, h->key_bits, e->cipher, e->key_bits);
	/* the cipher swap's twin: a host must not turn authentication off */
	if (h->integrity != e->integrity)
		return errbuf_set(err, errlen, -EPERM,
				  "store header: integrity %s, the policy wants %s",
				  store_integrity_name(h->integrity), store_integrity_name(e->integrity));
	if (e->instance && memcmp(h->instance, e->instance, STORE_INSTANCE_LEN) != 0)
		return errbuf_set(err, errlen, -EXDEV,
				  "store header: another instance's disk (instance id differs)");
	/* check_fields bounded both terms: no overflow */
	uint64_t end = h->data_offset + h->data_sectors;
	if (end > e->disk_sectors)
		return errbuf_set(err, errlen, -ERANGE,
				  "store header: needs %llu sectors, the disk has %llu",
				  (unsigned long long)end, (unsigned long long)e->disk_sectors);
	return 0;
}

int store_hdr_open(const uint8_t in[STORE_HDR_SIZE], const uint8_t key[STORE_KEY_LEN],
		   const struct store_expect *e, struct store_hdr *h, struct store_keys *k,
		   char *err, size_t errlen)
{
	int r;

	memset(k, 0, sizeof *k);
	if ((r = store_hdr_parse(in, h, err, errlen)) != 0)
		return r;
	store_derive(key, h, k);
	if (store_hdr_verify_mac(in, k->mac) != 0)
		r = errbuf_set(err, errlen, -EBADMSG,
			       "store header: MAC does not verify (wrong key, or the header was changed)");
	else
		r = store_hdr_check(h, e, err, errlen);
	if (r != 0)
		store_keys_wipe(k);
	return r;
}

const char *store_integrity_name(uint32_t mode)
{
	switch (mode) {
	case STORE_INTEGRITY_NONE: return "none";
	case STORE_INTEGRITY_HMAC_SHA256: return "hmac-sha256";
	default: return "?";
	}
}

const char *store_hdr_error_name(int code)
{
	switch (code) {
	case -ENODATA: return "blank";
	case -EILSEQ: return "bad magic";
	case -EPROTONOSUPPORT: return "unknown version";
	case -EINVAL: return "malformed";
	case -EBADMSG: return "bad MAC";
	case -EPERM: return "cipher or integrity refused";
	case -EXDEV: return "other instance";
	case -ERANGE: return "disk too small";
	default: return "error";
	}
}
