/* tests/test_fn_result.c: a worker's RESULT payload checked and turned
 * into the HTTP reply's parts (lib/fn_result): the seed service's body
 * rules, header filtering and injection, and every refusal. */
#include "lib/bbuf.h"
#include "lib/errbuf.h"
#include "lib/fn_result.h"
#include "tests/tap.h"

#include <errno.h>
#include <string.h>

static jsmntok_t toks[256];
static char buf[4096];
static char err[ERRBUF_LEN];
static struct fn_reply rep;

static int parse(const char *js)
{
	err[0] = '\0';
	return fn_result_parse(js, strlen(js), toks, 256, buf, FN_REPLY_BUF(strlen(js)),
			       &rep, err, sizeof err);
}

static int body_is(const char *want)
{
	return rep.body_len == strlen(want) && memcmp(rep.body, want, rep.body_len) == 0;
}

static void test_bodies(void)
{
	is_int(parse("{\"statusCode\":200,\"headers\":{},\"body\":{\"a\":[1,2]}}"), 0, "object body");
	is_int(rep.status, 200, "status");
	ok(body_is("{\"a\":[1,2]}"), "the object's JSON text");
	is_str(rep.content_type, "application/json; charset=utf-8", "as JSON");
	is_int(rep.headers_len, 0, "no headers");

	is_int(parse("{\"statusCode\":201,\"headers\":{},\"body\":\"a\\n\\u00e9\\\"<b>\"}"), 0, "string body");
	ok(body_is("a\n\xc3\xa9\"<b>"), "sent as is: decoded, not JSON-quoted");
	is_str(rep.content_type, "text/html; charset=utf-8", "Express's default type for a string");

	is_int(parse("{\"statusCode\":200,\"headers\":{},\"body\":[]}"), 0, "array body");
	ok(body_is("[]"), "its JSON text");
	is_int(parse("{\"statusCode\":200,\"headers\":{},\"body\":42}"), 0, "number body");
	ok(body_is("42") && strcmp(rep.content_type, "application/json; charset=utf-8") == 0,
	   "a number is JSON text, not a status code");
	is_int(parse("{\"statusCode\":200,\"headers\":{},\"body\":false}"), 0, "boolean body");
	ok(body_is("false"), "its JSON text");
	is_int(parse("{\"statusCode\":204,\"headers\":{}}"), 0, "no body");
	ok(rep.body_len == 0 && rep.content_type == NULL, "empty, no Content-Type");
	is_int(parse("{\"body\":null,\"headers\":{},\"statusCode\":200}"), 0, "null body, any member order");
	ok(rep.body_len == 0 && rep.content_type == NULL, "empty, no Content-Type");
	is_int(parse("{\"statusCode\":200,\"headers\":{},\"body\":\"\\u0000x\"}"), 0,
	       "a string body with a NUL");
	ok(rep.body_len == 2 && rep.body[0] == 0 && rep.body[1] == 'x', "kept, length counted");
	is_int(parse(" {\"statusCode\":599,\"headers\":{}} \n"), 0, "599, whitespace around");
	is_int(parse("{\"statusCode\":100,\"headers\":{}}"), 0, "100");
}

