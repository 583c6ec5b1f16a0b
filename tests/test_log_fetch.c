/* tests/test_log_fetch.c: `dshield log verify URL`. A log written by
 * tests/tlog_gen.h is served by `python3 -m http.server` on 127.0.0.1 (a
 * port the kernel picks) and verified over HTTP, at the root and under a
 * prefix, with --save; then tampered with on the server (a flipped entry
 * byte, a removed tile, a cut checkpoint, another key). A hostile server
 * (a forked child) answers with an endless head, an oversized body, a
 * body cut short, or nothing at all, each refused within bounds. The URL
 * parser's cases. Skips the python part when python3 is missing. */
#include "cli/http_client.h"
#include "cli/log_verify.h"
#include "tests/py_http.h"
#include "tests/run_capture.h"
#include "tests/tap.h"
#include "tests/tlog_gen.h"
#include "lib/errbuf.h"
#include "lib/file.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

static char out[1 << 20];
static char root[] = "/tmp/dshield-test-logfetch-XXXXXX";
static char out_path[4096];
static struct tg_key key, other;
static char url[256];

static int run(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5,
	       const char *a6)
{
	const char *argv[9] = { "log", "verify", a1, a2, a3, a4, a5, a6, NULL };
	int argc = 2;

	while (argc < 8 && argv[argc] != NULL)
		argc++;
	return run_captured(cmd_log, argc, argv, out_path, out, sizeof out);
}

static bool has(const char *s)
{
	return strstr(out, s) != NULL;
}

static void path_of(char *p, size_t cap, const char *rel)
{
	snprintf(p, cap, "%s/www/%s", root, rel);
}

