/* init/init.c: PID 1 and host mode (see init.h).
 *
 * PID 1 is decided by getpid() alone, never by arguments (bin/): the
 * kernel command line can add arguments to init.
 */
#include "init/init.h"
#include "init/boot.h"
#include "init/layers.h"
#include "init/cmdline.h"
#include "init/lifecycle.h"
#include "init/manifest.h"
#include "init/modules.h"
#include "init/netif.h"
#include "init/privdrop.h"
#include "init/datastore.h"
#include "init/kms_phase.h"
#include "init/supervisor.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/log.h"
#include "proto/init_sandboxd.h"
#include "tls/anchors.h"

#include <bearssl.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DSHIELD_VERSION
#define DSHIELD_VERSION "unknown"
#endif

/* A phase that must not fail: the VM is useless (or unsafe) without it. */
#define MUST(what, expr) do { \
	int r_ = (expr); \
	if (r_ < 0) \
		fatal("%s failed: %s", (what), strerror(-r_)); \
} while (0)

#define HOSTNAME       "dshield"

/* init is one process: its boot state is this file's. */
static struct manifest manifest;          /* ~120 KiB (the policy): static, not stack */
static struct supervisor_config sup;
static struct lifecycle lc;

/* TLS origination's trust anchors (netd reads them from the descriptor):
 * path, or none (no_path says why); a file that cannot be opened leaves
 * origination refused, with the reason, and nothing else. */
static void open_anchors(const char *path, const char *no_path)
{
	lc.anchors_fd = -1;
	if (path == NULL) {
		snprintf(lc.anchors_why, sizeof lc.anchors_why, "no trust anchors (%s)", no_path);
		return;
	}
	lc.anchors_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (lc.anchors_fd < 0) {
		snprintf(lc.anchors_why, sizeof lc.anchors_why, "no trust anchors: %s: %s", path,
			 strerror(errno));
		dlog("%s: TLS origination refused", lc.anchors_why);
	}
}

/* Each runtime layer's availability and the reason when it is not: the
 * source of /v1/info's "layers" (sent to netd as IMSG_LAYERS_INFO). */
static struct layers_status layer_status;
/* The encrypted store's state: the source of /v1/info's "store" (sent to
 * netd as IMSG_STORE_INFO) and of which rows are held. */
static struct datastore_status store_status;
static char root_dirs[ROLE_COUNT][4096], state_dirs[ROLE_COUNT][4096],
	    store_dirs[ROLE_COUNT][4096];

/* A directory of role r's own: BASE/NAME-SUFFIX, 0700, owned by its uid
 * (a role with its own uid writes there too). */
static const char *role_dir(char out[4096], const char *base, const struct role_spec *r,
			    const char *suffix)
{
	if ((size_t)snprintf(out, 4096, "%s/%s-%s", base, r->name, suffix) >= 4096)
		fatal("role directory path too long under %s", base);
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		fatal("cannot create %s: %s", out, strerror(errno));
	if (chown(out, r->uid, r->gid) != 0)
		fatal("cannot give %s to uid %u: %s", out, (unsigned)r->uid, strerror(errno));
	return out;
}

/* Row r's own directories: its state directory (NAME-state) for rows with
 * has_state, its store directory (NAME-store) for rows with store_dir;
 * each under STORE (the encrypted store, when store is not NULL) if the
 * row puts it there (state_on_store; store_dir always), else under DIR
 * (tmpfs in the VM). */
static void own_dirs(const char *dir, const char *store, const struct role_spec *r)
{
	size_t i = (size_t)r->id;

	if (r->has_state)
		sup.state_dir[i] = role_dir(state_dirs[i],
					    store != NULL && r->state_on_store ? store : dir, r,
					    "state");
	if (r->store_dir)
		sup.store_dir[i] = role_dir(store_dirs[i], store != NULL ? store : dir, r, "store");
}

/* Each role's chroot directory (DIR/NAME-root, empty and root-owned) and
 * its own directories (own_dirs). */
