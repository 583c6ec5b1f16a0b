/* tests/test_logd.c: the logd core (logd/logd.h) over SEQPACKET
 * socketpairs, with a real store in a temporary directory and a fake keyd
 * played by the test (it signs with a real log key, crypto/checkpoint):
 *
 *   - the boot entry: asked of keyd, appended once, not again after a
 *     restart in the same boot, again for another instance;
 *   - appends: no reply before the round's sync; N appends in one round
 *     are one sync and N replies in order; malformed entries, boot entries
 *     and descriptors refused; a failed store refuses every later append
 *     and reports LOGD_STATE_FAILED to init;
 *   - checkpoints: signed once the interval passed, at once for a fresh
 *     request (whose reply waits for keyd), -ENOENT before any, a keyd
 *     refusal passed on, -EAGAIN without keyd;
 *   - reads in chunks reassemble to logstore_bundle/logstore_tile's bytes,
 *     built once per object; errors for bad widths, offsets, beyond the tree;
 *   - proofs verify with crypto/merkle; find pages through the index;
 *   - malformed requests answered -EBADMSG; replies owed to a channel that
 *     was replaced are dropped; a restart keeps every acknowledged entry.
 */
#include "crypto/checkpoint.h"
#include "crypto/log_entry.h"
#include "crypto/merkle.h"
#include "keyd/logkey.h"
#include "logd/logd.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct logd D;             /* ~4.3 MiB with its buffer: not on the stack */
static struct imsg M;             /* the last message a test end read */
static struct logkey KEY;
static char base[64], dir[96];
static int init_end = -1, netd_end = -1, keyd_end = -1;
static uint64_t now = 1000000;     /* the core's clock: the test's */
static uint8_t big[LOGD_OBJ_MAX], want[LOGD_OBJ_MAX];
static const uint8_t INSTANCE_A[16] = { 0xa1, 0xa2, 0xa3 }, INSTANCE_B[16] = { 0xb1 };

static struct logd_config_msg CFG = { .checkpoint_interval_ms = 1000, .sync = 1 };

/* --- channels ----------------------------------------------------------------------------- */

/* A fresh channel: logd's end to the core, the other end returned. */
static int channel(enum logd_chan chan)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
		exit(2);
	if (chan == LOGD_CHAN_INIT)
		D.fd[chan] = sv[0];
	else
		logd_set_peer(&D, chan, sv[0]);
	return sv[1];
}

/* One loop round: every channel read, then the group commit. */
static void round_at(uint64_t t)
{
	for (unsigned c = 0; c < LOGD_CHAN_COUNT; c++)
		if (D.fd[c] >= 0 && logd_readable(&D, (enum logd_chan)c) == -EPIPE)
			logd_set_peer(&D, (enum logd_chan)c, -1);
	logd_end_round(&D, t);
}

static void round_now(void) { round_at(now); }

/* The error field every reply starts with (payloads are not aligned for
 * the structs: copied, never cast). */
static int32_t reply_error(void)
{
	int32_t e;
	memcpy(&e, M.payload, sizeof e);
	return e;
}

/* Reads one message on a test end into M: 0, or -EAGAIN when none. */
static int get(int fd)
{
	return imsg_recv(fd, &M);
}

static void drain(int fd)
{
	while (get(fd) == 0)
		;
}

/* --- entries ------------------------------------------------------------------------------ */

static long make_egress(uint8_t *out, size_t cap, const char *fn, size_t pathlen, uint64_t t)
{
	static char path[4096];
	struct log_entry e;

	memset(&e, 0, sizeof e);
	memset(path, 'p', sizeof path);
	path[0] = '/';
	e.type = LOG_EGRESS;
	e.time_ns = t;
	e.u.egress.function = (struct log_str){ fn, strlen(fn) };
	e.u.egress.invocation = (struct log_str){ "inv", 3 };
	e.u.egress.method = (struct log_str){ "GET", 3 };
	e.u.egress.scheme = (struct log_str){ "https", 5 };
	e.u.egress.host = (struct log_str){ "example.com", 11 };
	e.u.egress.port = 443;
	e.u.egress.path = (struct log_str){ path, pathlen };
	e.u.egress.decision = LOG_ALLOW;
	return log_entry_encode(out, cap, &e);
}

static long make_boot(uint8_t *out, size_t cap)
{
	struct log_entry e;

	memset(&e, 0, sizeof e);
	e.type = LOG_BOOT;
	e.u.boot.backend = (struct log_str){ "sim", 3 };
	e.u.boot.instance = (struct log_str){ "x", 1 };
	return log_entry_encode(out, cap, &e);
}

static int append_fn(uint32_t id, const char *fn, size_t pathlen)
{
	uint8_t e[LOG_APPEND_MAX];
	long n = make_egress(e, sizeof e, fn, pathlen, id);

	if (n < 0)
		return (int)n;
	return imsg_send(netd_end, IMSG_LOG_APPEND, id, e, (size_t)n, NULL, 0);
}

/* The answers of the last IMSG_LOG_APPENDED_MANY not taken yet, and the
 * answer messages read (a round's answers are one message). */
static struct log_appended_one many[LOG_APPENDED_MANY_MAX];
static unsigned many_n, many_i, answer_msgs;

/* Reads the next answer on netd's end, from a lone IMSG_LOG_APPENDED or
 * an IMSG_LOG_APPENDED_MANY: its error, or INT32_MIN when there is none
 * (or the message is malformed). */
static int32_t appended(uint32_t *id, uint64_t *index)
{
	struct log_appended_msg a;

	if (many_i == many_n) {
		many_i = many_n = 0;
		if (get(netd_end) < 0)
			return INT32_MIN;
		answer_msgs++;
		if (M.hdr.type == IMSG_LOG_APPENDED_MANY) {
			size_t n = log_appended_many_count(M.hdr.len);
			if (M.hdr.id != 0 || n == 0)
				return INT32_MIN;
			memcpy(many, M.payload, M.hdr.len);
			many_n = (unsigned)n;
		} else if (imsg_get(&M, IMSG_LOG_APPENDED, &a, sizeof a) < 0) {
			return INT32_MIN;
		} else {
			many[0] = (struct log_appended_one){ M.hdr.id, a.error, a.index };
			many_n = 1;
		}
	}
	const struct log_appended_one *o = &many[many_i++];
	if (id)
		*id = o->id;
	if (index)
		*index = o->index;
	return o->error;
}

