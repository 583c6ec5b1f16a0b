#!/usr/bin/env bash
# Host mode, the signed egress log end to end: /v1/attestation appends an
# attestation entry (SHA-256 of the nonce) before the quote; the log's
# routes (checkpoint, tiles, entry bundles, entries, proofs, /logs/{id},
# /v1/receipts/{id} for an unknown invocation)
# over lwIP; `dshield log verify http://...` with the key from the
# attestation; logd killed while an attestation waits for its entry (503
# log_refused, Retry-After); netd killed while quotes are asked for, and
# every entry acknowledged before is still in the verified log.
#
# Needs the logd role in dshield-init; skips with the reason when it is
# not there (netd's side and the host tool are tested without it by
# test_api_log, test_netd_veth and test_log_fetch).
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
. "$TOP/tests/host/attest-checks.sh" || bail "cannot load attest-checks.sh"
DSHIELD=${DSHIELD:-$TOP/build/dshield}
[ -x "$DSHIELD" ] || bail "no $DSHIELD: run make first"
[ -x "$INIT_BIN" ] || bail "no $INIT_BIN: run make first"
command -v jq >/dev/null || bail "jq is needed"
[ "$(id -u)" -eq 0 ] || { echo "1..0 # skip host tests need root (network namespaces)"; exit 0; }
[ ! -e /dev/tdx_guest ] || { echo "1..0 # skip this host has /dev/tdx_guest (the sim is used here)"; exit 0; }
# A binary whose role table lacks logd cannot even print its version
# while proto/role.h counts ROLE_LOGD (it walks a row with no name).
"$INIT_BIN" --version >/dev/null 2>&1 ||
  { echo "1..0 # skip $INIT_BIN does not run (no logd row in its role table yet)"; exit 0; }

log_get() {   # log_get PATH FILE [HEADERS]: the status code
  inns curl -s --max-time 10 -o "$2" ${3:+-D "$3"} -w '%{http_code}' "http://$ADDR:$PORT$1"
}

host_start static --allow-sim
logd=
for _ in $(seq 50); do logd=$(role_pid logd); [ -n "$logd" ] && break; sleep 0.1; done
if [ -z "$logd" ]; then
  # the routes answer 503 without logd: check that much, then skip
  check "without logd, /v1/log/checkpoint is 503" [ "$(log_get /v1/log/checkpoint "$STATE/x")" = 503 ]
  check "without logd, /v1/attestation is 503 (fail closed)" [ "$(attest_get "?nonce=00" "$STATE/x")" = 503 ]
  expect_match "  log_refused" "$(cat "$STATE/x")" '"code":"log_refused"'
  ok "# skip no logd role in this dshield-init: nothing more to test here"
  host_stop
  done_testing
  exit
fi
ok "logd runs (pid $logd)"
expect_match "netd got its channel to logd" "$(cat "$LOG")" 'netd: channel to logd #[0-9]+'

# --- the attestation entry ------------------------------------------------------------
att=$STATE/att.json
check "a quote is served with logd running" [ "$(attest_get "?nonce=c0ffee" "$att")" = 200 ]
want=$(printf '\xc0\xff\xee' | sha256sum | cut -d' ' -f1)

f=$STATE/cp h=$STATE/h
check "GET /v1/log/checkpoint?fresh=1: 200" [ "$(log_get "/v1/log/checkpoint?fresh=1" "$f" "$h")" = 200 ]
expect_match "  text/plain, not cached" "$(cat "$h")" 'Content-Type: text/plain; charset=utf-8'
expect_match "  Cache-Control: no-cache" "$(cat "$h")" 'Cache-Control: no-cache'
size=$(sed -n 2p "$f")
check "  a tree size of at least 1 ($size)" [ "${size:-0}" -ge 1 ]
check "/checkpoint at the root is the same log" [ "$(log_get /checkpoint "$STATE/cp2")" = 200 ]

n=$(( size < 256 ? size : 256 ))
e=$STATE/entries.json
check "GET /v1/log/entries?start=0&end=$n: 200" [ "$(log_get "/v1/log/entries?start=0&end=$n" "$e")" = 200 ]
check "  the attestation entry is there, with SHA-256 of the nonce" \
  [ "$(jq --arg n "$want" '[.entries[] | select(.entry.type == "attestation" and .entry.nonce == $n)] | length' "$e")" -ge 1 ]
check "  entries in order from 0" [ "$(jq '[.entries[].index] == [range(0; (.entries | length))]' "$e")" = true ]

# --- tiles and bundles ------------------------------------------------------------------
w=$(( size % 256 ))
if [ "$size" -lt 256 ]; then t0="tile/0/000.p/$w" b0="tile/entries/000.p/$w" cache='max-age=60'
else t0="tile/0/000" b0="tile/entries/000" cache='immutable'; fi
check "GET /$t0: 200" [ "$(log_get "/$t0" "$STATE/t0" "$h")" = 200 ]
expect_match "  application/octet-stream" "$(cat "$h")" 'Content-Type: application/octet-stream'
expect_match "  cached ($cache)" "$(cat "$h")" "Cache-Control: .*$cache"
check "  32 bytes a hash" [ "$(stat -c %s "$STATE/t0")" -eq $(( 32 * (size < 256 ? w : 256) )) ]
check "GET /v1/log/$b0: 200" [ "$(log_get "/v1/log/$b0" "$STATE/b0")" = 200 ]
check "GET /tile/0/0001 (not a tile path): 404" [ "$(log_get /tile/0/0001 "$STATE/x")" = 404 ]

# --- proofs -------------------------------------------------------------------------------
p=$STATE/p.json
check "inclusion proof of entry 0 in size $size: 200" \
  [ "$(log_get "/v1/log/proof/inclusion?index=0&size=$size" "$p")" = 200 ]
