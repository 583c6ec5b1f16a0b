/* tests/test_dns.c: the DNS responder's engines (net/dns.h) on hand-built
 * messages: queries that parse, every truncation, bad headers and counts,
 * label overflows, compression pointers (loops included), non-LDH names,
 * EDNS, the decision table, a full table, TCP framing split at every
 * offset and pipelined; and a cross-check against the libc resolver's
 * res_mkquery() (and, with musl, its ns_parse reading our answers).
 * Every reply is read by tests/dns_reply_check.h, which shares no code
 * with the engine. */
#include "lib/errbuf.h"
#include "net/dns.h"
#include "net/fakeaddr.h"
#include "dns_reply_check.h"
#include "tap.h"

#include <arpa/nameser.h>
#include <errno.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct fakeaddr_table tab;
static const uint8_t key0[FAKEADDR_KEY_LEN] = { 1, 2, 3 };

/* --- building queries by hand ------------------------------------------ */

struct qb {
	uint8_t b[1024];
	size_t n;
};

static void qb_raw(struct qb *q, const void *p, size_t n)
{
	if (n)
		memcpy(q->b + q->n, p, n);
	q->n += n;
}

static void qb_u8(struct qb *q, unsigned v)
{
	q->b[q->n++] = (uint8_t)v;
}

static void qb_u16(struct qb *q, unsigned v)
{
	qb_u8(q, v >> 8 & 0xff);
	qb_u8(q, v & 0xff);
}

static void qb_hdr(struct qb *q, unsigned id, unsigned flags, unsigned qd, unsigned an,
		   unsigned ns, unsigned ar)
{
	q->n = 0;
	qb_u16(q, id);
	qb_u16(q, flags);
	qb_u16(q, qd);
	qb_u16(q, an);
	qb_u16(q, ns);
	qb_u16(q, ar);
}

/* dotted text as labels (no escapes), then the root */
static void qb_name(struct qb *q, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		qb_u8(q, (unsigned)l);
		qb_raw(q, name, l);
		name += l + (dot ? 1 : 0);
	}
	qb_u8(q, 0);
}

/* An OPT record: payload size, version, DO, rdlen bytes of options. */
static void qb_opt(struct qb *q, unsigned size, unsigned version, int dobit,
		   const uint8_t *opts, size_t olen)
{
	qb_u8(q, 0);
	qb_u16(q, DNS_T_OPT);
	qb_u16(q, size);
	qb_u8(q, 0);
	qb_u8(q, version);
	qb_u16(q, dobit ? 0x8000 : 0);
	qb_u16(q, (unsigned)olen);
	qb_raw(q, opts, olen);
}

/* id 0x1234, RD, one question */
static void query(struct qb *q, const char *name, unsigned type, int opt)
{
	qb_hdr(q, 0x1234, 0x0100, 1, 0, 0, opt ? 1 : 0);
	qb_name(q, name);
	qb_u16(q, type);
	qb_u16(q, DNS_CLASS_IN);
	if (opt)
		qb_opt(q, 1232, 0, 0, NULL, 0);
}

/* --- serving one message ----------------------------------------------- */

struct served {
	int parse_rc;
	struct dns_query q;
	long len;
	enum dns_result res;
	uint32_t addr;
	int rcode;               /* dns_check_reply()'s, or -2: no reply */
	struct dns_view v;
	uint8_t out[DNS_REPLY_MAX];
	char err[ERRBUF_LEN];
};

static struct served sv;

static int serve(const uint8_t *m, size_t n, bool allowed)
{
	memset(&sv, 0, sizeof sv);
	sv.parse_rc = dns_query_parse(m, n, &sv.q, sv.err, sizeof sv.err);
	sv.len = dns_answer(&sv.q, sv.parse_rc, allowed && sv.parse_rc == 0, &tab, sv.out,
			    sizeof sv.out, &sv.res, &sv.addr);
	sv.rcode = -2;
	if (sv.len > 0) {
		sv.rcode = dns_check_reply(sv.out, (size_t)sv.len, m, n, &sv.v);
		if (sv.rcode == -1)
			diag("reply check: %s", sv.v.why);
	}
	return sv.rcode;
}

/* --- tests --------------------------------------------------------------- */

