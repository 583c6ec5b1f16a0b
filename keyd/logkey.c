/* keyd/logkey.c: see logkey.h. */
#include "keyd/logkey.h"
#include "crypto/p256.h"
#include "lib/file.h"
#include "lib/hex.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The public half, its hash, origin and verifier key. */
static int derive(struct logkey *k, char err[ERRBUF_LEN])
{
	uint8_t pub[65], h[32];
	char origin[sizeof LOGKEY_ORIGIN_PFX + 16];
	br_sha256_context c;
	br_ec_public_key pk;

	k->sk = (br_ec_private_key){ BR_EC_secp256r1, k->priv, sizeof k->priv };
	if (br_ec_compute_pub(br_ec_get_default(), &pk, pub, &k->sk) != sizeof pub)
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "the log key is not a P-256 scalar");
	/* The name depends on the key, the key ID on the name-free SPKI. */
	if (note_key_init(&k->pub, "x", 1, pub) < 0)
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "the log key's point is invalid");
	br_sha256_init(&c);
	br_sha256_update(&c, k->pub.spki, sizeof k->pub.spki);
	br_sha256_out(&c, h);
	memcpy(k->spki_sha256, h, sizeof h);
	memcpy(origin, LOGKEY_ORIGIN_PFX, sizeof LOGKEY_ORIGIN_PFX - 1);
	hex_encode(origin + sizeof LOGKEY_ORIGIN_PFX - 1, h, 8);
	if (note_key_init(&k->pub, origin, strlen(origin), pub) < 0 ||
	    note_key_vkey(&k->pub, k->vkey, sizeof k->vkey) < 0)
		return errbuf_set(err, ERRBUF_LEN, -EINVAL, "cannot name the log key");
	return 0;
}

int keyfile_load_or_create(uint8_t priv[32], const char *path, const char *what, bool *created,
			   char err[ERRBUF_LEN])
{
	uint8_t buf[33];
	br_ec_private_key sk;
	long got;
	int r;

	*created = false;
	got = file_read(path, buf, 32);
	if (got == 32) {
		memcpy(priv, buf, 32);
		memset(buf, 0, sizeof buf);
		return 0;
	}
	if (got >= 0 || got == -EFBIG)
		return errbuf_set(err, ERRBUF_LEN, -EBADMSG, "%s is not a 32-byte key (%s)", path,
				  got == -EFBIG ? "longer" : "shorter");
	if (got != -ENOENT)
		return errbuf_set(err, ERRBUF_LEN, (int)got, "reading %s: %s", path,
				  strerror((int)-got));
	r = p256_keygen(priv, &sk);
	if (r < 0)
		return errbuf_set(err, ERRBUF_LEN, r, "making the %s: %s", what, strerror(-r));
	r = file_replace(path, priv, 32, err, ERRBUF_LEN);
	if (r < 0)
		return r;
	*created = true;
	return 0;
}

int logkey_load_or_create(struct logkey *k, const char *path, char err[ERRBUF_LEN])
{
	int r;

	memset(k, 0, sizeof *k);
	r = keyfile_load_or_create(k->priv, path, "log key", &k->created, err);
	return r < 0 ? r : derive(k, err);
}
