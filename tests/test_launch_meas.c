/* tests/test_launch_meas.c: the fw_cfg measurements parser (sim backend):
 * the form `dshield measure --json` writes parses, nulls and absent
 * members leave zeros, and everything else is refused whole. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/launch_meas.h"
#include "tests/tap.h"

#define H48A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H48B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF"

static const char good[] =
	"{\"version\":1,\"mrtd\":\"" H48A "\",\"rtmr1\":\"" H48B "\",\"rtmr2\":\"" H48A "\","
	"\"kernel_authenticode_sha384\":\"" H48B "\",\"cmdline\":\"console=ttyS0\","
	"\"firmware\":{\"file\":\"OVMF.fd\",\"sections\":9},"
	"\"rtmr1_events\":[\"" H48A "\",\"" H48B "\"],\"rtmr2_events\":[]}\n";

static int parse(const char *js, struct launch_meas *m, char *err)
{
	return launch_meas_parse(js, strlen(js), m, err);
}

static void refused(const char *js, int want, const char *name)
{
	struct launch_meas m;
	char err[ERRBUF_LEN];
	static const uint8_t zero[sizeof m] = { 0 };
	int r = parse(js, &m, err);
	is_int(r, want, "refused: %s", name);
	ok(err[0] != '\0', "  with a reason (%s)", err);
	ok(memcmp(&m, zero, sizeof m) == 0, "  and nothing kept");
}

int main(void)
{
	struct launch_meas m;
	char err[ERRBUF_LEN];
	static char big[LAUNCH_MEAS_MAX_BYTES + 2];

	is_int(parse(good, &m, err), 0, "measure --json form parses");
	ok(m.have[LM_MRTD] && m.reg[LM_MRTD][0] == 0xaa && m.reg[LM_MRTD][47] == 0xaa, "mrtd");
	ok(!m.have[LM_RTMR0] && m.reg[LM_RTMR0][0] == 0 && m.reg[LM_RTMR0][47] == 0,
	   "rtmr0 absent: zeros");
	ok(m.have[LM_RTMR1] && m.reg[LM_RTMR1][0] == 0x01 && m.reg[LM_RTMR1][47] == 0xef,
	   "rtmr1 (upper-case hex accepted)");
	ok(m.have[LM_RTMR2] && m.reg[LM_RTMR2][10] == 0xaa, "rtmr2");

	is_int(parse("{\"version\":1,\"mrtd\":null,\"rtmr1\":\"" H48A "\"}", &m, err), 0,
	       "null mrtd (measure without --firmware)");
	ok(!m.have[LM_MRTD] && m.reg[LM_MRTD][5] == 0 && m.have[LM_RTMR1], "  mrtd zeros, rtmr1 kept");
	is_int(parse(" {\"version\":1} ", &m, err), 0, "no registers at all");
	ok(!m.have[0] && !m.have[1] && !m.have[2] && !m.have[3], "  nothing present");
	is_str(launch_meas_name(LM_RTMR2), "rtmr2", "register names");
	ok(launch_meas_name(LM_NREGS) == NULL, "no name past the last register");

	refused("", -EINVAL, "empty");
	refused("[]", -EINVAL, "an array");
	refused("{\"mrtd\":\"" H48A "\"}", -EINVAL, "no version");
	refused("{\"version\":2}", -EINVAL, "version 2");
	refused("{\"version\":\"1\"}", -EINVAL, "version as a string");
	refused("{\"version\":1,\"version\":1}", -EINVAL, "version twice");
	refused("{\"version\":1,\"rtmr1\":\"" H48A "\",\"rtmr1\":\"" H48A "\"}", -EINVAL,
		"rtmr1 twice");
	refused("{\"version\":1,\"rtmr1\":\"" H48A "aa\"}", -EINVAL, "49 bytes of hex");
	refused("{\"version\":1,\"rtmr1\":\"" H48A "a\"}", -EINVAL, "odd hex length");
	refused("{\"version\":1,\"mrtd\":\"zz" H48A "\"}", -EINVAL, "non-hex digits");
	refused("{\"version\":1,\"rtmr0\":1}", -EINVAL, "a number for rtmr0");
	refused("{\"version\":1,\"rtmr2\":[\"" H48A "\"]}", -EINVAL, "an array for rtmr2");
	refused("{\"version\":1} {}", -EINVAL, "two values");
	refused("{\"version\":1,\"mrtd\":\"" H48A "\"", -EINVAL, "truncated");

	memset(big, ' ', sizeof big - 1);
	memcpy(big, "{\"version\":1}", 13);
	refused(big, -E2BIG, "more than the byte limit");
	{
		static char many[LAUNCH_MEAS_MAX_BYTES];
		size_t n = (size_t)snprintf(many, sizeof many, "{\"version\":1,\"x\":[");
		for (int i = 0; i < LAUNCH_MEAS_MAX_TOKENS; i++)
			n += (size_t)snprintf(many + n, sizeof many - n, "%s0", i ? "," : "");
		snprintf(many + n, sizeof many - n, "]}");
		refused(many, -E2BIG, "more than the token limit");
	}
	return tap_done();
}
