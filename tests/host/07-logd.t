#!/usr/bin/env bash
# Host mode, logd: it runs confined as its row of the role table says
# (uid 101, no capabilities, seccomp, its own network and mount
# namespaces, a root holding only its state directory), appends the boot
# entry once, has keyd sign a checkpoint that quotes then vouch for, and
# killed it is restarted by init without losing what was committed (the
# store survives in the state directory) and without a second boot entry.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
command -v jq >/dev/null || bail "jq is needed"
[ ! -e /dev/tdx_guest ] || { echo "1..0 # skip this host has /dev/tdx_guest (the sim is never used there)"; exit 0; }
DSHIELD=${DSHIELD:-$TOP/build/dshield}

status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# wait_log REGEX: up to 5 s for a line of init's log.
wait_log() {
  for _ in $(seq 50); do grep -Eq -- "$1" "$LOG" && return 0; sleep 0.1; done
  return 1
}

host_start static --allow-sim
logd=$(role_pid logd)
check "logd runs" [ -n "$logd" ]

# --- confinement, as the role table says ---------------------------------------
check "logd: uid 101" [ "$(status_field "$logd" Uid)" = "101 101 101 101" ]
check "logd: gid 101" [ "$(status_field "$logd" Gid)" = "101 101 101 101" ]
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
  check "logd: $f is empty" [ "$(status_field "$logd" $f)" = 0000000000000000 ]
done
check "logd: no_new_privs" [ "$(status_field "$logd" NoNewPrivs)" = 1 ]
check "logd: seccomp filter" [ "$(status_field "$logd" Seccomp)" = 2 ]
check "logd: its own network namespace" [ "$(readlink /proc/$logd/ns/net)" != "$(readlink /proc/$INIT_PID/ns/net)" ]
check "logd: its own mount namespace" [ "$(readlink /proc/$logd/ns/mnt)" != "$(readlink /proc/$INIT_PID/ns/mnt)" ]
view=$(ls -A "/proc/$logd/root" | tr '\n' ' ')
check "logd: its root holds only its view (got: $view)" [ "$view" = "state " ]
check "logd: its state directory is its own, 0700" \
  [ "$(stat -c '%u %g %a' "$STATE/logd-state")" = "101 101 700" ]
data=$STATE/logd-state/log/data

# --- the boot entry and the first checkpoint -------------------------------------
check "logd: the store reports to init" wait_log 'dshield: init: logd: serving \(0 entries\)'
check "logd: the boot entry is appended" wait_log 'dshield: logd: boot [0-9a-f]{32} \(sim\): its entry is appended'
check "  into the store's data file" [ -s "$data" ]
for _ in $(seq 50); do [ -s "$STATE/keyd-state/log.checkpoint" ] && break; sleep 0.1; done
check "keyd: the last signed note is saved" [ -s "$STATE/keyd-state/log.checkpoint" ]
f=$STATE/a1.json
code=$(inns curl -s --max-time 20 -o "$f" -w '%{http_code}' "http://$ADDR:$PORT/v1/attestation?nonce=01")
check "a quote is served" [ "$code" = 200 ]
check "  it vouches for the note keyd saved" \
  [ "$(jq -r .checkpoint "$f")" = "$(cat "$STATE/keyd-state/log.checkpoint")" ]
# netd appends the quote's attestation entry before it asks keyd, and logd
# may have had that signed already: size 1 (the boot entry) or 2.
expect_match "  a checkpoint of size 1 or 2 (the boot entry, the quote's entry)" "$(jq -r .checkpoint "$f")" \
  '^dshield-log/[0-9a-f]{16}'$'\n''[12]'$'\n'
out=$("$DSHIELD" verify --allow-sim --no-collateral "$f" 2>&1)
check "dshield verify passes" [ $? -eq 0 ]
expect_match "  with checkpoint.binding" "$out" 'pass +checkpoint\.binding +the quote vouches for a checkpoint signed by log_key: size [12]'

# --- killed, restarted, nothing lost -----------------------------------------------
cp "$data" "$STATE/data.before"
check "logd is killed" kill -KILL "$logd"
newlogd=
for _ in $(seq 50); do
  newlogd=$(role_pid logd)
  [ -n "$newlogd" ] && [ "$newlogd" != "$logd" ] && break
  sleep 0.1
done
check "init restarts logd" [ -n "$newlogd" -a "$newlogd" != "$logd" ]
expect_match "  init logged the death" "$(cat "$LOG")" "logd \\(pid $logd\\) killed by signal 9"
check "  the new logd reopens the store with the committed entries (boot, attestation)" \
  wait_log 'dshield: init: logd: serving \(2 entries\)'
check "  finds this boot's entry there: no second one" wait_log 'is in the log already \(logd restarted\)'
check "  the data file is as it was" cmp -s "$data" "$STATE/data.before"
check "  still confined: uid 101, seccomp" \
  [ "$(status_field "$newlogd" Uid)" = "101 101 101 101" -a "$(status_field "$newlogd" Seccomp)" = 2 ]
check "keyd and netd were not restarted" [ "$(grep -c 'keyd started\|netd started' "$LOG")" = 2 ]
host_stop
done_testing
