/* tls/engine.c: see engine.h; the choices (suites, buffers, errors) are
 * explained in docs/TLS.md, "Engines". */
#include "tls/engine.h"
#include "tls/sessions.h"

#include "crypto/x509_chain.h"
#include "tls/der_w.h"
#include "tls/ske.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The suites, in our order of preference: AES-GCM first (AES-NI and
 * PCLMUL make it the fastest here), ChaCha20-Poly1305 for clients without
 * them. All forward secret (ECDHE), all AEAD, all TLS 1.2. The server's
 * leaves are ECDSA, so it offers only ECDSA suites. */
static const uint16_t server_suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
};
static const uint16_t client_suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};

/* The hashes of handshake signatures and certificates: SHA-256/384/512.
 * No SHA-1 or MD5: a certificate or ServerKeyExchange signed with them is
 * refused. */
static const br_hash_class *const hashes[] = {
	&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
};

static int hash_id(const br_hash_class *h)
{
	return (int)(h->desc >> BR_HASHDESC_ID_OFF & BR_HASHDESC_ID_MASK);
}

static br_ssl_engine_context *eng(struct tls_conn *c)
{
	return c->role == TLS_ROLE_SERVER ? &c->u.srv.ctx.eng : &c->u.cli.ctx.eng;
}

/* BearSSL keeps the pointers; their type is not const-qualified. A server
 * picks the first of its names the client offers, so http/1.1 wins where
 * both are offered; http/1.0 alone is what `curl --http1.0` offers, and
 * the proxy's parser takes HTTP/1.0 requests. The client offers
 * http/1.1 alone: the requests it carries are HTTP/1.1's (or 1.0's, which
 * an HTTP/1.1 server takes). */
static const char *alpn_server[] = { "http/1.1", "http/1.0" };
static const char *alpn_client[] = { "http/1.1" };

/* What both roles share: version, suites, primitives, buffers, entropy,
 * ALPN. */
