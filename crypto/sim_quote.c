/* crypto/sim_quote.c: see sim_quote.h. */
#include "crypto/sim_quote.h"

#include <errno.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

long tdx_sim_quote_build(uint8_t *out, size_t cap, const uint8_t body[TDX_BODY_V10_LEN],
			 const br_ec_private_key *sk)
{
	const br_ec_impl *ec = br_ec_get_default();
	const size_t signed_len = TDX_QUOTE_HEADER_LEN + TDX_BODY_V10_LEN;
	const size_t sig_at = signed_len + 4;
	uint8_t pub[BR_EC_KBUF_PUB_MAX_SIZE], hash[32];
	br_ec_public_key pk;
	br_sha256_context h;

	if (cap < TDX_SIM_QUOTE_LEN)
		return -ENOSPC;
	if (sk->curve != BR_EC_secp256r1 || br_ec_compute_pub(ec, &pk, pub, sk) != 65)
		return -EINVAL;
	memset(out, 0, TDX_SIM_QUOTE_LEN);
	put16(out, 4);
	put16(out + 2, TDX_ATT_KEY_ECDSA_P256);
	put32(out + 4, TDX_TEE_TYPE_TDX);
	/* qe_svn and pce_svn stay 0: there is no QE or PCE. */
	memcpy(out + 12, TDX_SIM_QE_VENDOR_ID, 16);
	memcpy(out + TDX_QUOTE_HEADER_LEN, body, TDX_BODY_V10_LEN);
	put32(out + signed_len, (uint32_t)(2 * TDX_ECDSA_SIG_LEN + 6 + TDX_SIM_CERT_LEN));
	memcpy(out + sig_at + TDX_ECDSA_SIG_LEN, pub + 1, TDX_ECDSA_KEY_LEN);
	put16(out + sig_at + 128, TDX_CERT_TYPE_DSHIELD_SIM);
	put32(out + sig_at + 130, TDX_SIM_CERT_LEN);
	memcpy(out + sig_at + 134, TDX_SIM_MAGIC, TDX_SIM_MAGIC_LEN);
	memcpy(out + sig_at + 134 + TDX_SIM_MAGIC_LEN, pub + 1, TDX_ECDSA_KEY_LEN);

	br_sha256_init(&h);
	br_sha256_update(&h, out, signed_len);
	br_sha256_out(&h, hash);
	/* RFC 6979 deterministic nonces: no RNG needed here. */
	if (br_ecdsa_i31_sign_raw(ec, &br_sha256_vtable, hash, sk, out + sig_at) != TDX_ECDSA_SIG_LEN)
		return -EINVAL;
	return (long)TDX_SIM_QUOTE_LEN;
}
