#!/usr/bin/env bash
# End to end: the encrypted store with the key provider kms (docs/STORE.md
# "Key provider kms", docs/KMS.md). `dshield kms --allow-sim` runs inside
# each boot's network namespace on the host side (198.18.0.1:8547, named
# kms.test.internal by the namespace's dnsmasq); nothing leaves the
# namespace. The image is build/qemu-kms/image: examples/policy-kms.json
# with this test's KMS key pinned and only the native layer, rebuilt when
# build/dshield-init or the policy changed (about 15 s), else reused; the
# KMS's state (its keys) is kept in build/qemu-kms/kms-state so that the
# pinned key stays valid. Six boots:
#   1  a blank data disk, instance I1, the KMS up with the image's
#      measurements: keyd's request carried by netd, the disk formatted
#      with the KMS's key, logd and sandboxd started, a secret put; the
#      key-provider, instance-id and app-id events in the event log
#   2  the same disk: the same key from the KMS, the store opened (not
#      formatted), the secret and the first boot's log entries there
#   3  the KMS down: a console line per attempt, then the give-up; logd
#      and sandboxd held, /healthz answers, /v1/info says why
#   4  a KMS whose allowlist does not match: refused at once with the
#      KMS's code and message in /v1/info
#   5  the first boot's copy of the disk put back after boot 2 posted a
#      newer freshness record: rollback detected, logd stopped, sandboxd
#      held (boots 1 and 2 post records; boot 2 checks the first one)
#   6  the same old copy under a policy with kms.on_rollback "flag"
#      (build/qemu-kms/image-flag): it starts, and the console, /v1/info
#      and this boot's log entry say ROLLBACK DETECTED; this image's URL
#      is https:// with the KMS's TLS key pinned (kms.tls_spki_sha256),
#      and the KMS serves only HTTPS (--tls-cert, build/qemu-kms/tls)
. "$(dirname "$0")/setup.sh" || { echo "Bail out! cannot load qemu-test/t/setup.sh"; exit 1; }
. "$top/qemu-test/fn.sh" || bail "cannot load qemu-test/fn.sh"
command -v jq >/dev/null || bail "jq is needed"

dshield=$top/build/dshield
kdir=$top/build/qemu-kms
kimg=$kdir/image
kstate=$kdir/kms-state
KMS_PORT=8547
APP=dshield-test
work=$(mktemp -d "${TMPDIR:-/tmp}/dshield-kms.XXXXXX")
trap 'kms_stop; qt_teardown; rm -rf "$work"' EXIT
I1=$(printf '1%.0s' $(seq 64))
disk=$work/data.img
KMS_PID=

kms_stop() { [ -z "$KMS_PID" ] || qt_stop "$KMS_PID"; KMS_PID=; }
# kms_start MEASUREMENTS LOG: the KMS in the current namespace, on the
# host side of the tap; waits for its "listening" line
# With KMS_TLS set it serves HTTPS with the test's certificate (kms_tls).
kms_start() {
  ip netns exec "$QT_NS" "$dshield" kms --state "$kstate" --measurements "$1" --allow-sim \
    --listen "$QT_HOST_ADDR:$KMS_PORT" ${KMS_TLS:+--tls-cert "$ktls/kms.pem" --tls-key "$ktls/kms.key"} \
    >"$2" 2>&1 &
  KMS_PID=$!
  qt_wait_line "$2" '^dshield kms: listening on ' 20 "$KMS_PID"
}

# The KMS's wrapping key: made once (the KMS's first start makes its
# state), then pinned by the image's policy.
kms_key() {
  [ -s "$kstate/wrap.pub" ] && return 0
  mkdir -p "$kdir" && kms_start "$top/build/image/measurements.json" "$work/kms-keygen.log" &&
    [ -s "$kstate/wrap.pub" ]
  local rc=$?
  kms_stop
  return $rc
}

