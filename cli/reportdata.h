/* cli/reportdata.h: `dshield reportdata`, the expected REPORTDATA of a
 * dshield quote from its preimage (crypto/reportdata.h). */
#ifndef DSHIELD_CLI_REPORTDATA_H
#define DSHIELD_CLI_REPORTDATA_H

/* argv[0] is "reportdata". Returns the process exit status. */
int cmd_reportdata(int argc, char **argv);

#endif
