/* init/datastore.c: see datastore.h and docs/STORE.md. */
#include "init/datastore.h"
#include "fs/crypt.h"
#include "fs/dm.h"
#include "fs/integrity.h"
#include "init/e2fs.h"
#include "init/layers.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/random.h"

#include <bearssl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* --- the key provider ---------------------------------------------------------------- */

int datastore_key_get(const struct policy_store *ps, const uint8_t instance[STORE_INSTANCE_LEN],
		  uint8_t key[STORE_KEY_LEN], char *err, size_t errlen)
{
	(void)instance;	/* the dev key is one for every instance */
	_Static_assert(sizeof ps->dev_key == STORE_KEY_LEN, "the dev key is the disk key");
	switch (ps->provider) {
	case POLICY_KP_DEV:
		memcpy(key, ps->dev_key, STORE_KEY_LEN);
		return 0;
	case POLICY_KP_KMS:
		/* not a key init has at hand: datastore_open stops before it */
		return errbuf_set(err, errlen, -EINPROGRESS,
				  "key provider kms (%s): the key comes from the KMS once keyd and "
				  "netd run", ps->kms_host);
	default:
		return errbuf_set(err, errlen, -EINVAL, "no key provider");
	}
}

void datastore_secrets_key(const uint8_t seal[32], uint8_t out[32])
{
	br_hkdf_context h;

	br_hkdf_init(&h, &br_sha256_vtable, BR_HKDF_NO_SALT, 0);
	br_hkdf_inject(&h, seal, 32);
	br_hkdf_flip(&h);
	br_hkdf_produce(&h, STORE_SECRETS_INFO, sizeof STORE_SECRETS_INFO - 1, out, 32);
	explicit_bzero(&h, sizeof h);
}

/* --- facts ------------------------------------------------------------------------------ */

int datastore_parse_instance(const char *buf, size_t len, uint8_t out[STORE_INSTANCE_LEN])
{
	if (len == 2 * STORE_INSTANCE_LEN + 1 && buf[len - 1] == '\n')
		len--;
	if (len != 2 * STORE_INSTANCE_LEN ||
	    hex_decode(out, STORE_INSTANCE_LEN, buf, len) != STORE_INSTANCE_LEN)
		return -EINVAL;
	return 0;
}

/* 1: the host named the instance, 0: it did not, <0: it named it badly. */
static int expected_instance(uint8_t out[STORE_INSTANCE_LEN], char *err, size_t errlen)
{
	char buf[2 * STORE_INSTANCE_LEN + 2];
	long n = file_read(STORE_INSTANCE_FWCFG, buf, sizeof buf);
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return errbuf_set(err, errlen, (int)n, "fw_cfg opt/dshield/instance: %s",
				  strerror((int)-n));
	if (datastore_parse_instance(buf, (size_t)n, out) != 0)
		return errbuf_set(err, errlen, -EINVAL,
				  "fw_cfg opt/dshield/instance: not 64 hex digits");
	return 1;
}

/* --- mke2fs ---------------------------------------------------------------------------- */

/* Runs mke2fs on node; its output on the console. */
static int run_mke2fs(const char *node, char *err, size_t errlen)
{
	char *const argv[] = {
		/* quota,project: the functions' data directories get ext4
		 * project quotas (docs/STORE.md, "Function data") */
		"mke2fs", "-t", "ext4", "-q", "-F", "-m", "0", "-L", "dshield-store",
		"-O", "quota,project", "-E", "nodiscard,quotatype=prjquota", (char *)node, NULL,
	};
	int st = e2fs_run(STORE_MKE2FS, argv, STORE_MKE2FS_TIMEOUT_MS, NULL, 0, err, errlen);

	if (st <= 0)
		return st;
	return errbuf_set(err, errlen, -EIO, "mke2fs exited with status %d", st);
}

/* --- opening -------------------------------------------------------------------------------- */

