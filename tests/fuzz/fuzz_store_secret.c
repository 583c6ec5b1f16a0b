/* tests/fuzz/fuzz_store_secret.c: a secret's record (sandboxd/store.h) is
 * read back from a disk: the encrypted store's plaintext, or tmpfs. Whatever
 * it holds, a store with a seal key and one without either refuse it with
 * -EBADMSG or give a value of 1..FN_SECRET_VALUE_MAX bytes without NUL, and
 * never both: a record opens in at most one of them. Inputs whose first
 * byte is odd are the rest sealed as a value under the right name: a valid
 * value comes back byte for byte from the sealed store only. */
#include "sandboxd/store.h"
#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "FZ"

static char dir[64], plain_dir[96], sealed_dir[96];
static struct store plain, sealed;
static struct policy pol;
static const uint8_t key[STORE_SEAL_KEY_LEN] = { 1, 2, 3 };

static void cleanup(void)
{
	char cmd[96];
	store_close(&plain);
	store_close(&sealed);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void put(const char *d, const void *p, size_t n)
{
	char path[160];
	snprintf(path, sizeof path, "%s/secrets/" NAME ".json", d);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (n > 0 && file_write_all(fd, p, n) != 0))
		abort();
	close(fd);
}

static bool value_ok(const uint8_t *v, size_t n)
{
	return n >= 1 && n <= FN_SECRET_VALUE_MAX && memchr(v, '\0', n) == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char val[FN_SECRET_VALUE_MAX + 1], rec[STORE_REC_MAX + 1];
	static uint8_t box[FN_SECRET_VALUE_MAX + STORE_SEAL_OVERHEAD];
	char err[ERRBUF_LEN];
	size_t len = 0, n;
	int rp, rs;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/fuzz_store_secret.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(plain_dir, sizeof plain_dir, "%s/plain", dir);
		snprintf(sealed_dir, sizeof sealed_dir, "%s/sealed", dir);
		if (store_open(&plain, plain_dir, &pol, NULL, NULL, err) != 0 ||
		    store_open(&sealed, sealed_dir, &pol, key, NULL, err) != 0)
			abort();
		atexit(cleanup);
	}
	if (size > 0 && (data[0] & 1) && size - 1 <= FN_SECRET_VALUE_MAX) {
		static const uint8_t nonce[STORE_SEAL_NONCE] = { 9 };
		char b64[BASE64_ENCODED_LEN(sizeof box) + 1];
		const uint8_t *v = data + 1;
		n = size - 1;
		store_seal(key, nonce, NAME, v, n, box);
		base64_encode(b64, box, n + STORE_SEAL_OVERHEAD);
		int k = snprintf(rec, sizeof rec, "{\"format\":1,\"name\":\"" NAME "\",\"created\":1,"
				 "\"updated\":2,\"sealing\":\"aes-256-gcm\",\"value\":\"%s\"}", b64);
		put(plain_dir, rec, (size_t)k);
		put(sealed_dir, rec, (size_t)k);
		rs = store_secret_get(&sealed, NAME, val, sizeof val, &len, NULL, NULL, err);
		if (value_ok(v, n) ? rs != 0 || len != n || memcmp(val, v, n) != 0 : rs != -EBADMSG)
			abort();
		if (store_secret_get(&plain, NAME, val, sizeof val, &len, NULL, NULL, err) != -EBADMSG)
			abort();
		return 0;
	}
	put(plain_dir, data, size);
	put(sealed_dir, data, size);
	rp = store_secret_get(&plain, NAME, val, sizeof val, &len, NULL, NULL, err);
	if (rp == 0 && !value_ok((const uint8_t *)val, len))
		abort();
	rs = store_secret_get(&sealed, NAME, val, sizeof val, &len, NULL, NULL, err);
	if (rs == 0 && !value_ok((const uint8_t *)val, len))
		abort();
	if ((rp != 0 && rp != -EBADMSG) || (rs != 0 && rs != -EBADMSG) || (rp == 0 && rs == 0))
		abort();
	return 0;
}
