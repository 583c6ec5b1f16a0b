/* tests/fuzz/fuzz_manifest.c: libFuzzer target for manifest_parse.
 * Beyond "no crash": an accepted manifest must hold only values that the
 * module loader can use as they are, and an accepted policy must be one
 * whose canonical form hashes to policy_sha256; accepted layers are ones
 * init can hand to device-mapper as they are: named for a path, block
 * aligned, bounded, with the hash tree's size, on disjoint ranges. */
#include "init/manifest.h"
#include "crypto/verity_tree.h"
#include "lib/log.h"

#include <bearssl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char canon[POLICY_CANON_MAX + 1];

static void check_policy(const struct manifest *m)
{
	br_sha256_context h;
	uint8_t sum[32];
	long n = policy_write(&m->policy, canon, sizeof canon);

	if (n <= 0 || m->allow_sim != m->policy.allow_sim)
		abort();
	br_sha256_init(&h);
	br_sha256_update(&h, canon, (size_t)n);
	br_sha256_out(&h, sum);
	if (memcmp(sum, m->policy_sha256, sizeof sum) != 0)
		abort();
}

static int overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* An entry path that could leave the layer's mount. */
static int bad_entry(const char *p)
{
	size_t n = strnlen(p, 256);
	return n == 0 || n == 256 || p[0] == '/' || strcmp(p, "..") == 0 ||
	       strncmp(p, "../", 3) == 0 || strstr(p, "/../") != NULL ||
	       (n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

static void check_layers(const struct manifest *m)
{
	if (m->nlayers > MANIFEST_MAX_LAYERS)
		abort();
	for (unsigned i = 0; i < m->nlayers; i++) {
		const struct manifest_layer *l = &m->layers[i];
		struct verity_plan p;
		uint64_t dlen = l->data_blocks * LAYER_BLOCK, hlen = l->hash_blocks * LAYER_BLOCK;
		if (!memchr(l->name, '\0', sizeof l->name) || l->name[0] == '\0' ||
		    strspn(l->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(l->name) ||
		    l->data_offset % LAYER_BLOCK || l->hash_offset % LAYER_BLOCK ||
		    l->data_blocks == 0 || l->data_offset + dlen > LAYER_MAX_BYTES ||
		    l->hash_offset + hlen > LAYER_MAX_BYTES ||
		    verity_plan(l->data_blocks, &p) != 0 || p.hash_blocks != l->hash_blocks ||
		    overlap(l->data_offset, dlen, l->hash_offset, hlen))
			abort();
		if (l->has_entry && bad_entry(l->entry_path))
			abort();
		for (unsigned k = 0; k < i; k++) {
			const struct manifest_layer *o = &m->layers[k];
			uint64_t odl = o->data_blocks * LAYER_BLOCK, ohl = o->hash_blocks * LAYER_BLOCK;
			if (strcmp(o->name, l->name) == 0 || overlap(l->data_offset, dlen, o->data_offset, odl) ||
			    overlap(l->data_offset, dlen, o->hash_offset, ohl) ||
			    overlap(l->hash_offset, hlen, o->data_offset, odl) ||
			    overlap(l->hash_offset, hlen, o->hash_offset, ohl))
				abort();
		}
	}
}

static void check(const struct manifest *m)
{
	if (m->nmodules > MANIFEST_MAX_MODULES || !memchr(m->release, '\0', sizeof m->release) ||
	    m->release[0] == '\0')
		abort();
	for (unsigned i = 0; i < m->nmodules; i++) {
		const struct manifest_module *mod = &m->modules[i];
		if (!memchr(mod->name, '\0', sizeof mod->name) || mod->name[0] == '\0' ||
		    !memchr(mod->path, '\0', sizeof mod->path) || mod->path[0] != '/' ||
		    strstr(mod->path, "/../") || strncmp(mod->path, "/lib/modules/", 13) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	static struct manifest m;

	if (!quiet) {
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0)
			log_set_fd(fd);
		quiet = 1;
	}
	if (manifest_parse((const char *)data, size, &m) == 0) {
		check(&m);
		check_layers(&m);
		if (m.has_policy)
			check_policy(&m);
	}
	return 0;
}