/* --- the fake keyd ------------------------------------------------------------------------ */

static bool keyd_boot(const uint8_t instance[16], int32_t error)
{
	struct log_boot_reply_msg b;

	if (get(keyd_end) < 0 || M.hdr.type != IMSG_LOG_BOOT_REQ || M.hdr.len != 0)
		return false;
	memset(&b, 0, sizeof b);
	b.error = error;
	b.backend = 2;   /* sim */
	b.has_manifest = 1;
	memset(b.manifest_sha256, 0x11, 32);
	memcpy(b.instance_id, instance, 16);
	return imsg_send(keyd_end, IMSG_LOG_BOOT_REPLY, M.hdr.id, &b, sizeof b, NULL, 0) == 0;
}

/* Reads a sign request into *req; answers it signed (error 0) or refused. */
static bool keyd_sign(int32_t error, struct log_sign_req_msg *req)
{
	static struct log_sign_reply_msg r;
	struct checkpoint c;
	long n;

	if (get(keyd_end) < 0 || imsg_get(&M, IMSG_LOG_SIGN_REQ, req, sizeof *req) < 0)
		return false;
	memset(&r, 0, sizeof r);
	r.size = req->size;
	memcpy(r.root, req->root, 32);
	r.error = error;
	if (error == 0) {
		c = (struct checkpoint){ .origin = KEY.pub.name, .origin_len = KEY.pub.name_len,
					 .size = req->size };
		memcpy(c.root, req->root, 32);
		n = checkpoint_sign(r.note, sizeof r.note - 1, &c, &KEY.pub, &KEY.sk);
		if (n < 0)
			return false;
		r.note_len = (uint32_t)n;
	}
	return imsg_send(keyd_end, IMSG_LOG_SIGN_REPLY, M.hdr.id, &r, sizeof r, NULL, 0) == 0;
}

/* Reads a sign request and leaves it unanswered. */
static bool keyd_request(struct log_sign_req_msg *req)
{
	return get(keyd_end) == 0 && imsg_get(&M, IMSG_LOG_SIGN_REQ, req, sizeof *req) == 0;
}

/* Reads an IMSG_LOG_CHECKPOINT into *m: 0, or -1 when there is none. */
static int checkpoint_reply(struct log_checkpoint_msg *m)
{
	if (get(netd_end) < 0 || imsg_get(&M, IMSG_LOG_CHECKPOINT, m, sizeof *m) < 0)
		return -1;
	return 0;
}

static int ask_checkpoint(uint32_t id, uint8_t fresh)
{
	struct log_checkpoint_req_msg q = { .fresh = fresh };
	return imsg_send(netd_end, IMSG_LOG_CHECKPOINT_REQ, id, &q, sizeof q, NULL, 0);
}

/* --- the tests ---------------------------------------------------------------------------- */

static void open_logd(void)
{
	char err[ERRBUF_LEN];

	if (logd_open(&D, &CFG, dir, err) != 0) {
		diag("logd_open: %s", err);
		exit(2);
	}
	init_end = channel(LOGD_CHAN_INIT);
	netd_end = channel(LOGD_CHAN_NETD);
}

static void close_logd(void)
{
	close(init_end);
	close(netd_end);
	if (keyd_end >= 0)
		close(keyd_end);
	close(D.fd[LOGD_CHAN_INIT]);
	logd_close(&D);
	keyd_end = -1;
}

static void restart_logd(void)
{
	close_logd();
	open_logd();
}

static void test_boot(void)
{
	struct logd_status_msg st;

	round_now();
	ok(get(init_end) == 0 && imsg_get(&M, IMSG_LOGD_STATUS, &st, sizeof st) == 0 &&
	   st.state == LOGD_STATE_READY && st.size == 0, "a fresh store: READY, 0 entries");
	is_int(get(init_end), -EAGAIN, "the same state is not reported twice");
	keyd_end = channel(LOGD_CHAN_KEYD);
	ok(keyd_boot(INSTANCE_A, 0), "a keyd channel: logd asks for the boot's facts");
	round_now();
	is_int((int)logstore_committed(&D.store), 1, "the boot entry is committed");
	is_int((int)D.syncs, 1, "with one sync");
	ok(!strcmp(D.last_instance, "a1a2a3" "00000000000000000000000000"), "its instance in hex");
}

static void test_append_order(void)
{
	uint64_t before = logstore_committed(&D.store), syncs = D.syncs, idx = 0;
	uint32_t id = 0;

	is_int(append_fn(7, "f1", 10), 0, "append sent");
	is_int(logd_readable(&D, LOGD_CHAN_NETD), 0, "read by logd");
	is_int(get(netd_end), -EAGAIN, "no reply before the sync");
	ok(logstore_committed(&D.store) == before && D.syncs == syncs, "nothing committed yet");
	logd_end_round(&D, now);
	is_int(appended(&id, &idx), 0, "after the round's sync: appended");
	ok(id == 7 && idx == before, "its id echoed, the next index (%llu)", (unsigned long long)idx);
	ok(logstore_committed(&D.store) == before + 1 && D.syncs == syncs + 1, "one sync, committed");
}

static void test_group_commit(void)
{
	uint64_t first = logstore_committed(&D.store), syncs = D.syncs, idx;
	uint32_t id;
	bool in_order = true;

	for (uint32_t i = 0; i < 50; i++)
		if (append_fn(100 + i, i % 2 ? "f1" : "f2", 20) != 0)
			in_order = false;
	round_now();
	is_int((int)(D.syncs - syncs), 1, "50 appends in one round: one sync");
	unsigned msgs = answer_msgs;
	for (uint32_t i = 0; i < 50; i++)
		if (appended(&id, &idx) != 0 || id != 100 + i || idx != first + i)
			in_order = false;
	ok(in_order, "50 replies, in order, consecutive indices");
	is_int((int)(answer_msgs - msgs), 1, "in one IMSG_LOG_APPENDED_MANY");
	is_int(get(netd_end), -EAGAIN, "and nothing more");
}

/* A round's answers go one message per channel: a lone one as
 * IMSG_LOG_APPENDED, more as IMSG_LOG_APPENDED_MANY of at most
 * LOG_APPENDED_MANY_MAX (a full batch syncs early and answers then). */
