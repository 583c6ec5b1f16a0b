/* cli/reportdata.c: `dshield reportdata [--nonce HEX] [--manifest-sha256 HEX]
 * [--api-tls-spki-sha256 HEX] [--log-key-sha256 HEX] [--checkpoint HEX]
 * [--kms-request-sha256 HEX]`
 * prints the 64-byte REPORTDATA (128 lowercase hex digits) a dshield VM
 * puts in its quote for that preimage; an option not given is an absent
 * field. Feed the result to `dshield verify --report-data`. */
#include "cli/reportdata.h"
#include "crypto/reportdata.h"
#include "lib/hex.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int usage(FILE *f)
{
	fprintf(f,
		"usage: dshield reportdata [--nonce HEX] [--manifest-sha256 HEX]\n"
		"                          [--api-tls-spki-sha256 HEX] [--log-key-sha256 HEX]\n"
		"                          [--checkpoint HEX] [--kms-request-sha256 HEX]\n"
		"\n"
		"Prints the REPORTDATA (SHA-512, hex) of a dshield quote for these fields\n"
		"(docs/VERIFY.md, \"REPORTDATA\"); a field not given is absent.\n");
	return f == stderr ? 2 : 0;
}

int cmd_reportdata(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nonce", required_argument, NULL, RD_NONCE },
		{ "manifest-sha256", required_argument, NULL, RD_MANIFEST_SHA256 },
		{ "api-tls-spki-sha256", required_argument, NULL, RD_API_TLS_SPKI_SHA256 },
		{ "log-key-sha256", required_argument, NULL, RD_LOG_KEY_SHA256 },
		{ "checkpoint", required_argument, NULL, RD_CHECKPOINT },
		{ "kms-request-sha256", required_argument, NULL, RD_KMS_REQUEST_SHA256 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t bytes[RD_NFIELDS][RD_CHECKPOINT_MAX];
	struct reportdata_in in;
	uint8_t out[RD_LEN];
	char hex[2 * RD_LEN + 1];
	int opt;

	memset(&in, 0, sizeof in);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'h')
			return usage(stdout);
		if (opt < RD_NONCE || opt > RD_NFIELDS) {
			fprintf(stderr, "dshield reportdata: bad option %s\n", argv[optind - 1]);
			return usage(stderr);
		}
		struct rd_value *v = &in.f[opt - 1];
		ssize_t n = hex_decode(bytes[opt - 1], sizeof bytes[0], optarg, strlen(optarg));
		if (n < 0 || v->present) {
			fprintf(stderr, "dshield reportdata: --%s: %s\n", reportdata_field_name(opt),
				v->present ? "given twice" : "not hex (or too long)");
			return 2;
		}
		*v = (struct rd_value){ true, bytes[opt - 1], (size_t)n };
	}
	if (optind < argc) {
		fprintf(stderr, "dshield reportdata: unexpected argument %s\n", argv[optind]);
		return usage(stderr);
	}
	if (reportdata_compute(&in, out) < 0) {
		fprintf(stderr, "dshield reportdata: a field has the wrong length (nonce at most 32 "
			"bytes, hashes exactly 32, checkpoint at most %u)\n", RD_CHECKPOINT_MAX);
		return 2;
	}
	hex_encode(hex, out, sizeof out);
	printf("%s\n", hex);
	return 0;
}
