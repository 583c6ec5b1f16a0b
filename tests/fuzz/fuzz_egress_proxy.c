/* tests/fuzz/fuzz_egress_proxy.c: libFuzzer target for what a function
 * sends to the egress proxy on 127.0.0.1:3128 (net/egress_proxy.h): the
 * request head and, for a CONNECT, the decision on its authority. Beyond
 * "no crash":
 *   - the parser answers a head length within the input, 0 (more
 *     needed) or -EINVAL with a reason; a head ends in CRLFCRLF, its
 *     target lies inside it, and parsing exactly the head gives the same;
 *   - a shorter prefix of a complete head never is a complete head;
 *   - the decision for a CONNECT allows a passthrough rule with a
 *     canonical name (or a literal) and a port, or an originate rule by
 *     name only; for an http:// URL an originate rule by name only; and
 *     refuses with "code: text";
 *   - the Host check passes only an origin-form request with one Host
 *     for a name, or for an http:// URL target an absolute-form request
 *     whose URL names the target too. */
#include "net/egress_proxy.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\",\"egress\":["
	"{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"p\"},"
	"{\"host\":\"*.example.com\",\"ports\":[443,8443],\"tls\":\"passthrough\",\"purpose\":\"p\"},"
	"{\"host\":\"db.example.net\",\"ports\":[5432],\"tls\":\"passthrough\",\"purpose\":\"p\","
	"\"addresses\":[\"10.20.0.0/16\"]}]}";

static struct policy pol;
static struct policy_tokens toks;
static bool pol_ready;

static void check_decision(const struct egp_request *r)
{
	struct egp_target t;
	char err[ERRBUF_LEN];
	bool abs = r->kind == EGP_REQ_ABSOLUTE;

	err[0] = '\0';
	int d = abs ? egp_decide_absolute(&pol, 0x7, r->target, r->target_len, &t, err, sizeof err) :
		      egp_decide_authority(&pol, 0x7, r->target, r->target_len, &t, err, sizeof err);
	if (d == 0) {
		bool orig = pol.rules[t.rule].tls != POLICY_TLS_PASSTHROUGH;
		if (t.rule < 0 || (unsigned)t.rule >= pol.nrules || orig != t.originate ||
		    (orig && t.literal) || (abs && !orig) || abs != t.absolute || t.port == 0 ||
		    t.host[0] == '\0' || strlen(t.host) > EGRESS_NAME_MAX)
			abort();
		if (!t.literal) {
			for (const char *p = t.host; *p; p++)
				if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
				      *p == '.'))
					abort();
		}
	} else if (d != -EACCES || strchr(err, ':') == NULL) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRBUF_LEN];
	struct egp_request r, again;

	if (!pol_ready) {
		if (policy_parse(POLICY, strlen(POLICY), &toks, &pol, err, sizeof err) != 0)
			abort();
		pol_ready = true;
	}
	if (size > EGP_REQ_MAX)
		size = EGP_REQ_MAX;
	const char *s = (const char *)data;
	long h = egp_request_parse(s, size, &r, err, sizeof err);
	if (h < 0) {
		if (h != -EINVAL)
			abort();
		return 0;
	}
	if (h == 0)
		return 0;
	if ((size_t)h > size || h < 4 || memcmp(s + h - 4, "\r\n\r\n", 4) != 0 ||
	    r.head_len != (size_t)h || r.target < s || r.target + r.target_len > s + h ||
	    r.target_len == 0)
		abort();
	if (egp_request_parse(s, (size_t)h, &again, err, sizeof err) != h ||
	    again.kind != r.kind || again.target != r.target || again.target_len != r.target_len)
		abort();
	if (egp_request_parse(s, (size_t)h - 1, &again, err, sizeof err) != 0)
		abort();
	if (r.kind != EGP_REQ_ORIGIN)
		check_decision(&r);
	/* the first request of an originate connection: Host against a name */
	if ((r.host == NULL) != (r.nhost == 0) ||
	    (r.host != NULL && (r.host < s || r.host + r.host_len > s + h)))
		abort();
	struct egp_target t = { .host = "api.example.com", .port = 443 };
	int c = egp_check_host(&t, &r, err, sizeof err);
	if (c != 0 && c != -EACCES)
		abort();
	if (c == 0 && (r.kind != EGP_REQ_ORIGIN || r.nhost != 1))
		abort();
	t.absolute = true;
	c = egp_check_host(&t, &r, err, sizeof err);
	size_t al, path;
	if (c != 0 && c != -EACCES)
		abort();
	if (c == 0 && (r.kind != EGP_REQ_ABSOLUTE || r.nhost != 1 ||
		       egp_absolute_split(r.target, r.target_len, &al, &path) != 0 ||
		       path != 7 + al || path > r.target_len))
		abort();
	return 0;
}
