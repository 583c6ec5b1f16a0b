/* cli/tls_pin.c: see tls_pin.h. */
#include "cli/tls_pin.h"
#include "cli/http_client.h"
#include "lib/clock.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "tls/engine.h"

#include <arpa/inet.h>
#include <bearssl.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* SHA-256 of the SPKI of the certificate der[0..n). */
static int spki_of_der(const uint8_t *der, size_t n, uint8_t out[32], char *err, size_t errcap)
{
	br_x509_decoder_context d;
	const br_x509_pkey *pk;

	br_x509_decoder_init(&d, NULL, NULL);
	br_x509_decoder_push(&d, der, n);
	pk = br_x509_decoder_get_pkey(&d);
	if (pk == NULL || br_x509_decoder_last_error(&d) != 0)
		return errbuf_set(err, errcap, -EBADMSG, "not an X.509 certificate (BearSSL %d)",
				  br_x509_decoder_last_error(&d));
	if (tls_pkey_spki_sha256(pk, out) < 0)
		return errbuf_set(err, errcap, -EBADMSG, "a key type dshield does not read");
	return 0;
}

struct pem_sink {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};

static void pem_append(void *ctx, const void *p, size_t n)
{
	struct pem_sink *s = ctx;

	if (n > s->cap - s->len) {
		s->overflow = true;
		return;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

long tls_pem_object(const char *text, size_t n, const char *const *names, uint8_t *der,
		    size_t cap)
{
	br_pem_decoder_context pc;
	struct pem_sink s = { der, cap, 0, false };
	bool in_obj = false;

	br_pem_decoder_init(&pc);
	while (n > 0) {
		size_t k = br_pem_decoder_push(&pc, text, n);
		text += k;
		n -= k;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			in_obj = false;
			for (size_t i = 0; names[i] != NULL; i++)
				in_obj |= strcmp(br_pem_decoder_name(&pc), names[i]) == 0;
			br_pem_decoder_setdest(&pc, in_obj ? pem_append : NULL, in_obj ? &s : NULL);
			break;
		case BR_PEM_END_OBJ:
			if (in_obj)
				return s.overflow ? -EFBIG : (long)s.len;
			break;
		case BR_PEM_ERROR:
			return -EBADMSG;
		default:
			break;
		}
	}
	return -ENOENT;
}

int tls_pin_file(const char *path, uint8_t spki_sha256[32], char *err, size_t errcap)
{
	static char text[TLS_PIN_CERT_MAX + 1];
	static uint8_t der[TLS_PIN_CERT_MAX];
	long n = file_read(path, text, TLS_PIN_CERT_MAX);
	long d;

	if (n < 0)
		return errbuf_set(err, errcap, (int)n, "%s: %s", path,
				  n == -EFBIG ? "larger than a certificate file" : strerror((int)-n));
	if (n > 0 && (uint8_t)text[0] == 0x30)
		return spki_of_der((const uint8_t *)text, (size_t)n, spki_sha256, err, errcap);
	d = tls_pem_object(text, (size_t)n, (const char *const[]){ "CERTIFICATE", NULL }, der,
			   sizeof der);
	if (d < 0)
		return errbuf_set(err, errcap, (int)d, "%s: %s", path,
				  d == -ENOENT ? "no PEM CERTIFICATE in it" : "unreadable PEM");
	if (spki_of_der(der, (size_t)d, spki_sha256, err, errcap) < 0) {
		char why[128];
		snprintf(why, sizeof why, "%s", err);
		return errbuf_set(err, errcap, -EBADMSG, "%s: %s", path, why);
	}
	return 0;
}

/* --- a live server ------------------------------------------------------------ */

/* An X.509 "validator" that validates nothing: it decodes the server's
 * first certificate and hands its key to the engine, which then verifies
 * the ServerKeyExchange signature with it. What the key is worth is
 * decided afterwards, against the quote. */
struct capture {
	const br_x509_class *vtable;
	br_x509_decoder_context dec;
	unsigned depth;
	bool have;
};

static void cap_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct capture *c = (struct capture *)(void *)ctx;

	(void)server_name;
	c->depth = 0;
	c->have = false;
}

static void cap_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct capture *c = (struct capture *)(void *)ctx;

	(void)length;
	if (c->depth++ == 0)
		br_x509_decoder_init(&c->dec, NULL, NULL);
}

static void cap_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct capture *c = (struct capture *)(void *)ctx;

	if (c->depth == 1)
		br_x509_decoder_push(&c->dec, buf, len);
}

static void cap_end_cert(const br_x509_class **ctx)
{
	struct capture *c = (struct capture *)(void *)ctx;

	if (c->depth == 1)
		c->have = br_x509_decoder_get_pkey(&c->dec) != NULL &&
			  br_x509_decoder_last_error(&c->dec) == 0;
}

static unsigned cap_end_chain(const br_x509_class **ctx)
{
	struct capture *c = (struct capture *)(void *)ctx;

	return c->have ? 0 : BR_ERR_X509_BAD_DN;   /* any X.509 error: no usable certificate */
}

