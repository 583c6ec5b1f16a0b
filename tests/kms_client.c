/* tests/kms_client.c: the guest's side of `dshield kms` for tests/host/10-kms.t,
 * built from the library's own pieces (sim quotes, RTMR3 log, REPORTDATA,
 * key_wrap, signed notes) the way keyd will make them.
 *
 *   kms_client request DIR --allow FILE --app A --instance HEX [tweaks]
 *       a key request on stdout: a sim quote over a body with FILE's MRTD,
 *       RTMR0 (or zeros), RTMR1 and RTMR2, an RTMR3 log with "app-id" and
 *       "instance-id" events, REPORTDATA binding a fresh ephemeral key
 *       (saved as DIR/eph.key) and nonce (DIR/nonce) and DIR/log.key (made
 *       once). Tweaks, one refusal each: --measure-app A2, --measure-instance
 *       HEX2 (what the log measures instead), --bind-other-nonce (slot 6
 *       over another nonce), --extra-event (the log has one more event than
 *       RTMR3), --bad-signature, --debug, --no-preimage, --no-log-key,
 *       --quote FILE --collateral FILE (a real quote instead of the sim one)
 *   kms_client open DIR REPLY KMS_KEY_HEX
 *       opens the reply's wrapped key with DIR/eph.key: prints
 *       "key HEX" and "freshness SIZE" or "freshness none"
 *   kms_client fresh DIR INSTANCE SIZE ROOTBYTE GEN [--other-key]
 *       a POST /v1/freshness body signed with DIR/log.key (or a new key)
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bearssl.h>

#include "cli/kms_proto.h"
#include "crypto/checkpoint.h"
#include "crypto/key_wrap.h"
#include "crypto/note.h"
#include "crypto/reportdata.h"
#include "crypto/rtmr3.h"
#include "crypto/sim_quote.h"
#include "crypto/tdx_quote.h"
#include "crypto/p256.h"
#include "lib/base64.h"
#include "lib/errbuf.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/json_tok.h"
#include "lib/jsonw.h"
#include "lib/random.h"
#include "tests/tdx_testdata.h"

static char g_path[4096];
static struct rtmr3_log g_log;
static char g_buf[1 << 20];
static char g_out[1 << 20];
static jsmntok_t g_toks[4096];

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kms_client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static const char *in_dir(const char *dir, const char *name);

/* Exactly 32 bytes from DIR/name (file_read needs room for a NUL). */
static bool read32(const char *dir, const char *name, uint8_t out[32])
{
	char b[33];

	if (file_read(in_dir(dir, name), b, 32) != 32)
		return false;
	memcpy(out, b, 32);
	return true;
}

static const char *in_dir(const char *dir, const char *name)
{
	snprintf(g_path, sizeof g_path, "%s/%s", dir, name);
	return g_path;
}

/* A 32-byte P-256 scalar kept in DIR/name (made when absent, or always
 * when fresh). */
static void dir_key(const char *dir, const char *name, bool fresh, uint8_t priv[32])
{
	char err[ERRBUF_LEN];
	br_ec_private_key sk;
	if (!fresh && read32(dir, name, priv))
		return;
	if (p256_keygen(priv, &sk) < 0 ||
	    file_replace(in_dir(dir, name), priv, 32, err, sizeof err) < 0)
		die("cannot make %s", name);
}

/* The log key as keyd names it: a note key whose vkey goes in the request. */
static void log_key(const uint8_t priv[32], struct note_key *k)
{
	uint8_t pub[65];

	if (key_wrap_pub(pub, priv) < 0 || note_key_init(k, "dshield-test-log", 16, pub) < 0)
		die("%s", "bad log key");
}

static void read_reg(const struct json_doc *d, const char *key, uint8_t *out, bool optional)
{
	int t = json_get(d, 0, key);
	size_t n;
	const char *s;

	memset(out, 0, 48);
	if (t < 0 && optional)
		return;
	s = json_text(d, t, &n);
	if (!json_is(d, t, JSMN_STRING) || hex_decode(out, 48, s, n) != 48)
		die("the measurements file has no %s", key);
}

