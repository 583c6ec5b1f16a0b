/* tests/fuzz/fuzz_manifest.c: libFuzzer target for manifest_parse.
 * Beyond "no crash": an accepted manifest must hold only values that the
 * module loader can use as they are. */
#include "init/manifest.h"
#include "lib/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	if (manifest_parse((const char *)data, size, &m) == 0)
		check(&m);
	return 0;
}
