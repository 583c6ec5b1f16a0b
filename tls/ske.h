/* tls/ske.h: the one message the API's TLS key signs.
 *
 * In a TLS 1.2 ECDHE_ECDSA handshake the server signs (RFC 8422 §5.4)
 *
 *   client_random(32) ‖ server_random(32) ‖ ServerECDHParams
 *   ServerECDHParams = 03 (named_curve) ‖ curve(2) ‖ len(1) ‖ point
 *
 * netd's engine sends keyd these parameters (struct tls_sign_req_msg,
 * proto/netd_keyd.h), never a hash: keyd checks them (tls_ske_check),
 * writes the bytes above itself and hashes them (tls_ske_hash). So the
 * key signs nothing but such a structure, whose point is a valid point of
 * a named curve (docs/TLS.md, "What keyd signs, and why that is safe").
 * The engine hashes its own parameters the same way and compares with the
 * hash BearSSL asked to sign, so what keyd signs is exactly what goes on
 * the wire.
 */
#ifndef DSHIELD_TLS_SKE_H
#define DSHIELD_TLS_SKE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/netd_keyd.h"

/* The signed bytes' length for a point of n bytes. */
#define TLS_SKE_TBS_LEN(n) (64 + 4 + (n))

/* 0 when q is a request keyd may sign, else -EBADMSG. */
int tls_ske_check(const struct tls_sign_req_msg *q);

/* The hash of the signed bytes with q's hash into out (64 bytes of room);
 * returns its length, or -EBADMSG (tls_ske_check refuses q). */
long tls_ske_hash(const struct tls_sign_req_msg *q, uint8_t out[64]);

#endif
