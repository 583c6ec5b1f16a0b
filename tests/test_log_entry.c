/* tests/test_log_entry.c: crypto/log_entry: known-answer bytes for every
 * type (written out here from docs/LOG.md, not from the encoder's
 * tables), round trips, every truncation and each bound refused, JSON. */
#include "crypto/log_entry.h"
#include "tests/tap.h"

#include <errno.h>
#include <stdint.h>

#include "lib/errbuf.h"
#include "lib/hex.h"

#define S(x) ((struct log_str){ x, sizeof(x) - 1 })

/* The expected bytes, appended field by field as docs/LOG.md lists them. */
struct kb {
	uint8_t b[2048];
	size_t n;
};
static void k8(struct kb *k, uint8_t v) { k->b[k->n++] = v; }
static void kn(struct kb *k, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		k8(k, (uint8_t)(v >> (8 * i)));
}
static void ks(struct kb *k, const char *s)
{
	kn(k, strlen(s), 2);
	memcpy(k->b + k->n, s, strlen(s));
	k->n += strlen(s);
}
static void kh(struct kb *k, uint8_t fill)
{
	memset(k->b + k->n, fill, 32);
	k->n += 32;
}
static void khead(struct kb *k, uint8_t type, uint64_t t)
{
	k->n = 0;
	k8(k, 1);
	k8(k, type);
	kn(k, t, 8);
}

static void check(const char *name, const struct log_entry *e, const struct kb *want)
{
	uint8_t buf[2048], again[2048];
	char err[ERRBUF_LEN];
	struct log_entry d;
	long n = log_entry_encode(buf, sizeof buf, e);
	int bad = 0;

	if (!ok(n == (long)want->n && memcmp(buf, want->b, want->n) == 0, "%s: known-answer bytes (%zu)",
		name, want->n)) {
		char hex[4097];
		hex_encode(hex, buf, n > 0 ? (size_t)n : 0);
		diag("got %ld %s", n, hex);
	}
	ok(log_entry_decode(buf, (size_t)n, &d, err, sizeof err) == 0 &&
	   log_entry_encode(again, sizeof again, &d) == n && memcmp(again, buf, (size_t)n) == 0,
	   "%s: decodes and encodes back to the same bytes", name);
	for (long cut = 0; cut < n; cut++)
		bad += log_entry_decode(buf, (size_t)cut, &d, err, sizeof err) != -EBADMSG;
	is_int(bad, 0, "%s: every truncation refused", name);
	buf[n] = 0;
	is_int(log_entry_decode(buf, (size_t)n + 1, &d, err, sizeof err), -EBADMSG,
	       "%s: a trailing byte refused", name);
	is_int(log_entry_encode(buf, (size_t)n - 1, e), -ENOSPC, "%s: one byte short: -ENOSPC", name);
}

static struct log_entry egress(uint8_t type)
{
	struct log_entry e = { .type = type, .time_ns = 1700000000123456789ull };
	struct log_egress *g = &e.u.egress;

	g->function = S("fn-1");
	g->invocation = S("inv-42");
	g->method = S("GET");
	g->scheme = S("https");
	g->host = S("api.example.com");
	g->port = 443;
	g->path = S("/v1/x?q=1");
	g->status = 200;
	g->bytes_up = 120;
	g->bytes_down = 5000;
	g->connect_ns = 1500000;
	g->total_ns = 20000000;
	g->addr.family = 4;
	memcpy(g->addr.a, "\xc0\x00\x02\x01", 4);
	g->spki.present = true;
	memset(g->spki.h, 0x5a, 32);
	g->rule = S("allow api.example.com");
	g->decision = LOG_ALLOW;
	g->reason = S("rule 3");
	return e;
}

/* egress(): its header and leading fields, and its counters */
static void k_egress_head(struct kb *k, uint8_t type)
{
	khead(k, type, 1700000000123456789ull);
	ks(k, "fn-1");
	ks(k, "inv-42");
	ks(k, "GET");
	ks(k, "https");
	ks(k, "api.example.com");
	kn(k, 443, 2);
}

static void k_egress_counts(struct kb *k)
{
	kn(k, 200, 2);
	kn(k, 120, 8);
	kn(k, 5000, 8);
	kn(k, 1500000, 8);
	kn(k, 20000000, 8);
}

