/* tests/test_fn_decl.c: function deployment bodies (crypto/fn_decl.h): the
 * seed service's quick-start body as its README writes it, both shapes,
 * every refusal with its JSON path and API code, limits against the
 * policy, the code decoded in chunks into a memfd and a pipe, and the
 * canonical declaration (golden bytes, round trip, one spelling). */
#include "crypto/fn_decl.h"
#include "lib/base64.h"
#include "lib/hex.h"
#include "tests/tap.h"

#include <bearssl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\","
	"\"functions\":{\"runtimes\":[\"python\",\"node\"],\"max\":4,"
	"\"default_limits\":{\"memory_mb\":64,\"pids\":16,\"cpu_millicores\":500,\"timeout_ms\":5000,\"tmp_mb\":8,\"output_kb\":256},"
	"\"max_limits\":{\"memory_mb\":256,\"pids\":64,\"cpu_millicores\":1000,\"timeout_ms\":30000,\"tmp_mb\":32,\"output_kb\":1024}},"
	"\"egress\":[{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"a\"},"
	"{\"host\":\"*.example.org\",\"ports\":[443],\"tls\":\"passthrough\",\"purpose\":\"b\"},"
	"{\"host\":\"api.example.com\",\"ports\":[8443],\"tls\":\"passthrough\",\"purpose\":\"c\"}]}";

/* README quick start of the seed service (docs: /work/shared/SEED-SERVICE.md),
 * verbatim: its "<base64>" is a placeholder, not base64. */
static const char QUICKSTART[] =
	"{\"id\": \"my-func\", \"runtime\": \"python\", \"code\": \"<base64>\", \"handler\": \"handler\"}";

static struct policy_tokens ptoks;
static struct policy pol;
static struct fn_decl_tokens toks;
static struct fn_decl d, d2;
static struct fn_error e;
static char canon[FN_DECL_CANON_MAX + 1], canon2[FN_DECL_CANON_MAX + 1];
static unsigned char chunk[4096];

static int parse(enum fn_shape shape, const char *s)
{
	return fn_decl_parse(s, strlen(s), shape, &pol, &toks, &d, &e);
}

/* A memfd with the code of d decoded into it; returns the fd. */
static int decode_to_memfd(const char *json, struct fn_decl *fd_decl, size_t cap, long *n)
{
	int fd = memfd_create("code", MFD_CLOEXEC);
	*n = fn_code_write(fd, json, fd_decl, chunk, cap);
	return fd;
}

static void test_quickstart(void)
{
	static const char REAL[] =
		"{\"id\": \"my-func\", \"runtime\": \"python\", \"code\": \"ZGVmIGhhbmRsZXIocik6IHJldHVybiAxCg==\", \"handler\": \"handler\"}";
	long n;

	is_int(parse(FN_SHAPE_SEED, QUICKSTART), -EINVAL, "the README's body verbatim: \"<base64>\" is refused");
	is_str(e.code, "invalid_field", "... as invalid_field");
	ok(strncmp(e.msg, "code: ", 6) == 0, "... naming code (%s)", e.msg);
	is_int(parse(FN_SHAPE_SEED, REAL), 0, "the README's body with real base64 is accepted (%s)", e.msg);
	is_str(d.id, "my-func", "id");
	is_str(d.name, "my-func", "name defaults to the id");
	is_int(d.runtime, POLICY_RT_PYTHON, "runtime python");
	is_str(d.handler, "handler", "handler");
	is_int(d.limits.timeout_ms, 5000, "timeout from the policy's default_limits");
	is_int(d.limits.memory_mb, 64, "memory from the policy's default_limits");
	is_int(d.concurrency, 1, "concurrency 1");
	is_int(d.code_bytes, 25, "code size known before decoding");
	ok(!d.code_hashed, "code not hashed before fn_code_write");
	is_int(fn_decl_write(&d, canon, sizeof canon), -EINVAL, "no canonical declaration before the code is hashed");
	int fd = decode_to_memfd(REAL, &d, sizeof chunk, &n);
	is_int(n, 25, "decoded 25 bytes into a memfd");
	char back[64] = "";
	is_int(pread(fd, back, sizeof back, 0), 25, "memfd holds 25 bytes");
	is_str(back, "def handler(r): return 1\n", "memfd holds the code");
	close(fd);
	ok(d.code_hashed, "code hashed");
	/* Seed without handler: defaulted. */
	is_int(parse(FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"node\",\"code\":\"YQ==\"}"), 0, "handler is optional");
	is_str(d.handler, "handler", "... and defaults to \"handler\"");
}

