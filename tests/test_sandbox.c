/* tests/test_sandbox.c: real function sandboxes (needs root).
 *
 * The "runtime layer" is the host's own /usr with the usual top-level
 * symlinks (/bin, /lib, /lib64, /sbin -> usr/...), bound into a directory
 * of this test's private mount namespace, so that /usr/bin/python3 and
 * node (when installed) run inside. The escape probe (tests/escape/probe.c,
 * static musl) runs as a function and prints TAP, relayed here line by
 * line. Two functions with different uids check that one cannot reach the
 * other's code. On a machine whose cgroup2 has no controllers (this host)
 * the worker is still cloned into a cgroup, killed and removed through it,
 * and the spawn says its limits are not enforced; where the controllers
 * exist (the VM), memory.max is checked to end in an OOM kill.
 */
#include "sandboxd/cgroup.h"
#include "sandboxd/fn_seccomp.h"
#include "sandboxd/sandbox.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define UID_A 60001
#define UID_B 60002
#define TMP_BYTES (4u * 1024 * 1024)

static char base[] = "/tmp/sandbox.XXXXXX";
static char layer[64], root[64], code_a[64], code_b[64], data_b[64], probe_path[600];
static struct seccomp_prog filter;
static int netns = -1;
static bool have_usr;

static void die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(2);
}

static void path_join(char *buf, size_t n, const char *a, const char *b)
{
	if ((size_t)snprintf(buf, n, "%s/%s", a, b) >= n)
		die("path too long");
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		die(from);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0)
		die(to);
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("write");
	close(in);
	close(out);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(path);
	close(fd);
}

/* The layer, two code directories and a data directory under base. */
static void setup(void)
{
	char p[128], self[512];
	ssize_t n;

	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die("private mount namespace");
	if (mkdtemp(base) == NULL || chmod(base, 0755) != 0)
		die("mkdtemp");
	path_join(layer, sizeof layer, base, "layer");
	path_join(root, sizeof root, base, "root");
	path_join(code_a, sizeof code_a, base, "code-a");
	path_join(code_b, sizeof code_b, base, "code-b");
	path_join(data_b, sizeof data_b, base, "data-b");
	if (mkdir(layer, 0755) != 0 || mkdir(code_a, 0755) != 0 || mkdir(code_b, 0700) != 0 ||
	    mkdir(data_b, 0700) != 0)
		die("mkdir");
	/* A machine without /usr (the test VM's initramfs) gets an empty
	 * layer: the static probe needs none. */
	have_usr = access("/usr/bin", X_OK) == 0;
	path_join(p, sizeof p, layer, "usr");
	if (have_usr && (mkdir(p, 0755) != 0 || mount("/usr", p, NULL, MS_BIND | MS_REC, NULL) != 0))
		die("bind /usr into the layer");
	static const char *const links[][2] = {
		{ "bin", "usr/bin" }, { "sbin", "usr/sbin" }, { "lib", "usr/lib" }, { "lib64", "usr/lib64" },
	};
	for (size_t i = 0; have_usr && i < 4; i++) {
		path_join(p, sizeof p, layer, links[i][0]);
		if (symlink(links[i][1], p) != 0)
			die("symlink");
	}
	/* the probe sits next to this test: build/escape/probe */
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		die("readlink /proc/self/exe");
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	path_join(probe_path, sizeof probe_path, self, "../escape/probe");
	path_join(p, sizeof p, code_a, "probe");
	copy_file(probe_path, p, 0555);
	path_join(p, sizeof p, code_a, "a.txt");
	write_text(p, "function a\n", 0444);
	path_join(p, sizeof p, code_b, "probe");
	copy_file(probe_path, p, 0555);
	path_join(p, sizeof p, code_b, "secret.txt");
	write_text(p, "function b's code\n", 0400);
	if (chown(p, UID_B, UID_B) != 0 || chown(code_b, UID_B, UID_B) != 0 ||
	    chown(data_b, UID_B, UID_B) != 0)
		die("chown");
}

