/* crypto/receipt.c: see receipt.h. */
#include "crypto/receipt.h"

#include <errno.h>
#include <string.h>

#include "lib/bbuf.h"
#include "lib/errbuf.h"
#include "lib/hex.h"

bool receipt_id_ok(const char *s, size_t n)
{
	if (n == 0 || n > RECEIPT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* An origin as a key name may be: non-empty, printable ASCII without
 * space or '+' (stricter than the spec's UTF-8 names: ours are
 * "dshield-log/<hex>"). */
static bool origin_ok(const char *s, size_t n)
{
	if (n == 0 || n > NOTE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '+')
			return false;
	return true;
}

static bool records_ok(const struct receipt *r)
{
	if (r->nrecords == 0 || r->nrecords > RECEIPT_RECORDS_MAX)
		return false;
	for (unsigned i = 0; i < r->nrecords; i++)
		if (r->record[i] > INT64_MAX || (i > 0 && r->record[i] <= r->record[i - 1]))
			return false;
	/* the omitted records lie between the last listed earlier record and
	 * the invocation entry (always the last record): the gap holds them */
	return r->omitted == 0 || (r->nrecords == RECEIPT_RECORDS_MAX && r->omitted <= INT64_MAX &&
				   r->record[r->nrecords - 1] - r->record[r->nrecords - 2] > r->omitted);
}

long receipt_format(char *out, size_t cap, const struct receipt *r)
{
	static const char *const hname[3] = { "code ", "input ", "output " };
	const uint8_t *h[3] = { r->code, r->input, r->output };
	struct bbuf b;
	long n;

	if (!origin_ok(r->origin, strnlen(r->origin, sizeof r->origin)) ||
	    strnlen(r->origin, sizeof r->origin) == sizeof r->origin ||
	    !receipt_id_ok(r->function, strnlen(r->function, sizeof r->function)) ||
	    !receipt_id_ok(r->invocation, strnlen(r->invocation, sizeof r->invocation)) ||
	    r->time_ns > INT64_MAX || !records_ok(r))
		return -EINVAL;
	bbuf_init(&b, out, cap);
	bbuf_str(&b, RECEIPT_MAGIC "\norigin ");
	bbuf_str(&b, r->origin);
	bbuf_str(&b, "\nfunction ");
	bbuf_str(&b, r->function);
	bbuf_str(&b, "\ninvocation ");
	bbuf_str(&b, r->invocation);
	bbuf_str(&b, "\n");
	for (unsigned i = 0; i < 3; i++) {
		bbuf_str(&b, hname[i]);
		bbuf_hex(&b, h[i], 32);
		bbuf_str(&b, "\n");
	}
	bbuf_str(&b, "status ");
	bbuf_u64(&b, r->status);
	bbuf_str(&b, "\ntime ");
	bbuf_u64(&b, r->time_ns);
	bbuf_str(&b, "\n");
	for (unsigned i = 0; i < r->nrecords; i++) {
		bbuf_str(&b, "record ");
		bbuf_u64(&b, r->record[i]);
		bbuf_str(&b, "\n");
	}
	if (r->omitted > 0) {
		bbuf_str(&b, "omitted ");
		bbuf_u64(&b, r->omitted);
		bbuf_str(&b, "\n");
	}
	n = bbuf_finish(&b);
	if (n >= 0 && (size_t)n > RECEIPT_TEXT_MAX)
		return -EINVAL;
	return n;
}

/* The next line, which must start with key (its value then in *v, *vn). */
static bool field(const char **p, const char *end, const char *key, const char **v, size_t *vn)
{
	size_t kn = strlen(key);
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (nl == NULL || (size_t)(nl - *p) < kn || memcmp(*p, key, kn) != 0)
		return false;
	*v = *p + kn;
	*vn = (size_t)(nl - *v);
	*p = nl + 1;
	return true;
}

/* A decimal number without sign or leading zero, at most max. */
static bool decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* 64 lowercase hex digits. */
static bool hash_hex(const char *s, size_t n, uint8_t out[32])
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return hex_decode(out, 32, s, n) == 32;
}

int receipt_parse(const char *text, size_t len, struct receipt *r, char *err, size_t errcap)
{
	static const char *const hname[3] = { "code ", "input ", "output " };
	const char *p = text, *end = text + len, *v;
	uint8_t *h[3] = { r->code, r->input, r->output };
	uint64_t x;
	size_t n;

	memset(r, 0, sizeof *r);
	if (len > RECEIPT_TEXT_MAX)
		return errbuf_set(err, errcap, -EBADMSG, "receipt: longer than %d bytes",
				  RECEIPT_TEXT_MAX);
	if (!field(&p, end, RECEIPT_MAGIC, &v, &n) || n != 0)
		return errbuf_set(err, errcap, -EBADMSG, "receipt: not a %s text", RECEIPT_MAGIC);
	if (!field(&p, end, "origin ", &v, &n) || !origin_ok(v, n))
		return errbuf_set(err, errcap, -EBADMSG, "receipt: bad origin line");
	memcpy(r->origin, v, n);
	if (!field(&p, end, "function ", &v, &n) || !receipt_id_ok(v, n))
		return errbuf_set(err, errcap, -EBADMSG, "receipt: bad function line");
	memcpy(r->function, v, n);
	if (!field(&p, end, "invocation ", &v, &n) || !receipt_id_ok(v, n))
		return errbuf_set(err, errcap, -EBADMSG, "receipt: bad invocation line");
	memcpy(r->invocation, v, n);
	for (unsigned i = 0; i < 3; i++)
		if (!field(&p, end, hname[i], &v, &n) || !hash_hex(v, n, h[i]))
			return errbuf_set(err, errcap, -EBADMSG, "receipt: bad %.*s line",
					  (int)strlen(hname[i]) - 1, hname[i]);
	if (!field(&p, end, "status ", &v, &n) || !decimal(v, n, UINT32_MAX, &x))
		return errbuf_set(err, errcap, -EBADMSG, "receipt: bad status line");
	r->status = (uint32_t)x;
	if (!field(&p, end, "time ", &v, &n) || !decimal(v, n, INT64_MAX, &r->time_ns))
		return errbuf_set(err, errcap, -EBADMSG, "receipt: bad time line");
	while (p < end && !(r->nrecords == RECEIPT_RECORDS_MAX && (size_t)(end - p) > 8 &&
			     memcmp(p, "omitted ", 8) == 0)) {
		if (r->nrecords == RECEIPT_RECORDS_MAX)
			return errbuf_set(err, errcap, -EBADMSG, "receipt: more than %d records",
					  RECEIPT_RECORDS_MAX);
		if (!field(&p, end, "record ", &v, &n) || !decimal(v, n, INT64_MAX, &x) ||
		    (r->nrecords > 0 && x <= r->record[r->nrecords - 1]))
			return errbuf_set(err, errcap, -EBADMSG,
					  "receipt: bad record line %u (a log index, increasing)",
					  r->nrecords + 1);
		r->record[r->nrecords++] = x;
	}
	if (r->nrecords == 0)
		return errbuf_set(err, errcap, -EBADMSG, "receipt: no record line");
	if (p < end && (!field(&p, end, "omitted ", &v, &n) || !decimal(v, n, INT64_MAX, &x) ||
			x == 0 || p != end || (r->omitted = x, !records_ok(r))))
		return errbuf_set(err, errcap, -EBADMSG,
				  "receipt: bad omitted line (after %d records: a count that fits "
				  "between the last two)", RECEIPT_RECORDS_MAX);
	return 0;
}

long receipt_sign(char *out, size_t cap, const struct receipt *r, const struct note_key *k,
		  const br_ec_private_key *sk)
{
	char text[RECEIPT_TEXT_MAX];
	long n;

	if (strlen(r->origin) != k->name_len || memcmp(r->origin, k->name, k->name_len) != 0)
		return -EINVAL;
	n = receipt_format(text, sizeof text, r);
	if (n < 0)
		return n;
	return note_sign(out, cap, text, (size_t)n, k, sk);
}

int receipt_open(const char *note, size_t len, const struct note_key *k, struct receipt *r,
		 char *err, size_t errcap)
{
	size_t tlen;
	int rc = note_verify(note, len, k, &tlen, err, errcap);

	if (rc < 0)
		return rc;
	rc = receipt_parse(note, tlen, r, err, errcap);
	if (rc < 0)
		return rc;
	if (strlen(r->origin) != k->name_len || memcmp(r->origin, k->name, k->name_len) != 0)
		return errbuf_set(err, errcap, -EBADMSG,
				  "receipt: its origin %s is not the key's name %s", r->origin, k->name);
	return 0;
}
