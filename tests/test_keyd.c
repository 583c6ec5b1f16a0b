/* tests/test_keyd.c: the keyd role in process, on the sim backend (no
 * TDX device, no root):
 *
 *   - a fresh setup records the boot events (manifest, instance-id) and
 *     saves them as crypto/rtmr3.h records, exactly rtmr3_log_encode's bytes;
 *   - IMSG_QUOTE_REQ over a SEQPACKET socketpair: the reply echoes the id,
 *     its lengths add up, its REPORTDATA is the preimage's, the quote parses,
 *     verifies (allow_sim) and carries the log's RTMR3, and the events it
 *     carries replay to that RTMR3;
 *   - malformed requests (short, long, nonce_len 0 and 33, an fd attached)
 *     are answered -EBADMSG under the same id, unknown types and lying
 *     headers are dropped; all are counted and keyd keeps serving;
 *   - the rate limit answers -EBUSY with a "retry" detail;
 *   - -EPIPE once netd's end is closed;
 *   - a restart reloads the saved log (same events, same RTMR3, nothing
 *     appended);
 *   - a damaged, oversized or unreadable saved log, or a log that cannot be
 *     written, leaves the backend none with a reason that quotes then carry.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli/kms_proto.h"
#include "crypto/checkpoint.h"
#include "crypto/key_wrap.h"
#include "crypto/receipt.h"
#include "crypto/reportdata.h"
#include "crypto/rtmr3.h"
#include "crypto/tdx_quote.h"
#include "crypto/tdx_verify.h"
#include "keyd/keyd.h"
#include "lib/clock.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "tests/tap.h"
#include "tls/engine.h"

static struct keyd K;          /* ~3.6 MiB: not on the stack */
static struct imsg M;          /* the last reply */
static struct quote_reply_msg R;
static int EFD = -1;           /* the last reply's event log (its memfd), or -1 */
static unsigned NFDS;          /* how many descriptors it carried */
static char tmp[256], evpath[320], pbuf[4][300];
static struct attest_paths P;
static int peer = -1;          /* netd's end */
static const uint8_t manifest[32] = {
	0x6d, 0x61, 0x6e, 0x69, 0x66, 0x65, 0x73, 0x74, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
	0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xf0, 0xf1, 0xf2, 0xf3,
	0xf4, 0xf5, 0xf6, 0xf7,
};

/* No TDX device under tmp, no launcher measurements: sim is chosen. */
static void paths_in(void)
{
	snprintf(pbuf[0], 300, "%s/absent-dev", tmp);
	snprintf(pbuf[1], 300, "%s", tmp);
	snprintf(pbuf[2], 300, "%s/rtmr3", tmp);
	snprintf(pbuf[3], 300, "%s/measurements.json", tmp);
	P.tdx_dev = pbuf[0];
	P.tsm_root = pbuf[1];
	P.rtmr3 = pbuf[2];
	P.fwcfg_meas = pbuf[3];
}

/* A fresh keyd, as a restarted process would have it. */
static void setup(const char *events_path, bool has_manifest)
{
	struct keyd_config_msg cfg;

	memset(&K, 0, sizeof K);
	K.netd_fd = -1;
	K.logd_fd = -1;
	K.sandboxd_fd = -1;
	memset(&cfg, 0, sizeof cfg);
	cfg.allow_sim = 1;
	cfg.has_manifest = has_manifest;
	if (has_manifest)
		memcpy(cfg.manifest_sha256, manifest, 32);
	/* keyd keeps its files in one directory: the saved log's */
	char dir[sizeof evpath];
	snprintf(dir, sizeof dir, "%s", events_path);
	*strrchr(dir, '/') = '\0';
	keyd_setup(&K, &cfg, &P, dir);
}

/* A channel as init hands it: keyd's end non-blocking (as keyd_main makes
 * it), netd's end non-blocking too so that a missing reply is -EAGAIN
 * rather than a hung test. */
static int open_channel(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0)
		return -errno;
	K.netd_fd = sv[0];
	peer = sv[1];
	return 0;
}

static void close_channel(void)
{
	if (K.netd_fd >= 0)
		close(K.netd_fd);
	if (peer >= 0)
		close(peer);
	K.netd_fd = peer = -1;
}

static int send_req(uint32_t id, const uint8_t *nonce, size_t len)
{
	struct quote_req_msg req;

	memset(&req, 0, sizeof req);
	memcpy(req.nonce, nonce, len);
	req.nonce_len = (uint8_t)len;
	return imsg_send(peer, IMSG_QUOTE_REQ, id, &req, sizeof req, NULL, 0);
}

/* Reads one reply into M and its fixed part into R: 0, or imsg_recv's
 * error (-EAGAIN: keyd sent nothing), or -EBADMSG when it is not a
 * well-formed IMSG_QUOTE_REPLY. */
/* Closes the last reply's memfd: the tests that count descriptors start
 * from none held. */
static void drop_efd(void)
{
	if (EFD >= 0)
		close(EFD);
	EFD = -1;
}

static int get_reply(void)
{
	int r = imsg_recv(peer, &M);

	memset(&R, 0, sizeof R);
	drop_efd();
	NFDS = 0;
	if (r < 0)
		return r;
	NFDS = M.nfds;
	EFD = imsg_take_fd(&M, 0);
	imsg_close_fds(&M);
	if (M.hdr.type != IMSG_QUOTE_REPLY || M.hdr.len < sizeof R)
		return -EBADMSG;
	memcpy(&R, M.payload, sizeof R);
	return 0;
}

/* The event log of the last reply, from its memfd: mapped (sealed against
 * every change, exactly events_len bytes), decoded into *log. */
static bool reply_events(struct rtmr3_log *log)
{
	const void *p;
	int seals = EFD >= 0 ? fcntl(EFD, F_GET_SEALS) : -1;
	bool good;

	if (NFDS != 1 || seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL)) != (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL))
		return false;
	p = file_map_sealed(EFD, R.events_len, F_SEAL_WRITE | F_SEAL_GROW);
	if (p == NULL)
		return false;
	good = rtmr3_log_decode(log, p, R.events_len) == 0;
	munmap((void *)p, R.events_len);
	return good;
}

