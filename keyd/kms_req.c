/* keyd/kms_req.c: see kms_req.h. */
#include <errno.h>

#include "keyd/kms_req.h"
#include "lib/jsonw.h"

/* scratch holds the event log's JSON (rtmr3_log_json) before it is copied
 * in as a raw member: the log is the one variable-size part. */
long kms_req_json(char *out, size_t cap, char *scratch, size_t scratch_cap,
		  const struct kms_req_parts *p)
{
	struct jsonw w;
	long n = rtmr3_log_json(p->log, scratch, scratch_cap);

	if (n < 0)
		return n;
	jw_init(&w, out, cap);
	jw_object_begin(&w);
	jw_key(&w, "version"); jw_u64(&w, 1);
	jw_key(&w, "quote"); jw_base64(&w, p->quote, p->quote_len);
	jw_key(&w, "event_log"); jw_raw(&w, scratch, (size_t)n);
	jw_key(&w, "report_data_preimage");
	jw_object_begin(&w);
	for (int f = 1; f <= RD_NFIELDS; f++) {
		const struct rd_value *v = &p->pre->f[f - 1];
		jw_key(&w, reportdata_field_name((enum rd_field)f));
		if (v->present)
			jw_hex(&w, v->data, v->len);
		else
			jw_null(&w);
	}
	jw_object_end(&w);
	if (p->log_vkey) {
		jw_key(&w, "log_key"); jw_string(&w, p->log_vkey);
	}
	jw_key(&w, "ephemeral_key"); jw_hex(&w, p->eph_pub, 65);
	jw_key(&w, "nonce"); jw_hex(&w, p->nonce, 32);
	jw_key(&w, "app_id"); jw_string(&w, p->app_id);
	jw_key(&w, "instance_id"); jw_hex(&w, p->instance, p->instance_len);
	jw_object_end(&w);
	n = jw_finish(&w);
	return n < 0 ? -ENOSPC : n;
}
