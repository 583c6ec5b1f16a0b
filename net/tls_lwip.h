/* net/tls_lwip.h: a client TLS engine (tls/engine.h) over an lwIP
 * connection: the one loop that moves ciphertext between them, shared by
 * netd's TLS clients (the egress proxy's upstreams, net/egress_proxy.c;
 * the KMS carrier, net/kms_carrier.c).
 *
 * The caller keeps what lwIP delivered on a pbuf chain (*down) and
 * acknowledges nothing itself: the pump feeds the engine what it takes
 * and only then opens lwIP's window (tcp_recved) for those bytes, so a
 * peer can never have more ciphertext in netd than one window. Toward
 * the peer it writes the engine's records while lwIP has room (and keeps
 * a few queue slots free for the FIN). Plaintext is the caller's
 * business (tls_write, tls_in).
 */
#ifndef DSHIELD_NET_TLS_LWIP_H
#define DSHIELD_NET_TLS_LWIP_H

#include <stdbool.h>

#include "tls/engine.h"

struct pbuf;
struct tcp_pcb;

/* One round both ways. pcb may be NULL (gone): then only *down is fed.
 * peer_eof: lwIP reported the peer's FIN; once *down is empty the engine
 * is told (tls_eof) and *eof_told set. A failed or closed engine drains
 * *down unread. Returns true when anything moved (the caller loops, with
 * its plaintext side, until nothing does). */
bool tls_lwip_pump(struct tls_conn *t, struct tcp_pcb *pcb, struct pbuf **down, bool peer_eof,
		   bool *eof_told);

/* Closed or failed: nothing more comes out of the engine. */
bool tls_lwip_over(struct tls_conn *t);

#endif
