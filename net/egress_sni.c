/* net/egress_sni.c: the server name of a ClientHello (net/egress_sni.h). */
#include "net/egress_sni.h"

#include <errno.h>
#include <string.h>

#include "lib/errbuf.h"

#define REC_HDR     5
#define REC_MAX     16384      /* a TLSPlaintext's payload, RFC 8446 5.1 */
#define EXT_SNI     0
#define HOST_NAME   0

/* A cursor over a span: every read checks what is left. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static int take(struct rd *r, size_t k, struct rd *out)
{
	if (k > r->n)
		return -1;
	if (out != NULL)
		*out = (struct rd){ r->p, k };
	r->p += k;
	r->n -= k;
	return 0;
}

static int u8(struct rd *r, size_t *v)
{
	if (r->n < 1)
		return -1;
	*v = r->p[0];
	return take(r, 1, NULL);
}

static int u16(struct rd *r, size_t *v)
{
	if (r->n < 2)
		return -1;
	*v = (size_t)r->p[0] << 8 | r->p[1];
	return take(r, 2, NULL);
}

/* A vector with a length prefix of w bytes (1 or 2) into *out. */
static int vec(struct rd *r, int w, struct rd *out)
{
	size_t k;

	if ((w == 1 ? u8(r, &k) : u16(r, &k)) < 0)
		return -1;
	return take(r, k, out);
}

/* The server_name extension's body: a list of names, one host_name. */
static int server_name(struct rd e, char *name, size_t *len, char *err, size_t errlen)
{
	struct rd list, v;
	size_t type;

	if (vec(&e, 2, &list) < 0 || e.n != 0 || list.n == 0)
		return errbuf_set(err, errlen, -EINVAL, "server_name: a list that does not fit");
	while (list.n > 0) {
		if (u8(&list, &type) < 0 || vec(&list, 2, &v) < 0)
			return errbuf_set(err, errlen, -EINVAL, "server_name: an entry that does not fit");
		if (type != HOST_NAME)
			continue;
		if (*len != 0)
			return errbuf_set(err, errlen, -EINVAL, "server_name: two host names");
		if (v.n == 0 || v.n > ESNI_NAME_MAX || memchr(v.p, 0, v.n) != NULL)
			return errbuf_set(err, errlen, -EINVAL,
					  "server_name: a host name of 0 or over %d bytes, or with NUL",
					  ESNI_NAME_MAX);
		memcpy(name, v.p, v.n);
		name[v.n] = '\0';
		*len = v.n;
	}
	return 0;
}

/* The ClientHello's body (after the handshake header). */
static int hello(struct rd h, char *name, size_t *len, char *err, size_t errlen)
{
	struct rd exts, e;
	size_t type;
	int seen = 0;

	if (take(&h, 2 + 32, NULL) < 0 || vec(&h, 1, NULL) < 0 || vec(&h, 2, NULL) < 0 ||
	    vec(&h, 1, NULL) < 0)
		return errbuf_set(err, errlen, -EINVAL, "ClientHello: a field that does not fit");
	if (h.n == 0)
		return 0;                      /* no extensions, so no server_name */
	if (vec(&h, 2, &exts) < 0 || h.n != 0)
		return errbuf_set(err, errlen, -EINVAL, "ClientHello: extensions that do not fit");
	while (exts.n > 0) {
		if (u16(&exts, &type) < 0 || vec(&exts, 2, &e) < 0)
			return errbuf_set(err, errlen, -EINVAL, "ClientHello: an extension that does not fit");
		if (type != EXT_SNI)
			continue;
		if (seen++)
			return errbuf_set(err, errlen, -EINVAL, "ClientHello: two server_name extensions");
		if (server_name(e, name, len, err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

long esni_parse(const uint8_t *p, size_t n, size_t max, char name[ESNI_NAME_MAX + 1], size_t *len,
		char *err, size_t errlen)
{
	*len = 0;
	name[0] = '\0';
	if (n >= 1 && p[0] != 0x16)
		return errbuf_set(err, errlen, -EINVAL, "not a TLS handshake record");
	if (n >= 2 && p[1] != 0x03)
		return errbuf_set(err, errlen, -EINVAL, "not a TLS record version");
	if (n < REC_HDR)
		return 0;
	size_t rl = (size_t)p[3] << 8 | p[4];
	if (rl < 4 || rl > REC_MAX)
		return errbuf_set(err, errlen, -EINVAL, "a record length of %zu", rl);
	if (REC_HDR + rl > max)
		return -E2BIG;
	if (n >= REC_HDR + 1 && p[REC_HDR] != 1)
		return errbuf_set(err, errlen, -EINVAL, "the first handshake message is no ClientHello");
	if (n < REC_HDR + rl)
		return 0;
	size_t hl = (size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8];
	if (hl != rl - 4)
		return errbuf_set(err, errlen, -EINVAL,
				  "the ClientHello is not exactly one record (%zu bytes in %zu)", hl, rl - 4);
	if (hello((struct rd){ p + REC_HDR + 4, hl }, name, len, err, errlen) < 0)
		return -EINVAL;
	return (long)(REC_HDR + rl);
}