static void engine_setup(struct tls_conn *c, const uint16_t *suites, size_t n,
			 br_hmac_drbg_context *rng)
{
	br_ssl_engine_context *e = eng(c);
	uint8_t seed[32];

	br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(e, suites, n);
	for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
		br_ssl_engine_set_hash(e, hash_id(hashes[i]), hashes[i]);
	br_ssl_engine_set_prf_sha256(e, br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(e, br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(e);
	br_ssl_engine_set_default_chapol(e);
	br_ssl_engine_set_default_ec(e);
	br_ssl_engine_set_buffers_bidi(e, c->ibuf, sizeof c->ibuf, c->obuf, sizeof c->obuf);
	/* A renegotiation through the proxy would be a second handshake
	 * nobody checks: refused. */
	br_ssl_engine_add_flags(e, BR_OPT_NO_RENEGOTIATION);
	/* HTTP/1.x is all either side speaks: said in ALPN (RFC 7301), so a
	 * server multiplexing protocols by ALPN picks it, and a client that
	 * offers only others (h2, gRPC) is refused with
	 * no_application_protocol at the handshake, not with a 400 to an
	 * HTTP/2 preface. A client without ALPN is served as before. */
	if (c->role == TLS_ROLE_SERVER) {
		br_ssl_engine_set_protocol_names(e, alpn_server, 2);
		br_ssl_engine_add_flags(e, BR_OPT_FAIL_ON_ALPN_MISMATCH);
	} else {
		br_ssl_engine_set_protocol_names(e, alpn_client, 1);
	}
	/* The engine also seeds itself from the OS; the caller's DRBG (seeded
	 * from getrandom) makes it independent of that succeeding. */
	br_hmac_drbg_generate(rng, seed, sizeof seed);
	br_ssl_engine_inject_entropy(e, seed, sizeof seed);
	memset(seed, 0, sizeof seed);
}

/* A canonical name: 1..CERT_NAME_MAX bytes, no NUL (the rest is checked
 * by whoever compares it: cert_leaf, br_x509_minimal). */
static int set_expect(struct tls_conn *c, const char *name, size_t len)
{
	if (len == 0 || len > CERT_NAME_MAX || memchr(name, 0, len))
		return -EINVAL;
	memcpy(c->expect, name, len);
	c->expect[len] = 0;
	c->expect_len = len;
	return 0;
}

static void conn_reset(struct tls_conn *c, enum tls_role role, int64_t now)
{
	c->role = role;
	c->err = TLS_OK;
	c->br_err = 0;
	c->now = now;
	c->open = 0;
	c->closing = 0;
	c->eof = 0;
	c->chose = 0;
	c->cfg = NULL;
	c->ident = NULL;
}

/* --- server: the policy handler that checks SNI and presents the leaf --- */

static struct tls_conn *conn_of_policy(const br_ssl_server_policy_class **pctx)
{
	return (struct tls_conn *)(void *)((char *)pctx - offsetof(struct tls_conn, policy));
}

static int ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* SNI is compared without case (DNS names are, RFC 4343); the expected
 * name is canonical, so lowercase. */
static int sni_equal(const char *sni, const char *want, size_t want_len)
{
	size_t i;

	for (i = 0; i < want_len; i++)
		if (ascii_lower((unsigned char)sni[i]) != (unsigned char)want[i])
			return 0;
	return sni[i] == 0;
}

/* Our preferred ECDSA signature hash the client also supports, or 0. */
static unsigned pick_hash(const br_ssl_server_context *cc)
{
	/* bits 8..15: the hashes the client accepts with ECDSA */
	uint32_t h = br_ssl_server_get_client_hashes(cc) >> 8;
	static const unsigned pref[] = { br_sha256_ID, br_sha384_ID, br_sha512_ID };

	for (size_t i = 0; i < sizeof pref / sizeof pref[0]; i++)
		if (h & (1u << pref[i]))
			return pref[i];
	return 0;
}

static int srv_choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
		      br_ssl_server_choices *ch)
{
	struct tls_conn *c = conn_of_policy(pctx);
	const struct tls_server_cfg *cfg = c->cfg;
	const char *sni = br_ssl_engine_get_server_name(&cc->eng);
	const br_suite_translated *st;
	const uint8_t *der;
	size_t nst;
	unsigned hash;
	long n;

	if (!sni[0]) {
		c->err = TLS_E_SNI_MISSING;
		return 0;
	}
	if (!sni_equal(sni, c->expect, c->expect_len)) {
		c->err = TLS_E_SNI_MISMATCH;
		return 0;
	}
	c->chose = 1;
	st = br_ssl_server_get_client_suites(cc, &nst);
	hash = pick_hash(cc);
	if (nst == 0 || hash == 0) {
		/* every suite we offer is ECDHE-ECDSA: any common one will do */
		c->err = TLS_E_NO_SHARED_CIPHER;
		return 0;
	}
	n = cert_cache_leaf(cfg->cache, cfg->ca, cfg->rng, c->expect, c->expect_len, c->now,
			    &cfg->leaf_validity, &der);
	if (n < 0 || (size_t)n > sizeof c->u.srv.leaf) {
		c->err = TLS_E_LEAF;
		return 0;
	}
	/* Copied: the cache may hand the slot to another name before the
	 * engine has written all of the Certificate message. */
	memcpy(c->u.srv.leaf, der, (size_t)n);
	c->u.srv.chain.data = c->u.srv.leaf;
	c->u.srv.chain.data_len = (size_t)n;
	ch->cipher_suite = st[0][0];
	ch->algo_id = 0xFF00 + hash;
	ch->chain = &c->u.srv.chain;
	ch->chain_len = 1;
	return 1;
}

static uint32_t srv_keyx(const br_ssl_server_policy_class **pctx, unsigned char *data, size_t *len)
{
	/* only ECDHE suites: never called */
	(void)pctx;
	(void)data;
	(void)len;
	return 0;
}

static size_t srv_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id,
		       unsigned char *data, size_t hv_len, size_t len)
{
	struct tls_conn *c = conn_of_policy(pctx);
	const br_hash_class *hc = NULL;
	br_ec_private_key sk;
	uint8_t hv[64];

	for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
		if (hash_id(hashes[i]) == (int)(algo_id & 0xff))
			hc = hashes[i];
	/* an ECDSA P-256 signature in ASN.1 takes at most 72 bytes */
	if (!hc || hv_len > sizeof hv || len < 72)
		return 0;
	memcpy(hv, data, hv_len);
	sk.curve = BR_EC_secp256r1;
	sk.x = (unsigned char *)(uintptr_t)c->cfg->ca->leaf_key.priv;
	sk.xlen = sizeof c->cfg->ca->leaf_key.priv;
	return br_ecdsa_sign_asn1_get_default()(br_ec_get_default(), hc, hv, &sk, data);
}

static const br_ssl_server_policy_class srv_policy = {
	sizeof(struct tls_conn), srv_choose, srv_keyx, srv_sign,
};

int tls_sni_is(const struct tls_conn *c, const char *sni)
{
	return sni[0] != 0 && sni_equal(sni, c->expect, c->expect_len);
}

