/* net/egress_secrets.h: the secret values netd's egress proxy injects
 * into requests (a rule's inject_headers), per function, as sandboxd
 * sends them (IMSG_SBX_INJECT, proto/netd_sandboxd.h). Only functions
 * with such values take a slot; a function's message replaces its
 * values, and one with none wipes them. A secret that is not here makes
 * the request refused (secret_missing): fail closed.
 *
 * Caller-owned, fixed size, no allocation; wiped with explicit_bzero. */
#ifndef DSHIELD_NET_EGRESS_SECRETS_H
#define DSHIELD_NET_EGRESS_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/netd_sandboxd.h"

#define ESEC_FN_MAX 64    /* functions with values to inject */

struct esec_fn {
	char fn[SBX_ID_MAX];              /* "": a free slot */
	unsigned n;
	char name[SBX_INJECT_MAX][SBX_NAME_MAX];
	uint32_t len[SBX_INJECT_MAX];
	char value[SBX_INJECT_MAX][SBX_INJECT_VALUE_MAX];
};

struct egress_secrets {
	struct esec_fn f[ESEC_FN_MAX];
};

/* Takes an IMSG_SBX_INJECT payload p[0..len). 0, or -EINVAL (malformed:
 * the function's old values are wiped all the same) / -ENOSPC (no free
 * slot) with a line in err. */
int esec_take(struct egress_secrets *s, const void *p, size_t len, char *err, size_t errlen);

/* The value of secret name for function fn: 0 with *v[0..*n), or -ENOENT. */
int esec_get(const struct egress_secrets *s, const char *fn, const char *name, const char **v,
	     size_t *n);

/* Wipes every value (sandboxd went: the next one sends them again). */
void esec_clear(struct egress_secrets *s);

#endif
