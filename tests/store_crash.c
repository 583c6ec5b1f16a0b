/* tests/store_crash.c: the host's look at a data disk rebuilt as a power
 * cut left it (qemu-test/t/09-powercut.t, docs/STORE.md "Power cuts"),
 * without booting it. Built from the guest's own code: the header parser
 * and key derivation of fs/store_hdr.c, the key provider of
 * init/datastore.c with the image manifest's policy (as init reads it),
 * sandboxd's function store and logd's log store.
 *
 *   store_crash open MANIFEST DISK PLAIN
 *       the header parsed and its MAC checked with the policy's key
 *       provider (store_hdr_open, as init does; the instance is the
 *       header's), then the dm-crypt area decrypted into PLAIN, a plain
 *       ext4 image. Exit 0; 3 when the header is blank (a first boot that
 *       never finished: nothing to decrypt); 1 on any refusal (reason on
 *       stderr).
 *   store_crash state MANIFEST DISK DIR [TILES SIZE]
 *       DIR is a copy of /run/store (logd-state/, sandboxd-store/). Opens
 *       sandboxd's store with the seal key the header gives (as init
 *       hands it to sandboxd) and logd's log store, and prints
 *         log COMMITTED TORN_BYTES
 *         function ID CODE_SHA256       (the code read back and hashed)
 *         secret NAME VALUE_HEX         (unsealed)
 *         recovered PATH: WHY           (a temp file a cut write left, removed)
 *         bad WHAT                      (anything unreadable; exit 1)
 *       With TILES SIZE: the log's tiles and bundles for a tree of SIZE
 *       written to TILES (the tlog-tiles layout `dshield log verify DIR`
 *       reads; the caller adds the signed checkpoint).
 *   store_crash xts KEYHEX SECTOR COUNT < IN > OUT
 *       decrypts COUNT 512-byte units numbered from SECTOR with a 64-byte
 *       aes-xts key (the test checks this one against openssl).
 *
 * dm-crypt's aes-xts-plain64 as fs/crypt.c sets it up: 512-byte sectors,
 * IV = the sector number inside the area (little-endian, IV offset 0),
 * the key's first half for the data, its second half for the tweak.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bearssl.h>

#include "cli/log_fetch.h"
#include "fs/store_hdr.h"
#include "init/datastore.h"
#include "init/manifest.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "logd/store.h"
#include "sandboxd/store.h"

#define SECTOR       512u
#define XTS_BLOCK    16u
#define CHUNK        (1u << 20)   /* bytes decrypted per read */

/* --- aes-xts-plain64, decryption ----------------------------------------------------- */

struct xts {
	br_aes_gen_cbcdec_keys dec;
	br_aes_gen_cbcenc_keys enc;
	const br_block_cbcdec_class *dvt;
	const br_block_cbcenc_class *evt;
};

static void xts_init(struct xts *x, const uint8_t key[64])
{
	x->dvt = br_aes_x86ni_cbcdec_get_vtable();
	x->evt = br_aes_x86ni_cbcenc_get_vtable();
	if (x->dvt == NULL)
		x->dvt = &br_aes_ct64_cbcdec_vtable;
	if (x->evt == NULL)
		x->evt = &br_aes_ct64_cbcenc_vtable;
	x->dvt->init(&x->dec.vtable, key, 32);
	x->evt->init(&x->enc.vtable, key + 32, 32);
}

/* The tweak's multiplication by x in GF(2^128), little-endian (IEEE 1619). */
static void xts_mul_x(uint8_t t[XTS_BLOCK])
{
	unsigned carry = t[XTS_BLOCK - 1] >> 7;

	for (unsigned i = XTS_BLOCK - 1; i > 0; i--)
		t[i] = (uint8_t)(t[i] << 1 | t[i - 1] >> 7);
	t[0] = (uint8_t)(t[0] << 1 ^ (carry ? 0x87 : 0));
}

/* One sector in place. BearSSL has no ECB: CBC decryption of the whole
 * sector with a zero IV gives D(X_j) ^ X_{j-1}, so X is kept to undo the
 * chaining; the tweak E_K2(sector) is a one-block CBC encryption. */
