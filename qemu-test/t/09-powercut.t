#!/usr/bin/env bash
# Power cuts that really lose what was not flushed (docs/STORE.md, "Power
# cuts"). QEMU's own writes sit in the host's page cache, so killing it
# loses nothing: the data disk is served instead by qemu-test/powercut.py's
# NBD server, which records every write and flush in a journal.
#   1  one boot on a blank 32 MiB disk through that server (instance I1):
#      formatted, then a workload from outside (secrets put, functions
#      deployed, updated and deleted, invocations, signed checkpoints),
#      each request's acknowledgement placed in the journal
#   2  crash points: one per flushed state (every FLUSH; FUA if any), random
#      points between flushes (a random subset of the sectors written since
#      the last flush kept), the last record; at least 100. Each disk
#      rebuilt and checked on the host (tests/store_crash.c, e2fsck,
#      debugfs, dshield log verify): the header verifies, ext4 is
#      consistent after its journal replay, sandboxd's and logd's stores
#      open, every acknowledged function, secret and log entry is there
#      A negative control (a disk that dropped flushed writes) must fail;
#      a superblock write cut between its two sectors is a real tear
#   3  three of those disks booted: opened, the log verifies over the API,
#      the functions the host found are the ones listed and they answer;
#      the last one's boot is recorded as well
#   4  the last disk with that boot's mount superblock write torn after its
#      first sector, booted: init restores the checksum, e2fsck -p, the
#      store opens, and the checks of 3 pass
. "$(dirname "$0")/setup.sh" || { echo "Bail out! cannot load qemu-test/t/setup.sh"; exit 1; }
. "$top/qemu-test/fn.sh" || bail "cannot load qemu-test/fn.sh"
for t in jq python3 e2fsck debugfs; do
  command -v "$t" >/dev/null || bail "$t is needed"
done
man=$image/manifest.json
[ "$(jq -r '.policy.store.key_provider // empty' "$man")" = dev ] ||
  bail "build/image's policy has no dev store (rebuild it: make image)"
TOOL=$top/build/tests/bin/store_crash
DSHIELD=$top/build/dshield
PC=$top/qemu-test/powercut.py
[ -x "$TOOL" ] && [ -x "$DSHIELD" ] || bail "build/tests/bin/store_crash or build/dshield is missing (make)"
ITER=${PC_ITERATIONS:-8}
# the unit a cut keeps or loses of a write not yet flushed (powercut.py)
PIECE=${PC_PIECE:-4096}

