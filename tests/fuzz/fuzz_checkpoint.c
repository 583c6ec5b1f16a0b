/* tests/fuzz/fuzz_checkpoint.c: libFuzzer target for crypto/note and
 * crypto/checkpoint.
 *
 * The input is read as a signed note (shape, every signature line) and
 * verified against a fixed key; its text, and the whole input, are parsed
 * as a checkpoint, and a checkpoint accepted must format back to the same
 * bytes (one spelling per checkpoint). The input is also tried as a vkey. */
#include "crypto/checkpoint.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_checkpoint(const char *text, size_t len)
{
	static char out[CHECKPOINT_TEXT_MAX];
	char err[ERRBUF_LEN];
	struct checkpoint c;

	if (checkpoint_parse(text, len, &c, err, sizeof err) != 0)
		return;
	long n = checkpoint_format(out, sizeof out, &c);
	if (n < 0 || (size_t)n != len || memcmp(out, text, len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a fixed vkey: Sigstore Rekor's (any valid key does) */
	static const char vkey[] =
		"rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQX"
		"BogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=";
	const char *note = (const char *)data;
	char err[ERRBUF_LEN];
	static struct note_key k0;
	static int have_k0;
	struct note_key k;
	struct note_reader r;
	static struct note_sig s;
	size_t tl;
	int rc;

	/* parsed once: the curve check costs a scalar multiplication */
	if (!have_k0 && note_key_from_vkey(&k0, vkey, strlen(vkey), err, sizeof err) != 0)
		abort();
	have_k0 = 1;
	if (note_open(note, size, &tl, &r, err, sizeof err) == 0) {
		if (tl == 0 || tl >= size || note[tl] != '\n')
			abort();
		while ((rc = note_next_sig(&r, &s, err, sizeof err)) == 1)
			if (s.sig_len == 0 || s.name_len == 0 || s.sig_len > sizeof s.sig)
				abort();
		check_checkpoint(note, tl);
	}
	rc = note_verify(note, size, &k0, &tl, err, sizeof err);
	if (rc != 0 && rc != -EBADMSG && rc != -ENOKEY)
		abort();
	check_checkpoint(note, size);
	if (note_key_from_vkey(&k, note, size, err, sizeof err) == 0) {
		char out[NOTE_VKEY_MAX];
		long n = note_key_vkey(&k, out, sizeof out);
		if (n < 0 || (size_t)n != size || memcmp(out, note, size) != 0)
			abort();
	}
	return 0;
}