static void spec_init(struct sandbox_spec *s, uid_t uid, const char *code, char *const *argv)
{
	memset(s, 0, sizeof *s);
	s->root_dir = root;
	s->layer_dir = layer;
	s->code_dir = code;
	s->uid = uid;
	s->gid = uid;
	s->netns_fd = netns;
	s->cgroup_fd = -1;
	s->tmp_size = TMP_BYTES;
	s->argv = argv;
	s->filter = &filter;
	for (int i = 0; i < SANDBOX_FDS; i++)
		s->fds[i] = -1;
}

/* Runs the spec with stdout and stderr into one pipe; the output into
 * out (NUL-terminated); returns the wait status, or -1 when the spawn
 * failed (its reason in err). */
static int run(struct sandbox_spec *s, char *out, size_t cap, char *err)
{
	struct sandbox_proc p;
	size_t len = 0;
	ssize_t n;
	int pfd[2], st;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		die("pipe");
	s->fds[1] = pfd[1];
	s->fds[2] = pfd[1];
	int r = sandbox_spawn(s, &p, err, ERRBUF_LEN);
	close(pfd[1]);
	if (r < 0) {
		close(pfd[0]);
		out[0] = '\0';
		return -1;
	}
	while ((n = read(pfd[0], out + len, cap - 1 - len)) > 0 && len + (size_t)n < cap - 1)
		len += (size_t)n;
	if (n > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(pfd[0]);
	if (waitpid(p.pid, &st, 0) != p.pid)
		die("waitpid");
	close(p.pidfd);
	return st;
}

/* The probe's TAP, one line of ours per line of its. */
static void relay_tap(const char *out, const char *who)
{
	int n = 0, planned = -1;

	for (const char *l = out; *l != '\0';) {
		const char *e = strchr(l, '\n');
		int len = e ? (int)(e - l) : (int)strlen(l);
		if (strncmp(l, "ok ", 3) == 0 || strncmp(l, "not ok ", 7) == 0) {
			const char *d = strstr(l, " - ");
			int pass = l[0] == 'o';
			int dl = d && d < l + len ? len - (int)(d + 3 - l) : 0;
			ok(pass, "%s: %.*s", who, dl, d ? d + 3 : "");
			n++;
		} else if (strncmp(l, "1..", 3) == 0) {
			planned = atoi(l + 3);
		} else if (len > 0) {
			printf("# %s: %.*s\n", who, len, l);
		}
		l += len;
		if (*l == '\n')
			l++;
	}
	ok(n > 0 && n == planned, "%s: ran all its %d checks (plan %d)", who, n, planned);
}

/* sandbox_env's result for the spec s with the given secrets. */
static int env_rc(struct sandbox_spec *s, char **secrets, char **envp)
{
	static char pathbuf[64];   /* envp[0] points into it after the return */
	char err[ERRBUF_LEN];

	s->secrets = secrets;
	return sandbox_env(s, envp, SANDBOX_ENV_SLOTS, pathbuf, sizeof pathbuf, err, sizeof err);
}

static void test_env(void)
{
	char *envp[SANDBOX_ENV_SLOTS];
	char *good[] = { "API_KEY=x", "B2=", NULL };
	char *reserved[] = { "PATH=/evil", NULL };
	char *lower[] = { "api=x", NULL };
	char *digit[] = { "1A=x", NULL };
	char *dup[] = { "A=1", "A=2", NULL };
	char *noeq[] = { "A", NULL };
	char *many[SANDBOX_SECRETS_MAX + 2];
	char names[SANDBOX_SECRETS_MAX + 1][8];
	struct sandbox_spec s;

	memset(&s, 0, sizeof s);
	is_int(env_rc(&s, good, envp), 5, "env: PATH, HOME, LANG and two secrets");
	is_str(envp[0], "PATH=/usr/local/bin:/usr/bin:/bin", "env: default PATH");
	is_str(envp[1], "HOME=/tmp", "env: HOME=/tmp");
	is_str(envp[2], "LANG=C.UTF-8", "env: LANG=C.UTF-8");
	ok(envp[3] == good[0] && envp[4] == good[1] && envp[5] == NULL, "env: the secrets, then NULL");
	is_int(env_rc(&s, reserved, envp), -EINVAL, "env: a secret named PATH refused");
	is_int(env_rc(&s, lower, envp), -EINVAL, "env: a lower-case name refused");
	is_int(env_rc(&s, digit, envp), -EINVAL, "env: a name starting with a digit refused");
	is_int(env_rc(&s, dup, envp), -EINVAL, "env: a duplicate name refused");
	is_int(env_rc(&s, noeq, envp), -EINVAL, "env: no '=' refused");
	for (int i = 0; i <= SANDBOX_SECRETS_MAX; i++) {
		snprintf(names[i], sizeof names[i], "S%d=1", i);
		many[i] = names[i];
	}
	many[SANDBOX_SECRETS_MAX + 1] = NULL;
	is_int(env_rc(&s, many, envp), -E2BIG, "env: more than SANDBOX_SECRETS_MAX refused");
	s.path = "/a/very/long/path/that/does/not/fit/in/sixty/four/bytes/of/buffer";
	is_int(env_rc(&s, NULL, envp), -E2BIG, "env: a PATH longer than its buffer refused");
	s.path = "/bin\nX=1";
	is_int(env_rc(&s, NULL, envp), -EINVAL, "env: a PATH with a newline refused");
	s.path = NULL;

	/* with netd's CA: its two variables after LANG, their names reserved */
	char *ssl[] = { "SSL_CERT_FILE=/evil", NULL };
	char *node[] = { "NODE_EXTRA_CA_CERTS=/evil", NULL };
	s.ca_pem = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n";
	is_int(env_rc(&s, good, envp), 7, "env with a CA: PATH, HOME, LANG, 2 CA variables, 2 secrets");
	is_str(envp[3], "SSL_CERT_FILE=" SANDBOX_CA_FILE, "env: SSL_CERT_FILE names the CA file");
	is_str(envp[4], "NODE_EXTRA_CA_CERTS=" SANDBOX_CA_FILE, "env: NODE_EXTRA_CA_CERTS too");
	ok(envp[5] == good[0] && envp[6] == good[1] && envp[7] == NULL, "env: then the secrets, NULL");
	is_int(env_rc(&s, ssl, envp), -EINVAL, "env: a secret named SSL_CERT_FILE refused");
	is_int(env_rc(&s, node, envp), -EINVAL, "env: a secret named NODE_EXTRA_CA_CERTS refused");
	s.ca_pem = NULL;
	is_int(env_rc(&s, ssl, envp), -EINVAL, "env: SSL_CERT_FILE is reserved without a CA too");
}

static void test_ca_pem(void)
{
	static const char good[] = "-----BEGIN CERTIFICATE-----\nQUJD\nREVG\n-----END CERTIFICATE-----\n";
	char buf[SBX_CA_PEM_MAX + 64];

	ok(sandbox_ca_pem_ok(good, sizeof good - 1), "ca pem: a certificate accepted");
	ok(!sandbox_ca_pem_ok(good, sizeof good - 2), "ca pem: no final LF refused");
	memcpy(buf, good, sizeof good);
	buf[30] = '\r';
	ok(!sandbox_ca_pem_ok(buf, sizeof good - 1), "ca pem: a CR refused");
	memcpy(buf, good, sizeof good);
	buf[28] = '\n';
	ok(!sandbox_ca_pem_ok(buf, sizeof good - 1), "ca pem: an empty line refused");
	memcpy(buf, good, sizeof good);
	memcpy(buf + 5, "PRIVATE", 7);
	ok(!sandbox_ca_pem_ok(buf, sizeof good - 1), "ca pem: another marker refused");
	static const char two[] = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"
				  "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n";
	ok(!sandbox_ca_pem_ok(two, sizeof two - 1), "ca pem: a second certificate refused");
	size_t n = 28;
	memcpy(buf, good, n);
	for (int i = 0; i < 65; i++)
		buf[n++] = 'A';
	buf[n++] = '\n';
	memcpy(buf + n, "-----END CERTIFICATE-----\n", 26);
	ok(!sandbox_ca_pem_ok(buf, n + 26), "ca pem: a line over 64 characters refused");
	memset(buf, 'A', sizeof buf);
	ok(!sandbox_ca_pem_ok(buf, SBX_CA_PEM_MAX + 1), "ca pem: over SBX_CA_PEM_MAX refused");
}

static void test_netns(void)
{
	char err[ERRBUF_LEN] = "";
	struct stat a, b;

	is_int(sandbox_netns_create(&netns, NULL, 0, NULL, err, sizeof err), 0, "netns created (%s)", err);
	ok(netns >= 0 && fstat(netns, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 &&
	   a.st_ino != b.st_ino, "it is not this process's namespace");
	ok(fcntl(netns, F_GETFD) == FD_CLOEXEC, "its fd is close-on-exec");
}

static void test_spawn_errors(void)
{
	char err[ERRBUF_LEN], out[256];
	char *argv[] = { "/code/probe", "--alloc", "4096", NULL };
	char *rel[] = { "probe", NULL };
	char *missing[] = { "/code/no-such-program", NULL };
	char *bad_secret[] = { "PATH=x", NULL };
	struct sandbox_spec s;
	struct sandbox_proc p;

	spec_init(&s, 0, code_a, argv);
	is_int(sandbox_spawn(&s, &p, err, sizeof err), -EINVAL, "spawn: uid 0 refused");
	spec_init(&s, UID_A, code_a, rel);
	is_int(sandbox_spawn(&s, &p, err, sizeof err), -EINVAL, "spawn: relative argv[0] refused");
	spec_init(&s, UID_A, code_a, argv);
	s.filter = NULL;
	is_int(sandbox_spawn(&s, &p, err, sizeof err), -EINVAL, "spawn: no seccomp filter refused");
	spec_init(&s, UID_A, code_a, argv);
	s.secrets = bad_secret;
	is_int(sandbox_spawn(&s, &p, err, sizeof err), -EINVAL, "spawn: a bad secret refused");
	spec_init(&s, UID_A, code_a, missing);
	ok(run(&s, out, sizeof out, err) == -1 && strstr(err, "execve") != NULL,
	   "spawn: a missing program fails at execve, with the reason (%s)", err);
	spec_init(&s, UID_A, "/nonexistent/code", argv);
	ok(run(&s, out, sizeof out, err) == -1 && strstr(err, "/nonexistent/code") != NULL,
	   "spawn: a missing code directory fails, named (%s)", err);
	spec_init(&s, UID_A, code_a, argv);
	int st = run(&s, out, sizeof out, err);
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "spawn: a program runs and exits 0 (status %#x %s)",
	   st, st < 0 ? err : "");
}

static void test_probe(void)
{
	static char out[1 << 16];
	char err[ERRBUF_LEN] = "", other[128], tmp[32];
	char *secrets[] = { "SECRET_TOKEN=s3cr3t", NULL };
	struct sandbox_spec s;
	int extra = open("/dev/null", O_RDONLY);   /* not close-on-exec: must not leak */

	path_join(other, sizeof other, code_b, "secret.txt");
	snprintf(tmp, sizeof tmp, "%u", TMP_BYTES);
	/* function B runs meanwhile, under its own uid, from its own code */
	char *bargv[] = { "/code/probe", "--pause", NULL };
	struct sandbox_proc b;
	spec_init(&s, UID_B, code_b, bargv);
	is_int(sandbox_spawn(&s, &b, err, sizeof err), 0, "function B is running (%s)", err);
	char bpid[16];
	snprintf(bpid, sizeof bpid, "%d", (int)b.pid);
	char *argv[] = { "/code/probe", "--uid", "60001", "--tmp-bytes", tmp, "--other", other,
			 "--other-pid", bpid, "--secret", "SECRET_TOKEN=s3cr3t", NULL };
	spec_init(&s, UID_A, code_a, argv);
	s.secrets = secrets;
	s.fds[3] = extra;
	/* positive control for the probe's masked /proc files: here they
	 * have content, so its empty reads are the mask's doing */
	static const char *const masked[] = { "/proc/kallsyms", "/proc/timer_list" };
	for (size_t i = 0; i < 2; i++) {
		char mb[64];
		int mfd = open(masked[i], O_RDONLY | O_CLOEXEC);
		ssize_t got = mfd >= 0 ? read(mfd, mb, sizeof mb) : -1;
		if (mfd >= 0)
			close(mfd);
		ok(got > 0, "outside the sandbox %s has content (%zd bytes)", masked[i], got);
	}
	int st = run(&s, out, sizeof out, err);
	ok(st >= 0, "probe: spawned (%s)", err);
	relay_tap(out, "probe");
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "probe: exited 0 (status %#x)", st);
	close(extra);
	/* Never kill() a pid that is not a child we have: -1 would be
	 * every process of the machine. The pidfd names exactly B. */
	ok(b.pid > 0 && b.pidfd >= 0 && syscall(SYS_pidfd_send_signal, b.pidfd, SIGKILL, NULL, 0) == 0 &&
	   waitpid(b.pid, &st, 0) == b.pid && WIFSIGNALED(st),
	   "function B was still running, and is stopped");
	if (b.pidfd >= 0)
		close(b.pidfd);
}

