/* tests/py_http.h: `python3 -m http.server` on 127.0.0.1, on a port the
 * kernel picks, serving a directory the test wrote: how test_log_fetch and
 * test_receipt_cli put files behind a URL. */
#ifndef DSHIELD_TESTS_PY_HTTP_H
#define DSHIELD_TESTS_PY_HTTP_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* python3 -m http.server on 127.0.0.1, a port of its own; its port. */
__attribute__((unused)) static pid_t py_pid;
__attribute__((unused))
static int start_python(const char *dir)
{
	int p[2];
	char line[512] = "";

	if (pipe(p) != 0)
		return -1;
	py_pid = fork();
	if (py_pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(p[1], 1);
		dup2(devnull, 2);
		close(p[0]);
		execlp("python3", "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
		       "--directory", dir, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ..." */
	FILE *f = fdopen(p[0], "r");
	if (f == NULL || fgets(line, sizeof line, f) == NULL) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	const char *s = strstr(line, " port ");
	return s ? atoi(s + 6) : -1;
}

__attribute__((unused))
static void stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

#endif
