/* tests/test_init_kms.c: init/kms.c, init's half of the key provider kms,
 * against the KMS's own sealing (crypto/key_wrap key_wrap_seal, the
 * context of cli/kms_proto kms_reply_ctx) with the reply carried through
 * netd's reduction (net/kms_client kms_reply_parse): the disk key opens;
 * another KMS, a changed freshness record, another nonce, a refusal or a
 * length out of bounds do not, and leave the key zeroed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/kms_proto.h"
#include "init/kms.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "net/kms_client.h"
#include "tests/tap.h"

static const uint8_t kms_priv[32] = { 0x21, 0x22, 0x23 };
static const uint8_t other_priv[32] = { 0x31, 0x32, 0x33 };
static const uint8_t kms_eph[32] = { 0x41, 0x42, 0x43 };
static uint8_t disk[KW_KEY_LEN];
static char body[4096];

/* The KMS's 200 reply to kreq, sealed with static scalar spriv (whose
 * public key is S) and carrying the record (or null), as netd hands it. */
static int kms_answer(struct netd_kms_reply_msg *rep, const struct keyd_kms_req_msg *kreq,
		      const uint8_t spriv[32], const char *record)
{
	uint8_t S[KW_PUB_LEN], ctx[KW_CTX_LEN], blob[KW_BLOB_LEN];
	char b64[256];
	struct kw_binding b = { kreq->eph_pub, S, kreq->nonce, ctx };
	int n;

	if (key_wrap_pub(S, spriv) < 0)
		return -1;
	kms_reply_ctx(ctx, record ? record : "", record ? strlen(record) : 0);
	if (key_wrap_seal(blob, disk, &b, kms_eph, spriv) != KW_BLOB_LEN)
		return -1;
	base64_encode(b64, blob, sizeof blob);
	n = snprintf(body, sizeof body, "{\"version\":1,\"wrapped_key\":\"%s\",\"kms_key\":\"00\","
		     "\"freshness\":%s%s%s}", b64, record ? "\"" : "", record ? record : "null",
		     record ? "\"" : "");
	return kms_reply_parse(rep, 200, body, (size_t)n);
}

int main(void)
{
	struct policy_store ps;
	struct kms_exchange x;
	struct keyd_kms_req_msg kreq;
	struct netd_kms_req_msg nreq;
	struct netd_kms_reply_msg rep;
	uint8_t key[KW_KEY_LEN], zero[KW_KEY_LEN] = { 0 };
	char err[ERRBUF_LEN] = "";

	for (size_t i = 0; i < sizeof disk; i++)
		disk[i] = (uint8_t)(0xa0 ^ i);
	memset(&ps, 0, sizeof ps);
	ps.provider = POLICY_KP_DEV;
	is_int(kms_exchange_begin(&x, &ps, &kreq, &nreq, err, sizeof err), -EINVAL,
	       "a dev policy: -EINVAL (%s)", err);
	ps.provider = POLICY_KP_KMS;
	snprintf(ps.kms_host, sizeof ps.kms_host, "kms.example");
	snprintf(ps.kms_path, sizeof ps.kms_path, "/v1/keys");
	ps.kms_port = 8547;
	ok(key_wrap_pub(ps.kms_public_key, kms_priv) == 0, "(the pinned KMS key)");
	is_int(kms_exchange_begin(&x, &ps, &kreq, &nreq, err, sizeof err), 0, "begin: 0");
	ok(memcmp(kreq.eph_pub, x.eph_pub, 65) == 0 && key_wrap_point_ok(kreq.eph_pub) &&
	   memcmp(kreq.kms_pub, ps.kms_public_key, 65) == 0 && memcmp(kreq.nonce, x.nonce, 32) == 0,
	   "  keyd's request: R on the curve, the pinned S, N");
	ok(strcmp(nreq.host, "kms.example") == 0 && strcmp(nreq.path, "/v1/keys") == 0 &&
	   nreq.port == 8547, "  netd's: the policy's host, port and path");

	err[0] = '\0';
	ok(kms_answer(&rep, &kreq, kms_priv, NULL) == 0 &&
	   kms_exchange_open(&x, &rep, key, err, sizeof err) == 0 && memcmp(key, disk, 64) == 0,
	   "the pinned KMS's reply opens to the disk key (%s)", err);
	ok(kms_answer(&rep, &kreq, kms_priv, "record 12") == 0 &&
	   kms_exchange_open(&x, &rep, key, err, sizeof err) == 0 && memcmp(key, disk, 64) == 0,
	   "  with a freshness record too");
	rep.freshness[4] = '3';
	is_int(kms_exchange_open(&x, &rep, key, err, sizeof err), -EBADMSG,
	       "a changed freshness record: -EBADMSG (%s)", err);
	ok(memcmp(key, zero, 64) == 0, "  the key is zeroed");
	ok(kms_answer(&rep, &kreq, other_priv, NULL) == 0, "(a reply by another KMS)");
	is_int(kms_exchange_open(&x, &rep, key, err, sizeof err), -EBADMSG,
	       "another KMS's reply: -EBADMSG (%s)", err);
	ok(memcmp(key, zero, 64) == 0, "  the key is zeroed");
	kreq.nonce[0] ^= 1;
	ok(kms_answer(&rep, &kreq, kms_priv, NULL) == 0 &&
	   kms_exchange_open(&x, &rep, key, err, sizeof err) == -EBADMSG,
	   "a reply to another nonce: -EBADMSG");
	kreq.nonce[0] ^= 1;

	kms_answer(&rep, &kreq, kms_priv, NULL);
	rep.freshness_len = NETD_KMS_FRESH_MAX + 1;
	rep.has_freshness = 1;
	is_int(kms_exchange_open(&x, &rep, key, err, sizeof err), -EBADMSG,
	       "a freshness length beyond the bound: -EBADMSG (%s)", err);
	rep.freshness_len = 3;
	rep.has_freshness = 0;
	is_int(kms_exchange_open(&x, &rep, key, err, sizeof err), -EBADMSG,
	       "a length without a record: -EBADMSG");
	{
		static const char refusal[] = "{\"error\":{\"code\":\"measurements\",\"message\":\"no\"}}";
		kms_reply_parse(&rep, 403, refusal, sizeof refusal - 1);
	}
	is_int(kms_exchange_open(&x, &rep, key, err, sizeof err), -EACCES, "a refusal: its errno");
	is_str(err, "KMS refused (HTTP 403, measurements): no", "  and netd's reason");

	kms_exchange_wipe(&x);
	ok(x.eph_priv[0] == 0 && memcmp(x.eph_priv, x.eph_priv + 1, 31) == 0, "wiped");
	return tap_done();
}