/* Python and Node as function B: uid, capabilities, network, /proc/sys,
 * /, /tmp, /data, the environment; the interpreters' own view. */
static void test_runtimes(void)
{
	static char out[8192];
	char err[ERRBUF_LEN] = "";
	struct sandbox_spec s;
	static const char py[] =
		"import os, socket, errno\n"
		"print('uid', os.getuid(), os.getgid())\n"
		"st = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
		"print('caps', all(int(st[k], 16) == 0 for k in ('CapInh','CapPrm','CapEff','CapBnd','CapAmb')))\n"
		"s = socket.socket()\n"
		"print('net', errno.errorcode.get(s.connect_ex(('10.1.2.3', 80))))\n"
		"try:\n    open('/proc/sys/kernel/hostname', 'w').write('x')\n    print('procsys writable')\n"
		"except OSError as e:\n    print('procsys', errno.errorcode[e.errno])\n"
		"print('root', ' '.join(sorted(os.listdir('/'))))\n"
		"print('code', open('/code/secret.txt').read().strip())\n"
		"open('/data/out', 'w').write('hi'); print('data ok')\n"
		"print('env', ' '.join(sorted(os.environ)))\n"
		"import json, hashlib, ssl; print('stdlib ok')\n";
	char *argv[] = { "/usr/bin/python3", "-I", "-c", (char *)py, NULL };

	if (access("/usr/bin/python3", X_OK) != 0) {
		ok(1, "# skip python3 and node: not installed here");
		return;
	}

	spec_init(&s, UID_B, code_b, argv);
	s.data_dir = data_b;
	int st = run(&s, out, sizeof out, err);
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "python3: exited 0 (status %#x %s)", st, err);
	ok(strstr(out, "uid 60002 60002\n") != NULL, "python3: runs as the function's uid and gid");
	ok(strstr(out, "caps True\n") != NULL, "python3: no capability in any set");
	ok(strstr(out, "net ENETUNREACH\n") != NULL, "python3: no route to 10.x (ENETUNREACH)");
	ok(strstr(out, "procsys EROFS\n") != NULL || strstr(out, "procsys EACCES\n") != NULL,
	   "python3: /proc/sys not writable");
	ok(strstr(out, "root bin code data dev etc lib lib64 proc sbin tmp usr\n") != NULL,
	   "python3: / holds the layer, code, data, dev, etc, proc, tmp; no sys");
	ok(strstr(out, "code function b's code\n") != NULL, "python3: reads its own /code");
	ok(strstr(out, "data ok\n") != NULL, "python3: writes its /data");
	ok(strstr(out, "env HOME LANG LC_CTYPE PATH\n") != NULL || strstr(out, "env HOME LANG PATH\n") != NULL,
	   "python3: the environment is only PATH, HOME, LANG");
	ok(strstr(out, "stdlib ok\n") != NULL, "python3: json, hashlib, ssl import");
	diag("python3 said:");
	for (char *l = out; *l;) {
		char *e = strchr(l, '\n');
		int len = e ? (int)(e - l) : (int)strlen(l);
		printf("#   %.*s\n", len, l);
		l += len + (e != NULL);
	}

	if (access("/usr/bin/node", X_OK) != 0) {
		ok(1, "# skip node: /usr/bin/node not installed");
		return;
	}
	static const char js[] =
		"const fs = require('fs'), net = require('net');"
		"const caps = fs.readFileSync('/proc/self/status', 'utf8').split('\\n')"
		"  .filter(l => l.startsWith('Cap')).every(l => parseInt(l.split(':')[1], 16) === 0);"
		"console.log('uid', process.getuid(), 'caps', caps);"
		"fs.writeFileSync('/tmp/x', 'y'); console.log('tmp', fs.readFileSync('/tmp/x', 'utf8'));"
		"const s = net.connect(80, '10.1.2.3');"
		"s.on('error', e => { console.log('net', e.code); });";
	char *nargv[] = { "/usr/bin/node", "-e", (char *)js, NULL };
	spec_init(&s, UID_B, code_b, nargv);
	st = run(&s, out, sizeof out, err);
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "node: exited 0 (status %#x %s)", st, err);
	ok(strstr(out, "uid 60002 caps true\n") != NULL, "node: the function's uid, no capability");
	ok(strstr(out, "tmp y\n") != NULL, "node: writes /tmp");
	ok(strstr(out, "net ENETUNREACH\n") != NULL, "node: no route to 10.x (ENETUNREACH)");
	for (char *l = out; *l;) {
		char *e = strchr(l, '\n');
		int len = e ? (int)(e - l) : (int)strlen(l);
		printf("#   %.*s\n", len, l);
		l += len + (e != NULL);
	}
}

