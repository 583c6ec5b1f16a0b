/* net/egress_secrets.c: the values the egress proxy injects
 * (net/egress_secrets.h). */
#include "net/egress_secrets.h"

#include <errno.h>
#include <string.h>

#include "lib/errbuf.h"

static struct esec_fn *find(struct egress_secrets *s, const char *fn)
{
	for (unsigned i = 0; i < ESEC_FN_MAX; i++)
		if (s->f[i].fn[0] != '\0' && strcmp(s->f[i].fn, fn) == 0)
			return &s->f[i];
	return NULL;
}

static void wipe(struct esec_fn *f)
{
	explicit_bzero(f, sizeof *f);
}

int esec_take(struct egress_secrets *s, const void *p, size_t len, char *err, size_t errlen)
{
	const uint8_t *b = p;
	struct sbx_inject_msg m;

	if (len < sizeof m)
		return errbuf_set(err, errlen, -EINVAL, "an inject message of %zu bytes", len);
	memcpy(&m, b, sizeof m);
	if (memchr(m.function, '\0', sizeof m.function) == NULL || m.function[0] == '\0')
		return errbuf_set(err, errlen, -EINVAL, "an inject message without a function id");
	struct esec_fn *f = find(s, m.function);
	if (f != NULL)
		wipe(f);
	if (m.n == 0)
		return 0;
	if (m.n > SBX_INJECT_MAX)
		return errbuf_set(err, errlen, -EINVAL, "%u secrets for %s (at most %d)", m.n, m.function,
				  SBX_INJECT_MAX);
	for (unsigned i = 0; f == NULL && i < ESEC_FN_MAX; i++)
		if (s->f[i].fn[0] == '\0')
			f = &s->f[i];
	if (f == NULL)
		return errbuf_set(err, errlen, -ENOSPC, "no room for the secrets of %s (%d functions)",
				  m.function, ESEC_FN_MAX);
	size_t at = sizeof m;
	for (unsigned i = 0; i < m.n; i++) {
		struct sbx_inject_item it;
		if (len - at < sizeof it)
			goto bad;
		memcpy(&it, b + at, sizeof it);
		at += sizeof it;
		if (memchr(it.name, '\0', sizeof it.name) == NULL || it.name[0] == '\0' ||
		    it.len > SBX_INJECT_VALUE_MAX || len - at < it.len)
			goto bad;
		memcpy(f->name[i], it.name, sizeof it.name);
		memcpy(f->value[i], b + at, it.len);
		f->len[i] = it.len;
		at += it.len;
	}
	if (at != len)
		goto bad;
	f->n = m.n;
	memcpy(f->fn, m.function, sizeof m.function);
	return 0;
bad:
	wipe(f);
	return errbuf_set(err, errlen, -EINVAL, "a malformed inject message for %s", m.function);
}

int esec_get(const struct egress_secrets *s, const char *fn, const char *name, const char **v,
	     size_t *n)
{
	for (unsigned i = 0; i < ESEC_FN_MAX; i++) {
		const struct esec_fn *f = &s->f[i];
		if (f->fn[0] == '\0' || strcmp(f->fn, fn) != 0)
			continue;
		for (unsigned k = 0; k < f->n; k++)
			if (strcmp(f->name[k], name) == 0) {
				*v = f->value[k];
				*n = f->len[k];
				return 0;
			}
		return -ENOENT;
	}
	return -ENOENT;
}

void esec_clear(struct egress_secrets *s)
{
	explicit_bzero(s, sizeof *s);
}
