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
#include "sandboxd/sandboxd.h"


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

/* sandboxd's view: its /state (has_state, tmpfs: code copies it execs,
 * the sandbox root), its /store (store_dir: functions, secrets, tokens; on
 * the encrypted store when there is one, which is noexec), the runtime layers and the policy init verified (both
 * read-only), /proc (a function's network namespace is made by a child
 * and reached through /proc/PID/ns/net), the five device nodes every
 * sandbox binds, and the delegated cgroup subtree (writable: it makes
 * the cgroups of functions and workers). */
#define DEVNODE(n) { "/dev/" n, "/dev/" n, PRIVDROP_BIND_RW | PRIVDROP_BIND_DEV }
static const struct privdrop_bind sandboxd_binds[] = {
	/* recursive: in the VM each layer is a mount of its own below it */
	{ SANDBOXD_LAYERS_SRC, SANDBOXD_LAYERS_DIR, PRIVDROP_BIND_OPTIONAL | PRIVDROP_BIND_REC },
	{ SANDBOXD_POLICY_SRC, SANDBOXD_POLICY_PATH, PRIVDROP_BIND_OPTIONAL },
	{ SANDBOXD_CGROUP_SRC, SANDBOXD_CGROUP_DIR, PRIVDROP_BIND_RW | PRIVDROP_BIND_OPTIONAL },
	{ "/proc", "/proc", PRIVDROP_BIND_RW },
	DEVNODE("null"), DEVNODE("zero"), DEVNODE("full"), DEVNODE("random"), DEVNODE("urandom"),
};

static const struct role_spec roles[ROLE_COUNT] = {
	[ROLE_NETD] = {
		.name = "netd", .id = ROLE_NETD,
		.uid = 100, .gid = 100,
		.new_netns = true,
		.nofile = NETD_NOFILE,
		.seccomp = netd_seccomp_rules, .nseccomp = &netd_seccomp_nrules,
		.peers = 1u << ROLE_KEYD | 1u << ROLE_LOGD | 1u << ROLE_SANDBOXD,
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
		.peers = 1u << ROLE_NETD | 1u << ROLE_LOGD | 1u << ROLE_SANDBOXD,
		.restart_min_ms = 100, .restart_max_ms = 10000,
		.main = keyd_main,
	},
	/* logd: its own uid, no network, a view holding only its /state
	 * (the store, /state/log); keyd signs its checkpoints, netd logs. */
	[ROLE_LOGD] = {
		.name = "logd", .id = ROLE_LOGD,
		.uid = 101, .gid = 101,
		.new_netns = true,
		.has_state = true, .state_on_store = true, .needs_store = true,
		.seccomp = logd_seccomp_rules, .nseccomp = &logd_seccomp_nrules,
		.peers = 1u << ROLE_NETD | 1u << ROLE_KEYD | 1u << ROLE_SANDBOXD,
		.restart_min_ms = 100, .restart_max_ms = 10000,
		.main = logd_main,
	},
	/* sandboxd: uid 0 keeping SANDBOXD_CAPS, no network of its own (each
	 * function gets a namespace it makes), the view above plus /state and
	 * /store */
	[ROLE_SANDBOXD] = {
		.name = "sandboxd", .id = ROLE_SANDBOXD,
		.uid = 0, .gid = 0, .caps_keep = SANDBOXD_CAPS,   /* sandboxd.h says why each */
		.new_netns = true,
		.nofile = SANDBOXD_NOFILE,
		.binds = sandboxd_binds, .nbinds = sizeof sandboxd_binds / sizeof sandboxd_binds[0],
		/* /state holds the code it execs: tmpfs (the store is noexec);
		 * /store, what it keeps: the store; held when the store is refused */
		.has_state = true, .store_dir = true, .needs_store = true,
		.seccomp = sandboxd_seccomp_rules, .nseccomp = &sandboxd_seccomp_nrules,
		.peers = 1u << ROLE_NETD | 1u << ROLE_KEYD | 1u << ROLE_LOGD,
		.restart_min_ms = 100, .restart_max_ms = 10000,
		.main = sandboxd_main,
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