int tls_resumed(const struct tls_conn *c)
{
	if (!c->open)
		return 0;
	if (c->role == TLS_ROLE_CLIENT) {
		/* BearSSL's own test (ssl_hs_client.t0, read-ServerHello):
		 * the ServerHello echoed the non-empty ID the client sent */
		const br_ssl_session_parameters *s = &c->u.cli.ctx.eng.session;
		return c->u.cli.offered_len > 0 && s->session_id_len == c->u.cli.offered_len &&
		       memcmp(s->session_id, c->u.cli.offered_id, c->u.cli.offered_len) == 0;
	}
	return c->role == TLS_ROLE_SERVER && c->cfg != NULL && c->cfg->sessions != NULL &&
	       !c->chose;
}

int tls_server_init(struct tls_conn *c, const struct tls_server_cfg *cfg, const char *name,
		    size_t len, int64_t now)
{
	conn_reset(c, TLS_ROLE_SERVER, now);
	/* zeroed first: a refused init leaves a connection that is failed */
	br_ssl_server_zero(&c->u.srv.ctx);
	if (set_expect(c, name, len) < 0) {
		c->err = TLS_E_INTERNAL;
		return -EINVAL;
	}
	c->cfg = cfg;
	engine_setup(c, server_suites, sizeof server_suites / sizeof server_suites[0], cfg->rng);
	c->policy = &srv_policy;
	br_ssl_server_set_policy(&c->u.srv.ctx, &c->policy);
	if (cfg->sessions != NULL)
		br_ssl_server_set_cache(&c->u.srv.ctx, &cfg->sessions->vtable);
	if (!br_ssl_server_reset(&c->u.srv.ctx)) {
		c->err = TLS_E_INTERNAL;
		return -EIO;
	}
	return 0;
}

/* --- server with a fixed identity, signing elsewhere ----------------------------- */

static int ident_choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
			br_ssl_server_choices *ch)
{
	struct tls_conn *c = conn_of_policy(pctx);
	const br_suite_translated *st;
	size_t nst;
	unsigned hash;

	st = br_ssl_server_get_client_suites(cc, &nst);
	hash = pick_hash(cc);
	if (nst == 0 || hash == 0) {
		c->err = TLS_E_NO_SHARED_CIPHER;
		return 0;
	}
	ch->cipher_suite = st[0][0];
	ch->algo_id = 0xFF00 + hash;
	ch->chain = &c->u.srv.chain;
	ch->chain_len = 1;
	return 1;
}

/* BearSSL hands the hash of the ServerKeyExchange; the hook gets the
 * parameters it was computed from (read back from the engine), checked
 * here to hash to exactly that value: the signer signs what goes on the
 * wire, and only that. */
static size_t ident_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id,
			 unsigned char *data, size_t hv_len, size_t len)
{
	struct tls_conn *c = conn_of_policy(pctx);
	const br_ssl_engine_context *e = &c->u.srv.ctx.eng;
	struct tls_ske q;
	uint8_t hv[64];
	long hl;

	if (algo_id < 0xFF00 || e->ecdhe_point_len > sizeof q.point || len < TLS_SKE_SIG_MAX)
		return 0;
	memset(&q, 0, sizeof q);
	q.hash_id = (uint8_t)(algo_id & 0xff);
	q.curve = (uint16_t)e->ecdhe_curve;
	q.point_len = (uint8_t)e->ecdhe_point_len;
	memcpy(q.client_random, e->client_random, 32);
	memcpy(q.server_random, e->server_random, 32);
	memcpy(q.point, e->ecdhe_point, e->ecdhe_point_len);
	hl = tls_ske_hash(&q, hv);
	if (hl < 0 || (size_t)hl != hv_len || memcmp(hv, data, hv_len) != 0) {
		c->err = TLS_E_INTERNAL;
		return 0;
	}
	return c->ident->sign(c->ident->ctx, c, &q, data, len);
}

static const br_ssl_server_policy_class ident_policy = {
	sizeof(struct tls_conn), ident_choose, srv_keyx, ident_sign,
};

int tls_server_init_ident(struct tls_conn *c, const struct tls_ident_cfg *cfg, int64_t now)
{
	conn_reset(c, TLS_ROLE_SERVER, now);
	br_ssl_server_zero(&c->u.srv.ctx);
	if (cfg->der_len == 0 || cfg->der_len > sizeof c->u.srv.leaf) {
		c->err = TLS_E_INTERNAL;
		return -EINVAL;
	}
	c->ident = cfg;
	/* copied: the caller may replace its certificate while this
	 * connection's Certificate message is being written */
	memcpy(c->u.srv.leaf, cfg->der, cfg->der_len);
	c->u.srv.chain.data = c->u.srv.leaf;
	c->u.srv.chain.data_len = cfg->der_len;
	c->expect[0] = 0;
	c->expect_len = 0;
	engine_setup(c, server_suites, sizeof server_suites / sizeof server_suites[0], cfg->rng);
	c->policy = &ident_policy;
	br_ssl_server_set_policy(&c->u.srv.ctx, &c->policy);
	if (!br_ssl_server_reset(&c->u.srv.ctx)) {
		c->err = TLS_E_INTERNAL;
		return -EIO;
	}
	return 0;
}

