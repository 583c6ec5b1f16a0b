/* sandboxd/sandbox.c: see sandbox.h; the layout is docs/SANDBOX.md.
 *
 * The worker is cloned (clone3) straight into its namespaces and cgroup;
 * the child builds its view, drops everything and execs. Until that exec
 * it holds the write end of a close-on-exec pipe: a failure writes the
 * step and errno there, a successful exec closes it, so the parent learns
 * which of the two happened without a timeout.
 */
#include "sandboxd/sandbox.h"
#include "lib/caps.h"
#include "lib/errbuf.h"
#include "lib/imsg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/sched.h>
#include <sched.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netpacket/packet.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define MIB (1024u * 1024u)

/* The names the sandbox provides itself: a layer entry of the same name
 * is not bound (the layer's /etc, /tmp, /dev, /proc, /sys never show). */
static const char *const own_names[] = {
	"code", "data", "dev", "etc", "proc", "sys", "tmp",
};

/* What the child writes before it gives up. */
struct spawn_fail {
	int err;
	char msg[ERRBUF_LEN];
};

/* ---------------------------------------------------------------- netns */

/* lo up; the kernel gives a loopback device 127.0.0.1/8 (and ::1) when it
 * comes up, which is checked, and set when a kernel did not. */
static int lo_up(char *err, size_t cap)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (s < 0)
		return errbuf_set(err, cap, -errno, "netns: socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
		r = errbuf_set(err, cap, -errno, "netns: lo flags: %s", strerror(errno));
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
		r = errbuf_set(err, cap, -errno, "netns: lo up: %s", strerror(errno));
		goto out;
	}
	if (ioctl(s, SIOCGIFADDR, &ifr) != 0 || sin->sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
		memset(&ifr, 0, sizeof ifr);
		memcpy(ifr.ifr_name, "lo", 3);
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (ioctl(s, SIOCSIFADDR, &ifr) != 0) {
			r = errbuf_set(err, cap, -errno, "netns: lo address: %s", strerror(errno));
			goto out;
		}
		sin->sin_addr.s_addr = htonl(0xff000000u);
		if (ioctl(s, SIOCSIFNETMASK, &ifr) != 0) {
			r = errbuf_set(err, cap, -errno, "netns: lo netmask: %s", strerror(errno));
			goto out;
		}
	}
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFNETMASK, &ifr) != 0 || sin->sin_addr.s_addr != htonl(0xff000000u))
		r = errbuf_set(err, cap, -EADDRNOTAVAIL, "netns: lo is not 127.0.0.1/8");
out:
	close(s);
	return r;
}

static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* The resets socket (SBX_L_RESETS): an AF_PACKET socket on lo whose
 * filter keeps what proto/netd_sandboxd.h says, the kernel's answer to a
 * SYN on a port nothing listens on, and drops the rest in the kernel, so
 * netd never sees the function's own traffic. netd reads it again strictly
 * (net/tcp_refusal.h). Offsets are from the IPv4 header (SOCK_DGRAM); a
 * load past a packet's end drops it. */
static int resets_make(char *msg, size_t cap)
{
	enum { DROP = 16 };
#define J(op, k, t, f) BPF_JUMP(BPF_JMP | (op) | BPF_K, (k), (t), (f))
	struct sock_filter prog[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)),
		/* 1 */ J(BPF_JEQ, PACKET_HOST, 0, DROP - 2),        /* came in, not went out */
		/* 2 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
		/* 3 */ J(BPF_JEQ, IPPROTO_TCP, 0, DROP - 4),
		/* 4 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
		/* 5 */ J(BPF_JSET, 0x3fff, DROP - 6, 0),             /* MF or an offset */
		/* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),
		/* 7 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, SBX_FAKE_MASK),
		/* 8 */ J(BPF_JEQ, SBX_FAKE_NET, 0, DROP - 9),       /* from a fake address */
		/* 9 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),         /* x: the IPv4 header's length */
		/* 10 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),
		/* 11 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x17),     /* FIN, SYN, RST, ACK */
		/* 12 */ J(BPF_JEQ, 0x14, 0, DROP - 13),            /* RST|ACK */
		/* 13 */ BPF_STMT(BPF_LD | BPF_W | BPF_IND, 4),
		/* 14 */ J(BPF_JEQ, 0, 0, DROP - 15),               /* sequence 0 */
		/* 15 */ BPF_STMT(BPF_RET | BPF_K, SBX_RESETS_SNAP),
		/* 16 */ BPF_STMT(BPF_RET | BPF_K, 0),
	};