static void test_known_answers(void)
{
	struct log_entry e;
	struct kb k;

	memset(&e, 0, sizeof e);
	e.type = LOG_BOOT;
	e.time_ns = 0x0102030405060708ull;
	memset(e.u.boot.manifest, 0x11, 32);
	e.u.boot.backend = S("sim");
	e.u.boot.instance = S("i-0");
	khead(&k, 1, 0x0102030405060708ull);
	kh(&k, 0x11);
	ks(&k, "sim");
	ks(&k, "i-0");
	check("boot", &e, &k);
	/* and one fully literal vector */
	static const char boot_hex[] =
		"0101" "0102030405060708" "1111111111111111111111111111111111111111111111111111111111111111"
		"0003" "73696d" "0003" "692d30";
	uint8_t lit[64], buf[128];
	hex_decode(lit, sizeof lit, boot_hex, strlen(boot_hex));
	ok(log_entry_encode(buf, sizeof buf, &e) == (long)(strlen(boot_hex) / 2) &&
	   memcmp(buf, lit, strlen(boot_hex) / 2) == 0, "boot: the literal bytes of docs/LOG.md's example");

	/* version 3: the encrypted store after the instance */
	e.version = 3;
	e.u.boot.store = S("store: none (tmpfs, lost at poweroff)");
	khead(&k, 1, 0x0102030405060708ull);
	k.b[0] = 3;
	kh(&k, 0x11);
	ks(&k, "sim");
	ks(&k, "i-0");
	ks(&k, "store: none (tmpfs, lost at poweroff)");
	check("boot v3", &e, &k);
	{
		char js[512];
		long jn = log_entry_json(&e, js, sizeof js);
		ok(jn > 0 && strstr(js, "\"v\":3,") && strstr(js, "\"store\":\"store: none (tmpfs, lost at poweroff)\""),
		   "boot v3: the JSON says v 3 and the store (%s)", jn > 0 ? js : "");
	}

	memset(&e, 0, sizeof e);
	e.type = LOG_FUNCTION;
	e.time_ns = 5;
	e.u.function.op = LOG_OP_UPDATE;
	e.u.function.id = S("hello");
	e.u.function.runtime = S("python3");
	memset(e.u.function.code, 0xc0, 32);
	memset(e.u.function.decl, 0xde, 32);
	khead(&k, 2, 5);
	k8(&k, 2);
	ks(&k, "hello");
	ks(&k, "python3");
	kh(&k, 0xc0);
	kh(&k, 0xde);
	check("function", &e, &k);

	memset(&e, 0, sizeof e);
	e.type = LOG_INVOCATION;
	e.time_ns = 6;
	e.u.invocation.function = S("hello");
	e.u.invocation.invocation = S("inv-1");
	memset(e.u.invocation.input, 0x01, 32);
	memset(e.u.invocation.output, 0x02, 32);
	e.u.invocation.status = 0xdeadbeef;
	e.u.invocation.queue_ns = 7;
	e.u.invocation.run_ns = 0x1122334455667788ull;
	khead(&k, 3, 6);
	ks(&k, "hello");
	ks(&k, "inv-1");
	kh(&k, 0x01);
	kh(&k, 0x02);
	kn(&k, 0xdeadbeef, 4);
	kn(&k, 7, 8);
	kn(&k, 0x1122334455667788ull, 8);
	check("invocation", &e, &k);

	/* version 2: the code hash after the invocation id */
	e.version = 2;
	memset(e.u.invocation.code, 0xc0, 32);
	khead(&k, 3, 6);
	k.b[0] = 2;
	ks(&k, "hello");
	ks(&k, "inv-1");
	kh(&k, 0xc0);
	kh(&k, 0x01);
	kh(&k, 0x02);
	kn(&k, 0xdeadbeef, 4);
	kn(&k, 7, 8);
	kn(&k, 0x1122334455667788ull, 8);
	check("invocation v2", &e, &k);

	for (uint8_t type = LOG_EGRESS; type <= LOG_EGRESS_REFUSED; type++) {
		e = egress(type);
		k_egress_head(&k, type);
		ks(&k, "/v1/x?q=1");
		k8(&k, 0);                 /* no path hash */
		k_egress_counts(&k);
		k8(&k, 4);
		kn(&k, 0xc0000201, 4);
		k8(&k, 1);
		kh(&k, 0x5a);
		ks(&k, "allow api.example.com");
		k8(&k, 1);
		ks(&k, "rule 3");
		check(type == LOG_EGRESS ? "egress" : "egress_refused", &e, &k);
	}

	/* an IPv6 address, a path by its hash, no SPKI, deny */
	e = egress(LOG_EGRESS_REFUSED);
	e.u.egress.path = S("");
	e.u.egress.path_hash.present = true;
	memset(e.u.egress.path_hash.h, 0x77, 32);
	e.u.egress.addr.family = 6;
	memset(e.u.egress.addr.a, 0x20, 16);
	e.u.egress.spki.present = false;
	e.u.egress.decision = LOG_DENY;
	k_egress_head(&k, LOG_EGRESS_REFUSED);
	ks(&k, "");
	k8(&k, 1);
	kh(&k, 0x77);
	k_egress_counts(&k);
	k8(&k, 6);
	memset(k.b + k.n, 0x20, 16);
	k.n += 16;
	k8(&k, 0);
	ks(&k, "allow api.example.com");
	k8(&k, 2);
	ks(&k, "rule 3");
	check("egress_refused (IPv6, path hash, no SPKI)", &e, &k);

	memset(&e, 0, sizeof e);
	e.type = LOG_DNS_REFUSED;
	e.time_ns = 9;
	e.u.dns_refused.function = S("f");
	e.u.dns_refused.invocation = S("");
	e.u.dns_refused.qname = S("evil.example");
	e.u.dns_refused.qtype = 28;
	e.u.dns_refused.rule = S("");
	e.u.dns_refused.reason = S("not in policy");
	khead(&k, 6, 9);
	ks(&k, "f");
	ks(&k, "");
	ks(&k, "evil.example");
	kn(&k, 28, 2);
	ks(&k, "");
	ks(&k, "not in policy");
	check("dns_refused", &e, &k);

	memset(&e, 0, sizeof e);
	e.type = LOG_ATTESTATION;
	e.time_ns = 10;
	memset(e.u.attestation.nonce, 0xab, 32);
	khead(&k, 7, 10);
	kh(&k, 0xab);
	check("attestation", &e, &k);
}