static void test_full_shapes(void)
{
	static const char SEED[] =
		"{\"id\":\"fn-1_a\",\"runtime\":\"node\",\"code\":\"YWJj\",\"handler\":\"main_2\","
		"\"name\":\"Fn \\u00e9\",\"envVars\":[\"B_KEY\",\"A_KEY\"],\"timeout\":30000,"
		"\"description\":\"\",\"appName\":\"shop\"}";
	static const char V1[] =
		"{\"id\":\"fn-1_a\",\"runtime\":\"node\",\"code\":\"YWJj\",\"handler\":\"main_2\","
		"\"name\":\"Fn \\u00e9\",\"secrets\":[\"A_KEY\",\"B_KEY\"],"
		"\"egress\":[\"*.example.org\",\"api.example.com\"],"
		"\"limits\":{\"memory_mb\":256,\"pids\":64,\"cpu_millicores\":1000,\"timeout_ms\":30000,"
		"\"tmp_mb\":32,\"output_kb\":1024,\"data_mb\":0,\"egress_kbps\":2048,\"egress_conns\":3,"
		"\"concurrency\":4},"
		"\"description\":\"d\"}";

	is_int(parse(FN_SHAPE_SEED, SEED), 0, "seed shape with every documented field (%s)", e.msg);
	is_int(d.limits.timeout_ms, 30000, "timeout (ms) is limits.timeout_ms");
	is_str(d.secrets[0], "A_KEY", "envVars sorted");
	is_int(d.nsecrets, 2, "two secrets");
	is_str(d.app_name, "shop", "appName");
	is_str(d.name, "Fn \xc3\xa9", "name decoded as UTF-8");
	is_int(parse(FN_SHAPE_V1, V1), 0, "v1 shape with every field (%s)", e.msg);
	is_int(d.limits.data_mb, 0, "data_mb 0: no /data");
	is_int(d.limits.egress_kbps, 2048, "egress_kbps: the function's egress cap");
	is_int(d.limits.egress_conns, 3, "egress_conns: its proxied connections at once");
	is_int(parse(FN_SHAPE_SEED, SEED), 0, "seed shape again");
	is_int(d.limits.data_mb, 16, "data_mb not given: the policy's default");
	is_int(d.limits.egress_kbps, 10000000, "egress_kbps not given: the policy's default");
	is_int(d.limits.egress_conns, 1000, "egress_conns not given: the policy's default");
	is_int(parse(FN_SHAPE_V1, V1), 0, "v1 again");
	is_int(d.negress, 2, "two egress names");
	is_str(d.egress[0], "*.example.org", "egress sorted");
	is_int(d.egress_rules, 7, "api.example.com grants both its rules, *.example.org its one");
	is_int(d.limits.memory_mb, 256, "memory_mb at the policy's max");
	is_int(d.concurrency, 4, "concurrency");
	is_int(parse(FN_SHAPE_V1, "{\"id\":\"x\",\"runtime\":\"python\",\"code\":\"YQ==\",\"limits\":{\"pids\":3}}"), 0,
	       "v1 with one limit");
	is_int(d.limits.pids, 3, "... set");
	is_int(d.limits.memory_mb, 64, "... the others from default_limits");
}

struct bad {
	enum fn_shape shape;
	const char *body;
	const char *code;
	const char *msg;   /* prefix of the message: the path */
};

#define BODY(extra) "{\"id\":\"f\",\"runtime\":\"python\",\"code\":\"YQ==\"" extra "}"