work=$(mktemp -d "${TMPDIR:-/tmp}/dshield-powercut.XXXXXX")
NBD=
nbd_stop() { [ -z "$NBD" ] || { kill "$NBD" 2>/dev/null; wait "$NBD" 2>/dev/null; NBD=; }; }
# PC_KEEP=1: keep the work directory (journal, points, results) for a look
cleanup() {
  qt_teardown
  nbd_stop
  if [ "${PC_KEEP:-0}" = 1 ]; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
I1=$(printf '1%.0s' $(seq 64))
FN_DIR=$work/bodies

# nbd_start [JOURNAL]: serve $work/disk.img, recording into JOURNAL ($work/journal)
nbd_start() {
  rm -f "$work/nbd.sock"
  python3 "$PC" serve "$work/nbd.sock" "$work/disk.img" "${1:-$work/journal}" 2>>"$work/nbd.log" &
  NBD=$!
  local i
  for i in $(seq 50); do
    [ -S "$work/nbd.sock" ] && return 0
    sleep 0.1
  done
  return 1
}

# boot LABEL: a fresh namespace and QEMU with the data disk QT_DATA_DISK or
# QT_DATA_DRIVE; sets NS ADDR PORT console, or fails.
boot() {
  qt_setup "$work/$1" || return 1
  trap cleanup EXIT     # qt_setup's trap tears down QEMU only
  qt_boot "$image" && qt_wait_ready "${QT_TIMEOUT:-180}" || return 1
  NS=$QT_NS ADDR=$QT_ADDR PORT=8080
  console=$(tr -d '\r' < "$QT_CONSOLE")
}

# verify_api ATTESTATION: the booted VM's log over its API, its output kept
verify_api() {
  inns "$DSHIELD" log verify "$QT_URL" --attestation "$1" --allow-sim --no-collateral \
    >"$1.verify" 2>&1
}

# --- aes-xts-plain64 as the host tool decrypts it ------------------------------------
head -c 4096 /dev/urandom > "$work/xts.in"
key=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')
if python3 -c 'import cryptography' 2>/dev/null; then
  "$TOOL" xts "$key" 777 8 < "$work/xts.in" > "$work/xts.out"
  check "store_crash's aes-xts-plain64 (IV: the sector number, little-endian) equals Python cryptography's" \
    python3 -c '
import sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
k, c, m = bytes.fromhex(sys.argv[1]), open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
out = b"".join(Cipher(algorithms.AES(k), modes.XTS((777 + s).to_bytes(16, "little"))).decryptor()
               .update(c[512 * s:512 * s + 512]) for s in range(8))
sys.exit(0 if out == m and len(m) == 4096 else 1)' "$key" "$work/xts.in" "$work/xts.out"
else
  ok "# skip Python cryptography is not installed (the ext4 checks below need a right decryption anyway)"
fi

# --- 1: the workload, recorded ------------------------------------------------------------
check "setup: a blank 32 MiB data disk, and a copy as the base" \
  sh -c "truncate -s 32M '$work/disk.img' && cp --sparse=always '$work/disk.img' '$work/base.img'"
# (check's status is ok's or nok's: the bail needs its own test)
if nbd_start; then ok "setup: the recording NBD server listens"; else nok "setup: the recording NBD server listens"; bail "no NBD server"; fi
export QT_DATA_DRIVE="file=nbd+unix:///?socket=$work/nbd.sock,format=raw" QT_INSTANCE=$I1
if boot workload; then
  ok "boot on the recording disk (instance I1) reaches the ready line"
else
  nok "boot on the recording disk (instance I1) reaches the ready line"
  qt_console_tail 40; bail "no boot"
fi
expect_match "the blank disk is formatted through the NBD server" "$console" \
  'store: formatted vd[a-z], 31 MiB aes-xts-plain64, key provider dev \(insecure dev key\), instance 1111111111111111'
out=$(inns python3 "$PC" workload "$QT_URL" "$work/journal" "$work/ops.json" "$ITER" 2>&1)
check "the workload: $ITER rounds, every request acknowledged ($(head -1 <<<"$out"))" \
  [ "$(jq '.failures | length' "$work/ops.json" 2>/dev/null)" = 0 ]
grep '^failure' <<<"$out" | head -5 | sed 's/^/# /'
qt_teardown
unset QT_DATA_DRIVE
nbd_stop
check "the NBD server said nothing on stderr" [ ! -s "$work/nbd.log" ]

# --- 2: every crash point, checked on the host -------------------------------------------------
pts=$(python3 "$PC" points "$work/journal" "$work/points.json" --random 30 --least 100)
diag "journal: $pts"
npts=$(jq '[.[] | select(.kind != "liar")] | length' "$work/points.json")
check "at least 100 crash points ($npts)" [ "${npts:-0}" -ge 100 ]
# three to boot: a flushed state 60% of the way, a cut between flushes at
# 80%, the last record
keep=$(jq -r '[to_entries[] | select(.value.kind == "flush") | .key] as $f |
  [to_entries[] | select(.value.kind == "between") | .key] as $b |
  [$f[($f | length) * 6 / 10 | floor], $b[($b | length) * 8 / 10 | floor], length - 1] | map(tostring) | join(",")' \
  "$work/points.json")
t0=$(qt_now_ms)
python3 "$PC" check "$work/base.img" "$work/journal" "$work/points.json" "$work/ops.json" "$man" \
  "$TOOL" "$DSHIELD" "$work" "$work/results.jsonl" "$work/disk.img" "$keep" "$PIECE"
diag "host checks: $(( ($(qt_now_ms) - t0) / 1000 )) s for $(wc -l < "$work/results.jsonl") points"
R=$work/results.jsonl
count() { jq -s "[.[] | select(.kind != \"liar\") | select($1)] | length" "$R"; }
fails_of() { jq -r "select(.kind != \"liar\") | select(.fails | map(select($1)) | length > 0) | \"point \(.n) (\(.kind), record \(.index)): \(.fails | map(select($1)) | join(\" | \"))\"" "$R" | head -5 | cut -c1-900 | sed 's/^/# /'; }
check "every point was checked ($(count true) of $npts, and the liar)" [ "$(wc -l < "$R")" = "$((npts + 1))" ]
n=$(count '.fails | map(select(startswith("header"))) | length > 0')
check "the header parses and its MAC verifies at every point ($(count '.facts.header == "blank"') blank: before the format wrote it, nothing acknowledged yet)" [ "$n" = 0 ]
fails_of 'startswith("header")'
n=$(count '.fails | map(select(startswith("e2fsck"))) | length > 0')
check "ext4 after its journal replay: e2fsck -fp needs no more than preen fixes, then e2fsck -fn finds nothing" [ "$n" = 0 ]
fails_of 'startswith("e2fsck")'
diag "what preen fixed: $(jq -s -c '[.[].facts.preen_said // [] | .[]] | group_by(.) | map({(.[0]): length}) | add // {}' "$R")"
n=$(count '.fails | map(select(startswith("bad") or startswith("store_crash") or startswith("no role"))) | length > 0')
check "sandboxd's store and logd's log open and read at every point ($(count '.facts.recovered > 0') with a cut write's temp file removed, $(count '.facts.torn > 0') with a torn log tail dropped)" [ "$n" = 0 ]
fails_of 'startswith("bad") or startswith("store_crash") or startswith("no role")'
n=$(count '.fails | map(select(startswith("function") or startswith("secret"))) | length > 0')
check "every acknowledged function and secret is there, as acknowledged or as the request in flight, and nothing else" [ "$n" = 0 ]
fails_of 'startswith("function") or startswith("secret")'
n=$(count '.fails | map(select(startswith("log") or startswith("dshield"))) | length > 0')
check "logd's log holds every acknowledged entry: dshield log verify against the checkpoint the VM signed when acknowledging" [ "$n" = 0 ]
fails_of 'startswith("log") or startswith("dshield")'
check "the last point rebuilt is the disk the server wrote" [ "$(count '.facts.same_as_served == true')" = 1 ]
withfn=$(count '(.facts.functions // {} | length) > 0')
withlog=$(count '.facts.acked_log > 0')
check "not vacuous: points with functions on the disk ($withfn) and with a log to verify ($withlog)" \
  [ "$withfn" -ge 50 -a "$withlog" -ge 50 ]
check "no point failed at all" [ "$(count '.fails | length > 0')" = 0 ]
liar=$(jq -r 'select(.kind == "liar") | .fails | map(select(startswith("function") or startswith("secret") or startswith("log"))) | length' "$R")
check "the negative control: a disk that dropped flushed writes (the middle state, the last acknowledgements) misses $liar acknowledged items" \
  [ "${liar:-0}" -ge 1 ]

# a cut the virtio disk's 512-byte sectors allow: ext4's superblock (1024
# bytes, two sectors) written in part. Its checksum fails: e2fsck -p and
# the kernel's mount refuse it; init restores the checksum and runs
# e2fsck -p (docs/STORE.md, "Power cuts"), booted in part 4
if python3 "$PC" tornsb "$work/base.img" "$work/journal" "$work/torn.img" > "$work/torn.txt" &&
   "$TOOL" open "$man" "$work/torn.img" "$work/torn.plain" >/dev/null 2>&1; then
  e2fsck -p "$work/torn.plain" > "$work/torn.fsck" 2>&1
  rc=$?
  check "a superblock write cut after its first 512-byte sector ($(cat "$work/torn.txt")): a real tear, e2fsck -p cannot open it (status $rc)" \
    sh -c "[ $rc = 8 ] && grep -q 'Superblock checksum does not match' '$work/torn.fsck'" || sed 's/^/# /' "$work/torn.fsck"
else
  nok "a superblock write cut after its first sector: rebuilt and decrypted"
fi

# --- 3: three rebuilt disks, booted -------------------------------------------------------------
# boot_checks WHAT P: the booted VM against the host's facts P of its disk
boot_checks() {
  local what=$1 p=$2 want size att got host fid sha ver
  expect_match "$what: logd reopens its log" "$console" 'logd: store /state/log: [0-9]+ entries'
  want=$(jq '.facts.acked_log // 0' <<<"$p")
  size=$(inns curl -s --max-time 30 "http://$ADDR:$PORT/v1/log/checkpoint?fresh=1" | sed -n 2p)
  check "$what: the log has at least the $want acknowledged entries ($size)" [ "${size:-0}" -ge "$want" ]
  att=$work/att-$3.json
  inns curl -s --max-time 60 -o "$att" "$QT_URL/v1/attestation?nonce=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  check "$what: dshield log verify over the API, with this boot's attestation" verify_api "$att"
  fn_api_starting 120 GET /functions
  got=$(jq -c '[.functions[].id] | sort' <<<"$FN_BODY" 2>/dev/null)
  host=$(jq -c '.facts.functions // {} | keys | sort' <<<"$p")
  check "$what: the functions listed are the ones the host found ($got)" [ "$got" = "$host" ]
  fn_api GET /v1/secrets
  got=$(jq -c '[.secrets[] | select(has("unreadable") | not) | .name] | sort' <<<"$FN_BODY" 2>/dev/null)
  check "$what: the secrets listed and readable are the ones the host found" \
    [ "$got" = "$(jq -c '.facts.secrets // [] | sort' <<<"$p")" ]
  fid=$(jq -r '.facts.functions // {} | keys | .[0] // empty' <<<"$p")
  if [ -n "$fid" ]; then
    sha=$(jq -r ".facts.functions[\"$fid\"]" <<<"$p")
    ver=$(jq -r --arg s "$sha" '[.ops[] | select(.state == $s) | .version][0]' "$work/ops.json")
    printf '{"n": 1}' > "$work/in.json"
    fn_call POST "/invoke/$fid" "$work/in.json"
    expect "$what: $fid answers with the code the host found (version $ver)" 200 \
      ".id == \"$fid\" and .version == $ver"
  fi
}
OPENED='init: store: vd[a-z], 31 MiB aes-xts-plain64, key provider dev \(insecure dev key\), instance 1111111111111111, ext4 on /run/store'
last=${keep##*,}
for k in ${keep//,/ }; do
  img=$work/point-$k.img
  p=$(jq -c "select(.n == $k)" "$R")
  what=$(jq -r '"point \(.n), \(.kind), record \(.index): \(.acked) requests acknowledged"' <<<"$p")
  [ -f "$img" ] || { nok "$what: the rebuilt disk was kept"; continue; }
  if [ "$k" = "$last" ]; then
    # the last point's boot is recorded too: its mount's superblock write,
    # torn, is part 4's disk (a cut while a later boot mounts the store)
    cp --sparse=always "$img" "$work/disk.img"
    nbd_start "$work/journal2" || nok "$what: the recording NBD server listens again"
    export QT_DATA_DRIVE="file=nbd+unix:///?socket=$work/nbd.sock,format=raw"
  else
    export QT_DATA_DISK=$img
  fi
  if boot "boot-$k"; then
    ok "$what: boots to the ready line"
  else
    nok "$what: boots to the ready line"; qt_console_tail 40; qt_teardown; continue
  fi
  expect_match "$what: the store is opened, not formatted" "$console" "$OPENED"
  boot_checks "$what" "$p" "$k"
  qt_teardown
  unset QT_DATA_DISK QT_DATA_DRIVE
  nbd_stop
done

# --- 4: a superblock torn while a boot mounts the store, booted ------------------------------------
# the last point's disk, and of its boot's recording every write before the
# mount's superblock write and that write's first sector only
p=$(jq -c "select(.n == $last)" "$R")
what="the last point's disk, its superblock torn at the next mount"
if python3 "$PC" tornsb "$work/point-$last.img" "$work/journal2" "$work/torn2.img" --first > "$work/torn2.txt" &&
   "$TOOL" open "$man" "$work/torn2.img" "$work/torn2.plain" >/dev/null 2>&1; then
  e2fsck -p "$work/torn2.plain" > "$work/torn2.fsck" 2>&1
  rc=$?
  check "$what ($(cat "$work/torn2.txt")): a real tear, e2fsck -p cannot open it (status $rc)" \
    sh -c "[ $rc = 8 ] && grep -q 'Superblock checksum does not match' '$work/torn2.fsck'" || sed 's/^/# /' "$work/torn2.fsck"
  export QT_DATA_DISK=$work/torn2.img
  if boot torn; then
    ok "$what: boots to the ready line"
    expect_match "$what: the mount fails on the checksum, the console says the file system is damaged" "$console" \
      'store: ext4 on /dev/dm-[0-9]+ does not mount \(Bad message\): the file system is damaged'
    expect_match "$what: init restores the superblock's checksum and runs e2fsck -p again" "$console" \
      'store: the primary superblock fails its checksum .*: checksum restored, e2fsck -p /dev/dm-[0-9]+ again'
    expect_match "$what: the console says the repair ran and what it did" "$console" \
      "store: e2fsck (repaired|found nothing to fix on) ext4 on /dev/dm-[0-9]+ after restoring its primary superblock's checksum \(status [01],"
    expect_match "$what: the store is opened, not formatted" "$console" "$OPENED"
    boot_checks "$what" "$p" torn
  else
    nok "$what: boots to the ready line"; qt_console_tail 60
  fi
  qt_teardown
  unset QT_DATA_DISK
else
  nok "$what: rebuilt and decrypted"
fi

jq -s -r 'map(select(.kind != "liar")) | "# figures: \(length) points (\([.[] | select(.kind == "flush")] | length) flushed states, \([.[] | select(.kind == "between")] | length) between flushes), \([.[] | select(.fails | length > 0)] | length) failed, \([.[].facts.ms] | add / length | floor) ms each"' "$R"
done_testing