struct opening {
	struct dm_ctl dm;
	struct layers_disk disk;
	struct store_hdr hdr;
	struct store_keys keys;
	uint8_t key[STORE_KEY_LEN];
	uint8_t raw[STORE_HDR_SIZE];
	char node[64];
	int fd;
	bool mapped, mounted, prjquota;
	bool imapped;			/* the dm-integrity device under dm-crypt */
	dev_t idev;
};

static void undo(struct opening *o)
{
	char err[ERRBUF_LEN];
	if (o->mounted && umount2(STORE_MOUNT_DIR, 0) != 0)
		dlog("store: umount %s: %s", STORE_MOUNT_DIR, strerror(errno));
	o->mounted = false;
	if (o->mapped && dm_remove(&o->dm, STORE_DM_NAME, err, sizeof err) != 0)
		dlog("store: %s", err);
	o->mapped = false;
	if (o->imapped && dm_remove(&o->dm, STORE_DM_INTEGRITY_NAME, err, sizeof err) != 0)
		dlog("store: %s", err);
	o->imapped = false;
}

/* --- dm-integrity ---------------------------------------------------------------------------- */

/* dm-integrity over the data area with `sectors` of it provided, in mode
 * J (journaled) or D (direct: the wipe). */
static int map_integrity(struct opening *o, uint64_t sectors, char mode, char *err,
			 size_t errlen)
{
	struct integrity_area a = {
		.disk = o->disk.dev, .offset = o->hdr.data_offset, .sectors = sectors,
		.hash_key = o->keys.integ, .journal_key = o->keys.jmac, .mode = mode,
	};
	int r = integrity_open(&o->dm, STORE_DM_INTEGRITY_NAME, &a, &o->idev, err, errlen);
	if (r == 0)
		o->imapped = true;
	return r;
}

/* The data area's dm-integrity, as integrity_format and
 * integrity_sb_read want it (its size and mode are set by the caller). */
static struct integrity_area integrity_of(const struct opening *o, char node[48])
{
	snprintf(node, 48, "/dev/%s", o->disk.name);
	return (struct integrity_area){ .disk = o->disk.dev, .offset = o->hdr.data_offset,
					.hash_key = o->keys.integ, .journal_key = o->keys.jmac };
}

/* A first boot with integrity: dm-integrity formats the area (its
 * superblock zeroed first: a format cut short before the header was
 * written leaves one under keys no longer anyone's), says what it
 * provides, and every sector of that is written once. Sets the header's
 * integrity fields; map() then loads it journaled under dm-crypt. */
static int integrity_format_area(struct opening *o, char *err, size_t errlen)
{
	char ignored[ERRBUF_LEN], disk[48], node[32];
	struct integrity_area a = integrity_of(o, disk);
	struct integrity_sb sb;
	int r;

	if ((r = integrity_format(&o->dm, STORE_DM_INTEGRITY_NAME, &a, disk, &sb, err, errlen)) != 0)
		return r;
	o->hdr.integrity = STORE_INTEGRITY_HMAC_SHA256;
	/* whole 4 KiB blocks, as the area without integrity */
	o->hdr.integ_sectors = sb.provided_sectors & ~(uint64_t)7;
	if (o->hdr.integ_sectors < 8 || o->hdr.integ_sectors > o->hdr.data_sectors)
		return errbuf_set(err, errlen, -ERANGE,
				  "dm-integrity provides %llu sectors of a %llu-sector area",
				  (unsigned long long)sb.provided_sectors,
				  (unsigned long long)o->hdr.data_sectors);
	if ((r = integrity_sb_check(&sb, o->hdr.integ_sectors, err, errlen)) != 0 ||
	    (r = map_integrity(o, o->hdr.integ_sectors, 'D', err, errlen)) != 0)
		return r;
	/* direct writes for the wipe: half the I/O of the journal, and a
	 * power cut in it leaves a blank header (a new format) anyway */
	uint64_t t0 = mono_ms();
	snprintf(node, sizeof node, "/dev/dm-%u", minor(o->idev));
	r = integrity_wipe(node, o->idev, o->hdr.integ_sectors * STORE_SECTOR, err, errlen);
	o->imapped = false;
	if (r != 0) {
		dm_remove(&o->dm, STORE_DM_INTEGRITY_NAME, ignored, sizeof ignored);
		return r;
	}
	/* journaled from here on: map() loads it again in mode J */
	if ((r = dm_remove(&o->dm, STORE_DM_INTEGRITY_NAME, err, errlen)) != 0)
		return r;
	dlog("store: dm-integrity hmac-sha256: %llu of %llu MiB provided (tags and journal: "
	     "%llu KiB), every sector written once, direct (%llu ms)",
	     (unsigned long long)(o->hdr.integ_sectors / 2048),
	     (unsigned long long)(o->hdr.data_sectors / 2048),
	     (unsigned long long)((o->hdr.data_sectors - o->hdr.integ_sectors) / 2),
	     (unsigned long long)(mono_ms() - t0));
	return 0;
}