static const struct bad bads[] = {
	{ FN_SHAPE_SEED, "[]", "invalid_json", "(top level): must be an object" },
	{ FN_SHAPE_SEED, "{", "invalid_json", "not valid JSON" },
	{ FN_SHAPE_SEED, "{\"runtime\":\"python\",\"code\":\"YQ==\"}", "missing_field", "id: required" },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"code\":\"YQ==\"}", "missing_field", "runtime: required" },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"python\"}", "missing_field", "code: required" },
	{ FN_SHAPE_SEED, BODY(",\"egress\":[]"), "unknown_field", "egress: unknown field" },
	{ FN_SHAPE_SEED, BODY(",\"limits\":{}"), "unknown_field", "limits: unknown field" },
	{ FN_SHAPE_SEED, BODY(",\"secrets\":[]"), "unknown_field", "secrets: unknown field" },
	{ FN_SHAPE_V1, BODY(",\"envVars\":[]"), "unknown_field", "envVars: unknown field" },
	{ FN_SHAPE_V1, BODY(",\"timeout\":100"), "unknown_field", "timeout: unknown field" },
	{ FN_SHAPE_V1, BODY(",\"appName\":\"a\""), "unknown_field", "appName: unknown field" },
	{ FN_SHAPE_SEED, BODY(",\"createdAt\":1"), "unknown_field", "createdAt: unknown field" },
	{ FN_SHAPE_SEED, BODY(",\"id\":\"g\""), "invalid_field", "id: key given twice" },
	{ FN_SHAPE_SEED, "{\"id\":\"F\",\"runtime\":\"python\",\"code\":\"YQ==\"}", "invalid_field", "id: must match" },
	{ FN_SHAPE_SEED, "{\"id\":\"-f\",\"runtime\":\"python\",\"code\":\"YQ==\"}", "invalid_field", "id: must match" },
	{ FN_SHAPE_SEED, "{\"id\":\"a/b\",\"runtime\":\"python\",\"code\":\"YQ==\"}", "invalid_field", "id: must match" },
	{ FN_SHAPE_SEED, "{\"id\":\"..\",\"runtime\":\"python\",\"code\":\"YQ==\"}", "invalid_field", "id: must match" },
	{ FN_SHAPE_SEED, "{\"id\":\"\",\"runtime\":\"python\",\"code\":\"YQ==\"}", "invalid_field", "id: must not be empty" },
	{ FN_SHAPE_SEED, "{\"id\":\"a123456789012345678901234567890123456789012345678901234567890123\","
	  "\"runtime\":\"python\",\"code\":\"YQ==\"}", "invalid_field", "id: longer than 63" },
	{ FN_SHAPE_SEED, "{\"id\":7,\"runtime\":\"python\",\"code\":\"YQ==\"}", "invalid_field", "id: must be a string" },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"ruby\",\"code\":\"YQ==\"}", "unknown_runtime", "runtime: must be one of" },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"native\",\"code\":\"YQ==\"}", "unknown_runtime",
	  "runtime: \"native\" is not enabled by the policy (runtimes: node python)" },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"python\\u0000\",\"code\":\"YQ==\"}", "unknown_runtime", "runtime: " },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"python\",\"code\":\"YQ=\"}", "invalid_field", "code: must be base64" },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"python\",\"code\":\"YR==\"}", "invalid_field", "code: must be base64" },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"python\",\"code\":\"\"}", "invalid_field", "code: must not be empty" },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"python\",\"code\":\"YW\\/j\"}", "invalid_field", "code: must be plain base64" },
	{ FN_SHAPE_SEED, "{\"id\":\"f\",\"runtime\":\"python\",\"code\":[]}", "invalid_field", "code: must be a string" },
	{ FN_SHAPE_SEED, BODY(",\"handler\":\"1h\""), "invalid_field", "handler: must be an identifier" },
	{ FN_SHAPE_SEED, BODY(",\"handler\":\"a.b\""), "invalid_field", "handler: must be an identifier" },
	{ FN_SHAPE_SEED, BODY(",\"handler\":\"\""), "invalid_field", "handler: must not be empty" },
	{ FN_SHAPE_SEED, BODY(",\"name\":\"\""), "invalid_field", "name: must not be empty" },
	{ FN_SHAPE_SEED, BODY(",\"name\":\"a\\nb\""), "invalid_field", "name: must be UTF-8 text" },
	{ FN_SHAPE_SEED, BODY(",\"description\":\"\\u0085\""), "invalid_field", "description: must be UTF-8 text" },
	{ FN_SHAPE_SEED, BODY(",\"description\":\"\\ud800\""), "invalid_field", "description: bad string escape" },
	{ FN_SHAPE_SEED, BODY(",\"envVars\":[\"lower\"]"), "invalid_field", "envVars[0]: must match" },
	{ FN_SHAPE_SEED, BODY(",\"envVars\":[\"A\",\"1B\"]"), "invalid_field", "envVars[1]: must match" },
	{ FN_SHAPE_SEED, BODY(",\"envVars\":[\"A\",\"A\"]"), "invalid_field", "envVars[1]: \"A\" is listed twice" },
	{ FN_SHAPE_SEED, BODY(",\"envVars\":\"A\""), "invalid_field", "envVars: must be an array" },
	{ FN_SHAPE_SEED, BODY(",\"timeout\":30001"), "limit_exceeded",
	  "timeout: 30001 is above the policy's max_limits.timeout_ms (30000)" },
	{ FN_SHAPE_SEED, BODY(",\"timeout\":5"), "invalid_field", "timeout: must be an integer 10..3600000" },
	{ FN_SHAPE_SEED, BODY(",\"timeout\":1.5"), "invalid_field", "timeout: must be an integer" },
	{ FN_SHAPE_SEED, BODY(",\"timeout\":\"100\""), "invalid_field", "timeout: must be an integer" },
	{ FN_SHAPE_V1, BODY(",\"secrets\":[\"A-B\"]"), "invalid_field", "secrets[0]: must match" },
	{ FN_SHAPE_V1, BODY(",\"egress\":[\"evil.example.com\"]"), "unknown_egress_rule", "egress[0]: names no rule" },
	{ FN_SHAPE_V1, BODY(",\"egress\":[\"api.example.com\",\"API.example.com\"]"), "unknown_egress_rule", "egress[1]: names no rule" },
	{ FN_SHAPE_V1, BODY(",\"egress\":[\"api.example.com\",\"api.example.com\"]"), "invalid_field", "egress[1]: \"api.example.com\" is listed twice" },
	{ FN_SHAPE_V1, BODY(",\"egress\":[1]"), "invalid_field", "egress[0]: must be a string" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"memory_mb\":257}"), "limit_exceeded",
	  "limits.memory_mb: 257 is above the policy's max_limits.memory_mb (256)" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"pids\":65}"), "limit_exceeded", "limits.pids: 65 is above" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"cpu_millicores\":1001}"), "limit_exceeded", "limits.cpu_millicores: 1001 is above" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"tmp_mb\":33}"), "limit_exceeded", "limits.tmp_mb: 33 is above" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"output_kb\":1025}"), "limit_exceeded", "limits.output_kb: 1025 is above" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"data_mb\":257}"), "limit_exceeded",
	  "limits.data_mb: 257 is above the policy's max_limits.data_mb (256)" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"egress_kbps\":63}"), "invalid_field",
	  "limits.egress_kbps: must be an integer 64..10000000" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"egress_kbps\":10000001}"), "invalid_field",
	  "limits.egress_kbps: must be an integer 64..10000000" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"data_mb\":-1}"), "invalid_field", "limits.data_mb: must be an integer 0..1048576" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"data_mb\":1.5}"), "invalid_field", "limits.data_mb: must be an integer 0..1048576" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"timeout_ms\":99999999}"), "invalid_field", "limits.timeout_ms: must be an integer 10..3600000" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"memory_mb\":16,\"tmp_mb\":17}"), "invalid_field",
	  "limits: tmp_mb 17 is above memory_mb (16): /tmp is charged to memory" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"concurrency\":0}"), "invalid_field", "limits.concurrency: must be an integer 1..64" },
	{ FN_SHAPE_V1, BODY(",\"limits\":{\"cpu_pct\":50}"), "unknown_field", "limits.cpu_pct: unknown field" },
	{ FN_SHAPE_V1, BODY(",\"limits\":[]"), "invalid_field", "limits: must be an object" },
	{ FN_SHAPE_V1, BODY(",\"secrets\":[\"A\",\"B\",\"C\",\"D\",\"E\",\"F\",\"G\",\"H\",\"I\",\"J\",\"K\",\"L\","
	  "\"M\",\"N\",\"O\",\"P\",\"Q\",\"R\",\"S\",\"T\",\"U\",\"V\",\"W\",\"X\",\"Y\",\"Z\",\"A1\",\"A2\",\"A3\","
	  "\"A4\",\"A5\",\"A6\",\"A7\"]"), "too_many_items", "secrets: 33 secrets, at most 32" },
	{ FN_SHAPE_STORED, BODY(""), "unknown_field", "code: unknown field" },
};

