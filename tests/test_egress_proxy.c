/* tests/test_egress_proxy.c: the egress proxy (net/egress_proxy.h).
 * Its pure steps: the decision for a fake address and for a CONNECT
 * authority (each refusal's code), for an http:// URL (egp_absolute_split,
 * egp_decide_absolute), the check of a resolved address, the request-head
 * parser (complete heads, every prefix of one, each malformation), the
 * Host and URL checks and the rewrite to origin-form. Then the proxy
 * itself over loopback sockets, with lwIP initialised but no interface:
 * each refusal before relaying (the reset or the status line the function
 * sees, the egress_refused record), the allow record asked before any
 * connection and a refused or failed append refusing, a request's record
 * refused, the per-function cap and the pool's bound, the setup, idle and
 * total timeouts. TLS origination's keys and anchors (egress_tls), and
 * its first step with a real TLS client as the function, by name and
 * behind CONNECT: no anchors, an SNI that is not the name, a handshake
 * that completes, Host checks; plain HTTP by name (403 plain_http) and
 * an http:// request to the proxy. The relaying itself is tested end to
 * end by tests/host/11-egress.t. */
#include "net/egress_proxy.h"
#include "lib/clock.h"
#include "lib/errbuf.h"
#include "tests/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/dns.h"
#include "lwip/init.h"

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\",\"egress\":["
	"{\"host\":\"api.example.com\",\"ports\":[443,8443],\"purpose\":\"originate\","
	"\"addresses\":[\"10.30.0.0/16\"]},"
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

	r = egp_decide_fake(&pol, ALL, &fakes, a_api, 443, &t, err, sizeof err);
	ok(r == 0 && t.rule == 0 && t.originate && strcmp(t.host, "api.example.com") == 0,
	   "api.example.com:443: the originate rule (0), marked originate");
	r = egp_decide_fake(&pol, ALL, &fakes, a_shop, 8443, &t, err, sizeof err);
	ok(r == 0 && !t.originate, "shop.example.com:8443: passthrough, not originate");
	fake_refused(ALL, &fakes, a_shop, 80, "port_not_allowed: ", "a port the rule does not list");
	fake_refused(0x1, &fakes, a_shop, 443, "not_declared: ", "a rule not declared");
	fake_refused(ALL, &fakes, 0x7f400000u + 200, 443, "unknown_address: ", "an address never given");
	fake_refused(ALL, NULL, a_shop, 443, "unknown_address: ", "a function with no table");
	ok(egp_decide_fake(NULL, ALL, &fakes, a_shop, 443, &t, err, sizeof err) == -EACCES &&
	   starts(err, "no_policy: "), "no policy: refused no_policy");
}

/* The proxy's decision for a (a CONNECT authority, or an http:// URL
 * when absolute) is a refusal beginning with code. */
static void decide_refused(bool absolute, const char *a, uint32_t declared, const char *code)
{
	struct egp_target t;

	err[0] = '\0';
	int r = absolute ? egp_decide_absolute(&pol, declared, a, strlen(a), &t, err, sizeof err) :
			   egp_decide_authority(&pol, declared, a, strlen(a), &t, err, sizeof err);
	ok(r == -EACCES && starts(err, code), "%s %s: refused %s", absolute ? "proxy request for" :
	   "CONNECT", a, code);
	if (r != -EACCES || !starts(err, code))
		diag("got %d: %s", r, err);
}

