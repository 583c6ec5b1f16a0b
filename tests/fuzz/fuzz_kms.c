/* tests/fuzz/fuzz_kms.c: libFuzzer target for the parsers of `dshield kms`
 * (cli/kms_proto.c): the input is read as a key request, a freshness
 * request, a freshness note, a measurements file, an RTMR3 event log and
 * an instance record; an accepted instance record must format and parse
 * back to the same record. */
#include "cli/kms_proto.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static jsmntok_t toks[KMS_TOKENS];
	static struct kms_instance in, back;
	static char rec[KMS_RECORD_MAX + 1], out[8192];
	const char *s = (const char *)data;
	char err[ERRBUF_LEN];
	struct kms_key_req r;
	struct kms_fresh f;
	struct kms_allow a;
	const char *code;
	long n;

	if (kms_key_req_parse(&r, s, size, toks, KMS_TOKENS, err, sizeof err) == 0) {
		if (!kms_id_valid(r.app_id, strlen(r.app_id)) ||
		    !kms_id_valid(r.instance_id, strlen(r.instance_id)) || r.eph_pub[0] != 4 ||
		    (r.collateral && (r.collateral < s || r.collateral + r.collateral_len > s + size)))
			abort();
	} else {
		memset(&r, 0, sizeof r);
		strcpy(r.app_id, "shop");
		strcpy(r.instance_id, "00112233445566778899aabbccddeeff");
	}
	/* the input as the request's event log */
	if (kms_log_binds(s, size, &r, &code, err, sizeof err) < 0 && code == NULL)
		abort();
	n = kms_fresh_req_parse(rec, s, size, toks, KMS_TOKENS, err, sizeof err);
	if (n > KMS_RECORD_MAX || n == 0)
		abort();
	if (kms_fresh_peek(&f, s, size, err, sizeof err) == 0 &&
	    !kms_id_valid(f.instance_id, strlen(f.instance_id)))
		abort();
	(void)kms_allow_parse(&a, s, size, toks, KMS_TOKENS, err, sizeof err);
	if (kms_instance_parse(&in, s, size, toks, KMS_TOKENS, err, sizeof err) == 0) {
		n = kms_instance_format(out, sizeof out, &in);
		if (n < 0 ||
		    kms_instance_parse(&back, out, (size_t)n, toks, KMS_TOKENS, err, sizeof err) != 0 ||
		    strcmp(back.app_id, in.app_id) != 0 || strcmp(back.log_key, in.log_key) != 0 ||
		    back.record_len != in.record_len || back.releases != in.releases ||
		    memcmp(back.record, in.record, in.record_len) != 0)
			abort();
	}
	return 0;
}