static void test_errors(void)
{
	for (size_t k = 0; k < sizeof bads / sizeof bads[0]; k++) {
		const struct bad *b = &bads[k];
		int r = parse(b->shape, b->body);
		ok(r < 0 && e.code && strcmp(e.code, b->code) == 0 && strstr(e.msg, b->msg) == e.msg,
		   "refused %zu: %s", k, b->msg);
		if (r == 0 || !e.code || strcmp(e.code, b->code) != 0 || strstr(e.msg, b->msg) != e.msg)
			diag("got %d %s '%s' for %s", r, e.code ? e.code : "(null)", e.msg, b->body);
		ok(d.id[0] == '\0' && d.code_len == 0, "... and leaves nothing behind");
	}
}

/* Base64 of n pseudo-random bytes in a JSON body, and their SHA-256. */
static char *big_body(size_t n, uint8_t sha[32], size_t *len)
{
	static const char pre[] = "{\"id\":\"big\",\"runtime\":\"python\",\"code\":\"";
	unsigned char *raw = malloc(n ? n : 1);
	char *body = malloc(sizeof pre + BASE64_ENCODED_LEN(n) + 8);
	uint32_t x = 2463534242u;
	br_sha256_context h;

	for (size_t k = 0; k < n; k++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		raw[k] = (unsigned char)x;
	}
	br_sha256_init(&h);
	br_sha256_update(&h, raw, n);
	br_sha256_out(&h, sha);
	memcpy(body, pre, sizeof pre - 1);
	*len = sizeof pre - 1 + base64_encode(body + sizeof pre - 1, raw, n);
	memcpy(body + *len, "\"}", 3);
	*len += 2;
	free(raw);
	return body;
}