static void test_a(void)
{
	struct qb q;

	fakeaddr_init(&tab, key0);
	query(&q, "Api.Example.COM", DNS_T_A, 0);
	is_int(serve(q.b, q.n, true), DNS_NOERROR, "A for an allowed name: NOERROR");
	is_int(sv.parse_rc, 0, "parsed");
	is_int(sv.q.id, 0x1234, "id");
	ok(sv.q.rd, "RD read");
	is_str(sv.q.name, "api.example.com", "name lowercased");
	is_int(sv.q.qtype, DNS_T_A, "qtype");
	ok(dns_name_canonical(sv.q.name, sv.q.name_len), "a parsed name is canonical");
	is_int(sv.res, DNS_RES_ADDR, "result: an address");
	is_int(sv.v.an, 1, "one answer");
	is_int(sv.v.addr, IP(127, 64, 0, 1), "the first fake address");
	is_int(sv.addr, sv.v.addr, "dns_answer's *addr is the address sent");
	ok(!sv.v.has_opt, "no OPT to a query without one");
	/* the echoed question keeps the query's spelling */
	ok(memcmp(sv.out + 12 + 1, "Api", 3) == 0, "question echoed in the query's case");

	query(&q, "api.example.com", DNS_T_A, 0);
	serve(q.b, q.n, true);
	is_int(sv.v.addr, IP(127, 64, 0, 1), "same name in another case: same address");
	query(&q, "pypi.org", DNS_T_A, 0);
	serve(q.b, q.n, true);
	is_int(sv.v.addr, IP(127, 64, 0, 2), "another name: the next address");
	ok(strcmp(fakeaddr_name(&tab, IP(127, 64, 0, 1), NULL), "api.example.com") == 0,
	   "the table names the first address");

	/* RD clear is echoed clear */
	query(&q, "pypi.org", DNS_T_A, 0);
	q.b[2] = 0;
	is_int(serve(q.b, q.n, true), DNS_NOERROR, "a query without RD");
	ok(!(sv.v.flags & 0x0100), "RD clear in the reply");
	/* AD and CD in a query are ignored (dig sets AD) */
	query(&q, "pypi.org", DNS_T_A, 0);
	q.b[3] = 0x30;
	is_int(serve(q.b, q.n, true), DNS_NOERROR, "AD and CD in the query are ignored");
}

static void test_types(void)
{
	static const unsigned types[] = { DNS_T_AAAA, DNS_T_HTTPS, DNS_T_SVCB, DNS_T_MX,
					  DNS_T_TXT, DNS_T_ANY, DNS_T_CNAME, DNS_T_NS, 999 };
	struct qb q;

	fakeaddr_init(&tab, key0);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		query(&q, "api.example.com", types[i], 0);
		is_int(serve(q.b, q.n, true), DNS_NOERROR, "type %u, allowed: NOERROR", types[i]);
		ok(sv.v.an == 0 && sv.res == DNS_RES_NODATA && sv.v.qd == 1,
		   "type %u, allowed: no records, question echoed", types[i]);
		is_int(serve(q.b, q.n, false), DNS_REFUSED, "type %u, not allowed: REFUSED",
		       types[i]);
		is_int(sv.res, DNS_RES_REFUSED, "result: refused");
	}
	is_int(fakeaddr_count(&tab), 0, "no type but A takes an address");
	query(&q, "api.example.com", DNS_T_A, 0);
	is_int(serve(q.b, q.n, false), DNS_REFUSED, "A, not allowed: REFUSED");
	ok(sv.v.an == 0 && sv.v.qd == 1, "no answer, question echoed");
	is_int(fakeaddr_count(&tab), 0, "a refused name takes no address");
}

static void test_runts(void)
{
	struct qb q;
	int bad = 0;

	query(&q, "pypi.org", DNS_T_A, 1);
	for (size_t n = 0; n < DNS_HDR; n++)
		if (serve(q.b, n, true) != -2 || sv.parse_rc != -ENOMSG || sv.res != DNS_RES_DROP)
			bad++;
	is_int(bad, 0, "0..11 bytes: no reply at all");
	bad = 0;
	for (size_t n = DNS_HDR; n < q.n; n++)
		if (serve(q.b, n, true) != DNS_FORMERR || sv.parse_rc != -EBADMSG ||
		    sv.res != DNS_RES_ERROR)
			bad++;
	is_int(bad, 0, "every truncation from 12 bytes on: FORMERR, id echoed");
	serve(q.b, q.n, true);
	is_int(sv.parse_rc, 0, "the whole message parses");
	q.b[q.n++] = 0;
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "a byte after the last record: FORMERR");
	ok(sv.v.qd == 1 && sv.v.has_opt, "that FORMERR echoes the question and the OPT");

	query(&q, "pypi.org", DNS_T_A, 0);
	q.b[2] |= 0x80;
	is_int(serve(q.b, q.n, true), -2, "a response (QR set): no reply");
	is_int(sv.parse_rc, -ENOMSG, "-ENOMSG");
	is_int(dns_reply_rcode(&sv.q, DNS_REFUSED, sv.out, sizeof sv.out), -EINVAL,
	       "no builder answers a response");
}

