/* tests/test_fakeaddr.c: the fake address table (net/fakeaddr.h): the
 * address plan, stability, determinism, reverse lookups, canonical names
 * only, a full table (names and pool) refusing without evicting. */
#include "net/fakeaddr.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct fakeaddr_table t1, t2;
static const uint8_t key0[FAKEADDR_KEY_LEN] = { 0 };

static void test_siphash(void)
{
	uint8_t key[16], msg[15];

	/* the reference vectors of the SipHash paper (key 00..0f, message
	 * 00..len-1) */
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	ok(fakeaddr_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ull, "siphash: empty message");
	ok(fakeaddr_siphash(key, msg, 8) == 0x93f5f5799a932462ull, "siphash: 8 bytes");
	ok(fakeaddr_siphash(key, msg, 15) == 0xa129ca6149be45e5ull, "siphash: 15 bytes");
}

static void test_plan(void)
{
	int bad = 0;

	is_int(fakeaddr_addr_of(0), IP(127, 64, 0, 1), "entry 0 is 127.64.0.1");
	is_int(fakeaddr_addr_of(253), IP(127, 64, 0, 254), "entry 253 is 127.64.0.254");
	is_int(fakeaddr_addr_of(254), IP(127, 64, 1, 1), "entry 254 is 127.64.1.1 (no .255, no .0)");
	is_int(fakeaddr_addr_of(FAKEADDR_MAX_NAMES - 1), IP(127, 64, 4, 8),
	       "the last entry is 127.64.4.8");
	for (uint32_t i = 0; i < FAKEADDR_MAX_NAMES; i++) {
		uint32_t a = fakeaddr_addr_of(i), last = a & 0xff;
		if (fakeaddr_index_of(a) != (long)i || last == 0 || last == 255 ||
		    !fakeaddr_in_range(a))
			bad++;
	}
	is_int(bad, 0, "every entry: in range, not .0/.255, index_of inverts addr_of");
	is_int(fakeaddr_index_of(IP(127, 64, 0, 0)), -1, "127.64.0.0 is no entry");
	is_int(fakeaddr_index_of(IP(127, 64, 3, 255)), -1, ".255 is no entry");
	is_int(fakeaddr_index_of(IP(127, 0, 0, 1)), -1, "127.0.0.1 is no entry");
	ok(!fakeaddr_in_range(IP(127, 63, 255, 255)), "127.63.255.255 is outside the /10");
	ok(fakeaddr_in_range(IP(127, 64, 0, 0)), "127.64.0.0 is inside");
	ok(fakeaddr_in_range(IP(127, 127, 255, 255)), "127.127.255.255 is inside");
	ok(!fakeaddr_in_range(IP(127, 128, 0, 0)), "127.128.0.0 is outside");
	ok(!fakeaddr_in_range(IP(10, 64, 0, 1)), "10.64.0.1 is outside");
}

static int get(struct fakeaddr_table *t, const char *name, uint32_t *a)
{
	return fakeaddr_get(t, name, strlen(name), a);
}

static void test_stable(void)
{
	uint32_t a, b, c, d;
	size_t len = 0;
	const char *n;
	uint8_t key1[FAKEADDR_KEY_LEN];

	memset(key1, 0xa5, sizeof key1);
	fakeaddr_init(&t1, key0);
	fakeaddr_init(&t2, key1);
	is_int(fakeaddr_find(&t1, "api.example.com", 15, &a), -ENOENT, "find on an empty table");
	is_int(fakeaddr_count(&t1), 0, "find added nothing");
	is_int(get(&t1, "api.example.com", &a), 0, "first name");
	is_int(a, IP(127, 64, 0, 1), "gets the first address");
	is_int(get(&t1, "pypi.org", &b), 0, "second name");
	is_int(b, IP(127, 64, 0, 2), "gets the second address");
	is_int(get(&t1, "api.example.com", &c), 0, "first name again");
	is_int(c, a, "same address for the same name");
	is_int(fakeaddr_count(&t1), 2, "two names held");
	is_int(fakeaddr_find(&t1, "pypi.org", 8, &d), 0, "find a held name");
	is_int(d, b, "find gives its address");
	/* a name is its bytes: a prefix is another name */
	is_int(get(&t1, "api.example.co", &d), 0, "a prefix of a held name");
	ok(d != a && d != b, "is a new name with a new address");

	/* the key moves the index, never the addresses */
	get(&t2, "api.example.com", &c);
	get(&t2, "pypi.org", &d);
	ok(c == a && d == b, "another key, same order: same addresses");

	n = fakeaddr_name(&t1, a, &len);
	ok(n && strcmp(n, "api.example.com") == 0 && len == 15, "reverse lookup of the first");
	n = fakeaddr_name(&t1, b, NULL);
	ok(n && strcmp(n, "pypi.org") == 0, "reverse lookup of the second");
	ok(fakeaddr_name(&t1, IP(127, 64, 0, 4), NULL) == NULL, "an address not handed out yet");
	ok(fakeaddr_name(&t1, IP(127, 64, 0, 0), NULL) == NULL, "127.64.0.0");
	ok(fakeaddr_name(&t1, IP(127, 0, 0, 1), NULL) == NULL, "127.0.0.1");
	ok(fakeaddr_name(&t1, IP(192, 168, 0, 1), NULL) == NULL, "an address outside the range");
}

