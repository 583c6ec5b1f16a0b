/* tls/cert_cache.h: the caller-owned cache of leaf certificates (tls/cert.h)
 * by exact canonical name: a fixed number of slots, each holding the name
 * and the DER in fixed buffers, least recently used replaced first. No
 * allocation; a lookup is a linear scan (comparisons of a length and a
 * few bytes, next to an ECDSA signature per miss). */
#ifndef DSHIELD_TLS_CERT_CACHE_H
#define DSHIELD_TLS_CERT_CACHE_H

#include "tls/cert.h"

#include <stdint.h>

/* Fixed here, not per caller: the struct is laid out once for every user. */
#define CERT_CACHE_SLOTS 256

struct cert_slot {
	uint64_t used;                 /* the cache's tick at the last use; 0: empty */
	struct cert_validity v;
	uint16_t name_len, der_len;
	char name[CERT_NAME_MAX];
	uint8_t der[CERT_DER_MAX];
};

struct cert_cache {
	uint64_t tick;
	struct cert_slot slot[CERT_CACHE_SLOTS];
};

void cert_cache_init(struct cert_cache *c);

/* The leaf for name[0..len) valid at now (not_before <= now < not_after),
 * marked most recently used: *der points at it inside the cache until the
 * next cert_cache_leaf(). Returns its length, or -ENOENT. */
long cert_cache_find(struct cert_cache *c, const char *name, size_t len, int64_t now,
		     const uint8_t **der);

/* cert_cache_find(), or on a miss a leaf minted by cert_leaf() with
 * validity v (now must fall inside it) into the slot of that name if it
 * has expired, else an empty slot, else the least recently used one.
 * Returns the DER length (*der as above), or -ENAMETOOLONG (name longer
 * than a slot holds), -EINVAL or cert_leaf()'s errors (the slot it was
 * minting into is left empty). */
long cert_cache_leaf(struct cert_cache *c, const struct cert_ca *ca, br_hmac_drbg_context *rng,
		     const char *name, size_t len, int64_t now, const struct cert_validity *v,
		     const uint8_t **der);

#endif
