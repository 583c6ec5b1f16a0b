/* sandboxd/store.c: see store.h. */
#include "sandboxd/store.h"
#include "crypto/aes_gcm.h"

#include <bearssl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/hex.h"
#include "lib/json_walk.h"
#include "lib/jsonw.h"
#include "lib/random.h"

#define TMP_PREFIX ".tmp-"
#define EXT ".json"
#define MAX_TIME 253402300799ull   /* 9999-12-31T23:59:59Z */

_Static_assert(POLICY_MAX_FUNCTIONS <= STORE_MAX_SECRETS && STORE_MAX_TOKENS <= STORE_MAX_SECRETS,
	       "struct store's names[] holds any kind's listing");

static const char *const kind_dir[STORE_KIND_N] = { "functions", "secrets", "tokens" };

/* --- names and messages -------------------------------------------------------- */

static bool token_id_valid(const char *s, size_t n)
{
	if (n != FN_TOKEN_ID_LEN)
		return false;
	for (size_t k = 0; k < n; k++)
		if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')))
			return false;
	return true;
}

/* The one check between a name from outside and a path in the store:
 * every kind's names are plain ASCII without '/' or a leading '.'. */
static bool name_valid(enum store_kind k, const char *s, size_t n)
{
	switch (k) {
	case STORE_FUNCTIONS: return fn_id_valid(s, n);
	case STORE_SECRETS:   return policy_secret_name_valid(s, n);
	case STORE_TOKENS:    return token_id_valid(s, n);
	default:              return false;
	}
}

__attribute__((format(printf, 6, 7)))
static int failp(const struct store *st, char *err, int code, const char *sub, const char *file,
		 const char *fmt, ...)
{
	char why[ERRBUF_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return errbuf_set(err, ERRBUF_LEN, code, "%s/%s/%s: %s", st->root, sub, file, why);
}

static void report(const struct store_report *rep, const struct store *st, const char *sub,
		   const char *file, const char *why)
{
	char path[STORE_PATH_MAX + 96];

	if (rep == NULL || rep->fn == NULL)
		return;
	snprintf(path, sizeof path, "%s/%s/%s", st->root, sub, file);
	rep->fn(rep->arg, path, why);
}

/* "<name>.json" into file; the name was checked by the caller. */
static void file_of(char file[STORE_NAME_MAX + 8], const char *name)
{
	snprintf(file, STORE_NAME_MAX + 8, "%s" EXT, name);
}

/* --- atomic writes ---------------------------------------------------------------- */

static void tmp_name(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, TMP_PREFIX "%s", name);
}