# The KMS's TLS certificate for boot 6 (https, its key pinned by the
# policy's kms.tls_spki_sha256): self-signed P-256 for kms.test.internal,
# made once and kept with the KMS's state so that the pin, and the image
# that holds it, stay the same across runs.
ktls=$kdir/tls
kms_tls() {
  if [ ! -s "$ktls/kms.pem" ]; then
    mkdir -p "$ktls" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ktls/kms.key" \
      -out "$ktls/kms.pem" -days 3650 -subj /CN=kms.test.internal \
      -addext subjectAltName=DNS:kms.test.internal >/dev/null 2>&1 || return 1
  fi
  KMS_PIN=$(openssl x509 -in "$ktls/kms.pem" -pubkey -noout | openssl pkey -pubin -outform der |
            sha256sum | cut -d' ' -f1)
  [ ${#KMS_PIN} -eq 64 ]
}

# kms_image [DIR [JQ]]: the kms image (DIR, default $kimg; its policy
# examples/policy-kms.json with the test's key, app id and JQ's edits),
# rebuilt only when its inputs changed.
kms_image() {
  local kimg=${1:-$kimg} edit=${2:-.}
  local pol=$kimg.policy.json stamp want
  jq --arg k "$(cat "$kstate/wrap.pub")" --arg app "$APP" \
    ".store.kms.public_key = \$k | .store.kms.app_id = \$app | $edit" \
    "$top/examples/policy-kms.json" > "$pol.new" || return 1
  want=$(cat "$pol.new" "$top/build/dshield-init" | sha256sum | cut -d' ' -f1)
  stamp=$(cat "$kimg/inputs.sha256" 2>/dev/null)
  if [ "$stamp" = "$want" ] && [ -f "$kimg/measurements.json" ]; then
    rm -f "$pol.new"
    return 0
  fi
  mv -f "$pol.new" "$pol" &&
  DSHIELD_INIT=$top/build/dshield-init MKCPIO=$top/build/tools/mkcpio \
    MKPOLICY=$top/build/tools/mkpolicy MKLAYERS=$top/build/tools/mklayers \
    MKANCHORS=$top/build/tools/mkanchors LAYERS="native=" POLICY=$pol DEPS=$top/build/deps \
    "$top/image/build-image" "$kimg" >"$work/build-image.log" 2>&1 &&
  "$dshield" measure --json --memory 512M --firmware "$top/build/deps/ovmf/usr/share/ovmf/OVMF.fd" \
    "$kimg" > "$kimg/measurements.json" &&
  echo "$want" > "$kimg/inputs.sha256"
}

# boot LABEL KMS: a fresh namespace, the KMS (up: the image's allowlist;
# other: an allowlist whose RTMR2 is not the image's; down: none), QEMU on
# the data disk; sets NS ADDR PORT console, or fails.
boot() {
  local label=$1 kms=$2
  QT_DATA_DISK=$disk QT_INSTANCE=$I1
  export QT_DATA_DISK QT_INSTANCE
  qt_setup "$work/$label" || return 1
  case $kms in
  up) kms_start "${BOOT_IMAGE:-$kimg}/measurements.json" "$work/$label/kms.log" || return 1 ;;
  other) kms_start "$work/other-measurements.json" "$work/$label/kms.log" || return 1 ;;
  esac
  qt_boot "${BOOT_IMAGE:-$kimg}" && qt_wait_ready "${QT_TIMEOUT:-180}" || return 1
  NS=$QT_NS ADDR=$QT_ADDR PORT=8080
  console=$(tr -d '\r' < "$QT_CONSOLE")
}
refresh() { console=$(tr -d '\r' < "$QT_CONSOLE"); }
# wait_console REGEX SECONDS
wait_console() { qt_wait_line "$QT_CONSOLE" "$1" "$2" "$QT_QEMU_PID"; local rc=$?; refresh; return $rc; }
info() { inns curl -s --max-time 20 "http://$ADDR:$PORT/v1/info" | jq -c "$1"; }
tree_size() { inns curl -s --max-time 30 "http://$ADDR:$PORT/v1/log/checkpoint?fresh=1" | sed -n 2p; }
halt() { kms_stop; qt_teardown; }
# booted NAME LABEL KMS: boot, or the console's tail and a bail
booted() { check "$1" boot "$2" "$3" || { qt_console_tail 40; bail "no boot: $1"; }; }
# seen NAME REGEX SECONDS: a console line within SECONDS (else its tail)
seen() { check "$1" wait_console "$2" "$3" || qt_console_tail 30; }
# unseen NAME REGEX: no console line matches
unseen() { if grep -qE -- "$2" <<<"$console"; then nok "$1"; else ok "$1"; fi; }

