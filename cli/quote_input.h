/* cli/quote_input.h: what `dshield verify` accepts as QUOTE.
 *
 *   - a binary quote (possibly zero padded);
 *   - hex text, optionally "0x"-prefixed, whitespace anywhere;
 *   - JSON: a dshield GET /v1/attestation response ({"backend", "quote":
 *     base64, "event_log", "report_data": hex, ...}) or one of dstack's
 *     verifier fixtures ({"quote": hex, "event_log": JSON text as a string,
 *     "report_data": hex, "vm_config"}). The quote may be hex or base64 (strict,
 *     lib/base64.h) in either; event_log may be a JSON string or the array itself.
 */
#ifndef DSHIELD_CLI_QUOTE_INPUT_H
#define DSHIELD_CLI_QUOTE_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/reportdata.h"
#include "lib/json_tok.h"

#define QI_QUOTE_MAX    (64 * 1024)
/* Room for the event log of any dshield attestation document: the JSON of
 * a full runtime log (crypto/rtmr3.h RTMR3_LOG_JSON_MAX, ~2.7 MiB: 4096
 * events, 1 MiB of records), and its tokens (11 per event) with the
 * document's own. Checked by static assertions in quote_input.c. */
#define QI_EVENTLOG_MAX (3 * 1024 * 1024)

#define QI_JSON_TOKENS (12 * 4096 + 256)
#define QI_LOG_KEY_MAX 400
#define QI_CHECKPOINT_MAX (RD_CHECKPOINT_MAX + 1)

struct quote_input {
	const char *form;          /* "binary", "hex", "json" */
	uint8_t quote[QI_QUOTE_MAX];
	size_t quote_len;
	bool has_event_log;
	char event_log[QI_EVENTLOG_MAX];   /* JSON text of the log, NUL terminated */
	size_t event_log_len;
	bool has_report_data;
	uint8_t report_data[64];
	char backend[16];          /* from /v1/attestation, "" otherwise */
	/* /v1/attestation's "report_data_preimage" (crypto/reportdata.h
	 * slots; absent and null fields are not present) and "log_key" */
	bool has_preimage;
	struct reportdata_in preimage;
	uint8_t pre_nonce[RD_NONCE_MAX];
	uint8_t pre_manifest[32], pre_tls[32], pre_logkey[32], pre_kms[32];
	uint8_t pre_checkpoint[RD_CHECKPOINT_MAX];
	char log_key[QI_LOG_KEY_MAX];     /* "" when null or absent */
	/* its "checkpoint": the signed note the quote vouches for (slot 5) */
	bool has_checkpoint;
	char checkpoint[QI_CHECKPOINT_MAX];
	size_t checkpoint_len;
	jsmntok_t toks[QI_JSON_TOKENS];   /* the JSON form's tokens (scratch) */
};

/* Decodes data[0..len). Returns 0 or -EINVAL / -E2BIG with a reason. */
int quote_input_read(struct quote_input *in, const char *data, size_t len,
		     char *err, size_t errlen);

#endif