/* A fresh temp file for name (one left by a crash is replaced). */
static int tmp_create(int dirfd, const char *name)
{
	char tmp[STORE_NAME_MAX + 80];
	int fd;

	tmp_name(tmp, sizeof tmp, name);
	if (unlinkat(dirfd, tmp, 0) != 0 && errno != ENOENT)
		return -errno;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

static int tmp_finish(int fd)
{
	int r = fsync(fd) == 0 ? 0 : -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	return r;
}

static void tmp_drop(int dirfd, const char *name)
{
	char tmp[STORE_NAME_MAX + 80];
	tmp_name(tmp, sizeof tmp, name);
	unlinkat(dirfd, tmp, 0);
}

int store_tmp_write(int dirfd, const char *name, const void *buf, size_t len)
{
	int fd = tmp_create(dirfd, name), r;

	if (fd < 0)
		return fd;
	r = file_write_all(fd, buf, len);
	if (r != 0) {
		close(fd);
		tmp_drop(dirfd, name);
		return r;
	}
	if ((r = tmp_finish(fd)) != 0)
		tmp_drop(dirfd, name);
	return r;
}

int store_tmp_commit(int dirfd, const char *name)
{
	char tmp[STORE_NAME_MAX + 80];

	tmp_name(tmp, sizeof tmp, name);
	if (renameat(dirfd, tmp, dirfd, name) != 0)
		return -errno;
	return fsync(dirfd) == 0 ? 0 : -errno;
}

static int write_atomic(const struct store *st, enum store_kind k, const char *name,
			const char *buf, size_t len, char *err)
{
	char file[STORE_NAME_MAX + 8];
	int r;

	file_of(file, name);
	if ((r = store_tmp_write(st->kfd[k], file, buf, len)) != 0 ||
	    (r = store_tmp_commit(st->kfd[k], file)) != 0)
		return failp(st, err, r, kind_dir[k], file, "writing: %s", strerror(-r));
	return 0;
}

static int remove_file(const struct store *st, int dirfd, const char *sub, const char *file, char *err)
{
	if (unlinkat(dirfd, file, 0) != 0) {
		int r = -errno;
		return failp(st, err, r, sub, file, "%s", r == -ENOENT ? "not found" : strerror(-r));
	}
	if (fsync(dirfd) != 0)
		return failp(st, err, -errno, sub, ".", "fsync: %s", strerror(errno));
	return 0;
}

/* --- open, list ----------------------------------------------------------------- */

static int open_sub(int dirfd, const char *sub)
{
	int fd;

	if (mkdirat(dirfd, sub, 0700) != 0 && errno != EEXIST)
		return -errno;
	fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A fresh directory stream on dirfd (its own offset: a dup would share). */
static DIR *dir_stream(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);

	if (fd >= 0 && dir == NULL)
		close(fd);
	return dir;
}

/* Removes the temp files a crash left in one folder. */
static int clean_tmp(struct store *st, int dirfd, const char *sub, const struct store_report *rep)
{
	DIR *dir = dir_stream(dirfd);
	struct dirent *de;
	bool removed = false;

	if (dir == NULL)
		return -errno;
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) != 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0) {
			report(rep, st, sub, de->d_name, "removed: a write interrupted before its rename");
			removed = true;
		}
	}
	closedir(dir);
	return removed && fsync(dirfd) != 0 ? -errno : 0;
}

void store_close(struct store *st)
{
	for (int k = 0; k < STORE_KIND_N; k++)
		if (st->kfd[k] >= 0)
			close(st->kfd[k]);
	if (st->codefd >= 0)
		close(st->codefd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = st->codefd = -1;
	for (int k = 0; k < STORE_KIND_N; k++)
		st->kfd[k] = -1;
	explicit_bzero(st->seal_key, sizeof st->seal_key);
	st->sealed = false;
}

const char *store_sealing(const struct store *st)
{
	return st->sealed ? "aes-256-gcm" : "none";
}

int store_open(struct store *st, const char *dir, const struct policy *p,
	       const uint8_t *seal_key, const struct store_report *rep, char err[ERRBUF_LEN])
{
	int r;

	st->dirfd = st->codefd = -1;
	for (int k = 0; k < STORE_KIND_N; k++)
		st->kfd[k] = -1;
	st->policy = p;
	st->sealed = false;
	memset(st->seal_key, 0, sizeof st->seal_key);
	if (strlen(dir) >= sizeof st->root)
		return errbuf_set(err, ERRBUF_LEN, -ENAMETOOLONG, "%.60s...: path too long", dir);
	strcpy(st->root, dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return errbuf_set(err, ERRBUF_LEN, -errno, "%s: mkdir: %s", dir, strerror(errno));
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0)
		return errbuf_set(err, ERRBUF_LEN, -errno, "%s: %s", dir, strerror(errno));
	for (int k = 0; k <= STORE_KIND_N; k++) {
		const char *sub = k < STORE_KIND_N ? kind_dir[k] : "code";
		int fd = open_sub(st->dirfd, sub);
		if (fd < 0) {
			store_close(st);
			return errbuf_set(err, ERRBUF_LEN, fd, "%s/%s: %s", dir, sub, strerror(-fd));
		}
		*(k < STORE_KIND_N ? &st->kfd[k] : &st->codefd) = fd;
		if ((r = clean_tmp(st, fd, sub, rep)) != 0) {
			store_close(st);
			return errbuf_set(err, ERRBUF_LEN, r, "%s/%s: %s", dir, sub, strerror(-r));
		}
	}
	if (fsync(st->dirfd) != 0) {
		r = -errno;
		store_close(st);
		return errbuf_set(err, ERRBUF_LEN, r, "%s: fsync: %s", dir, strerror(-r));
	}
	/* only an open store holds the key: store_close wipes it */
	if (seal_key != NULL) {
		memcpy(st->seal_key, seal_key, sizeof st->seal_key);
		st->sealed = true;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

long store_list(struct store *st, enum store_kind k, char (*names)[STORE_NAME_MAX + 1], size_t cap,
		const struct store_report *rep, char err[ERRBUF_LEN])
{
	DIR *dir;
	struct dirent *de;
	size_t n = 0;

	if ((unsigned)k >= STORE_KIND_N)
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "no such kind");
	dir = dir_stream(st->kfd[k]);
	if (dir == NULL)
		return failp(st, err, -errno, kind_dir[k], ".", "%s", strerror(errno));
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strncmp(de->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) == 0)
			continue;
		if (len <= sizeof EXT - 1 || strcmp(de->d_name + len - (sizeof EXT - 1), EXT) != 0 ||
		    !name_valid(k, de->d_name, len - (sizeof EXT - 1))) {
			report(rep, st, kind_dir[k], de->d_name, "not a file of the store (ignored)");
			continue;
		}
		if (n == cap) {
			closedir(dir);
			return failp(st, err, -ENOSPC, kind_dir[k], ".", "more than %zu entries", cap);
		}
		memcpy(names[n], de->d_name, len - (sizeof EXT - 1));
		names[n][len - (sizeof EXT - 1)] = '\0';
		n++;
	}
	closedir(dir);
	qsort(names, n, sizeof names[0], cmp_name);
	return (long)n;
}

