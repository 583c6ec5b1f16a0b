/* crypto/log_entry.c: see log_entry.h. */
#include "crypto/log_entry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/errbuf.h"
#include "lib/jsonw.h"
#include "lib/utf8.h"

enum kind { K_U8, K_U16, K_U32, K_U64, K_HASH, K_OPT_HASH, K_STR, K_ADDR };

struct field {
	const char *name;
	enum kind kind;
	size_t off;                   /* in struct log_entry */
	unsigned min, max;            /* K_U8: value range; K_STR: max length */
	const char *const *names;     /* K_U8: names of min..max for JSON */
};

#define F(n, k, member, lo, hi, nm) { n, k, offsetof(struct log_entry, u.member), lo, hi, nm }
#define STR(n, member, max)  F(n, K_STR, member, 0, max, NULL)
#define HASH(n, member)      F(n, K_HASH, member, 0, 0, NULL)
#define OPTH(n, member)      F(n, K_OPT_HASH, member, 0, 0, NULL)
#define U16(n, member)       F(n, K_U16, member, 0, 0, NULL)
#define U32(n, member)       F(n, K_U32, member, 0, 0, NULL)
#define U64(n, member)       F(n, K_U64, member, 0, 0, NULL)

/* Bounds: ids and names are short; a host name is at most 253; a path
 * as much as most HTTP stacks take in a request line. */
#define ID_MAX     128
#define HOST_MAX   253
#define PATH_MAX_  4096
#define TEXT_MAX   512

static const char *const op_names[] = { "deploy", "update", "delete" };
static const char *const decision_names[] = { "allow", "deny" };

static const struct field boot_fields[] = {
	HASH("manifest", boot.manifest),
	STR("backend", boot.backend, 16),
	STR("instance", boot.instance, ID_MAX),
};
/* version 3: the encrypted store after the instance */
static const struct field boot_v3_fields[] = {
	HASH("manifest", boot.manifest),
	STR("backend", boot.backend, 16),
	STR("instance", boot.instance, ID_MAX),
	STR("store", boot.store, TEXT_MAX),
};
static const struct field function_fields[] = {
	F("op", K_U8, function.op, LOG_OP_DEPLOY, LOG_OP_DELETE, op_names),
	STR("id", function.id, ID_MAX),
	STR("runtime", function.runtime, 32),
	HASH("code", function.code),
	HASH("decl", function.decl),
};
static const struct field invocation_fields[] = {
	STR("function", invocation.function, ID_MAX),
	STR("invocation", invocation.invocation, ID_MAX),
	HASH("input", invocation.input),
	HASH("output", invocation.output),
	U32("status", invocation.status),
	U64("queue_ns", invocation.queue_ns),
	U64("run_ns", invocation.run_ns),
};
/* version 2: the function's code hash after the invocation id */
static const struct field invocation_v2_fields[] = {
	STR("function", invocation.function, ID_MAX),
	STR("invocation", invocation.invocation, ID_MAX),
	HASH("code", invocation.code),
	HASH("input", invocation.input),
	HASH("output", invocation.output),
	U32("status", invocation.status),
	U64("queue_ns", invocation.queue_ns),
	U64("run_ns", invocation.run_ns),
};
static const struct field egress_fields[] = {
	STR("function", egress.function, ID_MAX),
	STR("invocation", egress.invocation, ID_MAX),
	STR("method", egress.method, 16),
	STR("scheme", egress.scheme, 8),
	STR("host", egress.host, HOST_MAX),
	U16("port", egress.port),
	STR("path", egress.path, PATH_MAX_),
	OPTH("path_hash", egress.path_hash),
	U16("status", egress.status),
	U64("bytes_up", egress.bytes_up),
	U64("bytes_down", egress.bytes_down),
	U64("connect_ns", egress.connect_ns),
	U64("total_ns", egress.total_ns),
	F("addr", K_ADDR, egress.addr, 0, 0, NULL),
	OPTH("spki", egress.spki),
	STR("rule", egress.rule, TEXT_MAX),
	F("decision", K_U8, egress.decision, LOG_ALLOW, LOG_DENY, decision_names),
	STR("reason", egress.reason, TEXT_MAX),
};
static const struct field dns_refused_fields[] = {
	STR("function", dns_refused.function, ID_MAX),
	STR("invocation", dns_refused.invocation, ID_MAX),
	STR("qname", dns_refused.qname, HOST_MAX),
	U16("qtype", dns_refused.qtype),
	STR("rule", dns_refused.rule, TEXT_MAX),
	STR("reason", dns_refused.reason, TEXT_MAX),
};
static const struct field attestation_fields[] = {
	HASH("nonce", attestation.nonce),
};

