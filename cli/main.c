/* cli/main.c: the host command `dshield`. Subcommands dispatch from here. */
#include <stdio.h>
#include <string.h>

#include "cli/kms.h"
#include "cli/log_verify.h"
#include "cli/measure.h"
#include "cli/receipt.h"
#include "cli/reportdata.h"
#include "cli/verify.h"

static int usage(FILE *f)
{
	fprintf(f,
		"usage: dshield COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  kms         the encrypted store's key provider: an HTTP server (docs/KMS.md)\n"
		"  log verify  verify an egress log: a saved directory, or fetched from a URL (docs/LOG.md)\n"
		"  measure     predict MRTD/RTMR1/RTMR2 of an image (docs/MEASURE.md)\n"
		"  receipt verify  verify an invocation's receipt, its files and its log entries (docs/VERIFY.md)\n"
		"  reportdata  the REPORTDATA a dshield quote holds for a preimage (docs/VERIFY.md)\n"
		"  verify      verify a TDX quote offline (docs/VERIFY.md)\n"
		"  version     print the version\n");
	return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("dshield %s\n", DSHIELD_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "kms") == 0)
		return cmd_kms(argc - 1, argv + 1);
	if (strcmp(argv[1], "log") == 0)
		return cmd_log(argc - 1, argv + 1);
	if (strcmp(argv[1], "receipt") == 0)
		return cmd_receipt(argc - 1, argv + 1);
	if (strcmp(argv[1], "measure") == 0)
		return cmd_measure(argc - 1, argv + 1);
	if (strcmp(argv[1], "reportdata") == 0)
		return cmd_reportdata(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)
		return usage(stdout);
	fprintf(stderr, "dshield: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
