/* tests/test_bbuf.c: the bounded appender (lib/bbuf) and the jsonw
 * additions built on it (raw values, base64, overflow reporting). */
#include "lib/bbuf.h"
#include "lib/jsonw.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* A buffer with a guard area behind cap: appends must never reach it. */
static char mem[64];
#define GUARD 'G'

static void fresh(struct bbuf *b, size_t cap)
{
	memset(mem, GUARD, sizeof mem);
	bbuf_init(b, mem, cap);
}

static int guard_intact(size_t cap)
{
	for (size_t i = cap; i < sizeof mem; i++)
		if (mem[i] != GUARD)
			return 0;
	return 1;
}

static void test_appends(void)
{
	struct bbuf b;

	fresh(&b, 32);
	bbuf_str(&b, "n=");
	bbuf_u64(&b, 0);
	bbuf_put(&b, ",", 1);
	bbuf_u64(&b, UINT64_MAX);
	bbuf_printf(&b, "|%s%d", "p", -3);
	is_int(bbuf_finish(&b), 28, "appends: length");
	is_str(mem, "n=0,18446744073709551615|p-3", "appends: bytes, NUL terminated");

	fresh(&b, 32);
	bbuf_hex(&b, "\x00\xab\xff", 3);
	bbuf_put(&b, " ", 1);
	bbuf_base64(&b, "foob", 4);
	is_int(bbuf_finish(&b), 15, "hex and base64: length");
	is_str(mem, "00abff Zm9vYg==", "hex and base64: bytes");

	/* Longer than the encoders' stack chunks. */
	{
		static char big[512];
		static uint8_t src[200];
		struct bbuf g;
		for (size_t i = 0; i < sizeof src; i++)
			src[i] = (uint8_t)i;
		bbuf_init(&g, big, sizeof big);
		bbuf_base64(&g, src, sizeof src);
		ok(bbuf_finish(&g) == 268 && memcmp(big + 260, "w8TFxsc=", 8) == 0 &&
		   strncmp(big, "AAECAwQF", 8) == 0, "base64 across chunks");
		bbuf_init(&g, big, sizeof big);
		bbuf_hex(&g, src, sizeof src);
		ok(bbuf_finish(&g) == 400 && strncmp(big + 396, "c6c7", 4) == 0, "hex across chunks");
	}
}

static void test_overflow(void)
{
	struct bbuf b;

	/* Exactly full: fits, no room for the NUL, still a success. */
	fresh(&b, 4);
	bbuf_str(&b, "abcd");
	is_int(bbuf_finish(&b), 4, "exactly full is not an overflow");
	ok(memcmp(mem, "abcd", 4) == 0 && guard_intact(4), "exactly full: no NUL past cap");

	/* One byte too many: the append is dropped whole, and sticks. */
	fresh(&b, 4);
	bbuf_str(&b, "ab");
	bbuf_str(&b, "cde");
	ok(b.overflow && b.len == 2, "an append that does not fit is dropped whole");
	bbuf_str(&b, "x");
	ok(b.len == 2, "after an overflow even a small append is dropped");
	is_int(bbuf_finish(&b), -ENOSPC, "overflow: finish says ENOSPC");
	ok(guard_intact(4), "overflow: nothing written past cap");

	static const struct { const char *what; size_t cap; } caps[] = {
		{ "hex", 5 }, { "base64", 7 }, { "u64", 3 }, { "printf", 4 },
	};
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		fresh(&b, caps[i].cap);
		switch (i) {
		case 0: bbuf_hex(&b, "\x01\x02\x03", 3); break;        /* needs 6 */
		case 1: bbuf_base64(&b, "foob", 4); break;             /* needs 8 */
		case 2: bbuf_u64(&b, 1234); break;                     /* needs 4 */
		case 3: bbuf_printf(&b, "%s", "abcd"); break;          /* needs 4 + NUL */
		}
		ok(b.overflow && b.len == 0 && guard_intact(caps[i].cap),
		   "%s: overflow, nothing half written, nothing past cap", caps[i].what);
	}
	fresh(&b, 5);
	bbuf_printf(&b, "%s", "abcd");
	is_int(bbuf_finish(&b), 4, "printf with room for its NUL fits");

	fresh(&b, 0);
	bbuf_put(&b, "", 0);
	is_int(bbuf_finish(&b), 0, "cap 0: an empty append is fine");
	bbuf_put(&b, "a", 1);
	is_int(bbuf_finish(&b), -ENOSPC, "cap 0: one byte overflows");
	ok(guard_intact(0), "cap 0: nothing written");

	fresh(&b, 8);
	bbuf_hex(&b, mem, SIZE_MAX / 2 + 1);
	ok(b.overflow && guard_intact(8), "hex of a length whose encoding overflows size_t");
}

static void test_jsonw_on_bbuf(void)
{
	char buf[128];
	struct jsonw w;

	jw_init(&w, buf, sizeof buf);
	jw_object_begin(&w);
	jw_key(&w, "log");
	jw_raw(&w, "[{\"a\":1}]", 9);
	jw_key(&w, "q");
	jw_base64(&w, "fo", 2);
	jw_key(&w, "min");
	jw_i64(&w, INT64_MIN);
	jw_object_end(&w);
	is_int(jw_finish(&w), 55, "jsonw: raw, base64, INT64_MIN");
	is_str(buf, "{\"log\":[{\"a\":1}],\"q\":\"Zm8=\",\"min\":-9223372036854775808}",
	       "jsonw: exact bytes");

	/* A full buffer is reported as ENOSPC even when a misuse follows. */
	jw_init(&w, buf, 4);
	jw_array_begin(&w);
	jw_string(&w, "long");
	jw_key(&w, "k");
	is_int(jw_finish(&w), -ENOSPC, "jsonw: the first error (ENOSPC) sticks");

	/* ...and a misuse before a full buffer stays EINVAL. */
	jw_init(&w, buf, 4);
	jw_array_begin(&w);
	jw_key(&w, "k");
	jw_string(&w, "long");
	is_int(jw_finish(&w), -EINVAL, "jsonw: the first error (EINVAL) sticks");
}

int main(void)
{
	test_appends();
	test_overflow();
	test_jsonw_on_bbuf();
	return tap_done();
}
