/* crypto/tcb_eval.c: TCB info and QE identity evaluation (tcb_eval.h). */
#include "crypto/tcb_eval.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/json_tok.h"
#include "crypto/utc_time.h"
#include "lib/bytes.h"
#include "lib/hex.h"

static const char *const status_names[] = {
	[TCB_UP_TO_DATE] = "UpToDate",
	[TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
	[TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
	[TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
	[TCB_OUT_OF_DATE] = "OutOfDate",
	[TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
	[TCB_REVOKED] = "Revoked",
	[TCB_UNKNOWN] = "Unknown",
};

const char *tcb_status_name(enum tcb_status s)
{
	return (unsigned)s <= TCB_UNKNOWN ? status_names[s] : "Unknown";
}

static enum tcb_status status_of(const struct json_doc *d, int i)
{
	for (int s = 0; s < TCB_UNKNOWN; s++)
		if (json_str_eq(d, i, status_names[s]))
			return (enum tcb_status)s;
	return TCB_UNKNOWN;
}

/* A hex string member of exactly n bytes. */
static int get_hex(const struct json_doc *d, int obj, const char *key, uint8_t *out, size_t n)
{
	int i = json_get(d, obj, key);
	if (!json_is(d, i, JSMN_STRING))
		return -1;
	return hex_decode(out, n, d->js + d->t[i].start,
			  (size_t)(d->t[i].end - d->t[i].start)) == (ssize_t)n ? 0 : -1;
}

static int get_time(const struct json_doc *d, int obj, const char *key, int64_t *t)
{
	int i = json_get(d, obj, key);
	if (!json_is(d, i, JSMN_STRING))
		return -1;
	return utc_parse(d->js + d->t[i].start, (size_t)(d->t[i].end - d->t[i].start), 0, t);
}

static int get_uint(const struct json_doc *d, int obj, const char *key, uint64_t max, uint64_t *v)
{
	return json_uint(d, json_get(d, obj, key), max, v);
}

/* "tcbDate 2024-03-13T00:00:00Z, advisories INTEL-SA-1, INTEL-SA-2" */
static void level_info(const struct json_doc *d, int lv, char *out, size_t cap)
{
	int date = json_get(d, lv, "tcbDate"), adv = json_get(d, lv, "advisoryIDs");
	size_t o = 0;
	int n;

	out[0] = '\0';
	if (json_is(d, date, JSMN_STRING)) {
		n = snprintf(out, cap, "tcbDate %.*s", d->t[date].end - d->t[date].start,
			     d->js + d->t[date].start);
		o = n > 0 && (size_t)n < cap ? (size_t)n : cap - 1;
	}
	if (json_is(d, adv, JSMN_ARRAY) && d->t[adv].size > 0) {
		for (int k = 0; k < d->t[adv].size && o + 1 < cap; k++) {
			int a = json_elem(d, adv, k);
			if (!json_is(d, a, JSMN_STRING))
				continue;
			n = snprintf(out + o, cap - o, "%s%.*s", k ? ", " : ", advisories ",
				     d->t[a].end - d->t[a].start, d->js + d->t[a].start);
			o += n > 0 && (size_t)n < cap - o ? (size_t)n : cap - o - 1;
		}
	}
}

static bool window(const struct json_doc *d, const char *name, const char *what,
		   int64_t at, struct check_list *out)
{
	int64_t issue, next;
	char a[32], b[32], now[32];

	if (get_time(d, 0, "issueDate", &issue) || get_time(d, 0, "nextUpdate", &next)) {
		checks_add(out, name, CHECK_FAIL, "%s lacks a valid issueDate/nextUpdate", what);
		return false;
	}
	utc_format(a, sizeof(a), issue);
	utc_format(b, sizeof(b), next);
	utc_format(now, sizeof(now), at);
	if (at < issue || at >= next) {
		checks_add(out, name, CHECK_FAIL, "%s valid %s .. %s, not at %s%s", what, a, b, now,
			   at >= next ? " (expired: fetch fresh collateral)" : " (not yet issued)");
		return false;
	}
	checks_add(out, name, CHECK_PASS, "%s valid %s .. %s, at %s", what, a, b, now);
	return true;
}

/* The 16 "svn" values of a components array. */
static int components(const struct json_doc *d, int lv, const char *key, uint8_t svn[16])
{
	int arr = json_get(d, lv, key);
	if (!json_is(d, arr, JSMN_ARRAY) || d->t[arr].size != 16)
		return -1;
	for (int k = 0; k < 16; k++) {
		uint64_t v;
		if (get_uint(d, json_elem(d, arr, k), "svn", 255, &v))
			return -1;
		svn[k] = (uint8_t)v;
	}
	return 0;
}

/* Intel's convergence of the platform status with the TDX module's. */
static enum tcb_status converge(enum tcb_status platform, enum tcb_status module)
{
	if (module == TCB_REVOKED || platform == TCB_REVOKED)
		return TCB_REVOKED;
	if (module == TCB_OUT_OF_DATE) {
		if (platform == TCB_CONFIGURATION_NEEDED ||
		    platform == TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
		if (platform == TCB_UP_TO_DATE || platform == TCB_SW_HARDENING_NEEDED)
			return TCB_OUT_OF_DATE;
	}
	return platform;
}

/* TDX module identity for module major version tee_tcb_svn[1] (> 0).
 * Returns its status, or TCB_UNKNOWN with a failed check appended. */
static enum tcb_status tdx_module(const struct json_doc *d, const struct tdx_quote *q,
				  struct check_list *out)
{
	int ids = json_get(d, 0, "tdxModuleIdentities");
	char want[8], info[256];
	uint8_t mrsigner[48], attr[8], mask[8];

	snprintf(want, sizeof(want), "TDX_%02X", q->tee_tcb_svn[1]);
	for (int k = 0; json_is(d, ids, JSMN_ARRAY) && k < d->t[ids].size; k++) {
		int id = json_elem(d, ids, k), lvs;
		if (!json_str_eq(d, json_get(d, id, "id"), want))
			continue;
		if (get_hex(d, id, "mrsigner", mrsigner, 48) || get_hex(d, id, "attributes", attr, 8) ||
		    get_hex(d, id, "attributesMask", mask, 8))
			break;
		if (memcmp(mrsigner, q->mrsignerseam, 48) != 0) {
			checks_add(out, "tcb.tdx_module", CHECK_FAIL,
				   "MRSIGNERSEAM differs from the %s identity", want);
			return TCB_UNKNOWN;
		}
		for (int b = 0; b < 8; b++) {
			if ((q->seam_attributes[b] & mask[b]) != (attr[b] & mask[b])) {
				checks_add(out, "tcb.tdx_module", CHECK_FAIL,
					   "SEAM attributes differ from the %s identity under its mask", want);
				return TCB_UNKNOWN;
			}
		}
		lvs = json_get(d, id, "tcbLevels");
		for (int l = 0; json_is(d, lvs, JSMN_ARRAY) && l < d->t[lvs].size; l++) {
			int lv = json_elem(d, lvs, l);
			uint64_t isvsvn;
			enum tcb_status s;
			if (get_uint(d, json_get(d, lv, "tcb"), "isvsvn", 255, &isvsvn))
				break;
			if (q->tee_tcb_svn[0] < isvsvn)
				continue;
			s = status_of(d, json_get(d, lv, "tcbStatus"));
			level_info(d, lv, info, sizeof(info));
			checks_add(out, "tcb.tdx_module", CHECK_PASS,
				   "%s identity matches (MRSIGNERSEAM, SEAM attributes); module SVN %u: %s (%s)",
				   want, q->tee_tcb_svn[0], tcb_status_name(s), info);
			return s;
		}
		checks_add(out, "tcb.tdx_module", CHECK_FAIL,
			   "TDX module SVN %u is below every %s TCB level", q->tee_tcb_svn[0], want);
		return TCB_UNKNOWN;
	}
	checks_add(out, "tcb.tdx_module", CHECK_FAIL,
		   "TCB info has no usable TDX module identity %s", want);
	return TCB_UNKNOWN;
}

/* Module major version 0: the TCB info's tdxModule gives MRSIGNER and
 * attributes; the module SVN is graded by the TCB levels themselves. */
static bool tdx_module_v0(const struct json_doc *d, const struct tdx_quote *q,
			  struct check_list *out)
{
	int m = json_get(d, 0, "tdxModule");
	uint8_t mrsigner[48], attr[8], mask[8];

	if (get_hex(d, m, "mrsigner", mrsigner, 48) || get_hex(d, m, "attributes", attr, 8) ||
	    get_hex(d, m, "attributesMask", mask, 8)) {
		checks_add(out, "tcb.tdx_module", CHECK_FAIL, "TCB info lacks a valid tdxModule");
		return false;
	}
	if (memcmp(mrsigner, q->mrsignerseam, 48) != 0) {
		checks_add(out, "tcb.tdx_module", CHECK_FAIL, "MRSIGNERSEAM differs from the TCB info's tdxModule");
		return false;
	}
	for (int b = 0; b < 8; b++) {
		if ((q->seam_attributes[b] & mask[b]) != (attr[b] & mask[b])) {
			checks_add(out, "tcb.tdx_module", CHECK_FAIL,
				   "SEAM attributes differ from the TCB info's tdxModule under its mask");
			return false;
		}
	}
	checks_add(out, "tcb.tdx_module", CHECK_PASS,
		   "module major version 0: MRSIGNERSEAM and SEAM attributes match tdxModule");
	return true;
}

static bool level_matches(const struct json_doc *d, int lv, const struct pck_ext *pck,
			  const uint8_t tee[16], int skip, bool *bad)
{
	int tcb = json_get(d, lv, "tcb");
	uint8_t sgx[16], tdx[16];
	uint64_t pcesvn;

	if (components(d, tcb, "sgxtcbcomponents", sgx) ||
	    components(d, tcb, "tdxtcbcomponents", tdx) ||
	    get_uint(d, tcb, "pcesvn", 65535, &pcesvn)) {
		*bad = true;
		return false;
	}
	for (int k = 0; k < 16; k++)
		if (pck->comp_svn[k] < sgx[k])
			return false;
	if (pck->pcesvn < pcesvn)
		return false;
	for (int k = skip; k < 16; k++)
		if (tee[k] < tdx[k])
			return false;
	return true;
}

static void tcb_status_check(const struct json_doc *d, const struct tdx_quote *q,
			     const struct tdx_verify_state *st, struct check_list *out)
{
	int lvs = json_get(d, 0, "tcbLevels");
	int skip = q->tee_tcb_svn[1] > 0 ? 2 : 0;
	enum tcb_status module = TCB_UP_TO_DATE, platform, final;
	char info[CHECK_DETAIL_MAX - 96];
	bool bad = false;

	if (skip)
		module = tdx_module(d, q, out);
	else if (!tdx_module_v0(d, q, out))
		module = TCB_UNKNOWN;

	for (int l = 0; json_is(d, lvs, JSMN_ARRAY) && l < d->t[lvs].size; l++) {
		int lv = json_elem(d, lvs, l);
		if (!level_matches(d, lv, &st->pck, q->tee_tcb_svn, skip, &bad)) {
			if (bad)
				break;
			continue;
		}
		platform = status_of(d, json_get(d, lv, "tcbStatus"));
		level_info(d, lv, info, sizeof(info));
		if (platform == TCB_UNKNOWN) {
			checks_add(out, "tcb.status", CHECK_FAIL, "TCB level %d has an unknown tcbStatus", l + 1);
			return;
		}
		if (module == TCB_UNKNOWN) {
			checks_add(out, "tcb.status", CHECK_FAIL,
				   "platform level %d is %s, but the TDX module is not recognised (see tcb.tdx_module)",
				   l + 1, tcb_status_name(platform));
			return;
		}
		final = converge(platform, module);
		checks_add(out, "tcb.status", final == TCB_UP_TO_DATE ? CHECK_PASS : CHECK_FAIL,
			   "%s (TCB level %d of %d: %s; %s%s)", tcb_status_name(final), l + 1,
			   d->t[lvs].size, tcb_status_name(platform), info,
			   final != platform ? "; TDX module status folded in" : "");
		return;
	}
	checks_add(out, "tcb.status", CHECK_FAIL,
		   bad ? "TCB info has a malformed tcbLevels entry"
		       : "no TCB level matches this platform (PCK TCB below every level: TCB not supported)");
}

void tcb_eval_tcb_info(struct tcb_eval_ctx *cx, const char *json, size_t len,
		       const struct tdx_quote *q, const struct tdx_verify_state *st,
		       int64_t at, struct check_list *out)
{
	struct json_doc d;
	uint8_t fmspc[6], pceid[2];
	uint64_t version;
	char a[13], b[13], c[5], e[5];

	if (json_parse(&d, json, len, cx->toks, TCB_EVAL_TOKENS) || !json_is(&d, 0, JSMN_OBJECT)) {
		checks_add(out, "collateral.tcb_info.window", CHECK_FAIL, "TCB info is not a JSON object");
		return;
	}
	window(&d, "collateral.tcb_info.window", "TCB info", at, out);

	if (!json_str_eq(&d, json_get(&d, 0, "id"), "TDX") ||
	    get_uint(&d, 0, "version", 255, &version) || version != 3) {
		checks_add(out, "tcb.fmspc", CHECK_FAIL, "TCB info is not a TDX TCB info of version 3");
		return;
	}
	if (!st->have_pck_ext) {
		checks_add(out, "tcb.fmspc", CHECK_SKIPPED, "no PCK SGX extension (see pck.sgx_extension)");
		checks_add(out, "tcb.status", CHECK_SKIPPED, "no PCK SGX extension");
		return;
	}
	if (get_hex(&d, 0, "fmspc", fmspc, 6) || get_hex(&d, 0, "pceId", pceid, 2)) {
		checks_add(out, "tcb.fmspc", CHECK_FAIL, "TCB info lacks a valid fmspc/pceId");
		return;
	}
	hex_encode(a, fmspc, 6);
	hex_encode(b, st->pck.fmspc, 6);
	hex_encode(c, pceid, 2);
	hex_encode(e, st->pck.pceid, 2);
	if (memcmp(fmspc, st->pck.fmspc, 6) != 0 || memcmp(pceid, st->pck.pceid, 2) != 0) {
		checks_add(out, "tcb.fmspc", CHECK_FAIL,
			   "TCB info is for FMSPC %s PCE-ID %s, the PCK certificate says FMSPC %s PCE-ID %s",
			   a, c, b, e);
		return;
	}
	checks_add(out, "tcb.fmspc", CHECK_PASS, "TCB info is for this platform: FMSPC %s, PCE-ID %s", a, c);
	tcb_status_check(&d, q, st, out);
}

/* The identity fields of a TD_QE identity document. */
static int qe_identity_of(const struct json_doc *d, struct tdx_qe_identity *id)
{
	uint8_t misc[4], mask[4];
	uint64_t prodid;

	if (!json_str_eq(d, json_get(d, 0, "id"), "TD_QE") ||
	    get_hex(d, 0, "mrsigner", id->mrsigner, 32) ||
	    get_uint(d, 0, "isvprodid", 65535, &prodid) ||
	    get_hex(d, 0, "miscselect", misc, 4) || get_hex(d, 0, "miscselectMask", mask, 4) ||
	    get_hex(d, 0, "attributes", id->attributes, 16) ||
	    get_hex(d, 0, "attributesMask", id->attributes_mask, 16))
		return -1;
	/* MISCSELECT is hex text of the u32's value here (big endian). */
	id->isvprodid = (uint16_t)prodid;
	id->miscselect = be32(misc);
	id->miscselect_mask = be32(mask);
	return 0;
}

void tcb_eval_qe_identity(struct tcb_eval_ctx *cx, const char *json, size_t len,
			  const struct tdx_quote *q, int64_t at, struct check_list *out)
{
	struct json_doc d;
	struct tdx_qe_identity id;
	const char *why;
	unsigned isvsvn = le16(q->qe_report + SGX_REPORT_OFF_ISVSVN);
	unsigned rprod = le16(q->qe_report + SGX_REPORT_OFF_ISVPRODID);
	int lvs;
	char info[256];

	if (json_parse(&d, json, len, cx->toks, TCB_EVAL_TOKENS) || !json_is(&d, 0, JSMN_OBJECT)) {
		checks_add(out, "collateral.qe_identity.window", CHECK_FAIL, "QE identity is not a JSON object");
		return;
	}
	window(&d, "collateral.qe_identity.window", "QE identity", at, out);
	if (qe_identity_of(&d, &id)) {
		checks_add(out, "qe_identity", CHECK_FAIL, "QE identity is not a valid TD_QE identity");
		return;
	}
	why = tdx_qe_identity_mismatch(q->qe_report, &id);
	if (why) {
		checks_add(out, "qe_identity", CHECK_FAIL, "QE report differs from the TD_QE identity: %s",
			   why);
		return;
	}
	lvs = json_get(&d, 0, "tcbLevels");
	for (int l = 0; json_is(&d, lvs, JSMN_ARRAY) && l < d.t[lvs].size; l++) {
		int lv = json_elem(&d, lvs, l);
		uint64_t svn;
		enum tcb_status s;
		if (get_uint(&d, json_get(&d, lv, "tcb"), "isvsvn", 65535, &svn))
			break;
		if (isvsvn < svn)
			continue;
		s = status_of(&d, json_get(&d, lv, "tcbStatus"));
		level_info(&d, lv, info, sizeof(info));
		checks_add(out, "qe_identity", s == TCB_UP_TO_DATE ? CHECK_PASS : CHECK_FAIL,
			   "TD_QE (MRSIGNER, ISVPRODID %u, MISCSELECT, attributes match); ISVSVN %u: %s (%s)",
			   rprod, isvsvn, tcb_status_name(s), info);
		return;
	}
	checks_add(out, "qe_identity", CHECK_FAIL, "QE ISVSVN %u is below every TD_QE TCB level", isvsvn);
}