static int cmd_request(const char *dir, int argc, char **argv)
{
	const char *allow = NULL, *app = NULL, *inst = NULL, *m_app = NULL, *m_inst = NULL;
	const char *real = NULL, *coll = NULL;
	bool other_nonce = false, extra = false, bad_sig = false, debug = false, no_pre = false,
	     no_lk = false;
	uint8_t eph[32], eph_pub[65], nonce[32], lpriv[32], body[TDX_BODY_V10_LEN], rd[RD_LEN];
	uint8_t kr[32], lk_sha[32], man[32], inst_bytes[KMS_ID_MAX], quote[16384];
	struct reportdata_in pre;
	struct note_key lk;
	char vkey[NOTE_VKEY_MAX];
	struct json_doc d;
	struct jsonw w;
	br_sha256_context h;
	long n, qlen;
	ssize_t il;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = strcmp(a, "--allow") == 0 ? &allow
				  : strcmp(a, "--app") == 0 ? &app
				  : strcmp(a, "--instance") == 0 ? &inst
				  : strcmp(a, "--measure-app") == 0 ? &m_app
				  : strcmp(a, "--measure-instance") == 0 ? &m_inst
				  : strcmp(a, "--quote") == 0 ? &real
				  : strcmp(a, "--collateral") == 0 ? &coll : NULL;
		if (slot) {
			if (!v)
				die("%s needs a value", a);
			*slot = v;
			i++;
		} else if (strcmp(a, "--bind-other-nonce") == 0) {
			other_nonce = true;
		} else if (strcmp(a, "--extra-event") == 0) {
			extra = true;
		} else if (strcmp(a, "--bad-signature") == 0) {
			bad_sig = true;
		} else if (strcmp(a, "--debug") == 0) {
			debug = true;
		} else if (strcmp(a, "--no-preimage") == 0) {
			no_pre = true;
		} else if (strcmp(a, "--no-log-key") == 0) {
			no_lk = true;
		} else {
			die("unknown argument %s", a);
		}
	}
	if (!allow || !app || !inst)
		die("%s", "request needs --allow, --app and --instance");
	mkdir(dir, 0700);

	/* the body: measurements from the allowlist file */
	n = file_read(allow, g_buf, sizeof g_buf - 1);
	if (n < 0 || json_parse(&d, g_buf, (size_t)n, g_toks, 4096) || !json_is(&d, 0, JSMN_OBJECT))
		die("cannot read %s", allow);
	memset(body, 0, sizeof body);
	body[TDX_OFF_TD_ATTRIBUTES] = debug ? 1 : 0;
	read_reg(&d, "mrtd", body + TDX_OFF_MRTD, false);
	read_reg(&d, "rtmr0", body + TDX_OFF_RTMR0, true);
	read_reg(&d, "rtmr1", body + TDX_OFF_RTMR0 + 48, false);
	read_reg(&d, "rtmr2", body + TDX_OFF_RTMR0 + 96, false);

	/* RTMR3: what keyd measures */
	br_sha256_init(&h);
	br_sha256_update(&h, "manifest", 8);
	br_sha256_out(&h, man);
	m_inst = m_inst ? m_inst : inst;
	il = hex_decode(inst_bytes, sizeof inst_bytes, m_inst, strlen(m_inst));
	if (il <= 0)
		die("the instance id %s is not hex", m_inst);
	m_app = m_app ? m_app : app;
	rtmr3_log_init(&g_log);
	if (rtmr3_log_append(&g_log, "manifest", man, 32) < 0 ||
	    rtmr3_log_append(&g_log, "app-id", m_app, strlen(m_app)) < 0 ||
	    rtmr3_log_append(&g_log, "instance-id", inst_bytes, (size_t)il) < 0)
		die("%s", "rtmr3 log");
	memcpy(body + TDX_OFF_RTMR0 + 144, g_log.rtmr3, 48);
	if (extra && rtmr3_log_append(&g_log, "key-provider", "kms", 3) < 0)
		die("%s", "rtmr3 log");

	/* REPORTDATA: the ephemeral key and nonce, the log key */
	dir_key(dir, "eph.key", true, eph);
	dir_key(dir, "log.key", false, lpriv);
	if (key_wrap_pub(eph_pub, eph) < 0 || random_fill(nonce, sizeof nonce) < 0 ||
	    file_replace(in_dir(dir, "nonce"), nonce, 32, NULL, 0) < 0)
		die("%s", "ephemeral key or nonce");
	log_key(lpriv, &lk);
	if (note_key_vkey(&lk, vkey, sizeof vkey) < 0)
		die("%s", "vkey");
	br_sha256_init(&h);
	br_sha256_update(&h, lk.spki, sizeof lk.spki);
	br_sha256_out(&h, lk_sha);
	{
		uint8_t bn[32];
		memcpy(bn, nonce, 32);
		if (other_nonce)
			bn[0] ^= 1;
		reportdata_kms_request(kr, eph_pub, bn);
	}
	memset(&pre, 0, sizeof pre);
	pre.f[RD_MANIFEST_SHA256 - 1] = (struct rd_value){ true, man, 32 };
	pre.f[RD_LOG_KEY_SHA256 - 1] = (struct rd_value){ true, lk_sha, 32 };
	pre.f[RD_KMS_REQUEST_SHA256 - 1] = (struct rd_value){ true, kr, 32 };
	if (reportdata_compute(&pre, rd) < 0)
		die("%s", "reportdata");
	memcpy(body + TDX_OFF_REPORT_DATA, rd, 64);

	if (real) {
		qlen = file_read(real, (char *)quote, sizeof quote - 1);
		if (qlen < 0)
			die("cannot read %s", real);
	} else {
		br_ec_private_key sk = { BR_EC_secp256r1, (unsigned char *)td_sim_priv, 32 };
		qlen = tdx_sim_quote_build(quote, sizeof quote, body, &sk);
		if (qlen < 0)
			die("%s", "sim quote");
		if (bad_sig)
			quote[TDX_QUOTE_HEADER_LEN + TDX_BODY_V10_LEN + 4 + 5] ^= 1;
	}

	jw_init(&w, g_out, sizeof g_out);
	jw_object_begin(&w);
	jw_key(&w, "version"); jw_u64(&w, 1);
	jw_key(&w, "quote"); jw_base64(&w, quote, (size_t)qlen);
	n = rtmr3_log_json(&g_log, g_buf, sizeof g_buf);
	if (n < 0)
		die("%s", "log json");
	jw_key(&w, "event_log"); jw_raw(&w, g_buf, (size_t)n);
	if (!no_pre) {
		jw_key(&w, "report_data_preimage");
		jw_object_begin(&w);
		jw_key(&w, "nonce"); jw_null(&w);
		jw_key(&w, "manifest_sha256"); jw_hex(&w, man, 32);
		jw_key(&w, "api_tls_spki_sha256"); jw_null(&w);
		jw_key(&w, "log_key_sha256"); jw_hex(&w, lk_sha, 32);
		jw_key(&w, "checkpoint"); jw_null(&w);
		jw_key(&w, "kms_request_sha256"); jw_hex(&w, kr, 32);
		jw_object_end(&w);
	}
	if (!no_lk) {
		jw_key(&w, "log_key"); jw_string(&w, vkey);
	}
	jw_key(&w, "ephemeral_key"); jw_hex(&w, eph_pub, 65);
	jw_key(&w, "nonce"); jw_hex(&w, nonce, 32);
	jw_key(&w, "app_id"); jw_string(&w, app);
	jw_key(&w, "instance_id"); jw_string(&w, inst);
	if (coll) {
		n = file_read(coll, g_buf, sizeof g_buf - 1);
		if (n < 0)
			die("cannot read %s", coll);
		jw_key(&w, "collateral"); jw_raw(&w, g_buf, (size_t)n);
	}
	jw_object_end(&w);
	n = jw_finish(&w);
	if (n < 0)
		die("%s", "request JSON");
	fwrite(g_out, 1, (size_t)n, stdout);
	putchar('\n');
	return 0;
}

