/* tests/test_log_verify.c: `dshield log verify` against log directories
 * written by tests/tlog_gen.h: good logs of the sizes around tile edges
 * verify (exit 0); every kind of damage fails (exit 1) with a message that
 * names what and where; usage errors exit 2; a hostile directory
 * (symlinks, a FIFO, huge sparse files, a huge claimed size) neither
 * crashes nor hangs it. Output is captured in a temporary file. */
#include "cli/log_verify.h"
#include "lib/json_tok.h"
#include "lib/utf8.h"
#include "crypto/reportdata.h"
#include "lib/base64.h"
#include "lib/hex.h"
#include "tests/run_capture.h"
#include "tests/tap.h"
#include "tests/tdx_testdata.h"
#include "tests/tlog_gen.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

static char out[1 << 21];
static char root[] = "/tmp/dshield-test-logverify-XXXXXX";
static char out_path[4096];
static struct tg_key key, other_key;
static unsigned ndirs;

/* Runs cmd_log with stdout and stderr sent to a file; the output is left
 * in out[]. Returns the exit status. */
static int run(int argc, const char **argv)
{
	return run_captured(cmd_log, argc, argv, out_path, out, sizeof out);
}

/* `log verify DIR --key VKEY` plus up to three more arguments. */
static int verify(const char *dir, const char *x1, const char *x2, const char *x3)
{
	const char *argv[8] = { "log", "verify", dir, "--key", key.vkey, x1, x2, x3 };
	int argc = 5 + (x1 != NULL) + (x2 != NULL) + (x3 != NULL);

	return run(argc, argv);
}

static bool has(const char *s)
{
	return strstr(out, s) != NULL;
}

/* Exit 1 and the output holds `want`; the output is shown otherwise. */
static void fails_with(int rc, const char *want, const char *name)
{
	if (!ok(rc == 1 && has(want), "%s: exit 1, \"%s\"", name, want))
		diag("exit %d, output:\n%s", rc, out);
}

static const char *new_dir(void)
{
	static char p[8][4096];
	char *d = p[ndirs % 8];

	snprintf(d, sizeof p[0], "%s/log%u", root, ndirs++);
	return d;
}

static void path_of(char *p, size_t cap, const char *dir, const char *rel)
{
	snprintf(p, cap, "%s/%s", dir, rel);
}

static void flip(const char *dir, const char *rel, off_t at)
{
	char p[4096];
	uint8_t c = 0;
	int fd;

	path_of(p, sizeof p, dir, rel);
	fd = open(p, O_RDWR);
	if (fd < 0 || pread(fd, &c, 1, at) != 1)
		tg_die("flip", p);
	c ^= 0x01;
	if (pwrite(fd, &c, 1, at) != 1)
		tg_die("flip", p);
	close(fd);
}

static off_t size_of(const char *dir, const char *rel)
{
	char p[4096];
	struct stat st;

	path_of(p, sizeof p, dir, rel);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static void resize(const char *dir, const char *rel, off_t n)
{
	char p[4096];

	path_of(p, sizeof p, dir, rel);
	if (truncate(p, n) < 0)
		tg_die("truncate", p);
}

static void append_byte(const char *dir, const char *rel)
{
	char p[4096];
	FILE *f;

	path_of(p, sizeof p, dir, rel);
	f = fopen(p, "ab");
	if (!f || fputc('x', f) == EOF || fclose(f) != 0)
		tg_die("append", p);
}

static void remove_file(const char *dir, const char *rel)
{
	char p[4096];

	path_of(p, sizeof p, dir, rel);
	if (unlink(p) < 0)
		tg_die("unlink", p);
}

/* A fresh directory holding l signed by key. */
static const char *fresh(const struct tg_log *l)
{
	const char *d = new_dir();

	tg_write_log(d, l, &key);
	return d;
}

/* A checkpoint file of the first m entries of l, signed by k. */
static const char *ckpt_file(const struct tg_log *l, uint64_t m, const struct tg_key *k)
{
	static char p[4][4096];
	static unsigned i;
	char note[NOTE_MAX_LEN];
	long n = tg_checkpoint(note, sizeof note, l, m, k);
	char *f = p[i++ % 4];

	snprintf(f, sizeof p[0], "%s/ckpt%u", root, ndirs++);
	if (n < 0)
		tg_die("checkpoint", "sign");
	tg_write(root, f + strlen(root) + 1, note, (size_t)n);
	return f;
}

static void test_good_sizes(void)
{
	static const uint64_t sizes[] = { 0, 1, 255, 256, 257, 600 };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct tg_log l;
		const char *d;
		char want[64];
		int rc;

		tg_log_make(&l, sizes[i], 1);
		d = fresh(&l);
		rc = verify(d, NULL, NULL, NULL);
		snprintf(want, sizeof want, "entries: %llu decoded", (unsigned long long)sizes[i]);
		if (!ok(rc == 0 && has("result: OK") && has(want), "size %llu verifies",
			(unsigned long long)sizes[i]))
			diag("exit %d, output:\n%s", rc, out);
		tg_log_free(&l);
	}
}