/* Nothing is waiting on netd's end. */
static bool nothing_pending(void)
{
	char c;
	return recv(peer, &c, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
}

/* The lowest free descriptor: a received fd keyd failed to close would
 * take it. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* Earlier quotes used up tokens of the rate limit; the tests that are not
 * about it start from a full bucket so that they never depend on time. */
static void full_bucket(void)
{
	tbucket_init(&K.quote_rate, KEYD_QUOTE_BURST, KEYD_QUOTE_REFILL_MS, 0);
}

/* A valid request with this id is answered with a quote under it. */
static bool quote_roundtrip(uint32_t id)
{
	static const uint8_t nonce[4] = { 9, 8, 7, 6 };

	bool good;

	full_bucket();
	good = send_req(id, nonce, sizeof nonce) == 0 && keyd_serve_netd(&K) == 0 &&
	       get_reply() == 0 && M.hdr.id == id && R.error == 0 && R.quote_len > 0 && NFDS == 1;
	drop_efd();
	return good;
}

static void test_fresh(void)
{
	static uint8_t want[RTMR3_LOG_MAX * RTMR3_REC_MAX + 1], got[sizeof want];
	long wn, gn;

	setup(evpath, true);
	is_int(K.at.backend, ATTEST_SIM, "fresh: sim backend without a TDX device (%s)", K.at.why);
	is_int(K.at.log.n, 2, "fresh: two boot events");
	is_str(K.at.log.ev[0].name, "manifest", "fresh: event 0 is the manifest");
	ok(K.at.log.ev[0].payload_len == 32 && memcmp(K.at.log.ev[0].payload, manifest, 32) == 0,
	   "fresh: its payload is the manifest hash");
	is_str(K.at.log.ev[1].name, "instance-id", "fresh: event 1 is the instance id");
	is_int(K.at.log.ev[1].payload_len, 16, "fresh: 16-byte instance id");
	ok(!K.resumed, "fresh: not resumed");
	wn = rtmr3_log_encode(&K.at.log, want, sizeof want);
	gn = file_read(evpath, got, sizeof got - 1);
	ok(wn > 0 && gn == wn && memcmp(got, want, (size_t)wn) == 0,
	   "fresh: the saved log is exactly the records of the log (%ld bytes)", gn);
	{
		char kp[sizeof evpath];
		struct stat st;
		snprintf(kp, sizeof kp, "%s/log.key", tmp);
		ok(K.have_logkey && K.logkey.created, "fresh: a log key is made (%s)", K.logkey_why);
		ok(stat(kp, &st) == 0 && st.st_size == 32 && (st.st_mode & 0777) == 0600,
		   "fresh: saved as 32 bytes, mode 0600");
		ok(strncmp(K.logkey.vkey, "dshield-log/", 12) == 0, "fresh: its verifier key %s",
		   K.logkey.vkey);
	}
}

static void test_no_manifest(void)
{
	char path[340];

	snprintf(path, sizeof path, "%s/no-manifest.events", tmp);
	setup(path, false);
	ok(K.at.backend == ATTEST_SIM && K.at.log.n == 1 &&
	   strcmp(K.at.log.ev[0].name, "instance-id") == 0,
	   "no manifest: only the instance-id event is recorded");
	unlink(path);
}

static void test_valid(void)
{
	static const uint8_t nonce[32] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
		0xdd, 0xee, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc,
		0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	};
	static struct rtmr3_log log;
	static struct tdx_verify_state st;
	static struct check_list cl;
	struct tdx_verify_opts o = { .now = 1780272000LL, .allow_sim = true };
	struct reportdata_in in;
	struct tdx_quote q;
	uint8_t rd[RD_LEN];
	char perr[160];
	const uint8_t *data;
	bool parsed;

	is_int(open_channel(), 0, "valid: socketpair");
	is_int(send_req(4242, nonce, sizeof nonce), 0, "valid: request sent");
	is_int(keyd_serve_netd(&K), 0, "valid: keyd serves");
	is_int(get_reply(), 0, "valid: a reply arrives");
	is_int(M.hdr.type, IMSG_QUOTE_REPLY, "valid: IMSG_QUOTE_REPLY");
	is_int(M.hdr.id, 4242, "valid: the request id is echoed");
	is_int(R.error, 0, "valid: no error (%s)", R.detail);
	is_int(R.backend, QUOTE_BACKEND_SIM, "valid: backend sim");
	ok(R.quote_len > 0 && R.events_len > 0, "valid: a quote (%u bytes) and events (%u bytes)",
	   R.quote_len, R.events_len);
	is_int(M.hdr.len, sizeof R + (size_t)R.quote_len,
	       "valid: the fixed part and the quote make the payload exactly");
	is_int(NFDS, 1, "valid: one descriptor, the event log's memfd");
	ok(R.nonce_len == 32 && memcmp(R.nonce, nonce, 32) == 0, "valid: the nonce is echoed");
	ok(R.has_manifest == 1 && memcmp(R.manifest_sha256, manifest, 32) == 0,
	   "valid: the manifest hash it used");

	memset(&in, 0, sizeof in);
	in.f[RD_NONCE - 1] = (struct rd_value){ true, nonce, sizeof nonce };
	in.f[RD_MANIFEST_SHA256 - 1] = (struct rd_value){ true, manifest, 32 };
	in.f[RD_LOG_KEY_SHA256 - 1] = (struct rd_value){ true, K.logkey.spki_sha256, 32 };
	in.f[RD_API_TLS_SPKI_SHA256 - 1] = (struct rd_value){ true, K.apikey.spki_sha256, 32 };
	ok(R.has_api_tls == 1 && memcmp(R.api_tls_spki_sha256, K.apikey.spki_sha256, 32) == 0,
	   "valid: the API TLS key it vouches for");
	ok(R.has_log_key == 1 && memcmp(R.log_key_sha256, K.logkey.spki_sha256, 32) == 0 &&
	   strcmp(R.log_vkey, K.logkey.vkey) == 0, "valid: the log key it vouches for");
	{
		struct note_key nk;
		char e[ERRBUF_LEN];
		ok(note_key_from_vkey(&nk, R.log_vkey, strlen(R.log_vkey), e, sizeof e) == 0 &&
		   memcmp(nk.spki, K.logkey.pub.spki, sizeof nk.spki) == 0,
		   "valid: its verifier key parses back to the same SPKI (%s)", R.log_vkey);
	}
	ok(reportdata_compute(&in, rd) == 0 && memcmp(R.report_data, rd, RD_LEN) == 0,
	   "valid: report_data is REPORTDATA of (nonce, manifest, API TLS key, log key)");

	data = M.payload + sizeof R;
	parsed = M.hdr.len == sizeof R + (size_t)R.quote_len &&
		 tdx_quote_parse(&q, data, R.quote_len, perr, sizeof perr) == 0;
	ok(parsed, "valid: the quote parses (%s)", parsed ? "" : perr);
	ok(parsed && tdx_quote_is_sim(&q), "valid: a sim quote");
	ok(parsed && memcmp(q.rtmr[3], K.at.log.rtmr3, 48) == 0, "valid: its RTMR3 is the log's");
	ok(parsed && memcmp(q.report_data, R.report_data, 64) == 0,
	   "valid: its REPORTDATA is report_data");
	checks_init(&cl);
	ok(parsed && tdx_verify_quote(&q, &o, &st, &cl) == 0, "valid: it verifies with allow_sim");
	ok(parsed && reply_events(&log) && log.n == K.at.log.n &&
	   memcmp(log.rtmr3, q.rtmr[3], 48) == 0,
	   "valid: the memfd is sealed, its events decode and replay to the quote's RTMR3");
	is_int(K.quotes, 1, "valid: counted");
	ok(nothing_pending(), "valid: one reply per request");
}

static void expect_badmsg(uint32_t id, const char *what)
{
	int r = get_reply();

	ok(r == 0 && M.hdr.id == id && R.error == -EBADMSG && R.quote_len == 0 &&
	   R.events_len == 0 && M.hdr.len == sizeof R && NFDS == 0,
	   "malformed: %s: answered -EBADMSG under its id (%s)", what, R.detail);
}

static void test_malformed(void)
{
	uint8_t raw[sizeof(struct quote_req_msg) + 1];
	struct quote_req_msg req;
	uint32_t hdr[3];
	struct iovec iov[2];
	uint64_t before = K.malformed;
	int fd, free_fd;

	memset(raw, 0x5a, sizeof raw);
	raw[sizeof req - 1] = 4;   /* nonce_len, were the size right */

	imsg_send(peer, IMSG_QUOTE_REQ, 101, raw, sizeof req - 1, NULL, 0);
	keyd_serve_netd(&K);
	expect_badmsg(101, "payload one byte short");
	ok(quote_roundtrip(102), "malformed: a valid request after it is answered");

	imsg_send(peer, IMSG_QUOTE_REQ, 103, raw, sizeof req + 1, NULL, 0);
	keyd_serve_netd(&K);
	expect_badmsg(103, "payload one byte long");
	ok(quote_roundtrip(104), "malformed: a valid request after it is answered");

	memset(&req, 0, sizeof req);
	imsg_send(peer, IMSG_QUOTE_REQ, 105, &req, sizeof req, NULL, 0);
	keyd_serve_netd(&K);
	expect_badmsg(105, "nonce_len 0");
	ok(quote_roundtrip(106), "malformed: a valid request after it is answered");

	req.nonce_len = QUOTE_NONCE_MAX + 1;
	imsg_send(peer, IMSG_QUOTE_REQ, 107, &req, sizeof req, NULL, 0);
	keyd_serve_netd(&K);
	expect_badmsg(107, "nonce_len 33");
	ok(quote_roundtrip(108), "malformed: a valid request after it is answered");

	free_fd = lowest_free_fd();
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	req.nonce_len = 1;
	imsg_send(peer, IMSG_QUOTE_REQ, 109, &req, sizeof req, &fd, 1);
	close(fd);
	keyd_serve_netd(&K);
	expect_badmsg(109, "a descriptor attached");
	is_int(lowest_free_fd(), free_fd, "malformed: the descriptor it carried is closed");
	ok(quote_roundtrip(110), "malformed: a valid request after it is answered");

	imsg_send(peer, 0xdead, 111, &req, sizeof req, NULL, 0);
	is_int(keyd_serve_netd(&K), 0, "unknown type: keyd carries on");
	ok(nothing_pending(), "unknown type: dropped, no reply");
	ok(quote_roundtrip(112), "unknown type: the next valid request is answered");

	/* A header that claims more payload than the datagram holds. */
	hdr[0] = IMSG_QUOTE_REQ;
	hdr[1] = sizeof req + 10;
	hdr[2] = 113;
	iov[0] = (struct iovec){ hdr, sizeof hdr };
	iov[1] = (struct iovec){ &req, sizeof req };
	ok(imsg_send_raw(peer, iov, 2, NULL, 0) > 0, "lying header: sent");
	is_int(keyd_serve_netd(&K), 0, "lying header: keyd carries on");
	ok(nothing_pending(), "lying header: dropped, no reply");
	ok(quote_roundtrip(114), "lying header: the next valid request is answered");

	is_int(K.malformed - before, 7, "malformed: all seven counted");
}

