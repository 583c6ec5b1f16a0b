/* crypto/egress.c: see egress.h and docs/EGRESS.md.
 *
 * Everything here errs towards refusing: a string that some resolver
 * might read as an address is treated as one (or refused when it is not
 * a valid one), and a path form that some server might read differently
 * from the proxy is refused rather than guessed at. What passes is in one
 * spelling, so that the comparison with the policy is a byte comparison
 * and what the proxy logs and sends upstream is what it compared.
 */
#include "crypto/egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "lib/errbuf.h"

/* --- reasons ------------------------------------------------------------------ */

static const char *const reason_codes[EGRESS_R_N] = {
	[EGRESS_OK] = "ok",
	[EGRESS_R_EMPTY] = "empty",
	[EGRESS_R_TOO_LONG] = "too_long",
	[EGRESS_R_CONTROL] = "control",
	[EGRESS_R_USERINFO] = "userinfo",
	[EGRESS_R_PERCENT] = "percent_encoded",
	[EGRESS_R_NON_ASCII] = "non_ascii",
	[EGRESS_R_UNDERSCORE] = "underscore",
	[EGRESS_R_BAD_CHAR] = "bad_char",
	[EGRESS_R_EMPTY_LABEL] = "empty_label",
	[EGRESS_R_LABEL_LONG] = "label_too_long",
	[EGRESS_R_HYPHEN_START] = "hyphen_start",
	[EGRESS_R_HYPHEN_END] = "hyphen_end",
	[EGRESS_R_UPPERCASE] = "uppercase",
	[EGRESS_R_TRAILING_DOT] = "trailing_dot",
	[EGRESS_R_NUMERIC] = "numeric",
	[EGRESS_R_BAD_LITERAL] = "bad_literal",
	[EGRESS_R_ZONE_ID] = "zone_id",
	[EGRESS_R_BAD_PORT] = "bad_port",
	[EGRESS_R_NEEDS_BRACKETS] = "needs_brackets",
	[EGRESS_R_NO_RULE] = "no_rule",
	[EGRESS_R_NOT_DECLARED] = "not_declared",
	[EGRESS_R_PORT] = "port_not_allowed",
	[EGRESS_R_PASSTHROUGH] = "passthrough",
	[EGRESS_R_METHOD] = "method_not_allowed",
	[EGRESS_R_PATH] = "path_not_allowed",
	[EGRESS_R_LITERAL] = "ip_literal",
	[EGRESS_R_ADDRESS] = "address_class",
	[EGRESS_R_PATH_FORM] = "bad_path",
	[EGRESS_R_DOT_SEGMENT] = "dot_segment",
	[EGRESS_R_EMPTY_SEGMENT] = "empty_segment",
	[EGRESS_R_BACKSLASH] = "backslash",
	[EGRESS_R_FRAGMENT] = "fragment",
	[EGRESS_R_ENCODED] = "encoded_byte",
};

const char *egress_reason_code(enum egress_reason r)
{
	return (unsigned)r < EGRESS_R_N && reason_codes[r] ? reason_codes[r] : "?";
}

static int set_why(enum egress_reason *why, enum egress_reason r)
{
	if (why)
		*why = r;
	return 0;
}

/* Sets *why and the message, and evaluates to code. */
#define REFUSE(r, code, ...) (set_why(why, (r)) + errbuf_set(err, errlen, (code), __VA_ARGS__))

/* --- character classes ------------------------------------------------------ */

static bool is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }
static bool is_lower(unsigned char ch) { return ch >= 'a' && ch <= 'z'; }
static bool is_upper(unsigned char ch) { return ch >= 'A' && ch <= 'Z'; }

