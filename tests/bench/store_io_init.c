/* tests/bench/store_io_init.c: PID 1 of the store throughput bench image
 * (tests/bench/storeio-bench, docs/STORE.md "Throughput against the raw
 * disk").
 *
 * This program is the bench image's /init instead of dshield-init: the
 * shipped image keeps no path to a raw disk, and dshield-init is not
 * rebuilt for the bench. It boots as init does (console, mounts, the
 * manifest's modules, each verified), finds the scratch disk by its
 * serial (SIO_DISK_SERIAL), runs the loops of store_io.h on each target
 * of the table below and prints one line per target and one per ratio,
 * then powers off. Nothing here runs in the shipped image.
 *
 * Targets, in the same boot and on the same sectors (the store's data
 * area: from STORE_DATA_OFFSET to the end of the disk):
 *   raw         the disk's node, at byte STORE_DATA_OFFSET * 512
 *   crypt       dm-crypt with the store's table (fs/crypt.h: the cipher
 *               and key size of the store header, a random key)
 *   crypt-null  dm-crypt with cipher_null: its machinery without AES
 *   crypt-integrity  the store with store.integrity "hmac-sha256":
 *               dm-crypt over dm-integrity (fs/integrity.h: formatted,
 *               every sector wiped once, journaled), against crypt; it
 *               runs alone, after the others (its tags and journal live
 *               on the sectors the others write)
 *   ext4-raw    mke2fs (the store's options) on the whole disk, a file
 *   ext4-crypt  the same through the crypt mapping: the store as a
 *               function's /data sees it, against ext4-raw
 * The block targets' repetitions are interleaved (raw, crypt, crypt-null, raw, ...)
 * so that drift in the host's speed falls on both alike.
 */
#include "fs/crypt.h"
#include "fs/dm.h"
#include "fs/integrity.h"
#include "fs/store_hdr.h"
#include "init/boot.h"
#include "init/datastore.h"
#include "init/e2fs.h"
#include "init/layers.h"
#include "init/manifest.h"
#include "init/modules.h"
#include "init/supervisor.h"
#include "lib/clock.h"
#include "lib/errbuf.h"
#include "lib/log.h"
#include "lib/random.h"
#include "tests/bench/store_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define SIO_DISK_SERIAL "dshield-bench"
#define SIO_DM_NAME     "bench-crypt"
#define SIO_DM_NULL_NAME "bench-crypt-null"
#define SIO_DM_INTEG_NAME "bench-integrity"
#define SIO_DM_ICRYPT_NAME "bench-crypt-integrity"
#define SIO_MOUNT_DIR   "/run/bench"
#define SIO_FILE        SIO_MOUNT_DIR "/io"
#define SIO_DISK_WAIT_MS 5000

/* Everything the targets share; one instance, in main's static storage. */
struct bench {
	struct sio_spec spec;
	struct layers_disk disk;
	struct dm_ctl dm;
	char raw_node[48];
	char crypt_node[48];
	char null_node[48];
	char icrypt_node[48];
	bool mapped, null_mapped, integ_mapped, icrypt_mapped;
	_Alignas(4096) unsigned char buf[SIO_SEQ_BLOCK];
};

/* A block target: makes its node (or names it) and says where the region
 * starts on it. */
struct target {
	const char *name;
	int base;		/* index in targets[], -1: none */
	bool ext4;		/* also an ext4 row on it */
	bool alone;		/* not interleaved: run after the others */
	int (*open)(struct bench *b, const char **node, off_t *at, char *err, size_t errlen);
	void (*close)(struct bench *b);
};

static int open_raw(struct bench *b, const char **node, off_t *at, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	*node = b->raw_node;
	*at = (off_t)STORE_DATA_OFFSET * STORE_SECTOR;
	return 0;
}

/* The store's own table over the store's data area, with a random key of
 * the store's size: the same cipher, key size and (default, 512-byte)
 * sector size as init/datastore.c maps. */
static int open_crypt(struct bench *b, const char **node, off_t *at, char *err, size_t errlen)
{
	uint8_t key[STORE_KEY_BITS / 8];
	dev_t dev;
	int r;

	if ((r = random_fill(key, sizeof key)) != 0)
		return errbuf_set(err, errlen, r, "getrandom: %s", strerror(-r));
	struct crypt_area a = {
		.disk = b->disk.dev, .offset = STORE_DATA_OFFSET,
		.sectors = b->disk.bytes / STORE_SECTOR - STORE_DATA_OFFSET,
		.cipher = STORE_CIPHER, .key = key, .key_len = sizeof key,
	};
	r = crypt_open(&b->dm, SIO_DM_NAME, &a, &dev, err, errlen);
	explicit_bzero(key, sizeof key);
	if (r != 0)
		return r;
	b->mapped = true;
	snprintf(b->crypt_node, sizeof b->crypt_node, "/dev/dm-%u", minor(dev));
	*node = b->crypt_node;
	*at = 0;
	return 0;
}

