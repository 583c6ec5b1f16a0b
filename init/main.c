/* init/main.c: dshield-init, one binary with several roles.
 *
 *   PID 1 (booted by the kernel)   mount, sysctls, manifest, modules, command
 *                                  line, eth0, then supervise netd; never exits
 *   dshield-init netd              the network worker (exec'd by init only)
 *   dshield-init --host ...        the same supervision as an ordinary root
 *                                  process: no mounts, modules or sysctls
 *
 * PID 1 is decided by getpid() alone, never by arguments: the kernel command
 * line can add arguments to init.
 */
#include "crypto/attest.h"
#include "init/boot.h"
#include "init/cmdline.h"
#include "init/manifest.h"
#include "init/modules.h"
#include "init/netif.h"
#include "init/privdrop.h"
#include "init/supervisor.h"
#include "lib/clock.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "net/netd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DSHIELD_VERSION
#define DSHIELD_VERSION "unknown"
#endif

#define PID1_NETD_ROOT "/run/netd-root"
#define HOSTNAME       "dshield"

static struct manifest manifest;          /* ~24 KiB: static, not stack */
static struct supervisor_config sup;
static struct attest attest;              /* ~160 KiB event log: static */

static void net_config(const struct boot_cmdline *cl, const struct netif_info *ni,
		       struct netd_config_msg *m)
{
	memset(m, 0, sizeof *m);
	snprintf(m->ifname, sizeof m->ifname, "%s", cl->netif);
	memcpy(m->mac, ni->mac, sizeof m->mac);
	m->ipv4_addr = cl->ipv4_addr;
	m->ipv4_netmask = cl->ipv4_netmask;
	m->ipv4_gw = cl->ipv4_gw;
	m->dns[0] = cl->dns[0];
	m->dns[1] = cl->dns[1];
	m->http_port = cl->http_port;
	m->http_header_timeout_ms = cl->header_timeout_ms;
	m->http_idle_timeout_ms = cl->idle_timeout_ms;
	snprintf(m->hostname, sizeof m->hostname, "%s", HOSTNAME);
}

/* Brings the interface up for netd and opens its packet socket. */
static int open_interface(const struct boot_cmdline *cl, struct netif_info *ni)
{
	int r = netif_prepare(cl->netif, ni);
	if (r < 0) {
		dlog("cannot prepare %s: %s", cl->netif, strerror(-r));
		return r;
	}
	r = netif_open_packet(ni);
	if (r < 0)
		dlog("cannot open a packet socket on %s: %s", cl->netif, strerror(-r));
	return r;
}

/* --- attestation -------------------------------------------------------------- */

/* Records one boot event in RTMR3 (extended on tdx, emulated on sim). On
 * tdx a failed extension is fatal: quotes would not show what booted. */
static void record_event(const char *name, const void *payload, size_t len)
{
	char err[ATTEST_ERR_LEN], hex[2 * RTMR3_DIGEST_LEN + 1], ph[2 * 32 + 1];
	const char *b = attest_backend_name(attest.backend);
	int idx = attest_extend(&attest, name, payload, len, err);

	if (idx < 0) {
		if (attest.backend == ATTEST_TDX)
			fatal("attestation: tdx: recording event %s: %s", name, err);
		dlog("attestation: %s: cannot record event %s: %s", b, name, err);
		return;
	}
	hex_encode(hex, attest.log.ev[idx].digest, RTMR3_DIGEST_LEN);
	hex_encode(ph, payload, len < 32 ? len : 32);
	dlog("attestation: %s: event %s payload %s digest %s (RTMR3 %s)", b, name, ph, hex,
	     attest.backend == ATTEST_TDX ? "extended" : "emulated");
}

/* On tdx: the hardware RTMR3 (from a TDREPORT) must equal the log's
 * replay, else something else extended it and quotes will not verify. */
