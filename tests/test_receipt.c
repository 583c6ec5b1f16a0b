/* tests/test_receipt.c: crypto/receipt, an invocation's receipt as a
 * signed note by the log key: its text byte for byte, the strict parser,
 * signing (deterministic) and opening, and every refusal. */
#include "crypto/receipt.h"
#include "crypto/checkpoint.h"
#include "tests/tap.h"
#include "tests/tlog_gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"

static struct tg_key tk, tk2;
#define key (tk.k)
#define key2 (tk2.k)
#define sk (tk.sk)

static void sample(struct receipt *r)
{
	memset(r, 0, sizeof *r);
	snprintf(r->origin, sizeof r->origin, "%s", "dshield-log/0123456789abcdef");
	snprintf(r->function, sizeof r->function, "%s", "hello");
	snprintf(r->invocation, sizeof r->invocation, "%s", "inv-7f3a");
	memset(r->code, 0x11, 32);
	memset(r->input, 0x22, 32);
	memset(r->output, 0xab, 32);
	r->status = 200;
	r->time_ns = 1700000000123456789ull;
	r->record[0] = 41;
	r->nrecords = 1;
}

static const char SAMPLE[] =
	"dshield-receipt/v1\n"
	"origin dshield-log/0123456789abcdef\n"
	"function hello\n"
	"invocation inv-7f3a\n"
	"code 1111111111111111111111111111111111111111111111111111111111111111\n"
	"input 2222222222222222222222222222222222222222222222222222222222222222\n"
	"output abababababababababababababababababababababababababababababababab\n"
	"status 200\n"
	"time 1700000000123456789\n"
	"record 41\n";

static void test_format_parse(void)
{
	char out[RECEIPT_TEXT_MAX], err[ERRBUF_LEN];
	struct receipt r, p;
	long n;

	sample(&r);
	n = receipt_format(out, sizeof out, &r);
	ok(n == (long)strlen(SAMPLE) && memcmp(out, SAMPLE, (size_t)n) == 0,
	   "the text, byte for byte");
	is_int(receipt_parse(SAMPLE, strlen(SAMPLE), &p, err, sizeof err), 0, "it parses");
	ok(memcmp(&p, &r, sizeof p) == 0, "into the same receipt");

	/* the largest: ids of 63, u32 and u64 maxima, 16 records near 2^63 */
	memset(r.function, 'f', RECEIPT_ID_MAX);
	memset(r.invocation, 'i', RECEIPT_ID_MAX);
	memset(r.origin, 'o', NOTE_NAME_MAX);
	r.status = UINT32_MAX;
	r.time_ns = INT64_MAX;
	r.nrecords = RECEIPT_RECORDS_MAX;
	for (unsigned i = 0; i + 1 < RECEIPT_RECORDS_MAX; i++)
		r.record[i] = (uint64_t)INT64_MAX / 2 + i;
	r.record[RECEIPT_RECORDS_MAX - 1] = INT64_MAX;
	r.omitted = (uint64_t)INT64_MAX - r.record[RECEIPT_RECORDS_MAX - 2] - 1;
	n = receipt_format(out, sizeof out, &r);
	ok(n > 0, "the largest receipt fits RECEIPT_TEXT_MAX (%ld bytes)", n);
	ok(n > 0 && receipt_parse(out, (size_t)n, &p, err, sizeof err) == 0 &&
	   memcmp(&p, &r, sizeof p) == 0, "and round trips, its omitted line too");
	r.omitted++;
	is_int(receipt_format(out, sizeof out, &r), -EINVAL,
	       "more omitted records than fit between the last two refused");
	r.omitted = 1;
	r.nrecords = RECEIPT_RECORDS_MAX - 1;
	is_int(receipt_format(out, sizeof out, &r), -EINVAL,
	       "omitted records with fewer than %d listed refused", RECEIPT_RECORDS_MAX);

	/* 15 earlier records, the entry, 7 omitted between them */
	sample(&r);
	r.nrecords = RECEIPT_RECORDS_MAX;
	for (unsigned i = 0; i + 1 < RECEIPT_RECORDS_MAX; i++)
		r.record[i] = 10 + i;
	r.record[RECEIPT_RECORDS_MAX - 1] = 32;
	r.omitted = 7;
	n = receipt_format(out, sizeof out, &r);
	ok(n > 0 && strstr(out, "record 24\nrecord 32\nomitted 7\n") != NULL &&
	   (size_t)n == strlen(strstr(out, "record 24\n")) + (size_t)(strstr(out, "record 24\n") - out),
	   "the omitted line ends the text, after the last record");
	ok(n > 0 && receipt_parse(out, (size_t)n, &p, err, sizeof err) == 0 && p.omitted == 7 &&
	   p.nrecords == RECEIPT_RECORDS_MAX, "and parses back");
	char edit[RECEIPT_TEXT_MAX + 32];
	static const struct { const char *to, *what; } omits[] = {
		{ "omitted 0\n", "omitted 0" }, { "omitted 07\n", "a leading zero" },
		{ "omitted 17\n", "more than the gap holds" }, { "omitted 7", "no final newline" },
		{ "omitted 7\nomitted 7\n", "twice" }, { "omitted 7\nrecord 40\n", "a record after it" },
	};
	for (size_t i = 0; n > 0 && i < sizeof omits / sizeof omits[0]; i++) {
		size_t at = (size_t)(strstr(out, "omitted ") - out);
		memcpy(edit, out, at);
		snprintf(edit + at, sizeof edit - at, "%s", omits[i].to);
		is_int(receipt_parse(edit, strlen(edit), &p, err, sizeof err), -EBADMSG,
		       "omitted line refused: %s (%s)", omits[i].what, err);
	}
	snprintf(edit, sizeof edit, "%somitted 1\n", SAMPLE);
	is_int(receipt_parse(edit, strlen(edit), &p, err, sizeof err), -EBADMSG,
	       "an omitted line after one record refused (%s)", err);

	sample(&r);
	r.nrecords = 0;
	is_int(receipt_format(out, sizeof out, &r), -EINVAL, "no record refused");
	sample(&r);
	r.nrecords = 2;
	r.record[1] = 41;
	is_int(receipt_format(out, sizeof out, &r), -EINVAL, "records not increasing refused");
	sample(&r);
	snprintf(r.invocation, sizeof r.invocation, "%s", "a b");
	is_int(receipt_format(out, sizeof out, &r), -EINVAL, "an id with a space refused");
	sample(&r);
	r.function[0] = '\0';
	is_int(receipt_format(out, sizeof out, &r), -EINVAL, "an empty id refused");
	sample(&r);
	snprintf(r.origin, sizeof r.origin, "%s", "a+b");
	is_int(receipt_format(out, sizeof out, &r), -EINVAL, "an origin with '+' refused");
	sample(&r);
	r.time_ns = (uint64_t)INT64_MAX + 1;
	is_int(receipt_format(out, sizeof out, &r), -EINVAL, "a time past 2^63-1 refused");
	sample(&r);
	is_int(receipt_format(out, 100, &r), -ENOSPC, "a short buffer is -ENOSPC");
}