static void test_answers(void)
{
	uint64_t first = logstore_committed(&D.store), idx;
	uint32_t id;
	uint8_t e[LOG_APPEND_MAX];
	long n = make_egress(e, sizeof e, "f3", 10, 1);
	int sbx = channel(LOGD_CHAN_SANDBOXD);
	bool in_order = true;

	ok(n > 0 && append_fn(300, "f8", 5) == 0 &&
	   imsg_send(sbx, IMSG_LOG_APPEND, 77, e, (size_t)n, NULL, 0) == 0 &&
	   append_fn(301, "f8", 5) == 0, "two appends on netd's channel, one on sandboxd's between");
	round_now();
	unsigned msgs = answer_msgs;
	ok(appended(&id, &idx) == 0 && id == 300 && idx == first &&
	   appended(&id, &idx) == 0 && id == 301 && idx == first + 1,
	   "netd's two answers (its channel is read first), with their indices");
	is_int((int)(answer_msgs - msgs), 1, "in one message");
	struct log_appended_msg a;
	ok(get(sbx) == 0 && M.hdr.id == 77 && imsg_get(&M, IMSG_LOG_APPENDED, &a, sizeof a) == 0 &&
	   a.error == 0 && a.index == first + 2, "sandboxd's lone answer: IMSG_LOG_APPENDED, its index");
	is_int(get(sbx), -EAGAIN, "nothing else for sandboxd");
	first += 3;

	/* LOGD_BATCH_MAX + 10 in one round, read in two parts (the socket's
	 * buffer): the full batch answers at once, the rest at the round's end */
	for (uint32_t i = 0; i < 150; i++)
		in_order &= append_fn(1000 + i, "f8", 5) == 0;
	logd_readable(&D, LOGD_CHAN_NETD);
	for (uint32_t i = 150; i < LOGD_BATCH_MAX + 10; i++)
		in_order &= append_fn(1000 + i, "f8", 5) == 0;
	logd_readable(&D, LOGD_CHAN_NETD);
	logd_end_round(&D, now);
	msgs = answer_msgs;
	for (uint32_t i = 0; i < LOGD_BATCH_MAX + 10; i++)
		in_order &= appended(&id, &idx) == 0 && id == 1000 + i && idx == first + i;
	ok(in_order, "%d answers in order", LOGD_BATCH_MAX + 10);
	is_int((int)(answer_msgs - msgs), 2, "in two messages (%d, then 10)", LOG_APPENDED_MANY_MAX);
	is_int(get(netd_end), -EAGAIN, "and nothing more");
	logd_set_peer(&D, LOGD_CHAN_SANDBOXD, -1);
	close(sbx);
}

static int append_lazy(uint32_t id)
{
	uint8_t e[LOG_APPEND_MAX];
	long n = make_egress(e, sizeof e, "f1", 10, id);

	return n < 0 ? (int)n : imsg_send(netd_end, IMSG_LOG_APPEND_LAZY, id, e, (size_t)n, NULL, 0);
}

/* IMSG_LOG_APPEND_LAZY: indexed at once, synced LOG_APPEND_LAZY_MS after
 * the first round that saw it or with the next append something waits
 * for, and acknowledged only once durable either way. */
static void test_lazy(void)
{
	uint64_t first = logstore_committed(&D.store), syncs = D.syncs, idx;
	uint32_t id;

	is_int(append_lazy(200), 0, "a lazy append sent");
	round_at(now);
	is_int(get(netd_end), -EAGAIN, "alone: no reply in its round");
	ok(D.syncs == syncs && logstore_committed(&D.store) == first, "no sync, nothing committed");
	is_int(logd_wait_ms(&D, now), LOG_APPEND_LAZY_MS, "the loop sleeps at most until it is due");
	round_at(now + LOG_APPEND_LAZY_MS - 1);
	is_int(get(netd_end), -EAGAIN, "still held 1 ms before it is due");
	round_at(now + LOG_APPEND_LAZY_MS);
	ok(appended(&id, &idx) == 0 && id == 200 && idx == first, "due: synced and acknowledged");
	ok(D.syncs == syncs + 1 && logd_wait_ms(&D, now) == -1, "one sync; nothing left to wait for");
	is_int(append_lazy(199), 0, "a lazy append");
	round_at(now);
	logd_sync_now(&D);
	ok(appended(&id, NULL) == 0 && id == 199, "logd_sync_now (its exit) syncs it at once");
	first++;
	syncs++;

	/* a lazy one, then one something waits for: one sync for both */
	is_int(append_lazy(201), 0, "a lazy append");
	round_at(now);
	is_int(append_fn(202, "f1", 10), 0, "then an awaited one, a round later");
	round_at(now);
	ok(appended(&id, &idx) == 0 && id == 201 && idx == first + 1 &&
	   appended(&id, &idx) == 0 && id == 202 && idx == first + 2,
	   "both acknowledged, in order, in the awaited one's round");
	is_int((int)(D.syncs - syncs), 2, "with one sync between them");
}