static void compare_tdreport(void)
{
	static uint8_t report[ATTEST_TDREPORT_LEN];
	uint8_t zero[64] = { 0 };
	char err[ATTEST_ERR_LEN], hw[97], want[97];
	const uint8_t *rtmr3 = report + ATTEST_TDREPORT_RTMR_OFF + 3 * 48;

	if (attest_tdreport(attest.paths.tdx_dev, zero, report, err) < 0) {
		dlog("attestation: tdx: %s", err);
		return;
	}
	hex_encode(hw, rtmr3, 48);
	hex_encode(want, attest.log.rtmr3, 48);
	if (memcmp(rtmr3, attest.log.rtmr3, 48) == 0)
		dlog("attestation: tdx: TDREPORT RTMR3 %s matches the event log", hw);
	else
		dlog("attestation: tdx: WARNING: TDREPORT RTMR3 %s differs from the event log's %s",
		     hw, want);
}

/* Chooses the backend and records the boot events: "manifest" (payload:
 * the 32-byte SHA-256 of the image manifest) and "instance-id" (16 random
 * bytes). Attestation being unavailable is logged, not fatal: the API then
 * answers 503 and says why. */
static void attest_boot(bool allow_sim, const uint8_t manifest_sha256[32], bool has_manifest)
{
	struct attest_paths p;
	uint8_t id[16];

	attest_default_paths(&p);
	attest_init(&attest, &p, allow_sim);
	sup.attest = &attest;
	if (attest.backend == ATTEST_NONE) {
		dlog("attestation: unavailable: %s", attest.why);
		return;
	}
	if (attest.backend == ATTEST_SIM)
		dlog("attestation: sim: SIMULATED backend (no TDX device; the manifest allows it): "
		     "quotes prove nothing about hardware; %s", attest.why);
	else
		dlog("attestation: tdx: %s", attest.why);
	if (has_manifest)
		record_event("manifest", manifest_sha256, 32);
	if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id)
		fatal("getrandom for the instance id: %s", strerror(errno));
	record_event("instance-id", id, sizeof id);
	if (attest.backend == ATTEST_TDX)
		compare_tdreport();
}

/* --- PID 1 ------------------------------------------------------------------ */

/* A phase that must not fail: the VM is useless (or unsafe) without it. */
#define MUST(what, expr) do { \
	int r_ = (expr); \
	if (r_ < 0) \
		fatal("%s failed: %s", (what), strerror(-r_)); \
} while (0)

static _Noreturn void pid1_main(void)
{
	static struct boot_cmdline cl;
	struct netif_info ni;
	uint64_t t_start = boot_ms();
	int pkt;

	log_set_role("init");
	fatal_set_pid1(true);
	/* may fail: without a console the kernel's fds stay our log */
	boot_console();
	dlog("dshield-init %s starting as PID 1 (%llu ms after kernel start)",
	     DSHIELD_VERSION, (unsigned long long)t_start);
	/* may fail: ctrl-alt-del then reboots instead of a clean poweroff */
	if (reboot(RB_DISABLE_CAD) != 0)
		dlog("cannot route ctrl-alt-del to init: %s", strerror(errno));

	MUST("mounting /proc, /sys, /dev, /run, cgroup2, configfs", boot_mount_all());
	MUST("applying hardening sysctls", boot_apply_sysctls());
	MUST("loading " MANIFEST_PATH, manifest_load(MANIFEST_PATH, &manifest));
	MUST("loading kernel modules", modules_load(&manifest));
	uint64_t t_modules = boot_ms();
	dlog("modules loaded (%llu ms)", (unsigned long long)t_modules);
	MUST("mounting configfs", boot_mount_configfs());
	MUST("disabling module loading", boot_lock_modules());
	attest_boot(manifest.allow_sim, manifest.sha256, true);
	MUST("reading the dshield.* kernel command line", cmdline_read(&cl));
	pkt = open_interface(&cl, &ni);
	if (pkt < 0)
		fatal("network interface %s unusable: %s", cl.netif, strerror(-pkt));
	MUST("creating netd's chroot " PID1_NETD_ROOT, privdrop_prepare_root(PID1_NETD_ROOT));

	sup.pid1 = true;
	sup.netd_root = PID1_NETD_ROOT;
	sup.packet_fd = pkt;
	sup.ifindex = ni.ifindex;
	net_config(&cl, &ni, &sup.net);
	memcpy(sup.boot.manifest_sha256, manifest.sha256, sizeof manifest.sha256);
	sup.boot.has_manifest = 1;
	sup.boot.t_init_start_ms = t_start;
	sup.boot.t_modules_loaded_ms = t_modules;
	dlog("boot done in %llu ms; starting netd", (unsigned long long)(boot_ms() - t_start));
	supervisor_run(&sup);
	poweroff_now();   /* supervisor_run does not return as PID 1 */
}

