/* tests/test_http_tls.c: the API's TLS layer (net/http_tls.c) against
 * BearSSL's client, in memory, with keyd's signer (keyd/apikey.c) standing
 * in for keyd:
 *
 *   - keyd's certificate is taken only when its key hashes to the hash
 *     sent with it;
 *   - a handshake asks keyd exactly once, takes nothing from the client
 *     while it waits, and completes after the answer: the replayed engine
 *     draws the same parameters, the client validates the certificate (as
 *     its own anchor, for dshield-api.invalid) and the signature;
 *   - application data flows both ways afterwards;
 *   - keyd refusing (-EBUSY), keyd gone, or a signature by another key
 *     fail the handshake (netd then closes the connection);
 *   - the parameters the engine sends pass keyd's checks (apikey_req).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyd/apikey.h"
#include "net/http_tls.h"
#include "tls/anchors.h"
#include "tests/tap.h"

static struct http_tls T;          /* 0.46 MiB */
static struct apikey key, other;
static struct tls_conn cli;
static br_hmac_drbg_context rng;
static uint8_t afile[ANCHORS_HEADER_LEN + ANCHORS_RECORD_MAX];
static br_x509_trust_anchor ta[1];
static struct anchors anchors;

/* the ask hook: what netd would send keyd */
static unsigned asks;
static struct tls_sign_req_msg asked;
static uint32_t asked_id;
static int ask_result;

static int ask(void *ctx, uint32_t conn_id, const struct tls_sign_req_msg *q)
{
	(void)ctx;
	asks++;
	asked = *q;
	asked_id = conn_id;
	return ask_result;
}

/* Moves bytes both ways until nothing moves; the server side through
 * http_tls_feed (slot 0). Returns the bytes the server took in all. */
static size_t pump(void)
{
	size_t took = 0;

	for (int moved = 1, rounds = 0; moved && rounds < 1000; rounds++) {
		size_t n;
		const uint8_t *p;
		long k;

		moved = 0;
		p = tls_out(&cli, &n);
		if (n > 0) {
			k = http_tls_feed(&T, 0, 77, p, n);
			if (k > 0) {
				tls_out_done(&cli, (size_t)k);
				took += (size_t)k;
				moved = 1;
			}
		}
		p = tls_out(&T.conns[0], &n);
		if (n > 0) {
			k = tls_feed(&cli, p, n);
			tls_out_done(&T.conns[0], k > 0 ? (size_t)k : n);
			moved = 1;
		}
	}
	return took;
}

static int client_init(void)
{
	static const char name[] = APIKEY_NAME;

	return tls_client_init(&cli, &anchors, name, sizeof name - 1, APIKEY_NOT_BEFORE + 86400, &rng);
}

static void keyd_answer(const struct apikey *k, int error)
{
	struct tls_sign_reply_msg rep;
	long n;

	struct tls_ske p;

	memset(&rep, 0, sizeof rep);
	rep.error = error;
	if (error == 0) {
		n = apikey_req(&asked, &p) < 0 ? -EBADMSG : apikey_sign(k, &p, rep.sig);
		rep.error = n < 0 ? (int)n : 0;
		rep.sig_len = n < 0 ? 0 : (uint32_t)n;
	}
	http_tls_signed(&T, 0, &rep);
}

static void test_cert(void)
{
	struct tls_cert_msg m;

	memset(&m, 0, sizeof m);
	m.der_len = (uint32_t)key.der_len;
	memcpy(m.der, key.der, key.der_len);
	memcpy(m.spki_sha256, other.spki_sha256, 32);
	ok(http_tls_set_cert(&T, &m) == -EBADMSG && !T.have_cert,
	   "a certificate sent with another key's hash is refused");
	memcpy(m.spki_sha256, key.spki_sha256, 32);
	m.der[10] ^= 0xff;
	ok(http_tls_set_cert(&T, &m) == -EBADMSG, "a damaged certificate is refused");
	m.der[10] ^= 0xff;
	m.der_len = 0;
	ok(http_tls_set_cert(&T, &m) == -EBADMSG, "an empty one is refused");
	ok(http_tls_open(&T, 0, 0) == -ENOKEY, "without a certificate no connection is served");
	m.der_len = (uint32_t)key.der_len;
	ok(http_tls_set_cert(&T, &m) == 0 && T.have_cert && !memcmp(T.spki_sha256, key.spki_sha256, 32),
	   "keyd's certificate is taken");
}

