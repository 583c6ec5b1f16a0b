/* net/refusal_budget.c: see refusal_budget.h. */
#include "net/refusal_budget.h"

#include <string.h>

/* How long an empty bucket takes to be full again. */
#define REFILL_MS ((uint64_t)REFUSAL_BURST * REFUSAL_PERIOD_MS)

void refusal_budget_init(struct refusal_budget *t)
{
	memset(t, 0, sizeof *t);
	t->next_ms = UINT64_MAX;
}

/* The earliest summary time of the pending entries, UINT64_MAX when none. */
static uint64_t next_due(const struct refusal_budget *t)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < REFUSAL_TABLE; i++)
		if (t->f[i].unrecorded > 0 && t->f[i].due_ms < next)
			next = t->f[i].due_ms;
	return next;
}

/* f's summary is due at due_ms. */
static void set_due(struct refusal_budget *t, struct refusal_fn *f, uint64_t due_ms)
{
	f->due_ms = due_ms;
	if (due_ms < t->next_ms)
		t->next_ms = due_ms;
}

/* f has unrecorded refusals from since_ms on (it had none): one more
 * entry pending, its summary due a second after. */
static void now_pending(struct refusal_budget *t, struct refusal_fn *f, uint64_t since_ms)
{
	f->since_ms = since_ms;
	t->pending++;
	set_due(t, f, since_ms + REFUSAL_SUMMARY_MS);
}

/* An entry nothing distinguishes from a new one: free, or its summary
 * gone and its bucket full again by now. */
static bool reusable(const struct refusal_fn *f, uint64_t now_ms)
{
	return f->id[0] == '\0' || (f->unrecorded == 0 && now_ms - f->last_ms >= REFILL_MS);
}

/* FNV-1a of id's first SBX_ID_MAX - 1 bytes: the table is scanned by
 * these, and only an equal one compared as text. */
static uint32_t id_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < SBX_ID_MAX - 1 && id[i] != '\0'; i++)
		h = (h ^ (uint8_t)id[i]) * 16777619u;
	return h;
}

static bool is(const struct refusal_fn *f, const char *id, uint32_t h)
{
	return f->id[0] != '\0' && f->hash == h && strncmp(f->id, id, sizeof f->id - 1) == 0;
}

/* id's entry, made (a full bucket) when it has none; NULL when every
 * entry is in use. */
static struct refusal_fn *entry(struct refusal_budget *t, const char *id, uint64_t now_ms)
{
	struct refusal_fn *free_one = NULL;
	uint32_t h = id_hash(id);

	if (is(&t->f[t->last], id, h))
		return &t->f[t->last];
	for (unsigned i = 0; i < REFUSAL_TABLE; i++) {
		struct refusal_fn *f = &t->f[i];
		if (is(f, id, h)) {
			t->last = i;
			return f;
		}
		if (free_one == NULL && reusable(f, now_ms))
			free_one = f;
	}
	if (free_one == NULL)
		return NULL;
	memset(free_one, 0, sizeof *free_one);
	strncpy(free_one->id, id, sizeof free_one->id - 1);
	free_one->hash = h;
	tbucket_init(&free_one->b, REFUSAL_BURST, REFUSAL_PERIOD_MS, now_ms);
	free_one->last_ms = now_ms;
	t->last = (unsigned)(free_one - t->f);
	return free_one;
}

bool refusal_budget_take(struct refusal_budget *t, const char *id, uint64_t now_ms)
{
	struct refusal_fn *f = entry(t, id, now_ms);

	if (f == NULL) {
		t->st.untracked++;
		return true;   /* recorded: nothing is hidden for want of room */
	}
	f->last_ms = now_ms;
	if (tbucket_take(&f->b, now_ms)) {
		t->st.recorded++;
		return true;
	}
	if (f->unrecorded++ == 0)
		now_pending(t, f, now_ms);
	t->st.unrecorded++;
	return false;
}

bool refusal_budget_due(struct refusal_budget *t, uint64_t now_ms, struct refusal_summary *s)
{
	if (t->pending == 0 || now_ms < t->next_ms)
		return false;
	for (unsigned i = 0; i < REFUSAL_TABLE; i++) {
		struct refusal_fn *f = &t->f[i];
		if (f->unrecorded == 0 || now_ms < f->due_ms)
			continue;
		memcpy(s->id, f->id, sizeof s->id);
		s->count = f->unrecorded;
		s->since_ms = f->since_ms;
		f->unrecorded = 0;
		t->pending--;
		t->st.summaries++;
		return true;
	}
	t->next_ms = next_due(t);   /* none due: the earliest of those still waiting */
	return false;
}

void refusal_budget_putback(struct refusal_budget *t, const struct refusal_summary *s,
			    uint64_t now_ms)
{
	struct refusal_fn *f = entry(t, s->id, now_ms);

	t->st.summaries--;
	if (f == NULL) {
		t->st.untracked += s->count;   /* no room: said by the counter alone */
		return;
	}
	if (f->unrecorded == 0)
		now_pending(t, f, s->since_ms);
	else if (s->since_ms < f->since_ms)
		f->since_ms = s->since_ms;
	f->unrecorded += s->count;
	f->due_ms = now_ms + REFUSAL_SUMMARY_MS;   /* not at once: a second from now */
	t->next_ms = next_due(t);
}

uint64_t refusal_budget_next_deadline(const struct refusal_budget *t)
{
	return t->pending > 0 ? t->next_ms : UINT64_MAX;
}