static void prepare_role_dirs(const char *dir, const char *store, const struct role_spec *roles,
			      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct role_spec *r = &roles[i];
		if ((size_t)snprintf(root_dirs[i], sizeof root_dirs[i], "%s/%s-root", dir,
				     r->name) >= sizeof root_dirs[i])
			fatal("role directory path too long under %s", dir);
		MUST("creating a role's chroot directory", privdrop_prepare_root(root_dirs[i]));
		sup.root_dir[i] = root_dirs[i];
		own_dirs(dir, store, r);
	}
	sup.roles = roles;
	sup.nroles = n;
	sup.ops = (struct lifecycle_ops){ lifecycle_start, lifecycle_on_message, &lc, lifecycle_tick,
					  lifecycle_fd_ready };
}

static void keyd_config(bool allow_sim, bool has_manifest)
{
	memset(&lc.keyd, 0, sizeof lc.keyd);
	lc.keyd.allow_sim = allow_sim;
	lc.keyd.has_manifest = has_manifest;
	memcpy(lc.keyd.manifest_sha256, manifest.sha256, sizeof lc.keyd.manifest_sha256);
}

/* sandboxd's policy: the canonical bytes of the policy init verified,
 * written where sandboxd's view binds it (read-only), and their hash in
 * its configuration, which sandboxd checks against what it reads. */
static void sandboxd_config(const struct policy *p, const char *path, bool limits_required)
{
	size_t cap = POLICY_CANON_MAX + 1;
	char *buf, err[256];
	long n;
	br_sha256_context c;

	memset(&lc.sbx, 0, sizeof lc.sbx);
	lc.sbx.limits_required = limits_required;
	if (p == NULL)
		return;
	buf = malloc(cap);
	if (buf == NULL || (n = policy_write(p, buf, cap)) < 0)
		fatal("cannot write the policy's canonical form for sandboxd");
	if (file_replace(path, buf, (size_t)n, err, sizeof err) < 0)
		fatal("sandboxd's policy file: %s", err);
	br_sha256_init(&c);
	br_sha256_update(&c, buf, (size_t)n);
	br_sha256_out(&c, lc.sbx.policy_sha256);
	lc.sbx.has_policy = 1;
	free(buf);
	if (p->nanchors > 0)
		dlog("WARNING: the policy's extra_anchors: %u CA certificates trusted as test anchors "
		     "for upstreams, besides the image's (marked in /v1/info and in every record "
		     "they vouch for)", p->nanchors);
}

/* The delegated cgroup subtree of the functions: cpu, memory and pids
 * enabled at the top so that the subtree can use them. Without it
 * sandboxd runs nothing (limits are required in the VM). */
static void sandboxd_cgroup(void)
{
	static const char ctl[] = "+cpu +memory +pids";
	int fd;

	if (mkdir(SANDBOXD_CGROUP_SRC, 0755) != 0 && errno != EEXIST) {
		dlog("cannot make %s: %s: functions will not run", SANDBOXD_CGROUP_SRC, strerror(errno));
		return;
	}
	fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, ctl, sizeof ctl - 1) != (ssize_t)(sizeof ctl - 1))
		dlog("cannot enable cpu, memory, pids for %s: %s: functions will not run",
		     SANDBOXD_CGROUP_SRC, strerror(errno));
	if (fd >= 0)
		close(fd);
}

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
	if (r < 0) {
		dlog("cannot open a packet socket on %s: %s", cl->netif, strerror(-r));
		return r;
	}
	/* may fail (a kernel without PACKET_VNET_HDR): netd then sends frame
	 * by frame on the first socket, slower, nothing else lost */
	lc.packet_tx_fd = netif_open_packet_tx(ni);
	if (lc.packet_tx_fd < 0) {
		dlog("no vnet packet socket on %s (%s): netd sends one frame at a time",
		     cl->netif, strerror(-lc.packet_tx_fd));
		lc.packet_tx_fd = -1;
	}
	return r;
}

/* --- PID 1 ------------------------------------------------------------------ */

