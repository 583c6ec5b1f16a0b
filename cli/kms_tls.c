/* cli/kms_tls.c: see kms_tls.h. */
#include "cli/kms_tls.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/tls_pin.h"
#include "lib/clock.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "tls/ske.h"

#define KMS_TLS_FILE_MAX 16384

/* A PEM object of the file (or the file itself when it is DER, a
 * SEQUENCE) into out. */
static long read_der(const char *path, const char *const *names, uint8_t *out, size_t cap,
		     char *err, size_t errlen)
{
	static char text[KMS_TLS_FILE_MAX + 1];
	long n = file_read(path, text, KMS_TLS_FILE_MAX);
	long d;

	if (n < 0)
		return errbuf_set(err, errlen, (int)n, "%s: %s", path, strerror((int)-n));
	if (n > 0 && (uint8_t)text[0] == 0x30) {
		if ((size_t)n > cap)
			return errbuf_set(err, errlen, -EFBIG, "%s: over %zu bytes", path, cap);
		memcpy(out, text, (size_t)n);
		d = n;
	} else {
		d = tls_pem_object(text, (size_t)n, names, out, cap);
	}
	explicit_bzero(text, sizeof text);
	if (d < 0)
		return errbuf_set(err, errlen, (int)d, "%s: %s", path,
				  d == -ENOENT ? "no PEM object of the expected kind in it" :
				  d == -EFBIG ? "too large" : "unreadable PEM");
	return d;
}

/* The certificate's key must be the private key's public point. */
static int key_matches(const struct kms_tls *t, const uint8_t pub[65], char *err, size_t errlen)
{
	br_x509_decoder_context d;
	const br_x509_pkey *pk;

	br_x509_decoder_init(&d, NULL, NULL);
	br_x509_decoder_push(&d, t->der, t->der_len);
	pk = br_x509_decoder_get_pkey(&d);
	if (pk == NULL || br_x509_decoder_last_error(&d) != 0)
		return errbuf_set(err, errlen, -EBADMSG, "the certificate does not parse (BearSSL %d)",
				  br_x509_decoder_last_error(&d));
	if (pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
	    pk->key.ec.qlen != 65 || memcmp(pk->key.ec.q, pub, 65) != 0)
		return errbuf_set(err, errlen, -EINVAL, "the key is not the certificate's "
				  "(an ECDSA P-256 certificate and its key are needed)");
	return tls_pkey_spki_sha256(pk, (uint8_t *)(uintptr_t)t->spki_sha256) < 0 ?
		errbuf_set(err, errlen, -EINVAL, "cannot hash the certificate's key") : 0;
}

static size_t sign_ske(void *ctx, struct tls_conn *c, const struct tls_ske *p, uint8_t *sig,
		       size_t cap)
{
	struct kms_tls *t = ctx;
	uint8_t s[TLS_SKE_SIG_MAX];
	long n = tls_ske_sign_p256(t->priv, p, s);

	(void)c;
	if (n <= 0 || (size_t)n > cap)
		return 0;
	memcpy(sig, s, (size_t)n);
	return (size_t)n;
}

int kms_tls_load(struct kms_tls *t, const char *cert_path, const char *key_path, char *err,
		 size_t errlen)
{
	static const char *const cert_names[] = { "CERTIFICATE", NULL };
	static const char *const key_names[] = { "EC PRIVATE KEY", "PRIVATE KEY", NULL };
	uint8_t kder[2048], pub[65];
	br_skey_decoder_context sd;
	const br_ec_private_key *sk;
	long n;
	int r;

	memset(t, 0, sizeof *t);
	n = read_der(cert_path, cert_names, t->der, sizeof t->der, err, errlen);
	if (n < 0)
		return (int)n;
	t->der_len = (size_t)n;
	n = read_der(key_path, key_names, kder, sizeof kder, err, errlen);
	if (n < 0)
		return (int)n;
	br_skey_decoder_init(&sd);
	br_skey_decoder_push(&sd, kder, (size_t)n);
	explicit_bzero(kder, sizeof kder);
	sk = br_skey_decoder_get_ec(&sd);
	if (br_skey_decoder_last_error(&sd) != 0 || sk == NULL || sk->curve != BR_EC_secp256r1 ||
	    sk->xlen == 0 || sk->xlen > sizeof t->priv) {
		explicit_bzero(&sd, sizeof sd);
		return errbuf_set(err, errlen, -EINVAL, "%s: not an ECDSA P-256 private key", key_path);
	}
	memcpy(t->priv + sizeof t->priv - sk->xlen, sk->x, sk->xlen);
	explicit_bzero(&sd, sizeof sd);
	if (br_ec_compute_pub(br_ec_get_default(), &(br_ec_public_key){ 0 }, pub,
			      &(br_ec_private_key){ BR_EC_secp256r1, t->priv, sizeof t->priv }) != 65)
		return errbuf_set(err, errlen, -EINVAL, "%s: an invalid P-256 scalar", key_path);
	if ((r = key_matches(t, pub, err, errlen)) < 0)
		return r;
	if ((r = cert_drbg_seed(&t->rng)) < 0)
		return errbuf_set(err, errlen, r, "no randomness");
	t->cfg = (struct tls_ident_cfg){ .der = t->der, .der_len = t->der_len, .sign = sign_ske,
					 .ctx = t, .rng = &t->rng };
	return 0;
}

