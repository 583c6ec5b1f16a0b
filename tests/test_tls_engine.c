/* tests/test_tls_engine.c: tls/engine, the egress proxy's TLS engines.
 *
 * In memory: our server engine (a leaf from tls/cert_cache) and our
 * client engine (the local CA as its only anchor) shake hands, carry
 * data both ways and close with close_notify; SNI missing or not the
 * expected name, a client trusting another CA, a certificate for another
 * name, an expired one, a protocol_version alert to our ClientHello (what
 * a TLS 1.3-only server sends) and a transport cut short are each
 * refused with their own reason; the upstream SPKI hash is the leaf
 * key's. Over loopback with the host's openssl (test-only; TAP skips
 * without it): our client against `openssl s_server` (handshake, data),
 * against `openssl s_server -tls1_3` (the TLS 1.3-only reason), and
 * `openssl s_client` against our server engine (verify ok). Session
 * resumption (tls/sessions.h): a session resumes for the name it was made
 * for, under that SNI, within its lifetime, and nowhere else. The client's
 * side of it (tls_client_init_resume, docs/TLS.md "Resumption toward
 * upstreams"): the session a full handshake gave resumes, no certificate
 * comes and data flows; a server that does not know it makes a full
 * handshake whose chain is checked; a server that resumes it with another
 * suite or version is refused. ALPN: http/1.1 selected when offered, a
 * client without ALPN served, one offering h2 alone refused
 * (no_application_protocol), an upstream refusing http/1.1 named.
 */
#include "lib/errbuf.h"
#include "tap.h"
#include "tls/anchors.h"
#include "tls/cert.h"
#include "tls/cert_cache.h"
#include "tls/engine.h"
#include "tls/sessions.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OPENSSL "/usr/bin/openssl"
#define NAME "api.example.com"

static br_hmac_drbg_context rng;
static struct cert_ca ca, ca2;
static struct cert_cache cache;
static struct tls_server_cfg cfg;
static struct tls_conn srv, cli;
static int64_t now;

/* anchors: the local CA alone (good) or the other CA alone (bad) */
static uint8_t afile[2][ANCHORS_HEADER_LEN + ANCHORS_RECORD_MAX];
static br_x509_trust_anchor ta_store[2][1];
static struct anchors anchors, wrong_anchors;

static int make_anchors(struct anchors *a, br_x509_trust_anchor *ta, uint8_t *buf, size_t cap,
			const uint8_t *der, size_t len)
{
	long r = anchors_record(buf + ANCHORS_HEADER_LEN, cap - ANCHORS_HEADER_LEN, der, len, 0, NULL, 0);
	if (r < 0)
		return -1;
	anchors_header(buf, cap, 1);
	anchors_init(a, ta, 1);
	return anchors_parse(a, buf, ANCHORS_HEADER_LEN + (size_t)r, 0, NULL, 0) == 1 ? 0 : -1;
}

/* Moves ciphertext from one engine to the other until neither moves. */
static void pump(struct tls_conn *a, struct tls_conn *b)
{
	for (int moved = 1, rounds = 0; moved && rounds < 1000; rounds++) {
		moved = 0;
		for (int dir = 0; dir < 2; dir++) {
			struct tls_conn *from = dir ? b : a, *to = dir ? a : b;
			size_t n;
			const uint8_t *p = tls_out(from, &n);
			if (n == 0)
				continue;
			long k = tls_feed(to, p, n);
			if (k > 0) {
				tls_out_done(from, (size_t)k);
				moved = 1;
			} else if (k < 0) {
				/* the receiver failed: drop what it will never read */
				tls_out_done(from, n);
				moved = 1;
			}
		}
	}
}

static int server_init(const char *expect)
{
	return tls_server_init(&srv, &cfg, expect, strlen(expect), now);
}

static int client_init(const struct anchors *a, const char *host)
{
	return tls_client_init(&cli, a, host, strlen(host), now, &rng);
}

static const char *why(struct tls_conn *c)
{
	static char buf[2][ERRBUF_LEN];
	static int k;
	k ^= 1;
	return tls_reason(c, buf[k], sizeof buf[k]);
}

/* Reads all plaintext that arrived at c into out; returns its length. */
static size_t drain_in(struct tls_conn *c, uint8_t *out, size_t cap)
{
	size_t got = 0, n;
	const uint8_t *p;

	while ((p = tls_in(c, &n)) && n) {
		if (n > cap - got)
			n = cap - got;
		memcpy(out + got, p, n);
		got += n;
		tls_in_done(c, n);
		if (got == cap)
			break;
	}
	return got;
}

