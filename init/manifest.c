/* init/manifest.c: see manifest.h and docs/IMAGE-MANIFEST.md.
 *
 * jsmn tokenises; it is permissive, so json_validate() (lib/json_tok.h)
 * checks the whole token tree before any value is read. After that, an
 * object token's `size` counts its keys, each key string has size 1 (its
 * value), and every other scalar has size 0.
 */
#include "init/manifest.h"
#include "crypto/verity_tree.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/json_tok.h"
#include "lib/log.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- typed accessors -------------------------------------------------------- */

struct field {
	const char *key;
	int tok;   /* value token, -1 when absent */
};

/* Finds the known keys of object obj. A known key given twice is refused:
 * another JSON reader (a verifier) might take the other copy. */
static int get_fields(const struct json_doc *c, int obj, const char *where,
		      struct field *f, size_t nf)
{
	for (size_t k = 0; k < nf; k++)
		f[k].tok = -1;
	int j = obj + 1;
	for (int m = 0; m < c->t[obj].size; m++) {
		for (size_t k = 0; k < nf; k++) {
			if (!json_str_eq(c, j, f[k].key))
				continue;
			if (f[k].tok >= 0) {
				dlog("manifest: %s%s%s: key given twice", where,
				     *where ? "." : "", f[k].key);
				return -EINVAL;
			}
			f[k].tok = j + 1;
		}
		j = json_skip(c, j + 1);
	}
	return 0;
}

static int need(const struct field *f, const char *where)
{
	if (f->tok >= 0)
		return 0;
	dlog("manifest: missing required key %s%s%s", where, *where ? "." : "", f->key);
	return -EINVAL;
}

static int want_type(const struct json_doc *c, int i, jsmntype_t type, const char *what)
{
	static const char *names[] = { "?", "an object", "an array", "a string", "a primitive" };
	if (c->t[i].type == type)
		return 0;
	dlog("manifest: %s: must be %s", what, names[type]);
	return -EINVAL;
}

typedef bool (*char_ok_fn)(char ch);

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       is_digit(ch) || ch == '_' || ch == '-';
}

static bool release_char(char ch)
{
	return name_char(ch) || ch == '.' || ch == '+' || ch == '~';
}

static bool path_char(char ch)
{
	return release_char(ch) || ch == '/';
}

/* Copies string token i into out[cap] (NUL-terminated). Escapes are not
 * decoded: none of the values init reads needs one, so a backslash is
 * refused with the characters outside the field's set. */