#undef J
	_Static_assert(sizeof prog / sizeof prog[0] == DROP + 1, "DROP is the last instruction");
	struct sock_fprog fp = { .len = sizeof prog / sizeof prog[0], .filter = prog };
	struct ifreq ifr;
	int one = 1, r;
	const char *what = "socket";
	/* protocol 0: nothing is queued before the filter is on and bind()
	 * names the protocol and lo */
	int s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		goto fail;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, "lo", 3);
	what = "lo's index";
	if (ioctl(s, SIOCGIFINDEX, &ifr) != 0)
		goto fail;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = ifr.ifr_ifindex };
	what = "filter";
	if (setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp) != 0 ||
	    setsockopt(s, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof one) != 0)
		goto fail;
	what = "bind";
	if (bind(s, (struct sockaddr *)&sll, sizeof sll) != 0)
		goto fail;
	return s;
fail:
	r = errbuf_set(msg, cap, -errno, "egress resets socket on lo: %s: %s", what, strerror(errno));
	if (s >= 0)
		close(s);
	return r;
}

/* One listener of want, made in the calling process's network namespace
 * (the helper child's, after unshare). The fd or a negative errno. */
static int listener_make(const struct sbx_listener *l, char *msg, size_t cap)
{
	if (l->kind == SBX_L_RESETS)
		return resets_make(msg, cap);
	bool udp = l->kind == SBX_L_DNS_UDP;
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(l->port),
		.sin_addr.s_addr = htonl(l->kind == SBX_L_PORT ? INADDR_ANY : INADDR_LOOPBACK),
	};
	int one = 1, r;
	int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	if (s < 0)
		return errbuf_set(msg, cap, -errno, "egress listener: socket: %s", strerror(errno));
	/* TCP_NODELAY is inherited by every accepted connection: netd writes
	 * whole TLS records, and Nagle would hold the second small record of
	 * a flight (a Finished, a response's body) for the function's delayed
	 * ACK, measured at 40 ms a request; netd itself may not set it */
	if ((!udp && setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    (!udp && listen(s, SANDBOX_LISTEN_BACKLOG) != 0)) {
		r = errbuf_set(msg, cap, -errno, "egress listener %s:%u: %s",
			       l->kind == SBX_L_PORT ? "0.0.0.0" : "127.0.0.1", l->port,
			       strerror(errno));
		close(s);
		return r;
	}
	return s;
}

/* The helper child's work after unshare: lo up, then each listener, sent
 * to the parent on chan (one message each, the fd attached). */
static int netns_fill(const struct sbx_listener *want, unsigned n, int chan, char *msg,
		      size_t cap)
{
	int r = lo_up(msg, cap);

	for (unsigned i = 0; r == 0 && i < n; i++) {
		int s = listener_make(&want[i], msg, cap);
		if (s < 0)
			return s;
		if (imsg_send(chan, 1, i, NULL, 0, &s, 1) < 0)
			r = errbuf_set(msg, cap, -EIO, "egress listener: cannot pass it: %s",
				       strerror(errno));
		close(s);
	}
	return r;
}

/* Takes the n listeners the child sent on chan into lfds (in order). */
static int netns_take(int chan, unsigned n, int *lfds, char *err, size_t cap)
{
	struct imsg m;

	for (unsigned i = 0; i < n; i++) {
		if (imsg_recv(chan, &m) < 0 || m.hdr.id != i || m.nfds != 1) {
			imsg_close_fds(&m);
			return errbuf_set(err, cap, -EIO, "egress listener %u: not received", i);
		}
		lfds[i] = imsg_take_fd(&m, 0);
	}
	return 0;
}