static void sha_fd(int fd, uint8_t out[32], size_t *total)
{
	br_sha256_context h;
	ssize_t n;

	*total = 0;
	br_sha256_init(&h);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		br_sha256_update(&h, chunk, (size_t)n);
		*total += (size_t)n;
	}
	br_sha256_out(&h, out);
}

static void test_large_code(void)
{
	uint8_t want[32], got[32];
	size_t len, total;
	long n;
	char *body = big_body(FN_CODE_MAX, want, &len);

	diag("a body of %zu bytes (%u MiB of code)", len, FN_CODE_MAX >> 20);
	is_int(fn_decl_parse(body, len, FN_SHAPE_SEED, &pol, &toks, &d, &e), 0, "the largest code is accepted (%s)", e.msg);
	ok(d.code_off == 39 && d.code_len == len - 41, "its span in the body");
	/* Odd chunk sizes: groups never straddle two chunks. */
	int fd = decode_to_memfd(body, &d, 1000, &n);
	is_int(n, FN_CODE_MAX, "decoded through a 1000-byte buffer into a memfd");
	sha_fd(fd, got, &total);
	is_int(total, FN_CODE_MAX, "memfd size");
	ok(memcmp(got, want, 32) == 0, "memfd content is the code");
	ok(memcmp(d.code_sha256, want, 32) == 0, "the decoder's hash is the code's SHA-256");
	close(fd);
	free(body);

	body = big_body(FN_CODE_MAX + 1, want, &len);
	is_int(fn_decl_parse(body, len, FN_SHAPE_SEED, &pol, &toks, &d, &e), -EFBIG, "one byte more is refused");
	is_str(e.code, "code_too_large", "... code_too_large");
	ok(strncmp(e.msg, "code: ", 6) == 0, "... naming code (%s)", e.msg);
	free(body);

	is_int(fn_decl_parse("{}", FN_BODY_MAX + 1, FN_SHAPE_SEED, &pol, &toks, &d, &e), -EFBIG,
	       "a body over FN_BODY_MAX is refused before it is read");
	is_str(e.code, "body_too_large", "... body_too_large");
}