static int hex_value(unsigned char ch)
{
	if (is_digit(ch))
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Whitespace, C0 controls and DEL. */
static bool is_control(unsigned char ch) { return ch <= 0x20 || ch == 0x7f; }

/* RFC 3986 unreserved, without '.': the characters whose "%XX" form is
 * decoded ("%2E" is refused instead, see egress_path_norm). */
static bool is_plain(unsigned char ch)
{
	return is_lower(ch) || is_upper(ch) || is_digit(ch) || ch == '-' || ch == '_' || ch == '~';
}

/* RFC 3986 pchar without pct-encoded. */
static bool is_pchar(unsigned char ch)
{
	return is_plain(ch) || (ch && strchr(".!$&'()*+,;=:@", ch));
}

/* --- names -------------------------------------------------------------------- */

/* Does the label s[0..n) read as a number to some resolver: all digits
 * (inet_aton, WHATWG "ends in a number"), or "0x" and hex digits? */
static bool numeric_label(const char *s, size_t n)
{
	size_t k = 0;
	bool hex = n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x';

	for (k = hex ? 2 : 0; k < n; k++)
		if (hex ? hex_value((unsigned char)s[k]) < 0 : !is_digit((unsigned char)s[k]))
			return false;
	return n > 0;
}

long egress_name_canon(const char *s, size_t n, unsigned flags, char *out, size_t cap,
		       enum egress_reason *why, char *err, size_t errlen)
{
	size_t len = n, label = 0, start = 0;

	set_why(why, EGRESS_OK);
	/* Bytes that smuggle something, wherever they stand. */
	for (size_t k = 0; k < n; k++)
		if (is_control((unsigned char)s[k]))
			return REFUSE(EGRESS_R_CONTROL, -EINVAL, "whitespace or a control byte (byte %zu)", k);
	if (memchr(s, '@', n))
		return REFUSE(EGRESS_R_USERINFO, -EINVAL, "has userinfo ('@')");
	if (memchr(s, '%', n))
		return REFUSE(EGRESS_R_PERCENT, -EINVAL, "is percent-encoded ('%%')");
	if (n > 0 && s[n - 1] == '.') {
		if (flags & EGRESS_NAME_EXACT)
			return REFUSE(EGRESS_R_TRAILING_DOT, -EINVAL, "no trailing dot");
		len = n - 1;
	}
	if (len == 0)
		return REFUSE(EGRESS_R_EMPTY, -EINVAL, "names no domain");
	if (len > EGRESS_NAME_MAX)
		return REFUSE(EGRESS_R_TOO_LONG, -EINVAL, "longer than %d bytes", EGRESS_NAME_MAX);
	if (cap < len + 1)
		return -ENOSPC;

	for (size_t k = 0; k <= len; k++) {
		unsigned char ch = k < len ? (unsigned char)s[k] : '.';
		if (ch == '.') {
			if (label == 0)
				return REFUSE(EGRESS_R_EMPTY_LABEL, -EINVAL, "empty label");
			if (out[k - 1] == '-')
				return REFUSE(EGRESS_R_HYPHEN_END, -EINVAL, "a label must not end with '-'");
			if (k < len)
				out[k] = '.';
			label = 0;
			continue;
		}
		if (ch >= 0x80)
			return REFUSE(EGRESS_R_NON_ASCII, -EINVAL, "must be ASCII (punycode \"xn--\" for other names)");
		if (is_upper(ch)) {
			if (flags & EGRESS_NAME_EXACT)
				return REFUSE(EGRESS_R_UPPERCASE, -EINVAL, "must be lowercase");
			ch |= 0x20;
		}
		if (ch == '_')
			return REFUSE(EGRESS_R_UNDERSCORE, -EINVAL, "letters, digits, '-' and '.' only (no '_')");
		if (!is_lower(ch) && !is_digit(ch) && ch != '-')
			return REFUSE(EGRESS_R_BAD_CHAR, -EINVAL, "letters, digits, '-' and '.' only");
		if (label == 0 && ch == '-')
			return REFUSE(EGRESS_R_HYPHEN_START, -EINVAL, "a label must not start with '-'");
		if (++label > EGRESS_LABEL_MAX)
			return REFUSE(EGRESS_R_LABEL_LONG, -EINVAL, "a label is longer than %d bytes", EGRESS_LABEL_MAX);
		out[k] = (char)ch;
	}
	/* the last label begins after the last dot */
	start = len;
	while (start > 0 && out[start - 1] != '.')
		start--;
	if (numeric_label(out + start, len - start))
		return REFUSE(EGRESS_R_NUMERIC, -EINVAL, "the last label is numeric: an IP address, not a host name");
	out[len] = '\0';
	return (long)len;
}

/* --- authorities -------------------------------------------------------------- */

/* A port: 1..65535 in decimal, 1 to 5 digits, no sign, no leading zero. */
static bool parse_port(const char *s, size_t n, uint16_t *port)
{
	uint32_t v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (size_t k = 0; k < n; k++) {
		if (!is_digit((unsigned char)s[k]))
			return false;
		v = v * 10 + (uint32_t)(s[k] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

int egress_authority_split(const char *s, size_t n, struct egress_authority *a,
			   enum egress_reason *why, char *err, size_t errlen)
{
	const char *port = NULL, *end = s + n;

	memset(a, 0, sizeof *a);
	set_why(why, EGRESS_OK);
	if (memchr(s, '@', n))
		return REFUSE(EGRESS_R_USERINFO, -EINVAL, "has userinfo ('@')");
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return REFUSE(EGRESS_R_BAD_LITERAL, -EINVAL, "'[' without ']'");
		a->host = s + 1;
		a->host_len = (size_t)(close - s - 1);
		a->bracketed = true;
		if (close + 1 < end && close[1] != ':')
			return REFUSE(EGRESS_R_BAD_LITERAL, -EINVAL, "text after ']' that is not a port");
		if (close + 1 < end)
			port = close + 2;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return REFUSE(EGRESS_R_NEEDS_BRACKETS, -EINVAL,
				      "an IPv6 address in an authority is written in brackets");
		a->host = s;
		a->host_len = colon ? (size_t)(colon - s) : n;
		if (colon)
			port = colon + 1;
	}
	if (port && !parse_port(port, (size_t)(end - port), &a->port))
		return REFUSE(EGRESS_R_BAD_PORT, -EINVAL, "the port must be 1..65535 in decimal");
	return 0;
}

/* --- IP literals -------------------------------------------------------------- */

/* inet_aton's and the WHATWG URL standard's IPv4: 1..4 parts, each
 * decimal, octal after a leading 0, or hex after "0x" (no digits: 0);
 * all but the last part one byte, the last one the remaining bytes. */
static bool parse_v4_any(const char *s, size_t n, uint32_t *out)
{
	uint64_t parts[4], v = 0;
	unsigned np = 0;
	size_t k = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;                          /* one trailing dot */
	if (n == 0)
		return false;
	for (;;) {
		size_t start = k;
		unsigned base = 10;
		if (np == 4)
			return false;
		if (k < n && s[k] == '0' && k + 1 < n && (s[k + 1] | 0x20) == 'x') {
			base = 16;
			k += 2;
		} else if (k < n && s[k] == '0' && k + 1 < n && s[k + 1] != '.') {
			base = 8;
			k += 1;
		}
		v = 0;
		for (; k < n && s[k] != '.'; k++) {
			int d = hex_value((unsigned char)s[k]);
			if (d < 0 || (unsigned)d >= base)
				return false;
			v = v * base + (unsigned)d;
			if (v > 0xffffffffu)
				v = 0x100000000u;     /* saturate: too large either way */
		}
		if (k == start)
			return false;                 /* empty part */
		parts[np++] = v;
		if (k == n)
			break;
		k++;                                  /* the '.' */
	}
	for (unsigned i = 0; i + 1 < np; i++)
		if (parts[i] > 255)
			return false;
	if (parts[np - 1] > (0xffffffffu >> (8 * (np - 1))))
		return false;
	v = parts[np - 1];
	for (unsigned i = 0; i + 1 < np; i++)
		v |= parts[i] << (24 - 8 * i);
	*out = (uint32_t)v;
	return true;
}

/* The dotted quad at the end of an IPv6 address: four decimal octets
 * without leading zeros, as inet_pton reads it. */
static bool parse_v4_quad(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	size_t k = 0;

	for (int part = 0; part < 4; part++) {
		uint32_t o = 0;
		size_t start = k;
		if (part > 0 && (k >= n || s[k++] != '.'))
			return false;
		start = k;
		while (k < n && is_digit((unsigned char)s[k]) && k - start < 3)
			o = o * 10 + (uint32_t)(s[k++] - '0');
		if (k == start || o > 255 || (s[start] == '0' && k - start > 1))
			return false;
		v = v << 8 | o;
	}
	if (k != n)
		return false;
	*out = v;
	return true;
}

/* RFC 4291 section 2.2 text: eight groups of 1..4 hex digits, at most one
 * "::" standing for one or more zero groups, an optional dotted quad in
 * place of the last two groups. */
static bool parse_v6(const char *s, size_t n, uint8_t out[16])
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	size_t k = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		k = 2;
	} else if (n == 0 || s[0] == ':') {
		return false;
	}
	while (k < n) {
		size_t e = k;
		uint16_t v = 0;
		if (ng == 8)
			return false;
		while (e < n && s[e] != ':')
			e++;
		if (memchr(s + k, '.', e - k)) {
			uint32_t v4;
			if (e != n || ng > 6 || !parse_v4_quad(s + k, e - k, &v4))
				return false;
			g[ng++] = (uint16_t)(v4 >> 16);
			g[ng++] = (uint16_t)v4;
			break;
		}
		if (e == k || e - k > 4)
			return false;
		for (size_t j = k; j < e; j++) {
			int d = hex_value((unsigned char)s[j]);
			if (d < 0)
				return false;
			v = (uint16_t)(v << 4 | (unsigned)d);
		}
		g[ng++] = v;
		if (e == n)
			break;
		k = e + 1;                            /* past ':' */
		if (k < n && s[k] == ':') {
			if (gap >= 0)
				return false;
			gap = ng;
			k++;
		} else if (k == n) {
			return false;                 /* a single trailing ':' */
		}
	}
	if (gap < 0 ? ng != 8 : ng > 7)
		return false;
	memset(out, 0, 16);
	for (int i = 0; i < ng; i++) {
		int at = gap >= 0 && i >= gap ? 8 - ng + i : i;
		out[2 * at] = (uint8_t)(g[i] >> 8);
		out[2 * at + 1] = (uint8_t)g[i];
	}
	return true;
}

bool egress_ip_literal(const char *s, size_t n, struct egress_addr *a)
{
	memset(a, 0, sizeof *a);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
		a->family = 6;
		return parse_v6(s, n, a->v6);
	}
	if (memchr(s, ':', n)) {
		a->family = 6;
		return parse_v6(s, n, a->v6);
	}
	a->family = 4;
	return parse_v4_any(s, n, &a->v4);
}

