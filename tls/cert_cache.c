/* tls/cert_cache.c: see cert_cache.h. */
#include "tls/cert_cache.h"

#include <errno.h>
#include <string.h>

void cert_cache_init(struct cert_cache *c)
{
	c->tick = 0;
	for (size_t i = 0; i < CERT_CACHE_SLOTS; i++)
		c->slot[i].used = 0;
}

static struct cert_slot *by_name(struct cert_cache *c, const char *name, size_t len)
{
	for (size_t i = 0; i < CERT_CACHE_SLOTS; i++) {
		struct cert_slot *s = &c->slot[i];
		if (s->used && s->name_len == len && memcmp(s->name, name, len) == 0)
			return s;
	}
	return NULL;
}

static int valid_at(const struct cert_validity *v, int64_t now)
{
	return v->not_before <= now && now < v->not_after;
}

static long hit(struct cert_cache *c, struct cert_slot *s, const uint8_t **der)
{
	s->used = ++c->tick;
	*der = s->der;
	return s->der_len;
}

long cert_cache_find(struct cert_cache *c, const char *name, size_t len, int64_t now,
		     const uint8_t **der)
{
	struct cert_slot *s = len <= CERT_NAME_MAX ? by_name(c, name, len) : NULL;

	if (!s || !valid_at(&s->v, now))
		return -ENOENT;
	return hit(c, s, der);
}

/* An empty slot, else the least recently used. */
static struct cert_slot *victim(struct cert_cache *c)
{
	struct cert_slot *lru = &c->slot[0];

	for (size_t i = 0; i < CERT_CACHE_SLOTS; i++) {
		struct cert_slot *s = &c->slot[i];
		if (!s->used)
			return s;
		if (s->used < lru->used)
			lru = s;
	}
	return lru;
}

long cert_cache_leaf(struct cert_cache *c, const struct cert_ca *ca, br_hmac_drbg_context *rng,
		     const char *name, size_t len, int64_t now, const struct cert_validity *v,
		     const uint8_t **der)
{
	struct cert_slot *s;
	long n;

	if (len > CERT_NAME_MAX)
		return -ENAMETOOLONG;
	if (!valid_at(v, now))
		return -EINVAL;
	s = by_name(c, name, len);
	if (s && valid_at(&s->v, now))
		return hit(c, s, der);
	if (!s)
		s = victim(c);
	s->used = 0;
	n = cert_leaf(ca, rng, name, len, v, s->der, sizeof s->der);
	if (n < 0)
		return n;
	memcpy(s->name, name, len);
	s->name_len = (uint16_t)len;
	s->der_len = (uint16_t)n;
	s->v = *v;
	return hit(c, s, der);
}
