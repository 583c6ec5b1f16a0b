/* tests/fuzz/fuzz_rolelog.c: init's relay of a role's output. Whatever a
 * role writes, every relayed line is one line: tagged, without control
 * bytes, within LOG_LINE_MAX. */
#include "init/rolelog.h"
#include "lib/log.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int pipe_r = -1, pipe_w = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_output(void)
{
	static char buf[1 << 16];
	ssize_t n;
	while ((n = read(pipe_r, buf, sizeof buf)) > 0) {
		char *line = buf, *end = buf + n;
		while (line < end) {
			char *nl = memchr(line, '\n', (size_t)(end - line));
			if (nl == NULL)
				abort();                 /* every write is whole lines */
			if (nl - line >= LOG_LINE_MAX)
				abort();
			if (memmem(line, (size_t)(nl - line), "] dshield: fz: ", 15) == NULL)
				abort();
			for (char *c = line; c < nl; c++)
				if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
					abort();
			line = nl + 1;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rolelog rl;

	if (pipe_r < 0) {
		int p[2];
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
			abort();
		fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
		pipe_r = p[0];
		pipe_w = p[1];
		log_set_fd(pipe_w);
	}
	rolelog_init(&rl, "fz", 0);
	/* Fed in pieces of the sizes the first bytes say, as a pipe delivers. */
	size_t off = 0, step = size ? (size_t)data[0] % 64 + 1 : 1;
	while (off < size) {
		size_t k = size - off < step ? size - off : step;
		rolelog_feed(&rl, (const char *)data + off, k, off);
		off += k;
		check_output();
	}
	rolelog_end(&rl, off);
	check_output();
	return 0;
}