/* --- client -------------------------------------------------------------------- */

int tls_client_init(struct tls_conn *c, const struct anchors *anchors, const char *host,
		    size_t len, int64_t now, br_hmac_drbg_context *rng)
{
	return tls_client_init_resume(c, anchors, host, len, now, rng, NULL);
}

int tls_client_init_resume(struct tls_conn *c, const struct anchors *anchors, const char *host,
			   size_t len, int64_t now, br_hmac_drbg_context *rng,
			   const br_ssl_session_parameters *s)
{
	br_x509_minimal_context *x = &c->u.cli.x509;
	uint32_t days, secs;
	int resume = s != NULL && s->session_id_len > 0 &&
		     s->session_id_len <= sizeof c->u.cli.offered_id;

	conn_reset(c, TLS_ROLE_CLIENT, now);
	br_ssl_client_zero(&c->u.cli.ctx);
	c->u.cli.pin_vt = NULL;
	c->u.cli.pin_bad = 0;
	c->u.cli.offered_len = 0;
	if (set_expect(c, host, len) < 0) {
		c->err = TLS_E_INTERNAL;
		return -EINVAL;
	}
	engine_setup(c, client_suites, sizeof client_suites / sizeof client_suites[0], rng);
	br_ssl_engine_set_default_rsavrfy(&c->u.cli.ctx.eng);
	br_ssl_engine_set_default_ecdsa(&c->u.cli.ctx.eng);

	br_x509_minimal_init(x, &br_sha256_vtable, anchors->ta, anchors->n);
	for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
		br_x509_minimal_set_hash(x, hash_id(hashes[i]), hashes[i]);
	br_x509_minimal_set_rsa(x, br_rsa_pkcs1_vrfy_get_default());
	br_x509_minimal_set_ecdsa(x, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default());
	/* the caller's clock, not BearSSL's call to time() */
	x509_time_from_unix(now, &days, &secs);
	br_x509_minimal_set_time(x, days, secs);
	br_ssl_engine_set_x509(&c->u.cli.ctx.eng, &x->vtable);
	if (resume) {
		br_ssl_engine_set_session_parameters(&c->u.cli.ctx.eng, s);
		memcpy(c->u.cli.offered_id, s->session_id, s->session_id_len);
		c->u.cli.offered_len = s->session_id_len;
	}
	/* the name goes out as SNI and is what br_x509_minimal checks */
	if (!br_ssl_client_reset(&c->u.cli.ctx, c->expect, resume)) {
		c->err = TLS_E_INTERNAL;
		return -EIO;
	}
	return 0;
}

/* The pin's validator: br_x509_minimal does the work (parsing, name,
 * dates, the chain); at the chain's end, "reaches no anchor" becomes
 * "trusted" when the leaf's key is the pin, and every other key fails. */
static struct tls_conn *conn_of_pin(const br_x509_class **ctx)
{
	return (struct tls_conn *)(void *)((char *)ctx - offsetof(struct tls_conn, u.cli.pin_vt));
}

static const br_x509_class **inner(const br_x509_class **ctx)
{
	return &conn_of_pin(ctx)->u.cli.x509.vtable;
}

static void pin_start_chain(const br_x509_class **ctx, const char *server_name)
{
	(*inner(ctx))->start_chain(inner(ctx), server_name);
}

static void pin_start_cert(const br_x509_class **ctx, uint32_t length)
{
	(*inner(ctx))->start_cert(inner(ctx), length);
}

static void pin_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	(*inner(ctx))->append(inner(ctx), buf, len);
}

static void pin_end_cert(const br_x509_class **ctx)
{
	(*inner(ctx))->end_cert(inner(ctx));
}

static unsigned pin_end_chain(const br_x509_class **ctx)
{
	struct tls_conn *c = conn_of_pin(ctx);
	unsigned e = (*inner(ctx))->end_chain(inner(ctx));
	const br_x509_pkey *pk;

	if (e != 0 && e != BR_ERR_X509_NOT_TRUSTED)   /* 0: a chain to an anchor */
		return e;
	/* br_x509_minimal hands out the key of a chain that is only
	 * untrusted, so that a caller can pin it */
	pk = (*inner(ctx))->get_pkey(inner(ctx), NULL);
	if (pk == NULL || tls_pkey_spki_sha256(pk, c->u.cli.seen) < 0 ||
	    memcmp(c->u.cli.seen, c->u.cli.pin, sizeof c->u.cli.pin) != 0) {
		if (pk == NULL)
			memset(c->u.cli.seen, 0, sizeof c->u.cli.seen);
		c->u.cli.pin_bad = 1;
		return BR_ERR_X509_NOT_TRUSTED;
	}
	return 0;
}

