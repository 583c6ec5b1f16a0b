/* crypto/egress.h: what a function may reach, decided before any DNS
 * resolution or connection (docs/EGRESS.md, "Names, literals, address
 * classes and rule matching").
 *
 * Four steps, each a pure function of its arguments:
 *
 *   1. the host a function sent (HTTP Host, TLS SNI, CONNECT authority,
 *      absolute-form URL host, DNS QNAME) is split from its port
 *      (egress_authority_split) and parsed (egress_host_parse): either an
 *      IP literal in any form a resolver or browser would take, or a DNS
 *      name in canonical form (egress_name_canon, which the policy parser
 *      also uses for its rules' hosts);
 *   2. a name is matched against the policy's rules and the rules the
 *      function declared (egress_match), a literal against the rules'
 *      private `addresses` (egress_match_literal); an HTTP request's path
 *      is normalised (egress_path_norm) and checked as well;
 *   3. after netd resolved a name, each answer is classified
 *      (egress_addr_class) and refused when it is not public and the
 *      matched rule's `addresses` do not name it (egress_addr_allowed).
 *
 * Every refusal has a reason: a stable short code for log records
 * (egress_reason_code, "userinfo", "no_rule", ...) and one line of text
 * into the caller's errbuf naming what was missing.
 *
 * No I/O, no allocation, no hidden state; every input is bounded by its
 * length argument and nothing reads past it.
 */
#ifndef DSHIELD_CRYPTO_EGRESS_H
#define DSHIELD_CRYPTO_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/policy.h"

#define EGRESS_NAME_MAX   253   /* a DNS name's text, no trailing dot */
#define EGRESS_LABEL_MAX  63
#define EGRESS_ADDR_TEXT  46    /* INET6_ADDRSTRLEN: longest address text + NUL */

/* Why something was refused. The first group comes from the name and
 * authority parsers, the second from rule matching, the third from the
 * address check, the fourth from the path normaliser. */
enum egress_reason {
	EGRESS_OK = 0,
	/* names and authorities */
	EGRESS_R_EMPTY,          /* no name at all */
	EGRESS_R_TOO_LONG,       /* more than 253 bytes (a trailing dot aside) */
	EGRESS_R_CONTROL,        /* whitespace or a control byte */
	EGRESS_R_USERINFO,       /* '@': user:password@host */
	EGRESS_R_PERCENT,        /* '%': percent-encoding */
	EGRESS_R_NON_ASCII,      /* a byte >= 0x80: IDNs only as punycode */
	EGRESS_R_UNDERSCORE,     /* '_' */
	EGRESS_R_BAD_CHAR,       /* anything else outside [A-Za-z0-9.-] */
	EGRESS_R_EMPTY_LABEL,    /* "a..b", ".a", or more than one trailing dot */
	EGRESS_R_LABEL_LONG,     /* a label of more than 63 bytes */
	EGRESS_R_HYPHEN_START,   /* a label starts with '-' */
	EGRESS_R_HYPHEN_END,     /* a label ends with '-' */
	EGRESS_R_UPPERCASE,      /* EGRESS_NAME_EXACT only */
	EGRESS_R_TRAILING_DOT,   /* EGRESS_NAME_EXACT only */
	EGRESS_R_NUMERIC,        /* last label looks numeric, yet no valid address */
	EGRESS_R_BAD_LITERAL,    /* "[...]" that is not an IPv6 address */
	EGRESS_R_ZONE_ID,        /* an IPv6 literal with "%zone" */
	EGRESS_R_BAD_PORT,       /* not 1..65535 in plain decimal */
	EGRESS_R_NEEDS_BRACKETS, /* an IPv6 address with a port needs "[...]" */
	/* rule matching */
	EGRESS_R_NO_RULE,        /* no rule of the policy covers the host */
	EGRESS_R_NOT_DECLARED,   /* the rule that covers it was not declared */
	EGRESS_R_PORT,           /* the rule does not list the port */
	EGRESS_R_PASSTHROUGH,    /* an HTTP request under a passthrough rule */
	EGRESS_R_METHOD,         /* the rule does not allow the method */
	EGRESS_R_PATH,           /* no path prefix of the rule covers the path */
	EGRESS_R_LITERAL,        /* an IP literal no rule's addresses name */
	/* resolved addresses */
	EGRESS_R_ADDRESS,        /* a non-public address the rule does not name */
	/* request paths */
	EGRESS_R_PATH_FORM,      /* not "/..." of RFC 3986 path characters */
	EGRESS_R_DOT_SEGMENT,    /* a "." or ".." segment, also before ';' */
	EGRESS_R_EMPTY_SEGMENT,  /* "//" */
	EGRESS_R_BACKSLASH,      /* '\' in the path */
	EGRESS_R_FRAGMENT,       /* '#' */
	EGRESS_R_ENCODED,        /* %2E, %2F, %5C, an encoded control byte, bad '%' */
	EGRESS_R_N
};

/* A short constant for log records ("userinfo", "no_rule", ...). */
const char *egress_reason_code(enum egress_reason r);

/* --- names and authorities ------------------------------------------------- */