static void test_header(void)
{
	struct qb q;
	static const unsigned opcodes[] = { 1, 2, 4, 5, 15 };

	for (size_t i = 0; i < sizeof opcodes / sizeof opcodes[0]; i++) {
		query(&q, "pypi.org", DNS_T_A, 0);
		q.b[2] = (uint8_t)(q.b[2] | opcodes[i] << 3);
		is_int(serve(q.b, q.n, true), DNS_NOTIMP, "opcode %u: NOTIMP", opcodes[i]);
		ok(sv.parse_rc == -EOPNOTSUPP && sv.v.qd == 0, "opcode %u: no question echoed",
		   opcodes[i]);
	}
	for (unsigned qd = 0; qd <= 2; qd += 2) {
		query(&q, "pypi.org", DNS_T_A, 0);
		q.b[5] = (uint8_t)qd;
		is_int(serve(q.b, q.n, true), DNS_FORMERR, "QDCOUNT %u: FORMERR", qd);
		is_int(sv.v.qd, 0, "QDCOUNT %u: no question echoed", qd);
	}
	/* two questions, both present */
	qb_hdr(&q, 7, 0x0100, 2, 0, 0, 0);
	qb_name(&q, "a.com");
	qb_u16(&q, 1);
	qb_u16(&q, 1);
	qb_name(&q, "b.com");
	qb_u16(&q, 1);
	qb_u16(&q, 1);
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "two whole questions: FORMERR");
	for (int sec = 0; sec < 3; sec++) {
		query(&q, "pypi.org", DNS_T_A, 0);
		q.b[7 + 2 * sec] = (uint8_t)(sec == 2 ? 2 : 1);
		is_int(serve(q.b, q.n, true), DNS_FORMERR, "%s: FORMERR",
		       sec == 0 ? "ANCOUNT 1" : sec == 1 ? "NSCOUNT 1" : "ARCOUNT 2");
	}
}

static void test_labels(void)
{
	struct qb q;
	char name[300];
	size_t o = 0;

	/* 63 + 63 + 63 + 61 = 253 text bytes, 255 on the wire */
	for (int l = 0; l < 4; l++) {
		int len = l == 3 ? 61 : 63;
		memset(name + o, 'a' + l, (size_t)len);
		o += (size_t)len;
		name[o++] = l == 3 ? '\0' : '.';
	}
	query(&q, name, DNS_T_A, 0);
	is_int(serve(q.b, q.n, true), DNS_NOERROR, "a name of 253 bytes (255 on the wire)");
	is_int(sv.q.name_len, 253, "its text length");
	is_int(sv.len, DNS_HDR + 259 + 16, "its A reply");
	query(&q, name, DNS_T_A, 1);
	serve(q.b, q.n, true);
	is_int(sv.len, DNS_REPLY_MAX, "with OPT: the largest reply, DNS_REPLY_MAX");
	ok(DNS_REPLY_MAX <= 512, "DNS_REPLY_MAX (%d) fits plain UDP", DNS_REPLY_MAX);

	name[o - 1] = 'd';
	name[o] = '\0';
	query(&q, name, DNS_T_A, 0);
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "a name of 254 bytes (256 on the wire): FORMERR");

	/* a label length of 64 (0x40: an extended label type) and 0x80 */
	qb_hdr(&q, 9, 0, 1, 0, 0, 0);
	qb_u8(&q, 64);
	memset(name, 'a', 64);
	qb_raw(&q, name, 64);
	qb_u8(&q, 0);
	qb_u16(&q, 1);
	qb_u16(&q, 1);
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "a label of 64: FORMERR");
	ok(sv.v.qd == 0, "no question echoed");
	q.b[12] = 0x80;
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "label type 0x80: FORMERR");

	/* compression pointers: to itself (a loop), to the header, after a label */
	qb_hdr(&q, 9, 0, 1, 0, 0, 0);
	qb_u8(&q, 0xc0);
	qb_u8(&q, 12);
	qb_u16(&q, 1);
	qb_u16(&q, 1);
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "a pointer to itself: FORMERR");
	ok(strstr(sv.err, "compression pointer") != NULL, "the reason names the pointer");
	q.b[13] = 0;
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "a pointer into the header: FORMERR");
	qb_hdr(&q, 9, 0, 1, 0, 0, 0);
	qb_u8(&q, 1);
	qb_u8(&q, 'a');
	qb_u8(&q, 0xc0);
	qb_u8(&q, 12);
	qb_u16(&q, 1);
	qb_u16(&q, 1);
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "a.<pointer back to a>: FORMERR");
}

