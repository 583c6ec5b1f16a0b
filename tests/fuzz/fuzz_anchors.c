/* tests/fuzz/fuzz_anchors.c: libFuzzer target for tls/anchors'
 * anchors_parse(). The file is measured, but it is read by netd from the
 * initrd, so the loader is checked on arbitrary bytes anyway: it either
 * refuses them (and adds nothing) or every anchor it adds points inside
 * the input, within the format's bounds; a second parse of the same bytes
 * appends the same anchors. */
#include "tls/anchors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static br_x509_trust_anchor ta[ANCHORS_MAX];

static int inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
	const uint8_t *b = p;
	return b >= data && n <= size && b - data <= (ptrdiff_t)(size - n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct anchors a;
	long r;

	anchors_init(&a, ta, ANCHORS_MAX);
	r = anchors_parse(&a, data, size, 0, NULL, 0);
	if (r < 0) {
		if (a.n != 0)
			abort();
		return 0;
	}
	if ((size_t)r != a.n)
		abort();
	for (size_t i = 0; i < a.n; i++) {
		const br_x509_trust_anchor *t = &ta[i];
		if (!inside(t->dn.data, t->dn.len, data, size) || t->dn.len > ANCHORS_DN_MAX)
			abort();
		if (t->pkey.key_type == BR_KEYTYPE_RSA) {
			if (!inside(t->pkey.key.rsa.n, t->pkey.key.rsa.nlen, data, size) ||
			    !inside(t->pkey.key.rsa.e, t->pkey.key.rsa.elen, data, size) ||
			    t->pkey.key.rsa.nlen > ANCHORS_RSA_N_MAX || t->pkey.key.rsa.elen > ANCHORS_RSA_E_MAX)
				abort();
		} else if (t->pkey.key_type == BR_KEYTYPE_EC) {
			if (!inside(t->pkey.key.ec.q, t->pkey.key.ec.qlen, data, size))
				abort();
		} else {
			abort();
		}
	}
	/* the same bytes again, appended: same anchors after the first ones */
	if ((size_t)r <= ANCHORS_MAX / 2) {
		if (anchors_parse(&a, data, size, 1, NULL, 0) != r || a.n_extra != (size_t)r ||
		    memcmp(&ta[0], &ta[r], (size_t)r * sizeof ta[0]) != 0)
			abort();
	}
	return 0;
}
