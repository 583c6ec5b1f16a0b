#!/usr/bin/env bash
# End to end: the encrypted store (docs/STORE.md) on build/image, whose
# example policy takes the disk key from the dev provider. Eight boots:
#   1  a blank 128 MiB data disk, instance I1: formatted (mke2fs through
#      dm-crypt, with project quotas), mounted, logd's log on it; a python
#      function deployed and a secret it declares put (sealed); two
#      functions with a /data of 1 and 2 MiB: one writes a marker there,
#      fills its /data to EDQUOT, the other's quota is unaffected; the raw
#      disk shows none of it
#   2  the same disk, I1 again: opened, the log kept its entries and grew;
#      the function is listed and invocable, and sees the secret; the
#      marker is read back from /data; deleted and deployed again under
#      the same name, its /data is empty
#   3  the same disk, instance I2: refused (another instance's disk)
#   4  a copy with one header bit flipped: refused (MAC)
#   5  a copy whose header says cipher_null, its MAC recomputed with the
#      dev key (qemu-test/store_hdr.py): refused by the cipher check
#   6  a copy cut to 100 MiB: refused (smaller than the header says)
#   7  a copy whose ext4 has no project quotas (as a build before them
#      formatted it; tune2fs on the host through store_hdr.py): it opens,
#      and the console, /v1/info and the function's view say the data
#      quota is NOT enforced
#   8  no data disk: "store: none (tmpfs, lost at poweroff)"
# Then store.integrity "hmac-sha256" (dm-integrity under dm-crypt), on
# build/qemu-integrity/image (build/image's policy with that change, the
# native layer only; rebuilt when its inputs changed, about 10 s):
#   9  a blank 24 MiB disk: formatted with dm-integrity (its superblock,
#      every sector written once), the log on it. With STORE_COST=1 the
#      image has the python layer too, and a function writes and fsyncs
#      8 MiB to its /data here and in boot 1 (no integrity): both times
#      are printed (the cost, docs/STORE.md)
#   10 the same disk again: opened, the log kept its entries
#   11 a copy with one byte flipped in every sector of the integrity area
#      past dm-integrity's superblock: the store is refused with an I/O
#      error (dm-integrity's HMAC check), never garbage read as ext4
#   12 boot 2's disk (integrity none, a valid MAC) under this policy:
#      refused, the header's mode is not the policy's (no downgrade)
# Every refusal: the console line, /v1/info's reason, logd and sandboxd not
# started, the API up, the disk unchanged.
. "$(dirname "$0")/setup.sh" || { echo "Bail out! cannot load qemu-test/t/setup.sh"; exit 1; }
. "$top/qemu-test/fn.sh" || bail "cannot load qemu-test/fn.sh"
command -v jq >/dev/null || bail "jq is needed"
command -v python3 >/dev/null || bail "python3 is needed"
man=$image/manifest.json
[ "$(jq -r '.policy.store.key_provider // empty' "$man")" = dev ] ||
  bail "build/image's policy has no dev store (rebuild it: make image)"
devkey=$(jq -r '.policy.store.insecure_dev_key' "$man")
hdr=$top/qemu-test/store_hdr.py

work=$(mktemp -d "${TMPDIR:-/tmp}/dshield-store.XXXXXX")
trap 'qt_teardown; rm -rf "$work"' EXIT
I1=$(printf '1%.0s' $(seq 64))
I2=$(printf '2%.0s' $(seq 64))
disk=$work/data.img
check "setup: a blank 128 MiB data disk" truncate -s 128M "$disk"
FN_DIR=$work/bodies
# markers the raw disk must never show: the secret's value, the code's text
SECRET_VALUE=sealed-value-4b1d9e07c2
CODE_MARK=code-mark-7f3a91e5d0
printf '%s\n' "# $CODE_MARK: a function whose code and secret live on the encrypted store" \
  'import os' 'def handler(request):' \
  '    return {"secret": os.environ.get("STORE_T_SECRET", ""), "input": request["body"]}' \
  > "$work/store_t.py"