static void test_handshake(void)
{
	uint8_t big[40000], back[40000];
	size_t sent = 0, got = 0;

	ok(server_init(NAME) == 0 && client_init(&anchors, NAME) == 0, "engines made");
	is_int(tls_status(&srv), TLS_HANDSHAKE, "server: handshake");
	is_int(tls_status(&cli), TLS_HANDSHAKE, "client: handshake");
	long w = tls_write(&cli, "x", 1);
	is_int(w, 0, "no plaintext taken before the handshake");
	pump(&cli, &srv);
	is_int(tls_status(&srv), TLS_OPEN, "server: open (%s)", why(&srv));
	is_int(tls_status(&cli), TLS_OPEN, "client: open (%s)", why(&cli));
	is_str(tls_sni(&srv), NAME, "the SNI the server received");
	is_int(tls_suite(&cli), BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "suite: ECDHE-ECDSA-AES128-GCM-SHA256");
	is_int(tls_suite(&srv), tls_suite(&cli), "both agree");

	/* client → server */
	static const char req[] = "GET / HTTP/1.1\r\nHost: " NAME "\r\n\r\n";
	is_int(tls_write(&cli, req, sizeof req - 1), (long)sizeof req - 1, "client writes a request");
	pump(&cli, &srv);
	got = drain_in(&srv, back, sizeof back);
	ok(got == sizeof req - 1 && memcmp(back, req, got) == 0, "server reads it");

	/* server → client: 40000 bytes, several records and several writes */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	got = 0;
	int writes = 0;
	while ((sent < sizeof big || got < sizeof big) && writes < 1000) {
		long k = tls_write(&srv, big + sent, sizeof big - sent);
		if (k > 0) {
			sent += (size_t)k;
			writes++;
		}
		pump(&srv, &cli);
		got += drain_in(&cli, back + got, sizeof back - got);
		if (k <= 0 && got == sent && sent == sizeof big)
			break;
	}
	ok(sent == sizeof big && got == sizeof big && memcmp(big, back, sizeof big) == 0,
	   "40000 bytes server to client in %d writes (records of at most %d)", writes, TLS_OUT_FRAG);
	ok(writes >= (int)(sizeof big / TLS_OUT_FRAG), "a write takes at most one record's worth");

	/* the SPKI hash: SHA-256 of the leaf key's SubjectPublicKeyInfo */
	static const uint8_t spki_prefix[] = {
		0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
		0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
	};
	uint8_t spki[sizeof spki_prefix + 65], want[32], have[32];
	memcpy(spki, spki_prefix, sizeof spki_prefix);
	memcpy(spki + sizeof spki_prefix, ca.leaf_key.pub, 65);
	ok(memmem(srv.u.srv.leaf, srv.u.srv.chain.data_len, spki, sizeof spki) != NULL,
	   "those SPKI bytes are in the leaf the server sent");
	br_sha256_context h;
	br_sha256_init(&h);
	br_sha256_update(&h, spki, sizeof spki);
	br_sha256_out(&h, want);
	is_int(tls_peer_spki_sha256(&cli, have), 0, "client: SPKI hash available");
	ok(memcmp(have, want, 32) == 0, "SPKI hash = SHA-256 of the leaf key's SubjectPublicKeyInfo");
	is_int(tls_peer_spki_sha256(&srv, have), -EINVAL, "server role: no peer SPKI");

	/* close_notify from the client; the server answers with its own */
	tls_close(&cli);
	is_int(tls_write(&cli, "x", 1), -EPIPE, "no write after close");
	pump(&cli, &srv);
	is_int(tls_status(&srv), TLS_CLOSED, "server: closed cleanly (%s)", why(&srv));
	is_int(tls_status(&cli), TLS_CLOSED, "client: closed cleanly (%s)", why(&cli));
	is_int(tls_error(&srv), TLS_OK, "server: no error");
	is_int(tls_error(&cli), TLS_OK, "client: no error");
	tls_eof(&cli);
	is_int(tls_status(&cli), TLS_CLOSED, "EOF after a clean close is no truncation");
}

static void test_sni(void)
{
	server_init(NAME);
	client_init(&anchors, "other.example.com");
	pump(&cli, &srv);
	is_int(tls_error(&srv), TLS_E_SNI_MISMATCH, "SNI other than expected: refused (%s)", why(&srv));
	is_str(tls_sni(&srv), "other.example.com", "the SNI received is exposed");
	is_int(tls_status(&srv), TLS_FAILED, "server failed");
	is_int(tls_error(&cli), TLS_E_PEER_ALERT, "client: %s", why(&cli));

	server_init(NAME);
	client_init(&anchors, "API.Example.COM");
	pump(&cli, &srv);
	is_int(tls_status(&srv), TLS_OPEN, "SNI compared without case (%s)", why(&srv));
	/* the client checks the certificate for the name it was given,
	 * without case too (BearSSL) */
	is_int(tls_status(&cli), TLS_OPEN, "client accepts %s for API.Example.COM", NAME);

	server_init(NAME);
	client_init(&anchors, NAME);
	/* the same client without a server name: no SNI sent */
	br_ssl_client_reset(&cli.u.cli.ctx, NULL, 0);
	pump(&cli, &srv);
	is_int(tls_error(&srv), TLS_E_SNI_MISSING, "no SNI: refused (%s)", why(&srv));
	is_str(tls_sni(&srv), "", "no SNI received");

	ok(server_init("") == -EINVAL && client_init(&anchors, "") == -EINVAL, "empty names refused");
	ok(tls_status(&srv) == TLS_FAILED && tls_status(&cli) == TLS_FAILED &&
	   tls_write(&cli, "x", 1) == -EPROTO, "a refused init leaves a failed connection");
	char long_name[CERT_NAME_MAX + 2];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = 0;
	ok(server_init(long_name) == -EINVAL && client_init(&anchors, long_name) == -EINVAL,
	   "names over %d bytes refused", CERT_NAME_MAX);
}