static void test_malformed(void)
{
	uint8_t e[512];
	long n = make_boot(e, sizeof e);
	uint64_t size = logstore_committed(&D.store);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct log_read_req_msg rq = { .kind = 9, .width = 1 };
	struct log_proof_req_msg pq = { .kind = 3, .b = 1 };
	struct log_find_req_msg fq;
	struct log_read_msg rm;

	imsg_send(netd_end, IMSG_LOG_APPEND, 1, "garbage", 7, NULL, 0);
	imsg_send(netd_end, IMSG_LOG_APPEND, 2, NULL, 0, NULL, 0);
	imsg_send(netd_end, IMSG_LOG_APPEND, 3, e, (size_t)n, NULL, 0);
	e[0] = 2;   /* another version */
	imsg_send(netd_end, IMSG_LOG_APPEND, 4, e, (size_t)n, NULL, 0);
	n = make_egress(e, sizeof e, "f", 1, 0);
	imsg_send(netd_end, IMSG_LOG_APPEND, 5, e, (size_t)n, &devnull, 1);
	imsg_send(netd_end, IMSG_LOG_APPEND, 6, e, (size_t)n - 1, NULL, 0);
	round_now();
	is_int(appended(NULL, NULL), -EBADMSG, "garbage: -EBADMSG");
	is_int(appended(NULL, NULL), -EBADMSG, "an empty entry: -EBADMSG");
	is_int(appended(NULL, NULL), -EPERM, "a boot entry from netd: -EPERM");
	is_int(appended(NULL, NULL), -EBADMSG, "another version: -EBADMSG");
	is_int(appended(NULL, NULL), -EBADMSG, "a descriptor attached: -EBADMSG");
	is_int(appended(NULL, NULL), -EBADMSG, "a truncated entry: -EBADMSG");
	ok(logstore_committed(&D.store) == size, "nothing appended");

	imsg_send(netd_end, IMSG_LOG_READ_REQ, 8, &rq, sizeof rq, NULL, 0);
	imsg_send(netd_end, IMSG_LOG_READ_REQ, 9, &rq, sizeof rq - 1, NULL, 0);
	imsg_send(netd_end, IMSG_LOG_PROOF_REQ, 10, &pq, sizeof pq, NULL, 0);
	memset(&fq, 'a', sizeof fq);   /* no NUL */
	imsg_send(netd_end, IMSG_LOG_FIND_REQ, 11, &fq, sizeof fq, NULL, 0);
	imsg_send(netd_end, IMSG_LOG_CHECKPOINT_REQ, 12, "x", 1, NULL, 0);
	imsg_send(netd_end, 4242, 13, NULL, 0, NULL, 0);
	round_now();
	ok(get(netd_end) == 0 && M.hdr.type == IMSG_LOG_READ && M.hdr.id == 8 &&
	   (memcpy(&rm, M.payload, sizeof rm), rm.error == -EBADMSG), "a read of kind 9: -EBADMSG");
	ok(get(netd_end) == 0 && M.hdr.id == 9 && (memcpy(&rm, M.payload, sizeof rm),
	   rm.error == -EBADMSG), "a short read request: -EBADMSG");
	ok(get(netd_end) == 0 && M.hdr.type == IMSG_LOG_PROOF && M.hdr.id == 10 &&
	   reply_error() == -EBADMSG, "a proof of kind 3: -EBADMSG");
	ok(get(netd_end) == 0 && M.hdr.type == IMSG_LOG_FOUND && M.hdr.id == 11 &&
	   reply_error() == -EBADMSG, "a function id without NUL: -EBADMSG");
	ok(get(netd_end) == 0 && M.hdr.type == IMSG_LOG_CHECKPOINT && M.hdr.id == 12 &&
	   reply_error() == -EBADMSG,
	   "a short checkpoint request: -EBADMSG");
	is_int(get(netd_end), -EAGAIN, "an unknown type: dropped without a reply");
	ok(D.malformed >= 11, "each counted (%llu)", (unsigned long long)D.malformed);
	close(devnull);
}

static void test_checkpoints(void)
{
	struct log_checkpoint_msg cm;
	struct log_sign_req_msg req;
	struct checkpoint c;
	uint8_t root[32];
	char err[ERRBUF_LEN];

	ask_checkpoint(20, 0);
	round_at(now);
	ok(checkpoint_reply(&cm) == 0 && cm.error == -ENOENT, "before any signature: -ENOENT");
	/* the boot round committed the boot entry and asked at once */
	ok(keyd_sign(0, &req), "keyd was asked to sign the first committed head");
	logstore_root(&D.store, 1, root);
	ok(req.size == 1 && !memcmp(root, req.root, 32), "its size and root: the boot entry's tree");
	round_now();
	ask_checkpoint(21, 0);
	round_now();
	ok(checkpoint_reply(&cm) == 0 && cm.error == 0 && cm.size == 1 &&
	   cm.note_len == strlen(cm.note), "then the note is served (%u bytes)", cm.note_len);
	ok(checkpoint_open(cm.note, cm.note_len, &KEY.pub, &c, err, sizeof err) == 0 &&
	   c.size == 1 && !memcmp(c.root, root, 32), "it opens with the key %s", err);

	append_fn(30, "f1", 5);
	round_at(now + 10);
	appended(NULL, NULL);
	is_int(get(keyd_end), -EAGAIN, "a new entry: no request before the interval");
	round_at(now + 1000);
	ok(keyd_sign(0, &req) && req.size == logstore_committed(&D.store),
	   "once the interval passed: signed again");
	round_at(now + 1000);
	round_at(now + 5000);
	is_int(get(keyd_end), -EAGAIN, "nothing new committed: no request");

	/* a caller asks for a fresh checkpoint once its append is acknowledged */
	append_fn(31, "f1", 5);
	round_at(now + 5000);
	is_int(appended(NULL, NULL), 0, "appended");
	ask_checkpoint(32, 1);
	round_at(now + 5001);
	is_int(checkpoint_reply(&cm), -1, "a fresh request waits for keyd");
	ok(keyd_sign(0, &req) && req.size == logstore_committed(&D.store),
	   "and makes logd ask at once, for the head it covers");
	round_at(now + 5002);
	ok(checkpoint_reply(&cm) == 0 && cm.error == 0 && cm.size == req.size && M.hdr.id == 32,
	   "then it is answered with the new note");
	ask_checkpoint(33, 1);
	round_at(now + 5003);
	ok(checkpoint_reply(&cm) == 0 && cm.error == 0 && M.hdr.id == 33,
	   "a fresh request the note covers already: at once");
	/* a fresh request covers the lazy appends before it (test_lazy) */
	append_lazy(39);
	ask_checkpoint(40, 1);
	round_at(now + 5003);
	is_int(appended(NULL, NULL), 0, "a lazy append, then a fresh request: synced in that round");
	ok(keyd_sign(0, &req) && req.size == logstore_committed(&D.store),
	   "logd asks for a head that covers it");
	round_at(now + 5003);
	ok(checkpoint_reply(&cm) == 0 && cm.error == 0 && cm.size == req.size && M.hdr.id == 40,
	   "and answers the request with that note");

	append_fn(34, "f2", 5);
	round_at(now + 5003);
	is_int(appended(NULL, NULL), 0, "appended");
	ask_checkpoint(35, 1);
	round_at(now + 5004);
	ok(keyd_sign(-EINVAL, &req), "keyd refuses the next head");
	round_at(now + 5005);
	ok(checkpoint_reply(&cm) == 0 && cm.error == -EINVAL && M.hdr.id == 35,
	   "the waiting request gets keyd's refusal");
	ask_checkpoint(36, 0);
	round_at(now + 5006);
	ok(checkpoint_reply(&cm) == 0 && cm.error == 0 && cm.size < logstore_committed(&D.store),
	   "the last note is still served");

	ask_checkpoint(37, 1);
	round_at(now + 7000);
	ok(keyd_request(&req), "keyd asked again");
	close(keyd_end);
	keyd_end = -1;
	round_at(now + 7001);
	ok(checkpoint_reply(&cm) == 0 && cm.error == -EAGAIN && M.hdr.id == 37,
	   "keyd gone with a request in flight: -EAGAIN");
	ask_checkpoint(38, 1);
	round_at(now + 7002);
	ok(checkpoint_reply(&cm) == 0 && cm.error == -EAGAIN, "no keyd: a fresh request gets -EAGAIN");
	keyd_end = channel(LOGD_CHAN_KEYD);
	is_int(get(keyd_end), -EAGAIN, "a new keyd is not asked for the boot again");
	round_at(now + 7003);
	ok(keyd_sign(0, &req) && req.size == logstore_committed(&D.store),
	   "the new keyd signs what is unsigned");
	round_at(now + 7004);
	now += 10000;
}

