/* tests/bench/bench_fn.c: function sandboxes against the same runtimes
 * run bare, on this machine, in one run (`make bench BENCH=fn`; needs root).
 *
 *   bench_fn WORKDIR LAYERS NATIVE_ELF [COLD [WARM]]
 *
 * For python, node (LAYERS/<rt>, the runtime trees of `make layer-trees`)
 * and native (NATIVE_ELF, a static program reading stdin):
 *
 *   bare     the same layer, its top-level entries and the code bound into
 *            a directory once, then per run: fork, chroot there, the
 *            function's uid, exec. No namespace, tmpfs, rlimit or seccomp:
 *            what the runtime itself costs.
 *   sandbox  sandbox_spawn (sandboxd/sandbox.h) with the spec sandboxd
 *            gives a worker (tmpfs root, /code, /tmp, netns, seccomp).
 *
 * Figures (microseconds, p50/p99 over COLD or WARM samples):
 *   process_start   `python3 -I -c pass`, `node -e 0`, the ELF (stdin
 *                   empty): start to exit; for the sandbox also start to
 *                   sandbox_spawn's return (the worker exec'd).
 *   worker_ready    start to the worker's HELLO on fd 3 (the cold start of
 *                   a frames worker: interpreter, the worker, the module).
 *   warm_invoke     INVOKE to RESULT over fd 3 on one running worker.
 *   handler_call    the handler called in a loop inside the interpreter
 *                   (a tiny harness run bare): the floor of any invocation.
 *   native invoke   a native invocation is a process: spawn, the request on
 *                   stdin, its stdout to EOF, the exit.
 * Prints one JSON object. Never asserts on time.
 */
#include "lib/errbuf.h"
#include "lib/frame.h"
#include "proto/fn_frame.h"
#include "sandboxd/fn_seccomp.h"
#include "sandboxd/sandbox.h"
#include "tests/bench/samples.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FN_UID 60100
#define SAMPLES_MAX 20000

enum { RT_PY, RT_NODE, RT_NATIVE, RT_N };

static const char *const rt_name[RT_N] = { "python", "node", "native" };

struct bench {
	const char *work, *layers, *native_elf;
	unsigned cold, warm;
	char root[PATH_MAX + 64], code[RT_N][PATH_MAX + 64], bare[RT_N][PATH_MAX + 64], layer[RT_N][PATH_MAX + 64];
	struct seccomp_prog filter;
	int netns;
	uint64_t s[SAMPLES_MAX];
	uint8_t *payload;     /* FN_FRAME_MAX */
	uint8_t in[65536];
	size_t in_off, in_len;
	struct frame_reader r;
};

static const char py_fn[] = "def handler(req):\n    return {\"ok\": True}\n";
static const char js_fn[] = "exports.handler = (req) => ({ ok: true });\n";
static const char event[] =
	"{\"id\":\"4b8e7c9a-0000-4000-8000-000000000001\",\"functionId\":\"bench\","
	"\"method\":\"POST\",\"path\":\"/invoke/bench\",\"headers\":{\"content-type\":"
	"\"application/json\"},\"body\":{},\"query\":{}}";

static char *const py_start[] = { "/usr/bin/python3", "-I", "-c", "pass", NULL };
static char *const js_start[] = { "/usr/bin/node", "-e", "0", NULL };
static char *const nat_start[] = { "/code/function", NULL };
static char *const py_worker[] = { "/usr/bin/python3", "-I", "/usr/lib/dshield/dshield_worker.py",
				   "--code", "/code/function.py", "--handler", "handler", NULL };
static char *const js_worker[] = { "/usr/bin/node", "/usr/lib/dshield/dshield_worker.mjs",
				   "--code", "/code/function.js", "--handler", "handler", NULL };
/* The harnesses print "p50 p99" of one handler call in ns. */
static char *const py_harness[] = { "/usr/bin/python3", "-I", "-c",
	"import importlib.util as u, time\n"
	"s = u.spec_from_file_location('f', '/code/function.py'); m = u.module_from_spec(s)\n"
	"s.loader.exec_module(m); h = m.handler; ev = {'body': {}}; t = []\n"
	"for _ in range(20000):\n"
	"    a = time.perf_counter_ns(); h(ev); t.append(time.perf_counter_ns() - a)\n"
	"t.sort(); print(t[len(t) // 2], t[len(t) * 99 // 100])\n", NULL };