bool egress_addr_v4_mapped(const struct egress_addr *a, uint32_t *v4)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->family != 6 || memcmp(a->v6, mapped, sizeof mapped) != 0)
		return false;
	*v4 = (uint32_t)a->v6[12] << 24 | (uint32_t)a->v6[13] << 16 |
	      (uint32_t)a->v6[14] << 8 | a->v6[15];
	return true;
}

/* The IPv4 address a stands for: its own, or the one an IPv4-mapped IPv6
 * address carries. */
static bool as_v4(const struct egress_addr *a, uint32_t *v4)
{
	if (a->family == 4) {
		*v4 = a->v4;
		return true;
	}
	return egress_addr_v4_mapped(a, v4);
}

void egress_addr_format(const struct egress_addr *a, char out[EGRESS_ADDR_TEXT])
{
	uint8_t v4[4];

	if (a->family == 4) {
		v4[0] = (uint8_t)(a->v4 >> 24);
		v4[1] = (uint8_t)(a->v4 >> 16);
		v4[2] = (uint8_t)(a->v4 >> 8);
		v4[3] = (uint8_t)a->v4;
	}
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->family == 4 ? (const void *)v4 : a->v6,
		       out, EGRESS_ADDR_TEXT))
		strcpy(out, "?");
}

int egress_host_parse(const char *s, size_t n, bool bracketed, struct egress_host *h,
		      enum egress_reason *why, char *err, size_t errlen)
{
	long len;

