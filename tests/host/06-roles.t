#!/usr/bin/env bash
# Host mode, the roles: each runs confined as its row of the role table
# says; keyd killed in the middle of a quote makes the API answer 503 (not
# hang), init restarts keyd, and the restarted keyd reloads its event log
# (same instance id, same RTMR3) and serves quotes again.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
. "$TOP/tests/host/attest-checks.sh" || bail "cannot load attest-checks.sh"
command -v jq >/dev/null || bail "jq is needed"
[ ! -e /dev/tdx_guest ] || { echo "1..0 # skip this host has /dev/tdx_guest (the sim is never used there)"; exit 0; }

# status_field PID FIELD: a field of /proc/PID/status (tabs squeezed).
status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

# Every quote waits 1.5 s, as a slow quoting service would: long enough to
# kill keyd while netd waits for its answer.
host_start static --allow-sim --keyd-quote-delay-ms 1500
expect_match "  the test knob is logged loudly" "$(cat "$LOG")" 'WARNING: test knob DSHIELD_KEYD_QUOTE_DELAY_MS=1500'

keyd=$(role_pid keyd) netd=$(role_pid netd)
check "keyd runs" [ -n "$keyd" ]
check "netd runs" [ -n "$netd" ]

# --- confinement, as the role table says ---------------------------------------
check "keyd: uid 0 (file ownership only)" [ "$(status_field "$keyd" Uid)" = "0 0 0 0" ]
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
  check "keyd: $f is empty" [ "$(status_field "$keyd" $f)" = 0000000000000000 ]
done
check "keyd: no_new_privs" [ "$(status_field "$keyd" NoNewPrivs)" = 1 ]
check "keyd: seccomp filter" [ "$(status_field "$keyd" Seccomp)" = 2 ]
check "keyd: its own network namespace" [ "$(readlink /proc/$keyd/ns/net)" != "$(readlink /proc/$INIT_PID/ns/net)" ]
check "keyd: its own mount namespace" [ "$(readlink /proc/$keyd/ns/mnt)" != "$(readlink /proc/$INIT_PID/ns/mnt)" ]
view=$(ls -A "/proc/$keyd/root" | tr '\n' ' ')
check "keyd: its root holds only its view (got: $view)" [ "$view" = "state " ]
check "keyd: the saved event log is in its state directory" [ -s "$STATE/keyd-state/rtmr3.events" ]
check "keyd: the state directory is private (0700)" [ "$(stat -c %a "$STATE/keyd-state")" = 700 ]
check "keyd: the log key is saved there, 32 bytes, mode 0600" \
  [ "$(stat -c '%s %a' "$STATE/keyd-state/log.key")" = "32 600" ]
check "netd: uid 100" [ "$(status_field "$netd" Uid)" = "100 100 100 100" ]
check "netd: CapEff empty" [ "$(status_field "$netd" CapEff)" = 0000000000000000 ]
check "netd: seccomp filter" [ "$(status_field "$netd" Seccomp)" = 2 ]
check "netd: its root is empty" [ -z "$(ls -A "/proc/$netd/root")" ]
check "init holds no key: keyd and netd are not init" [ "$keyd" != "$INIT_PID" -a "$netd" != "$INIT_PID" ]

f1=$STATE/a1.json f2=$STATE/a2.json f3=$STATE/a3.json
check "a quote is served (slowly)" [ "$(attest_get "?nonce=01" "$f1")" = 200 ]
id1=$(jq -r '.event_log[] | select(.name == "instance-id") | .payload' "$f1")
check "  with an instance id" [ -n "$id1" ]

# --- keyd killed mid-quote -------------------------------------------------------
code_file=$STATE/code
hdr=$STATE/h2
(inns curl -s --max-time 20 -D "$hdr" -o "$f2" -w '%{http_code}' \
  "http://$ADDR:$PORT/v1/attestation?nonce=02" > "$code_file") &
req=$!
sleep 0.5
check "keyd is killed in the middle of the quote" kill -KILL "$keyd"
wait "$req"
check "  the waiting request is answered 503" [ "$(cat "$code_file")" = 503 ]
expect_match "  naming keyd's restart" "$(cat "$f2")" '"code":"attestation_unavailable".*restarted'
expect_match "  with Retry-After" "$(cat "$hdr")" 'Retry-After: 1' 
newkeyd=
for _ in $(seq 50); do
  newkeyd=$(role_pid keyd)
  [ -n "$newkeyd" ] && [ "$newkeyd" != "$keyd" ] && grep -q 'keyd: serving' <(grep -A100 "keyd (pid $keyd)" "$LOG") && break
  sleep 0.1
done
check "init restarts keyd" [ -n "$newkeyd" -a "$newkeyd" != "$keyd" ]
expect_match "  init logged the death and the restart" "$(cat "$LOG")" "keyd \\(pid $keyd\\) killed by signal 9.*"
expect_match "  the new keyd reloaded the event log" "$(cat "$LOG")" 'keyd: attestation: sim: reloaded 1 events after a restart'
check "netd was not restarted" [ "$(role_pid netd)" = "$netd" ]
code=
for _ in $(seq 20); do
  code=$(attest_get "?nonce=03" "$f3")
  [ "$code" = 200 ] && break
  sleep 0.2
done
check "quotes are served again" [ "$code" = 200 ]
check "  with the same instance id" [ "$(jq -r '.event_log[] | select(.name == "instance-id") | .payload' "$f3")" = "$id1" ]
check "  and the same event log" [ "$(jq -c .event_log "$f3")" = "$(jq -c .event_log "$f1")" ]
lk1=$(jq -r .log_key "$f1")
check "  and the same log key" [ "$(jq -r .log_key "$f3")" = "$lk1" -a "$lk1" != null ]
expect_match "  which keyd reloaded (not made anew)" "$(cat "$LOG")" 'keyd: log key: reloaded dshield-log/' 
check "healthz still answers" [ "$(inns curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$ADDR:$PORT/healthz")" = 200 ]
host_stop
done_testing