static long count_of(struct store *st, enum store_kind k, char *err)
{
	return store_list(st, k, st->names, sizeof st->names / sizeof st->names[0], NULL, err);
}

static bool exists(const struct store *st, enum store_kind k, const char *name)
{
	char file[STORE_NAME_MAX + 8];
	struct stat sb;

	file_of(file, name);
	return fstatat(st->kfd[k], file, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

/* --- reading records ---------------------------------------------------------- */

/* Reads kind k's record name into st->rec and tokenises it into *doc. */
static int read_rec(struct store *st, enum store_kind k, const char *name, struct json_doc *doc, char *err)
{
	char file[STORE_NAME_MAX + 8];
	long n;
	int fd;

	if (!name_valid(k, name, strlen(name)))
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "%s: not a valid name", kind_dir[k]);
	file_of(file, name);
	fd = openat(st->kfd[k], file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		return failp(st, err, r == -ELOOP ? -EBADMSG : r, kind_dir[k], file, "%s",
			     r == -ENOENT ? "not found" : r == -ELOOP ? "a symbolic link" : strerror(-r));
	}
	n = file_read_fd(fd, st->rec, STORE_REC_MAX);
	close(fd);
	if (n == -EFBIG)
		return failp(st, err, -EBADMSG, kind_dir[k], file, "larger than %u bytes", STORE_REC_MAX);
	if (n < 0)
		return failp(st, err, (int)n, kind_dir[k], file, "%s", strerror((int)-n));
	if (memchr(st->rec, '\0', (size_t)n) || json_parse(doc, st->rec, (size_t)n, st->toks, FN_DECL_MAX_TOKENS) != 0 ||
	    json_validate(doc, 8) != 0 || !json_is(doc, 0, JSMN_OBJECT))
		return failp(st, err, -EBADMSG, kind_dir[k], file, "not a JSON object");
	return 0;
}

static int get_time(struct jwalk *c, int tok, const char *key, int64_t *out)
{
	uint64_t v;
	if (json_uint(c->d, tok, MAX_TIME, &v) != 0) {
		jwalk_key(c, key);
		return jwalk_fail(c, -EBADMSG, "must be an integer 0..%llu", MAX_TIME);
	}
	*out = (int64_t)v;
	return 0;
}

/* functions/<id>.json into *d: the declaration must be in its canonical
 * form (its hash is the one measured) and fit the current policy. */
static int read_fn(struct store *st, const char *id, struct fn_decl *d, int64_t *created,
		   int64_t *updated, char *err)
{
	struct json_doc doc;
	char why[ERRBUF_LEN], file[STORE_NAME_MAX + 8];
	struct jwalk c = { .d = &doc, .err = why, .errlen = sizeof why };
	struct jwalk_field f[3] = { { "created", -1 }, { "updated", -1 }, { "declaration", -1 } };
	struct fn_error e;
	const char *raw;
	size_t rawlen;
	long n;
	int r;

	if ((r = read_rec(st, STORE_FUNCTIONS, id, &doc, err)) != 0)
		return r;
	file_of(file, id);
	if (jwalk_fields(&c, 0, f, 3) != 0 || jwalk_need(&c, &f[0]) != 0 || jwalk_need(&c, &f[1]) != 0 ||
	    jwalk_need(&c, &f[2]) != 0 || get_time(&c, f[0].tok, "created", created) != 0 ||
	    get_time(&c, f[1].tok, "updated", updated) != 0)
		return failp(st, err, -EBADMSG, "functions", file, "%s", why);
	if (fn_decl_from_json(&doc, f[2].tok, FN_SHAPE_STORED, st->policy, d, &e) != 0)
		return failp(st, err, -EBADMSG, "functions", file, "declaration.%s", e.msg);
	raw = json_text(&doc, f[2].tok, &rawlen);
	n = fn_decl_write(d, st->canon, sizeof st->canon);
	if (n < 0 || (size_t)n != rawlen || memcmp(raw, st->canon, rawlen) != 0)
		return failp(st, err, -EBADMSG, "functions", file, "declaration is not in canonical form");
	if (strcmp(d->id, id) != 0)
		return failp(st, err, -EBADMSG, "functions", file, "holds function \"%s\"", d->id);
	return 0;
}

/* --- functions ------------------------------------------------------------------ */

static void code_name(char out[65], const uint8_t sha[32])
{
	hex_encode(out, sha, 32);
}

/* Copies code_fd (from offset 0) into code/<sha>, checking its hash and
 * size on the way; nothing when the file is already there (its name is
 * its hash: the same bytes). */
static int put_code(struct store *st, const struct fn_decl *d, int code_fd, char *err)
{
	char hex[65];
	struct stat sb;
	br_sha256_context h;
	uint8_t got[32];
	uint64_t total = 0;
	int out, r = 0;

	code_name(hex, d->code_sha256);
	if (fstatat(st->codefd, hex, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if ((out = tmp_create(st->codefd, hex)) < 0)
		return failp(st, err, out, "code", hex, "creating: %s", strerror(-out));
	br_sha256_init(&h);
	for (;;) {
		ssize_t n = pread(code_fd, st->copy, sizeof st->copy, (off_t)total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > d->code_bytes) {
			r = -EBADMSG;
			break;
		}
		br_sha256_update(&h, st->copy, (size_t)n);
		if ((r = file_write_all(out, st->copy, (size_t)n)) != 0)
			break;
	}
	br_sha256_out(&h, got);
	if (r == 0 && (total != d->code_bytes || !fn_hash_equal(got, d->code_sha256)))
		r = -EBADMSG;
	if (r != 0) {
		close(out);
		tmp_drop(st->codefd, hex);
		return failp(st, err, r, "code", hex, "%s", r == -EBADMSG ?
			     "the code given is not the declaration's (size or SHA-256)" : strerror(-r));
	}
	if ((r = tmp_finish(out)) != 0 || (r = store_tmp_commit(st->codefd, hex)) != 0) {
		tmp_drop(st->codefd, hex);
		return failp(st, err, r, "code", hex, "writing: %s", strerror(-r));
	}
	return 0;
}

/* Removes code/<sha> unless a function still names it. A record that
 * cannot be read might: its code is kept. */
static void gc_code(struct store *st, const uint8_t sha[32])
{
	char err[ERRBUF_LEN], hex[65];
	int64_t t1, t2;
	long n = count_of(st, STORE_FUNCTIONS, err);

	if (n < 0)
		return;
	for (long k = 0; k < n; k++) {
		int r = read_fn(st, st->names[k], &st->tmp_decl, &t1, &t2, err);
		if (r != 0 || fn_hash_equal(st->tmp_decl.code_sha256, sha))
			return;
	}
	code_name(hex, sha);
	if (unlinkat(st->codefd, hex, 0) == 0)
		fsync(st->codefd);
}

int store_fn_put(struct store *st, const struct fn_decl *d, int code_fd, bool create, int64_t now,
		 char err[ERRBUF_LEN])
{
	struct jsonw w;
	int64_t created = now, updated;
	uint8_t old_sha[32];
	bool had_old = false;
	long n;
	int r;

	if (!fn_id_valid(d->id, strlen(d->id)) || !d->code_hashed)
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "a declaration with a valid id and hashed code is needed");
	if (exists(st, STORE_FUNCTIONS, d->id)) {
		if (create)
			return errbuf_set(err, ERRBUF_LEN, -EEXIST, "function \"%s\" exists", d->id);
		/* A record that cannot be read is replaced, with a new date. */
		if (read_fn(st, d->id, &st->tmp_decl, &created, &updated, err) == 0) {
			memcpy(old_sha, st->tmp_decl.code_sha256, 32);
			had_old = true;
		} else {
			created = now;
		}
	} else if (!create) {
		return errbuf_set(err, ERRBUF_LEN, -ENOENT, "function \"%s\" does not exist", d->id);
	} else {
		if ((n = count_of(st, STORE_FUNCTIONS, err)) < 0)
			return (int)n;
		if ((uint64_t)n >= st->policy->max_functions)
			return errbuf_set(err, ERRBUF_LEN, -ENOSPC, "%ld functions deployed, the policy's functions.max is %u",
					  n, st->policy->max_functions);
	}
	if ((r = put_code(st, d, code_fd, err)) != 0)
		return r;
	n = fn_decl_write(d, st->canon, sizeof st->canon);
	if (n < 0)
		return errbuf_set(err, ERRBUF_LEN, (int)n, "declaration: %s", strerror((int)-n));
	jw_init(&w, st->rec, sizeof st->rec);
	jw_object_begin(&w);
	jw_key(&w, "created");
	jw_i64(&w, created);
	jw_key(&w, "updated");
	jw_i64(&w, now);
	jw_key(&w, "declaration");
	jw_raw(&w, st->canon, (size_t)n);
	jw_object_end(&w);
	if ((n = jw_finish(&w)) < 0)
		return errbuf_set(err, ERRBUF_LEN, (int)n, "record: %s", strerror((int)-n));
	if ((r = write_atomic(st, STORE_FUNCTIONS, d->id, st->rec, (size_t)n, err)) != 0)
		return r;
	if (had_old && !fn_hash_equal(old_sha, d->code_sha256))
		gc_code(st, old_sha);
	return 0;
}

int store_fn_get(struct store *st, const char *id, struct fn_decl *d, int64_t *created,
		 int64_t *updated, char err[ERRBUF_LEN])
{
	int r = read_fn(st, id, d, created, updated, err);
	if (r != 0)
		memset(d, 0, sizeof *d);
	return r;
}

int store_fn_code_open(struct store *st, const struct fn_decl *d, char err[ERRBUF_LEN])
{
	char hex[65];
	int fd;

	code_name(hex, d->code_sha256);
	fd = openat(st->codefd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return failp(st, err, -errno, "code", hex, "%s", strerror(errno));
	return fd;
}

int store_fn_del(struct store *st, const char *id, char err[ERRBUF_LEN])
{
	char file[STORE_NAME_MAX + 8];
	int64_t t1, t2;
	uint8_t sha[32];
	bool known;
	int r;

	if (!fn_id_valid(id, strlen(id)))
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "functions: not a valid name");
	known = read_fn(st, id, &st->tmp_decl, &t1, &t2, err) == 0;
	if (known)
		memcpy(sha, st->tmp_decl.code_sha256, 32);
	file_of(file, id);
	if ((r = remove_file(st, st->kfd[STORE_FUNCTIONS], "functions", file, err)) != 0)
		return r;
	if (known)
		gc_code(st, sha);
	return 0;
}

/* --- secrets ------------------------------------------------------------------- */

/* AES-256-GCM in place over data with the AAD of name's secret; the tag
 * into tag (encrypt) or checked against it. */
static bool gcm_run(bool encrypt, const uint8_t key[STORE_SEAL_KEY_LEN],
		    const uint8_t nonce[STORE_SEAL_NONCE], const char *name, uint8_t *data,
		    size_t len, uint8_t tag[STORE_SEAL_TAG])
{
	return aes_gcm(encrypt, key, STORE_SEAL_KEY_LEN, nonce, STORE_SEAL_AAD,
		       sizeof STORE_SEAL_AAD - 1, name, strlen(name), data, len, tag);
}

void store_seal(const uint8_t key[STORE_SEAL_KEY_LEN], const uint8_t nonce[STORE_SEAL_NONCE],
		const char *name, const void *in, size_t len, uint8_t *out)
{
	memcpy(out, nonce, STORE_SEAL_NONCE);
	memmove(out + STORE_SEAL_NONCE, in, len);
	gcm_run(true, key, nonce, name, out + STORE_SEAL_NONCE, len, out + STORE_SEAL_NONCE + len);
}

long store_unseal(const uint8_t key[STORE_SEAL_KEY_LEN], const char *name, const uint8_t *in,
		  size_t len, void *out)
{
	uint8_t tag[STORE_SEAL_TAG];
	size_t n;

	if (len < STORE_SEAL_OVERHEAD)
		return -EINVAL;
	n = len - STORE_SEAL_OVERHEAD;
	memcpy(tag, in + STORE_SEAL_NONCE + n, sizeof tag);
	memmove(out, in + STORE_SEAL_NONCE, n);
	if (!gcm_run(false, key, in, name, out, n, tag)) {
		explicit_bzero(out, n);
		return -EBADMSG;
	}
	return (long)n;
}

/* A value as the record holds it: sealed with the store's key (a fresh
 * random nonce each time), or as it is when the store has none. */
static int seal_value(struct store *st, struct jsonw *w, const char *name, const char *value,
		      size_t len)
{
	uint8_t nonce[STORE_SEAL_NONCE];
	int r;

	jw_key(w, "sealing");
	jw_string(w, store_sealing(st));
	jw_key(w, "value");
	if (!st->sealed) {
		jw_base64(w, value, len);
		return 0;
	}
	if ((r = random_fill(nonce, sizeof nonce)) != 0)
		return r;
	store_seal(st->seal_key, nonce, name, value, len, st->box);
	jw_base64(w, st->box, len + STORE_SEAL_OVERHEAD);
	explicit_bzero(st->box, sizeof st->box);
	return 0;
}

/* ... and its reverse, which takes only the store's own sealing. */
static int open_value(struct store *st, struct jwalk *c, const char *name, int sealing, int value,
		      char *val, size_t cap, size_t *len)
{
	size_t n;
	const char *s;
	long r;

	if (!json_str_eq(c->d, sealing, store_sealing(st))) {
		jwalk_key(c, "sealing");
		if (json_str_eq(c->d, sealing, "aes-256-gcm") || json_str_eq(c->d, sealing, "none"))
			return jwalk_fail(c, -EBADMSG, st->sealed ?
					  "\"none\": this store seals every secret (refused)" :
					  "\"aes-256-gcm\": sealed, and this store has no key to open it");
		return jwalk_fail(c, -EBADMSG, "not a sealing this build knows (\"aes-256-gcm\", \"none\")");
	}
	jwalk_key(c, "value");
	if (jwalk_want(c, value, JSMN_STRING) != 0)
		return -EBADMSG;
	s = json_text(c->d, value, &n);
	if (st->sealed) {
		r = base64_decode(st->box, sizeof st->box, s, n);
		if (r < 0 || (size_t)r > cap + STORE_SEAL_OVERHEAD)
			return jwalk_fail(c, -EBADMSG, "not the base64 of a sealed value");
		r = store_unseal(st->seal_key, name, st->box, (size_t)r, val);
		explicit_bzero(st->box, sizeof st->box);
		if (r < 0)
			return jwalk_fail(c, -EBADMSG, "%s", r == -EINVAL ? "too short for a sealed value" :
					  "does not unseal (AES-256-GCM tag): another key or name, or changed");
	} else {
		r = base64_decode(val, cap, s, n);
	}
	if (r <= 0 || (size_t)r > FN_SECRET_VALUE_MAX || memchr(val, '\0', (size_t)r))
		return jwalk_fail(c, -EBADMSG, "must be the base64 of 1..%u bytes without NUL", FN_SECRET_VALUE_MAX);
	*len = (size_t)r;
	return 0;
}

static int read_secret(struct store *st, const char *name, char *val, size_t cap, size_t *len,
		       int64_t *created, int64_t *updated, char *err)
{
	struct json_doc doc;
	char why[ERRBUF_LEN], file[STORE_NAME_MAX + 8];
	struct jwalk c = { .d = &doc, .err = why, .errlen = sizeof why };
	struct jwalk_field f[6] = { { "format", -1 }, { "name", -1 }, { "created", -1 },
				    { "updated", -1 }, { "sealing", -1 }, { "value", -1 } };
	int r;

	if ((r = read_rec(st, STORE_SECRETS, name, &doc, err)) != 0)
		return r;
	file_of(file, name);
	r = jwalk_fields(&c, 0, f, 6);
	for (int k = 0; r == 0 && k < 6; k++)
		r = jwalk_need(&c, &f[k]);
	if (r == 0 && !json_text_eq(&doc, f[0].tok, "1"))
		r = jwalk_fail(&c, -EBADMSG, "format: must be 1");
	if (r == 0 && !json_str_eq(&doc, f[1].tok, name))
		r = jwalk_fail(&c, -EBADMSG, "name: is not the file's");
	if (r == 0)
		r = get_time(&c, f[2].tok, "created", created);
	if (r == 0)
		r = get_time(&c, f[3].tok, "updated", updated);
	if (r == 0)
		r = open_value(st, &c, name, f[4].tok, f[5].tok, val, cap, len);
	if (r != 0) {
		memset(val, 0, cap);
		return failp(st, err, -EBADMSG, "secrets", file, "%s", why);
	}
	return 0;
}

int store_secret_put(struct store *st, const char *name, const char *value, size_t len, int64_t now,
		     char err[ERRBUF_LEN])
{
	struct jsonw w;
	int64_t created = now, updated;
	size_t oldlen;
	long n;

	if (!policy_secret_name_valid(name, strlen(name)))
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "secrets: not a valid name");
	if (len == 0 || len > FN_SECRET_VALUE_MAX || memchr(value, '\0', len))
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "secrets/%s: a value is 1..%u bytes without NUL",
				  name, FN_SECRET_VALUE_MAX);
	if (exists(st, STORE_SECRETS, name)) {
		/* st->copy holds the old value only long enough to keep its date. */
		if (read_secret(st, name, (char *)st->copy, sizeof st->copy, &oldlen, &created, &updated, err) != 0)
			created = now;
		explicit_bzero(st->copy, sizeof st->copy);
	} else {
		if ((n = count_of(st, STORE_SECRETS, err)) < 0)
			return (int)n;
		if (n >= STORE_MAX_SECRETS)
			return errbuf_set(err, ERRBUF_LEN, -ENOSPC, "%ld secrets stored, at most %d", n, STORE_MAX_SECRETS);
	}
	jw_init(&w, st->rec, sizeof st->rec);
	jw_object_begin(&w);
	jw_key(&w, "format");
	jw_u64(&w, 1);
	jw_key(&w, "name");
	jw_string(&w, name);
	jw_key(&w, "created");
	jw_i64(&w, created);
	jw_key(&w, "updated");
	jw_i64(&w, now);
	int r = seal_value(st, &w, name, value, len);
	if (r != 0) {
		explicit_bzero(st->rec, sizeof st->rec);
		return errbuf_set(err, ERRBUF_LEN, r, "secrets/%s: getrandom for the nonce: %s", name,
				  strerror(-r));
	}
	jw_object_end(&w);
	n = jw_finish(&w);
	r = n < 0 ? errbuf_set(err, ERRBUF_LEN, (int)n, "secrets/%s: record too large", name)
		  : write_atomic(st, STORE_SECRETS, name, st->rec, (size_t)n, err);
	explicit_bzero(st->rec, sizeof st->rec);
	return r;
}

