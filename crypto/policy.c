/* crypto/policy.c: see policy.h and docs/POLICY.md.
 *
 * The document is tokenised (lib/json_tok) and validated as a whole
 * (json_validate) before any value is read; then each object is walked
 * against a table of its known keys, so an unknown or repeated key is
 * refused where it stands. Errors carry the JSON path of the field, built
 * in struct jwalk (lib/json_walk.h) as the walk goes down and cut back
 * as it returns.
 *
 * Sets (ports, addresses, methods, runtimes, path prefixes, header names)
 * are checked for repeats and overlaps in the order given, so that an
 * error names the operator's index, and sorted afterwards, so that the
 * canonical form does not depend on the order they were written in.
 */
#include "crypto/policy.h"

#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/egress.h"
#include "crypto/receipt.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "lib/json_walk.h"
#include "lib/jsonw.h"

/* --- names and bounds ------------------------------------------------------ */

static const char *const runtime_names[POLICY_RT_N] = { "native", "node", "python" };
static const char *const method_names[POLICY_M_N] = {
	"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"
};

const char *policy_runtime_name(enum policy_runtime rt)
{
	return (unsigned)rt < POLICY_RT_N ? runtime_names[rt] : "?";
}

static const char *const key_provider_names[] = { "none", "dev", "kms" };

const char *policy_key_provider_name(enum policy_key_provider kp)
{
	return (unsigned)kp <= POLICY_KP_KMS ? key_provider_names[kp] : "?";
}

static const char *const integrity_names[] = { "none", "hmac-sha256", "aes-gcm" };

const char *policy_integrity_name(enum policy_integrity m)
{
	return (unsigned)m <= POLICY_INTEGRITY_AES_GCM ? integrity_names[m] : "?";
}

const char *policy_method_name(enum policy_method m)
{
	return (unsigned)m < POLICY_M_N ? method_names[m] : "?";
}

/* functions.default_limits and functions.max_limits: key, absolute bounds,
 * the default of each. The canonical form writes them in this order; a
 * function's declaration (crypto/fn_decl.c) reads the same table. */
const struct policy_limit_def policy_limit_defs[POLICY_NLIMITS] = {
	{ "memory_mb",      offsetof(struct policy_limits, memory_mb),      16, 65536,   128,   512 },
	{ "pids",           offsetof(struct policy_limits, pids),            1, 4096,    32,    128 },
	{ "cpu_millicores", offsetof(struct policy_limits, cpu_millicores), 10, 64000,   1000,  2000 },
	{ "timeout_ms",     offsetof(struct policy_limits, timeout_ms),     10, 3600000, 10000, 60000 },
	{ "tmp_mb",         offsetof(struct policy_limits, tmp_mb),          0, 65536,   16,    64 },
	{ "output_kb",      offsetof(struct policy_limits, output_kb),       1, 65536,   1024,  8192 },
	/* the function's data directory: a quota, not an allocation; 0 gives
	 * no /data at all (1048576 MiB: 1 TiB) */
	{ "data_mb",        offsetof(struct policy_limits, data_mb),         0, 1048576, 16,    256 },
	/* what netd's egress proxy carries for the function, each way, all
	 * its connections together (1 kbit/s = 125 bytes/s): 64 kbit/s to
	 * 10 Gbit/s; the defaults are the top, no cap in practice, until the
	 * operator sets one */
	{ "egress_kbps",    offsetof(struct policy_limits, egress_kbps),    64, 10000000, 10000000, 10000000 },
	/* how many of netd's proxied connections the function may hold open
	 * at once; the defaults are the top, netd's share for one function */
	{ "egress_conns",   offsetof(struct policy_limits, egress_conns),    1, POLICY_EGRESS_CONNS_MAX,
	  POLICY_EGRESS_CONNS_MAX, POLICY_EGRESS_CONNS_MAX },
};
#define DEFAULT_MAX_FUNCTIONS 8

uint32_t *policy_limit_at(struct policy_limits *l, unsigned k)
{
	return (uint32_t *)((char *)l + policy_limit_defs[k].off);
}

uint32_t policy_limit_get(const struct policy_limits *l, unsigned k)
{
	return *(const uint32_t *)((const char *)l + policy_limit_defs[k].off);
}

/* Headers the proxy itself must control: framing, hop-by-hop, the target. */
static const char *const reserved_headers[] = {
	"connection", "content-length", "host", "keep-alive", "proxy-connection",
	"te", "trailer", "transfer-encoding", "upgrade",
};

/* --- character classes ----------------------------------------------------- */

