/* init/rolelog.c: see rolelog.h. */
#include "init/rolelog.h"

#include <stdio.h>
#include <string.h>

void rolelog_init(struct rolelog *rl, const char *role, uint64_t now_ms)
{
	memset(rl, 0, sizeof *rl);
	rl->role = role;
	tbucket_init(&rl->rate, ROLELOG_BURST, 1000 / ROLELOG_PER_SEC, now_ms);
}

static void relay(struct rolelog *rl, uint64_t now_ms)
{
	if (!tbucket_take(&rl->rate, now_ms)) {
		rl->dropped++;
		rl->dropped_total++;
		return;
	}
	if (rl->dropped > 0) {
		char note[96];
		int n = snprintf(note, sizeof note, "(%llu lines dropped: more than %u a second)",
				 (unsigned long long)rl->dropped, ROLELOG_PER_SEC);
		dlog_as(rl->role, note, n > 0 ? (size_t)n : 0);
		rl->dropped = 0;
	}
	dlog_as(rl->role, rl->line, rl->len);
}

void rolelog_feed(struct rolelog *rl, const char *data, size_t n, uint64_t now_ms)
{
	static const char cut[] = " [cut]";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '\n') {
			if (!rl->cutting && rl->len > 0)
				relay(rl, now_ms);
			rl->len = 0;
			rl->cutting = false;
			continue;
		}
		if (rl->cutting)
			continue;
		if (rl->len == sizeof rl->line - (sizeof cut - 1)) {
			memcpy(rl->line + rl->len, cut, sizeof cut - 1);
			rl->len += sizeof cut - 1;
			relay(rl, now_ms);
			rl->len = 0;
			rl->cutting = true;
			continue;
		}
		/* Control bytes (and DEL) would let a role redraw the console. */
		rl->line[rl->len++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
	}
}

void rolelog_end(struct rolelog *rl, uint64_t now_ms)
{
	if (!rl->cutting && rl->len > 0)
		relay(rl, now_ms);
	rl->len = 0;
	rl->cutting = false;
}
