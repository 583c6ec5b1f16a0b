/* keyd/apikey.h: the API's TLS identity (ECDSA P-256), held only by keyd.
 *
 * The key is made once per instance and kept in keyd's state directory
 * (/state/api-tls.key, as the log key: keyd/logkey.h keyfile_load_or_create),
 * so a restarted keyd presents the same identity. Its certificate is
 * self-signed and a function of the key alone (fixed validity, a serial
 * from a DRBG seeded with the key's SPKI hash, RFC 6979 signatures): the
 * same bytes after every restart. SHA-256 of its DER SPKI fills
 * REPORTDATA slot 3 (api_tls_spki_sha256): every quote vouches for it.
 *
 * The key signs one thing: a TLS 1.2 ECDHE ServerKeyExchange that keyd
 * writes itself from netd's parameters (tls/ske.h), never a hash netd
 * chose (docs/TLS.md, "What keyd signs, and why that is safe").
 */
#ifndef DSHIELD_KEYD_APIKEY_H
#define DSHIELD_KEYD_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errbuf.h"
#include "proto/netd_keyd.h"
#include "tls/cert.h"
#include "tls/ske.h"

#define APIKEY_PATH "/state/api-tls.key"
/* subject CN and dNSName: a name under .invalid (RFC 6761), which no
 * resolver answers: the certificate claims no name a client could
 * otherwise reach. Clients trust it by its key (pinning to the quote),
 * not by its name (docs/TLS.md). */
#define APIKEY_NAME "dshield-api.invalid"
/* 2025-01-01T00:00:00Z to 9999-12-31T23:59:59Z (RFC 5280 §4.1.2.5: no
 * well-defined expiration): the binding lives as long as the quote that
 * names the key, not by these dates, and fixed dates keep the
 * certificate a function of the key. */
#define APIKEY_NOT_BEFORE 1735689600LL
#define APIKEY_NOT_AFTER  253402300799LL

struct apikey {
	struct cert_key key;
	uint8_t spki_sha256[32];
	uint8_t der[CERT_DER_MAX];
	size_t der_len;
	bool created;                 /* made now (not reloaded) */
};

/* Loads the key at path, or makes and saves one, then writes its
 * certificate. 0, or a negative errno with the reason in err. */
int apikey_load_or_create(struct apikey *k, const char *path, char err[ERRBUF_LEN]);

/* The parameters of netd's request: version 1, reserved bytes zero, and
 * what tls_ske_check accepts. 0, or -EBADMSG. */
int apikey_req(const struct tls_sign_req_msg *q, struct tls_ske *p);

/* Signs the ServerKeyExchange p describes (tls_ske_hash) into sig:
 * returns the DER signature's length, or -EBADMSG (p refused) / -EIO. */
long apikey_sign(const struct apikey *k, const struct tls_ske *p, uint8_t sig[TLS_SIG_MAX]);

#endif
