/* crypto/kms_fresh.c: see kms_fresh.h. */
#include "crypto/kms_fresh.h"
#include "crypto/receipt.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <string.h>

bool kms_id_valid(const char *s, size_t n)
{
	return n > 0 && s[0] != '.' && receipt_id_ok(s, n);
}

static bool dec_u63(const char *s, size_t n, uint64_t *v)
{
	*v = 0;
	if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || *v > (MERKLE_SIZE_LIMIT - 1 - (uint64_t)(s[i] - '0')) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return true;
}

int kms_fresh_from_checkpoint(struct kms_fresh *f, const struct checkpoint *c,
			      char *err, size_t errlen)
{
	const size_t pl = sizeof KMS_FRESH_EXT - 1;
	const char *p = c->ext, *sp, *nl;
	size_t n = c->ext_len;

	memset(f, 0, sizeof *f);
	nl = n ? memchr(p, '\n', n) : NULL;
	if (nl == NULL || (size_t)(nl - p) + 1 != n || n < pl || memcmp(p, KMS_FRESH_EXT, pl) != 0)
		return errbuf_set(err, errlen, -EBADMSG,
				  "freshness: the checkpoint's one extension line is not \"%s<instance> <generation>\"",
				  KMS_FRESH_EXT);
	p += pl;
	sp = memchr(p, ' ', (size_t)(nl - p));
	if (sp == NULL || !kms_id_valid(p, (size_t)(sp - p)))
		return errbuf_set(err, errlen, -EBADMSG, "freshness: bad instance id");
	memcpy(f->instance_id, p, (size_t)(sp - p));
	f->instance_id[sp - p] = '\0';
	if (!dec_u63(sp + 1, (size_t)(nl - sp - 1), &f->generation))
		return errbuf_set(err, errlen, -EBADMSG,
				  "freshness: the generation is not a decimal below 2^63");
	f->size = c->size;
	memcpy(f->root, c->root, MERKLE_HASH_LEN);
	return 0;
}

int kms_fresh_peek(struct kms_fresh *f, const char *note, size_t len, char *err, size_t errlen)
{
	struct note_reader rd;
	struct checkpoint c;
	size_t tl;
	int rc;

	memset(f, 0, sizeof *f);
	if ((rc = note_open(note, len, &tl, &rd, err, errlen)) < 0 ||
	    (rc = checkpoint_parse(note, tl, &c, err, errlen)) < 0)
		return rc;
	return kms_fresh_from_checkpoint(f, &c, err, errlen);
}

int kms_fresh_open(struct kms_fresh *f, const char *note, size_t len,
		   const struct note_key *k, char *err, size_t errlen)
{
	struct checkpoint c;
	int rc = checkpoint_open(note, len, k, &c, err, errlen);

	if (rc < 0)
		return rc;
	return kms_fresh_from_checkpoint(f, &c, err, errlen);
}

int kms_fresh_compare(const struct kms_fresh *kept, const struct kms_fresh *next,
		      char *err, size_t errlen)
{
	if (next->size < kept->size)
		return errbuf_set(err, errlen, -ERANGE,
				  "freshness goes back: tree size %llu, the KMS holds %llu",
				  (unsigned long long)next->size, (unsigned long long)kept->size);
	if (next->size == kept->size && memcmp(next->root, kept->root, MERKLE_HASH_LEN) != 0)
		return errbuf_set(err, errlen, -EEXIST,
				  "freshness forks: tree size %llu with another root than the KMS holds",
				  (unsigned long long)next->size);
	if (next->generation < kept->generation)
		return errbuf_set(err, errlen, -ERANGE,
				  "freshness goes back: store generation %llu, the KMS holds %llu",
				  (unsigned long long)next->generation,
				  (unsigned long long)kept->generation);
	return 0;
}

