/* tests/fuzz/fuzz_egress.c: libFuzzer target for crypto/egress.h, the
 * parsers of what a function sends (names, authorities, hosts, request
 * paths). The first byte picks flags, the rest is the input. Beyond "no
 * crash", each output is checked:
 *   - a canonical name is no longer than its input, lowercase LDH, and a
 *     fixed point (canonical again in EGRESS_NAME_EXACT mode, same bytes);
 *   - an authority's host span lies inside the input, a port is 1..65535;
 *   - a host is a literal whose address text parses back to the same
 *     address, or a name as above; IPv4 literals agree with the classifier
 *     whatever their spelling;
 *   - a normalised path is no longer than its input, a fixed point, and
 *     matches against a fixed policy without a path-form refusal;
 *   - rule matching and the address check never report success with a
 *     reason, nor a refusal without one. */
#include "crypto/egress.h"
#include "crypto/policy.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\",\"egress\":["
	"{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"p\",\"path_prefixes\":[\"/v1\",\"/a/\"]},"
	"{\"host\":\"*.example.com\",\"ports\":[80,443],\"tls\":\"passthrough\",\"purpose\":\"p\"},"
	"{\"host\":\"db.example.net\",\"ports\":[5432],\"tls\":\"passthrough\",\"purpose\":\"p\","
	"\"addresses\":[\"10.0.0.0/8\"]}]}";

static struct policy pol;
static struct policy_tokens toks;
static bool pol_ready;

static void check_name(size_t n, const char *out, long len)
{
	char again[EGRESS_NAME_MAX + 1], err[ERRBUF_LEN];
	enum egress_reason why;

	if (len < 0)
		return;
	if ((size_t)len > n || (size_t)len > EGRESS_NAME_MAX || strlen(out) != (size_t)len)
		abort();
	for (long k = 0; k < len; k++)
		if (!((out[k] >= 'a' && out[k] <= 'z') || (out[k] >= '0' && out[k] <= '9') ||
		      out[k] == '-' || out[k] == '.'))
			abort();
	if (egress_name_canon(out, (size_t)len, EGRESS_NAME_EXACT, again, sizeof again, &why,
			      err, sizeof err) != len || memcmp(again, out, (size_t)len) != 0)
		abort();
}

static void check_match(const char *name, uint16_t port, const char *method, const char *path)
{
	enum egress_reason why = EGRESS_R_N;
	char err[ERRBUF_LEN];
	int r = egress_match(&pol, ~0u, name, port, method, path, &why, err, sizeof err);

	if (r >= 0 ? (why != EGRESS_OK || (unsigned)r >= pol.nrules) : (r != -EACCES || why == EGRESS_OK))
		abort();
}

static void check_host(const char *s, size_t n, bool bracketed, uint16_t port)
{
	struct egress_host h;
	struct egress_addr back;
	enum egress_reason why = EGRESS_R_N;
	char err[ERRBUF_LEN];

	if (egress_host_parse(s, n, bracketed, &h, &why, err, sizeof err) != 0) {
		if (why == EGRESS_OK)
			abort();
		return;
	}
	if (!h.literal) {
		check_name(n, h.name, (long)h.name_len);
		check_match(h.name, port, NULL, NULL);
		return;
	}
	/* the address text names the same address */
	if (!egress_ip_literal(h.name, h.name_len, &back) || memcmp(&back, &h.addr, sizeof back) != 0)
		abort();
	for (unsigned k = 0; k < pol.nrules; k++) {
		int r = egress_addr_allowed(&pol.rules[k], &h.addr, &why, err, sizeof err);
		if ((r == 0) != (why == EGRESS_OK))
			abort();
	}
	int r = egress_match_literal(&pol, ~0u, &h.addr, port, NULL, NULL, &why, err, sizeof err);
	if ((r >= 0) != (why == EGRESS_OK))
		abort();
	/* rules name only 10/8: a literal gets through only from there */
	if (r >= 0 && egress_addr_class(&h.addr) != EGRESS_C_PRIVATE)
		abort();
}

static void check_path(const char *s, size_t n)
{
	char out[1024], again[1024], err[ERRBUF_LEN];
	size_t plen = 0, plen2 = 0;
	enum egress_reason why;
	long len;

	if (n >= sizeof out)
		return;
	len = egress_path_norm(s, n, out, sizeof out, &plen, &why, err, sizeof err);
	if (len < 0)
		return;
	if ((size_t)len > n || plen > (size_t)len || out[0] != '/' || strlen(out) != (size_t)len)
		abort();
	if (egress_path_norm(out, (size_t)len, again, sizeof again, &plen2, &why, err, sizeof err) != len ||
	    memcmp(out, again, (size_t)len) != 0 || plen2 != plen)
		abort();
	/* a normal path is never refused for its form */
	if (egress_match(&pol, ~0u, "api.example.com", 443, "GET", out, &why, err, sizeof err) < 0 &&
	    why != EGRESS_R_PATH)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[EGRESS_NAME_MAX + 1], err[ERRBUF_LEN];
	struct egress_authority a;
	enum egress_reason why;
	const char *s;
	size_t n;
	long len;

	if (!pol_ready) {
		if (policy_parse(POLICY, strlen(POLICY), &toks, &pol, err, sizeof err) != 0)
			abort();
		pol_ready = true;
	}
	if (size < 1)
		return 0;
	s = (const char *)data + 1;
	n = size - 1;

	switch (data[0] & 3) {
	case 0:
		len = egress_name_canon(s, n, data[0] >> 2 & 1 ? EGRESS_NAME_EXACT : 0, out, sizeof out,
					&why, err, sizeof err);
		if ((len >= 0) != (why == EGRESS_OK))
			abort();
		check_name(n, out, len);
		break;
	case 1:
		if (egress_authority_split(s, n, &a, &why, err, sizeof err) != 0)
			break;
		if (a.host < s || a.host + a.host_len > s + n)
			abort();
		check_host(a.host, a.host_len, a.bracketed, a.port ? a.port : 443);
		break;
	case 2:
		check_host(s, n, data[0] >> 2 & 1, 443);
		break;
	default:
		check_path(s, n);
		break;
	}
	return 0;
}
