/* image/mkverity.c: build-time tool, the dm-verity hash tree of a file
 * (format in crypto/verity_tree.h; tests compare it with veritysetup).
 *
 *   mkverity [-s SALT_HEX] DATA HASH_OUT
 *
 * DATA's size must be a multiple of 4096. Prints
 * "root <hex> salt <hex> data_blocks <n> hash_blocks <n>".
 */
#include "crypto/verity_tree.h"
#include "lib/hex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t salt[VERITY_SALT_MAX], root[VERITY_DIGEST];
	ssize_t salt_len = 0;
	struct verity_plan plan;
	struct stat st;
	int opt;

	while ((opt = getopt(argc, argv, "s:h")) != -1) {
		if (opt != 's')
			goto usage;
		salt_len = strcmp(optarg, "-") == 0 ? 0 :
			   hex_decode(salt, sizeof salt, optarg, strlen(optarg));
		if (salt_len < 0) {
			fprintf(stderr, "mkverity: salt: at most %u bytes of hex\n", VERITY_SALT_MAX);
			return 2;
		}
	}
	if (argc - optind != 2)
		goto usage;
	int fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "mkverity: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (st.st_size == 0 || st.st_size % VERITY_BLOCK != 0 ||
	    verity_plan((uint64_t)st.st_size / VERITY_BLOCK, &plan) != 0) {
		fprintf(stderr, "mkverity: %s: size must be a positive multiple of %u\n",
			argv[optind], VERITY_BLOCK);
		return 1;
	}
	const uint8_t *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	uint8_t *hash = malloc((size_t)(plan.hash_blocks * VERITY_BLOCK) + 1);
	if (data == MAP_FAILED || !hash) {
		fprintf(stderr, "mkverity: out of memory\n");
		return 1;
	}
	verity_build(&plan, data, salt, (size_t)salt_len, hash, root);
	int out = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || write_all(out, hash, (size_t)(plan.hash_blocks * VERITY_BLOCK)) != 0 ||
	    close(out) != 0) {
		fprintf(stderr, "mkverity: %s: %s\n", argv[optind + 1], strerror(errno));
		return 1;
	}
	char rhex[2 * VERITY_DIGEST + 1], shex[2 * VERITY_SALT_MAX + 1];
	hex_encode(rhex, root, sizeof root);
	hex_encode(shex, salt, (size_t)salt_len);
	printf("root %s salt %s data_blocks %llu hash_blocks %llu\n", rhex,
	       salt_len ? shex : "-", (unsigned long long)plan.data_blocks,
	       (unsigned long long)plan.hash_blocks);
	free(hash);
	return 0;
usage:
	fprintf(stderr, "usage: mkverity [-s SALT_HEX] DATA HASH_OUT\n");
	return 2;
}