printf '%s' '{"n": 1}' > "$work/in.json"
# a function with a /data (docs/SANDBOXD.md, "Data directories")
DATA_MARK=data-mark-5e8c1b27aa
cat > "$work/data_t.py" <<'PY'
import errno, os
def handler(request):
    b = request["body"]
    op = b.get("op")
    if op == "write":
        with open("/data/note.txt", "w") as f:
            f.write(b["text"])
            f.flush()
            os.fsync(f.fileno())
        return {"ok": True}
    if op == "read":
        try:
            with open("/data/note.txt") as f:
                return {"text": f.read()}
        except FileNotFoundError:
            return {"text": None, "entries": sorted(os.listdir("/data"))}
    if op == "fill":
        n = 0
        chunk = b"x" * 65536
        try:
            with open("/data/fill.bin", "wb") as f:
                while n < int(b["max"]):
                    f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
                    n += len(chunk)
            return {"wrote": n, "errno": None}
        except OSError as e:
            return {"wrote": n, "errno": errno.errorcode.get(e.errno, str(e.errno))}
    if op == "time":
        import time
        chunk = os.urandom(65536)
        t0 = time.monotonic()
        with open("/data/time.bin", "wb") as f:
            for _ in range(int(b["mib"]) * 16):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        return {"ms": int((time.monotonic() - t0) * 1000)}
    return {"op": op}
PY
data_req() { printf '%s' "$1" > "$work/req.json"; fn_call POST "/invoke/$2" "$work/req.json"; }
printf '{"name": "STORE_T_SECRET", "value": "%s"}' "$SECRET_VALUE" > "$work/secret.json"

# boot LABEL DISK INSTANCE: a fresh namespace and QEMU with that disk
# (none when DISK is empty); sets NS ADDR PORT console, or fails.
boot() {
  local label=$1
  QT_DATA_DISK=$2 QT_INSTANCE=$3
  export QT_DATA_DISK QT_INSTANCE
  qt_setup "$work/$label" && qt_boot "${BOOT_IMAGE:-$image}" && qt_wait_ready "${QT_TIMEOUT:-180}" || return 1
  NS=$QT_NS ADDR=$QT_ADDR PORT=8080
  console=$(tr -d '\r' < "$QT_CONSOLE")
}
info_store() { inns curl -s --max-time 20 "http://$ADDR:$PORT/v1/info" | jq -c "$1"; }
tree_size() { inns curl -s --max-time 30 "http://$ADDR:$PORT/v1/log/checkpoint?fresh=1" | sed -n 2p; }
disk_sha() { sha256sum < "$1" | cut -d' ' -f1; }
# boot_store N [M]: the store line of the first boot entry (version 3)
# among the log's entries N..M-1 (M: N + 1)
boot_store() {
  inns curl -s --max-time 20 "http://$ADDR:$PORT/v1/log/entries?start=$1&end=${2:-$(($1 + 1))}" |
    jq -r '[.entries[].entry | select(.type == "boot" and .v == 3)][0].store // empty'
}

# --- 1: first boot ------------------------------------------------------------------
check "boot 1 (blank disk, instance I1) reaches the ready line" boot first "$disk" "$I1" ||
  { qt_console_tail 40; bail "no first boot"; }
expect_match "the data disk is found by its serial, the dev key named insecure" "$console" \
  'init: store: data disk vd[a-z] \([0-9]+:[0-9]+, 134217728 bytes\), key provider dev \(insecure dev key\)'
expect_match "a blank header is a first boot: formatting" "$console" \
  'store: vd[a-z]: blank header: first boot of this instance, formatting 127 MiB'
expect_match "mke2fs ran from the image" "$console" 'store: mke2fs done \([0-9]+ ms\)'
expect_match "formatted with project quotas, mounted prjquota" "$console" \
  'init: store: project quotas on \(functions. data directories\)'
