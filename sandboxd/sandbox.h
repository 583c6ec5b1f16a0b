/* sandboxd/sandbox.h: function sandboxes (docs/SANDBOX.md).
 *
 * A function gets a network namespace at deploy (sandbox_netns_create): only
 * lo, up, 127.0.0.1/8. Each worker of the function is spawned into it
 * (sandbox_spawn) with new mount, pid, ipc, uts and cgroup namespaces, a
 * tmpfs root built from the runtime layer (read-only), its code (/code,
 * read-only), a tmpfs /tmp, an optional /data, a minimal /dev, a fresh
 * /proc and a small /etc; the function's own uid, no capability in any
 * set, locked securebits, no_new_privs, rlimits, the function seccomp
 * filter (fn_seccomp.h), and exactly the environment and descriptors the
 * spec names.
 *
 * Both need root (sandboxd) and a single-threaded caller (they fork and
 * clone without exec'ing the caller's image); sandbox_netns_create needs
 * /proc in the caller's view. Error convention: 0, or negative errno with
 * a one-line reason in err (lib/errbuf.h).
 */
#ifndef DSHIELD_SANDBOXD_SANDBOX_H
#define DSHIELD_SANDBOXD_SANDBOX_H

#include "lib/seccomp.h"
#include "proto/netd_sandboxd.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SANDBOX_FDS         4    /* given descriptors become 0, 1, 2, 3 */
#define SANDBOX_SECRETS_MAX 32   /* declared secrets in the environment */
#define SANDBOX_ENV_LEN     4096 /* bytes of PATH plus every secret */
/* envp slots sandbox_env() needs: PATH, HOME, LANG, the two CA variables,
 * the secrets, the NULL */
#define SANDBOX_ENV_SLOTS   (SANDBOX_SECRETS_MAX + 6)
/* Where OpenSSL (hence Python) and most distributions' tools look for
 * trusted CAs by default. */
#define SANDBOX_CA_FILE     "/etc/ssl/certs/ca-certificates.crt"

struct sandbox_spec {
	/* A directory in sandboxd's view (created if missing) on which each
	 * worker mounts its own root tmpfs, inside its own mount namespace:
	 * one directory serves every worker. */
	const char *root_dir;
	const char *layer_dir;     /* runtime layer: its top-level entries */
	const char *code_dir;      /* at /code, read-only */
	const char *data_dir;      /* at /data, writable; NULL: none */
	uid_t uid;                 /* the function's; never 0 */
	gid_t gid;                 /* never 0 */
	const char *user;          /* its name in /etc/passwd; NULL: "fn" */
	int netns_fd;              /* sandbox_netns_create() */
	int cgroup_fd;             /* the worker's cgroup; -1: none */
	bool cgroup_enforced;      /* that cgroup's limits are written (cg_root.enforced) */
	uint64_t root_size;        /* root tmpfs bytes; 0: 1 MiB */
	uint64_t tmp_size;         /* /tmp bytes; 0: 64 MiB */
	uint64_t nofile;           /* RLIMIT_NOFILE; 0: 1024 */
	uint64_t fsize;            /* RLIMIT_FSIZE bytes; 0: /tmp's size */
	uint64_t nproc;            /* RLIMIT_NPROC (per uid); 0: 256 */
	char *const *argv;         /* argv[0]: absolute path inside the sandbox */
	const char *path;          /* PATH; NULL: /usr/local/bin:/usr/bin:/bin */
	/* The function's declared secrets, "NAME=value", NULL-terminated (or
	 * NULL). NAME is [A-Z_][A-Z0-9_]*, not PATH, HOME or LANG, unique. */
	char *const *secrets;
	int fds[SANDBOX_FDS];      /* become 0..3; -1: /dev/null (0-2), closed (3) */
	const struct seccomp_prog *filter;   /* fn_seccomp_build(); required */
	const char *cwd;           /* inside the sandbox; NULL: "/" */
	/* netd's local CA (PEM, sandbox_ca_pem_ok()), or NULL: written as the
	 * sandbox's only trusted CA at SANDBOX_CA_FILE, which SSL_CERT_FILE
	 * and NODE_EXTRA_CA_CERTS name in the environment. */
	const char *ca_pem;
};

struct sandbox_proc {
	pid_t pid;                 /* in sandboxd's pid namespace; wait for it */
	int pidfd;                 /* the caller closes it */
	/* Limits are in force only when a cgroup was given and its root
	 * enforces (cgroup.h): the caller surfaces false, never hides it. */
	bool limits_enforced;
};

/* a function's listeners' backlog: a burst of connections (netd may hold
 * 1000 of one function, net/egress_proxy.h) waits in the kernel's queue
 * while netd accepts, rather than its SYNs being dropped and retried */
#define SANDBOX_LISTEN_BACKLOG 1024

/* Makes a network namespace holding only lo, up, with 127.0.0.1/8, and
 * returns it as *fd (close-on-exec). The caller's namespace is untouched
 * (a short-lived child makes it). Inside it, the child also makes the n
 * listeners of want (proto/netd_sandboxd.h: DNS, proxy and ports, bound,
 * TCP ones listening), returned in lfds[0..n) in order; binding port 53
 * takes CAP_NET_BIND_SERVICE. All or nothing: on failure every fd is -1. */
int sandbox_netns_create(int *fd, const struct sbx_listener *want, unsigned n, int *lfds,
			 char *err, size_t cap);

/* Starts one worker; returns once it exec'd argv (or failed before,
 * with the step that failed in err; the child is then reaped). A child
 * killed by a signal before its exec (nothing in this code does that)
 * cannot report: it looks like a worker that exec'd and died at once,
 * which the caller sees when it waits for it. */
int sandbox_spawn(const struct sandbox_spec *s, struct sandbox_proc *p,
		  char *err, size_t cap);

/* Checks secrets and PATH, and builds the worker's environment into envp
 * (SANDBOX_ENV_SLOTS slots) with PATH's string in pathbuf. Exposed
 * for tests. */
int sandbox_env(const struct sandbox_spec *s, char **envp, size_t nenv,
		char *pathbuf, size_t pathcap, char *err, size_t cap);

/* Is pem[0..len) one PEM certificate as tls/cert.h cert_pem() writes it
 * (the marker lines, base64 lines, every line ending in LF, nothing
 * else)? It becomes a file in every sandbox: nothing else may. */
bool sandbox_ca_pem_ok(const char *pem, size_t len);

#endif