int sandbox_netns_create(int *fd, const struct sbx_listener *want, unsigned n, int *lfds,
			 char *err, size_t cap)
{
	struct spawn_fail f;
	int ready[2], done[2], chan[2] = { -1, -1 }, st, r = 0;
	char path[64];
	pid_t pid;

	*fd = -1;
	for (unsigned i = 0; i < n; i++)
		lfds[i] = -1;
	if (pipe2(ready, O_CLOEXEC) != 0)
		return errbuf_set(err, cap, -errno, "netns: pipe: %s", strerror(errno));
	if (pipe2(done, O_CLOEXEC) != 0) {
		r = errbuf_set(err, cap, -errno, "netns: pipe: %s", strerror(errno));
		close(ready[0]);
		close(ready[1]);
		return r;
	}
	if (n > 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) != 0) {
		r = errbuf_set(err, cap, -errno, "netns: socketpair: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = errbuf_set(err, cap, -errno, "netns: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* The child: its namespace lives on through the parent's fd.
		 * Dumpable, so that the parent may open its /proc/PID/ns/net:
		 * sandboxd (and so this child) is not, and opening another
		 * process's namespace then takes CAP_SYS_PTRACE, which
		 * sandboxd does not keep. Nothing but its parent (same uid and
		 * capabilities, or more) passes that check. */
		char c;
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		close(ready[0]);
		close(done[1]);   /* or its read below never sees EOF */
		memset(&f, 0, sizeof f);
		if (unshare(CLONE_NEWNET) != 0)
			f.err = errbuf_set(f.msg, sizeof f.msg, -errno, "netns: unshare: %s",
					   strerror(errno));
		else
			f.err = netns_fill(want, n, chan[1], f.msg, sizeof f.msg);
		if (write(ready[1], &f, sizeof f) != (ssize_t)sizeof f)
			_exit(1);
		while (read(done[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	ready[1] = -1;
	close(done[0]);
	done[0] = -1;
	if (read_full(ready[0], &f, sizeof f) != (ssize_t)sizeof f) {
		r = errbuf_set(err, cap, -EIO, "netns: the helper died");
	} else if (f.err < 0) {
		f.msg[sizeof f.msg - 1] = '\0';
		r = errbuf_set(err, cap, f.err, "%s", f.msg);
	} else if ((r = netns_take(chan[0], n, lfds, err, cap)) == 0) {
		snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			r = errbuf_set(err, cap, -errno, "netns: open %s: %s", path, strerror(errno));
	}
	close(done[1]);
	done[1] = -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
out:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (done[i] >= 0)
			close(done[i]);
		if (chan[i] >= 0)
			close(chan[i]);
	}
	if (r < 0) {
		for (unsigned i = 0; i < n; i++) {
			if (lfds[i] >= 0)
				close(lfds[i]);
			lfds[i] = -1;
		}
	}
	return r;
}

/* ------------------------------------------------------------ environment */

static bool env_name_ok(const char *kv, size_t *namelen)
{
	const char *eq = strchr(kv, '=');
	size_t n;

	if (eq == NULL || eq == kv)
		return false;
	n = (size_t)(eq - kv);
	if (kv[0] >= '0' && kv[0] <= '9')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = kv[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	*namelen = n;
	return !((n == 4 && (memcmp(kv, "PATH", 4) == 0 || memcmp(kv, "HOME", 4) == 0 ||
			     memcmp(kv, "LANG", 4) == 0)) ||
		 (n == 13 && memcmp(kv, "SSL_CERT_FILE", 13) == 0) ||
		 (n == 19 && memcmp(kv, "NODE_EXTRA_CA_CERTS", 19) == 0));
}

bool sandbox_ca_pem_ok(const char *pem, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end[] = "-----END CERTIFICATE-----\n";
	const size_t bl = sizeof begin - 1, el = sizeof end - 1;

	if (len > SBX_CA_PEM_MAX || len < bl + el + 2 || memcmp(pem, begin, bl) != 0 ||
	    memcmp(pem + len - el, end, el) != 0)
		return false;
	size_t line = 0;
	for (size_t i = bl; i < len - el; i++) {
		char c = pem[i];
		if (c == '\n') {
			if (line == 0 || line > 64)
				return false;
			line = 0;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=') {
			line++;
		} else {
			return false;
		}
	}
	return line == 0;
}

int sandbox_env(const struct sandbox_spec *s, char **envp, size_t nenv,
		char *pathbuf, size_t pathcap, char *err, size_t cap)
{
	const char *path = s->path ? s->path : DEFAULT_PATH;
	size_t k = 0, total, ns = 0;
	int n;

	if (nenv < SANDBOX_ENV_SLOTS)
		return errbuf_set(err, cap, -EINVAL, "env: too few slots");
	if (strchr(path, '\n') != NULL)
		return errbuf_set(err, cap, -EINVAL, "env: bad PATH");
	n = snprintf(pathbuf, pathcap, "PATH=%s", path);
	if (n < 0 || (size_t)n >= pathcap)
		return errbuf_set(err, cap, -E2BIG, "env: PATH too long");
	total = (size_t)n;
	envp[k++] = pathbuf;
	envp[k++] = (char *)"HOME=/tmp";
	envp[k++] = (char *)"LANG=C.UTF-8";
	if (s->ca_pem != NULL) {
		/* Python and OpenSSL read the file by default; Node's own bundle
		 * stays, and NODE_EXTRA_CA_CERTS adds ours (its public roots
		 * are of no use: netd is the only way out) */
		envp[k++] = (char *)"SSL_CERT_FILE=" SANDBOX_CA_FILE;
		envp[k++] = (char *)"NODE_EXTRA_CA_CERTS=" SANDBOX_CA_FILE;
	}
	for (; s->secrets != NULL && s->secrets[ns] != NULL; ns++) {
		size_t len, nl, ol = 0;
		if (ns == SANDBOX_SECRETS_MAX)
			return errbuf_set(err, cap, -E2BIG, "env: more than %d secrets",
					  SANDBOX_SECRETS_MAX);
		if (!env_name_ok(s->secrets[ns], &len))
			return errbuf_set(err, cap, -EINVAL, "env: secret %zu: bad or reserved name", ns);
		for (size_t j = 0; j < ns; j++) {
			env_name_ok(s->secrets[j], &ol);
			nl = len;
			if (ol == nl && memcmp(s->secrets[j], s->secrets[ns], nl) == 0)
				return errbuf_set(err, cap, -EINVAL, "env: secret %zu: duplicate name", ns);
		}
		total += strlen(s->secrets[ns]) + 1;
		if (total > SANDBOX_ENV_LEN)
			return errbuf_set(err, cap, -E2BIG, "env: more than %d bytes", SANDBOX_ENV_LEN);
		envp[k++] = s->secrets[ns];
	}
	envp[k] = NULL;
	return (int)k;
}

/* ----------------------------------------------------------- the child */

#define CFAIL(step) errbuf_set(msg, msgcap, -errno, "%s: %s", (step), strerror(errno))

static int join(char *out, size_t n, const char *a, const char *b, char *msg, size_t msgcap)
{
	int k = snprintf(out, n, "%s/%s", a, b);
	if (k < 0 || (size_t)k >= n)
		return errbuf_set(msg, msgcap, -ENAMETOOLONG, "path too long: %s/%s", a, b);
	return 0;
}

/* Binds src on dst (created: a directory or an empty file, like src),
 * then remounts the bind with flags (MS_RDONLY, MS_NODEV, ...). */
static int bind_at(const char *src, const char *dst, unsigned long flags,
		   char *msg, size_t msgcap)
{
	struct stat st;

	if (stat(src, &st) != 0)
		return errbuf_set(msg, msgcap, -errno, "bind source %s: %s", src, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0755) != 0 && errno != EEXIST)
			return errbuf_set(msg, msgcap, -errno, "mkdir %s: %s", dst, strerror(errno));
	} else {
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
		if (fd < 0)
			return errbuf_set(msg, msgcap, -errno, "create %s: %s", dst, strerror(errno));
		close(fd);
	}
	if (mount(src, dst, NULL, MS_BIND, NULL) != 0)
		return errbuf_set(msg, msgcap, -errno, "bind %s: %s", src, strerror(errno));
	if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | flags, NULL) != 0)
		return errbuf_set(msg, msgcap, -errno, "remount %s: %s", dst, strerror(errno));
	return 0;
}

