/* init/cmdline.c: see cmdline.h. */
#include "init/cmdline.h"
#include "lib/file.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define PREFIX "dshield."

void cmdline_defaults(struct boot_cmdline *c)
{
	memset(c, 0, sizeof *c);
	memcpy(c->netif, "eth0", 5);
	c->http_port = 8080;
	c->header_timeout_ms = 10000;
	c->idle_timeout_ms = 60000;
}

/* Logs msg and the word, with bytes that could upset a console replaced:
 * the command line comes from whoever launched the VM. */
static void log_bad(const char *msg, const char *w, size_t n)
{
	char safe[96];
	size_t i;
	for (i = 0; i < n && i < sizeof safe - 1; i++)
		safe[i] = (w[i] >= 0x20 && w[i] < 0x7f) ? w[i] : '?';
	safe[i] = '\0';
	dlog("cmdline: %s: '%s%s'", msg, safe, n >= sizeof safe ? "..." : "");
}

/* Plain decimal without sign or leading zeros, at most max. */
static int parse_uint(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int ipv4_parse(const char *s, size_t len, uint32_t *out_be)
{
	uint8_t b[4];
	size_t pos = 0;
	for (int i = 0; i < 4; i++) {
		size_t start = pos;
		while (pos < len && s[pos] >= '0' && s[pos] <= '9' && pos - start < 4)
			pos++;
		uint32_t v;
		if (parse_uint(s + start, pos - start, 255, &v) != 0)
			return -EINVAL;
		b[i] = (uint8_t)v;
		if (i < 3) {
			if (pos >= len || s[pos] != '.')
				return -EINVAL;
			pos++;
		}
	}
	if (pos != len)
		return -EINVAL;
	memcpy(out_be, b, 4);
	return 0;
}

static uint32_t prefix_mask_be(unsigned prefix)
{
	uint32_t host = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
	uint8_t b[4] = { (uint8_t)(host >> 24), (uint8_t)(host >> 16),
			 (uint8_t)(host >> 8), (uint8_t)host };
	uint32_t be;
	memcpy(&be, b, 4);
	return be;
}

static int parse_ip(const char *v, size_t n, struct boot_cmdline *c)
{
	if (n == 4 && memcmp(v, "dhcp", 4) == 0) {
		c->ipv4_addr = c->ipv4_netmask = 0;
		return 0;
	}
	const char *slash = memchr(v, '/', n);
	uint32_t addr, prefix;
	if (!slash || ipv4_parse(v, (size_t)(slash - v), &addr) != 0 ||
	    parse_uint(slash + 1, n - (size_t)(slash - v) - 1, 32, &prefix) != 0 ||
	    prefix == 0 || addr == 0)
		return -EINVAL;
	c->ipv4_addr = addr;
	c->ipv4_netmask = prefix_mask_be(prefix);
	return 0;
}

static int parse_dns(const char *v, size_t n, struct boot_cmdline *c)
{
	const char *comma = memchr(v, ',', n);
	size_t first = comma ? (size_t)(comma - v) : n;
	if (ipv4_parse(v, first, &c->dns[0]) != 0 || c->dns[0] == 0)
		return -EINVAL;
	if (!comma)
		return 0;
	if (ipv4_parse(comma + 1, n - first - 1, &c->dns[1]) != 0 || c->dns[1] == 0)
		return -EINVAL;
	return 0;
}

static int parse_netif(const char *v, size_t n, struct boot_cmdline *c)
{
	if (n == 0 || n >= sizeof c->netif)
		return -EINVAL;
	if ((n == 1 && v[0] == '.') || (n == 2 && v[0] == '.' && v[1] == '.'))
		return -EINVAL;
	/* The name ends up in /proc/sys/net/ipv6/conf/<name>/: no '/'. */
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return -EINVAL;
	}
	memcpy(c->netif, v, n);
	c->netif[n] = '\0';
	return 0;
}

static int parse_port(const char *v, size_t n, struct boot_cmdline *c)
{
	uint32_t p;
	if (parse_uint(v, n, 65535, &p) != 0 || p == 0)
		return -EINVAL;
	c->http_port = (uint16_t)p;
	return 0;
}

static int parse_gw(const char *v, size_t n, struct boot_cmdline *c)
{
	if (ipv4_parse(v, n, &c->ipv4_gw) != 0 || c->ipv4_gw == 0)
		return -EINVAL;
	return 0;
}

