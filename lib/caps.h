/* lib/caps.h: dropping every capability for good, and checking it.
 *
 * For a process that will exec untrusted code under an unprivileged uid
 * (sandboxd's function workers): the securebits are set and locked first
 * (root gets no capability at exec, none may be kept or raised ambient),
 * then the bounding and ambient sets are emptied, then the ids change and
 * the permitted, effective and inheritable sets are cleared explicitly.
 * init/privdrop.c does the same steps for the roles with its own copy;
 * this is the one a new caller uses (see docs/SANDBOX.md).
 *
 * Error convention: 0, or negative errno with the failed step in err.
 */
#ifndef DSHIELD_LIB_CAPS_H
#define DSHIELD_LIB_CAPS_H

#include <stddef.h>
#include <sys/types.h>

/* Needs CAP_SETPCAP, CAP_SETUID and CAP_SETGID (root) on entry. */
int caps_drop_to(uid_t uid, gid_t gid, char *err, size_t cap);

/* Checks the calling process: every uid and gid as given, no
 * supplementary group, no capability in any set (bounding and ambient
 * included), the securebits of caps_drop_to set and locked. */
int caps_verify_dropped(uid_t uid, gid_t gid, char *err, size_t cap);

#endif
