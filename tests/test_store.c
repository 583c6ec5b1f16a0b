/* tests/test_store.c: sandboxd's store of functions, secrets and tokens
 * (sandboxd/store.h) in a temporary directory: round trips, the policy's
 * bound on functions, code shared and collected, an interrupted write
 * leaving the old version, and corrupt or foreign files reported with
 * their path; secrets sealed with AES-256-GCM (known answers from
 * Python's cryptography AESGCM; tamper, wrong key, swapped name, a
 * sealing the store does not have, all refused). */
#include "sandboxd/store.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "tests/tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char POLICY[] =
	"{\"format\":1,\"admin_token_sha256\":\"" H "\","
	"\"functions\":{\"runtimes\":[\"python\",\"node\"],\"max\":2},"
	"\"egress\":[{\"host\":\"api.example.com\",\"ports\":[443],\"purpose\":\"a\"}]}";

static struct policy_tokens ptoks;
static struct policy pol, narrow;
static struct fn_decl_tokens toks;
static struct store st;
static struct fn_decl d, got;
static char err[ERRBUF_LEN], dir[64], path[256];
static unsigned char chunk[4096];
static char reports[8][256];
static int nreports;

static void on_report(void *arg, const char *p, const char *why)
{
	(void)arg;
	if (nreports < 8)
		snprintf(reports[nreports], sizeof reports[0], "%s: %s", p, why);
	nreports++;
}
static const struct store_report rep = { on_report, NULL };

/* d from a v1 body with this id and code text; *fd its code in a memfd. */
static int deploy(const char *id, const char *code_b64, int *fd)
{
	char body[512];
	struct fn_error e;
	int n = snprintf(body, sizeof body,
			 "{\"id\":\"%s\",\"runtime\":\"python\",\"code\":\"%s\",\"egress\":[\"api.example.com\"],"
			 "\"secrets\":[\"API_KEY\"]}", id, code_b64);
	if (fn_decl_parse(body, (size_t)n, FN_SHAPE_V1, &pol, &toks, &d, &e) != 0)
		return -1;
	*fd = memfd_create("code", MFD_CLOEXEC);
	return fn_code_write(*fd, body, &d, chunk, sizeof chunk) < 0 ? -1 : 0;
}

static int count_files(const char *sub)
{
	char p[128];
	int n = 0;
	struct dirent *de;
	snprintf(p, sizeof p, "%s/%s", dir, sub);
	DIR *dd = opendir(p);
	while (dd && (de = readdir(dd)) != NULL)
		n += de->d_name[0] != '.';
	if (dd)
		closedir(dd);
	return n;
}

static void put_file(const char *rel, const char *text)
{
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		file_write_all(fd, text, strlen(text));
		close(fd);
	}
}