static char *const js_harness[] = { "/usr/bin/node", "-e",
	"const h = require('/code/function.js').handler, ev = { body: {} }, t = [];\n"
	"for (let i = 0; i < 20000; i++) { const a = process.hrtime.bigint(); h(ev);\n"
	"  t.push(Number(process.hrtime.bigint() - a)); }\n"
	"t.sort((x, y) => x - y); console.log(t[t.length >> 1], t[Math.floor(t.length * 99 / 100)]);\n",
	NULL };
static char *const env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", NULL };

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_fn: %s: %s\n", what, why ? why : strerror(errno));
	exit(1);
}

static void put_pct(const char *name, struct pct p)
{
	printf("\"%s\":{\"p50\":%.1f,\"p99\":%.1f}", name, p.p50, p.p99);
}

/* "overhead": sandbox minus reference; "ratio": sandbox over reference. */
static void put_cmp(const char *name, struct pct sbx, struct pct ref)
{
	printf("\"%s\":{\"p50_us\":%.1f,\"p99_us\":%.1f,\"ratio_p50\":%.3f,\"ratio_p99\":%.3f}", name,
	       sbx.p50 - ref.p50, sbx.p99 - ref.p99, ref.p50 > 0 ? sbx.p50 / ref.p50 : 0,
	       ref.p99 > 0 ? sbx.p99 / ref.p99 : 0);
}

static void write_text(const char *path, const void *p, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, p, len) != (ssize_t)len || close(fd) != 0)
		die(path, NULL);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		die(from, NULL);
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
		die(to, NULL);
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			die(to, NULL);
	close(in);
	close(out);
}

static void bind_at(const char *from, const char *dir, const char *name)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (mkdir(p, 0755) != 0 || mount(from, p, NULL, MS_BIND | MS_REC, NULL) != 0)
		die(p, NULL);
}

/* The bare tree of a runtime: the layer's top-level entries (symlinks
 * copied, directories bound), its code at /code, /tmp, the host's /dev
 * and /proc. Built once: a bare run pays only fork, chroot and exec. */
static void bare_tree(struct bench *b, unsigned rt)
{
	DIR *d = opendir(b->layer[rt]);
	struct dirent *e;
	char from[PATH_MAX * 2], to[PATH_MAX * 2], link[PATH_MAX];

	if (!d || mkdir(b->bare[rt], 0755) != 0)
		die(b->layer[rt], NULL);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(from, sizeof from, "%s/%s", b->layer[rt], e->d_name);
		snprintf(to, sizeof to, "%s/%s", b->bare[rt], e->d_name);
		ssize_t n = readlink(from, link, sizeof link - 1);
		if (n >= 0) {
			link[n] = '\0';
			if (symlink(link, to) != 0)
				die(to, NULL);
		} else {
			bind_at(from, b->bare[rt], e->d_name);
		}
	}
	closedir(d);
	bind_at(b->code[rt], b->bare[rt], "code");
	bind_at("/dev", b->bare[rt], "dev");
	bind_at("/proc", b->bare[rt], "proc");
	snprintf(to, sizeof to, "%s/tmp", b->bare[rt]);
	if (mkdir(to, 01777) != 0 || chmod(to, 01777) != 0)
		die(to, NULL);
}

static void setup(struct bench *b)
{
	char p[PATH_MAX * 2], err[ERRBUF_LEN];

	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die("private mount namespace", NULL);
	if (mkdir(b->work, 0755) != 0 && errno != EEXIST)
		die(b->work, NULL);
	/* the sandbox takes absolute paths only */
	static char work[PATH_MAX], layers[PATH_MAX];
	if (!realpath(b->work, work) || !realpath(b->layers, layers))
		die("realpath", NULL);
	b->work = work;
	b->layers = layers;
	snprintf(b->root, sizeof b->root, "%s/root", b->work);
	for (unsigned rt = 0; rt < RT_N; rt++) {
		snprintf(b->layer[rt], sizeof b->layer[rt], "%s/%s", b->layers, rt_name[rt]);
		snprintf(b->code[rt], sizeof b->code[rt], "%s/code-%s", b->work, rt_name[rt]);
		snprintf(b->bare[rt], sizeof b->bare[rt], "%s/bare-%s", b->work, rt_name[rt]);
		if (mkdir(b->code[rt], 0755) != 0)
			die(b->code[rt], NULL);
	}
	snprintf(p, sizeof p, "%s/function.py", b->code[RT_PY]);
	write_text(p, py_fn, sizeof py_fn - 1, 0644);
	snprintf(p, sizeof p, "%s/function.js", b->code[RT_NODE]);
	write_text(p, js_fn, sizeof js_fn - 1, 0644);
	snprintf(p, sizeof p, "%s/function", b->code[RT_NATIVE]);
	copy_file(b->native_elf, p, 0755);
	for (unsigned rt = 0; rt < RT_N; rt++)
		bare_tree(b, rt);
	if (fn_seccomp_build(&b->filter) < 0)
		die("fn_seccomp_build", "failed");
	if (sandbox_netns_create(&b->netns, NULL, 0, NULL, err, sizeof err) < 0)
		die("sandbox_netns_create", err);
	if (!(b->payload = malloc(FN_FRAME_MAX)))
		die("malloc", NULL);
}