static void test_names(void)
{
	static const char *bad[] = {
		"", "Example.com", "a..b", ".a", "a.", "-a.com", "a-.com", "a.-b", "a_b.com",
		"a b.com", "a*.com", "*.example.com", "a/b", "\xc3\xa9.com",
	};
	char buf[300];
	uint32_t a;

	fakeaddr_init(&t1, key0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(get(&t1, bad[i], &a), -EINVAL, "refused: '%s'", bad[i]);
	is_int(fakeaddr_get(&t1, "a\0b.com", 7, &a), -EINVAL, "refused: a NUL inside");
	memset(buf, 'a', 64);
	memcpy(buf + 64, ".com", 5);
	is_int(get(&t1, buf, &a), -EINVAL, "refused: a label of 64");
	memcpy(buf + 63, ".com", 5);
	is_int(get(&t1, buf, &a), 0, "a label of 63");
	/* 253 and 254 bytes */
	for (int i = 0; i < 254; i++)
		buf[i] = i % 2 ? '.' : 'x';
	buf[253] = '\0';
	is_int(get(&t1, buf, &a), 0, "a name of 253 bytes");
	buf[253] = 'x';
	buf[254] = '\0';
	is_int(fakeaddr_get(&t1, buf, 254, &a), -EINVAL, "refused: a name of 254 bytes");
	is_int(get(&t1, "1-2.x9", &a), 0, "digits and inner hyphens");
	is_int(fakeaddr_count(&t1), 3, "refusals added nothing");
}

static void test_full(void)
{
	char name[64], big[254];
	uint32_t a;
	int bad = 0, again = 0, rev = 0;

	fakeaddr_init(&t1, key0);
	for (uint32_t i = 0; i < FAKEADDR_MAX_NAMES; i++) {
		snprintf(name, sizeof name, "host%u.example.com", i);
		if (get(&t1, name, &a) != 0 || a != fakeaddr_addr_of(i))
			bad++;
	}
	is_int(bad, 0, "%u names, addresses in order", FAKEADDR_MAX_NAMES);
	is_int(get(&t1, "one-more.example.com", &a), -ENOSPC, "a full table refuses a new name");
	is_int(fakeaddr_find(&t1, "one-more.example.com", 20, &a), -ENOENT, "and did not add it");
	for (uint32_t i = 0; i < FAKEADDR_MAX_NAMES; i++) {
		const char *n;
		snprintf(name, sizeof name, "host%u.example.com", i);
		if (get(&t1, name, &a) != 0 || a != fakeaddr_addr_of(i))
			again++;
		n = fakeaddr_name(&t1, fakeaddr_addr_of(i), NULL);
		if (!n || strcmp(n, name) != 0)
			rev++;
	}
	is_int(again, 0, "every held name keeps its address when full (nothing evicted)");
	is_int(rev, 0, "every address still names its host");

	/* the pool: names of 253 bytes fill it before the count does */
	fakeaddr_init(&t1, key0);
	memset(big, 'b', sizeof big);
	for (int i = 0; i < 4; i++)
		big[50 * (i + 1)] = '.';
	bad = 0;
	uint32_t fit = FAKEADDR_POOL / 254, i;
	for (i = 0; i < fit; i++) {
		snprintf(big, 9, "%08x", i);
		big[8] = 'b';
		if (fakeaddr_get(&t1, big, 253, &a) != 0)
			bad++;
	}
	is_int(bad, 0, "%u names of 253 bytes fit the pool", fit);
	snprintf(big, 9, "%08x", i);
	big[8] = 'b';
	is_int(fakeaddr_get(&t1, big, 253, &a), -ENOSPC, "one more does not");
	/* the pool's rest (FAKEADDR_POOL % 254 bytes, at least 2) takes "a" */
	is_int(get(&t1, "a", &a), 0, "a short one still fits the pool's rest (%u bytes)",
	       FAKEADDR_POOL - fit * 254);
}

int main(void)
{
	test_siphash();
	test_plan();
	test_stable();
	test_names();
	test_full();
	return tap_done();
}
