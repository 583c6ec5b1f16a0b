/* cli/measure.c: `dshield measure [--json] [--firmware TDVF.fd]
 * [--memory SIZE] [--page-add-order single|two] IMAGE_DIR`
 *
 * Predicts what a TDX guest booted from IMAGE_DIR (vmlinuz, initrd, cmdline)
 * by QEMU's direct kernel boot under TDVF will have in RTMR1 and RTMR2, and
 * MRTD when the firmware is given. See crypto/measure.h and crypto/tdvf.h
 * for what is measured; docs/VERIFY.md for how to use the result.
 */
#include "cli/measure.h"

#include <bearssl.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/authenticode.h"
#include "crypto/measure.h"
#include "crypto/tdvf.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/jsonw.h"

#define CMDLINE_MAX 2047        /* x86 COMMAND_LINE_SIZE less the NUL */
#define DEFAULT_MEMORY (2ull << 30)

struct prediction {
	const char *dir;
	uint64_t memory;
	size_t kernel_len;
	uint8_t kernel_ac[48];
	char cmdline[CMDLINE_MAX + 1];
	char measured[CMDLINE_MAX + sizeof(MEASURE_INITRD_SUFFIX)];
	uint8_t cmdline_sha384[48];
	uint64_t initrd_len;
	uint8_t initrd_sha384[48];
	uint8_t rtmr1_log[MEASURE_RTMR1_EVENTS][48];
	uint8_t rtmr1[48], rtmr2[48];
	bool have_fw;
	const char *fw_name;
	uint8_t fw_sha256[32];
	unsigned fw_sections;
	enum tdvf_order order;
	uint8_t mrtd[48];
};

static int usage(void)
{
	fprintf(stderr,
		"usage: dshield measure [--json] [--firmware TDVF.fd] [--memory SIZE]\n"
		"                       [--page-add-order single|two] IMAGE_DIR\n"
		"\n"
		"Predicts RTMR1 and RTMR2 (and MRTD with --firmware) of a TDX guest that\n"
		"QEMU boots from IMAGE_DIR/{vmlinuz,initrd,cmdline} under TDVF.\n"
		"  --memory SIZE          guest RAM (bytes, or with K/M/G; default 2G): QEMU\n"
		"                         writes the initrd address, which depends on it,\n"
		"                         into the kernel header the firmware measures\n"
		"  --page-add-order ORDER single (QEMU >= 9, default) or two (QEMU 8 TDX)\n");
	return 2;
}

static unsigned char *slurp(const char *path, size_t *len, size_t max)
{
	unsigned char *buf;
	int r = file_read_alloc(path, max, &buf, len);

	if (r == -EFBIG)
		fprintf(stderr, "dshield measure: %s: larger than %zu bytes\n", path, max);
	else if (r < 0)
		fprintf(stderr, "dshield measure: %s: %s\n", path, strerror(-r));
	return r < 0 ? NULL : buf;
}

