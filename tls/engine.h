/* tls/engine.h: the egress proxy's TLS engines (docs/TLS.md, "Engines"),
 * one caller-owned struct per connection, free of any transport: the
 * caller (netd's epoll loop over kernel sockets, or lwIP's callbacks)
 * moves bytes between the engine and its sockets.
 *
 *   ciphertext that arrived    tls_feed()
 *   ciphertext to send         tls_out() / tls_out_done()
 *   plaintext to send          tls_write()
 *   plaintext that arrived     tls_in() / tls_in_done()
 *   where it stands            tls_status(), tls_error(), tls_reason()
 *
 * Two roles, BearSSL underneath, TLS 1.2 only, HTTP/1.x (ALPN: a server
 * selects "http/1.1", or "http/1.0" offered without it, and refuses a
 * client whose list has neither with no_application_protocol; a client
 * offers "http/1.1" alone):
 *
 *   server  terminates a function's TLS. The SNI must be present and equal
 *           the name the proxy expects (the name behind the fake address);
 *           the leaf for it comes from tls/cert_cache.h, signed with the
 *           CA's one leaf key. Cipher suites: ECDHE-ECDSA with AES-128-GCM,
 *           AES-256-GCM, ChaCha20-Poly1305.
 *   client  originates TLS to the real host: the chain is validated by
 *           br_x509_minimal against the caller's trust anchors at the
 *           caller's time, for the expected host name (also sent as SNI);
 *           ECDHE-ECDSA and ECDHE-RSA with the same three ciphers. After
 *           the handshake, tls_peer_spki_sha256() gives the upstream
 *           certificate's key hash for the log record.
 *
 * Memory: the struct is the connection's whole TLS state (sizeof(struct
 * tls_conn), 28,216 bytes on x86-64: the 16.3 KiB input buffer a peer's
 * full-size record needs, a 4.1 KiB output buffer, one role's BearSSL
 * contexts: the server's and its leaf, or the client's and its X.509
 * validator). Nothing is
 * allocated. The caller's struct cert_cache, struct cert_ca, trust
 * anchors and DRBG must outlive every engine using them.
 *
 * Return convention: 0 or a length, or a negative errno (-EPROTO when the
 * connection has failed: tls_error() says why, tls_reason() in words).
 */
#ifndef DSHIELD_TLS_ENGINE_H
#define DSHIELD_TLS_ENGINE_H

#include "tls/anchors.h"
#include "tls/cert.h"
#include "tls/cert_cache.h"

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>

/* The input buffer takes any record a peer may send (16 KiB of plaintext
 * and the largest overhead): peers rarely honour max_fragment_length, so
 * a smaller one would fail on real servers. Output records carry up to
 * TLS_OUT_FRAG bytes of plaintext, which halves the buffer memory per
 * connection for about 0.7% more record overhead. */
#define TLS_IBUF_LEN BR_SSL_BUFSIZE_INPUT
#define TLS_OUT_FRAG 4096
#define TLS_OBUF_LEN (TLS_OUT_FRAG + 85)

enum tls_role { TLS_ROLE_SERVER = 1, TLS_ROLE_CLIENT = 2 };

enum tls_status {
	TLS_HANDSHAKE,  /* keys not yet agreed: feed and drain */
	TLS_OPEN,       /* application data flows */
	TLS_CLOSED,     /* closed cleanly (close_notify) */
	TLS_FAILED,     /* tls_error() says why */
};

/* Why a connection failed, for the caller's logic; tls_reason() has the
 * words (BearSSL's exact code included). */
enum tls_error {
	TLS_OK = 0,
	TLS_E_SNI_MISSING,      /* server: the ClientHello named no host */
	TLS_E_SNI_MISMATCH,     /* server: SNI is not the expected name */
	TLS_E_LEAF,             /* server: no leaf certificate could be made */
	TLS_E_TLS13_ONLY,       /* the peer answered our TLS 1.2 with protocol_version */
	TLS_E_VERSION,          /* the peer offered a version other than TLS 1.2 */
	TLS_E_NO_SHARED_CIPHER, /* no suite, curve or signature hash in common */
	TLS_E_ALPN,             /* ALPN named no HTTP/1.x: the client offered other
				 * protocols only, or the server refused ours */
	TLS_E_CERT_UNTRUSTED,   /* client: the chain reaches none of the anchors */
	TLS_E_CERT_EXPIRED,     /* client: a certificate is expired or not yet valid */
	TLS_E_CERT_NAME,        /* client: the certificate is not for the expected host */
	TLS_E_CERT_INVALID,     /* client: another certificate check (reason says which) */
	TLS_E_CERT_PIN,         /* client: the key is not the pinned one (tls_client_pin) */
	TLS_E_PEER_ALERT,       /* the peer sent a fatal alert (reason names it) */
	TLS_E_PROTOCOL,         /* malformed or unexpected messages, bad MAC, ... */
	TLS_E_TRUNCATED,        /* the transport ended without close_notify */
	TLS_E_INTERNAL,         /* bad parameters, no randomness */
};