/* fds[i] < 0: /dev/null (0..2), none (3). */
static pid_t spawn_bare(struct bench *b, unsigned rt, char *const *argv, const int fds[4])
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	int null = open("/dev/null", O_RDWR);
	for (int i = 0; i < 4; i++) {
		int fd = fds[i] >= 0 ? fds[i] : i < 3 ? null : -1;
		if (fd < 0)
			continue;
		if (fd == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(fd, i) < 0)
			_exit(126);
	}
	if (chroot(b->bare[rt]) != 0 || chdir("/tmp") != 0 || setgid(FN_UID) != 0 ||
	    setuid(FN_UID) != 0)
		_exit(126);
	execve(argv[0], argv, env);
	_exit(127);
}

static pid_t spawn_sbx(struct bench *b, unsigned rt, char *const *argv, const int fds[4],
		       int *pidfd)
{
	struct sandbox_spec s;
	struct sandbox_proc p;
	char err[ERRBUF_LEN];

	memset(&s, 0, sizeof s);
	s.root_dir = b->root;
	s.layer_dir = b->layer[rt];
	s.code_dir = b->code[rt];
	s.uid = s.gid = FN_UID;
	s.netns_fd = b->netns;
	s.cgroup_fd = -1;
	s.tmp_size = 1u << 20;
	s.argv = argv;
	s.filter = &b->filter;
	s.cwd = "/tmp";
	memcpy(s.fds, fds, sizeof s.fds);
	if (sandbox_spawn(&s, &p, err, sizeof err) < 0)
		die("sandbox_spawn", err);
	*pidfd = p.pidfd;
	return p.pid;
}

static void reap(pid_t pid, int pidfd, const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		die("waitpid", NULL);
	if (pidfd >= 0)
		close(pidfd);
	if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 1))
		die(what, "the process did not exit normally");
}

/* One frame from sock; returns its type. */
static int read_frame(struct bench *b, int sock)
{
	for (;;) {
		while (b->in_off < b->in_len) {
			size_t used;
			int rc = frame_feed(&b->r, b->in + b->in_off, b->in_len - b->in_off, &used);
			b->in_off += used;
			if (rc < 0)
				die("frame", "out of protocol");
			if (rc == 1)
				return b->r.type;
		}
		ssize_t n = read(sock, b->in, sizeof b->in);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("worker", "closed fd 3");
		b->in_off = 0;
		b->in_len = (size_t)n;
	}
}

static void reader_reset(struct bench *b)
{
	frame_reader_init(&b->r, b->payload, FN_FRAME_MAX, FN_FRAME_MAX, FN_FRAMES_TO_HOST);
	b->in_off = b->in_len = 0;
}

/* Starts a frames worker (bare or sandboxed); returns the time to HELLO
 * in ns, its host end in *sock. */
static uint64_t worker_start(struct bench *b, unsigned rt, bool sbx, int *sock, pid_t *pid,
			     int *pidfd)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		die("socketpair", NULL);
	int fds[4] = { -1, -1, -1, sv[1] };
	char *const *argv = rt == RT_PY ? py_worker : js_worker;
	uint64_t t0 = now_ns();
	*pidfd = -1;
	*pid = sbx ? spawn_sbx(b, rt, argv, fds, pidfd) : spawn_bare(b, rt, argv, fds);
	if (*pid < 0)
		die("fork", NULL);
	close(sv[1]);
	reader_reset(b);
	if (read_frame(b, sv[0]) != FN_FRAME_HELLO)
		die(rt_name[rt], "the worker did not say HELLO");
	*sock = sv[0];
	return now_ns() - t0;
}