/* The text summary counts what the generator wrote. */
static void test_summary(void)
{
	struct tg_log l;
	const char *d;
	int rc;

	tg_log_make(&l, 14, 1);
	d = fresh(&l);
	rc = verify(d, NULL, NULL, NULL);
	ok(rc == 0 && has("entries: 14 decoded (boot 2, function 2, invocation 2, egress 2, "
			  "egress_refused 2, dns_refused 2, attestation 2)"), "summary: by type");
	ok(has("  api.example.com: 1 requests, 10 bytes up, 100 bytes down\n") &&
	   has("  db.example.net: 1 requests"), "summary: egress by host");
	ok(has("  dns evil.example: 2\n") && has("  egress api.example.com: 1\n"),
	   "summary: refusals");
	ok(has("  fn-a: deploy 1, update 0, delete 0, invocations 1, egress 1, refused 2\n") &&
	   has("  fn-b: deploy 0, update 1, delete 0, invocations 1, egress 1, refused 2\n"),
	   "summary: functions");
	if (tap_failed)
		diag("%s", out);
	tg_log_free(&l);
}

static void test_json(void)
{
	static jsmntok_t t[1 << 15];
	struct tg_log l;
	struct json_doc doc;
	const char *d;
	int rc, e, s;

	tg_log_make(&l, 257, 1);
	d = fresh(&l);
	rc = verify(d, "--json", NULL, NULL);
	is_int(rc, 0, "--json: exit 0");
	ok(json_parse(&doc, out, strlen(out), t, sizeof t / sizeof t[0]) == 0 &&
	   json_is(&doc, 0, JSMN_OBJECT), "--json: one object");
	e = json_get(&doc, 0, "entries");
	ok(json_is(&doc, e, JSMN_ARRAY) && doc.t[e].size == 257, "--json: 257 entries");
	ok(json_text_eq(&doc, json_get(&doc, 0, "ok"), "true"), "--json: ok true");
	s = json_get(&doc, 0, "summary");
	ok(json_text_eq(&doc, json_get(&doc, s, "entries"), "257"), "--json: summary.entries");
	ok(json_str_eq(&doc, json_get(&doc, json_elem(&doc, e, 6), "type"), "attestation"),
	   "--json: entry 6 is the attestation");

	/* a damaged entry: null at its index, the failure in "failures" */
	flip(d, "tile/entries/000", 2 + 0);  /* entry 0's version byte */
	rc = verify(d, "--json", NULL, NULL);
	ok(rc == 1 && json_parse(&doc, out, strlen(out), t, sizeof t / sizeof t[0]) == 0,
	   "--json, bad entry: exit 1, parses");
	e = json_get(&doc, 0, "entries");
	ok(json_is(&doc, e, JSMN_ARRAY) && doc.t[e].size == 257 &&
	   json_text_eq(&doc, json_elem(&doc, e, 0), "null"), "--json: entry 0 is null");
	ok(json_text_eq(&doc, json_get(&doc, 0, "ok"), "false") &&
	   json_is(&doc, json_get(&doc, 0, "failures"), JSMN_ARRAY) &&
	   has("entry 0 (tile/entries/000, byte offset 0)"), "--json: the failures named");
	tg_log_free(&l);
}