	memset(h, 0, sizeof *h);
	set_why(why, EGRESS_OK);
	if (bracketed || memchr(s, ':', n)) {
		if (memchr(s, '%', n))
			return REFUSE(EGRESS_R_ZONE_ID, -EINVAL, "an IPv6 address with a zone id");
		if (bracketed) {
			if (!parse_v6(s, n, h->addr.v6))
				return REFUSE(EGRESS_R_BAD_LITERAL, -EINVAL, "not an IPv6 address in '[...]'");
			h->addr.family = 6;
			goto literal;
		}
	}
	if (egress_ip_literal(s, n, &h->addr))
		goto literal;
	len = egress_name_canon(s, n, 0, h->name, sizeof h->name, why, err, errlen);
	if (len < 0)
		return (int)len;
	h->name_len = (size_t)len;
	return 0;
literal:
	h->literal = true;
	egress_addr_format(&h->addr, h->name);
	h->name_len = strlen(h->name);
	return 0;
}

/* --- address classes ----------------------------------------------------------- */

static const char *const class_names[EGRESS_C_N] = {
	[EGRESS_C_PUBLIC] = "public",
	[EGRESS_C_THIS_NET] = "\"this network\" (0.0.0.0/8)",
	[EGRESS_C_LOOPBACK] = "loopback",
	[EGRESS_C_PRIVATE] = "private (RFC 1918)",
	[EGRESS_C_CGNAT] = "shared CGNAT space (100.64.0.0/10)",
	[EGRESS_C_LINK_LOCAL] = "link-local",
	[EGRESS_C_METADATA] = "link-local (cloud metadata)",
	[EGRESS_C_IETF] = "IETF protocol assignments",
	[EGRESS_C_DOCUMENTATION] = "documentation",
	[EGRESS_C_RELAY] = "6to4 relay",
	[EGRESS_C_BENCHMARK] = "benchmarking (198.18.0.0/15)",
	[EGRESS_C_MULTICAST] = "multicast",
	[EGRESS_C_RESERVED] = "reserved",
	[EGRESS_C_BROADCAST] = "broadcast",
	[EGRESS_C_ULA] = "unique local (fc00::/7)",
	[EGRESS_C_SITE_LOCAL] = "site-local (fec0::/10)",
	[EGRESS_C_NAT64] = "NAT64 (64:ff9b::/96)",
	[EGRESS_C_V4_COMPAT] = "IPv4-compatible (::/96)",
	[EGRESS_C_DISCARD] = "discard-only (100::/64)",
};

