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
 *   A = rd([bytes(range(32)), man, None, None, None])
 *   B = rd([None] * 5)
 *   C = rd([b"", man, b"\xaa" * 32, b"\xbb" * 32, b"checkpoint-1"])
 *   D = rd([b"\x01\x02\x03", man, None, None, None])
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "crypto/reportdata.h"
#include "lib/hex.h"
#include "tests/tap.h"

static const char man_hex[] = "05b3abf2579a5eb66403cd78be557fd860633a1fe2103c7642030defe32c657f";
static const char kat_a[] = "d03d24d9f48f74227c8e0afb54ff2cfb76ac7d8f6bc13787696356168c888170"
			    "20ebaac69fac048097690fd228a618736e0e4dfa150feeb57dc5438c5522a708";
static const char kat_b[] = "399be39e2e0b07888bcbe980dcc0c6ebd109a86a880b607fb7182db88a8481b3"
			    "b126679ea4a1a62bce307ff1ed5b27fe6f67e2aa123ed5b8a7b276016fce60cb";
static const char kat_c[] = "7a34927a7c7db5c9af649ac7b71087078b72aa0a5b9b1e13505c59e0e291ab02"
			    "9e10dc47e300ace91192f66293aeab5b1ba1755aa8a9f3e2c0e875512bd822d7";
static const char kat_d[] = "f6c4b542de0600c0afe7f87934070e0d5fbc6e78e61bce4c7a8a6c50ccf8011f"
			    "bbc8c3aa6136da1258b9e920632bf6c806896379fac6542767680684b5bbc719";

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
	ok(reportdata_field_name((enum rd_field)0) == NULL, "field name 0 is unknown");
	return tap_done();
}
