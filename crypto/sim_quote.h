/* crypto/sim_quote.h: building dshield `sim` quotes.
 *
 * A sim quote has the layout of a real TDX quote v4 (crypto/tdx_quote.h):
 * header (version 4, attestation key type 2 = ECDSA P-256, TEE type 0x81,
 * QE vendor id TDX_SIM_QE_VENDOR_ID), a 584-byte TD report body supplied by
 * the caller, and signature data: the ECDSA P-256 signature over
 * SHA-256(header ‖ body), the simulation public key as attestation key, and
 * certification data of type TDX_CERT_TYPE_DSHIELD_SIM (TDX_SIM_MAGIC ‖ the
 * same public key). The sim backend (keyd/attest.c) and the tests share
 * this one builder. A sim quote proves nothing about hardware: whoever holds
 * the key (generated at boot, inside the VM) can sign any body.
 */
#ifndef DSHIELD_CRYPTO_SIM_QUOTE_H
#define DSHIELD_CRYPTO_SIM_QUOTE_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/tdx_quote.h"

/* "dshield-sim-qe" padded with NULs: no Intel QE has this vendor id. */
#define TDX_SIM_QE_VENDOR_ID "dshield-sim-qe\0\0"
#define TDX_SIM_QUOTE_LEN (TDX_QUOTE_HEADER_LEN + TDX_BODY_V10_LEN + 4 + \
			   2 * TDX_ECDSA_SIG_LEN + 6 + TDX_SIM_CERT_LEN)

/* Writes the quote for `body` signed with the P-256 private key sk into
 * out. Returns its length (TDX_SIM_QUOTE_LEN), or -ENOSPC (cap too small),
 * -EINVAL (sk is not a valid P-256 key). */
long tdx_sim_quote_build(uint8_t *out, size_t cap, const uint8_t body[TDX_BODY_V10_LEN],
			 const br_ec_private_key *sk);

#endif
