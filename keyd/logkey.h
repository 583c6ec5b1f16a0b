/* keyd/logkey.h: the log signing key (ECDSA P-256), held only by keyd.
 *
 * Made once per boot of an instance and kept in keyd's state directory
 * (/state/log.key: the 32-byte scalar, mode 0600, written atomically:
 * temporary file, fsync, rename, fsync of the directory), so a restarted
 * keyd signs with the same key. Its public half is a signed-note verifier
 * key (crypto/note.h) named by the log's origin, "dshield-log/" and the
 * first 8 bytes of SHA-256(SPKI) in hex: unique per key, so checkpoints of
 * two instances can never be confused. SHA-256 of its DER SPKI fills the
 * log_key_sha256 slot of REPORTDATA (crypto/reportdata.h): a quote vouches
 * for the key.
 */
#ifndef DSHIELD_KEYD_LOGKEY_H
#define DSHIELD_KEYD_LOGKEY_H

#include <bearssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/note.h"
#include "lib/errbuf.h"

#define LOGKEY_PATH        "/state/log.key"
#define LOGKEY_ORIGIN_PFX  "dshield-log/"

struct logkey {
	uint8_t priv[32];
	br_ec_private_key sk;
	struct note_key pub;            /* name = the origin */
	uint8_t spki_sha256[32];
	char vkey[NOTE_VKEY_MAX];
	bool created;                   /* made now (not reloaded) */
};

/* Loads the key at path, or makes and saves one when there is none.
 * 0, or a negative errno with the reason in err (an unreadable or
 * malformed key file is not replaced: a log signed by a lost key cannot
 * be continued silently). */
int logkey_load_or_create(struct logkey *k, const char *path, char err[ERRBUF_LEN]);

/* The key file of any keyd key (the log key, the API TLS key): reads the
 * 32-byte P-256 scalar at path, or makes one (p256_keygen) and saves it
 * (file_replace: mode 0600, atomic) when there is none, setting *created.
 * A file that is not exactly 32 bytes, or unreadable, is never replaced:
 * -EBADMSG or the read's error, the reason in err naming `what`. */
int keyfile_load_or_create(uint8_t priv[32], const char *path, const char *what, bool *created,
			   char err[ERRBUF_LEN]);

#endif
