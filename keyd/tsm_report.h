/* keyd/tsm_report.h: TDX quotes through configfs-tsm (Linux >= 6.7).
 *
 * The kernel's report interface is a configfs directory per request:
 *
 *   mkdir ROOT/<name>                  the kernel creates the attributes
 *   read  <name>/provider              must be "tdx_guest"
 *   read  <name>/generation            G (a counter of writes)
 *   write <name>/inblob                exactly 64 bytes: the REPORTDATA
 *   read  <name>/outblob               the quote (the read blocks until the
 *                                      quoting service answered; the kernel
 *                                      bounds that wait)
 *   read  <name>/generation            must be G + 1: anything else means
 *                                      another writer changed inblob between
 *                                      our write and our read, so the quote
 *                                      may hold their REPORTDATA: retry
 *   rmdir ROOT/<name>
 *
 * ROOT is a parameter so that tests can run this against an ordinary
 * directory tree; struct tsm_hooks lets them play the kernel's part.
 * Every error names the step and the path that failed.
 */
#ifndef DSHIELD_KEYD_TSM_REPORT_H
#define DSHIELD_KEYD_TSM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define TSM_REPORT_ROOT     "/sys/kernel/config/tsm/report"
#define TSM_PROVIDER_TDX    "tdx_guest"
#define TSM_INBLOB_LEN      64
#define TSM_OUTBLOB_MAX     (16 * 1024)
#define TSM_RETRIES         4      /* attempts when generation raced */
#define TSM_ERR_LEN         512

/* Test hooks, called with the request directory's path. NULL in
 * production. */
struct tsm_hooks {
	void (*after_mkdir)(void *ctx, const char *dir);
	void (*after_inblob)(void *ctx, const char *dir);
	void (*before_rmdir)(void *ctx, const char *dir);
	void *ctx;
};

/* Gets a quote for inblob into out[0..cap); *seq (the caller's counter)
 * names the request directories. Gets a quote (cap <= TSM_OUTBLOB_MAX is
 * read; a larger outblob is an error). Returns the quote length, or a
 * negative errno with a reason in err:
 *   -ENODEV   ROOT missing (no configfs, or tsm_report not loaded)
 *   -EPROTO   provider is not tdx_guest
 *   -EAGAIN   generation raced on every attempt
 *   -ENODATA  empty outblob
 *   -EFBIG    outblob larger than cap
 *   other     the errno of the failing system call */
long tsm_report_quote(const char *root, unsigned *seq, const uint8_t inblob[TSM_INBLOB_LEN],
		      uint8_t *out, size_t cap, const struct tsm_hooks *hooks,
		      char err[TSM_ERR_LEN]);

#endif