static void xts_decrypt_sector(struct xts *x, uint64_t sector, uint8_t buf[SECTOR])
{
	uint8_t t[XTS_BLOCK] = { 0 }, iv[XTS_BLOCK], tw[SECTOR], xs[SECTOR];

	for (unsigned i = 0; i < 8; i++)
		t[i] = (uint8_t)(sector >> (8 * i));
	memset(iv, 0, sizeof iv);
	x->evt->run(&x->enc.vtable, iv, t, XTS_BLOCK);
	for (unsigned j = 0; j < SECTOR; j += XTS_BLOCK) {
		memcpy(tw + j, t, XTS_BLOCK);
		for (unsigned k = 0; k < XTS_BLOCK; k++)
			buf[j + k] ^= t[k];
		xts_mul_x(t);
	}
	memcpy(xs, buf, SECTOR);
	memset(iv, 0, sizeof iv);
	x->dvt->run(&x->dec.vtable, iv, buf, SECTOR);
	for (unsigned j = 0; j < SECTOR; j++)
		buf[j] ^= tw[j] ^ (j >= XTS_BLOCK ? xs[j - XTS_BLOCK] : 0);
}

/* in (from byte in_off) to out, sectors numbered from first. */
static int xts_stream(struct xts *x, int in, off_t in_off, int out, uint64_t first,
		      uint64_t sectors)
{
	uint8_t *buf = malloc(CHUNK);
	int r = 0;

	if (buf == NULL)
		return -ENOMEM;
	for (uint64_t s = 0; s < sectors && r == 0;) {
		uint64_t n = sectors - s < CHUNK / SECTOR ? sectors - s : CHUNK / SECTOR;
		ssize_t got = pread(in, buf, n * SECTOR, in_off + (off_t)(s * SECTOR));

		if (got != (ssize_t)(n * SECTOR)) {
			r = got < 0 ? -errno : -EIO;
			break;
		}
		for (uint64_t k = 0; k < n; k++)
			xts_decrypt_sector(x, first + s + k, buf + k * SECTOR);
		r = file_write_all(out, buf, n * SECTOR);
		s += n;
	}
	free(buf);
	return r;
}

/* --- the header, as init opens it ------------------------------------------------------ */

/* The image manifest's policy, loaded as init loads it. NULL on failure
 * (printed); the caller frees it. */
static struct manifest *load_manifest(const char *path)
{
	struct manifest *m = calloc(1, sizeof *m);

	if (m != NULL && manifest_load(path, m) == 0 && m->has_policy)
		return m;
	fprintf(stderr, "store_crash: %s: not a manifest with a policy\n", path);
	free(m);
	return NULL;
}

/* Reads DISK's header into *fd's disk and opens it with the policy's key
 * provider. 0, -ENODATA (blank) or another refusal (printed). */
static int open_header(const struct manifest *m, const char *disk, int *fd,
		       struct store_hdr *h, struct store_keys *k)
{
	uint8_t raw[STORE_HDR_SIZE], key[STORE_KEY_LEN];
	char err[ERRBUF_LEN] = "";
	struct stat st;
	int r;