expect_match "formatted and mounted nodev,nosuid,noexec" "$console" \
  'store: formatted vd[a-z], 127 MiB aes-xts-plain64, key provider dev \(insecure dev key\), instance 1111111111111111, ext4 on /run/store \(nodev,nosuid,noexec\)'
expect_match "logd runs, its log on the store" "$console" 'init: logd: serving \(0 entries\)'
s=$(info_store .store)
check "/v1/info: store formatted, dev, insecure, instance I1 ($s)" \
  [ "$(jq -r '[.state, .key_provider, .insecure_dev_key, .instance] | join(" ")' <<<"$s")" = "formatted dev true $I1" ]
expect_match "/v1/info: the summary says insecure dev key" "$s" '"summary":"store: formatted vd[a-z], .*\(insecure dev key\)'
size1=$(tree_size)
check "the log has its boot entry (tree size $size1)" [ "${size1:-0}" -ge 1 ]
b=$(boot_store 0)
expect_match "the log's boot entry names the store, insecure dev key and all ($b)" "$b" \
  '^store: formatted vd[a-z], 127 MiB aes-xts-plain64, key provider dev \(insecure dev key\), instance 1111111111111111'
body=$(fn_deploy_body store-t python "$work/store_t.py" '{"envVars": ["STORE_T_SECRET"]}') ||
  bail "no deployment body"
fn_api_starting 120 POST /api/secrets "$work/secret.json"
expect "a secret put on the store (200)" 200 '.name == "STORE_T_SECRET"'
fn_api GET /v1/secrets
expect "it is sealed with the store key" 200 \
  '[.secrets[] | select(.name == "STORE_T_SECRET" and .sealing == "aes-256-gcm, store key")] | length == 1'
fn_api POST /api/functions "$body"
expect "a python function deployed on the store (201)" 201 '.id == "store-t"'
fn_call POST /invoke/store-t "$work/in.json"
expect "invoked: it sees the secret" 200 ".secret == \"$SECRET_VALUE\" and .input.n == 1"
console=$(tr -d '\r' < "$QT_CONSOLE")
expect_match "sandboxd says its secrets are sealed" "$console" \
  'sandboxd: serving: .*secrets sealed: aes-256-gcm, store key'
expect_match "sandboxd says the data quotas are enforced" "$console" \
  'sandboxd: serving: .*data quotas enforced'
check "/v1/info: store.data_quota true" [ "$(info_store .store.data_quota)" = true ]
fn_api POST /v1/functions "$(fn_deploy_body data-t python "$work/data_t.py" '{"limits": {"data_mb": 1}}')"
expect "a function with a 1 MiB /data deployed (201)" 201 \
  '.data.path == "/data" and .data.quota_mb == 1 and .data.quota_enforced == true'
fn_api POST /v1/functions "$(fn_deploy_body data-u python "$work/data_t.py" '{"limits": {"data_mb": 2}}')"
expect "another with 2 MiB (201)" 201 '.data.quota_mb == 2 and .data.quota_enforced == true'
data_req "{\"op\": \"write\", \"text\": \"$DATA_MARK\"}" data-t
expect "it writes a marker to /data" 200 '.ok == true'
data_req '{"op": "read"}' data-t
expect "and reads it back" 200 ".text == \"$DATA_MARK\""
data_req '{"op": "fill", "max": 4194304}' data-t
expect "writing past its 1 MiB quota fails with EDQUOT inside the function" 200 \
  '.errno == "EDQUOT" and .wrote < 1048576 and .wrote >= 786432'
fn_api GET /v1/functions/data-t
expect "its view shows the usage at the quota" 200 \
  '.data.used_bytes > 786432 and .data.used_bytes <= 1048576'
data_req '{"op": "fill", "max": 1572864}' data-u
expect "the other function's quota is its own: 1.5 MiB written" 200 '.errno == null and .wrote == 1572864'
if [ "${STORE_COST:-0}" = 1 ]; then
  fn_api POST /v1/functions "$(fn_deploy_body time-t python "$work/data_t.py" '{"limits": {"data_mb": 16}}')"
  expect "a function with a 16 MiB /data for the cost figure (201)" 201
  data_req '{"op": "time", "mib": 8}' time-t
  expect "it writes and fsyncs 8 MiB (no integrity)" 200 '.ms >= 0'
  ms_plain=$(jq -r .ms <<<"$FN_BODY")
