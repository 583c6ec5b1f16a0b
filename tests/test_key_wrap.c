/* tests/test_key_wrap.c: crypto/key_wrap against a known answer computed
 * independently with python3's `cryptography` module (48.0.0 on the
 * machine that made it; ECDH, HKDF and AESGCM are its own code, not
 * BearSSL's), then round trips and tampering.
 *
 *   import hashlib
 *   from cryptography.hazmat.primitives.asymmetric import ec
 *   from cryptography.hazmat.primitives import hashes, serialization
 *   from cryptography.hazmat.primitives.kdf.hkdf import HKDF
 *   from cryptography.hazmat.primitives.ciphers.aead import AESGCM
 *   sc = lambda l: int.from_bytes(hashlib.sha256(l).digest(), 'big')
 *   key = lambda d: ec.derive_private_key(d, ec.SECP256R1())
 *   pub = lambda k: k.public_key().public_bytes(serialization.Encoding.X962,
 *                   serialization.PublicFormat.UncompressedPoint)
 *   r, e, s = key(sc(b"requester")), key(sc(b"kms-ephemeral")), key(sc(b"kms-static"))
 *   R, E, S = pub(r), pub(e), pub(s)
 *   N = bytes(range(32)); X = hashlib.sha256(b"freshness").digest()
 *   K = bytes(range(0x40, 0x80)); hdr = b"DSKW\x01\x01"
 *   ikm = e.exchange(ec.ECDH(), r.public_key()) + s.exchange(ec.ECDH(), r.public_key())
 *   t = hdr + R + E + S + N + X
 *   okm = HKDF(hashes.SHA256(), 44, b"dshield-key-wrap-v1",
 *              b"dshield-key-wrap-v1 key+iv" + t).derive(ikm)
 *   blob = hdr + E + AESGCM(okm[:32]).encrypt(okm[32:], K, t)
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <bearssl.h>

#include "crypto/key_wrap.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "tests/tap.h"

static const char r_hex[] = "2591c674ea8032f0f8ce8298598954bd208929f7a61bcdfcef96940b8deb603a";
static const char e_hex[] = "b57eef428296db0c8f8176806b9284bace45434c0e002b64257f5a1e0a270737";
static const char s_hex[] = "b18027761c03c8b52d44aa6f22464b495f0c8a5abb4d47c28b109b1077455fd4";
static const char R_hex[] = "0410e1cad3b92a6b3952ffcb41a9874f24c3995650d1d286096fb78011564a18c7"
			    "85d1360df94219bc1e5b4fe6b741b8876cdfee4b189bb25f21fa8cb5aad0a3c5";
static const char S_hex[] = "043f991b96dad3279ad779533ca969d857e574eccd94527034e0969f9ef466f356"
			    "3e6cb7308d1aef5e0537bb4ca193347d1f2518cdcea5ed984c0dcca0973bdac9";
static const char blob_hex[] =
	"44534b57010104700e11a7c5db912d769b8cd6706426c862fcf8b0079aff800fb4d035ecefd7b5a4d277"
	"49fa1719fe8ce6ab601a82071d9936c87597583dcdb3891d7ba71fc5b38fde2b8865a798fa50922279f8"
	"30e8b896aaea924786333ebd55874b6038e66f4193355c375dbaa20ffb44b24a50407d3d1a155030931161"
	"755d24260cc535e2fdd190ff0946758c1561553d0518af4c";

static uint8_t r_priv[32], e_priv[32], s_priv[32], R[65], S[65], N[32], X[32], K[64];
static uint8_t kat[KW_BLOB_LEN];

static void unhex(uint8_t *out, size_t n, const char *h, const char *what)
{
	ok(hex_decode(out, n, h, strlen(h)) == (ssize_t)n, "%s decodes", what);
}

int main(void)
{
	struct kw_binding bind = { R, S, N, X };
	uint8_t blob[KW_BLOB_LEN], key[KW_KEY_LEN], pub[65], other[32];
	char err[ERRBUF_LEN];
	struct kw_blob b;
	br_sha256_context h;
	size_t flips_refused = 0;

	unhex(r_priv, 32, r_hex, "r");
	unhex(e_priv, 32, e_hex, "e");
	unhex(s_priv, 32, s_hex, "s");
	unhex(R, 65, R_hex, "R");
	unhex(S, 65, S_hex, "S");
	unhex(kat, KW_BLOB_LEN, blob_hex, "the known blob");
	for (int i = 0; i < 32; i++)
		N[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		K[i] = (uint8_t)(0x40 + i);
	br_sha256_init(&h);
	br_sha256_update(&h, "freshness", 9);
	br_sha256_out(&h, X);

	is_int(key_wrap_pub(pub, r_priv), 0, "R from r");
	is_mem(pub, R, 65, "R is python's");
	is_int(key_wrap_pub(pub, s_priv), 0, "S from s");
	is_mem(pub, S, 65, "S is python's");

	/* Known answer, both directions. */
	is_int(key_wrap_seal(blob, K, &bind, e_priv, s_priv), KW_BLOB_LEN, "seal");
	is_mem(blob, kat, KW_BLOB_LEN, "seal: python's blob, byte for byte");
	is_int(key_wrap_open(key, kat, KW_BLOB_LEN, &bind, r_priv, err, sizeof err), 0,
	       "open python's blob");
	is_mem(key, K, 64, "open: the disk key");

	/* Decode/encode round trip. */
	is_int(key_wrap_decode(&b, kat, KW_BLOB_LEN, err, sizeof err), 0, "decode");
	ok(key_wrap_encode(blob, &b) == KW_BLOB_LEN && memcmp(blob, kat, KW_BLOB_LEN) == 0,
	   "encode(decode(blob)) == blob");

	/* Every single flipped bit is refused. */
	for (size_t i = 0; i < KW_BLOB_LEN * 8; i++) {
		memcpy(blob, kat, KW_BLOB_LEN);
		blob[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (key_wrap_open(key, blob, KW_BLOB_LEN, &bind, r_priv, err, sizeof err) < 0) {
			static const uint8_t zero[64];
			if (memcmp(key, zero, 64) == 0)
				flips_refused++;
		}
	}
	is_int(flips_refused, KW_BLOB_LEN * 8, "each of the %d bit flips is refused, key zeroed",
	       KW_BLOB_LEN * 8);

	/* Wrong lengths, version, suite. */
	is_int(key_wrap_open(key, kat, KW_BLOB_LEN - 1, &bind, r_priv, err, sizeof err), -EINVAL,
	       "short blob refused: %s", err);
	memcpy(blob, kat, KW_BLOB_LEN);
	blob[4] = 2;
	is_int(key_wrap_decode(&b, blob, KW_BLOB_LEN, err, sizeof err), -EPROTONOSUPPORT,
	       "version 2 refused: %s", err);
	memcpy(blob, kat, KW_BLOB_LEN);
	blob[5] = 0;
	is_int(key_wrap_decode(&b, blob, KW_BLOB_LEN, err, sizeof err), -EPROTONOSUPPORT,
	       "suite 0 refused");
	memcpy(blob, kat, KW_BLOB_LEN);
	blob[KW_HDR_LEN] = 0x02;
	is_int(key_wrap_decode(&b, blob, KW_BLOB_LEN, err, sizeof err), -EINVAL,
	       "compressed KMS point refused");

	/* Every binding matters: another nonce, context, KMS key, requester. */
	{
		uint8_t n2[32], x2[32];
		struct kw_binding bb = bind;
		memcpy(n2, N, 32);
		n2[31] ^= 1;
		bb.nonce = n2;
		is_int(key_wrap_open(key, kat, KW_BLOB_LEN, &bb, r_priv, err, sizeof err), -EBADMSG,
		       "another nonce: refused");
		bb = bind;
		memcpy(x2, X, 32);
		x2[0] ^= 0x80;
		bb.ctx = x2;
		is_int(key_wrap_open(key, kat, KW_BLOB_LEN, &bb, r_priv, err, sizeof err), -EBADMSG,
		       "another context digest: refused");
		bb = bind;
		bb.kms_pub = R;   /* a valid point, not the KMS's */
		is_int(key_wrap_open(key, kat, KW_BLOB_LEN, &bb, r_priv, err, sizeof err), -EBADMSG,
		       "another pinned KMS key: refused");
		/* A host that knows e but not s cannot make a blob that opens. */
		memcpy(other, s_priv, 32);
		other[31] ^= 1;
		ok(key_wrap_pub(pub, other) == 0, "an impostor's static key");
		bb = bind;
		bb.kms_pub = pub;
		is_int(key_wrap_seal(blob, K, &bb, e_priv, other), KW_BLOB_LEN, "impostor seals");
		is_int(key_wrap_open(key, blob, KW_BLOB_LEN, &bind, r_priv, err, sizeof err), -EBADMSG,
		       "the impostor's blob does not open with the pinned key");
		/* The requester's private key must be R's. */
		is_int(key_wrap_open(key, kat, KW_BLOB_LEN, &bind, e_priv, err, sizeof err), -EINVAL,
		       "a private key that is not R's: refused (%s)", err);
	}

	/* Invalid keys. */
	{
		uint8_t zero[32] = { 0 }, bad[65];
		struct kw_binding bb = bind;
		is_int(key_wrap_pub(pub, zero), -EINVAL, "scalar 0 refused");
		memset(other, 0xff, 32);
		is_int(key_wrap_pub(pub, other), -EINVAL, "scalar above the order refused");
		is_int(key_wrap_seal(blob, K, &bind, zero, s_priv), -EINVAL, "seal: eph 0 refused");
		is_int(key_wrap_seal(blob, K, &bind, e_priv, e_priv), -EINVAL,
		       "seal: static key not S refused");
		memcpy(bad, R, 65);
		bad[64] ^= 1;   /* off the curve */
		bb.req_pub = bad;
		is_int(key_wrap_seal(blob, K, &bb, e_priv, s_priv), -EINVAL,
		       "seal: R off the curve refused");
		/* E replaced by a point off the curve, tag untouched. */
		memcpy(blob, kat, KW_BLOB_LEN);
		blob[KW_HDR_LEN + 64] ^= 1;
		is_int(key_wrap_open(key, blob, KW_BLOB_LEN, &bind, r_priv, err, sizeof err), -EINVAL,
		       "open: E off the curve refused (%s)", err);
	}

	/* Fresh ephemeral keys give fresh blobs that open. */
	{
		uint8_t e2[32];
		memcpy(e2, e_priv, 32);
		e2[0] ^= 0x01;
		is_int(key_wrap_seal(blob, K, &bind, e2, s_priv), KW_BLOB_LEN, "seal with another e");
		ok(memcmp(blob, kat, KW_BLOB_LEN) != 0, "another blob");
		is_int(key_wrap_open(key, blob, KW_BLOB_LEN, &bind, r_priv, err, sizeof err), 0,
		       "it opens");
		is_mem(key, K, 64, "to the same disk key");
	}
	return tap_done();
}
