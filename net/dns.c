/* net/dns.c: see dns.h. */
#include "net/dns.h"
#include "crypto/egress.h"

#include "lib/bytes.h"
#include "lib/errbuf.h"
#include "net/fakeaddr.h"

#include <errno.h>
#include <string.h>

_Static_assert(DNS_REPLY_MAX <= DNS_MSG_MAX, "every reply fits plain UDP: TC never needed");
_Static_assert(DNS_MSG_MAX <= UINT16_MAX, "a TCP length prefix holds any message");

#define F_QR 0x8000u
#define F_RD 0x0100u
#define F_RA 0x0080u
#define EDNS_DO 0x8000u

/* An RR's fixed part after its owner: type, class, TTL, RDLENGTH. */
#define RR_FIXED 10

static bool ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool dns_name_canonical(const char *name, size_t len)
{
	char out[EGRESS_NAME_MAX + 1], err[96];
	enum egress_reason why;

	/* the proxy's canonicaliser, in its exact mode: one definition of a
	 * canonical name for the DNS answers, the fake-address table and the
	 * rules they are checked against */
	return len <= EGRESS_NAME_MAX &&
	       egress_name_canon(name, len, EGRESS_NAME_EXACT, out, sizeof out, &why, err,
				 sizeof err) == (long)len;
}

/* The question's name at *off: uncompressed labels into q->name,
 * lowercased, each byte outside LDH shown as '?' (the name may go to a
 * log line; such a name is refused anyway). */
static int read_qname(const uint8_t *m, size_t len, size_t *off, struct dns_query *q,
		      char *err, size_t errcap)
{
	size_t o = *off, wire = 1, n = 0;

	for (;;) {
		uint8_t l;
		if (o >= len)
			return errbuf_set(err, errcap, -EBADMSG, "question name cut short");
		l = m[o++];
		if (l == 0)
			break;
		if ((l & 0xc0) == 0xc0)
			return errbuf_set(err, errcap, -EBADMSG,
					  "compression pointer in the question name");
		if (l & 0xc0)
			return errbuf_set(err, errcap, -EBADMSG, "extended label type %#x", l);
		wire += 1u + l;
		if (wire > DNS_WIRE_NAME)
			return errbuf_set(err, errcap, -EBADMSG, "question name over %d bytes",
					  DNS_WIRE_NAME);
		if (len - o < l)
			return errbuf_set(err, errcap, -EBADMSG, "question name cut short");
		if (n)
			q->name[n++] = '.';
		for (size_t k = 0; k < l; k++) {
			unsigned char c = m[o + k];
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			q->name[n++] = ldh(c) ? (char)c : '?';
		}
		o += l;
	}
	q->name[n] = '\0';
	q->name_len = n;
	*off = o;
	return 0;
}

/* The one additional record a query may carry: an EDNS OPT (RFC 6891
 * §6.1.2) with the root as owner and well-formed options (read past, not
 * used). */
static int read_opt(const uint8_t *m, size_t len, size_t *off, struct dns_query *q,
		    char *err, size_t errcap)
{
	size_t o = *off, end;
	uint16_t type, rdlen;

	if (len - o < 1 + RR_FIXED)
		return errbuf_set(err, errcap, -EBADMSG, "additional record cut short");
	if (m[o] != 0)
		return errbuf_set(err, errcap, -EBADMSG,
				  "additional record other than an OPT with the root as owner");
	type = be16(m + o + 1);
	if (type != DNS_T_OPT)
		return errbuf_set(err, errcap, -EBADMSG, "additional record of type %u", type);
	q->edns_size = be16(m + o + 3);
	q->edns_version = m[o + 6];
	q->edns_do = (be16(m + o + 7) & EDNS_DO) != 0;
	rdlen = be16(m + o + 9);
	o += 1 + RR_FIXED;
	if (len - o < rdlen)
		return errbuf_set(err, errcap, -EBADMSG, "OPT record data cut short");
	end = o + rdlen;
	while (o < end) {
		if (end - o < 4 || end - o - 4 < be16(m + o + 2))
			return errbuf_set(err, errcap, -EBADMSG, "EDNS option cut short");
		o += 4u + be16(m + o + 2);
	}
	q->edns = true;
	*off = o;
	return 0;
}

