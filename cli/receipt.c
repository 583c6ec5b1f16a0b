/* cli/receipt.c: `dshield receipt verify` (see receipt.h, docs/VERIFY.md).
 *
 *   1. the receipt's signature by the log key (--key, --key-file, or the
 *      log_key of a verified --attestation), and its strict form;
 *   2. with --input / --output, that the files hash to its hashes;
 *   3. with --url, GET /v1/receipts/{invocation}: the checkpoint opens
 *      with the same key, the log's receipt is this one byte for byte,
 *      every entry served proves into that checkpoint and belongs to the
 *      invocation, and each record the receipt names is among them: the
 *      last an invocation entry saying exactly what the receipt says, the
 *      others its egress and refusal records.
 *
 * Every failure is printed ("FAIL: ...") and counted; the exit status is
 * 0 only when every check passed.
 */
#include "cli/receipt.h"
#include "cli/http_client.h"
#include "cli/log_verify.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bearssl_hash.h>

#include "crypto/checkpoint.h"
#include "crypto/log_entry.h"
#include "crypto/merkle.h"
#include "crypto/receipt.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/json_tok.h"

#define CMD            "dshield receipt verify"
/* The answer of GET /v1/receipts/{id}: netd's views stop under 96 KiB. */
#define RV_BODY_MAX    (1024 * 1024)
#define RV_TOKENS      32768
#define RV_ENTRY_MAX   LOG_ENTRY_MAX

struct rv_args {
	const char *receipt;
	const char *input, *output;
	const char *url;
	unsigned timeout_ms;
	struct lv_key_src key;
};

/* One run's state: large, so static (a one-shot host command; tests call
 * it repeatedly and rv_reset() clears it). */
struct rv {
	struct rv_args a;
	struct note_key key;
	char note[RECEIPT_NOTE_MAX + 1];
	size_t note_len;
	struct receipt r;
	unsigned fails;
	/* --url */
	char body[RV_BODY_MAX + 1];
	jsmntok_t tok[RV_TOKENS];
	char str[NOTE_MAX_LEN + 1];
	char note2[RECEIPT_NOTE_MAX + 1];
	uint8_t entry[RV_ENTRY_MAX];
	uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	bool record_ok[RECEIPT_RECORDS_MAX];
};

static struct rv g;

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	g.fails++;
	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int usage(FILE *f)
{
	fprintf(f,
		"usage: " CMD " RECEIPT [--input FILE] [--output FILE]\n"
		"                              (--key VKEY | --key-file FILE |\n"
		"                               --attestation FILE [--allow-sim]\n"
		"                               [--no-collateral | --collateral FILE] [--at T])\n"
		"                              [--url http://HOST[:PORT][/PREFIX]] [--timeout S]\n"
		"\n"
		"RECEIPT is a file holding an invocation's receipt: the X-DShield-Receipt\n"
		"header's value (base64; the header's name may be left in) or the signed\n"
		"note itself. Checks its signature by the log key (VKEY, or the log_key of\n"
		"a /v1/attestation answer that verifies as `dshield verify` would with the\n"
		"same flags); with --input/--output, that the files hash to the receipt's\n"
		"input and output hashes; with --url, fetches /v1/receipts/{invocation}\n"
		"and checks that the receipt's records are in the log: each entry's\n"
		"inclusion proof against a checkpoint signed by the same key.\n"
		"Exit status: 0 every check passed, 1 a check failed, 2 usage.\n");
	return f == stderr ? 2 : 0;
}