static void auth_refused(const char *a, uint32_t declared, const char *code)
{
	decide_refused(false, a, declared, code);
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
	r = egp_decide_authority(&pol, ALL, "API.example.com:443", 19, &t, err, sizeof err);
	ok(r == 0 && t.originate && !t.literal && t.rule == 0 && strcmp(t.host, "api.example.com") == 0,
	   "CONNECT API.example.com:443: an originate rule, by name");
	auth_refused("10.30.1.1:443", ALL, "tls_originate: ");
	ok(strstr(err, "IP literal") != NULL, "  an originate rule by IP literal: netd's leaf needs a name");
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

/* egp_check_host on the head s for api.example.com:443 (absolute: the
 * proxy's http:// requests): want 0, or a refusal beginning with code. */
static void host_check(bool absolute, const char *s, const char *code, const char *what)
{
	struct egp_target t = { .host = "api.example.com", .port = 443, .absolute = absolute };
	const char *kind = absolute ? "http:// request" : "Host check";
	struct egp_request r;

	err[0] = '\0';
	long h = egp_request_parse(s, strlen(s), &r, err, sizeof err);
	int c = h > 0 ? egp_check_host(&t, &r, err, sizeof err) : -1;
	if (code == NULL)
		ok(c == 0, "%s, %s: passes", kind, what);
	else
		ok(c == -EACCES && starts(err, code), "%s, %s: %s", kind, what, code);
	if (code == NULL ? c != 0 : !starts(err, code))
		diag("got %d: %s", c, err);
}

static void host_case(const char *s, const char *code, const char *what)
{
	host_check(false, s, code, what);
}

static void abs_host_case(const char *s, const char *code, const char *what)
{
	host_check(true, s, code, what);
}

static void test_hosts(void)
{
	host_case("GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n", NULL, "the name");
	host_case("GET / HTTP/1.1\r\nhost:\t API.Example.COM.:443 \r\n\r\n", NULL,
		  "another spelling, its port, white space");
	host_case("GET / HTTP/1.1\r\nHost: api.example.com:8443\r\n\r\n", "host_mismatch: ", "another port");
	host_case("GET / HTTP/1.1\r\nHost: shop.example.com\r\n\r\n", "host_mismatch: ", "another name");
	host_case("GET / HTTP/1.1\r\nHost: api.example.com.evil\r\n\r\n", "host_mismatch: ", "a longer name");
	host_case("GET / HTTP/1.1\r\nHost: api.example.com\r\nHost: evil.example\r\n\r\n",
		  "host_mismatch: 2 Host", "two Host headers");
	host_case("GET / HTTP/1.1\r\n\r\n", "host_mismatch: 0 Host", "no Host");
	host_case("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "host_mismatch: ", "an IP literal");
	host_case("GET / HTTP/1.1\r\nHost: u@api.example.com\r\n\r\n", "host_mismatch: ", "userinfo");
	host_case("GET / HTTP/1.1\r\nHost: api%2eexample.com\r\n\r\n", "host_mismatch: ", "percent-encoded");
	host_case("GET / HTTP/1.1\r\nHost: \r\n\r\n", "host_mismatch: ", "an empty Host");
	host_case("GET http://api.example.com/ HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
		  "bad_request: ", "an absolute-form target");
}

static void abs_refused(const char *u, const char *code)
{
	decide_refused(true, u, ALL, code);
}

static void test_absolute(void)
{
	struct egp_target t;
	size_t al = 0, po = 0;
	char out[512], path[128];

	ok(egp_absolute_split("http://a.b:1/x?y", 16, &al, &po) == 0 && al == 5 && po == 12,
	   "http://a.b:1/x?y: the authority a.b:1, the path from /");
	ok(egp_absolute_split("HTTP://a.b?q", 12, &al, &po) == 0 && al == 3 && po == 10,
	   "HTTP://a.b?q: the scheme in any case, the authority ends at ?");
	ok(egp_absolute_split("http://", 7, &al, &po) == 0 && al == 0 && po == 7,
	   "http://: an empty authority (the host parser refuses it)");
	ok(egp_absolute_split("https://a.b/", 12, &al, &po) == -1 &&
	   egp_absolute_split("http:/a.b/", 10, &al, &po) == -1 &&
	   egp_absolute_split("/x", 2, &al, &po) == -1, "https://, http:/ and a path: no http:// URL");

	int r = egp_decide_absolute(&pol, ALL, "http://API.example.com:8443/x", 29, &t, err, sizeof err);
	ok(r == 0 && t.originate && t.absolute && !t.literal && t.rule == 0 && t.port == 8443 &&
	   strcmp(t.host, "api.example.com") == 0, "http://API.example.com:8443/x: the originate rule");
	r = egp_decide_absolute(&pol, ALL, "http://api.example.com", 22, &t, err, sizeof err);
	ok(r == 0 && t.port == EGP_ABSOLUTE_PORT && t.port == 443,
	   "  no port: 443, where netd's TLS goes");
	abs_refused("https://api.example.com/", "absolute_form: ");
	abs_refused("http://shop.example.com/", "tls_passthrough: rule *.example.com");
	abs_refused("http://10.30.1.1/", "tls_originate: ");
	abs_refused("http://u:p@api.example.com/", "userinfo: ");
	abs_refused("http://api.example.com:80/", "port_not_allowed: ");
	abs_refused("http:///x", "empty: ");
	abs_refused("http://evil.example/", "no_rule: ");
	abs_refused("http://api%2eexample.com/", "percent_encoded: ");
	abs_refused("http://api.example.com%2f@evil.example/", "userinfo: ");
	abs_refused("http://127.1/", "ip_literal: ");
	abs_refused("http://0x7f.0.0.1/", "ip_literal: ");
	abs_refused("http://0177.0.0.1/", "ip_literal: ");
	abs_refused("http://2130706433/", "ip_literal: ");
	abs_refused("http://[::1]/", "ip_literal: ");
	abs_refused("http://[::ffff:127.0.0.1]/", "ip_literal: ");
	abs_refused("http://[fe80::1%25eth0]/", "zone_id: ");

	abs_host_case("GET http://api.example.com/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n", NULL,
		      "URL and Host name it");
	abs_host_case("GET http://Api.Example.com:443?q HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n",
		      NULL, "another spelling, its port");
	abs_host_case("GET http://api.example.com:8443/ HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
		      "host_mismatch: URL ", "the URL's port is another");
	abs_host_case("GET http://shop.example.com/ HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
		      "host_mismatch: URL ", "the URL names another host");
	abs_host_case("GET http://api.example.com/ HTTP/1.1\r\nHost: shop.example.com\r\n\r\n",
		      "host_mismatch: Host ", "Host names another host");
	abs_host_case("GET http://api.example.com/ HTTP/1.1\r\n\r\n", "host_mismatch: 0 Host",
		      "no Host");
	abs_host_case("GET /x HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "bad_request: ",
		      "an origin-form target");
	abs_host_case("GET https://api.example.com/ HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
		      "bad_request: ", "an https:// URL");

	/* the rewrite: origin-form upstream */
	static const char req[] = "GET http://api.example.com/a/%7eb?c=1 HTTP/1.1\r\n"
				  "Host: api.example.com\r\nX: y\r\n\r\n";
	struct eh_head h;
	t = (struct egp_target){ .host = "api.example.com", .port = 443, .absolute = true,
				 .originate = true };
	long n = eh_head_parse(req, sizeof req - 1, &h, err, sizeof err);
	long w = n > 0 ? egp_request_rewrite(&pol, ALL, &t, "fn", req, &h, NULL, path, sizeof path, out,
					     sizeof out, err, sizeof err) : -1;
	ok(w > 0 && (size_t)w < sizeof out &&
	   strncmp(out, "GET /a/~b?c=1 HTTP/1.1\r\nHost: api.example.com\r\nX: y\r\n\r\n",
		   (size_t)w) == 0 && strcmp(path, "/a/~b?c=1") == 0,
	   "an http:// request goes upstream in origin-form, its path normalised");
	if (w <= 0)
		diag("%s", err);
	static const char bare[] = "GET http://api.example.com HTTP/1.1\r\nHost: api.example.com\r\n\r\n";
	n = eh_head_parse(bare, sizeof bare - 1, &h, err, sizeof err);
	w = n > 0 ? egp_request_rewrite(&pol, ALL, &t, "fn", bare, &h, NULL, path, sizeof path, out,
					sizeof out, err, sizeof err) : -1;
	ok(w > 0 && strncmp(out, "GET / HTTP/1.1\r\n", 16) == 0, "  a URL with no path: /");
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
	head_ok("GET /x?y=1 HTTP/1.1\r\nHost: a.example\r\n\r\nbody", EGP_REQ_ORIGIN, "/x?y=1", 4);
	test_hosts();

	head_bad("CONNECT a:1 HTTP/1.1\n\n", "a bare LF");
	head_bad("CONNECT a:1 HTTP/1.1\r\nX: y\n\r\n", "a bare LF after a header");
	head_bad("CONNECT a:1 HTTP/1.1\rX", "a bare CR");
	head_bad("connect a:1 HTTP/1.1\r\n\r\n", "a lowercase method");
	head_bad("CONNECT  a:1 HTTP/1.1\r\n\r\n", "two spaces");
	head_bad("CONNECT a:1 HTTP/2.0\r\n\r\n", "HTTP/2.0");
	head_bad("CONNECT a:1 HTTP/1.1 \r\n\r\n", "a trailing space");
	head_bad("CONNECT a:1\r\n\r\n", "no version");
	head_bad("CONNECT a\x01:1 HTTP/1.1\r\n\r\n", "a control byte in the target");
	head_bad("GET x HTTP/1.1\r\n\r\n", "a target that is no path, URL or authority");
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

/* --- the proxy over loopback sockets --------------------------------------------------- */

static struct egress_proxy PX;
static struct fn_egress_fn FN;
static int records, appends, watches;
static char last_reason[EGP_REASON_MAX];
static char last_inv[40];
static int in_flight;
static uint8_t last_type;
static char last_host[EGRESS_NAME_MAX + 1];
static uint32_t last_id;
static int append_result;

static int hk_watch(void *ctx, int fd, uint32_t ev)
{
	(void)ctx;
	(void)fd;
	(void)ev;
	watches++;
	return 0;
}

static const struct policy *hk_policy(void *ctx)
{
	(void)ctx;
	return &pol;
}

static void keep(const struct log_entry *e)
{
	const struct log_egress *g = &e->u.egress;
	last_type = e->type;
	snprintf(last_inv, sizeof last_inv, "%.*s", (int)g->invocation.len, g->invocation.p);
	snprintf(last_reason, sizeof last_reason, "%.*s", (int)g->reason.len, g->reason.p);
	snprintf(last_host, sizeof last_host, "%.*s", (int)g->host.len, g->host.p);
}

static int hk_append(void *ctx, uint32_t id, const struct log_entry *e)
{
	(void)ctx;
	appends++;
	last_id = id;
	keep(e);
	return append_result;
}

/* The invocation hook: "inv-1" when in_flight says one of fn-test's is. */
static void hk_invocation(void *ctx, const char *fn, char id[37])
{
	(void)ctx;
	snprintf(id, 37, "%s", in_flight == 1 && strcmp(fn, "fn-test") == 0 ? "inv-1" : "");
}

static void hk_record(void *ctx, const struct log_entry *e)
{
	(void)ctx;
	records++;
	keep(e);
}

/* A connected pair: *fn is the function's end, the proxy gets the other. */
static int pair(int *fn)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		return -1;
	*fn = sv[0];
	return sv[1];
}

/* What the function's end reads until EOF or reset (at most cap - 1). */
static ssize_t drain(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, MSG_DONTWAIT);
		if (r <= 0) {
			buf[n] = '\0';
			return r < 0 && n == 0 ? -errno : (ssize_t)n;
		}
		n += (size_t)r;
	}
}