/* A server presenting leaf der (instead of the expected name's), signed
 * with the leaf key: what an upstream with that certificate does. */
static void serve_fixed_leaf(const uint8_t *der, size_t len)
{
	static br_x509_certificate chain;
	static br_ec_private_key sk;

	chain.data = (unsigned char *)(uintptr_t)der;
	chain.data_len = len;
	sk.curve = BR_EC_secp256r1;
	sk.x = ca.leaf_key.priv;
	sk.xlen = 32;
	br_ssl_server_set_single_ec(&srv.u.srv.ctx, &chain, 1, &sk, BR_KEYTYPE_SIGN, BR_KEYTYPE_EC,
				    br_ec_get_default(), br_ecdsa_sign_asn1_get_default());
	br_ssl_server_reset(&srv.u.srv.ctx);
}

static void test_cert_checks(void)
{
	static uint8_t leaf[CERT_DER_MAX];
	struct cert_validity v = { now - 3600, now + 86400 };
	long n;

	server_init(NAME);
	client_init(&wrong_anchors, NAME);
	pump(&cli, &srv);
	is_int(tls_error(&cli), TLS_E_CERT_UNTRUSTED, "client trusting another CA: %s", why(&cli));
	/* BearSSL's client sends no alert on a certificate failure: the
	 * server sees the transport end */
	tls_eof(&srv);
	is_int(tls_error(&srv), TLS_E_TRUNCATED, "server: %s", why(&srv));

	n = cert_leaf(&ca, &rng, "wrong.example.com", 17, &v, leaf, sizeof leaf);
	server_init(NAME);
	serve_fixed_leaf(leaf, (size_t)n);
	client_init(&anchors, NAME);
	pump(&cli, &srv);
	is_int(tls_error(&cli), TLS_E_CERT_NAME, "certificate for another name: %s", why(&cli));

	struct cert_validity old = { now - 86400 * 10, now - 86400 };
	n = cert_leaf(&ca, &rng, NAME, strlen(NAME), &old, leaf, sizeof leaf);
	server_init(NAME);
	serve_fixed_leaf(leaf, (size_t)n);
	client_init(&anchors, NAME);
	pump(&cli, &srv);
	is_int(tls_error(&cli), TLS_E_CERT_EXPIRED, "expired certificate: %s", why(&cli));

	/* the same leaf is good at a time inside its validity */
	server_init(NAME);
	serve_fixed_leaf(leaf, (size_t)n);
	tls_client_init(&cli, &anchors, NAME, strlen(NAME), now - 86400 * 2, &rng);
	pump(&cli, &srv);
	is_int(tls_status(&cli), TLS_OPEN, "validated at the caller's time, not the clock's (%s)", why(&cli));
}

/* tls_client_pin: the server's key trusted by its hash in place of an
 * anchor; the name and dates still checked, any other key refused. */
static void test_pin(void)
{
	static uint8_t leaf[CERT_DER_MAX];
	struct cert_validity v = { now - 3600, now + 86400 };
	uint8_t pin[32], wrong[32];
	char text[160];
	long n;

	server_init(NAME);
	client_init(&anchors, NAME);
	pump(&cli, &srv);
	ok(tls_status(&cli) == TLS_OPEN && tls_peer_spki_sha256(&cli, pin) == 0,
	   "pin: the leaf key's hash, from a handshake the anchors validated");
	memcpy(wrong, pin, sizeof wrong);
	wrong[31] ^= 0x80;

	server_init(NAME);
	client_init(&wrong_anchors, NAME);
	is_int(tls_client_pin(&cli, pin), 0, "pin: set before the handshake");
	pump(&cli, &srv);
	is_int(tls_status(&cli), TLS_OPEN, "pin: the pinned key is trusted without an anchor (%s)", why(&cli));

	server_init(NAME);
	client_init(&anchors, NAME);
	tls_client_pin(&cli, wrong);
	pump(&cli, &srv);
	is_int(tls_error(&cli), TLS_E_CERT_PIN, "pin: another key refused, even with its CA an anchor");
	ok(strstr(tls_reason(&cli, text, sizeof text), "is not the pinned one") != NULL,
	   "pin: the reason says so (%s)", text);

	n = cert_leaf(&ca, &rng, "wrong.example.com", 17, &v, leaf, sizeof leaf);
	server_init(NAME);
	serve_fixed_leaf(leaf, (size_t)n);
	client_init(&wrong_anchors, NAME);
	tls_client_pin(&cli, pin);
	pump(&cli, &srv);
	is_int(tls_error(&cli), TLS_E_CERT_NAME, "pin: the pinned key for another name: %s", why(&cli));

	server_init(NAME);
	is_int(tls_client_pin(&srv, pin), -EINVAL, "pin: not for a server engine");
}