/* Ciphertext out while the socket takes it; false when it failed. */
static bool flush(struct kms_tls *t, int fd, bool *blocked)
{
	const uint8_t *p;
	size_t n;

	*blocked = false;
	while ((p = tls_out(&t->conn, &n)) != NULL && n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			*blocked = true;
			return true;
		}
		if (w <= 0)
			return false;
		tls_out_done(&t->conn, (size_t)w);
	}
	return true;
}

/* The HTTP core <-> the engine's plaintext; true when anything moved. */
static bool plain(struct kms_tls *t)
{
	const uint8_t *p;
	size_t n;
	bool moved = false;

	while ((p = http_conn_output(&t->http, &n)) != NULL && n > 0) {
		long w = tls_write(&t->conn, p, n);
		if (w <= 0)
			break;
		http_conn_sent(&t->http, (size_t)w, mono_ms());
		moved = true;
	}
	while ((p = tls_in(&t->conn, &n)) != NULL && n > 0) {
		size_t room = http_conn_room(&t->http);
		if (room == 0)
			break;
		size_t k = http_conn_feed(&t->http, p, n < room ? n : room, mono_ms());
		if (k == 0)
			break;
		tls_in_done(&t->conn, k);
		moved = true;
	}
	return moved;
}

/* Ciphertext in: what is held first, then one read. -1: the peer is
 * gone (EOF told to the engine) or the socket failed; else whether
 * anything moved. */
static int feed(struct kms_tls *t, int fd, bool readable)
{
	bool moved = false;

	if (t->in_len > 0) {
		long k = tls_feed(&t->conn, t->in, t->in_len);
		if (k < 0)
			return -1;
		memmove(t->in, t->in + k, t->in_len - (size_t)k);
		t->in_len -= (size_t)k;
		moved = k > 0;
	}
	if (readable && t->in_len < sizeof t->in) {
		ssize_t r = recv(fd, t->in + t->in_len, sizeof t->in - t->in_len, MSG_DONTWAIT);
		if (r == 0) {
			tls_eof(&t->conn);
			return -1;
		}
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? moved : -1;
		t->in_len += (size_t)r;
		moved = true;
	}
	return moved;
}

/* One connection, accept to close, within KMS_TLS_CONN_MS (or until
 * *stop). */
static void serve_one(struct kms_tls *t, int fd, const struct http_server *srv, uint32_t id,
		      volatile sig_atomic_t *stop)
{
	uint64_t until = mono_ms() + KMS_TLS_CONN_MS;
	bool blocked = false, closing = false;

	t->in_len = 0;
	if (tls_server_init_ident(&t->conn, &t->cfg, (int64_t)time(NULL)) < 0)
		return;
	http_conn_init(&t->http, srv, id, mono_ms());
	for (;;) {
		uint64_t now = mono_ms();
		enum tls_status st = tls_status(&t->conn);
		bool moved;

		if (now >= until || *stop || st == TLS_FAILED || st == TLS_CLOSED)
			break;
		http_conn_tick(&t->http, now);
		moved = st == TLS_OPEN && plain(t);
		if (!closing && http_conn_state(&t->http) == HTTP_CONN_CLOSED) {
			tls_close(&t->conn);      /* the answer went out: close_notify */
			closing = true;
		}
		if (!flush(t, fd, &blocked))
			break;
		int f = feed(t, fd, false);
		if (f < 0)
			break;
		if (moved || f > 0)
			continue;
		if (closing && !blocked)
			break;
		struct pollfd p = { .fd = fd, .events = (short)(POLLIN | (blocked ? POLLOUT : 0)) };
		int wait = (int)(until - now);
		if (wait > 100)
			wait = 100;
		if (poll(&p, 1, wait) < 0 && errno != EINTR)
			break;
		if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && feed(t, fd, true) < 0) {
			/* the peer closed: its request may be whole; answer it */
			http_conn_eof(&t->http);
			if (tls_status(&t->conn) == TLS_OPEN)
				plain(t);
			flush(t, fd, &blocked);
			break;
		}
	}
	flush(t, fd, &blocked);        /* a fatal alert, if the engine has one */
	http_conn_release(&t->http);
	explicit_bzero(&t->conn, sizeof t->conn);
}

int kms_tls_serve(struct kms_tls *t, int lfd, const struct http_server *srv,
		  volatile sig_atomic_t *stop)
{
	uint32_t id = 0;

	while (!*stop) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int one = 1, fd;

		if (poll(&p, 1, 100) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!(p.revents & POLLIN))
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			return -errno;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		serve_one(t, fd, srv, ++id == 0 ? ++id : id, stop);
		close(fd);
	}
	return 0;
}