struct type_desc {
	const char *name;
	const struct field *fields;
	size_t n;
};

#define T(nm, f) { nm, f, sizeof(f) / sizeof((f)[0]) }
static const struct type_desc types[] = {
	[LOG_BOOT] = T("boot", boot_fields),
	[LOG_FUNCTION] = T("function", function_fields),
	[LOG_INVOCATION] = T("invocation", invocation_fields),
	[LOG_EGRESS] = T("egress", egress_fields),
	[LOG_EGRESS_REFUSED] = T("egress_refused", egress_fields),
	[LOG_DNS_REFUSED] = T("dns_refused", dns_refused_fields),
	[LOG_ATTESTATION] = T("attestation", attestation_fields),
};

/* What version 2 changed; a type missing here does not exist in it. */
static const struct type_desc types_v2[] = {
	[LOG_INVOCATION] = T("invocation", invocation_v2_fields),
};

/* What version 3 changed. */
static const struct type_desc types_v3[] = {
	[LOG_BOOT] = T("boot", boot_v3_fields),
};

/* The layout of type in version (0 and 1 are version 1), or NULL. */
static const struct type_desc *layout(unsigned version, unsigned type)
{
	const struct type_desc *tab = version <= 1 ? types : version == 2 ? types_v2 : types_v3;
	size_t n = version <= 1 ? sizeof types / sizeof types[0] :
		   version == 2 ? sizeof types_v2 / sizeof types_v2[0] :
		   sizeof types_v3 / sizeof types_v3[0];

	if (version > LOG_ENTRY_VERSION_MAX || type >= n || !tab[type].name)
		return NULL;
	return &tab[type];
}

const char *log_entry_type_name(unsigned type)
{
	const struct type_desc *t = layout(LOG_ENTRY_VERSION, type);
	return t ? t->name : NULL;
}

/* UTF-8 without control characters: what a string field may hold. */
static bool str_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		long cp = utf8_next((const unsigned char *)s, n, &i);
		if (cp < 0x20 || cp == 0x7f)
			return false;
	}
	return true;
}

static size_t addr_len(uint8_t family)
{
	return family == 4 ? 4 : family == 6 ? 16 : 0;
}

/* A bounded writer: the first write that does not fit sets full. */
struct wr {
	uint8_t *p;
	size_t cap, len;
	bool full;
};

