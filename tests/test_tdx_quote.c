/* tests/test_tdx_quote.c: the TDX quote parser over every quote of the
 * shared test data (field values pinned from an independent decoding),
 * refusals (SGX, non-quotes, every truncation, lying lengths), the sim
 * certification data, and the QUOTE input forms of `dshield verify`. */
#include "crypto/tdx_quote.h"
#include "cli/quote_input.h"
#include "lib/base64.h"
#include "lib/hex.h"
#include "tests/tap.h"
#include "tests/tdx_testdata.h"

#include <errno.h>

struct pin {
	const char *file;
	unsigned version;
	size_t file_len, signed_len, used;
	const char *mrtd, *rtmr0, *rtmr3, *report_data, *tee_tcb_svn;
};

/* Values from an independent Python decoding of the files (offsets of the
 * Intel layout), not from this parser. */
static const struct pin pins[] = {
	{ "dcap-qvl_tdx_quote_v4.bin", 4, 5006, 632, 4936,
	  "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
	  "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0",
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
	  "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20",
	  "06010300000000000000000000000000" },
	{ "dcap-qvl_tdx_quote_v5_outdated.bin", 5, 5006, 702, 5006,
	  "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd",
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
	  "d2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce477280000000000000000000000000000000000000000000000000000000000000000",
	  "07010300000000000000000000000000" },
	{ "go-tdx-guest_cos-113-tdx-quote.bin", 4, 8000, 632, 4935,
	  "dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a",
	  "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6",
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
	  "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
	  "04010700000000000000000000000000" },
	{ "go-tdx-guest_quote_v5_sample.bin", 5, 5006, 702, 5006,
	  "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876",
	  "5c8daf76063a71ac8fcef4067564661fc682ed7944c7a5d21dbbced02f61ceff4ba0678c6aef3bdae8cbc614cec24619",
	  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
	  "945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e094aed63060cd4a4933a4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a",
	  "0b010400000000000000000000000000" },
};

static uint8_t buf[1 << 16], work[1 << 16];
static char err[256];
static struct quote_input qi;

static int is_hex(const uint8_t *p, size_t n, const char *want)
{
	char h[129];
	hex_encode(h, p, n);
	return strcmp(h, want) == 0;
}

static void test_pins(void)
{
	for (size_t k = 0; k < sizeof(pins) / sizeof(pins[0]); k++) {
		const struct pin *p = &pins[k];
		struct tdx_quote q;
		long n = td_load(p->file, buf, sizeof(buf));
		int r;

		is_int(n, (long)p->file_len, "%s: loaded", p->file);
		r = tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err));
		if (!ok(r == 0, "%s parses", p->file))
			diag("%s", err);
		if (r)
			continue;
		is_int(q.version, p->version, "%s: version", p->file);
		is_int(q.tee_type, 0x81, "%s: TEE type TDX", p->file);
		is_int(q.att_key_type, 2, "%s: ECDSA P-256", p->file);
		is_int(q.signed_len, p->signed_len, "%s: signed region", p->file);
		is_int(q.used, p->used, "%s: bytes used (rest is padding)", p->file);
		ok(is_hex(q.mrtd, 48, p->mrtd), "%s: mrtd", p->file);
		ok(is_hex(q.rtmr[0], 48, p->rtmr0), "%s: rtmr0", p->file);
		ok(is_hex(q.rtmr[3], 48, p->rtmr3), "%s: rtmr3", p->file);
		ok(is_hex(q.report_data, 64, p->report_data), "%s: report_data", p->file);
		ok(is_hex(q.tee_tcb_svn, 16, p->tee_tcb_svn), "%s: tee_tcb_svn", p->file);
		is_int(q.cert_type, 6, "%s: QE report certification data", p->file);
		is_int(q.inner_cert_type, 5, "%s: PCK chain inside", p->file);
		is_int(q.qe_auth_len, 32, "%s: 32 bytes of QE auth data", p->file);
		ok(q.inner_cert_len > 3000 &&
		   memcmp(q.inner_cert, "-----BEGIN CERTIFICATE-----", 27) == 0,
		   "%s: inner data is a PEM chain", p->file);
		ok(q.signed_region == buf && q.signature == buf + p->signed_len + 4,
		   "%s: signature follows the signed region and its length", p->file);
		if (p->version == 5) {
			is_int(q.body_type, 3, "%s: v5 body type 3 (TDX 1.5)", p->file);
			is_int(q.body_len, 648, "%s: TDX 1.5 body size", p->file);
			ok(q.tee_tcb_svn2 == q.body + 584 && q.mr_servicetd == q.body + 600,
			   "%s: TDX 1.5 fields", p->file);
			ok(q.body == buf + 54, "%s: body after the 6-byte descriptor", p->file);
		} else {
			ok(q.tee_tcb_svn2 == NULL && q.mr_servicetd == NULL && q.body == buf + 48,
			   "%s: TDX 1.0 body, no 1.5 fields", p->file);
		}
		ok(!tdx_quote_is_sim(&q), "%s: not a sim quote", p->file);
	}
}

