/* image/mkpolicy.c: build-time tool, validates an operator's policy
 * (docs/POLICY.md) and prints its canonical form.
 *
 *   mkpolicy [-o FILE] POLICY.json     canonical JSON, no final newline
 *   mkpolicy -s POLICY.json            SHA-256 of the canonical form (hex)
 *
 * image/build-image embeds the canonical bytes in the manifest as
 * "policy" and their SHA-256 as "policy_sha256"; `mkpolicy -s` on the
 * operator's own file gives the value a verifier expects there. A policy
 * that does not validate prints "mkpolicy: FILE: path: reason" and exits 1.
 * With -o, a failed run leaves no FILE behind.
 */
#include "crypto/policy.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "tls/anchors.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct policy_tokens toks;
static struct policy pol;
static char canon[POLICY_CANON_MAX + 1];

static void usage(void)
{
	fprintf(stderr, "usage: mkpolicy [-o FILE] POLICY.json | mkpolicy -s POLICY.json\n");
	exit(2);
}

static int write_full(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *outpath = NULL, *path;
	char err[ERRBUF_LEN], hex[65];
	unsigned char *buf;
	bool digest = false;
	size_t len;
	long n;
	int opt, r, fd = STDOUT_FILENO;

	while ((opt = getopt(argc, argv, "o:sh")) != -1) {
		if (opt == 'o')
			outpath = optarg;
		else if (opt == 's')
			digest = true;
		else
			usage();
	}
	if (argc - optind != 1 || (digest && outpath))
		usage();
	path = argv[optind];

	r = file_read_alloc(path, POLICY_MAX_BYTES, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "mkpolicy: %s: %s\n", path,
			r == -EFBIG ? "larger than the policy limit (256 KiB)" : strerror(-r));
		return 1;
	}
	r = policy_parse((const char *)buf, len, &toks, &pol, err, sizeof err);
	free(buf);
	if (r < 0) {
		fprintf(stderr, "mkpolicy: %s: %s\n", path, err);
		return 1;
	}
	/* each of extra_anchors as netd will take it: an anchor record */
	for (unsigned k = 0; k < pol.nanchors; k++) {
		static uint8_t rec[ANCHORS_RECORD_MAX];
		if (anchors_record(rec, sizeof rec, pol.anchors[k].der, pol.anchors[k].len,
				   ANCHOR_FLAG_CA, err, sizeof err) < 0) {
			fprintf(stderr, "mkpolicy: %s: extra_anchors (sorted) [%u]: %s\n", path, k, err);
			return 1;
		}
	}
	n = policy_write(&pol, canon, sizeof canon);
	if (n < 0) {
		fprintf(stderr, "mkpolicy: %s: canonical form: %s\n", path, strerror((int)-n));
		return 1;
	}

	if (digest) {
		br_sha256_context h;
		uint8_t sum[32];
		br_sha256_init(&h);
		br_sha256_update(&h, canon, (size_t)n);
		br_sha256_out(&h, sum);
		hex_encode(hex, sum, sizeof sum);
		printf("%s\n", hex);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (outpath) {
		fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "mkpolicy: %s: %s\n", outpath, strerror(errno));
			return 1;
		}
	}
	if (write_full(fd, canon, (size_t)n) < 0 || (outpath && close(fd) < 0)) {
		fprintf(stderr, "mkpolicy: writing %s: %s\n", outpath ? outpath : "stdout", strerror(errno));
		if (outpath)
			unlink(outpath);
		return 1;
	}
	return 0;
}