fi
qt_teardown

check "the header on the disk: magic, cipher, instance, provider" \
  sh -c "python3 '$hdr' show '$disk' | tr '\n' ' ' | grep -q 'magic DSHSTORE .*instance $I1 cipher aes-xts-plain64 key_bits 512 .*provider dev'"
man_hash=$(jq -r '.layers[0].root_hash' "$man")
check "the raw disk holds no log entry text (\"type\":\"boot\")" \
  sh -c "! grep -qa '\"type\":\"boot\"' '$disk'"
check "nor the checkpoint origin nor a layer root hash" \
  sh -c "! grep -qaE 'dshield-log/|$man_hash' '$disk'"
check "nor the secret's value (in clear or base64)" \
  sh -c "! grep -qaE '$SECRET_VALUE|$(printf %s "$SECRET_VALUE" | base64 -w0 | cut -c1-16)' '$disk'"
check "nor the function's code" sh -c "! grep -qa '$CODE_MARK' '$disk'"
check "nor what a function wrote to its /data" sh -c "! grep -qa '$DATA_MARK' '$disk'"

# --- 2: the same disk again -----------------------------------------------------------
check "boot 2 (same disk, I1) reaches the ready line" boot second "$disk" "$I1" ||
  { qt_console_tail 40; bail "no second boot"; }
expect_match "the header verifies, the store is opened (not formatted)" "$console" \
  'init: store: vd[a-z], 127 MiB aes-xts-plain64, key provider dev \(insecure dev key\), instance 1111111111111111, ext4 on /run/store'
if grep -q 'blank header' <<<"$console"; then nok "no second format"; else ok "no second format"; fi
expect_match "logd reopens the log with the first boot's entries" "$console" \
  'logd: store /state/log: [1-9][0-9]* entries'
check "/v1/info: store open" [ "$(info_store .store.state)" = '"open"' ]
size2=$(tree_size)
check "the log survived the reboot and grew ($size1 -> $size2)" [ "${size2:-0}" -gt "${size1:-0}" ]
expect_match "the first boot's entry is still there" "$(boot_store 0)" '^store: formatted vd[a-z]'
expect_match "this boot's entry says opened, insecure dev key" "$(boot_store "$size1" "$size2")" \
  '^store: vd[a-z], 127 MiB aes-xts-plain64, key provider dev \(insecure dev key\)'
fn_api_starting 120 GET /api/functions/store-t
expect "the function survived the reboot: listed" 200 '.id == "store-t" and .runtime == "python"'
fn_call POST /invoke/store-t "$work/in.json"
expect "invocable, and it sees the secret, unsealed" 200 ".secret == \"$SECRET_VALUE\" and .input.n == 1"
fn_api GET /v1/secrets
expect "the secret is listed, sealed, readable" 200 \
  '[.secrets[] | select(.name == "STORE_T_SECRET" and .sealing == "aes-256-gcm, store key" and (has("unreadable") | not))] | length == 1'
data_req '{"op": "read"}' data-t
expect "/data survived the reboot: the marker read back" 200 ".text == \"$DATA_MARK\""
fn_api GET /v1/functions/data-t
expect "its quota still enforced, its usage still counted" 200 \
  '.data.quota_enforced == true and .data.used_bytes > 786432'
fn_api DELETE /v1/functions/data-t
expect "deleted" 200
fn_api POST /v1/functions "$FN_DIR/data-t.json"
expect "deployed again under the same name (201)" 201 '.data.quota_enforced == true'
data_req '{"op": "read"}' data-t
expect "its /data is empty: nothing of the deleted function's" 200 '.text == null and .entries == []'
data_req '{"op": "fill", "max": 786432}' data-t
expect "and its quota is whole again" 200 '.errno == null and .wrote == 786432'
qt_teardown
check "after boot 2, still neither the secret nor the code nor /data's text on the raw disk" \
  sh -c "! grep -qaE '$SECRET_VALUE|$CODE_MARK|$DATA_MARK' '$disk'"
