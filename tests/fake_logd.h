/* tests/fake_logd.h: a fake logd for the API tests, over a real
 * SEQPACKET socketpair and the wire format of proto/logd.h: netd's side
 * (api_state.request_log) sends each question with its own sequence
 * number; the test, playing logd, reads the question and sends the
 * answer; logd_deliver() then hands every answer that arrived to
 * api_log_reply() as netd's loop does. Uses tests/api_conn.h's st and
 * conn. */
#ifndef DSHIELD_TESTS_FAKE_LOGD_H
#define DSHIELD_TESTS_FAKE_LOGD_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/imsg.h"
#include "net/api.h"
#include "proto/logd.h"
#include "tests/api_conn.h"

static int logd_sv[2] = { -1, -1 };   /* [0] netd's end, [1] logd's */
static uint32_t logd_seq;
static unsigned logd_questions;
static struct imsg logd_q;             /* the question logd read last */
static struct imsg logd_a;

/* api_state.request_log over the socketpair. */
__attribute__((unused))
static int fake_request_log(void *ctx, uint32_t conn_id, uint32_t type, const void *p,
			    size_t len, uint32_t *seq)
{
	(void)ctx;
	(void)conn_id;
	if (logd_sv[0] < 0)
		return -ENOTCONN;
	if (++logd_seq == 0)
		logd_seq = 1;
	int r = imsg_send(logd_sv[0], type, logd_seq, p, len, NULL, 0);
	if (r < 0)
		return r;
	*seq = logd_seq;
	logd_questions++;
	return 0;
}

__attribute__((unused))
static void logd_close(void)
{
	for (int i = 0; i < 2; i++) {
		if (logd_sv[i] >= 0)
			close(logd_sv[i]);
		logd_sv[i] = -1;
	}
}

/* A fresh channel (as init hands one over), non-blocking both ends. */
__attribute__((unused))
static void logd_open(void)
{
	logd_close();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, logd_sv) != 0)
		abort();
	for (int i = 0; i < 2; i++)
		fcntl(logd_sv[i], F_SETFL, fcntl(logd_sv[i], F_GETFL) | O_NONBLOCK);
	logd_questions = 0;
}

/* logd reads the next question: its type, or 0 when there is none. */
__attribute__((unused))
static uint32_t logd_next(void)
{
	if (logd_sv[1] < 0 || imsg_recv(logd_sv[1], &logd_q) < 0)
		return 0;
	return logd_q.hdr.type;
}

/* logd answers the question it read last (its sequence number echoed). */
__attribute__((unused))
static void logd_answer(uint32_t type, const void *p, size_t len)
{
	if (imsg_send(logd_sv[1], type, logd_q.hdr.id, p, len, NULL, 0) < 0)
		abort();
}

/* netd's loop: every answer that arrived goes to the API. */
__attribute__((unused))
static unsigned logd_deliver(void)
{
	unsigned n = 0;

	while (logd_sv[0] >= 0 && imsg_recv(logd_sv[0], &logd_a) == 0) {
		api_log_reply(&st, &conn, logd_a.hdr.id, logd_a.hdr.type, logd_a.payload,
			      logd_a.hdr.len);
		n++;
	}
	return n;
}

/* logd takes the attestation entry and answers with error e. Returns
 * the question's type (IMSG_LOG_APPEND expected). */
__attribute__((unused))
static uint32_t logd_appended(int32_t e)
{
	struct log_appended_msg a = { .error = e, .index = 7 };
	uint32_t t = logd_next();

	if (t != 0) {
		logd_answer(IMSG_LOG_APPENDED, &a, sizeof a);
		logd_deliver();
	}
	return t;
}

/* logd answers a receipt hook's question for the invocation's records
 * as for an invocation whose only record is its entry, at index. Returns
 * the question's type (IMSG_LOG_FIND_REQ expected). */
__attribute__((unused))
static uint32_t logd_found_alone(uint64_t index)
{
	static struct log_found_msg m;
	uint32_t t = logd_next();

	if (t != 0) {
		memset(&m, 0, sizeof m);
		m.count = 1;
		m.index[0] = index;
		m.entry = index;
		m.next = index + 1;
		logd_answer(IMSG_LOG_FOUND, &m, sizeof m);
		logd_deliver();
	}
	return t;
}

#endif