static bool is_own_name(const char *name)
{
	for (size_t i = 0; i < sizeof own_names / sizeof own_names[0]; i++)
		if (strcmp(name, own_names[i]) == 0)
			return true;
	return false;
}

/* The layer's top-level entries: directories and files bound read-only
 * (nodev, nosuid; exec allowed: the runtime's binaries live there),
 * symlinks (/lib -> usr/lib) made again with the same target. */
static int bind_layer(const char *layer, const char *root, char *msg, size_t msgcap)
{
	char src[PATH_MAX], dst[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(layer);
	int r = 0;

	if (d == NULL)
		return errbuf_set(msg, msgcap, -errno, "layer %s: %s", layer, strerror(errno));
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' ||
					    (e->d_name[1] == '.' && e->d_name[2] == '\0')))
			continue;
		if (is_own_name(e->d_name))
			continue;
		if ((r = join(src, sizeof src, layer, e->d_name, msg, msgcap)) < 0 ||
		    (r = join(dst, sizeof dst, root, e->d_name, msg, msgcap)) < 0)
			break;
		if (lstat(src, &st) != 0) {
			r = errbuf_set(msg, msgcap, -errno, "layer %s: %s", src, strerror(errno));
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(src, target, sizeof target - 1);
			if (n < 0) {
				r = errbuf_set(msg, msgcap, -errno, "readlink %s: %s", src, strerror(errno));
			} else {
				target[n] = '\0';
				if (symlink(target, dst) != 0)
					r = errbuf_set(msg, msgcap, -errno, "symlink %s: %s", dst, strerror(errno));
			}
		} else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
			r = bind_at(src, dst, MS_RDONLY | MS_NODEV | MS_NOSUID, msg, msgcap);
		}
		/* sockets, fifos, device nodes of a layer are left out */
	}
	closedir(d);
	return r;
}

