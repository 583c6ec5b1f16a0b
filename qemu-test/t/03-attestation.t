#!/usr/bin/env bash
# End to end: boot build/image in QEMU (no TDX: the sim backend, which the
# image's manifest allows), fetch /v1/attestation with a fresh nonce, and
# check it with `dshield verify --allow-sim --measurements --report-data`
# (passes) and plain `dshield verify` (refuses: quote.sim).
. "$(dirname "$0")/setup.sh" attest-checks || { echo "Bail out! cannot load qemu-test/t/setup.sh"; exit 1; }
DSHIELD=$top/build/dshield
[ -f "$image/measurements.json" ] || bail "no build/image/measurements.json: run make image"
[ -x "$DSHIELD" ] || bail "no build/dshield: run make"
command -v jq >/dev/null || bail "jq is needed"

qt_start_ready
man_sha=$(sha256sum < "$image/manifest.json" | cut -d' ' -f1)

expect_match "qemu_fw_cfg loaded (optional module)" "$console" 'modules: qemu_fw_cfg: loaded'
expect_match "init chose the sim backend and says so" "$console" 'attestation: sim: SIMULATED backend'
expect_match "the launcher's measurements were read from fw_cfg" "$console" \
  'launcher measurements from /sys/firmware/qemu_fw_cfg/by_name/opt/dshield/measurements/raw: mrtd given, rtmr0 zeros, rtmr1 given, rtmr2 given'
expect_match "manifest event recorded (emulated RTMR3)" "$console" \
  "attestation: sim: event manifest payload $man_sha digest [0-9a-f]{96} \\(RTMR3 emulated\\)"
expect_match "instance-id event recorded" "$console" 'attestation: sim: event instance-id payload [0-9a-f]{32} '

attest_bad_nonce_checks
f=$QT_DIR/attestation.json
attest_sim_checks "$man_sha" "$f" --measurements "$image/measurements.json"
for r in mrtd rtmr1 rtmr2; do
  check "the quote's $r is the launcher's (measurements.json)" \
    [ "$("$DSHIELD" verify --json --allow-sim --no-collateral "$f" | jq -r ".quote.$r")" = "$(jq -r ".$r" "$image/measurements.json")" ]
done
out=$("$DSHIELD" verify --json --allow-sim --no-collateral --measurements "$image/measurements.json" "$f")
check "verify compared MRTD/RTMR1/RTMR2 with measurements.json (all passed)" \
  [ "$(printf '%s' "$out" | jq -r '[.checks[] | select(.name | test("^measurements")) | .result] | unique | join(",")')" = pass ]
# The API over attested TLS (8443): curl pinned to the key the quote names
# (slot 3), and dshield verify --tls-url matching the live server's key.
pin=$(printf "$(jq -r .report_data_preimage.api_tls_spki_sha256 "$f" | sed 's/../\\x&/g')" | base64)
check "GET /healthz over TLS on 8443, curl pinned to the quote's API TLS key" \
  [ "$(ip netns exec "$QT_NS" curl -sk --max-time 20 --pinnedpubkey "sha256//$pin" -o /dev/null -w '%{http_code}' "https://$QT_ADDR:8443/healthz")" = 200 ]
out=$(ip netns exec "$QT_NS" "$DSHIELD" verify --allow-sim --no-collateral --tls-url "https://$QT_ADDR:8443" "$f" 2>&1); rc=$?
check "dshield verify --tls-url https://$QT_ADDR:8443: the server's key is the quote's (exit 0)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
expect_match "the guest logged the quote as sim" "$(tr -d '\r' < "$QT_CONSOLE")" \
  'attestation: sim: quote #[0-9]+, [0-9]+ bytes, 2 events \(simulated'

# The signed log of this VM, fetched over HTTP and checked with the key
# the quote vouches for (REPORTDATA slot 4) and the checkpoint it binds
# (slot 5): the boot entry and this quote's attestation entry (a fresh
# checkpoint is asked for first: logd signs new entries within a second).
check "a fresh checkpoint is signed" \
  [ "$(ip netns exec "$QT_NS" curl -s --max-time 20 -o /dev/null -w '%{http_code}' "$QT_URL/v1/log/checkpoint?fresh=1")" = 200 ]
out=$(ip netns exec "$QT_NS" "$DSHIELD" log verify "$QT_URL" --attestation "$f" --allow-sim \
  --no-collateral --json 2>&1); rc=$?
check "dshield log verify $QT_URL --attestation: exit 0" [ "$rc" -eq 0 ]
check "  OK, with the boot entry and an attestation entry" \
  [ "$(printf '%s' "$out" | jq '.ok and ([.entries[] | select(. != null and .type == "boot")] | length == 1) and ([.entries[] | select(. != null and .type == "attestation")] | length >= 1)')" = true ]

qt_teardown
done_testing