static void test_headers(void)
{
	is_int(parse("{\"statusCode\":200,\"headers\":{\"X-A\":\"1\",\"content-type\":\"text/plain\","
		     "\"Set-Cookie\":\"a=b; Path=/\\t\"},\"body\":\"hi\"}"), 0, "headers");
	is_str(rep.headers, "X-A: 1\r\ncontent-type: text/plain\r\nSet-Cookie: a=b; Path=/\t\r\n",
	       "as lines, in order, tab kept");
	is_int(rep.nheaders, 3, "three kept");
	ok(rep.content_type == NULL && body_is("hi"), "the function's Content-Type replaces the default");

	is_int(parse("{\"statusCode\":200,\"headers\":{\"Connection\":\"close\",\"Transfer-Encoding\":\"chunked\","
		     "\"content-length\":\"9\",\"X-DShield-Invocation-Id\":\"forged\",\"x-dshield-duration-ms\":\"0\","
		     "\"Keep-Alive\":\"1\",\"Upgrade\":\"h2c\",\"TE\":\"x\",\"Trailer\":\"x\",\"Proxy-Connection\":\"x\","
		     "\"Proxy-Authenticate\":\"x\",\"Proxy-Authorization\":\"x\",\"Cache-Control\":\"public\","
		     "\"X-DShield\":\"kept\",\"Vary\":\"*\"}}"), 0, "hop-by-hop and dshield's headers");
	is_str(rep.headers, "X-DShield: kept\r\nVary: *\r\n", "dropped, the others kept");

	is_int(parse("{\"statusCode\":200,\"headers\":{\"X-A\":\"a\\r\\nSet-Cookie: x\"}}"), -EBADMSG,
	       "CR LF in a value (header injection)");
	is_str(err, "a header value has a control byte", "the reason");
	is_int(parse("{\"statusCode\":200,\"headers\":{\"X-A\":\"a\\u007f\"}}"), -EBADMSG, "DEL in a value");
	is_int(parse("{\"statusCode\":200,\"headers\":{\"X A\":\"1\"}}"), -EBADMSG, "a space in a name");
	is_int(parse("{\"statusCode\":200,\"headers\":{\"X:A\":\"1\"}}"), -EBADMSG, "a colon in a name");
	is_int(parse("{\"statusCode\":200,\"headers\":{\"X\\r\\nA\":\"1\"}}"), -EBADMSG, "CR LF in a name");
	is_int(parse("{\"statusCode\":200,\"headers\":{\"\":\"1\"}}"), -EBADMSG, "an empty name");
	is_int(parse("{\"statusCode\":200,\"headers\":{\"X-A\":1}}"), -EBADMSG, "a number value");
	is_str(err, "a header value is not a string", "the reason");
	is_int(parse("{\"statusCode\":200,\"headers\":{\"X-A\":[\"1\"]}}"), -EBADMSG, "an array value");
	is_int(parse("{\"statusCode\":200,\"headers\":[]}"), -EBADMSG, "headers not an object");
	is_int(parse("{\"statusCode\":200,\"headers\":{\"X-A\":\"\\ud800\"}}"), -EBADMSG, "a lone surrogate");

	/* Lengths at the bounds. */
	static char js[FN_HEADER_VALUE_MAX + 128], big[FN_HEADER_VALUE_MAX + 8];
	static jsmntok_t t[8];
	static char out[FN_REPLY_BUF(sizeof js)];
	memset(big, 'v', sizeof big);
	big[FN_HEADER_VALUE_MAX] = '\0';
	snprintf(js, sizeof js, "{\"statusCode\":200,\"headers\":{\"X\":\"%s\"}}", big);
	is_int(fn_result_parse(js, strlen(js), t, 8, out, sizeof out, &rep, err, sizeof err), 0,
	       "a value of FN_HEADER_VALUE_MAX bytes");
	big[FN_HEADER_VALUE_MAX] = 'v';
	big[FN_HEADER_VALUE_MAX + 1] = '\0';
	snprintf(js, sizeof js, "{\"statusCode\":200,\"headers\":{\"X\":\"%s\"}}", big);
	is_int(fn_result_parse(js, strlen(js), t, 8, out, sizeof out, &rep, err, sizeof err), -EBADMSG,
	       "one byte more");
	memset(big, 'n', FN_HEADER_NAME_MAX + 1);
	big[FN_HEADER_NAME_MAX + 1] = '\0';
	snprintf(js, sizeof js, "{\"statusCode\":200,\"headers\":{\"%s\":\"v\"}}", big);
	is_int(fn_result_parse(js, strlen(js), t, 8, out, sizeof out, &rep, err, sizeof err), -EBADMSG,
	       "a name of FN_HEADER_NAME_MAX + 1 bytes");

	/* FN_REPLY_MAX_HEADERS kept, one more refused; dropped ones do not count. */
	static char many[8192];
	static jsmntok_t mt[512];
	struct bbuf b;
	for (int extra = 0; extra < 2; extra++) {
		bbuf_init(&b, many, sizeof many);
		bbuf_str(&b, "{\"statusCode\":200,\"headers\":{\"Connection\":\"x\"");
		for (int k = 0; k < FN_REPLY_MAX_HEADERS + extra; k++)
			bbuf_printf(&b, ",\"X-%d\":\"%d\"", k, k);
		bbuf_str(&b, "}}");
		long n = bbuf_finish(&b);
		int rc = fn_result_parse(many, (size_t)n, mt, 512, out, sizeof out, &rep, err, sizeof err);
		if (extra)
			is_int(rc, -EBADMSG, "%d headers: refused", FN_REPLY_MAX_HEADERS + 1);
		else
			ok(rc == 0 && rep.nheaders == FN_REPLY_MAX_HEADERS, "%d headers kept",
			   FN_REPLY_MAX_HEADERS);
	}
}