static void test_rate_limit(void)
{
	static const uint8_t nonce[1] = { 1 };
	unsigned served = 0, i;
	int r = 0;
	uint64_t busy = K.busy;

	/* Ask until refused: the bucket holds KEYD_QUOTE_BURST, and quotes
	 * are made far faster than one per refill period, so a refusal comes
	 * long before the bound. */
	full_bucket();
	for (i = 0; i < 16 * KEYD_QUOTE_BURST; i++) {
		if (send_req(1000 + i, nonce, 1) < 0 || keyd_serve_netd(&K) < 0 ||
		    (r = get_reply()) < 0 || R.error != 0)
			break;
		served++;
	}
	ok(r == 0 && R.error == -EBUSY, "rate limit: -EBUSY after %u quotes in a row (%d, %d)",
	   served, r, R.error);
	ok(served >= KEYD_QUOTE_BURST, "rate limit: at least the burst (%u) is served first",
	   KEYD_QUOTE_BURST);
	is_int(M.hdr.id, 1000 + served, "rate limit: the refusal carries the request's id");
	ok(strstr(R.detail, "retry") != NULL, "rate limit: the detail says retry (%s)", R.detail);
	ok(R.backend == QUOTE_BACKEND_SIM && R.quote_len == 0 && R.events_len == 0 &&
	   M.hdr.len == sizeof R, "rate limit: a bare refusal");
	is_int(K.busy - busy, 1, "rate limit: counted");
}

static void test_epipe(void)
{
	close(peer);
	peer = -1;
	is_int(keyd_serve_netd(&K), -EPIPE, "closed: keyd_serve_netd says -EPIPE");
	close_channel();
}

static void test_restart(void)
{
	uint8_t rtmr3[48], id[16], lk[32];
	unsigned n = K.at.log.n;
	struct stat a, b;

	memcpy(rtmr3, K.at.log.rtmr3, 48);
	memcpy(id, K.at.log.ev[1].payload, 16);
	memcpy(lk, K.logkey.spki_sha256, 32);
	memset(&a, 0, sizeof a);
	stat(evpath, &a);
	setup(evpath, true);
	is_int(K.at.backend, ATTEST_SIM, "restart: sim again (%s)", K.at.why);
	ok(K.resumed, "restart: resumed");
	is_int(K.at.log.n, n, "restart: the same number of events");
	ok(memcmp(K.at.log.rtmr3, rtmr3, 48) == 0, "restart: the same RTMR3");
	ok(strcmp(K.at.log.ev[1].name, "instance-id") == 0 && K.at.log.ev[1].payload_len == 16 &&
	   memcmp(K.at.log.ev[1].payload, id, 16) == 0, "restart: the same instance id");
	memset(&b, 0, sizeof b);
	stat(evpath, &b);
	ok(b.st_size > 0 && a.st_size == b.st_size, "restart: nothing appended (%lld bytes)",
	   (long long)b.st_size);
	ok(K.have_logkey && !K.logkey.created, "restart: the log key is reloaded, not made");
	ok(memcmp(K.logkey.spki_sha256, lk, 32) == 0, "restart: the same log key");
	open_channel();
	ok(quote_roundtrip(1), "restart: quotes are served");
	close_channel();
}

static void put_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

/* Backend none, the reason naming what went wrong, and a quote request
 * answered -ENODEV with that reason. */
static void expect_unavailable(const char *label, const char *reason)
{
	static const uint8_t nonce[1] = { 2 };
	bool none = K.at.backend == ATTEST_NONE;

	ok(none, "%s: backend none", label);
	ok(strstr(K.at.why, reason) != NULL, "%s: the reason says \"%s\" (%s)", label, reason,
	   K.at.why);
	open_channel();
	ok(send_req(77, nonce, 1) == 0 && keyd_serve_netd(&K) == 0 && get_reply() == 0 &&
	   M.hdr.id == 77 && R.error == -ENODEV && R.backend == QUOTE_BACKEND_NONE &&
	   strcmp(R.detail, K.at.why) == 0 && M.hdr.len == sizeof R,
	   "%s: a request is refused -ENODEV with that reason", label);
	close_channel();
}

static void test_bad_saved_log(void)
{
	static uint8_t good[RTMR3_LOG_MAX * RTMR3_REC_MAX + 1], bad[sizeof good];
	static uint8_t big[RTMR3_LOG_MAX * RTMR3_REC_MAX + 1];
	long n = file_read(evpath, good, sizeof good - 1);

	ok(n > 10, "damaged: the good log read (%ld bytes)", n);
	if (n <= 10)
		return;

	put_file(evpath, good, (size_t)n - 5);
	setup(evpath, true);
	expect_unavailable("truncated mid-record", "saved event log");

	memcpy(bad, good, (size_t)n);
	bad[0] = RTMR3_NAME_MAX + 1;
	put_file(evpath, bad, (size_t)n);
	setup(evpath, true);
	expect_unavailable("name length 65", "saved event log");

	memcpy(bad, good, (size_t)n);
	bad[0] = 0;
	put_file(evpath, bad, (size_t)n);
	setup(evpath, true);
	expect_unavailable("name length 0", "saved event log");

	/* More than any log of RTMR3_LOG_MAX largest records. */
	memset(big, 'x', sizeof big);
	put_file(evpath, big, sizeof big);
	setup(evpath, true);
	expect_unavailable("oversized", "saved event log cannot be read");
	unlink(evpath);

	mkdir(evpath, 0700);
	setup(evpath, true);
	expect_unavailable("a directory", "saved event log cannot be read");
	rmdir(evpath);
}

static void test_unwritable(void)
{
	char path[340];

	snprintf(path, sizeof path, "%s/no-such-dir/rtmr3.events", tmp);
	setup(path, true);
	expect_unavailable("unwritable", "manifest event could not be recorded");
	setup(path, false);
	expect_unavailable("unwritable, no manifest", "instance-id event could not be recorded");
	ok(access(path, F_OK) != 0, "unwritable: nothing created");
}

/* A log of hundreds of events (function changes) is served whole: every
 * record in the reply's memfd, replaying to the quote's RTMR3; and a log
 * at RTMR3_LOG_MAX is served whole too. */