static const br_x509_pkey *pin_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct tls_conn *c = conn_of_pin((const br_x509_class **)(uintptr_t)ctx);

	if (c->u.cli.pin_bad)
		return NULL;
	return c->u.cli.x509.vtable->get_pkey(&c->u.cli.x509.vtable, usages);
}

static const br_x509_class pin_class = {
	sizeof(const br_x509_class *), pin_start_chain, pin_start_cert, pin_append,
	pin_end_cert, pin_end_chain, pin_get_pkey,
};

int tls_client_pin(struct tls_conn *c, const uint8_t pin[32])
{
	if (c->role != TLS_ROLE_CLIENT || c->err != TLS_OK || c->open)
		return -EINVAL;
	memcpy(c->u.cli.pin, pin, sizeof c->u.cli.pin);
	c->u.cli.pin_vt = &pin_class;
	c->u.cli.pin_bad = 0;
	br_ssl_engine_set_x509(&c->u.cli.ctx.eng, &c->u.cli.pin_vt);
	return 0;
}

/* --- state ---------------------------------------------------------------------- */

/* A resumed handshake skipped the policy's SNI check (srv_choose): the
 * same check now, before any application data is read (tls_in). */
static void check_resumed_sni(struct tls_conn *c)
{
	const char *sni = br_ssl_engine_get_server_name(eng(c));

	if (tls_sni_is(c, sni)) {
		c->cfg->sessions->resumed++;
		return;
	}
	/* failed from here: tls_feed, tls_write and tls_in refuse */
	c->err = sni[0] ? TLS_E_SNI_MISMATCH : TLS_E_SNI_MISSING;
}

/* Notes the handshake's end (application data possible once) and whether
 * BearSSL has failed; true when the connection is failed. */
static int update(struct tls_conn *c)
{
	unsigned st = br_ssl_engine_current_state(eng(c));

	if ((st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) && !c->open) {
		c->open = 1;
		if (c->role == TLS_ROLE_SERVER && tls_resumed(c))
			check_resumed_sni(c);
	}
	if ((st & BR_SSL_CLOSED) && !c->br_err)
		c->br_err = br_ssl_engine_last_error(eng(c));
	/* closed without an error before the handshake ended (found by
	 * fuzz_tls_engine: a peer's close_notify in the middle of it): the
	 * handshake failed, it was no clean close */
	if ((st & BR_SSL_CLOSED) && !c->open && !c->br_err && c->err == TLS_OK)
		c->err = TLS_E_PROTOCOL;
	return c->err != TLS_OK || c->br_err != 0;
}

long tls_feed(struct tls_conn *c, const void *p, size_t n)
{
	unsigned char *b;
	size_t room;

	size_t took = 0;

	if (update(c))
		return -EPROTO;
	/* BearSSL asks for a record's header, then its body: loop while it
	 * takes more, so that one call consumes whole records. */
	while (took < n && (b = br_ssl_engine_recvrec_buf(eng(c), &room)) != NULL) {
		size_t k = n - took < room ? n - took : room;
		memcpy(b, (const uint8_t *)p + took, k);
		br_ssl_engine_recvrec_ack(eng(c), k);
		took += k;
		if (update(c))
			return -EPROTO;
	}
	return (long)took;
}

const uint8_t *tls_out(struct tls_conn *c, size_t *n)
{
	/* also after a failure: a fatal alert may wait to go out */
	const uint8_t *b = br_ssl_engine_sendrec_buf(eng(c), n);

	if (!b)
		*n = 0;
	return b;
}

void tls_out_done(struct tls_conn *c, size_t sent)
{
	if (sent)
		br_ssl_engine_sendrec_ack(eng(c), sent);
	update(c);
}

long tls_write(struct tls_conn *c, const void *p, size_t n)
{
	unsigned char *b;
	size_t room;

	if (update(c))
		return -EPROTO;
	if (c->closing || (br_ssl_engine_current_state(eng(c)) & BR_SSL_CLOSED))
		return -EPIPE;
	b = br_ssl_engine_sendapp_buf(eng(c), &room);
	if (!b || n == 0)
		return 0;
	if (n > room)
		n = room;
	memcpy(b, p, n);
	br_ssl_engine_sendapp_ack(eng(c), n);
	br_ssl_engine_flush(eng(c), 0);
	return (long)n;
}

