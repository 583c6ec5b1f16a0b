/* tests/test_policy.c: the operator's policy (crypto/policy.h): the
 * documented example, the canonical form (golden bytes, round trip, one
 * spelling for equal policies), a table of bad policies each with the JSON
 * path its error must name, the bounds of every field, and the size limits. */
#include "crypto/policy.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "tests/tap.h"
#include "tls/cert.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A policy that sets every field, sets written out of order. */
static const char BASE[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\",\"attestation\":{\"allow_sim\":false},"
	"\"functions\":{\"runtimes\":[\"python\",\"native\"],\"max\":4,"
	"\"default_limits\":{\"memory_mb\":64,\"pids\":16,\"cpu_millicores\":500,\"timeout_ms\":5000,\"tmp_mb\":8,\"output_kb\":256},"
	"\"max_limits\":{\"memory_mb\":256,\"pids\":64,\"cpu_millicores\":1000,\"timeout_ms\":30000,\"tmp_mb\":32,\"output_kb\":1024}},"
	"\"egress\":[{\"host\":\"api.example.com\",\"ports\":[8443,443],\"purpose\":\"test \\\"api\\\"\","
	"\"addresses\":[\"192.168.1.0/24\",\"10.0.0.0/8\"],\"methods\":[\"POST\",\"GET\"],"
	"\"path_prefixes\":[\"/v2\",\"/v1/\"],\"strip_headers\":[\"x-b\",\"cookie\"],"
	"\"inject_headers\":{\"x-key\":{\"secret\":\"KEY_2\"},\"authorization\":{\"secret\":\"API_KEY\"}}},"
	"{\"host\":\"*.example.org\",\"ports\":[443],\"tls\":\"passthrough\",\"purpose\":\"p\"}]}";

/* Its canonical form: key order fixed, sets sorted, defaults written. */
static const char BASE_CANON[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\",\"attestation\":{\"allow_sim\":false},"
	"\"functions\":{\"runtimes\":[\"native\",\"python\"],\"max\":4,\"public_invoke\":false,"
	"\"default_limits\":{\"memory_mb\":64,\"pids\":16,\"cpu_millicores\":500,\"timeout_ms\":5000,\"tmp_mb\":8,\"output_kb\":256,\"data_mb\":16,\"egress_kbps\":10000000,\"egress_conns\":1000},"
	"\"max_limits\":{\"memory_mb\":256,\"pids\":64,\"cpu_millicores\":1000,\"timeout_ms\":30000,\"tmp_mb\":32,\"output_kb\":1024,\"data_mb\":256,\"egress_kbps\":10000000,\"egress_conns\":1000}},"
	"\"egress\":[{\"host\":\"api.example.com\",\"ports\":[443,8443],\"tls\":\"originate\",\"purpose\":\"test \\\"api\\\"\","
	"\"addresses\":[\"10.0.0.0/8\",\"192.168.1.0/24\"],\"methods\":[\"GET\",\"POST\"],"
	"\"path_prefixes\":[\"/v1/\",\"/v2\"],\"strip_headers\":[\"cookie\",\"x-b\"],"
	"\"inject_headers\":{\"authorization\":{\"secret\":\"API_KEY\"},\"x-key\":{\"secret\":\"KEY_2\"}}},"
	"{\"host\":\"*.example.org\",\"ports\":[443],\"tls\":\"passthrough\",\"purpose\":\"p\",\"addresses\":[]}]}";

/* The smallest policy and every default it stands for. */
static const char MINIMAL[] = "{\"format\":1,\"admin_token_sha256\":\"" H "\"}";
static const char MINIMAL_CANON[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\",\"attestation\":{\"allow_sim\":false},"
	"\"functions\":{\"runtimes\":[\"native\"],\"max\":8,\"public_invoke\":false,"
	"\"default_limits\":{\"memory_mb\":128,\"pids\":32,\"cpu_millicores\":1000,\"timeout_ms\":10000,\"tmp_mb\":16,\"output_kb\":1024,\"data_mb\":16,\"egress_kbps\":10000000,\"egress_conns\":1000},"
	"\"max_limits\":{\"memory_mb\":512,\"pids\":128,\"cpu_millicores\":2000,\"timeout_ms\":60000,\"tmp_mb\":64,\"output_kb\":8192,\"data_mb\":256,\"egress_kbps\":10000000,\"egress_conns\":1000}},"
	"\"egress\":[]}";

static struct policy_tokens toks;
static struct policy pol, pol2;
static char err[ERRBUF_LEN];
static char canon[POLICY_CANON_MAX + 1], canon2[POLICY_CANON_MAX + 1];
static char doc[POLICY_MAX_BYTES + 64];

static int parse(const char *s)
{
	err[0] = '\0';
	return policy_parse(s, strlen(s), &toks, &pol, err, sizeof err);
}

/* doc = BASE with the first `from` replaced by `to`. */
static const char *edit(const char *from, const char *to)
{
	const char *p = strstr(BASE, from);
	if (!p) {
		printf("Bail out! test bug: '%s' not in BASE\n", from);
		exit(2);
	}
	snprintf(doc, sizeof doc, "%.*s%s%s", (int)(p - BASE), BASE, to, p + strlen(from));
	return doc;
}

/* The edit is refused with code and an error that begins with want
 * ("path: reason..."). */
static void refused(const char *from, const char *to, int code, const char *want)
{
	int r = parse(edit(from, to));
	ok(r == code && strncmp(err, want, strlen(want)) == 0, "refused: %s", want);
	if (r != code || strncmp(err, want, strlen(want)) != 0)
		diag("got %d \"%s\"", r, err);
}

static void accepted(const char *from, const char *to, const char *why)
{
	int r = parse(edit(from, to));
	ok(r == 0, "accepted: %s", why);
	if (r != 0)
		diag("got %d \"%s\"", r, err);
}

/* parse(canonical(p)) == p, and canonical is a fixed point. */
static void round_trip(const char *what)
{
	long n = policy_write(&pol, canon, sizeof canon);
	ok(n > 0 && (size_t)n == strlen(canon), "%s: canonical form written (%ld bytes)", what, n);
	ok(policy_parse(canon, (size_t)n, &toks, &pol2, err, sizeof err) == 0, "%s: canonical form parses", what);
	ok(policy_equal(&pol, &pol2), "%s: to an equal policy", what);
	long n2 = policy_write(&pol2, canon2, sizeof canon2);
	ok(n2 == n && memcmp(canon, canon2, (size_t)n) == 0, "%s: and to the same bytes", what);
}

static void test_example(void)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	uint8_t h[32];

	is_int(file_read_alloc("examples/policy.json", POLICY_MAX_BYTES, &buf, &len), 0,
	       "examples/policy.json is readable (run from the repository root)");
	is_int(buf ? policy_parse((char *)buf, len, &toks, &pol, err, sizeof err) : -1, 0,
	       "examples/policy.json parses");
	if (err[0])
		diag("%s", err);
	free(buf);
	hex_decode(h, sizeof h, "7fc096284db884c8173772258adf63eebbd217cc34843cffb9a4cfe70a8a4eab", 64);
	is_mem(pol.admin_token_sha256, h, 32, "example: admin token hash (of \"dshield-example-admin-token\")");
	ok(pol.allow_sim, "example: allow_sim (a development image)");
	is_int(pol.runtimes, 7, "example: all three runtimes");
	is_int(pol.nrules, 3, "example: three egress rules");
	is_str(pol.rules[0].inject[0].header, "authorization", "example: rule 0 injects authorization");
	is_str(pol.rules[0].inject[0].secret, "EXAMPLE_API_KEY", "example: from secret EXAMPLE_API_KEY");
	ok(pol.rules[1].wildcard && pol.rules[1].tls == POLICY_TLS_PASSTHROUGH, "example: rule 1 wildcard passthrough");
	ok(pol.rules[2].naddresses == 1 && pol.rules[2].addresses[0].addr == 0x0a140000u &&
	   pol.rules[2].addresses[0].prefix == 16, "example: rule 2 may reach 10.20.0.0/16");
	round_trip("example");
}

static void test_canonical(void)
{
	is_int(parse(MINIMAL), 0, "minimal policy parses");
	ok(policy_write(&pol, canon, sizeof canon) > 0 && strcmp(canon, MINIMAL_CANON) == 0,
	   "minimal: canonical form has every default");
	round_trip("minimal");

	is_int(parse(BASE), 0, "base policy parses");
	ok(policy_write(&pol, canon, sizeof canon) > 0 && strcmp(canon, BASE_CANON) == 0,
	   "base: canonical form (golden bytes)");
	if (strcmp(canon, BASE_CANON) != 0)
		diag("got %s", canon);
	is_int(pol.rules[0].nports, 2, "base: two ports");
	ok(pol.rules[0].ports[0] == 443 && pol.rules[0].ports[1] == 8443, "base: ports sorted");
	is_int(pol.rules[0].methods, 1u << POLICY_M_GET | 1u << POLICY_M_POST, "base: GET and POST");
	is_int(pol.rules[1].methods, 0, "passthrough: no HTTP fields");
	round_trip("base");

	/* log_path: "full" is the default, spelt by its absence; "hash" is
	 * written, last of the rule's keys. */
	is_int(parse(edit("\"purpose\":\"test", "\"log_path\":\"full\",\"purpose\":\"test")), 0,
	       "log_path \"full\" parses");
	ok(!pol.rules[0].log_path_hash && policy_write(&pol, canon, sizeof canon) > 0 &&
	   strcmp(canon, BASE_CANON) == 0, "log_path \"full\": the same bytes as without it");
	is_int(parse(edit("\"purpose\":\"test", "\"log_path\":\"hash\",\"purpose\":\"test")), 0,
	       "log_path \"hash\" parses");
	ok(pol.rules[0].log_path_hash && policy_write(&pol, canon, sizeof canon) > 0 &&
	   strstr(canon, "\"secret\":\"KEY_2\"}},\"log_path\":\"hash\"},") != NULL,
	   "log_path \"hash\": written after inject_headers");
	round_trip("log_path hash");

	/* The same policy spelt differently: the same bytes. */
	static const char OTHER[] =
		"  {\"egress\":[{\"purpose\":\"test \\u0022api\\\"\",\"host\":\"api.example.com\",\"ports\":[443,8443],"
		"\"inject_headers\":{\"authorization\":{\"secret\":\"API_KEY\"},\"x-key\":{\"secret\":\"KEY_2\"}},"
		"\"strip_headers\":[\"cookie\",\"x-b\"],\"path_prefixes\":[\"/v1/\",\"/v2\"],\"methods\":[\"GET\",\"POST\"],"
		"\"tls\":\"originate\",\"addresses\":[\"10.0.0.0/8\",\"192.168.1.0/24\"]},"
		"{\"host\":\"*.example.org\",\"ports\":[443],\"tls\":\"passthrough\",\"purpose\":\"p\",\"addresses\":[]}],"
		"\"functions\":{\"max_limits\":{\"output_kb\":1024,\"memory_mb\":256,\"pids\":64,\"cpu_millicores\":1000,\"timeout_ms\":30000,\"tmp_mb\":32},"
		"\"runtimes\":[\"native\",\"python\"],\"max\":4,"
		"\"default_limits\":{\"memory_mb\":64,\"pids\":16,\"cpu_millicores\":500,\"timeout_ms\":5000,\"tmp_mb\":8,\"output_kb\":256}},"
		"\"attestation\":{},\"admin_token_sha256\":\"" H "\",\n\t\"format\":1}\r\n";
	is_int(parse(OTHER), 0, "the same policy, keys reordered, sets sorted, escapes, whitespace");
	ok(policy_write(&pol, canon, sizeof canon) > 0 && strcmp(canon, BASE_CANON) == 0,
	   "has the same canonical bytes");

	/* websocket: written only when true, after inject_headers */
	is_int(parse(edit("\"inject_headers\":{\"x-key\"",
			  "\"websocket\":true,\"inject_headers\":{\"x-key\"")), 0,
	       "websocket: true parses");
	ok(pol.rules[0].websocket && !pol.rules[1].websocket, "websocket: rule 0 only");
	{
		static const char tail[] = "\"x-key\":{\"secret\":\"KEY_2\"}},\"websocket\":true},";
		ok(policy_write(&pol, canon, sizeof canon) > 0 && strstr(canon, tail) != NULL,
		   "websocket: canonical form ends the rule with \"websocket\":true");
	}
	round_trip("websocket");
	is_int(parse(edit("\"inject_headers\":{\"x-key\"",
			  "\"websocket\":false,\"inject_headers\":{\"x-key\"")), 0,
	       "websocket: false parses");
	ok(!pol.rules[0].websocket && policy_write(&pol, canon, sizeof canon) > 0 &&
	   strcmp(canon, BASE_CANON) == 0, "websocket: false has the bytes of no field (the default)");

	is_int(parse(MINIMAL), 0, "minimal again");
	is_int(policy_write(&pol, canon, strlen(MINIMAL_CANON) - 1), -ENOSPC, "policy_write: one byte short: -ENOSPC");
	is_int(policy_write(&pol, canon, strlen(MINIMAL_CANON)), (long)strlen(MINIMAL_CANON),
	       "policy_write: exactly enough room (no NUL)");
}

static void test_refused(void)
{
	/* top level */
	refused("\"format\":1,", "", -EINVAL, "format: required");
	refused("\"format\":1", "\"format\":2", -EINVAL, "format: must be 1");
	refused("\"format\":1", "\"format\":\"1\"", -EINVAL, "format: must be 1");
	refused("\"format\":1", "\"format\":1.0", -EINVAL, "format: must be 1");
	refused("\"format\":1,", "\"format\":1,\"log\":{},", -EINVAL, "log: unknown field");
	refused("\"format\":1,", "\"format\":1,\"trust_anchors\":[],", -EINVAL, "trust_anchors: unknown field");
	refused("\"format\":1,", "\"format\":1,\"format\":1,", -EINVAL, "format: key given twice");
	refused("\"admin_token_sha256\":\"" H "\",", "", -EINVAL, "admin_token_sha256: required");
	refused(H, "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", -EINVAL,
		"admin_token_sha256: must be 64 lowercase hex digits");
	refused(H, H "0", -EINVAL, "admin_token_sha256: must be 64 lowercase hex digits");
	refused("\"" H "\"", "1", -EINVAL, "admin_token_sha256: must be a string");
	/* attestation */
	refused("{\"allow_sim\":false}", "{\"allow_sim\":0}", -EINVAL, "attestation.allow_sim: must be true or false");
	refused("{\"allow_sim\":false}", "{\"allow_sim\":false,\"allow_sim\":true}", -EINVAL,
		"attestation.allow_sim: key given twice");
	refused("{\"allow_sim\":false}", "{\"allowsim\":false}", -EINVAL, "attestation.allowsim: unknown field");
	refused("{\"allow_sim\":false}", "[]", -EINVAL, "attestation: must be an object");
	/* functions */
	refused("\"functions\":{", "\"functions\":{\"memory\":1,", -EINVAL, "functions.memory: unknown field");
	refused("[\"python\",\"native\"]", "[]", -EINVAL, "functions.runtimes: must list at least one runtime");
	refused("[\"python\",\"native\"]", "[\"python\",\"java\"]", -EINVAL,
		"functions.runtimes[1]: must be one of native node python");
	refused("[\"python\",\"native\"]", "[\"python\",\"Python\"]", -EINVAL,
		"functions.runtimes[1]: must be one of");
	refused("[\"python\",\"native\"]", "[\"python\",\"python\"]", -EINVAL,
		"functions.runtimes[1]: \"python\" is listed twice");
	refused("[\"python\",\"native\"]", "[\"native\\u0000\"]", -EINVAL, "functions.runtimes[0]: must be one of");
	refused("[\"python\",\"native\"]", "\"native\"", -EINVAL, "functions.runtimes: must be an array");
	refused("\"max\":4", "\"max\":257", -EINVAL, "functions.max: must be an integer 0..256");
	refused("\"max\":4", "\"max\":-1", -EINVAL, "functions.max: must be an integer 0..256");
	refused("\"max\":4", "\"max\":4.5", -EINVAL, "functions.max: must be an integer 0..256");
	refused("\"max\":4", "\"max\":1e2", -EINVAL, "functions.max: must be an integer 0..256");
	refused("\"max\":4", "\"max\":04", -EINVAL, "not valid JSON");
	refused("\"max_limits\":{\"memory_mb\":256", "\"max_limits\":{\"memory_mb\":65537", -EINVAL,
		"functions.max_limits.memory_mb: must be an integer 16..65536");
	refused("\"default_limits\":{\"memory_mb\":64", "\"default_limits\":{\"memory_mb\":15", -EINVAL,
		"functions.default_limits.memory_mb: must be an integer 16..65536");
	refused("\"pids\":16", "\"pids\":0", -EINVAL, "functions.default_limits.pids: must be an integer 1..4096");
	refused("\"cpu_millicores\":500", "\"cpu_millicores\":9", -EINVAL,
		"functions.default_limits.cpu_millicores: must be an integer 10..64000");
	refused("\"timeout_ms\":30000", "\"timeout_ms\":3600001", -EINVAL,
		"functions.max_limits.timeout_ms: must be an integer 10..3600000");
	refused("\"output_kb\":256", "\"output_kb\":0", -EINVAL,
		"functions.default_limits.output_kb: must be an integer 1..65536");
	refused("\"output_kb\":256", "\"output_kb\":256,\"disk_mb\":1", -EINVAL,
		"functions.default_limits.disk_mb: unknown field");
	refused("\"default_limits\":{\"memory_mb\":64", "\"default_limits\":{\"memory_mb\":512", -EINVAL,
		"functions.default_limits.memory_mb: 512 is above max_limits.memory_mb (256)");
	refused("\"pids\":64", "\"pids\":8", -EINVAL, "functions.default_limits.pids: 16 is above max_limits.pids (8)");
	refused("\"max_limits\":{\"memory_mb\":256,\"pids\":64,\"cpu_millicores\":1000,\"timeout_ms\":30000,\"tmp_mb\":32,\"output_kb\":1024}",
		"\"max_limits\":{\"memory_mb\":32}", -EINVAL,
		"functions.default_limits.memory_mb: 64 is above max_limits.memory_mb (32)");
	is_int(parse("{\"format\":1,\"admin_token_sha256\":\"" H "\",\"functions\":{"
		     "\"default_limits\":{\"memory_mb\":16,\"tmp_mb\":0},\"max_limits\":{\"memory_mb\":32}}}"),
	       -EINVAL, "a default that no longer fits");
	is_str(err, "functions.max_limits.tmp_mb: 64 (default) is above memory_mb (32): /tmp is charged to memory",
	       "names it and says it is a default");
	/* data_mb: the function's /data quota (0: none), up to 1 TiB, at most the max */
	refused("\"output_kb\":256", "\"output_kb\":256,\"data_mb\":1048577", -EINVAL,
		"functions.default_limits.data_mb: must be an integer 0..1048576");
	refused("\"output_kb\":256", "\"output_kb\":256,\"data_mb\":-1", -EINVAL,
		"functions.default_limits.data_mb: must be an integer 0..1048576");
	refused("\"output_kb\":256", "\"output_kb\":256,\"data_mb\":\"16\"", -EINVAL,
		"functions.default_limits.data_mb: must be an integer 0..1048576");
	refused("\"output_kb\":256", "\"output_kb\":256,\"data_mb\":257", -EINVAL,
		"functions.default_limits.data_mb: 257 is above max_limits.data_mb (256, default)");
	refused("\"output_kb\":1024", "\"output_kb\":1024,\"data_mb\":8", -EINVAL,
		"functions.default_limits.data_mb: 16 (default) is above max_limits.data_mb (8)");
	/* egress_kbps: the function's egress cap, 64 kbit/s .. 10 Gbit/s, at most the max */
	refused("\"output_kb\":256", "\"output_kb\":256,\"egress_kbps\":63", -EINVAL,
		"functions.default_limits.egress_kbps: must be an integer 64..10000000");
	refused("\"output_kb\":1024", "\"output_kb\":1024,\"egress_kbps\":10000001", -EINVAL,
		"functions.max_limits.egress_kbps: must be an integer 64..10000000");
	refused("\"output_kb\":1024", "\"output_kb\":1024,\"egress_kbps\":2048", -EINVAL,
		"functions.default_limits.egress_kbps: 10000000 (default) is above max_limits.egress_kbps (2048)");
	/* egress_conns: the proxied connections it may hold, 1 .. 1000 (netd's share) */
	refused("\"output_kb\":256", "\"output_kb\":256,\"egress_conns\":0", -EINVAL,
		"functions.default_limits.egress_conns: must be an integer 1..1000");
	refused("\"output_kb\":1024", "\"output_kb\":1024,\"egress_conns\":1001", -EINVAL,
		"functions.max_limits.egress_conns: must be an integer 1..1000");
	refused("\"output_kb\":1024", "\"output_kb\":1024,\"egress_conns\":8", -EINVAL,
		"functions.default_limits.egress_conns: 1000 (default) is above max_limits.egress_conns (8)");
	refused("\"tmp_mb\":8", "\"tmp_mb\":65", -EINVAL,
		"functions.default_limits.tmp_mb: 65 is above max_limits.tmp_mb (32)");
	refused("\"max_limits\":{\"memory_mb\":256", "\"max_limits\":{\"memory_mb\":30", -EINVAL,
		"functions.default_limits.memory_mb: 64 is above max_limits.memory_mb (30)");
	/* egress */
	is_int(parse("{\"format\":1,\"admin_token_sha256\":\"" H "\",\"egress\":{}}"), -EINVAL, "egress as an object");
	is_str(err, "egress: must be an array", "egress: must be an array");
	refused("{\"host\":\"api.example.com\",", "[],{\"host\":\"api.example.com\",", -EINVAL, "egress[0]: must be an object");
	refused("\"host\":\"api.example.com\",", "", -EINVAL, "egress[0].host: required");
	refused("\"ports\":[8443,443],", "", -EINVAL, "egress[0].ports: required");
	refused("\"purpose\":\"p\"", "\"purpose\":\"p\",\"comment\":\"\"", -EINVAL, "egress[1].comment: unknown field");
	refused(",\"purpose\":\"p\"", "", -EINVAL, "egress[1].purpose: required");
	refused("\"api.example.com\"", "\"API.example.com\"", -EINVAL, "egress[0].host: must be lowercase");
	refused("\"api.example.com\"", "\"api.example.com.\"", -EINVAL, "egress[0].host: no trailing dot");
	refused("\"api.example.com\"", "\"api..example.com\"", -EINVAL, "egress[0].host: empty label");
	refused("\"api.example.com\"", "\"-api.example.com\"", -EINVAL, "egress[0].host: a label must not start with '-'");
	refused("\"api.example.com\"", "\"api-.example.com\"", -EINVAL, "egress[0].host: a label must not end with '-'");
	refused("\"api.example.com\"", "\"api_x.example.com\"", -EINVAL, "egress[0].host: letters, digits");
	refused("\"api.example.com\"", "\"b\xc3\xbc" "cher.example\"", -EINVAL, "egress[0].host: must be ASCII (punycode");
	refused("\"api.example.com\"", "\"b\\u00fccher.example\"", -EINVAL, "egress[0].host: must be ASCII (punycode");
	refused("\"api.example.com\"", "\"10.0.0.1\"", -EINVAL, "egress[0].host: an IP address is not a host name");
	refused("\"api.example.com\"", "\"[::1]\"", -EINVAL, "egress[0].host: letters, digits");
	refused("\"api.example.com\"", "\"localhost\"", -EINVAL, "egress[0].host: needs at least two labels");
	refused("\"api.example.com\"", "\"api.example.com:443\"", -EINVAL, "egress[0].host: letters, digits");
	refused("\"api.example.com\"", "\"a.\\u0000.com\"", -EINVAL, "egress[0].host: must not contain a NUL byte");
	refused("\"api.example.com\"", "\"\"", -EINVAL, "egress[0].host: must not be empty");
	refused("\"*.example.org\"", "\"*.org\"", -EINVAL, "egress[1].host: needs at least two labels");
	refused("\"*.example.org\"", "\"*\"", -EINVAL, "egress[1].host: '*' only as a whole first label");
	refused("\"*.example.org\"", "\"*.\"", -EINVAL, "egress[1].host: names no domain");
	refused("\"*.example.org\"", "\"a.*.example.org\"", -EINVAL, "egress[1].host: '*' only as a whole first label");
	refused("\"*.example.org\"", "\"*x.example.org\"", -EINVAL, "egress[1].host: '*' only as a whole first label");
	refused("\"*.example.org\"", "\"*.*.example.org\"", -EINVAL, "egress[1].host: '*' only as a whole first label");
	refused("[8443,443]", "[]", -EINVAL, "egress[0].ports: must list at least one port");
	refused("[8443,443]", "[443,0]", -EINVAL, "egress[0].ports[1]: must be an integer 1..65535");
	refused("[8443,443]", "[65536]", -EINVAL, "egress[0].ports[0]: must be an integer 1..65535");
	refused("[8443,443]", "[\"443\"]", -EINVAL, "egress[0].ports[0]: must be an integer 1..65535");
	refused("[8443,443]", "[443,8443,443]", -EINVAL, "egress[0].ports[2]: 443 is listed twice");
	refused("[8443,443]", "[1,2,3,4,5,6,7,8,9]", -E2BIG, "egress[0].ports: 9 ports, at most 8");
	refused("\"tls\":\"passthrough\"", "\"tls\":\"PASSTHROUGH\"", -EINVAL,
		"egress[1].tls: must be \"originate\" or \"passthrough\"");
	refused("\"tls\":\"passthrough\"", "\"tls\":\"passthrough\",\"methods\":[\"GET\"]", -EINVAL,
		"egress[1].methods: only with tls \"originate\"");
	refused("\"tls\":\"passthrough\"", "\"tls\":\"passthrough\",\"inject_headers\":{}", -EINVAL,
		"egress[1].inject_headers: only with tls \"originate\"");
	refused("\"tls\":\"passthrough\"", "\"tls\":\"passthrough\",\"log_path\":\"hash\"", -EINVAL,
		"egress[1].log_path: only with tls \"originate\"");
	refused("\"purpose\":\"test", "\"log_path\":\"sha256\",\"purpose\":\"test", -EINVAL,
		"egress[0].log_path: must be \"full\" or \"hash\"");
	refused("\"purpose\":\"test", "\"log_path\":true,\"purpose\":\"test", -EINVAL,
		"egress[0].log_path: must be \"full\" or \"hash\"");
	refused("\"tls\":\"passthrough\"", "\"tls\":\"passthrough\",\"websocket\":true", -EINVAL,
		"egress[1].websocket: only with tls \"originate\"");
	refused("\"inject_headers\"", "\"websocket\":1,\"inject_headers\"", -EINVAL,
		"egress[0].websocket: must be");
	refused("\"inject_headers\"", "\"websocket\":\"true\",\"inject_headers\"", -EINVAL,
		"egress[0].websocket: must be");
	refused("\"purpose\":\"p\"", "\"purpose\":\"\"", -EINVAL, "egress[1].purpose: must not be empty");
	refused("\"purpose\":\"p\"", "\"purpose\":\"a\\tb\"", -EINVAL, "egress[1].purpose: printable ASCII only");
	refused("\"purpose\":\"p\"", "\"purpose\":\"caf\\u00e9\"", -EINVAL, "egress[1].purpose: printable ASCII only");
	refused("\"purpose\":\"p\"", "\"purpose\":\"a\\x\"", -EINVAL, "not valid JSON");
	refused("\"192.168.1.0/24\"", "\"192.168.1.1/24\"", -EINVAL, "egress[0].addresses[0]: host bits are set");
	refused("\"192.168.1.0/24\"", "\"10.0.0.0/0\"", -EINVAL, "egress[0].addresses[0]: host bits are set");
	refused("\"192.168.1.0/24\"", "\"0.0.0.0/0\"", -EINVAL, "egress[0].addresses[0]: must lie inside 10.0.0.0/8");
	refused("\"192.168.1.0/24\"", "\"8.8.8.0/24\"", -EINVAL, "egress[0].addresses[0]: must lie inside 10.0.0.0/8");
	refused("\"192.168.1.0/24\"", "\"127.0.0.0/8\"", -EINVAL, "egress[0].addresses[0]: must lie inside");
	refused("\"192.168.1.0/24\"", "\"169.254.169.254/32\"", -EINVAL, "egress[0].addresses[0]: must lie inside");
	refused("\"192.168.1.0/24\"", "\"172.0.0.0/8\"", -EINVAL, "egress[0].addresses[0]: must lie inside");
	refused("\"192.168.1.0/24\"", "\"10.0.0.0/7\"", -EINVAL, "egress[0].addresses[0]: must lie inside");
	refused("\"192.168.1.0/24\"", "\"192.168.1.0\"", -EINVAL, "egress[0].addresses[0]: must be an IPv4 range");
	refused("\"192.168.1.0/24\"", "\"192.168.01.0/24\"", -EINVAL, "egress[0].addresses[0]: must be an IPv4 range");
	refused("\"192.168.1.0/24\"", "\"192.168.1.0/33\"", -EINVAL, "egress[0].addresses[0]: must be an IPv4 range");
	refused("\"192.168.1.0/24\"", "\"192.168.1.0/24 \"", -EINVAL, "egress[0].addresses[0]: must be an IPv4 range");
	refused("\"192.168.1.0/24\"", "\"192.168.256.0/24\"", -EINVAL, "egress[0].addresses[0]: must be an IPv4 range");
	refused("\"192.168.1.0/24\"", "\"fd00::/8\"", -EINVAL, "egress[0].addresses[0]: must be an IPv4 range");
	refused("\"192.168.1.0/24\",\"10.0.0.0/8\"", "\"10.0.0.0/8\",\"10.1.0.0/16\"", -EINVAL,
		"egress[0].addresses[1]: overlaps addresses[0]");
	refused("\"192.168.1.0/24\",\"10.0.0.0/8\"", "\"10.1.0.0/16\",\"10.0.0.0/8\"", -EINVAL,
		"egress[0].addresses[1]: overlaps addresses[0]");
	refused("[\"POST\",\"GET\"]", "[]", -EINVAL, "egress[0].methods: must list at least one method");
	refused("[\"POST\",\"GET\"]", "[\"POST\",\"get\"]", -EINVAL, "egress[0].methods[1]: must be one of DELETE GET");
	refused("[\"POST\",\"GET\"]", "[\"CONNECT\"]", -EINVAL, "egress[0].methods[0]: must be one of");
	refused("[\"POST\",\"GET\"]", "[\"GET\",\"GET\"]", -EINVAL, "egress[0].methods[1]: \"GET\" is listed twice");
	refused("[\"/v2\",\"/v1/\"]", "[]", -EINVAL, "egress[0].path_prefixes: must list at least one prefix");
	refused("[\"/v2\",\"/v1/\"]", "[\"v2\"]", -EINVAL, "egress[0].path_prefixes[0]: must start with '/'");
	refused("[\"/v2\",\"/v1/\"]", "[\"/v2?x=1\"]", -EINVAL, "egress[0].path_prefixes[0]: character 3 is not allowed");
	refused("[\"/v2\",\"/v1/\"]", "[\"/v%32\"]", -EINVAL, "egress[0].path_prefixes[0]: character 2 is not allowed");
	refused("[\"/v2\",\"/v1/\"]", "[\"/a b\"]", -EINVAL, "egress[0].path_prefixes[0]: character 2 is not allowed");
	refused("[\"/v2\",\"/v1/\"]", "[\"/v1/../admin\"]", -EINVAL, "egress[0].path_prefixes[0]: has an empty, '.' or '..' segment");
	refused("[\"/v2\",\"/v1/\"]", "[\"/v1/.\"]", -EINVAL, "egress[0].path_prefixes[0]: has an empty");
	refused("[\"/v2\",\"/v1/\"]", "[\"//v1\"]", -EINVAL, "egress[0].path_prefixes[0]: has an empty");
	refused("[\"/v2\",\"/v1/\"]", "[\"/v1\",\"/v1/x\"]", -EINVAL, "egress[0].path_prefixes[1]: overlaps path_prefixes[0]");
	refused("[\"/v2\",\"/v1/\"]", "[\"/v1/x\",\"/\"]", -EINVAL, "egress[0].path_prefixes[1]: overlaps path_prefixes[0]");
	refused("[\"/v2\",\"/v1/\"]", "[\"/v1\",\"/v1\"]", -EINVAL, "egress[0].path_prefixes[1]: overlaps path_prefixes[0]");
	refused("[\"x-b\",\"cookie\"]", "[\"Cookie\"]", -EINVAL, "egress[0].strip_headers[0]: header names are written in lowercase");
	refused("[\"x-b\",\"cookie\"]", "[\"x b\"]", -EINVAL, "egress[0].strip_headers[0]: not a header name");
	refused("[\"x-b\",\"cookie\"]", "[\"x:b\"]", -EINVAL, "egress[0].strip_headers[0]: not a header name");
	refused("[\"x-b\",\"cookie\"]", "[\"host\"]", -EINVAL, "egress[0].strip_headers[0]: \"host\" is the proxy's to set");
	refused("[\"x-b\",\"cookie\"]", "[\"cookie\",\"cookie\"]", -EINVAL, "egress[0].strip_headers[1]: \"cookie\" is listed twice");
	refused("[\"x-b\",\"cookie\"]", "[\"x-b\",\"authorization\"]", -EINVAL,
		"egress[0].inject_headers.authorization: also in strip_headers");
	refused("\"x-key\":{\"secret\":\"KEY_2\"}", "\"X-Key\":{\"secret\":\"KEY_2\"}", -EINVAL,
		"egress[0].inject_headers{0}: header names are written in lowercase");
	refused("\"x-key\":{\"secret\":\"KEY_2\"}", "\"content-length\":{\"secret\":\"KEY_2\"}", -EINVAL,
		"egress[0].inject_headers{0}: \"content-length\" is the proxy's to set");
	refused("\"x-key\":{\"secret\":\"KEY_2\"}", "\"authorization\":{\"secret\":\"KEY_2\"}", -EINVAL,
		"egress[0].inject_headers.authorization: key given twice");
	refused("{\"secret\":\"KEY_2\"}", "{\"secret\":\"key_2\"}", -EINVAL,
		"egress[0].inject_headers.x-key.secret: must match ^[A-Z_][A-Z0-9_]*$");
	refused("{\"secret\":\"KEY_2\"}", "{\"secret\":\"2KEY\"}", -EINVAL,
		"egress[0].inject_headers.x-key.secret: must match");
	refused("{\"secret\":\"KEY_2\"}", "{\"secret\":\"KEY-2\"}", -EINVAL,
		"egress[0].inject_headers.x-key.secret: must match");
	refused("{\"secret\":\"KEY_2\"}", "{}", -EINVAL, "egress[0].inject_headers.x-key.secret: required");
	refused("{\"secret\":\"KEY_2\"}", "{\"secret\":\"KEY_2\",\"value\":\"x\"}", -EINVAL,
		"egress[0].inject_headers.x-key.value: unknown field");
	refused("{\"secret\":\"KEY_2\"}", "\"KEY_2\"", -EINVAL, "egress[0].inject_headers.x-key: must be an object");
}

/* Values at their bounds are accepted; one step beyond is refused. */
static void test_bounds(void)
{
	char s[512], t[512];

	accepted("\"max\":4", "\"max\":0", "functions.max 0 (no functions)");
	accepted("\"max\":4", "\"max\":256", "functions.max 256");
	accepted("\"max\":4", "\"max\":4,\"public_invoke\":true", "functions.public_invoke true");
	ok(pol.public_invoke, "...and it is set");
	refused("\"max\":4", "\"max\":4,\"public_invoke\":1", -EINVAL, "functions.public_invoke: must be true or false");
	accepted("\"default_limits\":{\"memory_mb\":64", "\"default_limits\":{\"memory_mb\":16", "memory_mb 16");
	accepted("\"max_limits\":{\"memory_mb\":256", "\"max_limits\":{\"memory_mb\":65536", "memory_mb 65536");
	accepted("\"tmp_mb\":8", "\"tmp_mb\":0", "tmp_mb 0 (no /tmp)");
	accepted("\"output_kb\":256", "\"output_kb\":256,\"egress_kbps\":64", "egress_kbps 64");
	is_int(pol.default_limits.egress_kbps, 64, "...and it is set");
	is_int(pol.max_limits.egress_kbps, 10000000, "...and the max is 10000000");
	accepted("\"output_kb\":256", "\"output_kb\":256,\"egress_conns\":2", "egress_conns 2");
	is_int(pol.default_limits.egress_conns, 2, "...and it is set");
	is_int(pol.max_limits.egress_conns, 1000, "...and the max is 1000");
	accepted("\"output_kb\":256", "\"output_kb\":256,\"data_mb\":0", "data_mb 0 (no /data)");
	is_int(pol.default_limits.data_mb, 0, "...and it is 0");
	accepted("\"output_kb\":1024", "\"output_kb\":1024,\"data_mb\":1048576", "data_mb 1048576 (1 TiB)");
	is_int(pol.max_limits.data_mb, 1048576, "...and it is set");
	is_int(pol.default_limits.data_mb, 16, "...and the default is 16");

	accepted("\"tmp_mb\":32", "\"tmp_mb\":256", "tmp_mb equal to memory_mb");
	refused("\"tmp_mb\":32", "\"tmp_mb\":257", -EINVAL, "functions.max_limits.tmp_mb: 257 is above memory_mb (256)");
	accepted("\"default_limits\":{\"memory_mb\":64", "\"default_limits\":{\"memory_mb\":256", "default equal to max");
	accepted("[8443,443]", "[1,65535]", "ports 1 and 65535");
	accepted("[8443,443]", "[1,2,3,4,5,6,7,8]", "8 ports");
	accepted("\"192.168.1.0/24\",\"10.0.0.0/8\"", "\"172.16.0.0/16\",\"172.31.255.255/32\"", "172.16/12 edges");
	refused("\"192.168.1.0/24\"", "\"172.32.0.0/16\"", -EINVAL, "egress[0].addresses[0]: must lie inside");
	accepted("\"192.168.1.0/24\",\"10.0.0.0/8\"", "\"192.168.0.0/16\",\"10.255.255.254/31\"", "192.168/16, a /31");
	accepted("[\"/v2\",\"/v1/\"]", "[\"/v1\",\"/v10\",\"/v2/\",\"/v2x\"]", "prefixes at segment boundaries do not overlap");
	accepted("[\"/v2\",\"/v1/\"]", "[\"/\"]", "the prefix \"/\"");
	accepted("\"api.example.com\"", "\"xn--bcher-kva.example\"", "a punycode label");
	accepted("\"api.example.com\"", "\"1.example.com\"", "a numeric label that is not the last");
	accepted("\"api.example.com\"", "\"\\u0061pi.example.com\"", "an escaped letter");
	accepted("\"purpose\":\"p\"", "\"purpose\":\" !~\\\\/\"", "purpose: printable ASCII, quotes and backslashes");
	accepted("{\"secret\":\"KEY_2\"}", "{\"secret\":\"_\"}", "secret name \"_\"");

	/* a label of 63 and 64 bytes */
	memset(t, 'a', 64);
	snprintf(s, sizeof s, "\"%.63s.example\"", t);
	accepted("\"api.example.com\"", s, "a 63-byte label");
	snprintf(s, sizeof s, "\"%.64s.example\"", t);
	refused("\"api.example.com\"", s, -EINVAL, "egress[0].host: a label is longer than 63 bytes");
	/* a name of 253 and 254 bytes: four 62-byte labels and dots, then more */
	memset(t, 'a', sizeof t);
	for (int k = 62; k < 253; k += 63)
		t[k] = '.';
	snprintf(s, sizeof s, "\"%.253s\"", t);
	accepted("\"api.example.com\"", s, "a 253-byte host");
	snprintf(s, sizeof s, "\"%.254s\"", t);
	refused("\"api.example.com\"", s, -EINVAL, "egress[0].host: longer than 253 bytes");
	/* purpose of 128 and 129 bytes */
	memset(t, 'p', 129);
	snprintf(s, sizeof s, "\"purpose\":\"%.128s\"", t);
	accepted("\"purpose\":\"p\"", s, "a 128-byte purpose");
	snprintf(s, sizeof s, "\"purpose\":\"%.129s\"", t);
	refused("\"purpose\":\"p\"", s, -EINVAL, "egress[1].purpose: longer than 128 bytes");
	/* secret and header names of 64 and 65 bytes */
	memset(t, 'K', 65);
	snprintf(s, sizeof s, "{\"secret\":\"%.64s\"}", t);
	accepted("{\"secret\":\"KEY_2\"}", s, "a 64-byte secret name");
	snprintf(s, sizeof s, "{\"secret\":\"%.65s\"}", t);
	refused("{\"secret\":\"KEY_2\"}", s, -EINVAL, "egress[0].inject_headers.x-key.secret: longer than 64 bytes");
	memset(t, 'h', 65);
	snprintf(s, sizeof s, "[\"%.64s\"]", t);
	accepted("[\"x-b\",\"cookie\"]", s, "a 64-byte header name");
	snprintf(s, sizeof s, "[\"%.65s\"]", t);
	refused("[\"x-b\",\"cookie\"]", s, -EINVAL, "egress[0].strip_headers[0]: longer than 64 bytes");
	/* path prefix of 128 and 129 bytes */
	memset(t, 'v', 129);
	t[0] = '/';
	snprintf(s, sizeof s, "[\"%.128s\"]", t);
	accepted("[\"/v2\",\"/v1/\"]", s, "a 128-byte path prefix");
	snprintf(s, sizeof s, "[\"%.129s\"]", t);
	refused("[\"/v2\",\"/v1/\"]", s, -EINVAL, "egress[0].path_prefixes[0]: longer than 128 bytes");
}

/* Appends to doc at *len. */
static void put(size_t *len, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(doc + *len, sizeof doc - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof doc - *len) {
		printf("Bail out! test bug: doc is full\n");
		exit(2);
	}
	*len += (size_t)n;
}

/* A policy with nrules rules, each with every list at its maximum and
 * every string at its longest (purpose all quotes: escaped, twice as long). */
static size_t maximal(unsigned nrules, unsigned nlast)
{
	size_t len = 0;
	char name[POLICY_HEADER_MAX + 1];
	put(&len, "{\"format\":1,\"admin_token_sha256\":\"%s\",\"attestation\":{\"allow_sim\":true},"
	    "\"functions\":{\"runtimes\":[\"node\",\"python\",\"native\"],\"max\":256},\"egress\":[", H);
	for (unsigned r = 0; r < nrules; r++) {
		put(&len, "%s{\"host\":\"*.", r ? "," : "");
		for (int k = 0; k < 3; k++)
			put(&len, "r%02u%060u.", r, 0u);
		put(&len, "r%02u%056u\",\"ports\":[", r, 0u);
		for (unsigned k = 0; k < nlast; k++)
			put(&len, "%s%u", k ? "," : "", 65535 - k);
		put(&len, "],\"tls\":\"originate\",\"purpose\":\"");
		for (int k = 0; k < POLICY_PURPOSE_MAX; k++)
			put(&len, "\\\"");
		put(&len, "\",\"addresses\":[");
		for (unsigned k = 0; k < POLICY_MAX_ADDRESSES; k++)
			put(&len, "%s\"10.%u.255.255/32\"", k ? "," : "", 250 + k % 6 - k / 6 * 100);
		put(&len, "],\"methods\":[\"DELETE\",\"GET\",\"HEAD\",\"OPTIONS\",\"PATCH\",\"POST\",\"PUT\"],\"path_prefixes\":[");
		for (unsigned k = 0; k < POLICY_MAX_PATHS; k++)
			put(&len, "%s\"/%0126u%u\"", k ? "," : "", 0u, k);
		put(&len, "],\"strip_headers\":[");
		for (unsigned k = 0; k < POLICY_MAX_STRIP; k++) {
			snprintf(name, sizeof name, "s%063u", k);
			put(&len, "%s\"%s\"", k ? "," : "", name);
		}
		put(&len, "],\"inject_headers\":{");
		for (unsigned k = 0; k < POLICY_MAX_INJECT; k++) {
			snprintf(name, sizeof name, "i%063u", k);
			put(&len, "%s\"%s\":{\"secret\":\"S%063u\"}", k ? "," : "", name, k);
		}
		put(&len, "},\"websocket\":true}");
	}
	put(&len, "]}");
	return len;
}

static void test_limits(void)
{
	size_t len = maximal(POLICY_MAX_RULES, POLICY_MAX_PORTS);
	int r = policy_parse(doc, len, &toks, &pol, err, sizeof err);
	is_int(r, 0, "a maximal policy parses (%zu bytes)", len);
	if (r)
		diag("%s", err);
	long n = policy_write(&pol, canon, sizeof canon);
	ok(n > 0 && (size_t)n <= POLICY_CANON_MAX, "its canonical form fits POLICY_CANON_MAX (%ld <= %u)",
	   n, POLICY_CANON_MAX);
	/* with the most extra_anchors, each the largest (test_anchors has
	 * real ones, far smaller): the key, and each a quoted base64 string */
	size_t anchors = strlen(",\"extra_anchors\":[]") +
			 POLICY_MAX_ANCHORS * (BASE64_ENCODED_LEN(POLICY_ANCHOR_DER_MAX) + 3);
	ok(n > 0 && (size_t)n + anchors <= POLICY_CANON_MAX,
	   "  and with %d extra_anchors of %d bytes each (%zu <= %u)", POLICY_MAX_ANCHORS,
	   POLICY_ANCHOR_DER_MAX, (size_t)n + anchors, POLICY_CANON_MAX);
	round_trip("maximal");
	is_int(pol.nrules, POLICY_MAX_RULES, "POLICY_MAX_RULES rules");

	len = maximal(POLICY_MAX_RULES + 1, 1);
	r = policy_parse(doc, len, &toks, &pol, err, sizeof err);
	ok(r == -E2BIG && strcmp(err, "egress: 33 rules, at most 32") == 0, "one rule more: %s", err);

	/* Whitespace up to the byte limit, then one byte more. */
	len = strlen(MINIMAL);
	memcpy(doc, MINIMAL, len);
	memset(doc + len, ' ', POLICY_MAX_BYTES + 1 - len);
	is_int(policy_parse(doc, POLICY_MAX_BYTES, &toks, &pol, err, sizeof err), 0,
	       "exactly POLICY_MAX_BYTES");
	is_int(policy_parse(doc, POLICY_MAX_BYTES + 1, &toks, &pol, err, sizeof err), -EFBIG,
	       "one byte more: -EFBIG");

	/* A token bomb inside the byte limit. */
	len = 0;
	put(&len, "{\"format\":1,\"x\":[");
	for (int k = 0; k < POLICY_MAX_TOKENS; k++)
		put(&len, "%s1", k ? "," : "");
	put(&len, "]}");
	is_int(policy_parse(doc, len, &toks, &pol, err, sizeof err), -E2BIG, "more than POLICY_MAX_TOKENS tokens");

	/* Nesting: an unknown key's value is never walked, so depth is checked first. */
	len = 0;
	put(&len, "{\"format\":1,\"x\":");
	for (int k = 0; k < POLICY_MAX_DEPTH + 1; k++)
		put(&len, "[");
	for (int k = 0; k < POLICY_MAX_DEPTH + 1; k++)
		put(&len, "]");
	put(&len, "}");
	is_int(policy_parse(doc, len, &toks, &pol, err, sizeof err), -E2BIG, "nested deeper than POLICY_MAX_DEPTH");

	is_int(policy_parse("{\"format\":1}\0{}", 15, &toks, &pol, err, sizeof err), -EINVAL, "a NUL byte");
	is_int(parse(""), -EINVAL, "empty input");
	is_int(parse("[]"), -EINVAL, "a top-level array");
	is_str(err, "(top level): must be an object", "says so");
	is_int(parse("{\"format\":1 \"x\":2}"), -EINVAL, "a missing comma between members");
	is_str(err, "not valid JSON (near byte 1)", "names the member's first byte");
	is_int(parse("{\"format\":1,\"x\":[1 2]}"), -EINVAL, "a missing comma between elements");
	is_str(err, "not valid JSON (near byte 19)", "names the element's first byte");
	is_int(parse("{\"format\":1}{}"), -EINVAL, "a second document");
	is_int(parse("{\"format\":1,}"), -EINVAL, "a trailing comma");
	is_int(parse(BASE), 0, "a good policy after bad ones");
	is_int(parse(edit("\"max\":4", "\"max\":999")), -EINVAL, "a refused policy...");
	ok(pol.nrules == 0 && pol.max_functions == 0 && pol.runtimes == 0, "...leaves nothing behind");
}

/* The store section (docs/STORE.md): dev and kms parsed and written in
 * their canonical form, every wrong spelling refused with its path. */
#define DEVKEY H H
/* P-256's base point: a valid public key. */
#define GX "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
#define GY "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
static void store_refused(const char *store, int code, const char *want)
{
	snprintf(doc, sizeof doc, "{\"format\":1,\"admin_token_sha256\":\"" H "\",\"store\":%s}", store);
	int r = parse(doc);
	ok(r == code && strncmp(err, want, strlen(want)) == 0, "store refused: %s", want);
	if (r != code || strncmp(err, want, strlen(want)) != 0)
		diag("got %d \"%s\"", r, err);
}

static void test_store(void)
{
	static const char DEV[] = "{\"format\":1,\"admin_token_sha256\":\"" H "\","
		"\"store\":{\"integrity\":\"none\",\"insecure_dev_key\":\"" DEVKEY "\",\"key_provider\":\"dev\"}}";
	static const char KMS[] = "{\"format\":1,\"admin_token_sha256\":\"" H "\","
		"\"store\":{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com\",\"public_key\":\"04" GX GY "\",\"app_id\":\"shop\"}}}";
	const char *tail;

	is_int(parse(MINIMAL), 0, "no store section");
	is_int(pol.store.provider, POLICY_KP_NONE, "no store: provider none (tmpfs)");
	is_str(policy_key_provider_name(pol.store.provider), "none", "its name");

	is_int(parse(DEV), 0, "store with the dev provider");
	is_int(pol.store.provider, POLICY_KP_DEV, "provider dev");
	ok(pol.store.dev_key[0] == 0x01 && pol.store.dev_key[63] == 0xef, "the 64-byte dev key");
	round_trip("store dev");
	tail = ",\"store\":{\"key_provider\":\"dev\",\"insecure_dev_key\":\"" DEVKEY "\","
		"\"cipher\":\"aes-xts-plain64\",\"integrity\":\"none\"}}";
	ok(strlen(canon) > strlen(tail) && strcmp(canon + strlen(canon) - strlen(tail), tail) == 0,
	   "dev: canonical store section (key order, cipher and integrity filled in)");

	is_int(pol.store.integrity, POLICY_INTEGRITY_NONE, "dev: integrity none");
	{
		static char hm[sizeof DEV + 16];
		const char *at = strstr(DEV, "\"none\"");
		snprintf(hm, sizeof hm, "%.*s\"hmac-sha256\"%s", (int)(at - DEV), DEV,
			 at + strlen("\"none\""));
		is_int(parse(hm), 0, "store with integrity hmac-sha256 (%s)", err);
		is_int(pol.store.integrity, POLICY_INTEGRITY_HMAC_SHA256, "integrity hmac-sha256 parsed");
		is_str(policy_integrity_name(pol.store.integrity), "hmac-sha256", "its name");
		round_trip("store dev hmac-sha256");
		ok(strstr(canon, "\"cipher\":\"aes-xts-plain64\",\"integrity\":\"hmac-sha256\"}") != NULL,
		   "hmac-sha256: the canonical form keeps it (the measurement names it)");
	}

	is_int(parse(KMS), 0, "store with the kms provider");
	is_str(pol.store.kms_host, "kms.example.com", "kms host");
	is_int(pol.store.kms_port, 80, "kms port 80 by default");
	is_str(pol.store.kms_app_id, "shop", "kms app id");
	is_str(pol.store.kms_path, "/", "kms path / by default");
	ok(pol.store.kms_public_key[0] == 4 && pol.store.kms_public_key[64] == 0xf5, "the pinned point");
	round_trip("store kms");
	ok(strstr(canon, "\"url\":\"http://kms.example.com:80/\",\"public_key\":\"04") != NULL,
	   "kms: the canonical url names port and path");
	ok(strstr(canon, "\"app_id\":\"shop\",\"on_rollback\":\"refuse\"}") != NULL,
	   "kms: the canonical app id, and on_rollback refuse by default");
	ok(!pol.store.kms_rollback_flag, "kms: a rollback is refused by default");
	{
		static char flag[sizeof KMS + 32];
		const char *at = strstr(KMS, "\"app_id\":\"shop\"");
		snprintf(flag, sizeof flag, "%.*s\"app_id\":\"shop\",\"on_rollback\":\"flag\"%s",
			 (int)(at - KMS), KMS, at + strlen("\"app_id\":\"shop\""));
		is_int(parse(flag), 0, "kms with on_rollback flag (%s)", err);
	}
	ok(pol.store.kms_rollback_flag, "kms: on_rollback flag parsed");
	snprintf(doc, sizeof doc, "{\"format\":1,\"admin_token_sha256\":\"" H "\",\"store\":"
		 "{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.test.internal:8443/v1/keys\","
		 "\"public_key\":\"04" GX GY "\",\"app_id\":\"a.b_c-D9\"}}}");
	is_int(parse(doc), 0, "kms url with a port and a path");
	ok(pol.store.kms_port == 8443 && strcmp(pol.store.kms_path, "/v1/keys") == 0, "port 8443, path /v1/keys");
	ok(!pol.store.kms_tls && !pol.store.kms_has_tls_pin, "kms: http:// is plain HTTP, no pin");

	/* https: port 443 by default; trust from the image's anchors, or the pin */
	snprintf(doc, sizeof doc, "{\"format\":1,\"admin_token_sha256\":\"" H "\",\"store\":"
		 "{\"key_provider\":\"kms\",\"kms\":{\"url\":\"https://kms.example.com/v1/keys\","
		 "\"public_key\":\"04" GX GY "\",\"app_id\":\"shop\"}}}");
	is_int(parse(doc), 0, "kms https url (%s)", err);
	ok(pol.store.kms_tls && pol.store.kms_port == 443 && !pol.store.kms_has_tls_pin &&
	   strcmp(pol.store.kms_host, "kms.example.com") == 0, "kms https: port 443 by default, no pin");
	round_trip("store kms https");
	ok(strstr(canon, "\"url\":\"https://kms.example.com:443/v1/keys\"") != NULL &&
	   strstr(canon, "tls_spki_sha256") == NULL, "kms https: the canonical url keeps https, no pin");
	snprintf(doc, sizeof doc, "{\"format\":1,\"admin_token_sha256\":\"" H "\",\"store\":"
		 "{\"key_provider\":\"kms\",\"kms\":{\"url\":\"https://kms.test.internal:8547/v1/keys\","
		 "\"public_key\":\"04" GX GY "\",\"app_id\":\"shop\",\"tls_spki_sha256\":\"" H "\"}}}");
	is_int(parse(doc), 0, "kms https with tls_spki_sha256 (%s)", err);
	ok(pol.store.kms_tls && pol.store.kms_port == 8547 && pol.store.kms_has_tls_pin &&
	   pol.store.kms_tls_spki_sha256[0] == (H[0] - '0') * 16 + (H[1] - '0'),
	   "kms https: the pin parsed");
	round_trip("store kms https pinned");
	ok(strstr(canon, "\"tls_spki_sha256\":\"" H "\"") != NULL, "kms https: the canonical form names the pin");
#define KMS_TLS(url, pin) "{\"key_provider\":\"kms\",\"kms\":{\"url\":\"" url "\",\"public_key\":\"04" GX GY \
	"\",\"app_id\":\"a\",\"tls_spki_sha256\":" pin "}}"
	store_refused(KMS_TLS("http://kms.example.com", "\"" H "\""), -EINVAL,
		      "store.kms.tls_spki_sha256: only with an https:// url");
	store_refused(KMS_TLS("https://kms.example.com", "\"abcd\""), -EINVAL,
		      "store.kms.tls_spki_sha256: must be 64 lowercase hex digits");
	store_refused(KMS_TLS("https://kms.example.com", "7"), -EINVAL, "store.kms.tls_spki_sha256: ");
	store_refused(KMS_TLS("https://10.0.0.1", "\"" H "\""), -EINVAL,
		      "store.kms.url: an IP address is not a host name");
	store_refused(KMS_TLS("https://kms.example.com:0", "\"" H "\""), -EINVAL,
		      "store.kms.url: the port must be a number 1..65535");
	store_refused(KMS_TLS("ftp://kms.example.com", "\"" H "\""), -EINVAL,
		      "store.kms.url: must start with http:// or https://");
	store_refused(KMS_TLS("HTTPS://kms.example.com", "\"" H "\""), -EINVAL,
		      "store.kms.url: must start with http:// or https://");
#undef KMS_TLS

	store_refused("[]", -EINVAL, "store: must be an object");
	store_refused("{}", -EINVAL, "store.key_provider: required");
	store_refused("{\"key_provider\":\"none\"}", -EINVAL, "store.key_provider: must be \"dev\" or \"kms\"");
	store_refused("{\"key_provider\":\"dev\"}", -EINVAL, "store.insecure_dev_key: required");
	store_refused("{\"key_provider\":\"dev\",\"insecure_dev_key\":\"" H "\"}", -EINVAL,
		      "store.insecure_dev_key: must be 128 lowercase hex digits");
	store_refused("{\"key_provider\":\"dev\",\"insecure_dev_key\":\"" H "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"}",
		      -EINVAL, "store.insecure_dev_key: must be 128 lowercase hex digits");
	store_refused("{\"key_provider\":\"dev\",\"insecure_dev_key\":\"" DEVKEY "\",\"kms\":{}}", -EINVAL,
		      "store.kms: only with key_provider \"kms\"");
	store_refused("{\"key_provider\":\"kms\",\"insecure_dev_key\":\"" DEVKEY "\"}", -EINVAL,
		      "store.insecure_dev_key: only with key_provider \"dev\"");
	store_refused("{\"key_provider\":\"dev\",\"insecure_dev_key\":\"" DEVKEY "\",\"cipher\":\"cipher_null\"}",
		      -EINVAL, "store.cipher: must be \"aes-xts-plain64\"");
	store_refused("{\"key_provider\":\"dev\",\"insecure_dev_key\":\"" DEVKEY "\",\"integrity\":\"aes-gcm\"}",
		      -EINVAL, "store.integrity: \"aes-gcm\" is not built");
	store_refused("{\"key_provider\":\"dev\",\"insecure_dev_key\":\"" DEVKEY "\",\"integrity\":\"x\"}",
		      -EINVAL, "store.integrity: must be \"none\"");
	store_refused("{\"key_provider\":\"dev\",\"insecure_dev_key\":\"" DEVKEY "\",\"x\":1}",
		      -EINVAL, "store.x: ");
	store_refused("{\"key_provider\":\"kms\"}", -EINVAL, "store.kms: required");
#define KMS_APP(a) "{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com\",\"public_key\":\"04" GX GY "\",\"app_id\":" a "}}"
	store_refused(KMS_APP("\"shop\",\"on_rollback\":\"ignore\""), -EINVAL,
		      "store.kms.on_rollback: must be \"refuse\" or \"flag\"");
	store_refused(KMS_APP("\"shop\",\"on_rollback\":1"), -EINVAL, "store.kms.on_rollback: must be");
	store_refused(KMS_APP("\"\""), -EINVAL, "store.kms.app_id: ");
	store_refused(KMS_APP("\".shop\""), -EINVAL, "store.kms.app_id: must be 1..63 characters");
	store_refused(KMS_APP("\"sh op\""), -EINVAL, "store.kms.app_id: must be 1..63 characters");
	store_refused(KMS_APP("\"sh\\u0000op\""), -EINVAL, "store.kms.app_id: must be 1..63 characters");
	store_refused(KMS_APP("\"sh\xc3\xb6p\""), -EINVAL, "store.kms.app_id: must be 1..63 characters");
	store_refused(KMS_APP("\"0123456789012345678901234567890123456789012345678901234567890123\""),
		      -EINVAL, "store.kms.app_id: ");
	store_refused(KMS_APP("7"), -EINVAL, "store.kms.app_id: ");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com\",\"public_key\":\"04" GX GY "\"}}",
		      -EINVAL, "store.kms.app_id: required");
#undef KMS_APP
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://KMS.example.com\",\"public_key\":\"04" GX GY "\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.url: must be lowercase");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://10.0.0.1\",\"public_key\":\"04" GX GY "\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.url: an IP address is not a host name");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com:0443\",\"public_key\":\"04" GX GY "\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.url: the port must be a number 1..65535");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com:65536\",\"public_key\":\"04" GX GY "\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.url: the port must be a number 1..65535");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com:\",\"public_key\":\"04" GX GY "\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.url: the port must be a number 1..65535");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com/a b\",\"public_key\":\"04" GX GY "\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.url: character 2 is not allowed");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com/../x\",\"public_key\":\"04" GX GY "\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.url: has an empty, '.' or '..' segment");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.public_key: required");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com\",\"public_key\":\"05" GX GY "\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.public_key: is not a point of P-256");
	/* G with its last byte changed is off the curve */
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com\",\"public_key\":\"04" GX
		      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f6\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.public_key: is not a point of P-256");
	store_refused("{\"key_provider\":\"kms\",\"kms\":{\"url\":\"http://kms.example.com\",\"public_key\":\"04" GX "\",\"app_id\":\"a\"}}",
		      -EINVAL, "store.kms.public_key: must be 130 lowercase hex digits");
}