int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q, char *err,
		    size_t errcap)
{
	uint16_t flags, qd, an, ns, ar;
	size_t off = DNS_HDR;
	int rc;

	memset(q, 0, sizeof *q);
	q->rcode = -1;
	if (len < DNS_HDR)
		return errbuf_set(err, errcap, -ENOMSG, "%zu bytes, no whole header", len);
	q->id = be16(msg);
	flags = be16(msg + 2);
	if (flags & F_QR)
		return errbuf_set(err, errcap, -ENOMSG, "a response, not a query");
	q->opcode = (uint8_t)(flags >> 11 & 0xf);
	q->rd = (flags & F_RD) != 0;
	if (q->opcode != 0) {
		q->rcode = DNS_NOTIMP;
		return errbuf_set(err, errcap, -EOPNOTSUPP, "opcode %u", q->opcode);
	}
	q->rcode = DNS_FORMERR;
	if (len > DNS_MSG_MAX)
		return errbuf_set(err, errcap, -EMSGSIZE, "query of %zu bytes, over %d", len,
				  DNS_MSG_MAX);
	qd = be16(msg + 4);
	an = be16(msg + 6);
	ns = be16(msg + 8);
	ar = be16(msg + 10);
	if (qd != 1)
		return errbuf_set(err, errcap, -EBADMSG, "%u questions, not 1", qd);
	if (an || ns || ar > 1)
		return errbuf_set(err, errcap, -EBADMSG,
				  "records in a query: %u answer, %u authority, %u additional",
				  an, ns, ar);
	rc = read_qname(msg, len, &off, q, err, errcap);
	if (rc < 0)
		return rc;
	if (len - off < 4)
		return errbuf_set(err, errcap, -EBADMSG, "question cut short");
	q->qtype = be16(msg + off);
	q->qclass = be16(msg + off + 2);
	off += 4;
	q->qwire_len = off - DNS_HDR;
	memcpy(q->qwire, msg + DNS_HDR, q->qwire_len);
	if (ar) {
		rc = read_opt(msg, len, &off, q, err, errcap);
		if (rc < 0)
			return rc;
	}
	if (off != len)
		return errbuf_set(err, errcap, -EBADMSG, "%zu bytes after the last record",
				  len - off);
	if (q->edns && q->edns_version != 0) {
		q->rcode = DNS_BADVERS;
		return errbuf_set(err, errcap, -EPROTONOSUPPORT, "EDNS version %u",
				  q->edns_version);
	}
	q->rcode = DNS_REFUSED;
	if (q->qclass != DNS_CLASS_IN)
		return errbuf_set(err, errcap, -EPERM, "class %u, not IN", q->qclass);
	if (q->name_len == 0)
		return errbuf_set(err, errcap, -EPERM, "the root name");
	if (!dns_name_canonical(q->name, q->name_len))
		return errbuf_set(err, errcap, -EPERM, "not a host name: %s", q->name);
	q->rcode = DNS_NOERROR;
	return 0;
}

/* Header, the question (when q has one), an A record (when a is not
 * NULL) and an OPT record (when the query had one). */
static long build(const struct dns_query *q, int rcode, const uint32_t *a, uint8_t *out,
		  size_t cap)
{
	size_t n = DNS_HDR + q->qwire_len;
	size_t need = n + (a ? 16 : 0) + (q->edns ? 1 + RR_FIXED : 0);
	unsigned flags;

	if (q->rcode < 0 || rcode < 0 || rcode > 0xfff || (rcode > 0xf && !q->edns))
		return -EINVAL;
	if (cap < need)
		return -ENOSPC;
	flags = F_QR | (q->opcode & 0xfu) << 11 | (q->rd ? F_RD : 0) | F_RA | (rcode & 0xfu);
	put_be16(out, q->id);
	put_be16(out + 2, (uint16_t)flags);
	put_be16(out + 4, q->qwire_len ? 1 : 0);
	put_be16(out + 6, a ? 1 : 0);
	put_be16(out + 8, 0);
	put_be16(out + 10, q->edns ? 1 : 0);
	memcpy(out + DNS_HDR, q->qwire, q->qwire_len);
	if (a) {
		out[n] = 0xc0;                 /* owner: pointer to the question's name */
		out[n + 1] = DNS_HDR;
		put_be16(out + n + 2, DNS_T_A);
		put_be16(out + n + 4, DNS_CLASS_IN);
		put_be32(out + n + 6, DNS_TTL);
		put_be16(out + n + 10, 4);
		put_be32(out + n + 12, *a);
		n += 16;
	}
	if (q->edns) {
		out[n] = 0;                    /* owner: the root */
		put_be16(out + n + 1, DNS_T_OPT);
		put_be16(out + n + 3, DNS_EDNS_SIZE);
		out[n + 5] = (uint8_t)(rcode >> 4);
		out[n + 6] = 0;                /* version */
		put_be16(out + n + 7, q->edns_do ? EDNS_DO : 0);
		put_be16(out + n + 9, 0);
		n += 1 + RR_FIXED;
	}
	return (long)n;
}