static void test_tls13_alert(void)
{
	/* A TLS 1.3-only server answers our TLS 1.2 ClientHello with a fatal
	 * protocol_version alert (RFC 8446 §4.2.1), in a plaintext record. */
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46 };
	size_t n;

	client_init(&anchors, NAME);
	n = 0;
	ok(tls_out(&cli, &n) && n > 0, "client has a ClientHello to send");
	tls_out_done(&cli, n);
	tls_feed(&cli, alert, sizeof alert);
	is_int(tls_status(&cli), TLS_FAILED, "client failed");
	is_int(tls_error(&cli), TLS_E_TLS13_ONLY, "protocol_version alert: %s", why(&cli));
	ok(strstr(why(&cli), "only TLS 1.3") != NULL, "the reason says TLS 1.3 only");
	is_int(tls_feed(&cli, alert, sizeof alert), -EPROTO, "a failed engine takes no more: -EPROTO");

	/* the same alert once the connection is open is just an alert */
	server_init(NAME);
	client_init(&anchors, NAME);
	pump(&cli, &srv);
	tls_eof(&cli);
	is_int(tls_error(&cli), TLS_E_TRUNCATED, "EOF without close_notify: %s", why(&cli));
}

/* --- loopback interop with openssl ---------------------------------------- */

static char dir[] = "/tmp/test_tls_engine.XXXXXX";

static int write_file(const char *name, const void *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	int r = write(fd, p, n) == (ssize_t)n ? 0 : -1;
	close(fd);
	return r;
}

static int run(const char *cmd)
{
	char full[2048];
	snprintf(full, sizeof full, "cd '%s' && ( %s ) > out 2>&1", dir, cmd);
	int r = system(full);
	return r == -1 ? -1 : WEXITSTATUS(r);
}

static int out_has(const char *needle)
{
	char path[256], buf[16384];
	snprintf(path, sizeof path, "%s/out", dir);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int connect_retry(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(50000);
	}
	return -1;
}

/* One step of an engine over a socket: all pending ciphertext out, then
 * what arrives within ms in. Returns -1 at end of file or error. */
static int sock_step(int fd, struct tls_conn *c, int ms)
{
	size_t n;
	const uint8_t *p;

	while ((p = tls_out(c, &n)) && n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		tls_out_done(c, (size_t)w);
	}
	if (tls_status(c) == TLS_FAILED || tls_status(c) == TLS_CLOSED)
		return -1;
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	if (poll(&pf, 1, ms) <= 0)
		return 0;
	uint8_t buf[4096];
	ssize_t r = read(fd, buf, sizeof buf);
	if (r <= 0) {
		tls_eof(c);
		return -1;
	}
	for (size_t off = 0; off < (size_t)r;) {
		long k = tls_feed(c, buf + off, (size_t)r - off);
		if (k < 0)
			return -1;
		if (k == 0) {
			/* the engine wants output drained first */
			while ((p = tls_out(c, &n)) && n) {
				ssize_t w = write(fd, p, n);
				if (w <= 0)
					return -1;
				tls_out_done(c, (size_t)w);
			}
		}
		off += (size_t)k;
	}
	return 0;
}

