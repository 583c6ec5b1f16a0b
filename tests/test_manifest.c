/* tests/test_manifest.c: the image manifest parser and loader. */
#include "init/manifest.h"
#include "crypto/policy.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "tests/tap.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define REL "6.18.15+deb13-cloud-amd64"
#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define H3 "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5"

/* The same bytes as tests/fuzz/corpus/fuzz_manifest/valid.json. */
static const char VALID[] =
	"{\"format\":1,\"dshield_version\":\"0.1.0\","
	"\"kernel\":{\"release\":\"" REL "\",\"package\":\"linux-image-" REL "\",\"version\":\"6.18.15-1~bpo13+1\"},"
	"\"packages\":[{\"name\":\"linux-image-" REL "\",\"version\":\"6.18.15-1~bpo13+1\",\"role\":\"deb\",\"sha256\":\"" H3 "\"}],"
	"\"modules\":[{\"name\":\"failover\",\"path\":\"/lib/modules/" REL "/failover.ko\",\"sha256\":\"" H1 "\",\"optional\":false},"
	"{\"name\":\"tdx_guest\",\"path\":\"/lib/modules/" REL "/tdx-guest.ko\",\"sha256\":\"" H2 "\",\"optional\":true}],"
	"\"files\":[{\"path\":\"/init\",\"mode\":\"0755\",\"size\":123,\"sha256\":\"" H3 "\"}],"
	"\"attestation\":{\"allow_sim\":true},"
	"\"future\":{\"x\":[1,-2.5e3,null,\"s\\n\\u00e9\"],\"y\":{}}}\n";

/* `sha256sum tests/fuzz/corpus/fuzz_manifest/valid.json` */
#define VALID_SHA256 "08054a254a156942c17bde26a29f8fe0e016fc95b791af164819080815f15c14"

static struct manifest m;
static char doc[1 << 16];

/* doc = VALID with the first `from` replaced by `to`. */
static const char *edit(const char *from, const char *to)
{
	const char *p = strstr(VALID, from);
	if (!p) {
		printf("Bail out! test bug: '%s' not in VALID\n", from);
		exit(2);
	}
	snprintf(doc, sizeof doc, "%.*s%s%s", (int)(p - VALID), VALID, to, p + strlen(from));
	return doc;
}

static int parse(const char *s)
{
	return manifest_parse(s, strlen(s), &m);
}

static void refused(const char *from, const char *to, int err, const char *why)
{
	is_int(parse(edit(from, to)), err, "%s", why);
}

/* A document with n copies of a module entry. */
static const char *with_modules(unsigned n)
{
	size_t len = (size_t)snprintf(doc, sizeof doc,
		"{\"format\":1,\"dshield_version\":\"0.1.0\",\"kernel\":{\"release\":\"" REL "\"},\"modules\":[");
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(doc + len, sizeof doc - len,
			"%s{\"name\":\"m%u\",\"path\":\"/lib/modules/" REL "/m%u.ko\",\"sha256\":\"" H1 "\"}",
			i ? "," : "", i, i);
	snprintf(doc + len, sizeof doc - len, "]}");
	return doc;
}

static void test_valid(void)
{
	uint8_t want[32];
	char hex[65];

	is_int(parse(VALID), 0, "valid manifest parses");
	hex_encode(hex, m.sha256, 32);
	is_str(hex, VALID_SHA256, "sha256 of the exact bytes (sha256sum)");
	is_str(m.release, REL, "kernel.release");
	is_str(m.dshield_version, "0.1.0", "dshield_version");
	is_int(m.nmodules, 2, "two modules");
	is_str(m.modules[0].name, "failover", "module 0 name");
	is_str(m.modules[0].path, "/lib/modules/" REL "/failover.ko", "module 0 path");
	hex_decode(want, sizeof want, H1, 64);
	is_mem(m.modules[0].sha256, want, 32, "module 0 sha256");
	ok(!m.modules[0].optional, "module 0 not optional");
	is_str(m.modules[1].name, "tdx_guest", "module 1 name (order kept)");
	ok(m.modules[1].optional, "module 1 optional");
	hex_decode(want, sizeof want, H2, 64);
	is_mem(m.modules[1].sha256, want, 32, "module 1 sha256");
	ok(m.allow_sim, "attestation.allow_sim");

	is_int(parse(edit("\"attestation\":{\"allow_sim\":true},", "")), 0, "attestation is optional");
	ok(!m.allow_sim, "allow_sim defaults to false");
	is_int(parse(edit(",\"optional\":false", "")), 0, "module optional is optional");
	ok(!m.modules[0].optional, "optional defaults to false");
	is_int(parse(edit("\"packages\":[", "\"packages\":[],\"p2\":[")), 0, "unknown keys are ignored");
	is_int(parse(edit("{\"format\":1,", " \r\n\t{\"format\":1 ,\n")), 0, "whitespace is fine");
	is_int(parse(with_modules(0)), 0, "no modules at all");
	is_int(m.nmodules, 0, "zero modules");
	is_int(parse(with_modules(MANIFEST_MAX_MODULES)), 0, "MANIFEST_MAX_MODULES modules");
	is_int(m.nmodules, MANIFEST_MAX_MODULES, "all of them");
}

