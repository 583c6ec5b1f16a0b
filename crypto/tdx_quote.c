/* crypto/tdx_quote.c: bounded TDX quote parser (see tdx_quote.h). */
#include "crypto/tdx_quote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/bytes.h"

/* A cursor over the quote: every take checks the remaining bytes first, so
 * the first short read sets a precise error and later reads are no-ops. */
struct cur {
	const uint8_t *buf;
	size_t len;
	size_t off;
	int err;
	char *msg;
	size_t msglen;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct cur *c, int err, const char *fmt, ...)
{
	va_list ap;
	if (c->err)
		return c->err;
	c->err = err;
	if (c->msglen) {
		int n = snprintf(c->msg, c->msglen, "quote: ");
		if (n < 0 || (size_t)n >= c->msglen)
			n = 0;
		va_start(ap, fmt);
		vsnprintf(c->msg + n, c->msglen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return err;
}

static size_t remaining(const struct cur *c)
{
	return c->len - c->off;
}

/* Returns a pointer to the next n bytes and advances, or NULL. */
static const uint8_t *take(struct cur *c, size_t n, const char *what)
{
	const uint8_t *p;
	if (c->err)
		return NULL;
	if (n > remaining(c)) {
		fail(c, -EINVAL, "%s length %zu exceeds remaining %zu bytes at offset %zu",
		     what, n, remaining(c), c->off);
		return NULL;
	}
	p = c->buf + c->off;
	c->off += n;
	return p;
}

static uint16_t take16(struct cur *c, const char *what)
{
	const uint8_t *p = take(c, 2, what);
	return p ? le16(p) : 0;
}

static uint32_t take32(struct cur *c, const char *what)
{
	const uint8_t *p = take(c, 4, what);
	return p ? le32(p) : 0;
}

static int parse_header(struct cur *c, struct tdx_quote *q)
{
	const uint8_t *h = take(c, TDX_QUOTE_HEADER_LEN, "header");
	if (!h)
		return c->err;
	q->version = le16(h);
	q->att_key_type = le16(h + 2);
	q->tee_type = le32(h + 4);
	q->qe_svn = le16(h + 8);
	q->pce_svn = le16(h + 10);
	q->qe_vendor_id = h + 12;
	q->user_data = h + 28;
	if (q->tee_type == TDX_TEE_TYPE_SGX && q->version >= 3 && q->version <= 5)
		return fail(c, -EPROTONOSUPPORT,
			    "TEE type 0x%08x is SGX (quote version %u), not TDX: this verifier only accepts TDX quotes (TEE type 0x81)",
			    q->tee_type, q->version);
	if (q->version != 4 && q->version != 5)
		return fail(c, -EPROTONOSUPPORT, "unsupported quote version %u (TDX quotes 4 and 5 are supported)",
			    q->version);
	if (q->tee_type != TDX_TEE_TYPE_TDX)
		return fail(c, -EPROTONOSUPPORT, "unknown TEE type 0x%08x (TDX is 0x81)", q->tee_type);
	if (q->att_key_type != TDX_ATT_KEY_ECDSA_P256)
		return fail(c, -EPROTONOSUPPORT,
			    "unsupported attestation key type %u (2 = ECDSA P-256 is supported)",
			    q->att_key_type);
	return 0;
}

static int parse_body(struct cur *c, struct tdx_quote *q)
{
	const uint8_t *b;
	if (q->version == 4) {
		q->body_type = TDX_BODY_TYPE_TDX10;
		q->body_len = TDX_BODY_V10_LEN;
	} else {
		size_t at = c->off;
		q->body_type = take16(c, "body descriptor type");
		q->body_len = take32(c, "body descriptor size");
		if (c->err)
			return c->err;
		if (q->body_type == TDX_BODY_TYPE_TDX10) {
			if (q->body_len != TDX_BODY_V10_LEN)
				return fail(c, -EINVAL, "body type 2 (TDX 1.0) has size %u, expected %u at offset %zu",
					    q->body_len, TDX_BODY_V10_LEN, at);
		} else if (q->body_type == TDX_BODY_TYPE_TDX15) {
			if (q->body_len != TDX_BODY_V15_LEN)
				return fail(c, -EINVAL, "body type 3 (TDX 1.5) has size %u, expected %u at offset %zu",
					    q->body_len, TDX_BODY_V15_LEN, at);
		} else {
			return fail(c, -EPROTONOSUPPORT,
				    "unsupported body type %u at offset %zu (2 = TDX 1.0, 3 = TDX 1.5; 1 would be SGX)",
				    q->body_type, at);
		}
	}
	b = take(c, q->body_len, "TD report body");
	if (!b)
		return c->err;
	q->body = b;
	q->tee_tcb_svn = b + TDX_OFF_TEE_TCB_SVN;
	q->mrseam = b + TDX_OFF_MRSEAM;
	q->mrsignerseam = b + TDX_OFF_MRSIGNERSEAM;
	q->seam_attributes = b + TDX_OFF_SEAM_ATTRIBUTES;
	q->td_attributes = b + TDX_OFF_TD_ATTRIBUTES;
	q->xfam = b + TDX_OFF_XFAM;
	q->mrtd = b + TDX_OFF_MRTD;
	q->mrconfigid = b + TDX_OFF_MRCONFIGID;
	q->mrowner = b + TDX_OFF_MROWNER;
	q->mrownerconfig = b + TDX_OFF_MROWNERCONFIG;
	for (int i = 0; i < 4; i++)
		q->rtmr[i] = b + TDX_OFF_RTMR0 + 48 * i;
	q->report_data = b + TDX_OFF_REPORT_DATA;
	if (q->body_type == TDX_BODY_TYPE_TDX15) {
		q->tee_tcb_svn2 = b + TDX_OFF_TEE_TCB_SVN2;
		q->mr_servicetd = b + TDX_OFF_MR_SERVICETD;
	}
	q->signed_region = c->buf;
	q->signed_len = c->off;
	return 0;
}

/* Certification data type 6: QE report, its signature, QE auth data and
 * the inner certification data (the PCK chain). It must fill its outer
 * size exactly: trailing bytes inside a signed structure are refused. */
static int parse_qe_cert(struct cur *outer, struct tdx_quote *q)
{
	struct cur c = *outer;
	size_t start = outer->off;

	c.len = start + q->cert_len;  /* bounded by the outer take */
	q->qe_report = take(&c, TDX_QE_REPORT_LEN, "QE report");
	q->qe_report_sig = take(&c, TDX_ECDSA_SIG_LEN, "QE report signature");
	q->qe_auth_len = take16(&c, "QE auth data length field");
	q->qe_auth = take(&c, q->qe_auth_len, "QE auth data");
	q->inner_cert_type = take16(&c, "inner certification data type");
	q->inner_cert_len = take32(&c, "inner certification data length field");
	q->inner_cert = take(&c, q->inner_cert_len, "inner certification data");
	if (c.err)
		goto out;
	if (q->inner_cert_type != TDX_CERT_TYPE_PCK_CHAIN)
		fail(&c, -EPROTONOSUPPORT,
		     "inner certification data type %u at offset %zu is not supported (5 = PCK certificate chain)",
		     q->inner_cert_type, tdx_quote_off(q, q->inner_cert) - 6);
	else if (c.off != c.len)
		fail(&c, -EINVAL, "QE certification data has %zu unused bytes at offset %zu",
		     c.len - c.off, c.off);
out:
	outer->err = c.err;
	return c.err;
}

static int parse_sim_cert(struct cur *c, struct tdx_quote *q)
{
	size_t at = c->off;
	if (q->cert_len != TDX_SIM_CERT_LEN)
		return fail(c, -EINVAL, "sim certification data length %u at offset %zu, expected %u",
			    q->cert_len, at, TDX_SIM_CERT_LEN);
	if (memcmp(q->cert_data, TDX_SIM_MAGIC, TDX_SIM_MAGIC_LEN) != 0)
		return fail(c, -EINVAL, "sim certification data at offset %zu lacks the dshield-sim-v1 tag",
			    at);
	q->sim_key = q->cert_data + TDX_SIM_MAGIC_LEN;
	return 0;
}

static int parse_signature_data(struct cur *c, struct tdx_quote *q)
{
	size_t sig_at, cert_at;
	struct cur sc;

	q->sig_data_len = take32(c, "signature data length field");
	if (c->err)
		return c->err;
	sig_at = c->off;
	if (q->sig_data_len > remaining(c))
		return fail(c, -EINVAL, "signature data length %u exceeds remaining %zu bytes at offset %zu",
			    q->sig_data_len, remaining(c), sig_at);
	/* Parse inside the declared signature data only. */
	sc = *c;
	sc.len = sig_at + q->sig_data_len;
	q->signature = take(&sc, TDX_ECDSA_SIG_LEN, "ECDSA signature");
	q->attest_key = take(&sc, TDX_ECDSA_KEY_LEN, "attestation key");
	q->cert_type = take16(&sc, "certification data type");
	q->cert_len = take32(&sc, "certification data length field");
	cert_at = sc.off;
	if (!sc.err && q->cert_len > remaining(&sc))
		fail(&sc, -EINVAL, "certification data length %u exceeds remaining %zu bytes at offset %zu",
		     q->cert_len, remaining(&sc), cert_at);
	if (sc.err)
		goto out;
	q->cert_data = sc.buf + cert_at;
	if (q->cert_type == TDX_CERT_TYPE_QE_REPORT) {
		parse_qe_cert(&sc, q);
	} else if (q->cert_type == TDX_CERT_TYPE_DSHIELD_SIM) {
		parse_sim_cert(&sc, q);
	} else {
		fail(&sc, -EPROTONOSUPPORT,
		     "certification data type %u at offset %zu is not supported (6 = QE report certification data)",
		     q->cert_type, cert_at - 6);
	}
	if (sc.err)
		goto out;
	sc.off = cert_at + q->cert_len;
	if (sc.off != sc.len)
		fail(&sc, -EINVAL, "signature data has %zu unused bytes at offset %zu",
		     sc.len - sc.off, sc.off);
out:
	c->err = sc.err;
	c->off = sc.len;
	return c->err;
}

int tdx_quote_parse(struct tdx_quote *q, const void *buf, size_t len,
		    char *err, size_t errlen)
{
	struct cur c = { .buf = buf, .len = len, .msg = err, .msglen = errlen };

	memset(q, 0, sizeof(*q));
	if (errlen)
		err[0] = '\0';
	q->buf = buf;
	q->len = len;
	if (len == 0)
		return fail(&c, -EINVAL, "empty input");
	if (parse_header(&c, q) || parse_body(&c, q) || parse_signature_data(&c, q))
		return c.err;
	q->used = c.off;
	return 0;
}
