/* cli/log_verify.h: `dshield log verify`, the offline verifier of a saved
 * egress log directory (see cli/log_verify.c and docs/LOG.md). */
#ifndef DSHIELD_CLI_LOG_VERIFY_H
#define DSHIELD_CLI_LOG_VERIFY_H

#include <stdbool.h>

#include "cli/verify.h"
#include "crypto/note.h"

/* argv[0] is "log", argv[1] the subcommand ("verify"). Returns the
 * process exit status: 0 every check passed, 1 a check failed, 2 usage. */
int cmd_log(int argc, char **argv);

/* Where a log's verifier key comes from (`dshield log verify`, `dshield
 * receipt verify`): exactly one of vkey, key_file (a file holding it) and
 * attestation (a /v1/attestation answer, verified first with quote's
 * flags, whose REPORTDATA must bind its log_key). */
struct lv_key_src {
	const char *vkey;
	const char *key_file;
	const char *attestation;
	struct verify_args quote;
};

/* Loads the key into k; messages name cmd, and unless quiet a verified
 * attestation is reported on stdout. 0; 1 when the attestation does not
 * verify (its report printed); 2 on usage errors (message printed). */
int lv_load_key(const char *cmd, const struct lv_key_src *src, struct note_key *k, bool quiet);

#endif
