/* tests/keyd_kms_req.c: keyd's half of a `dshield kms` key request, for
 * tests/host/12-kms-keyd.t. keyd runs in process on the sim backend (as
 * tests/test_keyd.c runs it), its state in DIR/keyd (kept between runs:
 * a second run is a restarted keyd reloading its log), and init's half is
 * played here: the ephemeral key pair and nonce are made and saved as
 * DIR/eph.key and DIR/nonce, the files `kms_client open DIR` reads.
 *
 *   keyd_kms_req DIR MEASUREMENTS APP INSTANCE_HEX KMS_PUB_HEX
 *       the POST /v1/keys body keyd writes, on stdout; MEASUREMENTS is
 *       what the sim quote reports (the fw_cfg blob's format); APP "" means
 *       no app id; exit 1 with keyd's reason on stderr when keyd refuses.
 *       init's exchange (init/kms.c kms_exchange_begin, for a kms policy
 *       pinning KMS_PUB_HEX) is saved as DIR/exchange.
 *   keyd_kms_req open DIR STATUS REPLY
 *       the guest's path for the KMS's answer (HTTP STATUS, body in the
 *       file REPLY): netd's kms_reply_parse, then init's kms_exchange_open
 *       with DIR/exchange; prints "key HEX", or exit 1 with the reason
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/key_wrap.h"
#include "init/kms.h"
#include "keyd/keyd.h"
#include "net/kms_client.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/errbuf.h"

static struct keyd K;   /* ~3.7 MiB: not on the stack */

static void die(const char *what)
{
	fprintf(stderr, "keyd_kms_req: %s\n", what);
	exit(2);
}

static int cmd_open(const char *dir, const char *status, const char *reply)
{
	static char body[KMS_REPLY_MAX + 1];
	struct netd_kms_reply_msg rep;
	struct kms_exchange x;
	uint8_t key[KW_KEY_LEN];
	char path[4096], err[ERRBUF_LEN], hex[2 * KW_KEY_LEN + 1];
	long n;

	snprintf(path, sizeof path, "%s/exchange", dir);
	{
		char xb[sizeof x + 1];   /* file_read needs room for a NUL */
		if (file_read(path, xb, sizeof x) != (long)sizeof x)
			die("no DIR/exchange");
		memcpy(&x, xb, sizeof x);
		explicit_bzero(xb, sizeof xb);
	}
	n = file_read(reply, body, sizeof body - 1);
	if (n < 0)
		die("cannot read the reply");
	kms_reply_parse(&rep, (unsigned)strtoul(status, NULL, 10), body, (size_t)n);
	if (kms_exchange_open(&x, &rep, key, err, sizeof err) < 0) {
		fprintf(stderr, "refused: %s\n", err);
		return 1;
	}
	kms_exchange_wipe(&x);
	hex_encode(hex, key, sizeof key);
	printf("key %s\n", hex);
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096], state[4096], absent[4096], buf[4096];
	struct keyd_config_msg cfg;
	struct keyd_kms_req_msg req;
	struct keyd_kms_reply_msg rep;
	struct attest_paths p;
	ssize_t n;
	int fd;

	if (argc == 5 && strcmp(argv[1], "open") == 0)
		return cmd_open(argv[2], argv[3], argv[4]);
	if (argc != 6)
		die("usage: keyd_kms_req DIR MEASUREMENTS APP INSTANCE_HEX KMS_PUB_HEX");
	memset(&cfg, 0, sizeof cfg);
	memset(&req, 0, sizeof req);
	cfg.allow_sim = 1;
	if (strlen(argv[3]) >= sizeof cfg.app_id)
		die("the app id is too long");
	snprintf(cfg.app_id, sizeof cfg.app_id, "%s", argv[3]);
	if (hex_decode(cfg.instance_id, sizeof cfg.instance_id, argv[4], strlen(argv[4])) !=
	    (ssize_t)sizeof cfg.instance_id)
		die("the instance is not 32 hex digits");
	cfg.has_instance_id = 1;
	if (hex_decode(req.kms_pub, sizeof req.kms_pub, argv[5], strlen(argv[5])) != 65)
		die("the KMS key is not 130 hex digits");

	snprintf(state, sizeof state, "%s/keyd", argv[1]);
	snprintf(absent, sizeof absent, "%s/absent", argv[1]);
	mkdir(argv[1], 0700);
	mkdir(state, 0700);
	p = (struct attest_paths){ .tdx_dev = absent, .tsm_root = absent, .rtmr3 = absent,
				   .fwcfg_meas = argv[2] };
	K.netd_fd = K.logd_fd = K.sandboxd_fd = -1;
	keyd_setup(&K, &cfg, &p, state);

	/* init's part: the exchange for a kms policy pinning that key; the
	 * ephemeral key and nonce also saved as kms_client open reads them */
	{
		struct policy_store ps = { .provider = POLICY_KP_KMS, .kms_port = 80 };
		struct netd_kms_req_msg nreq;
		struct kms_exchange x;
		char err[ERRBUF_LEN];

		memcpy(ps.kms_public_key, req.kms_pub, sizeof ps.kms_public_key);
		if (kms_exchange_begin(&x, &ps, &req, &nreq, err, sizeof err) < 0)
			die(err);
		snprintf(path, sizeof path, "%s/exchange", argv[1]);
		if (file_replace(path, &x, sizeof x, NULL, 0) < 0)
			die("cannot save the exchange");
		snprintf(path, sizeof path, "%s/eph.key", argv[1]);
		if (file_replace(path, x.eph_priv, sizeof x.eph_priv, NULL, 0) < 0)
			die("cannot save eph.key");
		snprintf(path, sizeof path, "%s/nonce", argv[1]);
		if (file_replace(path, x.nonce, sizeof x.nonce, NULL, 0) < 0)
			die("cannot save the nonce");
		kms_exchange_wipe(&x);
	}

	fd = keyd_kms_request(&K, &req, &rep);
	if (fd < 0) {
		fprintf(stderr, "refused %d: %s\n", rep.error, rep.detail);
		return 1;
	}
	size_t total = 0;
	while ((n = pread(fd, buf, sizeof buf, (off_t)total)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		total += (size_t)n;
	}
	if (n < 0 || total != rep.body_len)
		die("the memfd is not body_len bytes");
	close(fd);
	putchar('\n');
	return 0;
}
