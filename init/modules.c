/* init/modules.c: see modules.h. */
#include "init/modules.h"
#include "lib/clock.h"
#include "lib/hex.h"
#include "lib/log.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;  /* shrank under us */
		got += (size_t)n;
	}
	char extra;
	ssize_t n = read(fd, &extra, 1);
	if (n != 0)
		return n < 0 ? -errno : -EIO;  /* grew under us */
	return 0;
}

int modules_read_verified(const struct manifest_module *mod, void **bufp, size_t *lenp)
{
	struct stat st;
	int r;

	*bufp = NULL;
	*lenp = 0;
	int fd = open(mod->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		dlog("modules: %s: open %s: %s", mod->name, mod->path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		dlog("modules: %s: %s is not a regular file", mod->name, mod->path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > (off_t)MODULES_MAX_BYTES || st.st_size == 0) {
		dlog("modules: %s: %s has %lld bytes (1..%u allowed)", mod->name, mod->path,
		     (long long)st.st_size, MODULES_MAX_BYTES);
		close(fd);
		return st.st_size == 0 ? -EINVAL : -EFBIG;
	}
	size_t len = (size_t)st.st_size;
	char *buf = malloc(len);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	r = read_all(fd, buf, len);
	close(fd);
	if (r != 0) {
		dlog("modules: %s: read %s: %s", mod->name, mod->path, strerror(-r));
		free(buf);
		return r;
	}

	uint8_t got[32];
	br_sha256_context h;
	br_sha256_init(&h);
	br_sha256_update(&h, buf, len);
	br_sha256_out(&h, got);
	if (memcmp(got, mod->sha256, sizeof got) != 0) {
		char want_hex[65], got_hex[65];
		hex_encode(want_hex, mod->sha256, 32);
		hex_encode(got_hex, got, 32);
		dlog("modules: %s: %s does not match the manifest: sha256 %s, expected %s",
		     mod->name, mod->path, got_hex, want_hex);
		free(buf);
		return -EBADMSG;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

static int load_one(const struct manifest_module *mod)
{
	uint64_t t0 = mono_ms();
	void *buf;
	size_t len;
	int r = modules_read_verified(mod, &buf, &len);
	if (r != 0)
		return r;
	long k = syscall(SYS_init_module, buf, (unsigned long)len, "");
	int e = k == 0 ? 0 : errno;
	free(buf);
	unsigned long long ms = (unsigned long long)(mono_ms() - t0);
	if (e == 0) {
		dlog("modules: %s: loaded (%zu bytes, %llu ms)", mod->name, len, ms);
		return 0;
	}
	if (e == EEXIST) {
		dlog("modules: %s: already loaded", mod->name);
		return 0;
	}
	if (mod->optional && (e == ENODEV || e == ENXIO)) {
		dlog("modules: %s: no such device here, skipped (optional): %s",
		     mod->name, strerror(e));
		return 0;
	}
	dlog("modules: %s: init_module: %s", mod->name, strerror(e));
	return -e;
}

int modules_load(const struct manifest *m)
{
	uint64_t t0 = mono_ms();
	for (unsigned i = 0; i < m->nmodules; i++) {
		int r = load_one(&m->modules[i]);
		if (r != 0)
			return r;
	}
	dlog("modules: %u modules in %llu ms", m->nmodules,
	     (unsigned long long)(mono_ms() - t0));
	return 0;
}