static void test_functions(void)
{
	int64_t c, u;
	int fd, fd2;
	char code[64] = "";
	char names[4][STORE_NAME_MAX + 1];

	ok(deploy("alpha", "YWJj", &fd) == 0, "a deployment (abc)");
	is_int(store_fn_put(&st, &d, fd, true, 1000, err), 0, "stored (%s)", err);
	is_int(store_fn_put(&st, &d, fd, true, 1001, err), -EEXIST, "created twice: -EEXIST");
	is_int(store_fn_get(&st, "alpha", &got, &c, &u, err), 0, "read back (%s)", err);
	ok(memcmp(got.code_sha256, d.code_sha256, 32) == 0 && got.negress == 1 && got.nsecrets == 1 &&
	   strcmp(got.egress[0], "api.example.com") == 0, "the same declaration");
	ok(c == 1000 && u == 1000, "dates");
	fd2 = store_fn_code_open(&st, &got, err);
	ok(fd2 >= 0 && read(fd2, code, sizeof code) == 3 && strcmp(code, "abc") == 0, "its code");
	close(fd2);
	close(fd);
	is_int(count_files("code"), 1, "one code file");

	ok(deploy("beta", "YWJj", &fd) == 0, "a second function, same code");
	is_int(store_fn_put(&st, &d, fd, false, 1002, err), -ENOENT, "an update of a missing function: -ENOENT");
	is_int(store_fn_put(&st, &d, fd, true, 1002, err), 0, "stored");
	is_int(count_files("code"), 1, "the code is shared");
	close(fd);
	ok(deploy("gamma", "eHl6", &fd) == 0, "a third");
	is_int(store_fn_put(&st, &d, fd, true, 1003, err), -ENOSPC, "beyond the policy's functions.max: -ENOSPC");
	ok(strstr(err, "functions.max is 2") != NULL, "... says so (%s)", err);
	close(fd);
	is_int(store_list(&st, STORE_FUNCTIONS, names, 4, &rep, err), 2, "two listed");
	ok(strcmp(names[0], "alpha") == 0 && strcmp(names[1], "beta") == 0, "sorted");
	is_int(store_list(&st, STORE_FUNCTIONS, names, 1, &rep, err), -ENOSPC, "a listing larger than its room");

	/* An update with new code: dates, and the old code stays for beta. */
	ok(deploy("alpha", "eHl6", &fd) == 0, "alpha's new code (xyz)");
	is_int(store_fn_put(&st, &d, fd, false, 2000, err), 0, "updated");
	close(fd);
	is_int(store_fn_get(&st, "alpha", &got, &c, &u, err), 0, "read back");
	ok(c == 1000 && u == 2000, "created kept, updated moved");
	is_int(count_files("code"), 2, "two code files (beta still names abc)");
	is_int(store_fn_del(&st, "beta", err), 0, "beta deleted");
	is_int(count_files("code"), 1, "abc collected with its last function");
	is_int(store_fn_get(&st, "beta", &got, &c, &u, err), -ENOENT, "beta is gone");
	is_int(store_fn_del(&st, "beta", err), -ENOENT, "deleted twice: -ENOENT");

	/* Code that is not the declaration's. */
	ok(deploy("delta", "YWJj", &fd) == 0, "delta");
	int other = memfd_create("other", MFD_CLOEXEC);
	file_write_all(other, "abd", 3);
	is_int(store_fn_put(&st, &d, other, true, 3000, err), -EBADMSG, "code bytes that do not hash to the declaration");
	ok(strstr(err, "/code/") != NULL, "... named by its path (%s)", err);
	file_write_all(other, "x", 1);
	is_int(store_fn_put(&st, &d, other, true, 3000, err), -EBADMSG, "more bytes than declared");
	close(other);
	close(fd);
	is_int(count_files("code"), 1, "nothing left behind");
	is_int(count_files("functions"), 1, "no record either");

	is_int(store_fn_get(&st, "../alpha", &got, &c, &u, err), -EINVAL, "a name with a path in it");
	is_int(store_fn_get(&st, "", &got, &c, &u, err), -EINVAL, "an empty name");
	is_int(store_fn_del(&st, "..", err), -EINVAL, "deleting \"..\"");
}

/* A write interrupted between the temp file and the rename (a crash)
 * leaves the old version; the next open removes the temp file. */
static void test_interrupted(void)
{
	int64_t c, u;
	char file[] = "alpha.json";

	is_int(store_fn_get(&st, "alpha", &d, &c, &u, err), 0, "alpha before");
	is_int(store_tmp_write(st.kfd[STORE_FUNCTIONS], file, "{\"half\":", 8), 0, "a new version written, not renamed");
	is_int(count_files("functions"), 1, "(the temp file is hidden)");
	is_int(store_fn_get(&st, "alpha", &got, &c, &u, err), 0, "alpha still reads");
	ok(memcmp(&got, &d, sizeof d) == 0 && u == 2000, "as the old version");
	store_close(&st);
	nreports = 0;
	is_int(store_open(&st, dir, &pol, NULL, &rep, err), 0, "reopened");
	is_int(nreports, 1, "one report");
	ok(strstr(reports[0], "/functions/.tmp-alpha.json: removed") != NULL, "the temp file, by path (%s)", reports[0]);
	snprintf(path, sizeof path, "%s/functions/.tmp-alpha.json", dir);
	ok(access(path, F_OK) != 0, "and it is gone");
	is_int(store_fn_get(&st, "alpha", &got, &c, &u, err), 0, "alpha after");
	ok(memcmp(&got, &d, sizeof d) == 0, "unchanged");

	/* The same write, completed: the new bytes, whole. */
	is_int(store_tmp_write(st.kfd[STORE_FUNCTIONS], file, "{\"half\":", 8), 0, "again");
	is_int(store_tmp_commit(st.kfd[STORE_FUNCTIONS], file), 0, "renamed this time");
	is_int(store_fn_get(&st, "alpha", &got, &c, &u, err), -EBADMSG, "the new (corrupt) version is what reads");
}

