#!/usr/bin/env bash
# Host mode, attestation: GET /v1/attestation with the sim backend
# (--allow-sim), nonce validation, `dshield verify` of the answer, and the
# 503 when attestation is unavailable (no TDX device, sim not allowed).
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
. "$TOP/tests/host/attest-checks.sh" || bail "cannot load attest-checks.sh"
DSHIELD=${DSHIELD:-$TOP/build/dshield}
[ -x "$DSHIELD" ] || bail "no $DSHIELD: run make first"
command -v jq >/dev/null || bail "jq is needed"
[ ! -e /dev/tdx_guest ] || { echo "1..0 # skip this host has /dev/tdx_guest (the sim is never used there)"; exit 0; }

# A manifest like the image's, with the sim NOT allowed: --allow-sim is
# what allows it here.
MAN=$(mktemp /tmp/dshield-manifest.XXXXXX)
printf '%s\n' '{"format":1,"dshield_version":"0.1.0","kernel":{"release":"6.18.0-test"},"modules":[],"attestation":{"allow_sim":false}}' > "$MAN"
man_sha=$(sha256sum "$MAN" | cut -d' ' -f1)

host_start static --allow-sim --manifest "$MAN"
log=$(cat "$LOG")
expect_match "keyd logs the simulated backend" "$log" 'attestation: sim: SIMULATED backend'
expect_match "keyd logs the manifest event (emulated RTMR3)" "$log" "attestation: sim: event manifest payload $man_sha digest [0-9a-f]{96} \\(RTMR3 emulated\\)"
expect_match "keyd logs the instance-id event" "$log" 'attestation: sim: event instance-id payload [0-9a-f]{32} '
attest_bad_nonce_checks
attest_sim_checks "$man_sha" "$STATE/attestation.json"
f=$STATE/a2.json
attest_get "?nonce=00" "$f" >/dev/null
id1=$(jq -r '.event_log[1].payload' "$STATE/attestation.json")
check "the instance id is stable within a run" [ "$(jq -r '.event_log[1].payload' "$f")" = "$id1" ]
expect_match "keyd logs each quote as sim" "$(cat "$LOG")" 'attestation: sim: quote #[0-9]+, [0-9]+ bytes, 2 events \(simulated'

# Rate limit: a burst beyond the bucket gets 503 busy, then recovers.
codes=$(for i in $(seq 30); do inns curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 \
  "http://$ADDR:$PORT/v1/attestation?nonce=0$((i % 10))" & done; wait)
expect_match "a burst of 30 quote requests hits the rate limit (503)" "$codes" '503'
expect_match "  while some are served" "$codes" '200'
sleep 1.2
check "after a pause quotes are served again" [ "$(attest_get "?nonce=01" "$f")" = 200 ]
code=$(for i in $(seq 20); do attest_get "?nonce=02" "$f" >/dev/null; done; attest_get "?nonce=02" "$f")
if [ "$code" = 503 ]; then
  expect_match "  a refused request says busy" "$(cat "$f")" '"code":"busy"'
else
  ok "  (sequential requests were not limited: the bucket refilled)"
fi
check "netd is still alive after the flood" [ -n "$(netd_pid)" ]
host_stop

# No TDX device, sim not allowed anywhere: 503 naming why.
host_start static --manifest "$MAN"
expect_match "keyd logs that attestation is unavailable" "$(cat "$LOG")" 'attestation: unavailable: no TDX device'
f=$(mktemp)
code=$(attest_get "?nonce=00" "$f")
check "without a backend /v1/attestation is 503" [ "$code" = 503 ]
expect_match "  naming why" "$(cat "$f")" '"code":"attestation_unavailable","message":"no TDX device.*allow_sim'
rm -f "$f" "$MAN"
host_stop
done_testing