/* Every prefix shorter than the quote is refused, the full one accepted. */
static void test_truncation(void)
{
	for (size_t k = 0; k < sizeof(pins) / sizeof(pins[0]); k++) {
		const struct pin *p = &pins[k];
		struct tdx_quote q;
		long n = td_load(p->file, buf, sizeof(buf));
		size_t bad = 0, len;
		if (n < 0)
			continue;
		for (len = 0; len < p->used; len++) {
			memcpy(work, buf, len);  /* a fresh copy: no reading past len */
			if (tdx_quote_parse(&q, work, len, err, sizeof(err)) != -EINVAL || err[0] == '\0')
				bad++;
		}
		is_int(bad, 0, "%s: all %zu truncations refused with a message", p->file, p->used);
		ok(tdx_quote_parse(&q, buf, p->used, err, sizeof(err)) == 0,
		   "%s: exactly the used length parses", p->file);
	}
}

static void test_refusals(void)
{
	struct tdx_quote q;
	long n;
	uint32_t v;

	n = td_load("dcap-qvl_sgx_quote_v3.bin", buf, sizeof(buf));
	is_int(tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err)), -EPROTONOSUPPORT,
	       "SGX v3 quote refused");
	ok(strstr(err, "is SGX") && strstr(err, "only accepts TDX"), "SGX refusal says why: %s", err);

	n = td_load("intel_tdreport_for_test.bin", buf, sizeof(buf));
	ok(tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err)) == -EPROTONOSUPPORT,
	   "a TDREPORT is not a quote: %s", err);
	n = td_load("dstack_ccel.bin", buf, sizeof(buf));
	ok(tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err)) < 0, "a CCEL log is not a quote: %s", err);
	ok(tdx_quote_parse(&q, buf, 0, err, sizeof(err)) == -EINVAL, "empty input refused");

	n = td_load("dcap-qvl_tdx_quote_v4.bin", buf, sizeof(buf));
	/* Lying lengths, each with its precise message. */
	memcpy(work, buf, (size_t)n);
	put_le32(work + 632, 9999);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EINVAL, "signature data length too large");
	is_str(err, "quote: signature data length 9999 exceeds remaining 4370 bytes at offset 636",
	       "signature data length message");

	memcpy(work, buf, (size_t)n);
	put_le32(work + 636 + 130, 9999);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EINVAL, "certification data length too large");
	is_str(err, "quote: certification data length 9999 exceeds remaining 4166 bytes at offset 770",
	       "certification data length message");

	memcpy(work, buf, (size_t)n);
	put_le32(work + 636 + 130, 4165);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EINVAL &&
	   strstr(err, "exceeds remaining"), "certification data one byte short: %s", err);

	memcpy(work, buf, (size_t)n);
	put_le16(work + 770 + 448, 60000);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EINVAL &&
	   strstr(err, "QE auth data length 60000 exceeds remaining"), "QE auth data length: %s", err);

	memcpy(work, buf, (size_t)n);
	v = (uint32_t)(770 + 448 + 2 + 32 + 2);
	put_le32(work + v, 0xfffffff0u);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EINVAL &&
	   strstr(err, "inner certification data length 4294967280 exceeds"), "inner length: %s", err);

	memcpy(work, buf, (size_t)n);
	put_le16(work + v - 2, 4);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EPROTONOSUPPORT &&
	   strstr(err, "inner certification data type 4"), "inner type: %s", err);

	memcpy(work, buf, (size_t)n);
	put_le16(work + 636 + 128, 7);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EPROTONOSUPPORT &&
	   strstr(err, "certification data type 7"), "cert type: %s", err);

	memcpy(work, buf, (size_t)n);
	put_le16(work, 6);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EPROTONOSUPPORT &&
	   strstr(err, "version 6"), "unknown version: %s", err);

	memcpy(work, buf, (size_t)n);
	put_le16(work + 2, 3);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EPROTONOSUPPORT &&
	   strstr(err, "attestation key type 3"), "key type: %s", err);

	/* Certification data shorter than its declared size leaves bytes over. */
	memcpy(work, buf, (size_t)n);
	put_le32(work + 632, 4300 + 10);
	put_le32(work + 636 + 130, 4166 + 10);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EINVAL &&
	   strstr(err, "unused bytes"), "slack inside certification data: %s", err);

	n = td_load("dcap-qvl_tdx_quote_v5_outdated.bin", buf, sizeof(buf));
	memcpy(work, buf, (size_t)n);
	put_le16(work + 48, 1);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EPROTONOSUPPORT &&
	   strstr(err, "body type 1"), "v5 body type 1: %s", err);
	memcpy(work, buf, (size_t)n);
	put_le32(work + 50, 584);
	ok(tdx_quote_parse(&q, work, (size_t)n, err, sizeof(err)) == -EINVAL &&
	   strstr(err, "body type 3 (TDX 1.5) has size 584"), "v5 body size: %s", err);
}