check "setup: the KMS's keys (build/qemu-kms/kms-state)" sh -c 'true' && {
  qt_setup "$work/keygen" || bail "could not set up a namespace"
  check "setup: the KMS made its wrapping key" kms_key || bail "no KMS key"
  qt_teardown
}
check "setup: the kms image (build/qemu-kms/image)" kms_image ||
  { tail -n 20 "$work/build-image.log" >&2; bail "no kms image"; }
check "setup: a blank 128 MiB data disk" truncate -s 128M "$disk"
# a new disk for I1: the KMS forgets the instance's record of an earlier
# run (its freshness would be a newer log than this disk's); its keys stay
check "setup: the KMS forgets instance I1 of an earlier run" rm -f "$kstate/instances/${I1:0:32}.json"
check "setup: an allowlist that does not match the image (RTMR2 zeroed)" \
  sh -c "jq '.rtmr2 = \"$(printf '0%.0s' $(seq 96))\"' '$kimg/measurements.json' > '$work/other-measurements.json'"
FN_DIR=$work/bodies
SECRET_VALUE=kms-sealed-5c0ffee1d2
printf '{"name": "KMS_T_SECRET", "value": "%s"}' "$SECRET_VALUE" > "$work/secret.json"

# --- 1: first boot ------------------------------------------------------------------
booted "boot 1 (blank disk, KMS up) reaches the ready line" first up
expect_match "the store waits for the KMS's key, the rows that need it held" "$console" \
  'init: store: vd[a-z], key provider kms, instance 1111111111111111: waiting for the KMS.s key'
seen "the store opens once the KMS answered (formatted)" \
  'init: store: formatted vd[a-z], 127 MiB aes-xts-plain64, key provider kms, instance 1111111111111111' 120
expect_match "keyd wrote the request" "$console" 'init: store: key provider kms: keyd wrote the request \([0-9]+ bytes'
expect_match "netd carried it: a wrapped key, first attempt" "$console" \
  'init: store: key provider kms: a wrapped key from the KMS \(attempt 1, [0-9]+ ms\)'
while IFS= read -r l; do diag "$l"; done < <(grep -oE '(keyd wrote the request|a wrapped key from the KMS|store: formatted) .*' <<<"$console")
unseen "nothing says insecure dev key" 'insecure dev key'
check "logd starts on the store" wait_console 'init: logd: serving' 60
check "sandboxd starts" wait_console 'init: sandboxd: serving' 120
s=$(info .store)
check "/v1/info: formatted, kms, instance I1 ($s)" \
  [ "$(jq -r '[.state, .key_provider, .insecure_dev_key, .instance] | join(" ")' <<<"$s")" = "formatted kms false $I1" ]
ev=$(inns curl -s --max-time 60 "http://$ADDR:$PORT/v1/attestation?nonce=$(printf 'ab%.0s' $(seq 32))" |
     jq -c '[.event_log | if type == "string" then fromjson else . end | .[] | select(.name == "instance-id" or .name == "app-id" or .name == "key-provider") | .name]')
check "the event log: instance-id, app-id, key-provider in that order ($ev)" \
  [ "$ev" = '["instance-id","app-id","key-provider"]' ]
fn_api_starting 120 POST /api/secrets "$work/secret.json"
expect "a secret put on the store (200)" 200 '.name == "KMS_T_SECRET"'
fn_api GET /v1/secrets
expect "sealed with the store key" 200 \
  '[.secrets[] | select(.name == "KMS_T_SECRET" and .sealing == "aes-256-gcm, store key")] | length == 1'
size1=$(tree_size)
check "the log has entries (tree size $size1)" [ "${size1:-0}" -ge 1 ]
check "the KMS released the key (its log)" grep -q "released the key of $APP/" "$work/first/kms.log"
# freshness (docs/KMS.md "POST /v1/freshness"): keyd signs each log head
# again as a record, netd posts it; the KMS keeps the latest per instance
check "netd posted a freshness record, the KMS kept it (console)" \
  wait_console 'netd: kms: freshness record of size [0-9]+: kept by the KMS' 30
check "the KMS's log: a freshness record of this instance" \
  grep -qE "freshness of ${I1:0:32}: tree size [1-9][0-9]*, generation 0" "$work/first/kms.log"
