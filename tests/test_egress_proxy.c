/* tests/test_egress_proxy.c: the egress proxy's steps that stand apart
 * from lwIP (net/egress_proxy.h): the decision for a fake address and for
 * a CONNECT authority (each refusal's code), the check of a resolved
 * address, and the CONNECT request-head parser (complete heads, every
 * prefix of one, each malformation). The relaying itself is tested end to
 * end by tests/host/11-egress.t. */
#include "net/egress_proxy.h"
#include "lib/errbuf.h"
#include "tests/tap.h"

#include <errno.h>
#include <string.h>

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\",\"egress\":["
	"{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"originate\"},"
	"{\"host\":\"*.example.com\",\"ports\":[443,8443],\"tls\":\"passthrough\",\"purpose\":\"p\"},"
	"{\"host\":\"db.example.net\",\"ports\":[5432],\"tls\":\"passthrough\",\"purpose\":\"p\","
	"\"addresses\":[\"10.20.0.0/16\"]},"
	"{\"host\":\"other.example.net\",\"ports\":[443],\"tls\":\"passthrough\",\"purpose\":\"p\"}]}";

static struct policy pol;
static struct policy_tokens toks;
static struct fakeaddr_table fakes;
static char err[ERRBUF_LEN];
static const uint32_t ALL = 0xf;   /* every rule declared */

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void fake_refused(uint32_t declared, const struct fakeaddr_table *t, uint32_t addr,
			 uint16_t port, const char *code, const char *what)
{
	struct egp_target tg;

	err[0] = '\0';
	int r = egp_decide_fake(&pol, declared, t, addr, port, &tg, err, sizeof err);
	ok(r == -EACCES && starts(err, code), "fake address, %s: refused %s", what, code);
	if (r != -EACCES || !starts(err, code))
		diag("got %d: %s", r, err);
}

static void test_fake(void)
{
	uint8_t key[FAKEADDR_KEY_LEN] = { 1 };
	uint32_t a_shop = 0, a_api = 0, a_db = 0;
	struct egp_target t;

	fakeaddr_init(&fakes, key);
	ok(fakeaddr_get(&fakes, "shop.example.com", 16, &a_shop) == 0 &&
	   fakeaddr_get(&fakes, "api.example.com", 15, &a_api) == 0 &&
	   fakeaddr_get(&fakes, "db.example.net", 14, &a_db) == 0, "three names in the table");

	int r = egp_decide_fake(&pol, ALL, &fakes, a_shop, 8443, &t, err, sizeof err);
	ok(r == 0 && strcmp(t.host, "shop.example.com") == 0 && t.port == 8443 && t.rule == 1 &&
	   !t.literal, "shop.example.com:8443: the passthrough wildcard rule (1)");
	r = egp_decide_fake(&pol, ALL, &fakes, a_db, 5432, &t, err, sizeof err);
	ok(r == 0 && t.rule == 2, "db.example.net:5432: rule 2");

	fake_refused(ALL, &fakes, a_api, 443, "tls_originate: ", "an originate rule");
	ok(strstr(err, "not built") != NULL, "  the reason says origination is not built");
	fake_refused(ALL, &fakes, a_shop, 80, "port_not_allowed: ", "a port the rule does not list");
	fake_refused(0x1, &fakes, a_shop, 443, "not_declared: ", "a rule not declared");
	fake_refused(ALL, &fakes, 0x7f400000u + 200, 443, "unknown_address: ", "an address never given");
	fake_refused(ALL, NULL, a_shop, 443, "unknown_address: ", "a function with no table");
	ok(egp_decide_fake(NULL, ALL, &fakes, a_shop, 443, &t, err, sizeof err) == -EACCES &&
	   starts(err, "no_policy: "), "no policy: refused no_policy");
}

static void auth_refused(const char *a, uint32_t declared, const char *code)
{
	struct egp_target t;

	err[0] = '\0';
	int r = egp_decide_authority(&pol, declared, a, strlen(a), &t, err, sizeof err);
	ok(r == -EACCES && starts(err, code), "CONNECT %s: refused %s", a, code);
	if (r != -EACCES || !starts(err, code))
		diag("got %d: %s", r, err);
}

