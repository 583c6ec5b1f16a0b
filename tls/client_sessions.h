/* tls/client_sessions.h: TLS 1.2 sessions netd's client engines may
 * resume with the upstreams (docs/TLS.md, "Resumption toward
 * upstreams").
 *
 * A fixed table, caller-owned, keyed by a caller's key: the proxy's is
 * the function, the host and the port (tls_client_session_key), so a
 * session is offered only to the name whose certificate was checked when
 * it was made, and one function's sessions never speed another's
 * handshake (no timing tells a function where another went). A
 * resumed handshake carries no certificate: the entry keeps the key hash
 * the full handshake checked, for the log record.
 *
 * Direct-mapped on the key's first bytes: a new session overwrites
 * whatever shared its slot. An entry lives TLS_CLIENT_SESSION_LIFETIME_S
 * from its full handshake (a resumption does not extend it): the chain
 * is checked again at least that often. Entries hold master secrets:
 * the table lives in netd beside the engines, which hold them anyway.
 */
#ifndef DSHIELD_TLS_CLIENT_SESSIONS_H
#define DSHIELD_TLS_CLIENT_SESSIONS_H

#include <bearssl.h>
#include <stdint.h>

#define TLS_CLIENT_SESSION_SLOTS      256
#define TLS_CLIENT_SESSION_LIFETIME_S 600

struct tls_client_session {
	uint8_t key[32];
	br_ssl_session_parameters p;
	uint8_t spki[32];           /* the full handshake's certificate key hash */
	int64_t made;               /* seconds (the caller's clock); 0: empty */
};

struct tls_client_sessions {
	struct tls_client_session slot[TLS_CLIENT_SESSION_SLOTS];
	uint64_t saved, forgotten;  /* counters */
};

/* Every entry gone (also when the trust anchors change: a session's
 * chain was checked against the old ones). Counters kept. */
void tls_client_sessions_clear(struct tls_client_sessions *t);

/* The key of (who, host, port): SHA-256 over their bytes, each string
 * ended by a 0 byte. */
void tls_client_session_key(const char *who, const char *host, uint16_t port, uint8_t key[32]);

/* key's session, live at now (a stale one is cleared), or NULL. The
 * pointer is valid until the next save. */
const struct tls_client_session *tls_client_session_find(struct tls_client_sessions *t,
							 const uint8_t key[32], int64_t now);

/* Keeps p (a full handshake's, its ID non-empty) and that handshake's
 * certificate key hash under key, made at now (> 0). */
void tls_client_session_save(struct tls_client_sessions *t, const uint8_t key[32],
			     const br_ssl_session_parameters *p, const uint8_t spki[32], int64_t now);

/* Forgets key's session (a handshake that offered it failed). */
void tls_client_session_forget(struct tls_client_sessions *t, const uint8_t key[32]);

#endif