/* 0, 1 (help printed) or 2 (usage error, message printed). */
static int parse_args(int argc, char **argv, struct rv_args *a)
{
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		const char **val = NULL;

		if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)
			return 1;
		if (strcmp(s, "--allow-sim") == 0) {
			a->key.quote.allow_sim = true;
			continue;
		}
		if (strcmp(s, "--no-collateral") == 0) {
			a->key.quote.no_collateral = true;
			continue;
		}
		if (strcmp(s, "--timeout") == 0) {
			char *end;
			unsigned long t = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
			if (i + 1 >= argc || *end != '\0' || t == 0 || t > 3600 ||
			    !isdigit((unsigned char)argv[i + 1][0])) {
				fprintf(stderr, CMD ": --timeout takes 1 to 3600 (seconds)\n");
				return 2;
			}
			a->timeout_ms = (unsigned)t * 1000;
			i++;
			continue;
		}
		if (strcmp(s, "--key") == 0)
			val = &a->key.vkey;
		else if (strcmp(s, "--key-file") == 0)
			val = &a->key.key_file;
		else if (strcmp(s, "--attestation") == 0)
			val = &a->key.attestation;
		else if (strcmp(s, "--collateral") == 0)
			val = &a->key.quote.collateral;
		else if (strcmp(s, "--at") == 0)
			val = &a->key.quote.at;
		else if (strcmp(s, "--input") == 0)
			val = &a->input;
		else if (strcmp(s, "--output") == 0)
			val = &a->output;
		else if (strcmp(s, "--url") == 0)
			val = &a->url;
		if (val) {
			if (i + 1 >= argc || *val) {
				fprintf(stderr, CMD ": %s %s\n", s, *val ? "given twice" : "needs a value");
				return 2;
			}
			*val = argv[++i];
			continue;
		}
		if (s[0] == '-' && s[1]) {
			fprintf(stderr, CMD ": unknown option '%s'\n", s);
			return 2;
		}
		if (a->receipt) {
			fprintf(stderr, CMD ": more than one RECEIPT given\n");
			return 2;
		}
		a->receipt = s;
	}
	if (!a->receipt || (a->key.vkey != NULL) + (a->key.key_file != NULL) +
	    (a->key.attestation != NULL) != 1) {
		fprintf(stderr, CMD ": %s\n", !a->receipt ? "no RECEIPT given" :
			"give exactly one of --key, --key-file and --attestation");
		return 2;
	}
	if (!a->key.attestation && (a->key.quote.allow_sim || a->key.quote.no_collateral ||
				    a->key.quote.collateral || a->key.quote.at)) {
		fprintf(stderr, CMD ": --allow-sim, --no-collateral, --collateral and --at go "
			"with --attestation\n");
		return 2;
	}
	if (a->key.quote.collateral && a->key.quote.no_collateral) {
		fprintf(stderr, CMD ": --collateral and --no-collateral exclude each other\n");
		return 2;
	}
	if (a->timeout_ms && !a->url) {
		fprintf(stderr, CMD ": --timeout goes with --url\n");
		return 2;
	}
	a->key.quote.quote = a->key.attestation;
	return 0;
}

/* The signed note from a header value (base64, "X-DShield-Receipt:"
 * allowed in front, whitespace around) or the note itself, into out.
 * Its length, or -EBADMSG. */
static long receipt_note(const char *in, size_t n, char *out, size_t cap)
{
	static const char hdr[] = "X-DShield-Receipt:";
	size_t magic = sizeof RECEIPT_MAGIC - 1;

	if (n > magic && memcmp(in, RECEIPT_MAGIC "\n", magic + 1) == 0) {
		if (n >= cap)
			return -EBADMSG;
		memcpy(out, in, n);
		out[n] = '\0';
		return (long)n;
	}
	if (n >= sizeof hdr - 1 && strncasecmp(in, hdr, sizeof hdr - 1) == 0) {
		in += sizeof hdr - 1;
		n -= sizeof hdr - 1;
	}
	while (n > 0 && isspace((unsigned char)in[0])) {
		in++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)in[n - 1]))
		n--;
	long m = n > 0 ? base64_decode(out, cap - 1, in, n) : -EBADMSG;
	if (m <= 0)
		return -EBADMSG;
	out[m] = '\0';
	return m;
}

static int load_receipt(void)
{
	static char raw[4 * RECEIPT_NOTE_MAX];
	char err[ERRBUF_LEN];
	long n = file_read(g.a.receipt, raw, sizeof raw - 1);
	long m;

	if (n < 0) {
		fprintf(stderr, CMD ": %s: %s\n", g.a.receipt,
			n == -EFBIG ? "larger than a receipt may be" : strerror((int)-n));
		return 2;
	}
	m = receipt_note(raw, (size_t)n, g.note, sizeof g.note);
	if (m < 0) {
		fail("%s: neither a signed receipt nor its base64", g.a.receipt);
		return 1;
	}
	g.note_len = (size_t)m;
	if (receipt_open(g.note, g.note_len, &g.key, &g.r, err, sizeof err) < 0) {
		fail("the receipt: %s", err);
		return 1;
	}
	printf("receipt: signed by %s; function %s, invocation %s, status %u, time_ns %llu\n",
	       g.key.name, g.r.function, g.r.invocation, g.r.status,
	       (unsigned long long)g.r.time_ns);
	printf("receipt: %u record(s), the invocation entry at %llu", g.r.nrecords,
	       (unsigned long long)g.r.record[g.r.nrecords - 1]);
	if (g.r.omitted > 0)
		printf("; %llu more record(s) of the invocation logged before it, not listed",
		       (unsigned long long)g.r.omitted);
	printf("\n");
	return 0;
}

