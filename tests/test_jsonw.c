/* tests/test_jsonw.c: the JSON writer. */
#include "lib/jsonw.h"
#include "lib/hex.h"
#include "tests/tap.h"

#include <errno.h>

int main(void)
{
	char buf[256];
	struct jsonw w;

	jw_init(&w, buf, sizeof buf);
	jw_object_begin(&w);
	jw_key(&w, "status"); jw_string(&w, "ok");
	jw_key(&w, "n"); jw_u64(&w, 42);
	jw_key(&w, "neg"); jw_i64(&w, -7);
	jw_key(&w, "list"); jw_array_begin(&w);
	jw_bool(&w, true); jw_null(&w); jw_string(&w, "a\"b\\c\n\x01");
	jw_array_end(&w);
	jw_key(&w, "hex"); jw_hex(&w, "\x00\xff", 2);
	jw_object_end(&w);
	long n = jw_finish(&w);
	ok(n > 0, "object writes");
	is_str(buf, "{\"status\":\"ok\",\"n\":42,\"neg\":-7,\"list\":[true,null,\"a\\\"b\\\\c\\n\\u0001\"],\"hex\":\"00ff\"}",
	       "exact bytes");

	jw_init(&w, buf, 8);
	jw_object_begin(&w); jw_key(&w, "long-key"); jw_u64(&w, 1); jw_object_end(&w);
	is_int(jw_finish(&w), -ENOSPC, "full buffer reports ENOSPC");

	jw_init(&w, buf, sizeof buf);
	jw_object_begin(&w); jw_u64(&w, 1); jw_object_end(&w);
	is_int(jw_finish(&w), -EINVAL, "value without key is refused");

	jw_init(&w, buf, sizeof buf);
	jw_array_begin(&w); jw_key(&w, "k");
	is_int(jw_finish(&w), -EINVAL, "key in array is refused");

	jw_init(&w, buf, sizeof buf);
	jw_object_begin(&w);
	is_int(jw_finish(&w), -EINVAL, "unclosed object is refused");

	jw_init(&w, buf, sizeof buf);
	for (int i = 0; i < JW_MAX_DEPTH + 2; i++)
		jw_array_begin(&w);
	is_int(jw_finish(&w), -EINVAL, "nesting beyond JW_MAX_DEPTH is refused");

	jw_init(&w, buf, sizeof buf);
	jw_u64(&w, 1); jw_u64(&w, 2);
	is_int(jw_finish(&w), -EINVAL, "two top-level values are refused");

	unsigned char bytes[4];
	is_int(hex_decode(bytes, sizeof bytes, "00fFa1", 6), 3, "hex decodes either case");
	ok(bytes[1] == 0xff && bytes[2] == 0xa1, "hex bytes");
	is_int(hex_decode(bytes, sizeof bytes, "abc", 3), -1, "odd hex length is refused");
	is_int(hex_decode(bytes, sizeof bytes, "zz", 2), -1, "non-hex digit is refused");
	is_int(hex_decode(bytes, 1, "0000", 4), -1, "hex longer than the buffer is refused");
	char out[9];
	hex_encode(out, "\x01\xab\xcd\xef", 4);
	is_str(out, "01abcdef", "hex encodes lowercase");
	return tap_done();
}
