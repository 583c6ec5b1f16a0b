/* tls/client_sessions.c: the sessions netd's client engines offer
 * (tls/client_sessions.h). */
#include "tls/client_sessions.h"

#include <string.h>

void tls_client_sessions_clear(struct tls_client_sessions *t)
{
	/* the master secrets go with the entries */
	memset(t->slot, 0, sizeof t->slot);
}

void tls_client_session_key(const char *who, const char *host, uint16_t port, uint8_t key[32])
{
	static const uint8_t nul = 0;
	uint8_t pb[2] = { (uint8_t)(port >> 8), (uint8_t)port };
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, who, strlen(who));
	br_sha256_update(&h, &nul, 1);
	br_sha256_update(&h, host, strlen(host));
	br_sha256_update(&h, &nul, 1);
	br_sha256_update(&h, pb, sizeof pb);
	br_sha256_out(&h, key);
}

static struct tls_client_session *slot_for(struct tls_client_sessions *t, const uint8_t key[32])
{
	uint32_t k = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16;
	return &t->slot[k % TLS_CLIENT_SESSION_SLOTS];
}

static void clear(struct tls_client_session *s)
{
	memset(s, 0, sizeof *s);
}

const struct tls_client_session *tls_client_session_find(struct tls_client_sessions *t,
							 const uint8_t key[32], int64_t now)
{
	struct tls_client_session *s = slot_for(t, key);

	if (s->made == 0 || memcmp(s->key, key, sizeof s->key) != 0)
		return NULL;
	/* a clock that went back is no younger session */
	if (now < s->made || now - s->made >= TLS_CLIENT_SESSION_LIFETIME_S) {
		clear(s);
		return NULL;
	}
	return s;
}

void tls_client_session_save(struct tls_client_sessions *t, const uint8_t key[32],
			     const br_ssl_session_parameters *p, const uint8_t spki[32], int64_t now)
{
	struct tls_client_session *s;

	if (p->session_id_len == 0 || p->session_id_len > sizeof p->session_id || now <= 0)
		return;
	s = slot_for(t, key);
	memcpy(s->key, key, sizeof s->key);
	s->p = *p;
	memcpy(s->spki, spki, sizeof s->spki);
	s->made = now;
	t->saved++;
}

void tls_client_session_forget(struct tls_client_sessions *t, const uint8_t key[32])
{
	struct tls_client_session *s = slot_for(t, key);

	if (s->made != 0 && memcmp(s->key, key, sizeof s->key) == 0) {
		clear(s);
		t->forgotten++;
	}
}