struct corrupt {
	const char *file, *text, *why;
};

static void test_corrupt(void)
{
	int64_t c, u;
	char canon[FN_DECL_CANON_MAX + 1], rec[FN_DECL_CANON_MAX + 128];
	long n;
	int fd;

	/* A good record to mutate. */
	ok(deploy("alpha", "YWJj", &fd) == 0, "alpha again");
	is_int(store_fn_put(&st, &d, fd, false, 5000, err), 0, "repaired by an update (%s)", err);
	close(fd);
	n = fn_decl_write(&d, canon, sizeof canon);
	ok(n > 0, "canonical declaration");

	snprintf(rec, sizeof rec, "{\"created\":1,\"updated\":2,\"declaration\":%s}", canon);
	put_file("functions/other.json", rec);
	is_int(store_fn_get(&st, "other", &got, &c, &u, err), -EBADMSG, "a record under another function's name");
	ok(strstr(err, "/functions/other.json: holds function \"alpha\"") != NULL, "%s", err);

	snprintf(rec, sizeof rec, "{\"created\":1,\"updated\":2,\"declaration\": %s}", canon);
	put_file("functions/other.json", rec);
	is_int(store_fn_get(&st, "other", &got, &c, &u, err), -EBADMSG, "a declaration not in canonical form");
	ok(strstr(err, "/functions/other.json: ") != NULL, "%s", err);

	static const struct corrupt bad[] = {
		{ "functions/other.json", "", "not a JSON object" },
		{ "functions/other.json", "[1]", "not a JSON object" },
		{ "functions/other.json", "{\"created\":1,\"updated\":2}", "declaration: required" },
		{ "functions/other.json", "{\"created\":-1,\"updated\":2,\"declaration\":{}}", "created: must be" },
		{ "functions/other.json", "{\"created\":1,\"updated\":2,\"declaration\":{},\"x\":1}", "x: unknown field" },
		{ "functions/other.json", "{\"created\":1,\"updated\":2,\"declaration\":{\"format\":1}}", "declaration.id: required" },
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		put_file(bad[k].file, bad[k].text);
		int r = store_fn_get(&st, "other", &got, &c, &u, err);
		ok(r == -EBADMSG && strstr(err, "/functions/other.json: ") && strstr(err, bad[k].why),
		   "corrupt %zu: %s", k, err);
	}
	/* Too large, a link, a directory. */
	static char big[STORE_REC_MAX + 2];
	memset(big, ' ', sizeof big - 1);
	put_file("functions/other.json", big);
	is_int(store_fn_get(&st, "other", &got, &c, &u, err), -EBADMSG, "a record too large");
	ok(strstr(err, "larger than") != NULL, "%s", err);
	snprintf(path, sizeof path, "%s/functions/other.json", dir);
	unlink(path);
	ok(symlink("/etc/passwd", path) == 0, "a symbolic link in its place");
	is_int(store_fn_get(&st, "other", &got, &c, &u, err), -EBADMSG, "is refused");
	ok(strstr(err, "symbolic link") != NULL, "%s", err);
	unlink(path);
	/* A stored function above a narrower policy. */
	struct store st2;
	narrow = pol;
	narrow.max_limits.memory_mb = 32;
	narrow.default_limits.memory_mb = 32;
	narrow.default_limits.tmp_mb = 8;
	is_int(store_open(&st2, dir, &narrow, NULL, NULL, err), 0, "the store under a narrower policy");
	is_int(store_fn_get(&st2, "alpha", &got, &c, &u, err), -EBADMSG, "alpha no longer fits");
	ok(strstr(err, "declaration.limits.memory_mb: 128 is above") != NULL, "%s", err);
	store_close(&st2);

	/* Foreign files are reported by a listing, and skipped. */
	char names[4][STORE_NAME_MAX + 1];
	put_file("functions/README", "hello");
	put_file("functions/Bad.json", "{}");
	nreports = 0;
	is_int(store_list(&st, STORE_FUNCTIONS, names, 4, &rep, err), 1, "one function listed");
	is_int(nreports, 2, "two foreign files reported");
	ok(strstr(reports[0], "/functions/") && strstr(reports[0], "not a file of the store"), "%s", reports[0]);
}