static void test_missing(void)
{
	refused("\"format\":1,", "", -EINVAL, "missing format");
	refused("\"dshield_version\":\"0.1.0\",", "", -EINVAL, "missing dshield_version");
	refused("\"kernel\":{\"release\":\"" REL "\",\"package\":\"linux-image-" REL "\",\"version\":\"6.18.15-1~bpo13+1\"},",
		"", -EINVAL, "missing kernel");
	refused("\"release\":\"" REL "\",", "", -EINVAL, "missing kernel.release");
	refused("\"modules\":[{", "\"m\":[{", -EINVAL, "missing modules");
	refused("\"name\":\"failover\",", "", -EINVAL, "missing modules[0].name");
	refused("\"path\":\"/lib/modules/" REL "/failover.ko\",", "", -EINVAL, "missing modules[0].path");
	refused("\"sha256\":\"" H1 "\",", "", -EINVAL, "missing modules[0].sha256");
	ok(m.nmodules == 0 && m.release[0] == '\0', "a refused manifest leaves no partial result");
}

static void test_types(void)
{
	refused("\"format\":1", "\"format\":\"1\"", -EINVAL, "format as a string");
	refused("\"format\":1", "\"format\":2", -EINVAL, "format 2 is not understood");
	refused("\"format\":1", "\"format\":1.0", -EINVAL, "format 1.0 is not 1");
	refused("\"dshield_version\":\"0.1.0\"", "\"dshield_version\":1", -EINVAL, "dshield_version as a number");
	refused("\"kernel\":{", "\"kernel\":\"x\",\"k\":{", -EINVAL, "kernel as a string");
	refused("\"release\":\"" REL "\"", "\"release\":6", -EINVAL, "kernel.release as a number");
	refused("\"release\":\"" REL "\"", "\"release\":\"\"", -EINVAL, "empty kernel.release");
	refused("\"release\":\"" REL "\"", "\"release\":\"a/b\"", -EINVAL, "kernel.release with a slash");
	refused("\"package\":\"linux-image-" REL "\"", "\"package\":[\"x\"]", -EINVAL,
		"kernel.package as an array");
	refused("\"modules\":[", "\"modules\":{\"a\":1},\"x\":[", -EINVAL, "modules as an object");
	refused("\"modules\":[{\"name\":\"failover\"", "\"modules\":[[],{\"name\":\"failover\"", -EINVAL, "module as an array");
	refused("\"optional\":true", "\"optional\":\"yes\"", -EINVAL, "optional as a string");
	refused("\"optional\":true", "\"optional\":1", -EINVAL, "optional as a number");
	refused("\"allow_sim\":true", "\"allow_sim\":1", -EINVAL, "allow_sim as a number");
	refused("\"attestation\":{\"allow_sim\":true}", "\"attestation\":[]", -EINVAL, "attestation as an array");
	refused("\"packages\":[", "\"packages\":{},\"p\":[", -EINVAL, "packages as an object");
	refused("\"files\":[{", "\"files\":[1,{", -EINVAL, "files entry as a number");
	refused("\"name\":\"failover\"", "\"name\":\"fail over\"", -EINVAL, "module name with a space");
	refused("\"name\":\"failover\"", "\"name\":\"fail\\u006fver\"", -EINVAL, "escape in a module name");
	refused("\"name\":\"tdx_guest\"", "\"name\":\"failover\"", -EINVAL, "module listed twice");
	refused("/failover.ko\"", "/failover.ko.xz\"", -EINVAL, "compressed module path");
	refused("\"/lib/modules/" REL "/failover.ko\"", "\"/lib/modules/6.1.0/failover.ko\"", -EINVAL,
		"module path of another kernel");
	refused("\"/lib/modules/" REL "/failover.ko\"", "\"/lib/modules/" REL "/../../../x.ko\"", -EINVAL,
		"module path with ..");
	refused("\"/lib/modules/" REL "/failover.ko\"", "\"/lib/modules/" REL "//x.ko\"", -EINVAL,
		"module path with //");
	refused("\"/lib/modules/" REL "/failover.ko\"", "\"/lib/modules/" REL "/.ko\"", -EINVAL,
		"module path without a file name");
	refused("\"/lib/modules/" REL "/failover.ko\"", "\"failover.ko\"", -EINVAL, "relative module path");
}

