/* crypto/kms_fresh.h: the key provider kms's freshness records
 * (docs/KMS.md "POST /v1/freshness"), pure: what one says and whether one
 * may follow another. The KMS (cli/kms.c) keeps them; logd compares the
 * one the KMS returned with its log at boot (docs/STORE.md).
 *
 * A freshness record is a signed checkpoint note of the VM's log key with
 * exactly one extension line:
 *   "dshield-freshness-v1 " instance_id " " generation "\n"
 */
#ifndef DSHIELD_CRYPTO_KMS_FRESH_H
#define DSHIELD_CRYPTO_KMS_FRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "crypto/note.h"

#define KMS_ID_MAX      63            /* app_id, instance_id: [A-Za-z0-9._-], not "." first */
#define KMS_FRESH_EXT   "dshield-freshness-v1 "
#define KMS_RECORD_MAX  1024          /* a freshness note as the KMS keeps it */

/* A freshness record's contents. */
struct kms_fresh {
	uint64_t size;
	uint8_t root[MERKLE_HASH_LEN];
	char instance_id[KMS_ID_MAX + 1];
	uint64_t generation;
};

/* Is s[0..n) an app or instance id? */
bool kms_id_valid(const char *s, size_t n);

/* The freshness fields of a parsed checkpoint: exactly one extension
 * line as above. 0 or -EBADMSG with a reason. */
int kms_fresh_from_checkpoint(struct kms_fresh *f, const struct checkpoint *c,
			      char *err, size_t errlen);

/* The fields of a freshness note without checking its signature (the
 * instance it names, to find the key that checks it; the KMS's own kept
 * record; a record the key wrap authenticated). 0 or -EBADMSG with a
 * reason. */
int kms_fresh_peek(struct kms_fresh *f, const char *note, size_t len, char *err, size_t errlen);

/* Opens a freshness note with the log key k (signature, checkpoint,
 * extension). 0, or the errno of what refused, with a reason. */
int kms_fresh_open(struct kms_fresh *f, const char *note, size_t len,
		   const struct note_key *k, char *err, size_t errlen);

/* Whether a new record may replace the kept one: 0 (it moves forward or
 * repeats it), -ERANGE (a smaller tree or generation: going back),
 * -EEXIST (the same size with another root: a fork). */
int kms_fresh_compare(const struct kms_fresh *kept, const struct kms_fresh *next,
		      char *err, size_t errlen);

#endif
