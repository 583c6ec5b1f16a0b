/* crypto/launch_meas.c: see launch_meas.h. */
#include "crypto/launch_meas.h"
#include "lib/errbuf.h"
#include "lib/hex.h"
#include "lib/json_tok.h"

/* Every refusal of this file: the message and -EINVAL. */
#define fail(err, ...) errbuf_set(err, ERRBUF_LEN, -EINVAL, __VA_ARGS__)

#include <errno.h>
#include <string.h>

static const char *const reg_names[LM_NREGS] = { "mrtd", "rtmr0", "rtmr1", "rtmr2" };

const char *launch_meas_name(int i)
{
	return i >= 0 && i < LM_NREGS ? reg_names[i] : NULL;
}

static bool is_null(const struct json_doc *d, int i)
{
	return json_is(d, i, JSMN_PRIMITIVE) && json_text_eq(d, i, "null");
}

/* One register member: null, or a string of exactly 96 hex digits. */
static int take_reg(const struct json_doc *d, int v, struct launch_meas *m, int reg,
		    char err[ERRBUF_LEN])
{
	if (is_null(d, v))
		return 0;
	if (!json_is(d, v, JSMN_STRING) || d->t[v].end - d->t[v].start != 96 ||
	    hex_decode(m->reg[reg], 48, d->js + d->t[v].start, 96) != 48)
		return fail(err, "\"%s\" is not null or 96 hex digits", reg_names[reg]);
	m->have[reg] = true;
	return 0;
}

static int parse_members(const struct json_doc *d, struct launch_meas *m,
			 char err[ERRBUF_LEN])
{
	bool seen[LM_NREGS] = { false }, have_version = false;
	uint64_t version;
	int i = 1, r;

	for (int k = 0; k < d->t[0].size; k++) {
		int v = i + 1;
		if (!json_is(d, i, JSMN_STRING) || v >= d->n)
			return fail(err, "malformed object member");
		if (json_str_eq(d, i, "version")) {
			if (have_version || json_uint(d, v, 0xffff, &version) < 0 || version != 1)
				return fail(err, "\"version\" is not 1 (or repeated)");
			have_version = true;
		}
		for (int reg = 0; reg < LM_NREGS; reg++) {
			if (!json_str_eq(d, i, reg_names[reg]))
				continue;
			if (seen[reg])
				return fail(err, "\"%s\" appears twice", reg_names[reg]);
			seen[reg] = true;
			if ((r = take_reg(d, v, m, reg, err)) < 0)
				return r;
		}
		i = json_skip(d, v);
	}
	if (!have_version)
		return fail(err, "no \"version\"");
	return 0;
}

int launch_meas_parse(const char *js, size_t len, struct launch_meas *m,
		      char err[ERRBUF_LEN])
{
	jsmntok_t toks[LAUNCH_MEAS_MAX_TOKENS];
	struct json_doc d;
	int r;

	memset(m, 0, sizeof *m);
	err[0] = '\0';
	if (len > LAUNCH_MEAS_MAX_BYTES)
		return errbuf_set(err, ERRBUF_LEN, -E2BIG, "%zu bytes, more than %u", len,
				  LAUNCH_MEAS_MAX_BYTES);
	r = json_parse(&d, js, len, toks, LAUNCH_MEAS_MAX_TOKENS);
	if (r == -E2BIG)
		return errbuf_set(err, ERRBUF_LEN, r, "more than %u JSON tokens",
				  LAUNCH_MEAS_MAX_TOKENS);
	if (r < 0)
		return errbuf_set(err, ERRBUF_LEN, r, "not one JSON value");
	if (!json_is(&d, 0, JSMN_OBJECT))
		return fail(err, "not a JSON object");
	r = parse_members(&d, m, err);
	if (r < 0)
		memset(m, 0, sizeof *m);
	return r;
}
