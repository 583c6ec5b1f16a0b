#!/usr/bin/env bash
# keyd's KMS key request (keyd/kms_req.c, keyd_kms_request) against
# `dshield kms --allow-sim` on 127.0.0.1: keyd runs in process on the sim
# backend (tests/keyd_kms_req.c), init's half (the ephemeral key and nonce)
# is init's code (init/kms.c), and the reply goes the guest's way: netd's
# reduction (net/kms_client.c kms_reply_parse), then init's opening
# (kms_exchange_open), cross-checked once with tests/kms_client.
# docs/STORE.md "Key provider kms".
. "$(dirname "$0")/tap.sh" || { echo "Bail out! cannot load tap.sh"; exit 1; }
TOP=$(cd "$(dirname "$0")/../.." && pwd)
DSHIELD=${DSHIELD:-$TOP/build/dshield}
CLIENT=${KMS_CLIENT:-$TOP/build/tests/bin/kms_client}
KEYD=${KEYD_KMS_REQ:-$TOP/build/tests/bin/keyd_kms_req}
[ -x "$DSHIELD" ] || bail "no $DSHIELD: run make first"
[ -x "$CLIENT" ] && [ -x "$KEYD" ] || bail "no test programs: run make tests first"
command -v jq >/dev/null || bail "jq is needed"
command -v curl >/dev/null || bail "curl is needed"

