/* image/erofs.h: a deterministic EROFS image writer (uncompressed).
 *
 * Input: a directory tree on the host. Output: an EROFS image whose bytes
 * are a function of the tree's names, file types, permission bits, file
 * contents and symlink targets, and of one time stamp; nothing else of the
 * host (inode numbers, owners, times, readdir order, umask) reaches it.
 *
 * The format (docs/LAYERS.md has the layout this writer produces):
 *   - 4096-byte blocks; superblock at byte 1024 of block 0, magic
 *     0xE0F5E1E2, metadata area from block 0 (meta_blkaddr 0), no xattrs,
 *     no compression, no superblock checksum (dm-verity covers every byte);
 *   - inodes: compact (32 bytes) unless the size or link count needs the
 *     extended form (64 bytes); owner 0:0; every time = mtime (compact
 *     inodes take the superblock's build_time);
 *   - data: FLAT_INLINE (whole blocks in the data area, the tail right
 *     after the inode in the metadata area) when the tail fits in the
 *     inode's metadata block, else FLAT_PLAIN; a tail goes inline when it
 *     fits after the previous inode, or when starting a new metadata block
 *     wastes no more than a plain tail block would;
 *   - directories: blocks of 12-byte dirents then names, "." and ".."
 *     included, sorted bytewise across the whole directory;
 *   - regular files, directories and symbolic links only; a hard link is
 *     written as an independent copy; the root is the first inode and its
 *     mode is 0755 whatever the tree's top directory has.
 *
 * Error convention: 0 or a negative errno, with a one-line reason in the
 * caller's err buffer (ERRBUF_LEN bytes, lib/errbuf.h).
 */
#ifndef DSHIELD_IMAGE_EROFS_H
#define DSHIELD_IMAGE_EROFS_H

#include <stddef.h>
#include <stdint.h>

#define EROFS_BLOCK        4096u
#define EROFS_SB_OFFSET    1024u
#define EROFS_MAGIC        0xE0F5E1E2u
#define EROFS_MAX_NODES    (1u << 20)	/* files, directories and links */
#define EROFS_MAX_DEPTH    64u		/* directory nesting */
#define EROFS_NAME_MAX     255u

struct erofs_result {
	uint64_t blocks;	/* image size in EROFS_BLOCK blocks */
	uint64_t meta_blocks;	/* blocks of the metadata area (inodes, tails) */
	uint32_t nodes;		/* inodes written */
	uint64_t root_nid;
};

/* Writes the image of the tree at dir to out_fd, from offset 0 (the file
 * is truncated to the image size). mtime: the time of every inode.
 * Refuses device nodes, FIFOs and sockets, names over 255 bytes, trees of
 * more than EROFS_MAX_NODES entries or EROFS_MAX_DEPTH levels, and files
 * that change while they are read. */
int erofs_write_tree(const char *dir, int out_fd, uint64_t mtime,
		     struct erofs_result *res, char *err, size_t errlen);

#endif