/* Through a pipe to a child that hashes what it reads: a descriptor that
 * takes short writes and blocks. */
static void test_pipe(void)
{
	uint8_t want[32], got[32] = { 0 };
	size_t len;
	int data[2], back[2];
	char *body = big_body(300000, want, &len);

	ok(pipe(data) == 0 && pipe(back) == 0, "pipes");
	pid_t pid = fork();
	if (pid == 0) {
		br_sha256_context h;
		unsigned char b[777];
		ssize_t n;
		close(data[1]);
		br_sha256_init(&h);
		while ((n = read(data[0], b, sizeof b)) > 0)
			br_sha256_update(&h, b, (size_t)n);
		br_sha256_out(&h, b);
		_exit(write(back[1], b, 32) == 32 ? 0 : 1);
	}
	close(data[0]);
	close(back[1]);
	is_int(fn_decl_parse(body, len, FN_SHAPE_V1, &pol, &toks, &d, &e), 0, "300000 bytes of code");
	is_int(fn_code_write(data[1], body, &d, chunk, sizeof chunk), 300000, "written into a pipe");
	close(data[1]);
	is_int(read(back[0], got, 32), 32, "the reader's hash");
	ok(memcmp(got, want, 32) == 0, "the reader got the code");
	ok(memcmp(d.code_sha256, want, 32) == 0, "and the hash matches");
	int st;
	waitpid(pid, &st, 0);
	close(back[0]);
	free(body);

	/* A write error is returned, not hidden. */
	is_int(fn_code_write(-1, QUICKSTART, &(struct fn_decl){ .code_len = 4, .code_bytes = 3 },
			     chunk, sizeof chunk), -EINVAL, "text that is not base64 is refused by the decoder too");
	static const char ok_b64[] = "YWJj";
	is_int(fn_code_write(-1, ok_b64, &(struct fn_decl){ .code_len = 4, .code_bytes = 3 }, chunk, sizeof chunk),
	       -EBADF, "a bad descriptor is -EBADF");
	/* Padding at a chunk's end is only allowed at the input's end. */
	static const char mid_pad[] = "YQ==YWJj";
	int fd = memfd_create("x", MFD_CLOEXEC);
	is_int(base64_decode_fd(fd, mid_pad, 8, chunk, 3, NULL, NULL), -EINVAL, "padding before the end, at a chunk boundary");
	is_int(base64_decode_fd(fd, mid_pad, 8, chunk, 6, NULL, NULL), -EINVAL, "padding before the end, inside a chunk");
	close(fd);
}

