/* lib/file.c: see file.h. */
#include "lib/file.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* read() into buf until EOF or until n reaches cap + 1 (one byte too many
 * tells an oversized file). Returns the total or -errno. */
static long read_all(int fd, unsigned char *buf, size_t n, size_t cap)
{
	while (n <= cap) {
		ssize_t r = read(fd, buf + n, cap + 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (long)n;
}

long file_read_fd(int fd, void *buf, size_t cap)
{
	long n = read_all(fd, buf, 0, cap);

	if (n < 0)
		return n;
	if ((size_t)n > cap)
		return -EFBIG;
	((unsigned char *)buf)[n] = '\0';
	return n;
}

long file_read(const char *path, void *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return -errno;
	n = file_read_fd(fd, buf, cap);
	close(fd);
	return n;
}

int file_read_alloc(const char *path, size_t max, unsigned char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 16;
	unsigned char *buf = NULL;
	long n = 0;

	if (fd < 0)
		return -errno;
	/* Grow by doubling; each round reads up to cap + 1 bytes so that a
	 * full buffer with more to come is told from a file of exactly cap. */
	for (;;) {
		unsigned char *nb = realloc(buf, cap + 2);
		if (!nb) {
			n = -ENOMEM;
			break;
		}
		buf = nb;
		n = read_all(fd, buf, (size_t)n, cap);
		if (n < 0 || (size_t)n <= cap)
			break;
		if (cap >= max) {
			n = -EFBIG;
			break;
		}
		cap = cap * 2 < max ? cap * 2 : max;
	}
	close(fd);
	if (n >= 0 && (size_t)n > max)
		n = -EFBIG;
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int file_write_once(const char *path, const void *buf, size_t len, const char **step)
{
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC), e;

	*step = "opening";
	if (fd < 0)
		return -errno;
	*step = "writing";
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	e = n < 0 ? errno : EIO;
	close(fd);
	return (size_t)n == len ? 0 : -e;
}

int file_replace(const char *path, const void *buf, size_t len, char *err, size_t errlen)
{
	char tmp[512], dir[512];   /* "/state/log.key" and its kin */
	int fd, dfd, e;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return errbuf_set(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errbuf_set(err, errlen, -errno, "creating %s: %s", tmp, strerror(errno));
	errno = 0;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) != 0) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		return errbuf_set(err, errlen, -e, "writing %s: %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		return errbuf_set(err, errlen, -e, "renaming to %s: %s", path, strerror(e));
	}
	snprintf(dir, sizeof dir, "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		e = errno;
		if (dfd >= 0)
			close(dfd);
		return errbuf_set(err, errlen, -e, "syncing the directory of %s: %s", path,
				  strerror(e));
	}
	close(dfd);
	return 0;
}

int file_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_memfd_sealed(const char *name, const void *buf, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), r;

	if (fd < 0)
		return -errno;
	r = file_write_all(fd, buf, len);
	if (r == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
		  F_SEAL_SEAL) != 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

const void *file_map_sealed(int fd, size_t len, int seals)
{
	struct stat sb;
	int have = fcntl(fd, F_GET_SEALS);
	void *p;

	seals |= F_SEAL_SHRINK;
	if (len == 0 || have < 0 || (have & seals) != seals || fstat(fd, &sb) != 0 ||
	    sb.st_size < 0 || (uint64_t)sb.st_size != len)
		return NULL;
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}