static void test_long_log(void)
{
	static struct rtmr3_log log;
	static uint8_t want[RTMR3_LOG_BYTES_MAX];
	static const uint8_t nonce[1] = { 7 };
	uint8_t pl[152];
	char err[ATTEST_ERR_LEN], perr[160];
	struct tdx_quote q;
	long wn;

	setup(evpath, true);
	memset(pl, 0x33, sizeof pl);
	for (unsigned i = 0; i < 500; i++)
		if (attest_extend(&K.at, "function", pl, sizeof pl, err) < 0)
			break;
	open_channel();
	drop_efd();
	int fd0 = lowest_free_fd();
	for (int round = 0; round < 2; round++) {
		full_bucket();
		ok(send_req(9, nonce, 1) >= 0 && keyd_serve_netd(&K) == 0 && get_reply() == 0 &&
		   R.error == 0, "a log of %u events: answered (%s)", K.at.log.n, R.detail);
		wn = rtmr3_log_encode(&K.at.log, want, sizeof want);
		ok(R.events_len == wn && reply_events(&log) && log.n == K.at.log.n &&
		   memcmp(log.rtmr3, K.at.log.rtmr3, 48) == 0,
		   "  every event (%u, %u bytes) in the sealed memfd", log.n, R.events_len);
		ok(tdx_quote_parse(&q, M.payload + sizeof R, R.quote_len, perr, sizeof perr) == 0 &&
		   memcmp(q.rtmr[3], log.rtmr3, 48) == 0, "  and they replay to the quote's RTMR3");
		/* then fill the log to its event bound */
		while (rtmr3_log_room(&K.at.log, 8, sizeof pl))
			if (attest_extend(&K.at, "function", pl, sizeof pl, err) < 0)
				break;
		if (round == 0)
			is_int(K.at.log.n, RTMR3_LOG_MAX, "the log filled to RTMR3_LOG_MAX (%u)",
			       RTMR3_LOG_MAX);
	}
	drop_efd();
	is_int(lowest_free_fd(), fd0, "keyd kept no descriptor of its replies");
	close_channel();
}

/* A log key file that is not a key is never replaced silently: quotes go
 * on without a log key, and say why. */
static void test_bad_logkey(void)
{
	char kp[sizeof evpath];

	snprintf(kp, sizeof kp, "%s/log.key", tmp);
	put_file(kp, "short", 5);
	setup(evpath, true);
	ok(!K.have_logkey && strstr(K.logkey_why, "not a 32-byte key") != NULL,
	   "a 5-byte log key file: no log key (%s)", K.logkey_why);
	char five[8] = { 0 };
	ok(file_read(kp, five, 5) == 5 && memcmp(five, "short", 5) == 0, "  and the file is left as it was");
	open_channel();
	full_bucket();
	ok(quote_roundtrip(5) && R.has_log_key == 0, "  quotes carry no log key");
	close_channel();
	unlink(kp);
}

/* The error field every reply starts with (payloads are not aligned for
 * the structs: copied, never cast). */
static int32_t reply_error(void)
{
	int32_t e;
	memcpy(&e, M.payload, sizeof e);
	return e;
}

/* --- logd's requests ------------------------------------------------------------------- */

static int logd_end = -1;
static struct log_sign_reply_msg SR;

/* One sign request over logd's channel: keyd's answer in SR, 0 or the
 * transport's error. */
static int sign(uint32_t id, uint64_t size, uint8_t rootbyte)
{
	struct log_sign_req_msg q = { .size = size };
	int r;

	memset(q.root, rootbyte, sizeof q.root);
	memset(&SR, 0, sizeof SR);
	if ((r = imsg_send(logd_end, IMSG_LOG_SIGN_REQ, id, &q, sizeof q, NULL, 0)) < 0 ||
	    (r = keyd_serve_logd(&K)) < 0 || (r = imsg_recv(logd_end, &M)) < 0)
		return r;
	if (M.hdr.type != IMSG_LOG_SIGN_REPLY || M.hdr.id != id || M.hdr.len != sizeof SR)
		return -EBADMSG;
	memcpy(&SR, M.payload, sizeof SR);
	return 0;
}

static void open_logd_channel(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	K.logd_fd = sv[0];
	logd_end = sv[1];
}

static void close_logd_channel(void)
{
	close(K.logd_fd);
	close(logd_end);
	K.logd_fd = logd_end = -1;
}

static void test_logd(void)
{
	static char note1[LOG_SIGNED_CHECKPOINT_MAX];
	struct log_boot_reply_msg b;
	struct checkpoint c;
	struct reportdata_in in;
	uint8_t rd[RD_LEN], root[32];
	char err[ERRBUF_LEN] = "", ckpath[sizeof evpath + 32];
	static const uint8_t nonce[4] = { 9, 8, 7, 6 };

	snprintf(ckpath, sizeof ckpath, "%s/%s", tmp, KEYD_CHECKPOINT_FILE);
	setup(evpath, true);
	open_logd_channel();
	is_int(imsg_send(logd_end, IMSG_LOG_BOOT_REQ, 3, NULL, 0, NULL, 0), 0, "logd: boot request sent");
	ok(keyd_serve_logd(&K) == 0 && imsg_recv(logd_end, &M) == 0 &&
	   imsg_get(&M, IMSG_LOG_BOOT_REPLY, &b, sizeof b) == 0 && M.hdr.id == 3 && b.error == 0,
	   "logd: the boot's facts");
	ok(b.backend == KEYD_BACKEND_SIM && b.has_manifest && !memcmp(b.manifest_sha256, manifest, 32) &&
	   !memcmp(b.instance_id, K.at.log.ev[1].payload, 16),
	   "logd: backend sim, the manifest, the instance-id event's payload");

	is_int(sign(4, 10, 0xaa), 0, "logd: a sign request is answered");
	memset(root, 0xaa, sizeof root);
	ok(SR.error == 0 && SR.size == 10 && !memcmp(SR.root, root, 32) &&
	   SR.note_len == strlen(SR.note), "logd: signed (%u bytes), size and root echoed", SR.note_len);
	ok(checkpoint_open(SR.note, SR.note_len, &K.logkey.pub, &c, err, sizeof err) == 0 &&
	   c.size == 10 && !memcmp(c.root, root, 32) && c.origin_len == K.logkey.pub.name_len &&
	   !memcmp(c.origin, K.logkey.pub.name, c.origin_len),
	   "logd: the note opens with the log key, keyd's own origin %s", err);
	memcpy(note1, SR.note, SR.note_len + 1);
	char saved[LOG_SIGNED_CHECKPOINT_MAX];
	ok(file_read(ckpath, saved, sizeof saved - 1) == (long)SR.note_len &&
	   !memcmp(saved, SR.note, SR.note_len), "logd: the note is saved in %s", KEYD_CHECKPOINT_FILE);

	is_int(sign(5, 10, 0xaa), 0, "logd: the same head again");
	ok(SR.error == 0 && !strcmp(SR.note, note1), "logd: signed again, the same bytes (RFC 6979)");
	is_int(sign(6, 9, 0xaa), 0, "logd: a smaller size");
	ok(SR.error == -EINVAL && SR.note_len == 0 && SR.note[0] == '\0',
	   "logd: a head that goes back: -EINVAL, no note");
	is_int(sign(7, 10, 0xbb), 0, "logd: the same size, another root");
	is_int(SR.error, -EINVAL, "logd: a fork: -EINVAL");
	ok(K.ckpt_size == 10 && !strcmp(K.ckpt, note1), "logd: the last signed head is kept");

	{
		struct log_sign_req_msg q = { 0 };
		imsg_send(logd_end, IMSG_LOG_SIGN_REQ, 8, &q, sizeof q - 1, NULL, 0);
		imsg_send(logd_end, 4242, 9, NULL, 0, NULL, 0);
		imsg_send(logd_end, IMSG_LOG_BOOT_REQ, 10, "x", 1, NULL, 0);
		keyd_serve_logd(&K);
		ok(imsg_recv(logd_end, &M) == 0 && M.hdr.id == 8 &&
		   reply_error() == -EBADMSG,
		   "logd: a short sign request: -EBADMSG");
		ok(imsg_recv(logd_end, &M) == 0 && M.hdr.id == 10 &&
		   reply_error() == -EBADMSG,
		   "logd: a boot request with a payload: -EBADMSG (the unknown type dropped)");
	}

	is_int(sign(11, 12, 0xcc), 0, "logd: a larger head");
	ok(SR.error == 0 && K.ckpt_size == 12, "logd: signed");
	/* every later quote carries it in REPORTDATA slot 5 */
	open_channel();
	full_bucket();
	ok(send_req(12, nonce, sizeof nonce) == 0 && keyd_serve_netd(&K) == 0 && get_reply() == 0 &&
	   R.error == 0, "quote: served");
	ok(R.has_checkpoint && R.checkpoint_len == SR.note_len && !strcmp(R.checkpoint, SR.note),
	   "quote: it carries the last signed note");
	memset(&in, 0, sizeof in);
	in.f[RD_NONCE - 1] = (struct rd_value){ true, nonce, sizeof nonce };
	in.f[RD_MANIFEST_SHA256 - 1] = (struct rd_value){ true, manifest, 32 };
	in.f[RD_LOG_KEY_SHA256 - 1] = (struct rd_value){ true, K.logkey.spki_sha256, 32 };
	in.f[RD_CHECKPOINT - 1] = (struct rd_value){ true, (const uint8_t *)SR.note, SR.note_len };
	in.f[RD_API_TLS_SPKI_SHA256 - 1] = (struct rd_value){ true, K.apikey.spki_sha256, 32 };
	ok(reportdata_compute(&in, rd) == 0 && !memcmp(rd, R.report_data, RD_LEN),
	   "quote: REPORTDATA slot 5 is the note");
	close_channel();

	/* a restarted keyd reloads it: the refusal and the slot survive */
	close_logd_channel();
	setup(evpath, true);
	ok(K.ckpt_failed == 0 && K.ckpt_size == 12 && !strcmp(K.ckpt, SR.note),
	   "restart: the last signed note reloaded");
	open_logd_channel();
	is_int(sign(13, 11, 0xcc), 0, "restart: a smaller head");
	is_int(SR.error, -EINVAL, "restart: still refused");
	close_logd_channel();

	/* a saved note that does not open with the key: signing refused */
	put_file(ckpath, "not a note\n", 11);
	setup(evpath, true);
	ok(K.ckpt_failed != 0 && K.ckpt_len == 0, "a damaged saved checkpoint: refused at setup");
	open_logd_channel();
	is_int(sign(14, 20, 0xdd), 0, "damaged: a request");
	is_int(SR.error, -EIO, "damaged: signing refused, -EIO");
	char still[32];
	ok(file_read(ckpath, still, sizeof still - 1) == 11, "damaged: the file is left as it was");
	close_logd_channel();
	unlink(ckpath);
}