static void close_crypt(struct bench *b)
{
	char err[ERRBUF_LEN];
	if (b->mapped && dm_remove(&b->dm, SIO_DM_NAME, err, sizeof err) != 0)
		dlog("%s", err);
	b->mapped = false;
}

static void close_crypt_null(struct bench *b)
{
	char err[ERRBUF_LEN];
	if (b->null_mapped && dm_remove(&b->dm, SIO_DM_NULL_NAME, err, sizeof err) != 0)
		dlog("%s", err);
	b->null_mapped = false;
}

/* dm-crypt's machinery without a cipher: the same target over the same
 * sectors with cipher_null (no key: "-"; crypto_null is a module that
 * only the bench image carries). Against raw it is what dm-crypt costs
 * apart from AES; crypt against it is what AES costs here (under TCG:
 * QEMU's emulation of AES-NI). fs/crypt.h makes keyed tables only, so
 * the line is written here. */
static int open_crypt_null(struct bench *b, const char **node, off_t *at, char *err,
			   size_t errlen)
{
	char params[96];
	dev_t dev;

	snprintf(params, sizeof params, "cipher_null-ecb - 0 %u:%u %u", major(b->disk.dev),
		 minor(b->disk.dev), STORE_DATA_OFFSET);
	struct dm_target t = { 0, b->disk.bytes / STORE_SECTOR - STORE_DATA_OFFSET, "crypt",
			       params };
	int r = dm_create(&b->dm, SIO_DM_NULL_NAME, NULL, &t, 1, false, false, &dev, err, errlen);
	if (r != 0)
		return r;
	b->null_mapped = true;
	snprintf(b->null_node, sizeof b->null_node, "/dev/dm-%u", minor(dev));
	*node = b->null_node;
	*at = 0;
	return 0;
}

static void close_crypt_integrity(struct bench *b)
{
	char err[ERRBUF_LEN];
	if (b->icrypt_mapped && dm_remove(&b->dm, SIO_DM_ICRYPT_NAME, err, sizeof err) != 0)
		dlog("%s", err);
	if (b->integ_mapped && dm_remove(&b->dm, SIO_DM_INTEG_NAME, err, sizeof err) != 0)
		dlog("%s", err);
	b->icrypt_mapped = b->integ_mapped = false;
}

/* The store's integrity stack over the data area, as init/datastore.c
 * formats it (random keys): dm-integrity formatted by the kernel, every
 * sector it provides written once in mode D (timed: the format's cost),
 * loaded again journaled (J), dm-crypt on top. */
static int open_crypt_integrity(struct bench *b, const char **node, off_t *at, char *err,
				size_t errlen)
{
	uint8_t hk[INTEGRITY_KEY_LEN], jk[INTEGRITY_KEY_LEN], key[STORE_KEY_BITS / 8];
	struct integrity_area a = { .disk = b->disk.dev, .offset = STORE_DATA_OFFSET,
				    .hash_key = hk, .journal_key = jk };
	struct integrity_sb sb;
	char inode[32];
	dev_t idev, dev;
	int r;

	if ((r = random_fill(hk, sizeof hk)) != 0 || (r = random_fill(jk, sizeof jk)) != 0 ||
	    (r = random_fill(key, sizeof key)) != 0) {
		r = errbuf_set(err, errlen, r, "getrandom: %s", strerror(-r));
		goto out;
	}
	if ((r = integrity_format(&b->dm, SIO_DM_INTEG_NAME, &a, b->raw_node, &sb, err,
				  errlen)) != 0)
		goto out;
	a.sectors = sb.provided_sectors & ~(uint64_t)7;
	a.mode = 'D';
	if ((r = integrity_open(&b->dm, SIO_DM_INTEG_NAME, &a, &idev, err, errlen)) != 0)
		goto out;
	b->integ_mapped = true;
	uint64_t t0 = mono_ms();
	snprintf(inode, sizeof inode, "/dev/dm-%u", minor(idev));
	if ((r = integrity_wipe(inode, idev, a.sectors * STORE_SECTOR, err, errlen)) != 0)
		goto out;
	dlog("storeio: integrity provided_mib=%llu wipe_ms=%llu",
	     (unsigned long long)(a.sectors / 2048), (unsigned long long)(mono_ms() - t0));
	b->integ_mapped = false;
	if ((r = dm_remove(&b->dm, SIO_DM_INTEG_NAME, err, errlen)) != 0)
		goto out;
	a.mode = 'J';
	if ((r = integrity_open(&b->dm, SIO_DM_INTEG_NAME, &a, &idev, err, errlen)) != 0)
		goto out;
	b->integ_mapped = true;
	struct crypt_area c = { .disk = idev, .offset = 0, .sectors = a.sectors,
				.cipher = STORE_CIPHER, .key = key, .key_len = sizeof key };
	if ((r = crypt_open(&b->dm, SIO_DM_ICRYPT_NAME, &c, &dev, err, errlen)) != 0)
		goto out;
	b->icrypt_mapped = true;
	snprintf(b->icrypt_node, sizeof b->icrypt_node, "/dev/dm-%u", minor(dev));
	*node = b->icrypt_node;
	*at = 0;
out:
	explicit_bzero(hk, sizeof hk);
	explicit_bzero(jk, sizeof jk);
	explicit_bzero(key, sizeof key);
	if (r != 0)
		close_crypt_integrity(b);
	return r;
}

