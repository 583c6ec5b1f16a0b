/* tests/fuzz/fuzz_cmdline.c: libFuzzer target for cmdline_parse and
 * ipv4_parse. Beyond "no crash": a successful parse must satisfy every
 * invariant that netd relies on. */
#include "init/cmdline.h"
#include "lib/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct boot_cmdline c;
	uint32_t v;

	if (!quiet) {
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0)
			log_set_fd(fd);
		quiet = 1;
	}
	(void)ipv4_parse((const char *)data, size, &v);
	if (cmdline_parse((const char *)data, size, &c) != 0)
		return 0;
	size_t n = strnlen(c.netif, sizeof c.netif);
	if (n == 0 || n >= sizeof c.netif || memchr(c.netif, '/', n))
		abort();
	if (c.http_port == 0 || c.header_timeout_ms == 0 || c.idle_timeout_ms == 0 ||
	    c.header_timeout_ms > CMDLINE_TIMEOUT_MAX_MS ||
	    c.idle_timeout_ms > CMDLINE_TIMEOUT_MAX_MS)
		abort();
	if (c.ipv4_addr == 0 && (c.ipv4_netmask != 0 || c.ipv4_gw != 0))
		abort();
	if (c.ipv4_addr != 0 && c.ipv4_netmask == 0)
		abort();
	return 0;
}