/* --- sandboxd: function events ------------------------------------------------------ */

static int sbx_end = -1;

static struct fn_event_msg fn_ev(uint8_t op, const char *id, const char *rt)
{
	struct fn_event_msg e;

	memset(&e, 0, sizeof e);
	e.version = 1;
	e.op = op;
	memcpy(e.id, id, strlen(id));
	memcpy(e.runtime, rt, strlen(rt));
	if (op != FN_EVENT_DELETE) {
		memset(e.code_sha256, 0x11, 32);
		memset(e.decl_sha256, 0x22, 32);
	}
	return e;
}

/* Sends ev (len bytes of it) and returns keyd's answer's error. */
static int fn_event(uint32_t id, const struct fn_event_msg *ev, size_t len, uint32_t *events)
{
	struct fn_event_reply_msg rep;

	if (imsg_send(sbx_end, IMSG_FN_EVENT_REQ, id, ev, len, NULL, 0) < 0 ||
	    keyd_serve_sandboxd(&K) != 0 || imsg_recv(sbx_end, &M) != 0 ||
	    M.hdr.id != id || imsg_get(&M, IMSG_FN_EVENT_REPLY, &rep, sizeof rep) != 0)
		return -EPROTO;
	if (events)
		*events = rep.events;
	return rep.error;
}

static void test_fn_events(void)
{
	struct fn_event_msg e = fn_ev(FN_EVENT_DEPLOY, "hello", "python"), bad;
	const struct rtmr3_event *last;
	uint8_t before[48];
	uint32_t events = 0;
	int sv[2];

	setup(evpath, true);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	K.sandboxd_fd = sv[0];
	sbx_end = sv[1];
	unsigned n0 = K.at.log.n;
	memcpy(before, K.at.log.rtmr3, 48);
	is_int(fn_event(1, &e, sizeof e, &events), 0, "function event: recorded");
	last = &K.at.log.ev[K.at.log.n - 1];
	ok(K.at.log.n == n0 + 1 && events == n0 + 1 && strcmp(last->name, "function") == 0 &&
	   last->payload_len == 152 && memcmp(last->payload, &e, 152) == 0,
	   "  one event \"function\" whose payload is the 152 bytes; the count in the reply");
	ok(memcmp(before, K.at.log.rtmr3, 48) != 0, "  RTMR3 moved");
	{
		static struct rtmr3_log saved;   /* ~150 KiB */
		long got = file_read(evpath, K.saved, sizeof K.saved - 1);
		ok(got > 0 && rtmr3_log_decode(&saved, K.saved, (size_t)got) == 0 && saved.n == K.at.log.n &&
		   memcmp(saved.rtmr3, K.at.log.rtmr3, 48) == 0, "  and saved: the reloaded log replays to it");
	}
	e = fn_ev(FN_EVENT_DELETE, "hello", "python");
	is_int(fn_event(2, &e, sizeof e, NULL), 0, "a delete (no hashes): recorded");
	n0 = K.at.log.n;
	bad = fn_ev(FN_EVENT_DEPLOY, "hello", "python");
	bad.version = 2;
	is_int(fn_event(3, &bad, sizeof bad, NULL), -EBADMSG, "version 2: -EBADMSG");
	bad = fn_ev(4, "hello", "python");
	is_int(fn_event(4, &bad, sizeof bad, NULL), -EBADMSG, "op 4: -EBADMSG");
	bad = fn_ev(FN_EVENT_DEPLOY, "Hello", "python");
	is_int(fn_event(5, &bad, sizeof bad, NULL), -EBADMSG, "an id outside the pattern: -EBADMSG");
	bad = fn_ev(FN_EVENT_DEPLOY, "hello", "python");
	bad.id[10] = 'x';   /* garbage after the NUL */
	is_int(fn_event(6, &bad, sizeof bad, NULL), -EBADMSG, "an id not NUL padded: -EBADMSG");
	bad = fn_ev(FN_EVENT_DEPLOY, "hello", "ruby");
	is_int(fn_event(7, &bad, sizeof bad, NULL), -EBADMSG, "an unknown runtime: -EBADMSG");
	bad = fn_ev(FN_EVENT_DELETE, "hello", "python");
	bad.code_sha256[0] = 1;
	is_int(fn_event(8, &bad, sizeof bad, NULL), -EBADMSG, "a delete with a code hash: -EBADMSG");
	bad = fn_ev(FN_EVENT_DEPLOY, "hello", "python");
	memset(bad.code_sha256, 0, 32);
	memset(bad.decl_sha256, 0, 32);
	is_int(fn_event(9, &bad, sizeof bad, NULL), -EBADMSG, "a deploy without hashes: -EBADMSG");
	bad = fn_ev(FN_EVENT_DEPLOY, "hello", "python");
	bad.reserved[0] = 1;
	is_int(fn_event(10, &bad, sizeof bad, NULL), -EBADMSG, "reserved bytes set: -EBADMSG");
	is_int(fn_event(11, &e, sizeof e - 1, NULL), -EBADMSG, "a short request: -EBADMSG");
	is_int(K.at.log.n, n0, "  nothing malformed was recorded");
	/* the rate bound: a burst, then -EBUSY */
	int busy = 0, okc = 0;
	e = fn_ev(FN_EVENT_UPDATE, "hello", "python");
	for (unsigned i = 0; i < KEYD_FN_BURST + 4; i++) {
		int r = fn_event(100 + i, &e, sizeof e, NULL);
		busy += r == -EBUSY;
		okc += r == 0;
	}
	ok(busy >= 1 && okc <= (int)KEYD_FN_BURST, "rate: beyond the burst -EBUSY (%d recorded, %d busy)",
	   okc, busy);
	/* the log's bound: a full log refuses, and nothing is recorded */
	{
		char err[ATTEST_ERR_LEN];
		uint8_t pl[152] = { 1 };
		while (rtmr3_log_room(&K.at.log, 8, sizeof pl))
			if (attest_extend(&K.at, "function", pl, sizeof pl, err) < 0)
				break;
		n0 = K.at.log.n;
		tbucket_init(&K.fn_rate, KEYD_FN_BURST, KEYD_FN_REFILL_MS, 0);
		e = fn_ev(FN_EVENT_DEPLOY, "late", "python");
		is_int(fn_event(150, &e, sizeof e, &events), -ENOSPC,
		       "a full log (%u events): -ENOSPC", n0);
		ok(K.at.log.n == n0 && events == n0, "  nothing recorded");
	}
	/* no backend: nothing may run unmeasured */
	K.at.backend = ATTEST_NONE;
	is_int(fn_event(200, &e, sizeof e, NULL), -ENODEV, "no attestation backend: -ENODEV");
	close(sv[0]);
	close(sv[1]);
	K.sandboxd_fd = sbx_end = -1;
	unlink(evpath);
}