static void test_tamper(void)
{
	struct tg_log l, fork_l;
	const char *d;
	uint64_t order[TLOG_TILE_WIDTH];
	char wrong_vkey[NOTE_VKEY_MAX];
	off_t n;

	tg_log_make(&l, 257, 1);
	tg_log_make(&fork_l, 300, 2);

	d = fresh(&l);
	/* entry 3: its length prefix at 3 * (2 + len); byte 4 is in time_ns */
	flip(d, "tile/entries/000", (off_t)(l.off[3] + 3 * 2 + 2 + 4));
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/0/000: hash 3 (byte offset 96) is not the leaf hash of entry 3 "
		   "(tile/entries/000, byte offset", "flipped entry byte");
	ok(has("root: the 257 entries give root"), "flipped entry byte: the root differs");

	d = fresh(&l);
	flip(d, "tile/0/000", 100);
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/0/000: hash 3 (byte offset 96) is not the leaf hash of entry 3",
		   "flipped level-0 tile byte");
	ok(!has("root:"), "flipped tile byte: the root from the entries still matches");

	d = fresh(&l);
	flip(d, "tile/1/000.p/1", 31);
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/1/000.p/1: hash 0 (byte offset 0) is not the root of tile/0/000",
		   "flipped level-1 tile byte");

	d = fresh(&l);
	flip(d, "tile/0/001.p/1", 0);
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/0/001.p/1: hash 0 (byte offset 0) is not the leaf hash of entry 256",
		   "flipped partial tile byte");

	d = fresh(&l);
	flip(d, "checkpoint", 2);  /* in the origin */
	fails_with(verify(d, NULL, NULL, NULL), "checkpoint: note: the signature by dshield.test/log (",
		   "flipped checkpoint text byte");
	ok(has(") does not verify"), "flipped checkpoint text: the signature does not verify");
	ok(!has("read: "), "flipped checkpoint text: nothing read past it");

	d = fresh(&l);
	n = size_of(d, "checkpoint");
	flip(d, "checkpoint", n - 10);  /* in the signature's base64 */
	fails_with(verify(d, NULL, NULL, NULL), "checkpoint: note: the signature by dshield.test/log (",
		   "flipped signature byte");

	d = fresh(&l);
	note_key_vkey(&other_key.k, wrong_vkey, sizeof wrong_vkey);
	{
		const char *argv[] = { "log", "verify", d, "--key", wrong_vkey };
		fails_with(run(5, argv), "checkpoint: note: no signature by dshield.test/log (", "wrong key");
	}

	d = fresh(&l);
	for (unsigned i = 0; i < 255; i++)
		order[i] = i < 7 ? i : i + 1;  /* entry 7 dropped */
	tg_write_bundle(d, &l, 0, 256, order, 255);
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/entries/000: 255 entries, the tree size needs 256 here", "dropped entry");

	d = fresh(&l);
	for (unsigned i = 0; i < 256; i++)
		order[i] = i == 5 ? 9 : i == 9 ? 5 : i;
	tg_write_bundle(d, &l, 0, 256, order, 256);
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/0/000: hash 5 (byte offset 160) is not the leaf hash of entry 5", "reordered");
	ok(has("tile/0/000: hash 9 (byte offset 288) is not the leaf hash of entry 9") &&
	   has("root: "), "reordered: both entries and the root named");

	d = fresh(&l);
	resize(d, "tile/entries/001.p/1", size_of(d, "tile/entries/001.p/1") - 3);
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/entries/001.p/1: entry 256 (byte offset 0) is truncated",
		   "truncated bundle");
	ok(!has("root:"), "truncated bundle: went on with the tile's hashes, root matches");

	d = fresh(&l);
	remove_file(d, "tile/0/001.p/1");
	fails_with(verify(d, NULL, NULL, NULL), "tile/0/001.p/1: missing", "removed tile");

	d = fresh(&l);
	remove_file(d, "tile/1/000.p/1");
	fails_with(verify(d, NULL, NULL, NULL), "tile/1/000.p/1: missing", "removed level-1 tile");

	d = fresh(&l);
	remove_file(d, "tile/entries/000");
	remove_file(d, "tile/0/000");
	fails_with(verify(d, NULL, NULL, NULL),
		   "stopped at tile/entries/000: neither it nor tile/0/000 gives the leaf hashes",
		   "bundle and tile both gone");

	d = fresh(&l);
	remove_file(d, "checkpoint");
	fails_with(verify(d, NULL, NULL, NULL), "checkpoint: missing", "no checkpoint");

	d = fresh(&l);
	append_byte(d, "tile/0/000");
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/0/000: 8193 bytes, a tile of width 256 has 8192: trailing bytes from "
		   "byte offset 8192", "trailing byte on a tile");

	d = fresh(&l);
	n = size_of(d, "tile/entries/001.p/1");
	append_byte(d, "tile/entries/001.p/1");
	{
		char want[128];
		snprintf(want, sizeof want,
			 "tile/entries/001.p/1: 1 bytes after its 1 entries, from byte offset %lld",
			 (long long)n);
		fails_with(verify(d, NULL, NULL, NULL), want, "trailing byte on a bundle");
	}

	d = fresh(&l);
	append_byte(d, "checkpoint");
	fails_with(verify(d, NULL, NULL, NULL), "checkpoint: note: does not end in a newline",
		   "trailing byte on the checkpoint");

	tg_log_free(&fork_l);
	tg_log_free(&l);
}

