/* tests/bench/bench_cert.c: what a leaf certificate costs (tls/cert).
 * In one run: N leaves minted by cert_leaf() (distinct names), N plain
 * ECDSA P-256 signatures of a SHA-256 hash with the same key and
 * implementation (the floor: a leaf is one signature plus its DER), in
 * alternating rounds, and their ratio; a full cert_cache's lookups (hits, the linear scan at its
 * longest: the last slot) and the CA's creation (two keys and a
 * signature). Prints one JSON object:
 *   {"leaves":N,"leaf_per_s":…,"sign_per_s":…,"ratio_leaf_over_sign":…,
 *    "leaf_us":…,"sign_us":…,"leaf_bytes":…,"cache_hit_ns":…,"ca_init_us":…}
 * Usage: bench_cert [N] */
#include "tls/cert.h"
#include "tls/cert_cache.h"

#include "samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 20

static struct cert_ca ca;
static struct cert_cache cache;

int main(int argc, char **argv)
{
	static uint8_t der[CERT_DER_MAX];
	br_hmac_drbg_context rng;
	struct cert_validity v = { 1767222000LL, 1767222000LL + 7 * 86400 };
	int n = argc > 1 ? atoi(argv[1]) : 2000, hits = 200000;
	br_ec_private_key sk = { .curve = BR_EC_secp256r1, .xlen = 32 };
	uint8_t hash[32], sig[80];
	const uint8_t *d;
	char name[64];
	uint64_t t0, t_ca, t_leaf, t_sign, t_hit;
	long len = 0, last_len = 0;

	if (n <= 0 || cert_drbg_seed(&rng) != 0) {
		fprintf(stderr, "usage: bench_cert [N]\n");
		return 2;
	}
	t0 = now_ns();
	if (cert_ca_init(&ca, &rng, "bench", 5, v.not_before + 3600, v.not_after) != 0)
		return 1;
	t_ca = now_ns() - t0;

	/* alternating rounds of each, so that a change in the machine's load
	 * (it is shared) falls on both sides of the ratio */
	sk.x = ca.key.priv;
	memset(hash, 0x5a, sizeof hash);
	t_leaf = t_sign = 0;
	for (int r = 0, i = 0, j = 0; r < ROUNDS; r++) {
		int end = (int)((long long)n * (r + 1) / ROUNDS);
		t0 = now_ns();
		for (; i < end; i++) {
			int k = snprintf(name, sizeof name, "host%d.example.com", i);
			len = cert_leaf(&ca, &rng, name, (size_t)k, &v, der, sizeof der);
			if (len <= 0) {
				fprintf(stderr, "bench_cert: leaf %d: %ld\n", i, len);
				return 1;
			}
		}
		t_leaf += now_ns() - t0;
		t0 = now_ns();
		for (; j < end; j++) {
			hash[0] = (uint8_t)j;
			hash[1] = (uint8_t)(j >> 8);
			if (br_ecdsa_i31_sign_asn1(br_ec_get_default(), &br_sha256_vtable, hash, &sk, sig) == 0)
				return 1;
		}
		t_sign += now_ns() - t0;
	}

	/* the cache full; every lookup the last name minted (the scan's end) */
	cert_cache_init(&cache);
	for (int i = 0; i < CERT_CACHE_SLOTS; i++) {
		int k = snprintf(name, sizeof name, "host%d.example.com", i);
		last_len = cert_cache_leaf(&cache, &ca, &rng, name, (size_t)k, v.not_before + 1, &v, &d);
		if (last_len <= 0)
			return 1;
	}
	t0 = now_ns();
	for (int i = 0; i < hits; i++)
		if (cert_cache_find(&cache, name, strlen(name), v.not_before + 1, &d) != last_len)
			return 1;
	t_hit = now_ns() - t0;

	printf("{\"leaves\":%d,\"leaf_per_s\":%.0f,\"sign_per_s\":%.0f,\"ratio_leaf_over_sign\":%.3f,"
	       "\"leaf_us\":%.1f,\"sign_us\":%.1f,\"leaf_bytes\":%ld,\"cache_slots\":%d,"
	       "\"cache_hit_ns\":%.0f,\"ca_init_us\":%.1f}\n",
	       n, n / (t_leaf / 1e9), n / (t_sign / 1e9), (double)t_sign / (double)t_leaf,
	       t_leaf / 1e3 / n, t_sign / 1e3 / n, len, CERT_CACHE_SLOTS, (double)t_hit / hits, t_ca / 1e3);
	return 0;
}
