/* tls/sessions.h: TLS 1.2 session resumption for netd's terminating
 * engines (docs/TLS.md, "Session resumption").
 *
 * A fixed table of sessions, caller-owned, that BearSSL's server engine
 * saves to after a full handshake and loads from when a ClientHello
 * offers a session ID. A session resumes only where a full handshake
 * would have been allowed: the connection's expected name (the name
 * behind the fake address) must be the name the session was made for
 * (checked here), and the ClientHello's SNI must be that name too. BearSSL
 * looks a session up before it reads the ClientHello's extensions, and a
 * resumed handshake never calls the policy that checks SNI on a full one,
 * so the engine checks it when a resumed handshake ends and fails the
 * connection before any application data is read (tls/engine.c). A
 * session lives TLS_SESSION_LIFETIME_S seconds.
 *
 * BearSSL's server makes session IDs of 32 random bytes, so the slot is
 * chosen from the ID's first bytes (a direct-mapped table: a new session
 * overwrites whatever shared its slot). The table holds master secrets:
 * it lives in netd, beside the engines that hold them anyway.
 */
#ifndef DSHIELD_TLS_SESSIONS_H
#define DSHIELD_TLS_SESSIONS_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_SESSION_SLOTS      512
#define TLS_SESSION_LIFETIME_S 3600

struct tls_session_slot {
	uint8_t id[32];
	uint8_t name_hash[32];      /* SHA-256 of the expected name */
	uint8_t master_secret[48];
	int64_t made;               /* seconds; 0: empty */
	uint16_t version;
	uint16_t cipher_suite;
};

struct tls_sessions {
	const br_ssl_session_cache_class *vtable;   /* first: BearSSL's handle */
	struct tls_session_slot slot[TLS_SESSION_SLOTS];
	uint64_t saved, resumed;    /* counters */
};

void tls_sessions_init(struct tls_sessions *s);

/* The slot's name hash for name[0..len). */
void tls_sessions_name_hash(const char *name, size_t len, uint8_t out[32]);

#endif