static int cmd_open(const char *dir, const char *reply, const char *kms_hex)
{
	uint8_t eph[32], eph_pub[65], nonce[32], kms_pub[65], ctx[32], key[64], blob[256];
	char rec[KMS_RECORD_MAX + 1], err[ERRBUF_LEN], hex[129];
	struct kw_binding bind = { eph_pub, kms_pub, nonce, ctx };
	struct kms_fresh f;
	struct json_doc d;
	long n = file_read(reply, g_buf, sizeof g_buf - 1), rl = 0, bl;
	int t;
	size_t sl;
	const char *s;

	if (n < 0 || json_parse(&d, g_buf, (size_t)n, g_toks, 4096) || !json_is(&d, 0, JSMN_OBJECT))
		die("cannot read the reply %s", reply);
	if (!read32(dir, "eph.key", eph) || !read32(dir, "nonce", nonce) || key_wrap_pub(eph_pub, eph) < 0)
		die("no request state in %s", dir);
	if (hex_decode(kms_pub, 65, kms_hex, strlen(kms_hex)) != 65)
		die("%s is not the KMS key", kms_hex);
	t = json_get(&d, 0, "freshness");
	if (json_is(&d, t, JSMN_STRING) && (rl = json_str(&d, t, rec, sizeof rec)) <= 0)
		die("%s", "bad freshness");
	kms_reply_ctx(ctx, rec, (size_t)rl);
	t = json_get(&d, 0, "wrapped_key");
	s = json_text(&d, t, &sl);
	bl = json_is(&d, t, JSMN_STRING) ? base64_decode(blob, sizeof blob, s, sl) : -1;
	if (bl < 0)
		die("%s", "no wrapped_key");
	if (key_wrap_open(key, blob, (size_t)bl, &bind, eph, err, sizeof err) < 0)
		die("%s", err);
	hex_encode(hex, key, 64);
	printf("key %s\n", hex);
	if (rl > 0 && kms_fresh_peek(&f, rec, (size_t)rl, err, sizeof err) == 0)
		printf("freshness %llu\n", (unsigned long long)f.size);
	else
		printf("freshness none\n");
	return 0;
}

