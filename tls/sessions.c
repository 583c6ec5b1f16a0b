/* tls/sessions.c: the session table behind netd's terminating engines
 * (tls/sessions.h). */
#include "tls/sessions.h"
#include "tls/engine.h"

#include <stddef.h>
#include <string.h>

void tls_sessions_name_hash(const char *name, size_t len, uint8_t out[32])
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, name, len);
	br_sha256_out(&h, out);
}

static struct tls_sessions *table_of(const br_ssl_session_cache_class **ctx)
{
	return (struct tls_sessions *)(void *)((char *)ctx - offsetof(struct tls_sessions, vtable));
}

static struct tls_conn *conn_of(br_ssl_server_context *sc)
{
	return (struct tls_conn *)(void *)((char *)sc - offsetof(struct tls_conn, u.srv.ctx));
}

/* Session IDs are 32 random bytes (BearSSL's server makes them). */
static struct tls_session_slot *slot_for(struct tls_sessions *t, const uint8_t id[32])
{
	uint32_t k = (uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16;
	return &t->slot[k % TLS_SESSION_SLOTS];
}

static void save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
		 const br_ssl_session_parameters *p)
{
	struct tls_sessions *t = table_of(ctx);
	struct tls_conn *c = conn_of(sc);

	if (p->session_id_len != 32 || c->now <= 0)
		return;
	struct tls_session_slot *s = slot_for(t, p->session_id);
	memcpy(s->id, p->session_id, 32);
	tls_sessions_name_hash(c->expect, c->expect_len, s->name_hash);
	memcpy(s->master_secret, p->master_secret, sizeof s->master_secret);
	s->version = p->version;
	s->cipher_suite = p->cipher_suite;
	s->made = c->now;
	t->saved++;
}

/* Found only for the name it was made for. BearSSL looks the session up
 * before it has read the ClientHello's SNI: the engine checks that once
 * the handshake ends (tls/engine.c, update()). */
static int load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
		br_ssl_session_parameters *p)
{
	struct tls_sessions *t = table_of(ctx);
	struct tls_conn *c = conn_of(sc);
	uint8_t h[32];

	if (p->session_id_len != 32)
		return 0;
	struct tls_session_slot *s = slot_for(t, p->session_id);

	if (s->made == 0 || memcmp(s->id, p->session_id, 32) != 0)
		return 0;
	if (c->now < s->made || c->now - s->made > TLS_SESSION_LIFETIME_S) {
		memset(s, 0, sizeof *s);
		return 0;
	}
	tls_sessions_name_hash(c->expect, c->expect_len, h);
	if (memcmp(h, s->name_hash, sizeof h) != 0)
		return 0;   /* a full handshake, whose policy checks the SNI */
	memcpy(p->master_secret, s->master_secret, sizeof p->master_secret);
	p->version = s->version;
	p->cipher_suite = s->cipher_suite;
	return 1;
}

static const br_ssl_session_cache_class sessions_class = {
	sizeof(struct tls_sessions), save, load,
};

void tls_sessions_init(struct tls_sessions *s)
{
	memset(s, 0, sizeof *s);
	s->vtable = &sessions_class;
}