static void test_trusted(void)
{
	struct tg_log l, other, longer;
	const char *d;

	tg_log_make(&l, 257, 1);
	tg_log_make(&other, 257, 2);
	tg_log_make(&longer, 300, 1);
	d = fresh(&l);

	static const uint64_t prefixes[] = { 0, 1, 100, 256, 257 };
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		int rc = verify(d, "--trusted-checkpoint", ckpt_file(&l, prefixes[i], &key), NULL);
		if (!ok(rc == 0 && has("the log extends it"), "trusted checkpoint of size %llu: consistent",
			(unsigned long long)prefixes[i]))
			diag("exit %d:\n%s", rc, out);
	}

	fails_with(verify(d, "--trusted-checkpoint", ckpt_file(&other, 257, &key), NULL),
		   "fork: the trusted checkpoint and the log's both have size 257, with different "
		   "roots", "fork at the same size");

	fails_with(verify(d, "--trusted-checkpoint", ckpt_file(&other, 100, &key), NULL),
		   "fork: the trusted checkpoint (size 100, root", "older checkpoint not a prefix");
	ok(has("consistency proof 100 -> 257 from the tiles does not verify"),
	   "not a prefix: the consistency proof from the tiles fails too");
	ok(has("NOT consistent"), "not a prefix: the text says so");

	fails_with(verify(d, "--trusted-checkpoint", ckpt_file(&longer, 300, &key), NULL),
		   "trusted checkpoint: size 300 is larger than the log's 257: the log went backwards",
		   "trusted checkpoint larger");

	fails_with(verify(d, "--trusted-checkpoint", ckpt_file(&l, 100, &other_key), NULL),
		   ": note: no signature by dshield.test/log (", "trusted checkpoint by another key");

	/* another origin, long, against a log whose origin is not ASCII: the
	 * message is cut inside an "\xc3\xa9" and must end before it so that
	 * the output (and the JSON) stays valid UTF-8 (a 254-byte origin puts
	 * the 319-byte cut on the second byte of one) */
	{
		static jsmntok_t t[1 << 12];
		static struct tg_key k3;
		struct tg_log small;
		struct json_doc doc;
		char name[201], origin[254], note[NOTE_MAX_LEN], tp[4096];
		struct checkpoint c = { origin, sizeof origin, 1, { 0 }, NULL, 0 };
		const char *d3 = new_dir();
		long n;

		for (size_t i = 0; i < 200; i += 2)
			memcpy(name + i, "\xc3\xa9", 2);
		name[200] = '\0';
		memset(origin, 'x', sizeof origin);
		tg_key_init(&k3, name, "a third key");
		tg_log_make(&small, 3, 1);
		tg_write_log(d3, &small, &k3);
		n = checkpoint_sign(note, sizeof note, &c, &k3.k, &k3.sk);
		if (n < 0)
			tg_die("checkpoint", "sign");
		snprintf(tp, sizeof tp, "%s/ckpt-origin", root);
		tg_write(root, "ckpt-origin", note, (size_t)n);
		for (int json = 0; json < 2; json++) {
			const char *argv[] = { "log", "verify", d3, "--key", k3.vkey,
					       "--trusted-checkpoint", tp, "--json" };
			size_t at = 0, len;
			bool valid = true;
			int rc = run(7 + json, argv);

			len = strlen(out);
			while (at < len && valid)
				valid = utf8_next((const unsigned char *)out, len, &at) >= 0;
			bool named = has(json ? "trusted checkpoint: origin \\\"xxx"
					      : "trusted checkpoint: origin \"xxx");

			ok(rc == 1 && valid && named,
			   "another origin%s: exit 1, named, valid UTF-8", json ? ", --json" : "");
			if (json)
				ok(json_parse(&doc, out, len, t, sizeof t / sizeof t[0]) == 0,
				   "another origin, --json: parses");
		}
		tg_log_free(&small);
	}

	{
		const char *argv[] = { "log", "verify", d, "--key", key.vkey,
				       "--trusted-checkpoint", "/nonexistent/ckpt" };
		is_int(run(7, argv), 2, "unreadable --trusted-checkpoint: exit 2");
	}
	tg_log_free(&l);
	tg_log_free(&other);
	tg_log_free(&longer);
}