good=$(disk_sha "$disk")

# refused LABEL DISK INSTANCE REASON_REGEX WHAT: one boot that must refuse
refused() {
  local label=$1 d=$2 inst=$3 re=$4 what=$5 s
  check "boot $label reaches the ready line (netd and keyd run)" boot "$label" "$d" "$inst" ||
    { qt_console_tail 40; qt_teardown; return; }
  expect_match "$what: the console says why" "$console" "init: store: REFUSED \\(insecure dev key\\): $re"
  s=$(info_store .store)
  check "$what: /v1/info state refused ($s)" [ "$(jq -r .state <<<"$s")" = refused ]
  expect_match "$what: /v1/info gives the reason" "$s" "\"summary\":\"store: REFUSED \\(insecure dev key\\): $re"
  expect_match "$what: logd is held" "$console" 'init: logd not started: store: REFUSED'
  expect_match "$what: sandboxd is held" "$console" 'init: sandboxd not started: store: REFUSED'
  if grep -qE 'init: (logd|sandboxd) started' <<<"$console"; then nok "$what: neither ever starts"
  else ok "$what: neither ever starts"; fi
  expect_match "$what: the API still answers" "$(inns curl -s --max-time 10 "http://$ADDR:$PORT/healthz")" '"status":"ok"'
  qt_teardown
}

# --- 3: another instance --------------------------------------------------------------
refused 3-instance "$disk" "$I2" "store header: another instance's disk" "another instance"
check "the refused boot left the disk as it was" [ "$(disk_sha "$disk")" = "$good" ]

# --- 4: one bit of the header flipped ---------------------------------------------------
cp --sparse=always "$disk" "$work/flip.img"
check "setup: one bit flipped in the header's data size" python3 "$hdr" flip "$work/flip.img" 100
refused 4-flip "$work/flip.img" "$I1" "store header: MAC does not verify" "tampered header"
rm -f "$work/flip.img"

# --- 5: cipher_null under a valid MAC ---------------------------------------------------
cp --sparse=always "$disk" "$work/null.img"
check "setup: the header says cipher_null, MAC recomputed with the dev key" \
  python3 "$hdr" set "$work/null.img" "$devkey" cipher=cipher_null
refused 5-cipher "$work/null.img" "$I1" \
  "store header: cipher cipher_null \\(512 bits\\), the policy wants aes-xts-plain64" "cipher_null"
rm -f "$work/null.img"

# --- 6: a truncated disk -------------------------------------------------------------------
cp --sparse=always "$disk" "$work/short.img"
check "setup: the disk cut to 100 MiB" truncate -s 100M "$work/short.img"
refused 6-short "$work/short.img" "$I1" \
  "store header: needs 262144 sectors, the disk has 204800" "truncated disk"
rm -f "$work/short.img"
check "the disk is still the one boot 2 left" [ "$(disk_sha "$disk")" = "$good" ]

# --- 7: a store formatted before project quotas ----------------------------------------------
cp --sparse=always "$disk" "$work/old.img"
check "setup: its ext4 without project quotas, as a build before them formatted it" \
  python3 "$hdr" unquota "$work/old.img" "$devkey"