static void test_refusals(void)
{
	uint8_t buf[8192];
	char err[ERRBUF_LEN], big[4200];
	struct log_entry e = egress(LOG_EGRESS), d;
	long n = log_entry_encode(buf, sizeof buf, &e);

	buf[0] = 2;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG,
	       "an egress entry in version 2 refused (only invocations have one)");
	buf[0] = 3;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG,
	       "an egress entry in version 3 refused (only boot entries have one)");
	buf[0] = 4;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG, "version 4 refused");
	buf[0] = 0;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG, "version 0 refused");
	buf[0] = 1;
	e.version = 2;
	is_int(log_entry_encode(buf, sizeof buf, &e), -EINVAL, "an egress entry does not encode in version 2");
	e.version = 3;
	is_int(log_entry_encode(buf, sizeof buf, &e), -EINVAL, "nor in version 3");
	e.version = 4;
	is_int(log_entry_encode(buf, sizeof buf, &e), -EINVAL, "nor in version 4");
	e.version = 0;
	n = log_entry_encode(buf, sizeof buf, &e);
	buf[1] = 0;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG, "type 0 refused");
	buf[1] = 8;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG, "type 8 refused");
	buf[1] = LOG_EGRESS;
	buf[n - 9] = 3;     /* the decision byte, before "rule 3"'s u16 and 6 bytes */
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG, "decision 3 refused");
	ok(strstr(err, "decision") != NULL, "reason names the field: %s", err);
	buf[n - 9] = 1;
	buf[n - 1] = 0x1f;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG,
	       "a control character in a string refused");
	buf[n - 1] = 0xff;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG, "invalid UTF-8 refused");

	e.u.egress.reason = S("bad\nline");
	is_int(log_entry_encode(buf, sizeof buf, &e), -EINVAL, "encoder refuses a control character");
	e = egress(LOG_EGRESS);
	memset(big, 'a', sizeof big);
	e.u.egress.path = (struct log_str){ big, 4096 };
	ok(log_entry_encode(buf, sizeof buf, &e) > 0, "a 4096-byte path is taken");
	e.u.egress.path.len = 4097;
	is_int(log_entry_encode(buf, sizeof buf, &e), -EINVAL, "a 4097-byte path refused");
	e = egress(LOG_EGRESS);
	e.u.egress.host.len = 254;
	e.u.egress.host.p = big;
	is_int(log_entry_encode(buf, sizeof buf, &e), -EINVAL, "a 254-byte host refused");
	e = egress(LOG_EGRESS);
	e.u.egress.addr.family = 5;
	is_int(log_entry_encode(buf, sizeof buf, &e), -EINVAL, "address family 5 refused");
	e = egress(LOG_EGRESS);
	e.type = 99;
	is_int(log_entry_encode(buf, sizeof buf, &e), -EINVAL, "type 99 refused by the encoder");

	/* a decoder given a 4097-byte path in the bytes */
	e = egress(LOG_EGRESS);
	e.u.egress.path = (struct log_str){ big, 4096 };
	n = log_entry_encode(buf, sizeof buf, &e);
	size_t at = 2 + 8 + (2 + 4) + (2 + 6) + (2 + 3) + (2 + 5) + (2 + 15) + 2;
	ok(buf[at] == 0x10 && buf[at + 1] == 0x00, "the path's length is at offset %zu", at);
	buf[at + 1] = 0x01;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG,
	       "a path length of 4097 refused by the decoder");
	e = egress(LOG_EGRESS);
	n = log_entry_encode(buf, sizeof buf, &e);
	at = 2 + 8 + (2 + 4) + (2 + 6) + (2 + 3) + (2 + 5) + (2 + 15) + 2 + (2 + 9);
	buf[at] = 2;
	is_int(log_entry_decode(buf, (size_t)n, &d, err, sizeof err), -EBADMSG,
	       "an optional-hash flag of 2 refused");
}

