/* tests/test_egress_sni.c: the ClientHello's server name (net/egress_sni.h):
 * a real ClientHello (BearSSL's client engine, tls/engine.h) parsed, and
 * each of its proper prefixes incomplete; built ones with no extensions,
 * no server_name, another name type beside the host name; each refusal:
 * not a handshake record, not a ClientHello, a record length out of
 * bounds, a ClientHello longer or shorter than its record, two host
 * names, two server_name extensions, an empty, long or NUL-holding
 * name, a list that does not fit; a record longer than the caller's
 * buffer. */
#include "net/egress_sni.h"
#include "lib/errbuf.h"
#include "tests/tap.h"
#include "tls/cert.h"
#include "tls/engine.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static char err[ERRBUF_LEN];

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A ClientHello record into b: extensions ext[0..extlen) (with_ext
 * false: no extensions field at all). Its length. */
static size_t mk_hello(uint8_t *b, const uint8_t *ext, size_t extlen, bool with_ext)
{
	size_t n = 9;                      /* record and handshake headers */

	b[n++] = 3;
	b[n++] = 3;
	memset(b + n, 0x5a, 32);
	n += 32;
	b[n++] = 0;                        /* session id */
	put16(b + n, 2);
	b[n + 2] = 0x13;
	b[n + 3] = 0x01;
	n += 4;
	b[n++] = 1;                        /* compression: null */
	b[n++] = 0;
	if (with_ext) {
		put16(b + n, extlen);
		memcpy(b + n + 2, ext, extlen);
		n += 2 + extlen;
	}
	size_t hl = n - 9;
	b[0] = 0x16;
	b[1] = 3;
	b[2] = 1;
	put16(b + 3, hl + 4);
	b[5] = 1;
	b[6] = (uint8_t)(hl >> 16);
	put16(b + 7, hl);
	return n;
}

/* A server_name extension with entries of (type, name) into e. */
static size_t sni_ext(uint8_t *e, unsigned count, const uint8_t *types, const char *const *names,
		      const size_t *lens)
{
	size_t n = 6;

	for (unsigned i = 0; i < count; i++) {
		e[n] = types[i];
		put16(e + n + 1, lens[i]);
		memcpy(e + n + 3, names[i], lens[i]);
		n += 3 + lens[i];
	}
	put16(e, 0);
	put16(e + 2, n - 4);
	put16(e + 4, n - 6);
	return n;
}

static size_t one_sni(uint8_t *e, const char *name)
{
	uint8_t t = 0;
	size_t l = strlen(name);

	return sni_ext(e, 1, &t, &name, &l);
}

static void refused(const uint8_t *b, size_t n, const char *what)
{
	char name[ESNI_NAME_MAX + 1];
	size_t len;

	err[0] = '\0';
	long r = esni_parse(b, n, 8192, name, &len, err, sizeof err);
	ok(r == -EINVAL && err[0] != '\0', "refused, %s: %s", what, err);
}

static void test_bearssl(void)
{
	static struct tls_conn cl;
	br_x509_trust_anchor ta[1];
	struct anchors an;
	br_hmac_drbg_context rng;
	char name[ESNI_NAME_MAX + 1];
	size_t n, len;

	anchors_init(&an, ta, 1);
	cert_drbg_seed(&rng);
	tls_client_init(&cl, &an, "api.example.com", 15, (int64_t)time(NULL), &rng);
	const uint8_t *p = tls_out(&cl, &n);
	ok(p != NULL && n > 9 && esni_is_tls(p, n), "BearSSL's ClientHello: %zu bytes, a handshake "
	   "record", n);
	long r = esni_parse(p, n, 8192, name, &len, err, sizeof err);
	ok(r == (long)n && len == 15 && strcmp(name, "api.example.com") == 0,
	   "  parsed: the whole record, server name api.example.com");
	bool more = true;
	for (size_t k = 0; k < n && more; k++)
		more = esni_parse(p, k, 8192, name, &len, err, sizeof err) == 0;
	ok(more, "  each proper prefix: more bytes needed");
	ok(esni_parse(p, n, n - 1, name, &len, err, sizeof err) == -E2BIG,
	   "  a buffer one byte short of it: -E2BIG");
}

