/* tests/test_rolelog.c: init's relay of a role's console lines: cutting,
 * tagging, control bytes, long lines and the rate limit. The log goes to a
 * pipe that the test reads back. */
#include "init/rolelog.h"
#include "lib/log.h"
#include "tests/tap.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int rd = -1;
static char out[1 << 16];

/* Everything logged since the last call, NUL terminated. */
static const char *drain(void)
{
	ssize_t n, len = 0;
	while ((n = read(rd, out + len, sizeof out - 1 - (size_t)len)) > 0)
		len += n;
	out[len] = '\0';
	return out;
}

static int count(const char *s, const char *needle)
{
	int k = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

int main(void)
{
	struct rolelog rl;
	int p[2];
	const char *s;

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
		return 2;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	rd = p[0];
	log_set_fd(p[1]);

	rolelog_init(&rl, "netd", 1000);
	rolelog_feed(&rl, "first\nsec", 9, 1000);
	s = drain();
	ok(strstr(s, "] dshield: netd: first\n") != NULL, "a whole line is relayed, tagged");
	ok(strstr(s, "sec") == NULL, "an unfinished line waits");
	rolelog_feed(&rl, "ond\n\n", 5, 1000);
	s = drain();
	ok(strstr(s, "dshield: netd: second\n") != NULL, "the rest of it completes it");
	is_int(count(s, "\n"), 1, "an empty line is not relayed");

	rolelog_feed(&rl, "x\r[ 1.0] dshield: init: ready http://6.6.6.6:1/\x1b[2J\n", 52, 1000);
	s = drain();
	ok(strstr(s, "dshield: netd: x?[ 1.0] dshield: init: ready http://6.6.6.6:1/?[2J\n") != NULL,
	   "control bytes become '?': no carriage return, no escape sequence");
	rolelog_feed(&rl, "a\n[ 1.0] dshield: init: ready\n", 30, 1000);
	s = drain();
	ok(strstr(s, "dshield: netd: [ 1.0] dshield: init: ready\n") != NULL,
	   "a forged init line still carries the true role first");
	is_int(count(s, "dshield: init:"), 1, "  and never starts a line as init");

	char big[2000];
	memset(big, 'y', sizeof big);
	big[sizeof big - 1] = '\n';
	rolelog_feed(&rl, big, sizeof big, 1000);
	rolelog_feed(&rl, "after\n", 6, 1000);
	s = drain();
	ok(strstr(s, " [cut]\n") != NULL, "a long line is cut and says so");
	is_int(count(s, "\n"), 2, "  the rest of it is skipped to its end");
	ok(strstr(s, "dshield: netd: after\n") != NULL, "  the next line is whole");

	rolelog_feed(&rl, "no newline at the end", 21, 1000);
	rolelog_end(&rl, 1000);
	s = drain();
	ok(strstr(s, "dshield: netd: no newline at the end\n") != NULL, "the last line at the end of the pipe");

	/* A flood: the bucket lets ROLELOG_BURST lines through, then refills. */
	rolelog_init(&rl, "keyd", 5000);
	for (int i = 0; i < 1000; i++)
		rolelog_feed(&rl, "flood\n", 6, 5000);
	s = drain();
	is_int(count(s, "keyd: flood"), ROLELOG_BURST, "a flood: %d lines pass at once", ROLELOG_BURST);
	ok(rl.dropped == 1000 - ROLELOG_BURST, "  the rest is counted (%llu)", (unsigned long long)rl.dropped);
	rolelog_feed(&rl, "later\n", 6, 6000);
	s = drain();
	ok(strstr(s, "keyd: (800 lines dropped: more than 50 a second)\n") != NULL,
	   "a second later the drop is reported");
	ok(strstr(s, "keyd: later\n") != NULL, "  and lines flow again");
	return tap_done();
}
