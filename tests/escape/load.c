/* tests/escape/load.c: loads for a deployed native function's limits
 * (qemu-test/t/05-functions.t). A native function gets no arguments, so
 * the load is chosen by the request body on stdin:
 *
 *   flood     50 MiB on stdout (the reply): past any output limit
 *   forks     a fork bomb: children that wait, until the kernel refuses a
 *             fork (pids.max); then it dies by a signal, as a bomb would
 *   alloc     touches 1 GiB of fresh memory (past memory.max: OOM kill)
 *   spin      never ends (the timeout)
 *   anything else: {"load":"none","bytes":N}
 *
 * Static musl, like the probe. Refuses to run as root (a fork bomb
 * outside a sandbox is nobody's test).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FLOOD_BYTES (50L << 20)
#define ALLOC_BYTES (1L << 30)

static int flood(void)
{
	static char chunk[1 << 16];

	memset(chunk, 'x', sizeof chunk);
	for (long left = FLOOD_BYTES; left > 0;) {
		ssize_t n = write(1, chunk, left < (long)sizeof chunk ? (size_t)left : sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;   /* the reader stopped reading: the limit held */
		left -= n;
	}
	return 0;
}

static int forks(void)
{
	for (;;) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			/* pid 1 of its namespace ignores the signals it sends
			 * itself; a trap is delivered whatever the handler */
			fprintf(stderr, "load: fork refused (%s): dying\n", strerror(errno));
			__builtin_trap();
		}
	}
}

static int alloc(void)
{
	char *p = mmap(NULL, ALLOC_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 2;
	for (long i = 0; i < ALLOC_BYTES; i += 4096)
		p[i] = 1;
	printf("{\"load\":\"alloc\",\"touched\":%ld}\n", ALLOC_BYTES);
	return 0;
}

int main(void)
{
	char in[256];
	ssize_t n;
	size_t len = 0;

	if (getuid() == 0) {
		fprintf(stderr, "load: not as root\n");
		return 2;
	}
	while (len < sizeof in - 1 && (n = read(0, in + len, sizeof in - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		len += (size_t)n;
	}
	in[len] = '\0';
	if (strstr(in, "flood"))
		return flood();
	if (strstr(in, "forks"))
		return forks();
	if (strstr(in, "alloc"))
		return alloc();
	if (strstr(in, "spin"))
		for (volatile unsigned long i = 0;; i++)
			;
	printf("{\"load\":\"none\",\"bytes\":%zu}\n", len);
	return 0;
}