long dns_reply_a(const struct dns_query *q, uint32_t addr, uint8_t *out, size_t cap)
{
	if (q->rcode != DNS_NOERROR || q->qtype != DNS_T_A)
		return -EINVAL;
	return build(q, DNS_NOERROR, &addr, out, cap);
}

long dns_reply_nodata(const struct dns_query *q, uint8_t *out, size_t cap)
{
	if (q->rcode != DNS_NOERROR)
		return -EINVAL;
	return build(q, DNS_NOERROR, NULL, out, cap);
}

long dns_reply_rcode(const struct dns_query *q, int rcode, uint8_t *out, size_t cap)
{
	return build(q, rcode, NULL, out, cap);
}

long dns_reply_error(const struct dns_query *q, uint8_t *out, size_t cap)
{
	if (q->rcode < 0)
		return 0;
	return build(q, q->rcode, NULL, out, cap);
}

long dns_answer(const struct dns_query *q, int parse_rc, bool allowed,
		struct fakeaddr_table *t, uint8_t *out, size_t cap,
		enum dns_result *res, uint32_t *addr)
{
	uint32_t a;
	long n;
	int rc;

	*res = DNS_RES_DROP;
	if (cap < DNS_REPLY_MAX)
		return -ENOSPC;
	if (parse_rc != 0) {
		n = dns_reply_error(q, out, cap);
		if (n > 0)
			*res = DNS_RES_ERROR;
		return n;
	}
	if (!allowed) {
		*res = DNS_RES_REFUSED;
		return build(q, DNS_REFUSED, NULL, out, cap);
	}
	if (q->qtype != DNS_T_A) {
		*res = DNS_RES_NODATA;
		return build(q, DNS_NOERROR, NULL, out, cap);
	}
	rc = fakeaddr_get(t, q->name, q->name_len, &a);
	if (rc < 0) {
		/* -ENOSPC; -EINVAL cannot happen (the parse checked the name) */
		*res = DNS_RES_FULL;
		return build(q, DNS_REFUSED, NULL, out, cap);
	}
	*res = DNS_RES_ADDR;
	if (addr)
		*addr = a;
	return build(q, DNS_NOERROR, &a, out, cap);
}

void dns_tcp_init(struct dns_tcp *t)
{
	memset(t, 0, sizeof *t);
}

int dns_tcp_feed(struct dns_tcp *t, const uint8_t *data, size_t len, size_t *used,
		 const uint8_t **msg, size_t *msg_len)
{
	size_t i = 0, take;

	*used = 0;
	if (t->err)
		return t->err;
	if (t->ready) {
		t->ready = false;
		t->hdr_len = 0;
		t->got = 0;
	}
	while (i < len && t->hdr_len < 2) {
		t->hdr[t->hdr_len++] = data[i++];
		if (t->hdr_len < 2)
			continue;
		t->len = be16(t->hdr);
		if (t->len == 0 || t->len > DNS_MSG_MAX) {
			*used = i;
			return t->err = -EMSGSIZE;
		}
	}
	if (t->hdr_len == 2) {
		take = t->len - t->got;
		if (take > len - i)
			take = len - i;
		memcpy(t->msg + t->got, data + i, take);
		t->got = (uint16_t)(t->got + take);
		i += take;
		t->ready = t->got == t->len;
	}
	*used = i;
	if (!t->ready)
		return 0;
	*msg = t->msg;
	*msg_len = t->len;
	return 1;
}

bool dns_tcp_partial(const struct dns_tcp *t)
{
	return !t->err && !t->ready && t->hdr_len > 0;
}

size_t dns_tcp_want(const struct dns_tcp *t)
{
	if (t->err)
		return 0;
	if (t->ready || t->hdr_len < 2)
		return t->ready ? 2 : 2u - t->hdr_len;
	return (size_t)(t->len - t->got);
}

long dns_tcp_frame(uint8_t *buf, size_t cap, size_t msg_len)
{
	if (msg_len > UINT16_MAX || cap < 2 || cap - 2 < msg_len)
		return -EMSGSIZE;
	put_be16(buf, (uint16_t)msg_len);
	return (long)msg_len + 2;
}
