/* tests/test_anchors.c: tls/anchors (the trust anchor file): records made
 * from certificates and read back, every malformed form refused with
 * nothing added, and Debian's roots (build/deps/ca-certificates, when
 * unpacked) converted, loaded and each validating itself through
 * br_x509_minimal with the loaded anchors. */
#include "crypto/x509_chain.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "tap.h"
#include "tls/anchors.h"
#include "tls/cert.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1767225600LL   /* 2026-01-01 */
#define CADIR "build/deps/ca-certificates/usr/share/ca-certificates/mozilla"

static uint8_t file[ANCHORS_HEADER_LEN + ANCHORS_MAX * ANCHORS_RECORD_MAX];
static br_x509_trust_anchor ta[ANCHORS_MAX];
static struct cert_ca ca;
static br_hmac_drbg_context rng;

/* A file of the CA's record and a leaf's (flags as given). */
static size_t make_file(uint8_t *out, size_t cap, unsigned leaf_flags)
{
	uint8_t leaf[CERT_DER_MAX];
	struct cert_validity v = { NOW - 3600, NOW + 86400 };
	char err[ERRBUF_LEN];
	long n = cert_leaf(&ca, &rng, "www.example.com", 15, &v, leaf, sizeof leaf);
	size_t len = ANCHORS_HEADER_LEN;
	long r;

	r = anchors_record(out + len, cap - len, ca.der, ca.der_len, 0, err, sizeof err);
	len += (size_t)r;
	r = anchors_record(out + len, cap - len, leaf, (size_t)n, leaf_flags, err, sizeof err);
	len += (size_t)r;
	anchors_header(out, cap, 2);
	return len;
}

static void test_roundtrip(void)
{
	struct anchors a;
	char err[ERRBUF_LEN];
	size_t len = make_file(file, sizeof file, 0);

	anchors_init(&a, ta, ANCHORS_MAX);
	is_int(anchors_parse(&a, file, len, 0, err, sizeof err), 2, "two records read back");
	is_int(a.n, 2, "two anchors");
	is_int(a.n_extra, 0, "none extra");
	ok(ta[0].dn.len == ca.dn_len && memcmp(ta[0].dn.data, ca.dn, ca.dn_len) == 0,
	   "the CA's Name, byte for byte");
	ok(ta[0].flags == BR_X509_TA_CA, "the CA is a CA (its basicConstraints)");
	ok(ta[0].pkey.key_type == BR_KEYTYPE_EC && ta[0].pkey.key.ec.curve == BR_EC_secp256r1 &&
	   ta[0].pkey.key.ec.qlen == 65 && memcmp(ta[0].pkey.key.ec.q, ca.key.pub, 65) == 0,
	   "the CA's P-256 key");
	ok(ta[1].flags == 0, "a leaf with flags 0 is not a CA");
	ok(memcmp(ta[1].pkey.key.ec.q, ca.leaf_key.pub, 65) == 0, "the leaf's key");
	ok((uint8_t *)ta[0].dn.data > file && (uint8_t *)ta[0].dn.data < file + len,
	   "entries point into the file (no copy)");

	len = make_file(file, sizeof file, ANCHOR_FLAG_CA);
	is_int(anchors_parse(&a, file, len, 1, err, sizeof err), 2, "appended as extra anchors");
	is_int(a.n, 4, "four anchors");
	is_int(a.n_extra, 2, "two extra");
	ok(ta[3].flags == BR_X509_TA_CA, "ANCHOR_FLAG_CA makes the leaf a CA anchor");

	anchors_init(&a, ta, 1);
	is_int(anchors_parse(&a, file, len, 0, err, sizeof err), -ENOSPC, "more records than room: -ENOSPC");
	is_int(a.n, 0, "nothing added");

	uint8_t small[64];
	is_int(anchors_record(small, sizeof small, ca.der, ca.der_len, 0, err, sizeof err), -ENOSPC,
	       "record into a short buffer: -ENOSPC");
	is_int(anchors_record(small, sizeof small, ca.der, ca.der_len - 1, 0, err, sizeof err), -EBADMSG,
	       "a truncated certificate: -EBADMSG");
	is_int(anchors_header(small, 4, 1), -ENOSPC, "header into 4 bytes: -ENOSPC");
	is_int(anchors_header(small, 8, 70000), -EINVAL, "header for 70000: -EINVAL");
}