static char held_why[STORE_INFO_TEXT + 32];

/* The store as it is now, for /v1/info (netd) and for sandboxd's next
 * start: its one sealing key, taken out of the status. */
static void store_status_out(void)
{
	lc.sbx.sealing = store_status.has_seal_key ? SBXD_SEALING_AES_GCM : SBXD_SEALING_TMPFS;
	memcpy(lc.sbx.seal_key, store_status.seal_key, sizeof lc.sbx.seal_key);
	explicit_bzero(store_status.seal_key, sizeof store_status.seal_key);
	store_status.has_seal_key = false;
	datastore_info(&store_status, &lc.store);
	datastore_summary(&store_status, held_why, sizeof held_why);
}

/* The key provider kms's phase settled (init/kms_phase.h): with the store
 * open, the held rows get their directories on it and start; refused,
 * they stay held and /v1/info says why. */
static void kms_settled(void *ctx)
{
	const struct supervisor_config *c = ctx;
	bool open = store_status.state == STORE_INFO_OPEN ||
		    store_status.state == STORE_INFO_FORMATTED;

	store_status_out();
	int sock = supervisor_role_sock(ROLE_NETD);
	if (sock >= 0 && imsg_send(sock, IMSG_STORE_INFO, 0, &lc.store, sizeof lc.store, NULL, 0) < 0)
		dlog("cannot send netd the store's state");
	if (!open) {
		dlog("%s: logd and sandboxd stay held; PID 1 and the API run on", held_why);
		return;
	}
	for (size_t i = 0; i < c->nroles; i++)
		if (c->held[i])
			own_dirs("/run", STORE_MOUNT_DIR, &c->roles[i]);
	/* the KMS returned a freshness record: logd compares it with the log
	 * first, the rest waits for its verdict (fresh_verdict) */
	lc.await_fresh = lc.kms.fresh_len > 0;
	for (size_t i = 0; i < c->nroles; i++)
		if (c->held[i] && (!lc.await_fresh || i == ROLE_LOGD))
			supervisor_release((enum role_id)i);
}

/* The held rows but logd (which runs) start. */
static void release_held(const struct supervisor_config *c)
{
	for (size_t i = 0; i < c->nroles; i++)
		if (c->held[i] && i != ROLE_LOGD)
			supervisor_release((enum role_id)i);
}

/* logd's comparison of the KMS's freshness record with the log: the held
 * rows start, or the store is refused (a rolled-back or forked disk) and
 * logd, which refuses every append already, is stopped; under the
 * policy's kms.on_rollback "flag" logd appends on (its status is READY)
 * and the store starts with the rollback reported. */
