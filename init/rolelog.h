/* init/rolelog.h: a role's console lines, relayed by init.
 *
 * Each role's stdout and stderr are one pipe that init reads. init cuts
 * what arrives into lines, replaces control bytes (a role must not move
 * the console's cursor or forge a second line), stamps each line and tags
 * it with the name of the role it started (lib/log.h dlog_as), so the
 * console says who really spoke. A role that floods is rate-limited: a
 * token bucket of ROLELOG_BURST lines refilled ROLELOG_PER_SEC per second;
 * what is dropped is counted and said once lines flow again.
 *
 * The state is the caller's; no allocation. Untrusted input: the bytes a
 * possibly compromised role writes.
 */
#ifndef DSHIELD_INIT_ROLELOG_H
#define DSHIELD_INIT_ROLELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"
#include "lib/tbucket.h"

#define ROLELOG_LINE_MAX  400   /* longer lines are cut, and say so */
#define ROLELOG_BURST     200
#define ROLELOG_PER_SEC   50

struct rolelog {
	const char *role;
	char line[ROLELOG_LINE_MAX];
	size_t len;
	bool cutting;            /* the current line was cut: skip to its end */
	struct tbucket rate;
	uint64_t dropped;        /* lines dropped since the last report */
	uint64_t dropped_total;
};

void rolelog_init(struct rolelog *rl, const char *role, uint64_t now_ms);
/* Takes n bytes of the role's output at time now_ms. */
void rolelog_feed(struct rolelog *rl, const char *data, size_t n, uint64_t now_ms);
/* The role's pipe ended: a last unterminated line is relayed. */
void rolelog_end(struct rolelog *rl, uint64_t now_ms);

#endif
