/* init/kms.c: see kms.h. */
#include <errno.h>
#include <string.h>

#include <bearssl.h>

#include "crypto/key_wrap.h"
#include "init/kms.h"
#include "crypto/p256.h"
#include "lib/errbuf.h"
#include "lib/random.h"

_Static_assert(sizeof ((struct policy_store *)0)->kms_host <= NETD_KMS_HOST_MAX, "the host fits");
_Static_assert(sizeof ((struct policy_store *)0)->kms_path <= NETD_KMS_PATH_MAX, "the path fits");
_Static_assert(POLICY_KMS_KEY_LEN == KW_PUB_LEN, "one KMS key size");

int kms_exchange_begin(struct kms_exchange *x, const struct policy_store *ps,
		       struct keyd_kms_req_msg *kreq, struct netd_kms_req_msg *nreq,
		       char *err, size_t errlen)
{
	br_ec_private_key sk;

	memset(kreq, 0, sizeof *kreq);
	memset(nreq, 0, sizeof *nreq);
	if (ps->provider != POLICY_KP_KMS)
		return errbuf_set(err, errlen, -EINVAL, "the policy's key provider is not kms");
	if (p256_keygen(x->eph_priv, &sk) < 0 || key_wrap_pub(x->eph_pub, x->eph_priv) < 0 ||
	    random_fill(x->nonce, sizeof x->nonce) < 0) {
		kms_exchange_wipe(x);
		return errbuf_set(err, errlen, -EIO, "no ephemeral key or nonce (getrandom)");
	}
	memcpy(x->kms_pub, ps->kms_public_key, sizeof x->kms_pub);
	memcpy(kreq->eph_pub, x->eph_pub, sizeof kreq->eph_pub);
	memcpy(kreq->kms_pub, x->kms_pub, sizeof kreq->kms_pub);
	memcpy(kreq->nonce, x->nonce, sizeof kreq->nonce);
	memcpy(nreq->host, ps->kms_host, sizeof ps->kms_host);
	memcpy(nreq->path, ps->kms_path, sizeof ps->kms_path);
	nreq->port = ps->kms_port;
	nreq->tls = ps->kms_tls;
	nreq->has_pin = ps->kms_tls && ps->kms_has_tls_pin;
	if (nreq->has_pin)
		memcpy(nreq->spki_sha256, ps->kms_tls_spki_sha256, sizeof nreq->spki_sha256);
	return 0;
}

int kms_exchange_open(const struct kms_exchange *x, const struct netd_kms_reply_msg *rep,
		      uint8_t key[KW_KEY_LEN], char *err, size_t errlen)
{
	uint8_t ctx[KW_CTX_LEN];
	struct kw_binding b = { x->eph_pub, x->kms_pub, x->nonce, ctx };
	char why[ERRBUF_LEN];
	int r;

	memset(key, 0, KW_KEY_LEN);
	if (rep->error != 0)
		return errbuf_set(err, errlen, rep->error < 0 ? rep->error : -EPROTO, "%.*s",
				  (int)strnlen(rep->reason, sizeof rep->reason), rep->reason);
	if (rep->freshness_len > NETD_KMS_FRESH_MAX || (!rep->has_freshness && rep->freshness_len))
		return errbuf_set(err, errlen, -EBADMSG, "netd's KMS answer: a freshness length of %u",
				  rep->freshness_len);
	kms_reply_ctx(ctx, rep->freshness, rep->freshness_len);
	r = key_wrap_open(key, rep->wrapped_key, sizeof rep->wrapped_key, &b, x->eph_priv, why,
			  sizeof why);
	if (r < 0)
		return errbuf_set(err, errlen, r, "the KMS's wrapped key: %s", why);
	return 0;
}

void kms_exchange_wipe(struct kms_exchange *x)
{
	explicit_bzero(x, sizeof *x);
}
