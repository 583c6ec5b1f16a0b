/* tests/test_egress.c: what a function may reach (crypto/egress.h): name
 * canonicalisation and each refusal's reason, authorities and ports, IP
 * literals in every form a resolver takes (checked against inet_pton where
 * it has an opinion), the address classes on both sides of every boundary,
 * request path normalisation, and rule matching against a policy. */
#include "crypto/egress.h"
#include "crypto/policy.h"
#include "lib/errbuf.h"
#include "tests/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static char err[ERRBUF_LEN];

/* s[0..n) for a test's name: control and non-ASCII bytes as \xNN. */
static const char *show(const char *s, size_t n)
{
	static char buf[4 * 64 + 1];
	size_t o = 0;

	for (size_t k = 0; k < n && k < 64; k++) {
		unsigned char ch = (unsigned char)s[k];
		if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
	return buf;
}

/* --- names --------------------------------------------------------------------- */

static void name_ok(const char *in, const char *want)
{
	char out[EGRESS_NAME_MAX + 1], again[EGRESS_NAME_MAX + 1];
	enum egress_reason why = EGRESS_R_N;
	long n = egress_name_canon(in, strlen(in), 0, out, sizeof out, &why, err, sizeof err);

	ok(n == (long)strlen(want) && strcmp(out, want) == 0 && why == EGRESS_OK,
	   "name \"%.40s\" -> \"%.40s\"", in, want);
	if (n < 0)
		diag("got %ld: %s", n, err);
	/* the canonical form is a fixed point, in exact mode as well */
	n = egress_name_canon(out, strlen(out), EGRESS_NAME_EXACT, again, sizeof again, &why, err, sizeof err);
	ok(n >= 0 && strcmp(again, out) == 0, "  canonical again, exactly");
}

static void name_bad(const char *in, size_t n, unsigned flags, enum egress_reason want)
{
	char out[EGRESS_NAME_MAX + 1];
	enum egress_reason why = EGRESS_OK;
	long r;

	err[0] = '\0';
	r = egress_name_canon(in, n, flags, out, sizeof out, &why, err, sizeof err);
	ok(r == -EINVAL && why == want && err[0] != '\0', "name \"%s\" refused: %s", show(in, n),
	   egress_reason_code(want));
	if (r != -EINVAL || why != want)
		diag("got %ld, %s (%s)", r, egress_reason_code(why), err);
}

static void test_names(void)
{
	char big[300];

	name_ok("example.com", "example.com");
	name_ok("Example.COM", "example.com");
	name_ok("API.example.com.", "api.example.com");
	name_ok("xn--bcher-kva.example", "xn--bcher-kva.example");
	name_ok("XN--BCHER-KVA.Example", "xn--bcher-kva.example");
	name_ok("localhost", "localhost");
	name_ok("a", "a");
	name_ok("1e2", "1e2");
	name_ok("123.example.com", "123.example.com");
	name_ok("a-b.c-d.e", "a-b.c-d.e");
	name_ok("0x7f.example", "0x7f.example");
	name_ok("example.0xg", "example.0xg");
	name_ok("a1.b2", "a1.b2");

	name_bad("", 0, 0, EGRESS_R_EMPTY);
	name_bad(".", 1, 0, EGRESS_R_EMPTY);
	name_bad("a b.example", 11, 0, EGRESS_R_CONTROL);
	name_bad("a\tb.example", 11, 0, EGRESS_R_CONTROL);
	name_bad("example.com\r\n", 13, 0, EGRESS_R_CONTROL);
	name_bad("exa\0mple.com", 12, 0, EGRESS_R_CONTROL);
	name_bad("example.com\x7f", 12, 0, EGRESS_R_CONTROL);
	name_bad("user@example.com", 16, 0, EGRESS_R_USERINFO);
	name_bad("a..b@example.com", 16, 0, EGRESS_R_USERINFO);
	name_bad("ex%61mple.com", 13, 0, EGRESS_R_PERCENT);
	name_bad("example.com%00", 14, 0, EGRESS_R_PERCENT);
	name_bad("b\xc3\xbc" "cher.example", 13, 0, EGRESS_R_NON_ASCII);
	name_bad("a_b.example", 11, 0, EGRESS_R_UNDERSCORE);
	name_bad("_dmarc.example", 14, 0, EGRESS_R_UNDERSCORE);
	name_bad("example.com:443", 15, 0, EGRESS_R_BAD_CHAR);
	name_bad("*.example.com", 13, 0, EGRESS_R_BAD_CHAR);
	name_bad("a/b", 3, 0, EGRESS_R_BAD_CHAR);
	name_bad("[::1]x", 6, 0, EGRESS_R_BAD_CHAR);
	name_bad("a..b", 4, 0, EGRESS_R_EMPTY_LABEL);
	name_bad(".a", 2, 0, EGRESS_R_EMPTY_LABEL);
	name_bad("a..", 3, 0, EGRESS_R_EMPTY_LABEL);
	name_bad("..", 2, 0, EGRESS_R_EMPTY_LABEL);
	name_bad("-a.example", 10, 0, EGRESS_R_HYPHEN_START);
	name_bad("a-.example", 10, 0, EGRESS_R_HYPHEN_END);
	name_bad("a.example-", 10, 0, EGRESS_R_HYPHEN_END);
	name_bad("Example.com", 11, EGRESS_NAME_EXACT, EGRESS_R_UPPERCASE);
	name_bad("example.com.", 12, EGRESS_NAME_EXACT, EGRESS_R_TRAILING_DOT);
	name_bad("example.123", 11, 0, EGRESS_R_NUMERIC);
	name_bad("example.0x1f", 12, 0, EGRESS_R_NUMERIC);
	name_bad("example.0X1F.", 13, 0, EGRESS_R_NUMERIC);
	name_bad("999.1.1.1", 9, 0, EGRESS_R_NUMERIC);
	name_bad("1.2.3.4.5", 9, 0, EGRESS_R_NUMERIC);
	name_bad("08.0.0.1", 8, 0, EGRESS_R_NUMERIC);

	/* label of 63 and 64 bytes */
	memset(big, 'a', 63);
	strcpy(big + 63, ".example");
	name_ok(big, big);
	memset(big, 'a', 64);
	strcpy(big + 64, ".example");
	name_bad(big, strlen(big), 0, EGRESS_R_LABEL_LONG);
	/* 253 bytes (four labels of 62 and one of 1, with dots), 254 */
	for (int k = 0; k < 4; k++) {
		memset(big + 63 * k, 'b', 62);
		big[63 * k + 62] = '.';
	}
	strcpy(big + 252, "c");
	ok(strlen(big) == 253, "a 253-byte name is built");
	name_ok(big, big);
	strcpy(big + 252, "c.");
	{
		char want[254];
		memcpy(want, big, 253);
		want[253] = '\0';
		name_ok(big, want);          /* 254 with the trailing dot */
	}
	strcpy(big + 252, "cd");
	name_bad(big, strlen(big), 0, EGRESS_R_TOO_LONG);

	/* a short output buffer is -ENOSPC, never an overflow */
	{
		char small[4];
		ok(egress_name_canon("example.com", 11, 0, small, sizeof small, NULL, NULL, 0) == -ENOSPC,
		   "a short output buffer: -ENOSPC");
	}
}

/* --- authorities ----------------------------------------------------------------- */

static void auth_ok(const char *in, const char *host, bool bracketed, unsigned port)
{
	struct egress_authority a;
	enum egress_reason why;
	int r = egress_authority_split(in, strlen(in), &a, &why, err, sizeof err);

	ok(r == 0 && a.host_len == strlen(host) && memcmp(a.host, host, a.host_len) == 0 &&
	   a.bracketed == bracketed && a.port == port, "authority \"%s\" -> \"%s\" port %u", in, host, port);
	if (r != 0)
		diag("got %d: %s", r, err);
}

static void auth_bad(const char *in, enum egress_reason want)
{
	struct egress_authority a;
	enum egress_reason why = EGRESS_OK;
	int r = egress_authority_split(in, strlen(in), &a, &why, err, sizeof err);

	ok(r == -EINVAL && why == want, "authority \"%s\" refused: %s", in, egress_reason_code(want));
	if (r != -EINVAL || why != want)
		diag("got %d, %s", r, egress_reason_code(why));
}

static void test_authorities(void)
{
	auth_ok("example.com", "example.com", false, 0);
	auth_ok("example.com:443", "example.com", false, 443);
	auth_ok("example.com:1", "example.com", false, 1);
	auth_ok("example.com:65535", "example.com", false, 65535);
	auth_ok("[::1]", "::1", true, 0);
	auth_ok("[::1]:8443", "::1", true, 8443);
	auth_ok("[fe80::1%25eth0]:443", "fe80::1%25eth0", true, 443);
	auth_ok("127.0.0.1:80", "127.0.0.1", false, 80);
	auth_ok(":443", "", false, 443);

	auth_bad("example.com:0", EGRESS_R_BAD_PORT);
	auth_bad("example.com:65536", EGRESS_R_BAD_PORT);
	auth_bad("example.com:99999", EGRESS_R_BAD_PORT);
	auth_bad("example.com:123456", EGRESS_R_BAD_PORT);
	auth_bad("example.com:+443", EGRESS_R_BAD_PORT);
	auth_bad("example.com:-1", EGRESS_R_BAD_PORT);
	auth_bad("example.com:0443", EGRESS_R_BAD_PORT);
	auth_bad("example.com:44a", EGRESS_R_BAD_PORT);
	auth_bad("example.com:", EGRESS_R_BAD_PORT);
	auth_bad("example.com: 443", EGRESS_R_BAD_PORT);
	auth_bad("[::1]:", EGRESS_R_BAD_PORT);
	auth_bad("user@example.com", EGRESS_R_USERINFO);
	auth_bad("user:pw@example.com:443", EGRESS_R_USERINFO);
	auth_bad("example.com:443@evil.com", EGRESS_R_USERINFO);
	auth_bad("[::1", EGRESS_R_BAD_LITERAL);
	auth_bad("[::1]x", EGRESS_R_BAD_LITERAL);
	auth_bad("[::1]]:443", EGRESS_R_BAD_LITERAL);
	auth_bad("::1", EGRESS_R_NEEDS_BRACKETS);
	auth_bad("::1:443", EGRESS_R_NEEDS_BRACKETS);
	auth_bad("a:1:2", EGRESS_R_NEEDS_BRACKETS);
}

/* --- IP literals ------------------------------------------------------------------- */

static void lit4(const char *in, uint32_t want)
{
	struct egress_addr a;
	bool is = egress_ip_literal(in, strlen(in), &a);

	ok(is && a.family == 4 && a.v4 == want, "literal \"%s\" = %u.%u.%u.%u", in,
	   want >> 24, want >> 16 & 255, want >> 8 & 255, want & 255);
	if (!is || a.v4 != want)
		diag("got %d family %u %08x", is, a.family, a.v4);
}

/* An IPv6 literal; inet_pton says which address it is. */
static void lit6(const char *in, const char *pton)
{
	struct egress_addr a;
	uint8_t want[16];
	bool is = egress_ip_literal(in, strlen(in), &a);

	if (inet_pton(AF_INET6, pton, want) != 1) {
		ok(0, "test bug: inet_pton(%s)", pton);
		return;
	}
	ok(is && a.family == 6 && memcmp(a.v6, want, 16) == 0, "literal \"%s\" = %s", in, pton);
}

static void not_lit(const char *in, size_t n)
{
	struct egress_addr a;
	ok(!egress_ip_literal(in, n, &a), "not a literal: \"%s\"", show(in, n));
}

static void test_literals(void)
{
	const uint32_t LO = 0x7f000001u;

	/* every spelling of 127.0.0.1 */
	lit4("127.0.0.1", LO);
	lit4("127.0.0.1.", LO);
	lit4("2130706433", LO);
	lit4("2130706433.", LO);
	lit4("017700000001", LO);
	lit4("0x7f000001", LO);
	lit4("0X7F000001", LO);
	lit4("0177.0.0.1", LO);
	lit4("0177.0.0.01", LO);
	lit4("0x7f.0.0.1", LO);
	lit4("0x7f.1", LO);
	lit4("0x7F.0x0.0x0.0x1", LO);
	lit4("127.1", LO);
	lit4("127.0.1", LO);
	lit4("0177.1", LO);
	lit4("0x7f.0.1", LO);
	lit4("127.0x0.01", LO);
	lit4("0x7f.00.0x00.1", LO);
	lit4("0000000177.0.0.1", LO);
	lit4("0x000000007f.1", LO);
	/* others */
	lit4("0", 0);
	lit4("0x", 0);
	lit4("0.0.0.0", 0);
	lit4("00", 0);
	lit4("1", 1);
	lit4("1.2.3.4", 0x01020304u);
	lit4("169.254.169.254", 0xa9fea9feu);
	lit4("0xa9fea9fe", 0xa9fea9feu);
	lit4("2852039166", 0xa9fea9feu);
	lit4("255.255.255.255", 0xffffffffu);
	lit4("4294967295", 0xffffffffu);
	lit4("0xffffffff", 0xffffffffu);
	lit4("037777777777", 0xffffffffu);
	lit4("1.16777215", 0x01ffffffu);
	lit4("1.2.65535", 0x0102ffffu);
	lit4("10.0x0.0x.0", 0x0a000000u);
	/* out of range, bad digits, bad shapes */
	not_lit("4294967296", 10);
	not_lit("0x100000000", 11);
	not_lit("99999999999999999999999", 23);
	not_lit("18446744075839258113", 20);    /* 2^64 + 127.0.0.1: no wrap-around */
	not_lit("0x1000000007f000001", 19);
	not_lit("256.0.0.1", 9);
	not_lit("1.2.3.256", 9);
	not_lit("1.16777216", 10);
	not_lit("1.2.65536", 9);
	not_lit("1.256.3", 7);
	not_lit("08.0.0.1", 8);
	not_lit("0179.0.0.1", 10);
	not_lit("0x1g.0.0.1", 10);
	not_lit("1..2", 4);
	not_lit(".1.2.3", 6);
	not_lit("1.2.3.4.5", 9);
	not_lit("127.0.0.1..", 11);
	not_lit("", 0);
	not_lit(".", 1);
	not_lit("1e2", 3);
	not_lit("+1", 2);
	not_lit("-1", 2);
	not_lit("1.2.3.4 ", 8);
	not_lit("1.2.3.4\0", 8);
	not_lit("example.com", 11);

	/* IPv6: RFC 4291 text forms */
	lit6("::1", "::1");
	lit6("[::1]", "::1");
	lit6("::", "::");
	lit6("[::]", "::");
	lit6("0:0:0:0:0:0:0:1", "::1");
	lit6("0000:0000:0000:0000:0000:0000:0000:0001", "::1");
	lit6("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
	lit6("1::", "1::");
	lit6("1::8", "1::8");
	lit6("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0");
	lit6("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8");
	lit6("1:2::7:8", "1:2::7:8");
	lit6("2001:DB8::A", "2001:db8::a");
	lit6("FE80::1", "fe80::1");
	lit6("::ffff:127.0.0.1", "::ffff:127.0.0.1");
	lit6("::FFFF:127.0.0.1", "::ffff:127.0.0.1");
	lit6("::ffff:7f00:1", "::ffff:127.0.0.1");
	lit6("[::ffff:7f00:1]", "::ffff:127.0.0.1");
	lit6("0:0:0:0:0:ffff:127.0.0.1", "::ffff:127.0.0.1");
	lit6("::127.0.0.1", "::127.0.0.1");
	lit6("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:1.2.3.4");
	lit6("64:ff9b::169.254.169.254", "64:ff9b::a9fe:a9fe");
	not_lit("1:2:3:4:5:6:7:8:9", 17);
	not_lit("1:2:3:4:5:6:7", 13);
	not_lit("1:2:3:4:5:6:7:8::", 17);
	not_lit("::1:2:3:4:5:6:7:8", 17);
	not_lit("1::2::3", 7);
	not_lit(":1::", 4);
	not_lit("1:::2", 5);
	not_lit(":::", 3);
	not_lit("1:", 2);
	not_lit(":", 1);
	not_lit("12345::", 7);
	not_lit("g::1", 4);
	not_lit("::ffff:127.0.0.01", 17);
	not_lit("::ffff:127.1", 12);
	not_lit("::ffff:0x7f.0.0.1", 17);
	not_lit("::ffff:1.2.3.4:5", 16);
	not_lit("::1.2.3.4.5", 11);
	not_lit("1:2:3:4:5:6:7:1.2.3.4", 21);
	not_lit("fe80::1%eth0", 12);
	not_lit("[fe80::1%25eth0]", 16);
	not_lit("[::1", 4);
	not_lit("[1.2.3.4]", 9);
	not_lit("[]", 2);

	/* mapped addresses give their IPv4 address */
	{
		struct egress_addr a;
		uint32_t v4 = 0;
		ok(egress_ip_literal("::ffff:10.1.2.3", 15, &a) && egress_addr_v4_mapped(&a, &v4) &&
		   v4 == 0x0a010203u, "::ffff:10.1.2.3 maps to 10.1.2.3");
		ok(egress_ip_literal("::10.1.2.3", 10, &a) && !egress_addr_v4_mapped(&a, &v4),
		   "::10.1.2.3 (compatible) is not mapped");
		ok(egress_ip_literal("10.1.2.3", 8, &a) && !egress_addr_v4_mapped(&a, &v4),
		   "an IPv4 address is not a mapped IPv6 one");
	}
}

/* --- hosts --------------------------------------------------------------------------- */

static void host_is(const char *in, bool bracketed, bool literal, const char *name)
{
	struct egress_host h;
	enum egress_reason why;
	int r = egress_host_parse(in, strlen(in), bracketed, &h, &why, err, sizeof err);

	ok(r == 0 && h.literal == literal && strcmp(h.name, name) == 0 && h.name_len == strlen(name),
	   "host \"%s\" -> %s \"%s\"", in, literal ? "literal" : "name", name);
	if (r != 0 || strcmp(h.name, name) != 0)
		diag("got %d literal %d \"%s\" (%s)", r, h.literal, h.name, err);
}

static void host_bad(const char *in, bool bracketed, enum egress_reason want)
{
	struct egress_host h;
	enum egress_reason why = EGRESS_OK;
	int r = egress_host_parse(in, strlen(in), bracketed, &h, &why, err, sizeof err);

	ok(r == -EINVAL && why == want, "host \"%s\" refused: %s", in, egress_reason_code(want));
	if (r != -EINVAL || why != want)
		diag("got %d, %s", r, egress_reason_code(why));
}

static void test_hosts(void)
{
	host_is("Api.Example.com.", false, false, "api.example.com");
	host_is("0x7f.1", false, true, "127.0.0.1");
	host_is("2130706433", false, true, "127.0.0.1");
	host_is("::1", true, true, "::1");
	host_is("[::1]", false, true, "::1");
	host_is("::FFFF:7f00:1", true, true, "::ffff:127.0.0.1");
	host_is("::ffff:7f00:1", false, true, "::ffff:127.0.0.1");
	host_is("2001:DB8:0:0:0:0:0:1", true, true, "2001:db8::1");
	host_bad("fe80::1%25eth0", true, EGRESS_R_ZONE_ID);
	host_bad("fe80::1%eth0", false, EGRESS_R_ZONE_ID);
	host_bad("example.com", true, EGRESS_R_BAD_LITERAL);
	host_bad("1.2.3.4", true, EGRESS_R_BAD_LITERAL);
	host_bad("", true, EGRESS_R_BAD_LITERAL);
	host_bad("1:2", false, EGRESS_R_BAD_CHAR);
	host_bad("", false, EGRESS_R_EMPTY);
	host_bad("1.2.3.999", false, EGRESS_R_NUMERIC);
	host_bad("a@b.example", false, EGRESS_R_USERINFO);

	/* address text round trip */
	{
		struct egress_addr a, b;
		char text[EGRESS_ADDR_TEXT];
		static const char *const forms[] = { "0x7f.1", "::ffff:7f00:1", "1:0:0:2::", "169.254.169.254" };
		for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
			egress_ip_literal(forms[k], strlen(forms[k]), &a);
			egress_addr_format(&a, text);
			ok(egress_ip_literal(text, strlen(text), &b) && memcmp(&a, &b, sizeof a) == 0,
			   "%s formats as %s and parses back", forms[k], text);
		}
	}
}

/* --- address classes ------------------------------------------------------------------ */

static void cls(const char *addr, enum egress_class want)
{
	struct egress_addr a;
	bool is = egress_ip_literal(addr, strlen(addr), &a);
	enum egress_class got = is ? egress_addr_class(&a) : EGRESS_C_N;

	ok(got == want, "%s is %s", addr, egress_class_name(want));
	if (got != want)
		diag("got %s", egress_class_name(got));
}

static void test_classes(void)
{
	static const struct { const char *a; enum egress_class c; } t[] = {
		{ "0.0.0.0", EGRESS_C_THIS_NET }, { "0.255.255.255", EGRESS_C_THIS_NET },
		{ "1.0.0.0", EGRESS_C_PUBLIC }, { "8.8.8.8", EGRESS_C_PUBLIC },
		{ "9.255.255.255", EGRESS_C_PUBLIC }, { "10.0.0.0", EGRESS_C_PRIVATE },
		{ "10.255.255.255", EGRESS_C_PRIVATE }, { "11.0.0.0", EGRESS_C_PUBLIC },
		{ "100.63.255.255", EGRESS_C_PUBLIC }, { "100.64.0.0", EGRESS_C_CGNAT },
		{ "100.127.255.255", EGRESS_C_CGNAT }, { "100.128.0.0", EGRESS_C_PUBLIC },
		{ "126.255.255.255", EGRESS_C_PUBLIC }, { "127.0.0.0", EGRESS_C_LOOPBACK },
		{ "127.255.255.255", EGRESS_C_LOOPBACK }, { "128.0.0.0", EGRESS_C_PUBLIC },
		{ "169.253.255.255", EGRESS_C_PUBLIC }, { "169.254.0.0", EGRESS_C_LINK_LOCAL },
		{ "169.254.169.253", EGRESS_C_LINK_LOCAL }, { "169.254.169.254", EGRESS_C_METADATA },
		{ "169.254.169.255", EGRESS_C_LINK_LOCAL }, { "169.254.255.255", EGRESS_C_LINK_LOCAL },
		{ "169.255.0.0", EGRESS_C_PUBLIC },
		{ "172.15.255.255", EGRESS_C_PUBLIC }, { "172.16.0.0", EGRESS_C_PRIVATE },
		{ "172.31.255.255", EGRESS_C_PRIVATE }, { "172.32.0.0", EGRESS_C_PUBLIC },
		{ "191.255.255.255", EGRESS_C_PUBLIC }, { "192.0.0.0", EGRESS_C_IETF },
		{ "192.0.0.255", EGRESS_C_IETF }, { "192.0.1.0", EGRESS_C_PUBLIC },
		{ "192.0.1.255", EGRESS_C_PUBLIC }, { "192.0.2.0", EGRESS_C_DOCUMENTATION },
		{ "192.0.2.255", EGRESS_C_DOCUMENTATION }, { "192.0.3.0", EGRESS_C_PUBLIC },
		{ "192.88.98.255", EGRESS_C_PUBLIC }, { "192.88.99.0", EGRESS_C_RELAY },
		{ "192.88.99.255", EGRESS_C_RELAY }, { "192.88.100.0", EGRESS_C_PUBLIC },
		{ "192.167.255.255", EGRESS_C_PUBLIC }, { "192.168.0.0", EGRESS_C_PRIVATE },
		{ "192.168.255.255", EGRESS_C_PRIVATE }, { "192.169.0.0", EGRESS_C_PUBLIC },
		{ "198.17.255.255", EGRESS_C_PUBLIC }, { "198.18.0.0", EGRESS_C_BENCHMARK },
		{ "198.19.255.255", EGRESS_C_BENCHMARK }, { "198.20.0.0", EGRESS_C_PUBLIC },
		{ "198.51.99.255", EGRESS_C_PUBLIC }, { "198.51.100.0", EGRESS_C_DOCUMENTATION },
		{ "198.51.100.255", EGRESS_C_DOCUMENTATION }, { "198.51.101.0", EGRESS_C_PUBLIC },
		{ "203.0.112.255", EGRESS_C_PUBLIC }, { "203.0.113.0", EGRESS_C_DOCUMENTATION },
		{ "203.0.113.255", EGRESS_C_DOCUMENTATION }, { "203.0.114.0", EGRESS_C_PUBLIC },
		{ "223.255.255.255", EGRESS_C_PUBLIC }, { "224.0.0.0", EGRESS_C_MULTICAST },
		{ "239.255.255.255", EGRESS_C_MULTICAST }, { "240.0.0.0", EGRESS_C_RESERVED },
		{ "255.255.255.254", EGRESS_C_RESERVED }, { "255.255.255.255", EGRESS_C_BROADCAST },
		/* odd spellings are classified by their address */
		{ "0x7f.1", EGRESS_C_LOOPBACK }, { "0xa9fea9fe", EGRESS_C_METADATA },
		{ "012.1", EGRESS_C_PRIVATE },
		/* IPv6 */
		{ "::", EGRESS_C_THIS_NET }, { "::1", EGRESS_C_LOOPBACK },
		{ "::2", EGRESS_C_V4_COMPAT }, { "::127.0.0.1", EGRESS_C_V4_COMPAT },
		{ "::ffff:10.0.0.1", EGRESS_C_PRIVATE }, { "::ffff:7f00:1", EGRESS_C_LOOPBACK },
		{ "::ffff:169.254.169.254", EGRESS_C_METADATA }, { "::ffff:8.8.8.8", EGRESS_C_PUBLIC },
		{ "::1:ffff:8.8.8.8", EGRESS_C_RESERVED },
		{ "64:ff9b::8.8.8.8", EGRESS_C_NAT64 }, { "64:ff9b:1::1", EGRESS_C_NAT64 },
		{ "64:ff9b:2::1", EGRESS_C_RESERVED },
		{ "100::1", EGRESS_C_DISCARD }, { "100::ffff:ffff:ffff:ffff", EGRESS_C_DISCARD },
		{ "100:0:0:1::", EGRESS_C_RESERVED },
		{ "1fff:ffff::", EGRESS_C_RESERVED }, { "2000::", EGRESS_C_PUBLIC },
		{ "2001::1", EGRESS_C_IETF }, { "2001:1ff:ffff::", EGRESS_C_IETF },
		{ "2001:200::", EGRESS_C_PUBLIC }, { "2001:db7:ffff::", EGRESS_C_PUBLIC },
		{ "2001:db8::1", EGRESS_C_DOCUMENTATION }, { "2001:db9::", EGRESS_C_PUBLIC },
		{ "2002::1", EGRESS_C_RELAY }, { "2003::", EGRESS_C_PUBLIC },
		{ "3ffe:ffff::", EGRESS_C_PUBLIC }, { "3fff::1", EGRESS_C_DOCUMENTATION },
		{ "3fff:fff::", EGRESS_C_DOCUMENTATION }, { "3fff:1000::", EGRESS_C_PUBLIC },
		{ "2606:4700::1111", EGRESS_C_PUBLIC }, { "4000::", EGRESS_C_RESERVED },
		{ "fbff:ffff::", EGRESS_C_RESERVED }, { "fc00::", EGRESS_C_ULA },
		{ "fd00:ec2::254", EGRESS_C_ULA }, { "fdff:ffff::", EGRESS_C_ULA },
		{ "fe00::", EGRESS_C_RESERVED }, { "fe7f:ffff::", EGRESS_C_RESERVED },
		{ "fe80::", EGRESS_C_LINK_LOCAL }, { "febf:ffff::", EGRESS_C_LINK_LOCAL },
		{ "fec0::", EGRESS_C_SITE_LOCAL }, { "feff:ffff::", EGRESS_C_SITE_LOCAL },
		{ "ff00::", EGRESS_C_MULTICAST }, { "ff02::1", EGRESS_C_MULTICAST },
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
		cls(t[k].a, t[k].c);
	for (int c = 0; c < EGRESS_C_N; c++)
		ok(strcmp(egress_class_name((enum egress_class)c), "?") != 0 &&
		   egress_class_name((enum egress_class)c) != NULL, "class %d has a name", c);
}

/* --- paths ----------------------------------------------------------------------------- */

static void path_ok(const char *in, const char *want, size_t want_plen)
{
	char out[256];
	size_t plen = 0;
	enum egress_reason why;
	long n = egress_path_norm(in, strlen(in), out, sizeof out, &plen, &why, err, sizeof err);

	ok(n == (long)strlen(want) && strcmp(out, want) == 0 && plen == want_plen,
	   "path \"%s\" -> \"%s\" (path part %zu)", in, want, want_plen);
	if (n < 0 || strcmp(out, want) != 0 || plen != want_plen)
		diag("got %ld \"%s\" %zu (%s)", n, n >= 0 ? out : "", plen, err);
	/* and a fixed point */
	n = egress_path_norm(out, strlen(out), out, sizeof out, NULL, &why, err, sizeof err);
	ok(n == (long)strlen(want) && strcmp(out, want) == 0, "  normal again");
}

static void path_bad(const char *in, size_t n, enum egress_reason want)
{
	enum egress_reason why = EGRESS_OK;
	long r = egress_path_norm(in, n, NULL, 0, NULL, &why, err, sizeof err);

	ok(r == -EINVAL && why == want, "path \"%s\" refused: %s", show(in, n), egress_reason_code(want));
	if (r != -EINVAL || why != want)
		diag("got %ld, %s", r, egress_reason_code(why));
}

static void test_paths(void)
{
	path_ok("/", "/", 1);
	path_ok("/v1", "/v1", 3);
	path_ok("/v1/", "/v1/", 4);
	path_ok("/v1/items?x=1&y=2", "/v1/items?x=1&y=2", 9);
	path_ok("/?", "/?", 1);
	path_ok("/v1/?q", "/v1/?q", 4);
	path_ok("/v1/%7euser", "/v1/~user", 9);
	path_ok("/%76%31/x", "/v1/x", 5);
	path_ok("/a%c3%bc", "/a%C3%BC", 8);
	path_ok("/a%20b", "/a%20b", 6);
	path_ok("/a%3bb", "/a%3Bb", 6);
	path_ok("/...", "/...", 4);
	path_ok("/.a/a./a.b", "/.a/a./a.b", 10);
	path_ok("/a;b=c/d", "/a;b=c/d", 8);
	path_ok("/a:b@c!$&'()*+,=-._~", "/a:b@c!$&'()*+,=-._~", 20);
	path_ok("/a?b/../c", "/a?b/../c", 2);
	path_ok("/a?x=%zz\\|[]", "/a?x=%zz\\|[]", 2);
	path_ok("/a?%2e%2e", "/a?%2e%2e", 2);

	path_bad("", 0, EGRESS_R_PATH_FORM);
	path_bad("v1", 2, EGRESS_R_PATH_FORM);
	path_bad("*", 1, EGRESS_R_PATH_FORM);
	path_bad("http://a/", 9, EGRESS_R_PATH_FORM);
	path_bad("/a\"b", 4, EGRESS_R_PATH_FORM);
	path_bad("/a<b>", 5, EGRESS_R_PATH_FORM);
	path_bad("/a[0]", 5, EGRESS_R_PATH_FORM);
	path_bad("/..", 3, EGRESS_R_DOT_SEGMENT);
	path_bad("/.", 2, EGRESS_R_DOT_SEGMENT);
	path_bad("/../etc/passwd", 14, EGRESS_R_DOT_SEGMENT);
	path_bad("/v1/../admin", 12, EGRESS_R_DOT_SEGMENT);
	path_bad("/v1/./x", 7, EGRESS_R_DOT_SEGMENT);
	path_bad("/v1/..", 6, EGRESS_R_DOT_SEGMENT);
	path_bad("/v1/..?x", 8, EGRESS_R_DOT_SEGMENT);
	path_bad("/v1/..;/admin", 13, EGRESS_R_DOT_SEGMENT);
	path_bad("/v1/.;x/a", 9, EGRESS_R_DOT_SEGMENT);
	path_bad("//a", 3, EGRESS_R_EMPTY_SEGMENT);
	path_bad("/a//b", 5, EGRESS_R_EMPTY_SEGMENT);
	path_bad("/a//", 4, EGRESS_R_EMPTY_SEGMENT);
	path_bad("/;x/b", 5, EGRESS_R_EMPTY_SEGMENT);
	path_bad("/a/;x", 5, EGRESS_R_EMPTY_SEGMENT);
	path_bad("/a/;x?q", 7, EGRESS_R_EMPTY_SEGMENT);
	path_bad("/a\\b", 4, EGRESS_R_BACKSLASH);
	path_bad("/v1\\..\\admin", 12, EGRESS_R_BACKSLASH);
	path_bad("/a#b", 4, EGRESS_R_FRAGMENT);
	path_bad("/a?b#c", 6, EGRESS_R_FRAGMENT);
	path_bad("/a b", 4, EGRESS_R_CONTROL);
	path_bad("/a?b c", 6, EGRESS_R_CONTROL);
	path_bad("/a\tb", 4, EGRESS_R_CONTROL);
	path_bad("/a\0b", 4, EGRESS_R_CONTROL);
	path_bad("/a\x80", 3, EGRESS_R_NON_ASCII);
	path_bad("/%2e%2e/admin", 13, EGRESS_R_ENCODED);
	path_bad("/%2E", 4, EGRESS_R_ENCODED);
	path_bad("/.%2e/x", 7, EGRESS_R_ENCODED);
	path_bad("/v1%2f..%2fadmin", 16, EGRESS_R_ENCODED);
	path_bad("/a%2Fb", 6, EGRESS_R_ENCODED);
	path_bad("/a%5cb", 6, EGRESS_R_ENCODED);
	path_bad("/a%00", 5, EGRESS_R_ENCODED);
	path_bad("/a%0a", 5, EGRESS_R_ENCODED);
	path_bad("/a%7F", 5, EGRESS_R_ENCODED);
	path_bad("/a%zz", 5, EGRESS_R_ENCODED);
	path_bad("/a%4", 4, EGRESS_R_ENCODED);
	path_bad("/a%", 3, EGRESS_R_ENCODED);
	path_bad("/a%u002e", 8, EGRESS_R_ENCODED);

	{
		char small[4];
		ok(egress_path_norm("/v1/x", 5, small, sizeof small, NULL, NULL, NULL, 0) == -ENOSPC,
		   "a short output buffer: -ENOSPC");
	}

	static const struct { const char *prefix, *path; bool covers; } c[] = {
		{ "/v1", "/v1", true }, { "/v1", "/v1/x", true }, { "/v1", "/v1/", true },
		{ "/v1", "/v1x", false }, { "/v1", "/v10", false }, { "/v1", "/v", false },
		{ "/v1", "/V1", false }, { "/v1", "/", false },
		{ "/v1/", "/v1", false }, { "/v1/", "/v1/", true }, { "/v1/", "/v1/x/y", true },
		{ "/", "/", true }, { "/", "/anything/at/all", true },
	};
	for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
		ok(egress_path_covers(c[k].prefix, c[k].path, strlen(c[k].path)) == c[k].covers,
		   "prefix %s %s %s", c[k].prefix, c[k].covers ? "covers" : "does not cover", c[k].path);
	ok(!egress_path_covers("/v1", "/v1/x", 2), "the length bounds the path");
}

/* --- rule matching ------------------------------------------------------------------------ */

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\",\"egress\":["
	/* 0 */ "{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"p\","
	"\"methods\":[\"GET\",\"POST\"],\"path_prefixes\":[\"/v1\"]},"
	/* 1 */ "{\"host\":\"api.example.com\",\"ports\":[8443],\"tls\":\"passthrough\",\"purpose\":\"p\"},"
	/* 2 */ "{\"host\":\"*.example.com\",\"ports\":[443],\"purpose\":\"p\"},"
	/* 3 */ "{\"host\":\"*.b.example.com\",\"ports\":[443],\"tls\":\"passthrough\",\"purpose\":\"p\"},"
	/* 4 */ "{\"host\":\"db.internal.example\",\"ports\":[5432],\"tls\":\"passthrough\",\"purpose\":\"p\","
	"\"addresses\":[\"10.20.0.0/16\"]},"
	/* 5 */ "{\"host\":\"other.example.org\",\"ports\":[80,443],\"purpose\":\"p\",\"methods\":[\"GET\"],"
	"\"path_prefixes\":[\"/public/\",\"/status\"]},"
	/* 6 */ "{\"host\":\"ssh.internal.example\",\"ports\":[22],\"tls\":\"passthrough\",\"purpose\":\"p\","
	"\"addresses\":[\"10.20.5.0/24\"]},"
	/* 7 */ "{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"p\","
	"\"methods\":[\"DELETE\"],\"path_prefixes\":[\"/v1/items\"]}"
	"]}";

static struct policy pol;
static struct policy_tokens toks;

static void match(uint32_t declared, const char *name, unsigned port, const char *method,
		  const char *path, int want_rule, enum egress_reason want)
{
	enum egress_reason why = EGRESS_R_N;
	int r;

	err[0] = '\0';
	r = egress_match(&pol, declared, name, (uint16_t)port, method, path, &why, err, sizeof err);
	if (want_rule >= 0) {
		ok(r == want_rule && why == EGRESS_OK, "%s:%u %s %s -> rule %d", name, port,
		   method ? method : "(connect)", path ? path : "", want_rule);
	} else {
		ok(r == -EACCES && why == want && err[0], "%s:%u %s %s refused: %s", name, port,
		   method ? method : "(connect)", path ? path : "", egress_reason_code(want));
	}
	if ((want_rule >= 0 && r != want_rule) || (want_rule < 0 && why != want))
		diag("got %d, %s: %s", r, egress_reason_code(why), err);
}

static void match_lit(uint32_t declared, const char *lit, unsigned port, int want_rule,
		      enum egress_reason want)
{
	struct egress_addr a;
	enum egress_reason why = EGRESS_R_N;
	int r;

	egress_ip_literal(lit, strlen(lit), &a);
	r = egress_match_literal(&pol, declared, &a, (uint16_t)port, NULL, NULL, &why, err, sizeof err);
	if (want_rule >= 0)
		ok(r == want_rule, "literal %s:%u -> rule %d", lit, port, want_rule);
	else
		ok(r == -EACCES && why == want, "literal %s:%u refused: %s", lit, port, egress_reason_code(want));
	if ((want_rule >= 0 && r != want_rule) || (want_rule < 0 && why != want))
		diag("got %d, %s: %s", r, egress_reason_code(why), err);
}

static void allowed(unsigned rule, const char *addr, bool want, const char *class_word)
{
	struct egress_addr a;
	enum egress_reason why = EGRESS_R_N;
	int r;

	egress_ip_literal(addr, strlen(addr), &a);
	err[0] = '\0';
	r = egress_addr_allowed(&pol.rules[rule], &a, &why, err, sizeof err);
	if (want)
		ok(r == 0 && why == EGRESS_OK, "rule %u may reach %s", rule, addr);
	else
		ok(r == -EACCES && why == EGRESS_R_ADDRESS && strstr(err, class_word),
		   "rule %u may not reach %s (%s)", rule, addr, class_word);
	if ((r == 0) != want || (!want && !strstr(err, class_word)))
		diag("got %d: %s", r, err);
}

static void test_matching(void)
{
	const uint32_t ALL = 0xff;
	int r = policy_parse(POLICY, strlen(POLICY), &toks, &pol, err, sizeof err);

	ok(r == 0 && pol.nrules == 8, "the test policy parses");
	if (r != 0) {
		diag("%s", err);
		return;
	}
	/* connections */
	match(ALL, "api.example.com", 443, NULL, NULL, 0, EGRESS_OK);
	match(ALL, "api.example.com", 8443, NULL, NULL, 1, EGRESS_OK);
	match(ALL, "api.example.com", 80, NULL, NULL, -1, EGRESS_R_PORT);
	match(ALL, "x.example.com", 443, NULL, NULL, 2, EGRESS_OK);
	match(ALL, "x.y.example.com", 443, NULL, NULL, 2, EGRESS_OK);
	match(ALL, "x.example.com", 8443, NULL, NULL, -1, EGRESS_R_PORT);
	match(ALL, "b.example.com", 443, NULL, NULL, 2, EGRESS_OK);
	match(ALL, "a.b.example.com", 443, NULL, NULL, 3, EGRESS_OK);
	match(ALL, "c.a.b.example.com", 443, NULL, NULL, 3, EGRESS_OK);
	match(ALL, "example.com", 443, NULL, NULL, -1, EGRESS_R_NO_RULE);
	match(ALL, "xexample.com", 443, NULL, NULL, -1, EGRESS_R_NO_RULE);
	match(ALL, "example.com.evil", 443, NULL, NULL, -1, EGRESS_R_NO_RULE);
	match(ALL, "evil.com", 443, NULL, NULL, -1, EGRESS_R_NO_RULE);
	match(ALL, "", 443, NULL, NULL, -1, EGRESS_R_NO_RULE);
	match(ALL, "db.internal.example", 5432, NULL, NULL, 4, EGRESS_OK);
	match(ALL, "x.db.internal.example", 5432, NULL, NULL, -1, EGRESS_R_NO_RULE);
	/* declarations: the exact rule governs its host even for a function
	 * that declared only the wildcard */
	match(1u << 2, "api.example.com", 443, NULL, NULL, -1, EGRESS_R_NOT_DECLARED);
	match(1u << 2, "x.example.com", 443, NULL, NULL, 2, EGRESS_OK);
	match(ALL & ~(1u << 2), "x.example.com", 443, NULL, NULL, -1, EGRESS_R_NOT_DECLARED);
	match(0, "api.example.com", 443, NULL, NULL, -1, EGRESS_R_NOT_DECLARED);
	match(1u << 1, "api.example.com", 443, NULL, NULL, -1, EGRESS_R_PORT);
	match(1u << 1, "api.example.com", 8443, NULL, NULL, 1, EGRESS_OK);
	/* requests */
	match(ALL, "api.example.com", 443, "GET", "/v1", 0, EGRESS_OK);
	match(ALL, "api.example.com", 443, "GET", "/v1/x?y=1", 0, EGRESS_OK);
	match(ALL, "api.example.com", 443, "GET", "/v1?y=1", 0, EGRESS_OK);
	match(ALL, "api.example.com", 443, "POST", "/v1/upload", 0, EGRESS_OK);
	match(ALL, "api.example.com", 443, "DELETE", "/v1/items/3", 7, EGRESS_OK);
	match(ALL, "api.example.com", 443, "DELETE", "/v1/other", -1, EGRESS_R_PATH);
	match(ALL, "api.example.com", 443, "PUT", "/v1", -1, EGRESS_R_METHOD);
	match(ALL, "api.example.com", 443, "get", "/v1", -1, EGRESS_R_METHOD);
	match(ALL, "api.example.com", 443, "TRACE", "/v1", -1, EGRESS_R_METHOD);
	match(ALL, "api.example.com", 443, "CONNECT", "/v1", -1, EGRESS_R_METHOD);
	match(ALL, "api.example.com", 443, "GET", "/v2", -1, EGRESS_R_PATH);
	match(ALL, "api.example.com", 443, "GET", "/v1x", -1, EGRESS_R_PATH);
	match(ALL, "api.example.com", 443, "GET", "/", -1, EGRESS_R_PATH);
	match(ALL, "api.example.com", 443, "GET", "/v1/../admin", -1, EGRESS_R_DOT_SEGMENT);
	match(ALL, "api.example.com", 443, "GET", "/v1/%2e%2e/admin", -1, EGRESS_R_ENCODED);
	match(ALL, "api.example.com", 443, "GET", "/v1/%7e", -1, EGRESS_R_PATH_FORM);
	match(ALL, "api.example.com", 443, "GET", "/v1/%c3%bc", -1, EGRESS_R_PATH_FORM);
	match(ALL, "api.example.com", 443, "GET", NULL, -1, EGRESS_R_PATH_FORM);
	match(ALL, "api.example.com", 8443, "GET", "/v1", -1, EGRESS_R_PASSTHROUGH);
	match(ALL, "api.example.com", 80, "GET", "/v1", -1, EGRESS_R_PORT);
	match(ALL, "a.b.example.com", 443, "GET", "/", -1, EGRESS_R_PASSTHROUGH);
	match(ALL, "x.example.com", 443, "PATCH", "/anything/%C3%BC", 2, EGRESS_OK);
	match(ALL, "other.example.org", 80, NULL, NULL, 5, EGRESS_OK);
	match(ALL, "other.example.org", 80, "GET", "/public/a", 5, EGRESS_OK);
	match(ALL, "other.example.org", 443, "GET", "/public/", 5, EGRESS_OK);
	match(ALL, "other.example.org", 80, "GET", "/public", -1, EGRESS_R_PATH);
	match(ALL, "other.example.org", 80, "GET", "/status", 5, EGRESS_OK);
	match(ALL, "other.example.org", 80, "GET", "/status/x", 5, EGRESS_OK);
	match(ALL, "other.example.org", 80, "GET", "/statusx", -1, EGRESS_R_PATH);
	match(ALL, "other.example.org", 80, "HEAD", "/status", -1, EGRESS_R_METHOD);

	/* IP literals: only through a rule's addresses */
	match_lit(ALL, "10.20.0.5", 5432, 4, EGRESS_OK);
	match_lit(ALL, "10.20.5.1", 22, 6, EGRESS_OK);
	match_lit(ALL, "10.20.5.1", 5432, 4, EGRESS_OK);
	match_lit(ALL, "10.20.5.1", 80, -1, EGRESS_R_PORT);
	match_lit(ALL, "::ffff:10.20.0.5", 5432, 4, EGRESS_OK);
	match_lit(ALL, "012.20.0.5", 5432, 4, EGRESS_OK);
	match_lit(ALL, "10.21.0.1", 5432, -1, EGRESS_R_LITERAL);
	match_lit(ALL, "10.19.255.255", 5432, -1, EGRESS_R_LITERAL);
	match_lit(ALL, "127.0.0.1", 443, -1, EGRESS_R_LITERAL);
	match_lit(ALL, "0x7f.1", 443, -1, EGRESS_R_LITERAL);
	match_lit(ALL, "169.254.169.254", 80, -1, EGRESS_R_LITERAL);
	match_lit(ALL, "::1", 443, -1, EGRESS_R_LITERAL);
	match_lit(ALL, "8.8.8.8", 443, -1, EGRESS_R_LITERAL);
	match_lit(ALL & ~(1u << 4 | 1u << 6), "10.20.5.1", 22, -1, EGRESS_R_NOT_DECLARED);
	match_lit(1u << 6, "10.20.5.1", 5432, -1, EGRESS_R_PORT);
	match_lit(1u << 6, "10.20.5.1", 22, 6, EGRESS_OK);

	/* resolved addresses */
	allowed(4, "10.20.1.1", true, "");
	allowed(4, "10.20.255.255", true, "");
	allowed(4, "::ffff:10.20.0.1", true, "");
	allowed(4, "8.8.8.8", true, "");
	allowed(4, "2606:4700::1111", true, "");
	allowed(4, "10.21.0.0", false, "private");
	allowed(4, "10.19.255.255", false, "private");
	allowed(4, "127.0.0.1", false, "loopback");
	allowed(4, "169.254.169.254", false, "cloud metadata");
	allowed(4, "fd00::1", false, "unique local");
	allowed(0, "10.0.0.1", false, "private (RFC 1918)");
	allowed(0, "172.16.0.1", false, "private");
	allowed(0, "192.168.1.1", false, "private");
	allowed(0, "100.64.0.1", false, "CGNAT");
	allowed(0, "0.0.0.0", false, "this network");
	allowed(0, "255.255.255.255", false, "broadcast");
	allowed(0, "224.0.0.1", false, "multicast");
	allowed(0, "240.0.0.1", false, "reserved");
	allowed(0, "198.18.0.1", false, "benchmark");
	allowed(0, "192.0.2.1", false, "documentation");
	allowed(0, "192.0.0.8", false, "IETF");
	allowed(0, "169.254.1.1", false, "link-local");
	allowed(0, "::ffff:127.0.0.1", false, "loopback");
	allowed(0, "::1", false, "loopback");
	allowed(0, "fe80::1", false, "link-local");
	allowed(0, "64:ff9b::a00:1", false, "NAT64");
	allowed(0, "8.8.8.8", true, "");
	allowed(0, "1.1.1.1", true, "");
}

/* The policy parser checks its hosts with egress_name_canon in exact mode. */
static void policy_host(const char *host, const char *want)
{
	char doc[512];

	snprintf(doc, sizeof doc, "{\"format\":1,\"admin_token_sha256\":\"" H "\",\"egress\":["
		 "{\"host\":\"%s\",\"ports\":[443],\"purpose\":\"p\"}]}", host);
	err[0] = '\0';
	int r = policy_parse(doc, strlen(doc), &toks, &pol, err, sizeof err);
	if (!want) {
		ok(r == 0, "policy host %s accepted", host);
	} else {
		ok(r == -EINVAL && strstr(err, want), "policy host %s refused: %s", host, want);
	}
	if ((r == 0) != !want || (want && !strstr(err, want)))
		diag("got %d: %s", r, err);
}

static void test_policy_hosts(void)
{
	policy_host("api.example.com", NULL);
	policy_host("*.example.com", NULL);
	policy_host("xn--bcher-kva.example", NULL);
	policy_host("api.example.0x1f", "an IP address is not a host name");
	policy_host("10.0.0.1", "an IP address is not a host name");
	policy_host("0x7f.1", "an IP address is not a host name");
	policy_host("a_b.example.com", "(no '_')");
	policy_host("Api.example.com", "must be lowercase");
	policy_host("api.example.com.", "no trailing dot");
	policy_host("api%2e.example.com", "percent-encoded");
	policy_host("user@api.example.com", "userinfo");
	policy_host("api example.com", "whitespace");
	policy_host("*.com", "at least two labels");
}

static void test_reasons(void)
{
	for (int a = 0; a < EGRESS_R_N; a++) {
		const char *ca = egress_reason_code((enum egress_reason)a);
		bool unique = strcmp(ca, "?") != 0;
		for (int b = 0; b < a; b++)
			unique = unique && strcmp(ca, egress_reason_code((enum egress_reason)b)) != 0;
		ok(unique, "reason %d has its own code (%s)", a, ca);
	}
	is_str(egress_reason_code(EGRESS_R_N), "?", "no code past the end");
}

int main(void)
{
	test_names();
	test_authorities();
	test_literals();
	test_hosts();
	test_classes();
	test_paths();
	test_matching();
	test_policy_hosts();
	test_reasons();
	return tap_done();
}
