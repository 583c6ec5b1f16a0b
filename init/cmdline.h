/* init/cmdline.h: dshield.* settings from the kernel command line.
 *
 * The command line is measured (RTMR2), so it is configuration the quote
 * vouches for. A dshield.* word that is malformed, unknown or repeated is
 * therefore an error (init powers off) rather than something to skip: a typo
 * must never boot silently with settings other than the measured intent.
 * Words that do not start with "dshield." belong to the kernel and are
 * ignored.
 *
 *   dshield.ip=A.B.C.D/N | dhcp   static address and prefix (1..32), or DHCP
 *   dshield.gw=A.B.C.D            default gateway, inside the ip's subnet;
 *                                 needs a static dshield.ip
 *   dshield.dns=A.B.C.D[,A.B.C.D] one or two resolvers (also with DHCP:
 *                                 they then replace the lease's)
 *   dshield.http_port=N           1..65535 (API listener)
 *   dshield.netif=NAME            1..15 of [A-Za-z0-9_.-], not "." or ".."
 *   dshield.header_timeout_ms=N   1..3600000
 *   dshield.idle_timeout_ms=N     1..3600000
 *
 * Numbers are plain decimal without sign or leading zeros. A value may be
 * wrapped in double quotes (stripped as the kernel does; an unterminated
 * quote is refused).
 *
 * Error convention: 0, or a negative errno; every error is logged with dlog()
 * naming the offending word.
 */
#ifndef DSHIELD_INIT_CMDLINE_H
#define DSHIELD_INIT_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX 4096              /* bytes read from /proc/cmdline */
#define CMDLINE_TIMEOUT_MAX_MS 3600000u

struct boot_cmdline {
	char netif[16];             /* interface netd drives; default "eth0" */
	uint32_t ipv4_addr;         /* network byte order; 0 = DHCP (default) */
	uint32_t ipv4_netmask;      /* network byte order; 0 with DHCP */
	uint32_t ipv4_gw;           /* network byte order; 0 = none */
	uint32_t dns[2];            /* network byte order; 0 = unset */
	uint16_t http_port;         /* API port, host byte order; default 8080 */
	uint32_t header_timeout_ms; /* request head must arrive within; 10000 */
	uint32_t idle_timeout_ms;   /* idle keep-alive connection; 60000 */
};

/* Fills *c with the defaults listed above. */
void cmdline_defaults(struct boot_cmdline *c);

/* Parses s[0..len) (need not be NUL-terminated) into *c, starting from the
 * defaults. Returns 0, or -EINVAL for a malformed, unknown or repeated
 * dshield.* word (logged). *c is unspecified after an error. */
int cmdline_parse(const char *s, size_t len, struct boot_cmdline *c);

/* Reads /proc/cmdline (at most CMDLINE_MAX bytes; -E2BIG if longer) and
 * parses it. Returns 0 or a negative errno. */
int cmdline_read(struct boot_cmdline *c);

/* Strict dotted quad: exactly four decimal octets 0..255 separated by '.',
 * no leading zeros ("01" is refused: some parsers read it as octal), no
 * sign, no spaces, the whole of s[0..len). Stores the address in network
 * byte order. Returns 0 or -EINVAL. */
int ipv4_parse(const char *s, size_t len, uint32_t *out_be);

#endif