static void test_refused_names(void)
{
	static const char *names[] = {
		"_dmarc.example.com", "a b.com", "-a.com", "a-.com", "x.-b.org", "caf\xc3\xa9.fr",
		"a*.com",
	};
	struct qb q;

	fakeaddr_init(&tab, key0);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		query(&q, names[i], DNS_T_A, 0);
		is_int(serve(q.b, q.n, true), DNS_REFUSED, "not a host name, '%s': REFUSED",
		       names[i]);
		ok(sv.parse_rc == -EPERM && sv.v.qd == 1 && sv.res == DNS_RES_ERROR,
		   "refused by form, question echoed");
	}
	/* a dot and a NUL inside a label: shown as '?' */
	qb_hdr(&q, 9, 0, 1, 0, 0, 0);
	qb_u8(&q, 3);
	qb_raw(&q, "a.b", 3);
	qb_u8(&q, 3);
	qb_raw(&q, "c\0d", 3);
	qb_u8(&q, 0);
	qb_u16(&q, 1);
	qb_u16(&q, 1);
	is_int(serve(q.b, q.n, true), DNS_REFUSED, "a dot and a NUL inside labels: REFUSED");
	is_str(sv.q.name, "a?b.c?d", "the name shows them as '?'");
	/* the root */
	qb_hdr(&q, 9, 0, 1, 0, 0, 0);
	qb_u8(&q, 0);
	qb_u16(&q, DNS_T_NS);
	qb_u16(&q, 1);
	is_int(serve(q.b, q.n, true), DNS_REFUSED, "the root name: REFUSED");
	/* class CH (version.bind) */
	qb_hdr(&q, 9, 0, 1, 0, 0, 0);
	qb_name(&q, "version.bind");
	qb_u16(&q, DNS_T_TXT);
	qb_u16(&q, 3);
	is_int(serve(q.b, q.n, true), DNS_REFUSED, "class CH: REFUSED");
	is_int(fakeaddr_count(&tab), 0, "none took an address");
}

/* A query for a.com with an OPT whose padding option (RFC 7830) makes it
 * total bytes long. */
static void padded(struct qb *q, size_t total)
{
	uint8_t opts[600] = { 0, 12 };
	size_t pad;

	qb_hdr(q, 1, 0, 1, 0, 0, 1);
	qb_name(q, "a.com");
	qb_u16(q, 1);
	qb_u16(q, 1);
	pad = total - q->n - 11 - 4;
	opts[2] = (uint8_t)(pad >> 8);
	opts[3] = (uint8_t)pad;
	qb_opt(q, 512, 0, 0, opts, pad + 4);
}

