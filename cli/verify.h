/* cli/verify.h: `dshield verify` (see cli/verify.c and docs/VERIFY.md). */
#ifndef DSHIELD_CLI_VERIFY_H
#define DSHIELD_CLI_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/quote_input.h"
#include "crypto/checks.h"
#include "crypto/tdx_quote.h"

struct verify_args {
	bool json;
	bool allow_sim;
	bool no_collateral;
	const char *collateral;
	const char *at;
	const char *event_log;
	const char *measurements;
	const char *report_data;
	const char *quote;
	const char *tls_cert;       /* --tls-cert FILE: the API certificate to check */
	const char *tls_url;        /* --tls-url https://HOST:PORT: fetched live */
};

/* Evidence in memory, for the checks of `dshield verify` without files:
 * the KMS verifies a key request's quote with exactly these. */
struct verify_evidence {
	const char *quote;              /* any QUOTE form (cli/quote_input.h) */
	size_t quote_len;
	const char *collateral;         /* collateral JSON, or NULL: none */
	size_t collateral_len;
	const char *event_log;          /* CCEL or JSON log; NULL: the QUOTE JSON's */
	size_t event_log_len;
	const char *event_log_origin;   /* for messages: where event_log came from */
	const char *report_data;        /* --report-data HEX, or NULL */
	bool allow_sim;
	bool no_collateral;             /* accept "no collateral" (--no-collateral) */
	bool sim_no_collateral;         /* accept it for an allowed sim quote only */
	int64_t now;                    /* validation time, unix seconds */
};

/* Runs every check of `dshield verify` but the measurements file over ev
 * into a fresh check list. *have_q when the quote parsed (then q holds
 * it). *checks and *in point at the verifier's own state (one run at a
 * time: valid until the next run). */
void verify_evidence(const struct verify_evidence *ev, struct tdx_quote *q, bool *have_q,
		     const struct check_list **checks, const struct quote_input **in);

/* argv[0] is "verify". Returns the process exit status. */
int cmd_verify(int argc, char **argv);

/* Verifies a /v1/attestation answer as `dshield verify` would with a's
 * flags, and requires its log key to be bound (check log_key.binding: the
 * REPORTDATA recomputed from the preimage equals the quote's, and the
 * preimage's log_key_sha256 is the SHA-256 of log_key's SPKI). On success
 * the verifier key goes to vkey and 0 is returned; 1 when a check failed
 * (the report is printed); 2 when the file cannot be read. */
int verify_attestation_log_key(const struct verify_args *a, char *vkey, size_t cap);

/* After verify_attestation_log_key() returned 0: the checkpoint the
 * attestation vouches for (its "checkpoint", which check
 * checkpoint.binding found to be REPORTDATA slot 5 and signed by the log
 * key), or NULL when it has none. */
const char *verify_attested_checkpoint(size_t *len);

#endif