/* --- receipts ------------------------------------------------------------------------ */

static struct receipt_sign_reply_msg RR;

static void receipt_req(struct receipt_sign_req_msg *q)
{
	memset(q, 0, sizeof *q);
	strcpy(q->function, "hello");
	strcpy(q->invocation, "inv-1");
	memset(q->code_sha256, 0xc0, 32);
	memset(q->input_sha256, 0x11, 32);
	memset(q->output_sha256, 0x22, 32);
	q->status = 200;
	q->time_ns = 1700000000000000000ull;
	q->nrecords = 1;
	q->record[0] = 7;
}

/* One receipt request over netd's channel: the answer in RR, 0 or the
 * transport's error, -EBADMSG for a reply of the wrong shape. */
static int ask_receipt(uint32_t id, const void *q, size_t len)
{
	int r;

	memset(&RR, 0, sizeof RR);
	if ((r = imsg_send(peer, IMSG_RECEIPT_SIGN_REQ, id, q, len, NULL, 0)) < 0 ||
	    (r = keyd_serve_netd(&K)) < 0 || (r = imsg_recv(peer, &M)) < 0)
		return r;
	if (M.hdr.type != IMSG_RECEIPT_SIGN_REPLY || M.hdr.id != id || M.hdr.len < 9 ||
	    M.hdr.len > sizeof RR)
		return -EBADMSG;
	memcpy(&RR, M.payload, M.hdr.len);
	if (M.hdr.len != offsetof(struct receipt_sign_reply_msg, note) + RR.note_len + 1 ||
	    RR.note[RR.note_len] != '\0')
		return -EBADMSG;
	return 0;
}

static void test_receipts(void)
{
	struct receipt_sign_req_msg q;
	struct receipt r;
	char err[ERRBUF_LEN] = "", first[RECEIPT_SIGNED_MAX];
	unsigned served = 0;

	setup(evpath, true);
	open_channel();
	receipt_req(&q);
	is_int(ask_receipt(20, &q, sizeof q), 0, "receipt: answered, the reply's length exact");
	ok(RR.error == 0 && RR.note_len > 0, "receipt: signed (%u bytes)", RR.note_len);
	ok(receipt_open(RR.note, RR.note_len, &K.logkey.pub, &r, err, sizeof err) == 0,
	   "receipt: it opens with the log key (%s)", err);
	ok(!strcmp(r.origin, K.logkey.pub.name) && !strcmp(r.function, "hello") &&
	   !strcmp(r.invocation, "inv-1") && r.code[0] == 0xc0 && r.input[31] == 0x11 &&
	   r.output[0] == 0x22 && r.status == 200 && r.time_ns == q.time_ns && r.nrecords == 1 &&
	   r.record[0] == 7, "receipt: keyd's origin and every fact asked for");
	memcpy(first, RR.note, RR.note_len + 1);
	is_int(ask_receipt(21, &q, sizeof q), 0, "receipt: the same again");
	ok(RR.error == 0 && !strcmp(RR.note, first), "receipt: the same bytes (RFC 6979)");

	static const struct { const char *what; int field; } bad[] = {
		{ "an id with a space", 0 }, { "an id without NUL", 1 }, { "no record", 2 },
		{ "17 records", 3 }, { "records going down", 4 }, { "an empty invocation id", 5 },
		{ "omitted records with one listed", 6 },
	};
	for (int i = 0; i < 7; i++) {
		receipt_req(&q);
		switch (bad[i].field) {
		case 0: strcpy(q.function, "a b"); break;
		case 1: memset(q.invocation, 'x', sizeof q.invocation); break;
		case 2: q.nrecords = 0; break;
		case 3: q.nrecords = RECEIPT_REQ_RECORDS_MAX + 1; break;
		case 4: q.nrecords = 2; q.record[1] = 3; break;
		case 6: q.omitted = 1; break;
		default: q.invocation[0] = '\0'; break;
		}
		int rc = ask_receipt(30 + (uint32_t)i, &q, sizeof q);
		ok(rc == 0 && RR.error < 0 && RR.note_len == 0, "receipt: %s refused (%d)",
		   bad[i].what, RR.error);
	}
	/* 15 earlier records, the entry, 100 omitted between them */
	receipt_req(&q);
	q.nrecords = RECEIPT_REQ_RECORDS_MAX;
	for (unsigned i = 0; i < RECEIPT_REQ_RECORDS_MAX; i++)
		q.record[i] = i + 1;
	q.record[RECEIPT_REQ_RECORDS_MAX - 1] = 200;
	q.omitted = 100;
	ok(ask_receipt(38, &q, sizeof q) == 0 && RR.error == 0 &&
	   receipt_open(RR.note, RR.note_len, &K.logkey.pub, &r, err, sizeof err) == 0 &&
	   r.nrecords == RECEIPT_REQ_RECORDS_MAX && r.record[15] == 200 && r.omitted == 100,
	   "receipt: 16 records and 100 omitted, signed as asked");
	receipt_req(&q);
	ok(ask_receipt(40, &q, sizeof q - 1) == 0 && RR.error == -EBADMSG,
	   "receipt: a short request: -EBADMSG");
	static uint8_t longer[sizeof q + 1];
	memcpy(longer, &q, sizeof q);
	ok(ask_receipt(41, longer, sizeof longer) == 0 && RR.error == -EBADMSG,
	   "receipt: a long request: -EBADMSG");

	/* no rate limit: requests in a row are all signed, each answered
	 * under its own id (a refusal would refuse a result already logged) */
	for (unsigned i = 0; i < 64; i++) {
		q.record[0] = i;
		if (ask_receipt(100 + i, &q, sizeof q) < 0 || RR.error != 0 || M.hdr.id != 100 + i)
			break;
		served++;
	}
	is_int(served, 64, "receipt: 64 requests in a row, 64 signatures under their ids");
	ok(nothing_pending(), "receipt: one answer per request");

	/* no log key: refused */
	K.have_logkey = false;
	ok(ask_receipt(50, &q, sizeof q) == 0 && RR.error == -ENOKEY, "receipt: no log key: -ENOKEY");
	close_channel();
}

/* keyd's half of a KMS key request (keyd_kms_request): the config's
 * instance id and app id as boot events, the KMS key measured once, slot 6
 * over init's ephemeral key and nonce, the body a key request that the
 * KMS's own parser takes; each refusal. */
