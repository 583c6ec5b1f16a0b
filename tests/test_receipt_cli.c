/* tests/test_receipt_cli.c: `dshield receipt verify`. A receipt signed
 * by a test key over an invocation entry of a log written with
 * tests/tlog_gen.h; the answer of GET /v1/receipts/{id} is served as a
 * file by `python3 -m http.server` on 127.0.0.1 (that part skips when
 * python3 is missing). A good receipt passes offline, with its files and
 * with --url; a tampered receipt, a wrong input or output file, another
 * key, a proof that does not verify, a log whose receipt differs, an
 * answer without the receipt's record, and an entry that says something
 * else than its receipt each fail, naming what failed. */
#include "cli/receipt.h"
#include "crypto/receipt.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/jsonw.h"
#include "tests/py_http.h"
#include "tests/run_capture.h"
#include "tests/tap.h"
#include "tests/tlog_gen.h"

#include <sys/stat.h>

#define BASE 300        /* generated entries before the invocation's */
#define NREC 3          /* its records: two egress, then the invocation entry */

static char out[1 << 16];
static char root[] = "/tmp/dshield-test-receipt-XXXXXX";
static char out_path[4096];
static struct tg_key key, other;
static struct tg_log L;
static char note[NOTE_MAX_LEN];
static long note_len;
static char www[1024], url[256];

static int run(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5,
	       const char *a6, const char *a7, const char *a8)
{
	const char *argv[11] = { "receipt", "verify", a1, a2, a3, a4, a5, a6, a7, a8, NULL };
	int argc = 2;

	while (argc < 10 && argv[argc] != NULL)
		argc++;
	return run_captured(cmd_receipt, argc, argv, out_path, out, sizeof out);
}

static bool has(const char *s)
{
	return strstr(out, s) != NULL;
}