const char *egress_class_name(enum egress_class c)
{
	return (unsigned)c < EGRESS_C_N ? class_names[c] : "?";
}

static bool in_v4(uint32_t a, uint32_t net, unsigned prefix)
{
	uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
	return (a & mask) == net;
}

/* The IANA special-purpose registry (RFC 6890 and later), the more
 * specific entries first. */
static const struct { uint32_t net; uint8_t prefix; uint8_t cls; } v4_table[] = {
	{ 0xffffffffu, 32, EGRESS_C_BROADCAST },
	{ 0xa9fea9feu, 32, EGRESS_C_METADATA },       /* 169.254.169.254 */
	{ 0x00000000u, 8,  EGRESS_C_THIS_NET },
	{ 0x0a000000u, 8,  EGRESS_C_PRIVATE },
	{ 0x64400000u, 10, EGRESS_C_CGNAT },
	{ 0x7f000000u, 8,  EGRESS_C_LOOPBACK },
	{ 0xa9fe0000u, 16, EGRESS_C_LINK_LOCAL },
	{ 0xac100000u, 12, EGRESS_C_PRIVATE },
	{ 0xc0000000u, 24, EGRESS_C_IETF },
	{ 0xc0000200u, 24, EGRESS_C_DOCUMENTATION },  /* TEST-NET-1 */
	{ 0xc0586300u, 24, EGRESS_C_RELAY },          /* 192.88.99.0/24 */
	{ 0xc0a80000u, 16, EGRESS_C_PRIVATE },
	{ 0xc6120000u, 15, EGRESS_C_BENCHMARK },
	{ 0xc6336400u, 24, EGRESS_C_DOCUMENTATION },  /* TEST-NET-2 */
	{ 0xcb007100u, 24, EGRESS_C_DOCUMENTATION },  /* TEST-NET-3 */
	{ 0xe0000000u, 4,  EGRESS_C_MULTICAST },
	{ 0xf0000000u, 4,  EGRESS_C_RESERVED },
};

static enum egress_class class_v4(uint32_t a)
{
	for (size_t k = 0; k < sizeof v4_table / sizeof v4_table[0]; k++)
		if (in_v4(a, v4_table[k].net, v4_table[k].prefix))
			return (enum egress_class)v4_table[k].cls;
	return EGRESS_C_PUBLIC;
}

static bool in_v6(const uint8_t a[16], const uint8_t net[16], unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, net, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ net[whole]) & (0xff00u >> rest)) == 0;
}