static int parse_timeout(const char *v, size_t n, uint32_t *out)
{
	uint32_t t;
	if (parse_uint(v, n, CMDLINE_TIMEOUT_MAX_MS, &t) != 0 || t == 0)
		return -EINVAL;
	*out = t;
	return 0;
}

static int parse_header_timeout(const char *v, size_t n, struct boot_cmdline *c)
{
	return parse_timeout(v, n, &c->header_timeout_ms);
}

static int parse_idle_timeout(const char *v, size_t n, struct boot_cmdline *c)
{
	return parse_timeout(v, n, &c->idle_timeout_ms);
}

static const struct {
	const char *key;  /* after "dshield." */
	int (*parse)(const char *v, size_t n, struct boot_cmdline *c);
} keys[] = {
	{ "ip", parse_ip },
	{ "gw", parse_gw },
	{ "dns", parse_dns },
	{ "http_port", parse_port },
	{ "netif", parse_netif },
	{ "header_timeout_ms", parse_header_timeout },
	{ "idle_timeout_ms", parse_idle_timeout },
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* One dshield.* word w[0..n) (outer quotes already removed). */
static int parse_word(const char *w, size_t n, struct boot_cmdline *c, bool *seen)
{
	const char *eq = memchr(w, '=', n);
	if (!eq) {
		log_bad("dshield option without a value", w, n);
		return -EINVAL;
	}
	const char *k = w + strlen(PREFIX);
	size_t klen = (size_t)(eq - k);
	const char *v = eq + 1;
	size_t vlen = n - (size_t)(v - w);
	/* Kernel rule: a value starting with '"' loses it and a final '"'.
	 * The kernel also takes an unterminated quote; we do not. */
	bool quoted = vlen > 0 && v[0] == '"';
	if (quoted) {
		if (vlen < 2 || v[vlen - 1] != '"') {
			log_bad("unterminated quote", w, n);
			return -EINVAL;
		}
		v++, vlen -= 2;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		if (strlen(keys[i].key) != klen || memcmp(keys[i].key, k, klen) != 0)
			continue;
		if (seen[i]) {
			log_bad("dshield option given twice", w, n);
			return -EINVAL;
		}
		seen[i] = true;
		if (keys[i].parse(v, vlen, c) != 0) {
			log_bad("malformed value", w, n);
			return -EINVAL;
		}
		return 0;
	}
	log_bad("unknown dshield option", w, n);
	return -EINVAL;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\0';
}

/* Cross-field rules, once every word is in. */
static int check_combination(const struct boot_cmdline *c)
{
	if (c->ipv4_gw == 0)
		return 0;
	if (c->ipv4_addr == 0) {
		dlog("cmdline: dshield.gw needs a static dshield.ip");
		return -EINVAL;
	}
	if ((c->ipv4_gw & c->ipv4_netmask) != (c->ipv4_addr & c->ipv4_netmask) ||
	    c->ipv4_gw == c->ipv4_addr) {
		dlog("cmdline: dshield.gw is not another address of dshield.ip's subnet");
		return -EINVAL;
	}
	return 0;
}

int cmdline_parse(const char *s, size_t len, struct boot_cmdline *c)
{
	bool seen[NKEYS] = { false };
	size_t i = 0;

	cmdline_defaults(c);
	while (i < len) {
		while (i < len && is_space(s[i]))
			i++;
		if (i >= len)
			break;
		/* A word runs to the next blank outside double quotes. */
		size_t start = i;
		bool quoted = false;
		for (; i < len && (quoted || !is_space(s[i])); i++)
			if (s[i] == '"')
				quoted = !quoted;
		const char *w = s + start;
		size_t n = i - start;
		if (n > 0 && w[0] == '"') {
			w++, n--;
			if (n > 0 && w[n - 1] == '"')
				n--;
		}
		if (n < strlen(PREFIX) || memcmp(w, PREFIX, strlen(PREFIX)) != 0)
			continue;
		int r = parse_word(w, n, c, seen);
		if (r != 0)
			return r;
	}
	return check_combination(c);
}

int cmdline_read(struct boot_cmdline *c)
{
	char buf[CMDLINE_MAX];
	long len = file_read("/proc/cmdline", buf, sizeof buf - 1);
	if (len == -EFBIG) {
		/* A cut line could hide a dshield.* word: refuse it. */
		dlog("cmdline: /proc/cmdline is longer than %d bytes", CMDLINE_MAX - 1);
		return -E2BIG;
	}
	if (len < 0) {
		dlog("cmdline: read /proc/cmdline: %s", strerror((int)-len));
		return (int)len;
	}
	return cmdline_parse(buf, (size_t)len, c);
}