static void test_hex(void)
{
	refused(H1, "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", -EINVAL,
		"uppercase hex is refused");
	refused(H1, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", -EINVAL,
		"63 hex digits");
	refused(H1, H1 "00", -EINVAL, "66 hex digits");
	refused(H1, "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", -EINVAL,
		"non-hex digit");
	refused("\"sha256\":\"" H1 "\"", "\"sha256\":null", -EINVAL, "sha256 null");
}

static void test_syntax(void)
{
	refused("\"format\":1", "\"format\" 1", -EINVAL, "missing colon");
	refused("\"format\":1", "\"format\":tru", -EINVAL, "bad literal");
	refused("\"format\":1", "\"format\":01", -EINVAL, "number with a leading zero");
	refused("\"format\":1,", "\"format\":1,\"k\":,", -EINVAL, "key without a value");
	refused("\"format\":1,", "\"format\":1,,", -EINVAL, "stray comma");
	refused("\"format\":1,", "\"format\":1 ", -EINVAL, "missing comma between members");
	refused("\"x\":[1,", "\"x\":[1 ", -EINVAL, "missing comma between elements");
	refused("\"y\":{}", "\"y\":{},", -EINVAL, "trailing comma in an object");
	refused("null,\"s", "null,\"s\",", -EINVAL, "trailing comma in an array");
	refused("\"y\":{}", "\"y\":{:}", -EINVAL, "lone colon");
	refused("\"x\":[1,", "\"x\":[1:", -EINVAL, "colon in an array");
	refused("\"x\":[1,", "\"x\":[1.,", -EINVAL, "bad number in an ignored key");
	refused("\"s\\n", "\"s\n", -EINVAL, "raw control byte in a string");
	refused("\"y\":{}}}", "\"y\":{}}}{}", -EINVAL, "trailing second document");
	refused("\"y\":{}}}", "\"y\":{}}", -EINVAL, "unclosed object");
	refused("\"y\":{}}}", "\"y\":{}}]", -EINVAL, "mismatched bracket");
	refused("\"format\":1,", "\"format\":1,\"format\":1,", -EINVAL, "duplicate key");
	refused("\"allow_sim\":true", "\"allow_sim\":true,\"allow_sim\":false", -EINVAL,
		"duplicate nested key");
	is_int(parse(""), -EINVAL, "empty input");
	is_int(parse("[]"), -EINVAL, "top-level array");
	is_int(parse("\"x\""), -EINVAL, "top-level string");
	is_int(manifest_parse(VALID, 40, &m), -EINVAL, "truncated input");
	is_int(manifest_parse("{\"format\":1}\0{}", 15, &m), -EINVAL, "NUL byte");

	char deep[256] = "{\"format\":1,\"x\":";
	size_t n = strlen(deep);
	for (int i = 0; i < MANIFEST_MAX_DEPTH + 4; i++)
		deep[n++] = '[';
	for (int i = 0; i < MANIFEST_MAX_DEPTH + 4; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	is_int(parse(deep), -E2BIG, "nesting deeper than MANIFEST_MAX_DEPTH");
}

static void test_limits(void)
{
	is_int(parse(with_modules(MANIFEST_MAX_MODULES + 1)), -E2BIG, "too many modules");

	char *big = malloc(MANIFEST_MAX_BYTES + 2);
	size_t vl = strlen(VALID);
	memset(big, ' ', MANIFEST_MAX_BYTES + 1);
	memcpy(big, VALID, vl);
	is_int(manifest_parse(big, MANIFEST_MAX_BYTES, &m), 0, "exactly MANIFEST_MAX_BYTES is fine");
	is_int(manifest_parse(big, MANIFEST_MAX_BYTES + 1, &m), -EFBIG, "one byte more is refused");

	/* A token bomb within the byte limit: [1,1,1,...] */
	size_t k = 0;
	big[k++] = '[';
	for (int i = 0; i < MANIFEST_MAX_TOKENS + 10; i++) {
		big[k++] = '1';
		big[k++] = ',';
	}
	big[k - 1] = ']';
	is_int(manifest_parse(big, k, &m), -E2BIG, "more than MANIFEST_MAX_TOKENS tokens");

	/* manifest_load: a file, a missing file, a file too large */
	char path[] = "/tmp/test_manifest.XXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0, "temporary file");
	ok(write(fd, VALID, vl) == (ssize_t)vl, "write manifest");
	is_int(manifest_load(path, &m), 0, "manifest_load");
	char hex[65];
	hex_encode(hex, m.sha256, 32);
	is_str(hex, VALID_SHA256, "manifest_load hashes the file bytes");
	memset(big, ' ', MANIFEST_MAX_BYTES + 1);
	ok(pwrite(fd, big, MANIFEST_MAX_BYTES + 1 - vl, (off_t)vl) > 0, "grow the file");
	is_int(manifest_load(path, &m), -EFBIG, "manifest_load refuses a file over 1 MiB");
	close(fd);
	unlink(path);
	is_int(manifest_load(path, &m), -ENOENT, "manifest_load of a missing file");
	is_int(manifest_load("/tmp", &m), -EISDIR, "manifest_load of a directory");
	free(big);
}

/* --- the policy carried by the manifest ---------------------------------------- */

#define POLICY_SIM "{\"format\":1,\"admin_token_sha256\":\"" H1 "\",\"attestation\":{\"allow_sim\":true}," \
	"\"egress\":[{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"t\"}]}"
#define POLICY_NOSIM "{\"format\":1,\"admin_token_sha256\":\"" H2 "\"}"

static struct policy_tokens ptoks;
static struct policy pol;
static char canon[POLICY_CANON_MAX + 1];
static char canon_hex[65];

/* canon = the canonical form of text, canon_hex = its SHA-256. */
static void canonical(const char *text)
{
	char err[ERRBUF_LEN];
	br_sha256_context h;
	uint8_t sum[32];

	if (policy_parse(text, strlen(text), &ptoks, &pol, err, sizeof err) != 0 ||
	    policy_write(&pol, canon, sizeof canon) <= 0) {
		printf("Bail out! test bug: policy %s: %s\n", text, err);
		exit(2);
	}
	br_sha256_init(&h);
	br_sha256_update(&h, canon, strlen(canon));
	br_sha256_out(&h, sum);
	hex_encode(canon_hex, sum, 32);
}

/* VALID with its attestation object replaced by the given members. */
static const char *with(const char *members)
{
	return edit("\"attestation\":{\"allow_sim\":true},", members);
}

static const char *with_policy(const char *policy, const char *sha)
{
	static char members[POLICY_CANON_MAX + 256];
	snprintf(members, sizeof members, "\"policy\":%s,\"policy_sha256\":\"%s\",", policy, sha);
	return with(members);
}

static void test_policy(void)
{
	static char tmp[POLICY_CANON_MAX + 256];
	uint8_t want[32];

	canonical(POLICY_SIM);
	is_int(parse(with_policy(canon, canon_hex)), 0, "a manifest with a canonical policy and its hash");
	ok(m.has_policy, "has_policy");
	ok(m.allow_sim, "allow_sim comes from policy.attestation.allow_sim");
	hex_decode(want, sizeof want, canon_hex, 64);
	is_mem(m.policy_sha256, want, 32, "policy_sha256");
	ok(policy_equal(&m.policy, &pol), "the policy is the one that was canonicalised");
	is_int(m.policy.nrules, 1, "with its egress rule");

	canonical(POLICY_NOSIM);
	is_int(parse(with_policy(canon, canon_hex)), 0, "a policy without sim");
	ok(!m.allow_sim && m.has_policy, "allow_sim false from the policy");
	is_int(parse(VALID), 0, "a manifest without a policy (hand-written: host mode, tests)");
	ok(!m.has_policy && m.allow_sim, "has no policy; allow_sim from attestation.allow_sim");

	/* both switches: refused, whatever they say */
	snprintf(tmp, sizeof tmp, "\"attestation\":{\"allow_sim\":false},\"policy\":%s,\"policy_sha256\":\"%s\",",
		 canon, canon_hex);
	is_int(parse(with(tmp)), -EINVAL, "attestation beside a policy is refused");
	snprintf(tmp, sizeof tmp, "\"policy\":%s,", canon);
	is_int(parse(with(tmp)), -EINVAL, "a policy without policy_sha256");
	snprintf(tmp, sizeof tmp, "\"policy_sha256\":\"%s\",", canon_hex);
	is_int(parse(with(tmp)), -EINVAL, "policy_sha256 without a policy");
	ok(!m.has_policy && !m.allow_sim, "a refused manifest leaves no policy behind");

	char bad_hex[65];
	memcpy(bad_hex, canon_hex, sizeof bad_hex);
	bad_hex[0] = bad_hex[0] == '0' ? '1' : '0';
	is_int(parse(with_policy(canon, bad_hex)), -EINVAL, "policy_sha256 of other bytes");
	is_int(parse(with_policy(canon, "00")), -EINVAL, "policy_sha256 not 64 hex digits");

	/* the same policy, not canonical: whitespace, another key order, a default left out */
	snprintf(tmp, sizeof tmp, "{ %s", canon + 1);
	is_int(parse(with_policy(tmp, canon_hex)), -EINVAL, "a policy with a space inside");
	is_int(parse(with_policy(POLICY_NOSIM, canon_hex)), -EINVAL, "a valid policy not in canonical form");
	is_int(parse(with_policy("[]", canon_hex)), -EINVAL, "a policy that is not an object");
	is_int(parse(with_policy("{\"format\":2}", canon_hex)), -EINVAL, "a policy that does not validate");
	is_int(parse(with_policy("{\"format\":1,\"admin_token_sha256\":\"" H1 "\",\"x\":1}", canon_hex)), -EINVAL,
	       "a policy with an unknown field");
}

/* --- layers ---------------------------------------------------------------- */

/* One layer object; the fields that tests vary are arguments. */
static char *layer(char *buf, size_t cap, const char *name, const char *extra,
		   unsigned long long doff, unsigned long long dblk, unsigned long long hoff,
		   unsigned long long hblk)
{
	snprintf(buf, cap, "{\"name\":\"%s\",\"fs\":\"erofs\",\"data_offset\":%llu,\"data_blocks\":%llu,"
		 "\"hash_offset\":%llu,\"hash_blocks\":%llu,\"root_hash\":\"" H1 "\",\"salt\":\"" H2 "\"%s}",
		 name, doff, dblk, hoff, hblk, extra);
	return buf;
}

static const char *with_layers(const char *items)
{
	static char members[8192];
	snprintf(members, sizeof members, "\"layers\":[%s],", items);
	return with(members);
}

static void test_layers(void)
{
	char a[512], b[512], items[4096];

	is_int(parse(VALID), 0, "no layers key: fine");
	is_int(m.nlayers, 0, "no layers");

	snprintf(items, sizeof items, "%s,%s",
		 layer(a, sizeof a, "native", "", 0, 1, 4096, 0),
		 layer(b, sizeof b, "python3", ",\"entry\":{\"path\":\"usr/bin/python3.13\",\"sha256\":\"" H3 "\"}",
		       8192, 129, 8192 + 129 * 4096, 3));
	is_int(parse(with_layers(items)), 0, "two layers parse");
	is_int(m.nlayers, 2, "nlayers");
	is_str(m.layers[0].name, "native", "layers[0].name");
	ok(m.layers[0].data_offset == 0 && m.layers[0].data_blocks == 1 &&
	   m.layers[0].hash_offset == 4096 && m.layers[0].hash_blocks == 0, "layers[0] ranges");
	ok(!m.layers[0].has_entry, "layers[0] has no entry");
	uint8_t h1[32], h2[32], h3[32];
	hex_decode(h1, 32, H1, 64);
	hex_decode(h2, 32, H2, 64);
	hex_decode(h3, 32, H3, 64);
	ok(memcmp(m.layers[1].root_hash, h1, 32) == 0 && memcmp(m.layers[1].salt, h2, 32) == 0,
	   "root_hash and salt decoded");
	ok(m.layers[1].has_entry && strcmp(m.layers[1].entry_path, "usr/bin/python3.13") == 0 &&
	   memcmp(m.layers[1].entry_sha256, h3, 32) == 0, "layers[1].entry");
	ok(m.layers[1].data_blocks == 129 && m.layers[1].hash_blocks == 3, "layers[1] blocks");

	/* one field wrong at a time */
	static const struct { const char *from, *to, *why; } bad[] = {
		{ "\"name\":\"native\"", "\"name\":\"Native\"", "an upper-case name" },
		{ "\"name\":\"native\"", "\"name\":\"-native\"", "a name starting with '-'" },
		{ "\"name\":\"native\"", "\"name\":\"a/b\"", "a name with '/'" },
		{ "\"name\":\"native\"", "\"name\":\"\"", "an empty name" },
		{ "\"fs\":\"erofs\"", "\"fs\":\"squashfs\"", "another file system" },
		{ "\"data_offset\":0", "\"data_offset\":512", "a data offset not block aligned" },
		{ "\"data_offset\":0", "\"data_offset\":-4096", "a negative offset" },
		{ "\"data_offset\":0", "\"data_offset\":\"0\"", "an offset as a string" },
		{ "\"data_blocks\":1,", "\"data_blocks\":0,", "no data blocks" },
		{ "\"data_blocks\":1,", "\"data_blocks\":2,", "hash_blocks not the tree of data_blocks" },
		{ "\"hash_offset\":4096", "\"hash_offset\":4097", "a hash offset not block aligned" },
		{ "\"data_offset\":0", "\"data_offset\":1125899906842624", "an offset at 2^50" },
		{ "\"data_offset\":0", "\"data_offset\":8192", "layers sharing disk space" },
		{ ",\"salt\":\"" H2 "\"", "", "no salt" },
		{ "\"salt\":\"" H2 "\"", "\"salt\":\"00\"", "a salt that is not 32 bytes" },
		{ "\"root_hash\":\"" H1 "\"", "\"root_hash\":\"" H1 "0\"", "a root hash of 65 digits" },
		{ "usr/bin/python3.13", "../bin/python3", "an entry with '..'" },
		{ "usr/bin/python3.13", "/usr/bin/python3", "an absolute entry" },
		{ "usr/bin/python3.13", "usr//python3", "an entry with an empty component" },
		{ "usr/bin/python3.13", "usr/bin/.", "an entry ending in '.'" },
		{ ",\"sha256\":\"" H3 "\"}", "}", "an entry without sha256" },
		{ "\"name\":\"python3\"", "\"name\":\"native\"", "a name given twice" },
		{ "\"fs\":\"erofs\",", "\"fs\":\"erofs\",\"fs\":\"erofs\",", "a key given twice" },
	};
	char good[sizeof items], edited[sizeof items];
	memcpy(good, items, sizeof good);
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		const char *p = strstr(good, bad[k].from);
		if (!p) {
			printf("Bail out! test bug: '%s' not in the layers\n", bad[k].from);
			exit(2);
		}
		snprintf(edited, sizeof edited, "%.*s%s%s", (int)(p - good), good, bad[k].to,
			 p + strlen(bad[k].from));
		is_int(parse(with_layers(edited)), -EINVAL, "refused: %s", bad[k].why);
		is_int(m.nlayers, 0, "and nothing kept (%s)", bad[k].why);
	}
	/* the data range of one layer over the hash range of another */
	snprintf(items, sizeof items, "%s,%s", layer(a, sizeof a, "a", "", 0, 2, 8192, 1),
		 layer(b, sizeof b, "b", "", 8192, 1, 16384, 0));
	is_int(parse(with_layers(items)), -EINVAL, "data over another layer's hash tree");
	snprintf(items, sizeof items, "%s", layer(a, sizeof a, "a", "", 0, 2, 4096, 1));
	is_int(parse(with_layers(items)), -EINVAL, "a layer's hash tree over its own data");
	is_int(parse(with_layers("1")), -EINVAL, "a layer that is not an object");
	is_int(parse(edit("\"attestation\":{\"allow_sim\":true},", "\"layers\":{},")), -EINVAL,
	       "layers that are not an array");

	size_t len = 0;
	for (unsigned i = 0; i <= MANIFEST_MAX_LAYERS; i++) {
		char name[8];
		snprintf(name, sizeof name, "l%u", i);
		len += (size_t)snprintf(items + len, sizeof items - len, "%s%s", i ? "," : "",
					layer(a, sizeof a, name, "", i * 8192ull, 1, i * 8192ull + 4096, 0));
	}
	is_int(parse(with_layers(items)), -E2BIG, "more than %d layers", MANIFEST_MAX_LAYERS);
	items[len - strlen(a) - 1] = '\0';
	is_int(parse(with_layers(items)), 0, "exactly %d layers", MANIFEST_MAX_LAYERS);
	is_int(m.nlayers, MANIFEST_MAX_LAYERS, "all kept");
}

int main(void)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (getenv("TEST_VERBOSE") == NULL && devnull >= 0)
		log_set_fd(devnull);
	test_valid();
	test_missing();
	test_types();
	test_hex();
	test_syntax();
	test_limits();
	test_policy();
	test_layers();
	return tap_done();
}
