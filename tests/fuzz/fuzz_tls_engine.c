/* tests/fuzz/fuzz_tls_engine.c: libFuzzer target for tls/engine: the
 * bytes a function's client (server role) or an upstream (client role)
 * sends, fed in chunks of varying size. BearSSL parses the records; this
 * checks our glue around it on arbitrary input: SNI handling and the leaf
 * lookup in the policy hook, feed/drain accounting, and that the status,
 * error and reason always agree (failed ⇔ an error and a non-empty
 * reason; no plaintext accepted or delivered before a handshake that
 * arbitrary bytes cannot complete).
 *
 * Input: byte 0 picks the role (bit 0) and the chunk size (bits 1..7,
 * 1..128 bytes); the rest is the peer's byte stream. For the client role
 * the ClientHello is drained first; with bit 1 set it offers a session to
 * resume (tls_client_init_resume: a ServerHello may echo its ID, with
 * the session's suite and version or others). The seeds are a ClientHello and a
 * server's first flight made by these engines. */
#include "lib/errbuf.h"
#include "tls/anchors.h"
#include "tls/cert.h"
#include "tls/cert_cache.h"
#include "tls/engine.h"
#include "tls/sessions.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1767225600LL   /* 2026-01-01 */
#define NAME "api.example.com"

static struct cert_ca ca;
static struct cert_cache cache;
static struct tls_server_cfg cfg;
static struct tls_sessions sessions;   /* a ClientHello's session ID is looked up */
static br_hmac_drbg_context rng;
static struct anchors anchors;
static br_x509_trust_anchor ta[1];
static uint8_t afile[ANCHORS_HEADER_LEN + ANCHORS_RECORD_MAX];
static struct tls_conn c;
static br_ssl_session_parameters offered;   /* the client role's, bit 1 */
static int ready;

static void setup(void)
{
	static const uint8_t seed[32] = { 1 };
	long r;

	/* a fixed DRBG: the same CA every run (BearSSL still adds OS entropy
	 * to each engine) */
	br_hmac_drbg_init(&rng, &br_sha256_vtable, seed, sizeof seed);
	if (cert_ca_init(&ca, &rng, "fuzz", 4, NOW, NOW + 86400) != 0)
		abort();
	cert_cache_init(&cache);
	tls_sessions_init(&sessions);
	cfg = (struct tls_server_cfg){ &ca, &cache, &rng, { NOW - 3600, NOW + 86400 }, &sessions };
	r = anchors_record(afile + ANCHORS_HEADER_LEN, sizeof afile - ANCHORS_HEADER_LEN, ca.der, ca.der_len,
			   0, NULL, 0);
	anchors_header(afile, sizeof afile, 1);
	anchors_init(&anchors, ta, 1);
	if (r < 0 || anchors_parse(&anchors, afile, ANCHORS_HEADER_LEN + (size_t)r, 0, NULL, 0) != 1)
		abort();
	memset(offered.session_id, 0x11, sizeof offered.session_id);
	offered.session_id_len = 32;
	offered.version = BR_TLS12;
	offered.cipher_suite = BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
	memset(offered.master_secret, 0x22, sizeof offered.master_secret);
	ready = 1;
}

static void drain(void)
{
	size_t n;

	while (tls_out(&c, &n) && n)
		tls_out_done(&c, n);
	while (tls_in(&c, &n) && n)
		abort();   /* no handshake can complete: no plaintext */
}

static void check(void)
{
	char why[ERRBUF_LEN];
	enum tls_status st = tls_status(&c);
	enum tls_error e = tls_error(&c);

	tls_reason(&c, why, sizeof why);
	if ((st == TLS_FAILED) != (e != TLS_OK) || (e != TLS_OK) != (why[0] != 0))
		abort();
	if (st == TLS_OPEN || st == TLS_CLOSED)
		abort();
	if (strlen(tls_sni(&c)) > 255)
		abort();
	if (tls_write(&c, "x", 1) > 0 || tls_resumed(&c))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk, off = 1;
	int server;

	if (!ready)
		setup();
	if (size < 1)
		return 0;
	server = !(data[0] & 1);
	chunk = (size_t)(data[0] >> 1) + 1;
	if (server ? tls_server_init(&c, &cfg, NAME, strlen(NAME), NOW)
		   : tls_client_init_resume(&c, &anchors, NAME, strlen(NAME), NOW, &rng,
					    (data[0] & 2) ? &offered : NULL))
		abort();
	drain();
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		long k = tls_feed(&c, data + off, n);
		if (k == 0) {
			/* output to drain first, or an engine that takes nothing */
			drain();
			if ((k = tls_feed(&c, data + off, n)) == 0)
				break;
		}
		if (k < 0) {
			if (k != -EPROTO || tls_status(&c) != TLS_FAILED)
				abort();
			break;
		}
		off += (size_t)k;
		drain();
		check();
	}
	tls_eof(&c);
	check();
	return 0;
}