/* Refuse what canonicalisation would fold (an uppercase letter, a trailing
 * dot) instead of folding it: the policy's own hosts are written in their
 * canonical spelling. */
#define EGRESS_NAME_EXACT 1u

/* Canonicalises the DNS name s[0..n) into out[0..cap) (NUL terminated):
 * ASCII letters lowercased, one trailing dot removed; then labels of
 * 1..63 bytes of [a-z0-9-] neither starting nor ending with '-', at most
 * 253 bytes in all. Punycode ("xn--") labels are ordinary LDH labels; a
 * byte >= 0x80 is refused. A name whose last label is numeric (all
 * digits, or "0x" and hex digits) is refused: it is an IP literal in some
 * resolver's eyes (egress_ip_literal decides those first). A whole-input
 * scan refuses whitespace and control bytes, then '@', then '%', before
 * any positional check, so each has its own reason wherever it stands.
 *
 * Returns the length (<= n), -EINVAL with *why (and a line in err), or
 * -ENOSPC when cap is too small (EGRESS_NAME_MAX + 1 is always enough).
 * The output is a fixed point: canonicalising it again gives it back. */
long egress_name_canon(const char *s, size_t n, unsigned flags, char *out, size_t cap,
		       enum egress_reason *why, char *err, size_t errlen);

/* An authority "host", "host:port", "[v6]" or "[v6]:port" (CONNECT target,
 * Host header, URL authority). Spans point into the input; the brackets
 * are not part of host. port is 0 when none was written. */
struct egress_authority {
	const char *host;
	size_t host_len;
	bool bracketed;
	uint16_t port;
};

/* Splits s[0..n). Refuses '@' anywhere (userinfo), a port that is not
 * 1..65535 in decimal without sign or leading zero (an empty one too),
 * an unbracketed host with more than one ':' (an IPv6 address must be
 * bracketed when a port may follow), and text after "]" that is not
 * ":port". Nothing else of the host is checked here. */
int egress_authority_split(const char *s, size_t n, struct egress_authority *a,
			   enum egress_reason *why, char *err, size_t errlen);

/* --- IP literals and addresses ----------------------------------------------- */

struct egress_addr {
	uint8_t family;      /* 4 or 6 */
	uint32_t v4;         /* family 4: host byte order (as struct policy_cidr) */
	uint8_t v6[16];      /* family 6: network byte order */
};

/* Is s[0..n) an IP address literal in a form some libc, browser or curl
 * takes? IPv4: one to four parts separated by '.', each decimal, octal
 * (leading 0) or hex ("0x"/"0X", possibly with no digits), the last part
 * filling the remaining bytes (2130706433, 127.1, 127.0.1, 0177.0.0.1,
 * 0x7f.1), one trailing dot allowed. IPv6: RFC 4291 text (hex groups, one
 * "::", a dotted quad as the last 32 bits), with or without brackets; a
 * zone id ("%eth0") makes it no literal (egress_host_parse refuses it).
 * Fills *a on true. */
bool egress_ip_literal(const char *s, size_t n, struct egress_addr *a);

/* The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) IPv6 address. */
bool egress_addr_v4_mapped(const struct egress_addr *a, uint32_t *v4);

/* Address text: dotted quad, or RFC 5952 IPv6 (inet_ntop). */
void egress_addr_format(const struct egress_addr *a, char out[EGRESS_ADDR_TEXT]);

/* A host from a request: a canonical name or an address. */
struct egress_host {
	bool literal;
	struct egress_addr addr;             /* literal */
	char name[EGRESS_NAME_MAX + 1];      /* canonical name; literal: its address text */
	size_t name_len;
};

/* Parses a host: the host part of an authority (bracketed: it was written
 * in "[...]"), an SNI value or a QNAME's text. Bracketed: an IPv6 literal,
 * or a refusal (a zone id has its own reason). Otherwise an IP literal if
 * egress_ip_literal says so, else a name through egress_name_canon. A
 * literal's name is its address text (egress_addr_format). */
int egress_host_parse(const char *s, size_t n, bool bracketed, struct egress_host *h,
		      enum egress_reason *why, char *err, size_t errlen);

/* --- address classes ---------------------------------------------------------- */