const uint8_t *tls_in(struct tls_conn *c, size_t *n)
{
	/* a resumed handshake's SNI is checked when it ends: none of its
	 * data is read past a refusal */
	if (update(c) && (c->err == TLS_E_SNI_MISMATCH || c->err == TLS_E_SNI_MISSING)) {
		*n = 0;
		return NULL;
	}
	const uint8_t *b = br_ssl_engine_recvapp_buf(eng(c), n);

	if (!b)
		*n = 0;
	return b;
}

void tls_in_done(struct tls_conn *c, size_t used)
{
	if (used)
		br_ssl_engine_recvapp_ack(eng(c), used);
	update(c);
}

void tls_close(struct tls_conn *c)
{
	c->closing = 1;
	br_ssl_engine_close(eng(c));
	update(c);
}

void tls_eof(struct tls_conn *c)
{
	update(c);
	c->eof = 1;
	if (c->err == TLS_OK && !c->br_err && !c->closing)
		c->err = TLS_E_TRUNCATED;
}

/* BearSSL's code at failure → our reason. */
static enum tls_error map_error(const struct tls_conn *c, int e)
{
	if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT) {
		/* A TLS 1.3-only peer refuses a 1.2 hello with protocol_version
		 * (RFC 8446 §4.2.1; a 1.3 client does so after our ServerHello). */
		if (e - BR_ERR_RECV_FATAL_ALERT == BR_ALERT_PROTOCOL_VERSION && !c->open)
			return TLS_E_TLS13_ONLY;
		if (e - BR_ERR_RECV_FATAL_ALERT == BR_ALERT_NO_APPLICATION_PROTOCOL && !c->open)
			return TLS_E_ALPN;
		return TLS_E_PEER_ALERT;
	}
	if (e == BR_ERR_SEND_FATAL_ALERT + BR_ALERT_NO_APPLICATION_PROTOCOL)
		return TLS_E_ALPN;
	switch (e) {
	case BR_ERR_UNSUPPORTED_VERSION:
	case BR_ERR_BAD_VERSION:
		return TLS_E_VERSION;
	case BR_ERR_BAD_CIPHER_SUITE:
	case BR_ERR_INVALID_ALGORITHM:
		return TLS_E_NO_SHARED_CIPHER;
	case BR_ERR_X509_NOT_TRUSTED:
		return c->role == TLS_ROLE_CLIENT && c->u.cli.pin_bad ? TLS_E_CERT_PIN :
									TLS_E_CERT_UNTRUSTED;
	case BR_ERR_X509_EXPIRED:
		return TLS_E_CERT_EXPIRED;
	case BR_ERR_X509_BAD_SERVER_NAME:
		return TLS_E_CERT_NAME;
	case BR_ERR_BAD_PARAM:
	case BR_ERR_BAD_STATE:
	case BR_ERR_NO_RANDOM:
		return TLS_E_INTERNAL;
	default:
		if (e >= BR_ERR_X509_OK && e < 64)
			return TLS_E_CERT_INVALID;
		return TLS_E_PROTOCOL;
	}
}

enum tls_status tls_status(struct tls_conn *c)
{
	update(c);
	if (c->err != TLS_OK)
		return TLS_FAILED;
	if (br_ssl_engine_current_state(eng(c)) & BR_SSL_CLOSED)
		return c->br_err ? TLS_FAILED : TLS_CLOSED;
	/* our close_notify sent and the peer hung up without its own: closed
	 * by us, nothing lost */
	if (c->eof && c->closing)
		return TLS_CLOSED;
	return c->open ? TLS_OPEN : TLS_HANDSHAKE;
}

enum tls_error tls_error(struct tls_conn *c)
{
	update(c);
	if (c->err != TLS_OK)
		return c->err;
	return c->br_err ? map_error(c, c->br_err) : TLS_OK;
}

static const char *alert_name(int a)
{
	switch (a) {
	case BR_ALERT_CLOSE_NOTIFY: return "close_notify";
	case BR_ALERT_UNEXPECTED_MESSAGE: return "unexpected_message";
	case BR_ALERT_BAD_RECORD_MAC: return "bad_record_mac";
	case BR_ALERT_HANDSHAKE_FAILURE: return "handshake_failure";
	case BR_ALERT_BAD_CERTIFICATE: return "bad_certificate";
	case BR_ALERT_UNSUPPORTED_CERTIFICATE: return "unsupported_certificate";
	case BR_ALERT_CERTIFICATE_EXPIRED: return "certificate_expired";
	case BR_ALERT_CERTIFICATE_UNKNOWN: return "certificate_unknown";
	case BR_ALERT_ILLEGAL_PARAMETER: return "illegal_parameter";
	case BR_ALERT_UNKNOWN_CA: return "unknown_ca";
	case BR_ALERT_ACCESS_DENIED: return "access_denied";
	case BR_ALERT_DECODE_ERROR: return "decode_error";
	case BR_ALERT_DECRYPT_ERROR: return "decrypt_error";
	case BR_ALERT_PROTOCOL_VERSION: return "protocol_version";
	case BR_ALERT_INSUFFICIENT_SECURITY: return "insufficient_security";
	case BR_ALERT_INTERNAL_ERROR: return "internal_error";
	case 112: return "unrecognized_name";   /* RFC 6066 */
	case BR_ALERT_NO_APPLICATION_PROTOCOL: return "no_application_protocol";
	default: return "alert";
	}
}

