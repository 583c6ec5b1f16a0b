/* lib/caps.c: see caps.h. */
#include "lib/caps.h"
#include "lib/errbuf.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Capabilities are numbered below 64 in every kernel we can meet; the
 * kernel answers EINVAL for a number it does not have, so a kernel newer
 * than our headers is covered. */
#define CAPS_NUM_MAX 64

/* Root gets no capabilities at exec (NOROOT), none may be raised ambient,
 * and KEEP_CAPS and NO_SETUID_FIXUP stay off (a uid change clears the
 * capability sets); all of it locked. */
#define CAPS_SECUREBITS (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | \
			 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | \
			 SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

#define FAIL(step) errbuf_set(err, cap, -errno, "caps: %s: %s", (step), strerror(errno))

int caps_drop_to(uid_t uid, gid_t gid, char *err, size_t cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (prctl(PR_SET_SECUREBITS, CAPS_SECUREBITS, 0, 0, 0) != 0)
		return FAIL("PR_SET_SECUREBITS");
	for (int c = 0; c < CAPS_NUM_MAX; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
			return FAIL("PR_CAPBSET_DROP");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		return FAIL("PR_CAP_AMBIENT_CLEAR_ALL");
	if (setgroups(0, NULL) != 0)
		return FAIL("setgroups");
	if (setresgid(gid, gid, gid) != 0)
		return FAIL("setresgid");
	if (setresuid(uid, uid, uid) != 0)
		return FAIL("setresuid");
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &hdr, data) != 0)
		return FAIL("capset");
	return 0;
}

int caps_verify_dropped(uid_t uid, gid_t gid, char *err, size_t cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int bits;

	if (getresuid(&ru, &eu, &su) != 0 || ru != uid || eu != uid || su != uid)
		return errbuf_set(err, cap, -EPERM, "caps: uids are not all %u", (unsigned)uid);
	if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid)
		return errbuf_set(err, cap, -EPERM, "caps: gids are not all %u", (unsigned)gid);
	if (getgroups(0, NULL) != 0)
		return errbuf_set(err, cap, -EPERM, "caps: supplementary groups remain");
	memset(data, 0xff, sizeof data);
	if (syscall(SYS_capget, &hdr, data) != 0)
		return FAIL("capget");
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return errbuf_set(err, cap, -EPERM, "caps: capabilities remain (word %d)", i);
	for (int c = 0; c < CAPS_NUM_MAX; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			return errbuf_set(err, cap, -EPERM, "caps: %d in the bounding set", c);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			return errbuf_set(err, cap, -EPERM, "caps: %d ambient", c);
	}
	bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	if (bits < 0 || ((unsigned)bits & CAPS_SECUREBITS) != CAPS_SECUREBITS)
		return errbuf_set(err, cap, -EPERM, "caps: securebits %#x not locked", bits);
	return 0;
}