static void read_object(uint8_t kind, uint8_t level, uint64_t index, uint16_t width,
			uint8_t *out, long *total, int *chunks, int *err)
{
	struct log_read_req_msg q = { .kind = kind, .level = level, .width = width, .index = index };
	struct log_read_msg m;

	*total = -1;
	*chunks = 0;
	*err = 0;
	for (uint64_t off = 0;;) {
		q.offset = off;
		imsg_send(netd_end, IMSG_LOG_READ_REQ, 50, &q, sizeof q, NULL, 0);
		round_now();
		if (get(netd_end) < 0 || M.hdr.type != IMSG_LOG_READ || M.hdr.len < sizeof m) {
			*err = -999;
			return;
		}
		memcpy(&m, M.payload, sizeof m);
		if (m.error != 0 || M.hdr.len != sizeof m + m.len || m.offset != off) {
			*err = m.error ? m.error : -998;
			return;
		}
		memcpy(out + off, M.payload + sizeof m, m.len);
		(*chunks)++;
		off += m.len;
		*total = (long)m.total;
		if (off == m.total)
			return;
	}
}

static void test_reads(void)
{
	uint64_t builds;
	long total, n;
	int chunks, err;

	/* enough large entries that bundle 0 is full and many chunks long */
	while (logstore_committed(&D.store) < 340) {
		for (int i = 0; i < 40; i++)
			append_fn(60, "big", 3000);
		round_now();
		drain(netd_end);
	}
	builds = D.builds;
	read_object(LOG_READ_BUNDLE, 0, 0, 256, big, &total, &chunks, &err);
	n = logstore_bundle(&D.store, 0, 256, want, sizeof want);
	ok(err == 0 && total == n && chunks == (int)((n + LOG_READ_CHUNK - 1) / LOG_READ_CHUNK) &&
	   !memcmp(big, want, (size_t)n), "bundle 0 in %d chunks is logstore_bundle's %ld bytes",
	   chunks, n);
	is_int((int)(D.builds - builds), 1, "built once for all its chunks");
	read_object(LOG_READ_TILE, 0, 1, 44, big, &total, &chunks, &err);
	n = logstore_tile(&D.store, 0, 1, 44, want, sizeof want);
	ok(err == 0 && total == n && n == 44 * 32 && !memcmp(big, want, (size_t)n),
	   "the partial tile 0/1.p/44 is logstore_tile's");
	read_object(LOG_READ_TILE, 0, 1, 256, big, &total, &chunks, &err);
	is_int(err, -ENOENT, "a tile past the committed tree: -ENOENT");
	read_object(LOG_READ_BUNDLE, 0, 0, 0, big, &total, &chunks, &err);
	is_int(err, -EINVAL, "width 0: -EINVAL");
	read_object(LOG_READ_BUNDLE, 0, 0, 257, big, &total, &chunks, &err);
	is_int(err, -EINVAL, "width 257: -EINVAL");

	struct log_read_req_msg q = { .kind = LOG_READ_TILE, .width = 256, .offset = 8193 };
	struct log_read_msg m;
	imsg_send(netd_end, IMSG_LOG_READ_REQ, 51, &q, sizeof q, NULL, 0);
	round_now();
	ok(get(netd_end) == 0 && (memcpy(&m, M.payload, sizeof m), m.error == -EINVAL),
	   "an offset past the object: -EINVAL");
	q.offset = 8192;
	imsg_send(netd_end, IMSG_LOG_READ_REQ, 52, &q, sizeof q, NULL, 0);
	round_now();
	ok(get(netd_end) == 0 && (memcpy(&m, M.payload, sizeof m), m.error == 0 && m.len == 0 &&
	   m.total == 8192), "an offset at its end: 0 bytes");
}

static bool proof(uint8_t kind, uint64_t a, uint64_t b, struct log_proof_msg *p)
{
	struct log_proof_req_msg q = { .kind = kind, .a = a, .b = b };

	imsg_send(netd_end, IMSG_LOG_PROOF_REQ, 70, &q, sizeof q, NULL, 0);
	round_now();
	if (get(netd_end) < 0 || M.hdr.type != IMSG_LOG_PROOF || M.hdr.len != sizeof *p)
		return false;
	memcpy(p, M.payload, sizeof *p);
	return true;
}

static void test_proofs(void)
{
	static struct log_proof_msg p;
	uint64_t size = logstore_committed(&D.store);
	uint8_t leaf[32], root[32], old[32];
	unsigned w = size - 256 < 256 ? (unsigned)(size - 256) : 256;
	long n = logstore_bundle(&D.store, 1, w, want, sizeof want);
	bool good = n > 0;

	/* entry 256 + 7: its leaf from the bundle's bytes */
	const uint8_t *e = want;
	for (int i = 0; good && i < 7; i++)
		e += 2 + (e[0] << 8 | e[1]);
	merkle_leaf_hash(leaf, e + 2, (size_t)(e[0] << 8 | e[1]));
	logstore_root(&D.store, size, root);
	ok(good && proof(LOG_PROOF_INCLUSION, 263, size, &p) && p.error == 0 &&
	   !memcmp(p.root, root, 32) && merkle_verify_inclusion(263, size, leaf, p.hash, p.count, p.root),
	   "inclusion of entry 263 in %llu verifies (%u hashes)", (unsigned long long)size, p.count);
	logstore_root(&D.store, 100, old);
	ok(proof(LOG_PROOF_CONSISTENCY, 100, size, &p) && p.error == 0 &&
	   merkle_verify_consistency(100, size, old, root, p.hash, p.count),
	   "consistency 100 -> %llu verifies", (unsigned long long)size);
	ok(proof(LOG_PROOF_INCLUSION, 5, size + 1, &p) && p.error == -ENOENT,
	   "a size past the committed tree: -ENOENT");
	ok(proof(LOG_PROOF_INCLUSION, size, size, &p) && p.error == -EINVAL, "index = size: -EINVAL");
	ok(proof(LOG_PROOF_CONSISTENCY, size, size - 1, &p) && p.error == -EINVAL,
	   "old size > new: -EINVAL");
}