/* CONNECT req through the proxy: the answer the function reads. */
static ssize_t connect_req(const char *req, char *reply, size_t cap, uint32_t *id)
{
	int fn, p = pair(&fn);
	int before = appends;

	if (p < 0)
		return -1;
	egress_proxy_accept(&PX, &FN, SBX_L_PROXY, p);
	(void)send(fn, req, strlen(req), 0);
	egress_proxy_io(&PX, p, EPOLLIN);   /* as epoll says it */
	if (id != NULL)
		*id = appends > before ? last_id : 0;
	ssize_t n = drain(fn, reply, cap);
	close(fn);
	return n;
}

static void proxy_refused(const char *req, const char *status, const char *code)
{
	char reply[1024];
	int r0 = records;

	connect_req(req, reply, sizeof reply, NULL);
	ok(strncmp(reply, status, strlen(status)) == 0 && strstr(reply, code) != NULL &&
	   records == r0 + 1 && last_type == LOG_EGRESS_REFUSED && starts(last_reason, code),
	   "proxy: %.*s -> %s, egress_refused %s", (int)strcspn(req, "\r\n"), req, status, code);
	if (records != r0 + 1 || !starts(last_reason, code))
		diag("reply %.80s; record %s", reply, last_reason);
}

/* A record names the invocation in flight at accept, when there is one
 * (net/api_fn.h api_fn_in_flight), else none. */
static void test_invocation(void)
{
	char reply[512];

	in_flight = 1;
	connect_req("CONNECT evil.example:443 HTTP/1.1\r\n\r\n", reply, sizeof reply, NULL);
	ok(last_type == LOG_EGRESS_REFUSED && strcmp(last_inv, "inv-1") == 0,
	   "one invocation in flight: the refusal names it (%s)", last_inv);
	in_flight = 2;
	connect_req("CONNECT evil.example:443 HTTP/1.1\r\n\r\n", reply, sizeof reply, NULL);
	ok(last_type == LOG_EGRESS_REFUSED && last_inv[0] == '\0',
	   "two in flight: the record names none (\"%s\")", last_inv);
	in_flight = 0;
}

static void test_proxy_refusals(void)
{
	proxy_refused("CONNECT 10.30.1.1:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 ", "tls_originate");
	proxy_refused("CONNECT evil.example:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 ", "no_rule");
	proxy_refused("CONNECT 127.0.0.1:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 ", "ip_literal");
	proxy_refused("CONNECT x.example.com HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", "bad_request");
	proxy_refused("GET https://api.example.com/ HTTP/1.1\r\n\r\n", "HTTP/1.1 501 ", "absolute_form");
	proxy_refused("GET http://x.example.com/ HTTP/1.1\r\nHost: x.example.com\r\n\r\n",
		      "HTTP/1.1 403 ", "tls_passthrough");
	proxy_refused("GET http://api.example.com/ HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
		      "HTTP/1.1 403 ", "tls_unavailable");
	proxy_refused("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", "bad_request");
	/* lwIP has no interface and no resolver here: the lookup cannot go */
	proxy_refused("CONNECT shop.example.com:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 502 ", "dns_failed");
	ok(PX.st.active == 0, "every refused connection left the pool");
}

static void test_proxy_log(void)
{
	char reply[1024];
	uint32_t id;
	int a0 = appends, r0 = records;

	/* a literal needs no lookup: the allow record is asked for at once */
	connect_req("CONNECT 10.20.3.4:5432 HTTP/1.1\r\n\r\n", reply, sizeof reply, &id);
	ok(appends == a0 + 1 && last_type == LOG_EGRESS && starts(last_reason, "passthrough") &&
	   strcmp(last_host, "10.20.3.4") == 0 && PX.st.active == 1 && reply[0] == '\0',
	   "a literal its rule names: the allow record asked for, nothing answered yet");
	egress_proxy_appended(&PX, id + 256, 0);
	ok(PX.st.active == 1, "  an answer for another id changes nothing");
	egress_proxy_appended(&PX, id, -EIO);
	ok(PX.st.active == 0 && records == r0 + 1 && starts(last_reason, "log_refused"),
	   "  the log refuses: the connection is refused (log_refused)");

	append_result = -ENOTCONN;
	proxy_refused("CONNECT 10.20.3.4:5432 HTTP/1.1\r\n\r\n", "HTTP/1.1 502 ", "log_refused");
	append_result = 0;

	/* acknowledged: lwIP is asked to connect, and has no route here */
	r0 = records;
	int fn, p = pair(&fn);
	egress_proxy_accept(&PX, &FN, SBX_L_PROXY, p);
	static const char req[] = "CONNECT 10.20.3.4:5432 HTTP/1.1\r\n\r\n";
	(void)send(fn, req, sizeof req - 1, 0);
	egress_proxy_io(&PX, p, EPOLLIN);   /* as epoll says it */
	egress_proxy_appended(&PX, last_id, 0);
	ssize_t n = drain(fn, reply, sizeof reply);
	ok(n > 0 && starts(reply, "HTTP/1.1 502 ") && records == r0 + 1 &&
	   starts(last_reason, "connect_failed") && PX.st.active == 0,
	   "  acknowledged, no route: 502, connect_failed");
	close(fn);
}

