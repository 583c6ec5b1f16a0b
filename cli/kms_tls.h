/* cli/kms_tls.h: `dshield kms --tls-cert FILE --tls-key FILE`: the KMS's
 * HTTP core (lib/http.h, the handler of cli/kms.c) behind a TLS 1.2
 * server engine (tls/engine.h tls_server_init_ident) on kernel sockets
 * (docs/KMS.md "TLS").
 *
 * The certificate is one PEM (or DER) certificate, sent alone (no chain:
 * a guest trusts it by an anchor that signed it directly, or by the
 * policy's pin of its key); the key is its ECDSA P-256 private key, PEM
 * "EC PRIVATE KEY" (SEC 1) or "PRIVATE KEY" (PKCS#8), checked to be the
 * certificate's. Connections are served one at a time, each bounded by
 * KMS_TLS_CONN_MS from accept to close: a KMS answers a few requests per
 * boot of each VM, and one slow or silent peer delays the next by at most
 * that long (a load balancer or a TLS terminator in front is the answer
 * to more, docs/KMS.md).
 */
#ifndef DSHIELD_CLI_KMS_TLS_H
#define DSHIELD_CLI_KMS_TLS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "lib/http.h"
#include "tls/cert.h"
#include "tls/engine.h"

#define KMS_TLS_CONN_MS 15000u     /* one connection, accept to close */

struct kms_tls {
	uint8_t der[CERT_DER_MAX];     /* the certificate */
	size_t der_len;
	uint8_t priv[32];              /* its P-256 private scalar */
	uint8_t spki_sha256[32];       /* for the pin (printed at start) */
	br_hmac_drbg_context rng;
	struct tls_ident_cfg cfg;
	struct tls_conn conn;
	struct http_conn http;
	uint8_t in[4096];              /* ciphertext read, not yet fed */
	size_t in_len;
};

/* Loads and checks the certificate and key (and seeds the DRBG). 0, or a
 * negative errno with the reason in err. */
int kms_tls_load(struct kms_tls *t, const char *cert_path, const char *key_path, char *err,
		 size_t errlen);

/* Serves srv over TLS on the listening socket lfd until *stop. 0 when
 * stopped, or a negative errno (accept or poll failing for good). */
int kms_tls_serve(struct kms_tls *t, int lfd, const struct http_server *srv,
		  volatile sig_atomic_t *stop);

#endif