static void test_secrets(void)
{
	static char val[FN_SECRET_VALUE_MAX + 1];
	static char big[FN_SECRET_VALUE_MAX];
	char names[4][STORE_NAME_MAX + 1];
	int64_t c, u;
	size_t len;

	is_int(store_secret_put(&st, "API_KEY", "sk-...", 6, 100, err), 0, "secret stored");
	is_int(store_secret_get(&st, "API_KEY", val, sizeof val, &len, &c, &u, err), 0, "read back");
	ok(len == 6 && memcmp(val, "sk-...", 6) == 0 && c == 100 && u == 100, "value and dates");
	is_int(store_secret_put(&st, "API_KEY", "v2", 2, 200, err), 0, "replaced");
	is_int(store_secret_get(&st, "API_KEY", val, sizeof val, &len, &c, &u, err), 0, "read back");
	ok(len == 2 && memcmp(val, "v2", 2) == 0 && c == 100 && u == 200, "new value, created kept");
	memset(big, 0xff, sizeof big);
	is_int(store_secret_put(&st, "BIG", big, sizeof big, 1, err), 0, "the largest value (%s)", err);
	is_int(store_secret_get(&st, "BIG", val, sizeof val, &len, NULL, NULL, err), 0, "read back");
	ok(len == sizeof big && memcmp(val, big, len) == 0, "whole");
	is_int(store_secret_put(&st, "BIG", big, sizeof big + 1, 1, err), -EINVAL, "one byte more");
	is_int(store_secret_put(&st, "lower", "v", 1, 1, err), -EINVAL, "a bad name");
	is_int(store_secret_put(&st, "A", "a\0b", 3, 1, err), -EINVAL, "a NUL in the value");
	is_int(store_list(&st, STORE_SECRETS, names, 4, NULL, err), 2, "two listed");
	ok(strcmp(names[0], "API_KEY") == 0 && strcmp(names[1], "BIG") == 0, "sorted");
	put_file("secrets/SEALED.json",
		 "{\"format\":1,\"name\":\"SEALED\",\"created\":1,\"updated\":1,\"sealing\":\"aes-gcm\",\"value\":\"eA==\"}");
	is_int(store_secret_get(&st, "SEALED", val, sizeof val, &len, NULL, NULL, err), -EBADMSG,
	       "a sealing this build does not know");
	ok(strstr(err, "/secrets/SEALED.json: sealing: not a sealing") != NULL, "%s", err);
	put_file("secrets/SEALED.json",
		 "{\"format\":1,\"name\":\"SEALED\",\"created\":1,\"updated\":1,\"sealing\":\"aes-256-gcm\",\"value\":\"eA==\"}");
	is_int(store_secret_get(&st, "SEALED", val, sizeof val, &len, NULL, NULL, err), -EBADMSG,
	       "a sealed secret in a store without a key: unreadable");
	ok(strstr(err, "no key to open it") != NULL, "%s", err);
	unlink(path);
	put_file("secrets/OTHER.json",
		 "{\"format\":1,\"name\":\"API_KEY\",\"created\":1,\"updated\":1,\"sealing\":\"none\",\"value\":\"eA==\"}");
	is_int(store_secret_get(&st, "OTHER", val, sizeof val, &len, NULL, NULL, err), -EBADMSG, "another secret's record");
	put_file("secrets/OTHER.json",
		 "{\"format\":1,\"name\":\"OTHER\",\"created\":1,\"updated\":1,\"sealing\":\"none\",\"value\":\"AA==\"}");
	is_int(store_secret_get(&st, "OTHER", val, sizeof val, &len, NULL, NULL, err), -EBADMSG, "a stored NUL");
	ok(strstr(err, "value: must be") != NULL, "%s", err);
	is_int(store_secret_del(&st, "API_KEY", err), 0, "deleted");
	is_int(store_secret_get(&st, "API_KEY", val, sizeof val, &len, NULL, NULL, err), -ENOENT, "gone");
}