static void test_edns(void)
{
	struct qb q;
	uint8_t opts[600];

	fakeaddr_init(&tab, key0);
	/* a cookie option (code 10, 8 bytes) and DO */
	memset(opts, 0, sizeof opts);
	opts[1] = 10;
	opts[3] = 8;
	qb_hdr(&q, 0xbeef, 0x0100, 1, 0, 0, 1);
	qb_name(&q, "api.example.com");
	qb_u16(&q, DNS_T_A);
	qb_u16(&q, 1);
	qb_opt(&q, 4096, 0, 1, opts, 12);
	is_int(serve(q.b, q.n, true), DNS_NOERROR, "A with OPT (DO, a cookie): NOERROR");
	ok(sv.q.edns && sv.q.edns_size == 4096 && sv.q.edns_do, "OPT read");
	ok(sv.v.has_opt && sv.v.opt_size == 512 && sv.v.opt_do, "OPT back: 512, DO copied");
	ok(sv.v.has_addr, "with the address");

	query(&q, "api.example.com", DNS_T_AAAA, 1);
	is_int(serve(q.b, q.n, true), DNS_NOERROR, "AAAA with OPT: NOERROR");
	ok(sv.v.has_opt && !sv.v.opt_do && sv.v.an == 0, "OPT back, DO clear, no records");
	is_int(serve(q.b, q.n, false), DNS_REFUSED, "refused with OPT");
	ok(sv.v.has_opt, "REFUSED carries the OPT too");

	qb_hdr(&q, 1, 0, 1, 0, 0, 1);
	qb_name(&q, "api.example.com");
	qb_u16(&q, DNS_T_A);
	qb_u16(&q, 1);
	qb_opt(&q, 1232, 1, 0, NULL, 0);
	is_int(serve(q.b, q.n, true), DNS_BADVERS, "EDNS version 1: BADVERS");
	ok(sv.parse_rc == -EPROTONOSUPPORT && (sv.v.flags & 0xf) == 0 && sv.v.has_opt,
	   "header RCODE 0, the upper bits in the OPT");

	/* OPT with a non-root owner, a TSIG-like type, options cut short */
	qb_hdr(&q, 1, 0, 1, 0, 0, 1);
	qb_name(&q, "a.com");
	qb_u16(&q, 1);
	qb_u16(&q, 1);
	qb_name(&q, "k");
	qb_u16(&q, DNS_T_OPT);
	qb_u16(&q, 512);
	qb_u16(&q, 0);
	qb_u16(&q, 0);
	qb_u16(&q, 0);
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "OPT with a non-root owner: FORMERR");
	ok(sv.v.qd == 1 && !sv.v.has_opt, "question echoed, no OPT");

	qb_hdr(&q, 1, 0, 1, 0, 0, 1);
	qb_name(&q, "a.com");
	qb_u16(&q, 1);
	qb_u16(&q, 1);
	qb_u8(&q, 0);
	qb_u16(&q, 250);
	qb_u16(&q, 255);
	qb_u16(&q, 0);
	qb_u16(&q, 0);
	qb_u16(&q, 0);
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "an additional TSIG: FORMERR");

	qb_hdr(&q, 1, 0, 1, 0, 0, 1);
	qb_name(&q, "a.com");
	qb_u16(&q, 1);
	qb_u16(&q, 1);
	qb_opt(&q, 512, 0, 0, opts, 3);
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "an option header cut short: FORMERR");
	opts[3] = 9;
	q.n -= 3 + 2;
	qb_u16(&q, 12);
	qb_raw(&q, opts, 12);
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "an option longer than the OPT data: FORMERR");
	q.b[q.n - 12 - 1] = 13;
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "OPT data longer than the message: FORMERR");

	/* padding to 512 bytes exactly, and to 513 */
	padded(&q, 512);
	is_int(q.n, 512, "a padded query of 512 bytes");
	is_int(serve(q.b, q.n, true), DNS_NOERROR, "is answered");
	padded(&q, 513);
	is_int(q.n, 513, "a padded query of 513 bytes");
	is_int(serve(q.b, q.n, true), DNS_FORMERR, "is FORMERR");
	is_int(sv.parse_rc, -EMSGSIZE, "-EMSGSIZE");
}

static void test_full(void)
{
	char name[64];
	struct qb q;
	uint32_t a;

	fakeaddr_init(&tab, key0);
	for (unsigned i = 0; i < FAKEADDR_MAX_NAMES; i++) {
		snprintf(name, sizeof name, "h%u.example.com", i);
		fakeaddr_get(&tab, name, strlen(name), &a);
	}
	query(&q, "new.example.com", DNS_T_A, 0);
	is_int(serve(q.b, q.n, true), DNS_REFUSED, "a new allowed name, table full: REFUSED");
	is_int(sv.res, DNS_RES_FULL, "result: full");
	query(&q, "h7.example.com", DNS_T_A, 0);
	is_int(serve(q.b, q.n, true), DNS_NOERROR, "a held name still answers");
	is_int(sv.v.addr, fakeaddr_addr_of(7), "with its old address");
	query(&q, "new.example.com", DNS_T_AAAA, 0);
	is_int(serve(q.b, q.n, true), DNS_NOERROR, "AAAA needs no address: NODATA");
}

