/* image/mkanchors.c: build-time tool, converts PEM certificates (Debian's
 * ca-certificates, /usr/share/ca-certificates/mozilla/NAME.crt) into the
 * egress proxy's trust anchor file (tls/anchors.h, docs/TLS.md).
 *
 *   mkanchors -o FILE CERT.pem...
 *
 * Anchors are written in the order of the arguments (image/build-image
 * passes them sorted by name), every certificate marked as a CA: being in
 * the store is what makes a root trusted, whatever its own basicConstraints
 * say. The output is read back with anchors_parse() before it is written,
 * so the tool never leaves a file the loader would refuse. A certificate
 * BearSSL cannot read stops the build with the file's name.
 */
#include "crypto/x509_chain.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "tls/anchors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A PEM file holds a root or two (cross-signed): 64 KiB is plenty. */
#define PEM_MAX 65536
#define OUT_MAX (ANCHORS_HEADER_LEN + ANCHORS_MAX * ANCHORS_RECORD_MAX)

static uint8_t out[OUT_MAX];
static struct x509_chain chain;
static br_x509_trust_anchor ta[ANCHORS_MAX];

static void usage(void)
{
	fprintf(stderr, "usage: mkanchors -o FILE CERT.pem...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *outpath = NULL;
	char err[ERRBUF_LEN];
	size_t len = ANCHORS_HEADER_LEN, count = 0;
	struct anchors a;
	int opt;

	while ((opt = getopt(argc, argv, "o:h")) != -1) {
		if (opt == 'o')
			outpath = optarg;
		else
			usage();
	}
	if (!outpath || optind >= argc)
		usage();
	for (int i = optind; i < argc; i++) {
		unsigned char *pem;
		size_t pem_len;
		int r = file_read_alloc(argv[i], PEM_MAX, &pem, &pem_len);

		if (r < 0) {
			fprintf(stderr, "mkanchors: %s: %s\n", argv[i], strerror(-r));
			return 1;
		}
		r = x509_chain_from_pem(&chain, (const char *)pem, pem_len, err, sizeof err);
		free(pem);
		if (r < 0) {
			fprintf(stderr, "mkanchors: %s: %s\n", argv[i], err);
			return 1;
		}
		for (size_t k = 0; k < chain.n; k++) {
			long n = anchors_record(out + len, sizeof out - len, chain.cert[k].der,
						chain.cert[k].len, ANCHOR_FLAG_CA, err, sizeof err);
			if (n < 0 || ++count > ANCHORS_MAX) {
				fprintf(stderr, "mkanchors: %s: %s\n", argv[i],
					n == -ENOSPC || n >= 0 ? "too many anchors" : err);
				return 1;
			}
			len += (size_t)n;
		}
	}
	anchors_header(out, sizeof out, count);
	anchors_init(&a, ta, ANCHORS_MAX);
	if (anchors_parse(&a, out, len, 0, err, sizeof err) != (long)count) {
		fprintf(stderr, "mkanchors: internal error: %s\n", err);
		return 1;
	}
	if (file_replace(outpath, out, len, err, sizeof err) < 0) {
		fprintf(stderr, "mkanchors: %s\n", err);
		return 1;
	}
	printf("mkanchors: %s: %zu anchors, %zu bytes\n", outpath, count, len);
	return 0;
}