enum egress_class {
	EGRESS_C_PUBLIC,
	EGRESS_C_THIS_NET,        /* 0.0.0.0/8, ::/128 */
	EGRESS_C_LOOPBACK,        /* 127.0.0.0/8, ::1 */
	EGRESS_C_PRIVATE,         /* RFC 1918: 10/8, 172.16/12, 192.168/16 */
	EGRESS_C_CGNAT,           /* 100.64.0.0/10 (RFC 6598) */
	EGRESS_C_LINK_LOCAL,      /* 169.254.0.0/16 but .169.254, fe80::/10 */
	EGRESS_C_METADATA,        /* 169.254.169.254: the cloud metadata service */
	EGRESS_C_IETF,            /* 192.0.0.0/24, 2001::/23 */
	EGRESS_C_DOCUMENTATION,   /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20 */
	EGRESS_C_RELAY,           /* 192.88.99.0/24 6to4 relay anycast, 2002::/16 6to4 */
	EGRESS_C_BENCHMARK,       /* 198.18.0.0/15 */
	EGRESS_C_MULTICAST,       /* 224.0.0.0/4, ff00::/8 */
	EGRESS_C_RESERVED,        /* 240.0.0.0/4 but broadcast; IPv6 outside 2000::/3 */
	EGRESS_C_BROADCAST,       /* 255.255.255.255 */
	EGRESS_C_ULA,             /* fc00::/7 */
	EGRESS_C_SITE_LOCAL,      /* fec0::/10 (deprecated) */
	EGRESS_C_NAT64,           /* 64:ff9b::/96, 64:ff9b:1::/48 */
	EGRESS_C_V4_COMPAT,       /* ::/96 but :: and ::1 (deprecated IPv4-compatible) */
	EGRESS_C_DISCARD,         /* 100::/64 */
	EGRESS_C_N
};

/* The class of a; an IPv4-mapped IPv6 address is classified as its IPv4
 * address. */
enum egress_class egress_addr_class(const struct egress_addr *a);

/* "public", "loopback", "private (RFC 1918)", "link-local (cloud metadata)", ... */
const char *egress_class_name(enum egress_class c);

/* May a connection allowed by rule r go to address a? Public: yes. Any
 * other class: only when a is IPv4 (or IPv4-mapped) and inside one of
 * r->addresses. Returns 0 or -EACCES with *why = EGRESS_R_ADDRESS and a
 * line naming the address, its class and the rule. */
int egress_addr_allowed(const struct policy_rule *r, const struct egress_addr *a,
			enum egress_reason *why, char *err, size_t errlen);

/* --- request paths -------------------------------------------------------------- */

/* Normalises an origin-form request target s[0..n) ("/path?query") into
 * out[0..cap) (NUL terminated; out may be NULL to check only). Refused:
 * no leading '/', '#', whitespace, control and non-ASCII bytes anywhere;
 * in the path part (before the first '?'): '\', an empty segment ("//"),
 * a "." or ".." segment (also when followed by ";params", as some servers
 * strip them), a '%' not followed by two hex digits, and "%2E", "%2F",
 * "%5C", "%00".."%1F", "%7F" in any case. Normalised in the path part:
 * "%XX" of an unreserved character but the dot (A-Z a-z 0-9 - _ ~) is decoded,
 * other "%XX" get uppercase hex digits (RFC 3986 6.2.2). The query is
 * kept as is. Returns the length of the result (<= n; *path_len, if not
 * NULL, gets the length of its path part), -EINVAL with *why, or -ENOSPC. */
long egress_path_norm(const char *s, size_t n, char *out, size_t cap, size_t *path_len,
		      enum egress_reason *why, char *err, size_t errlen);

/* Does the policy's path prefix cover path[0..n) (a path without query)?
 * At a segment boundary: "/v1" covers "/v1" and "/v1/x", not "/v10";
 * "/v1/" covers "/v1/x" only; "/" covers every path. */
bool egress_path_covers(const char *prefix, const char *path, size_t n);

/* --- rule matching -------------------------------------------------------------- */

/* Does rule host pattern `pattern` ("api.example.com" or "*.example.com")
 * cover the canonical name? A wildcard covers names under its suffix at
 * any depth, never the suffix itself. */
bool egress_host_covers(const char *pattern, const char *name, size_t n);

/* Which rule lets a function that declared the rules in bit set `declared`
 * (bit k: p->rules[k]; struct fn_decl.egress_rules) reach canonical name
 * `name` on `port`? With method == NULL this is the connection's check;
 * with an HTTP method ("GET") and a path in egress_path_norm's form, the
 * request's. The rule that governs a name does not depend on who asks:
 *   1. among all the policy's rules whose host covers the name, the most
 *      specific host wins: an exact host, else the longest "*." suffix;
 *      the rules with that host string are the candidates (none:
 *      EGRESS_R_NO_RULE);
 *   2. candidates the function did not declare drop out (none left:
 *      EGRESS_R_NOT_DECLARED);
 *   3. the first candidate in policy order that lists the port
 *      (EGRESS_R_PORT), and for a request, that is "originate"
 *      (EGRESS_R_PASSTHROUGH), allows the method (EGRESS_R_METHOD) and
 *      has a path prefix covering the path (EGRESS_R_PATH). The reason
 *      reported is the furthest step some candidate reached.
 * Returns the rule's index, or -EACCES with *why and a line in err. */
int egress_match(const struct policy *p, uint32_t declared, const char *name,
		 uint16_t port, const char *method, const char *path,
		 enum egress_reason *why, char *err, size_t errlen);

/* The same for an IP literal: the candidates are the rules whose
 * `addresses` contain the address (IPv4, or IPv4-mapped IPv6); none:
 * EGRESS_R_LITERAL. Steps 2 and 3 as above. */
int egress_match_literal(const struct policy *p, uint32_t declared, const struct egress_addr *a,
			 uint16_t port, const char *method, const char *path,
			 enum egress_reason *why, char *err, size_t errlen);

#endif