struct tls_sessions;
struct tls_server_cfg {
	const struct cert_ca *ca;
	struct cert_cache *cache;
	br_hmac_drbg_context *rng;      /* leaf serials; seeds the engine */
	struct cert_validity leaf_validity;   /* for a leaf minted now */
	struct tls_sessions *sessions;  /* resumption (tls/sessions.h); NULL: none */
};

/* A server with one fixed identity whose key is elsewhere (the API over
 * TLS, docs/TLS.md "The attested API"): the certificate is presented to
 * any client (no SNI check), and the ServerKeyExchange is signed by the
 * caller's sign hook, given the parameters (tls/ske.h) rather than a
 * hash. The hook returns the ASN.1 signature's length written to sig (at
 * most cap), or 0 when it cannot sign now: BearSSL then fails the
 * handshake (net/http_tls.c turns that into a wait for keyd). */
struct tls_conn;
struct tls_ske;
struct tls_ident_cfg {
	const uint8_t *der;           /* the certificate */
	size_t der_len;
	size_t (*sign)(void *ctx, struct tls_conn *c, const struct tls_ske *p, uint8_t *sig,
		       size_t cap);
	void *ctx;
	br_hmac_drbg_context *rng;    /* seeds each engine */
};

struct tls_conn {
	/* One role's BearSSL state; the union keeps the struct at the size
	 * of the larger role. */
	union {
		struct {
			br_ssl_server_context ctx;
			br_x509_certificate chain;        /* the leaf, in leaf[] */
			uint8_t leaf[CERT_DER_MAX];
		} srv;
		struct {
			br_ssl_client_context ctx;
			br_x509_minimal_context x509;
			/* tls_client_pin: a validator around x509 that
			 * trusts the pinned key in place of an anchor */
			const br_x509_class *pin_vt;
			uint8_t pin[32];
			uint8_t seen[32];         /* the key that did not match */
			unsigned pin_bad : 1;
			/* tls_client_init_resume: the session ID offered */
			uint8_t offered_id[32];
			uint8_t offered_len;
		} cli;
	} u;
	const br_ssl_server_policy_class *policy; /* server: our choose/sign */
	enum tls_role role;
	enum tls_error err;
	int br_err;                 /* BearSSL's code at failure (0: ours) */
	int64_t now;
	unsigned open : 1;          /* the handshake has completed */
	unsigned closing : 1;       /* tls_close() was called */
	unsigned eof : 1;           /* tls_eof() was called */
	unsigned chose : 1;         /* server: a full handshake (its policy chose) */
	const struct tls_server_cfg *cfg;
	const struct tls_ident_cfg *ident;   /* server with a fixed identity */
	char expect[CERT_NAME_MAX + 1];   /* the name SNI / the certificate must carry */
	size_t expect_len;
	uint8_t ibuf[TLS_IBUF_LEN];
	uint8_t obuf[TLS_OBUF_LEN];
};

/* A server engine for one accepted connection whose expected name is
 * name[0..len) (canonical: lowercase, no trailing dot). now is the time
 * the leaf must be valid at. 0, -EINVAL (name), -EIO (BearSSL refused
 * the configuration); after an error c is a failed connection
 * (TLS_E_INTERNAL). */
int tls_server_init(struct tls_conn *c, const struct tls_server_cfg *cfg, const char *name,
		    size_t len, int64_t now);

/* Is sni (NUL-terminated, as BearSSL has it) the connection's expected
 * name? Without case; an empty SNI is not. */
int tls_sni_is(const struct tls_conn *c, const char *sni);

/* Did this connection's handshake resume a session? A server: one of
 * tls/sessions.h (no certificate, no signature). A client: the session
 * tls_client_init_resume offered, which the server accepted (no
 * certificate, so no chain checked and no key for tls_peer_spki_sha256:
 * they were the session's full handshake's). False until it is open. */
int tls_resumed(const struct tls_conn *c);

/* A server engine presenting cfg's certificate, its handshake signed by
 * cfg->sign (above). 0, -EINVAL (no certificate or one too long), -EIO. */
int tls_server_init_ident(struct tls_conn *c, const struct tls_ident_cfg *cfg, int64_t now);

/* A client engine to host[0..len) (sent as SNI, checked against the
 * certificate), validating at now against anchors (which must outlive c).
 * rng seeds the engine's own generator. 0, -EINVAL, -EIO. */
