/* net/dns.h: the DNS responder a function sees on 127.0.0.1:53, as engines
 * with no sockets (docs/DNS.md).
 *
 * netd serves it inside each function's network namespace, over UDP and
 * TCP. The engine offers parse -> the caller decides -> build:
 *
 *   UDP, one datagram in, at most one out (received into DNS_MSG_MAX + 1
 *   bytes, so that a longer datagram is seen whole and refused as such):
 *     rc = dns_query_parse(pkt, n, &q, err, sizeof err);
 *     allowed = rc == 0 && <the function's rules allow q.name>;
 *     n = dns_answer(&q, rc, allowed, &fn->fakes, out, sizeof out, &res);
 *     if (n > 0) sendto(...);     res says what to log (DNS_RES_REFUSED...)
 *   TCP, bytes in, replies out: dns_tcp_feed() yields each whole message
 *     (any split, several per read); answer it the same way into out + 2,
 *     then dns_tcp_frame() writes the length prefix.
 *
 * Queries (RFC 1035 §4.1; strict, bounded, never more than the bytes
 * given): a 12-byte header with QR = 0; opcode QUERY (else NOTIMP); exactly
 * one question, no answer or authority records, and in the additional
 * section nothing or one EDNS OPT record (RFC 6891: root owner, options
 * well formed, version 0, else BADVERS); no byte after the last record;
 * at most DNS_MSG_MAX bytes. The question's name is uncompressed labels
 * (a compression pointer or an extended label type is FORMERR, so no
 * pointer loop can exist), at most 255 bytes on the wire (253 as text).
 * Anything malformed is FORMERR. A well-formed question whose class is not
 * IN, whose name is the root, or whose name has a byte outside letters,
 * digits and hyphens (an underscore, a space, a dot inside a label, a
 * label starting or ending with '-') is REFUSED: no policy can allow it.
 * The flags AA, TC, Z, AD and CD of a query are ignored (dig sets AD);
 * RD is echoed.
 *
 * Answers (the decision table of dns_answer()):
 *   allowed name, QTYPE A        NOERROR, one A record: its fake address
 *                                (net/fakeaddr.h), TTL DNS_TTL
 *   allowed name, any other type NOERROR with no records (AAAA: so clients
 *                                fall back to IPv4; HTTPS/SVCB, MX, TXT,
 *                                ANY...: nothing to say)
 *   allowed name, table full     REFUSED (never another name's address)
 *   name not allowed             REFUSED, whatever the type
 *   malformed / bad opcode       FORMERR / NOTIMP (BADVERS for EDNS > 0)
 *   a response (QR = 1), or fewer than 12 bytes: no reply at all, so that
 *   two responders cannot bounce errors at each other.
 * Every reply echoes the question byte for byte (the query's spelling and
 * case: resolvers that randomise case check it), except NOTIMP and a
 * FORMERR whose question could not be read, which have none. Header:
 * QR = 1, the query's opcode, RD copied, RA = 1 (to the function this is
 * its recursive resolver), AA = 0. A query with an OPT record gets one
 * back (UDP payload size 512, version 0, DO copied, no options); one
 * without gets none.
 *
 * Size: a reply is at most DNS_REPLY_MAX (298) bytes, under the 512 of
 * plain UDP (RFC 1035 §4.2.1), so TC is never needed; a static assertion
 * in dns.c holds this. TCP carries the same replies.
 */
#ifndef DSHIELD_NET_DNS_H
#define DSHIELD_NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fakeaddr_table;

#define DNS_HDR        12
#define DNS_MSG_MAX    512           /* a query, UDP or TCP */
#define DNS_NAME_MAX   253           /* a name as text, no trailing dot */
#define DNS_WIRE_NAME  255           /* the same on the wire (RFC 1035 §2.3.4) */
#define DNS_QWIRE_MAX  (DNS_WIRE_NAME + 4)  /* a question: name, type, class */
/* header + question + A record (compressed owner: 16) + OPT (11) */
#define DNS_REPLY_MAX  (DNS_HDR + DNS_QWIRE_MAX + 16 + 11)
#define DNS_TTL        60            /* seconds, of an A answer */
#define DNS_EDNS_SIZE  512           /* the UDP payload size our OPT states */

enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_OPT = 41,
	DNS_T_SVCB = 64,
	DNS_T_HTTPS = 65,
	DNS_T_ANY = 255,
};

#define DNS_CLASS_IN 1

enum dns_rcode {
	DNS_NOERROR = 0,
	DNS_FORMERR = 1,
	DNS_SERVFAIL = 2,
	DNS_NXDOMAIN = 3,
	DNS_NOTIMP = 4,
	DNS_REFUSED = 5,
	DNS_BADVERS = 16,        /* extended (RFC 6891): only with an OPT record */
};

/* One query, as dns_query_parse() read it. */
struct dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd;                 /* recursion desired: echoed */
	bool edns;               /* a valid OPT record came: the reply has one */
	bool edns_do;            /* its DO bit: echoed (RFC 3225) */
	uint8_t edns_version;
	uint16_t edns_size;      /* the UDP payload size the client stated */
	uint16_t qtype, qclass;
	/* After a failed parse, the reply's RCODE, or -1: send nothing. */
	int rcode;
	/* The question as received, for the reply; 0 when it could not be
	 * read (the reply then has none). */
	size_t qwire_len;
	uint8_t qwire[DNS_QWIRE_MAX];
	/* The name, lowercased, without trailing dot, NUL terminated; valid
	 * as a canonical name (dns_name_canonical()) when the parse
	 * returned 0. */
	size_t name_len;
	char name[DNS_NAME_MAX + 1];
};