static void test_built(void)
{
	uint8_t b[1024], e[600], x[700];
	char name[ESNI_NAME_MAX + 1];
	size_t len, n;

	n = mk_hello(b, NULL, 0, false);
	ok(esni_parse(b, n, sizeof b, name, &len, err, sizeof err) == (long)n && len == 0,
	   "a ClientHello with no extensions: no name");
	static const uint8_t alpn[] = { 0, 16, 0, 5, 0, 3, 2, 'h', '2' };
	n = mk_hello(b, alpn, sizeof alpn, true);
	ok(esni_parse(b, n, sizeof b, name, &len, err, sizeof err) == (long)n && len == 0,
	   "extensions without server_name: no name");
	uint8_t types[2] = { 7, 0 };
	const char *names[2] = { "junk", "Shop.Example.com" };
	size_t lens[2] = { 4, 16 };
	size_t el = sni_ext(e, 2, types, names, lens);
	memcpy(x, alpn, sizeof alpn);
	memcpy(x + sizeof alpn, e, el);
	n = mk_hello(b, x, sizeof alpn + el, true);
	ok(esni_parse(b, n, sizeof b, name, &len, err, sizeof err) == (long)n && len == 16 &&
	   strcmp(name, "Shop.Example.com") == 0,
	   "another name type before the host name, after another extension: the host name as sent");

	types[0] = 0;
	names[0] = "a.example";
	lens[0] = 9;
	n = mk_hello(b, e, sni_ext(e, 2, types, names, lens), true);
	refused(b, n, "two host names");
	el = one_sni(e, "a.example");
	memcpy(e + el, e, el);
	n = mk_hello(b, e, 2 * el, true);
	refused(b, n, "two server_name extensions");
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[256] = '\0';
	n = mk_hello(b, e, one_sni(e, big), true);
	refused(b, n, "a 256-byte name");
	n = mk_hello(b, e, one_sni(e, ""), true);
	refused(b, n, "an empty name");
	el = one_sni(e, "a.example");
	e[el - 3] = '\0';
	n = mk_hello(b, e, el, true);
	refused(b, n, "a name with NUL");
	el = one_sni(e, "a.example");
	put16(e + 4, 200);                 /* the list's length past the extension */
	n = mk_hello(b, e, el, true);
	refused(b, n, "a name list longer than its extension");
	el = one_sni(e, "a.example");
	n = mk_hello(b, e, el, true);
	put16(b + n - el - 2, el + 1);     /* the extensions' length past the hello */
	refused(b, n, "extensions longer than the ClientHello");

	n = mk_hello(b, e, one_sni(e, "a.example"), true);
	b[0] = 0x17;
	refused(b, 1, "application data, not a handshake record (known at the first byte)");
	b[0] = 0x16;
	b[5] = 2;
	refused(b, n, "a ServerHello");
	b[5] = 1;
	put16(b + 3, 16385);
	refused(b, 5, "a record over 16384 bytes");
	put16(b + 3, n - 5 - 1);
	refused(b, n - 1, "a ClientHello longer than its record (split over records)");
	ok(strstr(err, "not exactly one record") != NULL, "  said so");
	put16(b + 3, n - 5 + 1);
	b[n] = 0;
	refused(b, n + 1, "a record longer than its ClientHello");
	static const uint8_t http[] = "GET / HTTP/1.1\r\n";
	ok(!esni_is_tls(http, sizeof http - 1), "plain bytes are not TLS");
	refused(http, sizeof http - 1, "plain bytes");
}

int main(void)
{
	test_bearssl();
	test_built();
	return tap_done();
}