static const br_x509_pkey *cap_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct capture *c = (struct capture *)(void *)(uintptr_t)ctx;

	if (usages != NULL)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return c->have ? br_x509_decoder_get_pkey(&c->dec) : NULL;
}

static const br_x509_class capture_vtable = {
	sizeof(struct capture), cap_start_chain, cap_start_cert, cap_append, cap_end_cert,
	cap_end_chain, cap_get_pkey,
};

/* Runs the handshake over h->fd until application data could flow. */
static int handshake(struct hc *h, br_ssl_engine_context *e, uint64_t deadline, char *err,
		     size_t errcap)
{
	for (;;) {
		unsigned st = br_ssl_engine_current_state(e);
		size_t n;
		uint8_t *b;
		ssize_t k;
		int r;

		if (st & BR_SSL_CLOSED) {
			int be = br_ssl_engine_last_error(e);
			return errbuf_set(err, errcap, -EPROTO, "the TLS handshake failed (BearSSL %d%s)",
					  be, be >= BR_ERR_RECV_FATAL_ALERT && be < BR_ERR_SEND_FATAL_ALERT ?
					  ": the server sent a fatal alert" : "");
		}
		if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))
			return 0;
		if (st & BR_SSL_SENDREC) {
			b = br_ssl_engine_sendrec_buf(e, &n);
			k = send(h->fd, b, n, MSG_NOSIGNAL);
			if (k > 0) {
				br_ssl_engine_sendrec_ack(e, (size_t)k);
				continue;
			}
			if (k < 0 && errno != EAGAIN && errno != EINTR)
				return errbuf_set(err, errcap, -errno, "sending: %s", strerror(errno));
			r = hc_wait(h, POLLOUT, deadline);
		} else if (st & BR_SSL_RECVREC) {
			b = br_ssl_engine_recvrec_buf(e, &n);
			k = recv(h->fd, b, n, 0);
			if (k > 0) {
				br_ssl_engine_recvrec_ack(e, (size_t)k);
				continue;
			}
			if (k == 0)
				return errbuf_set(err, errcap, -EPROTO,
						  "the server closed the connection during the handshake");
			if (errno != EAGAIN && errno != EINTR)
				return errbuf_set(err, errcap, -errno, "receiving: %s", strerror(errno));
			r = hc_wait(h, POLLIN, deadline);
		} else {
			return errbuf_set(err, errcap, -EPROTO, "the TLS engine is stuck (state %u)", st);
		}
		if (r < 0)
			return errbuf_set(err, errcap, r, "the TLS handshake: %s",
					  r == -ETIMEDOUT ? "timed out" : strerror(-r));
	}
}

int tls_pin_url(const char *url, unsigned timeout_ms, uint8_t spki_sha256[32], char *err,
		size_t errcap)
{
	static br_ssl_client_context cc;
	static br_x509_minimal_context unused;   /* init_full's, replaced below */
	static struct capture cap;
	static uint8_t iobuf[BR_SSL_BUFSIZE_BIDI];
	struct in_addr a4;
	struct hc_url u;
	struct hc h;
	uint64_t deadline = mono_ms() + timeout_ms;
	int r;

	if ((r = hc_url_parse_https(url, &u, err, errcap)) < 0)
		return r;
	hc_init(&h, &u, timeout_ms);
	if ((r = hc_connect(&h, deadline, err, errcap)) < 0)
		return r;
	/* TLS 1.2 and every suite BearSSL has: this client only learns a key */
	br_ssl_client_init_full(&cc, &unused, NULL, 0);
	cap.vtable = &capture_vtable;
	br_ssl_engine_set_x509(&cc.eng, &cap.vtable);
	br_ssl_engine_set_versions(&cc.eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_buffer(&cc.eng, iobuf, sizeof iobuf, 1);
	/* no SNI for an address literal (RFC 6066 §3) */
	if (!br_ssl_client_reset(&cc, u.v6 || inet_pton(AF_INET, u.host, &a4) == 1 ? NULL : u.host,
				 0)) {
		hc_close(&h);
		return errbuf_set(err, errcap, -EIO, "cannot set up the TLS client (BearSSL %d)",
				  br_ssl_engine_last_error(&cc.eng));
	}
	r = handshake(&h, &cc.eng, deadline, err, errcap);
	if (r == 0) {
		const br_x509_pkey *pk = cap_get_pkey(&cap.vtable, NULL);
		r = pk != NULL ? tls_pkey_spki_sha256(pk, spki_sha256) : -EPROTO;
		if (r < 0)
			errbuf_set(err, errcap, r, "the server's certificate has a key dshield does not read");
		/* a polite end; nothing depends on it */
		br_ssl_engine_close(&cc.eng);
		size_t n;
		uint8_t *b = br_ssl_engine_sendrec_buf(&cc.eng, &n);
		if (b != NULL)
			(void)!send(h.fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	hc_close(&h);
	return r;
}