int store_secret_get(struct store *st, const char *name, char *val, size_t cap, size_t *len,
		     int64_t *created, int64_t *updated, char err[ERRBUF_LEN])
{
	int64_t c, u;
	int r = read_secret(st, name, val, cap, len, created ? created : &c, updated ? updated : &u, err);
	explicit_bzero(st->rec, sizeof st->rec);
	return r;
}

int store_secret_del(struct store *st, const char *name, char err[ERRBUF_LEN])
{
	char file[STORE_NAME_MAX + 8];

	if (!policy_secret_name_valid(name, strlen(name)))
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "secrets: not a valid name");
	file_of(file, name);
	return remove_file(st, st->kfd[STORE_SECRETS], "secrets", file, err);
}

/* --- tokens -------------------------------------------------------------------- */

int store_token_put(struct store *st, const struct fn_token_rec *r, char err[ERRBUF_LEN])
{
	char id[FN_TOKEN_ID_LEN + 1];
	long n;

	fn_token_id(r->sha256, id);
	if (strcmp(id, r->id) != 0)
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "tokens: the id is not the hash's");
	if (exists(st, STORE_TOKENS, r->id))
		return errbuf_set(err, ERRBUF_LEN, -EEXIST, "token %s exists", r->id);
	if ((n = count_of(st, STORE_TOKENS, err)) < 0)
		return (int)n;
	if (n >= STORE_MAX_TOKENS)
		return errbuf_set(err, ERRBUF_LEN, -ENOSPC, "%ld tokens stored, at most %d", n, STORE_MAX_TOKENS);
	n = fn_token_rec_write(r, st->rec, sizeof st->rec);
	if (n < 0)
		return errbuf_set(err, ERRBUF_LEN, (int)n, "tokens/%s: record too large", r->id);
	return write_atomic(st, STORE_TOKENS, r->id, st->rec, (size_t)n, err);
}

int store_token_get(struct store *st, const char *id, struct fn_token_rec *r, char err[ERRBUF_LEN])
{
	char file[STORE_NAME_MAX + 8];
	struct json_doc doc;
	struct fn_error e;
	int rc;

	memset(r, 0, sizeof *r);
	if ((rc = read_rec(st, STORE_TOKENS, id, &doc, err)) != 0)
		return rc;
	file_of(file, id);
	if (fn_token_rec_parse(st->rec, doc.len, &st->btoks, r, &e) != 0)
		return failp(st, err, -EBADMSG, "tokens", file, "%s", e.msg);
	if (strcmp(r->id, id) != 0) {
		rc = failp(st, err, -EBADMSG, "tokens", file, "holds token %s", r->id);
		memset(r, 0, sizeof *r);
		return rc;
	}
	return 0;
}

int store_token_del(struct store *st, const char *id, char err[ERRBUF_LEN])
{
	char file[STORE_NAME_MAX + 8];

	if (!token_id_valid(id, strlen(id)))
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "tokens: not a valid name");
	file_of(file, id);
	return remove_file(st, st->kfd[STORE_TOKENS], "tokens", file, err);
}
