/* tests/fuzz/fuzz_dns.c: libFuzzer target for the DNS responder (net/dns.h):
 * what a function sends to 127.0.0.1:53 over UDP (one message) and TCP
 * (a byte stream of length-prefixed messages).
 *
 * Input: byte 0 holds the caller's verdict (bit 0: the name is allowed)
 * and the TCP split step (bits 1..7, plus 1); the rest is both the UDP
 * datagram and the TCP stream. Beyond "no crash":
 * - a parse that succeeds gives a canonical name and a question that is
 *   the message's own bytes;
 * - every reply is at most DNS_REPLY_MAX (<= 512) bytes, passes the strict
 *   reading of tests/dns_reply_check.h, carries the RCODE the parse's
 *   result calls for, and, read back as a query, is a response that gets
 *   no reply (two responders cannot loop);
 * - the TCP reader gives the same messages and verdict fed whole and fed
 *   in steps, and each message is served like a datagram. */
#include "tests/dns_reply_check.h"
#include "lib/errbuf.h"
#include "net/dns.h"
#include "net/fakeaddr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 64

static struct fakeaddr_table tab;
static const uint8_t key[FAKEADDR_KEY_LEN] = { 7 };

/* The RCODE a failed parse's reply carries, by dns.h's table. */
static int rcode_for(int rc)
{
	switch (rc) {
	case -EOPNOTSUPP: return DNS_NOTIMP;
	case -EBADMSG: case -EMSGSIZE: return DNS_FORMERR;
	case -EPROTONOSUPPORT: return DNS_BADVERS;
	case -EPERM: return DNS_REFUSED;
	default: abort();
	}
}

static void serve(const uint8_t *m, size_t n, bool allowed)
{
	static struct dns_query q, back;
	static uint8_t out[DNS_REPLY_MAX];
	char err[ERRBUF_LEN];
	struct dns_view v;
	enum dns_result res;
	uint32_t addr = 0;
	int rc, want;
	long len;

	rc = dns_query_parse(m, n, &q, err, sizeof err);
	if (rc == 0) {
		if (!dns_name_canonical(q.name, q.name_len) || q.name[q.name_len] != '\0' ||
		    q.qwire_len > DNS_QWIRE_MAX || memcmp(q.qwire, m + DNS_HDR, q.qwire_len) != 0)
			abort();
	}
	len = dns_answer(&q, rc, allowed, &tab, out, sizeof out, &res, &addr);
	if (len < 0 || len > DNS_REPLY_MAX)
		abort();
	if (len == 0) {
		if (rc != -ENOMSG || res != DNS_RES_DROP)
			abort();
		return;
	}
	if (rc == -ENOMSG)
		abort();
	want = rc ? rcode_for(rc) : !allowed || res == DNS_RES_FULL ? DNS_REFUSED : DNS_NOERROR;
	if (dns_check_reply(out, (size_t)len, m, n, &v) != want)
		abort();
	if (v.has_addr != (res == DNS_RES_ADDR) || (v.has_addr && v.addr != addr))
		abort();
	if (v.has_addr && fakeaddr_name(&tab, addr, NULL) == NULL)
		abort();
	if (dns_query_parse(out, (size_t)len, &back, err, sizeof err) != -ENOMSG)
		abort();
}

struct seen {
	int n, rc;
	size_t len[MAX_MSGS];
	uint32_t sum[MAX_MSGS];
};

static void tcp_run(const uint8_t *s, size_t n, size_t step, bool allowed, struct seen *sn)
{
	struct dns_tcp t;

	memset(sn, 0, sizeof *sn);
	dns_tcp_init(&t);
	for (size_t off = 0; off < n && sn->rc >= 0;) {
		size_t len = n - off < step ? n - off : step;
		while (len && sn->rc >= 0) {
			const uint8_t *m;
			size_t used, mlen;
			int rc = dns_tcp_feed(&t, s + off, len, &used, &m, &mlen);
			if (used > len)
				abort();
			off += used;
			len -= used;
			if (rc < 0)
				sn->rc = rc;
			if (rc == 1) {
				uint32_t h = 0;
				if (mlen == 0 || mlen > DNS_MSG_MAX)
					abort();
				for (size_t k = 0; k < mlen; k++)
					h = h * 31 + m[k];
				if (sn->n < MAX_MSGS) {
					sn->len[sn->n] = mlen;
					sn->sum[sn->n] = h;
				}
				sn->n++;
				if (step == n)
					serve(m, mlen, allowed);
			}
		}
	}
	if (sn->rc == 0 && dns_tcp_partial(&t))
		sn->rc = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen whole, split;
	bool allowed;
	size_t step;

	if (size < 1 || size > 65536)
		return 0;
	allowed = data[0] & 1;
	step = (size_t)(data[0] >> 1) + 1;
	fakeaddr_init(&tab, key);
	serve(data + 1, size - 1, allowed);
	tcp_run(data + 1, size - 1, size - 1 ? size - 1 : 1, allowed, &whole);
	tcp_run(data + 1, size - 1, step, allowed, &split);
	if (memcmp(&whole, &split, sizeof whole) != 0)
		abort();
	return 0;
}