/* A v5 quote may carry a TDX 1.0 body (type 2): build one from the v4
 * sample (its signature no longer matches; parsing is what is tested). */
static void test_v5_type2(void)
{
	struct tdx_quote q;
	long n = td_load("dcap-qvl_tdx_quote_v4.bin", buf, sizeof(buf));
	if (n < 0)
		return;
	memcpy(work, buf, 48);
	put_le16(work, 5);
	put_le16(work + 48, 2);
	put_le32(work + 50, 584);
	memcpy(work + 54, buf + 48, (size_t)n - 48);
	ok(tdx_quote_parse(&q, work, (size_t)n + 6, err, sizeof(err)) == 0, "v5 with a TDX 1.0 body parses");
	ok(q.version == 5 && q.body_type == 2 && q.body_len == 584 && q.body == work + 54 &&
	   q.signed_len == 638 && q.tee_tcb_svn2 == NULL && q.used == 4942,
	   "v5 type 2: body after the descriptor, signed region 638 bytes, no 1.5 fields");
	ok(memcmp(q.mrtd, buf + 48 + 136, 48) == 0, "v5 type 2: fields at the same body offsets");
}

static void test_sim(void)
{
	uint8_t rd[64];
	struct tdx_quote q;
	size_t n;

	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)i;
	n = td_build_sim_quote(buf, sizeof(buf), rd);
	ok(n > 0, "sim quote built (%zu bytes)", n);
	ok(tdx_quote_parse(&q, buf, n, err, sizeof(err)) == 0, "sim quote parses");
	ok(tdx_quote_is_sim(&q) && q.sim_key == q.cert_data + 16, "sim certification data recognised");
	ok(memcmp(q.report_data, rd, 64) == 0, "sim report_data");
	buf[n - 80] ^= 1;  /* the magic */
	ok(tdx_quote_parse(&q, buf, n, err, sizeof(err)) == -EINVAL && strstr(err, "dshield-sim-v1"),
	   "sim data without the tag refused: %s", err);
}