static int write_file(const char *root, const char *name, const char *text,
		      char *msg, size_t msgcap)
{
	char path[PATH_MAX];
	size_t len = strlen(text);
	int fd, r;

	if ((r = join(path, sizeof path, root, name, msg, msgcap)) < 0)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return errbuf_set(msg, msgcap, -errno, "create %s: %s", path, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len) {
		r = errbuf_set(msg, msgcap, -EIO, "write %s", path);
		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

/* /etc/ssl/certs/ca-certificates.crt (SANDBOX_CA_FILE): netd's local CA,
 * alone: the sandbox trusts what netd's TLS termination presents and
 * nothing else. */
static int make_ca_file(const char *etc, const char *pem, char *msg, size_t msgcap)
{
	char dir[PATH_MAX];
	int r;

	if ((r = join(dir, sizeof dir, etc, "ssl", msg, msgcap)) < 0)
		return r;
	if (mkdir(dir, 0755) != 0)
		return CFAIL("mkdir /etc/ssl");
	if ((r = join(dir, sizeof dir, etc, "ssl/certs", msg, msgcap)) < 0)
		return r;
	if (mkdir(dir, 0755) != 0)
		return CFAIL("mkdir /etc/ssl/certs");
	return write_file(dir, "ca-certificates.crt", pem, msg, msgcap);
}

/* /etc: name resolution only through 127.0.0.1 (netd's resolver inside the
 * function's namespace), and the function's own user and group. */
static int make_etc(const struct sandbox_spec *s, const char *root, char *msg, size_t msgcap)
{
	const char *user = s->user ? s->user : "fn";
	char etc[PATH_MAX], buf[256];
	int r, n;

	if ((r = join(etc, sizeof etc, root, "etc", msg, msgcap)) < 0)
		return r;
	if (mkdir(etc, 0755) != 0)
		return CFAIL("mkdir /etc");
	if ((r = write_file(etc, "resolv.conf", "nameserver 127.0.0.1\n", msg, msgcap)) < 0 ||
	    (r = write_file(etc, "hosts", "127.0.0.1 localhost\n::1 localhost\n", msg, msgcap)) < 0 ||
	    (r = write_file(etc, "nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n",
			    msg, msgcap)) < 0)
		return r;
	n = snprintf(buf, sizeof buf, "root:x:0:0:root:/:/sbin/nologin\n%s:x:%u:%u:%s:/tmp:/sbin/nologin\n",
		     user, (unsigned)s->uid, (unsigned)s->gid, user);
	if (n < 0 || (size_t)n >= sizeof buf)
		return errbuf_set(msg, msgcap, -ENAMETOOLONG, "user name too long");
	if ((r = write_file(etc, "passwd", buf, msg, msgcap)) < 0)
		return r;
	snprintf(buf, sizeof buf, "root:x:0:\n%s:x:%u:\n", user, (unsigned)s->gid);
	if ((r = write_file(etc, "group", buf, msg, msgcap)) < 0)
		return r;
	return s->ca_pem != NULL ? make_ca_file(etc, s->ca_pem, msg, msgcap) : 0;
}

/* /dev: a read-only tmpfs with the five harmless character devices bound
 * from sandboxd's own (nosuid, noexec; writable: /dev/null is written),
 * and the /proc/self/fd links programs expect. Nothing else: no tty,
 * console, tdx_guest, kmsg or mem. */
static int make_dev(const char *root, char *msg, size_t msgcap)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom" };
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};
	char dev[PATH_MAX], src[64], dst[PATH_MAX];
	int r;

	if ((r = join(dev, sizeof dev, root, "dev", msg, msgcap)) < 0)
		return r;
	if (mkdir(dev, 0755) != 0)
		return CFAIL("mkdir /dev");
	if (mount("dev", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64") != 0)
		return CFAIL("mount /dev tmpfs");
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		snprintf(src, sizeof src, "/dev/%s", nodes[i]);
		if ((r = join(dst, sizeof dst, dev, nodes[i], msg, msgcap)) < 0 ||
		    (r = bind_at(src, dst, MS_NOSUID | MS_NOEXEC, msg, msgcap)) < 0)
			return r;
	}
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		if ((r = join(dst, sizeof dst, dev, links[i][0], msg, msgcap)) < 0)
			return r;
		if (symlink(links[i][1], dst) != 0)
			return CFAIL("symlink in /dev");
	}
	if (mount(NULL, dev, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) != 0)
		return CFAIL("remount /dev read-only");
	return 0;
}

/* What of the kernel /proc shows beyond processes: files that leak kernel
 * addresses, timers or other tenants' activity are covered with /dev/null
 * (reads give nothing), trees of hardware and kernel knobs are made
 * read-only. Most are root-only or read-only for an unprivileged uid
 * already; this holds even where a kernel's modes are looser. Entries a
 * kernel does not have are skipped. */
