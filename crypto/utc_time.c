/* crypto/utc_time.c: RFC 3339 UTC times (see utc_time.h). */
#include "crypto/utc_time.h"

#include <errno.h>
#include <stdio.h>

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (Hinnant's method). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void utc_format(char *out, size_t cap, int64_t t)
{
	int64_t z = (t >= 0 ? t : t - 86399) / 86400, s = t - z * 86400;
	int64_t era, doe, yoe, y, doy, mp, d, m;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(out, cap, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y,
		 (long long)m, (long long)d, (long long)(s / 3600),
		 (long long)(s / 60 % 60), (long long)(s % 60));
}

/* Reads exactly n decimal digits at s[*i]. */
static int digits(const char *s, size_t len, size_t *i, int n, int64_t *v)
{
	int64_t x = 0;
	for (int k = 0; k < n; k++, (*i)++) {
		if (*i >= len || s[*i] < '0' || s[*i] > '9')
			return -EINVAL;
		x = x * 10 + (s[*i] - '0');
	}
	*v = x;
	return 0;
}

static int expect(const char *s, size_t len, size_t *i, char a, char b)
{
	if (*i >= len || (s[*i] != a && s[*i] != b))
		return -EINVAL;
	(*i)++;
	return 0;
}

static int parse_unix(const char *s, size_t len, int64_t *out)
{
	int64_t x = 0;
	if (len == 0 || len > 15)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		x = x * 10 + (s[i] - '0');
	}
	*out = x;
	return 0;
}

int utc_parse(const char *s, size_t len, int allow_unix, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int64_t y, mo, d, h, mi, se, oh = 0, om = 0;
	size_t i = 0;
	int sign = 0;

	if (allow_unix && parse_unix(s, len, out) == 0)
		return 0;
	if (digits(s, len, &i, 4, &y) || expect(s, len, &i, '-', '-') ||
	    digits(s, len, &i, 2, &mo) || expect(s, len, &i, '-', '-') ||
	    digits(s, len, &i, 2, &d) || expect(s, len, &i, 'T', 't') ||
	    digits(s, len, &i, 2, &h) || expect(s, len, &i, ':', ':') ||
	    digits(s, len, &i, 2, &mi) || expect(s, len, &i, ':', ':') ||
	    digits(s, len, &i, 2, &se))
		return -EINVAL;
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return -EINVAL;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = s[i++] == '+' ? 1 : -1;
		if (digits(s, len, &i, 2, &oh) || expect(s, len, &i, ':', ':') ||
		    digits(s, len, &i, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (i != len || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EINVAL;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	       sign * (oh * 3600 + om * 60);
	return 0;
}
