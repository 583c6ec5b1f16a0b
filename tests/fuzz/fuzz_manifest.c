/* tests/fuzz/fuzz_manifest.c: libFuzzer target for manifest_parse.
 * Beyond "no crash": an accepted manifest must hold only values that the
 * module loader can use as they are, and an accepted policy must be one
 * whose canonical form hashes to policy_sha256. */
#include "init/manifest.h"
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
		if (m.has_policy)
			check_policy(&m);
	}
	return 0;
}