static void test_kms_request(void)
{
	static const uint8_t inst[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static char body[KEYD_KMS_BODY_MAX + 1];
	static jsmntok_t toks[KMS_TOKENS];
	char dir[sizeof tmp + 8], f[sizeof dir + 32], err[ERRBUF_LEN] = "";
	struct keyd_config_msg cfg;
	struct keyd_kms_req_msg req;
	struct keyd_kms_reply_msg rep;
	struct kms_key_req kr;
	uint8_t priv[32] = { 7 }, kms_priv[32] = { 9 }, slot6[32], rd[RD_LEN];
	struct reportdata_in in;
	struct tdx_quote q;
	int fd;
	ssize_t n;

	snprintf(dir, sizeof dir, "%s/kms", tmp);
	mkdir(dir, 0700);
	memset(&K, 0, sizeof K);
	K.netd_fd = K.logd_fd = K.sandboxd_fd = -1;
	memset(&cfg, 0, sizeof cfg);
	cfg.allow_sim = 1;
	cfg.has_instance_id = 1;
	memcpy(cfg.instance_id, inst, sizeof inst);
	snprintf(cfg.app_id, sizeof cfg.app_id, "shop");
	keyd_setup(&K, &cfg, &P, dir);
	ok(K.at.log.n == 2 && strcmp(K.at.log.ev[0].name, "instance-id") == 0 &&
	   K.at.log.ev[0].payload_len == 16 && memcmp(K.at.log.ev[0].payload, inst, 16) == 0,
	   "kms: the instance-id event is the config's instance id");
	ok(strcmp(K.at.log.ev[1].name, "app-id") == 0 && K.at.log.ev[1].payload_len == 4 &&
	   memcmp(K.at.log.ev[1].payload, "shop", 4) == 0, "kms: then the app-id event");

	memset(&req, 0, sizeof req);
	ok(key_wrap_pub(req.eph_pub, priv) == 0 && key_wrap_pub(req.kms_pub, kms_priv) == 0,
	   "kms: (an ephemeral and a KMS key)");
	memset(req.nonce, 0x5a, sizeof req.nonce);
	req.reserved[0] = 1;
	is_int(keyd_kms_request(&K, &req, &rep), -EINVAL, "kms: reserved bytes not zero: -EINVAL");
	req.reserved[0] = 0;
	req.eph_pub[64] ^= 1;
	is_int(keyd_kms_request(&K, &req, &rep), -EINVAL, "kms: an ephemeral key off the curve: -EINVAL");
	is_int(rep.error, -EINVAL, "kms:   the reply says so (%s)", rep.detail);
	req.eph_pub[64] ^= 1;
	is_int(K.at.log.n, 2, "kms:   nothing measured");

	/* before a KMS request: a signed head is not a freshness record */
	int nv[2];
	struct kms_fresh fr;
	struct keyd_freshness_msg fm;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, nv) != 0)
		abort();
	K.netd_fd = nv[0];
	open_logd_channel();
	ok(sign(11, 3, 0x33) == 0 && SR.error == 0 && imsg_recv(nv[1], &M) == -EAGAIN,
	   "kms: a head signed before any KMS request: no freshness record for netd");

	fd = keyd_kms_request(&K, &req, &rep);
	ok(fd >= 0 && rep.error == 0, "kms: a request is answered with a memfd (%s)", rep.detail);
	ok(K.at.log.n == 3 && strcmp(K.at.log.ev[2].name, "key-provider") == 0 &&
	   K.at.log.ev[2].payload_len == 65 && memcmp(K.at.log.ev[2].payload, req.kms_pub, 65) == 0,
	   "kms: the KMS key is measured as key-provider");
	n = fd >= 0 ? pread(fd, body, sizeof body, 0) : -1;
	ok(n > 0 && (uint32_t)n == rep.body_len, "kms: the memfd holds body_len bytes (%zd)", n);
	if (fd >= 0)
		close(fd);
	body[n > 0 ? n : 0] = '\0';
	ok(kms_key_req_parse(&kr, body, n > 0 ? (size_t)n : 0, toks, KMS_TOKENS, err, sizeof err) == 0,
	   "kms: the body is a key request for the KMS's parser (%s)", err);
	ok(memcmp(kr.eph_pub, req.eph_pub, 65) == 0 && memcmp(kr.nonce, req.nonce, 32) == 0 &&
	   strcmp(kr.app_id, "shop") == 0 && strcmp(kr.instance_id, "0102030405060708090a0b0c0d0e0f10") == 0,
	   "kms:   its key, nonce, app id and instance id (%s)", kr.instance_id);
	/* slot 6 in the quote: the REPORTDATA over keyd's preimage with it */
	{
		const char *qs = strstr(body, "\"quote\":\"");
		static uint8_t quote[QUOTE_REPLY_QUOTE_MAX];
		long ql = -1;
		if (qs) {
			const char *e = strchr(qs + 9, '"');
			ql = e ? base64_decode(quote, sizeof quote, qs + 9, (size_t)(e - qs - 9)) : -1;
		}
		reportdata_kms_request(slot6, req.eph_pub, req.nonce);
		memset(&in, 0, sizeof in);
		in.f[RD_LOG_KEY_SHA256 - 1] = (struct rd_value){ true, K.logkey.spki_sha256, 32 };
		in.f[RD_KMS_REQUEST_SHA256 - 1] = (struct rd_value){ true, slot6, 32 };
		/* the head signed above is slot 5 of every quote since */
		in.f[RD_CHECKPOINT - 1] = (struct rd_value){ K.ckpt_len > 0, (const uint8_t *)K.ckpt,
							     K.ckpt_len };
		ok(reportdata_compute(&in, rd) == 0 && ql > 0 && tdx_quote_parse(&q, quote, (size_t)ql, err, sizeof err) == 0 &&
		   memcmp(q.body + TDX_OFF_REPORT_DATA, rd, RD_LEN) == 0,
		   "kms: the quote's REPORTDATA binds the log key and slot 6 = this request");
	}

	/* after it: each signed head also as a freshness record, to netd */
	ok(sign(12, 4, 0x44) == 0 && SR.error == 0 && imsg_recv(nv[1], &M) == 0 &&
	   imsg_get(&M, IMSG_KEYD_FRESHNESS, &fm, sizeof fm) == 0 && M.hdr.id == 0 &&
	   fm.note_len > 0 && fm.note_len <= FRESHNESS_NOTE_MAX && fm.size == 4,
	   "kms: a signed head is also handed to netd as a freshness record");
	ok(kms_fresh_open(&fr, fm.note, fm.note_len, &K.logkey.pub, err, sizeof err) == 0 &&
	   fr.size == 4 && fr.root[0] == 0x44 && fr.root[31] == 0x44 && fr.generation == 0 &&
	   strcmp(fr.instance_id, "0102030405060708090a0b0c0d0e0f10") == 0,
	   "kms:   the KMS's parser opens it with the log key: size, root, instance, generation (%s)", err);
	K.cfg.store_generation = 7;
	ok(sign(13, 5, 0x55) == 0 && imsg_recv(nv[1], &M) == 0 &&
	   imsg_get(&M, IMSG_KEYD_FRESHNESS, &fm, sizeof fm) == 0 &&
	   kms_fresh_open(&fr, fm.note, fm.note_len, &K.logkey.pub, err, sizeof err) == 0 &&
	   fr.size == 5 && fr.generation == 7, "kms:   with the config's store generation");
	close_logd_channel();
	close(nv[0]);
	close(nv[1]);
	K.netd_fd = -1;

	fd = keyd_kms_request(&K, &req, &rep);
	ok(fd >= 0 && K.at.log.n == 3, "kms: the same KMS key again: not measured twice");
	if (fd >= 0)
		close(fd);
	req.kms_pub[64] = 0;
	ok(key_wrap_pub(req.kms_pub, priv) == 0 &&
	   keyd_kms_request(&K, &req, &rep) == -EEXIST && K.at.log.n == 3,
	   "kms: another KMS key in the same boot: -EEXIST (%s)", rep.detail);

	/* no app id, or one the KMS would not take: never measured, refused */
	snprintf(f, sizeof f, "%s/rtmr3.events", dir);
	unlink(f);
	snprintf(cfg.app_id, sizeof cfg.app_id, ".shop");
	keyd_setup(&K, &cfg, &P, dir);
	ok(K.at.log.n == 1 && keyd_kms_request(&K, &req, &rep) == -ENOKEY,
	   "kms: an app id that is not an id is not measured; a request: -ENOKEY (%s)", rep.detail);
	unlink(f);
	snprintf(f, sizeof f, "%s/log.key", dir);
	unlink(f);
	snprintf(f, sizeof f, "%s/" KEYD_APIKEY_FILE, dir);
	unlink(f);
	unlink(K.checkpoint_path);   /* the heads signed for the freshness records */
	rmdir(dir);
}