/* Streams a file through SHA-384 (and SHA-256 when s256 is not NULL). */
static int hash_file(const char *path, uint64_t *len, uint8_t s384[48], uint8_t *s256)
{
	static unsigned char buf[1 << 16];
	br_sha384_context h;
	br_sha256_context h2;
	FILE *f = fopen(path, "rb");
	size_t r;

	if (!f) {
		fprintf(stderr, "dshield measure: %s: %s\n", path, strerror(errno));
		return -1;
	}
	br_sha384_init(&h);
	br_sha256_init(&h2);
	*len = 0;
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0) {
		br_sha384_update(&h, buf, r);
		br_sha256_update(&h2, buf, r);
		*len += r;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "dshield measure: %s: read error\n", path);
		return -1;
	}
	br_sha384_out(&h, s384);
	if (s256)
		br_sha256_out(&h2, s256);
	return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k') shift = 10;
	else if (*end == 'M' || *end == 'm') shift = 20;
	else if (*end == 'G' || *end == 'g') shift = 30;
	else if (*end != '\0') return -1;
	if (shift && end[1] != '\0')
		return -1;
	if (v == 0 || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int read_cmdline(struct prediction *p, const char *path)
{
	size_t n;
	unsigned char *c = slurp(path, &n, 1 << 20);
	if (!c)
		return -1;
	while (n > 0 && (c[n - 1] == '\n' || c[n - 1] == '\r'))
		n--;
	if (n == 0 || n > CMDLINE_MAX || memchr(c, '\0', n) || memchr(c, '\n', n)) {
		fprintf(stderr, "dshield measure: %s: want one non-empty line of at most %d bytes\n",
			path, CMDLINE_MAX);
		free(c);
		return -1;
	}
	memcpy(p->cmdline, c, n);
	p->cmdline[n] = '\0';
	free(c);
	/* OVMF's QEMU loader appends this when an initrd is given. */
	snprintf(p->measured, sizeof(p->measured), "%s%s", p->cmdline, MEASURE_INITRD_SUFFIX);
	if (measure_cmdline_sha384(p->measured, strlen(p->measured), p->cmdline_sha384) < 0) {
		fprintf(stderr, "dshield measure: %s: not valid UTF-8\n", path);
		return -1;
	}
	return 0;
}

static int predict_kernel(struct prediction *p, const char *path)
{
	char err[ERRBUF_LEN] = "";
	unsigned char *k = slurp(path, &p->kernel_len, 256u << 20);
	if (!k)
		return -1;
	if (p->initrd_len > UINT32_MAX) {
		fprintf(stderr, "dshield measure: initrd larger than 4 GiB\n");
		free(k);
		return -1;
	}
	int rc = measure_qemu_patch_kernel(k, p->kernel_len, (uint32_t)p->initrd_len, p->memory,
					   MEASURE_QEMU_ACPI_DATA_SIZE, err);
	if (rc == 0)
		rc = authenticode_sha384(k, p->kernel_len, p->kernel_ac, err);
	free(k);
	if (rc < 0) {
		fprintf(stderr, "dshield measure: %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

static int predict_mrtd(struct prediction *p, const char *path)
{
	char err[ERRBUF_LEN] = "";
	size_t len;
	struct tdvf t;
	unsigned char *fw = slurp(path, &len, 64u << 20);
	if (!fw)
		return -1;
	int rc = tdvf_parse(fw, len, &t, err);
	if (rc < 0) {
		fprintf(stderr, "dshield measure: %s: %s\n", path, err);
		free(fw);
		return -1;
	}
	tdvf_mrtd(fw, len, &t, p->order, p->mrtd);
	br_sha256_context h;
	br_sha256_init(&h);
	br_sha256_update(&h, fw, len);
	br_sha256_out(&h, p->fw_sha256);
	free(fw);
	const char *slash = strrchr(path, '/');
	p->fw_name = slash ? slash + 1 : path;
	p->fw_sections = t.n;
	p->have_fw = true;
	return 0;
}

static void print_json(const struct prediction *p)
{
	static char buf[16384];
	struct jsonw w;
	uint8_t ev2[2][48];

	memcpy(ev2[0], p->cmdline_sha384, 48);
	memcpy(ev2[1], p->initrd_sha384, 48);
	jw_init(&w, buf, sizeof(buf));
	jw_object_begin(&w);
	jw_key(&w, "version"); jw_u64(&w, 1);
	jw_key(&w, "mrtd");
	if (p->have_fw)
		jw_hex(&w, p->mrtd, 48);
	else
		jw_null(&w);
	jw_key(&w, "rtmr1"); jw_hex(&w, p->rtmr1, 48);
	jw_key(&w, "rtmr2"); jw_hex(&w, p->rtmr2, 48);
	jw_key(&w, "kernel_authenticode_sha384"); jw_hex(&w, p->kernel_ac, 48);
	jw_key(&w, "cmdline"); jw_string(&w, p->cmdline);
	jw_key(&w, "measured_cmdline"); jw_string(&w, p->measured);
	jw_key(&w, "cmdline_sha384"); jw_hex(&w, p->cmdline_sha384, 48);
	jw_key(&w, "initrd_sha384"); jw_hex(&w, p->initrd_sha384, 48);
	jw_key(&w, "initrd_size"); jw_u64(&w, p->initrd_len);
	jw_key(&w, "memory_size"); jw_u64(&w, p->memory);
	jw_key(&w, "firmware");
	if (p->have_fw) {
		jw_object_begin(&w);
		jw_key(&w, "file"); jw_string(&w, p->fw_name);
		jw_key(&w, "sha256"); jw_hex(&w, p->fw_sha256, 32);
		jw_key(&w, "sections"); jw_u64(&w, p->fw_sections);
		jw_key(&w, "page_add_order");
		jw_string(&w, p->order == TDVF_TWO_PASS ? "two" : "single");
		jw_object_end(&w);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "rtmr1_events");
	jw_array_begin(&w);
	for (int i = 0; i < MEASURE_RTMR1_EVENTS; i++)
		jw_hex(&w, p->rtmr1_log[i], 48);
	jw_array_end(&w);
	jw_key(&w, "rtmr2_events");
	jw_array_begin(&w);
	for (int i = 0; i < MEASURE_RTMR2_EVENTS; i++)
		jw_hex(&w, ev2[i], 48);
	jw_array_end(&w);
	jw_object_end(&w);
	long n = jw_finish(&w);
	if (n < 0) {
		fprintf(stderr, "dshield measure: JSON output: %s\n", strerror((int)-n));
		return;
	}
	printf("%s\n", buf);
}

static void print_hex(const char *label, const uint8_t *d, size_t n)
{
	char h[2 * 64 + 1];
	hex_encode(h, d, n);
	printf("%-28s %s\n", label, h);
}

static void print_text(const struct prediction *p)
{
	printf("image %s (direct kernel boot under TDVF, %llu MiB guest)\n", p->dir,
	       (unsigned long long)(p->memory >> 20));
	print_hex("kernel Authenticode SHA-384", p->kernel_ac, 48);
	printf("%-28s \"%s\"\n", "measured command line", p->measured);
	print_hex("command line SHA-384", p->cmdline_sha384, 48);
	printf("%-28s %llu bytes\n", "initrd", (unsigned long long)p->initrd_len);
	print_hex("initrd SHA-384", p->initrd_sha384, 48);
	if (p->have_fw) {
		printf("%-28s %s (%u sections, %s-pass page adds)\n", "firmware", p->fw_name,
		       p->fw_sections, p->order == TDVF_TWO_PASS ? "two" : "single");
		print_hex("MRTD", p->mrtd, 48);
	} else {
		printf("%-28s not given: MRTD not predicted\n", "firmware");
	}
	print_hex("RTMR1", p->rtmr1, 48);
	print_hex("RTMR2", p->rtmr2, 48);
}

int cmd_measure(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "firmware", required_argument, NULL, 'f' },
		{ "memory", required_argument, NULL, 'm' },
		{ "page-add-order", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct prediction p;
	const char *firmware = NULL;
	bool json = false;
	int c;

	memset(&p, 0, sizeof(p));
	p.memory = DEFAULT_MEMORY;
	p.order = TDVF_SINGLE_PASS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'f': firmware = optarg; break;
		case 'm':
			if (parse_size(optarg, &p.memory) < 0) {
				fprintf(stderr, "dshield measure: bad --memory '%s'\n", optarg);
				return 2;
			}
			break;
		case 'o':
			if (strcmp(optarg, "single") == 0)
				p.order = TDVF_SINGLE_PASS;
			else if (strcmp(optarg, "two") == 0)
				p.order = TDVF_TWO_PASS;
			else
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	p.dir = argv[optind];

	char path[4096];
	snprintf(path, sizeof(path), "%s/cmdline", p.dir);
	if (read_cmdline(&p, path) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/initrd", p.dir);
	if (hash_file(path, &p.initrd_len, p.initrd_sha384, NULL) < 0)
		return 1;
	if (p.initrd_len == 0) {
		fprintf(stderr, "dshield measure: %s is empty\n", path);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/vmlinuz", p.dir);
	if (predict_kernel(&p, path) < 0)
		return 1;
	if (firmware && predict_mrtd(&p, firmware) < 0)
		return 1;

	measure_rtmr1_log(p.kernel_ac, p.rtmr1_log);
	measure_rtmr1(p.kernel_ac, p.rtmr1);
	measure_rtmr2(p.cmdline_sha384, p.initrd_sha384, p.rtmr2);
	if (json)
		print_json(&p);
	else
		print_text(&p);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "dshield measure: write error\n");
		return 1;
	}
	return 0;
}
