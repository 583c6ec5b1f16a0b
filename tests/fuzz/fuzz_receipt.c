/* tests/fuzz/fuzz_receipt.c: libFuzzer target for crypto/receipt.
 *
 * The input is parsed as a receipt text (an accepted one must format
 * back to the same bytes: one spelling per receipt) and opened as a
 * signed receipt against a fixed key (no crash, nothing accepted without
 * a signature that verifies, which random bytes never carry). */
#include "crypto/receipt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char vkey[] =
		"rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQX"
		"BogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=";
	static struct note_key k;
	static char out[RECEIPT_TEXT_MAX];
	static int have_key;
	char err[ERRBUF_LEN];
	struct receipt r;

	if (!have_key) {
		if (note_key_from_vkey(&k, vkey, strlen(vkey), err, sizeof err) != 0)
			abort();
		have_key = 1;
	}
	if (receipt_parse((const char *)data, size, &r, err, sizeof err) == 0) {
		long n = receipt_format(out, sizeof out, &r);
		if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
			abort();
	}
	if (receipt_open((const char *)data, size, &k, &r, err, sizeof err) == 0)
		abort();   /* no Rekor signature over a receipt exists */
	return 0;
}