/* AESGCM(key = 00..1f).encrypt(nonce = a0..ab, b"sk-live-1234",
 * b"dshield-store/v1 secret API_KEY").hex(), Python's cryptography 48.0.0 */
static const char KAT_SEALED[] =
	"a0a1a2a3a4a5a6a7a8a9aaab"                                  /* the nonce */
	"957351412cbd67925357b4e7" "8fa1172aab5933d1ffd977ad355dd9d9"; /* ct, tag */

static void test_seal_kat(void)
{
	uint8_t key[32], key2[32], nonce[12], box[12 + 12 + 16], want[sizeof box];
	char out[16];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 12; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	hex_decode(want, sizeof want, KAT_SEALED, strlen(KAT_SEALED));
	store_seal(key, nonce, "API_KEY", "sk-live-1234", 12, box);
	ok(memcmp(box, want, sizeof box) == 0, "seal: Python's AESGCM known answer (nonce, ct, tag)");
	is_int(store_unseal(key, "API_KEY", box, sizeof box, out), 12, "unseal: 12 bytes");
	ok(memcmp(out, "sk-live-1234", 12) == 0, "unseal: the value");
	for (size_t i = 0; i < sizeof box; i++) {
		box[i] ^= 0x01;
		long r = store_unseal(key, "API_KEY", box, sizeof box, out);
		box[i] ^= 0x01;
		if (r != -EBADMSG) {
			ok(0, "every one-bit change (nonce, ciphertext, tag) is refused: byte %zu", i);
			return;
		}
	}
	ok(1, "every one-bit change (nonce, ciphertext, tag) is refused");
	memcpy(key2, key, sizeof key2);
	key2[31] ^= 0x80;
	is_int(store_unseal(key2, "API_KEY", box, sizeof box, out), -EBADMSG, "another key: refused");
	ok(out[0] == 0 && out[11] == 0, "and nothing of the value is left in out");
	is_int(store_unseal(key, "API_KEY2", box, sizeof box, out), -EBADMSG,
	       "another name (the AAD): refused");
	is_int(store_unseal(key, "API_KEY", box, sizeof box - 1, out), -EBADMSG, "one byte short: refused");
	is_int(store_unseal(key, "API_KEY", box, 27, out), -EINVAL, "shorter than nonce and tag");
	is_int(store_unseal(key, "API_KEY", box, 28, out), -EBADMSG, "an empty value under a foreign tag");
}

