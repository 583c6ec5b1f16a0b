/* lib/random.c: see random.h. */
#include "lib/random.h"

#include <errno.h>
#include <sys/random.h>

int random_fill(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}