static bool find_by(uint8_t by, const char *id, uint64_t from, struct log_found_msg *f)
{
	struct log_find_req_msg q;

	memset(&q, 0, sizeof q);
	snprintf(q.function, sizeof q.function, "%s", id);
	q.from = from;
	q.by = by;
	imsg_send(netd_end, IMSG_LOG_FIND_REQ, 80, &q, sizeof q, NULL, 0);
	round_now();
	if (get(netd_end) < 0 || M.hdr.type != IMSG_LOG_FOUND || M.hdr.len != sizeof *f)
		return false;
	memcpy(f, M.payload, sizeof *f);
	return true;
}

static bool find(const char *fn, uint64_t from, struct log_found_msg *f)
{
	return find_by(LOG_FIND_FUNCTION, fn, from, f);
}

/* An invocation entry (version 2) of function fn, invocation inv. */
static int append_invocation(uint32_t id, const char *fn, const char *inv)
{
	uint8_t b[512];
	struct log_entry e;
	long n;

	memset(&e, 0, sizeof e);
	e.version = 2;
	e.type = LOG_INVOCATION;
	e.time_ns = id;
	e.u.invocation.function = (struct log_str){ fn, strlen(fn) };
	e.u.invocation.invocation = (struct log_str){ inv, strlen(inv) };
	memset(e.u.invocation.code, 0xc0, 32);
	n = log_entry_encode(b, sizeof b, &e);
	if (n < 0)
		return (int)n;
	return imsg_send(netd_end, IMSG_LOG_APPEND, id, b, (size_t)n, NULL, 0);
}

static void test_find_invocation(void)
{
	static struct log_found_msg f;
	uint64_t i1 = 0, i2 = 0, size;

	append_invocation(70, "f9", "inv-77");
	append_invocation(71, "f9", "inv-78");
	round_now();
	ok(appended(NULL, &i1) == 0 && appended(NULL, &i2) == 0 && i2 == i1 + 1,
	   "two invocation entries appended (%llu, %llu)", (unsigned long long)i1,
	   (unsigned long long)i2);
	size = logstore_committed(&D.store);
	ok(find_by(LOG_FIND_INVOCATION, "inv-77", 0, &f) && f.error == 0 && f.count == 1 &&
	   f.index[0] == i1 && f.next == size && f.entry == i1,
	   "by invocation: inv-77 is entry %llu only, its invocation entry", (unsigned long long)i1);
	ok(find_by(LOG_FIND_INVOCATION, "inv-78", i2 + 1, &f) && f.entry == i2,
	   "its invocation entry is named whatever the page");
	ok(find_by(LOG_FIND_INVOCATION, "inv-78", i2 + 1, &f) && f.error == 0 && f.count == 0,
	   "by invocation, from past it: none");
	ok(find_by(LOG_FIND_FUNCTION, "inv-77", 0, &f) && f.error == 0 && f.count == 0,
	   "an invocation id is not a function id");
	ok(find_by(LOG_FIND_FUNCTION, "f9", 0, &f) && f.error == 0 && f.count == 2 &&
	   f.index[0] == i1 && f.index[1] == i2 && f.entry == LOG_FIND_NO_ENTRY,
	   "by function: f9 has both (and no invocation entry is named)");
	/* every egress entry of the test names invocation "inv" */
	ok(find_by(LOG_FIND_INVOCATION, "inv", 0, &f) && f.error == 0 && f.count == LOG_FIND_MAX &&
	   f.entry == LOG_FIND_NO_ENTRY,
	   "by invocation: the egress records of \"inv\" (a full page), no invocation entry");
	ok(find_by(2, "inv-77", 0, &f) && f.error == -EBADMSG, "an unknown kind of id: -EBADMSG");
}

static void test_find(void)
{
	static struct log_found_msg f;
	uint64_t size = logstore_committed(&D.store), seen = 0, from = 0;
	bool increasing = true;

	/* f1: entry 2 (test_append_order), odd ones of the group commit... */
	ok(find("f1", 0, &f) && f.error == 0 && f.count > 20 && f.index[0] == 1 && f.next == size,
	   "f1: %u entries, the first at 1", f.count);
	ok(find("f1", f.index[1] + 1, &f) && f.index[0] > 1, "from a later index: only those after");
	ok(find("nobody", 0, &f) && f.error == 0 && f.count == 0 && f.next == size,
	   "an unknown function: none, next = the size");
	/* "big" has more entries than one answer holds: page through */
	do {
		if (!find("big", from, &f) || f.error != 0)
			break;
		for (uint32_t i = 0; i < f.count; i++) {
			if (f.index[i] < from || (i && f.index[i] <= f.index[i - 1]))
				increasing = false;
		}
		seen += f.count;
		from = f.next;
	} while (f.next < size);
	ok(increasing && seen > LOG_FIND_MAX, "big: %llu entries over several pages, increasing",
	   (unsigned long long)seen);
}

static void test_dropped_replies(void)
{
	uint64_t size = logstore_committed(&D.store);
	int old = netd_end;

	append_fn(90, "f1", 1);
	logd_readable(&D, LOGD_CHAN_NETD);
	netd_end = channel(LOGD_CHAN_NETD);   /* netd restarted mid-round */
	logd_end_round(&D, now);
	is_int(get(netd_end), -EAGAIN, "a reply owed to the old channel is not sent on the new one");
	is_int(get(old), -EPIPE, "the old channel is closed");
	close(old);
	ok(logstore_committed(&D.store) == size + 1, "the entry itself is committed");
}