static void test_builders(void)
{
	struct qb q;
	struct dns_query dq;
	uint8_t out[DNS_REPLY_MAX];
	enum dns_result res;

	query(&q, "pypi.org", DNS_T_AAAA, 0);
	is_int(dns_query_parse(q.b, q.n, &dq, NULL, 0), 0, "parse with no error buffer");
	is_int(dns_reply_a(&dq, IP(127, 64, 0, 1), out, sizeof out), -EINVAL,
	       "no A record to an AAAA query");
	is_int(dns_reply_nodata(&dq, out, 20), -ENOSPC, "a buffer too small: -ENOSPC");
	is_int(dns_answer(&dq, 0, true, &tab, out, DNS_REPLY_MAX - 1, &res, NULL), -ENOSPC,
	       "dns_answer wants DNS_REPLY_MAX");
	is_int(dns_reply_rcode(&dq, DNS_BADVERS, out, sizeof out), -EINVAL,
	       "an extended RCODE needs an OPT");
	long n = dns_reply_rcode(&dq, DNS_SERVFAIL, out, sizeof out);
	struct dns_view v;
	is_int(dns_check_reply(out, (size_t)n, q.b, q.n, &v), DNS_SERVFAIL, "SERVFAIL builds");
	query(&q, "pypi.org", DNS_T_A, 0);
	q.b[2] |= 0x28;     /* opcode 5 */
	dns_query_parse(q.b, q.n, &dq, NULL, 0);
	is_int(dns_reply_nodata(&dq, out, sizeof out), -EINVAL, "no NODATA to a failed parse");
}