check "  with a root and a proof array" [ "$(jq '(.root | length) == 44 and (.proof | type) == "array"' "$p")" = true ]
check "consistency proof 1 -> $size: 200" \
  [ "$(log_get "/v1/log/proof/consistency?from=1&to=$size" "$p")" = 200 ]
check "a bad parameter: 400 naming it" [ "$(log_get "/v1/log/proof/inclusion?index=x&size=1" "$p")" = 400 ]
expect_match "  index: not a decimal number" "$(cat "$p")" '"code":"bad_parameter".*index: not a decimal number'
check "GET /logs/nobody: 200, no entries" [ "$(log_get /logs/nobody "$p")" = 200 ]
check "  count 0 and the checkpoint" [ "$(jq '.count == 0 and (.checkpoint | length) > 0' "$p")" = true ]
# receipts: an invocation this log never saw has none (09-functions.t verifies real ones)
check "GET /v1/receipts/no-such-inv: 404" [ "$(log_get /v1/receipts/no-such-inv "$p")" = 404 ]
expect_match "  no invocation entry" "$(cat "$p")" '"code":"not_found".*no invocation entry'
check "GET /v1/receipts/a+b: 400" [ "$(log_get /v1/receipts/a+b "$p")" = 400 ]

# --- dshield log verify URL, the key from the attestation ---------------------------------
out=$(inns "$DSHIELD" log verify "http://$ADDR:$PORT/v1/log" --attestation "$att" --allow-sim \
  --no-collateral --save "$STATE/saved" 2>&1); rc=$?
check "dshield log verify http://…/v1/log --attestation: exit 0" [ "$rc" -eq 0 ]
expect_match "  result: OK" "$out" 'result: OK'
check "  the saved copy has the checkpoint" [ -s "$STATE/saved/checkpoint" ]
out=$(inns "$DSHIELD" log verify "http://$ADDR:$PORT" --attestation "$att" --allow-sim \
  --no-collateral --json 2>/dev/null)
check "  also from the root, as JSON, with the attestation entry" \
  [ "$(printf '%s' "$out" | jq --arg n "$want" '.ok and ([.entries[] | select(. != null and .type == "attestation" and .nonce == $n)] | length >= 1)')" = true ]

# --- logd killed while an attestation waits for its entry ---------------------------------
check "logd is stopped (SIGSTOP)" kill -STOP "$logd"
code_file=$STATE/code f2=$STATE/a2.json hdr=$STATE/h2
(inns curl -s --max-time 20 -D "$hdr" -o "$f2" -w '%{http_code}' \
  "http://$ADDR:$PORT/v1/attestation?nonce=02" > "$code_file") &
req=$!
sleep 0.5
check "logd is killed while the append waits" kill -KILL "$logd"
wait "$req"
check "  the waiting attestation is answered 503" [ "$(cat "$code_file")" = 503 ]
expect_match "  log_refused" "$(cat "$f2")" '"code":"log_refused"'
expect_match "  with Retry-After" "$(cat "$hdr")" 'Retry-After: 1'
newlogd=
for _ in $(seq 50); do newlogd=$(role_pid logd); [ -n "$newlogd" ] && [ "$newlogd" != "$logd" ] && break; sleep 0.1; done
check "init restarts logd" [ -n "$newlogd" -a "$newlogd" != "$logd" ]
code=
for _ in $(seq 30); do code=$(attest_get "?nonce=03" "$f2"); [ "$code" = 200 ] && break; sleep 0.2; done
check "quotes are served again once logd is back" [ "$code" = 200 ]

# --- netd killed mid-run: every acknowledged entry is still there -----------------------
# Each 200 from /v1/attestation is an attestation entry logd acknowledged
# as durable; netd is killed while quotes are being asked for, and after
# its restart the log must hold the entry of every nonce that got a 200.
netd=$(role_pid netd)
acked=$STATE/acked
: > "$acked"
(for i in $(seq 10 40); do
   nonce=$(printf '%02x' "$i")
   c=$(inns curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://$ADDR:$PORT/v1/attestation?nonce=$nonce")
   [ "$c" = 200 ] && echo "$nonce" >> "$acked"
 done) &
load=$!
sleep 1
check "netd is killed while quotes are asked for" kill -KILL "$netd"
wait "$load"
newnetd=
for _ in $(seq 50); do newnetd=$(role_pid netd); [ -n "$newnetd" ] && [ "$newnetd" != "$netd" ] && break; sleep 0.1; done
check "init restarts netd" [ -n "$newnetd" -a "$newnetd" != "$netd" ]
code=
for _ in $(seq 50); do code=$(log_get "/v1/log/checkpoint?fresh=1" "$f"); [ "$code" = 200 ] && break; sleep 0.2; done
check "the log is served again ($code)" [ "$code" = 200 ]
check "some quotes were acknowledged before the kill ($(wc -l < "$acked"))" [ -s "$acked" ]
size=$(sed -n 2p "$f")
out=$(inns "$DSHIELD" log verify "http://$ADDR:$PORT" --attestation "$att" --allow-sim \
  --no-collateral --json 2>/dev/null)
check "  the whole log still verifies (size $size)" [ "$(printf '%s' "$out" | jq .ok)" = true ]
missing=0
while read -r nonce; do
  h=$(printf '%s' "$nonce" | xxd -r -p | sha256sum | cut -d' ' -f1)
  n=$(printf '%s' "$out" | jq --arg n "$h" '[.entries[] | select(. != null and .type == "attestation" and .nonce == $n)] | length')
  [ "${n:-0}" -ge 1 ] || missing=$((missing + 1))
done < "$acked"
check "  every acknowledged attestation entry is in it ($missing missing)" [ "$missing" -eq 0 ]
host_stop
done_testing
