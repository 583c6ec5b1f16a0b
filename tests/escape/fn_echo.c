/* tests/escape/fn_echo.c: a native function for tests/host/09-functions.t:
 * a static x86-64 ELF that answers "echo:" and its stdin (the request
 * body) on stdout, and exits with the status the body names when it
 * starts with "exit " (so a test can see a failed run mapped to 502). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	static char buf[65536];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof buf && (r = read(0, buf + n, sizeof buf - n)) > 0)
		n += (size_t)r;
	if (n > 5 && memcmp(buf, "exit ", 5) == 0) {
		buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
		return atoi(buf + 5);
	}
	if (write(1, "echo:", 5) != 5 || write(1, buf, n) != (ssize_t)n)
		return 1;
	return 0;
}
