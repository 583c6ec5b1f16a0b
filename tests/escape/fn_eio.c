/* tests/escape/fn_eio.c: a native function for qemu-test/t/04-layers.t
 * (docs/LAYERS.md, "A corrupted block"): a static x86-64 ELF that reads
 * the file whose path is its whole input (the request body; one trailing
 * newline allowed; "direct:PATH" opens it O_DIRECT, past the page cache)
 * in 4096-byte reads, the block size of the layers, from the start until
 * the end of the file or the first failing call, and answers
 *
 *   {"path":"/share/eio/blob","direct":false,"read":131072,"errno":5,"error":"I/O error"}
 *
 * with the bytes read before the failure, the errno of the failing open or
 * read (0 when the whole file was read) and its strerror (null for none).
 * A failure is also one line on stderr (the function's log stream), as a
 * runtime would report it. The answer is always exit status 0: the test
 * reads the errno from the body, not from a status dshield maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 4096

/* Only what the test names: no JSON escaping needed for these. */
static int path_ok(const char *p)
{
	if (p[0] != '/')
		return 0;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '.' || *p == '_' ||
		      *p == '-'))
			return 0;
	return 1;
}

int main(void)
{
	/* O_DIRECT wants the buffer aligned to the device's logical block. */
	static char path[1024], buf[BLOCK] __attribute__((aligned(BLOCK)));
	const char *file = path;
	size_t n = 0;
	ssize_t r;
	long long total = 0;
	int err = 0, direct = 0;

	while (n < sizeof path - 1 && (r = read(0, path + n, sizeof path - 1 - n)) > 0)
		n += (size_t)r;
	if (n > 0 && path[n - 1] == '\n')
		n--;
	path[n] = '\0';
	if (strncmp(path, "direct:", 7) == 0) {
		direct = 1;
		file = path + 7;
	}
	if (!path_ok(file)) {
		fputs("fn_eio: the input is not [direct:]an absolute path of [A-Za-z0-9/._-]\n",
		      stderr);
		return 2;
	}
	int fd = open(file, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (fd < 0) {
		err = errno;
	} else {
		while ((r = read(fd, buf, sizeof buf)) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				err = errno;
				break;
			}
			total += r;
		}
		close(fd);
	}
	if (err != 0)
		fprintf(stderr, "fn_eio: %s%s: %s at byte %lld: %s\n", file,
			direct ? " (O_DIRECT)" : "", fd < 0 ? "open" : "read", total, strerror(err));
	printf("{\"path\":\"%s\",\"direct\":%s,\"read\":%lld,\"errno\":%d,\"error\":", file,
	       direct ? "true" : "false", total, err);
	if (err != 0)
		printf("\"%s\"}", strerror(err));
	else
		fputs("null}", stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