static void put(const char *name, const void *p, size_t n, char *path, size_t cap)
{
	int fd;

	snprintf(path, cap, "%s/%s", root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		tg_die("write", path);
	close(fd);
}



/* L: BASE generated entries, then the invocation's records; the last is
 * its invocation entry, whose output hash is `entry_output`. */
static void make_log(const uint8_t code[32], const uint8_t in[32], const uint8_t entry_output[32])
{
	struct log_entry x;
	size_t used;

	tg_log_make(&L, BASE + NREC, 5);
	used = L.off[BASE];
	L.n = BASE;
	for (unsigned k = 0; k < NREC; k++) {
		memset(&x, 0, sizeof x);
		x.time_ns = 1700000000000000000ull + k;
		if (k < NREC - 1) {
			x.type = LOG_EGRESS;
			x.u.egress.function = (struct log_str){ "hello", 5 };
			x.u.egress.invocation = (struct log_str){ "inv-1", 5 };
			x.u.egress.method = (struct log_str){ "GET", 3 };
			x.u.egress.decision = LOG_ALLOW;
		} else {
			x.version = 2;
			x.type = LOG_INVOCATION;
			x.u.invocation.function = (struct log_str){ "hello", 5 };
			x.u.invocation.invocation = (struct log_str){ "inv-1", 5 };
			memcpy(x.u.invocation.code, code, 32);
			memcpy(x.u.invocation.input, in, 32);
			memcpy(x.u.invocation.output, entry_output, 32);
			x.u.invocation.status = 200;
		}
		long n = log_entry_encode(L.bytes + used, (BASE + NREC) * 128 + 1 - used, &x);
		if (n < 0)
			tg_die("entry", "encode");
		L.off[L.n] = used;
		merkle_leaf_hash(L.leaf[L.n], L.bytes + used, (size_t)n);
		used += (size_t)n;
		L.n++;
		L.off[L.n] = used;
	}
	note_len = tg_checkpoint(note, sizeof note, &L, L.n, &key);
	if (note_len < 0)
		tg_die("checkpoint", "sign");
}

/* The signed receipt over the invocation's records (output hash `output`). */
static long make_receipt(char *buf, size_t cap, const uint8_t code[32], const uint8_t in[32],
			 const uint8_t output[32], uint32_t status)
{
	struct receipt r;

	memset(&r, 0, sizeof r);
	snprintf(r.origin, sizeof r.origin, "%s", key.k.name);
	strcpy(r.function, "hello");
	strcpy(r.invocation, "inv-1");
	memcpy(r.code, code, 32);
	memcpy(r.input, in, 32);
	memcpy(r.output, output, 32);
	r.status = status;
	r.time_ns = 1700000000000000000ull + NREC - 1;
	/* as netd lists them: the egress records, then the invocation entry */
	r.nrecords = NREC;
	for (unsigned k = 0; k < NREC; k++)
		r.record[k] = BASE + k;
	return receipt_sign(buf, cap, &r, &key.k, &key.sk);
}

enum answer_fault { A_GOOD, A_BAD_PROOF, A_NO_RECORD, A_NO_EGRESS, A_OTHER_RECEIPT };

/* www/v1/receipts/inv-1: the answer netd gives, newest first. */
static void serve_answer(const char *receipt_note, size_t rlen, enum answer_fault fault)
{
	static char body[1 << 16], b64[4096];
	uint8_t proof[MERKLE_MAX_PROOF][32];
	struct jsonw w;
	char dir[1200], path[1300];
	int fd;

	jw_init(&w, body, sizeof body);
	jw_object_begin(&w);
	jw_key(&w, "invocation");
	jw_string(&w, "inv-1");
	jw_key(&w, "size");
	jw_u64(&w, L.n);
	jw_key(&w, "entries");
	jw_array_begin(&w);
	for (uint64_t i = L.n; i-- > BASE;) {
		if ((fault == A_NO_RECORD && i == L.n - 1) || (fault == A_NO_EGRESS && i == BASE + 1))
			continue;
		int n = merkle_inclusion_proof(i, L.n, tg_node, &L, proof);
		if (n < 0)
			tg_die("proof", "inclusion");
		if (fault == A_BAD_PROOF && i == BASE)
			proof[0][7] ^= 1;
		jw_object_begin(&w);
		jw_key(&w, "index");
		jw_u64(&w, i);
		jw_key(&w, "entry");
		jw_base64(&w, L.bytes + L.off[i], L.off[i + 1] - L.off[i]);
		jw_key(&w, "decoded");
		jw_null(&w);
		jw_key(&w, "proof");
		jw_array_begin(&w);
		for (int k = 0; k < n; k++)
			jw_base64(&w, proof[k], 32);
		jw_array_end(&w);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_key(&w, "checkpoint");
	jw_string_n(&w, note, (size_t)note_len);
	jw_key(&w, "receipt");
	b64[base64_encode(b64, receipt_note, rlen)] = '\0';
	if (fault == A_OTHER_RECEIPT)
		b64[10] = b64[10] == 'A' ? 'B' : 'A';
	jw_string(&w, b64);
	jw_object_end(&w);
	long len = jw_finish(&w);
	if (len < 0)
		tg_die("json", "too long");
	snprintf(dir, sizeof dir, "%s/v1", www);
	mkdir(dir, 0755);
	snprintf(dir, sizeof dir, "%s/v1/receipts", www);
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/inv-1", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, body, (size_t)len) != len)
		tg_die("write", path);
	close(fd);
}

int main(void)
{
	static char rnote[RECEIPT_NOTE_MAX], hdr[4096], tampered[RECEIPT_NOTE_MAX];
	char rpath[1200], npath[1200], tpath[1200], ipath[1200], opath[1200], wpath[1200];
	uint8_t code[32], in_h[32], out_h[32], other_h[32];
	int rc, port;

	if (!mkdtemp(root))
		return 1;
	snprintf(out_path, sizeof out_path, "%s/out", root);
	snprintf(www, sizeof www, "%s/www", root);
	mkdir(www, 0755);
	tg_key_init(&key, "dshield-log/00112233aabbccdd", "receipt cli key");
	tg_key_init(&other, "dshield-log/00112233aabbccdd", "another key");
	memset(code, 0xc0, 32);
	tg_sha256("{\"name\":\"x\"}", 12, in_h);
	tg_sha256("hello, x", 8, out_h);
	tg_sha256("something else", 14, other_h);
	put("input.json", "{\"name\":\"x\"}", 12, ipath, sizeof ipath);
	put("output.txt", "hello, x", 8, opath, sizeof opath);
	put("wrong.txt", "hello, y", 8, wpath, sizeof wpath);

	make_log(code, in_h, out_h);
	long rn = make_receipt(rnote, sizeof rnote, code, in_h, out_h, 200);
	if (rn < 0)
		tg_die("receipt", "sign");
	/* the header as the reply carries it, and the note itself */
	snprintf(hdr, sizeof hdr, "X-DShield-Receipt: ");
	size_t hl = strlen(hdr);
	hl += base64_encode(hdr + hl, rnote, (size_t)rn);
	hdr[hl++] = '\n';
	put("receipt.hdr", hdr, hl, rpath, sizeof rpath);
	put("receipt.note", rnote, (size_t)rn, npath, sizeof npath);

	/* offline */
	rc = run(rpath, "--key", key.vkey, "--input", ipath, "--output", opath, NULL);
	ok(rc == 0 && has("input: ") && has("output: ") && has("result: OK"),
	   "a good receipt (the header's value) with its files: OK");
	if (rc != 0)
		diag("%s", out);
	rc = run(npath, "--key", key.vkey, NULL, NULL, NULL, NULL, NULL);
	ok(rc == 0 && has("receipt: signed by dshield-log/00112233aabbccdd; function hello, "
			  "invocation inv-1, status 200"), "the signed note itself: OK");
	memcpy(tampered, rnote, (size_t)rn);
	tampered[strstr(tampered, "status 200") - tampered + 7] = '5';
	put("tampered.note", tampered, (size_t)rn, tpath, sizeof tpath);
	rc = run(tpath, "--key", key.vkey, NULL, NULL, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: the receipt: ") && has("result: FAILED"),
	   "a tampered receipt (status 500): fails its signature");
	hdr[40] = hdr[40] == 'A' ? 'B' : 'A';
	put("tampered.hdr", hdr, hl, tpath, sizeof tpath);
	rc = run(tpath, "--key", key.vkey, NULL, NULL, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: "), "a flipped base64 character in the header: fails");
	put("garbage", "not a receipt\n", 14, tpath, sizeof tpath);
	rc = run(tpath, "--key", key.vkey, NULL, NULL, NULL, NULL, NULL);
	ok(rc == 1 && has("neither a signed receipt nor its base64"), "garbage: fails");
	rc = run(rpath, "--key", key.vkey, "--output", wpath, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: --output ") && has("the receipt's output is"),
	   "a wrong output file: fails, both hashes shown");
	rc = run(rpath, "--key", key.vkey, "--input", opath, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: --input "), "a wrong input file: fails");
	rc = run(rpath, "--key", other.vkey, NULL, NULL, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: the receipt: ") && !has("result: OK"), "another key: fails");
	rc = run(rpath, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	ok(rc == 2 && has("exactly one of"), "no key: usage, 2");
	rc = run(rpath, "--key", "nonsense", NULL, NULL, NULL, NULL, NULL);
	ok(rc == 2 && has("the verifier key"), "a malformed key: usage, 2");
	rc = run(rpath, "--key", key.vkey, "--allow-sim", NULL, NULL, NULL, NULL);
	ok(rc == 2 && has("go with --attestation"), "--allow-sim without --attestation: usage, 2");
	rc = run(rpath, "--key", key.vkey, "--url", "http://127.0.0.1:1", NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: GET /v1/receipts/inv-1: "), "a closed port: fails");

	/* --url */
	port = start_python(www);
	if (port <= 0) {
		for (int i = 0; i < 8; i++)
			ok(1, "# skip python3 -m http.server did not start");
		stop(&py_pid);
		return tap_done();
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	serve_answer(rnote, (size_t)rn, A_GOOD);
	rc = run(rpath, "--key", key.vkey, "--url", url, "--input", ipath, NULL);
	ok(rc == 0 && has("log: checkpoint of size 303") &&
	   has("log: its receipt for inv-1 is RECEIPT, byte for byte") &&
	   has("log: entry 302 (invocation) is in the log of size 303") &&
	   has("log: entry 300 (egress) is in the log") && has("receipt: 3 record(s), the "
	   "invocation entry at 302\n") && has("result: OK"),
	   "--url: the receipt's record and the invocation's egress proven: OK");
	if (rc != 0)
		diag("%s", out);
	serve_answer(rnote, (size_t)rn, A_BAD_PROOF);
	rc = run(rpath, "--key", key.vkey, "--url", url, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: entry 300: its inclusion proof does not verify"),
	   "--url: a proof that does not verify: fails");
	serve_answer(rnote, (size_t)rn, A_NO_RECORD);
	rc = run(rpath, "--key", key.vkey, "--url", url, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: the receipt's record 302 is not among the proven entries"),
	   "--url: the invocation entry missing: fails");
	serve_answer(rnote, (size_t)rn, A_NO_EGRESS);
	rc = run(rpath, "--key", key.vkey, "--url", url, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: the receipt's record 301 is not among the proven entries"),
	   "--url: an egress record the receipt lists missing: fails");
	serve_answer(rnote, (size_t)rn, A_OTHER_RECEIPT);
	rc = run(rpath, "--key", key.vkey, "--url", url, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: the log's receipt for inv-1 is not RECEIPT"),
	   "--url: the log's receipt differs: fails");
	/* a receipt saying another output than the logged entry */
	static char lie[RECEIPT_NOTE_MAX];
	long ln = make_receipt(lie, sizeof lie, code, in_h, other_h, 200);
	put("lie.note", lie, (size_t)ln, tpath, sizeof tpath);
	serve_answer(lie, (size_t)ln, A_GOOD);
	rc = run(tpath, "--key", key.vkey, "--url", url, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: entry 302, the receipt's record: another output hash"),
	   "--url: a receipt that is not what the log recorded: fails");
	/* a checkpoint by another key */
	serve_answer(rnote, (size_t)rn, A_GOOD);
	note_len = tg_checkpoint(note, sizeof note, &L, L.n, &other);
	serve_answer(rnote, (size_t)rn, A_GOOD);
	rc = run(rpath, "--key", key.vkey, "--url", url, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: the log's checkpoint: "), "--url: a checkpoint by another key: fails");
	rc = run(rpath, "--key", key.vkey, "--url", "http://127.0.0.1:1/x?y", NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: --url "), "--url: a malformed URL: fails");
	stop(&py_pid);
	tg_log_free(&L);
	return tap_done();
}