static pid_t s_server(int port, const char *name, const char *extra)
{
	pid_t pid = fork();
	if (pid == 0) {
		char acc[16], cert[64], key[64];
		snprintf(acc, sizeof acc, "%d", port);
		snprintf(cert, sizeof cert, "%s.pem", name);
		snprintf(key, sizeof key, "%s.key", name);
		if (chdir(dir) < 0)
			_exit(127);
		int fd = open("server.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(OPENSSL, "openssl", "s_server", "-accept", acc, "-cert", cert, "-key", key,
		      "-rev", "-naccept", "1", extra, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* An upstream certificate for localhost made by openssl (self-signed,
 * CA:TRUE), key type newkey ("ec -pkeyopt ..." or "rsa:2048"), loaded as
 * the one anchor of *a (storage in the caller's buffers). */
static int make_upstream(const char *name, const char *newkey, struct anchors *a, br_x509_trust_anchor *ta,
			 uint8_t *abuf, size_t acap)
{
	static uint8_t der[4096];
	char cmd[512], path[256];

	snprintf(cmd, sizeof cmd, OPENSSL " req -x509 -newkey %s -nodes -keyout %s.key -out %s.pem -days 2 "
		 "-subj /CN=localhost -addext subjectAltName=DNS:localhost && "
		 OPENSSL " x509 -in %s.pem -outform der -out %s.der", newkey, name, name, name, name);
	if (run(cmd) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s.der", dir, name);
	int fd = open(path, O_RDONLY);
	ssize_t dl = fd >= 0 ? read(fd, der, sizeof der) : -1;
	if (fd >= 0)
		close(fd);
	return dl > 0 ? make_anchors(a, ta, abuf, acap, der, (size_t)dl) : -1;
}

/* Our client engine against `openssl s_server -rev extra` with the
 * upstream certificate name: until "hello\n" comes back reversed, or the
 * engine ends. Returns 1 when it did. */
static int client_vs_s_server(const char *name, const char *extra, const struct anchors *a)
{
	int port = free_port();
	pid_t pid = s_server(port, name, extra);
	int sfd = connect_retry(port), wrote = 0;
	char got[64] = "";
	size_t gl = 0;

	if (sfd >= 0 && tls_client_init(&cli, a, "localhost", 9, time(NULL), &rng) == 0) {
		for (int i = 0; i < 200 && sock_step(sfd, &cli, 50) == 0; i++) {
			if (tls_status(&cli) == TLS_OPEN && !wrote)
				wrote = tls_write(&cli, "hello\n", 6) == 6;
			gl += drain_in(&cli, (uint8_t *)got + gl, sizeof got - 1 - gl);
			if (gl >= 6)
				break;
		}
	}
	got[gl] = 0;
	if (sfd >= 0)
		close(sfd);
	stop(pid);
	return wrote && strcmp(got, "olleh\n") == 0;
}

/* `openssl pkey -pubin -outform der | sha256sum` of name.pem's key
 * equals the client's SPKI hash. */
static int spki_matches(const char *name)
{
	uint8_t spki[32];
	char cmd[256], hex[65], path[256], file_hex[65] = "";

	if (tls_peer_spki_sha256(&cli, spki) != 0)
		return 0;
	snprintf(cmd, sizeof cmd, OPENSSL " x509 -in %s.pem -pubkey -noout | " OPENSSL
		 " pkey -pubin -outform der | sha256sum", name);
	if (run(cmd) != 0)
		return 0;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", spki[i]);
	snprintf(path, sizeof path, "%s/out", dir);
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, file_hex, 64) != 64)
			file_hex[0] = 0;
		file_hex[64] = 0;
		close(fd);
	}
	return strcmp(hex, file_hex) == 0;
}

/* `openssl s_client` (TLS 1.2, one cipher suite) against our server
 * engine on a loopback socket, the local CA as its CAfile. */
static void s_client_vs_server(const char *cipher)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1, st = 0;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	char cmd[512], want[96];

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0) {
		ok(0, "listening socket");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = accept(lfd, NULL, NULL);
		if (cfd < 0 || server_init(NAME) < 0)
			_exit(1);
		int said = 0;
		for (int i = 0; i < 400 && sock_step(cfd, &srv, 50) == 0; i++)
			if (tls_status(&srv) == TLS_OPEN && !said)
				said = tls_write(&srv, "from dshield\n", 13) == 13;
		_exit(said ? 0 : 2);
	}
	close(lfd);
	snprintf(cmd, sizeof cmd, "sleep 1 | " OPENSSL " s_client -connect 127.0.0.1:%d -servername " NAME
		 " -tls1_2 -cipher %s -CAfile ca.pem -verify_return_error -verify_hostname " NAME,
		 ntohs(a.sin_port), cipher);
	int r = run(cmd);
	snprintf(want, sizeof want, "Cipher is %s", cipher);
	ok(r == 0 && out_has("Verify return code: 0 (ok)") && out_has("from dshield") && out_has(want),
	   "openssl s_client -cipher %s ↔ server engine: verify ok with the local CA, data (exit %d)", cipher, r);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the server engine wrote its data (%s)", cipher);
}

#define OPENSSL_CHECKS 11