static void test_url_parse(void)
{
	static const struct { const char *u; int want; const char *host, *port, *prefix; } c[] = {
		{ "http://127.0.0.1:8080/v1/log", 0, "127.0.0.1", "8080", "/v1/log" },
		{ "http://127.0.0.1:8080/v1/log/", 0, "127.0.0.1", "8080", "/v1/log" },
		{ "http://example.com", 0, "example.com", "80", "" },
		{ "http://[::1]:9/", 0, "::1", "9", "" },
		{ "https://127.0.0.1/", -EINVAL, 0, 0, 0 },
		{ "ftp://x/", -EINVAL, 0, 0, 0 },
		{ "http://user@host/", -EINVAL, 0, 0, 0 },
		{ "http://host:0/", -EINVAL, 0, 0, 0 },
		{ "http://host:65536/", -EINVAL, 0, 0, 0 },
		{ "http://host:/", -EINVAL, 0, 0, 0 },
		{ "http:///x", -EINVAL, 0, 0, 0 },
		{ "http://host/a?b", -EINVAL, 0, 0, 0 },
		{ "http://host/a#b", -EINVAL, 0, 0, 0 },
		{ "http://host/a b", -EINVAL, 0, 0, 0 },
		{ "http://[::1/", -EINVAL, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct hc_url u;
		char err[ERRBUF_LEN] = "";
		int r = hc_url_parse(c[i].u, &u, err, sizeof err);
		if (c[i].want == 0)
			ok(r == 0 && strcmp(u.host, c[i].host) == 0 && strcmp(u.port, c[i].port) == 0 &&
			   strcmp(u.prefix, c[i].prefix) == 0, "url %s: host %s port %s prefix '%s'",
			   c[i].u, c[i].host, c[i].port, c[i].prefix);
		else
			ok(r == c[i].want && err[0] != '\0', "url %s refused (%s)", c[i].u, err);
	}
}

static void test_served(void)
{
	char www[1024], dir[1024], p[2048], saved[1024];
	struct tg_log l;
	int port;
	int rc;

	snprintf(www, sizeof www, "%s/www", root);
	snprintf(dir, sizeof dir, "%s/www/log1", root);
	mkdir(www, 0755);
	tg_log_make(&l, 600, 5);
	tg_write_log(www, &l, &key);      /* at the server's root */
	tg_write_log(dir, &l, &key);      /* and under a prefix */
	port = start_python(www);
	if (port <= 0) {
		for (int i = 0; i < 14; i++)
			ok(1, "# skip python3 -m http.server did not start");
		stop(&py_pid);
		tg_log_free(&l);
		return;
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	rc = run(url, "--key", key.vkey, NULL, NULL, NULL);
	is_int(rc, 0, "a served log of 600 entries verifies over HTTP");
	ok(has("fetched: 8 files") && has("result: OK"), "  8 files fetched (checkpoint, 4 tiles, 3 bundles)");

	snprintf(p, sizeof p, "http://127.0.0.1:%d/log1", port);
	snprintf(saved, sizeof saved, "%s/saved", root);
	rc = run(p, "--key", key.vkey, "--save", saved, NULL);
	is_int(rc, 0, "under a prefix, with --save");
	snprintf(p, sizeof p, "%s/tile/entries/002.p/88", saved);
	ok(access(p, F_OK) == 0, "  --save keeps the fetched files");
	rc = run(saved, "--key", key.vkey, NULL, NULL, NULL);
	is_int(rc, 0, "  and the saved directory verifies offline");
	rc = run(url, "--key", key.vkey, "--save", saved, NULL);
	ok(rc == 2 && has("exists already"), "--save to an existing directory: usage error");

	rc = run(url, "--key", other.vkey, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: checkpoint"), "another key: the checkpoint fails");

	/* tampered on the server */
	path_of(p, sizeof p, "tile/entries/001");
	int fd = open(p, O_RDWR);
	char b;
	/* byte 5: in the time field of entry 256 (after its length prefix) */
	pread(fd, &b, 1, 5);
	b ^= 1;
	pwrite(fd, &b, 1, 5);
	rc = run(url, "--key", key.vkey, NULL, NULL, NULL);
	if (!ok(rc == 1 && has("FAIL: tile/0/001") && has("entry 256") && has("result: FAILED"),
		"a flipped entry byte on the server fails its tile hash"))
		diag("%s", out);
	b ^= 1;
	pwrite(fd, &b, 1, 5);
	close(fd);
	rc = run(url, "--key", key.vkey, NULL, NULL, NULL);
	is_int(rc, 0, "  restored, it verifies again");

	path_of(p, sizeof p, "tile/1/000.p/2");
	char moved[4096];
	snprintf(moved, sizeof moved, "%s.gone", p);
	rename(p, moved);
	rc = run(url, "--key", key.vkey, NULL, NULL, NULL);
	if (!ok(rc == 1 && has("tile/1/000.p/2: HTTP 404") && has("tile/1/000.p/2: missing"),
		"a tile the server lacks: the fetch fails (404) and the tile is missing"))
		diag("%s", out);
	rename(moved, p);

	path_of(p, sizeof p, "checkpoint");
	static char note[NOTE_MAX_LEN];
	long n = file_read(p, note, sizeof note - 1);
	truncate(p, n / 2);
	rc = run(url, "--key", key.vkey, NULL, NULL, NULL);
	ok(rc == 1 && has("FAIL: "), "a cut checkpoint fails");
	tg_write(www, "checkpoint", note, (size_t)n);
	rc = run(url, "--key", key.vkey, "--json", NULL, NULL);
	ok(rc == 0 && out[0] == '{' && has("\"ok\":true"), "--json over HTTP: one object, ok");

	stop(&py_pid);
	rc = run(url, "--key", key.vkey, "--timeout", "2", NULL);
	ok(rc == 1 && has("connecting to 127.0.0.1"), "nobody listening: fails naming the connect");
	tg_log_free(&l);
}

/* A hostile server: answers every connection as mode says. */
enum hostile { ENDLESS_HEAD, HUGE_BODY, CUT_BODY, SILENT };

static pid_t hostile_pid;
static int start_hostile(enum hostile mode)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 8) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) != 0)
		return -1;
	hostile_pid = fork();
	if (hostile_pid == 0) {
		static char junk[65536];
		memset(junk, 'a', sizeof junk);
		for (;;) {
			int c = accept(s, NULL, NULL);
			char req[4096];
			if (c < 0)
				continue;
			recv(c, req, sizeof req, 0);
			static const char ok200[] = "HTTP/1.1 200 OK\r\n";
			send(c, ok200, sizeof ok200 - 1, MSG_NOSIGNAL);
			if (mode == ENDLESS_HEAD) {
				send(c, "X-A: ", 5, MSG_NOSIGNAL);
				for (int i = 0; i < 64; i++)
					if (send(c, junk, sizeof junk, MSG_NOSIGNAL) < 0)
						break;
			} else if (mode == HUGE_BODY) {
				static const char h[] = "Content-Length: 100000000\r\n\r\n";
				send(c, h, sizeof h - 1, MSG_NOSIGNAL);
				for (int i = 0; i < 64; i++)
					if (send(c, junk, sizeof junk, MSG_NOSIGNAL) < 0)
						break;
			} else if (mode == CUT_BODY) {
				static const char h[] = "Content-Length: 100\r\n\r\nshort";
				send(c, h, sizeof h - 1, MSG_NOSIGNAL);
			} else {
				sleep(30);
			}
			close(c);
		}
	}
	close(s);
	return ntohs(a.sin_port);
}

static void test_hostile(void)
{
	static const struct { enum hostile mode; const char *want, *name; } c[] = {
		{ ENDLESS_HEAD, "head is larger than 65536 bytes", "an endless head" },
		{ HUGE_BODY, "larger than 65536 bytes", "a checkpoint of 100 MB" },
		{ CUT_BODY, "in the middle of the answer", "a body cut short" },
		{ SILENT, "no whole answer within 1000 ms", "a server that never answers (--timeout 1)" },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		int port = start_hostile(c[i].mode);
		char u[64];
		snprintf(u, sizeof u, "http://127.0.0.1:%d", port);
		int rc = run(u, "--key", key.vkey, "--timeout", "1", NULL);
		ok(rc == 1 && has(c[i].want) && has("checkpoint: missing"), "%s: refused (%s)",
		   c[i].name, c[i].want);
		stop(&hostile_pid);
	}
	int rc = run("https://127.0.0.1:1/", "--key", key.vkey, NULL, NULL, NULL);
	ok(rc == 2 && has("only http://"), "https://: usage error");
	rc = run("/nonexistent", "--key", key.vkey, "--save", "/tmp/x", NULL);
	ok(rc == 2 && has("go with a URL"), "--save without a URL: usage error");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(root) == NULL)
		tg_die("mkdtemp", root);
	snprintf(out_path, sizeof out_path, "%s/out", root);
	tg_key_init(&key, "test.example/log", "fetch-test");
	tg_key_init(&other, "test.example/log", "another");
	test_url_parse();
	test_served();
	test_hostile();
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		diag("could not remove %s", root);
	return tap_done();
}
