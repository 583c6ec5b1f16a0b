/* crypto/checkpoint.h: C2SP tlog-checkpoint, the egress log's signed tree
 * head (docs/LOG.md). The note text (crypto/note.h signs it) is
 *
 *   <origin>\n            non-empty, no control characters
 *   <tree size>\n         decimal, no leading zeros ("0" for empty), < 2^63
 *   <root hash>\n         base64 of the 32-byte RFC 6962 root
 *   [<extension>\n]...    optional, opaque, non-empty lines
 */
#ifndef DSHIELD_CRYPTO_CHECKPOINT_H
#define DSHIELD_CRYPTO_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/merkle.h"
#include "crypto/note.h"

#define CHECKPOINT_ORIGIN_MAX 255
/* The longest checkpoint text this code writes or reads, extensions
 * included. */
#define CHECKPOINT_TEXT_MAX   4096

struct checkpoint {
	const char *origin;            /* not NUL terminated */
	size_t origin_len;
	uint64_t size;
	uint8_t root[MERKLE_HASH_LEN];
	const char *ext;               /* extension lines, each ending "\n"; */
	size_t ext_len;                /* 0 for none */
};

/* Writes c's note text. Its length, -EINVAL (a field out of the rules
 * above) or -ENOSPC. */
long checkpoint_format(char *out, size_t cap, const struct checkpoint *c);
/* Parses a note text strictly into c (origin and ext point into text).
 * 0 or -EBADMSG with a reason in err. */
int checkpoint_parse(const char *text, size_t len, struct checkpoint *c, char *err, size_t errcap);

/* note_sign() of checkpoint_format(c): the signed checkpoint as served at
 * <prefix>/checkpoint. Its length or a negative errno. */
long checkpoint_sign(char *out, size_t cap, const struct checkpoint *c,
		     const struct note_key *k, const br_ec_private_key *sk);
/* note_verify() then checkpoint_parse(): c points into note. 0, or the
 * errno of whichever refused, with its reason in err. */
int checkpoint_open(const char *note, size_t len, const struct note_key *k,
		    struct checkpoint *c, char *err, size_t errcap);

#endif
