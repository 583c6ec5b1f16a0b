/* tests/fuzz/fuzz_policy.c: libFuzzer target for policy_parse.
 * Beyond "no crash": an accepted policy stays inside its bounds, and its
 * canonical form parses back to an equal policy and canonicalises to the
 * same bytes (the image build hashes those bytes; init re-derives them). */
#include "crypto/policy.h"
#include "crypto/receipt.h"
#include "lib/errbuf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct policy_tokens toks;
static struct policy a, b;
static char canon[POLICY_CANON_MAX + 1], again[POLICY_CANON_MAX + 1];

static void check_bounds(const struct policy *p)
{
	const struct policy_store *st = &p->store;
	if (st->provider == POLICY_KP_KMS &&
	    (st->kms_port == 0 || st->kms_path[0] != '/' || st->kms_app_id[0] == '.' ||
	     !memchr(st->kms_host, '\0', sizeof st->kms_host) ||
	     !memchr(st->kms_app_id, '\0', sizeof st->kms_app_id) ||
	     !receipt_id_ok(st->kms_app_id, strlen(st->kms_app_id))))
		abort();
	if (p->nrules > POLICY_MAX_RULES || p->runtimes == 0 || p->runtimes >> POLICY_RT_N ||
	    p->max_functions > POLICY_MAX_FUNCTIONS)
		abort();
	for (unsigned k = 0; k < p->nrules; k++) {
		const struct policy_rule *r = &p->rules[k];
		if (r->nports == 0 || r->nports > POLICY_MAX_PORTS || r->naddresses > POLICY_MAX_ADDRESSES ||
		    r->npaths > POLICY_MAX_PATHS || r->nstrip > POLICY_MAX_STRIP ||
		    r->ninject > POLICY_MAX_INJECT || !memchr(r->host, '\0', sizeof r->host) ||
		    r->host[0] == '\0' || r->purpose[0] == '\0')
			abort();
		if (r->tls == POLICY_TLS_ORIGINATE && (r->methods == 0 || r->npaths == 0))
			abort();
		for (unsigned m = 1; m < r->nports; m++)
			if (r->ports[m - 1] >= r->ports[m])
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRBUF_LEN];
	long n, n2;

	if (policy_parse((const char *)data, size, &toks, &a, err, sizeof err) != 0)
		return 0;
	check_bounds(&a);
	n = policy_write(&a, canon, sizeof canon);
	if (n <= 0 || (size_t)n > POLICY_CANON_MAX)
		abort();
	if (policy_parse(canon, (size_t)n, &toks, &b, err, sizeof err) != 0 || !policy_equal(&a, &b))
		abort();
	n2 = policy_write(&b, again, sizeof again);
	if (n2 != n || memcmp(canon, again, (size_t)n) != 0)
		abort();
	return 0;
}