static int mask_proc(const char *proc, char *msg, size_t msgcap)
{
	static const char *const hide[] = {
		"kcore", "kallsyms", "keys", "key-users", "timer_list", "sched_debug",
		"latency_stats", "kpagecount", "kpageflags", "kpagecgroup", "vmallocinfo",
		"slabinfo", "pagetypeinfo", "iomem", "ioports", "modules",
	};
	static const char *const ro[] = { "sysrq-trigger", "bus", "fs", "irq", "acpi", "scsi", "driver" };
	char path[PATH_MAX];
	struct stat st;
	int r;

	for (size_t i = 0; i < sizeof hide / sizeof hide[0]; i++) {
		if ((r = join(path, sizeof path, proc, hide[i], msg, msgcap)) < 0)
			return r;
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (mount("/dev/null", path, NULL, MS_BIND, NULL) != 0)
			return errbuf_set(msg, msgcap, -errno, "mask /proc/%s: %s", hide[i], strerror(errno));
	}
	for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++) {
		if ((r = join(path, sizeof path, proc, ro[i], msg, msgcap)) < 0)
			return r;
		if (lstat(path, &st) != 0)
			continue;
		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0 ||
		    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
			  MS_NOEXEC, NULL) != 0)
			return errbuf_set(msg, msgcap, -errno, "/proc/%s read-only: %s", ro[i], strerror(errno));
	}
	return 0;
}

/* /proc of the worker's own pid namespace (the child is its pid 1), other
 * users' processes invisible, /proc/sys read-only. */
static int make_proc(const char *root, char *msg, size_t msgcap)
{
	char proc[PATH_MAX], sys[PATH_MAX];
	unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	int r;

	if ((r = join(proc, sizeof proc, root, "proc", msg, msgcap)) < 0 ||
	    (r = join(sys, sizeof sys, proc, "sys", msg, msgcap)) < 0)
		return r;
	if (mkdir(proc, 0555) != 0)
		return CFAIL("mkdir /proc");
	/* hidepid=invisible needs Linux 5.8; "2" is the older spelling */
	if (mount("proc", proc, "proc", fl, "hidepid=invisible") != 0 &&
	    mount("proc", proc, "proc", fl, "hidepid=2") != 0)
		return CFAIL("mount /proc");
	if (mount(sys, sys, NULL, MS_BIND | MS_REC, NULL) != 0)
		return CFAIL("bind /proc/sys");
	if (mount(NULL, sys, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | fl, NULL) != 0)
		return CFAIL("remount /proc/sys read-only");
	return mask_proc(proc, msg, msgcap);
}

/* Makes the current directory (the new root's mount) the root.
 *
 * pivot_root(".", "."): the old root ends up stacked on the new one and is
 * detached at once; no directory for it is needed. The kernel refuses
 * pivot_root (EINVAL) when the old root is the initramfs (rootfs), which is
 * where dshield-init and its roles run in the VM: then the new root is
 * moved onto / and chroot'ed into, as switch_root does. The old tree stays
 * in the worker's mount namespace, covered by the new root and reachable by
 * no path; the worker can neither unmount (no capability; seccomp) nor
 * chroot (seccomp) to get under it, and /proc/self/mountinfo does not show
 * mounts outside the worker's root. */
static int enter_root(char *msg, size_t msgcap)
{
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) != 0)
			return CFAIL("detach the old root");
		return 0;
	}
	if (errno != EINVAL)
		return CFAIL("pivot_root");
	if (mount(".", "/", NULL, MS_MOVE, NULL) != 0)
		return CFAIL("move the root onto / (rootfs: no pivot_root)");
	if (chroot(".") != 0)
		return CFAIL("chroot");
	return 0;
}

