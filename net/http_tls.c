/* net/http_tls.c: see http_tls.h. */
#include "net/http_tls.h"

#include "lib/random.h"

#include <bearssl.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

TLS_SKE_LAYOUT_CHECK;

static size_t sign_hook(void *ctx, struct tls_conn *c, const struct tls_ske *q, uint8_t *sig,
			size_t cap)
{
	struct http_tls *t = ctx;
	struct http_tls_slot *s = &t->slot[c - t->conns];

	if (s->refused)
		return 0;   /* BearSSL fails the handshake with its own alert */
	if (s->have_sig && memcmp(&s->p, q, sizeof *q) == 0 && s->sig_len <= cap) {
		memcpy(sig, s->sig, s->sig_len);
		s->have_sig = false;
		s->signed_once = true;
		return s->sig_len;
	}
	s->p = *q;
	s->want = true;
	return 0;
}

/* keyd's request for the parameters p. */
static void sign_req(const struct tls_ske *p, struct tls_sign_req_msg *q)
{
	memset(q, 0, sizeof *q);
	q->version = 1;
	TLS_SKE_TO_REQ(q, p);
}

int http_tls_init(struct http_tls *t, http_tls_ask_fn ask, void *ask_ctx)
{
	uint8_t seed[48];
	int r = random_fill(seed, sizeof seed);

	if (r < 0)
		return r;
	br_hmac_drbg_init(&t->rng, &br_sha256_vtable, seed, sizeof seed);
	memset(seed, 0, sizeof seed);
	t->ask = ask;
	t->ask_ctx = ask_ctx;
	t->cfg = (struct tls_ident_cfg){
		.der = t->der, .der_len = 0, .sign = sign_hook, .ctx = t, .rng = &t->rng,
	};
	return 0;
}

int http_tls_set_cert(struct http_tls *t, const struct tls_cert_msg *m)
{
	br_x509_decoder_context d;
	const br_x509_pkey *pk;
	uint8_t h[32];

	if (m->der_len == 0 || m->der_len > sizeof m->der)
		return -EBADMSG;
	br_x509_decoder_init(&d, NULL, NULL);
	br_x509_decoder_push(&d, m->der, m->der_len);
	pk = br_x509_decoder_get_pkey(&d);
	if (pk == NULL || br_x509_decoder_last_error(&d) != 0 || pk->key_type != BR_KEYTYPE_EC ||
	    pk->key.ec.curve != BR_EC_secp256r1 || tls_pkey_spki_sha256(pk, h) < 0 ||
	    memcmp(h, m->spki_sha256, sizeof h) != 0)
		return -EBADMSG;
	memcpy(t->der, m->der, m->der_len);
	memcpy(t->spki_sha256, h, sizeof h);
	t->cfg.der_len = m->der_len;
	t->have_cert = true;
	return 0;
}

int http_tls_open(struct http_tls *t, unsigned i, uint64_t now_ms)
{
	(void)now_ms;
	memset(&t->slot[i], 0, sizeof t->slot[i]);
	if (!t->have_cert)
		return -ENOKEY;
	/* the certificate's dates are fixed and the client checks them, not
	 * us: the engine's time is not used by the server role */
	return tls_server_init_ident(&t->conns[i], &t->cfg, 0);
}

long http_tls_feed(struct http_tls *t, unsigned i, uint32_t conn_id, const uint8_t *p, size_t n)
{
	struct http_tls_slot *s = &t->slot[i];
	struct tls_conn *c = &t->conns[i];
	bool copy = !s->signed_once && !c->open;
	struct tls_sign_req_msg q;
	long r;

	if (s->waiting)
		return 0;
	if (copy)
		memcpy(&t->snap, c, sizeof *c);
	s->want = false;
	r = tls_feed(c, p, n);
	if (!s->want)
		return r;
	/* the sign hook had no signature: back to the engine before this
	 * feed, and ask keyd (once per connection: a second miss would mean
	 * the replay drew other parameters) */
	s->want = false;
	if (!copy)
		return r;   /* after the signature (cannot happen): failed as it stands */
	memcpy(c, &t->snap, sizeof *c);
	if (s->asks++ > 0) {
		s->refused = true;
		return tls_feed(c, p, n);
	}
	t->st.sign_asked++;
	sign_req(&s->p, &q);
	if (t->ask(t->ask_ctx, conn_id, &q) < 0) {
		/* fed again without a signature: BearSSL fails the handshake
		 * and says so to the client with a fatal alert */
		t->st.sign_refused++;
		s->refused = true;
		return tls_feed(c, p, n);
	}
	s->waiting = true;
	return 0;
}

bool http_tls_signed(struct http_tls *t, unsigned i, const struct tls_sign_reply_msg *rep)
{
	struct http_tls_slot *s = &t->slot[i];

	if (!s->waiting)
		return false;
	s->waiting = false;
	if (rep->error != 0 || rep->sig_len == 0 || rep->sig_len > sizeof s->sig) {
		/* the next feed fails the handshake (with an alert) */
		t->st.sign_refused++;
		s->refused = true;
		return true;
	}
	memcpy(s->sig, rep->sig, rep->sig_len);
	s->sig_len = rep->sig_len;
	s->have_sig = true;
	return true;
}

void http_tls_sign_lost(struct http_tls *t, unsigned i)
{
	struct http_tls_slot *s = &t->slot[i];

	if (!s->waiting)
		return;
	s->waiting = false;
	t->st.sign_refused++;
	s->refused = true;
}