/* dm-crypt with the derived key over the header's data area, or over the
 * dm-integrity device when the header says so (mapped here unless a
 * format already did). */
static int map(struct opening *o, char *err, size_t errlen)
{
	struct crypt_area a = {
		.disk = o->disk.dev, .offset = o->hdr.data_offset, .sectors = o->hdr.data_sectors,
		.cipher = o->hdr.cipher, .key = o->keys.crypt, .key_len = o->hdr.key_bits / 8,
	};
	dev_t dev;
	int r;

	if (o->hdr.integrity == STORE_INTEGRITY_HMAC_SHA256) {
		if (!o->imapped &&
		    (r = map_integrity(o, o->hdr.integ_sectors, 'J', err, errlen)) != 0)
			return r;
		a.disk = o->idev;
		a.offset = 0;
		a.sectors = o->hdr.integ_sectors;
	}
	r = crypt_open(&o->dm, STORE_DM_NAME, &a, &dev, err, errlen);
	if (r != 0)
		return r;
	o->mapped = true;
	snprintf(o->node, sizeof o->node, "/dev/dm-%u", minor(dev));
	int fd = dm_open_node(o->node, dev, O_RDONLY, err, errlen);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int datastore_ext4_prjquota(const uint8_t sb[STORE_EXT4_SB_LEN])
{
	uint32_t ro_compat = (uint32_t)sb[0x64] | (uint32_t)sb[0x65] << 8 |
			     (uint32_t)sb[0x66] << 16 | (uint32_t)sb[0x67] << 24;
	uint32_t prj_inum = (uint32_t)sb[0x26c] | (uint32_t)sb[0x26d] << 8 |
			    (uint32_t)sb[0x26e] << 16 | (uint32_t)sb[0x26f] << 24;

	if (sb[0x38] != 0x53 || sb[0x39] != 0xef)
		return -EINVAL;
	return (ro_compat & 0x0100) != 0 && (ro_compat & 0x2000) != 0 && prj_inum != 0;
}

/* Mounts with prjquota when the file system has project quotas: a store
 * formatted before they were added has none, ext4 refuses prjquota on it,
 * and it has no tune2fs here to add them; it opens without, and says so.
 * sb: the superblock as read, for a repair. 0 or -errno from mount(2). */
static int mount_ext4(struct opening *o, uint8_t sb[STORE_EXT4_SB_LEN], int *quota)
{
	int fd = open(o->node, O_RDONLY | O_CLOEXEC);

	memset(sb, 0, STORE_EXT4_SB_LEN);
	*quota = fd >= 0 && pread(fd, sb, STORE_EXT4_SB_LEN, STORE_EXT4_SB_OFF) ==
			    (ssize_t)STORE_EXT4_SB_LEN ? datastore_ext4_prjquota(sb) : -EIO;
	if (fd >= 0)
		close(fd);
	/* not ext4 (*quota < 0): the mount below fails and says so */
	o->prjquota = *quota == 1;
	if (mount(o->node, STORE_MOUNT_DIR, "ext4", MS_NODEV | MS_NOSUID | MS_NOEXEC,
		  o->prjquota ? "errors=remount-ro,prjquota" : "errors=remount-ro") != 0)
		return -errno;
	o->mounted = true;
	return 0;
}

/* The header's MAC verified, so the key is right: a mount that fails on a
 * checksum or a corruption (EBADMSG, EUCLEAN: e.g. a superblock torn by a
 * power cut, "Power cuts") is damage e2fsck may repair, then one retry. */
static int mount_store(struct opening *o, char *err, size_t errlen)
{
	uint8_t sb[STORE_EXT4_SB_LEN];
	int r, q;

	if (mkdir(STORE_MOUNT_DIR, 0755) != 0 && errno != EEXIST)
		return errbuf_set(err, errlen, -errno, "mkdir %s: %s", STORE_MOUNT_DIR,
				  strerror(errno));
	r = mount_ext4(o, sb, &q);
	if (r == -EBADMSG || r == -EUCLEAN) {
		dlog("store: ext4 on %s does not mount (%s): the file system is damaged", o->node,
		     strerror(-r));
		if ((r = e2fs_repair(o->node, sb, err, errlen)) != 0)
			return r;
		if ((r = mount_ext4(o, sb, &q)) != 0)
			return errbuf_set(err, errlen, r, "ext4 on %s does not mount after e2fsck "
					  "(%s): the file system is damaged", o->node, strerror(-r));
	} else if (r != 0) {
		/* under dm-integrity an I/O error is what a sector whose HMAC
		 * does not verify gives (EILSEQ inside, EIO up here) */
		return errbuf_set(err, errlen, r, "ext4 on %s does not mount (%s)%s", o->node,
				  strerror(-r), r == -EIO && o->hdr.integrity != STORE_INTEGRITY_NONE ?
				  ": dm-integrity: sectors fail their HMAC (changed outside this VM)" :
				  "");
	}
	if (o->prjquota)
		dlog("store: project quotas on (functions' data directories)");
	else if (q == 0)
		dlog("store: formatted without project quotas: functions' data directories have "
		     "NO quota");
	return 0;
}

/* First boot of this instance: a fresh salt, mke2fs through dm-crypt,
 * then the header. */
static int format(struct opening *o, const struct policy_store *ps,
		  const uint8_t inst[STORE_INSTANCE_LEN], char *err, size_t errlen)
{
	uint8_t salt[32];
	int r;

	if ((r = random_fill(salt, sizeof salt)) != 0)
		return errbuf_set(err, errlen, r, "getrandom for the KDF salt: %s", strerror(-r));
	if ((r = store_hdr_init(&o->hdr, o->disk.bytes / STORE_SECTOR, inst, salt,
				policy_key_provider_name(ps->provider))) != 0)
		return errbuf_set(err, errlen, r, "a disk of %llu bytes is too small for the store",
				  (unsigned long long)o->disk.bytes);
	store_derive(o->key, &o->hdr, &o->keys);
	dlog("store: %s: blank header: first boot of this instance, formatting %llu MiB%s",
	     o->disk.name, (unsigned long long)(o->hdr.data_sectors / 2048),
	     ps->integrity == POLICY_INTEGRITY_HMAC_SHA256 ? " with dm-integrity hmac-sha256" : "");
	if (ps->integrity == POLICY_INTEGRITY_HMAC_SHA256 &&
	    (r = integrity_format_area(o, err, errlen)) != 0)
		return r;
	if ((r = store_hdr_encode(&o->hdr, o->keys.mac, o->raw)) != 0)
		return errbuf_set(err, errlen, r, "cannot encode the header");
	if ((r = map(o, err, errlen)) != 0)
		return r;
	uint64_t t0 = mono_ms();
	if ((r = run_mke2fs(o->node, err, errlen)) != 0)
		return r;
	dlog("store: mke2fs done (%llu ms)", (unsigned long long)(mono_ms() - t0));
	if (pwrite(o->fd, o->raw, sizeof o->raw, 0) != (ssize_t)sizeof o->raw || fdatasync(o->fd) != 0)
		return errbuf_set(err, errlen, -EIO, "writing the header: %s", strerror(errno));
	return 0;
}

static int open_existing(struct opening *o, const uint8_t *want_inst,
			 const struct policy_store *ps, char *err, size_t errlen)
{
	struct store_expect e = {
		.cipher = POLICY_STORE_CIPHER, .key_bits = STORE_KEY_BITS, .instance = want_inst,
		.disk_sectors = o->disk.bytes / STORE_SECTOR, .integrity = (uint32_t)ps->integrity,
	};
	struct integrity_sb sb;
	char disk[48];
	int r = store_hdr_open(o->raw, o->key, &e, &o->hdr, &o->keys, err, errlen);
	if (r != 0)
		return r;
	struct integrity_area ia = integrity_of(o, disk);
	if (o->hdr.integrity == STORE_INTEGRITY_HMAC_SHA256 &&
	    ((r = integrity_sb_read(disk, &ia, &sb, err, errlen)) != 0 ||
	     (r = integrity_sb_check(&sb, o->hdr.integ_sectors, err, errlen)) != 0))
		return r;
	return map(o, err, errlen);
}

/* Opens the disk's node and reads sector 0 into o->raw. */
static int read_header(struct opening *o, char *err, size_t errlen)
{
	char node[48];
	snprintf(node, sizeof node, "/dev/%s", o->disk.name);
	if ((o->fd = dm_open_node(node, o->disk.dev, O_RDWR, err, errlen)) < 0)
		return o->fd;
	ssize_t n = pread(o->fd, o->raw, sizeof o->raw, 0);
	if (n != (ssize_t)sizeof o->raw)
		return errbuf_set(err, errlen, -EIO, "reading the header: %s",
				  n < 0 ? strerror(errno) : "short read");
	return 0;
}

/* The instance the key is asked for: the host's; else the header's (a
 * claim its MAC then checks); else, on a blank disk, a new one. *blank
 * says which; a non-blank header that does not parse is refused here. */
static int choose_instance(const struct opening *o, const uint8_t *named,
			   uint8_t inst[STORE_INSTANCE_LEN], bool *blank, char *err, size_t errlen)
{
	struct store_hdr probe;
	int r = store_hdr_parse(o->raw, &probe, err, errlen);

	if (r != 0 && r != -ENODATA)
		return r;
	*blank = r == -ENODATA;
	if (named)
		memcpy(inst, named, STORE_INSTANCE_LEN);
	else if (!*blank)
		memcpy(inst, probe.instance, STORE_INSTANCE_LEN);
	else if ((r = random_fill(inst, STORE_INSTANCE_LEN)) != 0)
		return errbuf_set(err, errlen, r, "getrandom for the instance id: %s", strerror(-r));
	return 0;
}

static void refuse(struct datastore_status *st, const char *why)
{
	st->state = STORE_INFO_REFUSED;
	snprintf(st->reason, sizeof st->reason, "%s", why);
}

/* The disk between datastore_open and datastore_finish (kms: the key
 * comes later); init is one process, and the 16 KiB ioctl buffer is not
 * for the stack. */
static struct opening o;
static bool o_blank, o_named;
static uint8_t o_want[STORE_INSTANCE_LEN], o_inst[STORE_INSTANCE_LEN];

/* Releases what the opening holds (never what it mounted or mapped:
 * undo() is for a refusal). */
static void release(void)
{
	store_keys_wipe(&o.keys);
	explicit_bzero(o.key, sizeof o.key);
	if (o.fd >= 0)
		close(o.fd);
	o.fd = -1;
	dm_close(&o.dm);
}

static void report(const struct datastore_status *st, uint64_t t0)
{
	char line[STORE_INFO_TEXT];

	datastore_summary(st, line, sizeof line);
	if (st->state == STORE_INFO_NONE)
		dlog("%s", line);
	else
		dlog("%s (%llu ms)", line, (unsigned long long)(mono_ms() - t0));
}

/* With o's key in hand: dm-crypt (format or open), mount, st filled. */
static int with_key(struct datastore_status *st, const struct policy_store *ps, char *err,
		    size_t errlen)
{
	int r;

	if ((r = dm_open(&o.dm, NULL, err, errlen)) != 0 ||
	    (r = o_blank ? format(&o, ps, o_inst, err, errlen) :
			   open_existing(&o, o_named ? o_want : NULL, ps, err, errlen)) != 0 ||
	    (r = mount_store(&o, err, errlen)) != 0)
		return r;
	st->state = o_blank ? STORE_INFO_FORMATTED : STORE_INFO_OPEN;
	st->has_instance = true;
	memcpy(st->instance, o.hdr.instance, sizeof st->instance);
	st->integrity = o.hdr.integrity;
	st->data_bytes = (o.hdr.integrity != STORE_INTEGRITY_NONE ? o.hdr.integ_sectors :
			  o.hdr.data_sectors) * STORE_SECTOR;
	st->prjquota = o.prjquota;
	datastore_secrets_key(o.keys.seal, st->seal_key);
	st->has_seal_key = true;
	return 0;
}

void datastore_open(const struct policy *p, struct datastore_status *st)
{
	const struct policy_store *ps = &p->store;
	char err[ERRBUF_LEN] = "";
	uint64_t t0 = mono_ms();
	int r, named;

	memset(st, 0, sizeof *st);
	memset(&o, 0, sizeof o);
	o.fd = -1;
	o.dm.fd = -1;
	o_blank = o_named = false;
	st->state = STORE_INFO_NONE;
	st->provider = ps->provider;
	st->integrity = (uint32_t)ps->integrity;	/* the header's once open: the same */
	r = layers_find_disk(LAYERS_SYS_BLOCK, STORE_DISK_SERIAL, &o.disk, err, sizeof err);
	if (r == -ENOENT)
		goto out;	/* no data disk: tmpfs */
	if (ps->provider == POLICY_KP_NONE) {
		if (r == 0)
			dlog("store: the policy has no store section: data disk %s left untouched",
			     o.disk.name);
		goto out;
	}
	if (r != 0)
		goto refused;
	snprintf(st->disk, sizeof st->disk, "%s", o.disk.name);
	dlog("store: data disk %s (%u:%u, %llu bytes), key provider %s%s", o.disk.name,
	     major(o.disk.dev), minor(o.disk.dev), (unsigned long long)o.disk.bytes,
	     policy_key_provider_name(ps->provider),
	     ps->provider == POLICY_KP_DEV ? " (insecure dev key)" : "");
	if (o.disk.readonly) {
		r = errbuf_set(err, sizeof err, -EROFS, "data disk %s is read-only", o.disk.name);
		goto refused;
	}
	if ((named = expected_instance(o_want, err, sizeof err)) < 0) {
		r = named;
		goto refused;
	}
	o_named = named == 1;
	if ((r = read_header(&o, err, sizeof err)) != 0 ||
	    (r = choose_instance(&o, o_named ? o_want : NULL, o_inst, &o_blank, err,
				 sizeof err)) != 0)
		goto refused;
	if (ps->provider == POLICY_KP_KMS) {
		/* the rest once the KMS answered: datastore_finish */
		struct store_hdr probe;
		st->state = STORE_INFO_PENDING;
		st->generation = !o_blank && store_hdr_parse(o.raw, &probe, err, sizeof err) == 0 ?
				 probe.generation : 0;
		st->has_instance = true;
		memcpy(st->instance, o_inst, sizeof st->instance);
		report(st, t0);
		return;
	}
	if ((r = datastore_key_get(ps, o_inst, o.key, err, sizeof err)) != 0 ||
	    (r = with_key(st, ps, err, sizeof err)) != 0)
		goto refused;
	goto out;
refused:
	refuse(st, err[0] ? err : strerror(-r));
	undo(&o);
out:
	release();
	report(st, t0);
}

int datastore_finish(const struct policy *p, const uint8_t key[STORE_KEY_LEN],
		     struct datastore_status *st)
{
	char err[ERRBUF_LEN] = "";
	uint64_t t0 = mono_ms();
	int r;

	if (st->state != STORE_INFO_PENDING || o.fd < 0) {
		refuse(st, "the store is not waiting for a key");
		return -EINVAL;
	}
	memcpy(o.key, key, sizeof o.key);
	r = with_key(st, &p->store, err, sizeof err);
	if (r != 0) {
		refuse(st, err[0] ? err : strerror(-r));
		undo(&o);
	}
	release();
	report(st, t0);
	return r;
}

void datastore_refuse(struct datastore_status *st, const char *why)
{
	release();
	refuse(st, why);
	report(st, mono_ms());
}

void datastore_forget(void)
{
	release();
}

/* --- reports ----------------------------------------------------------------------------- */

void datastore_summary(const struct datastore_status *st, char *out, size_t cap)
{
	const char *insecure = st->provider == POLICY_KP_DEV ? " (insecure dev key)" : "";
	char inst[2 * STORE_INSTANCE_LEN + 1];

	switch (st->state) {
	case STORE_INFO_OPEN:
	case STORE_INFO_FORMATTED:
		hex_encode(inst, st->instance, 8);
		snprintf(out, cap, "store: %s%s, %llu MiB %s%s, key provider %s%s, instance %s, "
			 "ext4 on %s (nodev,nosuid,noexec)",
			 st->state == STORE_INFO_FORMATTED ? "formatted " : "", st->disk,
			 (unsigned long long)(st->data_bytes >> 20), STORE_CIPHER,
			 st->integrity == STORE_INTEGRITY_HMAC_SHA256 ?
			 " + dm-integrity hmac-sha256" : "",
			 policy_key_provider_name(st->provider), insecure, inst, STORE_MOUNT_DIR);
		if (st->rollback) {
			size_t n = strnlen(out, cap);
			snprintf(out + n, cap - n, "; ROLLBACK DETECTED");
		}
		break;
	case STORE_INFO_REFUSED:
		snprintf(out, cap, "store: REFUSED%s: %s", insecure, st->reason);
		break;
	case STORE_INFO_PENDING:
		hex_encode(inst, st->instance, 8);
		snprintf(out, cap, "store: %s, key provider kms, instance %s: waiting for the KMS's key",
			 st->disk, inst);
		break;
	default:
		snprintf(out, cap, "store: none (tmpfs, lost at poweroff)");
		break;
	}
}

void datastore_info(const struct datastore_status *st, struct store_info_msg *out)
{
	memset(out, 0, sizeof *out);
	out->state = (uint8_t)st->state;
	out->provider = (uint8_t)st->provider;
	out->insecure = st->provider == POLICY_KP_DEV;
	out->has_instance = st->has_instance;
	memcpy(out->instance, st->instance, sizeof out->instance);
	out->data_bytes = st->data_bytes;
	out->data_quota = st->prjquota;
	out->rollback = st->rollback;
	out->integrity = (uint8_t)st->integrity;
	snprintf(out->rollback_why, sizeof out->rollback_why, "%s", st->rollback ? st->rollback_why : "");
	datastore_summary(st, out->summary, sizeof out->summary);
}