/* SHA-256 of a file's bytes. 0 or a negative errno. */
static int hash_file(const char *path, uint8_t out[32])
{
	uint8_t buf[65536];
	br_sha256_context h;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	br_sha256_init(&h);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		br_sha256_update(&h, buf, (size_t)n);
	if (n < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	close(fd);
	br_sha256_out(&h, out);
	return 0;
}

static void check_file(const char *what, const char *path, const uint8_t want[32])
{
	uint8_t h[32];
	char hx[65], wx[65];
	int r = hash_file(path, h);

	if (r < 0) {
		fail("--%s %s: %s", what, path, strerror(-r));
		return;
	}
	hex_encode(hx, h, 32);
	hex_encode(wx, want, 32);
	if (memcmp(h, want, 32) != 0)
		fail("--%s %s: SHA-256 %s, the receipt's %s is %s", what, path, hx, what, wx);
	else
		printf("%s: %s matches (SHA-256 %s)\n", what, path, hx);
}

/* --- --url: the log's side -------------------------------------------------------- */

/* The string at token i decoded into g.str. Its length or -1. */
static long jstr(const struct json_doc *d, int i)
{
	return i < 0 ? -1 : json_str(d, i, g.str, sizeof g.str);
}

/* Does the entry say what the receipt says? NULL, or what differs. */
static const char *entry_matches(const struct log_entry *e)
{
	const struct receipt *r = &g.r;

	if (e->type != LOG_INVOCATION)
		return "it is not an invocation entry";
	if (e->version < 2)
		return "it has no code hash (entry version 1)";
	if (e->u.invocation.function.len != strlen(r->function) ||
	    memcmp(e->u.invocation.function.p, r->function, strlen(r->function)) != 0)
		return "another function";
	if (memcmp(e->u.invocation.code, r->code, 32) != 0)
		return "another code hash";
	if (memcmp(e->u.invocation.input, r->input, 32) != 0)
		return "another input hash";
	if (memcmp(e->u.invocation.output, r->output, 32) != 0)
		return "another output hash";
	if (e->u.invocation.status != r->status)
		return "another status";
	if (e->time_ns != r->time_ns)
		return "another time";
	return NULL;
}

/* The invocation an entry belongs to (invocation, egress, refusals). */
static bool of_invocation(const struct log_entry *e)
{
	const struct log_str *s = e->type == LOG_INVOCATION ? &e->u.invocation.invocation :
				  e->type == LOG_EGRESS || e->type == LOG_EGRESS_REFUSED ?
				  &e->u.egress.invocation :
				  e->type == LOG_DNS_REFUSED ? &e->u.dns_refused.invocation : NULL;

	return s != NULL && s->len == strlen(g.r.invocation) &&
	       memcmp(s->p, g.r.invocation, s->len) == 0;
}

/* One entry of the answer: its bytes prove into the checkpoint, it
 * belongs to the invocation, and a record of the receipt says what the
 * receipt says. */
static void check_entry(const struct json_doc *d, int obj, unsigned k, const struct checkpoint *c)
{
	uint64_t index;
	uint8_t leaf[32];
	struct log_entry e;
	char err[ERRBUF_LEN];
	int ti = json_get(d, obj, "index"), pr = json_get(d, obj, "proof");
	long n, en;
	size_t np = 0;

	if (ti < 0 || json_uint(d, ti, INT64_MAX, &index) < 0 || pr < 0 ||
	    !json_is(d, pr, JSMN_ARRAY) || (n = jstr(d, json_get(d, obj, "entry"))) < 0) {
		fail("entries[%u]: not an object with index, entry and proof", k);
		return;
	}
	en = base64_decode(g.entry, sizeof g.entry, g.str, (size_t)n);
	if (en <= 0) {
		fail("entry %llu: its bytes are not base64", (unsigned long long)index);
		return;
	}
	for (int j = 0; (np < MERKLE_MAX_PROOF) && json_elem(d, pr, j) >= 0; j++, np++) {
		long hn = jstr(d, json_elem(d, pr, j));
		if (hn < 0 || base64_decode(g.proof[np], 32, g.str, (size_t)hn) != 32) {
			fail("entry %llu: proof hash %d is not base64 of 32 bytes",
			     (unsigned long long)index, j);
			return;
		}
	}
	merkle_leaf_hash(leaf, g.entry, (size_t)en);
	if (index >= c->size || json_elem(d, pr, (int)np) >= 0 ||
	    !merkle_verify_inclusion(index, c->size, leaf, (const uint8_t (*)[32])g.proof, np,
				     c->root)) {
		fail("entry %llu: its inclusion proof does not verify against the checkpoint "
		     "(size %llu)", (unsigned long long)index, (unsigned long long)c->size);
		return;
	}
	if (log_entry_decode(g.entry, (size_t)en, &e, err, sizeof err) < 0) {
		fail("entry %llu: %s", (unsigned long long)index, err);
		return;
	}
	if (!of_invocation(&e)) {
		fail("entry %llu: it is not a record of invocation %s", (unsigned long long)index,
		     g.r.invocation);
		return;
	}
	for (unsigned i = 0; i < g.r.nrecords; i++) {
		if (g.r.record[i] != index)
			continue;
		/* the last record is the invocation entry; the others are its
		 * egress and refusal records, logged before it */
		const char *why = i + 1 == g.r.nrecords ? entry_matches(&e) :
				  e.type == LOG_INVOCATION ? "an invocation entry before the last record" :
				  NULL;
		if (why != NULL) {
			fail("entry %llu, the receipt's record: %s", (unsigned long long)index, why);
			return;
		}
		g.record_ok[i] = true;
	}
	printf("log: entry %llu (%s) is in the log of size %llu\n", (unsigned long long)index,
	       log_entry_type_name(e.type), (unsigned long long)c->size);
}

static void check_answer(size_t len)
{
	struct json_doc d;
	struct checkpoint c;
	char err[ERRBUF_LEN];
	uint64_t size = 0;
	int ents;
	long n;

	if (json_parse(&d, g.body, len, g.tok, RV_TOKENS) < 0 || json_validate(&d, 16) < 0 ||
	    !json_is(&d, 0, JSMN_OBJECT)) {
		fail("the log's answer is not a JSON object");
		return;
	}
	/* the checkpoint: signed by the same key */
	n = jstr(&d, json_get(&d, 0, "checkpoint"));
	if (n < 0 || checkpoint_open(g.str, (size_t)n, &g.key, &c, err, sizeof err) < 0) {
		fail("the log's checkpoint: %s", n < 0 ? "missing" : err);
		return;
	}
	if (json_get(&d, 0, "size") < 0 || json_uint(&d, json_get(&d, 0, "size"), INT64_MAX, &size) < 0 ||
	    size != c.size)
		fail("the answer's size is not its checkpoint's (%llu)", (unsigned long long)c.size);
	printf("log: checkpoint of size %llu signed by %s\n", (unsigned long long)c.size,
	       g.key.name);
	/* the log's receipt: this one, byte for byte */
	n = jstr(&d, json_get(&d, 0, "receipt"));
	if (n < 0 || receipt_note(g.str, (size_t)n, g.note2, sizeof g.note2) != (long)g.note_len ||
	    memcmp(g.note2, g.note, g.note_len) != 0)
		fail("the log's receipt for %s is not RECEIPT", g.r.invocation);
	else
		printf("log: its receipt for %s is RECEIPT, byte for byte\n", g.r.invocation);
	ents = json_get(&d, 0, "entries");
	if (ents < 0 || !json_is(&d, ents, JSMN_ARRAY)) {
		fail("the answer has no entries");
		return;
	}
	for (int k = 0; json_elem(&d, ents, k) >= 0; k++) {
		int e = json_elem(&d, ents, k);
		if (!json_is(&d, e, JSMN_OBJECT)) {
			fail("entries[%d]: not an object", k);
			continue;
		}
		check_entry(&d, e, (unsigned)k, &c);
	}
	for (unsigned i = 0; i < g.r.nrecords; i++)
		if (!g.record_ok[i])
			fail("the receipt's record %llu is not among the proven entries",
			     (unsigned long long)g.r.record[i]);
}

static void check_url(void)
{
	struct hc_url u;
	struct hc h;
	char err[ERRBUF_LEN], rel[64 + RECEIPT_ID_MAX];
	long n;

	if (hc_url_parse(g.a.url, &u, err, sizeof err) < 0) {
		fail("--url %s: %s", g.a.url, err);
		return;
	}
	snprintf(rel, sizeof rel, "v1/receipts/%s", g.r.invocation);
	hc_init(&h, &u, g.a.timeout_ms ? g.a.timeout_ms : HC_TIMEOUT_MS);
	n = hc_get(&h, rel, g.body, RV_BODY_MAX, err, sizeof err);
	hc_close(&h);
	if (n < 0) {
		fail("GET %s/%s: %s", u.prefix, rel, err);
		return;
	}
	g.body[n] = '\0';
	check_answer((size_t)n);
}

static int receipt_verify(void)
{
	int r = lv_load_key(CMD, &g.a.key, &g.key, false);

	if (r != 0)
		return r;
	r = load_receipt();
	if (r == 2)
		return 2;
	if (r == 0) {
		if (g.a.input)
			check_file("input", g.a.input, g.r.input);
		if (g.a.output)
			check_file("output", g.a.output, g.r.output);
		if (g.a.url)
			check_url();
	}
	if (g.fails)
		printf("result: FAILED, %u failure(s)\n", g.fails);
	else
		printf("result: OK\n");
	return g.fails ? 1 : 0;
}

int cmd_receipt(int argc, char **argv)
{
	int r;

	memset(&g, 0, sizeof g);
	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0))
			return usage(stdout);
		return usage(stderr);
	}
	r = parse_args(argc - 2, argv + 2, &g.a);
	if (r == 1)
		return usage(stdout);
	if (r != 0)
		return r;
	r = receipt_verify();
	fflush(stdout);
	return r;
}