static void test_usage(void)
{
	struct tg_log l;
	const char *d;
	char kf[4096];

	tg_log_make(&l, 3, 1);
	d = fresh(&l);
	{
		const char *a[] = { "log" };
		is_int(run(1, a), 2, "no subcommand: exit 2");
	}
	{
		const char *a[] = { "log", "frobnicate" };
		is_int(run(2, a), 2, "unknown subcommand: exit 2");
	}
	{
		const char *a[] = { "log", "verify", d };
		is_int(run(3, a), 2, "no key: exit 2");
	}
	{
		const char *a[] = { "log", "verify", "--key", key.vkey };
		is_int(run(4, a), 2, "no DIR: exit 2");
	}
	{
		const char *a[] = { "log", "verify", d, "--key", "bogus+00000000+AA==" };
		is_int(run(5, a), 2, "bad vkey: exit 2");
	}
	{
		const char *a[] = { "log", "verify", d, "--key", key.vkey, "--frob" };
		is_int(run(6, a), 2, "unknown option: exit 2");
	}
	{
		const char *a[] = { "log", "verify", "--help" };
		ok(run(3, a) == 0 && has("URL (http://HOST"), "--help: exit 0, names the URL form");
	}
	snprintf(kf, sizeof kf, "%s/vkey", root);
	{
		char line[NOTE_VKEY_MAX + 1];
		snprintf(line, sizeof line, "%s\n", key.vkey);
		tg_write(root, "vkey", line, strlen(line));
		const char *a[] = { "log", "verify", d, "--key-file", kf };
		is_int(run(5, a), 0, "--key-file: exit 0");
	}
	{
		const char *a[] = { "log", "verify", "/nonexistent-dir", "--key", key.vkey };
		fails_with(run(5, a), "/nonexistent-dir: missing", "missing DIR");
	}
	tg_log_free(&l);
}

/* A directory an attacker prepared: nothing is followed out of it, nothing
 * blocks, nothing big is read. */
