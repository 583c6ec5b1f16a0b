/* cli/verify.h: `dshield verify` (see cli/verify.c and docs/VERIFY.md). */
#ifndef DSHIELD_CLI_VERIFY_H
#define DSHIELD_CLI_VERIFY_H

/* argv[0] is "verify". Returns the process exit status. */
int cmd_verify(int argc, char **argv);

#endif
