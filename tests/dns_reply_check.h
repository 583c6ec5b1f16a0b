/* tests/dns_reply_check.h: a strict reading of a reply of net/dns.c,
 * written apart from it (no call into the engine), for tests/test_dns.c
 * and tests/fuzz/fuzz_dns.c.
 *
 * dns_check_reply(reply, n, query, qn, &v) checks that the reply answers
 * that query as docs/DNS.md says: at most 512 bytes, the query's id,
 * opcode and RD, QR and RA set, AA, TC and Z clear, no authority records,
 * the question echoed byte for byte or absent, an answer only as one A
 * record (owner pointing at the question, class IN, TTL 60, an address in
 * 127.64.0.0/10) to a NOERROR query of type A, at most one additional
 * record and then an OPT with the root owner, payload size 512, version 0
 * and no options, and not a byte more. It returns the full RCODE (OPT's
 * upper bits included), or -1 with the reason in v->why.
 */
#ifndef DSHIELD_TESTS_DNS_REPLY_CHECK_H
#define DSHIELD_TESTS_DNS_REPLY_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct dns_view {
	const char *why;         /* the first rule the reply broke */
	unsigned flags;
	unsigned qd, an, ns, ar;
	int has_addr;
	uint32_t addr;
	uint32_t ttl;
	int has_opt;
	unsigned opt_size;
	int opt_do;
};

static unsigned chk_be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The length of the uncompressed name at p[0..n), or 0. */
static size_t chk_name(const uint8_t *p, size_t n)
{
	size_t o = 0;

	while (o < n && p[o] != 0) {
		if (p[o] > 63 || n - o - 1 < p[o])
			return 0;
		o += 1u + p[o];
	}
	return o < n && o + 1 <= 255 ? o + 1 : 0;
}

__attribute__((unused))
static int dns_check_reply(const uint8_t *r, size_t n, const uint8_t *q, size_t qn,
			   struct dns_view *v)
{
	size_t o = 12, qlen = 0;
	unsigned qflags, rcode;

	memset(v, 0, sizeof *v);
#define CHK(cond, reason) do { if (!(cond)) { v->why = (reason); return -1; } } while (0)
	CHK(n >= 12 && n <= 512, "size outside 12..512");
	CHK(qn >= 12, "query without a header");
	qflags = chk_be16(q + 2);
	v->flags = chk_be16(r + 2);
	v->qd = chk_be16(r + 4);
	v->an = chk_be16(r + 6);
	v->ns = chk_be16(r + 8);
	v->ar = chk_be16(r + 10);
	rcode = v->flags & 0xf;
	CHK(memcmp(r, q, 2) == 0, "id not echoed");
	CHK(v->flags & 0x8000, "QR clear");
	CHK((v->flags >> 11 & 0xf) == (qflags >> 11 & 0xf), "opcode not echoed");
	CHK((v->flags & 0x0100) == (qflags & 0x0100), "RD not echoed");
	CHK(v->flags & 0x0080, "RA clear");
	CHK(!(v->flags & 0x0400), "AA set");
	CHK(!(v->flags & 0x0200), "TC set");
	CHK(!(v->flags & 0x0070), "Z, AD or CD set");
	CHK(v->qd <= 1 && v->an <= 1 && v->ns == 0 && v->ar <= 1, "record counts");
	if (v->qd) {
		qlen = chk_name(r + o, n - o);
		CHK(qlen, "question name");
		qlen += 4;
		CHK(n - o >= qlen, "question cut short");
		CHK(qn >= 12 + qlen && memcmp(r + o, q + 12, qlen) == 0, "question not echoed");
		o += qlen;
	}
	if (v->an) {
		CHK(v->qd && rcode == 0, "answer without question or with an error");
		CHK(chk_be16(q + 12 + qlen - 4) == 1, "answer to a query not of type A");
		CHK(n - o >= 16, "answer cut short");
		CHK(r[o] == 0xc0 && r[o + 1] == 12, "answer owner not the question's name");
		CHK(chk_be16(r + o + 2) == 1 && chk_be16(r + o + 4) == 1, "answer not A IN");
		v->ttl = (uint32_t)chk_be16(r + o + 6) << 16 | chk_be16(r + o + 8);
		CHK(v->ttl == 60, "TTL not 60");
		CHK(chk_be16(r + o + 10) == 4, "A RDLENGTH not 4");
		v->addr = (uint32_t)chk_be16(r + o + 12) << 16 | chk_be16(r + o + 14);
		CHK((v->addr & 0xffc00000u) == 0x7f400000u, "address outside 127.64.0.0/10");
		v->has_addr = 1;
		o += 16;
	}
	if (v->ar) {
		CHK(n - o >= 11, "OPT cut short");
		CHK(r[o] == 0 && chk_be16(r + o + 1) == 41, "additional record not an OPT");
		v->has_opt = 1;
		v->opt_size = chk_be16(r + o + 3);
		CHK(v->opt_size == 512, "OPT payload size not 512");
		rcode |= (unsigned)r[o + 5] << 4;
		CHK(r[o + 6] == 0, "OPT version not 0");
		CHK((chk_be16(r + o + 7) & 0x7fff) == 0, "OPT Z bits set");
		v->opt_do = (r[o + 7] & 0x80) != 0;
		CHK(chk_be16(r + o + 9) == 0, "OPT with options");
		o += 11;
	}
	CHK(o == n, "bytes after the last record");
#undef CHK
	return (int)rcode;
}

#endif
