/* init/role.c: see role.h. */
#include "init/role.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

int role_enter(const struct role_spec *r)
{
	log_set_role(r->name);
	/* Started by init, whose pipe tags our lines (init/rolelog.h); run
	 * by hand, the lines say who we are themselves. */
	log_set_plain(getenv("DSHIELD_LOG_PLAIN") != NULL);
	int e = seccomp_enter_role(r->seccomp, *r->nseccomp);
	if (e < 0) {
		dlog("cannot install the seccomp filter: %s", strerror(-e));
		return 1;
	}
	return r->main();
}