/* --- the API's TLS identity ---------------------------------------------------- */

static struct tls_sign_reply_msg TR;

/* One signature request of len bytes (sizeof q unless testing lengths);
 * the reply's error, or 1 when no well-formed reply came. */
static int tls_sign_req(uint32_t id, const void *q, size_t len)
{
	if (imsg_send(peer, IMSG_TLS_SIGN_REQ, id, q, len, NULL, 0) < 0 || keyd_serve_netd(&K) < 0 ||
	    imsg_recv(peer, &M) < 0 || M.hdr.id != id ||
	    imsg_get(&M, IMSG_TLS_SIGN_REPLY, &TR, sizeof TR) < 0)
		return 1;
	return TR.error;
}

/* A request as netd's engine makes one: SHA-256, P-256, the point is a
 * real point (the API key's own public key will do). */
static void ske_req(struct tls_sign_req_msg *q)
{
	memset(q, 0, sizeof *q);
	q->version = 1;
	q->hash_id = br_sha256_ID;
	q->curve = BR_EC_secp256r1;
	q->point_len = 65;
	for (int i = 0; i < 32; i++) {
		q->client_random[i] = (uint8_t)(0xc0 + i);
		q->server_random[i] = i < 4 ? 0 : (uint8_t)i;
	}
	memcpy(q->point, K.apikey.key.pub, 65);
}

/* The signature in TR verifies with the API key over tls_ske_hash of q's
 * parameters. */
static bool tls_sig_ok(const struct tls_sign_req_msg *q)
{
	struct tls_ske p;
	uint8_t hv[64];
	long hl = apikey_req(q, &p) < 0 ? -EBADMSG : tls_ske_hash(&p, hv);
	br_ec_public_key pk = { BR_EC_secp256r1, K.apikey.key.pub, 65 };

	return hl > 0 && TR.sig_len > 0 && TR.sig_len <= sizeof TR.sig &&
	       br_ecdsa_i31_vrfy_asn1(br_ec_get_default(), hv, (size_t)hl, &pk, TR.sig, TR.sig_len) == 1;
}

static void test_tls_sign(void)
{
	struct tls_sign_req_msg q, bad;
	struct tls_cert_msg cm;
	br_x509_decoder_context d;
	const br_x509_pkey *pk;
	uint8_t h[32], der1[CERT_DER_MAX];
	size_t der1_len;
	uint32_t malformed;

	setup(evpath, true);
	ok(K.have_apikey, "api tls: keyd has an API key (%s)", K.apikey_why);
	br_x509_decoder_init(&d, NULL, NULL);
	br_x509_decoder_push(&d, K.apikey.der, K.apikey.der_len);
	pk = br_x509_decoder_get_pkey(&d);
	ok(pk != NULL && !br_x509_decoder_isCA(&d) && tls_pkey_spki_sha256(pk, h) == 0 &&
	   memcmp(h, K.apikey.spki_sha256, 32) == 0,
	   "api tls: its certificate (%zu bytes) parses, not a CA, its key is the slot-3 key",
	   K.apikey.der_len);
	memcpy(der1, K.apikey.der, K.apikey.der_len);
	der1_len = K.apikey.der_len;
	setup(evpath, true);
	ok(K.have_apikey && !K.apikey.created && K.apikey.der_len == der1_len &&
	   memcmp(K.apikey.der, der1, der1_len) == 0,
	   "api tls: a restarted keyd reloads the key and writes the same certificate bytes");

	open_channel();
	ok(keyd_send_tls_cert(&K) == 0 && imsg_recv(peer, &M) == 0 &&
	   imsg_get(&M, IMSG_TLS_CERT, &cm, sizeof cm) == 0 && cm.der_len == der1_len &&
	   memcmp(cm.der, der1, der1_len) == 0 && memcmp(cm.spki_sha256, K.apikey.spki_sha256, 32) == 0,
	   "api tls: IMSG_TLS_CERT carries the certificate and its key hash");

	ske_req(&q);
	ok(tls_sign_req(1, &q, sizeof q) == 0 && tls_sig_ok(&q),
	   "api tls: a ServerKeyExchange (P-256, SHA-256) is signed, and verifies over the "
	   "parameters keyd wrote itself");
	q.hash_id = br_sha384_ID;
	ok(tls_sign_req(2, &q, sizeof q) == 0 && tls_sig_ok(&q), "api tls: SHA-384 too");
	ske_req(&q);
	q.curve = BR_EC_curve25519;
	q.point_len = 32;
	memset(q.point, 0x55, sizeof q.point);
	ok(tls_sign_req(3, &q, sizeof q) == 0 && tls_sig_ok(&q), "api tls: an X25519 share too");

	/* what keyd refuses, each alone; a malformed request costs no token */
	malformed = (uint32_t)K.malformed;
	static const char *const cases[] = {
		"version 2", "a reserved byte set", "SHA-1", "an unknown curve (22)",
		"a P-256 point of 64 bytes", "a point off the curve", "a compressed point",
		"a server random not starting with 4 zero bytes",
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ske_req(&bad);
		switch (i) {
		case 0: bad.version = 2; break;
		case 1: bad.reserved[1] = 1; break;
		case 2: bad.hash_id = br_sha1_ID; break;
		case 3: bad.curve = 22; break;
		case 4: bad.point_len = 64; break;
		case 5: bad.point[64] ^= 1; break;
		case 6: bad.point[0] = 0x02; break;
		default: bad.server_random[2] = 7; break;
		}
		ok(tls_sign_req(10 + i, &bad, sizeof bad) == -EBADMSG && TR.sig_len == 0,
		   "api tls: refused -EBADMSG: %s", cases[i]);
	}
	ok(tls_sign_req(30, &q, sizeof q - 1) == -EBADMSG, "api tls: a short request: -EBADMSG");
	{
		uint8_t longer[sizeof q + 1] = { 0 };
		memcpy(longer, &q, sizeof q);
		ok(tls_sign_req(31, longer, sizeof longer) == -EBADMSG,
		   "api tls: a long request: -EBADMSG");
	}
	ok(K.malformed == malformed + 10, "api tls: each counted as malformed");

	/* the rate: a bucket of 3 whose refill is an hour away */
	tbucket_init(&K.tls_rate, 3, 3600000, mono_ms());
	int served = 0, busy = 0;
	for (uint32_t i = 0; i < 5; i++) {
		int e = tls_sign_req(40 + i, &q, sizeof q);
		served += e == 0;
		busy += e == -EBUSY;
	}
	ok(served == 3 && busy == 2, "api tls: the rate limit serves the bucket, then -EBUSY (%d, %d)",
	   served, busy);
	ok(tls_sign_req(50, &bad, sizeof bad) == -EBADMSG,
	   "api tls: an empty bucket still says -EBADMSG to a malformed request");

	K.have_apikey = false;
	tbucket_init(&K.tls_rate, 3, 1, mono_ms());
	ok(tls_sign_req(60, &q, sizeof q) == -ENOKEY, "api tls: no key: -ENOKEY");
	ok(keyd_send_tls_cert(&K) == -ENOKEY, "api tls: no key: no certificate is sent");
	ok(nothing_pending(), "api tls: one reply per request");
	close_channel();
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/test_keyd.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(evpath, sizeof evpath, "%s/rtmr3.events", tmp);
	paths_in();

	test_fresh();
	test_valid();
	test_malformed();
	test_rate_limit();
	test_epipe();
	test_restart();
	test_logd();
	test_receipts();
	test_bad_logkey();
	test_long_log();
	test_bad_saved_log();
	test_unwritable();
	test_no_manifest();
	test_fn_events();
	test_kms_request();
	test_tls_sign();

	{
		char kp[sizeof evpath];
		snprintf(kp, sizeof kp, "%s/log.key", tmp);
		unlink(kp);
		snprintf(kp, sizeof kp, "%s/" KEYD_APIKEY_FILE, tmp);
		unlink(kp);
	}
	unlink(evpath);
	rmdir(tmp);
	ok(access(tmp, F_OK) != 0, "temporary tree removed (nothing left behind)");
	return tap_done();
}