static int cmd_fresh(const char *dir, int argc, char **argv)
{
	uint8_t priv[32];
	br_ec_private_key sk = { BR_EC_secp256r1, priv, 32 };
	char ext[200], note[2048];
	struct checkpoint c = { .origin = "dshield-test-log", .origin_len = 16 };
	struct note_key k;
	struct jsonw w;
	long n;

	if (argc < 4)
		die("%s", "fresh DIR INSTANCE SIZE ROOTBYTE GEN [--other-key]");
	dir_key(dir, argc > 4 && strcmp(argv[4], "--other-key") == 0 ? "other.key" : "log.key",
		false, priv);
	log_key(priv, &k);
	c.size = strtoull(argv[1], NULL, 10);
	memset(c.root, (int)strtoul(argv[2], NULL, 16), sizeof c.root);
	snprintf(ext, sizeof ext, "%s%s %s\n", KMS_FRESH_EXT, argv[0], argv[3]);
	c.ext = ext;
	c.ext_len = strlen(ext);
	n = checkpoint_sign(note, sizeof note, &c, &k, &sk);
	if (n < 0)
		die("%s", "signing");
	jw_init(&w, g_out, sizeof g_out);
	jw_object_begin(&w);
	jw_key(&w, "version"); jw_u64(&w, 1);
	jw_key(&w, "record"); jw_string_n(&w, note, (size_t)n);
	jw_object_end(&w);
	n = jw_finish(&w);
	fwrite(g_out, 1, (size_t)n, stdout);
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "request") == 0)
		return cmd_request(argv[2], argc - 3, argv + 3);
	if (argc == 5 && strcmp(argv[1], "open") == 0)
		return cmd_open(argv[2], argv[3], argv[4]);
	if (argc >= 3 && strcmp(argv[1], "fresh") == 0)
		return cmd_fresh(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "usage: kms_client request|open|fresh DIR ... (see the source)\n");
	return 2;
}
