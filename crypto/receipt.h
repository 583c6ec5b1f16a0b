/* crypto/receipt.h: an invocation's receipt (docs/LOG.md, "Receipts"): a
 * C2SP signed note by the log key (crypto/note.h) whose text is
 *
 *   dshield-receipt/v1\n
 *   origin <log origin>\n           the log's origin (= the key's name)
 *   function <id>\n                 1..63 of [A-Za-z0-9._-]
 *   invocation <id>\n               the same alphabet
 *   code <64 hex>\n                 SHA-256 of the function's code
 *   input <64 hex>\n                SHA-256 of the request body
 *   output <64 hex>\n               SHA-256 of the result body
 *   status <u32>\n                  decimal, no leading zero
 *   time <u64>\n                    the invocation entry's time_ns
 *   record <u64>\n                  1..RECEIPT_RECORDS_MAX lines, strictly
 *                                   increasing: the log indices of the
 *                                   invocation's records it covers (its
 *                                   egress and refusal records logged
 *                                   before its invocation entry, oldest
 *                                   first, then that entry, always last)
 *   omitted <u64>\n                 only when some of those earlier records
 *                                   are not listed (then the record lines
 *                                   are RECEIPT_RECORDS_MAX): how many
 *
 * in this order, lowercase hex, nothing else. One receipt has exactly one
 * text (receipt_format(receipt_parse(t)) == t), and the ECDSA signature is
 * RFC 6979 deterministic, so the same receipt signs to the same bytes.
 * Its first line can never open a checkpoint signed by the same key
 * (whose first line is the origin "dshield-log/...") and vice versa: the
 * two kinds of note cannot be mistaken for each other.
 */
#ifndef DSHIELD_CRYPTO_RECEIPT_H
#define DSHIELD_CRYPTO_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/note.h"

#define RECEIPT_MAGIC        "dshield-receipt/v1"
#define RECEIPT_ID_MAX       63     /* function and invocation ids, without NUL */
#define RECEIPT_RECORDS_MAX  16
/* The longest text: the lines above at their maxima. */
#define RECEIPT_TEXT_MAX     1280   /* the largest is 1,146 bytes */
/* A signed receipt: the text, a blank line, one signature line of ours. */
#define RECEIPT_NOTE_MAX     (RECEIPT_TEXT_MAX + 1 + NOTE_SIGLINE_MAX)

struct receipt {
	char origin[NOTE_NAME_MAX + 1];            /* NUL terminated */
	char function[RECEIPT_ID_MAX + 1];
	char invocation[RECEIPT_ID_MAX + 1];
	uint8_t code[32], input[32], output[32];
	uint32_t status;
	uint64_t time_ns;
	uint64_t record[RECEIPT_RECORDS_MAX];
	unsigned nrecords;                         /* 1..RECEIPT_RECORDS_MAX */
	uint64_t omitted;                          /* 0, or (nrecords at its max) how
						      many earlier records are not listed */
};

/* True when s[0..n) is an id a receipt carries: 1..63 of [A-Za-z0-9._-]. */
bool receipt_id_ok(const char *s, size_t n);

/* Writes r's text. Its length, -EINVAL (a field out of the rules above)
 * or -ENOSPC. */
long receipt_format(char *out, size_t cap, const struct receipt *r);
/* Parses a text strictly into r. 0, or -EBADMSG with the reason in err. */
int receipt_parse(const char *text, size_t len, struct receipt *r, char *err, size_t errcap);

/* note_sign() of receipt_format(r) by the log key; r->origin must be the
 * key's name. Its length, or a negative errno. */
long receipt_sign(char *out, size_t cap, const struct receipt *r, const struct note_key *k,
		  const br_ec_private_key *sk);
/* note_verify() by k, then receipt_parse(), and the origin line must be
 * k's name. 0, or the errno of whichever refused, with its reason. */
int receipt_open(const char *note, size_t len, const struct note_key *k, struct receipt *r,
		 char *err, size_t errcap);

#endif
