/* tests/bench/bench_tls.c: what the egress proxy's TLS engines cost
 * (tls/engine). In one run: N in-memory handshakes of our server engine
 * (leaf from the cache: one mint, then hits) with our client engine (the
 * local CA as anchor) — the pair, i.e. both ends of one intercepted
 * connection's TLS — against N plain ECDSA P-256 signatures with the same
 * implementation, and N resumed handshakes of the same pair (the client
 * offering the session of a first full handshake, tls_client_init_resume;
 * the server's table, tls/sessions.h), in alternating rounds, and their
 * ratios; then bulk
 * application data through one open pair (server to client, 4 KiB
 * records: AES-128-GCM both ends, encrypt + decrypt). Prints one JSON
 * object:
 *   {"handshakes":N,"handshake_pair_per_s":…,"sign_per_s":…,
 *    "ratio_handshake_over_sign":…,"resumed_pair_per_s":…,
 *    "ratio_resumed_over_full":…,"bulk_mib_per_s":…,"conn_bytes":…}
 * Usage: bench_tls [N] */
#include "tls/anchors.h"
#include "tls/cert.h"
#include "tls/cert_cache.h"
#include "tls/engine.h"
#include "tls/sessions.h"

#include "samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 10
#define NAME "api.example.com"
#define BULK (64u << 20)

static struct cert_ca ca;
static struct cert_cache cache;
static struct tls_conn srv, cli;
static struct tls_sessions sessions;

static void pump(struct tls_conn *a, struct tls_conn *b)
{
	for (int moved = 1; moved;) {
		moved = 0;
		for (int dir = 0; dir < 2; dir++) {
			struct tls_conn *from = dir ? b : a, *to = dir ? a : b;
			size_t n;
			const uint8_t *p = tls_out(from, &n);
			long k = n ? tls_feed(to, p, n) : 0;
			if (k > 0) {
				tls_out_done(from, (size_t)k);
				moved = 1;
			}
		}
	}
}

int main(int argc, char **argv)
{
	static uint8_t afile[ANCHORS_HEADER_LEN + ANCHORS_RECORD_MAX], chunk[TLS_OUT_FRAG];
	static br_x509_trust_anchor ta[1];
	br_hmac_drbg_context rng;
	struct tls_server_cfg cfg;
	struct anchors a;
	int n = argc > 1 ? atoi(argv[1]) : 300;
	int64_t now = time(NULL);
	br_ec_private_key sk = { .curve = BR_EC_secp256r1, .xlen = 32 };
	uint8_t hash[32], sig[80];
	uint64_t t0, t_hs = 0, t_sign = 0, t_res = 0, t_bulk;
	br_ssl_session_parameters sp;
	size_t moved = 0;
	long r;

	if (n <= 0 || cert_drbg_seed(&rng) != 0 || cert_ca_init(&ca, &rng, "bench", 5, now, now + 86400) != 0)
		return 2;
	r = anchors_record(afile + ANCHORS_HEADER_LEN, sizeof afile - ANCHORS_HEADER_LEN, ca.der, ca.der_len,
			   0, NULL, 0);
	anchors_header(afile, sizeof afile, 1);
	anchors_init(&a, ta, 1);
	if (r < 0 || anchors_parse(&a, afile, ANCHORS_HEADER_LEN + (size_t)r, 0, NULL, 0) != 1)
		return 1;
	cert_cache_init(&cache);
	cfg = (struct tls_server_cfg){ &ca, &cache, &rng, { now - 3600, now + 86400 }, NULL };
	sk.x = ca.key.priv;
	memset(hash, 0x5a, sizeof hash);

	/* the session the resumed rounds offer: a full handshake's, kept by a
	 * server configuration with a table (the full rounds use none) */
	tls_sessions_init(&sessions);
	struct tls_server_cfg rcfg = cfg;
	rcfg.sessions = &sessions;
	if (tls_server_init(&srv, &rcfg, NAME, strlen(NAME), now) ||
	    tls_client_init(&cli, &a, NAME, strlen(NAME), now, &rng))
		return 1;
	pump(&cli, &srv);
	if (tls_session(&cli, &sp) != 0)
		return 1;

	/* alternating rounds, so that the shared machine's load falls on both */
	for (int k = 0, i = 0, j = 0, m = 0; k < ROUNDS; k++) {
		int end = (int)((long long)n * (k + 1) / ROUNDS);
		t0 = now_ns();
		for (; i < end; i++) {
			if (tls_server_init(&srv, &cfg, NAME, strlen(NAME), now) ||
			    tls_client_init(&cli, &a, NAME, strlen(NAME), now, &rng))
				return 1;
			pump(&cli, &srv);
			if (tls_status(&cli) != TLS_OPEN || tls_status(&srv) != TLS_OPEN) {
				fprintf(stderr, "bench_tls: handshake %d failed\n", i);
				return 1;
			}
		}
		t_hs += now_ns() - t0;
		t0 = now_ns();
		for (; j < end; j++) {
			hash[0] = (uint8_t)j;
			hash[1] = (uint8_t)(j >> 8);
			if (br_ecdsa_i31_sign_asn1(br_ec_get_default(), &br_sha256_vtable, hash, &sk, sig) == 0)
				return 1;
		}
		t_sign += now_ns() - t0;
		t0 = now_ns();
		for (; m < end; m++) {
			if (tls_server_init(&srv, &rcfg, NAME, strlen(NAME), now) ||
			    tls_client_init_resume(&cli, &a, NAME, strlen(NAME), now, &rng, &sp))
				return 1;
			pump(&cli, &srv);
			if (!tls_resumed(&cli) || !tls_resumed(&srv)) {
				fprintf(stderr, "bench_tls: resumed handshake %d did not resume\n", m);
				return 1;
			}
		}
		t_res += now_ns() - t0;
	}

	/* bulk: the last pair is open */
	memset(chunk, 0xa5, sizeof chunk);
	t0 = now_ns();
	while (moved < BULK) {
		size_t got;
		const uint8_t *p;
		if (tls_write(&srv, chunk, sizeof chunk) <= 0)
			return 1;
		pump(&srv, &cli);
		while ((p = tls_in(&cli, &got)) && got) {
			moved += got;
			tls_in_done(&cli, got);
		}
	}
	t_bulk = now_ns() - t0;

	printf("{\"handshakes\":%d,\"handshake_pair_per_s\":%.0f,\"sign_per_s\":%.0f,"
	       "\"ratio_handshake_over_sign\":%.3f,\"handshake_pair_us\":%.0f,"
	       "\"resumed_pair_per_s\":%.0f,\"ratio_resumed_over_full\":%.2f,\"bulk_mib_per_s\":%.0f,"
	       "\"conn_bytes\":%zu}\n",
	       n, n / (t_hs / 1e9), n / (t_sign / 1e9), (double)t_sign / (double)t_hs, t_hs / 1e3 / n,
	       n / (t_res / 1e9), (double)t_hs / (double)t_res,
	       moved / (double)(1u << 20) / (t_bulk / 1e9), sizeof(struct tls_conn));
	return 0;
}