const char *tls_reason(struct tls_conn *c, char *buf, size_t cap)
{
	enum tls_error e = tls_error(c);
	int b = c->br_err;
	const char *peer = c->role == TLS_ROLE_CLIENT ? "upstream" : "client";

	switch (e) {
	case TLS_OK:
		snprintf(buf, cap, "%s", "");
		break;
	case TLS_E_SNI_MISSING:
		snprintf(buf, cap, "client sent no SNI (expected %s)", c->expect);
		break;
	case TLS_E_SNI_MISMATCH:
		snprintf(buf, cap, "SNI %.64s is not %s", tls_sni(c), c->expect);
		break;
	case TLS_E_LEAF:
		snprintf(buf, cap, "no leaf certificate for %s", c->expect);
		break;
	case TLS_E_TLS13_ONLY:
		if (c->role == TLS_ROLE_CLIENT)
			snprintf(buf, cap, "%s speaks only TLS 1.3 (protocol_version alert to our TLS 1.2 "
				 "ClientHello); the proxy speaks TLS 1.2", c->expect);
		else
			snprintf(buf, cap, "client requires TLS 1.3 (protocol_version alert); the proxy "
				 "speaks TLS 1.2");
		break;
	case TLS_E_VERSION:
		snprintf(buf, cap, "%s offered a TLS version other than 1.2", peer);
		break;
	case TLS_E_NO_SHARED_CIPHER:
		snprintf(buf, cap, "no cipher suite or signature hash in common with the %s", peer);
		break;
	case TLS_E_ALPN:
		if (c->role == TLS_ROLE_CLIENT)
			snprintf(buf, cap, "%s refused http/1.1 (ALPN: no_application_protocol); the "
				 "proxy speaks HTTP/1.1", c->expect);
		else
			snprintf(buf, cap, "client offers application protocols without http/1.1 "
				 "or http/1.0 (ALPN, e.g. h2 alone); the proxy speaks HTTP/1.x");
		break;
	case TLS_E_CERT_UNTRUSTED:
		snprintf(buf, cap, "certificate of %s does not chain to a trust anchor", c->expect);
		break;
	case TLS_E_CERT_PIN: {
		const uint8_t *h = c->u.cli.seen;
		snprintf(buf, cap, "certificate key of %s is not the pinned one (its SHA-256 "
			 "%02x%02x%02x%02x%02x%02x%02x%02x...)", c->expect, h[0], h[1], h[2], h[3],
			 h[4], h[5], h[6], h[7]);
		break;
	}
	case TLS_E_CERT_EXPIRED:
	case TLS_E_CERT_NAME:
	case TLS_E_CERT_INVALID:
		snprintf(buf, cap, "certificate of %s: %s (BearSSL %d)", c->expect,
			 e == TLS_E_CERT_NAME ? "not valid for this name" : x509_err_name(b), b);
		break;
	case TLS_E_PEER_ALERT:
		snprintf(buf, cap, "%s sent fatal alert %s (%d)", peer,
			 alert_name(b - BR_ERR_RECV_FATAL_ALERT), b - BR_ERR_RECV_FATAL_ALERT);
		break;
	case TLS_E_PROTOCOL:
		if (b >= BR_ERR_SEND_FATAL_ALERT)
			snprintf(buf, cap, "TLS protocol error: we sent alert %s", alert_name(b - BR_ERR_SEND_FATAL_ALERT));
		else if (b == 0)
			snprintf(buf, cap, "%s closed the connection before the handshake ended", peer);
		else if (b == BR_ERR_RESUME_MISMATCH)
			snprintf(buf, cap, "%s resumed our session with another TLS version or cipher "
				 "suite (BearSSL %d)", peer, b);
		else
			snprintf(buf, cap, "TLS protocol error with the %s (BearSSL %d)", peer, b);
		break;
	case TLS_E_TRUNCATED:
		snprintf(buf, cap, "%s closed the connection without close_notify", peer);
		break;
	case TLS_E_INTERNAL:
	default:
		if (b)
			snprintf(buf, cap, "TLS engine error (BearSSL %d)", b);
		else
			snprintf(buf, cap, "TLS engine not set up (bad name or parameters)");
		break;
	}
	return buf;
}

