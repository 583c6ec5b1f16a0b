/* logd/store.h: the egress log's append-only, durable store (docs/LOG.md,
 * "The store").
 *
 * One directory, one file: DIR/data, an 8-byte magic then records
 *
 *   u32 length (big-endian, <= 65535) | entry bytes | check (8 bytes)
 *
 * where check is the first 8 bytes of the entry's leaf hash
 * SHA-256(0x00 || entry): the hash the tree needs anyway, so a record costs
 * one SHA-256 to write and to verify. There is no other file: the record
 * offsets and every tile level's hashes are rebuilt in memory at open, and
 * tiles and entry bundles are served from memory and the data file.
 *
 * The contract (group commit):
 *   - logstore_append() only buffers and assigns the next index;
 *   - logstore_sync() writes every buffered record and only when it
 *     returns 0 are those indices committed (logstore_committed()); a
 *     caller acknowledges an entry only then. It writes in windows of at
 *     most LOGSTORE_WINDOW bytes, whole records, each followed by one
 *     fdatasync (a batch of egress records, a few hundred bytes each, is
 *     one window), so at most one window is ever in flight;
 *   - any I/O error fails the store closed: every later append and sync
 *     returns the first error, and logstore_why() says what failed, until
 *     the store is closed and reopened (which re-reads what is on disk:
 *     after a failed fdatasync the page cache is not to be trusted);
 *   - an entry never acknowledged may or may not be present after a crash
 *     or a reopen; an acknowledged one always is.
 *
 * Zeros ahead of the tail: the data file is kept LOGSTORE_PREALLOC to
 * twice that longer than its records, written as zeros, so that a sync
 * overwrites blocks the file already has and fdatasync needs no change
 * of size or allocation, that is no journal commit (docs/LOG.md,
 * "Zeros ahead"). Where the disk refuses them (full, or a size limit),
 * the store stops keeping them until it is reopened, and appends go on.
 *
 * Recovery at open: the records are read up to the first that does not
 * read back whole (cut short by the end of the file, or a check value
 * that does not match). From there:
 *   - every byte to the end zero: the zeros ahead (or a size that
 *     reached the disk before its data); nothing to do, nothing said;
 *   - a torn write: the record is cut short, or part of it (its bytes in
 *     one 512-byte sector) is all zero, and nothing was ever written
 *     LOGSTORE_WINDOW bytes past it: the tail is truncated away and
 *     reported (torn_bytes, and a line in err);
 *   - anything else (a length over 65535, garbage in a record, written
 *     bytes beyond the last window's reach) is corruption: open fails
 *     naming the record's index and offset.
 *
 * Serving reads only committed entries: tiles and bundles whose hashes or
 * entries lie beyond logstore_committed() are -ENOENT.
 */
#ifndef DSHIELD_LOGD_STORE_H
#define DSHIELD_LOGD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/merkle.h"
#include "crypto/tlog_tiles.h"
#include "lib/errbuf.h"

/* The most entries a store holds: 2^32 (about 170 GB of RAM for the
 * hashes and offsets, far beyond the machine; the bound keeps every size
 * computation below far from overflow). */
#define LOGSTORE_MAX_ENTRIES ((uint64_t)1 << 32)
#define LOGSTORE_LEVELS      8        /* 256^8 > LOGSTORE_MAX_ENTRIES */
#define LOGSTORE_MAGIC       "DSLOGv1\n"
#define LOGSTORE_MAGIC_LEN   8
#define LOGSTORE_CHECK_LEN   8
#define LOGSTORE_REC_OVERHEAD (4 + LOGSTORE_CHECK_LEN)
/* The most bytes one fdatasync covers; larger than any record. */
#define LOGSTORE_WINDOW      ((uint64_t)1 << 20)
/* The zeros kept ahead of the tail: between one and two of these
 * (struct logstore's prealloc). */
#define LOGSTORE_PREALLOC    ((uint64_t)1 << 20)
/* The unit a torn write leaves whole or not at all (a disk sector). */
#define LOGSTORE_SECTOR      512u

struct logstore_level {
	uint8_t (*hash)[MERKLE_HASH_LEN];
	uint64_t len, cap;
};

struct logstore {
	int dirfd, fd;
	uint64_t size;          /* entries appended, committed or buffered */
	uint64_t committed;     /* entries durable on disk */
	uint64_t data_len;      /* bytes of the data file that are durable */
	uint64_t file_len;      /* how far the file holds records, then zeros */
	uint64_t prealloc;      /* zeros kept ahead: LOGSTORE_PREALLOC after
				 * open; a fuzz target makes it small */
	int prealloc_refused;   /* the disk refused the zeros ahead: stop */
	uint64_t syncs;         /* fdatasyncs done (tests, benchmarks) */
	uint64_t *off;          /* off[i]: record i's offset; off[size] = end */
	uint64_t off_cap;
	/* level[L].hash[k]: MTH of leaves [k*256^L, (k+1)*256^L) */
	struct logstore_level level[LOGSTORE_LEVELS];
	uint8_t *pend;          /* buffered records, not yet written */
	size_t pend_len, pend_cap;
	int failed;             /* 0, or the negative errno that closed the store */
	char why[ERRBUF_LEN];
	uint64_t torn_bytes;    /* bytes truncated away at open (0: clean) */
};

/* Opens or creates the store in dir (created 0700 when missing), locks it
 * (flock: one store per directory) and rebuilds the tree. 0: err is empty,
 * or says what torn tail was dropped (s->torn_bytes). Else a negative
 * errno and the reason in err (-EBADMSG for corruption, naming the record
 * index and byte offset); s needs no close then. */
int logstore_open(struct logstore *s, const char *dir, char err[ERRBUF_LEN]);
void logstore_close(struct logstore *s);

/* Buffers entry (len <= TLOG_ENTRY_MAX) as the next index (*index). 0,
 * -EMSGSIZE, -EOVERFLOW at LOGSTORE_MAX_ENTRIES, -ENOMEM, or the error
 * that failed the store. */
int logstore_append(struct logstore *s, const void *entry, size_t len, uint64_t *index);
/* Makes everything appended durable: a write and an fdatasync per window
 * of at most LOGSTORE_WINDOW bytes. 0, or a negative errno after which
 * the store is failed. */
int logstore_sync(struct logstore *s);
uint64_t logstore_committed(const struct logstore *s);
/* Why the store failed ("" when it has not). */
const char *logstore_why(const struct logstore *s);

/* MTH of the first size entries, size <= committed (-ENOENT beyond). */
int logstore_root(struct logstore *s, uint64_t size, uint8_t out[MERKLE_HASH_LEN]);
/* A merkle_node_fn over the committed tree, for proofs (ctx: the store). */
int logstore_node(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN]);
/* The hash tile (level, index) of width 1..256 (256: full) into out:
 * returns its length (32 * width), -ENOENT when it reaches past the
 * committed tree, -EINVAL for a bad level or width, -ENOSPC for cap. */
long logstore_tile(struct logstore *s, unsigned level, uint64_t index, unsigned width,
		   uint8_t *out, size_t cap);
/* The entry bundle index of width 1..256: returns its length, -ENOENT,
 * -EINVAL, -ENOSPC as above, -EIO when the data file no longer matches
 * the tree (each entry read back is checked against its leaf hash). */
long logstore_bundle(struct logstore *s, uint64_t index, unsigned width, uint8_t *out, size_t cap);

#endif
