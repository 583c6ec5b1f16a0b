/* lib/jsonw.h: a JSON writer into a caller-owned buffer.
 *
 * No allocation: it appends through lib/bbuf. Commas and nesting are
 * tracked for the caller; strings are escaped (control characters as
 * \u00XX, no raw bytes below 0x20). The first error (buffer full, nesting
 * too deep, a key outside an object) sticks, and jw_finish() reports it,
 * so callers write without checking each step.
 */
#ifndef DSHIELD_LIB_JSONW_H
#define DSHIELD_LIB_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bbuf.h"

#define JW_MAX_DEPTH 32

struct jsonw {
	struct bbuf out;
	int err;                 /* 0 or -EINVAL; a full buffer is out.overflow */
	unsigned depth;
	uint32_t has_items;      /* bit d: the container at depth d has an item */
	uint32_t is_object;      /* bit d: the container at depth d is an object */
	bool after_key;          /* a key was written, its value comes next */
};

void jw_init(struct jsonw *w, char *buf, size_t cap);
void jw_object_begin(struct jsonw *w);
void jw_object_end(struct jsonw *w);
void jw_array_begin(struct jsonw *w);
void jw_array_end(struct jsonw *w);
void jw_key(struct jsonw *w, const char *key);
void jw_string(struct jsonw *w, const char *s);
void jw_string_n(struct jsonw *w, const char *s, size_t n);
/* Lowercase hex of a byte string, as a JSON string. */
void jw_hex(struct jsonw *w, const void *bytes, size_t n);
/* Base64 (lib/base64.h) of a byte string, as a JSON string. */
void jw_base64(struct jsonw *w, const void *bytes, size_t n);
void jw_u64(struct jsonw *w, uint64_t v);
void jw_i64(struct jsonw *w, int64_t v);
void jw_bool(struct jsonw *w, bool v);
void jw_null(struct jsonw *w);
/* A value that is already JSON text (a document rendered elsewhere), put
 * as it is: the caller vouches that json[0..n) is one well-formed value. */
void jw_raw(struct jsonw *w, const char *json, size_t n);

/* Returns the length written (the buffer is NUL terminated when there is
 * room), or a negative errno: -ENOSPC, -EINVAL (unbalanced or misplaced). */
long jw_finish(struct jsonw *w);

#endif
