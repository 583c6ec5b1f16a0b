/* tests/fake_keyd.h: a fake keyd for the API tests: receipt signatures
 * (proto/netd_keyd.h, IMSG_RECEIPT_SIGN_REQ), answered by the test as
 * keyd/keyd.c would, with the key keyd_key (tests/tlog_gen.h), or as
 * keyd_mode says. api_log.request_keyd = fake_request_keyd; keyd_answer()
 * hands the answer to api_log_keyd_reply() for tests/api_conn.h's conn. */
#ifndef DSHIELD_TESTS_FAKE_KEYD_H
#define DSHIELD_TESTS_FAKE_KEYD_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/receipt.h"
#include "net/api.h"
#include "proto/netd_keyd.h"
#include "tests/tlog_gen.h"      /* before api_conn.h, whose out it would shadow */
#include "tests/api_conn.h"

static struct tg_key *keyd_key;     /* the log key keyd signs with */

static bool keyd_up = true;
static int keyd_mode;              /* 0 sign; else an error to answer, or KEYD_WRONG / KEYD_SHORT */
#define KEYD_WRONG 1000            /* a receipt with another status */
#define KEYD_SHORT 1001            /* a reply cut short */
static bool keyd_has_q;
static uint32_t keyd_seq, keyd_q_seq;
static unsigned keyd_questions;
static struct receipt_sign_req_msg keyd_q;

__attribute__((unused))
static int fake_request_keyd(void *ctx, uint32_t conn_id, uint32_t type, const void *p,
			     size_t len, uint32_t *seq)
{
	(void)ctx;
	(void)conn_id;
	if (!keyd_up)
		return -ENOTCONN;
	if (type != IMSG_RECEIPT_SIGN_REQ || len != sizeof keyd_q)
		abort();
	memcpy(&keyd_q, p, sizeof keyd_q);
	keyd_has_q = true;
	keyd_questions++;
	*seq = keyd_q_seq = ++keyd_seq + 100000;
	return 0;
}

/* keyd answers the question it has, as keyd/keyd.c would (or as
 * keyd_mode says). */
__attribute__((unused))
static bool keyd_answer(void)
{
	static struct receipt_sign_reply_msg m;
	struct receipt r;
	long n = 0;

	if (!keyd_has_q)
		return false;
	keyd_has_q = false;
	memset(&m, 0, sizeof m);
	memset(&r, 0, sizeof r);
	snprintf(r.origin, sizeof r.origin, "%s", keyd_key->k.name);
	memcpy(r.function, keyd_q.function, sizeof r.function - 1);
	memcpy(r.invocation, keyd_q.invocation, sizeof r.invocation - 1);
	memcpy(r.code, keyd_q.code_sha256, 32);
	memcpy(r.input, keyd_q.input_sha256, 32);
	memcpy(r.output, keyd_q.output_sha256, 32);
	r.status = keyd_q.status + (keyd_mode == KEYD_WRONG);
	r.time_ns = keyd_q.time_ns;
	r.nrecords = keyd_q.nrecords;
	memcpy(r.record, keyd_q.record, sizeof r.record);
	r.omitted = keyd_q.omitted;
	if (keyd_mode == 0 || keyd_mode >= KEYD_WRONG)
		n = receipt_sign(m.note, sizeof m.note - 1, &r, &keyd_key->k, &keyd_key->sk);
	else
		m.error = keyd_mode;
	if (n < 0)
		abort();
	m.note_len = (uint32_t)n;
	size_t len = offsetof(struct receipt_sign_reply_msg, note) + (size_t)n + 1;
	api_log_keyd_reply(&st, &conn, keyd_q_seq, IMSG_RECEIPT_SIGN_REPLY, &m,
			   keyd_mode == KEYD_SHORT ? len - 2 : len);
	return true;
}

#endif