if check "boot 7 (that store, I1) reaches the ready line" boot old "$work/old.img" "$I1"; then
  expect_match "it opens, and says its data directories have no quota" "$console" \
    "init: store: formatted without project quotas: functions' data directories have NO quota"
  expect_match "opened, not refused" "$console" \
    'init: store: vd[a-z], 127 MiB aes-xts-plain64, key provider dev \(insecure dev key\), instance 1111111111111111, ext4 on /run/store'
  check "/v1/info: store open, data_quota false" [ "$(info_store '.store | "\(.state) \(.data_quota)"')" = '"open false"' ]
  fn_api_starting 120 GET /v1/functions/data-t
  expect "the function's view: its quota NOT enforced, and why" 200 \
    '.data.quota_enforced == false and (.data.reason | test("^the encrypted store: no (quota support|project quotas)"))'
  data_req '{"op": "fill", "max": 1572864}' data-t
  expect "without a quota it writes past its 1 MiB" 200 '.errno == null and .wrote == 1572864'
  console=$(tr -d '\r' < "$QT_CONSOLE")
  expect_match "sandboxd says the data quotas are NOT enforced" "$console" \
    'sandboxd: serving: .*data quotas NOT enforced'
else
  qt_console_tail 40
fi
qt_teardown
rm -f "$work/old.img"

# --- 9..12: dm-integrity ---------------------------------------------------------------------
iimg=$top/build/qemu-integrity/image
# integrity_image: build/image's policy with store.integrity "hmac-sha256",
# the native layer (and python with STORE_COST=1); rebuilt when the policy,
# dshield-init or the modules changed
integrity_image() {
  local pol=$iimg.policy.json want rts='["native"]' layers="native=$top/build/layers/native"
  if [ "${STORE_COST:-0}" = 1 ]; then
    rts='["native", "python"]' layers="$layers python=$top/build/layers/python:usr/bin/python3.13"
  fi
  mkdir -p "$(dirname "$iimg")" &&
  jq --argjson rts "$rts" '.policy | .store.integrity = "hmac-sha256" | .functions.runtimes = $rts' \
    "$man" > "$pol.new" || return 1
  want=$(cat "$pol.new" "$top/build/dshield-init" "$top/image/modules.list" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$iimg/inputs.sha256" 2>/dev/null)" = "$want" ]; then rm -f "$pol.new"; return 0; fi
  mv -f "$pol.new" "$pol" &&
  DSHIELD_INIT=$top/build/dshield-init MKCPIO=$top/build/tools/mkcpio \
    MKPOLICY=$top/build/tools/mkpolicy MKLAYERS=$top/build/tools/mklayers \
    MKANCHORS=$top/build/tools/mkanchors POLICY=$pol DEPS=$top/build/deps \
    LAYERS="$layers" \
    "$top/image/build-image" "$iimg" >"$work/build-image.log" 2>&1 &&
  echo "$want" > "$iimg/inputs.sha256"
}
check "setup: the integrity image (build/qemu-integrity/image)" integrity_image ||
  { tail -n 20 "$work/build-image.log" >&2; bail "no integrity image"; }
BOOT_IMAGE=$iimg
idisk=$work/integrity.img
check "setup: a blank 24 MiB data disk" truncate -s 24M "$idisk"
if check "boot 9 (integrity hmac-sha256, blank disk, I1) reaches the ready line" \
     boot integrity "$idisk" "$I1"; then
  expect_match "formatting with dm-integrity" "$console" \
    'store: vd[a-z]: blank header: first boot of this instance, formatting 23 MiB with dm-integrity hmac-sha256'
  expect_match "dm-integrity formatted, every sector written once (the time said)" "$console" \
    'store: dm-integrity hmac-sha256: [0-9]+ of 23 MiB provided \(tags and journal: [0-9]+ KiB\), every sector written once, direct \([0-9]+ ms\)'
  expect_match "formatted and mounted, the line names the integrity mode" "$console" \
    'store: formatted vd[a-z], [12][0-9] MiB aes-xts-plain64 \+ dm-integrity hmac-sha256, key provider dev \(insecure dev key\), instance 1111111111111111, ext4 on /run/store'
  expect_match "logd runs, its log on the store" "$console" 'init: logd: serving \(0 entries\)'
  check "/v1/info: store.integrity hmac-sha256" \
    [ "$(info_store '.store | "\(.state) \(.integrity)"')" = '"formatted hmac-sha256"' ]
  isize1=$(tree_size)
  if [ "${STORE_COST:-0}" = 1 ]; then
    fn_api_starting 120 POST /v1/functions "$FN_DIR/time-t.json"
    expect "the 16 MiB /data function deployed (201)" 201
    data_req '{"op": "time", "mib": 8}' time-t
    expect "it writes and fsyncs 8 MiB (integrity hmac-sha256)" 200 '.ms >= 0'
    ms_integ=$(jq -r .ms <<<"$FN_BODY")
    diag "cost: 8 MiB written and fsynced in a function's /data: ${ms_plain:-?} ms without integrity (boot 1), ${ms_integ:-?} ms with hmac-sha256 (boot 9)"
  fi
  grep -hE 'store: (mke2fs done|dm-integrity)' <<<"$console" | sed 's/^/# cost: /'