/* --- host mode ---------------------------------------------------------------- */

static const char usage_text[] =
	"usage: dshield-init --host --state DIR --netif IF [options]\n"
	"       dshield-init --version | --help\n"
	"\n"
	"As PID 1 (booted by the kernel) dshield-init boots the VM; with --host it\n"
	"runs the same supervision as an ordinary root process: no mounts, modules\n"
	"or sysctls, logs on stderr, netd chrooted under DIR/netd-root.\n"
	"\n"
	"  --state DIR              state directory (created 0700 if missing)\n"
	"  --netif IF               interface netd drives (brought up, no address)\n"
	"  --ip A.B.C.D/N | dhcp    static address (default: DHCP)\n"
	"  --gw A.B.C.D             default gateway (with a static --ip)\n"
	"  --dns A.B.C.D[,A.B.C.D]  resolvers\n"
	"  --http-port N            API port (default 8080)\n"
	"  --header-timeout-ms N    request head deadline (default 10000)\n"
	"  --idle-timeout-ms N      idle keep-alive deadline (default 60000)\n"
	"  --manifest FILE          image manifest to report (default: none)\n"
	"  --allow-sim              allow the simulated attestation backend (sim)\n"
	"                           when there is no TDX device (as the manifest's\n"
	"                           attestation.allow_sim does)\n"
	"  --no-seccomp             run netd without its seccomp filter\n"
	"                           (valgrind only; logged loudly)\n";

enum {
	OPT_HOST = 256, OPT_STATE, OPT_NETIF, OPT_IP, OPT_GW, OPT_DNS, OPT_PORT,
	OPT_HDR_TO, OPT_IDLE_TO, OPT_MANIFEST, OPT_ALLOW_SIM, OPT_NO_SECCOMP, OPT_VERSION, OPT_HELP,
};

static const struct option host_opts[] = {
	{ "host", no_argument, NULL, OPT_HOST },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "netif", required_argument, NULL, OPT_NETIF },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "gw", required_argument, NULL, OPT_GW },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "http-port", required_argument, NULL, OPT_PORT },
	{ "header-timeout-ms", required_argument, NULL, OPT_HDR_TO },
	{ "idle-timeout-ms", required_argument, NULL, OPT_IDLE_TO },
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "allow-sim", no_argument, NULL, OPT_ALLOW_SIM },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Prints "dshield-init: WHAT [ARG]" and the usage; exit status 2. */
static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "dshield-init: %s%s%s\n"
		"usage: dshield-init --host --state DIR --netif IF [options]; see --help\n",
		what, arg ? " " : "", arg ? arg : "");
	return 2;
}

/* Host options are kernel command line words under other names: turning
 * them into "dshield.KEY=VALUE" lets one strict parser validate both. */
static int add_word(char *words, size_t cap, const char *key, const char *val)
{
	size_t used = strlen(words);
	if (val[0] == '\0' || strpbrk(val, " \t\r\n\"") != NULL)
		return -EINVAL;
	int n = snprintf(words + used, cap - used, "dshield.%s=%s ", key, val);
	if (n < 0 || (size_t)n >= cap - used)
		return -E2BIG;
	return 0;
}

