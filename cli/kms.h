/* cli/kms.h: `dshield kms` (see cli/kms.c and docs/KMS.md). */
#ifndef DSHIELD_CLI_KMS_H
#define DSHIELD_CLI_KMS_H

/* argv[0] is "kms". Returns the process exit status. */
int cmd_kms(int argc, char **argv);

#endif
