/* net/egress_sni.h: the server name in a function's TLS ClientHello, for
 * the SNI check of passthrough connections (docs/EGRESS.md, "The
 * passthrough proxy"): the proxy relays the function's own TLS unread,
 * but its first record must name the host the function was allowed to
 * reach, so that a shared front (a CDN address) cannot be asked for
 * another of its names.
 *
 * Bounded: one TLS record (RFC 8446 5.1, at most 16384 bytes of
 * payload) holding the whole ClientHello (RFC 8446 4.1.2; a ClientHello
 * split over records is refused), every length checked against the
 * one that contains it, the server_name extension (RFC 6066 3) at most
 * once, with at most one host_name of 1..255 bytes.
 *
 * No I/O, no allocation, no hidden state.
 */
#ifndef DSHIELD_NET_EGRESS_SNI_H
#define DSHIELD_NET_EGRESS_SNI_H

#include <stddef.h>
#include <stdint.h>

#define ESNI_NAME_MAX 255

/* Does p[0..n) begin like a TLS handshake record (content type 22)? The
 * caller's choice of what to do with a stream that does not. */
static inline int esni_is_tls(const uint8_t *p, size_t n)
{
	return n > 0 && p[0] == 0x16;
}

/* Parses the ClientHello record at p[0..n). Returns the record's length
 * (> 0) with the host_name in name[0..*len) and NUL terminated (*len 0:
 * the ClientHello has no server_name), 0 when more bytes are needed
 * (nothing wrong so far), -E2BIG when the record is longer than max
 * bytes (the caller's buffer), or -EINVAL with one line in err (not a
 * handshake record, not a ClientHello, a length that does not fit, a
 * ClientHello over more than one record, a malformed or repeated
 * server_name). name has room for ESNI_NAME_MAX + 1 bytes. */
long esni_parse(const uint8_t *p, size_t n, size_t max, char name[ESNI_NAME_MAX + 1], size_t *len,
		char *err, size_t errlen);

#endif