const char *tls_sni(struct tls_conn *c)
{
	if (c->role != TLS_ROLE_SERVER)
		return "";
	return br_ssl_engine_get_server_name(&c->u.srv.ctx.eng);
}

unsigned tls_suite(struct tls_conn *c)
{
	br_ssl_session_parameters sp;

	if (!c->open)
		return 0;
	br_ssl_engine_get_session_parameters(eng(c), &sp);
	return sp.cipher_suite;
}

/* --- the upstream key's hash ----------------------------------------------- */

static const uint8_t OID_RSA[]   = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const uint8_t OID_ECPUB[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[]  = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t OID_P384[]  = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t OID_P521[]  = { 0x2b, 0x81, 0x04, 0x00, 0x23 };

/* The SubjectPublicKeyInfo DER of a key BearSSL decoded (RFC 3279, RFC
 * 5480): DER has one encoding per value, so for a certificate that is
 * DER these are its bytes. Returns the length (at the end of buf) or a
 * negative errno. */
static long spki_der(struct derw *w, const br_x509_pkey *pk)
{
	static const uint8_t zero = 0;
	size_t m = derw_mark(w), mk, ma;

	if (pk->key_type == BR_KEYTYPE_RSA) {
		mk = derw_mark(w);
		derw_uint_be(w, pk->key.rsa.e, pk->key.rsa.elen);
		derw_uint_be(w, pk->key.rsa.n, pk->key.rsa.nlen);
		derw_wrap(w, DER_SEQUENCE, mk);
		/* the BIT STRING's unused-bits count (0) in front of the RSAPublicKey */
		derw_raw(w, &zero, 1);
		derw_wrap(w, DER_BIT_STRING, mk);
		ma = derw_mark(w);
		derw_null(w);
		derw_oid(w, OID_RSA, sizeof OID_RSA);
		derw_wrap(w, DER_SEQUENCE, ma);
	} else if (pk->key_type == BR_KEYTYPE_EC) {
		const uint8_t *oid;
		size_t oid_len;

		switch (pk->key.ec.curve) {
		case BR_EC_secp256r1: oid = OID_P256; oid_len = sizeof OID_P256; break;
		case BR_EC_secp384r1: oid = OID_P384; oid_len = sizeof OID_P384; break;
		case BR_EC_secp521r1: oid = OID_P521; oid_len = sizeof OID_P521; break;
		default: return -EINVAL;
		}
		derw_bits(w, pk->key.ec.q, pk->key.ec.qlen, 0);
		ma = derw_mark(w);
		derw_oid(w, oid, oid_len);
		derw_oid(w, OID_ECPUB, sizeof OID_ECPUB);
		derw_wrap(w, DER_SEQUENCE, ma);
	} else {
		return -EINVAL;
	}
	return derw_wrap(w, DER_SEQUENCE, m);
}

int tls_pkey_spki_sha256(const br_x509_pkey *pk, uint8_t out[32])
{
	/* an RSA key of 8192 bits and its headers */
	uint8_t buf[1100];
	br_sha256_context h;
	struct derw w;
	long r;

	derw_init(&w, buf, sizeof buf);
	spki_der(&w, pk);
	r = derw_result(&w);
	if (r < 0)
		return (int)r;
	br_sha256_init(&h);
	br_sha256_update(&h, derw_data(&w), derw_len(&w));
	br_sha256_out(&h, out);
	return 0;
}

int tls_session(struct tls_conn *c, br_ssl_session_parameters *out)
{
	if (c->role != TLS_ROLE_CLIENT)
		return -EINVAL;
	if (!c->open || tls_status(c) == TLS_FAILED)
		return -EAGAIN;
	br_ssl_engine_get_session_parameters(&c->u.cli.ctx.eng, out);
	return out->session_id_len > 0 ? 0 : -ENOENT;
}

int tls_peer_spki_sha256(struct tls_conn *c, uint8_t out[32])
{
	const br_x509_pkey *pk;

	if (c->role != TLS_ROLE_CLIENT)
		return -EINVAL;
	if (!c->open || tls_status(c) == TLS_FAILED)
		return -EAGAIN;
	if (tls_resumed(c))
		return -ENOENT;
	pk = c->u.cli.x509.vtable->get_pkey(&c->u.cli.x509.vtable, NULL);
	if (!pk)
		return -EAGAIN;
	return tls_pkey_spki_sha256(pk, out);
}