int tls_client_init(struct tls_conn *c, const struct anchors *anchors, const char *host,
		    size_t len, int64_t now, br_hmac_drbg_context *rng);

/* tls_client_init, offering to resume session s (one tls_session gave
 * after a full handshake with the same host: the caller keys its
 * sessions so; NULL or an empty ID: none offered). A server that does
 * not take it makes a full handshake, the chain checked as always; one
 * that takes it must agree on s's version and suite, or the handshake
 * fails (BearSSL's BR_ERR_RESUME_MISMATCH): the caller forgets s. */
int tls_client_init_resume(struct tls_conn *c, const struct anchors *anchors, const char *host,
			   size_t len, int64_t now, br_hmac_drbg_context *rng,
			   const br_ssl_session_parameters *s);

/* Client, once TLS_OPEN: the session for a later tls_client_init_resume
 * to the same host (its master secret: keep it where the engines are).
 * 0, -EAGAIN (not open, or failed), -ENOENT (the server gave no session
 * ID: it does not resume), -EINVAL (a server). */
int tls_session(struct tls_conn *c, br_ssl_session_parameters *out);

/* Before the handshake of a client engine: the server's certificate is
 * trusted when its key's SHA-256 (SubjectPublicKeyInfo DER, as
 * tls_peer_spki_sha256) is pin, whether or not its chain reaches one of
 * the anchors; its name and dates are checked as always. Any other key
 * fails with TLS_E_CERT_PIN, even one an anchor vouches for. For a
 * server the caller runs itself (the KMS of docs/STORE.md "Transport"),
 * whose certificate no public CA issued. 0, -EINVAL (not a fresh client). */
int tls_client_pin(struct tls_conn *c, const uint8_t pin[32]);

/* Ciphertext that arrived: consumes whole records while there is room
 * (possibly less than n; 0 while the engine waits for the caller to take
 * ciphertext from tls_out() or plaintext from tls_in()); the caller keeps
 * the rest for a later call. Returns the bytes taken, or -EPROTO (failed). */
long tls_feed(struct tls_conn *c, const void *p, size_t n);

/* Ciphertext to send: a pointer into the engine and its length (0: none
 * now). Once some of it is sent, tls_out_done(c, sent). */
const uint8_t *tls_out(struct tls_conn *c, size_t *n);
void tls_out_done(struct tls_conn *c, size_t sent);

/* Plaintext to send: copies what fits (0 while the handshake runs or the
 * output is full) and closes the record, so it goes out at the next
 * tls_out(). Returns the bytes taken, -EPROTO (failed) or -EPIPE (closed). */
long tls_write(struct tls_conn *c, const void *p, size_t n);

/* Plaintext that arrived: a pointer into the engine and its length (0:
 * none now). tls_in_done(c, used) once used bytes are consumed. */
const uint8_t *tls_in(struct tls_conn *c, size_t *n);
void tls_in_done(struct tls_conn *c, size_t used);

/* Starts the close (close_notify goes out at the next tls_out()). */
void tls_close(struct tls_conn *c);

/* The transport reached end of file: a connection not closed cleanly by
 * then fails with TLS_E_TRUNCATED (a cut response is not a whole one). */
void tls_eof(struct tls_conn *c);

enum tls_status tls_status(struct tls_conn *c);
enum tls_error tls_error(struct tls_conn *c);

/* One line for the log: why it failed ("", when it did not). */
const char *tls_reason(struct tls_conn *c, char *buf, size_t cap);

/* Server: the SNI the client sent (NUL-terminated; "" when none, or
 * before the ClientHello). */
const char *tls_sni(struct tls_conn *c);

/* Client, once TLS_OPEN: SHA-256 of the upstream certificate's
 * SubjectPublicKeyInfo (DER) — the key pin form (RFC 7469's pin-sha256,
 * `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum`).
 * 0, -EAGAIN (no handshake yet), -ENOENT (a resumed handshake: no
 * certificate came), -EINVAL (server role), -ENOSPC. */
int tls_peer_spki_sha256(struct tls_conn *c, uint8_t out[32]);

/* SHA-256 of the DER SubjectPublicKeyInfo of a key BearSSL decoded (RSA,
 * or EC on P-256/384/521): the same bytes as the certificate's, as DER
 * has one encoding per value. 0, -EINVAL (another key type), -ENOSPC. */
int tls_pkey_spki_sha256(const br_x509_pkey *pk, uint8_t out[32]);

/* The negotiated cipher suite (IANA number), 0 before the handshake. */
unsigned tls_suite(struct tls_conn *c);

#endif