/* Waits for the cgroup to empty; bounded by a count, not a time. */
static int wait_empty(int fd)
{
	for (int i = 0; i < 1000; i++) {
		int r = cg_populated(fd);
		if (r <= 0)
			return r;
		usleep(10000);
	}
	return 1;
}

/* Runs the probe with args in a new worker cgroup `name` under fn with
 * limits lim; returns the wait status, *ev the cgroup's events after. */
static int run_limited(int fn, const char *name, const struct cg_limits *lim, char **args,
		       struct cg_events *ev, char *out, size_t outcap)
{
	char err[ERRBUF_LEN] = "";
	struct sandbox_spec s;
	int w = -1, st = -1;

	memset(ev, 0, sizeof *ev);
	if (cg_create(fn, name, false, &w, err, sizeof err) < 0 ||
	    cg_set_limits(w, lim, err, sizeof err) < 0) {
		diag("%s", err);
		if (w >= 0)
			close(w);
		return -1;
	}
	spec_init(&s, UID_A, code_a, args);
	s.cgroup_fd = w;
	s.cgroup_enforced = true;
	st = run(&s, out, outcap, err);
	if (st == -1)
		diag("%s", err);
	if (cg_read_events(w, ev, err, sizeof err) < 0)
		diag("%s", err);
	wait_empty(w);
	close(w);
	cg_remove(fn, name, err, sizeof err);
	return st;
}