static void test_authority(void)
{
	struct egp_target t;

	int r = egp_decide_authority(&pol, ALL, "Shop.Example.COM.:443", 21, &t, err, sizeof err);
	ok(r == 0 && strcmp(t.host, "shop.example.com") == 0 && t.port == 443 && t.rule == 1,
	   "CONNECT Shop.Example.COM.:443: canonical name, rule 1");
	r = egp_decide_authority(&pol, ALL, "10.20.3.4:5432", 14, &t, err, sizeof err);
	ok(r == 0 && t.literal && t.addr.family == 4 && t.addr.v4 == 0x0a140304 && t.rule == 2 &&
	   strcmp(t.host, "10.20.3.4") == 0, "CONNECT 10.20.3.4:5432: a literal its rule names");
	r = egp_decide_authority(&pol, ALL, "012.20.3.4:5432", 15, &t, err, sizeof err);
	ok(r == 0 && t.addr.v4 == 0x0a140304, "  in octal too (the address, not the spelling)");

	auth_refused("shop.example.com", ALL, "bad_request: ");
	auth_refused("user@shop.example.com:443", ALL, "userinfo: ");
	auth_refused("shop%2eexample.com:443", ALL, "percent_encoded: ");
	auth_refused("shop.example.com:0443", ALL, "bad_port: ");
	auth_refused("shop.example.com:65536", ALL, "bad_port: ");
	auth_refused("10.21.0.1:5432", ALL, "ip_literal: ");
	auth_refused("127.0.0.1:443", ALL, "ip_literal: ");
	auth_refused("2130706433:443", ALL, "ip_literal: ");
	auth_refused("[::1]:443", ALL, "ip_literal: ");
	auth_refused("[fe80::1%25eth0]:443", ALL, "zone_id: ");
	auth_refused("evil.example:443", ALL, "no_rule: ");
	auth_refused("api.example.com:443", ALL, "tls_originate: ");
	auth_refused("shop.example.com:443", 0x1, "not_declared: ");
	auth_refused("db.example.net:5433", ALL, "port_not_allowed: ");
	auth_refused("shop.example.com:443", ALL & ~0x2u, "not_declared: ");
	auth_refused("a_b.example.com:443", ALL, "underscore: ");
	ok(egp_decide_authority(NULL, ALL, "shop.example.com:443", 20, &t, err, sizeof err) ==
	   -EACCES && starts(err, "no_policy: "), "no policy: refused no_policy");
}

static void addr_case(const struct egp_target *t, uint32_t v4, bool allowed, const char *class)
{
	struct egress_addr a = { .family = 4, .v4 = v4 };

	err[0] = '\0';
	int r = egp_check_addr(&pol, t, &a, err, sizeof err);
	if (allowed)
		ok(r == 0, "rule %d, %u.%u.%u.%u: allowed", t->rule, v4 >> 24, (v4 >> 16) & 255,
		   (v4 >> 8) & 255, v4 & 255);
	else
		ok(r == -EACCES && starts(err, "address_class: ") && strstr(err, class) != NULL,
		   "rule %d, %u.%u.%u.%u: refused address_class, naming %s", t->rule, v4 >> 24,
		   (v4 >> 16) & 255, (v4 >> 8) & 255, v4 & 255, class);
	if ((r == 0) != allowed)
		diag("got %d: %s", r, err);
}

static void test_addresses(void)
{
	struct egp_target shop = { .rule = 1 }, db = { .rule = 2 };

	addr_case(&shop, 0x5db8d822, true, "");                       /* 93.184.216.34 */
	addr_case(&shop, 0xc6120101, false, "benchmarking");          /* 198.18.1.1 */
	addr_case(&shop, 0x0a140304, false, "private");               /* 10.20.3.4 */
	addr_case(&shop, 0x7f000001, false, "loopback");
	addr_case(&shop, 0xa9fea9fe, false, "cloud metadata");        /* 169.254.169.254 */
	addr_case(&db, 0x0a140304, true, "");                         /* named by the rule */
	addr_case(&db, 0x0a150304, false, "private");                 /* 10.21.3.4: not named */
	addr_case(&db, 0x7f000001, false, "loopback");
}

/* --- the CONNECT request head ----------------------------------------------------------- */