/* The bytes of file rel under d into buf (NUL-terminated); the length. */
static long slurp(const char *d_, const char *rel, char *buf, size_t cap)
{
	char p[320];
	snprintf(p, sizeof p, "%s/%s", d_, rel);
	long n = file_read(p, buf, cap - 1);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void put_raw(const char *d_, const char *rel, const char *text)
{
	char p[320];
	snprintf(p, sizeof p, "%s/%s", d_, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		file_write_all(fd, text, strlen(text));
		close(fd);
	}
}

/* A store opened with a key seals; the key, the name and the store's
 * mode are all checked on the way back. */
static void test_sealed_store(void)
{
	static struct store ss;
	static char val[FN_SECRET_VALUE_MAX + 1], rec[STORE_REC_MAX + 1], rec2[STORE_REC_MAX + 1];
	static char big[FN_SECRET_VALUE_MAX];
	uint8_t key[32], other[32];
	char sdir[96], *p;
	size_t len;
	int64_t c, u;

	memset(key, 0x5a, sizeof key);
	memset(other, 0x5b, sizeof other);
	snprintf(sdir, sizeof sdir, "%.*s/sealed", (int)(strlen(dir) - 2), dir);
	is_int(store_open(&ss, sdir, &pol, key, NULL, err), 0, "a sealed store opened (%s)", err);
	is_str(store_sealing(&ss), "aes-256-gcm", "it says aes-256-gcm");
	is_int(store_secret_put(&ss, "API_KEY", "sk-live-PLAINTEXT", 17, 10, err), 0, "a secret sealed");
	ok(slurp(sdir, "secrets/API_KEY.json", rec, sizeof rec) > 0, "its record: %s", rec);
	ok(strstr(rec, "\"sealing\":\"aes-256-gcm\"") != NULL, "marked aes-256-gcm");
	ok(strstr(rec, "PLAINTEXT") == NULL && strstr(rec, "c2stbGl2ZS1QTEFJTlRFWFQ") == NULL,
	   "neither the value nor its base64 in the record");
	is_int(store_secret_get(&ss, "API_KEY", val, sizeof val, &len, &c, &u, err), 0, "unsealed (%s)", err);
	ok(len == 17 && memcmp(val, "sk-live-PLAINTEXT", 17) == 0 && c == 10, "the value and dates");
	is_int(store_secret_put(&ss, "API_KEY", "sk-live-PLAINTEXT", 17, 11, err), 0, "written again");
	ok(slurp(sdir, "secrets/API_KEY.json", rec2, sizeof rec2) > 0 && strcmp(rec, rec2) != 0,
	   "the same value seals differently (a fresh nonce)");
	memset(big, 'x', sizeof big);
	is_int(store_secret_put(&ss, "BIG", big, sizeof big, 1, err), 0, "the largest value sealed (%s)", err);
	is_int(store_secret_get(&ss, "BIG", val, sizeof val, &len, NULL, NULL, err), 0, "and unsealed");
	ok(len == sizeof big && memcmp(val, big, len) == 0, "whole");

	/* API_KEY's record under another name, its name field changed too */
	p = strstr(rec2, "\"name\":\"API_KEY\"");
	ok(p != NULL, "(the record names API_KEY)");
	if (p != NULL) {
		memcpy(p, "\"name\":\"API_KEZ\"", 16);
		put_raw(sdir, "secrets/API_KEZ.json", rec2);
		is_int(store_secret_get(&ss, "API_KEZ", val, sizeof val, &len, NULL, NULL, err), -EBADMSG,
		       "a sealed value moved to another name: refused");
		ok(strstr(err, "/secrets/API_KEZ.json: value: does not unseal") != NULL, "%s", err);
	}
	/* one character of the base64 value changed */
	slurp(sdir, "secrets/API_KEY.json", rec2, sizeof rec2);
	p = strstr(rec2, "\"value\":\"");
	if (p != NULL) {
		p += 12;
		*p = *p == 'A' ? 'B' : 'A';
	}
	store_close(&ss);
	ok(ss.seal_key[0] == 0 && ss.seal_key[31] == 0, "close wipes the key");

	is_int(store_open(&ss, sdir, &pol, other, NULL, err), 0, "the same store, another key");
	is_int(store_secret_get(&ss, "API_KEY", val, sizeof val, &len, NULL, NULL, err), -EBADMSG,
	       "another key: unreadable");
	ok(strstr(err, "/secrets/API_KEY.json: value: does not unseal (AES-256-GCM tag)") != NULL, "%s", err);
	store_close(&ss);

	is_int(store_open(&ss, sdir, &pol, NULL, NULL, err), 0, "the same store without a key");
	is_int(store_secret_get(&ss, "API_KEY", val, sizeof val, &len, NULL, NULL, err), -EBADMSG,
	       "a sealed value: unreadable, never empty");
	ok(strstr(err, "sealing: \"aes-256-gcm\": sealed, and this store has no key") != NULL, "%s", err);
	is_int(store_secret_put(&ss, "PLAIN", "v", 1, 1, err), 0, "an unsealed secret");
	store_close(&ss);

	is_int(store_open(&ss, sdir, &pol, key, NULL, err), 0, "the right key again");
	is_int(store_secret_get(&ss, "API_KEY", val, sizeof val, &len, NULL, NULL, err), 0, "readable");
	is_int(store_secret_get(&ss, "PLAIN", val, sizeof val, &len, NULL, NULL, err), -EBADMSG,
	       "an unsealed record in a sealed store: refused (no downgrade)");
	ok(strstr(err, "this store seals every secret") != NULL, "%s", err);
	put_raw(sdir, "secrets/SHORT.json",
		"{\"format\":1,\"name\":\"SHORT\",\"created\":1,\"updated\":1,"
		"\"sealing\":\"aes-256-gcm\",\"value\":\"eA==\"}");
	is_int(store_secret_get(&ss, "SHORT", val, sizeof val, &len, NULL, NULL, err), -EBADMSG,
	       "a sealed value shorter than nonce and tag");
	ok(strstr(err, "too short") != NULL, "%s", err);
	if (p != NULL) {
		put_raw(sdir, "secrets/API_KEY.json", rec2);
		is_int(store_secret_get(&ss, "API_KEY", val, sizeof val, &len, NULL, NULL, err), -EBADMSG,
		       "one base64 character of the value changed: refused");
		ok(strstr(err, "does not unseal") != NULL, "%s", err);
	}
	store_close(&ss);
}

static void test_tokens(void)
{
	struct fn_token_rec r = { 0 }, back;
	uint8_t rnd[FN_TOKEN_RANDOM] = { 9 };
	char tok[FN_TOKEN_LEN + 1];
	char names[4][STORE_NAME_MAX + 1];

	fn_token_make(rnd, tok, r.sha256);
	fn_token_id(r.sha256, r.id);
	strcpy(r.name, "ci");
	fn_scope_add(&r.scopes, "functions:invoke", 16);
	r.created = 42;
	is_int(store_token_put(&st, &r, err), 0, "token stored (%s)", err);
	is_int(store_token_put(&st, &r, err), -EEXIST, "twice");
	is_int(store_token_get(&st, r.id, &back, err), 0, "read back (%s)", err);
	ok(memcmp(&r, &back, sizeof r) == 0, "the same record");
	is_int(store_list(&st, STORE_TOKENS, names, 4, NULL, err), 1, "listed");
	struct fn_token_rec forged = r;
	strcpy(forged.id, "0000000000000000");
	is_int(store_token_put(&st, &forged, err), -EINVAL, "an id that is not the hash's");
	char rel[64];
	snprintf(rel, sizeof rel, "tokens/%s.json", r.id);
	put_file(rel, "{\"format\":1}");
	is_int(store_token_get(&st, r.id, &back, err), -EBADMSG, "a corrupt record");
	ok(strstr(err, "/tokens/") && strstr(err, "required"), "%s", err);
	is_int(store_token_del(&st, r.id, err), 0, "deleted");
	is_int(store_token_get(&st, r.id, &back, err), -ENOENT, "gone");
	is_int(store_token_del(&st, "../../x", err), -EINVAL, "a bad id");
}

int main(void)
{
	char perr[ERRBUF_LEN];
	snprintf(dir, sizeof dir, "/tmp/test_store.XXXXXX");
	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return tap_done();
	if (!ok(policy_parse(POLICY, strlen(POLICY), &ptoks, &pol, perr, sizeof perr) == 0, "policy (%s)", perr))
		return tap_done();
	strcat(dir, "/s");   /* created by store_open */
	is_int(store_open(&st, dir, &pol, NULL, &rep, err), 0, "opened (%s)", err);
	struct stat sb;
	ok(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700, "the directory is 0700");
	test_functions();
	test_interrupted();
	test_corrupt();
	test_secrets();
	test_tokens();
	test_seal_kat();
	test_sealed_store();
	store_close(&st);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strlen(dir) - 2), dir);
	ok(system(cmd) == 0, "cleaned up");
	return tap_done();
}