kms_size() { jq -r '.freshness' "$kstate/instances/${I1:0:32}.json" | sed -n 2p; }
fsize=$(kms_size)
check "the KMS's instance record keeps it (tree size $fsize)" [ "${fsize:-0}" -ge 1 ]
halt
check "the raw disk does not hold the secret" sh -c "! grep -qa '$SECRET_VALUE' '$disk'"
check "a copy of the disk as the first boot left it (for the rollback boot)" \
  cp --sparse=always "$disk" "$work/old.img"
fsize=$(kms_size)   # the last record the first boot posted

# --- 2: the same disk again -----------------------------------------------------------
booted "boot 2 (same disk, KMS up) reaches the ready line" second up
seen "the same key: the header verifies, the store is opened" \
  'init: store: vd[a-z], 127 MiB aes-xts-plain64, key provider kms, instance 1111111111111111, ext4 on /run/store' 120
unseen "no second format" 'blank header'
check "logd reopens the first boot's log" wait_console 'logd: store /state/log: [1-9][0-9]* entries' 60
seen "the KMS returned the first boot's freshness record; the log holds it" \
  "init: store: rollback check: the log \\([0-9]+ entries\\) holds the KMS's freshness record of size [1-9][0-9]*" 60
check "/v1/info: store open" [ "$(info .store.state)" = '"open"' ]
check "sandboxd starts (after the check)" wait_console 'init: sandboxd: serving' 120
fn_api_starting 120 GET /v1/secrets
expect "the first boot's secret is there" 200 \
  '[.secrets[] | select(.name == "KMS_T_SECRET")] | length == 1'
size2=$(tree_size)
check "the log kept the first boot's entries and grew ($size1 -> $size2)" [ "${size2:-0}" -gt "${size1:-0}" ]
# the record of a head beyond the copy's log reaches the KMS
for _ in $(seq 30); do [ "$(kms_size)" -gt "$fsize" ] 2>/dev/null && break; sleep 1; done
fsize2=$(kms_size)
check "the KMS keeps this boot's newer record ($fsize -> $fsize2)" [ "${fsize2:-0}" -gt "$fsize" ]
halt

# --- 3: the KMS down --------------------------------------------------------------------
sha_before=$(sha256sum < "$disk")
booted "boot 3 (KMS down) reaches the ready line" down down
seen "a console line per failed attempt, with netd's reason" \
  'init: store: key provider kms: attempt 2 failed: netd: connect_failed: kms.test.internal:8547: refused.*; retrying in 2 s' 60
seen "then the give-up, clearly" \
  'init: store: REFUSED: key provider kms: no key after [0-9]+ attempts in [0-9]+ s, giving up: netd: connect_failed' 90
expect_match "logd and sandboxd stay held" "$console" 'logd and sandboxd stay held; PID 1 and the API run on'
unseen "logd and sandboxd never started" 'init: (logd|sandboxd) started'
check "/healthz still answers" sh -c "ip netns exec '$NS' curl -sf --max-time 20 'http://$ADDR:$PORT/healthz' >/dev/null"
s=$(info .store)
check "/v1/info: refused, with the reason ($s)" \
  sh -c "jq -e '.state == \"refused\" and (.summary | test(\"no key after [0-9]+ attempts\"))' >/dev/null <<'EOF'
$s
EOF"
halt
check "the disk is unchanged" [ "$(sha256sum < "$disk")" = "$sha_before" ]

# --- 4: a KMS with another allowlist -------------------------------------------------------
booted "boot 4 (KMS with another allowlist) reaches the ready line" other other
seen "refused at once with the KMS's code and message" \
  'init: store: REFUSED: key provider kms: KMS refused \(HTTP 403, measurements\)' 90
unseen "a 403 is not retried" 'attempt 1 failed'
s=$(info .store.summary)
expect_match "/v1/info names the KMS's code and message ($s)" "$s" 'KMS refused \(HTTP 403, measurements\): MRTD [0-9a-f]'
check "/healthz still answers" sh -c "ip netns exec '$NS' curl -sf --max-time 20 'http://$ADDR:$PORT/healthz' >/dev/null"
halt
check "the disk is unchanged" [ "$(sha256sum < "$disk")" = "$sha_before" ]