static void worker_stop(int sock, pid_t pid, int pidfd, const char *what)
{
	close(sock);      /* EOF between frames: the worker exits 0 */
	reap(pid, pidfd, what);
}

/* Start to exit of argv; *exec_ns: start to sandbox_spawn's return. */
static uint64_t run_once(struct bench *b, unsigned rt, bool sbx, char *const *argv,
			 uint64_t *exec_ns)
{
	int fds[4] = { -1, -1, -1, -1 }, pidfd = -1;
	uint64_t t0 = now_ns();
	pid_t pid = sbx ? spawn_sbx(b, rt, argv, fds, &pidfd) : spawn_bare(b, rt, argv, fds);

	if (pid < 0)
		die("fork", NULL);
	if (exec_ns)
		*exec_ns = now_ns() - t0;
	reap(pid, pidfd, argv[0]);
	return now_ns() - t0;
}

/* A native invocation: the event on stdin, stdout to EOF, the exit. */
static uint64_t native_invoke(struct bench *b, bool sbx)
{
	int in[2], out[2], pidfd = -1;
	char buf[4096];
	ssize_t n;
	size_t got = 0;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		die("pipe", NULL);
	int fds[4] = { in[0], out[1], -1, -1 };
	uint64_t t0 = now_ns();
	pid_t pid = sbx ? spawn_sbx(b, RT_NATIVE, nat_start, fds, &pidfd) :
			  spawn_bare(b, RT_NATIVE, nat_start, fds);
	if (pid < 0)
		die("fork", NULL);
	close(in[0]);
	close(out[1]);
	if (write(in[1], event, sizeof event - 1) != (ssize_t)(sizeof event - 1))
		die("native stdin", NULL);
	close(in[1]);
	while ((n = read(out[0], buf, sizeof buf)) > 0)
		got += (size_t)n;
	close(out[0]);
	reap(pid, pidfd, "native");
	if (got == 0)
		die("native", "no output");
	return now_ns() - t0;
}