static void head_ok(const char *s, enum egp_req_kind kind, const char *target, size_t extra)
{
	struct egp_request r;
	size_t n = strlen(s);
	long h = egp_request_parse(s, n, &r, err, sizeof err);

	ok(h == (long)(n - extra) && r.kind == kind && r.target_len == strlen(target) &&
	   memcmp(r.target, target, r.target_len) == 0 && r.head_len == n - extra,
	   "head of %s: kind %d, %zu bytes", target, (int)kind, n - extra);
	if (h != (long)(n - extra))
		diag("got %ld: %s", h, err);
	/* every proper prefix of the head asks for more */
	bool more = true;
	for (size_t k = 0; k < n - extra; k++)
		if (egp_request_parse(s, k, &r, err, sizeof err) != 0)
			more = false;
	ok(more, "  each of its %zu proper prefixes: more bytes needed", n - extra);
}

static void head_bad(const char *s, const char *what)
{
	struct egp_request r;

	err[0] = '\0';
	long h = egp_request_parse(s, strlen(s), &r, err, sizeof err);
	ok(h == -EINVAL && err[0] != '\0', "head refused: %s", what);
	if (h != -EINVAL)
		diag("got %ld", h);
}

static void test_heads(void)
{
	head_ok("CONNECT shop.example.com:443 HTTP/1.1\r\nHost: shop.example.com:443\r\n\r\n",
		EGP_REQ_CONNECT, "shop.example.com:443", 0);
	head_ok("CONNECT a:1 HTTP/1.0\r\n\r\n", EGP_REQ_CONNECT, "a:1", 0);
	head_ok("CONNECT [::1]:443 HTTP/1.1\r\nUser-Agent: x\tz\r\nProxy-Connection: keep-alive\r\n\r\n"
		"\x16\x03\x01", EGP_REQ_CONNECT, "[::1]:443", 3);
	head_ok("GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n", EGP_REQ_ABSOLUTE,
		"http://a.example/x", 0);
	head_ok("POST HTTPS://a.example/ HTTP/1.1\r\n\r\n", EGP_REQ_ABSOLUTE, "HTTPS://a.example/", 0);

	head_bad("CONNECT a:1 HTTP/1.1\n\n", "a bare LF");
	head_bad("CONNECT a:1 HTTP/1.1\r\nX: y\n\r\n", "a bare LF after a header");
	head_bad("CONNECT a:1 HTTP/1.1\rX", "a bare CR");
	head_bad("connect a:1 HTTP/1.1\r\n\r\n", "a lowercase method");
	head_bad("CONNECT  a:1 HTTP/1.1\r\n\r\n", "two spaces");
	head_bad("CONNECT a:1 HTTP/2.0\r\n\r\n", "HTTP/2.0");
	head_bad("CONNECT a:1 HTTP/1.1 \r\n\r\n", "a trailing space");
	head_bad("CONNECT a:1\r\n\r\n", "no version");
	head_bad("CONNECT a\x01:1 HTTP/1.1\r\n\r\n", "a control byte in the target");
	head_bad("GET / HTTP/1.1\r\n\r\n", "an origin-form GET");
	head_bad("GET ftp://a/ HTTP/1.1\r\n\r\n", "another scheme");
	head_bad("GET http:// HTTP/1.1\r\n\r\n", "a scheme with nothing after");
	head_bad("CONNECT a:1 HTTP/1.1\r\nX y\r\n\r\n", "a header without ':'");
	head_bad("CONNECT a:1 HTTP/1.1\r\n: y\r\n\r\n", "an empty header name");
	head_bad("CONNECT a:1 HTTP/1.1\r\nX: y\r\n z\r\n\r\n", "a folded header");
	head_bad("CONNECT a:1 HTTP/1.1\r\nX: y\x7f\r\n\r\n", "DEL in a value");
	head_bad("CONNECT a:1 HTTP/1.1\r\nX\x80: y\r\n\r\n", "a non-token byte in a name");
	head_bad("ABCDEFGHIJKLMNOPQ a:1 HTTP/1.1\r\n\r\n", "a 17-letter method");
	head_bad("\r\n\r\n", "an empty request line");

	struct egp_request r;
	ok(egp_request_parse("", 0, &r, err, sizeof err) == 0, "nothing yet: more needed");
	ok(egp_request_parse("CONNECT a:1 HTTP/1.1\r\nX: y\r\n", 27, &r, err, sizeof err) == 0,
	   "a head without its empty line: more needed");
}

int main(void)
{
	int r = policy_parse(POLICY, strlen(POLICY), &toks, &pol, err, sizeof err);
	ok(r == 0 && pol.nrules == 4, "the test policy parses");
	if (r != 0)
		diag("%s", err);
	test_fake();
	test_authority();
	test_addresses();
	test_heads();
	return tap_done();
}
