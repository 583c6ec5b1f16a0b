/* cli/log_verify.h: `dshield log verify`, the offline verifier of a saved
 * egress log directory (see cli/log_verify.c and docs/LOG.md). */
#ifndef DSHIELD_CLI_LOG_VERIFY_H
#define DSHIELD_CLI_LOG_VERIFY_H

/* argv[0] is "log", argv[1] the subcommand ("verify"). Returns the
 * process exit status: 0 every check passed, 1 a check failed, 2 usage. */
int cmd_log(int argc, char **argv);

#endif
