/* tests/test_base64.c: lib/base64, RFC 4648 §10 vectors and strict decoding. */
#include "lib/base64.h"
#include "tests/tap.h"

#include <errno.h>
#include <string.h>

static const struct { const char *plain, *b64; } rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static long dec(char *out, size_t cap, const char *s)
{
	return base64_decode(out, cap, s, strlen(s));
}

int main(void)
{
	char text[64], bytes[64];

	for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
		const char *p = rfc4648[i].plain, *b = rfc4648[i].b64;
		size_t n = strlen(p);

		memset(text, 'x', sizeof text);
		is_int((long)base64_encode(text, p, n), (long)strlen(b), "encode \"%s\": length", p);
		is_str(text, b, "encode \"%s\"", p);
		ok(BASE64_ENCODED_LEN(n) == strlen(b), "BASE64_ENCODED_LEN(%zu)", n);
		memset(bytes, 'x', sizeof bytes);
		is_int(dec(bytes, sizeof bytes, b), (long)n, "decode \"%s\": length", b);
		ok(memcmp(bytes, p, n) == 0 && bytes[n] == 'x', "decode \"%s\": bytes, nothing past them", b);
		/* Exactly enough room works; one byte less is -ENOSPC. */
		is_int(dec(bytes, n, b), (long)n, "decode \"%s\" into exactly %zu bytes", b, n);
		if (n)
			is_int(dec(bytes, n - 1, b), -ENOSPC, "decode \"%s\" into %zu bytes: ENOSPC", b, n - 1);
	}

	/* Every byte value, through all three tail shapes. */
	{
		unsigned char all[256], back[256];
		char enc[BASE64_ENCODED_LEN(256) + 1];
		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		for (size_t n = 254; n <= 256; n++) {
			size_t e = base64_encode(enc, all, n);
			ok(base64_decode(back, sizeof back, enc, e) == (long)n &&
			   memcmp(back, all, n) == 0, "round trip of bytes 0..%zu", n - 1);
		}
		ok(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
		   strlen(enc), "standard alphabet only");
		ok(strchr(enc, '+') && strchr(enc, '/'), "62 and 63 are '+' and '/'");
	}

	/* Strictness: one accepted spelling per byte string. */
	static const char *const bad[] = {
		"Zg",          /* missing padding */
		"Zg=",         /* length not a multiple of 4 */
		"Zm9vY",       /* length not a multiple of 4 */
		"Zg==Zg==",    /* padding before the end */
		"Z===",        /* three padding characters */
		"====",        /* only padding */
		"Zh==",        /* non-zero bits under "==" */
		"Zm9=",        /* non-zero bits under "=" */
		"Zm=v",        /* data after padding */
		"Zm9v\n",      /* whitespace */
		"Zm 9",        /* whitespace */
		"Zm-_",        /* URL-safe alphabet */
		"Zm9\x80",     /* a byte outside ASCII */
		"Zm\0v",       /* a NUL inside */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = i == sizeof bad / sizeof bad[0] - 1 ? 4 : strlen(bad[i]);
		is_int(base64_decode(bytes, sizeof bytes, bad[i], len), -EINVAL,
		       "refused: bad input #%zu", i);
	}
	is_int(dec(bytes, 0, ""), 0, "empty input into no room: 0");
	is_int(dec(NULL, 0, "Zg=="), -ENOSPC, "no room at all: ENOSPC, nothing written");
	return tap_done();
}