static int make_root(const struct sandbox_spec *s, char *msg, size_t msgcap)
{
	const char *root = s->root_dir;
	char path[PATH_MAX], opts[96];
	uint64_t root_size = s->root_size ? s->root_size : MIB;
	uint64_t tmp_size = s->tmp_size ? s->tmp_size : 64ull * MIB;
	int r;

	/* Nothing done here may reach sandboxd's view. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return CFAIL("make / private");
	snprintf(opts, sizeof opts, "mode=0755,size=%" PRIu64 ",nr_inodes=4096", root_size);
	if (mount("sandbox", root, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		return CFAIL("mount the root tmpfs");
	if ((r = bind_layer(s->layer_dir, root, msg, msgcap)) < 0)
		return r;
	if ((r = join(path, sizeof path, root, "code", msg, msgcap)) < 0 ||
	    (r = bind_at(s->code_dir, path, MS_RDONLY | MS_NODEV | MS_NOSUID, msg, msgcap)) < 0)
		return r;
	if (s->data_dir != NULL &&
	    ((r = join(path, sizeof path, root, "data", msg, msgcap)) < 0 ||
	     (r = bind_at(s->data_dir, path, MS_NODEV | MS_NOSUID | MS_NOEXEC, msg, msgcap)) < 0))
		return r;
	if ((r = join(path, sizeof path, root, "tmp", msg, msgcap)) < 0)
		return r;
	if (mkdir(path, 0755) != 0)
		return CFAIL("mkdir /tmp");
	snprintf(opts, sizeof opts, "mode=1777,size=%" PRIu64 ",nr_inodes=16384", tmp_size);
	if (mount("tmp", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		return CFAIL("mount /tmp");
	if ((r = make_dev(root, msg, msgcap)) < 0 ||
	    (r = make_proc(root, msg, msgcap)) < 0 ||
	    (r = make_etc(s, root, msg, msgcap)) < 0)
		return r;
	if (mount(NULL, root, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
		return CFAIL("remount the root read-only");
	if (chdir(root) != 0)
		return CFAIL("chdir to the root");
	if ((r = enter_root(msg, msgcap)) < 0)
		return r;
	if (chdir("/") != 0)
		return CFAIL("chdir /");
	return 0;
}

static int reset_signals(char *msg, size_t msgcap)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);   /* EINVAL for libc's own: harmless */
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		return CFAIL("sigprocmask");
	return 0;
}

/* The given descriptors to 0..3 (/dev/null for a missing 0-2), everything
 * else close-on-exec: the exec closes it, after the failure pipe had its
 * chance. Each is first copied above 3 so that none is overwritten by
 * another's target. */