/* SAMPLE with the first occurrence of from replaced by to */
static int parse_edit(const char *from, const char *to, char *err)
{
	char buf[2 * RECEIPT_TEXT_MAX];
	const char *at = strstr(SAMPLE, from);
	struct receipt r;
	size_t a;

	if (at == NULL)
		return 12345;
	a = (size_t)(at - SAMPLE);
	memcpy(buf, SAMPLE, a);
	snprintf(buf + a, sizeof buf - a, "%s%s", to, at + strlen(from));
	return receipt_parse(buf, strlen(buf), &r, err, ERRBUF_LEN);
}

static void test_refusals(void)
{
	static const struct { const char *from, *to, *what; } cases[] = {
		{ "dshield-receipt/v1\n", "dshield-receipt/v2\n", "another version" },
		{ "dshield-receipt/v1\n", "", "no magic line" },
		{ "origin dshield", "origin  dshield", "two spaces" },
		{ "origin dshield-log/0123456789abcdef\n", "", "no origin" },
		{ "function hello", "function hel lo", "a space in an id" },
		{ "function hello", "function ", "an empty id" },
		{ "invocation inv-7f3a\n", "", "no invocation line" },
		{ "code 1111", "code 111", "a short hash" },
		{ "input 2222", "input A222", "uppercase hex" },
		{ "output abab", "output zbab", "not hex" },
		{ "status 200", "status 0200", "a leading zero" },
		{ "status 200", "status 4294967296", "a status past u32" },
		{ "status 200", "status -1", "a sign" },
		{ "time 1700000000123456789", "time 9223372036854775808", "a time past 2^63-1" },
		{ "record 41\n", "", "no record" },
		{ "record 41\n", "record 41\nrecord 41\n", "a repeated record" },
		{ "record 41\n", "record 41\nrecord 40\n", "records going down" },
		{ "record 41\n", "record 41\nextra\n", "a trailing line" },
		{ "record 41\n", "record 41", "no final newline" },
		{ "record 41\n", "record 41\n\n", "an empty line" },
		{ "status 200\ntime", "time 1\nstatus 200\ntime", "fields out of order" },
		{ "code ", "output ", "a field twice" },
	};
	char err[ERRBUF_LEN], buf[2048];
	struct receipt r;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_int(parse_edit(cases[i].from, cases[i].to, err), -EBADMSG, "refused: %s (%s)",
		       cases[i].what, err);
	strcpy(buf, SAMPLE);
	size_t n = strlen(buf);
	for (int i = 0; i < RECEIPT_RECORDS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "record %d\n", 100 + i);
	is_int(receipt_parse(buf, n, &r, err, sizeof err), -EBADMSG, "17 records refused (%s)", err);
	static const char ckpt[] = "dshield-log/0123456789abcdef\n5\n"
				   "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
	is_int(receipt_parse(ckpt, strlen(ckpt), &r, err, sizeof err), -EBADMSG,
	       "a checkpoint text is not a receipt");
	struct checkpoint c;
	is_int(checkpoint_parse(SAMPLE, strlen(SAMPLE), &c, err, sizeof err), -EBADMSG,
	       "a receipt text is not a checkpoint");
	static char big[RECEIPT_TEXT_MAX + 2];
	memset(big, 'a', sizeof big);
	is_int(receipt_parse(big, sizeof big, &r, err, sizeof err), -EBADMSG,
	       "a text over %d bytes refused", RECEIPT_TEXT_MAX);
}