static const struct { uint8_t net[16]; uint8_t bits; uint8_t cls; } v6_table[] = {
	{ { 0 }, 128, EGRESS_C_THIS_NET },                                   /* :: */
	{ { [15] = 1 }, 128, EGRESS_C_LOOPBACK },                            /* ::1 */
	{ { 0 }, 96, EGRESS_C_V4_COMPAT },                                   /* ::/96 */
	{ { 0x00, 0x64, 0xff, 0x9b }, 96, EGRESS_C_NAT64 },
	{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, EGRESS_C_NAT64 },
	{ { 0x01, 0x00 }, 64, EGRESS_C_DISCARD },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, EGRESS_C_DOCUMENTATION },
	{ { 0x20, 0x01 }, 23, EGRESS_C_IETF },
	{ { 0x20, 0x02 }, 16, EGRESS_C_RELAY },
	{ { 0x3f, 0xff }, 20, EGRESS_C_DOCUMENTATION },
	{ { 0xfc }, 7, EGRESS_C_ULA },
	{ { 0xfe, 0x80 }, 10, EGRESS_C_LINK_LOCAL },
	{ { 0xfe, 0xc0 }, 10, EGRESS_C_SITE_LOCAL },
	{ { 0xff }, 8, EGRESS_C_MULTICAST },
	{ { 0x20 }, 3, EGRESS_C_PUBLIC },                                    /* global unicast */
};

enum egress_class egress_addr_class(const struct egress_addr *a)
{
	uint32_t v4;

	if (as_v4(a, &v4))
		return class_v4(v4);
	for (size_t k = 0; k < sizeof v6_table / sizeof v6_table[0]; k++)
		if (in_v6(a->v6, v6_table[k].net, v6_table[k].bits))
			return (enum egress_class)v6_table[k].cls;
	return EGRESS_C_RESERVED;
}

/* Is IPv4 address v4 inside one of rule r's addresses? */
static bool rule_names(const struct policy_rule *r, uint32_t v4)
{
	for (unsigned k = 0; k < r->naddresses; k++)
		if (in_v4(v4, r->addresses[k].addr, r->addresses[k].prefix))
			return true;
	return false;
}

int egress_addr_allowed(const struct policy_rule *r, const struct egress_addr *a,
			enum egress_reason *why, char *err, size_t errlen)
{
	enum egress_class c = egress_addr_class(a);
	char text[EGRESS_ADDR_TEXT];
	uint32_t v4;

	set_why(why, EGRESS_OK);
	if (c == EGRESS_C_PUBLIC || (as_v4(a, &v4) && rule_names(r, v4)))
		return 0;
	egress_addr_format(a, text);
	return REFUSE(EGRESS_R_ADDRESS, -EACCES, "%s is %s, and rule %s names no such address",
		      text, egress_class_name(c), r->host);
}

/* --- paths ----------------------------------------------------------------------- */

static const char upper_hex[] = "0123456789ABCDEF";