/* Reads one query message (msg[0..len)). Returns 0 for a query the caller
 * must decide on (class IN, a canonical name, any type), or a negative
 * errno with q->rcode set for the reply (see the top):
 *   -ENOMSG            no reply (a response, or no whole header); rcode -1
 *   -EOPNOTSUPP        opcode other than QUERY: NOTIMP
 *   -EBADMSG/-EMSGSIZE malformed or too long: FORMERR
 *   -EPROTONOSUPPORT   EDNS version other than 0: BADVERS
 *   -EPERM             a well-formed question no rule can allow: REFUSED
 * with a one-line reason in err. dns_answer() or dns_reply_error() build
 * that reply. */
int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q, char *err,
		    size_t errcap);

/* name[0..len) is a canonical host name: 1..253 bytes of dot-separated
 * labels of 1..63 lowercase letters, digits and hyphens, no label starting
 * or ending with '-', no trailing dot. */
bool dns_name_canonical(const char *name, size_t len);

/* Reply builders, each into out[0..cap) and echoing q's question; each
 * returns the reply's length or -ENOSPC (cap too small: DNS_REPLY_MAX is
 * always enough) or -EINVAL (a builder that does not fit q). */

/* NOERROR with one A record of addr (host byte order) for a query of
 * type A that parsed. */
long dns_reply_a(const struct dns_query *q, uint32_t addr, uint8_t *out, size_t cap);
/* NOERROR with no records, for a query that parsed. */
long dns_reply_nodata(const struct dns_query *q, uint8_t *out, size_t cap);
/* The header and question with RCODE rcode (REFUSED, SERVFAIL...; an
 * extended one such as BADVERS needs q->edns). */
long dns_reply_rcode(const struct dns_query *q, int rcode, uint8_t *out, size_t cap);
/* The reply to a failed parse (q->rcode): its length, or 0 when nothing
 * must be sent. */
long dns_reply_error(const struct dns_query *q, uint8_t *out, size_t cap);

/* What dns_answer() did, for netd's log. */
enum dns_result {
	DNS_RES_DROP,            /* nothing sent (a response, a runt) */
	DNS_RES_ADDR,            /* an A record: *addr */
	DNS_RES_NODATA,          /* allowed name, no record of that type */
	DNS_RES_REFUSED,         /* name not allowed: log dns_refused */
	DNS_RES_FULL,            /* allowed, but the table is full: REFUSED */
	DNS_RES_ERROR,           /* FORMERR, NOTIMP, BADVERS or REFUSED by form */
};

/* The reply to a query by the table at the top: parse_rc is what
 * dns_query_parse() returned for q, allowed the caller's verdict on
 * q->name (read only when parse_rc is 0), t the function's table (an
 * allowed name asked for A gets its address there). Returns the reply's
 * length (0: send nothing) or -ENOSPC when cap is below DNS_REPLY_MAX;
 * *res says what was answered and, for DNS_RES_ADDR, *addr the address
 * (addr may be NULL). */
long dns_answer(const struct dns_query *q, int parse_rc, bool allowed,
		struct fakeaddr_table *t, uint8_t *out, size_t cap,
		enum dns_result *res, uint32_t *addr);

/* DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message behind a
 * two-byte big-endian length. The reader is a caller-owned state machine
 * fed whatever byte ranges arrived (a message split anywhere, several
 * pipelined in one read); no allocation. A length of 0 or over
 * DNS_MSG_MAX is an error, sticky: the stream lost its framing and the
 * caller closes the connection. Fields are private. (lib/frame has the
 * same feed interface for a 4-byte length and a type byte; this header
 * is a 2-byte length alone.) */
struct dns_tcp {
	uint8_t msg[DNS_MSG_MAX];
	uint16_t len;            /* the message's length, once hdr_len is 2 */
	uint16_t got;            /* its bytes received */
	uint8_t hdr[2];
	uint8_t hdr_len;         /* length bytes received */
	bool ready;              /* a whole message waits in msg */
	int err;                 /* 0 or the sticky negative errno */
};

void dns_tcp_init(struct dns_tcp *t);

/* Takes bytes from data[0..len), stopping right behind a complete
 * message, so *used may be less than len: the rest is fed again after the
 * message was handled. Returns 1 with the message in *msg, *msg_len
 * (valid until the next call), 0 when every byte was taken and no message
 * is complete, or -EMSGSIZE (length 0 or over DNS_MSG_MAX) from then on. */
int dns_tcp_feed(struct dns_tcp *t, const uint8_t *data, size_t len, size_t *used,
		 const uint8_t **msg, size_t *msg_len);

/* A message has begun and is not complete (EOF now cuts it short). */
bool dns_tcp_partial(const struct dns_tcp *t);

/* How many bytes complete the length prefix or the message now being
 * read (1 or 2 for the prefix, 1 to DNS_MSG_MAX for the message; 0 after
 * an error): a server that reads exactly that many never holds bytes of
 * the next query while its answer to this one waits to be sent. */
size_t dns_tcp_want(const struct dns_tcp *t);

/* Frames a reply for TCP in place: the reply's msg_len bytes are at
 * buf + 2 (build it there), and the length goes into buf[0..2). Returns
 * msg_len + 2, or -EMSGSIZE when msg_len + 2 exceeds cap or 65535. */
long dns_tcp_frame(uint8_t *buf, size_t cap, size_t msg_len);

#endif
