#!/usr/bin/env bash
# dshield kms on 127.0.0.1 (docs/KMS.md): key release to sim quotes made by
# tests/kms_client (as keyd will make them), each refusal code, the real TDX
# quotes of the shared test data (verified with their collateral, then
# refused by the allowlist or the event log: their REPORTDATA binds no key
# request), restart persistence, replicas sharing the state directory, and
# freshness records that go back or fork.
. "$(dirname "$0")/tap.sh" || { echo "Bail out! cannot load tap.sh"; exit 1; }
TOP=$(cd "$(dirname "$0")/../.." && pwd)
DSHIELD=${DSHIELD:-$TOP/build/dshield}
CLIENT=${KMS_CLIENT:-$TOP/build/tests/bin/kms_client}
TD=${DSHIELD_TESTDATA:-$TOP/../shared/testdata/tdx}
[ -x "$DSHIELD" ] || bail "no $DSHIELD: run make first"
[ -x "$CLIENT" ] || bail "no $CLIENT: run make first"
command -v jq >/dev/null || bail "jq is needed"
command -v curl >/dev/null || bail "curl is needed"

T=$(mktemp -d /tmp/dshield-kms.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

. "$(dirname "$0")/kms.sh" || bail "cannot load kms.sh"
# refused NAME ADDR FILE STATUS CODE: one refusal, by status and error code.
refused() {
  local st; st=$(post "$2" /v1/keys "$3" "$T/r.json")
  if [ "$st" = "$4" ] && [ "$(jq -r .error.code "$T/r.json" 2>/dev/null)" = "$5" ]; then ok "$1: $4 $5"
  else nok "$1: $4 $5"; diag "got $st $(cat "$T/r.json")"; fi
}

APP=shop
INST=00112233445566778899aabbccddeeff
INST2=ffeeddccbbaa99887766554433221100
# The allowlisted image: an image's measurements.json (the build's when
# there is one; the shape is what `dshield measure --json` writes).
M=$T/image.json
if [ -f "$TOP/build/image/measurements.json" ]; then cp "$TOP/build/image/measurements.json" "$M"
else jq -n --arg a "$(printf 'ab%.0s' $(seq 48))" --arg b "$(printf 'cd%.0s' $(seq 48))" \
  '{version: 1, mrtd: $a, rtmr1: $b, rtmr2: $a}' >"$M"; fi
OTHER=$T/other.json
jq '.rtmr2 = ("ee" * 48)' "$M" >"$OTHER"

kms_start A --state "$T/state" --measurements "$OTHER" --measurements "$M" --allow-sim
check "kms starts and prints its address" [ -n "$ADDR_A" ]
check "  and its wrapping key (65 bytes, hex)" [ "${#KEY_A}" -eq 130 ]
check "  the state directory has the root key, the wrapping key and its public half" \
  [ "$(stat -c %s "$T/state/root.key")" = 32 -a "$(stat -c %s "$T/state/wrap.key")" = 32 \
    -a "$(cat "$T/state/wrap.pub")" = "$KEY_A" ]
check "  key files are private (0600)" [ "$(stat -c %a "$T/state/root.key")" = 600 ]
expect_match "  it says sim quotes are allowed" "$(cat "$T/A.err")" 'SIM QUOTES ALLOWED'

# --- a key release -----------------------------------------------------------------
"$CLIENT" request "$T/c1" --allow "$M" --app $APP --instance $INST >"$T/req.json"
st=$(post "$ADDR_A" /v1/keys "$T/req.json" "$T/rep.json")
check "a sim quote of the allowlisted image gets its key (200)" [ "$st" = 200 ]
check "  the reply names the KMS key and no freshness yet" \
  [ "$(jq -r .kms_key "$T/rep.json")" = "$KEY_A" -a "$(jq -r .freshness "$T/rep.json")" = null ]
out=$("$CLIENT" open "$T/c1" "$T/rep.json" "$KEY_A" 2>&1)
expect_match "  the wrapped key opens with the ephemeral key and the pinned KMS key" "$out" '^key [0-9a-f]{128}$'
key1=$(printf '%s\n' "$out" | sed -n 's/^key //p')
check "  the state has the instance's record" \
  [ "$(jq -r '.app_id + " " + (.releases|tostring)' "$T/state/instances/$INST.json")" = "$APP 1" ]
check "  with the log key the quote binds" [ "$(jq -r .log_key "$T/state/instances/$INST.json")" != null ]
out=$("$CLIENT" open "$T/c1" "$T/rep.json" "$(jq -r .ephemeral_key "$T/req.json")" 2>&1)
expect_match "  it does not open with another pinned KMS key" "$out" 'authentication failed'

"$CLIENT" request "$T/c1" --allow "$M" --app $APP --instance $INST >"$T/req2.json"
post "$ADDR_A" /v1/keys "$T/req2.json" "$T/rep2.json" >/dev/null
check "a second request (new ephemeral key) gets the same disk key" \
  [ "$("$CLIENT" open "$T/c1" "$T/rep2.json" "$KEY_A" | sed -n 's/^key //p')" = "$key1" ]
check "  wrapped differently" [ "$(jq -r .wrapped_key "$T/rep.json")" != "$(jq -r .wrapped_key "$T/rep2.json")" ]
"$CLIENT" request "$T/c2" --allow "$M" --app $APP --instance $INST2 >"$T/req3.json"
post "$ADDR_A" /v1/keys "$T/req3.json" "$T/rep3.json" >/dev/null
key2=$("$CLIENT" open "$T/c2" "$T/rep3.json" "$KEY_A" | sed -n 's/^key //p')
check "another instance gets another key" [ -n "$key2" -a "$key2" != "$key1" ]

# --- every refusal ------------------------------------------------------------------
req() { "$CLIENT" request "$T/c9" --allow "$M" --app $APP --instance $INST "$@" >"$T/bad.json"; }
"$CLIENT" request "$T/c2" --allow "$OTHER" --app $APP --instance $INST2 >"$T/bad.json"
check "(the other allowlisted file is accepted too)" [ "$(post "$ADDR_A" /v1/keys "$T/bad.json" "$T/r.json")" = 200 ]
jq '.rtmr1 = ("11" * 48)' "$M" >"$T/unlisted.json"
"$CLIENT" request "$T/c9" --allow "$T/unlisted.json" --app $APP --instance $INST >"$T/bad.json"
refused "measurements not on the allowlist" "$ADDR_A" "$T/bad.json" 403 measurements
req --bad-signature;                refused "a quote whose signature fails" "$ADDR_A" "$T/bad.json" 403 quote
req --debug;                        refused "a debug TD" "$ADDR_A" "$T/bad.json" 403 quote
req --extra-event;                  refused "an event log that does not replay to RTMR3" "$ADDR_A" "$T/bad.json" 403 event_log
req --measure-instance $INST2;      refused "an instance id other than the measured one" "$ADDR_A" "$T/bad.json" 403 instance_id
req --measure-app other;            refused "an app id other than the measured one" "$ADDR_A" "$T/bad.json" 403 app_id
req --bind-other-nonce;             refused "REPORTDATA binding another nonce" "$ADDR_A" "$T/bad.json" 403 report_data
req --no-preimage;                  refused "no REPORTDATA preimage" "$ADDR_A" "$T/bad.json" 403 report_data
req; jq '.nonce = ("00" * 32)' "$T/bad.json" >"$T/bad2.json"
refused "a request whose nonce is not the quoted one" "$ADDR_A" "$T/bad2.json" 403 report_data
req; jq '.ephemeral_key = "04" + ("00" * 64)' "$T/bad.json" >"$T/bad2.json"
refused "an ephemeral key off the curve" "$ADDR_A" "$T/bad2.json" 400 bad_request
req; jq '.event_log = []' "$T/bad.json" >"$T/bad2.json"
refused "an empty event log" "$ADDR_A" "$T/bad2.json" 403 event_log
req; jq 'del(.event_log)' "$T/bad.json" >"$T/bad2.json"
refused "no event log" "$ADDR_A" "$T/bad2.json" 403 event_log
req; jq '.log_key = "x+00000000+AgAB"' "$T/bad.json" >"$T/bad2.json"
refused "a log key the preimage does not name" "$ADDR_A" "$T/bad2.json" 403 report_data
req; jq '.quote = "AAAA"' "$T/bad.json" >"$T/bad2.json"
refused "a quote that does not parse" "$ADDR_A" "$T/bad2.json" 400 bad_request
printf '{"version":1,' >"$T/bad2.json"
refused "a body that is not JSON" "$ADDR_A" "$T/bad2.json" 400 bad_request
req; jq '.instance_id = "../x"' "$T/bad.json" >"$T/bad2.json"
refused "an instance id that is not a name" "$ADDR_A" "$T/bad2.json" 400 bad_request
# The same instance under another app: measured as such, still refused.
"$CLIENT" request "$T/c9" --allow "$M" --app shop2 --instance $INST >"$T/bad.json"
refused "an instance already released to another app" "$ADDR_A" "$T/bad.json" 403 app_id
st=$(curl -s -o "$T/r.json" -w '%{http_code}' "http://$ADDR_A/v1/keys")
check "GET /v1/keys: 405" [ "$st" = 405 -a "$(jq -r .error.code "$T/r.json")" = method_not_allowed ]
st=$(curl -s -o "$T/r.json" -w '%{http_code}' -X POST -d '{}' "http://$ADDR_A/v1/other")
check "an unknown route: 404" [ "$st" = 404 ]
check "every refusal says which check failed" [ -n "$(jq -r .error.message "$T/r.json")" ]

# --- sim quotes need --allow-sim ----------------------------------------------------
kms_start B --state "$T/stateB" --measurements "$M"
refused "without --allow-sim a sim quote" "$ADDR_B" "$T/req.json" 403 sim_not_allowed
kms_stop B

# --- real TDX quotes (the shared test data) -------------------------------------------
if [ -f "$TD/dcap-qvl_tdx_quote_v4.bin" ]; then
  Q=$TD/dcap-qvl_tdx_quote_v4.bin COLL=$TD/dcap-qvl_tdx_quote_v4_collateral.json
  "$DSHIELD" verify --json --collateral "$COLL" --at 2025-07-01T00:00:00Z "$Q" >"$T/real.json"
  jq '{version: 1, mrtd: .quote.mrtd, rtmr0: .quote.rtmr0, rtmr1: .quote.rtmr1, rtmr2: .quote.rtmr2}' \
    "$T/real.json" >"$T/real-m.json"
  # Its collateral is valid in 2025-06-19 .. 2025-07-19: the KMS validates at --at.
  kms_start R --state "$T/stateR" --measurements "$M" --at 2025-07-01T00:00:00Z
  "$CLIENT" request "$T/c9" --allow "$M" --app $APP --instance $INST --quote "$Q" >"$T/real-req.json"
  refused "a real TDX quote without collateral" "$ADDR_R" "$T/real-req.json" 403 collateral
  "$CLIENT" request "$T/c9" --allow "$M" --app $APP --instance $INST --quote "$Q" --collateral "$COLL" >"$T/real-req.json"
  refused "a real TDX quote with its collateral, measurements not allowlisted" "$ADDR_R" "$T/real-req.json" 403 measurements
  kms_stop R
  kms_start R --state "$T/stateR" --measurements "$T/real-m.json" --at 2025-07-01T00:00:00Z
  refused "  with them allowlisted: the quote and collateral pass, its event log is not this quote's" \
    "$ADDR_R" "$T/real-req.json" 403 event_log
  expect_match "  (the refusal names the RTMR3 replay)" "$(jq -r .error.message "$T/r.json")" 'event_log.rtmr3'
  kms_stop R
  kms_start R --state "$T/stateR" --measurements "$T/real-m.json"
  refused "  validated now, the same collateral has expired" "$ADDR_R" "$T/real-req.json" 403 collateral
  kms_stop R
  "$CLIENT" request "$T/c9" --allow "$M" --app $APP --instance $INST --quote "$TD/dcap-qvl_sgx_quote_v3.bin" >"$T/real-req.json"
  kms_start R --state "$T/stateR" --measurements "$T/real-m.json"
  refused "an SGX quote" "$ADDR_R" "$T/real-req.json" 400 bad_request
  kms_stop R
else
  ok "# skip no TDX test data in $TD"
fi

# --- freshness ------------------------------------------------------------------------
fresh() { "$CLIENT" fresh "$T/c1" "$@" >"$T/f.json"; post "$ADDR_A" /v1/freshness "$T/f.json" "$T/fr.json"; }
check "a freshness record signed by the bound log key: 200" [ "$(fresh $INST 10 aa 1)" = 200 ]
check "  a larger tree: 200" [ "$(fresh $INST 12 bb 1)" = 200 ]
check "  the same record again: 200" [ "$(fresh $INST 12 bb 1)" = 200 ]
st=$(fresh $INST 11 cc 1)
check "  a smaller tree: 409 freshness_rollback" [ "$st" = 409 -a "$(jq -r .error.code "$T/fr.json")" = freshness_rollback ]
st=$(fresh $INST 12 cc 1)
check "  the same size with another root: 409 freshness_fork" [ "$st" = 409 -a "$(jq -r .error.code "$T/fr.json")" = freshness_fork ]
st=$(fresh $INST 13 cc 0)
check "  an older store generation: 409 freshness_rollback" [ "$st" = 409 -a "$(jq -r .error.code "$T/fr.json")" = freshness_rollback ]
"$CLIENT" fresh "$T/c1" $INST 20 dd 1 --other-key >"$T/f.json"
st=$(post "$ADDR_A" /v1/freshness "$T/f.json" "$T/fr.json")
check "  signed by another key: 403 signature" [ "$st" = 403 -a "$(jq -r .error.code "$T/fr.json")" = signature ]
st=$(fresh 0123456789abcdef0123456789abcdef 1 aa 1)
check "  for an instance never released: 404 unknown_instance" [ "$st" = 404 ]
"$CLIENT" request "$T/c1" --allow "$M" --app $APP --instance $INST >"$T/req4.json"
post "$ADDR_A" /v1/keys "$T/req4.json" "$T/rep4.json" >/dev/null
check "the next key release returns the latest record (tree size 12)" \
  [ "$("$CLIENT" open "$T/c1" "$T/rep4.json" "$KEY_A" | sed -n 's/^freshness //p')" = 12 ]
jq '.freshness = (.freshness | sub("\n12\n"; "\n13\n"))' "$T/rep4.json" >"$T/rep5.json"
out=$("$CLIENT" open "$T/c1" "$T/rep5.json" "$KEY_A" 2>&1)
expect_match "  a reply whose record was changed does not open (the wrap binds it)" "$out" 'authentication failed'

# --- restart: the same keys, the same records ---------------------------------------------
kms_stop A
gone() { ! kill -0 "$1" 2>/dev/null; }
check "the kms stops on SIGTERM" gone "$PID_A"
check "  with exit status 0" [ "$STOP_RC" = 0 ]
kms_start A --state "$T/state" --measurements "$M" --allow-sim
check "after a restart: the same wrapping key" [ "$(cat "$T/state/wrap.pub")" = "$KEY_A" ]
"$CLIENT" request "$T/c1" --allow "$M" --app $APP --instance $INST >"$T/req.json"
post "$ADDR_A" /v1/keys "$T/req.json" "$T/rep.json" >/dev/null
out=$("$CLIENT" open "$T/c1" "$T/rep.json" "$KEY_A")
check "  the same disk key" [ "$(printf '%s\n' "$out" | sed -n 's/^key //p')" = "$key1" ]
check "  and the kept freshness record" [ "$(printf '%s\n' "$out" | sed -n 's/^freshness //p')" = 12 ]
check "  going back is still refused" [ "$(fresh $INST 11 cc 1)" = 409 ]

# --- two replicas on one state directory ----------------------------------------------
kms_start A2 --state "$T/state" --measurements "$M" --allow-sim
check "a second replica on the same state: the same wrapping key" [ "$KEY_A2" = "$KEY_A" ]
check "  a record accepted by one" [ "$(fresh $INST 14 ee 2)" = 200 ]
"$CLIENT" fresh "$T/c1" $INST 13 ee 2 >"$T/f.json"
check "  makes the other refuse going back" [ "$(post "$ADDR_A2" /v1/freshness "$T/f.json" "$T/fr.json")" = 409 ]
"$CLIENT" request "$T/c1" --allow "$M" --app $APP --instance $INST >"$T/req.json"
post "$ADDR_A2" /v1/keys "$T/req.json" "$T/rep.json" >/dev/null
check "  and it releases the same disk key" \
  [ "$("$CLIENT" open "$T/c1" "$T/rep.json" "$KEY_A" | sed -n 's/^key //p')" = "$key1" ]
# A new directory raced by two replicas at once ends with one set of keys.
for r in P Q; do
  "$DSHIELD" kms --listen 127.0.0.1:0 --state "$T/race" --measurements "$M" >"$T/$r.out" 2>&1 &
  PIDS+=("$!")
done
for _ in $(seq 100); do
  grep -q '^dshield kms: key ' "$T/P.out" && grep -q '^dshield kms: key ' "$T/Q.out" && break; sleep 0.05
done
check "two replicas started at once on a new directory agree on the wrapping key" \
  [ -n "$(sed -n 's/^dshield kms: key //p' "$T/P.out")" \
    -a "$(sed -n 's/^dshield kms: key //p' "$T/P.out")" = "$(sed -n 's/^dshield kms: key //p' "$T/Q.out")" ]
check "  and leave no temporary files" [ -z "$(find "$T/race" -maxdepth 1 -name '*.new.*')" ]
check "bad usage exits 2" [ "$("$DSHIELD" kms --state "$T/x" >/dev/null 2>&1; echo $?)" = 2 ]
jq '.mrtd = null' "$M" >"$T/nullmrtd.json"
check "an allowlist file with a null MRTD is refused at start" \
  [ "$("$DSHIELD" kms --state "$T/x" --measurements "$T/nullmrtd.json" >/dev/null 2>&1; echo $?)" = 2 ]
# --- HTTPS (--tls-cert, --tls-key; docs/KMS.md "TLS") -------------------------------------
if command -v openssl >/dev/null; then
  check "a test CA and a P-256 certificate for localhost (openssl)" sh -c "
    exec >/dev/null 2>&1; cd '$T' &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
      -days 2 -subj '/CN=kms test CA' &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.csr \
      -subj /CN=localhost &&
    printf 'subjectAltName=DNS:localhost\n' > tls.ext &&
    openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile tls.ext \
      -out tls.pem"
  kms_start S --state "$T/state" --measurements "$M" --allow-sim --tls-cert "$T/tls.pem" --tls-key "$T/tls.key"
  pin=$(openssl x509 -in "$T/tls.pem" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
  check "https: it prints its TLS key's pin, the certificate's SPKI SHA-256" \
    grep -qx "dshield kms: https, TLS key $pin (tls_spki_sha256)" "$T/S.out"
  "$CLIENT" request "$T/c1" --allow "$M" --app $APP --instance $INST >"$T/req.json"
  st=$(curl -s -o "$T/reps.json" -w '%{http_code}' --max-time 20 --cacert "$T/ca.pem" \
    --resolve "localhost:${ADDR_S#*:}:127.0.0.1" -X POST --data-binary @"$T/req.json" \
    "https://localhost:${ADDR_S#*:}/v1/keys")
  check "https: a key request over TLS, the certificate validated by curl: 200 ($st)" [ "$st" = 200 ]
  check "  the same disk key as over HTTP" \
    [ "$("$CLIENT" open "$T/c1" "$T/reps.json" "$KEY_A" | sed -n 's/^key //p')" = "$key1" ]
  check "https: plain HTTP to it gets no HTTP answer" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST --data-binary @"$T/req.json" \
         "http://$ADDR_S/v1/keys")" = 000 ]
  check "https: it still serves after that" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 --cacert "$T/ca.pem" \
         --resolve "localhost:${ADDR_S#*:}:127.0.0.1" -X POST --data-binary @"$T/req.json" \
         "https://localhost:${ADDR_S#*:}/v1/keys")" = 200 ]
  kms_stop S
  check "https: a key that is not the certificate's is refused at start" sh -c \
    "'$DSHIELD' kms --state '$T/x' --measurements '$M' --tls-cert '$T/tls.pem' --tls-key '$T/ca.key' 2>&1 >/dev/null |
     grep -q 'the key is not the certificate'"
  check "https: --tls-cert without --tls-key is bad usage (2)" \
    [ "$("$DSHIELD" kms --state "$T/x" --measurements "$M" --tls-cert "$T/tls.pem" >/dev/null 2>&1; echo $?)" = 2 ]
else
  ok "the KMS over https # SKIP no openssl"
fi
kms_stop A; kms_stop A2
check "no kms logged a sanitizer report (when built with one)" \
  [ -z "$(grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error' "$T"/*.err 2>/dev/null)" ]
done_testing