	*fd = open(disk, O_RDONLY | O_CLOEXEC);
	if (*fd < 0 || fstat(*fd, &st) != 0 || pread(*fd, raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		fprintf(stderr, "store_crash: %s: %s\n", disk, strerror(errno ? errno : EIO));
		return -EIO;
	}
	if ((r = store_hdr_parse(raw, h, err, sizeof err)) == -ENODATA)
		return r;
	if (r == 0)
		r = datastore_key_get(&m->policy.store, h->instance, key, err, sizeof err);
	if (r == 0) {
		/* integrity none: this tool reads the dm-crypt area itself */
		struct store_expect e = { STORE_CIPHER, STORE_KEY_BITS, NULL,
					  (uint64_t)st.st_size / STORE_SECTOR, STORE_INTEGRITY_NONE };
		r = store_hdr_open(raw, key, &e, h, k, err, sizeof err);
		explicit_bzero(key, sizeof key);
	}
	if (r != 0)
		fprintf(stderr, "store_crash: %s: header: %s (%s)\n", disk, err,
			store_hdr_error_name(r));
	return r;
}

static int cmd_open(const char *manifest, const char *disk, const char *plain)
{
	struct manifest *m = load_manifest(manifest);
	struct store_hdr h;
	struct store_keys k;
	struct xts x;
	int fd = -1, out, r;

	if (m == NULL)
		return 1;
	r = open_header(m, disk, &fd, &h, &k);
	free(m);
	if (r != 0) {
		if (fd >= 0)
			close(fd);
		if (r != -ENODATA)
			return 1;
		printf("header blank\n");
		return 3;
	}
	xts_init(&x, k.crypt);
	store_keys_wipe(&k);
	out = open(plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		fprintf(stderr, "store_crash: %s: %s\n", plain, strerror(errno));
		explicit_bzero(&x, sizeof x);
		close(fd);
		return 1;
	}
	r = xts_stream(&x, fd, (off_t)(h.data_offset * STORE_SECTOR), out, 0, h.data_sectors);
	explicit_bzero(&x, sizeof x);
	close(fd);
	if (r != 0 || close(out) != 0) {
		fprintf(stderr, "store_crash: decrypting into %s: %s\n", plain, strerror(r ? -r : errno));
		return 1;
	}
	printf("header ok: generation %llu, %llu sectors at %llu\n",
	       (unsigned long long)h.generation, (unsigned long long)h.data_sectors,
	       (unsigned long long)h.data_offset);
	return 0;
}

/* --- what the roles left on the store ------------------------------------------------------ */

static void report_bad(void *arg, const char *path, const char *why)
{
	int *bad = arg;

	printf("bad %s: %s\n", path, why);
	(*bad)++;
}

/* At open, the store removes the temp file of a write a crash cut before
 * its rename: its recovery, which a power cut is expected to need. */
static void report_recovered(void *arg, const char *path, const char *why)
{
	(void)arg;
	printf("recovered %s: %s\n", path, why);
}

static int code_sha256(struct store *st, const struct fn_decl *d, uint8_t out[32], char *err)
{
	br_sha256_context c;
	uint8_t buf[1 << 14];
	uint64_t total = 0;
	ssize_t n;
	int fd = store_fn_code_open(st, d, err);

	if (fd < 0)
		return fd;
	br_sha256_init(&c);
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		br_sha256_update(&c, buf, (size_t)n);
		total += (uint64_t)n;
	}
	close(fd);
	br_sha256_out(&c, out);
	if (n < 0)
		return -EIO;
	return total == d->code_bytes && memcmp(out, d->code_sha256, 32) == 0 ? 0 : -EBADMSG;
}

static int list_functions(struct store *st, const struct store_report *rep, int *bad)
{
	char (*names)[STORE_NAME_MAX + 1] = malloc(POLICY_MAX_FUNCTIONS * sizeof *names);
	char err[ERRBUF_LEN] = "", hex[65];
	struct fn_decl *d = malloc(sizeof *d);
	uint8_t sha[32];
	int64_t c, u;
	long n = names == NULL ? -ENOMEM
			       : store_list(st, STORE_FUNCTIONS, names, POLICY_MAX_FUNCTIONS, rep, err);

	if (d == NULL || n < 0) {
		printf("bad functions: %s\n", d == NULL || names == NULL ? "out of memory" : err);
		free(d);
		free(names);
		return -1;
	}
	for (long i = 0; i < n; i++) {
		int r = store_fn_get(st, names[i], d, &c, &u, err);

		if (r == 0 && (r = code_sha256(st, d, sha, err)) == -EBADMSG)
			snprintf(err, sizeof err, "its code differs from its declaration");
		if (r != 0) {
			printf("bad function %s: %s\n", names[i], err);
			(*bad)++;
			continue;
		}
		hex_encode(hex, sha, 32);
		printf("function %s %s\n", names[i], hex);
	}
	free(d);
	free(names);
	return 0;
}

static int list_secrets(struct store *st, const struct store_report *rep, int *bad)
{
	char err[ERRBUF_LEN] = "", *val = malloc(FN_SECRET_VALUE_MAX + 1);
	char *hex = malloc(2 * FN_SECRET_VALUE_MAX + 1);
	char (*names)[STORE_NAME_MAX + 1] = malloc(STORE_MAX_SECRETS * sizeof *names);
	long n = names == NULL ? -ENOMEM
			       : store_list(st, STORE_SECRETS, names, STORE_MAX_SECRETS, rep, err);

	if (val == NULL || hex == NULL || n < 0) {
		printf("bad secrets: %s\n", n < 0 && names != NULL ? err : "out of memory");
		free(val);
		free(hex);
		free(names);
		return -1;
	}
	for (long i = 0; i < n; i++) {
		size_t len;

		if (store_secret_get(st, names[i], val, FN_SECRET_VALUE_MAX + 1, &len, NULL, NULL,
				     err) != 0) {
			printf("bad secret %s: %s\n", names[i], err);
			(*bad)++;
			continue;
		}
		hex_encode(hex, val, len);
		printf("secret %s %s\n", names[i], hex);
	}
	free(val);
	free(hex);
	free(names);
	return 0;
}

