/* crypto/checkpoint.c: see checkpoint.h. */
#include "crypto/checkpoint.h"

#include <errno.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/bbuf.h"
#include "lib/errbuf.h"

/* Extension lines: each non-empty and newline-terminated. */
static bool ext_ok(const char *p, size_t n)
{
	if (n == 0)
		return true;
	if (p[n - 1] != '\n' || p[0] == '\n')
		return false;
	for (size_t i = 1; i < n; i++)
		if (p[i] == '\n' && p[i - 1] == '\n')
			return false;
	return true;
}

long checkpoint_format(char *out, size_t cap, const struct checkpoint *c)
{
	struct bbuf b;
	long n;

	if (c->origin_len == 0 || c->origin_len > CHECKPOINT_ORIGIN_MAX ||
	    memchr(c->origin, '\n', c->origin_len) || c->size >= MERKLE_SIZE_LIMIT ||
	    !ext_ok(c->ext, c->ext_len))
		return -EINVAL;
	bbuf_init(&b, out, cap);
	bbuf_put(&b, c->origin, c->origin_len);
	bbuf_put(&b, "\n", 1);
	bbuf_u64(&b, c->size);
	bbuf_put(&b, "\n", 1);
	bbuf_base64(&b, c->root, MERKLE_HASH_LEN);
	bbuf_put(&b, "\n", 1);
	bbuf_put(&b, c->ext, c->ext_len);
	n = bbuf_finish(&b);
	if (n < 0)
		return n;
	/* the text must be what a note may carry (UTF-8, no controls) */
	if ((size_t)n > CHECKPOINT_TEXT_MAX || !note_text_valid(out, (size_t)n))
		return -EINVAL;
	return n;
}

/* The line at *p (up to its newline, which must be there), moving *p past. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return false;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl + 1;
	return true;
}

int checkpoint_parse(const char *text, size_t len, struct checkpoint *c, char *err, size_t errcap)
{
	const char *p = text, *end = text + len, *line;
	size_t n;
	uint64_t v = 0;

	memset(c, 0, sizeof(*c));
	if (len > CHECKPOINT_TEXT_MAX || !note_text_valid(text, len))
		return errbuf_set(err, errcap, -EBADMSG,
				  "checkpoint: not a note text of at most %d bytes", CHECKPOINT_TEXT_MAX);
	if (!next_line(&p, end, &line, &n) || n == 0 || n > CHECKPOINT_ORIGIN_MAX)
		return errbuf_set(err, errcap, -EBADMSG, "checkpoint: empty or overlong origin line");
	c->origin = line;
	c->origin_len = n;
	if (!next_line(&p, end, &line, &n) || n == 0 || (line[0] == '0' && n > 1))
		return errbuf_set(err, errcap, -EBADMSG, "checkpoint: bad tree size line");
	for (size_t i = 0; i < n; i++) {
		if (line[i] < '0' || line[i] > '9' || v > (MERKLE_SIZE_LIMIT - 1 - (uint64_t)(line[i] - '0')) / 10)
			return errbuf_set(err, errcap, -EBADMSG,
					  "checkpoint: tree size is not a decimal below 2^63");
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	c->size = v;
	if (!next_line(&p, end, &line, &n) ||
	    base64_decode(c->root, sizeof c->root, line, n) != MERKLE_HASH_LEN)
		return errbuf_set(err, errcap, -EBADMSG, "checkpoint: root hash is not base64 of 32 bytes");
	c->ext = p;
	c->ext_len = (size_t)(end - p);
	if (!ext_ok(c->ext, c->ext_len))
		return errbuf_set(err, errcap, -EBADMSG, "checkpoint: an empty extension line");
	return 0;
}

long checkpoint_sign(char *out, size_t cap, const struct checkpoint *c,
		     const struct note_key *k, const br_ec_private_key *sk)
{
	char text[CHECKPOINT_TEXT_MAX];
	long n = checkpoint_format(text, sizeof text, c);

	if (n < 0)
		return n;
	return note_sign(out, cap, text, (size_t)n, k, sk);
}

int checkpoint_open(const char *note, size_t len, const struct note_key *k,
		    struct checkpoint *c, char *err, size_t errcap)
{
	size_t text_len;
	int rc = note_verify(note, len, k, &text_len, err, errcap);

	if (rc < 0)
		return rc;
	return checkpoint_parse(note, text_len, c, err, errcap);
}