static int get_str(const struct json_doc *c, int i, const char *what, char *out,
		   size_t cap, char_ok_fn char_ok)
{
	if (want_type(c, i, JSMN_STRING, what) != 0)
		return -EINVAL;
	size_t n;
	const char *p = json_text(c, i, &n);
	if (n == 0 || n >= cap) {
		dlog("manifest: %s: length %zu not in 1..%zu", what, n, cap - 1);
		return -EINVAL;
	}
	for (size_t k = 0; k < n; k++) {
		if (!char_ok(p[k])) {
			dlog("manifest: %s: character %zu is not allowed here", what, k);
			return -EINVAL;
		}
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int get_bool(const struct json_doc *c, int i, const char *what, bool *out)
{
	if (c->t[i].type == JSMN_PRIMITIVE && json_text_eq(c, i, "true")) {
		*out = true;
		return 0;
	}
	if (c->t[i].type == JSMN_PRIMITIVE && json_text_eq(c, i, "false")) {
		*out = false;
		return 0;
	}
	dlog("manifest: %s: must be true or false", what);
	return -EINVAL;
}

static bool lower_hex(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f');
}

/* Exactly 64 lowercase hex digits: one spelling per digest, so that the
 * manifest bytes (and their hash) have a single canonical form. */
static int get_sha256(const struct json_doc *c, int i, const char *what, uint8_t out[32])
{
	char hex[65];
	if (!json_is(c, i, JSMN_STRING) || c->t[i].end - c->t[i].start != 64 ||
	    get_str(c, i, what, hex, sizeof hex, lower_hex) != 0 ||
	    hex_decode(out, 32, hex, 64) != 32) {
		dlog("manifest: %s: must be 64 lowercase hex digits", what);
		return -EINVAL;
	}
	return 0;
}

/* An array whose entries are all objects (packages, files: kept for
 * verifiers and rebuilders, not interpreted by init). */
static int check_object_array(const struct json_doc *c, int i, const char *what)
{
	if (want_type(c, i, JSMN_ARRAY, what) != 0)
		return -EINVAL;
	int j = i + 1;
	for (int k = 0; k < c->t[i].size; k++) {
		if (c->t[j].type != JSMN_OBJECT) {
			dlog("manifest: %s[%d]: must be an object", what, k);
			return -EINVAL;
		}
		j = json_skip(c, j);
	}
	return 0;
}

/* --- sections ------------------------------------------------------------------ */

static int parse_kernel(const struct json_doc *c, int i, struct manifest *m)
{
	struct field f[] = { { "release", -1 }, { "package", -1 }, { "version", -1 } };
	char ignored[256];
	int r;
	if ((r = want_type(c, i, JSMN_OBJECT, "kernel")) != 0 ||
	    (r = get_fields(c, i, "kernel", f, 3)) != 0 ||
	    (r = need(&f[0], "kernel")) != 0 ||
	    (r = get_str(c, f[0].tok, "kernel.release", m->release,
			 sizeof m->release, release_char)) != 0)
		return r;
	if (f[1].tok >= 0 && (r = get_str(c, f[1].tok, "kernel.package", ignored,
					  sizeof ignored, release_char)) != 0)
		return r;
	if (f[2].tok >= 0 && (r = get_str(c, f[2].tok, "kernel.version", ignored,
					  sizeof ignored, release_char)) != 0)
		return r;
	return 0;
}

/* A module path must name an uncompressed .ko under this kernel's module
 * directory, without "." or ".." components or empty ones. */
static int check_module_path(const struct manifest *m, const char *path, const char *what)
{
	char prefix[128];
	int n = snprintf(prefix, sizeof prefix, "/lib/modules/%s/", m->release);
	size_t len = strlen(path);
	if (n < 0 || (size_t)n >= sizeof prefix || strncmp(path, prefix, (size_t)n) != 0) {
		dlog("manifest: %s: must be under /lib/modules/%s/", what, m->release);
		return -EINVAL;
	}
	if (len < 4 || strcmp(path + len - 3, ".ko") != 0 || path[len - 4] == '/') {
		dlog("manifest: %s: must name an uncompressed .ko file", what);
		return -EINVAL;
	}
	if (strstr(path, "//") || strstr(path, "/./") || strstr(path, "/../")) {
		dlog("manifest: %s: has an empty, '.' or '..' component", what);
		return -EINVAL;
	}
	return 0;
}

static int parse_module(const struct json_doc *c, int i, unsigned idx, struct manifest *m)
{
	struct manifest_module *mod = &m->modules[idx];
	struct field f[] = { { "name", -1 }, { "path", -1 }, { "sha256", -1 }, { "optional", -1 } };
	char where[32], what[48];
	int r;

	snprintf(where, sizeof where, "modules[%u]", idx);
	if ((r = want_type(c, i, JSMN_OBJECT, where)) != 0 ||
	    (r = get_fields(c, i, where, f, 4)) != 0)
		return r;
	for (int k = 0; k < 3; k++)
		if ((r = need(&f[k], where)) != 0)
			return r;
	snprintf(what, sizeof what, "%s.name", where);
	if ((r = get_str(c, f[0].tok, what, mod->name, sizeof mod->name, name_char)) != 0)
		return r;
	snprintf(what, sizeof what, "%s.path", where);
	if ((r = get_str(c, f[1].tok, what, mod->path, sizeof mod->path, path_char)) != 0 ||
	    (r = check_module_path(m, mod->path, what)) != 0)
		return r;
	snprintf(what, sizeof what, "%s.sha256", where);
	if ((r = get_sha256(c, f[2].tok, what, mod->sha256)) != 0)
		return r;
	snprintf(what, sizeof what, "%s.optional", where);
	if (f[3].tok >= 0 && (r = get_bool(c, f[3].tok, what, &mod->optional)) != 0)
		return r;
	for (unsigned k = 0; k < idx; k++) {
		if (strcmp(m->modules[k].name, mod->name) == 0) {
			dlog("manifest: %s: module %s listed twice", where, mod->name);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_modules(const struct json_doc *c, int i, struct manifest *m)
{
	int r;
	if ((r = want_type(c, i, JSMN_ARRAY, "modules")) != 0)
		return r;
	if (c->t[i].size > MANIFEST_MAX_MODULES) {
		dlog("manifest: modules: %d entries, at most %d", c->t[i].size,
		     MANIFEST_MAX_MODULES);
		return -E2BIG;
	}
	int j = i + 1;
	for (int k = 0; k < c->t[i].size; k++) {
		if ((r = parse_module(c, j, (unsigned)k, m)) != 0)
			return r;
		j = json_skip(c, j);
	}
	m->nmodules = (unsigned)c->t[i].size;
	return 0;
}

/* --- layers ------------------------------------------------------------------- */

static bool layer_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '_' || ch == '-';
}

static int get_u64(const struct json_doc *c, int i, const char *what, uint64_t max, uint64_t *out)
{
	if (json_uint(c, i, max, out) != 0) {
		dlog("manifest: %s: must be an integer in 0..%llu", what, (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

/* A path inside a layer: relative, no empty, "." or ".." component. */
static int check_entry_path(const char *p, const char *what)
{
	size_t len = strlen(p);
	if (p[0] == '/' || p[len - 1] == '/' || strstr(p, "//") || strcmp(p, ".") == 0 ||
	    strcmp(p, "..") == 0 || strncmp(p, "./", 2) == 0 || strncmp(p, "../", 3) == 0 ||
	    strstr(p, "/./") || strstr(p, "/../") ||
	    (len >= 2 && strcmp(p + len - 2, "/.") == 0) ||
	    (len >= 3 && strcmp(p + len - 3, "/..") == 0)) {
		dlog("manifest: %s: must be relative, without empty, '.' or '..' components", what);
		return -EINVAL;
	}
	return 0;
}

static int parse_entry(const struct json_doc *c, int i, const char *where, struct manifest_layer *l)
{
	struct field f[] = { { "path", -1 }, { "sha256", -1 } };
	char what[64];
	int r;

	snprintf(what, sizeof what, "%s.entry", where);
	if ((r = want_type(c, i, JSMN_OBJECT, what)) != 0 ||
	    (r = get_fields(c, i, what, f, 2)) != 0 ||
	    (r = need(&f[0], what)) != 0 || (r = need(&f[1], what)) != 0)
		return r;
	snprintf(what, sizeof what, "%s.entry.path", where);
	if ((r = get_str(c, f[0].tok, what, l->entry_path, sizeof l->entry_path, path_char)) != 0 ||
	    (r = check_entry_path(l->entry_path, what)) != 0)
		return r;
	snprintf(what, sizeof what, "%s.entry.sha256", where);
	if ((r = get_sha256(c, f[1].tok, what, l->entry_sha256)) != 0)
		return r;
	l->has_entry = true;
	return 0;
}

/* [a, a + alen) and [b, b + blen) share a byte. */
static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen > 0 && blen > 0 && a < b + blen && b < a + alen;
}

/* Block alignment, the tree's size, and no range shared with another. */
static int check_layer_ranges(const struct manifest *m, unsigned idx, const char *where)
{
	const struct manifest_layer *l = &m->layers[idx];
	struct verity_plan plan;
	uint64_t dlen = l->data_blocks * LAYER_BLOCK, hlen = l->hash_blocks * LAYER_BLOCK;

	if (l->data_offset % LAYER_BLOCK || l->hash_offset % LAYER_BLOCK) {
		dlog("manifest: %s: data_offset and hash_offset must be multiples of %u", where,
		     LAYER_BLOCK);
		return -EINVAL;
	}
	if (l->data_blocks == 0 || l->data_offset + dlen > LAYER_MAX_BYTES ||
	    l->hash_offset + hlen > LAYER_MAX_BYTES) {
		dlog("manifest: %s: empty layer, or a range beyond %llu bytes", where,
		     (unsigned long long)LAYER_MAX_BYTES);
		return -EINVAL;
	}
	if (verity_plan(l->data_blocks, &plan) != 0 || plan.hash_blocks != l->hash_blocks) {
		dlog("manifest: %s: hash_blocks %llu is not the size of the hash tree of %llu blocks",
		     where, (unsigned long long)l->hash_blocks, (unsigned long long)l->data_blocks);
		return -EINVAL;
	}
	if (overlap(l->data_offset, dlen, l->hash_offset, hlen)) {
		dlog("manifest: %s: data and hash ranges overlap", where);
		return -EINVAL;
	}
	for (unsigned k = 0; k < idx; k++) {
		const struct manifest_layer *o = &m->layers[k];
		uint64_t odlen = o->data_blocks * LAYER_BLOCK, ohlen = o->hash_blocks * LAYER_BLOCK;
		if (strcmp(o->name, l->name) == 0) {
			dlog("manifest: %s: layer %s listed twice", where, l->name);
			return -EINVAL;
		}
		if (overlap(l->data_offset, dlen, o->data_offset, odlen) ||
		    overlap(l->data_offset, dlen, o->hash_offset, ohlen) ||
		    overlap(l->hash_offset, hlen, o->data_offset, odlen) ||
		    overlap(l->hash_offset, hlen, o->hash_offset, ohlen)) {
			dlog("manifest: %s: shares disk space with layers[%u]", where, k);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_layer(const struct json_doc *c, int i, unsigned idx, struct manifest *m)
{
	enum { L_NAME, L_FS, L_DOFF, L_DBLK, L_HOFF, L_HBLK, L_ROOT, L_SALT, L_ENTRY, L_N };
	struct field f[L_N] = {
		[L_NAME] = { "name", -1 }, [L_FS] = { "fs", -1 },
		[L_DOFF] = { "data_offset", -1 }, [L_DBLK] = { "data_blocks", -1 },
		[L_HOFF] = { "hash_offset", -1 }, [L_HBLK] = { "hash_blocks", -1 },
		[L_ROOT] = { "root_hash", -1 }, [L_SALT] = { "salt", -1 },
		[L_ENTRY] = { "entry", -1 },
	};
	struct manifest_layer *l = &m->layers[idx];
	char where[32], what[64], fs[8];
	int r;

	snprintf(where, sizeof where, "layers[%u]", idx);
	if ((r = want_type(c, i, JSMN_OBJECT, where)) != 0 ||
	    (r = get_fields(c, i, where, f, L_N)) != 0)
		return r;
	for (int k = 0; k < L_ENTRY; k++)
		if ((r = need(&f[k], where)) != 0)
			return r;
	snprintf(what, sizeof what, "%s.name", where);
	if ((r = get_str(c, f[L_NAME].tok, what, l->name, sizeof l->name, layer_name_char)) != 0)
		return r;
	if (l->name[0] == '-' || l->name[0] == '_') {
		dlog("manifest: %s: must start with a letter or digit", what);
		return -EINVAL;
	}
	snprintf(what, sizeof what, "%s.fs", where);
	if ((r = get_str(c, f[L_FS].tok, what, fs, sizeof fs, name_char)) != 0)
		return r;
	if (strcmp(fs, "erofs") != 0) {
		dlog("manifest: %s: only \"erofs\" is understood", what);
		return -EINVAL;
	}
	const struct { int f; uint64_t max; uint64_t *out; } nums[] = {
		{ L_DOFF, LAYER_MAX_BYTES, &l->data_offset },
		{ L_DBLK, LAYER_MAX_BYTES / LAYER_BLOCK, &l->data_blocks },
		{ L_HOFF, LAYER_MAX_BYTES, &l->hash_offset },
		{ L_HBLK, LAYER_MAX_BYTES / LAYER_BLOCK, &l->hash_blocks },
	};
	for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
		snprintf(what, sizeof what, "%s.%s", where, f[nums[k].f].key);
		if ((r = get_u64(c, f[nums[k].f].tok, what, nums[k].max, nums[k].out)) != 0)
			return r;
	}
	snprintf(what, sizeof what, "%s.root_hash", where);
	if ((r = get_sha256(c, f[L_ROOT].tok, what, l->root_hash)) != 0)
		return r;
	snprintf(what, sizeof what, "%s.salt", where);
	if ((r = get_sha256(c, f[L_SALT].tok, what, l->salt)) != 0)
		return r;
	if (f[L_ENTRY].tok >= 0 && (r = parse_entry(c, f[L_ENTRY].tok, where, l)) != 0)
		return r;
	return check_layer_ranges(m, idx, where);
}

static int parse_layers(const struct json_doc *c, int i, struct manifest *m)
{
	int r;
	if ((r = want_type(c, i, JSMN_ARRAY, "layers")) != 0)
		return r;
	if (c->t[i].size > MANIFEST_MAX_LAYERS) {
		dlog("manifest: layers: %d entries, at most %d", c->t[i].size, MANIFEST_MAX_LAYERS);
		return -E2BIG;
	}
	int j = i + 1;
	for (int k = 0; k < c->t[i].size; k++) {
		if ((r = parse_layer(c, j, (unsigned)k, m)) != 0)
			return r;
		j = json_skip(c, j);
	}
	m->nlayers = (unsigned)c->t[i].size;
	return 0;
}

static int parse_attestation(const struct json_doc *c, int i, struct manifest *m)
{
	struct field f[] = { { "allow_sim", -1 } };
	int r;
	if ((r = want_type(c, i, JSMN_OBJECT, "attestation")) != 0 ||
	    (r = get_fields(c, i, "attestation", f, 1)) != 0)
		return r;
	if (f[0].tok >= 0)
		return get_bool(c, f[0].tok, "attestation.allow_sim", &m->allow_sim);
	return 0;
}

/* The policy is stored in its canonical form (image/mkpolicy wrote it), so
 * that policy_sha256 is the hash of bytes anyone can re-derive from the
 * operator's file: the bytes in the manifest must be exactly what
 * policy_write() makes of the parsed policy, and hash to policy_sha256. */
static int parse_policy(const struct json_doc *c, int pol, int sha, struct manifest *m)
{
	char err[ERRBUF_LEN];
	uint8_t sum[32];
	br_sha256_context h;
	int r;

	if ((r = want_type(c, pol, JSMN_OBJECT, "policy")) != 0)
		return r;
	if ((r = policy_from_json(c, pol, &m->policy, err, sizeof err)) != 0) {
		dlog("manifest: policy.%s", err);
		return r;
	}
	if ((r = get_sha256(c, sha, "policy_sha256", m->policy_sha256)) != 0)
		return r;

	const char *raw = c->js + c->t[pol].start;
	size_t len = (size_t)(c->t[pol].end - c->t[pol].start);
	char *canon = malloc(len + 1);
	if (!canon)
		return -ENOMEM;
	long n = policy_write(&m->policy, canon, len + 1);
	bool same = n >= 0 && (size_t)n == len && memcmp(canon, raw, len) == 0;
	free(canon);
	if (!same) {
		dlog("manifest: policy: not in canonical form (image/mkpolicy writes it)");
		return -EINVAL;
	}
	br_sha256_init(&h);
	br_sha256_update(&h, raw, len);
	br_sha256_out(&h, sum);
	if (memcmp(sum, m->policy_sha256, sizeof sum) != 0) {
		dlog("manifest: policy_sha256: not the SHA-256 of the policy's bytes");
		return -EINVAL;
	}
	m->has_policy = true;
	m->allow_sim = m->policy.allow_sim;
	return 0;
}

static int parse_root(const struct json_doc *c, struct manifest *m)
{
	enum { F_FORMAT, F_VERSION, F_KERNEL, F_PACKAGES, F_MODULES, F_FILES, F_ATTEST,
	       F_POLICY, F_POLICY_SHA, F_LAYERS, F_N };
	struct field f[F_N] = {
		[F_FORMAT] = { "format", -1 }, [F_VERSION] = { "dshield_version", -1 },
		[F_KERNEL] = { "kernel", -1 }, [F_PACKAGES] = { "packages", -1 },
		[F_MODULES] = { "modules", -1 }, [F_FILES] = { "files", -1 },
		[F_ATTEST] = { "attestation", -1 }, [F_POLICY] = { "policy", -1 },
		[F_POLICY_SHA] = { "policy_sha256", -1 }, [F_LAYERS] = { "layers", -1 },
	};
	int r;

	if (c->t[0].type != JSMN_OBJECT) {
		dlog("manifest: top level must be an object");
		return -EINVAL;
	}
	if ((r = get_fields(c, 0, "", f, F_N)) != 0)
		return r;
	if ((r = need(&f[F_FORMAT], "")) != 0)
		return r;
	if (c->t[f[F_FORMAT].tok].type != JSMN_PRIMITIVE ||
	    !json_text_eq(c, f[F_FORMAT].tok, "1")) {
		dlog("manifest: format: only format %d is understood", MANIFEST_FORMAT);
		return -EINVAL;
	}
	if ((r = need(&f[F_VERSION], "")) != 0 ||
	    (r = get_str(c, f[F_VERSION].tok, "dshield_version", m->dshield_version,
			 sizeof m->dshield_version, release_char)) != 0)
		return r;
	if ((r = need(&f[F_KERNEL], "")) != 0 || (r = parse_kernel(c, f[F_KERNEL].tok, m)) != 0)
		return r;
	if ((r = need(&f[F_MODULES], "")) != 0 || (r = parse_modules(c, f[F_MODULES].tok, m)) != 0)
		return r;
	if (f[F_LAYERS].tok >= 0 && (r = parse_layers(c, f[F_LAYERS].tok, m)) != 0)
		return r;
	if (f[F_PACKAGES].tok >= 0 && (r = check_object_array(c, f[F_PACKAGES].tok, "packages")) != 0)
		return r;
	if (f[F_FILES].tok >= 0 && (r = check_object_array(c, f[F_FILES].tok, "files")) != 0)
		return r;
	if ((f[F_POLICY].tok >= 0) != (f[F_POLICY_SHA].tok >= 0)) {
		dlog("manifest: %s: required with %s", f[F_POLICY].tok >= 0 ? "policy_sha256" : "policy",
		     f[F_POLICY].tok >= 0 ? "policy" : "policy_sha256");
		return -EINVAL;
	}
	/* One source of truth: with a policy, the policy says whether sim
	 * is allowed; a second switch beside it could only disagree. */
	if (f[F_POLICY].tok >= 0 && f[F_ATTEST].tok >= 0) {
		dlog("manifest: attestation: not allowed beside a policy (policy.attestation decides)");
		return -EINVAL;
	}
	if (f[F_ATTEST].tok >= 0 && (r = parse_attestation(c, f[F_ATTEST].tok, m)) != 0)
		return r;
	if (f[F_POLICY].tok >= 0 &&
	    (r = parse_policy(c, f[F_POLICY].tok, f[F_POLICY_SHA].tok, m)) != 0)
		return r;
	return 0;
}

/* --- entry points ----------------------------------------------------------------- */

static int tokenize(const char *json, size_t len, jsmntok_t **out)
{
	jsmn_parser p;
	jsmn_init(&p);
	/* Counting pass: sizes the token array exactly, within the bound. */
	int count = jsmn_parse(&p, json, len, NULL, 0);
	if (count > MANIFEST_MAX_TOKENS) {
		dlog("manifest: more than %d JSON tokens", MANIFEST_MAX_TOKENS);
		return -E2BIG;
	}
	if (count <= 0) {
		dlog("manifest: not a JSON document");
		return -EINVAL;
	}
	jsmntok_t *t = calloc((size_t)count, sizeof *t);
	if (!t)
		return -ENOMEM;
	jsmn_init(&p);
	int n = jsmn_parse(&p, json, len, t, (unsigned)count);
	if (n <= 0) {
		dlog("manifest: invalid JSON near byte %u%s", p.pos,
		     n == JSMN_ERROR_PART ? " (truncated)" : "");
		free(t);
		return -EINVAL;
	}
	*out = t;
	return n;
}

int manifest_parse(const char *json, size_t len, struct manifest *m)
{
	br_sha256_context h;
	jsmntok_t *t = NULL;
	int r;

	memset(m, 0, sizeof *m);
	if (len > MANIFEST_MAX_BYTES) {
		dlog("manifest: %zu bytes, at most %u", len, MANIFEST_MAX_BYTES);
		return -EFBIG;
	}
	br_sha256_init(&h);
	br_sha256_update(&h, json, len);
	br_sha256_out(&h, m->sha256);

	/* jsmn stops at a NUL; a manifest is text and has none. */
	if (memchr(json, '\0', len)) {
		dlog("manifest: contains a NUL byte");
		return -EINVAL;
	}
	int n = tokenize(json, len, &t);
	if (n < 0)
		return n;
	struct json_doc c = { json, len, t, n, 0 };
	r = json_validate(&c, MANIFEST_MAX_DEPTH);
	if (r == -E2BIG)
		dlog("manifest: nested deeper than %d", MANIFEST_MAX_DEPTH);
	else if (r != 0)
		dlog("manifest: malformed JSON near byte %zu (members, scalars or trailing data)",
		     c.err_at);
	if (r == 0)
		r = parse_root(&c, m);
	free(t);
	if (r != 0) {
		uint8_t keep[32];
		memcpy(keep, m->sha256, sizeof keep);
		memset(m, 0, sizeof *m);
		memcpy(m->sha256, keep, sizeof keep);
	}
	return r;
}

int manifest_load(const char *path, struct manifest *m)
{
	unsigned char *buf;
	size_t len;
	int r = file_read_alloc(path, MANIFEST_MAX_BYTES, &buf, &len);
	if (r == -EFBIG) {
		dlog("manifest: %s: more than %u bytes", path, MANIFEST_MAX_BYTES);
		return r;
	}
	if (r < 0) {
		dlog("manifest: read %s: %s", path, strerror(-r));
		return r;
	}
	r = manifest_parse((const char *)buf, len, m);
	free(buf);
	if (r == 0) {
		char hex[65];
		hex_encode(hex, m->sha256, 32);
		char phex[65] = "none";
		if (m->has_policy)
			hex_encode(phex, m->policy_sha256, 32);
		dlog("manifest: %s: %zu bytes, sha256 %s, dshield %s, kernel %s, %u modules, %u layers, policy %s%s",
		     path, len, hex, m->dshield_version, m->release, m->nmodules, m->nlayers, phex,
		     m->allow_sim ? ", simulated attestation allowed" : "");
	}
	return r;
}