static void test_proxy_port(void)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(8443),
				 .sin_addr.s_addr = htonl(fakeaddr_addr_of(1)) };
	socklen_t al = sizeof a;
	char buf[64];

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	ok(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 4) == 0 &&
	   getsockname(l, (struct sockaddr *)&a, &al) == 0, "a listener on 127.64.0.2 (api.example.com's)");
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "the function connects to it");
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int r0 = records;
	FN.fakes = &fakes;
	egress_proxy_accept(&PX, &FN, SBX_L_PORT, s);
	ssize_t n = recv(c, buf, sizeof buf, 0);
	int e = errno;
	ok(n < 0 && e == ECONNRESET && records == r0 + 1 && starts(last_reason, "tls_unavailable") &&
	   strcmp(last_host, "api.example.com") == 0,
	   "a port connection to an originate rule's name, no local CA: reset, tls_unavailable");
	if (n >= 0 || e != ECONNRESET || !starts(last_reason, "tls_unavailable"))
		diag("recv %zd (%s), %d records, %s", n, strerror(e), records - r0, last_reason);
	close(c);
	close(l);
}

/* CONNECT req on a new proxy connection: the proxy's end, *fn the
 * function's; the function has read the 200 if the proxy said it
 * (*said: it did). */
/* req on a new proxy connection, served once: the proxy's end (*fn the
 * function's). */
static int proxy_send(const char *req, int *fn)
{
	int p = pair(fn);

	if (p < 0)
		return -1;
	egress_proxy_accept(&PX, &FN, SBX_L_PROXY, p);
	(void)send(*fn, req, strlen(req), 0);
	egress_proxy_io(&PX, p, EPOLLIN);   /* as epoll says it */
	return p;
}