static bool is_lower(char ch) { return ch >= 'a' && ch <= 'z'; }
static bool is_upper(char ch) { return ch >= 'A' && ch <= 'Z'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* RFC 9110 tchar, lowercase only (header names are case-insensitive; the
 * policy has one spelling, the lowercase one HTTP/2 uses). */
static bool header_char(char ch)
{
	return is_lower(ch) || is_digit(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* RFC 3986 pchar without pct-encoding, plus '/'. */
static bool path_char(char ch)
{
	return is_lower(ch) || is_upper(ch) || is_digit(ch) || (ch && strchr("-._~!$&'()*+,;=:@/", ch));
}

/* --- attestation, functions --------------------------------------------------- */

static int parse_attestation(struct jwalk *c, int obj, struct policy *p)
{
	struct jwalk_field f[] = { { "allow_sim", -1 } };
	int r;
	if ((r = jwalk_fields(c, obj, f, 1)) != 0)
		return r;
	if (f[0].tok >= 0) {
		size_t saved = jwalk_key(c, "allow_sim");
		if ((r = jwalk_bool(c, f[0].tok, &p->allow_sim)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	return 0;
}

/* A non-empty set of names from a table (runtimes, methods) as a bit set;
 * each must be spelt as in the table and listed once. */
static int parse_name_set(struct jwalk *c, int arr, const char *const *names, unsigned nnames,
			  const char *empty_msg, const char *choices, unsigned *set)
{
	char name[16];
	struct jwalk_items it;
	int r;

	/* no count limit: a name listed twice ends the walk by nnames + 1 */
	if ((r = jwalk_items_open(c, arr, -1, NULL, empty_msg, &it)) != 0)
		return r;
	*set = 0;
	while (jwalk_items_next(c, &it)) {
		unsigned m;
		long n = json_str(c->d, it.j, name, sizeof name);
		if (n < 0 || (size_t)n != strlen(name))
			name[0] = '\0';   /* too long, not a string, or a NUL inside */
		for (m = 0; m < nnames; m++)
			if (strcmp(name, names[m]) == 0)
				break;
		if (m == nnames)
			return jwalk_fail(c, -EINVAL, "must be one of %s", choices);
		if (*set & 1u << m)
			return jwalk_fail(c, -EINVAL, "\"%s\" is listed twice", name);
		*set |= 1u << m;
	}
	return 0;
}

/* One limits object; *given gets a bit per key present. */
static int parse_limits(struct jwalk *c, int obj, struct policy_limits *l, unsigned *given)
{
	struct jwalk_field f[POLICY_NLIMITS];
	int r;

	for (size_t k = 0; k < POLICY_NLIMITS; k++)
		f[k].key = policy_limit_defs[k].key;
	if ((r = jwalk_fields(c, obj, f, POLICY_NLIMITS)) != 0)
		return r;
	for (size_t k = 0; k < POLICY_NLIMITS; k++) {
		if (f[k].tok < 0)
			continue;
		size_t saved = jwalk_key(c, policy_limit_defs[k].key);
		if ((r = jwalk_uint(c, f[k].tok, policy_limit_defs[k].min, policy_limit_defs[k].max, policy_limit_at(l, k))) != 0)
			return r;
		jwalk_pop(c, saved);
		*given |= 1u << k;
	}
	return 0;
}

/* Limits that cannot hold together: a default above its maximum, or a
 * /tmp larger than the memory it is charged to (tmpfs pages count against
 * the function's memory cgroup). */
static int check_limits(struct jwalk *c, const struct policy *p, unsigned given_default, unsigned given_max)
{
	static const size_t MEM = 0, TMP = 4;
	const struct { const char *name; const struct policy_limits *l; unsigned given; } sets[] = {
		{ "default_limits", &p->default_limits, given_default },
		{ "max_limits", &p->max_limits, given_max },
	};

	for (size_t k = 0; k < POLICY_NLIMITS; k++) {
		uint32_t dv = policy_limit_get(&p->default_limits, k), mv = policy_limit_get(&p->max_limits, k);
		if (dv <= mv)
			continue;
		size_t saved = jwalk_push(c, "%sdefault_limits.%s", c->plen ? "." : "", policy_limit_defs[k].key);
		int r = jwalk_fail(c, -EINVAL, "%u%s is above max_limits.%s (%u%s)", dv,
			     given_default >> k & 1 ? "" : " (default)", policy_limit_defs[k].key, mv,
			     given_max >> k & 1 ? "" : ", default");
		jwalk_pop(c, saved);
		return r;
	}
	for (size_t s = 0; s < 2; s++) {
		uint32_t mem = policy_limit_get(sets[s].l, MEM), tmp = policy_limit_get(sets[s].l, TMP);
		if (tmp <= mem)
			continue;
		size_t saved = jwalk_push(c, "%s%s.tmp_mb", c->plen ? "." : "", sets[s].name);
		int r = jwalk_fail(c, -EINVAL, "%u%s is above memory_mb (%u%s): /tmp is charged to memory",
			     tmp, sets[s].given >> TMP & 1 ? "" : " (default)",
			     mem, sets[s].given >> MEM & 1 ? "" : ", default");
		jwalk_pop(c, saved);
		return r;
	}
	return 0;
}

static int parse_functions(struct jwalk *c, int obj, struct policy *p)
{
	enum { F_RUNTIMES, F_MAX, F_PUBLIC, F_DEFAULT, F_MAXL, F_N };
	struct jwalk_field f[F_N] = {
		[F_RUNTIMES] = { "runtimes", -1 }, [F_MAX] = { "max", -1 },
		[F_PUBLIC] = { "public_invoke", -1 },
		[F_DEFAULT] = { "default_limits", -1 }, [F_MAXL] = { "max_limits", -1 },
	};
	unsigned given_default = 0, given_max = 0;
	size_t saved;
	int r;

	if (obj >= 0 && (r = jwalk_fields(c, obj, f, F_N)) != 0)
		return r;
	if (obj < 0)
		for (size_t k = 0; k < F_N; k++)
			f[k].tok = -1;
	if (f[F_RUNTIMES].tok >= 0) {
		saved = jwalk_key(c, "runtimes");
		if ((r = parse_name_set(c, f[F_RUNTIMES].tok, runtime_names, POLICY_RT_N,
					  "must list at least one runtime", "native node python",
					  &p->runtimes)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	if (f[F_MAX].tok >= 0) {
		saved = jwalk_key(c, "max");
		if ((r = jwalk_uint(c, f[F_MAX].tok, 0, POLICY_MAX_FUNCTIONS, &p->max_functions)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	if (f[F_PUBLIC].tok >= 0) {
		saved = jwalk_key(c, "public_invoke");
		if ((r = jwalk_bool(c, f[F_PUBLIC].tok, &p->public_invoke)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	if (f[F_DEFAULT].tok >= 0) {
		saved = jwalk_key(c, "default_limits");
		if ((r = parse_limits(c, f[F_DEFAULT].tok, &p->default_limits, &given_default)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	if (f[F_MAXL].tok >= 0) {
		saved = jwalk_key(c, "max_limits");
		if ((r = parse_limits(c, f[F_MAXL].tok, &p->max_limits, &given_max)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	return check_limits(c, p, given_default, given_max);
}

/* --- egress rule fields ------------------------------------------------------ */

/* A DNS name in its canonical spelling, as the proxy canonicalises the
 * names functions send (crypto/egress.c, EGRESS_NAME_EXACT: an uppercase
 * letter or a trailing dot is refused, not folded): lowercase LDH labels
 * of 1..63 bytes, no trailing dot, the last label not numeric (that is an
 * IP address, which belongs under "addresses"); and here, at least two
 * labels (a single label would go through the resolver's search list). */
static int check_dns_name(struct jwalk *c, const char *s)
{
	char canon[EGRESS_NAME_MAX + 1], why_text[ERRBUF_LEN];
	enum egress_reason why;

	if (*s == '\0')
		return jwalk_fail(c, -EINVAL, "names no domain");
	if (strchr(s, '*'))
		return jwalk_fail(c, -EINVAL, "'*' only as a whole first label, as in \"*.example.com\"");
	if (egress_name_canon(s, strlen(s), EGRESS_NAME_EXACT, canon, sizeof canon, &why,
			      why_text, sizeof why_text) < 0) {
		if (why == EGRESS_R_NUMERIC)
			return jwalk_fail(c, -EINVAL, "an IP address is not a host name (private ranges go under addresses)");
		return jwalk_fail(c, -EINVAL, "%s", why_text);
	}
	if (!strchr(s, '.'))
		return jwalk_fail(c, -EINVAL, "needs at least two labels (a single one is ambiguous or too broad)");
	return 0;
}

static int parse_host(struct jwalk *c, int i, struct policy_rule *rule)
{
	long n = jwalk_str(c, i, rule->host, sizeof rule->host);
	if (n < 0)
		return (int)n;
	if ((size_t)n != strlen(rule->host))
		return jwalk_fail(c, -EINVAL, "must not contain a NUL byte");
	rule->wildcard = strncmp(rule->host, "*.", 2) == 0;
	return check_dns_name(c, rule->host + (rule->wildcard ? 2 : 0));
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int parse_ports(struct jwalk *c, int arr, struct policy_rule *rule)
{
	struct jwalk_items it;
	int r;

	if ((r = jwalk_items_open(c, arr, POLICY_MAX_PORTS, "ports", "must list at least one port",
			    &it)) != 0)
		return r;
	while (jwalk_items_next(c, &it)) {
		uint32_t v = 0;
		if ((r = jwalk_uint(c, it.j, 1, 65535, &v)) != 0)
			return r;
		for (unsigned m = 0; m < rule->nports; m++)
			if (rule->ports[m] == v)
				return jwalk_fail(c, -EINVAL, "%u is listed twice", v);
		rule->ports[rule->nports++] = (uint16_t)v;
	}
	qsort(rule->ports, rule->nports, sizeof rule->ports[0], cmp_u16);
	return 0;
}

static int parse_tls(struct jwalk *c, int i, enum policy_tls *tls)
{
	if (json_str_eq(c->d, i, "originate"))
		*tls = POLICY_TLS_ORIGINATE;
	else if (json_str_eq(c->d, i, "passthrough"))
		*tls = POLICY_TLS_PASSTHROUGH;
	else
		return jwalk_fail(c, -EINVAL, "must be \"originate\" or \"passthrough\"");
	return 0;
}

static int parse_log_path(struct jwalk *c, int i, bool *hash)
{
	if (json_str_eq(c->d, i, "full"))
		*hash = false;
	else if (json_str_eq(c->d, i, "hash"))
		*hash = true;
	else
		return jwalk_fail(c, -EINVAL, "must be \"full\" or \"hash\"");
	return 0;
}

static int parse_purpose(struct jwalk *c, int i, struct policy_rule *rule)
{
	long n = jwalk_str(c, i, rule->purpose, sizeof rule->purpose);
	if (n < 0)
		return (int)n;
	for (long k = 0; k < n; k++)
		if (rule->purpose[k] < 0x20 || rule->purpose[k] > 0x7e)
			return jwalk_fail(c, -EINVAL, "printable ASCII only");
	return 0;
}

/* A decimal 0..255 without leading zeros (no octal look-alikes). */
static const char *parse_octet(const char *s, uint32_t *v)
{
	if (!is_digit(*s) || (s[0] == '0' && is_digit(s[1])))
		return NULL;
	*v = 0;
	for (int k = 0; k < 3 && is_digit(*s); k++, s++)
		*v = *v * 10 + (uint32_t)(*s - '0');
	return *v <= 255 && !is_digit(*s) ? s : NULL;
}

static bool cidr_contains(const struct policy_cidr *outer, const struct policy_cidr *inner)
{
	uint32_t mask = outer->prefix ? ~0u << (32 - outer->prefix) : 0;
	return outer->prefix <= inner->prefix && (inner->addr & mask) == outer->addr;
}

/* "a.b.c.d/n", host bits zero, inside one RFC 1918 range: a rule may open
 * a way to a private network, never to loopback, link-local (the cloud
 * metadata address) or a public range by address. */
static int parse_cidr(struct jwalk *c, int i, struct policy_cidr *out)
{
	static const struct policy_cidr private_ranges[] = {
		{ 0x0a000000u, 8 }, { 0xac100000u, 12 }, { 0xc0a80000u, 16 },
	};
	char s[24];
	const char *q = s;
	uint32_t addr = 0, v;
	long n = jwalk_str(c, i, s, sizeof s);

	if (n < 0)
		return (int)n;
	for (int k = 0; k < 4; k++) {
		if (!(q = parse_octet(q, &v)) || *q != (k < 3 ? '.' : '/'))
			return jwalk_fail(c, -EINVAL, "must be an IPv4 range a.b.c.d/n");
		addr = addr << 8 | v;
		q++;
	}
	if (!(q = parse_octet(q, &v)) || *q != '\0' || v > 32)
		return jwalk_fail(c, -EINVAL, "must be an IPv4 range a.b.c.d/n");
	if ((size_t)(q - s) != (size_t)n)
		return jwalk_fail(c, -EINVAL, "must be an IPv4 range a.b.c.d/n");
	out->addr = addr;
	out->prefix = (uint8_t)v;
	/* "/0": every bit is a host bit (a shift by 32 is undefined) */
	if ((addr & (v == 0 ? ~0u : ~(~0u << (32 - v)))) != 0)
		return jwalk_fail(c, -EINVAL, "host bits are set (the range starts at a lower address)");
	for (size_t k = 0; k < sizeof private_ranges / sizeof private_ranges[0]; k++)
		if (cidr_contains(&private_ranges[k], out))
			return 0;
	return jwalk_fail(c, -EINVAL, "must lie inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16");
}

static int cmp_cidr(const void *a, const void *b)
{
	const struct policy_cidr *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)x->prefix - (int)y->prefix;
}

static int parse_addresses(struct jwalk *c, int arr, struct policy_rule *rule)
{
	struct jwalk_items it;
	int r;

	if ((r = jwalk_items_open(c, arr, POLICY_MAX_ADDRESSES, "addresses", NULL, &it)) != 0)
		return r;
	while (jwalk_items_next(c, &it)) {
		struct policy_cidr *a = &rule->addresses[rule->naddresses];
		if ((r = parse_cidr(c, it.j, a)) != 0)
			return r;
		for (unsigned m = 0; m < rule->naddresses; m++)
			if (cidr_contains(&rule->addresses[m], a) || cidr_contains(a, &rule->addresses[m]))
				return jwalk_fail(c, -EINVAL, "overlaps addresses[%u]", m);
		rule->naddresses++;
	}
	qsort(rule->addresses, rule->naddresses, sizeof rule->addresses[0], cmp_cidr);
	return 0;
}

/* Prefix a covers path b as the proxy matches a request's path
 * (egress_path_covers): "/v1" covers "/v1/x" but not "/v10"; "/" covers
 * every path. */
static bool prefix_covers(const char *a, const char *b)
{
	return egress_path_covers(a, b, strlen(b));
}

static int check_path_prefix(struct jwalk *c, const char *s, size_t n)
{
	if (s[0] != '/')
		return jwalk_fail(c, -EINVAL, "must start with '/'");
	for (size_t k = 0; k < n; k++)
		if (!path_char(s[k]))
			return jwalk_fail(c, -EINVAL, "character %zu is not allowed (no '%%', '?', '#', space)", k);
	/* Dot segments and empty ones: the proxy compares normalised paths. */
	for (const char *q = s; *q; q++) {
		if (*q != '/')
			continue;
		if (q[1] == '/' || (q[1] == '.' && (q[2] == '/' || q[2] == '\0')) ||
		    (q[1] == '.' && q[2] == '.' && (q[3] == '/' || q[3] == '\0')))
			return jwalk_fail(c, -EINVAL, "has an empty, '.' or '..' segment");
	}
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int parse_paths(struct jwalk *c, int arr, struct policy_rule *rule)
{
	struct jwalk_items it;
	int r;

	if ((r = jwalk_items_open(c, arr, POLICY_MAX_PATHS, "path prefixes",
			    "must list at least one prefix (leave it out for all)", &it)) != 0)
		return r;
	while (jwalk_items_next(c, &it)) {
		char *s = rule->path_prefixes[rule->npaths];
		long n = jwalk_str(c, it.j, s, POLICY_PATH_MAX + 1);
		if (n < 0)
			return (int)n;
		if ((r = check_path_prefix(c, s, (size_t)n)) != 0)
			return r;
		for (unsigned m = 0; m < rule->npaths; m++)
			if (prefix_covers(rule->path_prefixes[m], s) || prefix_covers(s, rule->path_prefixes[m]))
				return jwalk_fail(c, -EINVAL, "overlaps path_prefixes[%u]", m);
		rule->npaths++;
	}
	qsort(rule->path_prefixes, rule->npaths, sizeof rule->path_prefixes[0], cmp_path);
	return 0;
}

/* A header name from a string's decoded text s[0..n). */
static int check_header(struct jwalk *c, const char *s, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (is_upper(s[k]))
			return jwalk_fail(c, -EINVAL, "header names are written in lowercase");
		if (!header_char(s[k]))
			return jwalk_fail(c, -EINVAL, "not a header name (character %zu)", k);
	}
	for (size_t k = 0; k < sizeof reserved_headers / sizeof reserved_headers[0]; k++)
		if (strcmp(s, reserved_headers[k]) == 0)
			return jwalk_fail(c, -EINVAL, "\"%s\" is the proxy's to set", s);
	return 0;
}

static int parse_strip(struct jwalk *c, int arr, struct policy_rule *rule)
{
	struct jwalk_items it;
	int r;

	if ((r = jwalk_items_open(c, arr, POLICY_MAX_STRIP, "headers", NULL, &it)) != 0)
		return r;
	while (jwalk_items_next(c, &it)) {
		char *s = rule->strip_headers[rule->nstrip];
		long n = jwalk_str(c, it.j, s, POLICY_HEADER_MAX + 1);
		if (n < 0)
			return (int)n;
		if ((r = check_header(c, s, (size_t)n)) != 0)
			return r;
		for (unsigned m = 0; m < rule->nstrip; m++)
			if (strcmp(rule->strip_headers[m], s) == 0)
				return jwalk_fail(c, -EINVAL, "\"%s\" is listed twice", s);
		rule->nstrip++;
	}
	qsort(rule->strip_headers, rule->nstrip, sizeof rule->strip_headers[0], cmp_path);
	return 0;
}

bool policy_secret_name_valid(const char *s, size_t n)
{
	if (n == 0 || n > POLICY_SECRET_MAX)
		return false;
	for (size_t k = 0; k < n; k++)
		if (!is_upper(s[k]) && s[k] != '_' && (k == 0 || !is_digit(s[k])))
			return false;
	return true;
}

static int parse_secret_ref(struct jwalk *c, int obj, struct policy_inject *inj)
{
	struct jwalk_field f[] = { { "secret", -1 } };
	int r;

	if ((r = jwalk_fields(c, obj, f, 1)) != 0 || (r = jwalk_need(c, &f[0])) != 0)
		return r;
	size_t saved = jwalk_key(c, "secret");
	long n = jwalk_str(c, f[0].tok, inj->secret, sizeof inj->secret);
	if (n < 0)
		return (int)n;
	if (!policy_secret_name_valid(inj->secret, (size_t)n))
		return jwalk_fail(c, -EINVAL, "must match ^[A-Z_][A-Z0-9_]*$");
	jwalk_pop(c, saved);
	return 0;
}

static int cmp_inject(const void *a, const void *b)
{
	return strcmp(((const struct policy_inject *)a)->header, ((const struct policy_inject *)b)->header);
}

/* The strip list is parsed first: a header both stripped and injected
 * means the same as injected alone (injection replaces), so it is refused
 * rather than given two spellings. */
static int parse_inject(struct jwalk *c, int obj, struct policy_rule *rule)
{
	const struct json_doc *d = c->d;
	int j = obj + 1, r;

	if ((r = jwalk_want(c, obj, JSMN_OBJECT)) != 0 ||
	    (r = jwalk_count(c, obj, POLICY_MAX_INJECT, "headers")) != 0)
		return r;
	for (int k = 0; k < d->t[obj].size; k++, j = json_skip(d, j + 1)) {
		struct policy_inject *inj = &rule->inject[rule->ninject];
		size_t saved = jwalk_push(c, "{%d}", k);
		long n = jwalk_str(c, j, inj->header, sizeof inj->header);
		if (n < 0)
			return (int)n;
		if ((r = check_header(c, inj->header, (size_t)n)) != 0)
			return r;
		jwalk_pop(c, saved);
		saved = jwalk_key(c, inj->header);
		for (unsigned m = 0; m < rule->ninject; m++)
			if (strcmp(rule->inject[m].header, inj->header) == 0)
				return jwalk_fail(c, -EINVAL, "key given twice");
		for (unsigned m = 0; m < rule->nstrip; m++)
			if (strcmp(rule->strip_headers[m], inj->header) == 0)
				return jwalk_fail(c, -EINVAL, "also in strip_headers (injecting replaces it)");
		if ((r = parse_secret_ref(c, j + 1, inj)) != 0)
			return r;
		rule->ninject++;
		jwalk_pop(c, saved);
	}
	qsort(rule->inject, rule->ninject, sizeof rule->inject[0], cmp_inject);
	return 0;
}

/* --- egress ------------------------------------------------------------------ */

static int parse_rule(struct jwalk *c, int obj, struct policy_rule *rule)
{
	enum { F_HOST, F_PORTS, F_TLS, F_PURPOSE, F_ADDR, F_METHODS, F_PATHS, F_STRIP, F_INJECT,
	       F_LOGPATH, F_WS, F_N };
	struct jwalk_field f[F_N] = {
		[F_HOST] = { "host", -1 }, [F_PORTS] = { "ports", -1 }, [F_TLS] = { "tls", -1 },
		[F_PURPOSE] = { "purpose", -1 }, [F_ADDR] = { "addresses", -1 },
		[F_METHODS] = { "methods", -1 }, [F_PATHS] = { "path_prefixes", -1 },
		[F_STRIP] = { "strip_headers", -1 }, [F_INJECT] = { "inject_headers", -1 },
		[F_LOGPATH] = { "log_path", -1 },
		[F_WS] = { "websocket", -1 },
	};
	size_t saved;
	int r = 0;

	if ((r = jwalk_fields(c, obj, f, F_N)) != 0 || (r = jwalk_need(c, &f[F_HOST])) != 0 ||
	    (r = jwalk_need(c, &f[F_PORTS])) != 0 || (r = jwalk_need(c, &f[F_PURPOSE])) != 0)
		return r;
	rule->tls = POLICY_TLS_ORIGINATE;
#define FIELD(idx, call) do {					\
		if (f[idx].tok >= 0) {				\
			saved = jwalk_key(c, f[idx].key);	\
			if ((r = (call)) != 0)			\
				return r;			\
			jwalk_pop(c, saved);			\
		}						\
	} while (0)
	FIELD(F_HOST, parse_host(c, f[F_HOST].tok, rule));
	FIELD(F_PORTS, parse_ports(c, f[F_PORTS].tok, rule));
	FIELD(F_TLS, parse_tls(c, f[F_TLS].tok, &rule->tls));
	FIELD(F_PURPOSE, parse_purpose(c, f[F_PURPOSE].tok, rule));
	FIELD(F_ADDR, parse_addresses(c, f[F_ADDR].tok, rule));
	if (rule->tls == POLICY_TLS_PASSTHROUGH) {
		/* The proxy sees no HTTP inside a passthrough connection. */
		for (int k = F_METHODS; k <= F_WS; k++) {
			if (f[k].tok < 0)
				continue;
			saved = jwalk_key(c, f[k].key);
			return jwalk_fail(c, -EINVAL, "only with tls \"originate\" (passthrough is opaque)");
		}
		return 0;
	}
	rule->methods = POLICY_METHODS_ALL;
	FIELD(F_METHODS, parse_name_set(c, f[F_METHODS].tok, method_names, POLICY_M_N,
					"must list at least one method (leave it out for all)",
					"DELETE GET HEAD OPTIONS PATCH POST PUT", &rule->methods));
	FIELD(F_PATHS, parse_paths(c, f[F_PATHS].tok, rule));
	if (f[F_PATHS].tok < 0) {
		strcpy(rule->path_prefixes[0], "/");
		rule->npaths = 1;
	}
	FIELD(F_STRIP, parse_strip(c, f[F_STRIP].tok, rule));
	FIELD(F_INJECT, parse_inject(c, f[F_INJECT].tok, rule));
	FIELD(F_LOGPATH, parse_log_path(c, f[F_LOGPATH].tok, &rule->log_path_hash));
	FIELD(F_WS, jwalk_bool(c, f[F_WS].tok, &rule->websocket));
#undef FIELD
	return 0;
}

static int parse_egress(struct jwalk *c, int arr, struct policy *p)
{
	struct jwalk_items it;
	int r;

	if ((r = jwalk_items_open(c, arr, POLICY_MAX_RULES, "rules", NULL, &it)) != 0)
		return r;
	while (jwalk_items_next(c, &it)) {
		if ((r = parse_rule(c, it.j, &p->rules[it.k])) != 0)
			return r;
		p->nrules++;
	}
	return 0;
}

/* --- store ------------------------------------------------------------------ */

/* Exactly 2 * n lowercase hex digits into out[n]; what names the value. */
static int parse_hex(struct jwalk *c, int i, uint8_t *out, size_t n, const char *what)
{
	char hex[2 * POLICY_KMS_KEY_LEN + 2];
	long len;

	if (jwalk_want(c, i, JSMN_STRING) != 0)
		return -EINVAL;
	len = json_str(c->d, i, hex, sizeof hex);
	if (len < 0 || (size_t)len != 2 * n)
		return jwalk_fail(c, -EINVAL, "must be %zu lowercase hex digits (%s)", 2 * n, what);
	for (size_t k = 0; k < 2 * n; k++)
		if (!is_digit(hex[k]) && !(hex[k] >= 'a' && hex[k] <= 'f'))
			return jwalk_fail(c, -EINVAL, "must be %zu lowercase hex digits (%s)", 2 * n, what);
	hex_decode(out, n, hex, 2 * n);
	explicit_bzero(hex, sizeof hex);
	return 0;
}

/* "http[s]://HOST[:PORT][/PATH]": a DNS name (lowercase, as for egress
 * hosts; a name, because with https it is what the KMS's certificate is
 * checked against), a port 1..65535 without leading zeros (80 or 443 when
 * absent), a path of the egress path characters ("/" when absent). */
static int parse_kms_url(struct jwalk *c, int i, struct policy_store *st)
{
	static const char http[] = "http://", https[] = "https://";
	char url[8 + POLICY_HOST_MAX + 6 + POLICY_PATH_MAX + 1];
	long n = jwalk_str(c, i, url, sizeof url);
	size_t skip;
	int r;

	if (n < 0)
		return (int)n;
	if ((size_t)n != strlen(url))
		return jwalk_fail(c, -EINVAL, "must not contain a NUL byte");
	if (strncmp(url, http, sizeof http - 1) == 0)
		skip = sizeof http - 1;
	else if (strncmp(url, https, sizeof https - 1) == 0)
		skip = sizeof https - 1;
	else
		return jwalk_fail(c, -EINVAL, "must start with http:// or https://");
	st->kms_tls = skip == sizeof https - 1;
	const char *h = url + skip;
	size_t hl = strcspn(h, ":/");
	if (hl == 0 || hl > POLICY_HOST_MAX)
		return jwalk_fail(c, -EINVAL, "needs a host name of 1..%d bytes", POLICY_HOST_MAX);
	memcpy(st->kms_host, h, hl);
	st->kms_host[hl] = '\0';
	if ((r = check_dns_name(c, st->kms_host)) != 0)
		return r;
	const char *q = h + hl;
	st->kms_port = st->kms_tls ? 443 : 80;
	if (*q == ':') {
		uint32_t port = 0;
		size_t k = 1;
		for (; is_digit(q[k]) && k <= 5; k++)
			port = port * 10 + (uint32_t)(q[k] - '0');
		if (k == 1 || k > 6 || q[1] == '0' || port > 65535 || (q[k] != '/' && q[k] != '\0'))
			return jwalk_fail(c, -EINVAL, "the port must be a number 1..65535");
		st->kms_port = (uint16_t)port;
		q += k;
	}
	if (*q == '\0') {
		strcpy(st->kms_path, "/");
		return 0;
	}
	size_t pl = strlen(q);
	if (pl > POLICY_PATH_MAX)
		return jwalk_fail(c, -EINVAL, "the path is longer than %d bytes", POLICY_PATH_MAX);
	if ((r = check_path_prefix(c, q, pl)) != 0)
		return r;
	memcpy(st->kms_path, q, pl + 1);
	return 0;
}

/* The pinned key must be a point of P-256: decoding it (a multiplication
 * by one) is BearSSL's own check. */
static int parse_kms_key(struct jwalk *c, int i, struct policy_store *st)
{
	static const uint8_t one[1] = { 1 };
	uint8_t pt[POLICY_KMS_KEY_LEN];
	int r;

	if ((r = parse_hex(c, i, st->kms_public_key, sizeof st->kms_public_key,
			   "an uncompressed P-256 point, 04 || X || Y")) != 0)
		return r;
	memcpy(pt, st->kms_public_key, sizeof pt);
	if (pt[0] != 0x04 || br_ec_get_default()->mul(pt, sizeof pt, one, sizeof one, BR_EC_secp256r1) != 1)
		return jwalk_fail(c, -EINVAL, "is not a point of P-256 (uncompressed, 04 || X || Y)");
	return 0;
}

/* What the KMS takes as an id (docs/KMS.md): 1..63 of [A-Za-z0-9._-],
 * not '.' first; keyd records it as the RTMR3 event "app-id". */
static int parse_app_id(struct jwalk *c, int i, struct policy_store *st)
{
	long n = jwalk_str(c, i, st->kms_app_id, sizeof st->kms_app_id);

	if (n < 0)
		return (int)n;
	if ((size_t)n != strlen(st->kms_app_id) || st->kms_app_id[0] == '.' ||
	    !receipt_id_ok(st->kms_app_id, (size_t)n))
		return jwalk_fail(c, -EINVAL, "must be 1..%d characters of [A-Za-z0-9._-], not '.' first",
				  POLICY_KMS_APP_ID_MAX);
	return 0;
}

static int parse_kms(struct jwalk *c, int obj, struct policy_store *st)
{
	struct jwalk_field f[] = { { "url", -1 }, { "public_key", -1 }, { "app_id", -1 },
				   { "on_rollback", -1 }, { "tls_spki_sha256", -1 } };
	size_t saved;
	int r;

	if ((r = jwalk_fields(c, obj, f, 5)) != 0 || (r = jwalk_need(c, &f[0])) != 0 ||
	    (r = jwalk_need(c, &f[1])) != 0 || (r = jwalk_need(c, &f[2])) != 0)
		return r;
	saved = jwalk_key(c, "url");
	if ((r = parse_kms_url(c, f[0].tok, st)) != 0)
		return r;
	jwalk_pop(c, saved);
	saved = jwalk_key(c, "public_key");
	if ((r = parse_kms_key(c, f[1].tok, st)) != 0)
		return r;
	jwalk_pop(c, saved);
	saved = jwalk_key(c, "app_id");
	if ((r = parse_app_id(c, f[2].tok, st)) != 0)
		return r;
	jwalk_pop(c, saved);
	if (f[3].tok >= 0) {
		saved = jwalk_key(c, "on_rollback");
		if (json_str_eq(c->d, f[3].tok, "flag"))
			st->kms_rollback_flag = true;
		else if (!json_str_eq(c->d, f[3].tok, "refuse"))
			return jwalk_fail(c, -EINVAL, "must be \"refuse\" or \"flag\"");
		jwalk_pop(c, saved);
	}
	if (f[4].tok >= 0) {
		saved = jwalk_key(c, "tls_spki_sha256");
		if (!st->kms_tls)
			return jwalk_fail(c, -EINVAL, "only with an https:// url");
		if ((r = parse_hex(c, f[4].tok, st->kms_tls_spki_sha256,
				   sizeof st->kms_tls_spki_sha256,
				   "SHA-256 of the KMS certificate's SubjectPublicKeyInfo")) != 0)
			return r;
		st->kms_has_tls_pin = true;
		jwalk_pop(c, saved);
	}
	return 0;
}

/* The store section: which provider (and only its own fields), the
 * cipher (one allowed, written in the canonical form so that the
 * measurement names it) and the integrity mode ("none" or "hmac-sha256";
 * "aes-gcm" is not built, and a policy asking for it is refused rather
 * than ignored). */
static int parse_store(struct jwalk *c, int obj, struct policy_store *st)
{
	enum { F_KP, F_DEV, F_KMS, F_CIPHER, F_INTEGRITY, F_N };
	struct jwalk_field f[F_N] = {
		[F_KP] = { "key_provider", -1 }, [F_DEV] = { "insecure_dev_key", -1 },
		[F_KMS] = { "kms", -1 }, [F_CIPHER] = { "cipher", -1 },
		[F_INTEGRITY] = { "integrity", -1 },
	};
	size_t saved;
	int r;

	if ((r = jwalk_want(c, obj, JSMN_OBJECT)) != 0 || (r = jwalk_fields(c, obj, f, F_N)) != 0 ||
	    (r = jwalk_need(c, &f[F_KP])) != 0)
		return r;
	saved = jwalk_key(c, "key_provider");
	if (json_str_eq(c->d, f[F_KP].tok, "dev"))
		st->provider = POLICY_KP_DEV;
	else if (json_str_eq(c->d, f[F_KP].tok, "kms"))
		st->provider = POLICY_KP_KMS;
	else
		return jwalk_fail(c, -EINVAL, "must be \"dev\" or \"kms\" (leave \"store\" out for none)");
	jwalk_pop(c, saved);
	int mine = st->provider == POLICY_KP_DEV ? F_DEV : F_KMS;
	int other = st->provider == POLICY_KP_DEV ? F_KMS : F_DEV;
	if (f[other].tok >= 0) {
		saved = jwalk_key(c, f[other].key);
		return jwalk_fail(c, -EINVAL, "only with key_provider \"%s\"",
				  other == F_DEV ? "dev" : "kms");
	}
	if ((r = jwalk_need(c, &f[mine])) != 0)
		return r;
	saved = jwalk_key(c, f[mine].key);
	if (st->provider == POLICY_KP_DEV)
		r = parse_hex(c, f[F_DEV].tok, st->dev_key, sizeof st->dev_key, "the 64-byte disk key");
	else
		r = parse_kms(c, f[F_KMS].tok, st);
	if (r != 0)
		return r;
	jwalk_pop(c, saved);
	if (f[F_CIPHER].tok >= 0) {
		saved = jwalk_key(c, "cipher");
		if (!json_str_eq(c->d, f[F_CIPHER].tok, POLICY_STORE_CIPHER))
			return jwalk_fail(c, -EINVAL, "must be \"" POLICY_STORE_CIPHER "\" (the only one built)");
		jwalk_pop(c, saved);
	}
	if (f[F_INTEGRITY].tok >= 0) {
		saved = jwalk_key(c, "integrity");
		if (json_str_eq(c->d, f[F_INTEGRITY].tok, "hmac-sha256"))
			st->integrity = POLICY_INTEGRITY_HMAC_SHA256;
		else if (json_str_eq(c->d, f[F_INTEGRITY].tok, "aes-gcm"))
			return jwalk_fail(c, -EINVAL, "\"aes-gcm\" is not built: \"none\" or \"hmac-sha256\"");
		else if (!json_str_eq(c->d, f[F_INTEGRITY].tok, "none"))
			return jwalk_fail(c, -EINVAL, "must be \"none\", \"aes-gcm\" or \"hmac-sha256\"");
		jwalk_pop(c, saved);
	}
	return 0;
}

/* --- the document ----------------------------------------------------------------- */

static int parse_admin_token(struct jwalk *c, int i, struct policy *p)
{
	char hex[65];
	long n;

	if (jwalk_want(c, i, JSMN_STRING) != 0)
		return -EINVAL;
	n = json_str(c->d, i, hex, sizeof hex);
	if (n != 64)
		return jwalk_fail(c, -EINVAL, "must be 64 lowercase hex digits (SHA-256 of the token)");
	for (int k = 0; k < 64; k++)
		if (!is_digit(hex[k]) && !(hex[k] >= 'a' && hex[k] <= 'f'))
			return jwalk_fail(c, -EINVAL, "must be 64 lowercase hex digits (SHA-256 of the token)");
	hex_decode(p->admin_token_sha256, sizeof p->admin_token_sha256, hex, 64);
	return 0;
}

static int cmp_anchor(const void *a, const void *b)
{
	const struct policy_anchor *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->der, y->der, n);

	return r != 0 ? r : (int)x->len - (int)y->len;
}

/* One certificate of extra_anchors: BearSSL must read it, and it must
 * say it is a CA (basicConstraints): netd validates upstream chains with
 * it, as it does with the image's roots. (Whether its key and Name fit
 * an anchor record is tls/anchors.h's anchors_record(), which mkpolicy
 * and netd run on it.) */
static int check_anchor(struct jwalk *c, const struct policy_anchor *a)
{
	br_x509_decoder_context dc;

	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, a->der, a->len);
	if (br_x509_decoder_get_pkey(&dc) == NULL)
		return jwalk_fail(c, -EINVAL, "not an X.509 certificate BearSSL reads (its error %d)",
				  br_x509_decoder_last_error(&dc));
	if (!br_x509_decoder_isCA(&dc))
		return jwalk_fail(c, -EINVAL, "not a CA certificate (basicConstraints)");
	return 0;
}

/* extra_anchors: base64 (RFC 4648, one line) of each certificate's DER. */
static int parse_anchors(struct jwalk *c, int arr, struct policy *p)
{
	char b64[BASE64_ENCODED_LEN(POLICY_ANCHOR_DER_MAX) + 1];
	struct jwalk_items it;
	int r;

	if ((r = jwalk_items_open(c, arr, POLICY_MAX_ANCHORS, "extra_anchors", NULL, &it)) != 0)
		return r;
	while (jwalk_items_next(c, &it)) {
		struct policy_anchor *a = &p->anchors[p->nanchors];
		long n = jwalk_str(c, it.j, b64, sizeof b64);
		if (n < 0)
			return (int)n;
		long d = base64_decode(a->der, sizeof a->der, b64, (size_t)n);
		if (d < 0)
			return jwalk_fail(c, -EINVAL, d == -ENOSPC ?
					  "a certificate of over %d bytes" :
					  "must be base64 (RFC 4648, padded, one line) of a DER certificate",
					  POLICY_ANCHOR_DER_MAX);
		a->len = (uint16_t)d;
		if ((r = check_anchor(c, a)) != 0)
			return r;
		for (unsigned k = 0; k < p->nanchors; k++)
			if (cmp_anchor(&p->anchors[k], a) == 0)
				return jwalk_fail(c, -EINVAL, "is listed twice");
		p->nanchors++;
	}
	qsort(p->anchors, p->nanchors, sizeof p->anchors[0], cmp_anchor);
	return 0;
}

static int parse_root(struct jwalk *c, int obj, struct policy *p)
{
	enum { F_FORMAT, F_ADMIN, F_ATTEST, F_FUNCTIONS, F_EGRESS, F_ANCHORS, F_STORE, F_N };
	struct jwalk_field f[F_N] = {
		[F_FORMAT] = { "format", -1 }, [F_ADMIN] = { "admin_token_sha256", -1 },
		[F_ATTEST] = { "attestation", -1 }, [F_FUNCTIONS] = { "functions", -1 },
		[F_EGRESS] = { "egress", -1 }, [F_ANCHORS] = { "extra_anchors", -1 },
		[F_STORE] = { "store", -1 },
	};
	size_t saved;
	int r;

	if ((r = jwalk_fields(c, obj, f, F_N)) != 0 || (r = jwalk_need(c, &f[F_FORMAT])) != 0)
		return r;
	saved = jwalk_key(c, "format");
	if (!json_is(c->d, f[F_FORMAT].tok, JSMN_PRIMITIVE) || !json_text_eq(c->d, f[F_FORMAT].tok, "1"))
		return jwalk_fail(c, -EINVAL, "must be %d (the only format understood)", POLICY_FORMAT);
	jwalk_pop(c, saved);
	if ((r = jwalk_need(c, &f[F_ADMIN])) != 0)
		return r;
	saved = jwalk_key(c, "admin_token_sha256");
	if ((r = parse_admin_token(c, f[F_ADMIN].tok, p)) != 0)
		return r;
	jwalk_pop(c, saved);
	if (f[F_ATTEST].tok >= 0) {
		saved = jwalk_key(c, "attestation");
		if ((r = parse_attestation(c, f[F_ATTEST].tok, p)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	p->runtimes = 1u << POLICY_RT_NATIVE;
	p->max_functions = DEFAULT_MAX_FUNCTIONS;
	for (size_t k = 0; k < POLICY_NLIMITS; k++) {
		*policy_limit_at(&p->default_limits, k) = policy_limit_defs[k].def_default;
		*policy_limit_at(&p->max_limits, k) = policy_limit_defs[k].def_max;
	}
	saved = jwalk_key(c, "functions");
	if ((r = parse_functions(c, f[F_FUNCTIONS].tok, p)) != 0)
		return r;
	jwalk_pop(c, saved);
	if (f[F_EGRESS].tok >= 0) {
		saved = jwalk_key(c, "egress");
		if ((r = parse_egress(c, f[F_EGRESS].tok, p)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	if (f[F_ANCHORS].tok >= 0) {
		saved = jwalk_key(c, "extra_anchors");
		if ((r = parse_anchors(c, f[F_ANCHORS].tok, p)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	if (f[F_STORE].tok >= 0) {
		saved = jwalk_key(c, "store");
		if ((r = parse_store(c, f[F_STORE].tok, &p->store)) != 0)
			return r;
		jwalk_pop(c, saved);
	}
	return 0;
}

int policy_from_json(const struct json_doc *d, int obj, struct policy *p,
		     char *err, size_t errlen)
{
	struct jwalk c = { .d = d, .err = err, .errlen = errlen };
	int r;

	memset(p, 0, sizeof *p);
	if (!json_is(d, obj, JSMN_OBJECT))
		return errbuf_set(err, errlen, -EINVAL, "(top level): must be an object");
	r = parse_root(&c, obj, p);
	if (r != 0)
		memset(p, 0, sizeof *p);
	return r;
}

int policy_parse(const char *json, size_t len, struct policy_tokens *scratch,
		 struct policy *p, char *err, size_t errlen)
{
	struct json_doc d;
	int r;

	memset(p, 0, sizeof *p);
	if (len > POLICY_MAX_BYTES)
		return errbuf_set(err, errlen, -EFBIG, "%zu bytes, at most %u", len, POLICY_MAX_BYTES);
	if (memchr(json, '\0', len))
		return errbuf_set(err, errlen, -EINVAL, "contains a NUL byte");
	r = json_parse(&d, json, len, scratch->t, POLICY_MAX_TOKENS);
	if (r == -E2BIG)
		return errbuf_set(err, errlen, -E2BIG, "more than %d JSON tokens", POLICY_MAX_TOKENS);
	if (r == 0)
		r = json_validate(&d, POLICY_MAX_DEPTH);
	if (r == -E2BIG)
		return errbuf_set(err, errlen, -E2BIG, "nested deeper than %d (byte %zu)",
				  POLICY_MAX_DEPTH, d.err_at);
	if (r != 0)
		return errbuf_set(err, errlen, -EINVAL, "not valid JSON (near byte %zu)", d.err_at);
	return policy_from_json(&d, 0, p, err, errlen);
}

/* --- canonical form -------------------------------------------------------------- */

static void write_limits(struct jsonw *w, const char *key, const struct policy_limits *l)
{
	jw_key(w, key);
	jw_object_begin(w);
	for (size_t k = 0; k < POLICY_NLIMITS; k++) {
		jw_key(w, policy_limit_defs[k].key);
		jw_u64(w, policy_limit_get(l, k));
	}
	jw_object_end(w);
}

static void write_cidr(struct jsonw *w, const struct policy_cidr *a)
{
	char s[24];
	snprintf(s, sizeof s, "%u.%u.%u.%u/%u", a->addr >> 24, a->addr >> 16 & 255,
		 a->addr >> 8 & 255, a->addr & 255, a->prefix);
	jw_string(w, s);
}

static void write_rule(struct jsonw *w, const struct policy_rule *r)
{
	jw_object_begin(w);
	jw_key(w, "host");
	jw_string(w, r->host);
	jw_key(w, "ports");
	jw_array_begin(w);
	for (unsigned k = 0; k < r->nports; k++)
		jw_u64(w, r->ports[k]);
	jw_array_end(w);
	jw_key(w, "tls");
	jw_string(w, r->tls == POLICY_TLS_PASSTHROUGH ? "passthrough" : "originate");
	jw_key(w, "purpose");
	jw_string(w, r->purpose);
	jw_key(w, "addresses");
	jw_array_begin(w);
	for (unsigned k = 0; k < r->naddresses; k++)
		write_cidr(w, &r->addresses[k]);
	jw_array_end(w);
	if (r->tls == POLICY_TLS_ORIGINATE) {
		jw_key(w, "methods");
		jw_array_begin(w);
		for (unsigned m = 0; m < POLICY_M_N; m++)
			if (r->methods & 1u << m)
				jw_string(w, method_names[m]);
		jw_array_end(w);
		jw_key(w, "path_prefixes");
		jw_array_begin(w);
		for (unsigned k = 0; k < r->npaths; k++)
			jw_string(w, r->path_prefixes[k]);
		jw_array_end(w);
		jw_key(w, "strip_headers");
		jw_array_begin(w);
		for (unsigned k = 0; k < r->nstrip; k++)
			jw_string(w, r->strip_headers[k]);
		jw_array_end(w);
		jw_key(w, "inject_headers");
		jw_object_begin(w);
		for (unsigned k = 0; k < r->ninject; k++) {
			jw_key(w, r->inject[k].header);
			jw_object_begin(w);
			jw_key(w, "secret");
			jw_string(w, r->inject[k].secret);
			jw_object_end(w);
		}
		jw_object_end(w);
		/* only when not the default: policies written before keep their bytes */
		if (r->log_path_hash) {
			jw_key(w, "log_path");
			jw_string(w, "hash");
		}
		/* only when true: the policies written before it keep their bytes */
		if (r->websocket) {
			jw_key(w, "websocket");
			jw_bool(w, true);
		}
	}
	jw_object_end(w);
}

/* Written only when the policy has one: "no store" has one spelling, the
 * absent section, and the policies written before it keep their bytes. */
static void write_store(struct jsonw *w, const struct policy_store *st)
{
	char url[8 + POLICY_HOST_MAX + 6 + POLICY_PATH_MAX + 1];

	jw_key(w, "store");
	jw_object_begin(w);
	jw_key(w, "key_provider");
	jw_string(w, key_provider_names[st->provider]);
	if (st->provider == POLICY_KP_DEV) {
		jw_key(w, "insecure_dev_key");
		jw_hex(w, st->dev_key, sizeof st->dev_key);
	} else {
		jw_key(w, "kms");
		jw_object_begin(w);
		jw_key(w, "url");
		snprintf(url, sizeof url, "%s://%s:%u%s", st->kms_tls ? "https" : "http", st->kms_host,
			 st->kms_port, st->kms_path);
		jw_string(w, url);
		jw_key(w, "public_key");
		jw_hex(w, st->kms_public_key, sizeof st->kms_public_key);
		jw_key(w, "app_id");
		jw_string(w, st->kms_app_id);
		jw_key(w, "on_rollback");
		jw_string(w, st->kms_rollback_flag ? "flag" : "refuse");
		if (st->kms_has_tls_pin) {
			jw_key(w, "tls_spki_sha256");
			jw_hex(w, st->kms_tls_spki_sha256, sizeof st->kms_tls_spki_sha256);
		}
		jw_object_end(w);
	}
	jw_key(w, "cipher");
	jw_string(w, POLICY_STORE_CIPHER);
	jw_key(w, "integrity");
	jw_string(w, policy_integrity_name(st->integrity));
	jw_object_end(w);
}

long policy_write(const struct policy *p, char *out, size_t cap)
{
	struct jsonw w;

	jw_init(&w, out, cap);
	jw_object_begin(&w);
	jw_key(&w, "format");
	jw_u64(&w, POLICY_FORMAT);
	jw_key(&w, "admin_token_sha256");
	jw_hex(&w, p->admin_token_sha256, sizeof p->admin_token_sha256);
	jw_key(&w, "attestation");
	jw_object_begin(&w);
	jw_key(&w, "allow_sim");
	jw_bool(&w, p->allow_sim);
	jw_object_end(&w);
	jw_key(&w, "functions");
	jw_object_begin(&w);
	jw_key(&w, "runtimes");
	jw_array_begin(&w);
	for (unsigned rt = 0; rt < POLICY_RT_N; rt++)
		if (p->runtimes & 1u << rt)
			jw_string(&w, runtime_names[rt]);
	jw_array_end(&w);
	jw_key(&w, "max");
	jw_u64(&w, p->max_functions);
	jw_key(&w, "public_invoke");
	jw_bool(&w, p->public_invoke);
	write_limits(&w, "default_limits", &p->default_limits);
	write_limits(&w, "max_limits", &p->max_limits);
	jw_object_end(&w);
	jw_key(&w, "egress");
	jw_array_begin(&w);
	for (unsigned k = 0; k < p->nrules; k++)
		write_rule(&w, &p->rules[k]);
	jw_array_end(&w);
	if (p->nanchors > 0) {   /* absent when none, as store: older policies keep their bytes */
		char b64[BASE64_ENCODED_LEN(POLICY_ANCHOR_DER_MAX) + 1];
		jw_key(&w, "extra_anchors");
		jw_array_begin(&w);
		for (unsigned k = 0; k < p->nanchors; k++) {
			base64_encode(b64, p->anchors[k].der, p->anchors[k].len);
			jw_string(&w, b64);
		}
		jw_array_end(&w);
	}
	if (p->store.provider != POLICY_KP_NONE)
		write_store(&w, &p->store);
	jw_object_end(&w);
	return jw_finish(&w);
}

bool policy_equal(const struct policy *a, const struct policy *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}
