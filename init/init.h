/* init/init.h: PID 1 and host mode, given the role table.
 *
 *   PID 1 (booted by the kernel)   mount, sysctls, manifest, modules, command
 *                                  line, eth0, then supervise every role;
 *                                  never exits
 *   dshield-init --host ...        the same supervision as an ordinary root
 *                                  process: no mounts, modules or sysctls
 *
 * The table itself lives in bin/dshield-init.c, the one file that knows
 * every role.
 */
#ifndef DSHIELD_INIT_INIT_H
#define DSHIELD_INIT_INIT_H

#include <stddef.h>

#include "init/role.h"

_Noreturn void init_pid1(const struct role_spec *roles, size_t nroles);
int init_host(int argc, char **argv, const struct role_spec *roles, size_t nroles);

#endif