static void fresh_verdict(void *ctx, const struct logd_status_msg *st)
{
	const struct supervisor_config *c = ctx;
	char why[ERRBUF_LEN];

	if (st->fresh == LOGD_FRESH_OK) {
		dlog("store: rollback check: the log (%llu entries) holds the KMS's freshness record "
		     "of size %llu", (unsigned long long)st->size, (unsigned long long)st->fresh_size);
		release_held(c);
		return;
	}
	if (st->state == LOGD_STATE_READY) {
		/* the policy's kms.on_rollback "flag": logd appends on; the store
		 * starts and /v1/info says what was found (store_status_out ran
		 * already: the seal key is sandboxd's, so only the report changes) */
		store_status.rollback = true;
		snprintf(store_status.rollback_why, sizeof store_status.rollback_why,
			 "%s: the log has %llu entries, the KMS's freshness record %llu",
			 st->fresh == LOGD_FRESH_ROLLBACK ? "rollback" :
			 st->fresh == LOGD_FRESH_FORK ? "fork at that size" :
			 "unreadable freshness record",
			 (unsigned long long)st->size, (unsigned long long)st->fresh_size);
		datastore_info(&store_status, &lc.store);
		dlog("store: ROLLBACK DETECTED (%s); the policy's kms.on_rollback is \"flag\": "
		     "starting anyway", store_status.rollback_why);
		int sock = supervisor_role_sock(ROLE_NETD);
		if (sock >= 0 &&
		    imsg_send(sock, IMSG_STORE_INFO, 0, &lc.store, sizeof lc.store, NULL, 0) < 0)
			dlog("cannot send netd the store's state");
		release_held(c);
		return;
	}
	if (st->fresh == LOGD_FRESH_ROLLBACK)
		snprintf(why, sizeof why, "key provider kms: rollback detected: the log has %llu "
			 "entries, the KMS's freshness record %llu (an older copy of the disk?)",
			 (unsigned long long)st->size, (unsigned long long)st->fresh_size);
	else if (st->fresh == LOGD_FRESH_FORK)
		snprintf(why, sizeof why, "key provider kms: fork detected: the log's root at size "
			 "%llu is not the KMS's freshness record's", (unsigned long long)st->fresh_size);
	else
		snprintf(why, sizeof why, "key provider kms: the KMS's freshness record is unreadable");
	store_status.state = STORE_INFO_REFUSED;
	store_status.data_bytes = 0;   /* as every refusal reports it */
	snprintf(store_status.reason, sizeof store_status.reason, "%s", why);
	store_status_out();
	dlog("%s", held_why);
	int sock = supervisor_role_sock(ROLE_NETD);
	if (sock >= 0 && imsg_send(sock, IMSG_STORE_INFO, 0, &lc.store, sizeof lc.store, NULL, 0) < 0)
		dlog("cannot send netd the store's state");
	supervisor_hold(ROLE_LOGD, "the store was refused");
	dlog("store: logd stopped and sandboxd held; PID 1 and the API run on");
}

