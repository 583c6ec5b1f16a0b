/* tests/test_api.c: the API routes in memory, then the same handler served
 * by lib/http_sock.c to concurrent clients over loopback TCP. */
#include "net/api.h"
#include "net/egress_proxy.h"
#include "net/refusal_budget.h"
#include "lib/http_sock.h"
#include "net/http_tls.h"
#include "net/netif_packet.h"
#include "tests/api_conn.h"
#include "tests/tap.h"

#include "lwip/init.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int kaddr_calls;
static uint32_t kaddr_conn_id;
static int kaddr_rc;

static int fake_request_kaddr(void *ctx, uint32_t conn_id)
{
	is_int((long)(intptr_t)ctx, 42, "request_kaddr gets the state's ctx");
	kaddr_calls++;
	kaddr_conn_id = conn_id;
	return kaddr_rc;
}

static void reset(void)
{
	memset(&st, 0, sizeof st);
	st.request_kaddr = fake_request_kaddr;
	st.ctx = (void *)(intptr_t)42;
	kaddr_calls = 0;
	kaddr_conn_id = 0;
	kaddr_rc = 0;
	srv.header_timeout_ms = 1000;
	srv.idle_timeout_ms = 5000;
	api_conn_open(1234);
}

static bool has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static void test_healthz(void)
{
	const char *r;

	reset();
	feed("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	r = take();
	is_str(r, "HTTP/1.1 200 OK\r\n"
		  "Content-Type: application/json\r\n"
		  "Content-Length: 15\r\n"
		  "Cache-Control: no-store\r\n"
		  "Connection: keep-alive\r\n"
		  "\r\n"
		  "{\"status\":\"ok\"}", "/healthz: exact response");

	feed("GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	is_str(body_of(take()), "{\"status\":\"ok\"}", "/healthz: query ignored");

	feed("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	r = take();
	ok(has(r, "Content-Length: 15\r\n") && *body_of(r) == '\0', "HEAD /healthz: no body");

	feed("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
	r = take();
	ok(has(r, "HTTP/1.1 405 ") && has(r, "\r\nAllow: GET, HEAD\r\n"), "POST /healthz: 405 + Allow");
	is_str(body_of(r), "{\"error\":{\"code\":\"method_not_allowed\","
			   "\"message\":\"this path answers GET and HEAD only\"}}",
	       "405: JSON error");

	feed("DELETE /v1/info HTTP/1.1\r\nHost: x\r\n\r\n");
	r = take();
	ok(has(r, "HTTP/1.1 405 "), "DELETE /v1/info: 405");
	is_int(kaddr_calls, 0, "405 does not ask init");

	feed("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
	r = take();
	ok(has(r, "HTTP/1.1 404 Not Found\r\n"), "unknown path: 404");
	is_str(body_of(r), "{\"error\":{\"code\":\"not_found\",\"message\":\"no such path\"}}",
	       "404: JSON error");
	feed("GET /healthz/ HTTP/1.1\r\nHost: x\r\n\r\n");
	ok(has(take(), "HTTP/1.1 404 "), "trailing slash is another path: 404");
}

static void set_boot(void)
{
	st.have_boot = true;
	for (int i = 0; i < 32; i++)
		st.boot.manifest_sha256[i] = (uint8_t)i;
	st.boot.has_manifest = 1;
	st.boot.host_mode = 0;
	st.boot.t_init_start_ms = 812;
	st.boot.t_modules_loaded_ms = 905;
	st.boot.t_netd_up_ms = 930;
	st.t_bound_ms = 1210;
	st.t_ready_ms = 1215;
	st.ipv4_addr = htonl(0xc6120002);   /* 198.18.0.2 */
	st.dhcp = true;
}

/* /v1/info's document, init answering with no kernel addresses. */
static const char *info_doc(void)
{
	struct kaddr_reply_msg reply;

	feed("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n");
	memset(&reply, 0, sizeof reply);
	api_kaddr_reply(&st, &conn, &reply);
	return body_of(take());
}

static void test_info(void)
{
	struct kaddr_reply_msg reply;
	const char *r;
	char want[2048];

	reset();
	set_boot();
	feed("GET /v1/info?x=y HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(kaddr_calls, 1, "/v1/info asks init once");
	is_int(kaddr_conn_id, 1234, "/v1/info asks with the connection id");
	is_int(http_conn_state(&conn), HTTP_CONN_PENDING, "/v1/info: PENDING");

	memset(&reply, 0, sizeof reply);
	reply.count = 2;
	reply.addr[0].family = AF_INET;
	reply.addr[0].prefixlen = 24;
	memcpy(reply.addr[0].addr, "\x0a\x00\x02\x0f", 4);
	reply.addr[1].family = AF_INET6;
	reply.addr[1].prefixlen = 64;
	memcpy(reply.addr[1].addr, "\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	api_kaddr_reply(&st, &conn, &reply);
	r = take();
	ok(has(r, "HTTP/1.1 200 OK\r\n"), "/v1/info: 200");
	snprintf(want, sizeof want,
		 "{\"version\":\"%s\","
		 "\"manifest_sha256\":\"000102030405060708090a0b0c0d0e0f"
		 "101112131415161718191a1b1c1d1e1f\","
		 "\"host_mode\":false,"
		 "\"network\":{\"ipv4\":\"198.18.0.2\",\"dhcp\":true},"
		 "\"kernel_eth0_addresses\":[\"10.0.2.15/24\",\"fe80::1/64\"],"
		 "\"boot_ms\":{\"kernel_to_init\":812,\"modules_loaded\":905,"
		 "\"netd_up\":930,\"dhcp_bound\":1210,\"ready\":1215},\"layers\":null,"
		 "\"store\":null,\"tls_origination\":{\"local_ca\":false,\"anchors\":0,\"test_anchors\":0,\"reason\":null},\"http\":null,\"https\":null,\"egress\":null,\"link\":null}",
		 DSHIELD_VERSION);
	is_str(body_of(r), want, "/v1/info: the document, addresses rendered");

	/* A correct system: no kernel address, times partly unknown. */
	reset();
	st.have_boot = true;
	st.boot.host_mode = 1;
	st.boot.t_init_start_ms = 5;
	feed("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n");
	memset(&reply, 0, sizeof reply);
	api_kaddr_reply(&st, &conn, &reply);
	snprintf(want, sizeof want,
		 "{\"version\":\"%s\",\"manifest_sha256\":null,\"host_mode\":true,"
		 "\"network\":{\"ipv4\":null,\"dhcp\":false},"
		 "\"kernel_eth0_addresses\":[],"
		 "\"boot_ms\":{\"kernel_to_init\":5,\"modules_loaded\":null,"
		 "\"netd_up\":null,\"dhcp_bound\":null,\"ready\":null},\"layers\":null,"
		 "\"store\":null,\"tls_origination\":{\"local_ca\":false,\"anchors\":0,\"test_anchors\":0,\"reason\":null},\"http\":null,\"https\":null,\"egress\":null,\"link\":null}",
		 DSHIELD_VERSION);
	is_str(body_of(take()), want, "/v1/info: [] and nulls");

	/* netd's server: its counters and lwIP's memory. */
	static struct http_lwip hl;
	lwip_init();
	hl.st.accepted = 7;
	hl.st.refused_per_addr = 2;
	hl.st.evicted_idle = 3;
	hl.st.aborted_unsent = 4;
	hl.st.syn_dropped = 5;
	reset();
	st.http = &hl;
	const char *doc = info_doc();
	ok(strstr(doc, "\"http\":{\"active\":0,\"accepted\":7,\"refused\":{\"pool_full\":0,"
		       "\"per_address\":2,\"memory\":0},\"evicted\":{\"lingering\":0,\"idle\":3,") &&
	   strstr(doc, "\"aborted\":{\"unsent\":4,\"error\":0},\"syn_dropped\":5,") &&
	   strstr(doc, "\"pbuf_pool_size\":4096,"), "/v1/info: the server's counters (%s)", doc);
	ok(strstr(doc, ",\"https\":null,") != NULL, "/v1/info: https null while 8443 does not listen");
	/* the TLS pool: the same counters and its handshakes, no memory (one lwIP) */
	{
		static struct http_lwip hls;
		static struct http_tls t;
		hls.tls = &t;
		hls.st.accepted = 9;
		t.st.handshakes = 8;
		t.st.failed = 1;
		t.st.timed_out = 2;
		t.st.sign_asked = 8;
		t.st.sign_refused = 3;
		reset();
		st.https = &hls;
		doc = info_doc();
		ok(strstr(doc, ",\"https\":{\"active\":0,\"accepted\":9,") != NULL &&
		   strstr(doc, "\"tls\":{\"handshakes\":8,\"failed\":1,\"timed_out\":2,\"sign_asked\":8,"
			       "\"sign_refused\":3}},\"egress\":null,\"link\":null}") != NULL,
		   "/v1/info: the TLS pool's counters and handshakes under https (%s)", doc);
		st.https = NULL;
	}
	{
		static struct egress_proxy_stats es = { .accepted = 5, .relayed = 4, .refused = 1,
							.pool_full = 1, .active = 2, .bytes_up = 300,
							.bytes_down = 7000, .bw_holds = 3, .parked = 1,
							.reused = 2, .tls_resumed = 8,
							.up_tls_full = 5, .up_tls_resumed = 9,
							.dns_busy = 4 };
		reset();
		st.egress = &es;
		doc = info_doc();
		ok(strstr(doc, ",\"egress\":{\"active\":2,\"accepted\":5,\"relayed\":4,"
			       "\"refused\":{\"total\":1,\"pool_full\":1,\"log_refused\":0},"
			       "\"bytes\":{\"up\":300,\"down\":7000},"
			       "\"upstream_pool\":{\"parked\":1,\"reused\":2},"
			       "\"bandwidth_holds\":3,\"tls_resumed\":8,"
			       "\"upstream_tls\":{\"full\":5,\"resumed\":9},\"dns_busy\":4},"
			       "\"link\":null}") != NULL,
		   "/v1/info: the egress proxy's counters (%s)", doc);
		static struct refusal_budget_stats rs = { .recorded = 70, .unrecorded = 9000,
							  .summaries = 3, .untracked = 1 };
		reset();
		st.egress = &es;
		st.refusals = &rs;
		doc = info_doc();
		ok(strstr(doc, "\"dns_busy\":4,\"refusal_records\":{\"recorded\":70,"
			       "\"unrecorded\":9000,\"summaries\":3,\"untracked\":1}},") != NULL,
		   "/v1/info: the refusal records' counters in egress (%s)", doc);
		st.refusals = NULL;
		st.egress = NULL;
		struct netif_packet_stats ls = { .rx_frames = 10, .rx_bytes = 9000, .rx_runt = 1,
						 .rx_oversize = 2, .rx_split = 3, .rx_whole = 4,
						 .rx_nomem = 5, .rx_input_err = 6,
						 .rx_csum_vouched = 7, .tx_frames = 8,
						 .tx_bytes = 800, .tx_gso = 11, .tx_drop = 9 };
		reset();
		st.link = &ls;
		doc = info_doc();
		ok(strstr(doc, ",\"link\":{\"rx_frames\":10,\"rx_bytes\":9000,\"tx_frames\":8,"
			       "\"tx_bytes\":800,\"tx_gso_frames\":11,\"checksum_vouched\":7,"
			       "\"super_frames\":{\"whole\":4,\"cut\":3},"
			       "\"dropped\":{\"runt\":1,\"oversize\":2,\"no_pbuf\":5,\"input\":6,"
			       "\"tx\":9}}}") != NULL,
		   "/v1/info: the packet driver's counters (%s)", doc);
		st.link = NULL;
	}
	st.http = NULL;

	/* A count larger than the array is clamped. */
	reset();
	feed("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n");
	memset(&reply, 0, sizeof reply);
	reply.count = 1000;
	for (int i = 0; i < KADDR_MAX; i++) {
		reply.addr[i].family = AF_INET6;
		reply.addr[i].prefixlen = 128;
		memset(reply.addr[i].addr, 0xff, 16);
	}
	api_kaddr_reply(&st, &conn, &reply);
	r = take();
	ok(has(r, "HTTP/1.1 200 "), "/v1/info: %d IPv6 addresses fit", KADDR_MAX);
	{
		int n = 0;
		for (const char *p = r; (p = strstr(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")); p++)
			n++;
		is_int(n, KADDR_MAX, "/v1/info: count clamped to KADDR_MAX");
	}

	/* init failed to list the addresses. */
	reset();
	feed("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n");
	memset(&reply, 0, sizeof reply);
	reply.error = -EPERM;
	api_kaddr_reply(&st, &conn, &reply);
	r = take();
	ok(has(r, "HTTP/1.1 500 "), "reply error: 500");
	ok(has(r, "\"code\":\"kaddr_failed\"") && has(r, "(errno 1)"),
	   "reply error: JSON names the errno");
	is_int(http_conn_state(&conn), HTTP_CONN_READING, "reply error: connection kept");

	/* The request to init could not be sent. */
	reset();
	kaddr_rc = -EPIPE;
	feed("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n");
	r = take();
	ok(has(r, "HTTP/1.1 503 Service Unavailable\r\n"), "request_kaddr failure: 503");
	ok(has(r, "\"code\":\"unavailable\""), "request_kaddr failure: JSON code");

	/* HEAD waits for the answer too, then sends headers only. */
	reset();
	feed("HEAD /v1/info HTTP/1.1\r\nHost: x\r\n\r\n");
	is_int(http_conn_state(&conn), HTTP_CONN_PENDING, "HEAD /v1/info: PENDING");
	memset(&reply, 0, sizeof reply);
	api_kaddr_reply(&st, &conn, &reply);
	r = take();
	ok(has(r, "HTTP/1.1 200 ") && has(r, "Content-Length: ") && *body_of(r) == '\0',
	   "HEAD /v1/info: headers only");

	/* A reply for a connection that is not waiting changes nothing. */
	reset();
	api_kaddr_reply(&st, &conn, &reply);
	is_int(http_conn_state(&conn), HTTP_CONN_READING, "stray reply: ignored");
}

static void test_info_layers(void)
{
	struct layers_info_msg *m = &st.layers;
	const char *doc;
	char want[512];

	reset();
	st.have_layers = true;
	doc = info_doc();
	ok(has(doc, "\"layers\":[],\"store\":null,\"tls_origination\":{\"local_ca\":false,\"anchors\":0,\"test_anchors\":0,\"reason\":null},\"http\""), "layers: none (host mode): [] (%s)", doc);

	reset();
	st.have_layers = true;
	m->n = 3;
	m->available = 2;
	snprintf(m->l[0].name, sizeof m->l[0].name, "native");
	m->l[0].available = 1;
	snprintf(m->l[1].name, sizeof m->l[1].name, "python");
	snprintf(m->l[1].reason, sizeof m->l[1].reason,
		 "entry usr/bin/python3.13: read at byte 4096: I/O error \"x\"\n");
	snprintf(m->l[2].name, sizeof m->l[2].name, "node");
	m->l[2].available = 1;
	snprintf(m->l[2].reason, sizeof m->l[2].reason, "stale");  /* not shown: available */
	doc = info_doc();
	snprintf(want, sizeof want,
		 "\"layers\":[{\"name\":\"native\",\"available\":true,\"reason\":null},"
		 "{\"name\":\"python\",\"available\":false,\"reason\":"
		 "\"entry usr/bin/python3.13: read at byte 4096: I/O error \\\"x\\\"\\n\"},"
		 "{\"name\":\"node\",\"available\":true,\"reason\":null}],\"store\":null,\"tls_origination\":{\"local_ca\":false,\"anchors\":0,\"test_anchors\":0,\"reason\":null},\"http\":null,\"https\":null,\"egress\":null,\"link\":null}");
	ok(has(doc, want), "layers: each with name, available and reason, escaped (%s)", doc);

	/* What init cannot send but netd must survive: a count beyond the
	 * array, strings without their NUL. Eight layers with reasons that
	 * fill their arrays still fit the document. */
	reset();
	st.have_layers = true;
	m->n = 1000;
	for (int i = 0; i < LAYERS_INFO_MAX; i++) {
		memset(m->l[i].name, 'a' + i, sizeof m->l[i].name);
		memset(m->l[i].reason, 'r', sizeof m->l[i].reason);
	}
	doc = info_doc();
	{
		int n = 0;
		for (const char *p = doc; (p = strstr(p, "\"available\":false")); p++)
			n++;
		is_int(n, LAYERS_INFO_MAX, "layers: the count is clamped to %d", LAYERS_INFO_MAX);
	}
	memset(want, 'h', LAYERS_INFO_NAME);
	want[LAYERS_INFO_NAME] = '\0';
	ok(has(doc, want) && !has(doc, "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"),
	   "layers: a name without its NUL stops at its array (%d bytes)", LAYERS_INFO_NAME);
	memset(want, 'r', LAYERS_INFO_REASON);
	want[LAYERS_INFO_REASON] = '"';
	want[LAYERS_INFO_REASON + 1] = '\0';
	ok(has(doc, want) && has(doc, "\"http\":null,\"https\":null,\"egress\":null,\"link\":null}"),
	   "layers: reasons stop at their array, and the document is whole");
}

/* The encrypted store init reported (IMSG_STORE_INFO) in /v1/info. */
static void test_info_store(void)
{
	struct store_info_msg *m = &st.store;
	const char *doc;

	reset();
	st.have_store = true;
	snprintf(m->summary, sizeof m->summary, "store: none (tmpfs, lost at poweroff)");
	doc = info_doc();
	ok(has(doc, "\"store\":{\"state\":\"none\",\"key_provider\":\"none\",\"insecure_dev_key\":false,"
		    "\"instance\":null,\"data_bytes\":0,\"data_quota\":false,\"rollback\":null,"
		    "\"integrity\":\"none\",\"summary\":\"store: none (tmpfs, lost at poweroff)\"}"),
	   "store: none (%s)", doc);

	reset();
	st.have_store = true;
	m->state = STORE_INFO_REFUSED;
	m->provider = 1;
	m->insecure = 1;
	snprintf(m->summary, sizeof m->summary, "store: REFUSED (insecure dev key): \"x\"");
	doc = info_doc();
	ok(has(doc, "\"state\":\"refused\",\"key_provider\":\"dev\",\"insecure_dev_key\":true,") &&
	   has(doc, "\"summary\":\"store: REFUSED (insecure dev key): \\\"x\\\"\"}"),
	   "store: refused, dev, insecure, the summary escaped (%s)", doc);

	reset();
	st.have_store = true;
	m->state = STORE_INFO_OPEN;
	m->provider = 2;
	m->has_instance = 1;
	memset(m->instance, 0xab, sizeof m->instance);
	m->data_bytes = 1u << 30;
	m->data_quota = 1;
	doc = info_doc();
	ok(has(doc, "\"state\":\"open\",\"key_provider\":\"kms\",\"insecure_dev_key\":false,"
		    "\"instance\":\"abababababababababababababababababababababababababababababababab\","
		    "\"data_bytes\":1073741824,\"data_quota\":true,"),
	   "store: open, kms, the instance in hex, project quotas (%s)", doc);
	m->rollback = 1;
	snprintf(m->rollback_why, sizeof m->rollback_why, "rollback: the log has 2 entries, the KMS's \"record\" 3");
	doc = info_doc();
	ok(has(doc, "\"data_quota\":true,\"rollback\":\"rollback: the log has 2 entries, the KMS's "
		    "\\\"record\\\" 3\","),
	   "store: open with a flagged rollback, its reason escaped (%s)", doc);
	m->rollback = 0;
	m->integrity = 1;
	doc = info_doc();
	ok(has(doc, "\"rollback\":null,\"integrity\":\"hmac-sha256\",\"summary\":"),
	   "store: integrity hmac-sha256 named (%s)", doc);
	m->integrity = 0;
	m->state = STORE_INFO_PENDING;
	doc = info_doc();
	ok(has(doc, "\"state\":\"pending\",\"key_provider\":\"kms\","),
	   "store: pending, waiting for the KMS (%s)", doc);

	/* What init cannot send but netd must survive. */
	reset();
	st.have_store = true;
	m->state = 200;
	m->provider = 9;
	memset(m->summary, 's', sizeof m->summary);
	doc = info_doc();
	ok(has(doc, "\"state\":\"unknown\",\"key_provider\":\"unknown\"") &&
	   has(doc, "ssss\"},\"tls_origination\":{\"local_ca\":false,\"anchors\":0,\"test_anchors\":0,\"reason\":null},\"http\":null,\"https\":null,\"egress\":null,\"link\":null}"), "store: unknown values, a summary without its NUL");

	/* TLS origination: test anchors said, a reason when there are none */
	reset();
	st.tls.local_ca = true;
	st.tls.anchors = 149;
	st.tls.test_anchors = 1;
	doc = info_doc();
	ok(has(doc, "\"tls_origination\":{\"local_ca\":true,\"anchors\":149,\"test_anchors\":1,"
		    "\"reason\":null}"), "tls_origination: the anchors and the test anchors (%s)", doc);
	reset();
	snprintf(st.tls.why, sizeof st.tls.why, "no trust anchors (host mode without --anchors)");
	doc = info_doc();
	ok(has(doc, "\"anchors\":0,\"test_anchors\":0,\"reason\":\"no trust anchors (host mode "
		    "without --anchors)\"}"), "tls_origination: why there are none (%s)", doc);
}

/* --- over loopback TCP -------------------------------------------------------- */

#define CLIENTS 50
#define ROUNDS  3

static uint16_t port;
static pthread_barrier_t barrier;
static volatile sig_atomic_t stop_flag;
static int client_ok[CLIENTS];

static int dial(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one response (head + Content-Length body) into buf; its length or -1. */
static long read_response(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		char *end, *cl;
		ssize_t n;

		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			size_t head = (size_t)(end + 4 - buf);
			cl = strstr(buf, "Content-Length: ");
			size_t blen = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
			if (len >= head + blen)
				return (long)(head + blen);
		}
		if (len >= cap - 1)
			return -1;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
}

static void *client(void *arg)
{
	int i = (int)(intptr_t)arg, good = 0;
	char buf[4096];
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	int fd = dial();

	pthread_barrier_wait(&barrier);   /* all connected before any request */
	for (int r = 0; fd >= 0 && r < ROUNDS; r++) {
		long n;
		if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1))
			break;
		n = read_response(fd, buf, sizeof buf);
		if (n < 0 || strncmp(buf, "HTTP/1.1 200 ", 13) != 0 ||
		    !strstr(buf, "{\"status\":\"ok\"}"))
			break;
		good++;
	}
	if (fd >= 0)
		close(fd);
	client_ok[i] = good;
	return NULL;
}

static void *server(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	static int rc;

	rc = http_sock_serve(lfd, &srv, &stop_flag);
	return &rc;
}

static void test_sockets(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	pthread_t srv_thread, clients[CLIENTS];
	int lfd, all = 0, *rc;
	char buf[1024];
	long n;

	reset();
	srv.header_timeout_ms = 300;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!ok(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 &&
		listen(lfd, 128) == 0 && getsockname(lfd, (struct sockaddr *)&a, &alen) == 0,
		"listen on 127.0.0.1:0"))
		return;
	port = ntohs(a.sin_port);
	pthread_create(&srv_thread, NULL, server, (void *)(intptr_t)lfd);

	pthread_barrier_init(&barrier, NULL, CLIENTS);
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&clients[i], NULL, client, (void *)(intptr_t)i);
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(clients[i], NULL);
		all += client_ok[i] == ROUNDS;
	}
	pthread_barrier_destroy(&barrier);
	is_int(all, CLIENTS, "%d concurrent keep-alive clients got %d x 200 each", CLIENTS, ROUNDS);

	/* A request that stalls gets 408 and the connection closes. */
	{
		int fd = dial();
		ok(fd >= 0 && send(fd, "GET /healthz HTTP/1.1\r\nHo", 25, MSG_NOSIGNAL) == 25,
		   "slow client connected");
		n = fd >= 0 ? read_response(fd, buf, sizeof buf) : -1;
		ok(n > 0 && strncmp(buf, "HTTP/1.1 408 ", 13) == 0, "slow client: 408 over TCP");
		ok(fd >= 0 && recv(fd, buf, sizeof buf, 0) == 0, "slow client: then EOF");
		if (fd >= 0)
			close(fd);
	}

	/* 413 reaches a client that is still sending its body. */
	{
		static char body[200000];
		int fd = dial();
		char head[128];
		int hl = snprintf(head, sizeof head,
				  "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n",
				  sizeof body);
		memset(body, 'b', sizeof body);
		ok(fd >= 0 && send(fd, head, (size_t)hl, MSG_NOSIGNAL) == hl, "uploader connected");
		/* May fail part way once the server stops reading: that is fine. */
		if (fd >= 0)
			(void)!send(fd, body, sizeof body, MSG_NOSIGNAL | MSG_DONTWAIT);
		n = fd >= 0 ? read_response(fd, buf, sizeof buf) : -1;
		ok(n > 0 && strncmp(buf, "HTTP/1.1 413 ", 13) == 0, "uploader: 413 arrives");
		if (fd >= 0)
			close(fd);
	}

	stop_flag = 1;
	pthread_join(srv_thread, (void **)&rc);
	is_int(*rc, 0, "http_sock_serve returns 0 when stopped");
	close(lfd);
}

int main(void)
{
	alarm(60);   /* the socket test is bounded in time, whatever happens */
	test_healthz();
	test_info();
	test_info_layers();
	test_info_store();
	test_sockets();
	return tap_done();
}
