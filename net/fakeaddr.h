/* net/fakeaddr.h: the fake IPv4 addresses a function's DNS answers give.
 *
 * A function's DNS responder (net/dns.h) answers an allowed name with an
 * address from 127.64.0.0/10 that stands for that name; when the function
 * then connects there, netd reads the address back with getsockname() and
 * looks the name up here. Every address of 127/8 reaches the sandbox's
 * own `lo`, where netd's listeners are, so no route or interface is needed.
 *
 * One table per function sandbox, owned by the caller (netd), no
 * allocation: the names live in a pool inside the struct.
 *
 * - Stable: a name keeps its address for the life of the table (the
 *   sandbox's), so a client's cache, a connection pool or a retry after
 *   the TTL expired always lands on the same name.
 * - Deterministic: the n-th new name (from 0) gets the n-th address of
 *   fakeaddr_addr_of(), in the order the names were first asked for.
 * - Bounded: FAKEADDR_MAX_NAMES names whose bytes (each NUL included) fit
 *   FAKEADDR_POOL. A full table refuses new names with -ENOSPC and never
 *   evicts one: a name's address may still be in a client's cache or in a
 *   live connection, and handing it to another name would send that
 *   client's next connection to the wrong host under the old name's
 *   policy. A function that asks for this many distinct names gets
 *   refusals (netd answers REFUSED and logs it), never a wrong host.
 * - O(1) average both ways: name -> address through an open-addressing
 *   hash index (linear probing, at most half full, no deletions), keyed
 *   with SipHash-2-4 under the caller's random key so that a function
 *   allowed a wildcard (`*.example.com`) cannot pick names that collide;
 *   address -> name is arithmetic (the address encodes the entry index).
 *
 * Addresses: entry i is 127.64.(i / 254).(i % 254 + 1) counted on from
 * 127.64.0.0, i.e. the last octet runs 1..254 and the third octet carries.
 * Addresses ending in .0 or .255 are never handed out: Linux accepts them
 * on `lo`, but some client libraries treat them as network or broadcast
 * addresses and refuse to connect; skipping them costs 2 of every 256 of
 * a range (4 Mi addresses) far larger than the table. 4096 names use
 * 127.64.0.1 .. 127.64.16.32.
 *
 * Names must be canonical (dns_name_canonical() in net/dns.h): lowercase
 * letters, digits and hyphens in dot-separated labels, no trailing dot.
 * Anything else is -EINVAL, so a name the table hands back is safe to log
 * and to put in a TLS SNI or a Host header as it is.
 *
 * Addresses are uint32_t in host byte order (ntohl() of sin_addr.s_addr).
 */
#ifndef DSHIELD_NET_FAKEADDR_H
#define DSHIELD_NET_FAKEADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/netd_sandboxd.h"

/* per function (netd holds one table per function that asked): 1024
 * names is far more than a function's rules name in practice, and keeps
 * a table near 45 KiB, so 256 functions cost netd about 11 MiB */
#define FAKEADDR_MAX_NAMES 1024
/* name bytes with their NULs: 1024 names of 31 bytes on average */
#define FAKEADDR_POOL      (32 * 1024)
/* hash index slots: a power of two, twice the names (load at most 0.5) */
#define FAKEADDR_SLOTS     (2 * FAKEADDR_MAX_NAMES)
#define FAKEADDR_KEY_LEN   16

#define FAKEADDR_NET       SBX_FAKE_NET   /* 127.64.0.0 */
#define FAKEADDR_MASK      SBX_FAKE_MASK  /* /10 */

/* Fields are private to net/fakeaddr.c; about 45 KiB. */
struct fakeaddr_table {
	uint8_t key[FAKEADDR_KEY_LEN];
	uint32_t count;                       /* names held, entries 0..count-1 */
	uint32_t pool_len;                    /* bytes of pool in use */
	uint32_t hash[FAKEADDR_MAX_NAMES];    /* low 32 bits of each name's hash */
	uint32_t off[FAKEADDR_MAX_NAMES];     /* where each name starts in pool */
	uint8_t len[FAKEADDR_MAX_NAMES];      /* its length (at most 253) */
	uint16_t slot[FAKEADDR_SLOTS];        /* 0: empty, else entry index + 1 */
	char pool[FAKEADDR_POOL];             /* the names, each NUL terminated */
};

/* An empty table whose hash is keyed with key (netd: random bytes per
 * table; tests: any fixed key). The key changes the hash index only,
 * never which address a name gets. */
void fakeaddr_init(struct fakeaddr_table *t, const uint8_t key[FAKEADDR_KEY_LEN]);

/* The address of name[0..len) (not NUL terminated), given a new one if
 * the name is not in the table yet. Returns 0 and *addr, -EINVAL for a
 * name that is not canonical, -ENOSPC when it is new and the table or
 * its pool is full. */
int fakeaddr_get(struct fakeaddr_table *t, const char *name, size_t len, uint32_t *addr);

/* Like fakeaddr_get() without adding: -ENOENT for a name not held. */
int fakeaddr_find(const struct fakeaddr_table *t, const char *name, size_t len,
		  uint32_t *addr);

/* The name behind addr (NUL terminated, valid for the table's life, its
 * length in *len when len is not NULL), or NULL when addr is not one the
 * table handed out. */
const char *fakeaddr_name(const struct fakeaddr_table *t, uint32_t addr, size_t *len);

/* addr is in 127.64.0.0/10 (handed out or not): a connection to it was
 * meant for a fake name, so an unknown one is refused, never routed. */
bool fakeaddr_in_range(uint32_t addr);

/* The address of entry i, and back (-1 for an address that is no
 * entry's, in range or not). */
uint32_t fakeaddr_addr_of(uint32_t i);
long fakeaddr_index_of(uint32_t addr);

/* Names held. */
uint32_t fakeaddr_count(const struct fakeaddr_table *t);

/* SipHash-2-4 of data under key (the index's hash; public for its test
 * vectors). */
uint64_t fakeaddr_siphash(const uint8_t key[FAKEADDR_KEY_LEN], const void *data, size_t len);

#endif