/* The block targets; an ext4 row's base is the ext4 row of its target's
 * base, which must have one. */
static const struct target targets[] = {
	{ "raw", -1, true, false, open_raw, NULL },
	{ "crypt", 0, true, false, open_crypt, close_crypt },
	{ "crypt-null", 0, false, false, open_crypt_null, close_crypt_null },
	{ "crypt-integrity", 1, false, true, open_crypt_integrity, close_crypt_integrity },
};
#define NTARGETS (sizeof targets / sizeof targets[0])

/* Rows: the block targets, then ext4 on each. */
static struct sio_row rows[2 * NTARGETS];

static int open_direct(const char *path, int flags, char *err, size_t errlen)
{
	int fd = open(path, flags | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errbuf_set(err, errlen, -errno, "open %s: %s", path, strerror(errno));
	return fd;
}

static int run_loops(struct bench *b, int fd, off_t at, struct sio_row *row, uint32_t rep,
		     char *err, size_t errlen)
{
	for (int l = 0; l < SIO_NLOOPS; l++) {
		int r = sio_loop(fd, at, &b->spec, (enum sio_loop)l, b->buf, &row->run[rep][l],
				 err, errlen);
		if (r != 0)
			return r;
	}
	row->nreps = rep + 1;
	return 0;
}

/* The block rows: every target open at once, repetitions interleaved. */
static int block_rows(struct bench *b, char *err, size_t errlen)
{
	int fds[NTARGETS];
	off_t at[NTARGETS];
	int r = 0;
	size_t n = 0;

	for (; n < NTARGETS && !targets[n].alone; n++) {
		const char *node;
		rows[n] = (struct sio_row){ .name = targets[n].name, .base = targets[n].base };
		if ((r = targets[n].open(b, &node, &at[n], err, errlen)) != 0)
			break;
		if ((fds[n] = open_direct(node, 0, err, errlen)) < 0) {
			r = fds[n];
			if (targets[n].close)
				targets[n].close(b);
			break;
		}
	}
	for (uint32_t rep = 0; r == 0 && rep < b->spec.reps; rep++)
		for (size_t i = 0; r == 0 && i < n; i++)
			r = run_loops(b, fds[i], at[i], &rows[i], rep, err, errlen);
	while (n-- > 0) {
		close(fds[n]);
		if (targets[n].close)
			targets[n].close(b);
	}
	/* the targets that run alone, each in turn */
	for (size_t t = 0; r == 0 && t < NTARGETS; t++) {
		const char *node;
		off_t off;
		int fd;
		if (!targets[t].alone)
			continue;
		rows[t] = (struct sio_row){ .name = targets[t].name, .base = targets[t].base };
		if ((r = targets[t].open(b, &node, &off, err, errlen)) != 0)
			break;
		if ((fd = open_direct(node, 0, err, errlen)) < 0)
			r = fd;
		for (uint32_t rep = 0; r == 0 && rep < b->spec.reps; rep++)
			r = run_loops(b, fd, off, &rows[t], rep, err, errlen);
		if (fd >= 0)
			close(fd);
		if (targets[t].close)
			targets[t].close(b);
	}
	return r;
}

/* mke2fs with the store's options (init/datastore.c), timed. */
static int mkfs(const char *node, uint64_t *ms, char *err, size_t errlen)
{
	char *const argv[] = {
		"mke2fs", "-t", "ext4", "-q", "-F", "-m", "0", "-L", "dshield-bench",
		"-O", "quota,project", "-E", "nodiscard,quotatype=prjquota", (char *)node, NULL,
	};
	uint64_t t0 = mono_ms();
	int st = e2fs_run(STORE_MKE2FS, argv, STORE_MKE2FS_TIMEOUT_MS, NULL, 0, err, errlen);
	*ms = mono_ms() - t0;
	if (st < 0)
		return st;
	if (st > 0)
		return errbuf_set(err, errlen, -EIO, "mke2fs %s exited with status %d", node, st);
	return 0;
}

/* One ext4 row: target t's node formatted and mounted as the store is
 * (nodev,nosuid,noexec, prjquota), the loops on one file, repetitions in
 * a row (the two file systems cannot be mounted at once on one disk).
 * The first repetition's sequential write allocates the file's blocks,
 * the later ones overwrite them. */
static int ext4_row(struct bench *b, size_t t, struct sio_row *row, char *err, size_t errlen)
{
	static char names[NTARGETS][32];
	const char *node;
	off_t at;
	uint64_t ms;
	int fd = -1, r;

	snprintf(names[t], sizeof names[t], "ext4-%s", targets[t].name);
	/* compared with the ext4 row of the base target, not a block row */
	*row = (struct sio_row){ .name = names[t],
				 .base = targets[t].base < 0 ? -1 : (int)NTARGETS + targets[t].base };
	/* ext4 formats the target's node from its first sector: on raw that
	 * is the whole disk, on crypt the data area (1 MiB less) */
	if ((r = targets[t].open(b, &node, &at, err, errlen)) != 0)
		return r;
	if ((r = mkfs(node, &ms, err, errlen)) != 0)
		goto out;
	dlog("storeio: mke2fs row=%s ms=%llu", names[t], (unsigned long long)ms);
	/* The store's mount options, and noinit_itable: otherwise the
	 * kernel zeroes the inode tables mke2fs left (lazy_itable_init) in
	 * the background while the loops run, through dm-crypt on one row
	 * and not on the other; that one-time cost belongs to the format
	 * (the store part), these rows are the steady state. */
	if (mount(node, SIO_MOUNT_DIR, "ext4", MS_NODEV | MS_NOSUID | MS_NOEXEC,
		  "errors=remount-ro,prjquota,noinit_itable") != 0) {
		r = errbuf_set(err, errlen, -errno, "mount %s: %s", node, strerror(errno));
		goto out;
	}
	if ((fd = open_direct(SIO_FILE, O_CREAT | O_EXCL, err, errlen)) < 0)
		r = fd;
	for (uint32_t rep = 0; r == 0 && rep < b->spec.reps; rep++)
		r = run_loops(b, fd, 0, row, rep, err, errlen);
	if (fd >= 0)
		close(fd);
	if (umount2(SIO_MOUNT_DIR, 0) != 0 && r == 0)
		r = errbuf_set(err, errlen, -errno, "umount: %s", strerror(errno));
out:
	if (targets[t].close)
		targets[t].close(b);
	return r;
}

static void print_rows(const struct bench *b, size_t from, size_t to)
{
	char line[SIO_LINE_MAX];

	for (size_t i = from; i < to; i++) {
		if (rows[i].name == NULL)
			continue;
		if (sio_row_line(line, sizeof line, &rows[i], &b->spec) > 0)
			dlog("%s", line);
		if (rows[i].base >= 0 && rows[i].nreps > 0 &&
		    sio_ratio_line(line, sizeof line, &rows[i], &rows[rows[i].base]) > 0)
			dlog("%s", line);
	}
}

static int find_disk(struct bench *b, char *err, size_t errlen)
{
	uint64_t t0 = mono_ms();
	int r;
	struct stat st;

	/* virtio_blk probes its disks as it loads; the wait covers a slow
	 * probe, not a missing disk */
	while ((r = layers_find_disk(LAYERS_SYS_BLOCK, SIO_DISK_SERIAL, &b->disk, err,
				     errlen)) == -ENOENT && mono_ms() - t0 < SIO_DISK_WAIT_MS) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (r != 0)
		return r;
	snprintf(b->raw_node, sizeof b->raw_node, "/dev/%s", b->disk.name);
	if (stat(b->raw_node, &st) != 0 || !S_ISBLK(st.st_mode) || st.st_rdev != b->disk.dev)
		return errbuf_set(err, errlen, -ENODEV, "%s is not the disk %s", b->raw_node,
				  SIO_DISK_SERIAL);
	/* the region on the data area, and ext4 room for a file of it */
	uint64_t need = ((uint64_t)STORE_DATA_OFFSET * STORE_SECTOR) + ((uint64_t)b->spec.mib << 21);
	if (b->disk.readonly || b->disk.bytes < need)
		return errbuf_set(err, errlen, -ENOSPC,
				  "disk %s: %llu bytes%s; needs %llu, writable", b->disk.name,
				  (unsigned long long)b->disk.bytes,
				  b->disk.readonly ? ", read-only" : "", (unsigned long long)need);
	return 0;
}

static struct manifest manifest;
static struct bench bench;
static char proc_crypto[65536];

/* Which code encrypts: under TCG the AES-NI driver runs on QEMU's
 * emulation of the instructions, which is what the crypt ratio then
 * measures. aes-xts-plain64 (STORE_CIPHER) is the kernel's xts(aes). */
static void log_cipher_driver(void)
{
	char drv[64];
	size_t len = 0;
	ssize_t k;
	int fd = open("/proc/crypto", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		dlog("storeio: /proc/crypto: %s", strerror(errno));
		return;
	}
	while (len < sizeof proc_crypto &&
	       (k = read(fd, proc_crypto + len, sizeof proc_crypto - len)) > 0)
		len += (size_t)k;
	close(fd);
	if (sio_crypto_driver(proc_crypto, len, "xts(aes)", drv, sizeof drv) > 0)
		dlog("storeio: cipher driver=%s", drv);
	else
		dlog("storeio: no xts(aes) in /proc/crypto");
}

static int run(struct bench *b, char *err, size_t errlen)
{
	char cmdline[4096];
	ssize_t n;
	int fd, r;

	if ((r = manifest_load(MANIFEST_PATH, &manifest)) != 0)
		return errbuf_set(err, errlen, r, "loading %s", MANIFEST_PATH);
	if ((r = modules_load(&manifest)) != 0)
		return errbuf_set(err, errlen, r, "loading kernel modules");
	sio_defaults(&b->spec);
	if ((fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC)) < 0)
		return errbuf_set(err, errlen, -errno, "/proc/cmdline: %s", strerror(errno));
	n = read(fd, cmdline, sizeof cmdline - 1);
	close(fd);
	if (n < 0)
		return errbuf_set(err, errlen, -EIO, "/proc/cmdline: read failed");
	if ((r = sio_parse_cmdline(cmdline, (size_t)n, &b->spec, err, errlen)) != 0)
		return r;
	if ((r = find_disk(b, err, errlen)) != 0)
		return r;
	if ((r = dm_open(&b->dm, NULL, err, errlen)) != 0)
		return r;
	if (mkdir(SIO_MOUNT_DIR, 0700) != 0 && errno != EEXIST)
		return errbuf_set(err, errlen, -errno, "mkdir %s: %s", SIO_MOUNT_DIR, strerror(errno));
	dlog("storeio: disk %s %llu bytes, %u MiB x %u reps, random %u ops or %u ms, seed %llu",
	     b->disk.name, (unsigned long long)b->disk.bytes, b->spec.mib, b->spec.reps,
	     b->spec.rand_ops, b->spec.rand_ms, (unsigned long long)b->spec.seed);
	if ((r = block_rows(b, err, errlen)) != 0)
		return r;
	log_cipher_driver();
	print_rows(b, 0, NTARGETS);
	for (size_t t = 0; t < NTARGETS; t++)
		if (targets[t].ext4 && (r = ext4_row(b, t, &rows[NTARGETS + t], err, errlen)) != 0)
			return r;
	print_rows(b, NTARGETS, 2 * NTARGETS);
	return 0;
}

int main(void)
{
	char err[ERRBUF_LEN] = "";

	boot_console();
	log_set_role("bench");
	fatal_set_pid1(true);
	if (getpid() != 1) {
		dlog("storeio: not PID 1; this program is the bench image's /init");
		return 1;
	}
	bench.dm.fd = -1;
	int r = boot_mount_all();
	if (r == 0)
		r = run(&bench, err, sizeof err);
	dm_close(&bench.dm);
	if (r != 0)
		dlog("storeio: error: %s (%s)", err[0] ? err : "see above", strerror(-r));
	else
		dlog("storeio: done");
	poweroff_now();
}
