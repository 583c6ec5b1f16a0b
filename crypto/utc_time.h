/* crypto/utc_time.h: RFC 3339 UTC times <-> unix seconds, for certificate
 * and collateral validity windows and `dshield verify --at`. */
#ifndef DSHIELD_CRYPTO_UTC_TIME_H
#define DSHIELD_CRYPTO_UTC_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Parses "YYYY-MM-DDTHH:MM:SSZ" (fractional seconds and a numeric offset
 * "+HH:MM" accepted; lowercase t/z too) or, when `allow_unix` is set, a
 * plain decimal count of unix seconds. Returns 0 or -EINVAL. */
int utc_parse(const char *s, size_t len, int allow_unix, int64_t *out);

/* Writes "YYYY-MM-DDTHH:MM:SSZ" (needs 21 bytes; 32 is safe). */
void utc_format(char *out, size_t cap, int64_t t);

#endif
