/* examples/functions/hello-native.c: a native function (docs/FUNCTIONS.md):
 * one static x86-64 program, run once per invocation with the request
 * body on stdin; what it writes to stdout is the response body.
 *
 * It replies {"message":"hello","input":"<the body, as a JSON string>",
 * "bytes":N}. Build (the Makefile does: build/examples/hello-native):
 *
 *   musl-gcc -static -O2 -o hello-native examples/functions/hello-native.c
 *
 * Deploy the binary itself, base64-encoded, with runtime "native".
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#define BODY_MAX (64 * 1024)	/* netd accepts no larger request body */

/* Writes s[0..n) as the contents of a JSON string (RFC 8259 escapes). */
static void put_json_chars(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
}

int main(void)
{
	static unsigned char body[BODY_MAX];
	size_t len = 0;

	while (len < sizeof body) {
		ssize_t r = read(0, body + len, sizeof body - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perror("hello-native: reading stdin");	/* stderr: the function's log */
			return 1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	printf("{\"message\":\"hello\",\"input\":\"");
	put_json_chars(body, len);
	printf("\",\"bytes\":%zu}\n", len);
	return fflush(stdout) == 0 ? 0 : 1;
}
