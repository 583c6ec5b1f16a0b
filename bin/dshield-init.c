/* bin/dshield-init.c: the binary's main, and the role table.
 *
 * This is the one file that knows every role (OpenBSD relayd's procs[]):
 * init/ supervises rows of this table without knowing what the roles do,
 * and each role's code knows only its own protocols (proto/).
 *
 *   PID 1                     init_pid1(): boot, then supervise the roles
 *   dshield-init ROLE         a role, exec'd by init inside its confinement:
 *                             its seccomp set first, then its main
 *   dshield-init --host ...   init_host(): supervision without booting
 */
#include "init/init.h"
#include "init/role.h"
#include "keyd/keyd.h"
#include "lib/log.h"
#include "logd/logd.h"
#include "net/netd.h"

#include <string.h>
#include <unistd.h>

/* keyd's view: the TDX device, configfs-tsm and the RTMR3 attribute (on a
 * TDX guest), the launcher's measurements (QEMU fw_cfg, for sim); each
 * optional, at the same path as in init's view. Its /state is added by
 * has_state. */
static const struct privdrop_bind keyd_binds[] = {
	{ ATTEST_TDX_DEV, ATTEST_TDX_DEV, PRIVDROP_BIND_RW | PRIVDROP_BIND_DEV | PRIVDROP_BIND_OPTIONAL },
	{ TSM_REPORT_ROOT, TSM_REPORT_ROOT, PRIVDROP_BIND_RW | PRIVDROP_BIND_OPTIONAL },
	{ ATTEST_RTMR3_PATH, ATTEST_RTMR3_PATH, PRIVDROP_BIND_RW | PRIVDROP_BIND_OPTIONAL },
	{ ATTEST_FWCFG_MEAS, ATTEST_FWCFG_MEAS, PRIVDROP_BIND_OPTIONAL },
};

static const struct role_spec roles[ROLE_COUNT] = {
	[ROLE_NETD] = {
		.name = "netd", .id = ROLE_NETD,
		.uid = 100, .gid = 100,
		.new_netns = true,
		.seccomp = netd_seccomp_rules, .nseccomp = &netd_seccomp_nrules,
		.peers = 1u << ROLE_KEYD | 1u << ROLE_LOGD,
		.restart_min_ms = 100, .restart_max_ms = 10000,
		.main = netd_main,
	},
	[ROLE_KEYD] = {
		.name = "keyd", .id = ROLE_KEYD,
		.uid = 0, .gid = 0, .uid0_nocaps = true,
		.new_netns = true,
		.binds = keyd_binds, .nbinds = sizeof keyd_binds / sizeof keyd_binds[0],
		.has_state = true,
		.seccomp = keyd_seccomp_rules, .nseccomp = &keyd_seccomp_nrules,
		.peers = 1u << ROLE_NETD | 1u << ROLE_LOGD,
		.restart_min_ms = 100, .restart_max_ms = 10000,
		.main = keyd_main,
	},
	/* logd: its own uid, no network, a view holding only its /state
	 * (the store, /state/log); keyd signs its checkpoints, netd logs. */
	[ROLE_LOGD] = {
		.name = "logd", .id = ROLE_LOGD,
		.uid = 101, .gid = 101,
		.new_netns = true,
		.has_state = true,
		.seccomp = logd_seccomp_rules, .nseccomp = &logd_seccomp_nrules,
		.peers = 1u << ROLE_NETD | 1u << ROLE_KEYD,
		.restart_min_ms = 100, .restart_max_ms = 10000,
		.main = logd_main,
	},
};

int main(int argc, char **argv)
{
	if (getpid() == 1)
		init_pid1(roles, ROLE_COUNT);
	for (size_t i = 0; argc >= 2 && i < ROLE_COUNT; i++)
		if (strcmp(argv[1], roles[i].name) == 0)
			return role_enter(&roles[i]);
	return init_host(argc, argv, roles, ROLE_COUNT);
}
