/* tests/fuzz/fuzz_kms_reply.c: libFuzzer target for net/kms_client.c
 * kms_reply_parse (a KMS reply as netd receives it from the network):
 * the first two bytes pick the HTTP status, the rest is the body. Checks:
 * the reason is always NUL terminated and printable; a failure leaves no
 * key or record; a success is a 200 with a record within its bound. The
 * whole input is also an HTTP answer for kms_http (split at its first
 * byte's value): a complete one has a status and a body within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/kms_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct netd_kms_reply_msg zero;
	static struct netd_kms_reply_msg r;
	unsigned status;
	int rc;

	static struct kms_http h;
	char err[256];
	size_t cut;

	if (size < 2)
		return 0;
	cut = data[0] < size ? data[0] : size;
	kms_http_init(&h);
	rc = kms_http_feed(&h, (const char *)data, cut, err, sizeof err);
	if (rc == 0)
		rc = kms_http_feed(&h, (const char *)data + cut, size - cut, err, sizeof err);
	if (rc == 0)
		rc = kms_http_eof(&h, err, sizeof err);
	if (rc == 1 && (h.status < 200 || h.status > 999 || h.len > sizeof h.body))
		abort();
	if (rc == 1)
		kms_reply_parse(&r, h.status, h.body, h.len);
	status = (data[0] & 1) ? 200 : 100u + (unsigned)((data[0] << 8 | data[1]) % 500);
	rc = kms_reply_parse(&r, status, (const char *)data + 2, size - 2);
	if (r.error != rc || memchr(r.reason, '\0', sizeof r.reason) == NULL)
		abort();
	for (const char *p = r.reason; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	if (rc != 0 && (memcmp(r.wrapped_key, zero.wrapped_key, sizeof r.wrapped_key) != 0 ||
			r.has_freshness || r.freshness_len != 0))
		abort();
	if (rc == 0 && (status != 200 || r.freshness_len > NETD_KMS_FRESH_MAX ||
			(!r.has_freshness && r.freshness_len != 0)))
		abort();
	return 0;
}