static int tunnel(const char *req, int *fn, bool *said)
{
	static const char ok200[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	char got[sizeof ok200];
	int p = proxy_send(req, fn);

	*said = false;
	if (p < 0)
		return -1;
	ssize_t n = recv(*fn, got, sizeof ok200 - 1, MSG_DONTWAIT);
	*said = n == (ssize_t)sizeof ok200 - 1 && memcmp(got, ok200, sizeof ok200 - 1) == 0;
	return p;
}

static void test_proxy_connect_originate(void)
{
	char buf[64];
	bool said;
	int fn, r0 = records;

	tunnel("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n", &fn,
	       &said);
	ssize_t n = recv(fn, buf, sizeof buf, MSG_DONTWAIT);
	ok(said && n <= 0 && records == r0 + 1 && starts(last_reason, "tls_unavailable") &&
	   strcmp(last_host, "api.example.com") == 0 && PX.st.active == 0,
	   "CONNECT to an originate rule's name: 200 (netd's TLS comes next), then with no local CA "
	   "closed, tls_unavailable");
	close(fn);
}

/* A proxy connection accepted, its slot set as relaying past the 200
 * (relaying for real needs an upstream): the slot, *fn the function's
 * end. */
static struct egp_conn *relay_slot(int *fn)
{
	int p = pair(fn);

	egress_proxy_accept(&PX, &FN, SBX_L_PROXY, p);
	for (unsigned i = 0; i < EGP_CONN_MAX; i++)
		if (p >= 0 && PX.c[i].fd == p) {
			PX.c[i].st = EGP_RELAY;
			PX.c[i].said_200 = true;
			return &PX.c[i];
		}
	return NULL;
}

/* A request's record refused: the connection is refused, log_refused.
 * (Relaying needs an upstream: the slot is set as an originate
 * connection whose second request waits for its record; the path that
 * gets there runs end to end in tests/host/11-egress.t.) */
static void test_request_record(void)
{
	char buf[64];
	int fn, r0 = records;
	struct egp_conn *c = relay_slot(&fn);

	ok(c != NULL, "a connection");
	if (c == NULL)
		return;
	c->t.originate = true;
	c->nreq = 2;
	c->rw_wait = true;
	c->rw_len = 10;
	egress_proxy_appended(&PX, c->id + 256, -EIO);
	ok(PX.st.active == 1 && c->rw_wait && records == r0, "a request's record: another id's "
	   "answer changes nothing");
	egress_proxy_appended(&PX, c->id, -EPIPE);
	ssize_t n = recv(fn, buf, sizeof buf, MSG_DONTWAIT);
	ok(PX.st.active == 0 && records == r0 + 1 && last_type == LOG_EGRESS_REFUSED &&
	   starts(last_reason, "log_refused: the log did not take request 2's record") && n <= 0,
	   "  logd went before it took it: the connection refused, log_refused");
	close(fn);
}

/* The timeouts of a relayed connection: idle, and total however busy.
 * (A slot set as relaying, as above.) */
static void test_relay_timeouts(void)
{
	int fn, r0 = records;
	struct egp_conn *c = relay_slot(&fn);

	if (c == NULL)
		return;
	uint64_t t0 = c->t0_ms;
	ok(egress_proxy_next_deadline(&PX) == t0 + EGP_IDLE_MS, "relaying: the idle deadline is next");
	c->last_ms = t0 + EGP_TOTAL_MS - 1000;    /* busy until a second before the end */
	ok(egress_proxy_next_deadline(&PX) == t0 + EGP_TOTAL_MS, "  busy: the total deadline is next");
	egress_proxy_tick(&PX, t0 + EGP_TOTAL_MS - 1);
	ok(PX.st.active == 1 && records == r0, "  before it: still relaying");
	egress_proxy_tick(&PX, t0 + EGP_TOTAL_MS);
	ok(PX.st.active == 0 && records == r0 + 1 && last_type == LOG_EGRESS &&
	   strcmp(last_reason, "completed: total timeout") == 0, "  at it: ended, its completion "
	   "record says total timeout");
	close(fn);

	/* idle: no byte either way since last_ms */
	if ((c = relay_slot(&fn)) == NULL)
		return;
	r0 = records;
	t0 = c->t0_ms;
	c->last_ms = t0 + 5000;                   /* its last byte 5 s in */
	ok(egress_proxy_next_deadline(&PX) == t0 + 5000 + EGP_IDLE_MS,
	   "idle: the deadline is its last byte's time and EGP_IDLE_MS");
	egress_proxy_tick(&PX, t0 + 5000 + EGP_IDLE_MS - 1);
	ok(PX.st.active == 1 && records == r0, "  before it: still relaying");
	egress_proxy_tick(&PX, t0 + 5000 + EGP_IDLE_MS);
	char b[16];
	ssize_t n = recv(fn, b, sizeof b, MSG_DONTWAIT);
	ok(PX.st.active == 0 && records == r0 + 1 && last_type == LOG_EGRESS &&
	   strcmp(last_reason, "completed: idle timeout") == 0 &&
	   (n == 0 || (n < 0 && errno == ECONNRESET)),
	   "  at it: ended (the function's socket closed), its completion record says idle timeout");
	close(fn);
}

/* Both ends of a socket pair for every slot, and a few more. */
static bool enough_fds(void)
{
	struct rlimit rl;
	rlim_t need = 2 * EGP_CONN_MAX + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	if (rl.rlim_cur < need && rl.rlim_max >= need) {
		rl.rlim_cur = need;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur >= need;
}

static void test_proxy_pool(void)
{
	static int fns[EGP_CONN_MAX];
	int fn, p;
	struct fn_egress_fn other = FN;
	char buf[16], cap[64];

	if (!ok(enough_fds(), "RLIMIT_NOFILE allows %d descriptors (the pool's socket pairs)",
		2 * EGP_CONN_MAX + 64))
		return;
	snprintf(other.id, sizeof other.id, "fn-other");
	snprintf(cap, sizeof cap, "conn_limit: the function has %d ", EGP_FN_CONN_MAX);
	for (unsigned i = 0; i < EGP_FN_CONN_MAX; i++) {
		p = pair(&fns[i]);
		egress_proxy_accept(&PX, &FN, SBX_L_PROXY, p);
	}
	ok(PX.st.active == EGP_FN_CONN_MAX, "one function: %d connections", EGP_FN_CONN_MAX);
	int r0 = records;
	p = pair(&fn);
	egress_proxy_accept(&PX, &FN, SBX_L_PROXY, p);
	ssize_t n = recv(fn, buf, sizeof buf, 0);
	ok(n <= 0 && records == r0 + 1 && starts(last_reason, cap) &&
	   PX.st.active == EGP_FN_CONN_MAX && PX.st.pool_full == 0,
	   "  one more of it: closed, egress_refused conn_limit");
	close(fn);
	for (unsigned i = EGP_FN_CONN_MAX; i < EGP_CONN_MAX; i++) {
		p = pair(&fns[i]);
		egress_proxy_accept(&PX, &other, SBX_L_PROXY, p);
	}
	ok(PX.st.active == EGP_CONN_MAX, "another function's still go: %d connections waiting for "
	   "their heads", EGP_CONN_MAX);
	r0 = records;
	p = pair(&fn);
	snprintf(other.id, sizeof other.id, "fn-third");
	egress_proxy_accept(&PX, &other, SBX_L_PROXY, p);
	n = recv(fn, buf, sizeof buf, 0);
	ok(n <= 0 && records == r0 + 1 && starts(last_reason, "pool_full") &&
	   PX.st.active == EGP_CONN_MAX, "one more, of a third function: closed, egress_refused pool_full");
	close(fn);
	ok(egress_proxy_next_deadline(&PX) <= mono_ms() + EGP_SETUP_MS, "  a setup deadline is due");
	egress_proxy_tick(&PX, mono_ms() + EGP_SETUP_MS);
	ok(PX.st.active == 0 && starts(last_reason, "timeout") &&
	   egress_proxy_next_deadline(&PX) == UINT64_MAX, "  past the setup time: all refused (timeout)");
	for (unsigned i = 0; i < EGP_CONN_MAX; i++)
		close(fns[i]);
}

/* lwIP's waiting lookups all in use (DNS_MAX_REQUESTS, 255: lookups of a
 * name being asked join its query; test_proxy_tls set a resolver lwIP
 * cannot reach, so none ends): the next connection waits and asks again
 * from the tick, rather than being refused dns_failed, and is counted. */
static void test_dns_full(void)
{
	enum { TRIES = DNS_MAX_REQUESTS + 8 };
	int fns[TRIES], n = 0, r0 = records;
	uint64_t busy0 = PX.st.dns_busy;
	struct egp_conn *w = NULL;
	static const char req[] = "CONNECT shop.example.com:443 HTTP/1.1\r\n\r\n";

	while (n < TRIES && w == NULL) {
		int p = pair(&fns[n++]);
		egress_proxy_accept(&PX, &FN, SBX_L_PROXY, p);
		(void)send(fns[n - 1], req, strlen(req), 0);
		egress_proxy_io(&PX, p, EPOLLIN);   /* as epoll says it */
		for (unsigned i = 0; i < EGP_CONN_MAX; i++)
			if (PX.fd_of[i] == p && PX.c[i].st == EGP_RESOLVING && PX.c[i].dns_retry_ms != 0)
				w = &PX.c[i];
	}
	ok(w != NULL && records == r0 && PX.st.active == (uint64_t)n &&
	   n > DNS_MAX_REQUESTS / 2 && n <= DNS_MAX_REQUESTS + 1,
	   "%d lookups of one name at once (lookups the earlier tests left count too): the "
	   "last finds lwIP's table full and waits, none refused", n);
	ok(PX.st.dns_busy == busy0 + 1, "  counted (egress.dns_busy)");
	if (w != NULL) {
		uint64_t at = w->dns_retry_ms;
		ok(egress_proxy_next_deadline(&PX) <= at, "  its retry is the next deadline");
		egress_proxy_tick(&PX, at);
		ok(w->st == EGP_RESOLVING && w->dns_retry_ms >= at && records == r0,
		   "  asked again at it: still full, still waiting");
	}
	egress_proxy_tick(&PX, mono_ms() + EGP_SETUP_MS);
	ok(PX.st.active == 0 && starts(last_reason, "timeout"),
	   "  past the setup time: all refused (timeout)");
	for (int i = 0; i < n; i++)
		close(fns[i]);
}

/* --- TLS origination ------------------------------------------------------------------ */

static struct egress_tls X;

static int memfd_with(const void *p, size_t n)
{
	int fd = memfd_create("anchors", MFD_CLOEXEC);

	if (fd >= 0 && write(fd, p, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_tls_keys(void)
{
	char e[EGP_REASON_MAX] = "";
	uint8_t file[2048];

	ok(egress_tls_init(&X, (int64_t)time(NULL), e, sizeof e) == 0 && X.ready, "local CA made %s", e);
	ok(X.ca_pem_len == (size_t)CERT_PEM_LEN(X.ca.der_len) && X.ca_pem[X.ca_pem_len] == '\0' &&
	   starts(X.ca_pem, "-----BEGIN CERTIFICATE-----\n"), "  its PEM, for the sandboxes");
	ok(X.anchors.n == 0 && X.anchors_why[0] != '\0', "  no anchors yet, and a reason");
	is_int((int)egress_tls_anchors(&X, -1, "no trust anchors (host mode without --anchors)", e,
				       sizeof e), -ENOENT, "no anchors file: -ENOENT");
	ok(strcmp(X.anchors_why, "no trust anchors (host mode without --anchors)") == 0,
	   "  init's reason kept for the refusals");
	int bad = memfd_with("DSTA\x01\x00\x00\x01xx", 10);
	ok(egress_tls_anchors(&X, bad, "", e, sizeof e) == -EBADMSG && X.anchors.n == 0 &&
	   starts(X.anchors_why, "the trust anchors: "), "a malformed file: -EBADMSG, none loaded");
	/* a file of one anchor: the local CA itself */
	long h = anchors_header(file, sizeof file, 1);
	long r = anchors_record(file + h, sizeof file - (size_t)h, X.ca.der, X.ca.der_len,
				ANCHOR_FLAG_CA, e, sizeof e);
	ok(h > 0 && r > 0, "an anchors file holding the local CA");
	int good = memfd_with(file, (size_t)(h + r));
	is_int((int)egress_tls_anchors(&X, good, "", e, sizeof e), 1, "  loaded: 1 anchor");
	ok(X.anchors.n_extra == 0 && X.anchors_why[0] == '\0', "  no test anchor, no reason");
	/* a session with an upstream, checked against the anchors loaded */
	br_ssl_session_parameters sp = { .session_id_len = 32, .version = BR_TLS12 };
	uint8_t skey[32], spki[32] = { 1 };
	int64_t now = (int64_t)time(NULL);
	tls_client_session_key("fn", "api.example.com", 443, skey);
	tls_client_session_save(&X.up, skey, &sp, spki, now);
	ok(tls_client_session_find(&X.up, skey, now) != NULL, "a session with an upstream kept");
	/* the policy's extra_anchors: another CA, as the policy parser keeps it */
	static struct policy pa;
	static struct cert_ca other;
	ok(cert_ca_init(&other, &X.rng, "x", 1, now, now + 86400) == 0, "another CA");
	pa.nanchors = 1;
	pa.anchors[0].len = (uint16_t)other.der_len;
	memcpy(pa.anchors[0].der, other.der, other.der_len);
	is_int((int)egress_tls_policy_anchors(&X, &pa, e, sizeof e), 2,
	       "the policy's extra_anchors join the file's: 2");
	ok(X.anchors.n_extra == 1, "  one of them a test anchor");
	ok(tls_client_session_find(&X.up, skey, now) == NULL,
	   "  the upstream sessions the old anchors checked are gone");
	is_int((int)egress_tls_anchors(&X, good, "", e, sizeof e), 2,
	       "the file again (read from the start): the policy's stay, 2");
	is_int((int)egress_tls_anchors(&X, -1, "no file (a test)", e, sizeof e), 1,
	       "no file: the policy's alone, 1");
	ok(X.anchors.n_extra == 1 && X.anchors_why[0] == '\0', "  a test anchor, no reason");
	pa.anchors[0].der[0] ^= 0xff;   /* a certificate that no longer reads */
	ok(egress_tls_policy_anchors(&X, &pa, e, sizeof e) < 0 && X.anchors.n == 0 &&
	   starts(X.anchors_why, "the policy's extra_anchors[0]: "),
	   "a policy anchor BearSSL cannot read: none trusted (fail closed), the reason");
	is_int((int)egress_tls_anchors(&X, good, "", e, sizeof e), -EBADMSG,
	   "  and the file arriving again does not hide it");
	is_int((int)egress_tls_policy_anchors(&X, NULL, e, sizeof e), 1,
	       "a policy without extra_anchors: the file's alone, 1");
	ok(X.anchors.n_extra == 0, "  no test anchor");
	close(bad);
	close(good);
}

/* A connection of the function to api.example.com's fake address, port
 * 8443 (an originate rule), accepted: *fn is the function's end, the
 * proxy's end is returned (*l: the listener). */
static int port_pair(int *fn, int *l)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(8443),
				 .sin_addr.s_addr = htonl(fakeaddr_addr_of(1)) };
	int one = 1;

	*l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(*l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(*l, (struct sockaddr *)&a, sizeof a) != 0 || listen(*l, 4) != 0)
		return -1;
	*fn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* the handshake's small records go at once (Nagle would hold the
	 * client's Finished for the proxy's delayed ACK) */
	setsockopt(*fn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(*fn, (struct sockaddr *)&a, sizeof a) != 0)
		return -1;
	return accept4(*l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

/* The function's TLS client (SNI sni) against the proxy's end p until
 * it is open, failed, or the proxy let go. */
static enum tls_status handshake(struct tls_conn *cl, int fn, int p)
{
	static uint8_t in[TLS_IBUF_LEN];
	size_t have = 0;

	for (int i = 0; i < 200; i++) {
		size_t n;
		const uint8_t *o = tls_out(cl, &n);
		if (n > 0) {
			ssize_t w = send(fn, o, n, MSG_NOSIGNAL);
			if (w > 0)
				tls_out_done(cl, (size_t)w);
		}
		if (PX.st.active > 0)
			egress_proxy_io(&PX, p, EPOLLIN);   /* as epoll says it */
		/* netd's socket has Nagle on: its second small record of a
		 * flight waits for our ACK, so wait a little for bytes */
		struct pollfd pf = { .fd = fn, .events = POLLIN };
		poll(&pf, 1, 50);
		ssize_t r = recv(fn, in + have, sizeof in - have, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN))
			break;
		have += r > 0 ? (size_t)r : 0;
		long k = have > 0 ? tls_feed(cl, in, have) : 0;
		if (k < 0)
			break;
		memmove(in, in + k, have - (size_t)k);
		have -= (size_t)k;
		if (tls_status(cl) != TLS_HANDSHAKE)
			break;
	}
	char why[200];
	if (tls_status(cl) != TLS_OPEN)
		diag("client: %s; proxy: %s", tls_reason(cl, why, sizeof why), last_reason);
	return tls_status(cl);
}

/* The function writes req through its TLS client; the proxy reads it. */
static void send_request(struct tls_conn *cl, int fn, int p, const char *req)
{
	size_t n;

	tls_write(cl, req, strlen(req));
	const uint8_t *o = tls_out(cl, &n);
	if (n > 0 && send(fn, o, n, MSG_NOSIGNAL) == (ssize_t)n)
		tls_out_done(cl, n);
	for (int i = 0; i < 4 && PX.st.active > 0; i++) {
		struct pollfd pf = { .fd = p, .events = POLLIN };
		poll(&pf, 1, 50);
		egress_proxy_io(&PX, p, EPOLLIN);   /* as epoll says it */
	}
}

static void test_proxy_tls(void)
{
	static struct tls_conn cl;
	br_hmac_drbg_context rng;
	char e[EGP_REASON_MAX];
	int fn, l, p;
	int64_t now = (int64_t)time(NULL);

	FN.fakes = &fakes;
	PX.h.tls = &X;
	cert_drbg_seed(&rng);

	egress_tls_anchors(&X, -1, "no trust anchors (a test)", e, sizeof e);
	int r0 = records;
	p = port_pair(&fn, &l);
	egress_proxy_accept(&PX, &FN, SBX_L_PORT, p);
	ok(p >= 0 && records == r0 + 1 && starts(last_reason, "no_anchors: no trust anchors (a test)"),
	   "originate with no anchors: refused no_anchors, with init's reason");
	close(fn);
	close(l);

	/* the local CA is the only anchor: the function's client trusts it too */
	uint8_t file[2048];
	long h = anchors_header(file, sizeof file, 1);
	long n = anchors_record(file + h, sizeof file - (size_t)h, X.ca.der, X.ca.der_len,
				ANCHOR_FLAG_CA, e, sizeof e);
	int fd = memfd_with(file, (size_t)(h + n));
	egress_tls_anchors(&X, fd, "", e, sizeof e);
	close(fd);

	r0 = records;
	p = port_pair(&fn, &l);
	egress_proxy_accept(&PX, &FN, SBX_L_PORT, p);
	tls_client_init(&cl, &X.anchors, "evil.example.com", 16, now, &rng);
	handshake(&cl, fn, p);
	ok(records == r0 + 1 && starts(last_reason, "sni_mismatch: the function's TLS: SNI evil.example.com "
				       "is not api.example.com") && PX.st.active == 0,
	   "SNI evil.example.com on api.example.com's address: refused sni_mismatch");
	if (!starts(last_reason, "sni_mismatch"))
		diag("%d records, %s", records - r0, last_reason);
	close(fn);
	close(l);

	/* a resolver (unreachable: lwIP has no interface) so that the
	 * connection waits in resolution once the handshake is done */
	ip_addr_t ns;
	ip_addr_set_ip4_u32_val(ns, htonl(0x0a000001u));
	dns_setserver(0, &ns);
	r0 = records;
	p = port_pair(&fn, &l);
	egress_proxy_accept(&PX, &FN, SBX_L_PORT, p);
	tls_client_init(&cl, &X.anchors, "api.example.com", 15, now, &rng);
	enum tls_status st = handshake(&cl, fn, p);
	ok(st == TLS_OPEN, "SNI api.example.com: the function's handshake completes, netd's leaf "
	   "for the name validated against the local CA");
	ok(PX.st.active == 1 && PX.c[0].st == EGP_TLS_ACCEPT && records == r0,
	   "  netd waits for the first request's head");
	send_request(&cl, fn, p, "GET / HTTP/1.1\r\nHost: api.example.com\r\n");
	ok(PX.st.active == 1 && PX.c[0].st == EGP_TLS_ACCEPT, "  (a part of it: still waiting)");
	send_request(&cl, fn, p, "\r\n");
	ok(PX.st.active == 1 && PX.c[0].st == EGP_RESOLVING && records == r0,
	   "  Host is the name: the policy's steps (the name asked of lwIP's resolver)");
	if (PX.st.active == 0)
		diag("%s", last_reason);
	egress_proxy_tick(&PX, mono_ms() + EGP_SETUP_MS);
	ok(PX.st.active == 0, "  (let go)");
	close(fn);
	close(l);

	/* a head and the start of its body in one record (Python's
	 * http.client sends a bytes body with its head): the body stays in
	 * netd's engine for the upstream, none of it taken as head */
	r0 = records;
	p = port_pair(&fn, &l);
	egress_proxy_accept(&PX, &FN, SBX_L_PORT, p);
	tls_client_init(&cl, &X.anchors, "api.example.com", 15, now, &rng);
	st = handshake(&cl, fn, p);
	send_request(&cl, fn, p, "POST /up HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 13\r\n\r\n"
		     "body\r\n\r\nbytes");
	size_t left = 0;
	if (PX.st.active == 1)
		tls_in(&PX.c[0].srv, &left);
	ok(st == TLS_OPEN && PX.st.active == 1 && PX.c[0].st == EGP_RESOLVING && records == r0 &&
	   left == 13 && PX.c[0].req_len == 0 && PX.c[0].body.st != EH_B_DONE,
	   "a head and its body in one record: the head taken, its 13 body bytes left for the upstream");
	if (left != 13)
		diag("%zu body bytes left in the engine, %zu in req", left, PX.c[0].req_len);
	egress_proxy_tick(&PX, mono_ms() + EGP_SETUP_MS);
	ok(PX.st.active == 0, "  (let go)");
	close(fn);
	close(l);

	r0 = records;
	p = port_pair(&fn, &l);
	egress_proxy_accept(&PX, &FN, SBX_L_PORT, p);
	tls_client_init(&cl, &X.anchors, "api.example.com", 15, now, &rng);
	st = handshake(&cl, fn, p);
	send_request(&cl, fn, p, "GET / HTTP/1.1\r\nHost: shop.example.com\r\n\r\n");
	ok(st == TLS_OPEN && PX.st.active == 0 && records == r0 + 1 &&
	   starts(last_reason, "host_mismatch: Host shop.example.com is not api.example.com:8443"),
	   "a first request for another Host over api.example.com's TLS: refused host_mismatch");
	if (!starts(last_reason, "host_mismatch"))
		diag("%s", last_reason);
	close(fn);
	close(l);

	/* the same through CONNECT on the explicit proxy: 200, then netd's
	 * TLS for the CONNECT's name */
	bool said;
	r0 = records;
	p = tunnel("CONNECT api.example.com:8443 HTTP/1.1\r\n\r\n", &fn, &said);
	tls_client_init(&cl, &X.anchors, "shop.example.com", 16, now, &rng);
	handshake(&cl, fn, p);
	ok(said && records == r0 + 1 && starts(last_reason, "sni_mismatch: the function's TLS: SNI "
					      "shop.example.com is not api.example.com") &&
	   PX.st.active == 0, "CONNECT api.example.com:8443, SNI shop.example.com: 200, then "
	   "refused sni_mismatch");
	close(fn);

	r0 = records;
	p = tunnel("CONNECT Api.Example.com:8443 HTTP/1.1\r\n\r\n", &fn, &said);
	tls_client_init(&cl, &X.anchors, "api.example.com", 15, now, &rng);
	st = handshake(&cl, fn, p);
	ok(said && st == TLS_OPEN && PX.st.active == 1 && PX.c[0].st == EGP_TLS_ACCEPT &&
	   records == r0, "CONNECT Api.Example.com:8443, SNI api.example.com: netd's leaf, the "
	   "handshake completes");
	send_request(&cl, fn, p, "GET /x HTTP/1.1\r\nHost: api.example.com:8443\r\n\r\n");
	ok(PX.st.active == 1 && PX.c[0].st == EGP_RESOLVING && records == r0,
	   "  Host api.example.com:8443: the policy's steps (resolution)");
	egress_proxy_tick(&PX, mono_ms() + EGP_SETUP_MS);
	ok(PX.st.active == 0 && records == r0 + 1 && starts(last_reason, "timeout"), "  (let go)");
	close(fn);

	r0 = records;
	p = tunnel("CONNECT api.example.com:8443 HTTP/1.1\r\n\r\n", &fn, &said);
	tls_client_init(&cl, &X.anchors, "api.example.com", 15, now, &rng);
	st = handshake(&cl, fn, p);
	send_request(&cl, fn, p, "GET /x HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n");
	ok(st == TLS_OPEN && PX.st.active == 0 && records == r0 + 1 &&
	   starts(last_reason, "host_mismatch: Host api.example.com:443 is not api.example.com:8443"),
	   "  a Host with another port than the CONNECT's: host_mismatch");
	close(fn);

	/* plain HTTP by name to an originate rule's port: said in HTTP */
	char reply[1024];
	r0 = records;
	p = port_pair(&fn, &l);
	egress_proxy_accept(&PX, &FN, SBX_L_PORT, p);
	static const char plain[] = "GET / HTTP/1.1\r\nHost: api.example.com:8443\r\n\r\n";
	(void)send(fn, plain, sizeof plain - 1, 0);
	struct pollfd pf = { .fd = p, .events = POLLIN };
	poll(&pf, 1, 1000);
	egress_proxy_io(&PX, p, EPOLLIN);   /* as epoll says it */
	pf.fd = fn;
	poll(&pf, 1, 1000);
	n = recv(fn, reply, sizeof reply - 1, 0);
	reply[n > 0 ? n : 0] = '\0';
	ok(PX.st.active == 0 && records == r0 + 1 && starts(last_reason, "plain_http: ") &&
	   starts(reply, "HTTP/1.1 403 Forbidden\r\n") && strstr(reply, "{\"error\":\"plain_http\"") != NULL,
	   "plain HTTP by name to an originate rule's port: 403 plain_http, in plaintext");
	close(fn);
	close(l);

	/* plain HTTP to the proxy: an http:// request, no TLS on the
	 * function's side (netd makes the TLS to the host) */
	r0 = records;
	proxy_send("GET http://api.example.com:8443/x HTTP/1.1\r\nHost: api.example.com:8443\r\n\r\n",
		   &fn);
	ok(PX.st.active == 1 && PX.c[0].st == EGP_RESOLVING && PX.c[0].plain && records == r0 &&
	   PX.c[0].rw_len > 0 && strncmp(PX.c[0].rw, "GET /x HTTP/1.1\r\n", 17) == 0,
	   "GET http://api.example.com:8443/x: checked, rewritten to origin-form, resolution next");
	egress_proxy_tick(&PX, mono_ms() + EGP_SETUP_MS);
	drain(fn, reply, sizeof reply);
	ok(PX.st.active == 0 && starts(reply, "HTTP/1.1 502 Bad Gateway\r\n") &&
	   strstr(reply, "{\"error\":\"timeout\"") != NULL, "  its refusal: 502 and a JSON line, "
	   "in plaintext");
	close(fn);
	r0 = records;
	proxy_send("GET http://api.example.com:8443/x HTTP/1.1\r\nHost: shop.example.com\r\n\r\n", &fn);
	drain(fn, reply, sizeof reply);
	ok(PX.st.active == 0 && records == r0 + 1 && starts(reply, "HTTP/1.1 403 Forbidden\r\n") &&
	   strstr(reply, "{\"error\":\"host_mismatch\"") != NULL &&
	   starts(last_reason, "host_mismatch: Host shop.example.com is not api.example.com:8443"),
	   "GET http://api.example.com:8443/x with Host shop.example.com: 403 host_mismatch");
	close(fn);
	PX.h.tls = NULL;
}

/* What the proxy's uncork relies on (net/egress_proxy.c): on a TCP
 * socket with TCP_NODELAY, bytes sent with MSG_MORE wait in the kernel
 * (until its probe timer, 200 ms, or a send without the flag), and
 * setting TCP_NODELAY again pushes them out at once. */
static void test_uncork_kernel(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	int one = 1;
	char buf[64];
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s = -1;

	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) != 0 ||
	    connect(c, (struct sockaddr *)&a, sizeof a) != 0 || (s = accept(l, NULL, NULL)) < 0) {
		ok(0, "a loopback TCP pair: %s", strerror(errno));
		goto out;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	ok(send(s, "corked", 6, MSG_MORE) == 6, "6 bytes sent with MSG_MORE");
	ssize_t n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
	if (n > 0)
		diag("they arrived at once (the kernel's 200 ms probe timer fired in between?)");
	else
		ok(n < 0 && errno == EAGAIN, "they wait in the sender's kernel");
	ok(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0, "TCP_NODELAY set again");
	if (n <= 0)
		n = recv(c, buf, sizeof buf, MSG_DONTWAIT);
	ok(n == 6 && memcmp(buf, "corked", 6) == 0, "which pushed them out at once (%zd)", n);
out:
	if (s >= 0)
		close(s);
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
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
	test_absolute();

	lwip_init();
	egress_proxy_init(&PX, &(struct egress_proxy_hooks){ .watch = hk_watch, .policy = hk_policy,
		.append = hk_append, .record = hk_record, .invocation = hk_invocation });
	snprintf(FN.id, sizeof FN.id, "fn-test");
	FN.rules = ALL;
	test_proxy_refusals();
	test_invocation();
	test_proxy_log();
	test_proxy_port();
	test_proxy_connect_originate();
	test_request_record();
	test_relay_timeouts();
	test_proxy_pool();
	test_tls_keys();
	test_proxy_tls();
	test_dns_full();   /* after test_proxy_tls: its resolver */
	test_uncork_kernel();
	return tap_done();
}
