/* tls/anchors.h: the trust anchors the egress proxy validates upstream
 * certificates against (docs/TLS.md, "Trust anchors").
 *
 * The image build converts Debian's pinned ca-certificates into one
 * compact binary file (build/tools/mkanchors, /etc/dshield/tls-anchors in
 * the initrd, listed with its SHA-256 in the manifest): per anchor only
 * what BearSSL's br_x509_minimal uses, the subject Name (DER) and the
 * public key. The loader makes br_x509_trust_anchor entries that point
 * into the caller's copy of the file: no allocation, no copy.
 *
 * Format (every integer big-endian):
 *
 *   header  "DSTA"  u8 version (1)  u8 0  u16 count
 *   record  u8 flags (bit 0: CA; others 0)  u8 key type (1 RSA, 2 EC)
 *           u16 dn_len  dn (a DER SEQUENCE)
 *           RSA: u16 n_len  n (no leading zero)  u16 e_len  e (no leading zero)
 *           EC:  u8 curve (BearSSL's id: 23 P-256, 24 P-384, 25 P-521)
 *                u16 q_len  q (uncompressed point 04 X Y, of the curve's size)
 *
 * The file ends exactly after count records.
 */
#ifndef DSHIELD_TLS_ANCHORS_H
#define DSHIELD_TLS_ANCHORS_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>

#define ANCHORS_MAGIC "DSTA"
#define ANCHORS_VERSION 1
#define ANCHORS_HEADER_LEN 8
/* Bounds of one record's fields: a Name, an RSA modulus of up to 8192
 * bits (BearSSL's limit for the i31 and i62 code), an exponent. */
#define ANCHORS_DN_MAX 1024
#define ANCHORS_RSA_N_MAX 1024
#define ANCHORS_RSA_E_MAX 8
/* Worst case record: flags, type, dn, n, e with their lengths. */
#define ANCHORS_RECORD_MAX (2 + 2 + ANCHORS_DN_MAX + 2 + ANCHORS_RSA_N_MAX + 2 + ANCHORS_RSA_E_MAX)
/* Debian trixie's ca-certificates holds about 150: room for growth and a
 * test's extra anchors. */
#define ANCHORS_MAX 512

/* Where the image puts the file, and the buffer netd reads it into (the
 * trixie file is 63,596 bytes for 148 roots). */
#define ANCHORS_FILE "/etc/dshield/tls-anchors"
#define ANCHORS_FILE_MAX (256 * 1024)

#define ANCHOR_FLAG_CA 0x01

#define ANCHOR_KEY_RSA 1
#define ANCHOR_KEY_EC  2

/* The caller's array of anchors: ta[0..n) are in use. Anchors added with
 * extra set (the policy's extra_anchors: test anchors) are counted in
 * n_extra, so that whoever reports the configuration can say that some
 * exist. */
struct anchors {
	br_x509_trust_anchor *ta;
	size_t n, cap;
	size_t n_extra;
};

void anchors_init(struct anchors *a, br_x509_trust_anchor *ta, size_t cap);

/* Appends the anchors of a file image buf[0..len) (the format above) to
 * a; the entries point into buf, which must outlive a. Every length and
 * value is checked first: on any error nothing is added. Returns the
 * number of anchors added, or -EBADMSG (malformed, reason in err),
 * -ENOSPC (more than a has room for). */
long anchors_parse(struct anchors *a, const uint8_t *buf, size_t len, int extra,
		   char *err, size_t errcap);

/* Reads the file at path into buf (cap bytes plus a NUL: the anchors
 * point into it, so it must outlive a) and appends its anchors with
 * anchors_parse(). Returns their number, or -errno (-EFBIG when the file
 * has more than cap bytes) with the path and step in err. */
long anchors_load_file(struct anchors *a, const char *path, uint8_t *buf, size_t cap,
		       char *err, size_t errcap);

/* Writes the header for count records. Returns ANCHORS_HEADER_LEN, or
 * -ENOSPC, -EINVAL (count over 65535). */
long anchors_header(uint8_t *out, size_t cap, size_t count);

/* Writes the record for one DER certificate (its subject Name and public
 * key, read with br_x509_decoder) into out; flags ANCHOR_FLAG_CA, or 0 to
 * take the certificate's own basicConstraints CA flag. Returns the
 * record's length, or -EBADMSG (not a certificate BearSSL reads, a key
 * that is neither RSA nor P-256/384/521, a field over its bound; reason
 * in err), -ENOSPC. */
long anchors_record(uint8_t *out, size_t cap, const uint8_t *der, size_t len, unsigned flags,
		    char *err, size_t errcap);

#endif