static void test_canonical(void)
{
	static const char *good[] = { "a", "a.b", "x-1.example.com", "1x.example", "xn--bcher-kva.de" };
	/* a numeric last label is an IP literal to some resolver: never a name */
	static const char *bad[] = { "", ".", "a.", ".a", "a..b", "A.b", "a_b", "-a", "a-",
				     "a.-b", "a-.b", "a b", "1.2.3.4", "example.0x1f", "a.123" };

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ok(dns_name_canonical(good[i], strlen(good[i])), "canonical: '%s'", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(!dns_name_canonical(bad[i], strlen(bad[i])), "not canonical: '%s'", bad[i]);
}

/* --- TCP ---------------------------------------------------------------------- */

#define NMSG 3

struct stream {
	uint8_t b[2048];
	size_t n;
	size_t off[NMSG], len[NMSG];   /* each message's bytes in b (after its prefix) */
};

static void stream_make(struct stream *s)
{
	static const char *names[NMSG] = { "a.example.com", "pypi.org", "files.pythonhosted.org" };
	struct qb q;

	s->n = 0;
	for (int i = 0; i < NMSG; i++) {
		query(&q, names[i], i == 1 ? DNS_T_AAAA : DNS_T_A, i == 2);
		s->b[s->n++] = (uint8_t)(q.n >> 8);
		s->b[s->n++] = (uint8_t)q.n;
		s->off[i] = s->n;
		s->len[i] = q.n;
		memcpy(s->b + s->n, q.b, q.n);
		s->n += q.n;
	}
}

/* Feeds s->b in the pieces cut at cuts[]; returns how many messages came
 * out equal to the ones sent, in order, or -1. */
static int stream_feed(const struct stream *s, const size_t *cuts, size_t ncuts)
{
	struct dns_tcp t;
	size_t from = 0;
	int got = 0;

	dns_tcp_init(&t);
	for (size_t c = 0; c <= ncuts; c++) {
		size_t to = c < ncuts ? cuts[c] : s->n;
		while (from < to) {
			const uint8_t *m;
			size_t used, mlen;
			int rc = dns_tcp_feed(&t, s->b + from, to - from, &used, &m, &mlen);
			if (rc < 0 || used > to - from)
				return -1;
			from += used;
			if (rc == 1) {
				if (got >= NMSG || mlen != s->len[got] ||
				    memcmp(m, s->b + s->off[got], mlen) != 0)
					return -1;
				got++;
			}
		}
	}
	if (dns_tcp_partial(&t))
		return -1;
	return got;
}

static void test_tcp(void)
{
	struct stream s;
	size_t cuts[2];
	int bad = 0;

	stream_make(&s);
	is_int(stream_feed(&s, NULL, 0), NMSG, "three pipelined messages in one feed");
	for (size_t k = 0; k <= s.n; k++) {
		cuts[0] = k;
		if (stream_feed(&s, cuts, 1) != NMSG)
			bad++;
	}
	is_int(bad, 0, "split once at every offset (0..%zu): the same messages", s.n);
	bad = 0;
	for (size_t k = 0; k <= s.n; k += 3)
		for (size_t j = k; j <= s.n; j += 7) {
			cuts[0] = k;
			cuts[1] = j;
			if (stream_feed(&s, cuts, 2) != NMSG)
				bad++;
		}
	is_int(bad, 0, "split twice at many offset pairs: the same messages");
	{
		size_t one[2048];
		for (size_t k = 0; k < s.n; k++)
			one[k] = k + 1;
		is_int(stream_feed(&s, one, s.n - 1), NMSG, "one byte at a time");
	}

	/* a cut stream: partial */
	struct dns_tcp t;
	const uint8_t *m;
	size_t used, mlen;
	dns_tcp_init(&t);
	ok(!dns_tcp_partial(&t), "a fresh reader is not partial");
	is_int((int)dns_tcp_want(&t), 2, "  it wants the two length bytes");
	is_int(dns_tcp_feed(&t, s.b, 1, &used, &m, &mlen), 0, "one length byte");
	ok(dns_tcp_partial(&t), "is partial");
	is_int((int)dns_tcp_want(&t), 1, "  it wants the other");
	is_int(dns_tcp_feed(&t, s.b + 1, 5, &used, &m, &mlen), 0, "part of the message");
	ok(dns_tcp_partial(&t), "still partial");
	size_t len0 = (size_t)s.b[0] << 8 | s.b[1];
	is_int((int)dns_tcp_want(&t), (int)len0 - 4, "  it wants the rest of the message, no more");
	{
		/* a server reading exactly what it wants: the stream, message by
		 * message, never a byte of the next one read early */
		struct dns_tcp w;
		size_t at = 0, whole = 0;
		bool over = false;
		dns_tcp_init(&w);
		while (at < s.n) {
			size_t want = dns_tcp_want(&w);
			if (want == 0 || want > s.n - at) {
				over = true;
				break;
			}
			int rc = dns_tcp_feed(&w, s.b + at, want, &used, &m, &mlen);
			at += used;
			if (rc == 1)
				whole++;
			if (rc < 0 || used != want || (rc == 1 && dns_tcp_partial(&w))) {
				over = true;
				break;
			}
		}
		ok(!over && whole == NMSG && at == s.n, "reading what it wants: every message, whole");
		is_int((int)dns_tcp_want(&w), 2, "  then the next prefix");
	}

	/* lengths 0 and 513: sticky errors */
	static const uint8_t zero[] = { 0, 0, 1, 2 }, big[] = { 0x02, 0x01, 1, 2 };
	dns_tcp_init(&t);
	is_int(dns_tcp_feed(&t, zero, sizeof zero, &used, &m, &mlen), -EMSGSIZE, "length 0");
	is_int(used, 2, "stops behind the prefix");
	is_int(dns_tcp_feed(&t, s.b, s.n, &used, &m, &mlen), -EMSGSIZE, "the error is sticky");
	is_int(used, 0, "and takes nothing");
	ok(!dns_tcp_partial(&t), "a failed stream is not partial");
	is_int((int)dns_tcp_want(&t), 0, "  and wants nothing");
	dns_tcp_init(&t);
	is_int(dns_tcp_feed(&t, big, 1, &used, &m, &mlen), 0, "first byte of 513");
	is_int(dns_tcp_feed(&t, big + 1, 3, &used, &m, &mlen), -EMSGSIZE, "length 513, split");
	static const uint8_t max[] = { 0x02, 0x00 };
	dns_tcp_init(&t);
	is_int(dns_tcp_feed(&t, max, 2, &used, &m, &mlen), 0, "length 512 is accepted");

	/* serving over TCP: the reply framed in place */
	uint8_t out[2 + DNS_REPLY_MAX];
	struct dns_query dq;
	enum dns_result res;
	struct dns_view v;
	dns_tcp_init(&t);
	fakeaddr_init(&tab, key0);
	is_int(dns_tcp_feed(&t, s.b, s.n, &used, &m, &mlen), 1, "first message");
	int prc = dns_query_parse(m, mlen, &dq, NULL, 0);
	long n = dns_answer(&dq, prc, true, &tab, out + 2, sizeof out - 2, &res, NULL);
	long f = dns_tcp_frame(out, sizeof out, (size_t)n);
	is_int(f, n + 2, "framed reply length");
	ok(out[0] == (uint8_t)(n >> 8) && out[1] == (uint8_t)n, "the prefix is its length");
	is_int(dns_check_reply(out + 2, (size_t)n, m, mlen, &v), DNS_NOERROR, "the reply checks");
	ok(v.has_addr && v.addr == IP(127, 64, 0, 1), "with the address");
	is_int(dns_tcp_frame(out, (size_t)n + 1, (size_t)n), -EMSGSIZE, "a frame too big for cap");
	is_int(dns_tcp_frame(out, 1, 0), -EMSGSIZE, "no room for the prefix");
}

/* --- the libc resolver ---------------------------------------------------------- */

static void test_libc(void)
{
	uint8_t qbuf[512];
	int n;

	fakeaddr_init(&tab, key0);
	n = res_mkquery(ns_o_query, "Files.PythonHosted.org", ns_c_in, ns_t_a, NULL, 0, NULL,
			qbuf, sizeof qbuf);
	ok(n > 12, "res_mkquery built an A query (%d bytes)", n);
	if (n <= 12)
		return;
	is_int(serve(qbuf, (size_t)n, true), DNS_NOERROR, "libc's A query: NOERROR");
	is_str(sv.q.name, "files.pythonhosted.org", "its name");
	ok(sv.v.has_addr && sv.v.addr == IP(127, 64, 0, 1), "an A record");
#ifndef __GLIBC__
	{
		ns_msg msg;
		ns_rr rr;
		ok(ns_initparse(sv.out, (int)sv.len, &msg) == 0, "musl ns_initparse reads our answer");
		is_int(ns_msg_count(msg, ns_s_qd), 1, "one question");
		is_int(ns_msg_count(msg, ns_s_an), 1, "one answer");
		is_int(ns_msg_getflag(msg, ns_f_rcode), 0, "NOERROR");
		ok(ns_parserr(&msg, ns_s_an, 0, &rr) == 0, "ns_parserr reads the answer");
		ok(strcmp(ns_rr_name(rr), "Files.PythonHosted.org") == 0,
		   "its owner expands to the question's name");
		ok(ns_rr_type(rr) == ns_t_a && ns_rr_class(rr) == ns_c_in && ns_rr_ttl(rr) == DNS_TTL,
		   "A IN, TTL 60");
		ok(ns_rr_rdlen(rr) == 4 && memcmp(ns_rr_rdata(rr), "\x7f\x40\x00\x01", 4) == 0,
		   "rdata 127.64.0.1");
	}
#else
	diag("glibc: ns_parse lives in libresolv, not linked; dns_reply_check.h read the answer");
#endif
	n = res_mkquery(ns_o_query, "pypi.org", ns_c_in, ns_t_aaaa, NULL, 0, NULL, qbuf,
			sizeof qbuf);
	is_int(serve(qbuf, (size_t)n, true), DNS_NOERROR, "libc's AAAA query: NOERROR");
	is_int(sv.v.an, 0, "no records");
	n = res_mkquery(ns_o_query, "pypi.org", ns_c_in, ns_t_a, NULL, 0, NULL, qbuf, sizeof qbuf);
	is_int(serve(qbuf, (size_t)n, false), DNS_REFUSED, "libc's query, not allowed: REFUSED");
	n = res_mkquery(ns_o_query, "_sip._tcp.example.com", ns_c_in, 33, NULL, 0, NULL, qbuf,
			sizeof qbuf);
	is_int(serve(qbuf, (size_t)n, true), DNS_REFUSED, "libc's SRV for _sip._tcp: REFUSED");
}

int main(void)
{
	test_a();
	test_types();
	test_runts();
	test_header();
	test_labels();
	test_refused_names();
	test_edns();
	test_full();
	test_builders();
	test_canonical();
	test_tcp();
	test_libc();
	return tap_done();
}