static void test_refusals(void)
{
	static const char *const bad[] = {
		"", "[]", "\"x\"", "null", "{}",
		"{\"statusCode\":200}",
		"{\"headers\":{}}",
		"{\"statusCode\":99,\"headers\":{}}",
		"{\"statusCode\":600,\"headers\":{}}",
		"{\"statusCode\":-200,\"headers\":{}}",
		"{\"statusCode\":200.0,\"headers\":{}}",
		"{\"statusCode\":2e2,\"headers\":{}}",
		"{\"statusCode\":\"200\",\"headers\":{}}",
		"{\"statusCode\":0200,\"headers\":{}}",
		"{\"statusCode\":200,\"headers\":{},\"extra\":1}",
		"{\"statusCode\":200,\"statusCode\":201,\"headers\":{}}",
		"{\"statusCode\":200,\"headers\":{},\"body\":1,\"body\":2}",
		"{\"statusCode\":200,\"headers\":{}} x",
		"{\"statusCode\":200,\"headers\":{}}{}",
		"{\"statusCode\":200,\"headers\":{},\"body\":[1,]}",
		"{\"statusCode\":200,\"headers\":{},\"body\":01}",
		"{\"statusCode\":200 \"headers\":{}}",
		"{\"statusCode\":200,\"headers\":{},\"body\":\"a\tb\"}",
		"{\"statusCode\":200,\"headers\":{},\"body\":\"\\x\"}",
		"{\"statusCode\":200,\"headers\":{},\"body\":\"\\udc00\"}",
		"{\"statusCode\":200,\"headers\":{},\"body\":tru}",
	};
	int all = 1;
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		int rc = parse(bad[k]);
		if (rc != -EBADMSG || !err[0]) {
			all = 0;
			diag("accepted or no reason: %s (%d)", bad[k], rc);
		}
	}
	ok(all, "%zu malformed results refused with -EBADMSG and a reason",
	   sizeof bad / sizeof bad[0]);
	parse("{\"statusCode\":600,\"headers\":{}}");
	is_str(err, "statusCode is not an integer from 100 to 599", "the status reason");

	/* The top object is depth 0: its body may hold MAX_DEPTH levels. */
	for (int extra = 0; extra < 2; extra++) {
		char deep[300];
		int levels = FN_RESULT_MAX_DEPTH + extra;
		size_t n = (size_t)snprintf(deep, sizeof deep, "{\"statusCode\":200,\"headers\":{},\"body\":");
		for (int k = 0; k < levels; k++)
			deep[n++] = '[';
		for (int k = 0; k < levels; k++)
			deep[n++] = ']';
		deep[n++] = '}';
		deep[n] = '\0';
		is_int(parse(deep), extra ? -EBADMSG : 0, "a body of %d nested arrays: %s", levels,
		       extra ? "refused" : "taken");
	}

	const char *js = "{\"statusCode\":200,\"headers\":{},\"body\":[1,2,3,4,5,6,7,8]}";
	is_int(fn_result_parse(js, strlen(js), toks, 8, buf, sizeof buf, &rep, err, sizeof err),
	       -E2BIG, "more JSON values than tokens: -E2BIG");
	is_int(fn_result_parse(js, strlen(js), toks, 256, buf, 0, &rep, err, sizeof err),
	       -ENOSPC, "no buf: -ENOSPC");
	js = "{\"statusCode\":200,\"headers\":{\"A\":\"b\"},\"body\":\"0123456789\"}";
	is_int(fn_result_parse(js, strlen(js), toks, 256, buf, FN_REPLY_BUF(strlen(js)) - 1,
			       &rep, err, sizeof err), 0,
	       "FN_REPLY_BUF is more than enough (one byte less still works here)");
	is_int(fn_result_parse(js, strlen(js), toks, 256, buf, 8, &rep, err, sizeof err), -ENOSPC,
	       "a string body with no room: -ENOSPC, not a bad string");
}