static void test_sign_open(void)
{
	char note[RECEIPT_NOTE_MAX], again[RECEIPT_NOTE_MAX], err[ERRBUF_LEN];
	struct receipt r, o;
	long n, m;

	sample(&r);
	snprintf(r.origin, sizeof r.origin, "%s", key.name);
	n = receipt_sign(note, sizeof note, &r, &key, &sk);
	ok(n > 0, "signed (%ld bytes)", n);
	m = receipt_sign(again, sizeof again, &r, &key, &sk);
	ok(m == n && memcmp(note, again, (size_t)n) == 0,
	   "the same receipt signs to the same bytes (RFC 6979)");
	is_int(receipt_open(note, (size_t)n, &key, &o, err, sizeof err), 0, "it opens");
	ok(memcmp(&o, &r, sizeof o) == 0, "to the same receipt");
	is_int(receipt_open(note, (size_t)n, &key2, &o, err, sizeof err), -ENOKEY,
	       "another key: no signature of its own (%s)", err);
	memcpy(again, note, (size_t)n);
	again[strstr(again, "status 200") - again + 7] = '4';   /* status 400 */
	is_int(receipt_open(again, (size_t)n, &key, &o, err, sizeof err), -EBADMSG,
	       "a tampered status fails the signature (%s)", err);
	memcpy(again, note, (size_t)n);
	again[n - 5] ^= 1;
	ok(receipt_open(again, (size_t)n, &key, &o, err, sizeof err) < 0,
	   "a tampered signature fails (%s)", err);
	/* a receipt naming another origin than its signer */
	struct receipt other = r;
	snprintf(other.origin, sizeof other.origin, "%s", "someone-else");
	is_int(receipt_sign(again, sizeof again, &other, &key, &sk), -EINVAL,
	       "signing a receipt of another origin refused");
	char text[RECEIPT_TEXT_MAX];
	long t = receipt_format(text, sizeof text, &other);
	long s = t > 0 ? note_sign(again, sizeof again, text, (size_t)t, &key, &sk) : -1;
	ok(s > 0 && receipt_open(again, (size_t)s, &key, &o, err, sizeof err) == -EBADMSG,
	   "a receipt whose origin is not its signer's name fails (%s)", err);
	is_int(receipt_sign(again, 64, &r, &key, &sk), -ENOSPC, "a short buffer is -ENOSPC");
}

int main(void)
{
	tg_key_init(&tk, "dshield-log/0123456789abcdef", "receipt test key");
	tg_key_init(&tk2, "dshield-log/0123456789abcdef", "another key");
	test_format_parse();
	test_refusals();
	test_sign_open();
	return tap_done();
}
