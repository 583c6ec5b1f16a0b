/* tests/test_cmdline.c: dshield.* kernel command line words and ipv4_parse. */
#include "init/cmdline.h"
#include "lib/log.h"
#include "tests/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static uint32_t A(const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return 0xdeadbeef;
	return a.s_addr;
}

static int P(const char *s, struct boot_cmdline *c)
{
	return cmdline_parse(s, strlen(s), c);
}

static void bad(const char *s)
{
	struct boot_cmdline c;
	is_int(P(s, &c), -EINVAL, "refused: %s", s);
}

static void bad_ip(const char *s)
{
	uint32_t v = 0x12345678;
	is_int(ipv4_parse(s, strlen(s), &v), -EINVAL, "ipv4_parse refuses '%s'", s);
	ok(v == 0x12345678, "ipv4_parse leaves output alone on '%s'", s);
}

int main(void)
{
	struct boot_cmdline c;
	uint32_t v;

	/* Error lines would clutter the TAP stream: send them to /dev/null. */
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull >= 0)
		log_set_fd(devnull);

	/* defaults */
	is_int(P("", &c), 0, "empty line parses");
	is_str(c.netif, "eth0", "default netif");
	is_int(c.ipv4_addr, 0, "default is DHCP");
	is_int(c.ipv4_netmask, 0, "no netmask with DHCP");
	is_int(c.ipv4_gw, 0, "no gateway by default");
	ok(c.dns[0] == 0 && c.dns[1] == 0, "no resolvers by default");
	is_int(c.http_port, 8080, "default port");
	is_int(c.header_timeout_ms, 10000, "default header timeout");
	is_int(c.idle_timeout_ms, 60000, "default idle timeout");

	/* kernel words are ignored */
	is_int(P("BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro console=ttyS0,115200n8 quiet "
		 "panic=-1 dshieldx=1 dshield nomodeset \"foo bar\" -- init-arg\n", &c), 0,
	       "kernel words and junk are ignored");
	is_int(c.http_port, 8080, "... and leave the defaults");

	/* every key */
	is_int(P("console=ttyS0 dshield.ip=198.18.5.2/24 dshield.gw=198.18.5.1 "
		 "dshield.dns=198.18.5.53,9.9.9.9 dshield.http_port=443 "
		 "dshield.netif=ens3 dshield.header_timeout_ms=2500 "
		 "dshield.idle_timeout_ms=120000\n", &c), 0, "all keys parse");
	is_int(c.ipv4_addr, A("198.18.5.2"), "ip");
	is_int(c.ipv4_netmask, A("255.255.255.0"), "netmask from /24");
	is_int(c.ipv4_gw, A("198.18.5.1"), "gw");
	is_int(c.dns[0], A("198.18.5.53"), "dns 1");
	is_int(c.dns[1], A("9.9.9.9"), "dns 2");
	is_int(c.http_port, 443, "http_port");
	is_str(c.netif, "ens3", "netif");
	is_int(c.header_timeout_ms, 2500, "header_timeout_ms");
	is_int(c.idle_timeout_ms, 120000, "idle_timeout_ms");

	is_int(P("dshield.dns=1.1.1.1", &c), 0, "one resolver");
	ok(c.dns[0] == A("1.1.1.1") && c.dns[1] == 0, "one resolver stored, second unset");
	is_int(P("dshield.ip=10.0.0.1/32", &c), 0, "/32");
	is_int(c.ipv4_netmask, A("255.255.255.255"), "netmask /32");
	is_int(P("dshield.ip=10.0.0.1/1", &c), 0, "/1");
	is_int(c.ipv4_netmask, A("128.0.0.0"), "netmask /1");
	is_int(P("dshield.ip=dhcp", &c), 0, "explicit dhcp");
	is_int(c.ipv4_addr, 0, "dhcp means address 0");
	is_int(P("dshield.http_port=1 dshield.idle_timeout_ms=3600000", &c), 0, "range limits accepted");
	is_int(c.http_port, 1, "port 1");
	is_int(P("dshield.http_port=65535", &c), 0, "port 65535");
	is_int(c.http_port, 65535, "port 65535 stored");
	is_int(P("\tdshield.http_port=\"9000\"\t", &c), 0, "quoted value");
	is_int(c.http_port, 9000, "quoted value stored");
	is_int(P("\"dshield.netif=eth1\"", &c), 0, "quoted word");
	is_str(c.netif, "eth1", "quoted word stored");
	is_int(P("dshield.netif=abcdefghijklmno", &c), 0, "15-char interface name");
	is_int(cmdline_parse("dshield.http_port=81xyz", 20, &c), 0, "length bound respected");
	is_int(c.http_port, 81, "value cut at len");

	/* bad values */
	bad("dshield.ip=256.1.1.1/24");
	bad("dshield.ip=1.2.3/24");
	bad("dshield.ip=1.2.3.4/33");
	bad("dshield.ip=1.2.3.4/0");
	bad("dshield.ip=1.2.3.4");
	bad("dshield.ip=1.2.3.4/");
	bad("dshield.ip=1.2.3.4/024");
	bad("dshield.ip=0.0.0.0/8");
	bad("dshield.ip=");
	bad("dshield.ip");
	bad("dshield.http_port=0");
	bad("dshield.http_port=65536");
	bad("dshield.http_port=080");
	bad("dshield.http_port=-1");
	bad("dshield.http_port=+80");
	bad("dshield.http_port=99999999999999999999");
	bad("dshield.header_timeout_ms=0");
	bad("dshield.idle_timeout_ms=3600001");
	bad("dshield.dns=1.2.3.4,");
	bad("dshield.dns=1.2.3.4,5.6.7.8,9.9.9.9");
	bad("dshield.dns=0.0.0.0");
	bad("dshield.dns=");
	bad("dshield.gw=1.2.3.4");                                   /* no static ip */
	bad("dshield.ip=10.0.0.2/24 dshield.gw=10.0.1.1");           /* off subnet */
	bad("dshield.ip=10.0.0.2/24 dshield.gw=10.0.0.2");           /* itself */
	bad("dshield.netif=");
	bad("dshield.netif=abcdefghijklmnop");
	bad("dshield.netif=../x");
	bad("dshield.netif=..");
	bad("dshield.netif=eth/0");
	bad("dshield.netif=eth:0");
	bad("dshield.htp_port=80");                                  /* typo */
	bad("dshield.=1");
	bad("dshield.http_port=80 dshield.http_port=80");            /* repeated */
	bad("dshield.http_port=\"80");

	/* ipv4_parse */
	is_int(ipv4_parse("198.18.0.1", 10, &v), 0, "ipv4_parse ok");
	is_int(v, A("198.18.0.1"), "network byte order");
	is_int(ipv4_parse("0.0.0.0", 7, &v), 0, "0.0.0.0");
	is_int(v, 0, "0.0.0.0 value");
	is_int(ipv4_parse("255.255.255.255", 15, &v), 0, "255.255.255.255");
	is_int(v, 0xffffffff, "broadcast value");
	is_int(ipv4_parse("1.2.3.4x", 7, &v), 0, "ipv4_parse honours len");
	bad_ip("256.1.1.1");
	bad_ip("1.2.3");
	bad_ip("1.2.3.4.5");
	bad_ip("01.2.3.4");
	bad_ip("1.2.3.04");
	bad_ip("1..3.4");
	bad_ip(".1.2.3");
	bad_ip("1.2.3.");
	bad_ip("1.2.3.4 ");
	bad_ip(" 1.2.3.4");
	bad_ip("1.2.3.-4");
	bad_ip("1.2.3.0004");
	bad_ip("1.2.3.1000");
	bad_ip("0x1.2.3.4");
	bad_ip("");

	/* the real /proc/cmdline of this host has no dshield.* words */
	is_int(cmdline_read(&c), 0, "cmdline_read parses /proc/cmdline");

	return tap_done();
}
