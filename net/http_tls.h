/* net/http_tls.h: the management API over TLS (port 8443), the TLS layer
 * of net/http_lwip.c's pool (docs/TLS.md, "The attested API").
 *
 * One server engine per pool slot (tls/engine.h tls_server_init_ident)
 * presents keyd's certificate; its handshake signature is keyd's: the key
 * is never in netd. BearSSL asks for that signature synchronously, in
 * the middle of the record that completes the ClientHello. netd never
 * blocks on keyd for it. Instead:
 *
 *   1. before feeding ciphertext to an engine that has not signed yet,
 *      the engine (struct tls_conn, self-contained: its buffers and every
 *      pointer BearSSL keeps into it are inside it) is copied aside;
 *   2. the sign hook, asked for a signature it does not have, records the
 *      ServerKeyExchange parameters and answers 0, so BearSSL fails;
 *   3. http_tls_feed() then puts the copy back (the same address, so
 *      every inner pointer is right), reports that it took nothing (the
 *      ciphertext stays in lwIP's pbufs, unacknowledged), and asks keyd
 *      (IMSG_TLS_SIGN_REQ) through the caller's hook;
 *   4. keyd's answer (http_tls_signed) is kept in the slot, and the same
 *      ciphertext is fed again to the restored engine. Its HMAC-DRBG
 *      state was restored too, so it draws the same server random and
 *      the same ECDHE key, asks to sign the same parameters, and the
 *      hook hands over keyd's signature: the handshake goes on, and the
 *      client never sees the first attempt (nothing it wrote was sent).
 *
 * A parameter set that differs on the second pass (it cannot, but if it
 * did) fails the handshake rather than asking again. keyd refusing
 * (its rate, no key), gone, or not reachable: the replay runs without a
 * signature, and BearSSL fails the handshake with a fatal alert to the
 * client. A handshake not done within the HTTP header timeout is reset
 * (http_lwip.c).
 */
#ifndef DSHIELD_NET_HTTP_TLS_H
#define DSHIELD_NET_HTTP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/http_lwip.h"
#include "proto/netd_keyd.h"
#include "tls/engine.h"
#include "tls/ske.h"

/* The port of the API over TLS (the plain API's is the configuration's). */
#define API_TLS_PORT 8443

/* The TLS pool's size. A slot costs its HTTP connection (105 KiB) and its
 * engine (27.4 KiB): 16 slots are 2.1 MiB, which keeps netd under its
 * 32 MiB bound with both pools held by hostile clients (docs/NETWORK.md,
 * "Memory"); the plain pool's 128 would add 17 MiB. The per-address share
 * is the same quarter of the pool as on the plain port. The API over TLS
 * is an operator's channel, not a public service: 16 clients at once. */
#define HTTP_TLS_MAX_CONNS     16
#define HTTP_TLS_MAX_PER_ADDR  4
_Static_assert(HTTP_TLS_MAX_CONNS <= HTTP_LWIP_MAX_CONNS, "the TLS pool uses http_lwip's slots");

struct http_tls_slot {
	bool waiting;              /* asked keyd; the engine is as before the feed */
	bool want;                 /* the sign hook lacked a signature in this feed */
	bool have_sig;             /* keyd's answer, for the second pass */
	bool signed_once;          /* the ServerKeyExchange is signed: no more copies */
	bool refused;              /* keyd refused or is gone: the replay fails (alert) */
	uint8_t asks;
	struct tls_ske p;          /* what was asked */
	uint8_t sig[TLS_SIG_MAX];
	size_t sig_len;
};

struct http_tls_stats {
	uint64_t handshakes;       /* completed */
	uint64_t failed;           /* TLS failed (alerts, bad records, refused signatures) */
	uint64_t timed_out;        /* handshake not done within the header timeout */
	uint64_t sign_asked;       /* signatures asked of keyd */
	uint64_t sign_refused;     /* keyd refused (rate, no key) or could not be asked */
};

/* Asks keyd to sign q for connection conn_id; its answer comes back
 * through http_lwip_tls_signed(). 0 or a negative errno. */
typedef int (*http_tls_ask_fn)(void *ctx, uint32_t conn_id, const struct tls_sign_req_msg *q);

struct http_tls {
	struct tls_ident_cfg cfg;
	uint8_t der[TLS_CERT_DER_MAX];     /* keyd's certificate */
	uint8_t spki_sha256[32];
	bool have_cert;
	br_hmac_drbg_context rng;
	http_tls_ask_fn ask;
	void *ask_ctx;
	struct http_tls_stats st;
	struct tls_conn snap;              /* an engine before a feed (above) */
	struct http_tls_slot slot[HTTP_TLS_MAX_CONNS];
	struct tls_conn conns[HTTP_TLS_MAX_CONNS];
};

/* Prepares t (its DRBG seeded from getrandom). 0 or a negative errno. */
int http_tls_init(struct http_tls *t, http_tls_ask_fn ask, void *ask_ctx);

/* keyd's certificate (IMSG_TLS_CERT): checked to parse as an X.509
 * certificate whose key hashes to m->spki_sha256. 0, -EBADMSG. Later
 * connections present it; open ones keep their copy. */
int http_tls_set_cert(struct http_tls *t, const struct tls_cert_msg *m);

/* For net/http_lwip.c: a new connection in slot i. 0, or a negative errno
 * (then the connection is reset). */
int http_tls_open(struct http_tls *t, unsigned i, uint64_t now_ms);

/* For net/http_lwip.c: ciphertext for slot i (connection conn_id); the
 * bytes taken (0: none now, e.g. while keyd signs), or -EPROTO when the
 * connection failed. */
long http_tls_feed(struct http_tls *t, unsigned i, uint32_t conn_id, const uint8_t *p, size_t n);

/* For net/http_lwip.c: keyd's answer for slot i. true when the slot was
 * waiting for it (the connection should be driven again). */
bool http_tls_signed(struct http_tls *t, unsigned i, const struct tls_sign_reply_msg *rep);

/* For net/http_lwip.c: keyd left: the handshake of slot i fails at its
 * next feed (with BearSSL's alert). */
void http_tls_sign_lost(struct http_tls *t, unsigned i);

#endif