static int arrange_fds(const struct sandbox_spec *s, char *msg, size_t msgcap)
{
	int tmp[SANDBOX_FDS];

	for (int i = 0; i < SANDBOX_FDS; i++) {
		int src = s->fds[i], opened = -1;
		if (src < 0 && i < 3) {
			opened = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (opened < 0)
				return CFAIL("open /dev/null");
			src = opened;
		}
		tmp[i] = src < 0 ? -1 : fcntl(src, F_DUPFD_CLOEXEC, SANDBOX_FDS);
		if (src >= 0 && tmp[i] < 0)
			return CFAIL("duplicate a given descriptor");
		if (opened >= 0)
			close(opened);
	}
	for (int i = 0; i < SANDBOX_FDS; i++) {
		if (tmp[i] < 0)
			close(i);
		else if (dup2(tmp[i], i) != i)
			return CFAIL("dup2 a given descriptor");
	}
	if (syscall(SYS_close_range, SANDBOX_FDS, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
		return CFAIL("close_range");
	return 0;
}

static int set_limits(const struct sandbox_spec *s, char *msg, size_t msgcap)
{
	uint64_t tmp = s->tmp_size ? s->tmp_size : 64ull * MIB;
	const struct { int res; uint64_t v; const char *name; } l[] = {
		{ RLIMIT_CORE, 0, "RLIMIT_CORE" },
		{ RLIMIT_NOFILE, s->nofile ? s->nofile : 1024, "RLIMIT_NOFILE" },
		{ RLIMIT_FSIZE, s->fsize ? s->fsize : tmp, "RLIMIT_FSIZE" },
		{ RLIMIT_NPROC, s->nproc ? s->nproc : 256, "RLIMIT_NPROC" },
	};

	for (size_t i = 0; i < sizeof l / sizeof l[0]; i++) {
		struct rlimit rl = { (rlim_t)l[i].v, (rlim_t)l[i].v };
		if (setrlimit(l[i].res, &rl) != 0)
			return CFAIL(l[i].name);
	}
	return 0;
}

static int child_setup(const struct sandbox_spec *s, char *msg, size_t msgcap)
{
	int r;

	if ((r = reset_signals(msg, msgcap)) < 0)
		return r;
	if (setns(s->netns_fd, CLONE_NEWNET) != 0)
		return CFAIL("setns into the function's network namespace");
	if ((r = make_root(s, msg, msgcap)) < 0)
		return r;
	if (sethostname("fn", 2) != 0)
		return CFAIL("sethostname");
	if ((r = arrange_fds(s, msg, msgcap)) < 0 || (r = set_limits(s, msg, msgcap)) < 0)
		return r;
	if ((r = caps_drop_to(s->uid, s->gid, msg, msgcap)) < 0 ||
	    (r = caps_verify_dropped(s->uid, s->gid, msg, msgcap)) < 0)
		return r;
	if (chdir(s->cwd ? s->cwd : "/") != 0)
		return CFAIL("chdir to the working directory");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		return CFAIL("PR_SET_PDEATHSIG");
	if ((r = seccomp_install(s->filter)) < 0)
		return errbuf_set(msg, msgcap, r, "seccomp: %s", strerror(-r));
	return 0;
}

static _Noreturn void child(const struct sandbox_spec *s, char *const *envp, int failfd)
{
	struct spawn_fail f;

	memset(&f, 0, sizeof f);
	f.err = child_setup(s, f.msg, sizeof f.msg);
	if (f.err == 0) {
		execve(s->argv[0], s->argv, envp);
		f.err = errbuf_set(f.msg, sizeof f.msg, -errno, "execve %s: %s", s->argv[0],
				   strerror(errno));
	}
	if (write(failfd, &f, sizeof f) != (ssize_t)sizeof f)
		_exit(126);
	_exit(127);
}

/* ----------------------------------------------------------- the parent */

static int check_spec(const struct sandbox_spec *s, char *err, size_t cap)
{
	if (s->uid == 0 || s->gid == 0)
		return errbuf_set(err, cap, -EINVAL, "spawn: uid and gid 0 refused");
	if (s->root_dir == NULL || s->layer_dir == NULL || s->code_dir == NULL ||
	    s->root_dir[0] != '/' || s->layer_dir[0] != '/' || s->code_dir[0] != '/' ||
	    (s->data_dir != NULL && s->data_dir[0] != '/'))
		return errbuf_set(err, cap, -EINVAL, "spawn: root, layer, code and data need absolute paths");
	if (s->argv == NULL || s->argv[0] == NULL || s->argv[0][0] != '/')
		return errbuf_set(err, cap, -EINVAL, "spawn: argv[0] must be an absolute path");
	if (s->filter == NULL || s->filter->len == 0)
		return errbuf_set(err, cap, -EINVAL, "spawn: no seccomp filter");
	if (s->netns_fd < 0)
		return errbuf_set(err, cap, -EINVAL, "spawn: no network namespace");
	if (s->user != NULL && (s->user[0] == '\0' || strlen(s->user) > 32 ||
				strspn(s->user, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(s->user)))
		return errbuf_set(err, cap, -EINVAL, "spawn: bad user name");
	return 0;
}

int sandbox_spawn(const struct sandbox_spec *s, struct sandbox_proc *p, char *err, size_t cap)
{
	char *envp[SANDBOX_ENV_SLOTS];
	char pathbuf[512];
	struct spawn_fail f;
	struct clone_args ca;
	int pidfd = -1, pipefd[2], r, st;
	ssize_t n;
	long pid;

	memset(p, 0, sizeof *p);
	p->pid = -1;
	p->pidfd = -1;
	if ((r = check_spec(s, err, cap)) < 0)
		return r;
	if ((r = sandbox_env(s, envp, sizeof envp / sizeof envp[0], pathbuf, sizeof pathbuf,
			     err, cap)) < 0)
		return r;
	if (mkdir(s->root_dir, 0700) != 0 && errno != EEXIST)
		return errbuf_set(err, cap, -errno, "spawn: mkdir %s: %s", s->root_dir, strerror(errno));
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return errbuf_set(err, cap, -errno, "spawn: pipe: %s", strerror(errno));

	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
		   CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	ca.exit_signal = SIGCHLD;
	if (s->cgroup_fd >= 0) {
		/* the worker is born in its cgroup: no window outside the
		 * limits, and its cgroup namespace is rooted there */
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)s->cgroup_fd;
	}
	pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid == 0) {
		close(pipefd[0]);
		child(s, envp, pipefd[1]);
	}
	close(pipefd[1]);
	if (pid < 0) {
		r = errbuf_set(err, cap, -errno, "spawn: clone3: %s", strerror(errno));
		close(pipefd[0]);
		return r;
	}
	n = read_full(pipefd[0], &f, sizeof f);
	close(pipefd[0]);
	if (n == 0) {
		p->pid = (pid_t)pid;
		p->pidfd = pidfd;
		p->limits_enforced = s->cgroup_fd >= 0 && s->cgroup_enforced;
		return 0;
	}
	if (n == (ssize_t)sizeof f && f.err < 0) {
		f.msg[sizeof f.msg - 1] = '\0';
		r = errbuf_set(err, cap, f.err, "spawn: %s", f.msg);
	} else {
		r = errbuf_set(err, cap, -EIO, "spawn: the worker died before exec");
	}
	while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	return r;
}
