/* tests/test_reportdata.c: REPORTDATA against known answers computed once
 * with Python's hashlib, independently of the C code:
 *
 *   def rd(fields):
 *       h = hashlib.sha512(b"dshield-reportdata-v1")
 *       for tag, v in enumerate(fields, 1):
 *           if v is None: h.update(bytes([tag, 0]) + struct.pack('<I', 0))
 *           else: h.update(bytes([tag, 1]) + struct.pack('<I', len(v)) + v)
 *       return h.hexdigest()
 *   man = hashlib.sha256(b"manifest").digest()
 *   A = rd([bytes(range(32)), man, None, None, None, None])
 *   B = rd([None] * 6)
 *   C = rd([b"", man, b"\xaa" * 32, b"\xbb" * 32, b"checkpoint-1", None])
 *   D = rd([b"\x01\x02\x03", man, None, None, None, None])
 *   kr = hashlib.sha256(b"dshield-kms-request-v1" + b"\x04" + bytes(range(1, 65))
 *                       + bytes(range(32))).digest()
 *   E = rd([None, man, None, b"\xbb" * 32, None, kr])
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "crypto/reportdata.h"
#include "lib/hex.h"
#include "tests/tap.h"

static const char man_hex[] = "05b3abf2579a5eb66403cd78be557fd860633a1fe2103c7642030defe32c657f";
static const char kat_a[] = "7a506ae726aaf611a3be1371d6208303931bb04b14f0e196fe44237c2bcb6b9c"
			    "f5557be528112de96ec4dc538dc3b30b7a30a268626c667b665ed1a2b8f8e828";
static const char kat_b[] = "8663a28fffd6be20585b16f65e53a8e547d5956735f12856e72900c64dd8926e"
			    "d43ed0b2daf0812dc35e86924a0efba479f7a9a31dda2ffe6ede1269f012c642";
static const char kat_c[] = "f7e6ed74c09daf6abbdef114bb44b10b8ec520ac241d93eae9180684cd300fd5"
			    "59f3ddb8e7de4d4c97f5842f2ad3b778f98f334c604efe7ca796704ba3c75d09";
static const char kat_d[] = "e5d2c13aef4212b592766d8f71b26a13cfc9e4692f97d2a13c91d87b4c671807"
			    "88954d4584761437124ac407908db399779f95958970c4f4f279a4d8f69e2190";

static const char kat_kr[] = "a0cd3b0622a1a4b49fa2792c8b5764916b206fc912dac5a718098487257b72d2";
static const char kat_e[] = "9fb0621c128f91816805209e18eb17d4f10ea870e3a86473a33e87d636b14c20"
			    "eff5635c33eef7b32e7464578aae3e22331a62744a387d9150b2d91417c512db";

static uint8_t man[32];

static void set(struct reportdata_in *in, enum rd_field tag, const void *p, size_t len)
{
	in->f[tag - 1].present = true;
	in->f[tag - 1].data = p;
	in->f[tag - 1].len = len;
}

static void check(const struct reportdata_in *in, const char *want, const char *name)
{
	uint8_t out[RD_LEN];
	char got[2 * RD_LEN + 1];
	int r = reportdata_compute(in, out);
	is_int(r, 0, "%s: computes", name);
	hex_encode(got, out, sizeof out);
	is_str(got, want, "%s: known answer", name);
}

int main(void)
{
	struct reportdata_in in;
	uint8_t nonce[32], aa[32], bb[32], out[RD_LEN], big[RD_CHECKPOINT_MAX + 1];

	ok(hex_decode(man, sizeof man, man_hex, 64) == 32, "manifest hash decodes");
	for (int i = 0; i < 32; i++)
		nonce[i] = (uint8_t)i;
	memset(aa, 0xaa, sizeof aa);
	memset(bb, 0xbb, sizeof bb);

	memset(&in, 0, sizeof in);
	set(&in, RD_NONCE, nonce, 32);
	set(&in, RD_MANIFEST_SHA256, man, 32);
	check(&in, kat_a, "nonce + manifest");

	memset(&in, 0, sizeof in);
	check(&in, kat_b, "all absent");

	memset(&in, 0, sizeof in);
	set(&in, RD_NONCE, "", 0);
	set(&in, RD_MANIFEST_SHA256, man, 32);
	set(&in, RD_API_TLS_SPKI_SHA256, aa, 32);
	set(&in, RD_LOG_KEY_SHA256, bb, 32);
	set(&in, RD_CHECKPOINT, "checkpoint-1", 12);
	check(&in, kat_c, "every field, empty nonce present");

	memset(&in, 0, sizeof in);
	set(&in, RD_NONCE, "\x01\x02\x03", 3);
	set(&in, RD_MANIFEST_SHA256, man, 32);
	check(&in, kat_d, "short nonce");

	{
		uint8_t pub[65], kr[32];
		char krhex[65];
		pub[0] = 4;
		for (int i = 1; i < 65; i++)
			pub[i] = (uint8_t)i;
		reportdata_kms_request(kr, pub, nonce);
		hex_encode(krhex, kr, 32);
		is_str(krhex, kat_kr, "kms request digest: known answer");
		memset(&in, 0, sizeof in);
		set(&in, RD_MANIFEST_SHA256, man, 32);
		set(&in, RD_LOG_KEY_SHA256, bb, 32);
		set(&in, RD_KMS_REQUEST_SHA256, kr, 32);
		check(&in, kat_e, "kms request slot");
		set(&in, RD_KMS_REQUEST_SHA256, kr, 31);
		is_int(reportdata_compute(&in, out), -EINVAL, "31-byte kms request digest refused");
	}

	/* Slot lengths are enforced. */
	memset(&in, 0, sizeof in);
	set(&in, RD_NONCE, big, 33);
	is_int(reportdata_compute(&in, out), -EINVAL, "33-byte nonce refused");
	memset(&in, 0, sizeof in);
	set(&in, RD_MANIFEST_SHA256, man, 31);
	is_int(reportdata_compute(&in, out), -EINVAL, "31-byte manifest hash refused");
	memset(&in, 0, sizeof in);
	set(&in, RD_LOG_KEY_SHA256, big, 33);
	is_int(reportdata_compute(&in, out), -EINVAL, "33-byte log key hash refused");
	memset(&in, 0, sizeof in);
	set(&in, RD_CHECKPOINT, big, sizeof big);
	is_int(reportdata_compute(&in, out), -EINVAL, "oversized checkpoint refused");
	memset(&in, 0, sizeof in);
	set(&in, RD_NONCE, NULL, 4);
	is_int(reportdata_compute(&in, out), -EINVAL, "NULL data with a length refused");

	is_str(reportdata_field_name(RD_NONCE), "nonce", "field name 1");
	is_str(reportdata_field_name(RD_CHECKPOINT), "checkpoint", "field name 5");
	is_str(reportdata_field_name(RD_KMS_REQUEST_SHA256), "kms_request_sha256", "field name 6");
	ok(reportdata_field_name((enum rd_field)7) == NULL, "field name 7 is unknown");
	ok(reportdata_field_name((enum rd_field)0) == NULL, "field name 0 is unknown");
	return tap_done();
}
