/* lib/file.h: bounded whole-file reads (boot files, command line tools, tests)
 * and single-write stores into kernel attributes. */
#ifndef DSHIELD_LIB_FILE_H
#define DSHIELD_LIB_FILE_H

#include <stddef.h>

/* Reads the file at path into buf, which holds cap bytes plus a NUL.
 * Returns the length, or -errno (-EFBIG when it has more than cap bytes). */
long file_read(const char *path, void *buf, size_t cap);

/* Reads an open descriptor to its end into buf (cap bytes plus a NUL), for
 * callers that open with their own flags (O_NOFOLLOW, openat). Returns the
 * length, or -errno (-EFBIG when it has more than cap bytes). */
long file_read_fd(int fd, void *buf, size_t cap);

/* Reads the file at path into a malloc'd buffer (*out, NUL after its *len
 * bytes; the caller frees it). Returns 0, or -errno (-EFBIG when it has
 * more than max bytes); *out is untouched on error. */
int file_read_alloc(const char *path, size_t max, unsigned char **out, size_t *len);

/* Opens path write-only and stores buf with exactly one write() (sysfs and
 * configfs attributes take one value per write: a split write would be two
 * values). Returns 0; -errno; -EIO for a short write. *step says which
 * call failed ("opening" or "writing") for the caller's message. */
int file_write_once(const char *path, const void *buf, size_t len, const char **step);

/* Replaces the file at path with buf[0..len) atomically: path.tmp made
 * O_EXCL (mode 0600, a stale one removed first), written, fsync'ed,
 * renamed over path, and path's directory fsync'ed, so a crash leaves the
 * old file or the new one, never a mix (keyd's log key and checkpoint).
 * Returns 0, or -errno with the step and path in err (cap errlen). */
int file_replace(const char *path, const void *buf, size_t len, char *err, size_t errlen);

/* Writes all of buf[0..len) to fd, continuing after short writes and
 * EINTR (pipes, memfds, files). Returns 0 or -errno (-EIO when write()
 * returns 0). */
int file_write_all(int fd, const void *buf, size_t len);

/* A memfd (MFD_CLOEXEC | MFD_ALLOW_SEALING) named name holding exactly
 * buf[0..len), sealed against any change (F_SEAL_SHRINK, F_SEAL_GROW,
 * F_SEAL_WRITE, F_SEAL_SEAL): bytes handed to another process that stay
 * what they were when sent. Returns the fd, or -errno. */
int file_memfd_sealed(const char *name, const void *buf, size_t len);

/* Maps fd read-only when it is exactly len (> 0) bytes long and carries
 * at least the seals `seals` (F_SEAL_SHRINK at least: a file that could
 * shrink under the mapping would fault its reader). Returns the mapping
 * (munmap(p, len) when done), or NULL. fd may be closed afterwards. */
const void *file_map_sealed(int fd, size_t len, int seals);

#endif