T=$(mktemp -d /tmp/dshield-kmskeyd.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

. "$(dirname "$0")/kms.sh" || bail "cannot load kms.sh"

INST=00112233445566778899aabbccddeeff
INST2=ffeeddccbbaa99887766554433221100
# What the sim quote reports and the KMS allowlists: the image's file when
# there is one, else one of the same shape.
M=$T/image.json
if [ -f "$TOP/build/image/measurements.json" ]; then cp "$TOP/build/image/measurements.json" "$M"
else jq -n --arg a "$(printf 'ab%.0s' $(seq 48))" --arg b "$(printf 'cd%.0s' $(seq 48))" \
  '{version: 1, mrtd: $a, rtmr1: $b, rtmr2: $a}' >"$M"; fi
OTHER=$T/other.json
jq '.rtmr2 = ("ee" * 48)' "$M" >"$OTHER"

kms_start A --state "$T/state" --measurements "$M" --allow-sim
check "kms starts and prints its key" [ -n "$ADDR_A" -a "${#KEY_A}" -eq 130 ]

# --- a boot's first request ----------------------------------------------------------
"$KEYD" "$T/vm1" "$M" shop $INST "$KEY_A" >"$T/req.json" 2>"$T/keyd.err"
check "keyd writes a key request" [ "$?" = 0 -a -s "$T/req.json" ]
check "  its event log: instance-id (the store's), app-id, key-provider (the pinned KMS key)" \
  [ "$(jq -c '[.event_log[].name]' "$T/req.json")" = '["instance-id","app-id","key-provider"]' ]
check "  the key-provider event's payload is the KMS key" \
  [ "$(jq -r '.event_log[] | select(.name == "key-provider") | .payload' "$T/req.json" 2>/dev/null)" = "$KEY_A" ]
check "  app_id and instance_id are what keyd measured" \
  [ "$(jq -r '.app_id + " " + .instance_id' "$T/req.json")" = "shop $INST" ]
check "  the ephemeral key and nonce are init's" \
  [ "$(jq -r .nonce "$T/req.json")" = "$(od -An -tx1 -v "$T/vm1/nonce" | tr -d ' \n')" ]
st=$(post "$ADDR_A" /v1/keys "$T/req.json" "$T/rep.json")
check "the KMS releases the key (200)" [ "$st" = 200 ]
[ "$st" = 200 ] || diag "$(cat "$T/rep.json")"
out=$("$KEYD" open "$T/vm1" "$st" "$T/rep.json" 2>&1)
expect_match "  netd's reduction and init's opening give the disk key" "$out" '^key [0-9a-f]{128}$'
key1=$(printf '%s\n' "$out" | sed -n 's/^key //p')
check "  the same key as the host-side client opens" \
  [ "$("$CLIENT" open "$T/vm1" "$T/rep.json" "$KEY_A" | sed -n 's/^key //p')" = "$key1" ]

# --- keyd restarted in the same boot: its log reloaded, the same KMS key ---------------
"$KEYD" "$T/vm1" "$M" shop $INST "$KEY_A" >"$T/req2.json" 2>/dev/null
check "a restarted keyd measures the KMS key only once" \
  [ "$(jq -c '[.event_log[].name]' "$T/req2.json")" = '["instance-id","app-id","key-provider"]' ]
st=$(post "$ADDR_A" /v1/keys "$T/req2.json" "$T/rep2.json")
check "  a new ephemeral key, the same disk key" \
  [ "$("$KEYD" open "$T/vm1" "$st" "$T/rep2.json" | sed -n 's/^key //p')" = "$key1" ]
out=$("$KEYD" open "$T/vm1" "$st" "$T/rep.json" 2>&1)
expect_match "  the first reply does not open with the second exchange" "$out" '^refused: .*authentication failed'
out=$("$KEYD" "$T/vm1" "$M" shop $INST "$(jq -r .ephemeral_key "$T/req.json")" 2>&1 >/dev/null)
expect_match "  another KMS key in the same boot is refused by keyd" "$out" 'another KMS key is measured already'

# --- another boot (another instance): another key ---------------------------------------
"$KEYD" "$T/vm2" "$M" shop $INST2 "$KEY_A" >"$T/req3.json" 2>/dev/null
st=$(post "$ADDR_A" /v1/keys "$T/req3.json" "$T/rep3.json")
key2=$("$KEYD" open "$T/vm2" "$st" "$T/rep3.json" | sed -n 's/^key //p')
check "another instance gets another disk key" [ -n "$key2" -a "$key2" != "$key1" ]

# --- refusals ---------------------------------------------------------------------------
out=$("$KEYD" "$T/vm3" "$M" "" $INST "$KEY_A" 2>&1 >/dev/null)
expect_match "no app id: keyd refuses before quoting" "$out" 'no app-id or instance-id event'
out=$("$KEYD" "$T/vm4" "$M" .hidden $INST "$KEY_A" 2>&1 >/dev/null)
expect_match "an app id the KMS would not take is not measured" "$out" 'no app-id or instance-id event'
out=$("$KEYD" "$T/vm5" "$M" shop $INST "04$(printf '00%.0s' $(seq 64))" 2>&1 >/dev/null)
expect_match "a KMS key off the curve is refused" "$out" 'not a P-256 point'
kms_start B --state "$T/stateB" --measurements "$OTHER" --allow-sim
"$KEYD" "$T/vm6" "$M" shop $INST "$KEY_B" >"$T/req4.json" 2>/dev/null
st=$(post "$ADDR_B" /v1/keys "$T/req4.json" "$T/rep4.json")
check "a KMS whose allowlist lacks these measurements refuses: 403 measurements" \
  [ "$st $(jq -r .error.code "$T/rep4.json")" = "403 measurements" ]
out=$("$KEYD" open "$T/vm6" "$st" "$T/rep4.json" 2>&1)
expect_match "  the guest's reason names the KMS's check" "$out" '^refused: KMS refused \(HTTP 403, measurements\): MRTD [0-9a-f]{96}'
st=$(post "$ADDR_A" /v1/keys "$T/req4.json" "$T/rep5.json")
out=$("$KEYD" open "$T/vm6" "$st" "$T/rep5.json" 2>&1)
check "  the same request to the KMS its key-provider event does not name: released, and it does not open with the pinned key" \
  [ "$st" = 200 -a -n "$(printf '%s' "$out" | grep 'authentication failed')" ]
"$KEYD" "$T/vm1" "$M" shop $INST "$KEY_A" >"$T/req6.json" 2>/dev/null
jq '.app_id = "shop2"' "$T/req6.json" >"$T/req7.json"
st=$(post "$ADDR_A" /v1/keys "$T/req7.json" "$T/rep7.json")
check "an app id other than the measured one: 403 app_id" \
  [ "$st $(jq -r .error.code "$T/rep7.json")" = "403 app_id" ]
done_testing