static void test_input_forms(void)
{
	static char text[1 << 17];
	long n = td_load("dcap-qvl_tdx_quote_v4.bin", buf, sizeof(buf)), m;
	struct tdx_quote q;
	size_t o = 0;

	/* hex with 0x, line breaks and upper case */
	o += (size_t)snprintf(text, sizeof(text), "0x");
	for (long i = 0; i < n; i++) {
		o += (size_t)snprintf(text + o, sizeof(text) - o, i % 2 ? "%02X" : "%02x", buf[i]);
		if (i % 32 == 31)
			text[o++] = '\n';
	}
	ok(quote_input_read(&qi, text, o, err, sizeof(err)) == 0 && strcmp(qi.form, "hex") == 0 &&
	   qi.quote_len == (size_t)n && memcmp(qi.quote, buf, (size_t)n) == 0, "hex input with 0x and newlines");

	ok(quote_input_read(&qi, (char *)buf, (size_t)n, err, sizeof(err)) == 0 &&
	   strcmp(qi.form, "binary") == 0 && qi.quote_len == (size_t)n, "binary input");

	/* dstack fixtures: quote hex, event_log as a JSON string, report_data. */
	m = td_load("dstack_verifier_quote-report.json", text, sizeof(text));
	ok(m > 0 && quote_input_read(&qi, text, (size_t)m, err, sizeof(err)) == 0 &&
	   strcmp(qi.form, "json") == 0, "dstack quote-report.json read");
	ok(qi.has_event_log && qi.event_log[0] == '[', "its event log string decoded to a JSON array");
	ok(tdx_quote_parse(&q, qi.quote, qi.quote_len, err, sizeof(err)) == 0, "its quote parses");
	ok(qi.has_report_data && memcmp(qi.report_data, q.report_data, 64) == 0,
	   "the fixture's report_data equals the quote's REPORTDATA");
	ok(is_hex(q.mrtd, 48, "b24d3b24e9e3c16012376b52362ca09856c4adecb709d5fac33addf1c47e193da075b125b6c364115771390a5461e217"),
	   "quote-report.json mrtd");

	m = td_load("dstack_verifier_tdx-lite-getquote.json", text, sizeof(text));
	ok(m > 0 && quote_input_read(&qi, text, (size_t)m, err, sizeof(err)) == 0, "tdx-lite-getquote.json read");
	ok(tdx_quote_parse(&q, qi.quote, qi.quote_len, err, sizeof(err)) == 0 &&
	   memcmp(qi.report_data, q.report_data, 64) == 0 &&
	   is_hex(q.mrtd, 48, "fd685522ce791dfef67414614eb07d03fc07a32c5a66f36288b329dab92b724b1564c73d436ffb9ea84488c51ac5a1c5"),
	   "tdx-lite: report_data matches, mrtd pinned");

	/* go-tdx-guest's nonce is the report data of its quote. */
	m = td_load("go-tdx-guest_nonce.bin", text, sizeof(text));
	n = td_load("go-tdx-guest_cos-113-tdx-quote.bin", buf, sizeof(buf));
	ok(m == 64 && tdx_quote_parse(&q, buf, (size_t)n, err, sizeof(err)) == 0 &&
	   memcmp(q.report_data, text, 64) == 0, "cos-113 quote carries go-tdx-guest's nonce");

	/* A /v1/attestation-shaped object with a base64 quote. */
	{
		size_t k = 0;
		n = td_load("dcap-qvl_tdx_quote_v4.bin", buf, sizeof(buf));
		k += (size_t)snprintf(text, sizeof(text), "{\"backend\":\"tdx\",\"quote\":\"");
		k += base64_encode(text + k, buf, n > 0 ? (size_t)n : 0);
		k += (size_t)snprintf(text + k, sizeof(text) - k, "\",\"event_log\":[],\"report_data\":\"%s\"}",
				      pins[0].report_data);
		ok(quote_input_read(&qi, text, k, err, sizeof(err)) == 0 && qi.quote_len == (size_t)n &&
		   memcmp(qi.quote, buf, (size_t)n) == 0 && strcmp(qi.backend, "tdx") == 0 &&
		   qi.has_report_data, "attestation JSON with a base64 quote");
	}
	ok(quote_input_read(&qi, "{\"nope\":1}", 10, err, sizeof(err)) == -EINVAL, "JSON without quote refused: %s", err);
	ok(quote_input_read(&qi, "{\"quote\":\"QQ=x\"}", 15, err, sizeof(err)) == -EINVAL,
	   "JSON quote in base64 with data after padding refused");
	ok(quote_input_read(&qi, "{\"quote\":\"QR==\"}", 15, err, sizeof(err)) == -EINVAL,
	   "JSON quote in base64 with non-zero leftover bits refused");
}

int main(void)
{
	if (td_skip_if_absent(&tap_count)) {
		test_sim();
		return tap_done();
	}
	test_pins();
	test_truncation();
	test_refusals();
	test_v5_type2();
	test_sim();
	test_input_forms();
	return tap_done();
}
