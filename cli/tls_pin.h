/* cli/tls_pin.h: the API TLS key a certificate or a live server shows,
 * for `dshield verify --tls-cert FILE | --tls-url https://HOST:PORT`
 * (docs/VERIFY.md, "The API's TLS key").
 *
 * Both give SHA-256 of the certificate's DER SubjectPublicKeyInfo, which
 * `dshield verify` compares with REPORTDATA slot 3 (api_tls_spki_sha256)
 * of a quote that verified. No trust anchor is involved: the quote is the
 * trust, the key the pin.
 */
#ifndef DSHIELD_CLI_TLS_PIN_H
#define DSHIELD_CLI_TLS_PIN_H

#include <stddef.h>
#include <stdint.h>

#define TLS_PIN_CERT_MAX 16384     /* a certificate file, PEM or DER */
#define TLS_PIN_TIMEOUT_MS 10000   /* connect and handshake together */

/* The first PEM object of text[0..n) whose name is one of names (a NULL
 * terminated list, e.g. "CERTIFICATE") into out; its length, or -ENOENT
 * (none), -EBADMSG (not PEM), -EFBIG (over cap). */
long tls_pem_object(const char *text, size_t n, const char *const *names, uint8_t *out,
		    size_t cap);

/* The first certificate of FILE (PEM "CERTIFICATE", or DER). 0, or a
 * negative errno with the reason in err. */
int tls_pin_file(const char *path, uint8_t spki_sha256[32], char *err, size_t errcap);

/* Connects to url (https://HOST[:PORT]) and completes a TLS 1.2
 * handshake with BearSSL. The server's certificate is not validated
 * against any anchor, but its key is the one BearSSL checks the
 * ServerKeyExchange signature with, so a completed handshake proves the
 * server holds that key. Returns 0 with the key's hash, or a negative
 * errno with the reason in err. */
int tls_pin_url(const char *url, unsigned timeout_ms, uint8_t spki_sha256[32], char *err,
		size_t errcap);

#endif
