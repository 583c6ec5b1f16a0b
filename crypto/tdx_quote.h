/* crypto/tdx_quote.h: a bounded parser for Intel TDX DCAP quotes (v4, v5).
 *
 * The parser never allocates and never copies: struct tdx_quote holds
 * pointers into the caller's buffer, which must outlive it. Every length
 * field is checked against the bytes that remain, so a quote that parses
 * can be walked without further bounds checks. Bytes after the end of the
 * signature data are padding (real quotes are often zero padded) and are
 * ignored; `used` says where the quote ends.
 *
 * Layout (all integers little endian):
 *   header 48: version u16, att_key_type u16, tee_type u32, qe_svn u16,
 *              pce_svn u16, qe_vendor_id[16], user_data[20]
 *   v5 only:   body type u16 (2 = TDX 1.0, 3 = TDX 1.5), body size u32
 *   body:      TD report 584 bytes (TDX 1.0) or 648 (TDX 1.5)
 *   sig_len u32, then signature data: ecdsa sig[64], attestation key[64],
 *              certification data {type u16, size u32, data}
 *   cert type 6 (QE report certification data): QE report[384],
 *              QE report sig[64], auth_len u16, auth[auth_len],
 *              inner certification data {type u16, size u32, data}
 *              (type 5 = PCK certificate chain, PEM)
 *
 * dshield's simulated backend (no TDX hardware) writes certification data
 * of type TDX_CERT_TYPE_DSHIELD_SIM, a value no Intel quote uses: its data
 * is the 16-byte TDX_SIM_MAGIC followed by the 64-byte simulation public
 * key (X ‖ Y), which must equal the attestation key field. A sim quote
 * proves nothing about hardware; verifiers refuse it unless told otherwise.
 */
#ifndef DSHIELD_CRYPTO_TDX_QUOTE_H
#define DSHIELD_CRYPTO_TDX_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#define TDX_QUOTE_HEADER_LEN    48
#define TDX_BODY_V10_LEN        584
#define TDX_BODY_V15_LEN        648
#define TDX_QE_REPORT_LEN       384
#define TDX_ECDSA_SIG_LEN       64
#define TDX_ECDSA_KEY_LEN       64

#define TDX_ATT_KEY_ECDSA_P256  2
#define TDX_TEE_TYPE_SGX        0x00000000u
#define TDX_TEE_TYPE_TDX        0x00000081u

#define TDX_BODY_TYPE_TDX10     2
#define TDX_BODY_TYPE_TDX15     3

#define TDX_CERT_TYPE_PCK_CHAIN 5
#define TDX_CERT_TYPE_QE_REPORT 6
/* "SH" (0x53 0x48 read as a little-endian u16): dshield's sim backend. */
#define TDX_CERT_TYPE_DSHIELD_SIM 0x4853
#define TDX_SIM_MAGIC           "dshield-sim-v1\0\0"
#define TDX_SIM_MAGIC_LEN       16
#define TDX_SIM_CERT_LEN        (TDX_SIM_MAGIC_LEN + TDX_ECDSA_KEY_LEN)

/* Offsets of the TD report body fields (from the start of the body). */
#define TDX_OFF_TEE_TCB_SVN     0
#define TDX_OFF_MRSEAM          16
#define TDX_OFF_MRSIGNERSEAM    64
#define TDX_OFF_SEAM_ATTRIBUTES 112
#define TDX_OFF_TD_ATTRIBUTES   120
#define TDX_OFF_XFAM            128
#define TDX_OFF_MRTD            136
#define TDX_OFF_MRCONFIGID      184
#define TDX_OFF_MROWNER         232
#define TDX_OFF_MROWNERCONFIG   280
#define TDX_OFF_RTMR0           328
#define TDX_OFF_REPORT_DATA     520
#define TDX_OFF_TEE_TCB_SVN2    584
#define TDX_OFF_MR_SERVICETD    600

/* Offsets inside the 384-byte SGX QE report. */
#define SGX_REPORT_OFF_CPUSVN      0
#define SGX_REPORT_OFF_MISCSELECT  16
#define SGX_REPORT_OFF_ATTRIBUTES  48
#define SGX_REPORT_OFF_MRENCLAVE   64
#define SGX_REPORT_OFF_MRSIGNER    128
#define SGX_REPORT_OFF_ISVPRODID   256
#define SGX_REPORT_OFF_ISVSVN      258
#define SGX_REPORT_OFF_REPORT_DATA 320

struct tdx_quote {
	const uint8_t *buf;        /* the caller's buffer */
	size_t len;                /* its length, padding included */
	size_t used;               /* bytes the quote occupies */

	/* header */
	uint16_t version;
	uint16_t att_key_type;
	uint32_t tee_type;
	uint16_t qe_svn;
	uint16_t pce_svn;
	const uint8_t *qe_vendor_id;   /* 16 */
	const uint8_t *user_data;      /* 20 */

	/* body: body_type is 2 for v4 quotes (implicit TDX 1.0 body) */
	uint16_t body_type;
	uint32_t body_len;
	const uint8_t *body;
	const uint8_t *tee_tcb_svn;    /* 16 */
	const uint8_t *mrseam;         /* 48 */
	const uint8_t *mrsignerseam;   /* 48 */
	const uint8_t *seam_attributes;/* 8 */
	const uint8_t *td_attributes;  /* 8 */
	const uint8_t *xfam;           /* 8 */
	const uint8_t *mrtd;           /* 48 */
	const uint8_t *mrconfigid;     /* 48 */
	const uint8_t *mrowner;        /* 48 */
	const uint8_t *mrownerconfig;  /* 48 */
	const uint8_t *rtmr[4];        /* 48 each */
	const uint8_t *report_data;    /* 64 */
	const uint8_t *tee_tcb_svn2;   /* 16, TDX 1.5 body only, else NULL */
	const uint8_t *mr_servicetd;   /* 48, TDX 1.5 body only, else NULL */

	/* What the attestation key signs: header (+ v5 descriptor) + body. */
	const uint8_t *signed_region;
	size_t signed_len;

	/* signature data */
	uint32_t sig_data_len;
	const uint8_t *signature;      /* 64: r ‖ s, big endian */
	const uint8_t *attest_key;     /* 64: X ‖ Y of a P-256 point */
	uint16_t cert_type;
	uint32_t cert_len;
	const uint8_t *cert_data;

	/* cert_type 6 */
	const uint8_t *qe_report;      /* 384 */
	const uint8_t *qe_report_sig;  /* 64 */
	uint16_t qe_auth_len;
	const uint8_t *qe_auth;
	uint16_t inner_cert_type;
	uint32_t inner_cert_len;
	const uint8_t *inner_cert;     /* PEM chain when inner_cert_type 5 */

	/* cert_type TDX_CERT_TYPE_DSHIELD_SIM */
	const uint8_t *sim_key;        /* 64 */
};

/* Parses buf[0..len) into *q. Returns 0, or -EINVAL (malformed or
 * truncated) / -EPROTONOSUPPORT (an SGX quote, an unknown version, key
 * type, body type or certification data type), with a one-line reason in
 * err (always NUL terminated when errlen > 0). */
int tdx_quote_parse(struct tdx_quote *q, const void *buf, size_t len,
		    char *err, size_t errlen);

/* Offset of a pointer into the quote from the start of the buffer. */
static inline size_t tdx_quote_off(const struct tdx_quote *q, const uint8_t *p)
{
	return (size_t)(p - q->buf);
}

static inline int tdx_quote_is_sim(const struct tdx_quote *q)
{
	return q->cert_type == TDX_CERT_TYPE_DSHIELD_SIM;
}

#endif
