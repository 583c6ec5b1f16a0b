/* cli/receipt.h: `dshield receipt verify`, the host-side check of an
 * invocation's receipt (docs/LOG.md "Receipts", docs/VERIFY.md). */
#ifndef DSHIELD_CLI_RECEIPT_H
#define DSHIELD_CLI_RECEIPT_H

/* argv[0] is "receipt", argv[1] the subcommand ("verify"). Returns the
 * process exit status: 0 every check passed, 1 a check failed, 2 usage. */
int cmd_receipt(int argc, char **argv);

#endif