static void test_handshake(void)
{
	static const char req[] = "GET /v1/info HTTP/1.1\r\n\r\n", resp[] = "HTTP/1.1 200 OK\r\n\r\n";
	size_t n, took;
	const uint8_t *p;
	uint64_t asked_before = T.st.sign_asked;

	asks = 0;
	ask_result = 0;
	ok(http_tls_open(&T, 0, 0) == 0 && client_init() == 0, "server and client engines");
	took = pump();
	ok(asks == 1 && T.slot[0].waiting && asked_id == 77,
	   "the ClientHello makes one request to keyd, for this connection");
	struct tls_ske ske;
	ok(apikey_req(&asked, &ske) == 0 && asked.curve != 0 && asked.point_len > 0,
	   "  its parameters pass keyd's checks (curve %u, hash %u)", asked.curve, asked.hash_id);
	ok(took == 0 && tls_status(&T.conns[0]) == TLS_HANDSHAKE && tls_status(&cli) == TLS_HANDSHAKE,
	   "  while keyd signs the server took nothing and sent nothing; both still shake hands");
	pump();
	ok(asks == 1, "  feeding again while waiting asks nothing more");
	keyd_answer(&key, 0);
	pump();
	ok(tls_status(&cli) == TLS_OPEN && tls_status(&T.conns[0]) == TLS_OPEN && asks == 1,
	   "keyd's signature completes the handshake: the client validated the certificate and "
	   "the ServerKeyExchange signature");
	ok(T.st.sign_asked == asked_before + 1 && T.slot[0].signed_once && !T.slot[0].have_sig,
	   "  one signature, used once");
	ok(tls_write(&cli, req, sizeof req - 1) == (long)(sizeof req - 1), "the client sends a request");
	pump();
	p = tls_in(&T.conns[0], &n);
	ok(n == sizeof req - 1 && memcmp(p, req, n) == 0, "  the server reads it");
	tls_in_done(&T.conns[0], n);
	ok(tls_write(&T.conns[0], resp, sizeof resp - 1) == (long)(sizeof resp - 1), "  and answers");
	pump();
	p = tls_in(&cli, &n);
	ok(n == sizeof resp - 1 && memcmp(p, resp, n) == 0, "  which the client reads");
}

static void test_refusals(void)
{
	ask_result = 0;
	asks = 0;
	http_tls_open(&T, 0, 0);
	client_init();
	pump();
	keyd_answer(&key, -EBUSY);
	pump();
	ok(asks == 1 && tls_status(&T.conns[0]) == TLS_FAILED && tls_status(&cli) == TLS_HANDSHAKE,
	   "keyd refusing (-EBUSY) fails the server's handshake; the client got no ServerHello");
	tls_eof(&cli);
	ok(tls_status(&cli) == TLS_FAILED, "  and fails when the transport closes");

	http_tls_open(&T, 0, 0);
	client_init();
	pump();
	http_tls_sign_lost(&T, 0);
	pump();
	ok(tls_status(&T.conns[0]) == TLS_FAILED && tls_status(&cli) != TLS_OPEN,
	   "keyd gone while it signs fails the handshake");

	http_tls_open(&T, 0, 0);
	client_init();
	pump();
	keyd_answer(&other, 0);
	pump();
	ok(tls_status(&cli) == TLS_FAILED && tls_status(&T.conns[0]) != TLS_OPEN,
	   "a signature by another key: the client refuses the handshake");

	ask_result = -ENOTCONN;
	http_tls_open(&T, 0, 0);
	client_init();
	pump();
	ok(tls_status(&T.conns[0]) == TLS_FAILED && !T.slot[0].waiting,
	   "keyd cannot be asked: the handshake fails at once");
	ok(!http_tls_signed(&T, 0, &(struct tls_sign_reply_msg){ 0 }),
	   "an answer nobody waits for is ignored");
}

int main(void)
{
	char dir[] = "/tmp/test_http_tls.XXXXXX", p1[64], p2[64], err[ERRBUF_LEN] = "";
	uint8_t seed[32] = { 1 };
	long r;

	if (!mkdtemp(dir))
		return 1;
	snprintf(p1, sizeof p1, "%s/a.key", dir);
	snprintf(p2, sizeof p2, "%s/b.key", dir);
	ok(apikey_load_or_create(&key, p1, err) == 0 && apikey_load_or_create(&other, p2, err) == 0,
	   "two API keys and their certificates (%s)", err);
	br_hmac_drbg_init(&rng, &br_sha256_vtable, seed, sizeof seed);
	r = anchors_record(afile + ANCHORS_HEADER_LEN, sizeof afile - ANCHORS_HEADER_LEN, key.der,
			   key.der_len, 0, NULL, 0);
	anchors_header(afile, sizeof afile, 1);
	anchors_init(&anchors, ta, 1);
	ok(r > 0 && anchors_parse(&anchors, afile, ANCHORS_HEADER_LEN + (size_t)r, 0, NULL, 0) == 1,
	   "the client trusts the certificate itself");
	ok(http_tls_init(&T, ask, NULL) == 0, "http_tls_init");
	test_cert();
	test_handshake();
	test_refusals();
	unlink(p1);
	unlink(p2);
	rmdir(dir);
	return tap_done();
}
