/* tests/escape/fn_echo.c: a native function for tests/test_sandboxd.c.
 *
 * Copies stdin to stdout behind "native:" and writes one line to stderr
 * (the function's log stream); input "log:N" instead writes N KiB of
 * 'x' lines to stderr and nothing to stdout. Exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char buf[4096];
	ssize_t n, got = 0;

	while (got < (ssize_t)sizeof buf - 1 && (n = read(0, buf + got, sizeof buf - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	if (strncmp(buf, "log:", 4) == 0) {
		long kb = strtol(buf + 4, NULL, 10);
		char line[1024];
		memset(line, 'x', sizeof line - 1);
		line[sizeof line - 1] = '\n';
		for (long i = 0; i < kb; i++)
			if (write(2, line, sizeof line) < 0)
				return 1;
		return 0;
	}
	if (write(2, "fn_echo: called\n", 16) < 0 || write(1, "native:", 7) < 0 ||
	    write(1, buf, (size_t)got) < 0)
		return 1;
	return 0;
}