/* Where the controllers exist (the VM): the limits bite. */
static void test_limits(int fn)
{
	char out[512];
	struct cg_events ev;
	char *alloc[] = { "/code/probe", "--alloc", "268435456", NULL };
	char *small[] = { "/code/probe", "--alloc", "8388608", NULL };
	char *forks[] = { "/code/probe", "--forks", "64", NULL };
	struct cg_limits mem = { .memory_max = 32u << 20, .pids_max = 64 };
	struct cg_limits pids = { .memory_max = 64u << 20, .pids_max = 8 };

	int st = run_limited(fn, "w-small", &mem, small, &ev, out, sizeof out);
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && ev.oom_kill == 0,
	   "limits: 8 MiB under memory.max 32 MiB is fine (status %#x, oom_kill %llu) (positive control)",
	   st, (unsigned long long)ev.oom_kill);
	st = run_limited(fn, "w-oom", &mem, alloc, &ev, out, sizeof out);
	ok(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	   "limits: 256 MiB under memory.max 32 MiB (no swap) ends in SIGKILL (status %#x)", st);
	ok(ev.oom_kill >= 1, "limits: memory.events oom_kill %llu", (unsigned long long)ev.oom_kill);
	st = run_limited(fn, "w-pids", &pids, forks, &ev, out, sizeof out);
	out[strcspn(out, "\n")] = '\0';
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "limits: pids.max 8 refuses a fork (%s)", out);
	ok(ev.pids_max >= 1, "limits: pids.events max %llu", (unsigned long long)ev.pids_max);
}