/* log_copy_tiles' source: the store's own tiles and bundles. */
static long logstore_get(void *ctx, const char *rel, void *buf, size_t cap, char *why,
			 size_t whycap)
{
	struct tlog_tile t;
	long n;

	if (tlog_tile_parse(rel, strlen(rel), &t) != 0)
		return errbuf_set(why, whycap, -EINVAL, "not a tile path");
	n = t.entries ? logstore_bundle(ctx, t.index, t.width, buf, cap)
		      : logstore_tile(ctx, t.level, t.index, t.width, buf, cap);
	if (n < 0)
		errbuf_set(why, whycap, (int)n, "the store has no such file (%s)", strerror((int)-n));
	return n;
}

static int log_state(const char *dir, const char *tiles, const char *size_s, int *bad)
{
	char path[4096], err[ERRBUF_LEN] = "";
	struct logstore *s = calloc(1, sizeof *s);
	int r;

	snprintf(path, sizeof path, "%s/logd-state/log", dir);
	if (s == NULL || (r = logstore_open(s, path, err)) != 0) {
		printf("bad log %s: %s\n", path, s == NULL ? "out of memory" : err);
		free(s);
		(*bad)++;
		return -1;
	}
	printf("log %llu %llu\n", (unsigned long long)logstore_committed(s),
	       (unsigned long long)s->torn_bytes);
	if (tiles != NULL) {
		uint64_t size = strtoull(size_s, NULL, 10);
		uint8_t *buf = malloc(LOG_BUNDLE_MAX);
		struct log_source src = { logstore_get, s };
		struct log_fetch_stats fs = { 0 };

		if (buf == NULL || mkdir(tiles, 0700) != 0 ||
		    log_copy_tiles(&src, tiles, size, buf, &fs, err, sizeof err) != 0) {
			printf("bad log tiles for size %llu: %s\n", (unsigned long long)size,
			       buf == NULL ? "out of memory" : err[0] ? err : strerror(errno));
			(*bad)++;
		}
		free(buf);
	}
	logstore_close(s);
	free(s);
	return 0;
}

static int cmd_state(const char *manifest, const char *disk, const char *dir, const char *tiles,
		     const char *size)
{
	struct manifest *m = load_manifest(manifest);
	struct store *st = calloc(1, sizeof *st);
	struct store_hdr h;
	struct store_keys k;
	uint8_t seal[32];
	char path[4096], err[ERRBUF_LEN] = "";
	int fd = -1, bad = 0;
	struct store_report rep = { report_bad, &bad }, rec = { report_recovered, NULL };

	if (m == NULL || st == NULL || open_header(m, disk, &fd, &h, &k) != 0) {
		if (fd >= 0)
			close(fd);
		free(m);
		free(st);
		return 1;
	}
	close(fd);
	datastore_secrets_key(k.seal, seal);
	store_keys_wipe(&k);
	snprintf(path, sizeof path, "%s/sandboxd-store", dir);
	if (store_open(st, path, &m->policy, seal, &rec, err) != 0) {
		printf("bad store %s: %s\n", path, err);
		bad++;
	} else {
		if (list_functions(st, &rep, &bad) != 0 || list_secrets(st, &rep, &bad) != 0)
			bad++;
		store_close(st);
	}
	explicit_bzero(seal, sizeof seal);
	log_state(dir, tiles, size, &bad);
	free(st);
	free(m);
	return bad ? 1 : 0;
}

static int cmd_xts(const char *keyhex, const char *sector, const char *count)
{
	uint8_t key[64];
	struct xts x;
	int r;

	if (strlen(keyhex) != 128 || hex_decode(key, sizeof key, keyhex, 128) != 64) {
		fprintf(stderr, "store_crash: the key is 128 hex digits\n");
		return 2;
	}
	xts_init(&x, key);
	r = xts_stream(&x, 0, 0, 1, strtoull(sector, NULL, 10), strtoull(count, NULL, 10));
	explicit_bzero(&x, sizeof x);
	return r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "open") == 0)
		return cmd_open(argv[2], argv[3], argv[4]);
	if ((argc == 5 || argc == 7) && strcmp(argv[1], "state") == 0)
		return cmd_state(argv[2], argv[3], argv[4], argc == 7 ? argv[5] : NULL,
				 argc == 7 ? argv[6] : NULL);
	if (argc == 5 && strcmp(argv[1], "xts") == 0)
		return cmd_xts(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: store_crash open MANIFEST DISK PLAIN\n"
			"       store_crash state MANIFEST DISK DIR [TILES SIZE]\n"
			"       store_crash xts KEYHEX SECTOR COUNT < IN > OUT\n");
	return 2;
}