static void put(struct wr *w, const void *d, size_t n)
{
	if (w->full || w->cap - w->len < n) {
		w->full = true;
		return;
	}
	if (n > 0)   /* an empty string may have no bytes at all (NULL) */
		memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void put_uint(struct wr *w, uint64_t v, unsigned bytes)
{
	uint8_t b[8];

	for (unsigned i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(w, b, bytes);
}

static int put_field(struct wr *w, const struct field *f, const struct log_entry *e)
{
	const uint8_t *m = (const uint8_t *)e + f->off;

	switch (f->kind) {
	case K_U8:
		if (*m < f->min || *m > f->max)
			return -EINVAL;
		put(w, m, 1);
		break;
	case K_U16: put_uint(w, *(const uint16_t *)(const void *)m, 2); break;
	case K_U32: put_uint(w, *(const uint32_t *)(const void *)m, 4); break;
	case K_U64: put_uint(w, *(const uint64_t *)(const void *)m, 8); break;
	case K_HASH: put(w, m, LOG_HASH_LEN); break;
	case K_OPT_HASH: {
		const struct log_opt_hash *h = (const void *)m;
		put_uint(w, h->present, 1);
		if (h->present)
			put(w, h->h, LOG_HASH_LEN);
		break;
	}
	case K_STR: {
		const struct log_str *s = (const void *)m;
		if (s->len > f->max || (s->len && !s->p) || !str_ok(s->p, s->len))
			return -EINVAL;
		put_uint(w, s->len, 2);
		put(w, s->p, s->len);
		break;
	}
	case K_ADDR: {
		const struct log_addr *a = (const void *)m;
		if (a->family != 0 && a->family != 4 && a->family != 6)
			return -EINVAL;
		put(w, &a->family, 1);
		put(w, a->a, addr_len(a->family));
		break;
	}
	}
	return 0;
}

long log_entry_encode(uint8_t *out, size_t cap, const struct log_entry *e)
{
	const struct type_desc *t = layout(e->version, e->type);
	struct wr w = { out, cap, 0, false };
	uint8_t v = e->version ? e->version : LOG_ENTRY_VERSION;

	if (!t)
		return -EINVAL;
	put(&w, &v, 1);
	put(&w, &e->type, 1);
	put_uint(&w, e->time_ns, 8);
	for (size_t i = 0; i < t->n; i++)
		if (put_field(&w, &t->fields[i], e) < 0)
			return -EINVAL;
	if (w.full)
		return -ENOSPC;
	if (w.len > LOG_ENTRY_MAX)
		return -EINVAL;
	return (long)w.len;
}

/* A bounded reader. */
struct rd {
	const uint8_t *p, *end;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if ((size_t)(r->end - r->p) < n)
		return NULL;
	r->p += n;
	return p;
}

static int get_uint(struct rd *r, unsigned bytes, uint64_t *v)
{
	const uint8_t *p = take(r, bytes);

	if (!p)
		return -1;
	*v = 0;
	for (unsigned i = 0; i < bytes; i++)
		*v = *v << 8 | p[i];
	return 0;
}

static int get_field(struct rd *r, const struct field *f, struct log_entry *e)
{
	uint8_t *m = (uint8_t *)e + f->off;
	const uint8_t *p;
	uint64_t v;

	switch (f->kind) {
	case K_U8:
		if (get_uint(r, 1, &v) < 0 || v < f->min || v > f->max)
			return -1;
		*m = (uint8_t)v;
		return 0;
	case K_U16:
		if (get_uint(r, 2, &v) < 0)
			return -1;
		*(uint16_t *)(void *)m = (uint16_t)v;
		return 0;
	case K_U32:
		if (get_uint(r, 4, &v) < 0)
			return -1;
		*(uint32_t *)(void *)m = (uint32_t)v;
		return 0;
	case K_U64:
		return get_uint(r, 8, (uint64_t *)(void *)m);
	case K_HASH:
		if (!(p = take(r, LOG_HASH_LEN)))
			return -1;
		memcpy(m, p, LOG_HASH_LEN);
		return 0;
	case K_OPT_HASH: {
		struct log_opt_hash *h = (void *)m;
		if (get_uint(r, 1, &v) < 0 || v > 1)
			return -1;
		h->present = v;
		if (h->present) {
			if (!(p = take(r, LOG_HASH_LEN)))
				return -1;
			memcpy(h->h, p, LOG_HASH_LEN);
		}
		return 0;
	}
	case K_STR: {
		struct log_str *s = (void *)m;
		if (get_uint(r, 2, &v) < 0 || v > f->max || !(p = take(r, (size_t)v)) ||
		    !str_ok((const char *)p, (size_t)v))
			return -1;
		s->p = (const char *)p;
		s->len = (size_t)v;
		return 0;
	}
	case K_ADDR: {
		struct log_addr *a = (void *)m;
		if (get_uint(r, 1, &v) < 0 || (v != 0 && v != 4 && v != 6))
			return -1;
		a->family = (uint8_t)v;
		if (!(p = take(r, addr_len(a->family))))
			return -1;
		memcpy(a->a, p, addr_len(a->family));
		return 0;
	}
	}
	return -1;
}

int log_entry_decode(const uint8_t *in, size_t len, struct log_entry *e, char *err, size_t errcap)
{
	struct rd r = { in, in + len };
	const struct type_desc *t;
	uint64_t v;

	memset(e, 0, sizeof(*e));
	if (len > LOG_ENTRY_MAX)
		return errbuf_set(err, errcap, -EBADMSG, "entry: longer than %d bytes", LOG_ENTRY_MAX);
	if (get_uint(&r, 1, &v) < 0 || v < LOG_ENTRY_VERSION || v > LOG_ENTRY_VERSION_MAX)
		return errbuf_set(err, errcap, -EBADMSG, "entry: not version %d to %d",
				  LOG_ENTRY_VERSION, LOG_ENTRY_VERSION_MAX);
	e->version = (uint8_t)v;
	if (get_uint(&r, 1, &v) < 0 || !(t = layout(e->version, (unsigned)v)))
		return errbuf_set(err, errcap, -EBADMSG, "entry: unknown type (version %u)",
				  e->version);
	e->type = (uint8_t)v;
	if (get_uint(&r, 8, &e->time_ns) < 0)
		return errbuf_set(err, errcap, -EBADMSG, "entry: truncated time");
	for (size_t i = 0; i < t->n; i++)
		if (get_field(&r, &t->fields[i], e) < 0)
			return errbuf_set(err, errcap, -EBADMSG, "entry %s: bad or truncated field %s",
					  t->name, t->fields[i].name);
	if (r.p != r.end)
		return errbuf_set(err, errcap, -EBADMSG, "entry %s: %zu trailing bytes", t->name,
				  (size_t)(r.end - r.p));
	return 0;
}

static void json_field(struct jsonw *w, const struct field *f, const struct log_entry *e)
{
	const uint8_t *m = (const uint8_t *)e + f->off;

	jw_key(w, f->name);
	switch (f->kind) {
	case K_U8:
		if (f->names && *m >= f->min && *m <= f->max)
			jw_string(w, f->names[*m - f->min]);
		else
			jw_u64(w, *m);
		break;
	case K_U16: jw_u64(w, *(const uint16_t *)(const void *)m); break;
	case K_U32: jw_u64(w, *(const uint32_t *)(const void *)m); break;
	case K_U64: jw_u64(w, *(const uint64_t *)(const void *)m); break;
	case K_HASH: jw_hex(w, m, LOG_HASH_LEN); break;
	case K_OPT_HASH: {
		const struct log_opt_hash *h = (const void *)m;
		if (h->present)
			jw_hex(w, h->h, LOG_HASH_LEN);
		else
			jw_null(w);
		break;
	}
	case K_STR: {
		const struct log_str *s = (const void *)m;
		jw_string_n(w, s->len ? s->p : "", s->len);
		break;
	}
	case K_ADDR: {
		const struct log_addr *a = (const void *)m;
		char text[INET6_ADDRSTRLEN];
		if (a->family == 0 ||
		    !inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->a, text, sizeof text))
			jw_null(w);
		else
			jw_string(w, text);
		break;
	}
	}
}

long log_entry_json(const struct log_entry *e, char *out, size_t cap)
{
	const struct type_desc *t = layout(e->version, e->type);
	struct jsonw w;

	if (!t)
		return -EINVAL;
	jw_init(&w, out, cap);
	jw_object_begin(&w);
	jw_key(&w, "v");
	jw_u64(&w, e->version ? e->version : LOG_ENTRY_VERSION);
	jw_key(&w, "type");
	jw_string(&w, t->name);
	jw_key(&w, "time_ns");
	jw_u64(&w, e->time_ns);
	for (size_t i = 0; i < t->n; i++)
		json_field(&w, &t->fields[i], e);
	jw_object_end(&w);
	return jw_finish(&w);
}