static void test_restart(void)
{
	uint64_t size = logstore_committed(&D.store);
	long n = logstore_bundle(&D.store, 0, 256, want, sizeof want);
	struct logd_status_msg st;
	long m;

	CFG.restarted = 1;   /* init says: the same boot */
	restart_logd();
	ok(logstore_committed(&D.store) == size, "reopened: %llu entries", (unsigned long long)size);
	m = logstore_bundle(&D.store, 0, 256, big, sizeof big);
	ok(n > 0 && m == n && !memcmp(big, want, (size_t)n), "acknowledged entries as they were");
	ok(!strcmp(D.last_instance, "a1a2a3" "00000000000000000000000000"),
	   "the last boot entry found at open");
	round_now();
	ok(get(init_end) == 0 && imsg_get(&M, IMSG_LOGD_STATUS, &st, sizeof st) == 0 &&
	   st.size == size, "READY with the same size");
	keyd_end = channel(LOGD_CHAN_KEYD);
	ok(keyd_boot(INSTANCE_A, 0), "the boot's facts asked again");
	round_now();
	ok(logstore_committed(&D.store) == size && D.syncs == 0,
	   "same instance, init says logd restarted: no second boot entry");
	struct log_found_msg f;
	ok(find("f1", 0, &f) && f.count > 20, "the find index rebuilt at open");
	ok(find_by(LOG_FIND_INVOCATION, "inv-77", 0, &f) && f.count == 1 && f.entry == f.index[0],
	   "the invocation index rebuilt at open, with its invocation entry");

	/* init's line for the encrypted store: the next boot entry names it */
	snprintf(CFG.store, sizeof CFG.store, "store: none (tmpfs, lost at poweroff)");
	restart_logd();
	keyd_end = channel(LOGD_CHAN_KEYD);
	ok(keyd_boot(INSTANCE_B, -ENODEV), "keyd cannot say");
	round_now();
	ok(logstore_committed(&D.store) == size, "no boot entry without keyd's facts");
	close(keyd_end);
	keyd_end = channel(LOGD_CHAN_KEYD);
	ok(keyd_boot(INSTANCE_B, 0), "asked again of a new keyd");
	round_now();
	ok(logstore_committed(&D.store) == size + 1 && !strncmp(D.last_instance, "b1", 2),
	   "another instance: a new boot entry");
	/* the bundle's last record: u16 length, the entry */
	m = logstore_bundle(&D.store, size / 256, (unsigned)(size % 256 + 1), big, sizeof big);
	long at = 0, last = -1;
	while (m > 0 && at + 2 <= m) {
		last = at;
		at += 2 + (big[at] << 8 | big[at + 1]);
	}
	struct log_entry e;
	char err[ERRBUF_LEN];
	ok(last >= 0 && at == m &&
	   log_entry_decode(big + last + 2, (size_t)(at - last - 2), &e, err, sizeof err) == 0 &&
	   e.type == LOG_BOOT && e.version == 3 &&
	   e.u.boot.store.len == strlen(CFG.store) && !memcmp(e.u.boot.store.p, CFG.store, e.u.boot.store.len),
	   "the boot entry is version 3 and names the store as init said");
	memset(CFG.store, 0, sizeof CFG.store);

	/* a new boot whose instance id is the last boot's (the key provider
	 * kms: the store's instance): init's first logd start, a new entry */
	CFG.restarted = 0;
	restart_logd();
	keyd_end = channel(LOGD_CHAN_KEYD);
	ok(keyd_boot(INSTANCE_B, 0), "a new boot, the same instance: the facts asked");
	round_now();
	ok(logstore_committed(&D.store) == size + 2 && !strncmp(D.last_instance, "b1", 2),
	   "the same instance in a new boot: a new boot entry");
}

/* The key provider kms: the KMS's freshness record against the log
 * (logd_fresh_check), and logd refusing every append to a log the record
 * says is old. */
static long fresh_note(char *out, size_t cap, uint64_t size, bool other_root)
{
	static const char ext[] = "dshield-freshness-v1 0102030405060708090a0b0c0d0e0f10 0\n";
	struct checkpoint c = { .origin = KEY.pub.name, .origin_len = KEY.pub.name_len,
				.size = size, .ext = ext, .ext_len = sizeof ext - 1 };

	if (size <= logstore_committed(&D.store) && logstore_root(&D.store, size, c.root) < 0)
		return -1;
	if (other_root || size > logstore_committed(&D.store))
		c.root[0] ^= 1;
	return checkpoint_sign(out, cap, &c, &KEY.pub, &KEY.sk);
}

static void test_freshness(void)
{
	static char note[LOGD_FRESH_MAX + 1];
	char err[ERRBUF_LEN];
	uint64_t n = logstore_committed(&D.store), sz = 0;
	struct logd_status_msg st;
	long len;

	len = fresh_note(note, sizeof note, n, false);
	ok(n >= 2 && len > 0 && logd_fresh_check(&D.store, note, (size_t)len, &sz, err) == LOGD_FRESH_OK &&
	   sz == n, "freshness: the record of the log's head: ok (%s)", err);
	len = fresh_note(note, sizeof note, n - 1, false);
	ok(len > 0 && logd_fresh_check(&D.store, note, (size_t)len, &sz, err) == LOGD_FRESH_OK && sz == n - 1,
	   "freshness: an older record the log extends: ok");
	len = fresh_note(note, sizeof note, n + 1, false);
	ok(len > 0 && logd_fresh_check(&D.store, note, (size_t)len, &sz, err) == LOGD_FRESH_ROLLBACK &&
	   sz == n + 1, "freshness: a record beyond the log: rollback (%s)", err);
	len = fresh_note(note, sizeof note, n, true);
	ok(len > 0 && logd_fresh_check(&D.store, note, (size_t)len, &sz, err) == LOGD_FRESH_FORK,
	   "freshness: another root at the log's size: fork (%s)", err);
	ok(logd_fresh_check(&D.store, "not a note", 10, &sz, err) == LOGD_FRESH_UNREADABLE,
	   "freshness: not a record: unreadable (%s)", err);

	/* logd given a record the log does not hold: READY never, every
	 * append refused, the verdict in its status */
	len = fresh_note(CFG.fresh, sizeof CFG.fresh, n + 5, false);
	CFG.fresh_len = len > 0 ? (uint32_t)len : 0;
	close_logd();
	ok(logd_open(&D, &CFG, dir, err) == -ESTALE && D.fresh == LOGD_FRESH_ROLLBACK,
	   "freshness: logd_open refuses a rolled-back log (%s)", err);
	init_end = channel(LOGD_CHAN_INIT);
	netd_end = channel(LOGD_CHAN_NETD);
	round_now();
	ok(get(init_end) == 0 && imsg_get(&M, IMSG_LOGD_STATUS, &st, sizeof st) == 0 &&
	   st.state == LOGD_STATE_FAILED && st.fresh == LOGD_FRESH_ROLLBACK && st.fresh_size == n + 5 &&
	   st.size == n, "freshness: its status: FAILED, rollback, the record's size");
	ok(append_fn(91, "f1", 1) == 0 && (logd_readable(&D, LOGD_CHAN_NETD), logd_end_round(&D, now), 1) &&
	   logstore_committed(&D.store) == n, "freshness: an append is refused");
	drain(netd_end);

	/* the policy's kms.on_rollback "flag": the same record, said, and the
	 * log goes on (READY with the verdict) */
	CFG.fresh_flag = 1;
	close_logd();
	ok(logd_open(&D, &CFG, dir, err) == 0 && D.failed == 0 && D.fresh == LOGD_FRESH_ROLLBACK &&
	   strncmp(D.flagged, "ROLLBACK DETECTED: rollback", 27) == 0,
	   "freshness, flag: logd_open goes on and says it (%s)", D.flagged);
	init_end = channel(LOGD_CHAN_INIT);
	netd_end = channel(LOGD_CHAN_NETD);
	round_now();
	ok(get(init_end) == 0 && imsg_get(&M, IMSG_LOGD_STATUS, &st, sizeof st) == 0 &&
	   st.state == LOGD_STATE_READY && st.fresh == LOGD_FRESH_ROLLBACK && st.fresh_size == n + 5,
	   "freshness, flag: its status: READY, rollback, the record's size");
	ok(append_fn(92, "f1", 1) == 0 && (logd_readable(&D, LOGD_CHAN_NETD), logd_end_round(&D, now), 1) &&
	   logstore_committed(&D.store) == n + 1, "freshness, flag: an append is committed");
	drain(netd_end);
	CFG.fresh_flag = 0;
	CFG.fresh_len = 0;
	memset(CFG.fresh, 0, sizeof CFG.fresh);
	restart_logd();
	ok(D.failed == 0 && D.fresh == LOGD_FRESH_NONE && D.flagged[0] == '\0',
	   "freshness: without a record logd serves again");
}

