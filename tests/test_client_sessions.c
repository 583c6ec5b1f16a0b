/* tests/test_client_sessions.c: tls/client_sessions, the sessions netd's
 * client engines offer to upstreams (docs/TLS.md, "Resumption toward
 * upstreams"): found under the key they were saved with and no other
 * (function, host and port each part of it), with the full handshake's
 * key hash; stale after their lifetime, or when the clock went back;
 * not extended by a save of the same session later; overwritten by a
 * key sharing the slot; forgotten; all gone when cleared.
 */
#include "tap.h"
#include "tls/client_sessions.h"

#include <string.h>

static struct tls_client_sessions t;

static br_ssl_session_parameters session(uint8_t tag)
{
	br_ssl_session_parameters p;

	memset(&p, 0, sizeof p);
	memset(p.session_id, tag, sizeof p.session_id);
	p.session_id_len = 32;
	p.version = BR_TLS12;
	p.cipher_suite = BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
	memset(p.master_secret, tag ^ 0x5a, sizeof p.master_secret);
	return p;
}

/* A key of another function that maps to key's slot. */
static void collide(const uint8_t key[32], uint8_t out[32])
{
	char fn[32];

	for (unsigned i = 0;; i++) {
		snprintf(fn, sizeof fn, "fn-%u", i);
		tls_client_session_key(fn, "api.example.com", 443, out);
		unsigned a = (unsigned)key[0] | (unsigned)key[1] << 8 | (unsigned)key[2] << 16;
		unsigned b = (unsigned)out[0] | (unsigned)out[1] << 8 | (unsigned)out[2] << 16;
		if (a % TLS_CLIENT_SESSION_SLOTS == b % TLS_CLIENT_SESSION_SLOTS &&
		    memcmp(key, out, 32) != 0)
			return;
	}
}

int main(void)
{
	const int64_t now = 1800000000;
	const struct tls_client_session *s;
	br_ssl_session_parameters p = session(1), q = session(2), empty = session(3);
	uint8_t k[32], k2[32], spki[32], spki2[32];

	memset(spki, 0xab, sizeof spki);
	memset(spki2, 0xcd, sizeof spki2);
	tls_client_sessions_clear(&t);
	tls_client_session_key("fn-a", "api.example.com", 443, k);

	ok(tls_client_session_find(&t, k, now) == NULL, "an empty table finds nothing");
	tls_client_session_save(&t, k, &p, spki, now);
	s = tls_client_session_find(&t, k, now + 1);
	ok(s != NULL && memcmp(&s->p, &p, sizeof p) == 0 && memcmp(s->spki, spki, 32) == 0 &&
	   s->made == now, "a saved session is found, its parameters and key hash with it");
	is_int(t.saved, 1, "saved counted");

	tls_client_session_key("fn-b", "api.example.com", 443, k2);
	ok(tls_client_session_find(&t, k2, now) == NULL, "not under another function's key");
	tls_client_session_key("fn-a", "api.example.co", 443, k2);
	ok(tls_client_session_find(&t, k2, now) == NULL, "not under another host's key");
	tls_client_session_key("fn-a", "api.example.com", 8443, k2);
	ok(tls_client_session_find(&t, k2, now) == NULL, "not under another port's key");
	/* the parts end with a 0 byte: a name cannot move into the next */
	tls_client_session_key("fn-aapi.example.com", "", 443, k2);
	ok(memcmp(k, k2, 32) != 0, "the parts' boundary is part of the key");

	ok(tls_client_session_find(&t, k, now - 1) == NULL, "a clock that went back: not found");
	ok(tls_client_session_find(&t, k, now) == NULL, "  and the session is gone");

	tls_client_session_save(&t, k, &p, spki, now);
	ok(tls_client_session_find(&t, k, now + TLS_CLIENT_SESSION_LIFETIME_S - 1) != NULL,
	   "found within its lifetime");
	ok(tls_client_session_find(&t, k, now + TLS_CLIENT_SESSION_LIFETIME_S) == NULL,
	   "stale at its lifetime's end");
	ok(tls_client_session_find(&t, k, now + 1) == NULL, "  and gone after that");

	empty.session_id_len = 0;
	tls_client_session_save(&t, k, &empty, spki, now);
	ok(tls_client_session_find(&t, k, now) == NULL, "a session without an ID is not kept");
	tls_client_session_save(&t, k, &p, spki, 0);
	ok(tls_client_session_find(&t, k, 1) == NULL, "nor one made at time 0 (no clock)");

	tls_client_session_save(&t, k, &p, spki, now);
	tls_client_session_save(&t, k, &q, spki2, now + 100);
	s = tls_client_session_find(&t, k, now + 100);
	ok(s != NULL && s->p.session_id[0] == 2 && s->spki[0] == 0xcd && s->made == now + 100,
	   "a newer full handshake's session replaces the older");

	collide(k, k2);
	tls_client_session_save(&t, k2, &p, spki, now + 100);
	ok(tls_client_session_find(&t, k, now + 100) == NULL &&
	   tls_client_session_find(&t, k2, now + 100) != NULL,
	   "a key sharing the slot overwrites it (the old key finds nothing)");

	tls_client_session_forget(&t, k);
	ok(tls_client_session_find(&t, k2, now + 100) != NULL,
	   "forgetting a key whose session was overwritten leaves the other");
	tls_client_session_forget(&t, k2);
	ok(tls_client_session_find(&t, k2, now + 100) == NULL && t.forgotten == 1,
	   "forgotten: not found, counted");

	tls_client_session_save(&t, k, &p, spki, now);
	tls_client_sessions_clear(&t);
	ok(tls_client_session_find(&t, k, now) == NULL, "cleared: nothing found");
	int zero = 1;
	for (size_t i = 0; i < sizeof t.slot; i++)
		zero &= ((const uint8_t *)t.slot)[i] == 0;
	ok(zero, "  and no master secret left in the table");
	return tap_done();
}