_Noreturn void init_pid1(const struct role_spec *roles, size_t nroles)
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
	/* may fail: a runtime whose layer cannot be opened is unavailable,
	 * with its reason on the console; the others and the API still run */
	layers_open_all(&manifest, &layer_status);
	/* may fail: a refused store holds the rows that need it (their state
	 * would otherwise go to tmpfs unnoticed); netd and keyd still run and
	 * /v1/info says why */
	datastore_open(&manifest.policy, &store_status);
	keyd_config(manifest.allow_sim, true);
	if (store_status.state == STORE_INFO_PENDING) {
		/* keyd measures what the KMS will compare (docs/KMS.md check 3) */
		lc.keyd.has_instance_id = 1;
		memcpy(lc.keyd.instance_id, store_status.instance, sizeof lc.keyd.instance_id);
		_Static_assert(sizeof lc.keyd.app_id == sizeof manifest.policy.store.kms_app_id,
			       "one app id size");
		memcpy(lc.keyd.app_id, manifest.policy.store.kms_app_id, sizeof lc.keyd.app_id);
		lc.keyd.store_generation = (uint32_t)store_status.generation;
	}
	MUST("reading the dshield.* kernel command line", cmdline_read(&cl));
	pkt = open_interface(&cl, &ni);
	if (pkt < 0)
		fatal("network interface %s unusable: %s", cl.netif, strerror(-pkt));
	bool on_store = store_status.state == STORE_INFO_OPEN ||
			store_status.state == STORE_INFO_FORMATTED;
	prepare_role_dirs("/run", on_store ? STORE_MOUNT_DIR : NULL, roles, nroles);
	if (store_status.state == STORE_INFO_REFUSED || store_status.state == STORE_INFO_PENDING) {
		datastore_summary(&store_status, held_why, sizeof held_why);
		for (size_t i = 0; i < nroles; i++)
			sup.held[i] = roles[i].needs_store;
		sup.held_why = held_why;
	}
	sandboxd_cgroup();
	sandboxd_config(manifest.has_policy ? &manifest.policy : NULL, SANDBOXD_POLICY_SRC, true);
	/* the one store key init keeps: sandboxd's, sent again at each of its
	 * starts; the disk key and its other subkeys are gone already */
	store_status_out();

	sup.pid1 = true;
	open_anchors(ANCHORS_FILE, NULL);
	lc.packet_fd = pkt;
	lc.ifindex = ni.ifindex;
	net_config(&cl, &ni, &lc.net);
	memcpy(lc.boot.manifest_sha256, manifest.sha256, sizeof manifest.sha256);
	lc.boot.has_manifest = 1;
	lc.boot.t_init_start_ms = t_start;
	lc.boot.t_modules_loaded_ms = t_modules;
	layers_info(&layer_status, &lc.layers);   /* for /v1/info */
	/* kms: the store opens once keyd and netd run (init/kms_phase.h) */
	kms_phase_begin(&lc.kms, &manifest.policy, &store_status, kms_settled, &sup);
	lc.fresh_verdict = fresh_verdict;
	lc.fresh_ctx = &sup;
	dlog("boot done in %llu ms; starting the roles", (unsigned long long)(boot_ms() - t_start));
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
	"or sysctls, logs on stderr, each role chrooted under DIR/ROLE-root.\n"
	"\n"
	"  --state DIR              state directory (created 0700 if missing)\n"
	"  --netif IF               interface netd drives (brought up, no address)\n"
	"  --ip A.B.C.D/N | dhcp    static address (default: DHCP)\n"
	"  --gw A.B.C.D             default gateway (with a static --ip)\n"
	"  --dns A.B.C.D[,A.B.C.D]  resolvers\n"
	"  --http-port N            API port (default 8080)\n"
	"  --header-timeout-ms N    request head deadline (default 10000)\n"
	"  --idle-timeout-ms N      idle keep-alive deadline (default 60000)\n"
	"  --manifest FILE          image manifest to report (default: none); its\n"
	"                           policy is sandboxd's\n"
	"  --policy FILE            sandboxd's policy when there is no manifest\n"
	"  --layers DIR             runtime layers for sandboxd: DIR/<runtime>/ trees\n"
	"                           (e.g. build/layers)\n"
	"  --cgroup DIR             a cgroup2 directory sandboxd may create function\n"
	"                           cgroups in (default: none; limits not enforced)\n"
	"  --anchors FILE           TLS origination's trust anchors (build/tools/mkanchors\n"
	"                           format; default: none, originate rules refused)\n"
	"  --allow-sim              allow the simulated attestation backend (sim)\n"
	"                           when there is no TDX device (as the manifest's\n"
	"                           attestation.allow_sim does)\n"
	"  --no-seccomp             run the roles without their seccomp filters\n"
	"                           (valgrind only; logged loudly)\n"
	"  --keyd-quote-delay-ms N  tests only: keyd waits N ms before each quote,\n"
	"                           as a slow quoting service would (logged loudly)\n";

enum {
	OPT_HOST = 256, OPT_STATE, OPT_NETIF, OPT_IP, OPT_GW, OPT_DNS, OPT_PORT,
	OPT_HDR_TO, OPT_IDLE_TO, OPT_MANIFEST, OPT_ALLOW_SIM, OPT_NO_SECCOMP, OPT_VERSION, OPT_HELP,
	OPT_QUOTE_DELAY, OPT_POLICY, OPT_LAYERS, OPT_CGROUP, OPT_ANCHORS,
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
	{ "keyd-quote-delay-ms", required_argument, NULL, OPT_QUOTE_DELAY },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "layers", required_argument, NULL, OPT_LAYERS },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "anchors", required_argument, NULL, OPT_ANCHORS },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* --policy FILE: parsed as the manifest's policy would be, into the
 * manifest's slot (host mode has no manifest then). */
static void host_policy(const char *path)
{
	struct policy_tokens *toks = malloc(sizeof *toks);
	unsigned char *buf = NULL;
	char err[256];
	size_t len;
	int r;

	if (toks == NULL)
		fatal("out of memory");
	r = file_read_alloc(path, POLICY_MAX_BYTES, &buf, &len);
	if (r < 0)
		fatal("--policy %s: %s", path, strerror(-r));
	if (policy_parse((const char *)buf, len, toks, &manifest.policy, err, sizeof err) < 0)
		fatal("--policy %s: %s", path, err);
	manifest.has_policy = true;
	free(buf);
	free(toks);
}

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