static void test_hostile(void)
{
	struct tg_log l;
	const char *d;
	char p[4096], q[4096];

	tg_log_make(&l, 257, 1);

	d = fresh(&l);
	path_of(p, sizeof p, d, "tile/0/000");
	snprintf(q, sizeof q, "%s/outside", root);
	tg_write(root, "outside", "x", 1);
	unlink(p);
	if (symlink(q, p) < 0)
		tg_die("symlink", p);
	fails_with(verify(d, NULL, NULL, NULL), "tile/0/000: a symbolic link (not followed)",
		   "symlinked tile");

	d = fresh(&l);
	path_of(p, sizeof p, d, "tile/1");
	path_of(q, sizeof q, d, "tile/1real");
	if (rename(p, q) < 0 || symlink("1real", p) < 0)
		tg_die("symlink", p);
	fails_with(verify(d, NULL, NULL, NULL), "tile/1/000.p/1: a symbolic link (not followed)",
		   "symlinked directory");

	d = fresh(&l);
	path_of(p, sizeof p, d, "checkpoint");
	unlink(p);
	if (symlink(q, p) < 0)
		tg_die("symlink", p);
	fails_with(verify(d, NULL, NULL, NULL), "checkpoint: a symbolic link", "symlinked checkpoint");

	d = fresh(&l);
	path_of(p, sizeof p, d, "tile/0/001.p/1");
	unlink(p);
	if (mkfifo(p, 0600) < 0)
		tg_die("mkfifo", p);
	fails_with(verify(d, NULL, NULL, NULL), "tile/0/001.p/1: not a regular file", "FIFO tile");

	d = fresh(&l);
	resize(d, "checkpoint", (off_t)1 << 30);
	fails_with(verify(d, NULL, NULL, NULL),
		   "checkpoint: 1073741824 bytes, more than a signed note may have",
		   "huge sparse checkpoint");

	d = fresh(&l);
	resize(d, "tile/entries/000", (off_t)1 << 40);
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/entries/000: 1099511627776 bytes, more than a bundle can hold",
		   "huge sparse bundle");

	/* a validly signed checkpoint claiming 2^62 entries over 257 of them */
	d = fresh(&l);
	{
		char note[NOTE_MAX_LEN];
		struct checkpoint c = { key.k.name, key.k.name_len, (uint64_t)1 << 62, { 0 }, NULL, 0 };
		long n = checkpoint_sign(note, sizeof note, &c, &key.k, &key.sk);
		if (n < 0)
			tg_die("checkpoint", "sign");
		tg_write(d, "checkpoint", note, (size_t)n);
	}
	fails_with(verify(d, NULL, NULL, NULL), "stopped at tile/entries/001: neither it nor tile/0/001",
		   "huge claimed size stops at the first missing tile");

	d = fresh(&l);
	path_of(p, sizeof p, d, "tile/0/000");
	if (unlink(p) < 0 || mkdir(p, 0755) < 0)
		tg_die("mkdir", p);
	fails_with(verify(d, NULL, NULL, NULL), "tile/0/000: not a regular file", "directory as a tile");
	tg_log_free(&l);
}

/* 70,000 entries: 273 full level-0 tiles, tiles at levels 0..2. */
static void test_large(void)
{
	struct tg_log l;
	const char *d;
	int rc;

	tg_log_make(&l, 70000, 1);
	d = fresh(&l);
	rc = verify(d, NULL, NULL, NULL);
	ok(rc == 0 && has("read: 277 tiles, 274 entry bundles") && has("entries: 70000 decoded"),
	   "70,000 entries verify");
	if (rc)
		diag("%s", out);
	rc = verify(d, "--trusted-checkpoint", ckpt_file(&l, 65537, &key), NULL);
	ok(rc == 0 && has("the log extends it"), "70,000: consistent with 65,537");
	flip(d, "tile/2/000.p/1", 5);
	fails_with(verify(d, NULL, NULL, NULL),
		   "tile/2/000.p/1: hash 0 (byte offset 0) is not the root of tile/1/000",
		   "70,000: flipped level-2 tile");
	tg_log_free(&l);
}