/* extra_anchors: CA certificates made here (tls/cert.h), as base64 DER. */
static void test_anchors(void)
{
	static struct cert_ca ca[POLICY_MAX_ANCHORS + 1];
	static char b64[POLICY_MAX_ANCHORS + 1][BASE64_ENCODED_LEN(CERT_DER_MAX) + 1];
	static char leaf64[BASE64_ENCODED_LEN(CERT_DER_MAX) + 1], list[16384];
	uint8_t leaf[CERT_DER_MAX];
	br_hmac_drbg_context rng;
	int64_t now = 1780000000;
	size_t off = 0;

	if (cert_drbg_seed(&rng) != 0) {
		ok(0, "a DRBG for the test's CAs");
		return;
	}
	for (unsigned k = 0; k <= POLICY_MAX_ANCHORS; k++) {
		char tag[2] = { (char)('a' + k), 0 };
		if (cert_ca_init(&ca[k], &rng, tag, 1, now, now + 86400) != 0) {
			ok(0, "CA %s made", tag);
			return;
		}
		base64_encode(b64[k], ca[k].der, ca[k].der_len);
	}
	struct cert_validity v = { now, now + 3600 };
	long ln = cert_leaf(&ca[0], &rng, "up.example", 10, &v, leaf, sizeof leaf);
	ok(ln > 0, "a leaf of CA a");
	base64_encode(leaf64, leaf, ln > 0 ? (size_t)ln : 0);

	/* two, given in reverse order of their bytes: sorted */
	int later = memcmp(ca[0].der, ca[1].der, ca[0].der_len < ca[1].der_len ?
			   ca[0].der_len : ca[1].der_len) > 0;
	snprintf(list, sizeof list, ",\"extra_anchors\":[\"%s\",\"%s\"]}", b64[!later], b64[later]);
	snprintf(doc, sizeof doc, "%.*s%s", (int)(sizeof BASE - 2), BASE, list);
	is_int(parse(doc), 0, "extra_anchors: two CA certificates parse");
	if (err[0])
		diag("%s", err);
	ok(pol.nanchors == 2 && pol.anchors[0].len == ca[later].der_len &&
	   memcmp(pol.anchors[0].der, ca[later].der, ca[later].der_len) == 0 &&
	   pol.anchors[1].len == ca[!later].der_len, "  kept as DER, sorted by their bytes");
	long n = policy_write(&pol, canon, sizeof canon);
	char want[2 * sizeof b64[0] + 64];
	snprintf(want, sizeof want, "],\"extra_anchors\":[\"%s\",\"%s\"]}", b64[later], b64[!later]);
	ok(n > 0 && strlen(canon) > strlen(want) &&
	   strcmp(canon + strlen(canon) - strlen(want), want) == 0,
	   "  the canonical form lists them after egress, sorted");
	round_trip("extra_anchors");

	/* none: the bytes of a policy without the key */
	snprintf(doc, sizeof doc, "%.*s,\"extra_anchors\":[]}", (int)(sizeof BASE - 2), BASE);
	ok(parse(doc) == 0 && pol.nanchors == 0 && policy_write(&pol, canon, sizeof canon) > 0 &&
	   strcmp(canon, BASE_CANON) == 0, "extra_anchors []: the same bytes as without it");

	/* refused */
	static const struct { const char *item, *want; } bad[] = {
		{ "\"bm90IGEgY2VydGlmaWNhdGU=\"", "extra_anchors[0]: not an X.509 certificate BearSSL reads" },
		{ "\"!!!!\"", "extra_anchors[0]: must be base64 (RFC 4648, padded, one line)" },
		{ "\"TWFu\\nTWFu\"", "extra_anchors[0]: must be base64" },
		{ "\"\"", "extra_anchors[0]: " },
		{ "42", "extra_anchors[0]: " },
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		snprintf(doc, sizeof doc, "%.*s,\"extra_anchors\":[%s]}", (int)(sizeof BASE - 2), BASE,
			 bad[k].item);
		int r = parse(doc);
		ok(r == -EINVAL && strncmp(err, bad[k].want, strlen(bad[k].want)) == 0, "refused: %s",
		   bad[k].want);
		if (r != -EINVAL || strncmp(err, bad[k].want, strlen(bad[k].want)) != 0)
			diag("got %d \"%s\"", r, err);
	}
	snprintf(doc, sizeof doc, "%.*s,\"extra_anchors\":[\"%s\"]}", (int)(sizeof BASE - 2), BASE,
		 leaf64);
	ok(parse(doc) == -EINVAL && strstr(err, "extra_anchors[0]: not a CA certificate") == err,
	   "refused: a leaf (not a CA)");
	snprintf(doc, sizeof doc, "%.*s,\"extra_anchors\":[\"%s\",\"%s\"]}", (int)(sizeof BASE - 2),
		 BASE, b64[2], b64[2]);
	ok(parse(doc) == -EINVAL && strstr(err, "extra_anchors[1]: is listed twice") == err,
	   "refused: one listed twice");
	for (unsigned count = POLICY_MAX_ANCHORS; count <= POLICY_MAX_ANCHORS + 1; count++) {
		off = (size_t)snprintf(doc, sizeof doc, "%.*s,\"extra_anchors\":[",
				       (int)(sizeof BASE - 2), BASE);
		for (unsigned k = 0; k < count; k++)
			off += (size_t)snprintf(doc + off, sizeof doc - off, "%s\"%s\"", k ? "," : "",
						b64[k]);
		snprintf(doc + off, sizeof doc - off, "]}");
		int r = parse(doc);
		if (count == POLICY_MAX_ANCHORS)
			ok(r == 0 && pol.nanchors == count, "%u of them parse", count);
		else
			ok(r == -E2BIG, "refused: %u of them (at most %d)", count, POLICY_MAX_ANCHORS);
	}
}

int main(void)
{
	test_example();
	test_canonical();
	test_refused();
	test_bounds();
	test_limits();
	test_store();
	test_anchors();
	return tap_done();
}