/* The canonical declaration: golden bytes, parse back, one spelling. */
static void test_canonical(void)
{
	static const char A[] =
		"{\"id\":\"f\",\"runtime\":\"node\",\"code\":\"YWJj\",\"egress\":[\"api.example.com\",\"*.example.org\"],"
		"\"secrets\":[\"Z\",\"A\"],\"limits\":{\"pids\":20},\"name\":\"N \\\"q\\\"\"}";
	static const char B[] =
		"{ \"limits\" : { \"pids\" : 20 , \"concurrency\": 1, \"memory_mb\": 64 }, \"name\":\"N \\u0022q\\\"\","
		"\"secrets\":[\"A\",\"Z\"],\"egress\":[\"*.example.org\",\"api.example.com\"],"
		"\"code\":\"YWJj\",\"runtime\":\"node\",\"handler\":\"handler\",\"id\":\"f\",\"description\":\"\"}";
	static const char GOLDEN[] =
		"{\"format\":1,\"id\":\"f\",\"name\":\"N \\\"q\\\"\",\"description\":\"\",\"app_name\":\"\",\"runtime\":\"node\","
		"\"handler\":\"handler\",\"code_sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\","
		"\"code_bytes\":3,\"secrets\":[\"A\",\"Z\"],\"egress\":[\"*.example.org\",\"api.example.com\"],"
		"\"limits\":{\"memory_mb\":64,\"pids\":20,\"cpu_millicores\":500,\"timeout_ms\":5000,\"tmp_mb\":8,"
		"\"output_kb\":256,\"data_mb\":16,\"egress_kbps\":10000000,\"egress_conns\":1000,\"concurrency\":1}}";
	uint8_t h1[32], h2[32];
	long n, n2;
	int fd;

	is_int(parse(FN_SHAPE_V1, A), 0, "A parses (%s)", e.msg);
	fd = decode_to_memfd(A, &d, sizeof chunk, &n);
	close(fd);
	n = fn_decl_write(&d, canon, sizeof canon);
	is_int(n, (long)strlen(GOLDEN), "canonical length");
	is_str(canon, GOLDEN, "canonical bytes");
	is_int(fn_decl_sha256(&d, canon2, sizeof canon2, h1), 0, "declaration hash");

	is_int(parse(FN_SHAPE_V1, B), 0, "B (same meaning, other order, escapes, explicit defaults) parses");
	fd = decode_to_memfd(B, &d, sizeof chunk, &n2);
	close(fd);
	n2 = fn_decl_write(&d, canon2, sizeof canon2);
	ok(n2 == n && memcmp(canon, canon2, (size_t)n) == 0, "same canonical bytes");
	fn_decl_sha256(&d, canon2, sizeof canon2, h2);
	ok(memcmp(h1, h2, 32) == 0, "same declaration hash");

	is_int(fn_decl_parse(GOLDEN, strlen(GOLDEN), FN_SHAPE_STORED, &pol, &toks, &d2, &e), 0,
	       "the canonical form parses as a stored declaration (%s)", e.msg);
	ok(d2.code_hashed && memcmp(d2.code_sha256, d.code_sha256, 32) == 0, "with the code's hash");
	n2 = fn_decl_write(&d2, canon2, sizeof canon2);
	ok(n2 == n && memcmp(canon, canon2, (size_t)n) == 0, "and writes the same bytes again");
	/* The stored shape wants every key, and the current policy. */
	static const char NO_LIMITS[] =
		"{\"format\":1,\"id\":\"f\",\"name\":\"n\",\"description\":\"\",\"app_name\":\"\",\"runtime\":\"node\","
		"\"handler\":\"handler\",\"code_sha256\":\"" H "\",\"code_bytes\":3,\"secrets\":[],\"egress\":[]}";
	is_int(fn_decl_parse(NO_LIMITS, strlen(NO_LIMITS), FN_SHAPE_STORED, &pol, &toks, &d2, &e), -EINVAL,
	       "a stored declaration without limits");
	is_str(e.msg, "limits: required", "... names limits");
	/* A declaration stored before data_mb, egress_kbps or egress_conns
	 * existed loads with the default. */
	for (int k = 0; k < 3; k++) {
		static const char *const keys[] = { ",\"data_mb\":", ",\"egress_kbps\":",
						    ",\"egress_conns\":" };
		char old[sizeof GOLDEN];
		const char *dm = strstr(GOLDEN, keys[k]);
		ok(dm != NULL, "the canonical form has %s", keys[k] + 1);
		if (dm != NULL) {
			size_t pre = (size_t)(dm - GOLDEN), len = strcspn(dm + 1, ",}") + 1;
			snprintf(old, sizeof old, "%.*s%s", (int)pre, GOLDEN, dm + len);
			is_int(fn_decl_parse(old, strlen(old), FN_SHAPE_STORED, &pol, &toks, &d2, &e), 0,
			       "a stored declaration without %s (an older build's) loads (%s)", keys[k] + 1,
			       e.msg);
			is_int(k == 2 ? d2.limits.egress_conns : k ? d2.limits.egress_kbps :
			       d2.limits.data_mb,
			       k == 2 ? pol.default_limits.egress_conns : k ? pol.default_limits.egress_kbps :
			       pol.default_limits.data_mb, "... with the policy's default");
		}
	}
	struct policy narrow = pol;
	narrow.max_limits.pids = 10;
	is_int(fn_decl_parse(GOLDEN, strlen(GOLDEN), FN_SHAPE_STORED, &narrow, &toks, &d2, &e), -EINVAL,
	       "a stored declaration above a narrower policy is refused");
	is_str(e.code, "limit_exceeded", "... limit_exceeded");

	/* The largest declaration fits FN_DECL_CANON_MAX. */
	memset(&d2, 0, sizeof d2);
	memset(d2.id, 'a', FN_ID_MAX);
	/* Text is never a control character (text_valid): '"' is the
	 * longest escape jsonw writes for what the parser accepts. */
	memset(d2.name, '"', FN_NAME_MAX);
	memset(d2.description, '"', FN_DESC_MAX);
	memset(d2.app_name, '"', FN_NAME_MAX);
	memset(d2.handler, 'h', FN_HANDLER_MAX);
	for (unsigned k = 0; k < FN_MAX_SECRETS; k++)
		memset(d2.secrets[k], 'A', POLICY_SECRET_MAX);
	for (unsigned k = 0; k < FN_MAX_EGRESS; k++)
		memset(d2.egress[k], 'a', POLICY_HOST_MAX);
	d2.nsecrets = FN_MAX_SECRETS;
	d2.negress = FN_MAX_EGRESS;
	d2.code_hashed = true;
	d2.code_bytes = FN_CODE_MAX;
	memset(&d2.limits, 0xff, sizeof d2.limits);
	d2.concurrency = UINT32_MAX;
	n = fn_decl_write(&d2, canon, sizeof canon);
	ok(n > 0 && (size_t)n <= FN_DECL_CANON_MAX, "an over-large declaration still fits (%ld bytes)", n);
}