/* The normaliser; *changed tells whether the result differs from s. */
static long path_norm(const char *s, size_t n, char *out, size_t cap, size_t *path_len,
		      bool *changed, enum egress_reason *why, char *err, size_t errlen)
{
	size_t o = 0, plen = n, seg_len = 0, seg_total = 0;
	bool dots = true, params = false, query = false;

	*changed = false;
	set_why(why, EGRESS_OK);
	if (n == 0 || s[0] != '/')
		return REFUSE(EGRESS_R_PATH_FORM, -EINVAL, "a request path starts with '/'");
	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)s[k];
		if (ch == '#')
			return REFUSE(EGRESS_R_FRAGMENT, -EINVAL, "a request has no fragment ('#')");
		if (is_control(ch))
			return REFUSE(EGRESS_R_CONTROL, -EINVAL, "whitespace or a control byte (byte %zu)", k);
		if (ch >= 0x80)
			return REFUSE(EGRESS_R_NON_ASCII, -EINVAL, "a non-ASCII byte (byte %zu)", k);
	}
	if (out && cap < n + 1)
		return -ENOSPC;

	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)s[k];
		char enc[3];
		size_t m = 1;

		if (query) {
			enc[0] = (char)ch;
		} else if (ch == '/' || ch == '?') {
			/* the segment that ends here; the first '/' ends none */
			if (k > 0 && seg_len == 0 && (ch == '/' || seg_total > 0))
				return REFUSE(EGRESS_R_EMPTY_SEGMENT, -EINVAL, "an empty path segment (\"//\")");
			if (k > 0 && dots && seg_len > 0 && seg_len <= 2)
				return REFUSE(EGRESS_R_DOT_SEGMENT, -EINVAL, "a '.' or '..' path segment");
			seg_len = seg_total = 0;
			dots = true;
			params = false;
			if (ch == '?') {
				query = true;
				plen = o;
			}
			enc[0] = (char)ch;
		} else if (ch == '\\') {
			return REFUSE(EGRESS_R_BACKSLASH, -EINVAL, "a '\\' in the path");
		} else if (ch == '%') {
			int hi = k + 2 < n ? hex_value((unsigned char)s[k + 1]) : -1;
			int lo = k + 2 < n ? hex_value((unsigned char)s[k + 2]) : -1;
			if (hi < 0 || lo < 0)
				return REFUSE(EGRESS_R_ENCODED, -EINVAL, "a '%%' not followed by two hex digits");
			ch = (unsigned char)(hi << 4 | lo);
			if (ch == '.' || ch == '/' || ch == '\\' || ch < 0x20 || ch == 0x7f)
				return REFUSE(EGRESS_R_ENCODED, -EINVAL, "an encoded '.', '/', '\\' or control byte (%%%c%c)",
					      s[k + 1], s[k + 2]);
			if (is_plain(ch)) {
				enc[0] = (char)ch;
				*changed = true;
			} else {
				enc[0] = '%';
				enc[1] = upper_hex[hi];
				enc[2] = upper_hex[lo];
				m = 3;
				*changed |= enc[1] != s[k + 1] || enc[2] != s[k + 2];
			}
			k += 2;
			seg_total++;
			if (!params) {
				seg_len++;
				dots = false;
			}
		} else if (is_pchar(ch)) {
			enc[0] = (char)ch;
			seg_total++;
			if (ch == ';')
				params = true;
			if (!params) {
				seg_len++;
				dots = dots && ch == '.';
			}
		} else {
			return REFUSE(EGRESS_R_PATH_FORM, -EINVAL, "byte %zu ('%c') is not a path character", k, ch);
		}
		if (out)
			memcpy(out + o, enc, m);
		o += m;
	}
	if (!query) {
		/* the last segment: empty is a trailing '/', but not ";x" */
		if (seg_len == 0 && seg_total > 0)
			return REFUSE(EGRESS_R_EMPTY_SEGMENT, -EINVAL, "an empty path segment (\";...\")");
		if (dots && seg_len > 0 && seg_len <= 2)
			return REFUSE(EGRESS_R_DOT_SEGMENT, -EINVAL, "a '.' or '..' path segment");
		plen = o;
	}
	if (out)
		out[o] = '\0';
	if (path_len)
		*path_len = plen;
	return (long)o;
}

long egress_path_norm(const char *s, size_t n, char *out, size_t cap, size_t *path_len,
		      enum egress_reason *why, char *err, size_t errlen)
{
	bool changed;
	return path_norm(s, n, out, cap, path_len, &changed, why, err, errlen);
}

bool egress_path_covers(const char *prefix, const char *path, size_t n)
{
	size_t len = strlen(prefix);

	return len > 0 && len <= n && memcmp(prefix, path, len) == 0 &&
	       (len == n || path[len] == '/' || prefix[len - 1] == '/');
}

/* --- rule matching ----------------------------------------------------------------- */

bool egress_host_covers(const char *pattern, const char *name, size_t n)
{
	size_t len = strlen(pattern);

	if (len >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*.example.com": a non-empty label and ".example.com" */
		len -= 1;
		return n > len && memcmp(name + n - len, pattern + 1, len) == 0;
	}
	return len == n && memcmp(pattern, name, n) == 0;
}

static bool rule_has_port(const struct policy_rule *r, uint16_t port)
{
	for (unsigned k = 0; k < r->nports; k++)
		if (r->ports[k] == port)
			return true;
	return false;
}

static int method_index(const char *method)
{
	for (int m = 0; m < POLICY_M_N; m++)
		if (strcmp(method, policy_method_name((enum policy_method)m)) == 0)
			return m;
	return -1;
}

static bool rule_has_path(const struct policy_rule *r, const char *path, size_t plen)
{
	for (unsigned k = 0; k < r->npaths; k++)
		if (egress_path_covers(r->path_prefixes[k], path, plen))
			return true;
	return false;
}