static int host_main(int argc, char **argv)
{
	static char words[2048];
	static struct boot_cmdline cl;
	struct netif_info ni;
	const char *state = NULL, *manifest_path = NULL;
	bool host = false, no_seccomp = false, have_netif = false, allow_sim = false;
	char root[4096];
	int opt, pkt;

	log_set_role("init");
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", host_opts, NULL)) != -1) {
		const char *key = NULL;
		switch (opt) {
		case OPT_HOST: host = true; break;
		case OPT_STATE: state = optarg; break;
		case OPT_MANIFEST: manifest_path = optarg; break;
		case OPT_NO_SECCOMP: no_seccomp = true; break;
		case OPT_ALLOW_SIM: allow_sim = true; break;
		case OPT_VERSION:
			printf("dshield-init %s\n", DSHIELD_VERSION);
			return 0;
		case OPT_HELP:
			fputs(usage_text, stdout);
			return 0;
		case OPT_NETIF: key = "netif"; have_netif = true; break;
		case OPT_IP: key = "ip"; break;
		case OPT_GW: key = "gw"; break;
		case OPT_DNS: key = "dns"; break;
		case OPT_PORT: key = "http_port"; break;
		case OPT_HDR_TO: key = "header_timeout_ms"; break;
		case OPT_IDLE_TO: key = "idle_timeout_ms"; break;
		case ':':
			return usage_error("option needs a value:", argv[optind - 1]);
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
		if (key != NULL && add_word(words, sizeof words, key, optarg) < 0)
			return usage_error("bad value:", optarg);
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (!host)
		return usage_error("not PID 1: --host is required", NULL);
	if (state == NULL || !have_netif)
		return usage_error("--host needs --state DIR and --netif IF", NULL);
	if (cmdline_parse(words, strlen(words), &cl) < 0)
		return usage_error("invalid network options (see the message above)", NULL);
	if (geteuid() != 0) {
		fprintf(stderr, "dshield-init: host mode needs root (network setup, privilege drop)\n");
		return 1;
	}

	fatal_set_pid1(false);
	dlog("dshield-init %s in host mode (state %s, interface %s)", DSHIELD_VERSION,
	     state, cl.netif);
	if (manifest_path != NULL) {
		MUST("loading the manifest", manifest_load(manifest_path, &manifest));
		memcpy(sup.boot.manifest_sha256, manifest.sha256, sizeof manifest.sha256);
		sup.boot.has_manifest = 1;
	}
	attest_boot(allow_sim || manifest.allow_sim, manifest.sha256, manifest_path != NULL);
	if (mkdir(state, 0700) != 0 && errno != EEXIST)
		fatal("cannot create state directory %s: %s", state, strerror(errno));
	if ((size_t)snprintf(root, sizeof root, "%s/netd-root", state) >= sizeof root)
		fatal("state directory path too long");
	MUST("creating netd's chroot", privdrop_prepare_root(root));
	pkt = open_interface(&cl, &ni);
	if (pkt < 0)
		fatal("network interface %s unusable: %s", cl.netif, strerror(-pkt));
	if (no_seccomp)
		dlog("WARNING: --no-seccomp: netd will run without its syscall filter");

	sup.pid1 = false;
	sup.no_seccomp = no_seccomp;
	sup.netd_root = root;
	sup.packet_fd = pkt;
	sup.ifindex = ni.ifindex;
	net_config(&cl, &ni, &sup.net);
	sup.boot.host_mode = 1;   /* boot times stay 0: not measurable here */
	return supervisor_run(&sup);
}

int main(int argc, char **argv)
{
	if (getpid() == 1)
		pid1_main();
	if (argc >= 2 && strcmp(argv[1], "netd") == 0) {
		log_set_role("netd");
		return netd_main(argc, argv);
	}
	return host_main(argc, argv);
}
