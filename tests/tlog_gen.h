/* tests/tlog_gen.h: writes an egress log directory in the C2SP tlog-tiles
 * layout, as the log role will (docs/LOG.md): DIR/checkpoint signed with a
 * test key, DIR/tile/<L>/<N>[.p/<W>] for every tile of the tree size and
 * DIR/tile/entries/<N>[.p/<W>]. Built from the pure core (crypto/merkle,
 * tlog_tiles, checkpoint, log_entry) independently of cli/log_verify.c, so
 * that the verifier is tested against logs it did not write.
 *
 * Test-only: it exits the test on any error it cannot report.
 */
#ifndef DSHIELD_TESTS_TLOG_GEN_H
#define DSHIELD_TESTS_TLOG_GEN_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/checkpoint.h"
#include "crypto/log_entry.h"
#include "crypto/merkle.h"
#include "crypto/tlog_tiles.h"
#include "lib/bbuf.h"

struct tg_key {
	struct note_key k;
	uint8_t x[32];
	br_ec_private_key sk;
	char vkey[NOTE_VKEY_MAX];
};

/* A log's entries: entry i is bytes[off[i] .. off[i + 1]). */
struct tg_log {
	uint64_t n;
	uint8_t *bytes;
	size_t *off;
	uint8_t (*leaf)[MERKLE_HASH_LEN];
};

__attribute__((noreturn))
static void tg_die(const char *what, const char *detail)
{
	printf("Bail out! tlog_gen: %s: %s\n", what, detail);
	exit(2);
}

/* A P-256 note key whose private scalar is SHA-256(seed). */
__attribute__((unused))
static void tg_key_init(struct tg_key *t, const char *name, const char *seed)
{
	uint8_t pub[BR_EC_KBUF_PUB_MAX_SIZE];
	br_ec_public_key pk;
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, seed, strlen(seed));
	br_sha256_out(&h, t->x);
	t->sk = (br_ec_private_key){ BR_EC_secp256r1, t->x, sizeof t->x };
	if (!br_ec_compute_pub(br_ec_get_default(), &pk, pub, &t->sk) ||
	    note_key_init(&t->k, name, strlen(name), pub) < 0 ||
	    note_key_vkey(&t->k, t->vkey, sizeof t->vkey) < 0)
		tg_die("key", name);
}

static void tg_str(struct log_str *s, const char *p)
{
	s->p = p;
	s->len = strlen(p);
}

/* Entry i of a log seeded by `seed`: the types in turn, small fields. */
static long tg_entry(uint8_t *out, size_t cap, uint64_t i, unsigned seed)
{
	static const char *const hosts[] = { "api.example.com", "db.example.net", "cdn.example.org" };
	static const char *const fns[] = { "fn-a", "fn-b" };
	struct log_entry e;

	memset(&e, 0, sizeof e);
	e.time_ns = 1700000000000000000ull + i * 1000 + seed;
	e.type = (uint8_t)(1 + i % 7);
	switch (e.type) {
	case LOG_BOOT:
		memset(e.u.boot.manifest, (int)seed, LOG_HASH_LEN);
		tg_str(&e.u.boot.backend, "sim");
		tg_str(&e.u.boot.instance, "i-0");
		break;
	case LOG_FUNCTION:
		e.u.function.op = (uint8_t)(1 + (i / 7) % 3);
		tg_str(&e.u.function.id, fns[(i / 7) % 2]);
		tg_str(&e.u.function.runtime, "wasm");
		break;
	case LOG_INVOCATION:
		tg_str(&e.u.invocation.function, fns[(i / 7) % 2]);
		tg_str(&e.u.invocation.invocation, "inv");
		e.u.invocation.run_ns = i;
		break;
	case LOG_EGRESS:
	case LOG_EGRESS_REFUSED:
		tg_str(&e.u.egress.function, fns[(i / 7) % 2]);
		tg_str(&e.u.egress.invocation, "inv");
		tg_str(&e.u.egress.method, "GET");
		tg_str(&e.u.egress.scheme, "https");
		tg_str(&e.u.egress.host, hosts[(i / 7) % 3]);
		e.u.egress.port = 443;
		tg_str(&e.u.egress.path, "/");
		e.u.egress.bytes_up = 10;
		e.u.egress.bytes_down = 100;
		e.u.egress.decision = e.type == LOG_EGRESS ? LOG_ALLOW : LOG_DENY;
		tg_str(&e.u.egress.rule, "r");
		tg_str(&e.u.egress.reason, "");
		break;
	case LOG_DNS_REFUSED:
		tg_str(&e.u.dns_refused.function, fns[(i / 7) % 2]);
		tg_str(&e.u.dns_refused.invocation, "inv");
		tg_str(&e.u.dns_refused.qname, "evil.example");
		e.u.dns_refused.qtype = 1;
		tg_str(&e.u.dns_refused.rule, "");
		tg_str(&e.u.dns_refused.reason, "not allowed");
		break;
	default:
		memset(e.u.attestation.nonce, (int)(i & 0xff), LOG_HASH_LEN);
		break;
	}
	return log_entry_encode(out, cap, &e);
}

