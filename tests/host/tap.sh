# tests/host/tap.sh: TAP helpers for shell tests (git's test suite style).
_tap_n=0 _tap_fail=0
ok()   { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
nok()  { _tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1)); echo "not ok $_tap_n - $*"; }
diag() { echo "# $*"; }
bail() { echo "Bail out! $*"; exit 1; }
# check NAME CMD...: one test, CMD's status; returns it too, so that
# `check "setup: ..." cmd || bail "..."` stops a test whose setup failed.
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; return 1; fi; }
# check_todo WHY NAME CMD...: a check of a known bug (TAP "# TODO"): its
# result is printed, and a failure does not fail the file until it is fixed.
check_todo() {
  local why=$1 name=$2; shift 2; _tap_n=$((_tap_n + 1))
  if "$@"; then echo "ok $_tap_n - $name # TODO $why"; else echo "not ok $_tap_n - $name # TODO $why"; fi
}
# expect_match "name" HAYSTACK REGEX
expect_match() {
  if printf '%s' "$2" | grep -Eq -- "$3"; then ok "$1"
  else nok "$1"; diag "wanted /$3/ in:"; printf '%s\n' "$2" | head -n 20 | sed 's/^/#   /'; fi
}
done_testing() { echo "1..$_tap_n"; [ "$_tap_fail" -eq 0 ]; }
# A typo or a missing tool must fail the file, not shrink the test count.
command_not_found_handle() { echo "Bail out! command not found: $1"; return 127; }