/* Steps 2 and 3 of egress_match (egress.h) over the candidate rules. */
static int pick(const struct policy *p, uint32_t cand, uint32_t declared, const char *what,
		uint16_t port, const char *method, const char *path,
		enum egress_reason *why, char *err, size_t errlen)
{
	const char *host = p->rules[__builtin_ctz(cand)].host;
	enum { NONE, PORT_OK, ORIGINATE, METHOD_OK } reached = NONE;
	size_t plen = 0;
	int m = -1;

	if ((cand & declared) == 0)
		return REFUSE(EGRESS_R_NOT_DECLARED, -EACCES,
			      "rule %s covers %s, and the function did not declare it", host, what);
	cand &= declared;
	if (method) {
		bool changed = false;
		if (!path)
			return REFUSE(EGRESS_R_PATH_FORM, -EACCES, "a request without a path");
		if (path_norm(path, strlen(path), NULL, 0, &plen, &changed, why, err, errlen) < 0)
			return -EACCES;
		if (changed)
			return REFUSE(EGRESS_R_PATH_FORM, -EACCES, "the request path is not normalised");
		m = method_index(method);
	}
	for (unsigned k = 0; k < p->nrules; k++) {
		const struct policy_rule *r = &p->rules[k];
		if (!(cand >> k & 1) || !rule_has_port(r, port))
			continue;
		if (!method)
			return (int)k;
		if (reached < PORT_OK)
			reached = PORT_OK;
		if (r->tls != POLICY_TLS_ORIGINATE)
			continue;
		if (reached < ORIGINATE)
			reached = ORIGINATE;
		if (m < 0 || !(r->methods & 1u << m))
			continue;
		reached = METHOD_OK;
		if (rule_has_path(r, path, plen))
			return (int)k;
	}
	switch (reached) {
	case NONE:
		return REFUSE(EGRESS_R_PORT, -EACCES, "port %u is not a port of rule %s", port, host);
	case PORT_OK:
		return REFUSE(EGRESS_R_PASSTHROUGH, -EACCES,
			      "rule %s relays TLS on port %u (passthrough): it allows no HTTP request", host, port);
	case ORIGINATE:
		return REFUSE(EGRESS_R_METHOD, -EACCES, "method %.16s is not allowed by rule %s", method, host);
	default:
		return REFUSE(EGRESS_R_PATH, -EACCES, "path %.*s is under no path prefix of rule %s",
			      (int)(plen > 64 ? 64 : plen), path, host);
	}
}

int egress_match(const struct policy *p, uint32_t declared, const char *name,
		 uint16_t port, const char *method, const char *path,
		 enum egress_reason *why, char *err, size_t errlen)
{
	size_t n = strnlen(name, EGRESS_NAME_MAX + 1), best = 0;
	uint32_t cand = 0;
	int gov = -1;

	set_why(why, EGRESS_OK);
	for (unsigned k = 0; k < p->nrules; k++) {
		const struct policy_rule *r = &p->rules[k];
		/* an exact host outranks every suffix; a longer suffix a shorter one */
		size_t spec = r->wildcard ? strlen(r->host) : SIZE_MAX;
		if (egress_host_covers(r->host, name, n) && spec > best) {
			best = spec;
			gov = (int)k;
		}
	}
	if (gov < 0)
		return REFUSE(EGRESS_R_NO_RULE, -EACCES, "no rule covers %.*s", (int)(n > 100 ? 100 : n), name);
	for (unsigned k = 0; k < p->nrules; k++)
		if (strcmp(p->rules[k].host, p->rules[gov].host) == 0)
			cand |= 1u << k;
	return pick(p, cand, declared, name, port, method, path, why, err, errlen);
}

int egress_match_literal(const struct policy *p, uint32_t declared, const struct egress_addr *a,
			 uint16_t port, const char *method, const char *path,
			 enum egress_reason *why, char *err, size_t errlen)
{
	char text[EGRESS_ADDR_TEXT];
	uint32_t cand = 0, v4;

	set_why(why, EGRESS_OK);
	egress_addr_format(a, text);
	if (as_v4(a, &v4))
		for (unsigned k = 0; k < p->nrules; k++)
			if (rule_names(&p->rules[k], v4))
				cand |= 1u << k;
	if (cand == 0)
		return REFUSE(EGRESS_R_LITERAL, -EACCES, "the address %s is named by no rule's addresses", text);
	return pick(p, cand, declared, text, port, method, path, why, err, errlen);
}
