/* tests/fuzz/fuzz_fn_decl.c: libFuzzer target for crypto/fn_decl.
 *
 * The first byte picks the shape (seed, v1, stored), the rest is the body,
 * parsed against a fixed policy with three runtimes and two rules. Beyond
 * "no crash": a refusal carries a code and a message naming a path; an
 * accepted body stays inside its bounds, its code decodes to exactly the
 * size announced, and its canonical declaration parses back (stored shape)
 * to the same declaration and the same bytes. */
#include "crypto/fn_decl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\","
	"\"functions\":{\"runtimes\":[\"native\",\"python\",\"node\"]},"
	"\"egress\":[{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"a\"},"
	"{\"host\":\"*.example.org\",\"ports\":[443],\"tls\":\"passthrough\",\"purpose\":\"b\"}]}";

static struct policy_tokens ptoks;
static struct policy pol;
static struct fn_decl_tokens toks;
static struct fn_decl a, b;
static struct fn_error e;
static char canon[FN_DECL_CANON_MAX + 1], again[FN_DECL_CANON_MAX + 1];
static unsigned char chunk[512];
static int memfd = -1;

static void check_bounds(const struct fn_decl *d)
{
	if (!fn_id_valid(d->id, strlen(d->id)) || d->name[0] == '\0' || d->handler[0] == '\0' ||
	    d->nsecrets > FN_MAX_SECRETS || d->negress > FN_MAX_EGRESS ||
	    !(pol.runtimes & 1u << d->runtime) || d->concurrency < 1 ||
	    d->concurrency > FN_CONCURRENCY_MAX || d->code_bytes > FN_CODE_MAX ||
	    d->limits.tmp_mb > d->limits.memory_mb)
		abort();
	for (unsigned k = 0; k < POLICY_NLIMITS; k++)
		if (policy_limit_get(&d->limits, k) > policy_limit_get(&pol.max_limits, k))
			abort();
	for (unsigned k = 1; k < d->nsecrets; k++)
		if (strcmp(d->secrets[k - 1], d->secrets[k]) >= 0)
			abort();
	if ((d->negress == 0) != (d->egress_rules == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRBUF_LEN];
	enum fn_shape shape;
	const char *body;
	long n, n2;

	if (pol.runtimes == 0 && policy_parse(POLICY, strlen(POLICY), &ptoks, &pol, err, sizeof err) != 0)
		abort();
	if (memfd < 0 && (memfd = memfd_create("code", 0)) < 0)
		abort();
	if (size < 1 || size > (64u << 10))
		return 0;
	shape = (enum fn_shape)(data[0] % 3);
	body = (const char *)data + 1;
	if (fn_decl_parse(body, size - 1, shape, &pol, &toks, &a, &e) != 0) {
		if (e.code == NULL || e.msg[0] == '\0' || a.id[0] != '\0')
			abort();
		return 0;
	}
	check_bounds(&a);
	if (shape != FN_SHAPE_STORED) {
		if (a.code_hashed || a.code_off + a.code_len > size - 1 || ftruncate(memfd, 0) != 0)
			abort();
		n = fn_code_write(memfd, body, &a, chunk, sizeof chunk);
		if (n < 0 || (uint64_t)n != a.code_bytes || !a.code_hashed ||
		    lseek(memfd, 0, SEEK_END) != n)
			abort();
		lseek(memfd, 0, SEEK_SET);
	} else if (!a.code_hashed || a.code_len != 0) {
		abort();
	}
	n = fn_decl_write(&a, canon, sizeof canon);
	if (n <= 0 || (size_t)n > FN_DECL_CANON_MAX)
		abort();
	if (fn_decl_parse(canon, (size_t)n, FN_SHAPE_STORED, &pol, &toks, &b, &e) != 0)
		abort();
	a.code_off = a.code_len = 0;
	if (memcmp(&a, &b, sizeof a) != 0)
		abort();
	n2 = fn_decl_write(&b, again, sizeof again);
	if (n2 != n || memcmp(canon, again, (size_t)n) != 0)
		abort();
	return 0;
}