/* A store whose writes fail: the data file's descriptor is made read-only. */
static void test_failed_store(void)
{
	struct logd_status_msg st;
	int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);

	drain(init_end);
	dup2(ro, D.store.fd);
	close(ro);
	append_fn(95, "f1", 1);
	append_fn(96, "f1", 1);
	round_now();
	is_int(appended(NULL, NULL), -EBADF, "the failed sync's appends get its error");
	is_int(appended(NULL, NULL), -EBADF, "each of them");
	ok(get(init_end) == 0 && imsg_get(&M, IMSG_LOGD_STATUS, &st, sizeof st) == 0 &&
	   st.state == LOGD_STATE_FAILED, "init hears FAILED");
	append_fn(97, "f1", 1);
	round_now();
	is_int(appended(NULL, NULL), -EBADF, "a later append: refused with the same error");
	ask_checkpoint(98, 1);
	round_now();
	struct log_checkpoint_msg cm;
	ok(checkpoint_reply(&cm) == 0 && cm.error == -EBADF, "a fresh checkpoint: refused too");
}

/* A store that does not open: logd serves refusals and says FAILED. */
static void test_unopenable(void)
{
	static struct logd F;
	struct logd_status_msg st;
	struct log_read_msg rm;
	struct log_read_req_msg q = { .kind = LOG_READ_TILE, .width = 1 };
	char bad[128], err[ERRBUF_LEN];
	int sv[2], nv[2];
	FILE *f;

	snprintf(bad, sizeof bad, "%s/bad", base);
	mkdir(bad, 0700);
	snprintf(bad, sizeof bad, "%s/bad/data", base);
	f = fopen(bad, "w");
	ok(f && fputs("NOTALOG!and more", f) >= 0 && fclose(f) == 0, "a data file with a bad magic");
	snprintf(bad, sizeof bad, "%s/bad", base);
	is_int(logd_open(&F, &CFG, bad, err), -EBADMSG, "logd_open fails: %s", err);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, nv) != 0)
		exit(2);
	F.fd[LOGD_CHAN_INIT] = sv[0];
	logd_set_peer(&F, LOGD_CHAN_NETD, nv[0]);
	uint8_t e[512];
	long n = make_egress(e, sizeof e, "f", 1, 0);
	imsg_send(nv[1], IMSG_LOG_APPEND, 1, e, (size_t)n, NULL, 0);
	imsg_send(nv[1], IMSG_LOG_READ_REQ, 2, &q, sizeof q, NULL, 0);
	logd_readable(&F, LOGD_CHAN_NETD);
	logd_end_round(&F, now);
	ok(get(sv[1]) == 0 && imsg_get(&M, IMSG_LOGD_STATUS, &st, sizeof st) == 0 &&
	   st.state == LOGD_STATE_FAILED, "init hears FAILED");
	ok(get(nv[1]) == 0 && M.hdr.type == IMSG_LOG_READ && (memcpy(&rm, M.payload, sizeof rm),
	   rm.error == -EIO), "a read: -EIO");
	ok(get(nv[1]) == 0 && M.hdr.type == IMSG_LOG_APPENDED && reply_error() == -EBADMSG,
	   "an append: refused with the open's error");
	close(sv[0]);
	close(sv[1]);
	close(nv[1]);
	logd_close(&F);
}

int main(void)
{
	char err[ERRBUF_LEN];

	snprintf(base, sizeof base, "/tmp/test_logd.XXXXXX");
	if (mkdtemp(base) == NULL)
		return 2;
	snprintf(dir, sizeof dir, "%s/log", base);
	char keypath[128];
	snprintf(keypath, sizeof keypath, "%s/log.key", base);
	if (logkey_load_or_create(&KEY, keypath, err) != 0) {
		diag("log key: %s", err);
		return 2;
	}
	open_logd();
	test_boot();
	test_append_order();
	test_group_commit();
	test_lazy();
	test_malformed();
	test_checkpoints();
	test_reads();
	test_proofs();
	test_find();
	test_find_invocation();
	test_answers();
	test_dropped_replies();
	test_restart();
	test_freshness();
	test_failed_store();
	test_unopenable();

	close(init_end);
	close(netd_end);
	close(keyd_end);
	close(D.fd[LOGD_CHAN_INIT]);
	logd_close(&D);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", base);
	if (system(cmd) != 0)
		diag("cannot remove %s", base);
	return tap_done();
}