static void test_openssl(void)
{
	static char pem[CERT_PEM_LEN(CERT_DER_MAX) + 1];
	static uint8_t abuf[2][ANCHORS_HEADER_LEN + ANCHORS_RECORD_MAX];
	static br_x509_trust_anchor uta[2][1];
	static const char *const ciphers[] = {
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
	};
	struct anchors ec_a, rsa_a;
	const char *skip = NULL;

	if (access(OPENSSL, X_OK) != 0)
		skip = "no " OPENSSL;
	else if (!mkdtemp(dir))
		skip = "mkdtemp failed";
	if (skip) {
		for (int i = 0; i < OPENSSL_CHECKS; i++)
			ok(1, "openssl interop # SKIP %s", skip);
		return;
	}

	/* our client engine against openssl s_server: EC and RSA upstreams */
	int have_ec = make_upstream("ec", "ec -pkeyopt ec_paramgen_curve:P-256", &ec_a, uta[0], abuf[0],
				    sizeof abuf[0]) == 0;
	int have_rsa = make_upstream("rsa", "rsa:2048", &rsa_a, uta[1], abuf[1], sizeof abuf[1]) == 0;
	ok(have_ec && have_rsa, "openssl made an EC and an RSA upstream certificate");
	int done = have_ec && client_vs_s_server("ec", "-tls1_2", &ec_a);
	ok(done, "client engine ↔ openssl s_server (ECDSA): handshake, 'hello' reversed (%s)", why(&cli));
	ok(spki_matches("ec"), "SPKI hash = openssl's pubkey DER hash (EC)");
	done = have_rsa && client_vs_s_server("rsa", "-tls1_2", &rsa_a);
	ok(done, "client engine ↔ openssl s_server (RSA): handshake, 'hello' reversed (%s)", why(&cli));
	is_int(tls_suite(&cli), BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256");
	ok(spki_matches("rsa"), "SPKI hash = openssl's pubkey DER hash (RSA)");

	/* TLS 1.3 only */
	done = client_vs_s_server("ec", "-tls1_3", &ec_a);
	ok(!done && tls_error(&cli) == TLS_E_TLS13_ONLY, "openssl s_server -tls1_3: %s", why(&cli));

	/* openssl s_client against our server engine, each of its suites */
	long pl = cert_pem(pem, sizeof pem, ca.der, ca.der_len);
	write_file("ca.pem", pem, pl > 0 ? (size_t)pl : 0);
	for (size_t i = 0; i < sizeof ciphers / sizeof ciphers[0]; i++)
		s_client_vs_server(ciphers[i]);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
}

/* A client that offers session sp to a server expecting expect, with
 * SNI sni, at time t; pumps the handshake. */
static void offer(const br_ssl_session_parameters *sp, const char *expect, const char *sni, int64_t t)
{
	tls_server_init(&srv, &cfg, expect, strlen(expect), t);
	tls_client_init_resume(&cli, &anchors, sni, strlen(sni), t, &rng, sp);
	pump(&cli, &srv);
}

/* Bytes fuzz_tls_engine found (tests/fuzz/corpus/fuzz_tls_engine/
 * close-before-handshake): after them and our answer BearSSL's client is
 * closed with no error code, before the handshake ended. That is a
 * failure with a reason, not a clean close. */
static void test_close_in_handshake(void)
{
	static const uint8_t bytes[] = { 0x15, 0x03, 0x32, 0x14, 0x01, 0x01, 0x01, 0x01, 0x01,
						0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00 };
	size_t n;

	ok(client_init(&anchors, NAME) == 0, "close in handshake: a client");
	while (tls_out(&cli, &n) && n)
		tls_out_done(&cli, n);          /* its ClientHello, dropped */
	tls_feed(&cli, bytes, sizeof bytes);
	while (tls_out(&cli, &n) && n)
		tls_out_done(&cli, n);
	ok(tls_status(&cli) == TLS_FAILED && strstr(why(&cli), "before the handshake ended"),
	   "close in handshake: closed before the handshake ended: failed (%s)", why(&cli));
}

static void test_resumption(void)
{
	static struct tls_sessions sessions;
	br_ssl_session_parameters sp, again;
	uint8_t back[64];
	const char *other = "other.example.com";

	tls_sessions_init(&sessions);
	cfg.sessions = &sessions;
	ok(server_init(NAME) == 0 && client_init(&anchors, NAME) == 0, "resume: engines made");
	pump(&cli, &srv);
	ok(tls_status(&srv) == TLS_OPEN && !tls_resumed(&srv) && sessions.saved == 1,
	   "resume: a full handshake saves its session (%s)", why(&srv));
	br_ssl_engine_get_session_parameters(&cli.u.cli.ctx.eng, &sp);

	offer(&sp, NAME, NAME, now + 10);
	ok(tls_status(&srv) == TLS_OPEN && tls_status(&cli) == TLS_OPEN && tls_resumed(&srv) &&
	   sessions.resumed == 1, "resume: the same name resumes it (%s)", why(&srv));
	br_ssl_engine_get_session_parameters(&cli.u.cli.ctx.eng, &again);
	ok(memcmp(again.session_id, sp.session_id, 32) == 0, "resume: the client kept its session ID");
	is_int(tls_write(&cli, "ping", 4), 4, "resume: the client writes");
	pump(&cli, &srv);
	ok(drain_in(&srv, back, sizeof back) == 4 && memcmp(back, "ping", 4) == 0,
	   "resume: the server reads it");
	is_str(tls_sni(&srv), NAME, "resume: the SNI is the connection's name");

	/* The session's name, another SNI: BearSSL resumes before it reads
	 * the SNI, and the engine refuses once the handshake ends. */
	offer(&sp, NAME, other, now + 10);
	is_int(tls_write(&cli, "data", 4), 4, "resume: under another SNI, the client writes");
	pump(&cli, &srv);
	size_t leaked = 0;
	(void)tls_in(&srv, &leaked);
	ok(tls_status(&srv) == TLS_FAILED && srv.err == TLS_E_SNI_MISMATCH && leaked == 0 &&
	   tls_write(&srv, "x", 1) < 0,
	   "resume: under another SNI: refused, nothing read or written (%s)", why(&srv));
	tls_server_init(&srv, &cfg, NAME, strlen(NAME), now + 10);
	tls_client_init(&cli, &anchors, NAME, strlen(NAME), now + 10, &rng);
	br_ssl_engine_set_session_parameters(&cli.u.cli.ctx.eng, &sp);
	br_ssl_client_reset(&cli.u.cli.ctx, NULL, 1);
	pump(&cli, &srv);
	ok(tls_status(&srv) == TLS_FAILED && srv.err == TLS_E_SNI_MISSING,
	   "resume: without SNI: refused (%s)", why(&srv));
	is_int(sessions.resumed, 1, "resume: neither counted as resumed");

	offer(&sp, other, other, now + 10);
	ok(tls_status(&srv) == TLS_OPEN && !tls_resumed(&srv),
	   "resume: another connection's name makes a full handshake (%s)", why(&srv));

	offer(&sp, other, NAME, now + 10);
	ok(tls_status(&srv) == TLS_FAILED && srv.err == TLS_E_SNI_MISMATCH && !tls_resumed(&srv),
	   "resume: the session's own name as SNI, on another name's connection: refused (%s)", why(&srv));

	offer(&sp, NAME, NAME, now + TLS_SESSION_LIFETIME_S + 1);
	ok(tls_status(&srv) == TLS_OPEN && !tls_resumed(&srv),
	   "resume: past its lifetime, a full handshake (%s)", why(&srv));
	offer(&sp, NAME, NAME, now + 20);
	ok(tls_status(&srv) == TLS_OPEN && !tls_resumed(&srv), "resume: and it is gone after that");

	cfg.sessions = NULL;
	br_ssl_engine_get_session_parameters(&cli.u.cli.ctx.eng, &sp);
	offer(&sp, NAME, NAME, now + 30);
	ok(tls_status(&srv) == TLS_OPEN && !tls_resumed(&srv), "resume: a server without a table: full");
}

/* Our client, its ALPN list replaced by names[0..n) (NULL: none) and its
 * ClientHello made again with it. */
static void client_alpn(const char **names, size_t n)
{
	client_init(&anchors, NAME);
	br_ssl_engine_set_protocol_names(&cli.u.cli.ctx.eng, names, n);
	br_ssl_client_reset(&cli.u.cli.ctx, NAME, 0);
}

static const char *selected(struct tls_conn *c)
{
	const char *p = br_ssl_engine_get_selected_protocol(
		c->role == TLS_ROLE_SERVER ? &c->u.srv.ctx.eng : &c->u.cli.ctx.eng);
	return p != NULL ? p : "(none)";
}

/* ALPN: http/1.1 selected, offered, and refused where it cannot be. */
static void test_alpn(void)
{
	static const char *both[] = { "h2", "http/1.1" }, *h2[] = { "h2" }, *h10[] = { "http/1.0" };
	static const char *all[] = { "http/1.0", "h2", "http/1.1" };

	server_init(NAME);
	client_init(&anchors, NAME);
	pump(&cli, &srv);
	ok(tls_status(&srv) == TLS_OPEN && strcmp(selected(&srv), "http/1.1") == 0 &&
	   strcmp(selected(&cli), "http/1.1") == 0,
	   "alpn: our client offers http/1.1, our server selects it (%s, %s)", selected(&srv),
	   selected(&cli));

	/* what a client offering names[0..n) gets: the server's first of
	 * http/1.1 and http/1.0 that the client has (none: no ALPN) */
	static const struct {
		const char **names;
		size_t n;
		const char *want, *what;
	} served[] = {
		{ both, 2, "http/1.1", "h2 and http/1.1 gets http/1.1" },
		{ h10, 1, "http/1.0", "http/1.0 alone (curl --http1.0) gets it" },
		{ all, 3, "http/1.1", "http/1.0, h2 and http/1.1 gets http/1.1, the server's first" },
		{ NULL, 0, "(none)", "nothing (no ALPN) is served, nothing selected" },
	};
	for (size_t i = 0; i < sizeof served / sizeof served[0]; i++) {
		server_init(NAME);
		client_alpn(served[i].names, served[i].n);
		pump(&cli, &srv);
		ok(tls_status(&srv) == TLS_OPEN && strcmp(selected(&srv), served[i].want) == 0,
		   "alpn: a client offering %s (%s)", served[i].what, selected(&srv));
	}

	server_init(NAME);
	client_alpn(h2, 1);
	pump(&cli, &srv);
	ok(tls_status(&srv) == TLS_FAILED && tls_error(&srv) == TLS_E_ALPN &&
	   strstr(why(&srv), "without http/1.1 or http/1.0") != NULL,
	   "alpn: a client offering h2 alone is refused (%s)", why(&srv));
	ok(tls_status(&cli) == TLS_FAILED && tls_error(&cli) == TLS_E_ALPN &&
	   strstr(why(&cli), "no_application_protocol") != NULL,
	   "alpn: ... with no_application_protocol, which a client of ours names (%s)", why(&cli));

	/* an upstream that speaks h2 alone and says so */
	server_init(NAME);
	br_ssl_engine_set_protocol_names(&srv.u.srv.ctx.eng, h2, 1);
	client_init(&anchors, NAME);
	pump(&cli, &srv);
	ok(tls_status(&cli) == TLS_FAILED && tls_error(&cli) == TLS_E_ALPN &&
	   strstr(why(&cli), NAME " refused http/1.1") != NULL,
	   "alpn: an upstream refusing http/1.1: the client's reason says so (%s)", why(&cli));
}

/* The client's side: tls_client_init_resume, tls_session, tls_resumed. */
static void test_client_resumption(void)
{
	static struct tls_sessions sessions, empty;
	br_ssl_session_parameters sp, bad;
	uint8_t key[32], back[64];

	tls_sessions_init(&sessions);
	tls_sessions_init(&empty);
	cfg.sessions = &sessions;
	ok(client_init(&anchors, NAME) == 0, "client resume: a client");
	is_int(tls_session(&cli, &sp), -EAGAIN, "client resume: no session before the handshake");
	server_init(NAME);
	pump(&cli, &srv);
	ok(tls_status(&cli) == TLS_OPEN && !tls_resumed(&cli), "client resume: a full handshake (%s)",
	   why(&cli));
	is_int(tls_session(&cli, &sp), 0, "client resume: it gives its session");
	ok(sp.session_id_len == 32 && sp.version == BR_TLS12 && sp.cipher_suite == tls_suite(&cli),
	   "client resume: a 32-byte ID, TLS 1.2, the suite negotiated");
	is_int(tls_session(&srv, &bad), -EINVAL, "client resume: a server has no client session");

	offer(&sp, NAME, NAME, now + 10);
	ok(tls_status(&cli) == TLS_OPEN && tls_resumed(&cli) && tls_resumed(&srv),
	   "client resume: the server resumes it, the client says so (%s)", why(&cli));
	is_int(tls_peer_spki_sha256(&cli, key), -ENOENT,
	       "client resume: no certificate came, so no key to read");
	is_int(tls_write(&cli, "ping", 4), 4, "client resume: the client writes");
	pump(&cli, &srv);
	ok(drain_in(&srv, back, sizeof back) == 4 && memcmp(back, "ping", 4) == 0,
	   "client resume: the server reads it");
	is_int(tls_write(&srv, "pong", 4), 4, "client resume: the server answers");
	pump(&cli, &srv);
	ok(drain_in(&cli, back, sizeof back) == 4 && memcmp(back, "pong", 4) == 0,
	   "client resume: the client reads it");

	/* a server that does not know the session: a full handshake, the
	 * chain checked as always (here against anchors it does not reach) */
	cfg.sessions = &empty;
	offer(&sp, NAME, NAME, now + 10);
	ok(tls_status(&cli) == TLS_OPEN && !tls_resumed(&cli) && tls_peer_spki_sha256(&cli, key) == 0,
	   "client resume: a server without it makes a full handshake, its key read (%s)", why(&cli));
	tls_server_init(&srv, &cfg, NAME, strlen(NAME), now + 10);
	tls_client_init_resume(&cli, &wrong_anchors, NAME, strlen(NAME), now + 10, &rng, &sp);
	pump(&cli, &srv);
	ok(tls_status(&cli) == TLS_FAILED && tls_error(&cli) == TLS_E_CERT_UNTRUSTED,
	   "client resume: ... whose chain is checked (%s)", why(&cli));

	/* the server resumes with what it kept; a client that kept another
	 * suite or version refuses (BearSSL's BR_ERR_RESUME_MISMATCH) */
	cfg.sessions = &sessions;
	bad = sp;
	bad.cipher_suite = sp.cipher_suite == BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ?
			   BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 :
			   BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
	offer(&bad, NAME, NAME, now + 10);
	ok(tls_status(&cli) == TLS_FAILED && !tls_resumed(&cli) && cli.br_err == BR_ERR_RESUME_MISMATCH,
	   "client resume: resumed with another suite: refused (%s)", why(&cli));
	bad = sp;
	bad.version = BR_TLS11;
	offer(&bad, NAME, NAME, now + 10);
	ok(tls_status(&cli) == TLS_FAILED && !tls_resumed(&cli),
	   "client resume: resumed with another version: refused (%s)", why(&cli));

	/* an empty ID offers nothing */
	bad = sp;
	bad.session_id_len = 0;
	offer(&bad, NAME, NAME, now + 10);
	ok(tls_status(&cli) == TLS_OPEN && !tls_resumed(&cli) && !tls_resumed(&srv),
	   "client resume: an empty session ID: a full handshake (%s)", why(&cli));
	cfg.sessions = NULL;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	now = time(NULL);
	if (cert_drbg_seed(&rng) < 0 || cert_ca_init(&ca, &rng, "test", 4, now, now + 86400 * 30) < 0 ||
	    cert_ca_init(&ca2, &rng, "other", 5, now, now + 86400 * 30) < 0 ||
	    make_anchors(&anchors, ta_store[0], afile[0], sizeof afile[0], ca.der, ca.der_len) < 0 ||
	    make_anchors(&wrong_anchors, ta_store[1], afile[1], sizeof afile[1], ca2.der, ca2.der_len) < 0) {
		ok(0, "setup");
		return tap_done();
	}
	cert_cache_init(&cache);
	cfg.ca = &ca;
	cfg.cache = &cache;
	cfg.rng = &rng;
	cfg.leaf_validity.not_before = now - 3600;
	cfg.leaf_validity.not_after = now + 86400;
	diag("sizeof(struct tls_conn) = %zu bytes", sizeof(struct tls_conn));

	test_handshake();
	test_sni();
	test_cert_checks();
	test_pin();
	test_tls13_alert();
	test_close_in_handshake();
	test_resumption();
	test_client_resumption();
	test_alpn();
	test_openssl();
	return tap_done();
}