# --- 5: rollback: the first boot's copy put back ---------------------------------------------
check "setup: the copy of the first boot's disk put back" cp --sparse=always "$work/old.img" "$disk"
booted "boot 5 (the old copy, KMS up) reaches the ready line" rollback up
seen "the KMS's key opens the old copy (same instance)" \
  'init: store: vd[a-z], 127 MiB aes-xts-plain64, key provider kms, instance 1111111111111111, ext4 on /run/store' 120
seen "logd finds its log shorter than the KMS's record: rollback detected" \
  "init: store: REFUSED: key provider kms: rollback detected: the log has [0-9]+ entries, the KMS's freshness record [0-9]+" 60
seen "logd stopped, sandboxd held" 'init: store: logd stopped and sandboxd held; PID 1 and the API run on' 30
unseen "sandboxd never started" 'init: sandboxd started'
unseen "logd did not append its boot entry" 'logd: serving'
s=$(info .store)
check "/v1/info: refused, rollback detected ($s)" \
  sh -c "jq -e '.state == \"refused\" and (.summary | test(\"rollback detected\"))' >/dev/null <<'EOF'
$s
EOF"
check "/healthz still answers" sh -c "ip netns exec '$NS' curl -sf --max-time 20 'http://$ADDR:$PORT/healthz' >/dev/null"
halt

# --- 6: the same rollback under kms.on_rollback "flag", over https ----------------------------
# This image's policy also says https://, with the KMS's TLS key pinned
# (docs/STORE.md "Transport"), and the KMS serves only TLS: the key,
# the freshness record and its refusal all go through netd's TLS client.
check "setup: the KMS's TLS certificate (build/qemu-kms/tls)" kms_tls || bail "no TLS certificate"
check "setup: the kms image with on_rollback flag and https (build/qemu-kms/image-flag)" \
  kms_image "$kdir/image-flag" ".store.kms.on_rollback = \"flag\" |
    .store.kms.url = \"https://kms.test.internal:$KMS_PORT/v1/keys\" |
    .store.kms.tls_spki_sha256 = \"$KMS_PIN\"" ||
  { tail -n 20 "$work/build-image.log" >&2; bail "no flag image"; }
BOOT_IMAGE=$kdir/image-flag
KMS_TLS=1
booted "boot 6 (the old copy, on_rollback flag, https) reaches the ready line" flag up
unset KMS_TLS
check "the KMS served HTTPS with the pinned key" grep -q "TLS key $KMS_PIN" "$work/flag/kms.log"
seen "the wrapped key came over https at the first attempt" \
  'init: store: key provider kms: a wrapped key from the KMS \(attempt 1, [0-9]+ ms\)' 120
diag "boot 6 over https: $(grep -oE 'a wrapped key from the KMS \(attempt 1, [0-9]+ ms\)' <<<"$console" | head -1)"
seen "a freshness record posted over https, the KMS's refusal read back (it keeps a newer one)" \
  'netd: kms: freshness record of size [0-9]+: KMS refused \(HTTP 409, freshness_' 120
seen "the rollback is said, and the store starts anyway" \
  "init: store: ROLLBACK DETECTED \\(rollback: the log has [0-9]+ entries, the KMS's freshness record [0-9]+\\); the policy's kms.on_rollback is \"flag\": starting anyway" 90
check "sandboxd starts" wait_console 'init: sandboxd: serving' 120
s=$(info .store)
check "/v1/info: open, rollback named, the summary says ROLLBACK DETECTED ($s)" \
  sh -c "jq -e '.state == \"open\" and (.rollback | test(\"^rollback: the log has [0-9]+ entries\")) and (.summary | test(\"ROLLBACK DETECTED\"))' >/dev/null <<'EOF'
$s
EOF"
fn_api_starting 120 GET /v1/secrets
expect "the old copy's secret is served" 200 '[.secrets[] | select(.name == "KMS_T_SECRET")] | length == 1'
n6=$(tree_size)
bs=$(inns curl -s --max-time 20 "http://$ADDR:$PORT/v1/log/entries?start=$(( ${n6:-1} > 8 ? ${n6:-1} - 8 : 0 ))&end=${n6:-1}" |
     jq -r '[.entries[].entry | select(.type == "boot")] | last | .store // empty')
expect_match "this boot's log entry says ROLLBACK DETECTED ($bs)" "$bs" '; ROLLBACK DETECTED: rollback: the log has [0-9]+ entries'
halt
unset BOOT_IMAGE

done_testing
