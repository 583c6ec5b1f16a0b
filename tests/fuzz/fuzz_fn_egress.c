/* tests/fuzz/fuzz_fn_egress.c: libFuzzer target for net/fn_egress's
 * message intake (IMSG_SBX_EGRESS from sandboxd).
 *
 * The input is a run of messages: one byte for the number of descriptors
 * (0..4, each a fresh /dev/null), then a message of the length the next
 * two bytes say. Whatever the table accepts or refuses, it must own every
 * descriptor it was given: after a clear, none of them is open, and the
 * listener count is 0. */
#include "net/fn_egress.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int watch(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)fd;
	(void)events;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fn_egress t;
	static int given[4096];
	size_t ngiven = 0, at = 0;

	fn_egress_init(&t, &(struct fn_egress_hooks){ .watch = watch });
	while (at + 3 <= size) {
		unsigned nfds = data[at] % (SBX_EGRESS_FDS + 1);
		size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
		int fds[SBX_EGRESS_FDS];
		at += 3;
		if (len > size - at)
			len = size - at;
		for (unsigned i = 0; i < nfds; i++) {
			fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fds[i] < 0)
				abort();
			if (ngiven < 4096)
				given[ngiven++] = fds[i];
		}
		fn_egress_take(&t, data + at, len, fds, nfds);
		at += len;
	}
	fn_egress_clear(&t);
	if (t.st.listeners != 0)
		abort();
	for (size_t i = 0; i < ngiven; i++)
		if (fcntl(given[i], F_GETFD) >= 0)
			abort();   /* a descriptor the table was given is still open */
	return 0;
}