static int find_cgroup2(char *path, size_t n)
{
	static const char *const cands[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sf;

	for (size_t i = 0; i < 2; i++)
		if (statfs(cands[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
			snprintf(path, n, "%s", cands[i]);
			return 0;
		}
	return -1;
}

static void test_cgroup_real(void)
{
	char top[128], rootpath[200], err[ERRBUF_LEN] = "", line[512];
	char *argv[] = { "/code/probe", "--pause", NULL };
	struct cg_root cr;
	struct sandbox_spec s;
	struct sandbox_proc p;
	int fn = -1, w = -1, st;

	if (find_cgroup2(top, sizeof top) != 0) {
		ok(1, "# skip cgroup: no cgroup2 mounted here");
		return;
	}
	/* Where the top has the controllers (the VM), they must be enabled
	 * down to the delegated root: init's job in the image, ours here. */
	char ctl[256];
	snprintf(line, sizeof line, "%s/cgroup.controllers", top);
	long cl = file_read(line, ctl, sizeof ctl - 1);
	if (cl > 0 && strstr(ctl, "memory") && strstr(ctl, "pids") && strstr(ctl, "cpu")) {
		snprintf(line, sizeof line, "%s/cgroup.subtree_control", top);
		const char *en = "+cpu +memory +pids";
		const char *step;
		int r = file_write_once(line, en, strlen(en), &step);
		ok(r == 0, "cgroup: controllers enabled at %s (%s)", top, r ? strerror(-r) : "");
	}
	snprintf(rootpath, sizeof rootpath, "%s/dshield-test-%d", top, (int)getpid());
	if (mkdir(rootpath, 0755) != 0)
		die("mkdir the test's cgroup root");
	is_int(cg_root_open(&cr, rootpath, err, sizeof err), 0, "cgroup: root opened (%s)", err);
	diag("cgroup root %s: controllers %#x, enforced %d (%s)", rootpath, cr.controllers,
	     cr.enforced, cr.enforced ? "" : err);
	err[0] = '\0';
	is_int(cg_create(cr.fd, "fn-a", cr.enforced, &fn, err, sizeof err), 0, "cgroup: function cgroup made (%s)", err);
	is_int(cg_create(fn, "w-1", false, &w, err, sizeof err), 0, "cgroup: worker cgroup made (%s)", err);
	if (cr.enforced) {
		struct cg_limits lim = { .memory_max = 32u << 20, .pids_max = 16,
					 .cpu_quota_us = 50000, .cpu_period_us = 100000 };
		is_int(cg_set_limits(w, &lim, err, sizeof err), 0, "cgroup: limits written (%s)", err);
	}
	spec_init(&s, UID_A, code_a, argv);
	s.cgroup_fd = w;
	s.cgroup_enforced = cr.enforced;
	is_int(sandbox_spawn(&s, &p, err, sizeof err), 0, "cgroup: worker spawned into it (%s)", err);
	ok(p.limits_enforced == cr.enforced, "cgroup: the spawn says limits are %senforced",
	   cr.enforced ? "" : "not ");
	snprintf(line, sizeof line, "/proc/%d/cgroup", (int)p.pid);
	char want[300], got[1024] = "";
	snprintf(want, sizeof want, "0::%s/fn-a/w-1\n", rootpath + strlen(top));
	int fd = open(line, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, got, sizeof got - 1) : -1;
	if (fd >= 0) close(fd);
	if (n > 0) got[n] = '\0';
	ok(strstr(got, want) != NULL, "cgroup: the worker was born in w-1 (clone3 CLONE_INTO_CGROUP)");
	is_int(cg_populated(w), 1, "cgroup: populated");
	is_int(cg_remove(fn, "w-1", err, sizeof err), -EBUSY, "cgroup: a populated cgroup is not removed");
	err[0] = '\0';
	is_int(cg_kill(w, err, sizeof err), 0, "cgroup: cgroup.kill written (%s)", err);
	ok(waitpid(p.pid, &st, 0) == p.pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	   "cgroup: the worker died of SIGKILL");
	close(p.pidfd);
	is_int(wait_empty(w), 0, "cgroup: empty after the kill");
	close(w);
	is_int(cg_remove(fn, "w-1", err, sizeof err), 0, "cgroup: worker cgroup removed (%s)", err);

	if (cr.enforced)
		test_limits(fn);
	else
		ok(1, "# skip memory.max and pids.max enforcement: this cgroup2 has no controllers");
	close(fn);
	is_int(cg_remove(cr.fd, "fn-a", err, sizeof err), 0, "cgroup: function cgroup removed");
	cg_root_close(&cr);
	ok(rmdir(rootpath) == 0, "cgroup: the test's root removed");
}

static void cleanup(void)
{
	char p[128];

	path_join(p, sizeof p, layer, "usr");
	if (have_usr) {
		umount2(p, MNT_DETACH);
		rmdir(p);
	}
	static const char *const names[] = { "bin", "sbin", "lib", "lib64" };
	for (size_t i = 0; i < 4; i++) {
		path_join(p, sizeof p, layer, names[i]);
		unlink(p);
	}
	rmdir(layer);
	path_join(p, sizeof p, code_a, "probe"); unlink(p);
	path_join(p, sizeof p, code_a, "a.txt"); unlink(p);
	path_join(p, sizeof p, code_b, "secret.txt"); unlink(p);
	path_join(p, sizeof p, code_b, "probe"); unlink(p);
	path_join(p, sizeof p, data_b, "out"); unlink(p);
	rmdir(code_a);
	rmdir(code_b);
	rmdir(data_b);
	rmdir(root);
	int r = rmdir(base);
	ok(r == 0, "the test's directory is left empty and removed (%s)", r ? strerror(errno) : "");
}

int main(void)
{
	char err[ERRBUF_LEN];

	test_env();
	test_ca_pem();
	if (geteuid() != 0) {
		ok(1, "# skip sandboxes need root");
		return tap_done();
	}
	int len = fn_seccomp_build(&filter);
	ok(len > 0, "the function filter builds (%d instructions)", len);
	setup();
	if (setenv("DSHIELD_PARENT_MARK", "1", 1) != 0)
		die("setenv");
	test_netns();
	if (netns < 0) {
		printf("Bail out! no network namespace: %s\n", err);
		return 2;
	}
	test_spawn_errors();
	test_probe();
	test_runtimes();
	test_cgroup_real();
	close(netns);
	cleanup();
	return tap_done();
}
