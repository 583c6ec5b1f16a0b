/* tests/escape/fn_echo.c: a native function for the tests
 * (tests/test_sandboxd.c, tests/host/09-functions.t): a static x86-64 ELF
 * that reads its stdin (the request body) and
 *   - "exit N": exits with status N and writes nothing (a failed run,
 *     which the API maps to 502);
 *   - "log:N": writes N KiB of 'x' lines to stderr (the function's log
 *     stream) and nothing to stdout; exits 0;
 *   - anything else: writes "echo:" and the body to stdout and one line to
 *     stderr; exits 0.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	static char buf[65536];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof buf - 1 && (r = read(0, buf + n, sizeof buf - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	if (n > 5 && memcmp(buf, "exit ", 5) == 0)
		return atoi(buf + 5);
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
	if (write(2, "fn_echo: called\n", 16) < 0 || write(1, "echo:", 5) != 5 ||
	    write(1, buf, n) != (ssize_t)n)
		return 1;
	return 0;
}
