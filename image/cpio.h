/* image/cpio.h: a deterministic cpio "newc" (070701) archive writer.
 *
 * The initrd is built from a spec, never from a directory walk, so nothing
 * of the build host leaks into it: owners are 0, modes come from the spec
 * (not from the disk, so the umask does not matter), every mtime is one
 * given value (SOURCE_DATE_EPOCH), inode numbers are 1, 2, 3... in the
 * bytewise order of the paths, device numbers are 0.
 *
 * Spec lines (fields separated by spaces or tabs; '#' starts a comment line):
 *
 *   dir   PATH MODE
 *   file  PATH MODE SOURCE          SOURCE: a regular file on the host
 *                                   (relative to the working directory)
 *   slink PATH MODE TARGET
 *   nod   PATH MODE c|b MAJOR MINOR
 *
 * PATH has no leading '/', no empty, "." or ".." component, no trailing
 * '/'. MODE is octal permission bits (at most 07777). Every parent of PATH
 * must be listed as a dir itself: missing parents are refused, never
 * invented, so every directory's mode is written down somewhere.
 *
 * Errors: negative errno, with a message naming the spec line in err->msg.
 */
#ifndef DSHIELD_IMAGE_CPIO_H
#define DSHIELD_IMAGE_CPIO_H

#include <stddef.h>
#include <stdint.h>

#define CPIO_LINE_MAX   4096	/* bytes of one spec line, newline excluded */
#define CPIO_PATH_MAX   1024	/* bytes of PATH or a symlink TARGET */
#define CPIO_FILE_MAX   0xffffffffu	/* newc sizes are 32-bit */

enum cpio_type { CPIO_DIR, CPIO_FILE, CPIO_SLINK, CPIO_NOD };

struct cpio_entry {
	enum cpio_type type;
	const char *path;	/* points into the parsed spec buffer */
	const char *source;	/* file: host path; slink: target; else NULL */
	uint32_t mode;		/* S_IFxxx | permission bits */
	uint32_t rmajor, rminor;	/* nod only */
	unsigned line;		/* spec line, for messages */
};

struct cpio_err {
	char msg[CPIO_PATH_MAX + 256];
};

/* Parses a whole spec held in buf (len bytes, modified in place: tokens
 * are NUL-terminated there and the entries point into it). Returns the
 * number of entries (at most max), or a negative errno. */
long cpio_parse_spec(char *buf, size_t len, struct cpio_entry *e, size_t max,
		     struct cpio_err *err);

/* Sorts the entries bytewise by path, then refuses duplicate paths,
 * parents that are missing or not directories, and file sources that do
 * not exist, are not regular files or are too large. */
int cpio_check(struct cpio_entry *e, size_t n, struct cpio_err *err);

/* Writes the archive of checked entries to fd: entries in order, inode
 * numbers from 1, the TRAILER!!! record, zeros up to a multiple of 512.
 * Returns the number of bytes written or a negative errno. */
long long cpio_write(int fd, const struct cpio_entry *e, size_t n,
		     uint32_t mtime, struct cpio_err *err);

#endif
