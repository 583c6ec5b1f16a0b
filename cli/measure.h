/* cli/measure.h: `dshield measure`, the measurement predictor. */
#ifndef DSHIELD_CLI_MEASURE_H
#define DSHIELD_CLI_MEASURE_H

/* argv[0] is "measure". Returns the process exit status. */
int cmd_measure(int argc, char **argv);

#endif
