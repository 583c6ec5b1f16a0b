/* fs/crypt.c: see crypt.h. */
#include "fs/crypt.h"
#include "lib/errbuf.h"
#include "lib/hex.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

/* A cipher spec is one word the kernel parses; nothing that could end it
 * or start another parameter. */
static int cipher_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == ':' || ch == '_'))
			return 0;
	}
	return 1;
}

int crypt_params(char *out, size_t cap, const struct crypt_area *a)
{
	char khex[2 * CRYPT_KEY_MAX + 1];

	if (!cipher_ok(a->cipher) || a->key_len == 0 || a->key_len > CRYPT_KEY_MAX ||
	    a->sectors == 0)
		return dm_params_end(out, cap, -EINVAL);
	hex_encode(khex, a->key, a->key_len);
	int n = snprintf(out, cap, "%s %s 0 %u:%u %llu", a->cipher, khex, major(a->disk),
			 minor(a->disk), (unsigned long long)a->offset);
	explicit_bzero(khex, sizeof khex);
	return dm_params_end(out, cap, n);
}

int crypt_open(struct dm_ctl *c, const char *name, const struct crypt_area *a, dev_t *dev,
	       char *err, size_t errlen)
{
	char params[CRYPT_PARAMS_MAX];
	int r;

	if ((r = crypt_params(params, sizeof params, a)) < 0)
		return errbuf_set(err, errlen, r, "crypt: %s: bad cipher, key or size", name);
	return dm_create_keyed(c, name, "crypt", a->sectors, params, sizeof params, dev, err,
			       errlen);
}
