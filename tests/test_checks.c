/* tests/test_checks.c: the verdict of a check list. A failure or a skip
 * fails it; a skip passes only when its caveat was accepted, and then the
 * caveat is reported. */
#include "crypto/checks.h"
#include "tests/tap.h"

static struct check_list l;

int main(void)
{
	checks_init(&l);
	ok(checks_ok(&l) && checks_caveats(&l) == 0, "an empty list is OK with no caveat");
	checks_add(&l, "a", CHECK_PASS, "fine");
	ok(checks_ok(&l), "a pass is OK");

	checks_add(&l, "b", CHECK_SKIPPED, "not evaluated, no caveat");
	ok(!checks_ok(&l) && checks_unaccepted(&l) == 1 && checks_failed(&l) == 0,
	   "a skip without a caveat fails the verdict");
	checks_accept(&l, CHECK_CAVEATS_ALL);
	ok(!checks_ok(&l) && !check_accepted(&l, checks_find(&l, "b")),
	   "and no acceptance covers it");

	checks_init(&l);
	checks_skip(&l, "collateral", CHECK_CAVEAT_NO_COLLATERAL, "no collateral");
	ok(!checks_ok(&l) && checks_caveats(&l) == 0, "a skip with a caveat nobody accepted fails");
	checks_accept(&l, CHECK_CAVEAT_SIM);
	ok(!checks_ok(&l), "accepting another caveat does not cover it");
	checks_accept(&l, CHECK_CAVEAT_NO_COLLATERAL);
	ok(checks_ok(&l) && check_accepted(&l, checks_find(&l, "collateral")),
	   "accepting its caveat covers it");
	is_int(checks_caveats(&l), CHECK_CAVEAT_NO_COLLATERAL,
	       "and the verdict reports the caveat it relies on (not the unused one)");
	is_str(check_caveat_text(CHECK_CAVEAT_NO_COLLATERAL),
	       "no collateral: TCB status and revocation not evaluated", "caveat text");

	checks_add(&l, "c", CHECK_FAIL, "broken");
	ok(!checks_ok(&l) && checks_failed(&l) == 1, "an accepted caveat does not excuse a failure");

	checks_init(&l);
	checks_rely(&l, CHECK_CAVEAT_SIM);
	ok(checks_ok(&l) && checks_caveats(&l) == CHECK_CAVEAT_SIM, "a noted caveat is reported");
	checks_init(&l);
	ok(l.accepted == 0 && checks_caveats(&l) == 0, "checks_init forgets acceptances and caveats");

	for (int i = 0; i < CHECKS_MAX + 1; i++)
		checks_add(&l, "x", CHECK_PASS, "%d", i);
	ok(!checks_ok(&l) && checks_failed(&l) == 1, "a check that did not fit counts as failed");
	return tap_done();
}