/* n entries of seed `seed`, with their leaf hashes. */
__attribute__((unused))
static void tg_log_make(struct tg_log *l, uint64_t n, unsigned seed)
{
	size_t cap = (size_t)n * 128 + 1, used = 0;

	l->n = n;
	l->bytes = malloc(cap);
	l->off = malloc(((size_t)n + 1) * sizeof *l->off);
	l->leaf = malloc(((size_t)n + 1) * MERKLE_HASH_LEN);
	if (!l->bytes || !l->off || !l->leaf)
		tg_die("log", "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		long k = tg_entry(l->bytes + used, cap - used, i, seed);
		if (k < 0)
			tg_die("entry", strerror((int)-k));
		l->off[i] = used;
		merkle_leaf_hash(l->leaf[i], l->bytes + used, (size_t)k);
		used += (size_t)k;
	}
	l->off[n] = used;
}

/* merkle_node_fn over the leaves of a log (ctx: its struct tg_log). */
__attribute__((unused))
static int tg_node(void *ctx, unsigned level, uint64_t index, uint8_t h[MERKLE_HASH_LEN])
{
	const struct tg_log *l = ctx;
	struct merkle_range r;
	uint64_t a = index << level, b = (index + 1) << level;

	if (b > l->n)
		return -ENOENT;
	merkle_range_init(&r);
	for (uint64_t i = a; i < b; i++)
		merkle_range_append(&r, l->leaf[i]);
	merkle_range_root(&r, h);
	return 0;
}

/* SHA-256 of p[0..n). */
__attribute__((unused))
static void tg_sha256(const void *p, size_t n, uint8_t digest[32])
{
	br_sha256_context h;

	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, digest);
}

__attribute__((unused))
static void tg_log_free(struct tg_log *l)
{
	free(l->bytes);
	free(l->off);
	free(l->leaf);
}

/* Creates every directory of dir/rel's parent. */
static void tg_mkdirs(const char *dir, const char *rel)
{
	char p[4096];
	size_t dl = strlen(dir);

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	for (char *s = p + dl + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			tg_die("mkdir", p);
		*s = '/';
	}
}

/* Writes dir/rel (creating its directories), replacing it. */
__attribute__((unused))
static void tg_write(const char *dir, const char *rel, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	tg_mkdirs(dir, rel);
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
		tg_die("write", path);
}

/* The bundle of level-0 tile t (width w) from the entries listed in
 * order[0..count) (indices into l), as raw bytes into dir. */
__attribute__((unused))
static void tg_write_bundle(const char *dir, const struct tg_log *l, uint64_t t, unsigned w,
			    const uint64_t *order, unsigned count)
{
	static uint8_t buf[TLOG_TILE_WIDTH * (2 + 256)];
	struct tlog_tile tile = { true, 0, t, (uint16_t)w };
	char rel[TLOG_TILE_PATH_MAX];
	struct bbuf b;
	long n;

	bbuf_init(&b, buf, sizeof buf);
	for (unsigned i = 0; i < count; i++)
		tlog_bundle_append(&b, l->bytes + l->off[order[i]],
				   l->off[order[i] + 1] - l->off[order[i]]);
	n = bbuf_finish(&b);
	if (n < 0 || tlog_tile_path(rel, sizeof rel, &tile) < 0)
		tg_die("bundle", "does not fit");
	tg_write(dir, rel, buf, (size_t)n);
}

/* The signed checkpoint of the first m entries of l. */
__attribute__((unused))
static long tg_checkpoint(char *out, size_t cap, const struct tg_log *l, uint64_t m,
			  const struct tg_key *k)
{
	struct merkle_range r;
	struct checkpoint c = { 0 };

	merkle_range_init(&r);
	for (uint64_t i = 0; i < m; i++)
		merkle_range_append(&r, l->leaf[i]);
	c.origin = k->k.name;
	c.origin_len = k->k.name_len;
	c.size = m;
	merkle_range_root(&r, c.root);
	return checkpoint_sign(out, cap, &c, &k->k, &k->sk);
}

/* Writes the whole log directory for l's n entries. */
__attribute__((unused))
static void tg_write_log(const char *dir, const struct tg_log *l, const struct tg_key *k)
{
	static uint8_t tile[TLOG_TILE_WIDTH][MERKLE_HASH_LEN];
	static uint64_t order[TLOG_TILE_WIDTH];
	char note[NOTE_MAX_LEN], rel[TLOG_TILE_PATH_MAX];
	int top = tlog_tiles_top_level(l->n);
	long n;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		tg_die("mkdir", dir);
	for (int level = 0; level <= top; level++) {
		uint64_t full;
		unsigned pw = tlog_tiles_at_level(l->n, (unsigned)level, &full);

		for (uint64_t t = 0; t < full + (pw ? 1 : 0); t++) {
			struct tlog_tile tt = { false, (uint8_t)level, t,
						(uint16_t)(t < full ? TLOG_TILE_WIDTH : pw) };
			if (tlog_tile_from_leaves((const uint8_t (*)[MERKLE_HASH_LEN])l->leaf, l->n,
						  &tt, tile) < 0 ||
			    tlog_tile_path(rel, sizeof rel, &tt) < 0)
				tg_die("tile", "out of range");
			tg_write(dir, rel, tile, (size_t)tt.width * MERKLE_HASH_LEN);
			if (level == 0) {
				for (unsigned i = 0; i < tt.width; i++)
					order[i] = t * TLOG_TILE_WIDTH + i;
				tg_write_bundle(dir, l, t, tt.width, order, tt.width);
			}
		}
	}
	n = tg_checkpoint(note, sizeof note, l, l->n, k);
	if (n < 0)
		tg_die("checkpoint", strerror((int)-n));
	tg_write(dir, "checkpoint", note, (size_t)n);
}

#endif
