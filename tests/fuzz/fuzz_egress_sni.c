/* tests/fuzz/fuzz_egress_sni.c: libFuzzer target for the ClientHello a
 * function sends on a passthrough connection (net/egress_sni.h). Beyond
 * "no crash":
 *   - a parsed record's length lies within the input, begins with a
 *     handshake record header, and parsing exactly it gives the same
 *     name; a name is 1..255 bytes, NUL terminated, with no NUL inside;
 *   - each shorter prefix of a parsed record is incomplete (0);
 *   - a buffer bound below the record's length is -E2BIG, never a parse;
 *   - every refusal is -EINVAL with a reason. */
#include "net/egress_sni.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRBUF_LEN], name[ESNI_NAME_MAX + 1], again[ESNI_NAME_MAX + 1];
	size_t len, len2;

	err[0] = '\0';
	long r = esni_parse(data, size, 8192, name, &len, err, sizeof err);
	if (r == -EINVAL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (r == -E2BIG || r == 0)
		return 0;
	if (r < 0 || (size_t)r > size || r < 9 || data[0] != 0x16 || len > ESNI_NAME_MAX ||
	    strlen(name) != len || (len == 0 && name[0] != '\0'))
		abort();
	if (esni_parse(data, (size_t)r, 8192, again, &len2, err, sizeof err) != r || len2 != len ||
	    memcmp(name, again, len) != 0)
		abort();
	for (size_t k = (size_t)r - 1; k + 8 >= (size_t)r && k > 0; k--)
		if (esni_parse(data, k, 8192, again, &len2, err, sizeof err) != 0)
			abort();
	if (esni_parse(data, (size_t)r, (size_t)r - 1, again, &len2, err, sizeof err) != -E2BIG)
		abort();
	return 0;
}