/* The in-process harness, run bare: its "p50 p99" in ns. */
static struct pct handler_call(struct bench *b, unsigned rt)
{
	int p[2];
	char buf[128] = "";
	size_t len = 0;
	ssize_t n;
	double a = 0, c = 0;

	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe", NULL);
	int fds[4] = { -1, p[1], -1, -1 };
	pid_t pid = spawn_bare(b, rt, rt == RT_PY ? py_harness : js_harness, fds);
	close(p[1]);
	while (len < sizeof buf - 1 && (n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(p[0]);
	reap(pid, -1, "harness");
	if (sscanf(buf, "%lf %lf", &a, &c) != 2)
		die("harness", "no figures");
	return (struct pct){ a / 1000.0, c / 1000.0 };
}

/* The bare and sandboxed samples alternate, so that drift on a shared
 * machine (other load, frequency) falls on both alike. */
struct pair { struct pct bare, sbx, exec; };

static struct pair cold(struct bench *b, unsigned rt, char *const *argv)
{
	static uint64_t e[SAMPLES_MAX], s2[SAMPLES_MAX];
	struct pair r;

	for (unsigned i = 0; i < b->cold; i++) {
		b->s[i] = run_once(b, rt, false, argv, NULL);
		s2[i] = run_once(b, rt, true, argv, &e[i]);
	}
	r.bare = samples_pct(b->s, b->cold);
	r.sbx = samples_pct(s2, b->cold);
	r.exec = samples_pct(e, b->cold);
	return r;
}

static struct pair ready(struct bench *b, unsigned rt)
{
	static uint64_t s2[SAMPLES_MAX];
	int sock, pidfd;
	pid_t pid;
	struct pair r;

	for (unsigned i = 0; i < b->cold; i++) {
		b->s[i] = worker_start(b, rt, false, &sock, &pid, &pidfd);
		worker_stop(sock, pid, pidfd, rt_name[rt]);
		s2[i] = worker_start(b, rt, true, &sock, &pid, &pidfd);
		worker_stop(sock, pid, pidfd, rt_name[rt]);
	}
	r.bare = samples_pct(b->s, b->cold);
	r.sbx = samples_pct(s2, b->cold);
	return r;
}

static uint64_t invoke_once(struct bench *b, unsigned rt, int sock)
{
	uint64_t t0 = now_ns();

	if (frame_write(sock, FN_FRAME_INVOKE, event, sizeof event - 1) < 0)
		die("invoke", NULL);
	if (read_frame(b, sock) != FN_FRAME_RESULT)
		die(rt_name[rt], "no RESULT");
	return now_ns() - t0;
}

/* Two running workers, one bare and one sandboxed, invoked in turn. */
static struct pair warm(struct bench *b, unsigned rt)
{
	static uint64_t s2[SAMPLES_MAX];
	int sock[2], pidfd[2];
	pid_t pid[2];
	struct pair r;

	worker_start(b, rt, false, &sock[0], &pid[0], &pidfd[0]);
	worker_start(b, rt, true, &sock[1], &pid[1], &pidfd[1]);
	reader_reset(b);
	for (unsigned i = 0; i < 100; i++)     /* the first ones warm caches and JITs */
		for (int w = 0; w < 2; w++)
			invoke_once(b, rt, sock[w]);
	for (unsigned i = 0; i < b->warm; i++) {
		b->s[i] = invoke_once(b, rt, sock[0]);
		s2[i] = invoke_once(b, rt, sock[1]);
	}
	for (int w = 0; w < 2; w++)
		worker_stop(sock[w], pid[w], pidfd[w], rt_name[rt]);
	r.bare = samples_pct(b->s, b->warm);
	r.sbx = samples_pct(s2, b->warm);
	return r;
}

static void put_pair(const char *name, struct pair p, bool exec)
{
	printf("\"%s\":{", name);
	put_pct("bare", p.bare);
	printf(",");
	put_pct("sandbox", p.sbx);
	if (exec) {
		printf(",");
		put_pct("sandbox_spawn_returned", p.exec);
	}
	printf(",");
	put_cmp("sandbox_overhead", p.sbx, p.bare);
	printf("}");
}

static void frames_runtime(struct bench *b, unsigned rt)
{
	struct pair st = cold(b, rt, rt == RT_PY ? py_start : js_start);
	struct pair rd = ready(b, rt);
	struct pct h = handler_call(b, rt);
	struct pair wm = warm(b, rt);

	printf("\"%s\":{", rt_name[rt]);
	put_pair("process_start_us", st, true);
	printf(",");
	put_pair("worker_ready_us", rd, false);
	printf(",\"warm_invoke_us\":{");
	put_pct("handler_call", h);
	printf(",");
	put_pct("bare_worker", wm.bare);
	printf(",");
	put_pct("sandbox", wm.sbx);
	printf(",");
	put_cmp("overhead_vs_bare_worker", wm.sbx, wm.bare);
	printf(",");
	put_cmp("overhead_vs_handler_call", wm.sbx, h);
	printf("}}");
}

static void native_runtime(struct bench *b)
{
	static uint64_t s2[SAMPLES_MAX];
	struct pair st = cold(b, RT_NATIVE, nat_start), inv;

	for (unsigned i = 0; i < b->cold; i++) {
		b->s[i] = native_invoke(b, false);
		s2[i] = native_invoke(b, true);
	}
	inv.bare = samples_pct(b->s, b->cold);
	inv.sbx = samples_pct(s2, b->cold);
	printf("\"native\":{");
	put_pair("process_start_us", st, true);
	printf(",");
	put_pair("invoke_us", inv, false);
	printf("}");
}

int main(int argc, char **argv)
{
	static struct bench b;

	if (argc < 4) {
		fprintf(stderr, "usage: bench_fn WORKDIR LAYERS NATIVE_ELF [COLD [WARM]]\n");
		return 2;
	}
	b.work = argv[1];
	b.layers = argv[2];
	b.native_elf = argv[3];
	b.cold = argc > 4 ? (unsigned)atoi(argv[4]) : 40;
	b.warm = argc > 5 ? (unsigned)atoi(argv[5]) : 2000;
	if (b.cold == 0 || b.cold > SAMPLES_MAX || b.warm == 0 || b.warm > SAMPLES_MAX) {
		fprintf(stderr, "bench_fn: COLD and WARM: 1..%u\n", SAMPLES_MAX);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench_fn: needs root (sandboxes, chroot)\n");
		return 3;
	}
	signal(SIGPIPE, SIG_IGN);
	setup(&b);
	printf("{\"cold_samples\":%u,\"warm_samples\":%u,\"bare\":\"fork, chroot into the layer's "
	       "tree (bound once), the function's uid, exec\",", b.cold, b.warm);
	frames_runtime(&b, RT_PY);
	printf(",");
	frames_runtime(&b, RT_NODE);
	printf(",");
	native_runtime(&b);
	printf("}\n");
	return 0;
}