static long message(const char *js, size_t max)
{
	err[0] = '\0';
	return fn_message_parse(js, strlen(js), toks, 256, buf, FN_REPLY_BUF(strlen(js)), max,
				err, sizeof err);
}

static void test_messages(void)
{
	is_int(message("{\"message\":\"boom \\\"x\\\"\\n\"}", 100), 9, "a message: its decoded length");
	is_str(buf, "boom \"x\"\n", "decoded, NUL terminated");
	is_int(message("{\"message\":\"\"}", 100), 0, "an empty message");
	/* "é€😀" is 2 + 3 + 4 bytes: cuts fall on code point boundaries */
	const char *u = "{\"message\":\"a\\u00e9\\u20ac\\ud83d\\ude00\"}";
	is_int(message(u, 100), 10, "UTF-8 from escapes: 10 bytes");
	is_int(message(u, 9), 6, "max 9: cut before the 4-byte character");
	is_int(message(u, 5), 3, "max 5: cut inside the euro sign falls back before it");
	is_str(buf, "a\xc3\xa9", "what remains is whole characters");
	is_int(message(u, 0), 0, "max 0: empty");
	is_int(message("{\"message\":\"\xff\"}", 100), -EBADMSG, "raw bytes that are not UTF-8");
	is_str(err, "the message is not UTF-8", "the reason");
	is_int(message("{\"message\":\"\xe2\x82\"}", 100), -EBADMSG, "a truncated sequence");

	static const char *const bad[] = {
		"", "\"x\"", "{}", "{\"message\":1}", "{\"message\":null}",
		"{\"msg\":\"x\"}", "{\"message\":\"x\",\"stack\":\"y\"}",
		"{\"message\":\"\\ud800\"}", "{\"message\":\"x\"} {}", "[\"message\"]",
	};
	int all = 1;
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		if (message(bad[k], 100) != -EBADMSG || !err[0]) {
			all = 0;
			diag("accepted or no reason: %s", bad[k]);
		}
	ok(all, "%zu payloads that are not {\"message\": string} refused", sizeof bad / sizeof bad[0]);
	is_int(fn_message_parse("{\"message\":\"abc\"}", 17, toks, 256, buf, 3, 100, err, sizeof err),
	       -ENOSPC, "buf too small: -ENOSPC");
	is_int(fn_message_parse("{\"message\":\"abc\"}", 17, toks, 2, buf, 64, 100, err, sizeof err),
	       -E2BIG, "too few tokens: -E2BIG");
}

int main(void)
{
	test_bodies();
	test_headers();
	test_refusals();
	test_messages();
	return tap_done();
}
