/* net/fakeaddr.c: see fakeaddr.h. */
#include "net/fakeaddr.h"

#include "lib/bytes.h"
#include "net/dns.h"

#include <errno.h>
#include <string.h>

/* Entries per third-octet step: last octets 1..254 (see fakeaddr.h). */
#define PER_BLOCK 254u

_Static_assert((FAKEADDR_SLOTS & (FAKEADDR_SLOTS - 1)) == 0, "slots: a power of two");
_Static_assert(FAKEADDR_SLOTS >= 2 * FAKEADDR_MAX_NAMES, "index at most half full");
_Static_assert(FAKEADDR_MAX_NAMES < 65535, "slot holds index + 1 in 16 bits");
_Static_assert(FAKEADDR_MAX_NAMES / PER_BLOCK * 256 < ~FAKEADDR_MASK,
	       "every entry's address inside the /10");

static inline uint64_t rotl(uint64_t x, unsigned b)
{
	return x << b | x >> (64 - b);
}

#define SIPROUND do { \
	v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
	v2 += v3; v3 = rotl(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = rotl(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
} while (0)

uint64_t fakeaddr_siphash(const uint8_t key[FAKEADDR_KEY_LEN], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; k < tail; k++)
		b |= (uint64_t)p[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint32_t fakeaddr_addr_of(uint32_t i)
{
	return FAKEADDR_NET + i / PER_BLOCK * 256 + i % PER_BLOCK + 1;
}

long fakeaddr_index_of(uint32_t addr)
{
	uint32_t off = addr - FAKEADDR_NET, last = off & 0xff;

	if (!fakeaddr_in_range(addr) || last == 0 || last == 255)
		return -1;
	return (long)((off >> 8) * PER_BLOCK + last - 1);
}

bool fakeaddr_in_range(uint32_t addr)
{
	return (addr & FAKEADDR_MASK) == FAKEADDR_NET;
}

void fakeaddr_init(struct fakeaddr_table *t, const uint8_t key[FAKEADDR_KEY_LEN])
{
	memcpy(t->key, key, FAKEADDR_KEY_LEN);
	t->count = 0;
	t->pool_len = 0;
	memset(t->slot, 0, sizeof t->slot);
}

uint32_t fakeaddr_count(const struct fakeaddr_table *t)
{
	return t->count;
}

/* The slot that holds name, or the empty slot where it would go. The
 * index is never more than half full, so the probe ends. */
static uint32_t probe(const struct fakeaddr_table *t, const char *name, size_t len,
		      uint32_t h)
{
	uint32_t s = h & (FAKEADDR_SLOTS - 1);

	for (;; s = (s + 1) & (FAKEADDR_SLOTS - 1)) {
		uint16_t e = t->slot[s];
		if (e == 0)
			return s;
		e--;
		if (t->hash[e] == h && t->len[e] == len &&
		    memcmp(t->pool + t->off[e], name, len) == 0)
			return s;
	}
}

int fakeaddr_find(const struct fakeaddr_table *t, const char *name, size_t len,
		  uint32_t *addr)
{
	uint32_t h, s;

	if (!dns_name_canonical(name, len))
		return -EINVAL;
	h = (uint32_t)fakeaddr_siphash(t->key, name, len);
	s = probe(t, name, len, h);
	if (t->slot[s] == 0)
		return -ENOENT;
	*addr = fakeaddr_addr_of(t->slot[s] - 1u);
	return 0;
}

int fakeaddr_get(struct fakeaddr_table *t, const char *name, size_t len, uint32_t *addr)
{
	uint32_t h, s, e;

	if (!dns_name_canonical(name, len))
		return -EINVAL;
	h = (uint32_t)fakeaddr_siphash(t->key, name, len);
	s = probe(t, name, len, h);
	if (t->slot[s] != 0) {
		*addr = fakeaddr_addr_of(t->slot[s] - 1u);
		return 0;
	}
	if (t->count == FAKEADDR_MAX_NAMES || FAKEADDR_POOL - t->pool_len < len + 1)
		return -ENOSPC;
	e = t->count++;
	t->hash[e] = h;
	t->off[e] = t->pool_len;
	t->len[e] = (uint8_t)len;
	memcpy(t->pool + t->pool_len, name, len);
	t->pool[t->pool_len + len] = '\0';
	t->pool_len += (uint32_t)len + 1;
	t->slot[s] = (uint16_t)(e + 1);
	*addr = fakeaddr_addr_of(e);
	return 0;
}

const char *fakeaddr_name(const struct fakeaddr_table *t, uint32_t addr, size_t *len)
{
	long i = fakeaddr_index_of(addr);

	if (i < 0 || (uint32_t)i >= t->count)
		return NULL;
	if (len)
		*len = t->len[i];
	return t->pool + t->off[i];
}
