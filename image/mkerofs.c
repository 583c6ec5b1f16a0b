/* image/mkerofs.c: build-time tool, writes a deterministic EROFS image of a
 * directory tree (format and rules in image/erofs.h, docs/LAYERS.md).
 *
 *   mkerofs -o IMAGE DIR
 *
 * Every inode's time is $SOURCE_DATE_EPOCH (decimal seconds, default 0).
 * A failed run leaves no IMAGE behind.
 */
#include "image/erofs.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_epoch(uint64_t *out)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;

	*out = 0;
	if (!s || !*s)
		return 0;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	char err[ERRBUF_LEN] = "";
	struct erofs_result res;
	uint64_t mtime;
	int opt;

	while ((opt = getopt(argc, argv, "o:h")) != -1) {
		if (opt != 'o')
			goto usage;
		out = optarg;
	}
	if (!out || argc - optind != 1)
		goto usage;
	if (parse_epoch(&mtime) < 0) {
		fprintf(stderr, "mkerofs: SOURCE_DATE_EPOCH must be decimal seconds\n");
		return 1;
	}
	int fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "mkerofs: %s: %s\n", out, strerror(errno));
		return 1;
	}
	int r = erofs_write_tree(argv[optind], fd, mtime, &res, err, sizeof err);
	if (r == 0 && close(fd) != 0)
		r = errbuf_set(err, sizeof err, -errno, "close: %s", strerror(errno));
	if (r != 0) {
		fprintf(stderr, "mkerofs: %s\n", err);
		unlink(out);
		return 1;
	}
	printf("mkerofs: %s: %llu blocks (%llu of metadata), %u inodes, root nid %llu\n", out,
	       (unsigned long long)res.blocks, (unsigned long long)res.meta_blocks, res.nodes,
	       (unsigned long long)res.root_nid);
	return 0;
usage:
	fprintf(stderr, "usage: mkerofs -o IMAGE DIR   (inode time: $SOURCE_DATE_EPOCH, default 0)\n");
	return 2;
}