/* An attestation JSON as /v1/attestation answers it: a sim quote whose
 * REPORTDATA binds (nonce, log key k's SPKI hash), and k as its log_key.
 * tamper 1: the preimage names another hash; 2: log_key is another key. */
static const char *attestation_ckpt(const struct tg_key *k, int tamper, const char *note);

static const char *attestation_for(const struct tg_key *k, int tamper)
{
	return attestation_ckpt(k, tamper, NULL);
}

/* The same, vouching for the checkpoint note (REPORTDATA slot 5, shown as
 * "checkpoint"); tamper 3: the shown note differs from the slot's. */
static const char *attestation_ckpt(const struct tg_key *k, int tamper, const char *note)
{
	static char path[4200], json[12288], shown[2048], slot[2048];
	static uint8_t q[4096];
	static const uint8_t nonce[2] = { 0xab, 0xcd };
	uint8_t h[32], rd[RD_LEN];
	char b64[6000], hh[65];
	struct reportdata_in in;
	br_sha256_context c;
	size_t n;
	FILE *f;

	br_sha256_init(&c);
	br_sha256_update(&c, k->k.spki, sizeof k->k.spki);
	br_sha256_out(&c, h);
	memset(&in, 0, sizeof in);
	in.f[RD_NONCE - 1] = (struct rd_value){ true, nonce, sizeof nonce };
	in.f[RD_LOG_KEY_SHA256 - 1] = (struct rd_value){ true, h, 32 };
	if (note != NULL) {
		size_t o = 0, len = strlen(note);
		in.f[RD_CHECKPOINT - 1] = (struct rd_value){ true, (const uint8_t *)note, len };
		if (2 * len + 3 > sizeof shown)
			return NULL;
		slot[0] = '"';
		hex_encode(slot + 1, note, len);
		memcpy(slot + 1 + 2 * len, "\"", 2);
		shown[o++] = '"';
		for (size_t i = 0; i < len; i++) {
			if (note[i] == '\n') {
				shown[o++] = '\\';
				shown[o++] = 'n';
			} else {
				shown[o++] = note[i];
			}
		}
		if (tamper == 3)
			shown[2] ^= 1;
		memcpy(shown + o, "\"", 2);
	} else {
		snprintf(slot, sizeof slot, "null");
		snprintf(shown, sizeof shown, "null");
	}
	if (reportdata_compute(&in, rd) < 0)
		return NULL;
	n = td_build_sim_quote(q, sizeof q, rd);
	if (BASE64_ENCODED_LEN(n) >= sizeof b64)
		return NULL;
	b64[base64_encode(b64, q, n)] = '\0';
	if (tamper == 1)
		h[0] ^= 1;
	hex_encode(hh, h, 32);
	snprintf(json, sizeof json, "{\"backend\":\"sim\",\"quote\":\"%s\",\"event_log\":[],"
		 "\"log_key\":\"%s\",\"checkpoint\":%s,\"report_data_preimage\":{\"nonce\":\"abcd\","
		 "\"manifest_sha256\":null,\"api_tls_spki_sha256\":null,\"log_key_sha256\":\"%s\","
		 "\"checkpoint\":%s}}\n", b64, tamper == 2 ? other_key.vkey : k->vkey, shown, hh, slot);
	snprintf(path, sizeof path, "%s/attestation-%d.json", root, tamper);
	f = fopen(path, "w");
	if (f == NULL)
		return NULL;
	fputs(json, f);
	fclose(f);
	return path;
}