static void test_view(void)
{
	static char out[4096];
	struct jsonw w;
	long n;
	int fd;

	parse(FN_SHAPE_SEED, "{\"id\":\"v\",\"runtime\":\"python\",\"code\":\"c2VjcmV0IGNvZGU=\",\"envVars\":[\"K\"],\"appName\":\"a\"}");
	fd = decode_to_memfd("{\"id\":\"v\",\"runtime\":\"python\",\"code\":\"c2VjcmV0IGNvZGU=\",\"envVars\":[\"K\"],\"appName\":\"a\"}",
			     &d, sizeof chunk, &n);
	close(fd);
	jw_init(&w, out, sizeof out);
	fn_decl_view(&d, 0, 86400, &w);
	n = jw_finish(&w);
	ok(n > 0, "view written");
	ok(strstr(out, "\"code\"") == NULL && strstr(out, "c2VjcmV0") == NULL, "the view holds no code");
	ok(strstr(out, "\"envVars\":[\"K\"]") && strstr(out, "\"timeout\":5000") && strstr(out, "\"appName\":\"a\""),
	   "seed keys");
	ok(strstr(out, "\"createdAt\":\"1970-01-01T00:00:00Z\",\"updatedAt\":\"1970-01-02T00:00:00Z\"") != NULL,
	   "dates in RFC 3339");
	diag("%s", out);
}

int main(void)
{
	char err[ERRBUF_LEN];

	if (!ok(policy_parse(POLICY, strlen(POLICY), &ptoks, &pol, err, sizeof err) == 0, "test policy (%s)", err))
		return tap_done();
	test_quickstart();
	test_full_shapes();
	test_errors();
	test_large_code();
	test_pipe();
	test_canonical();
	test_view();
	return tap_done();
}