/* Each mutation refused with -EBADMSG and nothing added. */
static void refused(const uint8_t *buf, size_t len, const char *what)
{
	struct anchors a;
	char err[ERRBUF_LEN] = "";

	anchors_init(&a, ta, ANCHORS_MAX);
	long r = anchors_parse(&a, buf, len, 0, err, sizeof err);
	ok(r == -EBADMSG && a.n == 0 && err[0], "%s: refused (%s)", what, err);
}

static void test_malformed(void)
{
	static uint8_t m[4096];
	size_t len = make_file(file, sizeof file, 0);
	size_t rec1 = ANCHORS_HEADER_LEN;       /* the CA's record */
	size_t dn = rec1 + 4;                   /* its Name */
	size_t key = dn + ca.dn_len;            /* curve, then point length */
	int all = 1;

	for (size_t i = 0; i < len; i++) {
		struct anchors a;
		anchors_init(&a, ta, ANCHORS_MAX);
		if (anchors_parse(&a, file, i, 0, NULL, 0) != -EBADMSG || a.n != 0)
			all = 0;
	}
	ok(all, "every truncation (0..%zu bytes) refused, nothing added", len - 1);

#define MUT(stmt, what) do { memcpy(m, file, len); stmt; refused(m, len, what); } while (0)
	MUT(m[0] = 'X', "bad magic");
	MUT(m[4] = 2, "version 2");
	MUT(m[5] = 1, "reserved byte set");
	MUT(m[7] = 3, "count 3 for two records");
	MUT(m[rec1] = 0x81, "unknown flag");
	MUT(m[rec1 + 1] = 3, "unknown key type");
	MUT(m[dn] = 0x31, "Name not a SEQUENCE");
	MUT(m[rec1 + 3] = 1, "Name of 1 byte");
	MUT(m[key] = 22, "curve secp256k1");
	MUT(m[key + 2] = 64, "P-256 point of 64 bytes");
	MUT(m[key + 3] = 0x02, "compressed point");
	memcpy(m, file, len);
	m[len] = 0;
	refused(m, len + 1, "a byte after the last record");

	/* RSA: a record written by hand */
	static const uint8_t rsa_ok[] = {
		'D', 'S', 'T', 'A', 1, 0, 0, 1,
		1, 1, 0, 2, 0x30, 0x00, 0, 2, 0xc1, 0x01, 0, 3, 0x01, 0x00, 0x01,
	};
	struct anchors a;
	anchors_init(&a, ta, ANCHORS_MAX);
	ok(anchors_parse(&a, rsa_ok, sizeof rsa_ok, 0, NULL, 0) == 1 && ta[0].pkey.key_type == BR_KEYTYPE_RSA &&
	   ta[0].pkey.key.rsa.nlen == 2 && ta[0].pkey.key.rsa.elen == 3, "an RSA record read");
	memcpy(m, rsa_ok, sizeof rsa_ok);
	m[16] = 0;
	refused(m, sizeof rsa_ok, "RSA modulus with a leading zero");
	memcpy(m, rsa_ok, sizeof rsa_ok);
	m[20] = 0;
	refused(m, sizeof rsa_ok, "RSA exponent with a leading zero");
	memcpy(m, rsa_ok, sizeof rsa_ok);
	m[15] = 0;
	m[14] = 0;
	refused(m, sizeof rsa_ok, "RSA modulus of 0 bytes");
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Debian's roots, converted as mkanchors does, each validating itself. */
static void test_debian(void)
{
	static struct x509_chain ch;
	static char *names[ANCHORS_MAX];
	static uint8_t der[ANCHORS_MAX][2048];
	static size_t der_len[ANCHORS_MAX];
	char err[ERRBUF_LEN], path[512];
	size_t n = 0, len = ANCHORS_HEADER_LEN, good = 0, expired = 0, rsa = 0, ec = 0;
	struct anchors a;
	struct dirent *e;
	DIR *d = opendir(CADIR);

	if (!d) {
		ok(1, "Debian roots # SKIP %s not unpacked", CADIR);
		return;
	}
	while ((e = readdir(d)) && n < ANCHORS_MAX)
		if (strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".crt") == 0)
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof names[0], name_cmp);
	int conv = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char *pem;
		size_t pl;
		snprintf(path, sizeof path, "%s/%s", CADIR, names[i]);
		if (file_read_alloc(path, 65536, &pem, &pl) < 0 ||
		    x509_chain_from_pem(&ch, (char *)pem, pl, err, sizeof err) != 1 ||
		    ch.cert[0].len > sizeof der[0]) {
			conv = 0;
			diag("%s: %s", names[i], err);
			continue;
		}
		free(pem);
		memcpy(der[i], ch.cert[0].der, ch.cert[0].len);
		der_len[i] = ch.cert[0].len;
		long r = anchors_record(file + len, sizeof file - len, der[i], der_len[i], ANCHOR_FLAG_CA,
					err, sizeof err);
		if (r < 0) {
			conv = 0;
			diag("%s: %s", names[i], err);
			continue;
		}
		len += (size_t)r;
	}
	ok(conv && n > 100, "%zu Debian roots converted (%zu bytes)", n, len);
	anchors_header(file, sizeof file, n);
	anchors_init(&a, ta, ANCHORS_MAX);
	is_int(anchors_parse(&a, file, len, 0, err, sizeof err), (long)n, "and loaded");
	for (size_t i = 0; i < a.n; i++) {
		rsa += ta[i].pkey.key_type == BR_KEYTYPE_RSA;
		ec += ta[i].pkey.key_type == BR_KEYTYPE_EC;
	}
	diag("%zu RSA, %zu EC anchors", rsa, ec);

	/* Each root as a one-certificate chain: trusted only when the loaded
	 * anchor's Name and key are its own (it is signed by itself). */
	uint32_t days, secs;
	x509_time_from_unix(NOW, &days, &secs);
	for (size_t i = 0; i < n; i++) {
		br_x509_minimal_context xc;
		br_x509_minimal_init_full(&xc, ta, a.n);
		br_x509_minimal_set_time(&xc, days, secs);
		xc.vtable->start_chain(&xc.vtable, NULL);
		xc.vtable->start_cert(&xc.vtable, (uint32_t)der_len[i]);
		xc.vtable->append(&xc.vtable, der[i], der_len[i]);
		xc.vtable->end_cert(&xc.vtable);
		unsigned r = xc.vtable->end_chain(&xc.vtable);
		if (r == 0)
			good++;
		else if (r == BR_ERR_X509_EXPIRED)
			expired++;   /* still in Debian's store (Baltimore, 2025-05-12) */
		else
			diag("%s: BearSSL %u (%s)", names[i], r, x509_err_name((int)r));
		free(names[i]);
	}
	/* the same bytes from a file, as netd reads them */
	static uint8_t fbuf[ANCHORS_FILE_MAX + 1];
	char tmp[] = "/tmp/test_anchors.XXXXXX";
	int fd = mkstemp(tmp);
	struct anchors b;
	br_x509_trust_anchor *tb = calloc(ANCHORS_MAX, sizeof *tb);
	anchors_init(&b, tb, ANCHORS_MAX);
	ok(fd >= 0 && file_write_all(fd, file, len) == 0 &&
	   anchors_load_file(&b, tmp, fbuf, ANCHORS_FILE_MAX, err, sizeof err) == (long)n &&
	   memcmp(tb[n - 1].dn.data, ta[n - 1].dn.data, ta[n - 1].dn.len) == 0,
	   "anchors_load_file reads the same anchors");
	anchors_init(&b, tb, ANCHORS_MAX);
	is_int(anchors_load_file(&b, tmp, fbuf, len - 1, err, sizeof err), -EFBIG,
	       "a file larger than the buffer: -EFBIG (%s)", err);
	is_int(anchors_load_file(&b, "/nonexistent/anchors", fbuf, ANCHORS_FILE_MAX, err, sizeof err), -ENOENT,
	       "a missing file: -ENOENT");
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tb);

	ok(good + expired == n && good > 100,
	   "every root validates against the loaded anchors (%zu of %zu; %zu expired at NOW)", good, n, expired);
}

int main(void)
{
	if (cert_drbg_seed(&rng) < 0 || cert_ca_init(&ca, &rng, "test", 4, NOW, NOW + 86400 * 30) < 0) {
		ok(0, "setup");
		return tap_done();
	}
	test_roundtrip();
	test_malformed();
	test_debian();
	return tap_done();
}