static void test_json(void)
{
	struct log_entry e = egress(LOG_EGRESS);
	char out[2048];
	long n = log_entry_json(&e, out, sizeof out);

	is_str(n > 0 ? out : "", "{\"v\":1,\"type\":\"egress\",\"time_ns\":1700000000123456789,"
	       "\"function\":\"fn-1\",\"invocation\":\"inv-42\",\"method\":\"GET\",\"scheme\":\"https\","
	       "\"host\":\"api.example.com\",\"port\":443,\"path\":\"/v1/x?q=1\",\"path_hash\":null,"
	       "\"status\":200,\"bytes_up\":120,\"bytes_down\":5000,\"connect_ns\":1500000,"
	       "\"total_ns\":20000000,\"addr\":\"192.0.2.1\",\"spki\":"
	       "\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\","
	       "\"rule\":\"allow api.example.com\",\"decision\":\"allow\",\"reason\":\"rule 3\"}",
	       "egress as JSON");
	memset(&e, 0, sizeof e);
	e.type = LOG_FUNCTION;
	e.u.function.op = LOG_OP_DELETE;
	e.u.function.id = S("f\"x");
	n = log_entry_json(&e, out, sizeof out);
	ok(n > 0 && strstr(out, "\"op\":\"delete\"") && strstr(out, "\"id\":\"f\\\"x\""),
	   "function as JSON: op by name, strings escaped");
	is_int(log_entry_json(&e, out, 20), -ENOSPC, "JSON into a short buffer: -ENOSPC");
	memset(&e, 0, sizeof e);
	e.version = 2;
	e.type = LOG_INVOCATION;
	e.u.invocation.function = S("f");
	e.u.invocation.invocation = S("i");
	memset(e.u.invocation.code, 0xc0, 32);
	n = log_entry_json(&e, out, sizeof out);
	ok(n > 0 && strncmp(out, "{\"v\":2,\"type\":\"invocation\"", 26) == 0 &&
	   strstr(out, "\"invocation\":\"i\",\"code\":\"c0c0") != NULL,
	   "a version-2 invocation as JSON: v 2, its code after its id");
	ok(log_entry_type_name(LOG_DNS_REFUSED) && strcmp(log_entry_type_name(LOG_DNS_REFUSED), "dns_refused") == 0 &&
	   !log_entry_type_name(0) && !log_entry_type_name(8), "type names");
}

int main(void)
{
	test_known_answers();
	test_refusals();
	test_json();
	return tap_done();
}