else
  qt_console_tail 40
fi
qt_teardown
check "the header says integrity 1 and the dm-crypt size" \
  sh -c "python3 '$hdr' show '$idisk' | tr '\n' ' ' | grep -qE 'integrity 1 .*integ_sectors [1-9]'"
check "the raw disk has dm-integrity's superblock at the data area (1 MiB)" \
  sh -c "dd if='$idisk' bs=512 skip=2048 count=1 status=none | head -c 7 | grep -q integrt"

check "boot 10 (the integrity disk again) reaches the ready line" boot integrity2 "$idisk" "$I1" ||
  qt_console_tail 40
expect_match "opened (not formatted), integrity named" "$console" \
  'init: store: vd[a-z], [12][0-9] MiB aes-xts-plain64 \+ dm-integrity hmac-sha256, key provider dev'
expect_match "logd reopens the log with boot 9's entries" "$console" 'logd: store /state/log: [1-9][0-9]* entries'
isize2=$(tree_size)
check "the log survived the reboot and grew (${isize1:-?} -> ${isize2:-?})" [ "${isize2:-0}" -gt "${isize1:-0}" ]
qt_teardown

cp --sparse=always "$idisk" "$work/rot.img"
check "setup: one byte flipped in every sector of the area past dm-integrity's superblock" \
  python3 "$hdr" rot "$work/rot.img"
refused 11-rot "$work/rot.img" "$I1" \
  "ext4 on /dev/dm-[0-9]+ does not mount \\(I/O error\\): dm-integrity: sectors fail their HMAC \\(changed outside this VM\\)" "changed sectors"
rm -f "$work/rot.img"

refused 12-downgrade "$disk" "$I1" \
  "store header: integrity none, the policy wants hmac-sha256" "integrity none under hmac-sha256"
check "the refused boot left the disk as it was" [ "$(disk_sha "$disk")" = "$good" ]
unset BOOT_IMAGE

# --- 8: no data disk -------------------------------------------------------------------------
check "boot 8 (no data disk) reaches the ready line" boot none "" ""
expect_match "no data disk: state on tmpfs, said on the console" "$console" \
  'init: store: none \(tmpfs, lost at poweroff\)'
expect_match "and in /v1/info" "$(info_store .store)" \
  '"state":"none",.*"summary":"store: none \(tmpfs, lost at poweroff\)"'
expect_match "logd runs on tmpfs" "$console" 'init: logd: serving \(0 entries\)'
fn_api_starting 120 POST /api/secrets "$work/secret.json"
expect "no data disk: a secret put (on tmpfs)" 200 '.name == "STORE_T_SECRET"'
fn_api GET /v1/secrets
expect "it says it is not sealed, and why" 200 \
  '[.secrets[] | select(.sealing == "none (no data disk: tmpfs)")] | length == 1'
console=$(tr -d '\r' < "$QT_CONSOLE")
expect_match "sandboxd says its secrets are not sealed, and why" "$console" \
  'sandboxd: serving: .*secrets sealed: none \(no data disk: tmpfs\)'
b=$(boot_store 0)
check "the log's boot entry says so ($b)" [ "$b" = "store: none (tmpfs, lost at poweroff)" ]
qt_teardown

grep -hE 'store:' "$work"/*/console.log 2>/dev/null | tr -d '\r' | sed 's/^/# /'
done_testing