/* --attestation: the key is trusted only through a verified quote. */
static void test_attestation(void)
{
	struct tg_log l;
	const char *d, *att;
	int rc;

	tg_log_make(&l, 300, 1);
	d = fresh(&l);
	att = attestation_for(&key, 0);
	const char *a1[] = { "log", "verify", d, "--attestation", att, "--allow-sim", "--no-collateral" };
	rc = run(7, a1);
	if (!ok(rc == 0 && has("binds the log key") && has("result: OK"),
		"--attestation: a log signed by the key a verified quote binds: exit 0"))
		diag("exit %d, output:\n%s", rc, out);
	const char *a2[] = { "log", "verify", d, "--attestation", att, "--allow-sim" };
	rc = run(6, a2);
	ok(rc == 1 && has("not evaluated") && has("its key is not trusted"),
	   "--attestation without --no-collateral: the quote is not OK, exit 1");
	const char *a3[] = { "log", "verify", d, "--attestation", att, "--no-collateral" };
	rc = run(6, a3);
	ok(rc == 1 && has("quote.sim"), "--attestation of a sim quote without --allow-sim: exit 1");
	att = attestation_for(&key, 1);
	const char *a4[] = { "log", "verify", d, "--attestation", att, "--allow-sim", "--no-collateral" };
	rc = run(7, a4);
	ok(rc == 1 && has("report_data.preimage") && has("differs"),
	   "a preimage that is not the quote's: exit 1, naming report_data.preimage");
	att = attestation_for(&key, 2);
	const char *a5[] = { "log", "verify", d, "--attestation", att, "--allow-sim", "--no-collateral" };
	rc = run(7, a5);
	ok(rc == 1 && has("log_key.binding"), "a log_key the quote does not bind: exit 1, naming log_key.binding");
	att = attestation_for(&other_key, 0);
	const char *a6[] = { "log", "verify", d, "--attestation", att, "--allow-sim", "--no-collateral" };
	rc = run(7, a6);
	ok(rc == 1 && has("binds the log key") && has("checkpoint"),
	   "a verified attestation of another key: the checkpoint does not verify, exit 1");
	/* the checkpoint the attestation vouches for is the trusted one */
	{
		static char note[NOTE_MAX_LEN];
		struct tg_log fork;
		const char *a9[] = { "log", "verify", d, "--attestation", NULL, "--allow-sim",
				     "--no-collateral" };
		tg_checkpoint(note, sizeof note, &l, 200, &key);
		a9[4] = attestation_ckpt(&key, 0, note);
		rc = run(7, a9);
		if (!ok(rc == 0 && has("vouches for the checkpoint of size 200") &&
			has("the log extends it"),
			"--attestation with a checkpoint: trusted, the log extends it, exit 0"))
			diag("exit %d, output:\n%s", rc, out);
		tg_log_make(&fork, 300, 2);
		tg_checkpoint(note, sizeof note, &fork, 300, &key);
		a9[4] = attestation_ckpt(&key, 0, note);
		rc = run(7, a9);
		ok(rc == 1 && has("fork"), "an attested checkpoint of another tree: a fork, exit 1");
		tg_log_free(&fork);
		tg_checkpoint(note, sizeof note, &l, 200, &key);
		a9[4] = attestation_ckpt(&key, 3, note);
		rc = run(7, a9);
		ok(rc == 1 && has("checkpoint.binding"),
		   "a shown checkpoint that is not the quote's: exit 1, naming checkpoint.binding");
	}
	const char *a7[] = { "log", "verify", d, "--key", key.vkey, "--allow-sim" };
	is_int(run(6, a7), 2, "--allow-sim without --attestation: usage error");
	const char *a8[] = { "log", "verify", d, "--key", key.vkey, "--attestation", att };
	is_int(run(7, a8), 2, "--key and --attestation together: usage error");
	tg_log_free(&l);
}

int main(void)
{
	char cmd[4200];

	if (!mkdtemp(root))
		tg_die("mkdtemp", root);
	snprintf(out_path, sizeof out_path, "%s/out", root);
	tg_key_init(&key, "dshield.test/log", "dshield test log key");
	tg_key_init(&other_key, "dshield.test/log", "another key");

	test_good_sizes();
	test_summary();
	test_json();
	test_tamper();
	test_trusted();
	test_usage();
	test_hostile();
	test_large();
	test_attestation();

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		diag("could not remove %s", root);
	return tap_done();
}