int init_host(int argc, char **argv, const struct role_spec *roles, size_t nroles)
{
	static char words[2048];
	static char delay_env[48];
	static struct boot_cmdline cl;
	struct netif_info ni;
	const char *state = NULL, *manifest_path = NULL, *policy_path = NULL;
	const char *layers = NULL, *cgroup = NULL, *anchors = NULL;
	static char policy_file[4096];
	bool host = false, no_seccomp = false, have_netif = false, allow_sim = false;
	int opt, pkt;

	log_set_role("init");
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", host_opts, NULL)) != -1) {
		const char *key = NULL;
		switch (opt) {
		case OPT_HOST: host = true; break;
		case OPT_STATE: state = optarg; break;
		case OPT_MANIFEST: manifest_path = optarg; break;
		case OPT_POLICY: policy_path = optarg; break;
		case OPT_LAYERS: layers = optarg; break;
		case OPT_CGROUP: cgroup = optarg; break;
		case OPT_ANCHORS: anchors = optarg; break;
		case OPT_NO_SECCOMP: no_seccomp = true; break;
		case OPT_ALLOW_SIM: allow_sim = true; break;
		case OPT_QUOTE_DELAY: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end != '\0' || end == optarg || v > 60000)
				return usage_error("bad value:", optarg);
			snprintf(delay_env, sizeof delay_env, "DSHIELD_KEYD_QUOTE_DELAY_MS=%lu", v);
			sup.extra_env[ROLE_KEYD] = delay_env;
			break;
		}
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
	if (policy_path != NULL && manifest_path != NULL)
		return usage_error("--policy and --manifest both give a policy", NULL);
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
		memcpy(lc.boot.manifest_sha256, manifest.sha256, sizeof manifest.sha256);
		lc.boot.has_manifest = 1;
	}
	keyd_config(allow_sim || manifest.allow_sim, manifest_path != NULL);
	if (mkdir(state, 0700) != 0 && errno != EEXIST)
		fatal("cannot create state directory %s: %s", state, strerror(errno));
	prepare_role_dirs(state, NULL, roles, nroles);
	if (policy_path != NULL)
		host_policy(policy_path);
	if ((size_t)snprintf(policy_file, sizeof policy_file, "%s/policy.json", state) >=
	    sizeof policy_file)
		fatal("state path too long");
	sandboxd_config(manifest.has_policy ? &manifest.policy : NULL, policy_file, false);
	lc.sbx.sealing = SBXD_SEALING_HOST;   /* no store key in host mode */
	sup.rebind[0].dst = SANDBOXD_POLICY_PATH;
	sup.rebind[0].src = policy_file;
	sup.rebind[1].dst = SANDBOXD_LAYERS_DIR;
	sup.rebind[1].src = layers != NULL ? layers : "/nonexistent";
	sup.rebind[2].dst = SANDBOXD_CGROUP_DIR;
	sup.rebind[2].src = cgroup != NULL ? cgroup : "/nonexistent";
	pkt = open_interface(&cl, &ni);
	if (pkt < 0)
		fatal("network interface %s unusable: %s", cl.netif, strerror(-pkt));
	if (no_seccomp)
		dlog("WARNING: --no-seccomp: the roles will run without their syscall filters");
	if (sup.extra_env[ROLE_KEYD] != NULL)
		dlog("WARNING: test knob %s", sup.extra_env[ROLE_KEYD]);

	sup.pid1 = false;
	sup.no_seccomp = no_seccomp;
	open_anchors(anchors, "host mode without --anchors");
	lc.packet_fd = pkt;
	lc.ifindex = ni.ifindex;
	net_config(&cl, &ni, &lc.net);
	lc.boot.host_mode = 1;   /* boot times stay 0: not measurable here */
	snprintf(lc.store.summary, sizeof lc.store.summary,
		 "store: none (host mode: the state directory %s)", state);
	return supervisor_run(&sup);
}
